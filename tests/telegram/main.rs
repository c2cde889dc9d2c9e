//! Talking to Telegram: reading the live state, carrying out changes, the applier over the sandbox.
//!
//! One test binary per area (linking one binary per file cost minutes of
//! CI); each module below was once a file of its own.

#[path = "../telegram_common/mod.rs"]
mod telegram_common;

mod apply;
mod execute;
mod read;
mod unseen;
