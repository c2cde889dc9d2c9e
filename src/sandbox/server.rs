//! The HTTP side: `/bot{TOKEN}/{method}` for the Bot API, `/sandbox/*` for
//! control (act, stats, world), long polling, webhook delivery and periodic
//! saving.
//!
//! Order of a Bot API request, as the real server does it: the token (401),
//! the method name (404), the body (413, 400), then the rate limits and
//! faults, then the method with the world locked. The world lock is a plain
//! mutex held only while a method runs (methods never await), so concurrent
//! requests are serialised per call and the world never sees half a change.

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};

use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};
use tokio::sync::{Notify, watch};

use super::faults::{Faults, Verdict};
use super::methods::{self, Call};
use super::request::{Params, UploadedFile};
use super::rules::errors::{self, ApiError};
use super::rules::{Caller, unix_now};
use super::stats::Stats;
use super::world::World;
use crate::botapi_spec::BotApiSpec;

/// Largest request body, as the Bot API's upload limit.
const MAX_BODY: usize = 50 * 1024 * 1024;
/// Largest JSON or urlencoded body (td `HttpReader::MAX_TOTAL_PARAMETERS_LENGTH`).
const MAX_PARAMETERS: usize = 1 << 20;
/// Largest world accepted by `POST /sandbox/world`.
const MAX_WORLD_BODY: usize = 1024 * 1024 * 1024;
/// Longest getUpdates wait Telegram allows.
const MAX_POLL_SECONDS: i64 = 50;

/// State shared by every request and background task.
pub(crate) struct Shared {
    pub world: Mutex<World>,
    pub token: String,
    pub faults: Mutex<Faults>,
    pub stats: Mutex<Stats>,
    pub spec: Option<Arc<BotApiSpec>>,
    /// Something changed: wakes long polls and the webhook deliverer.
    pub changed: Notify,
    /// The world changed since the last save.
    pub dirty: AtomicBool,
    pub stop: watch::Receiver<bool>,
    pub world_file: Option<PathBuf>,
    /// setWebhook with a URL is allowed once a second
    /// (`next_allowed_set_webhook_time_` in Client::process_set_webhook_query).
    pub next_set_webhook: Mutex<Option<tokio::time::Instant>>,
    /// Bumped by every getUpdates: a long poll that sees it change was
    /// overtaken by a newer one and ends with 409 (Client::abort_long_poll).
    pub poll_generation: std::sync::atomic::AtomicU64,
}

/// Lock ignoring poison: a panic in one request must not take the sandbox down.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/sandbox/stats", get(get_stats))
        .route("/sandbox/stats/reset", post(reset_stats))
        .route("/sandbox/world", get(get_world).post(put_world))
        .route("/sandbox/act", post(act))
        .route("/sandbox/clock", get(get_clock).post(move_clock))
        .fallback(bot_api)
        .with_state(shared)
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn error_response(e: &ApiError) -> Response {
    let status = StatusCode::from_u16(e.code).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = json_response(status, &e.body());
    if let Some(s) = e.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(s));
    }
    response
}

/// Above the size limit the real server closes with a bare 413 and no body
/// (td HttpReader's error reaches HttpInboundConnection, which writes none).
fn too_large_response() -> Response {
    (StatusCode::PAYLOAD_TOO_LARGE, Vec::<u8>::new()).into_response()
}

fn ok_response(result: Value) -> Response {
    json_response(StatusCode::OK, &json!({"ok": true, "result": result}))
}

/// A success with a `description`, as setWebhook and deleteWebhook answer
/// (`answer_query(…, "Webhook was set")` in Client.cpp).
fn ok_response_with(result: Value, description: Option<String>) -> Response {
    match description {
        Some(d) => json_response(
            StatusCode::OK,
            &json!({"ok": true, "result": result, "description": d}),
        ),
        None => ok_response(result),
    }
}

