//! `orgform watch`: run the always-on half (`crate::watch`) with the
//! command line's Telegram connection, state backend, signals and output;
//! and the helpers `plan`, `drift` and `apply` use to read what watch
//! keeps (the ledger's status, invites waiting for delivery).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::connect::{self, TelegramArgs};
use super::error::{CliError, exit};
use crate::store::ledger::LedgerStatus;
use crate::watch::webhook::{Network, WebhookOptions};
use crate::watch::{self as watching, EnforceOutcome, Enforcer, Options, Sink, Watch};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    /// One JSON object per line (for log collectors).
    Json,
}

#[derive(Args, Debug)]
pub struct WatchArgs {
    /// A config file or directory [default: ./org/ if it exists, else ./orgform.yaml (.yml, .kdl)].
    #[arg(default_value_os_t = crate::config::load::default_path(), hide_default_value = true)]
    pub config: PathBuf,
    #[command(flatten)]
    pub telegram: TelegramArgs,
    /// Revert drift that `apply` can fix (rights changed on seats the bot may edit, strangers
    /// in authoritative chats, offboarded people back, titles and settings), under the plan's
    /// guards and the policy rules, journaled like an apply. Seats a person gave are undone
    /// through the signed-in account (org.telegram.provider: both), else alerted only.
    #[arg(long)]
    pub enforce: bool,
    /// With --enforce: reverts of one address allowed per hour; beyond that watch only alerts,
    /// so a fight with a person cannot loop.
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub enforce_per_hour: u32,
    /// Receive updates by webhook: the local address to listen on (behind a TLS reverse proxy).
    #[arg(long, value_name = "ADDR", requires = "webhook_url")]
    pub webhook_listen: Option<SocketAddr>,
    /// The public HTTPS URL Telegram posts updates to (your reverse proxy).
    #[arg(long, value_name = "URL", requires = "webhook_listen")]
    pub webhook_url: Option<String>,
    /// File holding the webhook's secret token (A-Z a-z 0-9 _ -, 1–256 characters)
    /// [default: env ORGFORM_WEBHOOK_SECRET]. Checked on every request.
    #[arg(long, value_name = "FILE")]
    pub webhook_secret_file: Option<PathBuf>,
    /// Accept webhook requests only from these source networks (repeat; e.g. Telegram's
    /// 149.154.160.0/20 and 91.108.4.0/22, or your proxy's address).
    #[arg(long, value_name = "NETWORK")]
    pub webhook_allow: Vec<Network>,
    /// Reverse proxies (repeat; an address or network) whose X-Forwarded-For is believed: a
    /// request from one is checked against --webhook-allow by the right-most address of
    /// X-Forwarded-For that is not a trusted proxy. From anyone else the header is ignored.
    #[arg(long, value_name = "NETWORK", requires = "webhook_listen")]
    pub webhook_trusted_proxy: Vec<Network>,
    /// Serve /healthz and Prometheus /metrics on this local address (e.g. 127.0.0.1:9464).
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// Log lines as text or JSON (on stderr; events go to stdout as JSON lines either way).
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// When another watch holds the lease, wait for it instead of exiting.
    #[arg(long)]
    pub wait_for_lease: bool,
    /// Seconds the lease stays valid without renewal (watch renews it every third of this).
    #[arg(long, default_value_t = 30, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(3..=3600))]
    pub lease_seconds: u64,
    /// Read every managed chat's settings this often and alert on changes made by hand
    /// (Telegram sends no update for default permissions, slow mode, …): `60s`, `5m`, or
    /// seconds; `0` turns it off. One getChat per chat and round, paced like every call.
    #[arg(long, default_value = "60s", value_name = "DURATION", value_parser = parse_interval)]
    pub settings_poll: Duration,
    /// Long-poll timeout of getUpdates, in seconds.
    #[arg(long, default_value_t = 25, value_name = "SECONDS",
          value_parser = clap::value_parser!(u32).range(0..=50))]
    pub poll_timeout: u32,
}

/// `60s`, `5m`, `1h30m` or plain seconds; at least a second unless 0 (off).
fn parse_interval(text: &str) -> Result<Duration, String> {
    let duration = match text.trim().parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            let d: jiff::SignedDuration = text
                .trim()
                .parse()
                .map_err(|e| format!("not a duration like 60s or 5m: {e}"))?;
            Duration::try_from(d).map_err(|_| "a duration cannot be negative".to_string())?
        }
    };
    if !duration.is_zero() && duration < Duration::from_secs(1) {
        return Err("at least 1s (or 0 to turn it off)".into());
    }
    Ok(duration)
}

