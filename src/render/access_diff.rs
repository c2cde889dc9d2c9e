//! Rendering the effective access diff of `orgform diff`: text for a
//! terminal, Markdown for a pull request (under GitHub's comment limit,
//! details folded) and versioned JSON. Prints what the diff holds; decides
//! nothing.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::Style;
use super::escape;
use super::plan::{value_text, word_diff};
use super::{MARKDOWN_LIMIT, md_cell as md_escape, push_fitting};
use crate::access::{
    Access, AccessChange, AccessDiff, ChatDiff, ChatStatus, Effect, FieldChange, PersonDiff,
    Presence,
};
use crate::git::{FileChange, FileStatus, Revision};
use crate::state::MembershipMode;

/// What was compared with what.
pub struct Compared<'a> {
    /// The config path inside the repository (`""` = the root).
    pub path: &'a str,
    /// The base revision as given.
    pub base: &'a Revision,
    /// The commit actually compared: the merge-base of base and head.
    pub merge_base: &'a Revision,
    /// The head revision; `None` = the working tree.
    pub head: Option<&'a Revision>,
    /// Config files that changed between them.
    pub files: &'a [FileChange],
    pub diff: &'a AccessDiff,
}

fn names<T: std::fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    items
        .into_iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn rights_text(rights: &crate::state::Rights) -> String {
    names(rights.iter())
}

fn perms_text(perms: &crate::state::Permissions) -> String {
    if perms.is_empty() {
        "nothing".into()
    } else {
        names(perms.iter())
    }
}

/// One access as words.
pub fn access_text(a: &Access) -> String {
    match a {
        Access::Admin {
            rights,
            title: Some(t),
        } => format!("admin \"{t}\" [{}]", rights_text(rights)),
        Access::Admin {
            rights,
            title: None,
        } => format!("admin [{}]", rights_text(rights)),
        Access::Member => "member".into(),
        Access::Restricted {
            permissions,
            until: Some(u),
        } => format!(
            "restricted until {} (may: {})",
            crate::state::time::instant_text(*u),
            perms_text(permissions)
        ),
        Access::Restricted {
            permissions,
            until: None,
        } => format!("restricted (may: {})", perms_text(permissions)),
        Access::Banned => "banned".into(),
        Access::Removed => "must not be in the chat".into(),
    }
}

