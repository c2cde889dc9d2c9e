//! Policy rules at the level of the library: each subject kind, scopes,
//! actions, exceptions that lapse, the config line of each violation,
//! new-vs-existing for pull requests, live state with strangers, CEL errors
//! as config diagnostics, and the starter rules of examples/acme.

use std::collections::BTreeSet;

use orgform::model::{LoadError, Model};
use orgform::policy::{self, Report};
use orgform::spec::PolicyAction;

const NOW: &str = "2026-11-27T12:00:00Z";

const ORG: &str = r#"
people:
  alice: {telegram_id: 1, department: eng, roles: [org-admin]}
  bob:   {telegram_id: 2, department: eng}
  carol: {telegram_id: 3, department: finance}
  dave:  {telegram_id: 4, department: finance, labels: {employment: contractor}}
  erin:  {telegram_id: 5, department: eng, labels: {employment: external}}
  frank:
    telegram_id: 6
    department: eng
    grants:
      - {role: mod, chats: [eng], until: 2026-12-20, reason: on-call}
      - {role: mod, chats: [books], until: 2027-06-30}
departments:
  eng: {}
  finance: {}
roles:
  mod: {rights: [delete_messages, pin_messages]}
  org-admin: {title: Admin, rights: all}
chats:
  eng:
    id: -1001
    type: supergroup
    members: [{department: eng}]
    admins: [{role: mod, members: [{person: alice}, {person: bob}]}]
  books:
    id: -1002
    type: supergroup
    labels: {area: finance}
    members: [{department: finance}]
    admins: [{role: mod, members: [{person: carol}, {person: alice}]}]
  partners:
    id: -1003
    type: supergroup
    labels: {kind: external}
    members: [{person: erin}, {person: bob}]
    admins: [{role: mod, members: [{person: bob}, {person: carol}]}]
"#;

fn load_at(rules: &str, now: &str) -> Result<Model, LoadError> {
    let text = format!("{ORG}\npolicies:\n  rules:\n{rules}");
    orgform::model::load_text("org.yaml", &text, now.parse().unwrap())
}

fn model_at(rules: &str, now: &str) -> Model {
    match load_at(rules, now) {
        Ok(m) => m,
        Err(e) => panic!(
            "config should load:\n{}",
            orgform::render::diagnostics::text(
                &e.sources,
                &e.diagnostics,
                orgform::render::Style::Plain
            )
        ),
    }
}

