//! The applier: execute a plan through a [`Provider`], journaling every
//! change before and after it runs, and undo what was done when a
//! reversible change fails (DESIGN §5).
//!
//! - Reversible phase: chats run concurrently, each chat's changes in plan
//!   order. The first failure stops every chat at its next change; then
//!   everything done is undone in reverse order of completion.
//! - Irreversible phase: only after every reversible change succeeded, one
//!   change at a time; a failure stops the run and the report says what is
//!   done and what is left. Nothing is silently skipped.
//! - A journal line that cannot be written stops the run before the change
//!   it describes.

pub mod journal;
pub mod provider;
pub mod stale;
pub mod uncertain;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use crate::plan::{Action, Change, Op, Phase, Plan};
use crate::store::Store;
use provider::{Executed, Inverse, Observed};

pub use journal::{Event, Journal, RunStatus};
pub use provider::{
    Answer, Evidence, MemberSnapshot, Provider, ProviderError, inverse, personal_invite_key, record,
};
pub use uncertain::{Resolution, repeatable, resolve};

/// What a run did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    /// Plan indices applied, in completion order.
    pub applied: Vec<usize>,
    /// The change that failed, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<(usize, String)>,
    /// Plan indices whose changes were undone.
    pub rolled_back: Vec<usize>,
    /// Undo steps that failed: the rollback is incomplete.
    pub rollback_errors: Vec<(usize, String)>,
    /// Changes whose call was sent but whose outcome is unknown, with what
    /// the operator must check.
    pub uncertain: Vec<(usize, String)>,
    /// Done changes the journal could not record (the disk was full, the
    /// database went away): the report is the only record of them.
    pub unjournaled: Vec<usize>,
    /// Executable changes that did not run because the run stopped.
    pub not_run: Vec<usize>,
    /// Manual actions in the plan (never executed).
    pub manual: Vec<usize>,
    /// Things worth telling (an invite not delivered, a "not modified").
    pub notes: Vec<String>,
    /// Stopped by SIGINT or SIGTERM after the change in flight; the run is
    /// unfinished and `apply --resume` continues it.
    pub interrupted: bool,
    /// Why the journal could not be written, when it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub journal_error: Option<String>,
    pub status: Option<RunStatus>,
}

impl Report {
    pub fn status(&self) -> RunStatus {
        self.status.unwrap_or(RunStatus::Applied)
    }

    /// Whether every change of the run is known (done, undone or not run).
    pub fn all_known(&self) -> bool {
        self.uncertain.is_empty()
    }
}

/// Work already done in this run (when resuming).
#[derive(Clone, Debug, Default)]
pub struct Prior {
    /// Done changes with their inverses, in completion order.
    pub done: Vec<(usize, Inverse)>,
    /// Changes known not to have happened, or that must not run again.
    pub skip: BTreeSet<usize>,
}

fn no_progress(_: &Change) {}
fn no_checkpoint(_: &Store) -> Result<(), String> {
    Ok(())
}
static NEVER: AtomicBool = AtomicBool::new(false);

/// What the caller hooks into a run.
pub struct Hooks<'a> {
    /// Told about every change as it finishes (the CLI's progress bar).
    pub progress: &'a (dyn Fn(&Change) + Sync),
    /// Called with the store after each change is remembered, to make what
    /// was learned durable at once. An error stops the run like a failed
    /// journal write.
    pub checkpoint: &'a (dyn Fn(&Store) -> Result<(), String> + Sync),
    /// Set by a signal handler: stop after the change in flight.
    pub interrupted: &'a AtomicBool,
}

impl Hooks<'static> {
    pub fn none() -> Hooks<'static> {
        Hooks {
            progress: &no_progress,
            checkpoint: &no_checkpoint,
            interrupted: &NEVER,
        }
    }
}

