//! CLI transcripts for the config commands: what a user types and sees.
//! Each test runs the real binary in a hermetic environment (no colour, no
//! GitHub Actions, fixed `--now`).

use assert_cmd::Command;

fn orgform() -> Command {
    crate::hermetic::bare()
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = orgform().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

const NOW: &str = "--now=2026-11-27T12:00:00Z";

#[test]
fn validate_a_valid_config() {
    let (code, stdout, stderr) = run(&["validate", "examples/acme", NOW]);
    assert_eq!(code, 0, "{stderr}");
    insta::assert_snapshot!(stdout, @"valid: 26 people, 13 departments, 6 roles, 10 chats, 112 effective memberships, 36 admin seats; policy rules: 6 pass");
}

#[test]
fn validate_reports_every_problem_and_exits_1() {
    let (code, stdout, stderr) = run(&["validate", "tests/fixtures/invalid/unknown-key", NOW]);
    assert_eq!(code, 1);
    assert_eq!(stdout, "");
    insta::assert_snapshot!(stderr, @r"
      × error[unknown-key]: unknown key `peple` in the config
       ╭─[tests/fixtures/invalid/unknown-key/org.yaml:3:1]
     2 │   name: Acme
     3 │ peple:
       · ──┬──
       ·   ╰── not a known key
     4 │   alice: {telegram_id: 100001}
       ╰────
      help: did you mean `people`?

      × error[unknown-key]: unknown key `titel` in `chats.eng`
       ╭─[tests/fixtures/invalid/unknown-key/org.yaml:9:5]
     8 │     type: supergroup
     9 │     titel: Engineering
       ·     ──┬──
       ·       ╰── not a known key
       ╰────
      help: did you mean `title`?

    2 errors
    ");
}

#[test]
fn validate_github_format_is_automatic_in_actions() {
    let out = orgform()
        .args(["validate", "tests/fixtures/invalid/unknown-key", NOW])
        .env("GITHUB_ACTIONS", "true")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap(), @r"
    ::error file=tests/fixtures/invalid/unknown-key/org.yaml,line=3,col=1,title=orgform unknown-key::unknown key `peple` in the config%0Ahint: did you mean `people`?
    ::error file=tests/fixtures/invalid/unknown-key/org.yaml,line=9,col=5,title=orgform unknown-key::unknown key `titel` in `chats.eng`%0Ahint: did you mean `title`?
    ");
}

#[test]
fn validate_json_format() {
    let (code, stdout, _) = run(&[
        "validate",
        "tests/fixtures/invalid/duplicate-across-files",
        "--format",
        "json",
        NOW,
    ]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["diagnostics"][1]["code"], "duplicate-key");
    assert_eq!(
        v["diagnostics"][1]["file"],
        "tests/fixtures/invalid/duplicate-across-files/b.yaml"
    );
    assert_eq!(
        v["diagnostics"][1]["related"][0]["file"],
        "tests/fixtures/invalid/duplicate-across-files/a.yaml"
    );
    assert_eq!(v["diagnostics"][1]["related"][0]["line"], 4);
}

#[test]
fn show_person() {
    let (code, stdout, stderr) = run(&["show", "examples/minimal", "person", "ada", NOW]);
    assert_eq!(code, 0, "{stderr}");
    insta::assert_snapshot!(stdout);
}

#[test]
fn show_chat() {
    let (code, stdout, stderr) = run(&["show", "examples/acme", "chat", "support", NOW]);
    assert_eq!(code, 0, "{stderr}");
    insta::assert_snapshot!(stdout);
}

#[test]
fn show_unknown_person_suggests() {
    let (code, _, stderr) = run(&["show", "examples/acme", "person", "lenna", NOW]);
    assert_eq!(code, 1);
    insta::assert_snapshot!(stderr, @r"
    error: no person named `lenna` in the config
    hint: did you mean `lena`?
    ");
}

#[test]
fn show_json_is_deterministic_and_matches_the_kdl_example() {
    let (code, yaml, stderr) = run(&["show", "examples/acme", "--format", "json", NOW]);
    assert_eq!(code, 0, "{stderr}");
    let (_, again, _) = run(&["show", "examples/acme", "--format", "json", NOW]);
    assert_eq!(yaml, again);
    let (code, kdl, stderr) = run(&["show", "examples/acme-kdl", "--format", "json", NOW]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        yaml == kdl,
        "examples/acme and examples/acme-kdl must resolve to identical bytes"
    );
}

#[test]
fn now_moves_grants() {
    // lena's support grant ends with 2026-12-31.
    let (_, before, _) = run(&[
        "show",
        "examples/acme",
        "person",
        "lena",
        "--now=2026-12-31T12:00:00Z",
    ]);
    let (_, after, _) = run(&[
        "show",
        "examples/acme",
        "person",
        "lena",
        "--now=2027-01-01T00:00:00Z",
    ]);
    assert!(before.contains("support: admin"));
    assert!(!after.contains("support: admin"));
}

#[test]
fn schema_command_prints_the_checked_in_schema() {
    let (code, stdout, _) = run(&["schema"]);
    assert_eq!(code, 0);
    assert_eq!(
        stdout,
        std::fs::read_to_string("schema/orgform.schema.json").unwrap()
    );
}

#[test]
fn completions_and_man_page() {
    let (code, stdout, _) = run(&["completions", "bash"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("orgform"));
    let (code, stdout, _) = run(&["completions", "man"]);
    assert_eq!(code, 0);
    assert!(stdout.contains(".TH orgform"));
}
