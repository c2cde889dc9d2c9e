//! Conformance of the sandbox with the real Bot API server, method by
//! method: each case is a request and the answer the real server gives
//! (HTTP status, `error_code`, exact `description`, or the result and its
//! effect), with the place in the sources it comes from:
//! tdlib/telegram-bot-api `telegram-bot-api/Client.cpp` (written `Client::…`)
//! and tdlib/td `td/telegram/*.cpp` (the manager's name). Cases the sources
//! cannot settle are marked "best guess" in `docs/sandbox.md`.
//!
//! Every sandbox here runs with the Bot API 10.3 spec check on (see
//! `common::start`), so every successful answer is also validated against
//! `reference/botapi/api-10.3.json`.

use std::io::Write;

use crate::common::*;
use orgform::sandbox::world::{Chat, Member, World};
use orgform::state::{ChatType, Right};
use serde_json::{Value, json};

/// The answer must be this error, with the HTTP status equal to `error_code`.
async fn refused(api: &Api, method: &str, params: Value, status: u16, description: &str) {
    let (got, body) = api.call(method, params.clone()).await;
    assert_eq!(got, status, "{method} {params}: {body}");
    assert_eq!(body["ok"], json!(false), "{method} {params}: {body}");
    assert_eq!(body["error_code"], json!(status), "{method}: {body}");
    assert_eq!(body["description"], json!(description), "{method} {params}");
}

async fn member(api: &Api, chat: i64, user: i64) -> Value {
    api.ok("getChatMember", json!({"chat_id": chat, "user_id": user}))
        .await
}

/// A public supergroup the bot never joined.
const PUBLIC_SG: i64 = -1_001_000_000_042;

fn world() -> World {
    let mut w = fixture_world();
    let mut public = Chat::new(PUBLIC_SG, ChatType::Supergroup, "Open house");
    public.username = Some("openhouse".into());
    public.set_status(
        OWNER,
        Member::Creator {
            is_anonymous: false,
            custom_title: None,
        },
    );
    w.add_chat(public);
    w
}

/// The fixture with the bot's `can_manage_topics` and
/// `can_delete_messages` taken away in SG.
fn world_without_topic_right() -> World {
    let mut w = world();
    let sg = w.chats.get_mut(&SG).unwrap();
    if let Some(Member::Administrator { rights, .. }) = sg.members.get_mut(&BOT) {
        rights.remove(&Right::ManageTopics);
        rights.remove(&Right::DeleteMessages);
    }
    w
}

// --- unbanChatMember: Client::process_unban_chat_member_query ---

#[tokio::test]
async fn unban_only_if_banned_is_true_for_anyone_not_banned() {
    let sandbox = start(world()).await;
    let api = Api::new(&sandbox);
    // only_if_banned: getChatMember first; not banned → answer true, no call.
    for user in [OWNER, BOT_ADMIN, HUMAN_ADMIN, MEMBER, OUTSIDER, RESTRICTED] {
        let before = member(&api, SG, user).await["status"].clone();
        let result = api
            .ok(
                "unbanChatMember",
                json!({"chat_id": SG, "user_id": user, "only_if_banned": true}),
            )
            .await;
        assert_eq!(result, json!(true));
        assert_eq!(member(&api, SG, user).await["status"], before, "{user}");
    }
    // A banned user becomes `left`.
    api.ok(
        "unbanChatMember",
        json!({"chat_id": SG, "user_id": BANNED, "only_if_banned": true}),
    )
    .await;
    assert_eq!(member(&api, SG, BANNED).await["status"], "left");
}

#[tokio::test]
async fn unban_without_only_if_banned() {
    let sandbox = start(world()).await;
    let api = Api::new(&sandbox);
    // DialogParticipantManager::set_channel_participant_status_impl: the owner.
    refused(
        &api,
        "unbanChatMember",
        json!({"chat_id": SG, "user_id": OWNER}),
        400,
        "Bad Request: can't remove chat owner",
    )
    .await;
    // …an unchanged status (left → left) is done without any right.
    let r = api
        .ok(
            "unbanChatMember",
            json!({"chat_id": WEAK_SG, "user_id": OUTSIDER}),
        )
        .await;
    assert_eq!(r, json!(true));
    // restrict_channel_participant: the right.
    refused(
        &api,
        "unbanChatMember",
        json!({"chat_id": WEAK_SG, "user_id": MEMBER}),
        400,
        "Bad Request: not enough rights to restrict/unrestrict chat member",
    )
    .await;
    // The server refuses an admin (USER_ADMIN_INVALID, reworded by
    // Client::fail_query_with_error).
    refused(
        &api,
        "unbanChatMember",
        json!({"chat_id": SG, "user_id": BOT_ADMIN}),
        400,
        "Bad Request: user is an administrator of the chat",
    )
    .await;
    // A present member is removed.
    api.ok("unbanChatMember", json!({"chat_id": SG, "user_id": MEMBER}))
        .await;
    assert_eq!(member(&api, SG, MEMBER).await["status"], "left");
}

// --- the bot itself: DialogParticipantManager::restrict_channel_participant
// and promote_channel_participant for the current user ---

#[tokio::test]
async fn the_bot_on_itself() {
    let sandbox = start(world()).await;
    let api = Api::new(&sandbox);
    for (method, params) in [
        ("banChatMember", json!({"chat_id": SG, "user_id": BOT})),
        (
            "restrictChatMember",
            json!({"chat_id": SG, "user_id": BOT, "permissions": {}}),
        ),
    ] {
        refused(
            &api,
            method,
            params,
            400,
            "Bad Request: can't restrict self",
        )
        .await;
    }
    refused(
        &api,
        "promoteChatMember",
        json!({"chat_id": SG, "user_id": BOT, "can_pin_messages": true}),
        400,
        "Bad Request: can't promote self",
    )
    .await;
    // Demoting oneself is allowed, with no right needed.
    api.ok(
        "promoteChatMember",
        json!({"chat_id": WEAK_SG, "user_id": BOT}),
    )
    .await;
    assert_eq!(member(&api, WEAK_SG, BOT).await["status"], "member");
}

// --- restrictChatMember: Client::process_restrict_chat_member_query,
// Client::get_chat_permissions ---

