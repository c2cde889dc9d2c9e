//! GitOps: diffs between revisions, the Action's loop over a real repository.
//!
//! One test binary per area (linking one binary per file cost minutes of
//! CI); each module below was once a file of its own.

#[path = "../hermetic/mod.rs"]
mod hermetic;

#[path = "../git_fixture/mod.rs"]
mod git_fixture;

mod diff;
mod gitops;
mod since;
mod targeted;
