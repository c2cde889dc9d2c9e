//! The planner: a pure diff of the desired against the live state into an
//! ordered, guarded [`Plan`] (DESIGN §4). No I/O, clock or randomness here:
//! time comes in as an argument.
//!
//! - `diff` finds the changes;
//! - [`build`] orders them (reversible phase per chat in DESIGN order, then
//!   the irreversible phase), runs the guards and fingerprints every live
//!   object the plan touches;
//! - `simulate` applies a plan to a live state in memory (tests, and the
//!   applier's fake provider).

pub mod change;
pub mod diff;
pub mod folders;
pub mod guard;
pub mod simulate;
pub mod value;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

pub use change::{Action, Change, Op, Phase, SeatChange, Step};
pub use guard::{GuardResult, Override, Overrides};
pub use value::{PhotoShown, Value};

use crate::spec::Policies;
use crate::state::{DesiredState, LiveState, MemberState};
use crate::store::Store;

/// The plan file format; bumped on incompatible changes (2: a demotion is
/// its own `demote` op).
pub const FORMAT_VERSION: u32 = 2;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: u32,
    /// When the plan was made (RFC 3339).
    pub created_at: String,
    /// SHA-256 of the config files, when saved with `--out`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
    /// Only these chats were planned (`--changed-since`); `None` = all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only: Option<Vec<String>>,
    /// In execution order.
    pub changes: Vec<Change>,
    pub guards: Vec<GuardResult>,
    /// Chats that could not be read, with the reason: nothing is planned there.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unreadable: BTreeMap<String, String>,
    /// Address → fingerprint of the live object as it was when planned.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fingerprints: BTreeMap<String, String>,
}

/// What a plan is made from.
pub struct PlanInput<'a> {
    pub desired: &'a DesiredState,
    pub live: &'a LiveState,
    pub store: &'a Store,
    pub policies: Option<&'a Policies>,
    pub overrides: Overrides,
    pub now: jiff::Timestamp,
    pub only: Option<Vec<String>>,
}

/// A creation for every chat declared without an id (the user provider
/// makes them; `resolve` lists them only when the org has one). The chat
/// has no id yet: `chat_id` is 0 until the apply records the new one.
fn creations(desired: &crate::state::DesiredState, only: Option<&[String]>) -> Vec<Change> {
    desired
        .creations
        .iter()
        .filter(|c| only.is_none_or(|only| only.contains(&c.key)))
        .map(|c| {
            // Every right of the chat type but anonymity: the bot then
            // carries whatever the config declares for the chat later.
            let bot_rights: crate::state::Rights = crate::state::Right::all_for(c.kind)
                .into_iter()
                .filter(|r| *r != crate::state::Right::Anonymous)
                .collect();
            Change {
                address: crate::state::Address::chat(&c.key),
                chat: c.key.clone(),
                chat_id: 0,
                chat_type: c.kind,
                action: Action::Create,
                step: change::Step::Settings,
                op: Op::CreateChat {
                    title: c.title.clone(),
                    description: c.description.clone(),
                    forum: c.forum,
                    bot: desired.bot.clone(),
                    bot_rights: bot_rights.clone(),
                },
                before: Value::Nothing,
                after: Value::NewChat {
                    kind: c.kind,
                    title: c.title.clone(),
                    description: c.description.clone(),
                    forum: c.forum,
                    bot_rights: bot_rights.clone(),
                },
                why: vec!["declared without an id: the user provider creates it".into()],
                reversible: false,
                person: None,
                undeclared: false,
                seat: None,
            }
        })
        .collect()
}

/// Diff, order, guard and fingerprint.
pub fn build(input: PlanInput) -> Plan {
    let mut changes = diff::diff(&diff::DiffInput {
        desired: input.desired,
        live: input.live,
        now: input.now.as_second(),
        only: input.only.as_deref(),
        store: input.store,
    });
    changes.extend(creations(input.desired, input.only.as_deref()));
    order(&mut changes);
    let guards = guard::check(
        &changes,
        input.live,
        input.policies,
        &input.overrides,
        input.desired.provider,
        |id| input.store.first_run(id),
    );
    let unreadable = input
        .live
        .meta
        .iter()
        .filter(|(k, _)| input.only.as_ref().is_none_or(|o| o.contains(k)))
        .filter_map(|(k, m)| m.error.clone().map(|e| (k.clone(), e)))
        .collect();
    let fingerprints = changes
        .iter()
        .map(|c| {
            (
                c.address.to_string(),
                fingerprint(&live_object(input.live, c)),
            )
        })
        .collect();
    Plan {
        format_version: FORMAT_VERSION,
        created_at: input.now.to_string(),
        config_digest: None,
        git_commit: None,
        only: input.only,
        changes,
        guards,
        unreadable,
        fingerprints,
    }
}

