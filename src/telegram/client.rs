//! The HTTP client for the Bot API: where to connect (the API URL and its
//! precedence), the token (a type that never prints), pacing, retries, the
//! per-chat turn, and turning raw answers into typed results or classified
//! errors.
//!
//! Behaviour under pressure:
//! - every request waits for a slot of the global pace, which starts at
//!   25/s and adapts to the server's limit ([`super::pace`]);
//! - a 429 waits exactly `retry_after` seconds (pausing the pace for
//!   everyone, and cutting its rate), then the call is repeated; the request
//!   was not executed, so this holds for every method;
//! - 5xx answers, timeouts and cut connections are retried with capped
//!   exponential backoff and jitter, but only for calls marked safe to
//!   repeat (reads, and writes that set a value); others fail as
//!   "outcome unknown";
//! - changes run one at a time per chat ([`Client::chat_turn`]) with a
//!   bounded number of chats in parallel;
//! - every read is bounded: an answer larger than `max_answer_bytes`
//!   (default 16 MiB) is refused as it streams in, each attempt has its
//!   own timeout (default 75 s), and a call as a whole — every attempt and
//!   backoff together — ends at `call_deadline` (default 120 s). Waits the
//!   server asked for with a 429 are not counted: they are bounded by
//!   `max_retry_after` and `max_rate_limited` instead.
//!
//! Nothing here reads environment variables: the CLI passes flag, env and
//! config values to [`resolve_api_url`] and [`load_token`].

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use reqwest::Url;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use tokio::sync::{OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::error::{ApiFailure, Class, Error, ErrorKind, Redactor, SetupError, classify};
use super::pace::{Pace, PaceOptions, PaceStats};
use super::wire::Envelope;
use crate::state::ChatId;

/// The official server.
pub const DEFAULT_API_URL: &str = "https://api.telegram.org";

/// A bot token. Its `Debug` and `Display` print `[redacted]`; the only way
/// to the text is [`Token::expose`], used to build request URLs.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Check the shape loosely (it goes into a URL path) and wrap it.
    pub fn new(text: &str, source_name: &str) -> Result<Token, SetupError> {
        let text = text.trim();
        let bad = |reason: &str| SetupError::BadToken {
            source_name: source_name.to_string(),
            reason: reason.to_string(),
        };
        if text.is_empty() {
            return Err(bad("it is empty"));
        }
        if !text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '-'))
        {
            return Err(bad("it may hold only letters, digits, ':', '_' and '-'"));
        }
        if !text.contains(':') {
            return Err(bad(
                "it has no ':' (BotFather tokens look like 123456:ABC…)",
            ));
        }
        Ok(Token(text.to_string()))
    }

    /// The token text. Only for building request URLs.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The bot's user id, the part before the colon.
    pub fn bot_id(&self) -> Option<i64> {
        self.0.split_once(':').and_then(|(id, _)| id.parse().ok())
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(super::error::REDACTED)
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(super::error::REDACTED)
    }
}

