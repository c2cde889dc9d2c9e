//! The applier against the sandbox over real HTTP: a fault at the Nth
//! change of the reversible phase rolls everything back, and `rollback`
//! of a finished run restores the before-state of every reversible change.
//!
//! "The world before" is compared as people see it: chat settings, every
//! member's status, rights and title, live topics, active invite links and
//! commands. Undoing a creation revokes or deletes what was created, which
//! Telegram keeps as a revoked link or a deleted topic, so those are left
//! out of the comparison by being inactive.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use orgform::apply::provider::{Executed, Observed, Provider, ProviderError};
use orgform::apply::{self, Journal, Prior, RunStatus};
use orgform::plan::{self, Change, Overrides, Phase, Plan, PlanInput};
use orgform::sandbox::{self, SandboxOptions, SeedOptions, World};
use orgform::state::DesiredState;
use orgform::store::Store;
use orgform::telegram::TelegramProvider;
use orgform::telegram::client::{ApiUrl, Client, ClientOptions, Token};
use orgform::telegram::error::{ApiFailure, Class, Error, ErrorKind};
use serde_json::{Value, json};

fn now() -> jiff::Timestamp {
    "2026-11-27T12:00:00Z".parse().unwrap()
}

fn desired() -> DesiredState {
    orgform::model::load_desired(std::path::Path::new("examples/acme"), now()).unwrap()
}

/// What people see of a world: per chat, settings, members, live topics,
/// active links; plus commands.
fn visible(world: &World, skip_members: &BTreeSet<(i64, i64)>) -> Value {
    let chats: Vec<Value> = world
        .chats
        .values()
        .map(|c| {
            let members: serde_json::Map<String, Value> = c
                .members
                .iter()
                .filter(|(u, _)| !skip_members.contains(&(c.id, **u)))
                .map(|(u, m)| (u.to_string(), serde_json::to_value(m).unwrap()))
                .collect();
            let links: Vec<Value> = c
                .invite_links
                .iter()
                .filter(|l| !l.is_revoked)
                .map(|l| json!([l.name, l.expire_date, l.member_limit, l.creates_join_request, l.is_primary]))
                .collect();
            let topics: Vec<Value> = c.topics.values().map(|t| json!([t.name, t.icon_color, t.closed])).collect();
            json!({"id": c.id, "title": c.title, "description": c.description, "permissions": c.permissions,
                   "members": members, "links": links, "topics": topics})
        })
        .collect();
    json!({"chats": chats, "commands": serde_json::to_value(&world.commands).unwrap()})
}

struct Setup {
    running: sandbox::RunningSandbox,
    provider: TelegramProvider,
    desired: DesiredState,
}

async fn setup() -> Setup {
    let desired = desired();
    let world = World::from_desired(&desired, &SeedOptions::default());
    let running = sandbox::start(SandboxOptions::default(), world)
        .await
        .unwrap();
    let client = Client::new(
        ApiUrl::parse(&running.base_url()).unwrap(),
        Token::new(running.token(), "test").unwrap(),
        ClientOptions {
            requests_per_second: None,
            ..ClientOptions::default()
        },
    )
    .unwrap();
    Setup {
        running,
        provider: TelegramProvider::new(client),
        desired,
    }
}

async fn make_plan(s: &Setup, store: &mut Store) -> Plan {
    let (live, _) = orgform::telegram::read::refresh(
        s.provider.client(),
        &s.desired,
        store,
        now().as_second(),
        None,
    )
    .await
    .unwrap();
    plan::build(PlanInput {
        desired: &s.desired,
        live: &live,
        store,
        policies: None,
        overrides: Overrides {
            removals: true,
            demotions: true,
            few_admins: true,
        },
        now: now(),
        only: None,
    })
}

/// Fails the `n`th change it is asked to execute (counting from 0), like a
/// Telegram error would; everything else goes to the real provider.
struct FaultAt {
    inner: TelegramProvider,
    n: usize,
    seen: AtomicUsize,
    /// What the fault looks like.
    kind: fn() -> ErrorKind,
}

/// Telegram refused the call: it certainly did not happen.
fn refused() -> ErrorKind {
    ErrorKind::Api(ApiFailure {
        code: 400,
        description: "Bad Request: injected fault".into(),
        class: Class::BadRequest,
        retry_after: None,
    })
}

impl Provider for FaultAt {
    async fn execute(&self, change: &Change) -> Result<Executed, ProviderError> {
        if self.seen.fetch_add(1, Ordering::SeqCst) == self.n {
            return Err(Error::new("injected", Some(change.chat_id), (self.kind)()).into());
        }
        self.inner.execute(change).await
    }

    async fn observe_before(&self, change: &Change) -> Result<Observed, ProviderError> {
        self.inner.observe_before(change).await
    }
}

