//! The routine changes over MTProto, for an org without a bot
//! (`org.telegram.provider: user`): every `Op` the Bot API provider
//! (`telegram::execute`) carries, carried by the signed-in person with the
//! function a Telegram app uses for it, and the same apply contract —
//! what Telegram answered ([`Executed`]), the before-state read with one
//! targeted call ([`Observed`]), and for a change whose answer was lost,
//! what the chat shows now ([`Evidence`]); nothing here is ever sent
//! twice on a guess.
//!
//! | op | function |
//! |---|---|
//! | title, description, permissions | channels.editTitle, messages.editChatAbout, messages.editChatDefaultBannedRights |
//! | photo | upload.saveFilePart, channels.editPhoto |
//! | pin, unpin | messages.sendMessage / messages.editMessage, messages.updatePinnedMessage |
//! | topics | messages.createForumTopic, messages.editForumTopic, messages.deleteTopicHistory |
//! | invite links | messages.exportChatInvite, messages.editExportedChatInvite (`revoked` to revoke) |
//! | admins and titles | channels.editAdmin (with `rank`) |
//! | restrictions, bans, kicks | channels.editBanned |
//! | member tags | messages.editChatParticipantRank |
//! | personal invites | messages.exportChatInvite, then messages.sendMessage to the person |
//!
//! Bot commands belong to a bot: with `provider: user` they are a config
//! diagnostic (`model::check`), and an op that still arrives is refused.
//!
//! [`Routine`] is this half as an `apply::Provider`; `apply::Split` puts it
//! where the bot would be, with the person-only half (`provider`) beside
//! it, so a direct addition refused by privacy falls back to the
//! account's personal link exactly as it falls back to the bot's.

use std::sync::Arc;

use grammers_tl_types as tl;

use super::banned;
use super::client::MtprotoError;
use super::live::{Seat, admin_seat};
use super::provider::{UserProvider, provider_error};
use crate::apply::provider::{
    Answer, Evidence, Executed, LINK_NAME_MAX, MemberSnapshot, Observed, Provider, ProviderError,
};
use crate::plan::{Change, Op};
use crate::state::{ChatId, ChatType, InviteLink, Permission, Rights, Topic, UserId};

/// How long a kick's ban lasts if the lifting that follows never happens
/// (as on the Bot API side).
const KICK_BAN_SECONDS: i64 = 60;
/// Telegram's part size for uploads, and the largest chat photo it takes.
const PART: usize = 512 * 1024;
const PHOTO_MAX: u64 = 10 * 1024 * 1024;

/// Telegram's answers that mean "already so".
const NOT_MODIFIED: &[&str] = &[
    "CHAT_NOT_MODIFIED",
    "CHAT_ABOUT_NOT_MODIFIED",
    "MESSAGE_NOT_MODIFIED",
    "TOPIC_NOT_MODIFIED",
    "USER_NOT_MODIFIED",
];

fn named(e: &MtprotoError, names: &[&str]) -> bool {
    e.name().is_some_and(|n| names.contains(&n))
}

/// One call; "not modified" is done.
fn settled<T>(answer: Result<T, MtprotoError>, method: &str) -> Result<Executed, MtprotoError> {
    match answer {
        Ok(_) => Ok(Executed::done(vec![method.to_string()])),
        Err(e) if named(&e, NOT_MODIFIED) => Ok(Executed {
            not_modified: true,
            ..Executed::done(vec![method.to_string()])
        }),
        Err(e) => Err(e),
    }
}

/// One call whose target may be gone already: gone is done, with a note.
fn removed<T>(
    answer: Result<T, MtprotoError>,
    method: &str,
    gone: &[&str],
    note: &str,
) -> Result<Executed, MtprotoError> {
    match settled(answer, method) {
        Err(e) if named(&e, gone) => {
            let mut done = Executed::done(vec![method.to_string()]);
            done.notes.push(note.to_string());
            Ok(done)
        }
        other => other,
    }
}

/// The id of the message a send (or topic creation) made, from its
/// Updates answer.
fn sent_id(updates: &tl::enums::Updates, random_id: i64) -> Option<i32> {
    use tl::enums::Update as U;
    let list: &[U] = match updates {
        tl::enums::Updates::Updates(u) => &u.updates,
        tl::enums::Updates::Combined(u) => &u.updates,
        tl::enums::Updates::UpdateShortSentMessage(m) => return Some(m.id),
        tl::enums::Updates::UpdateShort(u) => std::slice::from_ref(&u.update),
        _ => return None,
    };
    let by_random = list.iter().find_map(|u| match u {
        U::MessageId(m) if m.random_id == random_id => Some(m.id),
        _ => None,
    });
    by_random.or_else(|| {
        list.iter().find_map(|u| match u {
            U::NewChannelMessage(m) => match &m.message {
                tl::enums::Message::Message(m) => Some(m.id),
                tl::enums::Message::Service(m) => Some(m.id),
                tl::enums::Message::Empty(_) => None,
            },
            _ => None,
        })
    })
}

