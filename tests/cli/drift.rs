//! `orgform drift` end to end on the in-process sandbox: a converged org
//! has no drift; a scripted set of human acts produces exactly those items
//! with the right fixer (text, Markdown, JSON); `apply` then leaves only
//! what a person must fix.
//!
//! Each test seeds `<state>/sandbox/world.json` from examples/acme without
//! the seeder's random drift, converges it with `orgform apply`, and acts as
//! people by opening that world in a library sandbox between commands.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use orgform::sandbox::world::Member;
use orgform::sandbox::{self, SandboxOptions, SeedOptions, World};
use orgform::state::{DesiredState, UserId};
use serde_json::{Value, json};

const CONFIG: &str = "examples/acme";

const ENGINEERING: i64 = -1001000000010;
const PLATFORM: i64 = -1001000000011;
const SALES: i64 = -1001000000022;
const LEADERSHIP: i64 = -1001000000003;

fn orgform(state: &Path) -> Command {
    crate::hermetic::orgform(state)
}

/// Commands run on the machine's clock, not `--now`: the store orders what
/// it learns by time, and the sandbox stamps its updates with the real time,
/// so a command reading at another instant would mix two clocks.
fn run(state: &Path, args: &[&str]) -> (i32, String, String) {
    let out = orgform(state).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn drift(state: &Path, format: &str) -> (i32, String, String) {
    run(state, &["drift", CONFIG, "--sandbox", "--format", format])
}

fn desired() -> DesiredState {
    orgform::model::load_desired(Path::new(CONFIG), jiff::Timestamp::now()).unwrap()
}

fn world_path(state: &Path) -> PathBuf {
    state.join("sandbox").join("world.json")
}

/// A world where the config is true, then `orgform apply` for what only
/// apply can create (topics, links, commands, and the store behind them).
fn converged_org() -> tempfile::TempDir {
    let state = tempfile::tempdir().unwrap();
    let world = World::from_desired(
        &desired(),
        &SeedOptions {
            drift: false,
            ..SeedOptions::default()
        },
    );
    std::fs::create_dir_all(state.path().join("sandbox")).unwrap();
    world.save(&world_path(state.path())).unwrap();
    let (code, stdout, stderr) = run(
        state.path(),
        &["apply", CONFIG, "--sandbox", "--auto-approve"],
    );
    assert_eq!(code, 0, "apply failed:\n{stdout}\n{stderr}");
    state
}

/// Open the saved world in a sandbox, act as people, save it again.
fn act(state: &Path, acts: impl FnOnce(&sandbox::RunningSandbox, &World)) {
    let path = world_path(state);
    let world = World::load(&path).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let options = SandboxOptions {
            world_file: Some(path.clone()),
            ..SandboxOptions::default()
        };
        let running = sandbox::start(options, world.clone()).await.unwrap();
        acts(&running, &world);
        running.shutdown().await.unwrap();
    });
}

fn owner(world: &World, chat: i64) -> UserId {
    world.chats[&chat]
        .members
        .iter()
        .find(|(_, m)| matches!(m, Member::Creator { .. }))
        .map(|(u, _)| *u)
        .unwrap()
}

fn handle(desired: &DesiredState, user: UserId) -> String {
    desired.handle(user)
}

/// The people the scripted acts involve, chosen deterministically.
struct Cast {
    stray_admin: UserId,
    joiner: UserId,
    leaver: UserId,
    /// A member of engineering whose tag a person changes.
    tagged: UserId,
}

fn cast(desired: &DesiredState, world: &World) -> Cast {
    let chats = &desired.state.chats;
    let platform = &chats["platform"];
    let engineering = &chats["engineering"];
    let plain = |chat: i64, user: &UserId| {
        matches!(
            world.chats[&chat].members.get(user),
            Some(Member::Member { .. })
        )
    };
    let stray_admin = *platform
        .members
        .keys()
        .find(|u| !platform.admins.contains_key(u) && plain(PLATFORM, u))
        .unwrap();
    let in_engineering: BTreeSet<UserId> = engineering
        .members
        .keys()
        .chain(engineering.admins.keys())
        .copied()
        .collect();
    let joiner = *chats["sales"]
        .members
        .keys()
        .find(|u| !in_engineering.contains(u) && !desired.people[u].offboarded)
        .unwrap();
    let leaver = *engineering
        .members
        .keys()
        .find(|u| !engineering.admins.contains_key(u) && plain(ENGINEERING, u))
        .unwrap();
    let tags = engineering.tags.clone().unwrap_or_default();
    let tagged = *tags
        .keys()
        .find(|u| **u != leaver && plain(ENGINEERING, u))
        .unwrap();
    Cast {
        stray_admin,
        joiner,
        leaver,
        tagged,
    }
}

