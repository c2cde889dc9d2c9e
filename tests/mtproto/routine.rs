//! The routine half of the user provider (src/mtproto/routine.rs) against
//! the sandbox's MTProto front-end, one change at a time: "not modified"
//! is done, Telegram's refusals come back under their MTProto names, the
//! before-state is read with one targeted call, and a change made over
//! MTProto is what the Bot API front-end shows.

use orgform::apply::provider::{MemberSnapshot, Observed};
use orgform::mtproto::{UserClient, UserProvider, UserSession};
use orgform::plan::change::{Action, Change, Op, Step};
use orgform::plan::value::Value;
use orgform::sandbox::mtproto::{MtprotoOptions, RunningMtproto};
use orgform::sandbox::world::{Chat, Member, User};
use orgform::sandbox::{self, RunningSandbox, SandboxOptions, World};
use orgform::state::{ChatType, Permission, Right};

const BOT: i64 = 7_000_000_001;
const OWNER: i64 = 100_001;
const MEMBER: i64 = 100_002;
const GONE: i64 = 100_003;
const CHAT: i64 = -1_001_000_000_001;

async fn rig() -> (RunningSandbox, RunningMtproto, UserProvider, UserProvider) {
    let mut world = World::new(BOT, "acme_org_bot", format!("{BOT}:secret-token"));
    world.add_user(User::human(OWNER, "Olga"));
    world.add_user(User::human(MEMBER, "Max"));
    world.add_user(User::human(GONE, "Gus"));
    let mut chat = Chat::new(CHAT, ChatType::Supergroup, "Engineering");
    chat.set_status(
        OWNER,
        Member::Creator {
            is_anonymous: false,
            custom_title: None,
        },
    );
    // Members may not change the chat's info (a member with that
    // permission may, as in Telegram).
    chat.permissions = defaults();
    chat.set_status(MEMBER, Member::plain());
    chat.set_status(BOT, Member::plain());
    world.add_chat(chat);
    let sandbox = sandbox::start(SandboxOptions::default(), world)
        .await
        .unwrap();
    let mtproto = sandbox
        .start_mtproto(MtprotoOptions::default())
        .await
        .unwrap();
    let connect = |user: i64, seed: u8| {
        let key: [u8; 256] = std::array::from_fn(|i| (i as u8).wrapping_add(seed) ^ 0x3c);
        mtproto.authorize(key, Some(user));
        let session = UserSession::new(2, mtproto.addr(), user, key);
        UserProvider::new(UserClient::connect(&session, 12345)).without_bot()
    };
    let owner = connect(OWNER, 1);
    let member = connect(MEMBER, 2);
    (sandbox, mtproto, owner, member)
}

fn defaults() -> orgform::state::Permissions {
    Permission::all()
        .into_iter()
        .filter(|p| *p != Permission::ChangeInfo)
        .collect()
}

fn change(op: Op) -> Change {
    Change {
        address: orgform::state::Address::chat("eng"),
        chat: "eng".into(),
        chat_id: CHAT,
        chat_type: ChatType::Supergroup,
        action: Action::Update,
        step: Step::Settings,
        reversible: op.reversible(),
        op,
        before: Value::absent(),
        after: Value::absent(),
        why: vec![],
        person: None,
        undeclared: false,
        seat: None,
    }
}

