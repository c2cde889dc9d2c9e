//! `orgform state …`, one transcript per command: what it prints and what
//! it changed. The state comes from a real `apply --sandbox` of the acme
//! example, kept in `<state-dir>/sandbox/orgform.db` (hence `--sandbox`).

use std::path::Path;

use assert_cmd::Command;
use orgform::store::sqlite::Sqlite;
use orgform::store::{Backend, Holder};

const NOW: &str = "--now=2026-11-27T12:00:00Z";

fn orgform(state: &Path) -> Command {
    crate::hermetic::orgform(state)
}

use crate::hermetic::run;

fn state(dir: &Path, args: &[&str]) -> (i32, String, String) {
    run(orgform(dir).arg("state").args(args).arg("--sandbox"))
}

/// An applied acme org; returns its run id.
fn applied(dir: &Path) -> String {
    let (code, _, stderr) =
        run(orgform(dir).args(["apply", "examples/acme", "--sandbox", "--auto-approve", NOW]));
    assert_eq!(code, 0, "{stderr}");
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("Run "))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn list_show_rm_and_adopt() {
    let dir = tempfile::tempdir().unwrap();
    applied(dir.path());
    let (code, out, err) = state(dir.path(), &["list"]);
    assert_eq!(code, 0, "{err}");
    let topic = out
        .lines()
        .find(|l| l.contains("/topic/"))
        .expect("a topic record")
        .to_string();
    let address = topic.split('\t').next().unwrap().to_string();
    assert!(
        topic.contains("thread_id=") && topic.contains("name="),
        "{topic}"
    );
    assert!(err.contains(" record(s) in "), "{err}");

    let (code, shown, _) = state(dir.path(), &["show", &address]);
    assert_eq!(code, 0);
    let record: serde_json::Value = serde_json::from_str(&shown).unwrap();
    let thread = record["thread_id"].as_i64().unwrap();

    let (code, out, _) = state(dir.path(), &["rm", &address]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        format!(
            "Removed {address} (Telegram was not touched; the next plan treats it as unknown).\n"
        )
    );
    let (code, _, err) = state(dir.path(), &["show", &address]);
    assert_eq!(code, 1);
    assert!(err.contains(&format!("no record {address}")), "{err}");

    // Adopt it back, as a person who found the thread id in Telegram.
    let mut parts = address.split('/');
    let chat = parts.next().unwrap();
    let key = parts.nth(1).unwrap();
    let name = record["name"].as_str().unwrap();
    let (code, out, err) = state(
        dir.path(),
        &[
            "adopt",
            "topic",
            chat,
            key,
            &thread.to_string(),
            "--name",
            name,
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, format!("Adopted {address}.\n"));
    let (_, again, _) = state(dir.path(), &["show", &address]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&again).unwrap()["thread_id"],
        thread
    );

    let (code, out, err) = state(
        dir.path(),
        &["adopt", "link", chat, "visitors", "https://t.me/+abcdef"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, format!("Adopted {chat}/link/visitors.\n"));
    let (code, _, err) = state(dir.path(), &["adopt", "link", chat, "bad", "not a link"]);
    assert_eq!(code, 1);
    assert!(err.contains("is not an invite link"), "{err}");
    let (code, _, err) = state(dir.path(), &["show", "nonsense"]);
    assert_eq!(code, 1);
    assert!(err.contains("is not a state address"), "{err}");
}

#[test]
fn runs_assume_and_abandon() {
    let dir = tempfile::tempdir().unwrap();
    let run_id = applied(dir.path());
    let (code, out, _) = state(dir.path(), &["runs"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with(&format!("{run_id}\tapply\t2026-11-27T12:00:00Z\tapplied\t")),
        "{out}"
    );
    let (code, out, _) = state(dir.path(), &["runs", &run_id]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with(&format!("Run {run_id}: applied\n")),
        "{out}"
    );
    assert!(out.contains("  done      + chat."), "{out}");

    // A run cut off during a topic's creation: its outcome is unknown.
    let db = Sqlite::open(&dir.path().join("sandbox")).unwrap();
    let start: serde_json::Value = serde_json::from_str(&db.events(&run_id).unwrap()[0]).unwrap();
    let plan = &start["plan"];
    let (index, change) = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .find(|(_, c)| c["op"]["op"] == "create_topic")
        .unwrap();
    let address = change["address"].as_str().unwrap().to_string();
    let cut = "20261128T000000Z-cccc";
    db.create_run(cut, "apply", "2026-11-28T00:00:00Z").unwrap();
    let mut start = start.clone();
    start["run_id"] = cut.into();
    db.append(cut, &start.to_string(), None).unwrap();
    let before = serde_json::json!({"event": "before", "index": index, "address": address, "observed": {"kind": "nothing"}});
    db.append(cut, &before.to_string(), None).unwrap();

    let (code, out, _) = state(dir.path(), &["runs"]);
    assert_eq!(code, 0);
    assert!(
        out.contains(&format!(
            "{cut}\tapply\t2026-11-28T00:00:00Z\tUNFINISHED\t2 events"
        )),
        "{out}"
    );
    let (_, out, _) = state(dir.path(), &["runs", cut]);
    assert!(
        out.starts_with(&format!("Run {cut}: UNFINISHED\n")),
        "{out}"
    );
    assert!(out.contains(&format!("  UNCERTAIN + {address}")), "{out}");
    assert!(out.contains("orgform state adopt topic"), "{out}");
    assert!(
        out.contains(&format!(
            "Record each with `orgform state runs {cut} --assume done|not-done ADDRESS`."
        )),
        "{out}"
    );
    // Apply is refused while it is unfinished.
    let (code, _, err) = run(orgform(dir.path()).args([
        "apply",
        "examples/acme",
        "--sandbox",
        "--auto-approve",
        NOW,
    ]));
    assert_eq!(code, 1);
    assert!(err.contains(&format!("run {cut} is unfinished")), "{err}");

    // Done needs the topic's id first (forget the one the first run made).
    let record = format!(
        "{}/topic/{}",
        change["chat_id"],
        change["op"]["key"].as_str().unwrap()
    );
    let (code, _, err) = state(dir.path(), &["rm", &record]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = state(dir.path(), &["runs", cut, "--assume", "done", &address]);
    assert_eq!(code, 1);
    assert!(err.contains("orgform state adopt topic"), "{err}");
    let (code, _, err) = state(
        dir.path(),
        &["runs", cut, "--assume", "not-done", "chat.nope"],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!("its uncertain changes: {address}")),
        "{err}"
    );
    let (code, out, _) = state(dir.path(), &["runs", cut, "--assume", "not-done", &address]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        format!("Recorded: {address} did not happen (run {cut}).\n")
    );
    let (_, out, _) = state(dir.path(), &["runs", cut]);
    assert!(out.contains(&format!("  not done  + {address}")), "{out}");

    let (code, out, _) = state(dir.path(), &["abandon", cut]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        format!("Abandoned run {cut}: 0 change(s) done stay done; it no longer blocks apply.\n")
    );
    let (_, out, _) = state(dir.path(), &["runs"]);
    assert!(
        out.contains(&format!("{cut}\tapply\t2026-11-28T00:00:00Z\tabandoned\t")),
        "{out}"
    );
    let (code, out, _) = state(dir.path(), &["abandon", cut]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        format!("Run {cut} is already finished; nothing to abandon.\n")
    );
}

#[test]
fn unlock_names_the_holder_and_needs_force_for_a_live_one() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, _) = state(dir.path(), &["unlock"]);
    assert_eq!(code, 0);
    assert_eq!(out, "The state is not locked.\n");
    let db = Sqlite::open(&dir.path().join("sandbox")).unwrap();
    let live = Holder {
        command: "apply".into(),
        run_id: Some("20261127T120000Z-aaaa".into()),
        host: "ci-runner-7".into(),
        pid: 4242,
        started: "2026-11-27T12:00:00Z".into(),
        proc_start: None,
    };
    db.lock(&live).unwrap();
    let (code, _, err) = state(dir.path(), &["unlock"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("the state is locked by orgform apply (run 20261127T120000Z-aaaa, host ci-runner-7, pid 4242, started 2026-11-27T12:00:00Z), which may still run"),
        "{err}"
    );
    assert!(err.contains("orgform state unlock --force"), "{err}");
    let (code, out, _) = state(dir.path(), &["unlock", "--force"]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "Removed the lock of orgform apply (run 20261127T120000Z-aaaa, host ci-runner-7, pid 4242, started 2026-11-27T12:00:00Z).\n"
    );
    // A holder on this host whose process is gone needs no --force.
    let dead = Holder {
        host: orgform::store::backend::host_name(),
        pid: 999_999_999,
        ..live
    };
    db.lock(&dead).unwrap();
    let (code, out, _) = state(dir.path(), &["unlock"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("Removed the lock of orgform apply"),
        "{out}"
    );
    assert_eq!(db.holder().unwrap(), None);
}

#[test]
fn export_import_and_migrate_move_everything() {
    let dir = tempfile::tempdir().unwrap();
    let run_id = applied(dir.path());
    let file = dir.path().join("state-export.json");
    let (code, _, err) = state(dir.path(), &["export", "--out", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.starts_with("Exported 10 chat(s) and 1 run(s) to "),
        "{err}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let (_, listed, _) = state(dir.path(), &["list"]);

    let other = tempfile::tempdir().unwrap();
    let (code, out, err) = state(other.path(), &["import", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("Imported ") && out.contains(" record(s) and 1 run(s) from "),
        "{out}"
    );
    assert!(out.ends_with("(it held 0 record(s) before).\n"), "{out}");
    let (_, imported, _) = state(other.path(), &["list"]);
    assert_eq!(listed, imported);
    let (_, runs, _) = state(other.path(), &["runs"]);
    assert!(runs.starts_with(&format!("{run_id}\tapply")), "{runs}");

    let target = dir.path().join("moved/orgform.db");
    let (code, out, err) = state(dir.path(), &["migrate", "--to", target.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("Migrated ") && out.contains(" record(s) and 1 run(s) from "),
        "{out}"
    );
    let (_, moved, _) = run(orgform(dir.path())
        .args(["state", "list", "--state"])
        .arg(&target));
    assert_eq!(listed, moved);
    // A second migrate into the same place is refused.
    let (code, _, err) = state(dir.path(), &["migrate", "--to", target.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        err.contains("already holds state; refusing to overwrite it"),
        "{err}"
    );
}

/// A person absent from most chats is one `gone` row with a set of chats:
/// `state list` prints the set briefly, and `state rm CHAT/member/USER`
/// removes that one chat's record although no row of that name exists.
#[test]
fn a_folded_person_is_listed_briefly_and_removed_per_chat() {
    use orgform::state::MemberState;
    use orgform::store::records::GONE_KIND;
    let dir = tempfile::tempdir().unwrap();
    let sandbox = dir.path().join("sandbox");
    let location = orgform::store::Location::Sqlite(sandbox.join("orgform.db"));
    let backend = orgform::store::open(&location, &sandbox).unwrap().0;
    let mut org = orgform::store::Store::default();
    for c in 1..=40i64 {
        org.see_member(-1000 - c, 100, MemberState::Absent, 20, "apply");
        org.see_member(-1000 - c, 7, MemberState::Member, 20, "update");
    }
    backend.replace_all(&org).unwrap();
    assert!(
        orgform::store::records::rows(&backend.load().unwrap())
            .keys()
            .any(|(_, kind, _)| kind == GONE_KIND),
        "the person is folded"
    );

    let (code, out, err) = state(dir.path(), &["list"]);
    assert_eq!(code, 0, "{err}");
    let set = out
        .lines()
        .find(|l| l.contains("40 chats: "))
        .unwrap_or_else(|| panic!("no brief chat set in:\n{out}"));
    assert!(set.len() < 120, "{set}");

    let (code, out, err) = state(dir.path(), &["rm", "-1001/member/100"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("Removed -1001/member/100"), "{out}");
    let after = backend.load().unwrap();
    assert!(!after.chats[&-1001].members.contains_key(&100));
    for c in 2..=40i64 {
        assert_eq!(
            after.chats[&(-1000 - c)].members[&100].status,
            MemberState::Absent,
            "chat {c} keeps the record"
        );
    }
    assert_eq!(after.chats[&-1001].members[&7].status, MemberState::Member);

    let (code, _, err) = state(dir.path(), &["rm", "-1001/member/100"]);
    assert_eq!(code, 1, "a second rm finds nothing: {err}");
}
