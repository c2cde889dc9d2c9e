//! The one error type at the CLI edge, with fixed exit codes.
//!
//! Library modules have their own `thiserror` types; commands turn them into
//! a [`CliError`], which knows its kind, exit code and hint, and keeps the
//! library error it came from as its `source` so `-v` can print the chain.
//! Nothing below `cli` decides exit codes.

use crate::config::{Diagnostics, SourceMap};

/// Exit codes are part of the interface (CI scripts branch on them).
pub mod exit {
    /// Success, and nothing to change.
    pub const OK: u8 = 0;
    /// An error: bad config, bad input, a usage error, Telegram unreachable.
    pub const ERROR: u8 = 1;
    /// Success, and there are changes (plan --detailed-exitcode), drift or differences.
    pub const CHANGES: u8 = 2;
    /// Refused by a guard or policy.
    pub const REFUSED: u8 = 3;
    /// Interrupted (Ctrl-C): 128 + SIGINT, as a shell reports it.
    pub const INTERRUPTED: u8 = 130;
    /// The reader of our output went away (`orgform plan | head`): 128 +
    /// SIGPIPE, what a shell reports for a tool killed by a closed pipe.
    /// Nothing is printed.
    pub const CLOSED_PIPE: u8 = 141;

    /// The EXIT STATUS text shared by `--help`, the man pages and the README.
    pub const TABLE: &str = "Exit status:\n  \
        0    success, nothing to change\n  \
        1    error (bad config or input, usage errors included, Telegram unreachable)\n  \
        2    success, and there are changes, drift or differences\n  \
        3    refused by a guard or policy\n  \
        130  interrupted (Ctrl-C)\n  \
        141  the reader of the output went away (a closed pipe); nothing is printed";
}

/// What kind of failure a [`CliError`] is; decides the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad config (diagnostics with spans).
    Config,
    /// Something the user can fix: input, flags, files, the network.
    User,
    /// A guard or policy refused the operation.
    Refused,
    /// A bug or an impossible state in orgform itself.
    Internal,
    /// stdout was closed by its reader.
    ClosedPipe,
    /// Ctrl-C.
    Interrupted,
}

/// The source of an error, for the chain `-v` prints.
pub type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

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
    /// An error with the library error it came from (an I/O error, a
    /// serialisation failure).
    Caused {
        kind: ErrorKind,
        message: String,
        hint: Option<String>,
        source: Source,
    },
    /// stdout was closed by its reader: stop quietly.
    ClosedPipe,
    /// Ctrl-C: stop, say what state things were left in.
    Interrupted { message: String },
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

    /// A user error that keeps the error it came from.
    pub fn caused(message: impl Into<String>, source: impl Into<Source>) -> Self {
        CliError::Caused {
            kind: ErrorKind::User,
            message: message.into(),
            hint: None,
            source: source.into(),
        }
    }

    /// A user error that is the library error `source` itself: its text
    /// is the message, and it stays the source of the chain.
    pub fn from_source<E>(source: E, hint: Option<String>) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        CliError::Caused {
            kind: ErrorKind::User,
            message: source.to_string(),
            hint,
            source: Box::new(source),
        }
    }

    /// A bug in orgform (e.g. a value that must serialise did not).
    pub fn internal(message: impl Into<String>, source: impl Into<Source>) -> Self {
        CliError::Caused {
            kind: ErrorKind::Internal,
            message: message.into(),
            hint: Some(
                "this is a bug in orgform; please report it with the command you ran".into(),
            ),
            source: source.into(),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            CliError::Config { .. } => ErrorKind::Config,
            CliError::User { .. } => ErrorKind::User,
            CliError::Refused { .. } => ErrorKind::Refused,
            CliError::Caused { kind, .. } => *kind,
            CliError::ClosedPipe => ErrorKind::ClosedPipe,
            CliError::Interrupted { .. } => ErrorKind::Interrupted,
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self.kind() {
            ErrorKind::Config | ErrorKind::User | ErrorKind::Internal => exit::ERROR,
            ErrorKind::Refused => exit::REFUSED,
            ErrorKind::ClosedPipe => exit::CLOSED_PIPE,
            ErrorKind::Interrupted => exit::INTERRUPTED,
        }
    }

    /// The one-line message and the hint, for the text report.
    pub fn message_and_hint(&self) -> Option<(&str, Option<&str>)> {
        match self {
            CliError::User { message, hint }
            | CliError::Refused { message, hint }
            | CliError::Caused { message, hint, .. } => Some((message, hint.as_deref())),
            CliError::Interrupted { message } => Some((message, None)),
            CliError::Config { .. } | CliError::ClosedPipe => None,
        }
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CliError::Config { diagnostics, .. } => {
                write!(f, "the config has {} problem(s)", diagnostics.len())
            }
            CliError::ClosedPipe => f.write_str("the reader of the output went away"),
            other => f.write_str(other.message_and_hint().map_or("", |(m, _)| m)),
        }
    }
}

impl std::error::Error for CliError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CliError::Caused { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return CliError::ClosedPipe;
        }
        CliError::caused(e.to_string(), e)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_have_their_exit_codes_and_keep_the_source() {
        let pipe = CliError::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert_eq!(pipe.kind(), ErrorKind::ClosedPipe);
        assert_eq!(pipe.exit_code(), exit::CLOSED_PIPE);
        let io = CliError::from(std::io::Error::other("disk on fire"));
        assert_eq!(io.exit_code(), exit::ERROR);
        assert_eq!(
            std::error::Error::source(&io).unwrap().to_string(),
            "disk on fire"
        );
        let interrupted = CliError::Interrupted {
            message: "x".into(),
        };
        assert_eq!(interrupted.exit_code(), exit::INTERRUPTED);
        let refused = CliError::Refused {
            message: "no".into(),
            hint: None,
        };
        assert_eq!(refused.exit_code(), exit::REFUSED);
    }
}
