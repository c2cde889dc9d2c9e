//! Exact membership: what the user provider adds to the Bot API's reading
//! of live state. The bot sees admins, single members it asks about and a
//! count; a person lists everyone (channels.getParticipants), so an
//! authoritative chat needs no ledger of who joined: members nobody saw
//! join are found and members the ledger still lists after they left are
//! known to be gone.

use std::collections::BTreeMap;

use super::client::MtprotoError;
use super::provider::{Changed, LogEntry, Standing, UserProvider};
use crate::state::{DesiredState, InviteLink, LiveState, MemberState, Topic, UserId};
use crate::store::Store;

/// Replace the guessed member lists of `live` with the exact ones, for the
/// chats in `keys`. Admins (from getChatAdministrators) and the bot stay as
/// the Bot API read them; a restricted member keeps the permissions it read.
pub async fn exact_members(
    provider: &UserProvider,
    live: &mut LiveState,
    keys: &[String],
    bot: Option<UserId>,
) -> Result<(), MtprotoError> {
    for key in keys {
        let Some(chat) = live.state.chats.get(key) else {
            continue;
        };
        if live.meta.get(key).is_some_and(|m| m.error.is_some()) {
            continue;
        }
        let listed = provider.members(chat.id).await?;
        let chat = live.state.chats.get_mut(key).expect("looked up above");
        merge(
            &mut chat.members,
            &chat.admins.keys().copied().collect::<Vec<_>>(),
            &listed,
            bot,
        );
    }
    Ok(())
}

/// Topics and invite links the config declares and orgform's state does
/// not remember (a lost or new state): found by name in what a person can
/// list (messages.getForumTopics, and messages.getExportedChatInvites for
/// the links the bot made), adopted into `live` and remembered in `store`,
/// so they are managed instead of created again. How many were adopted.
pub async fn recover_by_name(
    provider: &UserProvider,
    desired: &DesiredState,
    live: &mut LiveState,
    store: &mut Store,
    keys: &[String],
    bot: Option<&str>,
) -> Result<usize, MtprotoError> {
    let mut adopted = 0;
    let mut bot_peer = None;
    for key in keys {
        let (Some(want), Some(have)) = (desired.state.chats.get(key), live.state.chats.get(key))
        else {
            continue;
        };
        if live.meta.get(key).is_some_and(|m| m.error.is_some()) {
            continue;
        }
        let id = have.id;
        let missing_topics: Vec<(String, String)> = want
            .topics
            .iter()
            .filter(|(k, _)| !have.topics.contains_key(*k))
            .map(|(k, t)| (k.clone(), t.name.clone()))
            .collect();
        let missing_links: Vec<(String, String)> = want
            .invite_links
            .iter()
            .filter(|(k, _)| !have.invite_links.contains_key(*k))
            .map(|(k, l)| (k.clone(), l.name.clone()))
            .collect();
        let forum = have.settings.forum.unwrap_or(false);
        if !missing_topics.is_empty() && forum {
            let mut listed = provider.forum_topics(id).await?;
            for (k, name) in missing_topics {
                // The oldest topic of that name, once: two config keys never
                // adopt the same topic.
                let Some(at) = listed.iter().rposition(|t| t.1 == name) else {
                    continue;
                };
                let (thread_id, name, icon_color, closed) = listed.remove(at);
                let topic = Topic {
                    name,
                    icon_color: Some(icon_color),
                    closed,
                    thread_id: Some(thread_id),
                };
                store.chat_mut(id).topics.insert(k.clone(), topic.clone());
                let chat = live.state.chats.get_mut(key).expect("looked up above");
                chat.topics.insert(k, topic);
                adopted += 1;
            }
        }
        if !missing_links.is_empty() {
            let Some(bot) = bot else { continue };
            if bot_peer.is_none() {
                bot_peer = Some(provider.resolve_user(bot).await?);
            }
            let mut listed = provider
                .invite_links(id, bot_peer.expect("resolved above"))
                .await?;
            for (k, name) in missing_links {
                let Some(at) = listed.iter().position(|l| l.name == name) else {
                    continue;
                };
                let seen = listed.remove(at);
                let link = InviteLink {
                    name: seen.name,
                    expires: seen.expires,
                    member_limit: seen.member_limit,
                    join_request: seen.join_request,
                    url: Some(seen.url),
                    revoked: false,
                };
                store
                    .chat_mut(id)
                    .invite_links
                    .insert(k.clone(), link.clone());
                let chat = live.state.chats.get_mut(key).expect("looked up above");
                chat.invite_links.insert(k, link);
                adopted += 1;
            }
        }
    }
    Ok(adopted)
}

