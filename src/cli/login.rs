//! `orgform login`: sign a Telegram user account in for the user provider
//! (phone, the code Telegram sends, and the two-step verification password
//! when the account has one) and keep the session: in a 0600 file, or
//! printed once on stdout for a CI secret (`ORGFORM_TELEGRAM_SESSION`).
//!
//! The session is a credential like the bot token: it is never logged or
//! shown, except that one time `--print-session` asks for. This file is
//! also the one home of finding a saved session ([`load_session`]).

use std::io::{BufRead, IsTerminal, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Args;

use super::connect::{block_on_interruptible, private_dir, runtime};
use super::error::{CliError, exit};
use super::output::outln;
use crate::mtproto::{MtprotoError, Target, UserClient, UserSession};

/// The session file's name in the state dir.
pub const SESSION_FILE: &str = "user.session";
pub const SESSION_ENV: &str = "ORGFORM_TELEGRAM_SESSION";
const API_ID_ENV: &str = "ORGFORM_TELEGRAM_API_ID";
const API_HASH_ENV: &str = "ORGFORM_TELEGRAM_API_HASH";

#[derive(Args, Debug)]
pub struct LoginArgs {
    /// The account's phone number in international form (+44 7700 900123);
    /// asked on the terminal when left out.
    #[arg(long)]
    pub phone: Option<String>,
    /// Where to write the session, mode 0600 [default: <state-dir>/user.session].
    #[arg(long, value_name = "FILE", conflicts_with = "print_session")]
    pub session_file: Option<PathBuf>,
    /// Print the session once on stdout instead of writing a file, to store
    /// as the CI secret ORGFORM_TELEGRAM_SESSION. Nothing else goes to stdout.
    #[arg(long)]
    pub print_session: bool,
    /// Replace an existing session file.
    #[arg(long)]
    pub force: bool,
    /// Where orgform keeps its store and journals [env: ORGFORM_STATE_DIR; default: .orgform].
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// For the sandbox: sign in at this MTProto address with a key agreed in
    /// advance (--auth-key-file) instead of Telegram's datacenters.
    #[arg(long, hide = true, requires = "auth_key_file")]
    pub server: Option<SocketAddr>,
    /// For the sandbox: the agreed auth key, 512 hexadecimal digits.
    #[arg(long, hide = true, requires = "server")]
    pub auth_key_file: Option<PathBuf>,
}

/// api_id and api_hash of the application, from the environment.
pub fn api_credentials() -> Result<(i32, String), CliError> {
    let hint = format!(
        "set {API_ID_ENV} and {API_HASH_ENV} to your application's values \
         (my.telegram.org, API development tools)"
    );
    let id = std::env::var(API_ID_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<i32>().ok())
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            CliError::with_hint(format!("{API_ID_ENV} is not set to a number"), &hint)
        })?;
    let hash = std::env::var(API_HASH_ENV)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|h| h.len() == 32 && h.chars().all(|c| c.is_ascii_hexdigit()))
        .ok_or_else(|| {
            CliError::with_hint(
                format!("{API_HASH_ENV} is not 32 hexadecimal digits"),
                &hint,
            )
        })?;
    Ok((id, hash))
}

/// The default session file for a state dir flag.
pub fn default_session_file(state_dir: Option<&Path>) -> Result<PathBuf, CliError> {
    let cwd = std::env::current_dir()?;
    let env = std::env::var_os("ORGFORM_STATE_DIR");
    Ok(crate::store::file::state_dir(state_dir, env.as_deref(), &cwd).join(SESSION_FILE))
}

/// Where a saved session comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionSource {
    File(PathBuf),
    Env,
}

/// Find the session: `--session-file`, else `ORGFORM_TELEGRAM_SESSION`,
/// else the state dir's file. A file readable by others is refused, as
/// ssh refuses a private key.
pub fn load_session(
    file: Option<&Path>,
    state_dir: Option<&Path>,
) -> Result<(UserSession, SessionSource), CliError> {
    let env = std::env::var(SESSION_ENV)
        .ok()
        .filter(|v| !v.trim().is_empty());
    let path = match (file, env) {
        (Some(path), _) => path.to_path_buf(),
        (None, Some(text)) => {
            let session = UserSession::parse(&text, &format!("in {SESSION_ENV}"))
                .map_err(|e| CliError::from_source(e, None))?;
            return Ok((session, SessionSource::Env));
        }
        (None, None) => default_session_file(state_dir)?,
    };
    let shown = path.display().to_string();
    let meta = std::fs::metadata(&path).map_err(|e| {
        CliError::with_hint(
            format!("cannot read the user session {shown}: {e}"),
            format!("sign in with `orgform login`, or set {SESSION_ENV}"),
        )
    })?;
    use std::os::unix::fs::PermissionsExt;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(CliError::with_hint(
            format!("the user session {shown} is readable by others"),
            format!("chmod 600 {shown}, and sign in again if others may have read it"),
        ));
    }
    // A session is one short line: read at most a few KiB.
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut std::io::Read::take(std::fs::File::open(&path)?, 4096),
        &mut text,
    )?;
    let session = UserSession::parse(&text, &format!("in {shown}"))
        .map_err(|e| CliError::from_source(e, None))?;
    Ok((session, SessionSource::File(path)))
}