#[tokio::test]
async fn restrict_reads_permissions_like_the_server() {
    let sandbox = start(world()).await;
    let api = Api::new(&sandbox);
    // Without `permissions` every permission is false: the member is muted.
    api.ok(
        "restrictChatMember",
        json!({"chat_id": SG, "user_id": MEMBER}),
    )
    .await;
    let m = member(&api, SG, MEMBER).await;
    assert_eq!(m["status"], "restricted");
    assert_eq!(m["can_send_messages"], false);
    assert_eq!(m["can_react_to_messages"], false);
    // Omitted: can_react_to_messages follows can_send_messages, can_edit_tag
    // and can_manage_topics follow can_pin_messages.
    api.ok(
        "restrictChatMember",
        json!({"chat_id": SG, "user_id": MEMBER, "use_independent_chat_permissions": true,
            "permissions": {"can_send_messages": true, "can_pin_messages": true}}),
    )
    .await;
    let m = member(&api, SG, MEMBER).await;
    assert_eq!(m["can_send_messages"], true);
    assert_eq!(m["can_react_to_messages"], true);
    assert_eq!(m["can_edit_tag"], true);
    assert_eq!(m["can_manage_topics"], true);
    assert_eq!(m["can_send_photos"], false);
    // The legacy can_send_media_messages stands for the six media fields,
    // and (without independence) implies text.
    api.ok(
        "restrictChatMember",
        json!({"chat_id": SG, "user_id": MEMBER, "permissions": {"can_send_media_messages": true}}),
    )
    .await;
    let m = member(&api, SG, MEMBER).await;
    assert_eq!(m["can_send_photos"], true);
    assert_eq!(m["can_send_voice_notes"], true);
    assert_eq!(m["can_send_messages"], true);
    // The legacy top-level arguments still work.
    api.ok(
        "restrictChatMember",
        json!({"chat_id": SG, "user_id": MEMBER, "can_send_messages": true}),
    )
    .await;
    let m = member(&api, SG, MEMBER).await;
    assert_eq!(m["can_send_messages"], true);
    assert_eq!(m["can_send_photos"], false);
}

#[tokio::test]
async fn restrict_refusals() {
    let sandbox = start(world()).await;
    let api = Api::new(&sandbox);
    // get_user_id runs before the chat is looked up.
    refused(
        &api,
        "restrictChatMember",
        json!({"chat_id": -42}),
        400,
        "Bad Request: invalid user_id specified",
    )
    .await;
    // Inside `permissions` only JSON booleans count.
    refused(
        &api,
        "restrictChatMember",
        json!({"chat_id": SG, "user_id": MEMBER, "permissions": {"can_send_messages": "yes"}}),
        400,
        "Bad Request: can't parse chat permissions: Field \"can_send_messages\" must be of type Boolean",
    )
    .await;
    refused(
        &api,
        "restrictChatMember",
        json!({"chat_id": SG, "user_id": MEMBER, "permissions": "[1]"}),
        400,
        "Bad Request: object expected as permissions",
    )
    .await;
    // restrict_channel_participant: admin without the right, and a bot that
    // is a plain member.
    for chat in [WEAK_SG, MEMBER_SG] {
        refused(
            &api,
            "restrictChatMember",
            json!({"chat_id": chat, "user_id": MEMBER, "permissions": {}}),
            400,
            "Bad Request: not enough rights to restrict/unrestrict chat member",
        )
        .await;
    }
}

// --- setChatMemberTag: Client::process_set_chat_member_tag_query,
// DialogParticipantManager::set_dialog_participant_rank ---

#[tokio::test]
async fn member_tag_errors() {
    let sandbox = start(world()).await;
    let api = Api::new(&sandbox);
    // RANK_* errors are renamed TAG_* for this method, CUSTOM_TITLE_* for
    // setChatAdministratorCustomTitle.
    refused(
        &api,
        "setChatMemberTag",
        json!({"chat_id": SG, "user_id": MEMBER, "tag": "Boss 🚀"}),
        400,
        "Bad Request: TAG_EMOJI_NOT_ALLOWED",
    )
    .await;
    refused(
        &api,
        "setChatMemberTag",
        json!({"chat_id": SG, "user_id": MEMBER, "tag": "seventeen chars!!"}),
        400,
        "Bad Request: TAG_INVALID",
    )
    .await;
    refused(
        &api,
        "setChatAdministratorCustomTitle",
        json!({"chat_id": SG, "user_id": BOT_ADMIN, "custom_title": "Boss 🚀"}),
        400,
        "Bad Request: CUSTOM_TITLE_EMOJI_NOT_ALLOWED",
    )
    .await;
    // A bot uses only the rights it was granted (apply_restrictions).
    refused(
        &api,
        "setChatMemberTag",
        json!({"chat_id": WEAK_SG, "user_id": MEMBER, "tag": "x"}),
        400,
        "Bad Request: CHAT_ADMIN_REQUIRED",
    )
    .await;
}

// --- setChatPermissions: DialogManager::set_dialog_permissions ---

#[tokio::test]
async fn set_chat_permissions() {
    let sandbox = start(world()).await;
    let api = Api::new(&sandbox);
    let all = json!({"can_send_messages": true, "can_send_audios": true, "can_send_documents": true,
        "can_send_photos": true, "can_send_videos": true, "can_send_video_notes": true,
        "can_send_voice_notes": true, "can_send_polls": true, "can_send_other_messages": true,
        "can_add_web_page_previews": true, "can_react_to_messages": true, "can_edit_tag": true,
        "can_change_info": true, "can_invite_users": true, "can_pin_messages": true,
        "can_manage_topics": true});
    // Unchanged permissions: TDLib answers success without a request.
    let r = api
        .ok(
            "setChatPermissions",
            json!({"chat_id": SG, "permissions": all}),
        )
        .await;
    assert_eq!(r, json!(true));
    // Without `permissions`: every permission false (the chat is muted).
    api.ok("setChatPermissions", json!({"chat_id": SG})).await;
    let chat = api.ok("getChat", json!({"chat_id": SG})).await;
    assert!(
        chat["permissions"]
            .as_object()
            .unwrap()
            .values()
            .all(|v| v == &json!(false)),
        "{chat}"
    );
    refused(
        &api,
        "setChatPermissions",
        json!({"chat_id": WEAK_SG, "permissions": {}}),
        400,
        "Bad Request: not enough rights to change chat permissions",
    )
    .await;
    refused(
        &api,
        "setChatPermissions",
        json!({"chat_id": CHANNEL, "permissions": {}}),
        400,
        "Bad Request: can't change channel chat permissions",
    )
    .await;
}

