//! The run journal: one JSON event per record, durable before the change
//! it describes is sent and again after its answer. It lives in the state
//! backend (one committed row per event, see `store::backend`); a
//! JSON-lines file (`<dir>/journal/<run-id>.jsonl`, 0600, fsync per line)
//! is the other medium, used by library callers and tests. It holds the
//! whole plan, so `rollback` and `apply --resume` need nothing else. The
//! token never reaches it: errors are redacted by the client before they
//! get here.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::provider::{Executed, Inverse, Observed};
use crate::plan::{Op, Plan};
use crate::store::records::Delta;
use crate::store::{Shared, StoreError};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The run begins; the plan it executes.
    Start {
        run_id: String,
        at: String,
        plan: Box<Plan>,
    },
    /// A later process picks the run up again.
    Resume { at: String, pid: u32 },
    /// About to execute change `index` (its position in the plan); what was
    /// there before.
    Before {
        index: usize,
        address: String,
        observed: Observed,
    },
    /// Change `index` succeeded; what Telegram answered and what undoes it.
    Done {
        index: usize,
        executed: Executed,
        inverse: Inverse,
    },
    /// Change `index` failed: Telegram refused it, so it did not happen.
    Failed { index: usize, error: String },
    /// Change `index` was sent but its answer was lost (dropped
    /// connection, timeout, garbage): its outcome is unknown until evidence
    /// or the operator says (an `assume` event).
    Uncertain { index: usize, error: String },
    /// Undoing began.
    RollbackStart { reason: String },
    /// About to undo change `index` with these ops.
    UndoBefore { index: usize, ops: Vec<Op> },
    /// The inverse of change `index` ran (or failed).
    Undo {
        index: usize,
        ops: Vec<Op>,
        ok: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// The operator said how an uncertain change went
    /// (`orgform state runs RUN --assume done|not-done ADDRESS`), or the
    /// evidence did (`by` names which).
    Assume {
        index: usize,
        done: bool,
        by: String,
        /// What undoes it, when it is known to be done.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        inverse: Option<Inverse>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        executed: Option<Executed>,
    },
    /// The run was stopped by a signal after the change in flight.
    Interrupted { at: String, signal: String },
    /// The run ended.
    Finish { status: RunStatus },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Every change succeeded.
    Applied,
    /// A reversible change failed and everything done was undone.
    RolledBack,
    /// A change failed and not everything could be undone, or an
    /// irreversible change failed: some of the plan is done, some is not.
    Partial,
    /// `orgform rollback` undid the run afterwards.
    Reverted,
    /// The operator gave the run up (`orgform state abandon`): it blocks
    /// nothing any more, and nothing of it runs again.
    Abandoned,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Applied => "applied",
            RunStatus::RolledBack => "rolled_back",
            RunStatus::Partial => "partial",
            RunStatus::Reverted => "reverted",
            RunStatus::Abandoned => "abandoned",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cannot write the journal {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot read the journal {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the journal {path} is damaged at line {line}: {reason}")]
    Damaged {
        path: String,
        line: usize,
        reason: String,
    },
    #[error("no run {0} in the journal directory")]
    NoSuchRun(String),
    #[error("cannot write the journal of run {run} to {backend}: {detail}")]
    Store {
        run: String,
        backend: String,
        detail: String,
    },
    #[error("no run {0} in the state")]
    NoSuchStoredRun(String),
}

impl JournalError {
    fn from_store(run: &str, backend: &Shared, e: StoreError) -> JournalError {
        match e {
            StoreError::NoSuchRun(r) => JournalError::NoSuchStoredRun(r),
            other => JournalError::Store {
                run: run.to_string(),
                backend: backend.describe(),
                detail: other.to_string(),
            },
        }
    }
}

pub struct Journal {
    sink: Sink,
}

enum Sink {
    File { file: File, path: PathBuf },
    Store { backend: Shared, run_id: String },
}

pub fn journal_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("journal")
}

pub fn journal_path(state_dir: &Path, run_id: &str) -> PathBuf {
    journal_dir(state_dir).join(format!("{run_id}.jsonl"))
}

impl Journal {
    /// A new journal for a new run.
    pub fn create(state_dir: &Path, run_id: &str) -> Result<Journal, JournalError> {
        let path = journal_path(state_dir, run_id);
        let err = |source| JournalError::Write {
            path: path.display().to_string(),
            source,
        };
        std::fs::create_dir_all(journal_dir(state_dir)).map_err(err)?;
        let mut options = OpenOptions::new();
        options.create_new(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path).map_err(err)?;
        Ok(Journal {
            sink: Sink::File { file, path },
        })
    }

    /// A new run in a state backend.
    pub fn start(
        backend: &Shared,
        run_id: &str,
        command: &str,
        started: &str,
    ) -> Result<Journal, JournalError> {
        backend
            .create_run(run_id, command, started)
            .map_err(|e| JournalError::from_store(run_id, backend, e))?;
        Ok(Journal {
            sink: Sink::Store {
                backend: backend.clone(),
                run_id: run_id.to_string(),
            },
        })
    }

    /// An existing run in a state backend, to append to.
    pub fn reopen_in(backend: &Shared, run_id: &str) -> Result<Journal, JournalError> {
        backend
            .events(run_id)
            .map_err(|e| JournalError::from_store(run_id, backend, e))?;
        Ok(Journal {
            sink: Sink::Store {
                backend: backend.clone(),
                run_id: run_id.to_string(),
            },
        })
    }

    /// An existing journal, to append to (resume, rollback).
    pub fn reopen(state_dir: &Path, run_id: &str) -> Result<Journal, JournalError> {
        let path = journal_path(state_dir, run_id);
        if !path.exists() {
            return Err(JournalError::NoSuchRun(run_id.to_string()));
        }
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|source| JournalError::Write {
                path: path.display().to_string(),
                source,
            })?;
        Ok(Journal {
            sink: Sink::File { file, path },
        })
    }

    /// Journal into a file that is already open (another medium, or a
    /// device that refuses writes in tests).
    pub fn from_file(file: File, path: PathBuf) -> Journal {
        Journal {
            sink: Sink::File { file, path },
        }
    }

    /// Write one event and make it durable before returning.
    pub fn write(&mut self, event: &Event) -> Result<(), JournalError> {
        match &mut self.sink {
            Sink::File { file, path } => {
                let mut line = serde_json::to_vec(event).expect("events serialise");
                line.push(b'\n');
                let err = |source| JournalError::Write {
                    path: path.display().to_string(),
                    source,
                };
                file.write_all(&line).map_err(err)?;
                file.sync_data().map_err(err)
            }
            Sink::Store { backend, run_id } => {
                let text = serde_json::to_string(event).expect("events serialise");
                let status = match event {
                    Event::Finish { status } => Some(Some(status.as_str())),
                    Event::Resume { .. } => Some(None),
                    _ => None,
                };
                backend
                    .append(run_id, &text, status)
                    .map_err(|e| JournalError::from_store(run_id, backend, e))
            }
        }
    }

    /// Write one event together with what its change taught the store
    /// (`delta`): in a state backend, in one transaction; in a journal
    /// file, the event alone (the caller's checkpoint writes the store).
    pub fn write_with(&mut self, event: &Event, delta: &Delta) -> Result<(), JournalError> {
        match &mut self.sink {
            Sink::Store { backend, run_id } if !delta.is_empty() => {
                let text = serde_json::to_string(event).expect("events serialise");
                backend
                    .append_with(run_id, &text, delta)
                    .map_err(|e| JournalError::from_store(run_id, backend, e))
            }
            _ => self.write(event),
        }
    }

    /// The backend is living on its reserve of disk space: what is written
    /// now lands, but no new change may start.
    pub fn space_low(&self) -> bool {
        match &self.sink {
            Sink::File { .. } => false,
            Sink::Store { backend, .. } => backend.space_low(),
        }
    }

    /// Where the journal is, for messages.
    pub fn location(&self) -> String {
        match &self.sink {
            Sink::File { path, .. } => path.display().to_string(),
            Sink::Store { backend, run_id } => format!("run {run_id} in {}", backend.describe()),
        }
    }
}

