//! Methods an organisation's admin bot uses beyond members and settings:
//! deleteMessage/deleteMessages, banChatSenderChat/unbanChatSenderChat,
//! unpinAllForumTopicMessages/unpinAllGeneralForumTopicMessages,
//! set/getMyDefaultAdministratorRights, verifyChat/removeChatVerification
//! and answerChatJoinRequestQuery. Each follows the real server's handler in
//! telegram-bot-api `Client.cpp` and the TDLib manager behind it; where the
//! answer comes from Telegram's servers and is not in those sources, the
//! doc comment says it is a best guess.

use serde_json::{Value, json};

use super::{Call, Outcome, ok};
use crate::sandbox::rules::{self, Accepts, Access, errors};
use crate::state::{ChatId, ChatType, Right, Rights};

/// How long a bot may delete its own messages in groups (48 hours).
const DELETE_WINDOW: i64 = 48 * 3600;

/// Whether the caller may delete this message (MessagesManager's
/// `can_delete_message` for bots: its own messages within 48 hours, anyone's
/// with `can_delete_messages`; in channels posts need the right or to be
/// the bot's own).
fn may_delete(call: &Call, id: ChatId, message_id: i64) -> bool {
    let chat = call.chat_ref(id);
    let Some(message) = chat.messages.get(&message_id) else {
        return false;
    };
    let own = message.from == call.caller.id && call.now - message.date < DELETE_WINDOW;
    let right = rules::admin_rights(chat, call.caller.id, call.now)
        .is_some_and(|r| r.contains(&Right::DeleteMessages));
    own || right
}

fn delete_one(call: &mut Call, id: ChatId, message_id: i64) {
    let chat = call.chat_mut(id);
    chat.messages.remove(&message_id);
    chat.pinned.retain(|m| *m != message_id);
}

/// deleteMessage (`Client::process_delete_message_query`): `chat identifier
/// is not specified`, `message identifier is not specified`, then the
/// message (`message to delete not found`), then the server's
/// MESSAGE_DELETE_FORBIDDEN, worded `message can't be deleted`.
pub fn delete_message(call: &mut Call) -> Outcome {
    if !call.params.has("chat_id") {
        return Err(errors::ApiError::bad_request(
            "chat identifier is not specified",
        ));
    }
    let message_id = call.params.int_opt("message_id").unwrap_or(0).max(0);
    if message_id == 0 {
        return Err(errors::ApiError::bad_request(
            "message identifier is not specified",
        ));
    }
    let id = call.chat(Accepts::AnyGroup)?;
    if !call.chat_ref(id).messages.contains_key(&message_id) {
        return Err(errors::message_to_delete_not_found());
    }
    if !may_delete(call, id, message_id) {
        return Err(errors::message_cant_be_deleted());
    }
    delete_one(call, id, message_id);
    ok()
}

/// The `message_ids` array as `Client::get_message_ids` reads it (at most 100).
fn message_ids(call: &Call) -> Result<Vec<i64>, errors::ApiError> {
    let list = match call.params.raw("message_ids") {
        None => Vec::new(),
        Some(Value::String(s)) if s.is_empty() => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Array(a)) => a,
            Ok(_) => {
                return Err(errors::ApiError::bad_request(
                    "expected an Array of message identifiers",
                ));
            }
            Err(_) => return Err(errors::cant_parse_object("message_ids")),
        },
        Some(_) => {
            return Err(errors::ApiError::bad_request(
                "expected an Array of message identifiers",
            ));
        }
    };
    if list.is_empty() {
        return Err(errors::ApiError::bad_request(
            "message identifiers are not specified",
        ));
    }
    if list.len() > 100 {
        return Err(errors::ApiError::bad_request(
            "too many message identifiers specified",
        ));
    }
    list.iter()
        .map(|v| {
            let text = match v {
                Value::Number(n) => n.to_string(),
                Value::String(s) => s.clone(),
                _ => {
                    return Err(errors::ApiError::bad_request(
                        "message identifier must be a Number",
                    ));
                }
            };
            text.parse::<i32>().map(i64::from).map_err(|_| {
                errors::ApiError::bad_request("can't parse message identifier as a Number")
            })
        })
        .collect()
}

