//! The store as rows, and the merge that lets two processes write it.
//!
//! A backend keeps one row per thing remembered: a topic, a named invite
//! link, a personal invite, a seen member (the member ledger), and each
//! scalar of a chat (photo, pin, commands, last read, last applied). The
//! in-memory [`Store`] is only a snapshot; a command writes back a
//! [`Delta`]: the rows it changed since it loaded its snapshot, never the
//! snapshot itself. So a `plan` that ran next to an `apply` cannot wipe
//! what the apply recorded, and two runs that learned different things
//! both keep what they learned.
//!
//! **Gone people.** An offboarded person is asked about in every chat and
//! recorded absent in each: at 1,000 chats that was a thousand member rows
//! per person, most of the ledger. A person recorded "absent" (no tag) in
//! at least [`GONE_MIN_CHATS`] chats and in nine in ten of the chats they
//! were seen in is kept as one [`GONE_KIND`] row instead, naming the set
//! of chats it covers (a [`GONE_CHATS_KIND`] row, shared by everyone seen
//! in the same chats); their other records (the few chats an offboarding
//! has yet to clean up) stay rows of their own and win over the gone row.
//! Loading expands it back into per-chat absent records, so nothing above
//! this module sees the difference. A chat added later is not in the set,
//! so the person is asked about there like anyone else. The fold keeps
//! the newest observation's time and source for all the records it
//! replaces.
//!
//! **Partial snapshots.** A snapshot may hold the member records of only
//! some chats ([`Loaded::chats`]), for a plan that reads only those: every other
//! row is loaded, gone rows are expanded only into the chats loaded and
//! written back exactly as loaded, and nothing is folded (that needs every
//! chat's records).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ChatMemory, SeenMember, Store};
use crate::state::folders::LiveFolder;
use crate::state::{ChatId, MemberState, UserId};
use crate::state::{InviteLink, Topic};

/// The row kind of a chat's scalar fields (the key is the field name).
pub const CHAT_KIND: &str = "chat";
/// The row kind of the member ledger.
pub const MEMBER_KIND: &str = "members";
/// The row kind of a chat's topics (key: the config key).
pub const TOPIC_KIND: &str = "topics";
/// The row kind of a chat's named invite links (key: the config key).
pub const LINK_KIND: &str = "invite_links";
/// The row kind of a chat's personal invites (key: the user id).
pub const INVITE_KIND: &str = "personal_invites";
/// The row kind of a person known absent from a set of chats (chat
/// [`ORG_CHAT`], key: the user id).
pub const GONE_KIND: &str = "gone";
/// The row kind of a set of chats gone rows cover (chat [`ORG_CHAT`], key:
/// a digest of the set, value: the chat ids).
pub const GONE_CHATS_KIND: &str = "gone_chats";
/// The row kind of a chat folder orgform keeps (chat [`ORG_CHAT`], key:
/// the folder's config key, value: [`LiveFolder`]).
pub const FOLDER_KIND: &str = "folders";
/// The chat id of rows that belong to no one chat (no Telegram chat has
/// id 0).
pub const ORG_CHAT: ChatId = 0;
/// Fold a person into a gone row only when absent from at least this many
/// chats: below it the per-chat rows are about as small as the set row.
pub const GONE_MIN_CHATS: usize = 8;

/// Where a row lives: chat, kind (a map field of [`ChatMemory`] or
/// [`CHAT_KIND`]) and key (the map key or the field name).
pub type RowKey = (ChatId, String, String);

/// Every row of a store, by key.
pub type Rows = BTreeMap<RowKey, Value>;

/// What one process learned: rows to write, rows to delete, and the update
/// offset when it moved.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Delta {
    pub upserts: Vec<(RowKey, Value)>,
    pub deletes: Vec<RowKey>,
    pub offset: Option<i64>,
}

impl Delta {
    pub fn is_empty(&self) -> bool {
        self.upserts.is_empty() && self.deletes.is_empty() && self.offset.is_none()
    }
}

/// How a snapshot came out of its backend: what writing it back must know
/// besides its records (bookkeeping, not content: it takes no part in
/// comparing snapshots).
#[derive(Clone, Debug, Default)]
pub struct Loaded {
    /// The chats whose member records were loaded, when not all were (a
    /// partial snapshot).
    pub chats: Option<BTreeSet<ChatId>>,
    /// The gone rows and their chat sets as the backend holds them.
    pub org_rows: Vec<(RowKey, Value)>,
    /// Member rows the backend holds that the fold leaves out (absent
    /// records of people it now keeps as gone rows): writing back deletes
    /// them.
    pub folded_rows: Vec<RowKey>,
}

