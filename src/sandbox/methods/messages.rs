//! Messages: sendMessage (to groups, channels and to users who started the
//! bot, which is how orgform hands out personal invite links),
//! editMessageText (of the bot's own messages) and pins.

use super::{Call, Outcome, ok};
use crate::sandbox::request::ChatRef;
use crate::sandbox::rules::{self, Accepts, errors};
use crate::sandbox::wire;
use crate::sandbox::world::{Member, Message};
use crate::state::{ChatId, ChatType, Permission, Right};

const TEXT_MAX: usize = 4096;

/// sendMessage (`Client::process_send_message_query`): the text is read
/// before the chat (`get_input_message_text`: `message text is empty`).
pub fn send_message(call: &mut Call) -> Outcome {
    let text = call.params.str_opt("text").unwrap_or_default();
    if text.trim().is_empty() {
        return Err(errors::message_text_empty());
    }
    let target = call.params.chat_id()?;
    if rules::text_len(&text) > TEXT_MAX {
        return Err(errors::message_too_long());
    }
    if let ChatRef::Id(user_id) = target
        && user_id > 0
    {
        return send_private(call, user_id, text);
    }
    let id = call.chat(Accepts::AnyGroup)?;
    let chat = call.chat_ref(id);
    let caller = call.caller;
    match chat.kind {
        // DialogManager::can_send_message_to_dialog.
        ChatType::Channel => {
            if !rules::holds(chat, caller, Right::PostMessages, call.now) {
                return Err(errors::need_channel_admin());
            }
        }
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
    // Client::check_message_topic: in a forum the General topic cannot be
    // named by its id 1 ("message thread not found"), an unknown topic is
    // not found either; outside forums the thread id is not checked.
    let thread = thread.filter(|_| chat.is_forum);
    if let Some(thread) = thread {
        if thread == 1 {
            return Err(errors::message_thread_not_found());
        }
        {
            // An unknown or closed topic.
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
        thread_id: thread,
        edit_date: None,
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
        edit_date: None,
    };
    chat.next_message_id += 1;
    chat.messages.push(msg.clone());
    Ok(wire::private_message(call.world, &user, &msg))
}

/// editMessageText (`Client::process_edit_message_text_query`): the text
/// first, then the message (`check_message`, "message to edit").
pub fn edit_text(call: &mut Call) -> Outcome {
    let text = call.params.str_opt("text").unwrap_or_default();
    if text.trim().is_empty() {
        return Err(errors::message_text_empty());
    }
    if call.params.has("inline_message_id") {
        return Err(errors::message_to_edit_not_found());
    }
    let id = call.chat(Accepts::AnyGroup)?;
    let message_id = call.params.int_opt("message_id").unwrap_or(0);
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
    let now = call.now;
    let chat = call.chat_mut(id);
    let message = chat.messages.get_mut(&message_id).expect("checked above");
    message.text = text;
    message.edit_date = Some(now);
    let message = message.clone();
    Ok(wire::message(call.world, call.chat_ref(id), &message))
}

/// DialogManager::can_pin_messages: `can_pin_messages` (in channels
/// `can_edit_messages`), else `not enough rights to manage pinned messages in
/// the chat`.
fn require_pin_right(call: &Call, id: ChatId) -> Result<(), errors::ApiError> {
    let chat = call.chat_ref(id);
    let right = if chat.kind == ChatType::Channel {
        Right::EditMessages
    } else {
        Right::PinMessages
    };
    if rules::holds(chat, call.caller, right, call.now) {
        Ok(())
    } else {
        Err(errors::rights_pin())
    }
}

/// pinChatMessage: the message is looked up by the Bot API server first
/// (`check_message`, "message to pin not found"), then TDLib checks the right.
pub fn pin(call: &mut Call) -> Outcome {
    let id = call.chat(Accepts::AnyGroup)?;
    let message_id = call.params.int_opt("message_id").unwrap_or(0);
    if !call.chat_ref(id).messages.contains_key(&message_id) {
        return Err(errors::message_to_pin_not_found());
    }
    require_pin_right(call, id)?;
    let chat = call.chat_mut(id);
    chat.pinned.retain(|m| *m != message_id);
    chat.pinned.push(message_id);
    ok()
}

/// unpinChatMessage (`Client::process_unpin_chat_message_query`): without a
/// message id the server asks TDLib for the pinned message and answers
/// `message to unpin not found` when there is none
/// (TdOnGetChatPinnedMessageToUnpinCallback).
pub fn unpin(call: &mut Call) -> Outcome {
    let id = call.chat(Accepts::AnyGroup)?;
    let message_id = match call.params.int_opt("message_id").filter(|m| *m > 0) {
        Some(message_id) => {
            if !call.chat_ref(id).messages.contains_key(&message_id) {
                return Err(errors::message_to_unpin_not_found());
            }
            message_id
        }
        None => *call
            .chat_ref(id)
            .pinned
            .last()
            .ok_or_else(errors::message_to_unpin_not_found)?,
    };
    require_pin_right(call, id)?;
    call.chat_mut(id).pinned.retain(|m| *m != message_id);
    ok()
}

/// unpinAllChatMessages (MessagesManager::unpin_all_dialog_messages): the
/// right, then success whether or not anything was pinned.
pub fn unpin_all(call: &mut Call) -> Outcome {
    let id = call.chat(Accepts::AnyGroup)?;
    require_pin_right(call, id)?;
    call.chat_mut(id).pinned.clear();
    ok()
}

/// startBot (a person, through `/sandbox/act`): press Start in the private
/// chat with the bot, as the Telegram apps do.
pub fn start_bot(call: &mut Call) -> Outcome {
    if call.caller.is_bot {
        return Err(errors::not_found());
    }
    let (user, now) = (call.caller.id, call.now);
    super::super::updates::started_bot(call.world, user, now);
    super::ok()
}