/// Who changed a setting, from the chat's admin log, read as the signed-in
/// person (the same reading `drift` names people with).
struct AdminLog(Arc<crate::mtproto::UserProvider>);

impl crate::watch::settings::Attributor for AdminLog {
    fn who<'a>(
        &'a self,
        chat: crate::state::ChatId,
        address: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Option<String>> + Send + 'a>> {
        Box::pin(async move {
            let items = [(chat, address.to_string(), None)];
            match crate::mtproto::read::attribute(&self.0, &items).await {
                Ok(found) => found.into_iter().next().flatten(),
                Err(e) => {
                    tracing::warn!("cannot read the admin log of chat {chat}: {e}");
                    None
                }
            }
        })
    }
}

/// Whether the command asks for JSON logs (the logger starts before the
/// command runs).
pub fn json_logs(command: &super::Command) -> bool {
    matches!(command, super::Command::Watch(a) if a.log_format == LogFormat::Json)
}

/// Events as JSON lines on stdout. A closed stdout does not stop watch:
/// the ledger matters more than its audience.
struct StdoutSink;

impl Sink for StdoutSink {
    fn event(&self, event: &serde_json::Value) {
        let mut line = event.clone();
        if let Some(o) = line.as_object_mut() {
            o.insert(
                "at".into(),
                serde_json::json!(jiff::Timestamp::now().to_string()),
            );
        }
        if super::output::outln!("{line}").is_err() {
            tracing::debug!("stdout is closed; event not printed");
        }
        let _ = super::output::flush();
    }
}

/// `--enforce`: plan the one chat, keep the changes at the alert's
/// address, refuse what the guards refuse, and apply the rest with a
/// journal under the workspace lock.
struct PlanAndApply {
    client: crate::telegram::client::Client,
    backend: crate::store::Shared,
    /// The config as last (re)loaded.
    model: Arc<std::sync::RwLock<Arc<crate::model::Model>>>,
    /// The signed-in person, when the org uses the user provider: admin
    /// seats the bot may not edit are changed through the account.
    person: Option<Arc<crate::mtproto::UserProvider>>,
}

/// The bot for every change, but the seats in `seats` (chat, user), which
/// only a person may edit, and the settings only a person can change
/// (`Op::needs_person`, as `apply::Split` routes them): those go to the
/// signed-in account. A seat is read before and after by the bot
/// (getChatMember), which sees it.
struct SeatsThroughPerson<'a> {
    bot: crate::telegram::TelegramProvider,
    person: &'a crate::mtproto::UserProvider,
    seats: std::collections::BTreeSet<(crate::state::ChatId, crate::state::UserId)>,
}

impl SeatsThroughPerson<'_> {
    fn by_person(&self, change: &crate::plan::change::Change) -> bool {
        change.op.needs_person()
            || crate::mtproto::provider::seat_change(change)
                .is_some_and(|(user, _)| self.seats.contains(&(change.chat_id, user)))
    }
}

impl crate::apply::provider::Provider for SeatsThroughPerson<'_> {
    async fn execute(
        &self,
        change: &crate::plan::change::Change,
    ) -> Result<crate::apply::provider::Executed, crate::apply::provider::ProviderError> {
        if self.by_person(change) {
            self.person.execute(change).await
        } else {
            self.bot.execute(change).await
        }
    }

    async fn observe_before(
        &self,
        change: &crate::plan::change::Change,
    ) -> Result<crate::apply::provider::Observed, crate::apply::provider::ProviderError> {
        if change.op.needs_person() {
            self.person.observe_before(change).await
        } else {
            self.bot.observe_before(change).await
        }
    }

    fn inverse(
        &self,
        change: &crate::plan::change::Change,
        before: &crate::apply::provider::Observed,
        done: &crate::apply::provider::Executed,
    ) -> crate::apply::provider::Inverse {
        if change.op.needs_person() {
            self.person.inverse(change, before, done)
        } else {
            self.bot.inverse(change, before, done)
        }
    }

    async fn evidence(
        &self,
        change: &crate::plan::change::Change,
        before: &crate::apply::provider::Observed,
    ) -> crate::apply::provider::Evidence {
        if change.op.needs_person() {
            self.person.evidence(change, before).await
        } else {
            self.bot.evidence(change, before).await
        }
    }
}

