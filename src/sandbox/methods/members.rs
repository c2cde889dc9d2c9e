//! Members and administrators: promoteChatMember,
//! setChatAdministratorCustomTitle, setChatMemberTag, restrictChatMember,
//! banChatMember, unbanChatMember; and addChatMember, which only a person
//! can do.

use super::settings::permissions_param;
use super::{Call, Outcome, ok};
use crate::sandbox::rules::{self, Accepts, errors};
use crate::sandbox::world::Member;
use crate::state::{ChatType, Permission, Right, Rights};

/// Telegram's limit on administrators per chat.
const MAX_ADMINS: usize = 50;
const CUSTOM_TITLE_MAX: usize = 16;
const TAG_MAX: usize = 16;

/// promoteChatMember, as `Client::process_promote_chat_member_query` and
/// `DialogParticipantManager::set_channel_participant_status_impl` /
/// `promote_channel_participant` (tdlib/td) run it: the user id is read
/// first; the rights (the legacy `can_manage_voice_chats` counts as
/// `can_manage_video_chats`); the chat; then the old status against the new
/// one, where no rights at all asks for a plain member:
///
/// - unchanged (demoting a plain member): success, no call is made;
/// - the owner: `can't remove chat owner`;
/// - someone not in the chat asked to become a plain member (demoting a
///   non-member): TDLib must add them, `bots can't add new chat members`;
/// - a restricted member demoted: the restriction is lifted, which needs
///   the restrict right;
/// - otherwise a promotion or demotion: self `can't promote self`, without
///   `can_promote_members` `not enough rights`; then the server's answers
///   (`CHAT_ADMIN_REQUIRED` for an admin the caller may not edit,
///   `RIGHT_FORBIDDEN`, `ADMINS_TOO_MUCH`, `bots can't add new chat members`).
pub fn promote(call: &mut Call) -> Outcome {
    let user = call.params.user_id()?;
    let id = call.chat(Accepts::SupergroupAndChannel)?;
    rules::find_user(call.world, user)?;
    let chat = call.chat_ref(id);
    let kind = chat.kind;
    if user != call.caller.id {
        rules::member_list(chat, call.caller, call.now)?;
    }

    // The requested rights: every optional boolean; rights that do not exist
    // in this chat type are ignored.
    let mut wanted = Rights::new();
    for &right in Right::ALL {
        let mut on = call.params.bool_or(right.api_field(), false);
        if right == Right::ManageVideoChats {
            on |= call.params.bool_or("can_manage_voice_chats", false);
        }
        if on && (right == Right::Anonymous || right.valid_for(kind)) {
            wanted.insert(right);
        }
    }
    if !wanted.is_empty() {
        // Managing the chat is implied by any other privilege; in channels,
        // restricting members defaults to true for backward compatibility.
        wanted.insert(Right::ManageChat);
        if kind == ChatType::Channel && !call.params.has("can_restrict_members") {
            wanted.insert(Right::RestrictMembers);
        }
    }

    let target = chat.status(user, call.now);
    let caller_rights = rules::admin_rights(chat, call.caller.id, call.now);
    let is_owner = matches!(
        chat.status(call.caller.id, call.now),
        Member::Creator { .. }
    );
    let unchanged = match &target {
        Member::Administrator { rights, .. } => *rights == wanted,
        Member::Member { .. } => wanted.is_empty(),
        _ => false,
    };
    if unchanged {
        return ok();
    }
    if let Member::Creator { .. } = target {
        return Err(errors::cant_remove_owner());
    }
    if wanted.is_empty() {
        match &target {
            Member::Left
            | Member::Kicked { .. }
            | Member::Restricted {
                is_member: false, ..
            } => {
                return Err(if call.caller.is_bot {
                    errors::bots_cant_add_members()
                } else {
                    errors::user_not_participant()
                });
            }
            Member::Restricted { tag, .. } => {
                if !super::settings::has_right(chat, call, Right::RestrictMembers) {
                    return Err(errors::rights_restrict());
                }
                let new = Member::Member { tag: tag.clone() };
                call.set_member(id, user, new, None, false);
                return ok();
            }
            _ => {}
        }
    }
    if user == call.caller.id {
        if !wanted.is_empty() {
            return Err(errors::cant_promote_self());
        }
        // promote_channel_participant lets anyone demote themselves.
        call.set_member(id, user, Member::plain(), None, false);
        return ok();
    }
    if !is_owner
        && !caller_rights
            .as_ref()
            .is_some_and(|r| r.contains(&Right::PromoteMembers))
    {
        return Err(errors::not_enough_rights());
    }
    if let Member::Administrator { .. } = target
        && !rules::can_edit(chat, call.caller.id, &target)
    {
        return Err(errors::chat_admin_required());
    }
    if !target.is_present() {
        return Err(if call.caller.is_bot {
            errors::bots_cant_add_members()
        } else {
            errors::user_not_participant()
        });
    }
    if !is_owner && !wanted.is_subset(&caller_rights.unwrap_or_default()) {
        return Err(errors::right_forbidden());
    }

    let new = if wanted.is_empty() {
        Member::plain()
    } else {
        match &target {
            Member::Administrator {
                custom_title,
                promoted_by,
                ..
            } => Member::Administrator {
                rights: wanted,
                custom_title: custom_title.clone(),
                promoted_by: *promoted_by,
            },
            _ => {
                if chat.admin_count() >= MAX_ADMINS {
                    return Err(errors::admins_too_much());
                }
                Member::Administrator {
                    rights: wanted,
                    custom_title: None,
                    promoted_by: call.caller.id,
                }
            }
        }
    };
    call.set_member(id, user, new, None, false);
    ok()
}

