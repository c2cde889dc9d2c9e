//! Rendering drift reports: text for terminals, Markdown for a GitHub issue
//! body (summary table first, details folded, under GitHub's limit) and
//! versioned JSON. Prints what the report holds; decides nothing.

use std::fmt::Write as _;

use serde_json::Value;

use crate::drift::folders::{FolderDrift, FolderItem};
use crate::drift::{ChatDrift, DriftReport, Fixer, Item, Kind, Status, UpdateFeed};

use super::Style;
use super::escape;
use super::plan::value_text;
use super::{md_cell as md_escape, push_fitting};

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// One line saying how much drift there is and who fixes it.
pub fn summary_line(report: &DriftReport) -> String {
    let s = &report.summary;
    if s.items == 0 {
        return format!(
            "No drift: Telegram matches the configuration in all {}.",
            plural(s.chats, "chat", "chats")
        );
    }
    let mut line = format!(
        "Drift: {} in {} of {}: {} fixed by `orgform apply`, {} a person must fix",
        plural(s.items, "item", "items"),
        s.chats_with_drift,
        plural(s.chats, "chat", "chats"),
        s.apply,
        s.person
    );
    if s.unknown > 0 {
        let _ = write!(line, " ({} could not be checked)", s.unknown);
    }
    if s.folders > 0 {
        let _ = write!(line, "; {} of them in chat folders", s.folders);
    }
    line.push('.');
    line
}

/// The folders' part of a report, for a terminal.
fn folders_text(folders: &FolderDrift, style: Style) -> String {
    let mut out = String::new();
    match folders {
        FolderDrift::NotChecked { reason } => {
            let _ = writeln!(
                out,
                "Chat folders were not checked: {}.\n",
                escape::terminal(reason)
            );
        }
        FolderDrift::Checked { items } if items.is_empty() => {}
        FolderDrift::Checked { items } => {
            let _ = writeln!(out, "chat folders");
            let mut last: Option<&str> = None;
            for item in items {
                if last != Some(item.address.as_str()) {
                    let _ = writeln!(out, "  {}:", escape::terminal(item.address.as_str()));
                    last = Some(item.address.as_str());
                }
                let line = format!(
                    "    ~ {} {}: {}",
                    fixer_tag(item.fixer),
                    item.kind.title(),
                    item.summary
                );
                let line = escape::terminal(&line);
                let line = if style == Style::Plain {
                    line.into_owned()
                } else {
                    format!("\x1b[33m{line}\x1b[0m")
                };
                let _ = writeln!(out, "{line}");
                folder_values(&mut out, item);
            }
            out.push('\n');
        }
    }
    out
}

fn folder_values(out: &mut String, item: &FolderItem) {
    expected_actual(out, &item.expected, &item.actual);
    let _ = writeln!(out, "        fix:      {}", escape::terminal(&item.fix));
}

/// An item's `expected:` and `actual:` lines (none when both are nothing).
fn expected_actual(out: &mut String, expected: &Value, actual: &Value) {
    if !(expected.is_null() && actual.is_null()) {
        let _ = writeln!(
            out,
            "        expected: {}",
            escape::terminal(&value_text(expected))
        );
        let _ = writeln!(
            out,
            "        actual:   {}",
            escape::terminal(&value_text(actual))
        );
    }
}

/// The folders' part of a report, as Markdown.
fn folders_markdown(folders: &FolderDrift) -> String {
    let mut out = String::new();
    match folders {
        FolderDrift::NotChecked { reason } => {
            let _ = writeln!(
                out,
                "> [!NOTE]\n> Chat folders were not checked: {}.\n",
                md_escape(reason)
            );
        }
        FolderDrift::Checked { items } if items.is_empty() => {}
        FolderDrift::Checked { items } => {
            let _ = writeln!(out, "### Chat folders\n");
            let _ = writeln!(out, "| | address | kind | what | expected | actual | fix |");
            let _ = writeln!(out, "|---|---|---|---|---|---|---|");
            for item in items {
                let _ = writeln!(
                    out,
                    "| 🤖 | {} | {} | {} | {} | {} | {} |",
                    escape::md_code(item.address.as_str()),
                    item.kind.title(),
                    md_escape(&item.summary),
                    md_value(&item.expected),
                    md_value(&item.actual),
                    escape::md_own_text(&item.fix)
                );
            }
            out.push('\n');
        }
    }
    out
}

