//! grammers against the sandbox's MTProto front-end: the envelope, the
//! session's service messages, signing in (also through `orgform login`
//! and `logout`), faults, and the same world as the Bot API front-end.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::sync::Arc;

use grammers_client::Client;
use grammers_mtsender::{ConnectionParams, InvocationError, NoRetries, SenderPool};
use grammers_session::SessionData;
use grammers_session::storages::MemorySession;
use grammers_session::types::DcOption;
use grammers_tl_types as tl;
use orgform::sandbox::mtproto::{MtprotoFault, MtprotoOptions, RunningMtproto};
use orgform::sandbox::world::{Chat, Member, User};
use orgform::sandbox::{self, RunningSandbox, SandboxOptions, World};
use orgform::state::ChatType;

const BOT: i64 = 7_000_000_001;
const OWNER: i64 = 100_001;
const CHAT: i64 = -1_001_000_000_001;
const API_ID: i32 = 12345;
const API_HASH: &str = "0123456789abcdef0123456789abcdef";

fn world(members: i64) -> World {
    let mut world = World::new(BOT, "acme_org_bot", format!("{BOT}:secret-token"));
    let mut owner = User::human(OWNER, "Olga");
    owner.phone = Some("+44 7700 900001".into());
    world.add_user(owner);
    let mut chat = Chat::new(CHAT, ChatType::Supergroup, "Engineering");
    chat.set_status(
        OWNER,
        Member::Creator {
            is_anonymous: false,
            custom_title: None,
        },
    );
    for i in 0..members {
        let id = 200_000 + i;
        world.add_user(User::human(id, format!("Member {i}")));
        chat.set_status(id, Member::plain());
    }
    world.add_chat(chat);
    world
}

struct Rig {
    sandbox: RunningSandbox,
    mtproto: RunningMtproto,
}

async fn rig(members: i64) -> Rig {
    let sandbox = sandbox::start(SandboxOptions::default(), world(members))
        .await
        .unwrap();
    let mtproto = sandbox
        .start_mtproto(MtprotoOptions::default())
        .await
        .unwrap();
    Rig { sandbox, mtproto }
}

