//! Policy rules and staged rollout end to end: the binary against the
//! in-process sandbox (`--sandbox`, world in `<state>/sandbox/world.json`)
//! on copies of examples/acme with one thing changed.
//!
//! - each action level: deny refuses plan and apply (exit 3, rule, subject
//!   and file:line) and nothing is written; warn exits as if clean; audit
//!   only records; an exception exempts until it lapses;
//! - `diff` on a pull request tells new violations from existing ones;
//! - `drift` reports a stranger made admin by hand;
//! - `--only` plans and applies exactly the selected chat and names what
//!   it left out; `--stage` applies a rollout stage;
//! - a CEL error is a diagnostic at its file:line.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use orgform::sandbox::{self, SandboxOptions, SeedOptions, World};
use serde_json::{Value, json};

const NOW: &str = "--now=2026-11-27T12:00:00Z";
const PLATFORM: i64 = -1001000000011;

fn orgform(state: &Path) -> Command {
    crate::hermetic::orgform(state)
}

fn run(state: &Path, args: &[&str]) -> (i32, String, String) {
    let out = orgform(state).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A copy of examples/acme in `dir/org`, with `edit` applied to the text
/// of `file`.
fn acme_with(dir: &Path, file: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let org = dir.join("org");
    copy_dir(Path::new("examples/acme"), &org);
    let path = org.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = edit(text.clone());
    assert_ne!(text, edited, "the edit of {file} changed nothing");
    std::fs::write(&path, edited).unwrap();
    org
}

/// Lena's support grant loses its reason: `grants-are-justified-and-short`
/// breaks, at people.yaml's grant line.
fn no_reason(text: String) -> String {
    text.replace(
        "until: 2026-12-31, reason: Q4 support rotation (SUP-412)}",
        "until: 2026-12-31}",
    )
}

fn grant_line(org: &Path) -> usize {
    std::fs::read_to_string(org.join("people.yaml"))
        .unwrap()
        .lines()
        .position(|l| l.contains("{role: moderator, chats: [support], until: 2026-12-31}"))
        .unwrap()
        + 1
}

fn set_action(org: &Path, rule: &str, action: &str, extra: &str) {
    let path = org.join("policies.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let start = text.find(&format!("- name: {rule}")).unwrap();
    let at = start + text[start..].find("action: deny").unwrap();
    let edited = format!(
        "{}action: {action}{extra}{}",
        &text[..at],
        &text[at + "action: deny".len()..]
    );
    std::fs::write(&path, edited).unwrap();
}

fn world(state: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(state.join("sandbox/world.json")).unwrap())
        .unwrap()
}

#[test]
fn deny_refuses_plan_and_apply_with_the_rule_and_the_config_line() {
    let dir = tempfile::tempdir().unwrap();
    let org = acme_with(dir.path(), "people.yaml", no_reason);
    let org_s = org.to_str().unwrap();
    let state = dir.path().join("state");
    // validate already says so, without Telegram.
    let (code, out, err) = run(&state, &["validate", org_s, NOW]);
    assert_eq!(code, 3, "{out}{err}");
    assert!(out.contains("grant moderator of lena"), "{out}");

    let (code, out, err) = run(&state, &["plan", org_s, "--sandbox", NOW]);
    assert_eq!(code, 3, "{out}{err}");
    assert!(
        err.contains("refused by policy rule grants-are-justified-and-short"),
        "{err}"
    );
    let at = format!("people.yaml:{}:", grant_line(&org));
    assert!(
        out.contains("✗ deny grants-are-justified-and-short: grant moderator of lena"),
        "{out}"
    );
    assert!(out.contains(&at), "{at} in\n{out}");
    assert!(err.contains(&at), "{err}");

    // JSON for a reviewer bot.
    let (code, out, _) = run(
        &state,
        &["plan", org_s, "--sandbox", NOW, "--format", "json"],
    );
    assert_eq!(code, 3);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["policy"]["denied"], true);
    assert_eq!(v["policy"]["over"], "plan");
    let viol = &v["policy"]["violations"][0];
    assert_eq!(viol["rule"], "grants-are-justified-and-short");
    assert_eq!(viol["person"], "lena");
    assert_eq!(viol["grant"], "moderator");
    assert_eq!(viol["location"]["line"], grant_line(&org));

    // GitHub annotations at the config line.
    let out = orgform(&state)
        .env("GITHUB_ACTIONS", "true")
        .args(["plan", org_s, "--sandbox", NOW])
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains(&format!(",line={},col=", grant_line(&org))) && err.contains("::error file="),
        "{err}"
    );
    assert!(
        err.contains("title=policy grants-are-justified-and-short"),
        "{err}"
    );

    // A saved plan is checked again when applied.
    let saved = dir.path().join("plan.json");
    let (code, _, _) = run(
        &state,
        &[
            "plan",
            org_s,
            "--sandbox",
            NOW,
            "--out",
            saved.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 3);
    let before = world(&state);
    let (code, out, err) = run(
        &state,
        &[
            "apply",
            org_s,
            "--sandbox",
            "--auto-approve",
            NOW,
            "--plan",
            saved.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 3, "{out}{err}");
    assert!(
        err.contains("refused by policy rule grants-are-justified-and-short"),
        "{err}"
    );
    assert_eq!(before["chats"], world(&state)["chats"]);

    // apply refuses before writing anything.
    let before = world(&state);
    let (code, out, err) = run(
        &state,
        &["apply", org_s, "--sandbox", "--auto-approve", NOW],
    );
    assert_eq!(code, 3, "{out}{err}");
    assert!(!out.contains("Run "), "{out}");
    assert_eq!(
        before["chats"],
        world(&state)["chats"],
        "a refused apply changed Telegram"
    );
}

#[test]
fn warn_prints_and_exits_as_if_clean() {
    let dir = tempfile::tempdir().unwrap();
    let org = acme_with(dir.path(), "people.yaml", no_reason);
    set_action(&org, "grants-are-justified-and-short", "warn", "");
    let org_s = org.to_str().unwrap();
    let state = dir.path().join("state");
    let (code, out, err) = run(&state, &["plan", org_s, "--sandbox", NOW]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("! warn grants-are-justified-and-short: grant moderator of lena"),
        "{out}"
    );
    let (code, _, _) = run(
        &state,
        &["plan", org_s, "--sandbox", NOW, "--detailed-exitcode"],
    );
    assert_eq!(code, 2, "changes, as without the rule");
    let (code, out, err) = run(
        &state,
        &["apply", org_s, "--sandbox", "--auto-approve", NOW],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("applied"), "{out}");
    let (code, out, _) = run(&state, &["validate", org_s, NOW]);
    assert_eq!(code, 0);
    assert!(out.contains("policy rules: 1 warning"), "{out}");
}

#[test]
fn audit_only_records() {
    let dir = tempfile::tempdir().unwrap();
    let org = acme_with(dir.path(), "people.yaml", no_reason);
    set_action(&org, "grants-are-justified-and-short", "audit", "");
    let org_s = org.to_str().unwrap();
    let state = dir.path().join("state");
    let (code, out, err) = run(&state, &["plan", org_s, "--sandbox", NOW]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!out.contains("grant moderator of lena"), "{out}");
    assert!(out.contains("1 audit finding recorded"), "{out}");
    // `--sandbox` keeps its state (store, journals, audit log) in <state>/sandbox.
    let log = std::fs::read_to_string(state.join("sandbox/policy-audit.jsonl")).unwrap();
    let line: Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
    assert_eq!(line["command"], "plan");
    assert_eq!(line["violation"]["rule"], "grants-are-justified-and-short");
    assert_eq!(line["violation"]["person"], "lena");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(state.join("sandbox/policy-audit.jsonl"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let (_, out, _) = run(
        &state,
        &["plan", org_s, "--sandbox", NOW, "--format", "json"],
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["policy"]["counts"]["audit"], 1);
    assert_eq!(v["policy"]["denied"], false);
}

#[test]
fn an_exception_exempts_until_it_lapses() {
    let dir = tempfile::tempdir().unwrap();
    let org = acme_with(dir.path(), "people.yaml", no_reason);
    set_action(
        &org,
        "grants-are-justified-and-short",
        "deny",
        "\n      exceptions:\n        - {person: lena, approved_by: ciso, reason: rotation tracked in SUP-412, until: 2026-12-01}",
    );
    let org_s = org.to_str().unwrap();
    let state = dir.path().join("state");
    let (code, out, err) = run(&state, &["plan", org_s, "--sandbox", NOW]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("exempted until 2026-12-01 (approved by ciso: rotation tracked in SUP-412)"),
        "{out}"
    );
    let (code, out, err) = run(
        &state,
        &["plan", org_s, "--sandbox", "--now=2026-12-05T12:00:00Z"],
    );
    assert_eq!(code, 3, "{out}{err}");
    assert!(
        out.contains("the exception approved by ciso lapsed on 2026-12-01"),
        "{out}"
    );
}

/// A git repository whose `main` holds examples/acme with one violation
/// (Lena's grant without a reason); the working tree adds another (Sam
/// becomes external and stays in internal chats) and fixes nothing.
#[test]
fn diff_on_a_pull_request_separates_new_violations_from_existing_ones() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    let org = acme_with(repo, "people.yaml", no_reason);
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(repo)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "base"]);
    let people = org.join("people.yaml");
    let text = std::fs::read_to_string(&people).unwrap();
    std::fs::write(
        &people,
        text.replace(
            "labels: {location: remote, employment: contractor}}\n  nina",
            "labels: {location: remote, employment: external}}\n  nina",
        ),
    )
    .unwrap();
    let state = dir.path().join("state");
    let (code, out, err) = run(
        &state,
        &[
            "diff",
            "--base",
            "main",
            org.to_str().unwrap(),
            NOW,
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 3, "{out}{err}");
    assert!(
        err.contains("introduces violations of policy rule externals-only-in-external-chats"),
        "{err}"
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    let subjects = |k: &str| -> Vec<String> {
        v["policy"][k]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                format!(
                    "{} {}",
                    x["rule"].as_str().unwrap(),
                    x["subject_text"].as_str().unwrap()
                )
            })
            .collect()
    };
    let new = subjects("new");
    assert!(!new.is_empty());
    assert!(
        new.iter()
            .all(|s| s.starts_with("externals-only-in-external-chats sam in ")),
        "{new:?}"
    );
    assert_eq!(
        subjects("existing"),
        ["grants-are-justified-and-short grant moderator of lena"]
    );
    assert!(subjects("fixed").is_empty());
    let (_, md, _) = run(
        &state,
        &[
            "diff",
            "--base",
            "main",
            org.to_str().unwrap(),
            NOW,
            "--format",
            "markdown",
        ],
    );
    assert!(md.contains("This change introduces **"), "{md}");
    // In GitHub Actions the new violations (only) are annotated at their line.
    let out = orgform(&state)
        .env("GITHUB_ACTIONS", "true")
        .args(["diff", "--base", "main", org.to_str().unwrap(), NOW])
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    let annotations: Vec<&str> = err.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(annotations.len(), new.len(), "{err}");
    assert!(
        annotations.iter().all(|a| a.starts_with("::error file=")
            && a.contains("title=policy externals-only-in-external-chats")),
        "{err}"
    );
    assert!(md.contains("#### New violations"), "{md}");
    assert!(
        md.contains("<details><summary>Existing violations (1)</summary>"),
        "{md}"
    );
}

