//! `orgform state`: look at and repair what orgform remembers, as
//! Terraform users expect. `list`, `show ADDRESS`, `rm ADDRESS`,
//! `adopt topic|link`, `runs [RUN] [--assume done|not-done ADDRESS]`,
//! `abandon RUN`, `unlock [--force]`, `export`, `import FILE`,
//! `migrate --to URL`. Every command that writes takes the workspace lock
//! and prints what it changed.
//!
//! Addresses name one record: `CHAT_ID/topic/KEY`, `CHAT_ID/link/KEY`,
//! `CHAT_ID/invite/USER_ID`, `CHAT_ID/member/USER_ID`, and the chat's
//! scalars `CHAT_ID/photo`, `CHAT_ID/pinned`, `CHAT_ID/commands`, …;
//! a chat folder orgform keeps is `folder/KEY` (its config key).

use super::output::{out, outln};
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::connect::{self, Connection};
use super::error::{CliError, exit};
use crate::apply::provider::{self, Answer, Executed, Observed};
use crate::apply::{self, Event, Journal, RunStatus, journal};
use crate::store::{self, Holder, LockGuard, Shared, Store, records};

#[derive(Args, Debug)]
pub struct StateArgs {
    #[command(subcommand)]
    pub command: StateCommand,
    /// The state dir [env: ORGFORM_STATE_DIR; default: .orgform].
    #[arg(long, global = true)]
    pub state_dir: Option<PathBuf>,
    /// The state backend [env: ORGFORM_STATE; default: <state-dir>/orgform.db].
    #[arg(long, global = true, value_name = "URL")]
    pub state: Option<String>,
    /// The state `--sandbox` runs keep (<state-dir>/sandbox).
    #[arg(long, global = true)]
    pub sandbox: bool,
}

