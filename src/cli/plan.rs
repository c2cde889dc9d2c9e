//! `orgform plan`: read live state, diff it against the config, run the
//! guards, and show (or save) the plan. Never changes Telegram.

use super::output::{out, outln};
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::connect::{self, TelegramArgs};
use super::error::{CliError, exit};
use crate::apply::stale::PersonView;
use crate::plan::{self, Overrides, Plan, PlanInput};
use crate::render::plan as render;
use crate::state::folders::LiveFolder;
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Text,
    Markdown,
    Json,
}

#[derive(Args, Debug, Clone, Default)]
pub struct GuardArgs {
    /// Allow more removals than policies.removals permits, and removals on a first run.
    #[arg(long)]
    pub allow_removals: bool,
    /// Allow more admin demotions than policies.removals.max_demotions permits.
    #[arg(long)]
    pub allow_demotions: bool,
    /// Allow leaving a chat with fewer admins than policies.min_admins.
    #[arg(long)]
    pub allow_few_admins: bool,
}

impl GuardArgs {
    pub fn overrides(&self) -> Overrides {
        Overrides {
            removals: self.allow_removals,
            demotions: self.allow_demotions,
            few_admins: self.allow_few_admins,
        }
    }
}

#[derive(Args, Debug)]
pub struct PlanArgs {
    /// A config file or directory [default: ./org/ if it exists, else ./orgform.yaml (.yml, .kdl)].
    #[arg(default_value_os_t = crate::config::load::default_path(), hide_default_value = true)]
    pub config: PathBuf,
    #[command(flatten)]
    pub telegram: TelegramArgs,
    #[command(flatten)]
    pub guards: GuardArgs,
    #[arg(long, value_enum, default_value = "text")]
    pub format: PlanFormat,
    /// Save the plan (with the config digest, git commit and live fingerprints) for `apply --plan`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Exit 2 when the plan has changes (0 = none, 1 = error, 3 = refused).
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Plan as of this instant (RFC 3339) instead of now.
    #[arg(long)]
    pub now: Option<String>,
    /// Read and plan only the chats whose desired state differs between REV and the working tree
    /// (plus chats never read before). The guards still apply.
    #[arg(long, value_name = "REV")]
    pub changed_since: Option<String>,
    /// Take the state lock and record what the refresh learned (members seen, update offset).
    /// `--lock=false` plans read-only: nothing is recorded and no lock is taken (for pull
    /// requests, and next to a running apply).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub lock: bool,
    #[command(flatten)]
    pub rollout: RolloutArgs,
}

/// `--only` and `--stage`: limit a run to part of the org (staged rollout).
#[derive(Args, Debug, Clone, Default)]
pub struct RolloutArgs {
    /// Plan only part of the org: chat:KEY, label:KEY=VALUE, template:NAME,
    /// type:group|supergroup|channel (chats), department:KEY,
    /// person-label:KEY=VALUE (changes concerning those people). Repeat for a
    /// union. Guards and policy rules still apply to the whole org.
    #[arg(long, value_name = "SELECTOR")]
    pub only: Vec<crate::policy::rollout::OnlySelector>,
    /// Plan only a rollout stage from the config's `rollout:` (with the
    /// stages before it); `current` is `rollout.current`.
    #[arg(long, value_name = "NAME", conflicts_with = "only")]
    pub stage: Option<String>,
}

impl RolloutArgs {
    /// The subset these flags select, if any.
    pub fn subset(
        &self,
        model: &crate::model::Model,
        now: jiff::Timestamp,
    ) -> Result<Option<crate::policy::rollout::Subset>, CliError> {
        use crate::policy::rollout;
        let hint = "see `orgform plan --help` and docs/policies.md (staged rollout)";
        // `--stage current` without a `rollout:` section is everything, so
        // a workflow can always pass it.
        if self.stage.as_deref() == Some("current") && model.config.rollout.is_none() {
            return Ok(None);
        }
        if let Some(stage) = &self.stage {
            return rollout::stage(&model.config, &model.desired, stage, now)
                .map(Some)
                .map_err(|e| CliError::with_hint(format!("--stage {stage}: {e}"), hint));
        }
        if self.only.is_empty() {
            return Ok(None);
        }
        rollout::only(&model.config, &model.desired, &self.only, now)
            .map(Some)
            .map_err(|e| CliError::with_hint(format!("--only: {e}"), hint))
    }
}

