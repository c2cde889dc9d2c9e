//! The state that lasts, end to end: the binary against `orgform sandbox
//! serve` over HTTP, with a proxy of our own in between when a test must
//! hold back Telegram's answer.
//!
//! - A plan next to a running apply loses no record, and the next plan is
//!   empty.
//! - An apply killed while a creating call's answer is held back, then
//!   resumed: nothing is created twice. Where Telegram shows evidence
//!   (photo, pin) resume settles it alone; where it cannot (topics, links,
//!   DMs) resume stops and asks, naming the object, and the test answers as
//!   an operator who looked in Telegram would.
//! - Random kill points over 20 seeds, and SIGINT.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Child;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use orgform::store::Backend;
use orgform::store::sqlite::Sqlite;
use serde_json::Value;

const NOW: &str = "--now=2026-11-27T12:00:00Z";
const CONFIG: &str = "examples/acme";

fn orgform(state: &Path) -> Command {
    crate::hermetic::orgform(state)
}

use crate::hermetic::run;

use crate::hermetic::Sandbox;

/// The owner of a chat, from the sandbox's saved world.
fn owner_of(server: &Sandbox, chat_id: i64) -> i64 {
    let world: Value =
        serde_json::from_str(&std::fs::read_to_string(&server.world).unwrap()).unwrap();
    world["chats"][chat_id.to_string()]["members"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, m)| m["status"] == "creator")
        .map(|(u, _)| u.parse().unwrap())
        .expect("an owner")
}

/// One call that passed the proxy: method, parameters sent, answer.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    request: Value,
    answer: Value,
}

/// An HTTP proxy in front of the sandbox. Every call is forwarded in a task
/// of its own that always finishes and logs the answer (what a person
/// would see in Telegram), even when orgform is killed meanwhile. With
/// `hold`, the first answer to that method is logged but never delivered.
struct Proxy {
    url: String,
    log: Arc<Mutex<Vec<Seen>>>,
    held: Arc<Mutex<Option<Seen>>>,
    /// Calls forwarded whose answer is not in the log yet.
    pending: Arc<AtomicUsize>,
    _rt: tokio::runtime::Runtime,
}

impl Proxy {
    fn start(upstream: &str, hold: Option<&str>) -> Proxy {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let log: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let held: Arc<Mutex<Option<Seen>>> = Arc::default();
        let upstream = upstream.trim_end_matches('/').to_string();
        let hold = hold.map(str::to_string);
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let pending: Arc<AtomicUsize> = Arc::default();
        let (log2, held2, pending2) = (log.clone(), held.clone(), pending.clone());
        rt.spawn(async move {
            let client = reqwest::Client::new();
            let app = axum::Router::new().fallback(
                move |uri: axum::http::Uri,
                      headers: axum::http::HeaderMap,
                      body: axum::body::Bytes| {
                    let (client, upstream, log, held, hold, pending) = (
                        client.clone(),
                        upstream.clone(),
                        log2.clone(),
                        held2.clone(),
                        hold.clone(),
                        pending2.clone(),
                    );
                    async move {
                        let method = uri.path().rsplit('/').next().unwrap_or("").to_string();
                        let content_type = headers
                            .get("content-type")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("application/json")
                            .to_string();
                        let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        let target = format!("{upstream}{}", uri);
                        // The forward and its record run in a task of their
                        // own: when orgform is killed mid-call, hyper drops
                        // this handler, but Telegram's side of the call
                        // still completes and must be in the log the test
                        // reads as the operator's evidence.
                        pending.fetch_add(1, Ordering::SeqCst);
                        let (log_task, pending_task, method_task) =
                            (log.clone(), pending.clone(), method.clone());
                        let forwarded = tokio::spawn(async move {
                            let result = async {
                                let answer = client
                                    .post(target)
                                    .header("content-type", content_type)
                                    .body(body)
                                    .send()
                                    .await
                                    .ok()?;
                                let status = answer.status().as_u16();
                                let bytes = answer.bytes().await.ok()?;
                                Some((status, bytes))
                            }
                            .await;
                            let seen = result.as_ref().map(|(_, bytes)| Seen {
                                method: method_task,
                                request,
                                answer: serde_json::from_slice(bytes).unwrap_or(Value::Null),
                            });
                            if let Some(seen) = &seen {
                                log_task.lock().unwrap().push(seen.clone());
                            }
                            pending_task.fetch_sub(1, Ordering::SeqCst);
                            result.zip(seen)
                        })
                        .await
                        .ok()
                        .flatten();
                        let Some(((status, bytes), seen)) = forwarded else {
                            return (axum::http::StatusCode::BAD_GATEWAY, Vec::new());
                        };
                        if hold.as_deref() == Some(method.as_str()) && seen.answer["ok"] == true {
                            let first = {
                                let mut h = held.lock().unwrap();
                                let first = h.is_none();
                                if first {
                                    *h = Some(seen);
                                }
                                first
                            };
                            if first {
                                // Telegram acted; its answer never arrives.
                                tokio::time::sleep(Duration::from_secs(3600)).await;
                            }
                        }
                        (
                            axum::http::StatusCode::from_u16(status).unwrap(),
                            bytes.to_vec(),
                        )
                    }
                },
            );
            axum::serve(listener, app).await.unwrap();
        });
        Proxy {
            url,
            log,
            held,
            pending,
            _rt: rt,
        }
    }

