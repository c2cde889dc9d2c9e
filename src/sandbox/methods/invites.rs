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

/// The optional link fields shared by create and edit, read as
/// `Client::process_create_chat_invite_link_query` reads them:
/// `get_integer_arg` clamps `expire_date` to ≥ 0 and `member_limit` to
/// 0..=100000 (unreadable numbers are 0); the name is cut to 32 characters
/// by `clean_name` in `DialogInviteLinkManager`, not refused.
struct LinkFields {
    name: Option<String>,
    expire_date: Option<i64>,
    member_limit: Option<u32>,
    creates_join_request: bool,
}

fn integer_arg(call: &Call, name: &str, max: i64) -> i64 {
    match call.params.str_opt(name) {
        None => 0,
        Some(text) => text.trim().parse::<i64>().unwrap_or(0).clamp(0, max),
    }
}

fn link_fields(call: &Call) -> LinkFields {
    let name = call.params.str_opt("name").unwrap_or_default();
    let name = rules::clean_name(&name, NAME_MAX);
    LinkFields {
        name: Some(name).filter(|n| !n.is_empty()),
        expire_date: Some(integer_arg(call, "expire_date", i64::from(i32::MAX)))
            .filter(|d| *d != 0),
        member_limit: Some(integer_arg(call, "member_limit", 100_000))
            .filter(|l| *l != 0)
            .map(|l| l as u32),
        creates_join_request: call.params.bool_or("creates_join_request", false),
    }
}

/// What the server checks of the values (best guess: the MTProto errors
/// EXPIRE_DATE_INVALID and USAGE_LIMIT_INVALID, not visible in the sources).
fn check_values(call: &Call, fields: &LinkFields) -> Result<(), errors::ApiError> {
    if fields.expire_date.is_some_and(|d| d <= call.now) {
        return Err(errors::expire_date_invalid());
    }
    if fields
        .member_limit
        .is_some_and(|l| i64::from(l) > MEMBER_LIMIT_MAX)
    {
        return Err(errors::usage_limit_invalid());
    }
    Ok(())
}

/// DialogInviteLinkManager::can_manage_dialog_invite_links.
fn require_invite_right(call: &Call, id: ChatId) -> Result<(), errors::ApiError> {
    if super::settings::has_right(call.chat_ref(id), call, Right::InviteUsers) {
        Ok(())
    } else {
        Err(errors::rights_invite_links())
    }
}

/// createChatInviteLink: `member limit can't be specified for links
/// requiring administrator approval` comes before the rights
/// (DialogInviteLinkManager::export_dialog_invite_link).
pub fn create(call: &mut Call) -> Outcome {
    let id = call.chat(Accepts::AnyGroup)?;
    let fields = link_fields(call);
    if fields.creates_join_request && fields.member_limit.is_some() {
        return Err(errors::member_limit_with_approval());
    }
    require_invite_right(call, id)?;
    check_values(call, &fields)?;
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
        subscription: None,
    };
    call.chat_mut(id).invite_links.push(link.clone());
    Ok(wire::invite_link_for(
        call.world,
        &link,
        call.chat_ref(id),
        call.caller.id,
    ))
}

/// The index of a link the caller may manage: a bot only its own links
/// (another administrator's: CHAT_ADMIN_REQUIRED, a best guess), the owner
/// every link.
fn own_link(call: &Call, id: ChatId) -> Result<usize, errors::ApiError> {
    let given = call.params.str_opt("invite_link").unwrap_or_default();
    if given.is_empty() {
        return Err(errors::invite_link_empty());
    }
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

/// editChatInviteLink (DialogInviteLinkManager::edit_dialog_invite_link):
/// the right, then the member limit against join requests, then the link.
/// A primary link cannot be edited (CHAT_INVITE_PERMANENT, MTProto's error,
/// a best guess for the exact text).
pub fn edit(call: &mut Call) -> Outcome {
    let id = call.chat(Accepts::AnyGroup)?;
    require_invite_right(call, id)?;
    let fields = link_fields(call);
    if fields.creates_join_request && fields.member_limit.is_some() {
        return Err(errors::member_limit_with_approval());
    }
    let index = own_link(call, id)?;
    let existing = &call.chat_ref(id).invite_links[index];
    if existing.is_revoked {
        return Err(errors::invite_hash_expired());
    }
    if existing.is_primary {
        return Err(errors::invite_permanent());
    }
    check_values(call, &fields)?;
    let link = &mut call.chat_mut(id).invite_links[index];
    link.name = fields.name;
    link.expire_date = fields.expire_date;
    link.member_limit = fields.member_limit;
    link.creates_join_request = fields.creates_join_request;
    let link = link.clone();
    Ok(wire::invite_link_for(
        call.world,
        &link,
        call.chat_ref(id),
        call.caller.id,
    ))
}

pub fn revoke(call: &mut Call) -> Outcome {
    let id = call.chat(Accepts::AnyGroup)?;
    require_invite_right(call, id)?;
    let index = own_link(call, id)?;
    let was_primary = call.chat_ref(id).invite_links[index].is_primary;
    let link = &mut call.chat_mut(id).invite_links[index];
    link.is_revoked = true;
    let revoked = link.clone();
    if was_primary {
        // Revoking a primary link gives its administrator a new one.
        make_primary(call, id, revoked.creator);
    }
    Ok(wire::invite_link_for(
        call.world,
        &revoked,
        call.chat_ref(id),
        call.caller.id,
    ))
}

/// A new primary link for one administrator, revoking only that
/// administrator's previous one (`replacePrimaryChatInviteLink` in TDLib
/// replaces the current user's permanent link).
fn make_primary(call: &mut Call, id: ChatId, creator: i64) -> String {
    let serial = call.world.serial();
    let link = new_link(id, serial);
    let chat = call.chat_mut(id);
    for l in chat
        .invite_links
        .iter_mut()
        .filter(|l| l.is_primary && l.creator == creator)
    {
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
        subscription: None,
    });
    link
}

