//! `orgform import chats` and `orgform import people`: flags, reaching
//! Telegram (or the sandbox) without a config, writing the files and the
//! exit code. What is imported and how is decided in `crate::import`.
//!
//! Chats: `--sandbox` reads the sandbox world that `plan --sandbox` uses
//! (`<state-dir>/sandbox/world.json`); `--sandbox-world FILE` first installs
//! FILE there (e.g. the `world.json` of `sandbox generate`), so that a plan
//! with `--sandbox` afterwards runs against the same chats. Otherwise the
//! Bot API at `--api-url` (or the default) is read with the token from
//! `--token-file` or `ORGFORM_TELEGRAM_TOKEN`.

use super::output::{out, outln};
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::connect::{self, TelegramArgs};
use super::error::{CliError, exit};
use crate::import::chats::{self, BuildOptions};
use crate::import::people::{self, Field, PeopleOptions};
use crate::import::{ConfigDir, Format, ImportError};
use crate::sandbox::World;

#[derive(Args, Debug)]
pub struct ImportArgs {
    #[command(subcommand)]
    pub what: ImportCommand,
}

#[derive(Subcommand, Debug)]
pub enum ImportCommand {
    /// Describe existing chats as config: settings, topics and links the store knows, admins by role, members the bot can see.
    Chats(ChatsArgs),
    /// Read a staff list (CSV or XLSX) into `people`.
    People(PeopleArgs),
    /// Write the ids of chats orgform created into the config files that declare them (formatting and comments kept).
    Ids(super::import_ids::IdsArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Yaml,
    Kdl,
}

#[derive(Args, Debug)]
pub struct ChatsArgs {
    /// A chat to import, by its Telegram id (repeat for several).
    #[arg(
        long = "chat",
        value_name = "ID",
        allow_negative_numbers = true,
        required_unless_present = "all_known",
        conflicts_with = "all_known"
    )]
    pub chats: Vec<i64>,
    /// Every chat the bot is known to be in: with the sandbox, the world's chats the bot is in; with
    /// Telegram, the chats in the store and in the pending updates (the Bot API cannot list a bot's chats);
    /// while `orgform watch` runs, the chats its ledger shows the bot in (the feed is watch's).
    #[arg(long)]
    pub all_known: bool,
    /// Read the sandbox world kept in <state-dir>/sandbox/ (the one `plan --sandbox` uses).
    #[arg(long, conflicts_with_all = ["api_url", "token_file", "sandbox_world"])]
    pub sandbox: bool,
    /// Install this sandbox world in <state-dir>/sandbox/ (unless it is there already) and read it.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["api_url", "token_file"])]
    pub sandbox_world: Option<PathBuf>,
    /// Bot API base URL [env: ORGFORM_TELEGRAM_API_URL; default: https://api.telegram.org].
    #[arg(long)]
    pub api_url: Option<String>,
    /// File holding the bot token [default: env ORGFORM_TELEGRAM_TOKEN].
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// Where orgform keeps its store [env: ORGFORM_STATE_DIR; default: .orgform].
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// The config directory to write into (created if missing; existing config is merged).
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, value_enum, default_value = "yaml")]
    pub format: FormatArg,
    /// Replace chats and people the import wrote earlier with what Telegram shows, and rewrite
    /// files it did not write (their entries are kept, their comments are lost).
    #[arg(long)]
    pub force: bool,
    /// Leave out invite links expired by this instant (RFC 3339) instead of now.
    #[arg(long)]
    pub now: Option<String>,
}

#[derive(Args, Debug)]
pub struct PeopleArgs {
    /// The staff list: a .csv or .xlsx file.
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
    /// The sheet of an .xlsx file [default: the first].
    #[arg(long)]
    pub sheet: Option<String>,
    /// Which field a column fills: `--map "Telegram=telegram_id"`; fields: handle, telegram_id, name,
    /// username, department, roles, labels, label.KEY, status, ignore.
    #[arg(long = "map", value_name = "COLUMN=FIELD")]
    pub map: Vec<String>,
    /// The file to write (.yaml or .kdl); people already in it are merged.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Write the usable rows even when some rows cannot be used.
    #[arg(long)]
    pub partial: bool,
    /// Mark people in the file who are no longer on the list as offboarded.
    #[arg(long)]
    pub offboard_missing: bool,
    /// Rewrite an output file the import did not write (entries kept, comments lost).
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: ImportArgs) -> Result<u8, CliError> {
    match args.what {
        ImportCommand::Chats(a) => run_chats(a),
        ImportCommand::People(a) => run_people(a),
        ImportCommand::Ids(a) => super::import_ids::run(a),
    }
}

