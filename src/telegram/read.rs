//! Reading the live state: Bot API answers → `LiveState`, with as few calls
//! as possible (DESIGN §3).
//!
//! Per run: getMe once. Per chat, bounded-concurrent across chats: getChat,
//! getChatAdministrators, getChatMemberCount; getMyCommands only where the
//! config or a previous run manages the chat's commands and the store does
//! not know them yet (only the bot can change them); getChatMember only
//! for declared people whose status the store does not know or whose desired
//! status differs from what the store knows. Topics and invite links come
//! from the store (the Bot API cannot list them). A chat that cannot be read
//! gets `LiveChatMeta::error`; the others go on.
//!
//! [`drain_updates`] folds pending `chat_member` updates into the store
//! first ([`refresh`] does both); it is skipped when a webhook is set.
//!
//! This is the one reader of Telegram: `orgform import` uses it too, with
//! [`discover`] (every chat the update feed shows, folded into the store
//! the same way) and [`census`] (a read that asks about everyone the store
//! has seen and keeps their names), so every reader records the same
//! updates.

use std::collections::BTreeSet;

use tokio::task::JoinSet;

use super::client::{ApiCall, Client};
use super::error::{Class, Error};
use super::wire::{self, BotCommandScope, ChatFullInfo, ChatMember, Update};
use crate::state::{
    AdminSeat, BotIdentity, ChatId, ChatSettings, ChatState, ChatType, Command, DesiredState,
    LiveChatMeta, LiveState, MemberState, Photo, PinnedMessage, Right, Rights, UserId,
};
use crate::store::{ChatMemory, Store};

/// Update kinds orgform asks for. `chat_member` must be named explicitly or
/// Telegram never sends it. `message` carries the service messages of forum
/// topics edited, closed or reopened by hand (the Bot API cannot list
/// topics, so these are the only way to notice); other messages are skipped.
pub const ALLOWED_UPDATES: &[&str] = &["chat_member", "my_chat_member", "message"];
/// getUpdates page size (Telegram's maximum).
const UPDATE_PAGE: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("the token belongs to @{actual}, but the config names @{expected} (org.telegram.bot)")]
    WrongBot { expected: String, actual: String },
    #[error("no chat {0:?} in the config")]
    UnknownChat(String),
    #[error(transparent)]
    Telegram(#[from] Error),
    #[error("reading was cancelled: {0}")]
    Cancelled(String),
}

/// What draining the update queue did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Drained {
    /// Updates folded into the store.
    pub updates: usize,
    /// A webhook is set, so updates go there and nothing was drained.
    pub webhook_active: bool,
    /// Groups and channels the updates showed the bot in (joined, a member
    /// changed, a message), less those it left since.
    pub chats_seen: BTreeSet<ChatId>,
    /// Groups and channels the bot left or was removed from.
    pub chats_left: BTreeSet<ChatId>,
    /// Nothing was drained because `orgform watch` keeps the ledger: what
    /// it recorded was read instead.
    pub kept_by_watch: bool,
}

/// Whose membership changes are recorded.
enum Scope {
    /// The config's chats.
    Managed(BTreeSet<ChatId>),
    /// Every group and channel the feed shows (an import finding chats).
    Everywhere,
}

impl Scope {
    fn of(desired: &DesiredState) -> Scope {
        Scope::Managed(desired.state.chats.values().map(|c| c.id).collect())
    }

    fn covers(&self, chat: ChatId) -> bool {
        match self {
            Scope::Managed(chats) => chats.contains(&chat),
            Scope::Everywhere => true,
        }
    }
}

/// Drain pending updates into the store: membership changes in managed
/// chats become `SeenMember`s (source `update`), and the offset moves on.
/// Costs one call when fewer than 100 updates are waiting.
pub async fn drain_updates(
    client: &Client,
    desired: &DesiredState,
    store: &mut Store,
) -> Result<Drained, Error> {
    drain(client, &Scope::of(desired), store, true).await
}

