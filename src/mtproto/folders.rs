//! Department folders over MTProto: the signed-in person's chat folders
//! (dialog filters) and their shareable links (`chatlists.*`).
//!
//! A folder is made with `messages.updateDialogFilter` and turned into a
//! shared one by `chatlists.exportChatlistInvite`, which answers with its
//! `https://t.me/addlist/…` link; chats added later are set on the folder
//! and on its link (`chatlists.editExportedInvite`), so the same link
//! keeps joining newcomers to every chat. Folders are found by the filter
//! id orgform's store records for each config key ([`match_folders`]);
//! by title only where there is no record yet (a folder made by hand, or
//! one whose creation was cut off), so it is adopted instead of made
//! twice.

use std::collections::{BTreeMap, BTreeSet};

use grammers_tl_types as tl;
use serde_json::json;

use super::client::MtprotoError;
use super::provider::{UserProvider, chat_id, provider_error};
use crate::apply::provider::{Answer, Evidence, Executed, Observed, ProviderError};
use crate::plan::change::{Change, Op};
use crate::state::ChatId;
use crate::state::folders::{DesiredFolder, LiveFolder};

/// The first id Telegram gives a custom folder (0 and 1 are "All chats"
/// and the archive).
const FIRST_FILTER_ID: i32 = 2;

fn title_of(title: &tl::enums::TextWithEntities) -> String {
    let tl::enums::TextWithEntities::Entities(t) = title;
    t.text.clone()
}

fn text(title: &str) -> tl::enums::TextWithEntities {
    tl::enums::TextWithEntities::Entities(tl::types::TextWithEntities {
        text: title.to_string(),
        entities: vec![],
    })
}

fn chats_of(peers: &[tl::enums::InputPeer]) -> BTreeSet<ChatId> {
    peers
        .iter()
        .filter_map(|p| match p {
            tl::enums::InputPeer::Channel(c) => Some(chat_id(c.channel_id)),
            _ => None,
        })
        .collect()
}

fn chatlist(filter_id: i32) -> tl::enums::InputChatlist {
    tl::enums::InputChatlist::DialogFilter(tl::types::InputChatlistDialogFilter { filter_id })
}

impl UserProvider {
    /// Every custom folder of the account, with the first link of those
    /// shared by link.
    pub async fn folders(&self) -> Result<Vec<LiveFolder>, MtprotoError> {
        let tl::enums::messages::DialogFilters::Filters(list) = self
            .call(&tl::functions::messages::GetDialogFilters {})
            .await?;
        let mut out = Vec::new();
        for filter in list.filters {
            match filter {
                tl::enums::DialogFilter::Filter(f) => out.push(LiveFolder {
                    filter_id: f.id,
                    title: title_of(&f.title),
                    chats: chats_of(&f.include_peers),
                    link: None,
                    link_chats: None,
                }),
                tl::enums::DialogFilter::Chatlist(f) => {
                    let (link, link_chats) = if f.has_my_invites {
                        match self.link_chats(f.id).await?.into_iter().next() {
                            Some((url, chats)) => (Some(url), Some(chats)),
                            None => (None, None),
                        }
                    } else {
                        (None, None)
                    };
                    out.push(LiveFolder {
                        filter_id: f.id,
                        title: title_of(&f.title),
                        chats: chats_of(&f.include_peers),
                        link,
                        link_chats,
                    });
                }
                tl::enums::DialogFilter::Default => {}
            }
        }
        Ok(out)
    }

    /// The links of a shared folder with the chats each one joins, oldest
    /// first.
    async fn link_chats(
        &self,
        filter_id: i32,
    ) -> Result<Vec<(String, BTreeSet<ChatId>)>, MtprotoError> {
        let tl::enums::chatlists::ExportedInvites::Invites(invites) = self
            .call(&tl::functions::chatlists::GetExportedInvites {
                chatlist: chatlist(filter_id),
            })
            .await?;
        Ok(invites
            .invites
            .into_iter()
            .map(|i| {
                let tl::enums::ExportedChatlistInvite::Invite(i) = i;
                let chats = i
                    .peers
                    .iter()
                    .filter_map(|p| match p {
                        tl::enums::Peer::Channel(c) => Some(chat_id(c.channel_id)),
                        _ => None,
                    })
                    .collect();
                (i.url, chats)
            })
            .collect())
    }

