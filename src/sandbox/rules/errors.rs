//! Every error the sandbox answers with, as Telegram words it.
//!
//! The exact texts are the product here: clients (orgform's own provider
//! included) classify failures by code and prefix and then by text, so each
//! string is written once, in this file, and the rule tests compare against
//! the same literals. Where the reference (`reference/telegram-bot-api.md`)
//! names a string it is used verbatim; the few it does not name follow the
//! real server's conventions (Telegram's ALL_CAPS error names pass through,
//! other texts are lowercased after the prefix).

use serde_json::{Value, json};

use crate::state::{ChatId, ChatType};

/// A failed call: the HTTP status equals `code`.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    pub code: u16,
    pub description: String,
    pub retry_after: Option<u64>,
    pub migrate_to_chat_id: Option<ChatId>,
}

impl ApiError {
    fn new(code: u16, description: impl Into<String>) -> ApiError {
        ApiError {
            code,
            description: description.into(),
            retry_after: None,
            migrate_to_chat_id: None,
        }
    }

    /// `Bad Request: {message}`.
    pub fn bad_request(message: impl AsRef<str>) -> ApiError {
        ApiError::new(400, format!("Bad Request: {}", message.as_ref()))
    }

    pub fn forbidden(message: impl AsRef<str>) -> ApiError {
        ApiError::new(403, format!("Forbidden: {}", message.as_ref()))
    }

    /// The JSON body: `{"ok":false,"error_code":…,"description":…,"parameters"?:…}`.
    pub fn body(&self) -> Value {
        let mut body =
            json!({"ok": false, "error_code": self.code, "description": self.description});
        if let Some(s) = self.retry_after {
            body["parameters"] = json!({"retry_after": s});
        } else if let Some(id) = self.migrate_to_chat_id {
            body["parameters"] = json!({"migrate_to_chat_id": id});
        }
        body
    }
}

// --- transport level ---

pub fn unauthorized() -> ApiError {
    ApiError::new(401, "Unauthorized")
}

pub fn not_found() -> ApiError {
    ApiError::new(404, "Not Found")
}

/// Client::on_cmd: a method the server does not know.
pub fn method_not_found() -> ApiError {
    ApiError::new(404, "Not Found: method not found")
}

/// ClientManager::send: a token that cannot be a bot token.
pub fn invalid_token() -> ApiError {
    ApiError::new(401, "Unauthorized: invalid token specified")
}

/// td HttpReader: a Content-Encoding other than gzip or deflate.
pub fn unsupported_encoding() -> ApiError {
    ApiError::new(415, "Unsupported Media Type: unsupported content-encoding")
}

pub fn too_many_requests(retry_after: u64) -> ApiError {
    let mut e = ApiError::new(429, format!("Too Many Requests: retry after {retry_after}"));
    e.retry_after = Some(retry_after);
    e
}

pub fn internal_server_error() -> ApiError {
    ApiError::new(500, "Internal Server Error")
}

pub fn request_too_large() -> ApiError {
    ApiError::new(413, "Request Entity Too Large")
}

pub fn conflict_webhook_active() -> ApiError {
    ApiError::new(
        409,
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
    )
}

/// Client::abort_long_poll: a newer getUpdates ends a waiting one.
pub fn conflict_other_get_updates() -> ApiError {
    ApiError::new(
        409,
        "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
    )
}

/// Client::abort_long_poll from setWebhook.
pub fn conflict_set_webhook() -> ApiError {
    ApiError::new(409, "Conflict: terminated by setWebhook request")
}

// --- parameters ---

pub fn cant_parse_body() -> ApiError {
    ApiError::bad_request("can't parse JSON object")
}

pub fn cant_parse_object(field: &str) -> ApiError {
    ApiError::bad_request(format!("can't parse {field} JSON object"))
}

pub fn chat_id_empty() -> ApiError {
    ApiError::bad_request("chat_id is empty")
}

pub fn invalid_id(field: &str) -> ApiError {
    ApiError::bad_request(format!("invalid {field} specified"))
}

pub fn parameter_required(field: &str) -> ApiError {
    ApiError::bad_request(format!("parameter \"{field}\" is required"))
}

pub fn message_text_empty() -> ApiError {
    ApiError::bad_request("message text is empty")
}

pub fn message_too_long() -> ApiError {
    ApiError::bad_request("message is too long")
}

// --- lookups ---

pub fn chat_not_found() -> ApiError {
    ApiError::bad_request("chat not found")
}

pub fn user_not_found() -> ApiError {
    ApiError::bad_request("user not found")
}

pub fn user_not_participant() -> ApiError {
    ApiError::bad_request("USER_NOT_PARTICIPANT")
}

