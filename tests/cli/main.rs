//! Command-line behaviour end to end: the binary run as a user runs it,
//! in one hermetic environment (`tests/hermetic`).
//!
//! One test binary per area (linking one binary per file cost minutes of
//! CI); each module below was once a file of its own.

#[path = "../hermetic/mod.rs"]
mod hermetic;

mod apply;
mod bounded_input;
mod closed_pipe;
mod config;
mod doc_examples;
mod drift;
mod edges;
mod exit_codes;
mod export;
mod github_action;
mod hostile_text;
mod import_chats;
mod import_people;
mod plan;
mod policy;
