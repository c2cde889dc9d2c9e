//! Rendering the resolved model for `orgform show`: the whole desired state
//! as JSON, one person's access across chats, or one chat's resolved seats.

use std::fmt::Write as _;

use serde_json::json;

use crate::access::{Access, why_of};
use crate::model::Model;
use crate::state::{MemberState, Rights};

/// The whole desired state. serde_json's map keeps keys sorted, and every
/// collection in the state is ordered, so equal models print equal bytes.
pub fn desired_json(model: &Model) -> serde_json::Value {
    serde_json::to_value(&model.desired).expect("state serialises")
}

fn rights_list(rights: &Rights) -> String {
    rights
        .iter()
        .map(|r| r.name())
        .collect::<Vec<_>>()
        .join(", ")
}

fn permissions_list(perms: &crate::state::Permissions) -> String {
    if perms.is_empty() {
        "nothing (read-only)".into()
    } else {
        perms
            .iter()
            .map(|p| p.name())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn describe(access: &Access) -> String {
    match access {
        Access::Admin { rights, title } => match title {
            Some(t) => format!("admin \"{t}\" [{}]", rights_list(rights)),
            None => format!("admin [{}]", rights_list(rights)),
        },
        Access::Member => "member".into(),
        Access::Restricted { permissions, until } => match until {
            Some(u) => format!(
                "restricted until {} (may: {})",
                crate::state::time::instant_text(*u),
                permissions_list(permissions)
            ),
            None => format!("restricted (may: {})", permissions_list(permissions)),
        },
        Access::Banned => "banned".into(),
        Access::Removed => "removed (must not be in the chat)".into(),
    }
}

fn access_json(access: &Access) -> serde_json::Value {
    match access {
        Access::Admin { rights, title } => {
            json!({"status": "admin", "rights": rights, "title": title})
        }
        Access::Restricted { permissions, until } => {
            json!({"status": "restricted", "permissions": permissions, "until": until})
        }
        other => json!({"status": other.status()}),
    }
}

/// Everything one person can do, chat by chat.
pub fn person_text(model: &Model, handle: &str) -> String {
    let person = &model.config.people[handle];
    let mut out = String::new();
    let _ = write!(out, "{handle}");
    if let Some(n) = &person.name {
        let _ = write!(out, " ({})", super::escape::terminal(n));
    }
    out.push('\n');
    if let Some(id) = person.telegram_id {
        let _ = writeln!(out, "  telegram id: {id}");
    }
    if let Some(u) = &person.username {
        let _ = writeln!(out, "  username:    @{u}");
    }
    if let Some(d) = &person.department {
        let _ = writeln!(out, "  department:  {d}");
    }
    if !person.roles.is_empty() {
        let _ = writeln!(out, "  roles:       {}", person.roles.join(", "));
    }
    let _ = writeln!(
        out,
        "  status:      {}",
        format!("{:?}", person.status).to_lowercase()
    );
    let rows = person_rows(model, handle);
    if rows.is_empty() {
        out.push_str("\n  no access in any managed chat\n");
    } else {
        out.push('\n');
        for (chat, access, reasons) in rows {
            let tag = person
                .telegram_id
                .and_then(|id| model.desired.state.chats[chat].tags.as_ref()?.get(&id));
            let tag = tag.map(|t| format!(", tagged \"{t}\"")).unwrap_or_default();
            let _ = writeln!(out, "  {chat}: {}{tag}", describe(&access));
            for r in reasons {
                let _ = writeln!(out, "      why: {r}");
            }
        }
    }
    out
}

fn person_rows<'a>(model: &'a Model, handle: &str) -> Vec<(&'a str, Access, &'a [String])> {
    let Some(uid) = model.config.people[handle].telegram_id else {
        return Vec::new();
    };
    let mut rows = Vec::new();
    for (key, chat) in &model.desired.state.chats {
        if let Some(access) = Access::of(chat, uid) {
            rows.push((key.as_str(), access, why_of(&model.desired, key, uid)));
        }
    }
    rows
}

pub fn person_json(model: &Model, handle: &str) -> serde_json::Value {
    let person = &model.config.people[handle];
    let chats: serde_json::Map<String, serde_json::Value> = person_rows(model, handle)
        .into_iter()
        .map(|(chat, access, reasons)| {
            let mut v = access_json(&access);
            v["why"] = json!(reasons);
            (chat.to_string(), v)
        })
        .collect();
    json!({"handle": handle, "person": person, "chats": chats})
}

/// A chat's resolved settings, admins, members and restrictions.
pub fn chat_text(model: &Model, key: &str) -> String {
    let chat = &model.desired.state.chats[key];
    let name = |uid: &i64| model.desired.handle(*uid);
    let mut out = String::new();
    let mode = serde_json::to_value(chat.membership)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let _ = writeln!(out, "{key} ({} {}, membership {mode})", chat.kind, chat.id);
    let s = &chat.settings;
    let mut setting = |label: &str, value: Option<String>| {
        if let Some(v) = value {
            let _ = writeln!(out, "  {label:<18} {}", super::escape::terminal(&v));
        }
    };
    setting("title:", s.title.clone());
    setting("description:", s.description.clone());
    setting("permissions:", s.permissions.as_ref().map(permissions_list));
    setting(
        "photo:",
        s.photo.as_ref().map(|p| match p {
            crate::state::Photo::File { name, sha256, .. } if !sha256.is_empty() => {
                format!("{name} (sha256 {})", &sha256[..12.min(sha256.len())])
            }
            crate::state::Photo::File { name, .. } => name.clone(),
            other => format!("{other:?}"),
        }),
    );
    setting(
        "pinned:",
        chat.pinned.as_ref().map(|p| {
            format!(
                "\"{}\"{}",
                p.text,
                if p.notify { " (notifies)" } else { "" }
            )
        }),
    );
    setting("forum:", s.forum.map(|b| b.to_string()));
    setting(
        "slow mode:",
        s.slow_mode.map(|v| format!("{v}s (set by hand)")),
    );
    setting(
        "protected content:",
        s.protected_content.map(|v| format!("{v} (set by hand)")),
    );
    setting(
        "auto-delete:",
        s.auto_delete.map(|v| format!("{v}s (set by hand)")),
    );
    setting(
        "join by request:",
        s.join_by_request.map(|v| format!("{v} (set by hand)")),
    );
    let _ = writeln!(out, "\n  admins ({}):", chat.admins.len());
    for (uid, seat) in &chat.admins {
        let h = name(uid);
        let access = Access::Admin {
            rights: seat.rights.clone(),
            title: seat.title.clone(),
        };
        let _ = writeln!(out, "    {h}: {}", describe(&access));
        for r in why_of(&model.desired, key, *uid) {
            let _ = writeln!(out, "        why: {r}");
        }
    }
    type Group<'a> = (&'a str, fn(&MemberState) -> bool);
    let groups: [Group; 4] = [
        ("members", |m| matches!(m, MemberState::Member)),
        ("restricted", |m| {
            matches!(m, MemberState::Restricted { .. })
        }),
        ("banned", |m| matches!(m, MemberState::Banned)),
        ("must be removed", |m| matches!(m, MemberState::Absent)),
    ];
    for (label, pick) in groups {
        let list: Vec<(&i64, &MemberState)> =
            chat.members.iter().filter(|(_, m)| pick(m)).collect();
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n  {label} ({}):", list.len());
        for (uid, state) in list {
            let h = name(uid);
            let access = Access::of(chat, *uid).expect("listed");
            let extra = if matches!(state, MemberState::Member) {
                String::new()
            } else {
                format!(": {}", describe(&access))
            };
            let reasons = why_of(&model.desired, key, *uid);
            let because = if reasons.is_empty() {
                String::new()
            } else {
                format!("  ({})", reasons.join("; "))
            };
            let _ = writeln!(out, "    {h}{extra}{because}");
        }
    }
    if let Some(tags) = chat.tags.as_ref().filter(|t| !t.is_empty()) {
        let _ = writeln!(out, "\n  tags ({}):", tags.len());
        for (uid, tag) in tags {
            let _ = writeln!(out, "    {}: {}", name(uid), super::escape::terminal(tag));
        }
    }
    if !chat.topics.is_empty() {
        let _ = writeln!(out, "\n  topics:");
        for (k, t) in &chat.topics {
            let _ = writeln!(
                out,
                "    {k}: {}{}",
                super::escape::terminal(&t.name),
                if t.closed { " (closed)" } else { "" }
            );
        }
    }
    if !chat.invite_links.is_empty() {
        let _ = writeln!(out, "\n  invite links:");
        for (k, l) in &chat.invite_links {
            let mut extra = Vec::new();
            if let Some(e) = l.expires {
                extra.push(format!("expires {}", crate::state::time::instant_text(e)));
            }
            if let Some(m) = l.member_limit {
                extra.push(format!("limit {m}"));
            }
            if l.join_request {
                extra.push("needs approval".into());
            }
            let _ = writeln!(
                out,
                "    {k}: \"{}\"{}",
                super::escape::terminal(&l.name),
                if extra.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", extra.join(", "))
                }
            );
        }
    }
    if let Some(cmds) = &chat.commands {
        let _ = writeln!(out, "\n  commands:");
        for c in cmds {
            let _ = writeln!(
                out,
                "    /{} — {}",
                c.command,
                super::escape::terminal(&c.description)
            );
        }
    }
    out
}

pub fn chat_json(model: &Model, key: &str) -> serde_json::Value {
    let chat = &model.desired.state.chats[key];
    let why: serde_json::Map<String, serde_json::Value> = model
        .desired
        .why
        .iter()
        .filter(|(a, _)| crate::state::Address((*a).clone()).chat_key() == Some(key))
        .map(|(a, w)| (a.clone(), json!(w)))
        .collect();
    json!({"key": key, "chat": chat, "why": why})
}
