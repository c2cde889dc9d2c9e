//! Reading the config at a git revision, straight from git objects (git2):
//! the same file selection as `config::load` (a file, or every `*.yaml`,
//! `*.yml` and `*.kdl` below a directory, hidden folders skipped), the
//! merge-base of two revisions, and the config files that changed between
//! them.
//!
//! The working tree is never read here except by [`Repo::changed_files`]
//! when it is asked to compare against it. Every failure a user can fix
//! (a revision that was not fetched, a shallow clone that lacks the commit,
//! a path missing at a revision) is a [`GitError`] whose [`GitError::hint`]
//! says what to fetch.

use std::path::{Component, Path, PathBuf};

use git2::{Commit, Delta, DiffFindOptions, DiffOptions, ObjectType, Oid, Repository, Tree};
use serde::Serialize;

use crate::config::{self, Diagnostic, diagnostic::codes};

/// What went wrong reading git.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("{} is not inside a git repository", path.display())]
    NotARepo { path: PathBuf },
    #[error("the repository at {} has no working tree (bare repository)", path.display())]
    Bare { path: PathBuf },
    #[error("{} is outside the repository at {}", path.display(), workdir.display())]
    OutsideRepo { path: PathBuf, workdir: PathBuf },
    #[error("revision `{rev}` does not exist in this repository{}", if *shallow { " (a shallow clone)" } else { "" })]
    UnknownRevision { rev: String, shallow: bool },
    #[error("`{base}` and `{head}` have no common ancestor in this {}", if *shallow { "shallow clone: the history between them was not fetched" } else { "repository" })]
    NoMergeBase {
        base: String,
        head: String,
        shallow: bool,
    },
    #[error("the repository has no commits yet, so there is no HEAD to compare with")]
    NoHead,
    #[error("the config path `{path}` does not exist at `{rev}` ({commit})")]
    PathMissing {
        path: String,
        rev: String,
        commit: String,
    },
    #[error("git: {0}")]
    Git(#[from] git2::Error),
}

impl GitError {
    /// What to do about it: which history to fetch, or which path to check.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            GitError::NotARepo { .. } => "run orgform inside a clone of the config repository (`orgform diff` compares git revisions)".into(),
            GitError::Bare { .. } => "run orgform in a clone with a working tree".into(),
            GitError::OutsideRepo { .. } => "pass a config path inside the repository".into(),
            GitError::UnknownRevision { rev, shallow } => {
                let fetch = fetch_command(rev);
                if *shallow {
                    format!(
                        "this is a shallow clone: fetch the revision with `{fetch}` (or all history with `git fetch --unshallow`); \
                         in GitHub Actions give actions/checkout `fetch-depth: 0`"
                    )
                } else {
                    format!("fetch it first with `{fetch}`, or check the spelling; in GitHub Actions give actions/checkout `fetch-depth: 0`")
                }
            }
            GitError::NoMergeBase { shallow: true, .. } => {
                "fetch the missing history with `git fetch --unshallow` (or `git fetch --deepen=100`); \
                 in GitHub Actions give actions/checkout `fetch-depth: 0`"
                    .into()
            }
            GitError::NoMergeBase { shallow: false, .. } => {
                "the two revisions share no history; compare revisions of the same branch line".into()
            }
            GitError::NoHead => "commit the config first, or pass --head REV".into(),
            GitError::PathMissing { path, rev, .. } => {
                let parent = Path::new(path).parent().map(|p| p.display().to_string()).filter(|p| !p.is_empty()).unwrap_or_else(|| ".".into());
                format!(
                    "the path is taken relative to the repository root; see what exists there with `git ls-tree --name-only {rev} {parent}/`. \
                     If the config was added or moved since, compare from a revision that has it"
                )
            }
            GitError::Git(_) => return None,
        })
    }
}

/// `git fetch` for a revision as typed: `origin/main` → `git fetch origin main`.
fn fetch_command(rev: &str) -> String {
    let plain = rev.trim_start_matches("refs/remotes/");
    match plain.split_once('/') {
        Some((remote, branch)) if remote == "origin" || remote == "upstream" => {
            format!("git fetch {remote} {branch}")
        }
        _ => format!("git fetch origin {rev}"),
    }
}

/// A resolved revision: what was asked for and the commit it names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Revision {
    /// As typed (`origin/main`, `HEAD~2`, a commit id).
    pub rev: String,
    /// The full commit id.
    pub commit: String,
}

impl Revision {
    /// The first 12 characters of the commit id.
    pub fn short(&self) -> &str {
        &self.commit[..self.commit.len().min(12)]
    }
}

/// How a config file changed between two revisions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    Added,
    Deleted,
    Modified,
    /// Moved or renamed, perhaps edited too.
    Renamed,
}

