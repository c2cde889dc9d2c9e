//! `orgform import people` end to end: a CSV and a real XLSX staff list
//! (written here with rust_xlsxwriter, since calamine only reads) with good
//! rows, bad rows and formula cells, checked against the config next to the
//! output; `--partial`, re-imports that add, change and lose people, and
//! `--offboard-missing`.

use std::path::Path;

use assert_cmd::Command;

fn orgform(dir: &Path) -> Command {
    let mut cmd = crate::hermetic::bare();
    cmd.current_dir(dir);
    cmd
}

use crate::hermetic::run;

/// A config directory with departments and roles, where people go to people.yaml.
fn org(dir: &Path) {
    std::fs::create_dir_all(dir.join("org")).unwrap();
    std::fs::write(
        dir.join("org/org.yaml"),
        "org: {name: Acme}\ndepartments:\n  engineering: {name: Engineering}\n  sales: {name: Sales}\nroles:\n  lead: {title: Lead, rights: [pin_messages]}\n",
    )
    .unwrap();
}

const STAFF: &str = "\
Handle,Telegram ID,Full name,Username,Department,Roles,City,Notes
alice,100001,Alice Ng,@alice_ng,engineering,lead,berlin,ok
bob,,Bob Stone,bobstone,sales,,london,no id yet
carol,100003,\"=HYPERLINK(\"\"http://evil.example\"\")\",carol_c,engineering,,,
dan,100004,Dan Wu,danwu,engineerin,,,typo
alice,100005,Alice Two,alice_two,sales,,,same handle
erin,100001,Erin Eve,erin_eve,sales,,,same id
frank,100006,\"+Frank, Jr.\",frank_j,sales,,lisbon,
,100007,Gina Bauer,,sales,,,no handle or username: made from the name
";

#[test]
fn csv_rows_are_checked_and_reimports_report_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    org(dir);
    std::fs::write(dir.join("staff.csv"), STAFF).unwrap();
    let args = [
        "import",
        "people",
        "--from",
        "staff.csv",
        "--out",
        "org/people.yaml",
        "--map",
        "city=label.location",
    ];

    // Unusable rows: reported by row number, nothing written.
    let (code, report, err) = run(orgform(dir).args(args));
    assert_eq!(code, 1, "{err}");
    insta::assert_snapshot!("csv_refused", report);
    assert!(!dir.join("org/people.yaml").exists());

    // --partial writes the usable rows; the result loads with the rest of the config.
    let (code, report, err) = run(orgform(dir).args(args).arg("--partial"));
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("csv_partial", report);
    let written = std::fs::read_to_string(dir.join("org/people.yaml")).unwrap();
    insta::assert_snapshot!("csv_people.yaml", written);
    let (code, _, err) = run(orgform(dir).args(["validate", "org"]));
    assert_eq!(code, 0, "{err}");

    // The same list again: nothing changes, not even a byte.
    let (code, report, _) = run(orgform(dir).args(args).arg("--partial"));
    assert_eq!(code, 0);
    assert!(report.contains("org/people.yaml: unchanged"), "{report}");

    // An updated list: alice moved, frank left, hanna joined.
    let updated = "\
handle,telegram_id,name,username,department,roles,city
alice,100001,Alice Ng,alice_ng,sales,lead,berlin
gina-bauer,100007,Gina Bauer,,sales,,
hanna,100008,Hanna Berg,hannaberg,engineering,,
";
    std::fs::write(dir.join("staff-v2.csv"), updated).unwrap();
    let v2 = [
        "import",
        "people",
        "--from",
        "staff-v2.csv",
        "--out",
        "org/people.yaml",
        "--map",
        "City=label.location",
    ];
    let (code, report, err) = run(orgform(dir).args(v2));
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("csv_update", report);
    let (code, report, err) = run(orgform(dir).args(v2).arg("--offboard-missing"));
    assert_eq!(code, 0, "{err}");
    assert!(
        report.contains("Gone (1): frank — marked offboarded"),
        "{report}"
    );
    insta::assert_snapshot!(
        "csv_people_offboarded.yaml",
        std::fs::read_to_string(dir.join("org/people.yaml")).unwrap()
    );
}

#[test]
fn a_real_xlsx_is_read_with_its_formulas_found() {
    use rust_xlsxwriter::{Formula, Workbook};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    org(dir);
    let mut book = Workbook::new();
    let notes = book.add_worksheet();
    notes.set_name("Read me").unwrap();
    notes
        .write_string(0, 0, "The staff list is on the next sheet")
        .unwrap();
    let sheet = book.add_worksheet();
    sheet.set_name("Staff").unwrap();
    for (c, h) in ["TELEGRAM_ID", "Name", "telegram username", "Team", "Status"]
        .iter()
        .enumerate()
    {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    // Ids as numbers, as a spreadsheet stores them.
    sheet.write_number(1, 0, 100001.0).unwrap();
    sheet.write_string(1, 1, "Alice Ng").unwrap();
    sheet.write_string(1, 2, "alice_ng").unwrap();
    sheet.write_string(1, 3, "engineering").unwrap();
    sheet.write_number(2, 0, 100002.0).unwrap();
    sheet
        .write_formula(
            2,
            1,
            Formula::new("=CONCATENATE(\"Bob\",\" Stone\")").set_result("Bob Stone"),
        )
        .unwrap();
    sheet.write_string(2, 2, "bobstone").unwrap();
    sheet.write_string(2, 3, "sales").unwrap();
    sheet.write_string(3, 0, "not-a-number").unwrap();
    sheet.write_string(3, 1, "Carol Jones").unwrap();
    sheet.write_string(3, 2, "carolj").unwrap();
    sheet.write_string(3, 3, "marketing").unwrap();
    sheet.write_number(4, 0, 100004.0).unwrap();
    sheet.write_string(4, 1, "Dan Wu").unwrap();
    sheet.write_string(4, 2, "danwu").unwrap();
    sheet.write_string(4, 3, "sales").unwrap();
    sheet.write_string(4, 4, "Suspended").unwrap();
    book.save(dir.join("staff.xlsx")).unwrap();

    let args = [
        "import",
        "people",
        "--from",
        "staff.xlsx",
        "--sheet",
        "staff",
        "--out",
        "org/people.yaml",
    ];
    let (code, report, err) = run(orgform(dir).args(args));
    assert_eq!(code, 1, "{err}");
    insta::assert_snapshot!("xlsx_refused", report);
    let (code, report, err) = run(orgform(dir).args(args).arg("--partial"));
    assert_eq!(code, 0, "{err}");
    assert!(report.contains("Added (2): alice_ng, danwu"), "{report}");
    insta::assert_snapshot!(
        "xlsx_people.yaml",
        std::fs::read_to_string(dir.join("org/people.yaml")).unwrap()
    );

    // A missing sheet names the ones there are.
    let (code, _, err) = run(orgform(dir).args([
        "import",
        "people",
        "--from",
        "staff.xlsx",
        "--sheet",
        "People",
        "--out",
        "x.yaml",
    ]));
    assert_eq!(code, 1);
    assert!(
        err.contains("no sheet \"People\"") && err.contains("Read me, Staff"),
        "{err}"
    );
}
