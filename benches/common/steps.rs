//! One config load, step by step, in-process (wall time, best of `runs`):
//! shared by `benches/load.rs` and `benches/scale.rs`.
//!
//! The steps are those of `model::load`: read and parse the files, the
//! JSON Schema on the parsed tree, the typed config read from the tree,
//! the checks, and resolution, once with the why-traces of no chat (what
//! `plan --changed-since` starts from; it adds those of the chats it reads)
//! and once with every chat's (what a full plan resolves). For the ratio,
//! the two steps this release replaced are measured the way they were
//! done before: the schema on a `serde_json` copy of the tree, and the
//! types read from that copy.

use std::path::Path;
use std::time::Instant;

/// `(step, best milliseconds)`, in order; the last three rows are not part
/// of one load (see [`print`]).
pub fn measure(config: &Path, now: jiff::Timestamp, runs: usize) -> Vec<(&'static str, f64)> {
    let mut best: Vec<(&'static str, f64)> = Vec::new();
    for _ in 0..runs {
        let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1000.0;
        let t0 = Instant::now();
        let loaded = orgform::config::load(config);
        let t1 = Instant::now();
        let root = loaded.root.as_ref().expect("parses");
        assert!(orgform::config::schema::is_valid(root));
        let t2 = Instant::now();
        let config: orgform::model::Config =
            orgform::config::tree_de::from_tree(root).expect("typed");
        let t3 = Instant::now();
        let checked = orgform::model::check::Checker::new(root, &config).run();
        assert!(!checked.has_errors());
        let t4 = Instant::now();
        let none = std::collections::BTreeSet::new();
        let untraced = orgform::model::resolve::resolve_traced(
            &config,
            now,
            orgform::model::resolve::Traces::Only(&none),
        );
        let t5 = Instant::now();
        let traced = orgform::model::resolve::resolve(&config, now);
        let t6 = Instant::now();
        let (problems, pruned) = orgform::config::schema::validate_and_prune(root);
        assert!(problems.is_empty());
        let t7 = Instant::now();
        let through_json: orgform::model::Config = serde_json::from_value(pruned).expect("typed");
        let t8 = Instant::now();
        assert_eq!(through_json, config, "the tree and JSON give one config");
        assert_eq!(untraced.state, traced.state, "traces change nothing else");
        let round = [
            ("read and parse YAML", ms(t0, t1)),
            ("schema (on the parsed tree)", ms(t1, t2)),
            ("typed model (from the tree)", ms(t2, t3)),
            ("checks", ms(t3, t4)),
            ("resolve (no why-traces)", ms(t4, t5)),
            ("resolve with every why-trace", ms(t5, t6)),
            ("schema through a JSON copy (as before)", ms(t6, t7)),
            ("typed model from the JSON copy (as before)", ms(t7, t8)),
        ];
        // Freed after the clock stopped: freeing is not part of a load
        // (a command ends without it), and the benches measure memory.
        drop((loaded, config, untraced, traced, through_json));
        if best.is_empty() {
            best = round.to_vec();
        } else {
            for (b, r) in best.iter_mut().zip(round) {
                b.1 = b.1.min(r.1);
            }
        }
    }
    best
}

/// Print the steps: one load as `plan --changed-since` does it (no
/// traces), as a full plan does it (every trace), and the replaced steps.
pub fn print(steps: &[(&'static str, f64)]) {
    let get = |name: &str| steps.iter().find(|(n, _)| *n == name).map_or(0.0, |s| s.1);
    let core: f64 = steps[..5].iter().map(|(_, t)| t).sum();
    println!("one config load, step by step (wall time, best of the runs): {core:.0} ms");
    for (what, t) in &steps[..5] {
        println!("  {what}: {t:.1} ms ({:.0} %)", 100.0 * t / core);
    }
    let full = core - get("resolve (no why-traces)") + get("resolve with every why-trace");
    println!(
        "  with every chat's why-traces (a full plan): resolve {:.1} ms, the load {full:.0} ms",
        get("resolve with every why-trace")
    );
    let before = get("schema through a JSON copy (as before)")
        + get("typed model from the JSON copy (as before)");
    let now = get("schema (on the parsed tree)") + get("typed model (from the tree)");
    println!(
        "  schema + typed model: {now:.1} ms on the tree, {before:.1} ms through a JSON copy as before ({:.2}x)",
        now / before
    );
}
