//! Messages: sendMessage (to groups, channels and to users who started the
//! bot, which is how orgform hands out personal invite links),
//! editMessageText (of the bot's own messages) and pins.

use super::{Call, Outcome, ok};
use crate::sandbox::request::ChatRef;
use crate::sandbox::rules::{self, Accepts, errors};
use crate::sandbox::wire;
use crate::sandbox::world::{Member, Message};
use crate::state::{ChatType, Permission, Right};

const TEXT_MAX: usize = 4096;

pub fn send_message(call: &mut Call) -> Outcome {
    let target = call.params.chat_id()?;
    let text = call.params.str_opt("text").unwrap_or_default();
    if text.trim().is_empty() {
        return Err(errors::message_text_empty());
    }
    if rules::text_len(&text) > TEXT_MAX {
        return Err(errors::message_too_long());
    }
    if let ChatRef::Id(user_id) = target {
        if user_id > 0 {
            return send_private(call, user_id, text);
        }
    }
    let id = call.chat(Accepts::AnyGroup)?;
    let chat = call.chat_ref(id);
    let caller = call.caller;
    match chat.kind {
        ChatType::Channel => rules::require_right(chat, caller, Right::PostMessages, call.now)?,
        _ => {
            let allowed = match chat.status(caller.id, call.now) {
                Member::Creator { .. } | Member::Administrator { .. } => true,
                Member::Member { .. } => chat.permissions.contains(&Permission::SendMessages),
                Member::Restricted { permissions, .. } => {
                    permissions.contains(&Permission::SendMessages)
                        && chat.permissions.contains(&Permission::SendMessages)
                }
                _ => false,
            };
            if !allowed {
                return Err(errors::not_enough_rights_to_send());
            }
        }
    }
    let thread = call.params.int_opt("message_thread_id").filter(|t| *t != 0);
    if let Some(thread) = thread {
        if !chat.is_forum {
            return Err(errors::message_thread_not_found());
        }
        if thread != 1 {
            let topic = chat
                .topics
                .get(&thread)
                .ok_or_else(errors::message_thread_not_found)?;
            if topic.closed
                && rules::require_right(chat, caller, Right::ManageTopics, call.now).is_err()
            {
                return Err(errors::topic_closed());
            }
        }
    }
    let now = call.now;
    let chat = call.chat_mut(id);
    let message_id = chat.take_message_id();
    let msg = Message {
        message_id,
        from: caller.id,
        date: now,
        text,
        thread_id: thread.filter(|t| *t != 1),
    };
    chat.messages.insert(message_id, msg.clone());
    Ok(wire::message(call.world, call.chat_ref(id), &msg))
}

fn send_private(call: &mut Call, user_id: i64, text: String) -> Outcome {
    let user = call
        .world
        .users
        .get(&user_id)
        .ok_or_else(errors::chat_not_found)?
        .clone();
    if user.deactivated {
        return Err(errors::user_deactivated());
    }
    if !user.started_bot {
        return Err(errors::cant_initiate_conversation());
    }
    let from = call.caller.id;
    let chat = call.world.private_chats.entry(user_id).or_default();
    chat.next_message_id = chat.next_message_id.max(1);
    let msg = Message {
        message_id: chat.next_message_id,
        from,
        date: call.now,
        text,
        thread_id: None,
    };
    chat.next_message_id += 1;
    chat.messages.push(msg.clone());
    Ok(wire::private_message(call.world, &user, &msg))
}

pub fn edit_text(call: &mut Call) -> Outcome {
    if call.params.has("inline_message_id") {
        return Err(errors::message_to_edit_not_found());
    }
    let id = call.chat(Accepts::AnyGroup)?;
    let message_id = call.params.int_opt("message_id").unwrap_or(0);
    let text = call.params.str_opt("text").unwrap_or_default();
    if text.trim().is_empty() {
        return Err(errors::message_text_empty());
    }
    if rules::text_len(&text) > TEXT_MAX {
        return Err(errors::message_too_long());
    }
    let caller = call.caller.id;
    let chat = call.chat_ref(id);
    let message = chat
        .messages
        .get(&message_id)
        .ok_or_else(errors::message_to_edit_not_found)?;
    if message.from != caller {
        return Err(errors::message_cant_be_edited());
    }
    if message.text == text {
        return Err(errors::message_not_modified());
    }
    let chat = call.chat_mut(id);
    let message = chat.messages.get_mut(&message_id).expect("checked above");
    message.text = text;
    let message = message.clone();
    Ok(wire::message(call.world, call.chat_ref(id), &message))
}

/// Pinning needs can_pin_messages, in channels can_edit_messages.
fn pin_right(kind: ChatType) -> Right {
    if kind == ChatType::Channel {
        Right::EditMessages
    } else {
        Right::PinMessages
    }
}

pub fn pin(call: &mut Call) -> Outcome {
    let id = call.chat(Accepts::AnyGroup)?;
    let chat = call.chat_ref(id);
    rules::require_right(chat, call.caller, pin_right(chat.kind), call.now)?;
    let message_id = call.params.int_opt("message_id").unwrap_or(0);
    if !chat.messages.contains_key(&message_id) {
        return Err(errors::message_to_pin_not_found());
    }
    let chat = call.chat_mut(id);
    chat.pinned.retain(|m| *m != message_id);
    chat.pinned.push(message_id);
    ok()
}

pub fn unpin(call: &mut Call) -> Outcome {
    let id = call.chat(Accepts::AnyGroup)?;
    let chat = call.chat_ref(id);
    rules::require_right(chat, call.caller, pin_right(chat.kind), call.now)?;
    match call.params.int_opt("message_id").filter(|m| *m != 0) {
        Some(message_id) => {
            if !chat.messages.contains_key(&message_id) {
                return Err(errors::message_to_unpin_not_found());
            }
            call.chat_mut(id).pinned.retain(|m| *m != message_id);
        }
        None => {
            call.chat_mut(id).pinned.pop();
        }
    }
    ok()
}

pub fn unpin_all(call: &mut Call) -> Outcome {
    let id = call.chat(Accepts::AnyGroup)?;
    let chat = call.chat_ref(id);
    rules::require_right(chat, call.caller, pin_right(chat.kind), call.now)?;
    call.chat_mut(id).pinned.clear();
    ok()
}