/// The user provider, when `changes` hold one only a person can make: the
/// saved session (`--session-file` is not offered on plan/apply: the
/// environment or the state dir's file) with the application's api_id.
/// Must run inside the runtime (the connection is a background task).
pub fn user_provider_for<'a>(
    changes: impl IntoIterator<Item = &'a crate::plan::change::Change>,
    state_dir: &Path,
) -> Result<Option<crate::mtproto::UserProvider>, CliError> {
    if !changes.into_iter().any(|c| c.op.needs_person()) {
        return Ok(None);
    }
    let (api_id, _) = api_credentials()?;
    let file = state_dir.join(SESSION_FILE);
    let explicit = std::env::var_os(SESSION_ENV)
        .is_none()
        .then_some(file.as_path());
    let (session, _) = load_session(explicit, None)?;
    Ok(Some(crate::mtproto::UserProvider::new(
        UserClient::connect(&session, api_id),
    )))
}

/// The user provider if a session is at hand (reading may go on without
/// one); a session that is there but broken is still an error.
pub fn user_provider_if_signed_in(
    state_dir: &Path,
) -> Result<Option<crate::mtproto::UserProvider>, CliError> {
    let file = state_dir.join(SESSION_FILE);
    if std::env::var_os(SESSION_ENV).is_none() && !file.exists() {
        return Ok(None);
    }
    let (api_id, _) = api_credentials()?;
    let explicit = std::env::var_os(SESSION_ENV)
        .is_none()
        .then_some(file.as_path());
    let (session, _) = load_session(explicit, None)?;
    Ok(Some(crate::mtproto::UserProvider::new(
        UserClient::connect(&session, api_id),
    )))
}

/// Ask on stderr, read one line from stdin (bounded).
fn ask(question: &str) -> Result<String, CliError> {
    eprint!("{question}");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::Read::take(std::io::stdin().lock(), 1024).read_line(&mut line)?;
    if line.is_empty() {
        return Err(CliError::user(
            "login cancelled: stdin closed before an answer; nothing was saved",
        ));
    }
    Ok(line.trim().to_string())
}

fn ask_secret(question: &str) -> Result<String, CliError> {
    if std::io::stdin().is_terminal() {
        // No echo on a terminal: the password must not stay on screen.
        rpassword::prompt_password(question).map_err(CliError::from)
    } else {
        ask(question)
    }
}

fn login_failed(e: MtprotoError) -> CliError {
    let hint = match &e {
        MtprotoError::InvalidCode => Some("run `orgform login` again for a new code"),
        MtprotoError::Rpc { name, .. } if name == "PHONE_NUMBER_INVALID" => {
            Some("give the number in international form, with the country code")
        }
        MtprotoError::FloodWait { .. } => Some("wait that long before signing in again"),
        _ => None,
    };
    CliError::User {
        message: format!("login failed: {e}; nothing was saved"),
        hint: hint.map(str::to_string),
    }
}

pub fn run(args: LoginArgs) -> Result<u8, CliError> {
    let (api_id, api_hash) = api_credentials()?;
    let target = match (&args.server, &args.auth_key_file) {
        (Some(address), Some(file)) => {
            let text = std::fs::read_to_string(file)
                .map_err(|e| CliError::caused(format!("cannot read {}", file.display()), e))?;
            let key: [u8; 256] = grammers_crypto::hex::opt_from_hex(text.trim())
                .and_then(|k| k.try_into().ok())
                .ok_or_else(|| {
                    CliError::user(format!("{} is not a 256-byte hex key", file.display()))
                })?;
            Target::Agreed {
                address: *address,
                auth_key: Box::new(key),
            }
        }
        _ => Target::Telegram,
    };
    let path = if args.print_session {
        None
    } else {
        let path = match &args.session_file {
            Some(p) => p.clone(),
            None => default_session_file(args.state_dir.as_deref())?,
        };
        // Refuse before a code is sent, not after.
        if path.exists() && !args.force {
            return Err(CliError::with_hint(
                format!("{} already holds a session", path.display()),
                "run `orgform logout` first, or pass --force to replace it",
            ));
        }
        Some(path)
    };
    let phone = match &args.phone {
        Some(p) => p.clone(),
        None => ask("Phone number (international form): ")?,
    };
    let rt = runtime()?;
    let session = block_on_interruptible(&rt, "nothing was saved", async {
        let client = UserClient::for_login(&target, api_id);
        let token = client
            .request_code(&phone, &api_hash)
            .await
            .map_err(login_failed)?;
        let code = ask("The code Telegram sent to your Telegram app: ")?;
        let user = match client.sign_in(&token, &code).await.map_err(login_failed)? {
            Ok(user) => user,
            Err(password_token) => {
                let hint = password_token
                    .hint()
                    .map(|h| format!(" (hint: {})", crate::render::escape::terminal(h)))
                    .unwrap_or_default();
                let password = ask_secret(&format!("Two-step verification password{hint}: "))?;
                client
                    .check_password(password_token, &password)
                    .await
                    .map_err(login_failed)?
            }
        };
        client.session(user).map_err(login_failed)
    })?;
    match path {
        None => {
            outln!("{}", session.expose())?;
            eprintln!(
                "Signed in as account {}. The line above is the session: store it as the secret \
                 {SESSION_ENV}; it was not saved anywhere and is not shown again.",
                session.user_id
            );
        }
        Some(path) => {
            write_session(&path, &session)?;
            eprintln!(
                "Signed in as account {}; the session is in {} (mode 0600). \
                 `orgform logout` ends it.",
                session.user_id,
                path.display()
            );
        }
    }
    Ok(exit::OK)
}

/// Write the session file: 0600 from the start, in a 0700 directory,
/// through a temporary file renamed into place so a crash never leaves half
/// a session.
fn write_session(path: &Path, session: &UserSession) -> Result<(), CliError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        private_dir(dir)?;
    }
    crate::atomic_file::replace(
        path,
        format!("{}\n", session.expose()).as_bytes(),
        crate::atomic_file::Access::Private,
    )
    .map_err(|e| CliError::caused(format!("cannot write {}", path.display()), e))
}
