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
use orgform::sandbox::world::Member;

use super::rig::{BOT, OWNER, Rig, RigBuilder, key_for, orgform};

const NEWBIE: i64 = 100_002;
const LATECOMER: i64 = 100_003;
const BANNED: i64 = 100_004;
const ENG: i64 = -1_001_000_000_001;
const PLATFORM: i64 = -1_001_000_000_002;
const SALES: i64 = -1_001_000_000_003;
const ONCALL: i64 = -1_001_000_000_004;

fn builder() -> RigBuilder {
    RigBuilder::new()
        .human(NEWBIE, "Nina")
        .human(LATECOMER, "Lars")
        .human(BANNED, "Boris")
        .chat(ENG, "Engineering")
        .chat(PLATFORM, "Platform")
        .chat(SALES, "Sales")
        .chat(ONCALL, "On-call")
}

async fn rig() -> (RunningSandbox, RunningMtproto, UserSession) {
    let rig = builder().start().await;
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
    open_titled(mtproto, user, link, "Platform").await
}

async fn open_titled(mtproto: &RunningMtproto, user: i64, link: &str, want: &str) -> usize {
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
    assert_eq!(title.text, want);
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
    let mine: Vec<_> = world.folders.of(OWNER).collect();
    assert!(!mine[0].chats.contains(&ONCALL));
    assert!(!world.folders.links[0].chats.contains(&ONCALL));
    // Those who opened the link have the folder in their own accounts.
    for user in [NEWBIE, LATECOMER] {
        let theirs: Vec<_> = world.folders.of(user).collect();
        assert_eq!(theirs.len(), 1, "{user}: {theirs:?}");
        assert_eq!(theirs[0].title, "Platform");
        assert!(theirs[0].shared);
    }
    assert_eq!(world.folders.of(NEWBIE).next().unwrap().chats.len(), 2);
    assert_eq!(world.folders.of(LATECOMER).next().unwrap().chats.len(), 3);
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

/// The one folder of the owner in the sandbox's world: id and title.
fn the_folder(rig: &Rig) -> (i32, String) {
    let world = rig.sandbox.world_snapshot();
    let mine: Vec<(i32, String)> = world
        .folders
        .of(OWNER)
        .map(|f| (f.id, f.title.clone()))
        .collect();
    assert_eq!(mine.len(), 1, "{mine:?}");
    mine[0].clone()
}

/// Opening a folder link does what Telegram does: a chat the person is in
/// already is left alone, a chat they are banned from stays closed, and a
/// chat that takes join requests gets a request (seen by the bot as a
/// chat_join_request update), not a member.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_link_asks_to_join_where_requests_are_on_and_leaves_bans_and_members_alone() {
    let rig = builder()
        .world(|w| {
            w.chats.get_mut(&PLATFORM).unwrap().join_by_request = true;
            w.chats
                .get_mut(&ENG)
                .unwrap()
                .set_status(NEWBIE, Member::plain());
        })
        .start()
        .await;
    let w = rig.workdir(&config(false));
    let apply = w.run(&["apply", "org.yaml", "--auto-approve"]).await;
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    let link = link_in(&apply.stdout);

    // Over MTProto, as the apps do it.
    assert_eq!(
        open_titled(&rig.mtproto, NEWBIE, &link, "Platform").await,
        2
    );
    // Checking the link again: the person has this folder now, and
    // nothing is missing from it.
    {
        let (client, runner) = super::front_end::client(rig.mtproto.addr(), key_for(NEWBIE));
        let slug = link.rsplit('/').next().unwrap().to_string();
        let checked = client
            .invoke(&tl::functions::chatlists::CheckChatlistInvite { slug })
            .await
            .unwrap();
        let tl::enums::chatlists::ChatlistInvite::Already(already) = checked else {
            panic!("the folder is theirs already: {checked:?}")
        };
        let theirs: Vec<i32> = rig
            .sandbox
            .world_snapshot()
            .folders
            .of(NEWBIE)
            .map(|f| f.id)
            .collect();
        assert_eq!(theirs, [already.filter_id]);
        drop(client);
        runner.abort();
    }
    let world = rig.sandbox.world_snapshot();
    assert!(is_member(&rig.sandbox, ENG, NEWBIE), "still in, once");
    assert!(
        !is_member(&rig.sandbox, PLATFORM, NEWBIE),
        "a join request, not membership"
    );
    assert!(world.chats[&PLATFORM].join_requests.contains_key(&NEWBIE));
    let requested = world.chats[&PLATFORM].join_requests[&NEWBIE].date;

    // Through the act door: what each chat did, by name.
    rig.sandbox
        .act(
            OWNER,
            "banChatMember",
            serde_json::json!({"chat_id": ENG, "user_id": BANNED}),
        )
        .unwrap();
    let opened = rig
        .sandbox
        .act(BANNED, "joinChatlist", serde_json::json!({"slug": link}))
        .unwrap();
    assert_eq!(opened["banned"], serde_json::json!([ENG]), "{opened}");
    assert_eq!(
        opened["requested"],
        serde_json::json!([PLATFORM]),
        "{opened}"
    );
    assert_eq!(opened["joined"], serde_json::json!([]), "{opened}");
    assert!(!is_member(&rig.sandbox, ENG, BANNED));
    assert!(!is_member(&rig.sandbox, PLATFORM, BANNED));
    // Opening it again sends no second request and joins nothing.
    let again = rig
        .sandbox
        .act(NEWBIE, "joinChatlist", serde_json::json!({"slug": link}))
        .unwrap();
    assert_eq!(again["already"], serde_json::json!([ENG]), "{again}");
    assert_eq!(again["requested"], serde_json::json!([PLATFORM]), "{again}");
    let world = rig.sandbox.world_snapshot();
    assert_eq!(
        world.chats[&PLATFORM].join_requests[&NEWBIE].date,
        requested
    );
    assert_eq!(world.chats[&PLATFORM].join_requests.len(), 2);

    // The bot sees the requests and may approve one: then they are in.
    rig.sandbox
        .act(
            BOT,
            "approveChatJoinRequest",
            serde_json::json!({"chat_id": PLATFORM, "user_id": NEWBIE}),
        )
        .unwrap();
    assert!(is_member(&rig.sandbox, PLATFORM, NEWBIE));
}

