//! Apply throughput against a rate-limited server: the generated
//! 2,000-person, 100-chat org applied through `orgform sandbox serve
//! --rate-limit N` for N = 30 and 100, with the adaptive pace (this
//! release) and with the fixed 25/s pace (the previous release, now
//! `--fixed-pace`). Reports, per run: calls, the achieved rate as a share
//! of the limit, the share of calls answered 429, failed changes, and the
//! ratio of the two paces' wall times.
//!
//! Run: `cargo bench --bench pace` (about 20 minutes: the server's limit is
//! the point). `cargo bench --bench pace -- 30` runs only the limit of 30.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

const BIN: &str = env!("CARGO_BIN_EXE_orgform");
const NOW: &str = "--now=2026-11-27T12:00:00Z";

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(world: &Path, limit: u32) -> Server {
    let mut child = Command::new(BIN)
        .args(["sandbox", "serve", "--port", "0", "--rate-limit"])
        .arg(limit.to_string())
        .arg("--world")
        .arg(world)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("sandbox serve starts");
    // The server prints its URL on the first line.
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the sandbox says where it listens");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .trim_end_matches(['.', ','])
        .to_string();
    Server { child, url }
}

struct Outcome {
    seconds: f64,
    calls: u64,
    rate_limited: u64,
    failed_line: String,
}

fn apply(dir: &Path, limit: u32, fixed: bool) -> Outcome {
    let run = dir.join(format!(
        "run-{limit}-{}",
        if fixed { "fixed" } else { "adaptive" }
    ));
    std::fs::create_dir_all(&run).unwrap();
    // A fresh copy of the generated world for each run.
    let world = run.join("world.json");
    std::fs::copy(dir.join("org/world.json"), &world).unwrap();
    let token: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&world).unwrap()).unwrap();
    let token_file = run.join("token");
    std::fs::write(&token_file, token["bot"]["token"].as_str().unwrap()).unwrap();
    let server = serve(&world, limit);
    let started = Instant::now();
    let mut cmd = Command::new(BIN);
    cmd.arg("apply")
        .arg(dir.join("org/config"))
        .args(["--api-url", &server.url, "--token-file"])
        .arg(&token_file)
        .arg("--state-dir")
        .arg(run.join("state"))
        .args([
            "--auto-approve",
            "--allow-removals",
            "--allow-demotions",
            "--allow-few-admins",
            NOW,
        ]);
    if fixed {
        cmd.arg("--fixed-pace");
    }
    let out = cmd.output().expect("apply runs");
    let seconds = started.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stats: serde_json::Value = serde_json::from_slice(
        &Command::new(BIN)
            .args(["sandbox", "stats", "--url", &server.url])
            .output()
            .expect("stats")
            .stdout,
    )
    .expect("stats parse");
    let calls = stats["methods"]
        .as_object()
        .map(|m| m.values().filter_map(|v| v["calls"].as_u64()).sum())
        .unwrap_or(0);
    Outcome {
        seconds,
        calls,
        rate_limited: stats["rate_limited"].as_u64().unwrap_or(0),
        failed_line: stdout
            .lines()
            .rev()
            .find(|l| l.starts_with("Run "))
            .unwrap_or("(no summary)")
            .to_string(),
    }
}

fn main() {
    let only: Option<u32> = std::env::args().skip(1).find_map(|a| a.parse().ok());
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir: PathBuf = tmp.path().to_path_buf();
    let status = Command::new(BIN)
        .args([
            "sandbox", "generate", "--people", "2000", "--chats", "100", "--seed", "3", "--out",
        ])
        .arg(dir.join("org"))
        .stdout(Stdio::null())
        .status()
        .expect("generate");
    assert!(status.success());
    for limit in [30u32, 100] {
        if only.is_some_and(|o| o != limit) {
            continue;
        }
        let adaptive = apply(&dir, limit, false);
        let fixed = apply(&dir, limit, true);
        for (name, o) in [("adaptive", &adaptive), ("fixed 25/s", &fixed)] {
            let achieved = o.calls as f64 / o.seconds;
            println!(
                "limit {limit}/s, {name:>10}: {} calls in {:.0} s = {:.1}/s ({:.0}% of the limit), {} answered 429 ({:.2}%); {}",
                o.calls,
                o.seconds,
                achieved,
                100.0 * achieved / f64::from(limit),
                o.rate_limited,
                100.0 * o.rate_limited as f64 / o.calls.max(1) as f64,
                o.failed_line
            );
        }
        println!(
            "limit {limit}/s: the adaptive pace takes {:.2}x the fixed pace's time",
            adaptive.seconds / fixed.seconds
        );
    }
}
