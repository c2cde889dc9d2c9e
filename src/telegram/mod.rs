//! How orgform talks to Telegram (DESIGN §3, §5): the Bot API wire types
//! (`wire`), the HTTP client with pacing, retries and token redaction
//! (`client`, `error`), reading the live state (`read`), and carrying out
//! changes as `apply`'s `Provider` (`execute`).
//!
//! The usual sequence for a command that talks to Telegram:
//!
//! ```no_run
//! # async fn demo(desired: orgform::state::DesiredState, state_dir: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
//! use orgform::telegram::{self, Client, ClientOptions};
//! let url = telegram::resolve_api_url(None, None, Some("https://api.telegram.org"))?;
//! let token = telegram::load_token(None, Some("123456:ABCDEF…"))?;
//! let client = Client::new(url, token, ClientOptions::default())?;
//! let mut store = orgform::store::file::load(state_dir)?;
//! let now = jiff::Timestamp::now().as_second();
//! let (live, _drained) = telegram::refresh(&client, &desired, &mut store, now, None).await?;
//! orgform::store::file::save(state_dir, &store)?;
//! # let _ = live; Ok(()) }
//! ```

pub mod client;
pub mod error;
pub mod evidence;
pub mod execute;
/// The pace lives at the crate root, shared with the user provider
/// (`mtproto`): one pacer for 429 `retry_after` and MTProto FLOOD_WAIT.
pub use crate::pace;
pub mod read;
pub mod wire;

pub use client::{
    ApiCall, ApiUrl, Client, ClientOptions, DEFAULT_API_URL, Repeat, RetryPolicy, Token,
    load_token, resolve_api_url,
};
pub use error::{Class, Error, ErrorKind, SetupError};
pub use execute::TelegramProvider;
pub use read::{
    Census, Drained, ReadError, census, discover, drain_updates, read, read_chats, refresh,
};
