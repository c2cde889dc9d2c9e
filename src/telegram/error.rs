//! What can go wrong talking to Telegram, classified so callers can decide
//! per chat: the failure classes (by HTTP code and description prefix first,
//! exact text second), the error type every client call returns, the
//! setup errors (API URL, token), and token redaction for every string that
//! may leave the process.
//!
//! No error here ever holds a request URL: the token is part of it. Text that
//! came from elsewhere (a transport error, a body excerpt) passes through
//! [`Redactor::redact`] before it is stored.

use std::fmt;

use crate::state::ChatId;

/// The kind of failure an `ok:false` answer reports.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "class")]
pub enum Class {
    /// "not modified": nothing to change, which a reconciler counts as success.
    NotModified,
    /// A basic group became a supergroup with a new id.
    Migrated {
        to: ChatId,
    },
    /// The bot is not in the chat (never added, left or kicked).
    BotNotInChat,
    /// The bot lacks an admin right the call needs.
    MissingRights,
    ChatNotFound,
    /// The person cannot be messaged (never started the bot, blocked it, deleted).
    UserUnreachable,
    /// The token is wrong (401).
    Unauthorized,
    /// 409: getUpdates while a webhook is set.
    Conflict,
    /// 429 (or 420): wait `retry_after` seconds.
    RateLimited,
    /// 5xx.
    ServerError,
    /// Any other 400.
    BadRequest,
    /// Any other 403.
    Forbidden,
    Other,
}

/// Descriptions that mean "nothing changed".
const NOT_MODIFIED: &[&str] = &[
    "CHAT_NOT_MODIFIED",
    "TOPIC_NOT_MODIFIED",
    "is not modified",
    "message is not modified",
];

/// Descriptions that mean the bot lacks a right (after a 400 or 403).
const MISSING_RIGHTS: &[&str] = &[
    "CHAT_ADMIN_REQUIRED",
    "not enough rights",
    "need administrator rights",
    "RIGHT_FORBIDDEN",
    "have no rights",
    "CHAT_WRITE_FORBIDDEN",
];

/// Classify an error answer: the code first, then the description's
/// prefix, then known texts.
pub fn classify(code: u16, description: &str, migrate_to: Option<ChatId>) -> Class {
    if let Some(to) = migrate_to {
        return Class::Migrated { to };
    }
    let message = description
        .split_once(": ")
        .map_or(description, |(_, rest)| rest);
    let has = |list: &[&str]| list.iter().any(|needle| message.contains(needle));
    match code {
        401 => Class::Unauthorized,
        409 => Class::Conflict,
        420 | 429 => Class::RateLimited,
        500..=599 => Class::ServerError,
        403 => {
            if message.starts_with("bot is not a member") || message.starts_with("bot was kicked") {
                Class::BotNotInChat
            } else if message.starts_with("bot can't initiate conversation")
                || message.starts_with("bot was blocked by the user")
                || message.starts_with("user is deactivated")
            {
                Class::UserUnreachable
            } else if has(MISSING_RIGHTS) {
                Class::MissingRights
            } else {
                Class::Forbidden
            }
        }
        400 => {
            if has(NOT_MODIFIED) {
                Class::NotModified
            } else if message == "chat not found" {
                Class::ChatNotFound
            } else if has(MISSING_RIGHTS) {
                Class::MissingRights
            } else {
                Class::BadRequest
            }
        }
        _ => Class::Other,
    }
}

/// An `ok:false` answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiFailure {
    pub code: u16,
    pub description: String,
    pub class: Class,
    pub retry_after: Option<u64>,
}

/// What went wrong with one call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Telegram refused the call.
    Api(ApiFailure),
    /// No usable answer after every attempt (connection refused or cut,
    /// timeout). `detail` is redacted.
    Transport {
        detail: String,
        attempts: u32,
        timed_out: bool,
    },
    /// A write that is not safe to repeat failed in a way that leaves its
    /// outcome unknown; it was not retried.
    Unrepeatable { detail: String },
    /// The answer was not the Bot API's: not JSON, truncated, an HTML page,
    /// `ok:true` without `result`, or a result of the wrong shape.
    Garbage {
        status: u16,
        problem: String,
        excerpt: String,
    },
    /// Telegram asked to wait longer than the configured maximum.
    WaitTooLong { retry_after: u64, max: u64 },
    /// The change is not something the bot can do (a manual step).
    NotExecutable { reason: String },
}

