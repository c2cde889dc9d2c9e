//! Invite links and joining: create/edit/revoke/exportChatInviteLink,
//! approve/declineChatJoinRequest, and joinChat, a person following a link
//! (honouring join requests, member limits, expiry and bans).

use serde_json::json;

use super::{Call, Outcome, ok};
use crate::sandbox::request::ChatRef;
use crate::sandbox::rules::{self, Accepts, errors};
use crate::sandbox::updates;
use crate::sandbox::wire;
use crate::sandbox::world::{InviteLink, JoinRequest, Member};
use crate::state::{ChatId, Right};

const NAME_MAX: usize = 32;
const MEMBER_LIMIT_MAX: i64 = 99_999;

/// A link hash that depends only on the chat and a serial, so the same calls
/// give the same links in every run.
fn new_link(chat: ChatId, serial: u64) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    let mut x = (chat as u64) ^ serial.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut code = String::with_capacity(16);
    for _ in 0..16 {
        // splitmix64 step
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        code.push(ALPHABET[(z % 64) as usize] as char);
    }
    format!("https://t.me/+{code}")
}

/// The optional link fields shared by create and edit, validated.
struct LinkFields {
    name: Option<String>,
    expire_date: Option<i64>,
    member_limit: Option<u32>,
    creates_join_request: bool,
}

fn link_fields(call: &Call) -> Result<LinkFields, errors::ApiError> {
    let name = call.params.str_opt("name").filter(|n| !n.is_empty());
    if name
        .as_deref()
        .is_some_and(|n| rules::text_len(n) > NAME_MAX)
    {
        return Err(errors::invite_name_too_long());
    }
    let expire_date = call.params.int_opt("expire_date").filter(|d| *d != 0);
    if expire_date.is_some_and(|d| d <= call.now) {
        return Err(errors::expire_date_invalid());
    }
    let member_limit = call.params.int_opt("member_limit").filter(|l| *l != 0);
    let creates_join_request = call.params.bool_or("creates_join_request", false);
    if creates_join_request && member_limit.is_some() {
        return Err(errors::member_limit_with_join_request());
    }
    if member_limit.is_some_and(|l| !(1..=MEMBER_LIMIT_MAX).contains(&l)) {
        return Err(errors::usage_limit_invalid());
    }
    Ok(LinkFields {
        name,
        expire_date,
        member_limit: member_limit.map(|l| l as u32),
        creates_join_request,
    })
}

pub fn create(call: &mut Call) -> Outcome {
    let id = call.chat(Accepts::AnyGroup)?;
    rules::require_right(call.chat_ref(id), call.caller, Right::InviteUsers, call.now)?;
    let fields = link_fields(call)?;
    let serial = call.world.serial();
    let link = InviteLink {
        link: new_link(id, serial),
        creator: call.caller.id,
        name: fields.name,
        expire_date: fields.expire_date,
        member_limit: fields.member_limit,
        creates_join_request: fields.creates_join_request,
        is_primary: false,
        is_revoked: false,
        joined: 0,
    };
    call.chat_mut(id).invite_links.push(link.clone());
    Ok(wire::invite_link(call.world, &link, call.chat_ref(id)))
}

/// The index of a link the caller may manage: the bot only its own links,
/// the owner every link.
fn own_link(call: &Call, id: ChatId) -> Result<usize, errors::ApiError> {
    let given = call
        .params
        .str_opt("invite_link")
        .ok_or_else(|| errors::parameter_required("invite_link"))?;
    let chat = call.chat_ref(id);
    let index = chat
        .invite_links
        .iter()
        .position(|l| l.link == given)
        .ok_or_else(errors::invite_link_not_found)?;
    let owner = chat.owner() == Some(call.caller.id);
    if chat.invite_links[index].creator != call.caller.id && !owner {
        return Err(errors::chat_admin_required());
    }
    Ok(index)
}

pub fn edit(call: &mut Call) -> Outcome {
    let id = call.chat(Accepts::AnyGroup)?;
    rules::require_right(call.chat_ref(id), call.caller, Right::InviteUsers, call.now)?;
    let index = own_link(call, id)?;
    if call.chat_ref(id).invite_links[index].is_revoked {
        return Err(errors::invite_hash_expired());
    }
    let fields = link_fields(call)?;
    let link = &mut call.chat_mut(id).invite_links[index];
    link.name = fields.name;
    link.expire_date = fields.expire_date;
    link.member_limit = fields.member_limit;
    link.creates_join_request = fields.creates_join_request;
    let link = link.clone();
    Ok(wire::invite_link(call.world, &link, call.chat_ref(id)))
}

pub fn revoke(call: &mut Call) -> Outcome {
    let id = call.chat(Accepts::AnyGroup)?;
    rules::require_right(call.chat_ref(id), call.caller, Right::InviteUsers, call.now)?;
    let index = own_link(call, id)?;
    let was_primary = call.chat_ref(id).invite_links[index].is_primary;
    let link = &mut call.chat_mut(id).invite_links[index];
    link.is_revoked = true;
    let revoked = link.clone();
    if was_primary {
        // Revoking the primary link makes a new one, as Telegram does.
        let creator = call.caller.id;
        make_primary(call, id, creator);
    }
    Ok(wire::invite_link(call.world, &revoked, call.chat_ref(id)))
}

