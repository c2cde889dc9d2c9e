//! Synthetic organisations for benchmarks and demos (`sandbox generate`):
//! a department tree, people spread over it with leads and labels, roles and
//! templates, one announcement channel for everyone, a chat per department
//! (members by department selector, admins by `leads_of`), project chats
//! joining two teams, and a matching world with a few hundred stray and
//! missing memberships.
//!
//! The config is built as `spec::Config` values and serialised by
//! serde, never formatted by hand; the desired state the world is seeded
//! from is computed here directly from the same structure (the selectors
//! used are simple enough to resolve in a few lines), so 10,000 people and
//! 1,000 chats take well under a second.

use std::collections::BTreeMap;
use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::spec::{
    AdminBinding, AllKeyword, ChatSpec, Config, Department, Org, Person, PersonStatus, Policies,
    RemovalPolicy, RightsSpec, Role, Selector, SelectorKeyword, SelectorRule, TelegramSettings,
};
use crate::state::{
    AdminSeat, ChatState, ChatType, DesiredState, MemberState, MembershipMode, OrgState,
    Permission, PersonRef, Right, Rights, UserId,
};

use super::seed::SeedOptions;
use super::world::World;

#[derive(Clone, Debug, PartialEq)]
pub struct GenerateOptions {
    pub people: usize,
    pub chats: usize,
    pub seed: u64,
}

/// A generated organisation: the config, what it resolves to, and the world.
#[derive(Clone, Debug)]
pub struct Generated {
    pub config: Config,
    pub desired: DesiredState,
    pub world: World,
}

const FIRST: &[&str] = &[
    "Alice", "Bob", "Carol", "Dan", "Erin", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemal",
    "Lena", "Mei", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Viktor",
    "Wen", "Yara", "Zoe",
];
const LAST: &[&str] = &[
    "Ng", "Smith", "Okafor", "Schmidt", "Rossi", "Kowalski", "Tanaka", "Silva", "Novak", "Haddad",
    "Larsen", "Chen", "Dubois", "Garcia", "Ivanova", "Murphy", "Patel", "Kim", "Moreau", "Jensen",
];
const LOCATIONS: &[&str] = &["berlin", "london", "lisbon", "remote"];
const AREAS: &[&str] = &[
    "Engineering",
    "Sales",
    "Operations",
    "Finance",
    "People",
    "Product",
    "Support",
    "Research",
];

const LEAD_RIGHTS: &[Right] = &[
    Right::ChangeInfo,
    Right::DeleteMessages,
    Right::RestrictMembers,
    Right::InviteUsers,
    Right::PinMessages,
];
const TEAM_PERMISSIONS: &[&str] = &[
    "send_messages",
    "send_media",
    "send_polls",
    "add_web_page_previews",
    "react",
];

struct Dept {
    key: String,
    name: String,
    parent: Option<usize>,
    children: Vec<usize>,
    people: Vec<usize>,
    lead: Option<usize>,
}

struct GenPerson {
    handle: String,
    id: UserId,
    name: String,
    username: String,
    dept: usize,
    offboarded: bool,
    location: &'static str,
}