/// How fresh orgform's knowledge of who is in the chats is.
pub fn knowledge_line(report: &DriftReport) -> String {
    let feed = match &report.updates {
        UpdateFeed::Drained { updates } => {
            format!("membership updates were read just now ({} new)", updates)
        }
        UpdateFeed::Webhook => {
            "a webhook receives the membership updates, so orgform learned nothing new in this run"
                .to_string()
        }
        UpdateFeed::Watch => {
            "orgform watch keeps the membership ledger, so this run read it instead of the updates"
                .to_string()
        }
        UpdateFeed::NotRead => "membership updates were not read".to_string(),
    };
    let readable: Vec<&ChatDrift> = report
        .chats
        .iter()
        .filter(|c| c.members.count.is_some())
        .collect();
    let known: u64 = readable.iter().map(|c| c.members.known).sum();
    let counted: u64 = readable.iter().filter_map(|c| c.members.count).sum();
    let from_updates: u64 = readable
        .iter()
        .filter_map(|c| c.members.sources.get("update"))
        .sum();
    let last = report
        .chats
        .iter()
        .filter_map(|c| c.members.last_update)
        .max();
    let oldest = report
        .chats
        .iter()
        .filter_map(|c| c.members.oldest_observation)
        .min();
    let unseen_chats = report
        .chats
        .iter()
        .filter(|c| c.members.unseen.is_some_and(|u| u != 0))
        .count();
    let mut out = format!(
        "Member knowledge: {feed}; orgform knows {known} of the {counted} people Telegram counts in {}",
        plural(readable.len(), "chat", "chats")
    );
    if from_updates > 0 {
        let _ = write!(out, "; {from_updates} known from updates");
    }
    if let Some(t) = last {
        let _ = write!(
            out,
            ", newest update {}",
            crate::state::time::instant_text(t)
        );
    }
    if let Some(t) = oldest {
        let _ = write!(
            out,
            "; oldest member observation {}",
            crate::state::time::instant_text(t)
        );
    }
    if unseen_chats > 0 {
        let _ = write!(
            out,
            "; {} where the count differs",
            plural(unseen_chats, "chat", "chats")
        );
    }
    out.push('.');
    out
}

fn fixer_tag(fixer: Fixer) -> &'static str {
    match fixer {
        Fixer::Apply => "[apply] ",
        Fixer::Person => "[person]",
    }
}

fn mark(status: Status) -> &'static str {
    match status {
        Status::Drift => "~",
        Status::Unknown => "?",
    }
}