/// [`drain_updates`] for chats named by id (an import of chats the config
/// does not describe yet).
pub async fn drain_updates_of(
    client: &Client,
    chats: &[ChatId],
    store: &mut Store,
) -> Result<Drained, Error> {
    let scope = Scope::Managed(chats.iter().copied().collect());
    drain(client, &scope, store, true).await
}

/// Fold the first page of pending updates into `store` without
/// confirming any the store does not already hold (a read-only plan: what
/// it sees is not recorded, so Telegram must keep it for the next writer).
pub async fn peek_updates(
    client: &Client,
    desired: &DesiredState,
    store: &mut Store,
) -> Result<Drained, Error> {
    drain(client, &Scope::of(desired), store, false).await
}

/// Chats the bot is known to be in, for an import from real Telegram:
/// those in the store and those the update feed shows. The updates are
/// drained and folded into the store like [`drain_updates`] does, for every
/// chat. `webhook_active` in the answer says a webhook kept the feed from
/// being read.
pub async fn discover(
    client: &Client,
    store: &mut Store,
) -> Result<(BTreeSet<ChatId>, Drained), Error> {
    let mut chats: BTreeSet<ChatId> = store.chats.keys().copied().collect();
    let drained = drain(client, &Scope::Everywhere, store, true).await?;
    chats.extend(drained.chats_seen.iter().copied());
    chats.retain(|c| !drained.chats_left.contains(c));
    Ok((chats, drained))
}

/// Chats the bot is known to be in while `orgform watch` keeps the
/// ledger: the feed belongs to watch (reading it here would take updates
/// from it), and watch records the bot's own membership like anyone's, so
/// the store alone answers. Chats the bot is recorded as having left or
/// been removed from are not listed.
pub async fn discover_from_ledger(
    client: &Client,
    store: &Store,
) -> Result<BTreeSet<ChatId>, Error> {
    let me: wire::User = client.call(&ApiCall::read("getMe", None)).await?;
    Ok(store
        .chats
        .iter()
        .filter(|(_, memory)| {
            !memory.members.get(&me.id).is_some_and(|seen| {
                matches!(seen.status, MemberState::Absent | MemberState::Banned)
            })
        })
        .map(|(id, _)| *id)
        .collect())
}

async fn drain(
    client: &Client,
    scope: &Scope,
    store: &mut Store,
    confirm: bool,
) -> Result<Drained, Error> {
    let confirmed = store.update_offset;
    let mut drained = Drained::default();
    loop {
        let mut call = ApiCall::read("getUpdates", None)
            .param("limit", UPDATE_PAGE)
            .param("timeout", 0)
            .param("allowed_updates", ALLOWED_UPDATES);
        let offset = if confirm {
            store.update_offset
        } else {
            confirmed
        };
        if let Some(offset) = offset {
            call = call.param("offset", offset);
        }
        let updates: Vec<Update> = match client.call(&call).await {
            Ok(u) => u,
            Err(e) if e.class() == Some(&Class::Conflict) => {
                drained.webhook_active = true;
                return Ok(drained);
            }
            Err(e) => return Err(e),
        };
        let page = updates.len();
        for update in updates {
            store.update_offset = Some(store.update_offset.unwrap_or(0).max(update.update_id + 1));
            if let Some(mine) = &update.my_chat_member
                && chat_type(&mine.chat.kind).is_some()
            {
                let id = mine.chat.id;
                if matches!(
                    mine.new_chat_member,
                    ChatMember::Left(_) | ChatMember::Banned(_)
                ) {
                    drained.chats_seen.remove(&id);
                    drained.chats_left.insert(id);
                } else {
                    drained.chats_left.remove(&id);
                    drained.chats_seen.insert(id);
                }
            }
            if let Some(message) = update.extra.get("message") {
                let kind = message
                    .pointer("/chat/type")
                    .and_then(serde_json::Value::as_str)
                    .and_then(chat_type);
                if let (Some(id), Some(_)) = (
                    message
                        .pointer("/chat/id")
                        .and_then(serde_json::Value::as_i64),
                    kind,
                ) && !drained.chats_left.contains(&id)
                {
                    drained.chats_seen.insert(id);
                }
                if topic_event(store, scope, message) {
                    drained.updates += 1;
                }
                continue;
            }
            let Some(changed) = update.chat_member else {
                continue;
            };
            if chat_type(&changed.chat.kind).is_some()
                && !drained.chats_left.contains(&changed.chat.id)
            {
                drained.chats_seen.insert(changed.chat.id);
            }
            if !scope.covers(changed.chat.id) {
                continue;
            }
            let Some(user) = changed.new_chat_member.user_id() else {
                continue;
            };
            let Some(status) = store_status(&changed.new_chat_member) else {
                continue;
            };
            store.see_member(changed.chat.id, user, status, changed.date, "update");
            store.see_tag(
                changed.chat.id,
                user,
                changed.new_chat_member.tag(),
                changed.date,
                "update",
            );
            drained.updates += 1;
        }
        if page < UPDATE_PAGE || !confirm {
            return Ok(drained);
        }
    }
}

