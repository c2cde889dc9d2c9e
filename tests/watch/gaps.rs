//! Updates lost while watch was down, found by the gap in update ids:
//! another consumer of the bot's token (here `orgform plan` of another
//! workspace, which takes its lock and so confirms what it reads) takes Dave's join; the first update watch gets after its
//! restart skips that id, so the ledger is marked stale (plan and drift
//! say so) until the full member check ran, which finds Dave.

use super::*;

/// `orgform plan` with a state directory of its own: it drains (and so
/// confirms) the bot's updates for itself.
fn plan_elsewhere(org: &Org) {
    let other = org.dir.path().join("other-workspace");
    let out = hermetic::process(&other)
        .args(["plan"])
        .arg(org.config())
        .arg("--api-url")
        .arg(org.sandbox().base_url())
        .arg("--token-file")
        .arg(org.dir.path().join("token"))
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 2)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_gap_in_update_ids_marks_the_ledger_stale_until_the_full_check() {
    // Every call a little slow, so the full member check takes seconds.
    let org = Org::new(
        0,
        FaultOptions {
            latency: Duration::from_millis(120),
            ..FaultOptions::default()
        },
    );
    let mut watch = org.watch(&["--settings-poll", "0"]).started();
    watch.wait_for("the first check", Duration::from_secs(60), |v| {
        v["event"] == "full_member_check"
    });
    // An update while it runs, so it has an offset to expect from.
    let lobby = org.link(LOBBY, false);
    org.act(DAVE, "joinChat", json!({"invite_link": lobby}))
        .unwrap();
    wait_until(
        "dave in the lobby's ledger",
        Duration::from_secs(10),
        || org.ledger_status(LOBBY, DAVE).as_deref() == Some("Member"),
    );
    assert_eq!(watch.term(), 0);

    // While watch is down, Dave joins; another workspace's plan takes the
    // update. Then Erin joins.
    let link = org.link(TEAM, false);
    org.act(DAVE, "joinChat", json!({"invite_link": link}))
        .unwrap();
    // Telegram forgets an update once a getUpdates asks for a later
    // offset: that workspace's next run.
    plan_elsewhere(&org);
    plan_elsewhere(&org);
    let pending = org.sandbox().world_snapshot().updates.pending;
    assert!(
        pending.is_empty(),
        "{pending:#?} getUpdates calls: {}",
        org.get_updates_calls()
    );
    org.act(ERIN, "joinChat", json!({"invite_link": link}))
        .unwrap();

    // watch is back: Erin's update skips Dave's id. The mark is committed
    // with it; SIGTERM before the check ends stops it at once (exit 0).
    let mut watch = org.watch(&["--settings-poll", "0"]);
    let stale = watch.wait_for("the gap", Duration::from_secs(60), |v| {
        v["event"] == "ledger_stale"
    });
    assert_eq!(watch.term(), 0);
    let reason = stale["reason"].as_str().unwrap();
    assert!(
        reason.contains("1 update(s)") && reason.contains("never reached watch"),
        "{stale}"
    );
    assert!(
        !watch
            .events()
            .iter()
            .any(|v| v["event"] == "full_member_check"),
        "the check ended before the kill: {:#?}",
        watch.events()
    );
    assert_eq!(org.ledger_status(TEAM, ERIN).as_deref(), Some("Member"));
    assert_ne!(org.ledger_status(TEAM, DAVE).as_deref(), Some("Member"));

    // plan and drift say so (drift exits 2).
    let (code, out, err) = org.run(&["drift", "--lock=false"]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        out.contains("Ledger: stale") && out.contains("never reached watch"),
        "{out}"
    );
    let (_, plan, _) = org.run(&["plan", "--lock=false"]);
    assert!(plan.contains("Ledger: stale"), "{plan}");

    // watch again: it finishes the check (Dave is found) and clears it.
    let mut watch = org.watch(&["--settings-poll", "0"]);
    watch.wait_for("the full check", Duration::from_secs(60), |v| {
        v["event"] == "full_member_check"
    });
    watch.wait_for("the start", Duration::from_secs(30), |v| {
        v["event"] == "started"
    });
    assert_eq!(org.ledger_status(TEAM, DAVE).as_deref(), Some("Member"));
    let (_, out, _) = org.run(&["drift", "--lock=false"]);
    assert!(!out.contains("Ledger: stale"), "{out}");
    assert_eq!(watch.term(), 0);
}

/// Consecutive ids after a restart are no gap: nothing is marked.
#[test]
fn consecutive_updates_after_a_restart_are_not_a_gap() {
    let org = Org::new(0, FaultOptions::default());
    let mut watch = org.watch(&["--settings-poll", "0"]).started();
    watch.wait_for("the first check", Duration::from_secs(30), |v| {
        v["event"] == "full_member_check"
    });
    let lobby = org.link(LOBBY, false);
    org.act(DAVE, "joinChat", json!({"invite_link": lobby}))
        .unwrap();
    wait_until(
        "dave in the lobby's ledger",
        Duration::from_secs(10),
        || org.ledger_status(LOBBY, DAVE).as_deref() == Some("Member"),
    );
    assert_eq!(watch.term(), 0);
    let link = org.link(TEAM, false);
    org.act(DAVE, "joinChat", json!({"invite_link": link}))
        .unwrap();
    let watch = org.watch(&["--settings-poll", "0"]).started();
    wait_until("dave in the ledger", Duration::from_secs(5), || {
        org.ledger_status(TEAM, DAVE).as_deref() == Some("Member")
    });
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !watch.events().iter().any(|v| v["event"] == "ledger_stale"),
        "{:#?}",
        watch.events()
    );
}