/// A gone row's value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Gone {
    /// The newest observation folded into it.
    at: i64,
    source: String,
    /// The key of its [`GONE_CHATS_KIND`] row.
    chats: String,
}

/// The gone rows a complete snapshot folds into.
#[derive(Default, PartialEq)]
struct Folded {
    people: BTreeMap<UserId, Gone>,
    sets: BTreeMap<String, Vec<ChatId>>,
}

/// Who in `store` is gone from at least [`GONE_MIN_CHATS`] chats and has
/// no other member record.
fn fold(store: &Store) -> Folded {
    struct Seen<'a> {
        /// Every chat with a record of the person.
        chats: Vec<ChatId>,
        absent: usize,
        newest: (i64, &'a str),
    }
    let mut people: HashMap<UserId, Seen> = HashMap::new();
    for (chat, memory) in &store.chats {
        for (user, seen) in &memory.members {
            let entry = people.entry(*user).or_insert(Seen {
                chats: Vec::new(),
                absent: 0,
                newest: (i64::MIN, ""),
            });
            entry.chats.push(*chat);
            if is_foldable(seen) {
                entry.absent += 1;
                entry.newest = entry.newest.max((seen.at, seen.source.as_str()));
            }
        }
    }
    let mut folded = Folded::default();
    let mut digests: HashMap<Vec<ChatId>, String> = HashMap::new();
    for (user, seen) in people {
        // Mostly gone: absent from nine in ten of the chats they were seen
        // in (an offboarded person still in the few chats being cleaned up).
        if seen.absent < GONE_MIN_CHATS || seen.absent * 10 < seen.chats.len() * 9 {
            continue;
        }
        let digest = digests
            .entry(seen.chats)
            .or_insert_with_key(|chats| set_digest(chats))
            .clone();
        folded.people.insert(
            user,
            Gone {
                at: seen.newest.0,
                source: seen.newest.1.to_string(),
                chats: digest,
            },
        );
    }
    for (chats, digest) in digests {
        folded.sets.insert(digest, chats);
    }
    folded
}

/// A record a gone row can stand for.
fn is_foldable(seen: &SeenMember) -> bool {
    seen.status == MemberState::Absent && seen.tag.is_none()
}

/// A short stable name for a set of chats (sorted ids).
fn set_digest(chats: &[ChatId]) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for chat in chats {
        hasher.update(chat.to_le_bytes());
    }
    let hash = hasher.finalize();
    hash[..8].iter().map(|b| format!("{b:02x}")).collect()
}

fn to_value<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("the store serialises")
}

/// The rows of one chat, leaving out the absent records of people folded
/// into gone rows.
fn chat_rows(chat: ChatId, memory: &ChatMemory, gone: &BTreeMap<UserId, Gone>, out: &mut Rows) {
    // Destructured in full so that a new field cannot be left unstored.
    let ChatMemory {
        topics,
        invite_links,
        personal_invites,
        members,
        last_read,
        created_for,
        commands_set,
        commands,
        photo,
        pinned,
        last_applied,
    } = memory;
    let mut put = |kind: &str, key: String, value: Value| {
        out.insert((chat, kind.to_string(), key), value);
    };
    for (key, topic) in topics {
        put(TOPIC_KIND, key.clone(), to_value(topic));
    }
    for (key, link) in invite_links {
        put(LINK_KIND, key.clone(), to_value(link));
    }
    for (user, link) in personal_invites {
        put(INVITE_KIND, user.to_string(), to_value(link));
    }
    for (user, seen) in members {
        if is_foldable(seen) && gone.contains_key(user) {
            continue;
        }
        put(MEMBER_KIND, user.to_string(), to_value(seen));
    }
    let scalars: [(&str, Option<Value>); 7] = [
        ("last_read", last_read.map(Value::from)),
        ("created_for", created_for.as_ref().map(to_value)),
        ("commands_set", commands_set.then_some(Value::Bool(true))),
        ("commands", commands.as_ref().map(to_value)),
        ("photo", photo.as_ref().map(to_value)),
        ("pinned", pinned.as_ref().map(to_value)),
        ("last_applied", last_applied.map(Value::from)),
    ];
    for (field, value) in scalars {
        if let Some(value) = value {
            put(CHAT_KIND, field.to_string(), value);
        }
    }
}

/// The rows that belong to no one chat: gone people and their chat sets.
fn org_rows(folded: &Folded, out: &mut Rows) {
    for (user, gone) in &folded.people {
        out.insert(
            (ORG_CHAT, GONE_KIND.to_string(), user.to_string()),
            to_value(gone),
        );
    }
    for (digest, chats) in &folded.sets {
        out.insert(
            (ORG_CHAT, GONE_CHATS_KIND.to_string(), digest.clone()),
            to_value(chats),
        );
    }
}

