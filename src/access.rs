//! Access: what a person is declared to have in a chat ([`Access::of`]) and
//! why ([`why_of`], keyed by the change [`Address`]), the one answer used by
//! `show`, `diff`, `export` and the PR Markdown; and the effective access
//! diff between two desired states (DESIGN §7): who gains or loses which
//! chat, admin right, title, restriction or ban, and why on both sides; and
//! per chat, what changes in its settings, admins and members. Pure: no
//! I/O, no clock.
//!
//! Chats are matched by their Telegram id and people by their Telegram user
//! id, so renaming a chat's config key or a person's handle is reported as
//! a rename, not as everyone leaving one chat and joining another. Where
//! the config files live plays no part: the inputs are resolved states, so
//! moving or splitting files changes nothing here.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Value, json};

use crate::model::Config;
use crate::state::{
    Address, ChatId, ChatState, DesiredState, MemberState, MembershipMode, Permissions, Rights,
    UserId,
};

/// The diff format; bumped on incompatible changes to the JSON.
pub const FORMAT_VERSION: u32 = 1;

/// One side of the comparison.
#[derive(Clone, Copy)]
pub struct Side<'a> {
    pub desired: &'a DesiredState,
    /// The typed config, for people's departments, roles and status. Without
    /// it a person's profile changes are not reported.
    pub config: Option<&'a Config>,
}

/// What a person is declared to have in one chat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Access {
    Admin {
        rights: Rights,
        #[serde(skip_serializing_if = "Option::is_none")]
        title: Option<String>,
    },
    Member,
    Restricted {
        permissions: Permissions,
        #[serde(skip_serializing_if = "Option::is_none")]
        until: Option<i64>,
    },
    Banned,
    /// Must not be in the chat (offboarded).
    Removed,
}

impl Access {
    /// What `uid` is declared to have in `chat`; `None` when the config
    /// says nothing about them there.
    pub fn of(chat: &ChatState, uid: UserId) -> Option<Access> {
        if let Some(seat) = chat.admins.get(&uid) {
            return Some(Access::Admin {
                rights: seat.rights.clone(),
                title: seat.title.clone(),
            });
        }
        Some(match chat.members.get(&uid)? {
            MemberState::Member => Access::Member,
            MemberState::Restricted { permissions, until } => Access::Restricted {
                permissions: permissions.clone(),
                until: *until,
            },
            MemberState::Banned => Access::Banned,
            MemberState::Absent => Access::Removed,
        })
    }

    /// Whether this lets the person into the chat.
    pub fn is_in(&self) -> bool {
        matches!(
            self,
            Access::Admin { .. } | Access::Member | Access::Restricted { .. }
        )
    }

    /// The status word shown in tables and JSON.
    pub fn status(&self) -> &'static str {
        match self {
            Access::Admin { .. } => "admin",
            Access::Member => "member",
            Access::Restricted { .. } => "restricted",
            Access::Banned => "banned",
            Access::Removed => "removed",
        }
    }

    /// The address of the seat or membership this access is.
    pub fn address(&self, chat: &str, handle: &str) -> Address {
        if matches!(self, Access::Admin { .. }) {
            Address::admin(chat, handle)
        } else {
            Address::member(chat, handle)
        }
    }
}

/// Why `uid` has what they have in chat `chat` (by config key): the
/// resolver's trace at the seat's or membership's address.
pub fn why_of<'a>(desired: &'a DesiredState, chat: &str, uid: UserId) -> &'a [String] {
    let Some(access) = desired
        .state
        .chats
        .get(chat)
        .and_then(|c| Access::of(c, uid))
    else {
        return &[];
    };
    let address = access.address(chat, &desired.handle(uid));
    desired
        .why
        .get(address.as_str())
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// Which way a change goes for the person.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Gets into a chat, or gets more there (admin seat, rights, fewer restrictions).
    Gains,
    /// Loses a chat, or loses something there (rights, admin seat, permissions); is banned.
    Loses,
    /// Neither more nor less: a title, or a mix of gains and losses.
    Changes,
}

