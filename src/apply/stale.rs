//! Whether a saved plan may still be applied (DESIGN §5): made by this
//! format, from the same config files, and against live objects that have
//! not moved since. The caller reads the chats the plan touches; this
//! compares, and says why a plan is stale.
//!
//! What the user provider makes is no chat the Bot API reads: a chat
//! still to be created and a chat folder are fingerprinted from a
//! [`PersonView`] (what the store records and what the signed-in person
//! sees), the same way at plan time and at apply time, so a saved plan
//! whose chat was created meanwhile (or whose title now names a chat the
//! person owns), or whose folder changed, is refused instead of run again.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use crate::plan::{self, Change, Op, Plan};
use crate::state::folders::LiveFolder;
use crate::state::{ChatId, LiveState};

/// The user provider's objects as a saved plan's check sees them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PersonView {
    /// Chats orgform created, by config key (the store's records).
    pub created: BTreeMap<String, ChatId>,
    /// How many chats the signed-in person created, by title, for the
    /// titles of the plan's chat creations; `None` without a person.
    pub titled: Option<BTreeMap<String, usize>>,
    /// The account's folders matched to the config's keys (through the
    /// store's records); `None` without a person.
    pub folders: Option<BTreeMap<String, LiveFolder>>,
}

/// The object a change touches, as JSON: the user provider's objects from
/// `view`, every other from `live`.
pub fn object(live: &LiveState, view: &PersonView, change: &Change) -> Json {
    match &change.op {
        Op::CreateChat { title, .. } => json!({
            "recorded": view.created.get(&change.chat),
            "titled": view.titled.as_ref().map(|t| t.get(title).copied().unwrap_or(0)),
        }),
        Op::CreateFolder { key, .. }
        | Op::EditFolder { key, .. }
        | Op::DeleteFolder { key, .. } => match &view.folders {
            None => json!("unread"),
            Some(folders) => serde_json::to_value(folders.get(key)).unwrap_or(Json::Null),
        },
        _ => plan::live_object(live, change),
    }
}

/// The fingerprint a saved plan keeps for a change.
pub fn fingerprint(live: &LiveState, view: &PersonView, change: &Change) -> String {
    plan::fingerprint(&object(live, view, change))
}

/// Fingerprint the plan's user-provider changes from `view` (the planner
/// fingerprints the rest from what the bot read).
pub fn fingerprint_person_changes(plan: &mut Plan, live: &LiveState, view: &PersonView) {
    for change in &plan.changes {
        if is_person_object(change) {
            plan.fingerprints
                .insert(change.address.to_string(), fingerprint(live, view, change));
        }
    }
}

/// A change whose object only the user provider sees.
pub fn is_person_object(change: &Change) -> bool {
    matches!(
        change.op,
        Op::CreateChat { .. }
            | Op::CreateFolder { .. }
            | Op::EditFolder { .. }
            | Op::DeleteFolder { .. }
    )
}

/// The titles of the chats a plan creates.
pub fn titles_created(plan: &Plan) -> Vec<String> {
    plan.changes
        .iter()
        .filter_map(|c| match &c.op {
            Op::CreateChat { title, .. } => Some(title.clone()),
            _ => None,
        })
        .collect()
}

/// Why a saved plan cannot be applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Stale {
    #[error("the plan has format {found}, this orgform reads format {wanted}")]
    Format { found: u32, wanted: u32 },
    #[error("the config changed since the plan was made (its digest differs)")]
    ConfigChanged,
    #[error(
        "the plan is stale: these objects changed in Telegram since it was made: {}",
        .0.join(", ")
    )]
    Moved(Vec<String>),
}

