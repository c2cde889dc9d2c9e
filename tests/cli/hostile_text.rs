//! Untrusted text is data, never layout. Text that chat admins and the
//! server control — titles, descriptions, topic names, link names, tags,
//! pinned text, people's names, error descriptions — is put into the
//! sandbox's world, and every output format is checked: no terminal escape
//! or bidirectional control reaches a terminal, nothing closes a Markdown
//! fence or opens HTML, no workflow command can be started, and JSON keeps
//! the text exactly.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const NOW: &str = "--now=2026-11-27T12:00:00Z";

/// Escape sequences (window title, clear screen), BEL, bidi overrides, a
/// fence of three and of four backticks, HTML, a fake heading, a table
/// cell, a link and a workflow command.
const HOSTILE: &str = "\u{1b}]0;PWNED\u{7}\u{1b}[2J\u{9b}31m\u{202e}evil\u{2066}\n```\n</details>\n# Fake heading\n<img src=x onerror=alert(1)> | cell | [click](https://evil.example) cc @octocat\n::error::pwned\n````";

fn orgform(state: &Path) -> Command {
    crate::hermetic::process(state)
}

fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// A terminal shows none of it as layout.
fn assert_terminal_safe(what: &str, text: &str) {
    assert_no_layout(what, text);
    for line in text.lines() {
        assert!(!line.starts_with("```"), "{what}: {line}");
    }
}

/// No raw control or bidi character, and no hostile line of its own.
fn assert_no_layout(what: &str, text: &str) {
    for c in text.chars() {
        let bad = (c.is_control() && c != '\n')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}');
        assert!(!bad, "{what}: raw {c:?} in:\n{text}");
    }
    for line in text.lines() {
        assert!(
            !line.starts_with("# Fake"),
            "{what}: a hostile line of its own: {line}"
        );
        assert!(
            !line.starts_with("::"),
            "{what}: a workflow command: {line}"
        );
    }
}

/// Markdown: fences close only where orgform closes them, no HTML, no
/// heading, link or table cell from the hostile text.
fn assert_markdown_safe(what: &str, md: &str) {
    assert_no_layout(what, md);
    let mut fence: Option<usize> = None;
    let mut outside = String::new();
    for line in md.lines() {
        let ticks = line.chars().take_while(|c| *c == '`').count();
        match fence {
            None if ticks >= 3 => fence = Some(ticks),
            Some(n) if ticks >= n && line.trim_start_matches('`').trim().is_empty() => fence = None,
            Some(_) => {}
            None => {
                outside.push_str(&strip_code_spans(line));
                outside.push('\n');
            }
        }
    }
    assert!(fence.is_none(), "{what}: a fence is left open:\n{md}");
    assert!(
        !outside.contains("<img"),
        "{what}: raw HTML outside code:\n{outside}"
    );
    assert!(
        !outside.replace("\\]", "").contains("](https://evil"),
        "{what}: a live link:\n{outside}"
    );
    assert!(
        !outside.contains("@octocat"),
        "{what}: a GitHub mention:\n{outside}"
    );
    assert!(
        !outside.contains("| cell |"),
        "{what}: a hostile table cell:\n{outside}"
    );
    assert_eq!(
        outside.matches("<details>").count(),
        outside.matches("</details>").count(),
        "{what}: a hostile </details>"
    );
    // Each table row keeps its number of cells.
    let mut columns: Option<usize> = None;
    for line in outside.lines() {
        if !line.starts_with('|') {
            columns = None;
            continue;
        }
        let cells = line.replace("\\|", "").matches('|').count();
        match columns {
            None => columns = Some(cells),
            Some(n) => assert_eq!(n, cells, "{what}: a row with extra cells: {line}"),
        }
    }
}

