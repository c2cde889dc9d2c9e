//! Person-only settings as ordinary plan changes, end to end through the
//! binary: `plan` shows them as changes (not manual steps) when the org
//! uses the user provider, `apply` sets them over MTProto, the next plan
//! is empty, `rollback` undoes them; and the session never shows up in any
//! output, journal, state or plan file.

use std::path::Path;
use std::str::FromStr;

use orgform::mtproto::UserSession;
use orgform::sandbox::RunningSandbox;
use orgform::sandbox::mtproto::{MtprotoFault, RunningMtproto};
use orgform::sandbox::world::{Member, User};

// `orgform` is re-exported here too: it lived here before the rig.
#[allow(unused_imports)]
pub(crate) use super::rig::{BOT, OWNER, RigBuilder, Run, orgform};

const CHAT: i64 = -1_001_000_000_001;

fn config(provider: &str) -> String {
    format!(
        r#"org:
  name: Acme
  telegram:
    bot: acme_org_bot
    provider: {provider}
chats:
  eng:
    id: {CHAT}
    type: supergroup
    title: Engineering
    membership: observe
    slow_mode: 30
    protected_content: true
    join_by_request: true
    join_to_send: true
    hidden_members: true
    history_for_new_members: false
"#
    )
}

async fn rig() -> (RunningSandbox, RunningMtproto, UserSession) {
    let rig = RigBuilder::new().chat(CHAT, "Engineering").start().await;
    (rig.sandbox, rig.mtproto, rig.session)
}

fn chat_settings(sandbox: &RunningSandbox) -> (u32, bool, bool, bool, bool, bool) {
    let world = sandbox.world_snapshot();
    let chat = &world.chats[&CHAT];
    (
        chat.slow_mode_delay,
        chat.has_protected_content,
        chat.join_by_request,
        chat.join_to_send_messages,
        chat.has_hidden_members,
        chat.history_hidden,
    )
}

