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
pub mod import_ids;
pub mod logging;
pub mod login;
pub mod logout;
pub mod output;
pub mod plan;
pub mod progress;
pub mod prompt;
pub mod rollback;
pub mod sandbox;
pub mod schema;
pub mod show;
pub mod state;
pub mod validate;
pub mod watch;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::render::Style;
use error::CliError;

#[derive(Parser, Debug)]
#[command(
    name = "orgform",
    version,
    about = "Telegram organisation as code: plan, apply, roll back and report drift",
    long_about = "orgform manages a company's Telegram groups, forums and channels from versioned YAML or KDL files: \
                  who is admin where, what members may post, who must leave when they leave.",
    after_help = error::exit::TABLE
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG takes precedence.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Colour: auto (a terminal, unless NO_COLOR is set; CLICOLOR_FORCE=1 forces it), always or never.
    #[arg(
        long,
        value_enum,
        default_value = "auto",
        global = true,
        value_name = "WHEN"
    )]
    pub color: ColorChoice,
}

/// `--color`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

static COLOR: std::sync::OnceLock<ColorChoice> = std::sync::OnceLock::new();

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
    /// The always-on half: keep the member ledger, answer join requests, welcome, alert (and enforce).
    Watch(watch::WatchArgs),
    /// Sign a Telegram user account in for the user provider; keep its session in a 0600 file.
    Login(login::LoginArgs),
    /// End the user provider's session and delete its file.
    Logout(logout::LogoutArgs),
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = match command()
        .try_get_matches()
        .and_then(|m| <Cli as clap::FromArgMatches>::from_arg_matches(&m))
    {
        Ok(cli) => cli,
        Err(e) => return ExitCode::from(usage_error(&e)),
    };
    let _ = COLOR.set(cli.color);
    logging::init_as(cli.verbose, watch::json_logs(&cli.command));
    let code = match run(cli).and_then(|code| output::flush().map(|()| code)) {
        Ok(code) => code,
        Err(e) => {
            report(&e);
            e.exit_code()
        }
    };
    ExitCode::from(code)
}

/// The clap command with the exit status table in every subcommand's
/// `--help` (and so in every man page).
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    fn with_table(cmd: clap::Command) -> clap::Command {
        let after = match cmd.get_after_help() {
            Some(text) if !text.to_string().contains("Exit status") => {
                format!("{text}\n\n{}", error::exit::TABLE)
            }
            Some(text) => text.to_string(),
            None => error::exit::TABLE.to_string(),
        };
        cmd.after_help(after).mut_subcommands(with_table)
    }
    Cli::command().mut_subcommands(with_table)
}

/// Print a clap error (or the help or version it stands for) and return its
/// exit code: 0 for `--help` and `--version`, 1 for every usage error —
/// never clap's 2, which means "changes" here.
pub fn usage_error(e: &clap::Error) -> u8 {
    if let Err(io) = e.print()
        && io.kind() == std::io::ErrorKind::BrokenPipe
    {
        return error::exit::CLOSED_PIPE;
    }
    if e.use_stderr() {
        error::exit::ERROR
    } else {
        error::exit::OK
    }
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
        Command::Watch(args) => watch::run(args),
        Command::Login(args) => login::run(args),
        Command::Logout(args) => logout::run(args),
    }
}

/// Print an error to stderr in the form the environment wants. A closed
/// pipe prints nothing; writing the report never panics.
pub fn report(e: &CliError) {
    use std::io::Write;
    let mut err = std::io::stderr().lock();
    match e {
        CliError::Config {
            sources,
            diagnostics,
        } => {
            if github_actions() {
                let _ = write!(
                    std::io::stdout().lock(),
                    "{}",
                    crate::render::diagnostics::github(sources, diagnostics)
                );
            }
            let _ = write!(
                err,
                "{}",
                crate::render::diagnostics::text(sources, diagnostics, stderr_style())
            );
        }
        CliError::ClosedPipe => {}
        other => {
            let Some((message, hint)) = other.message_and_hint() else {
                return;
            };
            // Messages carry text Telegram controls (error descriptions,
            // titles): shown as data, never as terminal control.
            let _ = writeln!(err, "error: {}", crate::render::escape::terminal(message));
            let mut source = std::error::Error::source(other);
            while let Some(s) = source {
                tracing::debug!("caused by: {s}");
                source = s.source();
            }
            if let Some(h) = hint {
                let _ = writeln!(err, "hint: {}", crate::render::escape::terminal(h));
            }
        }
    }
}

/// Whether we run inside GitHub Actions.
pub fn github_actions() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

/// Whether to colour a stream: `--color`, then `NO_COLOR` (set and not
/// empty: never), then `CLICOLOR_FORCE` (set and not `0`: always), then
/// whether the stream is a terminal.
fn colored(is_terminal: bool) -> bool {
    let set = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    match COLOR.get().copied().unwrap_or_default() {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            if set("NO_COLOR").is_some() {
                false
            } else if set("CLICOLOR_FORCE").is_some_and(|v| v != "0") {
                true
            } else {
                is_terminal
            }
        }
    }
}

pub fn stdout_style() -> Style {
    if colored(std::io::stdout().is_terminal()) {
        Style::Color
    } else {
        Style::Plain
    }
}

pub fn stderr_style() -> Style {
    if colored(std::io::stderr().is_terminal()) {
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