/// The chats (by config key) whose live objects must be read to check the plan.
pub fn chats_to_read(plan: &Plan) -> Vec<String> {
    plan.changes
        .iter()
        // A chat folder (`folder.KEY`) is no chat to read, nor is a chat
        // still to be created (the config has no id for it): both are
        // checked through the [`PersonView`].
        .filter(|c| c.address.chat_key().is_some() && !is_person_object(c))
        .map(|c| c.chat.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The format and config digest: checked before anything is read.
pub fn check_config(plan: &Plan, config_digest: &str) -> Result<(), Stale> {
    if plan.format_version != plan::FORMAT_VERSION {
        return Err(Stale::Format {
            found: plan.format_version,
            wanted: plan::FORMAT_VERSION,
        });
    }
    if plan.config_digest.as_deref() != Some(config_digest) {
        return Err(Stale::ConfigChanged);
    }
    Ok(())
}

/// Every live object the plan touches against its fingerprint at plan time.
pub fn check_live(plan: &Plan, live: &LiveState, view: &PersonView) -> Result<(), Stale> {
    let moved: std::collections::BTreeSet<String> = plan
        .changes
        .iter()
        .filter(|change| {
            let now = fingerprint(live, view, change);
            plan.fingerprints.get(change.address.as_str()) != Some(&now)
        })
        .map(|change| change.address.to_string())
        .collect();
    if moved.is_empty() {
        Ok(())
    } else {
        Err(Stale::Moved(moved.into_iter().collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty(digest: &str) -> Plan {
        Plan {
            format_version: plan::FORMAT_VERSION,
            created_at: "2026-11-27T12:00:00Z".into(),
            config_digest: Some(digest.into()),
            git_commit: None,
            only: None,
            changes: Vec::new(),
            guards: Vec::new(),
            unreadable: Default::default(),
            fingerprints: Default::default(),
        }
    }

    #[test]
    fn another_format_or_config_is_refused_before_anything_is_read() {
        let plan = empty("sha256:aa");
        assert_eq!(check_config(&plan, "sha256:aa"), Ok(()));
        assert_eq!(check_config(&plan, "sha256:bb"), Err(Stale::ConfigChanged));
        let mut old = empty("sha256:aa");
        old.format_version = plan::FORMAT_VERSION + 1;
        assert_eq!(
            check_config(&old, "sha256:aa"),
            Err(Stale::Format {
                found: plan::FORMAT_VERSION + 1,
                wanted: plan::FORMAT_VERSION
            })
        );
        let mut unsigned = empty("x");
        unsigned.config_digest = None;
        assert_eq!(check_config(&unsigned, "x"), Err(Stale::ConfigChanged));
    }

    #[test]
    fn a_plan_with_nothing_to_touch_is_never_stale() {
        let plan = empty("sha256:aa");
        assert!(chats_to_read(&plan).is_empty());
        assert_eq!(
            check_live(&plan, &LiveState::default(), &PersonView::default()),
            Ok(())
        );
    }

    fn creation(key: &str, title: &str) -> Change {
        Change {
            address: crate::state::Address::chat(key),
            chat: key.into(),
            chat_id: 0,
            chat_type: crate::state::ChatType::Supergroup,
            action: plan::Action::Create,
            step: plan::Step::Settings,
            op: Op::CreateChat {
                title: title.into(),
                description: String::new(),
                forum: false,
                bot: Some("acme_org_bot".into()),
                bot_rights: Default::default(),
            },
            before: plan::Value::Nothing,
            after: plan::Value::Nothing,
            why: vec![],
            reversible: false,
            person: None,
            undeclared: false,
            seat: None,
        }
    }

    fn folder_change(key: &str) -> Change {
        Change {
            address: crate::state::Address::folder(key),
            chat: crate::state::Address::folder(key).0,
            chat_id: 0,
            op: Op::CreateFolder {
                key: key.into(),
                title: "Eng".into(),
                chats: vec![-1],
            },
            ..creation(key, "x")
        }
    }

    #[test]
    fn a_creation_is_stale_once_its_chat_is_recorded_or_its_title_is_taken() {
        let mut plan = empty("d");
        plan.changes = vec![creation("incidents", "Incidents")];
        let live = LiveState::default();
        let at_plan = PersonView {
            titled: Some(BTreeMap::new()),
            ..Default::default()
        };
        fingerprint_person_changes(&mut plan, &live, &at_plan);
        assert!(chats_to_read(&plan).is_empty(), "no id to read it by");
        assert_eq!(check_live(&plan, &live, &at_plan), Ok(()));
        // An apply of this (or another) plan created it meanwhile.
        let created = PersonView {
            created: BTreeMap::from([("incidents".to_string(), -100)]),
            ..at_plan.clone()
        };
        assert_eq!(
            check_live(&plan, &live, &created),
            Err(Stale::Moved(vec!["chat.incidents".into()]))
        );
        // Someone made a chat of that title by hand.
        let titled = PersonView {
            titled: Some(BTreeMap::from([("Incidents".to_string(), 1)])),
            ..Default::default()
        };
        assert!(check_live(&plan, &live, &titled).is_err());
        // Another title does not matter.
        let other = PersonView {
            titled: Some(BTreeMap::from([("Sales".to_string(), 1)])),
            ..Default::default()
        };
        assert_eq!(check_live(&plan, &live, &other), Ok(()));
    }

    #[test]
    fn a_folder_change_is_stale_when_the_folder_moved_or_cannot_be_read() {
        let mut plan = empty("d");
        plan.changes = vec![folder_change("eng")];
        let live = LiveState::default();
        let at_plan = PersonView {
            folders: Some(BTreeMap::new()),
            ..Default::default()
        };
        fingerprint_person_changes(&mut plan, &live, &at_plan);
        assert_eq!(check_live(&plan, &live, &at_plan), Ok(()));
        let made = PersonView {
            folders: Some(BTreeMap::from([(
                "eng".to_string(),
                LiveFolder {
                    filter_id: 2,
                    title: "Eng".into(),
                    chats: [-1].into(),
                    link: Some("https://t.me/addlist/x".into()),
                    link_chats: None,
                },
            )])),
            ..Default::default()
        };
        assert_eq!(
            check_live(&plan, &live, &made),
            Err(Stale::Moved(vec!["folder.eng".into()]))
        );
        assert!(check_live(&plan, &live, &PersonView::default()).is_err());
    }
}
