//! Staged rollout: `--only SELECTOR` and the config's `rollout:` stages
//! limit a plan or an apply to part of the org (DESIGN §10).
//!
//! A subset is a union of parts, each a set of chats and, optionally, a
//! set of people. Chat selectors decide which chats are read and planned
//! at all (so nothing else is touched); people selectors keep only the
//! changes that concern those people (their membership, seat, restriction,
//! tag or invite), in the part's chats. Guards run on what is planned, and
//! policies stay global: they are evaluated over the whole org, so a pilot
//! cannot get past a rule that the rest of the org would break.

use std::collections::BTreeSet;

use crate::model::resolve::Resolver;
use crate::plan::{Op, Plan};
use crate::spec::{ChatSelector, Config, RolloutStage, Selector, SelectorRule};
use crate::state::{ChatType, DesiredState, UserId};

use super::OrgView;

/// One `--only` selector, as typed on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OnlySelector {
    /// `chat:KEY`
    Chat(String),
    /// `label:KEY=VALUE` (a chat label)
    Label(String, String),
    /// `template:NAME`
    Template(String),
    /// `type:supergroup|group|channel`
    Type(ChatType),
    /// `department:KEY` (with sub-departments)
    Department(String),
    /// `person-label:KEY=VALUE`
    PersonLabel(String, String),
}

/// The forms `--only` accepts, for error messages and `--help`.
pub const ONLY_FORMS: &str = "chat:KEY, label:KEY=VALUE, template:NAME, type:supergroup|group|channel, department:KEY, person-label:KEY=VALUE";

impl std::str::FromStr for OnlySelector {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (kind, value) = s
            .split_once(':')
            .ok_or_else(|| format!("`{s}` is not a selector; use one of {ONLY_FORMS}"))?;
        let pair = |v: &str| {
            v.split_once('=')
                .filter(|(k, v)| !k.is_empty() && !v.is_empty())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| format!("`{s}`: write the label as KEY=VALUE"))
        };
        if value.is_empty() {
            return Err(format!("`{s}` names nothing after `{kind}:`"));
        }
        Ok(match kind {
            "chat" => OnlySelector::Chat(value.into()),
            "label" => {
                let (k, v) = pair(value)?;
                OnlySelector::Label(k, v)
            }
            "template" => OnlySelector::Template(value.into()),
            "type" => OnlySelector::Type(match value {
                "group" => ChatType::Group,
                "supergroup" => ChatType::Supergroup,
                "channel" => ChatType::Channel,
                _ => {
                    return Err(format!(
                        "`{value}` is not a chat type (group, supergroup, channel)"
                    ));
                }
            }),
            "department" => OnlySelector::Department(value.into()),
            "person-label" => {
                let (k, v) = pair(value)?;
                OnlySelector::PersonLabel(k, v)
            }
            _ => {
                return Err(format!(
                    "unknown selector kind `{kind}`; use one of {ONLY_FORMS}"
                ));
            }
        })
    }
}

impl std::fmt::Display for OnlySelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OnlySelector::Chat(c) => write!(f, "chat:{c}"),
            OnlySelector::Label(k, v) => write!(f, "label:{k}={v}"),
            OnlySelector::Template(t) => write!(f, "template:{t}"),
            OnlySelector::Type(t) => write!(f, "type:{t}"),
            OnlySelector::Department(d) => write!(f, "department:{d}"),
            OnlySelector::PersonLabel(k, v) => write!(f, "person-label:{k}={v}"),
        }
    }
}

/// Part of the org a run is limited to: a union of [`Part`]s (one for
/// `--only`, one per stage up to the one named for `--stage`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Subset {
    /// What selected it, for the summary (`--only chat:eng`, `stage pilot`).
    pub label: String,
    /// The chats read and planned (config keys): the union of the parts'.
    pub chats: BTreeSet<String>,
    pub parts: Vec<Part>,
    /// Handles of the people the parts name, for the summary.
    pub people_handles: Vec<String>,
}

