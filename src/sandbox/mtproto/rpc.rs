//! The TL functions the MTProto front-end answers, against the same world
//! as the Bot API front-end. Where a Bot API method (or one of the
//! person-only methods `/sandbox/act` offers) already enforces Telegram's
//! rule, the function runs it as the signed-in person, so both doors obey
//! one set of rules; its error is translated to the MTProto name.
//!
//! The wrappers a client puts around its first call (`invokeWithLayer`,
//! `initConnection`, `invokeWithoutUpdates`) are taken off here.

use grammers_tl_types::{self as tl, Cursor, Deserializable, Identifiable, Serializable};
use serde_json::{Value, json};

use super::tl_out;
use super::{Front, PendingCode};
use crate::sandbox::rules::{errors::ApiError, unix_now};
use crate::sandbox::server::{self, run_act};
use crate::sandbox::world::Member;
use crate::state::{ChatId, UserId};

/// What a call comes to.
pub(super) enum Answer {
    Result(Vec<u8>),
    Error {
        code: i32,
        message: String,
    },
    /// Close the connection without answering.
    Drop,
}

pub(super) fn error(code: i32, message: &str) -> Answer {
    Answer::Error {
        code,
        message: message.to_string(),
    }
}

pub(super) fn ok<T: Serializable>(value: T) -> Answer {
    Answer::Result(value.to_bytes())
}

const INVOKE_WITH_LAYER: u32 = 0xda9b0d0d;
const INIT_CONNECTION: u32 = 0xc1cd5ea9;
const INVOKE_WITHOUT_UPDATES: u32 = 0xbf9459b7;

/// Peel the wrappers off a call: the inner query's bytes.
fn unwrap(mut body: &[u8]) -> Result<&[u8], Answer> {
    loop {
        let constructor = constructor(body).ok_or_else(|| error(400, "INPUT_REQUEST_INVALID"))?;
        let mut cursor = Cursor::from_slice(&body[4..]);
        match constructor {
            INVOKE_WITH_LAYER => {
                let layer = i32::deserialize(&mut cursor).map_err(|_| bad_request())?;
                if layer < 1 {
                    return Err(error(400, "LAYER_INVALID"));
                }
            }
            INIT_CONNECTION => {
                let flags = u32::deserialize(&mut cursor).map_err(|_| bad_request())?;
                let api_id = i32::deserialize(&mut cursor).map_err(|_| bad_request())?;
                if api_id <= 0 {
                    return Err(error(400, "API_ID_INVALID"));
                }
                // device_model system_version app_version system_lang_code
                // lang_pack lang_code
                for _ in 0..6 {
                    String::deserialize(&mut cursor).map_err(|_| bad_request())?;
                }
                if flags & 1 != 0 {
                    tl::enums::InputClientProxy::deserialize(&mut cursor)
                        .map_err(|_| bad_request())?;
                }
                if flags & 2 != 0 {
                    tl::enums::Jsonvalue::deserialize(&mut cursor).map_err(|_| bad_request())?;
                }
            }
            INVOKE_WITHOUT_UPDATES => {}
            _ => return Ok(body),
        }
        body = &body[4 + cursor.pos()..];
    }
}

fn constructor(body: &[u8]) -> Option<u32> {
    body.get(..4)
        .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
}

fn bad_request() -> Answer {
    error(400, "INPUT_REQUEST_INVALID")
}

/// Run one call (wrappers and all) for the connection on `key_id`.
pub(super) fn call(front: &Front, key_id: u64, body: &[u8]) -> Answer {
    let query = match unwrap(body) {
        Ok(q) => q,
        Err(answer) => return answer,
    };
    let Some(id) = constructor(query) else {
        return bad_request();
    };
    let name = tl::name_for_id(id);
    front.count(name);
    let fault = front.take_fault(name);
    if let Some(f) = fault.clone()
        && let Some(answer) = super::session::fault_answer(f)
    {
        return answer;
    }
    let answer = dispatch(front, key_id, id, &query[4..]);
    if fault.is_some() {
        // A drop after the call: it ran, its answer is lost.
        return Answer::Drop;
    }
    answer
}

pub(super) fn read<T: Deserializable>(args: &[u8]) -> Result<T, Answer> {
    T::deserialize(&mut Cursor::from_slice(args)).map_err(|_| bad_request())
}

/// The signed-in account, or the 401 Telegram answers without one.
pub(super) fn me(front: &Front, key_id: u64) -> Result<UserId, Answer> {
    front
        .user_of(key_id)
        .ok_or_else(|| error(401, "AUTH_KEY_UNREGISTERED"))
}

macro_rules! function {
    ($args:expr, $ty:ty) => {
        match read::<$ty>($args) {
            Ok(request) => request,
            Err(answer) => return answer,
        }
    };
}

macro_rules! attempt {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(answer) => return answer,
        }
    };
}