fn is_partial(store: &Store) -> bool {
    store.loaded.as_ref().is_some_and(|l| l.chats.is_some())
}

/// The fold of a complete snapshot; a partial one folds nothing.
fn folded(store: &Store) -> Folded {
    if is_partial(store) {
        Folded::default()
    } else {
        fold(store)
    }
}

/// The rows that belong to no one chat, as writing `store` back would
/// leave them: a partial snapshot's as loaded, a complete one's as folded.
fn org_rows_of(store: &Store, folded: &Folded, out: &mut Rows) {
    match &store.loaded {
        Some(Loaded {
            chats: Some(_),
            org_rows,
            ..
        }) => out.extend(org_rows.iter().cloned()),
        _ => org_rows(folded, out),
    }
}

/// After writing `store` back: the backend now holds its rows, folded.
pub fn settle(store: &mut Store) {
    if is_partial(store) {
        return;
    }
    let mut rows = Rows::new();
    org_rows(&fold(store), &mut rows);
    store.loaded = Some(Loaded {
        chats: None,
        org_rows: rows.into_iter().collect(),
        folded_rows: Vec::new(),
    });
}

/// The store as rows.
pub fn rows(store: &Store) -> Rows {
    let folded = folded(store);
    let mut out = Rows::new();
    for (chat, memory) in &store.chats {
        chat_rows(*chat, memory, &folded.people, &mut out);
    }
    org_rows_of(store, &folded, &mut out);
    folder_rows(store, &mut out);
    out
}

/// The folder rows of a snapshot (every snapshot holds all of them: they
/// are few, and no partial load leaves them out).
fn folder_rows(store: &Store, out: &mut Rows) {
    for (key, folder) in &store.folders {
        out.insert(
            (ORG_CHAT, FOLDER_KIND.to_string(), key.clone()),
            to_value(folder),
        );
    }
}

/// The folder row of `key` as `store` holds it: an upsert, or a delete
/// when the store no longer has the folder. What an apply writes with the
/// journal step that made, edited or deleted the folder.
pub fn folder_delta(store: &Store, key: &str) -> Delta {
    let row = (ORG_CHAT, FOLDER_KIND.to_string(), key.to_string());
    match store.folders.get(key) {
        Some(folder) => Delta {
            upserts: vec![(row, to_value(folder))],
            ..Delta::default()
        },
        None => Delta {
            deletes: vec![row],
            ..Delta::default()
        },
    }
}

/// Builds a [`Store`] from rows as a backend reads them, parsing each
/// row's text once, straight into its record type.
#[derive(Default)]
pub struct Loader {
    chats: BTreeMap<ChatId, (serde_json::Map<String, Value>, ChatMemory)>,
    gone: Vec<(UserId, Gone)>,
    sets: BTreeMap<String, Vec<ChatId>>,
    folders: BTreeMap<String, LiveFolder>,
    org_rows: Vec<(RowKey, Value)>,
    /// Member rows that say "absent" (candidates for the fold).
    absent_rows: Vec<(ChatId, UserId)>,
}

impl Loader {
    /// Add one row; an error names it.
    pub fn add(&mut self, chat: ChatId, kind: &str, key: &str, text: &str) -> Result<(), String> {
        let bad = |e: &dyn std::fmt::Display| {
            format!("record {kind} {key:?} of chat {chat} does not fit: {e}")
        };
        let user = || key.parse::<UserId>().map_err(|e| bad(&e));
        if chat == ORG_CHAT && kind == FOLDER_KIND {
            let folder: LiveFolder = serde_json::from_str(text).map_err(|e| bad(&e))?;
            self.folders.insert(key.to_string(), folder);
            return Ok(());
        }
        if chat == ORG_CHAT {
            let value: Value = serde_json::from_str(text).map_err(|e| bad(&e))?;
            match kind {
                GONE_KIND => {
                    let gone: Gone = serde_json::from_value(value.clone()).map_err(|e| bad(&e))?;
                    self.gone.push((user()?, gone));
                }
                GONE_CHATS_KIND => {
                    let chats: Vec<ChatId> =
                        serde_json::from_value(value.clone()).map_err(|e| bad(&e))?;
                    self.sets.insert(key.to_string(), chats);
                }
                _ => return Err(format!("unknown record kind {kind:?} (key {key:?})")),
            }
            self.org_rows
                .push(((chat, kind.to_string(), key.to_string()), value));
            return Ok(());
        }
        let (scalars, memory) = self.chats.entry(chat).or_default();
        match kind {
            MEMBER_KIND => {
                let seen: SeenMember = serde_json::from_str(text).map_err(|e| bad(&e))?;
                let user = user()?;
                if is_foldable(&seen) {
                    self.absent_rows.push((chat, user));
                }
                memory.members.insert(user, seen);
            }
            TOPIC_KIND => {
                let topic: Topic = serde_json::from_str(text).map_err(|e| bad(&e))?;
                if topic.thread_id.is_none() {
                    return Err(bad(&"a remembered topic has no thread_id"));
                }
                memory.topics.insert(key.to_string(), topic);
            }
            LINK_KIND => {
                let link = remembered_link(text).map_err(|e| bad(&e))?;
                memory.invite_links.insert(key.to_string(), link);
            }
            INVITE_KIND => {
                let link = remembered_link(text).map_err(|e| bad(&e))?;
                memory.personal_invites.insert(user()?, link);
            }
            CHAT_KIND => {
                let value: Value = serde_json::from_str(text).map_err(|e| bad(&e))?;
                scalars.insert(key.to_string(), value);
            }
            _ => {
                return Err(format!(
                    "unknown record kind {kind:?} (chat {chat}, key {key:?})"
                ));
            }
        }
        Ok(())
    }

