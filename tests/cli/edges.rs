//! The smaller promises of the command line: Ctrl-C exits 130, `-v` and
//! `RUST_LOG` log to stderr with the token redacted, `--color` with
//! `NO_COLOR` and `CLICOLOR_FORCE`, private file modes, and the bot's own
//! account never planned as a person.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const NOW: &str = "--now=2026-11-27T12:00:00Z";
const TOKEN: &str = "7000000001:AAsandbox-test-token_0123456789abcdef";

/// These tests choose colour themselves: the hermetic environment without
/// its NO_COLOR.
fn orgform(state: &Path) -> Command {
    let mut cmd = crate::hermetic::process(state);
    cmd.env_remove("NO_COLOR");
    cmd
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// A server that accepts connections and never answers.
fn silent_server() -> (String, std::net::TcpListener) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    (
        format!("http://{}", listener.local_addr().unwrap()),
        listener,
    )
}

#[test]
fn ctrl_c_during_a_read_only_command_exits_130() {
    let (url, listener) = silent_server();
    let state = tempfile::tempdir().unwrap();
    let child = orgform(state.path())
        .env("NO_COLOR", "1")
        .env("ORGFORM_TELEGRAM_TOKEN", TOKEN)
        .args(["plan", "examples/acme", "--api-url", &url, NOW])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt once orgform is waiting on Telegram's answer: the silent
    // server has taken its connection (and never answers).
    listener.set_nonblocking(true).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let _held = loop {
        match listener.accept() {
            Ok((conn, _)) => break conn,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(std::time::Instant::now() < deadline, "orgform never called");
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("{e}"),
        }
    };
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted; nothing was changed"),
        "{stderr}"
    );
}

#[test]
fn logs_go_to_stderr_with_the_token_redacted() {
    let (url, listener) = silent_server();
    drop(listener); // connection refused: an error with retries to log
    let state = tempfile::tempdir().unwrap();
    for (flag, env) in [("-vvv", None), ("-v", Some("trace"))] {
        let mut cmd = orgform(state.path());
        if let Some(filter) = env {
            cmd.env("RUST_LOG", filter);
        }
        let out = cmd
            .env("NO_COLOR", "1")
            .env("ORGFORM_TELEGRAM_TOKEN", TOKEN)
            .args([flag, "plan", "examples/acme", "--api-url", &url, NOW])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("DEBUG") || stderr.contains("TRACE"),
            "no log lines: {stderr}"
        );
        assert!(stderr.contains("retrying"), "{stderr}");
        assert!(
            !stderr.contains("AAsandbox-test-token"),
            "the token leaked: {stderr}"
        );
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn color_follows_the_flag_then_no_color_then_clicolor_force() {
    let state = tempfile::tempdir().unwrap();
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let out = orgform(state.path())
            .envs(env.iter().copied())
            .args(["plan", "examples/acme", "--sandbox", NOW])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).contains("\u{1b}[")
    };
    assert!(!run(&[], &[]), "a pipe gets no colour by default");
    assert!(run(&[], &[("CLICOLOR_FORCE", "1")]));
    assert!(!run(&[], &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]));
    assert!(!run(&[], &[("CLICOLOR_FORCE", "0")]));
    assert!(run(&["--color", "always"], &[("NO_COLOR", "1")]));
    assert!(!run(&["--color", "never"], &[("CLICOLOR_FORCE", "1")]));
}

#[test]
fn the_state_dir_is_0700_and_a_saved_plan_0600() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let out_file = dir.path().join("plan.json");
    let out = orgform(&state)
        .env("NO_COLOR", "1")
        .args(["plan", "examples/acme", "--sandbox", NOW, "--out"])
        .arg(&out_file)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&state), 0o700);
    assert_eq!(mode(&state.join("sandbox")), 0o700);
    assert_eq!(mode(&out_file), 0o600);
    // An existing, looser state dir is tightened.
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&out_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = orgform(&state)
        .args(["plan", "examples/acme", "--sandbox", NOW, "--out"])
        .arg(&out_file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(mode(&state), 0o700);
    assert_eq!(mode(&out_file), 0o600);
}

#[test]
fn the_bot_is_never_a_person() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    copy_dir(Path::new("examples/acme"), &config);
    let people = config.join("people.yaml");
    let text = std::fs::read_to_string(&people).unwrap();
    // Declared by its username: a diagnostic.
    let by_name = text.replacen("username: ana_costa", "username: acme_org_bot", 1);
    std::fs::write(&people, &by_name).unwrap();
    let out = orgform(dir.path())
        .env("NO_COLOR", "1")
        .args(["validate", config.to_str().unwrap(), NOW])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error[bot-as-person]"), "{stderr}");
}

/// Declared by its id only (the config cannot know the bot's id, only
/// Telegram can): the lockout guard refuses the invite orgform would send
/// itself, and its offboarding.
#[test]
fn the_lockout_guard_covers_invites_and_offboarding_of_the_bot() {
    use orgform::plan::{self, Overrides, PlanInput};
    use orgform::state::BotIdentity;
    const BOT: i64 = 999;
    let now: jiff::Timestamp = "2026-11-27T12:00:00Z".parse().unwrap();
    let yaml = |status: &str| {
        format!(
            r#"
people:
  alice: {{telegram_id: 1, department: eng}}
  botty: {{telegram_id: {BOT}, department: eng, status: {status}}}
departments:
  eng: {{leads: [alice]}}
chats:
  eng:
    id: -1001
    type: supergroup
    title: Engineering
    members: [{{department: eng}}]
"#
        )
    };
    let bot = || BotIdentity {
        id: BOT,
        username: "org_bot".into(),
    };
    for (status, op) in [("active", "send_invite"), ("offboarded", "kick")] {
        let model = orgform::model::load_text("org.yaml", &yaml(status), now).unwrap();
        // Live: the bot is in the chat as the bot (an admin); for the
        // invite case it is not a plain member there.
        let mut live = plan::simulate::converged(&model.desired, bot());
        let chat = live.state.chats.get_mut("eng").unwrap();
        if status == "active" {
            chat.members.remove(&BOT);
            chat.admins.remove(&BOT);
        } else {
            chat.members
                .insert(BOT, orgform::state::MemberState::Member);
        }
        let mut store = orgform::store::Store::default();
        store.chat_mut(-1001).last_applied = Some(1);
        let planned = plan::build(PlanInput {
            desired: &model.desired,
            live: &live,
            store: &store,
            policies: model.config.policies.as_ref(),
            overrides: Overrides {
                removals: true,
                demotions: true,
                few_admins: true,
            },
            now,
            only: None,
        });
        let json = serde_json::to_string(&planned.changes).unwrap();
        assert!(
            json.contains(op),
            "{status}: the plan aims {op} at the bot: {json}"
        );
        assert!(
            planned
                .guards
                .iter()
                .any(|g| g.code == "lockout" && !g.overridden),
            "{status}: {:?}",
            planned.guards
        );
        assert!(planned.refused());
    }
}
