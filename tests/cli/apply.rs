//! `orgform apply`, `--plan`, `--resume` and `rollback` end to end: the
//! binary against the sandbox over HTTP, either in-process (`--sandbox`)
//! or as a separate `orgform sandbox serve` process when a test needs to
//! act as a human or kill the applier mid-run.

use std::path::Path;
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use assert_cmd::cargo::cargo_bin;
use orgform::store::sqlite::Sqlite;
use orgform::store::{Backend, Holder};

const NOW: &str = "--now=2026-11-27T12:00:00Z";

fn orgform(state: &Path) -> Command {
    crate::hermetic::orgform(state)
}

use crate::hermetic::run;

use crate::hermetic::Sandbox;

#[test]
fn apply_converges_and_keeps_private_files_private() {
    let state = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run(orgform(state.path()).args([
        "apply",
        "examples/acme",
        "--sandbox",
        "--auto-approve",
        NOW,
    ]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("Run 20261127T120000Z-"),
        "the run id is printed at the start: {stderr}"
    );
    assert!(stdout.contains(": applied."), "{stdout}");
    let (code, stdout, _) = run(orgform(state.path()).args([
        "plan",
        "examples/acme",
        "--sandbox",
        "--detailed-exitcode",
        NOW,
    ]));
    assert_eq!(code, 0, "{stdout}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let dir = state.path().join("sandbox");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        for f in std::fs::read_dir(&dir).unwrap().flatten() {
            let name = f.file_name().to_string_lossy().into_owned();
            if name.starts_with("orgform.db") {
                assert_eq!(mode(&f.path()), 0o600, "{name}");
            }
        }
        assert!(dir.join("orgform.db").exists());
        assert!(!dir.join("state.json").exists() && !dir.join("journal").exists());
    }
}

#[test]
fn apply_without_a_terminal_needs_auto_approve() {
    let state = tempfile::tempdir().unwrap();
    let (code, _, stderr) =
        run(orgform(state.path()).args(["apply", "examples/acme", "--sandbox", NOW]));
    assert_eq!(code, 1);
    assert!(
        stderr.contains("refusing to apply without confirmation: stdin is not a terminal"),
        "{stderr}"
    );
    let runs = Sqlite::open(&state.path().join("sandbox"))
        .unwrap()
        .runs()
        .unwrap();
    assert!(runs.is_empty(), "nothing ran: {runs:?}");
}

#[test]
fn a_stale_saved_plan_is_refused_and_an_unrelated_change_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let server = Sandbox::start(dir.path(), "examples/acme", &[NOW], &[]);
    let plan_file = dir.path().join("plan.json");
    let (code, _, err) = run(orgform(dir.path())
        .args(["plan", "examples/acme", NOW, "--out"])
        .arg(&plan_file)
        .args(server.args()));
    assert_eq!(code, 0, "{err}");

    // A human renames a chat whose title the plan changes.
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan_file).unwrap()).unwrap();
    let title_change = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["op"]["op"] == "set_title")
        .expect("the seeded drift has an old title");
    let chat_id = title_change["chat_id"].as_i64().unwrap();
    let owner = owner_of(dir.path(), chat_id);
    server.act(
        owner,
        "setChatTitle",
        &[
            ("chat_id", chat_id.to_string()),
            ("title", "Renamed by hand".into()),
        ],
    );
    let (code, _, stderr) = run(orgform(dir.path())
        .args(["apply", "examples/acme", "--auto-approve", NOW, "--plan"])
        .arg(&plan_file)
        .args(server.args()));
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("the plan is stale")
            && stderr.contains(title_change["address"].as_str().unwrap()),
        "{stderr}"
    );

    // A new plan; then a human changes something the plan does not touch.
    let (code, _, _) = run(orgform(dir.path())
        .args(["plan", "examples/acme", NOW, "--out"])
        .arg(&plan_file)
        .args(server.args()));
    assert_eq!(code, 0);
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan_file).unwrap()).unwrap();
    let touched: Vec<&str> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["address"].as_str())
        .collect();
    assert!(!touched.iter().any(|a| a.ends_with(".description")));
    let other = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["op"]["op"] != "set_title")
        .unwrap()["chat_id"]
        .as_i64()
        .unwrap();
    server.act(
        owner_of(dir.path(), other),
        "setChatDescription",
        &[
            ("chat_id", other.to_string()),
            ("description", "Edited by hand".into()),
        ],
    );
    let (code, stdout, stderr) = run(orgform(dir.path())
        .args(["apply", "examples/acme", "--auto-approve", NOW, "--plan"])
        .arg(&plan_file)
        .args(server.args()));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
}

