//! Reaching Telegram from a command: the flags every Telegram-facing
//! command shares (`--sandbox`, `--api-url`, `--token-file`, `--state-dir`),
//! the environment they read, and the in-process sandbox.
//!
//! With `--sandbox` everything lives under `<state-dir>/sandbox/` — the
//! emulated world, the store and the journals — so trying the sandbox never
//! touches what orgform remembers about the real Telegram.

use std::path::{Path, PathBuf};

use clap::Args;

use super::error::CliError;
use crate::sandbox::{self, RunningSandbox, SandboxOptions, World};
use crate::state::DesiredState;
use crate::store::{self as state_store, Holder, LockGuard, Store, file as store_file};
use crate::telegram::client::{self, Client, ClientOptions};

#[derive(Args, Debug, Clone)]
pub struct TelegramArgs {
    /// Run against a built-in Telegram sandbox seeded from the config
    /// (its world is kept in <state-dir>/sandbox/).
    #[arg(long, conflicts_with_all = ["api_url", "token_file"])]
    pub sandbox: bool,
    /// Bot API base URL [env: ORGFORM_TELEGRAM_API_URL; default: org.telegram.api_url, then https://api.telegram.org].
    #[arg(long)]
    pub api_url: Option<String>,
    /// File holding the bot token [default: env ORGFORM_TELEGRAM_TOKEN]. The token is never printed.
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// Where orgform keeps its store and journals [env: ORGFORM_STATE_DIR; default: .orgform].
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// The state backend: postgres://…[?workspace=NAME] for teams and CI, or an SQLite file
    /// [env: ORGFORM_STATE; default: <state-dir>/orgform.db]. Never printed with its password.
    #[arg(long, value_name = "URL")]
    pub state: Option<String>,
    /// Chats worked on at the same time (each chat's changes run in order).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallel_chats: u16,
    /// Pace to start from against real Telegram, in requests per second
    /// (0 = unpaced). The pace then adapts: it rises while calls succeed and
    /// drops on a 429, settling just under the server's limit.
    #[arg(long, default_value_t = 25.0)]
    pub requests_per_second: f64,
    /// The highest pace the adaptive pace may reach, in requests per second.
    #[arg(long, default_value_t = 200.0)]
    pub max_requests_per_second: f64,
    /// Keep the pace at --requests-per-second instead of adapting it.
    #[arg(long)]
    pub fixed_pace: bool,
}

/// A live connection: the client, the state dir in use, and the sandbox
/// when there is one (dropped = stopped, after saving its world).
pub struct Connection {
    pub client: Client,
    pub state_dir: PathBuf,
    pub sandbox: Option<RunningSandbox>,
    /// Where everything orgform remembers lives.
    pub state: state_store::Shared,
    /// The snapshot last loaded: saving writes only what changed since.
    base: std::sync::Mutex<Store>,
    /// The workspace lock, once taken.
    lock: std::sync::Mutex<Option<LockGuard>>,
    /// Record nothing (`plan --lock=false`).
    read_only: std::sync::atomic::AtomicBool,
}

impl Connection {
    /// A snapshot of the store; [`Connection::save_store`] later writes
    /// only what changed in it since.
    pub fn load_store(&self) -> Result<Store, CliError> {
        self.load_store_of(None)
    }

    /// [`Connection::load_store`] with the member records of only `chats`
    /// (all of them when `None`): a run that reads a few chats need not
    /// load the whole member ledger. Saving it writes back only what
    /// changed in what it loaded.
    pub fn load_store_of(
        &self,
        chats: Option<&std::collections::BTreeSet<crate::state::ChatId>>,
    ) -> Result<Store, CliError> {
        let store = match chats {
            Some(chats) => self.state.load_chats(chats),
            None => self.state.load(),
        }
        .map_err(state_error)?;
        *self.base.lock().expect("base lock") = store.clone();
        Ok(store)
    }

    /// Write what this process learned since its last load (merged with
    /// what others wrote meanwhile), under the workspace lock. Read-only
    /// connections record nothing.
    pub fn save_store(&self, store: &Store) -> Result<(), CliError> {
        if self.read_only.load(std::sync::atomic::Ordering::SeqCst) {
            return Ok(());
        }
        let mut base = self.base.lock().expect("base lock");
        let delta = state_store::records::delta(&base, store);
        if delta.is_empty() {
            return Ok(());
        }
        // A command that did not take the lock for its whole run takes it
        // for the write.
        let held = self.lock.lock().expect("lock lock").is_some();
        let _transient = if held {
            None
        } else {
            Some(
                LockGuard::acquire(&self.state, Holder::me("save", jiff::Timestamp::now()))
                    .map_err(lock_error)?,
            )
        };
        self.state.commit(&delta).map_err(state_error)?;
        *base = store.clone();
        state_store::records::settle(&mut base);
        Ok(())
    }

