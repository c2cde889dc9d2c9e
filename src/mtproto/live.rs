//! Reading live state as the signed-in person, for an org without a bot
//! (`org.telegram.provider: user`): the same [`LiveState`] the Bot API
//! reader (`telegram::read`) builds, from what a person can list.
//!
//! Per run: users.getUsers(self) once. Per chat: channels.getFullChannel
//! (title, description, default permissions, photo, pinned message id,
//! member count, the person-only settings, the account's own rights),
//! channels.getParticipants (everyone, exactly, paged; and the banned),
//! channels.getMessages for the pinned message's text, and for a forum
//! messages.getForumTopics; invite links the account made come from
//! messages.getExportedChatInvites. The account plays the part the bot
//! plays on the Bot API side: it is `LiveState::bot`, its rights are the
//! chat's `bot_rights`, and it is left out of the admins unless the config
//! declares it. A chat that cannot be read gets `LiveChatMeta::error`; a
//! lost connection stops the read.
//!
//! This module also owns the lower-level reads the provider's other parts
//! share: the chat's full view ([`FullChat`]), participants with their
//! seats ([`Seat`]), one participant, the account itself, and the access
//! hashes of people met on the way.

use std::collections::{BTreeMap, BTreeSet};

use grammers_tl_types as tl;

use super::banned;
use super::client::MtprotoError;
use super::provider::{PersonSettings, UserProvider, channel_id, rights_of};
use crate::state::{
    AdminSeat, BotIdentity, ChatId, ChatSettings, ChatState, ChatType, DesiredState, InviteLink,
    LiveChatMeta, LiveState, MemberState, Permission, Permissions, Photo, PinnedMessage, Right,
    Rights, UserId,
};
use crate::store::{ChatMemory, Store};

/// Largest page of channels.getParticipants.
const PAGE: i32 = 200;
/// Largest list of forum topics and invite links read at once: a full
/// page means there may be more, so nothing missing from it is taken as
/// gone.
const LIST: usize = 100;

/// The signed-in account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub id: UserId,
    pub access_hash: i64,
    pub username: Option<String>,
}

/// A person the account has met: the access hash MTProto names them by,
/// and their name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    pub access_hash: i64,
    pub first_name: String,
    pub last_name: Option<String>,
    pub username: Option<String>,
}

/// Someone's standing in a chat as a person reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seat {
    Owner {
        title: Option<String>,
    },
    Admin {
        rights: Rights,
        title: Option<String>,
        /// The account may change this seat.
        can_edit: bool,
    },
    Member {
        tag: Option<String>,
    },
    Restricted {
        permissions: Permissions,
        until: Option<i64>,
        tag: Option<String>,
    },
    /// Not in the chat (left, or restricted while away).
    Absent,
    Banned,
}

impl Seat {
    /// In the chat now.
    pub fn present(&self) -> bool {
        !matches!(self, Seat::Absent | Seat::Banned)
    }

    /// The member state the planner compares (admins are members).
    pub fn member_state(&self) -> MemberState {
        match self {
            Seat::Owner { .. } | Seat::Admin { .. } | Seat::Member { .. } => MemberState::Member,
            Seat::Restricted {
                permissions, until, ..
            } => MemberState::Restricted {
                permissions: permissions.clone(),
                until: *until,
            },
            Seat::Absent => MemberState::Absent,
            Seat::Banned => MemberState::Banned,
        }
    }

    /// A member's tag (MTProto's `rank` of a non-admin).
    pub fn tag(&self) -> Option<String> {
        match self {
            Seat::Member { tag } | Seat::Restricted { tag, .. } => tag.clone(),
            _ => None,
        }
    }
}

/// A chat as channels.getFullChannel shows it to the account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FullChat {
    pub kind: ChatType,
    pub title: String,
    pub about: String,
    /// Default member permissions (none for a channel).
    pub permissions: Option<Permissions>,
    /// Telegram's id of the chat photo.
    pub photo: Option<i64>,
    pub pinned: Option<i32>,
    pub member_count: Option<u64>,
    /// The account's own rights; `None` when it is no administrator.
    pub my_rights: Option<Rights>,
    pub owner: bool,
    pub settings: PersonSettings,
}

