//! The closed set of changes a plan can hold.
//!
//! A [`Change`] says where (`address`), what kind (`action`, with its
//! display symbol), exactly what to do (`op`, which the provider turns into
//! Bot API calls), the before and after values for people to read, why, and
//! whether it can be undone. The set of [`Op`]s is small on purpose: every
//! one has a known inverse or is known to have none.

use serde::{Deserialize, Serialize};

use crate::state::{
    Address, ChatId, ChatType, Command, InviteLink, Permissions, Rights, Topic, UserId,
};

use super::value::Value;

/// What kind of change, as a reviewer sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    Delete,
    /// Delete and create (a link whose options cannot be edited).
    Replace,
    /// A personal invite link for a declared member who is not in the chat.
    Invite,
    /// Something only a person can do (the Bot API cannot).
    Manual,
}

impl Action {
    /// Terraform-like symbol.
    pub fn symbol(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update => "~",
            Action::Delete => "-",
            Action::Replace => "±",
            Action::Invite => "✉",
            Action::Manual => "!",
        }
    }
}

/// Where a change runs. Every reversible change of every chat runs before
/// any irreversible one, so a failure can always be rolled back fully.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Reversible,
    Irreversible,
}

/// Order of changes inside one chat (DESIGN §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Settings,
    Topics,
    InviteLinks,
    Promotions,
    Restrictions,
    /// Admin titles and member tags.
    Titles,
    Demotions,
    /// Personal invite links (sent last in the reversible phase: they only
    /// invite, they change nobody's access).
    Invites,
    Bans,
    LinkRevocations,
    TopicDeletions,
    /// A chat photo replacing one orgform cannot put back.
    PhotoReplacements,
    /// Things a person must do; never executed.
    Manual,
}

impl Step {
    pub fn phase(self) -> Phase {
        match self {
            Step::Bans | Step::LinkRevocations | Step::TopicDeletions | Step::PhotoReplacements => {
                Phase::Irreversible
            }
            _ => Phase::Reversible,
        }
    }
}

/// Exactly what to do. Users and chats are by Telegram id; config keys are
/// kept where the store needs them (topics, links).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    SetTitle {
        title: String,
    },
    SetDescription {
        description: String,
    },
    /// Default member permissions (sent with use_independent_chat_permissions).
    SetPermissions {
        permissions: Permissions,
    },
    /// Upload the image at `path`, whose content must still hash to `sha256`.
    SetPhoto {
        path: String,
        sha256: String,
    },
    DeletePhoto,
    /// Make a bot message saying `text` the top pin: edit and re-pin
    /// `message_id` (the bot's earlier pin) when it still exists, otherwise
    /// send a new message and pin it.
    Pin {
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message_id: Option<i64>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        notify: bool,
    },
    /// Take a message off the pins (the message itself stays).
    Unpin {
        message_id: i64,
    },
    CreateTopic {
        key: String,
        topic: Topic,
    },
    /// Rename or recolour an existing topic.
    EditTopic {
        key: String,
        thread_id: i64,
        name: String,
        icon_color: Option<u32>,
    },
    CloseTopic {
        key: String,
        thread_id: i64,
    },
    ReopenTopic {
        key: String,
        thread_id: i64,
    },
    DeleteTopic {
        key: String,
        thread_id: i64,
    },
    CreateInviteLink {
        key: String,
        link: InviteLink,
    },
    EditInviteLink {
        key: String,
        url: String,
        link: InviteLink,
    },
    RevokeInviteLink {
        key: String,
        url: String,
    },
    /// Set an admin's rights to exactly `rights`. The planner writes a
    /// demotion as [`Op::Demote`]; a journal from before that op existed
    /// may hold a promotion with no rights, which means the same.
    Promote {
        user: UserId,
        rights: Rights,
    },
    /// Take an admin's seat away: they stay a plain member.
    Demote {
        user: UserId,
    },
    SetAdminTitle {
        user: UserId,
        title: String,
    },
    /// A plain or restricted member's tag; empty = no tag.
    SetTag {
        user: UserId,
        tag: String,
    },
    /// Narrow a member's permissions; `until` as unix time, none = forever.
    Restrict {
        user: UserId,
        permissions: Permissions,
        until: Option<i64>,
    },
    /// Lift a member's restrictions (back to the chat's defaults).
    Unrestrict {
        user: UserId,
    },
    Ban {
        user: UserId,
    },
    Unban {
        user: UserId,
    },
    /// Remove from the chat without a lasting ban (ban + unban only_if_banned).
    Kick {
        user: UserId,
    },
    /// A personal invite link (member_limit 1, short expiry), sent by DM when
    /// the person has started the bot.
    SendInvite {
        user: UserId,
        name: String,
        expires: i64,
    },
    /// Add a declared member directly (the user provider:
    /// channels.inviteToChannel), for a chat with `add_members: direct`.
    /// When their privacy settings refuse it, or once Telegram has
    /// answered PEER_FLOOD in this run, the bot sends the personal invite
    /// link (`name`, `expires`) of [`Op::SendInvite`] instead.
    AddMember {
        user: UserId,
        /// Their username, by which the account finds them.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        username: Option<String>,
        name: String,
        expires: i64,
        /// The bot's username (`org.telegram.bot`): when the answer is
        /// lost, the account looks for the bot's fallback link by it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bot: Option<String>,
    },
    SetCommands {
        commands: Vec<Command>,
    },
    DeleteCommands,
    /// A person must do this by hand; the text says what.
    Manual {
        instruction: String,
    },
    /// A setting only a person can change, set by the user provider
    /// (`org.telegram.provider: user | both`).
    SetPersonSetting {
        setting: PersonSetting,
    },
    /// Create a chat the config declares without an id (the user provider:
    /// channels.createChannel), then bring the bot in as an administrator
    /// with `bot_rights`. Never undone: orgform does not delete chats.
    CreateChat {
        title: String,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        description: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        forum: bool,
        /// The bot's username (`org.telegram.bot`).
        bot: Option<String>,
        bot_rights: Rights,
    },
    /// Make the chat folder `key` of `chats` and share it by link (the
    /// user provider: messages.updateDialogFilter, then
    /// chatlists.exportChatlistInvite).
    CreateFolder {
        key: String,
        title: String,
        chats: Vec<ChatId>,
    },
    /// Set a shared folder's title and chats, and its link's chats with
    /// them (messages.updateDialogFilter, chatlists.editExportedInvite).
    EditFolder {
        key: String,
        filter_id: i32,
        title: String,
        chats: Vec<ChatId>,
    },
    /// Delete a folder and its link (what undoes a creation; a folder
    /// dropped from the config is left alone, like a chat).
    DeleteFolder {
        key: String,
        filter_id: i32,
    },
}

