//! What the user provider does over MTProto, one method per capability a
//! bot lacks: create a supergroup, forum or channel and bring the bot in
//! with its rights; list members exactly; add people directly (with the
//! privacy refusals and PEER_FLOOD told apart); read and change the
//! settings only people can change, each with the value that undoes it.
//!
//! Chats are named by their Bot API ids, as everywhere in orgform; the
//! access hashes MTProto wants are learnt from the account's dialogs (and
//! from the chats it creates) and kept for the connection's life.
//!
//! FLOOD_WAIT_X means the call did not run: like a Bot API 429, it goes
//! through the one pacer (`crate::pace`), which holds every later call of
//! the account until the wait is over and slows down; the call is sent
//! again, up to [`MAX_FLOOD_WAIT`] in total; anything longer is returned
//! to the caller. Every other failure is returned as it is —
//! in particular a lost answer is never retried here.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use grammers_tl_types as tl;

use super::client::{MtprotoError, UserClient};
use crate::apply::provider::{Answer, Evidence, Executed, Observed, Provider, ProviderError};
use crate::plan::change::{Change, Op};
use crate::state::{ChatId, ChatType, Right, Rights, UserId};

mod seat;
pub use seat::seat_change;

/// How fast the account's calls go: Telegram publishes no limit for a
/// user account, so the pace starts well inside what its own apps do and
/// adapts like the bot's (a FLOOD_WAIT cuts it by a tenth).
pub const USER_PACE: crate::pace::PaceOptions = crate::pace::PaceOptions {
    start: Some(30.0),
    ceiling: 60.0,
    adaptive: true,
};

/// The longest flood wait honoured before giving the error back.
pub const MAX_FLOOD_WAIT: Duration = Duration::from_secs(300);
/// Bot API ids of supergroups and channels are -100 followed by the
/// MTProto channel id.
const CHANNEL_OFFSET: i64 = 1_000_000_000_000;

pub fn channel_id(chat: ChatId) -> i64 {
    -chat - CHANNEL_OFFSET
}

pub fn chat_id(channel: i64) -> ChatId {
    -(channel + CHANNEL_OFFSET)
}

pub use crate::plan::change::PersonSetting;

/// All of them as a chat has them now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct PersonSettings {
    pub slow_mode: u32,
    pub protected_content: bool,
    pub join_by_request: bool,
    pub join_to_send: bool,
    pub hidden_members: bool,
    pub history_for_new_members: bool,
    pub forum: bool,
    pub auto_delete: u32,
}

impl PersonSettings {
    /// The current value of the setting `like` is about.
    pub fn current(&self, like: PersonSetting) -> PersonSetting {
        match like {
            PersonSetting::SlowMode(_) => PersonSetting::SlowMode(self.slow_mode),
            PersonSetting::ProtectedContent(_) => {
                PersonSetting::ProtectedContent(self.protected_content)
            }
            PersonSetting::JoinByRequest(_) => PersonSetting::JoinByRequest(self.join_by_request),
            PersonSetting::JoinToSend(_) => PersonSetting::JoinToSend(self.join_to_send),
            PersonSetting::HiddenMembers(_) => PersonSetting::HiddenMembers(self.hidden_members),
            PersonSetting::HistoryForNewMembers(_) => {
                PersonSetting::HistoryForNewMembers(self.history_for_new_members)
            }
            PersonSetting::Forum(_) => PersonSetting::Forum(self.forum),
            PersonSetting::AutoDelete(_) => PersonSetting::AutoDelete(self.auto_delete),
        }
    }
}

/// One admin-log entry as the drift report uses it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    pub date: i64,
    pub user_id: UserId,
    pub user_name: String,
    pub what: Changed,
}

/// What an admin-log entry changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Changed {
    /// A chat setting, by its config field name.
    Setting(&'static str),
    /// This user's administrator rights.
    Admin(UserId),
}

/// An invite link as a person lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InviteLinkSeen {
    pub url: String,
    pub name: String,
    pub expires: Option<i64>,
    pub member_limit: Option<u32>,
    pub join_request: bool,
}

/// A chat to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewChat {
    /// Supergroup or channel (a forum is a supergroup with `forum`).
    pub kind: ChatType,
    pub title: String,
    pub description: String,
    pub forum: bool,
}

/// A member's standing as getParticipants lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Standing {
    Owner,
    Admin {
        rights: Rights,
        title: Option<String>,
    },
    Member,
    /// In the chat with narrowed permissions.
    Restricted,
}

