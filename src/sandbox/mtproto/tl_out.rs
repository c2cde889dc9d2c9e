//! The world as MTProto shows it: ids and access hashes, users, channels,
//! participants, admin rights, the config. grammers' TL types have dozens
//! of optional fields and no `Default`, so a value starts from its
//! smallest wire form (every flag off) read back through the type's own
//! deserialiser, and only the fields the world knows are set.

use grammers_tl_types::{self as tl, Serializable as _};

use crate::sandbox::world::{self, Member};
use crate::state::{ChatId, ChatType, Right, Rights, UserId};

/// Bot API ids of supergroups and channels are `-100` followed by the
/// MTProto channel id.
const CHANNEL_OFFSET: i64 = 1_000_000_000_000;

pub fn channel_id(chat: ChatId) -> i64 {
    -chat - CHANNEL_OFFSET
}

pub fn chat_id(channel: i64) -> ChatId {
    -(channel + CHANNEL_OFFSET)
}

/// The access hash the sandbox hands out for a user or channel id: a fixed
/// mix of the id, so a client may keep it and a forged one is refused.
pub fn access_hash(id: i64) -> i64 {
    (id as u64)
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .rotate_left(17) as i64
}

fn blank<T: tl::Deserializable>(bytes: &[u8]) -> T {
    T::from_bytes(bytes).expect("the smallest wire form of a TL type reads back")
}

pub fn user(u: &world::User, viewer: Option<UserId>) -> tl::enums::User {
    let mut bytes = Vec::new();
    0u32.serialize(&mut bytes);
    0u32.serialize(&mut bytes);
    u.id.serialize(&mut bytes);
    let mut out: tl::types::User = blank(&bytes);
    out.is_self = viewer == Some(u.id);
    out.bot = u.is_bot;
    // `bot` and `bot_info_version` share flags.14: one without the other
    // would not read back.
    out.bot_info_version = u.is_bot.then_some(1);
    out.deleted = u.deactivated;
    out.access_hash = Some(access_hash(u.id));
    out.first_name = Some(u.first_name.clone());
    out.last_name = u.last_name.clone();
    out.username = u.username.clone();
    if out.is_self {
        out.phone = u.phone.clone();
    }
    tl::enums::User::User(out)
}

pub fn channel(chat: &world::Chat, viewer: UserId, now: i64) -> tl::enums::Chat {
    let mut bytes = Vec::new();
    0u32.serialize(&mut bytes);
    0u32.serialize(&mut bytes);
    channel_id(chat.id).serialize(&mut bytes);
    chat.title.serialize(&mut bytes);
    tl::enums::ChatPhoto::Empty.serialize(&mut bytes);
    0i32.serialize(&mut bytes);
    let mut out: tl::types::Channel = blank(&bytes);
    out.access_hash = Some(access_hash(out.id));
    out.broadcast = chat.kind == ChatType::Channel;
    out.megagroup = chat.kind == ChatType::Supergroup;
    out.forum = chat.is_forum;
    out.username = chat.username.clone();
    out.slowmode_enabled = chat.slow_mode_delay > 0;
    out.noforwards = chat.has_protected_content;
    out.join_request = chat.join_by_request;
    out.join_to_send = chat.join_to_send_messages;
    out.participants_count = Some(chat.present_count(now) as i32);
    if chat.kind != ChatType::Channel {
        out.default_banned_rights = Some(default_banned_rights(&chat.permissions));
    }
    match chat.status(viewer, now) {
        Member::Creator { .. } => {
            out.creator = true;
            out.admin_rights = Some(admin_rights(&crate::sandbox::world::full_rights(chat.kind)));
        }
        Member::Administrator { rights, .. } => out.admin_rights = Some(admin_rights(&rights)),
        Member::Left | Member::Kicked { .. } => out.left = true,
        _ => {}
    }
    tl::enums::Chat::Channel(out)
}

