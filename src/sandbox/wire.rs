//! World objects in the Bot API's wire shapes: User, Chat, ChatFullInfo,
//! ChatMember, ChatPermissions, ChatInviteLink, ForumTopic, Message.
//!
//! The real server omits false booleans, zero numbers and empty strings from
//! optional fields and always sends required ones; these functions do the
//! same, and the conformance tests hold them to `api-10.3.json`.

use serde_json::{Map, Value, json};

use crate::state::{ChatType, Permission, Permissions, Right, UserId};

use super::rules::can_edit;
use super::world::{Chat, InviteLink, Member, Message, Topic, User, World};

pub fn user(u: &User) -> Value {
    let mut v = json!({"id": u.id, "is_bot": u.is_bot, "first_name": u.first_name});
    if let Some(last) = &u.last_name {
        v["last_name"] = json!(last);
    }
    if let Some(name) = &u.username {
        v["username"] = json!(name);
    }
    v
}

/// A user by id, or a placeholder for ids the world does not know (a
/// deleted account, as Telegram shows them).
pub fn user_by_id(world: &World, id: UserId) -> Value {
    match world.users.get(&id) {
        Some(u) => user(u),
        None => json!({"id": id, "is_bot": false, "first_name": "Deleted Account"}),
    }
}

/// getMe: the bot with its capability flags.
pub fn me(world: &World) -> Value {
    let mut v = user_by_id(world, world.bot_id());
    v["can_join_groups"] = json!(true);
    v["can_read_all_group_messages"] = json!(false);
    v["supports_inline_queries"] = json!(false);
    v["can_connect_to_business"] = json!(false);
    v["has_main_web_app"] = json!(false);
    v
}

/// The short Chat object (in messages and updates).
pub fn chat(c: &Chat) -> Value {
    let mut v = json!({"id": c.id, "type": c.kind.to_string(), "title": c.title});
    if let Some(name) = &c.username {
        v["username"] = json!(name);
    }
    if c.is_forum {
        v["is_forum"] = json!(true);
    }
    v
}

/// A private chat with a user, as Chat.
pub fn private_chat(u: &User) -> Value {
    let mut v = json!({"id": u.id, "type": "private", "first_name": u.first_name});
    if let Some(last) = &u.last_name {
        v["last_name"] = json!(last);
    }
    if let Some(name) = &u.username {
        v["username"] = json!(name);
    }
    v
}

pub fn permissions(p: &Permissions) -> Value {
    let mut m = Map::new();
    for perm in Permission::ALL {
        m.insert(perm.api_field().to_string(), json!(p.contains(perm)));
    }
    Value::Object(m)
}

fn accepted_gift_types() -> Value {
    json!({"unlimited_gifts": false, "limited_gifts": false, "unique_gifts": false,
        "premium_subscription": false, "gifts_from_channels": false})
}

/// getChat: ChatFullInfo with false/zero/empty fields left out.
pub fn chat_full(world: &World, c: &Chat) -> Value {
    let mut v = chat(c);
    // Telegram derives the accent colour from the id when none is chosen.
    v["accent_color_id"] = json!(c.id.unsigned_abs() % 7);
    v["max_reaction_count"] = json!(11);
    v["accepted_gift_types"] = accepted_gift_types();
    if !c.description.is_empty() {
        v["description"] = json!(c.description);
    }
    // TDLib's full chat info carries the current user's own permanent
    // link (ChatManager, `exported_invite`), so the bot sees its primary
    // link once it has one, never another administrator's.
    if let Some(link) = c.primary_link_of(world.bot_id()) {
        v["invite_link"] = json!(link.link);
    }
    if let Some(id) = c.pinned.last()
        && let Some(msg) = c.messages.get(id)
    {
        v["pinned_message"] = message(world, c, msg);
    }
    if c.kind != ChatType::Channel {
        v["permissions"] = permissions(&c.permissions);
    }
    if let Some(photo) = &c.photo {
        v["photo"] = json!({
            "small_file_id": format!("AQADsmall{}{}", c.id.unsigned_abs(), photo.serial),
            "small_file_unique_id": format!("AQs{}", photo.serial),
            "big_file_id": format!("AQADbig{}{}", c.id.unsigned_abs(), photo.serial),
            "big_file_unique_id": format!("AQb{}", photo.serial),
        });
    }
    let flags = [
        ("join_to_send_messages", c.join_to_send_messages),
        ("join_by_request", c.join_by_request),
        ("has_hidden_members", c.has_hidden_members),
        ("has_protected_content", c.has_protected_content),
        // New members see old messages unless a person hid the history.
        (
            "has_visible_history",
            c.kind == crate::state::ChatType::Supergroup && !c.history_hidden,
        ),
    ];
    for (name, on) in flags {
        if on {
            v[name] = json!(true);
        }
    }
    if c.slow_mode_delay > 0 {
        v["slow_mode_delay"] = json!(c.slow_mode_delay);
    }
    if c.message_auto_delete_time > 0 {
        v["message_auto_delete_time"] = json!(c.message_auto_delete_time);
    }
    v
}

/// getChat on a private chat.
pub fn private_chat_full(u: &User) -> Value {
    let mut v = private_chat(u);
    v["accent_color_id"] = json!(u.id.unsigned_abs() % 7);
    v["max_reaction_count"] = json!(11);
    v["accepted_gift_types"] = accepted_gift_types();
    v
}

