//! `orgform apply`: plan (or load a saved plan and check it is not stale),
//! ask, execute with a journal, roll back a failed reversible phase, and
//! report. `--resume RUN` finishes a run that was cut off.

use super::output::{out, outln};
use std::collections::BTreeSet;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::connect::{self, Connection, TelegramArgs};
use super::error::{CliError, exit};
use super::plan::{GuardArgs, make_plan, read_error};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::apply::provider::Split;
use crate::apply::{self, Event, Hooks, Journal, Prior, Report, RunStatus, journal};
use crate::plan::Plan;
use crate::render::plan as render;
use crate::telegram::execute::TelegramProvider;
use crate::telegram::pace::PaceStats;

#[derive(Args, Debug)]
pub struct ApplyArgs {
    /// A config file or directory [default: ./org/ if it exists, else ./orgform.yaml (.yml, .kdl)].
    #[arg(default_value_os_t = crate::config::load::default_path(), hide_default_value = true)]
    pub config: PathBuf,
    #[command(flatten)]
    pub telegram: TelegramArgs,
    #[command(flatten)]
    pub guards: GuardArgs,
    /// Apply without asking (required when stdin is not a terminal).
    #[arg(long)]
    pub auto_approve: bool,
    /// Execute this saved plan (from `plan --out`) exactly, after checking
    /// that nothing it touches moved since it was made.
    #[arg(long, conflicts_with = "resume")]
    pub plan: Option<PathBuf>,
    /// Finish a run that was cut off (crash, kill, lost network), without
    /// repeating what it completed.
    #[arg(long, value_name = "RUN")]
    pub resume: Option<String>,
    /// Plan as of this instant (RFC 3339) instead of now.
    #[arg(long)]
    pub now: Option<String>,
    #[command(flatten)]
    pub rollout: super::plan::RolloutArgs,
    /// The final report's format. With markdown or json only the report goes
    /// to stdout; the plan is shown on stderr.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ApplyFormat,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ApplyFormat {
    #[default]
    Text,
    Markdown,
    Json,
}

pub fn run(args: ApplyArgs) -> Result<u8, CliError> {
    let now = super::parse_now(args.now.as_deref())?;
    let model = crate::model::load(&args.config, now)?;
    let rt = connect::runtime()?;
    rt.block_on(async {
        let conn = connect::connect(
            &args.telegram,
            &model.desired,
            connect::config_api_url(&model.config),
        )
        .await?;
        let result = apply_with(&args, &conn, model, now).await;
        conn.close().await?;
        result
    })
}

/// `apply` exits with this after SIGINT or SIGTERM.
const INTERRUPTED: u8 = 130;