fn dispatch(front: &Front, key_id: u64, id: u32, args: &[u8]) -> Answer {
    use tl::functions as f;
    match id {
        f::help::GetConfig::CONSTRUCTOR_ID => ok(tl_out::config(front.addr, unix_now())),
        f::help::GetNearestDc::CONSTRUCTOR_ID => {
            ok(tl::enums::NearestDc::Dc(tl::types::NearestDc {
                country: "ZZ".into(),
                this_dc: 2,
                nearest_dc: 2,
            }))
        }
        f::auth::SendCode::CONSTRUCTOR_ID => send_code(front, function!(args, f::auth::SendCode)),
        f::auth::SignIn::CONSTRUCTOR_ID => sign_in(front, key_id, function!(args, f::auth::SignIn)),
        f::account::GetPassword::CONSTRUCTOR_ID => get_password(front, key_id),
        f::auth::CheckPassword::CONSTRUCTOR_ID => {
            check_password(front, key_id, function!(args, f::auth::CheckPassword))
        }
        f::auth::LogOut::CONSTRUCTOR_ID => {
            attempt!(me(front, key_id));
            front.bind(key_id, None);
            ok(tl::enums::auth::LoggedOut::Out(
                tl::types::auth::LoggedOut {
                    future_auth_token: None,
                },
            ))
        }
        f::updates::GetState::CONSTRUCTOR_ID => {
            attempt!(me(front, key_id));
            ok(tl::enums::updates::State::State(
                tl::types::updates::State {
                    pts: 1,
                    qts: 0,
                    date: unix_now() as i32,
                    seq: 0,
                    unread_count: 0,
                },
            ))
        }
        f::users::GetUsers::CONSTRUCTOR_ID => {
            let me = attempt!(me(front, key_id));
            let request = function!(args, f::users::GetUsers);
            let world = server::lock(&front.sandbox.world);
            let users = request
                .id
                .iter()
                .filter_map(|input| match input {
                    tl::enums::InputUser::UserSelf => Some(me),
                    tl::enums::InputUser::User(u)
                        if u.access_hash == tl_out::access_hash(u.user_id) =>
                    {
                        Some(u.user_id)
                    }
                    _ => None,
                })
                .filter_map(|id| world.users.get(&id))
                .map(|u| tl_out::user(u, Some(me)))
                .collect::<Vec<_>>();
            ok(users)
        }
        f::channels::GetParticipants::CONSTRUCTOR_ID => {
            let me = attempt!(me(front, key_id));
            get_participants(front, me, function!(args, f::channels::GetParticipants))
        }
        f::channels::CreateChannel::CONSTRUCTOR_ID => {
            let me = attempt!(me(front, key_id));
            create_channel(front, me, function!(args, f::channels::CreateChannel))
        }
        f::channels::EditAdmin::CONSTRUCTOR_ID => {
            let me = attempt!(me(front, key_id));
            edit_admin(front, me, function!(args, f::channels::EditAdmin))
        }
        f::channels::InviteToChannel::CONSTRUCTOR_ID => {
            let me = attempt!(me(front, key_id));
            invite_to_channel(front, me, function!(args, f::channels::InviteToChannel))
        }
        f::channels::GetFullChannel::CONSTRUCTOR_ID => {
            let me = attempt!(me(front, key_id));
            let request = function!(args, f::channels::GetFullChannel);
            let id = attempt!(channel_of(&request.channel));
            full_channel(front, me, id)
        }
        f::channels::ToggleSlowMode::CONSTRUCTOR_ID => {
            let me = attempt!(me(front, key_id));
            let r = function!(args, f::channels::ToggleSlowMode);
            let id = attempt!(channel_of(&r.channel));
            let p = json!({"chat_id": id, "seconds": r.seconds});
            person_setting(front, me, id, "setChatSlowModeDelay", p)
        }
        f::messages::ToggleNoForwards::CONSTRUCTOR_ID => {
            let me = attempt!(me(front, key_id));
            let r = function!(args, f::messages::ToggleNoForwards);
            let id = attempt!(peer_channel(&r.peer));
            let p = json!({"chat_id": id, "enabled": r.enabled});
            person_setting(front, me, id, "setChatProtectedContent", p)
        }
        f::messages::SetHistoryTtl::CONSTRUCTOR_ID => {
            let me = attempt!(me(front, key_id));
            let r = function!(args, f::messages::SetHistoryTtl);
            let id = attempt!(peer_channel(&r.peer));
            let p = json!({"chat_id": id, "seconds": r.period});
            person_setting(front, me, id, "setChatMessageAutoDeleteTime", p)
        }
        f::channels::ToggleJoinRequest::CONSTRUCTOR_ID => {
            let me = attempt!(me(front, key_id));
            let r = function!(args, f::channels::ToggleJoinRequest);
            let id = attempt!(channel_of(&r.channel));
            let p = json!({"chat_id": id, "enabled": r.enabled});
            person_setting(front, me, id, "setChatJoinByRequest", p)
        }
        f::channels::ToggleForum::CONSTRUCTOR_ID => {
            let me = attempt!(me(front, key_id));
            let r = function!(args, f::channels::ToggleForum);
            let id = attempt!(channel_of(&r.channel));
            let p = json!({"chat_id": id, "enabled": r.enabled});
            person_setting(front, me, id, "setChatIsForum", p)
        }
        f::channels::ToggleJoinToSend::CONSTRUCTOR_ID => {
            let me = attempt!(me(front, key_id));
            let r = function!(args, f::channels::ToggleJoinToSend);
            let id = attempt!(channel_of(&r.channel));
            toggle(front, me, id, r.enabled, |c| &mut c.join_to_send_messages)
        }
        f::channels::ToggleParticipantsHidden::CONSTRUCTOR_ID => {
            let me = attempt!(me(front, key_id));
            let r = function!(args, f::channels::ToggleParticipantsHidden);
            let id = attempt!(channel_of(&r.channel));
            toggle(front, me, id, r.enabled, |c| &mut c.has_hidden_members)
        }
        f::channels::TogglePreHistoryHidden::CONSTRUCTOR_ID => {
            let me = attempt!(me(front, key_id));
            let r = function!(args, f::channels::TogglePreHistoryHidden);
            let id = attempt!(channel_of(&r.channel));
            toggle(front, me, id, r.enabled, |c| &mut c.history_hidden)
        }
        f::contacts::ResolveUsername::CONSTRUCTOR_ID => {
            let me = attempt!(me(front, key_id));
            let request = function!(args, f::contacts::ResolveUsername);
            let name = request.username.trim_start_matches('@').to_lowercase();
            let world = server::lock(&front.sandbox.world);
            let Some(user) = world.users.values().find(|u| {
                u.username.as_deref().map(str::to_lowercase).as_deref() == Some(name.as_str())
            }) else {
                return error(400, "USERNAME_NOT_OCCUPIED");
            };
            ok(tl::enums::contacts::ResolvedPeer::Peer(
                tl::types::contacts::ResolvedPeer {
                    peer: tl::enums::Peer::User(tl::types::PeerUser { user_id: user.id }),
                    chats: vec![],
                    users: vec![tl_out::user(user, Some(me))],
                },
            ))
        }
        f::messages::GetForumTopics::CONSTRUCTOR_ID => {
            let me = attempt!(me(front, key_id));
            let r = function!(args, f::messages::GetForumTopics);
            let id = attempt!(peer_channel(&r.peer));
            forum_topics(front, me, id, r.q.as_deref(), r.limit)
        }
        f::messages::GetExportedChatInvites::CONSTRUCTOR_ID => {
            let me = attempt!(me(front, key_id));
            let r = function!(args, f::messages::GetExportedChatInvites);
            let id = attempt!(peer_channel(&r.peer));
            let admin = attempt!(user_of(&r.admin_id, me));
            exported_invites(front, me, id, admin, r.revoked, r.limit)
        }
        f::channels::GetAdminLog::CONSTRUCTOR_ID => {
            let me = attempt!(me(front, key_id));
            let r = function!(args, f::channels::GetAdminLog);
            let id = attempt!(channel_of(&r.channel));
            admin_log(front, me, id, r.max_id, r.min_id, r.limit)
        }
        f::messages::GetDialogs::CONSTRUCTOR_ID => {
            let me = attempt!(me(front, key_id));
            let request = function!(args, f::messages::GetDialogs);
            // Pages continue after `offset_peer` (the sandbox's dialogs
            // have no message dates to order by).
            let after = match &request.offset_peer {
                tl::enums::InputPeer::Channel(c) => Some(tl_out::chat_id(c.channel_id)),
                _ => None,
            };
            dialogs(front, me, request.limit, after)
        }
        f::channels::GetChannels::CONSTRUCTOR_ID => {
            let me = attempt!(me(front, key_id));
            let request = function!(args, f::channels::GetChannels);
            let mut chats = Vec::new();
            for input in &request.id {
                let id = attempt!(channel_of(input));
                chats.push(attempt!(channel_view(front, me, id)));
            }
            ok(tl::enums::messages::Chats::Chats(
                tl::types::messages::Chats { chats },
            ))
        }
        f::messages::GetDialogFilters::CONSTRUCTOR_ID => {
            let me = attempt!(me(front, key_id));
            dialog_filters(front, me)
        }
        f::messages::UpdateDialogFilter::CONSTRUCTOR_ID => {
            let me = attempt!(me(front, key_id));
            update_dialog_filter(front, me, function!(args, f::messages::UpdateDialogFilter))
        }
        f::chatlists::ExportChatlistInvite::CONSTRUCTOR_ID => {
            let me = attempt!(me(front, key_id));
            export_chatlist(
                front,
                me,
                function!(args, f::chatlists::ExportChatlistInvite),
            )
        }
        f::chatlists::EditExportedInvite::CONSTRUCTOR_ID => {
            let me = attempt!(me(front, key_id));
            edit_chatlist(front, me, function!(args, f::chatlists::EditExportedInvite))
        }
        f::chatlists::GetExportedInvites::CONSTRUCTOR_ID => {
            let me = attempt!(me(front, key_id));
            let r = function!(args, f::chatlists::GetExportedInvites);
            let tl::enums::InputChatlist::DialogFilter(list) = r.chatlist;
            let world = server::lock(&front.sandbox.world);
            let invites = world
                .folders
                .links
                .iter()
                .filter(|l| l.owner == me && l.filter_id == list.filter_id)
                .map(chatlist_invite)
                .collect();
            ok(tl::enums::chatlists::ExportedInvites::Invites(
                tl::types::chatlists::ExportedInvites {
                    invites,
                    chats: vec![],
                    users: vec![],
                },
            ))
        }
        f::chatlists::CheckChatlistInvite::CONSTRUCTOR_ID => {
            let me = attempt!(me(front, key_id));
            let r = function!(args, f::chatlists::CheckChatlistInvite);
            check_chatlist(front, me, &r.slug)
        }
        f::chatlists::JoinChatlistInvite::CONSTRUCTOR_ID => {
            let me = attempt!(me(front, key_id));
            let r = function!(args, f::chatlists::JoinChatlistInvite);
            let mut chats = Vec::new();
            for peer in &r.peers {
                chats.push(attempt!(peer_channel(peer)));
            }
            if chats.is_empty() {
                return error(400, "PEERS_LIST_EMPTY");
            }
            let joined = attempt!(act(
                front,
                me,
                "joinChatlist",
                json!({"slug": r.slug, "chat_ids": serde_json::to_string(&chats).unwrap_or_default()}),
            ));
            let ids: Vec<ChatId> = joined
                .get("joined")
                .and_then(|j| serde_json::from_value(j.clone()).ok())
                .unwrap_or_default();
            let mut views = Vec::new();
            for id in ids {
                views.push(attempt!(channel_view(front, me, id)));
            }
            ok(tl::enums::Updates::Updates(tl::types::Updates {
                updates: vec![],
                users: vec![],
                chats: views,
                date: unix_now() as i32,
                seq: 0,
            }))
        }
        _ => super::routine::dispatch(front, key_id, id, args),
    }
}