/// channels.getFullChannel's ChannelFull: the settings only a person
/// changes, as the chat has them.
pub fn channel_full(chat: &world::Chat, viewer: UserId, now: i64) -> tl::enums::ChatFull {
    let mut bytes = Vec::new();
    0u32.serialize(&mut bytes);
    0u32.serialize(&mut bytes);
    channel_id(chat.id).serialize(&mut bytes);
    chat.description.serialize(&mut bytes);
    0i32.serialize(&mut bytes); // read_inbox_max_id
    0i32.serialize(&mut bytes); // read_outbox_max_id
    0i32.serialize(&mut bytes); // unread_count
    tl::enums::Photo::Empty(tl::types::PhotoEmpty { id: 0 }).serialize(&mut bytes);
    let notify: tl::types::PeerNotifySettings = blank(&0u32.to_le_bytes());
    tl::enums::PeerNotifySettings::Settings(notify).serialize(&mut bytes);
    Vec::<tl::enums::BotInfo>::new().serialize(&mut bytes);
    0i32.serialize(&mut bytes); // pts
    let mut out: tl::types::ChannelFull = blank(&bytes);
    let admin = chat.status(viewer, now).is_admin();
    out.can_view_participants = admin || !chat.has_hidden_members;
    out.participants_hidden = chat.has_hidden_members;
    out.hidden_prehistory = chat.history_hidden;
    out.participants_count = Some(chat.present_count(now) as i32);
    out.admins_count = Some(chat.members.values().filter(|m| m.is_admin()).count() as i32);
    out.slowmode_seconds = (chat.slow_mode_delay > 0).then_some(chat.slow_mode_delay as i32);
    out.ttl_period =
        (chat.message_auto_delete_time > 0).then_some(chat.message_auto_delete_time as i32);
    out.pinned_msg_id = chat.pinned.last().map(|id| *id as i32);
    if let Some(photo) = &chat.photo {
        out.chat_photo = tl::enums::Photo::Photo(tl::types::Photo {
            has_stickers: false,
            id: photo.serial as i64,
            access_hash: access_hash(photo.serial as i64),
            file_reference: vec![],
            date: 0,
            sizes: vec![],
            video_sizes: None,
            dc_id: 2,
        });
    }
    tl::enums::ChatFull::ChannelFull(out)
}

/// One forum topic as messages.getForumTopics lists it.
pub fn forum_topic(chat: &world::Chat, topic: &world::Topic) -> tl::enums::ForumTopic {
    let peer = tl::enums::Peer::Channel(tl::types::PeerChannel {
        channel_id: channel_id(chat.id),
    });
    let notify: tl::types::PeerNotifySettings = blank(&0u32.to_le_bytes());
    tl::enums::ForumTopic::Topic(tl::types::ForumTopic {
        my: false,
        closed: topic.closed,
        pinned: false,
        short: false,
        hidden: false,
        title_missing: false,
        id: topic.thread_id as i32,
        date: 0,
        peer,
        title: topic.name.clone(),
        icon_color: topic.icon_color as i32,
        icon_emoji_id: topic
            .icon_custom_emoji_id
            .as_deref()
            .and_then(|e| e.parse().ok()),
        top_message: topic.thread_id as i32,
        read_inbox_max_id: 0,
        read_outbox_max_id: 0,
        unread_count: 0,
        unread_mentions_count: 0,
        unread_reactions_count: 0,
        unread_poll_votes_count: 0,
        from_id: tl::enums::Peer::User(tl::types::PeerUser {
            user_id: topic.created_by,
        }),
        notify_settings: tl::enums::PeerNotifySettings::Settings(notify),
        draft: None,
    })
}

/// One invite link as messages.getExportedChatInvites lists it.
pub fn invite(link: &world::InviteLink, _now: i64) -> tl::enums::ExportedChatInvite {
    tl::enums::ExportedChatInvite::ChatInviteExported(tl::types::ChatInviteExported {
        revoked: link.is_revoked,
        permanent: link.is_primary,
        request_needed: link.creates_join_request,
        link: link.link.clone(),
        admin_id: link.creator,
        date: 0,
        start_date: None,
        expire_date: link.expire_date.map(|d| d as i32),
        usage_limit: link.member_limit.map(|l| l as i32),
        usage: (link.joined > 0).then_some(link.joined as i32),
        requested: None,
        subscription_expired: None,
        title: link.name.clone(),
        subscription_pricing: None,
    })
}