fn seat_of(p: tl::enums::ChannelParticipant) -> Option<(UserId, Seat)> {
    use tl::enums::ChannelParticipant as P;
    Some(match p {
        P::Creator(c) => (c.user_id, Seat::Owner { title: c.rank }),
        P::Admin(a) => (
            a.user_id,
            Seat::Admin {
                rights: rights_of(&a.admin_rights),
                title: a.rank,
                can_edit: a.can_edit,
            },
        ),
        P::Participant(m) => (m.user_id, Seat::Member { tag: m.rank }),
        P::ParticipantSelf(m) => (m.user_id, Seat::Member { tag: m.rank }),
        P::Banned(b) => {
            let tl::enums::Peer::User(u) = b.peer else {
                return None;
            };
            let tl::enums::ChatBannedRights::Rights(r) = &b.banned_rights;
            let seat = if r.view_messages {
                Seat::Banned
            } else if b.left {
                Seat::Absent
            } else {
                let (permissions, until) = banned::allowed(&b.banned_rights);
                Seat::Restricted {
                    permissions,
                    until,
                    tag: b.rank,
                }
            };
            (u.user_id, seat)
        }
        P::Left(l) => match l.peer {
            tl::enums::Peer::User(u) => (u.user_id, Seat::Absent),
            _ => return None,
        },
    })
}

impl UserProvider {
    /// Remember the access hashes of people in an answer.
    pub(super) fn know_people(&self, users: &[tl::enums::User]) {
        let mut people = self.people.lock().unwrap_or_else(|p| p.into_inner());
        for user in users {
            if let tl::enums::User::User(u) = user
                && let Some(hash) = u.access_hash
            {
                people.insert(
                    u.id,
                    Person {
                        access_hash: hash,
                        first_name: u.first_name.clone().unwrap_or_default(),
                        last_name: u.last_name.clone(),
                        username: u.username.clone(),
                    },
                );
            }
        }
    }

