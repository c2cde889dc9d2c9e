//! Resolution: the config and a point in time → the `DesiredState`, with a
//! why-trace for every membership, admin seat and restriction (of every
//! chat, or of the chats a caller shows: [`Traces`]).
//!
//! Resolution assumes `check` found no errors: unknown names are skipped
//! here rather than reported twice. `now` is an argument so results are
//! deterministic in tests.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;

use crate::state::{
    Address, AdminSeat, ChatSettings, ChatState, ChatType, Command, DesiredState, InviteLink,
    MemberState, OrgState, Permission, Permissions, PersonRef, Photo, PinnedMessage, Right, Rights,
    Topic, UserId,
};

use super::time::parse_until;
use crate::spec::{
    AdminBinding, ChatSpec, Config, PersonStatus, RightsSpec, Role, Selector, SelectorRule,
};

/// A chat with its template chain merged in, remembering where each field
/// was written (a pointer prefix: `/chats/eng` or `/templates/team-chat`).
pub struct EffectiveChat {
    pub spec: ChatSpec,
    origins: BTreeMap<&'static str, String>,
}

impl std::ops::Deref for EffectiveChat {
    type Target = ChatSpec;
    fn deref(&self) -> &ChatSpec {
        &self.spec
    }
}

impl EffectiveChat {
    /// Pointer prefix of the spec that wrote `field`.
    pub fn origin(&self, field: &str, chat_key: &str) -> String {
        self.origins.get(field).cloned().unwrap_or_else(|| {
            format!(
                "/chats/{}",
                crate::config::tree::escape_pointer_token(chat_key)
            )
        })
    }
}

/// Merge a chat with its templates: the chat's own fields win, then its
/// template's, then that template's `extends`, and so on. Lists replace;
/// topics, invite links and labels merge by key.
pub fn effective_chat(config: &Config, chat: &ChatSpec) -> EffectiveChat {
    let mut chain: Vec<(String, &ChatSpec)> = Vec::new();
    let mut next = chat.template.clone();
    while let Some(name) = next {
        if chain.iter().any(|(n, _)| *n == name) {
            break; // a cycle, reported by `check`
        }
        let Some(t) = config.templates.get(&name) else {
            break;
        };
        next = t.extends.clone();
        chain.push((name, t));
    }
    let mut eff = ChatSpec::default();
    let mut origins = BTreeMap::new();
    // Apply from the most general template to the chat itself.
    let layers = chain
        .iter()
        .rev()
        .map(|(n, s)| {
            (
                format!(
                    "/templates/{}",
                    crate::config::tree::escape_pointer_token(n)
                ),
                *s,
            )
        })
        .chain(std::iter::once((String::new(), chat)));
    for (origin, layer) in layers {
        macro_rules! take {
            ($($field:ident),*) => {$(
                if layer.$field.is_some() {
                    eff.$field = layer.$field.clone();
                    if !origin.is_empty() { origins.insert(stringify!($field), origin.clone()); } else { origins.remove(stringify!($field)); }
                }
            )*};
        }
        take!(
            id,
            kind,
            title,
            description,
            forum,
            photo,
            pinned,
            permissions,
            membership,
            members,
            add_members,
            admins,
            restricted,
            banned,
            tags,
            commands,
            slow_mode,
            protected_content,
            auto_delete,
            join_by_request,
            join_requests,
            welcome,
            join_to_send,
            hidden_members,
            history_for_new_members
        );
        macro_rules! merge_map {
            ($($field:ident),*) => {$(
                if let Some(map) = &layer.$field {
                    let into = eff.$field.get_or_insert_with(Default::default);
                    for (k, v) in map { into.insert(k.clone(), v.clone()); }
                    if !origin.is_empty() { origins.insert(stringify!($field), origin.clone()); } else { origins.remove(stringify!($field)); }
                }
            )*};
        }
        merge_map!(topics, invite_links, labels);
    }
    eff.template = chat.template.clone();
    EffectiveChat { spec: eff, origins }
}

