//! The one place where text that people outside the config team control
//! (chat titles, descriptions, topic and link names, tags, pinned text,
//! people's names, error descriptions from the server) is made safe for an
//! output. Untrusted text is data, never layout: in a terminal it cannot
//! move the cursor, set the window title or reorder a line; in Markdown it
//! cannot close a fence, open HTML or add a table cell; in a GitHub
//! workflow command it cannot end the command or start another one.
//!
//! Every renderer calls these functions and nothing else for this job.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Characters that change how a line is laid out rather than what it
/// says: C0 and C1 control characters (ESC, CSI, BEL, CR, …) and the
/// Unicode bidirectional controls (LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI,
/// PDI, LRM, RLM, ALM), which can make a line read differently from what
/// it holds ("Trojan Source").
fn is_layout(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// The visible stand-in for a layout character: `\n`, `\t`, `\r` as
/// written in a string literal, everything else as `\u{…}`.
fn push_visible(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

fn visible_except(s: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !s.chars().any(|c| is_layout(c) && !keep(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_layout(c) && !keep(c) {
            push_visible(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// One field for a terminal line: every control character (newlines
/// included, so a title cannot fake a line of the report), escape sequence
/// and bidirectional control is shown as an escape (`\u{1b}`, `\n`).
pub fn terminal(s: &str) -> Cow<'_, str> {
    visible_except(s, |_| false)
}

/// A whole block of text for a terminal whose line breaks are its own
/// (a report from a library, a message with a list): like [`terminal`] but
/// `\n` stays a line break.
pub fn terminal_text(s: &str) -> Cow<'_, str> {
    visible_except(s, |c| c == '\n')
}

/// Source text for an excerpt whose spans are byte offsets (a diagnostic's
/// source lines): every layout character except line breaks and tabs is
/// replaced by a stand-in of the same length in bytes (`?`, `¿` or `�`), so
/// the offsets still point at the same places and nothing acts on the
/// terminal.
pub fn same_width_visible(s: &str) -> Cow<'_, str> {
    let keep = |c: char| matches!(c, '\n' | '\t' | '\r');
    if !s.chars().any(|c| is_layout(c) && !keep(c)) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| {
                if !is_layout(c) || keep(c) {
                    return c;
                }
                match c.len_utf8() {
                    1 => '?',
                    2 => '¿',
                    _ => '\u{fffd}',
                }
            })
            .collect(),
    )
}

/// The longest run of backticks in `s`.
fn longest_backtick_run(s: &str) -> usize {
    let mut longest = 0;
    let mut run = 0;
    for c in s.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    longest
}

/// The fence for a Markdown code block holding `content`: longer than any
/// backtick run in it (at least three), so no line of the content can close
/// it. Use the same string to open and to close.
pub fn md_fence(content: &str) -> String {
    "`".repeat(longest_backtick_run(content).max(2) + 1)
}

/// A line inside a fenced code block: layout characters made visible (the
/// block is shown as it is, so an RLO would still reorder it). The fence
/// itself comes from [`md_fence`] over the whole block.
pub fn md_code_line(s: &str) -> Cow<'_, str> {
    terminal(s)
}

/// Text in running Markdown, never at the start of a line (after a list
/// marker, in a quote, in a table cell): one line, layout characters visible, HTML and entities shown as
/// text, and the characters that could start a link, an image, emphasis, a
/// code span or a new cell backslash-escaped (`\\` too, so a trailing
/// backslash cannot escape the `|` after the cell). An underscore inside a
/// word means nothing in GitHub Markdown and is left as it is, so keys like
/// `can_delete_messages` stay readable in the source. An `@` before a
/// name gets a word joiner (U+2060) after it, so a title or name from
/// Telegram cannot mention (notify) a GitHub user or team in a comment.
pub fn md_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '[' | ']' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '_' => {
                let word = |j: Option<&char>| j.is_some_and(|c| c.is_alphanumeric());
                let inside = i > 0 && word(chars.get(i - 1)) && word(chars.get(i + 1));
                if !inside {
                    out.push('\\');
                }
                out.push('_');
            }
            '@' if chars
                .get(i + 1)
                .is_some_and(|c| c.is_alphanumeric() || *c == '-' || *c == '_') =>
            {
                out.push_str("@\u{2060}");
            }
            c if is_layout(c) => push_visible(&mut out, c),
            c => out.push(c),
        }
    }
    out
}

