//! Policy rules over the resolved org (DESIGN §10): the CEL expressions of
//! `policies.rules`, evaluated for every chat, person, seat or grant in
//! their scope, with deny / warn / audit actions and exceptions that lapse.
//!
//! - `values` turns an org state (the desired state, the state a plan
//!   leads to, or live Telegram) into the CEL values rules see;
//! - [`evaluate`] runs every rule and returns a [`Report`] of violations,
//!   each naming the rule, the chat and/or person, and the config line
//!   that caused it;
//! - [`compare`] splits a report into violations a change introduces and
//!   those that were there before (`diff` on pull requests);
//! - `rollout` is the other half of DESIGN §10: `--only` selectors and
//!   named stages that limit a run to part of the org.
//!
//! Everything here is pure: time comes in as an argument. What a rule may
//! name is defined (and statically checked) in `model::rules`.

pub mod rollout;
pub mod values;

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde::Serialize;

use crate::config::{Node, SourceMap, tree::escape_pointer_token as esc};
use crate::model::resolve::{Resolver, effective_chat};
use crate::model::time::parse_until;
use crate::spec::{ChatSelector, Config, PolicyAction, PolicyRule, PolicySubject, Selector};
use crate::state::{OrgState, PersonRef, UserId};

/// A place in the config files.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// An approved exception, as shown with a violation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Exemption {
    pub approved_by: String,
    pub reason: String,
    pub until: String,
}

/// One subject that does not satisfy one rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub rule: String,
    pub action: PolicyAction,
    pub subject: PolicySubject,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    /// For grant subjects: the grant's role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant: Option<String>,
    pub message: String,
    /// The config that caused the violation (the chat's admins or members,
    /// the person, the grant); the rule itself when nothing in the config
    /// did (someone added by hand in Telegram).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// Where the rule is written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_location: Option<Location>,
    /// An exception in force: the violation is reported but does not count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exempted_by: Option<Exemption>,
    /// An exception that would have applied but has lapsed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lapsed_exception: Option<Exemption>,
    /// The expression could not be evaluated for this subject (counts as a
    /// violation: rules fail closed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// For a seat: why the config puts the person there (empty when it
    /// does not: someone added by hand).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub why: Vec<String>,
}

impl Violation {
    /// What identifies a violation across two evaluations (for `diff`).
    pub fn identity(&self) -> (String, Option<String>, Option<String>, Option<String>) {
        (
            self.rule.clone(),
            self.chat.clone(),
            self.person.clone(),
            self.grant.clone(),
        )
    }

    /// Whether it counts (no exception in force).
    pub fn counts(&self) -> bool {
        self.exempted_by.is_none()
    }

    /// `chat eng`, `alice in eng`, `bob's grant moderator`, ...
    pub fn subject_text(&self) -> String {
        match (self.subject, &self.chat, &self.person, &self.grant) {
            (PolicySubject::Grant, _, Some(p), Some(g)) => format!("grant {g} of {p}"),
            (_, Some(c), Some(p), _) => format!("{p} in {c}"),
            (_, Some(c), None, _) => format!("chat {c}"),
            (_, None, Some(p), _) => format!("person {p}"),
            _ => "the org".into(),
        }
    }
}

/// What an evaluation found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// What was evaluated: `config`, `plan`, `live`.
    pub over: String,
    pub rules: usize,
    /// Subjects evaluated, summed over rules.
    pub evaluations: usize,
    pub violations: Vec<Violation>,
}

impl Report {
    /// Violations that count, with this action.
    pub fn count(&self, action: PolicyAction) -> usize {
        self.violations
            .iter()
            .filter(|v| v.action == action && v.counts())
            .count()
    }

    /// A deny rule is violated: plan and apply refuse.
    pub fn denied(&self) -> bool {
        self.count(PolicyAction::Deny) > 0
    }

    pub fn is_clean(&self) -> bool {
        !self.violations.iter().any(Violation::counts)
    }

    /// The deny rules violated, by name (for the refusal message).
    pub fn denied_rules(&self) -> Vec<&str> {
        let set: BTreeSet<&str> = self
            .violations
            .iter()
            .filter(|v| v.action == PolicyAction::Deny && v.counts())
            .map(|v| v.rule.as_str())
            .collect();
        set.into_iter().collect()
    }
}

/// The org a rule looks at: chats (keyed as in the config) and who is
/// who. `people` maps Telegram ids to config handles; anyone else is a
/// stranger (`known == false`).
pub struct OrgView<'a> {
    pub config: &'a Config,
    pub state: &'a OrgState,
    pub people: &'a BTreeMap<UserId, PersonRef>,
    /// The bot itself, left out of admins and members (it is not a person).
    pub bot: Option<UserId>,
    /// The config's why-traces (`chat.eng.admin.alice` → reasons), shown
    /// with seat violations.
    pub why: Option<&'a BTreeMap<String, Vec<String>>>,
}