async fn apply_with(
    args: &ApplyArgs,
    conn: &Connection,
    model: crate::model::Model,
    now: jiff::Timestamp,
) -> Result<u8, CliError> {
    conn.take_lock("apply", now)?;
    if let Some(run_id) = &args.resume {
        return resume(conn, run_id, now, args.format).await;
    }
    let unfinished = super::state::unfinished_runs(conn)?;
    if let Some(run) = unfinished.first() {
        return Err(CliError::with_hint(
            format!(
                "run {run} is unfinished: some of its changes may have happened and nothing may run on top of it"
            ),
            format!(
                "finish it with `orgform apply --resume {run}`, undo it with `orgform rollback {run}`, or give it up with `orgform state abandon {run}` (then plan again)"
            ),
        ));
    }
    if args.plan.is_some() && (args.rollout.stage.is_some() || !args.rollout.only.is_empty()) {
        return Err(CliError::with_hint(
            "--only and --stage do not go with --plan: a saved plan is applied exactly",
            "pass --only or --stage to `orgform plan --out FILE` instead",
        ));
    }
    let subset = args.rollout.subset(&model, now)?;
    let mut left_out = None;
    let (plan, policy) = match &args.plan {
        Some(path) => {
            let plan = load_saved_plan(path, conn, &model, now).await?;
            // The plan was made from this very config (its digest was
            // checked): the rules are checked again over what it resolves to.
            let policy = crate::policy::evaluate_config(&model, now);
            (plan, policy)
        }
        None => {
            let mut planned = make_plan(
                &args.config,
                conn,
                model,
                args.guards.overrides(),
                now,
                super::plan::narrow(None, subset.as_ref()),
            )
            .await?;
            left_out = subset.as_ref().map(|s| {
                crate::policy::rollout::limit(&mut planned.plan, s, &planned.model.desired)
            });
            let policy = super::plan::plan_policies(&planned, now);
            (planned.plan, policy)
        }
    };
    super::plan::record_audit(&conn.state_dir, &policy, "apply", now);
    if args.format == ApplyFormat::Text {
        out!("{}", render::text(&plan, super::stdout_style()))?;
        if let Some(l) = &left_out {
            out!("{}", crate::render::policy::left_out_text(l))?;
        }
        out!(
            "{}",
            crate::render::policy::text(&policy, super::stdout_style())
        )?;
    } else {
        eprint!("{}", render::text(&plan, super::stderr_style()));
        if let Some(l) = &left_out {
            eprint!("{}", crate::render::policy::left_out_text(l));
        }
        eprint!(
            "{}",
            crate::render::policy::text(&policy, super::stderr_style())
        );
    }
    if super::github_actions() {
        eprint!("{}", crate::render::policy::github(&policy));
    }
    if plan.refused() {
        return Ok(super::plan::outcome(&plan, false));
    }
    if let Some(code) = super::plan::policy_refusal(&policy) {
        return Ok(code);
    }
    if plan.executable().next().is_none() {
        match args.format {
            ApplyFormat::Text => outln!("Nothing to apply.")?,
            ApplyFormat::Markdown => out!("{}", crate::render::apply::nothing_markdown())?,
            ApplyFormat::Json => outln!("{}", crate::render::apply::nothing_json())?,
        }
        return Ok(exit::OK);
    }
    if !args.auto_approve {
        super::prompt::confirm(
            &format!("\nApply these {} changes?", plan.executable().count()),
            "apply",
            "review the plan, then run again with --auto-approve (or apply a saved plan with --plan FILE --auto-approve)",
        )?;
    }
    let run_id = journal::new_run_id(now);
    conn.lock_run(&run_id);
    let nothing_changed = |e: journal::JournalError| {
        CliError::with_hint(
            format!("{e}; nothing was changed"),
            "free some disk space, fix the permissions of the state dir, or check the database",
        )
    };
    let mut journal =
        Journal::start(&conn.state, &run_id, "apply", &now.to_string()).map_err(nothing_changed)?;
    journal
        .write(&Event::Start {
            run_id: run_id.clone(),
            at: now.to_string(),
            plan: Box::new(plan.clone()),
        })
        .map_err(nothing_changed)?;
    eprintln!("Run {run_id} (journal: {})", journal.location());
    execute(
        conn,
        &plan,
        &mut journal,
        &run_id,
        now,
        Prior::default(),
        args.format,
    )
    .await
}

/// SIGINT and SIGTERM set the flag: the run stops after the change in
/// flight. A second signal ends the process at once (every change in
/// flight is journaled before its call, so resume finds it).
fn watch_signals(flag: std::sync::Arc<AtomicBool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        #[cfg(unix)]
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        for _ in 0..2 {
            #[cfg(unix)]
            let got = async {
                match term.as_mut() {
                    Some(t) => {
                        tokio::select! {
                            _ = tokio::signal::ctrl_c() => {}
                            _ = t.recv() => {}
                        }
                    }
                    None => {
                        let _ = tokio::signal::ctrl_c().await;
                    }
                }
            };
            #[cfg(not(unix))]
            let got = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            got.await;
            if flag.swap(true, Ordering::SeqCst) {
                eprintln!("\nStopped at once; `orgform apply --resume` finds what was in flight.");
                std::process::exit(i32::from(INTERRUPTED));
            }
            eprintln!("\nStopping after the change in flight (signal again to stop at once)…");
        }
    })
}

