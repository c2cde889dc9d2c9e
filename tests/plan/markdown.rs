//! The pull request comment of a plan with thousands of changes: risk
//! first (removals and bans, admin demotions, privilege changes,
//! restrictions, then joins and invites), under GitHub's limit, and saying
//! how many of each kind were left out.

use orgform::plan::Plan;
use serde_json::{Value, json};

fn change(chat: usize, person: usize, kind: &str) -> Value {
    let chat_key = format!("chat-{chat:03}");
    let handle = format!("person-{person:05}");
    let user = 100_000 + person as i64;
    let base = json!({
        "chat": chat_key,
        "chat_id": -1_001_000_000_000i64 - chat as i64,
        "chat_type": "supergroup",
        "person": handle,
        "why": [format!("member via department dep-{}", person % 40)],
    });
    let mut c = base.as_object().unwrap().clone();
    let (action, step, reversible, address, before, after, op) = match kind {
        "kick" => (
            "delete",
            "bans",
            false,
            "member",
            json!({"status": "member"}),
            json!({"status": "absent"}),
            json!({"op": "kick", "user": user}),
        ),
        "demote" => (
            "delete",
            "demotions",
            true,
            "admin",
            json!(["manage_chat", "delete_messages"]),
            json!({"status": "member"}),
            json!({"op": "demote", "user": user}),
        ),
        "new-admin" => (
            "create",
            "promotions",
            true,
            "admin",
            json!({"status": "member"}),
            json!({"status": "admin", "rights": ["manage_chat", "restrict_members"]}),
            json!({"op": "promote", "rights": ["manage_chat", "restrict_members"], "user": user}),
        ),
        "more-rights" => (
            "update",
            "promotions",
            true,
            "admin",
            json!(["manage_chat"]),
            json!(["manage_chat", "promote_members"]),
            json!({"op": "promote", "rights": ["manage_chat", "promote_members"], "user": user}),
        ),
        "restrict" => (
            "update",
            "restrictions",
            true,
            "member",
            json!({"status": "member"}),
            json!({"status": "restricted", "permissions": ["send_messages"]}),
            json!({"op": "restrict", "user": user, "permissions": ["send_messages"], "until": null}),
        ),
        _ => (
            "invite",
            "invites",
            true,
            "member",
            json!({"status": "absent"}),
            json!({"status": "invited", "link": format!("orgform: {handle}")}),
            json!({"op": "send_invite", "user": user, "name": format!("orgform: {handle}"), "expires": 1_800_000_000}),
        ),
    };
    c.insert("action".into(), json!(action));
    c.insert("step".into(), json!(step));
    c.insert("reversible".into(), json!(reversible));
    c.insert(
        "address".into(),
        json!(format!("chat.{chat_key}.{address}.{handle}")),
    );
    c.insert("before".into(), before);
    c.insert("after".into(), after);
    c.insert("op".into(), op);
    // What the planner works out for a promotion: rights gained and lost.
    let seat = match kind {
        "demote" => Some(json!({"lost": ["manage_chat", "delete_messages"]})),
        "new-admin" => Some(json!({"gained": ["manage_chat", "restrict_members"]})),
        "more-rights" => Some(json!({"gained": ["promote_members"]})),
        _ => None,
    };
    if let Some(seat) = seat {
        c.insert("seat".into(), seat);
    }
    Value::Object(c)
}

/// 3,000 invites, 300 removals, 80 demotions, 40 new admin seats, 30
/// rights increases and 200 restrictions, spread over 100 chats, invites
/// first in the plan's own order (as a careless renderer would show them).
fn big_plan() -> Plan {
    let mut changes = Vec::new();
    let mut person = 0;
    for (kind, n) in [
        ("invite", 3000),
        ("restrict", 200),
        ("more-rights", 30),
        ("new-admin", 40),
        ("demote", 80),
        ("kick", 300),
    ] {
        for _ in 0..n {
            person += 1;
            changes.push(change(person % 100, person, kind));
        }
    }
    serde_json::from_value(json!({
        "format_version": 1,
        "created_at": "2026-11-27T12:00:00Z",
        "changes": changes,
        "guards": [],
    }))
    .unwrap()
}

#[test]
fn thousands_of_changes_show_risk_first_and_count_what_was_cut() {
    let plan = big_plan();
    let md = orgform::render::plan::markdown(&plan);
    assert!(md.len() <= orgform::render::MARKDOWN_LIMIT, "{}", md.len());
    // Rows of the access table, in order.
    let rows: Vec<&str> = md
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains("`person-"))
        .collect();
    let kind_of = |row: &str| {
        row.split(" | ")
            .next()
            .unwrap()
            .trim_start_matches("| ")
            .to_string()
    };
    let order = [
        "🚫 removal",
        "⬇️ demotion",
        "⚠️ privilege",
        "🔒 restriction",
        "✉️ join",
    ];
    let mut last = 0;
    for row in &rows {
        let k = order.iter().position(|o| kind_of(row) == *o).unwrap();
        assert!(k >= last, "{row} after a riskier-ordered row");
        last = k;
    }
    // Every removal and every admin change is shown, before any invite.
    let count = |k: &str| rows.iter().filter(|r| kind_of(r) == k).count();
    assert_eq!(count("🚫 removal"), 300);
    assert_eq!(count("⬇️ demotion"), 80);
    assert_eq!(count("⚠️ privilege"), 70);
    assert!(
        rows.iter()
            .filter(|r| kind_of(r) == "⚠️ privilege")
            .all(|r| r.contains("**privilege change:**"))
    );
    // What was cut is counted by kind.
    let shown_joins = count("✉️ join");
    let shown_restrictions = count("🔒 restriction");
    assert!(shown_joins < 3000);
    let cut = 3000 - shown_joins + 200 - shown_restrictions;
    let note = md
        .lines()
        .find(|l| l.contains("left out of this table"))
        .expect("a cut note");
    assert!(
        note.starts_with(&format!("_{cut} access changes were left out")),
        "{note}"
    );
    assert!(
        note.contains(&format!("{} joins and invites", 3000 - shown_joins)),
        "{note}"
    );
    assert!(md.contains("**Access changes, riskiest first:** 300 removals and bans, 80 admin demotions, 70 privilege changes (new admin seats or more rights), 200 restrictions, 3000 joins and invites."), "{}", &md[..600]);
    insta::assert_snapshot!("thousands_of_changes", md);
}
