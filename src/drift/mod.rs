//! Drift: where Telegram has moved away from the config, and who must fix
//! it (DESIGN §6).
//!
//! [`detect`] is pure: desired state × live state × store × now → a
//! [`DriftReport`]. What `orgform apply` would change comes from the
//! planner's own diff (`plan::diff`), so drift and plan never disagree; each
//! of those changes becomes an item fixed by `apply`, except what the bot
//! cannot do (settings only a person can change, seats it may not edit,
//! people who must accept an invite), which a person fixes. On top of the
//! planner, drift reports what the planner deliberately leaves alone:
//! undeclared members of `additive` chats, admins promoted by a person that
//! the bot cannot demote, titles of such seats, and what the Bot API cannot
//! see — people counted by `getChatMemberCount` whom orgform has never seen.
//! Unknowns are items too (status `unknown`), never silence; structural
//! blind spots (topic deletions, link changes made by hand) are listed per
//! chat.

pub mod folders;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::plan::diff::{self, DiffInput};
use crate::plan::{Action, Change, Op, present};
use crate::state::{
    Address, ChatId, ChatState, ChatType, DesiredState, LiveChatMeta, LiveState, MemberState,
    MembershipMode, UserId,
};
use crate::store::Store;

/// The drift report format; bumped on incompatible changes.
pub const FORMAT_VERSION: u32 = 1;

/// Who brings Telegram back to the config.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fixer {
    /// `orgform apply` would fix it.
    Apply,
    /// Only a person can (the Bot API cannot, or someone must decide).
    Person,
}

impl Fixer {
    pub fn label(self) -> &'static str {
        match self {
            Fixer::Apply => "apply",
            Fixer::Person => "person",
        }
    }
}

/// Whether an item is a known difference or something orgform could not check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Drift,
    Unknown,
}

/// What kind of drift, in the order reports list them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The chat could not be read, or the bot is not an admin there.
    Access,
    /// Title, description, default permissions, bot commands.
    Settings,
    /// Settings only a person can change (forum, slow mode, protected
    /// content, auto-delete, join by request).
    ManualSettings,
    /// Declared admins with other rights or titles, or not admins at all.
    AdminRights,
    /// Admins the config does not know.
    UnexpectedAdmins,
    /// People in the chat the config does not allow.
    UndeclaredMembers,
    /// Declared members who are not in the chat.
    MissingMembers,
    /// Restrictions and bans that differ.
    Restrictions,
    /// Member tags that differ.
    Tags,
    Topics,
    InviteLinks,
    /// People Telegram counts but orgform has never seen.
    Unseen,
}

impl Kind {
    pub const ALL: &'static [Kind] = &[
        Kind::Access,
        Kind::Settings,
        Kind::ManualSettings,
        Kind::AdminRights,
        Kind::UnexpectedAdmins,
        Kind::UndeclaredMembers,
        Kind::MissingMembers,
        Kind::Restrictions,
        Kind::Tags,
        Kind::Topics,
        Kind::InviteLinks,
        Kind::Unseen,
    ];

    /// A heading for reports.
    pub fn title(self) -> &'static str {
        match self {
            Kind::Access => "chat access",
            Kind::Settings => "settings",
            Kind::ManualSettings => "settings a bot cannot change",
            Kind::AdminRights => "admin rights and titles",
            Kind::UnexpectedAdmins => "admins the config does not know",
            Kind::UndeclaredMembers => "members the config does not allow",
            Kind::MissingMembers => "declared members not in the chat",
            Kind::Restrictions => "restrictions and bans",
            Kind::Tags => "member tags",
            Kind::Topics => "topics",
            Kind::InviteLinks => "invite links",
            Kind::Unseen => "what the Bot API cannot see",
        }
    }
}

/// One difference between Telegram and the config.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub address: Address,
    pub kind: Kind,
    pub status: Status,
    pub fixer: Fixer,
    /// The person concerned, by handle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    /// What is wrong, in a few words.
    pub summary: String,
    /// What the config asks for (`null` = nothing).
    pub expected: Value,
    /// What Telegram shows (`null` = nothing).
    pub actual: Value,
    /// What `apply` will do, or what a person must do.
    pub fix: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub why: Vec<String>,
    /// Who made the change by hand, and when, from the chat's admin log
    /// (with the user provider; the Bot API cannot tell).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_by: Option<String>,
}

