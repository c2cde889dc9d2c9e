//! Every console example in README.md and docs/*.md runs and matches, so no
//! example can rot. A block is a ```console fence; `$ ` starts a command
//! (run by bash in a fresh copy of `examples/` and `tests/fixtures/`, with
//! `orgform` on PATH and the sandbox for Telegram), and the lines after it
//! are its output (stdout and stderr, as a terminal shows them). In the
//! expected output a line `…` stands for any number of lines and `[..]`
//! for any text within a line (the trycmd conventions).

use std::path::{Path, PathBuf};
use std::process::Command;

struct Example {
    file: String,
    line: usize,
    command: String,
    expected: Vec<String>,
}

/// The console blocks of one Markdown file, as (first line, examples).
fn examples(file: &Path) -> Vec<Vec<Example>> {
    let text = std::fs::read_to_string(file).unwrap();
    let name = file.display().to_string();
    let mut blocks = Vec::new();
    let mut current: Option<Vec<Example>> = None;
    for (i, line) in text.lines().enumerate() {
        match &mut current {
            None if line.trim_start() == "```console" => current = Some(Vec::new()),
            None => {}
            Some(_) if line.trim_start().starts_with("```") => blocks.push(current.take().unwrap()),
            Some(block) => {
                if let Some(cmd) = line.strip_prefix("$ ") {
                    block.push(Example {
                        file: name.clone(),
                        line: i + 1,
                        command: cmd.to_string(),
                        expected: Vec::new(),
                    });
                } else if let Some(last) = block.last_mut() {
                    last.expected.push(line.trim_end().to_string());
                } else {
                    panic!("{name}:{}: output before any `$ ` command", i + 1);
                }
            }
        }
    }
    assert!(current.is_none(), "{name}: an unclosed console block");
    blocks
}

/// Whether one line matches its pattern (`[..]` = any text).
fn line_matches(pattern: &str, line: &str) -> bool {
    let parts: Vec<&str> = pattern.split("[..]").collect();
    if parts.len() == 1 {
        return pattern == line;
    }
    let mut rest = line;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            let Some(at) = rest.find(part) else {
                return false;
            };
            rest = &rest[at + part.len()..];
        }
    }
    true
}

/// Whether the output lines match the expected ones (`…` = any lines).
fn matches(expected: &[String], actual: &[&str]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((e, rest)) if e.trim() == "…" => {
            (0..=actual.len()).any(|skip| matches(rest, &actual[skip..]))
        }
        Some((e, rest)) => actual
            .split_first()
            .is_some_and(|(a, tail)| line_matches(e, a) && matches(rest, tail)),
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

fn doc_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

#[test]
fn every_console_example_runs_and_matches() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_orgform"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut ran = 0;
    let mut failures = Vec::new();
    for file in doc_files() {
        for block in examples(&file) {
            // Each block in a fresh workspace: its commands share state.
            let ws = tempfile::tempdir().unwrap();
            copy_dir(&root.join("examples"), &ws.path().join("examples"));
            copy_dir(
                &root.join("tests/fixtures"),
                &ws.path().join("tests/fixtures"),
            );
            for ex in block {
                let out = Command::new("bash")
                    .arg("-c")
                    .arg(format!("{} 2>&1", ex.command))
                    .current_dir(ws.path())
                    .env_clear()
                    .env("PATH", &path)
                    .env("NO_COLOR", "1")
                    .env("HOME", ws.path())
                    .output()
                    .unwrap();
                ran += 1;
                let text = String::from_utf8_lossy(&out.stdout).into_owned();
                let actual: Vec<&str> = text.lines().map(str::trim_end).collect();
                if !matches(&ex.expected, &actual) {
                    failures.push(format!(
                        "{}:{}: `{}` (exit {:?}) printed:\n{}\n--- expected:\n{}\n",
                        ex.file,
                        ex.line,
                        ex.command,
                        out.status.code(),
                        text,
                        ex.expected.join("\n")
                    ));
                }
            }
        }
    }
    assert!(ran >= 5, "only {ran} examples found");
    assert!(
        failures.is_empty(),
        "{} of {ran} examples do not match:\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_matcher_matches_what_it_should() {
    let e = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert!(matches(&e(&["a", "…", "z"]), &["a", "b", "c", "z"]));
    assert!(matches(&e(&["a", "…"]), &["a"]));
    assert!(!matches(&e(&["a", "z"]), &["a", "b", "z"]));
    assert!(line_matches(
        "Run [..]: applied. 30 applied",
        "Run 2026-x: applied. 30 applied"
    ));
    assert!(!line_matches(
        "Run [..]: applied. 30 applied",
        "Run 2026-x: applied. 31 applied"
    ));
}