/// Where config pointers are turned into file:line.
pub struct Sources<'a> {
    pub sources: &'a SourceMap,
    pub root: &'a Node,
}

impl Sources<'_> {
    fn locate(&self, pointer: &str) -> Option<Location> {
        let (node, found) = self.root.pointer(pointer);
        if !found {
            return None;
        }
        let span = self.root.key_span(pointer).unwrap_or(node.span);
        let (file, line, column) = self.sources.position(span);
        Some(Location { file, line, column })
    }
}

/// A rule compiled once and run many times.
struct Compiled<'c> {
    rule: &'c PolicyRule,
    index: usize,
    program: Result<cel::Program, String>,
    chats: Option<&'c [ChatSelector]>,
    people: Option<BTreeSet<&'c str>>,
}

/// Evaluate every rule over `view` at `now`. `over` names what the view
/// is (`config`, `plan`, `live`) in the report.
pub fn evaluate(view: &OrgView, sources: Option<&Sources>, now: Timestamp, over: &str) -> Report {
    let config = view.config;
    let rules: &[PolicyRule] = config
        .policies
        .as_ref()
        .map(|p| p.rules.as_slice())
        .unwrap_or_default();
    let mut report = Report {
        over: over.into(),
        rules: rules.len(),
        ..Default::default()
    };
    if rules.is_empty() {
        return report;
    }
    let resolver = Resolver::new(config, now);
    let compiled: Vec<Compiled> = rules
        .iter()
        .enumerate()
        .map(|(index, rule)| Compiled {
            rule,
            index,
            // `model::check` refused expressions that do not parse, so an
            // error here means the config was not checked: fail closed.
            program: cel::Program::compile(&rule.expr).map_err(|e| e.to_string()),
            chats: rule.scope.as_ref().and_then(|s| s.chats.as_deref()),
            people: rule
                .scope
                .as_ref()
                .and_then(|s| s.people.as_deref())
                .map(|list: &[Selector]| resolver.select(list).into_keys().collect()),
        })
        .collect();
    let org = values::build(view, now);
    let root = values::context(&org, now);
    let mut out = Vec::new();
    for rule in &compiled {
        let mut check = |vars: &[(&str, cel::Value)],
                         chat: Option<&str>,
                         person: Option<&str>,
                         grant: Option<(usize, &str)>| {
            report.evaluations += 1;
            let result = match &rule.program {
                Ok(program) => {
                    let mut ctx = root.new_inner_scope();
                    for (name, value) in vars {
                        ctx.add_variable_from_value(*name, value.clone());
                    }
                    match program.execute(&ctx) {
                        Ok(cel::Value::Bool(true)) => return,
                        Ok(cel::Value::Bool(false)) => None,
                        Ok(other) => Some(format!("the rule gave {other:?}, not a bool")),
                        Err(e) => Some(e.to_string()),
                    }
                }
                Err(e) => Some(e.clone()),
            };
            out.push(violation(
                view, sources, rule, chat, person, grant, result, now,
            ));
        };
        match rule.rule.subject.unwrap_or_default() {
            PolicySubject::Chat => {
                for (key, chat) in &org.chats {
                    if chat_in_scope(config, view, key, rule.chats) {
                        check(&[("chat", chat.value.clone())], Some(key), None, None);
                    }
                }
            }
            PolicySubject::Person => {
                for (handle, person) in &org.people {
                    if person_in_scope(rule.people.as_ref(), handle) {
                        check(&[("person", person.clone())], None, Some(handle), None);
                    }
                }
            }
            PolicySubject::Seat => {
                for (key, chat) in &org.chats {
                    if !chat_in_scope(config, view, key, rule.chats) {
                        continue;
                    }
                    for seat in &chat.seats {
                        let handle = &seat.handle;
                        if !person_in_scope(rule.people.as_ref(), handle) {
                            continue;
                        }
                        let person = org.people.get(handle).cloned().unwrap_or(cel::Value::Null);
                        check(
                            &[
                                ("chat", chat.value.clone()),
                                ("person", person),
                                ("seat", seat.value()),
                            ],
                            Some(key),
                            Some(handle),
                            None,
                        );
                    }
                }
            }
            PolicySubject::Grant => {
                for g in &org.grants {
                    if !person_in_scope(rule.people.as_ref(), &g.person) {
                        continue;
                    }
                    if let Some(sel) = rule.chats {
                        let chats = config.people[&g.person].grants[g.index].chats.iter();
                        if !chats
                            .into_iter()
                            .any(|c| chat_in_scope(config, view, c, Some(sel)))
                        {
                            continue;
                        }
                    }
                    let person = org
                        .people
                        .get(&g.person)
                        .cloned()
                        .unwrap_or(cel::Value::Null);
                    check(
                        &[("person", person), ("grant", g.value.clone())],
                        None,
                        Some(&g.person),
                        Some((g.index, &g.role)),
                    );
                }
            }
        }
    }
    out.sort_by(|a, b| {
        (&a.rule, &a.chat, &a.person, &a.grant).cmp(&(&b.rule, &b.chat, &b.person, &b.grant))
    });
    report.violations = out;
    report
}