/// A role and the roles it `extends`, nearest first. `None` when a role in
/// the chain is unknown; a cycle (reported by `check`) ends the chain.
fn role_chain<'c>(config: &'c Config, role: &str) -> Option<Vec<&'c Role>> {
    let mut seen = BTreeSet::new();
    let mut chain = Vec::new();
    let mut cur = Some(role);
    while let Some(name) = cur {
        if !seen.insert(name) {
            break;
        }
        let r = config.roles.get(name)?;
        chain.push(r);
        cur = r.extends.as_deref();
    }
    Some(chain)
}

/// Admin rights of a role (following `extends`), or `None` for a
/// restriction role. `all` is kept as the full set; it is narrowed per chat
/// type when a seat is resolved.
pub fn role_rights(config: &Config, role: &str) -> Option<Rights> {
    let chain = role_chain(config, role)?;
    if chain.iter().any(|r| r.permissions.is_some()) || chain.iter().all(|r| r.rights.is_none()) {
        return None;
    }
    let mut rights = Rights::new();
    for r in chain {
        match &r.rights {
            Some(RightsSpec::All(_)) => rights.extend(
                Right::ALL
                    .iter()
                    .copied()
                    .filter(|r| *r != Right::Anonymous),
            ),
            Some(RightsSpec::List(list)) => {
                rights.extend(list.iter().filter_map(|n| n.parse::<Right>().ok()))
            }
            None => {}
        }
    }
    Some(rights)
}

/// The rights a role names explicitly (not via `all`), for the check that
/// a role fits a chat type: `all` always fits, since it narrows per type.
pub fn role_rights_named(config: &Config, role: &str) -> Option<Rights> {
    let mut rights = Rights::new();
    for r in role_chain(config, role)? {
        if let Some(RightsSpec::List(list)) = &r.rights {
            rights.extend(list.iter().filter_map(|n| n.parse::<Right>().ok()));
        }
    }
    Some(rights)
}

/// Member permissions of a restriction role, or `None` for an admin role.
pub fn role_permissions(config: &Config, role: &str) -> Option<Permissions> {
    let chain = role_chain(config, role)?;
    if chain.iter().any(|r| r.rights.is_some()) || chain.iter().all(|r| r.permissions.is_none()) {
        return None;
    }
    Some(
        chain
            .iter()
            .filter_map(|r| r.permissions.as_deref())
            .flat_map(expand_permissions)
            .collect(),
    )
}

/// The nearest title along a role's `extends` chain.
pub fn role_title(config: &Config, role: &str) -> Option<String> {
    role_chain(config, role)?
        .iter()
        .find_map(|r| r.title.clone())
}

pub fn expand_permissions(names: &[String]) -> Permissions {
    names
        .iter()
        .filter_map(|n| Permission::expand(n))
        .flatten()
        .collect()
}

/// Resolution with indexes built once, so that a 10,000-person org with a
/// thousand chats resolves in linear time: every selector looks people up
/// by department, role or status instead of scanning everyone per chat.
/// The resolver's indexes are looked up once or more per membership: a
/// fast, fixed hash (the keys are the config's own names) instead of
/// SipHash, which was a twentieth of a load at 10,000 people.
type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;

pub(crate) struct Resolver<'a> {
    config: &'a Config,
    now: Timestamp,
    /// department → its children.
    children: FastMap<&'a str, Vec<&'a str>>,
    /// Active people with a telegram id (the only ones selectors match),
    /// with that id.
    active: FastMap<&'a str, UserId>,
    /// department → its active people (direct members only).
    by_department: FastMap<&'a str, Vec<&'a str>>,
    /// org-wide role → its active holders.
    by_role: FastMap<&'a str, Vec<&'a str>>,
    /// chat key → (handle, grant index) of active people with a grant there.
    grants: FastMap<&'a str, Vec<(&'a str, usize)>>,
    /// Offboarded people with a telegram id.
    offboarded: Vec<(&'a str, UserId)>,
    /// Whether `select` words its reasons (the chat being resolved is
    /// traced); without, the reasons are empty and cost nothing.
    reasons: std::cell::Cell<bool>,
}