#[derive(Subcommand, Debug)]
pub enum StateCommand {
    /// List every record (topics, links, invites, members, chat scalars) and the update offset.
    List,
    /// Show one record as JSON.
    Show {
        #[arg(allow_hyphen_values = true)]
        address: String,
    },
    /// Forget one record (Telegram is not touched).
    Rm {
        #[arg(allow_hyphen_values = true)]
        address: String,
    },
    /// Record an object that exists in Telegram but that orgform does not know.
    Adopt {
        #[command(subcommand)]
        what: AdoptCommand,
    },
    /// List runs, or show one run's changes; `--assume` records how an uncertain change went.
    Runs {
        run: Option<String>,
        /// With RUN and an ADDRESS: what happened to a change whose outcome is unknown.
        #[arg(long, value_enum, requires = "address")]
        assume: Option<Assumed>,
        /// The change's address (as the run lists it).
        #[arg(requires = "assume", allow_hyphen_values = true)]
        address: Option<String>,
    },
    /// Give up an unfinished run: it blocks nothing any more and never runs again.
    Abandon { run: String },
    /// Show who holds the lock; remove it if that process crashed, or always with --force.
    Unlock {
        #[arg(long)]
        force: bool,
    },
    /// Print every record and run journal as JSON (a backup, or to move state).
    Export {
        /// Write to this file (0600) instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Replace the records with those in an export (or an old state.json); runs in it are added.
    Import { file: PathBuf },
    /// Copy everything into another backend (which must be empty), e.g. SQLite → PostgreSQL.
    Migrate {
        #[arg(long, value_name = "URL")]
        to: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum AdoptCommand {
    /// A forum topic: `adopt topic CHAT_ID KEY THREAD_ID [--name NAME]`.
    #[command(allow_negative_numbers = true)]
    Topic {
        chat: i64,
        key: String,
        thread_id: i64,
        /// The topic's name in Telegram [default: KEY].
        #[arg(long)]
        name: Option<String>,
    },
    /// A chat made for a config key that has no id yet (as orgform
    /// records the chats it creates): `adopt chat KEY CHAT_ID`.
    #[command(allow_negative_numbers = true)]
    Chat { key: String, chat: i64 },
    /// An invite link: `adopt link CHAT_ID KEY URL [--name NAME]`.
    #[command(allow_negative_numbers = true)]
    Link {
        chat: i64,
        key: String,
        url: String,
        /// The link's name in Telegram [default: KEY].
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Assumed {
    Done,
    NotDone,
}

/// The export format.
#[derive(Debug, Serialize, Deserialize)]
pub struct Export {
    pub orgform_state_export: u32,
    pub store: Store,
    #[serde(default)]
    pub runs: Vec<ExportedRun>,
    /// What `orgform watch` keeps beside the records (heartbeat, staleness,
    /// greetings, decisions, deliveries, revert counts; not its lease).
    /// Absent in exports from before watch, and then left alone on import.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watch_facts: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ExportedRun {
    pub run_id: String,
    pub command: String,
    pub started: String,
    pub status: Option<String>,
    pub events: Vec<Value>,
}

/// Runs that must be resumed, rolled back or abandoned first.
pub fn unfinished_runs(conn: &Connection) -> Result<Vec<String>, CliError> {
    unfinished_in(&conn.state)
}

/// Runs that started changing Telegram and never ended: nothing may run
/// on top of one until it is resumed, settled or abandoned.
pub fn unfinished_in(backend: &Shared) -> Result<Vec<String>, CliError> {
    Ok(backend
        .runs()
        .map_err(connect::state_error)?
        .into_iter()
        .filter(|r| r.status.is_none() && r.events > 0)
        .map(|r| r.run_id)
        .collect())
}

pub fn run(args: StateArgs) -> Result<u8, CliError> {
    let telegram = connect::TelegramArgs {
        sandbox: args.sandbox,
        api_url: None,
        token_file: None,
        state_dir: args.state_dir.clone(),
        state: args.state.clone(),
        parallel_chats: 1,
        requests_per_second: 0.0,
        max_requests_per_second: 200.0,
        fixed_pace: false,
    };
    let mut dir = connect::state_dir(&telegram)?;
    let flag = if args.sandbox {
        dir = dir.join("sandbox");
        Some(dir.join(store::sqlite::FILE_NAME).display().to_string())
    } else {
        args.state.clone()
    };
    let backend = connect::open_state(flag.as_deref(), &dir)?;
    let now = jiff::Timestamp::now();
    match args.command {
        StateCommand::List => list(&backend),
        StateCommand::Show { address } => show(&backend, &address),
        StateCommand::Rm { address } => {
            let _lock = lock(&backend, "state rm", now)?;
            rm(&backend, &address)
        }
        StateCommand::Adopt { what } => {
            let _lock = lock(&backend, "state adopt", now)?;
            adopt(&backend, what)
        }
        StateCommand::Runs {
            run: None,
            assume: None,
            ..
        } => runs(&backend),
        StateCommand::Runs {
            run: Some(run),
            assume: None,
            ..
        } => show_run(&backend, &run),
        StateCommand::Runs {
            run: Some(run),
            assume: Some(assumed),
            address: Some(address),
        } => {
            let _lock = lock(&backend, "state runs --assume", now)?;
            assume(&backend, &run, assumed, &address, now)
        }
        StateCommand::Runs { .. } => Err(CliError::with_hint(
            "--assume needs a run and an address",
            "orgform state runs RUN --assume done|not-done ADDRESS",
        )),
        StateCommand::Abandon { run } => {
            let _lock = lock(&backend, "state abandon", now)?;
            abandon(&backend, &run, now)
        }
        StateCommand::Unlock { force } => unlock(&backend, force),
        StateCommand::Export { out } => export(&backend, out.as_deref()),
        StateCommand::Import { file } => {
            let _lock = lock(&backend, "state import", now)?;
            import(&backend, &file)
        }
        StateCommand::Migrate { to } => {
            let _lock = lock(&backend, "state migrate", now)?;
            migrate(&backend, &dir, &to, now)
        }
    }
}

fn lock(backend: &Shared, command: &str, now: jiff::Timestamp) -> Result<LockGuard, CliError> {
    let guard =
        LockGuard::acquire(backend, Holder::me(command, now)).map_err(connect::lock_error)?;
    if let Some(previous) = &guard.took_over {
        eprintln!(
            "note: took over the lock of {}, which no longer runs",
            previous.describe()
        );
    }
    Ok(guard)
}

fn load(backend: &Shared) -> Result<Store, CliError> {
    backend.load().map_err(connect::state_error)
}

/// `KIND` as addresses spell it, from a row kind.
fn address_kind(kind: &str) -> &str {
    match kind {
        "topics" => "topic",
        "invite_links" => "link",
        "personal_invites" => "invite",
        "members" => "member",
        other => other,
    }
}

fn row_kind(kind: &str) -> &str {
    match kind {
        "topic" => "topics",
        "link" => "invite_links",
        "invite" => "personal_invites",
        "member" => "members",
        other => other,
    }
}

fn address(key: &records::RowKey) -> String {
    let (chat, kind, k) = key;
    if *chat == records::ORG_CHAT && kind == records::FOLDER_KIND {
        return format!("folder/{k}");
    }
    if kind == records::CHAT_KIND {
        format!("{chat}/{k}")
    } else {
        format!("{chat}/{}/{k}", address_kind(kind))
    }
}

fn parse_address(text: &str) -> Result<records::RowKey, CliError> {
    let bad = || {
        CliError::with_hint(
            format!("{text:?} is not a state address"),
            "addresses look like CHAT_ID/topic/KEY, CHAT_ID/link/KEY, CHAT_ID/invite/USER_ID, CHAT_ID/member/USER_ID, CHAT_ID/photo or folder/KEY; `orgform state list` shows them",
        )
    };
    if let Some(key) = text.strip_prefix("folder/").filter(|k| !k.is_empty()) {
        return Ok((
            records::ORG_CHAT,
            records::FOLDER_KIND.to_string(),
            key.to_string(),
        ));
    }
    let parts: Vec<&str> = text.split('/').collect();
    let chat: i64 = parts.first().and_then(|c| c.parse().ok()).ok_or_else(bad)?;
    match parts.as_slice() {
        [_, field] => Ok((chat, records::CHAT_KIND.to_string(), field.to_string())),
        [_, kind, key] => Ok((chat, row_kind(kind).to_string(), key.to_string())),
        _ => Err(bad()),
    }
}

fn list(backend: &Shared) -> Result<u8, CliError> {
    let store = load(backend)?;
    let rows = records::rows(&store);
    for (key, value) in &rows {
        let summary = match value {
            Value::Object(o) => o
                .iter()
                .filter(|(k, _)| {
                    [
                        "thread_id",
                        "filter_id",
                        "title",
                        "link",
                        "name",
                        "url",
                        "status",
                        "message_id",
                        "file_unique_id",
                    ]
                    .contains(&k.as_str())
                })
                .map(|(k, v)| {
                    // A member's status is an object tagged by its name.
                    let v = v.get("status").unwrap_or(v);
                    format!("{k}={}", plain(v))
                })
                .collect::<Vec<_>>()
                .join(" "),
            // A gone row's set of chats: thousands of ids on one line
            // help nobody; `state show` prints them all.
            Value::Array(items) if items.len() > 3 => format!(
                "{} chats: {}, …",
                items.len(),
                items[..3].iter().map(plain).collect::<Vec<_>>().join(", ")
            ),
            other => plain(other),
        };
        outln!("{}\t{summary}", address(key))?;
    }
    if let Some(o) = store.update_offset {
        outln!("update_offset\t{o}")?;
    }
    eprintln!("{} record(s) in {}", rows.len(), backend.describe());
    Ok(exit::OK)
}

fn show(backend: &Shared, text: &str) -> Result<u8, CliError> {
    let key = parse_address(text)?;
    let rows = records::rows(&load(backend)?);
    let value = rows.get(&key).ok_or_else(|| {
        CliError::with_hint(
            format!("no record {text}"),
            "`orgform state list` shows every record",
        )
    })?;
    outln!("{}", serde_json::to_string_pretty(value).expect("JSON"))?;
    Ok(exit::OK)
}

fn rm(backend: &Shared, text: &str) -> Result<u8, CliError> {
    let key = parse_address(text)?;
    let store = load(backend)?;
    // A member's record, also one folded into a `gone` row (a person
    // absent from most chats is kept as one row): taken out of the loaded
    // store, and the difference written, so the fold is redone without it.
    if key.1 == records::MEMBER_KIND
        && let Ok(user) = key.2.parse::<i64>()
        && store
            .chat(key.0)
            .is_some_and(|m| m.members.contains_key(&user))
    {
        let mut changed = store.clone();
        changed.chat_mut(key.0).members.remove(&user);
        backend
            .commit(&records::delta(&store, &changed))
            .map_err(connect::state_error)?;
        outln!("Removed {text} (Telegram was not touched; the next plan treats it as unknown).")?;
        return Ok(exit::OK);
    }
    if !records::rows(&store).contains_key(&key) {
        return Err(CliError::with_hint(
            format!("no record {text}"),
            "`orgform state list` shows every record",
        ));
    }
    let delta = records::Delta {
        deletes: vec![key],
        ..Default::default()
    };
    backend.commit(&delta).map_err(connect::state_error)?;
    outln!("Removed {text} (Telegram was not touched; the next plan treats it as unknown).")?;
    Ok(exit::OK)
}

fn adopt(backend: &Shared, what: AdoptCommand) -> Result<u8, CliError> {
    let base = load(backend)?;
    let mut store = base.clone();
    let (address, before) = match what {
        AdoptCommand::Topic {
            chat,
            key,
            thread_id,
            name,
        } => {
            let before = store.chat_mut(chat).topics.insert(
                key.clone(),
                crate::state::Topic {
                    thread_id: Some(thread_id),
                    name: name.unwrap_or_else(|| key.clone()),
                    icon_color: None,
                    closed: false,
                },
            );
            (
                format!("{chat}/topic/{key}"),
                before.and_then(|b| b.thread_id).map(|t| t.to_string()),
            )
        }
        AdoptCommand::Link {
            chat,
            key,
            url,
            name,
        } => {
            if !url.starts_with("https://t.me/") && !url.starts_with("http") {
                return Err(CliError::with_hint(
                    format!("{url:?} is not an invite link"),
                    "copy the link from the chat's Invite links screen (https://t.me/+…)",
                ));
            }
            let before = store.chat_mut(chat).invite_links.insert(
                key.clone(),
                crate::state::InviteLink {
                    url: Some(url),
                    name: name.unwrap_or_else(|| key.clone()),
                    expires: None,
                    member_limit: None,
                    join_request: false,
                    revoked: false,
                },
            );
            (format!("{chat}/link/{key}"), before.and_then(|b| b.url))
        }
        AdoptCommand::Chat { key, chat } => {
            if chat >= 0 {
                return Err(CliError::with_hint(
                    format!("{chat} is not a group or channel id"),
                    "a supergroup's or channel's id starts with -100",
                ));
            }
            let before = store.created_chats().get(&key).copied();
            if let Some(old) = before.filter(|old| *old != chat) {
                store.chat_mut(old).created_for = None;
            }
            store.chat_mut(chat).created_for = Some(key.clone());
            (format!("{chat}/created_for"), before.map(|b| b.to_string()))
        }
    };
    backend
        .commit(&records::delta(&base, &store))
        .map_err(connect::state_error)?;
    match before {
        Some(old) => outln!("Adopted {address} (it was {old}).")?,
        None => outln!("Adopted {address}.")?,
    }
    Ok(exit::OK)
}

fn runs(backend: &Shared) -> Result<u8, CliError> {
    let runs = backend.runs().map_err(connect::state_error)?;
    if runs.is_empty() {
        outln!("No runs.")?;
        return Ok(exit::OK);
    }
    for r in runs {
        outln!(
            "{}\t{}\t{}\t{}\t{} events",
            r.run_id,
            r.command,
            r.started,
            r.status.as_deref().unwrap_or("UNFINISHED"),
            r.events
        )?;
    }
    Ok(exit::OK)
}

fn read_run(backend: &Shared, run: &str) -> Result<(Vec<Event>, apply::JournalState), CliError> {
    let (events, warnings) = journal::read_in(backend, run).map_err(super::apply::run_error)?;
    for w in warnings {
        eprintln!("{w}");
    }
    let state = apply::replay(&events);
    if state.plan.is_none() {
        return Err(CliError::user(format!(
            "run {run} has no plan in its journal"
        )));
    }
    Ok((events, state))
}

fn show_run(backend: &Shared, run: &str) -> Result<u8, CliError> {
    let (_, state) = read_run(backend, run)?;
    let plan = state.plan.as_ref().expect("checked");
    let done: std::collections::BTreeSet<usize> = state.done.iter().map(|(i, _)| *i).collect();
    outln!(
        "Run {run}: {}",
        match state.finished {
            Some(s) if state.in_flight.is_empty() => s.as_str(),
            _ => "UNFINISHED",
        }
    )?;
    for (i, c) in plan.changes.iter().enumerate() {
        if c.action == crate::plan::Action::Manual {
            continue;
        }
        let what = if state.in_flight.contains(&i) {
            "UNCERTAIN"
        } else if done.contains(&i) {
            "done"
        } else if state.observed.contains_key(&i) && !state.not_done.contains(&i) {
            "undone"
        } else if state.not_done.contains(&i) {
            "not done"
        } else {
            "not run"
        };
        outln!("  {what:<9} {} {}", c.action.symbol(), c.address)?;
    }
    if !state.in_flight.is_empty() {
        outln!("\nUncertain changes (the call was sent, the answer was lost):")?;
        for &i in &state.in_flight {
            outln!("  {}", apply::uncertain::question(&plan.changes[i], i))?;
        }
        outln!("Record each with `orgform state runs {run} --assume done|not-done ADDRESS`.")?;
    }
    Ok(exit::OK)
}

fn assume(
    backend: &Shared,
    run: &str,
    assumed: Assumed,
    address: &str,
    now: jiff::Timestamp,
) -> Result<u8, CliError> {
    let (_, state) = read_run(backend, run)?;
    let plan = state.plan.as_ref().expect("checked");
    let Some(index) = state
        .in_flight
        .iter()
        .copied()
        .find(|&i| plan.changes[i].address.to_string() == address)
    else {
        let uncertain: Vec<String> = state
            .in_flight
            .iter()
            .map(|&i| plan.changes[i].address.to_string())
            .collect();
        return Err(CliError::with_hint(
            format!("{address} is not an uncertain change of run {run}"),
            if uncertain.is_empty() {
                "the run has no uncertain changes".to_string()
            } else {
                format!("its uncertain changes: {}", uncertain.join(", "))
            },
        ));
    };
    let change = &plan.changes[index];
    let before = state
        .observed
        .get(&index)
        .cloned()
        .unwrap_or(Observed::Nothing);
    let mut journal = Journal::reopen_in(backend, run).map_err(super::apply::run_error)?;
    let event = match assumed {
        Assumed::NotDone => Event::Assume {
            index,
            done: false,
            by: format!("the operator, {now}"),
            inverse: None,
            executed: None,
        },
        Assumed::Done => {
            let store = load(backend)?;
            let executed = executed_from_store(&store, change)?;
            let inverse = provider::inverse(change, &before, &executed);
            Event::Assume {
                index,
                done: true,
                by: format!("the operator, {now}"),
                inverse: Some(inverse),
                executed: Some(executed),
            }
        }
    };
    journal
        .write(&event)
        .map_err(|e| CliError::caused(e.to_string(), e))?;
    outln!(
        "Recorded: {address} {} (run {run}).",
        match assumed {
            Assumed::Done => "happened",
            Assumed::NotDone => "did not happen",
        }
    )?;
    Ok(exit::OK)
}

/// What a change the operator says happened did, from what the store knows
/// (a topic or link must be adopted first: its id is needed to undo or
/// manage it).
fn executed_from_store(store: &Store, change: &crate::plan::Change) -> Result<Executed, CliError> {
    use crate::plan::Op;
    let memory = store.chat(change.chat_id).cloned().unwrap_or_default();
    let adopt_first = |what: &str, cmd: String| {
        CliError::with_hint(
            format!("orgform does not know the {what} of {}", change.address),
            format!("record it first with `{cmd}`, then assume it done"),
        )
    };
    let answer = match &change.op {
        // The new chat's id: without it the next plan would create it again.
        Op::CreateChat { .. } => match store.created_chats().get(&change.chat) {
            Some(id) => Answer::Chat { id: *id },
            None => {
                return Err(adopt_first(
                    "id",
                    format!("orgform state adopt chat {} CHAT_ID", change.chat),
                ));
            }
        },
        Op::CreateTopic { key, topic } => {
            let (t, thread_id) = memory
                .topics
                .get(key)
                .and_then(|t| Some((t, t.thread_id?)))
                .ok_or_else(|| {
                    adopt_first(
                        "thread id",
                        format!(
                            "orgform state adopt topic {} {key} THREAD_ID",
                            change.chat_id
                        ),
                    )
                })?;
            // The change asked for the colour; a topic keeps the one it
            // was created with.
            Answer::Topic {
                thread_id,
                name: topic.name.clone(),
                icon_color: topic.icon_color.or(t.icon_color),
            }
        }
        Op::CreateInviteLink { key, link } => {
            let url = memory
                .invite_links
                .get(key)
                .and_then(|l| l.url.clone())
                .ok_or_else(|| {
                    adopt_first(
                        "URL",
                        format!("orgform state adopt link {} {key} URL", change.chat_id),
                    )
                })?;
            Answer::InviteLink {
                url,
                name: link.name.clone(),
                expires: link.expires,
                member_limit: link.member_limit,
                join_request: link.join_request,
            }
        }
        Op::SendInvite { user, expires, .. } => match memory
            .personal_invites
            .get(user)
            .and_then(|l| l.url.clone())
        {
            Some(url) => Answer::PersonalInvite {
                url,
                expires: *expires,
                delivered: true,
                not_delivered_because: None,
            },
            None => {
                return Err(CliError::with_hint(
                    format!(
                        "orgform does not know the link of {}, so it could never revoke it",
                        change.address
                    ),
                    "revoke the link by hand in Telegram and assume `not-done` instead: a fresh invite is then sent",
                ));
            }
        },
        Op::Pin { text, .. } => match &memory.pinned {
            Some(p) if p.text == *text => Answer::Pinned {
                message_id: p.message_id,
                text: text.clone(),
                posted: true,
            },
            _ => Answer::Done,
        },
        Op::SetPhoto { .. } => Answer::Photo {
            file_unique_id: None,
        },
        // A folder made by the cut-off run is known by its record (what a
        // rollback needs to delete it again); without one the next plan
        // finds it by its title.
        Op::CreateFolder { key, .. } | Op::EditFolder { key, .. } => match store.folders.get(key) {
            Some(f) => Answer::Folder {
                filter_id: f.filter_id,
                link: f.link.clone(),
            },
            None => Answer::Done,
        },
        _ => Answer::Done,
    };
    Ok(Executed {
        answer,
        not_modified: false,
        calls: vec![],
        notes: vec!["recorded by the operator".into()],
    })
}

fn abandon(backend: &Shared, run: &str, now: jiff::Timestamp) -> Result<u8, CliError> {
    let (_, state) = read_run(backend, run)?;
    if state.finished.is_some() && state.in_flight.is_empty() {
        outln!("Run {run} is already finished; nothing to abandon.")?;
        return Ok(exit::OK);
    }
    let plan = state.plan.as_ref().expect("checked");
    let mut journal = Journal::reopen_in(backend, run).map_err(super::apply::run_error)?;
    journal
        .write(&Event::Resume {
            at: now.to_string(),
            pid: std::process::id(),
        })
        .and_then(|_| {
            journal.write(&Event::Finish {
                status: RunStatus::Abandoned,
            })
        })
        .map_err(|e| CliError::caused(e.to_string(), e))?;
    outln!(
        "Abandoned run {run}: {} change(s) done stay done; it no longer blocks apply.",
        state.done.len()
    )?;
    for &i in &state.in_flight {
        outln!(
            "warning: the outcome of {} was never known; check it in Telegram before you plan again",
            plan.changes[i].address
        )?;
    }
    Ok(exit::OK)
}

fn unlock(backend: &Shared, force: bool) -> Result<u8, CliError> {
    let Some(holder) = backend.holder().map_err(connect::state_error)? else {
        outln!("The state is not locked.")?;
        return Ok(exit::OK);
    };
    if !force && !holder.crashed() {
        return Err(CliError::with_hint(
            format!(
                "the state is locked by {}, which may still run",
                holder.describe()
            ),
            "if you are sure it is gone (another machine, a killed container), run `orgform state unlock --force`",
        ));
    }
    backend.force_unlock().map_err(connect::state_error)?;
    outln!("Removed the lock of {}.", holder.describe())?;
    Ok(exit::OK)
}

fn export_of(backend: &Shared) -> Result<Export, CliError> {
    let store = load(backend)?;
    let mut runs = Vec::new();
    for r in backend.runs().map_err(connect::state_error)? {
        let events = backend
            .events(&r.run_id)
            .map_err(connect::state_error)?
            .iter()
            .filter_map(|e| serde_json::from_str(e).ok())
            .collect();
        runs.push(ExportedRun {
            run_id: r.run_id,
            command: r.command,
            started: r.started,
            status: r.status,
            events,
        });
    }
    let watch_facts = match backend.ledger() {
        Some(ledger) => Some(store::ledger::export_facts(ledger).map_err(connect::state_error)?),
        None => None,
    };
    Ok(Export {
        orgform_state_export: 1,
        store,
        runs,
        watch_facts,
    })
}

fn export(backend: &Shared, out: Option<&std::path::Path>) -> Result<u8, CliError> {
    let export = export_of(backend)?;
    let text = serde_json::to_string_pretty(&export).expect("JSON") + "\n";
    match out {
        Some(path) => {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            use std::io::Write;
            options
                .open(path)
                .and_then(|mut f| f.write_all(text.as_bytes()))
                .map_err(|e| {
                    CliError::caused(format!("cannot write {}: {e}", path.display()), e)
                })?;
            eprintln!(
                "Exported {} chat(s) and {} run(s) to {}.",
                export.store.chats.len(),
                export.runs.len(),
                path.display()
            );
        }
        None => out!("{text}")?,
    }
    Ok(exit::OK)
}

fn parse_export(text: &str, name: &str) -> Result<Export, CliError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| CliError::caused(format!("{name} is not JSON: {e}"), e))?;
    if value.get("orgform_state_export").is_some() {
        return serde_json::from_value(value).map_err(|e| {
            CliError::caused(format!("{name} is not an orgform state export: {e}"), e)
        });
    }
    // An old state.json.
    let store = store::file::parse(text.as_bytes(), name)
        .map_err(|e| CliError::caused(e.to_string(), e))?;
    Ok(Export {
        orgform_state_export: 1,
        store,
        runs: Vec::new(),
        watch_facts: None,
    })
}

fn write_export(backend: &Shared, export: &Export) -> Result<(), CliError> {
    if let Some(facts) = &export.watch_facts {
        super::watch::refuse_facts_under_watch(backend, facts)?;
    }
    backend
        .replace_all(&export.store)
        .map_err(connect::state_error)?;
    for r in &export.runs {
        if backend.events(&r.run_id).is_ok() {
            backend
                .delete_run(&r.run_id)
                .map_err(connect::state_error)?;
        }
        backend
            .create_run(&r.run_id, &r.command, &r.started)
            .map_err(connect::state_error)?;
        for e in &r.events {
            backend
                .append(&r.run_id, &e.to_string(), store::legacy::status_of(e))
                .map_err(connect::state_error)?;
        }
    }
    if let (Some(facts), Some(ledger)) = (&export.watch_facts, backend.ledger()) {
        store::ledger::import_facts(ledger, facts).map_err(connect::state_error)?;
    }
    Ok(())
}

fn import(backend: &Shared, file: &std::path::Path) -> Result<u8, CliError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| CliError::caused(format!("cannot read {}: {e}", file.display()), e))?;
    let export = parse_export(&text, &file.display().to_string())?;
    let before = records::rows(&load(backend)?).len();
    write_export(backend, &export)?;
    outln!(
        "Imported {} record(s) and {} run(s) from {} into {} (it held {before} record(s) before).",
        records::rows(&export.store).len(),
        export.runs.len(),
        file.display(),
        backend.describe()
    )?;
    Ok(exit::OK)
}

fn migrate(
    backend: &Shared,
    dir: &std::path::Path,
    to: &str,
    now: jiff::Timestamp,
) -> Result<u8, CliError> {
    let export = export_of(backend)?;
    let location = store::Location::parse(to).map_err(connect::state_error)?;
    let (target, _) = store::open(&location, dir).map_err(connect::state_error)?;
    let _target_lock = lock(&target, "state migrate", now)?;
    let existing = target.load().map_err(connect::state_error)?;
    if !existing.chats.is_empty() || !target.runs().map_err(connect::state_error)?.is_empty() {
        return Err(CliError::with_hint(
            format!(
                "{} already holds state; refusing to overwrite it",
                location.describe()
            ),
            "migrate into an empty database or workspace, or use `orgform state export` and `state import` deliberately",
        ));
    }
    write_export(&target, &export)?;
    outln!(
        "Migrated {} record(s) and {} run(s) from {} to {}. Point orgform at it with --state or ORGFORM_STATE.",
        records::rows(&export.store).len(),
        export.runs.len(),
        backend.describe(),
        location.describe()
    )?;
    Ok(exit::OK)
}

/// A JSON value for a terminal line: strings bare, control characters
/// (escape codes in names Telegram users chose) escaped.
fn plain(v: &Value) -> String {
    let text = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    text.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}