/// The token from `--token-file` (stronger) or `ORGFORM_TELEGRAM_TOKEN`.
/// The CLI passes both in; this reads only the file it is given.
pub fn load_token(token_file: Option<&Path>, env_token: Option<&str>) -> Result<Token, SetupError> {
    if let Some(path) = token_file {
        let text = std::fs::read_to_string(path).map_err(|e| SetupError::TokenFile {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        return Token::new(&text, &format!("in {}", path.display()));
    }
    match env_token.map(str::trim).filter(|t| !t.is_empty()) {
        Some(text) => Token::new(text, "in ORGFORM_TELEGRAM_TOKEN"),
        None => Err(SetupError::NoToken),
    }
}

/// A checked API base URL: https, or plain http to a loopback address.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiUrl(Url);

impl ApiUrl {
    pub fn parse(text: &str) -> Result<ApiUrl, SetupError> {
        let bad = |reason: String| SetupError::BadUrl {
            url: text.to_string(),
            reason,
        };
        let url = Url::parse(text.trim()).map_err(|e| bad(e.to_string()))?;
        match url.scheme() {
            "https" => {}
            "http" => {
                if !is_loopback(&url) {
                    return Err(SetupError::PlainHttp {
                        url: text.to_string(),
                    });
                }
            }
            other => {
                return Err(bad(format!(
                    "the scheme must be https (or http to loopback), not {other}"
                )));
            }
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(bad("it names no host".into()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("credentials in the URL are not supported".into()));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad("it must not have a query or fragment".into()));
        }
        Ok(ApiUrl(url))
    }

    /// `{base}/bot{token}/{method}`; with `test_env`, Telegram's test
    /// environment path (`/bot{token}/test/{method}`).
    fn method_url(&self, token: &Token, method: &str, test_env: bool) -> String {
        let base = self.0.as_str().trim_end_matches('/');
        let test = if test_env { "/test" } else { "" };
        format!("{base}/bot{}{test}/{method}", token.expose())
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Debug for ApiUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiUrl({})", self.0)
    }
}

impl fmt::Display for ApiUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

/// The API URL by precedence: `--api-url` > `ORGFORM_TELEGRAM_API_URL` >
/// the config's `org.telegram.api_url` > the official server. Empty values
/// count as unset.
pub fn resolve_api_url(
    flag: Option<&str>,
    env: Option<&str>,
    config: Option<&str>,
) -> Result<ApiUrl, SetupError> {
    let chosen = [flag, env, config]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|v| !v.is_empty());
    ApiUrl::parse(chosen.unwrap_or(DEFAULT_API_URL))
}

/// Retries of failed calls.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Attempts for 5xx, timeouts and cut connections (safe calls only).
    pub max_attempts: u32,
    /// First backoff; doubled per attempt, capped at `max_delay`, jittered.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// 429 answers accepted for one call before giving up.
    pub max_rate_limited: u32,
    /// The longest `retry_after` worth waiting for.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_rate_limited: 20,
            max_retry_after: Duration::from_secs(600),
        }
    }
}

/// How the client behaves; the defaults suit the real Telegram.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientOptions {
    /// Per request. Above the official server's 60 s internal flood wait.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Global pace to start from; `None` = unpaced.
    pub requests_per_second: Option<f64>,
    /// The highest pace the adaptive pace may reach.
    pub max_requests_per_second: f64,
    /// Whether the pace adapts to the server's limit (see [`super::pace`]).
    pub adaptive_pace: bool,
    /// Chats worked on at the same time.
    pub max_parallel_chats: usize,
    pub retry: RetryPolicy,
    /// Use Telegram's test environment (`/bot{token}/test/{method}`).
    pub test_environment: bool,
    /// Every attempt and backoff of one call together end by this; a
    /// server that never answers costs this long, not attempts × timeout.
    pub call_deadline: Duration,
    /// The largest answer read; a longer one is cut off and refused.
    pub max_answer_bytes: usize,
}

/// The default [`ClientOptions::call_deadline`].
pub const DEFAULT_CALL_DEADLINE: Duration = Duration::from_secs(120);
/// The default [`ClientOptions::max_answer_bytes`]: far above any real
/// answer (100 updates, 200 members) and far below what would hurt.
pub const DEFAULT_MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(75),
            connect_timeout: Duration::from_secs(10),
            requests_per_second: Some(25.0),
            max_requests_per_second: 200.0,
            adaptive_pace: true,
            max_parallel_chats: 8,
            retry: RetryPolicy::default(),
            test_environment: false,
            call_deadline: DEFAULT_CALL_DEADLINE,
            max_answer_bytes: DEFAULT_MAX_ANSWER_BYTES,
        }
    }
}

/// Whether a call may be sent again when its outcome is unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repeat {
    /// Reads, and writes that set a value (sending them twice is harmless).
    Safe,
    /// Writes that create something or send a message.
    Unsafe,
}

/// One Bot API call.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiCall {
    pub method: &'static str,
    /// The chat it concerns, for errors and logs.
    pub chat: Option<ChatId>,
    pub params: Map<String, Value>,
    pub repeat: Repeat,
    /// A file to upload: the call is then sent as multipart/form-data.
    pub upload: Option<Upload>,
}

/// A file sent with a call (a chat photo).
#[derive(Clone, PartialEq)]
pub struct Upload {
    /// The parameter it is sent as (`photo`).
    pub field: String,
    pub file_name: String,
    pub bytes: std::sync::Arc<Vec<u8>>,
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Upload({} = {}, {} bytes)",
            self.field,
            self.file_name,
            self.bytes.len()
        )
    }
}

impl ApiCall {
    pub fn new(method: &'static str, chat: Option<ChatId>, repeat: Repeat) -> ApiCall {
        let mut params = Map::new();
        if let Some(chat) = chat {
            params.insert("chat_id".into(), Value::from(chat));
        }
        ApiCall {
            method,
            chat,
            params,
            repeat,
            upload: None,
        }
    }

