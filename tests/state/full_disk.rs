//! A state directory on a full file system (a small tmpfs, mounted for the
//! test; it needs root, and says it was skipped otherwise). The disk fills
//! while an apply runs: the run stops cleanly before its next call, its
//! rollback is journaled (the SQLite backend keeps a reserve of free space
//! for exactly this), `rollback` and `resume` read the journal afterwards,
//! and the world ends exactly as before the run, then converges.

#![cfg(target_os = "linux")]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use orgform::store::Backend;
use orgform::store::sqlite::Sqlite;

const NOW: &str = "--now=2026-11-27T12:00:00Z";
const CONFIG: &str = "examples/acme";

struct Mount(PathBuf);

impl Mount {
    fn tmpfs(at: &Path, size: &str) -> Option<Mount> {
        std::fs::create_dir_all(at).unwrap();
        let ok = Process::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(at)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Mount(at.to_path_buf()))
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Process::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn orgform(state: &Path) -> Command {
    crate::hermetic::orgform(state)
}

use crate::hermetic::run;

use crate::hermetic::Sandbox;

fn serve(dir: &Path) -> Sandbox {
    Sandbox::start(dir, CONFIG, &[NOW], &["--latency", "40"])
}

fn plan_changes(state: &Path, server: &Sandbox) -> usize {
    let (code, out, err) = run(orgform(state)
        .args(["plan", CONFIG, NOW, "--lock=false", "--format", "json"])
        .args(server.args()));
    assert_eq!(code, 0, "{err}");
    let plan: serde_json::Value = serde_json::from_str(&out).unwrap();
    plan["changes"].as_array().unwrap().len()
}

#[test]
fn a_full_disk_stops_the_run_and_its_rollback_is_journaled() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mount) = Mount::tmpfs(&dir.path().join("mnt"), "6m") else {
        // Straight to stderr: the harness captures eprintln!.
        let _ = writeln!(
            std::io::stderr(),
            "state_full_disk: SKIPPED (cannot mount a tmpfs here; needs root)"
        );
        return;
    };
    let server = serve(dir.path());
    let state = mount.0.join("state");
    let planned = plan_changes(&state, &server);
    assert!(planned > 5);

    let child = crate::hermetic::process(&state)
        .args([
            "apply",
            CONFIG,
            "--auto-approve",
            "--parallel-chats",
            "1",
            NOW,
        ])
        .args(server.args())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let run_id = loop {
        assert!(start.elapsed() < Duration::from_secs(60), "never started");
        let db = Sqlite::open(&state).ok();
        let found = db.and_then(|db| {
            let run = db.runs().ok()?.into_iter().next()?;
            let done = db
                .events(&run.run_id)
                .ok()?
                .iter()
                .filter(|e| e.contains("\"event\":\"done\""))
                .count();
            (done >= 3).then_some(run.run_id)
        });
        if let Some(run) = found {
            break run;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    // Fill the disk to the last byte.
    let filler = fill(&mount.0);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("the disk holding the state"), "{stdout}");
    assert!(
        stdout.contains("the rollback is complete: Telegram is as it was before the run"),
        "{stdout}"
    );
    // The rollback is in the journal, read back after the disk has room.
    std::fs::remove_file(filler).unwrap();
    let db = Sqlite::open(&state).unwrap();
    let events = db.events(&run_id).unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.contains("\"event\":\"rollback_start\""))
    );
    assert!(events.iter().any(|e| e.contains("\"event\":\"undo\"")));
    assert!(
        events
            .last()
            .unwrap()
            .contains("\"status\":\"rolled_back\""),
        "{events:?}"
    );
    // rollback and resume read it.
    let (code, out, err) = run(orgform(&state)
        .args(["rollback", &run_id, "--config", CONFIG, "--auto-approve"])
        .args(server.args()));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("nothing to undo"), "{out}");
    let (code, _, err) = run(orgform(&state)
        .args(["apply", CONFIG, NOW, "--resume", &run_id])
        .args(server.args()));
    assert_eq!(code, 1);
    assert!(err.contains("was rolled back"), "{err}");
    // Exactly as before: the same plan again; then it converges.
    assert_eq!(plan_changes(&state, &server), planned);
    let (code, out, err) = run(orgform(&state)
        .args(["apply", CONFIG, NOW, "--auto-approve"])
        .args(server.args()));
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(plan_changes(&state, &server), 0);
}

/// Fill the file system holding `dir` to the last byte; the filler file.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut filler = std::fs::File::create(&path).unwrap();
    let chunk = vec![0xa5u8; 64 * 1024];
    while filler.write_all(&chunk).is_ok() {}
    let mut small = vec![0u8; 512];
    while !small.is_empty() {
        if filler.write_all(&small).is_err() {
            small.truncate(small.len() / 2);
        }
    }
    let _ = filler.sync_all();
    path
}

fn skipped(test: &str) {
    let _ = writeln!(
        std::io::stderr(),
        "{test}: SKIPPED (cannot mount a tmpfs here; needs root)"
    );
}

const CREATED: i64 = -1_002_000_000_007;