const HOSTILE: &str = "\u{1b}[31m<b>x</b>```|";

/// A folder is kept by the id the store records: a title changed in the
/// config edits it in place (same folder, same link); what people change
/// by hand is drift of its kind in every renderer, hostile titles made
/// safe; a folder deleted by hand is made again and the plan says so; the
/// record shows in `state list`/`show` and goes with `state rm`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_is_kept_by_its_recorded_id_and_hand_changes_are_drift() {
    let rig = builder().start().await;
    let mtproto = &rig.mtproto;
    let w = rig.workdir(&config(false));
    let apply = w.run(&["apply", "org.yaml", "--auto-approve"]).await;
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    let link = link_in(&apply.stdout);
    let made = the_folder(&rig);

    // The record: in the list, shown as JSON, by its address.
    let list = w.run(&["state", "list"]).await;
    assert_eq!(list.code, 0, "{}", list.stderr);
    let line = list
        .stdout
        .lines()
        .find(|l| l.starts_with("folder/platform\t"))
        .unwrap_or_else(|| panic!("{}", list.stdout));
    assert!(line.contains(&format!("filter_id={}", made.0)), "{line}");
    assert!(line.contains(&link), "{line}");
    let show = w.run(&["state", "show", "folder/platform"]).await;
    let shown: serde_json::Value = serde_json::from_str(&show.stdout).unwrap();
    assert_eq!(shown["title"], "Platform");
    assert_eq!(shown["link"], link);
    assert_eq!(shown["chats"], serde_json::json!([PLATFORM, ENG]));

    let drift = w.run(&["drift", "org.yaml"]).await;
    assert_eq!(drift.code, 0, "{}\n{}", drift.stdout, drift.stderr);

    // By hand: a chat taken out, another put in, a hostile title.
    rig.by_hand(|w| {
        let f = w
            .folders
            .folders
            .iter_mut()
            .find(|f| f.id == made.0)
            .unwrap();
        f.title = HOSTILE.into();
        f.chats = vec![PLATFORM, SALES];
    });
    let drift = w.run(&["drift", "org.yaml"]).await;
    assert_eq!(drift.code, 2, "{}\n{}", drift.stdout, drift.stderr);
    for kind in [
        "folder title",
        "chat taken out of the folder",
        "chat put into the folder",
    ] {
        assert!(drift.stdout.contains(kind), "{kind}: {}", drift.stdout);
    }
    assert!(
        drift.stdout.contains("eng was taken out"),
        "{}",
        drift.stdout
    );
    assert!(!drift.stdout.contains('\u{1b}'), "{}", drift.stdout);
    let markdown = w.run(&["drift", "org.yaml", "--format", "markdown"]).await;
    assert_eq!(markdown.code, 2);
    assert!(
        markdown.stdout.contains("### Chat folders"),
        "{}",
        markdown.stdout
    );
    assert!(!markdown.stdout.contains('\u{1b}'), "{}", markdown.stdout);
    // The hostile title sits inside one code span, fenced longer than
    // its own backticks and with its pipe escaped: no HTML renders, no
    // fence opens, the table holds.
    assert!(
        markdown
            .stdout
            .contains(r#"| ````"\u{1b}[31m<b>x</b>```\|"```` |"#),
        "{}",
        markdown.stdout
    );
    assert!(!markdown.stdout.contains("\n```"), "{}", markdown.stdout);
    let json = w.run(&["drift", "org.yaml", "--format", "json"]).await;
    assert_eq!(json.code, 2);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let kinds: Vec<&str> = v["folders"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["title", "chat_removed", "chat_added"]);
    assert_eq!(v["folders"]["items"][0]["actual"], HOSTILE);
    assert_eq!(v["summary"]["folders"], 3);
    // The plan that fixes it shows the hostile title as data, in every
    // format, and its JSON keeps it exactly.
    let plan = w.run(&["plan", "org.yaml", "--detailed-exitcode"]).await;
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    assert!(plan.stdout.contains("~ folder.platform"), "{}", plan.stdout);
    assert!(!plan.stdout.contains('\u{1b}'), "{}", plan.stdout);
    assert!(!plan.stderr.contains('\u{1b}'), "{}", plan.stderr);
    let md = w.run(&["plan", "org.yaml", "--format", "markdown"]).await;
    assert!(!md.stdout.contains('\u{1b}'), "{}", md.stdout);
    assert!(!md.stdout.contains("\n```\""), "{}", md.stdout);
    let json = w.run(&["plan", "org.yaml", "--format", "json"]).await;
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert!(
        json.stdout.contains("\\u001b[31m<b>x</b>```|"),
        "{}",
        json.stdout
    );
    assert!(v["changes"].as_array().is_some_and(|c| !c.is_empty()));

    // The title changed in the config: the same folder is edited, its
    // link kept (and the hand changes undone with it).
    w.config(&config(false).replace(
        "    title: Platform\n    department",
        "    title: Platform 2\n    department",
    ));
    let plan = w.run(&["plan", "org.yaml"]).await;
    assert!(plan.stdout.contains("~ folder.platform"), "{}", plan.stdout);
    assert!(
        !plan.stdout.contains("+ folder.platform"),
        "{}",
        plan.stdout
    );
    let apply = w.run(&["apply", "org.yaml", "--auto-approve"]).await;
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    let renamed = the_folder(&rig);
    assert_eq!(renamed, (made.0, "Platform 2".to_string()));
    assert_eq!(link_in(&apply.stdout), link, "the same link");
    assert_eq!(
        mtproto.calls().get("chatlists.exportChatlistInvite"),
        Some(&1)
    );
    assert_eq!(open_titled(mtproto, NEWBIE, &link, "Platform 2").await, 2);
    let drift = w.run(&["drift", "org.yaml"]).await;
    assert_eq!(drift.code, 0, "{}\n{}", drift.stdout, drift.stderr);

    // The link deleted by hand: revoked.
    rig.by_hand(|w| w.folders.links.clear());
    let drift = w.run(&["drift", "org.yaml", "--format", "json"]).await;
    assert_eq!(drift.code, 2, "{}", drift.stdout);
    let v: serde_json::Value = serde_json::from_str(&drift.stdout).unwrap();
    assert_eq!(v["folders"]["items"][0]["kind"], "link_revoked");
    assert_eq!(v["folders"]["items"][0]["expected"], link);

    // The folder deleted by hand: drift says so, the plan makes it again.
    rig.by_hand(|w| {
        w.folders
            .folders
            .retain(|f| !(f.owner == OWNER && f.id == made.0));
        w.folders
            .links
            .retain(|l| !(l.owner == OWNER && l.filter_id == made.0));
    });
    let drift = w.run(&["drift", "org.yaml"]).await;
    assert_eq!(drift.code, 2);
    assert!(drift.stdout.contains("folder deleted"), "{}", drift.stdout);
    let plan = w.run(&["plan", "org.yaml", "--detailed-exitcode"]).await;
    assert_eq!(plan.code, 2);
    assert!(plan.stdout.contains("+ folder.platform"), "{}", plan.stdout);
    assert!(
        plan.stdout.contains("deleted outside orgform"),
        "{}",
        plan.stdout
    );
    let apply = w.run(&["apply", "org.yaml", "--auto-approve"]).await;
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    let again = the_folder(&rig);
    let new_link = rig.sandbox.world_snapshot().folders.links[0].url();
    assert!(
        apply.stdout.contains(&format!("folder link: {new_link}")),
        "{}",
        apply.stdout
    );
    assert_ne!(new_link, link);
    let show = w.run(&["state", "show", "folder/platform"]).await;
    let shown: serde_json::Value = serde_json::from_str(&show.stdout).unwrap();
    assert_eq!(shown["filter_id"], again.0);
    assert_eq!(shown["link"], new_link);

    // Without a person, drift says folders were not checked.
    let blind = w.run_as_bot(&["drift", "org.yaml"]).await;
    assert!(
        blind.stdout.contains("Chat folders were not checked"),
        "{}",
        blind.stdout
    );

    // The record forgotten: the next plan finds the folder by its title
    // and records it again; nothing is made twice.
    let rm = w.run(&["state", "rm", "folder/platform"]).await;
    assert_eq!(rm.code, 0, "{}", rm.stderr);
    let list = w.run(&["state", "list"]).await;
    assert!(!list.stdout.contains("folder/platform"), "{}", list.stdout);
    let plan = w.run(&["plan", "org.yaml", "--detailed-exitcode"]).await;
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    let list = w.run(&["state", "list"]).await;
    assert!(list.stdout.contains("folder/platform"), "{}", list.stdout);
    assert_eq!(
        mtproto.calls().get("chatlists.exportChatlistInvite"),
        Some(&2)
    );
}

