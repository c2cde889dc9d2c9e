//! The routine functions a person's app calls (what a bot does over the
//! Bot API), against the same world: titles, descriptions, default
//! permissions, the chat photo, messages and pins, forum topics, invite
//! links, admins, restrictions and bans, member tags, and reading one
//! participant or a message. Each runs the Bot API method that already
//! enforces Telegram's rule, as the signed-in person (`rpc::act`), so both
//! doors obey one set of rules and a change made through one is seen
//! through the other; errors come back under Telegram's MTProto names.
//!
//! TDLib (td/telegram/DialogParticipantManager.cpp, ForumTopicManager.cpp,
//! MessagesManager.cpp) checks the same things in the same order for the
//! Bot API and for apps, which is why one rule set serves both.

use grammers_tl_types::{self as tl, Identifiable};
use serde_json::{Value, json};

use super::Front;
use super::rpc::{Answer, act, channel_of, error, me, ok, peer_channel, read, updates_with};
use super::tl_out;
use crate::sandbox::rules::unix_now;
use crate::sandbox::server;
use crate::sandbox::world::{Member, Message};
use crate::state::{ChatId, Permission, UserId};

/// Run one routine function, or say the sandbox does not know it.
pub(super) fn dispatch(front: &Front, key_id: u64, id: u32, args: &[u8]) -> Answer {
    use tl::functions as f;
    let me = match me(front, key_id) {
        Ok(me) => me,
        Err(answer) => return answer,
    };
    let outcome = match id {
        f::channels::EditTitle::CONSTRUCTOR_ID => edit_title(front, me, args),
        f::messages::EditChatAbout::CONSTRUCTOR_ID => edit_about(front, me, args),
        f::messages::EditChatDefaultBannedRights::CONSTRUCTOR_ID => default_rights(front, me, args),
        f::channels::EditPhoto::CONSTRUCTOR_ID => edit_photo(front, me, args),
        f::messages::SendMessage::CONSTRUCTOR_ID => send_message(front, me, args),
        f::messages::EditMessage::CONSTRUCTOR_ID => edit_message(front, me, args),
        f::messages::UpdatePinnedMessage::CONSTRUCTOR_ID => pin(front, me, args),
        f::messages::EditChatParticipantRank::CONSTRUCTOR_ID => rank(front, me, args),
        f::messages::CreateForumTopic::CONSTRUCTOR_ID => create_topic(front, me, args),
        f::messages::EditForumTopic::CONSTRUCTOR_ID => edit_topic(front, me, args),
        f::messages::DeleteTopicHistory::CONSTRUCTOR_ID => delete_topic(front, me, args),
        f::messages::ExportChatInvite::CONSTRUCTOR_ID => export_invite(front, me, args),
        f::messages::EditExportedChatInvite::CONSTRUCTOR_ID => edit_invite(front, me, args),
        f::channels::EditBanned::CONSTRUCTOR_ID => edit_banned(front, me, args),
        f::channels::GetParticipant::CONSTRUCTOR_ID => participant(front, me, args),
        f::channels::GetMessages::CONSTRUCTOR_ID => messages(front, me, args),
        f::upload::SaveFilePart::CONSTRUCTOR_ID => save_part(front, me, args),
        _ => Err(error(400, "METHOD_NOT_SUPPORTED_BY_SANDBOX")),
    };
    outcome.unwrap_or_else(|answer| answer)
}

type Outcome = Result<Answer, Answer>;

fn edit_title(front: &Front, me: UserId, args: &[u8]) -> Outcome {
    let r: tl::functions::channels::EditTitle = read(args)?;
    let id = channel_of(&r.channel)?;
    // channels.editTitle answers CHAT_NOT_MODIFIED where TDLib (and so the
    // Bot API) quietly succeeds (DialogManager::set_dialog_title).
    let same = server::lock(&front.sandbox.world)
        .chats
        .get(&id)
        .is_some_and(|c| c.title == r.title.trim());
    if same {
        return Err(error(400, "CHAT_NOT_MODIFIED"));
    }
    act(
        front,
        me,
        "setChatTitle",
        json!({"chat_id": id, "title": r.title}),
    )?;
    Ok(updates_with(front, me, id))
}

