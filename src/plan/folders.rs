//! The changes that keep department folders (`folders:`) as the config
//! says: a folder missing from the person's account is created and shared
//! by link; one whose title or chats differ is edited, its link with it.
//! A folder the config no longer names is left alone (as a chat is).
//!
//! Folder changes belong to no chat: their `chat` is the folder's address
//! (`folder.KEY`), which sorts them apart from every chat's changes, and
//! their `chat_id` is 0.

use std::collections::BTreeMap;

use super::change::{Action, Change, Op, Step};
use super::value::Value;
use crate::state::folders::{DesiredFolder, LiveFolder};
use crate::state::{Address, ChatId, ChatType};

/// The changes from `live` (the account's folders, by config key) to
/// `desired`. `gone` holds the folders orgform made that were deleted
/// outside it (made again, and the plan says so). `name` gives a chat's
/// config key for people to read.
pub fn changes(
    desired: &BTreeMap<String, DesiredFolder>,
    live: &BTreeMap<String, LiveFolder>,
    gone: &BTreeMap<String, LiveFolder>,
    name: impl Fn(ChatId) -> String,
) -> Vec<Change> {
    let names = |chats: &mut dyn Iterator<Item = &ChatId>| -> Vec<String> {
        chats.map(|id| name(*id)).collect()
    };
    let mut out = Vec::new();
    for (key, want) in desired {
        let mut why = Vec::new();
        if !want.not_created.is_empty() {
            why.push(format!(
                "{} join the folder on the run after they are created",
                want.not_created.join(", ")
            ));
        }
        let chats: Vec<ChatId> = want.chats.iter().copied().collect();
        let (action, op, before, after) = match live.get(key) {
            None => {
                if chats.is_empty() {
                    // Telegram refuses an empty folder; nothing to share yet.
                    continue;
                }
                why.insert(
                    0,
                    "declared in folders: the user provider makes and shares it".into(),
                );
                if let Some(old) = gone.get(key) {
                    why.insert(
                        1,
                        format!(
                            "the folder orgform made (id {}) was deleted outside orgform: it is made again, with a new link{}",
                            old.filter_id,
                            old.link
                                .as_deref()
                                .map(|l| format!(" ({l} no longer works)"))
                                .unwrap_or_default()
                        ),
                    );
                }
                (
                    Action::Create,
                    Op::CreateFolder {
                        key: key.clone(),
                        title: want.title.clone(),
                        chats: chats.clone(),
                    },
                    Value::Nothing,
                    Value::Folder {
                        title: want.title.clone(),
                        chats: names(&mut want.chats.iter()),
                        link: None,
                    },
                )
            }
            Some(have)
                if have.title != want.title
                    || have.chats != want.chats
                    || have.link.is_none()
                    || have.link_lags(&want.chats) =>
            {
                if chats.is_empty() {
                    continue;
                }
                let added: Vec<ChatId> = want.chats.difference(&have.chats).copied().collect();
                let removed: Vec<ChatId> = have.chats.difference(&want.chats).copied().collect();
                if !added.is_empty() {
                    why.push(format!("adds {}", names(&mut added.iter()).join(", ")));
                }
                if !removed.is_empty() {
                    why.push(format!("drops {}", names(&mut removed.iter()).join(", ")));
                }
                if have.link.is_none() {
                    why.push("the folder has no link yet: it is shared".into());
                } else if have.link_lags(&want.chats) {
                    why.push("its link joins other chats than the folder: it is set again".into());
                }
                (
                    Action::Update,
                    Op::EditFolder {
                        key: key.clone(),
                        filter_id: have.filter_id,
                        title: want.title.clone(),
                        chats: chats.clone(),
                    },
                    Value::Folder {
                        title: have.title.clone(),
                        chats: names(&mut have.chats.iter()),
                        link: have.link.clone(),
                    },
                    Value::Folder {
                        title: want.title.clone(),
                        chats: names(&mut want.chats.iter()),
                        link: have.link.clone(),
                    },
                )
            }
            Some(_) => continue,
        };
        out.push(Change {
            address: Address::folder(key),
            chat: Address::folder(key).0,
            chat_id: 0,
            // A folder has no chat type; the field is shown for chats only.
            chat_type: ChatType::Supergroup,
            action,
            step: Step::Settings,
            reversible: op.reversible(),
            op,
            before,
            after,
            why,
            person: None,
            undeclared: false,
            seat: None,
        });
    }
    out
}