// --- promoteChatMember: Client::process_promote_chat_member_query,
// DialogParticipantManager::set_channel_participant_status_impl and
// promote_channel_participant ---

#[tokio::test]
async fn promote_and_demote() {
    let sandbox = start(world()).await;
    let api = Api::new(&sandbox);
    // The legacy can_manage_voice_chats is can_manage_video_chats, not a demotion.
    api.ok(
        "promoteChatMember",
        json!({"chat_id": CHANNEL, "user_id": MEMBER, "can_manage_voice_chats": true}),
    )
    .await;
    let m = member(&api, CHANNEL, MEMBER).await;
    assert_eq!(m["status"], "administrator");
    assert_eq!(m["can_manage_video_chats"], true);
    // Demoting a plain member is unchanged: success.
    let r = api
        .ok(
            "promoteChatMember",
            json!({"chat_id": SG, "user_id": MEMBER}),
        )
        .await;
    assert_eq!(r, json!(true));
    // Demoting someone not in the chat asks TDLib to add them.
    refused(
        &api,
        "promoteChatMember",
        json!({"chat_id": SG, "user_id": OUTSIDER}),
        400,
        "Bad Request: bots can't add new chat members",
    )
    .await;
    // The owner, promoted or demoted.
    for extra in [json!({"can_pin_messages": true}), json!({})] {
        let mut params = json!({"chat_id": SG, "user_id": OWNER});
        params
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        refused(
            &api,
            "promoteChatMember",
            params,
            400,
            "Bad Request: can't remove chat owner",
        )
        .await;
    }
    // An admin without can_promote_members, and a bot that is a member of a channel.
    refused(
        &api,
        "promoteChatMember",
        json!({"chat_id": WEAK_SG, "user_id": MEMBER, "can_delete_messages": true}),
        400,
        "Bad Request: not enough rights",
    )
    .await;
    // In a channel a bot that is not an administrator cannot look members
    // up (DialogParticipantManager::get_channel_participant).
    for (method, params) in [
        (
            "promoteChatMember",
            json!({"chat_id": MEMBER_CHANNEL, "user_id": MEMBER, "can_post_messages": true}),
        ),
        (
            "banChatMember",
            json!({"chat_id": MEMBER_CHANNEL, "user_id": OWNER}),
        ),
        (
            "unbanChatMember",
            json!({"chat_id": MEMBER_CHANNEL, "user_id": OWNER, "only_if_banned": true}),
        ),
        (
            "getChatMember",
            json!({"chat_id": MEMBER_CHANNEL, "user_id": OWNER}),
        ),
        ("getChatAdministrators", json!({"chat_id": MEMBER_CHANNEL})),
    ] {
        refused(
            &api,
            method,
            params,
            400,
            "Bad Request: member list is inaccessible",
        )
        .await;
    }
}

// --- setChatTitle / setChatDescription / photos: DialogManager::set_dialog_title,
// ChatManager::set_channel_description, DialogManager::set_dialog_photo ---

#[tokio::test]
async fn titles_and_descriptions() {
    let sandbox = start(world()).await;
    let api = Api::new(&sandbox);
    refused(
        &api,
        "setChatTitle",
        json!({"chat_id": WEAK_SG, "title": "New"}),
        400,
        "Bad Request: not enough rights to change chat title",
    )
    .await;
    // clean_name runs before the rights check.
    refused(
        &api,
        "setChatTitle",
        json!({"chat_id": WEAK_SG, "title": " \n "}),
        400,
        "Bad Request: title must be non-empty",
    )
    .await;
    // Over-long titles are cut to 128 characters, then runs of spaces
    // collapse (clean_name cuts first), so this one ends at 127.
    api.ok(
        "setChatTitle",
        json!({"chat_id": SG, "title": format!("a  b{}", "t".repeat(200))}),
    )
    .await;
    let chat = api.ok("getChat", json!({"chat_id": SG})).await;
    let title = chat["title"].as_str().unwrap();
    assert_eq!(title.chars().count(), 127);
    assert!(title.starts_with("a bt"));
    // Descriptions are cut to 255 characters, not refused.
    api.ok(
        "setChatDescription",
        json!({"chat_id": SG, "description": "d".repeat(300)}),
    )
    .await;
    let chat = api.ok("getChat", json!({"chat_id": SG})).await;
    assert_eq!(chat["description"].as_str().unwrap().chars().count(), 255);
    refused(
        &api,
        "setChatDescription",
        json!({"chat_id": WEAK_SG, "description": "x"}),
        400,
        "Bad Request: not enough rights to set chat description",
    )
    .await;
    refused(
        &api,
        "deleteChatPhoto",
        json!({"chat_id": WEAK_SG}),
        400,
        "Bad Request: not enough rights to change chat photo",
    )
    .await;
}

// --- pins: Client::process_unpin_chat_message_query,
// TdOnGetChatPinnedMessageToUnpinCallback, DialogManager::can_pin_messages ---

#[tokio::test]
async fn pins() {
    let sandbox = start(world()).await;
    let api = Api::new(&sandbox);
    refused(
        &api,
        "unpinChatMessage",
        json!({"chat_id": SG}),
        400,
        "Bad Request: message to unpin not found",
    )
    .await;
    api.ok(
        "pinChatMessage",
        json!({"chat_id": SG, "message_id": MESSAGE}),
    )
    .await;
    api.ok("unpinChatMessage", json!({"chat_id": SG})).await;
    refused(
        &api,
        "unpinChatMessage",
        json!({"chat_id": SG}),
        400,
        "Bad Request: message to unpin not found",
    )
    .await;
    // Nothing pinned is fine for unpinAllChatMessages.
    api.ok("unpinAllChatMessages", json!({"chat_id": SG})).await;
    for chat in [WEAK_SG, MEMBER_SG, MEMBER_CHANNEL] {
        refused(
            &api,
            "unpinAllChatMessages",
            json!({"chat_id": chat}),
            400,
            "Bad Request: not enough rights to manage pinned messages in the chat",
        )
        .await;
    }
}