/// Some chats, and optionally only some people in them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Part {
    pub chats: BTreeSet<String>,
    /// When set, only changes concerning these people.
    pub people: Option<BTreeSet<UserId>>,
}

impl Subset {
    /// Whether a change in `chat` about `user` (if any) is in the subset.
    pub fn covers(&self, chat: &str, user: Option<UserId>) -> bool {
        self.parts.iter().any(|p| {
            p.chats.contains(chat)
                && p.people
                    .as_ref()
                    .is_none_or(|people| user.is_some_and(|u| people.contains(&u)))
        })
    }

    fn union(label: String, parts: Vec<(Part, Vec<String>)>) -> Subset {
        let mut handles: BTreeSet<String> = BTreeSet::new();
        let mut out = Subset {
            label,
            ..Default::default()
        };
        for (part, names) in parts {
            out.chats.extend(part.chats.iter().cloned());
            handles.extend(names);
            out.parts.push(part);
        }
        out.people_handles = handles.into_iter().collect();
        out
    }
}

/// What a subset left out of a plan.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct LeftOut {
    /// What selected the subset.
    pub selection: String,
    /// Chats not planned at all.
    pub chats: Vec<String>,
    /// Changes in planned chats that concern other people (people
    /// selectors only).
    pub changes: usize,
    /// The people the run was limited to, if any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub people: Vec<String>,
}

/// Resolve chat and people selectors (either may be empty: all) into a
/// part of the desired org, with the handles of the people it names.
/// Unknown names are errors (a typo must not silently select nothing).
fn part(
    config: &Config,
    desired: &DesiredState,
    chats: &[ChatSelector],
    people: &[Selector],
    now: jiff::Timestamp,
) -> Result<(Part, Vec<String>), String> {
    for sel in chats {
        for key in sel.chat.iter().chain(sel.chats.iter().flatten()) {
            if !config.chats.contains_key(key) {
                return Err(format!("unknown chat `{key}`"));
            }
        }
        if let Some(t) = &sel.template
            && !config.templates.contains_key(t)
        {
            return Err(format!("unknown template `{t}`"));
        }
    }
    for sel in people {
        if let Selector::Rule(SelectorRule {
            department: Some(d),
            ..
        }) = sel
            && !config.departments.contains_key(d)
        {
            return Err(format!("unknown department `{d}`"));
        }
    }
    let view = OrgView {
        config,
        state: &desired.state,
        people: &desired.people,
        bot: None,
        why: None,
    };
    let chat_set: BTreeSet<String> = desired
        .state
        .chats
        .keys()
        .filter(|k| chats.is_empty() || super::chat_in_scope(config, &view, k, Some(chats)))
        .cloned()
        .collect();
    let (people_set, handles) = if people.is_empty() {
        (None, Vec::new())
    } else {
        let resolver = Resolver::new(config, now);
        let handles: Vec<String> = resolver
            .select(people)
            .into_keys()
            .map(str::to_string)
            .collect();
        let ids = handles
            .iter()
            .filter_map(|h| config.people.get(h).and_then(|p| p.telegram_id))
            .collect();
        (Some(ids), handles)
    };
    Ok((
        Part {
            chats: chat_set,
            people: people_set,
        },
        handles,
    ))
}

