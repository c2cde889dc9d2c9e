//! `diff`: desired state × live state × store → the changes that make live
//! equal desired, each with its address, op, before/after values and why.
//!
//! Pure: no I/O, no clock (personal invite expiry is computed from the
//! `now` passed in). Ordering and guards are applied by the caller
//! (`plan::build`).

use crate::state::{
    Address, ChatState, ChatType, DesiredState, LiveChatMeta, LiveState, MemberState,
    MembershipMode, Photo, Rights, UserId,
};

use super::change::{Action, Change, Op, PersonSetting, Phase, SeatChange, Step};
use super::value::Value;

/// How long a personal invite link stays valid.
pub const PERSONAL_INVITE_SECONDS: i64 = 7 * 24 * 3600;

/// Per-run inputs that are not state.
#[derive(Clone, Debug)]
pub struct DiffInput<'a> {
    pub desired: &'a DesiredState,
    pub live: &'a LiveState,
    /// Unix time, for personal invite expiry.
    pub now: i64,
    /// Only these chats (by key); `None` = all.
    pub only: Option<&'a [String]>,
    /// What orgform remembers: personal invites already sent are not sent
    /// again while they are valid.
    pub store: &'a crate::store::Store,
}

/// The raw changes, unordered.
pub fn diff(input: &DiffInput) -> Vec<Change> {
    let mut out = Vec::new();
    for (key, desired) in &input.desired.state.chats {
        if input
            .only
            .is_some_and(|only| !only.iter().any(|k| k == key))
        {
            continue;
        }
        let meta = input.live.meta.get(key).cloned().unwrap_or_default();
        if meta.error.is_some() {
            continue;
        }
        let Some(live) = input.live.state.chats.get(key) else {
            continue;
        };
        let mut cx = ChatDiff {
            key,
            desired,
            live,
            meta: &meta,
            d: input.desired,
            now: input.now,
            store: input.store,
            out: &mut out,
        };
        cx.settings();
        cx.photo();
        cx.pinned();
        cx.topics();
        cx.invite_links();
        cx.admins();
        cx.members();
        cx.tags();
        cx.commands();
    }
    out
}

struct ChatDiff<'a> {
    key: &'a str,
    desired: &'a ChatState,
    live: &'a ChatState,
    meta: &'a LiveChatMeta,
    d: &'a DesiredState,
    now: i64,
    store: &'a crate::store::Store,
    out: &'a mut Vec<Change>,
}

