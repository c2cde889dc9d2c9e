//! `orgform watch` end to end: the binary against a sandbox over HTTP on
//! 127.0.0.1, with the SQLite backend (and PostgreSQL where the lease and
//! the update transaction matter, when `ORGFORM_TEST_POSTGRES` is set).
//!
//! Each test writes a small org (four chats), seeds a sandbox world from
//! it, and runs `orgform watch` as a child process whose stdout (JSON
//! lines) the test reads. People act through the sandbox (joining by link,
//! asking to join, promoting by hand, starting the bot); the test then
//! looks at the sandbox's world, its call counts and the state backend.

#[path = "hermetic/mod.rs"]
mod hermetic;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use orgform::sandbox::{self, FaultOptions, RunningSandbox, SandboxOptions, SeedOptions, World};
use orgform::store::Backend;
use orgform::store::ledger::{FactWrite, keys};
use serde_json::{Value, json};

#[path = "watch/gaps.rs"]
mod gaps;
#[path = "watch/person.rs"]
mod person;
#[path = "watch/proxy.rs"]
mod proxy;
#[path = "watch/settings.rs"]
mod settings;

const TEAM: i64 = -1002000000001;
const LOBBY: i64 = -1002000000002;
const GUARDED: i64 = -1002000000003;
const ALERTS: i64 = -1002000000004;
/// A chat the config does not name, Alice's; the bot is not in it at first.
const OUTSIDE: i64 = -1002000000099;

const ALICE: i64 = 200001;
const BOB: i64 = 200002;
const CAROL: i64 = 200003;
const DAVE: i64 = 200004;
const ERIN: i64 = 200005;
const MALLORY: i64 = 200099;
/// A name Telegram would carry as is.
const HOSTILE: &str = "\u{1b}]0;pwned\u{7}\u{1b}[31m<b>Erin</b>```\u{202e}";
/// Strangers: users of the world the config does not know.
const STRANGERS: std::ops::Range<i64> = 300001..300013;

const CONFIG: &str = r#"
org:
  name: Watchco
  telegram:
    bot: watchco_bot
    alerts_chat: alerts
people:
  alice: {telegram_id: 200001, name: Alice Ng}
  bob: {telegram_id: 200002, name: Bob}
  carol: {telegram_id: 200003, name: Carol}
  dave: {telegram_id: 200004, name: Dave}
  erin: {telegram_id: 200005, name: Erin}
  mallory: {telegram_id: 200099, name: Mallory, status: offboarded}
roles:
  owner-delegate: {title: Admin, rights: all}
templates:
  team-chat:
    type: supergroup
    membership: authoritative
    join_requests: {declared: approve, others: decline}
    welcome: {text: "Welcome, {name}, to {chat}!"}
chats:
  team:
    id: -1002000000001
    template: team-chat
    title: Team
    members: [everyone]
    admins: [{role: owner-delegate, members: [{person: alice}, {person: carol}]}]
  lobby:
    id: -1002000000002
    type: supergroup
    title: Lobby
    membership: additive
    members: [{people: [alice, bob, dave]}]
    admins: [{role: owner-delegate, members: [{person: alice}]}]
    join_requests: {declared: approve, others: queue}
  guarded:
    id: -1002000000003
    type: supergroup
    title: Guarded
    membership: additive
    members: [{people: [alice, bob, carol, dave, erin]}]
    admins: [{role: owner-delegate, members: [{person: alice}]}]
    join_requests: {declared: approve, others: decline}
  alerts:
    id: -1002000000004
    type: supergroup
    title: Alerts
    membership: observe
    members: [{person: alice}]
    admins: [{role: owner-delegate, members: [{person: alice}]}]
policies:
  min_admins: 1
"#;

/// One test's world: a sandbox, a config, a state dir and a token file.
struct Org {
    rt: tokio::runtime::Runtime,
    sandbox: Option<RunningSandbox>,
    dir: tempfile::TempDir,
    /// `--state` value (PostgreSQL), or `None` for the SQLite default.
    state: Option<String>,
    backend: std::sync::OnceLock<Arc<dyn Backend>>,
    /// Variables every command of this org gets (a person's session).
    env: Vec<(String, String)>,
}

fn world_for(config: &Path) -> World {
    let desired = orgform::model::load_desired(config, jiff::Timestamp::now()).unwrap();
    let mut world = World::from_desired(
        &desired,
        &SeedOptions {
            drift: false,
            ..SeedOptions::default()
        },
    );
    // Dave and Erin are declared but not in the team chat yet; nobody but
    // Alice has started the bot.
    for chat in world.chats.values_mut() {
        chat.members.remove(&DAVE);
        chat.members.remove(&ERIN);
        chat.members.remove(&MALLORY);
    }
    for user in world.users.values_mut() {
        user.started_bot = user.id == ALICE;
    }
    // Erin's name is hostile: escape sequences, markup, a backtick fence.
    world.users.get_mut(&ERIN).unwrap().first_name = HOSTILE.to_string();
    for id in STRANGERS {
        world.add_user(orgform::sandbox::world::User::human(
            id,
            format!("Stranger {id}"),
        ));
    }
    let guarded = world.chats.get_mut(&GUARDED).unwrap();
    guarded.guard_bot = true;
    guarded.members.remove(&BOB);
    guarded.members.remove(&CAROL);
    let mut outside = orgform::sandbox::world::Chat::new(
        OUTSIDE,
        orgform::state::ChatType::Supergroup,
        "Outside",
    );
    outside.set_status(
        ALICE,
        orgform::sandbox::world::Member::Creator {
            is_anonymous: false,
            custom_title: None,
        },
    );
    world.add_chat(outside);
    world
}

