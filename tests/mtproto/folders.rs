//! Department folders end to end: `plan` shows a `folders:` entry as a
//! folder to make, `apply` makes it over MTProto and prints its
//! `t.me/addlist` link, a sandbox user who opens the link (over MTProto
//! with chatlists.checkChatlistInvite/joinChatlistInvite, or through the
//! sandbox's act door) joins every chat of the department, and a chat
//! added to the department later is added to the folder and its link.

use grammers_tl_types as tl;

use orgform::mtproto::UserSession;
use orgform::sandbox::RunningSandbox;
use orgform::sandbox::mtproto::RunningMtproto;

use super::rig::{OWNER, RigBuilder, key_for, orgform};

const NEWBIE: i64 = 100_002;
const LATECOMER: i64 = 100_003;
const BANNED: i64 = 100_004;
const ENG: i64 = -1_001_000_000_001;
const PLATFORM: i64 = -1_001_000_000_002;
const SALES: i64 = -1_001_000_000_003;
const ONCALL: i64 = -1_001_000_000_004;

async fn rig() -> (RunningSandbox, RunningMtproto, UserSession) {
    let rig = RigBuilder::new()
        .human(NEWBIE, "Nina")
        .human(LATECOMER, "Lars")
        .human(BANNED, "Boris")
        .chat(ENG, "Engineering")
        .chat(PLATFORM, "Platform")
        .chat(SALES, "Sales")
        .chat(ONCALL, "On-call")
        .start()
        .await;
    (rig.sandbox, rig.mtproto, rig.session)
}

fn config(with_oncall: bool) -> String {
    let mut text = format!(
        r#"org:
  name: Acme
  telegram:
    bot: acme_org_bot
    provider: both
departments:
  engineering: {{name: Engineering}}
  platform: {{name: Platform, parent: engineering}}
  sales: {{name: Sales}}
folders:
  platform:
    title: Platform
    department: platform
chats:
  eng:
    id: {ENG}
    type: supergroup
    title: Engineering
    membership: observe
    members: [{{department: engineering}}]
  platform:
    id: {PLATFORM}
    type: supergroup
    title: Platform
    membership: observe
    members: [{{department: platform}}]
  sales:
    id: {SALES}
    type: supergroup
    title: Sales
    membership: observe
    members: [{{department: sales}}]
"#
    );
    if with_oncall {
        text.push_str(&format!(
            "  oncall:\n    id: {ONCALL}\n    type: supergroup\n    title: On-call\n    membership: observe\n    members: [{{department: platform}}]\n"
        ));
    }
    text
}

fn link_in(text: &str) -> String {
    let at = text
        .find("https://t.me/addlist/")
        .unwrap_or_else(|| panic!("no folder link in:\n{text}"));
    let rest = &text[at + "https://t.me/addlist/".len()..];
    let slug: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    format!("https://t.me/addlist/{slug}")
}

fn is_member(sandbox: &RunningSandbox, chat: i64, user: i64) -> bool {
    let world = sandbox.world_snapshot();
    world.chats[&chat]
        .status(
            user,
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64,
        )
        .is_present()
}