/// Whether a change is about a folder rather than a chat.
pub fn is_folder(change: &Change) -> bool {
    matches!(
        change.op,
        Op::CreateFolder { .. } | Op::EditFolder { .. } | Op::DeleteFolder { .. }
    )
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

    fn have(title: &str, chats: &[ChatId], link: Option<&str>) -> LiveFolder {
        LiveFolder {
            filter_id: 2,
            title: title.into(),
            chats: chats.iter().copied().collect(),
            link: link.map(str::to_string),
            link_chats: None,
        }
    }

    #[test]
    fn a_missing_folder_is_created_and_a_grown_one_edited() {
        let desired = BTreeMap::from([
            ("eng".to_string(), want("Eng", &[-1, -2])),
            ("ops".to_string(), want("Ops", &[-3])),
            ("same".to_string(), want("Same", &[-4])),
        ]);
        let live = BTreeMap::from([
            (
                "ops".to_string(),
                have("Ops", &[], Some("https://t.me/addlist/x")),
            ),
            (
                "same".to_string(),
                have("Same", &[-4], Some("https://t.me/addlist/y")),
            ),
        ]);
        let out = changes(&desired, &live, &BTreeMap::new(), |id| format!("c{}", -id));
        assert_eq!(out.len(), 2, "{out:#?}");
        assert_eq!(out[0].action, Action::Create);
        assert_eq!(out[0].address.as_str(), "folder.eng");
        assert!(out[0].reversible);
        assert_eq!(
            out[0].after.to_json()["chats"],
            serde_json::json!(["c2", "c1"])
        );
        assert_eq!(out[1].action, Action::Update);
        assert!(matches!(out[1].op, Op::EditFolder { filter_id: 2, .. }));
        assert_eq!(out[1].why, ["adds c3"]);
        assert_eq!(out[1].before.to_json()["link"], "https://t.me/addlist/x");
    }

    #[test]
    fn an_empty_folder_is_not_planned() {
        let desired = BTreeMap::from([("eng".to_string(), want("Eng", &[]))]);
        assert!(
            changes(&desired, &BTreeMap::new(), &BTreeMap::new(), |id| id
                .to_string())
            .is_empty()
        );
    }

    #[test]
    fn a_folder_deleted_by_hand_is_made_again_and_the_plan_says_so() {
        let desired = BTreeMap::from([("eng".to_string(), want("Eng", &[-1]))]);
        let gone = BTreeMap::from([(
            "eng".to_string(),
            have("Eng", &[-1], Some("https://t.me/addlist/old")),
        )]);
        let out = changes(&desired, &BTreeMap::new(), &gone, |id| id.to_string());
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].action, Action::Create);
        assert!(
            out[0].why[1].contains("deleted outside orgform")
                && out[0].why[1].contains("https://t.me/addlist/old"),
            "{:?}",
            out[0].why
        );
    }

    #[test]
    fn a_title_changed_in_the_config_edits_the_same_folder() {
        let desired = BTreeMap::from([("eng".to_string(), want("Platform", &[-1]))]);
        let live = BTreeMap::from([(
            "eng".to_string(),
            have("Eng", &[-1], Some("https://t.me/addlist/x")),
        )]);
        let out = changes(&desired, &live, &BTreeMap::new(), |id| id.to_string());
        assert_eq!(out.len(), 1);
        assert!(matches!(
            &out[0].op,
            Op::EditFolder { filter_id: 2, title, .. } if title == "Platform"
        ));
        assert_eq!(out[0].after.to_json()["link"], "https://t.me/addlist/x");
    }
}
