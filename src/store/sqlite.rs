//! The embedded backend: `<state-dir>/orgform.db`, SQLite (bundled) in WAL
//! mode with `synchronous=FULL`, so every committed transaction (one
//! journal event, one merge of learned records) is on disk when the call
//! returns. The file is created 0600 in a 0700 directory before SQLite
//! opens it; SQLite gives its `-wal` and `-shm` files the same mode.
//!
//! The lock is a row naming its holder, taken in an immediate transaction.
//! A holder on this host whose process is gone (pid and start time) has
//! crashed and is replaced; see [`Holder::crashed`].

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::Store;
use super::backend::{Backend, Holder, RunRow, StoreError, is_full};
use super::ledger::{self, FactWrite, Lease, LeaseOutcome, Ledger, UpdateCommit};
use super::records::{self, Delta};
use crate::state::ChatId;

/// The database file inside a state dir.
pub const FILE_NAME: &str = "orgform.db";

/// The schema, one entry per version. Never edit a released entry: add one.
const MIGRATIONS: &[&str] = &[
    // 1: records, the offset and other bookkeeping, runs and their
    // journals, the lock.
    "CREATE TABLE records (
        chat INTEGER NOT NULL,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (chat, kind, key)
     );
     CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        command TEXT NOT NULL,
        started TEXT NOT NULL,
        status TEXT,
        events INTEGER NOT NULL DEFAULT 0
     );
     CREATE TABLE journal (
        run_id TEXT NOT NULL REFERENCES runs(run_id),
        seq INTEGER NOT NULL,
        event TEXT NOT NULL,
        PRIMARY KEY (run_id, seq)
     );
     CREATE TABLE lock (id INTEGER PRIMARY KEY CHECK (id = 1), holder TEXT NOT NULL);",
    // 2: what `orgform watch` keeps beside the records (store::ledger).
    "CREATE TABLE watch_facts (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
];

/// Deleted rows leave their pages partly empty, and SQLite never gives
/// them back by itself: once the rows deleted since the last compaction
/// reach a tenth of the rows it left (and at least [`COMPACT_MIN_DELETES`]),
/// the next write is followed by a VACUUM. Folding offboarded people into
/// gone rows deletes one member row per chat they were in, so an
/// offboarding leaves a smaller file, not only fewer rows.
const COMPACT_MIN_DELETES: i64 = 1_000;
/// Meta keys of that bookkeeping.
const DELETED_KEY: &str = "deleted_since_vacuum";
const ROWS_KEY: &str = "rows_at_vacuum";

/// Space kept free next to the database: when the disk fills, deleting it
/// lets the journal record the failure and the rollback that follows.
const RESERVE_BYTES: usize = 1 << 20;

pub struct Sqlite {
    path: PathBuf,
    conn: Mutex<Connection>,
    /// The reserve was used up: stop starting new work.
    space_low: std::sync::atomic::AtomicBool,
}

impl Sqlite {
    /// Open (and create, and migrate) the database of a state dir.
    pub fn open(state_dir: &Path) -> Result<Sqlite, StoreError> {
        let path = state_dir.join(FILE_NAME);
        Self::open_file(&path)
    }

    pub fn open_file(path: &Path) -> Result<Sqlite, StoreError> {
        let shown = path.display().to_string();
        let io = |e: std::io::Error| StoreError::Backend {
            backend: shown.clone(),
            detail: e.to_string(),
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            super::file::create_private_dir(dir).map_err(io)?;
            restrict_dir(dir).map_err(io)?;
        }
        create_private_file(path).map_err(io)?;
        let conn = Connection::open(path).map_err(|e| StoreError::Backend {
            backend: shown.clone(),
            detail: e.to_string(),
        })?;
        let db = Sqlite {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
            space_low: Default::default(),
        };
        // On a full disk even opening fails (WAL mode makes its `-wal`
        // and `-shm` files): the reserve is for exactly this, so that the
        // state can still be read, and a record removed, to recover.
        db.with_space(|| db.setup())?;
        Ok(db)
    }

    fn err(&self, e: rusqlite::Error) -> StoreError {
        StoreError::Backend {
            backend: self.describe(),
            detail: e.to_string(),
        }
    }