struct Shared<'a, P> {
    provider: &'a P,
    plan: &'a Plan,
    journal: Mutex<&'a mut Journal>,
    store: Mutex<&'a mut Store>,
    now: i64,
    stop: AtomicBool,
    done: Mutex<Vec<(usize, Inverse)>>,
    failure: Mutex<Option<(usize, String)>>,
    notes: Mutex<Vec<String>>,
    uncertain: Mutex<Vec<(usize, String)>>,
    unjournaled: Mutex<Vec<usize>>,
    journal_error: Mutex<Option<String>>,
    hooks: &'a Hooks<'a>,
}

impl<'a, P: Provider> Shared<'a, P> {
    fn new(
        provider: &'a P,
        plan: &'a Plan,
        journal: &'a mut Journal,
        store: &'a mut Store,
        now: i64,
        done: Vec<(usize, Inverse)>,
        hooks: &'a Hooks<'a>,
    ) -> Self {
        Shared {
            provider,
            plan,
            journal: Mutex::new(journal),
            store: Mutex::new(store),
            now,
            stop: AtomicBool::new(false),
            done: Mutex::new(done),
            failure: Mutex::new(None),
            notes: Mutex::new(Vec::new()),
            uncertain: Mutex::new(Vec::new()),
            unjournaled: Mutex::new(Vec::new()),
            journal_error: Mutex::new(None),
            hooks,
        }
    }

    fn journal(&self, event: &Event) -> Result<(), String> {
        self.journal_with(event, &crate::store::records::Delta::default())
    }

    /// [`Self::journal`], with the store rows the event's change recorded
    /// written in the same transaction.
    fn journal_with(
        &self,
        event: &Event,
        delta: &crate::store::records::Delta,
    ) -> Result<(), String> {
        let written = self
            .journal
            .lock()
            .expect("journal lock")
            .write_with(event, delta)
            .map_err(|e| e.to_string());
        if let Err(e) = &written {
            let mut first = self.journal_error.lock().expect("journal error lock");
            if first.is_none() {
                *first = Some(e.clone());
            }
        }
        written
    }

