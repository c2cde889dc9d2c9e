//! State that lasts: backends, the lock, the journal, kills and full disks, PostgreSQL.
//!
//! One test binary per area (linking one binary per file cost minutes of
//! CI); each module below was once a file of its own.

#[path = "../hermetic/mod.rs"]
mod hermetic;

mod apply;
mod backends;
mod commands;
mod drops;
mod folders;
mod full_disk;
mod partial;
mod postgres;
mod watch_facts;
