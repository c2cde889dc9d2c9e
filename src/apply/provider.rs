//! The applier's side of a provider (DESIGN §1, §5): the [`Provider`]
//! trait a plan is executed through, what a provider answers
//! ([`Executed`], [`Observed`], [`Evidence`], [`ProviderError`]), what undoes
//! a change ([`inverse`]) and how an executed change is remembered
//! ([`record`]).
//!
//! Providers (the Bot API in `telegram`, fakes in tests) implement the
//! trait; nothing here knows how a change reaches Telegram. Inverses and
//! records are worked out from the plan's ops and the provider's answers
//! alone, so every provider undoes and remembers changes the same way.

use std::fmt;
use std::future::Future;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::plan::{Action, Change, Op, SeatChange};
use crate::state::{
    Command, InviteLink, MemberState, Permissions, PinnedMessage, Rights, Topic, UserId,
};
use crate::store::{PhotoRecord, PinRecord, Store};

/// Telegram's limit on invite link names.
pub const LINK_NAME_MAX: usize = 32;

/// Why a provider could not carry out or read a change, as far as the
/// applier needs to know: the message (already free of credentials) and
/// whether the change may have happened anyway.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderError {
    message: String,
    outcome_unknown: bool,
}

impl ProviderError {
    /// The provider refused or failed before acting: the change did not
    /// happen.
    pub fn refused(message: impl Into<String>) -> ProviderError {
        ProviderError {
            message: message.into(),
            outcome_unknown: false,
        }
    }

    /// The call was sent but its answer was lost: the change may have
    /// happened.
    pub fn unknown(message: impl Into<String>) -> ProviderError {
        ProviderError {
            message: message.into(),
            outcome_unknown: true,
        }
    }

    /// Whether the failed call may have been carried out anyway.
    pub fn outcome_unknown(&self) -> bool {
        self.outcome_unknown
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ProviderError {}

/// What Telegram answered to an executed change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Answer {
    Done,
    /// A chat was created (the user provider); its Bot API id.
    Chat {
        id: i64,
    },
    /// The user provider did not add a person directly (their privacy
    /// settings refuse it, or Telegram answered PEER_FLOOD this run): the
    /// bot sends the personal invite link instead ([`Split`]).
    NotAdded {
        reason: String,
    },
    /// A chat folder was made or edited (the user provider): its id and
    /// shareable link.
    Folder {
        filter_id: i32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        link: Option<String>,
    },
    /// A topic was created.
    Topic {
        thread_id: i64,
        name: String,
        icon_color: Option<u32>,
    },
    /// An invite link was created or edited.
    InviteLink {
        url: String,
        name: String,
        expires: Option<i64>,
        member_limit: Option<u32>,
        join_request: bool,
    },
    /// A chat photo was uploaded; Telegram's id for it, from getChat.
    Photo {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file_unique_id: Option<String>,
    },
    /// A message is pinned on top; `posted` when it was sent just now.
    Pinned {
        message_id: i64,
        text: String,
        posted: bool,
    },
    /// A personal invite link was created; `delivered` says whether the
    /// direct message reached the person.
    PersonalInvite {
        url: String,
        expires: i64,
        delivered: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        not_delivered_because: Option<String>,
    },
}

/// An executed change: the answer, the calls made, and anything worth saying.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Executed {
    pub answer: Answer,
    /// Telegram said there was nothing to change.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_modified: bool,
    /// Methods called, in order.
    pub calls: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Executed {
    /// A plain success: these calls, nothing to tell.
    pub fn done(calls: Vec<String>) -> Executed {
        Executed {
            answer: Answer::Done,
            not_modified: false,
            calls,
            notes: Vec::new(),
        }
    }
}

/// A person's status in a chat, as observed before a change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum MemberSnapshot {
    Owner {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
    },
    Admin {
        rights: Rights,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        can_be_edited: bool,
    },
    Member,
    Restricted {
        permissions: Permissions,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<i64>,
    },
    Absent,
    Banned,
    /// A status this build does not know.
    Unknown {
        status: String,
    },
}

