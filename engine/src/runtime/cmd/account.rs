//! `account`: a change to passwords, API tokens or sessions ([`crate::accounts::Change`]),
//! written by the writer like every other change, so it never waits behind its lock.

use super::prelude::*;

pub struct Account(pub crate::accounts::Change);

impl Account {
    pub(in crate::runtime) async fn apply(
        self,
        _core: &Core,
        conn: &mut Conn,
        _env: &Env<'_>,
    ) -> Result<Reply, EngineError> {
        Ok(Reply::Account(self.0.apply(conn).await?))
    }
}
