//! `orgform diff`: the effective access diff between two git revisions of
//! the config (or a revision and the working tree), without contacting
//! Telegram. Also what `plan --changed-since` uses to find the chats a
//! change touches.

use super::output::{out, outln};
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use jiff::Timestamp;

use super::error::{CliError, exit};
use crate::access::{self, AccessDiff, Side};
use crate::git::{GitError, Repo, Revision};
use crate::model::Model;
use crate::render::access_diff::{self as render, Compared};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    Text,
    Markdown,
    Json,
}

#[derive(Args, Debug)]
#[command(
    after_help = "The base is compared at its merge-base with the head, like `git diff BASE...HEAD`, so a pull request \
                        shows only its own changes. Renaming or moving config files is not a change; only what the config \
                        resolves to counts.\n\n\
                        Policy rules are checked at both revisions: violations the change introduces are told apart \
                        from those that were there before.\n\n\
                        A change that introduces a violation of a deny rule exits 3."
)]
pub struct DiffArgs {
    /// The revision to compare with: a branch, tag or commit (e.g. origin/main).
    #[arg(long, value_name = "REV")]
    pub base: String,
    /// The revision to compare [default: the working tree, uncommitted and untracked files included].
    #[arg(long, value_name = "REV")]
    pub head: Option<String>,
    /// A config file or directory, as it is in the working tree (the same path is read at both revisions)
    /// [default: ./org/ if it exists, else ./orgform.yaml (.yml, .kdl)].
    #[arg(
        default_value_os_t = crate::config::load::default_path(),
        hide_default_value = true,
        value_name = "CONFIG-PATH"
    )]
    pub config: PathBuf,
    #[arg(long, value_enum, default_value = "text")]
    pub format: DiffFormat,
    /// Resolve both sides as of this instant (RFC 3339) instead of now: grants expire by it.
    #[arg(long)]
    pub now: Option<String>,
}

/// A git problem as a CLI error with what to fetch.
pub fn git_error(e: GitError) -> CliError {
    let hint = e.hint();
    CliError::from_source(e, hint)
}

/// The base side of a comparison: where the config lives in the repository,
/// the revision as given, the merge-base actually compared, and the
/// resolved config there.
pub struct BaseSide {
    pub repo: Repo,
    pub path: String,
    pub base: Revision,
    pub merge_base: Revision,
    pub model: Model,
}

/// Resolve the base against a head (`None` = the working tree, whose merge
/// point is HEAD) and load the config at the merge-base.
pub fn load_base(
    config: &Path,
    base: &str,
    head: Option<&Revision>,
    repo: Repo,
    now: Timestamp,
) -> Result<BaseSide, CliError> {
    let path = repo.path_in_repo(config).map_err(git_error)?;
    let base_rev = repo.revision(base).map_err(git_error)?;
    let head_commit = match head {
        Some(h) => h.clone(),
        None => repo.head().map_err(git_error)?,
    };
    let merge_base = repo
        .merge_base(&base_rev, &head_commit)
        .map_err(git_error)?;
    let loaded = repo.load_config(&merge_base, &path).map_err(git_error)?;
    let mut model = crate::model::from_loaded(loaded, now).map_err(|e| {
        eprintln!(
            "error: the config at {} ({}) does not load:",
            base_rev.rev,
            merge_base.short()
        );
        CliError::from(e)
    })?;
    photos_at(&mut model, &repo, &merge_base);
    Ok(BaseSide {
        repo,
        path,
        base: base_rev,
        merge_base,
        model,
    })
}

/// Hash the chat photos of a config loaded from git with the files of the
/// same revision, so photos compare by content across revisions. A photo
/// that cannot be read there stays unhashed (a note says so): history is
/// reported on, not refused.
fn photos_at(model: &mut Model, repo: &Repo, at: &Revision) {
    let files = PhotosAt { repo, at };
    let problems =
        crate::model::photo::digest(&model.config, &model.root, &mut model.desired, &files);
    for d in problems.iter() {
        eprintln!("note: {}", d.message);
    }
}

