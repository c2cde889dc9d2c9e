//! Chat settings: title, description, photo, default permissions; and the
//! settings only a person can change (slow mode, protected content,
//! auto-delete, join-by-request, forum on/off, upgrading a basic group),
//! which `/sandbox/act` exposes so tests can create drift a bot cannot fix.

use serde_json::{Value, json};

use super::{Call, Outcome, ok};
use crate::sandbox::request::Params;
use crate::sandbox::rules::{self, Accepts, errors};
use crate::sandbox::wire;
use crate::sandbox::world::{Chat, ChatPhoto, Member};
use crate::state::{ChatType, Permission, Permissions, Right};

const TITLE_MAX: usize = 128;
const DESCRIPTION_MAX: usize = 255;
/// The slow-mode delays Telegram offers.
const SLOW_MODE_DELAYS: &[i64] = &[0, 10, 30, 60, 300, 900, 3600];

/// DialogManager::set_dialog_title: the title is cleaned and cut to 128
/// characters first (empty: `title must be non-empty`), then the right is
/// checked; an unchanged title succeeds without a change.
pub fn set_chat_title(call: &mut Call) -> Outcome {
    let id = call.chat(Accepts::AnyGroup)?;
    let title = rules::clean_name(&call.params.str_opt("title").unwrap_or_default(), TITLE_MAX);
    if title.is_empty() {
        return Err(errors::title_must_be_non_empty());
    }
    if !has_right(call.chat_ref(id), call, Right::ChangeInfo) {
        return Err(errors::rights_change_title());
    }
    let changed = call.chat_ref(id).title != title;
    call.chat_mut(id).title = title.clone();
    // Telegram posts a `new_chat_title` service message; an admin bot
    // receives it as a `message` update, except for its own change.
    if changed && call.caller.id != call.world.bot_id() {
        let now = call.now;
        let message_id = call.chat_mut(id).take_message_id();
        let chat = call.chat_ref(id);
        let payload = serde_json::json!({
            "message_id": message_id,
            "date": now,
            "chat": wire::chat(chat),
            "from": wire::user_by_id(call.world, call.caller.id),
            "new_chat_title": title,
        });
        crate::sandbox::updates::enqueue(call.world, "message", now, payload);
    }
    ok()
}

/// ChatManager::set_chat_description / set_channel_description: the text is
/// cut to 255 characters (not refused), then the right is checked; the
/// server answers CHAT_ABOUT_NOT_MODIFIED for an unchanged text, which the
/// Bot API words `chat description is not modified`.
pub fn set_chat_description(call: &mut Call) -> Outcome {
    let id = call.chat(Accepts::AnyGroup)?;
    let description = rules::strip_empty_characters(
        &call.params.str_opt("description").unwrap_or_default(),
        DESCRIPTION_MAX,
    );
    if !has_right(call.chat_ref(id), call, Right::ChangeInfo) {
        return Err(errors::rights_set_description());
    }
    if call.chat_ref(id).description == description {
        return Err(errors::description_not_modified());
    }
    call.chat_mut(id).description = description;
    ok()
}

/// setChatPhoto (`Client::process_set_chat_photo_query`): the upload is
/// checked before the chat (`there is no photo in the request`, `photo must
/// be uploaded as an InputFile`), then DialogManager::set_dialog_photo's
/// right; an empty file is the server's PHOTO_INVALID (best guess).
pub fn set_chat_photo(call: &mut Call) -> Outcome {
    match call.params.file("photo") {
        None if call.params.has("photo") => return Err(errors::photo_must_be_uploaded()),
        None => return Err(errors::no_photo_in_request()),
        Some(_) => {}
    }
    let id = call.chat(Accepts::AnyGroup)?;
    if !has_right(call.chat_ref(id), call, Right::ChangeInfo) {
        return Err(errors::rights_change_photo());
    }
    if call.params.file("photo").is_some_and(|f| f.size == 0) {
        return Err(errors::photo_invalid());
    }
    let serial = call.world.serial();
    call.chat_mut(id).photo = Some(ChatPhoto { serial });
    ok()
}

pub fn delete_chat_photo(call: &mut Call) -> Outcome {
    let id = call.chat(Accepts::AnyGroup)?;
    if !has_right(call.chat_ref(id), call, Right::ChangeInfo) {
        return Err(errors::rights_change_photo());
    }
    if call.chat_mut(id).photo.take().is_none() {
        return Err(errors::chat_not_modified());
    }
    ok()
}

pub fn set_chat_permissions(call: &mut Call) -> Outcome {
    // Client::process_set_chat_permissions_query parses the permissions
    // before it looks at the chat; DialogManager::set_dialog_permissions then
    // checks the right and treats unchanged permissions as done.
    let (permissions, _) = permissions_param(call.params, false)?;
    let id = call.chat(Accepts::AnyGroup)?;
    let chat = call.chat_ref(id);
    if chat.kind == ChatType::Channel {
        return Err(errors::cant_change_channel_permissions());
    }
    if !has_right(chat, call, Right::RestrictMembers) {
        return Err(errors::rights_change_permissions());
    }
    if chat.permissions != permissions {
        call.chat_mut(id).permissions = permissions;
    }
    ok()
}

/// Whether the caller may do what `right` allows ([`rules::holds`]).
pub(crate) fn has_right(chat: &Chat, call: &Call, right: Right) -> bool {
    rules::holds(chat, call.caller, right, call.now)
}

