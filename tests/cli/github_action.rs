//! The Action's script (scripts/github-action.sh) run locally: a mistyped
//! argument fails the step (exit 1, not a green "changes"), apply sets
//! outputs for what it applied, and `comment: true` keeps one sticky pull
//! request comment, updated in place, never editing someone else's.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

const NOW: &str = "--now=2026-11-27T12:00:00Z";

struct ActionRun {
    code: i32,
    log: String,
    outputs: BTreeMap<String, String>,
    report: String,
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

fn action(workspace: &Path, env: &[(&str, &str)]) -> ActionRun {
    let tmp = workspace.join("runner");
    std::fs::create_dir_all(&tmp).unwrap();
    let output = tmp.join("github_output");
    let _ = std::fs::remove_file(&output);
    let out = Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/github-action.sh"))
        .current_dir(workspace)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_STEP_SUMMARY", tmp.join("summary"))
        .env("RUNNER_TEMP", &tmp)
        .env("ORGFORM_BIN", env!("CARGO_BIN_EXE_orgform"))
        .env("ORGFORM_STATE_DIR", workspace.join("state"))
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let outputs: BTreeMap<String, String> = std::fs::read_to_string(&output)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            l.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect();
    let report = outputs
        .get("report-path")
        .map(|p| std::fs::read_to_string(p).unwrap())
        .unwrap_or_default();
    ActionRun {
        code: out.status.code().unwrap_or(-1),
        log: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        outputs,
        report,
    }
}

/// The acme example as `org/`, the default config location.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(Path::new("examples/acme"), &dir.path().join("org"));
    dir
}

#[test]
fn a_mistyped_argument_fails_the_step() {
    let ws = workspace();
    for command in ["plan", "apply", "drift", "validate"] {
        let args = if command == "validate" {
            format!("{NOW} --allow-removal")
        } else {
            format!("--sandbox {NOW} --allow-removal")
        };
        let r = action(
            ws.path(),
            &[("ORGFORM_COMMAND", command), ("ORGFORM_ARGS", &args)],
        );
        assert_eq!(r.code, 1, "{command}: {}", r.log);
        assert_eq!(r.outputs["exit-code"], "1", "{command}");
        assert_eq!(r.outputs["has-changes"], "false", "{command}");
        assert!(
            r.report.contains("unexpected argument '--allow-removal'"),
            "{}",
            r.report
        );
    }
}

#[test]
fn apply_sets_outputs_for_what_it_applied() {
    let ws = workspace();
    let args = format!("--sandbox {NOW}");
    let r = action(
        ws.path(),
        &[("ORGFORM_COMMAND", "apply"), ("ORGFORM_ARGS", &args)],
    );
    assert_eq!(r.code, 0, "{}", r.log);
    assert_eq!(r.outputs["status"], "applied", "{:?}", r.outputs);
    let applied: usize = r.outputs["applied"].parse().unwrap();
    assert!(applied > 10, "{:?}", r.outputs);
    assert_eq!(r.outputs["failed"], "0");
    assert!(!r.outputs["run-id"].is_empty());
    assert!(r.report.starts_with("## orgform apply"), "{}", r.report);
    // A second run has nothing to apply.
    let r = action(
        ws.path(),
        &[("ORGFORM_COMMAND", "apply"), ("ORGFORM_ARGS", &args)],
    );
    assert_eq!(r.code, 0, "{}", r.log);
    assert_eq!(r.outputs["status"], "nothing to apply", "{:?}", r.outputs);
    assert_eq!(r.outputs["applied"], "0");
}

/// A fake GitHub REST API: comments of one pull request.
#[derive(Default)]
struct FakeGithub {
    comments: Vec<Value>,
    requests: Vec<String>,
}