    fn held(&self) -> Option<Seen> {
        self.held.lock().unwrap().clone()
    }

    /// Every call that reached Telegram, once the ones still on their way
    /// back have landed (bounded in time).
    fn log(&self) -> Vec<Seen> {
        let start = Instant::now();
        while self.pending.load(Ordering::SeqCst) > 0 && start.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.log.lock().unwrap().clone()
    }
}

/// The plan's changes counted by op, from a read-only plan.
fn planned_ops(state: &Path, server: &Sandbox) -> BTreeMap<String, u64> {
    let out = state.with_extension("plan.json");
    let (code, _, err) = run(orgform(state)
        .args(["plan", CONFIG, NOW, "--lock=false", "--out"])
        .arg(&out)
        .args(server.args()));
    assert_eq!(code, 0, "{err}");
    let plan: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let mut ops = BTreeMap::new();
    for c in plan["changes"].as_array().unwrap() {
        *ops.entry(c["op"]["op"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    ops
}

fn count(ops: &BTreeMap<String, u64>, op: &str) -> u64 {
    ops.get(op).copied().unwrap_or(0)
}

/// The first run in a state dir and its journal so far.
fn journal_of(state: &Path) -> Option<(String, Vec<String>)> {
    if !state.join("orgform.db").exists() {
        return None;
    }
    let db = Sqlite::open(state).ok()?;
    let run = db.runs().ok()?.into_iter().next()?;
    let events = db.events(&run.run_id).ok()?;
    Some((run.run_id, events))
}

fn spawn_apply(state: &Path, server: &Sandbox, url: &str) -> Child {
    crate::hermetic::process(state)
        .args([
            "apply",
            CONFIG,
            "--auto-approve",
            "--parallel-chats",
            "1",
            NOW,
        ])
        .args(server.args_for(url))
        .stdout(std::fs::File::create(state.with_extension("stdout")).unwrap())
        .stderr(std::fs::File::create(state.with_extension("stderr")).unwrap())
        .spawn()
        .unwrap()
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Answer resume's questions as an operator who looked in Telegram (here:
/// at the proxy's log of what Telegram did), then resume until done.
/// Returns how many personal invites had to be revoked and sent again.
fn resume_answering(state: &Path, server: &Sandbox, run_id: &str, log: &[Seen]) -> u64 {
    let mut resent = 0;
    for round in 0..6 {
        let (code, stdout, stderr) = run(orgform(state)
            .args(["apply", CONFIG, NOW, "--resume", run_id])
            .args(server.args()));
        if code == 0 {
            return resent;
        }
        assert!(
            stderr.contains(&format!(
                "orgform state runs {run_id} --assume done|not-done ADDRESS"
            )),
            "round {round}: resume failed without a question: {stdout}\n{stderr}"
        );
        let (_, shown, _) = run(orgform(state).args(["state", "runs", run_id]));
        let uncertain: Vec<String> = shown
            .lines()
            .filter_map(|l| l.trim_start().strip_prefix("UNCERTAIN"))
            .map(|l| l.split_whitespace().last().unwrap().to_string())
            .collect();
        assert!(!uncertain.is_empty(), "{shown}");
        for address in uncertain {
            resent += answer(state, server, run_id, &address, log);
        }
    }
    panic!("resume never finished");
}

/// One answer: find what Telegram did for `address` and record it.
/// Returns 1 when a personal invite was revoked (it is then sent again).
fn answer(state: &Path, server: &Sandbox, run_id: &str, address: &str, log: &[Seen]) -> u64 {
    let plan: Value = {
        let db = Sqlite::open(state).unwrap();
        let start: Value = serde_json::from_str(&db.events(run_id).unwrap()[0]).unwrap();
        start["plan"].clone()
    };
    let change = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == address)
        .unwrap_or_else(|| panic!("{address} in the plan"))
        .clone();
    let chat = change["chat_id"].as_i64().unwrap();
    let op = &change["op"];
    let sent_to_chat = |method: &str, pick: &dyn Fn(&Seen) -> bool| {
        log.iter()
            .filter(|s| s.method == method && s.answer["ok"] == true)
            .filter(|s| {
                s.request["chat_id"].as_i64() == Some(chat)
                    || s.request["chat_id"].as_str() == Some(&chat.to_string())
            })
            .find(|s| pick(s))
            .cloned()
    };
    let assume = |how: &str| {
        let (code, out, err) =
            run(orgform(state).args(["state", "runs", run_id, "--assume", how, address]));
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("Recorded: "), "{out}");
    };
    match op["op"].as_str().unwrap() {
        "create_topic" => {
            let name = op["topic"]["name"].as_str().unwrap();
            match sent_to_chat("createForumTopic", &|s| s.request["name"] == name) {
                Some(seen) => {
                    let thread = seen.answer["result"]["message_thread_id"].as_i64().unwrap();
                    let key = op["key"].as_str().unwrap();
                    let (code, out, err) = run(orgform(state).args([
                        "state",
                        "adopt",
                        "topic",
                        &chat.to_string(),
                        key,
                        &thread.to_string(),
                        "--name",
                        name,
                    ]));
                    assert_eq!(code, 0, "{out}{err}");
                    assume("done");
                }
                None => assume("not-done"),
            }
        }
        "create_invite_link" => {
            let name = op["link"]["name"].as_str().unwrap();
            match sent_to_chat("createChatInviteLink", &|s| s.request["name"] == name) {
                Some(seen) => {
                    let url = seen.answer["result"]["invite_link"].as_str().unwrap();
                    let key = op["key"].as_str().unwrap();
                    let (code, out, err) = run(orgform(state).args([
                        "state",
                        "adopt",
                        "link",
                        &chat.to_string(),
                        key,
                        url,
                        "--name",
                        name,
                    ]));
                    assert_eq!(code, 0, "{out}{err}");
                    assume("done");
                }
                None => assume("not-done"),
            }
        }
        "send_invite" => {
            // Revoke the link that may have been sent, then let a new one go.
            let name = op["name"].as_str().unwrap();
            if let Some(seen) = sent_to_chat("createChatInviteLink", &|s| s.request["name"] == name)
            {
                let url = seen.answer["result"]["invite_link"]
                    .as_str()
                    .unwrap()
                    .to_string();
                let owner = owner_of(server, chat);
                server.act(
                    owner,
                    "revokeChatInviteLink",
                    &[("chat_id", chat.to_string()), ("invite_link", url)],
                );
                assume("not-done");
                return 1;
            }
            assume("not-done");
        }
        _ => assume("not-done"),
    }
    0
}

/// Every creation in the world happened exactly as often as planned.
fn assert_exactly_once(
    server: &Sandbox,
    ops: &BTreeMap<String, u64>,
    before: &BTreeMap<&str, u64>,
    resent: u64,
) {
    let delta = |m: &str| server.calls(m) - before[m];
    assert_eq!(
        delta("createForumTopic"),
        count(ops, "create_topic"),
        "topics"
    );
    assert_eq!(
        delta("createChatInviteLink"),
        count(ops, "create_invite_link") + count(ops, "send_invite") + resent,
        "invite links"
    );
    assert_eq!(delta("setChatPhoto"), count(ops, "set_photo"), "photos");
    assert_eq!(delta("pinChatMessage"), count(ops, "pin"), "pins");
}

fn counters(server: &Sandbox) -> BTreeMap<&'static str, u64> {
    [
        "createForumTopic",
        "createChatInviteLink",
        "setChatPhoto",
        "pinChatMessage",
        "sendMessage",
    ]
    .into_iter()
    .map(|m| (m, server.calls(m)))
    .collect()
}

fn converged(state: &Path, server: &Sandbox) {
    let (code, stdout, stderr) = run(orgform(state)
        .args(["plan", CONFIG, "--detailed-exitcode", NOW])
        .args(server.args()));
    assert_eq!(code, 0, "converged: {stdout}\n{stderr}");
}

#[test]
fn a_plan_during_an_apply_loses_no_record() {
    let dir = tempfile::tempdir().unwrap();
    let server = Sandbox::start(dir.path(), CONFIG, &[NOW], &["--latency", "40"]);
    let state = dir.path().join("state");
    let ops = planned_ops(&state, &server);
    assert!(count(&ops, "create_topic") > 0 && count(&ops, "create_invite_link") > 0);
    let mut child = spawn_apply(&state, &server, &server.url);
    wait_until("the apply to start", Duration::from_secs(60), || {
        journal_of(&state).is_some_and(|(_, e)| e.len() > 3)
    });
    // A locking plan is refused and names the apply; a read-only one runs.
    let (code, _, stderr) = run(orgform(&state)
        .args(["plan", CONFIG, NOW])
        .args(server.args()));
    assert_eq!(code, 1, "{stderr}");
    let (run_id, _) = journal_of(&state).unwrap();
    assert!(
        stderr.contains(&format!(
            "the state is locked by orgform apply (run {run_id}, host "
        )),
        "{stderr}"
    );
    for _ in 0..3 {
        let (code, _, stderr) = run(orgform(&state)
            .args(["plan", CONFIG, NOW, "--lock=false"])
            .args(server.args()));
        assert_eq!(code, 0, "{stderr}");
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "the apply finished");
    let store = Sqlite::open(&state).unwrap().load().unwrap();
    let topics: usize = store.chats.values().map(|c| c.topics.len()).sum();
    let links: usize = store.chats.values().map(|c| c.invite_links.len()).sum();
    assert!(
        topics as u64 >= count(&ops, "create_topic"),
        "{topics} topics kept"
    );
    assert!(
        links as u64 >= count(&ops, "create_invite_link"),
        "{links} links kept"
    );
    converged(&state, &server);
}

/// Hold back the answer to `method`, kill the apply, resume.
fn held_answer_then_kill(method: &str) {
    let dir = tempfile::tempdir().unwrap();
    let server = Sandbox::start(dir.path(), CONFIG, &[NOW], &[]);
    let state = dir.path().join("state");
    let ops = planned_ops(&state, &server);
    let before = counters(&server);
    let proxy = Proxy::start(&server.url, Some(method));
    let mut child = spawn_apply(&state, &server, &proxy.url);
    wait_until(
        &format!("{method} to be held"),
        Duration::from_secs(120),
        || proxy.held().is_some(),
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let (run_id, _) = journal_of(&state).unwrap();
    // A plain apply is refused and names both ways forward.
    let (code, _, stderr) = run(orgform(&state)
        .args(["apply", CONFIG, NOW, "--auto-approve"])
        .args(server.args()));
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!("orgform apply --resume {run_id}"))
            && stderr.contains(&format!("orgform state abandon {run_id}")),
        "{stderr}"
    );
    let held = proxy.held().unwrap();
    let log = proxy.log();
    let resent = resume_answering(&state, &server, &run_id, &log);
    let _ = held;
    converged(&state, &server);
    assert_exactly_once(&server, &ops, &before, resent);
}

