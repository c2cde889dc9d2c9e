//! `orgform plan`: read live state, diff it against the config, run the
//! guards, and show (or save) the plan. Never changes Telegram.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::connect::{self, TelegramArgs};
use super::error::{CliError, exit};
use crate::plan::{self, Overrides, Plan, PlanInput};
use crate::render::plan as render;

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
    /// A config file or directory.
    #[arg(default_value = ".")]
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
}

/// Everything a plan was made from, for `plan` and `apply`.
pub struct Planned {
    pub model: crate::model::Model,
    pub plan: Plan,
    pub live: crate::state::LiveState,
}

/// Load the config, connect, refresh, and build a plan. The store is saved
/// with what the refresh learned (members seen, update offset).
pub async fn make_plan(
    config: &std::path::Path,
    conn: &connect::Connection,
    model: crate::model::Model,
    overrides: Overrides,
    now: jiff::Timestamp,
    only: Option<Vec<String>>,
) -> Result<Planned, CliError> {
    let mut store = conn.load_store()?;
    let before = store.clone();
    let progress = super::progress::spinner(&format!(
        "reading {} chats from Telegram",
        only.as_ref()
            .map_or(model.desired.state.chats.len(), Vec::len)
    ));
    let refreshed = refresh(
        conn,
        &model.desired,
        &mut store,
        now.as_second(),
        only.as_deref(),
    )
    .await;
    progress.finish_and_clear();
    let (live, _) = refreshed.map_err(read_error)?;
    conn.save_store(&store)?;
    let mut plan = plan::build(PlanInput {
        desired: &model.desired,
        live: &live,
        store: &before,
        policies: model.config.policies.as_ref(),
        overrides,
        now,
        only,
    });
    plan.config_digest = Some(config_digest(&model.sources));
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
    if !conn.read_only() {
        return read::refresh(&conn.client, desired, store, now, only).await;
    }
    let drained = read::peek_updates(&conn.client, desired, store).await?;
    let live = match only {
        Some(keys) => read::read_chats(&conn.client, desired, store, now, keys).await?,
        None => read::read(&conn.client, desired, store, now).await?,
    };
    Ok((live, drained))
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
    match &e {
        ReadError::WrongBot { .. } => CliError::with_hint(
            e.to_string(),
            "use the token of the bot the config names, or fix org.telegram.bot",
        ),
        ReadError::Telegram(t) => CliError::User {
            message: e.to_string(),
            hint: t.hint(),
        },
        _ => CliError::user(e.to_string()),
    }
}

/// SHA-256 over the config files' names and bytes, in load order.
pub fn config_digest(sources: &crate::config::SourceMap) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for (_, file) in sources.files() {
        let name = file
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update(file.text.as_bytes());
        hasher.update([0]);
    }
    format!("sha256:{:x}", hasher.finalize())
}

/// The commit checked out in the repository holding the config, if any.
pub fn git_commit(config: &std::path::Path) -> Option<String> {
    let repo = git2::Repository::discover(config).ok()?;
    let head = repo.head().ok()?.peel_to_commit().ok()?;
    Some(head.id().to_string())
}

pub fn run(args: PlanArgs) -> Result<u8, CliError> {
    let now = super::parse_now(args.now.as_deref())?;
    let model = crate::model::load(&args.config, now)?;
    let changed = args
        .changed_since
        .as_deref()
        .map(|rev| super::diff::changed_chats_since(&args.config, rev, &model, now))
        .transpose()?;
    let rt = connect::runtime()?;
    let planned = rt.block_on(async {
        let conn = connect::connect(
            &args.telegram,
            &model.desired,
            connect::config_api_url(&model.config),
        )
        .await?;
        lock_or_read_only(&conn, args.lock, "plan", now)?;
        let only = match (changed, &args.changed_since) {
            (Some(changed), Some(rev)) => Some(super::diff::targeted(
                rev,
                changed,
                &model.desired,
                &conn.load_store()?,
            )),
            _ => None,
        };
        let result = make_plan(
            &args.config,
            &conn,
            model,
            args.guards.overrides(),
            now,
            only,
        )
        .await;
        conn.close().await?;
        result
    })?;
    let plan = &planned.plan;
    if let Some(out) = &args.out {
        let text = serde_json::to_string_pretty(&render::json(plan)).expect("plan serialises");
        std::fs::write(out, text + "\n")
            .map_err(|e| CliError::user(format!("cannot write {}: {e}", out.display())))?;
        eprintln!(
            "Saved the plan to {}; apply it with `orgform apply --plan {}`.",
            out.display(),
            out.display()
        );
    }
    match args.format {
        PlanFormat::Text => print!("{}", render::text(plan, super::stdout_style())),
        PlanFormat::Markdown => print!("{}", render::markdown(plan)),
        PlanFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&render::json(plan)).expect("plan serialises")
        ),
    }
    Ok(outcome(plan, args.detailed_exitcode))
}

/// The exit code a finished plan earns.
pub fn outcome(plan: &Plan, detailed: bool) -> u8 {
    if plan.refused() {
        let refused: Vec<&str> = plan
            .guards
            .iter()
            .filter(|g| !g.overridden)
            .map(|g| g.code.as_str())
            .collect();
        eprintln!(
            "error: the plan was refused by {} (see Guards above)",
            refused.join(", ")
        );
        exit::REFUSED
    } else if detailed && !plan.is_empty() {
        exit::CHANGES
    } else {
        exit::OK
    }
}
