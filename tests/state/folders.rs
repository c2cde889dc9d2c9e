//! Folder records (the chat folders the user provider keeps, by config
//! key) in both backends: written as a delta, loaded back, merged with
//! what another writer learned, and carried by `state export`, `import`
//! and `migrate` (SQLite → PostgreSQL when `scripts/test` runs a server).

use std::path::Path;

use orgform::state::folders::LiveFolder;
use orgform::store::records::{self, FOLDER_KIND, ORG_CHAT};
use orgform::store::{Location, Store};

use crate::hermetic::run;

fn folder(id: i32, title: &str) -> LiveFolder {
    LiveFolder {
        filter_id: id,
        title: title.into(),
        chats: [-1_001_000_000_001, -1_001_000_000_002].into(),
        link: Some(format!("https://t.me/addlist/f{id}")),
        link_chats: None,
    }
}

fn postgres_url() -> Option<String> {
    std::env::var("ORGFORM_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.is_empty())
}

/// Record a folder as an apply does (a delta from a loaded snapshot) next
/// to another writer's member record, and read both back.
fn round_trip(location: &Location, dir: &Path) {
    let (backend, _) = orgform::store::open(location, dir).unwrap();
    let base = backend.load().unwrap();
    let mut apply = base.clone();
    apply
        .folders
        .insert("platform".into(), folder(2, "Platform"));
    let mut plan = base.clone();
    plan.see_member(
        -1_001_000_000_001,
        42,
        orgform::state::MemberState::Member,
        7,
        "update",
    );
    backend.commit(&records::delta(&base, &apply)).unwrap();
    backend.commit(&records::delta(&base, &plan)).unwrap();
    let loaded: Store = backend.load().unwrap();
    assert_eq!(loaded.folders["platform"], folder(2, "Platform"));
    assert!(loaded.chats[&-1_001_000_000_001].members.contains_key(&42));
    // A partial load (the chats of a `--changed-since` plan) keeps them.
    let partial = backend.load_chats(&[-1_001_000_000_002].into()).unwrap();
    assert_eq!(partial.folders, loaded.folders);
    // Renamed in place, then forgotten.
    let mut renamed = loaded.clone();
    renamed.folders.get_mut("platform").unwrap().title = "Platform 2".into();
    backend.commit(&records::delta(&loaded, &renamed)).unwrap();
    assert_eq!(
        backend.load().unwrap().folders["platform"].title,
        "Platform 2"
    );
    let rows = records::rows(&backend.load().unwrap());
    assert!(rows.contains_key(&(ORG_CHAT, FOLDER_KIND.to_string(), "platform".to_string())));
}

/// An apply writes a folder's record with the journal step that made it,
/// in one transaction: both land, or (the run is gone) neither does.
fn lands_with_its_journal_step(location: &Location, dir: &Path) {
    let (backend, _) = orgform::store::open(location, dir).unwrap();
    let run = format!("20261127T120000Z-f{}", std::process::id() % 10_000);
    backend
        .create_run(&run, "apply", "2026-11-27T12:00:00Z")
        .unwrap();
    let mut store = backend.load().unwrap();
    store.folders.insert("eng".into(), folder(4, "Eng"));
    store.folders.insert("ops".into(), folder(5, "Ops"));
    backend
        .append_with(
            &run,
            r#"{"event":"done"}"#,
            &records::folder_delta(&store, "eng"),
        )
        .unwrap();
    assert_eq!(backend.events(&run).unwrap().len(), 1);
    assert_eq!(backend.load().unwrap().folders["eng"], folder(4, "Eng"));
    let refused = backend.append_with(
        "no-such-run",
        r#"{"event":"done"}"#,
        &records::folder_delta(&store, "ops"),
    );
    assert!(refused.is_err());
    assert!(
        !backend.load().unwrap().folders.contains_key("ops"),
        "not without its step"
    );
    // Deleted with its step too.
    store.folders.remove("eng");
    backend
        .append_with(
            &run,
            r#"{"event":"undone"}"#,
            &records::folder_delta(&store, "eng"),
        )
        .unwrap();
    assert!(backend.load().unwrap().folders.is_empty());
    assert_eq!(backend.events(&run).unwrap().len(), 2);
}

#[test]
fn a_folder_record_lands_with_its_journal_step_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    lands_with_its_journal_step(&Location::Sqlite(dir.path().join("orgform.db")), dir.path());
}

#[test]
fn a_folder_record_lands_with_its_journal_step_in_postgres() {
    let Some(url) = postgres_url() else {
        eprintln!("state folders: PostgreSQL part SKIPPED (ORGFORM_TEST_POSTGRES is not set)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let location = Location::parse(&format!(
        "{url}?workspace=foldersjournal{}",
        std::process::id()
    ))
    .unwrap();
    lands_with_its_journal_step(&location, dir.path());
}

#[test]
fn folder_records_round_trip_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    round_trip(&Location::Sqlite(dir.path().join("orgform.db")), dir.path());
}