#[test]
fn drift_reports_a_stranger_made_admin_by_hand() {
    let state_dir = tempfile::tempdir().unwrap();
    let state = state_dir.path();
    let desired =
        orgform::model::load_desired(Path::new("examples/acme"), jiff::Timestamp::now()).unwrap();
    let mut w = World::from_desired(
        &desired,
        &SeedOptions {
            drift: false,
            ..SeedOptions::default()
        },
    );
    // Someone Telegram knows and the config does not.
    const STRANGER: i64 = 990_001;
    w.add_user(orgform::sandbox::world::User::human(STRANGER, "Mallory"));
    let path = state.join("sandbox").join("world.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    w.save(&path).unwrap();
    let (code, out, err) = run(
        state,
        &["apply", "examples/acme", "--sandbox", "--auto-approve"],
    );
    assert_eq!(code, 0, "{out}{err}");
    let (code, _, err) = run(state, &["drift", "examples/acme", "--sandbox"]);
    assert_eq!(code, 0, "converged: {err}");

    // By hand: the platform chat's owner invites the stranger and makes them admin.
    let world = World::load(&path).unwrap();
    let owner = world.chats[&PLATFORM]
        .members
        .iter()
        .find(|(_, m)| matches!(m, orgform::sandbox::world::Member::Creator { .. }))
        .map(|(u, _)| *u)
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let options = SandboxOptions {
            world_file: Some(path.clone()),
            ..SandboxOptions::default()
        };
        let sb = sandbox::start(options, world.clone()).await.unwrap();
        let link = sb
            .act(owner, "createChatInviteLink", json!({"chat_id": PLATFORM}))
            .unwrap();
        sb.act(
            STRANGER,
            "joinChat",
            json!({"invite_link": link["invite_link"]}),
        )
        .unwrap();
        sb.act(
            owner,
            "promoteChatMember",
            json!({"chat_id": PLATFORM, "user_id": STRANGER, "can_delete_messages": true}),
        )
        .unwrap();
        sb.shutdown().await.unwrap();
    });

    let (code, out, err) = run(
        state,
        &["drift", "examples/acme", "--sandbox", "--format", "json"],
    );
    assert_eq!(code, 2, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["policy"]["over"], "live");
    let found: Vec<(String, String)> = v["policy"]["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["rule"].as_str().unwrap().to_string(),
                x["subject_text"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [(
            "admins-are-org-people".to_string(),
            "chat platform".to_string()
        )]
    );
    let (_, text, _) = run(state, &["drift", "examples/acme", "--sandbox"]);
    assert!(
        text.contains(
            "✗ deny admins-are-org-people: chat platform — has an admin who is not in the config"
        ),
        "{text}"
    );
}