pub fn admin_rights(rights: &Rights) -> tl::enums::ChatAdminRights {
    let has = |r| rights.contains(&r);
    tl::enums::ChatAdminRights::Rights(tl::types::ChatAdminRights {
        change_info: has(Right::ChangeInfo),
        post_messages: has(Right::PostMessages),
        edit_messages: has(Right::EditMessages),
        delete_messages: has(Right::DeleteMessages),
        ban_users: has(Right::RestrictMembers),
        invite_users: has(Right::InviteUsers),
        pin_messages: has(Right::PinMessages),
        add_admins: has(Right::PromoteMembers),
        anonymous: has(Right::Anonymous),
        manage_call: has(Right::ManageVideoChats),
        other: has(Right::ManageChat),
        manage_topics: has(Right::ManageTopics),
        post_stories: has(Right::PostStories),
        edit_stories: has(Right::EditStories),
        delete_stories: has(Right::DeleteStories),
        manage_direct_messages: has(Right::ManageDirectMessages),
        manage_ranks: has(Right::ManageTags),
        manage_linked_peers: false,
        manage_welcome_messages: has(Right::SendWelcomeMessages),
    })
}

/// The rights an editAdmin call grants, as the Bot API names them.
pub fn rights_of(rights: &tl::enums::ChatAdminRights) -> Rights {
    let tl::enums::ChatAdminRights::Rights(r) = rights;
    [
        (r.change_info, Right::ChangeInfo),
        (r.post_messages, Right::PostMessages),
        (r.edit_messages, Right::EditMessages),
        (r.delete_messages, Right::DeleteMessages),
        (r.ban_users, Right::RestrictMembers),
        (r.invite_users, Right::InviteUsers),
        (r.pin_messages, Right::PinMessages),
        (r.add_admins, Right::PromoteMembers),
        (r.anonymous, Right::Anonymous),
        (r.manage_call, Right::ManageVideoChats),
        (r.other, Right::ManageChat),
        (r.manage_topics, Right::ManageTopics),
        (r.post_stories, Right::PostStories),
        (r.edit_stories, Right::EditStories),
        (r.delete_stories, Right::DeleteStories),
        (r.manage_direct_messages, Right::ManageDirectMessages),
        (r.manage_ranks, Right::ManageTags),
        (r.manage_welcome_messages, Right::SendWelcomeMessages),
    ]
    .into_iter()
    .filter(|(on, _)| *on)
    .map(|(_, right)| right)
    .collect()
}

/// A chat's default permissions as MTProto's banned rights (what members
/// may not do).
pub fn default_banned_rights(allowed: &crate::state::Permissions) -> tl::enums::ChatBannedRights {
    use crate::state::Permission as P;
    let not = |p: P| !allowed.contains(&p);
    let mut bytes = Vec::new();
    0u32.serialize(&mut bytes);
    0i32.serialize(&mut bytes);
    let mut out: tl::types::ChatBannedRights = blank(&bytes);
    out.send_messages = not(P::SendMessages);
    out.send_plain = not(P::SendMessages);
    out.send_audios = not(P::SendAudios);
    out.send_docs = not(P::SendDocuments);
    out.send_photos = not(P::SendPhotos);
    out.send_videos = not(P::SendVideos);
    out.send_roundvideos = not(P::SendVideoNotes);
    out.send_voices = not(P::SendVoiceNotes);
    out.send_polls = not(P::SendPolls);
    out.send_stickers = not(P::SendOtherMessages);
    out.send_gifs = not(P::SendOtherMessages);
    out.send_games = not(P::SendOtherMessages);
    out.send_inline = not(P::SendOtherMessages);
    out.embed_links = not(P::AddWebPagePreviews);
    out.send_reactions = not(P::ReactToMessages);
    out.edit_rank = not(P::EditTag);
    out.change_info = not(P::ChangeInfo);
    out.invite_users = not(P::InviteUsers);
    out.pin_messages = not(P::PinMessages);
    out.manage_topics = not(P::ManageTopics);
    tl::enums::ChatBannedRights::Rights(out)
}

