//! `orgform plan` end to end on the in-process sandbox: the seeded drift of
//! examples/acme, in text, Markdown and JSON, with exit codes and `--out`.

use assert_cmd::Command;

const NOW: &str = "--now=2026-11-27T12:00:00Z";

/// The binary in a hermetic environment; `ORGFORM_STATE_DIR` keeps each
/// test's store and sandbox world in its own temporary directory.
fn orgform(state: &std::path::Path) -> Command {
    crate::hermetic::orgform(state)
}

fn plan(state: &std::path::Path, extra: &[&str]) -> (i32, String, String) {
    let out = orgform(state)
        .args(["plan", "examples/acme", "--sandbox", NOW])
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn plan_on_the_sandbox_shows_the_seeded_drift() {
    let state = tempfile::tempdir().unwrap();
    let (code, text, stderr) = plan(state.path(), &[]);
    assert_eq!(code, 0, "{stderr}");
    insta::assert_snapshot!("text", text);
    let (code, _, _) = plan(state.path(), &["--detailed-exitcode"]);
    assert_eq!(code, 2, "changes with --detailed-exitcode");
    let (_, markdown, _) = plan(state.path(), &["--format", "markdown"]);
    insta::assert_snapshot!("markdown", markdown);
    let (_, json, _) = plan(state.path(), &["--format", "json"]);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["format_version"], orgform::plan::FORMAT_VERSION);
    insta::assert_json_snapshot!("json", value, {
        ".created_at" => "[time]",
        ".git_commit" => "[commit]",
        ".config_digest" => "[digest]",
        ".changes[].op.expires" => "[expiry]",
    });
}

#[test]
fn plan_out_saves_digest_commit_and_fingerprints() {
    let state = tempfile::tempdir().unwrap();
    let out = state.path().join("plan.json");
    let (code, _, stderr) = plan(state.path(), &["--out", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("Saved the plan"), "{stderr}");
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert!(
        saved["config_digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    let changes = saved["changes"].as_array().unwrap();
    let fingerprints = saved["fingerprints"].as_object().unwrap();
    assert!(!changes.is_empty());
    for c in changes {
        assert!(
            fingerprints.contains_key(c["address"].as_str().unwrap()),
            "no fingerprint for {}",
            c["address"]
        );
    }
}

#[test]
fn a_guard_refuses_with_exit_3_and_its_override_shows() {
    let state = tempfile::tempdir().unwrap();
    let config = state.path().join("config");
    std::fs::create_dir_all(&config).unwrap();
    for entry in std::fs::read_dir("examples/acme").unwrap().flatten() {
        if entry.path().is_file() {
            std::fs::copy(entry.path(), config.join(entry.file_name())).unwrap();
        }
    }
    for dir in ["chats", "photos"] {
        std::fs::create_dir_all(config.join(dir)).unwrap();
        for entry in std::fs::read_dir(format!("examples/acme/{dir}"))
            .unwrap()
            .flatten()
        {
            std::fs::copy(entry.path(), config.join(dir).join(entry.file_name())).unwrap();
        }
    }
    // A policy that allows no removals at all.
    let org = std::fs::read_to_string(config.join("org.yaml")).unwrap();
    let org = org.replace("max_count: 10", "max_count: 0");
    std::fs::write(config.join("org.yaml"), org).unwrap();
    let out = orgform(state.path())
        .args(["plan", config.to_str().unwrap(), "--sandbox", NOW])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("REFUSED [removal-limit]")
            && stdout.contains("override with --allow-removals"),
        "{stdout}"
    );
    let out = orgform(state.path())
        .args([
            "plan",
            config.to_str().unwrap(),
            "--sandbox",
            NOW,
            "--allow-removals",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("overridden [removal-limit]")
    );
}

#[test]
fn without_a_token_the_error_says_what_to_do() {
    let state = tempfile::tempdir().unwrap();
    let out = orgform(state.path())
        .args(["plan", "examples/acme", NOW])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    insta::assert_snapshot!(stderr, @r"
    error: no bot token: set ORGFORM_TELEGRAM_TOKEN or pass --token-file
    hint: set ORGFORM_TELEGRAM_TOKEN, pass --token-file FILE, or try everything with --sandbox
    ");
}
