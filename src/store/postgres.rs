//! The team backend: PostgreSQL through `tokio-postgres` (rustls for TLS,
//! with the platform's certificate verifier). Every table is keyed by a
//! workspace name, so several orgs share one database; the schema is
//! versioned (`orgform_migrations`) and migrated on connect under a
//! transaction-scoped advisory lock, so two processes never migrate at once.
//!
//! The workspace lock is a *session* advisory lock: a killed process's
//! connection ends and PostgreSQL releases the lock by itself. The holder
//! (command, run, host, pid, started) is kept in `orgform_locks` so a
//! refusal can name it. TLS is required for any host that is not loopback;
//! `sslmode=disable` off loopback is refused.
//!
//! The driver is async and the [`Backend`] interface is not: a thread of
//! its own runs a current-thread tokio runtime with the one connection, and
//! each call is a job sent to it. That keeps the session (and so the lock)
//! in one place whatever runtime the caller is in.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::Duration;

use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::{Client, Config};

use super::Store;
use super::backend::{Backend, Holder, RunRow, StoreError};
use super::ledger::{self, FactWrite, Lease, LeaseOutcome, Ledger, UpdateCommit};
use super::records::{self, Delta};
use crate::state::ChatId;

const MIGRATIONS: &[&str] = &[
    // 1: records, bookkeeping, runs and journals, lock holders.
    "CREATE TABLE orgform_records (
        workspace TEXT NOT NULL,
        chat BIGINT NOT NULL,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (workspace, chat, kind, key)
     );
     CREATE TABLE orgform_meta (
        workspace TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (workspace, key)
     );
     CREATE TABLE orgform_runs (
        workspace TEXT NOT NULL,
        run_id TEXT NOT NULL,
        command TEXT NOT NULL,
        started TEXT NOT NULL,
        status TEXT,
        events BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (workspace, run_id)
     );
     CREATE TABLE orgform_journal (
        workspace TEXT NOT NULL,
        run_id TEXT NOT NULL,
        seq BIGINT NOT NULL,
        event TEXT NOT NULL,
        PRIMARY KEY (workspace, run_id, seq),
        FOREIGN KEY (workspace, run_id) REFERENCES orgform_runs (workspace, run_id)
     );
     CREATE TABLE orgform_locks (
        workspace TEXT PRIMARY KEY,
        holder TEXT NOT NULL
     );",
    // 2: what `orgform watch` keeps beside the records (store::ledger).
    "CREATE TABLE orgform_watch_facts (
        workspace TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (workspace, key)
     );",
];

/// The advisory lock key that serialises migrations (any constant).
const MIGRATION_LOCK: i64 = 0x6f72_6766_6f72_6d00; // "orgform\0"

type Job = Box<dyn FnOnce(&mut Session) + Send>;

struct Session {
    rt: tokio::runtime::Runtime,
    client: Client,
}

pub struct Postgres {
    shown: String,
    workspace: String,
    jobs: Mutex<mpsc::Sender<Job>>,
    /// The workspace's advisory lock key.
    key: i64,
}

/// Whether every host in the config is this machine.
fn loopback_only(config: &Config) -> bool {
    let hosts_ok = config.get_hosts().iter().all(|h| match h {
        Host::Tcp(name) => {
            name == "localhost"
                || name
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        #[cfg(unix)]
        Host::Unix(_) => true,
    });
    let addrs_ok = config.get_hostaddrs().iter().all(|ip| ip.is_loopback());
    hosts_ok && addrs_ok && !config.get_hosts().is_empty()
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

/// A stable 64-bit key for a workspace's advisory lock.
fn lock_key(workspace: &str) -> i64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("orgform workspace {workspace}").as_bytes());
    i64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}

