//! The sandbox: Telegram's rules, faults and fidelity to the real Bot API server.
//!
//! One test binary per area (linking one binary per file cost minutes of
//! CI); each module below was once a file of its own.

#[path = "../common/mod.rs"]
mod common;

mod conformance;
mod faults;
mod fidelity;
mod rules;
