//! Who may sign in: argon2 password hashes, web sessions and personal API tokens, kept in
//! the database so several servers share them.
//!
//! A demo installation can give every directory user without a password of their own
//! one shared demo password: it is hashed once at start, never stored.
//!
//! Password checks are bounded by [`crate::password`]; beyond its bounds they are
//! refused with [`AccountError::Busy`]. API tokens are long random secrets, so they are
//! stored by their SHA-256 and checked in microseconds.
//!
//! Reads use the pool; every change ([`Change`]) goes through the engine's single writer
//! like an approval does, so on SQLite a sign-in never waits behind the writer's lock.
//! The writer reaches this module as a [`ChangeWriter`], so it needs nothing of the
//! runtime.

use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::sync::Arc;

use crate::password::{PasswordError, Passwords};
use crate::store::accounts as store;
use crate::store::Pool;

use crate::clock::to_db;
use crate::store::Conn;

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
    #[error("password hashing: {0}")]
    Hash(String),
    #[error("a password needs at least 8 characters")]
    WeakPassword,
    #[error("a password may have at most {MAX_PASSWORD_CHARS} characters")]
    LongPassword,
    /// Too many password checks at once: try again shortly.
    #[error("too many sign-ins at once: try again in a moment")]
    Busy,
    #[error("a token's name needs 1 to {MAX_TOKEN_NAME_CHARS} characters")]
    BadTokenName,
    #[error("at most {MAX_TOKENS_PER_USER} API tokens per person: revoke one first")]
    TooManyTokens,
    /// The writer did not store the change (shutting down, or the commit failed).
    #[error("{0}")]
    NotStored(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Where account changes are made: the engine's single writer
/// (`runtime::Writer` is the one implementation).
pub trait ChangeWriter: Send + Sync {
    /// Makes `change` in a group commit; what it did, once committed.
    fn write(
        &self,
        change: Change,
    ) -> futures::future::BoxFuture<'_, Result<Changed, AccountError>>;
}

/// A change to passwords, tokens or sessions, for the writer to make. Hashing (argon2)
/// happens before, outside the writer.
#[derive(Debug)]
pub enum Change {
    SetPassword {
        user: String,
        hash: String,
    },
    /// Refused ([`Changed::Token`] of `None`) when the user holds [`MAX_TOKENS_PER_USER`].
    CreateToken {
        user: String,
        name: String,
        token_hash: String,
    },
    RevokeToken {
        user: String,
        id: i64,
    },
    /// Notes that a token was used now.
    TouchToken {
        id: i64,
    },
    /// Also drops the expired sessions, so the table stays small.
    StartSession {
        token_hash: String,
        user: String,
        expires_at: DateTime<Utc>,
    },
    EndSession {
        token_hash: String,
    },
}

/// What a [`Change`] did.
#[derive(Debug)]
pub enum Changed {
    Done,
    /// The new token's id, or `None` when the user has too many.
    Token(Option<i64>),
    /// Whether a live token was revoked.
    Revoked(bool),
}

impl Change {
    /// Makes the change in the writer's transaction.
    pub(crate) async fn apply(self, conn: &mut Conn) -> Result<Changed, sqlx::Error> {
        let now = to_db(Utc::now());
        match self {
            Change::SetPassword { user, hash } => {
                store::set_password(conn, &user, &hash, &now).await?;
                Ok(Changed::Done)
            }
            // Counted in the writer, so two requests at once cannot both pass the limit.
            Change::CreateToken {
                user,
                name,
                token_hash,
            } => {
                if store::live_tokens(conn, &user).await? >= MAX_TOKENS_PER_USER {
                    return Ok(Changed::Token(None));
                }
                let id = store::insert_token(conn, &user, &name, &token_hash, &now).await?;
                Ok(Changed::Token(Some(id)))
            }
            Change::RevokeToken { user, id } => Ok(Changed::Revoked(
                store::revoke_token(conn, &user, id, &now).await?,
            )),
            Change::TouchToken { id } => {
                store::touch_token(conn, id, &now).await?;
                Ok(Changed::Done)
            }
            Change::StartSession {
                token_hash,
                user,
                expires_at,
            } => {
                store::start_session(conn, &token_hash, &user, &now, &to_db(expires_at)).await?;
                Ok(Changed::Done)
            }
            Change::EndSession { token_hash } => {
                store::end_session(conn, &token_hash).await?;
                Ok(Changed::Done)
            }
        }
    }
}

/// The longest password taken; longer ones are refused before any hashing.
pub const MAX_PASSWORD_CHARS: usize = 256;
/// Live API tokens one person may hold.
pub const MAX_TOKENS_PER_USER: i64 = 20;
/// The longest name of an API token.
pub const MAX_TOKEN_NAME_CHARS: usize = 80;
/// What every API token starts with, so a leaked one is recognisable.
pub const TOKEN_PREFIX: &str = "sot_";

/// A personal API token as its owner sees it (never the secret itself).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
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
    pool: Pool,
    writer: Arc<dyn ChangeWriter>,
    demo_hash: Option<String>,
    /// Checked against for unknown users, so they cost what a known one costs.
    dummy_hash: Arc<tokio::sync::OnceCell<String>>,
    passwords: Passwords,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts")
            .field("demo", &self.demo_hash.is_some())
            .finish_non_exhaustive()
    }
}

impl From<PasswordError> for AccountError {
    fn from(e: PasswordError) -> AccountError {
        match e {
            PasswordError::Busy => AccountError::Busy,
            PasswordError::Hash(message) => AccountError::Hash(message),
        }
    }
}

