//! `mark_read`: a person copied on a request has read it (已阅); the first reading
//! counts, later ones change nothing. Nobody else gets a mark.

use super::prelude::*;

pub struct MarkRead {
    pub instance: InstanceId,
    pub user: String,
}

impl MarkRead {
    pub(in crate::runtime) async fn apply(
        self,
        _core: &Core,
        conn: &mut Conn,
        env: &Env<'_>,
    ) -> Result<Reply, EngineError> {
        let marked = sqlx::query(
            "INSERT INTO cc_reads (user_id, instance_id, read_at) \
             SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM events WHERE instance_id = $2 AND action = $4 AND detail = $1) \
             ON CONFLICT (user_id, instance_id) DO NOTHING",
        )
        .bind(&self.user)
        .bind(self.instance.0)
        .bind(to_db(env.now))
        .bind(HistoryAction::Cc.as_str())
        .execute(&mut *conn)
        .await?
        .rows_affected();
        Ok(Reply::Count(marked as usize))
    }
}