impl Enforcer for PlanAndApply {
    fn enforce<'a>(
        &'a self,
        chat_key: &'a str,
        address: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = EnforceOutcome> + Send + 'a>> {
        Box::pin(async move {
            match self.revert(chat_key, address).await {
                Ok(outcome) => outcome,
                Err(reason) => EnforceOutcome::Failed { reason },
            }
        })
    }
}

impl PlanAndApply {
    async fn revert(&self, chat_key: &str, address: &str) -> Result<EnforceOutcome, String> {
        use crate::apply::journal::{self, Event, Journal};
        use crate::store::{Holder, LockGuard, StoreError, records};
        let now = jiff::Timestamp::now();
        let _lock = match LockGuard::acquire(&self.backend, Holder::me("watch --enforce", now)) {
            Ok(guard) => guard,
            Err(StoreError::Locked { holder }) => {
                return Ok(EnforceOutcome::Refused {
                    reason: format!("the state is locked by {}", holder.describe()),
                });
            }
            Err(e) => return Err(e.to_string()),
        };
        // A run cut off mid-call (an apply, or this watch killed while
        // reverting) may have changed things nobody knows of yet: nothing
        // runs on top of it, as with `apply`, until it is settled.
        if let Some(run) = super::state::unfinished_in(&self.backend)
            .map_err(|e| e.to_string())?
            .first()
        {
            return Ok(EnforceOutcome::Refused {
                reason: format!(
                    "run {run} is unfinished; settle it with `orgform apply --resume {run}` (or `orgform state abandon {run}`)"
                ),
            });
        }
        let model = self.model.read().expect("model lock").clone();
        let desired = &model.desired;
        let base = self.backend.load().map_err(|e| e.to_string())?;
        let mut store = base.clone();
        let mut live = crate::telegram::read::read_chats(
            &self.client,
            desired,
            &mut store,
            now.as_second(),
            &[chat_key.to_string()],
        )
        .await
        .map_err(|e| e.to_string())?;
        // With a person, the seats the bot may not edit (but the owner's)
        // are planned like the others, and carried by the account.
        let mut person_seats = std::collections::BTreeSet::new();
        if self.person.is_some()
            && let (Some(meta), Some(chat)) =
                (live.meta.get_mut(chat_key), live.state.chats.get(chat_key))
        {
            let owners: std::collections::BTreeSet<_> = chat
                .admins
                .iter()
                .filter(|(_, s)| s.owner)
                .map(|(u, _)| *u)
                .collect();
            person_seats = meta
                .not_editable
                .iter()
                .filter(|u| !owners.contains(u))
                .map(|u| (chat.id, *u))
                .collect();
            meta.not_editable.retain(|u| owners.contains(u));
        }
        self.backend
            .commit(&records::delta(&base, &store))
            .map_err(|e| e.to_string())?;
        let mut plan = crate::plan::build(crate::plan::PlanInput {
            desired,
            live: &live,
            store: &store,
            policies: model.config.policies.as_ref(),
            overrides: Default::default(),
            now,
            only: Some(vec![chat_key.to_string()]),
        });
        if plan.refused() {
            let guards: Vec<String> = plan
                .guards
                .iter()
                .filter(|g| !g.overridden)
                .map(|g| g.code.clone())
                .collect();
            return Ok(EnforceOutcome::Refused {
                reason: format!("the plan's guards refuse it: {}", guards.join(", ")),
            });
        }
        plan.changes.retain(|c| c.address.0 == address);
        if plan.changes.is_empty() {
            return Ok(EnforceOutcome::NothingToDo);
        }
        if plan.executable().next().is_none() {
            // Only a person can (Telegram lets a bot edit only the admins
            // it promoted itself, for one).
            let why: Vec<String> = plan.changes.iter().flat_map(|c| c.why.clone()).collect();
            return Ok(EnforceOutcome::Refused {
                reason: format!("a person must fix it: {}", why.join("; ")),
            });
        }
        // The config's policy rules, as for an apply: a revert a deny rule
        // forbids is not made.
        let state = crate::policy::planned_state(desired, &live, &plan);
        let policy = crate::policy::evaluate_state(
            &model,
            &state,
            live.bot.as_ref().map(|b| b.id),
            now,
            "plan",
        );
        if policy.denied() {
            return Ok(EnforceOutcome::Refused {
                reason: format!("policy rules deny it: {}", policy.denied_rules().join(", ")),
            });
        }
        let run_id = journal::new_run_id(now);
        let mut journal =
            Journal::start(&self.backend, &run_id, "watch --enforce", &now.to_string())
                .map_err(|e| e.to_string())?;
        journal
            .write(&Event::Start {
                run_id: run_id.clone(),
                at: now.to_string(),
                plan: Box::new(plan.clone()),
            })
            .map_err(|e| e.to_string())?;
        let bot = crate::telegram::TelegramProvider::new(self.client.clone());
        let before = store.clone();
        let report = match &self.person {
            Some(person) => {
                let provider = SeatsThroughPerson {
                    bot,
                    person,
                    seats: person_seats,
                };
                crate::apply::run(
                    &provider,
                    &plan,
                    &mut journal,
                    &mut store,
                    now.as_second(),
                    1,
                    crate::apply::Prior::default(),
                    &crate::apply::Hooks::none(),
                )
                .await
            }
            None => {
                crate::apply::run(
                    &bot,
                    &plan,
                    &mut journal,
                    &mut store,
                    now.as_second(),
                    1,
                    crate::apply::Prior::default(),
                    &crate::apply::Hooks::none(),
                )
                .await
            }
        };
        self.backend
            .commit(&records::delta(&before, &store))
            .map_err(|e| e.to_string())?;
        match report.status() {
            crate::apply::journal::RunStatus::Applied => Ok(EnforceOutcome::Reverted {
                run_id,
                changes: report.applied.len(),
            }),
            other => Ok(EnforceOutcome::Failed {
                reason: format!(
                    "run {run_id} ended {}: {}",
                    other.as_str(),
                    report
                        .failed
                        .map(|(_, e)| e)
                        .unwrap_or_else(|| "see `orgform state runs`".into())
                ),
            }),
        }
    }
}