/// A failed call: which method, in which chat, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub method: String,
    pub chat: Option<ChatId>,
    pub kind: ErrorKind,
}

impl Error {
    pub fn new(method: impl Into<String>, chat: Option<ChatId>, kind: ErrorKind) -> Error {
        Error {
            method: method.into(),
            chat,
            kind,
        }
    }

    pub fn class(&self) -> Option<&Class> {
        match &self.kind {
            ErrorKind::Api(a) => Some(&a.class),
            _ => None,
        }
    }

    pub fn is_not_modified(&self) -> bool {
        self.class() == Some(&Class::NotModified)
    }

    /// The chat's new id when a basic group became a supergroup.
    pub fn migrated_to(&self) -> Option<ChatId> {
        match self.class() {
            Some(Class::Migrated { to }) => Some(*to),
            _ => None,
        }
    }

    /// A failure that concerns this chat only (the others can go on).
    pub fn is_chat_level(&self) -> bool {
        matches!(
            self.class(),
            Some(
                Class::BotNotInChat
                    | Class::MissingRights
                    | Class::ChatNotFound
                    | Class::Migrated { .. }
            )
        )
    }

    /// A failure that stops everything (a wrong token).
    pub fn is_fatal(&self) -> bool {
        self.class() == Some(&Class::Unauthorized)
    }

    /// What the operator can do about it.
    pub fn hint(&self) -> Option<String> {
        match &self.kind {
            ErrorKind::Api(a) => match &a.class {
                Class::Migrated { to } => Some(format!("set `id: {to}` for this chat in the config")),
                Class::BotNotInChat => Some("add the bot to the chat and make it an administrator".into()),
                Class::MissingRights => Some("give the bot the administrator rights this change needs".into()),
                Class::ChatNotFound => Some("check the chat id; the bot must be a member of the chat".into()),
                Class::Unauthorized => {
                    Some("check the bot token (ORGFORM_TELEGRAM_TOKEN or --token-file)".into())
                }
                Class::Conflict => Some("a webhook is set; orgform reads updates only without one".into()),
                _ => None,
            },
            ErrorKind::Garbage { .. } => {
                Some("check the API URL: something other than the Bot API answered (a proxy or gateway?)".into())
            }
            ErrorKind::Unrepeatable { .. } => {
                Some("check the chat by hand: the change may or may not have been made".into())
            }
            ErrorKind::WaitTooLong { .. } => Some("run again later".into()),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let place = match self.chat {
            Some(chat) => format!("{} in chat {chat}", self.method),
            None => self.method.clone(),
        };
        match &self.kind {
            ErrorKind::Api(a) => match &a.class {
                Class::Migrated { to } => {
                    write!(
                        f,
                        "{place}: this chat became a supergroup: set id to {to} ({})",
                        a.description
                    )
                }
                _ => write!(f, "{place}: {} (error {})", a.description, a.code),
            },
            ErrorKind::Transport {
                detail,
                attempts,
                timed_out,
            } => {
                let what = if *timed_out { "timed out" } else { "failed" };
                write!(
                    f,
                    "{place}: the request {what} after {attempts} attempt(s): {detail}"
                )
            }
            ErrorKind::Unrepeatable { detail } => write!(
                f,
                "{place}: no answer ({detail}); not retried because {} is not safe to repeat, so its outcome is unknown",
                self.method
            ),
            ErrorKind::Garbage {
                status,
                problem,
                excerpt,
            } => {
                write!(
                    f,
                    "{place}: the server's answer (HTTP {status}) is not a Bot API answer: {problem}; body: {excerpt:?}"
                )
            }
            ErrorKind::WaitTooLong { retry_after, max } => write!(
                f,
                "{place}: Telegram asks to wait {retry_after} s before the next call, longer than the {max} s orgform waits"
            ),
            ErrorKind::NotExecutable { reason } => write!(f, "{place}: {reason}"),
        }
    }
}

impl std::error::Error for Error {}

/// A problem with how orgform is told to reach Telegram.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    #[error("the Telegram API URL {url:?} is not valid: {reason}")]
    BadUrl { url: String, reason: String },
    #[error(
        "the Telegram API URL {url:?} uses plain http:// to a host that is not loopback; use https:// (plain http is only for 127.0.0.1, ::1 and localhost)"
    )]
    PlainHttp { url: String },
    #[error("no bot token: set ORGFORM_TELEGRAM_TOKEN or pass --token-file")]
    NoToken,
    #[error("cannot read the token file {path}: {reason}")]
    TokenFile { path: String, reason: String },
    #[error("the bot token {source_name} is not valid: {reason}")]
    BadToken { source_name: String, reason: String },
    #[error("cannot build the HTTP client: {0}")]
    Http(String),
}