#[test]
fn a_held_create_forum_topic_is_not_repeated() {
    held_answer_then_kill("createForumTopic");
}

#[test]
fn a_held_create_chat_invite_link_is_not_repeated() {
    held_answer_then_kill("createChatInviteLink");
}

#[test]
fn a_held_send_message_is_not_repeated() {
    held_answer_then_kill("sendMessage");
}

#[test]
fn a_held_set_chat_photo_is_settled_by_evidence() {
    held_answer_then_kill("setChatPhoto");
}

#[test]
fn a_held_pin_chat_message_is_settled_by_evidence() {
    held_answer_then_kill("pinChatMessage");
}

#[test]
fn random_kill_points_over_20_seeds_never_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut planned: Option<BTreeMap<String, u64>> = None;
    let mut zero: Option<BTreeMap<&str, u64>> = None;
    for seed in 0..20u64 {
        // A fresh world each time: the kill lands at a different point.
        let sub = dir.path().join(format!("seed{seed}"));
        std::fs::create_dir_all(&sub).unwrap();
        let server = Sandbox::start(&sub, CONFIG, &[NOW], &["--latency", "5"]);
        let state = sub.join("state");
        // Every seed starts from the same seeded world: plan it once.
        let ops = planned
            .get_or_insert_with(|| planned_ops(&state, &server))
            .clone();
        let before = zero.get_or_insert_with(|| counters(&server)).clone();
        let proxy = Proxy::start(&server.url, None);
        let mut child = spawn_apply(&state, &server, &proxy.url);
        // Kill after a pseudo-random number of journal events.
        let target = 4 + (seed * 7919 % 37) as usize;
        wait_until("the kill point", Duration::from_secs(60), || {
            journal_of(&state).is_some_and(|(_, e)| e.len() >= target)
                || child.try_wait().ok().flatten().is_some()
        });
        let _ = child.kill();
        let _ = child.wait();
        // A call on the wire when the kill landed still reaches Telegram;
        // let the proxy log its answer, as Telegram would show it.
        std::thread::sleep(Duration::from_millis(300));
        let (run_id, _) = journal_of(&state).unwrap();
        let log = proxy.log();
        let (_, shown, _) = run(orgform(&state).args(["state", "runs", &run_id]));
        let resent = if shown.contains("UNFINISHED") {
            resume_answering(&state, &server, &run_id, &log)
        } else {
            0
        };
        converged(&state, &server);
        assert_exactly_once(&server, &ops, &before, resent);
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "bounded in time"
        );
    }
}

