//! Members and administrators: promoteChatMember,
//! setChatAdministratorCustomTitle, setChatMemberTag, restrictChatMember,
//! banChatMember, unbanChatMember; and addChatMember, which only a person
//! can do.

use super::settings::parse_permissions;
use super::{Call, Outcome, ok};
use crate::sandbox::rules::{self, Accepts, errors};
use crate::sandbox::world::Member;
use crate::state::{ChatType, Permission, Right, Rights};

/// Telegram's limit on administrators per chat.
const MAX_ADMINS: usize = 50;
const CUSTOM_TITLE_MAX: usize = 16;
const TAG_MAX: usize = 16;

pub fn promote(call: &mut Call) -> Outcome {
    let id = call.chat(Accepts::SupergroupAndChannel)?;
    let user = call.params.user_id()?;
    rules::find_user(call.world, user)?;
    let chat = call.chat_ref(id);
    let kind = chat.kind;
    let caller_rights = rules::require_admin(chat, call.caller, call.now)?;
    let is_owner = matches!(
        chat.status(call.caller.id, call.now),
        Member::Creator { .. }
    );
    if !is_owner && !caller_rights.contains(&Right::PromoteMembers) {
        return Err(errors::chat_admin_required());
    }
    if user == call.caller.id {
        return Err(errors::cant_promote_self());
    }
    let target = chat.status(user, call.now);

    // The requested rights: every optional boolean; rights that do not exist
    // in this chat type are ignored.
    let mut wanted = Rights::new();
    for &right in Right::ALL {
        let on = call.params.bool_or(right.api_field(), false);
        if on && (right == Right::Anonymous || right.valid_for(kind)) {
            wanted.insert(right);
        }
    }
    if !wanted.is_empty() {
        // Managing the chat is implied by any other privilege; in channels,
        // restricting members defaults to true for backward compatibility.
        wanted.insert(Right::ManageChat);
        if kind == ChatType::Channel && call.params.bool_opt("can_restrict_members").is_none() {
            wanted.insert(Right::RestrictMembers);
        }
    }

    match &target {
        Member::Creator { .. } => return Err(errors::cant_edit_owner_rights()),
        Member::Administrator { .. } if !rules::can_edit(chat, call.caller.id, &target) => {
            return Err(errors::chat_admin_required());
        }
        _ => {}
    }
    if !target.is_present() {
        if wanted.is_empty() {
            // Demoting someone who is not there changes nothing.
            return ok();
        }
        return Err(if call.caller.is_bot {
            errors::bots_cant_add_members()
        } else {
            errors::user_not_participant()
        });
    }
    if !is_owner && !wanted.is_subset(&caller_rights) {
        return Err(errors::right_forbidden());
    }

    let new = if wanted.is_empty() {
        match &target {
            Member::Administrator { .. } => Member::plain(),
            other => other.clone(),
        }
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

pub fn set_custom_title(call: &mut Call) -> Outcome {
    let id = call.chat(Accepts::GroupAndSupergroup)?;
    let user = call.params.user_id()?;
    rules::find_user(call.world, user)?;
    let title = call.params.str_opt("custom_title").unwrap_or_default();
    let chat = call.chat_ref(id);
    rules::require_admin(chat, call.caller, call.now)?;
    if rules::text_len(&title) > CUSTOM_TITLE_MAX || rules::has_emoji(&title) {
        return Err(errors::custom_title_invalid());
    }
    let target = chat.status(user, call.now);
    let title = if title.is_empty() { None } else { Some(title) };
    let new = match target {
        Member::Creator { is_anonymous, .. } => {
            if user != call.caller.id {
                return Err(errors::only_owner_edits_own_title());
            }
            Member::Creator {
                is_anonymous,
                custom_title: title,
            }
        }
        Member::Administrator {
            rights,
            promoted_by,
            ..
        } => {
            let target = chat.status(user, call.now);
            if user != call.caller.id && !rules::can_edit(chat, call.caller.id, &target) {
                return Err(errors::cant_change_custom_title());
            }
            Member::Administrator {
                rights,
                custom_title: title,
                promoted_by,
            }
        }
        _ => return Err(errors::user_not_admin()),
    };
    call.set_member(id, user, new, None, false);
    ok()
}

pub fn set_tag(call: &mut Call) -> Outcome {
    let id = call.chat(Accepts::GroupAndSupergroup)?;
    let user = call.params.user_id()?;
    rules::find_user(call.world, user)?;
    rules::require_right(call.chat_ref(id), call.caller, Right::ManageTags, call.now)?;
    let tag = call.params.str_opt("tag").unwrap_or_default();
    if rules::text_len(&tag) > TAG_MAX || rules::has_emoji(&tag) {
        return Err(errors::tag_invalid());
    }
    let tag = if tag.is_empty() { None } else { Some(tag) };
    let new = match call.chat_ref(id).status(user, call.now) {
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

/// The checks shared by restrict and ban: the right, and a target that is
/// neither the owner nor an administrator.
fn check_removable(call: &Call, id: i64, user: i64) -> Result<Member, errors::ApiError> {
    rules::find_user(call.world, user)?;
    let chat = call.chat_ref(id);
    rules::require_right(chat, call.caller, Right::RestrictMembers, call.now)?;
    match chat.status(user, call.now) {
        Member::Creator { .. } => Err(errors::cant_remove_owner()),
        Member::Administrator { .. } => Err(errors::user_is_admin()),
        other => Ok(other),
    }
}

pub fn restrict(call: &mut Call) -> Outcome {
    let id = call.chat(Accepts::SupergroupOnly)?;
    let user = call.params.user_id()?;
    let object = call.params.object_required("permissions")?;
    let target = check_removable(call, id, user)?;
    let independent = call
        .params
        .bool_or("use_independent_chat_permissions", false);
    let permissions = parse_permissions(&object, independent);
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
    call.set_member(id, user, new, None, false);
    ok()
}

pub fn ban(call: &mut Call) -> Outcome {
    let id = call.chat(Accepts::AnyGroup)?;
    let user = call.params.user_id()?;
    check_removable(call, id, user)?;
    let kind = call.chat_ref(id).kind;
    // Basic groups know no temporary bans.
    let until = if kind == ChatType::Group {
        0
    } else {
        rules::normalize_until(call.params.int_or("until_date", 0), call.now)
    };
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
    call.set_member(id, user, Member::Kicked { until_date: until }, None, false);
    ok()
}

pub fn unban(call: &mut Call) -> Outcome {
    let id = call.chat(Accepts::SupergroupAndChannel)?;
    let user = call.params.user_id()?;
    let target = check_removable(call, id, user)?;
    let only_if_banned = call.params.bool_or("only_if_banned", false);
    let new = match target {
        Member::Kicked { .. } => Member::Left,
        Member::Left => return ok(),
        // Without only_if_banned, "unbanning" a present member removes them.
        _ if only_if_banned => return ok(),
        _ => Member::Left,
    };
    call.set_member(id, user, new, None, false);
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