/// What adding people directly came to.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Invited {
    pub added: Vec<UserId>,
    /// Their privacy settings forbid it: send them a personal invite link.
    pub refused_by_privacy: Vec<UserId>,
    /// Telegram answered PEER_FLOOD: the account may add nobody for a
    /// while; these were not tried. Use invite links.
    pub not_tried_after_peer_flood: Vec<UserId>,
}

pub struct UserProvider {
    client: UserClient,
    hashes: Mutex<HashMap<i64, i64>>,
    /// Telegram answered PEER_FLOOD: this account adds nobody more in
    /// this run (each later addition becomes a personal link).
    peer_flood: std::sync::atomic::AtomicBool,
    /// The account's pace: FLOOD_WAIT holds every call, as a 429 does the
    /// bot's.
    pace: crate::pace::Pace,
    /// People's access hashes, learnt from member lists and usernames
    /// (MTProto names a person by id and hash).
    pub(super) people: Mutex<HashMap<UserId, super::live::Person>>,
    /// Where people were looked for already (a chat's members and banned,
    /// or with `None` the account's conversations): looked at once per
    /// connection, not once per person.
    pub(super) searched: Mutex<std::collections::BTreeSet<Option<ChatId>>>,
    /// The org has no bot (`provider: user`): the account carries every
    /// change, and a chat it creates gets no bot.
    alone: std::sync::atomic::AtomicBool,
}