fn person_in_scope(people: Option<&BTreeSet<&str>>, handle: &str) -> bool {
    people.is_none_or(|set| set.contains(handle))
}

/// Whether chat `key` matches any of `selectors` (all chats when `None`).
pub fn chat_in_scope(
    config: &Config,
    view: &OrgView,
    key: &str,
    selectors: Option<&[ChatSelector]>,
) -> bool {
    let Some(selectors) = selectors else {
        return true;
    };
    let spec = config.chats.get(key);
    let eff = spec.map(|s| effective_chat(config, s));
    selectors.iter().any(|sel| {
        sel.chat.as_ref().is_none_or(|c| c == key)
            && sel
                .chats
                .as_ref()
                .is_none_or(|cs| cs.iter().any(|c| c == key))
            && sel
                .template
                .as_ref()
                .is_none_or(|t| spec.and_then(|s| s.template.as_ref()) == Some(t))
            && sel.kind.is_none_or(|k| {
                view.state.chats.get(key).map(|c| c.kind) == Some(k)
                    || eff.as_ref().and_then(|e| e.kind) == Some(k)
            })
            && sel.label.as_ref().is_none_or(|labels| {
                let have = eff.as_ref().and_then(|e| e.labels.as_ref());
                labels
                    .iter()
                    .all(|(k, v)| have.and_then(|h| h.get(k)) == Some(v))
            })
    })
}

