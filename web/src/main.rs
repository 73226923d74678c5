//! The `signoff` command line: checks and draws definitions, and drives the engine
//! (start, tasks, act, show, simulate, migrate, bench), and serves the web inbox.

mod bench;
mod commands;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
use signoff_engine::catalog::Catalog;
use signoff_engine::diagnostic::Severity;
use signoff_engine::notify::MailStatus;
use signoff_engine::{graph, model};
pub use signoff_web::{MailArgs, Store};

#[derive(Parser)]
#[command(
    name = "signoff",
    version,
    about = "A workflow and approval engine for YAML process definitions"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Serve the web inbox, the request forms, the owner pages and the JSON API, with
    /// the timer scheduler and the mail sender.
    Serve(signoff_web::server::ServeArgs),
    /// Set a user's password (read from standard input, at least 8 characters).
    Passwd {
        user: String,
        #[command(flatten)]
        store: Store,
    },
    /// Check definitions and report every problem with its file, line and column.
    Check {
        /// Files or folders; default `processes/`.
        paths: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
        format: CheckFormat,
    },
    /// Print a definition as a state diagram.
    Graph {
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = GraphFormat::Mermaid)]
        format: GraphFormat,
    },
    /// Print the JSON Schema of the definition language (kept in `processes/schema.json`).
    Schema,
    /// Start a request; prints the new request as JSON.
    Start {
        process: String,
        #[arg(long = "as")]
        user: String,
        /// A JSON file with the form's values, or `-` for standard input.
        #[arg(long)]
        form: String,
        #[command(flatten)]
        store: Store,
    },
    /// List a user's open tasks.
    Tasks {
        #[arg(long = "as")]
        user: String,
        #[arg(long)]
        process: Option<String>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: Store,
    },
    /// Act on a task: approve, reject, return, complete, delegate, transfer, add_signer,
    /// remove_signer, claim, comment, resubmit.
    Act {
        task: String,
        action: String,
        #[arg(long = "as")]
        user: String,
        #[arg(long)]
        comment: Option<String>,
        /// The other user (delegate, transfer, signers) or the step to return to.
        #[arg(long)]
        to: Option<String>,
        /// A JSON file of form changes (editable fields, or the resubmitted form).
        #[arg(long)]
        form: Option<String>,
        /// A JSON file of the step's inputs (e.g. a score).
        #[arg(long)]
        inputs: Option<String>,
        /// For add_signer: the added person decides `before` you or `after` you.
        #[arg(long, value_parser = ["before", "after"])]
        position: Option<String>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: Store,
    },
    /// Show a request with its full history.
    Show {
        instance: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: Store,
    },
    /// Withdraw a request (submitter only).
    Withdraw {
        instance: String,
        #[arg(long = "as")]
        user: String,
        #[arg(long)]
        comment: Option<String>,
        #[command(flatten)]
        store: Store,
    },
    /// Take a request back (拿回): you made its latest decision and nobody has acted since.
    TakeBack {
        instance: String,
        #[arg(long = "as")]
        user: String,
        #[arg(long)]
        comment: Option<String>,
        #[command(flatten)]
        store: Store,
    },
    /// Move a request to another step (跳转): the process's owners and administrators.
    Jump {
        instance: String,
        /// The step's id.
        step: String,
        #[arg(long = "as")]
        user: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        store: Store,
    },
    /// End a request (终止): the process's owners and administrators.
    Terminate {
        instance: String,
        #[arg(long = "as")]
        user: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        store: Store,
    },
    /// Remind the current assignees of a request now (submitter only, once an hour).
    Urge {
        instance: String,
        #[arg(long = "as")]
        user: String,
        #[command(flatten)]
        store: Store,
    },
    /// Resume a request stopped by an incident, on the newest definition.
    Retry {
        instance: String,
        #[arg(long = "as")]
        user: String,
        #[command(flatten)]
        store: Store,
    },
    /// Route a user's new tasks to a deputy between two dates (out of office).
    Absence {
        user: String,
        #[arg(long)]
        deputy: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[command(flatten)]
        store: Store,
    },
    /// Dry-run a request: the path it would take and who would be asked, writing nothing.
    Simulate {
        process: String,
        #[arg(long)]
        form: String,
        /// The submitter.
        #[arg(long = "as", default_value = "li.na")]
        user: String,
        /// Decide a step differently from approving: `STEP=reject`.
        #[arg(long = "decide")]
        decide: Vec<String>,
        #[arg(long)]
        json: bool,
        #[arg(long, default_value = "processes")]
        processes: PathBuf,
    },
    /// Move running requests from one definition version to another.
    Migrate {
        process: String,
        #[arg(long)]
        from: i64,
        #[arg(long)]
        to: i64,
        /// Rename a step: `OLD=NEW`; repeat as needed.
        #[arg(long = "map")]
        map: Vec<String>,
        #[command(flatten)]
        store: Store,
    },
    /// Deliver the mail that is due, then list the outbox (newest first).
    Mail {
        /// Only this request's mail.
        #[arg(long)]
        request: Option<i64>,
        /// Only mail in this state: `pending`, `sent` or `failed`.
        #[arg(long)]
        status: Option<MailStatus>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: Store,
    },
    /// Fire the timers that are due now.
    Timers {
        #[command(flatten)]
        store: Store,
    },
    /// Benchmark: at each number of open requests, start them all, approve every first
    /// step, then every second step, with concurrent clients; time the inboxes.
    Bench {
        /// The database: a file (one per scale beside it, with the scale in its name) or
        /// `postgres://...` (a database `signoff_bench_N` per scale in that cluster).
        #[arg(long, default_value = "signoff-bench.db")]
        db: String,
        /// The numbers of open requests to measure at, e.g. `1000,10000,100000`.
        #[arg(long, visible_alias = "requests", value_delimiter = ',', default_values_t = [1000, 10000])]
        open: Vec<usize>,
        #[arg(long, default_value_t = 32)]
        clients: usize,
        /// The process to drive (its first two steps must be approvals by one person
        /// each); the shipped two-step approval when left out.
        #[arg(long)]
        process: Option<PathBuf>,
        /// Where the directory (`org.yaml`) and calendar come from.
        #[arg(long, default_value = "processes")]
        processes: PathBuf,
        /// Also deliver the mail the waves queued to this server (`smtp://127.0.0.1:2525`)
        /// and report mails/s.
        #[arg(long)]
        smtp: Option<String>,
        /// Drive the JSON API over HTTP, of this many servers on the database (in this
        /// process, called in turn), instead of the engine's API.
        #[arg(long, num_args = 0..=1, default_missing_value = "1")]
        http: Option<usize>,
        /// Fill each scale's database with about this many finished requests first (of
        /// another submitter and approver, copied in SQL), to time inboxes among them.
        #[arg(long, default_value_t = 0)]
        finished: usize,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum CheckFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum GraphFormat {
    Mermaid,
    Dot,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The server logs what it does; one-shot commands only what goes wrong.
    let default_level = if matches!(cli.command, Command::Serve(_)) {
        "info"
    } else {
        "warn"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("SIGNOFF_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var("SIGNOFF_LOG_FORMAT").is_ok_and(|f| f == "json") {
        logs.json().init();
    } else {
        logs.init();
    }
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if !matches!(cli.command, Command::Serve(_)) {
        die_quietly_on_broken_pipe();
    }
    if commands::is_engine_command(&cli.command) {
        let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
        return runtime.block_on(commands::run(cli.command));
    }
    match cli.command {
        Command::Check { paths, format } => Ok(check(paths, format)),
        Command::Graph { file, format } => {
            let catalog = Catalog::load(std::slice::from_ref(&file));
            let Some(definition) = catalog.definitions.first() else {
                eprint!("{}", catalog.render());
                anyhow::bail!("{} holds no loadable process definition", file.display());
            };
            let text = match format {
                GraphFormat::Mermaid => graph::mermaid(&definition.def, &[]),
                GraphFormat::Dot => graph::dot(&definition.def),
            };
            print!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Schema => {
            let schema = serde_json::to_string_pretty(&model::json_schema())
                .context("serialising the schema")?;
            println!("{schema}");
            Ok(ExitCode::SUCCESS)
        }
        _ => unreachable!("engine commands are handled above"),
    }
}

fn check(paths: Vec<PathBuf>, format: CheckFormat) -> ExitCode {
    let paths = if paths.is_empty() {
        vec![PathBuf::from("processes")]
    } else {
        paths
    };
    let catalog = Catalog::load(&paths);
    let errors = catalog.error_count();
    let warnings = catalog
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .count();
    match format {
        CheckFormat::Json => {
            let report = serde_json::json!({
                "files": catalog.sources.len(),
                "processes": catalog.definitions.iter().map(|d| d.def.id.value.clone()).collect::<Vec<_>>(),
                "errors": errors,
                "warnings": warnings,
                "diagnostics": catalog.diagnostics,
            });
            println!(
                "{}",
                serde_json::to_string_pretty(&report).unwrap_or_default()
            );
        }
        CheckFormat::Text => {
            let rendered = catalog.render();
            if !rendered.is_empty() {
                eprintln!("{rendered}");
            }
            eprintln!(
                "checked {} files ({} processes): {errors} errors, {warnings} warnings",
                catalog.sources.len(),
                catalog.definitions.len()
            );
        }
    }
    if errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// A one-shot command piped into `head` stops when the reader goes away, as other
/// command-line tools do, instead of panicking on the failed write. (The server keeps
/// ignoring SIGPIPE: a client that hangs up must not stop it.)
fn die_quietly_on_broken_pipe() {
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE at start, before any thread
    // that could be writing exists, has no other effect on this process.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