/// The access diff between two loaded models.
pub fn compare(base: &Model, head: &Model) -> AccessDiff {
    access::diff(
        Side {
            desired: &base.desired,
            config: Some(&base.config),
        },
        Side {
            desired: &head.desired,
            config: Some(&head.config),
        },
    )
}

/// Chats (config keys at the head) whose desired state differs between
/// `rev` and the working tree's `head` model.
///
/// The base is rebuilt from the head and the files that changed
/// (`model::since`); only when that cannot be done (a section it does not
/// know, a base that would not load) is the base loaded in full.
pub fn changed_chats_since(
    config: &Path,
    rev: &str,
    head: &Model,
    now: Timestamp,
) -> Result<Vec<String>, CliError> {
    let repo = Repo::discover(config).map_err(git_error)?;
    let path = repo.path_in_repo(config).map_err(git_error)?;
    let base_rev = repo.revision(rev).map_err(git_error)?;
    let head_commit = repo.head().map_err(git_error)?;
    let merge_base = repo
        .merge_base(&base_rev, &head_commit)
        .map_err(git_error)?;
    match spliced_base(&repo, &path, &merge_base, head, now).map_err(git_error)? {
        Ok(Some(base)) => {
            // Freeing the base costs time and the process ends soon.
            let base = std::mem::ManuallyDrop::new(base);
            // Only the chats the change can touch were resolved at the
            // base: compare those of the head with them.
            let partial;
            let head_desired = match &base.chats {
                None => &head.desired,
                Some(only) => {
                    let mut d = crate::state::DesiredState {
                        people: head.desired.people.clone(),
                        ..Default::default()
                    };
                    d.state.chats = head
                        .desired
                        .state
                        .chats
                        .iter()
                        .filter(|(k, _)| only.contains(*k))
                        .map(|(k, c)| (k.clone(), c.clone()))
                        .collect();
                    partial = d;
                    &partial
                }
            };
            // Without configs: they only serve the people's profile
            // changes, which do not decide which chats to read.
            Ok(access::diff(
                Side {
                    desired: &base.desired,
                    config: None,
                },
                Side {
                    desired: head_desired,
                    config: None,
                },
            )
            .changed_chats())
        }
        Ok(None) => Ok(Vec::new()),
        Err(why) => {
            tracing::debug!("--changed-since: loading {rev} in full ({})", why.0);
            changed_chats_since_in_full(config, rev, head, now)
        }
    }
}

/// [`changed_chats_since`] the slow way: the config at the base loaded,
/// checked and resolved in full.
pub fn changed_chats_since_in_full(
    config: &Path,
    rev: &str,
    head: &Model,
    now: Timestamp,
) -> Result<Vec<String>, CliError> {
    let repo = Repo::discover(config).map_err(git_error)?;
    let base = load_base(config, rev, None, repo, now)?;
    Ok(compare(&base.model, head).changed_chats())
}

/// The base of a `--changed-since` comparison, rebuilt from the head.
pub struct Spliced {
    pub config: crate::model::Config,
    /// Only the chats of `chats` (all when `None`), and every person.
    pub desired: crate::state::DesiredState,
    /// The chats the change can touch (see `model::since::Base::chats`).
    pub chats: Option<std::collections::BTreeSet<String>>,
}

