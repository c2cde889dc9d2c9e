//! The user provider (src/mtproto) against the sandbox's MTProto front-end:
//! grammers underneath, the Bot API front-end to check what the bot sees of
//! the same world.

use std::net::SocketAddr;

use orgform::mtproto::{
    Invited, NewChat, PersonSetting, Standing, UserClient, UserProvider, UserSession,
};
use orgform::sandbox::mtproto::{MtprotoFault, MtprotoOptions, RunningMtproto, access_hash};
use orgform::sandbox::world::{Chat, Member, User};
use orgform::sandbox::{self, RunningSandbox, SandboxOptions, World};
use orgform::state::{ChatType, Right, Rights};

const BOT: i64 = 7_000_000_001;
const OWNER: i64 = 100_001;
const CHAT: i64 = -1_001_000_000_001;
const API_ID: i32 = 12345;

async fn rig(members: i64) -> (RunningSandbox, RunningMtproto, UserProvider) {
    let mut world = World::new(BOT, "acme_org_bot", format!("{BOT}:secret-token"));
    world.add_user(User::human(OWNER, "Olga"));
    let mut chat = Chat::new(CHAT, ChatType::Supergroup, "Engineering");
    chat.set_status(
        OWNER,
        Member::Creator {
            is_anonymous: false,
            custom_title: None,
        },
    );
    chat.set_status(
        BOT,
        Member::Administrator {
            rights: orgform::sandbox::world::full_rights(ChatType::Supergroup),
            custom_title: None,
            promoted_by: OWNER,
        },
    );
    for i in 0..members {
        world.add_user(User::human(200_000 + i, format!("Member {i}")));
        chat.set_status(200_000 + i, Member::plain());
    }
    world.add_chat(chat);
    let sandbox = sandbox::start(SandboxOptions::default(), world)
        .await
        .unwrap();
    let mtproto = sandbox
        .start_mtproto(MtprotoOptions::default())
        .await
        .unwrap();
    let key: [u8; 256] = std::array::from_fn(|i| (i as u8) ^ 0x5a);
    mtproto.authorize(key, Some(OWNER));
    let session = UserSession::new(2, mtproto.addr(), OWNER, key);
    let provider = UserProvider::new(UserClient::connect(&session, API_ID));
    (sandbox, mtproto, provider)
}

