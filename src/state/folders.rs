//! Chat folders shared by link (`chatlists.*`, the user provider): what
//! the config asks for and what the signed-in person's account holds.
//!
//! A folder belongs to no one chat, so it lives beside the org's chats
//! rather than in them; the planner diffs [`DesiredFolder`]s against
//! [`LiveFolder`]s matched to config keys by the filter id orgform's store
//! records (a [`LiveFolder`] is also that record), and by title only for
//! a key with no record yet, so a folder made on another run (or by hand)
//! is adopted instead of made twice.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::ChatId;

/// Telegram's limit on a folder's title, in characters.
pub const FOLDER_TITLE_MAX: usize = 12;
/// Telegram's limit on the chats of a folder shared by link.
pub const FOLDER_CHATS_MAX: usize = 100;

/// A folder as the config resolves it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredFolder {
    pub title: String,
    /// The chats it holds, by id.
    pub chats: BTreeSet<ChatId>,
    /// Chats it selects that have no id yet (the user provider creates
    /// them first; the next run adds them to the folder), by config key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_created: Vec<String>,
}

/// A folder of the signed-in person's account, with its shareable link.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveFolder {
    /// Telegram's id of the folder (a dialog filter), 2 and up.
    pub filter_id: i32,
    pub title: String,
    pub chats: BTreeSet<ChatId>,
    /// The folder's first shareable link (`https://t.me/addlist/…`), when
    /// it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// The chats its link joins, when read (a link keeps its own list:
    /// set apart from the folder's, it may lag behind it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_chats: Option<BTreeSet<ChatId>>,
}

impl LiveFolder {
    /// Whether its link joins other chats than `chats` (only when read).
    pub fn link_lags(&self, chats: &BTreeSet<ChatId>) -> bool {
        self.link.is_some() && self.link_chats.as_ref().is_some_and(|l| l != chats)
    }
}

impl LiveFolder {
    /// The slug of its link: what `chatlists.editExportedInvite` names it by.
    pub fn slug(&self) -> Option<&str> {
        self.link.as_deref().and_then(slug_of)
    }
}

/// The slug of a folder link (`https://t.me/addlist/SLUG`, with or without
/// the scheme, or the slug itself).
pub fn slug_of(link: &str) -> Option<&str> {
    let s = link
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let s = s.strip_prefix("t.me/addlist/").unwrap_or(s);
    (!s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
    .then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_read_from_links_and_hostile_text_is_not_a_slug() {
        assert_eq!(slug_of("https://t.me/addlist/AbC_12-x"), Some("AbC_12-x"));
        assert_eq!(slug_of("t.me/addlist/abc"), Some("abc"));
        assert_eq!(slug_of("abc"), Some("abc"));
        assert_eq!(slug_of("https://t.me/addlist/"), None);
        assert_eq!(slug_of("https://t.me/addlist/a b"), None);
        assert_eq!(slug_of("\u{1b}[31mred"), None);
    }
}
