//! Who may sign in: argon2 password hashes and web sessions,
//! kept in the database so several servers share them.
//!
//! A demo installation can give every directory user without a password of their own
//! one shared demo password: it is hashed once at start, never stored.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::{Row, SqlitePool};

use crate::clock::to_db;
use crate::runtime::hex;

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
    #[error("password hashing: {0}")]
    Hash(String),
    #[error("a password needs at least 8 characters")]
    WeakPassword,
}

/// A signed-in user's session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user: String,
    pub expires_at: DateTime<Utc>,
}

/// Passwords and sessions.
#[derive(Clone)]
pub struct Accounts {
    pool: SqlitePool,
    demo_hash: Option<String>,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts")
            .field("demo", &self.demo_hash.is_some())
            .finish_non_exhaustive()
    }
}

impl Accounts {
    pub(crate) fn new(pool: SqlitePool) -> Accounts {
        Accounts {
            pool,
            demo_hash: None,
        }
    }

    /// Lets users without a password of their own sign in with `password`.
    pub async fn with_demo_password(mut self, password: &str) -> Result<Accounts, AccountError> {
        self.demo_hash = Some(hash(password.to_string()).await?);
        Ok(self)
    }

    /// Sets (or replaces) a user's password.
    pub async fn set_password(&self, user: &str, password: &str) -> Result<(), AccountError> {
        if password.chars().count() < 8 {
            return Err(AccountError::WeakPassword);
        }
        let hash = hash(password.to_string()).await?;
        sqlx::query(
            "INSERT INTO credentials (user_id, hash, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at",
        )
        .bind(user)
        .bind(hash)
        .bind(to_db(Utc::now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Whether `password` is `user`'s. Takes the same time for unknown users, so the
    /// answer does not tell which user names exist.
    pub async fn verify(&self, user: &str, password: &str) -> Result<bool, AccountError> {
        let stored: Option<String> =
            sqlx::query_scalar("SELECT hash FROM credentials WHERE user_id = $1")
                .bind(user)
                .fetch_optional(&self.pool)
                .await?;
        let Some(hash) = stored.or_else(|| self.demo_hash.clone()) else {
            // Burn the same work as a real check.
            let _ = self::hash(password.to_string()).await;
            return Ok(false);
        };
        let password = password.to_string();
        tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash)
                .map(|parsed| {
                    Argon2::default()
                        .verify_password(password.as_bytes(), &parsed)
                        .is_ok()
                })
                .map_err(|e| AccountError::Hash(e.to_string()))
        })
        .await
        .map_err(|e| AccountError::Hash(e.to_string()))?
    }

    /// Starts a session for `user`; returns its token (for the cookie) and the session.
    pub async fn start_session(
        &self,
        user: &str,
        lifetime: chrono::Duration,
    ) -> Result<(String, Session), AccountError> {
        let token = random_token();
        let session = Session {
            user: user.to_string(),
            expires_at: Utc::now() + lifetime,
        };
        // Expired sessions go when new ones come, so the table stays small.
        sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
            .bind(to_db(Utc::now()))
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash(&token))
        .bind(user)
        .bind(to_db(Utc::now()))
        .bind(to_db(session.expires_at))
        .execute(&self.pool)
        .await?;
        Ok((token, session))
    }

    /// The live session with this token, if any.
    pub async fn session(&self, token: &str) -> Result<Option<Session>, AccountError> {
        let row = sqlx::query(
            "SELECT user_id, expires_at FROM sessions WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash(token))
        .bind(to_db(Utc::now()))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.and_then(|r| {
            Some(Session {
                user: r.get(0),
                expires_at: crate::clock::from_db(r.get::<&str, _>(1))?,
            })
        }))
    }

    pub async fn end_session(&self, token: &str) -> Result<(), AccountError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash(token))
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

async fn hash(password: String) -> Result<String, AccountError> {
    // Argon2 is slow on purpose; keep it off the async workers.
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let salt = SaltString::encode_b64(&salt).map_err(|e| AccountError::Hash(e.to_string()))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AccountError::Hash(e.to_string()))
    })
    .await
    .map_err(|e| AccountError::Hash(e.to_string()))?
}

/// 32 random bytes, hex: a session token or a CSRF token.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex(&bytes)
}

fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}
