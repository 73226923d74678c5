//! The commands the writer runs, one file each, mini-redis style: a struct holding the
//! command's arguments and an `apply` with its rule, its checks and its effects, run in
//! the group commit's transaction. `act` checks who may act on a task and what its step
//! allows, then hands over to the task action's own file (`decide`, `send_back`,
//! `hand_over`, `consult`, `copy_to`, ...). `take_back`, `jump` and `terminate` act on
//! a request as a whole.

mod account;
mod act;
mod add_signer;
mod claim;
mod comment;
mod consult;
mod copy_to;
mod decide;
mod fire_due;
mod hand_over;
mod jump;
mod lease_mail;
mod mark_read;
mod migrate;
mod publish;
mod remove_signer;
mod resubmit;
mod retry;
mod send_back;
mod set_absence;
mod settle_mail;
mod start;
mod start_scheduled;
mod take_back;
mod terminate;
mod urge;
mod withdraw;

pub use account::Account;
pub use act::Act;
pub use fire_due::FireDue;
pub use jump::Jump;
pub use lease_mail::LeaseMail;
pub use mark_read::MarkRead;
pub use migrate::Migrate;
pub use publish::Publish;
pub use retry::Retry;
pub use set_absence::SetAbsence;
pub use settle_mail::SettleMail;
pub use start::Start;
pub use start_scheduled::StartScheduled;
pub use take_back::TakeBack;
pub use terminate::Terminate;
pub use urge::Urge;
pub use withdraw::Withdraw;

/// What every command file uses.
mod prelude {
    pub(super) use std::time::Duration;

    pub(super) use serde_json::Value;

    pub(super) use crate::clock::to_db;
    pub(super) use crate::form::validate_form;
    pub(super) use crate::model::{EndOutcome, Outcome};
    pub(super) use crate::notify::outbox;
    pub(super) use crate::store::{self, Conn};

    pub(super) use super::super::history::{Entry, HistoryAction};
    pub(super) use super::super::machine::{self, Env, InstanceState, Machine};
    pub(super) use super::super::types::{
        ActionRequest, EngineError, InstanceId, InstanceStatus, TaskId,
    };
    pub(super) use super::super::{policy, registry, Core, Reply};
}

/// A command for the writer.
pub(super) enum Command {
    Start(Start),
    Act(Act),
    Withdraw(Withdraw),
    Urge(Urge),
    FireDue(FireDue),
    Retry(Retry),
    Migrate(Migrate),
    SetAbsence(SetAbsence),
    LeaseMail(LeaseMail),
    SettleMail(SettleMail),
    Publish(Publish),
    Account(Account),
    StartScheduled(StartScheduled),
    MarkRead(MarkRead),
    TakeBack(TakeBack),
    Jump(Jump),
    Terminate(Terminate),
}

impl Command {
    /// Runs the command in the writer's transaction.
    pub(super) async fn apply(
        self,
        core: &super::Core,
        conn: &mut crate::store::Conn,
        env: &super::machine::Env<'_>,
    ) -> Result<super::Reply, super::EngineError> {
        match self {
            Command::Start(c) => c.apply(core, conn, env).await,
            Command::Act(c) => c.apply(core, conn, env).await,
            Command::Withdraw(c) => c.apply(core, conn, env).await,
            Command::Urge(c) => c.apply(core, conn, env).await,
            Command::FireDue(c) => c.apply(core, conn, env).await,
            Command::Retry(c) => c.apply(core, conn, env).await,
            Command::Migrate(c) => c.apply(core, conn, env).await,
            Command::SetAbsence(c) => c.apply(core, conn, env).await,
            Command::LeaseMail(c) => c.apply(core, conn, env).await,
            Command::SettleMail(c) => c.apply(core, conn, env).await,
            Command::Publish(c) => c.apply(core, conn, env).await,
            Command::Account(c) => c.apply(core, conn, env).await,
            Command::StartScheduled(c) => c.apply(core, conn, env).await,
            Command::MarkRead(c) => c.apply(core, conn, env).await,
            Command::TakeBack(c) => c.apply(core, conn, env).await,
            Command::Jump(c) => c.apply(core, conn, env).await,
            Command::Terminate(c) => c.apply(core, conn, env).await,
        }
    }
}
