//! The CEL values a rule sees, built once per evaluation from an
//! [`OrgView`](super::OrgView): the desired state, the state a plan leads
//! to, or live Telegram all look the same to a rule. The field names and
//! types here are the ones `model::rules` checks expressions against.
//!
//! Values are reference-counted, so a person who sits in a thousand chats
//! is one map shared by all of them: building the values for a
//! 10,000-person org is linear, and each evaluation only binds variables.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use cel::objects::{Key, Map};
use cel::{Context, ExecutionError, Value};
use jiff::Timestamp;

use crate::model::time::parse_until;
use crate::spec::{Config, PersonStatus};
use crate::state::{MemberState, UserId};

use super::OrgView;

/// One chat's value and its seats, in user order.
pub struct ChatValues {
    pub value: Value,
    pub seats: Vec<Seat>,
}

/// One person's place in one chat. Its CEL value is built only when a
/// seat rule in scope asks for it ([`Seat::value`]): a big org has far more
/// seats than any other subject.
pub struct Seat {
    pub handle: String,
    admin: bool,
    rights: Value,
    title: Value,
    owner: bool,
    restricted: bool,
}

impl Seat {
    pub fn value(&self) -> Value {
        map(vec![
            ("admin", Value::Bool(self.admin)),
            ("rights", self.rights.clone()),
            ("title", self.title.clone()),
            ("owner", Value::Bool(self.owner)),
            ("restricted", Value::Bool(self.restricted)),
        ])
    }
}

/// A grant in force, with where it is written.
pub struct GrantValue {
    pub person: String,
    pub index: usize,
    pub role: String,
    pub value: Value,
}

/// Everything rules can see.
pub struct OrgValues {
    pub people: BTreeMap<String, Value>,
    pub chats: BTreeMap<String, ChatValues>,
    pub grants: Vec<GrantValue>,
    pub org: Value,
}

fn s(v: &str) -> Value {
    Value::String(Arc::new(v.to_string()))
}

fn opt(v: Option<&String>) -> Value {
    s(v.map(String::as_str).unwrap_or(""))
}

fn strings<'a>(items: impl IntoIterator<Item = &'a str>) -> Value {
    Value::List(Arc::new(items.into_iter().map(s).collect()))
}

/// A field name as a map key, allocated once per name and thread: every
/// person, chat and seat map shares them.
fn field_key(name: &'static str) -> Key {
    thread_local! {
        static KEYS: std::cell::RefCell<HashMap<&'static str, Arc<String>>> =
            std::cell::RefCell::new(HashMap::new());
    }
    KEYS.with(|keys| {
        Key::String(
            keys.borrow_mut()
                .entry(name)
                .or_insert_with(|| Arc::new(name.to_string()))
                .clone(),
        )
    })
}

fn map(entries: Vec<(&'static str, Value)>) -> Value {
    let map: HashMap<Key, Value> = entries
        .into_iter()
        .map(|(k, v)| (field_key(k), v))
        .collect();
    Value::Map(Map { map: Arc::new(map) })
}

fn string_map<'a>(entries: impl IntoIterator<Item = (&'a String, &'a String)>) -> Value {
    let map: HashMap<Key, Value> = entries
        .into_iter()
        .map(|(k, v)| (Key::String(Arc::new(k.clone())), s(v)))
        .collect();
    Value::Map(Map { map: Arc::new(map) })
}

/// A CEL timestamp.
pub fn timestamp(t: Timestamp) -> Value {
    let dt = chrono::DateTime::from_timestamp(t.as_second(), t.subsec_nanosecond().max(0) as u32)
        .unwrap_or_default();
    Value::Timestamp(dt.fixed_offset())
}

/// Handle of a user: the config's, or `user:<id>` for a stranger.
fn handle_of(view: &OrgView, user: UserId) -> String {
    view.people
        .get(&user)
        .map(|p| p.handle.clone())
        .unwrap_or_else(|| format!("user:{user}"))
}

fn status_name(s: PersonStatus) -> &'static str {
    match s {
        PersonStatus::Active => "active",
        PersonStatus::Suspended => "suspended",
        PersonStatus::Offboarded => "offboarded",
    }
}

/// The department and every department above it, nearest first.
fn departments<'a>(config: &'a Config, dep: Option<&'a String>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    let mut cur = dep.map(String::as_str);
    while let Some(d) = cur {
        if out.contains(&d) {
            break; // a cycle, reported by `check`
        }
        out.push(d);
        cur = config.departments.get(d).and_then(|x| x.parent.as_deref());
    }
    out
}

