//! `orgform watch`, the always-on half (DESIGN §9): updates in, ledger and
//! decisions out.
//!
//! This module owns the loop. Updates arrive by long polling or through a
//! webhook (`watch::webhook`); each one is turned into its effect — member
//! records, facts (decisions, greetings, deliveries) and the next update
//! offset — and that effect is written in **one** transaction
//! (`store::ledger::Ledger::commit_update`) before the update is
//! acknowledged (the next getUpdates offset, or the webhook's 2xx). So a
//! crash before the commit loses nothing (Telegram sends the update again)
//! and a crash after it repeats nothing (the offset moved with the effect).
//!
//! What an update asks for is done around that commit in the order that
//! never repeats a change whose outcome is unknown:
//! - join-request decisions (approve, decline, a guard bot's answer) are
//!   made *before* the commit: Telegram answers a second approve of the
//!   same request with an error, so a repeat after a crash is harmless, and
//!   a guard bot has only 10 seconds;
//! - drift alerts are sent before the commit too (a crash may repeat an
//!   alert, never lose one);
//! - welcomes, invite deliveries and enforcement are *claimed* in the
//!   commit (a fact written only if absent) and done after it; a crash
//!   between the claim and the call leaves the claim, so it is never sent
//!   twice (the log says which outcome is unknown).
//!
//! A single-instance lease (`Ledger::take_lease`) keeps a second watch of
//! the same workspace out; while it is held, `plan`, `drift` and `apply`
//! read the ledger instead of draining updates. At start, watch checks how
//! long it was down: longer than Telegram keeps updates (24 h), or never
//! run before, and the ledger is marked stale until a full member check
//! (getChatMember for every declared person, member counts compared) has
//! run — which watch then runs.

pub mod alerts;
pub mod enforce;
pub mod invites;
pub mod ops;
pub mod org;
pub mod settings;
pub mod webhook;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

use crate::spec::JoinDecision;
use crate::state::{ChatId, UserId};
use crate::store::ledger::{self, FactWrite, Lease, LeaseOutcome, Ledger, UpdateCommit, keys};
use crate::store::records::{self, Delta};
use crate::store::{Holder, Shared, Store, StoreError};
use crate::telegram::client::{ApiCall, Client, Repeat};
use crate::telegram::wire::{ChatMemberUpdated, User};
use crate::telegram::{Class, read};

pub use org::Org;

/// Update kinds watch asks for: membership (`chat_member` must be named or
/// Telegram never sends it), join requests, and messages (a person's
/// `/start`, a chat's title changed, forum topics edited by hand).
pub const WATCH_ALLOWED_UPDATES: &[&str] = &[
    "chat_member",
    "my_chat_member",
    "chat_join_request",
    "message",
];

/// A guard bot must answer a join request query within this (Bot API 10.1).
pub const QUERY_DEADLINE: Duration = Duration::from_secs(10);

/// How watch runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// Revert what apply can fix (see [`Enforcer`]).
    pub enforce: bool,
    /// Reverts of one address allowed per hour; beyond that watch only
    /// alerts, so a fight with a human cannot loop.
    pub enforce_per_hour: u32,
    /// A lease not renewed for this long is free.
    pub lease_ttl: Duration,
    /// Wait for another watch's lease instead of exiting.
    pub wait_for_lease: bool,
    /// getUpdates long-poll timeout, seconds.
    pub poll_timeout: u32,
    /// Receive updates through a webhook instead of polling.
    pub webhook: Option<webhook::WebhookOptions>,
    /// What this process is called in the lease.
    pub started: jiff::Timestamp,
    /// A person's session is at hand (the org uses the user provider and
    /// one is signed in): admin seats a person gave by hand, which the bot
    /// may not edit, are undone through the account with `--enforce`.
    pub signed_in: bool,
    /// How often every managed chat's settings are read and compared
    /// (Telegram sends no update for most of them); zero turns it off.
    pub settings_poll: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            enforce: false,
            enforce_per_hour: 3,
            lease_ttl: Duration::from_secs(30),
            wait_for_lease: false,
            poll_timeout: 25,
            webhook: None,
            started: jiff::Timestamp::now(),
            signed_in: false,
            settings_poll: Duration::from_secs(60),
        }
    }
}

/// Where watch's events go: one JSON object per alert, decision, welcome,
/// delivery and state change (the CLI prints them as JSON lines).
pub trait Sink: Send + Sync {
    fn event(&self, event: &Value);
}

/// What reverts a drift with `--enforce`: plans the one chat, keeps the
/// changes at the alert's address, checks the guards, and applies them
/// with a journal (the CLI provides it, since running an apply is its
/// business, not watch's).
pub trait Enforcer: Send + Sync {
    fn enforce<'a>(
        &'a self,
        chat_key: &'a str,
        address: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = EnforceOutcome> + Send + 'a>>;
}

