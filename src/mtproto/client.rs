//! The connection of the user provider: a grammers client over a session
//! orgform owns, with grammers' own retries turned off (orgform never lets
//! a library repeat a call whose outcome it does not know; FLOOD_WAIT goes
//! back to the caller, which waits through the shared pacer), and the
//! signing in and out that `orgform login` and `logout` drive.

use std::collections::HashMap;
use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6};
use std::sync::Arc;
use std::time::Duration;

use grammers_client::{Client, SignInError};
use grammers_mtsender::{ConnectionParams, InvocationError, NoRetries, SenderPool};
use grammers_session::storages::MemorySession;
use grammers_session::types::DcOption;
use grammers_session::{Session as _, SessionData};
use grammers_tl_types as tl;

use super::session::UserSession;

/// Where a new login connects: Telegram itself (grammers knows its
/// datacenters and agrees a key with them), or a server whose key was
/// agreed in advance (the sandbox's MTProto front-end).
#[derive(Clone)]
pub enum Target {
    Telegram,
    Agreed {
        address: SocketAddr,
        auth_key: Box<[u8; 256]>,
    },
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Telegram => f.write_str("Telegram"),
            Target::Agreed { address, .. } => write!(f, "Agreed({address}, key redacted)"),
        }
    }
}

/// What went wrong talking to Telegram over MTProto.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MtprotoError {
    /// `FLOOD_WAIT_X` (and `SLOWMODE_WAIT_X`): wait this long, then the
    /// call may be sent again; it did not run.
    #[error("Telegram asks to wait {seconds} s ({name})")]
    FloodWait { name: String, seconds: u64 },
    /// Any other error Telegram named (`CHAT_ADMIN_REQUIRED`, `PEER_FLOOD`, …).
    #[error("Telegram refused the call: {code} {name}")]
    Rpc {
        code: i32,
        name: String,
        value: Option<u32>,
    },
    /// The connection failed or was cut: whether the call ran is unknown.
    #[error("the MTProto connection failed: {0}")]
    Connection(String),
    #[error("signing in: {0}")]
    SignIn(String),
    #[error("the code is not the one Telegram sent")]
    InvalidCode,
    #[error("the two-step verification password is wrong")]
    InvalidPassword,
    #[error("no Telegram account uses this phone number; sign up in a Telegram app first")]
    SignUpRequired,
}

impl MtprotoError {
    /// Telegram's error name, if it named one.
    pub fn name(&self) -> Option<&str> {
        match self {
            MtprotoError::FloodWait { name, .. } | MtprotoError::Rpc { name, .. } => Some(name),
            _ => None,
        }
    }

    /// The call certainly did not take effect (Telegram answered with an
    /// error), as opposed to an unknown outcome.
    pub fn did_not_run(&self) -> bool {
        matches!(
            self,
            MtprotoError::FloodWait { .. } | MtprotoError::Rpc { .. }
        )
    }
}

impl From<InvocationError> for MtprotoError {
    fn from(e: InvocationError) -> Self {
        match e {
            InvocationError::Rpc(rpc) => {
                let waits = rpc.name == "FLOOD_WAIT" || rpc.name == "SLOWMODE_WAIT";
                match (waits, rpc.value) {
                    (true, Some(seconds)) => MtprotoError::FloodWait {
                        name: rpc.name,
                        seconds: u64::from(seconds),
                    },
                    _ => MtprotoError::Rpc {
                        code: rpc.code,
                        name: rpc.name,
                        value: rpc.value,
                    },
                }
            }
            other => MtprotoError::Connection(other.to_string()),
        }
    }
}

/// A connected user client.
pub struct UserClient {
    client: Client,
    session: Arc<MemorySession>,
    runner: tokio::task::JoinHandle<()>,
}

impl Drop for UserClient {
    fn drop(&mut self) {
        self.runner.abort();
    }
}

/// The home datacenter a fresh login starts from, as grammers' defaults.
const DEFAULT_DC: i32 = 2;

fn session_data(dc_id: i32, address: SocketAddr, auth_key: Option<[u8; 256]>) -> SessionData {
    let mut data = SessionData::default();
    let (ipv4, ipv6) = match address {
        SocketAddr::V4(v4) => (
            v4,
            SocketAddrV6::new(v4.ip().to_ipv6_mapped(), v4.port(), 0, 0),
        ),
        SocketAddr::V6(v6) => (
            SocketAddrV4::new(
                v6.ip()
                    .to_ipv4_mapped()
                    .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED),
                v6.port(),
            ),
            v6,
        ),
    };
    data.home_dc = dc_id;
    data.dc_options = HashMap::from([(
        dc_id,
        DcOption {
            id: dc_id,
            ipv4,
            ipv6,
            auth_key,
        },
    )]);
    data
}