/// One member's restriction: what they may not do, until when.
fn restricted_rights(
    allowed: &crate::state::Permissions,
    until: i64,
) -> tl::enums::ChatBannedRights {
    let tl::enums::ChatBannedRights::Rights(mut out) = default_banned_rights(allowed);
    out.until_date = until as i32;
    tl::enums::ChatBannedRights::Rights(out)
}

fn banned_rights(until: i64, view: bool) -> tl::enums::ChatBannedRights {
    let mut bytes = Vec::new();
    0u32.serialize(&mut bytes);
    (until as i32).serialize(&mut bytes);
    let mut out: tl::types::ChatBannedRights = blank(&bytes);
    out.view_messages = view;
    tl::enums::ChatBannedRights::Rights(out)
}

/// One member as channels.getParticipants lists them; `None` for users
/// not in the chat (left), which the list leaves out.
pub fn participant(
    user: UserId,
    member: &Member,
    viewer: UserId,
    date: i32,
) -> Option<tl::enums::ChannelParticipant> {
    use tl::enums::ChannelParticipant as P;
    Some(match member {
        Member::Creator { custom_title, .. } => P::Creator(tl::types::ChannelParticipantCreator {
            user_id: user,
            admin_rights: admin_rights(&Right::ALL.iter().copied().collect()),
            rank: custom_title.clone(),
        }),
        Member::Administrator {
            rights,
            custom_title,
            promoted_by,
        } => P::Admin(tl::types::ChannelParticipantAdmin {
            can_edit: *promoted_by == viewer,
            is_self: user == viewer,
            user_id: user,
            // `self` and `inviter_id` share flags.1.
            inviter_id: (user == viewer).then_some(*promoted_by),
            promoted_by: *promoted_by,
            date,
            admin_rights: admin_rights(rights),
            rank: custom_title.clone(),
        }),
        Member::Member { tag } if user == viewer => {
            P::ParticipantSelf(tl::types::ChannelParticipantSelf {
                via_request: false,
                user_id: user,
                inviter_id: 0,
                date,
                subscription_until_date: None,
                rank: tag.clone(),
            })
        }
        Member::Member { tag } => P::Participant(tl::types::ChannelParticipant {
            user_id: user,
            date,
            subscription_until_date: None,
            rank: tag.clone(),
        }),
        Member::Restricted {
            is_member,
            until_date,
            tag,
            permissions,
        } => P::Banned(tl::types::ChannelParticipantBanned {
            left: !is_member,
            peer: tl::enums::Peer::User(tl::types::PeerUser { user_id: user }),
            kicked_by: 0,
            date,
            banned_rights: restricted_rights(permissions, *until_date),
            rank: tag.clone(),
        }),
        Member::Kicked { until_date } => P::Banned(tl::types::ChannelParticipantBanned {
            left: true,
            peer: tl::enums::Peer::User(tl::types::PeerUser { user_id: user }),
            kicked_by: 0,
            date,
            banned_rights: banned_rights(*until_date, true),
            rank: None,
        }),
        Member::Left => return None,
    })
}

/// A message in a channel as channels.getMessages shows it.
pub fn message(m: &world::Message, peer: tl::enums::Peer) -> tl::enums::Message {
    let mut bytes = Vec::new();
    0u32.serialize(&mut bytes);
    0u32.serialize(&mut bytes);
    (m.message_id as i32).serialize(&mut bytes);
    peer.serialize(&mut bytes);
    (m.date as i32).serialize(&mut bytes);
    m.text.serialize(&mut bytes);
    let mut out: tl::types::Message = blank(&bytes);
    out.from_id = Some(tl::enums::Peer::User(tl::types::PeerUser {
        user_id: m.from,
    }));
    out.edit_date = m.edit_date.map(|d| d as i32);
    tl::enums::Message::Message(out)
}