/// A config declaring `incidents` without an id, and a state in which
/// orgform created it (as the user provider records a creation).
fn created_chat(config_dir: &Path, state: &Path) -> (PathBuf, String) {
    let text = "# Acme's chats\norg:\n  name: Acme\n  telegram: {bot: acme_bot, provider: both}\nchats:\n  incidents:\n    type: supergroup   # a forum later\n    title: Incidents\n";
    let config = config_dir.join("org.yaml");
    std::fs::write(&config, text).unwrap();
    let mut store = orgform::store::Store::default();
    store.chats.insert(
        CREATED,
        orgform::store::ChatMemory {
            created_for: Some("incidents".into()),
            ..Default::default()
        },
    );
    Sqlite::open(state).unwrap().replace_all(&store).unwrap();
    (config, text.to_string())
}

fn import_ids(state: &Path, config: &Path) -> (i32, String, String) {
    run(orgform(state)
        .args(["import", "ids", "--config"])
        .arg(config))
}

/// `import ids` on a full disk: it says it could not write, the config
/// file keeps every byte, and no temporary file is left beside it; with
/// room again, the same command writes the id.
#[test]
fn import_ids_on_a_full_disk_keeps_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mount) = Mount::tmpfs(&dir.path().join("mnt"), "1m") else {
        return skipped("import_ids_on_a_full_disk_keeps_the_config_file");
    };
    let state = dir.path().join("state");
    let (config, before) = created_chat(&mount.0, &state);
    let filler = fill(&mount.0);

    let (code, out, err) = import_ids(&state, &config);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("cannot write") && err.contains("org.yaml"),
        "{err}"
    );
    assert!(!out.contains("Added"), "{out}");
    assert_eq!(std::fs::read_to_string(&config).unwrap(), before);
    let mut left: Vec<_> = std::fs::read_dir(&mount.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(left, ["filler", "org.yaml"]);

    std::fs::remove_file(filler).unwrap();
    let (code, out, err) = import_ids(&state, &config);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        before.replace(
            "  incidents:\n",
            &format!("  incidents:\n    id: {CREATED}\n")
        )
    );
}

/// Several `import ids` at once on one config: each either writes the id
/// or says the file changed meanwhile and writes nothing; the file ends
/// with the id exactly once, and loads.
#[test]
fn import_ids_run_at_once_write_the_id_once() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let (config, before) = created_chat(dir.path(), &state);
    for round in 0..3 {
        std::fs::write(&config, &before).unwrap();
        let children: Vec<_> = (0..4)
            .map(|_| {
                crate::hermetic::process(&state)
                    .args(["import", "ids", "--config"])
                    .arg(&config)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            match out.status.code() {
                Some(0) => {}
                Some(1) => assert!(
                    err.contains("changed while orgform was editing it"),
                    "{err}"
                ),
                other => panic!("round {round}: exit {other:?}: {err}"),
            }
        }
        let after = std::fs::read_to_string(&config).unwrap();
        assert_eq!(after.matches("id: ").count(), 1, "round {round}:\n{after}");
        assert_eq!(
            after,
            before.replace(
                "  incidents:\n",
                &format!("  incidents:\n    id: {CREATED}\n")
            )
        );
        let leftovers = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".tmp")
            })
            .count();
        assert_eq!(leftovers, 0);
    }
}

/// `state rm` when the disk holding the state is full: it either removes
/// the record (SQLite keeps a reserve for exactly such small writes) or
/// says it could not and keeps it; either way the store reads back whole,
/// and with room again the record can be removed.
#[test]
fn state_rm_on_a_full_disk_removes_the_record_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mount) = Mount::tmpfs(&dir.path().join("mnt"), "8m") else {
        return skipped("state_rm_on_a_full_disk_removes_the_record_or_nothing");
    };
    let state = mount.0.join("state");
    let (code, _, err) =
        run(orgform(&state).args(["apply", CONFIG, "--sandbox", "--auto-approve", NOW]));
    assert_eq!(code, 0, "{err}");
    let list = |state: &Path| {
        let (code, out, err) = run(orgform(state).args(["state", "list", "--sandbox"]));
        assert_eq!(code, 0, "{err}");
        out
    };
    let records = list(&state);
    let topic = records
        .lines()
        .find(|l| l.contains("/topic/"))
        .and_then(|l| l.split('\t').next())
        .expect("a topic record")
        .to_string();
    let filler = fill(&mount.0);

    let (code, out, err) = run(orgform(&state).args(["state", "rm", &topic, "--sandbox"]));
    let after = list(&state);
    match code {
        0 => assert!(!after.contains(&format!("{topic}\t")), "{after}"),
        1 => {
            assert!(
                err.contains("disk") || err.contains("space") || err.contains("full"),
                "{err}"
            );
            assert_eq!(after, records, "nothing removed");
        }
        other => panic!("exit {other}: {out}{err}"),
    }
    std::fs::remove_file(filler).unwrap();
    if code == 1 {
        let (code, _, err) = run(orgform(&state).args(["state", "rm", &topic, "--sandbox"]));
        assert_eq!(code, 0, "{err}");
    }
    let after = list(&state);
    assert_eq!(
        after.lines().count() + 1,
        records.lines().count(),
        "exactly the one record is gone:\n{after}"
    );
}
