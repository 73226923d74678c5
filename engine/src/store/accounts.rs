//! The `credentials`, `api_tokens` and `sessions` tables: password hashes, personal API
//! tokens (by their hash) and web sessions. Writes take the writer's connection; reads
//! the pool.

use super::{Conn, Pool};

/// A live API token's row, as its owner lists it.
#[derive(Debug, sqlx::FromRow)]
pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

/// A live token found by its hash.
#[derive(Debug, sqlx::FromRow)]
pub struct TokenOwner {
    pub id: i64,
    pub user_id: String,
    pub last_used_at: Option<String>,
}

/// A live session found by its token's hash.
#[derive(Debug, sqlx::FromRow)]
pub struct SessionRow {
    pub user_id: String,
    pub expires_at: String,
}

pub async fn set_password(
    conn: &mut Conn,
    user: &str,
    hash: &str,
    now: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO credentials (user_id, hash, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at",
    )
    .bind(user)
    .bind(hash)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// `user`'s stored password hash.
pub async fn password_hash(pool: &Pool, user: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT hash FROM credentials WHERE user_id = $1")
        .bind(user)
        .fetch_optional(pool)
        .await
}

/// How many live tokens `user` holds.
pub async fn live_tokens(conn: &mut Conn, user: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM api_tokens WHERE user_id = $1 AND revoked_at IS NULL")
        .bind(user)
        .fetch_one(conn)
        .await
}

/// Stores a new token; its id.
pub async fn insert_token(
    conn: &mut Conn,
    user: &str,
    name: &str,
    token_hash: &str,
    now: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(user)
    .bind(name)
    .bind(token_hash)
    .bind(now)
    .fetch_one(conn)
    .await
}

/// Revokes `user`'s live token `id`; whether there was one.
pub async fn revoke_token(
    conn: &mut Conn,
    user: &str,
    id: i64,
    now: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE api_tokens SET revoked_at = $3 WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
    )
    .bind(id)
    .bind(user)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn touch_token(conn: &mut Conn, id: i64, now: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// `user`'s live tokens, newest first.
pub async fn tokens(pool: &Pool, user: &str) -> Result<Vec<TokenRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, name, created_at, last_used_at FROM api_tokens \
         WHERE user_id = $1 AND revoked_at IS NULL ORDER BY id DESC",
    )
    .bind(user)
    .fetch_all(pool)
    .await
}

/// The live token with this hash.
pub async fn token_by_hash(pool: &Pool, hash: &str) -> Result<Option<TokenOwner>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, user_id, last_used_at FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
    )
    .bind(hash)
    .fetch_optional(pool)
    .await
}

/// Stores a session, dropping the expired ones first so the table stays small.
pub async fn start_session(
    conn: &mut Conn,
    token_hash: &str,
    user: &str,
    now: &str,
    expires_at: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
        .bind(now)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash)
    .bind(user)
    .bind(now)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn end_session(conn: &mut Conn, token_hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(conn)
        .await?;
    Ok(())
}

/// The session with this token's hash, when it has not expired by `now`.
pub async fn live_session(
    pool: &Pool,
    token_hash: &str,
    now: &str,
) -> Result<Option<SessionRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT user_id, expires_at FROM sessions WHERE token_hash = $1 AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(pool)
    .await
}