/// What an enforcement did.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum EnforceOutcome {
    /// Reverted in run `run_id`.
    Reverted {
        run_id: String,
        changes: usize,
    },
    /// Nothing to revert any more (already back as the config says).
    NothingToDo,
    /// A guard or policy refused it, or another command holds the lock.
    Refused {
        reason: String,
    },
    Failed {
        reason: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error(
        "another watch holds the lease of this workspace: {0}. hint: stop it, or pass --wait-for-lease to take over when it stops"
    )]
    LeaseHeld(String),
    #[error(
        "the lease was taken over by {0} (this watch did not renew it in time); stopping so that two watches never process updates"
    )]
    LeaseLost(String),
    #[error("the state backend {0} cannot hold a watch ledger")]
    NoLedger(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Telegram(#[from] crate::telegram::Error),
    #[error(transparent)]
    Read(#[from] read::ReadError),
    #[error("{0}")]
    Other(String),
}

/// A running watch's parts.
pub struct Watch {
    pub client: Client,
    /// A client of its own for guard-bot answers, so a queue of paced
    /// calls or a 429 wait of the main client never delays them.
    pub urgent: Client,
    pub backend: Shared,
    pub org: Org,
    pub options: Options,
    pub sink: Arc<dyn Sink>,
    pub enforcer: Option<Arc<dyn Enforcer>>,
    pub metrics: Arc<ops::Metrics>,
    /// A new org when the config is reloaded (SIGHUP): taken between
    /// updates, never in the middle of one.
    pub reload: Option<tokio::sync::watch::Receiver<Arc<Org>>>,
    /// Who changed a setting (the admin log, through a signed-in person).
    pub attributor: Option<Arc<dyn settings::Attributor>>,
}

/// What a finished watch did.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub updates: u64,
}

struct Running<'a> {
    w: &'a Watch,
    ledger: &'a dyn Ledger,
    bot: UserId,
    lease: Lease,
    /// The next update id to ask for (everything before it is committed).
    offset: Option<i64>,
    /// Guard-bot answers given ahead of their update's turn, by query id.
    answered: std::collections::HashMap<String, Result<String, String>>,
    /// The org as the config says now (replaced on a reload).
    org: Arc<Org>,
    /// Topic thread ids by chat and key, as last loaded (for welcomes).
    topics: std::collections::HashMap<(ChatId, String), i64>,
    /// SIGTERM: a full member check in the middle of the loop stops for it.
    stop: tokio::sync::watch::Receiver<bool>,
}

/// Unix time now.
pub fn unix_now() -> i64 {
    jiff::Timestamp::now().as_second()
}

impl Watch {
    /// Run until `stop` turns true (SIGTERM): the update in hand is
    /// finished and committed first.
    pub async fn run(
        &self,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) -> Result<Summary, WatchError> {
        let ledger = self
            .backend
            .ledger()
            .ok_or_else(|| WatchError::NoLedger(self.backend.describe()))?;
        let holder = Holder::me("watch", self.options.started);
        let lease = self.take_lease(ledger, holder, &mut stop).await?;
        let Some(lease) = lease else {
            return Ok(Summary::default());
        };
        let result = self.serve_with(ledger, &lease, &mut stop).await;
        // Released whatever happened, so the next watch need not wait for
        // the lease to expire.
        let _ = ledger.release_lease(&lease.holder);
        result
    }

    async fn serve_with(
        &self,
        ledger: &dyn Ledger,
        lease: &Lease,
        stop: &mut tokio::sync::watch::Receiver<bool>,
    ) -> Result<Summary, WatchError> {
        let me: User = self.client.call(&ApiCall::read("getMe", None)).await?;
        let store = self.backend.load()?;
        let mut run = Running {
            w: self,
            ledger,
            bot: me.id,
            lease: lease.clone(),
            offset: store.update_offset,
            answered: Default::default(),
            topics: topic_threads(&store),
            org: Arc::new(self.org.clone()),
            stop: stop.clone(),
        };
        self.metrics.set_ledger_size(ledger_size(&store));
        run.serve(stop).await
    }

    async fn take_lease(
        &self,
        ledger: &dyn Ledger,
        holder: Holder,
        stop: &mut tokio::sync::watch::Receiver<bool>,
    ) -> Result<Option<Lease>, WatchError> {
        let mut told = false;
        loop {
            let lease = Lease {
                holder: holder.clone(),
                renewed: unix_now(),
                ttl: self.options.lease_ttl.as_secs() as i64,
            };
            match ledger.take_lease(&lease)? {
                LeaseOutcome::Taken { replaced } => {
                    if let Some(old) = replaced {
                        self.sink.event(&json!({
                            "event": "lease_taken_over",
                            "from": old.holder.describe(),
                        }));
                    }
                    return Ok(Some(lease));
                }
                LeaseOutcome::Held(other) if self.options.wait_for_lease => {
                    if !told {
                        tracing::warn!("waiting for the lease held by {}", other.holder.describe());
                        self.sink.event(&json!({
                            "event": "waiting_for_lease",
                            "holder": other.holder.describe(),
                        }));
                        told = true;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = stop.changed() => return Ok(None),
                    }
                }
                LeaseOutcome::Held(other) => {
                    return Err(WatchError::LeaseHeld(other.holder.describe()));
                }
            }
        }
    }
}

/// Renew the lease every `every` and record that watch is alive, until
/// `stop`; a lease taken over by someone else is reported on `lost`. A
/// backend that fails now and then only delays the renewal: the lease
/// holds for three renewals.
async fn keep_lease(
    backend: Shared,
    lease: Lease,
    every: Duration,
    metrics: Arc<ops::Metrics>,
    lost: tokio::sync::watch::Sender<Option<String>>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
        let backend = backend.clone();
        let holder = lease.holder.clone();
        let ttl = lease.ttl;
        let renewed = tokio::task::spawn_blocking(move || -> Result<Option<String>, StoreError> {
            let Some(ledger) = backend.ledger() else {
                return Ok(None);
            };
            let now = unix_now();
            let lease = Lease {
                holder,
                renewed: now,
                ttl,
            };
            if !ledger.renew_lease(&lease)? {
                let by = ledger
                    .lease()?
                    .map(|l| l.holder.describe())
                    .unwrap_or_else(|| "another process".into());
                return Ok(Some(by));
            }
            ledger.put_facts(vec![FactWrite::Put(
                keys::HEARTBEAT.into(),
                now.to_string(),
            )])?;
            Ok(None)
        })
        .await;
        match renewed {
            Ok(Ok(None)) => metrics.beat(unix_now()),
            Ok(Ok(Some(by))) => {
                let _ = lost.send(Some(by));
                return;
            }
            Ok(Err(e)) => tracing::warn!("cannot renew the watch lease: {e}; trying again"),
            Err(e) => tracing::warn!("the lease renewal failed: {e}"),
        }
    }
}