/// One person's access change in one chat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccessChange {
    /// The chat's config key (at the head; at the base when the chat is gone).
    pub chat: String,
    pub chat_id: ChatId,
    /// How the chat's membership is managed at the head.
    pub membership: MembershipMode,
    /// `None`: not declared in the chat.
    pub before: Option<Access>,
    pub after: Option<Access>,
    pub effect: Effect,
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    pub rights_gained: Rights,
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    pub rights_lost: Rights,
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    pub permissions_gained: Permissions,
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    pub permissions_lost: Permissions,
    /// Why-traces at the base and at the head.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub why_before: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub why_after: Vec<String>,
}

/// A field that changed: its name and both values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    pub field: String,
    pub before: Value,
    pub after: Value,
}

/// Everything that changed for one person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PersonDiff {
    /// The handle at the head (at the base when the person is gone).
    pub handle: String,
    pub user_id: UserId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The handle at the base, when it was renamed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
    /// Added to or removed from the config.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence: Option<Presence>,
    /// Department, roles, status, labels, grants: the usual causes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub profile: Vec<FieldChange>,
    /// Chat by chat.
    pub changes: Vec<AccessChange>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    Added,
    Removed,
}

/// A chat that appears, disappears or changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatStatus {
    /// Newly managed.
    Added,
    /// No longer managed: orgform stops changing it and removes nobody.
    Removed,
    Changed,
}

/// Everything that changed in one chat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChatDiff {
    /// The config key at the head (at the base when the chat is gone).
    pub key: String,
    pub id: ChatId,
    pub status: ChatStatus,
    /// The key at the base, when it was renamed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
    /// Type, membership mode, settings, topics, invite links, commands.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub settings: Vec<FieldChange>,
    /// Admin seats that appear, go or change, by person handle.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub admins: Vec<String>,
    /// Members (plain, restricted, banned, removed) that appear, go or change.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
}

/// The whole diff.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Default)]
pub struct AccessDiff {
    pub people: Vec<PersonDiff>,
    pub chats: Vec<ChatDiff>,
}

/// Counts for summaries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Default)]
pub struct Summary {
    pub people: usize,
    pub chats: usize,
    pub gains: usize,
    pub losses: usize,
    pub changes: usize,
}

impl AccessDiff {
    pub fn is_empty(&self) -> bool {
        self.people.is_empty() && self.chats.is_empty()
    }

    /// Config keys of the chats whose desired state differs, at the head
    /// (chats no longer managed are left out: nothing is planned there).
    pub fn changed_chats(&self) -> Vec<String> {
        self.chats
            .iter()
            .filter(|c| c.status != ChatStatus::Removed)
            .map(|c| c.key.clone())
            .collect()
    }

    pub fn summary(&self) -> Summary {
        let all = || self.people.iter().flat_map(|p| &p.changes);
        Summary {
            people: self.people.len(),
            chats: self.chats.len(),
            gains: all().filter(|c| c.effect == Effect::Gains).count(),
            losses: all().filter(|c| c.effect == Effect::Loses).count(),
            changes: all().filter(|c| c.effect == Effect::Changes).count(),
        }
    }
}