impl ChatDiff<'_> {
    #[allow(clippy::too_many_arguments)] // the fields of one Change
    fn push(
        &mut self,
        address: Address,
        action: Action,
        step: Step,
        op: Op,
        before: Value,
        after: Value,
        person: Option<String>,
    ) {
        let why = self
            .d
            .why
            .get(address.as_str())
            .cloned()
            .unwrap_or_default();
        let reversible = op.reversible()
            && step.phase() == Phase::Reversible
            && !matches!(op, Op::Manual { .. });
        let seat = match &op {
            Op::Promote { user, rights } => {
                let none = Rights::new();
                let held = self.live.admins.get(user).map_or(&none, |s| &s.rights);
                Some(SeatChange::between(held, rights))
            }
            Op::Demote { user } => {
                let held = self.live.admins.get(user).map(|s| &s.rights);
                Some(SeatChange::between(
                    held.unwrap_or(&Rights::new()),
                    &Rights::new(),
                ))
            }
            _ => None,
        };
        self.out.push(Change {
            address,
            chat: self.key.to_string(),
            chat_id: self.desired.id,
            chat_type: self.desired.kind,
            action,
            step,
            op,
            before,
            after,
            why,
            reversible,
            person,
            undeclared: false,
            seat,
        });
    }

    fn handle(&self, user: UserId) -> String {
        self.d.handle(user)
    }

    fn manual(&mut self, field: &str, before: Value, after: Value, instruction: String) {
        let address = Address::settings(self.key, field);
        self.push(
            address,
            Action::Manual,
            Step::Manual,
            Op::Manual { instruction },
            before,
            after,
            None,
        );
    }

    /// A setting only a person can change: an ordinary change when a
    /// signed-in person carries them (`provider: user | both`), else a
    /// manual step with `instruction`.
    fn person_only(
        &mut self,
        setting: PersonSetting,
        before: Value,
        after: Value,
        instruction: String,
    ) {
        if self.d.provider.has_user() {
            let address = Address::settings(self.key, setting.field());
            self.push(
                address,
                Action::Update,
                Step::Settings,
                Op::SetPersonSetting { setting },
                before,
                after,
                None,
            );
        } else {
            self.manual(setting.field(), before, after, instruction);
        }
    }

    fn settings(&mut self) {
        let (want, have) = (&self.desired.settings, &self.live.settings);
        if let Some(title) = &want.title
            && have.title.as_ref() != Some(title)
        {
            let op = Op::SetTitle {
                title: title.clone(),
            };
            self.push(
                Address::settings(self.key, "title"),
                Action::Update,
                Step::Settings,
                op,
                Value::opt_text(have.title.as_deref()),
                Value::text(title.clone()),
                None,
            );
        }
        if let Some(desc) = &want.description
            && have.description.as_deref().unwrap_or("") != desc
        {
            let op = Op::SetDescription {
                description: desc.clone(),
            };
            self.push(
                Address::settings(self.key, "description"),
                Action::Update,
                Step::Settings,
                op,
                Value::text(have.description.clone().unwrap_or_default()),
                Value::text(desc.clone()),
                None,
            );
        }
        if let Some(perms) = &want.permissions
            && self.desired.kind != ChatType::Channel
            && have.permissions.as_ref() != Some(perms)
        {
            let before = have
                .permissions
                .as_ref()
                .map(|p| Value::Permissions(p.clone()))
                .unwrap_or(Value::Nothing);
            let op = Op::SetPermissions {
                permissions: perms.clone(),
            };
            self.push(
                Address::settings(self.key, "permissions"),
                Action::Update,
                Step::Settings,
                op,
                before,
                Value::Permissions(perms.clone()),
                None,
            );
        }
        // What only a person can change: the user provider sets it; with
        // the bot alone, report it for a person to do.
        let on_off = |b: bool| if b { "on" } else { "off" };
        if let Some(f) = want.forum
            && have.forum.unwrap_or(false) != f
        {
            self.person_only(
                PersonSetting::Forum(f),
                Value::Flag(have.forum.unwrap_or(false)),
                Value::Flag(f),
                format!(
                    "turn topics {} in the chat's settings (Edit → Topics)",
                    on_off(f)
                ),
            );
        }
        if let Some(s) = want.slow_mode
            && have.slow_mode.unwrap_or(0) != s
        {
            self.person_only(
                PersonSetting::SlowMode(s),
                Value::Number(have.slow_mode.unwrap_or(0).into()),
                Value::Number(s.into()),
                format!("set slow mode to {s} s (Edit → Permissions → Slow mode)"),
            );
        }
        if let Some(p) = want.protected_content
            && have.protected_content.unwrap_or(false) != p
        {
            self.person_only(
                PersonSetting::ProtectedContent(p),
                Value::Flag(have.protected_content.unwrap_or(false)),
                Value::Flag(p),
                format!(
                    "turn content protection {} (Edit → Chat history / Restrict saving content)",
                    on_off(p)
                ),
            );
        }
        if let Some(a) = want.auto_delete
            && have.auto_delete.unwrap_or(0) != a
        {
            self.person_only(
                PersonSetting::AutoDelete(a),
                Value::Number(have.auto_delete.unwrap_or(0).into()),
                Value::Number(a.into()),
                format!("set the auto-delete timer to {a} s (Edit → Auto-delete messages)"),
            );
        }
        if let Some(j) = want.join_by_request
            && have.join_by_request.unwrap_or(false) != j
        {
            self.person_only(
                PersonSetting::JoinByRequest(j),
                Value::Flag(have.join_by_request.unwrap_or(false)),
                Value::Flag(j),
                format!(
                    "turn \"approve new members\" {} (Edit → Group type)",
                    on_off(j)
                ),
            );
        }
        if let Some(v) = want.join_to_send
            && have.join_to_send.unwrap_or(false) != v
        {
            self.person_only(
                PersonSetting::JoinToSend(v),
                Value::Flag(have.join_to_send.unwrap_or(false)),
                Value::Flag(v),
                format!(
                    "turn \"only members can send messages\" {} (Edit → Permissions)",
                    on_off(v)
                ),
            );
        }
        if let Some(v) = want.hidden_members
            && have.hidden_members.unwrap_or(false) != v
        {
            self.person_only(
                PersonSetting::HiddenMembers(v),
                Value::Flag(have.hidden_members.unwrap_or(false)),
                Value::Flag(v),
                format!("turn \"hide members\" {} (Edit → Members)", on_off(v)),
            );
        }
        // Telegram shows history to new members unless someone hid it.
        if let Some(v) = want.history_for_new_members
            && have.history_for_new_members.unwrap_or(true) != v
        {
            self.person_only(
                PersonSetting::HistoryForNewMembers(v),
                Value::Flag(have.history_for_new_members.unwrap_or(true)),
                Value::Flag(v),
                format!(
                    "set \"chat history for new members\" to {} (Edit → Chat history)",
                    if v { "visible" } else { "hidden" }
                ),
            );
        }
    }

    /// Photos are compared by content. One orgform cannot compare (a
    /// config read from git, where the file is not hashed) is left alone.
    fn photo(&mut self) {
        let Some(want) = &self.desired.settings.photo else {
            return;
        };
        let (Photo::File { path, .. }, Some(sha256)) = (want, want.sha256()) else {
            return;
        };
        let have = self.live.settings.photo.as_ref();
        if have.and_then(Photo::sha256) == Some(sha256) {
            return;
        }
        // Telegram keeps earlier photos in the chat's photo list, but the
        // Bot API cannot put one back: replacing a photo cannot be undone.
        let replacing = !matches!(have, None | Some(Photo::None));
        let (action, step) = if replacing {
            (Action::Replace, Step::PhotoReplacements)
        } else {
            (Action::Create, Step::Settings)
        };
        let op = Op::SetPhoto {
            path: path.to_string_lossy().into_owned(),
            sha256: sha256.to_string(),
        };
        let before = have.map(Value::photo).unwrap_or(Value::Nothing);
        self.push(
            Address::settings(self.key, "photo"),
            action,
            step,
            op,
            before,
            Value::photo(want),
            None,
        );
    }

    /// The top pin must be a bot message with the declared text. The
    /// bot's earlier pin is edited and pinned again rather than posted anew.
    fn pinned(&mut self) {
        let have = self.live.pinned.as_ref();
        let ours = self
            .store
            .chat(self.desired.id)
            .and_then(|m| m.pinned.as_ref());
        let address = Address::settings(self.key, "pinned");
        let Some(want) = &self.desired.pinned else {
            // No longer managed: take orgform's own pin down, like commands.
            if let Some(ours) = ours
                && have.is_some_and(|p| p.message_id == Some(ours.message_id))
            {
                let op = Op::Unpin {
                    message_id: ours.message_id,
                };
                self.push(
                    address,
                    Action::Delete,
                    Step::Settings,
                    op,
                    have.map(Value::pinned).unwrap_or(Value::Nothing),
                    Value::Nothing,
                    None,
                );
            }
            return;
        };
        if have.is_some_and(|p| p.by_bot && p.text == want.text) {
            return;
        }
        let reuse = have
            .filter(|p| p.by_bot)
            .and_then(|p| p.message_id)
            .or(ours.map(|o| o.message_id));
        let op = Op::Pin {
            text: want.text.clone(),
            message_id: reuse,
            notify: want.notify,
        };
        let action = if have.is_none() {
            Action::Create
        } else {
            Action::Update
        };
        self.push(
            address,
            action,
            Step::Settings,
            op,
            have.map(Value::pinned).unwrap_or(Value::Nothing),
            Value::pinned(want),
            None,
        );
    }

    /// Tags go to non-admins who are in the chat and stay there. When a
    /// chat manages tags, a tag no binding gives is cleared.
    fn tags(&mut self) {
        let Some(want) = &self.desired.tags else {
            return;
        };
        let none = std::collections::BTreeMap::new();
        let have = self.live.tags.as_ref().unwrap_or(&none);
        let users: std::collections::BTreeSet<UserId> =
            want.keys().chain(have.keys()).copied().collect();
        for user in users {
            if self.desired.admins.contains_key(&user) {
                continue;
            }
            // A live admin who loses the seat is tagged after the demotion
            // (same step, and `tag` sorts after `admin`); one the bot
            // cannot demote keeps their title instead.
            let step = match self.live.admins.get(&user) {
                Some(seat) if seat.owner || self.meta.not_editable.contains(&user) => continue,
                Some(_) => Step::Demotions,
                None if matches!(
                    self.live.members.get(&user),
                    Some(MemberState::Member | MemberState::Restricted { .. })
                ) =>
                {
                    Step::Titles
                }
                None => continue,
            };
            let stays = match self.desired.members.get(&user) {
                Some(MemberState::Member | MemberState::Restricted { .. }) => true,
                Some(MemberState::Banned | MemberState::Absent) => false,
                None => self.desired.membership != MembershipMode::Authoritative,
            };
            if !stays {
                continue;
            }
            let w = want.get(&user).map(String::as_str).unwrap_or("");
            let h = have.get(&user).map(String::as_str).unwrap_or("");
            if w == h {
                continue;
            }
            // Clearing a tag is an update: nobody loses access by it.
            let action = if h.is_empty() {
                Action::Create
            } else {
                Action::Update
            };
            let who = self.handle(user);
            let text = |t: &str| {
                if t.is_empty() {
                    Value::Nothing
                } else {
                    Value::text(t)
                }
            };
            let op = Op::SetTag {
                user,
                tag: w.to_string(),
            };
            self.push(
                Address::tag(self.key, &who),
                action,
                step,
                op,
                text(h),
                text(w),
                Some(who.clone()),
            );
            if w.is_empty()
                && let Some(last) = self.out.last_mut()
            {
                last.why = vec![format!("no tag binding in {} gives {who} a tag", self.key)];
            }
        }
    }

    fn topics(&mut self) {
        let key = self.key;
        for (tkey, want) in &self.desired.topics {
            let address = Address::topic(key, tkey);
            match self.live.topics.get(tkey) {
                None => {
                    let op = Op::CreateTopic {
                        key: tkey.clone(),
                        topic: want.clone(),
                    };
                    self.push(
                        address,
                        Action::Create,
                        Step::Topics,
                        op,
                        Value::Nothing,
                        Value::topic(want),
                        None,
                    );
                }
                Some(have) => {
                    let Some(thread_id) = have.thread_id else {
                        continue;
                    };
                    if have.name != want.name {
                        let op = Op::EditTopic {
                            key: tkey.clone(),
                            thread_id,
                            name: want.name.clone(),
                            icon_color: None,
                        };
                        self.push(
                            address.clone(),
                            Action::Update,
                            Step::Topics,
                            op,
                            Value::text(have.name.clone()),
                            Value::text(want.name.clone()),
                            None,
                        );
                    }
                    // editForumTopic takes a name and a custom emoji, never a
                    // colour: Telegram fixes it when the topic is created.
                    if want.icon_color.is_some() && have.icon_color != want.icon_color {
                        let instruction = format!(
                            "Telegram cannot recolour topic \"{}\"; keep icon_color {} in the config, or delete the topic by hand and let orgform create it again",
                            want.name,
                            have.icon_color
                                .map(|c| c.to_string())
                                .unwrap_or_else(|| "unset".into())
                        );
                        self.push(
                            address.clone(),
                            Action::Manual,
                            Step::Manual,
                            Op::Manual { instruction },
                            have.icon_color
                                .map_or(Value::Nothing, |c| Value::Number(c.into())),
                            want.icon_color
                                .map_or(Value::Nothing, |c| Value::Number(c.into())),
                            None,
                        );
                    }
                    if have.closed != want.closed {
                        let op = if want.closed {
                            Op::CloseTopic {
                                key: tkey.clone(),
                                thread_id,
                            }
                        } else {
                            Op::ReopenTopic {
                                key: tkey.clone(),
                                thread_id,
                            }
                        };
                        self.push(
                            address,
                            Action::Update,
                            Step::Topics,
                            op,
                            Value::TopicClosed(have.closed),
                            Value::TopicClosed(want.closed),
                            None,
                        );
                    }
                }
            }
        }
        for (tkey, have) in &self.live.topics {
            if self.desired.topics.contains_key(tkey) {
                continue;
            }
            let Some(thread_id) = have.thread_id else {
                continue;
            };
            let op = Op::DeleteTopic {
                key: tkey.clone(),
                thread_id,
            };
            self.push(
                Address::topic(key, tkey),
                Action::Delete,
                Step::TopicDeletions,
                op,
                Value::topic(have),
                Value::Nothing,
                None,
            );
        }
    }

    fn invite_links(&mut self) {
        let key = self.key;
        for (lkey, want) in &self.desired.invite_links {
            let address = Address::invite(key, lkey);
            match self.live.invite_links.get(lkey) {
                None => {
                    let op = Op::CreateInviteLink {
                        key: lkey.clone(),
                        link: want.clone(),
                    };
                    self.push(
                        address,
                        Action::Create,
                        Step::InviteLinks,
                        op,
                        Value::Nothing,
                        Value::link(want),
                        None,
                    );
                }
                Some(have) => {
                    let same = have.name == want.name
                        && have.expires == want.expires
                        && have.member_limit == want.member_limit
                        && have.join_request == want.join_request;
                    if same {
                        continue;
                    }
                    let Some(url) = have.url.clone() else {
                        continue;
                    };
                    let op = Op::EditInviteLink {
                        key: lkey.clone(),
                        url,
                        link: want.clone(),
                    };
                    self.push(
                        address,
                        Action::Update,
                        Step::InviteLinks,
                        op,
                        Value::link(have),
                        Value::link(want),
                        None,
                    );
                }
            }
        }
        for (lkey, have) in &self.live.invite_links {
            if self.desired.invite_links.contains_key(lkey) {
                continue;
            }
            let Some(url) = have.url.clone() else {
                continue;
            };
            let op = Op::RevokeInviteLink {
                key: lkey.clone(),
                url,
            };
            self.push(
                Address::invite(key, lkey),
                Action::Delete,
                Step::LinkRevocations,
                op,
                Value::link(have),
                Value::Nothing,
                None,
            );
        }
    }

    fn admins(&mut self) {
        let key = self.key;
        let can_title = self.desired.kind != ChatType::Channel;
        for (&user, want) in &self.desired.admins {
            let who = self.handle(user);
            let address = Address::admin(key, &who);
            let have = self.live.admins.get(&user);
            if self.meta.not_editable.contains(&user) || have.is_some_and(|h| h.owner) {
                let same = have.is_some_and(|h| h.owner || h.rights == want.rights);
                if !same {
                    let instruction = format!(
                        "{who}'s admin rights can only be changed by the chat owner or the admin who promoted them"
                    );
                    self.push(
                        address,
                        Action::Manual,
                        Step::Manual,
                        Op::Manual { instruction },
                        have.map(Value::seat).unwrap_or(Value::Nothing),
                        Value::seat(want),
                        Some(who),
                    );
                }
                continue;
            }
            match have {
                None if !matches!(
                    self.live.members.get(&user),
                    Some(MemberState::Member | MemberState::Restricted { .. })
                ) =>
                {
                    // Telegram promotes only people who are in the chat:
                    // invite now; the promotion is planned once they joined.
                    if matches!(self.live.members.get(&user), Some(MemberState::Banned)) {
                        let op = Op::Unban { user };
                        self.push(
                            address.clone(),
                            Action::Update,
                            Step::Restrictions,
                            op,
                            Value::member(&MemberState::Banned),
                            Value::absent(),
                            Some(who.clone()),
                        );
                    }
                    self.invite(user, &who, address);
                }
                None => {
                    let op = Op::Promote {
                        user,
                        rights: want.rights.clone(),
                    };
                    let before = self
                        .live
                        .members
                        .get(&user)
                        .map(Value::member)
                        .unwrap_or(Value::Nothing);
                    self.push(
                        address.clone(),
                        Action::Create,
                        Step::Promotions,
                        op,
                        before,
                        Value::seat(want),
                        Some(who.clone()),
                    );
                    if can_title && let Some(title) = &want.title {
                        let op = Op::SetAdminTitle {
                            user,
                            title: title.clone(),
                        };
                        self.push(
                            address,
                            Action::Update,
                            Step::Titles,
                            op,
                            Value::Nothing,
                            Value::text(title.clone()),
                            Some(who),
                        );
                    }
                }
                Some(h) => {
                    if h.rights != want.rights {
                        let step = if h.rights.is_subset(&want.rights) {
                            Step::Promotions
                        } else {
                            Step::Demotions
                        };
                        let op = Op::Promote {
                            user,
                            rights: want.rights.clone(),
                        };
                        self.push(
                            address.clone(),
                            Action::Update,
                            step,
                            op,
                            Value::Rights(h.rights.clone()),
                            Value::Rights(want.rights.clone()),
                            Some(who.clone()),
                        );
                    }
                    if can_title
                        && let Some(title) = &want.title
                        && h.title.as_ref() != Some(title)
                    {
                        let op = Op::SetAdminTitle {
                            user,
                            title: title.clone(),
                        };
                        self.push(
                            address,
                            Action::Update,
                            Step::Titles,
                            op,
                            Value::opt_text(h.title.as_deref()),
                            Value::text(title.clone()),
                            Some(who),
                        );
                    }
                }
            }
        }
        if self.desired.membership == MembershipMode::Observe {
            return;
        }
        // Admins the config does not declare lose their seat. Whether they
        // stay members is decided with the other members below.
        for (&user, have) in &self.live.admins {
            if self.desired.admins.contains_key(&user)
                || have.owner
                || self.meta.not_editable.contains(&user)
            {
                continue;
            }
            // Restricting or banning needs the seat gone first; `members`
            // plans that demotion right before it.
            if matches!(
                self.desired.members.get(&user),
                Some(MemberState::Restricted { .. } | MemberState::Banned | MemberState::Absent)
            ) {
                continue;
            }
            let who = self.handle(user);
            let op = Op::Demote { user };
            let mut why = vec!["not declared as an admin of this chat".to_string()];
            if let Some(w) = self.d.why.get(Address::admin(key, &who).as_str()) {
                why.extend(w.iter().cloned());
            }
            self.push(
                Address::admin(key, &who),
                Action::Delete,
                Step::Demotions,
                op,
                Value::seat(have),
                Value::member(&MemberState::Member),
                Some(who),
            );
            if let Some(last) = self.out.last_mut() {
                last.why = why;
            }
        }
    }

    fn members(&mut self) {
        let key = self.key;
        let mode = self.desired.membership;
        for (&user, want) in &self.desired.members {
            if self.desired.admins.contains_key(&user) {
                continue;
            }
            let who = self.handle(user);
            let address = Address::member(key, &who);
            let is_admin = self.live.admins.contains_key(&user);
            let have = if is_admin {
                Some(&MemberState::Member)
            } else {
                self.live.members.get(&user)
            };
            let present = matches!(
                have,
                Some(MemberState::Member | MemberState::Restricted { .. })
            );
            match want {
                MemberState::Member | MemberState::Restricted { .. }
                    if mode == MembershipMode::Observe && !present => {}
                MemberState::Member => match have {
                    Some(MemberState::Member) => {}
                    Some(MemberState::Restricted { .. }) => {
                        let op = Op::Unrestrict { user };
                        self.push(
                            address,
                            Action::Update,
                            Step::Restrictions,
                            op,
                            Value::member(have.unwrap()),
                            Value::member(want),
                            Some(who),
                        );
                    }
                    Some(MemberState::Banned) => {
                        let op = Op::Unban { user };
                        self.push(
                            address.clone(),
                            Action::Update,
                            Step::Restrictions,
                            op,
                            Value::member(&MemberState::Banned),
                            Value::absent(),
                            Some(who.clone()),
                        );
                        self.invite(user, &who, address);
                    }
                    Some(MemberState::Absent) | None => self.invite(user, &who, address),
                },
                MemberState::Restricted { permissions, until } => {
                    let same = matches!(have, Some(MemberState::Restricted { permissions: p, .. }) if p == permissions);
                    if matches!(have, Some(MemberState::Banned)) {
                        let op = Op::Unban { user };
                        self.push(
                            address.clone(),
                            Action::Update,
                            Step::Restrictions,
                            op,
                            Value::member(&MemberState::Banned),
                            Value::absent(),
                            Some(who.clone()),
                        );
                    }
                    if !same {
                        self.demote_first(user, &who, Step::Restrictions);
                        let op = Op::Restrict {
                            user,
                            permissions: permissions.clone(),
                            until: *until,
                        };
                        let before = have.map(Value::member).unwrap_or(Value::absent());
                        self.push(
                            address.clone(),
                            Action::Update,
                            Step::Restrictions,
                            op,
                            before,
                            Value::member(want),
                            Some(who.clone()),
                        );
                    }
                    if !present {
                        self.invite(user, &who, address);
                    }
                }
                MemberState::Banned => {
                    // A basic group keeps no ban list: Telegram removes the
                    // person and reads them back as `left` (TDLib's
                    // ChatManager), so someone absent there is as banned as
                    // a basic group can make them.
                    let banned = match have {
                        Some(MemberState::Banned) => true,
                        Some(MemberState::Absent) => self.desired.kind == ChatType::Group,
                        None => false,
                        Some(_) => false,
                    };
                    if !banned {
                        self.demote_first(user, &who, Step::Demotions);
                        let op = Op::Ban { user };
                        let before = have.map(Value::member).unwrap_or(Value::absent());
                        self.push(
                            address,
                            Action::Delete,
                            Step::Bans,
                            op,
                            before,
                            Value::member(want),
                            Some(who),
                        );
                    }
                }
                MemberState::Absent => {
                    if present {
                        self.demote_first(user, &who, Step::Demotions);
                        let op = Op::Kick { user };
                        self.push(
                            address,
                            Action::Delete,
                            Step::Bans,
                            op,
                            Value::member(have.unwrap()),
                            Value::absent(),
                            Some(who),
                        );
                    }
                }
            }
        }
        if mode != MembershipMode::Authoritative {
            return;
        }
        // Undeclared people in an authoritative chat are removed.
        let undeclared: Vec<(UserId, MemberState)> = self
            .live
            .members
            .iter()
            .filter(|(u, m)| {
                !self.desired.members.contains_key(u)
                    && !self.desired.admins.contains_key(u)
                    && matches!(m, MemberState::Member | MemberState::Restricted { .. })
            })
            .map(|(u, m)| (*u, m.clone()))
            .collect();
        let demoted: Vec<UserId> = self
            .live
            .admins
            .iter()
            .filter(|(u, h)| {
                !self.desired.admins.contains_key(u)
                    && !self.desired.members.contains_key(u)
                    && !h.owner
                    && !self.meta.not_editable.contains(u)
            })
            .map(|(u, _)| *u)
            .collect();
        for (user, have) in undeclared
            .into_iter()
            .chain(demoted.into_iter().map(|u| (u, MemberState::Member)))
        {
            let who = self.handle(user);
            let op = Op::Kick { user };
            self.push(
                Address::member(key, &who),
                Action::Delete,
                Step::Bans,
                op,
                Value::member(&have),
                Value::absent(),
                Some(who),
            );
            if let Some(last) = self.out.last_mut() {
                last.why = vec![format!(
                    "not declared in {key}, whose membership is authoritative"
                )];
                last.undeclared = true;
            }
        }
    }

    /// A live admin who must be restricted, removed or banned loses the
    /// seat first (Telegram refuses to restrict or ban an admin). At
    /// `Step::Restrictions` the admin address sorts before the member one,
    /// so the demotion runs right before the restriction.
    fn demote_first(&mut self, user: UserId, who: &str, step: Step) {
        if let Some(have) = self.live.admins.get(&user)
            && !have.owner
            && !self.out.iter().any(|c| {
                c.chat == self.key && matches!(&c.op, Op::Demote { user: u } if *u == user)
            })
        {
            let op = Op::Demote { user };
            self.push(
                Address::admin(self.key, who),
                Action::Delete,
                step,
                op,
                Value::seat(have),
                Value::member(&MemberState::Member),
                Some(who.to_string()),
            );
        }
    }

    fn invite(&mut self, user: UserId, who: &str, address: Address) {
        // An invite sent earlier and still valid is waiting for the person;
        // sending another would only spam them (drift reports it).
        let pending = self
            .store
            .chat(self.desired.id)
            .and_then(|m| m.personal_invites.get(&user))
            .is_some_and(|l| !l.revoked && l.expires.is_none_or(|e| e > self.now));
        if pending {
            return;
        }
        let name = format!("orgform: {who}");
        let name: String = name.chars().take(32).collect();
        // The chat opted in to adding people directly, and a person can.
        if self.desired.add_directly && self.d.provider.has_user() {
            let op = Op::AddMember {
                user,
                username: self.d.people.get(&user).and_then(|p| p.username.clone()),
                name: name.clone(),
                expires: self.now + PERSONAL_INVITE_SECONDS,
                bot: self.d.bot.clone(),
            };
            self.push(
                address,
                Action::Create,
                Step::Invites,
                op,
                Value::absent(),
                Value::Member(MemberState::Member),
                Some(who.to_string()),
            );
            return;
        }
        let op = Op::SendInvite {
            user,
            name: name.clone(),
            expires: self.now + PERSONAL_INVITE_SECONDS,
        };
        self.push(
            address,
            Action::Invite,
            Step::Invites,
            op,
            Value::absent(),
            Value::Invited { link: name },
            Some(who.to_string()),
        );
    }

    fn commands(&mut self) {
        let Some(want) = &self.desired.commands else {
            return;
        };
        let have = self.live.commands.clone().unwrap_or_default();
        if *want == have {
            return;
        }
        let before = Value::Commands(have.clone());
        let after = Value::Commands(want.clone());
        let (action, op) = if want.is_empty() {
            (Action::Delete, Op::DeleteCommands)
        } else {
            (
                Action::Update,
                Op::SetCommands {
                    commands: want.clone(),
                },
            )
        };
        self.push(
            Address::commands(self.key),
            action,
            Step::Settings,
            op,
            before,
            after,
            None,
        );
    }
}