fn start(session: Arc<MemorySession>, api_id: i32, ipv6: bool) -> UserClient {
    let params = ConnectionParams {
        retry_policy: Box::new(NoRetries),
        use_ipv6: ipv6,
        device_model: "orgform".into(),
        app_version: env!("CARGO_PKG_VERSION").into(),
        ..Default::default()
    };
    let pool = SenderPool::with_configuration(session.clone(), api_id, params);
    let client = Client::new(pool.handle);
    // Updates are not used: the provider reads what it needs. Dropping the
    // receiver lets grammers discard them instead of filling a queue.
    drop(pool.updates);
    let runner = tokio::spawn(pool.runner.run());
    UserClient {
        client,
        session,
        runner,
    }
}

/// How long one call may take before it counts as lost (above Telegram's
/// own 60 s flood waits, like the Bot API client's timeout).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(75);

impl UserClient {
    /// Connect with a signed-in session.
    pub fn connect(session: &UserSession, api_id: i32) -> UserClient {
        let data = session_data(session.dc_id, session.address, Some(session.auth_key()));
        start(
            Arc::new(MemorySession::from(data)),
            api_id,
            session.address.is_ipv6(),
        )
    }

    /// Connect for a login.
    pub fn for_login(target: &Target, api_id: i32) -> UserClient {
        match target {
            Target::Telegram => start(Arc::new(MemorySession::default()), api_id, false),
            Target::Agreed { address, auth_key } => {
                let data = session_data(DEFAULT_DC, *address, Some(**auth_key));
                start(
                    Arc::new(MemorySession::from(data)),
                    api_id,
                    address.is_ipv6(),
                )
            }
        }
    }

    /// Invoke one raw TL function, bounded in time.
    pub async fn invoke<R: tl::RemoteCall>(&self, request: &R) -> Result<R::Return, MtprotoError> {
        match tokio::time::timeout(CALL_TIMEOUT, self.client.invoke(request)).await {
            Ok(answer) => answer.map_err(MtprotoError::from),
            Err(_) => Err(MtprotoError::Connection(format!(
                "no answer within {} s",
                CALL_TIMEOUT.as_secs()
            ))),
        }
    }

    /// Whether the session's key has an account signed in.
    pub async fn is_authorized(&self) -> Result<bool, MtprotoError> {
        self.client
            .is_authorized()
            .await
            .map_err(MtprotoError::from)
    }

    /// Ask Telegram to send a login code to the account's Telegram apps.
    pub async fn request_code(
        &self,
        phone: &str,
        api_hash: &str,
    ) -> Result<grammers_client::client::LoginToken, MtprotoError> {
        self.client
            .request_login_code(phone, api_hash)
            .await
            .map_err(MtprotoError::from)
    }

    /// Complete a login with the code; `Ok(Err(token))` when the account
    /// also has a two-step verification password.
    pub async fn sign_in(
        &self,
        token: &grammers_client::client::LoginToken,
        code: &str,
    ) -> Result<Result<i64, grammers_client::client::PasswordToken>, MtprotoError> {
        match self.client.sign_in(token, code).await {
            Ok(user) => Ok(Ok(user.id().bare_id().unwrap_or_default())),
            Err(SignInError::PasswordRequired(token)) => Ok(Err(token)),
            Err(e) => Err(sign_in_error(e)),
        }
    }

    pub async fn check_password(
        &self,
        token: grammers_client::client::PasswordToken,
        password: &str,
    ) -> Result<i64, MtprotoError> {
        match self.client.check_password(token, password).await {
            Ok(user) => Ok(user.id().bare_id().unwrap_or_default()),
            Err(e) => Err(sign_in_error(e)),
        }
    }

    /// The session to keep after a login as `user_id`.
    pub fn session(&self, user_id: i64) -> Result<UserSession, MtprotoError> {
        let dc = self
            .session
            .home_dc_id()
            .map_err(|e| MtprotoError::SignIn(e.to_string()))?;
        let option = self
            .session
            .dc_option(dc)
            .map_err(|e| MtprotoError::SignIn(e.to_string()))?
            .ok_or_else(|| MtprotoError::SignIn(format!("no address for datacenter {dc}")))?;
        let key = option
            .auth_key
            .ok_or_else(|| MtprotoError::SignIn("no auth key was agreed".into()))?;
        Ok(UserSession::new(dc, option.ipv4.into(), user_id, key))
    }

    /// End the session on Telegram's side: its key signs nothing in again.
    pub async fn log_out(&self) -> Result<(), MtprotoError> {
        self.invoke(&tl::functions::auth::LogOut {})
            .await
            .map(|_| ())
    }
}

fn sign_in_error(e: SignInError) -> MtprotoError {
    match e {
        SignInError::InvalidCode => MtprotoError::InvalidCode,
        SignInError::InvalidPassword(_) => MtprotoError::InvalidPassword,
        SignInError::SignUpRequired => MtprotoError::SignUpRequired,
        SignInError::Other(e) => MtprotoError::from(e),
        SignInError::PasswordRequired(_) => {
            MtprotoError::SignIn("Telegram asked for the password again".into())
        }
    }
}