/// A port nobody listens on now (the OS picks it; the listener is closed
/// before the port is handed on).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Org {
    fn new(port: u16, faults: FaultOptions) -> Org {
        Org::with_state(port, faults, None)
    }

    fn with_state(port: u16, faults: FaultOptions, state: Option<String>) -> Org {
        Org::with_config(port, faults, state, CONFIG)
    }

    fn with_config(port: u16, faults: FaultOptions, state: Option<String>, config: &str) -> Org {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("org.yaml"), config).unwrap();
        let world = world_for(&dir.path().join("org.yaml"));
        std::fs::write(dir.path().join("token"), &world.bot.token).unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let spec = Arc::new(orgform::botapi_spec::BotApiSpec::reference().unwrap());
        let sandbox = rt
            .block_on(sandbox::start(
                SandboxOptions {
                    port,
                    faults,
                    check_spec: Some(spec),
                    ..SandboxOptions::default()
                },
                world,
            ))
            .unwrap();
        Org {
            rt,
            sandbox: Some(sandbox),
            dir,
            state,
            backend: std::sync::OnceLock::new(),
            env: Vec::new(),
        }
    }

    fn sandbox(&self) -> &RunningSandbox {
        self.sandbox.as_ref().unwrap()
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("org.yaml")
    }

    fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn command(&self, args: &[&str]) -> Command {
        // The hermetic environment every CLI test uses; watch runs on the
        // machine's clock (it is a long-running process, not a plan as of
        // an instant), like the sandbox it talks to.
        let mut cmd = hermetic::process(&self.state_dir());
        cmd.args(args)
            .arg(self.config())
            .arg("--api-url")
            .arg(self.sandbox().base_url())
            .arg("--token-file")
            .arg(self.dir.path().join("token"));
        if let Some(state) = &self.state {
            cmd.arg("--state").arg(state);
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// Run a command to its end: exit code, stdout, stderr.
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.command(args).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn watch(&self, extra: &[&str]) -> Watcher {
        let mut cmd = self.command(&["watch"]);
        cmd.args(["--poll-timeout", "50"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let events = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().unwrap();
        let sink = events.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    sink.lock().unwrap().push(v);
                }
            }
        });
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let into = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut l = into.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        Watcher {
            child: Some(child),
            events,
            log,
        }
    }

    fn backend(&self) -> Arc<dyn Backend> {
        self.backend.get_or_init(|| self.open_backend()).clone()
    }

    fn open_backend(&self) -> Arc<dyn Backend> {
        match &self.state {
            None => Arc::new(
                orgform::store::sqlite::Sqlite::open_file(&self.state_dir().join("orgform.db"))
                    .unwrap(),
            ),
            Some(url) => {
                let location = orgform::store::Location::parse(url).unwrap();
                let orgform::store::Location::Postgres { url, workspace } = location else {
                    unreachable!()
                };
                Arc::new(orgform::store::postgres::Postgres::connect(&url, &workspace).unwrap())
            }
        }
    }

    fn ledger_status(&self, chat: i64, user: i64) -> Option<String> {
        let store = self.backend().load().unwrap();
        store
            .chat(chat)?
            .members
            .get(&user)
            .map(|m| format!("{:?}", m.status))
    }

    fn act(&self, user: i64, method: &str, params: Value) -> Result<Value, String> {
        self.sandbox()
            .act(user, method, params)
            .map_err(|e| e.description.clone())
    }

    /// A link the bot creates (as orgform's config would).
    fn link(&self, chat: i64, join_request: bool) -> String {
        let bot = self.sandbox().world_snapshot().bot_id();
        let v = self
            .act(
                bot,
                "createChatInviteLink",
                json!({"chat_id": chat, "creates_join_request": join_request}),
            )
            .unwrap();
        v["invite_link"].as_str().unwrap().to_string()
    }

    fn get_updates_calls(&self) -> u64 {
        let stats = serde_json::to_value(self.sandbox().stats()).unwrap();
        stats["methods"]["getUpdates"]["calls"]
            .as_u64()
            .or_else(|| stats["methods"]["getUpdates"].as_u64())
            .unwrap_or(0)
    }
}

impl Drop for Org {
    fn drop(&mut self) {
        if let Some(s) = self.sandbox.take() {
            let _ = self.rt.block_on(s.shutdown());
        }
    }
}

struct Watcher {
    child: Option<Child>,
    events: Arc<Mutex<Vec<Value>>>,
    log: Arc<Mutex<String>>,
}

impl Watcher {
    fn events(&self) -> Vec<Value> {
        self.events.lock().unwrap().clone()
    }

