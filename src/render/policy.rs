//! Output of policy evaluations: text for a terminal, Markdown for a pull
//! request comment, JSON for a reviewer bot, and GitHub workflow
//! annotations at the config line that caused each violation.
//!
//! `audit` violations are only recorded: they are in the JSON (and counted
//! in the text summary), never printed one by one nor annotated.

use std::fmt::Write;

use serde_json::{Value, json};

use super::{Style, md_cell};
use crate::policy::{Comparison, Report, Violation, rollout::LeftOut};
use crate::spec::{PolicyAction, PolicySubject};

/// Terminal-safe text: control characters (escape codes) shown as `?`.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

fn action_name(a: PolicyAction) -> &'static str {
    match a {
        PolicyAction::Deny => "deny",
        PolicyAction::Warn => "warn",
        PolicyAction::Audit => "audit",
    }
}

fn subject_name(s: PolicySubject) -> &'static str {
    match s {
        PolicySubject::Chat => "chat",
        PolicySubject::Person => "person",
        PolicySubject::Seat => "seat",
        PolicySubject::Grant => "grant",
    }
}

/// `2 denied, 1 warning, 3 audited` (only non-zero parts), or `6 pass`.
pub fn summary(report: &Report) -> String {
    let deny = report.count(PolicyAction::Deny);
    let warn = report.count(PolicyAction::Warn);
    let audit = report.count(PolicyAction::Audit);
    let exempt = report.violations.iter().filter(|v| !v.counts()).count();
    let mut parts = Vec::new();
    if deny > 0 {
        parts.push(format!("{deny} denied"));
    }
    if warn > 0 {
        parts.push(format!(
            "{warn} warning{}",
            if warn == 1 { "" } else { "s" }
        ));
    }
    if audit > 0 {
        parts.push(format!("{audit} audited"));
    }
    if exempt > 0 {
        parts.push(format!("{exempt} exempted"));
    }
    if parts.is_empty() {
        format!("{} pass", report.rules)
    } else {
        parts.join(", ")
    }
}

fn violation_line(v: &Violation, style: Style) -> String {
    let (mark, color) = match (v.action, v.counts()) {
        (_, false) => ("-", "\x1b[2m"),
        (PolicyAction::Deny, _) => ("✗", "\x1b[31m"),
        (PolicyAction::Warn, _) => ("!", "\x1b[33m"),
        (PolicyAction::Audit, _) => ("·", "\x1b[2m"),
    };
    let mut out = String::new();
    let head = format!(
        "{mark} {} {}: {}",
        action_name(v.action),
        clean(&v.rule),
        clean(&v.subject_text())
    );
    if style == Style::Color {
        let _ = write!(out, "  {color}{head}\x1b[0m");
    } else {
        let _ = write!(out, "  {head}");
    }
    let _ = writeln!(out, " — {}", clean(&v.message));
    if let Some(e) = &v.error {
        let _ = writeln!(out, "      could not evaluate: {}", clean(e));
    }

    if let Some(l) = &v.location {
        let _ = write!(out, "      at {}", clean(&l.to_string()));
        if let Some(r) = &v.rule_location
            && r != l
        {
            let _ = write!(out, " (rule at {})", clean(&r.to_string()));
        }
        out.push('\n');
    }
    if !v.why.is_empty() {
        let _ = writeln!(out, "      why: {}", clean(&v.why.join("; ")));
    }
    if let Some(x) = &v.exempted_by {
        let _ = writeln!(
            out,
            "      exempted until {} (approved by {}: {})",
            clean(&x.until),
            clean(&x.approved_by),
            clean(&x.reason)
        );
    }
    if let Some(x) = &v.lapsed_exception {
        let _ = writeln!(
            out,
            "      the exception approved by {} lapsed on {}",
            clean(&x.approved_by),
            clean(&x.until)
        );
    }
    out
}

/// Text: deny and warn violations one by one (and exempted ones, dimmed),
/// audits as a count. Nothing when every rule passes: the summary line of
/// the command says so ([`summary`]).
pub fn text(report: &Report, style: Style) -> String {
    if report.rules == 0 || report.violations.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "\nPolicies (over the {}): {}\n",
        describe_over(&report.over),
        summary(report)
    );
    for v in &report.violations {
        if v.action == PolicyAction::Audit && v.counts() {
            continue;
        }
        out.push_str(&violation_line(v, style));
    }
    let audit = report.count(PolicyAction::Audit);
    if audit > 0 {
        let _ = writeln!(
            out,
            "  {audit} audit finding{} recorded (not enforced; see --format json)",
            if audit == 1 { "" } else { "s" }
        );
    }
    out
}

