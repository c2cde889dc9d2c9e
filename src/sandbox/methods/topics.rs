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

/// `can_edit_topics` in TDLib: an administrator with `can_manage_topics`
/// (the owner holds it).
fn can_edit_topics(call: &Call, id: ChatId) -> bool {
    rules::admin_rights(call.chat_ref(id), call.caller.id, call.now)
        .is_some_and(|r| r.contains(&Right::ManageTopics))
}

/// `can_create_topics`: `can_edit_topics`, or a member whose permissions
/// include `can_manage_topics`.
fn can_create_topics(call: &Call, id: ChatId) -> bool {
    rules::holds(
        call.chat_ref(id),
        call.caller,
        Right::ManageTopics,
        call.now,
    )
}

/// createForumTopic (ForumTopicManager::create_forum_topic): the forum, the
/// right (`not enough rights to create a topic`), the name cleaned and cut
/// to 128 characters (`name must be non-empty`), the colour
/// (`get_integer_arg`, 0 when omitted; outside 0..=0xFFFFFF `invalid icon
/// color specified`).
pub fn create(call: &mut Call) -> Outcome {
    let id = forum(call)?;
    if !can_create_topics(call, id) {
        return Err(errors::rights_create_topic());
    }
    let name = rules::clean_name(&call.params.str_opt("name").unwrap_or_default(), NAME_MAX);
    if name.is_empty() {
        return Err(errors::topic_name_empty());
    }
    let color = call
        .params
        .str_opt("icon_color")
        .map_or(0, |c| c.trim().parse::<i64>().unwrap_or(0));
    if !(0..=0xFF_FFFF).contains(&color) {
        return Err(errors::invalid_icon_color());
    }
    // Best guess: the server gives an omitted colour the first of the six
    // and refuses other colours with the same text.
    let color = if color == 0 { ICON_COLORS[0] } else { color };
    if !ICON_COLORS.contains(&color) {
        return Err(errors::invalid_icon_color());
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

/// The topic a call names. `message_thread_id` is read with
/// `get_forum_topic_id` (missing or negative: 0, which
/// `can_be_forum_topic_id` refuses); the right is needed only for a topic
/// the caller did not create; an unknown topic is the server's
/// TOPIC_ID_INVALID.
fn topic_for(
    call: &Call,
    may: fn(&Call, ChatId) -> bool,
    refused: fn() -> errors::ApiError,
) -> Result<(ChatId, i64), errors::ApiError> {
    let id = forum(call)?;
    let thread = call
        .params
        .str_opt("message_thread_id")
        .map_or(0, |t| t.trim().parse::<i64>().unwrap_or(0).max(0));
    if thread <= 0 {
        return Err(errors::invalid_topic_id());
    }
    let chat = call.chat_ref(id);
    if let Some(topic) = chat.topics.get(&thread)
        && topic.created_by != call.caller.id
        && !may(call, id)
    {
        return Err(refused());
    }
    if !chat.topics.contains_key(&thread) {
        return Err(errors::topic_id_invalid());
    }
    Ok((id, thread))
}

/// editForumTopic (ForumTopicManager::edit_forum_topic): an empty `name`
/// leaves the name alone; with neither a name nor `icon_custom_emoji_id`
/// there is nothing to do and the call succeeds; the same values again are
/// the server's TOPIC_NOT_MODIFIED.
pub fn edit(call: &mut Call) -> Outcome {
    let (id, thread) = topic_for(call, can_edit_topics, errors::rights_edit_topic)?;
    let raw_name = call.params.str_opt("name").unwrap_or_default();
    let edit_name = !raw_name.is_empty();
    let name = rules::clean_name(&raw_name, NAME_MAX);
    if edit_name && name.is_empty() {
        return Err(errors::topic_name_empty());
    }
    let emoji = call.params.str_opt("icon_custom_emoji_id");
    if !edit_name && emoji.is_none() {
        return ok();
    }
    let topic = call
        .chat_mut(id)
        .topics
        .get_mut(&thread)
        .expect("checked by topic_for");
    let mut changed = false;
    if edit_name {
        changed |= topic.name != name;
        topic.name = name.clone();
    }
    if let Some(emoji) = &emoji {
        let emoji = Some(emoji.clone()).filter(|e| !e.is_empty());
        changed |= topic.icon_custom_emoji_id != emoji;
        topic.icon_custom_emoji_id = emoji;
    }
    if !changed {
        return Err(errors::topic_not_modified());
    }
    let mut edited = serde_json::Map::new();
    if edit_name {
        edited.insert("name".into(), serde_json::json!(name));
    }
    if let Some(emoji) = emoji {
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
    let (id, thread) = topic_for(call, can_edit_topics, errors::rights_close_topic)?;
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
    let (id, thread) = topic_for(
        call,
        |call, id| {
            rules::admin_rights(call.chat_ref(id), call.caller.id, call.now)
                .is_some_and(|r| r.contains(&Right::DeleteMessages))
        },
        errors::rights_delete_topic,
    )?;
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

/// The General topic's methods: the forum, then `can_edit_topics`
/// (ForumTopicManager::edit_forum_topic for the name, toggle_forum_topic_is_closed
/// and toggle_forum_topic_is_hidden for the flags, whose refusal text is
/// the same "close or open" one).
fn general(call: &Call, refused: fn() -> errors::ApiError) -> Result<ChatId, errors::ApiError> {
    let id = forum(call)?;
    if !can_edit_topics(call, id) {
        return Err(refused());
    }
    Ok(id)
}

/// editGeneralForumTopic: the name is required here (Client reads it as the
/// new name; empty means nothing to change in TDLib, which succeeds).
pub fn edit_general(call: &mut Call) -> Outcome {
    let id = general(call, errors::rights_edit_topic)?;
    let raw = call.params.str_opt("name").unwrap_or_default();
    if raw.is_empty() {
        return ok();
    }
    let name = rules::clean_name(&raw, NAME_MAX);
    if name.is_empty() {
        return Err(errors::topic_name_empty());
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
    let id = general(call, errors::rights_close_topic)?;
    let flag = field(&mut call.chat_mut(id).general_topic);
    if *flag == value {
        return Err(errors::topic_not_modified());
    }
    *flag = value;
    ok()
}

/// hideGeneralForumTopic: "The topic will be automatically closed if it was
/// open" (Bot API documentation; the server does it).
pub fn hide_general(call: &mut Call) -> Outcome {
    general_flag(call, |g| &mut g.hidden, true)?;
    let id = call.chat(Accepts::AnyGroup)?;
    call.chat_mut(id).general_topic.closed = true;
    ok()
}

/// reopenGeneralForumTopic: "The topic will be automatically unhidden if it
/// was hidden" (Bot API documentation).
pub fn reopen_general(call: &mut Call) -> Outcome {
    general_flag(call, |g| &mut g.closed, false)?;
    let id = call.chat(Accepts::AnyGroup)?;
    call.chat_mut(id).general_topic.hidden = false;
    ok()
}