#[test]
fn only_plans_and_applies_exactly_the_selected_chat_and_names_the_rest() {
    let state_dir = tempfile::tempdir().unwrap();
    let state = state_dir.path();
    // The first plan seeds the sandbox with drift in every chat.
    let (code, out, err) = run(
        state,
        &[
            "plan",
            "examples/acme",
            "--sandbox",
            NOW,
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let full: Value = serde_json::from_str(&out).unwrap();
    let chats_with_changes: std::collections::BTreeSet<&str> = full["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["chat"].as_str().unwrap())
        .collect();
    assert!(chats_with_changes.contains("platform"));
    assert!(chats_with_changes.len() > 2, "{chats_with_changes:?}");

    let (code, out, err) = run(
        state,
        &[
            "plan",
            "examples/acme",
            "--sandbox",
            NOW,
            "--only",
            "chat:platform",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let limited: Value = serde_json::from_str(&out).unwrap();
    let limited_chats: std::collections::BTreeSet<&str> = limited["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["chat"].as_str().unwrap())
        .collect();
    assert_eq!(limited_chats, ["platform"].into());
    assert_eq!(limited["left_out"]["chats"].as_array().unwrap().len(), 9);
    assert_eq!(limited["only"], json!(["platform"]));
    // Policies stay global: every chat was evaluated.
    assert!(limited["policy"]["evaluations"].as_u64().unwrap() >= 10);

    let before = world(state);
    let (code, out, err) = run(
        state,
        &[
            "apply",
            "examples/acme",
            "--sandbox",
            NOW,
            "--only",
            "chat:platform",
            "--auto-approve",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("Limited to --only chat:platform."), "{out}");
    assert!(out.contains("Left out 9 chats: "), "{out}");
    assert!(out.contains("announcements"), "{out}");
    let after = world(state);
    let platform = PLATFORM.to_string();
    for (id, chat) in before["chats"].as_object().unwrap() {
        if *id == platform {
            assert_ne!(chat, &after["chats"][id], "platform was not changed");
        } else {
            assert_eq!(chat, &after["chats"][id], "chat {id} was written to");
        }
    }
    // platform converged; the rest still drifts.
    let (code, _, err) = run(
        state,
        &[
            "plan",
            "examples/acme",
            "--sandbox",
            NOW,
            "--only",
            "chat:platform",
            "--detailed-exitcode",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, _) = run(
        state,
        &[
            "plan",
            "examples/acme",
            "--sandbox",
            NOW,
            "--detailed-exitcode",
        ],
    );
    assert_eq!(code, 2);

    // People: only changes that concern the sre department, in every chat.
    let sre: std::collections::BTreeSet<i64> = [100006, 100007, 100008].into();
    let (code, out, err) = run(
        state,
        &[
            "plan",
            "examples/acme",
            "--sandbox",
            NOW,
            "--only",
            "department:sre",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let changes = v["changes"].as_array().unwrap();
    assert!(!changes.is_empty(), "the seeded drift touches sre people");
    for c in changes {
        let user = c["op"]["user"]
            .as_i64()
            .unwrap_or_else(|| panic!("not about a person: {c}"));
        assert!(sre.contains(&user), "{c}");
    }
    assert!(v["left_out"]["changes"].as_u64().unwrap() > 0);
    assert_eq!(v["left_out"]["people"], json!(["kwame", "lena", "tom"]));

    // A stage: the pilot is platform and sre-oncall.
    let dir = tempfile::tempdir().unwrap();
    let org = acme_with(dir.path(), "policies.yaml", |t| {
        t.replace("current: all", "current: pilot")
    });
    let (code, out, err) = run(
        state,
        &[
            "plan",
            org.to_str().unwrap(),
            "--sandbox",
            NOW,
            "--stage",
            "current",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["only"], json!(["platform", "sre-oncall"]));
    assert_eq!(v["left_out"]["selection"], "rollout stage pilot (1 of 3)");
    let (code, _, err) = run(
        state,
        &[
            "plan",
            "examples/acme",
            "--sandbox",
            NOW,
            "--only",
            "chat:nope",
        ],
    );
    assert_eq!(code, 1);
    assert!(err.contains("unknown chat `nope`"), "{err}");
}

#[test]
fn a_cel_error_is_a_diagnostic_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let org = acme_with(dir.path(), "policies.yaml", |t| {
        t.replace(
            "expr: chat.admins.all(a, a.known)",
            "expr: chat.admins.all(a, a.known) &&",
        )
    });
    let state = dir.path().join("state");
    let (code, out, err) = run(&state, &["validate", org.to_str().unwrap(), NOW]);
    assert_eq!(code, 1, "{out}");
    assert!(err.contains("error[rule-syntax]"), "{err}");
    // Line 26; column 43 is where the expression (from column 13) ends
    // too early, right after `&&`.
    assert!(err.contains("policies.yaml:26:43"), "{err}");
}
