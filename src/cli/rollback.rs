//! `orgform rollback RUN`: undo a finished or failed run from its journal.
//! Reversible changes are undone in reverse order; irreversible ones are
//! listed with what a person can do instead.

use super::output::outln;
use std::path::PathBuf;

use clap::Args;

use super::connect::{self, TelegramArgs};
use super::error::{CliError, exit};
use crate::apply::{self, Event, Hooks, Journal, RunStatus, journal};

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
    conn.take_lock("rollback", now)?;
    conn.lock_run(&args.run);
    let (events, warnings) =
        journal::read_in(&conn.state, &args.run).map_err(super::apply::run_error)?;
    for w in warnings {
        eprintln!("{w}");
    }
    let state = apply::replay(&events);
    let Some(plan) = state.plan.clone() else {
        return Err(CliError::user(format!(
            "run {} has no plan in its journal",
            args.run
        )));
    };
    if state.done.is_empty() && state.in_flight.is_empty() {
        outln!("Run {}: nothing to undo.", args.run)?;
        return Ok(exit::OK);
    }
    outln!(
        "Run {} did {} change(s){}; undoing them in reverse order:",
        args.run,
        state.done.len(),
        if state.in_flight.is_empty() {
            String::new()
        } else {
            format!(
                ", and {} were cut off mid-call (looked up first)",
                state.in_flight.len()
            )
        }
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
        Journal::reopen_in(&conn.state, &args.run).map_err(super::apply::run_error)?;
    journal
        .write(&Event::Resume {
            at: now.to_string(),
            pid: std::process::id(),
        })
        .map_err(|e| CliError::caused(e.to_string(), e))?;
    let provider = conn.carrier(&plan.changes)?;
    let mut store = conn.load_store()?;
    // Changes cut off mid-call: find out whether they happened first.
    let settled = apply::uncertain::settle_in_flight(
        &provider,
        &plan,
        &state,
        &mut journal,
        &mut store,
        now.as_second(),
        false,
    )
    .await
    .map_err(|e| CliError::caused(e.to_string(), e))?;
    for note in &settled.notes {
        eprintln!("note: {note}");
    }
    let mut done = state.done.clone();
    done.extend(settled.done);
    let uncertain = settled.asks;
    let checkpoint = |store: &crate::store::Store| -> Result<(), String> {
        conn.save_store(store).map_err(|e| format!("{e:?}"))
    };
    let hooks = Hooks {
        checkpoint: &checkpoint,
        ..Hooks::none()
    };
    let report = apply::rollback(
        &provider,
        &plan,
        &mut journal,
        &mut store,
        now.as_second(),
        done,
        uncertain,
        &hooks,
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
    if let Some(e) = &report.journal_error {
        outln!("The journal could not be written: {e}")?;
    }
    if !report.uncertain.is_empty() {
        outln!("\nOutcome UNKNOWN (no evidence either way):")?;
        for (_, q) in &report.uncertain {
            outln!("  {q}")?;
        }
        outln!(
            "Record each answer with `orgform state runs {} --assume done|not-done ADDRESS`, then run `orgform rollback {}` again.",
            args.run,
            args.run
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
