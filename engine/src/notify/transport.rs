//! Where mail goes: an SMTP server (lettre over rustls), a folder of `.eml` files, or the
//! log. Chosen by one URL, so the same setting works from flags and the environment.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// SMTP connections kept open to the server, and so mails sent at once. Each mail costs
/// a few round trips and ~40 ms of the server's delayed ACKs, so one connection carries
/// ~20 mails/s; 32 carry 400+ to a local relay.
pub const SMTP_CONNECTIONS: u32 = 32;

/// A message as the outbox holds it.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub id: i64,
    pub message_id: String,
    /// Mail, or the webhook it is posted to (then `to` is the URL, `text` the JSON).
    pub channel: Channel,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub use crate::store::status::Channel;

/// A transport URL that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("mail transport `{spec}`: {reason}")]
pub struct TransportError {
    pub spec: String,
    pub reason: String,
}

/// Why a delivery failed, and whether trying again may help.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    /// A 5xx answer or an unusable address: retrying will not help.
    pub permanent: bool,
    pub message: String,
}

impl SendError {
    pub(super) fn permanent(message: impl Into<String>) -> SendError {
        SendError {
            permanent: true,
            message: message.into(),
        }
    }

    pub(super) fn transient(message: impl Into<String>) -> SendError {
        SendError {
            permanent: false,
            message: message.into(),
        }
    }
}

pub enum Transport {
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        /// The URL without its password, for logs.
        shown: String,
    },
    /// One `.eml` file per message, named after its Message-ID so a retry overwrites.
    Folder(PathBuf),
    Log,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Transport {
    /// `smtp://[user:pass@]host[:port]` (STARTTLS when credentials are given, plain for a
    /// local relay otherwise; `?tls=required|opportunistic` decides explicitly),
    /// `smtps://user:pass@host[:465]` (implicit TLS), `file://DIR`, or `log`.
    pub fn parse(spec: &str) -> Result<Transport, TransportError> {
        Transport::parse_with_ca(spec, None)
    }

    /// Like [`Transport::parse`], also trusting the PEM certificate `root_ca` (a company
    /// CA that signed the mail server's certificate) besides the public roots.
    pub fn parse_with_ca(spec: &str, root_ca: Option<&[u8]>) -> Result<Transport, TransportError> {
        let fail = |reason: String| TransportError {
            spec: redact(spec),
            reason,
        };
        if spec == "log" {
            return Ok(Transport::Log);
        }
        if let Some(dir) = spec.strip_prefix("file://") {
            if dir.is_empty() {
                return Err(fail("name a folder, e.g. file://mail".into()));
            }
            return Ok(Transport::Folder(PathBuf::from(dir)));
        }
        if spec.starts_with("smtp://") || spec.starts_with("smtps://") {
            let mut url = spec.to_string();
            let has_credentials = spec
                .split_once("://")
                .is_some_and(|(_, rest)| rest.split('/').next().is_some_and(|a| a.contains('@')));
            // Never send a password in the clear: credentials on smtp:// mean STARTTLS.
            if spec.starts_with("smtp://") && has_credentials && !spec.contains("tls=") {
                url.push(if spec.contains('?') { '&' } else { '?' });
                url.push_str("tls=required");
            }
            let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
                .map_err(|e| fail(e.to_string()))?
                // A try ends well within the outbox lease (15 s), so no other sender
                // takes the message while it is still being sent.
                .timeout(Some(Duration::from_secs(10)))
                .pool_config(PoolConfig::new().max_size(SMTP_CONNECTIONS));
            if let Some(pem) = root_ca {
                builder = builder.tls(tls_with_root(&url, pem).map_err(fail)?);
            }
            let transport = builder.build();
            return Ok(Transport::Smtp {
                transport,
                shown: redact(spec),
            });
        }
        Err(fail(
            "use smtp://host:port, smtp://user:pass@host:587, smtps://user:pass@host, file://DIR or log".into(),
        ))
    }

    pub fn describe(&self) -> String {
        match self {
            Transport::Smtp { shown, .. } => shown.clone(),
            Transport::Folder(dir) => format!("file://{}", dir.display()),
            Transport::Log => "log".into(),
        }
    }

    /// Delivers one message from `from`.
    pub async fn send(&self, from: &Mailbox, mail: &Outgoing) -> Result<(), SendError> {
        let message = build(from, mail)?;
        match self {
            Transport::Smtp { transport, .. } => match transport.send(message).await {
                Ok(_) => Ok(()),
                Err(e) if e.is_permanent() => Err(SendError::permanent(e.to_string())),
                Err(e) => Err(SendError::transient(e.to_string())),
            },
            Transport::Folder(dir) => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| SendError::transient(format!("{}: {e}", dir.display())))?;
                let name = format!("{:06}-{}.eml", mail.id, file_safe(&mail.message_id));
                let path = dir.join(name);
                let tmp = path.with_extension("eml.tmp");
                // Write then rename: a reader never sees half a message.
                tokio::fs::write(&tmp, message.formatted())
                    .await
                    .map_err(|e| SendError::transient(format!("{}: {e}", tmp.display())))?;
                tokio::fs::rename(&tmp, &path)
                    .await
                    .map_err(|e| SendError::transient(format!("{}: {e}", path.display())))
            }
            Transport::Log => {
                tracing::info!(to = %mail.to, subject = %mail.subject, message_id = %mail.message_id, "mail\n{}", mail.text);
                Ok(())
            }
        }
    }
}

