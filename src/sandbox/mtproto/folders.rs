//! Chat folders and their shareable links in the sandbox's world: what
//! `messages.updateDialogFilter`/`getDialogFilters` and `chatlists.*`
//! answer, and `joinChatlist`, by which a sandbox user opens a folder link
//! (over MTProto with `chatlists.joinChatlistInvite`, or through
//! `/sandbox/act`), joining every chat of the folder they are not in.
//!
//! Telegram's rules kept here: a custom folder's id is 2 and up; a folder
//! shared by link holds only groups and channels, at most 100, and only
//! chats its owner may invite to; the link's slug is what
//! `editExportedInvite` and `checkChatlistInvite` name it by; opening a
//! link joins no chat the person is banned from, and sends a join request
//! (not membership) to a chat that takes join requests.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::super::methods::Call;
use super::super::rules::errors::{self, ApiError};
use super::super::world::{JoinRequest, Member, World};
use crate::state::{ChatId, Right, UserId};

/// Telegram's limits: chats in a shared folder, links per folder.
const MAX_CHATS: usize = 100;
const MAX_LINKS: usize = 20;

/// A person's folder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Folder {
    pub owner: UserId,
    pub id: i32,
    pub title: String,
    pub chats: Vec<ChatId>,
    /// Turned into a chat list by exporting a link.
    #[serde(default)]
    pub shared: bool,
}

/// A folder link (`https://t.me/addlist/SLUG`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderLink {
    pub slug: String,
    pub owner: UserId,
    pub filter_id: i32,
    pub title: String,
    pub chats: Vec<ChatId>,
}

impl FolderLink {
    pub fn url(&self) -> String {
        format!("https://t.me/addlist/{}", self.slug)
    }
}

/// Every folder and folder link of the world.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Folders {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub folders: Vec<Folder>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<FolderLink>,
}

impl Folders {
    pub fn is_empty(&self) -> bool {
        self.folders.is_empty() && self.links.is_empty()
    }

    /// `owner`'s folders, by id.
    pub fn of(&self, owner: UserId) -> impl Iterator<Item = &Folder> {
        self.folders.iter().filter(move |f| f.owner == owner)
    }

    pub fn link(&self, slug: &str) -> Option<&FolderLink> {
        self.links.iter().find(|l| l.slug == slug)
    }
}

/// An MTProto error name as the Bot API error the act door answers.
fn refused(name: &str) -> ApiError {
    ApiError::bad_request(name)
}

/// `messages.updateDialogFilter`: set folder `id` of `owner` (None deletes
/// it and its links).
pub fn update(
    world: &mut World,
    owner: UserId,
    id: i32,
    folder: Option<(String, Vec<ChatId>)>,
) -> Result<(), &'static str> {
    if id < 2 {
        return Err("FILTER_ID_INVALID");
    }
    let Some((title, chats)) = folder else {
        world
            .folders
            .folders
            .retain(|f| !(f.owner == owner && f.id == id));
        world
            .folders
            .links
            .retain(|l| !(l.owner == owner && l.filter_id == id));
        return Ok(());
    };
    if title.is_empty() || title.chars().count() > 12 {
        return Err("FILTER_TITLE_EMPTY");
    }
    if chats.is_empty() {
        return Err("FILTER_INCLUDE_EMPTY");
    }
    if chats.iter().any(|c| !world.chats.contains_key(c)) {
        return Err("CHANNEL_INVALID");
    }
    let shared = world
        .folders
        .of(owner)
        .find(|f| f.id == id)
        .is_some_and(|f| f.shared);
    if shared && chats.len() > MAX_CHATS {
        return Err("CHATLISTS_TOO_MUCH");
    }
    world
        .folders
        .folders
        .retain(|f| !(f.owner == owner && f.id == id));
    world.folders.folders.push(Folder {
        owner,
        id,
        title,
        chats,
        shared,
    });
    Ok(())
}

/// Whether `owner` may put `chat` in a folder link: a group or channel
/// they can invite people to.
fn may_share(world: &World, owner: UserId, chat: ChatId, now: i64) -> bool {
    world
        .chats
        .get(&chat)
        .is_some_and(|c| match c.status(owner, now) {
            Member::Creator { .. } => true,
            Member::Administrator { rights, .. } => rights.contains(&Right::InviteUsers),
            _ => false,
        })
}

