//! Rendering the final report of an `apply` run: text for a terminal,
//! Markdown for a pull request comment or job summary, versioned JSON for
//! scripts (the GitHub Action reads its outputs from it). Prints what the
//! report holds; decides nothing.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::apply::{Report, RunStatus};
use crate::plan::Plan;

use super::escape;

/// What the run's status means, in one sentence.
fn status_text(report: &Report, run_id: &str) -> String {
    if report.interrupted {
        return format!(
            "interrupted after the change in flight; `orgform apply --resume {run_id}` continues it"
        );
    }
    match report.status() {
        RunStatus::Applied => "applied".to_string(),
        RunStatus::RolledBack => {
            "failed; the rollback is complete: Telegram is as it was before the run".to_string()
        }
        RunStatus::Partial
            if report.rolled_back.is_empty()
                && report.rollback_errors.is_empty()
                && report.uncertain.is_empty() =>
        {
            format!(
                "stopped in the irreversible phase; `orgform apply --resume {run_id}` continues it"
            )
        }
        RunStatus::Partial => "failed; the rollback is INCOMPLETE (see above)".to_string(),
        RunStatus::Reverted => "reverted".to_string(),
        RunStatus::Abandoned => "abandoned".to_string(),
    }
}

fn counts_text(report: &Report) -> String {
    format!(
        "{} applied, {} failed, {} rolled back, {} uncertain, {} not run, {} manual action{} left.",
        report.applied.len(),
        usize::from(report.failed.is_some()),
        report.rolled_back.len(),
        report.uncertain.len(),
        report.not_run.len(),
        report.manual.len(),
        if report.manual.len() == 1 { "" } else { "s" }
    )
}

/// What the operator must do about changes whose outcome is unknown.
fn uncertain_hint(run_id: &str) -> String {
    format!(
        "Record each answer with `orgform state runs {run_id} --assume done|not-done ADDRESS`, then `orgform apply --resume {run_id}` or `orgform rollback {run_id}`."
    )
}

/// Human text for a terminal (notes and errors carry server text: escaped).
pub fn text(plan: &Plan, report: &Report, run_id: &str) -> String {
    let addr = |i: &usize| plan.changes[*i].address.to_string();
    let mut out = String::new();
    for note in &report.notes {
        let _ = writeln!(out, "note: {}", escape::terminal(note));
    }
    if let Some(e) = &report.journal_error {
        let _ = writeln!(
            out,
            "\nThe journal could not be written: {}",
            escape::terminal(e)
        );
    }
    if let Some((i, error)) = &report.failed {
        let _ = writeln!(out, "\nFailed: {}: {}", addr(i), escape::terminal(error));
    }
    if !report.rolled_back.is_empty() || report.status() == RunStatus::RolledBack {
        let list: Vec<String> = report.rolled_back.iter().map(addr).collect();
        let _ = writeln!(out, "Rolled back, in reverse order: {}", list.join(", "));
    }
    for (i, e) in &report.rollback_errors {
        let _ = writeln!(out, "Not rolled back: {}: {}", addr(i), escape::terminal(e));
    }
    if !report.unjournaled.is_empty() {
        let list: Vec<String> = report.unjournaled.iter().map(addr).collect();
        let _ = writeln!(
            out,
            "Done but not in the journal (the journal could not be written): {}",
            list.join(", ")
        );
    }
    if !report.uncertain.is_empty() {
        let _ = writeln!(
            out,
            "\nOutcome UNKNOWN (the call was sent, the answer was lost, and Telegram shows no evidence):"
        );
        for (_, question) in &report.uncertain {
            let _ = writeln!(out, "  {}", escape::terminal(question));
        }
        let _ = writeln!(out, "{}", uncertain_hint(run_id));
    }
    if !report.not_run.is_empty() {
        let list: Vec<String> = report.not_run.iter().map(addr).collect();
        let _ = writeln!(out, "Not run: {}", list.join(", "));
    }
    let _ = writeln!(
        out,
        "\nRun {run_id}: {}. {}",
        status_text(report, run_id),
        counts_text(report)
    );
    out
}