/// An edit cut off between the folder and its link (the connection drops
/// before chatlists.editExportedInvite runs): the folder holds the new
/// chat, the link does not. Looking tells the two apart, so the change is
/// not taken as done (the failed run sets the folder back); the next
/// apply makes the edit whole, keeping the link.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_edit_cut_off_before_its_link_is_not_taken_as_done() {
    let rig = builder().start().await;
    let (sandbox, mtproto) = (&rig.sandbox, &rig.mtproto);
    let w = rig.workdir(&config(false));
    let apply = w.run(&["apply", "org.yaml", "--auto-approve"]).await;
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    let link = link_in(&apply.stdout);
    w.config(&config(true));
    mtproto.inject(orgform::sandbox::mtproto::MtprotoFault::Drop {
        method: "chatlists.editExportedInvite".into(),
        after_call: false,
    });
    let cut = w.run(&["apply", "org.yaml", "--auto-approve"]).await;
    assert_ne!(cut.code, 0, "{}\n{}", cut.stdout, cut.stderr);
    assert!(cut.stdout.contains("0 uncertain"), "{}", cut.stdout);
    // Not done, so the failed run's rollback set the folder back too:
    // folder and link agree again, without the new chat.
    let world = sandbox.world_snapshot();
    assert!(!world.folders.folders[0].chats.contains(&ONCALL));
    assert!(!world.folders.links[0].chats.contains(&ONCALL));
    // Drift sees a link behind the config, whatever the folder holds now.
    let drift = w.run(&["drift", "org.yaml", "--format", "json"]).await;
    assert_eq!(drift.code, 2, "{}\n{}", drift.stdout, drift.stderr);
    let v: serde_json::Value = serde_json::from_str(&drift.stdout).unwrap();
    assert_eq!(v["folders"]["items"][0]["kind"], "chat_removed", "{v}");
    assert_eq!(v["folders"]["items"][0]["expected"], "oncall", "{v}");
    let plan = w.run(&["plan", "org.yaml", "--detailed-exitcode"]).await;
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    let apply = w.run(&["apply", "org.yaml", "--auto-approve"]).await;
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    let world = sandbox.world_snapshot();
    assert!(world.folders.links[0].chats.contains(&ONCALL));
    assert!(world.folders.folders[0].chats.contains(&ONCALL));
    assert_eq!(world.folders.links[0].url(), link, "the same link");
    assert_eq!(
        mtproto.calls().get("chatlists.exportChatlistInvite"),
        Some(&1)
    );
    let settled = w.run(&["plan", "org.yaml", "--detailed-exitcode"]).await;
    assert_eq!(settled.code, 0, "{}\n{}", settled.stdout, settled.stderr);
}