    /// The store: every chat's records, gone people expanded into the
    /// chats loaded. `partial` names the chats whose member records were
    /// loaded when not all were.
    pub fn finish(
        self,
        offset: Option<i64>,
        partial: Option<BTreeSet<ChatId>>,
    ) -> Result<Store, String> {
        let mut store = Store {
            update_offset: offset,
            folders: self.folders,
            ..Store::default()
        };
        for (chat, (scalars, mut memory)) in self.chats {
            if !scalars.is_empty() {
                let fields: ChatMemory = serde_json::from_value(Value::Object(scalars))
                    .map_err(|e| format!("the records of chat {chat} do not fit: {e}"))?;
                memory = ChatMemory {
                    topics: memory.topics,
                    invite_links: memory.invite_links,
                    personal_invites: memory.personal_invites,
                    members: memory.members,
                    ..fields
                };
            }
            store.chats.insert(chat, memory);
        }
        for (user, gone) in self.gone {
            let chats = self.sets.get(&gone.chats).ok_or_else(|| {
                format!(
                    "the gone record of user {user} names a set of chats {:?} the state does not hold",
                    gone.chats
                )
            })?;
            for chat in chats {
                if partial.as_ref().is_some_and(|p| !p.contains(chat)) {
                    continue;
                }
                let members = &mut store.chats.entry(*chat).or_default().members;
                // A per-chat record wins: the person is (or was seen)
                // somewhere other than gone there.
                if members.contains_key(&user) {
                    continue;
                }
                members.insert(
                    user,
                    SeenMember {
                        status: MemberState::Absent,
                        tag: None,
                        at: gone.at,
                        source: gone.source.clone(),
                    },
                );
            }
        }
        // Rows a complete snapshot would write differently: the fold of
        // what was loaded may differ from the backend's (a state written
        // before gone rows existed, or people who came back).
        let mut folded_rows = Vec::new();
        if partial.is_none() && !self.absent_rows.is_empty() {
            let fold = fold(&store);
            for (chat, user) in self.absent_rows {
                if fold.people.contains_key(&user) {
                    folded_rows.push((chat, MEMBER_KIND.to_string(), user.to_string()));
                }
            }
        }
        store.loaded = Some(Loaded {
            chats: partial,
            org_rows: self.org_rows,
            folded_rows,
        });
        Ok(store)
    }
}

/// A store from rows and the update offset. A row that does not fit the
/// current record types is an error naming it (the backend holds data a
/// newer orgform wrote, or someone edited it by hand).
pub fn from_rows(rows: &Rows, offset: Option<i64>) -> Result<Store, String> {
    let mut loader = Loader::default();
    for ((chat, kind, key), value) in rows {
        loader.add(*chat, kind, key, &value.to_string())?;
    }
    loader.finish(offset, None)
}