/// Compare two sides.
pub fn diff(base: Side<'_>, head: Side<'_>) -> AccessDiff {
    let base_by_id: BTreeMap<ChatId, (&String, &ChatState)> = base
        .desired
        .state
        .chats
        .iter()
        .map(|(k, c)| (c.id, (k, c)))
        .collect();
    let head_by_id: BTreeMap<ChatId, (&String, &ChatState)> = head
        .desired
        .state
        .chats
        .iter()
        .map(|(k, c)| (c.id, (k, c)))
        .collect();
    let ids: BTreeSet<ChatId> = base_by_id
        .keys()
        .chain(head_by_id.keys())
        .copied()
        .collect();

    let mut per_person: BTreeMap<UserId, Vec<AccessChange>> = BTreeMap::new();
    let mut chats = Vec::new();
    for id in ids {
        let b = base_by_id.get(&id).copied();
        let h = head_by_id.get(&id).copied();
        let (key, status) = match (b, h) {
            (Some(_), Some((hk, _))) => (hk.clone(), ChatStatus::Changed),
            (None, Some((hk, _))) => (hk.clone(), ChatStatus::Added),
            (Some((bk, _)), None) => (bk.clone(), ChatStatus::Removed),
            (None, None) => continue,
        };
        let renamed_from = match (b, h) {
            (Some((bk, _)), Some((hk, _))) if bk != hk => Some(bk.clone()),
            _ => None,
        };
        let settings = chat_fields(
            b.map(|x| (x.1, base.desired)),
            h.map(|x| (x.1, head.desired)),
        );
        let mut admins = Vec::new();
        let mut members = Vec::new();
        // A chat that is no longer managed changes nobody's access.
        if status != ChatStatus::Removed {
            let kind = h.or(b).map(|x| x.1.kind).expect("one side has the chat");
            let empty = ChatState::new(id, kind);
            let bc = b.map_or(&empty, |x| x.1);
            let hc = h.map_or(&empty, |x| x.1);
            let users: BTreeSet<UserId> = bc
                .admins
                .keys()
                .chain(bc.members.keys())
                .chain(hc.admins.keys())
                .chain(hc.members.keys())
                .copied()
                .collect();
            for uid in users {
                let before = Access::of(bc, uid);
                let after = Access::of(hc, uid);
                // Not declared and "must not be in the chat" are the same
                // access: offboarding someone is a loss only in the chats
                // where they had access, not in every managed chat.
                let absent = |a: &Option<Access>| matches!(a, None | Some(Access::Removed));
                if before == after || (absent(&before) && absent(&after)) {
                    continue;
                }
                let base_key = b.map(|x| x.0.as_str()).unwrap_or(&key);
                let why_before = why(base.desired, base_key, uid);
                let why_after = why(head.desired, &key, uid);
                let handle = head_handle(base.desired, head.desired, uid);
                let was_admin = matches!(before, Some(Access::Admin { .. }));
                let is_admin = matches!(after, Some(Access::Admin { .. }));
                if was_admin || is_admin {
                    admins.push(handle.clone());
                }
                let non_admin = |a: &Option<Access>| {
                    a.as_ref()
                        .is_some_and(|a| !matches!(a, Access::Admin { .. }))
                };
                if non_admin(&before) || non_admin(&after) {
                    members.push(handle);
                }
                let change = access_change(
                    key.clone(),
                    id,
                    hc.membership,
                    before,
                    after,
                    why_before,
                    why_after,
                );
                per_person.entry(uid).or_default().push(change);
            }
        }
        if status == ChatStatus::Changed
            && renamed_from.is_none()
            && settings.is_empty()
            && admins.is_empty()
            && members.is_empty()
        {
            continue;
        }
        admins.sort();
        members.sort();
        chats.push(ChatDiff {
            key,
            id,
            status,
            renamed_from,
            settings,
            admins,
            members,
        });
    }
    chats.sort_by(|a, b| a.key.cmp(&b.key));

    let mut people = Vec::new();
    let uids: BTreeSet<UserId> = base
        .desired
        .people
        .keys()
        .chain(head.desired.people.keys())
        .chain(per_person.keys())
        .copied()
        .collect();
    for uid in uids {
        let bp = base.desired.people.get(&uid);
        let hp = head.desired.people.get(&uid);
        let handle = head_handle(base.desired, head.desired, uid);
        let renamed_from = match (bp, hp) {
            (Some(b), Some(h)) if b.handle != h.handle => Some(b.handle.clone()),
            _ => None,
        };
        let presence = match (bp, hp) {
            (None, Some(_)) => Some(Presence::Added),
            (Some(_), None) => Some(Presence::Removed),
            _ => None,
        };
        let profile = profile_changes(
            base.config,
            bp.map(|p| p.handle.as_str()),
            head.config,
            hp.map(|p| p.handle.as_str()),
        );
        let mut changes = per_person.remove(&uid).unwrap_or_default();
        changes.sort_by(|a, b| a.chat.cmp(&b.chat));
        if changes.is_empty() && renamed_from.is_none() && presence.is_none() && profile.is_empty()
        {
            continue;
        }
        let name = hp.or(bp).and_then(|p| p.name.clone());
        people.push(PersonDiff {
            handle,
            user_id: uid,
            name,
            renamed_from,
            presence,
            profile,
            changes,
        });
    }
    people.sort_by(|a, b| (&a.handle, a.user_id).cmp(&(&b.handle, b.user_id)));
    AccessDiff { people, chats }
}

