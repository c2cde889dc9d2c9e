//! orgform: a company's Telegram organisation as code.
//!
//! The pipeline (see DESIGN.md §1): `config` reads files into a spanned tree,
//! `model` resolves it into a `state::DesiredState`, `telegram` reads the
//! live state, `plan` diffs the two, `apply` executes the plan. `cli` is the
//! thin layer on top.

// Config diagnostics are rich values (spans, source line, hint, related
// notes) that are collected and returned, not thrown; boxing each one would
// cost an allocation per problem for no gain on a cold path.
#![allow(clippy::result_large_err)]

pub mod access;
pub mod apply;
#[cfg(test)]
mod architecture;
pub mod atomic_file;
pub mod botapi_spec;
pub mod cli;
pub mod config;
pub mod drift;
pub mod git;
pub mod import;
pub mod model;
pub mod mtproto;
pub mod pace;
pub mod plan;
pub mod policy;
pub mod render;
pub mod sandbox;
pub mod spec;
pub mod state;
pub mod store;
pub mod telegram;
pub mod watch;