pub fn group_upgraded(to: ChatId) -> ApiError {
    let mut e = ApiError::bad_request("group chat was upgraded to a supergroup chat");
    e.migrate_to_chat_id = Some(to);
    e
}

// --- membership of the caller ---

pub fn bot_not_member(kind: ChatType) -> ApiError {
    ApiError::forbidden(format!("bot is not a member of the {kind} chat"))
}

pub fn bot_kicked(kind: ChatType) -> ApiError {
    ApiError::forbidden(format!("bot was kicked from the {kind} chat"))
}

/// A human acting through `/sandbox/act` on a chat they are not in.
pub fn channel_private() -> ApiError {
    ApiError::bad_request("CHANNEL_PRIVATE")
}

pub fn user_deactivated() -> ApiError {
    ApiError::forbidden("user is deactivated")
}

pub fn cant_initiate_conversation() -> ApiError {
    ApiError::forbidden("bot can't initiate conversation with a user")
}

// --- chat types ---

pub fn only_supergroup_and_channel() -> ApiError {
    ApiError::bad_request("method is available for supergroup and channel chats only")
}

pub fn only_supergroups() -> ApiError {
    ApiError::bad_request("method is available only for supergroups")
}

pub fn only_groups_and_supergroups() -> ApiError {
    ApiError::bad_request("method is available only for groups and supergroups")
}

pub fn not_a_forum() -> ApiError {
    ApiError::bad_request("the chat is not a forum")
}

// --- rights ---

/// The caller is not an administrator at all.
pub fn not_enough_rights() -> ApiError {
    ApiError::bad_request("not enough rights")
}

/// The caller is not an administrator of a channel.
pub fn need_channel_admin() -> ApiError {
    ApiError::bad_request("need administrator rights in the channel chat")
}

/// The caller is an administrator but lacks the right the call needs, or
/// may not edit the target administrator.
pub fn chat_admin_required() -> ApiError {
    ApiError::bad_request("CHAT_ADMIN_REQUIRED")
}

pub fn right_forbidden() -> ApiError {
    ApiError::bad_request("RIGHT_FORBIDDEN")
}

pub fn admins_too_much() -> ApiError {
    ApiError::bad_request("ADMINS_TOO_MUCH")
}

pub fn cant_promote_self() -> ApiError {
    ApiError::bad_request("can't promote self")
}

pub fn bots_cant_add_members() -> ApiError {
    ApiError::bad_request("bots can't add new chat members")
}

pub fn cant_remove_owner() -> ApiError {
    ApiError::bad_request("can't remove chat owner")
}

pub fn user_is_admin() -> ApiError {
    ApiError::bad_request("user is an administrator of the chat")
}

pub fn user_not_admin() -> ApiError {
    ApiError::bad_request("user is not an administrator")
}

pub fn only_owner_edits_own_title() -> ApiError {
    ApiError::bad_request("only the owner can edit their custom title")
}

pub fn cant_change_custom_title() -> ApiError {
    ApiError::bad_request("not enough rights to change custom title of the user")
}

pub fn custom_title_invalid() -> ApiError {
    ApiError::bad_request("CUSTOM_TITLE_INVALID")
}

pub fn tag_invalid() -> ApiError {
    ApiError::bad_request("TAG_INVALID")
}

pub fn user_privacy_restricted() -> ApiError {
    ApiError::bad_request("USER_PRIVACY_RESTRICTED")
}

// --- settings ---

pub fn description_not_modified() -> ApiError {
    ApiError::bad_request("chat description is not modified")
}

pub fn chat_not_modified() -> ApiError {
    ApiError::bad_request("CHAT_NOT_MODIFIED")
}

pub fn no_photo_in_request() -> ApiError {
    ApiError::bad_request("there is no photo in the request")
}

pub fn photo_invalid() -> ApiError {
    ApiError::bad_request("PHOTO_INVALID")
}

/// Client::process_set_chat_photo_query.
pub fn photo_must_be_uploaded() -> ApiError {
    ApiError::bad_request("photo must be uploaded as an InputFile")
}

pub fn slow_mode_invalid() -> ApiError {
    ApiError::bad_request("SECONDS_INVALID")
}

pub fn ttl_period_invalid() -> ApiError {
    ApiError::bad_request("TTL_PERIOD_INVALID")
}

// --- invite links and joining ---

pub fn usage_limit_invalid() -> ApiError {
    ApiError::bad_request("USAGE_LIMIT_INVALID")
}

pub fn expire_date_invalid() -> ApiError {
    ApiError::bad_request("EXPIRE_DATE_INVALID")
}

pub fn invite_link_not_found() -> ApiError {
    ApiError::bad_request("INVITE_HASH_INVALID")
}

pub fn invite_hash_expired() -> ApiError {
    ApiError::bad_request("INVITE_HASH_EXPIRED")
}

