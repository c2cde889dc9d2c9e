//! The Bot API methods the sandbox implements, and the human-only actions
//! `/sandbox/act` adds. Each area has its own file; this one names the
//! methods (case-insensitively, as Telegram matches them) and dispatches.
//!
//! A method runs with the world locked, takes a [`Call`] and returns the
//! `result` value or an [`ApiError`]; it never panics on input. Changes to
//! membership go through [`Call::set_member`] so that every change emits
//! its update.

mod commands;
mod info;
mod invites;
mod members;
mod messages;
mod moderation;
mod settings;
mod topics;
pub(crate) mod webhook;

use serde_json::Value;

use crate::state::{ChatId, UserId};

use super::request::Params;
use super::rules::errors::ApiError;
use super::rules::{self, Accepts, Caller};
use super::updates;
use super::world::{Chat, InviteLink, Member, World};

pub(crate) type Outcome = Result<Value, ApiError>;

/// One call being executed.
pub(crate) struct Call<'a> {
    pub world: &'a mut World,
    pub caller: Caller,
    pub now: i64,
    pub params: &'a Params,
    /// A `description` to send with a success (setWebhook's "Webhook was set").
    pub description: Option<&'static str>,
}

impl Call<'_> {
    /// Resolve `chat_id`, check the caller is in the chat and the type fits.
    pub fn chat(&self, accepts: Accepts) -> Result<ChatId, ApiError> {
        let chat = self.params.chat_id()?;
        rules::chat_for(self.world, self.caller, &chat, accepts, self.now)
    }

    /// [`Call::chat`] for a method that needs less than write access.
    pub fn chat_access(&self, accepts: Accepts, access: rules::Access) -> Result<ChatId, ApiError> {
        let chat = self.params.chat_id()?;
        rules::chat_with_access(self.world, self.caller, &chat, accepts, access, self.now)
    }

    pub fn chat_ref(&self, id: ChatId) -> &Chat {
        &self.world.chats[&id]
    }

    pub fn chat_mut(&mut self, id: ChatId) -> &mut Chat {
        self.world
            .chats
            .get_mut(&id)
            .expect("chat ids come from chat()")
    }

    /// Change a user's status and emit the update that goes with it.
    pub fn set_member(
        &mut self,
        chat: ChatId,
        user: UserId,
        new: Member,
        link: Option<&InviteLink>,
        via_request: bool,
    ) {
        let old = self.world.chats[&chat].status(user, self.now);
        self.chat_mut(chat).set_status(user, new.clone());
        let change = updates::MemberChange {
            chat_id: chat,
            user,
            actor: self.caller.id,
            old: &old,
            new: &new,
            link,
            via_join_request: via_request,
        };
        updates::member_changed(self.world, change, self.now);
    }
}

/// Bot API methods, by their canonical names.
pub const BOT_API_METHODS: &[&str] = &[
    "getMe",
    "getChat",
    "getChatAdministrators",
    "getChatMember",
    "getChatMemberCount",
    "leaveChat",
    "setChatTitle",
    "setChatDescription",
    "setChatPhoto",
    "deleteChatPhoto",
    "setChatPermissions",
    "promoteChatMember",
    "setChatAdministratorCustomTitle",
    "setChatMemberTag",
    "restrictChatMember",
    "banChatMember",
    "unbanChatMember",
    "createChatInviteLink",
    "editChatInviteLink",
    "revokeChatInviteLink",
    "exportChatInviteLink",
    "approveChatJoinRequest",
    "declineChatJoinRequest",
    "createForumTopic",
    "editForumTopic",
    "closeForumTopic",
    "reopenForumTopic",
    "deleteForumTopic",
    "editGeneralForumTopic",
    "closeGeneralForumTopic",
    "reopenGeneralForumTopic",
    "hideGeneralForumTopic",
    "unhideGeneralForumTopic",
    "sendMessage",
    "editMessageText",
    "pinChatMessage",
    "unpinChatMessage",
    "unpinAllChatMessages",
    "setMyCommands",
    "getMyCommands",
    "deleteMyCommands",
    "getUpdates",
    "setWebhook",
    "deleteWebhook",
    "getWebhookInfo",
    "deleteMessage",
    "deleteMessages",
    "banChatSenderChat",
    "unbanChatSenderChat",
    "unpinAllForumTopicMessages",
    "unpinAllGeneralForumTopicMessages",
    "setMyDefaultAdministratorRights",
    "getMyDefaultAdministratorRights",
    "answerChatJoinRequestQuery",
    "createChatSubscriptionInviteLink",
    "editChatSubscriptionInviteLink",
    "verifyChat",
    "removeChatVerification",
];

/// What only a person can do (MTProto), available through `/sandbox/act`.
pub const HUMAN_ONLY_METHODS: &[&str] = &[
    "addChatMember",
    "joinChat",
    "setChatSlowModeDelay",
    "setChatProtectedContent",
    "setChatMessageAutoDeleteTime",
    "setChatJoinByRequest",
    "setChatIsForum",
    "upgradeToSupergroup",
    "startBot",
    "joinChatlist",
];