/// The subset for `--only` selectors (a union of what each selects; chat
/// and people selectors together select those people in those chats).
pub fn only(
    config: &Config,
    desired: &DesiredState,
    selectors: &[OnlySelector],
    now: jiff::Timestamp,
) -> Result<Subset, String> {
    let mut chats = Vec::new();
    let mut people = Vec::new();
    for s in selectors {
        match s {
            OnlySelector::Chat(c) => chats.push(ChatSelector {
                chat: Some(c.clone()),
                ..Default::default()
            }),
            OnlySelector::Label(k, v) => chats.push(ChatSelector {
                label: Some([(k.clone(), v.clone())].into()),
                ..Default::default()
            }),
            OnlySelector::Template(t) => chats.push(ChatSelector {
                template: Some(t.clone()),
                ..Default::default()
            }),
            OnlySelector::Type(t) => chats.push(ChatSelector {
                kind: Some(*t),
                ..Default::default()
            }),
            OnlySelector::Department(d) => people.push(Selector::Rule(SelectorRule {
                department: Some(d.clone()),
                ..Default::default()
            })),
            OnlySelector::PersonLabel(k, v) => people.push(Selector::Rule(SelectorRule {
                label: Some([(k.clone(), v.clone())].into()),
                ..Default::default()
            })),
        }
    }
    let label = selectors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let one = part(config, desired, &chats, &people, now)?;
    Ok(Subset::union(format!("--only {label}"), vec![one]))
}

/// The subset of rollout stage `name` (`current` = the config's current
/// stage): the union of that stage and every stage before it. A stage
/// with no selectors covers everything.
pub fn stage(
    config: &Config,
    desired: &DesiredState,
    name: &str,
    now: jiff::Timestamp,
) -> Result<Subset, String> {
    let rollout = config
        .rollout
        .as_ref()
        .ok_or_else(|| "the config has no `rollout:` section".to_string())?;
    let name = if name == "current" {
        rollout
            .current
            .clone()
            .or_else(|| rollout.stages.last().map(|s| s.name.clone()))
            .ok_or_else(|| "`rollout` has no stages".to_string())?
    } else {
        name.to_string()
    };
    let upto = rollout
        .stages
        .iter()
        .position(|s| s.name == name)
        .ok_or_else(|| {
            let names: Vec<&str> = rollout.stages.iter().map(|s| s.name.as_str()).collect();
            format!(
                "unknown rollout stage `{name}`; stages: {}",
                names.join(", ")
            )
        })?;
    let stages: &[RolloutStage] = &rollout.stages[..=upto];
    let label = format!(
        "rollout stage {name} ({} of {})",
        upto + 1,
        rollout.stages.len()
    );
    // Cumulative: each stage adds its chats (all when it names none) with
    // its people (everyone when it names none).
    let parts = stages
        .iter()
        .map(|s| {
            part(
                config,
                desired,
                s.chats.as_deref().unwrap_or_default(),
                s.people.as_deref().unwrap_or_default(),
                now,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Subset::union(label, parts))
}

/// The user a change concerns, if it concerns one person.
pub fn change_user(op: &Op) -> Option<UserId> {
    match op {
        Op::Promote { user, .. }
        | Op::Demote { user }
        | Op::SetAdminTitle { user, .. }
        | Op::Restrict { user, .. }
        | Op::Unrestrict { user }
        | Op::Ban { user }
        | Op::Unban { user }
        | Op::Kick { user }
        | Op::SendInvite { user, .. }
        | Op::AddMember { user, .. }
        | Op::SetTag { user, .. } => Some(*user),
        _ => None,
    }
}

/// Keep only the subset's changes in a plan (and their fingerprints);
/// returns what was left out. The plan's `only` names the chats planned.
pub fn limit(plan: &mut Plan, subset: &Subset, desired: &DesiredState) -> LeftOut {
    let before = plan.changes.len();
    plan.changes
        .retain(|c| subset.covers(&c.chat, change_user(&c.op)));
    let kept: BTreeSet<String> = plan.changes.iter().map(|c| c.address.to_string()).collect();
    plan.fingerprints.retain(|a, _| kept.contains(a));
    plan.only = Some(subset.chats.iter().cloned().collect());
    LeftOut {
        selection: subset.label.clone(),
        chats: desired
            .state
            .chats
            .keys()
            .filter(|k| !subset.chats.contains(*k))
            .cloned()
            .collect(),
        changes: before - plan.changes.len(),
        people: subset.people_handles.clone(),
    }
}