/// What changed between the snapshot a process loaded and what it holds
/// now. Chats whose records are equal (and whose people folded the same
/// way) are skipped without turning them into rows.
pub fn delta(base: &Store, now: &Store) -> Delta {
    // The fold depends on member records only: when none changed and the
    // backend already holds the base folded, its gone rows stay right and
    // nothing needs folding (member rows then compare equal either way).
    let settled = matches!(
        &base.loaded,
        Some(Loaded { chats: None, folded_rows, .. }) if folded_rows.is_empty()
    );
    let members_same = || {
        base.chats.len() == now.chats.len()
            && base
                .chats
                .iter()
                .zip(&now.chats)
                .all(|((a, x), (b, y))| a == b && x.members == y.members)
    };
    let unfolded = settled && members_same();
    let (fold_base, fold_now) = if unfolded {
        (Folded::default(), Folded::default())
    } else {
        (folded(base), folded(now))
    };
    // People whose gone row differs: their member rows differ in every chat
    // they have a record in.
    let refolded: BTreeSet<UserId> = if fold_base.people == fold_now.people {
        BTreeSet::new()
    } else {
        fold_base
            .people
            .keys()
            .chain(fold_now.people.keys())
            .filter(|u| fold_base.people.get(u) != fold_now.people.get(u))
            .copied()
            .collect()
    };
    let touches = |m: Option<&ChatMemory>| {
        !refolded.is_empty() && m.is_some_and(|m| m.members.keys().any(|u| refolded.contains(u)))
    };
    let mut before = Rows::new();
    let mut after = Rows::new();
    let chats: BTreeSet<ChatId> = base.chats.keys().chain(now.chats.keys()).copied().collect();
    for chat in chats {
        let (b, n) = (base.chats.get(&chat), now.chats.get(&chat));
        if b == n && !touches(b) {
            continue;
        }
        if let Some(b) = b {
            chat_rows(chat, b, &fold_base.people, &mut before);
        }
        if let Some(n) = n {
            chat_rows(chat, n, &fold_now.people, &mut after);
        }
    }
    // What the backend holds, where the snapshot knows it.
    match &base.loaded {
        _ if unfolded => {}
        Some(loaded) => {
            before.extend(loaded.org_rows.iter().cloned());
            for key in &loaded.folded_rows {
                before.entry(key.clone()).or_insert(Value::Null);
            }
        }
        None => org_rows(&fold_base, &mut before),
    }
    if !unfolded {
        org_rows_of(now, &fold_now, &mut after);
    }
    if base.folders != now.folders {
        folder_rows(base, &mut before);
        folder_rows(now, &mut after);
    }
    let upserts = after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let deletes = before
        .keys()
        .filter(|k| !after.contains_key(*k))
        .cloned()
        .collect();
    let offset = (now.update_offset != base.update_offset)
        .then_some(now.update_offset)
        .flatten();
    Delta {
        upserts,
        deletes,
        offset,
    }
}
/// Whether a learned row replaces the one a backend holds now. The member
/// ledger keeps the newer observation (its `at`); other rows are what this
/// process did or saw last, and win.
pub fn replaces(kind: &str, current: Option<&Value>, learned: &Value) -> bool {
    let Some(current) = current else {
        return true;
    };
    if kind != MEMBER_KIND {
        return true;
    }
    let at = |v: &Value| v.get("at").and_then(Value::as_i64).unwrap_or(i64::MIN);
    at(learned) >= at(current)
}

/// The update offset to keep: the further one (updates before it were
/// already folded into the ledger by whoever moved it).
pub fn merged_offset(current: Option<i64>, learned: i64) -> i64 {
    current.map_or(learned, |c| c.max(learned))
}

/// Apply a delta to rows in memory (what each backend does in a
/// transaction; used by tests and by `state import`).
pub fn apply(rows: &mut Rows, offset: &mut Option<i64>, delta: &Delta) {
    for (key, value) in &delta.upserts {
        if replaces(&key.1, rows.get(key), value) {
            rows.insert(key.clone(), value.clone());
        }
    }
    for key in &delta.deletes {
        rows.remove(key);
    }
    if let Some(o) = delta.offset {
        *offset = Some(merged_offset(*offset, o));
    }
}