/// The chats to read: those of `--changed-since` (if any) that are in the
/// subset (if any).
pub fn narrow(
    only: Option<Vec<String>>,
    subset: Option<&crate::policy::rollout::Subset>,
) -> Option<Vec<String>> {
    match (only, subset) {
        (only, None) => only,
        (None, Some(s)) => Some(s.chats.iter().cloned().collect()),
        (Some(only), Some(s)) => Some(only.into_iter().filter(|c| s.chats.contains(c)).collect()),
    }
}

/// Add the why-traces a plan can show to a model loaded without them: those
/// of the chats it reads (`only`), or of every chat when it reads them all
/// or when policy rules look at the whole org (a violation shows the why of
/// the seat it is about).
pub fn trace_shown(model: &mut crate::model::Model, only: Option<&[String]>, now: jiff::Timestamp) {
    let rules = model
        .config
        .policies
        .as_ref()
        .is_some_and(|p| !p.rules.is_empty());
    let chats: std::collections::BTreeSet<String> = match only {
        Some(only) if !rules => only.iter().cloned().collect(),
        _ => model.config.chats.keys().cloned().collect(),
    };
    model.trace(&chats, now);
}

/// Policy rules over the org as the plan leaves it: the live state with
/// the plan applied, and the desired state for chats the plan did not read.
pub fn plan_policies(planned: &Planned, now: jiff::Timestamp) -> crate::policy::Report {
    let rules = planned
        .model
        .config
        .policies
        .as_ref()
        .map_or(0, |p| p.rules.len());
    if rules == 0 {
        // Nothing to evaluate: skip copying the whole org's state.
        return crate::policy::Report {
            over: "plan".into(),
            ..Default::default()
        };
    }
    let state = crate::policy::planned_state(&planned.model.desired, &planned.live, &planned.plan);
    crate::policy::evaluate_state(
        &planned.model,
        &state,
        planned.live.bot.as_ref().map(|b| b.id),
        now,
        "plan",
    )
}

/// Append audit findings to `<state dir>/policy-audit.jsonl` (0600): what
/// an `audit` rule records. A failure to record is a warning, not a
/// failed run: audit rules never block.
pub fn record_audit(
    state_dir: &std::path::Path,
    report: &crate::policy::Report,
    command: &str,
    now: jiff::Timestamp,
) {
    use crate::spec::PolicyAction;
    use std::io::Write;
    let audits: Vec<&crate::policy::Violation> = report
        .violations
        .iter()
        .filter(|v| v.action == PolicyAction::Audit)
        .collect();
    if audits.is_empty() {
        return;
    }
    let mut text = String::new();
    for v in audits {
        let line = serde_json::json!({"at": now.to_string(), "command": command, "over": report.over, "violation": v});
        text.push_str(&line.to_string());
        text.push('\n');
    }
    let path = state_dir.join("policy-audit.jsonl");
    let result = (|| -> std::io::Result<()> {
        std::fs::create_dir_all(state_dir)?;
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options.open(&path)?.write_all(text.as_bytes())
    })();
    if let Err(e) = result {
        eprintln!(
            "warning: cannot record audit findings in {}: {e}",
            path.display()
        );
    }
}

