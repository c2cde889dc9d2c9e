//! The sandbox's MTProto front-end (DESIGN §8, §11): a second door into the
//! same [`World`](super::World) the Bot API front-end serves, speaking as
//! much MTProto 2.0 as grammers needs, on 127.0.0.1.
//!
//! There is no key exchange: a test agrees an auth key with the sandbox in
//! advance ([`RunningMtproto::authorize`]) and seeds it into the client's
//! session, and grammers then skips the exchange and connects to the
//! address the session holds. A key the sandbox does not know is answered
//! with the transport error -404, as Telegram does.
//!
//! Layers, each in its own file: `envelope` (auth key, msg_key, AES-IGE),
//! `session` (the transport frame, salts, containers, gzip, acks, pings,
//! rpc_result/rpc_error), `rpc` (the functions, translated into the world's
//! rules). Faults are scripted per method ([`MtprotoFault`]) so a test meets
//! exactly the FLOOD_WAIT or dropped connection it asked for.

pub(crate) mod admin_log;
mod envelope;
pub(crate) mod folders;
mod routine;
mod rpc;
mod session;
mod srp;
mod tl_out;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::server::{self, Shared};
use super::{RunningSandbox, SandboxError};
use crate::state::UserId;

pub use envelope::ServerKey;
pub use tl_out::access_hash;

/// How to run the MTProto front-end.
#[derive(Clone, Debug, Default)]
pub struct MtprotoOptions {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
}

/// A fault the next matching call meets, once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MtprotoFault {
    /// Answer `FLOOD_WAIT_{seconds}` (code 420) without running the call.
    FloodWait { method: String, seconds: u32 },
    /// Close the connection instead of answering; `after_call` runs the
    /// call first (the answer is lost, the change happened).
    Drop { method: String, after_call: bool },
    /// Answer this error (`PEER_FLOOD`, `USER_NOT_MUTUAL_CONTACT`, …)
    /// without running the call.
    Error {
        method: String,
        code: i32,
        message: String,
    },
}

impl MtprotoFault {
    fn method(&self) -> &str {
        match self {
            MtprotoFault::FloodWait { method, .. }
            | MtprotoFault::Drop { method, .. }
            | MtprotoFault::Error { method, .. } => method,
        }
    }
}

/// Service-level traffic, for tests that check the envelope was really
/// exercised (a container arrived, a body was gzip_packed, …).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceStats {
    pub connections: u64,
    pub containers: u64,
    pub gzipped: u64,
    pub pings: u64,
    pub acks: u64,
    pub bad_salts: u64,
    pub new_sessions: u64,
    /// Connections refused with -404 (a key the sandbox never agreed).
    pub unknown_keys: u64,
    pub dropped: u64,
}

/// One agreed auth key and the account signed in on it (none until a
/// login completes).
struct KeyEntry {
    key: ServerKey,
    user: Option<UserId>,
}

/// A login in progress: auth.sendCode handed out `phone_code_hash`.
struct PendingPassword {
    user: UserId,
    challenge: Option<(i64, srp::Challenge)>,
}

struct PendingCode {
    phone: String,
    code: String,
}

/// An upload's parts so far, by part number.
type FileParts = BTreeMap<i32, Vec<u8>>;

/// What the MTProto front-end shares between connections.
pub(crate) struct Front {
    sandbox: Arc<Shared>,
    keys: Mutex<HashMap<u64, KeyEntry>>,
    faults: Mutex<VecDeque<MtprotoFault>>,
    calls: Mutex<BTreeMap<String, u64>>,
    service: Mutex<ServiceStats>,
    codes: Mutex<HashMap<String, PendingCode>>,
    /// Keys whose login waits for the two-step verification password: the
    /// account, and the SRP challenge last offered (one use each).
    passwords: Mutex<HashMap<u64, PendingPassword>>,
    /// The one server salt; a message with another is answered with
    /// bad_server_salt carrying this one.
    salt: i64,
    addr: SocketAddr,
    /// Files being uploaded (upload.saveFilePart), by account and file id:
    /// their parts so far.
    uploads: Mutex<HashMap<(UserId, i64), FileParts>>,
}

