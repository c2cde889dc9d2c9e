//! `orgform logout`: end the user session on Telegram's side (its key signs
//! nothing in again) and delete the session file.

use std::path::PathBuf;

use clap::Args;

use super::connect::{block_on_interruptible, runtime};
use super::error::{CliError, exit};
use super::login::{SESSION_ENV, SessionSource, api_credentials, load_session};
use crate::mtproto::UserClient;

#[derive(Args, Debug)]
pub struct LogoutArgs {
    /// The session file [default: env ORGFORM_TELEGRAM_SESSION, then <state-dir>/user.session].
    #[arg(long, value_name = "FILE")]
    pub session_file: Option<PathBuf>,
    /// Where orgform keeps its store and journals [env: ORGFORM_STATE_DIR; default: .orgform].
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
}

pub fn run(args: LogoutArgs) -> Result<u8, CliError> {
    let (api_id, _) = api_credentials()?;
    let (session, source) = load_session(args.session_file.as_deref(), args.state_dir.as_deref())?;
    let rt = runtime()?;
    let ended = block_on_interruptible(&rt, "the session was not ended", async {
        let client = UserClient::connect(&session, api_id);
        match client.log_out().await {
            Ok(()) => Ok(true),
            // Ended already (elsewhere, or by Telegram): nothing to end.
            Err(e) if e.name() == Some("AUTH_KEY_UNREGISTERED") => Ok(false),
            Err(e) => Err(CliError::with_hint(
                format!("logout failed: {e}; the session was kept"),
                "run `orgform logout` again; end it from Telegram's Settings > Devices if it keeps failing",
            )),
        }
    })?;
    let what = if ended {
        "Signed out"
    } else {
        "The session had already ended"
    };
    match source {
        SessionSource::File(path) => {
            std::fs::remove_file(&path)
                .map_err(|e| CliError::caused(format!("cannot delete {}", path.display()), e))?;
            eprintln!("{what}; deleted {}.", path.display());
        }
        SessionSource::Env => {
            eprintln!("{what}; delete the secret {SESSION_ENV} where it is stored.");
        }
    }
    Ok(exit::OK)
}