impl UserProvider {
    pub fn new(client: UserClient) -> UserProvider {
        UserProvider {
            client,
            hashes: Mutex::new(HashMap::new()),
            peer_flood: std::sync::atomic::AtomicBool::new(false),
            pace: crate::pace::Pace::new(USER_PACE),
            people: Mutex::new(HashMap::new()),
            searched: Mutex::new(Default::default()),
            alone: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Carry every change without a bot (`org.telegram.provider: user`).
    pub fn without_bot(self) -> UserProvider {
        self.alone.store(true, std::sync::atomic::Ordering::SeqCst);
        self
    }

    /// Whether the org runs without a bot.
    pub fn is_alone(&self) -> bool {
        self.alone.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn client(&self) -> &UserClient {
        &self.client
    }

    /// Invoke through the account's pace, honouring FLOOD_WAIT (the call
    /// did not run) as the Bot API client honours a 429's `retry_after`:
    /// the pace holds every later call of this account until the wait is
    /// over and slows down, and the call is sent again, up to
    /// [`MAX_FLOOD_WAIT`] in total.
    pub(super) async fn call<R: tl::RemoteCall>(
        &self,
        request: &R,
    ) -> Result<R::Return, MtprotoError> {
        let mut waited = Duration::ZERO;
        loop {
            let slot = self.pace.wait_turn().await;
            match self.client.invoke(request).await {
                Err(MtprotoError::FloodWait { seconds, name })
                    if waited + Duration::from_secs(seconds) <= MAX_FLOOD_WAIT =>
                {
                    let wait = Duration::from_secs(seconds);
                    tracing::info!(seconds, %name, "Telegram asked to wait; waiting exactly that long");
                    let until = self
                        .pace
                        .rate_limited(slot, tokio::time::Instant::now(), wait);
                    tokio::time::sleep_until(until).await;
                    waited += wait;
                }
                other => return other,
            }
        }
    }

    /// What the account's pace achieved (calls, FLOOD_WAITs, rate).
    pub fn pace_stats(&self) -> crate::pace::PaceStats {
        self.pace.stats()
    }

    pub(super) fn remember(&self, chats: &[tl::enums::Chat]) {
        let mut hashes = self.hashes.lock().unwrap_or_else(|p| p.into_inner());
        for chat in chats {
            if let tl::enums::Chat::Channel(c) = chat
                && let Some(hash) = c.access_hash
            {
                hashes.insert(c.id, hash);
            }
        }
    }

    /// The InputChannel of a chat the account is in.
    pub(super) async fn input(
        &self,
        chat: ChatId,
    ) -> Result<tl::enums::InputChannel, MtprotoError> {
        let id = channel_id(chat);
        let known = |this: &Self| {
            this.hashes
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&id)
                .copied()
        };
        // Page through the account's dialogs until the chat shows up (at
        // most 50 pages of 100: an account in more chats than that is
        // told the chat was not found rather than read without end).
        let mut offset_peer = tl::enums::InputPeer::Empty;
        let mut pages = 0;
        while known(self).is_none() && pages < 50 {
            pages += 1;
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
            let (chats, more) = match dialogs {
                tl::enums::messages::Dialogs::Dialogs(d) => (d.chats, false),
                tl::enums::messages::Dialogs::Slice(d) => {
                    let more = !d.dialogs.is_empty();
                    (d.chats, more)
                }
                tl::enums::messages::Dialogs::NotModified(_) => (vec![], false),
            };
            self.remember(&chats);
            let last = chats.iter().rev().find_map(|c| match c {
                tl::enums::Chat::Channel(c) => Some((c.id, c.access_hash.unwrap_or(0))),
                _ => None,
            });
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
        let hash = known(self).ok_or_else(|| MtprotoError::Rpc {
            code: 400,
            name: "CHANNEL_INVALID".into(),
            value: None,
        })?;
        Ok(tl::enums::InputChannel::Channel(tl::types::InputChannel {
            channel_id: id,
            access_hash: hash,
        }))
    }

    pub(super) async fn input_peer(
        &self,
        chat: ChatId,
    ) -> Result<tl::enums::InputPeer, MtprotoError> {
        let tl::enums::InputChannel::Channel(c) = self.input(chat).await? else {
            unreachable!("input() builds a channel")
        };
        Ok(tl::enums::InputPeer::Channel(tl::types::InputPeerChannel {
            channel_id: c.channel_id,
            access_hash: c.access_hash,
        }))
    }

    /// Create a supergroup, forum or channel; its Bot API id.
    pub async fn create_chat(&self, new: &NewChat) -> Result<ChatId, MtprotoError> {
        let updates = self
            .call(&tl::functions::channels::CreateChannel {
                broadcast: new.kind == ChatType::Channel,
                megagroup: new.kind != ChatType::Channel,
                for_import: false,
                forum: new.forum && new.kind != ChatType::Channel,
                title: new.title.clone(),
                about: new.description.clone(),
                geo_point: None,
                address: None,
                ttl_period: None,
            })
            .await?;
        let chats = match updates {
            tl::enums::Updates::Updates(u) => u.chats,
            tl::enums::Updates::Combined(u) => u.chats,
            _ => vec![],
        };
        self.remember(&chats);
        chats
            .iter()
            .find_map(|c| match c {
                tl::enums::Chat::Channel(c) => Some(chat_id(c.id)),
                _ => None,
            })
            .ok_or_else(|| {
                MtprotoError::Connection("createChannel answered without the chat".into())
            })
    }

    /// A user by username: id and access hash.
    pub async fn resolve_user(&self, username: &str) -> Result<(UserId, i64), MtprotoError> {
        let tl::enums::contacts::ResolvedPeer::Peer(resolved) = self
            .call(&tl::functions::contacts::ResolveUsername {
                username: username.trim_start_matches('@').to_string(),
                referer: None,
            })
            .await?;
        self.know_people(&resolved.users);
        resolved
            .users
            .iter()
            .find_map(|u| match u {
                tl::enums::User::User(u) => Some((u.id, u.access_hash.unwrap_or(0))),
                _ => None,
            })
            .ok_or_else(|| MtprotoError::Rpc {
                code: 400,
                name: "USERNAME_NOT_OCCUPIED".into(),
                value: None,
            })
    }

    /// Create the chat and bring the bot in with its rights; the new id.
    pub async fn create_with_bot(
        &self,
        new: &NewChat,
        bot: &str,
        bot_rights: &Rights,
    ) -> Result<ChatId, MtprotoError> {
        // Resolve the bot first: an unknown username creates nothing.
        let (bot_id, bot_hash) = self.resolve_user(bot).await?;
        let id = self.create_chat(new).await?;
        self.promote(id, bot_id, bot_hash, bot_rights, None).await?;
        Ok(id)
    }

    /// Make `user` an administrator with exactly `rights` (a bot not yet
    /// in the chat joins it this way).
    pub async fn promote(
        &self,
        chat: ChatId,
        user: UserId,
        user_access_hash: i64,
        rights: &Rights,
        title: Option<&str>,
    ) -> Result<(), MtprotoError> {
        let channel = self.input(chat).await?;
        let r = |right| rights.contains(&right);
        let admin_rights = tl::enums::ChatAdminRights::Rights(tl::types::ChatAdminRights {
            change_info: r(Right::ChangeInfo),
            post_messages: r(Right::PostMessages),
            edit_messages: r(Right::EditMessages),
            delete_messages: r(Right::DeleteMessages),
            ban_users: r(Right::RestrictMembers),
            invite_users: r(Right::InviteUsers),
            pin_messages: r(Right::PinMessages),
            add_admins: r(Right::PromoteMembers),
            anonymous: r(Right::Anonymous),
            manage_call: r(Right::ManageVideoChats),
            other: r(Right::ManageChat),
            manage_topics: r(Right::ManageTopics),
            post_stories: r(Right::PostStories),
            edit_stories: r(Right::EditStories),
            delete_stories: r(Right::DeleteStories),
            manage_direct_messages: r(Right::ManageDirectMessages),
            manage_ranks: r(Right::ManageTags),
            manage_linked_peers: false,
            manage_welcome_messages: r(Right::SendWelcomeMessages),
        });
        self.call(&tl::functions::channels::EditAdmin {
            channel,
            user_id: tl::enums::InputUser::User(tl::types::InputUser {
                user_id: user,
                access_hash: user_access_hash,
            }),
            admin_rights,
            rank: title.map(str::to_string),
        })
        .await
        .map(|_| ())
    }

    /// Every member, exactly, paged; the owner and admins with their
    /// rights. Left and banned users are not members.
    pub async fn members(&self, chat: ChatId) -> Result<BTreeMap<UserId, Standing>, MtprotoError> {
        Ok(self.members_counted(chat).await?.0)
    }

    /// [`UserProvider::members`], and whether the list is whole (Telegram
    /// lists at most 10,000 members of a large chat).
    pub async fn members_counted(
        &self,
        chat: ChatId,
    ) -> Result<(BTreeMap<UserId, Standing>, bool), MtprotoError> {
        use super::live::Seat;
        let (listed, whole) = self
            .participants_counted(
                chat,
                tl::enums::ChannelParticipantsFilter::ChannelParticipantsRecent,
            )
            .await?;
        let members = listed
            .into_iter()
            .filter_map(|(user, seat)| {
                let standing = match seat {
                    Seat::Owner { .. } => Standing::Owner,
                    Seat::Admin { rights, title, .. } => Standing::Admin { rights, title },
                    Seat::Member { .. } => Standing::Member,
                    Seat::Restricted { .. } => Standing::Restricted,
                    Seat::Absent | Seat::Banned => return None,
                };
                Some((user, standing))
            })
            .collect();
        Ok((members, whole))
    }

    /// Add people directly. Privacy refusals are collected (Telegram lists
    /// them, or, in older layers, fails the call with
    /// USER_PRIVACY_RESTRICTED / USER_NOT_MUTUAL_CONTACT); PEER_FLOOD
    /// stops at once.
    pub async fn invite(
        &self,
        chat: ChatId,
        users: &[(UserId, i64)],
    ) -> Result<Invited, MtprotoError> {
        let channel = self.input(chat).await?;
        let mut out = Invited::default();
        for (i, (user, hash)) in users.iter().enumerate() {
            let answer = self
                .call(&tl::functions::channels::InviteToChannel {
                    channel: channel.clone(),
                    users: vec![tl::enums::InputUser::User(tl::types::InputUser {
                        user_id: *user,
                        access_hash: *hash,
                    })],
                })
                .await;
            match answer {
                Ok(tl::enums::messages::InvitedUsers::Users(invited)) => {
                    if invited.missing_invitees.is_empty() {
                        out.added.push(*user);
                    } else {
                        out.refused_by_privacy.push(*user);
                    }
                }
                Err(e)
                    if matches!(
                        e.name(),
                        Some("USER_PRIVACY_RESTRICTED" | "USER_NOT_MUTUAL_CONTACT")
                    ) =>
                {
                    out.refused_by_privacy.push(*user);
                }
                Err(e) if e.name() == Some("PEER_FLOOD") => {
                    out.not_tried_after_peer_flood = users[i..].iter().map(|(u, _)| *u).collect();
                    return Ok(out);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// A forum's topics (up to 100, newest first), the General topic left
    /// out: thread id, name, icon colour, closed.
    pub async fn forum_topics(
        &self,
        chat: ChatId,
    ) -> Result<Vec<(i64, String, u32, bool)>, MtprotoError> {
        let peer = self.input_peer(chat).await?;
        let tl::enums::messages::ForumTopics::Topics(topics) = self
            .call(&tl::functions::messages::GetForumTopics {
                peer,
                q: None,
                offset_date: 0,
                offset_id: 0,
                offset_topic: 0,
                limit: 100,
            })
            .await?;
        Ok(topics
            .topics
            .into_iter()
            .filter_map(|t| match t {
                tl::enums::ForumTopic::Topic(t) => {
                    Some((i64::from(t.id), t.title, t.icon_color as u32, t.closed))
                }
                tl::enums::ForumTopic::Deleted(_) => None,
            })
            .collect())
    }

    /// Whether the bot made the personal link named `name` in `chat` (the
    /// fallback of a direct addition whose answer was lost).
    async fn fallback_link(&self, chat: ChatId, bot: &str, name: &str, expires: i64) -> Evidence {
        let by = "messages.getExportedChatInvites".to_string();
        let Ok(bot) = self.resolve_user(bot).await else {
            return Evidence::Unknown;
        };
        match self.invite_links(chat, bot).await {
            Ok(links) => match links.into_iter().find(|l| l.name == name) {
                Some(link) => Evidence::Done {
                    executed: Executed {
                        answer: crate::apply::Answer::PersonalInvite {
                            url: link.url,
                            expires: link.expires.unwrap_or(expires),
                            delivered: false,
                            not_delivered_because: Some(
                                "the answer was lost: whether the direct message arrived is unknown"
                                    .into(),
                            ),
                        },
                        ..Executed::done(vec![])
                    },
                    by,
                },
                None => Evidence::NotDone { by },
            },
            Err(_) => Evidence::Unknown,
        }
    }

    /// The live (not revoked) invite links `admin` made in a chat (up to
    /// 100): link, name, expiry, member limit, join request.
    pub async fn invite_links(
        &self,
        chat: ChatId,
        admin: (UserId, i64),
    ) -> Result<Vec<InviteLinkSeen>, MtprotoError> {
        let peer = self.input_peer(chat).await?;
        let tl::enums::messages::ExportedChatInvites::Invites(invites) = self
            .call(&tl::functions::messages::GetExportedChatInvites {
                revoked: false,
                peer,
                admin_id: tl::enums::InputUser::User(tl::types::InputUser {
                    user_id: admin.0,
                    access_hash: admin.1,
                }),
                offset_date: None,
                offset_link: None,
                limit: 100,
            })
            .await?;
        Ok(invites
            .invites
            .into_iter()
            .filter_map(|i| match i {
                tl::enums::ExportedChatInvite::ChatInviteExported(l) => Some(InviteLinkSeen {
                    url: l.link,
                    name: l.title.unwrap_or_default(),
                    expires: l.expire_date.map(i64::from),
                    member_limit: l.usage_limit.map(|n| n as u32),
                    join_request: l.request_needed,
                }),
                tl::enums::ExportedChatInvite::ChatInvitePublicJoinRequests => None,
            })
            .collect())
    }

    /// The chat's recent admin-log entries, newest first (up to 100): who
    /// changed which setting or whose rights, and when.
    pub async fn admin_log(&self, chat: ChatId) -> Result<Vec<LogEntry>, MtprotoError> {
        use tl::enums::ChannelAdminLogEventAction as E;
        let channel = self.input(chat).await?;
        let tl::enums::channels::AdminLogResults::Results(results) = self
            .call(&tl::functions::channels::GetAdminLog {
                channel,
                q: String::new(),
                events_filter: None,
                admins: None,
                max_id: 0,
                min_id: 0,
                limit: 100,
            })
            .await?;
        let names: HashMap<i64, String> = results
            .users
            .iter()
            .filter_map(|u| match u {
                tl::enums::User::User(u) => Some((
                    u.id,
                    [u.first_name.as_deref(), u.last_name.as_deref()]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" "),
                )),
                _ => None,
            })
            .collect();
        let participant_id = |p: &tl::enums::ChannelParticipant| {
            use tl::enums::ChannelParticipant as P;
            match p {
                P::Participant(p) => Some(p.user_id),
                P::ParticipantSelf(p) => Some(p.user_id),
                P::Creator(p) => Some(p.user_id),
                P::Admin(p) => Some(p.user_id),
                P::Banned(b) => match &b.peer {
                    tl::enums::Peer::User(u) => Some(u.user_id),
                    _ => None,
                },
                P::Left(l) => match &l.peer {
                    tl::enums::Peer::User(u) => Some(u.user_id),
                    _ => None,
                },
            }
        };
        Ok(results
            .events
            .into_iter()
            .filter_map(|tl::enums::ChannelAdminLogEvent::Event(e)| {
                let what = match &e.action {
                    E::ChangeTitle(_) => Changed::Setting("title"),
                    E::ChangeAbout(_) => Changed::Setting("description"),
                    E::ToggleSlowMode(_) => Changed::Setting("slow_mode"),
                    E::ToggleNoForwards(_) => Changed::Setting("protected_content"),
                    E::ToggleForum(_) => Changed::Setting("forum"),
                    E::ChangeHistoryTtl(_) => Changed::Setting("auto_delete"),
                    E::DefaultBannedRights(_) => Changed::Setting("permissions"),
                    E::ParticipantToggleAdmin(a) => {
                        Changed::Admin(participant_id(&a.new_participant)?)
                    }
                    _ => return None,
                };
                Some(LogEntry {
                    date: i64::from(e.date),
                    user_id: e.user_id,
                    user_name: names.get(&e.user_id).cloned().unwrap_or_default(),
                    what,
                })
            })
            .collect())
    }

    /// The person-only settings as the chat has them now.
    pub async fn settings(&self, chat: ChatId) -> Result<PersonSettings, MtprotoError> {
        Ok(self.full_chat(chat).await?.settings)
    }

    /// Change one setting; "not modified" counts as done. Returns the
    /// setting that undoes it, read from the chat first.
    pub async fn set(
        &self,
        chat: ChatId,
        setting: PersonSetting,
    ) -> Result<PersonSetting, MtprotoError> {
        let before = self.settings(chat).await?.current(setting);
        self.apply_setting(chat, setting).await?;
        Ok(before)
    }

    /// Change one setting; "not modified" counts as done. The name of the
    /// function called.
    pub async fn apply_setting(
        &self,
        chat: ChatId,
        setting: PersonSetting,
    ) -> Result<&'static str, MtprotoError> {
        let channel = self.input(chat).await?;
        let peer = self.input_peer(chat).await?;
        use tl::functions::{channels as c, messages as m};
        let answer = match setting {
            PersonSetting::SlowMode(seconds) => self
                .call(&c::ToggleSlowMode {
                    channel,
                    seconds: seconds as i32,
                })
                .await
                .map(|_| ()),
            PersonSetting::ProtectedContent(enabled) => self
                .call(&m::ToggleNoForwards {
                    peer,
                    enabled,
                    request_msg_id: None,
                })
                .await
                .map(|_| ()),
            PersonSetting::JoinByRequest(enabled) => self
                .call(&c::ToggleJoinRequest {
                    apply_to_invites: false,
                    channel,
                    enabled,
                    guard_bot: None,
                })
                .await
                .map(|_| ()),
            PersonSetting::JoinToSend(enabled) => self
                .call(&c::ToggleJoinToSend { channel, enabled })
                .await
                .map(|_| ()),
            PersonSetting::HiddenMembers(enabled) => self
                .call(&c::ToggleParticipantsHidden { channel, enabled })
                .await
                .map(|_| ()),
            PersonSetting::HistoryForNewMembers(visible) => self
                .call(&c::TogglePreHistoryHidden {
                    channel,
                    enabled: !visible,
                })
                .await
                .map(|_| ()),
            PersonSetting::Forum(enabled) => self
                .call(&c::ToggleForum {
                    channel,
                    enabled,
                    tabs: false,
                })
                .await
                .map(|_| ()),
            PersonSetting::AutoDelete(seconds) => self
                .call(&m::SetHistoryTtl {
                    peer,
                    period: seconds as i32,
                })
                .await
                .map(|_| ()),
        };
        let method = match setting {
            PersonSetting::SlowMode(_) => "channels.toggleSlowMode",
            PersonSetting::ProtectedContent(_) => "messages.toggleNoForwards",
            PersonSetting::JoinByRequest(_) => "channels.toggleJoinRequest",
            PersonSetting::JoinToSend(_) => "channels.toggleJoinToSend",
            PersonSetting::HiddenMembers(_) => "channels.toggleParticipantsHidden",
            PersonSetting::HistoryForNewMembers(_) => "channels.togglePreHistoryHidden",
            PersonSetting::Forum(_) => "channels.toggleForum",
            PersonSetting::AutoDelete(_) => "messages.setHistoryTTL",
        };
        match answer {
            Ok(()) => Ok(method),
            Err(e) if e.name() == Some("CHAT_NOT_MODIFIED") => Ok(method),
            Err(e) => Err(e),
        }
    }
}

impl UserProvider {
    /// Add one declared member directly. Privacy refusals, a person the
    /// account cannot find (no username), and every addition after
    /// PEER_FLOOD answer [`Answer::NotAdded`], for the bot's personal link.
    async fn add_member(
        &self,
        chat: ChatId,
        user: UserId,
        username: Option<&str>,
    ) -> Result<Executed, ProviderError> {
        use std::sync::atomic::Ordering;
        let not_added = |reason: String, calls: Vec<String>| Executed {
            answer: Answer::NotAdded { reason },
            not_modified: false,
            calls,
            notes: vec![],
        };
        if self.peer_flood.load(Ordering::SeqCst) {
            return Ok(not_added(
                "Telegram answered PEER_FLOOD earlier in this run; no more direct additions".into(),
                vec![],
            ));
        }
        // MTProto names a person by id and access hash, which the account
        // learns from their username.
        let Some(username) = username else {
            return Ok(not_added(
                "the config gives no username to find them by".into(),
                vec![],
            ));
        };
        let (found, hash) = match self.resolve_user(username).await {
            Ok(found) => found,
            Err(e) if e.name() == Some("USERNAME_NOT_OCCUPIED") => {
                return Ok(not_added(
                    format!("no account has the username @{username}"),
                    vec!["contacts.resolveUsername".into()],
                ));
            }
            Err(e) => return Err(provider_error(e)),
        };
        if found != user {
            return Ok(not_added(
                format!("@{username} is account {found}, not {user}"),
                vec!["contacts.resolveUsername".into()],
            ));
        }
        let calls = vec![
            "contacts.resolveUsername".to_string(),
            "channels.inviteToChannel".to_string(),
        ];
        let invited = self
            .invite(chat, &[(user, hash)])
            .await
            .map_err(provider_error)?;
        if invited.added.contains(&user) {
            return Ok(Executed::done(calls));
        }
        if invited.not_tried_after_peer_flood.contains(&user) {
            self.peer_flood.store(true, Ordering::SeqCst);
            tracing::warn!("PEER_FLOOD: no more direct additions in this run");
            return Ok(not_added(
                "Telegram answered PEER_FLOOD: this account may not add people for a while; no more direct additions in this run".into(),
                calls,
            ));
        }
        Ok(not_added(
            "their privacy settings do not let others add them".into(),
            calls,
        ))
    }

    /// Whether a createChannel whose answer was lost made the chat. No
    /// chat of that title owned by the account: it did not. One or more:
    /// a person must say (one may be an older chat of the same name, which
    /// orgform must not take over on a guess).
    async fn created_evidence(&self, title: &str) -> Evidence {
        let by = "messages.getDialogs".to_string();
        let Ok(dialogs) = self
            .call(&tl::functions::messages::GetDialogs {
                exclude_pinned: false,
                folder_id: None,
                offset_date: 0,
                offset_id: 0,
                offset_peer: tl::enums::InputPeer::Empty,
                limit: 100,
                hash: 0,
            })
            .await
        else {
            return Evidence::Unknown;
        };
        let chats = match dialogs {
            tl::enums::messages::Dialogs::Dialogs(d) => d.chats,
            tl::enums::messages::Dialogs::Slice(_) => return Evidence::Unknown,
            tl::enums::messages::Dialogs::NotModified(_) => return Evidence::Unknown,
        };
        self.remember(&chats);
        let owned: Vec<ChatId> = chats
            .iter()
            .filter_map(|c| match c {
                tl::enums::Chat::Channel(c) if c.creator && c.title == title => Some(chat_id(c.id)),
                _ => None,
            })
            .collect();
        if owned.is_empty() {
            Evidence::NotDone { by }
        } else {
            Evidence::Unknown
        }
    }
}

pub(super) fn provider_error(e: MtprotoError) -> ProviderError {
    if e.did_not_run() {
        ProviderError::refused(e.to_string())
    } else {
        ProviderError::unknown(e.to_string())
    }
}

fn not_mine(change: &Change) -> ProviderError {
    ProviderError::refused(format!(
        "{}: the user provider carries only the changes only a person can make",
        change.address
    ))
}

/// The user provider behind `apply`'s interface: it carries the changes
/// only a person can make (`Op::needs_person`); `apply::Split` sends it
/// those and the bot everything else.
impl Provider for UserProvider {
    async fn execute(&self, change: &Change) -> Result<Executed, ProviderError> {
        if crate::plan::folders::is_folder(change) {
            return self.execute_folder(change).await;
        }
        if let Op::AddMember { user, username, .. } = &change.op {
            return self
                .add_member(change.chat_id, *user, username.as_deref())
                .await;
        }
        if let Op::CreateChat {
            title,
            description,
            forum,
            bot,
            bot_rights,
        } = &change.op
        {
            let new = NewChat {
                kind: change.chat_type,
                title: title.clone(),
                description: description.clone(),
                forum: *forum,
            };
            // An org without a bot: the chat is the account's alone.
            if bot.is_none() && self.is_alone() {
                let id = self.create_chat(&new).await.map_err(provider_error)?;
                return Ok(Executed {
                    answer: Answer::Chat { id },
                    not_modified: false,
                    calls: vec!["channels.createChannel".into()],
                    notes: vec![format!("created with id {id}")],
                });
            }
            let bot = bot.as_deref().ok_or_else(|| {
                ProviderError::refused(format!(
                    "{}: set org.telegram.bot to the bot's username so the new chat gets its bot",
                    change.address
                ))
            })?;
            let new = NewChat {
                kind: change.chat_type,
                title: title.clone(),
                description: description.clone(),
                forum: *forum,
            };
            // The bot first: an unknown username creates nothing.
            let (bot_id, bot_hash) = self.resolve_user(bot).await.map_err(provider_error)?;
            let id = self.create_chat(&new).await.map_err(provider_error)?;
            let mut notes = vec![format!("created with id {id}")];
            // The chat exists now whatever happens next: its id is always
            // answered, so it is recorded and never created twice.
            if let Err(e) = self.promote(id, bot_id, bot_hash, bot_rights, None).await {
                notes.push(format!(
                    "the bot could not be made an administrator ({e}); promote @{bot} by hand"
                ));
            }
            return Ok(Executed {
                answer: Answer::Chat { id },
                not_modified: false,
                calls: vec![
                    "contacts.resolveUsername".into(),
                    "channels.createChannel".into(),
                    "channels.editAdmin".into(),
                ],
                notes,
            });
        }
        // An admin seat the bot may not edit (`orgform watch --enforce`
        // sends only those here).
        if let Some((user, rights)) = seat_change(change) {
            return self
                .set_seat(change.chat_id, user, &rights)
                .await
                .map_err(provider_error);
        }
        let Op::SetPersonSetting { setting } = &change.op else {
            return Err(not_mine(change));
        };
        let method = self
            .apply_setting(change.chat_id, *setting)
            .await
            .map_err(provider_error)?;
        Ok(Executed::done(vec![method.to_string()]))
    }

    async fn observe_before(&self, change: &Change) -> Result<Observed, ProviderError> {
        if crate::plan::folders::is_folder(change) {
            return self.observe_folder(change).await;
        }
        if let Op::CreateChat { .. } | Op::AddMember { .. } = change.op {
            return Ok(Observed::Nothing);
        }
        let Op::SetPersonSetting { setting } = &change.op else {
            return Err(not_mine(change));
        };
        let now = self
            .settings(change.chat_id)
            .await
            .map_err(provider_error)?;
        Ok(Observed::Recorded {
            value: now.current(*setting).value(),
        })
    }

    /// A setting whose answer was lost is read back: it either has the
    /// value now or it does not.
    async fn evidence(&self, change: &Change, before: &Observed) -> Evidence {
        if crate::plan::folders::is_folder(change) {
            return self.folder_evidence(change).await;
        }
        if let Op::CreateChat { title, .. } = &change.op {
            return self.created_evidence(title).await;
        }
        if let Op::AddMember {
            user,
            name,
            expires,
            bot,
            ..
        } = &change.op
        {
            // In the member list now: it happened.
            let by = "channels.getParticipants".to_string();
            return match self.members(change.chat_id).await {
                Ok(listed) if listed.contains_key(user) => Evidence::Done {
                    executed: Executed::done(vec![]),
                    by,
                },
                // Not added; but a refusal falls back to the bot's personal
                // link, whose answer may be the one lost: only the bot's
                // links, listed by the account, can say it was not sent.
                Ok(_) => match bot {
                    Some(bot) => {
                        self.fallback_link(change.chat_id, bot, name, *expires)
                            .await
                    }
                    // Without a bot the fallback link is the account's own.
                    None if self.is_alone() => self.routine_evidence(change, before).await,
                    None => Evidence::Unknown,
                },
                Err(_) => Evidence::Unknown,
            };
        }
        let Op::SetPersonSetting { setting } = &change.op else {
            return Evidence::Unknown;
        };
        let by = "channels.getFullChannel".to_string();
        match self.settings(change.chat_id).await {
            Ok(now) if now.current(*setting) == *setting => Evidence::Done {
                executed: Executed::done(vec![]),
                by,
            },
            Ok(_) => Evidence::NotDone { by },
            Err(_) => Evidence::Unknown,
        }
    }
}

pub(super) fn rights_of(rights: &tl::enums::ChatAdminRights) -> Rights {
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
    .filter_map(|(on, right)| on.then_some(right))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        assert_eq!(chat_id(channel_id(-1001234567890)), -1001234567890);
    }

    #[test]
    fn current_picks_the_same_setting() {
        let s = PersonSettings {
            slow_mode: 30,
            forum: true,
            ..Default::default()
        };
        assert_eq!(
            s.current(PersonSetting::SlowMode(0)),
            PersonSetting::SlowMode(30)
        );
        assert_eq!(
            s.current(PersonSetting::Forum(false)),
            PersonSetting::Forum(true)
        );
        assert_eq!(
            s.current(PersonSetting::HistoryForNewMembers(true)),
            PersonSetting::HistoryForNewMembers(false)
        );
    }
}