fn key(seed: u8) -> [u8; 256] {
    std::array::from_fn(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
}

/// A grammers client whose session carries `auth_key` for DC 2 at the
/// front-end's address, so it skips the key exchange. No automatic
/// retries: orgform never lets a library repeat a call on its own.
pub(crate) fn client(
    addr: SocketAddr,
    auth_key: [u8; 256],
) -> (Client, tokio::task::JoinHandle<()>) {
    let SocketAddr::V4(v4) = addr else {
        panic!("127.0.0.1")
    };
    let data = SessionData {
        home_dc: 2,
        dc_options: HashMap::from([(
            2,
            DcOption {
                id: 2,
                ipv4: SocketAddrV4::new(Ipv4Addr::LOCALHOST, v4.port()),
                ipv6: SocketAddrV6::new(Ipv4Addr::LOCALHOST.to_ipv6_mapped(), v4.port(), 0, 0),
                auth_key: Some(auth_key),
            },
        )]),
        ..SessionData::default()
    };
    let session = Arc::new(MemorySession::from(data));
    let params = ConnectionParams {
        retry_policy: Box::new(NoRetries),
        ..Default::default()
    };
    let pool = SenderPool::with_configuration(session, API_ID, params);
    let client = Client::new(pool.handle);
    let runner = tokio::spawn(pool.runner.run());
    (client, runner)
}

fn input_channel(chat: i64) -> tl::enums::InputChannel {
    let id = -chat - 1_000_000_000_000;
    tl::enums::InputChannel::Channel(tl::types::InputChannel {
        channel_id: id,
        access_hash: orgform::sandbox::mtproto::access_hash(id),
    })
}

async fn participants(client: &Client, offset: i32, limit: i32) -> (i32, Vec<i64>) {
    let tl::enums::channels::ChannelParticipants::Participants(page) = client
        .invoke(&tl::functions::channels::GetParticipants {
            channel: input_channel(CHAT),
            filter: tl::enums::ChannelParticipantsFilter::ChannelParticipantsRecent,
            offset,
            limit,
            hash: 0,
        })
        .await
        .unwrap()
    else {
        panic!("participants")
    };
    let ids = page
        .participants
        .iter()
        .map(|p| match p {
            tl::enums::ChannelParticipant::Participant(p) => p.user_id,
            tl::enums::ChannelParticipant::ParticipantSelf(p) => p.user_id,
            tl::enums::ChannelParticipant::Creator(p) => p.user_id,
            tl::enums::ChannelParticipant::Admin(p) => p.user_id,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    (page.count, ids)
}

#[tokio::test]
async fn a_seeded_session_connects_and_reads_the_same_world() {
    let rig = rig(3).await;
    rig.mtproto.authorize(key(1), Some(OWNER));
    let (client, runner) = client(rig.mtproto.addr(), key(1));

    assert!(client.is_authorized().await.unwrap());
    let tl::enums::Config::Config(config) = client
        .invoke(&tl::functions::help::GetConfig {})
        .await
        .unwrap();
    assert_eq!(config.this_dc, 2);
    let tl::enums::DcOption::Option(dc) = &config.dc_options[0];
    assert_eq!(dc.port, i32::from(rig.mtproto.addr().port()));

    let (count, ids) = participants(&client, 0, 100).await;
    assert_eq!(count, 4);
    let world = rig.sandbox.world_snapshot();
    let mut expected: Vec<i64> = world.chats[&CHAT].members.keys().copied().collect();
    let mut got = ids.clone();
    expected.sort();
    got.sort();
    assert_eq!(got, expected);

    // A change over the Bot API door is what the MTProto door reads next.
    rig.sandbox
        .act(
            OWNER,
            "banChatMember",
            serde_json::json!({"chat_id": CHAT, "user_id": 200_001}),
        )
        .unwrap();
    let (count, ids) = participants(&client, 0, 100).await;
    assert_eq!(count, 3);
    assert!(!ids.contains(&200_001));

    let service = rig.mtproto.service();
    assert_eq!(service.new_sessions, 1, "{service:?}");
    // grammers starts with salt 0: the first message meets bad_server_salt
    // and is sent again with the salt the sandbox gave.
    assert!(service.bad_salts >= 1, "{service:?}");
    assert_eq!(rig.mtproto.calls()["channels.getParticipants"], 2);
    drop(client);
    runner.abort();
    rig.mtproto.shutdown().await;
}

#[tokio::test]
async fn paging_gzip_containers_and_pings() {
    let rig = rig(450).await;
    rig.mtproto.authorize(key(2), Some(OWNER));
    let (client, _runner) = client(rig.mtproto.addr(), key(2));

    // Pages of at most 200, in a stable order, covering everyone once.
    let mut all = Vec::new();
    let mut offset = 0;
    loop {
        let (count, ids) = participants(&client, offset, 1000).await;
        assert_eq!(count, 451);
        assert!(ids.len() <= 200);
        if ids.is_empty() {
            break;
        }
        offset += ids.len() as i32;
        all.extend(ids);
    }
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 451);
    // Those pages are large: the sandbox sent them gzip_packed and grammers
    // unpacked them (the ids above). A large request goes packed the other way.
    let many: Vec<_> = (0..120)
        .map(|i| {
            tl::enums::InputUser::User(tl::types::InputUser {
                user_id: 200_000 + i,
                access_hash: orgform::sandbox::mtproto::access_hash(200_000 + i),
            })
        })
        .collect();
    let users = client
        .invoke(&tl::functions::users::GetUsers { id: many })
        .await
        .unwrap();
    assert_eq!(users.len(), 120);
    assert!(
        rig.mtproto.service().gzipped >= 1,
        "{:?}",
        rig.mtproto.service()
    );

    // Calls made together travel in one container and all get their answer.
    let calls = (0..12).map(|_| client.invoke(&tl::functions::updates::GetState {}));
    let answers = futures_util::future::join_all(calls).await;
    assert!(answers.iter().all(Result::is_ok));
    assert!(
        rig.mtproto.service().containers >= 1,
        "{:?}",
        rig.mtproto.service()
    );

    let tl::enums::Pong::Pong(pong) = client
        .invoke(&tl::functions::Ping { ping_id: 4242 })
        .await
        .unwrap();
    assert_eq!(pong.ping_id, 4242);
    assert!(rig.mtproto.service().pings >= 1);
    // The client acknowledges the sandbox's content-related messages.
    client
        .invoke(&tl::functions::updates::GetState {})
        .await
        .unwrap();
    assert!(
        rig.mtproto.service().acks >= 1,
        "{:?}",
        rig.mtproto.service()
    );
}

#[tokio::test]
async fn keys_never_agreed_and_keys_without_a_login_are_refused() {
    let rig = rig(0).await;
    rig.mtproto.authorize(key(3), None);
    let (stranger, _r1) = client(rig.mtproto.addr(), key(9));
    let err = stranger
        .invoke(&tl::functions::updates::GetState {})
        .await
        .unwrap_err();
    assert!(!matches!(err, InvocationError::Rpc(_)), "{err:?}");
    assert!(rig.mtproto.service().unknown_keys >= 1);

    let (anonymous, _r2) = client(rig.mtproto.addr(), key(3));
    assert!(!anonymous.is_authorized().await.unwrap());
    let err = anonymous
        .invoke(&tl::functions::channels::GetParticipants {
            channel: input_channel(CHAT),
            filter: tl::enums::ChannelParticipantsFilter::ChannelParticipantsRecent,
            offset: 0,
            limit: 10,
            hash: 0,
        })
        .await
        .unwrap_err();
    assert!(err.is("AUTH_KEY_UNREGISTERED"), "{err:?}");
}

#[tokio::test]
async fn phone_login_binds_the_key_and_logout_unbinds_it() {
    let rig = rig(0).await;
    rig.mtproto.authorize(key(4), None);
    let (client, _r) = client(rig.mtproto.addr(), key(4));
    let token = client
        .request_login_code("+447700900001", API_HASH)
        .await
        .unwrap();
    let wrong = client.sign_in(&token, "00000x").await.unwrap_err();
    assert!(
        matches!(wrong, grammers_client::SignInError::InvalidCode),
        "{wrong:?}"
    );
    let code = rig.mtproto.login_code("447700900001").unwrap();
    let user = client.sign_in(&token, &code).await.unwrap();
    assert_eq!(user.id().bare_id(), Some(OWNER));
    assert_eq!(rig.mtproto.signed_in(key(4)), Some(OWNER));
    assert!(client.is_authorized().await.unwrap());
    client.sign_out().await.unwrap();
    assert_eq!(rig.mtproto.signed_in(key(4)), None);
}

#[tokio::test]
async fn flood_wait_and_dropped_connections_are_injectable() {
    let rig = rig(2).await;
    rig.mtproto.authorize(key(5), Some(OWNER));
    let (client, _r) = client(rig.mtproto.addr(), key(5));
    assert!(client.is_authorized().await.unwrap());

    rig.mtproto.inject(MtprotoFault::FloodWait {
        method: "channels.getParticipants".into(),
        seconds: 7,
    });
    let err = client
        .invoke(&tl::functions::channels::GetParticipants {
            channel: input_channel(CHAT),
            filter: tl::enums::ChannelParticipantsFilter::ChannelParticipantsRecent,
            offset: 0,
            limit: 10,
            hash: 0,
        })
        .await
        .unwrap_err();
    match &err {
        InvocationError::Rpc(rpc) => {
            assert_eq!(rpc.code, 420);
            assert_eq!(rpc.name, "FLOOD_WAIT");
            assert_eq!(rpc.value, Some(7));
        }
        other => panic!("{other:?}"),
    }
    // Only once: the next call goes through.
    assert_eq!(participants(&client, 0, 10).await.0, 3);

    // Dropped after the call ran: the client sees a lost answer, the
    // sandbox counted the call, and the next call reconnects.
    rig.mtproto.inject(MtprotoFault::Drop {
        method: "updates.getState".into(),
        after_call: true,
    });
    let before = rig.mtproto.calls()["updates.getState"];
    let err = client
        .invoke(&tl::functions::updates::GetState {})
        .await
        .unwrap_err();
    assert!(!matches!(err, InvocationError::Rpc(_)), "{err:?}");
    assert_eq!(rig.mtproto.calls()["updates.getState"], before + 1);
    assert!(rig.mtproto.service().dropped >= 1);
    let connections = rig.mtproto.service().connections;
    assert!(client.is_authorized().await.unwrap());
    assert!(rig.mtproto.service().connections > connections);
}

#[tokio::test]
async fn a_channel_created_over_mtproto_is_the_bots_too() {
    let rig = rig(0).await;
    rig.mtproto.authorize(key(6), Some(OWNER));
    let (client, _r) = client(rig.mtproto.addr(), key(6));
    let updates = client
        .invoke(&tl::functions::channels::CreateChannel {
            broadcast: false,
            megagroup: true,
            for_import: false,
            forum: true,
            title: "Incidents".into(),
            about: "Where pages go".into(),
            geo_point: None,
            address: None,
            ttl_period: None,
        })
        .await
        .unwrap();
    let tl::enums::Updates::Updates(updates) = updates else {
        panic!("updates")
    };
    let tl::enums::Chat::Channel(channel) = &updates.chats[0] else {
        panic!("a channel")
    };
    assert!(channel.creator && channel.megagroup && channel.forum);
    let input = tl::enums::InputChannel::Channel(tl::types::InputChannel {
        channel_id: channel.id,
        access_hash: channel.access_hash.unwrap(),
    });
    let bot = tl::enums::InputUser::User(tl::types::InputUser {
        user_id: BOT,
        access_hash: orgform::sandbox::mtproto::access_hash(BOT),
    });
    let mut rights = tl::types::ChatAdminRights {
        change_info: true,
        post_messages: false,
        edit_messages: false,
        delete_messages: true,
        ban_users: true,
        invite_users: true,
        pin_messages: true,
        add_admins: false,
        anonymous: false,
        manage_call: false,
        other: true,
        manage_topics: true,
        post_stories: false,
        edit_stories: false,
        delete_stories: false,
        manage_direct_messages: false,
        manage_ranks: false,
        manage_linked_peers: false,
        manage_welcome_messages: false,
    };
    client
        .invoke(&tl::functions::channels::EditAdmin {
            channel: input.clone(),
            user_id: bot.clone(),
            admin_rights: tl::enums::ChatAdminRights::Rights(rights.clone()),
            rank: Some("orgform".into()),
        })
        .await
        .unwrap();

    // The Bot API door sees the chat and the bot's rights.
    let chat_id = -channel.id - 1_000_000_000_000;
    let http = reqwest::Client::new();
    let admins: serde_json::Value = http
        .post(rig.sandbox.method_url("getChatAdministrators"))
        .json(&serde_json::json!({"chat_id": chat_id}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let me = admins["result"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["user"]["id"] == BOT)
        .expect("the bot is an administrator");
    assert_eq!(me["status"], "administrator");
    assert_eq!(me["custom_title"], "orgform");
    for right in [
        "can_change_info",
        "can_delete_messages",
        "can_restrict_members",
        "can_invite_users",
        "can_pin_messages",
        "can_manage_topics",
    ] {
        assert_eq!(me[right], true, "{right}: {me}");
    }
    assert_eq!(me["can_promote_members"], false);

    // Privacy refusals are listed, not thrown; PEER_FLOOD stops the call.
    let mut shy = User::human(300_001, "Shy");
    shy.privacy_restricted = true;
    let mut world = rig.sandbox.world_snapshot();
    world.add_user(shy);
    world.add_user(User::human(300_002, "Open"));
    rig.sandbox.replace_world(world);
    let input_user = |id: i64| {
        tl::enums::InputUser::User(tl::types::InputUser {
            user_id: id,
            access_hash: orgform::sandbox::mtproto::access_hash(id),
        })
    };
    let tl::enums::messages::InvitedUsers::Users(invited) = client
        .invoke(&tl::functions::channels::InviteToChannel {
            channel: input.clone(),
            users: vec![input_user(300_001), input_user(300_002)],
        })
        .await
        .unwrap();
    let missing: Vec<i64> = invited
        .missing_invitees
        .iter()
        .map(|tl::enums::MissingInvitee::Invitee(m)| m.user_id)
        .collect();
    assert_eq!(missing, vec![300_001]);
    let world = rig.sandbox.world_snapshot();
    assert!(world.chats[&chat_id].members[&300_002].is_present());
    rig.mtproto.inject(MtprotoFault::Error {
        method: "channels.inviteToChannel".into(),
        code: 400,
        message: "PEER_FLOOD".into(),
    });
    let err = client
        .invoke(&tl::functions::channels::InviteToChannel {
            channel: input.clone(),
            users: vec![input_user(300_001)],
        })
        .await
        .unwrap_err();
    assert!(err.is("PEER_FLOOD"), "{err:?}");

    // A forged access hash is refused.
    rights.change_info = false;
    let err = client
        .invoke(&tl::functions::channels::EditAdmin {
            channel: tl::enums::InputChannel::Channel(tl::types::InputChannel {
                channel_id: channel.id,
                access_hash: 1,
            }),
            user_id: bot,
            admin_rights: tl::enums::ChatAdminRights::Rights(rights),
            rank: None,
        })
        .await
        .unwrap_err();
    assert!(err.is("CHANNEL_INVALID"), "{err:?}");
}

#[tokio::test]
async fn hostile_bytes_close_the_connection_and_nothing_else() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rig = rig(1).await;
    rig.mtproto.authorize(key(7), Some(OWNER));
    let hostile: Vec<Vec<u8>> = vec![
        // A frame claiming 2 GiB.
        0x7fff_ffffi32.to_le_bytes().to_vec(),
        // A well-formed frame with a bad crc.
        [
            16i32.to_le_bytes(),
            0i32.to_le_bytes(),
            [1, 2, 3, 4],
            [0, 0, 0, 0],
        ]
        .concat(),
        // Key id 0 (a key exchange the sandbox does not do), framed right.
        {
            let mut payload = vec![0u8; 8];
            payload.extend_from_slice(&[0; 12]);
            let len = (payload.len() + 12) as i32;
            let mut frame = [len.to_le_bytes(), 0i32.to_le_bytes()].concat();
            frame.extend_from_slice(&payload);
            let crc = crc32(&frame);
            frame.extend_from_slice(&crc.to_le_bytes());
            frame
        },
        // Escape codes and HTML instead of a protocol.
        b"\x1b[31m<script>alert(1)</script>\x1b[0m".to_vec(),
    ];
    for bytes in hostile {
        let mut stream = tokio::net::TcpStream::connect(rig.mtproto.addr())
            .await
            .unwrap();
        stream.write_all(&bytes).await.unwrap();
        let mut answer = Vec::new();
        let read = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            stream.read_to_end(&mut answer),
        )
        .await;
        // Either closed at once, or (for the escape codes, which read as an
        // incomplete frame) still waiting for the rest: never an answer.
        match read {
            Ok(_) => assert!(answer.is_empty() || answer == (-404i32).to_le_bytes()),
            Err(_) => assert!(answer.is_empty()),
        }
    }
    let (client, _r) = client(rig.mtproto.addr(), key(7));
    assert!(client.is_authorized().await.unwrap());
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// `orgform login` and `logout` as a user runs them, against the sandbox's
/// MTProto front-end (a key agreed in advance stands in for the exchange).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_and_logout_commands_keep_the_session_secret() {
    use std::os::unix::fs::PermissionsExt;
    let rig = rig(0).await;
    let mut world = rig.sandbox.world_snapshot();
    let mut tester = User::human(100_077, "Tess");
    tester.phone = Some("9996621234".into());
    world.add_user(tester);
    // Make the tester a member so later commands have something to read.
    world
        .chats
        .get_mut(&CHAT)
        .unwrap()
        .set_status(100_077, Member::plain());
    rig.sandbox.replace_world(world);
    rig.mtproto.authorize(key(11), None);
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("agreed.key");
    std::fs::write(&key_file, hex(&key(11))).unwrap();
    let session_file = dir.path().join("state").join("user.session");
    let addr = rig.mtproto.addr().to_string();

    let run = |args: Vec<String>, stdin: &'static str| {
        let dir = dir.path().to_path_buf();
        tokio::task::spawn_blocking(move || {
            crate::hermetic::orgform(&dir.join("state"))
                .args(args)
                .current_dir(&dir)
                .env("ORGFORM_TELEGRAM_API_ID", API_ID.to_string())
                .env("ORGFORM_TELEGRAM_API_HASH", API_HASH)
                .write_stdin(stdin)
                .output()
                .unwrap()
        })
    };
    let login_args = |extra: &[&str]| {
        let mut args: Vec<String> = [
            "login",
            "--phone",
            "+999 66 2 1234",
            "--server",
            &addr,
            "--auth-key-file",
            key_file.to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };

    // A wrong code: nothing is saved, the key stays signed out.
    let wrong = run(
        login_args(&["--session-file", session_file.to_str().unwrap()]),
        "11111\n",
    )
    .await
    .unwrap();
    assert_eq!(wrong.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("login failed"));
    assert!(!session_file.exists());
    assert_eq!(rig.mtproto.signed_in(key(11)), None);

    let login = run(
        login_args(&["--session-file", session_file.to_str().unwrap()]),
        "22222\n",
    )
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&login.stderr).to_string();
    assert_eq!(login.status.code(), Some(0), "{stderr}");
    assert_eq!(rig.mtproto.signed_in(key(11)), Some(100_077));
    let mode = std::fs::metadata(&session_file)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let dir_mode = std::fs::metadata(session_file.parent().unwrap())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(dir_mode & 0o777, 0o700);
    let secret = std::fs::read_to_string(&session_file).unwrap();
    let key_hex = hex(&key(11));
    assert!(secret.contains(&key_hex));
    // Neither the session nor any part of its key shows in the output.
    for output in [&login.stdout, &login.stderr] {
        let text = String::from_utf8_lossy(output);
        assert!(!text.contains(secret.trim()));
        assert!(!text.contains(&key_hex[..32]), "{text}");
    }

    // Logging in over an existing session is refused before a code is sent.
    let again = run(
        login_args(&["--session-file", session_file.to_str().unwrap()]),
        "22222\n",
    )
    .await
    .unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds a session"));

    // A session file others can read is refused.
    std::fs::set_permissions(&session_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let loose = run(
        vec![
            "logout".into(),
            "--session-file".into(),
            session_file.to_str().unwrap().into(),
        ],
        "",
    )
    .await
    .unwrap();
    assert_eq!(loose.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&loose.stderr).contains("readable by others"));
    std::fs::set_permissions(&session_file, std::fs::Permissions::from_mode(0o600)).unwrap();

    let logout = run(
        vec![
            "logout".into(),
            "--session-file".into(),
            session_file.to_str().unwrap().into(),
        ],
        "",
    )
    .await
    .unwrap();
    assert_eq!(
        logout.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&logout.stderr)
    );
    assert!(!session_file.exists());
    assert_eq!(rig.mtproto.signed_in(key(11)), None);

    // --print-session: the session is the one line on stdout, once.
    let printed = run(login_args(&["--print-session"]), "22222\n")
        .await
        .unwrap();
    assert_eq!(printed.status.code(), Some(0));
    let stdout = String::from_utf8(printed.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1);
    assert!(stdout.starts_with("orgform-session/1/2/100077/"));
    assert!(!String::from_utf8_lossy(&printed.stderr).contains(&key_hex[..32]));
    assert!(!session_file.exists());
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `orgform login` with two-step verification, on its non-interactive path
/// (no terminal: the code and the password are lines on stdin): the
/// sandbox offers an SRP challenge (account.getPassword) and checks the
/// proof grammers computes (auth.checkPassword); the password itself never
/// crosses the wire and never shows in the output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_with_a_two_step_password_is_checked_over_srp() {
    let rig = rig(0).await;
    let mut world = rig.sandbox.world_snapshot();
    let mut tester = User::human(100_078, "Tom");
    tester.phone = Some("9996631234".into());
    tester.two_factor_password = Some("hunter2-correct".into());
    world.add_user(tester);
    rig.sandbox.replace_world(world);
    rig.mtproto.authorize(key(12), None);
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("agreed.key");
    std::fs::write(&key_file, hex(&key(12))).unwrap();
    let session_file = dir.path().join("state").join("user.session");
    let addr = rig.mtproto.addr().to_string();
    let run = |stdin: &'static str| {
        let dir = dir.path().to_path_buf();
        let args: Vec<String> = [
            "login",
            "--phone",
            "+999 66 3 1234",
            "--server",
            &addr,
            "--auth-key-file",
            key_file.to_str().unwrap(),
            "--session-file",
            session_file.to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        tokio::task::spawn_blocking(move || {
            crate::hermetic::orgform(&dir.join("state"))
                .args(args)
                .current_dir(&dir)
                .env("ORGFORM_TELEGRAM_API_ID", API_ID.to_string())
                .env("ORGFORM_TELEGRAM_API_HASH", API_HASH)
                .write_stdin(stdin)
                .output()
                .unwrap()
        })
    };

    // The right code, the wrong password: nothing saved, still signed out.
    let wrong = run("33333\nhunter2-wrong\n").await.unwrap();
    let stderr = String::from_utf8_lossy(&wrong.stderr).to_string();
    assert_eq!(wrong.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("login failed"), "{stderr}");
    assert!(stderr.contains("(hint: sandbox)"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert!(!session_file.exists());
    assert_eq!(rig.mtproto.signed_in(key(12)), None);

    let login = run("33333\nhunter2-correct\n").await.unwrap();
    let stderr = String::from_utf8_lossy(&login.stderr).to_string();
    assert_eq!(login.status.code(), Some(0), "{stderr}");
    assert_eq!(rig.mtproto.signed_in(key(12)), Some(100_078));
    assert!(session_file.exists());
    for output in [&login.stdout, &login.stderr] {
        assert!(!String::from_utf8_lossy(output).contains("hunter2"));
    }
    assert_eq!(rig.mtproto.calls().get("auth.checkPassword"), Some(&2));
    assert_eq!(rig.mtproto.calls().get("account.getPassword"), Some(&2));
}
