//! `orgform export access`: load the config, optionally read the live
//! state (`--live` with `--sandbox` or `--api-url`), and print the
//! effective access matrix built by `crate::render::export`.

use super::output::out;
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::connect::{self, TelegramArgs};
use super::error::{CliError, exit};
use crate::render::export;

#[derive(Args, Debug)]
pub struct ExportArgs {
    #[command(subcommand)]
    pub what: ExportCommand,
}

#[derive(Subcommand, Debug)]
pub enum ExportCommand {
    /// The effective access matrix: one row per person and chat, with the why-trace.
    Access(AccessArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Csv,
    Json,
    Markdown,
}

#[derive(Args, Debug)]
pub struct AccessArgs {
    /// A config file or directory [default: ./org/ if it exists, else ./orgform.yaml (.yml, .kdl)].
    #[arg(default_value_os_t = crate::config::load::default_path(), hide_default_value = true)]
    pub config: PathBuf,
    #[arg(long, value_enum, default_value = "csv")]
    pub format: ExportFormat,
    /// Read Telegram (or the sandbox) and show the live status beside each row.
    #[arg(long)]
    pub live: bool,
    #[command(flatten)]
    pub telegram: TelegramArgs,
    /// Write to this file instead of stdout.
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Resolve the config as of this instant (RFC 3339) instead of now.
    #[arg(long)]
    pub now: Option<String>,
}

pub fn run(args: ExportArgs) -> Result<u8, CliError> {
    match args.what {
        ExportCommand::Access(a) => access(a),
    }
}

fn access(args: AccessArgs) -> Result<u8, CliError> {
    let now = super::parse_now(args.now.as_deref())?;
    let model = crate::model::load(&args.config, now)?;
    if !args.live && (args.telegram.sandbox || args.telegram.api_url.is_some()) {
        return Err(CliError::with_hint(
            "--sandbox and --api-url are for reading the live state",
            "add --live",
        ));
    }
    let live = if args.live {
        let rt = connect::runtime()?;
        Some(connect::block_on_interruptible(
            &rt,
            "nothing was written",
            async {
                let conn = connect::connect(
                    &args.telegram,
                    &model.desired,
                    connect::config_api_url(&model.config),
                )
                .await?;
                let mut store = conn.load_store()?;
                // The same refresh as plan: it leaves the updates to a
                // running `orgform watch`.
                let refreshed = super::plan::refresh_live(
                    &conn,
                    &model.desired,
                    &mut store,
                    now.as_second(),
                    None,
                )
                .await;
                let saved = conn.save_store(&store);
                conn.close().await?;
                saved?;
                let (live, _) = refreshed?;
                Ok::<_, CliError>(live)
            },
        )?)
    } else {
        None
    };
    let rows = export::matrix(&model, live.as_ref());
    let text = match args.format {
        ExportFormat::Csv => export::csv(&rows, live.is_some()),
        ExportFormat::Json => {
            serde_json::to_string_pretty(&export::json(&rows)).expect("rows serialise") + "\n"
        }
        ExportFormat::Markdown => export::markdown(&rows, live.is_some()),
    };
    match &args.out {
        Some(path) => {
            crate::atomic_file::replace(
                path,
                text.as_bytes(),
                crate::atomic_file::Access::AsBefore,
            )
            .map_err(|e| CliError::caused(format!("cannot write {}: {e}", path.display()), e))?;
            eprintln!("Wrote {} rows to {}.", rows.len(), path.display());
        }
        None => out!("{text}")?,
    }
    Ok(exit::OK)
}
