//! `plan --changed-since` without loading the base in full: the base is
//! rebuilt from the head and the changed files (`model::since`). For every
//! kind of change (a person, a department, a template, a role, a chat,
//! files added, moved, split and deleted, a photo's content) the chats it
//! selects are checked by name, are the same as a full load of the base
//! selects, and the rebuilt base config equals the fully loaded one.

use crate::git_fixture::FixtureRepo;
use orgform::cli::diff::{
    changed_chats_since, changed_chats_since_in_full, load_base, spliced_base,
};
use orgform::git::Repo;

fn now() -> jiff::Timestamp {
    "2026-11-27T12:00:00Z".parse().unwrap()
}

/// How the base was found.
#[derive(Debug, PartialEq)]
enum Base {
    /// Nothing differs: no base was built.
    Same,
    /// Rebuilt from the head and the changed files.
    Spliced,
    /// Loaded in full (the rebuild gave up).
    Full,
}

/// Commit the fixture, apply `edit` to the working tree, and compare the
/// fast and the full way of finding the changed chats.
fn changed_after(
    prepare: impl FnOnce(&FixtureRepo),
    edit: impl FnOnce(&FixtureRepo),
) -> (Vec<String>, Base) {
    let mut repo = FixtureRepo::new();
    prepare(&repo);
    repo.commit("Globex config");
    edit(&repo);
    let config = repo.file("config");
    let head = orgform::model::load(&config, now()).expect("the head loads");
    let fast = changed_chats_since(&config, "HEAD", &head, now()).expect("fast");
    let full = changed_chats_since_in_full(&config, "HEAD", &head, now()).expect("full");
    assert_eq!(
        fast, full,
        "the rebuilt base selects what a full load selects"
    );

    let git = Repo::discover(&config).unwrap();
    let path = git.path_in_repo(&config).unwrap();
    let at = git.head().unwrap();
    let how = match spliced_base(&git, &path, &at, &head, now()).unwrap() {
        Ok(None) => Base::Same,
        Ok(Some(spliced)) => {
            let spliced = spliced.config;
            let whole = load_base(
                &config,
                "HEAD",
                None,
                Repo::discover(&config).unwrap(),
                now(),
            )
            .unwrap_or_else(|_| panic!("the base loads"));
            assert_eq!(
                spliced, whole.model.config,
                "the rebuilt base is the loaded base"
            );
            Base::Spliced
        }
        Err(_) => Base::Full,
    };
    (fast, how)
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

const ALL: &[&str] = &[
    "apps", "eng", "general", "oncall", "platform", "sales", "support",
];

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn nothing_changed_selects_no_chat() {
    let (changed, how) = changed_after(|_| {}, |_| {});
    assert!(changed.is_empty(), "{changed:?}");
    assert_eq!(how, Base::Same);
}

#[test]
fn a_person_moving_department_selects_both_departments_chats() {
    let (changed, how) = changed_after(
        |_| {},
        |r| {
            r.edit(
                "config/people.yaml",
                "Dan Brown, department: platform",
                "Dan Brown, department: support",
            )
        },
    );
    assert_eq!(sorted(changed), names(&["eng", "platform", "support"]));
    assert_eq!(how, Base::Spliced);
}

#[test]
fn a_person_added_in_a_new_file_selects_their_chats() {
    let (changed, how) = changed_after(
        |_| {},
        |r| {
            r.write(
                "config/more-people.yaml",
                "people:\n  gina: {telegram_id: 200007, name: Gina Park, department: sales}\n",
            )
        },
    );
    // general is everyone; sales and support take the sales department.
    assert_eq!(sorted(changed), names(&["general", "sales", "support"]));
    assert_eq!(how, Base::Spliced);
}

#[test]
fn a_department_moved_in_the_tree_selects_its_parents_chats() {
    let (changed, how) = changed_after(
        |_| {},
        |r| {
            r.edit(
                "config/departments.yaml",
                "apps: {name: Apps, parent: engineering, leads: [erin]}",
                "apps: {name: Apps, leads: [erin]}",
            )
        },
    );
    // Erin (apps) is no longer under engineering.
    assert_eq!(sorted(changed), names(&["eng"]));
    assert_eq!(how, Base::Spliced);
}

#[test]
fn a_department_lead_selects_the_chats_of_leads_of() {
    let (changed, how) = changed_after(
        |_| {},
        |r| {
            r.edit(
                "config/departments.yaml",
                "platform: {name: Platform, parent: engineering, leads: [alice]}",
                "platform: {name: Platform, parent: engineering, leads: [dan]}",
            )
        },
    );
    assert_eq!(sorted(changed), names(&["platform"]));
    assert_eq!(how, Base::Spliced);
}

#[test]
fn a_template_change_selects_every_chat_using_it() {
    let (changed, how) = changed_after(
        |_| {},
        |r| {
            r.edit(
                "config/roles.yaml",
                "permissions: [send_messages, send_media, react]",
                "permissions: [send_messages, react]",
            )
        },
    );
    assert_eq!(sorted(changed), names(ALL));
    assert_eq!(how, Base::Spliced);
}

#[test]
fn a_role_change_selects_the_chats_that_grant_it() {
    let (changed, how) = changed_after(
        |_| {},
        |r| {
            r.edit(
                "config/roles.yaml",
                "moderator: {title: Mod, rights: [delete_messages, restrict_members, pin_messages]}",
                "moderator: {title: Mod, rights: [delete_messages, restrict_members]}",
            )
        },
    );
    assert_eq!(sorted(changed), names(&["support"]));
    assert_eq!(how, Base::Spliced);

    let (changed, _) = changed_after(
        |_| {},
        |r| {
            r.edit(
                "config/roles.yaml",
                "lead: {title: Lead,",
                "lead: {title: Team lead,",
            )
        },
    );
    assert_eq!(sorted(changed), names(&["apps", "eng", "platform"]));
}

#[test]
fn a_persons_role_selects_the_chats_that_grant_it() {
    let (changed, how) = changed_after(
        |_| {},
        |r| {
            r.edit(
                "config/people.yaml",
                "Bob Stone, department: sales}",
                "Bob Stone, department: sales, roles: [moderator]}",
            )
        },
    );
    assert_eq!(sorted(changed), names(&["support"]));
    assert_eq!(how, Base::Spliced);
}

#[test]
fn a_chat_change_selects_that_chat() {
    let (changed, how) = changed_after(
        |_| {},
        |r| r.edit("config/chats.yaml", "title: Sales", "title: Sales team"),
    );
    assert_eq!(changed, names(&["sales"]));
    assert_eq!(how, Base::Spliced);
}

#[test]
fn moving_and_splitting_files_selects_nothing() {
    let (changed, how) = changed_after(
        |_| {},
        |r| {
            let people = r.read("config/people.yaml");
            let (eng, rest): (Vec<&str>, Vec<&str>) = people.lines().skip(1).partition(|l| {
                ["alice:", "dan:"]
                    .iter()
                    .any(|h| l.trim_start().starts_with(h))
            });
            r.remove("config/people.yaml");
            r.write(
                "config/people/eng.yaml",
                &format!("people:\n{}\n", eng.join("\n")),
            );
            r.write(
                "config/people/rest.yaml",
                &format!("people:\n{}\n", rest.join("\n")),
            );
            let chats = r.read("config/chats.yaml");
            r.remove("config/chats.yaml");
            r.write("config/all/chats.yml", &chats);
        },
    );
    assert!(changed.is_empty(), "{changed:?}");
    assert_eq!(how, Base::Spliced);
}

#[test]
fn a_deleted_file_takes_its_entries_out() {
    let (changed, how) = changed_after(
        |r| {
            r.write(
                "config/contractors.yaml",
                "people:\n  hal: {telegram_id: 200009, name: Hal Ito, department: platform}\n",
            )
        },
        |r| r.remove("config/contractors.yaml"),
    );
    assert_eq!(
        sorted(changed),
        names(&["eng", "general", "oncall", "platform"])
    );
    assert_eq!(how, Base::Spliced);
}

#[test]
fn policies_and_org_changes_are_rebuilt_too() {
    let (changed, how) = changed_after(
        |_| {},
        |r| {
            r.edit("config/org.yaml", "name: Globex", "name: Globex Inc");
            r.edit("config/org.yaml", "min_admins: 1", "min_admins: 2");
        },
    );
    assert!(changed.is_empty(), "{changed:?}");
    assert_eq!(how, Base::Spliced);
}

#[test]
fn a_folder_selects_no_chat() {
    let (changed, how) = changed_after(
        |_| {},
        |r| {
            r.write(
                "config/folders.yaml",
                "folders:\n  platform:\n    title: Platform\n    department: platform\n",
            )
        },
    );
    assert!(changed.is_empty(), "{changed:?}");
    assert_eq!(how, Base::Spliced);
}

#[test]
fn a_photo_whose_content_changed_selects_its_chat() {
    let png = |seed: u8| {
        let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
        bytes.extend([seed; 32]);
        bytes
    };
    let (changed, how) = changed_after(
        |r| {
            std::fs::create_dir_all(r.file("config/art")).unwrap();
            std::fs::write(r.file("config/art/apps.png"), png(1)).unwrap();
            r.edit(
                "config/chats.yaml",
                "    title: Apps",
                "    title: Apps\n    photo: art/apps.png",
            );
        },
        |r| std::fs::write(r.file("config/art/apps.png"), png(2)).unwrap(),
    );
    assert_eq!(changed, names(&["apps"]));
    assert_eq!(how, Base::Spliced);
}

#[test]
fn a_base_that_does_not_load_is_loaded_in_full_and_reported() {
    let mut repo = FixtureRepo::new();
    repo.edit("config/people.yaml", "carol: {", "carol: {{");
    repo.commit("broken");
    repo.edit("config/people.yaml", "carol: {{", "carol: {");
    let config = repo.file("config");
    let head = orgform::model::load(&config, now()).expect("the head loads");
    let git = Repo::discover(&config).unwrap();
    let path = git.path_in_repo(&config).unwrap();
    let at = git.head().unwrap();
    assert!(
        spliced_base(&git, &path, &at, &head, now())
            .unwrap()
            .is_err()
    );
    assert!(changed_chats_since(&config, "HEAD", &head, now()).is_err());
}