fn serve(listener: std::net::TcpListener, state: Arc<Mutex<FakeGithub>>, me: &'static str) {
    listener.set_nonblocking(true).unwrap();
    let started = std::time::Instant::now();
    // Bounded: a minute at most.
    while started.elapsed() < std::time::Duration::from_secs(60) {
        let stream = match listener.accept() {
            Ok((s, _)) => s,
            Err(_) => {
                std::thread::sleep(std::time::Duration::from_millis(5));
                if Arc::strong_count(&state) == 1 {
                    return;
                }
                continue;
            }
        };
        stream.set_nonblocking(false).unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let mut length = 0;
        loop {
            let mut h = String::new();
            reader.read_line(&mut h).unwrap();
            if h == "\r\n" || h.is_empty() {
                break;
            }
            if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let mut parts = line.split_whitespace();
        let (method, path) = (
            parts.next().unwrap().to_string(),
            parts.next().unwrap().to_string(),
        );
        let mut gh = state.lock().unwrap();
        gh.requests
            .push(format!("{method} {}", path.split('?').next().unwrap()));
        let (status, answer) = match (method.as_str(), path.split('?').next().unwrap()) {
            ("GET", "/user") => (200, json!({"login": me})),
            ("GET", "/repos/acme/org/issues/7/comments") => {
                let page: usize = path
                    .split("page=")
                    .nth(1)
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(1);
                let list: Vec<Value> = gh
                    .comments
                    .iter()
                    .skip((page - 1) * 100)
                    .take(100)
                    .cloned()
                    .collect();
                (200, Value::Array(list))
            }
            ("POST", "/repos/acme/org/issues/7/comments") => {
                let id = 1000 + gh.comments.len() as i64;
                let c = json!({"id": id, "user": {"login": me}, "body": body["body"]});
                gh.comments.push(c.clone());
                (201, c)
            }
            ("PATCH", p) if p.starts_with("/repos/acme/org/issues/comments/") => {
                let id: i64 = p.rsplit('/').next().unwrap().parse().unwrap();
                match gh.comments.iter_mut().find(|c| c["id"] == id) {
                    Some(c) if c["user"]["login"] == me => {
                        c["body"] = body["body"].clone();
                        (200, c.clone())
                    }
                    _ => (403, json!({"message": "not yours"})),
                }
            }
            _ => (404, json!({"message": "Not Found"})),
        };
        drop(gh);
        let text = answer.to_string();
        let mut stream = stream;
        let _ = write!(
            stream,
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
            text.len()
        );
    }
}

#[test]
fn comment_true_keeps_one_sticky_comment_and_edits_only_its_own() {
    let ws = workspace();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let api = format!("http://{}", listener.local_addr().unwrap());
    let state = Arc::new(Mutex::new(FakeGithub::default()));
    // Someone else's comment that carries the same marker: never edited.
    state.lock().unwrap().comments.push(json!({
        "id": 1,
        "user": {"login": "mallory"},
        "body": "<!-- orgform:orgform plan:default:plan -->\nfake plan",
    }));
    let server = {
        let state = state.clone();
        std::thread::spawn(move || serve(listener, state, "orgform-bot"))
    };
    let event = ws.path().join("event.json");
    std::fs::write(&event, r#"{"pull_request": {"number": 7}}"#).unwrap();
    let args = format!("--sandbox {NOW}");
    let env = [
        ("ORGFORM_COMMAND", "plan"),
        ("ORGFORM_ARGS", args.as_str()),
        ("ORGFORM_COMMENT", "true"),
        ("ORGFORM_GITHUB_TOKEN", "ghs_test"),
        ("GITHUB_API_URL", api.as_str()),
        ("GITHUB_REPOSITORY", "acme/org"),
        ("GITHUB_WORKFLOW", "orgform plan"),
        ("GITHUB_EVENT_PATH", event.to_str().unwrap()),
    ];
    let first = action(ws.path(), &env);
    assert_eq!(first.code, 0, "{}", first.log);
    assert!(
        first.log.contains("posted a comment on #7"),
        "{}",
        first.log
    );
    let second = action(ws.path(), &env);
    assert_eq!(second.code, 0, "{}", second.log);
    assert!(
        second.log.contains("updated comment 1001"),
        "{}",
        second.log
    );
    let gh = state.lock().unwrap();
    assert_eq!(
        gh.comments.len(),
        2,
        "one comment of ours, mallory's untouched"
    );
    assert_eq!(
        gh.comments[0]["body"],
        "<!-- orgform:orgform plan:default:plan -->\nfake plan"
    );
    let ours = gh.comments[1]["body"].as_str().unwrap();
    assert!(
        ours.starts_with("<!-- orgform:orgform plan:default:plan -->\n## orgform plan"),
        "{ours}"
    );
    assert!(
        !gh.requests
            .iter()
            .any(|r| r == "PATCH /repos/acme/org/issues/comments/1"),
        "{:?}",
        gh.requests
    );
    drop(gh);
    drop(state);
    server.join().unwrap();
}
