//! Applying a plan to a live state in memory, with Telegram's semantics:
//! what the live state would look like after every change succeeded. Used
//! by the planner's property tests and by the applier's in-memory provider.
//!
//! Two human steps are taken as done: a personal invite is accepted (the
//! person joins), and a manual instruction is carried out.

use crate::state::{AdminSeat, LiveState, MemberState, Photo, PinnedMessage};

use super::change::{Change, Op};

pub fn simulate(live: &mut LiveState, changes: &[Change]) {
    let mut next_thread = 1000;
    let mut next_message = 5000;
    for change in changes {
        let Some(chat) = live.state.chats.get_mut(&change.chat) else {
            continue;
        };
        match &change.op {
            Op::SetTitle { title } => chat.settings.title = Some(title.clone()),
            Op::SetDescription { description } => {
                chat.settings.description = Some(description.clone())
            }
            Op::SetPermissions { permissions } => {
                chat.settings.permissions = Some(permissions.clone())
            }
            Op::SetPhoto { path, sha256 } => {
                chat.settings.photo = Some(Photo::file(path, sha256.clone()))
            }
            Op::DeletePhoto => chat.settings.photo = Some(Photo::None),
            Op::Pin {
                text,
                message_id,
                notify,
            } => {
                next_message += 1;
                let message_id = Some(message_id.unwrap_or(next_message));
                chat.pinned = Some(PinnedMessage {
                    text: text.clone(),
                    message_id,
                    by_bot: true,
                    notify: *notify,
                });
            }
            Op::Unpin { message_id } => {
                if chat
                    .pinned
                    .as_ref()
                    .is_some_and(|p| p.message_id == Some(*message_id))
                {
                    chat.pinned = None;
                }
            }
            Op::SetTag { user, tag } => {
                let tags = chat.tags.get_or_insert_with(Default::default);
                if tag.is_empty() {
                    tags.remove(user);
                } else {
                    tags.insert(*user, tag.clone());
                }
            }
            Op::CreateTopic { key, topic } => {
                next_thread += 1;
                let mut t = topic.clone();
                t.thread_id = Some(next_thread);
                chat.topics.insert(key.clone(), t);
            }
            Op::EditTopic {
                key,
                name,
                icon_color,
                ..
            } => {
                if let Some(t) = chat.topics.get_mut(key) {
                    t.name = name.clone();
                    if icon_color.is_some() {
                        t.icon_color = *icon_color;
                    }
                }
            }
            Op::CloseTopic { key, .. } => chat
                .topics
                .get_mut(key)
                .into_iter()
                .for_each(|t| t.closed = true),
            Op::ReopenTopic { key, .. } => chat
                .topics
                .get_mut(key)
                .into_iter()
                .for_each(|t| t.closed = false),
            Op::DeleteTopic { key, .. } => {
                chat.topics.remove(key);
            }
            Op::CreateInviteLink { key, link } | Op::EditInviteLink { key, link, .. } => {
                let url = chat
                    .invite_links
                    .get(key)
                    .and_then(|l| l.url.clone())
                    .unwrap_or_else(|| format!("https://t.me/+{key}"));
                let mut l = link.clone();
                l.url = Some(url);
                chat.invite_links.insert(key.clone(), l);
            }
            Op::RevokeInviteLink { key, .. } => {
                chat.invite_links.remove(key);
            }
            Op::Demote { user } => {
                chat.admins.remove(user);
                chat.members.insert(*user, MemberState::Member);
            }
            Op::Promote { user, rights } => {
                if rights.is_empty() {
                    chat.admins.remove(user);
                    chat.members.insert(*user, MemberState::Member);
                } else {
                    // A read shows admins with their title, never a tag.
                    drop_tag(chat, *user);
                    let seat = chat.admins.entry(*user).or_insert_with(AdminSeat::default);
                    seat.rights = rights.clone();
                    chat.members.remove(user);
                }
            }
            Op::SetAdminTitle { user, title } => {
                if let Some(seat) = chat.admins.get_mut(user) {
                    seat.title = Some(title.clone());
                }
            }
            Op::Restrict {
                user,
                permissions,
                until,
            } => {
                chat.members.insert(
                    *user,
                    MemberState::Restricted {
                        permissions: permissions.clone(),
                        until: *until,
                    },
                );
            }
            Op::Unrestrict { user } => {
                chat.members.insert(*user, MemberState::Member);
            }
            Op::Ban { user } => {
                chat.admins.remove(user);
                drop_tag(chat, *user);
                chat.members.insert(*user, MemberState::Banned);
            }
            Op::Unban { user } => {
                if chat.members.get(user) == Some(&MemberState::Banned) {
                    chat.members.insert(*user, MemberState::Absent);
                }
            }
            Op::Kick { user } => {
                chat.admins.remove(user);
                drop_tag(chat, *user);
                chat.members.insert(*user, MemberState::Absent);
            }
            Op::SendInvite { user, .. } | Op::AddMember { user, .. } => {
                // The person accepts the invite (or is added).
                if !matches!(chat.members.get(user), Some(MemberState::Restricted { .. }))
                    && !chat.admins.contains_key(user)
                {
                    chat.members.insert(*user, MemberState::Member);
                }
            }
            Op::SetCommands { commands } => chat.commands = Some(commands.clone()),
            // A created chat is read for the first time on the next run.
            Op::CreateChat { .. }
            | Op::CreateFolder { .. }
            | Op::EditFolder { .. }
            | Op::DeleteFolder { .. } => {}
            Op::SetPersonSetting { setting } => {
                use super::change::PersonSetting as S;
                let s = &mut chat.settings;
                match *setting {
                    S::Forum(v) => s.forum = Some(v),
                    S::SlowMode(v) => s.slow_mode = Some(v),
                    S::ProtectedContent(v) => s.protected_content = Some(v),
                    S::AutoDelete(v) => s.auto_delete = Some(v),
                    S::JoinByRequest(v) => s.join_by_request = Some(v),
                    S::JoinToSend(v) => s.join_to_send = Some(v),
                    S::HiddenMembers(v) => s.hidden_members = Some(v),
                    S::HistoryForNewMembers(v) => s.history_for_new_members = Some(v),
                }
            }
            Op::DeleteCommands => chat.commands = Some(Vec::new()),
            Op::Manual { .. } => {
                let field = change.address.as_str().rsplit('.').next().unwrap_or("");
                let v = &change.after;
                let s = &mut chat.settings;
                match field {
                    "forum" => s.forum = v.as_flag(),
                    "slow_mode" => s.slow_mode = v.as_seconds(),
                    "protected_content" => s.protected_content = v.as_flag(),
                    "auto_delete" => s.auto_delete = v.as_seconds(),
                    "join_by_request" => s.join_by_request = v.as_flag(),
                    "join_to_send" => s.join_to_send = v.as_flag(),
                    "hidden_members" => s.hidden_members = v.as_flag(),
                    "history_for_new_members" => s.history_for_new_members = v.as_flag(),
                    // An admin seat only its owner can change stays as it is.
                    _ => {}
                }
            }
        }
    }
}

