//! Config diagnostics: every problem found while loading, validating or
//! resolving a config, with a stable code, spans and a hint.
//!
//! Problems are collected into [`Diagnostics`] and reported together, in the
//! manner of cargo-deny: a run shows all of them, never only the first.
//! Rendering lives in `render::diagnostics`.

use super::source::Span;

/// Stable diagnostic codes. They are part of the user interface (CI scripts
/// match on them), so they are never renamed, only added.
pub mod codes {
    pub const SYNTAX: &str = "syntax";
    pub const ENCODING: &str = "encoding";
    pub const TOO_LARGE: &str = "too-large";
    pub const TOO_DEEP: &str = "too-deep";
    pub const ALIAS_BOMB: &str = "alias-budget";
    pub const IO: &str = "io";
    pub const UNKNOWN_KEY: &str = "unknown-key";
    pub const WRONG_TYPE: &str = "wrong-type";
    pub const INVALID_VALUE: &str = "invalid-value";
    pub const MISSING_FIELD: &str = "missing-field";
    pub const DUPLICATE_KEY: &str = "duplicate-key";
    pub const UNKNOWN_PERSON: &str = "unknown-person";
    pub const UNKNOWN_DEPARTMENT: &str = "unknown-department";
    pub const UNKNOWN_ROLE: &str = "unknown-role";
    pub const UNKNOWN_TEMPLATE: &str = "unknown-template";
    pub const UNKNOWN_CHAT: &str = "unknown-chat";
    pub const DEPARTMENT_CYCLE: &str = "department-cycle";
    pub const TEMPLATE_CYCLE: &str = "template-cycle";
    pub const ROLE_CYCLE: &str = "role-cycle";
    pub const LENGTH: &str = "length";
    pub const UNKNOWN_RIGHT: &str = "unknown-right";
    pub const UNKNOWN_PERMISSION: &str = "unknown-permission";
    pub const RIGHT_FOR_CHAT_TYPE: &str = "right-for-chat-type";
    pub const ROLE_KIND: &str = "role-kind";
    pub const MISSING_TELEGRAM_ID: &str = "missing-telegram-id";
    pub const MISSING_CHAT_ID: &str = "missing-chat-id";
    pub const DUPLICATE_CHAT_ID: &str = "duplicate-chat-id";
    pub const DUPLICATE_TELEGRAM_ID: &str = "duplicate-telegram-id";
    pub const INVALID_CHAT_ID: &str = "invalid-chat-id";
    pub const COMMAND_NAME: &str = "command-name";
    pub const TOPIC_ICON: &str = "topic-icon-color";
    pub const FEATURE_FOR_CHAT_TYPE: &str = "feature-for-chat-type";
    pub const INVITE_LINK_OPTIONS: &str = "invite-link-options";
    pub const NO_CONFIG: &str = "no-config";
    pub const PHOTO: &str = "photo";
    /// A policy rule's CEL expression does not parse.
    pub const RULE_SYNTAX: &str = "rule-syntax";
    /// A policy rule's CEL expression names something that does not exist
    /// or mixes types.
    pub const RULE_TYPE: &str = "rule-type";
    /// Two policy rules or two rollout stages with one name.
    pub const DUPLICATE_NAME: &str = "duplicate-name";
    pub const UNKNOWN_STAGE: &str = "unknown-stage";
    /// A person that is the bot's own account.
    pub const BOT_AS_PERSON: &str = "bot-as-person";
    /// A folder selects more chats than a shared folder may hold.
    pub const FOLDER_TOO_LARGE: &str = "folder-too-large";
    /// A folder selects no chat at all.
    pub const FOLDER_EMPTY: &str = "folder-empty";
    /// Something only a signed-in person can do (folders, adding members
    /// directly) in an org whose provider is the bot alone.
    pub const NEEDS_PERSON: &str = "needs-person";
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// A span with a short caption.
#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    pub span: Span,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    /// The place the problem is; absent only for problems with no file
    /// (e.g. an empty directory).
    pub primary: Option<Label>,
    /// Other places involved (the first definition of a duplicate, the
    /// members of a cycle).
    pub secondary: Vec<Label>,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            primary: None,
            secondary: Vec::new(),
            hint: None,
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    pub fn at(mut self, span: Span, text: impl Into<String>) -> Self {
        self.primary = Some(Label {
            span,
            text: text.into(),
        });
        self
    }

    pub fn also(mut self, span: Span, text: impl Into<String>) -> Self {
        self.secondary.push(Label {
            span,
            text: text.into(),
        });
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn hint_opt(mut self, hint: Option<String>) -> Self {
        self.hint = hint;
        self
    }
}

/// A collection of diagnostics, kept in the order found and then sorted by
/// place for output.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        // The same problem reached by two routes (a schema error and a
        // deserialisation error at one place) is shown once.
        if !self
            .items
            .iter()
            .any(|x| x.code == d.code && x.primary == d.primary && x.message == d.message)
        {
            self.items.push(d);
        }
    }

    pub fn extend(&mut self, other: Diagnostics) {
        for d in other.items {
            self.push(d);
        }
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }

    /// Sort by file, then position, so output is stable.
    pub fn sort(&mut self) {
        self.items.sort_by_key(|d| {
            let p = d
                .primary
                .as_ref()
                .map(|l| (l.span.file, l.span.start))
                .unwrap_or_default();
            (p, d.code)
        });
    }

    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.items
    }
}

/// The closest candidate to `name`, for "did you mean" hints.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let score = strsim::jaro_winkler(name, c);
        if score > 0.8 && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| format!("did you mean `{c}`?"))
}