    fn setup(&self) -> Result<(), StoreError> {
        let mut conn = self.conn.lock().expect("sqlite lock");
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(|e| self.err(e))?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Backend {
                backend: self.describe(),
                detail: format!("cannot switch to WAL mode (got {mode})"),
            });
        }
        conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")
            .map_err(|e| self.err(e))?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        let supported = MIGRATIONS.len() as i64;
        if version > supported {
            return Err(StoreError::Newer {
                backend: self.describe(),
                found: version,
                supported,
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| self.err(e))?;
            // Another process may have migrated while we waited.
            let now: i64 = tx
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(|e| self.err(e))?;
            if now > i as i64 {
                continue;
            }
            tx.execute_batch(sql).map_err(|e| self.err(e))?;
            tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))
                .map_err(|e| self.err(e))?;
            tx.commit().map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn reserve_path(&self) -> PathBuf {
        let mut name = self.path.as_os_str().to_os_string();
        name.push(".reserve");
        PathBuf::from(name)
    }

    /// Keep [`RESERVE_BYTES`] of disk for a journal that must go on
    /// writing after the disk filled up.
    fn ensure_reserve(&self) -> std::io::Result<()> {
        let path = self.reserve_path();
        if std::fs::metadata(&path).is_ok_and(|m| m.len() as usize >= RESERVE_BYTES) {
            return Ok(());
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path)?;
        std::io::Write::write_all(&mut file, &vec![0u8; RESERVE_BYTES])?;
        file.sync_all()
    }

    /// Run a write; when the disk is full, give up the reserve and try once
    /// more, and from then on say the space is low.
    fn with_space<T>(
        &self,
        mut write: impl FnMut() -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match write() {
            Err(StoreError::Backend { detail, .. })
                if is_full(&detail) && std::fs::remove_file(self.reserve_path()).is_ok() =>
            {
                self.space_low
                    .store(true, std::sync::atomic::Ordering::SeqCst);
                write()
            }
            other => other,
        }
    }
}

/// The state dir holds the lock holder, topic ids and invite links: only
/// its owner may look inside.
#[cfg(unix)]
fn restrict_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir)?.permissions().mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode & 0o700 | 0o700))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn restrict_dir(_: &Path) -> std::io::Result<()> {
    Ok(())
}

fn create_private_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    drop(file);
    Ok(())
}

impl Backend for Sqlite {
    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn load(&self) -> Result<Store, StoreError> {
        self.load_where(None)
    }

    fn load_chats(&self, chats: &BTreeSet<ChatId>) -> Result<Store, StoreError> {
        self.load_where(Some(chats))
    }

    fn commit(&self, delta: &Delta) -> Result<(), StoreError> {
        if delta.is_empty() {
            return Ok(());
        }
        self.with_space(|| self.commit_once(delta))?;
        if !delta.deletes.is_empty() {
            self.compact_if_due();
        }
        Ok(())
    }

