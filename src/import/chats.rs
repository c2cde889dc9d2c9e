//! `orgform import chats`: existing Telegram chats → config entries that
//! describe them as they are.
//!
//! Three steps. [`read`] asks the Bot API what it can tell about each chat
//! through the one reader, `telegram::read` (getChat,
//! getChatAdministrators, getChatMemberCount, getMyCommands, and
//! getChatMember for the members the store has seen) and takes topics and
//! invite links from the store, which is all the Bot API lets a bot know.
//! [`build`] turns that into config: settings, admins bound to existing
//! roles when the rights match exactly and to generated roles named by
//! their rights otherwise, members by handle, people stubs for users the
//! config does not know; merged with the config already in the output
//! directory, whose people, roles and chats are reused and never changed
//! without `force`. The CLI then writes the files the import owns.
//!
//! Imported chats are `membership: additive`: the Bot API cannot list a
//! chat's members, so an authoritative chat built from what the bot has
//! seen would remove everyone it has not. The report says how many members
//! each chat has that the bot cannot see.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::{ConfigDir, Format, ImportError, WriteOutcome, slug};
use crate::model::resolve::{role_permissions, role_rights, role_rights_named};
use crate::spec::{
    AdminBinding, AllKeyword, ChatSpec, CommandSpec, Config, InviteLinkSpec, Org, Person,
    PersonStatus, PinnedSpec, RestrictionBinding, RightsSpec, Role, Selector, SelectorRule,
    TagBinding, TelegramSettings, TopicSpec,
};
use crate::state::{
    AdminSeat, BotIdentity, ChatId, ChatSettings, ChatType, Command, MemberState, MembershipMode,
    Permission, Permissions, Right, UserId,
};
use crate::state::{InviteLink, Topic};
use crate::store::Store;
use crate::telegram::read::ReadError;
use crate::telegram::{self, Client, wire};

/// A Telegram user as an answer showed them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeenUser {
    pub id: UserId,
    pub first_name: String,
    pub last_name: Option<String>,
    pub username: Option<String>,
}

impl SeenUser {
    fn of(user: &wire::User) -> SeenUser {
        SeenUser {
            id: user.id,
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            username: user.username.clone(),
        }
    }

    pub fn full_name(&self) -> String {
        match &self.last_name {
            Some(last) if !last.is_empty() => format!("{} {last}", self.first_name),
            _ => self.first_name.clone(),
        }
    }
}

/// One chat as the bot can see it.
#[derive(Clone, Debug, PartialEq)]
pub struct ObservedChat {
    pub id: ChatId,
    pub kind: ChatType,
    pub settings: ChatSettings,
    /// Admins other than the bot, the owner included.
    pub admins: BTreeMap<UserId, AdminSeat>,
    /// Non-admins whose status is known (from the store, refreshed).
    pub members: BTreeMap<UserId, MemberState>,
    pub topics: BTreeMap<String, Topic>,
    pub invite_links: BTreeMap<String, InviteLink>,
    pub commands: Vec<Command>,
    /// getChatMemberCount: everyone, admins and the bot included.
    pub member_count: u64,
    /// The top pinned message, when the bot posted it.
    pub pinned: Option<String>,
    /// Member tags seen in getChatMember answers.
    pub tags: BTreeMap<UserId, String>,
}

impl ObservedChat {
    /// Members the Bot API cannot show: the count minus everyone known to be present and the bot.
    pub fn unseen(&self) -> u64 {
        let present = self
            .members
            .values()
            .filter(|m| matches!(m, MemberState::Member | MemberState::Restricted { .. }))
            .count();
        self.member_count
            .saturating_sub((self.admins.len() + present + 1) as u64)
    }
}

/// Everything read for an import.
#[derive(Clone, Debug, Default)]
pub struct Observed {
    pub bot: Option<BotIdentity>,
    pub chats: Vec<ObservedChat>,
    /// Chats that could not be read, with why.
    pub unreadable: Vec<(ChatId, String)>,
    pub users: BTreeMap<UserId, SeenUser>,
}

