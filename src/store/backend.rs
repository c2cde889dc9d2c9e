//! The one state boundary: what a backend must do, whichever database
//! holds the rows. Everything orgform remembers goes through [`Backend`]:
//! store records and the member ledger with the update offset (merged
//! transactionally, see `store::records`), run journals (one durable row
//! per event), and the workspace lock with its named holder.
//!
//! The interface is synchronous: the applier writes a journal event before
//! every call and must not go on until it is durable, so there is nothing
//! to overlap. The PostgreSQL backend runs its async driver on a thread of
//! its own behind this interface.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::Store;
use super::records::Delta;

/// Who holds a workspace lock. Printed in every refusal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub command: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    pub host: String,
    pub pid: u32,
    pub started: String,
    /// The holder process's start time (Linux `/proc/PID/stat` field 22),
    /// so a reused pid is not taken for the crashed holder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proc_start: Option<u64>,
}

impl Holder {
    /// This process, running `command`.
    pub fn me(command: &str, started: jiff::Timestamp) -> Holder {
        let pid = std::process::id();
        Holder {
            command: command.to_string(),
            run_id: None,
            host: host_name(),
            pid,
            started: started.to_string(),
            proc_start: proc_start(pid),
        }
    }

    /// Whether the holder surely no longer runs: same host, and no process
    /// with that pid and start time. On another host nobody can tell, so it
    /// counts as alive (`orgform state unlock --force` exists for that).
    pub fn crashed(&self) -> bool {
        if self.host != host_name() || !cfg!(target_os = "linux") {
            return false;
        }
        match proc_start(self.pid) {
            None => true,
            Some(start) => self.proc_start.is_some_and(|mine| mine != start),
        }
    }

    pub fn describe(&self) -> String {
        let run = self
            .run_id
            .as_deref()
            .map(|r| format!("run {r}, "))
            .unwrap_or_default();
        format!(
            "orgform {} ({run}host {}, pid {}, started {})",
            self.command, self.host, self.pid, self.started
        )
    }
}

/// The machine's name, for lock holders.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".to_string())
}

fn proc_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count
    // from the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// One run as the backend lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRow {
    pub run_id: String,
    pub command: String,
    pub started: String,
    /// The status its last `finish` event recorded; `None` while unfinished.
    pub status: Option<String>,
    pub events: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the state backend {backend} failed: {detail}")]
    Backend { backend: String, detail: String },
    #[error(
        "the state in {backend} is not valid ({detail}); it was left untouched. hint: restore it from a backup (`orgform state export` makes one)"
    )]
    Corrupt { backend: String, detail: String },
    #[error(
        "the state in {backend} has schema version {found}, but this orgform understands up to {supported}; it was left untouched. hint: use the newer orgform that wrote it"
    )]
    Newer {
        backend: String,
        found: i64,
        supported: i64,
    },
    #[error("the state is locked by {}", holder.describe())]
    Locked { holder: Holder },
    #[error("no run {0} in the state")]
    NoSuchRun(String),
    #[error("{0}")]
    Config(String),
}

impl StoreError {
    /// Whether the backend failed because its disk is full (SQLite's
    /// SQLITE_FULL, or the I/O error a write to its WAL file turns into;
    /// PostgreSQL's "No space left on device").
    pub fn disk_full(&self) -> bool {
        matches!(self, StoreError::Backend { detail, .. } if is_full(detail))
    }
}

pub(crate) fn is_full(detail: &str) -> bool {
    let d = detail.to_ascii_lowercase();
    d.contains("full") || d.contains("disk i/o error") || d.contains("no space")
}