/// How much orgform knows about who is in a chat, and how fresh it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct MemberKnowledge {
    /// getChatMemberCount (everyone present, admins and the bot included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// People orgform knows to be present: admins, the bot, members.
    pub known: u64,
    /// `count - known`; `None` when the count is unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unseen: Option<i64>,
    /// Present non-admin members by where orgform learned about them
    /// (`update`, `getChatMember`, `apply`, …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sources: BTreeMap<String, u64>,
    /// The newest `chat_member` update the store holds for this chat (unix time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_update: Option<i64>,
    /// The oldest observation behind a present member (unix time): members
    /// whose status matches the config are not asked about again, so this
    /// is how old the oldest knowledge is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_observation: Option<i64>,
}

/// Drift in one chat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatDrift {
    pub key: String,
    pub id: ChatId,
    #[serde(rename = "type")]
    pub kind: ChatType,
    pub membership: MembershipMode,
    /// Ordered by kind, then address.
    pub items: Vec<Item>,
    pub members: MemberKnowledge,
    /// What cannot be checked here through the Bot API at all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blind_spots: Vec<String>,
}

/// How `chat_member` updates reached the store in this run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum UpdateFeed {
    /// Pending updates were drained just now: membership changes up to now
    /// are known for every chat where the bot is an admin.
    Drained { updates: usize },
    /// A webhook receives the updates: orgform learned nothing new in this
    /// run, its member knowledge is as old as its last update.
    Webhook,
    /// `orgform watch` keeps the ledger and consumes the updates: this run
    /// read what it recorded.
    Watch,
    /// Updates were not read (a test, or an offline report).
    NotRead,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Summary {
    pub chats: usize,
    pub chats_with_drift: usize,
    pub items: usize,
    pub drift: usize,
    pub unknown: usize,
    /// Items `apply` would fix.
    pub apply: usize,
    /// Items a person must fix.
    pub person: usize,
    /// Of the items, those in chat folders (`folders:`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub folders: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftReport {
    pub format_version: u32,
    /// When the live state was read (RFC 3339).
    pub checked_at: String,
    pub updates: UpdateFeed,
    /// Every managed chat, by key, the ones without drift too.
    pub chats: Vec<ChatDrift>,
    /// The config's chat folders, when it has any: their drift, or why
    /// they were not checked (only a signed-in person can read folders).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folders: Option<folders::FolderDrift>,
    pub summary: Summary,
}

impl DriftReport {
    /// Add the folders' drift (counted in the summary: each item is one
    /// `apply` fixes).
    pub fn set_folders(&mut self, drift: folders::FolderDrift) {
        if let Some(old) = self.folders.take() {
            for item in old.items() {
                self.summary.items -= 1;
                self.summary.drift -= 1;
                self.summary.folders -= 1;
                match item.fixer {
                    Fixer::Apply => self.summary.apply -= 1,
                    Fixer::Person => self.summary.person -= 1,
                }
            }
        }
        for item in drift.items() {
            self.summary.items += 1;
            self.summary.drift += 1;
            self.summary.folders += 1;
            match item.fixer {
                Fixer::Apply => self.summary.apply += 1,
                Fixer::Person => self.summary.person += 1,
            }
        }
        self.folders = Some(drift);
    }

    /// Whether anything differs or could not be checked.
    pub fn has_drift(&self) -> bool {
        self.summary.items > 0
    }

    pub fn items(&self) -> impl Iterator<Item = (&ChatDrift, &Item)> {
        self.chats
            .iter()
            .flat_map(|c| c.items.iter().map(move |i| (c, i)))
    }
}

/// What drift is computed from.
pub struct DriftInput<'a> {
    pub desired: &'a DesiredState,
    pub live: &'a LiveState,
    /// The store after the refresh that read `live`.
    pub store: &'a Store,
    pub now: jiff::Timestamp,
    pub updates: UpdateFeed,
}

