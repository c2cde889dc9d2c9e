//! The run journal: `<state-dir>/journal/<run-id>.jsonl`, mode 0600, one
//! JSON event per line, fsynced before the change it describes runs and
//! again after. It holds the whole plan, so `rollback` and `apply --resume`
//! need nothing else. The token never reaches it: errors are redacted by the
//! client before they get here.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::plan::{Op, Plan};
use crate::telegram::execute::{Executed, Inverse, Observed};

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
    /// Change `index` failed.
    Failed { index: usize, error: String },
    /// Undoing began.
    RollbackStart { reason: String },
    /// The inverse of change `index` ran (or failed).
    Undo {
        index: usize,
        ops: Vec<Op>,
        ok: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
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
}

pub struct Journal {
    file: File,
    path: PathBuf,
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
        Ok(Journal { file, path })
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
        Ok(Journal { file, path })
    }

    /// Journal into a file that is already open (another medium, or a
    /// device that refuses writes in tests).
    pub fn from_file(file: File, path: PathBuf) -> Journal {
        Journal { file, path }
    }

    /// Write one event and make it durable before returning.
    pub fn write(&mut self, event: &Event) -> Result<(), JournalError> {
        let mut line = serde_json::to_vec(event).expect("events serialise");
        line.push(b'\n');
        let err = |source| JournalError::Write {
            path: self.path.display().to_string(),
            source,
        };
        self.file.write_all(&line).map_err(err)?;
        self.file.sync_data().map_err(err)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
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
