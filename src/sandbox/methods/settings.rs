//! Chat settings: title, description, photo, default permissions; and the
//! settings only a person can change (slow mode, protected content,
//! auto-delete, join-by-request, forum on/off, upgrading a basic group),
//! which `/sandbox/act` exposes so tests can create drift a bot cannot fix.

use serde_json::{Map, Value, json};

use super::{Call, Outcome, ok};
use crate::sandbox::rules::{self, Accepts, errors};
use crate::sandbox::world::{Chat, ChatPhoto, Member};
use crate::state::{ChatType, Permission, Permissions, Right};

const TITLE_MAX: usize = 128;
const DESCRIPTION_MAX: usize = 255;
/// The slow-mode delays Telegram offers.
const SLOW_MODE_DELAYS: &[i64] = &[0, 10, 30, 60, 300, 900, 3600];

pub fn set_chat_title(call: &mut Call) -> Outcome {
    let id = call.chat(Accepts::AnyGroup)?;
    rules::require_right(call.chat_ref(id), call.caller, Right::ChangeInfo, call.now)?;
    let title = call.params.str_opt("title").unwrap_or_default();
    let title = title.trim();
    if title.is_empty() {
        return Err(errors::title_empty());
    }
    if rules::text_len(title) > TITLE_MAX {
        return Err(errors::title_too_long());
    }
    // An unchanged title is a silent no-op (unlike the description).
    call.chat_mut(id).title = title.to_string();
    ok()
}

pub fn set_chat_description(call: &mut Call) -> Outcome {
    let id = call.chat(Accepts::AnyGroup)?;
    rules::require_right(call.chat_ref(id), call.caller, Right::ChangeInfo, call.now)?;
    let description = call.params.str_opt("description").unwrap_or_default();
    if rules::text_len(&description) > DESCRIPTION_MAX {
        return Err(errors::description_too_long());
    }
    if call.chat_ref(id).description == description {
        return Err(errors::description_not_modified());
    }
    call.chat_mut(id).description = description;
    ok()
}

pub fn set_chat_photo(call: &mut Call) -> Outcome {
    let id = call.chat(Accepts::AnyGroup)?;
    rules::require_right(call.chat_ref(id), call.caller, Right::ChangeInfo, call.now)?;
    match call.params.file("photo") {
        None if call.params.has("photo") => return Err(errors::photo_must_be_uploaded()),
        None => return Err(errors::no_photo_in_request()),
        Some(file) if file.size == 0 => return Err(errors::photo_invalid()),
        Some(_) => {}
    }
    let serial = call.world.serial();
    call.chat_mut(id).photo = Some(ChatPhoto { serial });
    ok()
}

pub fn delete_chat_photo(call: &mut Call) -> Outcome {
    let id = call.chat(Accepts::AnyGroup)?;
    rules::require_right(call.chat_ref(id), call.caller, Right::ChangeInfo, call.now)?;
    if call.chat_mut(id).photo.take().is_none() {
        return Err(errors::chat_not_modified());
    }
    ok()
}

pub fn set_chat_permissions(call: &mut Call) -> Outcome {
    let id = call.chat(Accepts::GroupAndSupergroup)?;
    rules::require_right(
        call.chat_ref(id),
        call.caller,
        Right::RestrictMembers,
        call.now,
    )?;
    let object = call.params.object_required("permissions")?;
    let independent = call
        .params
        .bool_or("use_independent_chat_permissions", false);
    let permissions = parse_permissions(&object, independent);
    if call.chat_ref(id).permissions == permissions {
        return Err(errors::chat_not_modified());
    }
    call.chat_mut(id).permissions = permissions;
    ok()
}

/// A ChatPermissions object as Telegram reads it: omitted fields are false,
/// except the three whose description gives another default; without
/// `use_independent_chat_permissions`, some permissions imply others.
pub fn parse_permissions(object: &Map<String, Value>, independent: bool) -> Permissions {
    let flag = |p: Permission| object.get(p.api_field()).and_then(as_flag);
    let mut set = Permissions::new();
    for &p in Permission::ALL {
        let value = flag(p).unwrap_or_else(|| match p {
            Permission::ReactToMessages => flag(Permission::SendMessages).unwrap_or(false),
            Permission::EditTag | Permission::ManageTopics => {
                flag(Permission::PinMessages).unwrap_or(false)
            }
            _ => false,
        });
        if value {
            set.insert(p);
        }
    }
    if !independent {
        use Permission::*;
        if set.contains(&SendOtherMessages) || set.contains(&AddWebPagePreviews) {
            set.extend([
                SendMessages,
                SendAudios,
                SendDocuments,
                SendPhotos,
                SendVideos,
                SendVideoNotes,
                SendVoiceNotes,
            ]);
        }
        if set.contains(&SendPolls) {
            set.insert(SendMessages);
        }
    }
    set
}

