//! Rendering plans: Terraform-like text for terminals, Markdown for pull
//! request comments (with per-person effective access changes), and
//! versioned JSON. Prints what the plan holds; decides nothing.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::plan::{Action, Change, Op, Override, Phase, Plan};

use super::Style;
use super::escape;

pub use super::MARKDOWN_LIMIT;
use super::{md_cell as md_escape, push_fitting};

/// A change line for a terminal: its text made safe (it carries titles,
/// descriptions and link names from Telegram), then coloured.
fn paint(style: Style, action: Action, text: &str) -> String {
    let text = escape::terminal(text);
    if style == Style::Plain {
        return text.into_owned();
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
                let _ = write!(out, " until {}", crate::state::time::instant_text(u));
            }
            out
        }
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| match (k.as_str(), v.as_i64()) {
                    ("expires" | "until", Some(t)) =>
                        format!("{k}: {}", crate::state::time::instant_text(t)),
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

/// A compact one-line form of one side of a change: the same text as its
/// JSON shape gives.
fn shown(v: &crate::plan::Value) -> String {
    value_text(&v.to_json())
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

/// When the plan was made, as Unix time: lifetimes are shown relative to it.
fn made_at(plan: &Plan) -> Option<i64> {
    plan.created_at
        .parse::<jiff::Timestamp>()
        .ok()
        .map(|t| t.as_second())
}

fn change_line(made: Option<i64>, c: &Change) -> String {
    if let Op::SetDescription { description } = &c.op {
        return format!(
            "{}: {}",
            c.address,
            word_diff(c.before.as_text().unwrap_or(""), description)
        );
    }
    match c.action {
        Action::Create => format!("{}: {}", c.address, shown(&c.after)),
        Action::Delete => format!("{}: {} → {}", c.address, shown(&c.before), shown(&c.after)),
        Action::Invite => {
            let (name, expires) = match &c.op {
                Op::SendInvite { name, expires, .. } => (name.as_str(), Some(*expires)),
                _ => ("", None),
            };
            // The lifetime is the planner's (the op's expiry), shown from
            // the time the plan was made.
            let lifetime = match (expires, made) {
                (Some(e), Some(m)) if e > m && (e - m) % 86_400 == 0 => {
                    format!("{} days", (e - m) / 86_400)
                }
                (Some(e), _) => format!("until {}", crate::state::time::instant_text(e)),
                (None, _) => "no expiry".into(),
            };
            format!(
                "{}: personal invite link \"{name}\" (one use, {lifetime}; sent by DM if they started the bot)",
                c.address
            )
        }
        Action::Manual => match &c.op {
            Op::Manual { instruction } => format!(
                "{}: {} → {} — {instruction}",
                c.address,
                shown(&c.before),
                shown(&c.after)
            ),
            _ => c.address.to_string(),
        },
        _ => format!("{}: {} → {}", c.address, shown(&c.before), shown(&c.after)),
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
        let _ = writeln!(
            out,
            "! chat.{chat} could not be read: {}",
            escape::terminal(err)
        );
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
            // A chat the user provider has yet to create has no id.
            if crate::plan::folders::is_folder(c) {
                let _ = writeln!(out, "{} (chat folder)", escape::terminal(&c.chat));
            } else if c.chat_id == 0 {
                let _ = writeln!(out, "chat.{} ({}, not created yet)", c.chat, c.chat_type);
            } else {
                let _ = writeln!(out, "chat.{} ({} {})", c.chat, c.chat_type, c.chat_id);
            }
            last_header = Some((c.phase(), c.chat.as_str()));
        }
        let mut line = format!("  {} {}", c.action.symbol(), change_line(made_at(plan), c));
        if !c.reversible {
            line.push_str("  (cannot be undone)");
        }
        let _ = writeln!(out, "{}", paint(style, c.action, &line));
        for w in &c.why {
            let _ = writeln!(out, "      why: {}", escape::terminal(w));
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
                    &format!("  {} {}", c.action.symbol(), change_line(made_at(plan), c))
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
                    &format!("  {} {}", c.action.symbol(), change_line(made_at(plan), c))
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
            let flag = match (g.overridable.map(override_flag), g.overridden) {
                (Some(f), false) => format!(" (override with {f})"),
                (Some(f), true) => format!(" ({f} given)"),
                (None, _) => " (cannot be overridden)".to_string(),
            };
            let _ = writeln!(
                out,
                "  {mark} [{}]: {}{flag}",
                g.code,
                escape::terminal(&g.message)
            );
        }
        out.push('\n');
    }
    let _ = writeln!(out, "{}", summary_line(plan));
    out
}

/// One row of the per-person access table.
struct AccessRow {
    risk: Risk,
    person: String,
    chat: String,
    change: String,
    why: String,
}

fn access_change(c: &Change) -> Option<String> {
    let names =
        |r: &crate::state::Rights| r.iter().map(|r| r.name()).collect::<Vec<_>>().join(", ");
    Some(match &c.op {
        op if op.is_demotion() => "loses admin".to_string(),
        Op::Promote { rights, .. } if c.action == Action::Create => {
            format!("becomes admin ({})", names(rights))
        }
        Op::Promote { .. } => {
            let seat = c.seat.clone().unwrap_or_default();
            let mut parts = Vec::new();
            if !seat.gained.is_empty() {
                parts.push(format!("gains {}", names(&seat.gained)));
            }
            if !seat.lost.is_empty() {
                parts.push(format!("loses {}", names(&seat.lost)));
            }
            format!("admin rights: {}", parts.join("; "))
        }
        Op::Restrict { permissions, .. } => {
            let may: Vec<&str> = permissions.iter().map(|p| p.name()).collect();
            if may.is_empty() {
                "restricted (may: nothing)".to_string()
            } else {
                format!("restricted (may: {})", may.join(", "))
            }
        }
        Op::Unrestrict { .. } => "restrictions lifted".to_string(),
        Op::Ban { .. } => "banned".to_string(),
        Op::Kick { .. } => "removed from the chat".to_string(),
        Op::SendInvite { .. } => "invited to join".to_string(),
        Op::AddMember { .. } => "added to the chat".to_string(),
        Op::Unban { .. } => "unbanned".to_string(),
        _ => return None,
    })
}

/// Refused guards of one code listed in the Markdown head; the rest are counted.
const GUARDS_SHOWN_PER_CODE: usize = 5;

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
                    .map(|c| escape::md_code(c))
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
        // Guards repeat per chat: a few of each kind, then a count, so
        // the head of the comment stays small whatever the plan.
        let mut per_code: BTreeMap<&str, usize> = BTreeMap::new();
        let mut hidden = 0usize;
        for g in &refused {
            let seen = per_code.entry(g.code.as_str()).or_default();
            *seen += 1;
            if *seen > GUARDS_SHOWN_PER_CODE {
                hidden += 1;
                continue;
            }
            let flag = g
                .overridable
                .map(|o| format!(" — override with `{}`", override_flag(o)))
                .unwrap_or_default();
            let _ = writeln!(
                head,
                "> - `{}`: {}{flag}",
                g.code,
                escape::md_text(&g.message)
            );
        }
        if hidden > 0 {
            let _ = writeln!(
                head,
                "> - …and {hidden} more of the same kinds (`orgform plan` lists them all)"
            );
        }
        head.push('\n');
    }
    let mut overridden: BTreeMap<&str, usize> = BTreeMap::new();
    for g in plan.guards.iter().filter(|g| g.overridden) {
        let seen = overridden.entry(g.code.as_str()).or_default();
        *seen += 1;
        if *seen > GUARDS_SHOWN_PER_CODE {
            continue;
        }
        let _ = writeln!(
            head,
            "> [!WARNING]\n> Guard `{}` overridden ({}): {}\n",
            g.code,
            g.overridable.map(override_flag).unwrap_or(""),
            escape::md_text(&g.message)
        );
    }
    for (code, n) in &overridden {
        if *n > GUARDS_SHOWN_PER_CODE {
            let _ = writeln!(
                head,
                "> [!WARNING]\n> …and {} more `{code}` guards overridden (`orgform plan` lists them all)\n",
                n - GUARDS_SHOWN_PER_CODE
            );
        }
    }
    let mut unreadable_hidden = 0usize;
    for (i, (chat, err)) in plan.unreadable.iter().enumerate() {
        if i >= GUARDS_SHOWN_PER_CODE * 4 {
            unreadable_hidden += 1;
            continue;
        }
        let _ = writeln!(
            head,
            "> [!WARNING]\n> {} could not be read: {}\n",
            escape::md_code(chat),
            escape::md_text(err)
        );
    }
    if unreadable_hidden > 0 {
        let _ = writeln!(
            head,
            "> [!WARNING]\n> …and {unreadable_hidden} more chats could not be read (`orgform plan` lists them all)\n"
        );
    }
    if plan.changes.is_empty() {
        let _ = writeln!(head, "**No changes.** Telegram matches the configuration.");
        return head;
    }
    // What each change means for someone's access, riskiest first.
    let mut rows: Vec<AccessRow> = plan
        .changes
        .iter()
        .filter_map(|c| {
            let person = c.person.clone()?;
            let risk = risk(c)?;
            let mut change = access_change(c)?;
            if risk == Risk::Privilege {
                change = format!("**privilege change:** {}", escape::md_text(&change));
            } else {
                change = escape::md_text(&change);
            }
            Some(AccessRow {
                risk,
                person,
                chat: c.chat.clone(),
                change,
                why: c.why.join("; "),
            })
        })
        .collect();
    rows.sort_by(|a, b| (a.risk, &a.person, &a.chat).cmp(&(b.risk, &b.person, &b.chat)));
    let mut by_risk: BTreeMap<Risk, usize> = BTreeMap::new();
    for r in &rows {
        *by_risk.entry(r.risk).or_default() += 1;
    }
    if !by_risk.is_empty() {
        let _ = writeln!(
            head,
            "**Access changes, riskiest first:** {}.\n",
            risk_counts(&by_risk)
        );
    }
    let _ = writeln!(head, "{}\n", summary_line(plan));

    let reserve = 600;
    let mut out = head;
    let mut left_out: BTreeMap<Risk, usize> = BTreeMap::new();
    if !rows.is_empty() {
        let people = rows
            .iter()
            .map(|r| &r.person)
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        let _ = writeln!(out, "### Effective access changes ({people} people)\n");
        let _ = writeln!(out, "| | person | chat | change | why |");
        let _ = writeln!(out, "|---|---|---|---|---|");
        for r in &rows {
            let line = format!(
                "| {} | {} | {} | {} | {} |\n",
                r.risk.icon(),
                escape::md_code(&r.person),
                escape::md_code(&r.chat),
                r.change,
                md_escape(&r.why)
            );
            // Removals, demotions and privilege changes may use the whole
            // comment; the rest three quarters at most, so the per-chat
            // table still shows.
            let budget = if r.risk <= Risk::Privilege {
                MARKDOWN_LIMIT
            } else {
                MARKDOWN_LIMIT * 3 / 4
            };
            if !left_out.is_empty() || out.len() + line.len() + reserve > budget {
                *left_out.entry(r.risk).or_default() += 1;
                continue;
            }
            out.push_str(&line);
        }
        out.push('\n');
        if !left_out.is_empty() {
            let n: usize = left_out.values().sum();
            let _ = writeln!(
                out,
                "_{n} access change{} left out of this table to fit GitHub's 65,536-character comment limit: {}. Run `orgform plan --format json` for all of them._\n",
                if n == 1 { " was" } else { "s were" },
                risk_counts(&left_out)
            );
        }
    }

    // Per chat: a summary row and the folded details, riskiest chats first.
    let mut per_chat: BTreeMap<&str, ChatRow> = BTreeMap::new();
    for c in &plan.changes {
        let row = per_chat.entry(&c.chat).or_default();
        let idx = match c.action {
            Action::Create => 0,
            Action::Update | Action::Replace => 1,
            Action::Delete => 2,
            Action::Invite => 3,
            Action::Manual => 4,
        };
        row.counts[idx] += 1;
        if !c.reversible && c.action != Action::Manual {
            row.counts[5] += 1;
        }
        if let Some(r) = risk(c) {
            *row.risks.entry(r).or_default() += 1;
        }
        row.changes.push(c);
    }
    let mut chats: Vec<(&str, ChatRow)> = per_chat.into_iter().collect();
    chats.sort_by(|a, b| {
        let top = |r: &ChatRow| r.risks.keys().next().copied().unwrap_or(Risk::Other);
        (top(&a.1), a.0).cmp(&(top(&b.1), b.0))
    });
    if out.len() + reserve < MARKDOWN_LIMIT {
        let _ = writeln!(out, "### Chats\n");
        let _ = writeln!(
            out,
            "| chat | ➕ add | ✏️ change | ➖ remove | ✉️ invite | ✋ manual | cannot be undone |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|");
        let mut hidden = 0;
        for (chat, row) in &chats {
            let r = row.counts;
            let line = format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                escape::md_code(chat),
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                r[5]
            );
            if hidden > 0 || out.len() + line.len() + reserve > MARKDOWN_LIMIT {
                hidden += 1;
                continue;
            }
            out.push_str(&line);
        }
        out.push('\n');
        if hidden > 0 {
            let _ = writeln!(
                out,
                "_{hidden} more chat{} not listed to fit the comment limit._\n",
                if hidden == 1 { "" } else { "s" }
            );
        }
    }

    let mut details: Vec<String> = Vec::new();
    for (chat, row) in &chats {
        let changes = &row.changes;
        let mut d = String::new();
        let _ = writeln!(
            d,
            "<details><summary><code>{}</code>: {} change{}</summary>\n",
            escape::html(chat),
            changes.len(),
            if changes.len() == 1 { "" } else { "s" }
        );
        let mut body = String::new();
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
            let line = format!(
                "{} {}{undo}",
                c.action.symbol(),
                change_line(made_at(plan), c)
            );
            let _ = writeln!(body, "{sign} {}", escape::md_code_line(&line));
            for w in &c.why {
                let _ = writeln!(body, "#     why: {}", escape::md_code_line(w));
            }
        }
        // Titles and descriptions come from Telegram: the fence is longer
        // than any backtick run in them, so none can close it.
        let fence = escape::md_fence(&body);
        let _ = writeln!(d, "{fence}diff\n{body}{fence}\n</details>\n");
        details.push(d);
    }
    let shown = push_fitting(&mut out, &details, reserve);
    if shown < details.len() {
        let cut = &chats[shown..];
        let changes: usize = cut.iter().map(|(_, r)| r.changes.len()).sum();
        let mut risks: BTreeMap<Risk, usize> = BTreeMap::new();
        for (_, r) in cut {
            for (k, n) in &r.risks {
                *risks.entry(*k).or_default() += n;
            }
        }
        let _ = writeln!(
            out,
            "_Details for {} more chat{} ({changes} change{}{}) were cut to fit GitHub's 65,536-character comment limit; the full plan is in the job's artifacts or `orgform plan --format json`._",
            cut.len(),
            if cut.len() == 1 { "" } else { "s" },
            if changes == 1 { "" } else { "s" },
            if risks.is_empty() {
                String::new()
            } else {
                format!(": {}", risk_counts(&risks))
            }
        );
    }
    out
}

