//! A reader that goes away (`orgform … | head -c 100`) ends every command
//! quietly: no panic, no error text, exit 141 (128 + SIGPIPE, what a shell
//! reports for a tool stopped by a closed pipe). Two ways: a pipe read for
//! 100 bytes and then closed while the command still has more than 64 KB
//! to write, and a pipe closed before the command starts (deterministic,
//! for every command whatever the size of its output).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const NOW: &str = "--now=2026-11-27T12:00:00Z";

fn command(state: &Path, cwd: &Path, args: &[&str]) -> Command {
    let mut cmd = crate::hermetic::process(state);
    cmd.current_dir(cwd)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

/// A generated org (300 people, 30 chats) with everyone offboarded in
/// the config: plans, drift and diffs of several hundred kilobytes.
struct Org {
    dir: tempfile::TempDir,
}

impl Org {
    fn new() -> Org {
        let dir = tempfile::tempdir().unwrap();
        let out = crate::hermetic::process_bare()
            .args([
                "sandbox", "generate", "--people", "300", "--chats", "30", "--out",
            ])
            .arg(dir.path().join("gen"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let org = Org { dir };
        // A git repository whose HEAD has the org as generated and whose
        // working tree offboards everyone.
        let repo = git2::Repository::init(org.repo()).unwrap();
        copy_dir(&org.dir.path().join("gen/config"), &org.repo().join("org"));
        let mut index = repo.index().unwrap();
        index
            .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
            .unwrap();
        index.write().unwrap();
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let sig = git2::Signature::new("t", "t@example.com", &git2::Time::new(0, 0)).unwrap();
        repo.commit(Some("HEAD"), &sig, &sig, "org", &tree, &[])
            .unwrap();
        let people = org.repo().join("org/people.yaml");
        let text = std::fs::read_to_string(&people).unwrap();
        let mut offboarded = String::new();
        for line in text.lines() {
            if line.starts_with("    status:") {
                continue;
            }
            offboarded.push_str(line);
            offboarded.push('\n');
            if line.starts_with("  p") && line.ends_with(':') {
                offboarded.push_str("    status: offboarded\n");
            }
        }
        std::fs::write(&people, offboarded).unwrap();
        // Invalid usernames everywhere: two thousand diagnostics.
        let out = crate::hermetic::process_bare()
            .args([
                "sandbox", "generate", "--people", "2000", "--chats", "10", "--out",
            ])
            .arg(org.dir.path().join("big"))
            .output()
            .unwrap();
        assert!(out.status.success());
        copy_dir(
            &org.dir.path().join("big/config"),
            &org.dir.path().join("bad"),
        );
        let bad = org.dir.path().join("bad/people.yaml");
        let text = std::fs::read_to_string(&bad).unwrap();
        let text: String = text
            .lines()
            .map(|l| {
                if l.starts_with("    username:") {
                    "    username: x!\n".to_string()
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        std::fs::write(&bad, text).unwrap();
        org
    }

    fn repo(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    /// A fresh state dir whose sandbox world is the generated one.
    fn state(&self) -> tempfile::TempDir {
        let state = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(state.path().join("sandbox")).unwrap();
        std::fs::copy(
            self.dir.path().join("gen/world.json"),
            state.path().join("sandbox/world.json"),
        )
        .unwrap();
        state
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

fn assert_quiet(args: &[&str], code: Option<i32>, stderr: &str) {
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    assert!(!stderr.contains("Broken pipe"), "{args:?}: {stderr}");
    assert!(
        !stderr.contains("error"),
        "{args:?} printed an error: {stderr}"
    );
    assert_eq!(code, Some(141), "{args:?}: {stderr}");
}

/// Read 100 bytes, close the pipe, and check the command stopped quietly.
fn head_100(state: &Path, cwd: &Path, args: &[&str]) {
    let mut child = command(state, cwd, args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 100];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert_quiet(
        args,
        out.status.code(),
        &String::from_utf8_lossy(&out.stderr),
    );
}

/// Start with stdout already closed.
fn closed_from_the_start(state: &Path, cwd: &Path, args: &[&str]) {
    // A socket pair with one end closed: writing to the other fails with
    // EPIPE at once, as a pipe whose reader is gone does.
    let (reader, writer) = std::os::unix::net::UnixStream::pair().unwrap();
    drop(reader);
    let out = command(state, cwd, args)
        .stdout(std::os::fd::OwnedFd::from(writer))
        .output()
        .unwrap();
    assert_quiet(
        args,
        out.status.code(),
        &String::from_utf8_lossy(&out.stderr),
    );
}

#[test]
fn every_command_stops_quietly_when_its_reader_goes_away() {
    let org = Org::new();
    let repo = org.repo();
    let gen_config = org.dir.path().join("gen/config");
    let generated = gen_config.to_str().unwrap();
    let bad_config = org.dir.path().join("bad");
    let bad = bad_config.to_str().unwrap();
    // Large outputs: plans, drift, diffs, the model, the access matrix,
    // diagnostics, all above 64 KB.
    let large: Vec<Vec<&str>> = vec![
        vec!["plan", "org", "--sandbox", NOW],
        vec!["plan", "org", "--sandbox", NOW, "--format", "json"],
        vec!["drift", "org", "--sandbox", NOW],
        vec!["drift", "org", "--sandbox", NOW, "--format", "json"],
        vec!["diff", "--base", "HEAD", "org", NOW],
        vec!["diff", "--base", "HEAD", "org", NOW, "--format", "json"],
        vec!["show", generated, "--format", "json", NOW],
        vec!["show", generated, NOW],
        vec!["export", "access", generated, NOW],
        vec!["export", "access", generated, NOW, "--format", "json"],
        vec!["validate", bad, "--format", "json", NOW],
        vec!["validate", bad, "--format", "github", NOW],
        vec![
            "apply",
            "org",
            "--sandbox",
            NOW,
            "--auto-approve",
            "--allow-removals",
            "--allow-few-admins",
        ],
    ];
    for args in &large {
        let state = org.state();
        head_100(state.path(), &repo, args);
    }
    // The cut-off apply changed nothing: the plan was still being shown.
    let state = org.state();
    head_100(
        state.path(),
        &repo,
        &[
            "apply",
            "org",
            "--sandbox",
            NOW,
            "--auto-approve",
            "--allow-removals",
            "--allow-few-admins",
        ],
    );
    let world_before = std::fs::read(org.dir.path().join("gen/world.json")).unwrap();
    let journals = state.path().join("sandbox/journal");
    assert!(
        !journals.exists() || std::fs::read_dir(&journals).unwrap().next().is_none(),
        "no run was started"
    );
    let world_after: serde_json::Value =
        serde_json::from_slice(&std::fs::read(state.path().join("sandbox/world.json")).unwrap())
            .unwrap();
    let world_before: serde_json::Value = serde_json::from_slice(&world_before).unwrap();
    assert_eq!(
        world_before["chats"], world_after["chats"],
        "nobody was removed"
    );

    // Every command, whatever its size, with stdout closed from the start.
    let small: Vec<Vec<&str>> = vec![
        vec!["validate", generated, NOW],
        vec!["plan", "org", "--sandbox", NOW, "--format", "markdown"],
        vec!["drift", "org", "--sandbox", NOW, "--format", "markdown"],
        vec!["diff", "--base", "HEAD", "org", NOW, "--format", "markdown"],
        vec!["show", generated, "person", "p00001", NOW],
        vec!["show", generated, "chat", "announcements", NOW],
        vec!["export", "access", generated, NOW, "--format", "markdown"],
        vec!["schema"],
        vec!["import", "ids", "--config", generated],
        vec!["login", "--help"],
        vec!["completions", "bash"],
        vec!["completions", "zsh"],
        vec!["completions", "man"],
        vec!["sandbox", "stats", "--help"],
        vec!["--help"],
        vec!["--version"],
    ];
    for args in large.iter().chain(&small) {
        let state = org.state();
        closed_from_the_start(state.path(), &repo, args);
    }

    // What orgform remembers, after an apply of the generated org: the
    // state's records, its export and its runs (they only read).
    let applied = org.state();
    let out = command(
        applied.path(),
        &repo,
        &[
            "apply",
            generated,
            "--sandbox",
            NOW,
            "--auto-approve",
            "--allow-removals",
            "--allow-few-admins",
        ],
    )
    .output()
    .unwrap();
    assert!(
        out.status.code() == Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let remembered: Vec<Vec<&str>> = vec![
        vec!["state", "list", "--sandbox"],
        vec!["state", "export", "--sandbox"],
    ];
    for args in &remembered {
        head_100(applied.path(), &repo, args);
    }
    for args in remembered
        .iter()
        .chain(&[vec!["state", "runs", "--sandbox"]])
    {
        closed_from_the_start(applied.path(), &repo, args);
    }
}