    pub fn read(method: &'static str, chat: Option<ChatId>) -> ApiCall {
        ApiCall::new(method, chat, Repeat::Safe)
    }

    pub fn param(mut self, name: &str, value: impl serde::Serialize) -> ApiCall {
        self.params.insert(
            name.to_string(),
            serde_json::to_value(value).unwrap_or(Value::Null),
        );
        self
    }

    /// Send `bytes` as the file parameter `field`.
    pub fn upload(mut self, field: &str, file_name: &str, bytes: Vec<u8>) -> ApiCall {
        self.upload = Some(Upload {
            field: field.into(),
            file_name: file_name.into(),
            bytes: std::sync::Arc::new(bytes),
        });
        self
    }

    /// Merge an object's fields into the parameters.
    pub fn params_from(mut self, object: impl serde::Serialize) -> ApiCall {
        if let Ok(Value::Object(map)) = serde_json::to_value(object) {
            self.params.extend(map);
        }
        self
    }
}

/// The right to work on one chat: one change at a time per chat, a bounded
/// number of chats at once. Dropping it lets the next one in.
pub struct ChatTurn {
    _slot: OwnedSemaphorePermit,
    _chat: OwnedMutexGuard<()>,
}

struct Inner {
    http: reqwest::Client,
    base: ApiUrl,
    token: Token,
    redactor: Redactor,
    options: ClientOptions,
    pace: Pace,
    chat_slots: Arc<Semaphore>,
    chat_locks: Mutex<HashMap<ChatId, Arc<tokio::sync::Mutex<()>>>>,
}

/// A Bot API client; cheap to clone (shared state).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.inner.base)
            .field("token", &self.inner.token)
            .finish()
    }
}

/// One attempt's failure, before the retry decision.
enum Attempt {
    Api(ApiFailure),
    /// No complete answer (connect, send, read or timeout).
    Transport {
        detail: String,
        timed_out: bool,
    },
    Garbage {
        status: u16,
        problem: String,
        excerpt: String,
    },
}