/// A sentence orgform wrote itself, which may use `code` spans on purpose
/// (a fix: "`orgform apply` sets the title"): one line, layout characters
/// visible, HTML and `|` escaped, backticks kept.
pub fn md_own_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '|' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if is_layout(c) => push_visible(&mut out, c),
            c => out.push(c),
        }
    }
    out
}

/// Text in a Markdown table cell: like [`md_text`] (kept under this name for
/// the renderers that build tables).
pub fn md_cell(s: &str) -> String {
    md_text(s)
}

/// An inline code span holding `s` (a name, a key): delimited by more
/// backticks than any run inside, one line, `|` escaped so it can sit in
/// a table cell (GitHub honours `\|` inside code in tables).
pub fn md_code(s: &str) -> String {
    let one_line = terminal(s).replace('|', "\\|");
    let ticks = "`".repeat(longest_backtick_run(&one_line) + 1);
    let pad = if one_line.starts_with('`') || one_line.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{one_line}{pad}{ticks}")
}

/// Text inside an HTML element (`<summary><code>…</code>`): `&`, `<`, `>`
/// and `"` as entities, layout characters visible.
pub fn html(s: &str) -> String {
    terminal(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The message of a GitHub workflow command (`::error file=…::MESSAGE`):
/// `%`, CR and LF percent-encoded, so the text cannot end the command and
/// cannot start a line that the runner would read as another command.
pub fn github_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A property of a GitHub workflow command (`file=`, `title=`): like
/// [`github_data`], and `:` and `,` encoded too.
pub fn github_property(s: &str) -> String {
    github_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "a\u{1b}]0;PWNED\u{7}\u{1b}[2J\u{202e}evil\u{2066}\n```\n</details>\n# fake | cell <b>x</b> %0A ::error::";

    #[test]
    fn terminal_shows_every_layout_character() {
        let t = terminal(HOSTILE);
        assert!(!t.chars().any(is_layout), "{t}");
        assert!(t.contains("\\u{1b}]0;PWNED\\u{7}"), "{t}");
        assert!(t.contains("\\u{202e}evil\\u{2066}"), "{t}");
        assert!(!t.contains('\n'));
        let block = terminal_text("one\ntwo\u{9b}31m");
        assert_eq!(block, "one\ntwo\\u{9b}31m");
        assert!(matches!(terminal("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn fences_outgrow_the_content() {
        assert_eq!(md_fence("no ticks"), "```");
        assert_eq!(md_fence("a ```` b"), "`````");
        let code = md_code("a``b|c");
        assert_eq!(code, "```a``b\\|c```");
        assert_eq!(md_code("`x"), "`` `x ``");
    }

    #[test]
    fn markdown_text_cannot_open_html_or_cells() {
        let t = md_text(HOSTILE);
        assert!(!t.contains('<') && !t.contains('\n'), "{t}");
        assert!(!t.contains(" | ") && t.contains("\\|"), "{t}");
        assert_eq!(md_text("[x](http://e)"), "\\[x\\](http://e)");
        assert_eq!(md_text("can_delete_messages"), "can_delete_messages");
        assert_eq!(md_text("_x_ a\\"), "\\_x\\_ a\\\\");
        assert_eq!(
            md_text("cc @octocat, @org/team"),
            "cc @\u{2060}octocat, @\u{2060}org/team"
        );
        assert_eq!(md_text("a@ b"), "a@ b");
    }

    #[test]
    fn workflow_commands_stay_one_command() {
        let d = github_data("x\r\n::error::pwned 100%");
        assert_eq!(d, "x%0D%0A::error::pwned 100%25");
        assert_eq!(github_property("a:b,c"), "a%3Ab%2Cc");
    }
}