/// The base config and its desired state, rebuilt from `head` and the
/// config files that differ; `Ok(None)` when nothing differs (no config
/// file and no chat photo), a fallback when the base must be loaded whole.
pub fn spliced_base(
    repo: &Repo,
    path: &str,
    merge_base: &Revision,
    head: &Model,
    now: Timestamp,
) -> Result<Result<Option<Spliced>, crate::model::since::Fallback>, GitError> {
    use crate::model::since::{self, Fallback};
    use std::collections::{BTreeMap, BTreeSet};
    let files = repo.changed_files(merge_base, None, path)?;
    let has_photo = head
        .config
        .chats
        .values()
        .chain(head.config.templates.values())
        .any(|c| c.photo.is_some());
    let repo_paths: BTreeMap<crate::config::FileId, String> = head
        .sources
        .files()
        .filter_map(|(id, f)| repo.path_in_repo(&f.path).ok().map(|p| (id, p)))
        .collect();
    let head_changed: BTreeSet<&str> = files.iter().filter_map(|f| f.head_path(path)).collect();
    let base_changed: Vec<String> = files
        .iter()
        .filter_map(|f| f.base_path(path).map(str::to_string))
        .collect();
    // Every head file is either changed or the same file at the base, and
    // the other way round (a git-ignored config file is neither).
    let base_files: BTreeSet<String> = repo.config_files(merge_base, path)?.into_iter().collect();
    let head_files: BTreeSet<&str> = repo_paths.values().map(String::as_str).collect();
    let same_files = repo_paths.len() == head.sources.files().count()
        && head_files
            .iter()
            .all(|p| head_changed.contains(p) || base_files.contains(*p))
        && base_files
            .iter()
            .all(|p| base_changed.contains(p) || head_files.contains(p.as_str()));
    if !same_files {
        return Ok(Err(Fallback(
            "the config files are not the same set as the base's".into(),
        )));
    }
    if files.is_empty() && !has_photo {
        return Ok(Ok(None));
    }
    let changed: BTreeSet<crate::config::FileId> = repo_paths
        .iter()
        .filter(|(_, p)| head_changed.contains(p.as_str()))
        .map(|(id, _)| *id)
        .collect();
    let old = if base_changed.is_empty() {
        crate::config::Loaded::default()
    } else {
        repo.load_files(merge_base, &base_changed)?
    };
    let base = match since::base_config(head, &changed, &old, &|id| repo_paths.get(&id).cloned()) {
        Ok(base) => base,
        Err(why) => return Ok(Err(why)),
    };
    let config = base.config;
    let mut desired = match &base.chats {
        None => crate::model::resolve::resolve(&config, now),
        Some(only) => crate::model::resolve::resolve_chats(&config, now, only),
    };
    let files = PhotosAt {
        repo,
        at: merge_base,
    };
    let empty = crate::config::Node::new(crate::config::Value::Map(Vec::new()), Default::default());
    let problems = crate::model::photo::digest(&config, &empty, &mut desired, &files);
    for d in problems.iter() {
        eprintln!("note: {}", d.message);
    }
    Ok(Ok(Some(Spliced {
        config,
        desired,
        chats: base.chats,
    })))
}

/// The chats a `--changed-since REV` plan reads: those that changed plus
/// those the store has never read (they have no baseline yet), in config
/// order. Says on stderr what was chosen and why.
pub fn targeted(
    rev: &str,
    changed: Vec<String>,
    desired: &crate::state::DesiredState,
    store: &crate::store::Store,
) -> Vec<String> {
    let never_read: Vec<&String> = desired
        .state
        .chats
        .iter()
        .filter(|(k, c)| !changed.contains(k) && store.never_read(c.id))
        .map(|(k, _)| k)
        .collect();
    let only: Vec<String> = desired
        .state
        .chats
        .keys()
        .filter(|k| changed.contains(k) || never_read.contains(k))
        .cloned()
        .collect();
    let list = |v: &[&String]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        }
    };
    let changed_refs: Vec<&String> = changed.iter().collect();
    eprintln!(
        "--changed-since {rev}: reading {} of {} chats (changed: {}; never read before: {}).",
        only.len(),
        desired.state.chats.len(),
        list(&changed_refs),
        list(&never_read),
    );
    only
}

