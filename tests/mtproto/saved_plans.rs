//! Saved plans that make things only a person can make (a chat declared
//! without an id, a department folder), end to end: `plan --out` then
//! `apply --plan` passes the stale check when nothing moved, is refused
//! when the world moved in a way that matters (the chat was created
//! meanwhile, a chat of its title appeared, the folder changed), and each
//! creation runs exactly once, also when the run is cut off mid-call and
//! resumed.

use orgform::sandbox::mtproto::MtprotoFault;
use orgform::sandbox::world::{Chat, Member};
use orgform::state::ChatType;

use super::rig::{OWNER, Rig, RigBuilder};

const ENG: i64 = -1_001_000_000_001;
const PLATFORM: i64 = -1_001_000_000_002;

async fn rig() -> Rig {
    RigBuilder::new()
        .chat(ENG, "Engineering")
        .chat(PLATFORM, "Platform")
        .start()
        .await
}

/// Two chats with ids, `incidents` without one, and a folder of the
/// platform department; `extra` is appended under `chats:`.
fn config(extra: &str) -> String {
    format!(
        r#"org:
  name: Acme
  telegram:
    bot: acme_org_bot
    provider: both
departments:
  engineering: {{name: Engineering}}
  platform: {{name: Platform, parent: engineering}}
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
  incidents:
    type: supergroup
    title: Incidents
    membership: observe
    members: [{{department: platform}}]
{extra}"#
    )
}

/// How many chats of `title` the world holds.
fn titled(rig: &Rig, title: &str) -> usize {
    rig.sandbox
        .world_snapshot()
        .chats
        .values()
        .filter(|c| c.title == title)
        .count()
}