fn edit_about(front: &Front, me: UserId, args: &[u8]) -> Outcome {
    let r: tl::functions::messages::EditChatAbout = read(args)?;
    let id = peer_channel(&r.peer)?;
    act(
        front,
        me,
        "setChatDescription",
        json!({"chat_id": id, "description": r.about}),
    )?;
    Ok(ok(true))
}

/// What banned rights leave allowed, as the Bot API's permissions object.
fn permissions_json(rights: &tl::enums::ChatBannedRights) -> Value {
    let tl::enums::ChatBannedRights::Rights(r) = rights;
    let media = r.send_media;
    let pairs = [
        (r.send_messages || r.send_plain, Permission::SendMessages),
        (media || r.send_audios, Permission::SendAudios),
        (media || r.send_docs, Permission::SendDocuments),
        (media || r.send_photos, Permission::SendPhotos),
        (media || r.send_videos, Permission::SendVideos),
        (media || r.send_roundvideos, Permission::SendVideoNotes),
        (media || r.send_voices, Permission::SendVoiceNotes),
        (r.send_polls, Permission::SendPolls),
        (
            r.send_stickers || r.send_gifs || r.send_games || r.send_inline,
            Permission::SendOtherMessages,
        ),
        (r.embed_links, Permission::AddWebPagePreviews),
        (r.send_reactions, Permission::ReactToMessages),
        (r.edit_rank, Permission::EditTag),
        (r.change_info, Permission::ChangeInfo),
        (r.invite_users, Permission::InviteUsers),
        (r.pin_messages, Permission::PinMessages),
        (r.manage_topics, Permission::ManageTopics),
    ];
    let mut out = serde_json::Map::new();
    for (banned, p) in pairs {
        out.insert(p.api_field().to_string(), Value::Bool(!banned));
    }
    Value::Object(out)
}

fn default_rights(front: &Front, me: UserId, args: &[u8]) -> Outcome {
    let r: tl::functions::messages::EditChatDefaultBannedRights = read(args)?;
    let id = peer_channel(&r.peer)?;
    let wanted = permissions_json(&r.banned_rights);
    let same = {
        let world = server::lock(&front.sandbox.world);
        let chat = world
            .chats
            .get(&id)
            .ok_or_else(|| error(400, "CHANNEL_INVALID"))?;
        Permission::ALL
            .iter()
            .all(|p| wanted[p.api_field()].as_bool() == Some(chat.permissions.contains(p)))
    };
    // messages.editChatDefaultBannedRights answers CHAT_NOT_MODIFIED
    // where the Bot API's setChatPermissions quietly succeeds.
    if same {
        return Err(error(400, "CHAT_NOT_MODIFIED"));
    }
    act(
        front,
        me,
        "setChatPermissions",
        json!({"chat_id": id, "permissions": wanted, "use_independent_chat_permissions": true}),
    )?;
    Ok(updates_with(front, me, id))
}

fn edit_photo(front: &Front, me: UserId, args: &[u8]) -> Outcome {
    let r: tl::functions::channels::EditPhoto = read(args)?;
    let id = channel_of(&r.channel)?;
    match r.photo {
        tl::enums::InputChatPhoto::Empty => {
            act(front, me, "deleteChatPhoto", json!({"chat_id": id}))?;
            Ok(updates_with(front, me, id))
        }
        tl::enums::InputChatPhoto::InputChatUploadedPhoto(p) => {
            let Some(tl::enums::InputFile::File(file)) = p.file else {
                return Err(error(400, "PHOTO_INVALID"));
            };
            let parts = server::lock(&front.uploads)
                .remove(&(me, file.id))
                .unwrap_or_default();
            // Every part from 0 to parts-1, and something in them.
            let complete = parts.len() == file.parts.max(0) as usize
                && parts.keys().copied().eq(0..file.parts);
            let size: usize = parts.values().map(Vec::len).sum();
            if !complete {
                return Err(error(400, "FILE_PARTS_INVALID"));
            }
            if size == 0 {
                return Err(error(400, "PHOTO_INVALID"));
            }
            {
                let now = unix_now();
                let mut world = server::lock(&front.sandbox.world);
                let serial = world.serial();
                let chat = world
                    .chats
                    .get_mut(&id)
                    .ok_or_else(|| error(400, "CHANNEL_INVALID"))?;
                // DialogManager::set_dialog_photo: the info right.
                let allowed = match chat.status(me, now) {
                    Member::Creator { .. } => true,
                    Member::Administrator { rights, .. } => {
                        rights.contains(&crate::state::Right::ChangeInfo)
                    }
                    _ => false,
                };
                if !allowed {
                    return Err(error(400, "CHAT_ADMIN_REQUIRED"));
                }
                chat.photo = Some(crate::sandbox::world::ChatPhoto { serial });
            }
            front
                .sandbox
                .dirty
                .store(true, std::sync::atomic::Ordering::Relaxed);
            front.sandbox.changed.notify_waiters();
            Ok(updates_with(front, me, id))
        }
        tl::enums::InputChatPhoto::Photo(_) => Err(error(400, "PHOTO_INVALID")),
    }
}

