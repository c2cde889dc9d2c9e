//! Exact membership: what the user provider adds to the Bot API's reading
//! of live state. The bot sees admins, single members it asks about and a
//! count; a person lists everyone (channels.getParticipants), so an
//! authoritative chat needs no ledger of who joined: members nobody saw
//! join are found and members the ledger still lists after they left are
//! known to be gone.

use std::collections::BTreeMap;

use super::client::MtprotoError;
use super::provider::{Standing, UserProvider};
use crate::state::{LiveState, MemberState, UserId};

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
