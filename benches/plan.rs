//! Planner benchmark on a generated org of 10,000 people and 1,000 chats:
//! load + validate + resolve the config, and plan against a live state with
//! a few hundred differences. Prints peak memory (VmHWM) at the end.
//!
//! Run: `cargo bench --bench plan`. Results are recorded in the README.

#[path = "common/steps.rs"]
mod steps;

use std::hint::black_box;

use criterion::Criterion;
use orgform::plan::{self, Overrides, PlanInput};
use orgform::sandbox::generate::{GenerateOptions, generate, write};
use orgform::state::{BotIdentity, MemberState};
use orgform::store::Store;

fn now() -> jiff::Timestamp {
    "2026-11-27T12:00:00Z".parse().unwrap()
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let generated = generate(&GenerateOptions {
        people: 10_000,
        chats: 1_000,
        seed: 7,
    });
    write(&generated, dir.path()).expect("write the generated org");
    let config_dir = dir.path().join("config");

    // Where the time of one load goes, step by step.
    steps::print(&steps::measure(&config_dir, now(), 3));

    let mut c = Criterion::default().sample_size(10).configure_from_args();
    c.bench_function("load+validate+resolve 10k people, 1k chats", |b| {
        b.iter(|| black_box(orgform::model::load(&config_dir, now()).expect("valid")))
    });

    let model = orgform::model::load(&config_dir, now()).expect("valid");
    let mut live = plan::simulate::converged(
        &model.desired,
        BotIdentity {
            id: 1,
            username: "bot".into(),
        },
    );
    // A few hundred differences: strays, missing members, old titles.
    let mut differences = 0;
    for (i, chat) in live.state.chats.values_mut().enumerate().take(300) {
        match i % 3 {
            0 => {
                chat.members
                    .insert(900_000_000 + i as i64, MemberState::Member);
            }
            1 => {
                if let Some(user) = chat.members.keys().next().copied() {
                    chat.members.remove(&user);
                }
            }
            _ => chat.settings.title = Some("Old title".into()),
        }
        differences += 1;
    }
    let store = Store::default();
    let input = || PlanInput {
        desired: &model.desired,
        live: &live,
        store: &store,
        policies: model.config.policies.as_ref(),
        overrides: Overrides {
            removals: true,
            demotions: true,
            few_admins: true,
        },
        now: now(),
        only: None,
    };
    let changes = plan::build(input()).changes.len();
    println!("plan against {differences} live differences: {changes} changes");
    c.bench_function("plan 1k chats with a few hundred differences", |b| {
        b.iter(|| black_box(plan::build(input())))
    });
    c.final_summary();

    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        for line in status
            .lines()
            .filter(|l| l.starts_with("VmHWM") || l.starts_with("VmRSS"))
        {
            println!("{line}");
        }
    }
}