/// Removes a token from text: the token itself, its URL-encoded form, its
/// secret part, and anything shaped like `bot<id>:<secret>` (tokens of other
/// bots in echoed URLs).
#[derive(Clone)]
pub struct Redactor {
    needles: Vec<String>,
}

/// What a token is replaced with.
pub const REDACTED: &str = "[redacted]";

impl Redactor {
    pub fn new(token: &str) -> Redactor {
        let mut needles = vec![
            token.to_string(),
            token.replace(':', "%3A"),
            token.replace(':', "%3a"),
        ];
        if let Some((_, secret)) = token.split_once(':')
            && secret.len() >= 8
        {
            needles.push(secret.to_string());
        }
        needles.retain(|n| !n.is_empty());
        needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
        needles.dedup();
        Redactor { needles }
    }

    /// A redactor that knows no token (still removes token-shaped text).
    pub fn none() -> Redactor {
        Redactor {
            needles: Vec::new(),
        }
    }

    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for needle in &self.needles {
            if out.contains(needle.as_str()) {
                out = out.replace(needle.as_str(), REDACTED);
            }
        }
        redact_token_shapes(&out)
    }

    /// A short, single-line, redacted excerpt of a response body.
    pub fn excerpt(&self, body: &[u8]) -> String {
        const MAX: usize = 240;
        let text = String::from_utf8_lossy(body);
        let mut cut: String = text.chars().take(MAX).collect();
        if text.chars().count() > MAX {
            cut.push('…');
        }
        let flat: String = cut
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        self.redact(&flat)
    }
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Redactor([redacted])")
    }
}

/// `bot123456:ABC-def…` → `bot[redacted]`, wherever it appears.
fn redact_token_shapes(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    while i + 3 < bytes.len() {
        if &bytes[i..i + 3] == b"bot" {
            let digits_start = i + 3;
            let mut j = digits_start;
            while j < bytes.len() && bytes[j].is_ascii_digit() {
                j += 1;
            }
            let colon = j;
            let is_colon = colon < bytes.len() && bytes[colon] == b':';
            let is_encoded =
                bytes.len() >= colon + 3 && bytes[colon..colon + 3].eq_ignore_ascii_case(b"%3a");
            if j > digits_start && (is_colon || is_encoded) {
                let mut k = colon + if is_colon { 1 } else { 3 };
                let secret_start = k;
                while k < bytes.len()
                    && (bytes[k].is_ascii_alphanumeric() || bytes[k] == b'_' || bytes[k] == b'-')
                {
                    k += 1;
                }
                if k - secret_start >= 8 {
                    out.push_str(&text[copied..digits_start]);
                    out.push_str(REDACTED);
                    copied = k;
                    i = k;
                    continue;
                }
            }
        }
        i += 1;
    }
    out.push_str(&text[copied..]);
    out
}

