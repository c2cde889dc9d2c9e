//! The user-account provider over MTProto (DESIGN §11): what a logged-in
//! person can do and a bot cannot. This module owns the user session (the
//! credential, [`session`]), the grammers connection with signing in and
//! out ([`client`]), the operations and their `apply::Provider`
//! implementation ([`provider`]: create chats, settings only people can
//! change, members, topics, links, the admin log), and what a person's
//! reading adds to live state ([`read`]: exact members, recovery by name,
//! attribution of drift), and department folders shared by link
//! ([`folders`]). It uses `state`, `plan`, `apply`'s provider
//! types and `store` records, as the architecture table allows.

pub mod banned;
pub mod client;
pub mod folders;
pub mod live;
pub mod provider;
pub mod read;
pub mod routine;
pub mod session;

pub use client::{MtprotoError, Target, UserClient};
pub use provider::{Invited, NewChat, PersonSetting, PersonSettings, Standing, UserProvider};
pub use session::{SessionError, UserSession};