/// [`topic_event`] for the config's chats: what `orgform watch` folds in
/// from the updates it receives, exactly as a drain would.
pub fn topic_message(
    store: &mut Store,
    managed: &BTreeSet<ChatId>,
    message: &serde_json::Value,
) -> bool {
    topic_event(store, &Scope::Managed(managed.clone()), message)
}

/// Fold a forum topic's service message (edited, closed, reopened by a
/// person) into the store's record of that topic, so the live state shows
/// what Telegram now has. Topics orgform does not know are ignored.
fn topic_event(store: &mut Store, scope: &Scope, message: &serde_json::Value) -> bool {
    let chat = message
        .pointer("/chat/id")
        .and_then(serde_json::Value::as_i64);
    let thread = message
        .get("message_thread_id")
        .and_then(serde_json::Value::as_i64);
    let (Some(chat), Some(thread)) = (chat, thread) else {
        return false;
    };
    if !scope.covers(chat) {
        return false;
    }
    let Some(memory) = store.chats.get_mut(&chat) else {
        return false;
    };
    let Some(record) = memory
        .topics
        .values_mut()
        .find(|t| t.thread_id == Some(thread))
    else {
        return false;
    };
    if let Some(edited) = message.get("forum_topic_edited") {
        if let Some(name) = edited.get("name").and_then(serde_json::Value::as_str) {
            record.name = name.to_string();
        }
    } else if message.get("forum_topic_closed").is_some() {
        record.closed = true;
    } else if message.get("forum_topic_reopened").is_some() {
        record.closed = false;
    } else {
        return false;
    }
    true
}

/// How far the store's member records may stand in for asking Telegram.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Records {
    /// Ask about every declared person whose status the store does not
    /// know, or knows to differ from the config.
    #[default]
    Ask,
    /// Every membership change since `since` is recorded: a watch keeps
    /// the ledger, its full member check ran at `since` (after its last
    /// gap), and it has not been down longer than Telegram keeps updates
    /// (`store::ledger::LedgerStatus` without `stale`). Then, counting only
    /// records made at or after `since`, a person known absent who should
    /// be a member is still absent (no update said otherwise), and, in a
    /// chat whose member count equals the people known present, a person
    /// never seen there is not there: neither is asked about (see
    /// [`read_chat`]). An older record may predate a gap, and is not
    /// trusted.
    Fresh {
        /// Unix time of the last full member check.
        since: i64,
    },
}

impl Records {
    /// What the watch ledger's status allows: [`Records::Fresh`] only when
    /// a watch kept it and nothing makes it stale.
    pub fn from_ledger(status: Option<&crate::store::ledger::LedgerStatus>) -> Records {
        match status {
            Some(s) if s.stale.is_none() && s.heartbeat.is_some() => match s.full_check {
                Some(since) => Records::Fresh { since },
                None => Records::Ask,
            },
            _ => Records::Ask,
        }
    }
}

/// Drain updates (unless a webhook is set), then read the chats: all of
/// them, or only those named in `only`.
pub async fn refresh(
    client: &Client,
    desired: &DesiredState,
    store: &mut Store,
    now: i64,
    only: Option<&[String]>,
) -> Result<(LiveState, Drained), ReadError> {
    refresh_with(client, desired, store, now, only, Records::Ask).await
}