/// A body that fails on its first poll: hyper then closes the connection
/// without a complete answer, which is what a cut connection looks like.
struct CutBody;

impl futures_core::Stream for CutBody {
    type Item = Result<Bytes, std::io::Error>;
    fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "sandbox: dropped connection",
        ))))
    }
}

fn dropped_response() -> Response {
    Response::new(Body::from_stream(CutBody))
}

/// The path of a Bot API request, split as `HttpConnection::handle`
/// (telegram-bot-api) splits it: `/bot`, the token up to the next `/`, an
/// optional `/test` (the test environment), then a `/` and the method, which
/// may be empty (then the `method` parameter names it) and is otherwise
/// taken whole, so `getMe/` is an unknown method.
#[derive(Debug, PartialEq, Eq)]
struct BotPath<'a> {
    token: &'a str,
    is_test: bool,
    method: &'a str,
}

fn split_path(path: &str) -> Option<BotPath<'_>> {
    let rest = path.strip_prefix("/bot")?;
    let (token, rest) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let (is_test, rest) = match rest.strip_prefix("/test") {
        Some(after) => (true, after),
        None => (false, rest),
    };
    let method = rest.strip_prefix('/')?;
    Some(BotPath {
        token,
        is_test,
        method,
    })
}

/// `ClientManager::send`: a token that cannot be a bot token is refused
/// before anything else looks at it.
fn token_well_formed(token: &str) -> bool {
    if token.is_empty() || token.starts_with('0') || token.len() > 80 || token.contains('/') {
        return false;
    }
    let Some((id, _)) = token.split_once(':') else {
        return false;
    };
    id.parse::<i64>()
        .is_ok_and(|id| id > 0 && id < (1_i64 << 54))
}

/// Aliases the real server still accepts for renamed methods
/// (`Client::Client`, the `methods_` table).
fn legacy_alias(method: &str) -> Option<&'static str> {
    match method.to_ascii_lowercase().as_str() {
        "kickchatmember" => Some("banChatMember"),
        "getchatmemberscount" => Some("getChatMemberCount"),
        _ => None,
    }
}

async fn bot_api(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let path = request.uri().path().to_string();
    let Some(bot_path) = split_path(&path) else {
        return error_response(&errors::not_found());
    };
    lock(&shared.stats).requests += 1;
    // The body is read before the token is looked at (HttpReader first,
    // then ClientManager).
    let params = match read_params(request).await {
        Ok(p) => p,
        Err(e) if e.code == 413 => return too_large_response(),
        Err(e) => return error_response(&e),
    };
    if !token_well_formed(bot_path.token) {
        lock(&shared.stats).unauthorized += 1;
        return error_response(&errors::invalid_token());
    }
    if bot_path.token != shared.token {
        lock(&shared.stats).unauthorized += 1;
        return error_response(&errors::unauthorized());
    }
    // An empty method in the path is taken from the `method` parameter
    // (Query::Query).
    let named = if bot_path.method.is_empty() {
        params.str_opt("method").unwrap_or_default()
    } else {
        bot_path.method.to_string()
    };
    let found = methods::canonical(&named, false).or_else(|| legacy_alias(&named));
    let Some(method) = found else {
        lock(&shared.stats).not_found += 1;
        return error_response(&errors::method_not_found());
    };

    let latency = lock(&shared.faults).latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let chat_key = params.raw("chat_id").map(|v| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    });
    let verdict = lock(&shared.faults).decide(chat_key.as_deref(), tokio::time::Instant::now());
    match verdict {
        Verdict::RateLimited(wait) => {
            let e = errors::too_many_requests(wait);
            let mut stats = lock(&shared.stats);
            stats.rate_limited += 1;
            stats.call(method, Some(429));
            return error_response(&e);
        }
        Verdict::Fail => {
            let mut stats = lock(&shared.stats);
            stats.injected_errors += 1;
            stats.call(method, Some(500));
            return error_response(&errors::internal_server_error());
        }
        Verdict::Drop { after: false } => {
            let mut stats = lock(&shared.stats);
            stats.dropped_connections += 1;
            stats.call(method, None);
            return dropped_response();
        }
        _ => {}
    }

    if method == "setWebhook" && params.str_opt("url").is_some_and(|u| !u.is_empty()) {
        let now = tokio::time::Instant::now();
        let mut next = lock(&shared.next_set_webhook);
        if next.is_some_and(|at| now < at) {
            drop(next);
            lock(&shared.stats).call(method, Some(429));
            return error_response(&errors::too_many_requests(1));
        }
        *next = Some(now + Duration::from_secs(1));
    }

    let bot = lock(&shared.world).bot_id();
    let caller = Caller {
        id: bot,
        is_bot: true,
    };
    let (outcome, description) = if method == "getUpdates" {
        (long_poll(&shared, caller, &params).await, None)
    } else {
        execute(&shared, method, caller, &params)
    };
    let outcome = outcome.and_then(|result| check_spec(&shared, method, result));

    if verdict == (Verdict::Drop { after: true }) {
        let mut stats = lock(&shared.stats);
        stats.dropped_connections += 1;
        stats.call(method, None);
        return dropped_response();
    }
    lock(&shared.stats).call(method, outcome.as_ref().err().map(|e| e.code));
    tracing::debug!(method, ok = outcome.is_ok(), "bot api call");
    match outcome {
        Ok(result) => ok_response_with(result, description.map(str::to_string)),
        Err(e) => error_response(&e),
    }
}