// --- folders and folder links (chatlists.*) ---

fn channel_peer(chat: ChatId) -> tl::enums::Peer {
    tl::enums::Peer::Channel(tl::types::PeerChannel {
        channel_id: tl_out::channel_id(chat),
    })
}

fn input_peer(chat: ChatId) -> tl::enums::InputPeer {
    let channel_id = tl_out::channel_id(chat);
    tl::enums::InputPeer::Channel(tl::types::InputPeerChannel {
        channel_id,
        access_hash: tl_out::access_hash(channel_id),
    })
}

fn text(title: &str) -> tl::enums::TextWithEntities {
    tl::enums::TextWithEntities::Entities(tl::types::TextWithEntities {
        text: title.to_string(),
        entities: vec![],
    })
}

fn chatlist_invite(link: &super::folders::FolderLink) -> tl::enums::ExportedChatlistInvite {
    tl::enums::ExportedChatlistInvite::Invite(tl::types::ExportedChatlistInvite {
        title: link.title.clone(),
        url: link.url(),
        peers: link.chats.iter().map(|c| channel_peer(*c)).collect(),
    })
}

fn dialog_filter(folder: &super::folders::Folder, has_links: bool) -> tl::enums::DialogFilter {
    let include_peers = folder.chats.iter().map(|c| input_peer(*c)).collect();
    if folder.shared {
        tl::enums::DialogFilter::Chatlist(tl::types::DialogFilterChatlist {
            has_my_invites: has_links,
            title_noanimate: false,
            id: folder.id,
            title: text(&folder.title),
            emoticon: None,
            color: None,
            pinned_peers: vec![],
            include_peers,
        })
    } else {
        tl::enums::DialogFilter::Filter(tl::types::DialogFilter {
            contacts: false,
            non_contacts: false,
            groups: false,
            broadcasts: false,
            bots: false,
            exclude_muted: false,
            exclude_read: false,
            exclude_archived: false,
            title_noanimate: false,
            id: folder.id,
            title: text(&folder.title),
            emoticon: None,
            color: None,
            pinned_peers: vec![],
            include_peers,
            exclude_peers: vec![],
        })
    }
}

fn dialog_filters(front: &Front, me: UserId) -> Answer {
    let world = server::lock(&front.sandbox.world);
    let mut filters = vec![tl::enums::DialogFilter::Default];
    for folder in world.folders.of(me) {
        let has_links = world
            .folders
            .links
            .iter()
            .any(|l| l.owner == me && l.filter_id == folder.id);
        filters.push(dialog_filter(folder, has_links));
    }
    ok(tl::enums::messages::DialogFilters::Filters(
        tl::types::messages::DialogFilters {
            tags_enabled: false,
            filters,
        },
    ))
}

/// The chats of a folder's peers: channels `me` can name (a valid access
/// hash), else the error Telegram gives.
fn peer_chats(peers: &[tl::enums::InputPeer]) -> Result<Vec<ChatId>, Answer> {
    peers.iter().map(peer_channel).collect()
}

fn update_dialog_filter(
    front: &Front,
    me: UserId,
    request: tl::functions::messages::UpdateDialogFilter,
) -> Answer {
    let folder = match &request.filter {
        None => None,
        Some(tl::enums::DialogFilter::Filter(f)) => {
            if f.id != request.id {
                return error(400, "FILTER_ID_INVALID");
            }
            let tl::enums::TextWithEntities::Entities(t) = &f.title;
            Some((t.text.clone(), attempt!(peer_chats(&f.include_peers))))
        }
        Some(tl::enums::DialogFilter::Chatlist(f)) => {
            if f.id != request.id {
                return error(400, "FILTER_ID_INVALID");
            }
            let tl::enums::TextWithEntities::Entities(t) = &f.title;
            Some((t.text.clone(), attempt!(peer_chats(&f.include_peers))))
        }
        Some(tl::enums::DialogFilter::Default) => return error(400, "FILTER_ID_INVALID"),
    };
    let mut world = server::lock(&front.sandbox.world);
    match super::folders::update(&mut world, me, request.id, folder) {
        Ok(()) => ok(true),
        Err(name) => error(400, name),
    }
}

fn export_chatlist(
    front: &Front,
    me: UserId,
    request: tl::functions::chatlists::ExportChatlistInvite,
) -> Answer {
    let tl::enums::InputChatlist::DialogFilter(list) = request.chatlist;
    let chats = attempt!(peer_chats(&request.peers));
    let mut world = server::lock(&front.sandbox.world);
    let link = match super::folders::export(
        &mut world,
        me,
        list.filter_id,
        &request.title,
        chats,
        unix_now(),
    ) {
        Ok(link) => link,
        Err(name) => return error(400, name),
    };
    let Some(folder) = world
        .folders
        .of(me)
        .find(|f| f.id == list.filter_id)
        .cloned()
    else {
        return error(400, "FILTER_NOT_SUPPORTED");
    };
    ok(tl::enums::chatlists::ExportedChatlistInvite::Invite(
        tl::types::chatlists::ExportedChatlistInvite {
            filter: dialog_filter(&folder, true),
            invite: chatlist_invite(&link),
        },
    ))
}