/// `chatlists.exportChatlistInvite`: share folder `id` with a new link.
pub fn export(
    world: &mut World,
    owner: UserId,
    id: i32,
    title: &str,
    chats: Vec<ChatId>,
    now: i64,
) -> Result<FolderLink, &'static str> {
    let Some(at) = world
        .folders
        .folders
        .iter()
        .position(|f| f.owner == owner && f.id == id)
    else {
        return Err("FILTER_NOT_SUPPORTED");
    };
    check_peers(world, owner, &chats, now)?;
    if world
        .folders
        .links
        .iter()
        .filter(|l| l.owner == owner && l.filter_id == id)
        .count()
        >= MAX_LINKS
    {
        return Err("INVITES_TOO_MUCH");
    }
    world.folders.folders[at].shared = true;
    world.next_serial += 1;
    let link = FolderLink {
        slug: format!("sbx{:08x}{owner:x}", world.next_serial),
        owner,
        filter_id: id,
        title: title.to_string(),
        chats,
    };
    world.folders.links.push(link.clone());
    Ok(link)
}

fn check_peers(
    world: &World,
    owner: UserId,
    chats: &[ChatId],
    now: i64,
) -> Result<(), &'static str> {
    if chats.is_empty() {
        return Err("PEERS_LIST_EMPTY");
    }
    if chats.len() > MAX_CHATS {
        return Err("CHATLISTS_TOO_MUCH");
    }
    if chats.iter().any(|c| !may_share(world, owner, *c, now)) {
        return Err("CHAT_ADMIN_REQUIRED");
    }
    Ok(())
}

/// `chatlists.editExportedInvite`: set a link's title and chats.
pub fn edit(
    world: &mut World,
    owner: UserId,
    id: i32,
    slug: &str,
    title: Option<String>,
    chats: Option<Vec<ChatId>>,
    now: i64,
) -> Result<FolderLink, &'static str> {
    if let Some(chats) = &chats {
        check_peers(world, owner, chats, now)?;
    }
    let Some(link) = world
        .folders
        .links
        .iter_mut()
        .find(|l| l.owner == owner && l.filter_id == id && l.slug == slug)
    else {
        return Err("INVITE_SLUG_EXPIRED");
    };
    if let Some(title) = title {
        link.title = title;
    }
    if let Some(chats) = chats {
        link.chats = chats;
    }
    Ok(link.clone())
}

