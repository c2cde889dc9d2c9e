//! Settings changed by hand, found by watch's settings poll (Telegram
//! sends no update for default permissions): one alert per change, not
//! one per round; a title changed in a group arrives as a service message
//! too, and the two paths alert once between them; with a signed-in
//! person the alert names who changed it (the admin log).

use super::person::{config_with_person, sign_in};
use super::*;

/// The team chat declares its default permissions.
fn with_permissions(config: &str) -> String {
    let out = config.replace(
        "    title: Team\n",
        "    title: Team\n    permissions: [send_messages, send_media, react]\n",
    );
    assert_ne!(out, config);
    out
}

fn set_permissions(org: &Org, allowed: &[&str]) {
    let mut permissions = serde_json::Map::new();
    for p in [
        "can_send_messages",
        "can_send_audios",
        "can_send_documents",
        "can_send_photos",
        "can_send_videos",
        "can_send_video_notes",
        "can_send_voice_notes",
        "can_send_polls",
        "can_send_other_messages",
        "can_add_web_page_previews",
        "can_react_to_messages",
        "can_edit_tag",
        "can_change_info",
        "can_invite_users",
        "can_pin_messages",
        "can_manage_topics",
    ] {
        permissions.insert(p.into(), json!(allowed.contains(&p)));
    }
    org.act(
        ALICE,
        "setChatPermissions",
        json!({"chat_id": TEAM, "permissions": permissions, "use_independent_chat_permissions": true}),
    )
    .unwrap();
}

const AS_CONFIGURED: &[&str] = &[
    "can_send_messages",
    "can_send_audios",
    "can_send_documents",
    "can_send_photos",
    "can_send_videos",
    "can_send_video_notes",
    "can_send_voice_notes",
    "can_react_to_messages",
];

fn alerts_at(watch: &Watcher, address: &str) -> Vec<Value> {
    watch
        .events()
        .into_iter()
        .filter(|v| v["event"] == "drift" && v["alert"]["address"] == address)
        .collect()
}

fn alerts_chat_mentioning(org: &Org, text: &str) -> usize {
    org.sandbox().world_snapshot().chats[&ALERTS]
        .messages
        .values()
        .filter(|m| m.text.contains("orgform drift in team") && m.text.contains(text))
        .count()
}

/// Rounds of the poll (getChat of the team chat) seen by the sandbox.
fn get_chat_calls(org: &Org) -> u64 {
    let stats = serde_json::to_value(org.sandbox().stats()).unwrap();
    stats["methods"]["getChat"]["calls"]
        .as_u64()
        .or_else(|| stats["methods"]["getChat"].as_u64())
        .unwrap_or(0)
}

/// Wait for `rounds` more getChat calls (the poll went round again).
fn more_rounds(org: &Org, rounds: u64) {
    let from = get_chat_calls(org);
    // Four chats a round.
    wait_until("more poll rounds", Duration::from_secs(15), || {
        get_chat_calls(org) >= from + 4 * rounds
    });
}