    fn wait_for(&self, what: &str, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        loop {
            if let Some(v) = self.events().into_iter().find(|v| pred(v)) {
                return v;
            }
            assert!(
                start.elapsed() < timeout,
                "no {what} within {timeout:?}; events: {:#?}\nstderr: {}",
                self.events(),
                self.log.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn started(self) -> Watcher {
        self.wait_for("start", Duration::from_secs(30), |v| {
            v["event"] == "started"
        });
        self
    }

    fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM; the exit code.
    fn term(&mut self) -> i32 {
        let mut c = self.child.take().unwrap();
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
        let start = Instant::now();
        loop {
            if let Some(status) = c.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            if start.elapsed() > Duration::from_secs(20) {
                let _ = c.kill();
                panic!("watch did not stop within 20 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn wait_until(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < timeout, "{what}: not within {timeout:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn postgres_url() -> Option<String> {
    match std::env::var("ORGFORM_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "watch: PostgreSQL part SKIPPED (ORGFORM_TEST_POSTGRES is not set; scripts/test sets it)"
            );
            None
        }
    }
}

/// SQLite (the default), and PostgreSQL when the test server is there
/// (a workspace of its own per test and run).
fn backends(test: &str) -> Vec<Option<String>> {
    let mut out = vec![None];
    if let Some(url) = postgres_url() {
        let ws = format!("watch-{test}-{}", std::process::id());
        let sep = if url.contains('?') { '&' } else { '?' };
        out.push(Some(format!("{url}{sep}workspace={ws}")));
    }
    out
}

/// A joiner is in the ledger within 2 s; plan reads the ledger without
/// getUpdates while watch runs (and drains them itself once it stops).
#[test]
fn members_reach_the_ledger_and_plan_reads_it_while_watch_runs() {
    let org = Org::new(0, FaultOptions::default());
    let mut watch = org.watch(&[]).started();
    watch.wait_for(
        "the first full member check",
        Duration::from_secs(20),
        |v| v["event"] == "full_member_check",
    );
    let link = org.link(TEAM, false);
    let joined = Instant::now();
    org.act(DAVE, "joinChat", json!({"invite_link": link}))
        .unwrap();
    wait_until("dave in the ledger", Duration::from_secs(2), || {
        org.ledger_status(TEAM, DAVE).as_deref() == Some("Member")
    });
    assert!(joined.elapsed() < Duration::from_secs(2));
    // Welcomed once.
    watch.wait_for("the welcome", Duration::from_secs(5), |v| {
        v["event"] == "welcome" && v["user"] == DAVE
    });
    let world = org.sandbox().world_snapshot();
    let welcomes: Vec<_> = world.chats[&TEAM]
        .messages
        .values()
        .filter(|m| m.text.contains("Welcome, Dave"))
        .collect();
    assert_eq!(welcomes.len(), 1, "{welcomes:?}");

    // Someone else's getUpdates (a resume peeking for evidence) ends
    // watch's long poll with 409; watch polls again and goes on.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let peek = org
        .rt
        .block_on(
            reqwest::Client::new()
                .post(org.sandbox().method_url("getUpdates"))
                .json(&json!({"timeout": 0}))
                .send(),
        )
        .unwrap();
    assert_eq!(peek.status().as_u16(), 200);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !watch.events().iter().any(|v| v["event"] == "stopped"),
        "{:#?}",
        watch.events()
    );

    // A hostile name is greeted as plain text, exactly as Telegram has it.
    org.act(ERIN, "joinChat", json!({"invite_link": link}))
        .unwrap();
    watch.wait_for("erin's welcome", Duration::from_secs(5), |v| {
        v["event"] == "welcome" && v["user"] == ERIN
    });
    let world = org.sandbox().world_snapshot();
    let greeting = format!("Welcome, {HOSTILE}, to Team!");
    assert_eq!(
        world.chats[&TEAM]
            .messages
            .values()
            .filter(|m| m.text == greeting)
            .count(),
        1
    );

    // plan while watch runs: no getUpdates, and Dave (recorded by watch)
    // gets no invite.
    let before = org.get_updates_calls();
    let (code, out, err) = org.run(&["plan", "--format", "json"]);
    assert!(code == 0 || code == 2, "plan failed: {out}\n{err}");
    assert_eq!(
        org.get_updates_calls(),
        before,
        "plan drained updates while watch ran"
    );
    let plan: Value = serde_json::from_str(&out).unwrap();
    let addresses: Vec<String> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["address"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        !addresses.iter().any(|a| a == "chat.team.member.dave"),
        "{addresses:?}"
    );
    assert!(plan["ledger"]["watch"].as_str().unwrap().contains("watch"));

    // Alice adds the bot to a chat the config does not name: watch keeps
    // the bot's own membership there, so `import --all-known` finds the
    // chat from the store without reading the feed watch owns.
    let bot = org.sandbox().world_snapshot().bot_id();
    org.act(
        ALICE,
        "addChatMember",
        json!({"chat_id": OUTSIDE, "user_id": bot}),
    )
    .unwrap();
    wait_until("the bot's own record there", Duration::from_secs(5), || {
        org.ledger_status(OUTSIDE, bot).is_some()
    });
    let before = org.get_updates_calls();
    let imported = org.dir.path().join("imported");
    let out = hermetic::process(&org.state_dir())
        .args(["import", "chats", "--all-known", "--out"])
        .arg(&imported)
        .arg("--api-url")
        .arg(org.sandbox().base_url())
        .arg("--token-file")
        .arg(org.dir.path().join("token"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "import failed: {err}");
    assert_eq!(
        org.get_updates_calls(),
        before,
        "import drained updates while watch ran"
    );
    let written: String = std::fs::read_dir(&imported)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap_or_default())
        .collect();
    assert!(written.contains("Outside"), "{written}");

    // SIGTERM: exit 0, lease released; plan then drains updates itself.
    assert_eq!(watch.term(), 0);
    let before = org.get_updates_calls();
    let (code, out, err) = org.run(&["plan", "--format", "json"]);
    assert!(code == 0 || code == 2, "plan failed: {out}\n{err}");
    assert!(
        org.get_updates_calls() > before,
        "without watch, plan drains updates"
    );
}

/// kill -9 at random points while people join and leave: after restarts
/// the ledger is exactly the world, and nobody was welcomed twice; on
/// SQLite and on PostgreSQL.
#[test]
fn kill_nine_loses_nothing_and_repeats_nothing() {
    for state in backends("kill") {
        kill_nine_on(Org::with_state(0, FaultOptions::default(), state));
    }
}

fn kill_nine_on(org: Org) {
    let link = org.link(TEAM, false);
    let mut rng_state = 0x2545F4914F6CDD1Du64;
    let mut rand = move |n: u64| {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        rng_state % n
    };
    let people = [BOB, CAROL, DAVE, ERIN];
    for round in 0..5 {
        let mut watch = org.watch(&[]).started();
        // A burst of joins and leaves, with the kill somewhere inside it.
        let kill_after = rand(12) as usize;
        for step in 0..12 {
            let who = people[rand(people.len() as u64) as usize];
            let here = org.sandbox().world_snapshot().chats[&TEAM]
                .status(who, 0)
                .is_present();
            if here {
                let _ = org.act(who, "leaveChat", json!({"chat_id": TEAM}));
            } else {
                let _ = org.act(who, "joinChat", json!({"invite_link": link}));
            }
            if step == kill_after {
                std::thread::sleep(Duration::from_millis(rand(40)));
                watch.kill9();
            }
        }
        watch.kill9();
        let _ = round;
    }
    // A last watch catches up.
    let mut watch = org.watch(&[]).started();
    let world = org.sandbox().world_snapshot();
    wait_until(
        "the ledger matches the world",
        Duration::from_secs(10),
        || {
            let store = org.backend().load().unwrap();
            people.iter().all(|p| {
                let here = world.chats[&TEAM].status(*p, 0).is_present();
                let seen = store
                    .chat(TEAM)
                    .and_then(|c| c.members.get(p))
                    .map(|m| matches!(m.status, orgform::state::MemberState::Member));
                seen == Some(here)
            })
        },
    );
    assert_eq!(watch.term(), 0);
    // Welcomes: at most one per person, ever (a kill between the claim
    // and the send may leave one unsent, never a second).
    let world = org.sandbox().world_snapshot();
    for p in people {
        let name = &world.users[&p].first_name;
        let n = world.chats[&TEAM]
            .messages
            .values()
            .filter(|m| m.text.contains(&format!("Welcome, {name}")))
            .count();
        assert!(n <= 1, "{name} was welcomed {n} times");
    }
    // Every update was committed: what Telegram still holds (not yet
    // confirmed by a next getUpdates) lies below the stored offset, so a
    // next watch skips it.
    let offset = org.backend().load().unwrap().update_offset.unwrap();
    assert!(
        world.updates.pending.iter().all(|u| u.update_id < offset),
        "offset {offset}, pending {:?}",
        world
            .updates
            .pending
            .iter()
            .map(|u| u.update_id)
            .collect::<Vec<_>>()
    );
}

/// Join requests: declared approved, others declined or queued; guard-bot
/// queries answered within 10 s while the bot is rate limited.
#[test]
fn join_requests_are_decided_and_guard_queries_answered_under_429s() {
    let org = Org::new(
        0,
        FaultOptions {
            rate_limit_per_sec: Some(4),
            ..FaultOptions::default()
        },
    );
    let watch = org.watch(&[]).started();
    let team = org.link(TEAM, true);
    let lobby = org.link(LOBBY, true);
    let guarded = org.link(GUARDED, true);
    let asked = |user, link: &str| {
        let e = org
            .act(user, "joinChat", json!({"invite_link": link}))
            .unwrap_err();
        assert!(e.contains("INVITE_REQUEST_SENT"), "{e}");
    };
    asked(DAVE, &team);
    asked(300001, &team);
    asked(300002, &lobby);
    // A burst at the guarded chat: declared people and strangers.
    for user in [BOB, CAROL, DAVE, ERIN] {
        asked(user, &guarded);
    }
    for user in 300003..300011 {
        asked(user, &guarded);
    }
    wait_until("every decision", Duration::from_secs(30), || {
        watch
            .events()
            .iter()
            .filter(|v| v["event"] == "join_request")
            .count()
            >= 15
    });
    let world = org.sandbox().world_snapshot();
    assert!(world.chats[&TEAM].status(DAVE, 0).is_present());
    assert!(!world.chats[&TEAM].status(300001, 0).is_present());
    assert!(!world.chats[&TEAM].join_requests.contains_key(&300001));
    // Queued for a person: still pending.
    assert!(world.chats[&LOBBY].join_requests.contains_key(&300002));
    // Guard queries: all answered in time, the right way.
    assert_eq!(world.join_queries.len(), 12);
    for q in world.join_queries.values() {
        let answered = q.answered.unwrap_or_else(|| panic!("unanswered: {q:?}"));
        assert!(answered - q.date <= 10, "late: {q:?}");
        let want = if (BOB..=ERIN).contains(&q.user) {
            "approve"
        } else {
            "decline"
        };
        assert_eq!(q.result.as_deref(), Some(want), "{q:?}");
    }
    for user in [BOB, CAROL, DAVE, ERIN] {
        assert!(world.chats[&GUARDED].status(user, 0).is_present());
    }
    // The decisions carry their why-trace into the ledger. Events are
    // printed before the update's commit, so wait for the commit too.
    let ledger = org.backend();
    // A read may also meet watch's write in progress (SQLite busy): retry.
    let mut decisions = Vec::new();
    wait_until("every decision committed", Duration::from_secs(30), || {
        if let Some(read) = ledger.ledger().and_then(|l| l.facts(keys::DECISION).ok()) {
            decisions = read;
        }
        decisions.len() >= 15
    });
    assert_eq!(decisions.len(), 15);
    assert!(
        decisions
            .iter()
            .any(|(_, v)| v.contains("declared in chat team"))
    );
    let stats = serde_json::to_value(org.sandbox().stats()).unwrap();
    assert!(
        stats["rate_limited"].as_u64().unwrap_or(0) > 0,
        "the storm never happened: {stats}"
    );
}

/// A hand-made promotion raises one alert in the alerts chat (the bot
/// cannot undo it: Telegram lets a bot edit only admins it promoted, so it
/// is left to a person). With --enforce, what apply can fix is reverted as
/// journaled runs: a stranger and an offboarded person who joined are
/// removed, a declared admin removed by hand is made admin again, a title
/// changed by hand is set back; and a person repeating a change in a loop
/// is not fought beyond the cap (per address and hour).
#[test]
fn drift_alerts_and_enforce_stops_at_the_cap() {
    let org = Org::new(0, FaultOptions::default());
    // Converge first: a first run may not remove anyone.
    let (code, out, err) = org.run(&["apply", "--auto-approve"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let watch = org
        .watch(&["--enforce", "--enforce-per-hour", "2"])
        .started();
    org.act(
        ALICE,
        "promoteChatMember",
        json!({"chat_id": TEAM, "user_id": BOB, "can_delete_messages": true}),
    )
    .unwrap();
    let alert = watch.wait_for("the promotion alert", Duration::from_secs(10), |v| {
        v["event"] == "drift" && v["alert"]["address"] == "chat.team.admin.bob"
    });
    assert_eq!(alert["alert"]["apply_fixes"], false, "{alert}");
    // With the bot only, the alert says plainly it will not be undone, and
    // what to configure so that it is.
    let fix = alert["alert"]["fix"].as_str().unwrap_or_default();
    assert!(
        fix.contains("The bot cannot undo this") && fix.contains("provider: both"),
        "{alert}"
    );
    wait_until(
        "the alert in the alerts chat",
        Duration::from_secs(5),
        || {
            !org.sandbox().world_snapshot().chats[&ALERTS]
                .messages
                .is_empty()
        },
    );
    let world = org.sandbox().world_snapshot();
    let alerts: Vec<_> = world.chats[&ALERTS]
        .messages
        .values()
        .filter(|m| m.text.contains("orgform drift in team") && m.text.contains("bob"))
        .collect();
    assert!(
        alerts.iter().all(|m| m.text.contains("orgform login")),
        "{alerts:#?}"
    );
    assert_eq!(
        alerts.len(),
        1,
        "{:#?}\n{}",
        world.chats[&ALERTS].messages,
        watch.log.lock().unwrap()
    );

    assert!(
        !watch
            .events()
            .iter()
            .any(|v| v["event"] == "enforce" && v["address"] == "chat.team.admin.bob"),
        "{:#?}",
        watch.events()
    );
    // A stranger and an offboarded person join the authoritative team
    // chat through a link: both alerted and removed, each in a run.
    let link = org.link(TEAM, false);
    for (user, kind) in [(300001, "stranger"), (MALLORY, "offboarded_back")] {
        org.act(user, "joinChat", json!({"invite_link": link}))
            .unwrap();
        watch.wait_for(kind, Duration::from_secs(10), |v| {
            v["event"] == "drift" && v["alert"]["kind"] == kind
        });
        let done = watch.wait_for("the removal", Duration::from_secs(15), |v| {
            v["event"] == "enforce"
                && v["address"]
                    .as_str()
                    .is_some_and(|a| a.starts_with("chat.team.member."))
                && v["result"]["outcome"] == "reverted"
                && watch_user_matches(v, user)
        });
        assert!(done["result"]["run_id"].is_string(), "{done}");
        wait_until("removed", Duration::from_secs(5), || {
            !org.sandbox().world_snapshot().chats[&TEAM]
                .status(user, 0)
                .is_present()
        });
    }

    // A declared admin removed by hand is made admin again; a person
    // removing them in a loop is not fought beyond the cap.
    let carol_admin = || {
        matches!(
            org.sandbox().world_snapshot().chats[&TEAM].status(CAROL, 0),
            orgform::sandbox::world::Member::Administrator { .. }
        )
    };
    let re_promotions = || {
        watch
            .events()
            .iter()
            .filter(|v| {
                v["event"] == "enforce"
                    && v["address"] == "chat.team.admin.carol"
                    && v["result"]["outcome"] == "reverted"
            })
            .count()
    };
    assert!(carol_admin());
    for round in 1..=3 {
        wait_until("carol an admin again", Duration::from_secs(10), carol_admin);
        org.act(
            ALICE,
            "promoteChatMember",
            json!({"chat_id": TEAM, "user_id": CAROL}),
        )
        .unwrap();
        watch.wait_for("the demotion alert", Duration::from_secs(10), |v| {
            v["event"] == "drift"
                && v["alert"]["kind"] == "admin_demoted"
                && v["alert"]["address"] == "chat.team.admin.carol"
        });
        if round < 3 {
            wait_until("the re-promotion", Duration::from_secs(10), || {
                re_promotions() == round
            });
        }
    }
    watch.wait_for("the admin cap", Duration::from_secs(10), |v| {
        v["event"] == "enforce_capped" && v["address"] == "chat.team.admin.carol"
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(re_promotions(), 2, "{:#?}", watch.events());
    assert!(!carol_admin());

    // The title, changed by a person four times.
    for round in 1..=4 {
        wait_until("the title back", Duration::from_secs(10), || {
            round > 3 || org.sandbox().world_snapshot().chats[&TEAM].title == "Team"
        });
        org.act(
            ALICE,
            "setChatTitle",
            json!({"chat_id": TEAM, "title": format!("Hacked {round}")}),
        )
        .unwrap();
        watch.wait_for("the title alert", Duration::from_secs(10), |v| {
            v["event"] == "drift"
                && v["alert"]["summary"]
                    .as_str()
                    .is_some_and(|s| s.contains(&format!("Hacked {round}")))
        });
        if round >= 3 {
            watch.wait_for("the cap", Duration::from_secs(10), |v| {
                v["event"] == "enforce_capped" && v["address"] == "chat.team.title"
            });
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    let reverts = watch
        .events()
        .iter()
        .filter(|v| {
            v["event"] == "enforce"
                && v["address"] == "chat.team.title"
                && v["result"]["outcome"] == "reverted"
        })
        .count();
    assert_eq!(reverts, 2, "{:#?}", watch.events());
    // Each revert is a journaled run (two removals, two re-promotions,
    // two titles).
    let runs = org.backend().runs().unwrap();
    assert_eq!(
        runs.iter()
            .filter(|r| r.command == "watch --enforce")
            .count(),
        6,
        "{runs:?}"
    );
    // The last change stands: a person must settle it.
    assert_eq!(
        org.sandbox().world_snapshot().chats[&TEAM].title,
        "Hacked 4"
    );

    // The owner takes the bot's seat away in the lobby: alerted, not fought.
    let bot = org.sandbox().world_snapshot().bot_id();
    org.act(
        ALICE,
        "promoteChatMember",
        json!({"chat_id": LOBBY, "user_id": bot, "can_manage_chat": false}),
    )
    .unwrap();
    let lost = watch.wait_for("the bot's seat alert", Duration::from_secs(10), |v| {
        v["event"] == "drift" && v["alert"]["kind"] == "bot_lost_rights"
    });
    assert_eq!(lost["alert"]["chat"], "lobby", "{lost}");
    assert_eq!(lost["alert"]["apply_fixes"], false, "{lost}");
}

/// Down longer than 24 h of the sandbox's clock: drift says the ledger is
/// stale until watch's full member check ran.
#[test]
fn a_ledger_down_for_a_day_is_stale_until_the_full_check() {
    let org = Org::new(0, FaultOptions::default());
    let mut watch = org.watch(&[]).started();
    watch.wait_for("the first check", Duration::from_secs(20), |v| {
        v["event"] == "full_member_check"
    });
    assert_eq!(watch.term(), 0);
    // While watch is down, Dave joins; a day passes (the sandbox drops the
    // update) and the ledger's heartbeat is a day old.
    let link = org.link(TEAM, false);
    org.act(DAVE, "joinChat", json!({"invite_link": link}))
        .unwrap();
    org.sandbox().advance_clock(25 * 3600);
    assert!(org.sandbox().world_snapshot().updates.pending.is_empty());
    let backend = org.backend();
    let day_ago = jiff::Timestamp::now().as_second() - 25 * 3600;
    backend
        .ledger()
        .unwrap()
        .put_facts(vec![FactWrite::Put(
            keys::HEARTBEAT.into(),
            day_ago.to_string(),
        )])
        .unwrap();
    let (code, out, err) = org.run(&["drift", "--lock=false"]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(out.contains("Ledger: stale"), "{out}");
    let (_, json_out, _) = org.run(&["drift", "--lock=false", "--format", "json"]);
    let report: Value = serde_json::from_str(&json_out).unwrap();
    assert!(report["ledger"]["stale"].as_str().unwrap().contains("24 h"));
    let (_, plan, _) = org.run(&["plan", "--lock=false"]);
    assert!(plan.contains("Ledger: stale"), "{plan}");
    // watch comes back: marks it stale, checks everyone, clears the mark.
    let mut watch = org.watch(&[]).started();
    watch.wait_for("the full check", Duration::from_secs(20), |v| {
        v["event"] == "full_member_check"
    });
    assert!(watch.events().iter().any(|v| v["event"] == "ledger_stale"));
    assert_eq!(org.ledger_status(TEAM, DAVE).as_deref(), Some("Member"));
    let (_, out, _) = org.run(&["drift", "--lock=false"]);
    assert!(!out.contains("Ledger: stale"), "{out}");
    assert_eq!(watch.term(), 0);
}

/// Webhook mode: requests without the secret (or from outside the allowed
/// networks) are refused; Telegram's deliveries (with retries) are
/// processed; /metrics is Prometheus text and /healthz answers.
#[test]
fn webhook_checks_the_secret_and_metrics_parse() {
    let org = Org::new(0, FaultOptions::default());
    std::fs::write(org.dir.path().join("secret"), "s3cret-token_1").unwrap();
    // The webhook's address goes into setWebhook before watch starts, so
    // it is a port free now rather than one watch picks.
    let hook = format!("127.0.0.1:{}", free_port());
    let hook = hook.as_str();
    let metrics = format!("127.0.0.1:{}", free_port());
    let metrics = metrics.as_str();
    let secret_file = org.dir.path().join("secret");
    let mut watch = org
        .watch(&[
            "--webhook-listen",
            hook,
            "--webhook-url",
            &format!("http://{hook}/telegram"),
            "--webhook-secret-file",
            secret_file.to_str().unwrap(),
            "--webhook-allow",
            "127.0.0.0/8",
            "--metrics-listen",
            metrics,
            "--log-format",
            "json",
            "-v",
        ])
        .started();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let post = |secret: Option<&str>| {
        let update = json!({"update_id": 999999, "message": {"message_id": 1, "date": 0,
            "chat": {"id": ALICE, "type": "private", "first_name": "A"}, "text": "/start"}});
        let mut request = http.post(format!("http://{hook}/telegram")).json(&update);
        if let Some(s) = secret {
            request = request.header("X-Telegram-Bot-Api-Secret-Token", s);
        }
        org.rt.block_on(request.send()).unwrap().status().as_u16()
    };
    assert_eq!(post(None), 401);
    assert_eq!(post(Some("s3cret-token_2")), 401);
    assert_eq!(post(Some("s3cret-token_")), 401);
    // Telegram's own delivery carries the secret.
    let link = org.link(TEAM, false);
    org.act(DAVE, "joinChat", json!({"invite_link": link}))
        .unwrap();
    wait_until("dave in the ledger", Duration::from_secs(5), || {
        org.ledger_status(TEAM, DAVE).as_deref() == Some("Member")
    });
    let get = |path: &str| {
        org.rt.block_on(async {
            let r = http
                .get(format!("http://{metrics}{path}"))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        })
    };
    assert_eq!(get("/healthz").0, 200);
    let (status, text) = get("/metrics");
    assert_eq!(status, 200);
    let mut samples = 0;
    for line in text.lines() {
        if line.starts_with("# HELP ") || line.starts_with("# TYPE ") {
            continue;
        }
        let (name, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
        let bare = name.split('{').next().unwrap();
        assert!(
            bare.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !bare.is_empty(),
            "{line}"
        );
        assert!(name.ends_with('}') || !name.contains('{'), "{line}");
        value.parse::<f64>().unwrap_or_else(|_| panic!("{line}"));
        samples += 1;
    }
    assert!(samples >= 10, "{text}");
    assert!(text.contains("orgform_watch_updates_total "), "{text}");
    let updates: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("orgform_watch_updates_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(updates >= 1.0, "{text}");
    assert_eq!(watch.term(), 0);
    // --log-format json: every stderr line is a JSON object, the refused
    // webhook requests among them.
    let log = watch.log.lock().unwrap().clone();
    assert!(log.contains("secret token refused"), "{log}");
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(v["level"].is_string(), "{line}");
    }
}

/// An invite Telegram would not deliver shows in apply's summary and the
/// next plan with its link; when the person starts the bot, watch sends it.
#[test]
fn undelivered_invites_are_reported_and_delivered_on_start() {
    let org = Org::new(0, FaultOptions::default());
    let (code, out, err) = org.run(&["apply", "--auto-approve"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let note = out
        .lines()
        .find(|l| l.starts_with("note: chat.team.member.erin: invite not delivered"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(note.contains("bot can't initiate conversation"), "{note}");
    assert!(note.contains("hand them https://t.me/+"), "{note}");

    let (_, plan, _) = org.run(&["plan"]);
    assert!(plan.contains("Invites waiting for delivery"), "{plan}");
    assert!(plan.contains("erin in team: https://"), "{plan}");
    let url = plan
        .lines()
        .find_map(|l| l.trim().strip_prefix("erin in team: "))
        .unwrap()
        .to_string();
    assert!(note.contains(&url), "{note} vs {url}");
    // drift's item says it was not delivered, with the link.
    let (_, drift_text, _) = org.run(&["drift", "--lock=false"]);
    assert!(
        drift_text.contains("the personal invite could not be delivered ("),
        "{drift_text}"
    );
    assert!(
        drift_text.contains(&format!("hand them {url}, or ask them")),
        "{drift_text}"
    );
    // drift lists it too, and JSON carries it.
    let (_, drift, _) = org.run(&["drift", "--lock=false", "--format", "json"]);
    let drift: Value = serde_json::from_str(&drift).unwrap();
    assert!(
        drift["invites_waiting"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["person"] == "erin" && i["url"] == url.as_str()),
        "{drift}"
    );
    let watch = org.watch(&[]).started();
    org.act(ERIN, "startBot", json!({})).unwrap();
    watch.wait_for("the delivery", Duration::from_secs(5), |v| {
        v["event"] == "invite_delivered"
            && v["user"] == ERIN
            && v["chat"] == "team"
            && v["ok"] == true
    });
    let world = org.sandbox().world_snapshot();
    let sent: Vec<_> = world.private_chats[&ERIN]
        .messages
        .iter()
        .filter(|m| m.text.contains(&url))
        .collect();
    assert_eq!(sent.len(), 1);
    // Delivered: no longer waiting.
    drop(watch);
    let (_, plan, _) = org.run(&["plan", "--lock=false"]);
    assert!(!plan.contains("erin in team: https://"), "{plan}");
}

/// A second watch of the same workspace exits naming the holder, or waits
/// for the lease; on PostgreSQL as on SQLite.
#[test]
fn a_second_watch_exits_naming_the_holder_or_waits() {
    for state in backends("lease") {
        let org = Org::with_state(0, FaultOptions::default(), state);
        let mut first = org.watch(&[]).started();
        let (code, _, err) = org.run(&["watch"]);
        assert_eq!(code, 1, "{err}");
        assert!(err.contains("another watch holds the lease"), "{err}");
        assert!(err.contains("orgform watch (host"), "{err}");
        let waiting = org.watch(&["--wait-for-lease"]);
        waiting.wait_for("waiting", Duration::from_secs(20), |v| {
            v["event"] == "waiting_for_lease"
        });
        // The update transaction works on this backend too.
        let link = org.link(TEAM, false);
        org.act(DAVE, "joinChat", json!({"invite_link": link}))
            .unwrap();
        wait_until("dave in the ledger", Duration::from_secs(3), || {
            org.ledger_status(TEAM, DAVE).as_deref() == Some("Member")
        });
        assert_eq!(first.term(), 0);
        waiting.wait_for("the lease", Duration::from_secs(20), |v| {
            v["event"] == "started"
        });
    }
}

/// What watch reads from the config is checked by validate, at the line.
#[test]
fn validate_checks_the_alerts_chat_and_the_welcome_topic() {
    let dir = tempfile::tempdir().unwrap();
    let config = CONFIG
        .replace("alerts_chat: alerts", "alerts_chat: alertz")
        .replace(
            "welcome: {text: \"Welcome, {name}, to {chat}!\"}",
            "welcome: {text: \"Welcome, {name}, to {chat}!\", topic: general}",
        );
    std::fs::write(dir.path().join("org.yaml"), config).unwrap();
    let out = hermetic::process_bare()
        .arg("validate")
        .arg(dir.path().join("org.yaml"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("unknown chat `alertz`"), "{err}");
    assert!(err.contains("did you mean `alerts`"), "{err}");
    assert!(err.contains("unknown topic `general`"), "{err}");
    assert!(err.contains("org.yaml:"), "{err}");
}

/// The sandbox's guard-bot queries keep Telegram's 10 seconds: an answer
/// after them, a second answer, or an unknown id is refused; the clock
/// moves for tests and drops updates older than 24 hours.
#[test]
fn sandbox_guard_queries_expire_with_its_clock() {
    let org = Org::new(0, FaultOptions::default());
    let bot = org.sandbox().world_snapshot().bot_id();
    let link = org.link(GUARDED, true);
    for user in [BOB, CAROL] {
        let e = org
            .act(user, "joinChat", json!({"invite_link": link}))
            .unwrap_err();
        assert!(e.contains("INVITE_REQUEST_SENT"), "{e}");
    }
    let world = org.sandbox().world_snapshot();
    let query = |user| {
        world
            .join_queries
            .iter()
            .find(|(_, q)| q.user == user)
            .map(|(id, _)| id.clone())
            .unwrap()
    };
    let (bob, carol) = (query(BOB), query(CAROL));
    let answer = |id: &str, result: &str| {
        org.act(
            bot,
            "answerChatJoinRequestQuery",
            json!({"chat_join_request_query_id": id, "result": result}),
        )
    };
    answer(&bob, "approve").unwrap();
    assert!(
        org.sandbox().world_snapshot().chats[&GUARDED]
            .status(BOB, 0)
            .is_present()
    );
    let again = answer(&bob, "approve").unwrap_err();
    assert!(again.contains("query is too old"), "{again}");
    assert!(
        answer("nope", "approve")
            .unwrap_err()
            .contains("query is too old")
    );
    assert!(
        answer(&carol, "maybe")
            .unwrap_err()
            .contains("invalid result")
    );
    org.sandbox().advance_clock(11);
    let late = answer(&carol, "approve").unwrap_err();
    assert!(late.contains("query is too old"), "{late}");
    // Still waiting for an admin.
    let world = org.sandbox().world_snapshot();
    assert!(world.chats[&GUARDED].join_requests.contains_key(&CAROL));
    // The updates carried the query ids; a day later they are gone.
    assert!(
        world
            .updates
            .pending
            .iter()
            .any(|u| u.update["chat_join_request"]["query_id"] == bob.as_str())
    );
    org.sandbox().advance_clock(24 * 3600);
    assert!(org.sandbox().world_snapshot().updates.pending.is_empty());
}

/// SIGHUP reloads the config between updates; a config with errors is
/// not taken.
#[test]
fn sighup_reloads_the_config() {
    let org = Org::new(0, FaultOptions::default());
    let watch = org.watch(&[]).started();
    let hup = |w: &Watcher| {
        let pid = w.child.as_ref().unwrap().id().to_string();
        assert!(
            Command::new("kill")
                .args(["-HUP", &pid])
                .status()
                .unwrap()
                .success()
        );
    };
    // A broken config first: kept out.
    std::fs::write(org.config(), CONFIG.replace("people:", "peple:")).unwrap();
    hup(&watch);
    wait_until("the refusal", Duration::from_secs(10), || {
        watch.log.lock().unwrap().contains("keeping the one in use")
    });
    // Then the lobby declines strangers instead of queueing them.
    std::fs::write(
        org.config(),
        CONFIG.replace(
            "{declared: approve, others: queue}",
            "{declared: approve, others: decline}",
        ),
    )
    .unwrap();
    hup(&watch);
    watch.wait_for("the reload", Duration::from_secs(10), |v| {
        v["event"] == "config_reloaded"
    });
    let lobby = org.link(LOBBY, true);
    let e = org
        .act(300002, "joinChat", json!({"invite_link": lobby}))
        .unwrap_err();
    assert!(e.contains("INVITE_REQUEST_SENT"), "{e}");
    let decided = watch.wait_for("the decision", Duration::from_secs(10), |v| {
        v["event"] == "join_request" && v["user"] == 300002
    });
    assert_eq!(decided["decision"], "decline", "{decided}");
    assert!(
        !org.sandbox().world_snapshot().chats[&LOBBY]
            .join_requests
            .contains_key(&300002)
    );
}

/// Whether an enforce event is about `user` (the address ends in their
/// handle, or their id for people the config does not know).
fn watch_user_matches(v: &Value, user: i64) -> bool {
    let address = v["address"].as_str().unwrap_or_default();
    match user {
        MALLORY => address.ends_with(".mallory"),
        other => address.ends_with(&format!(".{other}")),
    }
}
