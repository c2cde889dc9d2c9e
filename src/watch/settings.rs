//! Drift of chat settings as it happens. Telegram sends no update when a
//! chat's default permissions (or slow mode, content protection, …) are
//! changed, so watch reads every managed chat's settings on a paced,
//! bounded poll (`--settings-poll`, one getChat per chat and round, through
//! the paced client) and alerts once per change: the live value last
//! alerted is kept in the ledger (`settings_seen:<chat>:<field>`), so a
//! setting that stays changed is not alerted again every round, nor after
//! a restart, and a value put back as configured clears it.
//!
//! A title changed in a group also arrives as a service message
//! (`new_chat_title`); both paths share the same record, so the one that
//! sees it first alerts and the other stays quiet.
//!
//! What differs is decided by the planner (`plan::diff` on a copy of the
//! desired chat carrying the settings read), so watch and `plan` never
//! disagree about what counts as changed. Who changed it comes from the
//! chat's admin log when a person is signed in ([`Attributor`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::alerts::{Alert, AlertKind};
use super::org::{Org, WatchedChat};
use super::{Sink, ops, unix_now};
use crate::state::{
    Address, ChatId, ChatSettings, ChatState, LiveChatMeta, LiveState, OrgState, Right,
};
use crate::store::Shared;
use crate::store::ledger::FactWrite;
use crate::telegram::client::{ApiCall, Client, Repeat};
use crate::telegram::read::settings_of;
use crate::telegram::wire::ChatFullInfo;

/// `settings_seen:<chat id>:<field>`: the live value (JSON) last alerted.
pub const SEEN: &str = "settings_seen:";

/// The ledger key of a setting's last alerted value.
pub fn seen_key(chat: ChatId, field: &str) -> String {
    format!("{SEEN}{chat}:{field}")
}

/// Who changed a setting, and when ("Olga (100001) at 2026-…"), when it
/// can be told: the CLI reads the admin log through the signed-in person.
pub trait Attributor: Send + Sync {
    fn who<'a>(
        &'a self,
        chat: ChatId,
        address: &'a str,
    ) -> Pin<Box<dyn Future<Output = Option<String>> + Send + 'a>>;
}

/// One setting away from the config.
#[derive(Clone, Debug, PartialEq)]
pub struct Moved {
    pub field: String,
    pub address: String,
    /// The value now (JSON, as the plan shows it).
    pub have: Value,
    /// What the config says.
    pub want: Value,
}

/// The settings of `chat` that differ from the config, given what getChat
/// answered. The planner decides (on a copy of the desired chat that
/// carries only the settings read), so only settings can differ.
pub fn moved(org: &Org, chat: &WatchedChat, read: ChatSettings) -> Vec<Moved> {
    let desired = &chat.desired;
    let mut live_chat: ChatState = desired.clone();
    live_chat.settings = ChatSettings {
        // getChat does not say which photo file is set: photos are
        // `drift`'s business, not the poll's.
        photo: desired.settings.photo.clone(),
        ..read
    };
    let live = LiveState {
        bot: None,
        state: OrgState {
            chats: [(chat.key.clone(), live_chat)].into(),
        },
        meta: [(
            chat.key.clone(),
            LiveChatMeta {
                bot_rights: Some(Right::ALL.iter().copied().collect()),
                ..LiveChatMeta::default()
            },
        )]
        .into(),
    };
    let only = [chat.key.clone()];
    let changes = crate::plan::diff::diff(&crate::plan::diff::DiffInput {
        desired: &org.desired,
        live: &live,
        now: unix_now(),
        only: Some(&only),
        store: &crate::store::Store::default(),
    });
    let prefix = format!("chat.{}.", chat.key);
    changes
        .into_iter()
        .filter_map(|c| {
            let field = c.address.0.strip_prefix(&prefix)?;
            (!field.contains('.')).then(|| Moved {
                field: field.to_string(),
                address: c.address.0.clone(),
                have: c.before.to_json(),
                want: c.after.to_json(),
            })
        })
        .collect()
}

/// The alert for a setting that moved.
pub fn alert(chat: &WatchedChat, moved: &Moved, by: Option<String>) -> Alert {
    let what = match moved.field.as_str() {
        "permissions" => "the default member permissions".to_string(),
        "title" => "the title".to_string(),
        "description" => "the description".to_string(),
        other => other.replace('_', " "),
    };
    let summary = format!(
        "{what} {} changed by hand: now {}, the config says {}",
        if what.ends_with('s') { "were" } else { "was" },
        moved.have,
        moved.want
    );
    let (by, summary) = match by {
        Some(by) => (by.clone(), format!("{summary} (changed by {by})")),
        None => ("someone".to_string(), summary),
    };
    Alert {
        kind: if moved.field == "title" {
            AlertKind::TitleChanged
        } else {
            AlertKind::SettingChanged
        },
        chat: chat.key.clone(),
        address: Address(moved.address.clone()).0,
        person: None,
        by,
        summary,
        apply_fixes: true,
        fix: None,
    }
}