/// One chat's counts, risks and changes for the Markdown report.
#[derive(Default)]
struct ChatRow<'a> {
    counts: [usize; 6],
    risks: BTreeMap<Risk, usize>,
    changes: Vec<&'a Change>,
}

/// How much a change to someone's access matters to a reviewer, in the
/// order the pull request comment shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Risk {
    /// Removed from the chat or banned.
    Removal,
    /// An admin loses the seat or some rights.
    Demotion,
    /// A new admin seat, or an admin gains rights.
    Privilege,
    /// A member is restricted.
    Restriction,
    /// Restrictions lifted, a ban lifted.
    Lifted,
    /// Joins and invites.
    Join,
    /// Not an access change (settings, topics, links).
    Other,
}

impl Risk {
    fn icon(self) -> &'static str {
        match self {
            Risk::Removal => "🚫 removal",
            Risk::Demotion => "⬇️ demotion",
            Risk::Privilege => "⚠️ privilege",
            Risk::Restriction => "🔒 restriction",
            Risk::Lifted => "🔓 lifted",
            Risk::Join => "✉️ join",
            Risk::Other => "",
        }
    }

    fn counted(self, n: usize) -> String {
        let (one, many) = match self {
            Risk::Removal => ("removal or ban", "removals and bans"),
            Risk::Demotion => ("admin demotion", "admin demotions"),
            Risk::Privilege => (
                "privilege change (new admin seat or more rights)",
                "privilege changes (new admin seats or more rights)",
            ),
            Risk::Restriction => ("restriction", "restrictions"),
            Risk::Lifted => ("restriction or ban lifted", "restrictions and bans lifted"),
            Risk::Join => ("join or invite", "joins and invites"),
            Risk::Other => ("other change", "other changes"),
        };
        format!("{n} {}", if n == 1 { one } else { many })
    }
}