fn as_flag(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => Some(n.as_f64().unwrap_or(0.0) != 0.0),
        Value::String(s) => Some(matches!(s.as_str(), "true" | "1")),
        _ => None,
    }
}

/// A human-only setter: check the chat, the right, then change one field.
fn human_setting(
    call: &mut Call,
    accepts: Accepts,
    right: Right,
    apply: impl FnOnce(&mut Chat) -> bool,
) -> Outcome {
    let id = call.chat(accepts)?;
    rules::require_right(call.chat_ref(id), call.caller, right, call.now)?;
    if !apply(call.chat_mut(id)) {
        return Err(errors::chat_not_modified());
    }
    ok()
}

pub fn set_slow_mode(call: &mut Call) -> Outcome {
    let seconds = call.params.int_required("seconds")?;
    if !SLOW_MODE_DELAYS.contains(&seconds) {
        return Err(errors::slow_mode_invalid());
    }
    human_setting(call, Accepts::SupergroupOnly, Right::RestrictMembers, |c| {
        std::mem::replace(&mut c.slow_mode_delay, seconds as u32) != seconds as u32
    })
}

pub fn set_protected_content(call: &mut Call) -> Outcome {
    let enabled = call.params.bool_or("enabled", true);
    human_setting(call, Accepts::AnyGroup, Right::ChangeInfo, |c| {
        std::mem::replace(&mut c.has_protected_content, enabled) != enabled
    })
}

pub fn set_auto_delete(call: &mut Call) -> Outcome {
    let seconds = call.params.int_required("seconds")?;
    // Off, or one day to one year, as Telegram's clients offer.
    if seconds != 0 && !(86_400..=31_536_000).contains(&seconds) {
        return Err(errors::ttl_period_invalid());
    }
    human_setting(call, Accepts::AnyGroup, Right::DeleteMessages, |c| {
        std::mem::replace(&mut c.message_auto_delete_time, seconds as u32) != seconds as u32
    })
}

pub fn set_join_by_request(call: &mut Call) -> Outcome {
    let enabled = call.params.bool_or("enabled", true);
    human_setting(call, Accepts::SupergroupOnly, Right::InviteUsers, |c| {
        std::mem::replace(&mut c.join_by_request, enabled) != enabled
    })
}

pub fn set_is_forum(call: &mut Call) -> Outcome {
    let enabled = call.params.bool_or("enabled", true);
    human_setting(call, Accepts::SupergroupOnly, Right::ChangeInfo, |c| {
        std::mem::replace(&mut c.is_forum, enabled) != enabled
    })
}

/// Turn a basic group into a supergroup: a new chat with a `-100…` id takes
/// over title, settings and members; the old group answers every later call
/// with `migrate_to_chat_id`. Only the owner can do it.
pub fn upgrade_to_supergroup(call: &mut Call) -> Outcome {
    let id = call.chat(Accepts::AnyGroup)?;
    let old = call.chat_ref(id);
    if old.kind != ChatType::Group {
        return Err(errors::ApiError::bad_request("CHAT_INVALID"));
    }
    if !matches!(old.status(call.caller.id, call.now), Member::Creator { .. }) {
        return Err(errors::chat_admin_required());
    }
    let new_id = -1_000_000_000_000 - id.abs();
    if call.world.chats.contains_key(&new_id) {
        return Err(errors::ApiError::bad_request("CHAT_INVALID"));
    }
    let mut chat = old.clone();
    chat.id = new_id;
    chat.kind = ChatType::Supergroup;
    chat.invite_links.clear();
    call.world.chats.insert(new_id, chat);
    call.chat_mut(id).migrated_to = Some(new_id);
    Ok(json!(new_id))
}