impl Postgres {
    /// Connect (TLS off loopback), migrate, and start the session thread.
    pub fn connect(url: &str, workspace: &str) -> Result<Postgres, StoreError> {
        let shown = format!("{} (workspace {workspace})", super::redact_url(url));
        let fail = |detail: String| StoreError::Backend {
            backend: shown.clone(),
            detail,
        };
        let mut config: Config = url.parse().map_err(|e: tokio_postgres::Error| {
            StoreError::Config(format!(
                "the state URL {} is not valid: {}",
                super::redact_url(url),
                chain(&e)
            ))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(15));
        }
        if config.get_application_name().is_none() {
            config.application_name("orgform");
        }
        let local = loopback_only(&config);
        if !local {
            if config.get_ssl_mode() == SslMode::Disable {
                return Err(StoreError::Config(format!(
                    "{shown}: TLS is required for a database that is not on this machine, but the URL says sslmode=disable. hint: remove sslmode=disable (orgform then requires TLS and verifies the server certificate)"
                )));
            }
            config.ssl_mode(SslMode::Require);
        }
        let plain = local && config.get_ssl_mode() != SslMode::Require;
        let tls = if plain {
            None
        } else {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let tls = <rustls::ClientConfig as rustls_platform_verifier::ConfigVerifierExt>::with_platform_verifier()
                .map_err(|e| fail(format!("cannot set up TLS: {e}")))?;
            Some(tokio_postgres_rustls::MakeRustlsConnect::new(tls))
        };
        // Everything async happens on the session thread: the caller may
        // be inside a runtime already, where blocking on another is refused.
        let (tx, rx) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::sync_channel::<Result<(), String>>(1);
        std::thread::Builder::new()
            .name("orgform-postgres".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let client = rt.block_on(async {
                    match tls {
                        None => {
                            let (client, conn) = config.connect(tokio_postgres::NoTls).await?;
                            tokio::spawn(conn);
                            Ok::<_, tokio_postgres::Error>(client)
                        }
                        Some(tls) => {
                            let (client, conn) = config.connect(tls).await?;
                            tokio::spawn(conn);
                            Ok(client)
                        }
                    }
                });
                let client = match client {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = ready_tx.send(Err(chain(&e)));
                        return;
                    }
                };
                let mut session = Session { rt, client };
                if let Err(e) = migrate(&mut session) {
                    let _ = ready_tx.send(Err(format!("migrating the schema: {}", chain(&e))));
                    return;
                }
                let _ = ready_tx.send(Ok(()));
                while let Ok(job) = rx.recv() {
                    job(&mut session);
                }
            })
            .map_err(|e| fail(e.to_string()))?;
        ready_rx
            .recv()
            .map_err(|_| fail("the database session thread ended".into()))?
            .map_err(fail)?;
        Ok(Postgres {
            shown,
            workspace: workspace.to_string(),
            jobs: Mutex::new(tx),
            key: lock_key(workspace),
        })
    }

    /// Run `f` on the session thread and wait for its answer.
    fn on_session<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Session) -> Result<T, tokio_postgres::Error> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |s| {
            let _ = tx.send(f(s));
        });
        self.jobs
            .lock()
            .expect("jobs lock")
            .send(job)
            .map_err(|_| self.gone())?;
        rx.recv()
            .map_err(|_| self.gone())?
            .map_err(|e| StoreError::Backend {
                backend: self.shown.clone(),
                detail: chain(&e),
            })
    }

    fn gone(&self) -> StoreError {
        StoreError::Backend {
            backend: self.shown.clone(),
            detail: "the database session ended".into(),
        }
    }
}

fn migrate(s: &mut Session) -> Result<(), tokio_postgres::Error> {
    let Session { rt, client } = s;
    rt.block_on(async {
        client
            .batch_execute(
                "CREATE TABLE IF NOT EXISTS orgform_migrations (
                    version INTEGER PRIMARY KEY,
                    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
                 )",
            )
            .await
            .or_else(|e| {
                // Two processes creating it at once: the loser's error is fine.
                if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) {
                    Ok(())
                } else {
                    Err(e)
                }
            })?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        let current: i32 = tx
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM orgform_migrations",
                &[],
            )
            .await?
            .get(0);
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            tx.batch_execute(sql).await?;
            tx.execute(
                "INSERT INTO orgform_migrations (version) VALUES ($1)",
                &[&(i as i32 + 1)],
            )
            .await?;
        }
        tx.commit().await
    })
}

