//! Telegram's rules, one row per rule: the call, the HTTP status and the
//! exact description the real server answers with. Then the behaviours that
//! are not errors (unban kicks, until_date, channel defaults, join requests)
//! and the request formats a faithful server must accept.

use crate::common::*;
use serde_json::{Value, json};

struct Rule {
    name: &'static str,
    method: &'static str,
    params: Value,
    status: u16,
    description: &'static str,
}

fn rule(
    name: &'static str,
    method: &'static str,
    params: Value,
    status: u16,
    description: &'static str,
) -> Rule {
    Rule {
        name,
        method,
        params,
        status,
        description,
    }
}

fn bot_rules() -> Vec<Rule> {
    vec![
        // Parameters and lookups.
        rule(
            "chat_id missing",
            "getChat",
            json!({}),
            400,
            "Bad Request: chat_id is empty",
        ),
        rule(
            "chat unknown",
            "getChat",
            json!({"chat_id": -42}),
            400,
            "Bad Request: chat not found",
        ),
        rule(
            "chat username unknown",
            "getChat",
            json!({"chat_id": "@nobody"}),
            400,
            "Bad Request: chat not found",
        ),
        rule(
            "user unknown",
            "getChatMember",
            json!({"chat_id": SG, "user_id": 999_999}),
            400,
            "Bad Request: user not found",
        ),
        rule(
            "user_id missing",
            "getChatMember",
            json!({"chat_id": SG}),
            400,
            "Bad Request: invalid user_id specified",
        ),
        rule(
            "user_id not a number",
            "banChatMember",
            json!({"chat_id": SG, "user_id": "bob"}),
            400,
            "Bad Request: invalid user_id specified",
        ),
        rule(
            "permissions not JSON",
            "setChatPermissions",
            json!({"chat_id": SG, "permissions": "{oops"}),
            400,
            "Bad Request: can't parse permissions JSON object",
        ),
        // The caller's membership.
        rule(
            "bot not a member",
            "getChat",
            json!({"chat_id": NOT_MEMBER_SG}),
            403,
            "Forbidden: bot is not a member of the supergroup chat",
        ),
        rule(
            "bot kicked",
            "getChatAdministrators",
            json!({"chat_id": KICKED_SG}),
            403,
            "Forbidden: bot was kicked from the supergroup chat",
        ),
        rule(
            "upgraded group",
            "setChatTitle",
            json!({"chat_id": OLD_GROUP, "title": "x"}),
            400,
            "Bad Request: group chat was upgraded to a supergroup chat",
        ),
        // Chat types.
        rule(
            "promote in basic group",
            "promoteChatMember",
            json!({"chat_id": GROUP, "user_id": MEMBER, "can_pin_messages": true}),
            400,
            "Bad Request: method is available for supergroup and channel chats only",
        ),
        rule(
            "restrict in channel",
            "restrictChatMember",
            json!({"chat_id": CHANNEL, "user_id": MEMBER, "permissions": {}}),
            400,
            "Bad Request: method is available only for supergroups",
        ),
        rule(
            "restrict in basic group",
            "restrictChatMember",
            json!({"chat_id": GROUP, "user_id": MEMBER, "permissions": {}}),
            400,
            "Bad Request: method is available only for supergroups",
        ),
        rule(
            "permissions in channel",
            "setChatPermissions",
            json!({"chat_id": CHANNEL, "permissions": {}}),
            400,
            "Bad Request: can't change channel chat permissions",
        ),
        rule(
            "unban in basic group",
            "unbanChatMember",
            json!({"chat_id": GROUP, "user_id": MEMBER}),
            400,
            "Bad Request: method is available for supergroup and channel chats only",
        ),
        rule(
            "topic outside a forum",
            "createForumTopic",
            json!({"chat_id": GROUP, "name": "x"}),
            400,
            "Bad Request: the chat is not a forum",
        ),
        // The bot's rights.
        rule(
            "bot not admin",
            "promoteChatMember",
            json!({"chat_id": MEMBER_SG, "user_id": MEMBER, "can_pin_messages": true}),
            400,
            "Bad Request: not enough rights",
        ),
        rule(
            "bot not admin of channel",
            "sendMessage",
            json!({"chat_id": MEMBER_CHANNEL, "text": "hi"}),
            400,
            "Bad Request: need administrator rights in the channel chat",
        ),
        rule(
            "admin without the right",
            "setChatTitle",
            json!({"chat_id": WEAK_SG, "title": "New"}),
            400,
            "Bad Request: not enough rights to change chat title",
        ),
        rule(
            "admin without promote right",
            "promoteChatMember",
            json!({"chat_id": WEAK_SG, "user_id": MEMBER, "can_delete_messages": true}),
            400,
            "Bad Request: not enough rights",
        ),
        rule(
            "grant a right the bot lacks",
            "promoteChatMember",
            json!({"chat_id": SG, "user_id": MEMBER, "can_manage_video_chats": true}),
            400,
            "Bad Request: RIGHT_FORBIDDEN",
        ),
        rule(
            "edit an admin the bot did not promote",
            "promoteChatMember",
            json!({"chat_id": SG, "user_id": HUMAN_ADMIN, "can_pin_messages": true}),
            400,
            "Bad Request: CHAT_ADMIN_REQUIRED",
        ),
        rule(
            "demote an admin the bot did not promote",
            "promoteChatMember",
            json!({"chat_id": SG, "user_id": HUMAN_ADMIN}),
            400,
            "Bad Request: CHAT_ADMIN_REQUIRED",
        ),
        rule(
            "promote the owner",
            "promoteChatMember",
            json!({"chat_id": SG, "user_id": OWNER, "can_pin_messages": true}),
            400,
            "Bad Request: can't remove chat owner",
        ),
        rule(
            "demote the owner",
            "promoteChatMember",
            json!({"chat_id": SG, "user_id": OWNER}),
            400,
            "Bad Request: can't remove chat owner",
        ),
        rule(
            "promote self",
            "promoteChatMember",
            json!({"chat_id": SG, "user_id": BOT, "can_pin_messages": true}),
            400,
            "Bad Request: can't promote self",
        ),
        rule(
            "promote someone not in the chat",
            "promoteChatMember",
            json!({"chat_id": SG, "user_id": OUTSIDER, "can_pin_messages": true}),
            400,
            "Bad Request: bots can't add new chat members",
        ),
        rule(
            "promote someone banned",
            "promoteChatMember",
            json!({"chat_id": SG, "user_id": BANNED, "can_pin_messages": true}),
            400,
            "Bad Request: bots can't add new chat members",
        ),
        rule(
            "too many admins",
            "promoteChatMember",
            json!({"chat_id": FULL_SG, "user_id": MEMBER, "can_pin_messages": true}),
            400,
            "Bad Request: ADMINS_TOO_MUCH",
        ),
        // Owner and admins cannot be restricted or banned.
        rule(
            "restrict the owner",
            "restrictChatMember",
            json!({"chat_id": SG, "user_id": OWNER, "permissions": {}}),
            400,
            "Bad Request: can't remove chat owner",
        ),
        rule(
            "ban the owner",
            "banChatMember",
            json!({"chat_id": SG, "user_id": OWNER}),
            400,
            "Bad Request: can't remove chat owner",
        ),
        rule(
            "restrict an admin",
            "restrictChatMember",
            json!({"chat_id": SG, "user_id": BOT_ADMIN, "permissions": {}}),
            400,
            "Bad Request: user is an administrator of the chat",
        ),
        rule(
            "ban an admin",
            "banChatMember",
            json!({"chat_id": SG, "user_id": HUMAN_ADMIN}),
            400,
            "Bad Request: user is an administrator of the chat",
        ),
        rule(
            "unban the owner",
            "unbanChatMember",
            json!({"chat_id": SG, "user_id": OWNER}),
            400,
            "Bad Request: can't remove chat owner",
        ),
        // Custom titles and tags.
        rule(
            "custom title too long",
            "setChatAdministratorCustomTitle",
            json!({"chat_id": SG, "user_id": BOT_ADMIN, "custom_title": "seventeen chars!!"}),
            400,
            "Bad Request: CUSTOM_TITLE_INVALID",
        ),
        rule(
            "custom title with emoji",
            "setChatAdministratorCustomTitle",
            json!({"chat_id": SG, "user_id": BOT_ADMIN, "custom_title": "Boss 🚀"}),
            400,
            "Bad Request: CUSTOM_TITLE_EMOJI_NOT_ALLOWED",
        ),
        rule(
            "custom title of a member",
            "setChatAdministratorCustomTitle",
            json!({"chat_id": SG, "user_id": MEMBER, "custom_title": "Hi"}),
            400,
            "Bad Request: user is not an administrator",
        ),
        rule(
            "custom title of the owner",
            "setChatAdministratorCustomTitle",
            json!({"chat_id": SG, "user_id": OWNER, "custom_title": "Hi"}),
            400,
            "Bad Request: only the owner can edit their custom title",
        ),
        rule(
            "custom title of another's admin",
            "setChatAdministratorCustomTitle",
            json!({"chat_id": SG, "user_id": HUMAN_ADMIN, "custom_title": "Hi"}),
            400,
            "Bad Request: not enough rights to change custom title of the user",
        ),
        rule(
            "tag on an admin",
            "setChatMemberTag",
            json!({"chat_id": SG, "user_id": BOT_ADMIN, "tag": "x"}),
            400,
            "Bad Request: user is an administrator of the chat",
        ),
        rule(
            "tag on someone absent",
            "setChatMemberTag",
            json!({"chat_id": SG, "user_id": OUTSIDER, "tag": "x"}),
            400,
            "Bad Request: USER_NOT_PARTICIPANT",
        ),
        rule(
            "tag too long",
            "setChatMemberTag",
            json!({"chat_id": SG, "user_id": MEMBER, "tag": "seventeen chars!!"}),
            400,
            "Bad Request: TAG_INVALID",
        ),
        // Settings.
        rule(
            "description not modified",
            "setChatDescription",
            json!({"chat_id": SG, "description": "Same description"}),
            400,
            "Bad Request: chat description is not modified",
        ),
        rule(
            "title empty",
            "setChatTitle",
            json!({"chat_id": SG, "title": " "}),
            400,
            "Bad Request: title must be non-empty",
        ),
        rule(
            "delete a missing photo",
            "deleteChatPhoto",
            json!({"chat_id": SG}),
            400,
            "Bad Request: CHAT_NOT_MODIFIED",
        ),
        rule(
            "photo missing",
            "setChatPhoto",
            json!({"chat_id": SG}),
            400,
            "Bad Request: there is no photo in the request",
        ),
        rule(
            "photo not uploaded",
            "setChatPhoto",
            json!({"chat_id": SG, "photo": "AgACAgIAAx"}),
            400,
            "Bad Request: photo must be uploaded as an InputFile",
        ),
        // Invite links.
        rule(
            "member limit with join request",
            "createChatInviteLink",
            json!({"chat_id": SG, "member_limit": 5, "creates_join_request": true}),
            400,
            "Bad Request: member limit can't be specified for links requiring administrator approval",
        ),
        rule(
            "member limit too high",
            "createChatInviteLink",
            json!({"chat_id": SG, "member_limit": 100_000}),
            400,
            "Bad Request: USAGE_LIMIT_INVALID",
        ),
        rule(
            "link expiring in the past",
            "createChatInviteLink",
            json!({"chat_id": SG, "expire_date": 1000}),
            400,
            "Bad Request: EXPIRE_DATE_INVALID",
        ),
        rule(
            "edit someone else's link",
            "editChatInviteLink",
            json!({"chat_id": SG, "invite_link": OWNER_LINK, "name": "mine"}),
            400,
            "Bad Request: CHAT_ADMIN_REQUIRED",
        ),
        rule(
            "edit a revoked link",
            "editChatInviteLink",
            json!({"chat_id": SG, "invite_link": REVOKED_LINK, "name": "again"}),
            400,
            "Bad Request: INVITE_HASH_EXPIRED",
        ),
        rule(
            "edit an unknown link",
            "editChatInviteLink",
            json!({"chat_id": SG, "invite_link": "https://t.me/+nope"}),
            400,
            "Bad Request: INVITE_HASH_INVALID",
        ),
        rule(
            "approve without a request",
            "approveChatJoinRequest",
            json!({"chat_id": SG, "user_id": OUTSIDER}),
            400,
            "Bad Request: HIDE_REQUESTER_MISSING",
        ),
        // Topics.
        rule(
            "close a closed topic",
            "closeForumTopic",
            json!({"chat_id": SG, "message_thread_id": CLOSED_TOPIC}),
            400,
            "Bad Request: TOPIC_NOT_MODIFIED",
        ),
        rule(
            "reopen an open topic",
            "reopenForumTopic",
            json!({"chat_id": SG, "message_thread_id": OPEN_TOPIC}),
            400,
            "Bad Request: TOPIC_NOT_MODIFIED",
        ),
        rule(
            "edit a topic to its own name",
            "editForumTopic",
            json!({"chat_id": SG, "message_thread_id": OPEN_TOPIC, "name": "Open"}),
            400,
            "Bad Request: TOPIC_NOT_MODIFIED",
        ),
        rule(
            "unknown topic",
            "deleteForumTopic",
            json!({"chat_id": SG, "message_thread_id": 999}),
            400,
            "Bad Request: TOPIC_ID_INVALID",
        ),
        rule(
            "topic without a name",
            "createForumTopic",
            json!({"chat_id": SG, "name": ""}),
            400,
            "Bad Request: name must be non-empty",
        ),
        rule(
            "topic colour",
            "createForumTopic",
            json!({"chat_id": SG, "name": "x", "icon_color": 123}),
            400,
            "Bad Request: invalid icon color specified",
        ),
        // Messages and pins.
        rule(
            "empty message",
            "sendMessage",
            json!({"chat_id": SG, "text": ""}),
            400,
            "Bad Request: message text is empty",
        ),
        rule(
            "message to someone who never started the bot",
            "sendMessage",
            json!({"chat_id": NO_START, "text": "hi"}),
            403,
            "Forbidden: bot can't initiate conversation with a user",
        ),
        rule(
            "message to a deactivated user",
            "sendMessage",
            json!({"chat_id": DEACTIVATED, "text": "hi"}),
            403,
            "Forbidden: user is deactivated",
        ),
        rule(
            "message to a closed topic",
            "sendMessage",
            json!({"chat_id": SG, "text": "hi", "message_thread_id": 999}),
            400,
            "Bad Request: message thread not found",
        ),
        rule(
            "edit a missing message",
            "editMessageText",
            json!({"chat_id": SG, "message_id": 999, "text": "new"}),
            400,
            "Bad Request: message to edit not found",
        ),
        rule(
            "edit a person's message",
            "editMessageText",
            json!({"chat_id": SG, "message_id": MESSAGE, "text": "new"}),
            400,
            "Bad Request: message can't be edited",
        ),
        rule(
            "edit to empty text",
            "editMessageText",
            json!({"chat_id": SG, "message_id": MESSAGE, "text": " "}),
            400,
            "Bad Request: message text is empty",
        ),
        rule(
            "pin a missing message",
            "pinChatMessage",
            json!({"chat_id": SG, "message_id": 999}),
            400,
            "Bad Request: message to pin not found",
        ),
        // Commands.
        rule(
            "command with capitals",
            "setMyCommands",
            json!({"commands": [{"command": "Start", "description": "x"}]}),
            400,
            "Bad Request: BOT_COMMAND_INVALID",
        ),
        rule(
            "command without description",
            "setMyCommands",
            json!({"commands": [{"command": "start", "description": ""}]}),
            400,
            "Bad Request: command description must be non-empty",
        ),
        rule(
            "too many commands",
            "setMyCommands",
            json!({"commands": (0..101).map(|i| json!({"command": format!("c{i}"), "description": "d"})).collect::<Vec<_>>()}),
            400,
            "Bad Request: BOT_COMMANDS_TOO_MUCH",
        ),
        rule(
            "unknown scope",
            "getMyCommands",
            json!({"scope": {"type": "everyone"}}),
            400,
            "Bad Request: can't parse BotCommandScope: Unsupported type specified",
        ),
        rule(
            "scope of an unknown chat",
            "setMyCommands",
            json!({"commands": [], "scope": {"type": "chat", "chat_id": -5}}),
            400,
            "Bad Request: chat not found",
        ),
        // Human-only actions are not Bot API methods.
        rule(
            "addChatMember is not for bots",
            "addChatMember",
            json!({"chat_id": SG, "user_id": OUTSIDER}),
            404,
            "Not Found: method not found",
        ),
        rule(
            "unknown method",
            "getChatHistory",
            json!({"chat_id": SG}),
            404,
            "Not Found: method not found",
        ),
    ]
}

