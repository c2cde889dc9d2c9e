//! `orgform export access`: the effective access matrix — one row per
//! person and chat with membership, admin rights, title, restriction and
//! the why-trace, and (when live state is given) what Telegram shows beside
//! it — as CSV, JSON or Markdown.
//!
//! Pure: the model and the live state come in, text goes out. CSV cells
//! that a spreadsheet would run as a formula (starting with `=`, `+`, `-`
//! or `@`) are neutralised with a leading `'`.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::json;

use crate::access::{Access, why_of};
use crate::model::Model;
use crate::state::{ChatId, ChatState, LiveState, MemberState, MembershipMode, UserId};

/// The JSON format; bumped on incompatible changes.
pub const FORMAT_VERSION: u32 = 1;

/// What Telegram shows for one person in one chat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LiveCell {
    /// owner, admin, member, restricted, banned, absent, unknown (the Bot
    /// API cannot list members), unreadable (the chat could not be read).
    pub status: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rights: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// yes, no, or unknown.
    pub matches: String,
}

/// One person in one chat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Row {
    /// The handle, or the user id for people the config does not know.
    pub person: String,
    pub telegram_id: UserId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    pub chat: String,
    pub chat_id: ChatId,
    pub membership: MembershipMode,
    /// admin, member, restricted, banned, removed; empty when the config says nothing.
    pub access: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rights: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What a restricted member may do, and until when.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restriction: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub why: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveCell>,
}

/// The matrix: for each person (by handle) and chat, the declared access;
/// with `live`, also people Telegram shows that the config does not declare.
pub fn matrix(model: &Model, live: Option<&LiveState>) -> Vec<Row> {
    let desired = &model.desired;
    let mut rows = Vec::new();
    for (key, chat) in &desired.state.chats {
        let live_chat = live.and_then(|l| l.state.chats.get(key));
        let unreadable = live.is_some_and(|l| l.meta.get(key).is_some_and(|m| m.error.is_some()));
        let mut users: BTreeSet<UserId> = chat
            .admins
            .keys()
            .chain(chat.members.keys())
            .copied()
            .collect();
        if let Some(l) = live_chat {
            users.extend(l.admins.keys());
            users.extend(
                l.members
                    .iter()
                    .filter(|(_, m)| **m != MemberState::Absent)
                    .map(|(u, _)| *u),
            );
        }
        for uid in users {
            let handle = desired.handle(uid);
            let person = model.config.people.get(&handle);
            let mut row = Row {
                person: handle.clone(),
                telegram_id: uid,
                name: person.and_then(|p| p.name.clone()),
                department: person.and_then(|p| p.department.clone()),
                chat: key.clone(),
                chat_id: chat.id,
                membership: chat.membership,
                access: String::new(),
                rights: Vec::new(),
                title: None,
                restriction: None,
                why: Vec::new(),
                live: None,
            };
            if let Some(access) = Access::of(chat, uid) {
                row.access = access.status().into();
                match &access {
                    Access::Admin { rights, title } => {
                        row.rights = rights.iter().map(|r| r.name().to_string()).collect();
                        row.title = title.clone();
                    }
                    Access::Restricted { permissions, until } => {
                        row.restriction = Some(restriction_text(permissions, *until));
                    }
                    _ => {}
                }
            }
            row.why = why_of(desired, key, uid).to_vec();
            if live.is_some() {
                row.live = Some(live_cell(chat, live_chat, unreadable, uid));
            }
            rows.push(row);
        }
    }
    rows.sort_by(|a, b| {
        (&a.person, a.telegram_id, &a.chat).cmp(&(&b.person, b.telegram_id, &b.chat))
    });
    rows
}

fn restriction_text(permissions: &crate::state::Permissions, until: Option<i64>) -> String {
    let may = if permissions.is_empty() {
        "nothing (read-only)".to_string()
    } else {
        permissions
            .iter()
            .map(|p| p.name())
            .collect::<Vec<_>>()
            .join(" ")
    };
    match until {
        Some(t) => format!("may: {may}; until {}", crate::state::time::instant_text(t)),
        None => format!("may: {may}"),
    }
}