    fn space_low(&self) -> bool {
        self.space_low.load(std::sync::atomic::Ordering::SeqCst)
    }
    fn replace_all(&self, store: &Store) -> Result<(), StoreError> {
        let mut conn = self.conn.lock().expect("sqlite lock");
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        tx.execute("DELETE FROM records", [])
            .map_err(|e| self.err(e))?;
        for ((chat, kind, key), value) in records::rows(store) {
            tx.execute(
                "INSERT INTO records (chat, kind, key, value) VALUES (?1, ?2, ?3, ?4)",
                params![chat, kind, key, value.to_string()],
            )
            .map_err(|e| self.err(e))?;
        }
        match store.update_offset {
            Some(o) => tx.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('update_offset', ?1)",
                params![o.to_string()],
            ),
            None => tx.execute("DELETE FROM meta WHERE key = 'update_offset'", []),
        }
        .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))
    }

    fn lock(&self, holder: &Holder) -> Result<Option<Holder>, StoreError> {
        let mut conn = self.conn.lock().expect("sqlite lock");
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        let current: Option<String> = tx
            .query_row("SELECT holder FROM lock WHERE id = 1", [], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))?;
        let mut took_over = None;
        if let Some(text) = current {
            match serde_json::from_str::<Holder>(&text) {
                Ok(h) if h.crashed() => took_over = Some(h),
                Ok(h) => return Err(StoreError::Locked { holder: h }),
                Err(_) => {
                    return Err(StoreError::Corrupt {
                        backend: self.describe(),
                        detail:
                            "the lock row is unreadable; `orgform state unlock --force` removes it"
                                .into(),
                    });
                }
            }
        }
        tx.execute(
            "INSERT OR REPLACE INTO lock (id, holder) VALUES (1, ?1)",
            params![serde_json::to_string(holder).expect("serialises")],
        )
        .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(took_over)
    }

    fn relabel_lock(&self, holder: &Holder) -> Result<(), StoreError> {
        let conn = self.conn.lock().expect("sqlite lock");
        conn.execute(
            "UPDATE lock SET holder = ?1 WHERE id = 1",
            params![serde_json::to_string(holder).expect("serialises")],
        )
        .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn unlock(&self, holder: &Holder) -> Result<(), StoreError> {
        let conn = self.conn.lock().expect("sqlite lock");
        let current: Option<String> = conn
            .query_row("SELECT holder FROM lock WHERE id = 1", [], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))?;
        let mine = current
            .and_then(|c| serde_json::from_str::<Holder>(&c).ok())
            .is_some_and(|h| h.pid == holder.pid && h.host == holder.host);
        if mine {
            conn.execute("DELETE FROM lock WHERE id = 1", [])
                .map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    fn holder(&self) -> Result<Option<Holder>, StoreError> {
        let conn = self.conn.lock().expect("sqlite lock");
        let current: Option<String> = conn
            .query_row("SELECT holder FROM lock WHERE id = 1", [], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))?;
        Ok(current.and_then(|c| serde_json::from_str(&c).ok()))
    }

    fn force_unlock(&self) -> Result<Option<Holder>, StoreError> {
        let holder = self.holder()?;
        let conn = self.conn.lock().expect("sqlite lock");
        conn.execute("DELETE FROM lock WHERE id = 1", [])
            .map_err(|e| self.err(e))?;
        Ok(holder)
    }

    fn create_run(&self, run_id: &str, command: &str, started: &str) -> Result<(), StoreError> {
        self.ensure_reserve().map_err(|e| StoreError::Backend {
            backend: self.describe(),
            detail: format!("cannot keep a reserve of free space next to it: {e}"),
        })?;
        let conn = self.conn.lock().expect("sqlite lock");
        conn.execute(
            "INSERT INTO runs (run_id, command, started) VALUES (?1, ?2, ?3)",
            params![run_id, command, started],
        )
        .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn append(
        &self,
        run_id: &str,
        event: &str,
        status: Option<Option<&str>>,
    ) -> Result<(), StoreError> {
        self.with_space(|| self.append_once(run_id, event, status, None))
    }

    fn append_with(&self, run_id: &str, event: &str, delta: &Delta) -> Result<(), StoreError> {
        self.with_space(|| self.append_once(run_id, event, None, Some(delta)))
    }

    fn events(&self, run_id: &str) -> Result<Vec<String>, StoreError> {
        let conn = self.conn.lock().expect("sqlite lock");
        let exists: Option<i64> = conn
            .query_row(
                "SELECT 1 FROM runs WHERE run_id = ?1",
                params![run_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        if exists.is_none() {
            return Err(StoreError::NoSuchRun(run_id.to_string()));
        }
        let mut stmt = conn
            .prepare("SELECT event FROM journal WHERE run_id = ?1 ORDER BY seq")
            .map_err(|e| self.err(e))?;
        let events = stmt
            .query_map(params![run_id], |r| r.get(0))
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<String>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(events)
    }

    fn runs(&self) -> Result<Vec<RunRow>, StoreError> {
        let conn = self.conn.lock().expect("sqlite lock");
        let mut stmt = conn
            .prepare("SELECT run_id, command, started, status, events FROM runs ORDER BY started, run_id")
            .map_err(|e| self.err(e))?;
        let runs = stmt
            .query_map([], |r| {
                Ok(RunRow {
                    run_id: r.get(0)?,
                    command: r.get(1)?,
                    started: r.get(2)?,
                    status: r.get(3)?,
                    events: r.get::<_, i64>(4)? as u64,
                })
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(runs)
    }

    fn delete_run(&self, run_id: &str) -> Result<(), StoreError> {
        let mut conn = self.conn.lock().expect("sqlite lock");
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        tx.execute("DELETE FROM journal WHERE run_id = ?1", params![run_id])
            .map_err(|e| self.err(e))?;
        tx.execute("DELETE FROM runs WHERE run_id = ?1", params![run_id])
            .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))
    }

    fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        let conn = self.conn.lock().expect("sqlite lock");
        conn.query_row("SELECT value FROM meta WHERE key = ?1", params![key], |r| {
            r.get(0)
        })
        .optional()
        .map_err(|e| self.err(e))
    }

    fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        let conn = self.conn.lock().expect("sqlite lock");
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
            params![key, value],
        )
        .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn ledger(&self) -> Option<&dyn Ledger> {
        Some(self)
    }
}

impl Sqlite {
    /// VACUUM when the rows deleted since the last one reach a tenth of
    /// the rows it left (see [`COMPACT_MIN_DELETES`]). Only an
    /// optimisation: what was committed is already durable, so a failure
    /// (a full disk: VACUUM needs room for a copy) is ignored.
    fn compact_if_due(&self) {
        let conn = self.conn.lock().expect("sqlite lock");
        let number = |key: &str| -> Option<i64> {
            conn.query_row("SELECT value FROM meta WHERE key = ?1", params![key], |r| {
                r.get::<_, String>(0)
            })
            .ok()
            .and_then(|v| v.parse().ok())
        };
        let deleted = number(DELETED_KEY).unwrap_or(0);
        let rows = match number(ROWS_KEY) {
            Some(rows) => rows,
            // First time: what the table holds now, plus what was deleted.
            None => {
                let rows: i64 = conn
                    .query_row("SELECT COUNT(*) FROM records", [], |r| r.get(0))
                    .unwrap_or(0);
                rows + deleted
            }
        };
        if deleted < COMPACT_MIN_DELETES || deleted * 10 < rows {
            return;
        }
        let result = conn
            .execute_batch("VACUUM; PRAGMA wal_checkpoint(TRUNCATE);")
            .and_then(|()| {
                let rows: i64 = conn.query_row("SELECT COUNT(*) FROM records", [], |r| r.get(0))?;
                conn.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2), (?3, '0')",
                    params![ROWS_KEY, rows.to_string(), DELETED_KEY],
                )
                .map(|_| ())
            });
        if let Err(e) = result {
            tracing::debug!("compacting after deletes failed (ignored): {e}");
        }
    }

    /// Every row, or (with `chats`) every row but the member records of
    /// other chats.
    fn load_where(&self, chats: Option<&BTreeSet<ChatId>>) -> Result<Store, StoreError> {
        let conn = self.conn.lock().expect("sqlite lock");
        let mut loader = records::Loader::default();
        let mut read = |stmt: &mut rusqlite::Statement, params: &[&dyn rusqlite::ToSql]| {
            let mut found = stmt.query(params).map_err(|e| self.err(e))?;
            while let Some(r) = found.next().map_err(|e| self.err(e))? {
                let chat: i64 = r.get(0).map_err(|e| self.err(e))?;
                let kind = r.get_ref(1).map_err(|e| self.err(e))?;
                let key = r.get_ref(2).map_err(|e| self.err(e))?;
                let text = r.get_ref(3).map_err(|e| self.err(e))?;
                let (Ok(kind), Ok(key), Ok(text)) = (kind.as_str(), key.as_str(), text.as_str())
                else {
                    return Err(StoreError::Corrupt {
                        backend: self.describe(),
                        detail: format!("a record of chat {chat} is not text"),
                    });
                };
                loader
                    .add(chat, kind, key, text)
                    .map_err(|detail| StoreError::Corrupt {
                        backend: self.describe(),
                        detail,
                    })?;
            }
            Ok(())
        };
        match chats {
            None => {
                let mut stmt = conn
                    .prepare("SELECT chat, kind, key, value FROM records")
                    .map_err(|e| self.err(e))?;
                read(&mut stmt, &[])?;
            }
            Some(chats) => {
                let mut stmt = conn
                    .prepare("SELECT chat, kind, key, value FROM records WHERE kind <> ?1")
                    .map_err(|e| self.err(e))?;
                read(&mut stmt, &[&records::MEMBER_KIND])?;
                // The primary key (chat, kind, key) finds each chat's
                // members without a scan.
                let mut stmt = conn
                    .prepare(
                        "SELECT chat, kind, key, value FROM records WHERE chat = ?1 AND kind = ?2",
                    )
                    .map_err(|e| self.err(e))?;
                for chat in chats {
                    read(&mut stmt, &[chat, &records::MEMBER_KIND])?;
                }
            }
        }
        let offset: Option<String> = conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'update_offset'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        let offset = offset.and_then(|o| o.parse().ok());
        loader
            .finish(offset, chats.cloned())
            .map_err(|detail| StoreError::Corrupt {
                backend: self.describe(),
                detail,
            })
    }

    fn commit_once(&self, delta: &Delta) -> Result<(), StoreError> {
        let mut conn = self.conn.lock().expect("sqlite lock");
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        self.write_delta(&tx, delta)?;
        tx.commit().map_err(|e| self.err(e))
    }

    /// A delta's records (merged, deletions counted for compaction) and
    /// its offset, inside the caller's transaction: `commit` and the
    /// ledger's `commit_update` write records the same way.
    fn write_delta(&self, tx: &rusqlite::Transaction<'_>, delta: &Delta) -> Result<(), StoreError> {
        for ((chat, kind, key), value) in &delta.upserts {
            let current: Option<String> = tx
                .query_row(
                    "SELECT value FROM records WHERE chat = ?1 AND kind = ?2 AND key = ?3",
                    params![chat, kind, key],
                    |r| r.get(0),
                )
                .optional()
                .map_err(|e| self.err(e))?;
            let current = current.and_then(|c| serde_json::from_str(&c).ok());
            if records::replaces(kind, current.as_ref(), value) {
                tx.execute(
                    "INSERT OR REPLACE INTO records (chat, kind, key, value) VALUES (?1, ?2, ?3, ?4)",
                    params![chat, kind, key, value.to_string()],
                )
                .map_err(|e| self.err(e))?;
            }
        }
        let mut deleted = 0;
        for (chat, kind, key) in &delta.deletes {
            deleted += tx
                .execute(
                    "DELETE FROM records WHERE chat = ?1 AND kind = ?2 AND key = ?3",
                    params![chat, kind, key],
                )
                .map_err(|e| self.err(e))?;
        }
        if deleted > 0 {
            // Counted for compact_if_due.
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + CAST(excluded.value AS INTEGER)",
                params![DELETED_KEY, deleted.to_string()],
            )
            .map_err(|e| self.err(e))?;
        }
        if let Some(learned) = delta.offset {
            let current: Option<String> = tx
                .query_row(
                    "SELECT value FROM meta WHERE key = 'update_offset'",
                    [],
                    |r| r.get(0),
                )
                .optional()
                .map_err(|e| self.err(e))?;
            let merged = records::merged_offset(current.and_then(|c| c.parse().ok()), learned);
            tx.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('update_offset', ?1)",
                params![merged.to_string()],
            )
            .map_err(|e| self.err(e))?;
        }
        Ok(())
    }
}

