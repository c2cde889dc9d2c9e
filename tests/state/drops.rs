//! Rollback honesty under dropped connections (`--drop-rate 0.25`, half of
//! the drops after the call took effect): a failed run may say "the
//! rollback is complete" only when Telegram really is as it was before:
//! no topic and no live invite link the run may have created is left.

use std::io::{Read, Write};
use std::path::Path;

use serde_json::Value;

const NOW: &str = "--now=2026-11-27T12:00:00Z";
const CONFIG: &str = "examples/acme";

use crate::hermetic::run;

/// The sandbox's world, as JSON, from its admin endpoint.
fn world(url: &str) -> Value {
    let addr = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET /sandbox/world HTTP/1.0\r\nHost: {addr}\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let body = text.split_once("\r\n\r\n").unwrap().1;
    serde_json::from_str(body).unwrap()
}

/// Topics and live (not revoked, not primary) invite links, per chat.
fn created_objects(world: &Value) -> (usize, usize) {
    let mut topics = 0;
    let mut links = 0;
    for chat in world["chats"].as_object().unwrap().values() {
        topics += chat["topics"].as_object().map_or(0, |t| t.len());
        links += chat["invite_links"].as_array().map_or(0, |l| {
            l.iter()
                .filter(|l| l["is_revoked"] != true && l["is_primary"] != true)
                .count()
        });
    }
    (topics, links)
}

fn one_seed(dir: &Path, seed: u64) -> (bool, bool) {
    let seed = seed.to_string();
    let sandbox = crate::hermetic::Sandbox::start(
        dir,
        CONFIG,
        &[NOW],
        &["--drop-rate", "0.25", "--seed", &seed],
    );
    let url = sandbox.url.clone();
    let before = created_objects(&world(&url));
    let (code, stdout, stderr) = run(crate::hermetic::orgform(&dir.join("state"))
        .args([
            "apply",
            CONFIG,
            "--auto-approve",
            NOW,
            "--api-url",
            &url,
            "--token-file",
        ])
        .arg(&sandbox.token_file));
    let after = created_objects(&world(&url));
    drop(sandbox);
    let complete = stdout.contains("the rollback is complete");
    if complete {
        assert_eq!(
            after, before,
            "seed {seed}: a complete rollback left objects behind (topics, live links)\n{stdout}\n{stderr}"
        );
    }
    if code != 0 && !complete {
        // Then the report must say what is unknown or not undone.
        assert!(
            stdout.contains("INCOMPLETE")
                || stdout.contains("UNKNOWN")
                || stdout.contains("stopped in the irreversible phase")
                || stderr.contains("error:"),
            "seed {seed}: {stdout}\n{stderr}"
        );
    }
    (code != 0, complete)
}

#[test]
fn a_complete_rollback_under_dropped_connections_is_really_complete() {
    let mut failed = 0;
    for seed in 1..=6 {
        let dir = tempfile::tempdir().unwrap();
        let (f, _) = one_seed(dir.path(), seed);
        failed += usize::from(f);
    }
    assert!(failed > 0, "a 25% drop rate makes some runs fail");
}