/// A drift line for a terminal: made safe (it carries text from Telegram),
/// then coloured.
fn paint(style: Style, item: &Item, text: &str) -> String {
    let text = escape::terminal(text);
    if style == Style::Plain {
        return text.into_owned();
    }
    let code = match (item.status, item.fixer) {
        (Status::Unknown, _) => "35",
        (_, Fixer::Apply) => "33",
        (_, Fixer::Person) => "31",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

fn chat_header(c: &ChatDrift) -> String {
    format!(
        "chat.{} ({} {}, membership {})",
        c.key,
        c.kind,
        c.id,
        format!("{:?}", c.membership).to_lowercase()
    )
}

fn members_text(c: &ChatDrift) -> String {
    let m = &c.members;
    let mut out = match m.count {
        Some(count) => format!("Telegram counts {count}, orgform knows {}", m.known),
        None => format!("Telegram's count is unknown, orgform knows {}", m.known),
    };
    let from_sources: u64 = m.sources.values().sum();
    let mut parts = vec![format!(
        "{} admins and the bot read now",
        m.known.saturating_sub(from_sources)
    )];
    parts.extend(m.sources.iter().map(|(s, n)| format!("{n} via {s}")));
    let _ = write!(out, " ({})", parts.join(", "));
    if let Some(t) = m.last_update {
        let _ = write!(
            out,
            "; newest update {}",
            crate::state::time::instant_text(t)
        );
    }
    out
}

/// Human text for a terminal.
pub fn text(report: &DriftReport, style: Style) -> String {
    let mut out = String::new();
    for chat in report.chats.iter().filter(|c| !c.items.is_empty()) {
        let _ = writeln!(out, "{}", chat_header(chat));
        let _ = writeln!(out, "  members: {}", members_text(chat));
        let mut last_kind: Option<Kind> = None;
        for item in &chat.items {
            if last_kind != Some(item.kind) {
                let _ = writeln!(out, "  {}:", item.kind.title());
                last_kind = Some(item.kind);
            }
            let line = format!(
                "    {} {} {}: {}",
                mark(item.status),
                fixer_tag(item.fixer),
                item.address,
                item.summary
            );
            let _ = writeln!(out, "{}", paint(style, item, &line));
            expected_actual(&mut out, &item.expected, &item.actual);
            for w in &item.why {
                let _ = writeln!(out, "        why:      {}", escape::terminal(w));
            }
            if let Some(by) = &item.changed_by {
                let _ = writeln!(out, "        by:       {}", escape::terminal(by));
            }
            let _ = writeln!(out, "        fix:      {}", escape::terminal(&item.fix));
        }
        out.push('\n');
    }
    let spots: Vec<(&ChatDrift, &String)> = report
        .chats
        .iter()
        .flat_map(|c| c.blind_spots.iter().map(move |s| (c, s)))
        .collect();
    if let Some(folders) = &report.folders {
        out.push_str(&folders_text(folders, style));
    }
    if !spots.is_empty() {
        let _ = writeln!(
            out,
            "Not visible through the Bot API (checked by hand, if at all):"
        );
        for (c, s) in spots {
            let _ = writeln!(out, "  chat.{}: {}", c.key, escape::terminal(s));
        }
        out.push('\n');
    }
    let _ = writeln!(out, "{}", knowledge_line(report));
    let _ = writeln!(out, "{}", summary_line(report));
    out
}

fn md_value(v: &Value) -> String {
    if v.is_null() {
        return "—".to_string();
    }
    escape::md_code(&value_text(v))
}

/// Markdown for a GitHub issue body, always under GitHub's limit.
pub fn markdown(report: &DriftReport) -> String {
    let mut head = String::new();
    let _ = writeln!(head, "## orgform drift\n");
    let _ = writeln!(head, "Checked at {}.\n", report.checked_at);
    if !report.has_drift() {
        let _ = writeln!(head, "**No drift.** Telegram matches the configuration.\n");
        if let Some(folders) = &report.folders {
            head.push_str(&folders_markdown(folders));
        }
        let _ = writeln!(head, "{}", md_escape(&knowledge_line(report)));
        return head;
    }
    let s = &report.summary;
    let _ = writeln!(head, "{}\n", summary_line(report));
    if s.unknown > 0 {
        let _ = writeln!(
            head,
            "> [!WARNING]\n> {} could not be checked through the Bot API: they are listed as unknown, not as \"no drift\".\n",
            plural(s.unknown, "item", "items")
        );
    }
    if s.chats_with_drift > 0 {
        let _ = writeln!(
            head,
            "| chat | 🤖 apply fixes | ✋ a person must fix | ❓ unknown | what |"
        );
        let _ = writeln!(head, "|---|---:|---:|---:|---|");
    }
    for chat in report.chats.iter().filter(|c| !c.items.is_empty()) {
        let apply = chat
            .items
            .iter()
            .filter(|i| i.fixer == Fixer::Apply)
            .count();
        let person = chat
            .items
            .iter()
            .filter(|i| i.fixer == Fixer::Person)
            .count();
        let unknown = chat
            .items
            .iter()
            .filter(|i| i.status == Status::Unknown)
            .count();
        let mut kinds: Vec<&str> = chat.items.iter().map(|i| i.kind.title()).collect();
        kinds.dedup();
        let _ = writeln!(
            head,
            "| {} | {apply} | {person} | {unknown} | {} |",
            escape::md_code(&chat.key),
            kinds.join(", ")
        );
    }
    let _ = writeln!(head, "\n{}\n", md_escape(&knowledge_line(report)));
    if let Some(folders) = &report.folders {
        head.push_str(&folders_markdown(folders));
    }

    let mut details = Vec::new();
    for chat in report.chats.iter().filter(|c| !c.items.is_empty()) {
        let mut d = String::new();
        let _ = writeln!(
            d,
            "<details><summary><code>{}</code>: {}</summary>\n",
            escape::html(&chat.key),
            plural(chat.items.len(), "item", "items")
        );
        let _ = writeln!(
            d,
            "{} — members: {}\n",
            md_escape(&chat_header(chat)),
            md_escape(&members_text(chat))
        );
        let _ = writeln!(d, "| | fixer | address | what | expected | actual | fix |");
        let _ = writeln!(d, "|---|---|---|---|---|---|---|");
        for item in &chat.items {
            let icon = match (item.status, item.fixer) {
                (Status::Unknown, _) => "❓",
                (_, Fixer::Apply) => "🤖",
                (_, Fixer::Person) => "✋",
            };
            let mut what = item.summary.clone();
            if !item.why.is_empty() {
                let _ = write!(what, " (why: {})", item.why.join("; "));
            }
            if let Some(by) = &item.changed_by {
                let _ = write!(what, " (changed by {by})");
            }
            let _ = writeln!(
                d,
                "| {icon} | {} | {} | {} | {} | {} | {} |",
                item.fixer.label(),
                escape::md_code(&item.address.to_string()),
                md_escape(&what),
                md_value(&item.expected),
                md_value(&item.actual),
                escape::md_own_text(&item.fix)
            );
        }
        if !chat.blind_spots.is_empty() {
            let _ = writeln!(
                d,
                "\nNot visible through the Bot API: {}.",
                md_escape(&chat.blind_spots.join("; "))
            );
        }
        let _ = writeln!(d, "\n</details>\n");
        details.push(d);
    }
    let reserve = 400;
    let mut out = head;
    let shown = push_fitting(&mut out, &details, reserve);
    if shown < details.len() {
        let rest = details.len() - shown;
        let _ = writeln!(
            out,
            "_Details for {} were cut to fit GitHub's 65,536-character limit; run `orgform drift --format json` for all of them._",
            plural(rest, "more chat", "more chats")
        );
    }
    out
}

/// Versioned JSON: the report as it is (it carries `format_version`).
pub fn json(report: &DriftReport) -> Value {
    serde_json::to_value(report).expect("drift report serialises")
}