/// Telegram's largest file part, and most parts of a small file.
const PART_MAX: usize = 512 * 1024;
const PARTS_MAX: i32 = 4000;

/// upload.saveFilePart: one part of a file the account is uploading.
fn save_part(front: &Front, me: UserId, args: &[u8]) -> Outcome {
    let r: tl::functions::upload::SaveFilePart = read(args)?;
    if r.bytes.len() > PART_MAX || r.bytes.is_empty() {
        return Err(error(400, "FILE_PART_SIZE_INVALID"));
    }
    if !(0..PARTS_MAX).contains(&r.file_part) {
        return Err(error(400, "FILE_PART_INVALID"));
    }
    let mut uploads = server::lock(&front.uploads);
    // A bounded number of files in flight per account.
    if !uploads.contains_key(&(me, r.file_id))
        && uploads.keys().filter(|(user, _)| *user == me).count() >= 16
    {
        return Err(error(400, "FILE_PARTS_INVALID"));
    }
    uploads
        .entry((me, r.file_id))
        .or_default()
        .insert(r.file_part, r.bytes);
    Ok(ok(true))
}

/// The Updates answer of a message that was sent: its id by the client's
/// random id.
fn sent(front: &Front, me: UserId, chat: ChatId, id: i64, random_id: i64) -> Answer {
    let view = match super::rpc::channel_view(front, me, chat) {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    ok(tl::enums::Updates::Updates(tl::types::Updates {
        updates: vec![tl::enums::Update::MessageId(tl::types::UpdateMessageId {
            id: id as i32,
            random_id,
        })],
        users: vec![],
        chats: vec![view],
        date: unix_now() as i32,
        seq: 0,
    }))
}

fn send_message(front: &Front, me: UserId, args: &[u8]) -> Outcome {
    let r: tl::functions::messages::SendMessage = read(args)?;
    if let tl::enums::InputPeer::User(to) = &r.peer {
        return send_private(front, me, to, &r.message);
    }
    let id = peer_channel(&r.peer)?;
    let answer = act(
        front,
        me,
        "sendMessage",
        json!({"chat_id": id, "text": r.message, "disable_notification": r.silent}),
    )?;
    let message_id = answer
        .get("message_id")
        .and_then(Value::as_i64)
        .ok_or_else(|| error(500, "INTERNAL"))?;
    Ok(sent(front, me, id, message_id, r.random_id))
}

/// A person writes to a person: no "start the bot first" rule, only an
/// account that exists and is not deleted.
fn send_private(front: &Front, me: UserId, to: &tl::types::InputPeerUser, text: &str) -> Outcome {
    if to.access_hash != tl_out::access_hash(to.user_id) {
        return Err(error(400, "PEER_ID_INVALID"));
    }
    if text.trim().is_empty() {
        return Err(error(400, "MESSAGE_EMPTY"));
    }
    let id = {
        let mut world = server::lock(&front.sandbox.world);
        match world.users.get(&to.user_id) {
            None => return Err(error(400, "PEER_ID_INVALID")),
            Some(u) if u.deactivated => return Err(error(400, "INPUT_USER_DEACTIVATED")),
            Some(_) => {}
        }
        let chat = world.private_chats.entry(to.user_id).or_default();
        chat.next_message_id = chat.next_message_id.max(1);
        let id = chat.next_message_id;
        chat.messages.push(Message {
            message_id: id,
            from: me,
            date: unix_now(),
            text: text.to_string(),
            thread_id: None,
            edit_date: None,
        });
        chat.next_message_id += 1;
        id
    };
    front
        .sandbox
        .dirty
        .store(true, std::sync::atomic::Ordering::Relaxed);
    Ok(ok(tl::enums::Updates::UpdateShortSentMessage(
        tl::types::UpdateShortSentMessage {
            out: true,
            id: id as i32,
            pts: 1,
            pts_count: 1,
            date: unix_now() as i32,
            media: None,
            entities: None,
            ttl_period: None,
        },
    )))
}

fn edit_message(front: &Front, me: UserId, args: &[u8]) -> Outcome {
    let r: tl::functions::messages::EditMessage = read(args)?;
    let id = peer_channel(&r.peer)?;
    let text = r.message.ok_or_else(|| error(400, "MESSAGE_EMPTY"))?;
    // Only the sender edits a message (TDLib's can_edit_message).
    let author = server::lock(&front.sandbox.world)
        .chats
        .get(&id)
        .and_then(|c| c.messages.get(&i64::from(r.id)))
        .map(|m| m.from);
    match author {
        None => return Err(error(400, "MESSAGE_ID_INVALID")),
        Some(from) if from != me => return Err(error(403, "MESSAGE_AUTHOR_REQUIRED")),
        Some(_) => {}
    }
    act(
        front,
        me,
        "editMessageText",
        json!({"chat_id": id, "message_id": r.id, "text": text}),
    )?;
    Ok(updates_with(front, me, id))
}

fn pin(front: &Front, me: UserId, args: &[u8]) -> Outcome {
    let r: tl::functions::messages::UpdatePinnedMessage = read(args)?;
    let id = peer_channel(&r.peer)?;
    if r.unpin {
        act(
            front,
            me,
            "unpinChatMessage",
            json!({"chat_id": id, "message_id": r.id}),
        )?;
    } else {
        act(
            front,
            me,
            "pinChatMessage",
            json!({"chat_id": id, "message_id": r.id, "disable_notification": r.silent}),
        )?;
    }
    Ok(updates_with(front, me, id))
}

fn rank(front: &Front, me: UserId, args: &[u8]) -> Outcome {
    let r: tl::functions::messages::EditChatParticipantRank = read(args)?;
    let id = peer_channel(&r.peer)?;
    let user = input_peer_user(&r.participant)?;
    act(
        front,
        me,
        "setChatMemberTag",
        json!({"chat_id": id, "user_id": user, "tag": r.rank}),
    )?;
    Ok(updates_with(front, me, id))
}

fn input_peer_user(peer: &tl::enums::InputPeer) -> Result<UserId, Answer> {
    match peer {
        tl::enums::InputPeer::User(u) if u.access_hash == tl_out::access_hash(u.user_id) => {
            Ok(u.user_id)
        }
        _ => Err(error(400, "PARTICIPANT_ID_INVALID")),
    }
}

fn create_topic(front: &Front, me: UserId, args: &[u8]) -> Outcome {
    let r: tl::functions::messages::CreateForumTopic = read(args)?;
    let id = peer_channel(&r.peer)?;
    let mut params = json!({"chat_id": id, "name": r.title});
    if let Some(color) = r.icon_color {
        params["icon_color"] = json!(color);
    }
    let topic = act(front, me, "createForumTopic", params)?;
    let thread = topic
        .get("message_thread_id")
        .and_then(Value::as_i64)
        .ok_or_else(|| error(500, "INTERNAL"))?;
    Ok(sent(front, me, id, thread, r.random_id))
}

fn edit_topic(front: &Front, me: UserId, args: &[u8]) -> Outcome {
    let r: tl::functions::messages::EditForumTopic = read(args)?;
    let id = peer_channel(&r.peer)?;
    let thread = i64::from(r.topic_id);
    if let Some(title) = &r.title {
        act(
            front,
            me,
            "editForumTopic",
            json!({"chat_id": id, "message_thread_id": thread, "name": title}),
        )?;
    }
    if let Some(closed) = r.closed {
        let method = if closed {
            "closeForumTopic"
        } else {
            "reopenForumTopic"
        };
        act(
            front,
            me,
            method,
            json!({"chat_id": id, "message_thread_id": thread}),
        )?;
    }
    Ok(updates_with(front, me, id))
}

fn delete_topic(front: &Front, me: UserId, args: &[u8]) -> Outcome {
    let r: tl::functions::messages::DeleteTopicHistory = read(args)?;
    let id = peer_channel(&r.peer)?;
    act(
        front,
        me,
        "deleteForumTopic",
        json!({"chat_id": id, "message_thread_id": r.top_msg_id}),
    )?;
    Ok(ok(tl::enums::messages::AffectedHistory::History(
        tl::types::messages::AffectedHistory {
            pts: 1,
            pts_count: 1,
            offset: 0,
        },
    )))
}

/// The world's link by its URL, as MTProto shows it.
fn invite_of(
    front: &Front,
    chat: ChatId,
    url: &str,
) -> Result<tl::enums::ExportedChatInvite, Answer> {
    let world = server::lock(&front.sandbox.world);
    world
        .chats
        .get(&chat)
        .and_then(|c| c.invite_links.iter().find(|l| l.link == url))
        .map(|l| tl_out::invite(l, unix_now()))
        .ok_or_else(|| error(400, "INVITE_HASH_INVALID"))
}

fn export_invite(front: &Front, me: UserId, args: &[u8]) -> Outcome {
    let r: tl::functions::messages::ExportChatInvite = read(args)?;
    let id = peer_channel(&r.peer)?;
    let mut params = json!({"chat_id": id});
    if let Some(title) = &r.title {
        params["name"] = json!(title);
    }
    if let Some(expires) = r.expire_date {
        params["expire_date"] = json!(expires);
    }
    if let Some(limit) = r.usage_limit {
        params["member_limit"] = json!(limit);
    }
    if r.request_needed {
        params["creates_join_request"] = json!(true);
    }
    let link = act(front, me, "createChatInviteLink", params)?;
    let url = link
        .get("invite_link")
        .and_then(Value::as_str)
        .ok_or_else(|| error(500, "INTERNAL"))?;
    Ok(ok(invite_of(front, id, url)?))
}

fn edit_invite(front: &Front, me: UserId, args: &[u8]) -> Outcome {
    let r: tl::functions::messages::EditExportedChatInvite = read(args)?;
    let id = peer_channel(&r.peer)?;
    if r.revoked {
        act(
            front,
            me,
            "revokeChatInviteLink",
            json!({"chat_id": id, "invite_link": r.link}),
        )?;
    } else {
        let mut params = json!({"chat_id": id, "invite_link": r.link});
        if let Some(title) = &r.title {
            params["name"] = json!(title);
        }
        if let Some(expires) = r.expire_date.filter(|e| *e != 0) {
            params["expire_date"] = json!(expires);
        }
        if let Some(limit) = r.usage_limit.filter(|l| *l != 0) {
            params["member_limit"] = json!(limit);
        }
        if let Some(request) = r.request_needed {
            params["creates_join_request"] = json!(request);
        }
        act(front, me, "editChatInviteLink", params)?;
    }
    let invite = invite_of(front, id, &r.link)?;
    Ok(ok(tl::enums::messages::ExportedChatInvite::Invite(
        tl::types::messages::ExportedChatInvite {
            invite,
            users: vec![],
        },
    )))
}

/// channels.editBanned: `view_messages` bans (until a date, or for good);
/// no banned right lifts a ban or a restriction; anything else restricts.
fn edit_banned(front: &Front, me: UserId, args: &[u8]) -> Outcome {
    let r: tl::functions::channels::EditBanned = read(args)?;
    let id = channel_of(&r.channel)?;
    let user = input_peer_user(&r.participant)?;
    let tl::enums::ChatBannedRights::Rights(rights) = &r.banned_rights;
    let allowed = permissions_json(&r.banned_rights);
    let nothing_banned = allowed
        .as_object()
        .is_some_and(|m| m.values().all(|v| v == &Value::Bool(true)));
    if rights.view_messages {
        act(
            front,
            me,
            "banChatMember",
            json!({"chat_id": id, "user_id": user, "until_date": rights.until_date}),
        )?;
    } else if nothing_banned {
        let now = unix_now();
        let status = server::lock(&front.sandbox.world)
            .chats
            .get(&id)
            .map(|c| c.status(user, now));
        match status {
            Some(Member::Kicked { .. }) => {
                act(
                    front,
                    me,
                    "unbanChatMember",
                    json!({"chat_id": id, "user_id": user, "only_if_banned": true}),
                )?;
            }
            Some(Member::Restricted { .. }) => {
                act(
                    front,
                    me,
                    "restrictChatMember",
                    json!({"chat_id": id, "user_id": user, "permissions": allowed, "use_independent_chat_permissions": true}),
                )?;
            }
            Some(Member::Left) | None => return Err(error(400, "USER_NOT_PARTICIPANT")),
            Some(_) => return Err(error(400, "USER_NOT_MODIFIED")),
        }
    } else {
        act(
            front,
            me,
            "restrictChatMember",
            json!({"chat_id": id, "user_id": user, "permissions": allowed, "use_independent_chat_permissions": true, "until_date": rights.until_date}),
        )?;
    }
    Ok(updates_with(front, me, id))
}

fn participant(front: &Front, me: UserId, args: &[u8]) -> Outcome {
    let r: tl::functions::channels::GetParticipant = read(args)?;
    let id = channel_of(&r.channel)?;
    let user = match &r.participant {
        tl::enums::InputPeer::PeerSelf => me,
        other => input_peer_user(other)?,
    };
    let now = unix_now();
    let world = server::lock(&front.sandbox.world);
    let chat = world
        .chats
        .get(&id)
        .ok_or_else(|| error(400, "CHANNEL_INVALID"))?;
    if !chat.status(me, now).is_present() {
        return Err(error(400, "CHANNEL_PRIVATE"));
    }
    let member = chat.status(user, now);
    let participant = tl_out::participant(user, &member, me, now as i32)
        .ok_or_else(|| error(400, "USER_NOT_PARTICIPANT"))?;
    let users = world
        .users
        .get(&user)
        .map(|u| vec![tl_out::user(u, Some(me))])
        .unwrap_or_default();
    Ok(ok(tl::enums::channels::ChannelParticipant::Participant(
        tl::types::channels::ChannelParticipant {
            participant,
            chats: vec![],
            users,
        },
    )))
}

fn messages(front: &Front, me: UserId, args: &[u8]) -> Outcome {
    let r: tl::functions::channels::GetMessages = read(args)?;
    let id = channel_of(&r.channel)?;
    let now = unix_now();
    let world = server::lock(&front.sandbox.world);
    let chat = world
        .chats
        .get(&id)
        .ok_or_else(|| error(400, "CHANNEL_INVALID"))?;
    if !chat.status(me, now).is_present() {
        return Err(error(400, "CHANNEL_PRIVATE"));
    }
    let peer = tl::enums::Peer::Channel(tl::types::PeerChannel {
        channel_id: tl_out::channel_id(id),
    });
    let mut out = Vec::new();
    for input in &r.id {
        let tl::enums::InputMessage::Id(m) = input else {
            continue;
        };
        let Some(message) = chat.messages.get(&i64::from(m.id)) else {
            out.push(tl::enums::Message::Empty(tl::types::MessageEmpty {
                id: m.id,
                peer_id: Some(peer.clone()),
            }));
            continue;
        };
        out.push(tl_out::message(message, peer.clone()));
    }
    Ok(ok(tl::enums::messages::Messages::ChannelMessages(
        tl::types::messages::ChannelMessages {
            inexact: false,
            pts: 1,
            count: out.len() as i32,
            offset_id_offset: None,
            messages: out,
            topics: vec![],
            chats: vec![tl_out::channel(chat, me, now)],
            users: vec![],
        },
    )))
}