/// Compare and classify. Pure.
pub fn detect(input: &DriftInput) -> DriftReport {
    let now = input.now.as_second();
    let changes = diff::diff(&DiffInput {
        desired: input.desired,
        live: input.live,
        now,
        only: None,
        store: input.store,
    });
    let mut by_chat: BTreeMap<&str, Vec<&Change>> = BTreeMap::new();
    for c in &changes {
        by_chat.entry(c.chat.as_str()).or_default().push(c);
    }
    let mut chats = Vec::new();
    for (key, desired) in &input.desired.state.chats {
        let meta = input.live.meta.get(key).cloned().unwrap_or_default();
        let cx = ChatCx {
            key,
            desired,
            live: input.live.state.chats.get(key),
            meta: &meta,
            d: input.desired,
            store: input.store,
            now,
        };
        chats.push(cx.report(by_chat.get(key.as_str()).map(Vec::as_slice).unwrap_or(&[])));
    }
    let mut summary = Summary {
        chats: chats.len(),
        ..Summary::default()
    };
    for chat in &chats {
        if !chat.items.is_empty() {
            summary.chats_with_drift += 1;
        }
        for item in &chat.items {
            summary.items += 1;
            match item.status {
                Status::Drift => summary.drift += 1,
                Status::Unknown => summary.unknown += 1,
            }
            match item.fixer {
                Fixer::Apply => summary.apply += 1,
                Fixer::Person => summary.person += 1,
            }
        }
    }
    DriftReport {
        format_version: FORMAT_VERSION,
        checked_at: input.now.to_string(),
        updates: input.updates.clone(),
        chats,
        folders: None,
        summary,
    }
}

struct ChatCx<'a> {
    key: &'a str,
    desired: &'a ChatState,
    live: Option<&'a ChatState>,
    meta: &'a LiveChatMeta,
    d: &'a DesiredState,
    store: &'a Store,
    now: i64,
}