/// Build every value once.
pub fn build(view: &OrgView, now: Timestamp) -> OrgValues {
    let config = view.config;
    // Who sits where: handle → chats where admin / present.
    let mut admin_in: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let mut member_of: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let mut strangers: BTreeMap<String, UserId> = BTreeMap::new();
    let mut handles: HashMap<UserId, String> = HashMap::new();
    let mut handle = |user: UserId| -> String {
        handles
            .entry(user)
            .or_insert_with(|| handle_of(view, user))
            .clone()
    };
    for (key, chat) in &view.state.chats {
        for user in chat.admins.keys() {
            if Some(*user) == view.bot {
                continue;
            }
            let h = handle(*user);
            if !view.people.contains_key(user) {
                strangers.insert(h.clone(), *user);
            }
            admin_in.entry(h.clone()).or_default().push(key);
            member_of.entry(h).or_default().push(key);
        }
        for (user, m) in &chat.members {
            if Some(*user) == view.bot || chat.admins.contains_key(user) || !crate::plan::present(m)
            {
                continue;
            }
            let h = handle(*user);
            if !view.people.contains_key(user) {
                strangers.insert(h.clone(), *user);
            }
            member_of.entry(h).or_default().push(key);
        }
    }

    // Grants in force (an expired grant has lapsed, as in `resolve`).
    let mut grants = Vec::new();
    let mut person_grants: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for (h, p) in &config.people {
        for (index, g) in p.grants.iter().enumerate() {
            let until = g.until.as_deref().and_then(parse_until);
            if until.is_some_and(|u| u <= now) {
                continue;
            }
            let value = map(vec![
                ("person", s(h)),
                ("role", s(&g.role)),
                ("chats", strings(g.chats.iter().map(String::as_str))),
                ("until", until.map(timestamp).unwrap_or(Value::Null)),
                ("reason", opt(g.reason.as_ref())),
            ]);
            person_grants.entry(h).or_default().push(value.clone());
            grants.push(GrantValue {
                person: h.clone(),
                index,
                role: g.role.clone(),
                value,
            });
        }
    }

    // People: the config's, then strangers seen in chats.
    let empty: Vec<&str> = Vec::new();
    let mut people = BTreeMap::new();
    for (h, p) in &config.people {
        let fields = vec![
            ("handle", s(h)),
            ("id", Value::Int(p.telegram_id.unwrap_or(0))),
            ("name", opt(p.name.as_ref())),
            ("username", opt(p.username.as_ref())),
            ("department", opt(p.department.as_ref())),
            (
                "departments",
                strings(departments(config, p.department.as_ref())),
            ),
            ("labels", string_map(&p.labels)),
            ("roles", strings(p.roles.iter().map(String::as_str))),
            ("status", s(status_name(p.status))),
            ("known", Value::Bool(true)),
            (
                "admin_in",
                strings(admin_in.get(h).unwrap_or(&empty).iter().copied()),
            ),
            (
                "member_of",
                strings(member_of.get(h).unwrap_or(&empty).iter().copied()),
            ),
            (
                "grants",
                Value::List(Arc::new(
                    person_grants.get(h.as_str()).cloned().unwrap_or_default(),
                )),
            ),
        ];
        people.insert(h.clone(), map(fields));
    }
    for (h, id) in &strangers {
        let fields = vec![
            ("handle", s(h)),
            ("id", Value::Int(*id)),
            ("name", s("")),
            ("username", s("")),
            ("department", s("")),
            ("departments", strings([])),
            ("labels", string_map([])),
            ("roles", strings([])),
            ("status", s("unknown")),
            ("known", Value::Bool(false)),
            (
                "admin_in",
                strings(admin_in.get(h).unwrap_or(&empty).iter().copied()),
            ),
            (
                "member_of",
                strings(member_of.get(h).unwrap_or(&empty).iter().copied()),
            ),
            ("grants", Value::List(Arc::new(Vec::new()))),
        ];
        people.insert(h.clone(), map(fields));
    }

    // Chats.
    let mut chats = BTreeMap::new();
    for (key, chat) in &view.state.chats {
        let spec = config.chats.get(key);
        let eff = spec.map(|s| crate::model::resolve::effective_chat(config, s));
        let mut admins = Vec::new();
        let mut members = Vec::new();
        let mut seats = Vec::new();
        for (user, seat) in &chat.admins {
            if Some(*user) == view.bot {
                continue;
            }
            let h = handle(*user);
            let rights = strings(seat.rights.iter().map(|r| r.name()));
            let title = s(seat.title.as_deref().unwrap_or(""));
            let person = people.get(&h).cloned().unwrap_or(Value::Null);
            // An admin is the person's map with the seat's fields added.
            let mut fields: HashMap<Key, Value> = match &person {
                Value::Map(m) => (*m.map).clone(),
                _ => HashMap::new(),
            };
            fields.insert(field_key("rights"), rights.clone());
            fields.insert(field_key("title"), title.clone());
            fields.insert(field_key("owner"), Value::Bool(seat.owner));
            admins.push(Value::Map(Map {
                map: Arc::new(fields),
            }));
            members.push(person);
            seats.push(Seat {
                handle: h,
                admin: true,
                rights,
                title,
                owner: seat.owner,
                restricted: false,
            });
        }
        for (user, m) in &chat.members {
            if Some(*user) == view.bot || chat.admins.contains_key(user) || !crate::plan::present(m)
            {
                continue;
            }
            let h = handle(*user);
            members.push(people.get(&h).cloned().unwrap_or(Value::Null));
            seats.push(Seat {
                handle: h,
                admin: false,
                rights: strings([]),
                title: s(""),
                owner: false,
                restricted: matches!(m, MemberState::Restricted { .. }),
            });
        }
        let labels = eff
            .as_ref()
            .and_then(|e| e.labels.clone())
            .unwrap_or_default();
        let value = map(vec![
            ("key", s(key)),
            ("id", Value::Int(chat.id)),
            ("type", s(&chat.kind.to_string())),
            ("template", opt(spec.and_then(|s| s.template.as_ref()))),
            (
                "title",
                opt(chat
                    .settings
                    .title
                    .as_ref()
                    .or(eff.as_ref().and_then(|e| e.title.as_ref()))),
            ),
            ("labels", string_map(&labels)),
            (
                "membership",
                s(match chat.membership {
                    crate::state::MembershipMode::Authoritative => "authoritative",
                    crate::state::MembershipMode::Additive => "additive",
                    crate::state::MembershipMode::Observe => "observe",
                }),
            ),
            ("forum", Value::Bool(chat.settings.forum.unwrap_or(false))),
            ("members", Value::List(Arc::new(members))),
            ("admins", Value::List(Arc::new(admins))),
        ]);
        chats.insert(key.clone(), ChatValues { value, seats });
    }

    let departments_value = {
        let m: HashMap<Key, Value> = config
            .departments
            .iter()
            .map(|(k, d)| {
                (
                    Key::String(Arc::new(k.clone())),
                    map(vec![
                        ("key", s(k)),
                        ("name", opt(d.name.as_ref())),
                        ("parent", opt(d.parent.as_ref())),
                        ("leads", strings(d.leads.iter().map(String::as_str))),
                    ]),
                )
            })
            .collect();
        Value::Map(Map { map: Arc::new(m) })
    };
    let keyed = |items: Vec<(String, Value)>| -> Value {
        let m: HashMap<Key, Value> = items
            .into_iter()
            .map(|(k, v)| (Key::String(Arc::new(k)), v))
            .collect();
        Value::Map(Map { map: Arc::new(m) })
    };
    let org = map(vec![
        (
            "name",
            s(config.org.as_ref().map(|o| o.name.as_str()).unwrap_or("")),
        ),
        (
            "people",
            keyed(people.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        ),
        (
            "chats",
            keyed(
                chats
                    .iter()
                    .map(|(k, v)| (k.clone(), v.value.clone()))
                    .collect(),
            ),
        ),
        ("departments", departments_value),
    ]);
    OrgValues {
        people,
        chats,
        grants,
        org,
    }
}

/// `distinct(list)` / `list.distinct()`: the list without repeats, in
/// first-seen order (for "admins from two departments").
fn distinct(
    cel::extractors::This(list): cel::extractors::This<Arc<Vec<Value>>>,
) -> Result<Value, ExecutionError> {
    let mut out: Vec<Value> = Vec::new();
    for v in list.iter() {
        if !out.contains(v) {
            out.push(v.clone());
        }
    }
    Ok(Value::List(Arc::new(out)))
}

/// The root context: CEL's standard functions, `distinct`, `org` and `now`.
pub fn context(org: &OrgValues, now: Timestamp) -> Context<'static> {
    let mut ctx = Context::default();
    ctx.add_function("distinct", distinct);
    ctx.add_variable_from_value("org", org.org.clone());
    ctx.add_variable_from_value("now", timestamp(now));
    ctx
}