    async fn peers(&self, chats: &[ChatId]) -> Result<Vec<tl::enums::InputPeer>, MtprotoError> {
        let mut peers = Vec::with_capacity(chats.len());
        for chat in chats {
            peers.push(self.input_peer(*chat).await?);
        }
        Ok(peers)
    }

    /// Make a folder of `chats` and share it: its id and link.
    pub async fn create_folder(
        &self,
        title: &str,
        chats: &[ChatId],
    ) -> Result<(i32, String), MtprotoError> {
        let peers = self.peers(chats).await?;
        let existing = self.folders().await?;
        let filter_id = existing
            .iter()
            .map(|f| f.filter_id + 1)
            .max()
            .unwrap_or(FIRST_FILTER_ID)
            .max(FIRST_FILTER_ID);
        self.call(&tl::functions::messages::UpdateDialogFilter {
            id: filter_id,
            filter: Some(tl::enums::DialogFilter::Filter(tl::types::DialogFilter {
                contacts: false,
                non_contacts: false,
                groups: false,
                broadcasts: false,
                bots: false,
                exclude_muted: false,
                exclude_read: false,
                exclude_archived: false,
                title_noanimate: false,
                id: filter_id,
                title: text(title),
                emoticon: None,
                color: None,
                pinned_peers: vec![],
                include_peers: peers.clone(),
                exclude_peers: vec![],
            })),
        })
        .await?;
        let link = self.export(filter_id, title, peers).await?;
        Ok((filter_id, link))
    }

    async fn export(
        &self,
        filter_id: i32,
        title: &str,
        peers: Vec<tl::enums::InputPeer>,
    ) -> Result<String, MtprotoError> {
        let tl::enums::chatlists::ExportedChatlistInvite::Invite(exported) = self
            .call(&tl::functions::chatlists::ExportChatlistInvite {
                chatlist: chatlist(filter_id),
                title: title.to_string(),
                peers,
            })
            .await?;
        let tl::enums::ExportedChatlistInvite::Invite(invite) = exported.invite;
        Ok(invite.url)
    }

    /// Set a folder's title and chats, and its link's chats with them (a
    /// folder not yet shared is shared now): the link.
    pub async fn edit_folder(
        &self,
        filter_id: i32,
        title: &str,
        chats: &[ChatId],
    ) -> Result<String, MtprotoError> {
        let peers = self.peers(chats).await?;
        let shared = self
            .folders()
            .await?
            .into_iter()
            .find(|f| f.filter_id == filter_id)
            .ok_or_else(|| MtprotoError::Rpc {
                code: 400,
                name: "FILTER_ID_INVALID".into(),
                value: None,
            })?;
        self.call(&tl::functions::messages::UpdateDialogFilter {
            id: filter_id,
            filter: Some(tl::enums::DialogFilter::Chatlist(
                tl::types::DialogFilterChatlist {
                    has_my_invites: shared.link.is_some(),
                    title_noanimate: false,
                    id: filter_id,
                    title: text(title),
                    emoticon: None,
                    color: None,
                    pinned_peers: vec![],
                    include_peers: peers.clone(),
                },
            )),
        })
        .await?;
        match shared.slug() {
            Some(slug) => {
                let tl::enums::ExportedChatlistInvite::Invite(invite) = self
                    .call(&tl::functions::chatlists::EditExportedInvite {
                        chatlist: chatlist(filter_id),
                        slug: slug.to_string(),
                        title: (shared.title != title).then(|| title.to_string()),
                        peers: Some(peers),
                    })
                    .await?;
                Ok(invite.url)
            }
            None => self.export(filter_id, title, peers).await,
        }
    }

    /// Delete a folder (and with it its links).
    pub async fn delete_folder(&self, filter_id: i32) -> Result<(), MtprotoError> {
        self.call(&tl::functions::messages::UpdateDialogFilter {
            id: filter_id,
            filter: None,
        })
        .await?;
        Ok(())
    }