fn webhook_secret(args: &WatchArgs) -> Result<String, CliError> {
    let secret = match &args.webhook_secret_file {
        // A secret is at most 256 characters: read a little more than that,
        // never a whole device or a huge file named by mistake.
        Some(path) => {
            use std::io::Read;
            let fail = |e| CliError::caused(format!("cannot read {}", path.display()), e);
            let mut text = String::new();
            std::fs::File::open(path)
                .map_err(fail)?
                .take(1024)
                .read_to_string(&mut text)
                .map_err(fail)?;
            text
        }
        None => std::env::var("ORGFORM_WEBHOOK_SECRET").unwrap_or_default(),
    };
    let secret = secret.trim().to_string();
    if !crate::watch::webhook::valid_secret(&secret) {
        return Err(CliError::with_hint(
            "the webhook needs a secret token of 1–256 characters A-Z a-z 0-9 _ -",
            "put one in a file for --webhook-secret-file, or in ORGFORM_WEBHOOK_SECRET (e.g. `openssl rand -hex 32`)",
        ));
    }
    Ok(secret)
}

pub fn run(args: WatchArgs) -> Result<u8, CliError> {
    let now = jiff::Timestamp::now();
    let model = Arc::new(crate::model::load(&args.config, now)?);
    let org = crate::watch::Org::new(&model).map_err(|e| {
        CliError::with_hint(e.to_string(), "name a chat key of `chats`, or a chat id")
    })?;
    let webhook = match (&args.webhook_listen, &args.webhook_url) {
        (Some(listen), Some(url)) => Some(WebhookOptions {
            listen: *listen,
            url: url.clone(),
            secret: webhook_secret(&args)?,
            allow: args.webhook_allow.clone(),
            trusted_proxies: args.webhook_trusted_proxy.clone(),
        }),
        _ => None,
    };
    let rt = connect::runtime()?;
    rt.block_on(async {
        let conn = connect::connect(
            &args.telegram,
            &model.desired,
            connect::config_api_url(&model.config),
        )
        .await?;
        // Guard-bot answers get a client of their own: unpaced, so that
        // neither the main client's queue nor its 429 waits delay them.
        let urgent = crate::telegram::client::Client::new(
            conn.client.api_url().clone(),
            urgent_token(&args.telegram, &conn)?,
            crate::telegram::client::ClientOptions {
                requests_per_second: None,
                call_deadline: watching::QUERY_DEADLINE,
                ..conn.client.options().clone()
            },
        )
        .map_err(|e| CliError::from_source(e, None))?;
        let metrics = Arc::new(crate::watch::ops::Metrics::default());
        let (stop_tx, stop) = tokio::sync::watch::channel(false);
        let json = args.log_format == LogFormat::Json;
        let signals = tokio::spawn(stop_on_signals(stop_tx, json));
        let ops = match args.metrics_listen {
            Some(addr) => {
                let client = conn.client.clone();
                let backend = conn.state.clone();
                let refresh = Box::new(move |m: &crate::watch::ops::Metrics| {
                    m.client_rate_limited.store(
                        client.pace_stats().rate_limited,
                        std::sync::atomic::Ordering::Relaxed,
                    );
                    // The ledger's size as the backend holds it now.
                    if let Ok(store) = backend.load() {
                        m.set_ledger_size(
                            store.chats.values().map(|c| c.members.len() as u64).sum(),
                        );
                    }
                });
                let stale_after = (args.lease_seconds as i64).max(10);
                let (bound, task) = crate::watch::ops::serve(
                    addr,
                    metrics.clone(),
                    stale_after,
                    refresh,
                    stop.clone(),
                )
                .await
                .map_err(|e| CliError::caused(format!("cannot listen on {addr}: {e}"), e))?;
                say(
                    json,
                    &format!("Serving /healthz and /metrics on http://{bound}"),
                );
                Some(task)
            }
            None => None,
        };
        // The person's session, when the org uses the user provider (a
        // broken session is an error; none at all is said in the alerts).
        let person = if model.desired.provider.has_user() {
            let found = super::login::user_provider_if_signed_in(&conn.state_dir)?;
            if found.is_none() {
                say(
                    json,
                    "warning: org.telegram.provider uses a person, but no session was found (`orgform login`, or ORGFORM_TELEGRAM_SESSION): admin seats given by hand are alerted, not undone",
                );
            }
            found.map(Arc::new)
        } else {
            None
        };
        let signed_in = person.is_some();
        let current = Arc::new(std::sync::RwLock::new(model.clone()));
        let enforcer: Option<Arc<dyn Enforcer>> = args.enforce.then(|| {
            Arc::new(PlanAndApply {
                client: conn.client.clone(),
                backend: conn.state.clone(),
                model: current.clone(),
                person: person.clone(),
            }) as Arc<dyn Enforcer>
        });
        let (org_tx, org_rx) = tokio::sync::watch::channel(Arc::new(org.clone()));
        let reloads = tokio::spawn(reload_on_hangup(args.config.clone(), org_tx, current, json));
        let watch = Watch {
            client: conn.client.clone(),
            urgent,
            backend: conn.state.clone(),
            org,
            options: Options {
                enforce: args.enforce,
                enforce_per_hour: args.enforce_per_hour,
                lease_ttl: Duration::from_secs(args.lease_seconds),
                wait_for_lease: args.wait_for_lease,
                poll_timeout: args.poll_timeout,
                webhook,
                started: now,
                signed_in,
                settings_poll: args.settings_poll,
            },
            sink: Arc::new(StdoutSink),
            enforcer,
            metrics,
            reload: Some(org_rx),
            attributor: person
                .clone()
                .map(|p| Arc::new(AdminLog(p)) as Arc<dyn crate::watch::settings::Attributor>),
        };
        let outcome = watch.run(stop).await;
        signals.abort();
        reloads.abort();
        if let Some(task) = ops {
            task.abort();
        }
        conn.close().await?;
        match outcome {
            Ok(_) => Ok(exit::OK),
            Err(e) => Err(CliError::from_source(e, None)),
        }
    })
}