impl Backend for Postgres {
    fn describe(&self) -> String {
        self.shown.clone()
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
        let ws = self.workspace.clone();
        let delta = delta.clone();
        self.on_session(move |s| {
            let Session { rt, client } = s;
            rt.block_on(async {
                let tx = client.transaction().await?;
                write_delta(&tx, &ws, &delta).await?;
                tx.commit().await
            })
        })
    }

    fn replace_all(&self, store: &Store) -> Result<(), StoreError> {
        let ws = self.workspace.clone();
        let rows = records::rows(store);
        let offset = store.update_offset;
        self.on_session(move |s| {
            let Session { rt, client } = s;
            rt.block_on(async {
                let tx = client.transaction().await?;
                tx.execute("DELETE FROM orgform_records WHERE workspace = $1", &[&ws])
                    .await?;
                for ((chat, kind, key), value) in &rows {
                    tx.execute(
                        "INSERT INTO orgform_records (workspace, chat, kind, key, value) VALUES ($1, $2, $3, $4, $5)",
                        &[&ws, chat, kind, key, &value.to_string()],
                    )
                    .await?;
                }
                tx.execute(
                    "DELETE FROM orgform_meta WHERE workspace = $1 AND key = 'update_offset'",
                    &[&ws],
                )
                .await?;
                if let Some(o) = offset {
                    tx.execute(
                        "INSERT INTO orgform_meta (workspace, key, value) VALUES ($1, 'update_offset', $2)",
                        &[&ws, &o.to_string()],
                    )
                    .await?;
                }
                tx.commit().await
            })
        })
    }

    fn lock(&self, holder: &Holder) -> Result<Option<Holder>, StoreError> {
        let ws = self.workspace.clone();
        let key = self.key;
        let text = serde_json::to_string(holder).expect("serialises");
        let (got, previous) = self.on_session(move |s| {
            let Session { rt, client } = s;
            rt.block_on(async {
                let got: bool = client
                    .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
                    .await?
                    .get(0);
                let previous = client
                    .query_opt(
                        "SELECT holder FROM orgform_locks WHERE workspace = $1",
                        &[&ws],
                    )
                    .await?
                    .map(|r| r.get::<_, String>(0));
                if got {
                    client
                        .execute(
                            "INSERT INTO orgform_locks (workspace, holder) VALUES ($1, $2)
                             ON CONFLICT (workspace) DO UPDATE SET holder = EXCLUDED.holder",
                            &[&ws, &text],
                        )
                        .await?;
                }
                Ok((got, previous))
            })
        })?;
        let previous: Option<Holder> = previous.and_then(|p| serde_json::from_str(&p).ok());
        if got {
            // The session that held it is gone (PostgreSQL released its
            // lock), so a holder row left behind belongs to a dead process.
            Ok(previous)
        } else {
            Err(StoreError::Locked {
                holder: previous.unwrap_or_else(|| Holder {
                    command: "(unknown: another session)".into(),
                    run_id: None,
                    host: "?".into(),
                    pid: 0,
                    started: "?".into(),
                    proc_start: None,
                }),
            })
        }
    }

    fn relabel_lock(&self, holder: &Holder) -> Result<(), StoreError> {
        let ws = self.workspace.clone();
        let text = serde_json::to_string(holder).expect("serialises");
        self.on_session(move |s| {
            s.rt.block_on(async {
                s.client
                    .execute(
                        "UPDATE orgform_locks SET holder = $2 WHERE workspace = $1",
                        &[&ws, &text],
                    )
                    .await
                    .map(|_| ())
            })
        })
    }

    fn unlock(&self, _holder: &Holder) -> Result<(), StoreError> {
        let ws = self.workspace.clone();
        let key = self.key;
        self.on_session(move |s| {
            s.rt.block_on(async {
                s.client
                    .execute("DELETE FROM orgform_locks WHERE workspace = $1", &[&ws])
                    .await?;
                s.client
                    .query_one("SELECT pg_advisory_unlock($1)", &[&key])
                    .await
                    .map(|_| ())
            })
        })
    }