/// Run one method with the world locked; the result and the `description`
/// the method gave a success, if any.
fn execute(
    shared: &Shared,
    method: &str,
    caller: Caller,
    params: &Params,
) -> (Result<Value, ApiError>, Option<&'static str>) {
    let mut world = lock(&shared.world);
    let before = world.updates.next_update_id;
    let now = unix_now() + world.clock_offset;
    let mut call = Call {
        world: &mut world,
        caller,
        now,
        params,
        description: None,
    };
    let outcome = methods::run(method, &mut call);
    let description = call.description;
    let new_updates = world.updates.next_update_id != before;
    drop(world);
    // Reads are not changes; every other successful call may be.
    if outcome.is_ok() && !method.starts_with("get") {
        shared.dirty.store(true, Ordering::Relaxed);
        shared.changed.notify_waiters();
    } else if new_updates {
        shared.changed.notify_waiters();
    }
    (outcome, description)
}

/// getUpdates: answer at once when something is queued, else wait up to
/// `timeout` seconds for the first update (or shutdown).
async fn long_poll(shared: &Shared, caller: Caller, params: &Params) -> Result<Value, ApiError> {
    let timeout = params.int_or("timeout", 0).clamp(0, MAX_POLL_SECONDS) as u64;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
    let mut stop = shared.stop.clone();
    let generation = shared.poll_generation.fetch_add(1, Ordering::SeqCst) + 1;
    let mut waited = false;
    // Wake an older poll so that it can see it was overtaken.
    shared.changed.notify_waiters();
    loop {
        let notified = shared.changed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if shared.poll_generation.load(Ordering::SeqCst) != generation {
            return Err(errors::conflict_other_get_updates());
        }
        let result = execute(shared, "getUpdates", caller, params).0;
        let result = match result {
            Err(e) if e.code == 409 && waited => {
                // A webhook set while this poll waited ends it.
                return Err(errors::conflict_set_webhook());
            }
            other => other?,
        };
        let empty = result.as_array().is_some_and(Vec::is_empty);
        if !empty || tokio::time::Instant::now() >= deadline || *stop.borrow() {
            return Ok(result);
        }
        waited = true;
        tokio::select! {
            _ = notified => {}
            _ = tokio::time::sleep_until(deadline) => {}
            _ = stop.changed() => {}
        }
    }
}

