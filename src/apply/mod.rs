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
pub mod lock;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use crate::plan::{Action, Change, Phase, Plan};
use crate::store::Store;
use crate::telegram::execute::{self, Executed, Inverse, Observed, Provider};

pub use journal::{Event, Journal, RunStatus};

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
    /// Executable changes that did not run because the run stopped.
    pub not_run: Vec<usize>,
    /// Manual actions in the plan (never executed).
    pub manual: Vec<usize>,
    /// Things worth telling (an invite not delivered, a "not modified").
    pub notes: Vec<String>,
    pub status: Option<RunStatus>,
}

impl Report {
    pub fn status(&self) -> RunStatus {
        self.status.unwrap_or(RunStatus::Applied)
    }
}

/// Work already done in this run (when resuming).
#[derive(Clone, Debug, Default)]
pub struct Prior {
    /// Done changes with their inverses, in completion order.
    pub done: Vec<(usize, Inverse)>,
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
    /// Told about every change as it finishes (the CLI's progress bar).
    progress: &'a (dyn Fn(&Change) + Sync),
}

impl<'a, P: Provider> Shared<'a, P> {
    fn new(
        provider: &'a P,
        plan: &'a Plan,
        journal: &'a mut Journal,
        store: &'a mut Store,
        now: i64,
        done: Vec<(usize, Inverse)>,
        progress: &'a (dyn Fn(&Change) + Sync),
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
            progress,
        }
    }

    fn journal(&self, event: &Event) -> Result<(), String> {
        self.journal
            .lock()
            .expect("journal lock")
            .write(event)
            .map_err(|e| e.to_string())
    }

    fn fail(&self, index: usize, error: String) {
        self.stop.store(true, Ordering::SeqCst);
        let mut f = self.failure.lock().expect("failure lock");
        if f.is_none() {
            *f = Some((index, error));
        }
    }

    /// Run one change: observe, journal, execute, journal, remember.
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
        match self.provider.execute(change).await {
            Ok(executed) => {
                let inverse = self.provider.inverse(change, &observed, &executed);
                self.remember(index, change, &observed, &executed);
                (self.progress)(change);
                let written = self.journal(&Event::Done {
                    index,
                    executed,
                    inverse: inverse.clone(),
                });
                self.done.lock().expect("done lock").push((index, inverse));
                if let Err(e) = written {
                    // The change ran but its record did not reach the disk:
                    // stop before anything else runs.
                    self.fail(index, format!("executed, but {e}"));
                    return false;
                }
                true
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

    fn remember(&self, index: usize, change: &Change, observed: &Observed, executed: &Executed) {
        let _ = index;
        execute::record(
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
/// in memory; the caller saves it.
#[allow(clippy::too_many_arguments)] // each is a distinct input of one run
pub async fn run<P: Provider>(
    provider: &P,
    plan: &Plan,
    journal: &mut Journal,
    store: &mut Store,
    now: i64,
    parallel_chats: usize,
    prior: Prior,
    progress: &(dyn Fn(&Change) + Sync),
) -> Report {
    let skip: BTreeSet<usize> = prior.done.iter().map(|(i, _)| *i).collect();
    let shared = Shared::new(provider, plan, journal, store, now, prior.done, progress);
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
                    if shared.stop.load(Ordering::SeqCst) || !shared.one(i).await {
                        break;
                    }
                }
            }
        });
        futures_util::future::join_all(work).await;
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
    }

    if shared.stop.load(Ordering::SeqCst) {
        let (index, error) = shared
            .failure
            .lock()
            .expect("failure lock")
            .clone()
            .expect("a stop has a failure");
        let _ = shared.journal(&Event::RollbackStart {
            reason: format!("{} failed: {error}", plan.changes[index].address),
        });
        let done = std::mem::take(&mut *shared.done.lock().expect("done lock"));
        let (rolled_back, errors) = undo_all(&shared, done).await;
        report.rolled_back = rolled_back;
        report.rollback_errors = errors;
        report.failed = Some((index, error));
        report.status = Some(if report.rollback_errors.is_empty() {
            RunStatus::RolledBack
        } else {
            RunStatus::Partial
        });
    } else {
        // Irreversible phase, one change at a time.
        for (i, c) in plan.changes.iter().enumerate() {
            if c.action == Action::Manual || c.phase() != Phase::Irreversible || skip.contains(&i) {
                continue;
            }
            if !shared.one(i).await {
                report.failed = shared.failure.lock().expect("failure lock").clone();
                report.status = Some(RunStatus::Partial);
                break;
            }
        }
    }
    let done: BTreeSet<usize> = shared
        .done
        .lock()
        .expect("done lock")
        .iter()
        .map(|(i, _)| *i)
        .collect();
    report.applied = shared
        .done
        .lock()
        .expect("done lock")
        .iter()
        .map(|(i, _)| *i)
        .filter(|i| !skip.contains(i))
        .collect();
    report.not_run = plan
        .changes
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            c.action != Action::Manual
                && !done.contains(i)
                && !report.rolled_back.contains(i)
                && report.failed.as_ref().is_none_or(|f| f.0 != *i)
        })
        .filter(|(i, _)| !skip.contains(i))
        .map(|(i, _)| i)
        .collect();
    if report.status.is_none() {
        report.status = Some(RunStatus::Applied);
    }
    report.notes = std::mem::take(&mut *shared.notes.lock().expect("notes lock"));
    let _ = shared.journal(&Event::Finish {
        status: report.status(),
    });
    report
}