/// Build an organisation of `people` people and `chats` chats.
pub fn generate(options: &GenerateOptions) -> Generated {
    let mut rng = StdRng::seed_from_u64(options.seed);
    let n_people = options.people.max(1);

    // Department tree: divisions under the company, teams under divisions,
    // every fifth team with a sub-team; about 25 people per department.
    let n_depts = (n_people / 25).max(1);
    let n_divisions = (n_depts / 12).clamp(1, AREAS.len() * 8);
    let mut depts: Vec<Dept> = Vec::with_capacity(n_depts + 1);
    depts.push(Dept {
        key: "company".into(),
        name: "Company".into(),
        parent: None,
        children: vec![],
        people: vec![],
        lead: None,
    });
    for d in 0..n_divisions {
        let area = AREAS[d % AREAS.len()];
        let suffix = if d >= AREAS.len() {
            format!(" {}", d / AREAS.len() + 1)
        } else {
            String::new()
        };
        push_dept(
            &mut depts,
            format!("div-{:02}", d + 1),
            format!("{area}{suffix}"),
            0,
        );
    }
    let mut t = 0;
    while depts.len() < n_depts + 1 {
        t += 1;
        let division = 1 + (t - 1) % n_divisions;
        let parent = if t % 5 == 0 && depts.len() > n_divisions + 1 {
            depts.len() - 1
        } else {
            division
        };
        let name = format!("{} team {t}", depts[division].name);
        push_dept(&mut depts, format!("team-{t:04}"), name, parent);
    }

    // People, spread over the departments (the company root keeps a few).
    let mut people: Vec<GenPerson> = Vec::with_capacity(n_people);
    for i in 0..n_people {
        let first = FIRST[rng.random_range(0..FIRST.len())];
        let last = LAST[rng.random_range(0..LAST.len())];
        let dept = if depts.len() == 1 || i < 3 {
            0
        } else {
            1 + (i + rng.random_range(0..3)) % (depts.len() - 1)
        };
        let dept = dept.min(depts.len() - 1);
        depts[dept].people.push(i);
        people.push(GenPerson {
            handle: format!("p{:05}", i + 1),
            id: 100_000_001 + i as i64,
            name: format!("{first} {last}"),
            username: format!("{}_{}{}", first.to_lowercase(), last.to_lowercase(), i + 1),
            dept,
            // About one in a hundred has left the company.
            offboarded: i >= 3 && rng.random_bool(0.01),
            location: LOCATIONS[rng.random_range(0..LOCATIONS.len())],
        });
    }
    for d in &mut depts {
        d.lead = d.people.iter().copied().find(|p| !people[*p].offboarded);
    }
    let lead_of: BTreeMap<usize, usize> = depts
        .iter()
        .enumerate()
        .filter_map(|(i, d)| d.lead.map(|p| (p, i)))
        .collect();

    // --- the config ---
    let mut config = Config {
        org: Some(Org {
            name: "Generated Org".into(),
            telegram: Some(TelegramSettings {
                provider: None,
                bot: Some("generated_org_bot".into()),
                api_url: None,
                alerts_chat: None,
            }),
        }),
        policies: Some(Policies {
            removals: Some(RemovalPolicy {
                max_count: Some(1000),
                max_percent: Some(50),
                max_demotions: None,
            }),
            min_admins: Some(1),
            lockout: None,
            ..Default::default()
        }),
        ..Default::default()
    };
    for (i, p) in people.iter().enumerate() {
        let lead = lead_of.contains_key(&i);
        config.people.insert(
            p.handle.clone(),
            Person {
                telegram_id: Some(p.id),
                name: Some(p.name.clone()),
                username: Some(p.username.clone()),
                department: Some(depts[p.dept].key.clone()),
                roles: if lead { vec!["lead".into()] } else { vec![] },
                labels: [("location".to_string(), p.location.to_string())]
                    .into_iter()
                    .collect(),
                status: if p.offboarded {
                    PersonStatus::Offboarded
                } else {
                    PersonStatus::Active
                },
                grants: vec![],
            },
        );
    }
    for d in &depts {
        config.departments.insert(
            d.key.clone(),
            Department {
                name: Some(d.name.clone()),
                parent: d.parent.map(|p| depts[p].key.clone()),
                leads: d
                    .lead
                    .map(|p| vec![people[p].handle.clone()])
                    .unwrap_or_default(),
            },
        );
    }
    config.roles.insert(
        "lead".into(),
        Role {
            title: Some("Lead".into()),
            rights: Some(RightsSpec::List(
                LEAD_RIGHTS.iter().map(|r| r.name().to_string()).collect(),
            )),
            ..Default::default()
        },
    );
    config.roles.insert(
        "owner-delegate".into(),
        Role {
            title: Some("Admin".into()),
            rights: Some(RightsSpec::All(AllKeyword::All)),
            ..Default::default()
        },
    );
    config.templates.insert(
        "team-chat".into(),
        ChatSpec {
            kind: Some(ChatType::Supergroup),
            permissions: Some(TEAM_PERMISSIONS.iter().map(|s| s.to_string()).collect()),
            membership: Some(MembershipMode::Authoritative),
            ..Default::default()
        },
    );
    config.templates.insert(
        "announcements".into(),
        ChatSpec {
            kind: Some(ChatType::Channel),
            membership: Some(MembershipMode::Additive),
            ..Default::default()
        },
    );

    // --- chats, and what they resolve to ---
    let active = |p: &usize| !people[*p].offboarded;
    let subtree = |root: usize| -> Vec<usize> {
        let mut out = Vec::new();
        let mut stack = vec![root];
        while let Some(d) = stack.pop() {
            out.extend(depts[d].people.iter().copied().filter(active));
            stack.extend(depts[d].children.iter().copied());
        }
        out
    };
    let mut desired = DesiredState {
        bot: Some("generated_org_bot".into()),
        ..Default::default()
    };
    for p in &people {
        desired.people.insert(
            p.id,
            PersonRef {
                handle: p.handle.clone(),
                name: Some(p.name.clone()),
                username: Some(p.username.clone()),
                offboarded: p.offboarded,
            },
        );
    }
    let mut chats = OrgState::default();
    let owner_delegate = people.iter().position(|p| !p.offboarded).unwrap_or(0);
    let team_permissions: crate::state::Permissions = TEAM_PERMISSIONS
        .iter()
        .flat_map(|n| Permission::expand(n).unwrap_or_default())
        .collect();
    let lead_rights: Rights = LEAD_RIGHTS.iter().copied().collect();

    for c in 0..options.chats {
        let chat_id = -1_002_000_000_001 - c as i64;
        let (key, spec, state) = if c == 0 {
            let spec = ChatSpec {
                id: Some(chat_id),
                template: Some("announcements".into()),
                title: Some("Announcements".into()),
                members: Some(vec![Selector::Keyword(SelectorKeyword::Everyone)]),
                admins: Some(vec![AdminBinding {
                    role: "owner-delegate".into(),
                    members: vec![person_selector(&people[owner_delegate].handle)],
                    title: None,
                }]),
                ..Default::default()
            };
            let mut state = ChatState::new(chat_id, ChatType::Channel);
            state.membership = MembershipMode::Additive;
            state.settings.title = Some("Announcements".into());
            let admin = people[owner_delegate].id;
            state.admins.insert(
                admin,
                AdminSeat {
                    rights: Right::all_for(ChatType::Channel),
                    title: Some("Admin".into()),
                    owner: false,
                },
            );
            for p in (0..people.len()).filter(active) {
                if people[p].id != admin {
                    state.members.insert(people[p].id, MemberState::Member);
                }
            }
            ("announcements".to_string(), spec, state)
        } else if c < depts.len() {
            let d = &depts[c];
            let forum = c % 10 == 0;
            let spec = ChatSpec {
                id: Some(chat_id),
                template: Some("team-chat".into()),
                title: Some(d.name.clone()),
                forum: forum.then_some(true),
                members: Some(vec![dept_selector(&d.key, false)]),
                admins: Some(vec![AdminBinding {
                    role: "lead".into(),
                    members: vec![Selector::Rule(SelectorRule {
                        leads_of: Some(d.key.clone()),
                        ..Default::default()
                    })],
                    title: None,
                }]),
                ..Default::default()
            };
            let members = subtree(c);
            let admins: Vec<usize> = d.lead.into_iter().collect();
            (
                d.key.clone(),
                spec,
                team_state(
                    chat_id,
                    &d.name,
                    forum,
                    &people,
                    &members,
                    &admins,
                    &lead_rights,
                    &team_permissions,
                ),
            )
        } else {
            // A project chat joining two teams (their direct members only).
            let n = depts.len().max(2);
            let a = 1 + rng
                .random_range(0..n - 1)
                .min(depts.len().saturating_sub(2));
            let b = 1 + rng
                .random_range(0..n - 1)
                .min(depts.len().saturating_sub(2));
            let (a, b) = (a.min(depts.len() - 1), b.min(depts.len() - 1));
            let key = format!("proj-{:04}", c - depts.len() + 1);
            let title = format!("Project {}", c - depts.len() + 1);
            let spec = ChatSpec {
                id: Some(chat_id),
                template: Some("team-chat".into()),
                title: Some(title.clone()),
                members: Some(vec![
                    dept_selector(&depts[a].key, true),
                    dept_selector(&depts[b].key, true),
                ]),
                admins: Some(vec![AdminBinding {
                    role: "lead".into(),
                    members: vec![Selector::Rule(SelectorRule {
                        leads_of: Some(depts[a].key.clone()),
                        ..Default::default()
                    })],
                    title: None,
                }]),
                ..Default::default()
            };
            let mut members: Vec<usize> = depts[a]
                .people
                .iter()
                .chain(&depts[b].people)
                .copied()
                .filter(active)
                .collect();
            members.sort_unstable();
            members.dedup();
            let admins: Vec<usize> = depts[a].lead.into_iter().collect();
            (
                key,
                spec,
                team_state(
                    chat_id,
                    &title,
                    false,
                    &people,
                    &members,
                    &admins,
                    &lead_rights,
                    &team_permissions,
                ),
            )
        };
        let mut state = state;
        // As the resolver does: offboarded people must be absent everywhere.
        for p in people.iter().filter(|p| p.offboarded) {
            state.members.entry(p.id).or_insert(MemberState::Absent);
        }
        config.chats.insert(key.clone(), spec);
        chats.chats.insert(key, state);
    }
    desired.state = chats;

    let strays = (n_people / 30).clamp(1, 300);
    let seed_options = SeedOptions {
        seed: options.seed,
        drift: true,
        missing_members: Some(strays),
        stray_members: Some(strays),
        bot_username: "generated_org_bot".into(),
        token: None,
    };
    let world = World::from_desired(&desired, &seed_options);
    Generated {
        config,
        desired,
        world,
    }
}

