//! Adding declared members directly, end to end: a chat with
//! `add_members: direct` plans an addition (not a personal link) for a
//! declared member who is not in it; `apply` adds them over MTProto
//! (channels.inviteToChannel); a person whose privacy settings refuse it,
//! or whom the config gives no username for, gets the bot's personal link
//! instead; after PEER_FLOOD the run adds nobody more and says so.

use orgform::mtproto::UserSession;
use orgform::sandbox::RunningSandbox;
use orgform::sandbox::mtproto::{MtprotoFault, RunningMtproto};
use orgform::sandbox::world::User;
use orgform::state::ChatType;

use super::rig::{OWNER, RigBuilder, orgform};

const CHAT: i64 = -1_001_000_000_005;
const ALICE: i64 = 100_010;
const PAT: i64 = 100_011;
const NONAME: i64 = 100_012;
const FRED: i64 = 100_013;
const GINA: i64 = 100_014;

async fn rig() -> (RunningSandbox, RunningMtproto, UserSession) {
    let mut rig = RigBuilder::new();
    for (id, name, username, private) in [
        (ALICE, "Alice", Some("alice_a"), false),
        (PAT, "Pat", Some("pat_p"), true),
        (NONAME, "Nemo", None, false),
        (FRED, "Fred", Some("fred_f"), false),
        (GINA, "Gina", Some("gina_g"), false),
    ] {
        let mut user = User::human(id, name);
        user.username = username.map(str::to_string);
        user.privacy_restricted = private;
        user.started_bot = true;
        rig = rig.user(user);
    }
    let rig = rig.chat(CHAT, "Team").start().await;
    (rig.sandbox, rig.mtproto, rig.session)
}

fn config(people: &[&str]) -> String {
    let mut text = format!(
        r#"org:
  name: Acme
  telegram:
    bot: acme_org_bot
    provider: both
people:
  olga: {{telegram_id: {OWNER}}}
  alice: {{telegram_id: {ALICE}, username: alice_a}}
  pat: {{telegram_id: {PAT}, username: pat_p}}
  nemo: {{telegram_id: {NONAME}}}
  fred: {{telegram_id: {FRED}, username: fred_f}}
  gina: {{telegram_id: {GINA}, username: gina_g}}
chats:
  team:
    id: {CHAT}
    type: supergroup
    title: Team
    membership: additive
    add_members: direct
    members:
      - person: olga
"#
    );
    for p in people {
        text.push_str(&format!("      - person: {p}\n"));
    }
    text
}

fn status(sandbox: &RunningSandbox, user: i64) -> &'static str {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    sandbox.world_snapshot().chats[&CHAT]
        .status(user, now)
        .status_name()
}

fn personal_links(sandbox: &RunningSandbox) -> Vec<String> {
    let mut names: Vec<String> = sandbox.world_snapshot().chats[&CHAT]
        .invite_links
        .iter()
        .filter(|l| l.member_limit == Some(1))
        .filter_map(|l| l.name.clone())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_members_are_added_directly_with_the_link_as_fallback_and_peer_flood_stops_it() {
    let (sandbox, mtproto, session) = rig().await;
    let dir = tempfile::tempdir().unwrap();
    let secret = session.expose();
    std::fs::write(
        dir.path().join("org.yaml"),
        config(&["alice", "pat", "nemo"]),
    )
    .unwrap();

    let plan = orgform(
        dir.path(),
        &sandbox,
        Some(&secret),
        &["plan", "org.yaml", "--detailed-exitcode"],
    )
    .await;
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout.contains("+ chat.team.member.alice"),
        "an addition, not a link: {}",
        plan.stdout
    );
    assert!(!plan.stdout.contains("Invite links"), "{}", plan.stdout);

    let apply = orgform(
        dir.path(),
        &sandbox,
        Some(&secret),
        &["apply", "org.yaml", "--auto-approve"],
    )
    .await;
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    let said = format!("{}\n{}", apply.stdout, apply.stderr);
    assert_eq!(status(&sandbox, ALICE), "member");
    assert_eq!(status(&sandbox, PAT), "left", "privacy refuses");
    assert_eq!(status(&sandbox, NONAME), "left");
    assert!(said.contains("their privacy settings"), "{said}");
    assert!(said.contains("no username"), "{said}");
    assert_eq!(
        personal_links(&sandbox),
        ["orgform: nemo", "orgform: pat"],
        "the fallback is the bot's personal link"
    );
    // alice and pat were tried; nemo could not be found.
    assert_eq!(mtproto.calls().get("channels.inviteToChannel"), Some(&2));

    // Settled: alice is in, the others have a pending link.
    let again = orgform(
        dir.path(),
        &sandbox,
        Some(&secret),
        &["plan", "org.yaml", "--detailed-exitcode"],
    )
    .await;
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);

    // PEER_FLOOD on the first addition: nobody more is tried this run.
    std::fs::write(
        dir.path().join("org.yaml"),
        config(&["alice", "pat", "nemo", "fred", "gina"]),
    )
    .unwrap();
    mtproto.inject(MtprotoFault::Error {
        method: "channels.inviteToChannel".into(),
        code: 400,
        message: "PEER_FLOOD".into(),
    });
    let flooded = orgform(
        dir.path(),
        &sandbox,
        Some(&secret),
        &["apply", "org.yaml", "--auto-approve"],
    )
    .await;
    assert_eq!(flooded.code, 0, "{}\n{}", flooded.stdout, flooded.stderr);
    let said = format!("{}\n{}", flooded.stdout, flooded.stderr);
    assert!(said.contains("PEER_FLOOD"), "{said}");
    assert_eq!(
        mtproto.calls().get("channels.inviteToChannel"),
        Some(&3),
        "fred met PEER_FLOOD; gina was not tried"
    );
    assert_eq!(status(&sandbox, FRED), "left");
    assert_eq!(status(&sandbox, GINA), "left");
    assert_eq!(
        personal_links(&sandbox),
        [
            "orgform: fred",
            "orgform: gina",
            "orgform: nemo",
            "orgform: pat"
        ]
    );
}

