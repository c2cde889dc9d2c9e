//! One config load of the generated org of 10,000 people and 1,000 chats,
//! step by step (`common/steps.rs`): the quick bench to run while working
//! on loading; `benches/scale.rs` prints the same figures before its
//! end-to-end runs.
//!
//! Run: `cargo bench --bench load` (set `ORGFORM_LOAD_RUNS`, default 5).

#[path = "common/steps.rs"]
mod steps;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("load: bench");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let generated =
        orgform::sandbox::generate::generate(&orgform::sandbox::generate::GenerateOptions {
            people: 10_000,
            chats: 1_000,
            seed: 7,
        });
    orgform::sandbox::generate::write(&generated, dir.path()).expect("write the generated org");
    let config = dir.path().join("config");
    let runs = std::env::var("ORGFORM_LOAD_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let now: jiff::Timestamp = "2026-11-27T12:00:00Z".parse().unwrap();
    for file in std::fs::read_dir(&config).unwrap().flatten() {
        let len = file.metadata().map_or(0, |m| m.len());
        println!(
            "  {}: {:.2} MB",
            file.file_name().to_string_lossy(),
            len as f64 / 1e6
        );
    }
    steps::print(&steps::measure(&config, now, runs));
    std::mem::forget(generated);
}
