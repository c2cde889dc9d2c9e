//! What orgform must remember because the Bot API cannot list it: topic
//! thread ids, invite links the tool created, members seen (from
//! `chat_member` updates and getChatMember answers), the update offset.
//!
//! This module holds the data ([`Store`] is a snapshot of it) and the one
//! boundary every command goes through to remember it: [`backend::Backend`],
//! implemented by `store::sqlite` (the embedded default,
//! `<state-dir>/orgform.db`) and `store::postgres` (`--state postgres://…`).
//! Commands write back what they learned as a `records::Delta`, never a
//! snapshot. `store::file` reads the old `state.json` (imported once by
//! `store::legacy`, and used by `state export`/`import` as the JSON form).

pub mod backend;
pub mod file;
pub mod ledger;
pub mod legacy;
pub mod postgres;
pub mod records;
pub mod sqlite;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use backend::{Backend, Holder, LockGuard, RunRow, Shared, StoreError};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::state::folders::LiveFolder;
use crate::state::{ChatId, Command, InviteLink, MemberState, Topic, UserId};

/// The current store format. A newer file is refused, never overwritten.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Store {
    pub format_version: u32,
    /// Per chat id (as text, for JSON).
    #[serde(default)]
    pub chats: BTreeMap<ChatId, ChatMemory>,
    /// getUpdates offset: the next update id to ask for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_offset: Option<i64>,
    /// Chat folders orgform made or adopted (the user provider), by config
    /// key: Telegram's filter id, the folder's link, and its title and
    /// chats as last set or read. A plan finds a folder by this id, so a
    /// title changed in the config edits the folder (same link) instead of
    /// making another.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub folders: BTreeMap<String, LiveFolder>,
    /// How the snapshot was loaded from its backend (set by
    /// [`Backend::load`] and [`Backend::load_chats`]): what writing it back
    /// must know. Never part of the JSON form.
    #[serde(skip)]
    pub loaded: Option<records::Loaded>,
}

/// Two snapshots are equal when their records are, however they were
/// loaded.
impl PartialEq for Store {
    fn eq(&self, other: &Store) -> bool {
        self.format_version == other.format_version
            && self.chats == other.chats
            && self.update_offset == other.update_offset
            && self.folders == other.folders
    }
}

impl Eq for Store {}

impl Store {
    /// Chats orgform created, by config key.
    pub fn created_chats(&self) -> BTreeMap<String, ChatId> {
        self.chats
            .iter()
            .filter_map(|(id, m)| m.created_for.clone().map(|key| (key, *id)))
            .collect()
    }
}