/// Markdown for a pull request comment or a job summary.
pub fn markdown(plan: &Plan, report: &Report, run_id: &str) -> String {
    let addr = |i: &usize| escape::md_code(&plan.changes[*i].address.to_string());
    let mut out = String::new();
    let _ = writeln!(out, "## orgform apply\n");
    let _ = writeln!(
        out,
        "Run `{run_id}`: **{}**. {}\n",
        escape::md_text(&status_text(report, run_id)),
        counts_text(report)
    );
    if let Some((i, error)) = &report.failed {
        let _ = writeln!(
            out,
            "> [!CAUTION]\n> Failed: {}: {}\n",
            addr(i),
            escape::md_text(error)
        );
    }
    if let Some(e) = &report.journal_error {
        let _ = writeln!(
            out,
            "> [!CAUTION]\n> The journal could not be written: {}\n",
            escape::md_text(e)
        );
    }
    if !report.uncertain.is_empty() {
        let _ = writeln!(
            out,
            "> [!WARNING]\n> {} change(s) have an UNKNOWN outcome. {}\n",
            report.uncertain.len(),
            escape::md_text(&uncertain_hint(run_id))
        );
    }
    let mut section = |title: &str, items: Vec<String>| {
        if items.is_empty() {
            return;
        }
        let _ = writeln!(out, "### {title} ({})\n", items.len());
        let mut shown = 0;
        for item in &items {
            if out.len() + item.len() + 400 > super::MARKDOWN_LIMIT {
                break;
            }
            let _ = writeln!(out, "- {item}");
            shown += 1;
        }
        if shown < items.len() {
            let _ = writeln!(
                out,
                "- _…and {} more (see `orgform apply --format json`)_",
                items.len() - shown
            );
        }
        out.push('\n');
    };
    section("Rolled back", report.rolled_back.iter().map(addr).collect());
    section(
        "Not rolled back",
        report
            .rollback_errors
            .iter()
            .map(|(i, e)| format!("{}: {}", addr(i), escape::md_text(e)))
            .collect(),
    );
    section(
        "Outcome unknown",
        report
            .uncertain
            .iter()
            .map(|(_, q)| escape::md_text(q))
            .collect(),
    );
    section(
        "Done but not journaled",
        report.unjournaled.iter().map(addr).collect(),
    );
    section("Not run", report.not_run.iter().map(addr).collect());
    section(
        "Notes",
        report.notes.iter().map(|n| escape::md_text(n)).collect(),
    );
    section("Applied", report.applied.iter().map(addr).collect());
    out
}

/// Versioned JSON: the run, its status and counts, and the addresses of
/// what was applied, failed, rolled back and not run.
pub fn json(plan: &Plan, report: &Report, run_id: &str) -> Value {
    let addrs = |v: &[usize]| -> Vec<String> {
        v.iter()
            .map(|i| plan.changes[*i].address.to_string())
            .collect()
    };
    json!({
        "format_version": 1,
        "run_id": run_id,
        "status": report.status(),
        "summary": {
            "applied": report.applied.len(),
            "failed": usize::from(report.failed.is_some()),
            "rolled_back": report.rolled_back.len(),
            "uncertain": report.uncertain.len(),
            "not_run": report.not_run.len(),
            "manual": report.manual.len(),
        },
        "interrupted": report.interrupted,
        "journal_error": report.journal_error,
        "uncertain": report.uncertain.iter().map(|(i, q)| json!({
            "address": plan.changes[*i].address.to_string(),
            "check": q,
        })).collect::<Vec<_>>(),
        "unjournaled": addrs(&report.unjournaled),
        "applied": addrs(&report.applied),
        "failed": report.failed.as_ref().map(|(i, e)| json!({
            "address": plan.changes[*i].address.to_string(),
            "error": e,
        })),
        "rolled_back": addrs(&report.rolled_back),
        "rollback_errors": report.rollback_errors.iter().map(|(i, e)| json!({
            "address": plan.changes[*i].address.to_string(),
            "error": e,
        })).collect::<Vec<_>>(),
        "not_run": addrs(&report.not_run),
        "manual": addrs(&report.manual),
        "notes": report.notes,
    })
}

/// The Markdown report when the plan had nothing to apply.
pub fn nothing_markdown() -> String {
    "## orgform apply\n\n**Nothing to apply.** Telegram matches the configuration.\n".to_string()
}

/// The JSON report when the plan had nothing to apply (no run was made).
pub fn nothing_json() -> Value {
    json!({
        "format_version": 1,
        "run_id": null,
        "status": "nothing_to_apply",
        "summary": {"applied": 0, "failed": 0, "rolled_back": 0, "uncertain": 0, "not_run": 0, "manual": 0},
        "applied": [],
    })
}