/// Someone who leaves the chat, or becomes an admin, no longer shows a tag.
fn drop_tag(chat: &mut crate::state::ChatState, user: crate::state::UserId) {
    if let Some(tags) = &mut chat.tags {
        tags.remove(&user);
    }
}

/// The live state Telegram would show if it matched `desired` exactly: the
/// starting point of converged-fake tests and benchmarks. Topics and links
/// get made-up thread ids and URLs; the bot holds every right.
pub fn converged(
    desired: &crate::state::DesiredState,
    bot: crate::state::BotIdentity,
) -> LiveState {
    let mut live = LiveState {
        bot: Some(bot),
        ..Default::default()
    };
    live.state = desired.state.clone();
    for (key, chat) in live.state.chats.iter_mut() {
        for (i, t) in chat.topics.values_mut().enumerate() {
            t.thread_id = Some(100 + i as i64);
        }
        for (k, l) in chat.invite_links.iter_mut() {
            l.url = Some(format!("https://t.me/+{k}"));
        }
        chat.members.retain(|_, m| *m != MemberState::Absent);
        if let Some(p) = &mut chat.pinned {
            p.message_id = Some(7);
            p.by_bot = true;
            p.notify = false;
        }
        // getChatMemberCount counts who is in the chat: admins, members,
        // restricted members and the bot; not the banned.
        let present = chat.members.values().filter(|m| super::present(m)).count();
        live.meta.insert(
            key.clone(),
            crate::state::LiveChatMeta {
                member_count: Some((present + chat.admins.len() + 1) as u64),
                bot_rights: Some(crate::state::Right::all_for(chat.kind)),
                ..Default::default()
            },
        );
    }
    live
}
