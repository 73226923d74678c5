//! Signoff's engine: the runtime and its storage, mail notifications, accounts and the
//! definitions folder, on the process-definition language of `signoff-lang` (whose
//! modules it re-exports: `model`, `loader`, `check`, `guard`, `form`, `calendar`, ...).

pub use signoff_lang::{
    attachment, calendar, check, diagnostic, diagram, directory, display, duration, flow, form,
    graph, guard, loader, located, model, problem,
};

pub mod accounts;
pub mod catalog;
pub mod clock;
pub mod notify;
pub mod password;
pub mod runtime;
pub mod simulate;
pub mod store;