    fn holder(&self) -> Result<Option<Holder>, StoreError> {
        let ws = self.workspace.clone();
        let (class, obj) = split_key(self.key);
        let (held, text) = self.on_session(move |s| {
            s.rt.block_on(async {
                let held: bool = s
                    .client
                    .query_one(
                        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted
                           AND classid::TEXT::BIGINT = $1 AND objid::TEXT::BIGINT = $2 AND objsubid = 1)",
                        &[&class, &obj],
                    )
                    .await?
                    .get(0);
                let text = s
                    .client
                    .query_opt(
                        "SELECT holder FROM orgform_locks WHERE workspace = $1",
                        &[&ws],
                    )
                    .await?
                    .map(|r| r.get::<_, String>(0));
                Ok((held, text))
            })
        })?;
        if !held {
            return Ok(None);
        }
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
    }

    fn force_unlock(&self) -> Result<Option<Holder>, StoreError> {
        let holder = self.holder()?;
        let ws = self.workspace.clone();
        let (class, obj) = split_key(self.key);
        self.on_session(move |s| {
            s.rt.block_on(async {
                // The lock belongs to a session: end it.
                s.client
                    .execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted
                           AND classid::TEXT::BIGINT = $1 AND objid::TEXT::BIGINT = $2 AND objsubid = 1
                           AND pid <> pg_backend_pid()",
                        &[&class, &obj],
                    )
                    .await?;
                s.client
                    .execute("DELETE FROM orgform_locks WHERE workspace = $1", &[&ws])
                    .await
                    .map(|_| ())
            })
        })?;
        Ok(holder)
    }

    fn create_run(&self, run_id: &str, command: &str, started: &str) -> Result<(), StoreError> {
        let (ws, run, command, started) = (
            self.workspace.clone(),
            run_id.to_string(),
            command.to_string(),
            started.to_string(),
        );
        self.on_session(move |s| {
            s.rt.block_on(async {
                s.client
                    .execute(
                        "INSERT INTO orgform_runs (workspace, run_id, command, started) VALUES ($1, $2, $3, $4)",
                        &[&ws, &run, &command, &started],
                    )
                    .await
                    .map(|_| ())
            })
        })
    }

    fn append(
        &self,
        run_id: &str,
        event: &str,
        status: Option<Option<&str>>,
    ) -> Result<(), StoreError> {
        self.append_delta(run_id, event, status, None)
    }

    fn append_with(&self, run_id: &str, event: &str, delta: &Delta) -> Result<(), StoreError> {
        self.append_delta(run_id, event, None, Some(delta.clone()))
    }

    fn events(&self, run_id: &str) -> Result<Vec<String>, StoreError> {
        let (ws, run) = (self.workspace.clone(), run_id.to_string());
        let found = self.on_session(move |s| {
            s.rt.block_on(async {
                let exists = s
                    .client
                    .query_opt(
                        "SELECT 1 FROM orgform_runs WHERE workspace = $1 AND run_id = $2",
                        &[&ws, &run],
                    )
                    .await?
                    .is_some();
                if !exists {
                    return Ok(None);
                }
                let rows = s
                    .client
                    .query(
                        "SELECT event FROM orgform_journal WHERE workspace = $1 AND run_id = $2 ORDER BY seq",
                        &[&ws, &run],
                    )
                    .await?;
                Ok(Some(rows.iter().map(|r| r.get::<_, String>(0)).collect()))
            })
        })?;
        found.ok_or_else(|| StoreError::NoSuchRun(run_id.to_string()))
    }

    fn runs(&self) -> Result<Vec<RunRow>, StoreError> {
        let ws = self.workspace.clone();
        self.on_session(move |s| {
            s.rt.block_on(async {
                let rows = s
                    .client
                    .query(
                        "SELECT run_id, command, started, status, events FROM orgform_runs
                         WHERE workspace = $1 ORDER BY started, run_id",
                        &[&ws],
                    )
                    .await?;
                Ok(rows
                    .iter()
                    .map(|r| RunRow {
                        run_id: r.get(0),
                        command: r.get(1),
                        started: r.get(2),
                        status: r.get(3),
                        events: r.get::<_, i64>(4) as u64,
                    })
                    .collect())
            })
        })
    }

    fn delete_run(&self, run_id: &str) -> Result<(), StoreError> {
        let (ws, run) = (self.workspace.clone(), run_id.to_string());
        self.on_session(move |s| {
            let Session { rt, client } = s;
            rt.block_on(async {
                let tx = client.transaction().await?;
                tx.execute(
                    "DELETE FROM orgform_journal WHERE workspace = $1 AND run_id = $2",
                    &[&ws, &run],
                )
                .await?;
                tx.execute(
                    "DELETE FROM orgform_runs WHERE workspace = $1 AND run_id = $2",
                    &[&ws, &run],
                )
                .await?;
                tx.commit().await
            })
        })
    }

    fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        let (ws, key) = (self.workspace.clone(), key.to_string());
        self.on_session(move |s| {
            s.rt.block_on(async {
                Ok(s.client
                    .query_opt(
                        "SELECT value FROM orgform_meta WHERE workspace = $1 AND key = $2",
                        &[&ws, &key],
                    )
                    .await?
                    .map(|r| r.get::<_, String>(0)))
            })
        })
    }

    fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        let (ws, key, value) = (self.workspace.clone(), key.to_string(), value.to_string());
        self.on_session(move |s| {
            s.rt.block_on(async {
                s.client
                    .execute(
                        "INSERT INTO orgform_meta (workspace, key, value) VALUES ($1, $2, $3)
                         ON CONFLICT (workspace, key) DO UPDATE SET value = EXCLUDED.value",
                        &[&ws, &key, &value],
                    )
                    .await
                    .map(|_| ())
            })
        })
    }

    fn ledger(&self) -> Option<&dyn Ledger> {
        Some(self)
    }
}

