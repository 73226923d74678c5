//! The closed sets of words the tables store: a request's, a step run's and a task's
//! status, a task's kind and decision, a timer's kind, a message's status, channel and
//! kind. Each is an enum that sqlx binds and reads as its `snake_case` text, so no
//! status is a string compared by hand, and a word the enum does not know is a decoding
//! error, not a silent default.
//!
//! Why not `#[derive(sqlx::Type)]`: its `Type` and `Decode` impls are per driver (none
//! for `Any`, which the store speaks), and on PostgreSQL it names a custom enum type,
//! where these columns are `TEXT` on both databases. [`text_enum!`] writes the three
//! impls for `Any` over the same text.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::directory::ChannelKind;
use crate::model::Event;
use sqlx::any::{Any, AnyTypeInfo, AnyValueRef};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode, Type};

/// A stored word that is not one of its enum's.
#[derive(Debug, thiserror::Error)]
#[error("`{word}` is not a {of}")]
pub struct UnknownWord {
    of: &'static str,
    word: String,
}

/// An enum stored as text: `as_str`, `FromStr`, `Display` and sqlx's `Type`, `Encode`
/// and `Decode` for `Any`, from one list of variants and their words.
macro_rules! text_enum {
    ($ty:ident, $what:literal { $($variant:ident => $word:literal),+ $(,)? }) => {
        impl $ty {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// The word stored, and shown in the API.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $word),+
                }
            }
        }

        impl FromStr for $ty {
            type Err = UnknownWord;

            fn from_str(s: &str) -> Result<Self, UnknownWord> {
                match s {
                    $($word => Ok($ty::$variant),)+
                    _ => Err(UnknownWord { of: $what, word: s.to_string() }),
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        text_column!($ty);
    };
}

/// sqlx's `Type`, `Encode` and `Decode` for `Any` of a type stored as its `as_str()`
/// text and read back through its `FromStr`.
macro_rules! text_column {
    ($ty:ident) => {
        impl Type<Any> for $ty {
            fn type_info() -> AnyTypeInfo {
                <&str as Type<Any>>::type_info()
            }

            fn compatible(ty: &AnyTypeInfo) -> bool {
                <&str as Type<Any>>::compatible(ty)
            }
        }

        impl<'q> Encode<'q, Any> for $ty {
            fn encode_by_ref(
                &self,
                buf: &mut <Any as Database>::ArgumentBuffer<'q>,
            ) -> Result<IsNull, BoxDynError> {
                <&str as Encode<'q, Any>>::encode(self.as_str(), buf)
            }
        }

        impl<'r> Decode<'r, Any> for $ty {
            fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
                Ok(<&str as Decode<'r, Any>>::decode(value)?.parse()?)
            }
        }
    };
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InstanceStatus {
    Running,
    Completed,
    Withdrawn,
    /// Stopped on an error the owner must fix; see `incident`.
    Incident,
}

text_enum!(InstanceStatus, "request status" {
    Running => "running",
    Completed => "completed",
    Withdrawn => "withdrawn",
    Incident => "incident",
});

/// Where a task stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Sequential signers after the current one, and signers added after someone.
    Waiting,
    /// Waiting for a signer added before this one to decide.
    Held,
    Open,
    Done,
    Cancelled,
    Skipped,
}

text_enum!(TaskStatus, "task status" {
    Waiting => "waiting",
    Held => "held",
    Open => "open",
    Done => "done",
    Cancelled => "cancelled",
    Skipped => "skipped",
});

impl TaskStatus {
    /// Still to be decided: open now, or waiting or held for its turn.
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            TaskStatus::Open | TaskStatus::Waiting | TaskStatus::Held
        )
    }
}

/// Where a step run (a visit of a request to a step) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Active,
    Done,
    Cancelled,
}

text_enum!(RunStatus, "step run status" {
    Active => "active",
    Done => "done",
    Cancelled => "cancelled",
});

/// What a task is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// A signer the step's assignees name.
    Step,
    /// A signer someone added (加签).
    Added,
    /// An opinion someone asked for (征求意见); it does not vote.
    Consult,
    /// The submitter's turn to revise a returned request.
    Resubmit,
}

text_enum!(TaskKind, "task kind" {
    Step => "step",
    Added => "added",
    Consult => "consult",
    Resubmit => "resubmit",
});

/// What a decided task was decided as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approved,
    Rejected,
    /// A task step's work done (it has no approve or reject).
    Done,
    /// A consulted person's opinion given.
    Answered,
    /// The submitter sent the returned request again.
    Resubmitted,
    /// Sent back to the submitter or an earlier step.
    Returned,
}

text_enum!(Decision, "decision" {
    Approved => "approved",
    Rejected => "rejected",
    Done => "done",
    Answered => "answered",
    Resubmitted => "resubmitted",
    Returned => "returned",
});

