//! Notifications: which events people are told about, the mail that tells them, the
//! transactional outbox it waits in, and the sender that delivers it.
//!
//! The runtime calls [`Planner::plan`] on each action's history inside its transaction
//! (the rows are written with the group commit), so the outbox holds exactly the mail of
//! committed actions. `Engine::spawn_mailer` delivers it through [`outbox::lease`], [`outbox::send_batch`] and [`outbox::settle`].

pub mod outbox;
mod plan;
pub mod templates;
pub mod transport;
pub mod webhook;

pub use outbox::{MailQuery, MailStatus, MailView, Pass, SenderOptions};
pub use plan::Planner;
pub use templates::{MailContext, Rendered, Templates};
pub use transport::{Outgoing, SendError, Transport, TransportError};