/// Which chats get why-traces. Resolving is the same either way; the
/// traces are most of its allocations at 10,000 people, and a plan shows
/// them only for the chats it changes.
#[derive(Clone, Copy, Debug)]
pub enum Traces<'s> {
    All,
    Only(&'s BTreeSet<String>),
}

impl Traces<'_> {
    fn of(&self, key: &str) -> bool {
        match self {
            Traces::All => true,
            Traces::Only(keys) => keys.contains(key),
        }
    }
}

/// Where one chat's why-traces go; a chat that is not traced has none,
/// and the reasons are never worded.
struct Tracer<'w> {
    why: Option<&'w mut FastMap<String, Vec<String>>>,
}

impl Tracer<'_> {
    fn add(&mut self, entry: impl FnOnce() -> (String, String)) {
        if let Some(why) = &mut self.why {
            let (address, reason) = entry();
            let list = why.entry(address).or_default();
            if !list.contains(&reason) {
                list.push(reason);
            }
        }
    }
}

impl<'a> Resolver<'a> {
    pub fn new(config: &'a Config, now: Timestamp) -> Self {
        let mut children: FastMap<&str, Vec<&str>> = FastMap::default();
        for (key, d) in &config.departments {
            if let Some(p) = &d.parent {
                children.entry(p.as_str()).or_default().push(key.as_str());
            }
        }
        let mut r = Resolver {
            config,
            now,
            children,
            active: Default::default(),
            by_department: FastMap::default(),
            by_role: FastMap::default(),
            grants: FastMap::default(),
            offboarded: Vec::new(),
            reasons: std::cell::Cell::new(true),
        };
        for (handle, p) in &config.people {
            let Some(id) = p.telegram_id else { continue };
            match p.status {
                PersonStatus::Active => {}
                PersonStatus::Offboarded => {
                    r.offboarded.push((handle.as_str(), id));
                    continue;
                }
                PersonStatus::Suspended => continue,
            }
            r.active.insert(handle.as_str(), id);
            if let Some(d) = &p.department {
                r.by_department
                    .entry(d.as_str())
                    .or_default()
                    .push(handle.as_str());
            }
            for role in &p.roles {
                r.by_role
                    .entry(role.as_str())
                    .or_default()
                    .push(handle.as_str());
            }
            for (i, g) in p.grants.iter().enumerate() {
                for chat in &g.chats {
                    r.grants
                        .entry(chat.as_str())
                        .or_default()
                        .push((handle.as_str(), i));
                }
            }
        }
        r
    }

    fn active(&self, handle: &str) -> bool {
        self.active.contains_key(handle)
    }

