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

/// How much access a method needs to a chat, as the Bot API server's
/// `check_chat_access` (telegram-bot-api `Client.cpp`) distinguishes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// getChat, getChatMember, leaveChat: a public supergroup or channel
    /// the bot never joined can be read, and so can an upgraded group.
    Read,
    /// getChatAdministrators, getChatMemberCount, command scopes: like
    /// `Read`, except that basic groups need write access.
    ReadMembers,
    /// Everything that changes the chat.
    Write,
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
    chat_with_access(world, caller, chat, accepts, Access::Write, now)
}

/// [`chat_for`] with the access the method needs. The order of the checks
/// is `Client::check_chat_access`: a basic group first answers for its
/// upgrade, then for a kick, then for the bot having left, each only when
/// the access needs writing (members, for `ReadMembers`); a supergroup or
/// channel answers for a ban always and for the bot not being in it unless
/// the chat is public and the access only reads.
pub fn chat_with_access(
    world: &World,
    caller: Caller,
    chat: &ChatRef,
    accepts: Accepts,
    access: Access,
    now: i64,
) -> Result<ChatId, ApiError> {
    let id = find_chat(world, chat)?;
    let chat = &world.chats[&id];
    let status = chat.status(caller.id, now);
    if !caller.is_bot {
        // A person acting through /sandbox/act meets MTProto's error.
        if let Some(to) = chat.migrated_to {
            return Err(errors::group_upgraded(to));
        }
        if !status.is_present() {
            return Err(errors::channel_private());
        }
        check_type(chat.kind, accepts)?;
        return Ok(id);
    }
    if chat.kind == ChatType::Group {
        let need_write = access != Access::Read;
        let need_edit = access == Access::Write || need_write;
        if let Some(to) = chat.migrated_to {
            if need_write {
                return Err(errors::group_upgraded(to));
            }
        } else if need_edit {
            match status {
                Member::Kicked { .. } => return Err(errors::bot_kicked(chat.kind)),
                s if !s.is_present() => return Err(errors::bot_not_member(chat.kind)),
                _ => {}
            }
        }
    } else {
        // Only basic groups are upgraded; a world that marks another chat
        // as upgraded gets the answer at every call.
        if let Some(to) = chat.migrated_to {
            return Err(errors::group_upgraded(to));
        }
        if let Member::Kicked { .. } = status {
            return Err(errors::bot_kicked(chat.kind));
        }
        let is_public = chat.username.is_some();
        let need_more = !is_public || access == Access::Write;
        if !status.is_present() && need_more {
            return Err(errors::bot_not_member(chat.kind));
        }
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
            if chat.kind != ChatType::Channel
                && let Some(p) = member_permission_for(right)
            {
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
            Err(not_admin(chat.kind))
        }
    }
}

/// Whether the caller may do what `right` allows, as TDLib's
/// `DialogParticipantStatus` answers it: the owner and administrators by
/// their rights; in groups and supergroups everyone present also by the
/// chat's default permissions for the rights members can be given (change
/// info, invite, pin, topics), a restricted member only when both allow it.
/// A bot uses only the rights it was granted as an administrator
/// (`DialogParticipantStatus::apply_restrictions` with `is_bot`).
pub fn holds(chat: &Chat, caller: Caller, right: Right, now: i64) -> bool {
    let status = chat.status(caller.id, now);
    if admin_rights(chat, caller.id, now).is_some_and(|r| r.contains(&right)) {
        return true;
    }
    if chat.kind == ChatType::Channel || caller.is_bot {
        return false;
    }
    let Some(p) = member_permission_for(right) else {
        return false;
    };
    match status {
        Member::Creator { .. } | Member::Administrator { .. } | Member::Member { .. } => {
            chat.permissions.contains(&p)
        }
        Member::Restricted {
            permissions,
            is_member: true,
            ..
        } => permissions.contains(&p) && chat.permissions.contains(&p),
        _ => false,
    }
}

/// `DialogParticipantManager::get_channel_participant` and
/// `get_channel_participants`: in a channel only administrators may look at
/// members, so a bot that is not one gets `member list is inaccessible` from
/// getChatAdministrators, getChatMember and every member change that looks
/// the member up first (promote, ban, unban).
pub fn member_list(chat: &Chat, caller: Caller, now: i64) -> Result<(), ApiError> {
    if caller.is_bot
        && chat.kind == ChatType::Channel
        && admin_rights(chat, caller.id, now).is_none()
    {
        return Err(ApiError::bad_request("member list is inaccessible"));
    }
    Ok(())
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

/// The spaces TDLib's `strip_empty_characters` (td/telegram/misc.cpp)
/// turns into plain spaces.
const ODD_SPACES: &[char] = &[
    '\u{1680}', '\u{180E}', '\u{2000}', '\u{2001}', '\u{2002}', '\u{2003}', '\u{2004}', '\u{2005}',
    '\u{2006}', '\u{2007}', '\u{2008}', '\u{2009}', '\u{200A}', '\u{202F}', '\u{205F}', '\u{2800}',
    '\u{3000}', '\u{FFFC}',
];

/// Characters that do not make a text non-empty.
const EMPTY_CHARS: &[char] = &[
    '\u{200B}', '\u{200C}', '\u{200D}', '\u{200E}', '\u{200F}', '\u{202E}', '\u{FEFF}', '\u{A0}',
];

/// TDLib's `strip_empty_characters(text, max)`: odd spaces become spaces,
/// the text is trimmed, cut to `max` characters (code points, as
/// `utf8_truncate` counts) and trimmed again; a text of only empty
/// characters becomes empty. This is why over-long descriptions, link names
/// and topic names are cut rather than refused.
pub fn strip_empty_characters(text: &str, max: usize) -> String {
    let replaced: String = text
        .chars()
        .map(|c| if ODD_SPACES.contains(&c) { ' ' } else { c })
        .collect();
    let cut: String = replaced.trim().chars().take(max).collect();
    let cut = cut.trim().to_string();
    if cut
        .chars()
        .all(|c| c.is_whitespace() || EMPTY_CHARS.contains(&c))
    {
        String::new()
    } else {
        cut
    }
}

/// TDLib's `clean_name(text, max)`: `strip_empty_characters`, then runs of
/// spaces, newlines and no-break spaces become one space. Chat titles, topic
/// names and invite link names go through it.
pub fn clean_name(text: &str, max: usize) -> String {
    let stripped = strip_empty_characters(text, max);
    let mut out = String::with_capacity(stripped.len());
    let mut previous_space = false;
    for c in stripped.chars() {
        if matches!(c, ' ' | '\n' | '\u{A0}') {
            if !previous_space {
                out.push(' ');
                previous_space = true;
            }
            continue;
        }
        out.push(c);
        previous_space = false;
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cleaned_and_cut() {
        assert_eq!(clean_name("  a \n\n b\u{2003}c  ", 128), "a b c");
        assert_eq!(clean_name(&"x".repeat(40), 32), "x".repeat(32));
        assert_eq!(clean_name("\u{200B}\u{200D}", 32), "");
        assert_eq!(
            strip_empty_characters(&"é".repeat(300), 255)
                .chars()
                .count(),
            255
        );
    }
}
