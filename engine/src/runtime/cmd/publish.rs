//! `publish`: a definition's text becomes the current version of its process, for every server.

use super::prelude::*;

/// Stores a definition's text as the current version of its process, for every server.
pub struct Publish {
    pub process: String,
    pub text: String,
}

impl Publish {
    pub(in crate::runtime) async fn apply(
        self,
        _core: &Core,
        conn: &mut Conn,
        env: &Env<'_>,
    ) -> Result<Reply, EngineError> {
        let Publish { process, text } = self;
        let now = env.now;
        let (version, _) = registry::register(conn, &process, &text, now).await?;
        registry::set_head(conn, &process, version, now).await?;
        Ok(Reply::Version(version))
    }
}