/// [`refresh`], trusting the store's records as far as `records` says.
pub async fn refresh_with(
    client: &Client,
    desired: &DesiredState,
    store: &mut Store,
    now: i64,
    only: Option<&[String]>,
    records: Records,
) -> Result<(LiveState, Drained), ReadError> {
    let drained = drain_updates(client, desired, store).await?;
    let keys: Vec<String> = match only {
        Some(keys) => keys.to_vec(),
        None => desired.state.chats.keys().cloned().collect(),
    };
    let live = read_chats_with(client, desired, store, now, &keys, records).await?;
    Ok((live, drained))
}

/// Read every chat of the desired state. Updates the store with what was
/// seen (members, `last_read`).
pub async fn read(
    client: &Client,
    desired: &DesiredState,
    store: &mut Store,
    now: i64,
) -> Result<LiveState, ReadError> {
    let keys: Vec<String> = desired.state.chats.keys().cloned().collect();
    read_chats(client, desired, store, now, &keys).await
}

/// Read only the chats named (by config key), e.g. for a targeted plan.
pub async fn read_chats(
    client: &Client,
    desired: &DesiredState,
    store: &mut Store,
    now: i64,
    only: &[String],
) -> Result<LiveState, ReadError> {
    read_chats_with(client, desired, store, now, only, Records::Ask).await
}

/// [`read_chats`], trusting the store's records as far as `records` says.
pub async fn read_chats_with(
    client: &Client,
    desired: &DesiredState,
    store: &mut Store,
    now: i64,
    only: &[String],
    records: Records,
) -> Result<LiveState, ReadError> {
    for key in only {
        if !desired.state.chats.contains_key(key) {
            return Err(ReadError::UnknownChat(key.clone()));
        }
    }
    let (live, _) = read_jobs(client, desired, store, now, only, false, records).await?;
    Ok(live)
}

/// What a census read: the chats (keyed `chat<ID>`), and the people seen
/// in them with the names Telegram showed.
#[derive(Clone, Debug, Default)]
pub struct Census {
    pub live: LiveState,
    pub profiles: std::collections::BTreeMap<UserId, wire::User>,
}

/// Read chats the config does not describe (an import): everything
/// [`read_chats`] reads, the command list always, and getChatMember for
/// every person the store has seen present in each chat, keeping the names
/// Telegram shows. What is learned goes into the store as in any read.
pub async fn census(
    client: &Client,
    store: &mut Store,
    ids: &[ChatId],
    now: i64,
) -> Result<Census, ReadError> {
    let mut desired = DesiredState::default();
    for &id in ids {
        let mut chat = ChatState::new(id, ChatType::Supergroup);
        chat.commands = Some(Vec::new());
        desired.state.chats.insert(census_key(id), chat);
    }
    let keys: Vec<String> = desired.state.chats.keys().cloned().collect();
    let (live, profiles) =
        read_jobs(client, &desired, store, now, &keys, true, Records::Ask).await?;
    Ok(Census { live, profiles })
}

/// The key a census files a chat under.
pub fn census_key(id: ChatId) -> String {
    format!("chat{id}")
}

