//! Admin seats the bot may not edit, changed by the signed-in person.
//!
//! Telegram lets a bot edit only the admins it promoted itself
//! (`can_be_edited`); a seat a person gave by hand is the chat owner's (or
//! its promoter's) to change. `orgform watch --enforce` sends such a
//! change here when the org has the user provider: the seat is found in
//! the chat's admin list (which carries the user's access hash MTProto
//! wants) and set with `channels.editAdmin`; no rights is a demotion.

use grammers_tl_types as tl;

use super::{MtprotoError, UserProvider};
use crate::apply::provider::Executed;
use crate::plan::change::{Change, Op};
use crate::state::{ChatId, Rights, UserId};

/// The user and rights of a seat change (a promotion, or a demotion as no
/// rights). The one place that knows how a seat change is spelled.
pub fn seat_change(change: &Change) -> Option<(UserId, Rights)> {
    match &change.op {
        Op::Promote { user, rights } => Some((*user, rights.clone())),
        Op::Demote { user } => Some((*user, Rights::new())),
        _ => None,
    }
}

impl UserProvider {
    /// The access hash of `user`, an administrator of `chat` (from
    /// `channels.getParticipants` with the admins filter).
    async fn admin_hash(&self, chat: ChatId, user: UserId) -> Result<i64, MtprotoError> {
        let channel = self.input(chat).await?;
        let page = self
            .call(&tl::functions::channels::GetParticipants {
                channel,
                filter: tl::enums::ChannelParticipantsFilter::ChannelParticipantsAdmins,
                offset: 0,
                limit: 200,
                hash: 0,
            })
            .await?;
        let users = match page {
            tl::enums::channels::ChannelParticipants::Participants(p) => p.users,
            tl::enums::channels::ChannelParticipants::NotModified => vec![],
        };
        users
            .into_iter()
            .find_map(|u| match u {
                tl::enums::User::User(u) if u.id == user => Some(u.access_hash.unwrap_or(0)),
                _ => None,
            })
            .ok_or_else(|| MtprotoError::Rpc {
                code: 400,
                name: "PARTICIPANT_ID_INVALID".into(),
                value: None,
            })
    }

    /// Set an admin's rights as the signed-in person; no rights demotes.
    pub async fn set_seat(
        &self,
        chat: ChatId,
        user: UserId,
        rights: &Rights,
    ) -> Result<Executed, MtprotoError> {
        let hash = self.admin_hash(chat, user).await?;
        self.promote(chat, user, hash, rights, None).await?;
        Ok(Executed::done(vec![
            "channels.getParticipants".into(),
            "channels.editAdmin".into(),
        ]))
    }
}