/// The issue's scripted human acts.
fn scripted_acts(state: &Path) -> Cast {
    let desired = desired();
    let store = orgform::store::Backend::load(
        &orgform::store::sqlite::Sqlite::open(&state.join("sandbox")).unwrap(),
    )
    .unwrap();
    let releases = store.chat(ENGINEERING).unwrap().topics["releases"].thread_id;
    let mut chosen = None;
    act(state, |sb, world| {
        let who = cast(&desired, world);
        // The platform chat's owner promotes someone the config does not make an admin.
        sb.act(owner(world, PLATFORM), "promoteChatMember", json!({"chat_id": PLATFORM, "user_id": who.stray_admin, "can_pin_messages": true, "can_delete_messages": true}))
            .unwrap();
        // The sales chat gets a new title by hand.
        sb.act(
            owner(world, SALES),
            "setChatTitle",
            json!({"chat_id": SALES, "title": "Sales & Friends"}),
        )
        .unwrap();
        // Someone from sales joins engineering with a link its owner made.
        let link = sb
            .act(
                owner(world, ENGINEERING),
                "createChatInviteLink",
                json!({"chat_id": ENGINEERING, "name": "hallway"}),
            )
            .unwrap();
        sb.act(
            who.joiner,
            "joinChat",
            json!({"invite_link": link["invite_link"]}),
        )
        .unwrap();
        // A declared member leaves engineering.
        sb.act(who.leaver, "leaveChat", json!({"chat_id": ENGINEERING}))
            .unwrap();
        // The Releases topic is renamed.
        sb.act(
            owner(world, ENGINEERING),
            "editForumTopic",
            json!({"chat_id": ENGINEERING, "message_thread_id": releases, "name": "Ship it"}),
        )
        .unwrap();
        // Someone pins their own message on top of the bot's in engineering.
        let lunch = sb
            .act(
                owner(world, ENGINEERING),
                "sendMessage",
                json!({"chat_id": ENGINEERING, "text": "Lunch at noon?"}),
            )
            .unwrap();
        sb.act(
            owner(world, ENGINEERING),
            "pinChatMessage",
            json!({"chat_id": ENGINEERING, "message_id": lunch["message_id"]}),
        )
        .unwrap();
        // And gives a tagged member another tag.
        sb.act(
            owner(world, ENGINEERING),
            "setChatMemberTag",
            json!({"chat_id": ENGINEERING, "user_id": who.tagged, "tag": "Intern"}),
        )
        .unwrap();
        // Content protection is switched off in the leadership chat.
        sb.act(
            owner(world, LEADERSHIP),
            "setChatProtectedContent",
            json!({"chat_id": LEADERSHIP, "enabled": false}),
        )
        .unwrap();
        chosen = Some(who);
    });
    chosen.unwrap()
}

/// Times that come from the machine's clock are not part of the snapshot.
fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z", "[time]");
    s
}

fn items(report: &Value) -> Vec<(String, String, String, String)> {
    let mut out = Vec::new();
    for chat in report["chats"].as_array().unwrap() {
        for i in chat["items"].as_array().unwrap() {
            let s = |k: &str| i[k].as_str().unwrap().to_string();
            out.push((s("address"), s("kind"), s("status"), s("fixer")));
        }
    }
    out
}

fn item(address: &str, kind: &str, fixer: &str) -> (String, String, String, String) {
    (
        address.to_string(),
        kind.to_string(),
        "drift".to_string(),
        fixer.to_string(),
    )
}

#[test]
fn after_apply_drift_exits_0_with_an_empty_report() {
    let state = converged_org();
    let (code, text, stderr) = drift(state.path(), "text");
    assert_eq!(code, 0, "{text}\n{stderr}");
    assert!(
        text.contains("No drift: Telegram matches the configuration in all 10 chats."),
        "{text}"
    );
    let (code, json_text, _) = drift(state.path(), "json");
    assert_eq!(code, 0);
    let report: Value = serde_json::from_str(&json_text).unwrap();
    assert_eq!(report["format_version"], 1);
    assert_eq!(report["summary"]["items"], 0);
    assert!(items(&report).is_empty());
    let (code, markdown, _) = drift(state.path(), "markdown");
    assert_eq!(code, 0);
    assert!(markdown.contains("**No drift.**"), "{markdown}");
}

#[test]
fn scripted_human_acts_produce_exactly_those_items() {
    let state = converged_org();
    let who = scripted_acts(state.path());
    let d = desired();
    let (code, json_text, stderr) = drift(state.path(), "json");
    assert_eq!(code, 2, "drift exits 2\n{json_text}\n{stderr}");
    let report: Value = serde_json::from_str(&json_text).unwrap();
    let mut got = items(&report);
    got.sort();
    let mut want = vec![
        item(
            &format!("chat.platform.admin.{}", handle(&d, who.stray_admin)),
            "unexpected_admins",
            "person",
        ),
        item("chat.sales.title", "settings", "apply"),
        item(
            &format!("chat.engineering.member.{}", handle(&d, who.joiner)),
            "undeclared_members",
            "apply",
        ),
        item(
            &format!("chat.engineering.member.{}", handle(&d, who.leaver)),
            "missing_members",
            "person",
        ),
        item("chat.engineering.topic.releases", "topics", "apply"),
        item("chat.engineering.pinned", "settings", "apply"),
        item(
            &format!("chat.engineering.tag.{}", handle(&d, who.tagged)),
            "tags",
            "apply",
        ),
        item(
            "chat.leadership.protected_content",
            "manual_settings",
            "person",
        ),
    ];
    want.sort();
    assert_eq!(got, want);

    let settings = settings();
    settings.bind(|| {
        insta::assert_json_snapshot!("json", report, {
            ".chats[].members.last_update" => "[time]",
            ".chats[].members.oldest_observation" => "[time]",
        });
        let (code, text, _) = drift(state.path(), "text");
        assert_eq!(code, 2);
        insta::assert_snapshot!("text", text);
        let (code, markdown, _) = drift(state.path(), "markdown");
        assert_eq!(code, 2);
        insta::assert_snapshot!("markdown", markdown);
    });
}