async fn read_jobs(
    client: &Client,
    desired: &DesiredState,
    store: &mut Store,
    now: i64,
    only: &[String],
    census: bool,
    records: Records,
) -> Result<(LiveState, std::collections::BTreeMap<UserId, wire::User>), ReadError> {
    let me: wire::User = client.call(&ApiCall::read("getMe", None)).await?;
    let username = me.username.clone().unwrap_or_default();
    if let Some(expected) = &desired.bot {
        let expected = expected.trim_start_matches('@');
        if !expected.eq_ignore_ascii_case(&username) {
            return Err(ReadError::WrongBot {
                expected: expected.to_string(),
                actual: username,
            });
        }
    }
    let bot = BotIdentity {
        id: me.id,
        username,
    };

    let mut tasks = JoinSet::new();
    let unique: BTreeSet<&String> = only.iter().collect();
    for key in unique {
        let job = ChatJob {
            key: key.clone(),
            desired: desired.state.chats[key].clone(),
            memory: store
                .chat(desired.state.chats[key].id)
                .cloned()
                .unwrap_or_default(),
            bot: bot.id,
            census,
            records,
        };
        let client = client.clone();
        tasks.spawn(async move {
            let outcome = read_chat(&client, &job).await;
            (job, outcome)
        });
    }

    let mut live = LiveState {
        bot: Some(bot),
        ..Default::default()
    };
    let mut profiles = std::collections::BTreeMap::new();
    while let Some(joined) = tasks.join_next().await {
        let (job, outcome) = match joined {
            Ok(done) => done,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => return Err(ReadError::Cancelled(e.to_string())),
        };
        match outcome {
            Ok(read) => {
                for (user, status, source) in read.seen {
                    store.see_member(job.desired.id, user, status, now, source);
                }
                for (user, tag) in read.tags_seen {
                    store.see_tag(job.desired.id, user, tag, now, "getChatMember");
                }
                let memory = store.chat_mut(job.desired.id);
                memory.last_read = Some(now);
                if let Some(commands) = read.commands_read {
                    memory.commands = Some(commands);
                }
                live.state.chats.insert(job.key.clone(), read.chat);
                live.meta.insert(job.key, read.meta);
                for user in read.profiles {
                    profiles.insert(user.id, user);
                }
            }
            Err(e) if e.is_fatal() => return Err(ReadError::Telegram(e)),
            Err(e) => {
                let message = match e.hint() {
                    Some(hint) => format!("{e}; hint: {hint}"),
                    None => e.to_string(),
                };
                tracing::warn!(chat = job.key, "cannot read the chat: {message}");
                live.meta.insert(
                    job.key,
                    LiveChatMeta {
                        error: Some(message),
                        ..Default::default()
                    },
                );
            }
        }
    }
    Ok((live, profiles))
}

struct ChatJob {
    key: String,
    desired: ChatState,
    memory: ChatMemory,
    bot: UserId,
    /// Ask about everyone the store has seen present, read the command
    /// list fresh, and keep the people's names (see [`census`]).
    census: bool,
    records: Records,
}