fn make_primary(call: &mut Call, id: ChatId, creator: i64) -> String {
    let serial = call.world.serial();
    let link = new_link(id, serial);
    let chat = call.chat_mut(id);
    for l in chat.invite_links.iter_mut().filter(|l| l.is_primary) {
        l.is_revoked = true;
    }
    chat.invite_links.push(InviteLink {
        link: link.clone(),
        creator,
        name: None,
        expire_date: None,
        member_limit: None,
        creates_join_request: false,
        is_primary: true,
        is_revoked: false,
        joined: 0,
    });
    link
}

pub fn export(call: &mut Call) -> Outcome {
    let id = call.chat(Accepts::AnyGroup)?;
    rules::require_right(call.chat_ref(id), call.caller, Right::InviteUsers, call.now)?;
    let creator = call.caller.id;
    Ok(json!(make_primary(call, id, creator)))
}

pub fn approve(call: &mut Call) -> Outcome {
    let id = call.chat(Accepts::AnyGroup)?;
    let user = call.params.user_id()?;
    rules::find_user(call.world, user)?;
    rules::require_right(call.chat_ref(id), call.caller, Right::InviteUsers, call.now)?;
    let request = call
        .chat_mut(id)
        .join_requests
        .remove(&user)
        .ok_or_else(errors::join_request_missing)?;
    let status = call.chat_ref(id).status(user, call.now);
    if status.is_present() {
        return Err(errors::user_already_participant());
    }
    let link = request
        .invite_link
        .as_deref()
        .and_then(|l| bump_link(call, id, l));
    call.set_member(id, user, joined_status(status), link.as_ref(), true);
    ok()
}

pub fn decline(call: &mut Call) -> Outcome {
    let id = call.chat(Accepts::AnyGroup)?;
    let user = call.params.user_id()?;
    rules::find_user(call.world, user)?;
    rules::require_right(call.chat_ref(id), call.caller, Right::InviteUsers, call.now)?;
    call.chat_mut(id)
        .join_requests
        .remove(&user)
        .ok_or_else(errors::join_request_missing)?;
    ok()
}

/// Count one more join through a link; the link as it now is.
fn bump_link(call: &mut Call, id: ChatId, link: &str) -> Option<InviteLink> {
    let l = call
        .chat_mut(id)
        .invite_links
        .iter_mut()
        .find(|l| l.link == link)?;
    l.joined += 1;
    Some(l.clone())
}

/// The status of someone joining: a standing restriction survives.
fn joined_status(before: Member) -> Member {
    match before {
        Member::Restricted {
            permissions,
            until_date,
            tag,
            ..
        } => Member::Restricted {
            permissions,
            is_member: true,
            until_date,
            tag,
        },
        _ => Member::plain(),
    }
}

/// A person joins by invite link (or a public chat by `chat_id`).
pub fn join_chat(call: &mut Call) -> Outcome {
    let user = call.caller.id;
    if call.world.users.get(&user).is_some_and(|u| u.deactivated) {
        return Err(errors::user_deactivated());
    }
    let (id, link) = match call.params.str_opt("invite_link") {
        Some(given) => {
            let given = given
                .trim()
                .trim_start_matches("https://")
                .trim_start_matches("http://");
            let found = call.world.chats.values().find_map(|c| {
                c.invite_links
                    .iter()
                    .find(|l| l.link.trim_start_matches("https://") == given)
                    .map(|l| (c.id, l.clone()))
            });
            let (id, link) = found.ok_or_else(errors::invite_link_not_found)?;
            if link.is_revoked || link.expire_date.is_some_and(|d| d <= call.now) {
                return Err(errors::invite_hash_expired());
            }
            (id, Some(link))
        }
        None => {
            let chat = call.params.chat_id()?;
            let id = rules::find_chat(call.world, &chat)?;
            // Without a link only public chats can be joined.
            if matches!(chat, ChatRef::Id(_)) && call.chat_ref(id).username.is_none() {
                return Err(errors::channel_private());
            }
            (id, None)
        }
    };
    let chat = call.chat_ref(id);
    if let Some(to) = chat.migrated_to {
        return Err(errors::group_upgraded(to));
    }
    let status = chat.status(user, call.now);
    if status.is_present() {
        return Err(errors::user_already_participant());
    }
    if matches!(status, Member::Kicked { .. }) {
        return Err(errors::user_banned_in_channel());
    }
    if let Some(l) = &link {
        if l.member_limit.is_some_and(|limit| l.joined >= limit) {
            return Err(errors::users_too_much());
        }
    }
    let needs_approval = match &link {
        Some(l) => l.creates_join_request || (l.is_primary && chat.join_by_request),
        None => chat.join_by_request,
    };
    if needs_approval {
        let invite = link.as_ref().map(|l| l.link.clone());
        let date = call.now;
        call.chat_mut(id).join_requests.insert(
            user,
            JoinRequest {
                date,
                invite_link: invite,
            },
        );
        updates::join_requested(call.world, id, user, call.now, link.as_ref());
        return Err(errors::invite_request_sent());
    }
    let link = link.and_then(|l| bump_link(call, id, &l.link));
    call.set_member(id, user, joined_status(status), link.as_ref(), false);
    ok()
}
