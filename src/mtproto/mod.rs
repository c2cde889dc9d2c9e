//! The user-account provider over MTProto (DESIGN §11): what a logged-in
//! person can do and a bot cannot. This module owns the user session (the
//! credential, [`session`]) and the grammers connection with signing in
//! and out ([`client`]); it may use `state`, `plan` and `apply`'s
//! `Provider` trait only (DESIGN §1).

pub mod client;
pub mod provider;
pub mod read;
pub mod session;

pub use client::{MtprotoError, Target, UserClient};
pub use provider::{Invited, NewChat, PersonSetting, PersonSettings, Standing, UserProvider};
pub use session::{SessionError, UserSession};