/// Read the chats through the one reader of Telegram (`telegram::read::
/// census`): settings, admins, everyone the store has seen (asked afresh),
/// commands, the member count; topics and invite links from the store,
/// which is all the Bot API lets a bot know. What was learned about members
/// goes into the store.
pub async fn read(
    client: &Client,
    store: &mut Store,
    ids: &[ChatId],
    now: i64,
) -> Result<Observed, ReadError> {
    let census = telegram::read::census(client, store, ids, now).await?;
    let users = census
        .profiles
        .values()
        .map(|u| (u.id, SeenUser::of(u)))
        .collect();
    Ok(observe(
        &census.live,
        census.live.bot.clone(),
        users,
        store,
        ids,
    ))
}

/// What an import reads from a census of `ids` (chats keyed by
/// `telegram::read::census_key`, however they were read), the people seen
/// with their names, and the store's topics and links.
pub fn observe(
    live: &crate::state::LiveState,
    bot: Option<BotIdentity>,
    users: BTreeMap<UserId, SeenUser>,
    store: &Store,
    ids: &[ChatId],
) -> Observed {
    let mut observed = Observed {
        bot,
        users,
        ..Default::default()
    };
    let unique: BTreeSet<ChatId> = ids.iter().copied().collect();
    for id in unique {
        let key = telegram::read::census_key(id);
        let meta = live.meta.get(&key).cloned().unwrap_or_default();
        if let Some(error) = meta.error {
            observed.unreadable.push((id, error));
            continue;
        }
        let Some(chat) = live.state.chats.get(&key) else {
            continue;
        };
        let memory = store.chat(id).cloned().unwrap_or_default();
        observed.chats.push(ObservedChat {
            id,
            kind: chat.kind,
            settings: chat.settings.clone(),
            admins: chat.admins.clone(),
            members: chat
                .members
                .iter()
                .filter(|(_, m)| **m != MemberState::Absent)
                .map(|(u, m)| (*u, m.clone()))
                .collect(),
            topics: memory.topics.clone(),
            invite_links: memory
                .invite_links
                .iter()
                .filter(|(_, l)| !l.revoked)
                .map(|(k, l)| (k.clone(), l.clone()))
                .collect(),
            commands: chat.commands.clone().unwrap_or_default(),
            member_count: meta.member_count.unwrap_or_default(),
            pinned: chat
                .pinned
                .as_ref()
                .filter(|p| p.by_bot && !p.text.is_empty())
                .map(|p| p.text.clone()),
            tags: chat.tags.clone().unwrap_or_default(),
        });
    }
    observed.chats.sort_by_key(|c| c.id);
    observed.unreadable.sort();
    observed
}

/// How the written files are headed and where they go.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    pub format: Format,
    /// Where the chats were read: "the sandbox", "Telegram (https://…)".
    pub source: String,
    /// Written into `org.telegram.api_url` of a new org (not for the sandbox).
    pub api_url: Option<String>,
    /// Replace entries and rewrite files the import did not write.
    pub force: bool,
    /// Invite links expired by then are left out.
    pub now: i64,
}

/// What one chat became.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChatOutcome {
    Added,
    Unchanged,
    Replaced,
    /// Imported earlier, different now, and left as it is (a conflict).
    Kept,
    /// Declared in a file the import does not write (named); left as it is.
    Declared(String),
}

#[derive(Clone, Debug)]
pub struct ChatLine {
    pub key: String,
    pub id: ChatId,
    pub kind: ChatType,
    pub title: String,
    pub admins: usize,
    pub members: usize,
    pub member_count: u64,
    pub unseen: u64,
    pub outcome: ChatOutcome,
}

/// What an import did or would do.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub source: String,
    pub chats: Vec<ChatLine>,
    pub unreadable: Vec<(ChatId, String)>,
    pub people_added: Vec<String>,
    pub people_reused: usize,
    pub roles_added: Vec<String>,
    pub roles_reused: BTreeSet<String>,
    pub conflicts: Vec<String>,
    pub notes: Vec<String>,
    /// Files that must be rewritten but were not written by an import
    /// (without `force` nothing is written at all then).
    pub blocked: Vec<PathBuf>,
    pub files: Vec<(PathBuf, WriteOutcome)>,
}

