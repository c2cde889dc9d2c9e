//! Policy benchmark: ten rules (the six starter rules of examples/acme and
//! four more over every subject kind) evaluated over the generated org of
//! 10,000 people and 1,000 chats, as `validate` does (the desired state)
//! and as `drift` does (a live state with strangers made admin).
//!
//! The budget is 0.5 s for one evaluation of all ten rules; the bench
//! prints the evaluation count and the ratio to that budget.
//!
//! Run: `cargo bench --bench policy`.

use std::hint::black_box;
use std::time::Instant;

use criterion::Criterion;
use orgform::policy::{self, OrgView};
use orgform::sandbox::generate::{GenerateOptions, generate};
use orgform::spec::{
    ChatSelector, Policies, PolicyAction, PolicyRule, PolicyScope, PolicySubject, Selector,
    SelectorRule,
};

const BUDGET_SECONDS: f64 = 0.5;

fn now() -> jiff::Timestamp {
    "2026-11-27T12:00:00Z".parse().unwrap()
}

fn rule(name: &str, subject: PolicySubject, expr: &str, scope: Option<PolicyScope>) -> PolicyRule {
    PolicyRule {
        name: name.into(),
        subject: Some(subject),
        expr: expr.into(),
        scope,
        action: Some(PolicyAction::Deny),
        ..Default::default()
    }
}

fn ten_rules() -> Vec<PolicyRule> {
    use PolicySubject::*;
    let label = |k: &str, v: &str| Some([(k.to_string(), v.to_string())].into());
    vec![
        rule(
            "two-admins-two-departments",
            Chat,
            "size(chat.admins) >= 2 && size(distinct(chat.admins.map(a, a.department))) >= 2",
            None,
        ),
        rule(
            "admins-are-org-people",
            Chat,
            "chat.admins.all(a, a.known)",
            None,
        ),
        rule(
            "no-contractors-in-finance",
            Seat,
            "false",
            Some(PolicyScope {
                chats: Some(vec![ChatSelector {
                    label: label("area", "finance"),
                    ..Default::default()
                }]),
                people: Some(vec![Selector::Rule(SelectorRule {
                    label: label("employment", "contractor"),
                    ..Default::default()
                })]),
            }),
        ),
        rule(
            "admin-spread",
            Person,
            r#"size(person.admin_in) <= 20 || "org-admin" in person.roles"#,
            None,
        ),
        rule(
            "grants-are-justified-and-short",
            Grant,
            r#"grant.reason != "" && grant.until != null && grant.until - now <= duration("2160h")"#,
            None,
        ),
        rule(
            "externals-only-in-external-chats",
            Seat,
            r#"has(chat.labels.kind) && chat.labels.kind == "external""#,
            Some(PolicyScope {
                people: Some(vec![Selector::Rule(SelectorRule {
                    label: label("employment", "external"),
                    ..Default::default()
                })]),
                chats: None,
            }),
        ),
        // Four more, one per subject kind, touching every seat.
        rule(
            "admins-hold-few-rights",
            Seat,
            "!seat.admin || size(seat.rights) <= 12",
            None,
        ),
        rule(
            "members-are-active",
            Chat,
            r#"chat.members.all(m, m.status == "active" || !m.known)"#,
            None,
        ),
        rule(
            "people-have-a-department",
            Person,
            r#"!person.known || person.department != """#,
            None,
        ),
        rule("grants-name-chats", Grant, "size(grant.chats) >= 1", None),
    ]
}

fn main() {
    let mut generated = generate(&GenerateOptions {
        people: 10_000,
        chats: 1_000,
        seed: 7,
    });
    let rules = ten_rules();
    for r in &rules {
        let problems = orgform::model::rules::check(&r.expr, r.subject.unwrap_or_default());
        assert!(problems.is_empty(), "{}: {problems:?}", r.name);
    }
    generated
        .config
        .policies
        .get_or_insert_with(Policies::default)
        .rules = rules;
    let config = generated.config;
    let desired = orgform::model::resolve::resolve(&config, now());
    let seats: usize = desired
        .state
        .chats
        .values()
        .map(|c| c.admins.len() + c.members.len())
        .sum();

    // Live: the desired state with a stranger made admin in every tenth chat.
    let mut live = desired.state.clone();
    for (i, chat) in live.chats.values_mut().enumerate() {
        if i % 10 == 0 {
            chat.admins
                .insert(950_000_000 + i as i64, Default::default());
        }
    }

    let desired_view = OrgView {
        config: &config,
        state: &desired.state,
        people: &desired.people,
        bot: None,
        why: None,
    };
    let live_view = OrgView {
        config: &config,
        state: &live,
        people: &desired.people,
        bot: None,
        why: None,
    };

    let t = Instant::now();
    let values = policy::values::build(&desired_view, now());
    let build = t.elapsed().as_secs_f64();
    drop(values);
    let t = Instant::now();
    let report = policy::evaluate(&desired_view, None, now(), "config");
    let once = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let live_report = policy::evaluate(&live_view, None, now(), "live");
    let once_live = t.elapsed().as_secs_f64();
    println!(
        "10 rules over {} people, {} chats, {seats} seats: {} evaluations, {} violations; one run {:.0} ms = {:.2}x the {BUDGET_SECONDS} s budget",
        config.people.len(),
        desired.state.chats.len(),
        report.evaluations,
        report.violations.len(),
        once * 1000.0,
        once / BUDGET_SECONDS
    );
    println!(
        "  of which building the CEL values of the org: {:.0} ms ({:.0}%)",
        build * 1000.0,
        100.0 * build / once
    );
    let mut by_rule: Vec<(String, usize)> = Vec::new();
    for v in &report.violations {
        match by_rule.iter_mut().find(|(r, _)| *r == v.rule) {
            Some((_, n)) => *n += 1,
            None => by_rule.push((v.rule.clone(), 1)),
        }
    }
    println!("  violations by rule: {by_rule:?}");
    println!(
        "over live with 100 strangers made admin: {} evaluations, {} violations ({} admins-are-org-people); one run {:.0} ms = {:.2}x the budget",
        live_report.evaluations,
        live_report.violations.len(),
        live_report
            .violations
            .iter()
            .filter(|v| v.rule == "admins-are-org-people")
            .count(),
        once_live * 1000.0,
        once_live / BUDGET_SECONDS
    );

    let mut c = Criterion::default().sample_size(10).configure_from_args();
    c.bench_function("10 rules over 10k people, 1k chats (desired)", |b| {
        b.iter(|| black_box(policy::evaluate(&desired_view, None, now(), "config")))
    });
    c.bench_function("10 rules over 10k people, 1k chats (live)", |b| {
        b.iter(|| black_box(policy::evaluate(&live_view, None, now(), "live")))
    });
    c.final_summary();
}