impl Sqlite {
    /// One journal event, and with it `delta` when given, in one
    /// transaction.
    fn append_once(
        &self,
        run_id: &str,
        event: &str,
        status: Option<Option<&str>>,
        delta: Option<&Delta>,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn.lock().expect("sqlite lock");
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        let seq: i64 = tx
            .query_row(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM journal WHERE run_id = ?1",
                params![run_id],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        let changed = match status {
            None => tx.execute(
                "UPDATE runs SET events = events + 1 WHERE run_id = ?1",
                params![run_id],
            ),
            Some(s) => tx.execute(
                "UPDATE runs SET events = events + 1, status = ?2 WHERE run_id = ?1",
                params![run_id, s],
            ),
        }
        .map_err(|e| self.err(e))?;
        if changed == 0 {
            return Err(StoreError::NoSuchRun(run_id.to_string()));
        }
        tx.execute(
            "INSERT INTO journal (run_id, seq, event) VALUES (?1, ?2, ?3)",
            params![run_id, seq, event],
        )
        .map_err(|e| self.err(e))?;
        if let Some(delta) = delta {
            self.write_delta(&tx, delta)?;
        }
        tx.commit().map_err(|e| self.err(e))
    }
}

// --- the watch half (store::ledger) ---

impl Ledger for Sqlite {
    fn commit_update(&self, commit: &UpdateCommit) -> Result<Vec<String>, StoreError> {
        self.with_space(|| self.commit_update_once(commit))
    }