fn edit_chatlist(
    front: &Front,
    me: UserId,
    request: tl::functions::chatlists::EditExportedInvite,
) -> Answer {
    let tl::enums::InputChatlist::DialogFilter(list) = request.chatlist;
    let chats = match &request.peers {
        Some(peers) => Some(attempt!(peer_chats(peers))),
        None => None,
    };
    let mut world = server::lock(&front.sandbox.world);
    match super::folders::edit(
        &mut world,
        me,
        list.filter_id,
        &request.slug,
        request.title,
        chats,
        unix_now(),
    ) {
        Ok(link) => ok(chatlist_invite(&link)),
        Err(name) => error(400, name),
    }
}

fn check_chatlist(front: &Front, me: UserId, slug: &str) -> Answer {
    let now = unix_now();
    let world = server::lock(&front.sandbox.world);
    let Some(slug) = crate::state::folders::slug_of(slug) else {
        return error(400, "INVITE_SLUG_INVALID");
    };
    let Some(link) = world.folders.link(slug) else {
        return error(400, "INVITE_SLUG_EXPIRED");
    };
    let chats: Vec<tl::enums::Chat> = link
        .chats
        .iter()
        .filter_map(|c| world.chats.get(c))
        .map(|c| tl_out::channel(c, me, now))
        .collect();
    let peers: Vec<tl::enums::Peer> = link.chats.iter().map(|c| channel_peer(*c)).collect();
    // A person who already has this folder is told which chats are new.
    if let Some(mine) = world
        .folders
        .of(me)
        .find(|f| f.title == link.title && f.shared)
    {
        let (already, missing): (Vec<ChatId>, Vec<ChatId>) = link.chats.iter().partition(|c| {
            world
                .chats
                .get(c)
                .is_some_and(|c| c.status(me, now).is_present())
        });
        return ok(tl::enums::chatlists::ChatlistInvite::Already(
            tl::types::chatlists::ChatlistInviteAlready {
                filter_id: mine.id,
                missing_peers: missing.into_iter().map(channel_peer).collect(),
                already_peers: already.into_iter().map(channel_peer).collect(),
                chats,
                users: vec![],
            },
        ));
    }
    ok(tl::enums::chatlists::ChatlistInvite::Invite(
        tl::types::chatlists::ChatlistInvite {
            title_noanimate: false,
            title: text(&link.title),
            emoticon: None,
            peers,
            chats,
            users: vec![],
        },
    ))
}

// --- signing in ---

fn send_code(front: &Front, request: tl::functions::auth::SendCode) -> Answer {
    if request.api_id <= 0 || request.api_hash.len() != 32 {
        return error(400, "API_ID_INVALID");
    }
    let phone = normalise_phone(&request.phone_number);
    if phone.is_empty() {
        return error(400, "PHONE_NUMBER_INVALID");
    }
    // Telegram's test numbers, 99966XYYYY, sign in with X repeated five
    // times; every other number gets a random code (read it with
    // `RunningMtproto::login_code`).
    let code = match phone
        .strip_prefix("99966")
        .and_then(|rest| rest.chars().next())
    {
        Some(x) if phone.len() == 10 => x.to_string().repeat(5),
        _ => format!("{:05}", rand::random::<u32>() % 100_000),
    };
    let hash = format!("{:016x}", rand::random::<u64>());
    server::lock(&front.codes).insert(hash.clone(), PendingCode { phone, code });
    ok(tl::enums::auth::SentCode::Code(tl::types::auth::SentCode {
        r#type: tl::enums::auth::SentCodeType::App(tl::types::auth::SentCodeTypeApp { length: 5 }),
        phone_code_hash: hash,
        next_type: None,
        timeout: None,
    }))
}

fn normalise_phone(phone: &str) -> String {
    phone.chars().filter(char::is_ascii_digit).collect()
}

fn sign_in(front: &Front, key_id: u64, request: tl::functions::auth::SignIn) -> Answer {
    let pending = server::lock(&front.codes)
        .get(&request.phone_code_hash)
        .map(|p| (p.phone.clone(), p.code.clone()));
    let Some((phone, code)) = pending else {
        return error(400, "PHONE_CODE_EXPIRED");
    };
    if normalise_phone(&request.phone_number) != phone {
        return error(400, "PHONE_NUMBER_INVALID");
    }
    match request.phone_code.as_deref() {
        None | Some("") => return error(400, "PHONE_CODE_EMPTY"),
        Some(given) if given != code => return error(400, "PHONE_CODE_INVALID"),
        Some(_) => {}
    }
    server::lock(&front.codes).remove(&request.phone_code_hash);
    let world = server::lock(&front.sandbox.world);
    let Some(user) = world
        .users
        .values()
        .find(|u| u.phone.as_deref().map(normalise_phone).as_deref() == Some(phone.as_str()))
    else {
        return error(400, "PHONE_NUMBER_UNOCCUPIED");
    };
    if user.two_factor_password.is_some() {
        // The code was right; the key signs in once the password is proved
        // (account.getPassword, then auth.checkPassword).
        let id = user.id;
        drop(world);
        server::lock(&front.passwords).insert(
            key_id,
            super::PendingPassword {
                user: id,
                challenge: None,
            },
        );
        return error(401, "SESSION_PASSWORD_NEEDED");
    }
    let answer = tl::enums::auth::Authorization::Authorization(tl::types::auth::Authorization {
        setup_password_required: false,
        otherwise_relogin_days: None,
        tmp_sessions: None,
        future_auth_token: None,
        user: tl_out::user(user, Some(user.id)),
    });
    let id = user.id;
    drop(world);
    front.bind(key_id, Some(id));
    ok(answer)
}

// --- two-step verification (SRP) ---

/// A user's salts: fixed per account, as Telegram keeps them until the
/// password changes.
fn salts(user: UserId) -> (Vec<u8>, Vec<u8>) {
    (
        format!("sandbox-salt1-{user}").into_bytes(),
        format!("sandbox-salt2-{user}").into_bytes(),
    )
}

fn get_password(front: &Front, key_id: u64) -> Answer {
    let mut pending = server::lock(&front.passwords);
    let Some(waiting) = pending.get_mut(&key_id) else {
        // Only a login waiting for its password is offered a challenge here.
        return error(401, "AUTH_KEY_UNREGISTERED");
    };
    let password = server::lock(&front.sandbox.world)
        .users
        .get(&waiting.user)
        .and_then(|u| u.two_factor_password.clone());
    let Some(password) = password else {
        return error(400, "PASSWORD_EMPTY");
    };
    let (salt1, salt2) = salts(waiting.user);
    let mut b = [0u8; 256];
    rand::fill(&mut b[..]);
    let challenge = super::srp::Challenge::new(password.as_bytes(), &salt1, &salt2, &b);
    let srp_id = rand::random::<i64>();
    let srp_b = challenge.g_b.to_vec();
    waiting.challenge = Some((srp_id, challenge));
    let algo = || {
        tl::enums::PasswordKdfAlgo::Sha256Sha256Pbkdf2Hmacsha512iter100000Sha256ModPow(
            tl::types::PasswordKdfAlgoSha256Sha256Pbkdf2Hmacsha512iter100000Sha256ModPow {
                salt1: salt1.clone(),
                salt2: salt2.clone(),
                g: super::srp::G as i32,
                p: super::srp::p(),
            },
        )
    };
    let mut secure_random = vec![0u8; 256];
    rand::fill(&mut secure_random[..]);
    ok(tl::enums::account::Password::Password(
        tl::types::account::Password {
            has_recovery: false,
            has_secure_values: false,
            has_password: true,
            current_algo: Some(algo()),
            srp_b: Some(srp_b),
            srp_id: Some(srp_id),
            hint: Some("sandbox".into()),
            email_unconfirmed_pattern: None,
            new_algo: algo(),
            new_secure_algo: tl::enums::SecurePasswordKdfAlgo::Unknown,
            secure_random,
            pending_reset_date: None,
            login_email_pattern: None,
        },
    ))
}