/// Every event of a run kept in a state backend, and warnings (a torn last
/// record, which is ignored: it was never made durable).
pub fn read_in(backend: &Shared, run_id: &str) -> Result<(Vec<Event>, Vec<String>), JournalError> {
    let raw = backend
        .events(run_id)
        .map_err(|e| JournalError::from_store(run_id, backend, e))?;
    let mut events = Vec::new();
    let mut warnings = Vec::new();
    let last = raw.len();
    for (i, text) in raw.iter().enumerate() {
        match serde_json::from_str(text) {
            Ok(e) => events.push(e),
            Err(e) if i + 1 == last => warnings.push(format!(
                "warning: the last journal record of run {run_id} is torn ({e}); it was never made durable and is ignored"
            )),
            Err(e) => {
                return Err(JournalError::Damaged {
                    path: format!("run {run_id} in {}", backend.describe()),
                    line: i + 1,
                    reason: e.to_string(),
                });
            }
        }
    }
    Ok((events, warnings))
}

/// Every event of a run, in order. A torn last line (the process died while
/// writing it) is ignored: it was never made durable.
pub fn read(state_dir: &Path, run_id: &str) -> Result<Vec<Event>, JournalError> {
    let path = journal_path(state_dir, run_id);
    if !path.exists() {
        return Err(JournalError::NoSuchRun(run_id.to_string()));
    }
    let file = File::open(&path).map_err(|source| JournalError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let lines: Vec<String> = std::io::BufReader::new(file)
        .lines()
        .collect::<Result<_, _>>()
        .map_err(|source| JournalError::Read {
            path: path.display().to_string(),
            source,
        })?;
    let mut events = Vec::new();
    let last = lines.len();
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(line) {
            Ok(e) => events.push(e),
            Err(_) if i + 1 == last => break,
            Err(e) => {
                return Err(JournalError::Damaged {
                    path: path.display().to_string(),
                    line: i + 1,
                    reason: e.to_string(),
                });
            }
        }
    }
    Ok(events)
}

/// Run ids sort by time: `20261127T120000Z-4f2a`.
pub fn new_run_id(now: jiff::Timestamp) -> String {
    let stamp = now.strftime("%Y%m%dT%H%M%SZ").to_string();
    format!("{stamp}-{:04x}", rand::random::<u16>())
}
