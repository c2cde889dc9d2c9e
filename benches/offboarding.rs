//! Offboarding benchmark: in a generated org of 10,000 people and 1,000
//! chats, 1,500 people are offboarded in the config. `diff` (the access diff
//! between the two configs) and `plan` (against a live state where everyone
//! still has the access the old config gave them) must report each person
//! only in the chats where they had access, so their size is proportional
//! to the real changes, not to people × chats.
//!
//! Prints the ratios that matter (reported losses per real membership,
//! JSON bytes per change), the times and peak memory. Run:
//! `cargo bench --bench offboarding`. Results are recorded in the README.

use std::collections::BTreeSet;
use std::hint::black_box;
use std::time::Instant;

use criterion::Criterion;
use orgform::access::{self, Side};
use orgform::plan::{self, Overrides, PlanInput};
use orgform::sandbox::generate::{GenerateOptions, generate, write};
use orgform::state::BotIdentity;
use orgform::store::Store;

const OFFBOARDED: usize = 1_500;

fn now() -> jiff::Timestamp {
    "2026-11-27T12:00:00Z".parse().unwrap()
}

/// The people file with the first `n` people offboarded.
fn offboard(people_yaml: &str, n: usize) -> String {
    let mut out = String::with_capacity(people_yaml.len() + n * 24);
    let mut done = 0;
    for line in people_yaml.lines() {
        if line.starts_with("    status:") && done <= n {
            continue;
        }
        out.push_str(line);
        out.push('\n');
        if done < n && line.starts_with("  p") && line.ends_with(':') {
            out.push_str("    status: offboarded\n");
            done += 1;
        }
    }
    out
}

/// Peak resident memory of this process so far, in MB.
fn peak_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse::<u64>().ok())
        })
        .unwrap_or(0)
        / 1024
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let generated = generate(&GenerateOptions {
        people: 10_000,
        chats: 1_000,
        seed: 7,
    });
    write(&generated, dir.path()).expect("write the generated org");
    // The generator's world is not part of what is measured.
    drop(generated);
    let base_dir = dir.path().join("config");
    let head_dir = dir.path().join("head");
    std::fs::create_dir_all(&head_dir).unwrap();
    for entry in std::fs::read_dir(&base_dir).unwrap().flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap();
        let text = if entry.file_name() == "people.yaml" {
            offboard(&text, OFFBOARDED)
        } else {
            text
        };
        std::fs::write(head_dir.join(entry.file_name()), text).unwrap();
    }
    let base = orgform::model::load(&base_dir, now()).expect("base valid");
    let head = orgform::model::load(&head_dir, now()).expect("head valid");
    let offboarded: BTreeSet<i64> = head
        .config
        .people
        .values()
        .filter(|p| p.status == orgform::spec::PersonStatus::Offboarded)
        .filter_map(|p| p.telegram_id)
        .collect();
    // Memberships the offboarded people really had (admin seats included).
    let real: usize = base
        .desired
        .state
        .chats
        .values()
        .map(|c| {
            let mut users: BTreeSet<i64> = c.admins.keys().copied().collect();
            users.extend(
                c.members
                    .iter()
                    .filter(|(_, m)| {
                        !matches!(
                            m,
                            orgform::state::MemberState::Absent
                                | orgform::state::MemberState::Banned
                        )
                    })
                    .map(|(u, _)| *u),
            );
            users.intersection(&offboarded).count()
        })
        .sum();

    fn side(m: &orgform::model::Model) -> Side<'_> {
        Side {
            desired: &m.desired,
            config: Some(&m.config),
        }
    }
    let loaded_peak = peak_mb();
    let t = Instant::now();
    let diff = access::diff(side(&base), side(&head));
    let diff_time = t.elapsed();
    let summary = diff.summary();
    let diff_rows: usize = diff.people.iter().map(|p| p.changes.len()).sum();
    let diff_json = serde_json::to_vec(&diff).unwrap().len();
    let diff_peak = peak_mb();

    let live = plan::simulate::converged(
        &base.desired,
        BotIdentity {
            id: 1,
            username: "bot".into(),
        },
    );
    let store = Store::default();
    let input = || PlanInput {
        desired: &head.desired,
        live: &live,
        store: &store,
        policies: head.config.policies.as_ref(),
        overrides: Overrides {
            removals: true,
            demotions: true,
            few_admins: true,
        },
        now: now(),
        only: None,
    };
    let t = Instant::now();
    let planned = plan::build(input());
    let plan_time = t.elapsed();
    let removals = planned
        .changes
        .iter()
        .filter(|c| {
            c.person.is_some() && matches!(c.op, plan::Op::Kick { .. } | plan::Op::Ban { .. })
        })
        .count();
    let plan_json = serde_json::to_vec(&orgform::render::plan::json(&planned))
        .unwrap()
        .len();
    let plan_peak = peak_mb();
    let markdown = orgform::render::plan::markdown(&planned).len();

    println!(
        "offboarded {} people holding {real} memberships",
        offboarded.len()
    );
    println!(
        "diff: {} losses ({:.3} per real membership), {} people, {diff_rows} rows, {} bytes of JSON ({:.0} per row), {:?}",
        summary.losses,
        summary.losses as f64 / real.max(1) as f64,
        summary.people,
        diff_json,
        diff_json as f64 / diff_rows.max(1) as f64,
        diff_time
    );
    println!(
        "plan: {} changes, {removals} removals ({:.3} per real membership), {} bytes of JSON ({:.0} per change), {markdown} bytes of Markdown, {:?}",
        planned.changes.len(),
        removals as f64 / real.max(1) as f64,
        plan_json,
        plan_json as f64 / planned.changes.len().max(1) as f64,
        plan_time
    );

    println!(
        "peak memory: {loaded_peak} MB with both configs loaded, {diff_peak} MB after the diff and its JSON, {plan_peak} MB after the plan and its JSON (the two models and the live state are shared)"
    );

    let mut c = Criterion::default().sample_size(10).configure_from_args();
    c.bench_function("diff: offboard 1,500 of 10k people, 1k chats", |b| {
        b.iter(|| black_box(access::diff(side(&base), side(&head))))
    });
    c.bench_function("plan: offboard 1,500 of 10k people, 1k chats", |b| {
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