#[test]
fn folder_records_round_trip_in_postgres() {
    let Some(url) = postgres_url() else {
        eprintln!("state folders: PostgreSQL part SKIPPED (ORGFORM_TEST_POSTGRES is not set)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let workspace = format!("folders{}", std::process::id());
    let location = Location::parse(&format!("{url}?workspace={workspace}")).unwrap();
    round_trip(&location, dir.path());
}

/// `state export` writes the folder record, `import` and `migrate` carry
/// it, `list`, `show` and `rm` name it `folder/KEY`.
#[test]
fn folder_records_go_with_export_import_and_migrate() {
    let dir = tempfile::tempdir().unwrap();
    let (backend, _) =
        orgform::store::open(&Location::Sqlite(dir.path().join("orgform.db")), dir.path()).unwrap();
    let base = backend.load().unwrap();
    let mut with = base.clone();
    with.folders
        .insert("platform".into(), folder(3, "<b>\u{1b}[31m"));
    backend.commit(&records::delta(&base, &with)).unwrap();
    drop(backend);
    let state = |d: &Path, args: &[&str]| run(crate::hermetic::orgform(d).arg("state").args(args));

    let (code, listed, err) = state(dir.path(), &["list"]);
    assert_eq!(code, 0, "{err}");
    let line = listed
        .lines()
        .find(|l| l.starts_with("folder/platform\t"))
        .unwrap_or_else(|| panic!("{listed}"));
    assert!(line.contains("filter_id=3"), "{line}");
    assert!(
        !line.contains('\u{1b}'),
        "a title from Telegram is made safe: {line:?}"
    );
    let file = dir.path().join("export.json");
    let (code, _, err) = state(dir.path(), &["export", "--out", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let exported: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(exported["store"]["folders"]["platform"]["filter_id"], 3);

    let other = tempfile::tempdir().unwrap();
    let (code, _, err) = state(other.path(), &["import", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let (_, shown, _) = state(other.path(), &["show", "folder/platform"]);
    let shown: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(shown["link"], "https://t.me/addlist/f3");

    let target = match postgres_url() {
        Some(url) => format!("{url}?workspace=foldersmig{}", std::process::id()),
        None => dir.path().join("moved.db").display().to_string(),
    };
    let (code, _, err) = state(dir.path(), &["migrate", "--to", &target]);
    assert_eq!(code, 0, "{err}");
    let (code, moved, err) =
        run(crate::hermetic::orgform(dir.path()).args(["state", "list", "--state", &target]));
    assert_eq!(code, 0, "{err}");
    assert!(moved.contains("folder/platform\t"), "{moved}");

    let (code, out, err) = state(dir.path(), &["rm", "folder/platform"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("Removed folder/platform"), "{out}");
    let (_, listed, _) = state(dir.path(), &["list"]);
    assert!(!listed.contains("folder/"), "{listed}");
    let (code, _, err) = state(dir.path(), &["rm", "folder/"]);
    assert_eq!(code, 1, "{err}");
}

/// What the applier records for each folder change: a creation its own id
/// and link (never the dead link of a folder deleted by hand), an edit the
/// new title and chats with the link it had, a deletion removes the
/// record of that folder only.
#[test]
fn the_applier_records_each_folder_change_by_key() {
    use orgform::apply::provider::{Answer, Executed, record};
    use orgform::plan::{Action, Change, Op, Step, Value};
    let change = |op: Op| Change {
        address: orgform::state::Address::folder("platform"),
        chat: "folder.platform".into(),
        chat_id: 0,
        chat_type: orgform::state::ChatType::Supergroup,
        action: Action::Update,
        step: Step::Settings,
        op,
        before: Value::Nothing,
        after: Value::Nothing,
        why: vec![],
        reversible: true,
        person: None,
        undeclared: false,
        seat: None,
    };
    let answered = |filter_id: i32, link: Option<&str>| Executed {
        answer: Answer::Folder {
            filter_id,
            link: link.map(str::to_string),
        },
        not_modified: false,
        calls: vec![],
        notes: vec![],
    };
    let mut store = Store::default();
    // The record of a folder deleted by hand, with its dead link.
    store
        .folders
        .insert("platform".into(), folder(2, "Platform"));
    let create = change(Op::CreateFolder {
        key: "platform".into(),
        title: "Platform".into(),
        chats: vec![-1_001_000_000_001],
    });
    // Made, cut off before its link: no link, not the dead one.
    record(&mut store, &create, None, &answered(3, None), 0);
    assert_eq!(store.folders["platform"].filter_id, 3);
    assert_eq!(store.folders["platform"].link, None);
    record(
        &mut store,
        &create,
        None,
        &answered(3, Some("https://t.me/addlist/new")),
        0,
    );
    let edit = change(Op::EditFolder {
        key: "platform".into(),
        filter_id: 3,
        title: "Platform 2".into(),
        chats: vec![-1_001_000_000_001, -1_001_000_000_003],
    });
    record(&mut store, &edit, None, &answered(3, None), 0);
    let kept = &store.folders["platform"];
    assert_eq!(kept.title, "Platform 2");
    assert_eq!(kept.chats.len(), 2);
    assert_eq!(kept.link.as_deref(), Some("https://t.me/addlist/new"));
    // Deleting another folder id leaves this record; its own removes it.
    let delete = |filter_id| {
        change(Op::DeleteFolder {
            key: "platform".into(),
            filter_id,
        })
    };
    record(&mut store, &delete(9), None, &Executed::done(vec![]), 0);
    assert!(store.folders.contains_key("platform"));
    record(&mut store, &delete(3), None, &Executed::done(vec![]), 0);
    assert!(store.folders.is_empty());
}