/// A setting only a person can change, with its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "setting", content = "value", rename_all = "snake_case")]
pub enum PersonSetting {
    /// Seconds between messages of one member; 0 = off.
    SlowMode(u32),
    ProtectedContent(bool),
    JoinByRequest(bool),
    JoinToSend(bool),
    HiddenMembers(bool),
    /// New members see the history from before they joined.
    HistoryForNewMembers(bool),
    Forum(bool),
    /// Seconds after which messages delete themselves; 0 = off.
    AutoDelete(u32),
}

impl PersonSetting {
    /// The settings field it is about, as the config and addresses name it.
    pub fn field(&self) -> &'static str {
        match self {
            PersonSetting::SlowMode(_) => "slow_mode",
            PersonSetting::ProtectedContent(_) => "protected_content",
            PersonSetting::JoinByRequest(_) => "join_by_request",
            PersonSetting::JoinToSend(_) => "join_to_send",
            PersonSetting::HiddenMembers(_) => "hidden_members",
            PersonSetting::HistoryForNewMembers(_) => "history_for_new_members",
            PersonSetting::Forum(_) => "forum",
            PersonSetting::AutoDelete(_) => "auto_delete",
        }
    }

    /// Its value as JSON (a number of seconds or a boolean).
    pub fn value(&self) -> serde_json::Value {
        match *self {
            PersonSetting::SlowMode(n) | PersonSetting::AutoDelete(n) => n.into(),
            PersonSetting::ProtectedContent(b)
            | PersonSetting::JoinByRequest(b)
            | PersonSetting::JoinToSend(b)
            | PersonSetting::HiddenMembers(b)
            | PersonSetting::HistoryForNewMembers(b)
            | PersonSetting::Forum(b) => b.into(),
        }
    }

    /// The same setting with another value (read back as JSON); `None`
    /// when the value is of the wrong kind.
    pub fn with_value(&self, value: &serde_json::Value) -> Option<PersonSetting> {
        let n = || value.as_u64().and_then(|n| u32::try_from(n).ok());
        let b = || value.as_bool();
        Some(match self {
            PersonSetting::SlowMode(_) => PersonSetting::SlowMode(n()?),
            PersonSetting::AutoDelete(_) => PersonSetting::AutoDelete(n()?),
            PersonSetting::ProtectedContent(_) => PersonSetting::ProtectedContent(b()?),
            PersonSetting::JoinByRequest(_) => PersonSetting::JoinByRequest(b()?),
            PersonSetting::JoinToSend(_) => PersonSetting::JoinToSend(b()?),
            PersonSetting::HiddenMembers(_) => PersonSetting::HiddenMembers(b()?),
            PersonSetting::HistoryForNewMembers(_) => PersonSetting::HistoryForNewMembers(b()?),
            PersonSetting::Forum(_) => PersonSetting::Forum(b()?),
        })
    }
}

