//! An org without a bot (`org.telegram.provider: user`), end to end
//! through the binary with no bot token anywhere in its environment:
//! `plan`, `apply`, `rollback`, `drift` and `import chats` run entirely
//! over MTProto as the signed-in person, against the sandbox's MTProto
//! front-end. What they did is checked in the same world through the Bot
//! API front-end (the test's own sandbox bot token, for checking only) and
//! the world itself; lost answers are settled by looking, never by
//! sending again (calls counted at the front-end); the session shows up in
//! no output or file.

use std::path::Path;

use orgform::mtproto::UserSession;
use orgform::sandbox::mtproto::{MtprotoFault, MtprotoOptions, RunningMtproto};
use orgform::sandbox::world::{Chat, Member, User};
use orgform::sandbox::{self, RunningSandbox, SandboxOptions, World};
use orgform::state::{ChatType, Permission};
use serde_json::{Value, json};

const BOT: i64 = 7_000_000_001;
const OWNER: i64 = 100_001;
const ALICE: i64 = 100_002;
const BOB: i64 = 100_003;
const CAROL: i64 = 100_004;
const DAVE: i64 = 100_005;
const EVE: i64 = 100_006;
const FRANK: i64 = 100_007;
const CHAT: i64 = -1_001_000_000_001;
const NOW: &str = "--now=2026-11-27T12:00:00Z";
/// A title set by hand with escape codes, HTML and a backtick fence.
const HOSTILE: &str = "\u{1b}[31mEvil <b>bold</b> ```fence";

const CONFIG: &str = r#"org:
  name: Acme
  telegram:
    provider: user
people:
  alice:   {telegram_id: 100002, name: Alice}
  bob:     {telegram_id: 100003, name: Bob}
  dave:    {telegram_id: 100005, name: Dave}
  eve:     {telegram_id: 100006, name: Eve}
  frank:   {telegram_id: 100007, name: Frank}
  checker: {telegram_id: 7000000001, name: Checker}
roles:
  lead: {title: Lead, rights: [delete_messages, pin_messages, invite_users]}
  quiet: {permissions: [react]}
chats:
  eng:
    id: -1001000000001
    type: supergroup
    forum: true
    membership: authoritative
    title: Engineering
    description: Where engineers talk
    photo: logo.png
    permissions: [send_messages, react, pin_messages]
    pinned: {text: Welcome to Engineering}
    members:
      - {person: alice}
      - {person: bob}
      - {person: dave}
      - {person: eve}
      - {person: frank}
      - {person: checker}
    admins:
      - {role: lead, members: [{person: alice}]}
    restricted:
      - {role: quiet, members: [{person: bob}]}
    tags:
      - {tag: SRE, members: [{person: frank}]}
    topics:
      releases: {name: Releases, icon_color: 7322096}
    invite_links:
      onboarding: {name: Onboarding}
"#;