/// `joinChatlist` (`/sandbox/act`, and `chatlists.joinChatlistInvite`):
/// the caller opens the folder link `slug` (`chat_ids`, when given, limits
/// it to those, as the app lets a person untick some). As Telegram does
/// it: a chat the caller is in already is left as it is (`already`); a
/// chat they are banned from stays closed (`banned`); a chat that takes
/// join requests gets one from them, pending an admin's approval, with the
/// `chat_join_request` update the bot sees (`requested`); every other
/// chat is joined (`joined`). The person gets the folder in their own
/// account, as Telegram's apps add it.
pub fn join_chatlist(call: &mut Call) -> Result<Value, ApiError> {
    let user = call.caller.id;
    let slug = call
        .params
        .str_opt("slug")
        .ok_or_else(|| errors::parameter_required("slug"))?;
    let slug = crate::state::folders::slug_of(&slug)
        .ok_or_else(|| refused("INVITE_SLUG_INVALID"))?
        .to_string();
    let only: Option<Vec<ChatId>> = call
        .params
        .str_opt("chat_ids")
        .and_then(|s| serde_json::from_str(&s).ok());
    let link = call
        .world
        .folders
        .link(&slug)
        .cloned()
        .ok_or_else(|| refused("INVITE_SLUG_EXPIRED"))?;
    if call.world.users.get(&user).is_some_and(|u| u.deactivated) {
        return Err(errors::user_deactivated());
    }
    let (mut joined, mut requested, mut already, mut banned) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for chat in link.chats.iter().copied() {
        if only.as_ref().is_some_and(|o| !o.contains(&chat)) {
            continue;
        }
        let Some(c) = call.world.chats.get(&chat) else {
            continue;
        };
        let status = c.status(user, call.now);
        if status.is_present() {
            already.push(chat);
            continue;
        }
        if matches!(status, Member::Kicked { .. }) {
            banned.push(chat);
            continue;
        }
        if c.join_by_request {
            // One pending request a person, as in Telegram: asking again
            // keeps the first (and its date).
            if !c.join_requests.contains_key(&user) {
                let now = call.now;
                call.chat_mut(chat).join_requests.insert(
                    user,
                    JoinRequest {
                        date: now,
                        invite_link: None,
                    },
                );
                crate::sandbox::updates::join_requested(call.world, chat, user, now, None);
            }
            requested.push(chat);
            continue;
        }
        let new = match status {
            Member::Restricted {
                permissions,
                until_date,
                tag,
                ..
            } => Member::Restricted {
                permissions,
                is_member: true,
                until_date,
                tag,
            },
            _ => Member::plain(),
        };
        call.chat_mut(chat).join_requests.remove(&user);
        call.set_member(chat, user, new, None, false);
        joined.push(chat);
    }
    // The person now has the folder too (a chat list of their own, with no
    // link of theirs), holding the chats they took; opening the link again
    // adds what is new to it.
    if user != link.owner {
        let taken: Vec<ChatId> = joined
            .iter()
            .chain(&requested)
            .chain(&already)
            .copied()
            .collect();
        let folders = &mut call.world.folders.folders;
        match folders
            .iter_mut()
            .find(|f| f.owner == user && f.shared && f.title == link.title)
        {
            Some(mine) => {
                for chat in taken {
                    if !mine.chats.contains(&chat) {
                        mine.chats.push(chat);
                    }
                }
            }
            None if !taken.is_empty() => {
                let id = folders
                    .iter()
                    .filter(|f| f.owner == user)
                    .map(|f| f.id + 1)
                    .max()
                    .unwrap_or(2)
                    .max(2);
                folders.push(Folder {
                    owner: user,
                    id,
                    title: link.title.clone(),
                    chats: taken,
                    shared: true,
                });
            }
            None => {}
        }
    }
    Ok(json!({
        "joined": joined,
        "requested": requested,
        "already": already,
        "banned": banned,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::world::{Chat, User, full_rights};
    use crate::state::ChatType;

    fn world() -> World {
        let mut w = World::new(7, "bot", "7:t");
        w.add_user(User::human(1, "Owner"));
        for id in [-1001, -1002] {
            let mut c = Chat::new(id, ChatType::Supergroup, "c");
            c.set_status(
                1,
                Member::Creator {
                    is_anonymous: false,
                    custom_title: None,
                },
            );
            w.add_chat(c);
        }
        let mut other = Chat::new(-1003, ChatType::Supergroup, "not mine");
        other.set_status(
            1,
            Member::Administrator {
                rights: full_rights(ChatType::Supergroup)
                    .into_iter()
                    .filter(|r| *r != Right::InviteUsers)
                    .collect(),
                custom_title: None,
                promoted_by: 7,
            },
        );
        w.add_chat(other);
        w
    }

    #[test]
    fn a_folder_is_shared_edited_and_deleted_with_its_links() {
        let mut w = world();
        assert_eq!(
            update(&mut w, 1, 1, Some(("x".into(), vec![-1001]))),
            Err("FILTER_ID_INVALID")
        );
        assert_eq!(
            update(&mut w, 1, 2, Some(("x".into(), vec![]))),
            Err("FILTER_INCLUDE_EMPTY")
        );
        update(&mut w, 1, 2, Some(("Eng".into(), vec![-1001]))).unwrap();
        assert_eq!(
            export(&mut w, 1, 2, "Eng", vec![-1003], 0),
            Err("CHAT_ADMIN_REQUIRED"),
            "no invite right there"
        );
        let link = export(&mut w, 1, 2, "Eng", vec![-1001], 0).unwrap();
        assert!(w.folders.folders[0].shared);
        let edited = edit(&mut w, 1, 2, &link.slug, None, Some(vec![-1001, -1002]), 0).unwrap();
        assert_eq!(edited.chats, [-1001, -1002]);
        assert_eq!(
            edit(&mut w, 1, 2, "nope", None, None, 0),
            Err("INVITE_SLUG_EXPIRED")
        );
        update(&mut w, 1, 2, None).unwrap();
        assert!(
            w.folders.is_empty(),
            "deleting the folder deletes its links"
        );
    }
}
