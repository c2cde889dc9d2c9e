//! What an import did or would do, as text: the chats read and what each
//! became, people and roles added or reused, conflicts, files written.

use crate::import::chats::{ChatOutcome, Report};
use crate::import::people::PeopleReport;

/// The report as text, for the terminal (no colour, stable order).
pub fn chats_text(report: &Report, written: bool) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Imported {} chats from {}.",
        report.chats.len(),
        report.source
    );
    for c in &report.chats {
        let outcome = match &c.outcome {
            ChatOutcome::Added => "added".to_string(),
            ChatOutcome::Unchanged => "unchanged".to_string(),
            ChatOutcome::Replaced => "replaced".to_string(),
            ChatOutcome::Kept => "kept (conflict)".to_string(),
            ChatOutcome::Declared(file) => format!(
                "already declared in {file}, kept (`orgform plan` compares it with Telegram)"
            ),
        };
        let _ = write!(
            out,
            "  {} ({} {}, {:?}): {outcome}; {} admins, {} members known",
            c.key, c.kind, c.id, c.title, c.admins, c.members
        );
        if c.unseen > 0 {
            let _ = write!(
                out,
                "; {} of {} members the Bot API cannot show",
                c.unseen, c.member_count
            );
        }
        out.push('\n');
    }
    for (id, why) in &report.unreadable {
        let _ = writeln!(out, "  {id}: not imported: {why}");
    }
    let _ = writeln!(
        out,
        "People: {} added, {} already in the config.",
        report.people_added.len(),
        report.people_reused
    );
    let reused: Vec<&str> = report.roles_reused.iter().map(String::as_str).collect();
    let _ = writeln!(
        out,
        "Roles: {} added{}, {} reused{}.",
        report.roles_added.len(),
        list_suffix(
            &report
                .roles_added
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
        ),
        reused.len(),
        list_suffix(&reused)
    );
    let unseen: u64 = report.chats.iter().map(|c| c.unseen).sum();
    if unseen > 0 {
        let _ = writeln!(
            out,
            "Not visible: {unseen} members in all; the Bot API lists only admins, so members appear as the bot sees them join (chat_member updates). The chats are imported as `membership: additive`, so nobody unseen is removed."
        );
    }
    for n in &report.notes {
        let _ = writeln!(out, "note: {n}");
    }
    for c in &report.conflicts {
        let _ = writeln!(out, "conflict: {c}");
    }
    for p in &report.blocked {
        let _ = writeln!(
            out,
            "conflict: {} was not written by orgform import; --force rewrites it (entries kept, comments lost)",
            p.display()
        );
    }
    if written {
        for (path, outcome) in &report.files {
            let _ = writeln!(out, "{}: {}", path.display(), outcome.label());
        }
    } else if !report.blocked.is_empty() {
        let _ = writeln!(out, "Nothing was written.");
    }
    out
}

/// The report as text.
pub fn people_text(report: &PeopleReport) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let usable = report.rows - report.problems.len();
    let _ = writeln!(
        out,
        "Read {} rows from {}: {usable} usable, {} not.",
        report.rows,
        report.source,
        report.problems.len()
    );
    if !report.ignored_columns.is_empty() {
        let _ = writeln!(
            out,
            "Columns ignored: {}.",
            report.ignored_columns.join(", ")
        );
    }
    if !report.departments_checked {
        let _ = writeln!(
            out,
            "Departments and roles were not checked: there is no config next to the output file."
        );
    }
    for p in &report.problems {
        let _ = writeln!(out, "  row {}: {}", p.row, p.message);
    }
    let c = &report.changes;
    let (added, changed_word, gone_word) = if report.refused.is_some() {
        ("Would add", "Would change", "Would be gone")
    } else {
        ("Added", "Changed", "Gone")
    };
    let _ = writeln!(out, "{added} ({}): {}", c.added.len(), c.added.join(", "));
    let changed: Vec<String> = c
        .changed
        .iter()
        .map(|(h, f)| format!("{h} ({})", f.join(", ")))
        .collect();
    let _ = writeln!(
        out,
        "{changed_word} ({}): {}",
        changed.len(),
        changed.join(", ")
    );
    let gone_note = if c.gone.is_empty() {
        ""
    } else if report.offboarded {
        " — marked offboarded"
    } else {
        " — kept as they are (--offboard-missing marks them offboarded)"
    };
    let _ = writeln!(
        out,
        "{gone_word} ({}): {}{gone_note}",
        c.gone.len(),
        c.gone.join(", ")
    );
    let _ = writeln!(out, "Unchanged: {}", c.unchanged);
    if let Some(r) = &report.refused {
        let _ = writeln!(out, "{r}");
    }
    out
}

fn list_suffix(items: &[&str]) -> String {
    if items.is_empty() {
        String::new()
    } else {
        format!(" ({})", items.join(", "))
    }
}