async fn rig() -> (RunningSandbox, RunningMtproto, UserSession) {
    let mut world = World::new(BOT, "acme_checker_bot", format!("{BOT}:secret-token"));
    let mut owner = User::human(OWNER, "Olga");
    owner.username = Some("olga".into());
    world.add_user(owner);
    for (id, name) in [
        (ALICE, "Alice"),
        (BOB, "Bob"),
        (CAROL, "Carol"),
        (DAVE, "Dave"),
        (EVE, "Eve"),
        (FRANK, "Frank"),
    ] {
        world.add_user(User::human(id, name));
    }
    // In no chat; their privacy settings refuse being added.
    let mut pat = User::human(100_008, "Pat");
    pat.username = Some("pat_p".into());
    pat.privacy_restricted = true;
    world.add_user(pat);
    let mut chat = Chat::new(CHAT, ChatType::Supergroup, HOSTILE);
    chat.is_forum = true;
    chat.permissions = Permission::all();
    chat.set_status(
        OWNER,
        Member::Creator {
            is_anonymous: false,
            custom_title: None,
        },
    );
    for user in [ALICE, BOB, CAROL, FRANK, BOT] {
        chat.set_status(user, Member::plain());
    }
    chat.set_status(DAVE, Member::Kicked { until_date: 0 });
    chat.set_status(
        EVE,
        Member::Administrator {
            rights: [
                orgform::state::Right::DeleteMessages,
                orgform::state::Right::ManageChat,
            ]
            .into_iter()
            .collect(),
            custom_title: None,
            promoted_by: OWNER,
        },
    );
    world.add_chat(chat);
    let sandbox = sandbox::start(SandboxOptions::default(), world)
        .await
        .unwrap();
    let mtproto = sandbox
        .start_mtproto(MtprotoOptions::default())
        .await
        .unwrap();
    let key: [u8; 256] = std::array::from_fn(|i| (i as u8).wrapping_mul(31) ^ 0x5a);
    mtproto.authorize(key, Some(OWNER));
    let session = UserSession::new(2, mtproto.addr(), OWNER, key);
    (sandbox, mtproto, session)
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// orgform with the session and nothing of a bot: no token, no API URL.
async fn orgform(dir: &Path, session: Option<&str>, args: &[&str]) -> Run {
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    if matches!(args[0], "plan" | "apply" | "drift") {
        all.push(NOW.into());
    }
    let dir = dir.to_path_buf();
    let session = session.map(str::to_string);
    tokio::task::spawn_blocking(move || {
        let mut cmd = crate::hermetic::orgform(&dir.join("state"));
        cmd.args(&all)
            .current_dir(&dir)
            .env("ORGFORM_TELEGRAM_API_ID", "12345")
            .env(
                "ORGFORM_TELEGRAM_API_HASH",
                "0123456789abcdef0123456789abcdef",
            );
        if let Some(s) = session {
            cmd.env("ORGFORM_TELEGRAM_SESSION", s);
        }
        let out = cmd.output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into(),
            stderr: String::from_utf8_lossy(&out.stderr).into(),
        }
    })
    .await
    .unwrap()
}

/// A Bot API call with the sandbox's bot token: checking only.
async fn bot_api(sandbox: &RunningSandbox, method: &str, params: Value) -> Value {
    let answer: Value = reqwest::Client::new()
        .post(sandbox.method_url(method))
        .json(&params)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["ok"], true, "{method}: {answer}");
    answer["result"].clone()
}

async fn status(sandbox: &RunningSandbox, user: i64) -> Value {
    bot_api(
        sandbox,
        "getChatMember",
        json!({"chat_id": CHAT, "user_id": user}),
    )
    .await
}

fn run_id(apply: &Run) -> String {
    apply
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("Run "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("a run id in {}", apply.stderr))
        .to_string()
}

fn all_files(dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            all_files(&path, out);
        } else {
            out.push((path.display().to_string(), std::fs::read(&path).unwrap()));
        }
    }
}

