//! Channels besides mail: a message posted as JSON to an HTTP endpoint, in Signoff's own
//! format (`webhook`) or as the group robots of DingTalk, WeCom and Feishu take it. The
//! planner builds the body when it queues the message (in the action's transaction, like
//! mail); the sender posts it, and a robot's `errcode`/`code` other than 0 is a failed try.

use std::time::Duration;

use serde_json::{json, Value};

use super::transport::{Outgoing, SendError};
use crate::directory::ChannelKind;
use crate::display::Fact;

/// How long one post may take.
const POST_TIMEOUT: Duration = Duration::from_secs(10);
/// The most of an answer read (a robot answers with a line of JSON).
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// What a channel's message says: the mail's subject, who it is for, the request's key
/// facts and the link.
pub struct HookMessage<'a> {
    pub event: &'a str,
    pub request: i64,
    pub process: &'a str,
    pub subject: &'a str,
    pub person: (&'a str, &'a str),
    pub facts: &'a [Fact],
    pub link: &'a str,
}

/// The body to post for `message` to a channel of `kind`.
pub fn body(kind: ChannelKind, message: &HookMessage<'_>) -> Value {
    let (id, name) = message.person;
    let facts: Vec<String> = message
        .facts
        .iter()
        .map(|f| format!("{}: {}", f.label, f.value))
        .collect();
    let markdown = format!(
        "#### {}\n\n{name} ({id})\n\n{}\n\n[{}]({})",
        message.subject,
        facts
            .iter()
            .map(|f| format!("- {f}"))
            .collect::<Vec<_>>()
            .join("\n"),
        message.link,
        message.link
    );
    match kind {
        ChannelKind::Webhook => json!({
            "event": message.event,
            "request": message.request,
            "process": message.process,
            "subject": message.subject,
            "to": { "id": id, "name": name },
            "facts": message.facts,
            "link": message.link,
        }),
        ChannelKind::Dingtalk => json!({
            "msgtype": "markdown",
            "markdown": { "title": message.subject, "text": markdown },
        }),
        ChannelKind::Wecom => json!({
            "msgtype": "markdown",
            "markdown": { "content": markdown },
        }),
        ChannelKind::Feishu => json!({
            "msg_type": "text",
            "content": { "text": format!("{}\n{name} ({id})\n{}\n{}", message.subject, facts.join("\n"), message.link) },
        }),
    }
}

/// The URL a channel names: as written, or from the environment for `${NAME}`; `None`
/// when that variable is not set.
pub fn resolve_url(url: &str) -> Option<String> {
    let url = url.trim();
    match url
        .strip_prefix("${")
        .and_then(|rest| rest.strip_suffix('}'))
    {
        Some(name) => std::env::var(name).ok().filter(|u| !u.trim().is_empty()),
        None => Some(url.to_string()),
    }
}

type HttpsClient = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    http_body_util::Full<bytes::Bytes>,
>;

/// Posts queued channel messages: one HTTP/1.1 client (HTTPS through rustls on ring and
/// the Mozilla roots, as the mail transport), its connections reused.
#[derive(Clone)]
pub struct Poster {
    client: HttpsClient,
}

impl std::fmt::Debug for Poster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Poster")
    }
}

impl Poster {
    pub fn new() -> Poster {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .build();
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build(https);
        Poster { client }
    }