fn refused_as_stale(run: &super::rig::Run, address: &str) {
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("the plan is stale") && run.stderr.contains(address),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_plan_that_creates_runs_once_and_is_stale_once_the_world_moves() {
    let rig = rig().await;
    let c = rig.workdir(&config(""));
    let plan = c
        .run(&[
            "plan",
            "org.yaml",
            "--detailed-exitcode",
            "--out",
            "p1.json",
        ])
        .await;
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    assert!(plan.stdout.contains("+ chat.incidents"), "{}", plan.stdout);
    assert!(plan.stdout.contains("+ folder.platform"), "{}", plan.stdout);

    // Nothing moved: applied as saved.
    let apply = c
        .run(&["apply", "org.yaml", "--plan", "p1.json", "--auto-approve"])
        .await;
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    assert_eq!(c.calls("channels.createChannel"), 1);
    assert_eq!(c.calls("chatlists.exportChatlistInvite"), 1);
    assert_eq!(titled(&rig, "Incidents"), 1);

    // The same saved plan again: its chat and folder exist now.
    let again = c
        .run(&["apply", "org.yaml", "--plan", "p1.json", "--auto-approve"])
        .await;
    refused_as_stale(&again, "chat.incidents");
    assert!(again.stderr.contains("folder.platform"), "{}", again.stderr);
    assert_eq!(c.calls("channels.createChannel"), 1);
    assert_eq!(c.calls("chatlists.exportChatlistInvite"), 1);
    assert_eq!(titled(&rig, "Incidents"), 1);

    // The next plan adds the new chat to the folder; someone renames the
    // folder by hand before it is applied: stale.
    let plan = c
        .run(&[
            "plan",
            "org.yaml",
            "--detailed-exitcode",
            "--out",
            "p2.json",
        ])
        .await;
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    assert!(plan.stdout.contains("~ folder.platform"), "{}", plan.stdout);
    rig.by_hand(|w| w.folders.folders[0].title = "Mine".into());
    let apply = c
        .run(&["apply", "org.yaml", "--plan", "p2.json", "--auto-approve"])
        .await;
    refused_as_stale(&apply, "folder.platform");
    assert_eq!(c.calls("chatlists.editExportedInvite"), 0);

    // A fresh plan of the same: applied, once.
    let plan = c
        .run(&[
            "plan",
            "org.yaml",
            "--detailed-exitcode",
            "--out",
            "p3.json",
        ])
        .await;
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    let apply = c
        .run(&["apply", "org.yaml", "--plan", "p3.json", "--auto-approve"])
        .await;
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    assert_eq!(c.calls("chatlists.editExportedInvite"), 1);
    let world = rig.sandbox.world_snapshot();
    assert_eq!(world.folders.folders[0].title, "Platform");
    assert_eq!(world.folders.folders[0].chats.len(), 3);
    let settled = c.run(&["plan", "org.yaml", "--detailed-exitcode"]).await;
    assert_eq!(settled.code, 0, "{}\n{}", settled.stdout, settled.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_creation_is_stale_when_a_chat_of_its_title_appears() {
    let rig = rig().await;
    let c = rig.workdir(&config(""));
    let plan = c
        .run(&["plan", "org.yaml", "--detailed-exitcode", "--out", "p.json"])
        .await;
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    // Without the person it cannot be checked (nor applied): said so.
    let blind = c
        .run_as_bot(&["apply", "org.yaml", "--plan", "p.json", "--auto-approve"])
        .await;
    assert_eq!(blind.code, 1, "{}\n{}", blind.stdout, blind.stderr);
    assert!(
        blind.stderr.contains("only a signed-in person"),
        "{}",
        blind.stderr
    );
    // Someone makes "Incidents" by hand meanwhile.
    rig.by_hand(|w| {
        let mut chat = Chat::new(-1_001_000_000_077, ChatType::Supergroup, "Incidents");
        chat.set_status(
            OWNER,
            Member::Creator {
                is_anonymous: false,
                custom_title: None,
            },
        );
        w.add_chat(chat);
    });
    let apply = c
        .run(&["apply", "org.yaml", "--plan", "p.json", "--auto-approve"])
        .await;
    refused_as_stale(&apply, "chat.incidents");
    assert_eq!(c.calls("channels.createChannel"), 0);
    assert_eq!(titled(&rig, "Incidents"), 1);
}

/// The connection drops after Telegram made the chat, and again after it
/// made the folder's link: the run stops without knowing; a resume looks
/// before it does anything, so each is made exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_plan_cut_off_mid_call_makes_each_thing_once_on_resume() {
    let rig = rig().await;
    let c = rig.workdir(&config(""));
    let plan = c
        .run(&["plan", "org.yaml", "--detailed-exitcode", "--out", "p.json"])
        .await;
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    rig.mtproto.inject(MtprotoFault::Drop {
        method: "chatlists.exportChatlistInvite".into(),
        after_call: true,
    });
    let cut = c
        .run(&["apply", "org.yaml", "--plan", "p.json", "--auto-approve"])
        .await;
    assert_ne!(cut.code, 0, "{}\n{}", cut.stdout, cut.stderr);
    assert!(cut.stdout.contains("0 uncertain"), "{}", cut.stdout);
    // The chat was made and cannot be undone: the report says so, and
    // does not count it as not run.
    assert!(
        cut.stdout
            .contains("chat.incidents cannot be undone: orgform never deletes a chat"),
        "{}",
        cut.stdout
    );
    assert!(
        !cut.stdout.contains("Not run: chat.incidents"),
        "{}",
        cut.stdout
    );
    assert!(cut.stdout.contains("0 not run"), "{}", cut.stdout);
    assert_eq!(c.calls("chatlists.exportChatlistInvite"), 1);
    assert_eq!(c.calls("channels.createChannel"), 1);
    // The chat was made and recorded: the saved plan is stale now, and a
    // fresh one makes only the folder (rolled back with the failed run).
    let again = c
        .run(&["apply", "org.yaml", "--plan", "p.json", "--auto-approve"])
        .await;
    refused_as_stale(&again, "chat.incidents");
    let plan = c
        .run(&[
            "plan",
            "org.yaml",
            "--detailed-exitcode",
            "--out",
            "p2.json",
        ])
        .await;
    assert!(!plan.stdout.contains("+ chat.incidents"), "{}", plan.stdout);
    assert!(plan.stdout.contains("+ folder.platform"), "{}", plan.stdout);
    let apply = c
        .run(&["apply", "org.yaml", "--plan", "p2.json", "--auto-approve"])
        .await;
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    assert_eq!(c.calls("channels.createChannel"), 1);
    assert_eq!(titled(&rig, "Incidents"), 1);
    let world = rig.sandbox.world_snapshot();
    assert_eq!(world.folders.folders.len(), 1);
    assert_eq!(world.folders.links.len(), 1);

    // Now a chat whose creation's answer is lost after Telegram made it:
    // a chat of its title exists, which may be an older one, so the run
    // stops uncertain and a person says what happened, giving its id.
    c.config(&config(
        "  ops:\n    type: supergroup\n    title: Ops\n    membership: observe\n",
    ));
    let plan = c
        .run(&["plan", "org.yaml", "--detailed-exitcode", "--out", "q.json"])
        .await;
    assert!(plan.stdout.contains("+ chat.ops"), "{}", plan.stdout);
    rig.mtproto.inject(MtprotoFault::Drop {
        method: "channels.createChannel".into(),
        after_call: true,
    });
    let cut = c
        .run(&["apply", "org.yaml", "--plan", "q.json", "--auto-approve"])
        .await;
    assert_ne!(cut.code, 0, "{}\n{}", cut.stdout, cut.stderr);
    assert!(cut.stdout.contains("1 uncertain"), "{}", cut.stdout);
    assert_eq!(titled(&rig, "Ops"), 1);
    let run_id = cut
        .stderr
        .lines()
        .chain(cut.stdout.lines())
        .find_map(|l| l.strip_prefix("Run "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("a run id in {}", cut.stdout))
        .trim_end_matches(':')
        .to_string();
    // The run was rolling back when it stopped: finishing that looks
    // again, still cannot tell, and creates nothing.
    let rollback = [
        "rollback",
        run_id.as_str(),
        "--config",
        "org.yaml",
        "--auto-approve",
    ];
    let resume = c.run(&["apply", "org.yaml", "--resume", &run_id]).await;
    assert!(
        resume.stderr.contains("finish the rollback"),
        "{}",
        resume.stderr
    );
    let finished = c.run(&rollback).await;
    assert_ne!(finished.code, 0, "{}\n{}", finished.stdout, finished.stderr);
    assert!(
        finished
            .stdout
            .contains("orgform state adopt chat ops CHAT_ID"),
        "{}",
        finished.stdout
    );
    assert_eq!(c.calls("channels.createChannel"), 2);
    // "It happened" needs the chat's id: never a chat recorded without one.
    let assume = c
        .run(&["state", "runs", &run_id, "--assume", "done", "chat.ops"])
        .await;
    assert_eq!(assume.code, 1, "{}\n{}", assume.stdout, assume.stderr);
    assert!(
        assume
            .stderr
            .contains("orgform state adopt chat ops CHAT_ID"),
        "{}",
        assume.stderr
    );
    let id = rig
        .sandbox
        .world_snapshot()
        .chats
        .values()
        .find(|ch| ch.title == "Ops")
        .unwrap()
        .id
        .to_string();
    let adopt = c.run(&["state", "adopt", "chat", "ops", &id]).await;
    assert_eq!(adopt.code, 0, "{}\n{}", adopt.stdout, adopt.stderr);
    let assume = c
        .run(&["state", "runs", &run_id, "--assume", "done", "chat.ops"])
        .await;
    assert_eq!(assume.code, 0, "{}\n{}", assume.stdout, assume.stderr);
    let finished = c.run(&rollback).await;
    assert_eq!(finished.code, 0, "{}\n{}", finished.stdout, finished.stderr);
    assert!(
        finished
            .stdout
            .contains("chat.ops: cannot be undone by orgform"),
        "{}\n{}",
        finished.stdout,
        finished.stderr
    );
    let settled = c.run(&["plan", "org.yaml"]).await;
    assert!(!settled.stdout.contains("+ chat.ops"), "{}", settled.stdout);
    assert_eq!(c.calls("channels.createChannel"), 2);
    assert_eq!(titled(&rig, "Ops"), 1);
}

/// The apply is killed (SIGKILL) while its chat creation waits out a
/// FLOOD_WAIT, the call not yet run: the journal holds it in flight; the
/// resume looks first (no chat of that title: not done), runs it, and the
/// folder, each once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_plan_killed_mid_change_is_resumed_and_makes_each_thing_once() {
    let rig = rig().await;
    let c = rig.workdir(&config(""));
    let plan = c
        .run(&["plan", "org.yaml", "--detailed-exitcode", "--out", "p.json"])
        .await;
    assert_eq!(plan.code, 2, "{}\n{}", plan.stdout, plan.stderr);
    rig.mtproto.inject(MtprotoFault::FloodWait {
        method: "channels.createChannel".into(),
        seconds: 30,
    });
    let mut child = c
        .command(&["apply", "org.yaml", "--plan", "p.json", "--auto-approve"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Bounded: the flood wait is answered within seconds of the start.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while c.calls("channels.createChannel") == 0 {
        assert!(std::time::Instant::now() < deadline, "never asked");
        assert!(child.try_wait().unwrap().is_none(), "ended early");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(titled(&rig, "Incidents"), 0);
    // Killed while the chat's flood wait held every call of the
    // account: the folder was made, its link not yet.
    let world = rig.sandbox.world_snapshot();
    assert_eq!(world.folders.folders.len(), 1, "{:?}", world.folders);
    assert!(world.folders.links.is_empty(), "{:?}", world.folders);
    let made = world.folders.folders[0].id;

    let runs = c.run(&["state", "runs"]).await;
    let run_id = runs
        .stdout
        .lines()
        .find(|l| l.contains("\tapply\t"))
        .and_then(|l| l.split('\t').next())
        .unwrap_or_else(|| panic!("{}", runs.stdout))
        .to_string();
    // An unfinished run blocks the next apply until it is resumed.
    let blocked = c.run(&["apply", "org.yaml", "--auto-approve"]).await;
    assert_ne!(blocked.code, 0, "{}\n{}", blocked.stdout, blocked.stderr);
    assert_eq!(titled(&rig, "Incidents"), 0);
    let resumed = c.run(&["apply", "org.yaml", "--resume", &run_id]).await;
    assert_eq!(resumed.code, 0, "{}\n{}", resumed.stdout, resumed.stderr);
    assert!(
        resumed
            .stderr
            .contains("folder.platform was cut off mid-call; it happened"),
        "{}",
        resumed.stderr
    );
    assert_eq!(titled(&rig, "Incidents"), 1);
    // The next apply shares the same folder (and adds the new chat).
    let apply = c.run(&["apply", "org.yaml", "--auto-approve"]).await;
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    let world = rig.sandbox.world_snapshot();
    assert_eq!(world.folders.folders.len(), 1);
    assert_eq!(world.folders.folders[0].id, made);
    assert_eq!(world.folders.links.len(), 1);
    assert_eq!(c.calls("chatlists.exportChatlistInvite"), 1);
    let settled = c.run(&["plan", "org.yaml"]).await;
    assert!(
        !settled.stdout.contains("+ chat.incidents"),
        "{}",
        settled.stdout
    );
    assert!(
        !settled.stdout.contains("+ folder.platform"),
        "{}",
        settled.stdout
    );
    let resumed = c.run(&["apply", "org.yaml", "--resume", &run_id]).await;
    assert!(
        resumed.stdout.contains("already finished"),
        "{}",
        resumed.stdout
    );
    assert_eq!(titled(&rig, "Incidents"), 1);
}
