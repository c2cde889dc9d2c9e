//! A targeted plan is the same plan, cut down: on a generated org (people,
//! departments, roles, templates, grants, offboarded people) against a
//! sandbox world that differs from it, the changes `plan --changed-since`
//! makes for the chats it reads are exactly the changes a full plan makes
//! for those chats, why-traces included, and it makes none elsewhere.
//! (`--changed-since` loads the config without the why-traces of the chats
//! it does not read and adds those it shows: this checks they are the same.)

use std::path::Path;

use serde_json::Value;

use crate::git_fixture::NOW;
use crate::hermetic;

fn commit(dir: &Path) {
    let repo = git2::Repository::open(dir).unwrap();
    let mut index = repo.index().unwrap();
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = git2::Signature::new(
        "Fixture",
        "fixture@example.com",
        &git2::Time::new(1_780_000_000, 0),
    )
    .unwrap();
    let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    let parents: Vec<&git2::Commit> = parent.iter().collect();
    repo.commit(Some("HEAD"), &sig, &sig, "generated", &tree, &parents)
        .unwrap();
}

/// `plan` as JSON: (exit code, plan).
fn plan(dir: &Path, state: &Path, sandbox: &hermetic::Sandbox, extra: &[&str]) -> (i32, Value) {
    let out = hermetic::process(state)
        .current_dir(dir)
        .args(["plan", "config", NOW, "--format", "json"])
        .args(sandbox.args())
        .args([
            "--allow-removals",
            "--allow-demotions",
            "--allow-few-admins",
        ])
        .args(extra)
        .output()
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    let text = String::from_utf8(out.stdout).unwrap();
    let plan = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "plan {extra:?} exited {code}, no JSON ({e}): {text}{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, plan)
}

fn changes_of<'a>(plan: &'a Value, chats: &[String]) -> Vec<&'a Value> {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| chats.iter().any(|k| c["chat"] == k.as_str()))
        .collect()
}

#[test]
fn a_targeted_plan_is_the_full_plan_of_the_chats_it_reads() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("org");
    let out = hermetic::process_bare()
        .args(["sandbox", "generate", "--people", "400", "--chats", "40"])
        .args(["--seed", "11", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    git2::Repository::init(&dir).unwrap();
    commit(&dir);
    let world: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("world.json")).unwrap()).unwrap();
    let token_file = tmp.path().join("token");
    std::fs::write(&token_file, world["bot"]["token"].as_str().unwrap()).unwrap();
    let sandbox = hermetic::Sandbox::serve(&dir.join("world.json"), token_file, &[]);
    let state = tmp.path().join("state");

    // A full plan first: every chat has been read once.
    let (code, first) = plan(&dir, &state, &sandbox, &[]);
    assert_eq!(code, 0, "{first}");

    // Rename two chats: two chats changed, the rest as the store left them.
    let chats = dir.join("config/chats.yaml");
    let text = std::fs::read_to_string(&chats).unwrap();
    std::fs::write(&chats, text.replacen("title: ", "title: Renamed ", 2)).unwrap();

    let (code, targeted) = plan(&dir, &state, &sandbox, &["--changed-since", "HEAD"]);
    assert!(code == 0 || code == 2, "{targeted}");
    let (_, full) = plan(&dir, &state, &sandbox, &[]);
    let only: Vec<String> = serde_json::from_value(targeted["only"].clone()).unwrap();
    assert_eq!(only.len(), 2, "two chats renamed: {only:?}");
    let want = changes_of(&full, &only);
    let got: Vec<&Value> = targeted["changes"].as_array().unwrap().iter().collect();
    assert!(
        want.iter()
            .any(|c| c["why"].as_array().is_some_and(|w| !w.is_empty())),
        "the chats' changes carry why-traces: {want:?}"
    );
    assert!(
        got.iter()
            .all(|c| only.iter().any(|k| c["chat"] == k.as_str())),
        "a targeted plan changes only the chats it reads"
    );
    assert_eq!(got, want, "the targeted plan is the full plan of its chats");
    assert!(
        full["changes"].as_array().unwrap().len() > want.len(),
        "other chats differ too, and are left out"
    );
}
