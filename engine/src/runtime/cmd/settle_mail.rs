//! `settle_mail`: what became of leased mail: sent, to retry, or failed for good.

use super::prelude::*;

/// Records what became of leased mail.
pub struct SettleMail {
    pub now: chrono::DateTime<chrono::Utc>,
    pub results: Vec<outbox::Settled>,
}

impl SettleMail {
    pub(in crate::runtime) async fn apply(
        self,
        _core: &Core,
        conn: &mut Conn,
        _env: &Env<'_>,
    ) -> Result<Reply, EngineError> {
        let SettleMail { now: wall, results } = self;
        outbox::settle(conn, wall, &results).await?;
        Ok(Reply::Count(results.len()))
    }
}