impl Front {
    fn user_of(&self, key_id: u64) -> Option<UserId> {
        server::lock(&self.keys).get(&key_id).and_then(|k| k.user)
    }

    fn key(&self, key_id: u64) -> Option<ServerKey> {
        server::lock(&self.keys).get(&key_id).map(|k| k.key.clone())
    }

    fn bind(&self, key_id: u64, user: Option<UserId>) {
        if let Some(entry) = server::lock(&self.keys).get_mut(&key_id) {
            entry.user = user;
        }
    }

    /// The scripted fault for this call, if one is waiting.
    fn take_fault(&self, method: &str) -> Option<MtprotoFault> {
        let mut faults = server::lock(&self.faults);
        let at = faults.iter().position(|f| f.method() == method)?;
        faults.remove(at)
    }

    fn note(&self, f: impl FnOnce(&mut ServiceStats)) {
        f(&mut server::lock(&self.service));
    }

    fn count(&self, method: &str) {
        *server::lock(&self.calls)
            .entry(method.to_string())
            .or_default() += 1;
    }
}

/// The MTProto front-end serving in the background.
pub struct RunningMtproto {
    front: Arc<Front>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl RunningSandbox {
    /// Serve this sandbox's world over MTProto too, on another port.
    pub async fn start_mtproto(
        &self,
        options: MtprotoOptions,
    ) -> Result<RunningMtproto, SandboxError> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", options.port))
            .await
            .map_err(|source| SandboxError::Bind {
                port: options.port,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SandboxError::Bind {
            port: options.port,
            source,
        })?;
        let front = Arc::new(Front {
            sandbox: self.shared.clone(),
            keys: Mutex::new(HashMap::new()),
            faults: Mutex::new(VecDeque::new()),
            calls: Mutex::new(BTreeMap::new()),
            service: Mutex::new(ServiceStats::default()),
            codes: Mutex::new(HashMap::new()),
            passwords: Mutex::new(HashMap::new()),
            salt: rand::random::<i64>() | 1,
            addr,
            uploads: Mutex::new(HashMap::new()),
        });
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(session::accept(listener, front.clone(), stop_rx));
        Ok(RunningMtproto { front, stop, task })
    }
}

impl RunningMtproto {
    pub fn addr(&self) -> SocketAddr {
        self.front.addr
    }

    /// Agree an auth key with a client in advance: its connections are
    /// accepted, signed in as `user` (or not signed in, for a login).
    pub fn authorize(&self, auth_key: [u8; 256], user: Option<UserId>) {
        let key = ServerKey::new(auth_key);
        server::lock(&self.front.keys).insert(key.id(), KeyEntry { key, user });
    }

    /// The account signed in on this key, if any.
    pub fn signed_in(&self, auth_key: [u8; 256]) -> Option<UserId> {
        self.front.user_of(ServerKey::new(auth_key).id())
    }

    /// Queue a fault for the next call of its method.
    pub fn inject(&self, fault: MtprotoFault) {
        server::lock(&self.front.faults).push_back(fault);
    }

    /// Calls per TL function name (`channels.getParticipants`), wrappers
    /// (`invokeWithLayer`, `initConnection`) not counted.
    pub fn calls(&self) -> BTreeMap<String, u64> {
        server::lock(&self.front.calls).clone()
    }

    pub fn service(&self) -> ServiceStats {
        server::lock(&self.front.service).clone()
    }

    /// The login code auth.sendCode "sent" to this phone (the sandbox's
    /// stand-in for the Telegram app that receives it).
    pub fn login_code(&self, phone: &str) -> Option<String> {
        server::lock(&self.front.codes)
            .values()
            .find(|c| c.phone == phone)
            .map(|c| c.code.clone())
    }

    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}
