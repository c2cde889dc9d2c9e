//! Telegram's rules about who may do what, shared by every method: finding
//! the chat a call names, the caller's membership and rights, which chat
//! types a method accepts, and who may edit which administrator.
//!
//! The same checks serve the bot (Bot API calls) and humans acting through
//! `/sandbox/act`; only the texts for "not in this chat" differ, because a
//! human client sees MTProto's error where a bot sees the Bot API's.

pub mod errors;

use crate::state::{ChatId, ChatType, Permission, Right, Rights, UserId};

use super::request::ChatRef;
use super::world::{Chat, Member, User, World};
use errors::ApiError;

/// Who is making the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caller {
    pub id: UserId,
    pub is_bot: bool,
}

/// Which chat types a method accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accepts {
    /// group, supergroup and channel
    AnyGroup,
    SupergroupAndChannel,
    SupergroupOnly,
    GroupAndSupergroup,
}

/// Unix time now.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Find the chat a `chat_id` names, without membership checks.
pub fn find_chat(world: &World, chat: &ChatRef) -> Result<ChatId, ApiError> {
    match chat {
        ChatRef::Id(id) if world.chats.contains_key(id) => Ok(*id),
        ChatRef::Id(_) => Err(errors::chat_not_found()),
        ChatRef::Username(name) => world
            .chat_by_username(name)
            .ok_or_else(errors::chat_not_found),
    }
}

/// Find the chat and check that the caller is in it and that the chat was not
/// upgraded; then that the method accepts its type.
pub fn chat_for(
    world: &World,
    caller: Caller,
    chat: &ChatRef,
    accepts: Accepts,
    now: i64,
) -> Result<ChatId, ApiError> {
    let id = find_chat(world, chat)?;
    let chat = &world.chats[&id];
    if let Some(to) = chat.migrated_to {
        return Err(errors::group_upgraded(to));
    }
    let status = chat.status(caller.id, now);
    if !status.is_present() {
        return Err(match (caller.is_bot, status) {
            (true, Member::Kicked { .. }) => errors::bot_kicked(chat.kind),
            (true, _) => errors::bot_not_member(chat.kind),
            (false, _) => errors::channel_private(),
        });
    }
    check_type(chat.kind, accepts)?;
    Ok(id)
}

pub fn check_type(kind: ChatType, accepts: Accepts) -> Result<(), ApiError> {
    use ChatType::*;
    match (accepts, kind) {
        (Accepts::AnyGroup, _) => Ok(()),
        (Accepts::SupergroupAndChannel, Supergroup | Channel) => Ok(()),
        (Accepts::SupergroupAndChannel, _) => Err(errors::only_supergroup_and_channel()),
        (Accepts::SupergroupOnly, Supergroup) => Ok(()),
        (Accepts::SupergroupOnly, _) => Err(errors::only_supergroups()),
        (Accepts::GroupAndSupergroup, Group | Supergroup) => Ok(()),
        (Accepts::GroupAndSupergroup, _) => Err(errors::only_groups_and_supergroups()),
    }
}

/// The caller's administrator rights; `None` when not an administrator. The
/// owner holds every right valid in the chat.
pub fn admin_rights(chat: &Chat, who: UserId, now: i64) -> Option<Rights> {
    match chat.status(who, now) {
        Member::Creator { is_anonymous, .. } => {
            let mut rights = Right::all_for(chat.kind);
            if is_anonymous {
                rights.insert(Right::Anonymous);
            }
            Some(rights)
        }
        Member::Administrator { rights, .. } => Some(rights),
        _ => None,
    }
}

/// The member permission that lets a non-admin do what an admin right allows
/// (in groups and supergroups, members may change info, invite, pin and
/// manage topics when the chat's permissions let them).
fn member_permission_for(right: Right) -> Option<Permission> {
    match right {
        Right::ChangeInfo => Some(Permission::ChangeInfo),
        Right::InviteUsers => Some(Permission::InviteUsers),
        Right::PinMessages => Some(Permission::PinMessages),
        Right::ManageTopics => Some(Permission::ManageTopics),
        _ => None,
    }
}

/// Require an admin right of the caller.
///
/// Not an administrator: `not enough rights` (in channels: `need
/// administrator rights in the channel chat`). An administrator without the
/// right: `CHAT_ADMIN_REQUIRED`.
pub fn require_right(chat: &Chat, caller: Caller, right: Right, now: i64) -> Result<(), ApiError> {
    match admin_rights(chat, caller.id, now) {
        Some(rights) if rights.contains(&right) => Ok(()),
        Some(_) => Err(errors::chat_admin_required()),
        None => {
            if chat.kind != ChatType::Channel {
                if let Some(p) = member_permission_for(right) {
                    let allowed = match chat.status(caller.id, now) {
                        Member::Member { .. } => chat.permissions.contains(&p),
                        Member::Restricted { permissions, .. } => {
                            permissions.contains(&p) && chat.permissions.contains(&p)
                        }
                        _ => false,
                    };
                    if allowed {
                        return Ok(());
                    }
                }
            }
            Err(not_admin(chat.kind))
        }
    }
}

/// Require the caller to be an administrator (any rights).
pub fn require_admin(chat: &Chat, caller: Caller, now: i64) -> Result<Rights, ApiError> {
    admin_rights(chat, caller.id, now).ok_or_else(|| not_admin(chat.kind))
}

pub fn not_admin(kind: ChatType) -> ApiError {
    if kind == ChatType::Channel {
        errors::need_channel_admin()
    } else {
        errors::not_enough_rights()
    }
}

/// Whether `editor` may change this administrator: the owner may edit
/// everyone, others only the admins they promoted themselves. This is what
/// `can_be_edited` tells the bot.
pub fn can_edit(chat: &Chat, editor: UserId, target: &Member) -> bool {
    match target {
        Member::Administrator { promoted_by, .. } => {
            *promoted_by == editor || chat.owner() == Some(editor)
        }
        Member::Creator { .. } => false,
        _ => true,
    }
}

pub fn find_user(world: &World, id: UserId) -> Result<&User, ApiError> {
    world.users.get(&id).ok_or_else(errors::user_not_found)
}

/// Telegram treats an `until_date` under 30 seconds or over 366 days from
/// now as forever (0).
pub fn normalize_until(until: i64, now: i64) -> i64 {
    if until <= 0 || until < now + 30 || until > now + 366 * 86_400 {
        0
    } else {
        until
    }
}

/// Length in UTF-16 code units, which is how Telegram counts characters.
pub fn text_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// Custom titles and tags may not contain emoji.
pub fn has_emoji(s: &str) -> bool {
    s.chars().any(|c| {
        let c = c as u32;
        matches!(c, 0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2B00..=0x2BFF | 0xFE0F | 0x200D)
    })
}