/// The answer to an addition is lost (the connection drops after
/// channels.inviteToChannel ran): the applier reads the member list before
/// deciding, so the outcome is known, not asked; the failed run undoes it
/// (the bot removes them again) and the next apply adds them once more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_addition_cut_off_mid_call_is_settled_by_the_member_list() {
    let (sandbox, mtproto, session) = rig().await;
    let dir = tempfile::tempdir().unwrap();
    let secret = session.expose();
    std::fs::write(dir.path().join("org.yaml"), config(&["alice"])).unwrap();
    mtproto.inject(MtprotoFault::Drop {
        method: "channels.inviteToChannel".into(),
        after_call: true,
    });
    let cut = orgform(
        dir.path(),
        &sandbox,
        Some(&secret),
        &["apply", "org.yaml", "--auto-approve"],
    )
    .await;
    assert_ne!(cut.code, 0, "{}\n{}", cut.stdout, cut.stderr);
    assert!(cut.stdout.contains("the answer was lost"), "{}", cut.stdout);
    assert!(cut.stdout.contains("0 uncertain"), "{}", cut.stdout);
    assert!(cut.stdout.contains("1 rolled back"), "{}", cut.stdout);
    assert_eq!(status(&sandbox, ALICE), "left");
    assert!(personal_links(&sandbox).is_empty(), "no link was sent");
    let again = orgform(
        dir.path(),
        &sandbox,
        Some(&secret),
        &["apply", "org.yaml", "--auto-approve"],
    )
    .await;
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    assert_eq!(status(&sandbox, ALICE), "member");
    assert_eq!(mtproto.calls().get("channels.inviteToChannel"), Some(&2));
}

/// A direct addition whose answer was lost, for someone whose privacy
/// refused it: the bot's fallback link may be what was lost. The account
/// lists the bot's links before deciding: a link of that name means the
/// link was made (done, delivery unknown), none means not done, and
/// without the bot's name nothing can be said (a person decides).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_fallback_link_is_found_by_listing_the_bots_links() {
    use orgform::apply::provider::Observed;
    use orgform::apply::{Answer, Evidence, Provider};
    use orgform::plan::{Action, Change, Op, Step, Value};
    let (sandbox, _mtproto, session) = rig().await;
    let provider =
        orgform::mtproto::UserProvider::new(orgform::mtproto::UserClient::connect(&session, 12345));
    let change = |bot: Option<&str>| Change {
        address: orgform::state::Address::member("team", "pat"),
        chat: "team".into(),
        chat_id: CHAT,
        chat_type: ChatType::Supergroup,
        action: Action::Create,
        step: Step::Invites,
        op: Op::AddMember {
            user: PAT,
            username: Some("pat_p".into()),
            name: "orgform: pat".into(),
            expires: 1_900_000_000,
            bot: bot.map(str::to_string),
        },
        before: Value::absent(),
        after: Value::Member(orgform::state::MemberState::Member),
        why: vec![],
        reversible: true,
        person: Some("pat".into()),
        undeclared: false,
        seat: None,
    };
    let with_bot = change(Some("acme_org_bot"));
    let before = Observed::Nothing;
    assert!(
        matches!(
            provider.evidence(&with_bot, &before).await,
            Evidence::NotDone { .. }
        ),
        "no link, not a member: not done"
    );

    // The bot made the link (its answer was the one lost).
    let made: serde_json::Value = reqwest::Client::new()
        .post(sandbox.method_url("createChatInviteLink"))
        .json(&serde_json::json!({"chat_id": CHAT, "name": "orgform: pat", "member_limit": 1}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = made["result"]["invite_link"].as_str().unwrap().to_string();
    match provider.evidence(&with_bot, &before).await {
        Evidence::Done { executed, by } => {
            assert!(by.contains("getExportedChatInvites"), "{by}");
            match executed.answer {
                Answer::PersonalInvite {
                    url: found,
                    delivered,
                    ..
                } => {
                    assert_eq!(found, url);
                    assert!(!delivered, "delivery is not known");
                }
                other => panic!("{other:?}"),
            }
        }
        other => panic!("the link is there: {other:?}"),
    }
    assert_eq!(
        provider.evidence(&change(None), &before).await,
        Evidence::Unknown,
        "without the bot's name the account cannot tell"
    );
}
