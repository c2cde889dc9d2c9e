//! Department folders: which chats each `folders:` entry holds.
//!
//! A folder for a department holds every chat whose declared `members`
//! name that department, or a department above it without `direct: true`
//! (its people are members there too): the chats a newcomer to the team
//! is meant to be in. `chats:` selectors add chats by key, label, template
//! or type. Chats still to be created are listed by key; they join the
//! folder on the run after their creation.

use std::collections::BTreeMap;

use super::resolve::effective_chat;
use crate::spec::{ChatSelector, Config, Selector};
use crate::state::DesiredState;
use crate::state::folders::DesiredFolder;

/// Every folder of the config, by key, against the resolved chats (ids
/// from the config or recorded for chats the user provider created).
pub fn resolve(config: &Config, desired: &DesiredState) -> BTreeMap<String, DesiredFolder> {
    config
        .folders
        .iter()
        .map(|(key, spec)| {
            let mut folder = DesiredFolder {
                title: spec.title.clone(),
                ..Default::default()
            };
            for chat in config.chats.keys() {
                if !selects(
                    config,
                    spec.department.as_deref(),
                    spec.chats.as_deref(),
                    chat,
                ) {
                    continue;
                }
                match desired.state.chats.get(chat) {
                    Some(c) => {
                        folder.chats.insert(c.id);
                    }
                    None => folder.not_created.push(chat.clone()),
                }
            }
            (key.clone(), folder)
        })
        .collect()
}

/// Whether the folder picks chat `key`.
pub fn selects(
    config: &Config,
    department: Option<&str>,
    selectors: Option<&[ChatSelector]>,
    key: &str,
) -> bool {
    let Some(spec) = config.chats.get(key) else {
        return false;
    };
    let eff = effective_chat(config, spec);
    let by_department = department.is_some_and(|d| {
        eff.members
            .iter()
            .flatten()
            .any(|m| names_department(config, m, d))
    });
    let by_selector = selectors.is_some_and(|list| {
        list.iter().any(|sel| {
            sel.chat.as_ref().is_none_or(|c| c == key)
                && sel
                    .chats
                    .as_ref()
                    .is_none_or(|cs| cs.iter().any(|c| c == key))
                && sel
                    .template
                    .as_ref()
                    .is_none_or(|t| spec.template.as_ref() == Some(t))
                && sel.kind.is_none_or(|k| eff.kind == Some(k))
                && sel.label.as_ref().is_none_or(|labels| {
                    let have = eff.labels.as_ref();
                    labels
                        .iter()
                        .all(|(k, v)| have.and_then(|h| h.get(k)) == Some(v))
                })
        })
    });
    by_department || by_selector
}

/// A members selector that brings in the people of `department`: it names
/// the department, or one above it without `direct: true`.
fn names_department(config: &Config, selector: &Selector, department: &str) -> bool {
    let Selector::Rule(rule) = selector else {
        return false;
    };
    let Some(named) = rule.department.as_deref() else {
        return false;
    };
    if named == department {
        return true;
    }
    if rule.direct == Some(true) {
        return false;
    }
    // Walk up from `department`; bounded by the number of departments so
    // a cycle (reported by `check`) cannot loop.
    let mut at = department;
    for _ in 0..config.departments.len() {
        let Some(parent) = config.departments.get(at).and_then(|d| d.parent.as_deref()) else {
            return false;
        };
        if parent == named {
            return true;
        }
        at = parent;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(yaml: &str) -> Config {
        serde_saphyr::from_str(yaml).unwrap()
    }

    const ORG: &str = r#"
departments:
  engineering: {name: Engineering}
  platform: {name: Platform, parent: engineering}
  sales: {name: Sales}
chats:
  eng: {id: -1001, type: supergroup, members: [{department: engineering}]}
  eng-core: {id: -1002, type: supergroup, members: [{department: engineering, direct: true}]}
  platform: {id: -1003, type: supergroup, members: [{department: platform}]}
  sales: {id: -1004, type: supergroup, members: [{department: sales}]}
  all: {id: -1005, type: supergroup, members: [everyone], labels: {team: platform}}
  incidents: {type: supergroup, members: [{department: platform}]}
"#;

    fn picks(department: Option<&str>, selectors: Option<&[ChatSelector]>) -> Vec<String> {
        let c = config(ORG);
        c.chats
            .keys()
            .filter(|k| selects(&c, department, selectors, k))
            .cloned()
            .collect()
    }

    #[test]
    fn a_department_folder_holds_its_chats_and_those_of_departments_above() {
        assert_eq!(
            picks(Some("platform"), None),
            ["eng", "incidents", "platform"],
            "not eng-core (direct: true), not sales, not the everyone chat"
        );
        assert_eq!(picks(Some("sales"), None), ["sales"]);
    }

    #[test]
    fn selectors_add_chats_by_label_and_key() {
        let sel = [
            ChatSelector {
                label: Some(BTreeMap::from([("team".into(), "platform".into())])),
                ..Default::default()
            },
            ChatSelector {
                chat: Some("sales".into()),
                ..Default::default()
            },
        ];
        assert_eq!(picks(None, Some(&sel)), ["all", "sales"]);
    }

    #[test]
    fn folders_and_direct_adding_with_the_bot_alone_are_warned_about() {
        let text = "org: {name: Acme, telegram: {bot: acme_bot}}\ndepartments: {platform: {name: P}}\nchats:\n  p: {id: -1001, type: supergroup, add_members: direct, members: [{department: platform}]}\nfolders:\n  p: {title: P, department: platform}\n";
        let model = crate::model::load_text("org.yaml", text, jiff::Timestamp::UNIX_EPOCH)
            .unwrap_or_else(|e| panic!("{:?}", e.diagnostics));
        let codes: Vec<&str> = model.warnings.iter().map(|d| d.code).collect();
        assert_eq!(codes, ["needs-person", "needs-person"]);
        let with_person = text.replace("{bot: acme_bot}", "{bot: acme_bot, provider: both}");
        let model = crate::model::load_text("org.yaml", &with_person, jiff::Timestamp::UNIX_EPOCH)
            .unwrap_or_else(|e| panic!("{:?}", e.diagnostics));
        assert!(model.warnings.is_empty(), "{:?}", model.warnings);
    }

    #[test]
    fn chats_without_an_id_are_listed_by_key() {
        let c = config(&format!(
            "{ORG}folders:\n  platform: {{title: Platform, department: platform}}\n"
        ));
        let desired = crate::model::resolve::resolve(&c, jiff::Timestamp::UNIX_EPOCH);
        let folders = resolve(&c, &desired);
        let f = &folders["platform"];
        assert_eq!(f.title, "Platform");
        assert_eq!(f.chats.iter().copied().collect::<Vec<_>>(), [-1003, -1001]);
        assert_eq!(f.not_created, ["incidents"]);
    }
}