fn link_answer(invite: &tl::enums::ExportedChatInvite, asked: &InviteLink) -> Option<Answer> {
    match invite {
        tl::enums::ExportedChatInvite::ChatInviteExported(l) => Some(Answer::InviteLink {
            url: l.link.clone(),
            name: l.title.clone().unwrap_or_else(|| asked.name.clone()),
            expires: l.expire_date.map(i64::from),
            member_limit: l.usage_limit.and_then(|n| u32::try_from(n).ok()),
            join_request: l.request_needed,
        }),
        tl::enums::ExportedChatInvite::ChatInvitePublicJoinRequests => None,
    }
}

fn no_answer(what: &str) -> MtprotoError {
    MtprotoError::Connection(format!("Telegram's answer did not carry {what}"))
}

fn to_i32(n: i64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

impl UserProvider {
    /// Carry out one routine change as the signed-in person.
    pub async fn run_routine(&self, change: &Change) -> Result<Executed, MtprotoError> {
        use tl::functions::{channels as c, messages as m};
        let chat = change.chat_id;
        match &change.op {
            Op::SetTitle { title } => {
                let channel = self.input(chat).await?;
                let answer = self
                    .call(&c::EditTitle {
                        channel,
                        title: title.clone(),
                    })
                    .await;
                settled(answer, "channels.editTitle")
            }
            Op::SetDescription { description } => {
                let peer = self.input_peer(chat).await?;
                let answer = self
                    .call(&m::EditChatAbout {
                        peer,
                        about: description.clone(),
                    })
                    .await;
                settled(answer, "messages.editChatAbout")
            }
            Op::SetPermissions { permissions } => {
                let peer = self.input_peer(chat).await?;
                let answer = self
                    .call(&m::EditChatDefaultBannedRights {
                        peer,
                        banned_rights: banned::banned_rights(permissions, 0, false),
                    })
                    .await;
                settled(answer, "messages.editChatDefaultBannedRights")
            }
            Op::DeletePhoto => {
                let channel = self.input(chat).await?;
                let answer = self
                    .call(&c::EditPhoto {
                        channel,
                        photo: tl::enums::InputChatPhoto::Empty,
                    })
                    .await;
                settled(answer, "channels.editPhoto")
            }
            Op::SetPhoto { path, sha256 } => self.set_photo(chat, path, sha256).await,
            Op::Pin {
                text,
                message_id,
                notify,
            } => self.pin(chat, text, *message_id, *notify).await,
            Op::Unpin { message_id } => {
                let peer = self.input_peer(chat).await?;
                let answer = self
                    .call(&m::UpdatePinnedMessage {
                        silent: true,
                        unpin: true,
                        pm_oneside: false,
                        peer,
                        id: to_i32(*message_id),
                    })
                    .await;
                removed(
                    answer,
                    "messages.updatePinnedMessage",
                    &["MESSAGE_ID_INVALID"],
                    "the message was already gone",
                )
            }
            Op::SetTag { user, tag } => {
                let peer = self.input_peer(chat).await?;
                let participant = self.person_peer(Some(chat), *user).await?;
                let answer = self
                    .call(&m::EditChatParticipantRank {
                        peer,
                        participant,
                        rank: tag.clone(),
                    })
                    .await;
                settled(answer, "messages.editChatParticipantRank")
            }
            Op::CreateTopic { topic, .. } => self.create_topic(chat, topic).await,
            Op::EditTopic {
                thread_id,
                name,
                icon_color,
                ..
            } => {
                let peer = self.input_peer(chat).await?;
                let answer = self
                    .call(&m::EditForumTopic {
                        peer,
                        topic_id: to_i32(*thread_id),
                        title: Some(name.clone()),
                        icon_emoji_id: None,
                        closed: None,
                        hidden: None,
                    })
                    .await;
                let mut done = settled(answer, "messages.editForumTopic")?;
                if icon_color.is_some() && *icon_color != change.before.icon_color() {
                    done.notes.push("Telegram cannot change a topic's icon colour after creation; it was left as is".into());
                }
                Ok(done)
            }
            Op::CloseTopic { thread_id, .. } | Op::ReopenTopic { thread_id, .. } => {
                let closed = matches!(change.op, Op::CloseTopic { .. });
                let peer = self.input_peer(chat).await?;
                let answer = self
                    .call(&m::EditForumTopic {
                        peer,
                        topic_id: to_i32(*thread_id),
                        title: None,
                        icon_emoji_id: None,
                        closed: Some(closed),
                        hidden: None,
                    })
                    .await;
                settled(answer, "messages.editForumTopic")
            }
            Op::DeleteTopic { thread_id, .. } => {
                let peer = self.input_peer(chat).await?;
                let answer = self
                    .call(&m::DeleteTopicHistory {
                        peer,
                        top_msg_id: to_i32(*thread_id),
                    })
                    .await;
                removed(
                    answer,
                    "messages.deleteTopicHistory",
                    &["TOPIC_ID_INVALID"],
                    "the topic was already gone",
                )
            }
            Op::CreateInviteLink { link, .. } => {
                let peer = self.input_peer(chat).await?;
                let invite = self
                    .call(&m::ExportChatInvite {
                        legacy_revoke_permanent: false,
                        request_needed: link.join_request,
                        peer,
                        expire_date: link.expires.map(to_i32),
                        usage_limit: link.member_limit.map(|n| n as i32),
                        title: Some(link.name.chars().take(LINK_NAME_MAX).collect()),
                        subscription_pricing: None,
                    })
                    .await?;
                Ok(Executed {
                    answer: link_answer(&invite, link).ok_or_else(|| no_answer("the link"))?,
                    ..Executed::done(vec!["messages.exportChatInvite".into()])
                })
            }
            Op::EditInviteLink { url, link, .. } => {
                let peer = self.input_peer(chat).await?;
                let edited = self
                    .call(&m::EditExportedChatInvite {
                        revoked: false,
                        peer,
                        link: url.clone(),
                        expire_date: Some(link.expires.map_or(0, to_i32)),
                        usage_limit: Some(link.member_limit.map_or(0, |n| n as i32)),
                        request_needed: Some(link.join_request),
                        title: Some(link.name.chars().take(LINK_NAME_MAX).collect()),
                    })
                    .await?;
                let invite = match &edited {
                    tl::enums::messages::ExportedChatInvite::Invite(i) => &i.invite,
                    tl::enums::messages::ExportedChatInvite::Replaced(i) => &i.new_invite,
                };
                Ok(Executed {
                    answer: link_answer(invite, link).ok_or_else(|| no_answer("the link"))?,
                    ..Executed::done(vec!["messages.editExportedChatInvite".into()])
                })
            }
            Op::RevokeInviteLink { url, .. } => {
                let peer = self.input_peer(chat).await?;
                let answer = self
                    .call(&m::EditExportedChatInvite {
                        revoked: true,
                        peer,
                        link: url.clone(),
                        expire_date: None,
                        usage_limit: None,
                        request_needed: None,
                        title: None,
                    })
                    .await;
                removed(
                    answer,
                    "messages.editExportedChatInvite",
                    &["INVITE_HASH_EXPIRED", "INVITE_HASH_INVALID"],
                    "the link was already revoked",
                )
            }
            Op::Promote { user, rights } => {
                let title = match self.participant(chat, *user).await? {
                    Seat::Admin { title, .. } | Seat::Owner { title } => title,
                    _ => None,
                };
                self.edit_admin(chat, *user, rights, title).await
            }
            Op::Demote { user } => self.edit_admin(chat, *user, &Rights::new(), None).await,
            Op::SetAdminTitle { user, title } => {
                let rights = match self.participant(chat, *user).await? {
                    Seat::Admin { rights, .. } => rights,
                    Seat::Owner { .. } => crate::state::Right::all_for(change.chat_type),
                    _ => {
                        return Err(MtprotoError::Rpc {
                            code: 400,
                            name: "USER_NOT_ADMIN".into(),
                            value: None,
                        });
                    }
                };
                let mut done = self
                    .edit_admin(chat, *user, &rights, Some(title.clone()))
                    .await?;
                done.calls.insert(0, "channels.getParticipant".into());
                Ok(done)
            }
            Op::Restrict {
                user,
                permissions,
                until,
            } => {
                self.edit_banned(chat, *user, permissions, until.unwrap_or(0), false)
                    .await
            }
            Op::Unrestrict { user } | Op::Unban { user } => {
                self.edit_banned(chat, *user, &Permission::all(), 0, false)
                    .await
            }
            Op::Ban { user } => {
                self.edit_banned(chat, *user, &Permission::all(), 0, true)
                    .await
            }
            Op::Kick { user } => {
                // A short ban, so that a crash before it is lifted leaves
                // no lasting one.
                let until = jiff::Timestamp::now().as_second() + KICK_BAN_SECONDS;
                let ban = self
                    .edit_banned(chat, *user, &Permission::all(), until, true)
                    .await?;
                let lift = self
                    .edit_banned(chat, *user, &Permission::all(), 0, false)
                    .await?;
                Ok(Executed::done([ban.calls, lift.calls].concat()))
            }
            Op::SendInvite {
                user,
                name,
                expires,
            }
            | Op::AddMember {
                user,
                name,
                expires,
                ..
            } => self.send_invite(change, *user, name, *expires).await,
            Op::SetCommands { .. } | Op::DeleteCommands => Err(MtprotoError::Rpc {
                code: 400,
                name: "BOT_COMMANDS_NEED_A_BOT".into(),
                value: None,
            }),
            Op::Manual { .. }
            | Op::SetPersonSetting { .. }
            | Op::CreateChat { .. }
            | Op::CreateFolder { .. }
            | Op::EditFolder { .. }
            | Op::DeleteFolder { .. } => Err(MtprotoError::Rpc {
                code: 400,
                name: "NOT_A_ROUTINE_CHANGE".into(),
                value: None,
            }),
        }
    }

    /// Upload the photo file in parts (upload.saveFilePart) and make it
    /// the chat's (channels.editPhoto), refusing one whose content is no
    /// longer what the plan showed; then read back Telegram's id for it.
    async fn set_photo(
        &self,
        chat: ChatId,
        path: &str,
        sha256: &str,
    ) -> Result<Executed, MtprotoError> {
        let refuse = |reason: String| MtprotoError::Rpc {
            code: 400,
            name: format!("ORGFORM_PHOTO_REFUSED: {reason}"),
            value: None,
        };
        let size = std::fs::metadata(path)
            .map_err(|e| refuse(format!("cannot read the photo {path}: {e}")))?
            .len();
        if size > PHOTO_MAX {
            return Err(refuse(format!(
                "the photo {path} has {size} bytes; Telegram takes chat photos up to {PHOTO_MAX}"
            )));
        }
        let bytes = std::fs::read(path)
            .map_err(|e| refuse(format!("cannot read the photo {path}: {e}")))?;
        let actual = crate::state::Photo::hash_of(&bytes);
        if actual != sha256 {
            return Err(refuse(format!(
                "the photo {path} changed since the plan was made (sha256 {} there, {} now); plan again",
                &sha256[..12.min(sha256.len())],
                &actual[..12]
            )));
        }
        let file_id = rand::random::<i64>();
        let mut calls = Vec::new();
        let parts = bytes.chunks(PART);
        let count = parts.len();
        for (i, part) in parts.enumerate() {
            self.call(&tl::functions::upload::SaveFilePart {
                file_id,
                file_part: i as i32,
                bytes: part.to_vec(),
            })
            .await?;
            calls.push("upload.saveFilePart".to_string());
        }
        let name = std::path::Path::new(path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "photo".into());
        let channel = self.input(chat).await?;
        self.call(&tl::functions::channels::EditPhoto {
            channel,
            photo: tl::enums::InputChatPhoto::InputChatUploadedPhoto(
                tl::types::InputChatUploadedPhoto {
                    file: Some(tl::enums::InputFile::File(tl::types::InputFile {
                        id: file_id,
                        parts: count as i32,
                        name,
                        md5_checksum: String::new(),
                    })),
                    video: None,
                    video_start_ts: None,
                    video_emoji_markup: None,
                },
            ),
        })
        .await?;
        calls.push("channels.editPhoto".into());
        let full = self.full_chat(chat).await?;
        calls.push("channels.getFullChannel".into());
        Ok(Executed {
            answer: Answer::Photo {
                file_unique_id: full.photo.map(|p| p.to_string()),
            },
            ..Executed::done(calls)
        })
    }

    async fn edit_admin(
        &self,
        chat: ChatId,
        user: UserId,
        rights: &Rights,
        title: Option<String>,
    ) -> Result<Executed, MtprotoError> {
        let tl::enums::InputUser::User(input) = self.person(Some(chat), user).await? else {
            unreachable!("person() builds a user")
        };
        let answer = self
            .promote(chat, user, input.access_hash, rights, title.as_deref())
            .await;
        settled(answer, "channels.editAdmin")
    }

    async fn edit_banned(
        &self,
        chat: ChatId,
        user: UserId,
        allowed: &crate::state::Permissions,
        until: i64,
        ban: bool,
    ) -> Result<Executed, MtprotoError> {
        let channel = self.input(chat).await?;
        let participant = self.person_peer(Some(chat), user).await?;
        let answer = self
            .call(&tl::functions::channels::EditBanned {
                channel,
                participant,
                banned_rights: banned::banned_rights(allowed, until, ban),
            })
            .await;
        settled(answer, "channels.editBanned")
    }

    async fn create_topic(&self, chat: ChatId, topic: &Topic) -> Result<Executed, MtprotoError> {
        let peer = self.input_peer(chat).await?;
        let random_id = rand::random::<i64>();
        let updates = self
            .call(&tl::functions::messages::CreateForumTopic {
                title_missing: false,
                peer: peer.clone(),
                title: topic.name.clone(),
                icon_color: topic.icon_color.map(|c| c as i32),
                icon_emoji_id: None,
                random_id,
                send_as: None,
            })
            .await?;
        let thread = sent_id(&updates, random_id).ok_or_else(|| no_answer("the new topic"))?;
        let mut calls = vec!["messages.createForumTopic".to_string()];
        // The colour Telegram chose (or kept) is read back with the topic.
        let listed = self.forum_topics(chat).await?;
        calls.push("messages.getForumTopics".into());
        let found = listed.iter().find(|t| t.0 == i64::from(thread));
        if topic.closed {
            let answer = self
                .call(&tl::functions::messages::EditForumTopic {
                    peer,
                    topic_id: thread,
                    title: None,
                    icon_emoji_id: None,
                    closed: Some(true),
                    hidden: None,
                })
                .await;
            calls.extend(settled(answer, "messages.editForumTopic")?.calls);
        }
        Ok(Executed {
            answer: Answer::Topic {
                thread_id: i64::from(thread),
                name: found.map_or_else(|| topic.name.clone(), |t| t.1.clone()),
                icon_color: found.map(|t| t.2).or(topic.icon_color),
            },
            ..Executed::done(calls)
        })
    }

    /// Edit the account's earlier pin and pin it again, or post a new
    /// message and pin that when there is none (or it was deleted).
    async fn pin(
        &self,
        chat: ChatId,
        text: &str,
        reuse: Option<i64>,
        notify: bool,
    ) -> Result<Executed, MtprotoError> {
        use tl::functions::messages as m;
        let peer = self.input_peer(chat).await?;
        let mut calls = Vec::new();
        let mut notes = Vec::new();
        let mut kept = None;
        if let Some(id) = reuse {
            calls.push("messages.editMessage".to_string());
            let edit = self
                .call(&m::EditMessage {
                    no_webpage: true,
                    invert_media: false,
                    peer: peer.clone(),
                    id: to_i32(id),
                    message: Some(text.to_string()),
                    media: None,
                    reply_markup: None,
                    entities: None,
                    schedule_date: None,
                    schedule_repeat_period: None,
                    quick_reply_shortcut_id: None,
                    rich_message: None,
                })
                .await;
            match edit {
                Ok(_) => kept = Some(to_i32(id)),
                Err(e) if named(&e, &["MESSAGE_NOT_MODIFIED"]) => kept = Some(to_i32(id)),
                Err(e)
                    if named(
                        &e,
                        &[
                            "MESSAGE_ID_INVALID",
                            "MESSAGE_EDIT_TIME_EXPIRED",
                            "MESSAGE_AUTHOR_REQUIRED",
                        ],
                    ) =>
                {
                    notes.push(format!("message {id}, pinned earlier, is gone or cannot be edited; a new one was posted"));
                }
                Err(e) => return Err(e),
            }
        }
        let posted = kept.is_none();
        let message_id = match kept {
            Some(id) => id,
            None => {
                calls.push("messages.sendMessage".to_string());
                let random_id = rand::random::<i64>();
                // Posted silently: whether members hear of it is the pin's choice.
                let sent = self
                    .call(&send_message(peer.clone(), text, random_id, true))
                    .await?;
                sent_id(&sent, random_id).ok_or_else(|| no_answer("the message"))?
            }
        };
        let pin = self
            .call(&m::UpdatePinnedMessage {
                silent: !notify,
                unpin: false,
                pm_oneside: false,
                peer,
                id: message_id,
            })
            .await;
        calls.extend(settled(pin, "messages.updatePinnedMessage")?.calls);
        Ok(Executed {
            answer: Answer::Pinned {
                message_id: i64::from(message_id),
                text: text.to_string(),
                posted,
            },
            not_modified: false,
            calls,
            notes,
        })
    }

    /// A one-use personal link made by the account, sent to the person
    /// by direct message when the account can reach them.
    async fn send_invite(
        &self,
        change: &Change,
        user: UserId,
        name: &str,
        expires: i64,
    ) -> Result<Executed, MtprotoError> {
        let chat = change.chat_id;
        let name: String = name.chars().take(LINK_NAME_MAX).collect();
        let peer = self.input_peer(chat).await?;
        let invite = self
            .call(&tl::functions::messages::ExportChatInvite {
                legacy_revoke_permanent: false,
                request_needed: false,
                peer,
                expire_date: Some(to_i32(expires)),
                usage_limit: Some(1),
                title: Some(name.clone()),
                subscription_pricing: None,
            })
            .await?;
        let tl::enums::ExportedChatInvite::ChatInviteExported(link) = invite else {
            return Err(no_answer("the link"));
        };
        let mut calls = vec!["messages.exportChatInvite".to_string()];
        let until = crate::state::time::minute_text(expires);
        let text = format!(
            "You are invited to the Telegram chat \u{201c}{}\u{201d}. Join with your personal link; it works once and expires {until}:\n{}",
            change.chat, link.link
        );
        let reason = match self.person_peer(Some(chat), user).await {
            Ok(to) => {
                calls.push("messages.sendMessage".into());
                match self
                    .call(&send_message(to, &text, rand::random::<i64>(), false))
                    .await
                {
                    Ok(_) => None,
                    Err(e) => Some(e.to_string()),
                }
            }
            Err(_) => Some(
                "the signed-in account has no way to reach them (they share no chat with it)"
                    .to_string(),
            ),
        };
        let notes = match &reason {
            Some(why) => vec![format!(
                "invite not delivered ({why}); hand them {}",
                link.link
            )],
            None => vec![],
        };
        Ok(Executed {
            answer: Answer::PersonalInvite {
                url: link.link,
                expires,
                delivered: reason.is_none(),
                not_delivered_because: reason,
            },
            not_modified: false,
            calls,
            notes,
        })
    }

    /// The before-state of a routine change, with one targeted read.
    pub async fn observe_routine(&self, change: &Change) -> Result<Observed, MtprotoError> {
        let chat = change.chat_id;
        let user = match &change.op {
            Op::SetTitle { .. }
            | Op::SetDescription { .. }
            | Op::SetPermissions { .. }
            | Op::SetPhoto { .. }
            | Op::DeletePhoto
            | Op::Pin { .. }
            | Op::Unpin { .. } => {
                let full = self.full_chat(chat).await?;
                let me = self.me().await?;
                let pinned = self.pinned(chat, &full, me.id).await?;
                return Ok(Observed::Chat {
                    title: full.title,
                    description: full.about,
                    permissions: full.permissions,
                    photo: full.photo.map(|p| p.to_string()),
                    pinned,
                });
            }
            Op::EditTopic { .. }
            | Op::CloseTopic { .. }
            | Op::ReopenTopic { .. }
            | Op::DeleteTopic { .. }
            | Op::EditInviteLink { .. }
            | Op::RevokeInviteLink { .. } => {
                return Ok(Observed::Recorded {
                    value: change.before.to_json(),
                });
            }
            Op::SetCommands { .. } | Op::DeleteCommands => {
                return Err(MtprotoError::Rpc {
                    code: 400,
                    name: "BOT_COMMANDS_NEED_A_BOT".into(),
                    value: None,
                });
            }
            Op::CreateTopic { .. }
            | Op::CreateInviteLink { .. }
            | Op::Manual { .. }
            | Op::CreateChat { .. }
            | Op::CreateFolder { .. }
            | Op::EditFolder { .. }
            | Op::DeleteFolder { .. }
            | Op::SetPersonSetting { .. } => return Ok(Observed::Nothing),
            Op::Promote { user, .. }
            | Op::Demote { user }
            | Op::SetAdminTitle { user, .. }
            | Op::SetTag { user, .. }
            | Op::Restrict { user, .. }
            | Op::Unrestrict { user }
            | Op::Ban { user }
            | Op::Unban { user }
            | Op::Kick { user }
            | Op::SendInvite { user, .. }
            | Op::AddMember { user, .. } => *user,
        };
        let seat = self.participant(chat, user).await?;
        Ok(Observed::Member {
            user,
            tag: seat.tag(),
            member: snapshot(&seat, change.chat_type),
        })
    }

    /// What the chat shows of a change whose answer was lost: the topic,
    /// link or pin it would have made, by name, text and the account's own
    /// lists. Nothing found is "not done" only where the list a person
    /// reads is complete.
    pub async fn routine_evidence(&self, change: &Change, before: &Observed) -> Evidence {
        let chat = change.chat_id;
        let found = |answer: Answer, by: String| Evidence::Done {
            executed: Executed {
                answer,
                not_modified: false,
                calls: vec![],
                notes: vec!["found by evidence after the answer was lost".into()],
            },
            by,
        };
        match &change.op {
            Op::CreateTopic { topic, .. } => {
                let Ok(listed) = self.forum_topics(chat).await else {
                    return Evidence::Unknown;
                };
                let same: Vec<_> = listed.iter().filter(|t| t.1 == topic.name).collect();
                match same.as_slice() {
                    [] if listed.len() < 100 => Evidence::NotDone {
                        by: "messages.getForumTopics lists no topic of that name".into(),
                    },
                    [one] => found(
                        Answer::Topic {
                            thread_id: one.0,
                            name: one.1.clone(),
                            icon_color: Some(one.2),
                        },
                        format!("messages.getForumTopics lists topic {} of that name", one.0),
                    ),
                    _ => Evidence::Unknown,
                }
            }
            Op::CreateInviteLink { link, .. } => match self.my_link_named(chat, &link.name).await {
                Ok(Some(seen)) => found(
                    Answer::InviteLink {
                        url: seen.url,
                        name: seen.name,
                        expires: seen.expires,
                        member_limit: seen.member_limit,
                        join_request: seen.join_request,
                    },
                    "messages.getExportedChatInvites lists the account's link of that name".into(),
                ),
                Ok(None) => Evidence::NotDone {
                    by: "messages.getExportedChatInvites lists no link of that name".into(),
                },
                Err(_) => Evidence::Unknown,
            },
            Op::SendInvite { name, expires, .. } | Op::AddMember { name, expires, .. } => {
                let name: String = name.chars().take(LINK_NAME_MAX).collect();
                match self.my_link_named(chat, &name).await {
                    Ok(Some(seen)) => found(
                        Answer::PersonalInvite {
                            url: seen.url,
                            expires: seen.expires.unwrap_or(*expires),
                            delivered: false,
                            not_delivered_because: Some(
                                "the answer was lost: whether the direct message arrived is unknown"
                                    .into(),
                            ),
                        },
                        "messages.getExportedChatInvites lists the personal link".into(),
                    ),
                    Ok(None) => Evidence::NotDone {
                        by: "messages.getExportedChatInvites lists no personal link of that name"
                            .into(),
                    },
                    Err(_) => Evidence::Unknown,
                }
            }
            // A new photo id on the chat: it was set.
            Op::SetPhoto { .. } => {
                let Ok(full) = self.full_chat(chat).await else {
                    return Evidence::Unknown;
                };
                let was = match before {
                    Observed::Chat { photo, .. } => photo.clone(),
                    _ => return Evidence::Unknown,
                };
                let now = full.photo.map(|p| p.to_string());
                if now.is_some() && now != was {
                    found(
                        Answer::Photo {
                            file_unique_id: now,
                        },
                        "channels.getFullChannel shows a new chat photo".into(),
                    )
                } else {
                    Evidence::NotDone {
                        by: "channels.getFullChannel still shows the photo from before the call"
                            .into(),
                    }
                }
            }
            Op::Pin { text, .. } => {
                let (Ok(full), Ok(me)) = (self.full_chat(chat).await, self.me().await) else {
                    return Evidence::Unknown;
                };
                match self.pinned(chat, &full, me.id).await {
                    Ok(Some(pin)) if pin.by_bot && pin.text == *text => found(
                        Answer::Pinned {
                            message_id: pin.message_id.unwrap_or_default(),
                            text: text.clone(),
                            posted: true,
                        },
                        "the account's message with this text is pinned on top".into(),
                    ),
                    // Not pinned; but a message may have been posted:
                    // a person must look.
                    _ => Evidence::Unknown,
                }
            }
            _ => Evidence::Unknown,
        }
    }

    async fn my_link_named(
        &self,
        chat: ChatId,
        name: &str,
    ) -> Result<Option<super::provider::InviteLinkSeen>, MtprotoError> {
        let me = self.me().await?;
        let links = self.invite_links(chat, (me.id, me.access_hash)).await?;
        Ok(links.into_iter().find(|l| l.name == name))
    }
}

fn send_message(
    peer: tl::enums::InputPeer,
    text: &str,
    random_id: i64,
    silent: bool,
) -> tl::functions::messages::SendMessage {
    tl::functions::messages::SendMessage {
        no_webpage: true,
        silent,
        background: false,
        clear_draft: false,
        noforwards: false,
        update_stickersets_order: false,
        invert_media: false,
        allow_paid_floodskip: false,
        peer,
        reply_to: None,
        message: text.to_string(),
        random_id,
        reply_markup: None,
        entities: None,
        schedule_date: None,
        schedule_repeat_period: None,
        send_as: None,
        quick_reply_shortcut: None,
        effect: None,
        allow_paid_stars: None,
        suggested_post: None,
        rich_message: None,
    }
}

/// A seat as a before-state.
pub fn snapshot(seat: &Seat, kind: ChatType) -> MemberSnapshot {
    match seat {
        Seat::Owner { title } => MemberSnapshot::Owner {
            title: title.clone(),
        },
        Seat::Admin {
            rights,
            title,
            can_edit,
        } => MemberSnapshot::Admin {
            rights: admin_seat(seat, kind).map_or_else(|| rights.clone(), |s| s.rights),
            title: title.clone(),
            can_be_edited: *can_edit,
        },
        Seat::Member { .. } => MemberSnapshot::Member,
        Seat::Restricted {
            permissions, until, ..
        } => MemberSnapshot::Restricted {
            permissions: permissions.clone(),
            until: *until,
        },
        Seat::Absent => MemberSnapshot::Absent,
        Seat::Banned => MemberSnapshot::Banned,
    }
}

/// The routine half of an org without a bot, as an `apply::Provider`:
/// `apply::Split { bot: Routine(..), user: Some(..) }` runs a plan with
/// the signed-in person alone.
pub struct Routine(pub Arc<UserProvider>);

impl Provider for Routine {
    async fn execute(&self, change: &Change) -> Result<Executed, ProviderError> {
        self.0.run_routine(change).await.map_err(|e| {
            let e = match e.name() {
                Some(name) if name.starts_with("ORGFORM_PHOTO_REFUSED: ") => {
                    return ProviderError::refused(format!(
                        "{}: {}",
                        change.address,
                        &name["ORGFORM_PHOTO_REFUSED: ".len()..]
                    ));
                }
                Some("BOT_COMMANDS_NEED_A_BOT") => {
                    return ProviderError::refused(format!(
                        "{}: bot commands need a bot (org.telegram.provider: both)",
                        change.address
                    ));
                }
                _ => e,
            };
            provider_error(e)
        })
    }

    async fn observe_before(&self, change: &Change) -> Result<Observed, ProviderError> {
        self.0.observe_routine(change).await.map_err(provider_error)
    }

    async fn evidence(&self, change: &Change, before: &Observed) -> Evidence {
        self.0.routine_evidence(change, before).await
    }
}

/// The person-only half, shared with [`Routine`] over one connection.
impl Provider for Arc<UserProvider> {
    async fn execute(&self, change: &Change) -> Result<Executed, ProviderError> {
        self.as_ref().execute(change).await
    }

    async fn observe_before(&self, change: &Change) -> Result<Observed, ProviderError> {
        self.as_ref().observe_before(change).await
    }

    async fn evidence(&self, change: &Change, before: &Observed) -> Evidence {
        self.as_ref().evidence(change, before).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sent_message_is_found_by_its_random_id() {
        let updates = tl::enums::Updates::Updates(tl::types::Updates {
            updates: vec![
                tl::enums::Update::MessageId(tl::types::UpdateMessageId {
                    id: 7,
                    random_id: 1,
                }),
                tl::enums::Update::MessageId(tl::types::UpdateMessageId {
                    id: 9,
                    random_id: 2,
                }),
            ],
            users: vec![],
            chats: vec![],
            date: 0,
            seq: 0,
        });
        assert_eq!(sent_id(&updates, 2), Some(9));
        assert_eq!(sent_id(&updates, 1), Some(7));
    }
}