pub fn join_request_missing() -> ApiError {
    ApiError::bad_request("HIDE_REQUESTER_MISSING")
}

pub fn user_already_participant() -> ApiError {
    ApiError::bad_request("USER_ALREADY_PARTICIPANT")
}

pub fn users_too_much() -> ApiError {
    ApiError::bad_request("USERS_TOO_MUCH")
}

pub fn invite_request_sent() -> ApiError {
    ApiError::bad_request("INVITE_REQUEST_SENT")
}

pub fn user_banned_in_channel() -> ApiError {
    ApiError::bad_request("USER_BANNED_IN_CHANNEL")
}

pub fn user_creator() -> ApiError {
    ApiError::bad_request("USER_CREATOR")
}

// --- topics ---

pub fn topic_not_modified() -> ApiError {
    ApiError::bad_request("TOPIC_NOT_MODIFIED")
}

pub fn topic_id_invalid() -> ApiError {
    ApiError::bad_request("TOPIC_ID_INVALID")
}

pub fn topic_closed() -> ApiError {
    ApiError::bad_request("TOPIC_CLOSED")
}

pub fn message_thread_not_found() -> ApiError {
    ApiError::bad_request("message thread not found")
}

// --- messages and pins ---

pub fn message_to_pin_not_found() -> ApiError {
    ApiError::bad_request("message to pin not found")
}

pub fn message_to_unpin_not_found() -> ApiError {
    ApiError::bad_request("message to unpin not found")
}

pub fn message_to_edit_not_found() -> ApiError {
    ApiError::bad_request("message to edit not found")
}

pub fn message_cant_be_edited() -> ApiError {
    ApiError::bad_request("message can't be edited")
}

pub fn message_not_modified() -> ApiError {
    ApiError::bad_request(
        "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
    )
}

pub fn not_enough_rights_to_send() -> ApiError {
    ApiError::bad_request("not enough rights to send text messages to the chat")
}

// --- commands ---

pub fn commands_too_much() -> ApiError {
    ApiError::bad_request("BOT_COMMANDS_TOO_MUCH")
}

pub fn command_invalid() -> ApiError {
    ApiError::bad_request("BOT_COMMAND_INVALID")
}

// --- webhooks ---

pub fn bad_webhook_url() -> ApiError {
    ApiError::bad_request("bad webhook: An HTTPS URL must be provided for webhook")
}

/// Client::do_set_webhook.
pub fn secret_token_invalid() -> ApiError {
    ApiError::bad_request("secret token contains unallowed characters")
}

pub fn secret_token_too_long() -> ApiError {
    ApiError::bad_request("secret token is too long")
}

// --- texts TDLib words itself (a "Not enough rights…" error from a manager,
// lowercased by Client::fail_query_with_error) ---

/// DialogManager::set_dialog_title.
pub fn rights_change_title() -> ApiError {
    ApiError::bad_request("not enough rights to change chat title")
}

/// ChatManager::set_chat_description / set_channel_description.
pub fn rights_set_description() -> ApiError {
    ApiError::bad_request("not enough rights to set chat description")
}

/// DialogManager::set_dialog_photo.
pub fn rights_change_photo() -> ApiError {
    ApiError::bad_request("not enough rights to change chat photo")
}

/// DialogManager::set_dialog_permissions.
pub fn rights_change_permissions() -> ApiError {
    ApiError::bad_request("not enough rights to change chat permissions")
}

/// DialogManager::set_dialog_permissions on a channel.
pub fn cant_change_channel_permissions() -> ApiError {
    ApiError::bad_request("can't change channel chat permissions")
}

/// DialogManager::can_pin_messages.
pub fn rights_pin() -> ApiError {
    ApiError::bad_request("not enough rights to manage pinned messages in the chat")
}

/// DialogParticipantManager::restrict_channel_participant.
pub fn rights_restrict() -> ApiError {
    ApiError::bad_request("not enough rights to restrict/unrestrict chat member")
}

/// ForumTopicManager::create_forum_topic.
pub fn rights_create_topic() -> ApiError {
    ApiError::bad_request("not enough rights to create a topic")
}

/// ForumTopicManager::edit_forum_topic.
pub fn rights_edit_topic() -> ApiError {
    ApiError::bad_request("not enough rights to edit the topic")
}

/// ForumTopicManager::toggle_forum_topic_is_closed.
pub fn rights_close_topic() -> ApiError {
    ApiError::bad_request("not enough rights to close or open the topic")
}

/// ForumTopicManager::delete_forum_topic.
pub fn rights_delete_topic() -> ApiError {
    ApiError::bad_request("not enough rights to delete the topic")
}

/// DialogInviteLinkManager::can_manage_dialog_invite_links.
pub fn rights_invite_links() -> ApiError {
    ApiError::bad_request("not enough rights to manage chat invite link")
}