/// Execution order: every reversible change before any irreversible one;
/// within a phase by chat, then DESIGN's step order, then address. Stable,
/// so changes at one address keep the order `diff` gave them (demote before
/// kick).
pub fn order(changes: &mut [Change]) {
    changes.sort_by(|a, b| {
        (a.phase(), &a.chat, a.step, &a.address).cmp(&(b.phase(), &b.chat, b.step, &b.address))
    });
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    pub fn refused(&self) -> bool {
        guard::refused(&self.guards)
    }

    /// Changes the tool will execute (not manual ones).
    pub fn executable(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.action != Action::Manual)
    }

    pub fn counts(&self) -> BTreeMap<Action, usize> {
        let mut m = BTreeMap::new();
        for c in &self.changes {
            *m.entry(c.action).or_insert(0) += 1;
        }
        m
    }
}

/// The live object a change touches, as JSON: what its fingerprint covers.
pub fn live_object(live: &LiveState, change: &Change) -> Json {
    let Some(chat) = live.state.chats.get(&change.chat) else {
        return Json::Null;
    };
    let user_state = |user: i64| -> Json {
        if let Some(seat) = chat.admins.get(&user) {
            return serde_json::to_value(seat).unwrap_or(Json::Null);
        }
        chat.members
            .get(&user)
            .and_then(|m| serde_json::to_value(m).ok())
            .unwrap_or(Json::Null)
    };
    match &change.op {
        Op::SetTitle { .. } => serde_json::json!(chat.settings.title),
        Op::SetDescription { .. } => serde_json::json!(chat.settings.description),
        Op::SetPermissions { .. } => {
            serde_json::to_value(&chat.settings.permissions).unwrap_or(Json::Null)
        }
        Op::SetPhoto { .. } | Op::DeletePhoto => {
            serde_json::to_value(&chat.settings.photo).unwrap_or(Json::Null)
        }
        Op::Pin { .. } | Op::Unpin { .. } => {
            serde_json::to_value(&chat.pinned).unwrap_or(Json::Null)
        }
        Op::SetTag { user, .. } => serde_json::json!(chat.tags.as_ref().and_then(|t| t.get(user))),
        Op::CreateTopic { key, .. }
        | Op::EditTopic { key, .. }
        | Op::CloseTopic { key, .. }
        | Op::ReopenTopic { key, .. }
        | Op::DeleteTopic { key, .. } => {
            serde_json::to_value(chat.topics.get(key)).unwrap_or(Json::Null)
        }
        Op::CreateInviteLink { key, .. }
        | Op::EditInviteLink { key, .. }
        | Op::RevokeInviteLink { key, .. } => {
            serde_json::to_value(chat.invite_links.get(key)).unwrap_or(Json::Null)
        }
        Op::Promote { user, .. }
        | Op::Demote { user }
        | Op::SetAdminTitle { user, .. }
        | Op::Restrict { user, .. }
        | Op::Unrestrict { user }
        | Op::Ban { user }
        | Op::Unban { user }
        | Op::Kick { user }
        | Op::SendInvite { user, .. }
        | Op::AddMember { user, .. } => user_state(*user),
        Op::SetCommands { .. } | Op::DeleteCommands => {
            serde_json::to_value(&chat.commands).unwrap_or(Json::Null)
        }
        Op::Manual { .. } => serde_json::to_value(&chat.settings).unwrap_or(Json::Null),
        Op::CreateChat { .. }
        | Op::CreateFolder { .. }
        | Op::EditFolder { .. }
        | Op::DeleteFolder { .. } => Json::Null,
        Op::SetPersonSetting { setting } => serde_json::to_value(&chat.settings)
            .ok()
            .and_then(|s| s.get(setting.field()).cloned())
            .unwrap_or(Json::Null),
    }
}

/// A short, stable fingerprint of a JSON value (FNV-1a over its canonical
/// text: serde_json keeps object keys sorted). Used only to notice that a
/// live object moved, not for security.
pub fn fingerprint(value: &Json) -> String {
    let text = serde_json::to_string(value).unwrap_or_default();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        hash ^= b as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// Whether a member state counts as being in the chat.
pub fn present(m: &MemberState) -> bool {
    matches!(m, MemberState::Member | MemberState::Restricted { .. })
}