/// The before-state of what a change touches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Observed {
    /// From getChat.
    Chat {
        title: String,
        description: String,
        permissions: Option<Permissions>,
        /// Telegram's id of the photo; `None` = no photo.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        photo: Option<String>,
        /// The top pinned message.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pinned: Option<PinnedMessage>,
    },
    /// From getChatMember.
    Member {
        user: UserId,
        member: MemberSnapshot,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tag: Option<String>,
    },
    /// From getMyCommands with the chat's scope.
    Commands { commands: Vec<Command> },
    /// The Bot API cannot read topics or links: what the plan recorded as
    /// the change's `before`.
    Recorded { value: Value },
    /// Nothing exists before (a creation) or nothing is touched (manual).
    Nothing,
}

/// What undoes a change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Inverse {
    /// Run these, in order; empty when there is nothing to undo.
    Ops { ops: Vec<Op> },
    /// Nothing orgform can do undoes it.
    Irreversible { reason: String },
}

impl Inverse {
    /// The inverse ops as changes at the original's address, ready for
    /// the applier to execute.
    pub fn changes(&self, original: &Change) -> Vec<Change> {
        let Inverse::Ops { ops } = self else {
            return Vec::new();
        };
        ops.iter()
            .map(|op| Change {
                action: action_of(op),
                op: op.clone(),
                before: original.after.clone(),
                after: original.before.clone(),
                why: vec![format!(
                    "undo {} {}",
                    original.action.symbol(),
                    original.address
                )],
                reversible: op.reversible(),
                undeclared: false,
                seat: original.seat.as_ref().map(SeatChange::reversed),
                ..original.clone()
            })
            .collect()
    }
}

fn action_of(op: &Op) -> Action {
    match op {
        Op::CreateTopic { .. } | Op::CreateInviteLink { .. } | Op::CreateFolder { .. } => {
            Action::Create
        }
        Op::DeleteFolder { .. } => Action::Delete,
        Op::DeleteTopic { .. }
        | Op::RevokeInviteLink { .. }
        | Op::Ban { .. }
        | Op::Kick { .. }
        | Op::DeleteCommands
        | Op::DeletePhoto
        | Op::Unpin { .. } => Action::Delete,
        op if op.is_demotion() => Action::Delete,
        Op::SendInvite { .. } => Action::Invite,
        Op::AddMember { .. } => Action::Create,
        Op::Manual { .. } => Action::Manual,
        _ => Action::Update,
    }
}

/// What the applier runs changes through: Telegram, or an in-memory fake.
pub trait Provider: Send + Sync {
    /// Carry out one change.
    fn execute(
        &self,
        change: &Change,
    ) -> impl Future<Output = Result<Executed, ProviderError>> + Send;

    /// Read the current state of what `change` touches (one targeted call
    /// at most).
    fn observe_before(
        &self,
        change: &Change,
    ) -> impl Future<Output = Result<Observed, ProviderError>> + Send;

    /// What undoes `change`, given what was there before and what it did.
    fn inverse(&self, change: &Change, before: &Observed, done: &Executed) -> Inverse {
        inverse(change, before, done)
    }

    /// Whether `change`, whose answer was lost, happened: what Telegram
    /// shows now (the Bot API's lookups are in `telegram::evidence`). Unknown unless a provider can
    /// tell.
    fn evidence(
        &self,
        change: &Change,
        before: &Observed,
    ) -> impl Future<Output = Evidence> + Send {
        let _ = (change, before);
        async { Evidence::Unknown }
    }
}

/// Two providers behind one: the changes only a person can make go to
/// `user` (the user provider, when the org uses one and a session was
/// found), everything else to `bot`.
pub struct Split<B, U> {
    pub bot: B,
    pub user: Option<U>,
}

impl<B: Provider, U: Provider> Split<B, U> {
    fn no_user(change: &Change) -> ProviderError {
        ProviderError::refused(format!(
            "{} needs a signed-in person: set org.telegram.provider to user or both and sign in with `orgform login`",
            change.address
        ))
    }
}