/// The applier needs two things of a failed call: what to say (already
/// redacted here) and whether the change may have happened anyway: an
/// unrepeatable call cut off, a transport failure after sending, an answer
/// that could not be read.
impl From<Error> for crate::apply::ProviderError {
    fn from(e: Error) -> Self {
        let unknown = matches!(
            e.kind,
            ErrorKind::Unrepeatable { .. }
                | ErrorKind::Transport { .. }
                | ErrorKind::Garbage { .. }
        );
        if unknown {
            crate::apply::ProviderError::unknown(e.to_string())
        } else {
            crate::apply::ProviderError::refused(e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_by_code_then_prefix_then_text() {
        assert_eq!(
            classify(400, "Bad Request: CHAT_NOT_MODIFIED", None),
            Class::NotModified
        );
        assert_eq!(
            classify(400, "Bad Request: chat description is not modified", None),
            Class::NotModified
        );
        assert_eq!(
            classify(400, "Bad Request: TOPIC_NOT_MODIFIED", None),
            Class::NotModified
        );
        assert_eq!(
            classify(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                Some(-100)
            ),
            Class::Migrated { to: -100 }
        );
        assert_eq!(
            classify(
                403,
                "Forbidden: bot is not a member of the supergroup chat",
                None
            ),
            Class::BotNotInChat
        );
        assert_eq!(
            classify(403, "Forbidden: bot was kicked from the channel chat", None),
            Class::BotNotInChat
        );
        assert_eq!(
            classify(
                403,
                "Forbidden: bot can't initiate conversation with a user",
                None
            ),
            Class::UserUnreachable
        );
        assert_eq!(
            classify(400, "Bad Request: not enough rights", None),
            Class::MissingRights
        );
        assert_eq!(
            classify(400, "Bad Request: CHAT_ADMIN_REQUIRED", None),
            Class::MissingRights
        );
        assert_eq!(
            classify(
                400,
                "Bad Request: need administrator rights in the channel chat",
                None
            ),
            Class::MissingRights
        );
        assert_eq!(
            classify(400, "Bad Request: RIGHT_FORBIDDEN", None),
            Class::MissingRights
        );
        assert_eq!(
            classify(400, "Bad Request: chat not found", None),
            Class::ChatNotFound
        );
        assert_eq!(
            classify(400, "Bad Request: USER_NOT_PARTICIPANT", None),
            Class::BadRequest
        );
        assert_eq!(classify(401, "Unauthorized", None), Class::Unauthorized);
        assert_eq!(
            classify(429, "Too Many Requests: retry after 3", None),
            Class::RateLimited
        );
        assert_eq!(classify(502, "Bad Gateway", None), Class::ServerError);
        assert_eq!(
            classify(
                409,
                "Conflict: can't use getUpdates method while webhook is active",
                None
            ),
            Class::Conflict
        );
        // Not-modified text under a code that is not 400 is not success.
        assert_eq!(
            classify(403, "Forbidden: CHAT_NOT_MODIFIED", None),
            Class::Forbidden
        );
    }

    #[test]
    fn migration_message() {
        let e = Error::new(
            "getChat",
            Some(-5),
            ErrorKind::Api(ApiFailure {
                code: 400,
                description: "Bad Request: group chat was upgraded to a supergroup chat".into(),
                class: Class::Migrated { to: -1001 },
                retry_after: None,
            }),
        );
        assert!(
            e.to_string()
                .contains("this chat became a supergroup: set id to -1001"),
            "{e}"
        );
        assert!(e.is_chat_level());
    }

    #[test]
    fn redaction() {
        let token = "123456789:AAHsecretSECRETsecret_-xyz";
        let r = Redactor::new(token);
        let text = format!(
            "error sending request for url (http://h/bot{token}/getMe) AAHsecretSECRETsecret_-xyz 123456789%3AAAHsecretSECRETsecret_-xyz"
        );
        let clean = r.redact(&text);
        assert!(!clean.contains("AAHsecret"), "{clean}");
        assert!(clean.contains("bot[redacted]/getMe"), "{clean}");
        // Another bot's token in an echoed URL.
        let other = Redactor::none()
            .redact("see https://api.telegram.org/bot987654:ZZZZZZZZZZZZZZZZ/sendMessage");
        assert_eq!(
            other,
            "see https://api.telegram.org/bot[redacted]/sendMessage"
        );
        // Harmless text is left alone.
        assert_eq!(
            Redactor::none().redact("the bot 12: is fine"),
            "the bot 12: is fine"
        );
        let excerpt = r.excerpt(format!("<html>\n<body>bot{token}</body>").as_bytes());
        assert!(
            !excerpt.contains('\n') && !excerpt.contains("AAHsecret"),
            "{excerpt}"
        );
    }
}