/// One changed config file, with paths relative to the repository root.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct FileChange {
    pub status: FileStatus,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_path: Option<String>,
}

/// A repository and where its working tree is.
pub struct Repo {
    repo: Repository,
    workdir: PathBuf,
}

impl Repo {
    /// The repository holding `path` (a config file or directory, which need
    /// not exist in the working tree; its nearest existing ancestor is used).
    pub fn discover(path: &Path) -> Result<Repo, GitError> {
        let abs = absolute(path)?;
        let mut start = abs.as_path();
        while !start.exists() {
            start = start.parent().unwrap_or(Path::new("/"));
        }
        let repo = Repository::discover(start).map_err(|_| GitError::NotARepo {
            path: path.to_path_buf(),
        })?;
        let workdir = repo.workdir().ok_or_else(|| GitError::Bare {
            path: repo.path().to_path_buf(),
        })?;
        let workdir = workdir
            .canonicalize()
            .unwrap_or_else(|_| workdir.to_path_buf());
        Ok(Repo { repo, workdir })
    }

    /// The working tree's root.
    pub fn workdir(&self) -> &Path {
        &self.workdir
    }

    /// Whether this is a shallow clone.
    pub fn is_shallow(&self) -> bool {
        self.repo.is_shallow()
    }

    /// `path` (relative to the current directory, or absolute) as a path
    /// inside the repository, with `/` separators; `""` is the root.
    pub fn path_in_repo(&self, path: &Path) -> Result<String, GitError> {
        let abs = absolute(path)?;
        // Canonicalise the longest existing prefix (symlinked temp dirs),
        // then put back what does not exist (yet).
        let mut existing = abs.clone();
        let mut rest: Vec<std::ffi::OsString> = Vec::new();
        while !existing.exists() {
            let Some(name) = existing.file_name() else {
                break;
            };
            rest.push(name.to_os_string());
            existing.pop();
        }
        let mut full = existing.canonicalize().unwrap_or(existing);
        for name in rest.into_iter().rev() {
            full.push(name);
        }
        let rel = full
            .strip_prefix(&self.workdir)
            .map_err(|_| GitError::OutsideRepo {
                path: path.to_path_buf(),
                workdir: self.workdir.clone(),
            })?;
        Ok(rel
            .components()
            .filter_map(|c| c.as_os_str().to_str())
            .collect::<Vec<_>>()
            .join("/"))
    }

    /// Resolve a revision to a commit.
    pub fn revision(&self, rev: &str) -> Result<Revision, GitError> {
        let commit = self.commit(rev)?;
        Ok(Revision {
            rev: rev.to_string(),
            commit: commit.id().to_string(),
        })
    }

    /// The commit HEAD points at.
    pub fn head(&self) -> Result<Revision, GitError> {
        let head = self.repo.head().map_err(|_| GitError::NoHead)?;
        let commit = head.peel_to_commit().map_err(|_| GitError::NoHead)?;
        Ok(Revision {
            rev: "HEAD".into(),
            commit: commit.id().to_string(),
        })
    }