/// The canonical name of a method, matched case-insensitively.
pub fn canonical(name: &str, human: bool) -> Option<&'static str> {
    let extra: &[&str] = if human { HUMAN_ONLY_METHODS } else { &[] };
    BOT_API_METHODS
        .iter()
        .chain(extra)
        .copied()
        .find(|m| m.eq_ignore_ascii_case(name))
}

/// Run a method (not getUpdates, which waits and is run by the server).
pub(crate) fn run(method: &str, call: &mut Call) -> Outcome {
    match method {
        "getMe" => info::get_me(call),
        "getChat" => info::get_chat(call),
        "getChatAdministrators" => info::get_chat_administrators(call),
        "getChatMember" => info::get_chat_member(call),
        "getChatMemberCount" => info::get_chat_member_count(call),
        "leaveChat" => info::leave_chat(call),
        "setChatTitle" => settings::set_chat_title(call),
        "setChatDescription" => settings::set_chat_description(call),
        "setChatPhoto" => settings::set_chat_photo(call),
        "deleteChatPhoto" => settings::delete_chat_photo(call),
        "setChatPermissions" => settings::set_chat_permissions(call),
        "setChatSlowModeDelay" => settings::set_slow_mode(call),
        "setChatProtectedContent" => settings::set_protected_content(call),
        "setChatMessageAutoDeleteTime" => settings::set_auto_delete(call),
        "setChatJoinByRequest" => settings::set_join_by_request(call),
        "setChatIsForum" => settings::set_is_forum(call),
        "upgradeToSupergroup" => settings::upgrade_to_supergroup(call),
        "promoteChatMember" => members::promote(call),
        "setChatAdministratorCustomTitle" => members::set_custom_title(call),
        "setChatMemberTag" => members::set_tag(call),
        "restrictChatMember" => members::restrict(call),
        "banChatMember" => members::ban(call),
        "unbanChatMember" => members::unban(call),
        "addChatMember" => members::add_member(call),
        "joinChat" => invites::join_chat(call),
        "joinChatlist" => super::mtproto::folders::join_chatlist(call),
        "startBot" => messages::start_bot(call),
        "createChatInviteLink" => invites::create(call),
        "editChatInviteLink" => invites::edit(call),
        "revokeChatInviteLink" => invites::revoke(call),
        "exportChatInviteLink" => invites::export(call),
        "approveChatJoinRequest" => invites::approve(call),
        "declineChatJoinRequest" => invites::decline(call),
        "createForumTopic" => topics::create(call),
        "editForumTopic" => topics::edit(call),
        "closeForumTopic" => topics::set_closed(call, true),
        "reopenForumTopic" => topics::set_closed(call, false),
        "deleteForumTopic" => topics::delete(call),
        "editGeneralForumTopic" => topics::edit_general(call),
        "closeGeneralForumTopic" => topics::general_flag(call, |g| &mut g.closed, true),
        "reopenGeneralForumTopic" => topics::reopen_general(call),
        "hideGeneralForumTopic" => topics::hide_general(call),
        "unhideGeneralForumTopic" => topics::general_flag(call, |g| &mut g.hidden, false),
        "sendMessage" => messages::send_message(call),
        "editMessageText" => messages::edit_text(call),
        "pinChatMessage" => messages::pin(call),
        "unpinChatMessage" => messages::unpin(call),
        "unpinAllChatMessages" => messages::unpin_all(call),
        "setMyCommands" => commands::set(call),
        "getMyCommands" => commands::get(call),
        "deleteMyCommands" => commands::delete(call),
        "setWebhook" => webhook::set_webhook(call),
        "deleteWebhook" => webhook::delete_webhook(call),
        "getWebhookInfo" => webhook::get_webhook_info(call),
        "getUpdates" => webhook::get_updates_now(call),
        "deleteMessage" => moderation::delete_message(call),
        "deleteMessages" => moderation::delete_messages(call),
        "banChatSenderChat" => moderation::ban_sender_chat(call),
        "unbanChatSenderChat" => moderation::unban_sender_chat(call),
        "unpinAllForumTopicMessages" => moderation::unpin_all_topic(call),
        "unpinAllGeneralForumTopicMessages" => moderation::unpin_all_general(call),
        "setMyDefaultAdministratorRights" => moderation::set_default_rights(call),
        "getMyDefaultAdministratorRights" => moderation::get_default_rights(call),
        "answerChatJoinRequestQuery" => moderation::answer_join_request_query(call),
        "createChatSubscriptionInviteLink" => invites::create_subscription(call),
        "editChatSubscriptionInviteLink" => invites::edit_subscription(call),
        "verifyChat" => moderation::verify_chat(call),
        "removeChatVerification" => moderation::remove_chat_verification(call),
        _ => Err(super::rules::errors::not_found()),
    }
}

pub(crate) fn ok() -> Outcome {
    Ok(Value::Bool(true))
}
