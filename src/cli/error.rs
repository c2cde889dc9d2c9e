//! The one error type at the CLI edge, with fixed exit codes.
//!
//! Library modules have their own `thiserror` types; commands turn them into
//! a [`CliError`], which knows its exit code and hint. Nothing below `cli`
//! decides exit codes.

use crate::config::{Diagnostics, SourceMap};

/// Exit codes are part of the interface (CI scripts branch on them).
pub mod exit {
    /// Success, and nothing to change.
    pub const OK: u8 = 0;
    /// An error: bad config, bad input, Telegram unreachable.
    pub const ERROR: u8 = 1;
    /// Success, and there are changes (plan --detailed-exitcode) or drift.
    pub const CHANGES: u8 = 2;
    /// Refused by a guard or policy.
    pub const REFUSED: u8 = 3;
}

#[derive(Debug)]
pub enum CliError {
    /// Config problems, all of them, with the files they point into.
    Config {
        sources: SourceMap,
        diagnostics: Diagnostics,
    },
    /// Something the user can fix: a message and a hint.
    User {
        message: String,
        hint: Option<String>,
    },
    /// A guard or policy refused the operation.
    Refused {
        message: String,
        hint: Option<String>,
    },
}

impl CliError {
    pub fn user(message: impl Into<String>) -> Self {
        CliError::User {
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(message: impl Into<String>, hint: impl Into<String>) -> Self {
        CliError::User {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Config { .. } | CliError::User { .. } => exit::ERROR,
            CliError::Refused { .. } => exit::REFUSED,
        }
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError::user(e.to_string())
    }
}

impl From<crate::model::LoadError> for CliError {
    fn from(e: crate::model::LoadError) -> Self {
        CliError::Config {
            sources: e.sources,
            diagnostics: e.diagnostics,
        }
    }
}