/// DialogParticipantManager (join requests).
pub fn rights_join_requests() -> ApiError {
    ApiError::bad_request("not enough rights to manage chat join requests")
}

/// DialogManager::set_dialog_title: the cleaned title is empty.
pub fn title_must_be_non_empty() -> ApiError {
    ApiError::bad_request("title must be non-empty")
}

/// ForumTopicManager::create_forum_topic / edit_forum_topic.
pub fn topic_name_empty() -> ApiError {
    ApiError::bad_request("name must be non-empty")
}

/// ForumTopicManager::create_forum_topic: a colour outside 0..0xFFFFFF.
pub fn invalid_icon_color() -> ApiError {
    ApiError::bad_request("invalid icon color specified")
}

/// ForumTopicManager::can_be_forum_topic_id.
pub fn invalid_topic_id() -> ApiError {
    ApiError::bad_request("invalid forum topic identifier specified")
}

/// DialogInviteLinkManager::export_dialog_invite_link / edit.
pub fn member_limit_with_approval() -> ApiError {
    ApiError::bad_request(
        "member limit can't be specified for links requiring administrator approval",
    )
}

/// DialogInviteLinkManager: an empty `invite_link`.
pub fn invite_link_empty() -> ApiError {
    ApiError::bad_request("invite link must be non-empty")
}

/// BotCommand.cpp set_commands.
pub fn command_empty() -> ApiError {
    ApiError::bad_request("command must be non-empty")
}

pub fn command_too_long() -> ApiError {
    ApiError::bad_request("command length must not exceed 32")
}

pub fn command_description_empty() -> ApiError {
    ApiError::bad_request("command description must be non-empty")
}

pub fn command_description_too_long() -> ApiError {
    ApiError::bad_request("command description length must not exceed 256")
}

/// BotCommandScope::get_bot_command_scope on a channel.
pub fn commands_in_channel() -> ApiError {
    ApiError::bad_request("can't change commands in channel chats")
}

/// Client::get_bot_command_scope: an unknown scope type.
pub fn scope_unsupported() -> ApiError {
    ApiError::bad_request("can't parse BotCommandScope: Unsupported type specified")
}

/// Client::get_bot_command_scope: chat_member without a positive user_id.
pub fn scope_user_id_invalid() -> ApiError {
    ApiError::bad_request("can't parse BotCommandScope: Invalid user_id specified")
}

/// DeleteMessages: Client::process_delete_message_query.
pub fn message_cant_be_deleted() -> ApiError {
    ApiError::bad_request("message can't be deleted")
}

pub fn message_to_delete_not_found() -> ApiError {
    ApiError::bad_request("message to delete not found")
}

/// Client::get_bot_command_scope: a chat scope with an empty chat_id.
pub fn scope_chat_id_empty() -> ApiError {
    ApiError::bad_request("can't parse BotCommandScope: Empty chat_id specified")
}

/// Client::get_bot_command: an entry without `command` or `description`.
pub fn command_field_missing(field: &str) -> ApiError {
    ApiError::bad_request(format!(
        "can't parse BotCommand: Can't find field \"{field}\""
    ))
}

/// Client::get_bot_commands: `commands` is not an array.
pub fn commands_not_array() -> ApiError {
    ApiError::bad_request("expected an Array of BotCommand")
}

/// Client::get_chat_permissions: a field of `permissions` that is not a boolean.
pub fn permission_not_boolean(field: &str) -> ApiError {
    ApiError::bad_request(format!(
        "can't parse chat permissions: Field \"{field}\" must be of type Boolean"
    ))
}

/// Client::get_chat_permissions: `permissions` is JSON but not an object.
pub fn permissions_not_object() -> ApiError {
    ApiError::bad_request("object expected as permissions")
}

/// RANK_EMOJI_NOT_ALLOWED as setChatAdministratorCustomTitle words it
/// (Client::fail_query_with_error).
pub fn custom_title_emoji() -> ApiError {
    ApiError::bad_request("CUSTOM_TITLE_EMOJI_NOT_ALLOWED")
}

/// RANK_EMOJI_NOT_ALLOWED as setChatMemberTag words it.
pub fn tag_emoji() -> ApiError {
    ApiError::bad_request("TAG_EMOJI_NOT_ALLOWED")
}

/// MTProto's CHAT_INVITE_PERMANENT: a primary link cannot be edited
/// (best guess for the Bot API's wording: passed through).
pub fn invite_permanent() -> ApiError {
    ApiError::bad_request("CHAT_INVITE_PERMANENT")
}

/// BotCommandScope::get_bot_command_scope: a scope other than `chat` for a
/// private chat.
pub fn scope_in_private_chat() -> ApiError {
    ApiError::bad_request("can't use specified scope in private chats")
}