    fn fail(&self, index: usize, error: String) {
        self.stop.store(true, Ordering::SeqCst);
        let mut f = self.failure.lock().expect("failure lock");
        if f.is_none() {
            *f = Some((index, error));
        }
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst) || self.hooks.interrupted.load(Ordering::SeqCst)
    }

    /// Run one change: observe, journal the intent, execute, journal the
    /// outcome, remember.
    async fn one(&self, index: usize) -> bool {
        let change = &self.plan.changes[index];
        let observed = match self.provider.observe_before(change).await {
            Ok(o) => o,
            Err(e) => {
                let error = format!("reading {} before changing it: {e}", change.address);
                let _ = self.journal(&Event::Failed {
                    index,
                    error: error.clone(),
                });
                self.fail(index, error);
                return false;
            }
        };
        if let Err(e) = self.journal(&Event::Before {
            index,
            address: change.address.to_string(),
            observed: observed.clone(),
        }) {
            self.fail(index, format!("not executed: {e}"));
            return false;
        }
        if self.space_low() {
            let error = "not executed: the disk holding the state is full".to_string();
            let _ = self.journal(&Event::Failed {
                index,
                error: error.clone(),
            });
            self.fail(index, error);
            return false;
        }
        match self.provider.execute(change).await {
            Ok(executed) => self.finished(index, change, &observed, executed),
            Err(e) if e.outcome_unknown() => {
                let error = e.to_string();
                let _ = self.journal(&Event::Uncertain {
                    index,
                    error: error.clone(),
                });
                // Find out what happened before anything else runs.
                let resolution = resolve(self.provider, change, index, &observed).await;
                match resolution {
                    Resolution::Done { executed, by } => {
                        let inverse = self.provider.inverse(change, &observed, &executed);
                        self.remember(change, &observed, &executed);
                        let _ = self.journal(&Event::Assume {
                            index,
                            done: true,
                            by,
                            inverse: Some(inverse.clone()),
                            executed: Some(executed),
                        });
                        self.done.lock().expect("done lock").push((index, inverse));
                    }
                    Resolution::NotDone { by } => {
                        let _ = self.journal(&Event::Assume {
                            index,
                            done: false,
                            by,
                            inverse: None,
                            executed: None,
                        });
                    }
                    Resolution::Ask { question } => {
                        self.uncertain
                            .lock()
                            .expect("uncertain lock")
                            .push((index, question));
                    }
                }
                self.fail(index, format!("the answer was lost: {error}"));
                false
            }
            Err(e) => {
                let error = e.to_string();
                let _ = self.journal(&Event::Failed {
                    index,
                    error: error.clone(),
                });
                self.fail(index, error);
                false
            }
        }
    }

    fn finished(
        &self,
        index: usize,
        change: &Change,
        observed: &Observed,
        executed: Executed,
    ) -> bool {
        let inverse = self.provider.inverse(change, observed, &executed);
        self.remember(change, observed, &executed);
        (self.hooks.progress)(change);
        // A folder's record (its id and link) is written with the journal
        // step itself, in one transaction where the journal is in the state
        // backend: a later plan finds the folder by it, never by a guess.
        let recorded = match &change.op {
            Op::CreateFolder { key, .. }
            | Op::EditFolder { key, .. }
            | Op::DeleteFolder { key, .. } => Some(crate::store::records::folder_delta(
                &self.store.lock().expect("store lock"),
                key,
            )),
            _ => None,
        };
        let done = Event::Done {
            index,
            executed,
            inverse: inverse.clone(),
        };
        let written = match &recorded {
            Some(delta) => self.journal_with(&done, delta),
            None => self.journal(&done),
        };
        self.done.lock().expect("done lock").push((index, inverse));
        let saved = {
            let store = self.store.lock().expect("store lock");
            (self.hooks.checkpoint)(&store)
        };
        if let Err(e) = written {
            // The change ran but its record did not become durable: stop
            // before anything else runs, and say so in the report.
            self.unjournaled
                .lock()
                .expect("unjournaled lock")
                .push(index);
            self.fail(index, format!("executed, but {e}"));
            return false;
        }
        if let Err(e) = saved {
            self.fail(
                index,
                format!("executed, but the state could not be saved: {e}"),
            );
            return false;
        }
        if self.space_low() {
            self.fail(
                index,
                "executed; then the disk holding the state filled up, so the run stops here"
                    .to_string(),
            );
            return false;
        }
        true
    }

    fn space_low(&self) -> bool {
        self.journal.lock().expect("journal lock").space_low()
    }

    fn remember(&self, change: &Change, observed: &Observed, executed: &Executed) {
        provider::record(
            &mut self.store.lock().expect("store lock"),
            change,
            Some(observed),
            executed,
            self.now,
        );
        let mut notes = self.notes.lock().expect("notes lock");
        for n in &executed.notes {
            notes.push(format!("{}: {n}", change.address));
        }
    }
}