/// A link row: the state's link type, which the store holds only with its
/// url.
fn remembered_link(text: &str) -> Result<InviteLink, String> {
    let link: InviteLink = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if link.url.is_none() {
        return Err("a remembered invite link has no url".into());
    }
    Ok(link)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::MemberState;

    fn topic(id: i64) -> crate::state::Topic {
        crate::state::Topic {
            thread_id: Some(id),
            name: format!("t{id}"),
            icon_color: None,
            closed: false,
        }
    }

    #[test]
    fn rows_round_trip() {
        let mut s = Store {
            update_offset: Some(9),
            ..Store::default()
        };
        s.chat_mut(-1).topics.insert("a".into(), topic(3));
        s.chat_mut(-1).last_applied = Some(5);
        s.see_member(-1, 42, MemberState::Member, 7, "update");
        s.chat_mut(-2).invite_links.insert(
            "x".into(),
            crate::state::InviteLink {
                url: Some("https://t.me/+x".into()),
                name: "x".into(),
                expires: None,
                member_limit: None,
                join_request: false,
                revoked: false,
            },
        );
        let r = rows(&s);
        assert_eq!(from_rows(&r, Some(9)).unwrap(), s);
    }

    fn folder(id: i32, title: &str, chats: &[ChatId]) -> LiveFolder {
        LiveFolder {
            filter_id: id,
            title: title.into(),
            chats: chats.iter().copied().collect(),
            link: Some(format!("https://t.me/addlist/f{id}")),
            link_chats: None,
        }
    }

    #[test]
    fn folders_are_rows_of_their_own_written_only_when_they_change() {
        let mut s = Store::default();
        s.folders.insert("eng".into(), folder(2, "Eng", &[-1, -2]));
        s.see_member(-1, 42, MemberState::Member, 7, "update");
        let r = rows(&s);
        assert_eq!(
            r[&(ORG_CHAT, FOLDER_KIND.to_string(), "eng".to_string())]["filter_id"],
            2
        );
        let loaded = from_rows(&r, None).unwrap();
        assert_eq!(loaded, s);
        // A partial load keeps them (they belong to no chat) and writing
        // it back unchanged writes nothing.
        let mut loader = Loader::default();
        for ((chat, kind, key), value) in &r {
            loader.add(*chat, kind, key, &value.to_string()).unwrap();
        }
        let partial = loader.finish(None, Some(BTreeSet::from([-2]))).unwrap();
        assert_eq!(partial.folders, s.folders);
        assert!(delta(&partial, &partial.clone()).is_empty());

        // A renamed folder is one upsert; a forgotten one one delete; a
        // writer that did not touch folders leaves them alone.
        let mut renamed = loaded.clone();
        renamed.folders.get_mut("eng").unwrap().title = "Engineering".into();
        let d = delta(&loaded, &renamed);
        assert_eq!(d.upserts.len(), 1, "{d:?}");
        assert!(d.deletes.is_empty());
        let mut member_only = loaded.clone();
        member_only.see_member(-2, 43, MemberState::Member, 8, "update");
        assert!(
            delta(&loaded, &member_only)
                .upserts
                .iter()
                .all(|(k, _)| k.1 != FOLDER_KIND)
        );
        let (mut db, mut offset) = (r.clone(), None);
        apply(&mut db, &mut offset, &d);
        apply(&mut db, &mut offset, &delta(&loaded, &member_only));
        let merged = from_rows(&db, None).unwrap();
        assert_eq!(merged.folders["eng"].title, "Engineering");
        let mut gone = merged.clone();
        gone.folders.clear();
        let d = delta(&merged, &gone);
        assert_eq!(
            d.deletes,
            [(ORG_CHAT, FOLDER_KIND.to_string(), "eng".to_string())]
        );
    }

    #[test]
    fn a_folder_row_that_does_not_fit_is_named() {
        let mut loader = Loader::default();
        let err = loader
            .add(ORG_CHAT, FOLDER_KIND, "eng", r#"{"title": 3}"#)
            .unwrap_err();
        assert!(err.contains("folders \"eng\""), "{err}");
    }

    #[test]
    fn two_writers_keep_what_each_learned() {
        let base = Store::default();
        // An apply creates a topic; a plan next to it sees a member.
        let mut apply_view = base.clone();
        apply_view.chat_mut(-1).topics.insert("a".into(), topic(3));
        let mut plan_view = base.clone();
        plan_view.see_member(-1, 42, MemberState::Member, 7, "update");
        plan_view.update_offset = Some(10);

        let (mut db, mut offset) = (Rows::new(), None);
        apply(&mut db, &mut offset, &delta(&base, &apply_view));
        apply(&mut db, &mut offset, &delta(&base, &plan_view));
        let merged = from_rows(&db, offset).unwrap();
        assert_eq!(merged.chats[&-1].topics["a"].thread_id, Some(3));
        assert_eq!(merged.chats[&-1].members[&42].status, MemberState::Member);
        assert_eq!(merged.update_offset, Some(10));

        // An older observation of a member does not replace a newer one, and
        // an offset never goes back.
        let mut stale = base.clone();
        stale.see_member(-1, 42, MemberState::Banned, 3, "getChatMember");
        stale.update_offset = Some(4);
        apply(&mut db, &mut offset, &delta(&base, &stale));
        let merged = from_rows(&db, offset).unwrap();
        assert_eq!(merged.chats[&-1].members[&42].status, MemberState::Member);
        assert_eq!(merged.update_offset, Some(10));
    }

    #[test]
    fn an_unchanged_snapshot_writes_nothing() {
        let mut s = Store::default();
        s.chat_mut(-1).topics.insert("a".into(), topic(3));
        assert!(delta(&s, &s.clone()).is_empty());
        let mut gone = s.clone();
        gone.chat_mut(-1).topics.clear();
        let d = delta(&s, &gone);
        assert_eq!(d.deletes, vec![(-1, "topics".to_string(), "a".to_string())]);
    }

    /// A store where user 7 is absent from chats -1..=-n, user 8 a member
    /// of -1, and chat -1 has a topic.
    fn with_gone(n: i64, at: impl Fn(i64) -> i64) -> Store {
        let mut s = Store::default();
        for chat in 1..=n {
            s.see_member(-chat, 7, MemberState::Absent, at(chat), "getChatMember");
        }
        s.see_member(-1, 8, MemberState::Member, 5, "update");
        s.chat_mut(-1).topics.insert("a".into(), topic(3));
        s
    }

    /// What a backend would load from `rows`: with `chats`, only their
    /// member records.
    fn load(rows: &Rows, chats: Option<BTreeSet<ChatId>>) -> Store {
        let mut loader = Loader::default();
        for ((chat, kind, key), value) in rows {
            if kind == MEMBER_KIND && chats.as_ref().is_some_and(|c| !c.contains(chat)) {
                continue;
            }
            loader.add(*chat, kind, key, &value.to_string()).unwrap();
        }
        loader.finish(None, chats).unwrap()
    }

    fn member_rows_of(rows: &Rows, user: UserId) -> usize {
        rows.keys()
            .filter(|(_, kind, key)| kind == MEMBER_KIND && *key == user.to_string())
            .count()
    }

    #[test]
    fn a_person_gone_from_many_chats_is_one_row_and_loads_back() {
        let s = with_gone(10, |_| 40);
        let r = rows(&s);
        assert_eq!(member_rows_of(&r, 7), 0);
        assert_eq!(member_rows_of(&r, 8), 1);
        let gone: Vec<_> = r.keys().filter(|k| k.1 == GONE_KIND).collect();
        assert_eq!(
            gone,
            vec![&(ORG_CHAT, GONE_KIND.to_string(), "7".to_string())]
        );
        assert_eq!(r.keys().filter(|k| k.1 == GONE_CHATS_KIND).count(), 1);
        assert_eq!(from_rows(&r, None).unwrap(), s);
        // Rows of 10 absent records became two.
        assert_eq!(r.len(), 1 + 1 + 2);
    }

    #[test]
    fn the_fold_keeps_the_newest_observation() {
        let s = with_gone(10, |chat| 100 + chat);
        let loaded = from_rows(&rows(&s), None).unwrap();
        for chat in 1..=10 {
            let seen = &loaded.chats[&-chat].members[&7];
            assert_eq!(seen.status, MemberState::Absent);
            assert_eq!(seen.at, 110);
        }
    }

    #[test]
    fn only_people_mostly_gone_fold_and_their_other_records_stay_rows() {
        // Still in one chat of eleven (being offboarded): folded, and that
        // chat's record is a row of its own.
        let mut s = with_gone(10, |_| 40);
        s.see_member(-11, 7, MemberState::Member, 41, "update");
        assert_eq!(member_rows_of(&rows(&s), 7), 1);
        assert_eq!(from_rows(&rows(&s), None).unwrap(), s);
        // In five chats of fifteen, or absent from too few: rows as before.
        let mut s = with_gone(10, |_| 40);
        for chat in 11..=15 {
            s.see_member(-chat, 7, MemberState::Member, 41, "update");
        }
        assert_eq!(member_rows_of(&rows(&s), 7), 15);
        let s = with_gone(GONE_MIN_CHATS as i64 - 1, |_| 40);
        assert_eq!(member_rows_of(&rows(&s), 7), GONE_MIN_CHATS - 1);
        assert!(!rows(&s).keys().any(|k| k.1 == GONE_KIND));
    }

    #[test]
    fn a_per_chat_record_wins_over_the_gone_row_and_a_new_chat_is_not_covered() {
        let s = with_gone(10, |_| 40);
        let mut db = rows(&s);
        let mut offset = None;
        // The person rejoins chat -3 (an update another writer recorded).
        let mut back = s.clone();
        back.see_member(-3, 7, MemberState::Member, 50, "update");
        apply(&mut db, &mut offset, &delta(&s, &back));
        let loaded = load(&db, None);
        assert_eq!(loaded.chats[&-3].members[&7].status, MemberState::Member);
        assert_eq!(loaded.chats[&-4].members[&7].status, MemberState::Absent);
        assert_eq!(loaded, back);
        // A chat the fold did not cover knows nothing about them.
        assert!(
            loaded
                .chats
                .get(&-20)
                .is_none_or(|c| !c.members.contains_key(&7))
        );
        // A per-chat row wins whatever its age (the person is somewhere
        // other than gone there).
        let mut db = rows(&s);
        db.insert(
            (-3, MEMBER_KIND.to_string(), "7".to_string()),
            to_value(&SeenMember {
                status: MemberState::Member,
                tag: None,
                at: 30,
                source: "update".into(),
            }),
        );
        assert_eq!(
            load(&db, None).chats[&-3].members[&7].status,
            MemberState::Member
        );
    }

    #[test]
    fn a_state_written_before_the_fold_is_folded_on_the_next_write() {
        let s = with_gone(10, |_| 40);
        // The old form: one member row per chat.
        let mut old = Rows::new();
        for chat in 1..=10 {
            old.insert(
                (-chat, MEMBER_KIND.to_string(), "7".to_string()),
                to_value(&SeenMember {
                    status: MemberState::Absent,
                    tag: None,
                    at: 40,
                    source: "getChatMember".into(),
                }),
            );
        }
        old.insert(
            (-1, MEMBER_KIND.to_string(), "8".to_string()),
            to_value(&SeenMember {
                status: MemberState::Member,
                tag: None,
                at: 5,
                source: "update".into(),
            }),
        );
        old.insert(
            (-1, TOPIC_KIND.to_string(), "a".to_string()),
            to_value(&topic(3)),
        );
        let base = load(&old, None);
        assert_eq!(base, s);
        // Nothing changed, but writing back folds it.
        let d = delta(&base, &base.clone());
        assert_eq!(d.deletes.len(), 10);
        let (mut db, mut offset) = (old.clone(), None);
        apply(&mut db, &mut offset, &d);
        assert_eq!(db, rows(&s));
        assert_eq!(load(&db, None), s);
        // Once written, the next write has nothing to do.
        let mut written = base.clone();
        settle(&mut written);
        assert!(delta(&written, &written.clone()).is_empty());
        // A change outside the member records writes just that.
        let mut read = written.clone();
        read.chat_mut(-2).last_read = Some(99);
        let d = delta(&written, &read);
        assert!(d.deletes.is_empty());
        assert_eq!(
            d.upserts,
            vec![(
                (-2, CHAT_KIND.to_string(), "last_read".to_string()),
                Value::from(99)
            )]
        );
        // A member record changed: the gone row follows.
        let mut seen = written.clone();
        seen.see_member(-2, 7, MemberState::Absent, 45, "getChatMember");
        let d = delta(&written, &seen);
        assert_eq!(d.upserts.len(), 1, "{:?}", d.upserts);
        assert_eq!(d.upserts[0].0.1, GONE_KIND);
    }

    #[test]
    fn a_partial_snapshot_sees_what_a_full_one_sees_in_its_chats_and_writes_only_changes() {
        let mut s = with_gone(10, |_| 40);
        s.see_member(-5, 9, MemberState::Banned, 6, "apply");
        let db = rows(&s);
        let full = load(&db, None);
        let part = load(&db, Some(BTreeSet::from([-1, -5])));
        for chat in [-1, -5] {
            assert_eq!(part.chats[&chat], full.chats[&chat]);
        }
        // Other chats: every record but their members.
        assert!(part.chats.get(&-2).is_none_or(|c| c.members.is_empty()));
        assert_eq!(part.chats[&-1].topics, full.chats[&-1].topics);
        // Unchanged: nothing to write.
        assert!(delta(&part, &part.clone()).is_empty());
        // A change in a loaded chat and a member learned elsewhere (an
        // update) are written; nothing else is touched.
        let mut now = part.clone();
        now.see_member(-5, 9, MemberState::Absent, 60, "getChatMember");
        now.see_member(-2, 8, MemberState::Member, 61, "update");
        let d = delta(&part, &now);
        assert!(d.deletes.is_empty(), "{:?}", d.deletes);
        let keys: Vec<_> = d.upserts.iter().map(|(k, _)| k.clone()).collect();
        assert_eq!(
            keys,
            vec![
                (-5, MEMBER_KIND.to_string(), "9".to_string()),
                (-2, MEMBER_KIND.to_string(), "8".to_string()),
            ]
            .into_iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
        );
        let (mut db2, mut offset) = (db.clone(), None);
        apply(&mut db2, &mut offset, &d);
        let mut expected = s.clone();
        expected.see_member(-5, 9, MemberState::Absent, 60, "getChatMember");
        expected.see_member(-2, 8, MemberState::Member, 61, "update");
        assert_eq!(load(&db2, None), expected);
    }
}
