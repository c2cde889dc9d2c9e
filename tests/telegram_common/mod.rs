//! Shared by the telegram test binaries: the Acme example resolved, a
//! sandbox seeded from it (spec check on), and clients with small retry
//! and backoff settings so faults cost milliseconds.

#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use orgform::botapi_spec::BotApiSpec;
use orgform::sandbox::{self, FaultOptions, RunningSandbox, SandboxOptions, SeedOptions, World};
use orgform::state::DesiredState;
use orgform::telegram::{ApiUrl, Client, ClientOptions, RetryPolicy, Token};

/// The Acme example as of a fixed day.
pub fn acme() -> DesiredState {
    let now: jiff::Timestamp = "2026-06-01T00:00:00Z".parse().unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/acme");
    orgform::model::load_desired(&path, now)
        .unwrap_or_else(|e| panic!("examples/acme loads: {:?}", e.diagnostics))
}

/// A world in which the desired state holds exactly (no drift).
pub fn exact_world(desired: &DesiredState) -> World {
    World::from_desired(
        desired,
        &SeedOptions {
            drift: false,
            ..Default::default()
        },
    )
}

pub async fn start(world: World, faults: FaultOptions) -> RunningSandbox {
    let spec = Arc::new(BotApiSpec::reference().expect("the reference spec loads"));
    let options = SandboxOptions {
        faults,
        check_spec: Some(spec),
        ..Default::default()
    };
    sandbox::start(options, world)
        .await
        .expect("sandbox starts")
}

/// Client options for tests: no pace, quick backoff, many attempts.
pub fn fast() -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_secs(20),
        connect_timeout: Duration::from_secs(5),
        requests_per_second: None,
        max_requests_per_second: 200.0,
        adaptive_pace: true,
        max_parallel_chats: 8,
        retry: RetryPolicy {
            max_attempts: 12,
            base_delay: Duration::from_millis(2),
            max_delay: Duration::from_millis(40),
            max_rate_limited: 200,
            max_retry_after: Duration::from_secs(120),
        },
        test_environment: false,
        call_deadline: Duration::from_secs(120),
        max_answer_bytes: orgform::telegram::client::DEFAULT_MAX_ANSWER_BYTES,
    }
}

pub fn client_for(url: &str, token: &str, options: ClientOptions) -> Client {
    let url = ApiUrl::parse(url).expect("loopback URL");
    let token = Token::new(token, "in the test").expect("token");
    Client::new(url, token, options).expect("client")
}

pub fn client(sandbox: &RunningSandbox) -> Client {
    client_for(&sandbox.base_url(), sandbox.token(), fast())
}

pub fn unix_now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// A server that answers each method with a different kind of garbage, and
/// echoes the request path (token included) in its HTML page.
pub async fn garbage_server() -> (
    String,
    Arc<std::sync::Mutex<std::collections::HashMap<String, u32>>>,
) {
    let hits: Arc<std::sync::Mutex<std::collections::HashMap<String, u32>>> = Arc::default();
    let counter = hits.clone();
    let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let counter = counter.clone();
        async move {
            let path = request.uri().path().to_string();
            let method = path.rsplit('/').next().unwrap_or_default().to_string();
            *counter.lock().unwrap().entry(method.clone()).or_default() += 1;
            let (status, body) = match method.as_str() {
                "getMe" => (200, serde_json::json!({"ok": true, "result": {"id": 1, "is_bot": true, "first_name": "B", "username": "acme_org_bot"}}).to_string()),
                "getChat" => (502, format!("<html><body><h1>502 Bad Gateway</h1><p>upstream failed for {path}</p></body></html>")),
                "getChatAdministrators" => (200, r#"{"ok":true,"result":[{"status":"creat"#.to_string()),
                "getChatMemberCount" => (200, r#"{"ok":true}"#.to_string()),
                "getChatMember" => (200, "hello".to_string()),
                "getMyCommands" => (200, r#"{"ok":true,"result":"not a list"}"#.to_string()),
                _ => (200, String::new()),
            };
            (axum::http::StatusCode::from_u16(status).unwrap(), body)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, hits)
}