#[allow(clippy::too_many_arguments)] // one call site, each argument a different fact
fn violation(
    view: &OrgView,
    sources: Option<&Sources>,
    rule: &Compiled,
    chat: Option<&str>,
    person: Option<&str>,
    grant: Option<(usize, &str)>,
    error: Option<String>,
    now: Timestamp,
) -> Violation {
    let r = rule.rule;
    let rule_ptr = format!("/policies/rules/{}", rule.index);
    let subject = r.subject.unwrap_or_default();
    // The config that put the subject there.
    let pointer = match (subject, chat, person, grant) {
        (PolicySubject::Grant, _, Some(p), Some((i, _))) => {
            Some(format!("/people/{}/grants/{i}", esc(p)))
        }
        (PolicySubject::Seat, Some(c), Some(p), _) if view.config.people.contains_key(p) => {
            view.config.chats.get(c).map(|spec| {
                let eff = effective_chat(view.config, spec);
                let uid = view.config.people[p].telegram_id;
                let is_admin = view
                    .state
                    .chats
                    .get(c)
                    .is_some_and(|cs| uid.is_some_and(|u| cs.admins.contains_key(&u)));
                let field = if is_admin { "admins" } else { "members" };
                format!("{}/{field}", eff.origin(field, c))
            })
        }
        // A chat rule points at the part of the chat it reads (admins,
        // members, labels), wherever that was written (chat or template).
        (PolicySubject::Chat, Some(c), _, _) if view.config.chats.contains_key(c) => {
            let spec = &view.config.chats[c];
            let eff = effective_chat(view.config, spec);
            ["admins", "members", "labels"]
                .into_iter()
                .find(|f| {
                    r.expr.contains(&format!(".{f}"))
                        && match *f {
                            "admins" => eff.admins.is_some(),
                            "members" => eff.members.is_some(),
                            _ => eff.labels.is_some(),
                        }
                })
                .map(|f| format!("{}/{f}", eff.origin(f, c)))
                .or_else(|| Some(format!("/chats/{}", esc(c))))
        }
        (_, Some(c), _, _) if view.config.chats.contains_key(c) => {
            Some(format!("/chats/{}", esc(c)))
        }
        (_, None, Some(p), _) if view.config.people.contains_key(p) => {
            Some(format!("/people/{}", esc(p)))
        }
        _ => None,
    };
    let rule_location = sources.and_then(|s| {
        s.locate(&format!("{rule_ptr}/name"))
            .or_else(|| s.locate(&rule_ptr))
    });
    let location = sources
        .and_then(|s| pointer.as_deref().and_then(|p| s.locate(p)))
        .or_else(|| rule_location.clone());
    let mut exempted_by = None;
    let mut lapsed_exception = None;
    for ex in &r.exceptions {
        let applies = ex.chat.as_deref().is_none_or(|c| Some(c) == chat)
            && ex.person.as_deref().is_none_or(|p| Some(p) == person)
            && (ex.chat.is_some() || ex.person.is_some());
        if !applies {
            continue;
        }
        let e = Exemption {
            approved_by: ex.approved_by.clone(),
            reason: ex.reason.clone(),
            until: ex.until.clone(),
        };
        // Like grants: an exception whose `until` has passed (or cannot be
        // read) no longer exempts.
        if parse_until(&ex.until).is_some_and(|u| u > now) {
            exempted_by = Some(e);
            break;
        }
        lapsed_exception.get_or_insert(e);
    }
    let why = match (subject, chat, person) {
        (PolicySubject::Seat, Some(c), Some(p)) => view
            .why
            .map(|why| {
                [
                    crate::state::Address::admin(c, p),
                    crate::state::Address::member(c, p),
                ]
                .iter()
                .filter_map(|address| why.get(address.as_str()))
                .flatten()
                .cloned()
                .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let message = r
        .message
        .clone()
        .or_else(|| r.description.clone())
        .unwrap_or_else(|| format!("violates `{}`", r.expr));
    Violation {
        rule: r.name.clone(),
        action: r.action.unwrap_or_default(),
        subject,
        chat: chat.map(str::to_string),
        person: person.map(str::to_string),
        grant: grant.map(|(_, role)| role.to_string()),
        message,
        location,
        rule_location,
        exempted_by,
        lapsed_exception,
        error,
        why,
    }
}

/// A report split for a pull request: violations the change introduces,
/// those it leaves in place, and those it fixes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Comparison {
    pub new: Vec<Violation>,
    pub existing: Vec<Violation>,
    pub fixed: Vec<Violation>,
}

impl Comparison {
    pub fn denied(&self) -> bool {
        self.new
            .iter()
            .any(|v| v.action == PolicyAction::Deny && v.counts())
    }
}

/// Compare the violations at the base of a change with those at its head.
pub fn compare(base: &Report, head: &Report) -> Comparison {
    let before: BTreeSet<_> = base
        .violations
        .iter()
        .filter(|v| v.counts())
        .map(Violation::identity)
        .collect();
    let after: BTreeSet<_> = head
        .violations
        .iter()
        .filter(|v| v.counts())
        .map(Violation::identity)
        .collect();
    let mut out = Comparison::default();
    for v in head.violations.iter().filter(|v| v.counts()) {
        if before.contains(&v.identity()) {
            out.existing.push(v.clone());
        } else {
            out.new.push(v.clone());
        }
    }
    for v in base.violations.iter().filter(|v| v.counts()) {
        if !after.contains(&v.identity()) {
            out.fixed.push(v.clone());
        }
    }
    out
}

/// Evaluate over a loaded model's desired state (what `validate` checks).
pub fn evaluate_config(model: &crate::model::Model, now: Timestamp) -> Report {
    let view = OrgView {
        config: &model.config,
        state: &model.desired.state,
        people: &model.desired.people,
        bot: None,
        why: Some(&model.desired.why),
    };
    let sources = Sources {
        sources: &model.sources,
        root: &model.root,
    };
    evaluate(&view, Some(&sources), now, "config")
}

/// Evaluate over a live (or simulated) state, with the config's people.
pub fn evaluate_state(
    model: &crate::model::Model,
    state: &OrgState,
    bot: Option<UserId>,
    now: Timestamp,
    over: &str,
) -> Report {
    let view = OrgView {
        config: &model.config,
        state,
        people: &model.desired.people,
        bot,
        why: Some(&model.desired.why),
    };
    let sources = Sources {
        sources: &model.sources,
        root: &model.root,
    };
    evaluate(&view, Some(&sources), now, over)
}

/// The state a plan leads to: the live state with the plan applied, and
/// for chats the plan did not read (`--only`, `--changed-since`) the
/// desired state, so rules still see the whole org.
pub fn planned_state(
    desired: &crate::state::DesiredState,
    live: &crate::state::LiveState,
    plan: &crate::plan::Plan,
) -> OrgState {
    let mut after = live.clone();
    crate::plan::simulate::simulate(&mut after, &plan.changes);
    let mut state = after.state;
    for (key, chat) in &desired.state.chats {
        state
            .chats
            .entry(key.clone())
            .or_insert_with(|| chat.clone());
    }
    state
}