/// A line without its inline code spans (whose content Markdown shows as
/// it is): a run of N backticks up to the next run of exactly N.
fn strip_code_spans(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\\' && i + 1 < chars.len() {
            out.push(chars[i]);
            out.push(chars[i + 1]);
            i += 2;
            continue;
        }
        if chars[i] != '`' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let n = chars[i..].iter().take_while(|c| **c == '`').count();
        let mut j = i + n;
        let mut closed = None;
        while j < chars.len() {
            let m = chars[j..].iter().take_while(|c| **c == '`').count();
            if m == n {
                closed = Some(j + m);
                break;
            }
            j += m.max(1);
        }
        match closed {
            Some(end) => {
                out.push_str("CODE");
                i = end;
            }
            None => {
                out.extend(&chars[i..i + n]);
                i += n;
            }
        }
    }
    out
}

/// JSON carries the hostile text exactly.
fn assert_json_keeps(what: &str, json: &str) {
    let value: Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{what}: {e}"));
    let mut found = false;
    fn walk(v: &Value, found: &mut bool) {
        match v {
            Value::String(s) => *found |= s.contains(HOSTILE),
            Value::Array(a) => a.iter().for_each(|x| walk(x, found)),
            Value::Object(m) => m.values().for_each(|x| walk(x, found)),
            _ => {}
        }
    }
    walk(&value, &mut found);
    assert!(
        found,
        "{what}: the hostile text is not in the JSON as it is"
    );
}

/// The acme config with the sandbox world made hostile.
fn hostile_world() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    copy_dir(Path::new("examples/acme"), &config);
    let state = dir.path().join("state");
    // The first run seeds the sandbox world from the config.
    let (code, _, err) =
        run(orgform(&state).args(["plan", config.to_str().unwrap(), "--sandbox", NOW]));
    assert!(code == 0 || code == 2, "{err}");
    let world_path = state.join("sandbox/world.json");
    let mut world: Value = serde_json::from_slice(&std::fs::read(&world_path).unwrap()).unwrap();
    let hostile = Value::String(HOSTILE.to_string());
    for chat in world["chats"].as_object_mut().unwrap().values_mut() {
        chat["title"] = hostile.clone();
        chat["description"] = hostile.clone();
        if let Some(topics) = chat.get_mut("topics").and_then(Value::as_object_mut) {
            for t in topics.values_mut() {
                t["name"] = hostile.clone();
            }
        }
        if let Some(links) = chat.get_mut("invite_links").and_then(Value::as_array_mut) {
            for l in links {
                l["name"] = hostile.clone();
            }
        }
        if let Some(messages) = chat.get_mut("messages").and_then(Value::as_object_mut) {
            for m in messages.values_mut() {
                m["text"] = hostile.clone();
            }
        }
        for m in chat["members"].as_object_mut().unwrap().values_mut() {
            if matches!(m["status"].as_str(), Some("member" | "restricted")) {
                m["tag"] = hostile.clone();
            }
            if m["status"] == "administrator" {
                m["custom_title"] = hostile.clone();
            }
        }
    }
    for u in world["users"].as_object_mut().unwrap().values_mut() {
        u["first_name"] = hostile.clone();
        u["last_name"] = hostile.clone();
    }
    std::fs::write(&world_path, serde_json::to_vec_pretty(&world).unwrap()).unwrap();
    (dir, config)
}

#[test]
fn hostile_text_from_telegram_is_data_in_every_format() {
    let (dir, config) = hostile_world();
    let state = dir.path().join("state");
    let config = config.to_str().unwrap();
    for (cmd, formats) in [
        ("plan", ["text", "markdown", "json"]),
        ("drift", ["text", "markdown", "json"]),
    ] {
        for format in formats {
            let (code, out, err) =
                run(orgform(&state).args([cmd, config, "--sandbox", NOW, "--format", format]));
            assert!(matches!(code, 0 | 2 | 3), "{cmd} {format}: {code} {err}");
            let what = format!("{cmd} --format {format}");
            assert!(
                out.contains("PWNED"),
                "{what}: the hostile text is not shown at all:\n{out}"
            );
            assert_terminal_safe(&format!("{what} (stderr)"), &err);
            match format {
                "text" => assert_terminal_safe(&what, &out),
                "markdown" => assert_markdown_safe(&what, &out),
                _ => assert_json_keeps(&what, &out),
            }
        }
    }
    // The text shows what the escapes were.
    let (_, out, _) = run(orgform(&state).args(["plan", config, "--sandbox", NOW]));
    assert!(out.contains("\\u{1b}]0;PWNED\\u{7}"), "{out}");
    assert!(out.contains("\\u{202e}evil"), "{out}");
    // apply's final report in every format: notes and errors carry server text.
    for format in ["text", "markdown", "json"] {
        let (code, out, err) = run(orgform(&state).args([
            "apply",
            config,
            "--sandbox",
            NOW,
            "--auto-approve",
            "--format",
            format,
        ]));
        assert!(matches!(code, 0 | 1), "apply {format}: {err}");
        assert_terminal_safe(&format!("apply {format} (stderr)"), &err);
        match format {
            "text" => assert_terminal_safe("apply text", &out),
            "markdown" => assert_markdown_safe("apply markdown", &out),
            _ => {
                let _: Value = serde_json::from_str(&out).unwrap();
            }
        }
    }
}