/// The files to write and the report.
#[derive(Clone, Debug)]
pub struct Built {
    pub files: Vec<(PathBuf, String)>,
    pub report: Report,
}

/// Which file of the output directory each section goes to.
struct Targets {
    org: PathBuf,
    people: PathBuf,
    roles: PathBuf,
    chats: PathBuf,
}

/// Turn what was read into config, merged with the directory's config.
pub fn build(
    observed: &Observed,
    dir: &ConfigDir,
    options: &BuildOptions,
) -> Result<Built, ImportError> {
    let ext = options.format.extension();
    let targets = Targets {
        org: dir.dir.join(format!("org.{ext}")),
        people: dir.dir.join(format!("people.{ext}")),
        roles: dir.dir.join(format!("roles.{ext}")),
        chats: dir.dir.join(format!("chats.{ext}")),
    };
    let other = match options.format {
        Format::Yaml => "kdl",
        Format::Kdl => "yaml",
    };
    for name in ["people", "roles", "chats"] {
        if let Some(f) = dir.file(&dir.dir.join(format!("{name}.{other}")))
            && f.ours
        {
            return Err(ImportError::new(format!(
                "{} was written by an earlier import in the other format",
                f.path.display()
            ))
            .hint(format!("pass --format {other} to keep importing into it")));
        }
    }
    let start = |path: &PathBuf| dir.file(path).map(|f| f.config.clone()).unwrap_or_default();
    let mut b = Builder {
        observed,
        dir,
        options,
        work: merged(dir),
        out_org: start(&targets.org),
        out_people: start(&targets.people),
        out_roles: start(&targets.roles),
        out_chats: start(&targets.chats),
        by_id: BTreeMap::new(),
        report: Report {
            source: options.source.clone(),
            unreadable: observed.unreadable.clone(),
            ..Default::default()
        },
        reused_people: BTreeSet::new(),
        targets,
    };
    b.by_id = b
        .work
        .people
        .iter()
        .filter_map(|(h, p)| p.telegram_id.map(|id| (id, h.clone())))
        .collect();
    b.org();
    for chat in &observed.chats {
        b.chat(chat);
    }
    b.report.people_reused = b.reused_people.len();
    b.report.chats.sort_by(|x, y| x.key.cmp(&y.key));
    b.finish()
}

/// The sections of every file, merged (a valid directory has no key twice).
fn merged(dir: &ConfigDir) -> Config {
    let mut all = Config::default();
    for f in &dir.files {
        let c = &f.config;
        if all.org.is_none() {
            all.org = c.org.clone();
        }
        if all.policies.is_none() {
            all.policies = c.policies.clone();
        }
        all.people.extend(c.people.clone());
        all.departments.extend(c.departments.clone());
        all.roles.extend(c.roles.clone());
        all.templates.extend(c.templates.clone());
        all.chats.extend(c.chats.clone());
    }
    all
}

struct Builder<'a> {
    observed: &'a Observed,
    dir: &'a ConfigDir,
    options: &'a BuildOptions,
    /// The directory's config plus everything added so far.
    work: Config,
    out_org: Config,
    out_people: Config,
    out_roles: Config,
    out_chats: Config,
    by_id: BTreeMap<UserId, String>,
    report: Report,
    reused_people: BTreeSet<String>,
    targets: Targets,
}