    /// The folder change's part of `Provider::execute`.
    pub(super) async fn execute_folder(&self, change: &Change) -> Result<Executed, ProviderError> {
        match &change.op {
            Op::CreateFolder { title, chats, .. } => {
                let (filter_id, link) = self
                    .create_folder(title, chats)
                    .await
                    .map_err(provider_error)?;
                Ok(Executed {
                    notes: vec![format!("folder link: {link}")],
                    answer: Answer::Folder {
                        filter_id,
                        link: Some(link),
                    },
                    not_modified: false,
                    calls: vec![
                        "messages.updateDialogFilter".into(),
                        "chatlists.exportChatlistInvite".into(),
                    ],
                })
            }
            Op::EditFolder {
                filter_id,
                title,
                chats,
                ..
            } => {
                let link = self
                    .edit_folder(*filter_id, title, chats)
                    .await
                    .map_err(provider_error)?;
                Ok(Executed {
                    notes: vec![format!("folder link: {link}")],
                    answer: Answer::Folder {
                        filter_id: *filter_id,
                        link: Some(link),
                    },
                    not_modified: false,
                    calls: vec![
                        "messages.updateDialogFilter".into(),
                        "chatlists.editExportedInvite".into(),
                    ],
                })
            }
            Op::DeleteFolder { filter_id, .. } => {
                self.delete_folder(*filter_id)
                    .await
                    .map_err(provider_error)?;
                Ok(Executed::done(vec!["messages.updateDialogFilter".into()]))
            }
            _ => Err(ProviderError::refused(format!(
                "{}: not a folder change",
                change.address
            ))),
        }
    }

    /// What an edit undoes to: the folder's title and chats now.
    pub(super) async fn observe_folder(&self, change: &Change) -> Result<Observed, ProviderError> {
        let Op::EditFolder { filter_id, .. } = &change.op else {
            return Ok(Observed::Nothing);
        };
        let folders = self.folders().await.map_err(provider_error)?;
        let now = folders
            .iter()
            .find(|f| f.filter_id == *filter_id)
            .ok_or_else(|| {
                ProviderError::refused(format!(
                    "{}: the folder (id {filter_id}) is gone; plan again",
                    change.address
                ))
            })?;
        Ok(Observed::Recorded {
            value: json!({"title": now.title, "chats": now.chats}),
        })
    }

    /// Whether a folder change whose answer was lost happened: a creation
    /// happened when exactly one folder of its title holds its chats
    /// (shared or not: a cut between making and sharing it leaves it
    /// unshared); an edit when the folder holds them now.
    pub(super) async fn folder_evidence(&self, change: &Change) -> Evidence {
        let by = "messages.getDialogFilters".to_string();
        let Ok(folders) = self.folders().await else {
            return Evidence::Unknown;
        };
        match &change.op {
            Op::CreateFolder { title, chats, .. } => {
                let same: Vec<&LiveFolder> = folders.iter().filter(|f| f.title == *title).collect();
                let want: BTreeSet<ChatId> = chats.iter().copied().collect();
                match same.as_slice() {
                    [] => Evidence::NotDone { by },
                    // Made (and shared, or cut off before its link was
                    // made): adopt it, never make a second one. An
                    // unshared one is shared by the next apply (the plan
                    // says "the folder has no link yet").
                    [f] if f.chats == want => Evidence::Done {
                        executed: Executed {
                            answer: Answer::Folder {
                                filter_id: f.filter_id,
                                link: f.link.clone(),
                            },
                            not_modified: false,
                            calls: vec![],
                            notes: if f.link.is_none() {
                                vec![
                                    "the folder was made but not yet shared: the next apply shares it"
                                        .into(),
                                ]
                            } else {
                                vec![]
                            },
                        },
                        by,
                    },
                    _ => Evidence::Unknown,
                }
            }
            Op::EditFolder {
                filter_id, chats, ..
            } => {
                let want: BTreeSet<ChatId> = chats.iter().copied().collect();
                match folders.iter().find(|f| f.filter_id == *filter_id) {
                    // The folder is set first, its link second: done only
                    // when the link joins those chats too (a cut between
                    // the two left the link behind; running it again
                    // sets both, which repeats nothing).
                    Some(f) if f.chats == want && f.link.is_some() && !f.link_lags(&want) => {
                        Evidence::Done {
                            executed: Executed::done(vec![]),
                            by,
                        }
                    }
                    Some(_) => Evidence::NotDone { by },
                    None => Evidence::Unknown,
                }
            }
            Op::DeleteFolder { filter_id, .. } => {
                if folders.iter().any(|f| f.filter_id == *filter_id) {
                    Evidence::NotDone { by }
                } else {
                    Evidence::Done {
                        executed: Executed::done(vec![]),
                        by,
                    }
                }
            }
            _ => Evidence::Unknown,
        }
    }
}