    /// A department and all below it.
    fn subtree(&self, dep: &str) -> BTreeSet<&'a str> {
        let mut out = BTreeSet::new();
        let mut stack: Vec<&str> = self
            .config
            .departments
            .get_key_value(dep)
            .map(|(k, _)| k.as_str())
            .into_iter()
            .collect();
        while let Some(d) = stack.pop() {
            if out.insert(d) {
                stack.extend(self.children.get(d).into_iter().flatten().copied());
            }
        }
        out
    }

    /// Resolve a list of selectors: the union of its selectors minus those
    /// matched by `except` items. Returns handle → reason.
    pub fn select(&self, list: &'a [Selector]) -> BTreeMap<&'a str, String> {
        self.selected(list).into_iter().collect()
    }

    /// [`Resolver::select`] in no order: resolving a chat does not depend
    /// on the order people are selected in (each person once per list), and
    /// a hash map is cheaper than sorting 10,000 handles for `everyone`.
    fn selected(&self, list: &'a [Selector]) -> FastMap<&'a str, String> {
        let mut out: FastMap<&'a str, String> = FastMap::default();
        let mut excluded: FastMap<&'a str, String> = FastMap::default();
        for sel in list {
            match sel {
                Selector::Keyword(_) => {
                    out.reserve(self.active.len());
                    for handle in self.active.keys() {
                        out.entry(handle)
                            .or_insert_with(|| self.reason(&|| "everyone".into()));
                    }
                }
                Selector::Rule(rule) if rule.except.is_some() => {
                    excluded.extend(self.selected(rule.except.as_deref().unwrap_or_default()));
                }
                Selector::Rule(rule) => {
                    for (handle, why) in self.rule(rule) {
                        out.entry(handle).or_insert(why);
                    }
                }
            }
        }
        if !excluded.is_empty() {
            out.retain(|h, _| !excluded.contains_key(h));
        }
        out
    }

    fn rule(&self, rule: &'a SelectorRule) -> Vec<(&'a str, String)> {
        let config = self.config;
        let mut out = Vec::new();
        let mut push = |h: &'a str, why: &dyn Fn() -> String| {
            if self.active(h) {
                out.push((h, self.reason(why)));
            }
        };
        if let Some(p) = &rule.person {
            push(p, &|| format!("person {p}"));
        }
        for p in rule.people.iter().flatten() {
            push(p, &|| format!("people [{p}]"));
        }
        if let Some(dep) = &rule.department {
            let direct = rule.direct == Some(true);
            let deps = if direct {
                [dep.as_str()].into_iter().collect()
            } else {
                self.subtree(dep)
            };
            for d in deps {
                for h in self.by_department.get(d).into_iter().flatten() {
                    push(h, &|| {
                        if d == dep {
                            format!("department {dep}")
                        } else {
                            format!("department {dep} (via {d})")
                        }
                    });
                }
            }
        }
        if let Some(role) = &rule.role {
            for h in self.by_role.get(role.as_str()).into_iter().flatten() {
                push(h, &|| format!("role {role}"));
            }
        }
        if let Some(dep) = &rule.leads_of {
            for h in config
                .departments
                .get(dep)
                .map(|d| d.leads.as_slice())
                .unwrap_or_default()
            {
                push(h, &|| format!("leads_of {dep}"));
            }
        }
        if let Some(labels) = &rule.label {
            for (h, person) in &config.people {
                if labels.iter().all(|(k, v)| person.labels.get(k) == Some(v)) {
                    push(h, &|| {
                        let text: Vec<String> =
                            labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
                        format!("label {}", text.join(","))
                    });
                }
            }
        }
        out
    }

    /// A selector's reason, worded only when the chat is traced.
    fn reason(&self, why: &dyn Fn() -> String) -> String {
        if self.reasons.get() {
            why()
        } else {
            String::new()
        }
    }

    fn uid(&self, handle: &str) -> Option<UserId> {
        self.active.get(handle).copied()
    }

    fn unix(ts: Timestamp) -> i64 {
        ts.as_second()
    }

    /// Resolve the whole config.
    pub fn resolve(&self) -> DesiredState {
        self.resolve_only(None)
    }

    /// Resolve the people and the chats named in `only` (all when `None`);
    /// chat creations are listed only for chats resolved.
    pub fn resolve_only(&self, only: Option<&BTreeSet<String>>) -> DesiredState {
        self.resolve_traced(only, Traces::All)
    }

    /// Like [`Resolver::resolve_only`], with why-traces for the chats
    /// `traces` names only.
    pub fn resolve_traced(
        &self,
        only: Option<&BTreeSet<String>>,
        traces: Traces<'_>,
    ) -> DesiredState {
        let mut desired = self.resolve_chats(only, traces);
        for (handle, p) in &self.config.people {
            if let Some(id) = p.telegram_id {
                desired.people.insert(
                    id,
                    PersonRef {
                        handle: handle.clone(),
                        name: p.name.clone(),
                        username: p.username.clone(),
                        offboarded: p.status == PersonStatus::Offboarded,
                    },
                );
            }
        }
        desired
    }

    /// The why-traces of the chats named (by config key), alone.
    pub fn traces_of(&self, chats: &BTreeSet<String>) -> BTreeMap<String, Vec<String>> {
        self.resolve_chats(Some(chats), Traces::All).why
    }

    /// The chats (those in `only`, all when `None`), without the people.
    fn resolve_chats(&self, only: Option<&BTreeSet<String>>, traces: Traces<'_>) -> DesiredState {
        let config = self.config;
        let mut desired = DesiredState {
            bot: config
                .org
                .as_ref()
                .and_then(|o| o.telegram.as_ref())
                .and_then(|t| t.bot.clone()),
            provider: config
                .org
                .as_ref()
                .and_then(|o| o.telegram.as_ref())
                .and_then(|t| t.provider)
                .unwrap_or_default(),
            creations: Vec::new(),
            state: OrgState::default(),
            people: BTreeMap::new(),
            why: BTreeMap::new(),
        };
        // Why-traces are gathered per chat in a hash map and sorted once at
        // the end: inserting tens of thousands of long, shared-prefix
        // addresses into one BTreeMap as they come is a large share of the
        // time for a big org.
        let mut why: Vec<(String, Vec<String>)> = Vec::new();
        for (key, spec) in &config.chats {
            if only.is_some_and(|only| !only.contains(key)) {
                continue;
            }
            let eff = effective_chat(config, spec);
            let (Some(id), Some(kind)) = (eff.id, eff.kind) else {
                // Declared without an id: the user provider creates it.
                if let (None, Some(kind)) = (eff.id, eff.kind)
                    && kind != ChatType::Group
                    && desired.provider.has_user()
                {
                    desired.creations.push(crate::state::ChatCreation {
                        key: key.clone(),
                        kind,
                        title: eff.title.clone().unwrap_or_else(|| key.clone()),
                        description: eff.description.clone().unwrap_or_default(),
                        forum: eff.forum.unwrap_or(false) && kind == ChatType::Supergroup,
                    });
                }
                continue;
            };
            let mut chat_why = FastMap::default();
            let traced = traces.of(key);
            self.reasons.set(traced);
            let mut tracer = Tracer {
                why: traced.then_some(&mut chat_why),
            };
            let chat = self.chat(key, &eff, id, kind, &mut tracer);
            self.reasons.set(true);
            // Sorted per chat, the chats' traces come mostly in order (chat
            // keys in order), and the final sort merges a few long runs
            // instead of sorting tens of thousands of strings from scratch.
            let start = why.len();
            why.extend(chat_why);
            why[start..].sort_unstable_by(|a, b| a.0.cmp(&b.0));
            desired.state.chats.insert(key.clone(), chat);
        }
        desired.why = why.into_iter().collect();
        desired
    }

    fn chat(
        &self,
        key: &str,
        eff: &EffectiveChat,
        id: i64,
        kind: ChatType,
        trace: &mut Tracer<'_>,
    ) -> ChatState {
        let config = self.config;
        let mut chat = ChatState::new(id, kind);
        chat.membership = eff.membership.unwrap_or_default();
        chat.add_directly = eff.add_members == Some(crate::spec::AddMembers::Direct);
        chat.settings = ChatSettings {
            title: eff.title.clone(),
            description: eff.description.clone(),
            permissions: eff.permissions.as_ref().map(|p| expand_permissions(p)),
            // The hash is filled in by `photo::digest`, which reads the files.
            photo: eff.photo.as_ref().map(|p| Photo::file(p, String::new())),
            forum: eff.forum,
            slow_mode: eff.slow_mode,
            protected_content: eff.protected_content,
            auto_delete: eff.auto_delete,
            join_by_request: eff.join_by_request,
            join_to_send: eff.join_to_send,
            hidden_members: eff.hidden_members,
            history_for_new_members: eff.history_for_new_members,
        };
        // Admins from bindings.
        for binding in eff.admins.iter().flatten() {
            self.admin_binding(key, kind, binding, &mut chat, trace);
        }
        // Admins and restrictions from time-bound grants.
        for &(handle, index) in self.grants.get(key).into_iter().flatten() {
            {
                let grant = &config.people[handle].grants[index];
                let until = grant.until.as_deref().and_then(parse_until);
                if until.is_some_and(|u| u <= self.now) {
                    continue;
                }
                let Some(uid) = self.uid(handle) else {
                    continue;
                };
                let reason = || match (&grant.until, &grant.reason) {
                    (Some(u), Some(r)) => format!("grant {} until {u} ({r})", grant.role),
                    (Some(u), None) => format!("grant {} until {u}", grant.role),
                    (None, Some(r)) => format!("grant {} ({r})", grant.role),
                    (None, None) => format!("grant {}", grant.role),
                };
                if let Some(rights) = role_rights(config, &grant.role) {
                    let seat = chat.admins.entry(uid).or_default();
                    seat.rights.extend(Right::seat_for(&rights, kind));
                    if seat.title.is_none() {
                        seat.title = role_title(config, &grant.role);
                    }
                    trace.add(|| (Address::admin(key, handle).0, reason()));
                } else if let Some(perms) = role_permissions(config, &grant.role) {
                    chat.members.insert(
                        uid,
                        MemberState::Restricted {
                            permissions: perms,
                            until: until.map(Self::unix),
                        },
                    );
                    trace.add(|| (Address::member(key, handle).0, reason()));
                }
            }
        }
        // Plain members.
        if let Some(members) = &eff.members {
            for (handle, reason) in self.selected(members) {
                let Some(uid) = self.uid(handle) else {
                    continue;
                };
                if chat.admins.contains_key(&uid) {
                    continue;
                }
                chat.members.entry(uid).or_insert(MemberState::Member);
                trace.add(|| {
                    (
                        Address::member(key, handle).0,
                        format!("member via {reason}"),
                    )
                });
            }
        }
        // Restrictions.
        for binding in eff.restricted.iter().flatten() {
            let perms = match (&binding.role, &binding.permissions) {
                (Some(role), _) => role_permissions(config, role),
                (None, Some(list)) => Some(expand_permissions(list)),
                _ => None,
            };
            let Some(perms) = perms else { continue };
            let until = binding.until.as_deref().and_then(parse_until);
            if until.is_some_and(|u| u <= self.now) {
                continue;
            }
            let label = binding
                .role
                .clone()
                .map(|r| format!("role {r}"))
                .unwrap_or_else(|| "listed permissions".into());
            for (handle, reason) in self.selected(&binding.members) {
                let Some(uid) = self.uid(handle) else {
                    continue;
                };
                if chat.admins.contains_key(&uid) {
                    continue;
                }
                chat.members.insert(
                    uid,
                    MemberState::Restricted {
                        permissions: perms.clone(),
                        until: until.map(Self::unix),
                    },
                );
                trace.add(|| {
                    (
                        Address::member(key, handle).0,
                        format!("restricted by {label} via {reason}"),
                    )
                });
            }
        }
        // Bans.
        if let Some(banned) = &eff.banned {
            for (handle, reason) in self.selected(banned) {
                let Some(uid) = self.uid(handle) else {
                    continue;
                };
                chat.admins.remove(&uid);
                chat.members.insert(uid, MemberState::Banned);
                trace.add(|| {
                    (
                        Address::member(key, handle).0,
                        format!("banned via {reason}"),
                    )
                });
            }
        }
        // Offboarded people must be gone from every managed chat.
        for &(handle, uid) in &self.offboarded {
            if let std::collections::btree_map::Entry::Vacant(e) = chat.members.entry(uid) {
                e.insert(MemberState::Absent);
                trace.add(|| {
                    (
                        Address::member(key, handle).0,
                        "offboarded: removed from every managed chat".into(),
                    )
                });
            }
        }
        for (tkey, t) in eff.topics.iter().flatten() {
            chat.topics.insert(
                tkey.clone(),
                Topic {
                    name: t.name.clone(),
                    icon_color: t.icon_color,
                    closed: t.closed.unwrap_or(false),
                    thread_id: None,
                },
            );
        }
        for (lkey, l) in eff.invite_links.iter().flatten() {
            // A link past its expiry is gone in Telegram, and cannot be
            // created: like an expired grant, it drops out.
            let expires = l.expires.as_deref().and_then(parse_until);
            if expires.is_some_and(|e| e <= self.now) {
                continue;
            }
            chat.invite_links.insert(
                lkey.clone(),
                InviteLink {
                    name: l.name.clone().unwrap_or_else(|| lkey.clone()),
                    expires: l.expires.as_deref().and_then(parse_until).map(Self::unix),
                    member_limit: l.member_limit,
                    join_request: l.join_request.unwrap_or(false),
                    url: None,
                    revoked: false,
                },
            );
        }
        // Tags go to non-admins who stay in the chat; the first binding
        // that matches a person decides their tag.
        if let Some(bindings) = &eff.tags {
            let mut tags = BTreeMap::new();
            for binding in bindings {
                for (handle, reason) in self.selected(&binding.members) {
                    let Some(uid) = self.uid(handle) else {
                        continue;
                    };
                    if chat.admins.contains_key(&uid)
                        || matches!(
                            chat.members.get(&uid),
                            Some(MemberState::Banned | MemberState::Absent)
                        )
                        || tags.contains_key(&uid)
                    {
                        continue;
                    }
                    tags.insert(uid, binding.tag.clone());
                    trace.add(|| {
                        (
                            Address::tag(key, handle).0,
                            format!("tag \"{}\" via {reason}", binding.tag),
                        )
                    });
                }
            }
            chat.tags = Some(tags);
        }
        chat.pinned = eff.pinned.as_ref().map(|p| PinnedMessage {
            text: p.text.clone(),
            message_id: None,
            by_bot: false,
            notify: p.notify.unwrap_or(false),
        });
        chat.commands = eff.commands.as_ref().map(|cmds| {
            cmds.iter()
                .map(|c| Command {
                    command: c.command.clone(),
                    description: c.description.clone(),
                })
                .collect()
        });
        chat
    }

    fn admin_binding(
        &self,
        key: &str,
        kind: ChatType,
        binding: &AdminBinding,
        chat: &mut ChatState,
        trace: &mut Tracer<'_>,
    ) {
        let config = self.config;
        let Some(rights) = role_rights(config, &binding.role) else {
            return;
        };
        let title = binding
            .title
            .clone()
            .or_else(|| role_title(config, &binding.role));
        for (handle, reason) in self.selected(&binding.members) {
            let Some(uid) = self.uid(handle) else {
                continue;
            };
            let seat: &mut AdminSeat = chat.admins.entry(uid).or_default();
            seat.rights.extend(Right::seat_for(&rights, kind));
            if seat.title.is_none() {
                seat.title = title.clone();
            }
            trace.add(|| {
                (
                    Address::admin(key, handle).0,
                    format!("role {} via {reason}", binding.role),
                )
            });
        }
    }
}

/// Resolve a checked config at `now`.
pub fn resolve(config: &Config, now: Timestamp) -> DesiredState {
    Resolver::new(config, now).resolve()
}

/// Resolve a checked config at `now`, with why-traces for the chats
/// `traces` names only.
pub fn resolve_traced(config: &Config, now: Timestamp, traces: Traces<'_>) -> DesiredState {
    Resolver::new(config, now).resolve_traced(None, traces)
}

/// Resolve only the chats named (by config key), and every person, without
/// why-traces: what `plan --changed-since` compares when a change can touch
/// only those, to choose the chats to read (which chats changed does not
/// depend on why; the plan traces what it shows).
pub fn resolve_chats(config: &Config, now: Timestamp, only: &BTreeSet<String>) -> DesiredState {
    let none = BTreeSet::new();
    Resolver::new(config, now).resolve_traced(Some(only), Traces::Only(&none))
}