// --- sendMessage / editMessageText: Client::check_message_topic,
// DialogManager::can_send_message_to_dialog ---

#[tokio::test]
async fn messages() {
    let sandbox = start(world()).await;
    let api = Api::new(&sandbox);
    refused(
        &api,
        "sendMessage",
        json!({"chat_id": SG, "text": "hi", "message_thread_id": 1}),
        400,
        "Bad Request: message thread not found",
    )
    .await;
    refused(
        &api,
        "sendMessage",
        json!({"chat_id": MEMBER_CHANNEL, "text": "hi"}),
        400,
        "Bad Request: need administrator rights in the channel chat",
    )
    .await;
    // Outside forums a thread id is not checked.
    api.ok(
        "sendMessage",
        json!({"chat_id": GROUP, "text": "hi", "message_thread_id": 77}),
    )
    .await;
    // The text is read before the chat (get_input_message_text), and so is
    // setChatPhoto's upload.
    refused(
        &api,
        "sendMessage",
        json!({}),
        400,
        "Bad Request: message text is empty",
    )
    .await;
    refused(
        &api,
        "editMessageText",
        json!({"chat_id": -42, "message_id": 1}),
        400,
        "Bad Request: message text is empty",
    )
    .await;
    refused(
        &api,
        "setChatPhoto",
        json!({"chat_id": -42}),
        400,
        "Bad Request: there is no photo in the request",
    )
    .await;
    refused(
        &api,
        "setChatPhoto",
        json!({"chat_id": -42, "photo": "AgACAgIAAx"}),
        400,
        "Bad Request: photo must be uploaded as an InputFile",
    )
    .await;
    // An edited message carries edit_date.
    let sent = api
        .ok("sendMessage", json!({"chat_id": SG, "text": "draft"}))
        .await;
    assert!(sent.get("edit_date").is_none());
    let edited = api
        .ok(
            "editMessageText",
            json!({"chat_id": SG, "message_id": sent["message_id"], "text": "final"}),
        )
        .await;
    assert!(edited["edit_date"].as_i64().unwrap() > 0, "{edited}");
}

// --- forum topics: ForumTopicManager::create_forum_topic, edit_forum_topic,
// toggle_forum_topic_is_closed, delete_forum_topic ---

#[tokio::test]
async fn topics() {
    let sandbox = start(world()).await;
    let api = Api::new(&sandbox);
    // Nothing to change: success.
    let r = api
        .ok(
            "editForumTopic",
            json!({"chat_id": SG, "message_thread_id": OPEN_TOPIC}),
        )
        .await;
    assert_eq!(r, json!(true));
    api.ok(
        "editForumTopic",
        json!({"chat_id": SG, "message_thread_id": OPEN_TOPIC, "name": ""}),
    )
    .await;
    refused(
        &api,
        "editForumTopic",
        json!({"chat_id": SG, "message_thread_id": OPEN_TOPIC, "name": "  "}),
        400,
        "Bad Request: name must be non-empty",
    )
    .await;
    refused(
        &api,
        "closeForumTopic",
        json!({"chat_id": SG}),
        400,
        "Bad Request: invalid forum topic identifier specified",
    )
    .await;
    refused(
        &api,
        "createForumTopic",
        json!({"chat_id": SG, "name": " "}),
        400,
        "Bad Request: name must be non-empty",
    )
    .await;
    refused(
        &api,
        "createForumTopic",
        json!({"chat_id": SG, "name": "x", "icon_color": 16_777_216}),
        400,
        "Bad Request: invalid icon color specified",
    )
    .await;
    let topic = api
        .ok(
            "createForumTopic",
            json!({"chat_id": SG, "name": "n".repeat(200)}),
        )
        .await;
    assert_eq!(topic["name"].as_str().unwrap().chars().count(), 128);
}

/// hideGeneralForumTopic closes the General topic; reopening unhides it
/// (the Bot API documentation of both methods).
#[tokio::test]
async fn general_topic_hiding_closes_it() {
    let sandbox = start(world()).await;
    let api = Api::new(&sandbox);
    api.ok("hideGeneralForumTopic", json!({"chat_id": SG}))
        .await;
    // Closed already: closing again is not a change.
    refused(
        &api,
        "closeGeneralForumTopic",
        json!({"chat_id": SG}),
        400,
        "Bad Request: TOPIC_NOT_MODIFIED",
    )
    .await;
    api.ok("reopenGeneralForumTopic", json!({"chat_id": SG}))
        .await;
    // Unhidden already.
    refused(
        &api,
        "unhideGeneralForumTopic",
        json!({"chat_id": SG}),
        400,
        "Bad Request: TOPIC_NOT_MODIFIED",
    )
    .await;
}

#[tokio::test]
async fn topic_rights() {
    let sandbox = start(world_without_topic_right()).await;
    let api = Api::new(&sandbox);
    // The owner's topic; the bot lacks can_manage_topics. Members of SG may
    // manage topics by the chat's permissions, which also lets the bot create.
    api.ok(
        "setChatPermissions",
        json!({"chat_id": SG, "permissions": {}}),
    )
    .await;
    refused(
        &api,
        "createForumTopic",
        json!({"chat_id": SG, "name": "x"}),
        400,
        "Bad Request: not enough rights to create a topic",
    )
    .await;
    refused(
        &api,
        "editForumTopic",
        json!({"chat_id": SG, "message_thread_id": OPEN_TOPIC, "name": "x"}),
        400,
        "Bad Request: not enough rights to edit the topic",
    )
    .await;
    refused(
        &api,
        "closeForumTopic",
        json!({"chat_id": SG, "message_thread_id": OPEN_TOPIC}),
        400,
        "Bad Request: not enough rights to close or open the topic",
    )
    .await;
    refused(
        &api,
        "hideGeneralForumTopic",
        json!({"chat_id": SG}),
        400,
        "Bad Request: not enough rights to close or open the topic",
    )
    .await;
    refused(
        &api,
        "deleteForumTopic",
        json!({"chat_id": SG, "message_thread_id": OPEN_TOPIC}),
        400,
        "Bad Request: not enough rights to delete the topic",
    )
    .await;
}