impl Accounts {
    pub(crate) fn new(pool: Pool, writer: Arc<dyn ChangeWriter>) -> Accounts {
        Accounts {
            pool,
            writer,
            demo_hash: None,
            dummy_hash: Arc::default(),
            passwords: Passwords::default(),
        }
    }

    /// Lets users without a password of their own sign in with `password`.
    pub async fn with_demo_password(mut self, password: &str) -> Result<Accounts, AccountError> {
        self.demo_hash = Some(self.passwords.hash(password.to_string()).await?);
        Ok(self)
    }

    /// Sets (or replaces) a user's password.
    pub async fn set_password(&self, user: &str, password: &str) -> Result<(), AccountError> {
        if password.chars().count() < 8 {
            return Err(AccountError::WeakPassword);
        }
        if password.chars().count() > MAX_PASSWORD_CHARS {
            return Err(AccountError::LongPassword);
        }
        let hash = self.passwords.hash(password.to_string()).await?;
        self.change(Change::SetPassword {
            user: user.to_string(),
            hash,
        })
        .await?;
        Ok(())
    }

    async fn change(&self, change: Change) -> Result<Changed, AccountError> {
        self.writer.write(change).await
    }

    /// Whether `password` is `user`'s. Takes the same time for users without a
    /// password (checked against a dummy hash), so the answer does not tell which user
    /// names exist; the caller still checks that `user` is in the directory.
    pub async fn verify(&self, user: &str, password: &str) -> Result<bool, AccountError> {
        if password.chars().count() > MAX_PASSWORD_CHARS {
            return Ok(false);
        }
        let stored = store::password_hash(&self.pool, user).await?;
        let (hash, real) = match stored.or_else(|| self.demo_hash.clone()) {
            Some(hash) => (hash, true),
            None => (self.dummy_hash().await?, false),
        };
        let matches = self.passwords.verify(hash, password.to_string()).await?;
        Ok(matches && real)
    }

    async fn dummy_hash(&self) -> Result<String, AccountError> {
        self.dummy_hash
            .get_or_try_init(|| self.passwords.hash(random_token()))
            .await
            .cloned()
            .map_err(AccountError::from)
    }

    /// Makes a personal API token for `user`: the secret is returned once, and only its
    /// hash is kept.
    pub async fn create_token(
        &self,
        user: &str,
        name: &str,
    ) -> Result<(ApiToken, String), AccountError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_TOKEN_NAME_CHARS {
            return Err(AccountError::BadTokenName);
        }
        let secret = format!("{TOKEN_PREFIX}{}", random_token());
        let created_at = to_db(Utc::now());
        let changed = self
            .change(Change::CreateToken {
                user: user.to_string(),
                name: name.to_string(),
                token_hash: token_hash(&secret),
            })
            .await?;
        let Changed::Token(Some(id)) = changed else {
            return Err(AccountError::TooManyTokens);
        };
        let token = ApiToken {
            id,
            name: name.to_string(),
            created_at,
            last_used_at: None,
        };
        Ok((token, secret))
    }

    /// `user`'s live API tokens, newest first.
    pub async fn tokens(&self, user: &str) -> Result<Vec<ApiToken>, AccountError> {
        let rows = store::tokens(&self.pool, user).await?;
        Ok(rows
            .into_iter()
            .map(|r| ApiToken {
                id: r.id,
                name: r.name,
                created_at: r.created_at,
                last_used_at: r.last_used_at,
            })
            .collect())
    }

    /// Revokes one of `user`'s tokens; false when they have no such live token.
    pub async fn revoke_token(&self, user: &str, id: i64) -> Result<bool, AccountError> {
        let changed = self
            .change(Change::RevokeToken {
                user: user.to_string(),
                id,
            })
            .await?;
        Ok(matches!(changed, Changed::Revoked(true)))
    }

    /// Whose live token `secret` is. Notes when it was last used, at most once an hour.
    pub async fn token_user(&self, secret: &str) -> Result<Option<String>, AccountError> {
        if !secret.starts_with(TOKEN_PREFIX) || secret.len() > 128 {
            return Ok(None);
        }
        let Some(row) = store::token_by_hash(&self.pool, &token_hash(secret)).await? else {
            return Ok(None);
        };
        let now = Utc::now();
        let stale = row
            .last_used_at
            .as_deref()
            .and_then(crate::clock::from_db)
            .is_none_or(|last| now - last > chrono::Duration::hours(1));
        if stale {
            self.change(Change::TouchToken { id: row.id }).await?;
        }
        Ok(Some(row.user_id))
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
        self.change(Change::StartSession {
            token_hash: token_hash(&token),
            user: user.to_string(),
            expires_at: session.expires_at,
        })
        .await?;
        Ok((token, session))
    }

    /// The live session with this token, if any.
    pub async fn session(&self, token: &str) -> Result<Option<Session>, AccountError> {
        let row = store::live_session(&self.pool, &token_hash(token), &to_db(Utc::now())).await?;
        Ok(row.and_then(|r| {
            Some(Session {
                expires_at: crate::clock::from_db(&r.expires_at)?,
                user: r.user_id,
            })
        }))
    }

    pub async fn end_session(&self, token: &str) -> Result<(), AccountError> {
        self.change(Change::EndSession {
            token_hash: token_hash(token),
        })
        .await?;
        Ok(())
    }
}

/// 32 random bytes, hex: a session token or a CSRF token.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The CSRF token bound to a session: derived from its secret, so nobody who cannot read
/// the session cookie can know it, and it changes at every sign-in.
pub fn session_csrf_token(session_token: &str) -> String {
    hex::encode(Sha256::digest(
        format!("signoff-csrf\0{session_token}").as_bytes(),
    ))
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}
