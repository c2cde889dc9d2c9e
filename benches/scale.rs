//! Company scale, end to end: the generated org of 10,000 people and 1,000
//! chats (`orgform sandbox generate --seed 7`), converged by an apply
//! against `orgform sandbox serve`, then, each as its own `orgform`
//! process measured with `/usr/bin/time` (CPU = user + system, peak RSS):
//!
//! - `plan` with a warm store (the org is converged: nothing to change),
//! - `plan --changed-since HEAD` after one chat's title changed in the
//!   config (one chat read),
//! - `validate`,
//!
//! each with the calls it made (the sandbox's counters), best of three
//! runs. Then the store: its size after the converging apply, and after the
//! store has recorded what an apply offboarding 1,500 people records (each
//! of them absent from every chat: kicked where they were members, found
//! absent everywhere else), written through the SQLite backend exactly as a
//! command writes it.
//!
//! Before all that, one config load step by step, in-process (read and
//! parse, schema, typed model, checks, resolve; `common/steps.rs`, also
//! `cargo bench --bench load`), and what `--changed-since`
//! adds: the base rebuilt from the head and the changed file, against the
//! base loaded in full as before. After the `--changed-since` runs, this
//! release again with a fresh watch ledger (the facts a watch writes after
//! its full member check, written by the bench): the warm plan, the
//! targeted plan, and the first plan after 1,500 people are offboarded in
//! the config, with its getChatMember calls against those it would make
//! without the ledger.
//!
//! Ratios are to the previous release (38b63cb): set `ORGFORM_PREVIOUS_BIN`
//! to its binary (`git worktree add /tmp/prev 38b63cb && cargo build
//! --release` there) to measure it side by side; otherwise the figures it
//! gave on this project's 2-core machine, recorded in [`PREVIOUS`], are
//! used. Apply throughput against a rate-limited server is `benches/pace.rs`.
//!
//! Run: `cargo bench --bench scale` (about 10 minutes, most of it the
//! converging apply's 146,000 calls). Results are recorded in the README.

#[path = "common/steps.rs"]
mod steps;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_orgform");
const NOW: &str = "--now=2026-11-27T12:00:00Z";
const OFFBOARDED: usize = 1_500;

/// What 38b63cb measured here (best of two or three runs): CPU seconds,
/// peak MB.
const PREVIOUS: &[(&str, f64, u64)] = &[
    ("plan, warm store", 1.95, 739),
    ("plan --changed-since (1 chat)", 2.39, 728),
    ("validate", 0.36, 130),
];

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

fn serve(bin: &str, world: &Path) -> Server {
    let mut child = Command::new(bin)
        .args(["sandbox", "serve", "--port", "0", "--world"])
        .arg(world)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("sandbox serve starts");
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

fn calls(server: &Server) -> u64 {
    let stats: serde_json::Value = serde_json::from_slice(
        &Command::new(BIN)
            .args(["sandbox", "stats", "--url", &server.url])
            .output()
            .expect("stats")
            .stdout,
    )
    .expect("stats parse");
    stats["methods"]
        .as_object()
        .map(|m| m.values().filter_map(|v| v["calls"].as_u64()).sum())
        .unwrap_or(0)
}

#[derive(Clone, Copy)]
struct Measured {
    cpu: f64,
    peak_mb: u64,
    calls: u64,
    code: i32,
}

/// Run `bin ARGS` under /usr/bin/time; best of `runs` by CPU.
fn measure(
    bin: &str,
    args: &[&str],
    env: &[(&str, &str)],
    server: Option<&Server>,
    runs: usize,
) -> Measured {
    let mut best: Option<Measured> = None;
    for _ in 0..runs {
        let times = tempfile::NamedTempFile::new().unwrap();
        let before = server.map_or(0, calls);
        let out = Command::new("/usr/bin/time")
            .args(["-f", "%U %S %M", "-o"])
            .arg(times.path())
            .arg(bin)
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .expect("/usr/bin/time runs (apt-get install time)");
        let code = out.status.code().unwrap_or(-1);
        assert!(
            code == 0 || code == 2,
            "{bin} {args:?} exited {code}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(times.path()).unwrap();
        let f: Vec<f64> = text
            .lines()
            .last()
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        let m = Measured {
            cpu: f[0] + f[1],
            peak_mb: (f[2] / 1024.0).round() as u64,
            calls: server.map_or(0, calls) - before,
            code,
        };
        if best.is_none_or(|b| m.cpu < b.cpu) {
            best = Some(m);
        }
    }
    best.unwrap()
}

struct Org {
    dir: PathBuf,
    config: PathBuf,
    token: String,
}

fn generate(dir: &Path) -> Org {
    let out = dir.join("org");
    let status = Command::new(BIN)
        .args([
            "sandbox", "generate", "--people", "10000", "--chats", "1000", "--seed", "7", "--out",
        ])
        .arg(&out)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let world: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("world.json")).unwrap()).unwrap();
    let config = out.join("config");
    // A repository, so `--changed-since HEAD` has a revision to compare.
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .args([
                "-c",
                "user.name=bench",
                "-c",
                "user.email=bench@example.com",
            ])
            .args(args)
            .current_dir(&out)
            .stdout(Stdio::null())
            .status()
            .unwrap()
            .success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q"]);
    git(&["add", "config"]);
    git(&["commit", "-q", "-m", "generated"]);
    Org {
        dir: out,
        config,
        token: world["bot"]["token"].as_str().unwrap().to_string(),
    }
}