/// Execute `plan`, skipping what `prior` already did. The store is updated
/// in memory and handed to `hooks.checkpoint` after every change.
#[allow(clippy::too_many_arguments)] // each is a distinct input of one run
pub async fn run<P: Provider>(
    provider: &P,
    plan: &Plan,
    journal: &mut Journal,
    store: &mut Store,
    now: i64,
    parallel_chats: usize,
    prior: Prior,
    hooks: &Hooks<'_>,
) -> Report {
    let mut skip: BTreeSet<usize> = prior.done.iter().map(|(i, _)| *i).collect();
    skip.extend(prior.skip.iter().copied());
    let shared = Shared::new(provider, plan, journal, store, now, prior.done, hooks);
    let mut report = Report {
        manual: plan
            .changes
            .iter()
            .enumerate()
            .filter(|(_, c)| c.action == Action::Manual)
            .map(|(i, _)| i)
            .collect(),
        ..Report::default()
    };

    // Reversible phase: per chat in order, chats concurrently.
    let mut per_chat: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, c) in plan.changes.iter().enumerate() {
        if c.action != Action::Manual && c.phase() == Phase::Reversible && !skip.contains(&i) {
            per_chat.entry(c.chat.as_str()).or_default().push(i);
        }
    }
    let chats: Vec<Vec<usize>> = per_chat.into_values().collect();
    for batch in chats.chunks(parallel_chats.max(1)) {
        let work = batch.iter().map(|indices| {
            let shared = &shared;
            async move {
                for &i in indices {
                    if shared.stopping() || !shared.one(i).await {
                        break;
                    }
                }
            }
        });
        futures_util::future::join_all(work).await;
        if shared.stopping() {
            break;
        }
    }

    let failed = shared.failure.lock().expect("failure lock").clone();
    if let Some((index, error)) = failed
        .clone()
        .filter(|_| shared.stop.load(Ordering::SeqCst))
    {
        let _ = shared.journal(&Event::RollbackStart {
            reason: format!("{} failed: {error}", plan.changes[index].address),
        });
        let done = std::mem::take(&mut *shared.done.lock().expect("done lock"));
        let (rolled_back, errors) = undo_all(&shared, done).await;
        report.rolled_back = rolled_back;
        report.rollback_errors = errors;
        report.failed = Some((index, error));
    } else if !hooks.interrupted.load(Ordering::SeqCst) {
        // Irreversible phase, one change at a time.
        for (i, c) in plan.changes.iter().enumerate() {
            if c.action == Action::Manual || c.phase() != Phase::Irreversible || skip.contains(&i) {
                continue;
            }
            if hooks.interrupted.load(Ordering::SeqCst) {
                break;
            }
            if !shared.one(i).await {
                report.failed = shared.failure.lock().expect("failure lock").clone();
                break;
            }
        }
    }
    report.uncertain = std::mem::take(&mut *shared.uncertain.lock().expect("uncertain lock"));
    report.unjournaled = std::mem::take(&mut *shared.unjournaled.lock().expect("unjournaled"));
    let done_now = shared.done.lock().expect("done lock").clone();
    let done: BTreeSet<usize> = done_now.iter().map(|(i, _)| *i).collect();
    report.applied = done_now
        .iter()
        .map(|(i, _)| *i)
        .filter(|i| !skip.contains(i))
        .collect();
    let uncertain: BTreeSet<usize> = report.uncertain.iter().map(|(i, _)| *i).collect();
    report.not_run = plan
        .changes
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            c.action != Action::Manual
                && !done.contains(i)
                && !report.rolled_back.contains(i)
                // Ran, and could not be undone (a chat creation): not
                // "not run".
                && !report.rollback_errors.iter().any(|(j, _)| j == i)
                && !uncertain.contains(i)
                && report.failed.as_ref().is_none_or(|f| f.0 != *i)
        })
        .filter(|(i, _)| !skip.contains(i))
        .map(|(i, _)| i)
        .collect();
    report.notes = std::mem::take(&mut *shared.notes.lock().expect("notes lock"));
    let interrupted = hooks.interrupted.load(Ordering::SeqCst);
    if interrupted && report.failed.is_none() {
        // Unfinished on purpose: `apply --resume` continues it.
        report.interrupted = true;
        let _ = shared.journal(&Event::Interrupted {
            at: jiff::Timestamp::from_second(now)
                .map(|t| t.to_string())
                .unwrap_or_default(),
            signal: "interrupt".into(),
        });
    } else {
        let status = match &report.failed {
            None => RunStatus::Applied,
            Some((i, _)) if plan.changes[*i].phase() == Phase::Reversible => {
                if report.rollback_errors.is_empty() && report.all_known() {
                    RunStatus::RolledBack
                } else {
                    RunStatus::Partial
                }
            }
            Some(_) => RunStatus::Partial,
        };
        report.status = Some(status);
        // A run with an unknown outcome stays unfinished: nothing may run
        // on top of it until the operator answers.
        if report.all_known() {
            let _ = shared.journal(&Event::Finish { status });
        }
    }
    report.journal_error = shared.journal_error.lock().expect("journal error").clone();
    report
}

