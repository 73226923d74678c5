//! The `cc_reads` table: who has read the requests copied to them (已阅).

use super::Conn;

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