impl Builder<'_> {
    fn org(&mut self) {
        let Some(bot) = &self.observed.bot else {
            return;
        };
        match &self.work.org {
            None => {
                let org = Org {
                    name: bot.username.clone(),
                    telegram: Some(TelegramSettings {
                        provider: None,
                        bot: Some(bot.username.clone()),
                        api_url: self.options.api_url.clone(),
                        alerts_chat: None,
                    }),
                };
                self.out_org.org = Some(org.clone());
                self.work.org = Some(org);
            }
            Some(org) => {
                let named = org.telegram.as_ref().and_then(|t| t.bot.as_deref());
                if let Some(named) = named
                    && !named
                        .trim_start_matches('@')
                        .eq_ignore_ascii_case(&bot.username)
                {
                    self.report.conflicts.push(format!(
                        "org.telegram.bot is @{named}, but the chats were read as @{}; plans with this config will refuse the token",
                        bot.username
                    ));
                }
            }
        }
    }

    /// The handle of a user: the config's, or a new stub's.
    fn handle(&mut self, uid: UserId) -> String {
        if let Some(h) = self.by_id.get(&uid) {
            let handle = h.clone();
            if !self.report.people_added.contains(&handle) {
                self.check_person(&handle, uid);
                self.reused_people.insert(handle.clone());
            }
            return handle;
        }
        let seen = self.observed.users.get(&uid);
        let base = seen
            .and_then(|u| u.username.as_deref().map(slug).filter(|s| !s.is_empty()))
            .or_else(|| seen.map(|u| slug(&u.full_name())).filter(|s| !s.is_empty()))
            .unwrap_or_else(|| format!("user-{uid}"));
        let handle = if self.work.people.contains_key(&base) {
            format!("{base}-{uid}")
        } else {
            base
        };
        let person = Person {
            telegram_id: Some(uid),
            name: seen.map(SeenUser::full_name).filter(|n| !n.is_empty()),
            username: seen.and_then(|u| u.username.clone()),
            ..Default::default()
        };
        self.out_people
            .people
            .insert(handle.clone(), person.clone());
        self.work.people.insert(handle.clone(), person);
        self.by_id.insert(uid, handle.clone());
        self.report.people_added.push(handle.clone());
        handle
    }

    /// A known person whose Telegram name or username differs from the config's.
    fn check_person(&mut self, handle: &str, uid: UserId) {
        if self.reused_people.contains(handle)
            || self.report.people_added.iter().any(|h| h == handle)
        {
            return;
        }
        let Some(seen) = self.observed.users.get(&uid) else {
            return;
        };
        let Some(person) = self.work.people.get(handle) else {
            return;
        };
        if person.username.is_none() || person.username == seen.username {
            return;
        }
        let in_ours = self.out_people.people.contains_key(handle)
            && self.dir.file(&self.targets.people).is_none_or(|f| f.ours);
        if self.options.force && in_ours {
            if let Some(p) = self.out_people.people.get_mut(handle) {
                p.username = seen.username.clone();
            }
            self.report.notes.push(format!(
                "person `{handle}`: username updated to {:?}",
                seen.username.as_deref().unwrap_or("")
            ));
        } else {
            self.report.conflicts.push(format!(
                "person `{handle}`: the config says username {:?}, Telegram shows {:?}; kept{}",
                person.username.as_deref().unwrap_or(""),
                seen.username.as_deref().unwrap_or(""),
                if in_ours {
                    " (--force takes Telegram's)"
                } else {
                    " (edit it by hand)"
                }
            ));
        }
    }

    /// The role (and title override) for an admin seat in a chat of `kind`.
    fn role_for(&mut self, seat: &AdminSeat, kind: ChatType) -> (String, Option<String>) {
        let mut rights = seat.rights.clone();
        if seat.owner {
            // The owner's rights are not editable; anonymity is theirs to choose.
            rights = Right::all_for(kind);
        }
        // Titles exist only in groups and supergroups.
        let title = if kind == ChatType::Channel {
            None
        } else {
            seat.title.clone()
        };
        let fits = |config: &Config, role: &str| -> bool {
            let Some(r) = role_rights(config, role) else {
                return false;
            };
            if !role_rights_named(config, role)
                .unwrap_or_default()
                .iter()
                .all(|r| r.valid_for(kind))
            {
                return false;
            }
            Right::seat_for(&r, kind) == rights
        };
        let candidates: Vec<String> = self
            .work
            .roles
            .keys()
            .filter(|k| fits(&self.work, k))
            .cloned()
            .collect();
        let role_title =
            |config: &Config, role: &str| config.roles.get(role).and_then(|r| r.title.clone());
        let chosen = candidates
            .iter()
            .find(|k| role_title(&self.work, k) == title)
            .map(|k| (k.clone(), None))
            .or_else(|| {
                if kind == ChatType::Channel {
                    candidates.first().map(|k| (k.clone(), None))
                } else {
                    None
                }
            })
            .or_else(|| {
                title
                    .as_ref()
                    .and_then(|t| candidates.first().map(|k| (k.clone(), Some(t.clone()))))
            });
        if let Some((key, t)) = chosen {
            if !self.report.roles_added.contains(&key) {
                self.report.roles_reused.insert(key.clone());
            }
            return (key, t);
        }
        // A new role, named by its rights.
        let (spec, name) = if rights == Right::all_for(kind) {
            (RightsSpec::All(AllKeyword::All), "admin-all".to_string())
        } else {
            let mut names: Vec<&str> = rights
                .iter()
                .filter(|r| **r != Right::ManageChat)
                .map(|r| r.name())
                .collect();
            if names.is_empty() {
                names.push(Right::ManageChat.name());
            }
            // manage_chat is implied by any other right (resolution adds it).
            let list: Vec<String> = names.iter().map(|s| s.to_string()).collect();
            let name = format!("admin-{}", names.join("-").replace('_', "-"));
            (RightsSpec::List(list), name)
        };
        let role = Role {
            rights: Some(spec),
            ..Default::default()
        };
        let mut key = name.clone();
        let mut n = 2;
        while self.work.roles.get(&key).is_some_and(|r| *r != role) {
            key = format!("{name}-{n}");
            n += 1;
        }
        if !self.work.roles.contains_key(&key) {
            self.out_roles.roles.insert(key.clone(), role.clone());
            self.work.roles.insert(key.clone(), role);
            self.report.roles_added.push(key.clone());
        }
        (key, title)
    }

    /// A restriction: an existing restriction role with exactly these permissions, or the list.
    fn restriction(&self, permissions: &Permissions) -> (Option<String>, Option<Vec<String>>) {
        let role = self
            .work
            .roles
            .keys()
            .find(|k| role_permissions(&self.work, k).as_ref() == Some(permissions));
        match role {
            Some(r) => (Some(r.clone()), None),
            None => (None, Some(permission_names(permissions))),
        }
    }

    fn chat(&mut self, chat: &ObservedChat) {
        let spec = self.spec(chat);
        let existing = self
            .work
            .chats
            .iter()
            .find(|(_, c)| c.id == Some(chat.id))
            .map(|(k, c)| (k.clone(), c.clone()));
        let (key, outcome) = match existing {
            Some((key, old)) if old == spec => (key, ChatOutcome::Unchanged),
            Some((key, _)) => {
                let declared_in = self
                    .dir
                    .declaring(|c| c.chats.contains_key(&key))
                    .map(|f| f.path.clone());
                let ours = declared_in.as_ref().is_none_or(|p| {
                    *p == self.targets.chats && self.dir.file(p).is_some_and(|f| f.ours)
                });
                if self.options.force && ours {
                    self.out_chats.chats.insert(key.clone(), spec.clone());
                    self.work.chats.insert(key.clone(), spec);
                    (key, ChatOutcome::Replaced)
                } else {
                    let place = declared_in
                        .map(|p| p.display().to_string())
                        .unwrap_or_default();
                    if ours {
                        self.report.conflicts.push(format!(
                            "chat `{key}` ({}) differs from Telegram; kept as the earlier import wrote it in {place} (--force replaces it)",
                            chat.id
                        ));
                        (key, ChatOutcome::Kept)
                    } else {
                        // Written by hand: the config is the source of truth; a plan shows how Telegram differs.
                        (key, ChatOutcome::Declared(place))
                    }
                }
            }
            None => {
                let title = chat.settings.title.clone().unwrap_or_default();
                let base = Some(slug(&title))
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| format!("chat{}", chat.id.unsigned_abs()));
                let key = if self.work.chats.contains_key(&base) {
                    format!("{base}-{}", chat.id.unsigned_abs())
                } else {
                    base
                };
                self.out_chats.chats.insert(key.clone(), spec.clone());
                self.work.chats.insert(key.clone(), spec);
                (key, ChatOutcome::Added)
            }
        };
        self.notes_for(&key, chat);
        let present = chat
            .members
            .values()
            .filter(|m| matches!(m, MemberState::Member | MemberState::Restricted { .. }))
            .count();
        self.report.chats.push(ChatLine {
            key,
            id: chat.id,
            kind: chat.kind,
            title: chat.settings.title.clone().unwrap_or_default(),
            admins: chat.admins.len(),
            members: present,
            member_count: chat.member_count,
            unseen: chat.unseen(),
            outcome,
        });
    }

    /// People the config already knows whose status keeps them from what Telegram shows.
    fn notes_for(&mut self, key: &str, chat: &ObservedChat) {
        let users: Vec<UserId> = chat
            .admins
            .keys()
            .chain(chat.members.keys())
            .copied()
            .collect();
        for uid in users {
            let Some(handle) = self.by_id.get(&uid) else {
                continue;
            };
            let Some(person) = self.work.people.get(handle) else {
                continue;
            };
            match person.status {
                PersonStatus::Active => {}
                PersonStatus::Offboarded => self.report.notes.push(format!(
                    "`{handle}` is offboarded in the config but is in `{key}`: a plan will remove them"
                )),
                PersonStatus::Suspended => self.report.notes.push(format!(
                    "`{handle}` is suspended in the config but is in `{key}`: a plan takes their declared access away"
                )),
            }
        }
    }

    fn spec(&mut self, chat: &ObservedChat) -> ChatSpec {
        let s = &chat.settings;
        let mut spec = ChatSpec {
            id: Some(chat.id),
            kind: Some(chat.kind),
            title: s.title.clone(),
            description: s.description.clone().filter(|d| !d.is_empty()),
            forum: s.forum.filter(|f| *f),
            permissions: s
                .permissions
                .as_ref()
                .filter(|_| chat.kind != ChatType::Channel)
                .map(permission_names),
            membership: Some(MembershipMode::Additive),
            slow_mode: s.slow_mode.filter(|v| *v > 0),
            protected_content: s.protected_content.filter(|v| *v),
            auto_delete: s.auto_delete.filter(|v| *v > 0),
            join_by_request: s.join_by_request.filter(|v| *v),
            ..Default::default()
        };
        // Admins, grouped by role and title.
        let mut bindings: BTreeMap<(String, Option<String>), BTreeSet<String>> = BTreeMap::new();
        for (&uid, seat) in &chat.admins {
            let handle = self.handle(uid);
            let (role, title) = self.role_for(seat, chat.kind);
            bindings.entry((role, title)).or_default().insert(handle);
        }
        if !bindings.is_empty() {
            spec.admins = Some(
                bindings
                    .into_iter()
                    .map(|((role, title), people)| AdminBinding {
                        role,
                        members: vec![people_selector(people)],
                        title,
                    })
                    .collect(),
            );
        }
        let mut members = BTreeSet::new();
        let mut restricted: BTreeMap<(Permissions, Option<i64>), BTreeSet<String>> =
            BTreeMap::new();
        let mut banned = BTreeSet::new();
        for (&uid, state) in &chat.members {
            match state {
                MemberState::Member => {
                    members.insert(self.handle(uid));
                }
                MemberState::Restricted { permissions, until } => {
                    let handle = self.handle(uid);
                    restricted
                        .entry((permissions.clone(), *until))
                        .or_default()
                        .insert(handle);
                }
                MemberState::Banned => {
                    banned.insert(self.handle(uid));
                }
                MemberState::Absent => {}
            }
        }
        if !members.is_empty() {
            spec.members = Some(vec![people_selector(members)]);
        }
        if !restricted.is_empty() {
            let mut list = Vec::new();
            for ((permissions, until), people) in restricted {
                let (role, names) = self.restriction(&permissions);
                list.push(RestrictionBinding {
                    role,
                    permissions: names,
                    members: vec![people_selector(people)],
                    until: until.map(crate::state::time::instant_text),
                });
            }
            spec.restricted = Some(list);
        }
        if !banned.is_empty() {
            spec.banned = Some(vec![people_selector(banned)]);
        }
        // Tags as seen, grouped; a chat where none was seen leaves tags unmanaged.
        let mut tags: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        for (&uid, tag) in &chat.tags {
            tags.entry(tag.as_str())
                .or_default()
                .insert(self.handle(uid));
        }
        if !tags.is_empty() {
            spec.tags = Some(
                tags.into_iter()
                    .map(|(tag, people)| TagBinding {
                        tag: tag.to_string(),
                        members: vec![people_selector(people)],
                    })
                    .collect(),
            );
        }
        spec.pinned = chat
            .pinned
            .clone()
            .map(|text| PinnedSpec { text, notify: None });
        if !chat.topics.is_empty() {
            spec.topics = Some(
                chat.topics
                    .iter()
                    .map(|(k, t)| {
                        (
                            k.clone(),
                            TopicSpec {
                                name: t.name.clone(),
                                icon_color: t.icon_color,
                                closed: t.closed.then_some(true),
                            },
                        )
                    })
                    .collect(),
            );
        }
        let links: BTreeMap<String, InviteLinkSpec> = chat
            .invite_links
            .iter()
            .filter(|(_, l)| l.expires.is_none_or(|e| e > self.options.now))
            .map(|(k, l)| {
                let spec = InviteLinkSpec {
                    name: Some(l.name.clone()).filter(|n| n != k),
                    expires: l.expires.map(crate::state::time::instant_text),
                    member_limit: l.member_limit,
                    join_request: l.join_request.then_some(true),
                };
                (k.clone(), spec)
            })
            .collect();
        if !links.is_empty() {
            spec.invite_links = Some(links);
        }
        if !chat.commands.is_empty() {
            spec.commands = Some(
                chat.commands
                    .iter()
                    .map(|c| CommandSpec {
                        command: c.command.clone(),
                        description: c.description.clone(),
                    })
                    .collect(),
            );
        }
        spec
    }

    fn finish(mut self) -> Result<Built, ImportError> {
        let source = self.options.source.clone();
        let header = vec![
            format!("{} chats` from {source}.", super::HEADER_MARK),
            "Re-running the import keeps what is here and adds what is new; edit freely."
                .to_string(),
        ];
        let wanted = [
            (self.targets.org.clone(), self.out_org.clone()),
            (self.targets.people.clone(), self.out_people.clone()),
            (self.targets.roles.clone(), self.out_roles.clone()),
            (self.targets.chats.clone(), self.out_chats.clone()),
        ];
        let mut files = Vec::new();
        for (path, config) in wanted {
            let existing = self.dir.file(&path);
            let unchanged = existing.is_some_and(|f| f.config == config);
            if unchanged || (existing.is_none() && config == Config::default()) {
                if let Some(f) = existing
                    && f.ours
                {
                    // Rendered again, so a file the user reformatted by hand comes back to the stable form.
                    let text = super::render(&config, self.options.format, &header)?;
                    files.push((path, text));
                }
                continue;
            }
            if existing.is_some_and(|f| !f.ours) && !self.options.force {
                self.report.blocked.push(path.clone());
                continue;
            }
            files.push((
                path.clone(),
                super::render(&config, self.options.format, &header)?,
            ));
        }
        Ok(Built {
            files,
            report: self.report,
        })
    }
}

fn people_selector(people: BTreeSet<String>) -> Selector {
    let mut list: Vec<String> = people.into_iter().collect();
    if list.len() == 1 {
        return Selector::Rule(SelectorRule {
            person: list.pop(),
            ..Default::default()
        });
    }
    Selector::Rule(SelectorRule {
        people: Some(list),
        ..Default::default()
    })
}

/// Permission names as a config writes them: `[all]` for everything.
pub fn permission_names(permissions: &Permissions) -> Vec<String> {
    if *permissions == Permission::all() {
        return vec!["all".to_string()];
    }
    permissions.iter().map(|p| p.name().to_string()).collect()
}
