//! Faults and limits: rate limits answered with 429, `retry_after` and a
//! `Retry-After` header; a client that waits `retry_after` always gets
//! through; random 500s and dropped connections reproducible with a seed.
//! Assertions are about behaviour and counts, never wall-clock timings.

use crate::common::*;
use orgform::sandbox::FaultOptions;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_rate_limit() {
    let sandbox = start_with(
        fixture_world(),
        FaultOptions {
            rate_limit_per_sec: Some(10),
            ..Default::default()
        },
    )
    .await;
    let api = std::sync::Arc::new(Api::new(&sandbox));

    // A burst of 100.
    let mut calls = Vec::new();
    for _ in 0..100 {
        let api = api.clone();
        calls.push(tokio::spawn(async move {
            let r = api.http.post(api.url("getMe")).send().await.unwrap();
            let header = r
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            let status = r.status().as_u16();
            (status, header, r.json::<Value>().await.unwrap())
        }));
    }
    let mut ok = 0;
    let mut limited = 0;
    for call in calls {
        let (status, header, body) = call.await.unwrap();
        match status {
            200 => ok += 1,
            429 => {
                limited += 1;
                let wait = body["parameters"]["retry_after"]
                    .as_u64()
                    .expect("retry_after");
                assert!((1..=1).contains(&wait), "{body}");
                assert_eq!(
                    body["description"],
                    format!("Too Many Requests: retry after {wait}")
                );
                assert_eq!(header.as_deref(), Some(wait.to_string().as_str()));
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    // The burst fits in one window unless it straddles a second.
    assert!((10..=20).contains(&ok), "{ok} admitted");
    assert_eq!(ok + limited, 100);
    let stats = sandbox.stats();
    assert_eq!(stats.rate_limited, limited);
    assert_eq!(stats.methods["getMe"].calls, 100);

    // A client that honours retry_after sees every call succeed, and never
    // two 429s in a row for the same call.
    for i in 0..25 {
        let mut attempts = 0;
        loop {
            let (status, body) = api.call("getChatMemberCount", json!({"chat_id": SG})).await;
            if status == 200 {
                break;
            }
            assert_eq!(status, 429, "{body}");
            attempts += 1;
            assert_eq!(
                attempts, 1,
                "call {i} was refused again after waiting retry_after"
            );
            let wait = body["parameters"]["retry_after"].as_u64().unwrap();
            tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
        }
    }
    assert_eq!(sandbox.stats().methods["getChatMemberCount"].ok, 25);
}

#[tokio::test]
async fn per_chat_limit_is_per_chat() {
    let sandbox = start_with(
        fixture_world(),
        FaultOptions {
            per_chat_per_min: Some(3),
            ..Default::default()
        },
    )
    .await;
    let api = Api::new(&sandbox);
    for _ in 0..3 {
        api.ok("getChat", json!({"chat_id": SG})).await;
    }
    let (status, body) = api.call("getChat", json!({"chat_id": SG})).await;
    assert_eq!(status, 429);
    let wait = body["parameters"]["retry_after"].as_u64().unwrap();
    assert!((50..=60).contains(&wait), "the window is a minute: {wait}");
    // Other chats and calls without a chat are not affected.
    api.ok("getChat", json!({"chat_id": CHANNEL})).await;
    api.ok("getMe", json!({})).await;
}

/// The statuses a fixed sequence of calls meets under random faults.
async fn fault_run(seed: u64) -> (Vec<String>, orgform::sandbox::Stats) {
    let faults = FaultOptions {
        fail_rate: 0.2,
        drop_rate: 0.2,
        seed,
        ..Default::default()
    };
    let sandbox = start_with(fixture_world(), faults).await;
    let api = Api::new(&sandbox);
    let mut seen = Vec::new();
    for _ in 0..40 {
        let outcome = api
            .http
            .post(api.url("getChatMemberCount"))
            .json(&json!({"chat_id": SG}))
            .send()
            .await;
        let text = match outcome {
            Ok(r) => {
                let status = r.status().as_u16();
                match r.json::<Value>().await {
                    Ok(body) => {
                        if status == 500 {
                            assert_eq!(
                                body,
                                json!({"ok": false, "error_code": 500, "description": "Internal Server Error"})
                            );
                        }
                        status.to_string()
                    }
                    Err(_) => "dropped".to_string(),
                }
            }
            Err(_) => "dropped".to_string(),
        };
        seen.push(text);
    }
    let stats = sandbox.stats();
    sandbox.shutdown().await.unwrap();
    (seen, stats)
}

#[tokio::test]
async fn random_faults_repeat_with_the_seed() {
    let (a, stats) = fault_run(42).await;
    let (b, _) = fault_run(42).await;
    assert_eq!(a, b, "same seed, same faults");
    let count = |what: &str| a.iter().filter(|s| *s == what).count() as u64;
    assert!(
        count("500") > 0 && count("dropped") > 0 && count("200") > 0,
        "{a:?}"
    );
    assert_eq!(stats.injected_errors, count("500"));
    assert_eq!(stats.dropped_connections, count("dropped"));
    let (c, _) = fault_run(7).await;
    assert_ne!(a, c, "another seed, other faults");
}

#[tokio::test]
async fn latency_and_stats_reset() {
    let faults = FaultOptions {
        latency: std::time::Duration::from_millis(20),
        ..Default::default()
    };
    let sandbox = start_with(fixture_world(), faults).await;
    let api = Api::new(&sandbox);
    api.ok("getMe", json!({})).await;
    assert_eq!(api.stats().await["methods"]["getMe"]["calls"], 1);
    let r: Value = api
        .http
        .post(format!("{}/sandbox/stats/reset", api.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["result"], true);
    assert_eq!(api.stats().await["requests"], 0);
    // The world can be read and replaced over HTTP; the file is saved on shutdown.
    let world: Value = api
        .http
        .get(format!("{}/sandbox/world", api.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(world["bot"]["user_id"], BOT);
    let mut smaller = world.clone();
    smaller["chats"]
        .as_object_mut()
        .unwrap()
        .remove(&CHANNEL.to_string());
    let r: Value = api
        .http
        .post(format!("{}/sandbox/world", api.base))
        .json(&smaller)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["result"], true);
    let (status, _) = api.call("getChat", json!({"chat_id": CHANNEL})).await;
    assert_eq!(status, 400);
    sandbox.shutdown().await.unwrap();
}

#[tokio::test]
async fn world_file_is_saved_on_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("world.json");
    let options = orgform::sandbox::SandboxOptions {
        world_file: Some(file.clone()),
        check_spec: Some(spec()),
        ..Default::default()
    };
    let sandbox = orgform::sandbox::start(options, fixture_world())
        .await
        .unwrap();
    let api = Api::new(&sandbox);
    api.ok("setChatTitle", json!({"chat_id": SG, "title": "Saved"}))
        .await;
    let world = sandbox.shutdown().await.unwrap();
    let saved = orgform::sandbox::World::load(&file).unwrap();
    assert_eq!(saved, world);
    assert_eq!(saved.chats[&SG].title, "Saved");
}