#[cfg(unix)]
#[test]
fn sigint_stops_after_the_change_in_flight_and_resume_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let server = Sandbox::start(dir.path(), CONFIG, &[NOW], &["--latency", "40"]);
    let state = dir.path().join("state");
    let before = counters(&server);
    let ops = planned_ops(&state, &server);
    let child = spawn_apply(&state, &server, &server.url);
    wait_until("a few changes", Duration::from_secs(60), || {
        journal_of(&state).is_some_and(|(_, e)| {
            e.iter()
                .filter(|e| e.contains("\"event\":\"done\""))
                .count()
                >= 3
        })
    });
    let pid = child.id().to_string();
    let (code, _, _) = run(Command::new("kill").args(["-INT", &pid]));
    assert_eq!(code, 0);
    let mut child = child;
    let status = child.wait().unwrap();
    let stdout = std::fs::read_to_string(state.with_extension("stdout")).unwrap();
    assert_eq!(status.code(), Some(130), "{stdout}");
    let (run_id, events) = journal_of(&state).unwrap();
    assert!(
        stdout.contains(&format!("`orgform apply --resume {run_id}` continues it")),
        "{stdout}"
    );
    assert!(
        events.last().unwrap().contains("\"event\":\"interrupted\""),
        "{events:?}"
    );
    let (_, shown, _) = run(orgform(&state).args(["state", "runs", &run_id]));
    assert!(
        shown.contains("UNFINISHED") && !shown.contains("UNCERTAIN"),
        "the change in flight finished and was journaled: {shown}"
    );
    // The plan warns; a plain apply is refused.
    let (code, _, stderr) = run(orgform(&state)
        .args(["plan", CONFIG, NOW])
        .args(server.args()));
    assert!(code == 0 || code == 2, "{stderr}");
    assert!(
        stderr.contains(&format!("warning: run {run_id} is unfinished")),
        "{stderr}"
    );
    let (code, _, _) = run(orgform(&state)
        .args(["apply", CONFIG, NOW, "--auto-approve"])
        .args(server.args()));
    assert_eq!(code, 1);
    let (code, stdout, stderr) = run(orgform(&state)
        .args(["apply", CONFIG, NOW, "--resume", &run_id])
        .args(server.args()));
    assert_eq!(code, 0, "{stdout}{stderr}");
    converged(&state, &server);
    assert_exactly_once(&server, &ops, &before, 0);
}