/// What the poll needs, owned (it runs on a task of its own beside the
/// update loop, so a long poll for updates is never cut short for it).
pub struct Poll {
    pub client: Client,
    pub backend: Shared,
    pub sink: Arc<dyn Sink>,
    pub metrics: Arc<ops::Metrics>,
    pub attributor: Option<Arc<dyn Attributor>>,
    /// With `--enforce`: what `apply` can set back is set back (under the
    /// same cap as every revert).
    pub enforcer: Option<Arc<dyn super::Enforcer>>,
    pub enforce_per_hour: u32,
    pub every: Duration,
    /// Alerts go here too (the loop's `raise` without the loop).
    pub org: tokio::sync::watch::Receiver<Arc<Org>>,
}

impl Poll {
    /// Round after round until `stop`; the first round right away.
    pub async fn run(mut self, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            let org = self.org.borrow_and_update().clone();
            self.round(&org).await;
            self.metrics.settings_polled();
            tokio::select! {
                _ = tokio::time::sleep(self.every) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    }

    /// One getChat per managed chat; an alert per setting that moved
    /// since the last alert.
    pub async fn round(&self, org: &Org) {
        let Some(ledger) = self.backend.ledger() else {
            return;
        };
        // What was alerted, read once a round (not once a chat and field).
        let seen: std::collections::BTreeMap<String, String> = match ledger.facts(SEEN) {
            Ok(facts) => facts.into_iter().collect(),
            Err(e) => {
                tracing::warn!("settings poll: cannot read the ledger: {e}");
                return;
            }
        };
        for chat in org.chats.values() {
            let info: ChatFullInfo = match self
                .client
                .call(&ApiCall::read("getChat", Some(chat.desired.id)))
                .await
            {
                Ok(info) => info,
                Err(e) => {
                    self.metrics.api_error();
                    tracing::warn!("settings poll: cannot read chat {}: {e}", chat.key);
                    continue;
                }
            };
            let read = settings_of(&info, chat.desired.kind);
            let moved = moved(org, chat, read);
            let mut writes = Vec::new();
            let mut revert = Vec::new();
            for field in MANAGED {
                let key = seen_key(chat.desired.id, field);
                let now = moved.iter().find(|m| m.field == *field);
                // The service message of a title may have been taken since
                // the round began: that one is read fresh.
                let last = if *field == "title" {
                    ledger.fact(&key).ok().flatten()
                } else {
                    seen.get(&key).cloned()
                };
                match (now, last) {
                    (None, Some(_)) => writes.push(FactWrite::Delete(key)),
                    (Some(m), last) if last.as_deref() != Some(&m.have.to_string()) => {
                        let by = match &self.attributor {
                            Some(a) => a.who(chat.desired.id, &m.address).await,
                            None => None,
                        };
                        let alert = alert(chat, m, by);
                        raise(&self.client, &self.sink, &self.metrics, org, &alert).await;
                        writes.push(FactWrite::Put(key, m.have.to_string()));
                        revert.push(m.address.clone());
                    }
                    _ => {}
                }
            }
            // Recorded before any revert, which clears the record again.
            if !writes.is_empty()
                && let Err(e) = ledger.put_facts(writes)
            {
                tracing::warn!("settings poll: cannot record what was alerted: {e}");
                continue;
            }
            let Some(enforcer) = &self.enforcer else {
                continue;
            };
            for address in revert {
                let capped = super::enforce::Capped {
                    ledger,
                    enforcer: enforcer.as_ref(),
                    client: &self.client,
                    sink: self.sink.as_ref(),
                    metrics: &self.metrics,
                    per_hour: self.enforce_per_hour,
                };
                if let Err(e) = capped.revert(org, &chat.key, &address).await {
                    tracing::warn!("settings poll: cannot revert {address}: {e}");
                }
            }
        }
    }
}

/// The settings the poll watches (what `plan` can tell apart from getChat).
const MANAGED: &[&str] = &[
    "title",
    "description",
    "permissions",
    "slow_mode",
    "protected_content",
    "join_by_request",
    "join_to_send",
    "hidden_members",
    "history_for_new_members",
    "forum",
    "auto_delete",
];

/// Tell the alerts chat and the event stream.
pub async fn raise(
    client: &Client,
    sink: &Arc<dyn Sink>,
    metrics: &ops::Metrics,
    org: &Org,
    alert: &Alert,
) {
    metrics.alert();
    sink.event(&json!({"event": "drift", "alert": alert}));
    if let Some(to) = org.alerts_chat {
        let call = ApiCall::new("sendMessage", Some(to), Repeat::Unsafe)
            .param("text", alert.text())
            .param("link_preview_options", json!({"is_disabled": true}));
        if let Err(e) = client.call_value(&call).await {
            metrics.api_error();
            tracing::warn!("cannot send the alert to the alerts chat: {e}");
        }
    }
}