    /// Take the workspace lock for the rest of the command.
    pub fn take_lock(&self, command: &str, now: jiff::Timestamp) -> Result<(), CliError> {
        let guard =
            LockGuard::acquire(&self.state, Holder::me(command, now)).map_err(lock_error)?;
        if let Some(previous) = &guard.took_over {
            eprintln!(
                "note: took over the lock of {}, which no longer runs",
                previous.describe()
            );
        }
        *self.lock.lock().expect("lock lock") = Some(guard);
        Ok(())
    }

    /// Name the run in the held lock.
    pub fn lock_run(&self, run_id: &str) {
        if let Some(guard) = self.lock.lock().expect("lock lock").as_mut() {
            let _ = guard.set_run(run_id);
        }
    }

    /// From now on record nothing (a read-only plan or drift).
    pub fn set_read_only(&self) {
        self.read_only
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn read_only(&self) -> bool {
        self.read_only.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Release the lock now (before a long wait, or at the end).
    pub fn release_lock(&self) {
        self.lock.lock().expect("lock lock").take();
    }

    /// Stop the sandbox (saving its world). Without a sandbox, nothing.
    pub async fn close(self) -> Result<(), CliError> {
        self.release_lock();
        if let Some(running) = self.sandbox {
            running
                .shutdown()
                .await
                .map_err(|e| CliError::caused(format!("sandbox: {e}"), e))?;
        }
        Ok(())
    }
}

/// Create a directory (and its parents) only its owner can enter: mode
/// 0700, also for an existing state dir created with a looser mode by an
/// older orgform. The store and journals hold who is in which chat.
pub fn private_dir(dir: &Path) -> Result<(), CliError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let created = std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir);
    created.map_err(|e| CliError::caused(format!("cannot create {}", dir.display()), e))?;
    let mode = std::fs::metadata(dir)?.permissions().mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Write a file only its owner can read (mode 0600 from the start, not
/// after the fact): saved plans name people and chats.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let fail = |e: std::io::Error| CliError::caused(format!("cannot write {}", path.display()), e);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(fail)?;
    // An existing file keeps its mode on open: tighten it.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(fail)?;
    file.write_all(bytes).map_err(fail)?;
    file.sync_all().map_err(fail)
}

/// The state dir from the flag, the environment or the default.
pub fn state_dir(args: &TelegramArgs) -> Result<PathBuf, CliError> {
    let cwd = std::env::current_dir()?;
    let env = std::env::var_os("ORGFORM_STATE_DIR");
    Ok(store_file::state_dir(
        args.state_dir.as_deref(),
        env.as_deref(),
        &cwd,
    ))
}

/// A state backend error for the user.
pub fn state_error(e: state_store::StoreError) -> CliError {
    match e {
        state_store::StoreError::Locked { .. } => lock_error(e),
        full if full.disk_full() => CliError::from_source(
            full,
            Some(
                "the disk holding the state looks full: free some space and run the command again (what was written before is kept)"
                    .into(),
            ),
        ),
        other => CliError::from_source(other, None),
    }
}

/// The lock is held: who holds it, and the ways forward.
pub fn lock_error(e: state_store::StoreError) -> CliError {
    match &e {
        state_store::StoreError::Locked { holder } => CliError::with_hint(
            format!("the state is locked by {}", holder.describe()),
            "wait for it to finish; for a read-only plan use `--lock=false`; if that process is gone (another machine, a killed container), `orgform state unlock --force` removes the lock",
        ),
        _ => CliError::from_source(e, None),
    }
}

/// Open the state backend for a state dir: `--state` > `ORGFORM_STATE` >
/// `<state-dir>/orgform.db`. Import notes go to stderr.
pub fn open_state(flag: Option<&str>, state_dir: &Path) -> Result<state_store::Shared, CliError> {
    let env = std::env::var("ORGFORM_STATE").ok();
    let location =
        state_store::Location::choose(flag, env.as_deref(), state_dir).map_err(state_error)?;
    let (backend, notes) = state_store::open(&location, state_dir).map_err(state_error)?;
    for note in notes {
        eprintln!("{note}");
    }
    Ok(backend)
}

/// The world file the `--sandbox` flag keeps.
pub fn sandbox_world_path(state_dir: &Path) -> PathBuf {
    state_dir.join("sandbox").join("world.json")
}

/// Connect to Telegram (or start the sandbox). Must run inside a tokio runtime.
pub async fn connect(
    args: &TelegramArgs,
    desired: &DesiredState,
    config_api_url: Option<&str>,
) -> Result<Connection, CliError> {
    let base_dir = state_dir(args)?;
    if args.sandbox {
        private_dir(&base_dir)?;
        let dir = base_dir.join("sandbox");
        private_dir(&dir)?;
        let world_file = sandbox_world_path(&base_dir);
        let world = if world_file.exists() {
            World::load(&world_file).map_err(|e| {
                CliError::with_hint(
                    format!(
                        "cannot read the sandbox world {}: {e}",
                        world_file.display()
                    ),
                    "delete it to seed a fresh one from the config",
                )
            })?
        } else {
            let world = World::from_desired(desired, &sandbox::SeedOptions::default());
            world.save(&world_file).map_err(|e| {
                CliError::caused(format!("cannot write {}: {e}", world_file.display()), e)
            })?;
            world
        };
        let options = SandboxOptions {
            world_file: Some(world_file),
            ..SandboxOptions::default()
        };
        let running = sandbox::start(options, world)
            .await
            .map_err(|e| CliError::caused(format!("cannot start the sandbox: {e}"), e))?;
        let url = client::ApiUrl::parse(&running.base_url()).map_err(setup)?;
        let token = client::Token::new(running.token(), "from the sandbox").map_err(setup)?;
        let options = ClientOptions {
            max_parallel_chats: args.parallel_chats.into(),
            ..sandbox_client_options()
        };
        let client = Client::new(url, token, options).map_err(setup)?;
        // The sandbox's state never mixes with the real one: always the
        // SQLite file in its own dir.
        let state = open_state(
            Some(
                &dir.join(state_store::sqlite::FILE_NAME)
                    .display()
                    .to_string(),
            ),
            &dir,
        )?;
        return Ok(Connection::new(client, dir, Some(running), state));
    }
    let env_url = std::env::var("ORGFORM_TELEGRAM_API_URL").ok();
    let url = client::resolve_api_url(args.api_url.as_deref(), env_url.as_deref(), config_api_url)
        .map_err(setup)?;
    let env_token = std::env::var("ORGFORM_TELEGRAM_TOKEN").ok();
    let token =
        client::load_token(args.token_file.as_deref(), env_token.as_deref()).map_err(setup)?;
    let options = ClientOptions {
        max_parallel_chats: args.parallel_chats.into(),
        requests_per_second: (args.requests_per_second > 0.0).then_some(args.requests_per_second),
        max_requests_per_second: args.max_requests_per_second,
        adaptive_pace: !args.fixed_pace,
        ..ClientOptions::default()
    };
    private_dir(&base_dir)?;
    let client = Client::new(url, token, options).map_err(setup)?;
    let state = open_state(args.state.as_deref(), &base_dir)?;
    Ok(Connection::new(client, base_dir, None, state))
}

impl Connection {
    fn new(
        client: Client,
        state_dir: PathBuf,
        sandbox: Option<RunningSandbox>,
        state: state_store::Shared,
    ) -> Connection {
        Connection {
            client,
            state_dir,
            sandbox,
            state,
            base: Default::default(),
            lock: Default::default(),
            read_only: Default::default(),
        }
    }
}

/// The sandbox answers at once and never floods: no pacing needed.
fn sandbox_client_options() -> ClientOptions {
    ClientOptions {
        requests_per_second: None,
        ..ClientOptions::default()
    }
}

fn setup(e: crate::telegram::error::SetupError) -> CliError {
    let hint = match &e {
        crate::telegram::error::SetupError::NoToken => Some(
            "set ORGFORM_TELEGRAM_TOKEN, pass --token-file FILE, or try everything with --sandbox"
                .to_string(),
        ),
        _ => None,
    };
    CliError::from_source(e, hint)
}

/// A tokio runtime for one command: two workers are plenty for a client
/// whose pace Telegram sets.
pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    runtime_with(Some(2))
}