impl Default for Store {
    fn default() -> Self {
        Store {
            format_version: FORMAT_VERSION,
            chats: BTreeMap::new(),
            update_offset: None,
            folders: BTreeMap::new(),
            loaded: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ChatMemory {
    /// Topics the tool created or adopted, by config key (the state's own
    /// topic type; a remembered topic always has its thread id).
    #[serde(default)]
    pub topics: BTreeMap<String, Topic>,
    /// Invite links the tool created, by config key (the state's own link
    /// type; a remembered link always has its url, and stays after it is
    /// revoked, marked so).
    #[serde(default)]
    pub invite_links: BTreeMap<String, InviteLink>,
    /// Personal invite links sent to declared members who are not in the chat.
    #[serde(default)]
    pub personal_invites: BTreeMap<UserId, InviteLink>,
    /// Users seen in this chat, with their last known status.
    #[serde(default)]
    pub members: BTreeMap<UserId, SeenMember>,
    /// Unix time the chat was last read in full.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_read: Option<i64>,
    /// orgform created this chat for the config key (the user provider),
    /// so a config that does not name its id yet still means this chat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_for: Option<String>,
    /// orgform set this chat's command list (so it reads it back even when
    /// the config stops managing commands, and can delete it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub commands_set: bool,
    /// The chat's command list as last read or set. Only the bot itself can
    /// change a chat's commands (there is no screen for it in Telegram), so
    /// later reads use this instead of asking again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commands: Option<Vec<Command>>,
    /// The chat photo orgform uploaded: its content hash and the id
    /// Telegram gave it, which is how a later read recognises it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo: Option<PhotoRecord>,
    /// The message orgform pinned, so that it can edit or re-pin it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned: Option<PinRecord>,
    /// Unix time an apply last finished in this chat. Until then every plan
    /// is a first run, which may not remove anyone without
    /// `--allow-removals` (reading alone does not count: a plan reads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoRecord {
    pub sha256: String,
    /// `big_file_unique_id` from getChat after the upload.
    pub file_unique_id: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinRecord {
    pub message_id: i64,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenMember {
    /// Last known status; admins are recorded as `Member` here (their seat
    /// is read fresh from getChatAdministrators every time).
    pub status: MemberState,
    /// The member tag last seen (plain and restricted members only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Unix time it was seen.
    pub at: i64,
    /// Where it was learned: "update", "getChatMember", "apply".
    pub source: String,
}

/// Where the state lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// An SQLite file (by default `<state-dir>/orgform.db`).
    Sqlite(PathBuf),
    /// A PostgreSQL database; `workspace` keys every row, so several orgs
    /// can share one database.
    Postgres { url: String, workspace: String },
}

impl Location {
    /// `--state` > `ORGFORM_STATE` > `<state-dir>/orgform.db`. Accepts
    /// `postgres://…` or `postgresql://…` (with an optional
    /// `workspace=NAME` query parameter, default `default`),
    /// `sqlite:PATH`, or a plain path to an SQLite file.
    pub fn choose(
        flag: Option<&str>,
        env: Option<&str>,
        state_dir: &Path,
    ) -> Result<Location, StoreError> {
        let chosen = flag.into_iter().chain(env).find(|v| !v.trim().is_empty());
        let Some(text) = chosen else {
            return Ok(Location::Sqlite(state_dir.join(sqlite::FILE_NAME)));
        };
        Location::parse(text.trim())
    }

    pub fn parse(text: &str) -> Result<Location, StoreError> {
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            let (base, query) = text.split_once('?').unwrap_or((text, ""));
            let mut workspace = "default".to_string();
            let mut kept = Vec::new();
            for pair in query.split('&').filter(|p| !p.is_empty()) {
                match pair.split_once('=') {
                    Some(("workspace", w)) => workspace = w.to_string(),
                    _ => kept.push(pair),
                }
            }
            if workspace.is_empty()
                || !workspace
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            {
                return Err(StoreError::Config(format!(
                    "the workspace name {workspace:?} is not valid. hint: letters, digits, '-', '_' and '.' only"
                )));
            }
            let url = if kept.is_empty() {
                base.to_string()
            } else {
                format!("{base}?{}", kept.join("&"))
            };
            return Ok(Location::Postgres { url, workspace });
        }
        if let Some(path) = text
            .strip_prefix("sqlite://")
            .or_else(|| text.strip_prefix("sqlite:"))
        {
            return Ok(Location::Sqlite(PathBuf::from(path)));
        }
        if text.contains("://") {
            return Err(StoreError::Config(format!(
                "unknown state backend in {:?}. hint: use postgres://… or a path to an SQLite file",
                redact_url(text)
            )));
        }
        Ok(Location::Sqlite(PathBuf::from(text)))
    }

    /// For messages: never the password.
    pub fn describe(&self) -> String {
        match self {
            Location::Sqlite(p) => p.display().to_string(),
            Location::Postgres { url, workspace } => {
                format!("{} (workspace {workspace})", redact_url(url))
            }
        }
    }
}

/// A URL with its password replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return url.to_string();
    };
    let user = userinfo.split(':').next().unwrap_or("");
    let shown = if userinfo.contains(':') {
        format!("{user}:***")
    } else {
        user.to_string()
    };
    let tail = tail
        .split('&')
        .map(|p| {
            if p.to_ascii_lowercase().contains("password=") {
                p.split_once('=')
                    .map_or(p.to_string(), |(k, _)| format!("{k}=***"))
            } else {
                p.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("&");
    format!("{scheme}://{shown}@{host}{tail}")
}

/// Open the backend at `location` (creating and migrating it as needed),
/// and import an old `state.json` and journal folder from `state_dir` on
/// first use. Returns the backend and notes for the user.
pub fn open(location: &Location, state_dir: &Path) -> Result<(Shared, Vec<String>), StoreError> {
    let backend: Shared = match location {
        Location::Sqlite(path) => Arc::new(sqlite::Sqlite::open_file(path)?),
        Location::Postgres { url, workspace } => open_postgres(url, workspace)?,
    };
    let notes = legacy::import_once(backend.as_ref(), state_dir)?;
    Ok((backend, notes))
}

fn open_postgres(url: &str, workspace: &str) -> Result<Shared, StoreError> {
    Ok(Arc::new(postgres::Postgres::connect(url, workspace)?))
}

impl Store {
    pub fn chat(&self, id: ChatId) -> Option<&ChatMemory> {
        self.chats.get(&id)
    }

    pub fn chat_mut(&mut self, id: ChatId) -> &mut ChatMemory {
        self.chats.entry(id).or_default()
    }

    /// Whether the store has never read this chat.
    pub fn never_read(&self, id: ChatId) -> bool {
        self.chats.get(&id).is_none_or(|c| c.last_read.is_none())
    }

    /// Whether orgform has never applied a plan to this chat.
    pub fn first_run(&self, id: ChatId) -> bool {
        self.chats.get(&id).is_none_or(|c| c.last_applied.is_none())
    }

    /// Record a user's status in a chat, unless the store already holds a
    /// newer observation. The tag is kept: use [`Store::see_tag`] for it.
    pub fn see_member(
        &mut self,
        chat: ChatId,
        user: UserId,
        status: MemberState,
        at: i64,
        source: &str,
    ) {
        let members = &mut self.chat_mut(chat).members;
        let tag = match members.get(&user) {
            Some(seen) if seen.at > at => return,
            Some(seen) => seen.tag.clone(),
            None => None,
        };
        // Someone who left or was banned has no tag when they come back.
        let tag =
            tag.filter(|_| matches!(status, MemberState::Member | MemberState::Restricted { .. }));
        members.insert(
            user,
            SeenMember {
                status,
                tag,
                at,
                source: source.to_string(),
            },
        );
    }

    /// Record a member's tag (`None` = no tag), unless the store holds a
    /// newer observation.
    pub fn see_tag(
        &mut self,
        chat: ChatId,
        user: UserId,
        tag: Option<String>,
        at: i64,
        source: &str,
    ) {
        let members = &mut self.chat_mut(chat).members;
        match members.get_mut(&user) {
            Some(seen) if seen.at > at => {}
            Some(seen) => {
                seen.tag = tag.filter(|t| !t.is_empty());
                seen.at = at;
                seen.source = source.to_string();
            }
            None => {
                let tag = tag.filter(|t| !t.is_empty());
                members.insert(
                    user,
                    SeenMember {
                        status: MemberState::Member,
                        tag,
                        at,
                        source: source.to_string(),
                    },
                );
            }
        }
    }
}
