//! `orgform drift`: read live state, compare it with the config, and report
//! what changed by hand and who must fix it. Never changes Telegram. Exit 0
//! when there is no drift, 2 when there is (unknowns included), 1 on error.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::connect::{self, TelegramArgs};
use super::error::{CliError, exit};
use crate::drift::{self, DriftInput, DriftReport, UpdateFeed};
use crate::render::drift as render;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DriftFormat {
    Text,
    /// For a GitHub issue body: summary table first, details folded.
    Markdown,
    Json,
}

#[derive(Args, Debug)]
pub struct DriftArgs {
    /// A config file or directory.
    #[arg(default_value = ".")]
    pub config: PathBuf,
    #[command(flatten)]
    pub telegram: TelegramArgs,
    #[arg(long, value_enum, default_value = "text")]
    pub format: DriftFormat,
    /// Compare as of this instant (RFC 3339) instead of now.
    #[arg(long)]
    pub now: Option<String>,
    /// Take the state lock and record what the refresh learned; `--lock=false` reports
    /// read-only (nothing recorded, no lock).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub lock: bool,
}

/// Load, connect, refresh and detect. The store is saved with what the
/// refresh learned (members seen, topic service messages, update offset).
pub async fn make_report(
    conn: &connect::Connection,
    model: &crate::model::Model,
    now: jiff::Timestamp,
) -> Result<DriftReport, CliError> {
    let mut store = conn.load_store()?;
    let progress = super::progress::spinner(&format!(
        "reading {} chats from Telegram",
        model.desired.state.chats.len()
    ));
    let refreshed =
        super::plan::refresh(conn, &model.desired, &mut store, now.as_second(), None).await;
    progress.finish_and_clear();
    let (live, drained) = refreshed.map_err(super::plan::read_error)?;
    conn.save_store(&store)?;
    let updates = if drained.webhook_active {
        UpdateFeed::Webhook
    } else {
        UpdateFeed::Drained {
            updates: drained.updates,
        }
    };
    Ok(drift::detect(&DriftInput {
        desired: &model.desired,
        live: &live,
        store: &store,
        now,
        updates,
    }))
}

pub fn run(args: DriftArgs) -> Result<u8, CliError> {
    let now = super::parse_now(args.now.as_deref())?;
    let model = crate::model::load(&args.config, now)?;
    let rt = connect::runtime()?;
    let report = rt.block_on(async {
        let conn = connect::connect(
            &args.telegram,
            &model.desired,
            connect::config_api_url(&model.config),
        )
        .await?;
        super::plan::lock_or_read_only(&conn, args.lock, "drift", now)?;
        let result = make_report(&conn, &model, now).await;
        conn.close().await?;
        result
    })?;
    match args.format {
        DriftFormat::Text => print!("{}", render::text(&report, super::stdout_style())),
        DriftFormat::Markdown => print!("{}", render::markdown(&report)),
        DriftFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&render::json(&report)).expect("report serialises")
        ),
    }
    Ok(if report.has_drift() {
        exit::CHANGES
    } else {
        exit::OK
    })
}
