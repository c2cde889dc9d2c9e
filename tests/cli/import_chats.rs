//! `orgform import chats` end to end on the in-process sandbox: a world
//! made by `sandbox generate` (no orgform config) and the acme example
//! after an apply (topics, invite links and members in the store) are
//! imported, and planning the imported config against the same chats shows
//! no changes. Re-runs change no byte; KDL loads back to the same model;
//! merging into existing config reuses people and roles and lists conflicts.

use std::path::Path;

use assert_cmd::Command;

const NOW: &str = "--now=2026-11-27T12:00:00Z";

/// The binary in `dir`, with a hermetic environment.
fn orgform(dir: &Path) -> Command {
    let mut cmd = crate::hermetic::orgform(&dir.join("state"));
    cmd.current_dir(dir);
    cmd
}

use crate::hermetic::run;

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn plan_exit(dir: &Path, config: &str) -> (i32, String) {
    let (code, out, err) =
        run(orgform(dir).args(["plan", config, "--sandbox", "--detailed-exitcode", NOW]));
    (code, format!("{out}{err}"))
}

#[test]
fn a_generated_world_imports_and_plans_clean() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (code, _, err) = run(orgform(dir).args([
        "sandbox", "generate", "--people", "60", "--chats", "12", "--out", "gen",
    ]));
    assert_eq!(code, 0, "{err}");

    let (code, report, err) = run(orgform(dir).args([
        "import",
        "chats",
        "--all-known",
        "--sandbox-world",
        "gen/world.json",
        "--out",
        "cfg",
        NOW,
    ]));
    assert_eq!(code, 0, "{report}{err}");
    insta::assert_snapshot!("generated_report", report);
    for file in ["org.yaml", "people.yaml", "roles.yaml", "chats.yaml"] {
        insta::assert_snapshot!(format!("generated_{file}"), read(&dir.join("cfg"), file));
    }

    // The imported config describes the chats as they are.
    let (code, plan) = plan_exit(dir, "cfg");
    assert_eq!(code, 0, "{plan}");
    assert!(plan.contains("No changes"), "{plan}");

    // A re-run (now from the installed world) writes the same bytes.
    let before: Vec<String> = ["org.yaml", "people.yaml", "roles.yaml", "chats.yaml"]
        .iter()
        .map(|f| read(&dir.join("cfg"), f))
        .collect();
    let (code, again, err) = run(orgform(dir).args([
        "import",
        "chats",
        "--all-known",
        "--sandbox",
        "--out",
        "cfg",
        NOW,
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(again.contains("People: 0 added"), "{again}");
    assert_eq!(again.matches(": unchanged").count(), 12 + 4, "{again}");
    let after: Vec<String> = ["org.yaml", "people.yaml", "roles.yaml", "chats.yaml"]
        .iter()
        .map(|f| read(&dir.join("cfg"), f))
        .collect();
    assert_eq!(before, after);

    // The same import in KDL loads back to the same model, and plans clean too.
    let (code, _, err) = run(orgform(dir).args([
        "import",
        "chats",
        "--all-known",
        "--sandbox",
        "--out",
        "kdl",
        "--format",
        "kdl",
        NOW,
    ]));
    assert_eq!(code, 0, "{err}");
    let now = jiff::Timestamp::from_second(1_795_000_000).unwrap();
    let yaml = orgform::model::load(&dir.join("cfg"), now).expect("YAML loads");
    let kdl = orgform::model::load(&dir.join("kdl"), now)
        .unwrap_or_else(|e| panic!("KDL does not load: {:?}", e.diagnostics));
    assert_eq!(yaml.config, kdl.config);
    assert_eq!(yaml.desired, kdl.desired);
    let (code, plan) = plan_exit(dir, "kdl");
    assert_eq!(code, 0, "{plan}");
}

#[test]
fn an_applied_org_imports_with_topics_links_and_members_then_merges() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let acme = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/acme");
    let (code, out, err) = run(orgform(dir).args(["apply"]).arg(&acme).args([
        "--sandbox",
        "--auto-approve",
        "--allow-removals",
        NOW,
    ]));
    assert_eq!(code, 0, "{out}{err}");

    // Some chats by id; then every chat the bot is in.
    let (code, report, err) = run(orgform(dir).args([
        "import",
        "chats",
        "--chat",
        "-1001000000010",
        "--chat=-1001000000004",
        "--sandbox",
        "--out",
        "some",
        NOW,
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(report.starts_with("Imported 2 chats"), "{report}");
    let (code, report, err) = run(orgform(dir).args([
        "import",
        "chats",
        "--all-known",
        "--sandbox",
        "--out",
        "cfg",
        NOW,
    ]));
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("acme_report", report);
    let chats = read(&dir.join("cfg"), "chats.yaml");
    assert!(
        chats.contains("topics:") && chats.contains("invite_links:") && chats.contains("commands:"),
        "{chats}"
    );
    insta::assert_snapshot!("acme_roles.yaml", read(&dir.join("cfg"), "roles.yaml"));
    let (code, plan) = plan_exit(dir, "cfg");
    assert_eq!(code, 0, "{plan}");

    // Into the hand-written acme config: people and roles are reused, the
    // chats stay as declared, and no file is touched.
    let merged = dir.join("merged");
    copy_dir(&acme, &merged);
    let (code, report, err) = run(orgform(dir).args([
        "import",
        "chats",
        "--all-known",
        "--sandbox",
        "--out",
        "merged",
        NOW,
    ]));
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("acme_merged_report", report);
    assert!(!merged.join("chats.yaml").exists());

    // A chat the import wrote and someone edited is a conflict; --force takes Telegram's.
    let edited = chats.replacen("title: Acme Sales", "title: Acme Sales EMEA", 1);
    assert_ne!(edited, chats);
    std::fs::write(dir.join("cfg/chats.yaml"), &edited).unwrap();
    let (code, report, _) = run(orgform(dir).args([
        "import",
        "chats",
        "--all-known",
        "--sandbox",
        "--out",
        "cfg",
        NOW,
    ]));
    assert_eq!(code, 0);
    assert!(report.contains("conflict: chat `acme-sales`"), "{report}");
    assert_eq!(read(&dir.join("cfg"), "chats.yaml"), edited);
    let (code, report, _) = run(orgform(dir).args([
        "import",
        "chats",
        "--all-known",
        "--sandbox",
        "--out",
        "cfg",
        "--force",
        NOW,
    ]));
    assert_eq!(code, 0);
    assert!(
        report.contains("acme-sales (supergroup -1001000000022, \"Acme Sales\"): replaced"),
        "{report}"
    );
    assert_eq!(read(&dir.join("cfg"), "chats.yaml"), chats);

    // A file the import would have to rewrite but did not write blocks everything.
    let blocked = dir.join("blocked");
    std::fs::create_dir_all(&blocked).unwrap();
    std::fs::write(
        blocked.join("roles.yaml"),
        "roles:\n  reader: {permissions: []}\n",
    )
    .unwrap();
    let (code, report, _) = run(orgform(dir).args([
        "import",
        "chats",
        "--all-known",
        "--sandbox",
        "--out",
        "blocked",
        NOW,
    ]));
    assert_eq!(code, 1, "{report}");
    assert!(
        report.contains("conflict: blocked/roles.yaml was not written by orgform import"),
        "{report}"
    );
    assert!(report.contains("Nothing was written."), "{report}");
    assert_eq!(std::fs::read_dir(&blocked).unwrap().count(), 1);
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