/// With a spec loaded, a result that does not validate becomes a 500: the
/// sandbox must never teach a client a shape Telegram does not send.
fn check_spec(shared: &Shared, method: &str, result: Value) -> Result<Value, ApiError> {
    let Some(spec) = &shared.spec else {
        return Ok(result);
    };
    if spec.method(method).is_none() {
        return Ok(result);
    }
    match spec.check_result(method, &result) {
        Ok(()) => Ok(result),
        Err(problems) => {
            let text = format!("{method}: {}", problems.join("; "));
            tracing::error!("sandbox response violates the Bot API spec: {text}");
            lock(&shared.stats).violation(text.clone());
            let mut e = errors::internal_server_error();
            e.description = format!(
                "Internal Server Error: sandbox response violates the Bot API spec: {text}"
            );
            Err(e)
        }
    }
}

/// Query string and body as the Bot API server reads them (td
/// `HttpReader`): the query string's parameters come first and a lookup
/// takes the first parameter of a name, so the query string wins over the
/// body and the first of a repeated key wins; a gzip or deflate body is
/// inflated; JSON and urlencoded bodies over 1 MiB are refused with 413.
async fn read_params(request: Request) -> Result<Params, ApiError> {
    let mut params = Params::new();
    if let Some(q) = request.uri().query() {
        for (k, v) in parse_urlencoded(q) {
            params.insert_text(k, v);
        }
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let encoding = request
        .headers()
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| errors::request_too_large())?;
    let body = match encoding.as_str() {
        "" | "identity" => body,
        "gzip" | "deflate" => Bytes::from(inflate(&encoding, &body)?),
        _ => return Err(errors::unsupported_encoding()),
    };
    let body_params = if content_type.contains("multipart/form-data") {
        let request = Request::from_parts(parts, Body::from(body));
        read_multipart(request).await?
    } else {
        parse_body(&content_type, &body)?
    };
    params.merge_under(body_params);
    Ok(params)
}

/// Inflate a compressed body, bounded like any other body.
fn inflate(encoding: &str, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    use std::io::Read;
    let mut out = Vec::new();
    let limit = (MAX_BODY + 1) as u64;
    let read = if encoding == "gzip" {
        flate2::read::GzDecoder::new(body)
            .take(limit)
            .read_to_end(&mut out)
    } else {
        flate2::read::ZlibDecoder::new(body)
            .take(limit)
            .read_to_end(&mut out)
    };
    read.map_err(|_| errors::cant_parse_body())?;
    if out.len() > MAX_BODY {
        return Err(errors::request_too_large());
    }
    Ok(out)
}

fn parse_body(content_type: &str, body: &[u8]) -> Result<Params, ApiError> {
    let is_form = content_type.contains("application/x-www-form-urlencoded");
    if !is_form && !content_type.contains("application/json") {
        // Other content types carry no parameters for the Bot API.
        return Ok(Params::new());
    }
    if body.len() > MAX_PARAMETERS {
        return Err(errors::request_too_large());
    }
    let mut params = Params::new();
    if is_form {
        let text = String::from_utf8_lossy(body);
        for (k, v) in parse_urlencoded(&text) {
            params.insert_text(k, v);
        }
    } else {
        for (k, v) in parse_json_parameters(&String::from_utf8_lossy(body)) {
            params.insert_value(k, v);
        }
    }
    Ok(params)
}

/// td `HttpReader::parse_json_parameters`: a JSON object read field by field;
/// at the first malformed spot reading stops and the error is only logged,
/// so the fields read so far (and the query string) still count.
fn parse_json_parameters(text: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut rest = text.trim_start();
    let Some(after) = rest.strip_prefix('{') else {
        return out;
    };
    rest = after;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() || rest.starts_with('}') {
            return out;
        }
        let Some((key, after)) = next_json_value(rest) else {
            return out;
        };
        let Value::String(key) = key else {
            return out;
        };
        let Some(after) = after.trim_start().strip_prefix(':') else {
            return out;
        };
        let Some((value, after)) = next_json_value(after.trim_start()) else {
            return out;
        };
        out.push((key, value));
        rest = after.trim_start();
        match rest.strip_prefix(',') {
            Some(after) => rest = after,
            None if rest.starts_with('}') => return out,
            None => return out,
        }
    }
}