fn import_error(e: ImportError) -> CliError {
    CliError::User {
        message: e.message,
        hint: e.hint,
    }
}

fn run_chats(args: ChatsArgs) -> Result<u8, CliError> {
    let now = super::parse_now(args.now.as_deref())?;
    let dir = ConfigDir::scan(&args.out).map_err(import_error)?;
    let existing_api_url = if dir.is_empty() {
        None
    } else {
        // The directory's config must be valid before anything is merged into it.
        let model = dir.check_with(&[], now)?;
        connect::config_api_url(&model.config).map(str::to_string)
    };
    let sandbox = args.sandbox || args.sandbox_world.is_some();
    let telegram = TelegramArgs {
        sandbox,
        api_url: args.api_url.clone(),
        token_file: args.token_file.clone(),
        state_dir: args.state_dir.clone(),
        state: None,
        parallel_chats: 8,
        requests_per_second: 25.0,
        max_requests_per_second: 200.0,
        fixed_pace: false,
    };
    let state_dir = connect::state_dir(&telegram)?;
    let world_file = connect::sandbox_world_path(&state_dir);
    if let Some(from) = &args.sandbox_world {
        install_world(from, &world_file)?;
    } else if args.sandbox && !world_file.exists() {
        return Err(CliError::with_hint(
            format!("there is no sandbox world in {}", world_file.display()),
            "start from a world file: --sandbox-world FILE (e.g. the world.json of `orgform sandbox generate`)",
        ));
    }
    let rt = connect::runtime()?;
    let (observed, source, api_url, webhook) = rt.block_on(async {
        let conn = connect::connect(
            &telegram,
            &crate::state::DesiredState::default(),
            existing_api_url.as_deref(),
        )
        .await?;
        let result = read_chats(&args, &conn, sandbox, &world_file, now.as_second()).await;
        let source = if sandbox {
            "the sandbox".to_string()
        } else {
            format!("Telegram ({})", conn.client.api_url().as_str())
        };
        let api_url = (!sandbox).then(|| {
            conn.client
                .api_url()
                .as_str()
                .trim_end_matches('/')
                .to_string()
        });
        conn.close().await?;
        let (observed, webhook) = result?;
        Ok::<_, CliError>((observed, source, api_url, webhook))
    })?;
    if webhook {
        eprintln!(
            "note: a webhook is set, so pending updates could not be read; only chats in the store were found"
        );
    }
    let options = BuildOptions {
        format: match args.format {
            FormatArg::Yaml => Format::Yaml,
            FormatArg::Kdl => Format::Kdl,
        },
        source,
        api_url: api_url.filter(|u| u != "https://api.telegram.org"),
        force: args.force,
        now: now.as_second(),
    };
    let built = chats::build(&observed, &dir, &options).map_err(import_error)?;
    let mut report = built.report;
    if !report.blocked.is_empty() {
        out!(
            "{}",
            crate::render::escape::terminal_text(&crate::render::import::chats_text(
                &report, false
            ))
        )?;
        return Ok(exit::ERROR);
    }
    // What is about to be written must load, together with the rest of the directory.
    dir.check_with(&built.files, now)?;
    for (path, text) in &built.files {
        let outcome = crate::import::write_if_changed(path, text).map_err(import_error)?;
        report.files.push((path.clone(), outcome));
    }
    out!(
        "{}",
        crate::render::escape::terminal_text(&crate::render::import::chats_text(&report, true))
    )?;
    Ok(exit::OK)
}

/// Put a world file where `--sandbox` looks for it; an identical one may be there already.
fn install_world(from: &std::path::Path, to: &std::path::Path) -> Result<(), CliError> {
    let bytes = std::fs::read(from)
        .map_err(|e| CliError::caused(format!("cannot read {}: {e}", from.display()), e))?;
    World::load(from).map_err(|e| {
        CliError::caused(format!("{} is not a sandbox world: {e}", from.display()), e)
    })?;
    match std::fs::read(to) {
        Ok(existing) if existing == bytes => return Ok(()),
        Ok(_) => {
            return Err(CliError::with_hint(
                format!("{} already holds another sandbox world", to.display()),
                "import from it with --sandbox, or delete it (or use another --state-dir) to start from the new file",
            ));
        }
        Err(_) => {}
    }
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)?;
    }
    // A world holds its sandbox bot's token: owner-only.
    crate::atomic_file::replace(to, &bytes, crate::atomic_file::Access::Private)
        .map_err(|e| CliError::caused(format!("cannot write {}: {e}", to.display()), e))?;
    Ok(())
}

