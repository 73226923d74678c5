//! Signoff's engine: the process-definition language, its loader and checker, CEL guards,
//! the working calendar, the runtime and its storage, and mail notifications.

pub mod accounts;
pub mod calendar;
pub mod catalog;
pub mod check;
pub mod clock;
pub mod diagnostic;
pub mod directory;
pub mod display;
pub mod duration;
pub mod flow;
pub mod form;
pub mod graph;
pub mod guard;
pub mod loader;
pub mod located;
pub mod model;
pub mod notify;
pub mod password;
pub mod problem;
pub mod runtime;
pub mod store;