/// deleteMessages: messages that cannot be found are skipped
/// (`check_messages` with `allow_empty`); one that may not be deleted
/// refuses the call (best guess: the server answers for the whole batch).
pub fn delete_messages(call: &mut Call) -> Outcome {
    let ids = message_ids(call)?;
    let id = call.chat(Accepts::AnyGroup)?;
    let found: Vec<i64> = ids
        .into_iter()
        .filter(|m| call.chat_ref(id).messages.contains_key(m))
        .collect();
    if found.iter().any(|m| !may_delete(call, id, *m)) {
        return Err(errors::message_cant_be_deleted());
    }
    for m in found {
        delete_one(call, id, m);
    }
    ok()
}

/// The sender chat of ban/unbanChatSenderChat: `check_chat_no_fail` never
/// fails, so an unknown chat reaches TDLib's `restrict_channel_participant`,
/// which answers `member not found` (best guess for ids it cannot resolve).
fn sender_chat(call: &Call) -> Result<ChatId, errors::ApiError> {
    let sender = call.params.int_opt("sender_chat_id").unwrap_or(0);
    if sender >= 0 || !call.world.chats.contains_key(&sender) {
        return Err(errors::ApiError::bad_request("member not found"));
    }
    Ok(sender)
}

fn sender_chat_call(call: &mut Call, ban: bool) -> Outcome {
    let id = call.chat(Accepts::AnyGroup)?;
    if call.chat_ref(id).kind == ChatType::Group {
        // DialogParticipantManager::ban_dialog_participant.
        return Err(errors::ApiError::bad_request(
            "can't ban chats in basic groups",
        ));
    }
    let sender = sender_chat(call)?;
    if !super::settings::has_right(call.chat_ref(id), call, Right::RestrictMembers) {
        return Err(errors::rights_restrict());
    }
    let set = &mut call.chat_mut(id).banned_sender_chats;
    if ban {
        set.insert(sender);
    } else {
        set.remove(&sender);
    }
    ok()
}

/// banChatSenderChat (`Client::process_ban_chat_sender_chat_query`).
pub fn ban_sender_chat(call: &mut Call) -> Outcome {
    sender_chat_call(call, true)
}

/// unbanChatSenderChat.
pub fn unban_sender_chat(call: &mut Call) -> Outcome {
    sender_chat_call(call, false)
}

/// The pin right as DialogManager::can_pin_messages asks for it.
fn require_pin(call: &Call, id: ChatId) -> Result<(), errors::ApiError> {
    if super::settings::has_right(call.chat_ref(id), call, Right::PinMessages) {
        Ok(())
    } else {
        Err(errors::rights_pin())
    }
}

/// unpinAllForumTopicMessages (MessagesManager::unpin_all_dialog_messages
/// with a topic): the right, then the topic id (`invalid forum topic
/// identifier specified`), then every pin in the topic goes.
pub fn unpin_all_topic(call: &mut Call) -> Outcome {
    let thread = call
        .params
        .str_opt("message_thread_id")
        .map_or(0, |t| t.trim().parse::<i64>().unwrap_or(0).max(0));
    let id = call.chat(Accepts::AnyGroup)?;
    require_pin(call, id)?;
    let chat = call.chat_ref(id);
    if thread <= 0 || !chat.is_forum {
        return Err(errors::invalid_topic_id());
    }
    unpin_where(call, id, Some(thread));
    ok()
}

/// unpinAllGeneralForumTopicMessages: the same for the General topic.
pub fn unpin_all_general(call: &mut Call) -> Outcome {
    let id = call.chat(Accepts::AnyGroup)?;
    if !call.chat_ref(id).is_forum {
        return Err(errors::not_a_forum());
    }
    require_pin(call, id)?;
    unpin_where(call, id, None);
    ok()
}

fn unpin_where(call: &mut Call, id: ChatId, thread: Option<i64>) {
    let chat = call.chat_mut(id);
    let messages = &chat.messages;
    chat.pinned
        .retain(|m| messages.get(m).is_some_and(|msg| msg.thread_id != thread));
}

/// The rights object of setMyDefaultAdministratorRights
/// (`Client::get_chat_administrator_rights`): optional; every field an
/// optional boolean.
fn rights_param(call: &Call) -> Result<Option<Rights>, errors::ApiError> {
    let object = match call.params.raw("rights") {
        None => return Ok(None),
        Some(Value::String(s)) if s.is_empty() => return Ok(None),
        Some(Value::Object(m)) => m.clone(),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => m,
            Ok(_) => {
                return Err(errors::ApiError::bad_request(
                    "can't parse ChatAdministratorRights: ChatAdministratorRights must be an Object",
                ));
            }
            Err(_) => return Err(errors::cant_parse_object("ChatAdministratorRights")),
        },
        Some(_) => {
            return Err(errors::ApiError::bad_request(
                "can't parse ChatAdministratorRights: ChatAdministratorRights must be an Object",
            ));
        }
    };
    let mut rights = Rights::new();
    for &right in Right::ALL {
        match object.get(right.api_field()) {
            None | Some(Value::Bool(false)) => {}
            Some(Value::Bool(true)) => {
                rights.insert(right);
            }
            Some(_) => {
                return Err(errors::ApiError::bad_request(format!(
                    "can't parse ChatAdministratorRights: Field \"{}\" must be of type Boolean",
                    right.api_field()
                )));
            }
        }
    }
    Ok(Some(rights))
}