fn describe_over(over: &str) -> &str {
    match over {
        "config" => "config",
        "plan" => "org as this plan leaves it",
        "live" => "live org in Telegram",
        other => other,
    }
}

fn md_row(v: &Violation) -> String {
    let at = v
        .location
        .as_ref()
        .map(|l| format!("`{}`", l.to_string().replace('`', "'")))
        .unwrap_or_default();
    let mut note = md_cell(&v.message);
    if let Some(x) = &v.exempted_by {
        let _ = write!(
            note,
            " (exempted until {} by {})",
            md_cell(&x.until),
            md_cell(&x.approved_by)
        );
    }
    if let Some(x) = &v.lapsed_exception {
        let _ = write!(note, " (exception lapsed on {})", md_cell(&x.until));
    }
    if let Some(e) = &v.error {
        let _ = write!(note, " (could not evaluate: {})", md_cell(e));
    }
    format!(
        "| {} | `{}` | {} | {} | {} |\n",
        action_name(v.action),
        md_cell(&v.rule).replace('`', "'"),
        md_cell(&v.subject_text()),
        note,
        at
    )
}

fn md_table(violations: &[&Violation]) -> String {
    let mut out =
        String::from("| action | rule | subject | message | config |\n|---|---|---|---|---|\n");
    for v in violations {
        out.push_str(&md_row(v));
    }
    out
}

/// Markdown for a PR comment or job summary.
pub fn markdown(report: &Report) -> String {
    if report.rules == 0 {
        return String::new();
    }
    let head = if report.is_clean() && report.violations.is_empty() {
        format!("All {} policy rules pass.", report.rules)
    } else {
        md_cell(&summary(report))
    };
    let mut out = format!("### Policies\n\n{head}\n\n");
    let shown: Vec<&Violation> = report.violations.iter().collect();
    if !shown.is_empty() {
        out.push_str(&md_table(&shown));
        out.push('\n');
    }
    out
}

/// Markdown for `diff`: what the change introduces first.
pub fn comparison_markdown(c: &Comparison) -> String {
    let mut out = String::from("### Policies\n\n");
    if c.new.is_empty() && c.existing.is_empty() && c.fixed.is_empty() {
        out.push_str("No policy violations before or after this change.\n\n");
        return out;
    }
    let _ = writeln!(
        out,
        "This change introduces **{}** violation{}, leaves {} in place and fixes {}.\n",
        c.new.len(),
        if c.new.len() == 1 { "" } else { "s" },
        c.existing.len(),
        c.fixed.len()
    );
    for (title, list, open) in [
        ("New violations", &c.new, true),
        ("Existing violations", &c.existing, false),
        ("Fixed by this change", &c.fixed, false),
    ] {
        if list.is_empty() {
            continue;
        }
        let refs: Vec<&Violation> = list.iter().collect();
        if open {
            let _ = writeln!(out, "#### {title}\n\n{}", md_table(&refs));
        } else {
            let _ = writeln!(
                out,
                "<details><summary>{title} ({})</summary>\n\n{}\n</details>\n",
                list.len(),
                md_table(&refs)
            );
        }
    }
    out
}

/// Text for `diff`.
pub fn comparison_text(c: &Comparison, style: Style) -> String {
    if c.new.is_empty() && c.existing.is_empty() && c.fixed.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "Policies: {} new, {} existing, {} fixed by this change\n",
        c.new.len(),
        c.existing.len(),
        c.fixed.len()
    );
    for (title, list) in [
        ("new", &c.new),
        ("existing", &c.existing),
        ("fixed", &c.fixed),
    ] {
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(out, " {title}:");
        for v in list {
            out.push_str(&violation_line(v, style));
        }
    }
    out
}

/// JSON for a reviewer bot: stable keys, every violation with its action,
/// subject and config location.
pub fn json(report: &Report) -> Value {
    json!({
        "over": report.over,
        "rules": report.rules,
        "evaluations": report.evaluations,
        "denied": report.denied(),
        "counts": {
            "deny": report.count(PolicyAction::Deny),
            "warn": report.count(PolicyAction::Warn),
            "audit": report.count(PolicyAction::Audit),
            "exempted": report.violations.iter().filter(|v| !v.counts()).count(),
        },
        "violations": report.violations.iter().map(violation_json).collect::<Vec<_>>(),
    })
}