impl Decision {
    /// Whether it counts as a yes in a step's vote.
    pub fn is_yes(self) -> bool {
        matches!(self, Decision::Approved | Decision::Done)
    }
}

/// What a timer is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimerKind {
    /// A step's deadline: its `on_timeout` happens.
    Deadline,
    /// A reminder before the deadline.
    Reminder,
    /// A wait step's time is up.
    Wait,
}

text_enum!(TimerKind, "timer kind" {
    Deadline => "deadline",
    Reminder => "reminder",
    Wait => "wait",
});

/// Where a queued message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailStatus {
    Pending,
    Sent,
    Failed,
}

text_enum!(MailStatus, "mail status" {
    Pending => "pending",
    Sent => "sent",
    Failed => "failed",
});

/// Where a queued message goes: mail, or a kind of webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Mail,
    Webhook,
    Dingtalk,
    Wecom,
    Feishu,
}

text_enum!(Channel, "message channel" {
    Mail => "mail",
    Webhook => "webhook",
    Dingtalk => "dingtalk",
    Wecom => "wecom",
    Feishu => "feishu",
});

impl Channel {
    /// The webhook format it is posted in; `None` for mail.
    pub fn hook(self) -> Option<ChannelKind> {
        match self {
            Channel::Mail => None,
            Channel::Webhook => Some(ChannelKind::Webhook),
            Channel::Dingtalk => Some(ChannelKind::Dingtalk),
            Channel::Wecom => Some(ChannelKind::Wecom),
            Channel::Feishu => Some(ChannelKind::Feishu),
        }
    }
}

impl From<ChannelKind> for Channel {
    fn from(kind: ChannelKind) -> Channel {
        match kind {
            ChannelKind::Webhook => Channel::Webhook,
            ChannelKind::Dingtalk => Channel::Dingtalk,
            ChannelKind::Wecom => Channel::Wecom,
            ChannelKind::Feishu => Channel::Feishu,
        }
    }
}

/// What a queued message tells of: the definition language's [`Event`], stored as the
/// word definitions and template files use for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MailKind(pub Event);

impl MailKind {
    pub fn as_str(self) -> &'static str {
        self.0.as_str()
    }
}

impl FromStr for MailKind {
    type Err = UnknownWord;

    fn from_str(s: &str) -> Result<Self, UnknownWord> {
        Event::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .map(MailKind)
            .ok_or_else(|| UnknownWord {
                of: "mail kind",
                word: s.to_string(),
            })
    }
}

text_column!(MailKind);

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trips<T: Copy + Eq + fmt::Debug + FromStr + Serialize>(
        all: &[T],
        word: fn(T) -> &'static str,
    ) {
        for &v in all {
            assert_eq!(word(v).parse::<T>().ok(), Some(v));
            // The API shows the word the table stores.
            assert_eq!(serde_json::to_value(v).unwrap(), serde_json::json!(word(v)));
        }
    }

    #[test]
    fn every_word_reads_back_as_its_variant_and_serializes_as_stored() {
        round_trips(InstanceStatus::ALL, InstanceStatus::as_str);
        round_trips(TaskStatus::ALL, TaskStatus::as_str);
        round_trips(RunStatus::ALL, RunStatus::as_str);
        round_trips(TaskKind::ALL, TaskKind::as_str);
        round_trips(Decision::ALL, Decision::as_str);
        round_trips(TimerKind::ALL, TimerKind::as_str);
        round_trips(MailStatus::ALL, MailStatus::as_str);
        round_trips(Channel::ALL, Channel::as_str);
        round_trips(&Event::ALL.map(MailKind), MailKind::as_str);
        for kind in [
            ChannelKind::Webhook,
            ChannelKind::Dingtalk,
            ChannelKind::Wecom,
            ChannelKind::Feishu,
        ] {
            assert_eq!(Channel::from(kind).hook(), Some(kind));
            assert_eq!(Channel::from(kind).as_str(), kind.as_str());
        }
        assert_eq!(Channel::Mail.hook(), None);
    }

    #[test]
    fn an_unknown_word_is_an_error_naming_it() {
        let e = "opne".parse::<TaskStatus>().unwrap_err();
        assert_eq!(e.to_string(), "`opne` is not a task status");
    }

    #[tokio::test]
    async fn sqlite_binds_and_reads_them_as_text() {
        sqlx::any::install_default_drivers();
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect("sqlite::memory:")
            .await
            .unwrap();
        let (word, back): (String, TaskKind) = sqlx::query_as("SELECT $1, $2")
            .bind(TaskKind::Resubmit)
            .bind("consult")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!((word.as_str(), back), ("resubmit", TaskKind::Consult));
        let bad: Result<(TaskKind,), _> =
            sqlx::query_as("SELECT 'nope'").fetch_one(&mut conn).await;
        assert!(bad
            .unwrap_err()
            .to_string()
            .contains("`nope` is not a task kind"));
    }
}