impl ChatCx<'_> {
    fn report(&self, changes: &[&Change]) -> ChatDrift {
        let mut items = Vec::new();
        let mut members = MemberKnowledge::default();
        let mut blind_spots = Vec::new();
        match (&self.meta.error, self.live) {
            (Some(error), _) => items.push(self.unreadable(error)),
            (None, None) => items.push(self.unreadable("the chat was not read")),
            (None, Some(live)) => {
                items.extend(changes.iter().map(|c| self.change_item(c, live)));
                self.beyond_the_planner(live, &mut items);
                members = self.knowledge(live);
                if let Some(item) = self.unseen(&members) {
                    items.push(item);
                }
                blind_spots = self.blind_spots(live);
            }
        }
        items.sort_by(|a, b| (a.kind, &a.address).cmp(&(b.kind, &b.address)));
        ChatDrift {
            key: self.key.to_string(),
            id: self.desired.id,
            kind: self.desired.kind,
            membership: self.desired.membership,
            items,
            members,
            blind_spots,
        }
    }

    /// An item; `values` is (expected, actual).
    fn item(
        &self,
        address: Address,
        kind: Kind,
        fixer: Fixer,
        summary: impl Into<String>,
        values: (Value, Value),
        fix: impl Into<String>,
    ) -> Item {
        let (expected, actual) = values;
        let why = self
            .d
            .why
            .get(address.as_str())
            .cloned()
            .unwrap_or_default();
        Item {
            address,
            kind,
            status: Status::Drift,
            fixer,
            person: None,
            summary: summary.into(),
            expected,
            actual,
            fix: fix.into(),
            why,
            changed_by: None,
        }
    }

    fn unreadable(&self, error: &str) -> Item {
        let mut item = self.item(
            Address::chat(self.key),
            Kind::Access,
            Fixer::Person,
            "the chat could not be read, so its drift is unknown",
            (json!({"readable": true}), json!({"error": error})),
            "check that the chat exists, that its id in the config is right and that the bot is an administrator there");
        item.status = Status::Unknown;
        item
    }

    /// A change the planner would make, as a drift item.
    fn change_item(&self, c: &Change, live: &ChatState) -> Item {
        let (kind, fixer, summary, mut fix) = classify(c, self.desired, live);
        let mut actual = c.before.to_json();
        let mut expected = c.after.to_json();
        if let Op::SendInvite { user, .. } = &c.op {
            fix = self.invite_status(*user);
            expected = json!({"status": "member"});
            if let Some(seen) = self
                .store
                .chat(self.desired.id)
                .and_then(|m| m.members.get(user))
            {
                actual = json!({"status": status_name(&seen.status), "seen": crate::state::time::instant_text(seen.at), "source": seen.source});
            }
        }
        Item {
            address: c.address.clone(),
            kind,
            status: Status::Drift,
            fixer,
            person: c.person.clone(),
            summary,
            expected,
            actual,
            fix,
            why: c.why.clone(),
            changed_by: None,
        }
    }

    fn invite_status(&self, user: UserId) -> String {
        let sent = self
            .store
            .chat(self.desired.id)
            .and_then(|m| m.personal_invites.get(&user))
            .filter(|l| !l.revoked);
        match sent {
            Some(link) if link.expires.is_none_or(|e| e > self.now) => match link.expires {
                Some(e) => format!("a personal invite link was sent (valid until {}); they must join with it", crate::state::time::instant_text(e)),
                None => "a personal invite link was sent; they must join with it".to_string(),
            },
            _ if self.d.provider == crate::state::ProviderChoice::User => "they must join: `orgform apply` creates a personal invite link and sends it from the signed-in account".to_string(),
            _ => "they must join: `orgform apply` creates a personal invite link and sends it if they started the bot".to_string(),
        }
    }

    /// What the planner leaves alone but drift reports.
    fn beyond_the_planner(&self, live: &ChatState, items: &mut Vec<Item>) {
        let mode = self.desired.membership;
        let key = self.key;
        let can_title = self.desired.kind != ChatType::Channel;
        for (&user, have) in &live.admins {
            let who = self.d.handle(user);
            let locked = have.owner || self.meta.not_editable.contains(&user);
            match self.desired.admins.get(&user) {
                // Seats the bot may not edit: the planner compares their
                // rights (and asks a person); titles are compared here.
                Some(want) if locked && can_title => {
                    if let Some(title) = &want.title
                        && have.title.as_ref() != Some(title)
                    {
                        let mut item = self.item(
                            Address::admin(key, &who),
                            Kind::AdminRights,
                            Fixer::Person,
                            "admin title differs on a seat the bot cannot edit",
                            (json!(title), json!(have.title)),
                            if have.owner {
                                "only the owner can change their own title".to_string()
                            } else {
                                format!("the chat owner or the admin who promoted {who} must set the title")
                            });
                        item.person = Some(who);
                        items.push(item);
                    }
                }
                Some(_) => {}
                None if mode == MembershipMode::Observe => {}
                None if locked => {
                    let declared_member = self.desired.members.get(&user).is_some_and(present);
                    if have.owner && declared_member {
                        continue;
                    }
                    let (summary, fix) = if have.owner {
                        (
                            "the chat's owner is not in the config",
                            "declare them in the chat (as an admin or member), or transfer ownership".to_string(),
                        )
                    } else {
                        (
                            "admin not declared in the config, promoted by a person (the bot cannot demote them)",
                            format!(
                                "the chat owner or the admin who promoted {who} must remove the seat, or declare it in the config"
                            ),
                        )
                    };
                    let mut item = self.item(
                        Address::admin(key, &who),
                        Kind::UnexpectedAdmins,
                        Fixer::Person,
                        summary,
                        (
                            match self.desired.members.get(&user) {
                                Some(m) => {
                                    serde_json::to_value(m).expect("a member state serialises")
                                }
                                None => Value::Null,
                            },
                            seat_value(have),
                        ),
                        fix,
                    );
                    item.person = Some(who);
                    items.push(item);
                }
                None => {}
            }
        }
        if mode != MembershipMode::Observe {
            self.invited_not_joined(live, items);
        }
        if mode == MembershipMode::Additive {
            for (&user, have) in &live.members {
                if !present(have)
                    || self.desired.members.contains_key(&user)
                    || self.desired.admins.contains_key(&user)
                {
                    continue;
                }
                let who = self.d.handle(user);
                let mut item = self.item(
                    Address::member(key, &who),
                    Kind::UndeclaredMembers,
                    Fixer::Person,
                    "member not declared (membership additive: reported, never removed)",
                    (Value::Null, self.seen_value(user, have)),
                    "declare them in the config, or remove them from the chat by hand",
                );
                item.person = Some(who);
                items.push(item);
            }
        }
        if self.meta.bot_rights.is_none() {
            let actor = self.d.provider.actor();
            let mut item = self.item(
                Address::chat(key),
                Kind::Access,
                Fixer::Person,
                format!("{actor} is not an administrator: Telegram sends it no membership updates and refuses its changes"),
                (json!("administrator"), json!("not an administrator")),
                format!("make {actor} an administrator of the chat"));
            item.status = Status::Unknown;
            items.push(item);
        }
    }

    /// A personal invite still valid for this person.
    fn pending_invite(&self, user: UserId) -> bool {
        self.store
            .chat(self.desired.id)
            .and_then(|m| m.personal_invites.get(&user))
            .is_some_and(|l| !l.revoked && l.expires.is_none_or(|e| e > self.now))
    }

    /// Declared people who are not in the chat although an invite is out:
    /// the planner sends nothing more, a person must join.
    fn invited_not_joined(&self, live: &ChatState, items: &mut Vec<Item>) {
        let wanted = self.desired.admins.keys().map(|u| (*u, true)).chain(
            self.desired
                .members
                .iter()
                .filter(|(u, m)| present(m) && !self.desired.admins.contains_key(u))
                .map(|(u, _)| (*u, false)),
        );
        for (user, admin) in wanted {
            let here =
                live.admins.contains_key(&user) || live.members.get(&user).is_some_and(present);
            if here || !self.pending_invite(user) {
                continue;
            }
            let who = self.d.handle(user);
            let (address, summary) = if admin {
                (
                    Address::admin(self.key, &who),
                    "declared admin is not in the chat",
                )
            } else {
                (
                    Address::member(self.key, &who),
                    "declared member is not in the chat",
                )
            };
            let actual = match self
                .store
                .chat(self.desired.id)
                .and_then(|m| m.members.get(&user))
            {
                Some(seen) => {
                    json!({"status": status_name(&seen.status), "seen": crate::state::time::instant_text(seen.at), "source": seen.source})
                }
                None => json!({"status": "absent"}),
            };
            let mut item = self.item(
                address,
                Kind::MissingMembers,
                Fixer::Person,
                summary,
                (json!({"status": "member"}), actual),
                self.invite_status(user),
            );
            item.person = Some(who);
            items.push(item);
        }
    }

    fn seen_value(&self, user: UserId, have: &MemberState) -> Value {
        let mut v = serde_json::to_value(have).expect("a member state serialises");
        if let Some(seen) = self
            .store
            .chat(self.desired.id)
            .and_then(|m| m.members.get(&user))
        {
            v["seen"] = json!(crate::state::time::instant_text(seen.at));
            v["source"] = json!(seen.source);
        }
        v
    }

    fn knowledge(&self, live: &ChatState) -> MemberKnowledge {
        let memory = self.store.chat(self.desired.id);
        let mut k = MemberKnowledge {
            count: self.meta.member_count,
            ..MemberKnowledge::default()
        };
        // The bot is in every chat it can read.
        k.known = live.admins.len() as u64 + 1;
        for (user, m) in &live.members {
            if live.admins.contains_key(user) || !present(m) {
                continue;
            }
            k.known += 1;
            let seen = memory.and_then(|mem| mem.members.get(user));
            let source = seen
                .map(|s| s.source.clone())
                .unwrap_or_else(|| "unknown".into());
            *k.sources.entry(source).or_default() += 1;
            if let Some(seen) = seen {
                k.oldest_observation =
                    Some(k.oldest_observation.map_or(seen.at, |o| o.min(seen.at)));
            }
        }
        k.last_update = memory.and_then(|mem| {
            mem.members
                .values()
                .filter(|s| s.source == "update")
                .map(|s| s.at)
                .max()
        });
        k.unseen = k.count.map(|c| c as i64 - k.known as i64);
        k
    }

    fn unseen(&self, k: &MemberKnowledge) -> Option<Item> {
        if self.desired.membership == MembershipMode::Observe {
            return None;
        }
        let Some(count) = k.count else {
            let mut item = self.item(
                Address::chat(self.key),
                Kind::Unseen,
                Fixer::Person,
                "Telegram did not say how many people are in the chat",
                (Value::Null, Value::Null),
                "read the chat again; membership drift is unknown until then",
            );
            item.status = Status::Unknown;
            return Some(item);
        };
        let unseen = k.unseen.unwrap_or(0);
        if unseen == 0 {
            return None;
        }
        let (summary, fix) = if unseen > 0 {
            let who = if unseen == 1 {
                "1 person".to_string()
            } else {
                format!("{unseen} people")
            };
            let risk = match self.desired.membership {
                MembershipMode::Authoritative => {
                    "they may be people the config does not allow, and apply cannot remove whom it cannot see"
                }
                _ => "they may be people the config does not declare",
            };
            (
                format!("{who} in the chat {} unknown to orgform (joined before the bot saw updates); {risk}", if unseen == 1 { "is" } else { "are" }),
                "compare the member list in Telegram with the config by hand; anyone who changes status from now on is seen".to_string(),
            )
        } else {
            (
                format!("orgform believes {} more {} in the chat than Telegram counts: its member knowledge is stale", -unseen, if unseen == -1 { "person is" } else { "people are" }),
                "check the member list by hand; people who left without orgform seeing it will be asked about in the next read".to_string(),
            )
        };
        let mut item = self.item(
            Address::settings(self.key, "members"),
            Kind::Unseen,
            Fixer::Person,
            summary,
            (json!({"count": k.known}), json!({"count": count})),
            fix,
        );
        item.status = Status::Unknown;
        Some(item)
    }

    fn blind_spots(&self, live: &ChatState) -> Vec<String> {
        let mut out = Vec::new();
        if !live.topics.is_empty() {
            out.push(format!(
                "{} topic{}: renames, closing and reopening by hand are seen through service messages, deletions are not",
                live.topics.len(),
                if live.topics.len() == 1 { "" } else { "s" }
            ));
        }
        if !live.invite_links.is_empty() {
            out.push(format!(
                "{} invite link{}: edits and revocations by hand cannot be read through the Bot API",
                live.invite_links.len(),
                if live.invite_links.len() == 1 { "" } else { "s" }
            ));
        }
        out
    }
}