fn ops(plan_file: &Path) -> Vec<String> {
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(plan_file).unwrap()).unwrap();
    saved["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["op"]["op"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_routine_change_runs_without_a_bot_and_rolls_back() {
    let (sandbox, mtproto, session) = rig().await;
    let dir = tempfile::tempdir().unwrap();
    let secret = session.expose();
    let key_hex = secret.rsplit('/').next().unwrap().to_string();
    std::fs::write(dir.path().join("org.yaml"), CONFIG).unwrap();
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/acme/photos/engineering.png"
        ),
        dir.path().join("logo.png"),
    )
    .unwrap();

    // Without a session there is nothing to connect with: a clear error.
    let no_session = orgform(dir.path(), None, &["plan", "org.yaml"]).await;
    assert_eq!(no_session.code, 1, "{}", no_session.stderr);
    assert!(
        no_session.stderr.contains("no signed-in session")
            && no_session.stderr.contains("orgform login"),
        "{}",
        no_session.stderr
    );

    let plan = orgform(
        dir.path(),
        Some(&secret),
        &[
            "plan",
            "org.yaml",
            "--detailed-exitcode",
            "--allow-removals",
            "--allow-demotions",
            "--out",
            "plan.json",
        ],
    )
    .await;
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    // The title read over MTProto is shown escaped, like the bot path does.
    assert!(!plan.stdout.contains('\u{1b}'), "{}", plan.stdout);
    assert!(plan.stdout.contains("Evil"), "{}", plan.stdout);
    // In Markdown for a pull request the fence cannot break out either.
    let markdown = orgform(
        dir.path(),
        Some(&secret),
        &["plan", "org.yaml", "--format", "markdown", "--lock=false"],
    )
    .await;
    assert!(markdown.stdout.contains("Evil"), "{}", markdown.stdout);
    assert!(!markdown.stdout.contains('\u{1b}'), "{}", markdown.stdout);
    // The details sit in a fence longer than the title's own backticks.
    assert!(markdown.stdout.contains("````"), "{}", markdown.stdout);
    let mut planned = ops(&dir.path().join("plan.json"));
    planned.sort();
    planned.dedup();
    for op in [
        "set_title",
        "set_description",
        "set_photo",
        "set_permissions",
        "pin",
        "create_topic",
        "create_invite_link",
        "promote",
        "set_admin_title",
        "restrict",
        "set_tag",
        "demote",
        "kick",
        "unban",
        "send_invite",
    ] {
        assert!(planned.iter().any(|o| o == op), "{op} not in {planned:?}");
    }

    let apply = orgform(
        dir.path(),
        Some(&secret),
        &[
            "apply",
            "org.yaml",
            "--auto-approve",
            "--allow-removals",
            "--allow-demotions",
        ],
    )
    .await;
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);

    // Checked over the Bot API, in the same world.
    let chat = bot_api(&sandbox, "getChat", json!({"chat_id": CHAT})).await;
    assert_eq!(chat["title"], "Engineering", "{chat}");
    assert_eq!(chat["description"], "Where engineers talk");
    assert!(chat["photo"]["big_file_unique_id"].is_string(), "{chat}");
    assert_eq!(chat["pinned_message"]["text"], "Welcome to Engineering");
    assert_eq!(chat["pinned_message"]["from"]["id"], OWNER);
    assert_eq!(chat["permissions"]["can_send_messages"], true);
    assert_eq!(chat["permissions"]["can_send_polls"], false);
    let alice = status(&sandbox, ALICE).await;
    assert_eq!(alice["status"], "administrator", "{alice}");
    assert_eq!(alice["custom_title"], "Lead");
    assert_eq!(alice["can_pin_messages"], true);
    assert_eq!(alice["can_change_info"], false);
    let bob = status(&sandbox, BOB).await;
    assert_eq!(bob["status"], "restricted", "{bob}");
    assert_eq!(bob["can_send_messages"], false);
    assert_eq!(bob["can_add_web_page_previews"], false);
    assert_eq!(status(&sandbox, CAROL).await["status"], "left");
    assert_eq!(status(&sandbox, EVE).await["status"], "member");
    assert_eq!(status(&sandbox, DAVE).await["status"], "left");
    let frank = status(&sandbox, FRANK).await;
    assert_eq!(frank["tag"], "SRE", "{frank}");
    let world = sandbox.world_snapshot();
    let eng = &world.chats[&CHAT];
    assert!(eng.topics.values().any(|t| t.name == "Releases"));
    let onboarding = eng
        .invite_links
        .iter()
        .find(|l| l.name.as_deref() == Some("Onboarding"))
        .expect("the onboarding link");
    assert_eq!(onboarding.creator, OWNER);
    // Dave's personal link reached him as a direct message from the account.
    let dm = world.private_chats.get(&DAVE).expect("a message to Dave");
    assert!(
        dm.messages
            .iter()
            .any(|m| m.from == OWNER && m.text.contains("t.me/")),
        "{dm:?}"
    );
    let calls = mtproto.calls();
    for f in [
        "channels.editTitle",
        "messages.editChatAbout",
        "messages.editChatDefaultBannedRights",
        "messages.sendMessage",
        "messages.updatePinnedMessage",
        "messages.createForumTopic",
        "messages.exportChatInvite",
        "channels.editAdmin",
        "channels.editBanned",
        "messages.editChatParticipantRank",
        "upload.saveFilePart",
        "channels.editPhoto",
    ] {
        assert!(calls.get(f).is_some_and(|n| *n > 0), "{f}: {calls:?}");
    }

    let again = orgform(
        dir.path(),
        Some(&secret),
        &["plan", "org.yaml", "--detailed-exitcode"],
    )
    .await;
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);

    // A change by hand shows in drift, with who made it.
    sandbox
        .act(
            OWNER,
            "setChatDescription",
            json!({"chat_id": CHAT, "description": "changed by hand"}),
        )
        .unwrap();
    let drift = orgform(dir.path(), Some(&secret), &["drift", "org.yaml"]).await;
    assert_eq!(drift.code, 2, "{}\n{}", drift.stdout, drift.stderr);
    assert!(drift.stdout.contains("changed by hand"), "{}", drift.stdout);
    assert!(drift.stdout.contains("Olga"), "{}", drift.stdout);
    sandbox
        .act(
            OWNER,
            "setChatDescription",
            json!({"chat_id": CHAT, "description": "Where engineers talk"}),
        )
        .unwrap();

    // Rollback undoes what can be undone.
    let rollback = orgform(
        dir.path(),
        Some(&secret),
        &[
            "rollback",
            &run_id(&apply),
            "--config",
            "org.yaml",
            "--auto-approve",
        ],
    )
    .await;
    assert_eq!(rollback.code, 0, "{}\n{}", rollback.stdout, rollback.stderr);
    let chat = bot_api(&sandbox, "getChat", json!({"chat_id": CHAT})).await;
    assert_eq!(chat["title"], HOSTILE);
    assert_eq!(chat["description"].as_str().unwrap_or(""), "");
    assert!(chat.get("pinned_message").is_none(), "{chat}");
    assert!(chat.get("photo").is_none(), "{chat}");
    assert_eq!(chat["permissions"]["can_send_polls"], true);
    assert_eq!(status(&sandbox, ALICE).await["status"], "member");
    assert_eq!(status(&sandbox, BOB).await["status"], "member");
    assert_eq!(status(&sandbox, EVE).await["status"], "administrator");
    let frank = status(&sandbox, FRANK).await;
    assert!(frank.get("tag").is_none_or(|t| t == ""), "{frank}");
    let world = sandbox.world_snapshot();
    let eng = &world.chats[&CHAT];
    assert!(
        eng.invite_links
            .iter()
            .filter(|l| l.name.as_deref() == Some("Onboarding"))
            .all(|l| l.is_revoked)
    );

    // The session shows up nowhere.
    let mut files = Vec::new();
    all_files(dir.path(), &mut files);
    for run in [
        &no_session,
        &plan,
        &markdown,
        &apply,
        &again,
        &drift,
        &rollback,
    ] {
        for text in [&run.stdout, &run.stderr] {
            assert!(!text.contains(&key_hex[..32]), "{text}");
        }
    }
    assert!(files.len() > 3, "{files:?}");
    for (path, bytes) in &files {
        let text = String::from_utf8_lossy(bytes);
        assert!(!text.contains(&key_hex[..32]), "the session is in {path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_is_settled_by_looking_never_by_sending_again() {
    let (sandbox, mtproto, session) = rig().await;
    let dir = tempfile::tempdir().unwrap();
    let secret = session.expose();
    let config = CONFIG
        .replace("    photo: logo.png\n", "")
        .replace("    description: Where engineers talk\n", "")
        .replace(
            "    permissions: [send_messages, react, pin_messages]\n",
            "",
        )
        .replace("    pinned: {text: Welcome to Engineering}\n", "")
        .replace(
            "    membership: authoritative\n",
            "    membership: additive\n",
        )
        .replace(
            "    admins:\n      - {role: lead, members: [{person: alice}]}\n",
            "",
        )
        .replace(
            "    tags:\n      - {tag: SRE, members: [{person: frank}]}\n",
            "",
        )
        .replace("      - {person: dave}\n", "");
    std::fs::write(dir.path().join("org.yaml"), &config).unwrap();

    // The topic is made, the answer lost: the forum's topic list shows it
    // (its thread id with it), so the failed run's rollback deletes it;
    // it is never made twice.
    mtproto.inject(MtprotoFault::Drop {
        method: "messages.createForumTopic".into(),
        after_call: true,
    });
    let apply = orgform(
        dir.path(),
        Some(&secret),
        &["apply", "org.yaml", "--auto-approve"],
    )
    .await;
    assert_ne!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    let calls = mtproto.calls();
    assert_eq!(
        calls.get("messages.createForumTopic"),
        Some(&1),
        "{calls:?}"
    );
    assert_eq!(
        calls.get("messages.deleteTopicHistory"),
        Some(&1),
        "{calls:?}\n{}",
        apply.stderr
    );
    assert!(
        !sandbox.world_snapshot().chats[&CHAT]
            .topics
            .values()
            .any(|t| t.name == "Releases")
    );

    // The link is made, the answer lost: the account's own list shows it,
    // and the failed run is rolled back (the link revoked), never made twice.
    mtproto.inject(MtprotoFault::Drop {
        method: "messages.exportChatInvite".into(),
        after_call: true,
    });
    let apply = orgform(
        dir.path(),
        Some(&secret),
        &["apply", "org.yaml", "--auto-approve"],
    )
    .await;
    assert_ne!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    let calls = mtproto.calls();
    assert_eq!(
        calls.get("messages.exportChatInvite"),
        Some(&1),
        "{calls:?}\n{}",
        apply.stderr
    );
    assert!(
        calls.contains_key("messages.getExportedChatInvites"),
        "looked: {calls:?}"
    );
    let links = |sandbox: &RunningSandbox| -> Vec<bool> {
        sandbox.world_snapshot().chats[&CHAT]
            .invite_links
            .iter()
            .filter(|l| l.name.as_deref() == Some("Onboarding"))
            .map(|l| l.is_revoked)
            .collect()
    };
    assert_eq!(links(&sandbox), vec![true], "{}", apply.stderr);

    // A restriction is made, the answer lost: it sets a final state, so it
    // counts as made without being sent again; the rollback lifts it (one
    // call to make it, one to undo it).
    mtproto.inject(MtprotoFault::Drop {
        method: "channels.editBanned".into(),
        after_call: true,
    });
    let apply = orgform(
        dir.path(),
        Some(&secret),
        &["apply", "org.yaml", "--auto-approve"],
    )
    .await;
    assert_ne!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    let calls = mtproto.calls();
    assert_eq!(
        calls.get("channels.editBanned"),
        Some(&2),
        "{calls:?}\n{}",
        apply.stderr
    );
    assert_eq!(status(&sandbox, BOB).await["status"], "member");
    assert_eq!(links(&sandbox), vec![true, true], "{}", apply.stderr);

    // Run again: everything is made once more, and the next plan is empty.
    let apply = orgform(
        dir.path(),
        Some(&secret),
        &["apply", "org.yaml", "--auto-approve"],
    )
    .await;
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    assert_eq!(mtproto.calls().get("messages.exportChatInvite"), Some(&3));
    assert_eq!(status(&sandbox, BOB).await["status"], "restricted");
    let again = orgform(
        dir.path(),
        Some(&secret),
        &["plan", "org.yaml", "--detailed-exitcode"],
    )
    .await;
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bot_commands_without_a_bot_are_a_config_diagnostic() {
    let dir = tempfile::tempdir().unwrap();
    let config = CONFIG.replace("    photo: logo.png\n", "").replace(
        "    topics:\n",
        "    commands:\n      - {command: oncall, description: Who is on call}\n    topics:\n",
    );
    std::fs::write(dir.path().join("org.yaml"), config).unwrap();
    let check = orgform(dir.path(), None, &["validate", "org.yaml"]).await;
    assert_eq!(check.code, 1, "{}\n{}", check.stdout, check.stderr);
    let text = format!("{}{}", check.stdout, check.stderr);
    assert!(text.contains("needs-bot"), "{text}");
    assert!(text.contains("org.yaml:"), "{text}");
    assert!(text.contains("provider to both"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_refuses_and_import_reads_as_the_person() {
    let (_sandbox, _mtproto, session) = rig().await;
    let dir = tempfile::tempdir().unwrap();
    let secret = session.expose();
    std::fs::write(
        dir.path().join("org.yaml"),
        CONFIG.replace("    photo: logo.png\n", ""),
    )
    .unwrap();
    let watch = orgform(dir.path(), Some(&secret), &["watch", "org.yaml"]).await;
    assert_eq!(watch.code, 1, "{}\n{}", watch.stdout, watch.stderr);
    assert!(
        watch.stderr.contains("watch needs a bot"),
        "{}",
        watch.stderr
    );
    assert!(watch.stderr.contains("both"), "{}", watch.stderr);

    // import chats into a directory whose org has no bot.
    let org = dir.path().join("org");
    std::fs::create_dir(&org).unwrap();
    std::fs::write(
        org.join("org.yaml"),
        "org:\n  name: Acme\n  telegram:\n    provider: user\n",
    )
    .unwrap();
    let import = orgform(
        dir.path(),
        Some(&secret),
        &["import", "chats", "--all-known", "--out", "org"],
    )
    .await;
    assert_eq!(import.code, 0, "{}\n{}", import.stdout, import.stderr);
    assert!(!import.stdout.contains('\u{1b}'), "{}", import.stdout);
    let chats = std::fs::read_to_string(org.join("chats.yaml")).unwrap();
    assert!(chats.contains("-1001000000001"), "{chats}");
    assert!(chats.contains("Evil"), "{chats}");
    let people = std::fs::read_to_string(org.join("people.yaml")).unwrap();
    assert!(people.contains("100006"), "Eve the admin: {people}");
    // What was imported plans clean.
    let plan = orgform(
        dir.path(),
        Some(&secret),
        &["plan", "org", "--detailed-exitcode"],
    )
    .await;
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    // The access matrix with the live status beside it, read as the person.
    let export = orgform(
        dir.path(),
        Some(&secret),
        &["export", "access", "org", "--live", "--format", "json"],
    )
    .await;
    assert_eq!(export.code, 0, "{}\n{}", export.stdout, export.stderr);
    let rows: serde_json::Value = serde_json::from_str(&export.stdout).unwrap();
    let text = rows.to_string();
    assert!(text.contains("100006"), "Eve the admin: {text}");
    assert!(!text.contains(secret.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_is_created_without_a_bot_and_flood_wait_is_waited_out() {
    let (sandbox, mtproto, session) = rig().await;
    let dir = tempfile::tempdir().unwrap();
    let secret = session.expose();
    let config = r#"org:
  name: Acme
  telegram:
    provider: user
chats:
  eng:
    id: -1001000000001
    type: supergroup
    forum: true
    membership: observe
    title: Engineering
  incidents:
    type: supergroup
    title: Incidents
    description: Pages go here
    membership: observe
"#;
    std::fs::write(dir.path().join("org.yaml"), config).unwrap();
    mtproto.inject(MtprotoFault::FloodWait {
        method: "channels.editTitle".into(),
        seconds: 1,
    });
    let apply = orgform(
        dir.path(),
        Some(&secret),
        &["apply", "org.yaml", "--auto-approve"],
    )
    .await;
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    let calls = mtproto.calls();
    // Refused with FLOOD_WAIT (it did not run), then sent once more.
    assert_eq!(calls.get("channels.editTitle"), Some(&2), "{calls:?}");
    assert_eq!(calls.get("channels.createChannel"), Some(&1), "{calls:?}");
    let world = sandbox.world_snapshot();
    assert_eq!(world.chats[&CHAT].title, "Engineering");
    let created: Vec<_> = world
        .chats
        .values()
        .filter(|c| c.title == "Incidents")
        .collect();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].description, "Pages go here");
    assert!(matches!(
        created[0].members.get(&OWNER),
        Some(Member::Creator { .. })
    ));
    // No bot was brought in: the org has none.
    assert!(!created[0].members.contains_key(&BOT));
    let id = created[0].id;
    assert!(
        apply
            .stderr
            .contains(&format!("Add `id: {id}` to chats.incidents")),
        "{}",
        apply.stderr
    );
    let again = orgform(
        dir.path(),
        Some(&secret),
        &["plan", "org.yaml", "--detailed-exitcode"],
    )
    .await;
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    assert_eq!(mtproto.calls().get("channels.createChannel"), Some(&1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_fallback_link_is_found_in_the_accounts_own_links() {
    let (sandbox, mtproto, session) = rig().await;
    let dir = tempfile::tempdir().unwrap();
    let secret = session.expose();
    let config = r#"org:
  name: Acme
  telegram:
    provider: user
people:
  pat: {telegram_id: 100008, name: Pat, username: pat_p}
chats:
  eng:
    id: -1001000000001
    type: supergroup
    forum: true
    membership: additive
    add_members: direct
    title: Engineering
    members: [{person: pat}]
"#;
    std::fs::write(dir.path().join("org.yaml"), config).unwrap();
    // Pat's privacy refuses the addition; the account's personal link is
    // made, and its answer lost.
    mtproto.inject(MtprotoFault::Drop {
        method: "messages.exportChatInvite".into(),
        after_call: true,
    });
    let apply = orgform(
        dir.path(),
        Some(&secret),
        &["apply", "org.yaml", "--auto-approve"],
    )
    .await;
    let calls = mtproto.calls();
    assert_eq!(calls.get("channels.inviteToChannel"), Some(&1), "{calls:?}");
    assert_eq!(
        calls.get("messages.exportChatInvite"),
        Some(&1),
        "{calls:?}\n{}",
        apply.stderr
    );
    // Found by looking: the failed run revoked it in its rollback, which
    // it could only do knowing the link.
    let world = sandbox.world_snapshot();
    let made: Vec<_> = world.chats[&CHAT]
        .invite_links
        .iter()
        .filter(|l| l.creator == OWNER && l.member_limit == Some(1))
        .collect();
    assert_eq!(made.len(), 1, "{made:?}");
    assert!(made[0].is_revoked, "{}\n{}", apply.stdout, apply.stderr);
    assert!(
        !apply
            .stderr
            .contains("answers were lost, and Telegram shows no evidence"),
        "{}",
        apply.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_mid_call_is_resumed_by_looking_first() {
    let (sandbox, mtproto, session) = rig().await;
    let dir = tempfile::tempdir().unwrap();
    let secret = session.expose();
    let config = r#"org:
  name: Acme
  telegram:
    provider: user
chats:
  eng:
    id: -1001000000001
    type: supergroup
    forum: true
    membership: observe
    title: Engineering
    invite_links:
      onboarding: {name: Onboarding}
"#;
    std::fs::write(dir.path().join("org.yaml"), config).unwrap();
    // The link's call is held off by a long FLOOD_WAIT; the process is
    // killed while it waits, with the change journaled as in flight.
    mtproto.inject(MtprotoFault::FloodWait {
        method: "messages.exportChatInvite".into(),
        seconds: 120,
    });
    let mut child = crate::hermetic::process(&dir.path().join("state"))
        .args(["apply", "org.yaml", "--auto-approve", NOW])
        .current_dir(dir.path())
        .env("ORGFORM_TELEGRAM_API_ID", "12345")
        .env(
            "ORGFORM_TELEGRAM_API_HASH",
            "0123456789abcdef0123456789abcdef",
        )
        .env("ORGFORM_TELEGRAM_SESSION", &secret)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut waited = 0;
    while !mtproto.calls().contains_key("messages.exportChatInvite") {
        assert!(waited < 300, "the link's call never came");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        waited += 1;
    }
    // Let the journal line of the call's start reach the disk.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let killed = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr,
    };
    let run = run_id(&killed);
    assert_eq!(
        sandbox.world_snapshot().chats[&CHAT].title,
        "Engineering",
        "the title ran before the kill"
    );

    // A new apply is blocked by the unfinished run; resume finishes it,
    // looking in the account's links before making the link.
    let blocked = orgform(
        dir.path(),
        Some(&secret),
        &["apply", "org.yaml", "--auto-approve"],
    )
    .await;
    assert_ne!(blocked.code, 0, "{}\n{}", blocked.stdout, blocked.stderr);
    let resume = orgform(
        dir.path(),
        Some(&secret),
        &["apply", "org.yaml", "--auto-approve", "--resume", &run],
    )
    .await;
    assert_eq!(resume.code, 0, "{}\n{}", resume.stdout, resume.stderr);
    let calls = mtproto.calls();
    assert!(
        calls.contains_key("messages.getExportedChatInvites"),
        "{calls:?}"
    );
    // Refused once (FLOOD_WAIT: it did not run), made once on resume.
    assert_eq!(
        calls.get("messages.exportChatInvite"),
        Some(&2),
        "{calls:?}"
    );
    let world = sandbox.world_snapshot();
    let links: Vec<_> = world.chats[&CHAT]
        .invite_links
        .iter()
        .filter(|l| l.name.as_deref() == Some("Onboarding"))
        .collect();
    assert_eq!(links.len(), 1, "{links:?}");
    assert!(!links[0].is_revoked);
    let again = orgform(
        dir.path(),
        Some(&secret),
        &["plan", "org.yaml", "--detailed-exitcode"],
    )
    .await;
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
}
