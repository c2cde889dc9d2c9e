//! Reading live state from the sandbox over HTTP: the LiveState a seeded
//! world gives, the call budget, draining `chat_member` updates, chats that
//! cannot be read, garbage answers, token redaction and the loopback rule.

use std::collections::{BTreeMap, BTreeSet};

use crate::telegram_common::*;
use orgform::sandbox::FaultOptions;
use orgform::sandbox::seed::BOT_ID;
use orgform::sandbox::world::{Member, World};
use orgform::state::{AdminSeat, ChatSettings, ChatType, DesiredState, MemberState, Right, UserId};
use orgform::store::Store;
use orgform::telegram::{self, ApiCall, ReadError};
use serde_json::{Value, json};

/// Admin seats, member statuses and settings of one chat.
type ChatView = (
    BTreeMap<UserId, AdminSeat>,
    BTreeMap<UserId, MemberState>,
    ChatSettings,
);

/// What a correct reader must see in one chat, computed from the world itself.
fn expected_from_world(world: &World, chat_id: i64, declared: &BTreeSet<UserId>) -> ChatView {
    let chat = &world.chats[&chat_id];
    let mut admins = BTreeMap::new();
    let mut members = BTreeMap::new();
    for (user, member) in &chat.members {
        match member {
            Member::Creator {
                is_anonymous,
                custom_title,
            } => {
                let mut rights = Right::all_for(chat.kind);
                if *is_anonymous {
                    rights.insert(Right::Anonymous);
                }
                admins.insert(
                    *user,
                    AdminSeat {
                        rights,
                        title: custom_title.clone(),
                        owner: true,
                    },
                );
            }
            Member::Administrator {
                rights,
                custom_title,
                ..
            } if *user != BOT_ID => {
                admins.insert(
                    *user,
                    AdminSeat {
                        rights: rights.clone(),
                        title: custom_title.clone(),
                        owner: false,
                    },
                );
            }
            _ => {}
        }
    }
    for user in declared {
        if admins.contains_key(user) {
            continue;
        }
        let status = match chat.members.get(user) {
            Some(Member::Member { .. }) => MemberState::Member,
            Some(Member::Restricted {
                permissions,
                is_member: true,
                until_date,
                ..
            }) => MemberState::Restricted {
                permissions: permissions.clone(),
                until: (*until_date != 0).then_some(*until_date),
            },
            Some(Member::Kicked { .. }) => MemberState::Banned,
            _ => MemberState::Absent,
        };
        members.insert(*user, status);
    }
    let settings = ChatSettings {
        title: Some(chat.title.clone()),
        description: Some(chat.description.clone()),
        permissions: (chat.kind != ChatType::Channel).then(|| chat.permissions.clone()),
        // orgform uploaded nothing yet: a photo in the world is someone else's.
        photo: Some(match &chat.photo {
            None => orgform::state::Photo::None,
            Some(p) => orgform::state::Photo::Other {
                file_unique_id: format!("AQb{}", p.serial),
            },
        }),
        forum: Some(chat.is_forum),
        slow_mode: Some(chat.slow_mode_delay),
        protected_content: Some(chat.has_protected_content),
        auto_delete: Some(chat.message_auto_delete_time),
        join_by_request: Some(chat.join_by_request),
        join_to_send: Some(chat.join_to_send_messages),
        hidden_members: Some(chat.has_hidden_members),
        history_for_new_members: Some(chat.kind == ChatType::Supergroup && !chat.history_hidden),
    };
    (admins, members, settings)
}

fn declared(desired: &DesiredState, key: &str) -> BTreeSet<UserId> {
    let chat = &desired.state.chats[key];
    chat.admins
        .keys()
        .chain(chat.members.keys())
        .copied()
        .collect()
}