/// help.getConfig: one datacenter (2), this front-end's address.
pub fn config(addr: std::net::SocketAddr, now: i64) -> tl::enums::Config {
    tl::enums::Config::Config(tl::types::Config {
        default_p2p_contacts: false,
        preload_featured_stickers: false,
        revoke_pm_inbox: true,
        blocked_mode: false,
        force_try_ipv6: false,
        date: now as i32,
        expires: now as i32 + 3600,
        test_mode: false,
        this_dc: 2,
        dc_options: vec![tl::enums::DcOption::Option(tl::types::DcOption {
            ipv6: false,
            media_only: false,
            tcpo_only: false,
            cdn: false,
            r#static: true,
            this_port_only: false,
            id: 2,
            ip_address: addr.ip().to_string(),
            port: addr.port() as i32,
            secret: None,
        })],
        dc_txt_domain_name: String::new(),
        chat_size_max: 200,
        megagroup_size_max: 200_000,
        forwarded_count_max: 100,
        online_update_period_ms: 210_000,
        offline_blur_timeout_ms: 5000,
        offline_idle_timeout_ms: 30_000,
        online_cloud_timeout_ms: 300_000,
        notify_cloud_delay_ms: 30_000,
        notify_default_delay_ms: 1500,
        push_chat_period_ms: 60_000,
        push_chat_limit: 2,
        edit_time_limit: 172_800,
        revoke_time_limit: i32::MAX,
        revoke_pm_time_limit: i32::MAX,
        rating_e_decay: 2_419_200,
        stickers_recent_limit: 200,
        channels_read_media_period: 604_800,
        tmp_sessions: None,
        call_receive_timeout_ms: 20_000,
        call_ring_timeout_ms: 90_000,
        call_connect_timeout_ms: 30_000,
        call_packet_timeout_ms: 10_000,
        me_url_prefix: "https://t.me/".into(),
        autoupdate_url_prefix: None,
        gif_search_username: None,
        venue_search_username: None,
        img_search_username: None,
        static_maps_provider: None,
        caption_length_max: 1024,
        message_length_max: 4096,
        webfile_dc_id: 2,
        suggested_lang_code: None,
        lang_pack_version: None,
        base_lang_pack_version: None,
        reactions_default: None,
        autologin_token: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use grammers_tl_types::Deserializable as _;

    #[test]
    fn channel_ids_round_trip_the_bot_api_form() {
        assert_eq!(channel_id(-1001000000001), 1000000001);
        assert_eq!(chat_id(1000000001), -1001000000001);
    }

    #[test]
    fn rights_round_trip() {
        for kind in [ChatType::Supergroup, ChatType::Channel] {
            let all = crate::sandbox::world::full_rights(kind);
            assert_eq!(rights_of(&admin_rights(&all)), all);
        }
        let some: Rights = [Right::InviteUsers, Right::RestrictMembers].into();
        assert_eq!(rights_of(&admin_rights(&some)), some);
    }

    #[test]
    fn blank_values_serialise_with_the_fields_set() {
        let mut u = world::User::human(42, "Ann");
        u.username = Some("ann".into());
        let tl::enums::User::User(back) =
            tl::enums::User::from_bytes(&user(&u, Some(42)).to_bytes()).unwrap()
        else {
            panic!("a user")
        };
        assert!(back.is_self);
        assert_eq!(back.first_name.as_deref(), Some("Ann"));
        assert_eq!(back.username.as_deref(), Some("ann"));
        assert_eq!(back.access_hash, Some(access_hash(42)));
        let mut bot = world::User::human(7, "Bot");
        bot.is_bot = true;
        let bytes = user(&bot, None).to_bytes();
        let tl::enums::User::User(back) = tl::enums::User::from_bytes(&bytes).unwrap() else {
            panic!("a user")
        };
        assert!(back.bot);
    }

    /// Flags shared by two fields (`self` and `inviter_id` of an admin)
    /// must read back whichever way they are set.
    #[test]
    fn participants_read_back() {
        let admin = Member::Administrator {
            rights: [Right::InviteUsers].into(),
            custom_title: Some("ops".into()),
            promoted_by: 1,
        };
        for (user, viewer) in [(5, 1), (5, 5)] {
            let p = participant(user, &admin, viewer, 0).unwrap();
            let back = tl::enums::ChannelParticipant::from_bytes(&p.to_bytes()).unwrap();
            assert_eq!(back, p);
        }
    }
}
