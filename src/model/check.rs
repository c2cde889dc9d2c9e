//! Checks of everything the JSON Schema cannot say: references between
//! sections, cycles, Telegram's length and character limits, right and
//! permission names, rights that do not exist for a chat type, ids.
//!
//! Every check runs on every item and adds to one [`Diagnostics`]; nothing
//! stops at the first problem. Spans come from the merged raw tree by JSON
//! Pointer, so each problem points at the key or value that causes it.

use std::collections::{BTreeMap, HashMap};

use crate::config::Span;
use crate::config::diagnostic::{Diagnostic, Diagnostics, codes, did_you_mean};
use crate::config::tree::{Node, escape_pointer_token as esc};
use crate::state::{ChatType, Permission, Right};

use super::time::parse_until;
use crate::spec::{ChatSpec, Config, RightsSpec, Selector, SelectorRule};

/// A config item only a bot can have, in an org without one
/// (`org.telegram.provider: user`).
pub const NEEDS_BOT: &str = "needs-bot";

/// Telegram's topic icon colours.
pub const TOPIC_COLORS: [u32; 6] = [7322096, 16766590, 13338331, 9367192, 16749490, 16478047];
/// Slow-mode delays Telegram accepts, in seconds.
pub const SLOW_MODE_VALUES: [u32; 8] = [0, 10, 30, 60, 300, 900, 1800, 3600];

pub struct Checker<'a> {
    pub root: &'a Node,
    pub config: &'a Config,
    pub out: Diagnostics,
}

impl<'a> Checker<'a> {
    pub fn new(root: &'a Node, config: &'a Config) -> Self {
        Checker {
            root,
            config,
            out: Diagnostics::default(),
        }
    }

    /// The span of the value at a pointer (or the deepest node reached).
    fn at(&self, ptr: &str) -> Span {
        self.root.pointer(ptr).0.span
    }

    /// The span of the key that leads to `ptr`, or the value's if none.
    fn key_at(&self, ptr: &str) -> Span {
        self.root.key_span(ptr).unwrap_or_else(|| self.at(ptr))
    }

    fn unknown(
        &mut self,
        code: &'static str,
        kind: &str,
        name: &str,
        ptr: &str,
        candidates: Vec<&str>,
    ) {
        let plural = if kind == "person" {
            "people".to_string()
        } else {
            format!("{kind}s")
        };
        let hint = did_you_mean(name, candidates.iter().copied())
            .or_else(|| {
                (candidates.is_empty()).then(|| format!("define it under `{plural}:` first"))
            })
            .unwrap_or_else(|| format!("known {plural}: {}", preview(&candidates)));
        self.out.push(
            Diagnostic::error(code, format!("unknown {kind} `{name}`"))
                .at(self.at(ptr), format!("no {kind} named `{name}`"))
                .hint(hint),
        );
    }

    fn length(&mut self, what: &str, value: &str, min: usize, max: usize, ptr: &str) {
        let n = value.chars().count();
        if n < min || n > max {
            let limit = if min == 0 {
                format!("at most {max}")
            } else {
                format!("{min} to {max}")
            };
            self.out.push(
                Diagnostic::error(
                    codes::LENGTH,
                    format!("{what} is {n} characters; Telegram allows {limit}"),
                )
                .at(self.at(ptr), format!("{n} characters"))
                .hint(if n > max {
                    format!("shorten it to {max} characters")
                } else {
                    "it may not be empty".into()
                }),
            );
        }
    }

    pub fn run(mut self) -> Diagnostics {
        self.people();
        self.departments();
        self.roles();
        for (key, spec) in &self.config.templates {
            self.chat_fields(&format!("/templates/{}", esc(key)), spec, true);
        }
        for (key, spec) in &self.config.chats {
            self.chat_fields(&format!("/chats/{}", esc(key)), spec, false);
        }
        self.template_cycles();
        self.effective_chats();
        self.policy_rules();
        self.rollout();
        self.watch_settings();
        self.folders();
        self.needs_bot();
        self.out
    }

    /// What only a bot can have, in an org without one
    /// (`org.telegram.provider: user`): bot commands.
    fn needs_bot(&mut self) {
        let config = self.config;
        let no_bot = config
            .org
            .as_ref()
            .and_then(|o| o.telegram.as_ref())
            .and_then(|t| t.provider)
            == Some(crate::state::ProviderChoice::User);
        if !no_bot {
            return;
        }
        let with_commands: Vec<String> = config
            .chats
            .iter()
            .map(|(k, c)| (format!("/chats/{}", esc(k)), c))
            .chain(
                config
                    .templates
                    .iter()
                    .map(|(k, c)| (format!("/templates/{}", esc(k)), c)),
            )
            .filter(|(_, c)| c.commands.is_some())
            .map(|(p, _)| format!("{p}/commands"))
            .collect();
        for ptr in with_commands {
            self.out.push(
                Diagnostic::error(NEEDS_BOT, "bot commands need a bot, and org.telegram.provider is user (no bot)")
                    .at(self.key_at(&ptr), "only a bot has commands")
                    .hint("remove `commands`, or set org.telegram.provider to both and give the bot's token"),
            );
        }
    }

