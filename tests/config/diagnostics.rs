//! Every config diagnostic, rendered as a user sees it: one fixture per
//! kind of mistake under tests/fixtures/invalid/, snapshotted with file,
//! line, column, code and hint. Plus the hostile inputs that must be
//! refused fast.

use std::path::Path;
use std::time::{Duration, Instant};

use orgform::render::{Style, diagnostics};

/// How long refusing hostile input may take. Unguarded, these inputs take
/// minutes or exhaust memory; the bound is loose so that a busy 2-core CI
/// machine running a debug build does not fail it (speed itself is
/// measured in benches/, not here).
const REFUSAL_BUDGET: Duration = Duration::from_secs(5);

fn now() -> jiff::Timestamp {
    "2026-11-27T12:00:00Z".parse().unwrap()
}

/// Load a fixture and render its diagnostics as plain text.
///
/// Cargo runs integration tests in the package root, so a relative path
/// keeps file names in snapshots independent of the checkout's location.
fn render(fixture: &str) -> String {
    let path = Path::new("tests/fixtures/invalid").join(fixture);
    let err = orgform::model::load(&path, now()).expect_err("fixture must be invalid");
    diagnostics::text(&err.sources, &err.diagnostics, Style::Plain)
}

fn codes(fixture: &str) -> Vec<&'static str> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/invalid")
        .join(fixture);
    let err = orgform::model::load(&path, now()).expect_err("fixture must be invalid");
    err.diagnostics.iter().map(|d| d.code).collect()
}

macro_rules! fixture_test {
    ($name:ident, $dir:literal, [$($code:literal),* $(,)?]) => {
        #[test]
        fn $name() {
            let found = codes($dir);
            for code in [$($code),*] {
                assert!(found.contains(&code), "{} should report {code}, found {found:?}", $dir);
            }
            insta::assert_snapshot!(render($dir));
        }
    };
}

fixture_test!(unknown_key, "unknown-key", ["unknown-key"]);
fixture_test!(wrong_type, "wrong-type", ["wrong-type", "invalid-value"]);
fixture_test!(
    duplicate_key_in_a_file,
    "duplicate-key-file",
    ["duplicate-key"]
);
fixture_test!(
    duplicate_key_across_files,
    "duplicate-across-files",
    ["duplicate-key"]
);
fixture_test!(
    unknown_references,
    "unknown-references",
    [
        "unknown-person",
        "unknown-department",
        "unknown-role",
        "unknown-template",
        "unknown-chat"
    ]
);
fixture_test!(
    cycles,
    "cycles",
    ["department-cycle", "template-cycle", "role-cycle"]
);
fixture_test!(
    lengths,
    "lengths",
    [
        "length",
        "command-name",
        "topic-icon-color",
        "invite-link-options"
    ]
);
fixture_test!(
    rights_and_permissions,
    "rights-and-permissions",
    [
        "unknown-right",
        "unknown-permission",
        "right-for-chat-type",
        "role-kind"
    ]
);
fixture_test!(
    tags_and_pins,
    "tags-and-pins",
    [
        "length",
        "invalid-value",
        "feature-for-chat-type",
        "unknown-person"
    ]
);
fixture_test!(photos, "photos", ["photo"]);
fixture_test!(
    ids,
    "ids",
    [
        "missing-telegram-id",
        "missing-chat-id",
        "duplicate-chat-id",
        "duplicate-telegram-id",
        "invalid-chat-id"
    ]
);

#[test]
fn several_mistakes_are_reported_in_one_run() {
    let found = codes("many-mistakes");
    for code in [
        "unknown-key",
        "unknown-department",
        "missing-telegram-id",
        "unknown-right",
        "length",
        "unknown-person",
    ] {
        assert!(found.contains(&code), "expected {code} among {found:?}");
    }
    insta::assert_snapshot!(render("many-mistakes"));
}

fn load_text(name: &str, text: &[u8]) -> orgform::model::LoadError {
    let loaded =
        orgform::config::load::load_sources(vec![(name.to_string(), name.into(), text.to_vec())]);
    orgform::model::from_loaded(loaded, now()).expect_err("must be refused")
}