/// exportChatInviteLink (`Client::process_export_chat_invite_link_query` →
/// `replacePrimaryChatInviteLink`): a new primary link for the caller; the
/// other administrators' primary links keep working.
pub fn export(call: &mut Call) -> Outcome {
    let id = call.chat(Accepts::AnyGroup)?;
    require_invite_right(call, id)?;
    let creator = call.caller.id;
    Ok(json!(make_primary(call, id, creator)))
}

/// createChatSubscriptionInviteLink
/// (`Client::process_create_chat_subscription_invite_link_query`): the
/// period and price are clamped to 0..=1e9 and 0..=1e6 (`get_integer_arg`);
/// a zero pricing is TDLib's `invalid subscription pricing specified`
/// (DialogInviteLinkManager::export_dialog_invite_link). Best guess for the
/// server's own checks: channels only (CHAT_INVALID elsewhere), a period of
/// 30 days (SUBSCRIPTION_PERIOD_INVALID) and 1–10000 Stars
/// (SUBSCRIPTION_PRICING_INVALID), as the Bot API documentation states.
pub fn create_subscription(call: &mut Call) -> Outcome {
    let id = call.chat(Accepts::AnyGroup)?;
    let period = integer_arg(call, "subscription_period", 1_000_000_000);
    let price = integer_arg(call, "subscription_price", 1_000_000);
    if period == 0 || price == 0 {
        return Err(errors::ApiError::bad_request(
            "invalid subscription pricing specified",
        ));
    }
    require_invite_right(call, id)?;
    if call.chat_ref(id).kind != crate::state::ChatType::Channel {
        return Err(errors::ApiError::bad_request("CHAT_INVALID"));
    }
    if period != 2_592_000 {
        return Err(errors::ApiError::bad_request("SUBSCRIPTION_PERIOD_INVALID"));
    }
    if price > 10_000 {
        return Err(errors::ApiError::bad_request(
            "SUBSCRIPTION_PRICING_INVALID",
        ));
    }
    let name = rules::clean_name(&call.params.str_opt("name").unwrap_or_default(), NAME_MAX);
    let serial = call.world.serial();
    let link = InviteLink {
        link: new_link(id, serial),
        creator: call.caller.id,
        name: Some(name).filter(|n| !n.is_empty()),
        expire_date: None,
        member_limit: None,
        creates_join_request: false,
        is_primary: false,
        is_revoked: false,
        joined: 0,
        subscription: Some((period as u32, price as u32)),
    };
    call.chat_mut(id).invite_links.push(link.clone());
    Ok(wire::invite_link_for(
        call.world,
        &link,
        call.chat_ref(id),
        call.caller.id,
    ))
}

/// editChatSubscriptionInviteLink: only the name changes (cut to 32
/// characters). Best guess: a link without a subscription is refused with
/// the server's CHAT_INVITE_PERMANENT-like INVITE_HASH_INVALID.
pub fn edit_subscription(call: &mut Call) -> Outcome {
    let id = call.chat(Accepts::AnyGroup)?;
    require_invite_right(call, id)?;
    let index = own_link(call, id)?;
    let existing = &call.chat_ref(id).invite_links[index];
    if existing.subscription.is_none() {
        return Err(errors::invite_link_not_found());
    }
    if existing.is_revoked {
        return Err(errors::invite_hash_expired());
    }
    let name = rules::clean_name(&call.params.str_opt("name").unwrap_or_default(), NAME_MAX);
    let link = &mut call.chat_mut(id).invite_links[index];
    link.name = Some(name).filter(|n| !n.is_empty());
    let link = link.clone();
    Ok(wire::invite_link_for(
        call.world,
        &link,
        call.chat_ref(id),
        call.caller.id,
    ))
}

pub fn approve(call: &mut Call) -> Outcome {
    let user = call.params.user_id()?;
    let id = call.chat(Accepts::AnyGroup)?;
    rules::find_user(call.world, user)?;
    require_join_request_right(call, id)?;
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

/// A guard bot's answer to a join request query: `approve` lets the person
/// in, `decline` drops the request, `queue` leaves it to the admins.
pub fn settle_query(
    call: &mut Call,
    id: ChatId,
    user: crate::state::UserId,
    result: &str,
) -> Result<(), errors::ApiError> {
    match result {
        "approve" => {
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
        }
        "decline" => {
            call.chat_mut(id).join_requests.remove(&user);
        }
        _ => {}
    }
    Ok(())
}

pub fn decline(call: &mut Call) -> Outcome {
    let user = call.params.user_id()?;
    let id = call.chat(Accepts::AnyGroup)?;
    rules::find_user(call.world, user)?;
    require_join_request_right(call, id)?;
    call.chat_mut(id)
        .join_requests
        .remove(&user)
        .ok_or_else(errors::join_request_missing)?;
    ok()
}

/// DialogParticipantManager: `Not enough rights to manage chat join requests`.
fn require_join_request_right(call: &Call, id: ChatId) -> Result<(), errors::ApiError> {
    if super::settings::has_right(call.chat_ref(id), call, Right::InviteUsers) {
        Ok(())
    } else {
        Err(errors::rights_join_requests())
    }
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
    if let Some(l) = &link
        && l.member_limit.is_some_and(|limit| l.joined >= limit)
    {
        return Err(errors::users_too_much());
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
