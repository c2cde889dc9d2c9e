//! Every read is bounded in size and time: config entries must be regular
//! files under the size cap (checked before reading: a symlink to
//! `/dev/zero` or a FIFO is an error at once), a 70,000-character line with
//! a diagnostic renders clipped, and a Bot API server that answers forever
//! or never is given up on within the call deadline with memory bounded.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use orgform::telegram::client::{ApiCall, ApiUrl, Client, ClientOptions, Token};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TOKEN: &str = "7000000001:AAsandbox-test-token_0123456789abcdef";

fn validate(config: &Path) -> (i32, String, String, Duration) {
    let started = Instant::now();
    let out = crate::hermetic::process_bare()
        .args(["validate", "--now=2026-11-27T12:00:00Z"])
        .arg(config)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        started.elapsed(),
    )
}

/// A config directory with the minimal example and one more entry.
fn config_with(entry: &str, make: impl FnOnce(&Path)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy("examples/minimal/org.yaml", dir.path().join("org.yaml")).unwrap();
    make(&dir.path().join(entry));
    dir
}

#[test]
fn a_symlink_to_dev_zero_is_refused_at_once() {
    let dir = config_with("zero.yaml", |p| {
        std::os::unix::fs::symlink("/dev/zero", p).unwrap()
    });
    let (code, _, err, took) = validate(dir.path());
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("zero.yaml is a character device"), "{err}");
    assert!(err.contains("must be regular"), "{err}");
    assert!(took < Duration::from_secs(1), "{took:?}");
    // Named directly, too.
    let (code, _, err, took) = validate(&dir.path().join("zero.yaml"));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("character device"), "{err}");
    assert!(took < Duration::from_secs(1), "{took:?}");
}

#[test]
fn a_fifo_is_refused_without_waiting_for_a_writer() {
    let dir = config_with("pipe.yaml", |p| {
        let made = Command::new("mkfifo").arg(p).status().unwrap();
        assert!(made.success());
    });
    let (code, _, err, took) = validate(dir.path());
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("pipe.yaml is a FIFO"), "{err}");
    assert!(took < Duration::from_secs(1), "{took:?}");
}

#[test]
fn a_file_over_the_cap_is_refused_before_it_is_read() {
    let dir = config_with("huge.yaml", |p| {
        // Sparse: 17 MiB that take no disk.
        std::fs::File::create(p)
            .unwrap()
            .set_len(17 * 1024 * 1024)
            .unwrap();
    });
    let (code, _, err, took) = validate(dir.path());
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("huge.yaml is 17825792 bytes"), "{err}");
    assert!(err.contains("16777216 bytes"), "{err}");
    assert!(took < Duration::from_secs(1), "{took:?}");
}

#[test]
fn a_diagnostic_on_a_70000_character_line_renders_clipped() {
    let dir = config_with("people.yaml", |p| {
        let name = "x".repeat(70_000);
        std::fs::write(
            p,
            format!("people:\n  ana: {{telegram_id: 100005, name: {name}, department: nowhere}}\n"),
        )
        .unwrap();
    });
    let (code, _, err, took) = validate(dir.path());
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("unknown-department"), "{err}");
    assert!(err.contains('…'), "the line is shown clipped: {err}");
    assert!(err.contains("people.yaml:2:"), "{err}");
    assert!(err.len() < 20_000, "{} bytes of diagnostics", err.len());
    assert!(!err.contains("panicked"), "{err}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    // JSON clips the source line too.
    let out = crate::hermetic::process_bare()
        .args(["validate", "--format", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.len() < 20_000, "{} bytes", out.stdout.len());
}

fn client(url: &str, deadline: Duration) -> Client {
    let options = ClientOptions {
        requests_per_second: None,
        call_deadline: deadline,
        ..ClientOptions::default()
    };
    Client::new(
        ApiUrl::parse(url).unwrap(),
        Token::new(TOKEN, "in the test").unwrap(),
        options,
    )
    .unwrap()
}

fn peak_memory_mb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap();
    kb / 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_that_never_ends_is_cut_off_at_the_cap() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 8192];
        let _ = stream.read(&mut request).await;
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(b"6\r\n{\"ok\":\r\n").await.unwrap();
        let chunk = vec![b' '; 64 * 1024];
        let framed = [
            format!("{:x}\r\n", chunk.len()).into_bytes(),
            chunk,
            b"\r\n".to_vec(),
        ]
        .concat();
        // Bounded: at most 2 GiB, and only while the client still reads.
        let mut sent = 0usize;
        while sent < 2 << 30 {
            if stream.write_all(&framed).await.is_err() {
                break;
            }
            sent += framed.len();
        }
        sent
    });
    let started = Instant::now();
    let result = client(&url, Duration::from_secs(30))
        .call_value(&ApiCall::read("getMe", None))
        .await;
    let took = started.elapsed();
    let error = result.unwrap_err().to_string();
    assert!(
        error.contains("an answer larger than 16777216 bytes"),
        "{error}"
    );
    assert!(took < Duration::from_secs(30), "{took:?}");
    let sent = tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the server sees the client go")
        .unwrap();
    assert!(
        sent < 200 << 20,
        "the client stopped reading early: {sent} bytes sent"
    );
    eprintln!("peak {} MB", peak_memory_mb());
    assert!(peak_memory_mb() < 200, "peak {} MB", peak_memory_mb());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_is_given_up_on_at_the_deadline() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        // Accept and hold every connection; answer nothing.
        let mut held = Vec::new();
        while held.len() < 32 {
            let Ok((stream, _)) = listener.accept().await else {
                break;
            };
            held.push(stream);
        }
        held.len()
    });
    let deadline = Duration::from_secs(3);
    let started = Instant::now();
    let result = client(&url, deadline)
        .call_value(&ApiCall::read("getMe", None))
        .await;
    let took = started.elapsed();
    let error = result.unwrap_err().to_string();
    assert!(error.contains("call deadline of 3 s"), "{error}");
    assert!(
        took >= deadline && took < deadline + Duration::from_secs(2),
        "{took:?}"
    );
    server.abort();
    // The default deadline is the documented one.
    assert_eq!(
        ClientOptions::default().call_deadline,
        orgform::telegram::client::DEFAULT_CALL_DEADLINE
    );
    assert_eq!(
        ClientOptions::default().call_deadline,
        Duration::from_secs(120)
    );
}
