//! The user session: the one credential of the user provider, as orgform
//! keeps it (not grammers' SQLite storage, whose libsql clashes with
//! rusqlite). It holds the datacenter, its address, the permanent auth key
//! and the signed-in account, and is written as one line,
//! `orgform-session/1/<dc>/<user>/<address>/<key hex>`, the same in the
//! 0600 file and in `ORGFORM_TELEGRAM_SESSION`.
//!
//! Like the bot token it is never printed: `Debug` shows only the account,
//! and the text comes out only through [`UserSession::expose`], which the
//! login command uses once to write the file or print it for a CI secret.

use std::fmt;
use std::net::SocketAddr;

const PREFIX: &str = "orgform-session";
const VERSION: &str = "1";

/// A signed-in user account's session.
#[derive(Clone, PartialEq, Eq)]
pub struct UserSession {
    pub dc_id: i32,
    pub address: SocketAddr,
    pub user_id: i64,
    auth_key: [u8; 256],
}

impl fmt::Debug for UserSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "UserSession(user {}, dc {}, key redacted)",
            self.user_id, self.dc_id
        )
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// The text is not a session; `source_name` says where it came from.
    /// The text itself is never repeated: it may be a mangled credential.
    #[error("the user session {source_name} is not an orgform session: {reason}")]
    Malformed {
        source_name: String,
        reason: &'static str,
    },
}

impl UserSession {
    pub fn new(dc_id: i32, address: SocketAddr, user_id: i64, auth_key: [u8; 256]) -> Self {
        UserSession {
            dc_id,
            address,
            user_id,
            auth_key,
        }
    }

    /// Read the one-line form; `source_name` ("in ORGFORM_TELEGRAM_SESSION",
    /// "in .orgform/user.session") goes into the error.
    pub fn parse(text: &str, source_name: &str) -> Result<UserSession, SessionError> {
        let bad = |reason| SessionError::Malformed {
            source_name: source_name.to_string(),
            reason,
        };
        let mut parts = text.trim().split('/');
        if parts.next() != Some(PREFIX) {
            return Err(bad("it does not start with 'orgform-session/'"));
        }
        if parts.next() != Some(VERSION) {
            return Err(bad("it was written by another version of orgform"));
        }
        let dc_id = parts
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| bad("the datacenter is not a number"))?;
        let user_id = parts
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| bad("the account id is not a number"))?;
        let address = parts
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| bad("the address is not host:port"))?;
        let key = parts
            .next()
            .and_then(grammers_crypto::hex::opt_from_hex)
            .ok_or_else(|| bad("the key is not hexadecimal"))?;
        let auth_key: [u8; 256] = key
            .try_into()
            .map_err(|_| bad("the key is not 256 bytes"))?;
        if parts.next().is_some() {
            return Err(bad("it has more parts than a session"));
        }
        Ok(UserSession {
            dc_id,
            address,
            user_id,
            auth_key,
        })
    }

    /// The secret text. Only for writing the session file or printing it
    /// once for a CI secret.
    pub fn expose(&self) -> String {
        format!(
            "{PREFIX}/{VERSION}/{}/{}/{}/{}",
            self.dc_id,
            self.user_id,
            self.address,
            grammers_crypto::hex::to_hex(&self.auth_key)
        )
    }

    pub(crate) fn auth_key(&self) -> [u8; 256] {
        self.auth_key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> UserSession {
        UserSession::new(
            2,
            "127.0.0.1:18500".parse().unwrap(),
            100_001,
            std::array::from_fn(|i| i as u8),
        )
    }

    #[test]
    fn round_trips_and_debug_hides_the_key() {
        let s = session();
        assert_eq!(UserSession::parse(&s.expose(), "here").unwrap(), s);
        assert_eq!(
            UserSession::parse(&format!("  {}\n", s.expose()), "x").unwrap(),
            s
        );
        let shown = format!("{s:?}");
        assert!(!shown.contains(&grammers_crypto::hex::to_hex(&s.auth_key)[..16]));
        assert!(shown.contains("100001"));
        let v6 = UserSession::new(4, "[2001:db8::1]:443".parse().unwrap(), 7, [9; 256]);
        assert_eq!(UserSession::parse(&v6.expose(), "x").unwrap(), v6);
    }

    #[test]
    fn malformed_sessions_are_refused_without_echoing_them() {
        let text = session().expose();
        let cases = [
            String::new(),
            "bot123:abc".to_string(),
            text.replace("/1/", "/9/"),
            text[..text.len() - 2].to_string(),
            format!("{text}/extra"),
            text.replace("127.0.0.1:18500", "nowhere"),
        ];
        for case in cases {
            let err = UserSession::parse(&case, "in ORGFORM_TELEGRAM_SESSION").unwrap_err();
            let shown = err.to_string();
            assert!(shown.contains("in ORGFORM_TELEGRAM_SESSION"), "{shown}");
            if case.len() > 40 {
                assert!(!shown.contains(&case[case.len() - 40..]), "{shown}");
            }
        }
    }
}