/// What one change means for the person, as a sentence.
pub fn change_text(c: &AccessChange) -> String {
    use Access::*;
    let left = match c.membership {
        MembershipMode::Authoritative => "leaves the chat (removed)".to_string(),
        MembershipMode::Additive => {
            "no longer declared (additive chat: reported, not removed)".to_string()
        }
        MembershipMode::Observe => {
            "no longer declared (observe: membership is not managed)".to_string()
        }
    };
    let rights_delta = || {
        let mut parts = Vec::new();
        if !c.rights_gained.is_empty() {
            parts.push(format!("gains {}", rights_text(&c.rights_gained)));
        }
        if !c.rights_lost.is_empty() {
            parts.push(format!("loses {}", rights_text(&c.rights_lost)));
        }
        parts.join("; ")
    };
    match (&c.before, &c.after) {
        (
            None | Some(Banned) | Some(Removed),
            Some(a @ (Admin { .. } | Member | Restricted { .. })),
        ) => {
            let unban = if matches!(c.before, Some(Banned)) {
                " (unbanned)"
            } else {
                ""
            };
            format!("joins as {}{unban}", access_text(a))
        }
        (Some(Admin { .. } | Member | Restricted { .. }), None) => left,
        (Some(_), Some(Removed)) => "must leave the chat".into(),
        (_, Some(Banned)) => "is banned".into(),
        (Some(Banned), None) => "no longer banned".into(),
        (Some(Removed), None) => "no longer required to stay out".into(),
        (None, Some(Removed)) => "must not be in the chat".into(),
        (Some(Member | Restricted { .. }), Some(a @ Admin { .. })) => {
            format!("becomes {}", access_text(a))
        }
        (Some(Admin { rights, .. }), Some(Member)) => format!(
            "stops being admin (loses {}); stays a member",
            rights_text(rights)
        ),
        (Some(Admin { rights, .. }), Some(r @ Restricted { .. })) => {
            format!(
                "stops being admin (loses {}); {}",
                rights_text(rights),
                access_text(r)
            )
        }
        (Some(Admin { title: tb, .. }), Some(Admin { title: ta, .. })) => {
            let mut parts = Vec::new();
            let delta = rights_delta();
            if !delta.is_empty() {
                parts.push(format!("admin rights: {delta}"));
            }
            if tb != ta {
                let t = |t: &Option<String>| {
                    t.as_ref()
                        .map(|t| format!("\"{t}\""))
                        .unwrap_or_else(|| "(none)".into())
                };
                parts.push(format!("title {} → {}", t(tb), t(ta)));
            }
            parts.join("; ")
        }
        (Some(Member), Some(r @ Restricted { .. })) => format!("is {}", access_text(r)),
        (Some(Restricted { .. }), Some(Member)) => format!(
            "restriction lifted (may again: {})",
            perms_text(&c.permissions_gained)
        ),
        (Some(Restricted { until: ub, .. }), Some(Restricted { until: ua, .. })) => {
            let mut parts = Vec::new();
            if !c.permissions_gained.is_empty() {
                parts.push(format!(
                    "may now also {}",
                    perms_text(&c.permissions_gained)
                ));
            }
            if !c.permissions_lost.is_empty() {
                parts.push(format!("may no longer {}", perms_text(&c.permissions_lost)));
            }
            if ub != ua {
                parts.push(format!(
                    "{} → {}",
                    access_text(c.before.as_ref().expect("before")),
                    access_text(c.after.as_ref().expect("after"))
                ));
            }
            format!("restriction changes: {}", parts.join("; "))
        }
        (b, a) => format!(
            "{} → {}",
            b.as_ref()
                .map(access_text)
                .unwrap_or_else(|| "not declared".into()),
            a.as_ref()
                .map(access_text)
                .unwrap_or_else(|| "not declared".into())
        ),
    }
}

/// The reasons of both sides, labelled; once when they are the same.
fn why_lines(c: &AccessChange) -> Vec<(&'static str, &str)> {
    if c.why_before == c.why_after {
        return c.why_after.iter().map(|w| ("why", w.as_str())).collect();
    }
    let was = c.why_before.iter().map(|w| ("was", w.as_str()));
    was.chain(c.why_after.iter().map(|w| ("now", w.as_str())))
        .collect()
}

fn symbol(e: Effect) -> &'static str {
    match e {
        Effect::Gains => "+",
        Effect::Loses => "-",
        Effect::Changes => "~",
    }
}

