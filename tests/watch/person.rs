//! Admin seats a person gave by hand, which the bot may not edit: with
//! the user provider and a session, `watch --enforce` demotes them through
//! the account (the sandbox's MTProto front-end), once per promotion and
//! no more than the cap; the journal says so.

use super::*;

use orgform::mtproto::UserSession;
use orgform::sandbox::mtproto::{MtprotoOptions, RunningMtproto};
use orgform::sandbox::world::Member;

/// The test org with the user provider.
pub fn config_with_person() -> String {
    let config = CONFIG.replace(
        "    alerts_chat: alerts\n",
        "    alerts_chat: alerts\n    provider: both\n",
    );
    assert_ne!(config, CONFIG);
    config
}

/// Alice owns every chat of the seeded world (the declared admin with the
/// most rights and the lowest id): her account is the signed-in person.
pub fn sign_in(org: &mut Org) -> RunningMtproto {
    let mtproto = org
        .rt
        .block_on(org.sandbox().start_mtproto(MtprotoOptions::default()))
        .unwrap();
    let key: [u8; 256] = std::array::from_fn(|i| (i as u8).wrapping_mul(31) ^ 0x5c);
    mtproto.authorize(key, Some(ALICE));
    let session = UserSession::new(2, mtproto.addr(), ALICE, key);
    org.env.extend([
        ("ORGFORM_TELEGRAM_API_ID".into(), "12345".into()),
        (
            "ORGFORM_TELEGRAM_API_HASH".into(),
            "0123456789abcdef0123456789abcdef".into(),
        ),
        (
            "ORGFORM_TELEGRAM_SESSION".into(),
            session.expose().to_string(),
        ),
    ]);
    mtproto
}

fn bob_is_admin(org: &Org) -> bool {
    matches!(
        org.sandbox().world_snapshot().chats[&TEAM].status(BOB, 0),
        Member::Administrator { .. }
    )
}

/// Alerts about Bob's seat in the alerts chat.
fn bob_alerts(org: &Org) -> Vec<String> {
    org.sandbox().world_snapshot().chats[&ALERTS]
        .messages
        .values()
        .filter(|m| m.text.contains("orgform drift in team") && m.text.contains("admin"))
        .map(|m| m.text.clone())
        .collect()
}

