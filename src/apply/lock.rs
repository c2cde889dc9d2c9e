//! One apply at a time per state dir: `<state-dir>/apply.lock` holds the
//! holder's pid and start time. A lock left by a process that no longer
//! runs is stale and taken over, with a note.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct Holder {
    pid: u32,
    started_at: String,
    #[serde(default)]
    command: String,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another orgform {command} (pid {pid}, started {started_at}) is working on this state dir ({path})"
    )]
    Held {
        pid: u32,
        started_at: String,
        command: String,
        path: String,
    },
    #[error("cannot take the lock {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// Held until dropped.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
    /// Set when a stale lock was taken over: who held it.
    pub took_over: Option<String>,
}

fn alive(pid: u32) -> bool {
    // Linux: a running process has /proc/<pid>. Elsewhere assume it runs,
    // so a lock is never stolen from a live process.
    if cfg!(target_os = "linux") {
        Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

impl Lock {
    pub fn acquire(
        state_dir: &Path,
        command: &str,
        now: jiff::Timestamp,
    ) -> Result<Lock, LockError> {
        let path = state_dir.join("apply.lock");
        let io = |source| LockError::Io {
            path: path.display().to_string(),
            source,
        };
        std::fs::create_dir_all(state_dir).map_err(io)?;
        let mut took_over = None;
        for _ in 0..2 {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            match options.open(&path) {
                Ok(mut file) => {
                    let holder = Holder {
                        pid: std::process::id(),
                        started_at: now.to_string(),
                        command: command.to_string(),
                    };
                    file.write_all(
                        serde_json::to_string(&holder)
                            .expect("serialises")
                            .as_bytes(),
                    )
                    .map_err(io)?;
                    file.sync_all().map_err(io)?;
                    return Ok(Lock { path, took_over });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    match serde_json::from_str::<Holder>(&text) {
                        Ok(h) if alive(h.pid) && h.pid != std::process::id() => {
                            return Err(LockError::Held {
                                pid: h.pid,
                                started_at: h.started_at,
                                command: h.command,
                                path: path.display().to_string(),
                            });
                        }
                        Ok(h) => {
                            took_over = Some(format!("pid {} started {}", h.pid, h.started_at))
                        }
                        Err(_) => took_over = Some("an unreadable lock file".to_string()),
                    }
                    std::fs::remove_file(&path).map_err(io)?;
                }
                Err(e) => return Err(io(e)),
            }
        }
        Err(io(std::io::Error::other("the lock kept reappearing")))
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