/// Further rows, one request each, with the source of the answer.
#[tokio::test]
async fn more_rules() {
    let sandbox = start(world()).await;
    let api = Api::new(&sandbox);
    let ids: Vec<i64> = (1..=101).collect();
    let rows = [
        // BotCommandScope::get_bot_command_scope: private chats take only `chat`.
        (
            "setMyCommands",
            json!({"scope": {"type": "chat_administrators", "chat_id": MEMBER}}),
            "Bad Request: can't use specified scope in private chats",
        ),
        // Client::get_bot_command_scope.
        (
            "getMyCommands",
            json!({"scope": {"type": "chat", "chat_id": ""}}),
            "Bad Request: can't parse BotCommandScope: Empty chat_id specified",
        ),
        // Client::get_message_ids.
        (
            "deleteMessages",
            json!({"chat_id": SG, "message_ids": ids}),
            "Bad Request: too many message identifiers specified",
        ),
        // restrict_channel_participant for a chat it cannot resolve (best guess).
        (
            "unbanChatSenderChat",
            json!({"chat_id": SG, "sender_chat_id": -1_009_999_999_999_i64}),
            "Bad Request: member not found",
        ),
        // Best guesses for the server's subscription checks.
        (
            "createChatSubscriptionInviteLink",
            json!({"chat_id": SG, "subscription_period": 2_592_000, "subscription_price": 5}),
            "Bad Request: CHAT_INVALID",
        ),
        (
            "createChatSubscriptionInviteLink",
            json!({"chat_id": CHANNEL, "subscription_period": 60, "subscription_price": 5}),
            "Bad Request: SUBSCRIPTION_PERIOD_INVALID",
        ),
        // Client::get_chat_administrator_rights.
        (
            "setMyDefaultAdministratorRights",
            json!({"rights": {"can_manage_chat": "yes"}}),
            "Bad Request: can't parse ChatAdministratorRights: Field \"can_manage_chat\" must be of type Boolean",
        ),
        // Client::do_set_webhook.
        (
            "setWebhook",
            json!({"url": "https://example.invalid/hook", "secret_token": "s".repeat(257)}),
            "Bad Request: secret token is too long",
        ),
    ];
    for (method, params, description) in rows {
        refused(&api, method, params, 400, description).await;
    }
    // td HttpReader: an unknown Content-Encoding.
    let r = api
        .http
        .post(api.url("getMe"))
        .header("content-type", "application/json")
        .header("content-encoding", "br")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["description"],
        "Unsupported Media Type: unsupported content-encoding"
    );
    // HttpConnection::handle: no `/` after the token.
    let r = api
        .http
        .get(format!("{}/bot{}", api.base, api.token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["description"], "Not Found");
}

// --- invite links: DialogInviteLinkManager, Client::process_*_chat_invite_link_query ---

#[tokio::test]
async fn invite_link_checks() {
    let sandbox = start(world()).await;
    let api = Api::new(&sandbox);
    // Names are cut to 32 characters.
    let link = api
        .ok(
            "createChatInviteLink",
            json!({"chat_id": SG, "name": "n".repeat(40)}),
        )
        .await;
    assert_eq!(link["name"].as_str().unwrap().chars().count(), 32);
    // The join-request check comes before the rights check.
    refused(
        &api,
        "createChatInviteLink",
        json!({"chat_id": WEAK_SG, "member_limit": 5, "creates_join_request": true}),
        400,
        "Bad Request: member limit can't be specified for links requiring administrator approval",
    )
    .await;
    refused(
        &api,
        "createChatInviteLink",
        json!({"chat_id": WEAK_SG}),
        400,
        "Bad Request: not enough rights to manage chat invite link",
    )
    .await;
    refused(
        &api,
        "editChatInviteLink",
        json!({"chat_id": SG, "invite_link": ""}),
        400,
        "Bad Request: invite link must be non-empty",
    )
    .await;
    refused(
        &api,
        "approveChatJoinRequest",
        json!({"chat_id": WEAK_SG, "user_id": OUTSIDER}),
        400,
        "Bad Request: not enough rights to manage chat join requests",
    )
    .await;
}

#[tokio::test]
async fn primary_links_belong_to_each_administrator() {
    let sandbox = start(world()).await;
    let api = Api::new(&sandbox);
    // The owner's primary link.
    let (status, owner) = api
        .act(OWNER, "exportChatInviteLink", json!({"chat_id": SG}))
        .await;
    assert_eq!(status, 200, "{owner}");
    let owner_link = owner["result"].as_str().unwrap().to_string();
    // The bot's exportChatInviteLink replaces only the bot's own.
    let first = api.ok("exportChatInviteLink", json!({"chat_id": SG})).await;
    let second = api.ok("exportChatInviteLink", json!({"chat_id": SG})).await;
    assert_ne!(first, second);
    let chat = api.ok("getChat", json!({"chat_id": SG})).await;
    assert_eq!(chat["invite_link"], second, "getChat shows the bot's own");
    // The owner's link still works; the bot's first one is revoked.
    api.ok(
        "getUpdates",
        json!({"allowed_updates": ["chat_member"], "timeout": 0}),
    )
    .await;
    let (status, body) = api
        .act(OUTSIDER, "joinChat", json!({"invite_link": owner_link}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = api
        .act(NO_START, "joinChat", json!({"invite_link": first}))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["description"], "Bad Request: INVITE_HASH_EXPIRED");
    // A primary link cannot be edited.
    refused(
        &api,
        "editChatInviteLink",
        json!({"chat_id": SG, "invite_link": second, "name": "x"}),
        400,
        "Bad Request: CHAT_INVITE_PERMANENT",
    )
    .await;
    // The bot sees the owner's link with its second half masked.
    let updates = api.ok("getUpdates", json!({})).await;
    let joined = updates
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["chat_member"]["new_chat_member"]["user"]["id"] == json!(OUTSIDER))
        .expect("a chat_member update for the join");
    let seen = joined["chat_member"]["invite_link"]["invite_link"]
        .as_str()
        .unwrap();
    assert!(seen.ends_with('…'), "{seen}");
    assert_ne!(seen, owner_link);
    assert!(owner_link.starts_with(seen.trim_end_matches('…')));
}