/// The TLS mode `url` asks for, trusting `pem` as well as the public roots.
fn tls_with_root(url: &str, pem: &[u8]) -> Result<Tls, String> {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    let certificate = Certificate::from_pem(pem).map_err(|e| format!("the CA certificate: {e}"))?;
    let parameters = TlsParameters::builder(host.to_string())
        .add_root_certificate(certificate)
        .build_rustls()
        .map_err(|e| e.to_string())?;
    let query = rest.split_once('?').map(|(_, q)| q).unwrap_or_default();
    Ok(if scheme == "smtps" {
        Tls::Wrapper(parameters)
    } else if query.contains("tls=opportunistic") {
        Tls::Opportunistic(parameters)
    } else if query.contains("tls=required") {
        Tls::Required(parameters)
    } else {
        Tls::None
    })
}

fn build(from: &Mailbox, mail: &Outgoing) -> Result<Message, SendError> {
    let to: Mailbox = mail
        .to
        .parse()
        .map_err(|e| SendError::permanent(format!("recipient `{}`: {e}", mail.to)))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone())
        .message_id(Some(mail.message_id.clone()))
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(mail.text.clone()),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(mail.html.clone()),
                ),
        )
        .map_err(|e| SendError::permanent(format!("building the message: {e}")))
}

/// The URL with its password replaced, for logs and errors.
fn redact(spec: &str) -> String {
    match spec.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((userinfo, host)) => {
                let user = userinfo.split(':').next().unwrap_or_default();
                format!("{scheme}://{user}:***@{host}")
            }
            None => spec.to_string(),
        },
        None => spec.to_string(),
    }
}

fn file_safe(message_id: &str) -> String {
    message_id
        .trim_matches(['<', '>'])
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // An SMTP transport owns a connection pool, which lives in a tokio runtime.
    #[tokio::test]
    async fn parses_every_transport_and_hides_passwords() {
        assert!(matches!(Transport::parse("log"), Ok(Transport::Log)));
        assert!(matches!(
            Transport::parse("file://mail"),
            Ok(Transport::Folder(_))
        ));
        let relay = Transport::parse("smtp://127.0.0.1:2525").expect("plain relay");
        assert_eq!(relay.describe(), "smtp://127.0.0.1:2525");
        let submission = Transport::parse("smtp://me%40corp.example:s3cret@mail.corp.example:587")
            .expect("starttls");
        assert!(
            !submission.describe().contains("s3cret"),
            "{}",
            submission.describe()
        );
        assert!(Transport::parse("smtps://me:pw@mail.corp.example").is_ok());
        let err = Transport::parse("smtp://me:s3cret@").expect_err("no host");
        assert!(!err.to_string().contains("s3cret"), "{err}");
        assert!(Transport::parse("pigeon://coop").is_err());
        assert!(Transport::parse("file://").is_err());
    }

    #[tokio::test]
    async fn a_folder_gets_one_multipart_eml_per_message_id() {
        let dir = std::env::temp_dir().join(format!("signoff-eml-{}", std::process::id()));
        let transport = Transport::Folder(dir.clone());
        let from: Mailbox = "Signoff <signoff@localhost>".parse().expect("from");
        let mail = Outgoing {
            id: 3,
            channel: Channel::Mail,
            message_id: "<signoff.9.approved.wang.fang@localhost>".into(),
            to: "王芳 <wang.fang@signoff.example>".into(),
            subject: "【已通过】费用报销 #1".into(),
            text: "text body".into(),
            html: "<p>html body</p>".into(),
        };
        transport.send(&from, &mail).await.expect("sent");
        transport.send(&from, &mail).await.expect("sent again");
        let files: Vec<_> = std::fs::read_dir(&dir).expect("dir").collect();
        assert_eq!(files.len(), 1, "a retry overwrites the same file");
        let path = dir.join("000003-signoff.9.approved.wang.fang_localhost.eml");
        let raw = std::fs::read_to_string(&path).expect("eml");
        assert!(
            raw.contains("Message-ID: <signoff.9.approved.wang.fang@localhost>"),
            "{raw}"
        );
        assert!(raw.contains("multipart/alternative"));
        assert!(raw.contains("text/html"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
