//! Signoff's process-definition language: the model of a definition, the YAML loader
//! that locates every value, the checker with its diagnostics, CEL guards and their cost
//! bounds, forms, the working calendar and the directory of people. Nothing here opens a
//! database or sends mail, so an editor plugin or a CI check can use it alone; the engine
//! (`signoff-engine`) re-exports every module under the same name.

pub mod attachment;
pub mod calendar;
pub mod check;
pub mod diagnostic;
pub mod diagram;
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
pub mod problem;

/// Process ids the definitions folder reads as something else (the directory, the
/// calendar, the templates, the schema): a process with one of them would replace that
/// file.
pub const RESERVED_IDS: &[&str] = &["org", "calendar", "templates", "schema"];