impl<B: Provider, U: Provider> Provider for Split<B, U> {
    async fn execute(&self, change: &Change) -> Result<Executed, ProviderError> {
        if change.op.needs_person() {
            match &self.user {
                Some(user) => {
                    let done = user.execute(change).await?;
                    match (&change.op, &done.answer) {
                        // Not added directly: the bot's personal link.
                        (Op::AddMember { .. }, Answer::NotAdded { reason }) => {
                            let mut sent = self.bot.execute(change).await?;
                            sent.notes.insert(
                                0,
                                format!("not added directly ({reason}): sent the personal invite link instead"),
                            );
                            sent.calls = [done.calls, sent.calls].concat();
                            Ok(sent)
                        }
                        _ => Ok(done),
                    }
                }
                None => Err(Self::no_user(change)),
            }
        } else {
            self.bot.execute(change).await
        }
    }

    async fn observe_before(&self, change: &Change) -> Result<Observed, ProviderError> {
        if change.op.needs_person() {
            match &self.user {
                Some(user) => user.observe_before(change).await,
                None => Err(Self::no_user(change)),
            }
        } else {
            self.bot.observe_before(change).await
        }
    }

    fn inverse(&self, change: &Change, before: &Observed, done: &Executed) -> Inverse {
        match (&self.user, change.op.needs_person()) {
            (Some(user), true) => user.inverse(change, before, done),
            _ => self.bot.inverse(change, before, done),
        }
    }

    async fn evidence(&self, change: &Change, before: &Observed) -> Evidence {
        match (&self.user, change.op.needs_person()) {
            (Some(user), true) => user.evidence(change, before).await,
            (None, true) => Evidence::Unknown,
            _ => self.bot.evidence(change, before).await,
        }
    }
}

/// What a provider found out about a change whose answer was lost.
#[derive(Clone, Debug, PartialEq)]
pub enum Evidence {
    /// It happened; this is what it did.
    Done { executed: Executed, by: String },
    /// It did not happen.
    NotDone { by: String },
    /// Nothing shows either way: a person must look.
    Unknown,
}