/// A tokio runtime for a server (`sandbox serve`): a worker per core.
pub fn server_runtime() -> Result<tokio::runtime::Runtime, CliError> {
    runtime_with(None)
}

fn runtime_with(workers: Option<usize>) -> Result<tokio::runtime::Runtime, CliError> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = workers {
        builder.worker_threads(n);
    }
    builder
        .enable_all()
        .build()
        .map_err(|e| CliError::caused(format!("cannot start the async runtime: {e}"), e))
}

/// Run a command's async work so that Ctrl-C stops it with exit 130 and
/// says what state things were left in (`what`: "nothing was changed").
/// Only for commands that change nothing in Telegram: `apply` and
/// `rollback` keep the default signal handling their journal expects.
pub fn block_on_interruptible<T>(
    rt: &tokio::runtime::Runtime,
    what: &str,
    work: impl std::future::Future<Output = Result<T, CliError>>,
) -> Result<T, CliError> {
    rt.block_on(async {
        tokio::select! {
            result = work => result,
            _ = tokio::signal::ctrl_c() => Err(CliError::Interrupted {
                message: format!("interrupted; {what}"),
            }),
        }
    })
}

/// The `api_url` a config names.
pub fn config_api_url(config: &crate::model::Config) -> Option<&str> {
    config.org.as_ref()?.telegram.as_ref()?.api_url.as_deref()
}