    /// `folders:`: a title Telegram accepts, a known department, known
    /// chats, and at most as many chats as a shared folder may hold.
    fn folders(&mut self) {
        use crate::state::folders::{FOLDER_CHATS_MAX, FOLDER_TITLE_MAX};
        let config = self.config;
        let person = config
            .org
            .as_ref()
            .and_then(|o| o.telegram.as_ref())
            .and_then(|t| t.provider)
            .is_some_and(|p| p.has_user());
        if !person {
            let direct: Vec<String> = config
                .chats
                .iter()
                .map(|(k, c)| (format!("/chats/{}", esc(k)), c))
                .chain(
                    config
                        .templates
                        .iter()
                        .map(|(k, c)| (format!("/templates/{}", esc(k)), c)),
                )
                .filter(|(_, c)| c.add_members == Some(crate::spec::AddMembers::Direct))
                .map(|(p, _)| format!("{p}/add_members"))
                .collect();
            for ptr in direct {
                self.out.push(
                    Diagnostic::warning(codes::NEEDS_PERSON, "`add_members: direct` needs a signed-in person")
                        .at(self.at(&ptr), "the bot sends personal invite links instead")
                        .hint("set org.telegram.provider to both (or user) and sign in with `orgform login`"),
                );
            }
            if let Some((key, _)) = config.folders.iter().next() {
                self.out.push(
                    Diagnostic::warning(codes::NEEDS_PERSON, "chat folders need a signed-in person")
                        .at(self.key_at(&format!("/folders/{}", esc(key))), "not planned with the bot alone")
                        .hint("set org.telegram.provider to both (or user) and sign in with `orgform login`"),
                );
            }
        }
        for (key, spec) in &config.folders {
            let base = format!("/folders/{}", esc(key));
            self.length(
                &format!("the title of folder `{key}`"),
                &spec.title,
                1,
                FOLDER_TITLE_MAX,
                &format!("{base}/title"),
            );
            if let Some(d) = &spec.department
                && !config.departments.contains_key(d)
            {
                let candidates = config.departments.keys().map(String::as_str).collect();
                self.unknown(
                    codes::UNKNOWN_DEPARTMENT,
                    "department",
                    d,
                    &format!("{base}/department"),
                    candidates,
                );
            }
            if let Some(list) = &spec.chats {
                self.chat_selectors(list, &format!("{base}/chats"));
            }
            if spec.department.is_none() && spec.chats.is_none() {
                self.out.push(
                    Diagnostic::error(
                        codes::MISSING_FIELD,
                        format!("folder `{key}` selects no chats"),
                    )
                    .at(self.key_at(&base), "no `department` and no `chats`")
                    .hint("name a department (its chats) or give `chats:` selectors"),
                );
                continue;
            }
            let picked = config
                .chats
                .keys()
                .filter(|chat| {
                    super::folders::selects(
                        config,
                        spec.department.as_deref(),
                        spec.chats.as_deref(),
                        chat,
                    )
                })
                .count();
            if picked > FOLDER_CHATS_MAX {
                self.out.push(
                    Diagnostic::error(
                        codes::FOLDER_TOO_LARGE,
                        format!("folder `{key}` selects {picked} chats; a shared folder holds at most {FOLDER_CHATS_MAX}"),
                    )
                    .at(self.key_at(&base), format!("{picked} chats"))
                    .hint("split it into narrower folders (by sub-department or label)"),
                );
            } else if picked == 0
                && spec
                    .department
                    .as_ref()
                    .is_some_and(|d| config.departments.contains_key(d))
            {
                self.out.push(
                    Diagnostic::warning(
                        codes::FOLDER_EMPTY,
                        format!("folder `{key}` selects no chats"),
                    )
                    .at(self.key_at(&base), "no chat's members name the department")
                    .hint("a department's chats are those whose `members` name it (or a department above it)"),
                );
            }
        }
    }

    /// What `orgform watch` reads: the alerts chat must be a chat key (or
    /// an id), and a welcome's topic a topic of the chat.
    fn watch_settings(&mut self) {
        let config = self.config;
        if let Some(crate::spec::AlertsChat::Key(key)) = config
            .org
            .as_ref()
            .and_then(|o| o.telegram.as_ref())
            .and_then(|t| t.alerts_chat.as_ref())
            && !config.chats.contains_key(key)
        {
            let candidates = config.chats.keys().map(String::as_str).collect();
            self.unknown(
                codes::UNKNOWN_CHAT,
                "chat",
                key,
                "/org/telegram/alerts_chat",
                candidates,
            );
        }
        for (key, spec) in &config.chats {
            let eff = super::resolve::effective_chat(config, spec);
            let Some(topic) = eff.welcome.as_ref().and_then(|w| w.topic.as_deref()) else {
                continue;
            };
            let topics = eff.topics.clone().unwrap_or_default();
            if !topics.contains_key(topic) {
                let at = format!("{}/welcome/topic", eff.origin("welcome", key));
                let candidates = topics.keys().map(String::as_str).collect();
                self.unknown(codes::INVALID_VALUE, "topic", topic, &at, candidates);
            }
        }
    }

