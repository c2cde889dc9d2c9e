//! Temporary git repositories for the GitOps tests: the Globex config of
//! `tests/fixtures/gitops/config` committed, then changed commit by commit
//! (a person added, a person moved to another department, a chat renamed,
//! files split and moved). Commits have fixed authors and times, so their
//! ids are the same on every run.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use git2::{IndexAddOption, Oid, Repository, Signature, Time};

pub const NOW: &str = "--now=2026-11-27T12:00:00Z";

/// A repository in a temporary directory, with the fixture config under `config/`.
pub struct FixtureRepo {
    pub dir: tempfile::TempDir,
    pub repo: Repository,
    commits: usize,
}

/// The commits of [`FixtureRepo::history`], by name.
pub struct History {
    pub initial: Oid,
    pub person_added: Oid,
    pub department_moved: Oid,
    pub chat_renamed: Oid,
    pub files_moved: Oid,
}

impl FixtureRepo {
    /// A new repository holding the fixture config, not yet committed.
    pub fn new() -> FixtureRepo {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let config = dir.path().join("config");
        std::fs::create_dir_all(&config).unwrap();
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gitops/config");
        for entry in std::fs::read_dir(fixture).unwrap().flatten() {
            std::fs::copy(entry.path(), config.join(entry.file_name())).unwrap();
        }
        FixtureRepo {
            dir,
            repo,
            commits: 0,
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn file(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.file(rel)).unwrap()
    }

    pub fn write(&self, rel: &str, text: &str) {
        let path = self.file(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// Replace `from` by `to` in a file; the text must be there.
    pub fn edit(&self, rel: &str, from: &str, to: &str) {
        let text = self.read(rel);
        assert!(text.contains(from), "{rel} has no {from:?}");
        self.write(rel, &text.replace(from, to));
    }

    pub fn remove(&self, rel: &str) {
        std::fs::remove_file(self.file(rel)).unwrap();
    }

    /// Commit the whole working tree (additions, edits and deletions).
    pub fn commit(&mut self, message: &str) -> Oid {
        let mut index = self.repo.index().unwrap();
        index.add_all(["*"], IndexAddOption::DEFAULT, None).unwrap();
        index.update_all(["*"], None).unwrap();
        index.write().unwrap();
        let tree = self.repo.find_tree(index.write_tree().unwrap()).unwrap();
        self.commits += 1;
        let sig = Signature::new(
            "Fixture",
            "fixture@example.com",
            &Time::new(1_780_000_000 + self.commits as i64 * 60, 0),
        )
        .unwrap();
        let parent = self.repo.head().ok().and_then(|h| h.peel_to_commit().ok());
        let parents: Vec<&git2::Commit> = parent.iter().collect();
        self.repo
            .commit(Some("HEAD"), &sig, &sig, message, &tree, &parents)
            .unwrap()
    }

    /// Five commits: the fixture, then one change each.
    pub fn history(&mut self) -> History {
        let initial = self.commit("Globex config");

        self.edit(
            "config/people.yaml",
            "  bob:",
            "  gina:  {telegram_id: 200007, name: Gina Park, department: apps}\n  bob:",
        );
        let person_added = self.commit("Add Gina to Apps");

        self.edit(
            "config/people.yaml",
            "dan:   {telegram_id: 200003, name: Dan Brown, department: platform}",
            "dan:   {telegram_id: 200003, name: Dan Brown, department: support}",
        );
        let department_moved = self.commit("Dan moves from Platform to Support");

        self.edit(
            "config/chats.yaml",
            "  apps:\n    id: -1002000000004\n    template: team\n    title: Apps",
            "  app-team:\n    id: -1002000000004\n    template: team\n    title: App Team",
        );
        let chat_renamed = self.commit("Rename the apps chat to app-team");

        // Split people.yaml in two and move chats.yaml into a folder: the
        // resolved config stays the same.
        let people = self.read("config/people.yaml");
        let (eng, rest): (Vec<&str>, Vec<&str>) = people.lines().skip(1).partition(|l| {
            ["alice", "dan", "erin", "gina"]
                .iter()
                .any(|h| l.trim_start().starts_with(&format!("{h}:")))
        });
        self.remove("config/people.yaml");
        self.write(
            "config/people/engineering.yaml",
            &format!("people:\n{}\n", eng.join("\n")),
        );
        self.write(
            "config/people/others.yaml",
            &format!("people:\n{}\n", rest.join("\n")),
        );
        let chats = self.read("config/chats.yaml");
        self.remove("config/chats.yaml");
        self.write("config/chats/all.yaml", &chats);
        let files_moved = self.commit("Split people by department, move chats into a folder");

        History {
            initial,
            person_added,
            department_moved,
            chat_renamed,
            files_moved,
        }
    }

    /// Replace full and short commit ids in `text` with the given names.
    pub fn redact(&self, text: &str, names: &[(Oid, &str)]) -> String {
        let mut out = text.to_string();
        for (oid, name) in names {
            let full = oid.to_string();
            out = out.replace(&full, &format!("[{name}]"));
            out = out.replace(&full[..12], &format!("[{name}]"));
        }
        out
    }
}

/// The binary in a hermetic environment, run in `dir`.
pub fn orgform(dir: &Path) -> assert_cmd::Command {
    let mut cmd = crate::hermetic::bare();
    cmd.current_dir(dir);
    cmd
}

/// Run and return (exit code, stdout, stderr).
pub fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = orgform(dir).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}