/// What undoes `change`, given the before-state and what it did.
pub fn inverse(change: &Change, before: &Observed, done: &Executed) -> Inverse {
    let ops = |ops: Vec<Op>| Inverse::Ops { ops };
    let never = |reason: &str| Inverse::Irreversible {
        reason: reason.to_string(),
    };
    let unobserved = || never("its before-state was not observed");
    let member = match before {
        Observed::Member { member, .. } => Some(member),
        _ => None,
    };
    match &change.op {
        Op::SetTitle { .. } => match before {
            Observed::Chat { title, .. } => ops(vec![Op::SetTitle {
                title: title.clone(),
            }]),
            _ => unobserved(),
        },
        Op::SetDescription { .. } => match before {
            Observed::Chat { description, .. } => ops(vec![Op::SetDescription {
                description: description.clone(),
            }]),
            _ => unobserved(),
        },
        Op::SetPermissions { .. } => match before {
            Observed::Chat {
                permissions: Some(p),
                ..
            } => ops(vec![Op::SetPermissions {
                permissions: p.clone(),
            }]),
            _ => unobserved(),
        },
        Op::SetPhoto { .. } => match before {
            Observed::Chat { photo: None, .. } => ops(vec![Op::DeletePhoto]),
            Observed::Chat { photo: Some(_), .. } => never(
                "the Bot API cannot upload the previous photo again (Telegram keeps it in the chat's photo list)",
            ),
            _ => unobserved(),
        },
        Op::DeletePhoto => never("a deleted photo cannot be uploaded again through the Bot API"),
        Op::Pin { .. } => match (before, &done.answer) {
            // The same message was on top with other text: edit it back.
            (
                Observed::Chat {
                    pinned: Some(old), ..
                },
                Answer::Pinned { message_id, .. },
            ) if old.message_id == Some(*message_id) => ops(vec![Op::Pin {
                text: old.text.clone(),
                message_id: Some(*message_id),
                notify: false,
            }]),
            // Unpinning the new top pin shows the one below it again.
            (Observed::Chat { .. }, Answer::Pinned { message_id, .. }) => ops(vec![Op::Unpin {
                message_id: *message_id,
            }]),
            (Observed::Chat { .. }, _) => never("Telegram did not answer with the pinned message"),
            _ => unobserved(),
        },
        Op::Unpin { message_id } => match before {
            Observed::Chat {
                pinned: Some(old), ..
            } if old.message_id == Some(*message_id) => ops(vec![Op::Pin {
                text: old.text.clone(),
                message_id: Some(*message_id),
                notify: false,
            }]),
            Observed::Chat { .. } => ops(vec![]),
            _ => unobserved(),
        },
        Op::SetTag { user, .. } => match before {
            Observed::Member {
                tag,
                member: MemberSnapshot::Member | MemberSnapshot::Restricted { .. },
                ..
            } => ops(vec![Op::SetTag {
                user: *user,
                tag: tag.clone().unwrap_or_default(),
            }]),
            Observed::Member { .. } => ops(vec![]),
            _ => unobserved(),
        },
        Op::CreateTopic { key, .. } => match &done.answer {
            Answer::Topic { thread_id, .. } => ops(vec![Op::DeleteTopic {
                key: key.clone(),
                thread_id: *thread_id,
            }]),
            _ => never("Telegram did not answer with the new topic's id"),
        },
        Op::EditTopic { key, thread_id, .. } => match before {
            Observed::Recorded { value } => match serde_json::from_value::<Topic>(value.clone()) {
                Ok(old) => ops(vec![Op::EditTopic {
                    key: key.clone(),
                    thread_id: *thread_id,
                    name: old.name,
                    icon_color: old.icon_color,
                }]),
                Err(_) => never("the plan did not record the topic's previous name"),
            },
            _ => unobserved(),
        },
        Op::CloseTopic { key, thread_id } => ops(vec![Op::ReopenTopic {
            key: key.clone(),
            thread_id: *thread_id,
        }]),
        Op::ReopenTopic { key, thread_id } => ops(vec![Op::CloseTopic {
            key: key.clone(),
            thread_id: *thread_id,
        }]),
        Op::DeleteTopic { .. } => never("deleting a topic deletes its messages"),
        Op::CreateInviteLink { key, .. } => match &done.answer {
            Answer::InviteLink { url, .. } => ops(vec![Op::RevokeInviteLink {
                key: key.clone(),
                url: url.clone(),
            }]),
            _ => never("Telegram did not answer with the new link"),
        },
        Op::EditInviteLink { key, url, .. } => match before {
            Observed::Recorded { value } => {
                match serde_json::from_value::<InviteLink>(value.clone()) {
                    Ok(old) => ops(vec![Op::EditInviteLink {
                        key: key.clone(),
                        url: url.clone(),
                        link: old,
                    }]),
                    Err(_) => never("the plan did not record the link's previous settings"),
                }
            }
            _ => unobserved(),
        },
        Op::RevokeInviteLink { .. } => never("a revoked invite link cannot be restored"),
        Op::Promote { user, .. } | Op::Demote { user } => match member {
            Some(MemberSnapshot::Admin { rights, title, .. }) => {
                let mut undo = vec![Op::Promote {
                    user: *user,
                    rights: rights.clone(),
                }];
                if let Some(title) = title {
                    undo.push(Op::SetAdminTitle {
                        user: *user,
                        title: title.clone(),
                    });
                }
                ops(undo)
            }
            Some(MemberSnapshot::Restricted { permissions, until }) => ops(vec![
                Op::Demote { user: *user },
                Op::Restrict {
                    user: *user,
                    permissions: permissions.clone(),
                    until: *until,
                },
            ]),
            Some(MemberSnapshot::Owner { .. }) => ops(vec![]),
            Some(_) => ops(vec![Op::Demote { user: *user }]),
            None => unobserved(),
        },
        Op::SetAdminTitle { user, .. } => match member {
            Some(MemberSnapshot::Admin { title, .. }) => ops(vec![Op::SetAdminTitle {
                user: *user,
                title: title.clone().unwrap_or_default(),
            }]),
            Some(_) => ops(vec![]),
            None => unobserved(),
        },
        Op::Restrict { user, .. } => match member {
            Some(MemberSnapshot::Restricted { permissions, until }) => ops(vec![Op::Restrict {
                user: *user,
                permissions: permissions.clone(),
                until: *until,
            }]),
            Some(MemberSnapshot::Banned) => ops(vec![Op::Ban { user: *user }]),
            Some(MemberSnapshot::Member | MemberSnapshot::Absent) => {
                ops(vec![Op::Unrestrict { user: *user }])
            }
            Some(_) => ops(vec![]),
            None => unobserved(),
        },
        Op::Unrestrict { user } => match member {
            Some(MemberSnapshot::Restricted { permissions, until }) => ops(vec![Op::Restrict {
                user: *user,
                permissions: permissions.clone(),
                until: *until,
            }]),
            Some(_) => ops(vec![]),
            None => unobserved(),
        },
        Op::Ban { .. } => never(
            "a ban removes the person and, in supergroups and channels, deletes their messages",
        ),
        Op::Kick { .. } => never(
            "the person was removed and the bot cannot add people back (a new invite link can)",
        ),
        Op::Unban { user } => match member {
            Some(MemberSnapshot::Banned) => ops(vec![Op::Ban { user: *user }]),
            Some(_) => ops(vec![]),
            None => unobserved(),
        },
        Op::AddMember { user, .. } => match &done.answer {
            Answer::Done => ops(vec![Op::Kick { user: *user }]),
            Answer::PersonalInvite { url, .. } => ops(vec![Op::RevokeInviteLink {
                key: personal_invite_key(*user),
                url: url.clone(),
            }]),
            _ => never("Telegram answered neither the addition nor a personal link"),
        },
        Op::SendInvite { user, .. } => match &done.answer {
            // The message cannot be unsent; revoking the link withdraws the invitation.
            Answer::PersonalInvite { url, .. } => ops(vec![Op::RevokeInviteLink {
                key: personal_invite_key(*user),
                url: url.clone(),
            }]),
            _ => never("Telegram did not answer with the personal link"),
        },
        Op::SetCommands { .. } => match before {
            Observed::Commands { commands } if commands.is_empty() => ops(vec![Op::DeleteCommands]),
            Observed::Commands { commands } => ops(vec![Op::SetCommands {
                commands: commands.clone(),
            }]),
            _ => unobserved(),
        },
        Op::DeleteCommands => match before {
            Observed::Commands { commands } if commands.is_empty() => ops(vec![]),
            Observed::Commands { commands } => ops(vec![Op::SetCommands {
                commands: commands.clone(),
            }]),
            _ => unobserved(),
        },
        Op::CreateChat { .. } => never("orgform never deletes a chat"),
        Op::CreateFolder { key, .. } => match &done.answer {
            Answer::Folder { filter_id, .. } => ops(vec![Op::DeleteFolder {
                key: key.clone(),
                filter_id: *filter_id,
            }]),
            _ => never("Telegram did not answer with the new folder's id"),
        },
        // The user provider observes the folder's title and chats before.
        Op::EditFolder { key, filter_id, .. } => match before {
            Observed::Recorded { value } => {
                let title = value.get("title").and_then(Value::as_str);
                let chats: Option<Vec<i64>> = value
                    .get("chats")
                    .and_then(|c| serde_json::from_value(c.clone()).ok());
                match (title, chats) {
                    (Some(title), Some(chats)) if !chats.is_empty() => ops(vec![Op::EditFolder {
                        key: key.clone(),
                        filter_id: *filter_id,
                        title: title.to_string(),
                        chats,
                    }]),
                    _ => never("the folder's previous title and chats were not observed"),
                }
            }
            _ => unobserved(),
        },
        Op::DeleteFolder { .. } => never("a deleted folder's link cannot be restored"),
        // The user provider observes the value before (Recorded) and the
        // same setting with that value undoes it.
        Op::SetPersonSetting { setting } => match before {
            Observed::Recorded { value } => match setting.with_value(value) {
                Some(old) => ops(vec![Op::SetPersonSetting { setting: old }]),
                None => unobserved(),
            },
            _ => unobserved(),
        },
        Op::Manual { .. } => never("manual steps are not executed by orgform"),
    }
}