/// Print the policy refusal and return exit 3, or `None` when no deny
/// rule is violated.
pub fn policy_refusal(report: &crate::policy::Report) -> Option<u8> {
    if !report.denied() {
        return None;
    }
    let denied: Vec<&crate::policy::Violation> = report
        .violations
        .iter()
        .filter(|v| v.action == crate::spec::PolicyAction::Deny && v.counts())
        .collect();
    let first = denied[0];
    let at = first
        .location
        .as_ref()
        .map(|l| format!(" at {l}"))
        .unwrap_or_default();
    let rules = report.denied_rules();
    let head = if rules.len() == 1 {
        format!("policy rule {}: {}{at}", rules[0], first.subject_text())
    } else {
        format!(
            "policy rules {}; first: {}: {}{at}",
            rules.join(", "),
            first.rule,
            first.subject_text()
        )
    };
    let more = match denied.len() - 1 {
        0 => String::new(),
        1 => " and 1 more violation".into(),
        n => format!(" and {n} more violations"),
    };
    eprintln!("error: refused by {head}{more} (see Policies above)");
    Some(exit::REFUSED)
}

/// Everything a plan was made from, for `plan` and `apply`.
pub struct Planned {
    pub model: crate::model::Model,
    pub plan: Plan,
    pub live: crate::state::LiveState,
}

/// Load the config, connect, refresh, and build a plan. The store is saved
/// with what the refresh learned (members seen, update offset).
/// With the user provider, the member lists of the chats whose membership
/// orgform manages come from the person's exact list instead of the ledger.
/// Without a session, say so and keep the Bot API's view.
async fn exact_members(
    conn: &connect::Connection,
    desired: &crate::state::DesiredState,
    live: &mut crate::state::LiveState,
    only: Option<&[String]>,
) -> Result<(), CliError> {
    // Without a bot the person's read is exact already.
    if !desired.provider.has_user() || conn.user.is_some() {
        return Ok(());
    }
    let keys: Vec<String> = desired
        .state
        .chats
        .iter()
        .filter(|(k, c)| {
            c.membership != crate::state::MembershipMode::Observe
                && only.is_none_or(|only| only.contains(k))
        })
        .map(|(k, _)| k.clone())
        .collect();
    if keys.is_empty() {
        return Ok(());
    }
    let Some(provider) = super::login::user_provider_if_signed_in(&conn.state_dir)? else {
        eprintln!(
            "warning: org.telegram.provider uses a person, but no session was found \
             (`orgform login`, or ORGFORM_TELEGRAM_SESSION): members are known only from the ledger"
        );
        return Ok(());
    };
    let bot = live.bot.as_ref().map(|b| b.id);
    crate::mtproto::read::exact_members(&provider, live, &keys, bot)
        .await
        .map_err(|e| {
            CliError::user(format!(
                "reading the member lists as the signed-in person: {e}"
            ))
        })
}

/// With the user provider, topics and links the config declares but the
/// state does not remember are found by name before any is planned as a
/// creation. How many were adopted.
async fn recover_by_name(
    conn: &connect::Connection,
    desired: &crate::state::DesiredState,
    live: &mut crate::state::LiveState,
    store: &mut crate::store::Store,
    only: Option<&[String]>,
) -> Result<usize, CliError> {
    if !desired.provider.has_user() {
        return Ok(0);
    }
    let keys: Vec<String> = desired
        .state
        .chats
        .iter()
        .filter(|(k, want)| {
            only.is_none_or(|only| only.contains(k))
                && live.state.chats.get(*k).is_some_and(|have| {
                    want.topics.keys().any(|t| !have.topics.contains_key(t))
                        || want
                            .invite_links
                            .keys()
                            .any(|l| !have.invite_links.contains_key(l))
                })
        })
        .map(|(k, _)| k.clone())
        .collect();
    if keys.is_empty() {
        return Ok(0);
    }
    use crate::mtproto::read::LinksOf;
    let found = |e| CliError::caused(format!("finding topics and links by name: {e}"), e);
    // Without a bot, the links orgform made are the account's own.
    if let Some(user) = &conn.user {
        return crate::mtproto::read::recover_by_name(
            user,
            desired,
            live,
            store,
            &keys,
            Some(LinksOf::Me),
        )
        .await
        .map_err(found);
    }
    let Some(provider) = super::login::user_provider_if_signed_in(&conn.state_dir)? else {
        return Ok(0);
    };
    let bot = live
        .bot
        .as_ref()
        .map(|b| b.username.clone())
        .or_else(|| desired.bot.clone());
    crate::mtproto::read::recover_by_name(
        &provider,
        desired,
        live,
        store,
        &keys,
        bot.as_deref().map(LinksOf::Bot),
    )
    .await
    .map_err(found)
}