// --- the watch half (store::ledger) ---

/// The advisory lock that serialises lease changes of one workspace (its
/// workspace key, xor a constant: not the workspace lock itself).
fn lease_key(workspace_key: i64) -> i64 {
    workspace_key ^ 0x0077_6174_6368_0000 // "watch"
}

impl Postgres {
    /// One journal event, and with it `delta` when given, in one
    /// transaction.
    fn append_delta(
        &self,
        run_id: &str,
        event: &str,
        status: Option<Option<&str>>,
        delta: Option<Delta>,
    ) -> Result<(), StoreError> {
        let (ws, run, event) = (
            self.workspace.clone(),
            run_id.to_string(),
            event.to_string(),
        );
        let set_status = status.is_some();
        let status = status.flatten().map(str::to_string);
        let seq = self.on_session(move |s| {
            let Session { rt, client } = s;
            rt.block_on(async {
                let tx = client.transaction().await?;
                let row = if set_status {
                    tx.query_opt(
                        "UPDATE orgform_runs SET events = events + 1, status = $3
                         WHERE workspace = $1 AND run_id = $2 RETURNING events",
                        &[&ws, &run, &status],
                    )
                    .await?
                } else {
                    tx.query_opt(
                        "UPDATE orgform_runs SET events = events + 1
                         WHERE workspace = $1 AND run_id = $2 RETURNING events",
                        &[&ws, &run],
                    )
                    .await?
                };
                let Some(row) = row else {
                    tx.rollback().await?;
                    return Ok(None);
                };
                let seq: i64 = row.get(0);
                tx.execute(
                    "INSERT INTO orgform_journal (workspace, run_id, seq, event) VALUES ($1, $2, $3, $4)",
                    &[&ws, &run, &seq, &event],
                )
                .await?;
                if let Some(delta) = &delta {
                    write_delta(&tx, &ws, delta).await?;
                }
                tx.commit().await?;
                Ok(Some(seq))
            })
        })?;
        match seq {
            Some(_) => Ok(()),
            None => Err(StoreError::NoSuchRun(run_id.to_string())),
        }
    }
}

