//! `orgform diff` between git revisions of a temporary repository: a person
//! added, a person moved to another department, a chat renamed, files split
//! and moved; text, Markdown and JSON; the working tree as head; and the
//! errors for a missing revision, a shallow clone and a missing path.

use crate::git_fixture::{FixtureRepo, NOW, run};

fn diff(repo: &FixtureRepo, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["diff", NOW];
    all.extend_from_slice(args);
    run(repo.path(), &all)
}

#[test]
fn each_commit_of_the_history_in_text() {
    let mut repo = FixtureRepo::new();
    let h = repo.history();
    let names = [
        (h.initial, "initial"),
        (h.person_added, "person-added"),
        (h.department_moved, "department-moved"),
        (h.chat_renamed, "chat-renamed"),
        (h.files_moved, "files-moved"),
    ];
    let steps = [
        ("person_added", h.initial, h.person_added),
        ("department_moved", h.person_added, h.department_moved),
        ("chat_renamed", h.department_moved, h.chat_renamed),
    ];
    for (name, base, head) in steps {
        let (code, out, err) = diff(
            &repo,
            &[
                "--base",
                &base.to_string(),
                "--head",
                &head.to_string(),
                "config",
            ],
        );
        assert_eq!(code, 2, "{name}: {err}");
        insta::assert_snapshot!(name, repo.redact(&out, &names));
    }
    // Splitting and moving files changes nothing that matters.
    let (code, out, err) = diff(
        &repo,
        &[
            "--base",
            &h.chat_renamed.to_string(),
            "--head",
            &h.files_moved.to_string(),
            "config",
        ],
    );
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("files_moved", repo.redact(&out, &names));
}

#[test]
fn the_whole_history_in_every_format() {
    let mut repo = FixtureRepo::new();
    let h = repo.history();
    let names = [(h.initial, "initial"), (h.files_moved, "files-moved")];
    let base = h.initial.to_string();
    let args = |format: &'static str| {
        vec![
            "--base", "HEAD~4", "--head", "HEAD", "--format", format, "config",
        ]
    };
    let (code, text, err) = diff(&repo, &args("text"));
    assert_eq!(code, 2, "{err}");
    insta::assert_snapshot!("history_text", repo.redact(&text, &names));
    let (_, markdown, _) = diff(&repo, &args("markdown"));
    assert!(markdown.len() < 65_536);
    insta::assert_snapshot!("history_markdown", repo.redact(&markdown, &names));
    let (_, json, _) = diff(&repo, &args("json"));
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["format_version"], 1);
    assert_eq!(value["base"]["commit"], base);
    insta::assert_snapshot!(
        "history_json",
        repo.redact(&serde_json::to_string_pretty(&value).unwrap(), &names)
    );
}

#[test]
fn without_head_the_working_tree_is_compared() {
    let mut repo = FixtureRepo::new();
    repo.commit("Globex config");
    let (code, out, _) = diff(&repo, &["--base", "HEAD", "config"]);
    assert_eq!(code, 0);
    assert!(out.contains("No differences in effective access."), "{out}");
    // An uncommitted edit and an untracked file both count.
    repo.edit(
        "config/roles.yaml",
        "lead: {title: Lead, rights: [delete_messages,",
        "lead: {title: Team Lead, rights: [manage_video_chats, delete_messages,",
    );
    repo.write(
        "config/extra/people.yaml",
        "people:\n  hal: {telegram_id: 200099, name: Hal Jordan, department: platform}\n",
    );
    let (code, out, err) = diff(&repo, &["--base", "HEAD", "config"]);
    assert_eq!(code, 2, "{err}");
    insta::assert_snapshot!(
        "working_tree",
        repo.redact(
            &out,
            &[(repo.repo.head().unwrap().target().unwrap(), "head")]
        )
    );
}