    fn commit(&self, rev: &str) -> Result<Commit<'_>, GitError> {
        let unknown = || GitError::UnknownRevision {
            rev: rev.to_string(),
            shallow: self.repo.is_shallow(),
        };
        let object = self.repo.revparse_single(rev).map_err(|_| unknown())?;
        object.peel_to_commit().map_err(|_| unknown())
    }

    /// The best common ancestor of two revisions: what a pull request is
    /// compared with (`git diff base...head`).
    pub fn merge_base(&self, base: &Revision, head: &Revision) -> Result<Revision, GitError> {
        let a = Oid::from_str(&base.commit)?;
        let b = Oid::from_str(&head.commit)?;
        match self.repo.merge_base(a, b) {
            Ok(oid) => Ok(Revision {
                rev: base.rev.clone(),
                commit: oid.to_string(),
            }),
            Err(e) if e.code() == git2::ErrorCode::NotFound => Err(GitError::NoMergeBase {
                base: base.rev.clone(),
                head: head.rev.clone(),
                shallow: self.repo.is_shallow(),
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// The config at a revision, read from git objects: `path` is inside the
    /// repository (see [`Repo::path_in_repo`]). File names in diagnostics
    /// read `REV:path`.
    pub fn load_config(&self, at: &Revision, path: &str) -> Result<config::Loaded, GitError> {
        let commit = self.repo.find_commit(Oid::from_str(&at.commit)?)?;
        let root = commit.tree()?;
        let missing = || GitError::PathMissing {
            path: path.to_string(),
            rev: at.rev.clone(),
            commit: at.short().to_string(),
        };
        let mut files: Vec<(PathBuf, Oid)> = Vec::new();
        if path.is_empty() {
            self.collect(&root, Path::new(""), &mut files)?;
        } else {
            let entry = root.get_path(Path::new(path)).map_err(|_| missing())?;
            match entry.kind() {
                Some(ObjectType::Tree) => {
                    let tree = self.repo.find_tree(entry.id())?;
                    self.collect(&tree, Path::new(path), &mut files)?;
                }
                Some(ObjectType::Blob) => files.push((PathBuf::from(path), entry.id())),
                _ => return Err(missing()),
            }
        }
        files.sort();
        self.load_blobs(at, files)
    }

    /// Some config files at a revision (`paths` inside the repository, as
    /// [`Repo::changed_files`] names them), loaded and merged like a whole
    /// config: what `plan --changed-since` reads of the base instead of
    /// all of it. A path missing at the revision is a [`GitError::PathMissing`].
    pub fn load_files(&self, at: &Revision, paths: &[String]) -> Result<config::Loaded, GitError> {
        let commit = self.repo.find_commit(Oid::from_str(&at.commit)?)?;
        let root = commit.tree()?;
        let mut files = Vec::new();
        for path in paths {
            let entry = root
                .get_path(Path::new(path))
                .map_err(|_| GitError::PathMissing {
                    path: path.clone(),
                    rev: at.rev.clone(),
                    commit: at.short().to_string(),
                })?;
            // What a whole load skips (a symlink, a submodule) stays out.
            if entry.kind() == Some(ObjectType::Blob) && entry.filemode() != 0o120000 {
                files.push((PathBuf::from(path), entry.id()));
            }
        }
        files.sort();
        self.load_blobs(at, files)
    }

    /// Read and load blobs, refusing any larger than a config file may be.
    fn load_blobs(
        &self,
        at: &Revision,
        files: Vec<(PathBuf, Oid)>,
    ) -> Result<config::Loaded, GitError> {
        let mut too_large: Vec<Diagnostic> = Vec::new();
        let mut inputs = Vec::new();
        for (file, oid) in files {
            let blob = self.repo.find_blob(oid)?;
            let name = format!("{}:{}", at.rev, file.display());
            if blob.size() as u64 > config::load::MAX_FILE_BYTES {
                too_large.push(
                    Diagnostic::error(
                        codes::TOO_LARGE,
                        format!(
                            "{name} is {} bytes; config files may be at most {} bytes",
                            blob.size(),
                            config::load::MAX_FILE_BYTES
                        ),
                    )
                    .hint("split the config into several files in one directory"),
                );
                continue;
            }
            inputs.push((name, file, blob.content().to_vec()));
        }
        let mut loaded = config::load::load_sources(inputs);
        if !too_large.is_empty() {
            loaded.root = None;
            for d in too_large {
                loaded.diagnostics.push(d);
            }
        }
        Ok(loaded)
    }

    /// The config files a whole load of `path` at a revision reads (paths
    /// inside the repository), without reading them.
    pub fn config_files(&self, at: &Revision, path: &str) -> Result<Vec<String>, GitError> {
        let commit = self.repo.find_commit(Oid::from_str(&at.commit)?)?;
        let root = commit.tree()?;
        let mut files: Vec<(PathBuf, Oid)> = Vec::new();
        if path.is_empty() {
            self.collect(&root, Path::new(""), &mut files)?;
        } else if let Ok(entry) = root.get_path(Path::new(path)) {
            match entry.kind() {
                Some(ObjectType::Tree) => {
                    let tree = self.repo.find_tree(entry.id())?;
                    self.collect(&tree, Path::new(path), &mut files)?;
                }
                Some(ObjectType::Blob) => files.push((PathBuf::from(path), entry.id())),
                _ => {}
            }
        }
        let text = |p: &Path| p.to_string_lossy().replace('\\', "/");
        Ok(files.iter().map(|(p, _)| text(p)).collect())
    }

    /// A file's bytes at a revision (`path` inside the repository).
    pub fn read_file(&self, at: &Revision, path: &Path) -> Result<Vec<u8>, GitError> {
        let commit = self.repo.find_commit(Oid::from_str(&at.commit)?)?;
        let missing = || GitError::PathMissing {
            path: path.display().to_string(),
            rev: at.rev.clone(),
            commit: at.short().to_string(),
        };
        let entry = commit.tree()?.get_path(path).map_err(|_| missing())?;
        if entry.kind() != Some(ObjectType::Blob) {
            return Err(missing());
        }
        Ok(self.repo.find_blob(entry.id())?.content().to_vec())
    }

    /// Every config file below `tree`, hidden entries skipped, like
    /// `config::load` does on disk. Symlinks and submodules are skipped.
    fn collect(
        &self,
        tree: &Tree<'_>,
        prefix: &Path,
        out: &mut Vec<(PathBuf, Oid)>,
    ) -> Result<(), GitError> {
        for entry in tree.iter() {
            let Ok(name) = entry.name() else { continue };
            if name.starts_with('.') {
                continue;
            }
            let path = prefix.join(name);
            match entry.kind() {
                Some(ObjectType::Tree) => {
                    let sub = self.repo.find_tree(entry.id())?;
                    self.collect(&sub, &path, out)?;
                }
                Some(ObjectType::Blob) if entry.filemode() != 0o120000 && is_config_file(&path) => {
                    out.push((path, entry.id()))
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Config files under `path` that differ between `base` and `head`
    /// (`None` = the working tree, untracked files included). Renames are
    /// detected, so a moved file shows as one `renamed` entry.
    pub fn changed_files(
        &self,
        base: &Revision,
        head: Option<&Revision>,
        path: &str,
    ) -> Result<Vec<FileChange>, GitError> {
        let path_in_repo = path;
        let old = self
            .repo
            .find_commit(Oid::from_str(&base.commit)?)?
            .tree()?;
        let mut opts = DiffOptions::new();
        if !path.is_empty() {
            opts.pathspec(path);
        }
        opts.include_untracked(head.is_none())
            .recurse_untracked_dirs(true);
        let mut diff = match head {
            Some(h) => {
                let new = self.repo.find_commit(Oid::from_str(&h.commit)?)?.tree()?;
                self.repo
                    .diff_tree_to_tree(Some(&old), Some(&new), Some(&mut opts))?
            }
            None => self
                .repo
                .diff_tree_to_workdir_with_index(Some(&old), Some(&mut opts))?,
        };
        let mut find = DiffFindOptions::new();
        find.renames(true).for_untracked(true);
        diff.find_similar(Some(&mut find))?;
        let text = |p: Option<&Path>| p.map(|p| p.to_string_lossy().replace('\\', "/"));
        let mut out = Vec::new();
        for delta in diff.deltas() {
            let new_path = text(delta.new_file().path());
            let old_path = text(delta.old_file().path());
            let (status, path, old_path) = match delta.status() {
                Delta::Added | Delta::Untracked => (FileStatus::Added, new_path, None),
                Delta::Deleted => (FileStatus::Deleted, old_path, None),
                Delta::Modified | Delta::Typechange => (FileStatus::Modified, new_path, None),
                Delta::Renamed | Delta::Copied => (FileStatus::Renamed, new_path, old_path),
                _ => continue,
            };
            let Some(path) = path else { continue };
            let relevant = |p: &str| {
                is_config_file(Path::new(p)) && !hidden(p.strip_prefix(path_in_repo).unwrap_or(p))
            };
            if relevant(&path) || old_path.as_deref().is_some_and(relevant) {
                out.push(FileChange {
                    status,
                    path,
                    old_path,
                });
            }
        }
        out.sort();
        Ok(out)
    }
}

impl FileChange {
    /// Where the file was at the base, if it was a config file there
    /// (below `config_path`, the config's path inside the repository).
    pub fn base_path(&self, config_path: &str) -> Option<&str> {
        let path = match self.status {
            FileStatus::Added => return None,
            FileStatus::Deleted | FileStatus::Modified => &self.path,
            FileStatus::Renamed => self.old_path.as_ref()?,
        };
        config_file_below(path, config_path).then_some(path.as_str())
    }

    /// Where the file is at the head, if it is a config file there.
    pub fn head_path(&self, config_path: &str) -> Option<&str> {
        (self.status != FileStatus::Deleted && config_file_below(&self.path, config_path))
            .then_some(self.path.as_str())
    }
}

/// Whether `path` (inside the repository) is a file a load of
/// `config_path` reads.
fn config_file_below(path: &str, config_path: &str) -> bool {
    let below = if config_path.is_empty() {
        Some(path)
    } else if path == config_path {
        Some("")
    } else {
        path.strip_prefix(config_path)
            .and_then(|rest| rest.strip_prefix('/'))
    };
    below.is_some_and(|rest| is_config_file(Path::new(path)) && !hidden(rest))
}

/// Whether a path (below the config path) has a hidden component: those
/// are not part of the config.
fn hidden(p: &str) -> bool {
    p.split('/').any(|c| c.starts_with('.'))
}

fn is_config_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e, "yaml" | "yml" | "kdl"))
}

/// `path` made absolute against the current directory, `.` and `..`
/// removed without touching the file system.
fn absolute(path: &Path) -> Result<PathBuf, GitError> {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|_| GitError::NotARepo {
                path: path.to_path_buf(),
            })?
            .join(path)
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    Ok(out)
}