fn check_password(
    front: &Front,
    key_id: u64,
    request: tl::functions::auth::CheckPassword,
) -> Answer {
    let tl::enums::InputCheckPasswordSrp::Srp(proof) = request.password else {
        return error(400, "PASSWORD_HASH_INVALID");
    };
    let mut pending = server::lock(&front.passwords);
    let Some(waiting) = pending.get_mut(&key_id) else {
        return error(401, "AUTH_KEY_UNREGISTERED");
    };
    // A challenge answers one proof: a wrong password needs a new one.
    let Some((srp_id, challenge)) = waiting.challenge.take() else {
        return error(400, "SRP_ID_INVALID");
    };
    if srp_id != proof.srp_id {
        return error(400, "SRP_ID_INVALID");
    }
    if !challenge.verify(&proof.a, &proof.m1) {
        return error(400, "PASSWORD_HASH_INVALID");
    }
    let user = waiting.user;
    pending.remove(&key_id);
    drop(pending);
    let world = server::lock(&front.sandbox.world);
    let Some(found) = world.users.get(&user) else {
        return error(400, "USER_ID_INVALID");
    };
    let answer = tl::enums::auth::Authorization::Authorization(tl::types::auth::Authorization {
        setup_password_required: false,
        otherwise_relogin_days: None,
        tmp_sessions: None,
        future_auth_token: None,
        user: tl_out::user(found, Some(user)),
    });
    drop(world);
    front.bind(key_id, Some(user));
    ok(answer)
}

// --- chats ---

/// The world's chat behind an InputChannel, with its access hash checked.
pub(super) fn channel_of(input: &tl::enums::InputChannel) -> Result<ChatId, Answer> {
    match input {
        tl::enums::InputChannel::Channel(c)
            if c.access_hash == tl_out::access_hash(c.channel_id) =>
        {
            Ok(tl_out::chat_id(c.channel_id))
        }
        _ => Err(error(400, "CHANNEL_INVALID")),
    }
}

const MAX_PARTICIPANTS_PAGE: i32 = 200;
/// The most members channels.getParticipants lists (without a search).
const LIST_CAP: usize = 10_000;

fn get_participants(
    front: &Front,
    me: UserId,
    request: tl::functions::channels::GetParticipants,
) -> Answer {
    use tl::enums::ChannelParticipantsFilter as F;
    let chat_id = attempt!(channel_of(&request.channel));
    let now = unix_now();
    let world = server::lock(&front.sandbox.world);
    let Some(chat) = world.chats.get(&chat_id) else {
        return error(400, "CHANNEL_INVALID");
    };
    let mine = chat.status(me, now);
    if !mine.is_present() {
        return error(400, "CHANNEL_PRIVATE");
    }
    if chat.kind == crate::state::ChatType::Channel && !mine.is_admin() {
        return error(400, "CHAT_ADMIN_REQUIRED");
    }
    if chat.has_hidden_members && !mine.is_admin() {
        return error(400, "CHAT_ADMIN_REQUIRED");
    }
    let query = match &request.filter {
        F::ChannelParticipantsSearch(s) => Some(s.q.to_lowercase()),
        _ => None,
    };
    let mut listed: Vec<(UserId, Member)> = chat
        .members
        .iter()
        .map(|(id, m)| (*id, m.clone().expired(now)))
        .filter(|(_, m)| match &request.filter {
            F::ChannelParticipantsAdmins => m.is_admin(),
            F::ChannelParticipantsKicked(_) => matches!(m, Member::Kicked { .. }),
            F::ChannelParticipantsBanned(_) => matches!(m, Member::Restricted { .. }),
            F::ChannelParticipantsBots => false,
            _ => m.is_present(),
        })
        .filter(|(id, _)| match &query {
            None => true,
            Some(q) if q.is_empty() => true,
            Some(q) => world.users.get(id).is_some_and(|u| {
                u.first_name.to_lowercase().contains(q)
                    || u.last_name
                        .as_deref()
                        .unwrap_or("")
                        .to_lowercase()
                        .contains(q)
                    || u.username
                        .as_deref()
                        .unwrap_or("")
                        .to_lowercase()
                        .contains(q)
            }),
        })
        .collect();
    if matches!(request.filter, F::ChannelParticipantsBots) {
        listed = chat
            .members
            .iter()
            .filter(|(id, m)| m.is_present() && world.users.get(id).is_some_and(|u| u.is_bot))
            .map(|(id, m)| (*id, m.clone()))
            .collect();
    }
    let count = listed.len() as i32;
    // Telegram lists at most 10,000 members of a large chat, however far
    // one pages; the count still says how many there are, and a search
    // by name finds the others.
    if matches!(request.filter, F::ChannelParticipantsRecent) {
        listed.truncate(LIST_CAP);
    }
    let offset = request.offset.max(0) as usize;
    let limit = request.limit.clamp(0, MAX_PARTICIPANTS_PAGE) as usize;
    let page: Vec<_> = listed.into_iter().skip(offset).take(limit).collect();
    let participants = page
        .iter()
        .filter_map(|(id, m)| tl_out::participant(*id, m, me, now as i32))
        .collect();
    let users = page
        .iter()
        .filter_map(|(id, _)| world.users.get(id))
        .map(|u| tl_out::user(u, Some(me)))
        .collect();
    ok(tl::enums::channels::ChannelParticipants::Participants(
        tl::types::channels::ChannelParticipants {
            count,
            participants,
            chats: vec![],
            users,
        },
    ))
}

pub(super) fn user_of(input: &tl::enums::InputUser, me: UserId) -> Result<UserId, Answer> {
    match input {
        tl::enums::InputUser::UserSelf => Ok(me),
        tl::enums::InputUser::User(u) if u.access_hash == tl_out::access_hash(u.user_id) => {
            Ok(u.user_id)
        }
        _ => Err(error(400, "USER_ID_INVALID")),
    }
}

/// A chat as `me` sees it now.
pub(super) fn channel_view(
    front: &Front,
    me: UserId,
    id: ChatId,
) -> Result<tl::enums::Chat, Answer> {
    let world = server::lock(&front.sandbox.world);
    let chat = world
        .chats
        .get(&id)
        .ok_or_else(|| error(400, "CHANNEL_INVALID"))?;
    Ok(tl_out::channel(chat, me, unix_now()))
}