#[test]
fn a_config_named_from_inside_it_or_as_a_single_file() {
    let mut repo = FixtureRepo::new();
    repo.commit("Globex config");
    repo.edit("config/chats.yaml", "title: On-call", "title: On-call rota");
    repo.commit("Retitle");
    // The directory, named from inside it.
    let (code, out, _) = run(
        &repo.file("config"),
        &["diff", NOW, "--base", "HEAD~1", "--head", "HEAD", "."],
    );
    assert_eq!(code, 2);
    assert!(
        out.contains("title: \"On-call\" → \"On-call rota\""),
        "{out}"
    );
    // Hidden folders are not config: a broken file there changes nothing.
    repo.write("config/.scratch/broken.yaml", "people: [");
    repo.commit("Scratch");
    let (code, out, err) = diff(&repo, &["--base", "HEAD~1", "--head", "HEAD", "config"]);
    assert_eq!(code, 0, "{out}{err}");
    // One file holding the whole config.
    let whole: String = ["org", "people", "departments", "roles", "chats"]
        .iter()
        .map(|f| repo.read(&format!("config/{f}.yaml")))
        .collect();
    repo.write("globex.yaml", &whole);
    repo.commit("One file");
    repo.edit(
        "globex.yaml",
        "bob:   {telegram_id: 200005, name: Bob Stone, department: sales}",
        "bob:   {telegram_id: 200005, name: Bob Stone, department: sales, status: offboarded}",
    );
    let (code, out, err) = diff(&repo, &["--base", "HEAD", "globex.yaml"]);
    assert_eq!(code, 2, "{err}");
    assert!(out.contains("status: \"active\" → \"offboarded\""), "{out}");
    assert!(out.contains("- sales: must leave the chat"), "{out}");
}

#[test]
fn a_revision_that_does_not_exist_says_what_to_fetch() {
    let mut repo = FixtureRepo::new();
    repo.commit("Globex config");
    let (code, out, err) = diff(&repo, &["--base", "origin/main", "config"]);
    assert_eq!(code, 1, "{out}");
    insta::assert_snapshot!(err, @r"
    error: revision `origin/main` does not exist in this repository
    hint: fetch it first with `git fetch origin main`, or check the spelling; in GitHub Actions give actions/checkout `fetch-depth: 0`
    ");
}

#[test]
fn a_path_missing_at_a_revision_is_named() {
    let mut repo = FixtureRepo::new();
    let h = repo.history();
    // config/chats/ exists only since the last commit.
    let (code, _, err) = diff(
        &repo,
        &["--base", "HEAD~4", "--head", "HEAD", "config/chats"],
    );
    assert_eq!(code, 1);
    let err = repo.redact(&err, &[(h.initial, "initial")]);
    insta::assert_snapshot!(err, @r"
    error: the config path `config/chats` does not exist at `HEAD~4` ([initial])
    hint: the path is taken relative to the repository root; see what exists there with `git ls-tree --name-only HEAD~4 config/`. If the config was added or moved since, compare from a revision that has it
    ");
}

#[test]
fn a_config_that_does_not_load_at_the_base_shows_its_diagnostics() {
    let mut repo = FixtureRepo::new();
    repo.edit("config/people.yaml", "department: exec", "department: exce");
    repo.commit("Typo");
    repo.edit("config/people.yaml", "department: exce", "department: exec");
    let (code, _, err) = diff(&repo, &["--base", "HEAD", "config"]);
    assert_eq!(code, 1);
    assert!(err.contains("the config at HEAD"), "{err}");
    assert!(
        err.contains("HEAD:config/people.yaml"),
        "the file is named with its revision: {err}"
    );
}

#[test]
fn outside_a_repository_the_error_says_so() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("config")).unwrap();
    let (code, _, err) = run(dir.path(), &["diff", "--base", "main", "config"]);
    assert_eq!(code, 1);
    assert!(err.contains("is not inside a git repository"), "{err}");
}