#[test]
fn billion_laughs_is_refused_fast() {
    let mut yaml = String::from(
        "a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for i in 1..10 {
        let prev = format!("*a{}", i - 1);
        yaml.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 9].join(",")));
    }
    let start = Instant::now();
    let err = load_text("bomb.yaml", yaml.as_bytes());
    assert!(
        start.elapsed() < REFUSAL_BUDGET,
        "took {:?}",
        start.elapsed()
    );
    let d = err.diagnostics.iter().next().unwrap();
    assert_eq!(d.code, "alias-budget", "{d:?}");
    assert!(d.primary.is_some());
}

#[test]
fn deep_nesting_is_refused_fast() {
    let depth = 10_000;
    for (name, text) in [
        (
            "deep.yaml",
            format!("{}{}", "[".repeat(depth), "]".repeat(depth)),
        ),
        (
            "deep-block.yaml",
            (0..depth)
                .map(|i| format!("{}k:\n", " ".repeat(i)))
                .collect::<String>(),
        ),
    ] {
        let start = Instant::now();
        let err = load_text(name, text.as_bytes());
        assert!(
            start.elapsed() < REFUSAL_BUDGET,
            "{name} took {:?}",
            start.elapsed()
        );
        let d = err.diagnostics.iter().next().unwrap();
        assert_eq!(d.code, "too-deep", "{name}: {d:?}");
    }
}

#[test]
fn non_utf8_is_refused_with_its_place() {
    let err = load_text("latin1.yaml", b"people:\n  ren\xe9: {telegram_id: 1}\n");
    let d = err.diagnostics.iter().next().unwrap();
    assert_eq!(d.code, "encoding");
    let (_, line, col) = err.sources.position(d.primary.as_ref().unwrap().span);
    assert_eq!((line, col), (2, 6));
}

#[test]
fn huge_file_is_refused_before_parsing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.yaml");
    let line = "# padding padding padding padding padding padding padding padding\n";
    let text = line.repeat((orgform::config::load::MAX_FILE_BYTES as usize / line.len()) + 10);
    std::fs::write(&path, text).unwrap();
    let start = Instant::now();
    let err = orgform::model::load(&path, now()).expect_err("too large");
    assert!(start.elapsed() < REFUSAL_BUDGET);
    assert_eq!(err.diagnostics.iter().next().unwrap().code, "too-large");
}

#[test]
fn yes_is_not_a_boolean() {
    let err = load_text(
        "b.yaml",
        b"chats:\n  eng: {id: -1001, type: supergroup, forum: yes}\n",
    );
    let d = err
        .diagnostics
        .iter()
        .find(|d| d.code == "wrong-type")
        .expect("wrong-type");
    assert!(d.hint.as_deref().unwrap().contains("strict"), "{d:?}");
}

#[test]
fn github_and_json_formats_carry_the_position() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid/unknown-key");
    let err = orgform::model::load(&path, now()).unwrap_err();
    let gh = diagnostics::github(&err.sources, &err.diagnostics);
    assert!(
        gh.lines().any(|l| l.starts_with("::error file=")
            && l.contains("line=3,col=1,title=orgform unknown-key::")),
        "{gh}"
    );
    let json = diagnostics::json(&err.sources, &err.diagnostics);
    assert_eq!(json["format_version"], 1);
    assert_eq!(json["valid"], false);
    let first = &json["diagnostics"][0];
    assert_eq!(first["code"], "unknown-key");
    assert_eq!(first["line"], 3);
    assert_eq!(first["source_line"], "peple:");
}

#[test]
fn a_photo_over_telegrams_limit_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("org.yaml"),
        "chats:\n  eng: {id: -1001, type: supergroup, photo: big.jpg}\n",
    )
    .unwrap();
    let big = std::fs::File::create(dir.path().join("big.jpg")).unwrap();
    big.set_len(orgform::model::photo::MAX_BYTES + 1).unwrap();
    let err = orgform::model::load(dir.path(), now()).expect_err("too large");
    let text = diagnostics::text(&err.sources, &err.diagnostics, Style::Plain);
    assert_eq!(
        err.diagnostics.iter().map(|d| d.code).collect::<Vec<_>>(),
        ["photo"],
        "{text}"
    );
    assert!(
        text.contains("is 10485761 bytes") && text.contains("org.yaml:2:45"),
        "{text}"
    );
}

fixture_test!(
    folders,
    "folders",
    [
        "length",
        "unknown-department",
        "missing-field",
        "unknown-chat"
    ]
);