pub fn run(args: DiffArgs) -> Result<u8, CliError> {
    let now = super::parse_now(args.now.as_deref())?;
    let repo = Repo::discover(&args.config).map_err(git_error)?;
    let head_rev = match &args.head {
        Some(h) => Some(repo.revision(h).map_err(git_error)?),
        None => None,
    };
    let base = load_base(&args.config, &args.base, head_rev.as_ref(), repo, now)?;
    let head_model = match &head_rev {
        Some(h) => {
            let loaded = base.repo.load_config(h, &base.path).map_err(git_error)?;
            let mut model = crate::model::from_loaded(loaded, now).map_err(|e| {
                eprintln!(
                    "error: the config at {} ({}) does not load:",
                    h.rev,
                    h.short()
                );
                CliError::from(e)
            })?;
            photos_at(&mut model, &base.repo, h);
            model
        }
        None => crate::model::load(&args.config, now)?,
    };
    let files = base
        .repo
        .changed_files(&base.merge_base, head_rev.as_ref(), &base.path)
        .map_err(git_error)?;
    let diff = compare(&base.model, &head_model);
    let compared = Compared {
        path: &base.path,
        base: &base.base,
        merge_base: &base.merge_base,
        head: head_rev.as_ref(),
        files: &files,
        diff: &diff,
    };
    // Policy rules at both sides: what this change introduces.
    let policies = crate::policy::compare(
        &crate::policy::evaluate_config(&base.model, now),
        &crate::policy::evaluate_config(&head_model, now),
    );
    let has_rules = head_model
        .config
        .policies
        .as_ref()
        .is_some_and(|p| !p.rules.is_empty());
    use crate::render::policy as policy_render;
    match args.format {
        DiffFormat::Text => {
            out!("{}", render::text(&compared, super::stdout_style()))?;
            out!(
                "{}",
                policy_render::comparison_text(&policies, super::stdout_style())
            )?;
        }
        DiffFormat::Markdown => {
            out!("{}", render::markdown(&compared))?;
            if has_rules {
                out!("\n{}", policy_render::comparison_markdown(&policies))?;
            }
        }
        DiffFormat::Json => {
            let mut v = render::json(&compared);
            v["policy"] = policy_render::comparison_json(&policies);
            outln!(
                "{}",
                serde_json::to_string_pretty(&v).expect("diff serialises")
            )?
        }
    }
    if super::github_actions() {
        eprint!("{}", policy_render::comparison_github(&policies));
    }
    if policies.denied() {
        let rules: std::collections::BTreeSet<&str> = policies
            .new
            .iter()
            .filter(|v| v.action == crate::spec::PolicyAction::Deny && v.counts())
            .map(|v| v.rule.as_str())
            .collect();
        eprintln!(
            "error: this change introduces violations of policy rule{} {}",
            if rules.len() == 1 { "" } else { "s" },
            rules.into_iter().collect::<Vec<_>>().join(", ")
        );
        return Ok(exit::REFUSED);
    }
    Ok(if diff.is_empty() {
        exit::OK
    } else {
        exit::CHANGES
    })
}

/// Chat photos read from the revision a config was loaded from: git's
/// reader behind the model's photo source, joined here at the edge so
/// neither module knows the other.
pub struct PhotosAt<'r> {
    pub repo: &'r crate::git::Repo,
    pub at: &'r crate::git::Revision,
}

impl crate::model::photo::PhotoFiles for PhotosAt<'_> {
    fn read(&self, path: &Path) -> Result<Vec<u8>, (String, &'static str)> {
        self.repo.read_file(self.at, path).map_err(|e| {
            (
                format!(
                    "cannot read the photo {} at {}: {e}",
                    path.display(),
                    self.at.rev
                ),
                "the path is relative to the file that names it",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn git_errors_carry_their_hint() {
        let e = super::git_error(crate::git::GitError::UnknownRevision {
            rev: "origin/main".into(),
            shallow: false,
        });
        let hint = e.message_and_hint().and_then(|(_, h)| h).unwrap_or("");
        assert!(hint.contains("git fetch origin main"), "{hint}");
        // The git error stays the source of the chain `-v` prints.
        assert!(std::error::Error::source(&e).is_some(), "{e:?}");
    }
}