/// The 1-based line of the first line of `ORG` + `rules` containing `needle`.
fn line_of(rules: &str, needle: &str) -> usize {
    let text = format!("{ORG}\npolicies:\n  rules:\n{rules}");
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

fn eval_at(rules: &str, now: &str) -> Report {
    let model = model_at(rules, now);
    policy::evaluate_config(&model, now.parse().unwrap())
}

fn eval(rules: &str) -> Report {
    eval_at(rules, NOW)
}

/// (rule, subject text) of the violations that count.
fn found(report: &Report) -> BTreeSet<(String, String)> {
    report
        .violations
        .iter()
        .filter(|v| v.counts())
        .map(|v| (v.rule.clone(), v.subject_text()))
        .collect()
}

fn set(items: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    items
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn chat_rule_two_admins_from_two_departments() {
    let rules = r#"
    - name: two-admins-two-departments
      expr: size(chat.admins) >= 2 && size(distinct(chat.admins.map(a, a.department))) >= 2
"#;
    let r = eval(rules);
    // eng: alice and bob are both eng (frank's grant makes a third, also eng).
    assert_eq!(
        found(&r),
        set(&[("two-admins-two-departments", "chat eng")])
    );
    assert!(r.denied(), "deny is the default action");
    let v = &r.violations[0];
    let at = v.location.as_ref().unwrap();
    // The chat's admins binding.
    assert_eq!(
        (at.file.as_str(), at.line),
        (
            "org.yaml",
            line_of(
                rules,
                "admins: [{role: mod, members: [{person: alice}, {person: bob}]}]"
            )
        )
    );
    assert_eq!(
        v.rule_location.as_ref().unwrap().line,
        line_of(rules, "name: two-admins")
    );
}

#[test]
fn seat_rule_with_scope_no_contractor_in_finance_chats() {
    let rules = r#"
    - name: no-contractors-in-finance
      subject: seat
      scope:
        chats: [{label: {area: finance}}]
        people: [{label: {employment: contractor}}]
      expr: "false"
      message: contractors may not be in finance chats
"#;
    let r = eval(rules);
    assert_eq!(
        found(&r),
        set(&[("no-contractors-in-finance", "dave in books")])
    );
    let v = &r.violations[0];
    assert_eq!(v.message, "contractors may not be in finance chats");
    // dave is a member: the chat's `members` line.
    assert_eq!(
        v.location.as_ref().unwrap().line,
        line_of(rules, "members: [{department: finance}]")
    );
}

#[test]
fn person_rule_admin_spread_respects_roles() {
    let r = eval(
        r#"
    - name: admin-spread
      subject: person
      expr: size(person.admin_in) <= 1 || "org-admin" in person.roles
      action: warn
"#,
    );
    // alice is admin in two chats but holds org-admin; bob is admin in eng
    // and partners; carol in books and partners; frank in eng and books.
    assert_eq!(
        found(&r),
        set(&[
            ("admin-spread", "person bob"),
            ("admin-spread", "person carol"),
            ("admin-spread", "person frank"),
        ])
    );
    assert!(!r.denied(), "warn never refuses");
    assert_eq!(r.count(PolicyAction::Warn), 3);
}

#[test]
fn grant_rule_reason_and_ninety_days() {
    let rules = r#"
    - name: grants-are-justified-and-short
      subject: grant
      expr: grant.reason != "" && grant.until != null && grant.until - now <= duration("2160h")
"#;
    let r = eval(rules);
    assert_eq!(
        found(&r),
        set(&[("grants-are-justified-and-short", "grant mod of frank")])
    );
    let v = &r.violations[0];
    // The second grant (no reason, seven months): its own line.
    assert_eq!(
        v.location.as_ref().unwrap().line,
        line_of(rules, "chats: [books], until: 2027-06-30")
    );
    // After the first grant lapses it is no longer evaluated at all.
    let later = eval_at(
        r#"
    - name: grants-are-justified-and-short
      subject: grant
      expr: grant.reason != ""
"#,
        "2026-12-25T00:00:00Z",
    );
    assert_eq!(later.evaluations, 1);
}

#[test]
fn externals_only_in_external_chats() {
    let r = eval(
        r#"
    - name: externals-only-in-external-chats
      subject: seat
      scope: {people: [{label: {employment: external}}]}
      expr: has(chat.labels.kind) && chat.labels.kind == "external"
"#,
    );
    assert_eq!(
        found(&r),
        set(&[("externals-only-in-external-chats", "erin in eng")])
    );
}

#[test]
fn exceptions_exempt_until_they_lapse() {
    let rules = r#"
    - name: no-contractors-in-finance
      subject: seat
      scope:
        chats: [{label: {area: finance}}]
        people: [{label: {employment: contractor}}]
      expr: "false"
      exceptions:
        - {person: dave, chat: books, approved_by: ciso, reason: year-end audit (SEC-12), until: 2026-12-15}
"#;
    let before = eval_at(rules, NOW);
    assert!(before.is_clean(), "{:?}", before.violations);
    assert!(!before.denied());
    let v = &before.violations[0];
    assert_eq!(v.exempted_by.as_ref().unwrap().approved_by, "ciso");
    // Through the end of 2026-12-15, then it lapses by itself.
    assert!(!eval_at(rules, "2026-12-15T23:59:00Z").denied());
    let after = eval_at(rules, "2026-12-16T00:00:01Z");
    assert!(after.denied());
    let v = &after.violations[0];
    assert!(v.exempted_by.is_none());
    assert_eq!(v.lapsed_exception.as_ref().unwrap().until, "2026-12-15");
}

#[test]
fn audit_and_warn_never_deny() {
    for action in ["audit", "warn"] {
        let r = eval(&format!(
            r#"
    - name: nobody
      subject: person
      expr: "false"
      action: {action}
"#
        ));
        assert_eq!(r.violations.len(), 6);
        assert!(!r.denied());
        assert!(!r.is_clean());
    }
}

#[test]
fn cel_syntax_and_type_errors_are_config_diagnostics_with_lines() {
    let rules = r#"
    - name: broken-syntax
      expr: size(chat.admins) >=
    - name: wrong-field
      expr: chat.admins.all(a, a.departmnt != "")
    - name: wrong-types
      subject: person
      expr: person.known > 1
"#;
    let err = load_at(rules, NOW).unwrap_err();
    let found: Vec<(String, usize, String)> = err
        .diagnostics
        .iter()
        .map(|d| {
            let (_, line, _) = err.sources.position(d.primary.as_ref().unwrap().span);
            (d.code.to_string(), line, d.message.clone())
        })
        .collect();
    assert_eq!(found.len(), 3, "{found:?}");
    assert_eq!(
        (found[0].0.as_str(), found[0].1),
        ("rule-syntax", line_of(rules, "size(chat.admins) >="))
    );
    assert!(
        found[0].2.contains("column 21 of the expression"),
        "{}",
        found[0].2
    );
    assert_eq!(
        (found[1].0.as_str(), found[1].1),
        ("rule-type", line_of(rules, "departmnt"))
    );
    assert!(
        found[1].2.contains("no field `departmnt`"),
        "{}",
        found[1].2
    );
    assert_eq!(
        (found[2].0.as_str(), found[2].1),
        ("rule-type", line_of(rules, "person.known > 1"))
    );
    assert!(found[2].2.contains("cannot compare a bool with a int"));
}

#[test]
fn cel_errors_are_collected_with_other_config_problems() {
    let text = format!(
        "{}\npolicies:\n  rules:\n    - {{name: r, expr: 'chat.nope', exceptions: [{{person: zed, approved_by: x, reason: y, until: 2027-01-01}}]}}\n",
        ORG.replace("{person: erin}", "{person: erinn}")
    );
    let err = orgform::model::load_text("org.yaml", &text, NOW.parse().unwrap()).unwrap_err();
    let codes: BTreeSet<&str> = err.diagnostics.iter().map(|d| d.code).collect();
    assert!(codes.contains("rule-type"), "{codes:?}");
    assert!(codes.contains("unknown-person"), "{codes:?}");
    assert_eq!(
        err.diagnostics
            .iter()
            .filter(|d| d.code == "unknown-person")
            .count(),
        2,
        "erinn in a chat and zed in an exception"
    );
}

#[test]
fn diff_separates_new_violations_from_existing_ones() {
    let rules = r#"
    - name: two-admins-two-departments
      expr: size(distinct(chat.admins.map(a, a.department))) >= 2
"#;
    let base = eval(rules);
    // The change makes partners' admins all finance: a new violation;
    // eng's stays.
    let head_text = format!("{ORG}\npolicies:\n  rules:\n{rules}").replace(
        "admins: [{role: mod, members: [{person: bob}, {person: carol}]}]",
        "admins: [{role: mod, members: [{person: dave}, {person: carol}]}]",
    );
    let head_model =
        orgform::model::load_text("org.yaml", &head_text, NOW.parse().unwrap()).unwrap();
    let head = policy::evaluate_config(&head_model, NOW.parse().unwrap());
    let c = policy::compare(&base, &head);
    let subjects =
        |l: &[policy::Violation]| -> Vec<String> { l.iter().map(|v| v.subject_text()).collect() };
    assert_eq!(subjects(&c.new), ["chat partners"]);
    assert_eq!(subjects(&c.existing), ["chat eng"]);
    assert!(c.fixed.is_empty());
    assert!(c.denied());
    let back = policy::compare(&head, &base);
    assert_eq!(subjects(&back.fixed), ["chat partners"]);
    assert!(!back.denied());
}

#[test]
fn live_state_with_a_stranger_made_admin() {
    let rules = r#"
    - name: admins-are-org-people
      expr: chat.admins.all(a, a.known)
"#;
    let model = model_at(rules, NOW);
    let mut live = model.desired.state.clone();
    let partners = live.chats.get_mut("partners").unwrap();
    partners.admins.insert(
        999,
        orgform::state::AdminSeat {
            rights: [orgform::state::Right::DeleteMessages].into(),
            ..Default::default()
        },
    );
    let r = policy::evaluate_state(&model, &live, None, NOW.parse().unwrap(), "live");
    assert_eq!(
        found(&r),
        set(&[("admins-are-org-people", "chat partners")])
    );
    // A bot that is admin (our own) is not a person.
    let r = policy::evaluate_state(&model, &live, Some(999), NOW.parse().unwrap(), "live");
    assert!(r.is_clean());
}

#[test]
fn a_rule_that_fails_to_evaluate_fails_closed() {
    // Type-correct, but `labels.kind` is missing on most chats.
    let r = eval(
        r#"
    - name: kinds
      expr: chat.labels.kind != ""
"#,
    );
    assert_eq!(r.violations.len(), 2);
    assert!(r.violations.iter().all(|v| v.error.is_some()));
    assert!(r.denied());
}

#[test]
fn starter_rules_pass_on_the_examples_and_catch_what_they_promise() {
    let now = NOW.parse().unwrap();
    for dir in ["examples/acme", "examples/acme-kdl"] {
        let model = orgform::model::load(std::path::Path::new(dir), now).unwrap();
        let rules = &model.config.policies.as_ref().unwrap().rules;
        assert_eq!(rules.len(), 6, "{dir}");
        let r = policy::evaluate_config(&model, now);
        assert!(r.is_clean(), "{dir}: {:?}", r.violations);
    }
    // The same rules over this file's org.
    let acme = orgform::model::load(std::path::Path::new("examples/acme"), now).unwrap();
    let rules = serde_saphyr::to_string(&acme.config.policies.as_ref().unwrap().rules).unwrap();
    let indented: String = rules.lines().map(|l| format!("    {l}\n")).collect();
    let r = eval(&indented);
    assert_eq!(
        found(&r),
        set(&[
            ("two-admins-two-departments", "chat eng"),
            ("no-contractors-in-finance", "dave in books"),
            ("grants-are-justified-and-short", "grant mod of frank"),
            ("externals-only-in-external-chats", "erin in eng"),
        ])
    );
}

#[test]
fn rollout_selectors_and_stages() {
    use orgform::policy::rollout::{self, OnlySelector};
    let model = model_at("    - {name: none, expr: 'true'}\n", NOW);
    let now = NOW.parse().unwrap();
    let sel: Vec<OnlySelector> = ["label:area=finance", "chat:eng"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    let s = rollout::only(&model.config, &model.desired, &sel, now).unwrap();
    assert_eq!(
        s.chats.iter().map(String::as_str).collect::<Vec<_>>(),
        ["books", "eng"]
    );
    assert!(s.parts[0].people.is_none());
    let s = rollout::only(
        &model.config,
        &model.desired,
        &["department:finance".parse().unwrap()],
        now,
    )
    .unwrap();
    assert_eq!(s.chats.len(), 3, "people selectors keep every chat");
    assert_eq!(s.parts[0].people.clone().unwrap(), [3, 4].into());
    assert!(s.covers("eng", Some(3)) && !s.covers("eng", Some(1)) && !s.covers("eng", None));
    assert!("chat".parse::<OnlySelector>().is_err());
    assert!("label:area".parse::<OnlySelector>().is_err());
    assert!("type:forum".parse::<OnlySelector>().is_err());
    assert!(
        rollout::only(
            &model.config,
            &model.desired,
            &["chat:nope".parse().unwrap()],
            now
        )
        .is_err()
    );

    let staged = format!(
        "{ORG}\nrollout:\n  current: pilot\n  stages:\n    - {{name: pilot, chats: [{{chat: eng}}]}}\n    - {{name: finance, chats: [{{label: {{area: finance}}}}]}}\n    - {{name: all}}\n"
    );
    let model = orgform::model::load_text("org.yaml", &staged, now).unwrap();
    let chats = |name: &str| -> Vec<String> {
        rollout::stage(&model.config, &model.desired, name, now)
            .unwrap()
            .chats
            .into_iter()
            .collect()
    };
    assert_eq!(chats("current"), ["eng"]);
    assert_eq!(chats("finance"), ["books", "eng"], "stages are cumulative");
    assert_eq!(chats("all"), ["books", "eng", "partners"]);
    assert!(rollout::stage(&model.config, &model.desired, "nope", now).is_err());
    // A stage of people and a stage of chats: their union, not a product.
    let mixed = staged
        .replace(
            "{name: pilot, chats: [{chat: eng}]}",
            "{name: pilot, people: [{department: finance}]}",
        )
        .replace("current: pilot", "current: finance");
    let model = orgform::model::load_text("org.yaml", &mixed, now).unwrap();
    let s = rollout::stage(&model.config, &model.desired, "current", now).unwrap();
    assert!(s.covers("eng", Some(3)), "carol (finance) everywhere");
    assert!(!s.covers("eng", Some(1)), "not alice in eng");
    assert!(s.covers("books", Some(1)), "everyone in finance chats");
    assert!(s.covers("books", None), "and their settings");
    let bad = staged.replace("current: pilot", "current: pilott");
    let err = orgform::model::load_text("org.yaml", &bad, now).unwrap_err();
    assert!(err.diagnostics.iter().any(|d| d.code == "unknown-stage"));
}