#[tokio::test]
async fn a_seeded_world_reads_as_expected() {
    let desired = acme();
    let world = exact_world(&desired);
    let sandbox = start(world.clone(), FaultOptions::default()).await;
    let client = client(&sandbox);
    let mut store = Store::default();
    let now = unix_now();
    let live = telegram::read(&client, &desired, &mut store, now)
        .await
        .unwrap();

    assert_eq!(
        live.bot.as_ref().map(|b| (b.id, b.username.as_str())),
        Some((BOT_ID, "acme_org_bot"))
    );
    assert_eq!(
        live.state.chats.keys().collect::<Vec<_>>(),
        desired.state.chats.keys().collect::<Vec<_>>()
    );
    for (key, want) in &desired.state.chats {
        let got = &live.state.chats[key];
        let meta = &live.meta[key];
        let (admins, members, settings) =
            expected_from_world(&world, want.id, &declared(&desired, key));
        assert_eq!(meta.error, None, "{key}");
        assert_eq!(got.id, want.id);
        assert_eq!(got.kind, want.kind, "{key}");
        assert_eq!(got.settings, settings, "{key}: settings");
        assert_eq!(got.admins, admins, "{key}: admins");
        assert_eq!(got.members, members, "{key}: members");
        // With no drift the live chat is the declared one.
        assert_eq!(
            got.admins.keys().collect::<Vec<_>>(),
            want.admins.keys().collect::<Vec<_>>(),
            "{key}: admin seats"
        );
        assert_eq!(got.members, want.members, "{key}: declared members");
        for field in [&want.settings.title, &want.settings.description] {
            if field.is_some() {
                assert!(
                    [&got.settings.title, &got.settings.description].contains(&field),
                    "{key}: {field:?}"
                );
            }
        }
        if let Some(p) = &want.settings.permissions {
            assert_eq!(
                got.settings.permissions.as_ref(),
                Some(p),
                "{key}: permissions"
            );
        }
        assert_eq!(
            meta.bot_rights,
            Some(Right::all_for(want.kind)),
            "{key}: the bot's rights"
        );
        let owner = world.chats[&want.id].owner().unwrap();
        assert!(
            meta.not_editable.contains(&owner),
            "{key}: the owner is not editable"
        );
        assert_eq!(
            meta.member_count,
            Some(world.chats[&want.id].present_count(now) as u64),
            "{key}: count"
        );
        // Nothing created by orgform yet: no topics or links; commands read where managed.
        assert!(
            got.topics.is_empty() && got.invite_links.is_empty(),
            "{key}"
        );
        assert_eq!(
            got.commands,
            want.commands.as_ref().map(|_| Vec::new()),
            "{key}: commands"
        );
        assert!(!store.never_read(want.id), "{key}: last_read recorded");
        // The declared pin is the bot's message; declared tags are read back.
        match &want.pinned {
            Some(p) => {
                let got = got.pinned.as_ref().expect("pinned");
                assert!(
                    got.by_bot && got.text == p.text && got.message_id.is_some(),
                    "{key}: {got:?}"
                );
            }
            None => assert_eq!(got.pinned, None, "{key}"),
        }
        assert_eq!(
            got.tags.clone().unwrap_or_default(),
            want.tags.clone().unwrap_or_default(),
            "{key}: tags"
        );
    }
    // What was seen is in the store, with its source.
    let some_member = desired.state.chats["general"]
        .members
        .iter()
        .find(|(_, m)| **m == MemberState::Member)
        .map(|(u, _)| *u)
        .unwrap();
    let seen = &store
        .chat(desired.state.chats["general"].id)
        .unwrap()
        .members[&some_member];
    assert_eq!(
        (seen.status.clone(), seen.source.as_str(), seen.at),
        (MemberState::Member, "getChatMember", now)
    );
    assert!(
        sandbox.stats().spec_violations.is_empty(),
        "{:?}",
        sandbox.stats().spec_violations
    );
    sandbox.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_call_budget_holds() {
    let mut desired = acme();
    let sandbox = start(exact_world(&desired), FaultOptions::default()).await;
    let client = client(&sandbox);
    let n = desired.state.chats.len() as u64;
    let managed = desired
        .state
        .chats
        .values()
        .filter(|c| c.commands.is_some())
        .count() as u64;

    // First run: every declared non-admin's status is unknown: one getChatMember
    // each, no more; and the commands of the chats that manage them, once.
    let mut store = Store::default();
    telegram::read(&client, &desired, &mut store, unix_now())
        .await
        .unwrap();
    let stats = sandbox.stats();
    let unknown: u64 = desired
        .state
        .chats
        .values()
        .map(|c| {
            c.members
                .keys()
                .filter(|u| !c.admins.contains_key(u))
                .count() as u64
        })
        .sum();
    assert_eq!(stats.calls("getChatMember"), unknown);
    assert_eq!(stats.calls("getMyCommands"), managed);
    assert_eq!(stats.requests, 3 * n + 1 + unknown + managed);

    // Second run: the store knows everyone, their tags and the commands: getMe + 3 per chat.
    sandbox.reset_stats();
    telegram::read(&client, &desired, &mut store, unix_now())
        .await
        .unwrap();
    let stats = sandbox.stats();
    assert!(
        stats.requests <= 3 * n + 1,
        "{} calls for {n} chats: {:?}",
        stats.requests,
        stats.methods
    );
    assert_eq!(stats.calls("getMe"), 1);
    assert_eq!(stats.calls("getChatMember"), 0);
    assert_eq!(stats.calls("getMyCommands"), 0);

    // A person whose desired status differs from what the store knows is asked about, once.
    let general = desired.state.chats.get_mut("general").unwrap();
    let (user, _) = general
        .members
        .iter()
        .find(|(_, m)| **m == MemberState::Member)
        .map(|(u, m)| (*u, m.clone()))
        .unwrap();
    general.members.insert(user, MemberState::Banned);
    // And one the store forgot.
    let platform_id = desired.state.chats["platform"].id;
    let forgotten = *desired.state.chats["platform"]
        .members
        .keys()
        .next()
        .unwrap();
    store.chat_mut(platform_id).members.remove(&forgotten);
    sandbox.reset_stats();
    let live = telegram::read(&client, &desired, &mut store, unix_now())
        .await
        .unwrap();
    let stats = sandbox.stats();
    assert_eq!(stats.calls("getChatMember"), 2);
    assert_eq!(stats.requests, 3 * n + 1 + 2);
    assert_eq!(
        live.state.chats["general"].members[&user],
        MemberState::Member
    );

    // A tag the config asks for, where the store last saw another, is asked about, once.
    desired
        .state
        .chats
        .get_mut("general")
        .unwrap()
        .members
        .insert(user, MemberState::Member);
    let eng = desired.state.chats.get_mut("engineering").unwrap();
    let (tagged, _) = eng
        .tags
        .as_ref()
        .unwrap()
        .iter()
        .next()
        .map(|(u, t)| (*u, t.clone()))
        .unwrap();
    eng.tags.as_mut().unwrap().insert(tagged, "Renamed".into());
    sandbox.reset_stats();
    telegram::read(&client, &desired, &mut store, unix_now())
        .await
        .unwrap();
    assert_eq!(sandbox.stats().calls("getChatMember"), 1);
    sandbox.shutdown().await.unwrap();
}

#[tokio::test]
async fn targeted_reads_touch_only_the_named_chats() {
    let desired = acme();
    let sandbox = start(exact_world(&desired), FaultOptions::default()).await;
    let client = client(&sandbox);
    let mut store = Store::default();
    let only = vec!["platform".to_string(), "sre-oncall".to_string()];
    let live = telegram::read_chats(&client, &desired, &mut store, unix_now(), &only)
        .await
        .unwrap();
    assert_eq!(live.state.chats.keys().cloned().collect::<Vec<_>>(), only);
    assert_eq!(sandbox.stats().calls("getChat"), 2);
    let unknown = telegram::read_chats(
        &client,
        &desired,
        &mut store,
        unix_now(),
        &["nope".to_string()],
    )
    .await;
    assert!(matches!(unknown, Err(ReadError::UnknownChat(k)) if k == "nope"));
    sandbox.shutdown().await.unwrap();
}

#[tokio::test]
async fn chat_member_updates_are_drained_into_the_store() {
    let desired = acme();
    let world = exact_world(&desired);
    let sandbox = start(world.clone(), FaultOptions::default()).await;
    let client = client(&sandbox);
    let mut store = Store::default();

    // The first refresh subscribes to chat_member (Telegram queues nothing
    // before that) and fills the store.
    let (_, drained) = telegram::refresh(&client, &desired, &mut store, unix_now(), None)
        .await
        .unwrap();
    assert_eq!(drained, telegram::Drained::default());
    let general = &desired.state.chats["general"];
    let owner = world.chats[&general.id].owner().unwrap();
    let user = *general
        .members
        .iter()
        .find(|(u, m)| **m == MemberState::Member && **u != owner)
        .unwrap()
        .0;
    sandbox
        .act(
            owner,
            "banChatMember",
            json!({"chat_id": general.id, "user_id": user}),
        )
        .unwrap();

    sandbox.reset_stats();
    let drained = telegram::drain_updates(&client, &desired, &mut store)
        .await
        .unwrap();
    assert_eq!(drained.updates, 1);
    assert_eq!(sandbox.stats().requests, 1, "one getUpdates call");
    let seen = &store.chat(general.id).unwrap().members[&user];
    assert_eq!(
        (&seen.status, seen.source.as_str()),
        (&MemberState::Banned, "update")
    );
    let offset = store.update_offset.expect("offset recorded");

    // refresh = drain + read; the ban is known from the update, and since the
    // config wants a member there, the reader asks once to be sure.
    sandbox.reset_stats();
    let (live, drained) = telegram::refresh(
        &client,
        &desired,
        &mut store,
        unix_now(),
        Some(&["general".to_string()]),
    )
    .await
    .unwrap();
    assert_eq!(drained.updates, 0);
    assert_eq!(store.update_offset, Some(offset));
    assert_eq!(
        live.state.chats["general"].members[&user],
        MemberState::Banned
    );
    assert_eq!(sandbox.stats().calls("getChatMember"), 1);
    assert_eq!(sandbox.stats().calls("getUpdates"), 1);

    // With a webhook set, draining is skipped.
    let hook = ApiCall::new("setWebhook", None, telegram::Repeat::Safe)
        .param("url", "http://127.0.0.1:9/hook");
    client.call_value(&hook).await.unwrap();
    let drained = telegram::drain_updates(&client, &desired, &mut store)
        .await
        .unwrap();
    assert!(drained.webhook_active);
    sandbox.shutdown().await.unwrap();
}

/// `import` finds chats through the same drain as every other reader: the
/// chats the feed shows are found, and what the updates say is recorded in
/// the store exactly as `drain_updates` records it.
#[tokio::test]
async fn discovery_for_an_import_records_updates_like_every_reader() {
    let desired = acme();
    let world = exact_world(&desired);
    let sandbox = start(world.clone(), FaultOptions::default()).await;
    let client = client(&sandbox);
    let general = &desired.state.chats["general"];
    let owner = world.chats[&general.id].owner().unwrap();
    let user = *general
        .members
        .iter()
        .find(|(u, m)| **m == MemberState::Member && **u != owner)
        .unwrap()
        .0;

    // Subscribe both readers' stores (Telegram queues nothing before).
    let mut by_import = Store::default();
    let (found, _) = telegram::discover(&client, &mut by_import).await.unwrap();
    assert!(found.is_empty(), "{found:?}");
    let mut by_plan = by_import.clone();
    sandbox
        .act(
            owner,
            "banChatMember",
            json!({"chat_id": general.id, "user_id": user}),
        )
        .unwrap();

    let confirmed = by_import.update_offset;
    let peeked = telegram::read::peek_updates(&client, &desired, &mut by_plan)
        .await
        .unwrap();
    assert_eq!(peeked.updates, 1);
    by_plan.update_offset = confirmed;
    let (found, drained) = telegram::discover(&client, &mut by_import).await.unwrap();
    assert_eq!(found, BTreeSet::from([general.id]));
    assert_eq!(drained.updates, 1);
    let seen = &by_import.chat(general.id).unwrap().members[&user];
    assert_eq!(
        (&seen.status, seen.source.as_str()),
        (&MemberState::Banned, "update")
    );
    assert_eq!(
        by_import.chat(general.id),
        by_plan.chat(general.id),
        "both readers record the same"
    );
    assert!(by_import.update_offset > confirmed, "the offset moved on");

    // Confirmed: the next discovery finds the chat in the store, not the feed.
    let (again, drained) = telegram::discover(&client, &mut by_import).await.unwrap();
    assert_eq!(again, BTreeSet::from([general.id]));
    assert_eq!(drained.updates, 0);
    sandbox.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_chat_that_cannot_be_read_does_not_stop_the_others() {
    let desired = acme();
    let mut world = exact_world(&desired);
    let id = |k: &str| desired.state.chats[k].id;
    world
        .chats
        .get_mut(&id("platform"))
        .unwrap()
        .set_status(BOT_ID, Member::Left);
    world
        .chats
        .get_mut(&id("sre-oncall"))
        .unwrap()
        .set_status(BOT_ID, Member::Kicked { until_date: 0 });
    world.chats.get_mut(&id("leadership")).unwrap().migrated_to = Some(-1_009_999_000_003);
    world.chats.remove(&id("sales"));
    let sandbox = start(world, FaultOptions::default()).await;
    let client = client(&sandbox);
    let mut store = Store::default();
    let live = telegram::read(&client, &desired, &mut store, unix_now())
        .await
        .unwrap();

    let error = |k: &str| live.meta[k].error.clone().unwrap_or_default();
    assert!(
        error("platform").contains("Forbidden: bot is not a member of the supergroup chat"),
        "{}",
        error("platform")
    );
    assert!(
        error("platform").contains("hint: add the bot"),
        "{}",
        error("platform")
    );
    assert!(
        error("sre-oncall").contains("bot was kicked"),
        "{}",
        error("sre-oncall")
    );
    assert!(
        error("leadership").contains("this chat became a supergroup: set id to -1009999000003"),
        "{}",
        error("leadership")
    );
    assert!(
        error("sales").contains("chat not found"),
        "{}",
        error("sales")
    );
    for key in ["platform", "sre-oncall", "leadership", "sales"] {
        assert!(
            !live.state.chats.contains_key(key),
            "{key} is not in the state"
        );
        assert!(store.never_read(desired.state.chats[key].id));
    }
    let fine: Vec<&String> = live.state.chats.keys().collect();
    assert_eq!(fine.len(), desired.state.chats.len() - 4);
    assert!(
        live.meta
            .iter()
            .filter(|(k, _)| fine.contains(k))
            .all(|(_, m)| m.error.is_none())
    );
    sandbox.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_wrong_bot_is_refused() {
    let mut desired = acme();
    desired.bot = Some("someone_else_bot".into());
    let sandbox = start(exact_world(&acme()), FaultOptions::default()).await;
    let err = telegram::read(
        &client(&sandbox),
        &desired,
        &mut Store::default(),
        unix_now(),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the token belongs to @acme_org_bot, but the config names @someone_else_bot (org.telegram.bot)"
    );
    assert_eq!(sandbox.stats().requests, 1);
    sandbox.shutdown().await.unwrap();
}

const TOKEN: &str = "7000000001:AAgarbageSECRETtoken_0123456789";

#[tokio::test]
async fn garbage_answers_are_clear_errors() {
    let (url, hits) = garbage_server().await;
    let client = client_for(&url, TOKEN, fast());
    let chat = Some(-1001000000077);
    let cases = [
        (
            "getChat",
            "an HTML page (a proxy or gateway answered, not the Bot API)",
        ),
        ("getChatAdministrators", "truncated JSON"),
        ("getChatMemberCount", "ok:true without a result"),
        ("getChatMember", "not JSON"),
        (
            "getMyCommands",
            "the result does not have the expected shape",
        ),
        ("sendMessage", "the body is empty"),
    ];
    for (method, problem) in cases {
        let err = client
            .call::<Vec<Value>>(&ApiCall::read(method, chat))
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with(&format!("{method} in chat -1001000000077: ")),
            "{text}"
        );
        assert!(text.contains(problem), "{text}");
        assert!(text.contains("body: \""), "{text}");
        assert!(
            !text.contains("SECRET") && !format!("{err:?}").contains("SECRET"),
            "{text}"
        );
    }
    let hits = hits.lock().unwrap().clone();
    // A gateway's 5xx page is retried for reads; garbage with 200 is not.
    assert_eq!(hits["getChat"], fast().retry.max_attempts);
    assert_eq!(hits["getChatAdministrators"], 1);

    // Through read(): the chat gets the error, nothing panics.
    let desired = acme();
    let live = telegram::read_chats(
        &client,
        &desired,
        &mut Store::default(),
        unix_now(),
        &["platform".to_string()],
    )
    .await
    .unwrap();
    let error = live.meta["platform"].error.clone().unwrap();
    assert!(
        error.contains("getChat in chat -1001000000011") && error.contains("HTML"),
        "{error}"
    );
    assert!(
        error.contains("upstream failed for /bot[redacted]/getChat"),
        "{error}"
    );
}

/// Everything a failing run prints, logs or formats, with the token nowhere in it.
#[tokio::test]
async fn plain_http_only_to_loopback() {
    for url in [
        "http://api.telegram.org",
        "http://192.168.1.10:8081",
        "http://example.com/",
    ] {
        let err = telegram::resolve_api_url(Some(url), None, None).unwrap_err();
        assert!(err.to_string().contains("plain http"), "{err}");
    }
    // The env value loses to the flag, so a bad env value is never used.
    assert!(
        telegram::resolve_api_url(
            Some("https://api.telegram.org"),
            Some("http://evil.example"),
            None
        )
        .is_ok()
    );
    let sandbox = start(exact_world(&acme()), FaultOptions::default()).await;
    let port = sandbox.addr().port();
    for url in [
        format!("http://127.0.0.1:{port}"),
        format!("http://localhost:{port}/"),
    ] {
        let url =
            telegram::resolve_api_url(None, Some(&url), Some("https://api.telegram.org")).unwrap();
        let token = telegram::load_token(None, Some(sandbox.token())).unwrap();
        let client = telegram::Client::new(url, token, fast()).unwrap();
        let me: orgform::telegram::wire::User =
            client.call(&ApiCall::read("getMe", None)).await.unwrap();
        assert_eq!(me.id, BOT_ID);
    }
    sandbox.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_store_survives_a_save_and_load() {
    let desired = acme();
    let sandbox = start(exact_world(&desired), FaultOptions::default()).await;
    let mut store = Store::default();
    telegram::read(&client(&sandbox), &desired, &mut store, unix_now())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    orgform::store::file::save(dir.path(), &store).unwrap();
    assert_eq!(orgform::store::file::load(dir.path()).unwrap(), store);
    sandbox.shutdown().await.unwrap();
}
