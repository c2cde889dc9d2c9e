//! Reading: getMe, getChat, getChatAdministrators, getChatMember,
//! getChatMemberCount; and leaveChat, the caller leaving.

use serde_json::{Value, json};

use super::{Call, Outcome, ok};
use crate::sandbox::request::ChatRef;
use crate::sandbox::rules::{self, Accepts, Access, errors};
use crate::sandbox::wire;
use crate::sandbox::world::Member;

pub fn get_me(call: &mut Call) -> Outcome {
    Ok(wire::me(call.world))
}

pub fn get_chat(call: &mut Call) -> Outcome {
    // A positive id is a private chat with a user who started the bot.
    if let ChatRef::Id(id) = call.params.chat_id()?
        && id > 0
    {
        return match call.world.users.get(&id) {
            Some(u) if u.started_bot || id == call.caller.id => Ok(wire::private_chat_full(u)),
            _ => Err(errors::chat_not_found()),
        };
    }
    // Read access: a public chat the bot never joined and an upgraded
    // group can still be read (Client::process_get_chat_query).
    let id = call.chat_access(Accepts::AnyGroup, Access::Read)?;
    Ok(wire::chat_full(call.world, call.chat_ref(id)))
}

pub fn get_chat_administrators(call: &mut Call) -> Outcome {
    let id = call.chat_access(Accepts::AnyGroup, Access::ReadMembers)?;
    rules::member_list(call.chat_ref(id), call.caller, call.now)?;
    let return_bots = call.params.bool_or("return_bots", false);
    let chat = call.chat_ref(id);
    let world = &*call.world;
    let mut admins: Vec<(u8, i64, Value)> = Vec::new();
    for (user_id, member) in &chat.members {
        let member = member.clone().expired(call.now);
        if !member.is_admin() {
            continue;
        }
        let is_other_bot =
            *user_id != call.caller.id && world.users.get(user_id).is_some_and(|u| u.is_bot);
        if is_other_bot && !return_bots {
            continue;
        }
        let rank = if matches!(member, Member::Creator { .. }) {
            0
        } else {
            1
        };
        admins.push((
            rank,
            *user_id,
            wire::chat_member(world, chat, *user_id, &member, call.caller.id),
        ));
    }
    admins.sort_by_key(|(rank, id, _)| (*rank, *id));
    Ok(Value::Array(
        admins.into_iter().map(|(_, _, v)| v).collect(),
    ))
}

pub fn get_chat_member(call: &mut Call) -> Outcome {
    // The user id is read before the chat is looked up.
    let user = call.params.user_id()?;
    let id = call.chat_access(Accepts::AnyGroup, Access::Read)?;
    rules::find_user(call.world, user)?;
    rules::member_list(call.chat_ref(id), call.caller, call.now)?;
    let chat = call.chat_ref(id);
    let member = chat.status(user, call.now);
    Ok(wire::chat_member(
        call.world,
        chat,
        user,
        &member,
        call.caller.id,
    ))
}

pub fn get_chat_member_count(call: &mut Call) -> Outcome {
    let id = call.chat_access(Accepts::AnyGroup, Access::ReadMembers)?;
    Ok(json!(call.chat_ref(id).present_count(call.now)))
}

/// leaveChat (`Client::process_leave_chat_query`, read access): leaving a
/// public chat the bot is not in succeeds, as TDLib's
/// `restrict_channel_participant` does for the current user.
pub fn leave_chat(call: &mut Call) -> Outcome {
    let id = call.chat_access(Accepts::AnyGroup, Access::Read)?;
    if !call
        .chat_ref(id)
        .status(call.caller.id, call.now)
        .is_present()
    {
        return ok();
    }
    if matches!(
        call.chat_ref(id).status(call.caller.id, call.now),
        Member::Creator { .. }
    ) {
        return Err(errors::user_creator());
    }
    let new = match call.chat_ref(id).status(call.caller.id, call.now) {
        // Leaving keeps a restriction on record, as Telegram does.
        Member::Restricted {
            permissions,
            until_date,
            tag,
            ..
        } => Member::Restricted {
            permissions,
            is_member: false,
            until_date,
            tag,
        },
        _ => Member::Left,
    };
    let who = call.caller.id;
    call.set_member(id, who, new, None, false);
    ok()
}
