//! The `signoff` command line: checks and draws definitions (and, as the project grows,
//! runs the engine and its web server).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
use signoff_engine::catalog::Catalog;
use signoff_engine::diagnostic::Severity;
use signoff_engine::{graph, model};

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
enum Command {
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
}

#[derive(Clone, Copy, ValueEnum)]
enum CheckFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum GraphFormat {
    Mermaid,
    Dot,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SIGNOFF_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
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
