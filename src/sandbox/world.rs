//! The sandbox's world: users, the bot, chats with their members, rights,
//! invite links, topics, pins and commands, the pending updates and the
//! webhook. This is the whole persistent state; it serialises to the JSON
//! file `serve --world` reads and writes, and `GET /sandbox/world` returns.
//!
//! It is plain data. The rules about who may change what live in
//! `rules` and `methods`; here are only the accessors every method needs
//! (membership with expiry applied, lookups by id or username).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::state::{ChatId, ChatType, Permission, Permissions, Right, Rights, UserId};

/// The whole emulated Telegram, as far as one bot can see it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct World {
    /// Format of this file; bumped when the layout changes incompatibly.
    #[serde(default = "format_version")]
    pub format_version: u32,
    pub bot: Bot,
    /// Every account, the bot's included (it is a user with `is_bot`).
    pub users: BTreeMap<UserId, User>,
    pub chats: BTreeMap<ChatId, Chat>,
    /// Bot commands per scope and language.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<CommandSet>,
    /// Messages the bot sent to users in private chats.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub private_chats: BTreeMap<UserId, PrivateChat>,
    #[serde(default)]
    pub updates: UpdateQueue,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<Webhook>,
    /// Source of invite-link hashes and file ids; bumped on every use so that
    /// the same sequence of calls always yields the same links.
    #[serde(default)]
    pub next_serial: u64,
    /// setMyDefaultAdministratorRights: what the bot asks for when it is
    /// added to groups and supergroups, and to channels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_group_rights: Option<Rights>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_channel_rights: Option<Rights>,
    /// Seconds the sandbox's clock runs ahead of the machine's (tests move
    /// it with `POST /sandbox/clock` to let updates expire).
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub clock_offset: i64,
    /// Join requests sent to the bot as the chat's guard bot (Bot API
    /// 10.1), by `query_id`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub join_queries: BTreeMap<String, JoinQuery>,
    /// People's chat folders and folder links (MTProto `chatlists.*`).
    #[serde(
        default,
        skip_serializing_if = "super::mtproto::folders::Folders::is_empty"
    )]
    pub folders: super::mtproto::folders::Folders,
}

/// A join request query: the guard bot must answer it with
/// answerChatJoinRequestQuery within 10 seconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JoinQuery {
    pub chat_id: ChatId,
    pub user: UserId,
    /// Unix time (the sandbox's clock) the request was made.
    pub date: i64,
    /// When it was answered, and how (`approve`, `decline`, `queue`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
}

/// How long a guard bot has to answer a join request query.
pub const JOIN_QUERY_SECONDS: i64 = 10;

fn is_zero_i64(n: &i64) -> bool {
    *n == 0
}

fn format_version() -> u32 {
    1
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bot {
    /// The bot's user id (also a key of `users`).
    pub user_id: UserId,
    /// `{user_id}:{secret}`, as BotFather hands them out.
    pub token: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub first_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_bot: bool,
    /// Whether the user pressed Start in a private chat with the bot, so the
    /// bot may message them.
    #[serde(default, skip_serializing_if = "is_false")]
    pub started_bot: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub deactivated: bool,
    /// The user's privacy settings forbid adding them to groups.
    #[serde(default, skip_serializing_if = "is_false")]
    pub privacy_restricted: bool,
    /// The phone number a person signs in with over MTProto
    /// (`orgform login`); none for the bot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// The account's two-step verification password, if it has one: the
    /// MTProto front-end checks it over SRP as Telegram does. Plain text
    /// because this is an emulator's world file, never a real account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub two_factor_password: Option<String>,
}

impl User {
    pub fn human(id: UserId, first_name: impl Into<String>) -> User {
        User {
            id,
            first_name: first_name.into(),
            last_name: None,
            username: None,
            is_bot: false,
            started_bot: false,
            deactivated: false,
            privacy_restricted: false,
            phone: None,
            two_factor_password: None,
        }
    }
}

/// A user's exact ChatMember status in one chat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Member {
    Creator {
        #[serde(default, skip_serializing_if = "is_false")]
        is_anonymous: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        custom_title: Option<String>,
    },
    Administrator {
        /// Rights held; `Right::Anonymous` stands for `is_anonymous`.
        rights: Rights,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        custom_title: Option<String>,
        /// Who promoted them: only that user (or the owner) may edit them,
        /// which is what `can_be_edited` reports to the bot.
        promoted_by: UserId,
    },
    Member {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tag: Option<String>,
    },
    Restricted {
        /// What the user may do.
        permissions: Permissions,
        /// Whether they are in the chat (a restriction can exist on an absent user).
        is_member: bool,
        /// Unix time the restriction ends; 0 = forever.
        #[serde(default)]
        until_date: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tag: Option<String>,
    },
    Left,
    Kicked {
        /// Unix time the ban ends; 0 = forever.
        #[serde(default)]
        until_date: i64,
    },
}