/// Department folders (`folders:`): read the signed-in person's folders,
/// match them to the config's through the store's records (adopting by
/// title those with none, and recording them), say each one's link, and
/// add the changes that bring them in line. Not for a plan of some chats
/// only (`--changed-since`), and not without a person: a bot has no
/// folders. The matched folders, when they were read.
async fn plan_folders(
    conn: &connect::Connection,
    model: &crate::model::Model,
    plan: &mut Plan,
    live: &crate::state::LiveState,
    store: &mut crate::store::Store,
) -> Result<Option<BTreeMap<String, LiveFolder>>, CliError> {
    if model.config.folders.is_empty() || plan.only.is_some() {
        return Ok(None);
    }
    if !model.desired.provider.has_user() {
        eprintln!(
            "warning: folders need a person (org.telegram.provider: user or both); they are not planned"
        );
        return Ok(None);
    }
    let Some(provider) = super::login::user_provider_if_signed_in(&conn.state_dir)? else {
        eprintln!(
            "warning: folders need a signed-in person (`orgform login`, or ORGFORM_TELEGRAM_SESSION); they are not planned"
        );
        return Ok(None);
    };
    let desired = crate::model::folders::resolve(&model.config, &model.desired);
    let matched = crate::mtproto::folders::read(&provider, &desired, &store.folders)
        .await
        .map_err(|e| {
            CliError::user(format!(
                "reading the chat folders as the signed-in person: {e}"
            ))
        })?;
    // First adoption: a folder found by title is recorded, so from now on
    // it is found by its id whatever its title becomes.
    if !matched.adopted.is_empty() {
        for key in &matched.adopted {
            store.folders.insert(key.clone(), matched.live[key].clone());
        }
        conn.save_store(store)?;
    }
    for (key, folder) in &matched.live {
        if let Some(link) = &folder.link {
            eprintln!(
                "Folder `{}` ({}): {}",
                crate::render::escape::terminal(key),
                crate::render::escape::terminal(&folder.title),
                crate::render::escape::terminal(link)
            );
        }
    }
    for (key, old) in &matched.gone {
        eprintln!(
            "warning: folder `{}` (id {}) was deleted outside orgform; the plan makes it again with a new link",
            crate::render::escape::terminal(key),
            old.filter_id
        );
    }
    let names: BTreeMap<crate::state::ChatId, &str> = live
        .state
        .chats
        .iter()
        .map(|(k, c)| (c.id, k.as_str()))
        .chain(
            model
                .desired
                .state
                .chats
                .iter()
                .map(|(k, c)| (c.id, k.as_str())),
        )
        .collect();
    let changes = crate::plan::folders::changes(&desired, &matched.live, &matched.gone, |id| {
        names
            .get(&id)
            .map_or_else(|| id.to_string(), |k| k.to_string())
    });
    if !changes.is_empty() {
        plan.changes.extend(changes);
        plan::order(&mut plan.changes);
    }
    Ok(Some(matched.live))
}