impl Client {
    pub fn new(base: ApiUrl, token: Token, options: ClientOptions) -> Result<Client, SetupError> {
        // The process-wide rustls provider; a second install is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.connect_timeout)
            // A redirect could carry the token to another host.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("orgform/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SetupError::Http(e.without_url().to_string()))?;
        let redactor = Redactor::new(token.expose());
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                pace: Pace::new(PaceOptions {
                    start: options.requests_per_second,
                    ceiling: options.max_requests_per_second,
                    adaptive: options.adaptive_pace,
                }),
                chat_slots: Arc::new(Semaphore::new(options.max_parallel_chats.max(1))),
                chat_locks: Mutex::new(HashMap::new()),
                token,
                redactor,
                options,
            }),
        })
    }

    pub fn options(&self) -> &ClientOptions {
        &self.inner.options
    }

    /// What the pace achieved so far: requests, 429s, rates.
    pub fn pace_stats(&self) -> PaceStats {
        self.inner.pace.stats()
    }

    pub fn api_url(&self) -> &ApiUrl {
        &self.inner.base
    }

    /// Redacts this client's token (and token-shaped text) from a string.
    pub fn redactor(&self) -> &Redactor {
        &self.inner.redactor
    }

    /// Wait until this chat is free and a chat slot is open.
    pub async fn chat_turn(&self, chat: ChatId) -> ChatTurn {
        let lock = {
            let mut locks = self
                .inner
                .chat_locks
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            locks.entry(chat).or_default().clone()
        };
        // The chat first, then a slot: waiting for a busy chat holds no slot.
        let chat_guard = lock.lock_owned().await;
        let slot = self
            .inner
            .chat_slots
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        ChatTurn {
            _slot: slot,
            _chat: chat_guard,
        }
    }

    /// Make a call and parse its `result` as `T`.
    pub async fn call<T: DeserializeOwned>(&self, call: &ApiCall) -> Result<T, Error> {
        let value = self.call_value(call).await?;
        serde_json::from_value(value.clone()).map_err(|e| {
            let text = serde_json::to_vec(&value).unwrap_or_default();
            Error::new(
                call.method,
                call.chat,
                ErrorKind::Garbage {
                    status: 200,
                    problem: format!("the result does not have the expected shape ({e})"),
                    excerpt: self.inner.redactor.excerpt(&text),
                },
            )
        })
    }

    /// Make a call and return its `result` as JSON, retrying as the module
    /// docs describe.
    pub async fn call_value(&self, call: &ApiCall) -> Result<Value, Error> {
        let retry = &self.inner.options.retry;
        let mut attempts = 0u32;
        let mut rate_limited = 0u32;
        // The deadline moves out by every wait the server asked for (429).
        let mut deadline = Instant::now() + self.inner.options.call_deadline;
        loop {
            let slot = self.inner.pace.wait_turn().await;
            attempts += 1;
            let error = |kind| Error::new(call.method, call.chat, kind);
            let Some(left) = deadline
                .checked_duration_since(Instant::now())
                .filter(|d| !d.is_zero())
            else {
                return Err(error(self.deadline_passed(attempts - 1)));
            };
            let failure = match tokio::time::timeout(left, self.attempt(call)).await {
                Ok(Ok(v)) => return Ok(v),
                Ok(Err(f)) => f,
                Err(_) if call.repeat == Repeat::Unsafe => {
                    return Err(error(ErrorKind::Unrepeatable {
                        detail: format!(
                            "no answer within the call deadline of {} s",
                            self.inner.options.call_deadline.as_secs()
                        ),
                    }));
                }
                Err(_) => return Err(error(self.deadline_passed(attempts))),
            };
            match failure {
                Attempt::Api(api) if api.class == Class::RateLimited => {
                    let wait = api.retry_after.unwrap_or(1);
                    if Duration::from_secs(wait) > retry.max_retry_after {
                        return Err(error(ErrorKind::WaitTooLong {
                            retry_after: wait,
                            max: retry.max_retry_after.as_secs(),
                        }));
                    }
                    rate_limited += 1;
                    if rate_limited > retry.max_rate_limited {
                        return Err(error(ErrorKind::Api(api)));
                    }
                    // The call was not executed: wait exactly as asked, then repeat.
                    attempts -= 1;
                    let until = self.inner.pace.rate_limited(
                        slot,
                        Instant::now(),
                        Duration::from_secs(wait),
                    );
                    deadline += Duration::from_secs(wait);
                    tracing::debug!(
                        method = call.method,
                        chat = call.chat,
                        wait,
                        "rate limited; waiting"
                    );
                    tokio::time::sleep_until(until).await;
                }
                Attempt::Api(api) if api.class == Class::ServerError => {
                    if call.repeat == Repeat::Unsafe {
                        return Err(error(ErrorKind::Unrepeatable {
                            detail: api.description,
                        }));
                    }
                    if attempts >= retry.max_attempts {
                        return Err(error(ErrorKind::Api(api)));
                    }
                    self.backoff(call, attempts, &api.description).await;
                }
                Attempt::Api(api) => return Err(error(ErrorKind::Api(api))),
                Attempt::Transport { detail, timed_out } => {
                    if call.repeat == Repeat::Unsafe {
                        return Err(error(ErrorKind::Unrepeatable { detail }));
                    }
                    if attempts >= retry.max_attempts {
                        return Err(error(ErrorKind::Transport {
                            detail,
                            attempts,
                            timed_out,
                        }));
                    }
                    self.backoff(call, attempts, &detail).await;
                }
                Attempt::Garbage {
                    status,
                    problem,
                    excerpt,
                } => {
                    // A gateway's error page (5xx) is worth another try for safe calls.
                    if status >= 500 && call.repeat == Repeat::Safe && attempts < retry.max_attempts
                    {
                        self.backoff(call, attempts, &problem).await;
                    } else {
                        return Err(error(ErrorKind::Garbage {
                            status,
                            problem,
                            excerpt,
                        }));
                    }
                }
            }
        }
    }

    /// The error for a call whose deadline passed.
    fn deadline_passed(&self, attempts: u32) -> ErrorKind {
        ErrorKind::Transport {
            detail: format!(
                "no complete answer within the call deadline of {} s",
                self.inner.options.call_deadline.as_secs()
            ),
            attempts,
            timed_out: true,
        }
    }

    async fn backoff(&self, call: &ApiCall, attempts: u32, why: &str) {
        let retry = &self.inner.options.retry;
        let exp = retry
            .base_delay
            .saturating_mul(1u32 << (attempts - 1).min(16));
        let cap = exp.min(retry.max_delay);
        // Jitter: somewhere in the upper half of the capped delay.
        let nanos = cap.as_nanos() as u64;
        let delay = Duration::from_nanos(if nanos < 2 {
            nanos
        } else {
            rand::rng().random_range(nanos / 2..=nanos)
        });
        tracing::debug!(
            method = call.method,
            chat = call.chat,
            attempts,
            ?delay,
            why,
            "retrying"
        );
        tokio::time::sleep(delay).await;
    }

    /// One HTTP exchange.
    async fn attempt(&self, call: &ApiCall) -> Result<Value, Attempt> {
        let inner = &*self.inner;
        let url = inner
            .base
            .method_url(&inner.token, call.method, inner.options.test_environment);
        let transport = |e: reqwest::Error| {
            let timed_out = e.is_timeout();
            Attempt::Transport {
                detail: inner.redactor.redact(&describe(&e.without_url())),
                timed_out,
            }
        };
        let request = inner.http.post(url);
        let request = match &call.upload {
            None => request.json(&call.params),
            Some(upload) => request.multipart(multipart_form(call, upload)),
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let header_retry = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let body = read_capped(response, inner.options.max_answer_bytes)
            .await
            .map_err(|e| match e {
                Capped::Http(e) => transport(e),
                Capped::TooLarge(read) => Attempt::Garbage {
                    status,
                    problem: format!(
                        "an answer larger than {} bytes (stopped reading at {read})",
                        inner.options.max_answer_bytes
                    ),
                    excerpt: String::new(),
                },
            })?;
        interpret(status, header_retry, &body, &inner.redactor)
    }
}

