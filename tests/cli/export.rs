//! `orgform export access`: the effective access matrix of examples/acme
//! in every format, CSV formula neutralisation, and `--live` on the sandbox.

use std::path::Path;

use assert_cmd::Command;

const NOW: &str = "--now=2026-11-27T12:00:00Z";

fn orgform(state: &Path) -> Command {
    crate::hermetic::orgform(state)
}

fn export(state: &Path, config: &str, extra: &[&str]) -> String {
    let out = orgform(state)
        .args(["export", "access", config, NOW])
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn acme_in_every_format() {
    let state = tempfile::tempdir().unwrap();
    let csv = export(state.path(), "examples/acme", &["--format", "csv"]);
    insta::assert_snapshot!("acme_csv", csv);
    let json: serde_json::Value = serde_json::from_str(&export(
        state.path(),
        "examples/acme",
        &["--format", "json"],
    ))
    .unwrap();
    assert_eq!(json["format_version"], 1);
    insta::assert_json_snapshot!("acme_json", json);
    insta::assert_snapshot!(
        "acme_markdown",
        export(state.path(), "examples/acme", &["--format", "markdown"])
    );
    // The KDL twin exports the same matrix.
    assert_eq!(
        export(state.path(), "examples/acme-kdl", &["--format", "csv"]),
        csv
    );
}

#[test]
fn csv_cells_a_spreadsheet_would_run_are_neutralised() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("org.yaml"),
        r#"
people:
  mallory: {telegram_id: 100001, name: "=HYPERLINK(\"http://evil.example\")", department: "@ops"}
  pat: {telegram_id: 100002, name: "-2+3", department: "+ops"}
departments:
  "@ops": {}
  "+ops": {}
roles:
  mod: {title: "=1+1", rights: [pin_messages]}
chats:
  team:
    id: -1001000000001
    type: supergroup
    members: [everyone]
    admins: [{role: mod, members: [{person: mallory}]}]
"#,
    )
    .unwrap();
    let csv = export(
        dir.path(),
        dir.path().to_str().unwrap(),
        &["--format", "csv"],
    );
    let mut rows = csv::Reader::from_reader(csv.as_bytes());
    let records: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 2, "{csv}");
    for record in &records {
        for (i, cell) in record.iter().enumerate() {
            // telegram_id and chat_id stay numbers (a chat id is negative).
            if i == 1 || i == 5 {
                assert!(cell.parse::<i64>().is_ok(), "{cell}");
                continue;
            }
            assert!(
                !cell.starts_with(['=', '+', '-', '@']),
                "cell {i} {cell:?} in {csv}"
            );
        }
    }
    assert!(csv.contains("'=HYPERLINK"), "{csv}");
    assert!(
        csv.contains("'@ops")
            && csv.contains("'+ops")
            && csv.contains("'-2+3")
            && csv.contains("'=1+1"),
        "{csv}"
    );
}

#[test]
fn live_status_sits_beside_the_declared_access() {
    let state = tempfile::tempdir().unwrap();
    let csv = export(
        state.path(),
        "examples/acme",
        &["--format", "csv", "--live", "--sandbox"],
    );
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(
        headers.iter().rev().take(4).collect::<Vec<_>>(),
        ["matches", "live_title", "live_rights", "live_status"]
    );
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (status, matches) = (column("live_status"), column("matches"));
    // The seeded sandbox has drift: some rows match, some do not.
    assert!(records.iter().any(|r| &r[matches] == "yes"));
    assert!(records.iter().any(|r| &r[matches] == "no"));
    assert!(records.iter().any(|r| &r[status] == "owner"));
    assert!(records.iter().all(|r| !r[status].is_empty()));
    // Without --live, --sandbox is refused as meaningless.
    let out = orgform(state.path())
        .args(["export", "access", "examples/acme", "--sandbox", NOW])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}
