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
        let marked = crate::store::cc_reads::mark(
            conn,
            &self.user,
            self.instance.0,
            &to_db(env.now),
            HistoryAction::Cc.as_str(),
        )
        .await?;
        Ok(Reply::Count(marked as usize))
    }
}
