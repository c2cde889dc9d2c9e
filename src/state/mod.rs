//! `OrgState`: the one shape behind both the desired state (from the config)
//! and the live state (from Telegram), so that the planner compares like with
//! like. Also the addresses that name every object in it.
//!
//! Everything here is plain data with deterministic ordering (BTreeMaps and
//! BTreeSets), so that serialising a state twice gives identical bytes.

pub mod folders;
pub mod rights;
pub mod time;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

pub use rights::{Permission, Permissions, Right, Rights};

pub type UserId = i64;
pub type ChatId = i64;

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ChatType {
    Group,
    Supergroup,
    Channel,
}

impl fmt::Display for ChatType {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            ChatType::Group => "group",
            ChatType::Supergroup => "supergroup",
            ChatType::Channel => "channel",
        })
    }
}

/// How a chat's membership is managed.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    Default,
)]
#[serde(rename_all = "lowercase")]
pub enum MembershipMode {
    /// Undeclared members are removed.
    #[default]
    Authoritative,
    /// Undeclared members are reported, never removed.
    Additive,
    /// Membership is neither changed nor reported.
    Observe,
}

/// An administrator seat: the rights and the custom title.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AdminSeat {
    pub rights: Rights,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The chat's owner (creator). Never edited by the tool.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub owner: bool,
}

/// What a non-admin user is in a chat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum MemberState {
    /// A plain member with the chat's default permissions.
    Member,
    /// A member with their own permission set (what they may do).
    Restricted {
        permissions: Permissions,
        /// Unix time the restriction ends; absent = forever.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<i64>,
    },
    /// Banned from the chat.
    Banned,
    /// Known not to be in the chat (left, or never joined).
    Absent,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topic {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_color: Option<u32>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub closed: bool,
    /// The forum thread id, once the topic exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteLink {
    /// The link's name (shown to admins), ≤32 characters.
    pub name: String,
    /// Unix time the link expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_limit: Option<u32>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub join_request: bool,
    /// The link itself, once created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Revoked (a link orgform remembers after revoking it; a live read
    /// lists only links still in use).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub revoked: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Command {
    pub command: String,
    pub description: String,
}

/// A chat photo, compared by content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Photo {
    /// The chat has no photo.
    None,
    /// An image known by its content. On the desired side `path` says
    /// where to read it (not serialised: it depends on where the config
    /// was loaded from, the content does not); `name` is the file name.
    File {
        sha256: String,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        name: String,
        #[serde(skip)]
        path: std::path::PathBuf,
    },
    /// A photo orgform did not upload (set by hand, or before orgform),
    /// known only by Telegram's file id.
    Other { file_unique_id: String },
}

impl Photo {
    /// The image at `path`, named by its file name; `sha256` may be empty
    /// until the file is read.
    pub fn file(path: impl Into<std::path::PathBuf>, sha256: String) -> Photo {
        let path = path.into();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Photo::File { sha256, name, path }
    }

    /// The content hash, when known.
    /// The content hash photos are compared by: lowercase hex SHA-256 of
    /// the file's bytes. One home, so the planner's hash and the check
    /// before upload always agree.
    pub fn hash_of(bytes: &[u8]) -> String {
        use sha2::Digest;
        format!("{:x}", sha2::Sha256::digest(bytes))
    }

    pub fn sha256(&self) -> Option<&str> {
        match self {
            Photo::File { sha256, .. } if !sha256.is_empty() => Some(sha256),
            _ => None,
        }
    }
}

/// The message at the top of a chat's pins.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinnedMessage {
    pub text: String,
    /// The message, once it exists (live side).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<i64>,
    /// Sent by the bot (live side): only the bot's own messages can be
    /// edited, so only they count as the managed pin.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub by_bot: bool,
    /// Notify members when pinning (desired side).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub notify: bool,
}

/// Chat settings. `None` means "not managed" on the desired side and "not
/// known" on the live side.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ChatSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Default permissions of members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Permissions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo: Option<Photo>,
    // What only a person can change (MTProto), read and compared only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forum: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slow_mode: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protected_content: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_delete: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_by_request: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_to_send: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden_members: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_for_new_members: Option<bool>,
}

/// A chat the config declares without an id: what to create it as.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatCreation {
    /// Its config key.
    pub key: String,
    #[serde(rename = "type")]
    pub kind: ChatType,
    pub title: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forum: bool,
}

/// Who carries out changes: the bot (Bot API), a signed-in person
/// (MTProto), or both — the bot for routine changes, the person for what
/// only people can do.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ProviderChoice {
    #[default]
    Bot,
    User,
    Both,
}

impl ProviderChoice {
    pub fn is_bot(&self) -> bool {
        *self == ProviderChoice::Bot
    }

    /// A signed-in person carries the person-only changes.
    pub fn has_user(self) -> bool {
        self != ProviderChoice::Bot
    }