fn status_name(m: &MemberState) -> &'static str {
    match m {
        MemberState::Member => "member",
        MemberState::Restricted { .. } => "restricted",
        MemberState::Banned => "banned",
        MemberState::Absent => "absent",
    }
}

fn seat_value(seat: &crate::state::AdminSeat) -> Value {
    let mut v = json!({"status": if seat.owner { "owner" } else { "admin" }, "rights": seat.rights.iter().map(|r| r.name()).collect::<Vec<_>>()});
    if let Some(t) = &seat.title {
        v["title"] = json!(t);
    }
    v
}

/// Kind, fixer, summary and fix of a planned change.
fn classify(c: &Change, desired: &ChatState, live: &ChatState) -> (Kind, Fixer, String, String) {
    let apply = |kind: Kind, summary: &str, fix: &str| {
        (
            kind,
            Fixer::Apply,
            summary.to_string(),
            format!("`orgform apply` {fix}"),
        )
    };
    let demoted = |user: &crate::state::UserId| {
        let kind = if desired.admins.contains_key(user) {
            Kind::AdminRights
        } else {
            Kind::UnexpectedAdmins
        };
        apply(
            kind,
            "admin not declared in the config",
            "removes the admin seat",
        )
    };
    match &c.op {
        Op::SetTitle { .. } => apply(Kind::Settings, "title differs", "sets the title"),
        Op::SetDescription { .. } => apply(
            Kind::Settings,
            "description differs",
            "sets the description",
        ),
        Op::SetPermissions { .. } => apply(
            Kind::Settings,
            "default member permissions differ",
            "sets the default permissions",
        ),
        Op::SetPhoto { .. } if live.settings.photo == Some(crate::state::Photo::None) => {
            apply(Kind::Settings, "chat has no photo", "uploads the photo")
        }
        Op::SetPhoto { .. } => apply(
            Kind::Settings,
            "chat photo differs",
            "uploads the declared photo",
        ),
        Op::DeletePhoto => apply(
            Kind::Settings,
            "chat has a photo the config does not declare",
            "deletes the photo",
        ),
        Op::Pin { .. } if live.pinned.is_none() => apply(
            Kind::Settings,
            "nothing is pinned",
            "posts and pins the message",
        ),
        Op::Pin { .. } if live.pinned.as_ref().is_some_and(|p| p.by_bot) => apply(
            Kind::Settings,
            "pinned message text differs",
            "edits the pinned message",
        ),
        Op::Pin { .. } => apply(
            Kind::Settings,
            "another message is pinned on top",
            "pins the declared message on top again",
        ),
        Op::Unpin { .. } => apply(
            Kind::Settings,
            "orgform's message is pinned but the config pins nothing",
            "unpins it",
        ),
        Op::SetTag { tag, .. } if tag.is_empty() => apply(
            Kind::Tags,
            "member has a tag the config does not give",
            "clears the tag",
        ),
        Op::SetTag { .. } => apply(Kind::Tags, "member tag differs", "sets the tag"),
        Op::SetCommands { .. } => apply(
            Kind::Settings,
            "bot commands differ",
            "sets the chat's bot commands",
        ),
        Op::DeleteCommands => apply(
            Kind::Settings,
            "bot commands are set but the config has none",
            "deletes the chat's bot commands",
        ),
        Op::CreateFolder { .. } | Op::EditFolder { .. } | Op::DeleteFolder { .. } => apply(
            Kind::Settings,
            "the chat folder differs from the config",
            "sets it through the user provider",
        ),
        Op::CreateChat { .. } => apply(
            Kind::Settings,
            "declared without an id and not created yet",
            "creates it through the user provider",
        ),
        Op::SetPersonSetting { setting } => apply(
            Kind::Settings,
            &format!("{} differs", setting.field()),
            "sets it through the user provider (a signed-in person)",
        ),
        Op::Manual { instruction } => {
            let address = c.address.as_str();
            let (kind, summary) = if address.contains(".admin.") {
                (
                    Kind::AdminRights,
                    "admin rights differ on a seat the bot cannot edit".to_string(),
                )
            } else if address.contains(".topic.") {
                (
                    Kind::Topics,
                    "topic icon colour differs (the Bot API cannot recolour a topic)".to_string(),
                )
            } else {
                let field = address.rsplit('.').next().unwrap_or("");
                (
                    Kind::ManualSettings,
                    format!(
                        "{} differs (the Bot API cannot change it)",
                        field.replace('_', " ")
                    ),
                )
            };
            (kind, Fixer::Person, summary, instruction.clone())
        }
        Op::CreateTopic { .. } => apply(Kind::Topics, "topic missing", "creates the topic"),
        Op::EditTopic { .. } => apply(Kind::Topics, "topic renamed", "renames the topic back"),
        Op::CloseTopic { .. } => apply(
            Kind::Topics,
            "topic open but should be closed",
            "closes the topic",
        ),
        Op::ReopenTopic { .. } => apply(
            Kind::Topics,
            "topic closed but should be open",
            "reopens the topic",
        ),
        Op::DeleteTopic { .. } => apply(
            Kind::Topics,
            "topic not in the config",
            "deletes the topic and its messages",
        ),
        Op::CreateInviteLink { .. } => {
            apply(Kind::InviteLinks, "invite link missing", "creates the link")
        }
        Op::EditInviteLink { .. } => apply(
            Kind::InviteLinks,
            "invite link options differ",
            "edits the link",
        ),
        Op::RevokeInviteLink { .. } => apply(
            Kind::InviteLinks,
            "invite link not in the config",
            "revokes the link",
        ),
        Op::Demote { user } => demoted(user),
        Op::Promote { user, rights } if rights.is_empty() => demoted(user),
        Op::Promote { .. } if c.action == Action::Create => apply(
            Kind::AdminRights,
            "declared admin is not an admin",
            "promotes them",
        ),
        Op::Promote { .. } => apply(
            Kind::AdminRights,
            "admin rights differ",
            "sets the declared rights",
        ),
        Op::SetAdminTitle { .. } => {
            apply(Kind::AdminRights, "admin title differs", "sets the title")
        }
        Op::Restrict { user, .. } => {
            let summary = if live
                .members
                .get(user)
                .is_some_and(|m| matches!(m, MemberState::Restricted { .. }))
            {
                "restriction differs"
            } else {
                "declared restriction not in place"
            };
            apply(Kind::Restrictions, summary, "restricts them as declared")
        }
        Op::Unrestrict { .. } => apply(
            Kind::Restrictions,
            "restricted, but the config declares a plain member",
            "lifts the restriction",
        ),
        Op::Unban { .. } => apply(
            Kind::Restrictions,
            "banned, but the config declares them",
            "lifts the ban",
        ),
        Op::Ban { .. } => apply(Kind::Restrictions, "declared ban not in place", "bans them"),
        Op::Kick { .. } if c.undeclared => apply(
            Kind::UndeclaredMembers,
            "member not declared (membership authoritative)",
            "removes them from the chat",
        ),
        Op::Kick { .. } => apply(
            Kind::UndeclaredMembers,
            "in the chat, but the config says they must not be",
            "removes them from the chat",
        ),
        Op::SendInvite { .. } | Op::AddMember { .. } => {
            let summary = if c.address.as_str().contains(".admin.") {
                "declared admin is not in the chat"
            } else {
                "declared member is not in the chat"
            };
            (
                Kind::MissingMembers,
                Fixer::Person,
                summary.to_string(),
                String::new(),
            )
        }
    }
}
