//! The store on disk: `<state-dir>/state.json`, where the state dir is
//! `--state-dir`, else `ORGFORM_STATE_DIR`, else `.orgform/` in the current
//! directory (the CLI passes the values in).
//!
//! The file is JSON with a `format_version`, readable only by its owner
//! (0600, in a 0700 directory), and written atomically: a temporary file in
//! the same directory, fsync, rename, fsync of the directory. A file that
//! does not parse, or that a newer orgform wrote, is an error with a hint;
//! it is never replaced silently, because what it remembers (topic thread
//! ids, invite links) cannot be read back from Telegram.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use super::{FORMAT_VERSION, Store};

/// The file inside the state dir.
pub const FILE_NAME: &str = "state.json";
/// The state dir when neither flag nor environment names one.
pub const DEFAULT_DIR: &str = ".orgform";

/// `--state-dir` > `ORGFORM_STATE_DIR` > `<cwd>/.orgform`. Empty values count as unset.
pub fn state_dir(flag: Option<&Path>, env: Option<&OsStr>, cwd: &Path) -> PathBuf {
    let chosen = flag
        .map(Path::as_os_str)
        .into_iter()
        .chain(env)
        .find(|v| !v.is_empty());
    match chosen {
        Some(dir) => {
            let dir = Path::new(dir);
            if dir.is_absolute() {
                dir.to_path_buf()
            } else {
                cwd.join(dir)
            }
        }
        None => cwd.join(DEFAULT_DIR),
    }
}

/// The store file in a state dir.
pub fn store_path(state_dir: &Path) -> PathBuf {
    state_dir.join(FILE_NAME)
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot read the state store {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write the state store {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the state store {path} is not valid ({detail}); it was left untouched. hint: restore it from a backup, or move it aside to start a fresh store (topic ids and invite links orgform created cannot be read back from Telegram and would be forgotten)"
    )]
    Corrupt { path: String, detail: String },
    #[error(
        "the state store {path} has format version {found}, but this orgform understands up to {supported}; it was left untouched. hint: use the newer orgform that wrote it"
    )]
    Newer {
        path: String,
        found: u64,
        supported: u32,
    },
}

/// Load the store from a state dir; a missing file is an empty store.
pub fn load(state_dir: &Path) -> Result<Store, StoreError> {
    let path = store_path(state_dir);
    let shown = path.display().to_string();
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Store::default()),
        Err(source) => {
            return Err(StoreError::Read {
                path: shown,
                source,
            });
        }
    };
    parse(&bytes, &shown)
}

/// Parse store bytes (`path` names them in errors).
pub fn parse(bytes: &[u8], path: &str) -> Result<Store, StoreError> {
    let corrupt = |detail: String| StoreError::Corrupt {
        path: path.to_string(),
        detail,
    };
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| corrupt(format!("not JSON: {e}")))?;
    let Some(object) = value.as_object() else {
        return Err(corrupt("not a JSON object".into()));
    };
    let version = match object.get("format_version") {
        Some(v) => v
            .as_u64()
            .ok_or_else(|| corrupt("format_version is not a number".into()))?,
        None => return Err(corrupt("no format_version".into())),
    };
    if version > u64::from(FORMAT_VERSION) {
        return Err(StoreError::Newer {
            path: path.to_string(),
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    serde_json::from_value(value).map_err(|e| corrupt(e.to_string()))
}

/// Write the store atomically into a state dir (created 0700 if missing),
/// with mode 0600.
pub fn save(state_dir: &Path, store: &Store) -> Result<(), StoreError> {
    let path = store_path(state_dir);
    let err = |source| StoreError::Write {
        path: path.display().to_string(),
        source,
    };
    create_private_dir(state_dir).map_err(err)?;
    let mut store = store.clone();
    store.format_version = FORMAT_VERSION;
    let mut bytes = serde_json::to_vec_pretty(&store).expect("the store always serialises");
    bytes.push(b'\n');

    crate::atomic_file::replace(&path, &bytes, crate::atomic_file::Access::Private).map_err(err)
}

#[cfg(unix)]
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::MemberState;

    #[test]
    fn state_dir_precedence() {
        let cwd = Path::new("/work/x");
        assert_eq!(
            state_dir(None, None, cwd),
            PathBuf::from("/work/x/.orgform")
        );
        assert_eq!(
            state_dir(None, Some(OsStr::new("env-dir")), cwd),
            PathBuf::from("/work/x/env-dir")
        );
        assert_eq!(
            state_dir(Some(Path::new("/abs")), Some(OsStr::new("env-dir")), cwd),
            PathBuf::from("/abs")
        );
        assert_eq!(
            state_dir(Some(Path::new("")), Some(OsStr::new("")), cwd),
            PathBuf::from("/work/x/.orgform")
        );
    }

    #[test]
    fn round_trip_mode_and_atomicity() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("nested/.orgform");
        assert_eq!(load(&state).unwrap(), Store::default());
        let mut store = Store {
            update_offset: Some(42),
            ..Default::default()
        };
        store.see_member(-100, 7, MemberState::Member, 10, "getChatMember");
        store.chat_mut(-100).topics.insert(
            "releases".into(),
            crate::state::Topic {
                thread_id: Some(9),
                name: "Releases".into(),
                icon_color: None,
                closed: false,
            },
        );
        save(&state, &store).unwrap();
        assert_eq!(load(&state).unwrap(), store);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(store_path(&state))
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(mode, 0o600);
            let dir_mode = std::fs::metadata(&state).unwrap().permissions().mode() & 0o777;
            assert_eq!(dir_mode, 0o700);
        }
        // No temporary files are left behind.
        let names: Vec<_> = std::fs::read_dir(&state)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(FILE_NAME)]);
        // Older observations do not overwrite newer ones.
        store.see_member(-100, 7, MemberState::Banned, 5, "update");
        assert_eq!(store.chats[&-100].members[&7].status, MemberState::Member);
    }

    #[test]
    fn corrupt_and_newer_files_are_refused_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = store_path(dir.path());
        for (content, expect) in [
            ("{\"format_version\": 1, \"chats\": ", "not JSON"),
            ("[]", "not a JSON object"),
            ("{\"chats\": {}}", "no format_version"),
            (
                "{\"format_version\": 1, \"chats\": {\"x\": 1}}",
                "not valid",
            ),
        ] {
            std::fs::write(&path, content).unwrap();
            let e = load(dir.path()).unwrap_err();
            assert!(matches!(e, StoreError::Corrupt { .. }), "{content}: {e}");
            assert!(
                e.to_string().contains(expect) && e.to_string().contains("hint:"),
                "{e}"
            );
            assert_eq!(std::fs::read_to_string(&path).unwrap(), content);
        }
        std::fs::write(&path, "{\"format_version\": 99}").unwrap();
        let e = load(dir.path()).unwrap_err();
        assert!(matches!(e, StoreError::Newer { found: 99, .. }), "{e}");
        assert!(e.to_string().contains("hint:"));
    }
}