/// One JSON value at the start of `text`, and what follows it.
fn next_json_value(text: &str) -> Option<(Value, &str)> {
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    let value = stream.next()?.ok()?;
    let used = stream.byte_offset();
    Some((value, &text[used..]))
}

async fn read_multipart(request: Request) -> Result<Params, ApiError> {
    let mut multipart = Multipart::from_request(request, &())
        .await
        .map_err(|_| errors::cant_parse_body())?;
    let mut params = Params::new();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|_| errors::cant_parse_body())?
    {
        let Some(name) = field.name().map(str::to_string) else {
            continue;
        };
        let is_file = field.file_name().is_some();
        let data = field.bytes().await.map_err(|_| errors::cant_parse_body())?;
        if is_file {
            params.insert_file(name, UploadedFile { size: data.len() });
        } else {
            params.insert_text(name, String::from_utf8_lossy(&data).into_owned());
        }
    }
    Ok(params)
}

/// `a=1&b=x+y%21` → pairs, decoding `+` and percent escapes.
pub(crate) fn parse_urlencoded(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

// --- /sandbox/* ---

async fn get_stats(State(shared): State<Arc<Shared>>) -> Response {
    let stats = lock(&shared.stats).clone();
    json_response(
        StatusCode::OK,
        &serde_json::to_value(stats).unwrap_or(Value::Null),
    )
}

async fn reset_stats(State(shared): State<Arc<Shared>>) -> Response {
    *lock(&shared.stats) = Stats::new(unix_now());
    ok_response(Value::Bool(true))
}

async fn get_world(State(shared): State<Arc<Shared>>) -> Response {
    let bytes = serde_json::to_vec(&*lock(&shared.world)).unwrap_or_default();
    let mut response = (StatusCode::OK, bytes).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

async fn put_world(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let body = match axum::body::to_bytes(request.into_body(), MAX_WORLD_BODY).await {
        Ok(b) => b,
        Err(_) => return error_response(&errors::request_too_large()),
    };
    let mut world: World = match serde_json::from_slice(&body) {
        Ok(w) => w,
        Err(e) => {
            return error_response(&ApiError::bad_request(format!("not a sandbox world: {e}")));
        }
    };
    // The token in use stays the one the sandbox was started with.
    world.bot.token = shared.token.clone();
    *lock(&shared.world) = world;
    shared.dirty.store(true, Ordering::Relaxed);
    shared.changed.notify_waiters();
    ok_response(Value::Bool(true))
}

/// `POST /sandbox/act` `{"as": USER_ID, "method": NAME, "params": {…}}`:
/// run a method as a person, with their rights. Not rate limited, no faults.
async fn act(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    let request = if content_type.starts_with("application/x-www-form-urlencoded") {
        let text = String::from_utf8_lossy(&body);
        Value::Object(
            parse_urlencoded(&text)
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
        )
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(v @ Value::Object(_)) => v,
            _ => return error_response(&errors::cant_parse_body()),
        }
    };
    lock(&shared.stats).acts += 1;
    let outcome = run_act(&shared, &request);
    match outcome {
        Ok(result) => ok_response(result),
        Err(e) => error_response(&e),
    }
}

pub(crate) fn run_act(shared: &Shared, request: &Value) -> Result<Value, ApiError> {
    let who = match request.get("as") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    let Some(who) = who else {
        return Err(errors::parameter_required("as"));
    };
    let name = request
        .get("method")
        .and_then(Value::as_str)
        .ok_or_else(|| errors::parameter_required("method"))?;
    let params = match request.get("params") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(Value::String(s)) => match serde_json::from_str(s) {
            Ok(Value::Object(m)) => m,
            _ => return Err(errors::cant_parse_object("params")),
        },
        Some(_) => return Err(errors::cant_parse_object("params")),
    };
    let params = Params::from_object(params);
    let (is_bot, known) = {
        let world = lock(&shared.world);
        (who == world.bot_id(), world.users.contains_key(&who))
    };
    if !known {
        return Err(errors::user_not_found());
    }
    let method = methods::canonical(name, true).ok_or_else(errors::not_found)?;
    if method == "getUpdates" {
        // Updates belong to the bot; a person has none to fetch here.
        return Err(errors::not_found());
    }
    // A person's changes go into the chat's admin log (MTProto
    // channels.getAdminLog): the chat before and after the call.
    let chat = match params.chat_id() {
        Ok(super::request::ChatRef::Id(id)) => Some(id),
        _ => None,
    };
    let before = chat.and_then(|id| lock(&shared.world).chats.get(&id).cloned());
    let outcome = execute(shared, method, Caller { id: who, is_bot }, &params).0;
    if let (Some(before), Ok(_)) = (&before, &outcome) {
        let mut world = lock(&shared.world);
        if let Some(after) = world.chats.get_mut(&before.id) {
            super::mtproto::admin_log::record(before, after, who, unix_now());
        }
    }
    outcome.and_then(|result| check_spec(shared, method, result))
}

