//! orgform: a company's Telegram organisation as code.
//!
//! The pipeline (see DESIGN.md §1): `config` reads files into a spanned tree,
//! `model` resolves it into a `state::DesiredState`, `telegram` reads the
//! live state, `plan` diffs the two, `apply` executes the plan. `cli` is the
//! thin layer on top.

pub mod access;
pub mod apply;
pub mod botapi_spec;
pub mod cli;
pub mod config;
pub mod drift;
pub mod export;
pub mod git;
pub mod import;
pub mod model;
pub mod plan;
pub mod render;
pub mod sandbox;
pub mod state;
pub mod store;
pub mod telegram;