#[test]
fn acts_then_apply_leave_only_what_a_person_must_fix() {
    let state = converged_org();
    let who = scripted_acts(state.path());
    let d = desired();
    let (code, stdout, stderr) = run(
        state.path(),
        &["apply", CONFIG, "--sandbox", "--auto-approve"],
    );
    assert_eq!(code, 0, "apply failed:\n{stdout}\n{stderr}");
    let (code, json_text, stderr) = drift(state.path(), "json");
    assert_eq!(code, 2, "{json_text}\n{stderr}");
    let report: Value = serde_json::from_str(&json_text).unwrap();
    let mut got = items(&report);
    got.sort();
    let mut want = vec![
        item(
            &format!("chat.platform.admin.{}", handle(&d, who.stray_admin)),
            "unexpected_admins",
            "person",
        ),
        item(
            &format!("chat.engineering.member.{}", handle(&d, who.leaver)),
            "missing_members",
            "person",
        ),
        item(
            "chat.leadership.protected_content",
            "manual_settings",
            "person",
        ),
    ];
    want.sort();
    assert_eq!(got, want);
    assert_eq!(report["summary"]["apply"], 0);
    // The leaver now has a personal invite waiting.
    let leaver = report["chats"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["items"].as_array().unwrap().iter())
        .find(|i| i["kind"] == "missing_members")
        .unwrap();
    assert!(
        leaver["fix"]
            .as_str()
            .unwrap()
            .starts_with("a personal invite link was sent"),
        "{leaver}"
    );
}

#[test]
fn drift_without_a_token_is_an_error() {
    let state = tempfile::tempdir().unwrap();
    let (code, _, stderr) = run(state.path(), &["drift", CONFIG]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("no bot token"), "{stderr}");
}

#[test]
fn a_topic_edited_by_hand_reaches_the_bot_as_a_valid_service_message() {
    let state = converged_org();
    let store = orgform::store::Backend::load(
        &orgform::store::sqlite::Sqlite::open(&state.path().join("sandbox")).unwrap(),
    )
    .unwrap();
    let releases = store.chat(ENGINEERING).unwrap().topics["releases"].thread_id;
    let spec = orgform::botapi_spec::BotApiSpec::reference().expect("the reference spec loads");
    act(state.path(), |sb, world| {
        let owner = owner(world, ENGINEERING);
        sb.act(
            owner,
            "editForumTopic",
            json!({"chat_id": ENGINEERING, "message_thread_id": releases, "name": "Ship it"}),
        )
        .unwrap();
        sb.act(
            owner,
            "closeForumTopic",
            json!({"chat_id": ENGINEERING, "message_thread_id": releases}),
        )
        .unwrap();
        let updates: Vec<Value> = sb
            .world_snapshot()
            .updates
            .pending
            .iter()
            .filter(|u| u.kind == "message")
            .map(|u| u.update.clone())
            .collect();
        assert_eq!(updates.len(), 2, "{updates:#?}");
        assert_eq!(
            updates[0]["message"]["forum_topic_edited"],
            json!({"name": "Ship it"})
        );
        assert_eq!(updates[0]["message"]["message_thread_id"], json!(releases));
        assert_eq!(updates[1]["message"]["forum_topic_closed"], json!({}));
        for u in &updates {
            spec.check_type("Update", u)
                .unwrap_or_else(|e| panic!("{e:?}\n{u:#}"));
        }
    });
    // drift folds both into what it reports, and apply undoes both.
    let (code, json_text, _) = drift(state.path(), "json");
    assert_eq!(code, 2);
    let report: Value = serde_json::from_str(&json_text).unwrap();
    let got: Vec<_> = items(&report)
        .into_iter()
        .map(|(address, ..)| address)
        .collect();
    assert_eq!(
        got,
        vec![
            "chat.engineering.topic.releases",
            "chat.engineering.topic.releases"
        ]
    );
    let (code, _, stderr) = run(
        state.path(),
        &["apply", CONFIG, "--sandbox", "--auto-approve"],
    );
    assert_eq!(code, 0, "{stderr}");
    let (code, text, _) = drift(state.path(), "text");
    assert_eq!(code, 0, "{text}");
}