/// What a saved plan's stale check compares for the user provider's
/// objects (chats to create, folders), read the same way when the plan is
/// made and when it is applied. `folders`: the folders already read and
/// matched, if they were. `to_apply`: the plan is about to run, so it
/// needs the person (a plan may be made without one).
pub(super) async fn person_view(
    conn: &connect::Connection,
    model: &crate::model::Model,
    store: &crate::store::Store,
    plan: &Plan,
    folders: Option<BTreeMap<String, LiveFolder>>,
    to_apply: bool,
) -> Result<PersonView, CliError> {
    let mut view = PersonView {
        created: store.created_chats(),
        ..PersonView::default()
    };
    let titles = crate::apply::stale::titles_created(plan);
    let has_folders = plan.changes.iter().any(crate::plan::folders::is_folder);
    if titles.is_empty() && !has_folders {
        return Ok(view);
    }
    let Some(provider) = super::login::user_provider_if_signed_in(&conn.state_dir)? else {
        if to_apply {
            return Err(CliError::with_hint(
                "this plan makes chats or chat folders, which only a signed-in person can check and apply",
                "sign in with `orgform login`, or set ORGFORM_TELEGRAM_SESSION",
            ));
        }
        return Ok(view);
    };
    let read_error = |what: &str, e: crate::mtproto::MtprotoError| {
        CliError::user(format!("reading {what} as the signed-in person: {e}"))
    };
    if !titles.is_empty() {
        view.titled = Some(
            crate::mtproto::read::created_titles(&provider, &titles)
                .await
                .map_err(|e| read_error("the chats", e))?,
        );
    }
    if has_folders {
        view.folders = match folders {
            Some(f) => Some(f),
            None => {
                let desired = crate::model::folders::resolve(&model.config, &model.desired);
                Some(
                    crate::mtproto::folders::read(&provider, &desired, &store.folders)
                        .await
                        .map_err(|e| read_error("the chat folders", e))?
                        .live,
                )
            }
        };
    }
    Ok(view)
}

pub async fn make_plan(
    config: &std::path::Path,
    conn: &connect::Connection,
    model: crate::model::Model,
    overrides: Overrides,
    now: jiff::Timestamp,
    only: Option<Vec<String>>,
) -> Result<Planned, CliError> {
    make_plan_from(config, conn, model, overrides, now, only, None).await
}

/// [`make_plan`], with a store this connection loaded last for the chats
/// with these ids: used when they are the chats the plan reads, instead of
/// loading it again.
pub async fn make_plan_from(
    config: &std::path::Path,
    conn: &connect::Connection,
    model: crate::model::Model,
    overrides: Overrides,
    now: jiff::Timestamp,
    only: Option<Vec<String>>,
    preloaded: Option<(
        std::collections::BTreeSet<crate::state::ChatId>,
        crate::store::Store,
    )>,
) -> Result<Planned, CliError> {
    // Only the member records of the chats this plan reads.
    let chat_ids =
        |model: &crate::model::Model| -> Option<std::collections::BTreeSet<crate::state::ChatId>> {
            only.as_ref().map(|keys| {
                keys.iter()
                    .filter_map(|k| model.desired.state.chats.get(k).map(|c| c.id))
                    .collect()
            })
        };
    let loaded = chat_ids(&model);
    let mut store = match (preloaded, &loaded) {
        (Some((ids, store)), Some(wanted)) if ids == *wanted => store,
        _ => conn.load_store_of(loaded.as_ref())?,
    };
    // Chats the user provider created for keys the config has no id for
    // yet are managed by the recorded id, never created twice.
    let mut model = model;
    crate::model::adopt_created(&mut model, &store.created_chats(), now);
    // Ids recorded for created chats (chat fields are always loaded): load
    // their members too.
    let adopted = chat_ids(&model);
    if adopted != loaded {
        store = conn.load_store_of(adopted.as_ref())?;
    }
    let progress = super::progress::spinner(&format!(
        "reading {} chats from Telegram",
        only.as_ref()
            .map_or(model.desired.state.chats.len(), Vec::len)
    ));
    let refreshed = refresh_live(
        conn,
        &model.desired,
        &mut store,
        now.as_second(),
        only.as_deref(),
    )
    .await;
    progress.finish_and_clear();
    let (mut live, _) = refreshed?;
    conn.save_store(&store)?;
    exact_members(conn, &model.desired, &mut live, only.as_deref()).await?;
    if recover_by_name(conn, &model.desired, &mut live, &mut store, only.as_deref()).await? > 0 {
        conn.save_store(&store)?;
    }
    // The refresh and the recovery changed only what the plan does not
    // read from the store (members seen, last read, topics and links,
    // commands), so the plan uses this snapshot instead of a copy taken
    // before them.
    let mut plan = plan::build(PlanInput {
        desired: &model.desired,
        live: &live,
        store: &store,
        policies: model.config.policies.as_ref(),
        overrides,
        now,
        only,
    });
    let folders = plan_folders(conn, &model, &mut plan, &live, &mut store).await?;
    let view = person_view(conn, &model, &store, &plan, folders, false).await?;
    crate::apply::stale::fingerprint_person_changes(&mut plan, &live, &view);
    // The process ends soon after: freeing the ledger is wasted work.
    std::mem::forget(store);
    plan.config_digest = Some(model.sources.digest());
    plan.git_commit = git_commit(config);
    Ok(Planned { model, plan, live })
}