/// Undo done changes in reverse order of completion, each journaled
/// before its call and after. Returns the indices undone and the undo
/// steps that failed (or could not be journaled, so did not run).
async fn undo_all<P: Provider>(
    shared: &Shared<'_, P>,
    done: Vec<(usize, Inverse)>,
) -> (Vec<usize>, Vec<(usize, String)>) {
    let mut undone = Vec::new();
    let mut errors = Vec::new();
    for (index, inverse) in done.into_iter().rev() {
        let original = &shared.plan.changes[index];
        match &inverse {
            Inverse::Irreversible { reason } => {
                errors.push((
                    index,
                    format!("{} cannot be undone: {reason}", original.address),
                ));
                continue;
            }
            Inverse::Ops { ops } if ops.is_empty() => {
                undone.push(index);
                continue;
            }
            Inverse::Ops { .. } => {}
        }
        let ops = match &inverse {
            Inverse::Ops { ops } => ops.clone(),
            Inverse::Irreversible { .. } => vec![],
        };
        if let Err(e) = shared.journal(&Event::UndoBefore {
            index,
            ops: ops.clone(),
        }) {
            // The intent is not durable: do not call. The journal still
            // says the change is done, so `orgform rollback RUN` undoes it
            // once the journal can be written again.
            errors.push((
                index,
                format!("not undone, because the journal cannot be written: {e}"),
            ));
            continue;
        }
        let mut ok = true;
        let mut error = None;
        for change in inverse.changes(original) {
            if let Err(e) = shared.provider.execute(&change).await {
                ok = false;
                error = Some(e.to_string());
                break;
            }
            let executed = Executed {
                answer: provider::Answer::Done,
                not_modified: false,
                calls: vec![],
                notes: vec![],
            };
            provider::record(
                &mut shared.store.lock().expect("store lock"),
                &change,
                None,
                &executed,
                shared.now,
            );
        }
        let written = shared.journal(&Event::Undo {
            index,
            ops,
            ok,
            error: error.clone(),
        });
        {
            let store = shared.store.lock().expect("store lock");
            let _ = (shared.hooks.checkpoint)(&store);
        }
        if ok {
            undone.push(index);
            if written.is_err() {
                shared
                    .unjournaled
                    .lock()
                    .expect("unjournaled lock")
                    .push(index);
            }
        } else {
            errors.push((
                index,
                format!(
                    "undoing {}: {}",
                    original.address,
                    error.unwrap_or_default()
                ),
            ));
        }
    }
    (undone, errors)
}

/// `orgform rollback`: undo the reversible changes a run did, in reverse
/// order. Irreversible ones are returned for the report; `uncertain` are
/// the changes whose outcome nobody knows (the rollback is then incomplete).
#[allow(clippy::too_many_arguments)] // each is a distinct input of one rollback
pub async fn rollback<P: Provider>(
    provider: &P,
    plan: &Plan,
    journal: &mut Journal,
    store: &mut Store,
    now: i64,
    done: Vec<(usize, Inverse)>,
    uncertain: Vec<(usize, String)>,
    hooks: &Hooks<'_>,
) -> Report {
    let shared = Shared::new(provider, plan, journal, store, now, Vec::new(), hooks);
    let _ = shared.journal(&Event::RollbackStart {
        reason: "orgform rollback".into(),
    });
    let (reversible, irreversible): (Vec<_>, Vec<_>) = done.into_iter().partition(|(i, inv)| {
        plan.changes[*i].reversible && !matches!(inv, Inverse::Irreversible { .. })
    });
    let (rolled_back, errors) = undo_all(&shared, reversible).await;
    let mut report = Report {
        rolled_back,
        rollback_errors: errors,
        uncertain,
        ..Report::default()
    };
    report.unjournaled = std::mem::take(&mut *shared.unjournaled.lock().expect("unjournaled"));
    report.not_run = irreversible.into_iter().map(|(i, _)| i).collect();
    let status = if report.rollback_errors.is_empty() && report.all_known() {
        RunStatus::Reverted
    } else {
        RunStatus::Partial
    };
    report.status = Some(status);
    if report.all_known() {
        let _ = shared.journal(&Event::Finish { status });
    }
    report.journal_error = shared.journal_error.lock().expect("journal error").clone();
    report
}