/// One release's figures on the org: converge it, then measure. For this
/// release (`current`), also what a fresh watch ledger saves
/// ([`with_fresh_ledger`]).
fn run(
    bin: &str,
    org: &Org,
    work: &Path,
    current: bool,
) -> (Vec<(&'static str, Measured)>, PathBuf) {
    std::fs::create_dir_all(work).unwrap();
    let world = work.join("world.json");
    std::fs::copy(org.dir.join("world.json"), &world).unwrap();
    let server = serve(bin, &world);
    let state = work.join("state");
    let config = org.config.to_str().unwrap();
    let state_arg = state.to_str().unwrap();
    let common = [
        "--api-url",
        &server.url,
        "--state-dir",
        state_arg,
        "--requests-per-second",
        "0",
        NOW,
    ];
    let env = [("ORGFORM_TELEGRAM_TOKEN", org.token.as_str())];
    let mut apply: Vec<&str> = vec!["apply", config];
    apply.extend(common);
    apply.extend([
        "--auto-approve",
        "--allow-removals",
        "--allow-demotions",
        "--allow-few-admins",
    ]);
    let converge = measure(bin, &apply, &env, Some(&server), 1);
    println!(
        "  converging apply: {} calls, {:.1} s CPU, {} MB",
        converge.calls, converge.cpu, converge.peak_mb
    );
    let mut plan: Vec<&str> = vec!["plan", config];
    plan.extend(common);
    // The first plan after the apply may rewrite the store (folding gone
    // people); the figures are for plans after it.
    measure(bin, &plan, &env, Some(&server), 1);
    let warm = measure(bin, &plan, &env, Some(&server), 3);
    assert_eq!(warm.code, 0, "the converged org plans no changes");

    let chats = org.config.join("chats.yaml");
    let original = std::fs::read_to_string(&chats).unwrap();
    let changed = original.replacen("title: ", "title: Renamed ", 1);
    std::fs::write(&chats, &changed).unwrap();
    let mut targeted = plan.clone();
    targeted.extend(["--changed-since", "HEAD"]);
    let since = measure(bin, &targeted, &env, Some(&server), 3);
    std::fs::write(&chats, &original).unwrap();
    // The converged store, for the offboarding simulation (the plans
    // below record what they learn).
    let db = state.join("orgform.db");
    let converged = state.join("converged.db");
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    std::fs::copy(&db, &converged).unwrap();
    if current {
        with_fresh_ledger(org, &state, &plan, &targeted, &env, &server);
    }

    let validate = measure(bin, &["validate", config], &[], None, 3);
    drop(server);
    (
        vec![
            ("plan, warm store", warm),
            ("plan --changed-since (1 chat)", since),
            ("validate", validate),
        ],
        converged,
    )
}

/// With a fresh watch ledger (the facts a watch writes once its full
/// member check ran, written here so that no watch has to run for the
/// bench): the warm plan and `--changed-since` again, then the first plan
/// after 1,500 people are offboarded in the config, with the getChatMember
/// calls it makes against the calls it would make without the ledger (one
/// per offboarded person and chat where the store never saw them).
fn with_fresh_ledger(
    org: &Org,
    state: &Path,
    plan: &[&str],
    targeted: &[&str],
    env: &[(&str, &str)],
    server: &Server,
) {
    use orgform::store::ledger::{FactWrite, Ledger, keys};
    let db = state.join("orgform.db");
    let at: jiff::Timestamp = NOW.trim_start_matches("--now=").parse().unwrap();
    let ledger = orgform::store::sqlite::Sqlite::open_file(&db).unwrap();
    ledger
        .put_facts(vec![
            FactWrite::Put(keys::HEARTBEAT.into(), at.as_second().to_string()),
            FactWrite::Put(keys::FULL_CHECK.into(), at.as_second().to_string()),
        ])
        .unwrap();
    drop(ledger);
    let getchatmember = |server: &Server| -> u64 {
        let stats: serde_json::Value = serde_json::from_slice(
            &Command::new(BIN)
                .args(["sandbox", "stats", "--url", &server.url])
                .output()
                .expect("stats")
                .stdout,
        )
        .expect("stats parse");
        stats["methods"]["getChatMember"]["calls"]
            .as_u64()
            .unwrap_or(0)
    };
    let warm = measure(BIN, plan, env, Some(server), 3);
    let chats = org.config.join("chats.yaml");
    let original = std::fs::read_to_string(&chats).unwrap();
    std::fs::write(&chats, original.replacen("title: ", "title: Renamed ", 1)).unwrap();
    let since = measure(BIN, targeted, env, Some(server), 3);
    std::fs::write(&chats, &original).unwrap();
    println!(
        "  with a fresh watch ledger: plan {} calls ({:.2} s CPU), --changed-since {} calls ({:.2} s CPU)",
        warm.calls, warm.cpu, since.calls, since.cpu
    );

    // Offboard 1,500 active people without roles or departments to lead.
    let now: jiff::Timestamp = at;
    let model = orgform::model::load(&org.config, now).expect("the generated config is valid");
    let leads: std::collections::BTreeSet<&str> = model
        .config
        .departments
        .values()
        .flat_map(|d| d.leads.iter().map(String::as_str))
        .collect();
    let chosen: Vec<(&String, i64)> = model
        .config
        .people
        .iter()
        .filter(|(h, p)| {
            p.status == orgform::model::spec::PersonStatus::Active
                && p.roles.is_empty()
                && !leads.contains(h.as_str())
        })
        .filter_map(|(h, p)| Some((h, p.telegram_id?)))
        .take(OFFBOARDED)
        .collect();
    let store = orgform::store::sqlite::Sqlite::open_file(&db).unwrap();
    let store = orgform::store::backend::Backend::load(&store).unwrap();
    let chat_ids: Vec<i64> = model.desired.state.chats.values().map(|c| c.id).collect();
    let unseen: usize = chosen
        .iter()
        .map(|(_, id)| {
            chat_ids
                .iter()
                .filter(|c| store.chat(**c).is_none_or(|m| !m.members.contains_key(id)))
                .count()
        })
        .sum();
    let people_file = org.config.join("people.yaml");
    let people = std::fs::read_to_string(&people_file).unwrap();
    let mut edited = String::with_capacity(people.len() + 30 * OFFBOARDED);
    let offboard: std::collections::BTreeSet<String> =
        chosen.iter().map(|(h, _)| format!("  {h}:")).collect();
    for line in people.lines() {
        edited.push_str(line);
        edited.push('\n');
        if offboard.contains(line) {
            edited.push_str("    status: offboarded\n");
        }
    }
    std::fs::write(&people_file, &edited).unwrap();
    let before = getchatmember(server);
    let mut first: Vec<&str> = plan.to_vec();
    first.extend([
        "--allow-removals",
        "--allow-few-admins",
        "--allow-demotions",
    ]);
    let offboarding = measure(BIN, &first, env, Some(server), 1);
    let asked = getchatmember(server) - before;
    std::fs::write(&people_file, &people).unwrap();
    println!(
        "  first plan after offboarding {} people: {} calls, {asked} of them getChatMember, {:.2} s CPU, {} MB \
         (without a fresh ledger: {unseen} getChatMember, one per offboarded person and chat where the store never saw them)",
        chosen.len(),
        offboarding.calls,
        offboarding.cpu,
        offboarding.peak_mb
    );
}

/// Where one load of the config goes, step by step (in-process, best of
/// three), and what `--changed-since` adds: the base rebuilt from the head
/// and the changed file (`model::since`), and its chats resolved.
fn load_steps(org: &Org) {
    use std::time::Instant;
    let now: jiff::Timestamp = NOW.trim_start_matches("--now=").parse().unwrap();
    steps::print(&steps::measure(&org.config, now, 3));

    // --changed-since HEAD after one chat's title changed.
    let chats = org.config.join("chats.yaml");
    let original = std::fs::read_to_string(&chats).unwrap();
    std::fs::write(&chats, original.replacen("title: ", "title: Renamed ", 1)).unwrap();
    let head = orgform::model::load(&org.config, now).unwrap();
    let repo = orgform::git::Repo::discover(&org.config).unwrap();
    let path = repo.path_in_repo(&org.config).unwrap();
    let at = repo.head().unwrap();
    let mut spliced_ms = f64::MAX;
    let mut full_ms = f64::MAX;
    for _ in 0..3 {
        let t0 = Instant::now();
        let base = orgform::cli::diff::spliced_base(&repo, &path, &at, &head, now)
            .unwrap()
            .expect("the base is rebuilt")
            .expect("a file changed");
        let t1 = Instant::now();
        spliced_ms = spliced_ms.min((t1 - t0).as_secs_f64() * 1000.0);
        assert_eq!(base.chats.as_ref().map(|c| c.len()), Some(1));
        std::mem::forget(base);
        let t0 = Instant::now();
        let full = orgform::cli::diff::changed_chats_since_in_full(&org.config, "HEAD", &head, now)
            .unwrap();
        full_ms = full_ms.min(t0.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(full.len(), 1);
    }
    std::fs::write(&chats, &original).unwrap();
    std::mem::forget(head);
    println!(
        "--changed-since's base: rebuilt from the head and the changed file {spliced_ms:.0} ms (loaded in full, as before: {full_ms:.0} ms)"
    );
}

/// Bytes of the records themselves (keys and values), whatever the file's
/// free space.
fn content_bytes(path: &Path) -> i64 {
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row(
            "SELECT SUM(LENGTH(kind) + LENGTH(key) + LENGTH(value) + 8) FROM records",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

/// Bytes of the database file once its WAL is checkpointed into it.
fn db_bytes(path: &Path) -> u64 {
    rusqlite::Connection::open(path)
        .unwrap()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    let wal = path.with_extension("db-wal");
    std::fs::metadata(path).map_or(0, |m| m.len()) + std::fs::metadata(wal).map_or(0, |m| m.len())
}

/// Record in the store what an apply offboarding `n` people records, and
/// report the store before and after.
fn offboard(db: &Path, config: &Path) {
    use orgform::state::MemberState;
    use orgform::store::backend::Backend;
    use orgform::store::records::{self, GONE_KIND, MEMBER_KIND};
    let copy = db.with_file_name("offboarding.db");
    std::fs::copy(db, &copy).unwrap();
    let wal = db.with_extension("db-wal");
    if wal.exists() {
        std::fs::copy(&wal, copy.with_extension("db-wal")).unwrap();
    }
    // The converged store at its most compact, so "smaller" is strict.
    rusqlite::Connection::open(&copy)
        .unwrap()
        .execute_batch("VACUUM; PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    let backend = orgform::store::sqlite::Sqlite::open_file(&copy).unwrap();
    let now: jiff::Timestamp = "2026-11-28T12:00:00Z".parse().unwrap();
    let model = orgform::model::load(config, now).expect("the generated config is valid");
    let active: Vec<i64> = model
        .config
        .people
        .values()
        .filter(|p| p.status == orgform::model::spec::PersonStatus::Active)
        .filter_map(|p| p.telegram_id)
        .take(OFFBOARDED)
        .collect();
    let base = backend.load().unwrap();
    let count = |s: &orgform::store::Store| {
        let rows = records::rows(s);
        (
            rows.keys().filter(|k| k.1 == MEMBER_KIND).count(),
            rows.keys().filter(|k| k.1 == GONE_KIND).count(),
        )
    };
    let (members_before, gone_before) = count(&base);
    let bytes_before = db_bytes(&copy);
    let bytes_before_mb = bytes_before as f64 / 1e6;
    let content_before = content_bytes(&copy) as f64 / 1e6;
    let mut store = base.clone();
    let chats: Vec<i64> = model.desired.state.chats.values().map(|c| c.id).collect();
    let mut memberships = 0;
    for user in &active {
        for chat in &chats {
            let was_member = store
                .chat(*chat)
                .and_then(|c| c.members.get(user))
                .is_some_and(|s| s.status != MemberState::Absent);
            memberships += usize::from(was_member);
            let source = if was_member { "apply" } else { "getChatMember" };
            store.see_member(*chat, *user, MemberState::Absent, now.as_second(), source);
        }
    }
    backend.commit(&records::delta(&base, &store)).unwrap();
    let after = backend.load().unwrap();
    let (members_after, gone_after) = count(&after);
    let bytes_after = db_bytes(&copy);
    println!(
        "store after offboarding {OFFBOARDED} people ({memberships} memberships removed, the rest found absent in all {} chats):",
        chats.len()
    );
    println!(
        "  before: {members_before} member rows + {gone_before} gone rows; records {content_before:.1} MB, file {bytes_before_mb:.1} MB"
    );
    println!(
        "  after:  {members_after} member rows + {gone_after} gone rows; records {:.1} MB, file {:.1} MB ({:.2}x; without the fold it would hold {} member rows)",
        content_bytes(&copy) as f64 / 1e6,
        bytes_after as f64 / 1e6,
        bytes_after as f64 / bytes_before as f64,
        members_before + OFFBOARDED * chats.len() - memberships
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("scale: bench");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let org = generate(dir.path());
    println!("this release ({BIN}):");
    load_steps(&org);
    let (current, db) = run(BIN, &org, &dir.path().join("current"), true);
    let previous: Vec<(String, f64, u64, Option<u64>)> = match std::env::var("ORGFORM_PREVIOUS_BIN")
    {
        Ok(bin) if !bin.is_empty() => {
            println!("previous release ({bin}):");
            run(&bin, &org, &dir.path().join("previous"), false)
                .0
                .into_iter()
                .map(|(what, m)| (what.to_string(), m.cpu, m.peak_mb, Some(m.calls)))
                .collect()
        }
        _ => PREVIOUS
            .iter()
            .map(|(what, cpu, mb)| (what.to_string(), *cpu, *mb, None))
            .collect(),
    };
    println!();
    println!("| what | CPU | peak | calls | previous release | CPU ratio |");
    println!("|---|---|---|---|---|---|");
    for ((what, m), (_, cpu, mb, calls)) in current.iter().zip(&previous) {
        let prev_calls = calls.map(|c| format!(", {c} calls")).unwrap_or_default();
        println!(
            "| {what} | {:.2} s | {} MB | {} | {cpu:.2} s, {mb} MB{prev_calls} | {:.2}x |",
            m.cpu,
            m.peak_mb,
            m.calls,
            m.cpu / cpu
        );
    }
    println!();
    offboard(&db, &org.config);
}