#[tokio::test]
async fn every_rule_answers_with_telegrams_error() {
    let sandbox = start(fixture_world()).await;
    let api = Api::new(&sandbox);
    let before = sandbox.world_snapshot();
    let mut failures = Vec::new();
    for r in bot_rules() {
        let (status, body) = api.call(r.method, r.params.clone()).await;
        let ok = status == r.status
            && body["ok"] == json!(false)
            && body["error_code"] == json!(r.status)
            && body["description"] == json!(r.description);
        if !ok {
            failures.push(format!(
                "{}: expected {} {:?}, got {status} {body}",
                r.name, r.status, r.description
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} rules failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Refused calls change nothing.
    assert_eq!(sandbox.world_snapshot(), before);
    sandbox.shutdown().await.unwrap();
}

#[tokio::test]
async fn upgraded_group_names_its_successor() {
    let sandbox = start(fixture_world()).await;
    let api = Api::new(&sandbox);
    let (status, body) = api
        .call("setChatTitle", json!({"chat_id": OLD_GROUP, "title": "x"}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["parameters"], json!({"migrate_to_chat_id": SG}));
    // A person can upgrade a group too, and the old one then points at the new.
    let new_id = sandbox
        .act(OWNER, "upgradeToSupergroup", json!({"chat_id": GROUP}))
        .unwrap();
    // Reading the old group still works (Client::check_chat_access);
    // writing names the successor.
    api.ok("getChat", json!({"chat_id": GROUP})).await;
    let (_, body) = api
        .call("setChatTitle", json!({"chat_id": GROUP, "title": "x"}))
        .await;
    assert_eq!(body["parameters"]["migrate_to_chat_id"], new_id);
    let chat = api.ok("getChat", json!({"chat_id": new_id})).await;
    assert_eq!(chat["type"], "supergroup");
}

#[tokio::test]
async fn transport_errors() {
    let sandbox = start(fixture_world()).await;
    let api = Api::new(&sandbox);
    let wrong = format!("{}/bot123:wrong/getMe", api.base);
    let r = api.http.get(&wrong).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"ok": false, "error_code": 401, "description": "Unauthorized"})
    );
    // Malformed bodies: the real server logs the parse error and reads the
    // parameters it got (td HttpReader::parse_json_parameters), so the call
    // fails for the missing chat_id.
    let bad = api
        .http
        .post(api.url("getChat"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    assert_eq!(
        bad.json::<Value>().await.unwrap()["description"],
        "Bad Request: chat_id is empty"
    );
    let array = api
        .http
        .post(api.url("getChat"))
        .header("content-type", "application/json")
        .body("[1,2]")
        .send()
        .await
        .unwrap();
    assert_eq!(
        array.json::<Value>().await.unwrap()["description"],
        "Bad Request: chat_id is empty"
    );
    let (status, body) = api.form("getChat", &[("chat_id", "%zz&&==")]).await;
    assert_eq!(
        (status, body["description"].clone()),
        (400, json!("Bad Request: chat not found"))
    );
    // Oversized bodies.
    let huge = vec![b'a'; 51 * 1024 * 1024];
    let r = api
        .http
        .post(api.url("sendMessage"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(huge)
        .send()
        .await;
    if let Ok(r) = r {
        assert_eq!(r.status().as_u16(), 413);
    }
    // Paths that are not the Bot API.
    let r = api
        .http
        .get(format!("{}/nothing/here", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let stats = api.stats().await;
    assert_eq!(stats["unauthorized"], 1);
}

#[tokio::test]
async fn every_request_format_is_accepted() {
    let sandbox = start(fixture_world()).await;
    let api = Api::new(&sandbox);
    // Case-insensitive method names, GET with a query string.
    let r: Value = api
        .http
        .get(format!("{}?chat_id={SG}", api.url("GETCHAT")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["result"]["id"], SG);
    // Urlencoded form with a nested object as JSON text (aiogram, python-telegram-bot).
    let (status, body) = api
        .form(
            "restrictChatMember",
            &[
                ("chat_id", &SG.to_string()),
                ("user_id", &MEMBER.to_string()),
                ("permissions", r#"{"can_send_messages":true}"#),
                ("until_date", "0"),
            ],
        )
        .await;
    assert_eq!((status, &body["result"]), (200, &json!(true)), "{body}");
    // Multipart with a file, and with attach://.
    let chat = SG.to_string();
    for parts in [
        vec![
            ("chat_id", None, chat.as_bytes()),
            ("photo", Some("photo.jpg"), &[1u8; 64][..]),
        ],
        vec![
            ("chat_id", None, chat.as_bytes()),
            ("photo", None, b"attach://pic"),
            ("pic", Some("p.png"), &[1u8; 64][..]),
        ],
    ] {
        let (content_type, body) = multipart(&parts);
        let r: Value = api
            .http
            .post(api.url("setChatPhoto"))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(r["result"], true, "{r}");
    }
    // JSON with ids as strings and booleans as strings.
    let (status, body) = api
        .call(
            "getChatAdministrators",
            json!({"chat_id": SG.to_string(), "return_bots": "true"}),
        )
        .await;
    assert_eq!(status, 200);
    let admins = body["result"].as_array().unwrap();
    assert!(admins.iter().any(|a| a["user"]["id"] == OTHER_BOT));
    assert_eq!(admins[0]["status"], "creator");
    let without = api
        .ok("getChatAdministrators", json!({"chat_id": SG}))
        .await;
    assert!(
        !without
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["user"]["id"] == OTHER_BOT)
    );
    assert!(
        sandbox.stats().spec_violations.is_empty(),
        "{:?}",
        sandbox.stats().spec_violations
    );
}

async fn status_of(api: &Api, chat: i64, user: i64) -> Value {
    api.ok("getChatMember", json!({"chat_id": chat, "user_id": user}))
        .await
}

#[tokio::test]
async fn membership_behaviours() {
    let sandbox = start(fixture_world()).await;
    let api = Api::new(&sandbox);
    // unbanChatMember without only_if_banned kicks a present member…
    api.ok(
        "unbanChatMember",
        json!({"chat_id": SG, "user_id": RESTRICTED, "only_if_banned": true}),
    )
    .await;
    assert_eq!(
        status_of(&api, SG, RESTRICTED).await["status"],
        "restricted"
    );
    api.ok("unbanChatMember", json!({"chat_id": SG, "user_id": MEMBER}))
        .await;
    assert_eq!(status_of(&api, SG, MEMBER).await["status"], "left");
    // …and lifts a ban to "left".
    api.ok(
        "unbanChatMember",
        json!({"chat_id": SG, "user_id": BANNED, "only_if_banned": true}),
    )
    .await;
    assert_eq!(status_of(&api, SG, BANNED).await["status"], "left");
    // until_date under 30 s from now means forever.
    let soon = orgform_now() + 10;
    api.ok(
        "banChatMember",
        json!({"chat_id": CHANNEL, "user_id": MEMBER, "until_date": soon}),
    )
    .await;
    assert_eq!(status_of(&api, CHANNEL, MEMBER).await["until_date"], 0);
    // A time-limited restriction keeps its date.
    let later = orgform_now() + 3600;
    api.ok("restrictChatMember", json!({"chat_id": SG, "user_id": RESTRICTED, "permissions": {"can_send_polls": true}, "until_date": later})).await;
    let m = status_of(&api, SG, RESTRICTED).await;
    assert_eq!(
        (m["until_date"].clone(), m["can_send_messages"].clone()),
        (json!(later), json!(true)),
        "polls imply messages: {m}"
    );
    // All permissions lift the restriction.
    let all: serde_json::Map<String, Value> = orgform::state::Permission::ALL
        .iter()
        .map(|p| (p.api_field().to_string(), json!(true)))
        .collect();
    api.ok(
        "restrictChatMember",
        json!({"chat_id": SG, "user_id": RESTRICTED, "permissions": all}),
    )
    .await;
    assert_eq!(status_of(&api, SG, RESTRICTED).await["status"], "member");
    // In channels can_restrict_members defaults to true on promotion.
    sandbox
        .act(
            OWNER,
            "addChatMember",
            json!({"chat_id": CHANNEL, "user_id": OUTSIDER}),
        )
        .unwrap();
    api.ok(
        "promoteChatMember",
        json!({"chat_id": CHANNEL, "user_id": OUTSIDER, "can_post_messages": true}),
    )
    .await;
    let admin = status_of(&api, CHANNEL, OUTSIDER).await;
    assert_eq!(
        (
            admin["can_restrict_members"].clone(),
            admin["can_manage_chat"].clone(),
            admin["can_be_edited"].clone()
        ),
        (json!(true), json!(true), json!(true))
    );
    // All false demotes.
    api.ok(
        "promoteChatMember",
        json!({"chat_id": CHANNEL, "user_id": OUTSIDER}),
    )
    .await;
    assert_eq!(status_of(&api, CHANNEL, OUTSIDER).await["status"], "member");
    // Exporting a primary link revokes the previous one.
    let first = api.ok("exportChatInviteLink", json!({"chat_id": SG})).await;
    let second = api.ok("exportChatInviteLink", json!({"chat_id": SG})).await;
    assert_ne!(first, second);
    let chat = api.ok("getChat", json!({"chat_id": SG})).await;
    assert_eq!(chat["invite_link"], second);
    assert_eq!(
        sandbox
            .act(OUTSIDER, "joinChat", json!({"invite_link": first}))
            .unwrap_err()
            .description,
        "Bad Request: INVITE_HASH_EXPIRED"
    );
}

fn orgform_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn acting_as_people() {
    let sandbox = start(fixture_world()).await;
    let api = Api::new(&sandbox);
    let err = |r: Result<Value, orgform::sandbox::ApiError>| r.unwrap_err().description;
    // joinChat honours member limits, bans and join requests.
    assert_eq!(
        err(sandbox.act(OUTSIDER, "joinChat", json!({"invite_link": FULL_LINK}))),
        "Bad Request: USERS_TOO_MUCH"
    );
    assert_eq!(
        err(sandbox.act(BANNED, "joinChat", json!({"invite_link": OWNER_LINK}))),
        "Bad Request: USER_BANNED_IN_CHANNEL"
    );
    assert_eq!(
        err(sandbox.act(MEMBER, "joinChat", json!({"invite_link": OWNER_LINK}))),
        "Bad Request: USER_ALREADY_PARTICIPANT"
    );
    assert_eq!(
        err(sandbox.act(
            OUTSIDER,
            "joinChat",
            json!({"invite_link": "https://t.me/+nothing"})
        )),
        "Bad Request: INVITE_HASH_INVALID"
    );
    assert_eq!(
        err(sandbox.act(OUTSIDER, "joinChat", json!({"invite_link": REQUEST_LINK}))),
        "Bad Request: INVITE_REQUEST_SENT"
    );
    let link = api
        .ok(
            "createChatInviteLink",
            json!({"chat_id": SG, "member_limit": 1}),
        )
        .await;
    assert_eq!(link["member_limit"], 1);
    let (status, body) = api
        .act(
            NO_START,
            "joinChat",
            json!({"invite_link": link["invite_link"]}),
        )
        .await;
    assert_eq!((status, body["result"].clone()), (200, json!(true)));
    assert_eq!(
        err(sandbox.act(
            OUTSIDER,
            "joinChat",
            json!({"invite_link": link["invite_link"]})
        )),
        "Bad Request: USERS_TOO_MUCH"
    );
    // The pending request is approved by the bot.
    api.ok(
        "approveChatJoinRequest",
        json!({"chat_id": SG, "user_id": OUTSIDER}),
    )
    .await;
    assert_eq!(status_of(&api, SG, OUTSIDER).await["status"], "member");
    // Human-only settings, with the person's own rights.
    assert_eq!(
        err(sandbox.act(
            MEMBER,
            "setChatSlowModeDelay",
            json!({"chat_id": SG, "seconds": 30})
        )),
        "Bad Request: not enough rights"
    );
    assert_eq!(
        err(sandbox.act(
            OWNER,
            "setChatSlowModeDelay",
            json!({"chat_id": SG, "seconds": 31})
        )),
        "Bad Request: SECONDS_INVALID"
    );
    for (method, params) in [
        (
            "setChatSlowModeDelay",
            json!({"chat_id": SG, "seconds": 30}),
        ),
        (
            "setChatProtectedContent",
            json!({"chat_id": SG, "enabled": true}),
        ),
        (
            "setChatMessageAutoDeleteTime",
            json!({"chat_id": SG, "seconds": 86400}),
        ),
        (
            "setChatJoinByRequest",
            json!({"chat_id": SG, "enabled": true}),
        ),
        ("setChatIsForum", json!({"chat_id": SG, "enabled": false})),
    ] {
        sandbox
            .act(OWNER, method, params)
            .unwrap_or_else(|e| panic!("{method}: {e:?}"));
    }
    let chat = api.ok("getChat", json!({"chat_id": SG})).await;
    assert_eq!(chat["slow_mode_delay"], 30);
    assert_eq!(chat["has_protected_content"], true);
    assert_eq!(chat["message_auto_delete_time"], 86400);
    assert_eq!(chat["join_by_request"], true);
    assert!(chat.get("is_forum").is_none(), "false is omitted: {chat}");
    // A person acts with their rights: an admin the owner promoted can't promote.
    assert_eq!(
        err(sandbox.act(
            HUMAN_ADMIN,
            "promoteChatMember",
            json!({"chat_id": SG, "user_id": MEMBER, "can_pin_messages": true})
        )),
        "Bad Request: not enough rights"
    );
    // The owner can edit anyone and the bot then cannot edit whom the owner promoted.
    sandbox
        .act(
            OWNER,
            "promoteChatMember",
            json!({"chat_id": SG, "user_id": MEMBER, "can_pin_messages": true}),
        )
        .unwrap();
    let m = status_of(&api, SG, MEMBER).await;
    assert_eq!(
        (m["status"].clone(), m["can_be_edited"].clone()),
        (json!("administrator"), json!(false))
    );
    // leaveChat and addChatMember.
    sandbox
        .act(NO_START, "leaveChat", json!({"chat_id": SG}))
        .unwrap();
    assert_eq!(status_of(&api, SG, NO_START).await["status"], "left");
    let mut world = sandbox.world_snapshot();
    world.users.get_mut(&NO_START).unwrap().privacy_restricted = true;
    sandbox.replace_world(world);
    assert_eq!(
        err(sandbox.act(
            OWNER,
            "addChatMember",
            json!({"chat_id": SG, "user_id": NO_START})
        )),
        "Bad Request: USER_PRIVACY_RESTRICTED"
    );
    assert_eq!(
        err(sandbox.act(
            OWNER,
            "addChatMember",
            json!({"chat_id": SG, "user_id": MEMBER})
        )),
        "Bad Request: USER_ALREADY_PARTICIPANT"
    );
    // Unknown people and methods.
    let (status, body) = api.act(424242, "getChat", json!({"chat_id": SG})).await;
    assert_eq!(
        (status, body["description"].clone()),
        (400, json!("Bad Request: user not found"))
    );
    let (status, _) = api.act(OWNER, "fly", json!({})).await;
    assert_eq!(status, 404);
    assert!(
        sandbox.stats().spec_violations.is_empty(),
        "{:?}",
        sandbox.stats().spec_violations
    );
}

/// A multipart/form-data body (reqwest's multipart feature is not enabled).
fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "sandbox-test-boundary-7d1f";
    let mut body = Vec::new();
    for (name, filename, data) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match filename {
            Some(f) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
            ),
            None => body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes()),
        }
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}