enum Capped {
    Http(reqwest::Error),
    TooLarge(usize),
}

/// Read a body chunk by chunk, refusing it as soon as it passes `cap`
/// bytes (a Content-Length above the cap is refused before reading).
async fn read_capped(mut response: reqwest::Response, cap: usize) -> Result<Vec<u8>, Capped> {
    if response
        .content_length()
        .is_some_and(|len| len > cap as u64)
    {
        return Err(Capped::TooLarge(0));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(Capped::Http)? {
        if body.len() + chunk.len() > cap {
            return Err(Capped::TooLarge(body.len() + chunk.len()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A call with a file as multipart/form-data: strings as they are, other
/// values as JSON text (how the Bot API reads form fields).
fn multipart_form(call: &ApiCall, upload: &Upload) -> reqwest::multipart::Form {
    let mut form = reqwest::multipart::Form::new();
    for (name, value) in &call.params {
        let text = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        form = form.text(name.clone(), text);
    }
    let part = reqwest::multipart::Part::bytes(upload.bytes.as_ref().clone())
        .file_name(upload.file_name.clone());
    form.part(upload.field.clone(), part)
}

/// A transport error with its causes, without any URL.
fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Turn a status and body into a result or a failure.
fn interpret(
    status: u16,
    header_retry: Option<u64>,
    body: &[u8],
    redactor: &Redactor,
) -> Result<Value, Attempt> {
    let garbage = |problem: &str| Attempt::Garbage {
        status,
        problem: problem.to_string(),
        excerpt: redactor.excerpt(body),
    };
    let trimmed = body.trim_ascii_start();
    if trimmed.is_empty() {
        if status == 429 {
            // A proxy's rate limit: honour its header.
            return Err(Attempt::Api(ApiFailure {
                code: 429,
                description: "Too Many Requests".into(),
                class: Class::RateLimited,
                retry_after: header_retry,
            }));
        }
        return Err(garbage("the body is empty"));
    }
    let envelope: Envelope = match serde_json::from_slice::<Value>(body) {
        Ok(value @ Value::Object(_)) => match serde_json::from_value(value) {
            Ok(env) => env,
            Err(_) => return Err(garbage("JSON without the Bot API's `ok` field")),
        },
        Ok(_) => return Err(garbage("JSON, but not an object")),
        Err(e) if e.is_eof() => return Err(garbage("truncated JSON")),
        Err(_) if trimmed.starts_with(b"<") => {
            return Err(garbage(
                "an HTML page (a proxy or gateway answered, not the Bot API)",
            ));
        }
        Err(_) => return Err(garbage("not JSON")),
    };
    if envelope.ok {
        return match envelope.result {
            Some(result) => Ok(result),
            None => Err(garbage("ok:true without a result")),
        };
    }
    let code = envelope
        .error_code
        .and_then(|c| u16::try_from(c).ok())
        .unwrap_or(status);
    let description = redactor.redact(
        envelope
            .description
            .as_deref()
            .unwrap_or("(no description)"),
    );
    let parameters = envelope.parameters.unwrap_or_default();
    let retry_after = parameters
        .retry_after
        .and_then(|s| u64::try_from(s).ok())
        .or(header_retry);
    let class = classify(code, &description, parameters.migrate_to_chat_id);
    Err(Attempt::Api(ApiFailure {
        code,
        description,
        class,
        retry_after,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_url_precedence() {
        let url = |f, e, c| resolve_api_url(f, e, c).unwrap().to_string();
        assert_eq!(url(None, None, None), "https://api.telegram.org/");
        assert_eq!(
            url(None, None, Some("https://config.example")),
            "https://config.example/"
        );
        assert_eq!(
            url(
                None,
                Some("https://env.example"),
                Some("https://config.example")
            ),
            "https://env.example/"
        );
        assert_eq!(
            url(
                Some("https://flag.example"),
                Some("https://env.example"),
                Some("https://config.example")
            ),
            "https://flag.example/"
        );
        // Empty values count as unset.
        assert_eq!(
            url(Some(""), Some("  "), Some("https://config.example")),
            "https://config.example/"
        );
    }

    #[test]
    fn plain_http_only_to_loopback() {
        for ok in [
            "http://127.0.0.1:8081",
            "http://localhost:1234/",
            "http://[::1]:9",
            "http://127.1.2.3",
            "https://example.org",
        ] {
            assert!(ApiUrl::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://example.org",
            "http://10.0.0.1:8081",
            "http://0.0.0.0",
            "http://localhost.evil.com",
            "ftp://127.0.0.1",
        ] {
            assert!(ApiUrl::parse(bad).is_err(), "{bad}");
        }
        assert!(matches!(
            ApiUrl::parse("http://api.telegram.org"),
            Err(SetupError::PlainHttp { .. })
        ));
        assert!(matches!(
            ApiUrl::parse("not a url"),
            Err(SetupError::BadUrl { .. })
        ));
    }

    #[test]
    fn token_sources_and_printing() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "111:from-file_AAAAAAAA\n").unwrap();
        let t = load_token(Some(&file), Some("222:from-env_BBBBBBBB")).unwrap();
        assert_eq!(t.expose(), "111:from-file_AAAAAAAA");
        assert_eq!(t.bot_id(), Some(111));
        let t = load_token(None, Some("222:from-env_BBBBBBBB")).unwrap();
        assert_eq!(t.expose(), "222:from-env_BBBBBBBB");
        assert_eq!(format!("{t} {t:?}"), "[redacted] [redacted]");
        assert_eq!(load_token(None, Some(" ")), Err(SetupError::NoToken));
        let bad = load_token(None, Some("222:with/slash")).unwrap_err();
        assert!(!bad.to_string().contains("with/slash"), "{bad}");
        let missing = load_token(Some(&dir.path().join("nope")), None).unwrap_err();
        assert!(matches!(missing, SetupError::TokenFile { .. }));
    }

    #[test]
    fn answers_are_interpreted() {
        let r = Redactor::new("1:SECRETSECRET");
        let ok = interpret(200, None, br#"{"ok":true,"result":{"a":1}}"#, &r);
        assert!(matches!(ok, Ok(Value::Object(_))));
        let cases: [(&[u8], &str); 6] = [
            (b"<html><body>502 Bad Gateway</body></html>", "HTML"),
            (br#"{"ok":true,"res"#, "truncated"),
            (b"hello", "not JSON"),
            (br#"{"ok":true}"#, "without a result"),
            (br#"[1,2]"#, "not an object"),
            (br#"{"result":1}"#, "`ok`"),
        ];
        for (body, expect) in cases {
            match interpret(200, None, body, &r) {
                Err(Attempt::Garbage { problem, .. }) => {
                    assert!(problem.contains(expect), "{problem}")
                }
                _ => panic!("{} was accepted", String::from_utf8_lossy(body)),
            }
        }
        let body = br#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}"#;
        match interpret(429, Some(3), body, &r) {
            Err(Attempt::Api(a)) => {
                assert_eq!((a.class, a.retry_after), (Class::RateLimited, Some(7)))
            }
            _ => panic!("429 not recognised"),
        }
        match interpret(200, None, b"<p>bot1:SECRETSECRET</p>", &r) {
            Err(Attempt::Garbage { excerpt, .. }) => {
                assert!(!excerpt.contains("SECRET"), "{excerpt}")
            }
            _ => panic!(),
        }
    }
}