/// Two applies at once against one store: the lock lets one make the
/// folder; the other is refused or finds nothing left to do. One folder,
/// one link, one record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_applies_at_once_make_one_folder() {
    let rig = builder().start().await;
    let (sandbox, mtproto) = (&rig.sandbox, &rig.mtproto);
    let w = rig.workdir(&config(false));
    let spawn = || {
        w.command(&["apply", "org.yaml", "--auto-approve"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = tokio::task::spawn_blocking(move || {
        (a.wait_with_output().unwrap(), b.wait_with_output().unwrap())
    })
    .await
    .unwrap();
    let ok = [&a, &b].iter().filter(|o| o.status.success()).count();
    assert!(
        ok >= 1,
        "{}\n{}",
        String::from_utf8_lossy(&a.stderr),
        String::from_utf8_lossy(&b.stderr)
    );
    let world = sandbox.world_snapshot();
    assert_eq!(world.folders.folders.len(), 1, "{:?}", world.folders);
    assert_eq!(world.folders.links.len(), 1, "{:?}", world.folders);
    assert_eq!(
        mtproto.calls().get("chatlists.exportChatlistInvite"),
        Some(&1)
    );
    let show = w.run(&["state", "show", "folder/platform"]).await;
    let shown: serde_json::Value = serde_json::from_str(&show.stdout).unwrap();
    assert_eq!(shown["link"], world.folders.links[0].url());
    let again = w.run(&["plan", "org.yaml", "--detailed-exitcode"]).await;
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
}