fn paint(style: Style, e: Effect, text: &str) -> String {
    let text = escape::terminal(text);
    if style == Style::Plain {
        return text.into_owned();
    }
    let code = match e {
        Effect::Gains => "32",
        Effect::Loses => "31",
        Effect::Changes => "33",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

fn field_text(f: &FieldChange) -> String {
    if let (true, Some(b), Some(a)) = (
        f.field == "description",
        f.before.as_str(),
        f.after.as_str(),
    ) {
        return format!("{}: {}", f.field, word_diff(b, a));
    }
    format!(
        "{}: {} → {}",
        f.field,
        value_text(&f.before),
        value_text(&f.after)
    )
}

/// `origin/main (1a2b3c4d5e6f)`, or just the id when that is what was typed.
fn rev_label(r: &Revision) -> String {
    if r.commit.starts_with(&r.rev) {
        r.short().to_string()
    } else {
        format!("{} ({})", r.rev, r.short())
    }
}

fn head_label(c: &Compared) -> String {
    match c.head {
        Some(h) => rev_label(h),
        None => "the working tree".into(),
    }
}

fn base_label(c: &Compared) -> String {
    if c.merge_base.commit == c.base.commit {
        rev_label(c.base)
    } else {
        format!("{} (merge-base {})", c.base.rev, c.merge_base.short())
    }
}

fn files_line(files: &[FileChange]) -> Option<String> {
    if files.is_empty() {
        return None;
    }
    let n = |s: FileStatus| files.iter().filter(|f| f.status == s).count();
    let mut parts = Vec::new();
    for (s, word) in [
        (FileStatus::Added, "added"),
        (FileStatus::Modified, "modified"),
        (FileStatus::Deleted, "deleted"),
        (FileStatus::Renamed, "moved or renamed"),
    ] {
        if n(s) > 0 {
            parts.push(format!("{} {word}", n(s)));
        }
    }
    Some(format!(
        "Config files: {} (where a file lives is not a change; only what the config resolves to counts).",
        parts.join(", ")
    ))
}

fn path_label(path: &str) -> String {
    if path.is_empty() {
        "the repository root".into()
    } else {
        format!("`{path}`")
    }
}

fn summary_line(diff: &AccessDiff) -> String {
    if diff.is_empty() {
        return "No differences in effective access.".into();
    }
    let s = diff.summary();
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    format!(
        "Diff: {} affected, {} changed: {}, {}, {}.",
        plural(s.people, "person", "people"),
        plural(s.chats, "chat", "chats"),
        plural(s.gains, "gain", "gains"),
        plural(s.losses, "loss", "losses"),
        plural(s.changes, "other change", "other changes"),
    )
}

fn person_title(p: &PersonDiff) -> String {
    let mut t = p.handle.clone();
    if let Some(n) = &p.name {
        let _ = write!(t, " ({n})");
    }
    if let Some(old) = &p.renamed_from {
        let _ = write!(t, ", renamed from {old}");
    }
    match p.presence {
        Some(Presence::Added) => t.push_str(", new in the config"),
        Some(Presence::Removed) => t.push_str(", removed from the config"),
        None => {}
    }
    t
}

fn chat_title(c: &ChatDiff) -> String {
    let mut t = format!("{} ({})", c.key, c.id);
    if let Some(old) = &c.renamed_from {
        let _ = write!(t, ", renamed from {old}");
    }
    match c.status {
        ChatStatus::Added => t.push_str(", newly managed"),
        ChatStatus::Removed => {
            t.push_str(", no longer managed (orgform stops changing it; nobody is removed)")
        }
        ChatStatus::Changed => {}
    }
    t
}

/// Human text for a terminal.
pub fn text(c: &Compared, style: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Comparing {} at {} with {}.",
        path_label(c.path).replace('`', ""),
        base_label(c),
        head_label(c)
    );
    if let Some(line) = files_line(c.files) {
        let _ = writeln!(out, "{line}");
    }
    out.push('\n');
    if c.diff.is_empty() {
        let _ = writeln!(out, "{}", summary_line(c.diff));
        return out;
    }
    if !c.diff.people.is_empty() {
        let _ = writeln!(out, "People ({}):", c.diff.people.len());
        for p in &c.diff.people {
            let _ = writeln!(out, "  {}", escape::terminal(&person_title(p)));
            for f in &p.profile {
                let _ = writeln!(out, "    {}", escape::terminal(&field_text(f)));
            }
            for ch in &p.changes {
                let line = format!("    {} {}: {}", symbol(ch.effect), ch.chat, change_text(ch));
                let _ = writeln!(out, "{}", paint(style, ch.effect, &line));
                for (label, w) in why_lines(ch) {
                    let _ = writeln!(out, "        {label}: {}", escape::terminal(w));
                }
            }
        }
        out.push('\n');
    }
    if !c.diff.chats.is_empty() {
        let _ = writeln!(out, "Chats ({}):", c.diff.chats.len());
        for chat in &c.diff.chats {
            let _ = writeln!(out, "  {}", escape::terminal(&chat_title(chat)));
            for f in &chat.settings {
                let _ = writeln!(out, "    ~ {}", escape::terminal(&field_text(f)));
            }
            if !chat.admins.is_empty() {
                let _ = writeln!(out, "    admins changed: {}", chat.admins.join(", "));
            }
            if !chat.members.is_empty() {
                let _ = writeln!(out, "    members changed: {}", chat.members.join(", "));
            }
        }
        out.push('\n');
    }
    let _ = writeln!(out, "{}", summary_line(c.diff));
    out
}

/// Markdown for a pull request comment or a job summary, always under
/// GitHub's 65,536-character limit.
pub fn markdown(c: &Compared) -> String {
    let mut head = String::new();
    let _ = writeln!(head, "## orgform diff\n");
    let _ = writeln!(
        head,
        "Effective access in {} at **{}** compared with **{}**. Telegram was not contacted.\n",
        path_label(c.path),
        md_escape(&head_label(c)),
        md_escape(&base_label(c))
    );
    if let Some(line) = files_line(c.files) {
        let _ = writeln!(head, "{line}\n");
    }
    if c.diff.is_empty() {
        let _ = writeln!(head, "**No differences in effective access.**");
        return head;
    }
    let _ = writeln!(head, "{}\n", summary_line(c.diff));

    // One row per person and chat.
    let mut table = String::new();
    let rows: usize = c.diff.people.iter().map(|p| p.changes.len()).sum();
    if rows > 0 {
        let _ = writeln!(table, "### Effective access changes\n");
        let _ = writeln!(table, "| | person | chat | change | why |");
        let _ = writeln!(table, "|---|---|---|---|---|");
        for p in &c.diff.people {
            for ch in &p.changes {
                let sign = match ch.effect {
                    Effect::Gains => "➕",
                    Effect::Loses => "➖",
                    Effect::Changes => "✏️",
                };
                let why = if ch.why_after.is_empty() {
                    ch.why_before
                        .iter()
                        .map(|w| format!("was: {w}"))
                        .collect::<Vec<_>>()
                } else {
                    ch.why_after.clone()
                };
                let _ = writeln!(
                    table,
                    "| {sign} | {} | {} | {} | {} |",
                    escape::md_code(&p.handle),
                    escape::md_code(&ch.chat),
                    md_escape(&change_text(ch)),
                    md_escape(&why.join("; "))
                );
            }
        }
        table.push('\n');
    }

    // Folded details: people (profile changes and both sides' reasons), then chats.
    let mut details: Vec<String> = Vec::new();
    for p in &c.diff.people {
        let mut d = String::new();
        let n = p.changes.len();
        let _ = writeln!(
            d,
            "<details><summary><code>{}</code>{}: {n} chat{}</summary>\n",
            escape::html(&p.handle),
            md_escape(&person_title(p)[p.handle.len()..]),
            if n == 1 { "" } else { "s" }
        );
        let mut body = String::new();
        for f in &p.profile {
            let _ = writeln!(body, "! {}", escape::md_code_line(&field_text(f)));
        }
        for ch in &p.changes {
            let sign = match ch.effect {
                Effect::Gains => "+",
                Effect::Loses => "-",
                Effect::Changes => "!",
            };
            let line = format!("{}: {}", ch.chat, change_text(ch));
            let _ = writeln!(body, "{sign} {}", escape::md_code_line(&line));
            for (label, w) in why_lines(ch) {
                let _ = writeln!(body, "#     {label}: {}", escape::md_code_line(w));
            }
        }
        let fence = escape::md_fence(&body);
        let _ = writeln!(d, "{fence}diff\n{body}{fence}\n</details>\n");
        details.push(d);
    }
    let mut chat_section = String::new();
    if !c.diff.chats.is_empty() {
        let _ = writeln!(chat_section, "### Chats\n");
        let _ = writeln!(
            chat_section,
            "| chat | status | settings | admins | members |"
        );
        let _ = writeln!(chat_section, "|---|---|---|---|---|");
        for chat in &c.diff.chats {
            let status = match (chat.status, &chat.renamed_from) {
                (ChatStatus::Added, _) => "newly managed".to_string(),
                (ChatStatus::Removed, _) => "no longer managed".to_string(),
                (ChatStatus::Changed, Some(old)) => {
                    format!("renamed from {}", escape::md_code(old))
                }
                (ChatStatus::Changed, None) => "changed".to_string(),
            };
            let settings = if chat.settings.is_empty() {
                String::new()
            } else {
                names(chat.settings.iter().map(|f| f.field.as_str()))
            };
            let _ = writeln!(
                chat_section,
                "| {} | {status} | {} | {} | {} |",
                escape::md_code(&chat.key),
                md_escape(&settings),
                chat.admins.len(),
                chat.members.len()
            );
        }
        chat_section.push('\n');
        for chat in c.diff.chats.iter().filter(|c| !c.settings.is_empty()) {
            let mut d = String::new();
            let _ = writeln!(
                d,
                "<details><summary><code>{}</code> settings</summary>\n",
                escape::html(&chat.key)
            );
            let mut body = String::new();
            for f in &chat.settings {
                let _ = writeln!(body, "! {}", escape::md_code_line(&field_text(f)));
            }
            let fence = escape::md_fence(&body);
            let _ = writeln!(d, "{fence}diff\n{body}{fence}\n</details>\n");
            details.push(d);
        }
    }

    let reserve = 400;
    let mut out = head;
    let mut cut = false;
    for section in [&table, &chat_section] {
        if out.len() + section.len() + reserve <= MARKDOWN_LIMIT {
            out.push_str(section);
        } else {
            let room = MARKDOWN_LIMIT.saturating_sub(out.len() + reserve);
            let mut used = 0;
            for line in section.lines() {
                if used + line.len() + 1 > room {
                    break;
                }
                used += line.len() + 1;
                out.push_str(line);
                out.push('\n');
            }
            out.push('\n');
            cut = true;
        }
    }
    let shown = push_fitting(&mut out, &details, reserve);
    if cut || shown < details.len() {
        let _ = writeln!(
            out,
            "_Part of the diff ({} folded section{}) was cut to fit GitHub's 65,536-character comment limit; run `orgform diff --format json` for all of it._",
            details.len() - shown,
            if details.len() - shown == 1 { "" } else { "s" }
        );
    }
    out
}

/// Versioned JSON.
pub fn json(c: &Compared) -> Value {
    json!({
        "format_version": crate::access::FORMAT_VERSION,
        "path": c.path,
        "base": {"rev": c.base.rev, "commit": c.base.commit, "merge_base": c.merge_base.commit},
        "head": match c.head {
            Some(h) => json!({"rev": h.rev, "commit": h.commit}),
            None => json!({"working_tree": true}),
        },
        "files": c.files,
        "summary": c.diff.summary(),
        "people": c.diff.people,
        "chats": c.diff.chats,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{Side, diff};
    use crate::state::{ChatState, ChatType, DesiredState, MemberState, PersonRef};

    #[test]
    fn markdown_stays_under_the_comment_limit() {
        let mut head = DesiredState::default();
        for uid in 0..400 {
            head.people.insert(
                uid,
                PersonRef {
                    handle: format!("person-{uid:04}"),
                    name: None,
                    username: None,
                    offboarded: false,
                },
            );
        }
        for c in 0..60 {
            let mut chat = ChatState::new(-1000 - c, ChatType::Supergroup);
            for uid in 0..400 {
                chat.members.insert(uid, MemberState::Member);
                head.why.insert(
                    format!("chat.chat-{c}.member.person-{uid:04}"),
                    vec!["member via everyone".into()],
                );
            }
            head.state.chats.insert(format!("chat-{c}"), chat);
        }
        let base = DesiredState {
            people: head.people.clone(),
            ..Default::default()
        };
        let d = diff(
            Side {
                desired: &base,
                config: None,
            },
            Side {
                desired: &head,
                config: None,
            },
        );
        let rev = Revision {
            rev: "main".into(),
            commit: "0123456789abcdef0123456789abcdef01234567".into(),
        };
        let compared = Compared {
            path: "org",
            base: &rev,
            merge_base: &rev,
            head: None,
            files: &[],
            diff: &d,
        };
        let md = markdown(&compared);
        assert!(md.len() <= MARKDOWN_LIMIT, "{}", md.len());
        assert!(md.contains("was cut to fit GitHub's 65,536-character comment limit"));
        assert!(md.contains("Diff: 400 people affected, 60 chats changed: 24000 gains"));
    }
}
