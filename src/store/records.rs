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

use std::collections::BTreeMap;

use serde_json::Value;

use super::{ChatMemory, Store};
use crate::state::ChatId;

/// Fields of [`ChatMemory`] that are maps: one row per entry.
const MAP_FIELDS: &[&str] = &["topics", "invite_links", "personal_invites", "members"];
/// The row kind of a chat's scalar fields (the key is the field name).
pub const CHAT_KIND: &str = "chat";
/// The row kind of the member ledger.
pub const MEMBER_KIND: &str = "members";

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

/// The store as rows.
pub fn rows(store: &Store) -> Rows {
    let mut out = Rows::new();
    for (chat, memory) in &store.chats {
        let Value::Object(fields) = serde_json::to_value(memory).expect("the store serialises")
        else {
            continue;
        };
        for (field, value) in fields {
            if MAP_FIELDS.contains(&field.as_str()) {
                if let Value::Object(entries) = value {
                    for (key, entry) in entries {
                        out.insert((*chat, field.clone(), key), entry);
                    }
                }
            } else if !value.is_null() {
                out.insert((*chat, CHAT_KIND.to_string(), field), value);
            }
        }
    }
    out
}

/// A store from rows and the update offset. A row that does not fit the
/// current record types is an error naming it (the backend holds data a
/// newer orgform wrote, or someone edited it by hand).
pub fn from_rows(rows: &Rows, offset: Option<i64>) -> Result<Store, String> {
    let mut objects: BTreeMap<ChatId, serde_json::Map<String, Value>> = BTreeMap::new();
    for ((chat, kind, key), value) in rows {
        let object = objects.entry(*chat).or_default();
        if kind == CHAT_KIND {
            object.insert(key.clone(), value.clone());
        } else if MAP_FIELDS.contains(&kind.as_str()) {
            let map = object
                .entry(kind.clone())
                .or_insert_with(|| Value::Object(Default::default()));
            if let Value::Object(map) = map {
                map.insert(key.clone(), value.clone());
            }
        } else {
            return Err(format!(
                "unknown record kind {kind:?} (chat {chat}, key {key:?})"
            ));
        }
    }
    let mut store = Store {
        update_offset: offset,
        ..Store::default()
    };
    for (chat, object) in objects {
        let memory: ChatMemory = serde_json::from_value(Value::Object(object))
            .map_err(|e| format!("the records of chat {chat} do not fit: {e}"))?;
        store.chats.insert(chat, memory);
    }
    Ok(store)
}

/// What changed between the snapshot a process loaded and what it holds now.
pub fn delta(base: &Store, now: &Store) -> Delta {
    let before = rows(base);
    let after = rows(now);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::MemberState;
    use crate::store::{InviteLinkRecord, TopicRecord};

    fn topic(id: i64) -> TopicRecord {
        TopicRecord {
            thread_id: id,
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
            InviteLinkRecord {
                url: "https://t.me/+x".into(),
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
        assert_eq!(merged.chats[&-1].topics["a"].thread_id, 3);
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
}
