//! Replacing a file's whole content so that a kill, a crash or a full disk
//! leaves either the old content or the new, never half of either: the
//! one home of the temporary-file-and-rename dance every file orgform
//! writes goes through (the state file, the session, config files edited
//! by `import`, exports, the sandbox's world).
//!
//! The new content goes to a temporary file beside the target (same
//! directory, so the rename cannot cross file systems), named for this
//! process and call so two orgform processes never write into each
//! other's temporary file; it is flushed to disk before the rename, and
//! the directory after it. On any failure the temporary file is removed
//! and the target is untouched.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Who may read the file written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Owner only (0600), from the first byte: state, sessions, anything
    /// holding a credential.
    Private,
    /// As the file had it before (a config file a person edits); the
    /// process's default for a new file.
    AsBefore,
}

/// Replace the content of `path` with `bytes`. A symlink is followed, so
/// a linked file is written where it points and the link stays a link.
/// The parent directory must exist.
pub fn replace(path: &Path, bytes: &[u8], access: Access) -> std::io::Result<()> {
    let path = match std::fs::canonicalize(path) {
        Ok(real) => real,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => path.to_path_buf(),
        Err(e) => return Err(e),
    };
    let before = std::fs::metadata(&path).ok().map(|m| m.permissions());
    let tmp = temporary_beside(&path);
    let written = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        if access == Access::Private {
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        }
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        if access == Access::AsBefore
            && let Some(permissions) = before
        {
            file.set_permissions(permissions)?;
        }
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, &path)?;
        sync_parent(&path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// `.NAME.PID.N.tmp` beside `path`: hidden, and unique per process and
/// call.
fn temporary_beside(path: &Path) -> PathBuf {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = CALLS.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.{}.{n}.tmp", std::process::id()))
}

/// Make the rename itself durable: on Linux a rename is only on disk once
/// its directory is.
fn sync_parent(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        std::fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn replaces_content_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("org.yaml");
        std::fs::write(&path, "old").unwrap();
        replace(&path, b"new", Access::AsBefore).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["org.yaml"]);
    }

    #[cfg(unix)]
    #[test]
    fn private_files_are_0600_and_edited_files_keep_their_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("session");
        replace(&secret, b"s", Access::Private).unwrap();
        assert_eq!(mode(&secret), 0o600);
        let config = dir.path().join("org.yaml");
        std::fs::write(&config, "a").unwrap();
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o640)).unwrap();
        replace(&config, b"b", Access::AsBefore).unwrap();
        assert_eq!(mode(&config), 0o640);
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_stays_a_link_to_the_new_content() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.yaml");
        let link = dir.path().join("org.yaml");
        std::fs::write(&real, "old").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        replace(&link, b"new", Access::AsBefore).unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
    }

    /// When the last step fails (here the rename, as the target is a
    /// directory: refused even to root), the target is as it was and the
    /// temporary file is gone. Full disks are tested end to end in
    /// tests/state/full_disk.rs.
    #[test]
    fn a_failed_replace_leaves_the_target_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("org.yaml");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("inside"), "old").unwrap();
        assert!(replace(&target, b"new", Access::AsBefore).is_err());
        assert_eq!(
            std::fs::read_to_string(target.join("inside")).unwrap(),
            "old"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn temporary_names_differ_per_call() {
        let p = Path::new("/x/org.yaml");
        assert_ne!(temporary_beside(p), temporary_beside(p));
    }
}
