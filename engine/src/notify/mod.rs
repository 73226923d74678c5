//! Notifications: the mail that tells people of events, the transactional outbox it
//! waits in, and the sender that delivers it; it needs nothing of the runtime.
//!
//! The runtime's planner (`runtime::planner`) decides who is told of each action's
//! history inside its transaction, renders it with [`Templates`] and queues it with the
//! group commit, so the outbox holds exactly the mail of committed actions. `Engine::spawn_mailer` delivers it through [`outbox::lease`], [`outbox::send_batch`] and [`outbox::settle`].

pub mod outbox;
pub mod templates;
pub mod transport;
pub mod webhook;

pub use outbox::{MailQuery, MailStatus, MailView, Pass, SenderOptions};
pub use templates::{MailContext, Rendered, Templates};
pub use transport::{Outgoing, SendError, Transport, TransportError};