/// `GET /sandbox/clock`: `{"now": UNIX, "offset": SECONDS}`.
async fn get_clock(State(shared): State<Arc<Shared>>) -> Response {
    let offset = lock(&shared.world).clock_offset;
    json_response(
        StatusCode::OK,
        &serde_json::json!({"now": unix_now() + offset, "offset": offset}),
    )
}

/// `POST /sandbox/clock {"advance": SECONDS}`: move the sandbox's clock
/// forward (never back); updates older than 24 hours by the new clock are
/// dropped, as Telegram drops them.
async fn move_clock(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let advance = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("advance").and_then(Value::as_i64));
    let Some(advance) = advance.filter(|a| *a >= 0) else {
        return error_response(&ApiError::bad_request(
            "expected {\"advance\": SECONDS} with SECONDS >= 0",
        ));
    };
    let now = advance_clock(&shared, advance);
    json_response(StatusCode::OK, &serde_json::json!({"now": now}))
}

/// Move the clock forward and drop what expired; the new time.
pub(crate) fn advance_clock(shared: &Shared, seconds: i64) -> i64 {
    let mut world = lock(&shared.world);
    world.clock_offset += seconds;
    let now = unix_now() + world.clock_offset;
    super::updates::expire(&mut world, now);
    drop(world);
    shared.dirty.store(true, Ordering::Relaxed);
    shared.changed.notify_waiters();
    now
}

// --- background tasks ---