fn head_handle(base: &DesiredState, head: &DesiredState, uid: UserId) -> String {
    head.people
        .get(&uid)
        .or_else(|| base.people.get(&uid))
        .map(|p| p.handle.clone())
        .unwrap_or_else(|| uid.to_string())
}

fn why(desired: &DesiredState, chat: &str, uid: UserId) -> Vec<String> {
    why_of(desired, chat, uid).to_vec()
}

fn access_change(
    chat: String,
    chat_id: ChatId,
    membership: MembershipMode,
    before: Option<Access>,
    after: Option<Access>,
    why_before: Vec<String>,
    why_after: Vec<String>,
) -> AccessChange {
    let empty_r = Rights::new();
    let rights = |a: &Option<Access>| match a {
        Some(Access::Admin { rights, .. }) => rights.clone(),
        _ => empty_r.clone(),
    };
    // What a person in the chat may do as a member: everything unless
    // restricted (admins are not bound by member permissions).
    let permissions = |a: &Option<Access>| match a {
        Some(Access::Restricted { permissions, .. }) => Some(permissions.clone()),
        Some(Access::Member) | Some(Access::Admin { .. }) => Some(crate::state::Permission::all()),
        _ => None,
    };
    let (rb, ra) = (rights(&before), rights(&after));
    let rights_gained: Rights = ra.difference(&rb).copied().collect();
    let rights_lost: Rights = rb.difference(&ra).copied().collect();
    let (permissions_gained, permissions_lost) = match (permissions(&before), permissions(&after)) {
        (Some(pb), Some(pa)) => (
            pa.difference(&pb).copied().collect(),
            pb.difference(&pa).copied().collect(),
        ),
        _ => (Permissions::new(), Permissions::new()),
    };
    let was_in = before.as_ref().is_some_and(Access::is_in);
    let is_in = after.as_ref().is_some_and(Access::is_in);
    let effect = if is_in && !was_in {
        Effect::Gains
    } else if was_in && !is_in {
        Effect::Loses
    } else if !was_in && !is_in {
        // Between "not declared", banned and removed.
        match (&before, &after) {
            (_, Some(Access::Banned)) | (_, Some(Access::Removed)) => Effect::Loses,
            _ => Effect::Changes,
        }
    } else {
        let more = !rights_gained.is_empty() || !permissions_gained.is_empty();
        let less = !rights_lost.is_empty() || !permissions_lost.is_empty();
        match (more, less) {
            (true, false) => Effect::Gains,
            (false, true) => Effect::Loses,
            _ => Effect::Changes,
        }
    };
    AccessChange {
        chat,
        chat_id,
        membership,
        before,
        after,
        effect,
        rights_gained,
        rights_lost,
        permissions_gained,
        permissions_lost,
        why_before,
        why_after,
    }
}

