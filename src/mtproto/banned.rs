//! Member permissions as MTProto spells them: `ChatBannedRights` lists
//! what members may *not* do (a chat's defaults, or one member's
//! restriction), where orgform's [`Permissions`] list what they may. The
//! one translation between the two, both ways, for the user provider's
//! reads and writes.

use grammers_tl_types as tl;

use crate::state::{Permission, Permissions};

/// The banned rights that forbid what `allowed` leaves out, until `until`
/// (unix time; 0 = forever). `view_messages` bans the person outright.
pub fn banned_rights(
    allowed: &Permissions,
    until: i64,
    view_messages: bool,
) -> tl::enums::ChatBannedRights {
    use Permission as P;
    let not = |p: P| !allowed.contains(&p);
    tl::enums::ChatBannedRights::Rights(tl::types::ChatBannedRights {
        view_messages,
        send_messages: not(P::SendMessages),
        send_plain: not(P::SendMessages),
        // The old catch-all for media: the six kinds below say it exactly.
        send_media: false,
        send_stickers: not(P::SendOtherMessages),
        send_gifs: not(P::SendOtherMessages),
        send_games: not(P::SendOtherMessages),
        send_inline: not(P::SendOtherMessages),
        embed_links: not(P::AddWebPagePreviews),
        send_polls: not(P::SendPolls),
        change_info: not(P::ChangeInfo),
        invite_users: not(P::InviteUsers),
        pin_messages: not(P::PinMessages),
        manage_topics: not(P::ManageTopics),
        send_photos: not(P::SendPhotos),
        send_videos: not(P::SendVideos),
        send_roundvideos: not(P::SendVideoNotes),
        send_audios: not(P::SendAudios),
        send_voices: not(P::SendVoiceNotes),
        send_docs: not(P::SendDocuments),
        edit_rank: not(P::EditTag),
        send_reactions: not(P::ReactToMessages),
        manage_linked_peers: false,
        until_date: i32::try_from(until).unwrap_or(i32::MAX),
    })
}

/// What banned rights still allow; the end of a restriction (`None` =
/// forever).
pub fn allowed(rights: &tl::enums::ChatBannedRights) -> (Permissions, Option<i64>) {
    use Permission as P;
    let tl::enums::ChatBannedRights::Rights(r) = rights;
    let media = r.send_media;
    let pairs = [
        (r.send_messages || r.send_plain, P::SendMessages),
        (media || r.send_audios, P::SendAudios),
        (media || r.send_docs, P::SendDocuments),
        (media || r.send_photos, P::SendPhotos),
        (media || r.send_videos, P::SendVideos),
        (media || r.send_roundvideos, P::SendVideoNotes),
        (media || r.send_voices, P::SendVoiceNotes),
        (r.send_polls, P::SendPolls),
        (
            r.send_stickers || r.send_gifs || r.send_games || r.send_inline,
            P::SendOtherMessages,
        ),
        (r.embed_links, P::AddWebPagePreviews),
        (r.send_reactions, P::ReactToMessages),
        (r.edit_rank, P::EditTag),
        (r.change_info, P::ChangeInfo),
        (r.invite_users, P::InviteUsers),
        (r.pin_messages, P::PinMessages),
        (r.manage_topics, P::ManageTopics),
    ];
    let permissions = pairs
        .into_iter()
        .filter(|(banned, _)| !banned)
        .map(|(_, p)| p)
        .collect();
    let until = (r.until_date != 0).then_some(i64::from(r.until_date));
    (permissions, until)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_permission_round_trips_alone_and_together() {
        for p in Permission::ALL {
            let one: Permissions = [*p].into_iter().collect();
            assert_eq!(allowed(&banned_rights(&one, 0, false)).0, one, "{p:?}");
            let but: Permissions = Permission::all().into_iter().filter(|q| q != p).collect();
            assert_eq!(allowed(&banned_rights(&but, 0, false)).0, but, "{p:?}");
        }
        let (all, until) = allowed(&banned_rights(&Permission::all(), 1_900_000_000, false));
        assert_eq!(all, Permission::all());
        assert_eq!(until, Some(1_900_000_000));
    }
}