/// The `Updates` answer of a call that changed a chat.
pub(super) fn updates_with(front: &Front, me: UserId, id: ChatId) -> Answer {
    let chat = attempt!(channel_view(front, me, id));
    ok(tl::enums::Updates::Updates(tl::types::Updates {
        updates: vec![],
        users: vec![],
        chats: vec![chat],
        date: unix_now() as i32,
        seq: 0,
    }))
}

/// An InputPeer that must be a channel (toggleNoForwards, setHistoryTTL).
pub(super) fn peer_channel(peer: &tl::enums::InputPeer) -> Result<ChatId, Answer> {
    match peer {
        tl::enums::InputPeer::Channel(c) => {
            channel_of(&tl::enums::InputChannel::Channel(tl::types::InputChannel {
                channel_id: c.channel_id,
                access_hash: c.access_hash,
            }))
        }
        _ => Err(error(400, "PEER_ID_INVALID")),
    }
}

/// A setting the person-only Bot API methods of the sandbox already
/// guard: run it as the person, answer the chat.
fn person_setting(front: &Front, me: UserId, id: ChatId, method: &str, params: Value) -> Answer {
    attempt!(act(front, me, method, params));
    updates_with(front, me, id)
}

/// The three switches no Bot API method covers: join to send, hidden
/// members, history for new members. Supergroups only, by an admin who
/// may change the chat's info (TDLib checks can_change_info_and_settings).
fn toggle(
    front: &Front,
    me: UserId,
    id: ChatId,
    enabled: bool,
    field: impl FnOnce(&mut crate::sandbox::world::Chat) -> &mut bool,
) -> Answer {
    {
        let now = unix_now();
        let mut world = server::lock(&front.sandbox.world);
        let Some(chat) = world.chats.get_mut(&id) else {
            return error(400, "CHANNEL_INVALID");
        };
        if chat.kind != crate::state::ChatType::Supergroup {
            return error(400, "CHANNEL_INVALID");
        }
        let allowed = match chat.status(me, now) {
            Member::Creator { .. } => true,
            Member::Administrator { rights, .. } => {
                rights.contains(&crate::state::Right::ChangeInfo)
            }
            _ => false,
        };
        if !allowed {
            return error(400, "CHAT_ADMIN_REQUIRED");
        }
        let slot = field(chat);
        if *slot == enabled {
            return error(400, "CHAT_NOT_MODIFIED");
        }
        *slot = enabled;
    }
    front
        .sandbox
        .dirty
        .store(true, std::sync::atomic::Ordering::Relaxed);
    front.sandbox.changed.notify_waiters();
    updates_with(front, me, id)
}

/// messages.getDialogs: the groups and channels the person is in, which is
/// where a client learns their access hashes. Private chats are left out.
fn dialogs(front: &Front, me: UserId, limit: i32, after: Option<ChatId>) -> Answer {
    let now = unix_now();
    let world = server::lock(&front.sandbox.world);
    let limit = limit.clamp(1, 100) as usize;
    let mine: Vec<_> = world
        .chats
        .values()
        .filter(|c| c.kind != crate::state::ChatType::Group && c.status(me, now).is_present())
        .collect();
    let total = mine.len();
    let start = after
        .and_then(|id| mine.iter().position(|c| c.id == id))
        .map_or(0, |at| at + 1);
    let page = &mine[start..total.min(start + limit)];
    let notify: tl::types::PeerNotifySettings =
        match tl::types::PeerNotifySettings::from_bytes(&0u32.to_le_bytes()) {
            Ok(n) => n,
            Err(_) => return bad_request(),
        };
    let dialogs = page
        .iter()
        .map(|c| {
            tl::enums::Dialog::Dialog(tl::types::Dialog {
                pinned: false,
                unread_mark: false,
                view_forum_as_messages: false,
                peer: tl::enums::Peer::Channel(tl::types::PeerChannel {
                    channel_id: tl_out::channel_id(c.id),
                }),
                top_message: 0,
                read_inbox_max_id: 0,
                read_outbox_max_id: 0,
                unread_count: 0,
                unread_mentions_count: 0,
                unread_reactions_count: 0,
                unread_poll_votes_count: 0,
                notify_settings: tl::enums::PeerNotifySettings::Settings(notify.clone()),
                pts: Some(1),
                draft: None,
                folder_id: None,
                ttl_period: None,
            })
        })
        .collect();
    let chats = page.iter().map(|c| tl_out::channel(c, me, now)).collect();
    // The people the account has written to (their private chats are
    // dialogs too; the sandbox lists only who they are, once).
    let people: Vec<tl::enums::User> = if start == 0 {
        world
            .private_chats
            .iter()
            .filter(|(_, chat)| chat.messages.iter().any(|m| m.from == me))
            .filter_map(|(user, _)| world.users.get(user))
            .map(|u| tl_out::user(u, Some(me)))
            .collect()
    } else {
        Vec::new()
    };
    if total > page.len() || start > 0 {
        ok(tl::enums::messages::Dialogs::Slice(
            tl::types::messages::DialogsSlice {
                count: total as i32,
                dialogs,
                messages: vec![],
                chats,
                users: people.clone(),
            },
        ))
    } else {
        ok(tl::enums::messages::Dialogs::Dialogs(
            tl::types::messages::Dialogs {
                dialogs,
                messages: vec![],
                chats,
                users: people.clone(),
            },
        ))
    }
}

/// messages.getForumTopics: a forum's topics, newest first, the General
/// topic left out; `q` filters by name.
fn forum_topics(front: &Front, me: UserId, id: ChatId, q: Option<&str>, limit: i32) -> Answer {
    let now = unix_now();
    let world = server::lock(&front.sandbox.world);
    let Some(chat) = world.chats.get(&id) else {
        return error(400, "CHANNEL_INVALID");
    };
    if !chat.status(me, now).is_present() {
        return error(400, "CHANNEL_PRIVATE");
    }
    if !chat.is_forum {
        return error(400, "CHANNEL_FORUM_MISSING");
    }
    let q = q.map(str::to_lowercase).filter(|q| !q.is_empty());
    let matching: Vec<_> = chat
        .topics
        .values()
        .rev()
        .filter(|t| q.as_ref().is_none_or(|q| t.name.to_lowercase().contains(q)))
        .collect();
    let limit = limit.clamp(1, 100) as usize;
    let topics = matching
        .iter()
        .take(limit)
        .map(|t| tl_out::forum_topic(chat, t))
        .collect::<Vec<_>>();
    ok(tl::enums::messages::ForumTopics::Topics(
        tl::types::messages::ForumTopics {
            order_by_create_date: true,
            count: matching.len() as i32,
            topics,
            messages: vec![],
            chats: vec![tl_out::channel(chat, me, now)],
            users: vec![],
            pts: 1,
        },
    ))
}