/// setChatAdministratorCustomTitle (`Client::process_set_chat_administrator_custom_title_query`):
/// the owner `only the owner can edit their custom title`, a non-admin `user
/// is not an administrator`, an admin the caller may not edit `not enough
/// rights to change custom title of the user`; the title then goes to TDLib
/// as a member tag (RANK_INVALID / RANK_EMOJI_NOT_ALLOWED become
/// CUSTOM_TITLE_INVALID / CUSTOM_TITLE_EMOJI_NOT_ALLOWED).
pub fn set_custom_title(call: &mut Call) -> Outcome {
    let user = call.params.user_id()?;
    let id = call.chat(Accepts::GroupAndSupergroup)?;
    rules::find_user(call.world, user)?;
    let title = call.params.str_opt("custom_title").unwrap_or_default();
    let chat = call.chat_ref(id);
    let target = chat.status(user, call.now);
    let title_ok = || -> Result<Option<String>, errors::ApiError> {
        if rules::has_emoji(&title) {
            return Err(errors::custom_title_emoji());
        }
        if rules::text_len(&title) > CUSTOM_TITLE_MAX {
            return Err(errors::custom_title_invalid());
        }
        Ok(if title.is_empty() {
            None
        } else {
            Some(title.clone())
        })
    };
    let new = match target {
        Member::Creator { is_anonymous, .. } => {
            if !call.caller.is_bot && user == call.caller.id {
                Member::Creator {
                    is_anonymous,
                    custom_title: title_ok()?,
                }
            } else {
                return Err(errors::only_owner_edits_own_title());
            }
        }
        Member::Administrator {
            rights,
            promoted_by,
            ..
        } => {
            let target = chat.status(user, call.now);
            if !rules::can_edit(chat, call.caller.id, &target) {
                return Err(errors::cant_change_custom_title());
            }
            Member::Administrator {
                rights,
                custom_title: title_ok()?,
                promoted_by,
            }
        }
        _ => return Err(errors::user_not_admin()),
    };
    call.set_member(id, user, new, None, false);
    ok()
}

