//! Drift of department folders (`folders:`): where the signed-in person's
//! chat folders moved away from the config by hand. A chat taken out of a
//! folder or put into it, a title changed, the folder deleted, its link
//! deleted ("revoked": Telegram has no other way to stop a folder link).
//!
//! Pure: the config's folders × the account's folders as the user
//! provider read and matched them × what the store records → items. Only
//! a person can read folders; without one the report says they were not
//! checked ([`FolderDrift::NotChecked`]) rather than nothing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Fixer;
use crate::state::folders::{DesiredFolder, LiveFolder};
use crate::state::{Address, ChatId};

/// What kind of folder drift.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FolderKind {
    /// The folder orgform made is gone from the account.
    Deleted,
    /// The config declares a folder the account does not have.
    Missing,
    /// The folder's title is not the config's.
    Title,
    /// A chat of the config's folder is not in it.
    ChatRemoved,
    /// The folder holds a chat the config does not put in it.
    ChatAdded,
    /// The folder's link orgform made is gone (or another link replaced it).
    LinkRevoked,
    /// The folder is not shared by any link.
    NotShared,
    /// The folder's link joins other chats than the config's.
    LinkChats,
}

impl FolderKind {
    pub fn title(self) -> &'static str {
        match self {
            FolderKind::Deleted => "folder deleted",
            FolderKind::Missing => "folder missing",
            FolderKind::Title => "folder title",
            FolderKind::ChatRemoved => "chat taken out of the folder",
            FolderKind::ChatAdded => "chat put into the folder",
            FolderKind::LinkRevoked => "folder link revoked",
            FolderKind::NotShared => "folder not shared",
            FolderKind::LinkChats => "chats the folder link joins",
        }
    }
}

/// One difference in a folder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderItem {
    /// `folder.KEY`.
    pub address: Address,
    pub kind: FolderKind,
    pub fixer: Fixer,
    /// What is wrong, in a few words.
    pub summary: String,
    /// What the config asks for (`null` = nothing).
    pub expected: Value,
    /// What Telegram has (`null` = nothing).
    pub actual: Value,
    /// What brings it back.
    pub fix: String,
}

/// The folder part of a drift report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum FolderDrift {
    /// The account's folders were read: the differences, by folder key
    /// and kind.
    Checked { items: Vec<FolderItem> },
    /// They could not be read; why.
    NotChecked { reason: String },
}

impl FolderDrift {
    pub fn items(&self) -> &[FolderItem] {
        match self {
            FolderDrift::Checked { items } => items,
            FolderDrift::NotChecked { .. } => &[],
        }
    }
}