/// messages.getExportedChatInvites: the links one administrator made
/// (revoked or live); only the owner sees other admins' links.
fn exported_invites(
    front: &Front,
    me: UserId,
    id: ChatId,
    admin: UserId,
    revoked: bool,
    limit: i32,
) -> Answer {
    let now = unix_now();
    let world = server::lock(&front.sandbox.world);
    let Some(chat) = world.chats.get(&id) else {
        return error(400, "CHANNEL_INVALID");
    };
    let mine = chat.status(me, now);
    let allowed = match &mine {
        Member::Creator { .. } => true,
        Member::Administrator { rights, .. } => {
            admin == me || rights.contains(&crate::state::Right::PromoteMembers)
        }
        _ => false,
    };
    if !allowed {
        return error(400, "CHAT_ADMIN_REQUIRED");
    }
    let links: Vec<_> = chat
        .invite_links
        .iter()
        .filter(|l| l.creator == admin && l.is_revoked == revoked)
        .collect();
    let limit = limit.clamp(1, 100) as usize;
    let invites = links
        .iter()
        .take(limit)
        .map(|l| tl_out::invite(l, now))
        .collect();
    ok(tl::enums::messages::ExportedChatInvites::Invites(
        tl::types::messages::ExportedChatInvites {
            count: links.len() as i32,
            invites,
            users: world
                .users
                .get(&admin)
                .map(|u| vec![tl_out::user(u, Some(me))])
                .unwrap_or_default(),
        },
    ))
}

/// channels.getAdminLog: the chat's recent actions, newest first, for
/// administrators.
fn admin_log(
    front: &Front,
    me: UserId,
    id: ChatId,
    max_id: i64,
    min_id: i64,
    limit: i32,
) -> Answer {
    use crate::sandbox::world::AdminLogAction as A;
    use tl::enums::ChannelAdminLogEventAction as E;
    let now = unix_now();
    let world = server::lock(&front.sandbox.world);
    let Some(chat) = world.chats.get(&id) else {
        return error(400, "CHANNEL_INVALID");
    };
    if !chat.status(me, now).is_admin() {
        return error(400, "CHAT_ADMIN_REQUIRED");
    }
    let limit = limit.clamp(1, 100) as usize;
    let seat = |target: UserId, rights: &Option<crate::state::Rights>, by: UserId| {
        let member = match rights {
            Some(rights) => Member::Administrator {
                rights: rights.clone(),
                custom_title: None,
                promoted_by: by,
            },
            None => Member::plain(),
        };
        tl_out::participant(target, &member, me, 0).expect("present members are listed")
    };
    let mut users = std::collections::BTreeSet::new();
    let events: Vec<_> = chat
        .admin_log
        .iter()
        .rev()
        .filter(|e| (max_id == 0 || e.id < max_id) && e.id > min_id)
        .filter_map(|e| {
            let action = match &e.action {
                A::Title { prev, new } => {
                    E::ChangeTitle(tl::types::ChannelAdminLogEventActionChangeTitle {
                        prev_value: prev.clone(),
                        new_value: new.clone(),
                    })
                }
                A::Description { prev, new } => {
                    E::ChangeAbout(tl::types::ChannelAdminLogEventActionChangeAbout {
                        prev_value: prev.clone(),
                        new_value: new.clone(),
                    })
                }
                A::SlowMode { prev, new } => {
                    E::ToggleSlowMode(tl::types::ChannelAdminLogEventActionToggleSlowMode {
                        prev_value: *prev as i32,
                        new_value: *new as i32,
                    })
                }
                A::ProtectedContent { new } => {
                    E::ToggleNoForwards(tl::types::ChannelAdminLogEventActionToggleNoForwards {
                        new_value: *new,
                    })
                }
                A::Forum { new } => {
                    E::ToggleForum(tl::types::ChannelAdminLogEventActionToggleForum {
                        new_value: *new,
                    })
                }
                A::AutoDelete { prev, new } => {
                    E::ChangeHistoryTtl(tl::types::ChannelAdminLogEventActionChangeHistoryTtl {
                        prev_value: *prev as i32,
                        new_value: *new as i32,
                    })
                }
                A::AdminRights { target, prev, new } => {
                    users.insert(*target);
                    E::ParticipantToggleAdmin(
                        tl::types::ChannelAdminLogEventActionParticipantToggleAdmin {
                            prev_participant: seat(*target, prev, e.user),
                            new_participant: seat(*target, new, e.user),
                        },
                    )
                }
                A::Permissions { prev, new } => E::DefaultBannedRights(
                    tl::types::ChannelAdminLogEventActionDefaultBannedRights {
                        prev_banned_rights: tl_out::default_banned_rights(prev),
                        new_banned_rights: tl_out::default_banned_rights(new),
                    },
                ),
                // MTProto has no admin-log action for this switch.
                A::JoinByRequest { .. } => return None,
            };
            users.insert(e.user);
            Some(tl::enums::ChannelAdminLogEvent::Event(
                tl::types::ChannelAdminLogEvent {
                    id: e.id,
                    date: e.date as i32,
                    user_id: e.user,
                    action,
                },
            ))
        })
        .take(limit)
        .collect();
    let users = users
        .iter()
        .filter_map(|u| world.users.get(u))
        .map(|u| tl_out::user(u, Some(me)))
        .collect();
    ok(tl::enums::channels::AdminLogResults::Results(
        tl::types::channels::AdminLogResults {
            events,
            chats: vec![tl_out::channel(chat, me, now)],
            users,
        },
    ))
}

/// channels.getFullChannel: the settings a person reads back.
fn full_channel(front: &Front, me: UserId, id: ChatId) -> Answer {
    let now = unix_now();
    let world = server::lock(&front.sandbox.world);
    let Some(chat) = world.chats.get(&id) else {
        return error(400, "CHANNEL_INVALID");
    };
    if !chat.status(me, now).is_present() && chat.username.is_none() {
        return error(400, "CHANNEL_PRIVATE");
    }
    let full = tl_out::channel_full(chat, me, now);
    let view = tl_out::channel(chat, me, now);
    ok(tl::enums::messages::ChatFull::Full(
        tl::types::messages::ChatFull {
            full_chat: full,
            chats: vec![view],
            users: vec![],
        },
    ))
}

/// Longest title and description Telegram accepts.
const MAX_TITLE: usize = 128;
const MAX_ABOUT: usize = 255;

fn create_channel(
    front: &Front,
    me: UserId,
    request: tl::functions::channels::CreateChannel,
) -> Answer {
    let title = request.title.trim();
    if title.is_empty() {
        return error(400, "CHAT_TITLE_EMPTY");
    }
    if title.chars().count() > MAX_TITLE {
        return error(400, "CHAT_TITLE_TOO_LONG");
    }
    if request.about.chars().count() > MAX_ABOUT {
        return error(400, "CHAT_ABOUT_TOO_LONG");
    }
    let kind = match (request.broadcast, request.megagroup) {
        (true, false) => crate::state::ChatType::Channel,
        (false, true) => crate::state::ChatType::Supergroup,
        _ => return error(400, "INPUT_REQUEST_INVALID"),
    };
    if let Some(ttl) = request.ttl_period
        && ttl != 0
        && !(86_400..=31_536_000).contains(&ttl)
    {
        return error(400, "TTL_PERIOD_INVALID");
    }
    let id = {
        let mut world = server::lock(&front.sandbox.world);
        let channel = 2_000_000_000 + world.serial() as i64;
        let id = tl_out::chat_id(channel);
        let mut chat = crate::sandbox::world::Chat::new(id, kind, title);
        chat.description = request.about.clone();
        chat.is_forum = request.forum && request.megagroup;
        chat.message_auto_delete_time = request.ttl_period.unwrap_or(0) as u32;
        chat.set_status(
            me,
            Member::Creator {
                is_anonymous: false,
                custom_title: None,
            },
        );
        world.add_chat(chat);
        id
    };
    front
        .sandbox
        .dirty
        .store(true, std::sync::atomic::Ordering::Relaxed);
    front.sandbox.changed.notify_waiters();
    updates_with(front, me, id)
}

