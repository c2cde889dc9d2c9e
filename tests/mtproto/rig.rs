//! The one MTProto test rig the end-to-end tests share: a sandbox world
//! with the org's bot and a signed-in owner, supergroups the owner made and
//! the bot administers, both front-ends on 127.0.0.1 (free ports), a user
//! session seeded with an auth key the front-end agreed to, and `orgform`
//! (the binary, hermetic) run against them.

use std::path::Path;

use orgform::mtproto::UserSession;
use orgform::sandbox::mtproto::{MtprotoOptions, RunningMtproto};
use orgform::sandbox::world::{Chat, Member, User};
use orgform::sandbox::{self, RunningSandbox, SandboxOptions, World};
use orgform::state::ChatType;

/// The org's bot (`acme_org_bot`).
pub(crate) const BOT: i64 = 7_000_000_001;
/// The signed-in person: creator of every chat the rig makes.
pub(crate) const OWNER: i64 = 100_001;
/// The fixed clock every command runs at.
pub(crate) const NOW: &str = "--now=2026-11-27T12:00:00Z";

/// A world being built: the bot and the owner (`Olga`), then what a test
/// adds.
pub(crate) struct RigBuilder {
    world: World,
}

/// A running sandbox (Bot API and MTProto front-ends) and the owner's
/// session.
pub(crate) struct Rig {
    pub sandbox: RunningSandbox,
    pub mtproto: RunningMtproto,
    pub session: UserSession,
}

impl RigBuilder {
    pub(crate) fn new() -> Self {
        let mut world = World::new(BOT, "acme_org_bot", format!("{BOT}:secret-token"));
        world.add_user(User::human(OWNER, "Olga"));
        RigBuilder { world }
    }

    /// A person Telegram knows (not in any chat yet).
    pub(crate) fn user(mut self, user: User) -> Self {
        self.world.add_user(user);
        self
    }

    /// A person by id and first name only.
    pub(crate) fn human(self, id: i64, name: &str) -> Self {
        self.user(User::human(id, name))
    }

    /// A supergroup the owner created and the bot administers with every
    /// right.
    pub(crate) fn chat(mut self, id: i64, title: &str) -> Self {
        let mut chat = Chat::new(id, ChatType::Supergroup, title);
        chat.set_status(
            OWNER,
            Member::Creator {
                is_anonymous: false,
                custom_title: None,
            },
        );
        chat.set_status(
            BOT,
            Member::Administrator {
                rights: orgform::sandbox::world::full_rights(ChatType::Supergroup),
                custom_title: None,
                promoted_by: OWNER,
            },
        );
        self.world.add_chat(chat);
        self
    }

    /// Anything else the world needs before it starts (a setting of a
    /// chat, someone's membership).
    pub(crate) fn world(mut self, edit: impl FnOnce(&mut World)) -> Self {
        edit(&mut self.world);
        self
    }

    /// Start both front-ends and sign the owner in with a key agreed in
    /// advance.
    pub(crate) async fn start(self) -> Rig {
        let sandbox = sandbox::start(SandboxOptions::default(), self.world)
            .await
            .unwrap();
        let mtproto = sandbox
            .start_mtproto(MtprotoOptions::default())
            .await
            .unwrap();
        let key = key_for(OWNER);
        mtproto.authorize(key, Some(OWNER));
        let session = UserSession::new(2, mtproto.addr(), OWNER, key);
        Rig {
            sandbox,
            mtproto,
            session,
        }
    }
}

/// orgform run as the signed-in owner in a working directory of its own
/// (its config `org.yaml`, its own state).
pub(crate) struct Workdir<'a> {
    pub rig: &'a Rig,
    pub dir: tempfile::TempDir,
    pub secret: String,
}

impl Workdir<'_> {
    /// Replace the config.
    pub(crate) fn config(&self, yaml: &str) {
        std::fs::write(self.dir.path().join("org.yaml"), yaml).unwrap();
    }

    /// Run orgform with the owner's session.
    pub(crate) async fn run(&self, args: &[&str]) -> Run {
        orgform(self.dir.path(), &self.rig.sandbox, Some(&self.secret), args).await
    }

    /// Run orgform with no one signed in.
    pub(crate) async fn run_as_bot(&self, args: &[&str]) -> Run {
        orgform(self.dir.path(), &self.rig.sandbox, None, args).await
    }

    /// The command, to spawn and kill.
    pub(crate) fn command(&self, args: &[&str]) -> std::process::Command {
        command(self.dir.path(), &self.rig.sandbox, Some(&self.secret), args)
    }

    /// How many times the MTProto front-end was asked `method`.
    pub(crate) fn calls(&self, method: &str) -> u64 {
        self.rig.mtproto.calls().get(method).copied().unwrap_or(0)
    }
}

impl Rig {
    /// A working directory with `yaml` as its config.
    pub(crate) fn workdir(&self, yaml: &str) -> Workdir<'_> {
        let work = Workdir {
            rig: self,
            dir: tempfile::tempdir().unwrap(),
            secret: self.session.expose(),
        };
        work.config(yaml);
        work
    }

    /// Change the running world as a person would by hand in their app.
    pub(crate) fn by_hand(&self, edit: impl FnOnce(&mut World)) {
        let mut world = self.sandbox.world_snapshot();
        edit(&mut world);
        self.sandbox.replace_world(world);
    }
}

/// A distinct auth key per user, so several people can be signed in to
/// one front-end at once.
pub(crate) fn key_for(user: i64) -> [u8; 256] {
    std::array::from_fn(|i| (i as u8).wrapping_mul(11) ^ (user as u8) ^ ((user >> 8) as u8))
}

/// What one run of the binary did.
pub(crate) struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// The `orgform` command in `dir` (its state under `dir/state`) against
/// the sandbox: the bot's token from a file, the API id and hash set, the
/// session (when given) in `ORGFORM_TELEGRAM_SESSION`, and the rig's clock
/// on commands that read it. To spawn and kill; [`orgform`] runs it.
pub(crate) fn command(
    dir: &Path,
    sandbox: &RunningSandbox,
    session: Option<&str>,
    args: &[&str],
) -> std::process::Command {
    let token = dir.join("token");
    std::fs::write(&token, sandbox.token()).unwrap();
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    if matches!(args[0], "plan" | "apply" | "rollback" | "drift") {
        all.extend([
            "--api-url".into(),
            sandbox.base_url(),
            "--token-file".into(),
            token.display().to_string(),
        ]);
        if args[0] != "rollback" {
            all.push(NOW.into());
        }
    }
    let mut cmd = crate::hermetic::process(&dir.join("state"));
    cmd.args(&all)
        .current_dir(dir)
        .env("ORGFORM_TELEGRAM_API_ID", "12345")
        .env(
            "ORGFORM_TELEGRAM_API_HASH",
            "0123456789abcdef0123456789abcdef",
        );
    if let Some(s) = session {
        cmd.env("ORGFORM_TELEGRAM_SESSION", s);
    }
    cmd
}

/// Run [`command`] to the end.
pub(crate) async fn orgform(
    dir: &Path,
    sandbox: &RunningSandbox,
    session: Option<&str>,
    args: &[&str],
) -> Run {
    let mut cmd = command(dir, sandbox, session, args);
    tokio::task::spawn_blocking(move || {
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