    /// Posts `message` (its `text` is the JSON body) to its URL (`to`).
    pub async fn post(&self, kind: ChannelKind, message: &Outgoing) -> Result<(), SendError> {
        let name = kind.as_str();
        let request = hyper::Request::post(message.to.as_str())
            .header(
                hyper::header::CONTENT_TYPE,
                "application/json; charset=utf-8",
            )
            .header(hyper::header::USER_AGENT, "Signoff")
            .body(http_body_util::Full::new(bytes::Bytes::from(
                message.text.clone(),
            )))
            .map_err(|e| SendError::permanent(format!("{name}: bad URL: {e}")))?;
        let exchange = async {
            let answer = self
                .client
                .request(request)
                .await
                .map_err(|e| format!("{e}"))?;
            let status = answer.status();
            let body = http_body_util::BodyExt::collect(http_body_util::Limited::new(
                answer.into_body(),
                MAX_ANSWER_BYTES,
            ))
            .await
            .map_err(|e| format!("reading the answer: {e}"))?;
            Ok::<_, String>((status, body.to_bytes()))
        };
        let (status, body) = tokio::time::timeout(POST_TIMEOUT, exchange)
            .await
            .map_err(|_| SendError::transient(format!("{name}: no answer in {POST_TIMEOUT:?}")))?
            .map_err(|e| SendError::transient(format!("{name}: {e}")))?;
        let said = String::from_utf8_lossy(&body);
        if status.is_client_error() && status.as_u16() != 429 {
            return Err(SendError::permanent(format!("{name}: {status} {said}")));
        }
        if !status.is_success() {
            return Err(SendError::transient(format!("{name}: {status} {said}")));
        }
        robot_refusal(kind, &said).map_or(Ok(()), |e| Err(SendError::transient(e)))
    }
}

impl Default for Poster {
    fn default() -> Poster {
        Poster::new()
    }
}

/// A robot's refusal in a 200 answer: DingTalk and WeCom say `errcode`, Feishu `code`
/// (or `StatusCode`); anything but 0 is one.
fn robot_refusal(kind: ChannelKind, answer: &str) -> Option<String> {
    let keys: &[&str] = match kind {
        ChannelKind::Webhook => return None,
        ChannelKind::Dingtalk | ChannelKind::Wecom => &["errcode"],
        ChannelKind::Feishu => &["code", "StatusCode"],
    };
    let value: Value = serde_json::from_str(answer).ok()?;
    let code = keys.iter().find_map(|k| value.get(*k)?.as_i64())?;
    (code != 0).then(|| format!("{}: refused with code {code}: {answer}", kind.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> (Vec<Fact>, &'static str) {
        (
            vec![Fact {
                label: "报销总额".into(),
                value: "120.00 CNY".into(),
            }],
            "http://signoff.example/tasks/3",
        )
    }

    #[test]
    fn each_kind_gets_its_own_shape() {
        let (facts, link) = message();
        let m = HookMessage {
            event: "task_assigned",
            request: 7,
            process: "费用报销",
            subject: "【待审批】费用报销 #7",
            person: ("liu.qiang", "刘强"),
            facts: &facts,
            link,
        };
        let generic = body(ChannelKind::Webhook, &m);
        assert_eq!(generic["to"]["id"], "liu.qiang");
        assert_eq!(generic["facts"][0]["value"], "120.00 CNY");
        let ding = body(ChannelKind::Dingtalk, &m);
        assert_eq!(ding["msgtype"], "markdown");
        assert!(ding["markdown"]["text"]
            .as_str()
            .unwrap()
            .contains("刘强 (liu.qiang)"));
        assert!(body(ChannelKind::Wecom, &m)["markdown"]["content"]
            .as_str()
            .unwrap()
            .contains(link));
        assert_eq!(body(ChannelKind::Feishu, &m)["msg_type"], "text");
    }

    #[test]
    fn a_robot_refusal_is_read_from_its_answer() {
        assert_eq!(
            robot_refusal(ChannelKind::Dingtalk, r#"{"errcode":0,"errmsg":"ok"}"#),
            None
        );
        assert!(robot_refusal(
            ChannelKind::Dingtalk,
            r#"{"errcode":310000,"errmsg":"keywords not in content"}"#
        )
        .is_some());
        assert!(robot_refusal(
            ChannelKind::Feishu,
            r#"{"code":19021,"msg":"sign match fail"}"#
        )
        .is_some());
        assert_eq!(
            robot_refusal(ChannelKind::Webhook, r#"{"errcode":5}"#),
            None
        );
    }

    #[test]
    fn a_url_may_come_from_the_environment() {
        assert_eq!(
            resolve_url(" https://x.example/hook "),
            Some("https://x.example/hook".into())
        );
        assert_eq!(resolve_url("${SIGNOFF_TEST_SURELY_UNSET_HOOK}"), None);
    }
}
