//! `lease_mail`: a sender takes due mail for one try, leased so no other sender takes it meanwhile.

use super::prelude::*;

/// Takes due mail for one sender's try. Mail keeps wall time (`now`), not the
/// engine's clock: retries and leases are about the mail server, not the calendar.
pub struct LeaseMail {
    pub now: chrono::DateTime<chrono::Utc>,
    pub limit: i64,
    pub lease: Duration,
}

impl LeaseMail {
    pub(in crate::runtime) async fn apply(
        self,
        _core: &Core,
        conn: &mut Conn,
        _env: &Env<'_>,
    ) -> Result<Reply, EngineError> {
        let LeaseMail {
            now: wall,
            limit,
            lease,
        } = self;
        let until = wall + chrono::Duration::from_std(lease).unwrap_or_default();
        Ok(Reply::Mail(outbox::lease(conn, wall, until, limit).await?))
    }
}