    /// Policy rules: unique names, expressions that parse and type-check
    /// (see `model::rules`), scopes and exceptions that name real things.
    fn policy_rules(&mut self) {
        let config = self.config;
        let Some(rules) = config.policies.as_ref().map(|p| &p.rules) else {
            return;
        };
        let mut names: HashMap<&str, usize> = HashMap::new();
        for (i, rule) in rules.iter().enumerate() {
            let base = format!("/policies/rules/{i}");
            if let Some(first) = names.insert(rule.name.as_str(), i) {
                self.out.push(
                    Diagnostic::error(
                        codes::DUPLICATE_NAME,
                        format!("two policy rules are named `{}`", rule.name),
                    )
                    .at(
                        self.at(&format!("{base}/name")),
                        "second rule with this name",
                    )
                    .also(
                        self.at(&format!("/policies/rules/{first}/name")),
                        "first defined here",
                    )
                    .hint("rule names appear in every violation and exception: make them unique"),
                );
            }
            if rule.name.trim().is_empty() {
                self.out.push(
                    Diagnostic::error(codes::INVALID_VALUE, "a policy rule needs a name")
                        .at(self.at(&format!("{base}/name")), "empty name")
                        .hint("name it after what it checks, e.g. `two-admins-two-departments`"),
                );
            }
            let subject = rule.subject.unwrap_or_default();
            for problem in super::rules::check(&rule.expr, subject) {
                let (code, what) = if problem.syntax {
                    (codes::RULE_SYNTAX, "syntax error")
                } else {
                    (codes::RULE_TYPE, "type error")
                };
                let place = problem
                    .at
                    .map(|(l, c)| format!(" (line {l}, column {c} of the expression)"))
                    .unwrap_or_default();
                self.out.push(
                    Diagnostic::error(
                        code,
                        format!(
                            "rule `{}`: {what} in expr: {}{place}",
                            rule.name, problem.message
                        ),
                    )
                    .at(
                        self.expr_span(&format!("{base}/expr"), &rule.expr, problem.at),
                        what,
                    )
                    .hint(format!(
                        "a `{}` rule sees {}; see docs/policies.md for every field",
                        subject_name(subject),
                        super::rules::variables(subject)
                            .iter()
                            .map(|(n, _)| *n)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                );
            }
            if let Some(scope) = &rule.scope {
                if let Some(chats) = &scope.chats {
                    self.chat_selectors(chats, &format!("{base}/scope/chats"));
                }
                if let Some(people) = &scope.people {
                    self.selectors(people, &format!("{base}/scope/people"));
                }
            }
            for (j, ex) in rule.exceptions.iter().enumerate() {
                let ep = format!("{base}/exceptions/{j}");
                if let Some(chat) = &ex.chat
                    && !config.chats.contains_key(chat)
                {
                    let candidates = config.chats.keys().map(String::as_str).collect();
                    self.unknown(
                        codes::UNKNOWN_CHAT,
                        "chat",
                        chat,
                        &format!("{ep}/chat"),
                        candidates,
                    );
                }
                if let Some(person) = &ex.person
                    && !config.people.contains_key(person)
                {
                    let candidates = config.people.keys().map(String::as_str).collect();
                    self.unknown(
                        codes::UNKNOWN_PERSON,
                        "person",
                        person,
                        &format!("{ep}/person"),
                        candidates,
                    );
                }
                if ex.chat.is_none() && ex.person.is_none() {
                    self.out.push(
                        Diagnostic::error(
                            codes::MISSING_FIELD,
                            format!("an exception to `{}` names neither a chat nor a person", rule.name),
                        )
                        .at(self.key_at(&ep), "exempts nothing in particular")
                        .hint("add `chat:` and/or `person:`; to switch a rule off, change its action to `audit`"),
                    );
                }
                self.until(&ex.until, &format!("{ep}/until"));
            }
        }
    }

    /// The span of an expression, narrowed to the character a syntax error
    /// names when the expression is one plain or quoted line (a block
    /// scalar keeps the whole value: its indentation is not in the string).
    fn expr_span(&self, ptr: &str, expr: &str, at: Option<(usize, usize)>) -> Span {
        let span = self.at(ptr);
        let Some((1, col)) = at else { return span };
        if expr.contains('\n') {
            return span;
        }
        let quote = if span.len == expr.len() {
            0
        } else if span.len == expr.len() + 2 {
            1
        } else {
            return span;
        };
        let byte = expr
            .char_indices()
            .nth(col.saturating_sub(1))
            .map_or(expr.len(), |(i, _)| i);
        Span::new(span.file, span.start + quote + byte, 1)
    }

    fn chat_selectors(&mut self, list: &[crate::spec::ChatSelector], ptr: &str) {
        let config = self.config;
        for (i, sel) in list.iter().enumerate() {
            let p = format!("{ptr}/{i}");
            let keys = sel.chat.iter().map(|c| (c, format!("{p}/chat"))).chain(
                sel.chats
                    .iter()
                    .flatten()
                    .enumerate()
                    .map(|(j, c)| (c, format!("{p}/chats/{j}"))),
            );
            for (key, at) in keys.collect::<Vec<_>>() {
                if !config.chats.contains_key(key) {
                    let candidates = config.chats.keys().map(String::as_str).collect();
                    self.unknown(codes::UNKNOWN_CHAT, "chat", key, &at, candidates);
                }
            }
            if let Some(t) = &sel.template
                && !config.templates.contains_key(t)
            {
                let candidates = config.templates.keys().map(String::as_str).collect();
                self.unknown(
                    codes::UNKNOWN_TEMPLATE,
                    "template",
                    t,
                    &format!("{p}/template"),
                    candidates,
                );
            }
            if sel.chat.is_none()
                && sel.chats.is_none()
                && sel.label.is_none()
                && sel.template.is_none()
                && sel.kind.is_none()
            {
                self.out.push(
                    Diagnostic::error(codes::MISSING_FIELD, "a chat selector selects nothing")
                        .at(self.at(&p), "empty selector")
                        .hint("use `chat`, `chats`, `label`, `template` or `type`"),
                );
            }
        }
    }

    /// Rollout stages: unique names, `current` names one, selectors valid.
    fn rollout(&mut self) {
        let Some(rollout) = &self.config.rollout else {
            return;
        };
        let mut names: HashMap<&str, usize> = HashMap::new();
        for (i, stage) in rollout.stages.iter().enumerate() {
            let base = format!("/rollout/stages/{i}");
            if let Some(first) = names.insert(stage.name.as_str(), i) {
                self.out.push(
                    Diagnostic::error(
                        codes::DUPLICATE_NAME,
                        format!("two rollout stages are named `{}`", stage.name),
                    )
                    .at(
                        self.at(&format!("{base}/name")),
                        "second stage with this name",
                    )
                    .also(
                        self.at(&format!("/rollout/stages/{first}/name")),
                        "first defined here",
                    )
                    .hint("stage names are what `--stage` takes: make them unique"),
                );
            }
            if let Some(chats) = &stage.chats {
                self.chat_selectors(chats, &format!("{base}/chats"));
            }
            if let Some(people) = &stage.people {
                self.selectors(people, &format!("{base}/people"));
            }
        }
        if let Some(current) = &rollout.current
            && !names.contains_key(current.as_str())
        {
            let candidates: Vec<&str> = rollout.stages.iter().map(|s| s.name.as_str()).collect();
            self.out.push(
                Diagnostic::error(
                    codes::UNKNOWN_STAGE,
                    format!("unknown rollout stage `{current}`"),
                )
                .at(self.at("/rollout/current"), "no stage with this name")
                .hint_opt(
                    did_you_mean(current, candidates.iter().copied())
                        .or_else(|| Some(format!("known stages: {}", preview(&candidates)))),
                ),
            );
        }
        if rollout.stages.is_empty() {
            self.out.push(
                Diagnostic::error(codes::MISSING_FIELD, "`rollout` has no stages")
                    .at(self.key_at("/rollout"), "no stages")
                    .hint("list stages from the pilot to everyone, e.g. pilot, departments, all"),
            );
        }
    }

    fn people(&mut self) {
        let config = self.config;
        let departments: Vec<&str> = config.departments.keys().map(String::as_str).collect();
        let roles: Vec<&str> = config.roles.keys().map(String::as_str).collect();
        let chats: Vec<&str> = config.chats.keys().map(String::as_str).collect();
        let mut ids: HashMap<i64, String> = HashMap::new();
        for (handle, person) in &config.people {
            let base = format!("/people/{}", esc(handle));
            match person.telegram_id {
                // A telegram_id that is there but of the wrong type was
                // already reported by the schema.
                None if self.root.pointer(&format!("{base}/telegram_id")).1 => {}
                None => self.out.push(
                    Diagnostic::error(codes::MISSING_TELEGRAM_ID, format!("person `{handle}` has no telegram_id"))
                        .at(self.key_at(&base), "no `telegram_id`")
                        .hint("add `telegram_id: <user id>`; a bot can only manage people by their numeric id (ask them to message @userinfobot)"),
                ),
                Some(id) if id <= 0 => self.out.push(
                    Diagnostic::error(codes::INVALID_VALUE, format!("telegram_id of `{handle}` must be a positive user id"))
                        .at(self.at(&format!("{base}/telegram_id")), "not a user id")
                        .hint("user ids are positive; negative ids belong to chats"),
                ),
                Some(id) => {
                    if let Some(first) = ids.get(&id) {
                        let first_ptr = format!("/people/{}/telegram_id", esc(first));
                        self.out.push(
                            Diagnostic::error(
                                codes::DUPLICATE_TELEGRAM_ID,
                                format!("`{handle}` and `{first}` have the same telegram_id {id}"),
                            )
                            .at(self.at(&format!("{base}/telegram_id")), "used again here")
                            .also(self.at(&first_ptr), "first used here")
                            .hint("each Telegram account belongs to one person"),
                        );
                    } else {
                        ids.insert(id, handle.clone());
                    }
                }
            }
            if let Some(dep) = &person.department
                && !config.departments.contains_key(dep)
            {
                self.unknown(
                    codes::UNKNOWN_DEPARTMENT,
                    "department",
                    dep,
                    &format!("{base}/department"),
                    departments.clone(),
                );
            }
            for (i, role) in person.roles.iter().enumerate() {
                if !config.roles.contains_key(role) {
                    self.unknown(
                        codes::UNKNOWN_ROLE,
                        "role",
                        role,
                        &format!("{base}/roles/{i}"),
                        roles.clone(),
                    );
                }
            }
            if let Some(username) = &person.username {
                let ok = (5..=32).contains(&username.len())
                    && username
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && !username.starts_with('@');
                if !ok {
                    self.out.push(
                        Diagnostic::error(
                            codes::INVALID_VALUE,
                            format!("`{username}` is not a Telegram username"),
                        )
                        .at(self.at(&format!("{base}/username")), "invalid username")
                        .hint("usernames are 5–32 characters of a–z, 0–9 and _, written without @"),
                    );
                }
            }
            // The bot's own account is never a person: orgform would send
            // it invite links, or plan it out of the chats it manages.
            let bot = config
                .org
                .as_ref()
                .and_then(|o| o.telegram.as_ref())
                .and_then(|t| t.bot.as_deref())
                .map(|b| b.trim_start_matches('@').to_ascii_lowercase());
            if let Some(username) = &person.username {
                let lower = username.to_ascii_lowercase();
                if bot.as_deref() == Some(lower.as_str()) {
                    self.out.push(
                        Diagnostic::error(
                            codes::BOT_AS_PERSON,
                            format!("person `{handle}` is the bot itself (@{username}, org.telegram.bot)"),
                        )
                        .at(self.at(&format!("{base}/username")), "the bot's username")
                        .hint("remove this person: orgform manages chats through the bot and keeps its own seat; it is never planned as a member"),
                    );
                } else if lower.ends_with("bot") {
                    self.out.push(
                        Diagnostic::warning(
                            codes::BOT_AS_PERSON,
                            format!("person `{handle}` has a bot's username (@{username}): only bots' usernames end in `bot`"),
                        )
                        .at(self.at(&format!("{base}/username")), "a bot's username")
                        .hint("a bot cannot join by invite link or be managed as a person; remove it, or fix the username"),
                    );
                }
            }
            for (g, grant) in person.grants.iter().enumerate() {
                let gp = format!("{base}/grants/{g}");
                if !config.roles.contains_key(&grant.role) {
                    self.unknown(
                        codes::UNKNOWN_ROLE,
                        "role",
                        &grant.role,
                        &format!("{gp}/role"),
                        roles.clone(),
                    );
                }
                for (c, chat) in grant.chats.iter().enumerate() {
                    if !config.chats.contains_key(chat) {
                        self.unknown(
                            codes::UNKNOWN_CHAT,
                            "chat",
                            chat,
                            &format!("{gp}/chats/{c}"),
                            chats.clone(),
                        );
                    }
                }
                if let Some(until) = &grant.until {
                    self.until(until, &format!("{gp}/until"));
                }
            }
        }
    }

    fn until(&mut self, value: &str, ptr: &str) {
        if parse_until(value).is_none() {
            self.out.push(
                Diagnostic::error(codes::INVALID_VALUE, format!("`{value}` is not a date or time"))
                    .at(self.at(ptr), "cannot read this date")
                    .hint("write a day as YYYY-MM-DD (valid through that day, UTC) or an instant as RFC 3339, e.g. 2026-12-31T18:00:00Z"),
            );
        }
    }

    fn departments(&mut self) {
        let config = self.config;
        let names: Vec<&str> = config.departments.keys().map(String::as_str).collect();
        let people: Vec<&str> = config.people.keys().map(String::as_str).collect();
        for (key, dep) in &config.departments {
            let base = format!("/departments/{}", esc(key));
            if let Some(parent) = &dep.parent
                && !config.departments.contains_key(parent)
            {
                self.unknown(
                    codes::UNKNOWN_DEPARTMENT,
                    "department",
                    parent,
                    &format!("{base}/parent"),
                    names.clone(),
                );
            }
            for (i, lead) in dep.leads.iter().enumerate() {
                if !config.people.contains_key(lead) {
                    self.unknown(
                        codes::UNKNOWN_PERSON,
                        "person",
                        lead,
                        &format!("{base}/leads/{i}"),
                        people.clone(),
                    );
                }
            }
        }
        // Cycles: follow parents; report each cycle once, at its smallest key.
        let mut reported: Vec<Vec<String>> = Vec::new();
        for start in config.departments.keys() {
            let mut path = vec![start.clone()];
            let mut cur = start;
            while let Some(parent) = config.departments.get(cur).and_then(|d| d.parent.as_ref()) {
                if let Some(pos) = path.iter().position(|p| p == parent) {
                    let mut cycle = path[pos..].to_vec();
                    cycle.sort();
                    if !reported.contains(&cycle) {
                        let mut d = Diagnostic::error(
                            codes::DEPARTMENT_CYCLE,
                            format!(
                                "departments form a cycle: {} → {}",
                                path[pos..].join(" → "),
                                parent
                            ),
                        )
                        .at(
                            self.at(&format!("/departments/{}/parent", esc(&cycle[0]))),
                            "this parent closes the cycle",
                        )
                        .hint("a department's parent chain must end at a top-level department");
                        for other in &cycle[1..] {
                            d = d.also(
                                self.at(&format!("/departments/{}/parent", esc(other))),
                                "part of the cycle",
                            );
                        }
                        self.out.push(d);
                        reported.push(cycle);
                    }
                    break;
                }
                if !config.departments.contains_key(parent) {
                    break;
                }
                path.push(parent.clone());
                cur = parent;
            }
        }
    }

    fn roles(&mut self) {
        let config = self.config;
        let names: Vec<&str> = config.roles.keys().map(String::as_str).collect();
        for (key, role) in &config.roles {
            let base = format!("/roles/{}", esc(key));
            if role.rights.is_some() && role.permissions.is_some() {
                self.out.push(
                    Diagnostic::error(codes::ROLE_KIND, format!("role `{key}` has both `rights` and `permissions`"))
                        .at(self.key_at(&format!("{base}/permissions")), "and `permissions`")
                        .also(self.key_at(&format!("{base}/rights")), "`rights` here")
                        .hint("a role is either an admin role (`rights`) or a member restriction (`permissions`); make two roles"),
                );
            }
            if role.rights.is_none() && role.permissions.is_none() && role.extends.is_none() {
                self.out.push(
                    Diagnostic::error(codes::ROLE_KIND, format!("role `{key}` has neither `rights` nor `permissions`"))
                        .at(self.key_at(&base), "empty role")
                        .hint("add `rights: [...]` for an admin role or `permissions: [...]` for a member restriction"),
                );
            }
            if let Some(RightsSpec::List(list)) = &role.rights {
                for (i, name) in list.iter().enumerate() {
                    if name.parse::<Right>().is_err() {
                        let ptr = format!("{base}/rights/{i}");
                        let all: Vec<&str> = Right::ALL.iter().map(|r| r.name()).collect();
                        let hint =
                            did_you_mean(name.trim_start_matches("can_"), all.iter().copied())
                                .unwrap_or_else(|| format!("admin rights: {}", all.join(", ")));
                        let hint = if name.starts_with("can_") && name[4..].parse::<Right>().is_ok()
                        {
                            format!("write it without the `can_` prefix: `{}`", &name[4..])
                        } else {
                            hint
                        };
                        self.out.push(
                            Diagnostic::error(
                                codes::UNKNOWN_RIGHT,
                                format!("unknown admin right `{name}`"),
                            )
                            .at(self.at(&ptr), "not an admin right")
                            .hint(hint),
                        );
                    }
                }
            }
            if let Some(perms) = &role.permissions {
                self.permission_names(perms, &format!("{base}/permissions"));
            }
            if let Some(title) = &role.title {
                self.admin_title(title, &format!("{base}/title"));
            }
            if let Some(parent) = &role.extends {
                if !config.roles.contains_key(parent) {
                    self.unknown(
                        codes::UNKNOWN_ROLE,
                        "role",
                        parent,
                        &format!("{base}/extends"),
                        names.clone(),
                    );
                } else {
                    let p = &config.roles[parent];
                    let mismatch = (role.rights.is_some() && p.permissions.is_some())
                        || (role.permissions.is_some() && p.rights.is_some());
                    if mismatch {
                        self.out.push(
                            Diagnostic::error(codes::ROLE_KIND, format!("role `{key}` extends `{parent}`, which is of the other kind"))
                                .at(self.at(&format!("{base}/extends")), "different kind of role")
                                .hint("admin roles extend admin roles; restriction roles extend restriction roles"),
                        );
                    }
                }
            }
        }
        self.extends_cycles(
            codes::ROLE_CYCLE,
            "roles",
            config
                .roles
                .iter()
                .map(|(k, r)| (k.clone(), r.extends.clone()))
                .collect(),
        );
    }

    fn template_cycles(&mut self) {
        let links = self
            .config
            .templates
            .iter()
            .map(|(k, t)| (k.clone(), t.extends.clone()))
            .collect();
        self.extends_cycles(codes::TEMPLATE_CYCLE, "templates", links);
    }

    fn extends_cycles(
        &mut self,
        code: &'static str,
        section: &str,
        links: BTreeMap<String, Option<String>>,
    ) {
        let mut reported: Vec<Vec<String>> = Vec::new();
        for start in links.keys() {
            let mut path = vec![start.clone()];
            let mut cur = start.clone();
            while let Some(Some(next)) = links.get(&cur) {
                if let Some(pos) = path.iter().position(|p| p == next) {
                    let mut cycle = path[pos..].to_vec();
                    cycle.sort();
                    if !reported.contains(&cycle) {
                        let mut d = Diagnostic::error(
                            code,
                            format!(
                                "{section} extend each other in a cycle: {} → {}",
                                path[pos..].join(" → "),
                                next
                            ),
                        )
                        .at(
                            self.at(&format!("/{section}/{}/extends", esc(&cycle[0]))),
                            "closes the cycle",
                        )
                        .hint("an `extends` chain must end at one that extends nothing");
                        for other in &cycle[1..] {
                            d = d.also(
                                self.at(&format!("/{section}/{}/extends", esc(other))),
                                "part of the cycle",
                            );
                        }
                        self.out.push(d);
                        reported.push(cycle);
                    }
                    break;
                }
                path.push(next.clone());
                cur = next.clone();
            }
        }
    }

    fn permission_names(&mut self, names: &[String], ptr: &str) {
        let all = Permission::config_names();
        for (i, name) in names.iter().enumerate() {
            if Permission::expand(name).is_none() {
                let hint = if name.starts_with("can_") && Permission::expand(&name[4..]).is_some() {
                    format!("write it without the `can_` prefix: `{}`", &name[4..])
                } else {
                    did_you_mean(name, all.iter().copied())
                        .unwrap_or_else(|| format!("permissions: {}", all.join(", ")))
                };
                self.out.push(
                    Diagnostic::error(
                        codes::UNKNOWN_PERMISSION,
                        format!("unknown member permission `{name}`"),
                    )
                    .at(self.at(&format!("{ptr}/{i}")), "not a permission")
                    .hint(hint),
                );
            }
        }
    }

    fn admin_title(&mut self, title: &str, ptr: &str) {
        self.length("an admin title", title, 0, 16, ptr);
        if title.chars().any(is_emoji) {
            self.out.push(
                Diagnostic::error(codes::INVALID_VALUE, "admin titles may not contain emoji")
                    .at(self.at(ptr), "emoji here")
                    .hint("Telegram rejects custom titles with emoji (CUSTOM_TITLE_INVALID)"),
            );
        }
    }

    fn selectors(&mut self, list: &[Selector], ptr: &str) {
        for (i, sel) in list.iter().enumerate() {
            let p = format!("{ptr}/{i}");
            if let Selector::Rule(rule) = sel {
                self.selector_rule(rule, &p);
            }
        }
    }

    fn selector_rule(&mut self, rule: &SelectorRule, ptr: &str) {
        let config = self.config;
        let keys: Vec<&str> = [
            rule.person.as_ref().map(|_| "person"),
            rule.people.as_ref().map(|_| "people"),
            rule.department.as_ref().map(|_| "department"),
            rule.role.as_ref().map(|_| "role"),
            rule.leads_of.as_ref().map(|_| "leads_of"),
            rule.label.as_ref().map(|_| "label"),
            rule.except.as_ref().map(|_| "except"),
        ]
        .into_iter()
        .flatten()
        .collect();
        if keys.len() != 1 {
            let msg = if keys.is_empty() {
                "a selector needs one of person, people, department, role, leads_of, label, except"
                    .to_string()
            } else {
                format!(
                    "a selector takes exactly one of its keys, found {}",
                    keys.join(", ")
                )
            };
            self.out.push(
                Diagnostic::error(codes::INVALID_VALUE, msg)
                    .at(self.at(ptr), "ambiguous selector")
                    .hint("write one selector per list item, e.g. `- {person: alice}` and `- {department: sales}`"),
            );
        }
        if rule.direct.is_some() && rule.department.is_none() {
            self.out.push(
                Diagnostic::error(codes::INVALID_VALUE, "`direct` only goes with `department`")
                    .at(self.key_at(&format!("{ptr}/direct")), "no department here"),
            );
        }
        // Candidate lists only when something is unknown: building them per
        // selector would be quadratic in a large org.
        let people = || {
            config
                .people
                .keys()
                .map(String::as_str)
                .collect::<Vec<&str>>()
        };
        let departments = || {
            config
                .departments
                .keys()
                .map(String::as_str)
                .collect::<Vec<&str>>()
        };
        let roles = || {
            config
                .roles
                .keys()
                .map(String::as_str)
                .collect::<Vec<&str>>()
        };
        if let Some(p) = &rule.person
            && !config.people.contains_key(p)
        {
            self.unknown(
                codes::UNKNOWN_PERSON,
                "person",
                p,
                &format!("{ptr}/person"),
                people(),
            );
        }
        for (i, p) in rule.people.iter().flatten().enumerate() {
            if !config.people.contains_key(p) {
                self.unknown(
                    codes::UNKNOWN_PERSON,
                    "person",
                    p,
                    &format!("{ptr}/people/{i}"),
                    people(),
                );
            }
        }
        for (key, value) in [
            ("department", &rule.department),
            ("leads_of", &rule.leads_of),
        ] {
            if let Some(d) = value
                && !config.departments.contains_key(d)
            {
                self.unknown(
                    codes::UNKNOWN_DEPARTMENT,
                    "department",
                    d,
                    &format!("{ptr}/{key}"),
                    departments(),
                );
            }
        }
        if let Some(r) = &rule.role
            && !config.roles.contains_key(r)
        {
            self.unknown(
                codes::UNKNOWN_ROLE,
                "role",
                r,
                &format!("{ptr}/role"),
                roles(),
            );
        }
        if let Some(except) = &rule.except {
            self.selectors(except, &format!("{ptr}/except"));
        }
    }

    /// Checks of one chat or template's own fields, where they are written.
    fn chat_fields(&mut self, base: &str, spec: &ChatSpec, is_template: bool) {
        let config = self.config;
        let roles: Vec<&str> = config.roles.keys().map(String::as_str).collect();
        let templates: Vec<&str> = config.templates.keys().map(String::as_str).collect();
        if is_template && spec.template.is_some() {
            self.out.push(
                Diagnostic::error(
                    codes::INVALID_VALUE,
                    "templates use `extends`, not `template`",
                )
                .at(
                    self.key_at(&format!("{base}/template")),
                    "use `extends` here",
                ),
            );
        }
        if !is_template && spec.extends.is_some() {
            self.out.push(
                Diagnostic::error(codes::INVALID_VALUE, "chats use `template`, not `extends`").at(
                    self.key_at(&format!("{base}/extends")),
                    "use `template` here",
                ),
            );
        }
        for (key, name) in [("template", &spec.template), ("extends", &spec.extends)] {
            if let Some(t) = name
                && !config.templates.contains_key(t)
            {
                self.unknown(
                    codes::UNKNOWN_TEMPLATE,
                    "template",
                    t,
                    &format!("{base}/{key}"),
                    templates.clone(),
                );
            }
        }
        if let Some(title) = &spec.title {
            self.length("a chat title", title, 1, 128, &format!("{base}/title"));
        }
        if let Some(d) = &spec.description {
            self.length(
                "a chat description",
                d,
                0,
                255,
                &format!("{base}/description"),
            );
        }
        if let Some(perms) = &spec.permissions {
            self.permission_names(perms, &format!("{base}/permissions"));
        }
        if let Some(members) = &spec.members {
            self.selectors(members, &format!("{base}/members"));
        }
        for (i, binding) in spec.tags.iter().flatten().enumerate() {
            let p = format!("{base}/tags/{i}");
            self.length("a member tag", &binding.tag, 1, 16, &format!("{p}/tag"));
            if binding.tag.chars().any(is_emoji) {
                self.out.push(
                    Diagnostic::error(codes::INVALID_VALUE, "member tags may not contain emoji")
                        .at(self.at(&format!("{p}/tag")), "has an emoji")
                        .hint("Telegram rejects tags with emoji (TAG_INVALID)"),
                );
            }
            self.selectors(&binding.members, &format!("{p}/members"));
        }
        if let Some(pinned) = &spec.pinned {
            self.length(
                "a pinned message",
                &pinned.text,
                1,
                4096,
                &format!("{base}/pinned/text"),
            );
            if pinned.text.trim().is_empty() && !pinned.text.is_empty() {
                self.out.push(
                    Diagnostic::error(
                        codes::INVALID_VALUE,
                        "a pinned message cannot be only white space",
                    )
                    .at(self.at(&format!("{base}/pinned/text")), "blank")
                    .hint("Telegram refuses empty messages (message text is empty)"),
                );
            }
        }
        if let Some(banned) = &spec.banned {
            self.selectors(banned, &format!("{base}/banned"));
        }
        for (i, binding) in spec.admins.iter().flatten().enumerate() {
            let p = format!("{base}/admins/{i}");
            match config.roles.get(&binding.role) {
                None => self.unknown(
                    codes::UNKNOWN_ROLE,
                    "role",
                    &binding.role,
                    &format!("{p}/role"),
                    roles.clone(),
                ),
                Some(_) if super::resolve::role_rights(config, &binding.role).is_none() => {
                    self.out.push(
                        Diagnostic::error(
                            codes::ROLE_KIND,
                            format!(
                                "`{}` is a member restriction, not an admin role",
                                binding.role
                            ),
                        )
                        .at(
                            self.at(&format!("{p}/role")),
                            "has `permissions`, not `rights`",
                        )
                        .hint("use it under `restricted:`, or give the role `rights`"),
                    )
                }
                Some(_) => {}
            }
            if let Some(title) = &binding.title {
                self.admin_title(title, &format!("{p}/title"));
            }
            self.selectors(&binding.members, &format!("{p}/members"));
        }
        for (i, binding) in spec.restricted.iter().flatten().enumerate() {
            let p = format!("{base}/restricted/{i}");
            match (&binding.role, &binding.permissions) {
                (Some(role), None) => match config.roles.get(role) {
                    None => self.unknown(
                        codes::UNKNOWN_ROLE,
                        "role",
                        role,
                        &format!("{p}/role"),
                        roles.clone(),
                    ),
                    Some(_) if super::resolve::role_permissions(config, role).is_none() => {
                        self.out.push(
                            Diagnostic::error(
                                codes::ROLE_KIND,
                                format!("`{role}` is an admin role, not a member restriction"),
                            )
                            .at(
                                self.at(&format!("{p}/role")),
                                "has `rights`, not `permissions`",
                            )
                            .hint("use it under `admins:`, or give the role `permissions`"),
                        )
                    }
                    Some(_) => {}
                },
                (None, Some(perms)) => self.permission_names(perms, &format!("{p}/permissions")),
                _ => self.out.push(
                    Diagnostic::error(
                        codes::INVALID_VALUE,
                        "a restriction needs exactly one of `role` or `permissions`",
                    )
                    .at(self.at(&p), "here")
                    .hint("e.g. `- {role: read-only, members: [{person: bob}]}`"),
                ),
            }
            if let Some(until) = &binding.until {
                self.until(until, &format!("{p}/until"));
            }
            self.selectors(&binding.members, &format!("{p}/members"));
        }
        for (key, topic) in spec.topics.iter().flatten() {
            let p = format!("{base}/topics/{}", esc(key));
            self.length("a topic name", &topic.name, 1, 128, &format!("{p}/name"));
            if let Some(color) = topic.icon_color
                && !TOPIC_COLORS.contains(&color)
            {
                self.out.push(
                    Diagnostic::error(codes::TOPIC_ICON, format!("{color} is not a topic icon colour Telegram offers"))
                        .at(self.at(&format!("{p}/icon_color")), "not one of the six colours")
                        .hint("use one of 7322096 (blue), 16766590 (yellow), 13338331 (violet), 9367192 (green), 16749490 (rose), 16478047 (red)"),
                );
            }
        }
        for (key, link) in spec.invite_links.iter().flatten() {
            let p = format!("{base}/invite_links/{}", esc(key));
            let name = link.name.clone().unwrap_or_else(|| key.clone());
            let name_ptr = if link.name.is_some() {
                format!("{p}/name")
            } else {
                p.clone()
            };
            self.length("an invite link name", &name, 0, 32, &name_ptr);
            if let Some(limit) = link.member_limit {
                if !(1..=99_999).contains(&limit) {
                    self.out.push(
                        Diagnostic::error(
                            codes::INVITE_LINK_OPTIONS,
                            format!("member_limit {limit} is out of range"),
                        )
                        .at(self.at(&format!("{p}/member_limit")), "1 to 99999")
                        .hint("Telegram allows 1 to 99999 members per link"),
                    );
                }
                if link.join_request == Some(true) {
                    self.out.push(
                        Diagnostic::error(
                            codes::INVITE_LINK_OPTIONS,
                            "an invite link cannot have both `member_limit` and `join_request`",
                        )
                        .at(self.key_at(&format!("{p}/member_limit")), "member_limit")
                        .also(self.key_at(&format!("{p}/join_request")), "join_request")
                        .hint("links that need approval cannot be limited; drop one of the two"),
                    );
                }
            }
            if let Some(exp) = &link.expires {
                self.until(exp, &format!("{p}/expires"));
            }
        }
        let mut seen_cmd: HashMap<&str, usize> = HashMap::new();
        for (i, cmd) in spec.commands.iter().flatten().enumerate() {
            let p = format!("{base}/commands/{i}");
            let ok = (1..=32).contains(&cmd.command.len())
                && cmd
                    .command
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !ok {
                self.out.push(
                    Diagnostic::error(codes::COMMAND_NAME, format!("`{}` is not a valid bot command", cmd.command))
                        .at(self.at(&format!("{p}/command")), "invalid command")
                        .hint("commands are 1–32 characters of lowercase a–z, 0–9 and _, without the leading /"),
                );
            }
            if let Some(first) = seen_cmd.insert(&cmd.command, i) {
                self.out.push(
                    Diagnostic::error(
                        codes::DUPLICATE_KEY,
                        format!("command `{}` is listed twice", cmd.command),
                    )
                    .at(self.at(&format!("{p}/command")), "again here")
                    .also(
                        self.at(&format!("{base}/commands/{first}/command")),
                        "first here",
                    ),
                );
            }
            self.length(
                "a command description",
                &cmd.description,
                1,
                256,
                &format!("{p}/description"),
            );
        }
        if let Some(delay) = spec.slow_mode
            && !SLOW_MODE_VALUES.contains(&delay)
        {
            self.out.push(
                Diagnostic::error(
                    codes::INVALID_VALUE,
                    format!("slow_mode {delay} is not a delay Telegram offers"),
                )
                .at(self.at(&format!("{base}/slow_mode")), "not offered")
                .hint("use 0, 10, 30, 60, 300, 900, 1800 or 3600 seconds"),
            );
        }
        if let Some(t) = spec.auto_delete
            && t != 0
            && !(86_400..=31_536_000).contains(&t)
        {
            self.out.push(
                Diagnostic::error(
                    codes::INVALID_VALUE,
                    format!("auto_delete {t} is not a timer Telegram offers"),
                )
                .at(self.at(&format!("{base}/auto_delete")), "out of range")
                .hint("use 0 (off) or 86400 (1 day) to 31536000 (1 year) seconds"),
            );
        }
    }

    /// Checks that need a chat's template chain merged in: id, type, rights
    /// for the chat type, topics only in forums.
    fn effective_chats(&mut self) {
        let config = self.config;
        let mut ids: HashMap<i64, String> = HashMap::new();
        for (key, spec) in &config.chats {
            let base = format!("/chats/{}", esc(key));
            let eff = super::resolve::effective_chat(config, spec);
            let written = |field: &str| {
                self.root
                    .pointer(&format!("{}/{field}", eff.origin(field, key)))
                    .1
            };
            let creates = config
                .org
                .as_ref()
                .and_then(|o| o.telegram.as_ref())
                .and_then(|t| t.provider)
                .is_some_and(|p| p.has_user());
            match eff.id {
                None if written("id") => {}
                // The user provider creates it (a supergroup, forum or
                // channel: basic groups are not created).
                None if creates && eff.kind != Some(ChatType::Group) => {}
                None => self.out.push(
                    Diagnostic::error(codes::MISSING_CHAT_ID, format!("chat `{key}` has no id"))
                        .at(self.key_at(&base), "no `id`")
                        .hint("add `id: -100…`: the Bot API cannot create chats, so orgform manages existing ones by id (forward a message from the chat to @userinfobot, or run `orgform import chats`)"),
                ),
                Some(id) => {
                    if id >= 0 {
                        self.out.push(
                            Diagnostic::error(codes::INVALID_CHAT_ID, format!("chat `{key}` has id {id}, which is not a group or channel id"))
                                .at(self.at(&format!("{base}/id")), "chat ids are negative")
                                .hint("supergroup and channel ids look like -1001234567890"),
                        );
                    } else if eff.kind.is_some_and(|k| k != ChatType::Group) && !id.to_string().starts_with("-100") {
                        self.out.push(
                            Diagnostic::error(codes::INVALID_CHAT_ID, format!("chat `{key}` is a {} but its id {id} does not start with -100", eff.kind.unwrap()))
                                .at(self.at(&format!("{base}/id")), "not a supergroup or channel id")
                                .hint("supergroup and channel ids start with -100; a basic group upgraded to a supergroup gets a new id"),
                        );
                    }
                    if let Some(first) = ids.get(&id) {
                        self.out.push(
                            Diagnostic::error(codes::DUPLICATE_CHAT_ID, format!("chats `{key}` and `{first}` have the same id {id}"))
                                .at(self.at(&format!("{base}/id")), "used again here")
                                .also(self.at(&format!("/chats/{}/id", esc(first))), "first used here")
                                .hint("each Telegram chat can be declared once"),
                        );
                    } else {
                        ids.insert(id, key.clone());
                    }
                }
            }
            let Some(kind) = eff.kind else {
                if written("type") {
                    continue;
                }
                self.out.push(
                    Diagnostic::error(codes::MISSING_FIELD, format!("chat `{key}` has no type"))
                        .at(self.key_at(&base), "no `type` here or in its template")
                        .hint("add `type: supergroup`, `type: channel` or `type: group`, or use a template that sets it"),
                );
                continue;
            };
            // Rights that do not exist for this chat type.
            for (i, binding) in eff.admins.iter().flatten().enumerate() {
                let Some(rights) = super::resolve::role_rights_named(config, &binding.role) else {
                    continue;
                };
                let bad: Vec<Right> = rights.into_iter().filter(|r| !r.valid_for(kind)).collect();
                if !bad.is_empty() {
                    let names: Vec<&str> = bad.iter().map(|r| r.name()).collect();
                    let origin = eff.origin("admins", key);
                    let mut d = Diagnostic::error(
                        codes::RIGHT_FOR_CHAT_TYPE,
                        format!("role `{}` grants {} which a {kind} does not have", binding.role, names.join(", ")),
                    )
                    .at(self.at(&format!("{origin}/admins/{i}/role")), format!("used in {kind} `{key}`"))
                    .hint(match kind {
                        ChatType::Channel => "pin_messages, manage_topics and manage_tags exist only in groups; use a channel role".to_string(),
                        _ => "post_messages, edit_messages and manage_direct_messages exist only in channels; use a role without them".to_string(),
                    });
                    if let Some(RightsSpec::List(list)) = config
                        .roles
                        .get(&binding.role)
                        .and_then(|r| r.rights.as_ref())
                        && let Some(pos) = list
                            .iter()
                            .position(|n| n.parse::<Right>().is_ok_and(|r| bad.contains(&r)))
                    {
                        d = d.also(
                            self.at(&format!("/roles/{}/rights/{pos}", esc(&binding.role))),
                            "granted here",
                        );
                    }
                    self.out.push(d);
                }
            }
            if kind == ChatType::Channel {
                for (field, present) in [
                    ("forum", eff.forum == Some(true)),
                    ("permissions", eff.permissions.is_some()),
                    ("slow_mode", eff.slow_mode.is_some()),
                    (
                        "restricted",
                        eff.restricted.as_ref().is_some_and(|r| !r.is_empty()),
                    ),
                    ("tags", eff.tags.is_some()),
                    // The Bot API refuses command scopes for channels.
                    ("commands", eff.commands.is_some()),
                ] {
                    if present {
                        let origin = eff.origin(field, key);
                        self.out.push(
                            Diagnostic::error(codes::FEATURE_FOR_CHAT_TYPE, format!("channel `{key}` cannot have `{field}`"))
                                .at(self.key_at(&format!("{origin}/{field}")), "only groups have this")
                                .hint("channels have no member permissions, forums, slow mode, member tags or bot commands"),
                        );
                    }
                }
            }
            if eff.topics.as_ref().is_some_and(|t| !t.is_empty()) && eff.forum != Some(true) {
                let origin = eff.origin("topics", key);
                self.out.push(
                    Diagnostic::error(codes::FEATURE_FOR_CHAT_TYPE, format!("chat `{key}` has topics but is not a forum"))
                        .at(self.key_at(&format!("{origin}/topics")), "topics need `forum: true`")
                        .hint("set `forum: true` (and turn topics on in Telegram: a bot cannot), or remove the topics"),
                );
            }
            if eff.forum == Some(true) && kind == ChatType::Group {
                let origin = eff.origin("forum", key);
                self.out.push(
                    Diagnostic::error(
                        codes::FEATURE_FOR_CHAT_TYPE,
                        format!("basic group `{key}` cannot be a forum"),
                    )
                    .at(
                        self.key_at(&format!("{origin}/forum")),
                        "forums are supergroups",
                    )
                    .hint("use `type: supergroup`"),
                );
            }
        }
    }
}

fn subject_name(s: crate::spec::PolicySubject) -> &'static str {
    use crate::spec::PolicySubject as S;
    match s {
        S::Chat => "chat",
        S::Person => "person",
        S::Seat => "seat",
        S::Grant => "grant",
    }
}

fn preview(names: &[&str]) -> String {
    let mut v: Vec<&str> = names.iter().take(8).copied().collect();
    if names.len() > 8 {
        v.push("…");
    }
    v.join(", ")
}

fn is_emoji(c: char) -> bool {
    matches!(c as u32, 0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0xFE0F | 0x200D | 0x2B00..=0x2BFF)
}