/// Who changed what by hand: for each drift item about a setting or an
/// administrator's rights, the newest admin-log entry about the same thing.
/// `items` are (chat id, address, person id) and the answer, in the same
/// order, names the person and the time.
pub async fn attribute(
    provider: &UserProvider,
    items: &[(crate::state::ChatId, String, Option<UserId>)],
) -> Result<Vec<Option<String>>, MtprotoError> {
    let mut logs: BTreeMap<crate::state::ChatId, Vec<LogEntry>> = BTreeMap::new();
    let mut out = Vec::with_capacity(items.len());
    for (chat, address, person) in items {
        if !logs.contains_key(chat) {
            logs.insert(*chat, provider.admin_log(*chat).await?);
        }
        // `chat.KEY.FIELD` for a setting, `chat.KEY.admin.WHO` for a seat.
        let parts: Vec<&str> = address.split('.').collect();
        let found = logs[chat].iter().find(|e| match e.what {
            Changed::Setting(f) => parts.len() == 3 && parts[2] == f,
            Changed::Admin(user) => {
                parts.len() == 4 && parts[2] == "admin" && Some(user) == *person
            }
        });
        out.push(found.map(|e| {
            let who = if e.user_name.is_empty() {
                format!("user {}", e.user_id)
            } else {
                format!("{} ({})", e.user_name, e.user_id)
            };
            format!("{who} at {}", crate::state::time::instant_text(e.date))
        }));
    }
    Ok(out)
}

/// The merge, separate from the reading so it is tested on its own.
pub fn merge(
    members: &mut BTreeMap<UserId, MemberState>,
    admins: &[UserId],
    listed: &BTreeMap<UserId, Standing>,
    bot: Option<UserId>,
) {
    for (user, standing) in listed {
        if admins.contains(user) || Some(*user) == bot {
            continue;
        }
        match standing {
            Standing::Member => match members.get(user) {
                Some(MemberState::Member) => {}
                _ => {
                    members.insert(*user, MemberState::Member);
                }
            },
            // The Bot API reads a restriction's permissions; an unseen
            // restricted member is still a member of the chat.
            Standing::Restricted => {
                if !matches!(members.get(user), Some(MemberState::Restricted { .. })) {
                    members.insert(*user, MemberState::Member);
                }
            }
            Standing::Owner | Standing::Admin { .. } => {}
        }
    }
    for (user, state) in members.iter_mut() {
        let present = matches!(state, MemberState::Member | MemberState::Restricted { .. });
        if present && !listed.contains_key(user) {
            *state = MemberState::Absent;
        }
    }
}

/// How many chats the signed-in person created, by title, for the titles
/// asked about: what tells a saved plan's chat creation that a chat of its
/// title appeared since (paging the dialogs, at most 50 pages of 100).
pub async fn created_titles(
    provider: &UserProvider,
    titles: &[String],
) -> Result<BTreeMap<String, usize>, MtprotoError> {
    use grammers_tl_types as tl;
    let mut out = BTreeMap::new();
    if titles.is_empty() {
        return Ok(out);
    }
    let mut offset_peer = tl::enums::InputPeer::Empty;
    for _ in 0..50 {
        let dialogs = provider
            .call(&tl::functions::messages::GetDialogs {
                exclude_pinned: false,
                folder_id: None,
                offset_date: 0,
                offset_id: 0,
                offset_peer: offset_peer.clone(),
                limit: 100,
                hash: 0,
            })
            .await?;
        let (chats, more) = match dialogs {
            tl::enums::messages::Dialogs::Dialogs(d) => (d.chats, false),
            tl::enums::messages::Dialogs::Slice(d) => {
                let more = !d.dialogs.is_empty();
                (d.chats, more)
            }
            tl::enums::messages::Dialogs::NotModified(_) => (vec![], false),
        };
        let mut last = None;
        for chat in &chats {
            if let tl::enums::Chat::Channel(c) = chat {
                last = Some((c.id, c.access_hash.unwrap_or(0)));
                if c.creator && titles.contains(&c.title) {
                    *out.entry(c.title.clone()).or_insert(0) += 1;
                }
            }
        }
        match (more, last) {
            (true, Some((channel_id, access_hash))) => {
                offset_peer = tl::enums::InputPeer::Channel(tl::types::InputPeerChannel {
                    channel_id,
                    access_hash,
                });
            }
            _ => break,
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unseen_members_appear_and_departed_ones_are_absent() {
        let mut members = BTreeMap::from([
            (1, MemberState::Member),
            (2, MemberState::Member),
            (
                3,
                MemberState::Restricted {
                    permissions: Default::default(),
                    until: None,
                },
            ),
            (4, MemberState::Banned),
        ]);
        let listed = BTreeMap::from([
            (1, Standing::Member),
            (3, Standing::Restricted),
            (5, Standing::Member),
            (6, Standing::Owner),
            (7, Standing::Member),
        ]);
        merge(&mut members, &[6], &listed, Some(7));
        assert_eq!(members[&1], MemberState::Member);
        assert_eq!(
            members[&2],
            MemberState::Absent,
            "left; the ledger did not know"
        );
        assert!(matches!(members[&3], MemberState::Restricted { .. }));
        assert_eq!(members[&4], MemberState::Banned);
        assert_eq!(members[&5], MemberState::Member, "joined unseen");
        assert!(
            !members.contains_key(&6),
            "admins stay where the Bot API put them"
        );
        assert!(!members.contains_key(&7), "the bot is not a member entry");
    }
}