fn push_dept(depts: &mut Vec<Dept>, key: String, name: String, parent: usize) {
    let index = depts.len();
    depts.push(Dept {
        key,
        name,
        parent: Some(parent),
        children: vec![],
        people: vec![],
        lead: None,
    });
    depts[parent].children.push(index);
}

fn person_selector(handle: &str) -> Selector {
    Selector::Rule(SelectorRule {
        person: Some(handle.to_string()),
        ..Default::default()
    })
}

fn dept_selector(key: &str, direct: bool) -> Selector {
    Selector::Rule(SelectorRule {
        department: Some(key.to_string()),
        direct: direct.then_some(true),
        ..Default::default()
    })
}

#[allow(clippy::too_many_arguments)]
fn team_state(
    id: i64,
    title: &str,
    forum: bool,
    people: &[GenPerson],
    members: &[usize],
    admins: &[usize],
    lead_rights: &Rights,
    permissions: &crate::state::Permissions,
) -> ChatState {
    let mut state = ChatState::new(id, ChatType::Supergroup);
    state.settings.title = Some(title.to_string());
    state.settings.permissions = Some(permissions.clone());
    if forum {
        state.settings.forum = Some(true);
    }
    for a in admins {
        state.admins.insert(
            people[*a].id,
            AdminSeat {
                rights: lead_rights.clone(),
                title: Some("Lead".into()),
                owner: false,
            },
        );
    }
    for m in members {
        let id = people[*m].id;
        if !state.admins.contains_key(&id) {
            state.members.insert(id, MemberState::Member);
        }
    }
    state
}

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot serialise the config: {0}")]
    Yaml(String),
    #[error(transparent)]
    World(#[from] super::world::WorldError),
}