/// Drain updates and read the chats; a read-only connection only looks at
/// pending updates, so Telegram keeps them for the next writer.
pub async fn refresh(
    conn: &connect::Connection,
    desired: &crate::state::DesiredState,
    store: &mut crate::store::Store,
    now: i64,
    only: Option<&[String]>,
) -> Result<
    (crate::state::LiveState, crate::telegram::read::Drained),
    crate::telegram::read::ReadError,
> {
    use crate::telegram::read;
    let Some(client) = conn.client.as_ref() else {
        return Err(read::ReadError::Cancelled(
            "this command reads through the bot, and org.telegram.provider is user (no bot)".into(),
        ));
    };
    let status = super::watch::ledger_status(conn, now);
    // A fresh watch ledger holds every membership change: its records
    // stand in for some getChatMember calls (see `read::Records`).
    let records = read::Records::from_ledger(status.as_ref());
    let all: Vec<String>;
    let keys = match only {
        Some(keys) => keys,
        None => {
            all = desired.state.chats.keys().cloned().collect();
            &all
        }
    };
    // While a watch holds the ledger it consumes the updates: read what it
    // recorded (already in `store`) instead of draining them.
    if status.is_some_and(|s| s.watch.is_some()) {
        let live = read::read_chats_with(client, desired, store, now, keys, records).await?;
        let drained = read::Drained {
            kept_by_watch: true,
            ..Default::default()
        };
        return Ok((live, drained));
    }
    if !conn.read_only() {
        return read::refresh_with(client, desired, store, now, only, records).await;
    }
    let drained = read::peek_updates(client, desired, store).await?;
    let live = read::read_chats_with(client, desired, store, now, keys, records).await?;
    Ok((live, drained))
}

/// [`refresh`], or for an org without a bot the signed-in person's read
/// (exact, so there are no updates to drain).
pub async fn refresh_live(
    conn: &connect::Connection,
    desired: &crate::state::DesiredState,
    store: &mut crate::store::Store,
    now: i64,
    only: Option<&[String]>,
) -> Result<(crate::state::LiveState, crate::telegram::read::Drained), CliError> {
    if conn.user.is_some() {
        let all: Vec<String> = desired.state.chats.keys().cloned().collect();
        let live = conn
            .read_chats(desired, store, now, only.unwrap_or(&all))
            .await?;
        return Ok((live, Default::default()));
    }
    refresh(conn, desired, store, now, only)
        .await
        .map_err(read_error)
}

/// Take the lock, or go read-only (`--lock=false`); warn about unfinished
/// runs either way.
pub fn lock_or_read_only(
    conn: &connect::Connection,
    lock: bool,
    command: &str,
    now: jiff::Timestamp,
) -> Result<(), CliError> {
    if lock {
        conn.take_lock(command, now)?;
    } else {
        conn.set_read_only();
    }
    for run in super::state::unfinished_runs(conn)? {
        eprintln!(
            "warning: run {run} is unfinished; `orgform apply --resume {run}` finishes it, `orgform state abandon {run}` gives it up"
        );
    }
    Ok(())
}