/// The permissions a call asks for, read as `Client::get_chat_permissions`
/// (telegram-bot-api) does.
///
/// Without `permissions` every permission is false, so the call mutes the
/// member or the chat, unless `allow_legacy` (restrictChatMember only) and
/// the old top-level `can_send_*` arguments are used. Inside the object only
/// JSON booleans count (anything else: `Field "…" must be of type Boolean`);
/// omitted fields are false, except `can_manage_topics` and `can_edit_tag`,
/// which follow `can_pin_messages`, `can_react_to_messages`, which follows
/// `can_send_messages`, and the six media fields, which follow the legacy
/// `can_send_media_messages` when none of them is given. Without
/// `use_independent_chat_permissions`, other messages and link previews imply
/// every media permission and text, and polls imply text.
///
/// The second value is whether the legacy form was used in a way that keeps
/// a restricted member's other permissions (see `members::restrict`).
pub fn permissions_param(
    params: &Params,
    allow_legacy: bool,
) -> Result<(Permissions, bool), errors::ApiError> {
    use Permission::*;
    let independent = params.bool_or("use_independent_chat_permissions", false);
    let mut set = Permissions::new();
    if params.has("permissions") {
        let object = match params.raw("permissions") {
            Some(Value::Object(m)) => m.clone(),
            Some(Value::String(text)) => match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(m)) => m,
                Ok(_) => return Err(errors::permissions_not_object()),
                Err(_) => return Err(errors::cant_parse_object("permissions")),
            },
            _ => return Err(errors::permissions_not_object()),
        };
        let flag = |field: &str| -> Result<Option<bool>, errors::ApiError> {
            match object.get(field) {
                None => Ok(None),
                Some(Value::Bool(b)) => Ok(Some(*b)),
                Some(_) => Err(errors::permission_not_boolean(field)),
            }
        };
        let mut put = |p: Permission, on: bool| {
            if on {
                set.insert(p);
            }
        };
        let send_messages = flag("can_send_messages")?.unwrap_or(false);
        let polls = flag("can_send_polls")?.unwrap_or(false);
        let other = flag("can_send_other_messages")?.unwrap_or(false);
        let previews = flag("can_add_web_page_previews")?.unwrap_or(false);
        let pin = flag("can_pin_messages")?.unwrap_or(false);
        put(SendMessages, send_messages);
        put(SendPolls, polls);
        put(SendOtherMessages, other);
        put(AddWebPagePreviews, previews);
        put(ChangeInfo, flag("can_change_info")?.unwrap_or(false));
        put(InviteUsers, flag("can_invite_users")?.unwrap_or(false));
        put(PinMessages, pin);
        put(ManageTopics, flag("can_manage_topics")?.unwrap_or(pin));
        const MEDIA: [(&str, Permission); 6] = [
            ("can_send_audios", SendAudios),
            ("can_send_documents", SendDocuments),
            ("can_send_photos", SendPhotos),
            ("can_send_videos", SendVideos),
            ("can_send_video_notes", SendVideoNotes),
            ("can_send_voice_notes", SendVoiceNotes),
        ];
        let any_media = MEDIA.iter().any(|(f, _)| object.contains_key(*f));
        let mut send_messages = send_messages;
        if any_media {
            for (field, p) in MEDIA {
                put(p, flag(field)?.unwrap_or(false));
            }
        } else {
            let media = flag("can_send_media_messages")?.unwrap_or(false);
            for (_, p) in MEDIA {
                put(p, media);
            }
            if media && !independent {
                send_messages = true;
                put(SendMessages, true);
            }
        }
        put(EditTag, flag("can_edit_tag")?.unwrap_or(pin));
        put(
            ReactToMessages,
            flag("can_react_to_messages")?.unwrap_or(send_messages),
        );
        if (other || previews) && !independent {
            set.extend([
                SendAudios,
                SendDocuments,
                SendPhotos,
                SendVideos,
                SendVideoNotes,
                SendVoiceNotes,
                SendMessages,
            ]);
        }
        if polls && !independent {
            set.insert(SendMessages);
        }
        return Ok((set, false));
    }
    if !allow_legacy {
        return Ok((set, false));
    }
    let mut send_messages = params.bool_or("can_send_messages", false);
    let mut media = params.bool_or("can_send_media_messages", false);
    let other = params.bool_or("can_send_other_messages", false);
    let previews = params.bool_or("can_add_web_page_previews", false);
    if (other || previews) && !independent {
        media = true;
    }
    if media && !independent {
        send_messages = true;
    }
    let mut keeps_others = false;
    let mut pin = false;
    if send_messages && media && other && previews {
        // The legacy way of lifting every restriction.
        set.extend([
            SendPolls,
            ChangeInfo,
            InviteUsers,
            PinMessages,
            ManageTopics,
        ]);
        pin = true;
    } else {
        keeps_others = [
            "can_send_messages",
            "can_send_media_messages",
            "can_send_other_messages",
            "can_add_web_page_previews",
        ]
        .iter()
        .any(|f| params.has(f));
    }
    for (p, on) in [
        (SendMessages, send_messages),
        (SendOtherMessages, other),
        (AddWebPagePreviews, previews),
        (SendAudios, media),
        (SendDocuments, media),
        (SendPhotos, media),
        (SendVideos, media),
        (SendVideoNotes, media),
        (SendVoiceNotes, media),
        (EditTag, pin),
        (ReactToMessages, send_messages),
    ] {
        if on {
            set.insert(p);
        }
    }
    Ok((set, keeps_others))
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