/// Carol (an admin) makes Bob an admin by hand: one alert, and the seat is
/// taken back through Alice's account in a journaled run; Carol doing it
/// again and again is fought twice (the cap), then only alerted.
#[test]
fn a_seat_given_by_hand_is_demoted_through_the_person_up_to_the_cap() {
    let mut org = Org::with_config(0, FaultOptions::default(), None, &config_with_person());
    let _mtproto = sign_in(&mut org);
    let (code, out, err) = org.run(&["apply", "--auto-approve"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let watch = org
        .watch(&["--enforce", "--enforce-per-hour", "2"])
        .started();
    let reverted = || {
        watch
            .events()
            .iter()
            .filter(|v| {
                v["event"] == "enforce"
                    && v["address"] == "chat.team.admin.bob"
                    && v["result"]["outcome"] == "reverted"
            })
            .count()
    };
    for round in 1..=3usize {
        wait_until("bob a member again", Duration::from_secs(10), || {
            round > 3 || !bob_is_admin(&org)
        });
        org.act(
            CAROL,
            "promoteChatMember",
            json!({"chat_id": TEAM, "user_id": BOB, "can_delete_messages": true}),
        )
        .unwrap();
        assert!(bob_is_admin(&org));
        wait_until("the alert", Duration::from_secs(10), || {
            bob_alerts(&org).len() == round
        });
        if round < 3 {
            wait_until("the demotion", Duration::from_secs(15), || {
                reverted() == round && !bob_is_admin(&org)
            });
        }
    }
    watch.wait_for("the cap", Duration::from_secs(10), |v| {
        v["event"] == "enforce_capped" && v["address"] == "chat.team.admin.bob"
    });
    std::thread::sleep(Duration::from_millis(500));
    // Exactly one alert per promotion, none for orgform's own demotions,
    // and no "cannot undo" note (watch undoes it).
    let alerts = bob_alerts(&org);
    assert_eq!(alerts.len(), 3, "{alerts:#?}");
    assert!(
        alerts.iter().all(|a| !a.contains("cannot undo")),
        "{alerts:#?}"
    );
    let drift: Vec<_> = watch
        .events()
        .into_iter()
        .filter(|v| v["event"] == "drift" && v["alert"]["address"] == "chat.team.admin.bob")
        .collect();
    assert_eq!(drift.len(), 3, "{drift:#?}");
    assert_eq!(reverted(), 2, "{:#?}", watch.events());
    // The third promotion stands: a person must settle it.
    assert!(bob_is_admin(&org));

    // Each demotion is a journaled run whose change went through the
    // account (channels.editAdmin), not the bot.
    let backend = org.backend();
    let runs: Vec<_> = backend
        .runs()
        .unwrap()
        .into_iter()
        .filter(|r| r.command == "watch --enforce")
        .collect();
    assert_eq!(runs.len(), 2, "{runs:?}");
    for run in &runs {
        let events = backend.events(&run.run_id).unwrap().join("\n");
        assert!(events.contains("channels.editAdmin"), "{events}");
        assert!(events.contains("chat.team.admin.bob"), "{events}");
    }
    let calls = _mtproto.calls();
    assert_eq!(
        calls.get("channels.editAdmin").copied(),
        Some(2),
        "{calls:?}"
    );

    // A stranger (no person of the config) let into the lobby and made an
    // admin there by its owner: one alert, demoted once through the account.
    let stranger = 300005;
    let link = org.link(LOBBY, false);
    org.act(stranger, "joinChat", json!({"invite_link": link}))
        .unwrap();
    org.act(
        ALICE,
        "promoteChatMember",
        json!({"chat_id": LOBBY, "user_id": stranger, "can_pin_messages": true}),
    )
    .unwrap();
    let address = format!("chat.lobby.admin.{stranger}");
    let done = watch.wait_for("the stranger's demotion", Duration::from_secs(15), |v| {
        v["event"] == "enforce" && v["address"] == address.as_str()
    });
    assert_eq!(done["result"]["outcome"], "reverted", "{done}");
    assert!(matches!(
        org.sandbox().world_snapshot().chats[&LOBBY].status(stranger, 0),
        Member::Member { .. }
    ));
    let alerts = watch
        .events()
        .into_iter()
        .filter(|v| v["event"] == "drift" && v["alert"]["address"] == address.as_str())
        .count();
    assert_eq!(alerts, 1, "{:#?}", watch.events());
    assert_eq!(_mtproto.calls().get("channels.editAdmin").copied(), Some(3));
}

/// With the user provider but no session, the alert says what is missing;
/// nothing is tried.
#[test]
fn without_a_session_the_alert_says_to_sign_in() {
    let org = Org::with_config(0, FaultOptions::default(), None, &config_with_person());
    let (code, out, err) = org.run(&["apply", "--auto-approve"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let watch = org.watch(&["--enforce"]).started();
    org.act(
        CAROL,
        "promoteChatMember",
        json!({"chat_id": TEAM, "user_id": BOB, "can_delete_messages": true}),
    )
    .unwrap();
    let alert = watch.wait_for("the alert", Duration::from_secs(10), |v| {
        v["event"] == "drift" && v["alert"]["address"] == "chat.team.admin.bob"
    });
    let fix = alert["alert"]["fix"].as_str().unwrap_or_default();
    assert!(fix.contains("orgform login"), "{alert}");
    wait_until("the alert in the chat", Duration::from_secs(5), || {
        bob_alerts(&org).len() == 1
    });
    assert!(bob_alerts(&org)[0].contains("The bot cannot undo this"));
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !watch.events().iter().any(|v| v["event"] == "enforce"),
        "{:#?}",
        watch.events()
    );
    assert!(bob_is_admin(&org));
}

/// A setting only a person can change (slow mode), changed by hand by
/// another admin over MTProto: the poll alerts it naming them, and
/// `--enforce` sets it back through the signed-in account.
#[test]
fn a_person_only_setting_is_set_back_through_the_account() {
    let config =
        config_with_person().replace("    title: Team\n", "    title: Team\n    slow_mode: 30\n");
    let mut org = Org::with_config(0, FaultOptions::default(), None, &config);
    let mtproto = sign_in(&mut org);
    let (code, out, err) = org.run(&["apply", "--auto-approve"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(
        org.sandbox().world_snapshot().chats[&TEAM].slow_mode_delay,
        30
    );
    let watch = org.watch(&["--enforce", "--settings-poll", "1s"]).started();
    // Carol, an admin, turns slow mode off from her own app.
    let key: [u8; 256] = std::array::from_fn(|i| (i as u8).wrapping_mul(7) ^ 0x3c);
    mtproto.authorize(key, Some(CAROL));
    let carol = UserSession::new(2, mtproto.addr(), CAROL, key);
    org.rt.block_on(async {
        let provider = orgform::mtproto::UserProvider::new(orgform::mtproto::UserClient::connect(
            &carol, 12345,
        ));
        provider
            .apply_setting(TEAM, orgform::mtproto::PersonSetting::SlowMode(0))
            .await
            .unwrap();
    });
    let alert = watch.wait_for("the slow mode alert", Duration::from_secs(15), |v| {
        v["event"] == "drift" && v["alert"]["address"] == "chat.team.slow_mode"
    });
    assert!(
        alert["alert"]["by"]
            .as_str()
            .is_some_and(|b| b.contains("(200003)")),
        "{alert}"
    );
    let done = watch.wait_for("the revert", Duration::from_secs(15), |v| {
        v["event"] == "enforce" && v["address"] == "chat.team.slow_mode"
    });
    assert_eq!(done["result"]["outcome"], "reverted", "{done}");
    assert_eq!(
        org.sandbox().world_snapshot().chats[&TEAM].slow_mode_delay,
        30
    );
    // Carol's call and watch's, through the account, journaled.
    assert_eq!(
        mtproto.calls().get("channels.toggleSlowMode").copied(),
        Some(2),
        "{:?}",
        mtproto.calls()
    );
    let backend = org.backend();
    let run = done["result"]["run_id"].as_str().unwrap();
    let events = backend.events(run).unwrap().join("\n");
    assert!(events.contains("chat.team.slow_mode"), "{events}");
}
