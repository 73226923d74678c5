//! The `cc_reads` table: who has read the requests copied to them (已阅).

use super::{Conn, Pool, Sql};

/// Marks request `instance` read by `user` at `now`, when it was copied to them (a `cc`
/// history entry naming them); how many marks were added (0 or 1).
pub async fn mark(
    conn: &mut Conn,
    user: &str,
    instance: i64,
    now: &str,
    cc_action: &str,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO cc_reads (user_id, instance_id, read_at) \
         SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM events WHERE instance_id = $2 AND action = $4 AND detail = $1) \
         ON CONFLICT (user_id, instance_id) DO NOTHING",
    )
    .bind(user)
    .bind(instance)
    .bind(now)
    .bind(cc_action)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Which of requests `ids` `user` has read.
pub async fn read_among(pool: &Pool, user: &str, ids: &[i64]) -> Result<Vec<i64>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new("SELECT instance_id FROM cc_reads WHERE user_id = ");
    sql.push_bind(user.to_string()).push(" AND instance_id IN ");
    sql.push_list(ids.iter().copied());
    sql.query_scalar().fetch_all(pool).await
}

/// How many requests copied to `user` (a `cc_action` history entry naming them) they
/// have not read.
pub async fn unread(pool: &Pool, user: &str, cc_action: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(DISTINCT instance_id) FROM events WHERE action = $1 AND detail = $2 \
         AND instance_id NOT IN (SELECT instance_id FROM cc_reads WHERE user_id = $2)",
    )
    .bind(cc_action)
    .bind(user)
    .fetch_one(pool)
    .await
}