fn violation_json(v: &Violation) -> Value {
    let mut value = serde_json::to_value(v).expect("violation serialises");
    value["subject_text"] = json!(v.subject_text());
    value["subject"] = json!(subject_name(v.subject));
    value
}

pub fn comparison_json(c: &Comparison) -> Value {
    let list = |l: &[Violation]| l.iter().map(violation_json).collect::<Vec<_>>();
    json!({
        "denied": c.denied(),
        "new": list(&c.new),
        "existing": list(&c.existing),
        "fixed": list(&c.fixed),
    })
}

/// GitHub workflow commands: an error per deny, a warning per warn, at
/// the config line that caused it.
pub fn github(report: &Report) -> String {
    github_of(report.violations.iter())
}

/// Annotations for only the violations a change introduces.
pub fn comparison_github(c: &Comparison) -> String {
    github_of(c.new.iter())
}

fn github_of<'a>(violations: impl Iterator<Item = &'a Violation>) -> String {
    let mut out = String::new();
    for v in violations.filter(|v| v.counts()) {
        let level = match v.action {
            PolicyAction::Deny => "error",
            PolicyAction::Warn => "warning",
            PolicyAction::Audit => continue,
        };
        let mut props = Vec::new();
        if let Some(l) = &v.location {
            props.push(format!("file={}", escape_property(&l.file)));
            props.push(format!("line={}", l.line));
            props.push(format!("col={}", l.column));
        }
        props.push(format!(
            "title={}",
            escape_property(&format!("policy {}", v.rule))
        ));
        let _ = writeln!(
            out,
            "::{level} {}::{}",
            props.join(","),
            escape_data(&format!("{}: {}", v.subject_text(), v.message))
        );
    }
    out
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// The line naming what a limited run left out.
pub fn left_out_text(l: &LeftOut) -> String {
    let mut out = format!("\nLimited to {}", clean(&l.selection));
    if !l.people.is_empty() {
        let _ = write!(out, " ({} people)", l.people.len());
    }
    out.push('.');
    if l.chats.is_empty() && l.changes == 0 {
        out.push_str(" Nothing was left out.\n");
        return out;
    }
    if !l.chats.is_empty() {
        let names: Vec<String> = l.chats.iter().take(20).map(|c| clean(c)).collect();
        let more = l.chats.len().saturating_sub(names.len());
        let _ = write!(
            out,
            " Left out {} chat{}: {}{}.",
            l.chats.len(),
            if l.chats.len() == 1 { "" } else { "s" },
            names.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        );
    }
    if l.changes > 0 {
        let _ = write!(
            out,
            " Left out {} change{} concerning other people.",
            l.changes,
            if l.changes == 1 { "" } else { "s" }
        );
    }
    out.push('\n');
    out
}

pub fn left_out_markdown(l: &LeftOut) -> String {
    format!("> {}\n", md_cell(left_out_text(l).trim_end()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Location;

    fn hostile() -> Report {
        Report {
            over: "config".into(),
            rules: 1,
            evaluations: 1,
            violations: vec![Violation {
                rule: "r\x1b[31m".into(),
                action: PolicyAction::Deny,
                subject: PolicySubject::Seat,
                chat: Some("c|x".into()),
                person: Some("p\n::error::x".into()),
                grant: None,
                message: "m\x1b]8;;http://evil\x07 | <b>\n```".into(),
                location: Some(Location {
                    file: "a,b:c.yaml".into(),
                    line: 3,
                    column: 5,
                }),
                rule_location: None,
                exempted_by: None,
                lapsed_exception: None,
                error: None,
                why: vec!["member via everyone".into()],
            }],
        }
    }

    #[test]
    fn hostile_text_stays_inert_in_every_format() {
        let r = hostile();
        let text = text(&r, Style::Plain);
        assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text:?}");
        assert!(text.contains("why: member via everyone"));
        let md = markdown(&r);
        let row = md.lines().find(|l| l.starts_with("| deny")).unwrap();
        assert!(!row.contains("<b>"), "{row}");
        assert_eq!(row.matches(" | ").count(), 4, "{row}");
        assert!(md.lines().all(|l| !l.starts_with("::")), "{md}");
        let gh = github(&r);
        assert_eq!(gh.lines().count(), 1, "{gh}");
        assert!(gh.starts_with("::error file=a%2Cb%3Ac.yaml,line=3,col=5,title=policy r"));
        let json = serde_json::to_string(&json(&r)).unwrap();
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back["violations"][0]["person"], "p\n::error::x");
    }
}
