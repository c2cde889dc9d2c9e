//! The webhook's allow-list behind a reverse proxy: `X-Forwarded-For` is
//! believed only from `--webhook-trusted-proxy`, and then only its
//! right-most untrusted address; a sender cannot talk its way in by
//! writing Telegram's address into the header.

use super::*;

const TELEGRAM_NET: &str = "149.154.160.0/20";
const TELEGRAM_IP: &str = "149.154.167.220";

/// watch on a free port for the webhook; the watcher and that address.
fn start(org: &Org, extra: &[&str]) -> (Watcher, String) {
    let secret = org.dir.path().join("secret");
    std::fs::write(&secret, "proxy-secret_1").unwrap();
    let mut args = vec![
        "--webhook-listen",
        "127.0.0.1:0",
        "--webhook-url",
        "https://bot.example.com/telegram",
        "--webhook-secret-file",
        secret.to_str().unwrap(),
        "--webhook-allow",
        TELEGRAM_NET,
        "--settings-poll",
        "0",
    ];
    args.extend(extra);
    let args: Vec<String> = args.into_iter().map(str::to_string).collect();
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let watch = org.watch(&refs).started();
    let hook = watch.wait_for("the webhook", Duration::from_secs(5), |v| {
        v["event"] == "webhook_listening"
    })["address"]
        .as_str()
        .unwrap()
        .to_string();
    (watch, hook)
}

/// POST an update with the secret and these X-Forwarded-For headers.
fn post(org: &Org, hook: &str, update_id: i64, forwarded: &[&str]) -> u16 {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let update = json!({"update_id": update_id, "message": {"message_id": 1, "date": 0,
        "chat": {"id": BOB, "type": "private", "first_name": "B"}, "text": "hello"}});
    let mut request = reqwest::Client::new()
        .post(format!("http://{hook}/telegram"))
        .header("X-Telegram-Bot-Api-Secret-Token", "proxy-secret_1")
        .json(&update);
    for f in forwarded {
        request = request.header("X-Forwarded-For", *f);
    }
    org.rt.block_on(request.send()).unwrap().status().as_u16()
}

#[test]
fn forwarded_for_counts_only_from_a_trusted_proxy() {
    let org = Org::new(0, FaultOptions::default());

    // No trusted proxy: the header is the sender's word, ignored.
    let (mut watch, hook) = start(&org, &[]);
    let hook = hook.as_str();
    assert_eq!(post(&org, hook, 500, &[TELEGRAM_IP]), 403);
    assert_eq!(post(&org, hook, 500, &[]), 403);
    assert_eq!(watch.term(), 0);
    let log = watch.log.lock().unwrap().clone();
    assert!(log.contains("outside the allowed networks"), "{log}");

    // Behind a proxy on 127.0.0.1: the address it forwarded for.
    let (watch, hook) = start(&org, &["--webhook-trusted-proxy", "127.0.0.1"]);
    let hook = hook.as_str();
    assert_eq!(post(&org, hook, 501, &[TELEGRAM_IP]), 200);
    // Telegram's address written by the sender, the real one appended by
    // the proxy: the real one decides.
    assert_eq!(
        post(&org, hook, 502, &[&format!("{TELEGRAM_IP}, 198.51.100.7")]),
        403
    );
    assert_eq!(post(&org, hook, 502, &[TELEGRAM_IP, "198.51.100.7"]), 403);
    // The proxy's own request, or a header that is not addresses.
    assert_eq!(post(&org, hook, 502, &[]), 403);
    assert_eq!(post(&org, hook, 502, &["unknown"]), 403);
    assert_eq!(
        post(&org, hook, 502, &[&format!("{TELEGRAM_IP}, <script>")]),
        403
    );
    // Two proxies in a row, both trusted: still the client before them.
    let (mut two, hook) = start_again(watch, &org);
    let hook = hook.as_str();
    assert_eq!(
        post(&org, hook, 503, &[&format!("{TELEGRAM_IP}, 10.9.8.7")]),
        200
    );
    assert_eq!(two.term(), 0);
    // Only the allowed requests were processed.
    assert_eq!(org.backend().load().unwrap().update_offset, Some(504));
}

/// Restart with two trusted proxy networks.
fn start_again(mut watch: Watcher, org: &Org) -> (Watcher, String) {
    assert_eq!(watch.term(), 0);
    start(
        org,
        &[
            "--webhook-trusted-proxy",
            "127.0.0.1",
            "--webhook-trusted-proxy",
            "10.0.0.0/8",
        ],
    )
}
