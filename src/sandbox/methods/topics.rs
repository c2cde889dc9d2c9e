//! Forum topics: create, edit, close, reopen, delete, and the General
//! topic's edit/close/reopen/hide/unhide. A topic's thread id is the id of
//! the message that created it, taken from the chat's message counter.

use super::{Call, Outcome, ok};
use crate::sandbox::rules::{self, Accepts, errors};
use crate::sandbox::wire;
use crate::sandbox::world::{GeneralTopic, Topic};
use crate::state::{ChatId, ChatType, Right};

/// The six colours a topic icon may have.
pub const ICON_COLORS: &[i64] = &[7322096, 16766590, 13338331, 9367192, 16749490, 16478047];
const NAME_MAX: usize = 128;

fn forum(call: &Call) -> Result<ChatId, errors::ApiError> {
    let id = call.chat(Accepts::AnyGroup)?;
    let chat = call.chat_ref(id);
    if chat.kind != ChatType::Supergroup || !chat.is_forum {
        return Err(errors::not_a_forum());
    }
    Ok(id)
}

/// Telegram cuts names at 128 characters rather than refusing them.
fn clean_name(name: &str) -> String {
    let name = name.trim();
    let mut out = String::new();
    for c in name.chars() {
        if rules::text_len(&out) + c.len_utf16() > NAME_MAX {
            break;
        }
        out.push(c);
    }
    out
}

pub fn create(call: &mut Call) -> Outcome {
    let id = forum(call)?;
    rules::require_right(
        call.chat_ref(id),
        call.caller,
        Right::ManageTopics,
        call.now,
    )?;
    let name = clean_name(&call.params.str_opt("name").unwrap_or_default());
    if name.is_empty() {
        return Err(errors::topic_title_empty());
    }
    let color = call.params.int_opt("icon_color").unwrap_or(ICON_COLORS[0]);
    if !ICON_COLORS.contains(&color) {
        return Err(errors::icon_color_invalid());
    }
    let emoji = call
        .params
        .str_opt("icon_custom_emoji_id")
        .filter(|e| !e.is_empty());
    let creator = call.caller.id;
    let chat = call.chat_mut(id);
    let thread_id = chat.take_message_id();
    let topic = Topic {
        thread_id,
        name,
        icon_color: color as u32,
        icon_custom_emoji_id: emoji,
        closed: false,
        created_by: creator,
    };
    chat.topics.insert(thread_id, topic.clone());
    Ok(wire::topic(&topic))
}

/// The topic a call names, after checking the caller may manage it
/// (`can_manage_topics`, or being its creator).
fn topic_for(call: &Call, right: Right) -> Result<(ChatId, i64), errors::ApiError> {
    let id = forum(call)?;
    let thread = call.params.int_required("message_thread_id")?;
    let chat = call.chat_ref(id);
    let topic = chat
        .topics
        .get(&thread)
        .ok_or_else(errors::topic_id_invalid)?;
    if topic.created_by != call.caller.id || right == Right::DeleteMessages {
        rules::require_right(chat, call.caller, right, call.now)?;
    }
    Ok((id, thread))
}

pub fn edit(call: &mut Call) -> Outcome {
    let (id, thread) = topic_for(call, Right::ManageTopics)?;
    let name = call.params.str_opt("name").map(|n| clean_name(&n));
    if name.as_deref() == Some("") {
        return Err(errors::topic_title_empty());
    }
    let emoji = call.params.str_opt("icon_custom_emoji_id");
    let topic = call
        .chat_mut(id)
        .topics
        .get_mut(&thread)
        .expect("checked by topic_for");
    let mut changed = false;
    if let Some(name) = name {
        changed |= topic.name != name;
        topic.name = name;
    }
    if let Some(emoji) = emoji {
        let emoji = if emoji.is_empty() { None } else { Some(emoji) };
        changed |= topic.icon_custom_emoji_id != emoji;
        topic.icon_custom_emoji_id = emoji;
    }
    if !changed {
        return Err(errors::topic_not_modified());
    }
    let mut edited = serde_json::Map::new();
    if let Some(name) = call.params.str_opt("name").map(|n| clean_name(&n)) {
        edited.insert("name".into(), serde_json::json!(name));
    }
    if let Some(emoji) = call.params.str_opt("icon_custom_emoji_id") {
        edited.insert("icon_custom_emoji_id".into(), serde_json::json!(emoji));
    }
    service_message(
        call,
        id,
        thread,
        "forum_topic_edited",
        serde_json::Value::Object(edited),
    );
    ok()
}

/// Telegram posts a service message in the topic when it is edited,
/// closed or reopened; an admin bot receives it as a `message` update,
/// except for what the bot did itself. This is how a bot can notice a
/// topic changed by hand.
fn service_message(
    call: &mut Call,
    id: ChatId,
    thread: i64,
    field: &str,
    value: serde_json::Value,
) {
    if call.caller.id == call.world.bot_id() {
        return;
    }
    let now = call.now;
    let message_id = call.chat_mut(id).take_message_id();
    let chat = call.chat_ref(id);
    let mut payload = serde_json::json!({
        "message_id": message_id,
        "date": now,
        "chat": wire::chat(chat),
        "from": wire::user_by_id(call.world, call.caller.id),
        "message_thread_id": thread,
        "is_topic_message": true,
    });
    payload[field] = value;
    crate::sandbox::updates::enqueue(call.world, "message", now, payload);
}

pub fn set_closed(call: &mut Call, closed: bool) -> Outcome {
    let (id, thread) = topic_for(call, Right::ManageTopics)?;
    let topic = call
        .chat_mut(id)
        .topics
        .get_mut(&thread)
        .expect("checked by topic_for");
    if topic.closed == closed {
        return Err(errors::topic_not_modified());
    }
    topic.closed = closed;
    let field = if closed {
        "forum_topic_closed"
    } else {
        "forum_topic_reopened"
    };
    service_message(call, id, thread, field, serde_json::json!({}));
    ok()
}

pub fn delete(call: &mut Call) -> Outcome {
    let (id, thread) = topic_for(call, Right::DeleteMessages)?;
    let chat = call.chat_mut(id);
    chat.topics.remove(&thread);
    let gone: Vec<i64> = chat
        .messages
        .values()
        .filter(|m| m.thread_id == Some(thread))
        .map(|m| m.message_id)
        .collect();
    for m in gone {
        chat.messages.remove(&m);
    }
    let messages = &chat.messages;
    chat.pinned.retain(|p| messages.contains_key(p));
    ok()
}

fn general(call: &Call) -> Result<ChatId, errors::ApiError> {
    let id = forum(call)?;
    rules::require_right(
        call.chat_ref(id),
        call.caller,
        Right::ManageTopics,
        call.now,
    )?;
    Ok(id)
}

pub fn edit_general(call: &mut Call) -> Outcome {
    let id = general(call)?;
    let name = clean_name(&call.params.str_opt("name").unwrap_or_default());
    if name.is_empty() {
        return Err(errors::topic_title_empty());
    }
    let topic = &mut call.chat_mut(id).general_topic;
    if topic.name == name {
        return Err(errors::topic_not_modified());
    }
    topic.name = name;
    ok()
}

pub fn general_flag(
    call: &mut Call,
    field: fn(&mut GeneralTopic) -> &mut bool,
    value: bool,
) -> Outcome {
    let id = general(call)?;
    let flag = field(&mut call.chat_mut(id).general_topic);
    if *flag == value {
        return Err(errors::topic_not_modified());
    }
    *flag = value;
    ok()
}