/// A shallow clone needs the git command line (libgit2 cannot make one from
/// a local path); CI images and developer machines have it.
fn git(dir: &std::path::Path, args: &[&str]) -> bool {
    std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn a_shallow_clone_without_the_base_commit_says_to_fetch_history() {
    let mut repo = FixtureRepo::new();
    let h = repo.history();
    repo.repo
        .branch(
            "old",
            &repo.repo.find_commit(h.department_moved).unwrap(),
            false,
        )
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    let url = format!("file://{}", repo.path().display());
    if !git(
        work.path(),
        &["clone", "--quiet", "--depth", "1", &url, "clone"],
    ) {
        eprintln!("note: `git` is not available; skipping the shallow clone test");
        return;
    }
    let clone = work.path().join("clone");
    // The base commit is not in the clone at all.
    let (code, _, err) = run(
        &clone,
        &["diff", NOW, "--base", &h.initial.to_string(), "config"],
    );
    assert_eq!(code, 1);
    let err = repo.redact(&err, &[(h.initial, "initial")]);
    insta::assert_snapshot!("shallow_missing_commit", err);
    // The base branch was fetched shallowly too: no common ancestor.
    assert!(git(
        &clone,
        &["fetch", "--quiet", "--depth", "1", "origin", "old:old"]
    ));
    let (code, _, err) = run(&clone, &["diff", NOW, "--base", "old", "config"]);
    assert_eq!(code, 1);
    insta::assert_snapshot!("shallow_no_merge_base", err);
    // With the history fetched, it works.
    assert!(git(&clone, &["fetch", "--quiet", "--unshallow", "origin"]));
    let (code, out, err) = run(&clone, &["diff", NOW, "--base", "old", "config"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        out.contains("app-team (-1002000000004), renamed from apps"),
        "{out}"
    );
}

#[test]
fn a_pull_request_is_compared_with_its_merge_base() {
    let mut repo = FixtureRepo::new();
    let branch_point = repo.commit("Globex config");
    let main = repo.repo.head().unwrap().shorthand().unwrap().to_string();
    repo.repo
        .branch(
            "feature",
            &repo.repo.find_commit(branch_point).unwrap(),
            false,
        )
        .unwrap();
    // The main branch moves on after the branch point.
    repo.edit(
        "config/chats.yaml",
        "title: Globex\n",
        "title: Globex Inc\n",
    );
    repo.commit("Retitle general");
    // The pull request, on its branch.
    repo.repo.set_head("refs/heads/feature").unwrap();
    repo.repo
        .checkout_head(Some(git2::build::CheckoutBuilder::new().force()))
        .unwrap();
    repo.edit(
        "config/people.yaml",
        "Dan Brown, department: platform",
        "Dan Brown, department: support",
    );
    repo.commit("Dan moves");
    let (code, out, err) = diff(&repo, &["--base", &main, "--head", "HEAD", "config"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        out.starts_with(&format!(
            "Comparing config at {main} (merge-base {})",
            &branch_point.to_string()[..12]
        )),
        "{out}"
    );
    assert!(out.contains("dan (Dan Brown)"), "{out}");
    assert!(
        !out.contains("Globex Inc"),
        "main's own change is not part of the pull request: {out}"
    );
}

#[test]
fn photos_compare_by_content_at_each_revision_and_pins_and_tags_show() {
    let mut repo = FixtureRepo::new();
    let png = |seed: u8| {
        let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
        bytes.extend([seed; 32]);
        bytes
    };
    std::fs::create_dir_all(repo.file("config/art")).unwrap();
    std::fs::write(repo.file("config/art/apps.png"), png(1)).unwrap();
    repo.edit(
        "config/chats.yaml",
        "    title: Apps",
        "    title: Apps\n    photo: art/apps.png",
    );
    let first = repo.commit("Apps gets a photo");

    // Moving the file (and the path with it) changes nothing that matters.
    std::fs::create_dir_all(repo.file("config/photos")).unwrap();
    std::fs::rename(
        repo.file("config/art/apps.png"),
        repo.file("config/photos/apps.png"),
    )
    .unwrap();
    repo.edit(
        "config/chats.yaml",
        "photo: art/apps.png",
        "photo: photos/apps.png",
    );
    let moved = repo.commit("Move the photo");
    let (code, out, err) = diff(
        &repo,
        &[
            "--base",
            &first.to_string(),
            "--head",
            &moved.to_string(),
            "config",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");

    // New content under the same name is a change, as are a pin and tags.
    std::fs::write(repo.file("config/photos/apps.png"), png(2)).unwrap();
    repo.edit(
        "config/chats.yaml",
        "photo: photos/apps.png",
        "photo: photos/apps.png\n    pinned: {text: Ship it}\n    tags: [{tag: Builder, members: [everyone]}]",
    );
    let changed = repo.commit("New photo, a pin and tags");
    let (code, out, err) = diff(
        &repo,
        &[
            "--base",
            &moved.to_string(),
            "--head",
            &changed.to_string(),
            "config",
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        out.contains("photo")
            && out.contains("pinned")
            && out.contains("Ship it")
            && out.contains("tag."),
        "{out}"
    );
    // The working tree reads the photo from disk and agrees with the commit.
    let (code, out, err) = diff(&repo, &["--base", "HEAD", "config"]);
    assert_eq!(code, 0, "{out}{err}");
}