/// The account's folders for the config's, by config key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Matched {
    /// The live folder of each config key that has one.
    pub live: BTreeMap<String, LiveFolder>,
    /// Folders the store records for a config key whose filter id the
    /// account no longer has: deleted outside orgform (the record as it
    /// was; its link no longer works).
    pub gone: BTreeMap<String, LiveFolder>,
    /// Config keys matched by title for want of a record (first adoption):
    /// the caller records them.
    pub adopted: Vec<String>,
}

/// Match the account's folders to the config's: by the filter id the
/// store records for the key (whatever the folder's title is now, so a
/// title changed in the config edits the folder and keeps its link), and
/// only for keys with no record, by title, each desired folder taking the
/// oldest unclaimed folder of its title.
pub fn match_folders(
    desired: &BTreeMap<String, DesiredFolder>,
    recorded: &BTreeMap<String, LiveFolder>,
    mut live: Vec<LiveFolder>,
) -> Matched {
    live.sort_by_key(|f| f.filter_id);
    let mut out = Matched::default();
    for key in desired.keys() {
        let Some(record) = recorded.get(key) else {
            continue;
        };
        match live.iter().position(|f| f.filter_id == record.filter_id) {
            Some(at) => {
                out.live.insert(key.clone(), live.remove(at));
            }
            None => {
                out.gone.insert(key.clone(), record.clone());
            }
        }
    }
    // A folder recorded for another key (one the config dropped) is still
    // orgform's: never adopted for a new key by its title.
    live.retain(|f| !recorded.values().any(|r| r.filter_id == f.filter_id));
    for (key, want) in desired {
        if recorded.contains_key(key) {
            continue;
        }
        if let Some(at) = live.iter().position(|f| f.title == want.title) {
            out.live.insert(key.clone(), live.remove(at));
            out.adopted.push(key.clone());
        }
    }
    out
}

/// Read the account's folders, matched to the config's through the
/// store's records.
pub async fn read(
    provider: &UserProvider,
    desired: &BTreeMap<String, DesiredFolder>,
    recorded: &BTreeMap<String, LiveFolder>,
) -> Result<Matched, MtprotoError> {
    Ok(match_folders(desired, recorded, provider.folders().await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(id: i32, title: &str) -> LiveFolder {
        LiveFolder {
            filter_id: id,
            title: title.into(),
            ..Default::default()
        }
    }

    fn want(title: &str) -> DesiredFolder {
        DesiredFolder {
            title: title.into(),
            ..Default::default()
        }
    }

    #[test]
    fn each_config_folder_takes_the_oldest_folder_of_its_title_once() {
        let desired = BTreeMap::from([
            ("a".to_string(), want("Eng")),
            ("b".to_string(), want("Eng")),
            ("c".to_string(), want("Ops")),
        ]);
        let got = match_folders(
            &desired,
            &BTreeMap::new(),
            vec![f(5, "Eng"), f(3, "Eng"), f(4, "Sales")],
        );
        assert_eq!(got.live["a"].filter_id, 3);
        assert_eq!(got.live["b"].filter_id, 5);
        assert!(!got.live.contains_key("c"));
        assert_eq!(got.adopted, ["a", "b"]);
        assert!(got.gone.is_empty());
    }

    #[test]
    fn a_recorded_folder_is_found_by_its_id_whatever_its_title() {
        // The config renamed `a` to "Platform"; by hand someone made
        // another folder called "Platform": the record wins, the other
        // folder is left alone.
        let desired = BTreeMap::from([
            ("a".to_string(), want("Platform")),
            ("b".to_string(), want("Ops")),
        ]);
        let recorded = BTreeMap::from([
            ("a".to_string(), f(4, "Eng")),
            ("b".to_string(), f(9, "Ops")),
        ]);
        let got = match_folders(
            &desired,
            &recorded,
            vec![f(3, "Platform"), f(4, "Eng"), f(5, "Ops")],
        );
        assert_eq!(got.live["a"].filter_id, 4);
        assert_eq!(got.live["a"].title, "Eng");
        // `b`'s folder (9) was deleted by hand: gone, not adopted by title.
        assert!(!got.live.contains_key("b"));
        assert_eq!(got.gone["b"].filter_id, 9);
        assert!(got.adopted.is_empty());
    }
}