/// What every backend does. Implementations: `store::sqlite`,
/// `store::postgres`.
pub trait Backend: Send + Sync {
    /// Where the state lives, for messages (never a password).
    fn describe(&self) -> String;
    /// A snapshot of every record and the update offset.
    fn load(&self) -> Result<Store, StoreError>;
    /// A snapshot with the member records of only `chats` and every other
    /// record (topics, links, chat fields, gone people), for a run that
    /// reads only those chats: the member ledger is most of the state.
    /// Writing it back changes nothing it did not load (see
    /// `records::Partial`). The default loads everything.
    fn load_chats(
        &self,
        chats: &std::collections::BTreeSet<crate::state::ChatId>,
    ) -> Result<Store, StoreError> {
        let _ = chats;
        self.load()
    }
    /// Write what a process learned, in one transaction, merged with what
    /// others wrote meanwhile (see `records::replaces`).
    fn commit(&self, delta: &Delta) -> Result<(), StoreError>;
    /// Replace every record (state import, migrations from state.json).
    fn replace_all(&self, store: &Store) -> Result<(), StoreError>;

    /// Take the workspace lock, or say who holds it. A holder that crashed
    /// is replaced, and returned so the caller can say so.
    fn lock(&self, holder: &Holder) -> Result<Option<Holder>, StoreError>;
    /// Name the run the lock is held for (once the run id is known).
    fn relabel_lock(&self, holder: &Holder) -> Result<(), StoreError>;
    /// Release a lock this process holds.
    fn unlock(&self, holder: &Holder) -> Result<(), StoreError>;
    /// Who holds the lock now.
    fn holder(&self) -> Result<Option<Holder>, StoreError>;
    /// Remove the lock whoever holds it; returns the holder removed.
    fn force_unlock(&self) -> Result<Option<Holder>, StoreError>;

    /// Start a run's journal.
    fn create_run(&self, run_id: &str, command: &str, started: &str) -> Result<(), StoreError>;
    /// Append one event to a run, durable when this returns. `status`:
    /// `Some(Some(s))` marks the run finished with `s`, `Some(None)` marks
    /// it unfinished again (resume), `None` leaves it.
    fn append(
        &self,
        run_id: &str,
        event: &str,
        status: Option<Option<&str>>,
    ) -> Result<(), StoreError>;
    /// Append one event to a run and commit `delta` (what the change it
    /// records taught the store) in the same transaction: the record lands
    /// with its journal step or not at all. A backend that cannot do both
    /// at once appends, then commits.
    fn append_with(&self, run_id: &str, event: &str, delta: &Delta) -> Result<(), StoreError> {
        self.append(run_id, event, None)?;
        self.commit(delta)
    }
    /// Every event of a run, in order, as written.
    fn events(&self, run_id: &str) -> Result<Vec<String>, StoreError>;
    /// Every run, oldest first.
    fn runs(&self) -> Result<Vec<RunRow>, StoreError>;
    /// Delete a run and its journal (`state import` replacing a run).
    fn delete_run(&self, run_id: &str) -> Result<(), StoreError>;

    /// Whether the backend ran out of space and is living on its reserve:
    /// the caller must stop starting new work (what it writes now still
    /// lands, so a rollback can be journaled).
    fn space_low(&self) -> bool {
        false
    }

    /// A small key-value area for the backend's own bookkeeping.
    fn meta(&self, key: &str) -> Result<Option<String>, StoreError>;
    fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError>;

    /// The watch half (facts, the update transaction, the lease; see
    /// `store::ledger`), for backends that have it.
    fn ledger(&self) -> Option<&dyn super::ledger::Ledger> {
        None
    }
}

/// A shared handle on a backend.
pub type Shared = Arc<dyn Backend>;

/// A held workspace lock; released when dropped.
pub struct LockGuard {
    backend: Shared,
    holder: Holder,
    /// A crashed holder this lock replaced.
    pub took_over: Option<Holder>,
}

impl LockGuard {
    pub fn acquire(backend: &Shared, holder: Holder) -> Result<LockGuard, StoreError> {
        let took_over = backend.lock(&holder)?;
        Ok(LockGuard {
            backend: backend.clone(),
            holder,
            took_over,
        })
    }

    /// Name the run in the lock, so a refusal says which run holds it.
    pub fn set_run(&mut self, run_id: &str) -> Result<(), StoreError> {
        self.holder.run_id = Some(run_id.to_string());
        self.backend.relabel_lock(&self.holder)
    }

    pub fn holder(&self) -> &Holder {
        &self.holder
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let _ = self.backend.unlock(&self.holder);
    }
}