/// Write `DIR/config/{org,people,departments,roles,chats}.yaml` and `DIR/world.json`.
pub fn write(generated: &Generated, out: &Path) -> Result<(), GenerateError> {
    let config_dir = out.join("config");
    std::fs::create_dir_all(&config_dir).map_err(|source| GenerateError::Write {
        path: config_dir.display().to_string(),
        source,
    })?;
    let c = &generated.config;
    let files = [
        (
            "org.yaml",
            Config {
                org: c.org.clone(),
                policies: c.policies.clone(),
                ..Default::default()
            },
        ),
        (
            "people.yaml",
            Config {
                people: c.people.clone(),
                ..Default::default()
            },
        ),
        (
            "departments.yaml",
            Config {
                departments: c.departments.clone(),
                ..Default::default()
            },
        ),
        (
            "roles.yaml",
            Config {
                roles: c.roles.clone(),
                templates: c.templates.clone(),
                ..Default::default()
            },
        ),
        (
            "chats.yaml",
            Config {
                chats: c.chats.clone(),
                ..Default::default()
            },
        ),
    ];
    for (name, part) in files {
        let yaml =
            serde_saphyr::to_string(&part).map_err(|e| GenerateError::Yaml(e.to_string()))?;
        let text = format!("# Generated by `orgform sandbox generate`.\n{yaml}");
        let path = config_dir.join(name);
        crate::atomic_file::replace(&path, text.as_bytes(), crate::atomic_file::Access::AsBefore)
            .map_err(|source| GenerateError::Write {
            path: path.display().to_string(),
            source,
        })?;
    }
    generated.world.save(&out.join("world.json"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_org_is_quick_and_consistent() {
        let started = std::time::Instant::now();
        let g = generate(&GenerateOptions {
            people: 10_000,
            chats: 1_000,
            seed: 3,
        });
        assert_eq!(g.config.people.len(), 10_000);
        assert_eq!(g.config.chats.len(), 1_000);
        assert_eq!(g.world.chats.len(), 1_000);
        // Debug builds are slower; release is well under a second.
        assert!(started.elapsed().as_secs() < 30);
        let everyone = &g.world.chats[&-1_002_000_000_001];
        assert!(everyone.members.len() > 9_000);
        // Deterministic for a seed.
        let again = generate(&GenerateOptions {
            people: 300,
            chats: 20,
            seed: 9,
        });
        assert_eq!(
            again.world,
            generate(&GenerateOptions {
                people: 300,
                chats: 20,
                seed: 9
            })
            .world
        );
    }

    /// What `generate` computes itself is what the config resolves to.
    #[test]
    fn desired_state_matches_the_resolver() {
        let g = generate(&GenerateOptions {
            people: 400,
            chats: 30,
            seed: 5,
        });
        let dir = tempfile::tempdir().unwrap();
        write(&g, dir.path()).unwrap();
        let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        let loaded = match crate::model::load_desired(&dir.path().join("config"), now) {
            Ok(d) => d,
            Err(e) => panic!("generated config does not load: {:?}", e.diagnostics),
        };
        assert_eq!(loaded.people.len(), g.desired.people.len());
        for (key, mine) in &g.desired.state.chats {
            let theirs = &loaded.state.chats[key];
            assert_eq!(
                (theirs.id, theirs.kind, theirs.membership),
                (mine.id, mine.kind, mine.membership),
                "{key}"
            );
            assert_eq!(
                theirs.admins.keys().collect::<Vec<_>>(),
                mine.admins.keys().collect::<Vec<_>>(),
                "{key} admins"
            );
            assert_eq!(
                theirs.members.keys().collect::<Vec<_>>(),
                mine.members.keys().collect::<Vec<_>>(),
                "{key} members"
            );
            assert_eq!(theirs.settings.title, mine.settings.title, "{key}");
        }
    }
}