/// The drift of every folder of the config. `live` holds the account's
/// folders matched to config keys, `gone` the recorded folders the account
/// no longer has, `recorded` the store's records (for the link orgform
/// made). `name` gives a chat's config key for people to read.
pub fn detect(
    desired: &BTreeMap<String, DesiredFolder>,
    live: &BTreeMap<String, LiveFolder>,
    gone: &BTreeMap<String, LiveFolder>,
    recorded: &BTreeMap<String, LiveFolder>,
    name: impl Fn(ChatId) -> String,
) -> Vec<FolderItem> {
    let mut out = Vec::new();
    for (key, want) in desired {
        let address = Address::folder(key);
        let item = |kind: FolderKind, summary: String, expected, actual, fix: &str| FolderItem {
            address: address.clone(),
            kind,
            fixer: Fixer::Apply,
            summary,
            expected,
            actual,
            fix: fix.to_string(),
        };
        let names = |chats: &mut dyn Iterator<Item = &ChatId>| -> Vec<String> {
            chats.map(|id| name(*id)).collect()
        };
        let Some(have) = live.get(key) else {
            if want.chats.is_empty() {
                // Nothing to share yet: the plan makes no folder either.
                continue;
            }
            let wanted = json!({"title": want.title, "chats": names(&mut want.chats.iter())});
            out.push(match gone.get(key) {
                Some(old) => item(
                    FolderKind::Deleted,
                    format!(
                        "the folder orgform made (id {}) was deleted{}",
                        old.filter_id,
                        old.link
                            .as_deref()
                            .map(|l| format!("; its link {l} no longer works"))
                            .unwrap_or_default()
                    ),
                    wanted,
                    Value::Null,
                    "`orgform apply` makes it again, with a new link to hand out",
                ),
                None => item(
                    FolderKind::Missing,
                    "the account has no folder of this title".into(),
                    wanted,
                    Value::Null,
                    "`orgform apply` makes and shares it",
                ),
            });
            continue;
        };
        if have.title != want.title {
            out.push(item(
                FolderKind::Title,
                "the folder's title differs".into(),
                json!(want.title),
                json!(have.title),
                "`orgform apply` sets the title back (the folder and its link stay)",
            ));
        }
        for chat in want.chats.difference(&have.chats) {
            out.push(item(
                FolderKind::ChatRemoved,
                format!("{} was taken out of the folder", name(*chat)),
                json!(name(*chat)),
                Value::Null,
                "`orgform apply` puts it back, in the folder and its link",
            ));
        }
        for chat in have.chats.difference(&want.chats) {
            out.push(item(
                FolderKind::ChatAdded,
                format!("{} was put into the folder", name(*chat)),
                Value::Null,
                json!(name(*chat)),
                "`orgform apply` takes it out again, of the folder and its link",
            ));
        }
        let made = recorded
            .get(key)
            .filter(|r| r.filter_id == have.filter_id)
            .and_then(|r| r.link.as_deref());
        match (made, have.link.as_deref()) {
            (Some(made), now) if now != Some(made) => out.push(item(
                FolderKind::LinkRevoked,
                format!("the link orgform made ({made}) was deleted"),
                json!(made),
                json!(now),
                "`orgform apply` shares the folder again: a new link, the old one stays dead",
            )),
            (None, None) => out.push(item(
                FolderKind::NotShared,
                "the folder has no link".into(),
                json!("a t.me/addlist link"),
                Value::Null,
                "`orgform apply` shares it by link",
            )),
            _ => {}
        }
        if have.link_lags(&want.chats) {
            let joined = have.link_chats.iter().flatten();
            out.push(item(
                FolderKind::LinkChats,
                "the folder's link joins other chats than the config's".into(),
                json!(names(&mut want.chats.iter())),
                json!(names(&mut joined.collect::<Vec<_>>().into_iter())),
                "`orgform apply` sets the link's chats again",
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn want(title: &str, chats: &[ChatId]) -> DesiredFolder {
        DesiredFolder {
            title: title.into(),
            chats: chats.iter().copied().collect(),
            not_created: vec![],
        }
    }

    fn folder(id: i32, title: &str, chats: &[ChatId], link: Option<&str>) -> LiveFolder {
        LiveFolder {
            filter_id: id,
            title: title.into(),
            chats: chats.iter().copied().collect(),
            link: link.map(str::to_string),
            link_chats: None,
        }
    }

    fn kinds(items: &[FolderItem]) -> Vec<(String, FolderKind)> {
        items
            .iter()
            .map(|i| (i.address.to_string(), i.kind))
            .collect()
    }

    #[test]
    fn each_hand_change_is_an_item_of_its_kind() {
        let desired = BTreeMap::from([
            ("a".to_string(), want("A", &[-1, -2])),
            ("b".to_string(), want("B", &[-3])),
            ("c".to_string(), want("C", &[-4])),
            ("d".to_string(), want("D", &[-5])),
            ("same".to_string(), want("S", &[-6])),
        ]);
        let recorded = BTreeMap::from([
            ("a".to_string(), folder(2, "A", &[-1, -2], Some("L2"))),
            ("b".to_string(), folder(3, "B", &[-3], Some("L3"))),
            ("c".to_string(), folder(4, "C", &[-4], Some("L4"))),
            ("same".to_string(), folder(6, "S", &[-6], Some("L6"))),
        ]);
        let live = BTreeMap::from([
            // A chat taken out, another put in, the title changed.
            (
                "a".to_string(),
                folder(2, "A by hand", &[-1, -9], Some("L2")),
            ),
            // The link deleted.
            ("b".to_string(), folder(3, "B", &[-3], None)),
            ("same".to_string(), folder(6, "S", &[-6], Some("L6"))),
        ]);
        let gone = BTreeMap::from([("c".to_string(), recorded["c"].clone())]);
        let items = detect(&desired, &live, &gone, &recorded, |id| format!("c{}", -id));
        assert_eq!(
            kinds(&items),
            [
                ("folder.a".into(), FolderKind::Title),
                ("folder.a".into(), FolderKind::ChatRemoved),
                ("folder.a".into(), FolderKind::ChatAdded),
                ("folder.b".into(), FolderKind::LinkRevoked),
                ("folder.c".into(), FolderKind::Deleted),
                ("folder.d".into(), FolderKind::Missing),
            ]
        );
        assert_eq!(items[1].expected, json!("c2"));
        assert_eq!(items[2].actual, json!("c9"));
        assert!(items[4].summary.contains("L4 no longer works"));
        assert!(items.iter().all(|i| i.fixer == Fixer::Apply));
    }

    #[test]
    fn a_link_that_lags_behind_its_folder_is_drift() {
        let desired = BTreeMap::from([("a".to_string(), want("A", &[-1, -2]))]);
        let mut have = folder(2, "A", &[-1, -2], Some("L"));
        have.link_chats = Some([-1].into());
        let live = BTreeMap::from([("a".to_string(), have)]);
        let items = detect(&desired, &live, &BTreeMap::new(), &live, |id| {
            id.to_string()
        });
        assert_eq!(kinds(&items), [("folder.a".into(), FolderKind::LinkChats)]);
        assert_eq!(items[0].actual, json!(["-1"]));
    }

    #[test]
    fn a_folder_in_line_with_the_config_is_no_drift() {
        let desired = BTreeMap::from([("a".to_string(), want("A", &[-1]))]);
        let live = BTreeMap::from([("a".to_string(), folder(2, "A", &[-1], Some("L")))]);
        assert!(
            detect(&desired, &live, &BTreeMap::new(), &live, |id| id
                .to_string())
            .is_empty()
        );
        // Adopted by title with no record yet: shared is enough.
        assert!(
            detect(&desired, &live, &BTreeMap::new(), &BTreeMap::new(), |id| id
                .to_string())
            .is_empty()
        );
    }
}
