//! Personal invites that could not be delivered: Telegram answers 403
//! "bot can't initiate conversation with a user" until the person starts
//! the bot. `apply` records each such invite as an `undelivered:` fact;
//! `plan`, `drift` and `apply` list the ones still waiting (with the link,
//! for a person to hand over), and watch sends them when the person
//! starts the bot (`delivered:` fact).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::state::{ChatId, MemberState, UserId};
use crate::store::ledger::{Ledger, keys};
use crate::store::{Store, StoreError};

/// What apply records about an invite it could not deliver.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Undelivered {
    pub chat_key: String,
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<i64>,
    /// Telegram's answer.
    pub reason: String,
}

/// The fact key of an undelivered invite.
pub fn undelivered_key(chat: ChatId, user: UserId) -> String {
    format!("{}{chat}:{user}", keys::UNDELIVERED)
}

/// An invite waiting for its person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Pending {
    pub chat_key: String,
    pub chat_id: ChatId,
    pub user: UserId,
    pub person: String,
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<i64>,
    pub reason: String,
}

/// Invites watch delivered: `(chat, user)` → url.
pub fn delivered(ledger: &dyn Ledger) -> Result<BTreeMap<(ChatId, UserId), String>, StoreError> {
    let mut out = BTreeMap::new();
    for (key, value) in ledger.facts(keys::DELIVERED)? {
        let Some((chat, user)) = chat_user(&key[keys::DELIVERED.len()..]) else {
            continue;
        };
        let url = serde_json::from_str::<serde_json::Value>(&value)
            .ok()
            .and_then(|v| v.get("url")?.as_str().map(str::to_string))
            .unwrap_or_default();
        out.insert((chat, user), url);
    }
    Ok(out)
}

fn chat_user(text: &str) -> Option<(ChatId, UserId)> {
    let mut parts = text.split(':');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// Every undelivered invite still worth delivering at `now`: not
/// delivered since, not revoked or replaced, not expired, and the person
/// not in the chat.
pub fn pending(
    ledger: &dyn Ledger,
    store: &Store,
    handle: &dyn Fn(UserId) -> String,
    now: i64,
) -> Result<Vec<Pending>, StoreError> {
    let mut records = Vec::new();
    for (key, value) in ledger.facts(keys::UNDELIVERED)? {
        let Some((chat, user)) = chat_user(&key[keys::UNDELIVERED.len()..]) else {
            continue;
        };
        if let Ok(u) = serde_json::from_str::<Undelivered>(&value) {
            records.push((chat, user, u));
        }
    }
    let delivered = delivered(ledger)?;
    Ok(pending_from(store, handle, &delivered, now, &records))
}

fn pending_from(
    store: &Store,
    handle: &dyn Fn(UserId) -> String,
    delivered: &BTreeMap<(ChatId, UserId), String>,
    now: i64,
    records: &[(ChatId, UserId, Undelivered)],
) -> Vec<Pending> {
    let mut out = Vec::new();
    for (chat, user, u) in records {
        if delivered.get(&(*chat, *user)) == Some(&u.url) {
            continue;
        }
        if u.expires.is_some_and(|e| e <= now) {
            continue;
        }
        let memory = store.chat(*chat);
        // The store's record of the person's invite must still be this one.
        let current = memory
            .and_then(|m| m.personal_invites.get(user))
            .is_some_and(|l| l.url.as_deref() == Some(u.url.as_str()) && !l.revoked);
        if !current {
            continue;
        }
        let here = memory.and_then(|m| m.members.get(user)).is_some_and(|s| {
            matches!(
                s.status,
                MemberState::Member | MemberState::Restricted { .. }
            )
        });
        if here {
            continue;
        }
        out.push(Pending {
            chat_key: u.chat_key.clone(),
            chat_id: *chat,
            user: *user,
            person: handle(*user),
            url: u.url.clone(),
            expires: u.expires,
            reason: u.reason.clone(),
        });
    }
    out
}

/// The message that carries a pending invite to its person.
pub fn message(p: &Pending) -> String {
    let until = p
        .expires
        .map(|e| format!(" and expires {}", crate::state::time::minute_text(e)))
        .unwrap_or_default();
    format!(
        "You are invited to the Telegram chat \u{201c}{}\u{201d}. Join with your personal link; it works once{until}:\n{}",
        p.chat_key, p.url
    )
}

/// Plain text for a terminal: one line per invite, with the link.
pub fn text(pending: &[Pending]) -> String {
    if pending.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "\nInvites waiting for delivery ({}): the person has not started the bot, so Telegram refused the message. Hand them the link, or ask them to start the bot (`orgform watch` then sends it):\n",
        pending.len()
    );
    for p in pending {
        out.push_str(&format!("  {} in {}: {}\n", p.person, p.chat_key, p.url));
    }
    out
}