fn risk_counts(counts: &BTreeMap<Risk, usize>) -> String {
    counts
        .iter()
        .map(|(r, n)| r.counted(*n))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The risk of a change to one person's access; `None` for other changes.
fn risk(c: &Change) -> Option<Risk> {
    Some(match &c.op {
        Op::Kick { .. } | Op::Ban { .. } => Risk::Removal,
        op if op.is_demotion() => Risk::Demotion,
        Op::Promote { .. } if c.action == Action::Create => Risk::Privilege,
        Op::Promote { .. } => {
            if c.seat.as_ref().is_some_and(|s| !s.gained.is_empty()) {
                Risk::Privilege
            } else {
                Risk::Demotion
            }
        }
        Op::Restrict { .. } => Risk::Restriction,
        Op::Unrestrict { .. } | Op::Unban { .. } => Risk::Lifted,
        Op::SendInvite { .. } | Op::AddMember { .. } => Risk::Join,
        _ => return None,
    })
}

/// How an override is given on the command line. The planner names only
/// the kind; `cli`'s flags carry these names (a test in `cli` checks every
/// kind against the parser), and every output shows them the same way.
pub fn override_flag(kind: Override) -> &'static str {
    match kind {
        Override::Removals => "--allow-removals",
        Override::Demotions => "--allow-demotions",
        Override::FewAdmins => "--allow-few-admins",
    }
}

/// Versioned JSON: the plan as saved, plus counts. Each guard carries its
/// override kind and, for readers of the JSON, the flag that gives it.
pub fn json(plan: &Plan) -> Value {
    let mut v = serde_json::to_value(plan).expect("plan serialises");
    if let Some(guards) = v.get_mut("guards").and_then(Value::as_array_mut) {
        for (g, guard) in guards.iter_mut().zip(&plan.guards) {
            if let Some(kind) = guard.overridable {
                g["override_flag"] = json!(override_flag(kind));
            }
        }
    }
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