pub fn read_error(e: crate::telegram::read::ReadError) -> CliError {
    use crate::telegram::read::ReadError;
    let hint = match &e {
        ReadError::WrongBot { .. } => {
            Some("use the token of the bot the config names, or fix org.telegram.bot".into())
        }
        ReadError::Telegram(t) => t.hint(),
        _ => None,
    };
    CliError::from_source(e, hint)
}

/// The commit checked out in the repository holding the config, if any.
pub fn git_commit(config: &std::path::Path) -> Option<String> {
    let repo = git2::Repository::discover(config).ok()?;
    let head = repo.head().ok()?.peel_to_commit().ok()?;
    Some(head.id().to_string())
}

pub fn run(args: PlanArgs) -> Result<u8, CliError> {
    let now = super::parse_now(args.now.as_deref())?;
    // A targeted plan shows the why of the chats it reads only: their
    // traces are added once those are known (most of resolving's work at
    // 10,000 people is wording traces).
    let untraced = std::collections::BTreeSet::new();
    let mut model = match &args.changed_since {
        Some(_) => crate::model::load_traced(
            &args.config,
            now,
            crate::model::resolve::Traces::Only(&untraced),
        )?,
        None => crate::model::load(&args.config, now)?,
    };
    let subset = args.rollout.subset(&model, now)?;
    let changed = args
        .changed_since
        .as_deref()
        .map(|rev| super::diff::changed_chats_since(&args.config, rev, &model, now))
        .transpose()?;
    let rt = connect::runtime()?;
    let (planned, state_dir) =
        connect::block_on_interruptible(&rt, "nothing was changed", async {
            let conn = connect::connect(
                &args.telegram,
                &model.desired,
                connect::config_api_url(&model.config),
            )
            .await?;
            lock_or_read_only(&conn, args.lock, "plan", now)?;
            // The store with the changed chats' records: which chats were
            // never read needs only the chats' own records, and when every
            // chat was read before, it is the plan's store too.
            let mut preloaded = None;
            let only = match (changed, &args.changed_since) {
                (Some(changed), Some(rev)) => {
                    let ids: std::collections::BTreeSet<crate::state::ChatId> = changed
                        .iter()
                        .filter_map(|k| model.desired.state.chats.get(k).map(|c| c.id))
                        .collect();
                    let store = conn.load_store_of(Some(&ids))?;
                    let only = super::diff::targeted(rev, changed, &model.desired, &store);
                    preloaded = Some((ids, store));
                    Some(only)
                }
                _ => None,
            };
            let only = narrow(only, subset.as_ref());
            if args.changed_since.is_some() {
                trace_shown(&mut model, only.as_deref(), now);
            }
            let result = make_plan_from(
                &args.config,
                &conn,
                model,
                args.guards.overrides(),
                now,
                only,
                preloaded,
            )
            .await;
            let state_dir = conn.state_dir.clone();
            let ledger = super::watch::ledger_status(&conn, now.as_second());
            // Pending invites name people by handle, from the planned
            // model (a failed plan prints none).
            let invites = match &result {
                Ok(planned) => super::watch::pending_invites(
                    &conn,
                    &|u| planned.model.desired.handle(u),
                    now.as_second(),
                ),
                Err(_) => Vec::new(),
            };
            conn.close().await?;
            result.map(|p| (p, (state_dir, ledger, invites)))
        })?;
    let (state_dir, ledger, invites) = state_dir;
    // The process ends after printing: freeing the model, the live state
    // and the plan is wasted work at 10,000 people.
    let mut kept = std::mem::ManuallyDrop::new(planned);
    let planned: &mut Planned = &mut kept;
    let left_out = subset
        .as_ref()
        .map(|s| crate::policy::rollout::limit(&mut planned.plan, s, &planned.model.desired));
    let policy = plan_policies(planned, now);
    record_audit(&state_dir, &policy, "plan", now);
    let plan = &planned.plan;
    if let Some(out) = &args.out {
        let text = serde_json::to_string_pretty(&render::json(plan)).expect("plan serialises");
        connect::write_private(out, (text + "\n").as_bytes())?;
        eprintln!(
            "Saved the plan to {}; apply it with `orgform apply --plan {}`.",
            out.display(),
            out.display()
        );
    }
    use crate::render::policy as policy_render;
    match args.format {
        PlanFormat::Text => {
            out!("{}", render::text(plan, super::stdout_style()))?;
            if let Some(l) = &left_out {
                out!("{}", policy_render::left_out_text(l))?;
            }
            out!("{}", policy_render::text(&policy, super::stdout_style()))?;
            out!("{}", super::watch::ledger_text(ledger.as_ref()))?;
            out!("{}", crate::watch::invites::text(&invites))?;
        }
        PlanFormat::Markdown => {
            out!("{}", render::markdown(plan))?;
            out!("{}", super::watch::ledger_text(ledger.as_ref()))?;
            out!("{}", crate::watch::invites::text(&invites))?;
            if let Some(l) = &left_out {
                out!("\n{}", policy_render::left_out_markdown(l))?;
            }
            if policy.rules > 0 {
                out!("\n{}", policy_render::markdown(&policy))?;
            }
        }
        PlanFormat::Json => {
            let mut v = render::json(plan);
            v["policy"] = policy_render::json(&policy);
            if let Some(l) = &ledger {
                v["ledger"] = serde_json::to_value(l).expect("serialises");
            }
            if !invites.is_empty() {
                v["invites_waiting"] = serde_json::to_value(&invites).expect("serialises");
            }
            if let Some(l) = &left_out {
                v["left_out"] = serde_json::to_value(l).expect("left out serialises");
            }
            outln!(
                "{}",
                serde_json::to_string_pretty(&v).expect("plan serialises")
            )?;
        }
    }
    if super::github_actions() {
        eprint!("{}", policy_render::github(&policy));
    }
    if plan.refused() {
        return Ok(outcome(plan, args.detailed_exitcode));
    }
    if let Some(code) = policy_refusal(&policy) {
        return Ok(code);
    }
    Ok(outcome(plan, args.detailed_exitcode))
}