/// Settings and other chat-level fields that differ.
fn chat_fields(
    base: Option<(&ChatState, &DesiredState)>,
    head: Option<(&ChatState, &DesiredState)>,
) -> Vec<FieldChange> {
    let fields = |side: Option<(&ChatState, &DesiredState)>| -> BTreeMap<String, Value> {
        let Some((c, desired)) = side else {
            return BTreeMap::new();
        };
        let mut m = BTreeMap::new();
        m.insert("type".to_string(), json!(c.kind));
        m.insert("membership".to_string(), json!(c.membership));
        if let Value::Object(settings) = json!(c.settings) {
            m.extend(settings);
        }
        for (k, t) in &c.topics {
            m.insert(format!("topic.{k}"), json!(t));
        }
        for (k, l) in &c.invite_links {
            m.insert(format!("invite.{k}"), json!(l));
        }
        if let Some(cmds) = &c.commands {
            m.insert(
                "commands".into(),
                json!(
                    cmds.iter()
                        .map(|c| format!("/{} — {}", c.command, c.description))
                        .collect::<Vec<_>>()
                ),
            );
        }
        if let Some(p) = &c.pinned {
            m.insert("pinned".into(), json!(p.text));
        }
        for (user, tag) in c.tags.iter().flatten() {
            m.insert(format!("tag.{}", desired.handle(*user)), json!(tag));
        }
        m
    };
    let (b, h) = (fields(base), fields(head));
    // A chat that appears or disappears is summed up by its status; list
    // only what it had on the side that has it when both exist.
    if base.is_none() || head.is_none() {
        return Vec::new();
    }
    let names: BTreeSet<&String> = b.keys().chain(h.keys()).collect();
    names
        .into_iter()
        .filter_map(|name| {
            let before = b.get(name).cloned().unwrap_or(Value::Null);
            let after = h.get(name).cloned().unwrap_or(Value::Null);
            (before != after).then(|| FieldChange {
                field: name.clone(),
                before,
                after,
            })
        })
        .collect()
}