async fn read_chats(
    args: &ChatsArgs,
    conn: &connect::Connection,
    sandbox: bool,
    world_file: &std::path::Path,
    now: i64,
) -> Result<(chats::Observed, bool), CliError> {
    let mut store = conn.load_store()?;
    let mut webhook = false;
    // A running `orgform watch` consumes the updates (draining here would
    // take them from it): what it recorded is in the store already.
    let watched = super::watch::ledger_status(conn, now).is_some_and(|s| s.watch.is_some());
    let ids: Vec<i64> = if !args.all_known {
        args.chats.clone()
    } else if sandbox {
        // The world as the in-process sandbox loaded it.
        let world = World::load(world_file).map_err(|e| {
            CliError::caused(format!("cannot read {}: {e}", world_file.display()), e)
        })?;
        let bot = world.bot_id();
        world
            .chats
            .values()
            .filter(|c| {
                c.migrated_to.is_none() && c.members.get(&bot).is_some_and(|m| m.is_present())
            })
            .map(|c| c.id)
            .collect()
    } else if watched {
        crate::telegram::read::discover_from_ledger(&conn.client, &store)
            .await
            .map_err(telegram_error)?
            .into_iter()
            .collect()
    } else {
        let (found, drained) = crate::telegram::read::discover(&conn.client, &mut store)
            .await
            .map_err(telegram_error)?;
        webhook = drained.webhook_active;
        found.into_iter().collect()
    };
    if ids.is_empty() {
        return Err(CliError::with_hint(
            "no chats to import",
            if args.all_known {
                "the bot knows no chats yet: add it to a chat (updates then show it), or name chats with --chat ID"
            } else {
                "name chats with --chat ID"
            },
        ));
    }
    // For real Telegram with --all-known, discovery has drained the updates already.
    if (!args.all_known || sandbox) && !watched {
        let drained = crate::telegram::read::drain_updates_of(&conn.client, &ids, &mut store)
            .await
            .map_err(telegram_error)?;
        webhook = drained.webhook_active;
    }
    let observed = chats::read(&conn.client, &mut store, &ids, now)
        .await
        .map_err(super::plan::read_error)?;
    conn.save_store(&store)?;
    Ok((observed, webhook))
}

fn telegram_error(e: crate::telegram::error::Error) -> CliError {
    let hint = e.hint();
    CliError::from_source(e, hint)
}

fn run_people(args: PeopleArgs) -> Result<u8, CliError> {
    let mut map = Vec::new();
    for m in &args.map {
        let Some((column, field)) = m.split_once('=') else {
            return Err(CliError::with_hint(
                format!("--map {m:?} is not COLUMN=FIELD"),
                "e.g. --map \"Telegram=telegram_id\"",
            ));
        };
        let Some(field) = Field::parse(field) else {
            return Err(CliError::with_hint(
                format!("--map {m:?}: unknown field {field:?}"),
                "fields: handle, telegram_id, name, username, department, roles, labels, label.KEY, status, ignore",
            ));
        };
        map.push((column.to_string(), field));
    }
    let options = PeopleOptions {
        from: args.from.clone(),
        sheet: args.sheet.clone(),
        map,
        out: args.out.clone(),
        partial: args.partial,
        offboard_missing: args.offboard_missing,
        force: args.force,
    };
    let report = people::import(&options).map_err(import_error)?;
    out!(
        "{}",
        crate::render::escape::terminal_text(&crate::render::import::people_text(&report))
    )?;
    let Some(text) = &report.text else {
        return Ok(exit::ERROR);
    };
    // With other config beside it, the result must still load.
    let dir_path = args
        .out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let dir = ConfigDir::scan(dir_path).map_err(import_error)?;
    let out_path = dir_path.join(args.out.file_name().unwrap_or_default());
    if dir.files.iter().any(|f| f.path != out_path) {
        dir.check_with(&[(out_path, text.clone())], jiff::Timestamp::now())?;
    }
    let outcome = crate::import::write_if_changed(&args.out, text).map_err(import_error)?;
    outln!("{}: {}", args.out.display(), outcome.label())?;
    Ok(exit::OK)
}