async fn execute(
    conn: &Connection,
    plan: &Plan,
    journal: &mut Journal,
    run_id: &str,
    now: jiff::Timestamp,
    prior: Prior,
    format: ApplyFormat,
) -> Result<u8, CliError> {
    let provider = Split {
        bot: TelegramProvider::new(conn.client.clone()),
        user: super::login::user_provider_for(&plan.changes, &conn.state_dir)?,
    };
    let mut store = conn.load_store()?;
    let progress = super::progress::bar(
        plan.executable()
            .count()
            .saturating_sub(prior.done.len() + prior.skip.len()) as u64,
        "applying",
    );
    let tick = |change: &crate::plan::Change| {
        progress.inc(1);
        progress.set_message(format!("chat {}", change.chat));
    };
    // What each change taught is written at once, so a kill loses nothing.
    let checkpoint = |store: &crate::store::Store| -> Result<(), String> {
        conn.save_store(store).map_err(|e| format!("{e:?}"))
    };
    let interrupted = std::sync::Arc::new(AtomicBool::new(false));
    let signals = watch_signals(interrupted.clone());
    let hooks = Hooks {
        progress: &tick,
        checkpoint: &checkpoint,
        interrupted: &interrupted,
    };
    let report = apply::run(
        &provider,
        plan,
        journal,
        &mut store,
        now.as_second(),
        conn.client.options().max_parallel_chats,
        prior,
        &hooks,
    )
    .await;
    signals.abort();
    progress.finish_and_clear();
    if report.status.is_some_and(|s| s == RunStatus::Applied) {
        // 0 stands for a chat not created yet (Op::CreateChat).
        let chats: BTreeSet<i64> = plan
            .changes
            .iter()
            .map(|c| c.chat_id)
            .filter(|id| *id != 0)
            .collect();
        for id in chats {
            store.chat_mut(id).last_applied = Some(now.as_second());
        }
    }
    let saved = conn.save_store(&store);
    super::watch::record_undelivered(conn, plan, run_id)?;
    print_report(plan, &report, run_id, format, &conn.client)?;
    saved?;
    // A created chat's id belongs in the config: say the one-line change.
    let created = store.created_chats();
    for change in &plan.changes {
        if let (crate::plan::change::Op::CreateChat { .. }, Some(id)) =
            (&change.op, created.get(&change.chat))
        {
            eprintln!(
                "Created chat `{key}` with id {id}. Add `id: {id}` to chats.{key} in the config \
                 (`orgform import ids` writes it); until then orgform finds it by this record in its state.",
                key = crate::render::escape::terminal(&change.chat)
            );
        }
    }
    Ok(if report.interrupted {
        INTERRUPTED
    } else if report.status() == RunStatus::Applied {
        exit::OK
    } else {
        exit::ERROR
    })
}

/// The pace the run achieved, when it was paced (the sandbox is not).
fn pace_stats(client: &crate::telegram::client::Client) -> Option<PaceStats> {
    let stats = client.pace_stats();
    (client.options().requests_per_second.is_some() && stats.requests > 0).then_some(stats)
}

fn print_report(
    plan: &Plan,
    report: &Report,
    run_id: &str,
    format: ApplyFormat,
    client: &crate::telegram::client::Client,
) -> Result<(), CliError> {
    use crate::render::apply as report_render;
    let pace = pace_stats(client);
    match format {
        ApplyFormat::Text => {
            if let Some(p) = pace {
                outln!(
                    "Pace: {} requests at {:.1}/s on average (peak {:.1}/s), {} answered 429 (rate limited).",
                    p.requests,
                    p.achieved_per_second,
                    p.peak_per_second,
                    p.rate_limited
                )?;
            }
            out!("{}", report_render::text(plan, report, run_id))
        }
        ApplyFormat::Markdown => out!("{}", report_render::markdown(plan, report, run_id)),
        ApplyFormat::Json => {
            let mut v = report_render::json(plan, report, run_id);
            if let Some(p) = pace {
                v["pace"] = serde_json::to_value(p)
                    .map_err(|e| CliError::internal("the pace does not serialise", e))?;
            }
            outln!(
                "{}",
                serde_json::to_string_pretty(&v)
                    .map_err(|e| CliError::internal("the apply report does not serialise", e))?
            )
        }
    }
}

/// Load a saved plan and refuse it when the config or any live object it
/// touches moved since it was made.
async fn load_saved_plan(
    path: &std::path::Path,
    conn: &Connection,
    model: &crate::model::Model,
    now: jiff::Timestamp,
) -> Result<Plan, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::caused(format!("cannot read {}: {e}", path.display()), e))?;
    let plan: Plan = serde_json::from_str(&text).map_err(|e| {
        CliError::with_hint(
            format!("{} is not an orgform plan: {e}", path.display()),
            "make one with `orgform plan --out FILE`",
        )
    })?;
    let stale = |e: crate::apply::stale::Stale| {
        let hint = match e {
            crate::apply::stale::Stale::Format { .. } => "make a new plan with this version",
            crate::apply::stale::Stale::ConfigChanged => "make a new plan from the current files",
            crate::apply::stale::Stale::Moved(_) => {
                "make a new plan (`orgform plan --out FILE`) and review it again"
            }
        };
        let message = match &e {
            crate::apply::stale::Stale::Format { found, wanted } => format!(
                "{} has plan format {found}, this orgform reads format {wanted}",
                path.display()
            ),
            other => other.to_string(),
        };
        CliError::with_hint(message, hint)
    };
    crate::apply::stale::check_config(&plan, &model.sources.digest()).map_err(stale)?;
    let mut store = conn.load_store()?;
    // Only fingerprints are wanted here: what this read learns is not kept.
    let live = crate::telegram::read::read_chats(
        &conn.client,
        &model.desired,
        &mut store,
        now.as_second(),
        &crate::apply::stale::chats_to_read(&plan),
    )
    .await
    .map_err(read_error)?;
    let view = super::plan::person_view(conn, model, &store, &plan, None, true).await?;
    crate::apply::stale::check_live(&plan, &live, &view).map_err(stale)?;
    Ok(plan)
}