/// A person's department, roles, status, labels and grants that differ.
fn profile_changes(
    base: Option<&Config>,
    bh: Option<&str>,
    head: Option<&Config>,
    hh: Option<&str>,
) -> Vec<FieldChange> {
    let (Some(bc), Some(hc), Some(bh), Some(hh)) = (base, head, bh, hh) else {
        return Vec::new();
    };
    let (Some(b), Some(h)) = (bc.people.get(bh), hc.people.get(hh)) else {
        return Vec::new();
    };
    let dept = |c: &Config, d: &Option<String>| -> Value {
        match d {
            Some(d) => {
                // The department with its chain of parents: a move within
                // the tree shows where it went.
                let mut chain = vec![d.clone()];
                let mut seen = BTreeSet::new();
                let mut cur = d.clone();
                while let Some(parent) = c.departments.get(&cur).and_then(|x| x.parent.clone()) {
                    if !seen.insert(parent.clone()) {
                        break;
                    }
                    chain.push(parent.clone());
                    cur = parent;
                }
                chain.reverse();
                json!(chain.join(" / "))
            }
            None => Value::Null,
        }
    };
    let mut out = Vec::new();
    let mut push = |field: &str, before: Value, after: Value| {
        if before != after {
            out.push(FieldChange {
                field: field.into(),
                before,
                after,
            });
        }
    };
    push(
        "department",
        dept(bc, &b.department),
        dept(hc, &h.department),
    );
    push("roles", json!(b.roles), json!(h.roles));
    push("status", json!(b.status), json!(h.status));
    push("labels", json!(b.labels), json!(h.labels));
    push("grants", json!(b.grants), json!(h.grants));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{AdminSeat, ChatType, PersonRef, Right};

    fn person(desired: &mut DesiredState, uid: UserId, handle: &str) {
        desired.people.insert(
            uid,
            PersonRef {
                handle: handle.into(),
                name: None,
                username: None,
                offboarded: false,
            },
        );
    }

    fn side(desired: &DesiredState) -> Side<'_> {
        Side {
            desired,
            config: None,
        }
    }

    #[test]
    fn renaming_a_chat_key_or_a_handle_is_a_rename_not_a_move() {
        let mut base = DesiredState::default();
        person(&mut base, 1, "al");
        let mut chat = ChatState::new(-100, ChatType::Supergroup);
        chat.members.insert(1, MemberState::Member);
        base.state.chats.insert("apps".into(), chat.clone());
        let mut head = DesiredState::default();
        person(&mut head, 1, "alice");
        head.state.chats.insert("app-team".into(), chat);
        let d = diff(side(&base), side(&head));
        assert_eq!(d.chats.len(), 1);
        assert_eq!(
            (d.chats[0].key.as_str(), d.chats[0].renamed_from.as_deref()),
            ("app-team", Some("apps"))
        );
        assert!(d.chats[0].admins.is_empty() && d.chats[0].members.is_empty());
        assert_eq!(d.people.len(), 1);
        assert_eq!(
            (
                d.people[0].handle.as_str(),
                d.people[0].renamed_from.as_deref()
            ),
            ("alice", Some("al"))
        );
        assert!(d.people[0].changes.is_empty());
        assert!(d.changed_chats() == ["app-team"]);
    }

    #[test]
    fn effects_of_admin_rights_restrictions_and_bans() {
        let mut base = DesiredState::default();
        let mut head = DesiredState::default();
        for d in [&mut base, &mut head] {
            for (uid, h) in [(1, "a"), (2, "b"), (3, "c"), (4, "d")] {
                person(d, uid, h);
            }
        }
        let mut b = ChatState::new(-100, ChatType::Supergroup);
        b.admins.insert(
            1,
            AdminSeat {
                rights: [Right::ManageChat, Right::PinMessages].into(),
                title: Some("Mod".into()),
                owner: false,
            },
        );
        b.members.insert(2, MemberState::Member);
        b.members.insert(3, MemberState::Member);
        let mut h = ChatState::new(-100, ChatType::Supergroup);
        h.admins.insert(
            1,
            AdminSeat {
                rights: [Right::ManageChat].into(),
                title: Some("Mod".into()),
                owner: false,
            },
        );
        h.members.insert(
            2,
            MemberState::Restricted {
                permissions: Default::default(),
                until: None,
            },
        );
        h.members.insert(3, MemberState::Banned);
        h.members.insert(4, MemberState::Member);
        base.state.chats.insert("x".into(), b);
        head.state.chats.insert("x".into(), h);
        let d = diff(side(&base), side(&head));
        let effect = |handle: &str| {
            let p = d.people.iter().find(|p| p.handle == handle).unwrap();
            (
                p.changes[0].effect,
                p.changes[0].rights_lost.len(),
                p.changes[0].permissions_lost.len(),
            )
        };
        assert_eq!(effect("a"), (Effect::Loses, 1, 0));
        assert_eq!(effect("b").0, Effect::Loses);
        assert!(effect("b").2 > 0);
        assert_eq!(effect("c").0, Effect::Loses);
        assert_eq!(effect("d").0, Effect::Gains);
        assert_eq!(
            d.summary(),
            Summary {
                people: 4,
                chats: 1,
                gains: 1,
                losses: 3,
                changes: 0
            }
        );
    }

    #[test]
    fn a_chat_no_longer_managed_removes_nobody() {
        let mut base = DesiredState::default();
        person(&mut base, 1, "a");
        let mut chat = ChatState::new(-100, ChatType::Supergroup);
        chat.members.insert(1, MemberState::Member);
        base.state.chats.insert("old".into(), chat);
        let head = DesiredState {
            people: base.people.clone(),
            ..Default::default()
        };
        let d = diff(side(&base), side(&head));
        assert_eq!(d.chats[0].status, ChatStatus::Removed);
        assert!(d.people.is_empty());
        assert!(d.changed_chats().is_empty());
    }
}