/// Wait for a reloaded org (forever without a reload channel). The value
/// is taken at the top of the loop.
async fn reloaded(reload: &mut Option<tokio::sync::watch::Receiver<Arc<Org>>>) {
    match reload {
        Some(rx) => {
            if rx.changed().await.is_err() {
                // The sender is gone: no more reloads.
                *reload = None;
            }
        }
        None => std::future::pending().await,
    }
}

/// Every topic's thread id, by chat and key.
fn topic_threads(store: &Store) -> std::collections::HashMap<(ChatId, String), i64> {
    store
        .chats
        .iter()
        .flat_map(|(chat, m)| {
            m.topics
                .iter()
                .filter_map(move |(key, t)| Some(((*chat, key.clone()), t.thread_id?)))
        })
        .collect()
}

/// How many members the ledger knows, over all chats.
fn ledger_size(store: &Store) -> u64 {
    store.chats.values().map(|c| c.members.len() as u64).sum()
}

/// An update received through a webhook, with where to say it is done.
pub struct Delivered {
    pub update: Value,
    pub done: oneshot::Sender<Result<(), String>>,
}

impl Running<'_> {
    async fn serve(
        &mut self,
        stop: &mut tokio::sync::watch::Receiver<bool>,
    ) -> Result<Summary, WatchError> {
        let w = self.w;
        // The lease is renewed on a task of its own from the start (the
        // full member check may take minutes), so a long poll is never cut
        // short for it; losing the lease stops the loop.
        let (lost_tx, mut lost) = tokio::sync::watch::channel::<Option<String>>(None);
        let keeper = tokio::spawn(keep_lease(
            w.backend.clone(),
            self.lease.clone(),
            w.options.lease_ttl / 3,
            w.metrics.clone(),
            lost_tx,
            stop.clone(),
        ));
        // Telegram keeps the last `allowed_updates` it was given, and
        // drops `chat_member` updates until it is told to keep them: say
        // so first (the answer is not acknowledged, so nothing is lost).
        if w.options.webhook.is_none() {
            let call = ApiCall::read("getUpdates", None)
                .param("limit", 1)
                .param("timeout", 0)
                .param("allowed_updates", WATCH_ALLOWED_UPDATES);
            let call = match self.offset {
                Some(o) => call.param("offset", o),
                None => call,
            };
            let _: Vec<Value> = w.client.call(&call).await?;
        }
        // The full member check may take minutes on a large org: a
        // SIGTERM stops it (the ledger stays marked stale) and exits 0.
        tokio::select! {
            checked = self.check_staleness() => checked?,
            _ = stop.wait_for(|s| *s) => {
                keeper.abort();
                w.sink.event(&json!({"event": "stopped", "updates": 0, "during": "full member check"}));
                return Ok(Summary::default());
            }
        }
        let mut summary = Summary::default();
        // A webhook hands updates in through a channel; polling fetches them.
        let (tx, mut rx) = mpsc::channel::<Delivered>(1);
        let mut server = None;
        if let Some(hook) = &w.options.webhook {
            // Listen first, then tell Telegram where to post.
            let (bound, task) =
                webhook::serve(hook.clone(), tx, stop.clone(), w.metrics.clone()).await?;
            w.sink
                .event(&json!({"event": "webhook_listening", "address": bound.to_string()}));
            server = Some(task);
            webhook::register(&w.client, hook).await?;
        } else {
            drop(tx);
        }
        w.metrics.set_healthy(true);
        w.sink
            .event(&json!({"event": "started", "bot": self.bot, "offset": self.offset}));
        let poller = (!w.options.settings_poll.is_zero()).then(|| {
            let org = match &w.reload {
                Some(rx) => rx.clone(),
                None => tokio::sync::watch::channel(self.org.clone()).1,
            };
            tokio::spawn(
                settings::Poll {
                    client: w.client.clone(),
                    backend: w.backend.clone(),
                    sink: w.sink.clone(),
                    metrics: w.metrics.clone(),
                    attributor: w.attributor.clone(),
                    enforcer: w.options.enforce.then(|| w.enforcer.clone()).flatten(),
                    enforce_per_hour: w.options.enforce_per_hour,
                    every: w.options.settings_poll,
                    org,
                }
                .run(stop.clone()),
            )
        });

        let mut reload = w.reload.clone();
        // `changed()` marks the value seen: a reload it woke up for is
        // remembered here and taken at the top of the loop.
        let mut take_reload = false;
        let result = loop {
            if *stop.borrow() {
                break Ok(());
            }
            if let Some(rx) = reload.as_mut()
                && (std::mem::take(&mut take_reload) || rx.has_changed().unwrap_or(false))
            {
                self.org = rx.borrow_and_update().clone();
                w.sink
                    .event(&json!({"event": "config_reloaded", "chats": self.org.chats.len()}));
            }
            if w.options.webhook.is_some() {
                tokio::select! {
                    by = lost.wait_for(Option::is_some) => match by {
                        Ok(by) => break Err(WatchError::LeaseLost(by.clone().unwrap_or_default())),
                        Err(_) => continue,
                    },
                    _ = stop.changed() => {}
                    _ = reloaded(&mut reload) => take_reload = true,
                    got = rx.recv() => {
                        let Some(Delivered { update, done }) = got else { break Ok(()) };
                        let outcome = self.take(update).await;
                        let failed = outcome.as_ref().err().map(|e| e.to_string());
                        let _ = done.send(match &failed { None => Ok(()), Some(e) => Err(e.clone()) });
                        match outcome {
                            Ok(true) => summary.updates += 1,
                            Ok(false) => {}
                            Err(e) => break Err(e),
                        }
                    }
                }
                continue;
            }
            let poll = self.poll();
            let updates = tokio::select! {
                by = lost.wait_for(Option::is_some) => match by {
                    Ok(by) => break Err(WatchError::LeaseLost(by.clone().unwrap_or_default())),
                    Err(_) => continue,
                },
                _ = stop.changed() => continue,
                _ = reloaded(&mut reload) => { take_reload = true; continue; }
                got = poll => got,
            };
            let updates = match updates {
                Ok(u) => u,
                // Another getUpdates (a resume looking for evidence, a
                // command of an older orgform) ended this long poll: the
                // updates stay with Telegram, ask again.
                Err(e)
                    if e.class() == Some(&Class::Conflict)
                        && e.to_string().contains("terminated by other getUpdates") =>
                {
                    tracing::info!("a getUpdates elsewhere ended the long poll; polling again");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                        _ = stop.changed() => {}
                    }
                    continue;
                }
                Err(e) if e.class() == Some(&Class::Conflict) => {
                    break Err(WatchError::Other(format!(
                        "{e}. hint: a webhook is set (delete it, or run watch with --webhook-listen), or another process polls with this token"
                    )));
                }
                Err(e) if e.is_fatal() => break Err(e.into()),
                Err(e) => {
                    w.metrics.api_error();
                    tracing::warn!("getUpdates failed: {e}; trying again");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                        _ = stop.changed() => {}
                    }
                    continue;
                }
            };
            // Guard-bot queries cannot wait for the updates before them:
            // all of a page's are answered at once, then the page is
            // processed in order.
            self.answer_page_queries(&updates).await;
            // Every update of the page is finished, even after a SIGTERM:
            // each is committed on its own, so stopping between them is
            // safe too, but the page is cheap to finish.
            let mut failed = None;
            for update in updates {
                match self.take(update).await {
                    Ok(true) => summary.updates += 1,
                    Ok(false) => {}
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
                if *stop.borrow() {
                    break;
                }
            }
            if let Some(e) = failed {
                break Err(e);
            }
        };
        w.metrics.set_healthy(false);
        keeper.abort();
        if let Some(poller) = poller {
            poller.abort();
        }
        if let Some(server) = server {
            let _ = server.await;
        }
        if !matches!(result, Err(WatchError::LeaseLost(_))) {
            self.ledger.put_facts(vec![FactWrite::Put(
                keys::HEARTBEAT.into(),
                unix_now().to_string(),
            )])?;
        }
        w.sink
            .event(&json!({"event": "stopped", "updates": summary.updates}));
        result.map(|()| summary)
    }

    async fn poll(&self) -> Result<Vec<Value>, crate::telegram::Error> {
        let mut call = ApiCall::read("getUpdates", None)
            .param("limit", 100)
            .param("timeout", self.w.options.poll_timeout)
            .param("allowed_updates", WATCH_ALLOWED_UPDATES);
        if let Some(offset) = self.offset {
            call = call.param("offset", offset);
        }
        self.w.client.call(&call).await
    }

    /// Down longer than Telegram keeps updates (or never run): mark the
    /// ledger stale, run the full member check, clear the mark.
    async fn check_staleness(&mut self) -> Result<(), WatchError> {
        let now = unix_now();
        let beat: Option<i64> = self
            .ledger
            .fact(keys::HEARTBEAT)?
            .and_then(|v| v.parse().ok());
        let stale_since: Option<i64> = self
            .ledger
            .fact(keys::STALE_SINCE)?
            .and_then(|v| v.parse().ok());
        let gap = beat.map(|b| now - b);
        let stale = stale_since.is_some()
            || beat.is_none()
            || gap.is_some_and(|g| g > ledger::TELEGRAM_KEEPS_UPDATES);
        if !stale {
            self.ledger.put_facts(vec![FactWrite::Put(
                keys::HEARTBEAT.into(),
                now.to_string(),
            )])?;
            return Ok(());
        }
        let reason = match gap {
            None => "watch never ran for this workspace".to_string(),
            Some(g) if g > ledger::TELEGRAM_KEEPS_UPDATES => format!(
                "watch was down for {}, longer than Telegram keeps updates",
                ledger::human_span(g)
            ),
            Some(_) => "a full member check did not finish".to_string(),
        };
        self.ledger.put_facts(vec![FactWrite::Put(
            keys::STALE_SINCE.into(),
            stale_since.unwrap_or(now).to_string(),
        )])?;
        self.w
            .sink
            .event(&json!({"event": "ledger_stale", "reason": reason}));
        self.full_check().await?;
        self.checked()
    }

    /// The full member check finished: the ledger is complete again.
    fn checked(&self) -> Result<(), WatchError> {
        let done = unix_now();
        self.ledger.put_facts(vec![
            FactWrite::Delete(keys::STALE_SINCE.into()),
            FactWrite::Delete(keys::STALE_REASON.into()),
            FactWrite::Put(keys::FULL_CHECK.into(), done.to_string()),
            FactWrite::Put(keys::HEARTBEAT.into(), done.to_string()),
        ])?;
        Ok(())
    }

    /// Updates after the committed offset that never came: Telegram
    /// numbers a bot's updates one after another, so an update whose id
    /// skips some means those were lost (another consumer took them with
    /// this token, or Telegram dropped them after 24 hours — which watch's
    /// own clock cannot see when the machine slept or the sandbox's clock
    /// moved). The mark is committed with the update; the full member
    /// check runs right after it.
    fn gap(&self, update_id: i64) -> Option<String> {
        let expected = self.offset?;
        (update_id > expected).then(|| {
            let lost = update_id - expected;
            format!(
                "{lost} update(s) before update {update_id} never reached watch (taken by another consumer of the bot's token, or expired after Telegram's 24 h)"
            )
        })
    }

    /// getChatMember for every declared person of every chat (what the
    /// ledger knows is set aside so each is asked), and member counts
    /// compared with what the ledger knows.
    async fn full_check(&mut self) -> Result<(), WatchError> {
        let w = self.w;
        let org = self.org.clone();
        let now = unix_now();
        let base = w.backend.load()?;
        let mut blank = base.clone();
        for chat in org.chats.values() {
            if let Some(memory) = blank.chats.get_mut(&chat.desired.id) {
                memory.members.retain(|user, _| {
                    !chat.declared(*user) && !chat.desired.admins.contains_key(user)
                });
            }
        }
        let before = blank.clone();
        let live = read::read(&w.client, &org.desired, &mut blank, now).await?;
        // Only what the check learned is written (members and last_read).
        let delta = records::delta(&before, &blank);
        let mut gaps = Vec::new();
        for (key, meta) in &live.meta {
            let (Some(count), Some(chat)) = (meta.member_count, live.state.chats.get(key)) else {
                continue;
            };
            let known = chat.admins.len() as u64
                + chat
                    .members
                    .values()
                    .filter(|m| {
                        matches!(
                            m,
                            crate::state::MemberState::Member
                                | crate::state::MemberState::Restricted { .. }
                        )
                    })
                    .count() as u64;
            // The bot counts itself too.
            let unknown = count.saturating_sub(known + 1);
            if unknown > 0 {
                gaps.push(json!({"chat": key, "member_count": count, "unknown": unknown}));
            }
        }
        self.ledger.commit_update(&UpdateCommit {
            delta: Delta {
                offset: None,
                ..delta
            },
            facts: vec![],
        })?;
        let after = w.backend.load()?;
        w.metrics.set_ledger_size(ledger_size(&after));
        w.sink.event(&json!({
            "event": "full_member_check",
            "chats": live.state.chats.len(),
            "members_unknown_to_the_bot": gaps,
        }));
        Ok(())
    }

    /// Process one update: its effect and the new offset in one
    /// transaction. `false` when it was already committed (a webhook's
    /// repeat after a lost answer).
    async fn take(&mut self, update: Value) -> Result<bool, WatchError> {
        let Some(update_id) = update.get("update_id").and_then(Value::as_i64) else {
            tracing::warn!("an update without update_id was skipped");
            return Ok(false);
        };
        if self.offset.is_some_and(|o| update_id < o) {
            return Ok(false);
        }
        let mut effect = Effect::default();
        let gap = self.gap(update_id);
        if let Some(reason) = &gap {
            let now = unix_now();
            effect.commit.facts.extend([
                FactWrite::PutIfAbsent(keys::STALE_SINCE.into(), now.to_string()),
                FactWrite::Put(keys::STALE_REASON.into(), reason.clone()),
            ]);
        }
        if let Some(changed) = update
            .get("chat_member")
            .or_else(|| update.get("my_chat_member"))
        {
            match serde_json::from_value::<ChatMemberUpdated>(changed.clone()) {
                Ok(changed) => self.member_update(&changed, &mut effect).await?,
                Err(e) => tracing::warn!("a membership update did not parse ({e}); skipped"),
            }
        } else if let Some(request) = update.get("chat_join_request") {
            self.join_request(request, &mut effect).await?;
        } else if let Some(message) = update.get("message") {
            self.message(message, &mut effect).await?;
        }
        let date = update
            .as_object()
            .and_then(|o| o.values().find_map(|v| v.get("date")?.as_i64()));
        effect.commit.delta.offset = Some(update_id + 1);
        effect.commit.facts.push(FactWrite::Put(
            keys::HEARTBEAT.into(),
            unix_now().to_string(),
        ));
        let claimed = self.ledger.commit_update(&effect.commit)?;
        self.offset = Some(update_id + 1);
        self.w.metrics.processed(date);
        // What was claimed in the commit is done now, once.
        for after in effect.after {
            if after.claim.as_ref().is_none_or(|c| claimed.contains(c)) {
                self.follow_up(after.action).await?;
            }
        }
        if let Some(reason) = gap {
            self.w
                .sink
                .event(&json!({"event": "ledger_stale", "reason": reason}));
            // May take minutes on a large org: a SIGTERM stops it (the mark
            // stays, and the next start runs the check).
            let mut stop = self.stop.clone();
            tokio::select! {
                checked = self.full_check() => {
                    checked?;
                    self.checked()?;
                }
                _ = stop.wait_for(|s| *s) => {}
            }
        }
        Ok(true)
    }

    async fn member_update(
        &mut self,
        changed: &ChatMemberUpdated,
        effect: &mut Effect,
    ) -> Result<(), WatchError> {
        let w = self.w;
        let org = self.org.clone();
        let chat_id = changed.chat.id;
        let Some(user) = changed.new_chat_member.user_id() else {
            return Ok(());
        };
        let Some(chat) = org.chats.get(&chat_id) else {
            // A chat the config does not name: only the bot's own
            // membership is kept, so `import --all-known` finds the chats
            // the bot was added to (or left) while watch owned the feed.
            if user == self.bot
                && read::chat_type(&changed.chat.kind).is_some()
                && let Some(status) = read::store_status(&changed.new_chat_member)
            {
                let mut learned = Store::default();
                learned.see_member(chat_id, user, status, changed.date, "update");
                let delta = records::delta(&Store::default(), &learned);
                effect.commit.delta.upserts.extend(delta.upserts);
            }
            return Ok(());
        };
        // The ledger: the same record a drain would write.
        if let Some(status) = read::store_status(&changed.new_chat_member) {
            let mut learned = Store::default();
            learned.see_member(chat_id, user, status, changed.date, "update");
            learned.see_tag(
                chat_id,
                user,
                changed.new_chat_member.tag(),
                changed.date,
                "update",
            );
            let delta = records::delta(&Store::default(), &learned);
            effect.commit.delta.upserts.extend(delta.upserts);
        }
        let present = |m: &crate::telegram::wire::ChatMember| {
            matches!(m.status(), "creator" | "administrator" | "member")
                || matches!(m, crate::telegram::wire::ChatMember::Restricted(r) if r.is_member)
        };
        let joined = present(&changed.new_chat_member) && !present(&changed.old_chat_member);
        if let Some(mut alert) = alerts::member_change(
            &org,
            chat,
            self.bot,
            changed.from.id,
            &changed.old_chat_member,
            &changed.new_chat_member,
        ) {
            // A seat a person gave: undone through the signed-in account,
            // or the alert says plainly who can undo it (never retried).
            let through_person = alert.seat_the_bot_cannot_edit();
            if through_person {
                alert.fix = alerts::who_can_undo(
                    org.desired.provider.has_user(),
                    w.options.signed_in,
                    w.options.enforce,
                );
            }
            self.raise(&alert).await;
            if w.options.enforce && (alert.apply_fixes || (through_person && alert.fix.is_none())) {
                effect.after.push(After {
                    claim: None,
                    action: FollowUp::Enforce {
                        chat_key: chat.key.clone(),
                        address: alert.address.clone(),
                    },
                });
            }
        }
        if joined
            && let Some(welcome) = &chat.welcome
            && user != self.bot
            && !changed.new_chat_member.status().eq("creator")
        {
            let claim = format!("{}{chat_id}:{user}", keys::GREETED);
            effect
                .commit
                .facts
                .push(FactWrite::PutIfAbsent(claim.clone(), "claimed".into()));
            let name = user_name(&changed.new_chat_member);
            let title = changed
                .chat
                .title
                .clone()
                .unwrap_or_else(|| chat.key.clone());
            let text = welcome
                .text
                .replace("{name}", &name)
                .replace("{chat}", &title);
            let thread = match &welcome.topic {
                Some(key) => self.topic_thread(chat_id, key)?,
                None => None,
            };
            effect.after.push(After {
                claim: Some(claim.clone()),
                action: FollowUp::Welcome {
                    chat: chat_id,
                    user,
                    text,
                    thread,
                    claim,
                },
            });
        }
        Ok(())
    }

    async fn join_request(
        &mut self,
        request: &Value,
        effect: &mut Effect,
    ) -> Result<(), WatchError> {
        let w = self.w;
        let org = self.org.clone();
        let received = std::time::Instant::now();
        let (Some(chat_id), Some(user)) = (
            request.pointer("/chat/id").and_then(Value::as_i64),
            request.pointer("/from/id").and_then(Value::as_i64),
        ) else {
            return Ok(());
        };
        let Some(chat) = org.chats.get(&chat_id) else {
            return Ok(());
        };
        let decision = org::decide(&org, chat, user);
        let query = request.get("query_id").and_then(Value::as_str);
        let date = request.get("date").and_then(Value::as_i64);
        let early = query.and_then(|q| self.answered.remove(q));
        let outcome = match (query, org::query_result(decision.decision)) {
            (Some(_), Some(_)) if early.is_some() => early.expect("checked"),
            (Some(query), Some(result)) => self.answer_query(query, result, received).await,
            (Some(_), None) => Ok(
                "ignored (the query times out and the request stays for the admins)".to_string(),
            ),
            (None, _) => self.decide_request(chat_id, user, decision.decision).await,
        };
        let (outcome_text, ok) = match outcome {
            Ok(t) => (t, true),
            Err(e) => (e, false),
        };
        w.metrics.decision(decision.decision, ok);
        let event = json!({
            "event": "join_request",
            "chat": chat.key,
            "user": user,
            "person": org.known(user).then(|| org.handle(user)),
            "decision": decision.decision,
            "guard_query": query.is_some(),
            "outcome": outcome_text,
            "ok": ok,
            "why": decision.why,
            "request_date": date,
        });
        w.sink.event(&event);
        let key = format!(
            "{}{chat_id}:{user}:{}",
            keys::DECISION,
            date.unwrap_or_default()
        );
        effect
            .commit
            .facts
            .push(FactWrite::Put(key, event.to_string()));
        Ok(())
    }

    /// Answer every guard-bot query of a page at once (concurrently), so
    /// that a burst of requests all meet their 10 seconds.
    async fn answer_page_queries(&mut self, updates: &[Value]) {
        let received = std::time::Instant::now();
        let mut asks = Vec::new();
        for update in updates {
            let Some(request) = update.get("chat_join_request") else {
                continue;
            };
            let (Some(query), Some(chat_id), Some(user)) = (
                request.get("query_id").and_then(Value::as_str),
                request.pointer("/chat/id").and_then(Value::as_i64),
                request.pointer("/from/id").and_then(Value::as_i64),
            ) else {
                continue;
            };
            let Some(chat) = self.org.chats.get(&chat_id) else {
                continue;
            };
            let decision = org::decide(&self.org, chat, user);
            if let Some(result) = org::query_result(decision.decision) {
                asks.push((query.to_string(), result));
            }
        }
        if asks.is_empty() {
            return;
        }
        let this = &*self;
        let answers = futures_util::future::join_all(
            asks.iter()
                .map(|(query, result)| this.answer_query(query, result, received)),
        )
        .await;
        for ((query, _), answer) in asks.into_iter().zip(answers) {
            self.answered.insert(query, answer);
        }
    }

    /// A guard bot's answer, retried through 429s and server errors until
    /// Telegram's 10-second deadline (measured from when the update came
    /// in; the request's own date is in whole seconds of another clock).
    async fn answer_query(
        &self,
        query: &str,
        result: &str,
        received: std::time::Instant,
    ) -> Result<String, String> {
        let deadline = received + QUERY_DEADLINE;
        let call = ApiCall::new("answerChatJoinRequestQuery", None, Repeat::Safe)
            .param("chat_join_request_query_id", query)
            .param("result", result);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(
                    "Telegram's 10-second deadline passed before an answer got through".into(),
                );
            }
            match tokio::time::timeout(left, self.w.urgent.call_value(&call)).await {
                Ok(Ok(_)) => return Ok(format!("answered {result}")),
                Ok(Err(e)) if e.class() == Some(&Class::RateLimited) => {
                    self.w.metrics.rate_limited();
                    tokio::time::sleep(Duration::from_millis(200).min(left)).await;
                }
                Ok(Err(e)) if e.class() == Some(&Class::ServerError) => {
                    self.w.metrics.api_error();
                    tokio::time::sleep(Duration::from_millis(200).min(left)).await;
                }
                Ok(Err(e)) => {
                    self.w.metrics.api_error();
                    return Err(e.to_string());
                }
                Err(_) => {
                    return Err(
                        "Telegram's 10-second deadline passed before an answer got through".into(),
                    );
                }
            }
        }
    }

    async fn decide_request(
        &self,
        chat: ChatId,
        user: UserId,
        decision: JoinDecision,
    ) -> Result<String, String> {
        let method = match decision {
            JoinDecision::Approve => "approveChatJoinRequest",
            JoinDecision::Decline => "declineChatJoinRequest",
            JoinDecision::Queue => return Ok("left for the chat's admins".into()),
            JoinDecision::Ignore => return Ok("ignored".into()),
        };
        let call = ApiCall::new(method, Some(chat), Repeat::Safe).param("user_id", user);
        match self.w.client.call_value(&call).await {
            Ok(_) => Ok(format!("{method} done")),
            // Decided already (a repeat after a crash, or an admin was
            // quicker): nothing left to do.
            Err(e)
                if e.to_string().contains("HIDE_REQUESTER_MISSING")
                    || e.to_string().contains("USER_ALREADY_PARTICIPANT") =>
            {
                Ok(format!("{method}: already settled ({e})"))
            }
            Err(e) => {
                self.w.metrics.api_error();
                Err(e.to_string())
            }
        }
    }

    async fn message(&mut self, message: &Value, effect: &mut Effect) -> Result<(), WatchError> {
        let w = self.w;
        let org = self.org.clone();
        let chat_type = message.pointer("/chat/type").and_then(Value::as_str);
        let chat_id = message.pointer("/chat/id").and_then(Value::as_i64);
        if chat_type == Some("private") {
            let text = message.get("text").and_then(Value::as_str).unwrap_or("");
            let from = message.pointer("/from/id").and_then(Value::as_i64);
            if let Some(user) = from
                && (text == "/start" || text.starts_with("/start "))
            {
                self.claim_deliveries(user, effect)?;
            }
            return Ok(());
        }
        let Some(chat_id) = chat_id else {
            return Ok(());
        };
        let Some(chat) = org.chats.get(&chat_id) else {
            return Ok(());
        };
        // A title put back as configured: the next change is a new one
        // (the settings poll forgets it too, but it may be off).
        if message.get("new_chat_title").and_then(Value::as_str)
            == chat.desired.settings.title.as_deref()
            && chat.desired.settings.title.is_some()
        {
            effect
                .commit
                .facts
                .push(FactWrite::Delete(settings::seen_key(chat_id, "title")));
        }
        if let Some(alert) = alerts::service_message(chat, &org, self.bot, message) {
            // The settings poll may have seen (and alerted) this title
            // first: one alert per change.
            let seen = settings::seen_key(chat_id, "title");
            let title = json!(message.get("new_chat_title")).to_string();
            let first = self.ledger.fact(&seen)?.as_deref() != Some(title.as_str());
            effect.commit.facts.push(FactWrite::Put(seen, title));
            if first {
                self.raise(&alert).await;
            }
            if first && w.options.enforce {
                effect.after.push(After {
                    claim: None,
                    action: FollowUp::Enforce {
                        chat_key: chat.key.clone(),
                        address: alert.address.clone(),
                    },
                });
            }
        }
        // Forum topics edited by hand: the same fold a drain does.
        if message.get("message_thread_id").is_some() {
            let base = w.backend.load()?;
            let mut now = base.clone();
            let managed: BTreeSet<ChatId> = org.chats.keys().copied().collect();
            if read::topic_message(&mut now, &managed, message) {
                let delta = records::delta(&base, &now);
                effect.commit.delta.upserts.extend(delta.upserts);
            }
        }
        Ok(())
    }

    /// A topic's thread id; the store is read again when the topic is not
    /// known yet (an apply may have created it since watch started).
    fn topic_thread(&mut self, chat: ChatId, key: &str) -> Result<Option<i64>, WatchError> {
        let k = (chat, key.to_string());
        if let Some(thread) = self.topics.get(&k) {
            return Ok(Some(*thread));
        }
        self.topics = topic_threads(&self.w.backend.load()?);
        Ok(self.topics.get(&k).copied())
    }

    /// A person started the bot: every personal invite waiting for them
    /// is claimed for sending.
    fn claim_deliveries(&self, user: UserId, effect: &mut Effect) -> Result<(), WatchError> {
        let now = unix_now();
        let store = self.w.backend.load()?;
        for pending in invites::pending(self.ledger, &store, &|u| self.org.handle(u), now)? {
            if pending.user != user {
                continue;
            }
            let claim = format!(
                "{}{}:{}:{}",
                keys::SENDING,
                pending.chat_id,
                user,
                pending.url
            );
            effect
                .commit
                .facts
                .push(FactWrite::PutIfAbsent(claim.clone(), now.to_string()));
            effect.after.push(After {
                claim: Some(claim.clone()),
                action: FollowUp::Deliver { pending, claim },
            });
        }
        Ok(())
    }

    /// Tell the alerts chat and the event stream.
    async fn raise(&self, alert: &alerts::Alert) {
        let w = self.w;
        settings::raise(&w.client, &w.sink, &w.metrics, &self.org, alert).await;
    }

    async fn follow_up(&mut self, action: FollowUp) -> Result<(), WatchError> {
        let w = self.w;
        match action {
            FollowUp::Welcome {
                chat,
                user,
                text,
                thread,
                claim,
            } => {
                let mut call = ApiCall::new("sendMessage", Some(chat), Repeat::Unsafe)
                    .param("text", &text)
                    .param("link_preview_options", json!({"is_disabled": true}));
                if let Some(thread) = thread {
                    call = call.param("message_thread_id", thread);
                }
                let outcome = w.client.call_value(&call).await;
                let state = match &outcome {
                    Ok(_) => "sent".to_string(),
                    Err(e) => {
                        w.metrics.api_error();
                        format!("failed: {e}")
                    }
                };
                self.ledger
                    .put_facts(vec![FactWrite::Put(claim, state.clone())])?;
                w.sink.event(
                    &json!({"event": "welcome", "chat": chat, "user": user, "outcome": state}),
                );
            }
            FollowUp::Deliver { pending, claim } => {
                let text = invites::message(&pending);
                let call = ApiCall::new("sendMessage", Some(pending.user), Repeat::Unsafe)
                    .param("text", text);
                let outcome = w.client.call_value(&call).await;
                match &outcome {
                    Ok(_) => {
                        let record = json!({"url": pending.url, "at": unix_now()});
                        self.ledger.put_facts(vec![
                            FactWrite::Put(
                                format!("{}{}:{}", keys::DELIVERED, pending.chat_id, pending.user),
                                record.to_string(),
                            ),
                            FactWrite::Delete(claim),
                        ])?;
                        w.metrics.delivered();
                    }
                    Err(e) => {
                        w.metrics.api_error();
                        // Telegram said no (it was not sent): free the claim
                        // so the next /start tries again. An unknown outcome
                        // keeps it: never sent twice.
                        if !matches!(e.kind, crate::telegram::ErrorKind::Unrepeatable { .. }) {
                            self.ledger.put_facts(vec![FactWrite::Delete(claim)])?;
                        }
                    }
                }
                w.sink.event(&json!({
                    "event": "invite_delivered",
                    "chat": pending.chat_key,
                    "user": pending.user,
                    "person": pending.person,
                    "ok": outcome.is_ok(),
                    "error": outcome.err().map(|e| e.to_string()),
                }));
            }
            FollowUp::Enforce { chat_key, address } => self.enforce(&chat_key, &address).await?,
        }
        Ok(())
    }

    /// Revert one drift, within the cap of reverts per address and hour.
    async fn enforce(&mut self, chat_key: &str, address: &str) -> Result<(), WatchError> {
        let w = self.w;
        let Some(enforcer) = &w.enforcer else {
            return Ok(());
        };
        enforce::Capped {
            ledger: self.ledger,
            enforcer: enforcer.as_ref(),
            client: &w.client,
            sink: w.sink.as_ref(),
            metrics: &w.metrics,
            per_hour: w.options.enforce_per_hour,
        }
        .revert(&self.org, chat_key, address)
        .await
    }
}

/// The person's first name (and last), as Telegram gave it.
fn user_name(member: &crate::telegram::wire::ChatMember) -> String {
    let value = serde_json::to_value(member).unwrap_or_default();
    let first = value
        .pointer("/user/first_name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let last = value.pointer("/user/last_name").and_then(Value::as_str);
    match last {
        Some(l) if !l.is_empty() => format!("{first} {l}"),
        _ => first.to_string(),
    }
}

#[derive(Default)]
struct Effect {
    commit: UpdateCommit,
    after: Vec<After>,
}

/// Work done after the commit; with a claim, only if this commit wrote it.
struct After {
    claim: Option<String>,
    action: FollowUp,
}

enum FollowUp {
    Welcome {
        chat: ChatId,
        user: UserId,
        text: String,
        thread: Option<i64>,
        claim: String,
    },
    Deliver {
        pending: invites::Pending,
        claim: String,
    },
    Enforce {
        chat_key: String,
        address: String,
    },
}
