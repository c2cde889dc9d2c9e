//! The planner: diffs from a converged fake, the PR Markdown, properties, policies.
//!
//! One test binary per area (linking one binary per file cost minutes of
//! CI); each module below was once a file of its own.

mod markdown;
mod plan;
mod policy;
mod properties;
