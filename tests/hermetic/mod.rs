//! The one hermetic environment every CLI test runs orgform in: nothing
//! of the developer's or CI's environment leaks in (the environment is
//! cleared but for `PATH`), `HOME` is an empty directory of the test
//! process, the terminal is 100 columns wide, colour is off, the time zone
//! is UTC and the locale C. The clock is the tests' own (`--now=…`).
//!
//! `orgform` and `process` build the same command, for `assert_cmd` and for
//! tests that spawn and kill the process.

#![allow(dead_code)]

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// An empty home directory for this test process.
fn home() -> &'static Path {
    static HOME: OnceLock<PathBuf> = OnceLock::new();
    HOME.get_or_init(|| {
        tempfile::Builder::new()
            .prefix("orgform-home")
            .tempdir()
            .expect("a temporary home")
            .keep()
    })
}

/// The whole environment orgform sees.
fn environment(state: Option<&Path>) -> Vec<(&'static str, OsString)> {
    let mut env = vec![
        ("PATH", std::env::var_os("PATH").unwrap_or_default()),
        ("HOME", home().as_os_str().to_owned()),
        ("COLUMNS", "100".into()),
        ("NO_COLOR", "1".into()),
        ("TZ", "UTC".into()),
        ("LC_ALL", "C".into()),
    ];
    if let Some(state) = state {
        env.push(("ORGFORM_STATE_DIR", state.as_os_str().to_owned()));
    }
    env
}

/// orgform with its state in `state`.
pub fn orgform(state: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_orgform"));
    cmd.env_clear().envs(environment(Some(state)));
    cmd
}

/// orgform with no state directory named (the default applies: `.orgform`
/// in the current directory).
pub fn bare() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_orgform"));
    cmd.env_clear().envs(environment(None));
    cmd
}

/// The same command as [`orgform`], to spawn, signal and kill.
pub fn process(state: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_orgform"));
    cmd.env_clear().envs(environment(Some(state)));
    cmd
}

/// The same command as [`bare`], to spawn, signal and kill.
pub fn process_bare() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_orgform"));
    cmd.env_clear().envs(environment(None));
    cmd
}

/// Run it: (exit code, stdout, stderr). Output must be UTF-8.
pub fn run(cmd: &mut assert_cmd::Command) -> (i32, String, String) {
    let out = cmd.output().expect("orgform runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    )
}