async fn bot_api(
    sandbox: &RunningSandbox,
    method: &str,
    params: serde_json::Value,
) -> serde_json::Value {
    reqwest::Client::new()
        .post(sandbox.method_url(method))
        .json(&params)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn creates_a_chat_and_brings_the_bot_in_with_its_rights() {
    let (sandbox, mtproto, provider) = rig(0).await;
    let id = provider
        .create_chat(&NewChat {
            kind: ChatType::Supergroup,
            title: "Incidents".into(),
            description: "Pages go here".into(),
            forum: true,
        })
        .await
        .unwrap();
    assert!(id.to_string().starts_with("-100"));
    let rights: Rights = [
        Right::ChangeInfo,
        Right::DeleteMessages,
        Right::RestrictMembers,
        Right::InviteUsers,
        Right::PinMessages,
        Right::ManageTopics,
        Right::PromoteMembers,
    ]
    .into();
    provider
        .promote(id, BOT, access_hash(BOT), &rights, None)
        .await
        .unwrap();
    let chat = bot_api(&sandbox, "getChat", serde_json::json!({"chat_id": id})).await;
    assert_eq!(chat["result"]["title"], "Incidents");
    assert_eq!(chat["result"]["is_forum"], true);
    let me = bot_api(
        &sandbox,
        "getChatMember",
        serde_json::json!({"chat_id": id, "user_id": BOT}),
    )
    .await;
    assert_eq!(me["result"]["status"], "administrator", "{me}");
    for right in [
        "can_change_info",
        "can_delete_messages",
        "can_restrict_members",
        "can_invite_users",
        "can_pin_messages",
        "can_manage_topics",
        "can_promote_members",
    ] {
        assert_eq!(me["result"][right], true, "{right}");
    }
    let members = provider.members(id).await.unwrap();
    assert_eq!(members[&OWNER], Standing::Owner);
    match &members[&BOT] {
        Standing::Admin { rights: got, .. } => {
            assert!(rights.iter().all(|r| got.contains(r)), "{got:?}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(mtproto.calls()["channels.createChannel"], 1);
}

#[tokio::test]
async fn lists_members_exactly_across_pages() {
    let (sandbox, mtproto, provider) = rig(450).await;
    // Someone left and someone was banned: neither is a member.
    sandbox
        .act(
            OWNER,
            "banChatMember",
            serde_json::json!({"chat_id": CHAT, "user_id": 200_003}),
        )
        .unwrap();
    let members = provider.members(CHAT).await.unwrap();
    assert_eq!(members.len(), 451, "450 + owner + bot - the banned one");
    assert!(!members.contains_key(&200_003));
    let world = sandbox.world_snapshot();
    let expected: Vec<i64> = world.chats[&CHAT]
        .members
        .iter()
        .filter(|(_, m)| m.is_present())
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(members.keys().copied().collect::<Vec<_>>(), expected);
    // 450 members in pages of 200: three pages, one dialogs lookup.
    assert_eq!(mtproto.calls()["channels.getParticipants"], 3);
    assert_eq!(mtproto.calls()["messages.getDialogs"], 1);
}

#[tokio::test]
async fn adds_people_directly_and_tells_privacy_and_peer_flood_apart() {
    let (sandbox, mtproto, provider) = rig(0).await;
    let mut world = sandbox.world_snapshot();
    for (id, private) in [
        (300_001, false),
        (300_002, true),
        (300_003, false),
        (300_004, false),
    ] {
        let mut u = User::human(id, "P");
        u.privacy_restricted = private;
        world.add_user(u);
    }
    sandbox.replace_world(world);
    let people: Vec<(i64, i64)> = [300_001, 300_002]
        .iter()
        .map(|id| (*id, access_hash(*id)))
        .collect();
    let invited = provider.invite(CHAT, &people).await.unwrap();
    assert_eq!(
        invited,
        Invited {
            added: vec![300_001],
            refused_by_privacy: vec![300_002],
            not_tried_after_peer_flood: vec![],
        }
    );
    // An older server fails the call instead: same outcome.
    mtproto.inject(MtprotoFault::Error {
        method: "channels.inviteToChannel".into(),
        code: 403,
        message: "USER_NOT_MUTUAL_CONTACT".into(),
    });
    mtproto.inject(MtprotoFault::Error {
        method: "channels.inviteToChannel".into(),
        code: 400,
        message: "PEER_FLOOD".into(),
    });
    let rest: Vec<(i64, i64)> = [300_003, 300_004, 300_001]
        .iter()
        .map(|id| (*id, access_hash(*id)))
        .collect();
    let invited = provider.invite(CHAT, &rest).await.unwrap();
    assert_eq!(invited.refused_by_privacy, vec![300_003]);
    assert_eq!(invited.not_tried_after_peer_flood, vec![300_004, 300_001]);
    assert!(invited.added.is_empty());
    let world = sandbox.world_snapshot();
    assert!(!world.chats[&CHAT].status(300_004, 0).is_present());
}

#[tokio::test]
async fn every_person_only_setting_is_set_read_back_and_undone() {
    let (sandbox, _mtproto, provider) = rig(1).await;
    let original = provider.settings(CHAT).await.unwrap();
    let changes = [
        PersonSetting::SlowMode(30),
        PersonSetting::ProtectedContent(true),
        PersonSetting::JoinByRequest(true),
        PersonSetting::JoinToSend(true),
        PersonSetting::HiddenMembers(true),
        PersonSetting::HistoryForNewMembers(false),
        PersonSetting::Forum(true),
        PersonSetting::AutoDelete(86_400),
    ];
    for change in changes {
        let undo = provider.set(CHAT, change).await.unwrap();
        assert_eq!(undo, original.current(change), "{change:?}");
        let now = provider.settings(CHAT).await.unwrap();
        assert_eq!(now.current(change), change, "{change:?} read back");
        // Setting it again is "not modified", which is done.
        provider.set(CHAT, change).await.unwrap();
        provider.set(CHAT, undo).await.unwrap();
        assert_eq!(
            provider.settings(CHAT).await.unwrap(),
            original,
            "{change:?} undone"
        );
    }
    // What the Bot API shows agrees with what the person set.
    provider
        .set(CHAT, PersonSetting::SlowMode(60))
        .await
        .unwrap();
    provider
        .set(CHAT, PersonSetting::ProtectedContent(true))
        .await
        .unwrap();
    let chat = bot_api(&sandbox, "getChat", serde_json::json!({"chat_id": CHAT})).await;
    assert_eq!(chat["result"]["slow_mode_delay"], 60);
    assert_eq!(chat["result"]["has_protected_content"], true);
    // A value Telegram does not offer is refused with its name.
    let err = provider
        .set(CHAT, PersonSetting::SlowMode(7))
        .await
        .unwrap_err();
    assert_eq!(err.name(), Some("SECONDS_INVALID"), "{err:?}");
}

#[tokio::test]
async fn flood_wait_is_waited_out_exactly_and_lost_answers_are_not_repeated() {
    let (_sandbox, mtproto, provider) = rig(2).await;
    mtproto.inject(MtprotoFault::FloodWait {
        method: "channels.getFullChannel".into(),
        seconds: 1,
    });
    let started = std::time::Instant::now();
    provider.settings(CHAT).await.unwrap();
    assert!(started.elapsed() >= std::time::Duration::from_secs(1));
    assert_eq!(mtproto.calls()["channels.getFullChannel"], 2);
    // Through the one pacer, like a 429: counted, and the pace slowed.
    let pace = provider.pace_stats();
    assert_eq!(pace.rate_limited, 1);
    assert!(
        pace.current_per_second < orgform::mtproto::provider::USER_PACE.start.unwrap(),
        "{pace:?}"
    );
    // A call made while the account waits goes out only after the wait.
    mtproto.inject(MtprotoFault::FloodWait {
        method: "channels.getFullChannel".into(),
        seconds: 1,
    });
    let started = std::time::Instant::now();
    let (a, b) = tokio::join!(provider.settings(CHAT), async {
        // Let the first call meet its FLOOD_WAIT first.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let listed = provider.members(CHAT).await;
        (listed, started.elapsed())
    });
    a.unwrap();
    let (listed, done_after) = b;
    listed.unwrap();
    assert!(
        done_after >= std::time::Duration::from_secs(1),
        "the other call was held by the pace: {done_after:?}"
    );
    assert_eq!(provider.pace_stats().rate_limited, 2);

    // The answer to a change is lost: the provider reports it and does not
    // send it again (the sandbox counted it once).
    mtproto.inject(MtprotoFault::Drop {
        method: "channels.toggleSlowMode".into(),
        after_call: true,
    });
    let err = provider
        .set(CHAT, PersonSetting::SlowMode(10))
        .await
        .unwrap_err();
    assert!(!err.did_not_run(), "{err:?}");
    assert_eq!(mtproto.calls()["channels.toggleSlowMode"], 1);
    // It did happen; reading shows it.
    assert_eq!(provider.settings(CHAT).await.unwrap().slow_mode, 10);
    let _: SocketAddr = mtproto.addr();
}

#[tokio::test]
async fn finds_a_chat_beyond_the_first_page_of_dialogs() {
    let (sandbox, mtproto, provider) = rig(0).await;
    let mut world = sandbox.world_snapshot();
    for i in 0..250 {
        let id = -1_003_000_000_000 - i;
        let mut chat = Chat::new(id, ChatType::Supergroup, format!("Team {i}"));
        chat.set_status(
            OWNER,
            Member::Creator {
                is_anonymous: false,
                custom_title: None,
            },
        );
        world.add_chat(chat);
    }
    sandbox.replace_world(world);
    // The world lists chats by id: this one is on the third page.
    let last = -1_003_000_000_000;
    let settings = provider.settings(last).await.unwrap();
    assert_eq!(settings.slow_mode, 0);
    assert_eq!(mtproto.calls()["messages.getDialogs"], 3);
    // A chat the account is not in is not found, after every page.
    let err = provider.settings(-1_009_000_000_000).await.unwrap_err();
    assert_eq!(err.name(), Some("CHANNEL_INVALID"), "{err:?}");
}