/// Push queued updates to the webhook, one at a time, in order; an update
/// leaves the queue only when the receiver answered 2xx.
pub(crate) async fn deliver_webhooks(shared: Arc<Shared>) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("sandbox: cannot build the webhook client: {e}");
            return;
        }
    };
    let mut stop = shared.stop.clone();
    loop {
        if *stop.borrow() {
            return;
        }
        let notified = shared.changed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let job = {
            let world = lock(&shared.world);
            match (&world.webhook, world.updates.pending.front()) {
                (Some(hook), Some(update)) => Some((
                    hook.url.clone(),
                    hook.secret_token.clone(),
                    update.update_id,
                    update.update.clone(),
                )),
                _ => None,
            }
        };
        let Some((url, secret, update_id, update)) = job else {
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stop.changed() => {}
            }
            continue;
        };
        if let Some(spec) = &shared.spec
            && let Err(problems) = spec.check_type("Update", &update)
        {
            lock(&shared.stats).violation(format!("webhook update: {}", problems.join("; ")));
        }
        let mut request = client.post(&url).json(&update);
        if let Some(secret) = &secret {
            request = request.header("X-Telegram-Bot-Api-Secret-Token", secret);
        }
        let outcome = request.send().await;
        let failed = {
            let mut world = lock(&shared.world);
            match outcome {
                Ok(r) if r.status().is_success() => {
                    if world
                        .updates
                        .pending
                        .front()
                        .is_some_and(|u| u.update_id == update_id)
                    {
                        world.updates.pending.pop_front();
                    }
                    shared.dirty.store(true, Ordering::Relaxed);
                    false
                }
                failure => {
                    let message = match failure {
                        Ok(r) => format!("Wrong response from the webhook: {}", r.status()),
                        Err(e) => format!("Connection failed: {}", e.without_url()),
                    };
                    if let Some(hook) = world.webhook.as_mut() {
                        hook.last_error_date = Some(unix_now());
                        hook.last_error_message = Some(message);
                    }
                    true
                }
            }
        };
        if failed {
            // Telegram retries with a back-off; one second keeps tests quick.
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stop.changed() => {}
            }
        }
    }
}

/// Save the world every `interval` when it changed.
pub(crate) async fn autosave(shared: Arc<Shared>, interval: Duration) {
    let Some(path) = shared.world_file.clone() else {
        return;
    };
    let mut stop = shared.stop.clone();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => return,
        }
        if shared.dirty.swap(false, Ordering::Relaxed) {
            let bytes = serde_json::to_vec_pretty(&*lock(&shared.world)).unwrap_or_default();
            if let Err(e) = super::world::write_atomically(&path, &bytes) {
                tracing::error!("sandbox: {e}");
                shared.dirty.store(true, Ordering::Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urlencoded() {
        assert_eq!(
            parse_urlencoded("chat_id=-100&text=a+b%21&x=%7B%22a%22%3A1%7D&bad=%zz"),
            vec![
                ("chat_id".into(), "-100".into()),
                ("text".into(), "a b!".into()),
                ("x".into(), "{\"a\":1}".into()),
                ("bad".into(), "%zz".into())
            ]
        );
    }

    #[test]
    fn paths() {
        let p = |method| BotPath {
            token: "1:abc",
            is_test: false,
            method,
        };
        assert_eq!(split_path("/bot1:abc/getMe"), Some(p("getMe")));
        assert_eq!(split_path("/bot1:abc/getMe/"), Some(p("getMe/")));
        assert_eq!(split_path("/bot1:abc/"), Some(p("")));
        assert_eq!(split_path("/bot1:abc"), None);
        assert_eq!(
            split_path("/bot1:abc/test/getMe"),
            Some(BotPath {
                token: "1:abc",
                is_test: true,
                method: "getMe"
            })
        );
        assert_eq!(split_path("/other"), None);
    }

    #[test]
    fn tokens() {
        assert!(token_well_formed("123:abc"));
        assert!(!token_well_formed("0123:abc"));
        assert!(!token_well_formed("abc"));
        assert!(!token_well_formed("x:abc"));
        assert!(!token_well_formed(&format!("1:{}", "a".repeat(80))));
    }

    #[test]
    fn json_bodies_are_read_up_to_the_first_error() {
        let got = parse_json_parameters(r#"{"chat_id": -100, "text": "hi", "x": oops, "y": 1}"#);
        assert_eq!(
            got,
            vec![
                ("chat_id".to_string(), json!(-100)),
                ("text".to_string(), json!("hi"))
            ]
        );
        assert!(parse_json_parameters("not json").is_empty());
        assert_eq!(
            parse_json_parameters(r#"{"a":{"b":[1,2]},"c":true}"#),
            vec![
                ("a".to_string(), json!({"b": [1, 2]})),
                ("c".to_string(), json!(true))
            ]
        );
    }
}
