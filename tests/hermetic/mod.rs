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

/// `orgform sandbox serve` in its own process, on a port the OS picks;
/// killed when dropped. Started from a world file (`serve`) or from a
/// config seeded into one (`start`).
pub struct Sandbox {
    child: std::process::Child,
    /// The Bot API base URL it serves.
    pub url: String,
    /// Its bot's token, in a file (`--token-file`).
    pub token_file: PathBuf,
    /// The world it serves (and saves to).
    pub world: PathBuf,
}

impl Sandbox {
    /// `sandbox init --from CONFIG` into `dir/world.json` (with `init`, such
    /// as the clock), the token into `dir/token`; then serve it with `serve`.
    pub fn start(dir: &Path, config: &str, init: &[&str], serve: &[&str]) -> Sandbox {
        let world = dir.join("world.json");
        let (code, token, err) = run(bare()
            .args(["sandbox", "init", "--from", config, "--world"])
            .arg(&world)
            .args(init));
        assert_eq!(code, 0, "sandbox init: {err}");
        let token_file = dir.join("token");
        std::fs::write(&token_file, token.trim()).unwrap();
        Sandbox::serve(&world, token_file, serve)
    }

    /// Serve an existing world whose bot token is in `token_file`.
    pub fn serve(world: &Path, token_file: PathBuf, extra: &[&str]) -> Sandbox {
        use std::io::BufRead;
        let mut child = process_bare()
            .args(["sandbox", "serve", "--port", "0", "--world"])
            .arg(world)
            .args(extra)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("orgform sandbox serve starts");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        Sandbox {
            child,
            url: line.trim().to_string(),
            token_file,
            world: world.to_path_buf(),
        }
    }

    /// `--api-url` and `--token-file` for it.
    pub fn args(&self) -> Vec<String> {
        self.args_for(&self.url)
    }

    /// The same, through another address (a proxy in front of it).
    pub fn args_for(&self, url: &str) -> Vec<String> {
        vec![
            "--api-url".into(),
            url.to_string(),
            "--token-file".into(),
            self.token_file.display().to_string(),
        ]
    }

    /// Act as a person, through `orgform sandbox act`.
    pub fn act(&self, as_user: i64, method: &str, params: &[(&str, String)]) {
        let mut cmd = bare();
        cmd.args([
            "sandbox",
            "act",
            "--url",
            &self.url,
            "--as",
            &as_user.to_string(),
            method,
        ]);
        for (k, v) in params {
            cmd.arg(format!("{k}={v}"));
        }
        let (code, out, err) = run(&mut cmd);
        assert_eq!(code, 0, "act {method}: {out}{err}");
    }

    /// `orgform sandbox stats` (with `--reset`: then zero the counters).
    pub fn stats(&self, reset: bool) -> serde_json::Value {
        let mut cmd = bare();
        cmd.args(["sandbox", "stats", "--url", &self.url]);
        if reset {
            cmd.arg("--reset");
        }
        let (code, out, err) = run(&mut cmd);
        assert_eq!(code, 0, "sandbox stats: {err}");
        serde_json::from_str(&out).unwrap()
    }

    /// Successful calls of a method so far.
    pub fn calls(&self, method: &str) -> u64 {
        self.stats(false)["methods"][method]["ok"]
            .as_u64()
            .unwrap_or(0)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
