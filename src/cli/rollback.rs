//! `orgform rollback RUN`: undo a finished or failed run from its journal.
//! Reversible changes are undone in reverse order; irreversible ones are
//! listed with what a person can do instead.

use super::output::outln;
use std::path::PathBuf;

use clap::Args;

use super::connect::{self, TelegramArgs};
use super::error::{CliError, exit};
use crate::apply::{self, Event, Journal, RunStatus, journal, lock::Lock};
use crate::telegram::execute::TelegramProvider;

#[derive(Args, Debug)]
pub struct RollbackArgs {
    /// The run id printed by `orgform apply` (also the journal's file name).
    pub run: String,
    /// The config the run was made from (for the bot and API settings).
    /// [default: ./org/ if it exists, else ./orgform.yaml (.yml, .kdl)]
    #[arg(long, default_value_os_t = crate::config::load::default_path(), hide_default_value = true)]
    pub config: PathBuf,
    #[command(flatten)]
    pub telegram: TelegramArgs,
    /// Undo without asking (required when stdin is not a terminal).
    #[arg(long)]
    pub auto_approve: bool,
}

pub fn run(args: RollbackArgs) -> Result<u8, CliError> {
    let now = jiff::Timestamp::now();
    let model = crate::model::load(&args.config, now)?;
    let rt = connect::runtime()?;
    rt.block_on(async {
        let conn = connect::connect(
            &args.telegram,
            &model.desired,
            connect::config_api_url(&model.config),
        )
        .await?;
        let result = rollback(&args, &conn, now).await;
        conn.close().await?;
        result
    })
}

async fn rollback(
    args: &RollbackArgs,
    conn: &connect::Connection,
    now: jiff::Timestamp,
) -> Result<u8, CliError> {
    let _lock = Lock::acquire(&conn.state_dir, "rollback", now)
        .map_err(|e| CliError::user(e.to_string()))?;
    let events = journal::read(&conn.state_dir, &args.run).map_err(|e| {
        CliError::with_hint(
            e.to_string(),
            format!(
                "runs are in {}",
                journal::journal_dir(&conn.state_dir).display()
            ),
        )
    })?;
    let state = apply::replay(&events);
    let Some(plan) = state.plan else {
        return Err(CliError::user(format!(
            "run {} has no plan in its journal",
            args.run
        )));
    };
    if state.done.is_empty() {
        outln!("Run {}: nothing to undo.", args.run)?;
        return Ok(exit::OK);
    }
    outln!(
        "Run {} did {} change(s); undoing them in reverse order:",
        args.run,
        state.done.len()
    )?;
    for (i, _) in state.done.iter().rev() {
        let c = &plan.changes[*i];
        let mark = if c.reversible { "undo" } else { "cannot undo" };
        outln!("  {mark}: {} {}", c.action.symbol(), c.address)?;
    }
    if !args.auto_approve {
        super::prompt::confirm("Roll back?", "roll back", "run again with --auto-approve")?;
    }
    let mut journal =
        Journal::reopen(&conn.state_dir, &args.run).map_err(|e| CliError::user(e.to_string()))?;
    journal
        .write(&Event::Resume {
            at: now.to_string(),
            pid: std::process::id(),
        })
        .map_err(|e| CliError::user(e.to_string()))?;
    let provider = TelegramProvider::new(conn.client.clone());
    let mut store = conn.load_store()?;
    let report = apply::rollback(
        &provider,
        &plan,
        &mut journal,
        &mut store,
        now.as_second(),
        state.done,
    )
    .await;
    conn.save_store(&store)?;
    outln!(
        "\nRolled back: {}",
        report
            .rolled_back
            .iter()
            .map(|i| plan.changes[*i].address.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    for (i, e) in &report.rollback_errors {
        outln!(
            "Not rolled back: {}: {}",
            plan.changes[*i].address,
            crate::render::escape::terminal(&e.to_string())
        )?;
    }
    if !report.not_run.is_empty() {
        outln!("\nIrreversible changes a person must handle:")?;
        for i in &report.not_run {
            outln!("  {}", apply::manual_undo(&plan.changes[*i]))?;
        }
    }
    let complete = report.status() == RunStatus::Reverted;
    outln!(
        "\nRollback of run {} {}.",
        args.run,
        if complete { "complete" } else { "INCOMPLETE" }
    )?;
    Ok(if complete { exit::OK } else { exit::ERROR })
}