fn edit_admin(front: &Front, me: UserId, request: tl::functions::channels::EditAdmin) -> Answer {
    let id = attempt!(channel_of(&request.channel));
    let user = attempt!(user_of(&request.user_id, me));
    let rights = tl_out::rights_of(&request.admin_rights);
    {
        // A bot promoted in a chat it is not in joins it (the only way a
        // bot gets into a channel); people must already be members.
        let mut world = server::lock(&front.sandbox.world);
        let is_bot = world.users.get(&user).is_some_and(|u| u.is_bot);
        let now = unix_now();
        if let Some(chat) = world.chats.get_mut(&id)
            && is_bot
            && !rights.is_empty()
            && !chat.status(user, now).is_present()
            && chat.status(me, now).is_admin()
        {
            chat.set_status(user, Member::plain());
        }
    }
    let mut params = json!({"chat_id": id, "user_id": user});
    for right in &rights {
        params[right.api_field()] = Value::Bool(true);
    }
    attempt!(act(front, me, "promoteChatMember", params));
    if let Some(rank) = request.rank.filter(|r| !r.is_empty() && !rights.is_empty()) {
        attempt!(act(
            front,
            me,
            "setChatAdministratorCustomTitle",
            json!({"chat_id": id, "user_id": user, "custom_title": rank})
        ));
    }
    updates_with(front, me, id)
}

fn invite_to_channel(
    front: &Front,
    me: UserId,
    request: tl::functions::channels::InviteToChannel,
) -> Answer {
    let id = attempt!(channel_of(&request.channel));
    if request.users.is_empty() || request.users.len() > 200 {
        return error(400, "USERS_TOO_FEW");
    }
    let mut missing = Vec::new();
    for input in &request.users {
        let user = attempt!(user_of(input, me));
        match act(
            front,
            me,
            "addChatMember",
            json!({"chat_id": id, "user_id": user}),
        ) {
            Ok(_) => {}
            // Since layer 166 Telegram lists privacy refusals instead of
            // failing the whole call.
            Err(Answer::Error { message, .. })
                if message == "USER_PRIVACY_RESTRICTED" || message == "USER_NOT_MUTUAL_CONTACT" =>
            {
                missing.push(tl::enums::MissingInvitee::Invitee(
                    tl::types::MissingInvitee {
                        premium_would_allow_invite: false,
                        premium_required_for_pm: false,
                        user_id: user,
                    },
                ));
            }
            Err(answer) => return answer,
        }
    }
    let Answer::Result(updates) = updates_with(front, me, id) else {
        return error(400, "CHANNEL_INVALID");
    };
    let updates = attempt!(read::<tl::enums::Updates>(&updates));
    ok(tl::enums::messages::InvitedUsers::Users(
        tl::types::messages::InvitedUsers {
            updates,
            missing_invitees: missing,
        },
    ))
}

/// Run a Bot API (or person-only) method as `user`, through the same code
/// the Bot API front-end uses.
pub(super) fn act(
    front: &Front,
    user: UserId,
    method: &str,
    params: Value,
) -> Result<Value, Answer> {
    run_act(
        &front.sandbox,
        &json!({"as": user, "method": method, "params": params}),
    )
    .map_err(|e| translate(&e))
}

/// A Bot API error as MTProto names it: the ALL_CAPS name where the Bot
/// API passes Telegram's through, else the name Telegram uses for it.
fn translate(e: &ApiError) -> Answer {
    if let Some(seconds) = e.retry_after {
        return Answer::Error {
            code: 420,
            message: format!("FLOOD_WAIT_{seconds}"),
        };
    }
    let text = e
        .description
        .split_once(": ")
        .map(|(_, t)| t)
        .unwrap_or(&e.description);
    let name = text.split_whitespace().next().unwrap_or("");
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    {
        return error(i32::from(e.code), name);
    }
    let named = match text {
        "chat not found" => "CHANNEL_INVALID",
        "user not found" => "USER_ID_INVALID",
        "not enough rights" | "need administrator rights in the channel chat" => {
            "CHAT_ADMIN_REQUIRED"
        }
        "method is available only for supergroups" => "CHANNEL_INVALID",
        "user is an administrator of the chat" => "USER_ADMIN_INVALID",
        "can't remove chat owner" => "USER_CREATOR",
        "chat description is not modified" => "CHAT_ABOUT_NOT_MODIFIED",
        "message to edit not found" | "message to pin not found" | "message to unpin not found" => {
            "MESSAGE_ID_INVALID"
        }
        "message can't be edited" => "MESSAGE_AUTHOR_REQUIRED",
        "the chat is not a forum" => "CHANNEL_FORUM_MISSING",
        "user is not an administrator" => "USER_NOT_ADMIN",
        "not enough rights to send text messages to the chat" => "CHAT_WRITE_FORBIDDEN",
        text if text.starts_with("message is not modified") => "MESSAGE_NOT_MODIFIED",
        // "not enough rights to change chat title", "… to restrict/unrestrict
        // chat member", …: MTProto names them all CHAT_ADMIN_REQUIRED.
        text if text.starts_with("not enough rights") => "CHAT_ADMIN_REQUIRED",
        _ => "INPUT_REQUEST_INVALID",
    };
    error(i32::from(e.code), named)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrappers_come_off_in_any_order() {
        let inner = tl::functions::help::GetConfig {};
        let wrapped = tl::functions::InvokeWithLayer {
            layer: tl::LAYER,
            query: tl::functions::InitConnection {
                api_id: 1,
                device_model: "m".into(),
                system_version: "s".into(),
                app_version: "a".into(),
                system_lang_code: "en".into(),
                lang_pack: "".into(),
                lang_code: "en".into(),
                proxy: None,
                params: Some(tl::enums::Jsonvalue::JsonNull),
                query: tl::functions::InvokeWithoutUpdates {
                    query: inner.clone(),
                },
            },
        }
        .to_bytes();
        let got = unwrap(&wrapped).ok().expect("unwraps");
        assert_eq!(got, &inner.to_bytes()[..]);
    }

    #[test]
    fn bot_api_errors_get_their_mtproto_names() {
        let name = |e: ApiError| match translate(&e) {
            Answer::Error { code, message } => (code, message),
            _ => panic!("an error"),
        };
        assert_eq!(
            name(ApiError::bad_request("USER_PRIVACY_RESTRICTED")),
            (400, "USER_PRIVACY_RESTRICTED".into())
        );
        assert_eq!(
            name(ApiError::bad_request("not enough rights")),
            (400, "CHAT_ADMIN_REQUIRED".into())
        );
        assert_eq!(
            name(ApiError::bad_request(
                "not enough rights to change chat title"
            )),
            (400, "CHAT_ADMIN_REQUIRED".into())
        );
        assert_eq!(
            name(ApiError::bad_request("chat description is not modified")),
            (400, "CHAT_ABOUT_NOT_MODIFIED".into())
        );
        assert_eq!(
            name(ApiError::bad_request("message to unpin not found")),
            (400, "MESSAGE_ID_INVALID".into())
        );
        let mut flood = ApiError::bad_request("x");
        flood.retry_after = Some(7);
        assert_eq!(name(flood), (420, "FLOOD_WAIT_7".into()));
    }
}