#[tokio::test]
async fn a_fault_in_the_reversible_phase_rolls_everything_back() {
    let s = setup().await;
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::default();
    let plan = make_plan(&s, &mut store).await;
    let reversible = plan
        .executable()
        .filter(|c| c.phase() == Phase::Reversible)
        .count();
    assert!(
        reversible > 10,
        "the seeded drift gives the plan work: {reversible}"
    );
    let before = visible(&s.running.world_snapshot(), &BTreeSet::new());

    // Fail the 8th change: some chats are done, some half done, some not started.
    let faulty = FaultAt {
        inner: s.provider.clone(),
        n: 7,
        seen: AtomicUsize::new(0),
        kind: refused,
    };
    let mut journal = Journal::create(dir.path(), "run-fault").unwrap();
    let report = apply::run(
        &faulty,
        &plan,
        &mut journal,
        &mut store,
        now().as_second(),
        4,
        Prior::default(),
        &apply::Hooks::none(),
    )
    .await;

    assert_eq!(report.status(), RunStatus::RolledBack, "{report:#?}");
    assert!(report.failed.as_ref().unwrap().1.contains("injected fault"));
    // The seven changes started before the fault were done; with four chats
    // in flight, up to three more (other chats) may have started before the
    // failure stopped new work. Every one of them is undone: the world check
    // below is the real property.
    assert!(
        (7..=10).contains(&report.rolled_back.len()),
        "the changes done before the fault were undone: {:?}",
        report.rolled_back
    );
    assert!(report.rollback_errors.is_empty());
    let after = visible(&s.running.world_snapshot(), &BTreeSet::new());
    assert_eq!(before, after, "the world looks as it did before the run");

    // The journal tells the story, and is private.
    let events = apply::journal::read(dir.path(), "run-fault").unwrap();
    let state = apply::replay(&events);
    assert!(
        state.done.is_empty(),
        "every done change has a successful undo"
    );
    assert_eq!(state.finished, Some(RunStatus::RolledBack));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(apply::journal::journal_path(dir.path(), "run-fault"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    s.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn rollback_of_a_finished_run_restores_every_reversible_change() {
    let s = setup().await;
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::default();
    let plan = make_plan(&s, &mut store).await;
    let before_world = s.running.world_snapshot();

    let mut journal = Journal::create(dir.path(), "run-1").unwrap();
    let report = apply::run(
        &s.provider,
        &plan,
        &mut journal,
        &mut store,
        now().as_second(),
        4,
        Prior::default(),
        &apply::Hooks::none(),
    )
    .await;
    assert_eq!(report.status(), RunStatus::Applied, "{report:#?}");
    assert_eq!(report.applied.len(), plan.executable().count());

    // Converged: a new plan has nothing to do.
    let again = make_plan(&s, &mut store).await;
    assert!(
        again.changes.is_empty(),
        "{}",
        orgform::render::plan::text(&again, orgform::render::Style::Plain)
    );

    let state = apply::replay(&apply::journal::read(dir.path(), "run-1").unwrap());
    let mut journal = Journal::reopen(dir.path(), "run-1").unwrap();
    let undo = apply::rollback(
        &s.provider,
        &plan,
        &mut journal,
        &mut store,
        now().as_second(),
        state.done,
        Vec::new(),
        &apply::Hooks::none(),
    )
    .await;
    assert_eq!(undo.status(), RunStatus::Reverted, "{undo:#?}");

    // Irreversible changes (kicking an offboarded person) stay done, and
    // are listed for a person; everything else is as before.
    let irreversible: BTreeSet<(i64, i64)> = plan
        .changes
        .iter()
        .filter(|c| !c.reversible)
        .filter_map(|c| match c.op {
            plan::Op::Kick { user } | plan::Op::Ban { user } => Some((c.chat_id, user)),
            _ => None,
        })
        .collect();
    assert!(!irreversible.is_empty());
    assert_eq!(undo.not_run.len(), irreversible.len());
    assert_eq!(
        visible(&before_world, &irreversible),
        visible(&s.running.world_snapshot(), &irreversible),
        "every reversible change is undone"
    );
    s.running.shutdown().await.unwrap();
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_journal_that_cannot_be_written_stops_the_run_before_any_change() {
    let s = setup().await;
    let mut store = Store::default();
    let plan = make_plan(&s, &mut store).await;
    assert!(plan.executable().count() > 0);
    let before = visible(&s.running.world_snapshot(), &BTreeSet::new());
    s.running.reset_stats();
    // /dev/full accepts the open and refuses every write with ENOSPC, like a full disk.
    let full = std::fs::OpenOptions::new()
        .append(true)
        .open("/dev/full")
        .unwrap();
    let mut journal = Journal::from_file(full, "/dev/full".into());
    let report = apply::run(
        &s.provider,
        &plan,
        &mut journal,
        &mut store,
        now().as_second(),
        4,
        Prior::default(),
        &apply::Hooks::none(),
    )
    .await;
    let (_, error) = report.failed.clone().expect("the run stops");
    assert!(
        error.starts_with("not executed: cannot write the journal"),
        "{error}"
    );
    assert!(
        report.applied.is_empty() && report.rolled_back.is_empty(),
        "{report:#?}"
    );
    let writes: u64 = s
        .running
        .stats()
        .methods
        .iter()
        .filter(|(m, _)| !m.starts_with("get"))
        .map(|(_, st)| st.calls)
        .sum();
    assert_eq!(writes, 0, "nothing reached Telegram but reads");
    assert_eq!(
        before,
        visible(&s.running.world_snapshot(), &BTreeSet::new())
    );
    s.running.shutdown().await.unwrap();
}

/// Carries out the `n`th change for real, then loses its answer, like a
/// connection cut after Telegram acted.
struct LoseAnswerAt {
    inner: TelegramProvider,
    pick: fn(&Change) -> bool,
    lost: AtomicUsize,
}

impl Provider for LoseAnswerAt {
    async fn execute(&self, change: &Change) -> Result<Executed, ProviderError> {
        let result = self.inner.execute(change).await;
        if (self.pick)(change) && self.lost.fetch_add(1, Ordering::SeqCst) == 0 {
            result?;
            return Err(Error::new(
                "injected",
                Some(change.chat_id),
                ErrorKind::Unrepeatable {
                    detail: "connection closed before the answer".into(),
                },
            )
            .into());
        }
        result
    }

    async fn observe_before(&self, change: &Change) -> Result<Observed, ProviderError> {
        self.inner.observe_before(change).await
    }

    async fn evidence(&self, change: &Change, before: &Observed) -> orgform::apply::Evidence {
        self.inner.evidence(change, before).await
    }
}

#[tokio::test]
async fn a_lost_answer_to_a_creation_is_never_called_a_complete_rollback() {
    let s = setup().await;
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::default();
    let plan = make_plan(&s, &mut store).await;
    let provider = LoseAnswerAt {
        inner: s.provider.clone(),
        pick: |c| matches!(c.op, plan::Op::CreateInviteLink { .. }),
        lost: AtomicUsize::new(0),
    };
    let mut journal = Journal::create(dir.path(), "run-lost").unwrap();
    let report = apply::run(
        &provider,
        &plan,
        &mut journal,
        &mut store,
        now().as_second(),
        1,
        Prior::default(),
        &apply::Hooks::none(),
    )
    .await;
    assert_eq!(report.status(), RunStatus::Partial, "{report:#?}");
    assert_eq!(report.uncertain.len(), 1, "{report:#?}");
    let (index, question) = &report.uncertain[0];
    assert!(
        matches!(plan.changes[*index].op, plan::Op::CreateInviteLink { .. }),
        "{question}"
    );
    assert!(
        question.contains("orgform state adopt link") && question.contains("Invite links"),
        "the operator is told what to look for and how to record it: {question}"
    );
    // The link does exist in Telegram: nothing claimed it was undone.
    assert!(!report.rolled_back.contains(index));
    // The run stays unfinished: the change is in flight in the journal.
    let state = apply::replay(&apply::journal::read(dir.path(), "run-lost").unwrap());
    assert_eq!(state.finished, None);
    assert_eq!(state.in_flight, vec![*index]);
    assert!(state.unfinished());
    s.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_lost_answer_to_a_final_state_change_is_undone_like_a_done_one() {
    let s = setup().await;
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::default();
    let plan = make_plan(&s, &mut store).await;
    let before = visible(&s.running.world_snapshot(), &BTreeSet::new());
    let provider = LoseAnswerAt {
        inner: s.provider.clone(),
        pick: |c| matches!(c.op, plan::Op::Promote { .. } | plan::Op::SetTitle { .. }),
        lost: AtomicUsize::new(0),
    };
    assert!(plan.changes.iter().any(|c| (provider.pick)(c)));
    let mut journal = Journal::create(dir.path(), "run-lost").unwrap();
    let report = apply::run(
        &provider,
        &plan,
        &mut journal,
        &mut store,
        now().as_second(),
        1,
        Prior::default(),
        &apply::Hooks::none(),
    )
    .await;
    assert_eq!(report.status(), RunStatus::RolledBack, "{report:#?}");
    assert!(report.uncertain.is_empty());
    let (failed, _) = report.failed.clone().unwrap();
    assert!(
        report.rolled_back.contains(&failed),
        "the change that may have happened was undone too: {report:#?}"
    );
    assert_eq!(
        before,
        visible(&s.running.world_snapshot(), &BTreeSet::new())
    );
    s.running.shutdown().await.unwrap();
}
