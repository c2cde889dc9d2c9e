//! Output: text, Markdown, JSON and GitHub annotations for diagnostics,
//! resolved models, plans and drift. Rendering decides nothing; it prints
//! what it is given.

pub mod access_diff;
pub mod apply;
pub mod diagnostics;
pub mod drift;
pub mod escape;
pub mod export;
pub mod import;
pub mod model;
pub mod plan;
pub mod policy;

/// How to style terminal output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Plain,
    Color,
}

/// GitHub's limit for a comment or issue body.
pub const MARKDOWN_LIMIT: usize = 65_536;

/// Text for a Markdown table cell (see [`escape::md_cell`]).
pub fn md_cell(s: &str) -> String {
    escape::md_cell(s)
}

/// Append whole sections while the text stays `reserve` below GitHub's
/// limit; returns how many fitted. Reports cut at a section boundary, so a
/// folded `<details>` block is never left open.
pub fn push_fitting(out: &mut String, sections: &[String], reserve: usize) -> usize {
    let mut shown = 0;
    for section in sections {
        if out.len() + section.len() + reserve > MARKDOWN_LIMIT {
            break;
        }
        out.push_str(section);
        shown += 1;
    }
    shown
}