impl Op {
    /// Takes an admin seat away (also a promotion to no rights, as older
    /// journals write it).
    pub fn is_demotion(&self) -> bool {
        match self {
            Op::Demote { .. } => true,
            Op::Promote { rights, .. } => rights.is_empty(),
            _ => false,
        }
    }

    /// Only a signed-in person can carry it out (the user provider).
    pub fn needs_person(&self) -> bool {
        matches!(
            self,
            Op::SetPersonSetting { .. }
                | Op::AddMember { .. }
                | Op::CreateChat { .. }
                | Op::CreateFolder { .. }
                | Op::EditFolder { .. }
                | Op::DeleteFolder { .. }
        )
    }

    /// Whether the op can be undone by another op.
    pub fn reversible(&self) -> bool {
        !matches!(
            self,
            Op::CreateChat { .. }
                | Op::DeleteFolder { .. }
                | Op::Ban { .. }
                | Op::Kick { .. }
                | Op::RevokeInviteLink { .. }
                | Op::DeleteTopic { .. }
                | Op::DeletePhoto
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ChangeJson")]
pub struct Change {
    pub address: Address,
    /// The chat's config key and Telegram id.
    pub chat: String,
    pub chat_id: ChatId,
    pub chat_type: ChatType,
    pub action: Action,
    pub step: Step,
    pub op: Op,
    /// What is there now.
    pub before: Value,
    /// What there will be.
    pub after: Value,
    /// The why-trace from resolution, or why the change is needed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub why: Vec<String>,
    /// Whether the change can be undone by orgform.
    pub reversible: bool,
    /// The person concerned, by handle, for per-person summaries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    /// A removal of someone the config does not mention (as opposed to an
    /// offboarded or banned person it names): what the first-run guard
    /// protects against when a config is still incomplete.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub undeclared: bool,
    /// A promotion's effect on the seat, typed: the rights gained and lost
    /// against what the planner read. Renderers and guards use it instead
    /// of reading `before`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seat: Option<SeatChange>,
}

/// A change as a file holds it: the same fields, with `before` and
/// `after` in their JSON shape until the op says how to read them.
#[derive(Deserialize)]
struct ChangeJson {
    address: Address,
    chat: String,
    chat_id: ChatId,
    chat_type: ChatType,
    action: Action,
    step: Step,
    op: Op,
    before: serde_json::Value,
    after: serde_json::Value,
    #[serde(default)]
    why: Vec<String>,
    reversible: bool,
    #[serde(default)]
    person: Option<String>,
    #[serde(default)]
    undeclared: bool,
    #[serde(default)]
    seat: Option<SeatChange>,
}

impl TryFrom<ChangeJson> for Change {
    type Error = String;

    fn try_from(c: ChangeJson) -> Result<Change, String> {
        let before = Value::from_json(&c.op, &c.before)?;
        let after = Value::from_json(&c.op, &c.after)?;
        Ok(Change {
            address: c.address,
            chat: c.chat,
            chat_id: c.chat_id,
            chat_type: c.chat_type,
            action: c.action,
            step: c.step,
            op: c.op,
            before,
            after,
            why: c.why,
            reversible: c.reversible,
            person: c.person,
            undeclared: c.undeclared,
            seat: c.seat,
        })
    }
}

/// Rights a promotion (or demotion) gives and takes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatChange {
    #[serde(default, skip_serializing_if = "Rights::is_empty")]
    pub gained: Rights,
    #[serde(default, skip_serializing_if = "Rights::is_empty")]
    pub lost: Rights,
}

impl SeatChange {
    /// From the rights held to the rights wanted.
    pub fn between(held: &Rights, wanted: &Rights) -> SeatChange {
        SeatChange {
            gained: wanted.difference(held).cloned().collect(),
            lost: held.difference(wanted).cloned().collect(),
        }
    }

    /// What undoing it does.
    pub fn reversed(&self) -> SeatChange {
        SeatChange {
            gained: self.lost.clone(),
            lost: self.gained.clone(),
        }
    }
}

impl Change {
    pub fn phase(&self) -> Phase {
        self.step.phase()
    }
}
