//! Signoff's command line and web server: the `signoff` binary's library half, so the
//! end-to-end tests can run the real server in-process.

pub mod server;

use std::path::PathBuf;

use anyhow::Context as _;

/// Where the engine keeps its state and finds its definitions.
#[derive(clap::Args, Clone)]
pub struct Store {
    /// Database URL.
    #[arg(long, env = "SIGNOFF_DB", default_value = "sqlite://signoff.db")]
    pub db: String,
    /// Folder of definitions, directory and calendar.
    #[arg(long, env = "SIGNOFF_PROCESSES", default_value = "processes")]
    pub processes: PathBuf,
    #[command(flatten)]
    pub mail: MailArgs,
}

/// Where mail goes and what it links to.
#[derive(clap::Args, Clone)]
pub struct MailArgs {
    /// Mail transport: smtp://host:port (local relay), smtp://user:pass@host:587
    /// (STARTTLS), smtps://user:pass@host (TLS), file://DIR (one .eml per message) or log.
    #[arg(long, env = "SIGNOFF_SMTP", default_value = "file://mail")]
    pub smtp: String,
    /// A PEM file with a CA certificate to trust for the SMTP server's TLS certificate,
    /// besides the public roots (a company's own CA).
    #[arg(long, env = "SIGNOFF_SMTP_CA")]
    pub smtp_ca: Option<PathBuf>,
    /// The sender of Signoff's mail.
    #[arg(long, env = "SIGNOFF_MAIL_FROM", default_value = signoff_engine::notify::outbox::DEFAULT_FROM)]
    pub mail_from: String,
    /// Where the web inbox is reached; links in mail start with it.
    #[arg(long, env = "SIGNOFF_BASE_URL", default_value = signoff_engine::runtime::DEFAULT_BASE_URL)]
    pub base_url: String,
}

impl MailArgs {
    /// The sender's settings; call inside the async runtime (an SMTP pool lives there).
    pub fn sender_options(&self) -> anyhow::Result<signoff_engine::notify::SenderOptions> {
        let ca = match &self.smtp_ca {
            Some(path) => Some(
                std::fs::read(path)
                    .with_context(|| format!("reading --smtp-ca {}", path.display()))?,
            ),
            None => None,
        };
        let transport =
            signoff_engine::notify::Transport::parse_with_ca(&self.smtp, ca.as_deref())?;
        let from = self
            .mail_from
            .parse()
            .with_context(|| format!("--mail-from `{}` is not a mail address", self.mail_from))?;
        Ok(signoff_engine::notify::SenderOptions::new(transport, from))
    }
}