// --- setMyCommands: Client::get_bot_commands, get_bot_command_scope,
// check_bot_command_scope; td BotCommand.cpp set_commands,
// BotCommandScope::get_bot_command_scope ---

#[tokio::test]
async fn commands() {
    let sandbox = start(world()).await;
    let api = Api::new(&sandbox);
    let scope = json!({"type": "chat", "chat_id": SG});
    api.ok(
        "setMyCommands",
        json!({"scope": scope, "commands": [{"command": "help", "description": "Help"}]}),
    )
    .await;
    // Without `commands` the scope is cleared.
    api.ok("setMyCommands", json!({"scope": scope})).await;
    assert_eq!(
        api.ok("getMyCommands", json!({"scope": scope})).await,
        json!([])
    );
    let cases = [
        (
            json!({"scope": {"type": "chat", "chat_id": CHANNEL}}),
            400,
            "Bad Request: can't change commands in channel chats",
        ),
        (
            json!({"scope": {"type": "chat", "chat_id": NOT_MEMBER_SG}}),
            403,
            "Forbidden: bot is not a member of the supergroup chat",
        ),
        (
            json!({"scope": {"type": "nope"}}),
            400,
            "Bad Request: can't parse BotCommandScope: Unsupported type specified",
        ),
        (
            json!({"scope": {"type": "chat"}}),
            400,
            "Bad Request: can't parse BotCommandScope: Can't find field \"chat_id\"",
        ),
        (
            json!({"scope": {"type": "chat_member", "chat_id": SG, "user_id": 0}}),
            400,
            "Bad Request: can't parse BotCommandScope: Invalid user_id specified",
        ),
        (
            json!({"commands": [{"command": "c".repeat(33), "description": "d"}]}),
            400,
            "Bad Request: command length must not exceed 32",
        ),
        (
            json!({"commands": [{"command": " / ", "description": "d"}]}),
            400,
            "Bad Request: command must be non-empty",
        ),
        (
            json!({"commands": [{"command": "ok", "description": "  "}]}),
            400,
            "Bad Request: command description must be non-empty",
        ),
        (
            json!({"commands": [{"command": "ok", "description": "d".repeat(257)}]}),
            400,
            "Bad Request: command description length must not exceed 256",
        ),
        (
            json!({"commands": [{"command": "ok"}]}),
            400,
            "Bad Request: can't parse BotCommand: Can't find field \"description\"",
        ),
        (
            json!({"commands": {"command": "ok"}}),
            400,
            "Bad Request: expected an Array of BotCommand",
        ),
        (
            json!({"language_code": "EN"}),
            400,
            "Bad Request: invalid language code specified",
        ),
    ];
    for (params, status, description) in cases {
        refused(&api, "setMyCommands", params, status, description).await;
    }
}

// --- reads: Client::check_chat_access ---