#[test]
fn hostile_names_in_the_config_are_data_too() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    copy_dir(Path::new("examples/acme"), &config);
    let people = config.join("people.yaml");
    let text = std::fs::read_to_string(&people).unwrap();
    // A person's name, and a department reference that does not exist (its
    // diagnostic quotes it) — written as YAML escapes.
    let mut yaml_hostile = String::from("\"");
    for c in HOSTILE.chars() {
        match c {
            '"' | '\\' => {
                yaml_hostile.push('\\');
                yaml_hostile.push(c);
            }
            c if c.is_control()
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') =>
            {
                yaml_hostile.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => yaml_hostile.push(c),
        }
    }
    yaml_hostile.push('"');
    let text = text.replacen("name: Ana Costa", &format!("name: {yaml_hostile}"), 1);
    std::fs::write(&people, &text).unwrap();
    let state = dir.path().join("state");
    let c = config.to_str().unwrap();
    let (code, out, err) = run(orgform(&state).args(["show", c, "person", "ana", NOW]));
    assert_eq!(code, 0, "{err}");
    assert_terminal_safe("show person", &out);
    let (_, out, _) =
        run(orgform(&state).args(["export", "access", c, NOW, "--format", "markdown"]));
    assert_markdown_safe("export markdown", &out);
    let (_, out, _) = run(orgform(&state).args(["show", c, "--format", "json", NOW]));
    assert_json_keeps("show json", &out);

    let broken = text.replacen(
        "department: platform",
        &format!("department: {yaml_hostile}"),
        1,
    );
    std::fs::write(&people, broken).unwrap();
    let (code, out, err) = run(orgform(&state).args(["validate", c, "--format", "github", NOW]));
    assert_eq!(code, 1);
    assert!(out.contains("PWNED"), "{out}");
    for line in out.lines() {
        assert!(
            line.starts_with("::error ") || line.starts_with("::warning "),
            "one workflow command per line, nothing else: {line}"
        );
    }
    assert_terminal_safe("validate github (stderr)", &err);
    let (_, _, err) = run(orgform(&state).args(["validate", c, NOW]));
    assert_terminal_safe("validate text", &err);
}

/// A server whose error description is hostile: the message is shown as
/// data on stderr.
#[test]
fn hostile_error_descriptions_from_the_server_are_data() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        // Bounded: a few connections, then stop.
        for _ in 0..4 {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let mut buf = [0u8; 65536];
            let _ = stream.read(&mut buf);
            let body = serde_json::json!({
                "ok": false,
                "error_code": 400,
                "description": format!("Bad Request: {HOSTILE}"),
            })
            .to_string();
            let _ = write!(
                stream,
                "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run(orgform(dir.path())
        .env(
            "ORGFORM_TELEGRAM_TOKEN",
            "7000000001:AAsandbox-test-token_0123456789abcdef",
        )
        .args(["plan", "examples/acme", "--api-url", &url, NOW]));
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("PWNED"), "{err}");
    assert_terminal_safe("server error", &err);
    assert!(!err.contains("AAsandbox"), "the token never shows: {err}");
    drop(server);
}