/// setMyDefaultAdministratorRights: groups, or channels with `for_channels`;
/// without `rights` the defaults are cleared.
pub fn set_default_rights(call: &mut Call) -> Outcome {
    let for_channels = call.params.bool_or("for_channels", false);
    let rights = rights_param(call)?;
    if for_channels {
        call.world.default_channel_rights = rights;
    } else {
        call.world.default_group_rights = rights;
    }
    ok()
}

/// getMyDefaultAdministratorRights: a ChatAdministratorRights with the
/// fields of a channel or a supergroup (`JsonChatAdministratorRights`),
/// all false when none are set.
pub fn get_default_rights(call: &mut Call) -> Outcome {
    let for_channels = call.params.bool_or("for_channels", false);
    let (rights, kind) = if for_channels {
        (&call.world.default_channel_rights, ChatType::Channel)
    } else {
        (&call.world.default_group_rights, ChatType::Supergroup)
    };
    let rights = rights.clone().unwrap_or_default();
    let mut v = json!({});
    for right in Right::ALL {
        if right.always_present() || right.valid_for(kind) {
            v[right.api_field()] = json!(rights.contains(right));
        }
    }
    Ok(v)
}

/// verifyChat (`Client::process_verify_chat_query`): read access to the
/// chat is enough. Best guess: the sandbox's bot may verify on behalf of an
/// organisation, and a custom description is cut to 70 characters (the
/// server's `bot_verification_description_length_max`).
pub fn verify_chat(call: &mut Call) -> Outcome {
    let id = call.chat_access(Accepts::AnyGroup, Access::Read)?;
    let description = call
        .params
        .str_opt("custom_description")
        .unwrap_or_default();
    let description = rules::strip_empty_characters(&description, 70);
    call.chat_mut(id).verified_by_bot = Some(description);
    ok()
}

/// removeChatVerification (`check_chat_no_fail`): an unknown chat is still
/// looked up by TDLib, which answers `chat not found`; removing what is not
/// there succeeds (best guess).
pub fn remove_chat_verification(call: &mut Call) -> Outcome {
    let chat = call.params.chat_id()?;
    let id = rules::find_chat(call.world, &chat)?;
    call.chat_mut(id).verified_by_bot = None;
    ok()
}

/// answerChatJoinRequestQuery (Bot API 10.1): the guard bot's answer to
/// a join request query, within 10 seconds of the request. The
/// telegram-bot-api sources on this machine predate it; an unknown, used or
/// late query is worded as for any expired query (QUERY_ID_INVALID in
/// `Client::fail_query_with_error`). Best guess.
pub fn answer_join_request_query(call: &mut Call) -> Outcome {
    let id = call
        .params
        .str_opt("chat_join_request_query_id")
        .unwrap_or_default();
    if id.is_empty() {
        return Err(errors::parameter_required("chat_join_request_query_id"));
    }
    let result = call.params.str_opt("result").unwrap_or_default();
    if result.is_empty() {
        return Err(errors::parameter_required("result"));
    }
    let too_old = || {
        errors::ApiError::bad_request(
            "query is too old and response timeout expired or query ID is invalid",
        )
    };
    let query = call
        .world
        .join_queries
        .get(&id)
        .cloned()
        .ok_or_else(too_old)?;
    if query.answered.is_some() || call.now > query.date + crate::sandbox::world::JOIN_QUERY_SECONDS
    {
        return Err(too_old());
    }
    if !["approve", "decline", "queue"].contains(&result.as_str()) {
        return Err(errors::ApiError::bad_request("invalid result specified"));
    }
    super::invites::settle_query(call, query.chat_id, query.user, &result)?;
    if let Some(q) = call.world.join_queries.get_mut(&id) {
        q.answered = Some(call.now);
        q.result = Some(result);
    }
    ok()
}