/// The token again, for the second client (the connection keeps its own
/// private).
fn urgent_token(
    args: &TelegramArgs,
    conn: &connect::Connection,
) -> Result<crate::telegram::client::Token, CliError> {
    if let Some(sandbox) = &conn.sandbox {
        return crate::telegram::client::Token::new(sandbox.token(), "from the sandbox")
            .map_err(|e| CliError::from_source(e, None));
    }
    let env = std::env::var("ORGFORM_TELEGRAM_TOKEN").ok();
    crate::telegram::client::load_token(args.token_file.as_deref(), env.as_deref())
        .map_err(|e| CliError::from_source(e, None))
}

/// SIGHUP: load the config again and hand watch the new org (between two
/// updates). A config with errors is not taken: watch keeps the one it
/// has and says why (`orgform validate` shows every problem).
async fn reload_on_hangup(
    config: PathBuf,
    org: tokio::sync::watch::Sender<Arc<crate::watch::Org>>,
    model: Arc<std::sync::RwLock<Arc<crate::model::Model>>>,
    json: bool,
) {
    #[cfg(unix)]
    {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            return;
        };
        while hup.recv().await.is_some() {
            let loaded = crate::model::load(&config, jiff::Timestamp::now());
            let loaded = match loaded {
                Ok(m) => m,
                Err(e) => {
                    say(
                        json,
                        &format!(
                            "SIGHUP: the config has {} problem(s); keeping the one in use (`orgform validate` shows them)",
                            e.diagnostics.len()
                        ),
                    );
                    continue;
                }
            };
            match crate::watch::Org::new(&loaded) {
                Ok(new) => {
                    *model.write().expect("model lock") = Arc::new(loaded);
                    let _ = org.send(Arc::new(new));
                    say(json, "SIGHUP: the config was reloaded");
                }
                Err(e) => say(json, &format!("SIGHUP: {e}; keeping the config in use")),
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (config, org, model, json);
        std::future::pending::<()>().await;
    }
}

/// SIGTERM or Ctrl-C: finish the update in hand and stop (exit 0). A
/// second signal stops at once (every commit is atomic, so nothing is
/// half-written).
async fn stop_on_signals(stop: tokio::sync::watch::Sender<bool>, json: bool) {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    for round in 0..2 {
        #[cfg(unix)]
        {
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
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        if round == 1 {
            say(json, "Stopped at once.");
            std::process::exit(i32::from(exit::INTERRUPTED));
        }
        say(
            json,
            "Stopping after the update in hand (signal again to stop at once)…",
        );
        let _ = stop.send(true);
    }
}

/// A note for the operator: a line on stderr, or a log record when the
/// logs are JSON (so that every stderr line parses).
fn say(json: bool, text: &str) {
    if json {
        tracing::info!("{text}");
    } else {
        eprintln!("{text}");
    }
}

/// The ledger's status, when a watch ever ran for this workspace.
pub fn ledger_status(conn: &connect::Connection, now: i64) -> Option<LedgerStatus> {
    let ledger = conn.state.ledger()?;
    match LedgerStatus::read(ledger, now) {
        Ok(status) => status,
        Err(e) => {
            tracing::warn!("cannot read the watch ledger's status: {e}");
            None
        }
    }
}

/// Invites waiting for delivery, for plan, drift and apply.
pub fn pending_invites(
    conn: &connect::Connection,
    handle: &dyn Fn(crate::state::UserId) -> String,
    now: i64,
) -> Vec<crate::watch::invites::Pending> {
    let Some(ledger) = conn.state.ledger() else {
        return Vec::new();
    };
    // Only the chats with an invite waiting are needed: loading the whole
    // store was a tenth of a targeted plan's time at 10,000 people.
    let chats: std::collections::BTreeSet<crate::state::ChatId> = ledger
        .facts(crate::store::ledger::keys::UNDELIVERED)
        .unwrap_or_default()
        .iter()
        .filter_map(|(key, _)| {
            key[crate::store::ledger::keys::UNDELIVERED.len()..]
                .split(':')
                .next()?
                .parse()
                .ok()
        })
        .collect();
    if chats.is_empty() {
        return Vec::new();
    }
    let store = match conn.state.load_chats(&chats) {
        Ok(s) => s,
        Err(_) => return Vec::new(),
    };
    crate::watch::invites::pending(ledger, &store, handle, now).unwrap_or_default()
}

/// Drift says "a personal invite link was sent" for every invite out;
/// for one Telegram would not deliver, say so, with the link to hand over.
pub fn mark_undelivered(
    report: &mut crate::drift::DriftReport,
    invites: &[crate::watch::invites::Pending],
) {
    for chat in &mut report.chats {
        for item in &mut chat.items {
            let waiting = invites.iter().find(|p| {
                p.chat_key == chat.key
                    && [
                        format!("chat.{}.member.{}", chat.key, p.person),
                        format!("chat.{}.admin.{}", chat.key, p.person),
                    ]
                    .contains(&item.address.0)
            });
            if let Some(p) = waiting {
                item.fix = format!(
                    "the personal invite could not be delivered ({}): hand them {}, or ask them to start the bot (`orgform watch` then sends it)",
                    p.reason, p.url
                );
            }
        }
    }
}

/// The ledger's status as text for the end of a report ("" when fresh).
pub fn ledger_text(status: Option<&LedgerStatus>) -> String {
    match status {
        Some(LedgerStatus {
            stale: Some(why), ..
        }) => format!("\nLedger: stale — {why}\n"),
        Some(LedgerStatus {
            watch: Some(holder),
            ..
        }) => format!("\nLedger: kept by {holder}; updates were not drained by this command.\n"),
        _ => String::new(),
    }
}

/// After an apply: record every personal invite Telegram would not
/// deliver, so plan, drift and watch know of it.
pub fn record_undelivered(
    conn: &connect::Connection,
    plan: &crate::plan::Plan,
    run_id: &str,
) -> Result<(), CliError> {
    use crate::apply::journal::{self, Event};
    use crate::store::ledger::FactWrite;
    let Some(ledger) = conn.state.ledger() else {
        return Ok(());
    };
    let Ok((events, _)) = journal::read_in(&conn.state, run_id) else {
        return Ok(());
    };
    let mut facts = Vec::new();
    for event in events {
        let Event::Done {
            index, executed, ..
        } = event
        else {
            continue;
        };
        let crate::apply::Answer::PersonalInvite {
            url,
            expires,
            delivered,
            not_delivered_because,
        } = executed.answer
        else {
            continue;
        };
        let Some(change) = plan.changes.get(index) else {
            continue;
        };
        let crate::plan::change::Op::SendInvite { user, .. } = change.op else {
            continue;
        };
        let key = crate::watch::invites::undelivered_key(change.chat_id, user);
        if delivered {
            facts.push(FactWrite::Delete(key));
            continue;
        }
        let record = crate::watch::invites::Undelivered {
            chat_key: change.chat.clone(),
            url,
            expires: Some(expires),
            reason: not_delivered_because.unwrap_or_default(),
        };
        facts.push(FactWrite::Put(
            key,
            serde_json::to_string(&record).expect("serialises"),
        ));
    }
    if facts.is_empty() {
        return Ok(());
    }
    ledger
        .put_facts(facts)
        .map_err(|e| CliError::caused(format!("cannot record undelivered invites: {e}"), e))
}

/// Before `state import` (or `migrate`) writes watch's facts: a backend
/// without a ledger cannot take them (refused, not dropped), and a watch
/// holding the lease would go on from facts that are not its own.
pub fn refuse_facts_under_watch(
    backend: &crate::store::Shared,
    facts: &std::collections::BTreeMap<String, String>,
) -> Result<(), CliError> {
    let Some(ledger) = backend.ledger() else {
        if facts.is_empty() {
            return Ok(());
        }
        return Err(CliError::with_hint(
            format!(
                "{} cannot hold orgform watch's ledger, and the export carries {} watch fact(s)",
                backend.describe(),
                facts.len()
            ),
            "import into a SQLite or PostgreSQL state (--state)",
        ));
    };
    let now = jiff::Timestamp::now().as_second();
    let holder = ledger.lease().map_err(connect::state_error)?;
    if let Some(lease) = holder.filter(|l| l.live(now)) {
        return Err(CliError::with_hint(
            format!(
                "orgform watch ({}) holds this workspace's ledger; importing would change its facts under it",
                lease.holder.describe()
            ),
            "stop watch first (SIGTERM), then import",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_read_as_people_write_them() {
        assert_eq!(parse_interval("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_interval("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_interval("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_interval("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_interval("0"), Ok(Duration::ZERO));
        assert!(parse_interval("soon").is_err());
        assert!(parse_interval("-5s").is_err());
        assert!(parse_interval("10ms").is_err());
    }
}