/// A delta's records (merged) and its offset, inside the caller's
/// transaction: `commit` and the ledger's `commit_update` write records the
/// same way.
async fn write_delta(
    tx: &tokio_postgres::Transaction<'_>,
    ws: &str,
    delta: &Delta,
) -> Result<(), tokio_postgres::Error> {
    for ((chat, kind, key), value) in &delta.upserts {
        let current = tx
                .query_opt(
                    "SELECT value FROM orgform_records WHERE workspace = $1 AND chat = $2 AND kind = $3 AND key = $4 FOR UPDATE",
                    &[&ws, chat, kind, key],
                )
                .await?
                .and_then(|r| serde_json::from_str(&r.get::<_, String>(0)).ok());
        if records::replaces(kind, current.as_ref(), value) {
            tx.execute(
                    "INSERT INTO orgform_records (workspace, chat, kind, key, value) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (workspace, chat, kind, key) DO UPDATE SET value = EXCLUDED.value",
                    &[&ws, chat, kind, key, &value.to_string()],
                )
                .await?;
        }
    }
    for (chat, kind, key) in &delta.deletes {
        tx.execute(
                "DELETE FROM orgform_records WHERE workspace = $1 AND chat = $2 AND kind = $3 AND key = $4",
                &[&ws, chat, kind, key],
            )
            .await?;
    }
    if let Some(learned) = delta.offset {
        tx.execute(
            "INSERT INTO orgform_meta (workspace, key, value) VALUES ($1, 'update_offset', $2)
                 ON CONFLICT (workspace, key) DO UPDATE
                 SET value = GREATEST(orgform_meta.value::BIGINT, EXCLUDED.value::BIGINT)::TEXT",
            &[&ws, &learned.to_string()],
        )
        .await?;
    }
    Ok(())
}

impl Ledger for Postgres {
    fn commit_update(&self, commit: &UpdateCommit) -> Result<Vec<String>, StoreError> {
        let ws = self.workspace.clone();
        let commit = commit.clone();
        self.on_session(move |s| {
            let Session { rt, client } = s;
            rt.block_on(async {
                let tx = client.transaction().await?;
                write_delta(&tx, &ws, &commit.delta).await?;
                let mut claimed = Vec::new();
                for fact in &commit.facts {
                    match fact {
                        FactWrite::Put(k, v) => {
                            tx.execute(
                                "INSERT INTO orgform_watch_facts (workspace, key, value) VALUES ($1, $2, $3)
                                 ON CONFLICT (workspace, key) DO UPDATE SET value = EXCLUDED.value",
                                &[&ws, k, v],
                            )
                            .await?;
                        }
                        FactWrite::PutIfAbsent(k, v) => {
                            let n = tx
                                .execute(
                                    "INSERT INTO orgform_watch_facts (workspace, key, value) VALUES ($1, $2, $3)
                                     ON CONFLICT (workspace, key) DO NOTHING",
                                    &[&ws, k, v],
                                )
                                .await?;
                            if n == 1 {
                                claimed.push(k.clone());
                            }
                        }
                        FactWrite::Delete(k) => {
                            tx.execute(
                                "DELETE FROM orgform_watch_facts WHERE workspace = $1 AND key = $2",
                                &[&ws, k],
                            )
                            .await?;
                        }
                    }
                }
                tx.commit().await?;
                Ok(claimed)
            })
        })
    }

    fn facts(&self, prefix: &str) -> Result<Vec<(String, String)>, StoreError> {
        let ws = self.workspace.clone();
        let start = prefix.to_string();
        let end = format!("{prefix}\u{10FFFF}");
        self.on_session(move |s| {
            s.rt.block_on(async {
                let rows = s
                    .client
                    .query(
                        "SELECT key, value FROM orgform_watch_facts WHERE workspace = $1
                         AND key COLLATE \"C\" >= $2 AND key COLLATE \"C\" < $3 ORDER BY key COLLATE \"C\"",
                        &[&ws, &start, &end],
                    )
                    .await?;
                Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
            })
        })
    }

