//! `orgform drift`: read live state, compare it with the config, and report
//! what changed by hand and who must fix it. Never changes Telegram. Exit 0
//! when there is no drift, 2 when there is (unknowns included), 1 on error.

use super::output::{out, outln};
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::connect::{self, TelegramArgs};
use super::error::{CliError, exit};
use crate::drift::folders::FolderDrift;
use crate::drift::{self, DriftInput, DriftReport, UpdateFeed};
use crate::render::drift as render;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DriftFormat {
    Text,
    /// For a GitHub issue body: summary table first, details folded.
    Markdown,
    Json,
}

#[derive(Args, Debug)]
pub struct DriftArgs {
    /// A config file or directory [default: ./org/ if it exists, else ./orgform.yaml (.yml, .kdl)].
    #[arg(default_value_os_t = crate::config::load::default_path(), hide_default_value = true)]
    pub config: PathBuf,
    #[command(flatten)]
    pub telegram: TelegramArgs,
    #[arg(long, value_enum, default_value = "text")]
    pub format: DriftFormat,
    /// Compare as of this instant (RFC 3339) instead of now.
    #[arg(long)]
    pub now: Option<String>,
    /// Take the state lock and record what the refresh learned; `--lock=false` reports
    /// read-only (nothing recorded, no lock).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub lock: bool,
}

/// Load, connect, refresh and detect. The store is saved with what the
/// refresh learned (members seen, topic service messages, update offset).
pub async fn make_report(
    conn: &connect::Connection,
    model: &crate::model::Model,
    now: jiff::Timestamp,
) -> Result<DriftReport, CliError> {
    make_report_and_live(conn, model, now)
        .await
        .map(|(report, _)| report)
}

/// [`make_report`], also returning the live state it read (for policies).
pub async fn make_report_and_live(
    conn: &connect::Connection,
    model: &crate::model::Model,
    now: jiff::Timestamp,
) -> Result<(DriftReport, crate::state::LiveState), CliError> {
    let mut store = conn.load_store()?;
    let progress = super::progress::spinner(&format!(
        "reading {} chats from Telegram",
        model.desired.state.chats.len()
    ));
    let refreshed =
        super::plan::refresh(conn, &model.desired, &mut store, now.as_second(), None).await;
    progress.finish_and_clear();
    let (live, drained) = refreshed.map_err(super::plan::read_error)?;
    conn.save_store(&store)?;
    let updates = if drained.kept_by_watch {
        UpdateFeed::Watch
    } else if drained.webhook_active {
        UpdateFeed::Webhook
    } else {
        UpdateFeed::Drained {
            updates: drained.updates,
        }
    };
    let mut report = drift::detect(&DriftInput {
        desired: &model.desired,
        live: &live,
        store: &store,
        now,
        updates,
    });
    if let Some(folders) = folder_drift(conn, model, &live, &store).await? {
        report.set_folders(folders);
    }
    // The process ends soon after: freeing the ledger is wasted work.
    std::mem::forget(store);
    Ok((report, live))
}

/// The config's chat folders against the signed-in person's (`None` when
/// the config has none). Only a person can read folders: without one the
/// report says they were not checked.
async fn folder_drift(
    conn: &connect::Connection,
    model: &crate::model::Model,
    live: &crate::state::LiveState,
    store: &crate::store::Store,
) -> Result<Option<FolderDrift>, CliError> {
    if model.config.folders.is_empty() {
        return Ok(None);
    }
    let not_checked = |reason: &str| {
        Ok(Some(FolderDrift::NotChecked {
            reason: reason.to_string(),
        }))
    };
    if !model.desired.provider.has_user() {
        return not_checked("folders need a person (org.telegram.provider: user or both)");
    }
    let Some(provider) = super::login::user_provider_if_signed_in(&conn.state_dir)? else {
        return not_checked(
            "no person is signed in (`orgform login`, or ORGFORM_TELEGRAM_SESSION)",
        );
    };
    let desired = crate::model::folders::resolve(&model.config, &model.desired);
    let matched = crate::mtproto::folders::read(&provider, &desired, &store.folders)
        .await
        .map_err(|e| {
            CliError::caused(
                format!("reading the chat folders as the signed-in person: {e}"),
                e,
            )
        })?;
    let names: std::collections::BTreeMap<crate::state::ChatId, &str> = live
        .state
        .chats
        .iter()
        .chain(model.desired.state.chats.iter())
        .map(|(k, c)| (c.id, k.as_str()))
        .collect();
    let items = crate::drift::folders::detect(
        &desired,
        &matched.live,
        &matched.gone,
        &store.folders,
        |id| {
            names
                .get(&id)
                .map_or_else(|| id.to_string(), |k| k.to_string())
        },
    );
    Ok(Some(FolderDrift::Checked { items }))
}