impl Member {
    pub fn plain() -> Member {
        Member::Member { tag: None }
    }

    /// In the chat right now (what getChatMemberCount counts).
    pub fn is_present(&self) -> bool {
        match self {
            Member::Creator { .. } | Member::Administrator { .. } | Member::Member { .. } => true,
            Member::Restricted { is_member, .. } => *is_member,
            Member::Left | Member::Kicked { .. } => false,
        }
    }

    pub fn is_admin(&self) -> bool {
        matches!(self, Member::Creator { .. } | Member::Administrator { .. })
    }

    pub fn status_name(&self) -> &'static str {
        match self {
            Member::Creator { .. } => "creator",
            Member::Administrator { .. } => "administrator",
            Member::Member { .. } => "member",
            Member::Restricted { .. } => "restricted",
            Member::Left => "left",
            Member::Kicked { .. } => "kicked",
        }
    }

    /// The member's tag (9.5), for the statuses that carry one.
    pub fn tag(&self) -> Option<&str> {
        match self {
            Member::Member { tag } | Member::Restricted { tag, .. } => tag.as_deref(),
            _ => None,
        }
    }

    /// The status once time-limited restrictions and bans have run out.
    pub fn expired(self, now: i64) -> Member {
        match self {
            Member::Restricted {
                until_date,
                is_member,
                tag,
                ..
            } if until_date != 0 && until_date <= now => {
                if is_member {
                    Member::Member { tag }
                } else {
                    Member::Left
                }
            }
            Member::Kicked { until_date } if until_date != 0 && until_date <= now => Member::Left,
            other => other,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatPhoto {
    /// Serial used to build the file ids shown in getChat.
    pub serial: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub message_id: i64,
    pub from: UserId,
    pub date: i64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<i64>,
    /// When the text was last edited (Message.edit_date).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edit_date: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topic {
    pub thread_id: i64,
    pub name: String,
    pub icon_color: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_custom_emoji_id: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub closed: bool,
    pub created_by: UserId,
}

/// The forum's General topic (thread 1): it cannot be deleted, only renamed,
/// closed and hidden.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeneralTopic {
    pub name: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub closed: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub hidden: bool,
}

impl Default for GeneralTopic {
    fn default() -> Self {
        GeneralTopic {
            name: "General".into(),
            closed: false,
            hidden: false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteLink {
    /// `https://t.me/+…`
    pub link: String,
    pub creator: UserId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expire_date: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_limit: Option<u32>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub creates_join_request: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_primary: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_revoked: bool,
    /// A subscription link's period (seconds) and price (Telegram Stars).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription: Option<(u32, u32)>,
    /// How many people joined through it (for member_limit).
    #[serde(default)]
    pub joined: u32,
}

/// A pending request to join, waiting for an admin's approval.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinRequest {
    pub date: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite_link: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Chat {
    pub id: ChatId,
    #[serde(rename = "type")]
    pub kind: ChatType,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_forum: bool,
    /// Default member permissions (groups and supergroups).
    #[serde(default = "Permission::all")]
    pub permissions: Permissions,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub slow_mode_delay: u32,
    #[serde(default, skip_serializing_if = "is_false")]
    pub has_protected_content: bool,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub message_auto_delete_time: u32,
    #[serde(default, skip_serializing_if = "is_false")]
    pub join_by_request: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub join_to_send_messages: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub has_hidden_members: bool,
    /// New members do not see the history from before they joined
    /// (MTProto `hidden_prehistory`; the Bot API's `has_visible_history`
    /// is its negation).
    #[serde(default, skip_serializing_if = "is_false")]
    pub history_hidden: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo: Option<ChatPhoto>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub messages: BTreeMap<i64, Message>,
    /// Pinned message ids, oldest first (getChat shows the last).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pinned: Vec<i64>,
    /// The next message id; topics take theirs from here too, as in Telegram
    /// a topic's thread id is the id of the message that created it.
    #[serde(default = "first_message_id")]
    pub next_message_id: i64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub topics: BTreeMap<i64, Topic>,
    #[serde(default)]
    pub general_topic: GeneralTopic,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub invite_links: Vec<InviteLink>,
    pub members: BTreeMap<UserId, Member>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub join_requests: BTreeMap<UserId, JoinRequest>,
    /// Channels banned from posting here (banChatSenderChat).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub banned_sender_chats: BTreeSet<ChatId>,
    /// The bot's verification of this chat (verifyChat), with its custom
    /// description ("" for none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_by_bot: Option<String>,
    /// Set on a basic group that was upgraded: every call answers with
    /// `migrate_to_chat_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migrated_to: Option<ChatId>,
    /// The bot is this chat's guard bot: join requests reach it as queries
    /// (`query_id`) to answer within 10 seconds (Bot API 10.1).
    #[serde(default, skip_serializing_if = "is_false")]
    pub guard_bot: bool,
    /// The recent actions people took here (MTProto channels.getAdminLog),
    /// oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub admin_log: Vec<AdminLogEntry>,
}

/// One entry of a chat's admin log: who did what, when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminLogEntry {
    pub id: i64,
    pub date: i64,
    pub user: UserId,
    pub action: AdminLogAction,
}

/// What an admin-log entry records, with the values before and after.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AdminLogAction {
    Title {
        prev: String,
        new: String,
    },
    Description {
        prev: String,
        new: String,
    },
    SlowMode {
        prev: u32,
        new: u32,
    },
    ProtectedContent {
        new: bool,
    },
    JoinByRequest {
        new: bool,
    },
    Forum {
        new: bool,
    },
    AutoDelete {
        prev: u32,
        new: u32,
    },
    /// The chat's default member permissions changed
    /// (channelAdminLogEventActionDefaultBannedRights).
    Permissions {
        prev: crate::state::Permissions,
        new: crate::state::Permissions,
    },
    /// An administrator's rights changed (none = not an administrator).
    AdminRights {
        target: UserId,
        prev: Option<Rights>,
        new: Option<Rights>,
    },
}

fn first_message_id() -> i64 {
    2
}

impl Chat {
    pub fn new(id: ChatId, kind: ChatType, title: impl Into<String>) -> Chat {
        Chat {
            id,
            kind,
            title: title.into(),
            username: None,
            description: String::new(),
            is_forum: false,
            permissions: Permission::all(),
            slow_mode_delay: 0,
            has_protected_content: false,
            message_auto_delete_time: 0,
            join_by_request: false,
            join_to_send_messages: false,
            has_hidden_members: false,
            history_hidden: false,
            photo: None,
            messages: BTreeMap::new(),
            pinned: Vec::new(),
            next_message_id: first_message_id(),
            topics: BTreeMap::new(),
            general_topic: GeneralTopic::default(),
            invite_links: Vec::new(),
            members: BTreeMap::new(),
            join_requests: BTreeMap::new(),
            banned_sender_chats: BTreeSet::new(),
            verified_by_bot: None,
            migrated_to: None,
            guard_bot: false,
            admin_log: Vec::new(),
        }
    }

    /// A user's status with expiry applied; `Left` for users never seen here.
    pub fn status(&self, user: UserId, now: i64) -> Member {
        self.members
            .get(&user)
            .cloned()
            .map(|m| m.expired(now))
            .unwrap_or(Member::Left)
    }

    /// Record a status. `Left` is stored too: Telegram remembers who left.
    pub fn set_status(&mut self, user: UserId, member: Member) {
        self.members.insert(user, member);
    }

    pub fn owner(&self) -> Option<UserId> {
        self.members
            .iter()
            .find(|(_, m)| matches!(m, Member::Creator { .. }))
            .map(|(id, _)| *id)
    }

    pub fn present_count(&self, now: i64) -> usize {
        self.members
            .values()
            .filter(|m| (*m).clone().expired(now).is_present())
            .count()
    }

    pub fn admin_count(&self) -> usize {
        self.members
            .values()
            .filter(|m| matches!(m, Member::Administrator { .. }))
            .count()
    }

    /// The primary link of one administrator: in Telegram every
    /// administrator has their own.
    pub fn primary_link_of(&self, admin: UserId) -> Option<&InviteLink> {
        self.invite_links
            .iter()
            .rev()
            .find(|l| l.is_primary && !l.is_revoked && l.creator == admin)
    }

    pub fn take_message_id(&mut self) -> i64 {
        let id = self.next_message_id;
        self.next_message_id += 1;
        id
    }
}

/// The scope of a command list, normalised (chat ids resolved).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CommandScope {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_id: Option<ChatId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
}

impl CommandScope {
    pub fn default_scope() -> CommandScope {
        CommandScope {
            kind: "default".into(),
            chat_id: None,
            user_id: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BotCommand {
    pub command: String,
    pub description: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandSet {
    pub scope: CommandScope,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub language_code: String,
    pub commands: Vec<BotCommand>,
}

/// The bot's private chat with one user.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivateChat {
    pub next_message_id: i64,
    pub messages: Vec<Message>,
}

/// Updates waiting to be fetched with getUpdates or pushed to the webhook.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UpdateQueue {
    /// The id the next update gets.
    #[serde(default = "first_update_id")]
    pub next_update_id: i64,
    /// The last `allowed_updates` a client gave; `None` = Telegram's default
    /// (everything except chat_member, message_reaction and message_reaction_count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_updates: Option<Vec<String>>,
    pub pending: VecDeque<QueuedUpdate>,
}

fn first_update_id() -> i64 {
    1
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueuedUpdate {
    pub update_id: i64,
    /// `chat_member`, `my_chat_member`, `chat_join_request`, …
    pub kind: String,
    /// Unix time it was created (updates older than 24 h are dropped).
    pub date: i64,
    /// The Update object as the Bot API sends it.
    pub update: Value,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Webhook {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_token: Option<String>,
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_updates: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error_date: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error_message: Option<String>,
}

fn default_max_connections() -> u32 {
    40
}

#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    #[error("cannot read world file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write world file {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("world file {path} is not a sandbox world: {source}")]
    Parse {
        path: String,
        source: serde_json::Error,
    },
}

impl World {
    /// An empty world with just the bot.
    pub fn new(bot_id: UserId, bot_username: &str, token: impl Into<String>) -> World {
        let mut users = BTreeMap::new();
        users.insert(
            bot_id,
            User {
                id: bot_id,
                first_name: bot_display_name(bot_username),
                last_name: None,
                username: Some(bot_username.to_string()),
                is_bot: true,
                started_bot: false,
                deactivated: false,
                privacy_restricted: false,
                phone: None,
                two_factor_password: None,
            },
        );
        World {
            format_version: format_version(),
            bot: Bot {
                user_id: bot_id,
                token: token.into(),
            },
            users,
            chats: BTreeMap::new(),
            commands: Vec::new(),
            private_chats: BTreeMap::new(),
            updates: UpdateQueue {
                next_update_id: first_update_id(),
                ..Default::default()
            },
            webhook: None,
            next_serial: 1,
            default_group_rights: None,
            default_channel_rights: None,
            clock_offset: 0,
            join_queries: BTreeMap::new(),
            folders: Default::default(),
        }
    }

    pub fn load(path: &Path) -> Result<World, WorldError> {
        let text = std::fs::read(path).map_err(|source| WorldError::Read {
            path: path.display().to_string(),
            source,
        })?;
        serde_json::from_slice(&text).map_err(|source| WorldError::Parse {
            path: path.display().to_string(),
            source,
        })
    }

    /// Write atomically (temporary file, fsync, rename), so a crash mid-save
    /// never leaves half a world behind.
    pub fn save(&self, path: &Path) -> Result<(), WorldError> {
        let bytes = serde_json::to_vec_pretty(self).expect("a world always serialises");
        write_atomically(path, &bytes)
    }

    pub fn bot_id(&self) -> UserId {
        self.bot.user_id
    }

    pub fn add_user(&mut self, user: User) {
        self.users.insert(user.id, user);
    }

    pub fn add_chat(&mut self, chat: Chat) {
        self.chats.insert(chat.id, chat);
    }

    /// A chat by `@username`.
    pub fn chat_by_username(&self, name: &str) -> Option<ChatId> {
        let name = name.trim_start_matches('@');
        self.chats
            .values()
            .find(|c| {
                c.username
                    .as_deref()
                    .is_some_and(|u| u.eq_ignore_ascii_case(name))
            })
            .map(|c| c.id)
    }

    /// A fresh number for link hashes and file ids.
    pub fn serial(&mut self) -> u64 {
        let n = self.next_serial;
        self.next_serial += 1;
        n
    }
}

pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), WorldError> {
    let err = |source| WorldError::Write {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    // The world holds the sandbox bot's token: owner-only, like the store.
    crate::atomic_file::replace(path, bytes, crate::atomic_file::Access::Private).map_err(err)
}

fn bot_display_name(username: &str) -> String {
    let base = username
        .trim_end_matches("_bot")
        .trim_end_matches("bot")
        .trim_end_matches('_');
    if base.is_empty() {
        "Bot".into()
    } else {
        format!("{base} bot")
    }
}

/// Rights a fully trusted admin holds in a chat of this type (anonymity excluded).
pub fn full_rights(kind: ChatType) -> Rights {
    Right::all_for(kind)
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}