#[test]
fn permissions_and_titles_changed_by_hand_are_alerted_once_per_change() {
    let org = Org::with_config(0, FaultOptions::default(), None, &with_permissions(CONFIG));
    let (code, out, err) = org.run(&["apply", "--auto-approve"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let watch = org
        .watch(&["--settings-poll", "1s", "--metrics-listen", "127.0.0.1:0"])
        .started();
    // Where the metrics server listens (a free port; watch says which).
    let metrics = watch
        .log
        .lock()
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Serving /healthz and /metrics on http://"))
        .map(str::to_string)
        .unwrap();
    more_rounds(&org, 1);
    assert!(
        alerts_at(&watch, "chat.team.permissions").is_empty(),
        "{:#?}",
        watch.events()
    );

    // Alice takes polls and media away: one alert, whatever the rounds.
    set_permissions(&org, &["can_send_messages"]);
    let alert = watch.wait_for("the permissions alert", Duration::from_secs(10), |v| {
        v["event"] == "drift" && v["alert"]["address"] == "chat.team.permissions"
    });
    assert_eq!(alert["alert"]["kind"], "setting_changed", "{alert}");
    let summary = alert["alert"]["summary"].as_str().unwrap();
    assert!(
        summary.contains("default member permissions") && summary.contains("send_photos"),
        "{summary}"
    );
    more_rounds(&org, 3);
    assert_eq!(alerts_at(&watch, "chat.team.permissions").len(), 1);
    assert_eq!(alerts_chat_mentioning(&org, "permissions"), 1);

    // Put back as configured: quiet. The same change again: alerted again.
    set_permissions(&org, AS_CONFIGURED);
    more_rounds(&org, 2);
    assert_eq!(alerts_at(&watch, "chat.team.permissions").len(), 1);
    set_permissions(&org, &["can_send_messages"]);
    watch.wait_for("the second alert", Duration::from_secs(10), |_| {
        alerts_at(&watch, "chat.team.permissions").len() == 2
    });

    // A title changed by hand: a service message and the poll both see
    // it, one alert between them.
    org.act(
        ALICE,
        "setChatTitle",
        json!({"chat_id": TEAM, "title": format!("Renamed {HOSTILE}")}),
    )
    .unwrap();
    watch.wait_for("the title alert", Duration::from_secs(10), |v| {
        v["event"] == "drift" && v["alert"]["address"] == "chat.team.title"
    });
    more_rounds(&org, 3);
    assert_eq!(
        alerts_at(&watch, "chat.team.title").len(),
        1,
        "{:#?}",
        watch.events()
    );
    assert_eq!(alerts_chat_mentioning(&org, "Renamed"), 1);
    // Hostile text from Telegram reaches the alerts chat escaped.
    for m in org.sandbox().world_snapshot().chats[&ALERTS]
        .messages
        .values()
    {
        assert!(
            !m.text.contains('\u{1b}') && !m.text.contains('\u{202e}'),
            "{:?}",
            m.text
        );
    }
    // The rounds are counted in /metrics.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let text = org.rt.block_on(async {
        reqwest::get(format!("http://{metrics}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    let rounds: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("orgform_watch_settings_polls_total "))
        .unwrap_or_else(|| panic!("{text}"))
        .parse()
        .unwrap();
    assert!(rounds >= 5.0, "{text}");

    // A restart does not alert again what was alerted already.
    let mut watch = watch;
    assert_eq!(watch.term(), 0);
    let again = org.watch(&["--settings-poll", "1s"]).started();
    more_rounds(&org, 2);
    assert!(
        again.events().iter().all(|v| v["event"] != "drift"),
        "{:#?}",
        again.events()
    );
}

/// Off with 0: no getChat at all after the start.
#[test]
fn the_settings_poll_is_off_with_zero() {
    let org = Org::new(0, FaultOptions::default());
    let watch = org.watch(&["--settings-poll", "0"]).started();
    let from = get_chat_calls(&org);
    set_permissions(&org, &["can_send_messages"]);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(get_chat_calls(&org), from);
    assert!(watch.events().iter().all(|v| v["event"] != "drift"));
    // Titles still come by service message: renamed, put back, renamed
    // the same way again is two changes, two alerts.
    for title in ["Away", "Team", "Away"] {
        org.act(
            ALICE,
            "setChatTitle",
            json!({"chat_id": TEAM, "title": title}),
        )
        .unwrap();
    }
    watch.wait_for("two title alerts", Duration::from_secs(10), |_| {
        alerts_at(&watch, "chat.team.title").len() == 2
    });
    let (code, _, err) = org.run(&["watch", "--settings-poll", "soon"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("--settings-poll"), "{err}");
}

/// With a person signed in, the alert says who changed it and when.
#[test]
fn with_a_person_the_alert_names_who_changed_it() {
    let mut org = Org::with_config(
        0,
        FaultOptions::default(),
        None,
        &with_permissions(&config_with_person()),
    );
    let _mtproto = sign_in(&mut org);
    let (code, out, err) = org.run(&["apply", "--auto-approve"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let watch = org.watch(&["--settings-poll", "1s"]).started();
    set_permissions(&org, &["can_send_messages"]);
    let alert = watch.wait_for("the permissions alert", Duration::from_secs(10), |v| {
        v["event"] == "drift" && v["alert"]["address"] == "chat.team.permissions"
    });
    let by = alert["alert"]["by"].as_str().unwrap();
    assert!(by.contains("(200001) at 20"), "{alert}");
    assert!(
        alerts_chat_mentioning(&org, "(200001)") == 1 || {
            std::thread::sleep(Duration::from_secs(1));
            alerts_chat_mentioning(&org, "(200001)") == 1
        },
        "{:#?}",
        org.sandbox().world_snapshot().chats[&ALERTS].messages
    );
}

/// With `--enforce`, permissions changed by hand are set back in a
/// journaled run, under the same cap as every revert.
#[test]
fn enforce_sets_polled_permissions_back_up_to_the_cap() {
    let org = Org::with_config(0, FaultOptions::default(), None, &with_permissions(CONFIG));
    let (code, out, err) = org.run(&["apply", "--auto-approve"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let configured = org.sandbox().world_snapshot().chats[&TEAM]
        .permissions
        .clone();
    let watch = org
        .watch(&[
            "--settings-poll",
            "1s",
            "--enforce",
            "--enforce-per-hour",
            "1",
        ])
        .started();
    set_permissions(&org, &["can_send_messages"]);
    let done = watch.wait_for("the revert", Duration::from_secs(15), |v| {
        v["event"] == "enforce" && v["address"] == "chat.team.permissions"
    });
    assert_eq!(done["result"]["outcome"], "reverted", "{done}");
    assert_eq!(
        org.sandbox().world_snapshot().chats[&TEAM].permissions,
        configured
    );
    // Again: alerted again (it was put back), but the cap is reached.
    set_permissions(&org, &["can_send_messages"]);
    watch.wait_for("the cap", Duration::from_secs(15), |v| {
        v["event"] == "enforce_capped" && v["address"] == "chat.team.permissions"
    });
    assert_eq!(alerts_at(&watch, "chat.team.permissions").len(), 2);
    assert_ne!(
        org.sandbox().world_snapshot().chats[&TEAM].permissions,
        configured
    );
    let runs = org.backend().runs().unwrap();
    assert_eq!(
        runs.iter()
            .filter(|r| r.command == "watch --enforce")
            .count(),
        1,
        "{runs:?}"
    );
}

/// A run cut off mid-way (here an apply killed with -9) may have changed
/// things nobody knows of yet: `--enforce` makes no revert on top of it,
/// and says which run to settle; once it is settled, reverts go on.
#[test]
fn enforce_makes_no_revert_on_top_of_an_unfinished_run() {
    let org = Org::with_config(
        0,
        FaultOptions {
            latency: Duration::from_millis(150),
            ..FaultOptions::default()
        },
        None,
        &with_permissions(CONFIG),
    );
    let (code, out, err) = org.run(&["apply", "--auto-approve"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let configured = org.sandbox().world_snapshot().chats[&TEAM]
        .permissions
        .clone();

    // Titles changed by hand give the next apply work; it is killed as
    // soon as its journal has begun.
    for (chat, title) in [(TEAM, "Renamed by hand"), (ALERTS, "Alerts renamed")] {
        org.act(
            ALICE,
            "setChatTitle",
            json!({"chat_id": chat, "title": title}),
        )
        .unwrap();
    }
    let mut apply = org
        .command(&["apply", "--auto-approve"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    let begun = loop {
        let begun = org
            .backend()
            .runs()
            .unwrap()
            .into_iter()
            .find(|r| r.events > 0 && r.status.is_none());
        if begun.is_some() || start.elapsed() > Duration::from_secs(30) {
            break begun;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    apply.kill().unwrap();
    apply.wait().unwrap();
    let run = begun.expect("the apply's journal began").run_id;
    let unfinished = org
        .backend()
        .runs()
        .unwrap()
        .into_iter()
        .find(|r| r.run_id == run)
        .unwrap();
    assert!(unfinished.status.is_none(), "killed before it ended");

    let watch = org.watch(&["--settings-poll", "1s", "--enforce"]).started();
    set_permissions(&org, &["can_send_messages"]);
    let refused = watch.wait_for("the refusal", Duration::from_secs(20), |v| {
        v["event"] == "enforce" && v["address"] == "chat.team.permissions"
    });
    assert_eq!(refused["result"]["outcome"], "refused", "{refused}");
    let reason = refused["result"]["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!("run {run} is unfinished")) && reason.contains("apply --resume"),
        "{reason}"
    );
    assert_ne!(
        org.sandbox().world_snapshot().chats[&TEAM].permissions,
        configured,
        "nothing was reverted"
    );

    // Settled: the next change made by hand is reverted.
    let (code, out, err) = crate::hermetic::run(
        crate::hermetic::orgform(&org.state_dir()).args(["state", "abandon", &run]),
    );
    assert_eq!(code, 0, "{out}\n{err}");
    set_permissions(&org, &["can_send_messages", "can_send_polls"]);
    let done = watch.wait_for("the revert", Duration::from_secs(20), |v| {
        v["event"] == "enforce"
            && v["address"] == "chat.team.permissions"
            && v["result"]["outcome"] != "refused"
    });
    assert_eq!(done["result"]["outcome"], "reverted", "{done}");
    assert_eq!(
        org.sandbox().world_snapshot().chats[&TEAM].permissions,
        configured
    );
}
