//! Output: text, Markdown, JSON and GitHub annotations for diagnostics,
//! resolved models, plans and drift. Rendering decides nothing; it prints
//! what it is given.

pub mod access_diff;
pub mod diagnostics;
pub mod drift;
pub mod model;
pub mod plan;

/// How to style terminal output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Plain,
    Color,
}