/// Open the link as `user` over MTProto, as Telegram's apps do: check it,
/// then join every chat it offers.
async fn open_over_mtproto(mtproto: &RunningMtproto, user: i64, link: &str) -> usize {
    let key = key_for(user);
    mtproto.authorize(key, Some(user));
    let (client, runner) = super::front_end::client(mtproto.addr(), key);
    let slug = link.rsplit('/').next().unwrap().to_string();
    let tl::enums::chatlists::ChatlistInvite::Invite(invite) = client
        .invoke(&tl::functions::chatlists::CheckChatlistInvite { slug: slug.clone() })
        .await
        .unwrap()
    else {
        panic!("a newcomer has no such folder yet")
    };
    let tl::enums::TextWithEntities::Entities(title) = &invite.title;
    assert_eq!(title.text, "Platform");
    let peers: Vec<tl::enums::InputPeer> = invite
        .chats
        .iter()
        .map(|c| match c {
            tl::enums::Chat::Channel(c) => {
                tl::enums::InputPeer::Channel(tl::types::InputPeerChannel {
                    channel_id: c.id,
                    access_hash: c.access_hash.unwrap(),
                })
            }
            other => panic!("{other:?}"),
        })
        .collect();
    let n = peers.len();
    client
        .invoke(&tl::functions::chatlists::JoinChatlistInvite { slug, peers })
        .await
        .unwrap();
    drop(client);
    runner.abort();
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_department_folder_link_joins_a_newcomer_to_every_chat_and_grows_with_the_department() {
    let (sandbox, mtproto, session) = rig().await;
    let dir = tempfile::tempdir().unwrap();
    let secret = session.expose();
    std::fs::write(dir.path().join("org.yaml"), config(false)).unwrap();

    let plan = orgform(
        dir.path(),
        &sandbox,
        Some(&secret),
        &["plan", "org.yaml", "--detailed-exitcode"],
    )
    .await;
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout.contains("folder.platform (chat folder)"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("chats: [platform, eng]"),
        "the folder's chats by key: {}",
        plan.stdout
    );
    assert!(!plan.stdout.contains("sales"), "{}", plan.stdout);

    let apply = orgform(
        dir.path(),
        &sandbox,
        Some(&secret),
        &["apply", "org.yaml", "--auto-approve"],
    )
    .await;
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    let link = link_in(&format!("{}\n{}", apply.stdout, apply.stderr));
    assert_eq!(
        mtproto.calls().get("chatlists.exportChatlistInvite"),
        Some(&1)
    );
    {
        let world = sandbox.world_snapshot();
        let folders: Vec<_> = world.folders.folders.iter().collect();
        assert_eq!(folders.len(), 1);
        assert_eq!(folders[0].owner, OWNER);
        assert_eq!(folders[0].title, "Platform");
        assert_eq!(world.folders.links.len(), 1);
        assert_eq!(world.folders.links[0].url(), link);
    }

    // Nothing left to do; the plan says the link.
    let again = orgform(
        dir.path(),
        &sandbox,
        Some(&secret),
        &["plan", "org.yaml", "--detailed-exitcode"],
    )
    .await;
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    assert!(again.stderr.contains(&link), "{}", again.stderr);

    // A newcomer opens the link: in every chat of the department, not sales.
    assert_eq!(open_over_mtproto(&mtproto, NEWBIE, &link).await, 2);
    assert!(is_member(&sandbox, ENG, NEWBIE));
    assert!(is_member(&sandbox, PLATFORM, NEWBIE));
    assert!(!is_member(&sandbox, SALES, NEWBIE));
    assert!(!is_member(&sandbox, ONCALL, NEWBIE));

    // A banned person is not let back in by a folder link.
    sandbox
        .act(
            OWNER,
            "banChatMember",
            serde_json::json!({"chat_id": ENG, "user_id": BANNED}),
        )
        .unwrap();
    sandbox
        .act(BANNED, "joinChatlist", serde_json::json!({"slug": link}))
        .unwrap();
    assert!(!is_member(&sandbox, ENG, BANNED));
    assert!(is_member(&sandbox, PLATFORM, BANNED));

    // A chat added to the department is added to the folder and its link.
    std::fs::write(dir.path().join("org.yaml"), config(true)).unwrap();
    let grown = orgform(
        dir.path(),
        &sandbox,
        Some(&secret),
        &[
            "plan",
            "org.yaml",
            "--detailed-exitcode",
            "--out",
            "grow.json",
        ],
    )
    .await;
    assert_eq!(grown.code, 2, "{}\n{}", grown.stdout, grown.stderr);
    assert!(grown.stdout.contains("adds oncall"), "{}", grown.stdout);
    // Applied as saved, after the stale check.
    let apply = orgform(
        dir.path(),
        &sandbox,
        Some(&secret),
        &["apply", "org.yaml", "--plan", "grow.json", "--auto-approve"],
    )
    .await;
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    assert_eq!(
        mtproto.calls().get("chatlists.editExportedInvite"),
        Some(&1)
    );
    assert_eq!(
        mtproto.calls().get("chatlists.exportChatlistInvite"),
        Some(&1),
        "the same link, not a new one"
    );
    assert_eq!(
        link_in(&format!("{}\n{}", apply.stdout, apply.stderr)),
        link
    );
    let run_id = apply
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("Run "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("a run id in {}", apply.stderr))
        .to_string();
    // The same link now brings a latecomer into the new chat too (the act
    // door this time).
    let joined = sandbox
        .act(LATECOMER, "joinChatlist", serde_json::json!({"slug": link}))
        .unwrap();
    assert_eq!(joined["joined"].as_array().unwrap().len(), 3, "{joined}");
    for chat in [ENG, PLATFORM, ONCALL] {
        assert!(is_member(&sandbox, chat, LATECOMER), "{chat}");
    }
    let settled = orgform(
        dir.path(),
        &sandbox,
        Some(&secret),
        &["plan", "org.yaml", "--detailed-exitcode"],
    )
    .await;
    assert_eq!(settled.code, 0, "{}\n{}", settled.stdout, settled.stderr);

    // Rolling the edit back takes the chat out of the folder again.
    let rollback = orgform(
        dir.path(),
        &sandbox,
        Some(&secret),
        &[
            "rollback",
            &run_id,
            "--config",
            "org.yaml",
            "--auto-approve",
        ],
    )
    .await;
    assert_eq!(rollback.code, 0, "{}\n{}", rollback.stdout, rollback.stderr);
    let world = sandbox.world_snapshot();
    assert!(!world.folders.folders[0].chats.contains(&ONCALL));
    assert!(!world.folders.links[0].chats.contains(&ONCALL));
}

/// The answer to the folder's creation is lost (the connection drops after
/// chatlists.exportChatlistInvite ran): the applier looks before deciding
/// and finds the one folder of that title with those chats and a link, so
/// the outcome is known (not left to the operator); the failed run rolls
/// it back like everything it did, and the next apply makes it once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_creation_cut_off_mid_call_is_settled_by_looking() {
    let (sandbox, mtproto, session) = rig().await;
    let dir = tempfile::tempdir().unwrap();
    let secret = session.expose();
    std::fs::write(dir.path().join("org.yaml"), config(false)).unwrap();
    mtproto.inject(orgform::sandbox::mtproto::MtprotoFault::Drop {
        method: "chatlists.exportChatlistInvite".into(),
        after_call: true,
    });
    let apply = orgform(
        dir.path(),
        &sandbox,
        Some(&secret),
        &["apply", "org.yaml", "--auto-approve"],
    )
    .await;
    assert_ne!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    assert!(
        apply.stdout.contains("the answer was lost"),
        "{}",
        apply.stdout
    );
    assert!(apply.stdout.contains("0 uncertain"), "{}", apply.stdout);
    assert!(apply.stdout.contains("1 rolled back"), "{}", apply.stdout);
    assert_eq!(
        mtproto.calls().get("chatlists.exportChatlistInvite"),
        Some(&1)
    );
    let world = sandbox.world_snapshot();
    assert!(world.folders.is_empty(), "rolled back: {:?}", world.folders);
    let apply = orgform(
        dir.path(),
        &sandbox,
        Some(&secret),
        &["apply", "org.yaml", "--auto-approve"],
    )
    .await;
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    assert_eq!(
        mtproto.calls().get("chatlists.exportChatlistInvite"),
        Some(&2)
    );
    let world = sandbox.world_snapshot();
    assert_eq!(world.folders.folders.len(), 1);
    assert_eq!(world.folders.links.len(), 1);
    let again = orgform(
        dir.path(),
        &sandbox,
        Some(&secret),
        &["plan", "org.yaml", "--detailed-exitcode"],
    )
    .await;
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    assert!(
        again.stderr.contains(&world.folders.links[0].url()),
        "{}",
        again.stderr
    );
}