fn live_cell(
    desired: &ChatState,
    live: Option<&ChatState>,
    unreadable: bool,
    uid: UserId,
) -> LiveCell {
    let unknown = |status: &str| LiveCell {
        status: status.into(),
        rights: vec![],
        title: None,
        matches: "unknown".into(),
    };
    if unreadable {
        return unknown("unreadable");
    }
    let Some(live) = live else {
        return unknown("unknown");
    };
    let want_admin = desired.admins.get(&uid);
    let want = desired.members.get(&uid);
    if let Some(seat) = live.admins.get(&uid) {
        let matches = match want_admin {
            Some(w) => {
                seat.owner
                    || (w.rights == seat.rights && (w.title.is_none() || w.title == seat.title))
            }
            None => false,
        };
        return LiveCell {
            status: if seat.owner {
                "owner".into()
            } else {
                "admin".into()
            },
            rights: seat.rights.iter().map(|r| r.name().to_string()).collect(),
            title: seat.title.clone(),
            matches: yes_no(matches),
        };
    }
    let Some(have) = live.members.get(&uid) else {
        // The Bot API cannot list members: someone not seen may still be there.
        return unknown("unknown");
    };
    let (status, matches) = match have {
        MemberState::Member => (
            "member",
            want_admin.is_none() && matches!(want, Some(MemberState::Member)),
        ),
        MemberState::Restricted { permissions, .. } => (
            "restricted",
            want_admin.is_none()
                && matches!(want, Some(MemberState::Restricted { permissions: p, .. }) if p == permissions),
        ),
        MemberState::Banned => ("banned", matches!(want, Some(MemberState::Banned))),
        MemberState::Absent => (
            "absent",
            want_admin.is_none() && matches!(want, Some(MemberState::Absent) | None),
        ),
    };
    // Additive and observed chats do not ask undeclared people to leave.
    let matches = matches
        || (want.is_none()
            && want_admin.is_none()
            && desired.membership != MembershipMode::Authoritative
            && status != "banned");
    LiveCell {
        status: status.into(),
        rights: vec![],
        title: None,
        matches: yes_no(matches),
    }
}

fn yes_no(b: bool) -> String {
    if b { "yes".into() } else { "no".into() }
}

/// Prefix a cell a spreadsheet would run as a formula with `'`.
pub fn neutralise(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
}

fn cells(row: &Row, with_live: bool) -> Vec<String> {
    let mut out = vec![
        row.person.clone(),
        row.telegram_id.to_string(),
        row.name.clone().unwrap_or_default(),
        row.department.clone().unwrap_or_default(),
        row.chat.clone(),
        row.chat_id.to_string(),
        format!("{:?}", row.membership).to_lowercase(),
        row.access.clone(),
        row.rights.join(" "),
        row.title.clone().unwrap_or_default(),
        row.restriction.clone().unwrap_or_default(),
        row.why.join("; "),
    ];
    if with_live {
        let live = row.live.as_ref();
        out.push(live.map(|l| l.status.clone()).unwrap_or_default());
        out.push(live.map(|l| l.rights.join(" ")).unwrap_or_default());
        out.push(live.and_then(|l| l.title.clone()).unwrap_or_default());
        out.push(live.map(|l| l.matches.clone()).unwrap_or_default());
    }
    out
}

const HEADERS: &[&str] = &[
    "person",
    "telegram_id",
    "name",
    "department",
    "chat",
    "chat_id",
    "membership",
    "access",
    "rights",
    "title",
    "restriction",
    "why",
];
const LIVE_HEADERS: &[&str] = &["live_status", "live_rights", "live_title", "matches"];

fn headers(with_live: bool) -> Vec<&'static str> {
    let mut h = HEADERS.to_vec();
    if with_live {
        h.extend(LIVE_HEADERS);
    }
    h
}

/// CSV with a header row. Chat ids are negative numbers, which stay numbers
/// (only text cells are neutralised).
pub fn csv(rows: &[Row], with_live: bool) -> String {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let _ = writer.write_record(headers(with_live));
    for row in rows {
        let mut values = cells(row, with_live);
        for (i, v) in values.iter_mut().enumerate() {
            // telegram_id and chat_id (columns 1 and 5) are numbers.
            if i != 1 && i != 5 {
                *v = neutralise(v);
            }
        }
        let _ = writer.write_record(&values);
    }
    String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// JSON: `{format_version, rows: […]}`.
pub fn json(rows: &[Row]) -> serde_json::Value {
    json!({"format_version": FORMAT_VERSION, "rows": rows})
}

/// A Markdown table (cells escaped as every renderer does).
pub fn markdown(rows: &[Row], with_live: bool) -> String {
    let mut out = String::new();
    let h = headers(with_live);
    let _ = writeln!(out, "# Effective access\n\n{} rows.\n", rows.len());
    let _ = writeln!(out, "| {} |", h.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(h.len()));
    for row in rows {
        let cells: Vec<String> = cells(row, with_live)
            .iter()
            .map(|c| crate::render::md_cell(c))
            .collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised() {
        assert_eq!(neutralise("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(neutralise("+49"), "'+49");
        assert_eq!(neutralise("-1"), "'-1");
        assert_eq!(neutralise("@alice"), "'@alice");
        assert_eq!(neutralise("alice"), "alice");
    }
}