#[tokio::test]
async fn reads_need_less_access_than_writes() {
    let sandbox = start(world()).await;
    let api = Api::new(&sandbox);
    // A public supergroup the bot never joined can be read…
    let chat = api.ok("getChat", json!({"chat_id": "@openhouse"})).await;
    assert_eq!(chat["id"], json!(PUBLIC_SG));
    api.ok(
        "getChatMember",
        json!({"chat_id": PUBLIC_SG, "user_id": OWNER}),
    )
    .await;
    // …and left without being in it (restrict_channel_participant for the
    // current user)…
    api.ok("leaveChat", json!({"chat_id": PUBLIC_SG})).await;
    // …but not written.
    refused(
        &api,
        "setChatTitle",
        json!({"chat_id": PUBLIC_SG, "title": "x"}),
        403,
        "Forbidden: bot is not a member of the supergroup chat",
    )
    .await;
    // An upgraded group can be read; writing names the successor.
    let old = api.ok("getChat", json!({"chat_id": OLD_GROUP})).await;
    assert_eq!(old["type"], "group");
    let (status, body) = api
        .call("setChatTitle", json!({"chat_id": OLD_GROUP, "title": "x"}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["parameters"]["migrate_to_chat_id"], json!(SG));
    // Basic-group admins carry no can_manage_topics
    // (Client::json_store_administrator_rights).
    let admins = api
        .ok("getChatAdministrators", json!({"chat_id": GROUP}))
        .await;
    for admin in admins.as_array().unwrap() {
        if admin["status"] == "administrator" {
            assert!(admin.get("can_manage_topics").is_none(), "{admin}");
            assert!(admin.get("can_pin_messages").is_some(), "{admin}");
        }
    }
    // Best guess for the server's answer about the owner in a basic group.
    refused(
        &api,
        "banChatMember",
        json!({"chat_id": GROUP, "user_id": OWNER}),
        400,
        "Bad Request: user is an administrator of the chat",
    )
    .await;
    // A ban in a basic group removes the member (delete_chat_participant).
    api.ok(
        "banChatMember",
        json!({"chat_id": GROUP, "user_id": MEMBER}),
    )
    .await;
    assert_eq!(member(&api, GROUP, MEMBER).await["status"], "left");
}

// --- methods the sandbox lacked ---

#[tokio::test]
async fn delete_messages() {
    let sandbox = start(world()).await;
    let api = Api::new(&sandbox);
    // Client::process_delete_message_query.
    refused(
        &api,
        "deleteMessage",
        json!({"chat_id": SG}),
        400,
        "Bad Request: message identifier is not specified",
    )
    .await;
    refused(
        &api,
        "deleteMessage",
        json!({"message_id": MESSAGE}),
        400,
        "Bad Request: chat identifier is not specified",
    )
    .await;
    api.ok(
        "pinChatMessage",
        json!({"chat_id": SG, "message_id": MESSAGE}),
    )
    .await;
    api.ok(
        "deleteMessage",
        json!({"chat_id": SG, "message_id": MESSAGE}),
    )
    .await;
    let chat = api.ok("getChat", json!({"chat_id": SG})).await;
    assert!(chat.get("pinned_message").is_none());
    refused(
        &api,
        "deleteMessage",
        json!({"chat_id": SG, "message_id": MESSAGE}),
        400,
        "Bad Request: message to delete not found",
    )
    .await;
    // deleteMessages skips what cannot be found.
    let sent = api
        .ok("sendMessage", json!({"chat_id": SG, "text": "x"}))
        .await;
    api.ok(
        "deleteMessages",
        json!({"chat_id": SG, "message_ids": [sent["message_id"], 999]}),
    )
    .await;
    refused(
        &api,
        "deleteMessages",
        json!({"chat_id": SG, "message_ids": []}),
        400,
        "Bad Request: message identifiers are not specified",
    )
    .await;
    // Someone else's message without can_delete_messages.
    let (_, body) = api
        .act(
            OWNER,
            "sendMessage",
            json!({"chat_id": WEAK_SG, "text": "mine"}),
        )
        .await;
    refused(
        &api,
        "deleteMessage",
        json!({"chat_id": WEAK_SG, "message_id": body["result"]["message_id"]}),
        400,
        "Bad Request: message can't be deleted",
    )
    .await;
}

#[tokio::test]
async fn sender_chats_topics_pins_rights_verification() {
    let sandbox = start(world()).await;
    let api = Api::new(&sandbox);
    // banChatSenderChat / unbanChatSenderChat.
    api.ok(
        "banChatSenderChat",
        json!({"chat_id": SG, "sender_chat_id": CHANNEL}),
    )
    .await;
    api.ok(
        "unbanChatSenderChat",
        json!({"chat_id": SG, "sender_chat_id": CHANNEL}),
    )
    .await;
    refused(
        &api,
        "banChatSenderChat",
        json!({"chat_id": GROUP, "sender_chat_id": CHANNEL}),
        400,
        "Bad Request: can't ban chats in basic groups",
    )
    .await;
    refused(
        &api,
        "banChatSenderChat",
        json!({"chat_id": WEAK_SG, "sender_chat_id": CHANNEL}),
        400,
        "Bad Request: not enough rights to restrict/unrestrict chat member",
    )
    .await;
    // unpinAllForumTopicMessages.
    let sent = api
        .ok(
            "sendMessage",
            json!({"chat_id": SG, "text": "t", "message_thread_id": OPEN_TOPIC}),
        )
        .await;
    api.ok(
        "pinChatMessage",
        json!({"chat_id": SG, "message_id": sent["message_id"]}),
    )
    .await;
    api.ok(
        "unpinAllForumTopicMessages",
        json!({"chat_id": SG, "message_thread_id": OPEN_TOPIC}),
    )
    .await;
    let chat = api.ok("getChat", json!({"chat_id": SG})).await;
    assert!(chat.get("pinned_message").is_none(), "{chat}");
    api.ok("unpinAllGeneralForumTopicMessages", json!({"chat_id": SG}))
        .await;
    // Default administrator rights.
    api.ok(
        "setMyDefaultAdministratorRights",
        json!({"rights": {"can_manage_chat": true, "can_invite_users": true}, "for_channels": true}),
    )
    .await;
    let rights = api
        .ok(
            "getMyDefaultAdministratorRights",
            json!({"for_channels": true}),
        )
        .await;
    assert_eq!(rights["can_invite_users"], true);
    assert_eq!(rights["can_post_messages"], false);
    let groups = api.ok("getMyDefaultAdministratorRights", json!({})).await;
    assert_eq!(groups["can_invite_users"], false);
    // Verification.
    api.ok(
        "verifyChat",
        json!({"chat_id": SG, "custom_description": "Acme staff"}),
    )
    .await;
    api.ok("removeChatVerification", json!({"chat_id": SG}))
        .await;
    // answerChatJoinRequestQuery: no query the sandbox issued.
    refused(
        &api,
        "answerChatJoinRequestQuery",
        json!({"chat_join_request_query_id": "1", "result": "approve"}),
        400,
        "Bad Request: query is too old and response timeout expired or query ID is invalid",
    )
    .await;
}

#[tokio::test]
async fn subscription_links() {
    let sandbox = start(world()).await;
    let api = Api::new(&sandbox);
    let link = api
        .ok(
            "createChatSubscriptionInviteLink",
            json!({"chat_id": CHANNEL, "subscription_period": 2_592_000, "subscription_price": 5}),
        )
        .await;
    assert_eq!(link["subscription_price"], 5);
    let edited = api
        .ok(
            "editChatSubscriptionInviteLink",
            json!({"chat_id": CHANNEL, "invite_link": link["invite_link"], "name": "Fans"}),
        )
        .await;
    assert_eq!(edited["name"], "Fans");
    refused(
        &api,
        "createChatSubscriptionInviteLink",
        json!({"chat_id": CHANNEL}),
        400,
        "Bad Request: invalid subscription pricing specified",
    )
    .await;
}

// --- transport: HttpConnection::handle, ClientManager::send, Query::Query,
// td HttpReader, Client::process_set_webhook_query, Client::abort_long_poll ---

fn raw_url(api: &Api, path: &str) -> String {
    format!("{}{}", api.base, path)
}

#[tokio::test]
async fn transport_rules() {
    let sandbox = start(world()).await;
    let api = Api::new(&sandbox);
    let token = api.token.clone();
    let post = |url: String, content_type: &'static str, body: Vec<u8>| {
        api.http
            .post(url)
            .header("content-type", content_type)
            .body(body)
    };
    // Malformed JSON: the fields read before the error still count.
    let body = format!(r#"{{"chat_id": {SG}, "x": oops}}"#).into_bytes();
    let r = post(api.url("getChat"), "application/json", body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The query string wins over the body.
    let r = post(
        format!("{}?chat_id={SG}", api.url("getChat")),
        "application/json",
        br#"{"chat_id": -42}"#.to_vec(),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    // The first of a repeated form key wins.
    let r = post(
        api.url("getChat"),
        "application/x-www-form-urlencoded",
        format!("chat_id={SG}&chat_id=-42").into_bytes(),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    // A gzip body is inflated.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(format!(r#"{{"chat_id": {SG}}}"#).as_bytes())
        .unwrap();
    let r = api
        .http
        .post(api.url("getChat"))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(gz.finish().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Above the parameter limit: 413 with an empty body.
    let big = format!(r#"{{"chat_id": {SG}, "text": "{}"}}"#, "x".repeat(1 << 21));
    let r = post(api.url("sendMessage"), "application/json", big.into_bytes())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert!(r.bytes().await.unwrap().is_empty());
    // A trailing slash makes an unknown method.
    let r = api
        .http
        .get(raw_url(&api, &format!("/bot{token}/getMe/")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["description"], "Not Found: method not found");
    // The test environment path and the `method` parameter.
    let r = api
        .http
        .get(raw_url(&api, &format!("/bot{token}/test/getMe")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = api
        .http
        .get(raw_url(&api, &format!("/bot{token}/?method=getMe")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // A token that cannot be a bot token.
    let r = api
        .http
        .get(raw_url(&api, "/botnonsense/getMe"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["description"], "Unauthorized: invalid token specified");
    // Renamed methods still answer.
    let count = api.ok("getChatMembersCount", json!({"chat_id": SG})).await;
    assert!(count.as_i64().unwrap() > 0);
    api.ok("kickChatMember", json!({"chat_id": SG, "user_id": MEMBER}))
        .await;
    assert_eq!(member(&api, SG, MEMBER).await["status"], "kicked");
}

#[tokio::test]
async fn webhooks_and_polling() {
    let sandbox = start(world()).await;
    let api = Api::new(&sandbox);
    // A newer getUpdates ends a waiting one with 409.
    let waiting = {
        let http = api.http.clone();
        let url = api.url("getUpdates");
        tokio::spawn(async move {
            let r = http
                .post(url)
                .json(&json!({"timeout": 10}))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    api.ok("getUpdates", json!({"timeout": 0})).await;
    let (status, body) = tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
        .await
        .expect("the first poll ends")
        .unwrap();
    assert_eq!(status, 409);
    assert_eq!(
        body["description"],
        "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
    );
    // setWebhook says what it did, and allows one call a second.
    let (status, body) = api
        .call("setWebhook", json!({"url": "https://example.invalid/hook"}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["description"], "Webhook was set");
    let (status, body) = api
        .call(
            "setWebhook",
            json!({"url": "https://example.invalid/other"}),
        )
        .await;
    assert_eq!(status, 429);
    assert_eq!(body["parameters"]["retry_after"], 1);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (_, body) = api
        .call("setWebhook", json!({"url": "https://example.invalid/hook"}))
        .await;
    assert_eq!(body["description"], "Webhook is already set");
    refused(
        &api,
        "setWebhook",
        json!({"url": "https://example.invalid/x", "secret_token": "no spaces"}),
        429,
        "Too Many Requests: retry after 1",
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    refused(
        &api,
        "setWebhook",
        json!({"url": "https://example.invalid/x", "secret_token": "no spaces"}),
        400,
        "Bad Request: secret token contains unallowed characters",
    )
    .await;
    let (_, body) = api.call("deleteWebhook", json!({})).await;
    assert_eq!(body["description"], "Webhook was deleted");
    let (_, body) = api.call("deleteWebhook", json!({})).await;
    assert_eq!(body["description"], "Webhook is already deleted");
}

/// Smaller behaviours, each with its source.
#[tokio::test]
async fn smaller_behaviours() {
    let sandbox = start(world()).await;
    let api = Api::new(&sandbox);
    // DialogManager::set_dialog_title: an unchanged title succeeds.
    let chat = api.ok("getChat", json!({"chat_id": SG})).await;
    let r = api
        .ok(
            "setChatTitle",
            json!({"chat_id": SG, "title": chat["title"]}),
        )
        .await;
    assert_eq!(r, json!(true));
    // set_channel_participant_status_impl: demoting a restricted member is a
    // restriction change: it lifts the restriction.
    api.ok(
        "promoteChatMember",
        json!({"chat_id": SG, "user_id": RESTRICTED}),
    )
    .await;
    assert_eq!(member(&api, SG, RESTRICTED).await["status"], "member");
    // Client::get_chat_permissions (legacy) and
    // process_restrict_chat_member_query: the legacy form keeps a
    // restricted member's other permissions.
    api.ok(
        "restrictChatMember",
        json!({"chat_id": SG, "user_id": MEMBER, "permissions": {"can_invite_users": true}}),
    )
    .await;
    api.ok(
        "restrictChatMember",
        json!({"chat_id": SG, "user_id": MEMBER, "can_send_messages": true}),
    )
    .await;
    let m = member(&api, SG, MEMBER).await;
    assert_eq!(m["can_invite_users"], true);
    assert_eq!(m["can_send_messages"], true);
    // ForumTopicManager::can_be_forum_topic_id via unpin_all_dialog_messages.
    refused(
        &api,
        "unpinAllForumTopicMessages",
        json!({"chat_id": SG}),
        400,
        "Bad Request: invalid forum topic identifier specified",
    )
    .await;
    // Revoking a primary link answers with the revoked link (the first of
    // TDLib's chatInviteLinks, TdOnGetChatInviteLinkCallback) and gives the
    // bot a new primary link.
    let primary = api.ok("exportChatInviteLink", json!({"chat_id": SG})).await;
    let revoked = api
        .ok(
            "revokeChatInviteLink",
            json!({"chat_id": SG, "invite_link": primary}),
        )
        .await;
    assert_eq!(revoked["invite_link"], primary);
    assert_eq!(revoked["is_revoked"], true);
    let chat = api.ok("getChat", json!({"chat_id": SG})).await;
    assert!(chat["invite_link"].is_string());
    assert_ne!(chat["invite_link"], primary);
    // Client::get_integer_arg clamps member_limit to 100000, which the
    // server then refuses (best guess).
    refused(
        &api,
        "createChatInviteLink",
        json!({"chat_id": SG, "member_limit": 5_000_000}),
        400,
        "Bad Request: USAGE_LIMIT_INVALID",
    )
    .await;
    // HttpReader reads the body before ClientManager checks the token: an
    // oversized body with a wrong token is still 413.
    let r = api
        .http
        .post(format!("{}/bot123:wrong/getMe", api.base))
        .header("content-type", "application/json")
        .body(format!(r#"{{"x": "{}"}}"#, "x".repeat(1 << 21)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
}