/// What a journal says about a run.
#[derive(Debug, Default)]
pub struct JournalState {
    pub plan: Option<Plan>,
    pub run_id: Option<String>,
    /// Done changes (not undone since), in completion order.
    pub done: Vec<(usize, Inverse)>,
    /// Started but never confirmed: the call was sent (or was about to be)
    /// and its answer never recorded. Their outcome is unknown.
    pub in_flight: Vec<usize>,
    /// What each started change found before it ran.
    pub observed: BTreeMap<usize, Observed>,
    /// Changes known not to have happened (failed, or the operator or the
    /// evidence said so).
    pub not_done: BTreeSet<usize>,
    /// Undo steps started but never confirmed.
    pub undo_in_flight: Vec<usize>,
    pub finished: Option<RunStatus>,
    /// Stopped by a signal (and not resumed since).
    pub interrupted: bool,
}

impl JournalState {
    /// Whether the run still needs a resume, a rollback or an abandon
    /// before another apply may run.
    pub fn unfinished(&self) -> bool {
        self.finished.is_none() || !self.in_flight.is_empty()
    }
}

pub fn replay(events: &[Event]) -> JournalState {
    let mut state = JournalState::default();
    let mut started: BTreeSet<usize> = BTreeSet::new();
    let mut undoing: BTreeSet<usize> = BTreeSet::new();
    for e in events {
        match e {
            Event::Start { plan, run_id, .. } => {
                state.plan = Some((**plan).clone());
                state.run_id = Some(run_id.clone());
            }
            Event::Before {
                index, observed, ..
            } => {
                started.insert(*index);
                state.not_done.remove(index);
                state.observed.insert(*index, observed.clone());
            }
            Event::Done { index, inverse, .. } => {
                started.remove(index);
                state.done.push((*index, inverse.clone()));
            }
            Event::Failed { index, .. } => {
                started.remove(index);
                state.not_done.insert(*index);
            }
            Event::Uncertain { .. } => {}
            Event::Assume {
                index,
                done,
                inverse,
                ..
            } => {
                started.remove(index);
                if *done {
                    let inverse = inverse.clone().unwrap_or(Inverse::Irreversible {
                        reason: "the operator said it happened; what undoes it is not known".into(),
                    });
                    state.done.retain(|(i, _)| i != index);
                    state.done.push((*index, inverse));
                } else {
                    state.not_done.insert(*index);
                }
            }
            Event::UndoBefore { index, .. } => {
                undoing.insert(*index);
            }
            Event::Undo { index, ok, .. } => {
                undoing.remove(index);
                if *ok {
                    state.done.retain(|(i, _)| i != index);
                }
            }
            Event::Interrupted { .. } => state.interrupted = true,
            Event::Finish { status } => state.finished = Some(*status),
            Event::Resume { .. } => {
                state.finished = None;
                state.interrupted = false;
            }
            Event::RollbackStart { .. } => {}
        }
    }
    state.in_flight = started.into_iter().collect();
    state.undo_in_flight = undoing.into_iter().collect();
    state
}

/// Advice for an irreversible change that rollback cannot undo.
pub fn manual_undo(change: &Change) -> String {
    use crate::plan::Op;
    match &change.op {
        Op::Kick { .. } | Op::Ban { .. } => format!(
            "{}: unban the person (orgform does it on the next apply if the config declares them) and send them an invite link",
            change.address
        ),
        Op::RevokeInviteLink { .. } => format!(
            "{}: a revoked link cannot come back; declare a new link and apply",
            change.address
        ),
        Op::DeleteTopic { .. } => format!(
            "{}: the topic and its messages are gone; declare it again to create an empty one",
            change.address
        ),
        _ => format!("{}: cannot be undone by orgform", change.address),
    }
}