/// The owner of a chat in the sandbox world file (who may act on it).
fn owner_of(dir: &Path, chat_id: i64) -> i64 {
    let world: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("world.json")).unwrap()).unwrap();
    let members = world["chats"][chat_id.to_string()]["members"]
        .as_object()
        .unwrap();
    members
        .iter()
        .find(|(_, m)| m["status"] == "creator")
        .map(|(u, _)| u.parse().unwrap())
        .expect("an owner")
}

#[test]
fn a_killed_apply_resumes_without_repeating_anything() {
    let dir = tempfile::tempdir().unwrap();
    // Slow calls, so the kill lands mid-run.
    let server = Sandbox::start(dir.path(), "examples/acme", &[NOW], &["--latency", "80"]);
    let state = dir.path().join("state");
    let plan_file = dir.path().join("plan.json");
    let (code, _, err) = run(orgform(&state)
        .args(["plan", "examples/acme", NOW, "--out"])
        .arg(&plan_file)
        .args(server.args()));
    assert_eq!(code, 0, "{err}");
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan_file).unwrap()).unwrap();
    let count = |op: &str| {
        plan["changes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["op"]["op"] == op)
            .count() as u64
    };
    let before_topics = server.calls("createForumTopic");
    let before_links = server.calls("createChatInviteLink");

    // A failed assert below ends the test process, and the child with it.
    #[allow(clippy::zombie_processes)]
    let mut child = Process::new(cargo_bin("orgform"))
        .env_clear()
        .env("ORGFORM_STATE_DIR", &state)
        .args([
            "apply",
            "examples/acme",
            "--auto-approve",
            "--parallel-chats",
            "1",
            NOW,
        ])
        .args(server.args())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill right after the 5th change is journaled as done: the applier is
    // then reading the next change's before-state, not in a write.
    let start = Instant::now();
    let run_id = loop {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the apply never got going"
        );
        if let Some((run, events)) = journal_of(&state) {
            let done = events
                .iter()
                .filter(|e| e.contains("\"event\":\"done\""))
                .count();
            if done >= 5
                && events
                    .last()
                    .is_some_and(|e| e.contains("\"event\":\"done\""))
            {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                break run;
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let (code, _, _) = run(orgform(&state)
        .args(["plan", "examples/acme", "--detailed-exitcode", NOW])
        .args(server.args()));
    assert_eq!(code, 2, "the run was cut off: work is left");

    let (code, stdout, stderr) = run(orgform(&state)
        .args(["apply", "examples/acme", NOW, "--resume", &run_id])
        .args(server.args()));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stderr.contains(&format!("Resuming run {run_id}")),
        "{stderr}"
    );
    let (code, stdout, _) = run(orgform(&state)
        .args(["plan", "examples/acme", "--detailed-exitcode", NOW])
        .args(server.args()));
    assert_eq!(code, 0, "converged after the resume: {stdout}");
    // No creation ran twice.
    assert_eq!(
        server.calls("createForumTopic") - before_topics,
        count("create_topic")
    );
    assert_eq!(
        server.calls("createChatInviteLink") - before_links,
        count("create_invite_link") + count("send_invite")
    );
}

/// The first run in a state dir's database and its journal so far.
fn journal_of(state: &Path) -> Option<(String, Vec<String>)> {
    if !state.join("orgform.db").exists() {
        return None;
    }
    let db = Sqlite::open(state).ok()?;
    let run = db.runs().ok()?.into_iter().next()?;
    let events = db.events(&run.run_id).ok()?;
    Some((run.run_id, events))
}

#[test]
fn rollback_command_undoes_a_finished_run() {
    let state = tempfile::tempdir().unwrap();
    let (code, _, stderr) = run(orgform(state.path()).args([
        "apply",
        "examples/acme",
        "--sandbox",
        "--auto-approve",
        NOW,
    ]));
    assert_eq!(code, 0, "{stderr}");
    let run_id = stderr
        .lines()
        .find_map(|l| l.strip_prefix("Run "))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let (code, stdout, stderr) = run(orgform(state.path()).args([
        "rollback",
        &run_id,
        "--config",
        "examples/acme",
        "--sandbox",
        "--auto-approve",
    ]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("Rollback of run") && stdout.contains("complete"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Irreversible changes a person must handle:")
            && stdout.contains("chat.announcements.member.greg: unban"),
        "{stdout}"
    );
    // Back to the seeded drift: the plan has work again.
    let (code, _, _) = run(orgform(state.path()).args([
        "plan",
        "examples/acme",
        "--sandbox",
        "--detailed-exitcode",
        "--allow-removals",
        NOW,
    ]));
    assert_eq!(code, 2);
}

#[test]
fn concurrent_applies_are_refused() {
    let state = tempfile::tempdir().unwrap();
    let dir = state.path().join("sandbox");
    std::fs::create_dir_all(&dir).unwrap();
    // A lock held by a live process (this test).
    let db = Sqlite::open(&dir).unwrap();
    let me = Holder {
        command: "apply".into(),
        run_id: Some("20261127T115900Z-beef".into()),
        host: orgform::store::backend::host_name(),
        pid: std::process::id(),
        started: "2026-11-27T11:59:00Z".into(),
        proc_start: None,
    };
    db.lock(&me).unwrap();
    let (code, _, stderr) = run(orgform(state.path()).args([
        "apply",
        "examples/acme",
        "--sandbox",
        "--auto-approve",
        NOW,
    ]));
    assert_eq!(code, 1);
    assert!(
        stderr.contains(&format!(
            "the state is locked by orgform apply (run 20261127T115900Z-beef, host {}, pid {}, started 2026-11-27T11:59:00Z)",
            me.host,
            std::process::id()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("orgform state unlock --force"), "{stderr}");
    // A plan is refused too, unless it is read-only.
    let (code, _, stderr) =
        run(orgform(state.path()).args(["plan", "examples/acme", "--sandbox", NOW]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("--lock=false"), "{stderr}");
    let (code, _, stderr) = run(orgform(state.path()).args([
        "plan",
        "examples/acme",
        "--sandbox",
        "--lock=false",
        NOW,
    ]));
    assert_eq!(code, 0, "{stderr}");
    // A lock left by a process that crashed is taken over.
    db.force_unlock().unwrap();
    let dead = Holder {
        pid: 999_999_999,
        started: "2026-11-27T11:00:00Z".into(),
        ..me
    };
    db.lock(&dead).unwrap();
    let (code, _, stderr) = run(orgform(state.path()).args([
        "apply",
        "examples/acme",
        "--sandbox",
        "--auto-approve",
        NOW,
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("took over the lock of orgform apply (run 20261127T115900Z-beef")
            && stderr.contains("pid 999999999"),
        "{stderr}"
    );
    assert_eq!(db.holder().unwrap(), None, "released at the end");
}

#[test]
fn a_200_chat_org_converges_through_rate_limits_and_faults() {
    let dir = tempfile::tempdir().unwrap();
    let generated = dir.path().join("org");
    let (code, _, err) = run(orgform(dir.path())
        .args([
            "sandbox", "generate", "--people", "400", "--chats", "200", "--seed", "3", "--out",
        ])
        .arg(&generated));
    assert_eq!(code, 0, "{err}");
    let token = serde_json::from_str::<serde_json::Value>(
        &std::fs::read_to_string(generated.join("world.json")).unwrap(),
    )
    .unwrap()["bot"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, token).unwrap();
    let server = Sandbox::serve(
        &generated.join("world.json"),
        token_file,
        &["--rate-limit", "300", "--fail-rate", "0.1", "--seed", "5"],
    );
    let config = generated.join("config");
    let state = dir.path().join("state");
    let (code, stdout, stderr) = run(orgform(&state)
        .args(["apply"])
        .arg(&config)
        // Unpaced, so the sandbox's own limit answers with 429s.
        .args([
            "--auto-approve",
            "--allow-removals",
            "--allow-demotions",
            "--allow-few-admins",
            "--requests-per-second",
            "0",
            NOW,
        ])
        .args(server.args()));
    assert_eq!(
        code,
        0,
        "{}\n{stderr}",
        stdout.lines().rev().take(15).collect::<Vec<_>>().join("\n")
    );
    assert!(
        stdout.contains(", 0 failed, 0 rolled back, 0 uncertain, 0 not run"),
        "{}",
        stdout.lines().last().unwrap_or("")
    );
    let (code, stdout, _) = run(orgform(&state)
        .args(["plan"])
        .arg(&config)
        .args(["--detailed-exitcode", "--requests-per-second", "0", NOW])
        .args(server.args()));
    assert_eq!(
        code,
        0,
        "converged: {}",
        stdout.lines().rev().take(5).collect::<Vec<_>>().join("\n")
    );
    let (_, stats, _) = run(Command::cargo_bin("orgform").unwrap().args([
        "sandbox",
        "stats",
        "--url",
        &server.url,
    ]));
    let stats: serde_json::Value = serde_json::from_str(&stats).unwrap();
    assert!(
        stats["rate_limited"].as_u64().unwrap() > 0,
        "the rate limit was hit: {stats}"
    );
    assert!(
        stats["injected_errors"].as_u64().unwrap() > 0,
        "faults were injected: {stats}"
    );
}