/// Every file below `dir`, read as bytes.
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn person_only_settings_are_planned_applied_and_rolled_back() {
    let (sandbox, mtproto, session) = rig().await;
    let dir = tempfile::tempdir().unwrap();
    let secret = session.expose();
    let key_hex = secret.rsplit('/').next().unwrap().to_string();

    // With the bot alone they are manual steps.
    std::fs::write(dir.path().join("org.yaml"), config("bot")).unwrap();
    let bot_only = orgform(dir.path(), &sandbox, None, &["plan", "org.yaml"]).await;
    assert!(bot_only.stdout.contains("slow_mode"), "{}", bot_only.stdout);
    assert!(
        bot_only.stdout.to_lowercase().contains("manual"),
        "{}",
        bot_only.stdout
    );

    std::fs::write(dir.path().join("org.yaml"), config("both")).unwrap();
    let plan = orgform(
        dir.path(),
        &sandbox,
        Some(&secret),
        &[
            "plan",
            "org.yaml",
            "--detailed-exitcode",
            "--out",
            "plan.json",
        ],
    )
    .await;
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("plan.json")).unwrap())
            .unwrap();
    let ops: Vec<&serde_json::Value> = saved["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["op"])
        .collect();
    assert_eq!(ops.len(), 6, "{ops:?}");
    assert!(
        ops.iter()
            .all(|op| op.to_string().contains("set_person_setting")),
        "{ops:?}"
    );

    let apply = orgform(
        dir.path(),
        &sandbox,
        Some(&secret),
        &["apply", "org.yaml", "--auto-approve"],
    )
    .await;
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    assert_eq!(chat_settings(&sandbox), (30, true, true, true, true, true));
    let calls = mtproto.calls();
    assert_eq!(calls.get("channels.toggleSlowMode"), Some(&1), "{calls:?}");
    assert_eq!(calls.get("messages.toggleNoForwards"), Some(&1));
    assert_eq!(calls.get("channels.toggleJoinRequest"), Some(&1));
    assert_eq!(calls.get("channels.toggleJoinToSend"), Some(&1));
    assert_eq!(calls.get("channels.toggleParticipantsHidden"), Some(&1));
    assert_eq!(calls.get("channels.togglePreHistoryHidden"), Some(&1));

    let again = orgform(
        dir.path(),
        &sandbox,
        Some(&secret),
        &["plan", "org.yaml", "--detailed-exitcode"],
    )
    .await;
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);

    // Roll the run back: the settings return to what they were.
    let run_id = apply
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("Run "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("a run id in {}", apply.stderr))
        .to_string();
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
    assert_eq!(
        chat_settings(&sandbox),
        (0, false, false, false, false, false)
    );

    // Without a session the person-only changes are refused before anything runs.
    let refused = orgform(
        dir.path(),
        &sandbox,
        None,
        &["apply", "org.yaml", "--auto-approve"],
    )
    .await;
    assert_eq!(refused.code, 1, "{}\n{}", refused.stdout, refused.stderr);
    assert_eq!(
        chat_settings(&sandbox),
        (0, false, false, false, false, false)
    );

    // The session shows up nowhere: outputs, journal, state, plan file.
    let mut files = Vec::new();
    all_files(dir.path(), &mut files);
    for run in [&plan, &apply, &again, &rollback, &refused, &bot_only] {
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
async fn a_chat_without_id_is_planned_created_recorded_and_never_created_twice() {
    let (sandbox, mtproto, session) = rig().await;
    let dir = tempfile::tempdir().unwrap();
    let secret = session.expose();
    let config = |provider: &str, with_new: bool| {
        let mut text = config(provider);
        if with_new {
            text.push_str(
                "  incidents:\n    type: supergroup\n    title: Incidents\n    description: Pages go here\n    forum: true\n    membership: observe\n",
            );
        }
        text.replace(
            "    slow_mode: 30\n    protected_content: true\n    join_by_request: true\n    join_to_send: true\n    hidden_members: true\n    history_for_new_members: false\n",
            "",
        )
    };

    // With the bot alone a chat needs an id.
    std::fs::write(dir.path().join("org.yaml"), config("bot", true)).unwrap();
    let refused = orgform(dir.path(), &sandbox, None, &["validate", "org.yaml"]).await;
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("has no id"), "{}", refused.stderr);

    std::fs::write(dir.path().join("org.yaml"), config("both", true)).unwrap();
    let plan = orgform(
        dir.path(),
        &sandbox,
        Some(&secret),
        &["plan", "org.yaml", "--detailed-exitcode"],
    )
    .await;
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    assert!(plan.stdout.contains("chat.incidents"), "{}", plan.stdout);

    let apply = orgform(
        dir.path(),
        &sandbox,
        Some(&secret),
        &["apply", "org.yaml", "--auto-approve"],
    )
    .await;
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    let world = sandbox.world_snapshot();
    let created: Vec<_> = world
        .chats
        .values()
        .filter(|c| c.title == "Incidents")
        .collect();
    assert_eq!(created.len(), 1);
    let id = created[0].id;
    assert!(created[0].is_forum);
    assert_eq!(created[0].description, "Pages go here");
    assert!(
        apply
            .stderr
            .contains(&format!("Add `id: {id}` to chats.incidents")),
        "{}",
        apply.stderr
    );
    // The bot is an administrator with the rights it needs, over the Bot API.
    let member: serde_json::Value = reqwest::Client::new()
        .post(sandbox.method_url("getChatMember"))
        .json(&serde_json::json!({"chat_id": id, "user_id": BOT}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(member["result"]["status"], "administrator", "{member}");
    for right in [
        "can_change_info",
        "can_delete_messages",
        "can_restrict_members",
        "can_invite_users",
        "can_pin_messages",
        "can_manage_topics",
        "can_promote_members",
    ] {
        assert_eq!(member["result"][right], true, "{right}: {member}");
    }
    assert_eq!(mtproto.calls().get("channels.createChannel"), Some(&1));

    // The next plan is empty, though the config still has no id: the state
    // records it.
    let again = orgform(
        dir.path(),
        &sandbox,
        Some(&secret),
        &["plan", "org.yaml", "--detailed-exitcode"],
    )
    .await;
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    let reapply = orgform(
        dir.path(),
        &sandbox,
        Some(&secret),
        &["apply", "org.yaml", "--auto-approve"],
    )
    .await;
    assert_eq!(reapply.code, 0, "{}\n{}", reapply.stdout, reapply.stderr);
    assert_eq!(mtproto.calls().get("channels.createChannel"), Some(&1));

    // `orgform import ids` writes the recorded id into the file that
    // declares the chat, keeping its comments and layout (and a symlinked
    // config stays a symlink: the file it points to is edited).
    let commented = format!("# Acme's chats\n{}", config("both", true));
    std::fs::write(dir.path().join("real.yaml"), &commented).unwrap();
    std::fs::remove_file(dir.path().join("org.yaml")).unwrap();
    std::os::unix::fs::symlink("real.yaml", dir.path().join("org.yaml")).unwrap();
    let ids = orgform(
        dir.path(),
        &sandbox,
        None,
        &["import", "ids", "--config", "org.yaml"],
    )
    .await;
    assert_eq!(ids.code, 0, "{}\n{}", ids.stdout, ids.stderr);
    assert!(
        ids.stdout
            .contains(&format!("Added `id: {id}` to chats.incidents in org.yaml")),
        "{}",
        ids.stdout
    );
    assert!(
        std::fs::symlink_metadata(dir.path().join("org.yaml"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let written = std::fs::read_to_string(dir.path().join("real.yaml")).unwrap();
    assert_eq!(
        written,
        commented.replace(
            "  incidents:\n    type: supergroup\n",
            &format!("  incidents:\n    id: {id}\n    type: supergroup\n")
        )
    );
    let nothing = orgform(
        dir.path(),
        &sandbox,
        None,
        &["import", "ids", "--config", "org.yaml"],
    )
    .await;
    assert_eq!(nothing.code, 0, "{}\n{}", nothing.stdout, nothing.stderr);
    assert!(
        nothing.stdout.contains("already has its id"),
        "{}",
        nothing.stdout
    );
    let named = orgform(
        dir.path(),
        &sandbox,
        Some(&secret),
        &["plan", "org.yaml", "--detailed-exitcode"],
    )
    .await;
    assert_eq!(named.code, 0, "{}\n{}", named.stdout, named.stderr);

    // Dropping the chat from the config never plans its deletion.
    std::fs::write(dir.path().join("org.yaml"), config("both", false)).unwrap();
    let without = orgform(
        dir.path(),
        &sandbox,
        Some(&secret),
        &["plan", "org.yaml", "--detailed-exitcode"],
    )
    .await;
    assert_eq!(without.code, 0, "{}\n{}", without.stdout, without.stderr);
    assert!(sandbox.world_snapshot().chats.contains_key(&id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authoritative_chats_know_every_member_without_a_ledger() {
    let (sandbox, mtproto, session) = rig().await;
    // Two people in the chat the bot never saw join.
    let mut world = sandbox.world_snapshot();
    for id in [200_001, 200_002] {
        world.add_user(User::human(id, "Unseen"));
        world
            .chats
            .get_mut(&CHAT)
            .unwrap()
            .set_status(id, Member::plain());
    }
    sandbox.replace_world(world);
    let dir = tempfile::tempdir().unwrap();
    let secret = session.expose();
    let config = |provider: &str| {
        format!(
            r#"org:
  name: Acme
  telegram:
    bot: acme_org_bot
    provider: {provider}
people:
  olga: {{telegram_id: {OWNER}, name: Olga}}
chats:
  eng:
    id: {CHAT}
    type: supergroup
    title: Engineering
    membership: authoritative
    members: [{{person: olga}}]
"#
        )
    };
    let kicks = |plan: &Path| -> Vec<i64> {
        let saved: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(plan).unwrap()).unwrap();
        saved["changes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["op"].to_string().to_lowercase().contains("kick"))
            .filter_map(|c| c["address"].as_str()?.rsplit('.').next()?.parse().ok())
            .collect()
    };

    // The bot alone cannot see them: nothing to remove.
    std::fs::write(dir.path().join("org.yaml"), config("bot")).unwrap();
    let bot = orgform(
        dir.path(),
        &sandbox,
        None,
        &["plan", "org.yaml", "--out", "bot.json"],
    )
    .await;
    assert_eq!(bot.code, 0, "{}\n{}", bot.stdout, bot.stderr);
    assert!(kicks(&dir.path().join("bot.json")).is_empty());

    // The person lists them exactly, and the plan removes both.
    std::fs::write(dir.path().join("org.yaml"), config("both")).unwrap();
    let user = orgform(
        dir.path(),
        &sandbox,
        Some(&secret),
        &["plan", "org.yaml", "--out", "user.json"],
    )
    .await;
    // The first-run and removal-limit guards hold it, as for any removal.
    assert_eq!(user.code, 3, "{}\n{}", user.stdout, user.stderr);
    let mut removed = kicks(&dir.path().join("user.json"));
    removed.sort();
    assert_eq!(removed, vec![200_001, 200_002], "{}", user.stdout);
    assert!(mtproto.calls().contains_key("channels.getParticipants"));

    let apply = orgform(
        dir.path(),
        &sandbox,
        Some(&secret),
        &["apply", "org.yaml", "--auto-approve", "--allow-removals"],
    )
    .await;
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    let world = sandbox.world_snapshot();
    for id in [200_001, 200_002] {
        assert!(
            !world.chats[&CHAT].status(id, 0).is_present(),
            "{id} still in"
        );
    }
    let again = orgform(
        dir.path(),
        &sandbox,
        Some(&secret),
        &["plan", "org.yaml", "--detailed-exitcode"],
    )
    .await;
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_state_is_rebuilt_by_name_with_zero_creations() {
    let (sandbox, mtproto, session) = rig().await;
    let mut world = sandbox.world_snapshot();
    world.chats.get_mut(&CHAT).unwrap().is_forum = true;
    sandbox.replace_world(world);
    let dir = tempfile::tempdir().unwrap();
    let secret = session.expose();
    let config = |provider: &str| {
        format!(
            r#"org:
  name: Acme
  telegram:
    bot: acme_org_bot
    provider: {provider}
chats:
  eng:
    id: {CHAT}
    type: supergroup
    title: Engineering
    forum: true
    membership: observe
    topics:
      releases: {{name: Releases}}
      incidents: {{name: Incidents}}
    invite_links:
      onboarding: {{name: Onboarding}}
"#
        )
    };
    std::fs::write(dir.path().join("org.yaml"), config("both")).unwrap();
    let apply = orgform(
        dir.path(),
        &sandbox,
        Some(&secret),
        &["apply", "org.yaml", "--auto-approve"],
    )
    .await;
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    let topics_before = sandbox.world_snapshot().chats[&CHAT].topics.len();
    let links_before = sandbox.world_snapshot().chats[&CHAT].invite_links.len();
    assert_eq!(topics_before, 2);

    // The state is lost.
    std::fs::remove_dir_all(dir.path().join("state")).unwrap();
    let count = |name: &str| mtproto.calls().get(name).copied().unwrap_or(0);
    let (topic_reads, link_reads) = (
        count("messages.getForumTopics"),
        count("messages.getExportedChatInvites"),
    );

    // With the bot alone the topics and the link would be created again.
    std::fs::write(dir.path().join("org.yaml"), config("bot")).unwrap();
    let blind = orgform(
        dir.path(),
        &sandbox,
        None,
        &["plan", "org.yaml", "--detailed-exitcode"],
    )
    .await;
    assert_eq!(blind.code, 2, "{}\n{}", blind.stdout, blind.stderr);
    assert!(blind.stdout.contains("3 to add"), "{}", blind.stdout);
    std::fs::remove_dir_all(dir.path().join("state")).ok();

    // The person finds them by name: nothing to create.
    std::fs::write(dir.path().join("org.yaml"), config("both")).unwrap();
    let plan = orgform(
        dir.path(),
        &sandbox,
        Some(&secret),
        &["plan", "org.yaml", "--detailed-exitcode"],
    )
    .await;
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    assert_eq!(count("messages.getForumTopics"), topic_reads + 1);
    assert_eq!(count("messages.getExportedChatInvites"), link_reads + 1);
    let apply = orgform(
        dir.path(),
        &sandbox,
        Some(&secret),
        &["apply", "org.yaml", "--auto-approve"],
    )
    .await;
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    let world = sandbox.world_snapshot();
    assert_eq!(world.chats[&CHAT].topics.len(), topics_before);
    assert_eq!(world.chats[&CHAT].invite_links.len(), links_before);
    // Remembered again: the next plan asks nobody.
    let again = orgform(
        dir.path(),
        &sandbox,
        Some(&secret),
        &["plan", "org.yaml", "--detailed-exitcode"],
    )
    .await;
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    assert_eq!(count("messages.getForumTopics"), topic_reads + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_names_who_changed_it_by_hand_and_when() {
    let (sandbox, mtproto, session) = rig().await;
    let dir = tempfile::tempdir().unwrap();
    let secret = session.expose();
    std::fs::write(dir.path().join("org.yaml"), config("both")).unwrap();
    let apply = orgform(
        dir.path(),
        &sandbox,
        Some(&secret),
        &["apply", "org.yaml", "--auto-approve"],
    )
    .await;
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);

    // Olga changes the title and the slow mode by hand.
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    sandbox
        .act(
            OWNER,
            "setChatTitle",
            serde_json::json!({"chat_id": CHAT, "title": "Eng <b>!</b>"}),
        )
        .unwrap();
    sandbox
        .act(
            OWNER,
            "setChatSlowModeDelay",
            serde_json::json!({"chat_id": CHAT, "seconds": 60}),
        )
        .unwrap();

    let drift = orgform(
        dir.path(),
        &sandbox,
        Some(&secret),
        &["drift", "org.yaml", "--format", "json"],
    )
    .await;
    assert_eq!(drift.code, 2, "{}\n{}", drift.stdout, drift.stderr);
    let report: serde_json::Value = serde_json::from_str(&drift.stdout).unwrap();
    let items: Vec<&serde_json::Value> = report["chats"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["items"].as_array().unwrap())
        .collect();
    for field in ["title", "slow_mode"] {
        let item = items
            .iter()
            .find(|i| {
                i["address"]
                    .as_str()
                    .unwrap()
                    .ends_with(&format!("eng.{field}"))
            })
            .unwrap_or_else(|| panic!("{field} drifted: {items:?}"));
        let by = item["changed_by"]
            .as_str()
            .unwrap_or_else(|| panic!("{item}"));
        assert!(by.starts_with("Olga (100001) at "), "{by}");
        let when = jiff::Timestamp::from_str(by.rsplit(' ').next().unwrap()).unwrap();
        assert!(when.as_second() >= started, "{by}");
    }
    assert_eq!(mtproto.calls().get("channels.getAdminLog"), Some(&1));

    // The text report says it too; without a session, no names and no error.
    let text = orgform(dir.path(), &sandbox, Some(&secret), &["drift", "org.yaml"]).await;
    assert!(
        text.stdout.contains("by:       Olga (100001) at "),
        "{}",
        text.stdout
    );
    let blind = orgform(dir.path(), &sandbox, None, &["drift", "org.yaml"]).await;
    assert_eq!(blind.code, 2, "{}", blind.stderr);
    assert!(!blind.stdout.contains("by:       Olga"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_creation_cut_off_mid_call_is_settled_by_looking_first() {
    let (sandbox, mtproto, session) = rig().await;
    let dir = tempfile::tempdir().unwrap();
    let secret = session.expose();
    let yaml = format!(
        "{}  incidents:\n    type: supergroup\n    title: Incidents\n    membership: observe\n",
        config("both")
    );
    std::fs::write(dir.path().join("org.yaml"), yaml).unwrap();
    // The connection drops before the call runs: the outcome is unknown
    // to orgform.
    mtproto.inject(MtprotoFault::Drop {
        method: "channels.createChannel".into(),
        after_call: false,
    });
    let cut = orgform(
        dir.path(),
        &sandbox,
        Some(&secret),
        &["apply", "org.yaml", "--auto-approve"],
    )
    .await;
    assert_ne!(cut.code, 0, "{}\n{}", cut.stdout, cut.stderr);
    let titled = |s: &RunningSandbox| {
        s.world_snapshot()
            .chats
            .values()
            .filter(|c| c.title == "Incidents")
            .count()
    };
    assert_eq!(titled(&sandbox), 0);
    // orgform looked before calling it failed: no chat of that title
    // exists, so the creation did not happen (not "uncertain"), and the
    // run rolled back what it had done.
    assert!(cut.stdout.contains("the answer was lost"), "{}", cut.stdout);
    assert!(cut.stdout.contains("0 uncertain"), "{}", cut.stdout);
    assert!(!chat_settings(&sandbox).4, "rolled back");
    // The next apply creates it, once.
    let retried = orgform(
        dir.path(),
        &sandbox,
        Some(&secret),
        &["apply", "org.yaml", "--auto-approve"],
    )
    .await;
    assert_eq!(retried.code, 0, "{}\n{}", retried.stdout, retried.stderr);
    assert_eq!(titled(&sandbox), 1);
    assert_eq!(mtproto.calls().get("channels.createChannel"), Some(&2));
    let again = orgform(
        dir.path(),
        &sandbox,
        Some(&secret),
        &["plan", "org.yaml", "--detailed-exitcode"],
    )
    .await;
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
}
