//! Bot API wire types for the methods orgform calls, written by us from
//! `reference/botapi/api-10.3.json`.
//!
//! Every object keeps the fields it does not model in `extra` (a flattened
//! JSON map), so what Telegram adds later survives a read and a write back.
//! Optional booleans are `Option<bool>`: the real server leaves out false
//! fields, so absent means false (see the `flag` helpers). The unit test at
//! the bottom holds every struct here to the spec file: field names, their
//! types, and which are required.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::state::{ChatId, Permission, Permissions, Right, Rights, UserId};

/// Fields a type does not model, kept as they came.
pub type Extra = Map<String, Value>;

/// The envelope of every answer: `{"ok":true,"result":…}` or
/// `{"ok":false,"error_code":…,"description":…,"parameters":…}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<ResponseParameters>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ResponseParameters {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migrate_to_chat_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<i64>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct User {
    pub id: UserId,
    pub is_bot: bool,
    pub first_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_join_groups: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_read_all_group_messages: Option<bool>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The short chat object (in messages and updates).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Chat {
    pub id: ChatId,
    /// `private`, `group`, `supergroup` or `channel`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_forum: Option<bool>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// getChat's answer. Absent booleans are false, absent numbers 0.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChatFullInfo {
    pub id: ChatId,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_forum: Option<bool>,
    pub accent_color_id: i64,
    pub max_reaction_count: i64,
    /// Kept as JSON: orgform does not look inside.
    pub accepted_gift_types: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo: Option<ChatPhoto>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite_link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned_message: Option<Message>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<ChatPermissions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slow_mode_delay: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_auto_delete_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_protected_content: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_by_request: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_to_send_messages: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_hidden_members: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_visible_history: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked_chat_id: Option<i64>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChatPhoto {
    pub small_file_id: String,
    pub small_file_unique_id: String,
    pub big_file_id: String,
    pub big_file_unique_id: String,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A message, as far as orgform reads one (the DM it sends, a pin).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Message {
    pub message_id: i64,
    pub date: i64,
    pub chat: Chat,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<User>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_thread_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

macro_rules! permission_struct {
    ($(#[$m:meta])* $name:ident { $($field:ident => $perm:ident),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
        pub struct $name {
            $(
                #[serde(default, skip_serializing_if = "Option::is_none")]
                pub $field: Option<bool>,
            )*
            #[serde(flatten)]
            pub extra: Extra,
        }

        impl $name {
            /// The field for one permission.
            pub fn get(&self, p: Permission) -> Option<bool> {
                match p { $(Permission::$perm => self.$field),* }
            }

            /// Every permission field set explicitly: true for those in `set`.
            pub fn exactly(set: &Permissions) -> $name {
                $name { $($field: Some(set.contains(&Permission::$perm)),)* extra: Extra::new() }
            }

            /// The permissions that are true (absent = false).
            pub fn to_set(&self) -> Permissions {
                Permission::ALL.iter().copied().filter(|p| self.get(*p) == Some(true)).collect()
            }
        }
    };
}

permission_struct! {
    /// What members may do (chat defaults, or one member's restriction).
    ChatPermissions {
        can_send_messages => SendMessages,
        can_send_audios => SendAudios,
        can_send_documents => SendDocuments,
        can_send_photos => SendPhotos,
        can_send_videos => SendVideos,
        can_send_video_notes => SendVideoNotes,
        can_send_voice_notes => SendVoiceNotes,
        can_send_polls => SendPolls,
        can_send_other_messages => SendOtherMessages,
        can_add_web_page_previews => AddWebPagePreviews,
        can_react_to_messages => ReactToMessages,
        can_edit_tag => EditTag,
        can_change_info => ChangeInfo,
        can_invite_users => InviteUsers,
        can_pin_messages => PinMessages,
        can_manage_topics => ManageTopics,
    }
}

/// Administrator rights; also the shape of promoteChatMember's right
/// parameters, which orgform always sends in full.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChatAdministratorRights {
    pub is_anonymous: bool,
    pub can_manage_chat: bool,
    pub can_delete_messages: bool,
    pub can_manage_video_chats: bool,
    pub can_restrict_members: bool,
    pub can_promote_members: bool,
    pub can_change_info: bool,
    pub can_invite_users: bool,
    pub can_post_stories: bool,
    pub can_edit_stories: bool,
    pub can_delete_stories: bool,
    pub can_send_welcome_messages: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_post_messages: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_edit_messages: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_pin_messages: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_manage_topics: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_manage_direct_messages: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_manage_tags: Option<bool>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl ChatAdministratorRights {
    /// Every right set explicitly (the optional ones too): true for `rights`.
    pub fn exactly(rights: &Rights) -> ChatAdministratorRights {
        let has = |r: Right| rights.contains(&r);
        ChatAdministratorRights {
            is_anonymous: has(Right::Anonymous),
            can_manage_chat: has(Right::ManageChat),
            can_delete_messages: has(Right::DeleteMessages),
            can_manage_video_chats: has(Right::ManageVideoChats),
            can_restrict_members: has(Right::RestrictMembers),
            can_promote_members: has(Right::PromoteMembers),
            can_change_info: has(Right::ChangeInfo),
            can_invite_users: has(Right::InviteUsers),
            can_post_stories: has(Right::PostStories),
            can_edit_stories: has(Right::EditStories),
            can_delete_stories: has(Right::DeleteStories),
            can_send_welcome_messages: has(Right::SendWelcomeMessages),
            can_post_messages: Some(has(Right::PostMessages)),
            can_edit_messages: Some(has(Right::EditMessages)),
            can_pin_messages: Some(has(Right::PinMessages)),
            can_manage_topics: Some(has(Right::ManageTopics)),
            can_manage_direct_messages: Some(has(Right::ManageDirectMessages)),
            can_manage_tags: Some(has(Right::ManageTags)),
            extra: Extra::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChatMemberOwner {
    pub user: User,
    pub is_anonymous: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_title: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChatMemberAdministrator {
    pub user: User,
    pub can_be_edited: bool,
    pub is_anonymous: bool,
    pub can_manage_chat: bool,
    pub can_delete_messages: bool,
    pub can_manage_video_chats: bool,
    pub can_restrict_members: bool,
    pub can_promote_members: bool,
    pub can_change_info: bool,
    pub can_invite_users: bool,
    pub can_post_stories: bool,
    pub can_edit_stories: bool,
    pub can_delete_stories: bool,
    pub can_send_welcome_messages: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_post_messages: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_edit_messages: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_pin_messages: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_manage_topics: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_manage_direct_messages: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_manage_tags: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_title: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl ChatMemberAdministrator {
    /// Whether the administrator holds one right (absent optional = false).
    pub fn has(&self, right: Right) -> bool {
        let opt = |v: Option<bool>| v == Some(true);
        match right {
            Right::Anonymous => self.is_anonymous,
            Right::ManageChat => self.can_manage_chat,
            Right::DeleteMessages => self.can_delete_messages,
            Right::ManageVideoChats => self.can_manage_video_chats,
            Right::RestrictMembers => self.can_restrict_members,
            Right::PromoteMembers => self.can_promote_members,
            Right::ChangeInfo => self.can_change_info,
            Right::InviteUsers => self.can_invite_users,
            Right::PostStories => self.can_post_stories,
            Right::EditStories => self.can_edit_stories,
            Right::DeleteStories => self.can_delete_stories,
            Right::SendWelcomeMessages => self.can_send_welcome_messages,
            Right::PostMessages => opt(self.can_post_messages),
            Right::EditMessages => opt(self.can_edit_messages),
            Right::PinMessages => opt(self.can_pin_messages),
            Right::ManageTopics => opt(self.can_manage_topics),
            Right::ManageDirectMessages => opt(self.can_manage_direct_messages),
            Right::ManageTags => opt(self.can_manage_tags),
        }
    }

    pub fn rights(&self) -> Rights {
        Right::ALL
            .iter()
            .copied()
            .filter(|r| self.has(*r))
            .collect()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChatMemberMember {
    pub user: User,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_date: Option<i64>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A restricted user: what they may do is the set of true permission fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChatMemberRestricted {
    pub user: User,
    pub is_member: bool,
    /// 0 = forever.
    pub until_date: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    pub can_send_messages: bool,
    pub can_send_audios: bool,
    pub can_send_documents: bool,
    pub can_send_photos: bool,
    pub can_send_videos: bool,
    pub can_send_video_notes: bool,
    pub can_send_voice_notes: bool,
    pub can_send_polls: bool,
    pub can_send_other_messages: bool,
    pub can_add_web_page_previews: bool,
    pub can_react_to_messages: bool,
    pub can_edit_tag: bool,
    pub can_change_info: bool,
    pub can_invite_users: bool,
    pub can_pin_messages: bool,
    pub can_manage_topics: bool,
    #[serde(flatten)]
    pub extra: Extra,
}

impl ChatMemberRestricted {
    pub fn allows(&self, p: Permission) -> bool {
        match p {
            Permission::SendMessages => self.can_send_messages,
            Permission::SendAudios => self.can_send_audios,
            Permission::SendDocuments => self.can_send_documents,
            Permission::SendPhotos => self.can_send_photos,
            Permission::SendVideos => self.can_send_videos,
            Permission::SendVideoNotes => self.can_send_video_notes,
            Permission::SendVoiceNotes => self.can_send_voice_notes,
            Permission::SendPolls => self.can_send_polls,
            Permission::SendOtherMessages => self.can_send_other_messages,
            Permission::AddWebPagePreviews => self.can_add_web_page_previews,
            Permission::ReactToMessages => self.can_react_to_messages,
            Permission::EditTag => self.can_edit_tag,
            Permission::ChangeInfo => self.can_change_info,
            Permission::InviteUsers => self.can_invite_users,
            Permission::PinMessages => self.can_pin_messages,
            Permission::ManageTopics => self.can_manage_topics,
        }
    }

    pub fn permissions(&self) -> Permissions {
        Permission::ALL
            .iter()
            .copied()
            .filter(|p| self.allows(*p))
            .collect()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChatMemberLeft {
    pub user: User,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChatMemberBanned {
    pub user: User,
    /// 0 = forever.
    pub until_date: i64,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A ChatMember by `status`. A status this build does not know is kept as
/// JSON in `Other` instead of failing the whole answer.
#[derive(Clone, Debug, PartialEq)]
pub enum ChatMember {
    Owner(ChatMemberOwner),
    Administrator(ChatMemberAdministrator),
    Member(ChatMemberMember),
    Restricted(ChatMemberRestricted),
    Left(ChatMemberLeft),
    Banned(ChatMemberBanned),
    Other(Value),
}

impl ChatMember {
    pub fn status(&self) -> &str {
        match self {
            ChatMember::Owner(_) => "creator",
            ChatMember::Administrator(_) => "administrator",
            ChatMember::Member(_) => "member",
            ChatMember::Restricted(_) => "restricted",
            ChatMember::Left(_) => "left",
            ChatMember::Banned(_) => "kicked",
            ChatMember::Other(v) => v.get("status").and_then(Value::as_str).unwrap_or("unknown"),
        }
    }

    /// The member tag of a plain or restricted member (`None` = no tag,
    /// and for every other status).
    pub fn tag(&self) -> Option<String> {
        match self {
            ChatMember::Member(m) => m.tag.clone(),
            ChatMember::Restricted(r) => r.tag.clone(),
            _ => None,
        }
        .filter(|t| !t.is_empty())
    }

    /// The user id, if the answer has one.
    /// The person the answer is about, as Telegram showed them; `None`
    /// for a status this build does not know.
    pub fn user(&self) -> Option<&User> {
        Some(match self {
            ChatMember::Owner(m) => &m.user,
            ChatMember::Administrator(m) => &m.user,
            ChatMember::Member(m) => &m.user,
            ChatMember::Restricted(m) => &m.user,
            ChatMember::Left(m) => &m.user,
            ChatMember::Banned(m) => &m.user,
            ChatMember::Other(_) => return None,
        })
    }

    pub fn user_id(&self) -> Option<UserId> {
        Some(match self {
            ChatMember::Owner(m) => m.user.id,
            ChatMember::Administrator(m) => m.user.id,
            ChatMember::Member(m) => m.user.id,
            ChatMember::Restricted(m) => m.user.id,
            ChatMember::Left(m) => m.user.id,
            ChatMember::Banned(m) => m.user.id,
            ChatMember::Other(v) => return v.get("user")?.get("id")?.as_i64(),
        })
    }
}

impl<'de> Deserialize<'de> for ChatMember {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut value = Value::deserialize(deserializer)?;
        let Some(object) = value.as_object_mut() else {
            return Err(D::Error::custom("a ChatMember must be an object"));
        };
        let status = object
            .get("status")
            .and_then(Value::as_str)
            .map(str::to_string);
        let Some(status) = status else {
            return Err(D::Error::custom("a ChatMember needs a status"));
        };
        let known = [
            "creator",
            "administrator",
            "member",
            "restricted",
            "left",
            "kicked",
        ];
        if !known.contains(&status.as_str()) {
            return Ok(ChatMember::Other(value));
        }
        object.remove("status");
        let parsed = match status.as_str() {
            "creator" => serde_json::from_value(value).map(ChatMember::Owner),
            "administrator" => serde_json::from_value(value).map(ChatMember::Administrator),
            "member" => serde_json::from_value(value).map(ChatMember::Member),
            "restricted" => serde_json::from_value(value).map(ChatMember::Restricted),
            "left" => serde_json::from_value(value).map(ChatMember::Left),
            _ => serde_json::from_value(value).map(ChatMember::Banned),
        };
        parsed.map_err(|e| D::Error::custom(format!("ChatMember with status {status}: {e}")))
    }
}

impl Serialize for ChatMember {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error;
        let body = match self {
            ChatMember::Owner(m) => serde_json::to_value(m),
            ChatMember::Administrator(m) => serde_json::to_value(m),
            ChatMember::Member(m) => serde_json::to_value(m),
            ChatMember::Restricted(m) => serde_json::to_value(m),
            ChatMember::Left(m) => serde_json::to_value(m),
            ChatMember::Banned(m) => serde_json::to_value(m),
            ChatMember::Other(v) => return v.serialize(serializer),
        }
        .map_err(S::Error::custom)?;
        let mut object = match body {
            Value::Object(o) => o,
            _ => return Err(S::Error::custom("a ChatMember serialises to an object")),
        };
        object.insert("status".into(), Value::String(self.status().to_string()));
        Value::Object(object).serialize(serializer)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChatInviteLink {
    pub invite_link: String,
    pub creator: User,
    pub creates_join_request: bool,
    pub is_primary: bool,
    pub is_revoked: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expire_date: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_limit: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_join_request_count: Option<i64>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ForumTopic {
    pub message_thread_id: i64,
    pub name: String,
    pub icon_color: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_custom_emoji_id: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BotCommand {
    pub command: String,
    pub description: String,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Which users and chats a command list applies to. orgform writes these,
/// never reads them.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BotCommandScope {
    Default,
    AllPrivateChats,
    AllGroupChats,
    AllChatAdministrators,
    Chat { chat_id: ChatId },
    ChatAdministrators { chat_id: ChatId },
    ChatMember { chat_id: ChatId, user_id: UserId },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ChatMemberUpdated {
    pub chat: Chat,
    pub from: User,
    pub date: i64,
    pub old_chat_member: ChatMember,
    pub new_chat_member: ChatMember,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite_link: Option<ChatInviteLink>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via_join_request: Option<bool>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// An update; orgform reads only membership changes and keeps the rest raw.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Update {
    pub update_id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_member: Option<ChatMemberUpdated>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub my_chat_member: Option<ChatMemberUpdated>,
    #[serde(flatten)]
    pub extra: Extra,
}

// ChatMember is a union in the spec; its schema here is "any of the subtypes".
impl schemars::JsonSchema for ChatMember {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ChatMember".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let subtypes = [
            generator.subschema_for::<ChatMemberOwner>(),
            generator.subschema_for::<ChatMemberAdministrator>(),
            generator.subschema_for::<ChatMemberMember>(),
            generator.subschema_for::<ChatMemberRestricted>(),
            generator.subschema_for::<ChatMemberLeft>(),
            generator.subschema_for::<ChatMemberBanned>(),
        ];
        schemars::json_schema!({ "anyOf": subtypes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::botapi_spec::{BotApiSpec, TypeExpr};
    use serde_json::json;

    /// What our schema says a field is, reduced to the spec's vocabulary.
    #[derive(Debug, PartialEq)]
    enum Kind {
        Integer,
        Float,
        String,
        Boolean,
        Named(String),
        Array(Box<Kind>),
        /// `serde_json::Value`: any JSON; fits every spec type.
        Any,
    }

    fn kind_of(schema: &Value) -> Kind {
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            return Kind::Named(r.rsplit('/').next().unwrap_or_default().to_string());
        }
        if let Some(any) = schema.get("anyOf").and_then(Value::as_array) {
            let non_null: Vec<&Value> = any
                .iter()
                .filter(|s| s.get("type") != Some(&json!("null")))
                .collect();
            if non_null.len() == 1 {
                return kind_of(non_null[0]);
            }
        }
        let ty = match schema.get("type") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Array(list)) => {
                let kinds: Vec<&str> = list
                    .iter()
                    .filter_map(Value::as_str)
                    .filter(|t| *t != "null")
                    .collect();
                if kinds.len() == 1 {
                    kinds[0].to_string()
                } else {
                    return Kind::Any;
                }
            }
            _ => return Kind::Any,
        };
        match ty.as_str() {
            "integer" => Kind::Integer,
            "number" => Kind::Float,
            "string" => Kind::String,
            "boolean" => Kind::Boolean,
            "array" => Kind::Array(Box::new(
                schema.get("items").map(kind_of).unwrap_or(Kind::Any),
            )),
            _ => Kind::Any,
        }
    }

    fn fits(ours: &Kind, spec: &TypeExpr) -> bool {
        match (ours, spec) {
            (Kind::Any, _) => true,
            (Kind::Integer, TypeExpr::Integer) => true,
            (Kind::Float, TypeExpr::Float) => true,
            (Kind::String, TypeExpr::String) => true,
            (Kind::Boolean, TypeExpr::Boolean | TypeExpr::True) => true,
            (Kind::Named(a), TypeExpr::Named(b)) => a == b,
            (Kind::Array(a), TypeExpr::Array(b)) => fits(a, b),
            (_, TypeExpr::AnyOf(options)) => options.iter().any(|o| fits(ours, o)),
            _ => false,
        }
    }

    /// Compare a struct's fields with the spec type of the same name:
    /// every field exists there with a fitting type and the same
    /// required/optional flag, and every required spec field is modelled.
    fn check<T: schemars::JsonSchema>(
        spec: &BotApiSpec,
        spec_name: &str,
        discriminator: Option<&str>,
    ) -> Vec<String> {
        let schema = schemars::schema_for!(T);
        let schema = schema.as_value();
        let props = schema
            .get("properties")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let Some(fields) = spec.type_fields(spec_name) else {
            return vec![format!("{spec_name}: not in the spec")];
        };
        let mut problems = Vec::new();
        for (name, field_schema) in &props {
            let Some(field) = fields.iter().find(|f| f.name == *name) else {
                problems.push(format!("{spec_name}.{name}: the spec has no such field"));
                continue;
            };
            let expected = if field.types.len() == 1 {
                TypeExpr::parse(&field.types[0])
            } else {
                TypeExpr::AnyOf(field.types.iter().map(|t| TypeExpr::parse(t)).collect())
            };
            let ours = kind_of(field_schema);
            if !fits(&ours, &expected) {
                problems.push(format!(
                    "{spec_name}.{name}: ours is {ours:?}, the spec says {expected:?}"
                ));
            }
            let ours_required = required.contains(&name.as_str());
            if ours_required != field.required {
                problems.push(format!(
                    "{spec_name}.{name}: ours is {}, the spec says {}",
                    if ours_required {
                        "required"
                    } else {
                        "optional"
                    },
                    if field.required {
                        "required"
                    } else {
                        "optional"
                    }
                ));
            }
        }
        for field in fields.iter().filter(|f| f.required) {
            if !props.contains_key(&field.name) && Some(field.name.as_str()) != discriminator {
                problems.push(format!(
                    "{spec_name}.{}: required by the spec, missing here",
                    field.name
                ));
            }
        }
        if schema.get("additionalProperties") == Some(&json!(false)) {
            problems.push(format!(
                "{spec_name}: unknown fields would be refused (no `extra`)"
            ));
        }
        problems
    }

    #[test]
    fn every_wire_type_matches_the_spec() {
        let spec = BotApiSpec::reference().expect("the reference spec loads");
        let mut problems = Vec::new();
        problems.extend(check::<ResponseParameters>(
            &spec,
            "ResponseParameters",
            None,
        ));
        problems.extend(check::<User>(&spec, "User", None));
        problems.extend(check::<Chat>(&spec, "Chat", None));
        problems.extend(check::<ChatFullInfo>(&spec, "ChatFullInfo", None));
        problems.extend(check::<ChatPhoto>(&spec, "ChatPhoto", None));
        problems.extend(check::<Message>(&spec, "Message", None));
        problems.extend(check::<ChatPermissions>(&spec, "ChatPermissions", None));
        problems.extend(check::<ChatAdministratorRights>(
            &spec,
            "ChatAdministratorRights",
            None,
        ));
        problems.extend(check::<ChatMemberOwner>(
            &spec,
            "ChatMemberOwner",
            Some("status"),
        ));
        problems.extend(check::<ChatMemberAdministrator>(
            &spec,
            "ChatMemberAdministrator",
            Some("status"),
        ));
        problems.extend(check::<ChatMemberMember>(
            &spec,
            "ChatMemberMember",
            Some("status"),
        ));
        problems.extend(check::<ChatMemberRestricted>(
            &spec,
            "ChatMemberRestricted",
            Some("status"),
        ));
        problems.extend(check::<ChatMemberLeft>(
            &spec,
            "ChatMemberLeft",
            Some("status"),
        ));
        problems.extend(check::<ChatMemberBanned>(
            &spec,
            "ChatMemberBanned",
            Some("status"),
        ));
        problems.extend(check::<ChatInviteLink>(&spec, "ChatInviteLink", None));
        problems.extend(check::<ForumTopic>(&spec, "ForumTopic", None));
        problems.extend(check::<BotCommand>(&spec, "BotCommand", None));
        problems.extend(check::<ChatMemberUpdated>(&spec, "ChatMemberUpdated", None));
        problems.extend(check::<Update>(&spec, "Update", None));
        assert!(
            problems.is_empty(),
            "wire types disagree with api-10.3.json:\n{}",
            problems.join("\n")
        );
    }

    #[test]
    fn the_check_catches_mismatches() {
        #[derive(schemars::JsonSchema)]
        #[allow(dead_code)]
        struct WrongUser {
            id: String,
            first_name: Option<String>,
            is_premium: bool,
            colour: Option<i64>,
            #[serde(flatten)]
            extra: Extra,
        }
        let problems = check::<WrongUser>(
            &BotApiSpec::reference().expect("the reference spec loads"),
            "User",
            None,
        );
        let text = problems.join("\n");
        for expected in [
            "User.id: ours is String",
            "User.first_name: ours is optional",
            "User.is_premium: ours is required",
            "User.colour: the spec has no such field",
            "User.is_bot: required by the spec, missing here",
        ] {
            assert!(text.contains(expected), "{expected} not found in:\n{text}");
        }
    }

    #[test]
    fn what_orgform_sends_validates() {
        let spec = BotApiSpec::reference().expect("the reference spec loads");
        let scopes = [
            BotCommandScope::Default,
            BotCommandScope::AllPrivateChats,
            BotCommandScope::AllGroupChats,
            BotCommandScope::AllChatAdministrators,
            BotCommandScope::Chat { chat_id: -100 },
            BotCommandScope::ChatAdministrators { chat_id: -100 },
            BotCommandScope::ChatMember {
                chat_id: -100,
                user_id: 5,
            },
        ];
        for scope in scopes {
            let v = serde_json::to_value(&scope).unwrap();
            assert!(
                spec.check_type("BotCommandScope", &v).is_ok(),
                "{v}: {:?}",
                spec.check_type("BotCommandScope", &v)
            );
        }
        let rights: Rights = [Right::ManageChat, Right::PinMessages]
            .into_iter()
            .collect();
        let v = serde_json::to_value(ChatAdministratorRights::exactly(&rights)).unwrap();
        spec.check_type("ChatAdministratorRights", &v).unwrap();
        // Every right is a promoteChatMember parameter.
        let params: Vec<&str> = spec
            .method("promoteChatMember")
            .unwrap()
            .fields
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        for key in v.as_object().unwrap().keys() {
            assert!(
                params.contains(&key.as_str()),
                "promoteChatMember has no parameter {key}"
            );
        }
        for r in Right::ALL {
            assert!(
                v.get(r.api_field()).is_some(),
                "{} is not sent",
                r.api_field()
            );
        }
        let perms = ChatPermissions::exactly(&[Permission::SendMessages].into_iter().collect());
        let v = serde_json::to_value(&perms).unwrap();
        spec.check_type("ChatPermissions", &v).unwrap();
        assert_eq!(v.as_object().unwrap().len(), Permission::ALL.len());
        assert_eq!(
            perms.to_set(),
            [Permission::SendMessages].into_iter().collect()
        );
    }

    #[test]
    fn unknown_fields_survive_a_round_trip() {
        let raw = json!({"status": "member", "user": {"id": 1, "is_bot": false, "first_name": "A", "new_thing": 3},
            "tag": "x", "brand_new_field": {"a": 1}});
        let m: ChatMember = serde_json::from_value(raw.clone()).unwrap();
        assert_eq!(m.status(), "member");
        assert_eq!(serde_json::to_value(&m).unwrap(), raw);
        let future =
            json!({"status": "visitor", "user": {"id": 2, "is_bot": false, "first_name": "B"}});
        let m: ChatMember = serde_json::from_value(future.clone()).unwrap();
        assert_eq!(m.user_id(), Some(2));
        assert_eq!(serde_json::to_value(&m).unwrap(), future);
    }
}
