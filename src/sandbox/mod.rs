//! The sandbox: a stateful Telegram Bot API emulator on 127.0.0.1 (DESIGN.md
//! §8). It holds a [`World`] of users, chats, members, rights, links, topics,
//! pins and commands, enforces Telegram's rules with Telegram's exact errors,
//! emits updates, injects faults on request, and counts calls.
//!
//! Starting one in-process is a function call:
//!
//! ```no_run
//! # async fn demo(world: orgform::sandbox::World) -> Result<(), orgform::sandbox::SandboxError> {
//! use orgform::sandbox::{self, SandboxOptions};
//! let running = sandbox::start(SandboxOptions::default(), world).await?;
//! let api_url = running.base_url(); // use as `api_url`, with running.token()
//! // … talk to it over HTTP …
//! let world = running.shutdown().await?; // saved to the world file, if one was set
//! # Ok(()) }
//! ```
//!
//! The sandbox never uses the `telegram` client module: it only speaks the
//! wire format, so it can check that client rather than share its mistakes.

pub mod faults;
pub mod generate;
mod methods;
pub mod mtproto;
mod request;
mod rules;
pub mod seed;
mod server;
pub mod stats;
mod updates;
mod wire;
pub mod world;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::botapi_spec::BotApiSpec;

pub use faults::FaultOptions;
pub use methods::{BOT_API_METHODS, HUMAN_ONLY_METHODS};
pub use rules::errors::ApiError;
pub use seed::SeedOptions;
pub use stats::Stats;
pub use world::World;

/// How to run a sandbox.
#[derive(Clone, Debug)]
pub struct SandboxOptions {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// The token to accept; `None` uses the world's.
    pub token: Option<String>,
    /// Where to save the world (periodically and on shutdown); `None` keeps it in memory.
    pub world_file: Option<PathBuf>,
    /// How often to save a changed world.
    pub save_interval: Duration,
    pub faults: FaultOptions,
    /// Check every result against this spec; a result that does not validate
    /// is answered with a 500 and recorded in the stats. Tests turn it on.
    pub check_spec: Option<Arc<BotApiSpec>>,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            port: 0,
            token: None,
            world_file: None,
            save_interval: Duration::from_secs(5),
            faults: FaultOptions::default(),
            check_spec: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Bind { port: u16, source: std::io::Error },
    #[error(transparent)]
    World(#[from] world::WorldError),
    #[error("the sandbox server failed: {0}")]
    Server(String),
}

/// A sandbox serving in the background of the current tokio runtime.
pub struct RunningSandbox {
    addr: SocketAddr,
    shared: Arc<server::Shared>,
    stop: watch::Sender<bool>,
    server: JoinHandle<std::io::Result<()>>,
    tasks: Vec<JoinHandle<()>>,
}

/// Start serving `world` on 127.0.0.1.
pub async fn start(
    options: SandboxOptions,
    mut world: World,
) -> Result<RunningSandbox, SandboxError> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", options.port))
        .await
        .map_err(|source| SandboxError::Bind {
            port: options.port,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| SandboxError::Bind {
        port: options.port,
        source,
    })?;
    if let Some(token) = &options.token {
        world.bot.token = token.clone();
    }
    let (stop, stop_rx) = watch::channel(false);
    let shared = Arc::new(server::Shared {
        token: world.bot.token.clone(),
        world: Mutex::new(world),
        faults: Mutex::new(faults::Faults::new(options.faults.clone())),
        stats: Mutex::new(Stats::new(rules::unix_now())),
        spec: options.check_spec.clone(),
        changed: Notify::new(),
        dirty: Default::default(),
        stop: stop_rx.clone(),
        world_file: options.world_file.clone(),
        next_set_webhook: Mutex::new(None),
        poll_generation: Default::default(),
    });
    let app = server::router(shared.clone());
    let mut graceful = stop_rx;
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = graceful.wait_for(|stopped| *stopped).await;
            })
            .await
    });
    let tasks = vec![
        tokio::spawn(server::deliver_webhooks(shared.clone())),
        tokio::spawn(server::autosave(shared.clone(), options.save_interval)),
    ];
    Ok(RunningSandbox {
        addr,
        shared,
        stop,
        server,
        tasks,
    })
}

impl RunningSandbox {
    /// `http://127.0.0.1:PORT`: the `api_url` for clients.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bot token the sandbox accepts.
    pub fn token(&self) -> &str {
        &self.shared.token
    }

    /// `{base_url}/bot{token}/{method}`.
    pub fn method_url(&self, method: &str) -> String {
        format!("{}/bot{}/{}", self.base_url(), self.shared.token, method)
    }

    /// A copy of the world as it is now.
    pub fn world_snapshot(&self) -> World {
        server::lock(&self.shared.world).clone()
    }

    /// Replace the world (the token stays).
    pub fn replace_world(&self, mut world: World) {
        world.bot.token = self.shared.token.clone();
        *server::lock(&self.shared.world) = world;
        self.shared.dirty.store(true, Ordering::Relaxed);
        self.shared.changed.notify_waiters();
    }

    pub fn stats(&self) -> Stats {
        server::lock(&self.shared.stats).clone()
    }

    pub fn reset_stats(&self) {
        *server::lock(&self.shared.stats) = Stats::new(rules::unix_now());
    }

    /// Act as a person, like `POST /sandbox/act`, without HTTP.
    pub fn act(&self, as_user: i64, method: &str, params: Value) -> Result<Value, ApiError> {
        let request = serde_json::json!({"as": as_user, "method": method, "params": params});
        server::lock(&self.shared.stats).acts += 1;
        server::run_act(&self.shared, &request)
    }

    /// Stop serving, save the world to its file (if any) and return it.
    pub async fn shutdown(self) -> Result<World, SandboxError> {
        let _ = self.stop.send(true);
        let served = self.server.await;
        for task in self.tasks {
            let _ = task.await;
        }
        let world = server::lock(&self.shared.world).clone();
        if let Some(path) = &self.shared.world_file {
            world.save(path)?;
        }
        match served {
            Ok(Ok(())) => Ok(world),
            Ok(Err(e)) => Err(SandboxError::Server(e.to_string())),
            Err(e) => Err(SandboxError::Server(e.to_string())),
        }
    }
}