#[tokio::test]
async fn not_modified_is_done_and_refusals_keep_telegrams_names() {
    let (sandbox, mtproto, owner, member) = rig().await;
    let same = owner
        .run_routine(&change(Op::SetTitle {
            title: "Engineering".into(),
        }))
        .await
        .unwrap();
    assert!(same.not_modified, "{same:?}");
    let same = owner
        .run_routine(&change(Op::SetPermissions {
            permissions: defaults(),
        }))
        .await
        .unwrap();
    assert!(same.not_modified, "{same:?}");

    // A plain member may not change the chat or promote anyone.
    let refused = member
        .run_routine(&change(Op::SetTitle {
            title: "Mine now".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(refused.name(), Some("CHAT_ADMIN_REQUIRED"), "{refused}");
    assert!(refused.did_not_run());
    let refused = member
        .run_routine(&change(Op::Promote {
            user: OWNER,
            rights: [Right::DeleteMessages].into_iter().collect(),
        }))
        .await
        .unwrap_err();
    assert!(refused.did_not_run(), "{refused}");
    assert_eq!(sandbox.world_snapshot().chats[&CHAT].title, "Engineering");

    // Lifting a restriction of someone who is not there.
    let world_gone = owner
        .run_routine(&change(Op::Unrestrict { user: GONE }))
        .await
        .unwrap_err();
    assert!(
        matches!(
            world_gone.name(),
            Some("USER_ID_INVALID" | "USER_NOT_PARTICIPANT")
        ),
        "{world_gone}"
    );
    assert!(mtproto.calls().contains_key("channels.editTitle"));
}

#[tokio::test]
async fn the_before_state_is_read_and_changes_show_through_the_bot_api() {
    let (sandbox, _mtproto, owner, _member) = rig().await;
    let before = owner
        .observe_routine(&change(Op::Promote {
            user: MEMBER,
            rights: [Right::PinMessages].into_iter().collect(),
        }))
        .await
        .unwrap();
    assert!(
        matches!(
            before,
            Observed::Member {
                member: MemberSnapshot::Member,
                ..
            }
        ),
        "{before:?}"
    );
    owner
        .run_routine(&change(Op::Promote {
            user: MEMBER,
            rights: [Right::PinMessages, Right::ManageChat]
                .into_iter()
                .collect(),
        }))
        .await
        .unwrap();
    owner
        .run_routine(&change(Op::SetAdminTitle {
            user: MEMBER,
            title: "Pinner".into(),
        }))
        .await
        .unwrap();
    let seen: serde_json::Value = reqwest::Client::new()
        .post(sandbox.method_url("getChatMember"))
        .json(&serde_json::json!({"chat_id": CHAT, "user_id": MEMBER}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(seen["result"]["status"], "administrator", "{seen}");
    assert_eq!(seen["result"]["custom_title"], "Pinner");
    assert_eq!(seen["result"]["can_pin_messages"], true);
    let after = owner
        .observe_routine(&change(Op::Demote { user: MEMBER }))
        .await
        .unwrap();
    match after {
        Observed::Member {
            member: MemberSnapshot::Admin { rights, title, .. },
            ..
        } => {
            assert!(rights.contains(&Right::PinMessages));
            assert_eq!(title.as_deref(), Some("Pinner"));
        }
        other => panic!("{other:?}"),
    }
    // Someone who was never in the chat reads as absent.
    let absent = owner
        .observe_routine(&change(Op::Ban { user: GONE }))
        .await
        .unwrap();
    assert!(
        matches!(
            absent,
            Observed::Member {
                member: MemberSnapshot::Absent,
                ..
            }
        ),
        "{absent:?}"
    );
}

/// Telegram lists at most 10,000 members of a large chat: declared people
/// beyond that are found by a search on their username, so the reader
/// still knows exactly whether they are in the chat.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_people_beyond_the_capped_list_are_searched_by_username() {
    const LATE: i64 = 900_001;
    const NEVER: i64 = 900_002;
    let mut world = World::new(BOT, "acme_org_bot", format!("{BOT}:secret-token"));
    world.add_user(User::human(OWNER, "Olga"));
    let mut chat = Chat::new(CHAT, ChatType::Supergroup, "Everyone");
    chat.set_status(
        OWNER,
        Member::Creator {
            is_anonymous: false,
            custom_title: None,
        },
    );
    for i in 0..10_050 {
        world.add_user(User::human(200_000 + i, format!("Member {i}")));
        chat.set_status(200_000 + i, Member::plain());
    }
    let mut late = User::human(LATE, "Lately");
    late.username = Some("late_joiner".into());
    world.add_user(late);
    chat.set_status(LATE, Member::plain());
    let mut never = User::human(NEVER, "Never");
    never.username = Some("never_here".into());
    world.add_user(never);
    world.add_chat(chat);
    let sandbox = sandbox::start(SandboxOptions::default(), world)
        .await
        .unwrap();
    let mtproto = sandbox
        .start_mtproto(MtprotoOptions::default())
        .await
        .unwrap();
    let key: [u8; 256] = std::array::from_fn(|i| (i as u8).wrapping_add(9) ^ 0x77);
    mtproto.authorize(key, Some(OWNER));
    let session = UserSession::new(2, mtproto.addr(), OWNER, key);
    let owner = UserProvider::new(UserClient::connect(&session, 12345)).without_bot();

    let mut desired = orgform::state::DesiredState::default();
    let mut want = orgform::state::ChatState::new(CHAT, ChatType::Supergroup);
    for user in [LATE, NEVER] {
        want.members
            .insert(user, orgform::state::MemberState::Member);
    }
    desired.state.chats.insert("all".into(), want);
    for (user, username) in [(LATE, "late_joiner"), (NEVER, "never_here")] {
        desired.people.insert(
            user,
            orgform::state::PersonRef {
                handle: username.into(),
                name: None,
                username: Some(username.into()),
                offboarded: false,
            },
        );
    }
    let mut store = orgform::store::Store::default();
    let live = orgform::mtproto::live::read_chats(
        &owner,
        &desired,
        &mut store,
        1_900_000_000,
        &["all".to_string()],
    )
    .await
    .unwrap();
    let members = &live.state.chats["all"].members;
    assert_eq!(
        members.get(&LATE),
        Some(&orgform::state::MemberState::Member),
        "found by search beyond the 10,000 listed"
    );
    assert_eq!(
        members.get(&NEVER),
        Some(&orgform::state::MemberState::Absent)
    );
    let listed = members
        .values()
        .filter(|m| **m == orgform::state::MemberState::Member)
        .count();
    assert!(listed <= 10_001, "{listed}");
}