    fn known_person(&self, user: UserId) -> Option<i64> {
        self.people
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&user)
            .map(|p| p.access_hash)
    }

    /// Everyone the account has met so far in this connection.
    pub fn people_met(&self) -> Vec<(UserId, Person)> {
        self.people
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(u, p)| (*u, p.clone()))
            .collect()
    }

    /// The groups and channels the account is in (messages.getDialogs,
    /// paged; at most 50 pages of 100).
    pub async fn dialogs(&self) -> Result<Vec<ChatId>, MtprotoError> {
        let mut out = Vec::new();
        let mut offset_peer = tl::enums::InputPeer::Empty;
        for _ in 0..50 {
            let dialogs = self
                .call(&tl::functions::messages::GetDialogs {
                    exclude_pinned: false,
                    folder_id: None,
                    offset_date: 0,
                    offset_id: 0,
                    offset_peer: offset_peer.clone(),
                    limit: 100,
                    hash: 0,
                })
                .await?;
            let (chats, users, more) = match dialogs {
                tl::enums::messages::Dialogs::Dialogs(d) => (d.chats, d.users, false),
                tl::enums::messages::Dialogs::Slice(d) => {
                    let more = !d.dialogs.is_empty();
                    (d.chats, d.users, more)
                }
                tl::enums::messages::Dialogs::NotModified(_) => (vec![], vec![], false),
            };
            self.remember(&chats);
            self.know_people(&users);
            let mut last = None;
            for chat in &chats {
                if let tl::enums::Chat::Channel(c) = chat {
                    if !c.left {
                        out.push(super::provider::chat_id(c.id));
                    }
                    last = Some((c.id, c.access_hash.unwrap_or(0)));
                }
            }
            match (more, last) {
                (true, Some((channel_id, access_hash))) => {
                    offset_peer = tl::enums::InputPeer::Channel(tl::types::InputPeerChannel {
                        channel_id,
                        access_hash,
                    });
                }
                _ => break,
            }
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// The InputUser of a person the account has met, looking through
    /// `chat`'s members (and banned) when it has not met them yet.
    pub(super) async fn person(
        &self,
        chat: Option<ChatId>,
        user: UserId,
    ) -> Result<tl::enums::InputUser, MtprotoError> {
        if self.known_person(user).is_none()
            && let Some(chat) = chat
            && self.first_search(Some(chat))
        {
            self.participants(
                chat,
                tl::enums::ChannelParticipantsFilter::ChannelParticipantsRecent,
            )
            .await?;
            self.participants(chat, kicked()).await?;
        }
        // Someone who left (or was let back in) is known from a
        // conversation with the account, if there was one.
        if self.known_person(user).is_none() && self.first_search(None) {
            self.dialogs().await?;
        }
        let hash = self.known_person(user).ok_or_else(|| MtprotoError::Rpc {
            code: 400,
            name: "USER_ID_INVALID".into(),
            value: None,
        })?;
        Ok(tl::enums::InputUser::User(tl::types::InputUser {
            user_id: user,
            access_hash: hash,
        }))
    }

    /// Whether `place` was not searched for people yet (and now counts as
    /// searched).
    fn first_search(&self, place: Option<ChatId>) -> bool {
        self.searched
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(place)
    }

    /// [`UserProvider::person`] as an InputPeer.
    pub(super) async fn person_peer(
        &self,
        chat: Option<ChatId>,
        user: UserId,
    ) -> Result<tl::enums::InputPeer, MtprotoError> {
        let tl::enums::InputUser::User(u) = self.person(chat, user).await? else {
            unreachable!("person() builds a user")
        };
        Ok(tl::enums::InputPeer::User(tl::types::InputPeerUser {
            user_id: u.user_id,
            access_hash: u.access_hash,
        }))
    }

    /// The signed-in account.
    pub async fn me(&self) -> Result<Account, MtprotoError> {
        let users = self
            .call(&tl::functions::users::GetUsers {
                id: vec![tl::enums::InputUser::UserSelf],
            })
            .await?;
        self.know_people(&users);
        users
            .into_iter()
            .find_map(|u| match u {
                tl::enums::User::User(u) => Some(Account {
                    id: u.id,
                    access_hash: u.access_hash.unwrap_or(0),
                    username: u.username,
                }),
                tl::enums::User::Empty(_) => None,
            })
            .ok_or_else(|| MtprotoError::Connection("users.getUsers answered no account".into()))
    }

    /// The chat as channels.getFullChannel shows it.
    pub async fn full_chat(&self, chat: ChatId) -> Result<FullChat, MtprotoError> {
        let channel = self.input(chat).await?;
        let tl::enums::messages::ChatFull::Full(full) = self
            .call(&tl::functions::channels::GetFullChannel { channel })
            .await?;
        self.remember(&full.chats);
        self.know_people(&full.users);
        let tl::enums::ChatFull::ChannelFull(f) = full.full_chat else {
            return Err(MtprotoError::Rpc {
                code: 400,
                name: "CHANNEL_INVALID".into(),
                value: None,
            });
        };
        let id = channel_id(chat);
        let view = full
            .chats
            .iter()
            .find_map(|c| match c {
                tl::enums::Chat::Channel(c) if c.id == id => Some(c),
                _ => None,
            })
            .ok_or_else(|| {
                MtprotoError::Connection("getFullChannel answered without the chat".into())
            })?;
        let kind = if view.broadcast {
            ChatType::Channel
        } else {
            ChatType::Supergroup
        };
        let permissions = (kind != ChatType::Channel).then(|| {
            view.default_banned_rights
                .as_ref()
                .map(|r| banned::allowed(r).0)
                .unwrap_or_else(Permission::all)
        });
        let my_rights = if view.creator {
            Some(Right::all_for(kind))
        } else {
            view.admin_rights.as_ref().map(rights_of)
        };
        let photo = match &f.chat_photo {
            tl::enums::Photo::Photo(p) => Some(p.id),
            tl::enums::Photo::Empty(_) => None,
        };
        Ok(FullChat {
            kind,
            title: view.title.clone(),
            about: f.about.clone(),
            permissions,
            photo,
            pinned: f.pinned_msg_id,
            member_count: f.participants_count.map(|n| n.max(0) as u64),
            my_rights,
            owner: view.creator,
            settings: PersonSettings {
                slow_mode: f.slowmode_seconds.unwrap_or(0).max(0) as u32,
                protected_content: view.noforwards,
                join_by_request: view.join_request,
                join_to_send: view.join_to_send,
                hidden_members: f.participants_hidden,
                history_for_new_members: !f.hidden_prehistory,
                forum: view.forum,
                auto_delete: f.ttl_period.unwrap_or(0).max(0) as u32,
            },
        })
    }

    /// Everyone `filter` lists, paged, with their seats.
    pub async fn participants(
        &self,
        chat: ChatId,
        filter: tl::enums::ChannelParticipantsFilter,
    ) -> Result<Vec<(UserId, Seat)>, MtprotoError> {
        Ok(self.participants_counted(chat, filter).await?.0)
    }

    /// [`UserProvider::participants`], and whether the list is whole:
    /// Telegram lists at most 10,000 members of a large chat however far
    /// one pages, while its count says how many there are.
    pub async fn participants_counted(
        &self,
        chat: ChatId,
        filter: tl::enums::ChannelParticipantsFilter,
    ) -> Result<(Vec<(UserId, Seat)>, bool), MtprotoError> {
        let channel = self.input(chat).await?;
        let mut out = Vec::new();
        let mut offset = 0;
        let mut count = 0;
        loop {
            let page = self
                .call(&tl::functions::channels::GetParticipants {
                    channel: channel.clone(),
                    filter: filter.clone(),
                    offset,
                    limit: PAGE,
                    hash: 0,
                })
                .await?;
            let tl::enums::channels::ChannelParticipants::Participants(page) = page else {
                break;
            };
            count = page.count;
            if page.participants.is_empty() {
                break;
            }
            self.know_people(&page.users);
            offset += page.participants.len() as i32;
            out.extend(page.participants.into_iter().filter_map(seat_of));
            if offset >= page.count {
                break;
            }
        }
        Ok((out, offset >= count))
    }

    /// A person beyond the capped list of a large chat, searched by their
    /// username or name (channelParticipantsSearch); `None` when they are
    /// not among the chat's members.
    pub async fn search_participant(
        &self,
        chat: ChatId,
        user: UserId,
        query: &str,
    ) -> Result<Option<Seat>, MtprotoError> {
        let found = self
            .participants(
                chat,
                tl::enums::ChannelParticipantsFilter::ChannelParticipantsSearch(
                    tl::types::ChannelParticipantsSearch { q: query.into() },
                ),
            )
            .await?;
        Ok(found.into_iter().find(|(u, _)| *u == user).map(|(_, s)| s))
    }

    /// One person's seat (channels.getParticipant); absent when Telegram
    /// says they are not in the chat.
    pub async fn participant(&self, chat: ChatId, user: UserId) -> Result<Seat, MtprotoError> {
        let channel = self.input(chat).await?;
        let participant = match self.person_peer(Some(chat), user).await {
            Ok(p) => p,
            // Neither in the chat nor among its banned: absent.
            Err(e) if e.name() == Some("USER_ID_INVALID") => return Ok(Seat::Absent),
            Err(e) => return Err(e),
        };
        match self
            .call(&tl::functions::channels::GetParticipant {
                channel,
                participant,
            })
            .await
        {
            Ok(tl::enums::channels::ChannelParticipant::Participant(p)) => {
                self.know_people(&p.users);
                Ok(seat_of(p.participant).map_or(Seat::Absent, |(_, s)| s))
            }
            Err(e) if e.name() == Some("USER_NOT_PARTICIPANT") => Ok(Seat::Absent),
            Err(e) => Err(e),
        }
    }

    /// A message's text and sender (channels.getMessages); `None` when it
    /// is gone.
    pub async fn message(
        &self,
        chat: ChatId,
        id: i32,
    ) -> Result<Option<(String, Option<UserId>)>, MtprotoError> {
        let channel = self.input(chat).await?;
        let answer = self
            .call(&tl::functions::channels::GetMessages {
                channel,
                id: vec![tl::enums::InputMessage::Id(tl::types::InputMessageId {
                    id,
                })],
            })
            .await?;
        let messages = match answer {
            tl::enums::messages::Messages::Messages(m) => m.messages,
            tl::enums::messages::Messages::Slice(m) => m.messages,
            tl::enums::messages::Messages::ChannelMessages(m) => m.messages,
            tl::enums::messages::Messages::NotModified(_) => vec![],
        };
        Ok(messages.into_iter().find_map(|m| match m {
            tl::enums::Message::Message(m) if m.id == id => {
                let from = match m.from_id {
                    Some(tl::enums::Peer::User(u)) => Some(u.user_id),
                    _ => None,
                };
                Some((m.message, from))
            }
            _ => None,
        }))
    }

    /// The chat's top pin as the planner compares it; `ours` when the
    /// account sent it.
    pub async fn pinned(
        &self,
        chat: ChatId,
        full: &FullChat,
        me: UserId,
    ) -> Result<Option<PinnedMessage>, MtprotoError> {
        let Some(id) = full.pinned.filter(|id| *id > 0) else {
            return Ok(None);
        };
        Ok(self
            .message(chat, id)
            .await?
            .map(|(text, from)| PinnedMessage {
                text,
                message_id: Some(i64::from(id)),
                by_bot: from == Some(me),
                notify: false,
            }))
    }
}

/// The banned list's filter (everyone, no search).
pub(super) fn kicked() -> tl::enums::ChannelParticipantsFilter {
    tl::enums::ChannelParticipantsFilter::ChannelParticipantsKicked(
        tl::types::ChannelParticipantsKicked { q: String::new() },
    )
}

/// An admin seat as the planner compares it. The owner holds every right
/// of the chat type.
pub fn admin_seat(seat: &Seat, kind: ChatType) -> Option<AdminSeat> {
    match seat {
        Seat::Owner { title } => Some(AdminSeat {
            rights: Right::all_for(kind),
            title: title.clone(),
            owner: true,
        }),
        Seat::Admin { rights, title, .. } => Some(AdminSeat {
            rights: rights.clone(),
            title: title.clone(),
            owner: false,
        }),
        _ => None,
    }
}

/// Read the chats named in `keys` as the signed-in person (see the module
/// documentation). What is seen goes into `store` as a Bot API read puts
/// it there (members, tags, `last_read`).
pub async fn read_chats(
    provider: &UserProvider,
    desired: &DesiredState,
    store: &mut Store,
    now: i64,
    keys: &[String],
) -> Result<LiveState, MtprotoError> {
    let me = provider.me().await?;
    let mut live = LiveState {
        bot: Some(BotIdentity {
            id: me.id,
            username: me.username.clone().unwrap_or_default(),
        }),
        ..Default::default()
    };
    let unique: BTreeSet<&String> = keys.iter().collect();
    for key in unique {
        let Some(want) = desired.state.chats.get(key) else {
            continue;
        };
        let memory = store.chat(want.id).cloned().unwrap_or_default();
        match read_chat(provider, want, &memory, &me, &desired.people).await {
            Ok((chat, meta, seen)) => {
                for (user, seat) in seen {
                    store.see_member(
                        want.id,
                        user,
                        seat.member_state(),
                        now,
                        "channels.getParticipants",
                    );
                    if seat.present() {
                        store.see_tag(want.id, user, seat.tag(), now, "channels.getParticipants");
                    }
                }
                let memory = store.chat_mut(want.id);
                memory.last_read = Some(now);
                // Topics and links as they are now (renamed, closed or
                // revoked by hand).
                for (k, t) in &chat.topics {
                    memory.topics.insert(k.clone(), t.clone());
                }
                memory
                    .topics
                    .retain(|k, t| chat.topics.contains_key(k) || t.thread_id.is_none());
                live.state.chats.insert(key.clone(), chat);
                live.meta.insert(key.clone(), meta);
            }
            Err(e) if e.did_not_run() && !matches!(e, MtprotoError::FloodWait { .. }) => {
                tracing::warn!(chat = key, "cannot read the chat: {e}");
                live.meta.insert(
                    key.clone(),
                    LiveChatMeta {
                        error: Some(format!("{e} (read as the signed-in person)")),
                        ..Default::default()
                    },
                );
            }
            Err(e) => return Err(e),
        }
    }
    Ok(live)
}

type Read = (ChatState, LiveChatMeta, Vec<(UserId, Seat)>);

async fn read_chat(
    provider: &UserProvider,
    want: &ChatState,
    memory: &ChatMemory,
    me: &Account,
    people: &BTreeMap<UserId, crate::state::PersonRef>,
) -> Result<Read, MtprotoError> {
    let id = want.id;
    let full = provider.full_chat(id).await?;
    let kind = full.kind;
    let mut chat = ChatState::new(id, kind);
    chat.membership = want.membership;
    let s = &full.settings;
    chat.settings = ChatSettings {
        title: Some(full.title.clone()),
        description: Some(full.about.clone()),
        permissions: full.permissions.clone(),
        photo: Some(match full.photo {
            None => Photo::None,
            Some(photo) => {
                let id = photo.to_string();
                // orgform's own upload is known by the id recorded after it.
                match &memory.photo {
                    Some(record) if record.file_unique_id == id => Photo::File {
                        sha256: record.sha256.clone(),
                        name: String::new(),
                        path: Default::default(),
                    },
                    _ => Photo::Other { file_unique_id: id },
                }
            }
        }),
        forum: Some(s.forum),
        slow_mode: Some(s.slow_mode),
        protected_content: Some(s.protected_content),
        auto_delete: Some(s.auto_delete),
        join_by_request: Some(s.join_by_request),
        join_to_send: Some(s.join_to_send),
        hidden_members: Some(s.hidden_members),
        history_for_new_members: Some(s.history_for_new_members),
    };
    chat.pinned = provider.pinned(id, &full, me.id).await?;
    let mut meta = LiveChatMeta {
        member_count: full.member_count,
        bot_rights: full.my_rights.clone(),
        ..Default::default()
    };
    // The admins on their own list first (channelParticipantsAdmins), so
    // no seat is missed where Telegram caps the list of everyone; then
    // everyone, then the banned. The first listing of a person wins.
    let mut listed = provider
        .participants(
            id,
            tl::enums::ChannelParticipantsFilter::ChannelParticipantsAdmins,
        )
        .await?;
    let (everyone, whole) = provider
        .participants_counted(
            id,
            tl::enums::ChannelParticipantsFilter::ChannelParticipantsRecent,
        )
        .await?;
    listed.extend(everyone);
    listed.extend(provider.participants(id, kicked()).await?);
    let mut once = BTreeSet::new();
    listed.retain(|(user, _)| once.insert(*user));
    // Where Telegram capped the list, the declared people it left out are
    // searched by username or name: they are still known exactly.
    if !whole {
        let declared: Vec<UserId> = want
            .admins
            .keys()
            .chain(want.members.keys())
            .filter(|u| !once.contains(*u))
            .copied()
            .collect();
        for user in declared {
            let query = people
                .get(&user)
                .and_then(|p| p.username.clone().or_else(|| p.name.clone()));
            let Some(query) = query.filter(|q| !q.is_empty()) else {
                continue;
            };
            let seat = provider
                .search_participant(id, user, query.trim_start_matches('@'))
                .await?
                .unwrap_or(Seat::Absent);
            once.insert(user);
            listed.push((user, seat));
        }
    }
    // The account is orgform's own identity here, as the bot is on the
    // Bot API side: left out unless the config names it.
    let declared_me = want.admins.contains_key(&me.id) || want.members.contains_key(&me.id);
    let mut tags = BTreeMap::new();
    for (user, seat) in &listed {
        if *user == me.id && !declared_me {
            continue;
        }
        if let Some(admin) = admin_seat(seat, kind) {
            let editable = match seat {
                Seat::Admin { can_edit, .. } => *can_edit || full.owner,
                _ => false,
            };
            if !editable && *user != me.id {
                meta.not_editable.insert(*user);
            }
            chat.admins.insert(*user, admin);
            continue;
        }
        chat.members.insert(*user, seat.member_state());
        if let Some(tag) = seat.tag().filter(|t| !t.is_empty()) {
            tags.insert(*user, tag);
        }
    }
    // The list is exact: anyone declared or seen before who is not on it
    // is not in the chat. Where Telegram capped it, a declared person was
    // searched for, and someone else seen before keeps what was recorded.
    let mut gone = Vec::new();
    for user in want.admins.keys().chain(want.members.keys()) {
        if *user == me.id || chat.admins.contains_key(user) || chat.members.contains_key(user) {
            continue;
        }
        if !whole && !once.contains(user) {
            if let Some(seen) = memory.members.get(user) {
                chat.members.insert(*user, seen.status.clone());
            }
            continue;
        }
        chat.members.insert(*user, MemberState::Absent);
        gone.push((*user, Seat::Absent));
    }
    for (user, seen) in &memory.members {
        if *user == me.id || chat.admins.contains_key(user) || chat.members.contains_key(user) {
            continue;
        }
        if whole {
            chat.members.insert(*user, MemberState::Absent);
            gone.push((*user, Seat::Absent));
        } else {
            chat.members.insert(*user, seen.status.clone());
        }
    }
    chat.tags = Some(tags);
    chat.topics = memory.topics.clone();
    if s.forum && !chat.topics.is_empty() {
        let topics = provider.forum_topics(id).await?;
        let complete = topics.len() < LIST;
        let by_thread: BTreeMap<i64, (String, u32, bool)> = topics
            .into_iter()
            .map(|(thread, name, color, closed)| (thread, (name, color, closed)))
            .collect();
        chat.topics.retain(|_, t| match t.thread_id {
            Some(thread) => by_thread.contains_key(&thread) || !complete,
            None => true,
        });
        for topic in chat.topics.values_mut() {
            if let Some((name, color, closed)) = topic.thread_id.and_then(|t| by_thread.get(&t)) {
                topic.name = name.clone();
                topic.icon_color = Some(*color);
                topic.closed = *closed;
            }
        }
    }
    chat.invite_links = memory
        .invite_links
        .iter()
        .filter(|(_, l)| !l.revoked)
        .map(|(k, l)| (k.clone(), l.clone()))
        .collect();
    if !chat.invite_links.is_empty() {
        let listed_links = provider.invite_links(id, (me.id, me.access_hash)).await?;
        for link in chat.invite_links.values_mut() {
            if let Some(seen) = listed_links
                .iter()
                .find(|l| Some(&l.url) == link.url.as_ref())
            {
                *link = InviteLink {
                    name: seen.name.clone(),
                    expires: seen.expires,
                    member_limit: seen.member_limit,
                    join_request: seen.join_request,
                    url: Some(seen.url.clone()),
                    revoked: false,
                };
            }
        }
    }
    let mut seen = listed;
    seen.extend(gone);
    Ok((chat, meta, seen))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn banned(view: bool, left: bool, allowed: &Permissions) -> tl::enums::ChannelParticipant {
        tl::enums::ChannelParticipant::Banned(tl::types::ChannelParticipantBanned {
            left,
            peer: tl::enums::Peer::User(tl::types::PeerUser { user_id: 7 }),
            kicked_by: 1,
            date: 0,
            banned_rights: banned::banned_rights(allowed, 0, view),
            rank: Some("tag".into()),
        })
    }

    #[test]
    fn the_banned_list_tells_bans_departures_and_restrictions_apart() {
        let react: Permissions = [Permission::ReactToMessages].into_iter().collect();
        assert_eq!(
            seat_of(banned(true, true, &Permission::all())),
            Some((7, Seat::Banned))
        );
        assert_eq!(
            seat_of(banned(false, true, &react)),
            Some((7, Seat::Absent))
        );
        let restricted = seat_of(banned(false, false, &react)).unwrap().1;
        assert_eq!(
            restricted,
            Seat::Restricted {
                permissions: react.clone(),
                until: None,
                tag: Some("tag".into()),
            }
        );
        assert!(restricted.present());
        assert_eq!(restricted.tag().as_deref(), Some("tag"));
        assert!(matches!(
            restricted.member_state(),
            MemberState::Restricted { .. }
        ));
    }

    #[test]
    fn an_owner_holds_every_right_of_the_chat_type_and_a_member_none() {
        let owner = Seat::Owner { title: None };
        let seat = admin_seat(&owner, ChatType::Channel).unwrap();
        assert!(seat.owner);
        assert_eq!(seat.rights, Right::all_for(ChatType::Channel));
        assert!(admin_seat(&Seat::Member { tag: None }, ChatType::Supergroup).is_none());
        assert_eq!(owner.member_state(), MemberState::Member);
    }
}
