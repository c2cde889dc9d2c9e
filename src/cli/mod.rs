//! The command line: clap definitions, one file per command, output
//! selection, environment and exit codes. Only this module knows about the
//! terminal, environment variables and the process exit status.

pub mod apply;
pub mod completions;
pub mod connect;
pub mod diff;
pub mod drift;
pub mod error;
pub mod export;
pub mod import;
pub mod plan;
pub mod progress;
pub mod prompt;
pub mod rollback;
pub mod sandbox;
pub mod schema;
pub mod show;
pub mod state;
pub mod validate;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::render::Style;
use error::CliError;

#[derive(Parser, Debug)]
#[command(
    name = "orgform",
    version,
    about = "Telegram organisation as code: plan, apply, roll back and report drift",
    long_about = "orgform manages a company's Telegram groups, forums and channels from versioned YAML or KDL files: \
                  who is admin where, what members may post, who must leave when they leave."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check a config and report every problem with file, line and hint.
    Validate(validate::ValidateArgs),
    /// Show the resolved model: everything, one person's access, or one chat.
    Show(show::ShowArgs),
    /// Read Telegram and show the ordered, guarded change plan (changes nothing).
    Plan(plan::PlanArgs),
    /// Execute a plan with a journal; roll back a failed reversible phase.
    Apply(apply::ApplyArgs),
    /// Undo a finished or failed run from its journal.
    Rollback(rollback::RollbackArgs),
    /// Compare the effective access of two git revisions of the config (no Telegram calls).
    Diff(diff::DiffArgs),
    /// Report what changed by hand in Telegram, and who must fix it.
    Drift(drift::DriftArgs),
    /// Print the JSON Schema of the config language.
    Schema(schema::SchemaArgs),
    /// Print shell completions or the man page.
    Completions(completions::CompletionsArgs),
    /// A stateful Telegram Bot API emulator: serve, init, generate, act.
    Sandbox(sandbox::SandboxArgs),
    /// Adopt what exists: describe existing chats, or read a staff list, as config files.
    Import(import::ImportArgs),
    /// Export the effective access matrix (CSV, JSON or Markdown), optionally with the live status.
    Export(export::ExportArgs),
    /// What orgform remembers: list, show, rm, adopt, runs, abandon, unlock, export, import, migrate.
    State(state::StateArgs),
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match run(cli) {
        Ok(code) => code,
        Err(e) => {
            report(&e);
            e.exit_code()
        }
    };
    ExitCode::from(code)
}

/// Run a parsed command line; `Ok` is the exit code.
pub fn run(cli: Cli) -> Result<u8, CliError> {
    match cli.command {
        Command::Validate(args) => validate::run(args),
        Command::Show(args) => show::run(args),
        Command::Plan(args) => plan::run(args),
        Command::Apply(args) => apply::run(args),
        Command::Rollback(args) => rollback::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Drift(args) => drift::run(args),
        Command::Schema(args) => schema::run(args),
        Command::Completions(args) => completions::run(args),
        Command::Sandbox(args) => sandbox::run(args),
        Command::Import(args) => import::run(args),
        Command::Export(args) => export::run(args),
        Command::State(args) => state::run(args),
    }
}

/// Print an error to stderr in the form the environment wants.
pub fn report(e: &CliError) {
    match e {
        CliError::Config {
            sources,
            diagnostics,
        } => {
            if github_actions() {
                print!(
                    "{}",
                    crate::render::diagnostics::github(sources, diagnostics)
                );
            }
            eprint!(
                "{}",
                crate::render::diagnostics::text(sources, diagnostics, stderr_style())
            );
        }
        CliError::User { message, hint } | CliError::Refused { message, hint } => {
            eprintln!("error: {message}");
            if let Some(h) = hint {
                eprintln!("hint: {h}");
            }
        }
    }
}

/// Whether we run inside GitHub Actions.
pub fn github_actions() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

fn color_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

pub fn stdout_style() -> Style {
    if color_allowed() && std::io::stdout().is_terminal() {
        Style::Color
    } else {
        Style::Plain
    }
}

pub fn stderr_style() -> Style {
    if color_allowed() && std::io::stderr().is_terminal() {
        Style::Color
    } else {
        Style::Plain
    }
}

/// `--now`: an RFC 3339 instant, default the clock.
pub fn parse_now(now: Option<&str>) -> Result<jiff::Timestamp, CliError> {
    match now {
        None => Ok(jiff::Timestamp::now()),
        Some(text) => text.parse().map_err(|e| {
            CliError::with_hint(
                format!("--now {text}: {e}"),
                "write an RFC 3339 instant, e.g. 2026-11-27T12:00:00Z",
            )
        }),
    }
}