    fn facts(&self, prefix: &str) -> Result<Vec<(String, String)>, StoreError> {
        let conn = self.conn.lock().expect("sqlite lock");
        // `>= prefix AND < prefix + U+10FFFF`: an index range, no LIKE escaping.
        let end = format!("{prefix}\u{10FFFF}");
        let mut stmt = conn
            .prepare("SELECT key, value FROM watch_facts WHERE key >= ?1 AND key < ?2 ORDER BY key")
            .map_err(|e| self.err(e))?;
        let found = stmt
            .query_map(params![prefix, end], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<(String, String)>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(found)
    }

    fn take_lease(&self, lease: &Lease) -> Result<LeaseOutcome, StoreError> {
        let mut conn = self.conn.lock().expect("sqlite lock");
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        let current: Option<Lease> = tx
            .query_row(
                "SELECT value FROM watch_facts WHERE key = ?1",
                params![ledger::keys::LEASE],
                |r| r.get::<_, String>(0),
            )
            .optional()
            .map_err(|e| self.err(e))?
            .and_then(|t| serde_json::from_str(&t).ok());
        let outcome = ledger::decide_lease(current, lease);
        if matches!(outcome, LeaseOutcome::Taken { .. }) {
            tx.execute(
                "INSERT OR REPLACE INTO watch_facts (key, value) VALUES (?1, ?2)",
                params![
                    ledger::keys::LEASE,
                    serde_json::to_string(lease).expect("serialises")
                ],
            )
            .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(outcome)
    }

    fn renew_lease(&self, lease: &Lease) -> Result<bool, StoreError> {
        Ok(matches!(
            self.take_lease(lease)?,
            LeaseOutcome::Taken { replaced: None }
        ))
    }

    fn release_lease(&self, holder: &Holder) -> Result<(), StoreError> {
        let mine = self
            .lease()?
            .is_some_and(|l| ledger::same_holder(&l.holder, holder));
        if mine {
            let conn = self.conn.lock().expect("sqlite lock");
            conn.execute(
                "DELETE FROM watch_facts WHERE key = ?1",
                params![ledger::keys::LEASE],
            )
            .map_err(|e| self.err(e))?;
        }
        Ok(())
    }
}

impl Sqlite {
    /// Records (merged as `commit` merges them), facts and the offset, in
    /// one immediate transaction.
    fn commit_update_once(&self, commit: &UpdateCommit) -> Result<Vec<String>, StoreError> {
        let mut conn = self.conn.lock().expect("sqlite lock");
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        self.write_delta(&tx, &commit.delta)?;
        let mut claimed = Vec::new();
        for fact in &commit.facts {
            match fact {
                FactWrite::Put(k, v) => tx.execute(
                    "INSERT OR REPLACE INTO watch_facts (key, value) VALUES (?1, ?2)",
                    params![k, v],
                ),
                FactWrite::PutIfAbsent(k, v) => {
                    let n = tx
                        .execute(
                            "INSERT OR IGNORE INTO watch_facts (key, value) VALUES (?1, ?2)",
                            params![k, v],
                        )
                        .map_err(|e| self.err(e))?;
                    if n == 1 {
                        claimed.push(k.clone());
                    }
                    Ok(n)
                }
                FactWrite::Delete(k) => {
                    tx.execute("DELETE FROM watch_facts WHERE key = ?1", params![k])
                }
            }
            .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(claimed)
    }
}