/// Undo done changes in reverse order of completion. Returns the indices
/// undone and the undo steps that failed.
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
        let mut ok = true;
        let mut error = None;
        for change in inverse.changes(original) {
            if let Err(e) = shared.provider.execute(&change).await {
                ok = false;
                error = Some(e.to_string());
                break;
            }
            let executed = Executed {
                answer: execute::Answer::Done,
                not_modified: false,
                calls: vec![],
                notes: vec![],
            };
            execute::record(
                &mut shared.store.lock().expect("store lock"),
                &change,
                None,
                &executed,
                shared.now,
            );
        }
        let ops = match &inverse {
            Inverse::Ops { ops } => ops.clone(),
            Inverse::Irreversible { .. } => vec![],
        };
        let _ = shared.journal(&Event::Undo {
            index,
            ops,
            ok,
            error: error.clone(),
        });
        if ok {
            undone.push(index);
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

/// `orgform rollback`: undo the reversible changes a finished run did, in
/// reverse order. Irreversible ones are returned for the report.
pub async fn rollback<P: Provider>(
    provider: &P,
    plan: &Plan,
    journal: &mut Journal,
    store: &mut Store,
    now: i64,
    done: Vec<(usize, Inverse)>,
) -> Report {
    let shared = Shared::new(provider, plan, journal, store, now, Vec::new(), &|_| {});
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
        ..Report::default()
    };
    report.not_run = irreversible.into_iter().map(|(i, _)| i).collect();
    report.status = Some(if report.rollback_errors.is_empty() {
        RunStatus::Reverted
    } else {
        RunStatus::Partial
    });
    let _ = shared.journal(&Event::Finish {
        status: report.status(),
    });
    report
}

/// What a journal says about a run.
#[derive(Debug, Default)]
pub struct JournalState {
    pub plan: Option<Plan>,
    /// Done changes (not undone since), in completion order.
    pub done: Vec<(usize, Inverse)>,
    /// Started but never confirmed: the process died during the call.
    pub in_flight: Vec<usize>,
    pub finished: Option<RunStatus>,
}

pub fn replay(events: &[Event]) -> JournalState {
    let mut state = JournalState::default();
    let mut started: BTreeSet<usize> = BTreeSet::new();
    for e in events {
        match e {
            Event::Start { plan, .. } => state.plan = Some((**plan).clone()),
            Event::Before { index, .. } => {
                started.insert(*index);
            }
            Event::Done { index, inverse, .. } => {
                started.remove(index);
                state.done.push((*index, inverse.clone()));
            }
            Event::Failed { index, .. } => {
                started.remove(index);
            }
            Event::Undo {
                index, ok: true, ..
            } => state.done.retain(|(i, _)| i != index),
            Event::Finish { status } => state.finished = Some(*status),
            Event::Resume { .. } => state.finished = None,
            _ => {}
        }
    }
    state.in_flight = started.into_iter().collect();
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