/// A ChatMember as `viewer` sees it (`can_be_edited` depends on who asks).
pub fn chat_member(
    world: &World,
    c: &Chat,
    user_id: UserId,
    member: &Member,
    viewer: UserId,
) -> Value {
    let user = user_by_id(world, user_id);
    match member {
        Member::Creator {
            is_anonymous,
            custom_title,
        } => {
            let mut v = json!({"status": "creator", "user": user, "is_anonymous": is_anonymous});
            if let Some(t) = custom_title.as_deref().filter(|t| !t.is_empty()) {
                v["custom_title"] = json!(t);
            }
            v
        }
        Member::Administrator {
            rights,
            custom_title,
            ..
        } => {
            let mut v = json!({"status": "administrator", "user": user, "can_be_edited": can_edit(c, viewer, member)});
            // Client::json_store_administrator_rights: can_manage_topics only
            // in supergroups.
            for right in Right::ALL {
                let shown = if *right == Right::ManageTopics {
                    c.kind == ChatType::Supergroup
                } else {
                    right.always_present() || right.valid_for(c.kind)
                };
                if shown {
                    v[right.api_field()] = json!(rights.contains(right));
                }
            }
            if let Some(t) = custom_title.as_deref().filter(|t| !t.is_empty()) {
                v["custom_title"] = json!(t);
            }
            v
        }
        Member::Member { tag } => {
            let mut v = json!({"status": "member", "user": user});
            if let Some(t) = tag.as_deref().filter(|t| !t.is_empty()) {
                v["tag"] = json!(t);
            }
            v
        }
        Member::Restricted {
            permissions: p,
            is_member,
            until_date,
            tag,
        } => {
            let mut v = json!({"status": "restricted", "user": user, "is_member": is_member, "until_date": until_date});
            if let (Value::Object(target), Value::Object(perms)) = (&mut v, permissions(p)) {
                target.extend(perms);
            }
            if let Some(t) = tag.as_deref().filter(|t| !t.is_empty()) {
                v["tag"] = json!(t);
            }
            v
        }
        Member::Left => json!({"status": "left", "user": user}),
        Member::Kicked { until_date } => {
            json!({"status": "kicked", "user": user, "until_date": until_date})
        }
    }
}

/// A ChatInviteLink as `viewer` sees it. The Bot API documents that a link
/// created by another administrator comes back with its second part replaced
/// by "…" (ChatInviteLink.invite_link in api-10.3.json); which characters
/// are kept is a best guess: the first half of the hash.
pub fn invite_link_for(world: &World, link: &InviteLink, c: &Chat, viewer: i64) -> Value {
    let mut v = invite_link(world, link, c);
    // Only the Bot API masks; a person acting through /sandbox/act sees
    // links as a Telegram app does.
    if viewer == world.bot_id() && link.creator != viewer {
        v["invite_link"] = json!(masked_link(&link.link));
    }
    v
}

/// `https://t.me/+AbCdEfGh` → `https://t.me/+AbCd…`.
pub fn masked_link(link: &str) -> String {
    let (head, hash) = link.rsplit_once('+').unwrap_or(("", link));
    let keep: String = hash.chars().take(hash.chars().count() / 2).collect();
    if head.is_empty() {
        format!("{keep}…")
    } else {
        format!("{head}+{keep}…")
    }
}

fn invite_link(world: &World, link: &InviteLink, c: &Chat) -> Value {
    let mut v = json!({
        "invite_link": link.link,
        "creator": user_by_id(world, link.creator),
        "creates_join_request": link.creates_join_request,
        "is_primary": link.is_primary,
        "is_revoked": link.is_revoked,
    });
    if let Some(name) = link.name.as_deref().filter(|n| !n.is_empty()) {
        v["name"] = json!(name);
    }
    if let Some(d) = link.expire_date.filter(|d| *d > 0) {
        v["expire_date"] = json!(d);
    }
    if let Some(l) = link.member_limit.filter(|l| *l > 0) {
        v["member_limit"] = json!(l);
    }
    if let Some((period, price)) = link.subscription {
        v["subscription_period"] = json!(period);
        v["subscription_price"] = json!(price);
    }
    let pending = c
        .join_requests
        .values()
        .filter(|r| r.invite_link.as_deref() == Some(link.link.as_str()))
        .count();
    if pending > 0 {
        v["pending_join_request_count"] = json!(pending);
    }
    v
}

pub fn topic(t: &Topic) -> Value {
    let mut v =
        json!({"message_thread_id": t.thread_id, "name": t.name, "icon_color": t.icon_color});
    if let Some(e) = t.icon_custom_emoji_id.as_deref().filter(|e| !e.is_empty()) {
        v["icon_custom_emoji_id"] = json!(e);
    }
    v
}

/// A message in a group or channel. Channel posts carry `sender_chat`
/// instead of `from`, as Telegram sends them.
pub fn message(world: &World, c: &Chat, msg: &Message) -> Value {
    let mut v = json!({"message_id": msg.message_id, "date": msg.date, "chat": chat(c)});
    if c.kind == ChatType::Channel {
        v["sender_chat"] = chat(c);
    } else {
        v["from"] = user_by_id(world, msg.from);
    }
    if let Some(thread) = msg.thread_id {
        v["message_thread_id"] = json!(thread);
        v["is_topic_message"] = json!(true);
    }
    if !msg.text.is_empty() {
        v["text"] = json!(msg.text);
    }
    if let Some(d) = msg.edit_date {
        v["edit_date"] = json!(d);
    }
    v
}

pub fn private_message(world: &World, to: &User, msg: &Message) -> Value {
    let mut v = json!({"message_id": msg.message_id, "date": msg.date, "chat": private_chat(to),
        "from": user_by_id(world, msg.from)});
    if !msg.text.is_empty() {
        v["text"] = json!(msg.text);
    }
    v
}