/// setChatMemberTag (`Client::process_set_chat_member_tag_query` →
/// `DialogParticipantManager::set_dialog_participant_rank`): TDLib checks
/// nothing itself, so every refusal is the server's and a best guess:
/// without `can_manage_tags` CHAT_ADMIN_REQUIRED; the owner or an
/// administrator (the method is documented for regular members)
/// USER_ADMIN_INVALID, worded `user is an administrator of the chat`;
/// someone not in the chat USER_NOT_PARTICIPANT. RANK_EMOJI_NOT_ALLOWED and
/// RANK_INVALID are renamed `TAG_EMOJI_NOT_ALLOWED` and `TAG_INVALID` for
/// this method by `Client::fail_query_with_error` (source).
pub fn set_tag(call: &mut Call) -> Outcome {
    let user = call.params.user_id()?;
    let id = call.chat(Accepts::GroupAndSupergroup)?;
    rules::find_user(call.world, user)?;
    let chat = call.chat_ref(id);
    if !rules::holds(chat, call.caller, Right::ManageTags, call.now) {
        return Err(errors::chat_admin_required());
    }
    let tag = call.params.str_opt("tag").unwrap_or_default();
    if rules::has_emoji(&tag) {
        return Err(errors::tag_emoji());
    }
    if rules::text_len(&tag) > TAG_MAX {
        return Err(errors::tag_invalid());
    }
    let tag = if tag.is_empty() { None } else { Some(tag) };
    let target = chat.status(user, call.now);
    let new = match target {
        Member::Member { .. } => Member::Member { tag },
        Member::Restricted {
            permissions,
            is_member: true,
            until_date,
            ..
        } => Member::Restricted {
            permissions,
            is_member: true,
            until_date,
            tag,
        },
        Member::Creator { .. } | Member::Administrator { .. } => {
            return Err(errors::user_is_admin());
        }
        _ => return Err(errors::user_not_participant()),
    };
    call.set_member(id, user, new, None, false);
    ok()
}

/// What `DialogParticipantManager::set_channel_participant_status_impl` and
/// `restrict_channel_participant` check before a restriction, a ban or an
/// unban reaches the server: an unchanged status is done; the owner
/// `can't remove chat owner`; without `can_restrict_members` `not enough
/// rights to restrict/unrestrict chat member`; an administrator is then
/// refused by the server with USER_ADMIN_INVALID, which the Bot API words
/// `user is an administrator of the chat`.
fn check_restrictable(
    call: &Call,
    id: i64,
    user: i64,
    target: &Member,
    new: &Member,
) -> Result<bool, errors::ApiError> {
    if target == new {
        return Ok(false);
    }
    let chat = call.chat_ref(id);
    // restrict_channel_participant for the current user: no restriction or
    // ban of oneself; becoming `left` is leaving, which needs no right.
    if user == call.caller.id && !matches!(target, Member::Creator { .. }) {
        return match new {
            Member::Left => Ok(true),
            _ => Err(errors::ApiError::bad_request("can't restrict self")),
        };
    }
    match target {
        Member::Creator { .. } => Err(errors::cant_remove_owner()),
        _ if !super::settings::has_right(chat, call, Right::RestrictMembers) => {
            Err(errors::rights_restrict())
        }
        Member::Administrator { .. } => Err(errors::user_is_admin()),
        _ => Ok(true),
    }
}

/// restrictChatMember (`Client::process_restrict_chat_member_query`): the
/// user id, the permissions (omitted: all false, which mutes the member; the
/// legacy top-level `can_send_*` arguments still work) and `until_date`
/// are read before the chat; supergroups only.
pub fn restrict(call: &mut Call) -> Outcome {
    let user = call.params.user_id()?;
    let (mut permissions, legacy) = permissions_param(call.params, true)?;
    let id = call.chat(Accepts::SupergroupOnly)?;
    rules::find_user(call.world, user)?;
    let target = call.chat_ref(id).status(user, call.now);
    if legacy {
        // The legacy form keeps what it cannot express from the old restriction.
        if let Member::Restricted {
            permissions: old, ..
        } = &target
        {
            for p in [
                Permission::SendPolls,
                Permission::ChangeInfo,
                Permission::InviteUsers,
                Permission::PinMessages,
                Permission::ManageTopics,
            ] {
                permissions.remove(&p);
                if old.contains(&p) {
                    permissions.insert(p);
                }
            }
        }
    }
    let until = rules::normalize_until(call.params.int_or("until_date", 0), call.now);
    let present = target.is_present();
    let tag = target.tag().map(str::to_string);
    let new = if permissions == Permission::all() {
        // Everything allowed lifts the restriction.
        if present {
            Member::Member { tag }
        } else {
            Member::Left
        }
    } else {
        Member::Restricted {
            permissions,
            is_member: present,
            until_date: until,
            tag,
        }
    };
    if check_restrictable(call, id, user, &target, &new)? {
        call.set_member(id, user, new, None, false);
    }
    ok()
}