struct ChatRead {
    chat: ChatState,
    meta: LiveChatMeta,
    /// Statuses learned in this read, for the store.
    seen: Vec<(UserId, MemberState, &'static str)>,
    /// Member tags learned from getChatMember answers.
    tags_seen: Vec<(UserId, Option<String>)>,
    /// The command list, when it was asked for.
    commands_read: Option<Vec<Command>>,
    /// People as Telegram showed them (a census only).
    profiles: Vec<wire::User>,
}

async fn read_chat(client: &Client, job: &ChatJob) -> Result<ChatRead, Error> {
    let id = job.desired.id;
    let _turn = client.chat_turn(id).await;
    let info: ChatFullInfo = client.call(&ApiCall::read("getChat", Some(id))).await?;
    let Some(kind) = chat_type(&info.kind) else {
        return Err(Error::new(
            "getChat",
            Some(id),
            super::error::ErrorKind::NotExecutable {
                reason: format!("this is a {} chat, not a group or channel", info.kind),
            },
        ));
    };
    let admins: Vec<ChatMember> = client
        .call(&ApiCall::read("getChatAdministrators", Some(id)))
        .await?;
    let count: u64 = client
        .call(&ApiCall::read("getChatMemberCount", Some(id)))
        .await?;

    let mut chat = ChatState::new(id, kind);
    chat.membership = job.desired.membership;
    chat.settings = settings_of(&info, kind);
    // A photo is orgform's when Telegram's id for it is the one recorded
    // after the upload; then its content is known.
    if let (Some(photo), Some(record)) = (&info.photo, &job.memory.photo)
        && photo.big_file_unique_id == record.file_unique_id
    {
        chat.settings.photo = Some(Photo::File {
            sha256: record.sha256.clone(),
            name: String::new(),
            path: Default::default(),
        });
    }
    chat.pinned = top_pin(&info, |u| u.id == job.bot);
    let mut meta = LiveChatMeta {
        member_count: Some(count),
        ..Default::default()
    };
    let mut seen = Vec::new();
    let mut tags_seen = Vec::new();
    let mut profiles = Vec::new();
    for admin in &admins {
        let Some(user) = admin.user_id() else {
            continue;
        };
        let Some((seat, editable)) = admin_seat(admin, kind) else {
            continue;
        };
        if user == job.bot {
            meta.bot_rights = Some(seat.rights);
            continue;
        }
        if job.census
            && let Some(profile) = admin.user()
        {
            profiles.push(profile.clone());
        }
        if !editable {
            meta.not_editable.insert(user);
        }
        chat.admins.insert(user, seat);
        // The store records admins as members: their seat is read fresh each time.
        seen.push((user, MemberState::Member, "getChatAdministrators"));
    }

    // Tags as last seen, corrected below by what getChatMember answers.
    let mut fresh_tags: std::collections::BTreeMap<UserId, String> = job
        .memory
        .members
        .iter()
        .filter_map(|(u, r)| Some((*u, r.tag.clone()?)))
        .collect();
    // Whom to ask about: declared people who are not admins now and whose
    // status the store does not know, or knows to differ from the config.
    let declared: BTreeSet<UserId> = if job.census {
        job.memory
            .members
            .iter()
            .filter(|(_, r)| r.status != MemberState::Absent)
            .map(|(u, _)| *u)
            .collect()
    } else {
        job.desired
            .admins
            .keys()
            .chain(job.desired.members.keys())
            .copied()
            .collect()
    };
    // Whether everyone in the chat is someone the store knows present: the
    // member count (admins, bots and restricted members included) equals
    // the admins just read plus the people the records say are in.
    // Records made since the last full member check, when the ledger
    // holds every change since then.
    let trusted_since = match job.records {
        Records::Fresh { since } if !job.census => Some(since),
        _ => None,
    };
    let trusted = |r: &crate::store::SeenMember| trusted_since.is_some_and(|since| r.at >= since);
    let all_known = trusted_since.is_some() && {
        let mut present: BTreeSet<UserId> = admins.iter().filter_map(ChatMember::user_id).collect();
        present.extend(
            job.memory
                .members
                .iter()
                .filter(|(_, r)| {
                    trusted(r)
                        && matches!(
                            r.status,
                            MemberState::Member | MemberState::Restricted { .. }
                        )
                })
                .map(|(u, _)| *u),
        );
        present.len() as u64 == count
    };
    for user in &declared {
        if chat.admins.contains_key(user) || *user == job.bot {
            continue;
        }
        let record = job.memory.members.get(user);
        let known = record.map(|s| &s.status);
        let wanted = job.desired.members.get(user);
        // A managed tag that differs from the one last seen is asked about
        // too: it may have been set by hand since.
        let tag_differs = job.desired.tags.as_ref().is_some_and(|tags| {
            tags.get(user).map(String::as_str).unwrap_or("")
                != record.and_then(|r| r.tag.as_deref()).unwrap_or("")
        });
        let fresh = trusted_since.is_some();
        let record_trusted = record.is_some_and(trusted);
        let ask = match (known, wanted) {
            _ if job.census => true,
            // Never seen in a chat where everyone present is known, and
            // must not be in it: not there (a ban by hand before the bot
            // came makes no difference to "not in the chat").
            (None, Some(MemberState::Absent)) if fresh && all_known => {
                chat.members.insert(*user, MemberState::Absent);
                seen.push((*user, MemberState::Absent, "getChatMemberCount"));
                continue;
            }
            // Known absent, with every change since recorded: still absent
            // (invited and not joined yet).
            (Some(MemberState::Absent), Some(_)) if record_trusted && !tag_differs => false,
            (None, _) => true,
            (Some(known), Some(wanted)) => !same_status(known, wanted) || tag_differs,
            // Declared as admin, known as something else.
            (Some(_), None) => true,
        };
        if !ask {
            chat.members
                .insert(*user, known.cloned().expect("known when not asking"));
            continue;
        }
        let call = ApiCall::read("getChatMember", Some(id)).param("user_id", user);
        let member = match client.call::<ChatMember>(&call).await {
            Ok(m) => m,
            // Telegram does not know the user, or they are not in the chat.
            Err(e) if e.class() == Some(&Class::BadRequest) && is_unknown_user(&e) => {
                chat.members.insert(*user, MemberState::Absent);
                seen.push((*user, MemberState::Absent, "getChatMember"));
                continue;
            }
            Err(e) => return Err(e),
        };
        if job.census
            && let Some(profile) = member.user()
        {
            profiles.push(profile.clone());
        }
        if let Some((seat, editable)) = admin_seat(&member, kind) {
            // Promoted since getChatAdministrators answered.
            if !editable {
                meta.not_editable.insert(*user);
            }
            chat.admins.insert(*user, seat);
            seen.push((*user, MemberState::Member, "getChatMember"));
        } else if let Some(status) = member_state(&member) {
            chat.members.insert(*user, status.clone());
            seen.push((*user, status, "getChatMember"));
            tags_seen.push((*user, member.tag()));
            if let Some(tag) = member.tag() {
                fresh_tags.insert(*user, tag);
            } else {
                fresh_tags.remove(user);
            }
        }
    }
    // Everyone else the store has seen here (undeclared people included).
    for (user, record) in &job.memory.members {
        if chat.admins.contains_key(user) || chat.members.contains_key(user) || *user == job.bot {
            continue;
        }
        chat.members.insert(*user, record.status.clone());
    }

    // Only people in the chat, and not admins, carry tags.
    fresh_tags.retain(|u, _| {
        !chat.admins.contains_key(u)
            && matches!(
                chat.members.get(u),
                Some(MemberState::Member | MemberState::Restricted { .. })
            )
    });
    chat.tags = Some(fresh_tags);
    chat.topics = job
        .memory
        .topics
        .iter()
        .map(|(key, t)| (key.clone(), t.clone()))
        .collect();
    chat.invite_links = job
        .memory
        .invite_links
        .iter()
        .filter(|(_, l)| !l.revoked)
        .map(|(key, l)| (key.clone(), l.clone()))
        .collect();
    let mut commands_read = None;
    if kind == ChatType::Channel && job.desired.commands.is_some() {
        // Bots have no commands in channels: the Bot API refuses a channel
        // scope even for reading ("can't change commands in channel chats",
        // td BotCommandScope::get_bot_command_scope), so there is nothing to read.
        chat.commands = Some(Vec::new());
    } else if job.desired.commands.is_some() || job.memory.commands_set {
        chat.commands = match &job.memory.commands {
            Some(known) if !job.census => Some(known.clone()),
            _ => {
                let call = ApiCall::read("getMyCommands", None)
                    .param("scope", BotCommandScope::Chat { chat_id: id });
                let commands: Vec<wire::BotCommand> = client.call(&call).await?;
                let list: Vec<Command> = commands
                    .into_iter()
                    .map(|c| Command {
                        command: c.command,
                        description: c.description,
                    })
                    .collect();
                commands_read = Some(list.clone());
                Some(list)
            }
        };
    }
    Ok(ChatRead {
        chat,
        meta,
        seen,
        tags_seen,
        commands_read,
        profiles,
    })
}

fn is_unknown_user(e: &Error) -> bool {
    match &e.kind {
        super::error::ErrorKind::Api(a) => {
            let text = a.description.to_ascii_lowercase();
            [
                "user not found",
                "member not found",
                "user_not_participant",
                "participant_id_invalid",
            ]
            .iter()
            .any(|n| text.contains(n))
        }
        _ => false,
    }
}

/// Same status for deciding whether to ask: the kind, and a restriction's
/// permissions and end.
fn same_status(known: &MemberState, wanted: &MemberState) -> bool {
    match (known, wanted) {
        (
            MemberState::Restricted {
                permissions: a,
                until: ua,
            },
            MemberState::Restricted {
                permissions: b,
                until: ub,
            },
        ) => a == b && ua == ub,
        _ => std::mem::discriminant(known) == std::mem::discriminant(wanted),
    }
}

/// `group`, `supergroup`, `channel`; `None` for private chats and unknown types.
pub fn chat_type(text: &str) -> Option<ChatType> {
    match text {
        "group" => Some(ChatType::Group),
        "supergroup" => Some(ChatType::Supergroup),
        "channel" => Some(ChatType::Channel),
        _ => None,
    }
}

/// getChat → settings. Absent booleans are false and absent numbers 0; a
/// channel has no member permissions.
pub fn settings_of(info: &ChatFullInfo, kind: ChatType) -> ChatSettings {
    let flag = |v: Option<bool>| Some(v.unwrap_or(false));
    let seconds = |v: Option<i64>| Some(v.unwrap_or(0).clamp(0, i64::from(u32::MAX)) as u32);
    ChatSettings {
        title: Some(info.title.clone().unwrap_or_default()),
        description: Some(info.description.clone().unwrap_or_default()),
        permissions: if kind == ChatType::Channel {
            None
        } else {
            Some(
                info.permissions
                    .as_ref()
                    .map(wire::ChatPermissions::to_set)
                    .unwrap_or_default(),
            )
        },
        // Whose photo it is, only the store can tell (see `read_chat`).
        photo: Some(match &info.photo {
            None => Photo::None,
            Some(p) => Photo::Other {
                file_unique_id: p.big_file_unique_id.clone(),
            },
        }),
        forum: flag(info.is_forum),
        slow_mode: seconds(info.slow_mode_delay),
        protected_content: flag(info.has_protected_content),
        auto_delete: seconds(info.message_auto_delete_time),
        join_by_request: flag(info.join_by_request),
        join_to_send: flag(info.join_to_send_messages),
        hidden_members: flag(info.has_hidden_members),
        history_for_new_members: flag(info.has_visible_history),
    }
}

/// getChat's top pinned message; `by_bot` when `ours` says its sender is
/// the bot.
pub fn top_pin(info: &ChatFullInfo, ours: impl Fn(&wire::User) -> bool) -> Option<PinnedMessage> {
    info.pinned_message.as_ref().map(|m| PinnedMessage {
        text: m.text.clone().unwrap_or_default(),
        message_id: Some(m.message_id),
        by_bot: m.from.as_ref().is_some_and(&ours),
        notify: false,
    })
}

/// An administrator's seat and whether the bot may edit it; `None` for
/// non-admins. The owner holds every right of the chat type.
pub fn admin_seat(member: &ChatMember, kind: ChatType) -> Option<(AdminSeat, bool)> {
    match member {
        ChatMember::Owner(o) => {
            let mut rights: Rights = Right::all_for(kind);
            if o.is_anonymous {
                rights.insert(Right::Anonymous);
            }
            Some((
                AdminSeat {
                    rights,
                    title: o.custom_title.clone(),
                    owner: true,
                },
                false,
            ))
        }
        ChatMember::Administrator(a) => Some((
            AdminSeat {
                rights: a.rights(),
                title: a.custom_title.clone(),
                owner: false,
            },
            a.can_be_edited,
        )),
        _ => None,
    }
}

/// A non-admin's status; `None` for admins and unknown statuses. A
/// restriction on someone who is not in the chat reads as absent.
pub fn member_state(member: &ChatMember) -> Option<MemberState> {
    match member {
        ChatMember::Member(_) => Some(MemberState::Member),
        ChatMember::Restricted(r) if r.is_member => Some(MemberState::Restricted {
            permissions: r.permissions(),
            until: (r.until_date != 0).then_some(r.until_date),
        }),
        ChatMember::Restricted(_) | ChatMember::Left(_) => Some(MemberState::Absent),
        ChatMember::Banned(_) => Some(MemberState::Banned),
        ChatMember::Owner(_) | ChatMember::Administrator(_) | ChatMember::Other(_) => None,
    }
}

/// The status the store keeps: admins as members (see `SeenMember`).
pub fn store_status(member: &ChatMember) -> Option<MemberState> {
    match member {
        ChatMember::Owner(_) | ChatMember::Administrator(_) => Some(MemberState::Member),
        other => member_state(other),
    }
}
