//! Rendering plans: Terraform-like text for terminals, Markdown for pull
//! request comments (with per-person effective access changes), and
//! versioned JSON. Prints what the plan holds; decides nothing.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::plan::{Action, Change, Op, Phase, Plan};

use super::Style;

pub use super::MARKDOWN_LIMIT;
use super::{md_cell as md_escape, push_fitting};

fn paint(style: Style, action: Action, text: &str) -> String {
    if style == Style::Plain {
        return text.to_string();
    }
    let code = match action {
        Action::Create => "32",
        Action::Update | Action::Replace => "33",
        Action::Delete => "31",
        Action::Invite => "36",
        Action::Manual => "35",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// A compact one-line form of a before/after value.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::Null => "(none)".into(),
        Value::String(s) => format!("{s:?}"),
        Value::Object(m) if m.get("status").is_some() => {
            let status = m["status"].as_str().unwrap_or("");
            let mut out = status.to_string();
            if let Some(t) = m.get("title").and_then(Value::as_str) {
                let _ = write!(out, " \"{t}\"");
            }
            if let Some(r) = m.get("rights").and_then(Value::as_array) {
                let _ = write!(
                    out,
                    " [{}]",
                    r.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            if let Some(p) = m.get("permissions").and_then(Value::as_array) {
                let list = p.iter().filter_map(Value::as_str).collect::<Vec<_>>();
                let _ = write!(
                    out,
                    " (may: {})",
                    if list.is_empty() {
                        "nothing".to_string()
                    } else {
                        list.join(", ")
                    }
                );
            }
            if let Some(u) = m.get("until").and_then(Value::as_i64) {
                let _ = write!(out, " until {}", unix_text(u));
            }
            out
        }
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| match (k.as_str(), v.as_i64()) {
                    ("expires" | "until", Some(t)) => format!("{k}: {}", unix_text(t)),
                    _ => format!("{k}: {}", value_text(v)),
                })
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(|i| i
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| i.to_string()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

/// A unix time as an RFC 3339 instant.
fn unix_text(t: i64) -> String {
    jiff::Timestamp::from_second(t)
        .map(|ts| ts.to_string())
        .unwrap_or_else(|_| t.to_string())
}

/// Word diff of two texts: `[-removed-]{+added+}`.
pub fn word_diff(before: &str, after: &str) -> String {
    let diff = similar::TextDiff::configure()
        .algorithm(similar::Algorithm::Patience)
        .diff_words(before, after);
    let mut out = String::new();
    for op in diff.ops() {
        for change in diff.iter_changes(op) {
            let text = change.value();
            match change.tag() {
                similar::ChangeTag::Equal => out.push_str(text),
                similar::ChangeTag::Delete => {
                    let _ = write!(out, "[-{text}-]");
                }
                similar::ChangeTag::Insert => {
                    let _ = write!(out, "{{+{text}+}}");
                }
            }
        }
    }
    out.replace("-][-", "").replace("+}{+", "")
}

fn change_line(c: &Change) -> String {
    if let Op::SetDescription { description } = &c.op {
        return format!(
            "{}: {}",
            c.address,
            word_diff(c.before.as_str().unwrap_or(""), description)
        );
    }
    match c.action {
        Action::Create => format!("{}: {}", c.address, value_text(&c.after)),
        Action::Delete => format!(
            "{}: {} → {}",
            c.address,
            value_text(&c.before),
            value_text(&c.after)
        ),
        Action::Invite => {
            let name = c.after.get("link").and_then(Value::as_str).unwrap_or("");
            format!(
                "{}: personal invite link \"{name}\" (one use, 7 days; sent by DM if they started the bot)",
                c.address
            )
        }
        Action::Manual => match &c.op {
            Op::Manual { instruction } => format!(
                "{}: {} → {} — {instruction}",
                c.address,
                value_text(&c.before),
                value_text(&c.after)
            ),
            _ => c.address.to_string(),
        },
        _ => format!(
            "{}: {} → {}",
            c.address,
            value_text(&c.before),
            value_text(&c.after)
        ),
    }
}

fn summary_line(plan: &Plan) -> String {
    let counts = plan.counts();
    let n = |a: Action| counts.get(&a).copied().unwrap_or(0);
    let changed = n(Action::Update) + n(Action::Replace);
    format!(
        "Plan: {} to add, {} to change, {} to remove, {} invite{}, {} manual action{}.",
        n(Action::Create),
        changed,
        n(Action::Delete),
        n(Action::Invite),
        if n(Action::Invite) == 1 { "" } else { "s" },
        n(Action::Manual),
        if n(Action::Manual) == 1 { "" } else { "s" },
    )
}

/// Human text for a terminal.
pub fn text(plan: &Plan, style: Style) -> String {
    let mut out = String::new();
    if let Some(only) = &plan.only {
        let _ = writeln!(
            out,
            "Targeted plan: only {} (changed since the base revision).\n",
            if only.is_empty() {
                "no chats".to_string()
            } else {
                only.join(", ")
            }
        );
    }
    for (chat, err) in &plan.unreadable {
        let _ = writeln!(out, "! chat.{chat} could not be read: {err}");
    }
    if !plan.unreadable.is_empty() {
        out.push('\n');
    }
    if plan.changes.is_empty() {
        out.push_str("No changes. Telegram matches the configuration.\n");
    }
    let mut last_header: Option<(Phase, &str)> = None;
    let mut irreversible_shown = false;
    for c in plan
        .changes
        .iter()
        .filter(|c| !matches!(c.action, Action::Invite | Action::Manual))
    {
        if c.phase() == Phase::Irreversible && !irreversible_shown {
            let _ = writeln!(
                out,
                "Irreversible changes (run only after every change above succeeded):"
            );
            irreversible_shown = true;
            last_header = None;
        }
        if last_header != Some((c.phase(), c.chat.as_str())) {
            let _ = writeln!(out, "chat.{} ({} {})", c.chat, c.chat_type, c.chat_id);
            last_header = Some((c.phase(), c.chat.as_str()));
        }
        let mut line = format!("  {} {}", c.action.symbol(), change_line(c));
        if !c.reversible {
            line.push_str("  (cannot be undone)");
        }
        let _ = writeln!(out, "{}", paint(style, c.action, &line));
        for w in &c.why {
            let _ = writeln!(out, "      why: {w}");
        }
    }
    if irreversible_shown
        || plan
            .changes
            .iter()
            .any(|c| !matches!(c.action, Action::Invite | Action::Manual))
    {
        out.push('\n');
    }
    let invites: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Invite)
        .collect();
    if !invites.is_empty() {
        let _ = writeln!(
            out,
            "Invite links (a bot cannot add people; these declared members are not in the chat):"
        );
        for c in invites {
            let _ = writeln!(
                out,
                "{}",
                paint(
                    style,
                    c.action,
                    &format!("  {} {}", c.action.symbol(), change_line(c))
                )
            );
        }
        out.push('\n');
    }
    let manual: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Manual)
        .collect();
    if !manual.is_empty() {
        let _ = writeln!(
            out,
            "Manual actions (the Bot API cannot do these; a person must):"
        );
        for c in manual {
            let _ = writeln!(
                out,
                "{}",
                paint(
                    style,
                    c.action,
                    &format!("  {} {}", c.action.symbol(), change_line(c))
                )
            );
        }
        out.push('\n');
    }
    if !plan.guards.is_empty() {
        let _ = writeln!(out, "Guards:");
        for g in &plan.guards {
            let mark = if g.overridden {
                "overridden"
            } else {
                "REFUSED"
            };
            let flag = match (&g.override_flag, g.overridden) {
                (Some(f), false) => format!(" (override with {f})"),
                (Some(f), true) => format!(" ({f} given)"),
                (None, _) => " (cannot be overridden)".to_string(),
            };
            let _ = writeln!(out, "  {mark} [{}]: {}{flag}", g.code, g.message);
        }
        out.push('\n');
    }
    let _ = writeln!(out, "{}", summary_line(plan));
    out
}

/// One row of the per-person access table.
struct AccessRow {
    person: String,
    chat: String,
    change: String,
    why: String,
}

fn access_change(c: &Change) -> Option<String> {
    let list = |v: &Value, key: &str| -> String {
        v.get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    Some(match &c.op {
        Op::Promote { rights, .. } if rights.is_empty() => "loses admin".to_string(),
        Op::Promote { .. } if c.action == Action::Create => {
            format!("becomes admin ({})", list(&c.after, "rights"))
        }
        Op::Promote { rights, .. } => {
            let before: Vec<String> = c
                .before
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let after: Vec<String> = rights.iter().map(|r| r.name().to_string()).collect();
            let gained: Vec<&String> = after.iter().filter(|r| !before.contains(r)).collect();
            let lost: Vec<&String> = before.iter().filter(|r| !after.contains(r)).collect();
            let mut parts = Vec::new();
            if !gained.is_empty() {
                parts.push(format!(
                    "gains {}",
                    gained
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            if !lost.is_empty() {
                parts.push(format!(
                    "loses {}",
                    lost.iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            format!("admin rights: {}", parts.join("; "))
        }
        Op::Restrict { .. } => format!("restricted (may: {})", {
            let l = list(&c.after, "permissions");
            if l.is_empty() { "nothing".into() } else { l }
        }),
        Op::Unrestrict { .. } => "restrictions lifted".to_string(),
        Op::Ban { .. } => "banned".to_string(),
        Op::Kick { .. } => "removed from the chat".to_string(),
        Op::SendInvite { .. } => "invited to join".to_string(),
        Op::Unban { .. } => "unbanned".to_string(),
        _ => return None,
    })
}

/// Markdown for a pull request comment, always under GitHub's limit.
pub fn markdown(plan: &Plan) -> String {
    let mut head = String::new();
    let _ = writeln!(head, "## orgform plan\n");
    if let Some(only) = &plan.only {
        let _ = writeln!(
            head,
            "Targeted plan: only {}.\n",
            if only.is_empty() {
                "no chats".to_string()
            } else {
                only.iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        );
    }
    let refused: Vec<_> = plan.guards.iter().filter(|g| !g.overridden).collect();
    if !refused.is_empty() {
        let _ = writeln!(
            head,
            "> [!CAUTION]\n> This plan is **refused** by {} guard{}:",
            refused.len(),
            if refused.len() == 1 { "" } else { "s" }
        );
        for g in &refused {
            let flag = g
                .override_flag
                .as_ref()
                .map(|f| format!(" — override with `{f}`"))
                .unwrap_or_default();
            let _ = writeln!(head, "> - `{}`: {}{flag}", g.code, g.message);
        }
        head.push('\n');
    }
    for g in plan.guards.iter().filter(|g| g.overridden) {
        let _ = writeln!(
            head,
            "> [!WARNING]\n> Guard `{}` overridden ({}): {}\n",
            g.code,
            g.override_flag.as_deref().unwrap_or(""),
            g.message
        );
    }
    for (chat, err) in &plan.unreadable {
        let _ = writeln!(head, "> [!WARNING]\n> `{chat}` could not be read: {err}\n");
    }
    if plan.changes.is_empty() {
        let _ = writeln!(head, "**No changes.** Telegram matches the configuration.");
        return head;
    }
    // Summary table per chat.
    let mut per_chat: BTreeMap<&str, [usize; 6]> = BTreeMap::new();
    for c in &plan.changes {
        let idx = match c.action {
            Action::Create => 0,
            Action::Update | Action::Replace => 1,
            Action::Delete => 2,
            Action::Invite => 3,
            Action::Manual => 4,
        };
        let row = per_chat.entry(&c.chat).or_default();
        row[idx] += 1;
        if !c.reversible && c.action != Action::Manual {
            row[5] += 1;
        }
    }
    let _ = writeln!(
        head,
        "| chat | ➕ add | ✏️ change | ➖ remove | ✉️ invite | ✋ manual | cannot be undone |"
    );
    let _ = writeln!(head, "|---|---:|---:|---:|---:|---:|---:|");
    for (chat, r) in &per_chat {
        let _ = writeln!(
            head,
            "| `{chat}` | {} | {} | {} | {} | {} | {} |",
            r[0], r[1], r[2], r[3], r[4], r[5]
        );
    }
    let _ = writeln!(head, "\n{}\n", summary_line(plan));

    // Effective access per person.
    let mut rows: Vec<AccessRow> = plan
        .changes
        .iter()
        .filter_map(|c| {
            let person = c.person.clone()?;
            let change = access_change(c)?;
            Some(AccessRow {
                person,
                chat: c.chat.clone(),
                change,
                why: c.why.join("; "),
            })
        })
        .collect();
    rows.sort_by(|a, b| (&a.person, &a.chat).cmp(&(&b.person, &b.chat)));
    let mut access = String::new();
    if !rows.is_empty() {
        let people = rows
            .iter()
            .map(|r| &r.person)
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        let _ = writeln!(access, "### Effective access changes ({people} people)\n");
        let _ = writeln!(access, "| person | chat | change | why |");
        let _ = writeln!(access, "|---|---|---|---|");
        for r in &rows {
            let _ = writeln!(
                access,
                "| `{}` | `{}` | {} | {} |",
                r.person,
                r.chat,
                md_escape(&r.change),
                md_escape(&r.why)
            );
        }
        access.push('\n');
    }

    // Details, folded per chat.
    let mut details: Vec<String> = Vec::new();
    for chat in per_chat.keys() {
        let changes: Vec<&Change> = plan.changes.iter().filter(|c| c.chat == *chat).collect();
        let mut d = String::new();
        let _ = writeln!(
            d,
            "<details><summary><code>{chat}</code>: {} change{}</summary>\n",
            changes.len(),
            if changes.len() == 1 { "" } else { "s" }
        );
        let _ = writeln!(d, "```diff");
        for c in changes {
            let sign = match c.action {
                Action::Create | Action::Invite => "+",
                Action::Delete => "-",
                Action::Update | Action::Replace => "!",
                Action::Manual => "#",
            };
            let undo = if !c.reversible && c.action != Action::Manual {
                "  (cannot be undone)"
            } else {
                ""
            };
            let _ = writeln!(d, "{sign} {} {}{undo}", c.action.symbol(), change_line(c));
            for w in &c.why {
                let _ = writeln!(d, "#     why: {w}");
            }
        }
        let _ = writeln!(d, "```\n</details>\n");
        details.push(d);
    }

    // Assemble under the limit: head always, then access, then as many
    // details as fit, with a note on what was cut.
    let reserve = 400;
    let mut out = head;
    if out.len() + access.len() + reserve <= MARKDOWN_LIMIT {
        out.push_str(&access);
    } else {
        let cut_at = MARKDOWN_LIMIT.saturating_sub(out.len() + reserve);
        let mut partial: String = access
            .lines()
            .scan(0usize, |n, l| {
                *n += l.len() + 1;
                (*n <= cut_at).then(|| format!("{l}\n"))
            })
            .collect();
        partial.push_str("\n_…the access table was cut to fit GitHub's comment limit; run `orgform plan --format json` for all of it._\n\n");
        out.push_str(&partial);
    }
    let shown = push_fitting(&mut out, &details, reserve);
    if shown < details.len() {
        let _ = writeln!(
            out,
            "_Details for {} more chat{} were cut to fit GitHub's 65,536-character comment limit; the full plan is in the job's artifacts or `orgform plan --format json`._",
            details.len() - shown,
            if details.len() - shown == 1 { "" } else { "s" }
        );
    }
    out
}

/// Versioned JSON: the plan as saved, plus counts.
pub fn json(plan: &Plan) -> Value {
    let mut v = serde_json::to_value(plan).expect("plan serialises");
    let counts = plan.counts();
    let n = |a: Action| counts.get(&a).copied().unwrap_or(0);
    v["summary"] = json!({
        "add": n(Action::Create),
        "change": n(Action::Update) + n(Action::Replace),
        "remove": n(Action::Delete),
        "invite": n(Action::Invite),
        "manual": n(Action::Manual),
        "refused": plan.refused(),
    });
    v
}