async fn resume(
    conn: &Connection,
    run_id: &str,
    now: jiff::Timestamp,
    format: ApplyFormat,
) -> Result<u8, CliError> {
    let (events, warnings) = journal::read_in(&conn.state, run_id).map_err(run_error)?;
    for w in warnings {
        eprintln!("{w}");
    }
    let state = apply::replay(&events);
    let Some(plan) = state.plan.clone() else {
        return Err(CliError::user(format!(
            "run {run_id} has no plan in its journal"
        )));
    };
    match state.finished {
        Some(RunStatus::Applied) if state.in_flight.is_empty() => {
            outln!("Run {run_id} already finished: nothing to resume.")?;
            return Ok(exit::OK);
        }
        Some(RunStatus::RolledBack | RunStatus::Reverted) => {
            return Err(CliError::with_hint(
                format!("run {run_id} was rolled back"),
                "make a new plan and apply it",
            ));
        }
        Some(RunStatus::Abandoned) => {
            return Err(CliError::with_hint(
                format!("run {run_id} was abandoned"),
                "make a new plan and apply it",
            ));
        }
        _ => {}
    }
    let rolling_back = events
        .iter()
        .rev()
        .take_while(|e| !matches!(e, Event::Resume { .. }))
        .any(|e| matches!(e, Event::RollbackStart { .. }));
    if rolling_back {
        return Err(CliError::with_hint(
            format!("run {run_id} was being rolled back when it stopped"),
            format!("finish the rollback with `orgform rollback {run_id}`"),
        ));
    }
    conn.lock_run(run_id);
    let mut journal = Journal::reopen_in(&conn.state, run_id).map_err(run_error)?;
    journal
        .write(&Event::Resume {
            at: now.to_string(),
            pid: std::process::id(),
        })
        .map_err(|e| CliError::caused(e.to_string(), e))?;
    // What the cut-off process learned may not have reached the store: the
    // journal has it.
    let mut store = conn.load_store()?;
    for event in &events {
        let learned = match event {
            Event::Done {
                index, executed, ..
            } => Some((index, executed)),
            Event::Assume {
                index,
                done: true,
                executed: Some(executed),
                ..
            } => Some((index, executed)),
            _ => None,
        };
        if let Some((index, executed)) = learned {
            crate::apply::record(
                &mut store,
                &plan.changes[*index],
                state.observed.get(index),
                executed,
                now.as_second(),
            );
        }
    }
    conn.save_store(&store)?;
    // Changes cut off mid-call: settle each before anything runs.
    let provider = Split {
        bot: TelegramProvider::new(conn.client.clone()),
        user: super::login::user_provider_for(&plan.changes, &conn.state_dir)?,
    };
    let settled = apply::uncertain::settle_in_flight(
        &provider,
        &plan,
        &state,
        &mut journal,
        &mut store,
        now.as_second(),
        true,
    )
    .await
    .map_err(|e| CliError::caused(e.to_string(), e))?;
    for note in &settled.notes {
        eprintln!("note: {note}");
    }
    let mut done = state.done.clone();
    done.extend(settled.done);
    let questions: Vec<String> = settled.asks.into_iter().map(|(_, q)| q).collect();
    conn.save_store(&store)?;
    if !questions.is_empty() {
        let mut message = format!(
            "run {run_id} cannot go on: {} change(s) were sent but their answers were lost, and Telegram shows no evidence either way; repeating them could create duplicates:",
            questions.len()
        );
        for q in &questions {
            message.push_str(&format!("\n  {q}"));
        }
        return Err(CliError::with_hint(
            message,
            format!(
                "record each answer with `orgform state runs {run_id} --assume done|not-done ADDRESS`, then run `orgform apply --resume {run_id}` again (or `orgform rollback {run_id}`)"
            ),
        ));
    }
    let left = plan.executable().count().saturating_sub(done.len());
    eprintln!(
        "Resuming run {run_id}: {} changes were done, {left} left.",
        done.len()
    );
    execute(
        conn,
        &plan,
        &mut journal,
        run_id,
        now,
        Prior {
            done,
            skip: Default::default(),
        },
        format,
    )
    .await
}

/// A run that cannot be read.
pub fn run_error(e: journal::JournalError) -> CliError {
    CliError::with_hint(e.to_string(), "`orgform state runs` lists the runs")
}