    fn take_lease(&self, lease: &Lease) -> Result<LeaseOutcome, StoreError> {
        let ws = self.workspace.clone();
        let key = lease_key(self.key);
        let wanted = lease.clone();
        self.on_session(move |s| {
            let Session { rt, client } = s;
            rt.block_on(async {
                let tx = client.transaction().await?;
                tx.execute("SELECT pg_advisory_xact_lock($1)", &[&key])
                    .await?;
                let current: Option<Lease> = tx
                    .query_opt(
                        "SELECT value FROM orgform_watch_facts WHERE workspace = $1 AND key = $2",
                        &[&ws, &ledger::keys::LEASE],
                    )
                    .await?
                    .and_then(|r| serde_json::from_str(&r.get::<_, String>(0)).ok());
                let outcome = ledger::decide_lease(current, &wanted);
                if matches!(outcome, LeaseOutcome::Taken { .. }) {
                    tx.execute(
                        "INSERT INTO orgform_watch_facts (workspace, key, value) VALUES ($1, $2, $3)
                         ON CONFLICT (workspace, key) DO UPDATE SET value = EXCLUDED.value",
                        &[
                            &ws,
                            &ledger::keys::LEASE,
                            &serde_json::to_string(&wanted).expect("serialises"),
                        ],
                    )
                    .await?;
                }
                tx.commit().await?;
                Ok(outcome)
            })
        })
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
            let ws = self.workspace.clone();
            self.on_session(move |s| {
                s.rt.block_on(async {
                    s.client
                        .execute(
                            "DELETE FROM orgform_watch_facts WHERE workspace = $1 AND key = $2",
                            &[&ws, &ledger::keys::LEASE],
                        )
                        .await
                        .map(|_| ())
                })
            })?;
        }
        Ok(())
    }
}

/// A bigint advisory key as `pg_locks` shows it: high and low 32 bits.
impl Postgres {
    /// Every row, or (with `chats`) every row but the member records of
    /// other chats.
    fn load_where(&self, chats: Option<&BTreeSet<ChatId>>) -> Result<Store, StoreError> {
        let ws = self.workspace.clone();
        let only: Option<Vec<i64>> = chats.map(|c| c.iter().copied().collect());
        let (rows, offset) = self.on_session(move |s| {
            s.rt.block_on(async {
                let rows = match &only {
                    None => {
                        s.client
                            .query(
                                "SELECT chat, kind, key, value FROM orgform_records WHERE workspace = $1",
                                &[&ws],
                            )
                            .await?
                    }
                    Some(only) => {
                        s.client
                            .query(
                                "SELECT chat, kind, key, value FROM orgform_records
                                 WHERE workspace = $1 AND (kind <> $2 OR chat = ANY($3))",
                                &[&ws, &records::MEMBER_KIND, only],
                            )
                            .await?
                    }
                };
                let offset = s
                    .client
                    .query_opt(
                        "SELECT value FROM orgform_meta WHERE workspace = $1 AND key = 'update_offset'",
                        &[&ws],
                    )
                    .await?
                    .map(|r| r.get::<_, String>(0));
                Ok((rows, offset))
            })
        })?;
        let corrupt = |detail| StoreError::Corrupt {
            backend: self.describe(),
            detail,
        };
        let mut loader = records::Loader::default();
        for r in &rows {
            loader
                .add(r.get(0), r.get(1), r.get(2), r.get(3))
                .map_err(corrupt)?;
        }
        loader
            .finish(offset.and_then(|o| o.parse().ok()), chats.cloned())
            .map_err(corrupt)
    }
}

fn split_key(key: i64) -> (i64, i64) {
    let k = key as u64;
    ((k >> 32) as i64, (k & 0xffff_ffff) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_hosts_may_skip_tls() {
        let local: Config = "postgres://u:p@127.0.0.1:5432/db".parse().unwrap();
        assert!(loopback_only(&local));
        let local: Config = "postgres://u@localhost/db".parse().unwrap();
        assert!(loopback_only(&local));
        let remote: Config = "postgres://u@db.example.com/db".parse().unwrap();
        assert!(!loopback_only(&remote));
        let e = Postgres::connect("postgres://u:secret@db.example.com/db?sslmode=disable", "w")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("TLS is required"), "{e}");
        assert!(!e.contains("secret"), "{e}");
    }

    #[test]
    fn lock_keys_are_stable_and_split_like_pg_locks() {
        assert_eq!(lock_key("acme"), lock_key("acme"));
        assert_ne!(lock_key("acme"), lock_key("globex"));
        assert_eq!(split_key(-1), (0xffff_ffff, 0xffff_ffff));
        assert_eq!(split_key(0x1_0000_0002), (1, 2));
    }
}