/// The key a personal invite link is revoked under (the store keeps
/// personal links by user id, not by config key).
pub fn personal_invite_key(user: UserId) -> String {
    format!("personal.{user}")
}

/// Fold an executed change into the store: topic ids and links it created,
/// the statuses it set, whether the chat's commands are orgform's. `before`
/// (when observed) tells apart members from people who are not in the chat.
pub fn record(
    store: &mut Store,
    change: &Change,
    before: Option<&Observed>,
    done: &Executed,
    now: i64,
) {
    let chat = change.chat_id;
    let was_absent = matches!(
        before,
        Some(Observed::Member {
            member: MemberSnapshot::Absent | MemberSnapshot::Banned,
            ..
        })
    );
    let present_or_absent = |present: MemberState| {
        if was_absent {
            MemberState::Absent
        } else {
            present
        }
    };
    match (&change.op, &done.answer) {
        // The created chat's id, by its config key: the next run manages
        // it by this id until the config names it.
        (Op::CreateChat { .. }, Answer::Chat { id }) => {
            store.chats.entry(*id).or_default().created_for = Some(change.chat.clone());
        }
        (
            Op::CreateTopic { key, topic },
            Answer::Topic {
                thread_id,
                name,
                icon_color,
            },
        ) => {
            let record = Topic {
                thread_id: Some(*thread_id),
                name: name.clone(),
                icon_color: *icon_color,
                closed: topic.closed,
            };
            store.chat_mut(chat).topics.insert(key.clone(), record);
        }
        (Op::EditTopic { key, name, .. }, _) => {
            if let Some(t) = store.chat_mut(chat).topics.get_mut(key) {
                t.name = name.clone();
            }
        }
        (Op::CloseTopic { key, .. }, _) | (Op::ReopenTopic { key, .. }, _) => {
            let closed = matches!(change.op, Op::CloseTopic { .. });
            if let Some(t) = store.chat_mut(chat).topics.get_mut(key) {
                t.closed = closed;
            }
        }
        (Op::DeleteTopic { key, thread_id }, _) => {
            store
                .chat_mut(chat)
                .topics
                .retain(|k, t| k != key && t.thread_id != Some(*thread_id));
        }
        (
            Op::CreateInviteLink { key, .. } | Op::EditInviteLink { key, .. },
            Answer::InviteLink {
                url,
                name,
                expires,
                member_limit,
                join_request,
            },
        ) => {
            let record = InviteLink {
                url: Some(url.clone()),
                name: name.clone(),
                expires: *expires,
                member_limit: *member_limit,
                join_request: *join_request,
                revoked: false,
            };
            store
                .chat_mut(chat)
                .invite_links
                .insert(key.clone(), record);
        }
        (Op::RevokeInviteLink { url, .. }, _) => {
            let memory = store.chat_mut(chat);
            for link in memory
                .invite_links
                .values_mut()
                .chain(memory.personal_invites.values_mut())
            {
                if link.url.as_deref() == Some(url) {
                    link.revoked = true;
                }
            }
        }
        (Op::AddMember { user, .. }, Answer::Done) => {
            store.see_member(chat, *user, MemberState::Member, now, "apply")
        }
        (
            Op::SendInvite { user, name, .. } | Op::AddMember { user, name, .. },
            Answer::PersonalInvite { url, expires, .. },
        ) => {
            let record = InviteLink {
                url: Some(url.clone()),
                name: name.chars().take(LINK_NAME_MAX).collect(),
                expires: Some(*expires),
                member_limit: Some(1),
                join_request: false,
                revoked: false,
            };
            store.chat_mut(chat).personal_invites.insert(*user, record);
        }
        (Op::Promote { user, .. } | Op::Demote { user }, _) => store.see_member(
            chat,
            *user,
            present_or_absent(MemberState::Member),
            now,
            "apply",
        ),
        (
            Op::Restrict {
                user,
                permissions,
                until,
            },
            _,
        ) => {
            let status = present_or_absent(MemberState::Restricted {
                permissions: permissions.clone(),
                until: *until,
            });
            store.see_member(chat, *user, status, now, "apply");
        }
        (Op::Unrestrict { user }, _) => store.see_member(
            chat,
            *user,
            present_or_absent(MemberState::Member),
            now,
            "apply",
        ),
        (Op::Ban { user }, _) => store.see_member(chat, *user, MemberState::Banned, now, "apply"),
        (Op::Kick { user }, _) => store.see_member(chat, *user, MemberState::Absent, now, "apply"),
        (Op::Unban { user }, _) => {
            // only_if_banned leaves someone who was not banned as they were.
            let was_banned = matches!(
                before,
                None | Some(Observed::Member {
                    member: MemberSnapshot::Banned,
                    ..
                })
            );
            if was_banned {
                store.see_member(chat, *user, MemberState::Absent, now, "apply");
            }
        }
        (
            Op::SetPhoto { sha256, .. },
            Answer::Photo {
                file_unique_id: Some(id),
            },
        ) => {
            store.chat_mut(chat).photo = Some(PhotoRecord {
                sha256: sha256.clone(),
                file_unique_id: id.clone(),
            });
        }
        (Op::DeletePhoto, _) => store.chat_mut(chat).photo = None,
        (
            Op::Pin { .. },
            Answer::Pinned {
                message_id, text, ..
            },
        ) => {
            store.chat_mut(chat).pinned = Some(PinRecord {
                message_id: *message_id,
                text: text.clone(),
            });
        }
        (Op::Unpin { message_id }, _) => {
            let memory = store.chat_mut(chat);
            if memory
                .pinned
                .as_ref()
                .is_some_and(|p| p.message_id == *message_id)
            {
                memory.pinned = None;
            }
        }
        (Op::SetTag { user, tag }, _) => {
            store.see_tag(chat, *user, Some(tag.clone()), now, "apply")
        }
        (Op::SetCommands { commands }, _) => {
            let memory = store.chat_mut(chat);
            memory.commands_set = true;
            memory.commands = Some(commands.clone());
        }
        (Op::DeleteCommands, _) => {
            let memory = store.chat_mut(chat);
            memory.commands_set = false;
            memory.commands = Some(Vec::new());
        }
        // A folder by its config key: the next plan finds it by this
        // filter id whatever its title, and keeps its link.
        (
            Op::CreateFolder { key, title, chats }
            | Op::EditFolder {
                key, title, chats, ..
            },
            Answer::Folder { filter_id, link },
        ) => {
            // An edit keeps the link it had when the answer names none; a
            // creation has only its own (a record of a folder deleted by
            // hand names a dead link).
            let kept = match &change.op {
                Op::EditFolder { .. } => store.folders.get(key).and_then(|f| f.link.clone()),
                _ => None,
            };
            let link = link.clone().or(kept);
            store.folders.insert(
                key.clone(),
                crate::state::folders::LiveFolder {
                    filter_id: *filter_id,
                    title: title.clone(),
                    chats: chats.iter().copied().collect(),
                    link,
                    // Set with the folder's chats just now.
                    link_chats: None,
                },
            );
        }
        (
            Op::EditFolder {
                key, title, chats, ..
            },
            _,
        ) => {
            if let Some(folder) = store.folders.get_mut(key) {
                folder.title = title.clone();
                folder.chats = chats.iter().copied().collect();
            }
        }
        (Op::DeleteFolder { key, filter_id }, _)
            if store
                .folders
                .get(key)
                .is_some_and(|f| f.filter_id == *filter_id) =>
        {
            store.folders.remove(key);
        }
        _ => {}
    }
}