/// banChatMember (`Client::process_ban_chat_member_query`). In a basic group
/// TDLib removes the member (`delete_chat_participant`), who is then `left`,
/// not `kicked`, and bans cannot be temporary there.
pub fn ban(call: &mut Call) -> Outcome {
    let user = call.params.user_id()?;
    let id = call.chat(Accepts::AnyGroup)?;
    rules::find_user(call.world, user)?;
    rules::member_list(call.chat_ref(id), call.caller, call.now)?;
    let kind = call.chat_ref(id).kind;
    let target = call.chat_ref(id).status(user, call.now);
    let new = if kind == ChatType::Group {
        Member::Left
    } else {
        Member::Kicked {
            until_date: rules::normalize_until(call.params.int_or("until_date", 0), call.now),
        }
    };
    if kind == ChatType::Group {
        // TDLib's delete_chat_participant checks nothing itself (its checks
        // are still unwritten there); the server's answers are best guesses: without
        // the right CHAT_ADMIN_REQUIRED, the owner or an administrator the
        // caller may not remove USER_ADMIN_INVALID.
        if !super::settings::has_right(call.chat_ref(id), call, Right::RestrictMembers) {
            return Err(errors::chat_admin_required());
        }
        match &target {
            Member::Creator { .. } => return Err(errors::user_is_admin()),
            Member::Administrator { .. }
                if !rules::can_edit(call.chat_ref(id), call.caller.id, &target) =>
            {
                return Err(errors::user_is_admin());
            }
            _ => {}
        }
    } else if !check_restrictable(call, id, user, &target, &new)? {
        return ok();
    }
    let revoke = kind != ChatType::Group || call.params.bool_or("revoke_messages", false);
    if revoke {
        let chat = call.chat_mut(id);
        let gone: Vec<i64> = chat
            .messages
            .values()
            .filter(|m| m.from == user)
            .map(|m| m.message_id)
            .collect();
        for m in gone {
            chat.messages.remove(&m);
            chat.pinned.retain(|p| *p != m);
        }
    }
    call.chat_mut(id).join_requests.remove(&user);
    call.set_member(id, user, new, None, false);
    ok()
}

/// unbanChatMember (`Client::process_unban_chat_member_query`): supergroups
/// and channels. With `only_if_banned`, anyone who is not banned (the owner,
/// an admin, a member, someone absent) gets `true` and nothing happens.
/// Without it the status becomes `left`: a present member is removed, the
/// owner `can't remove chat owner`, an admin is refused.
pub fn unban(call: &mut Call) -> Outcome {
    let user = call.params.user_id()?;
    let only_if_banned = call.params.bool_or("only_if_banned", false);
    let id = call.chat(Accepts::SupergroupAndChannel)?;
    rules::find_user(call.world, user)?;
    rules::member_list(call.chat_ref(id), call.caller, call.now)?;
    let target = call.chat_ref(id).status(user, call.now);
    if only_if_banned && !matches!(target, Member::Kicked { .. }) {
        return ok();
    }
    let new = match &target {
        // A restriction stays on record for someone who is not in the chat.
        Member::Restricted {
            permissions,
            until_date,
            tag,
            is_member: false,
        } => Member::Restricted {
            permissions: permissions.clone(),
            is_member: false,
            until_date: *until_date,
            tag: tag.clone(),
        },
        _ => Member::Left,
    };
    if check_restrictable(call, id, user, &target, &new)? {
        call.set_member(id, user, new, None, false);
    }
    ok()
}

/// A person adds someone to a chat (MTProto channels.inviteToChannel).
pub fn add_member(call: &mut Call) -> Outcome {
    let id = call.chat(Accepts::AnyGroup)?;
    let user = call.params.user_id()?;
    let target_user = rules::find_user(call.world, user)?;
    if target_user.deactivated {
        return Err(errors::user_deactivated());
    }
    let privacy = target_user.privacy_restricted;
    let chat = call.chat_ref(id);
    rules::require_right(chat, call.caller, Right::InviteUsers, call.now)?;
    let new = match chat.status(user, call.now) {
        m if m.is_present() => return Err(errors::user_already_participant()),
        Member::Kicked { .. } if rules::admin_rights(chat, call.caller.id, call.now).is_none() => {
            return Err(errors::user_banned_in_channel());
        }
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
    };
    if privacy {
        return Err(errors::user_privacy_restricted());
    }
    call.chat_mut(id).join_requests.remove(&user);
    call.set_member(id, user, new, None, false);
    ok()
}