/// The exit code a finished plan earns.
pub fn outcome(plan: &Plan, detailed: bool) -> u8 {
    if plan.refused() {
        // One entry per guard code, with how often it refused.
        let mut refused: std::collections::BTreeMap<&str, usize> = Default::default();
        for g in plan.guards.iter().filter(|g| !g.overridden) {
            *refused.entry(g.code.as_str()).or_default() += 1;
        }
        let list: Vec<String> = refused
            .iter()
            .map(|(code, n)| match n {
                1 => code.to_string(),
                n => format!("{code} ({n} times)"),
            })
            .collect();
        eprintln!(
            "error: the plan was refused by {} (see Guards above)",
            list.join(", ")
        );
        exit::REFUSED
    } else if detailed && !plan.is_empty() {
        exit::CHANGES
    } else {
        exit::OK
    }
}

#[cfg(test)]
mod tests {
    use crate::plan::Override;
    use crate::render::plan::override_flag;

    /// The flag every output names for an override is one `plan` and
    /// `apply` accept, and giving it overrides that kind.
    #[test]
    fn every_override_kind_is_a_flag_of_plan_and_apply() {
        let cli = super::super::command();
        for name in ["plan", "apply"] {
            let sub = cli.find_subcommand(name).expect("subcommand");
            for kind in Override::ALL {
                let flag = override_flag(kind);
                let long = flag.trim_start_matches("--");
                assert!(
                    sub.get_arguments().any(|a| a.get_long() == Some(long)),
                    "{name} has no {flag}"
                );
            }
        }
        for kind in Override::ALL {
            let args = super::GuardArgs {
                allow_removals: override_flag(kind) == "--allow-removals",
                allow_demotions: override_flag(kind) == "--allow-demotions",
                allow_few_admins: override_flag(kind) == "--allow-few-admins",
            };
            let overrides = args.overrides();
            for other in Override::ALL {
                assert_eq!(overrides.allows(other), other == kind, "{kind:?}");
            }
        }
    }
}