    /// Who holds orgform's seat in each chat, for messages: the bot, or
    /// the signed-in account when the org has no bot.
    pub fn actor(self) -> &'static str {
        match self {
            ProviderChoice::User => "the signed-in account",
            ProviderChoice::Bot | ProviderChoice::Both => "the bot",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatState {
    pub id: ChatId,
    #[serde(rename = "type")]
    pub kind: ChatType,
    pub membership: MembershipMode,
    pub settings: ChatSettings,
    /// Admins by user id, the owner included.
    pub admins: BTreeMap<UserId, AdminSeat>,
    /// Non-admin users whose status is declared (desired) or known (live).
    pub members: BTreeMap<UserId, MemberState>,
    /// Topics by config key.
    pub topics: BTreeMap<String, Topic>,
    /// Invite links by config key.
    pub invite_links: BTreeMap<String, InviteLink>,
    /// Bot commands for this chat's scope; `None` = not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commands: Option<Vec<Command>>,
    /// Member tags by user id. Desired: `None` = not managed, otherwise
    /// the tag of every non-admin member who should have one. Live: the
    /// tags known (from getChatMember answers and updates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<UserId, String>>,
    /// The top pinned message. Desired: `None` = not managed. Live: `None`
    /// = nothing pinned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned: Option<PinnedMessage>,
    /// Declared members who are not in the chat are added directly by the
    /// user provider (`add_members: direct`) instead of sent a link.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub add_directly: bool,
}

impl ChatState {
    pub fn new(id: ChatId, kind: ChatType) -> Self {
        ChatState {
            id,
            kind,
            membership: MembershipMode::default(),
            settings: ChatSettings::default(),
            admins: BTreeMap::new(),
            members: BTreeMap::new(),
            topics: BTreeMap::new(),
            invite_links: BTreeMap::new(),
            commands: None,
            tags: None,
            pinned: None,
            add_directly: false,
        }
    }
}

/// A person as the state knows them: enough to name them in output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonRef {
    pub handle: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Offboarded people are removed from every managed chat.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub offboarded: bool,
}

/// The whole organisation as far as orgform manages it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct OrgState {
    /// Chats by config key.
    pub chats: BTreeMap<String, ChatState>,
}

/// The state the config asks for, with the reasons behind each part.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct DesiredState {
    /// The bot's username, if the config names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot: Option<String>,
    /// Which providers carry the changes (`org.telegram.provider`).
    #[serde(default, skip_serializing_if = "ProviderChoice::is_bot")]
    pub provider: ProviderChoice,
    /// Chats declared without an id, for the user provider to create.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub creations: Vec<ChatCreation>,
    pub state: OrgState,
    /// Every person the config knows, by Telegram user id.
    pub people: BTreeMap<UserId, PersonRef>,
    /// Why-traces by address: `chat.eng.admin.alice` → ["role eng-lead via leads_of engineering"].
    pub why: BTreeMap<String, Vec<String>>,
}

impl DesiredState {
    /// The handle of a user, or the id as text for people the config does not know.
    pub fn handle(&self, user: UserId) -> String {
        self.people
            .get(&user)
            .map(|p| p.handle.clone())
            .unwrap_or_else(|| user.to_string())
    }
}

/// The address of an object: `chat.eng`, `chat.eng.admin.alice`, ...
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Address(pub String);

impl Address {
    pub fn chat(chat: &str) -> Self {
        Address(format!("chat.{chat}"))
    }
    pub fn settings(chat: &str, field: &str) -> Self {
        Address(format!("chat.{chat}.{field}"))
    }
    pub fn admin(chat: &str, who: &str) -> Self {
        Address(format!("chat.{chat}.admin.{who}"))
    }
    pub fn member(chat: &str, who: &str) -> Self {
        Address(format!("chat.{chat}.member.{who}"))
    }
    pub fn topic(chat: &str, key: &str) -> Self {
        Address(format!("chat.{chat}.topic.{key}"))
    }
    pub fn invite(chat: &str, key: &str) -> Self {
        Address(format!("chat.{chat}.invite.{key}"))
    }
    pub fn commands(chat: &str) -> Self {
        Address(format!("chat.{chat}.commands"))
    }
    pub fn tag(chat: &str, who: &str) -> Self {
        Address(format!("chat.{chat}.tag.{who}"))
    }
    /// A chat folder (`folders:` in the config).
    pub fn folder(key: &str) -> Self {
        Address(format!("folder.{key}"))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The chat key this address belongs to.
    pub fn chat_key(&self) -> Option<&str> {
        self.0.strip_prefix("chat.")?.split('.').next()
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What Telegram shows, read by `telegram::read`: the same shape as the
/// desired state, plus what only the live side has.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct LiveState {
    /// The bot itself (from getMe).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot: Option<BotIdentity>,
    /// Chats by config key. The bot is not listed among a chat's admins;
    /// its own rights are in `meta`.
    pub state: OrgState,
    /// Per chat: what the Bot API tells beyond the shared shape.
    pub meta: BTreeMap<String, LiveChatMeta>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BotIdentity {
    pub id: UserId,
    pub username: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct LiveChatMeta {
    /// getChatMemberCount: everyone in the chat, admins and the bot included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_count: Option<u64>,
    /// The bot's rights here; `None` when the bot is not an admin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_rights: Option<Rights>,
    /// Admins the bot may not edit (`can_be_edited: false`), the owner included.
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub not_editable: std::collections::BTreeSet<UserId>,
    /// The chat could not be read (not found, bot not a member, …): the
    /// planner leaves it alone and reports this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