/// With the user provider, each drifted setting and admin seat names who
/// changed it and when, from the chat's admin log. Without a session the
/// report simply has no names.
async fn attribute(
    conn: &connect::Connection,
    desired: &crate::state::DesiredState,
    report: &mut crate::drift::DriftReport,
) -> Result<(), CliError> {
    if !desired.provider.has_user() {
        return Ok(());
    }
    let handles: std::collections::BTreeMap<&str, i64> = desired
        .people
        .iter()
        .map(|(id, p)| (p.handle.as_str(), *id))
        .collect();
    let mut wanted = Vec::new();
    for chat in &report.chats {
        for item in &chat.items {
            let address = item.address.to_string();
            if !attributable(&address) {
                continue;
            }
            let person = item
                .person
                .as_deref()
                .and_then(|h| handles.get(h).copied())
                .or_else(|| address.rsplit('.').next().and_then(|s| s.parse().ok()));
            wanted.push((chat.id, address, person));
        }
    }
    if wanted.is_empty() {
        return Ok(());
    }
    let Some(provider) = super::login::user_provider_if_signed_in(&conn.state_dir)? else {
        return Ok(());
    };
    let found = crate::mtproto::read::attribute(&provider, &wanted)
        .await
        .map_err(|e| CliError::caused(format!("reading the admin logs: {e}"), e))?;
    let mut found = found.into_iter();
    for chat in &mut report.chats {
        for item in &mut chat.items {
            if attributable(&item.address.to_string()) {
                item.changed_by = found.next().flatten();
            }
        }
    }
    Ok(())
}

/// A setting (`chat.KEY.FIELD`) or an admin seat (`chat.KEY.admin.WHO`).
fn attributable(address: &str) -> bool {
    let parts: Vec<&str> = address.split('.').collect();
    parts.len() == 3 || (parts.len() == 4 && parts[2] == "admin")
}

pub fn run(args: DriftArgs) -> Result<u8, CliError> {
    let now = super::parse_now(args.now.as_deref())?;
    // Not freed: the process ends after printing.
    let model = std::mem::ManuallyDrop::new(crate::model::load(&args.config, now)?);
    let rt = connect::runtime()?;
    let (mut report, live, state_dir) =
        connect::block_on_interruptible(&rt, "nothing was changed", async {
            let conn = connect::connect(
                &args.telegram,
                &model.desired,
                connect::config_api_url(&model.config),
            )
            .await?;
            super::plan::lock_or_read_only(&conn, args.lock, "drift", now)?;
            let result = match make_report_and_live(&conn, &model, now).await {
                Ok((mut report, live)) => {
                    attribute(&conn, &model.desired, &mut report).await?;
                    Ok((report, live))
                }
                Err(e) => Err(e),
            };
            let state_dir = conn.state_dir.clone();
            let ledger = super::watch::ledger_status(&conn, now.as_second());
            let invites =
                super::watch::pending_invites(&conn, &|u| model.desired.handle(u), now.as_second());
            conn.close().await?;
            result.map(|(r, l)| (r, l, (state_dir, ledger, invites)))
        })?;
    let (state_dir, ledger, invites) = state_dir;
    super::watch::mark_undelivered(&mut report, &invites);
    // Policy rules over live Telegram: what people changed by hand that
    // breaks a rule (a stranger made admin, a contractor added to finance).
    // Chats that could not be read are judged by the config instead.
    let mut live_state = live.state.clone();
    for (key, chat) in &model.desired.state.chats {
        live_state
            .chats
            .entry(key.clone())
            .or_insert_with(|| chat.clone());
    }
    let policy = crate::policy::evaluate_state(
        &model,
        &live_state,
        live.bot.as_ref().map(|b| b.id),
        now,
        "live",
    );
    super::plan::record_audit(&state_dir, &policy, "drift", now);
    use crate::render::policy as policy_render;
    match args.format {
        DriftFormat::Text => {
            out!("{}", render::text(&report, super::stdout_style()))?;
            out!("{}", policy_render::text(&policy, super::stdout_style()))?;
            out!("{}", super::watch::ledger_text(ledger.as_ref()))?;
            out!("{}", crate::watch::invites::text(&invites))?;
        }
        DriftFormat::Markdown => {
            out!("{}", render::markdown(&report))?;
            out!("{}", super::watch::ledger_text(ledger.as_ref()))?;
            out!("{}", crate::watch::invites::text(&invites))?;
            if policy.rules > 0 {
                out!("\n{}", policy_render::markdown(&policy))?;
            }
        }
        DriftFormat::Json => {
            let mut v = render::json(&report);
            v["policy"] = policy_render::json(&policy);
            if let Some(l) = &ledger {
                v["ledger"] = serde_json::to_value(l).expect("serialises");
            }
            if !invites.is_empty() {
                v["invites_waiting"] = serde_json::to_value(&invites).expect("serialises");
            }
            outln!(
                "{}",
                serde_json::to_string_pretty(&v).expect("report serialises")
            )?
        }
    }
    if super::github_actions() {
        eprint!("{}", policy_render::github(&policy));
    }
    let violated = policy.count(crate::spec::PolicyAction::Deny)
        + policy.count(crate::spec::PolicyAction::Warn)
        > 0;
    // A stale ledger is an unknown: people may be in chats nobody saw join.
    let stale = ledger.as_ref().is_some_and(|l| l.stale.is_some());
    Ok(if report.has_drift() || violated || stale {
        exit::CHANGES
    } else {
        exit::OK
    })
}
