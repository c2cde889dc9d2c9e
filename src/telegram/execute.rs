//! Carrying out a plan's changes through the Bot API: the Telegram
//! implementation of `apply`'s [`Provider`] trait.
//!
//! For each change the provider can (1) observe the before-state of what
//! the change touches with one targeted read, (2) execute it, returning what
//! Telegram answered (thread ids, links), and (3) look for evidence of a
//! change whose answer was lost (`telegram::evidence`). What undoes a change
//! and how it is remembered are `apply`'s, the same for every provider.
//!
//! Every `Op` maps to fixed calls: promotions send every right explicitly,
//! restrictions every permission with `use_independent_chat_permissions`,
//! a kick is a short ban plus `unbanChatMember(only_if_banned)`, a personal
//! invite is a one-use link sent by direct message. Manual ops are never
//! executed. "Not modified" answers are success.

use serde_json::Value;

use super::client::{ApiCall, Client, Repeat};
use super::error::{Class, Error, ErrorKind};
use super::read::{admin_seat, member_state, top_pin};
use super::wire::{
    self, BotCommandScope, ChatAdministratorRights, ChatFullInfo, ChatMember, ChatPermissions,
};
use crate::apply::provider::{
    Answer, Evidence, Executed, LINK_NAME_MAX, MemberSnapshot, Observed, Provider, ProviderError,
};
use crate::plan::{Change, Op};
use crate::state::{ChatId, ChatType, Command, InviteLink, MemberState, Permission, Topic, UserId};

/// How long a kick's ban lasts if the unban that follows never happens.
const KICK_BAN_SECONDS: i64 = 60;

/// The provider that talks to the Bot API.
#[derive(Clone, Debug)]
pub struct TelegramProvider {
    client: Client,
}

impl TelegramProvider {
    pub fn new(client: Client) -> TelegramProvider {
        TelegramProvider { client }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// One call; "not modified" counts as done.
    async fn set(&self, call: ApiCall) -> Result<Executed, Error> {
        let calls = vec![call.method.to_string()];
        match self.client.call_value(&call).await {
            Ok(_) => Ok(Executed::done(calls)),
            Err(e) if e.is_not_modified() => Ok(Executed {
                not_modified: true,
                ..Executed::done(calls)
            }),
            Err(e) => Err(e),
        }
    }

    /// One call whose target may already be gone; a "not found" answer is
    /// then success with a note (deleting twice leaves the same result).
    async fn remove(
        &self,
        call: ApiCall,
        gone_markers: &[&str],
        note: &str,
    ) -> Result<Executed, Error> {
        match self.set(call).await {
            Err(e) if e.class() == Some(&Class::BadRequest) && error_text_has(&e, gone_markers) => {
                let mut done = Executed::done(vec![e.method.clone()]);
                done.notes.push(note.to_string());
                Ok(done)
            }
            other => other,
        }
    }

    async fn run(&self, change: &Change) -> Result<Executed, Error> {
        let chat = change.chat_id;
        let member_call = |method: &'static str, user: UserId| {
            ApiCall::new(method, Some(chat), Repeat::Safe).param("user_id", user)
        };
        match &change.op {
            Op::SetTitle { title } => {
                self.set(
                    ApiCall::new("setChatTitle", Some(chat), Repeat::Safe).param("title", title),
                )
                .await
            }
            Op::SetDescription { description } => {
                self.set(
                    ApiCall::new("setChatDescription", Some(chat), Repeat::Safe)
                        .param("description", description),
                )
                .await
            }
            Op::SetPermissions { permissions } => {
                let call = ApiCall::new("setChatPermissions", Some(chat), Repeat::Safe)
                    .param("permissions", ChatPermissions::exactly(permissions))
                    .param("use_independent_chat_permissions", true);
                self.set(call).await
            }
            Op::SetPhoto { path, sha256 } => self.set_photo(chat, path, sha256).await,
            Op::DeletePhoto => {
                self.set(ApiCall::new("deleteChatPhoto", Some(chat), Repeat::Safe))
                    .await
            }
            Op::Pin {
                text,
                message_id,
                notify,
            } => self.pin(chat, text, *message_id, *notify).await,
            Op::Unpin { message_id } => {
                let call = ApiCall::new("unpinChatMessage", Some(chat), Repeat::Safe)
                    .param("message_id", message_id);
                self.remove(
                    call,
                    &["message to unpin not found"],
                    "the message was already gone",
                )
                .await
            }
            Op::SetTag { user, tag } => {
                self.set(member_call("setChatMemberTag", *user).param("tag", tag))
                    .await
            }
            Op::CreateTopic { topic, .. } => self.create_topic(chat, topic).await,
            Op::EditTopic {
                thread_id,
                name,
                icon_color,
                ..
            } => {
                let call = ApiCall::new("editForumTopic", Some(chat), Repeat::Safe)
                    .param("message_thread_id", thread_id)
                    .param("name", name);
                let mut done = self.set(call).await?;
                let before_color = change.before.icon_color();
                if icon_color.is_some() && *icon_color != before_color {
                    done.notes.push("the Bot API cannot change a topic's icon colour after creation; it was left as is".into());
                }
                Ok(done)
            }
            Op::CloseTopic { thread_id, .. } => {
                self.set(
                    ApiCall::new("closeForumTopic", Some(chat), Repeat::Safe)
                        .param("message_thread_id", thread_id),
                )
                .await
            }
            Op::ReopenTopic { thread_id, .. } => {
                self.set(
                    ApiCall::new("reopenForumTopic", Some(chat), Repeat::Safe)
                        .param("message_thread_id", thread_id),
                )
                .await
            }
            Op::DeleteTopic { thread_id, .. } => {
                let call = ApiCall::new("deleteForumTopic", Some(chat), Repeat::Safe)
                    .param("message_thread_id", thread_id);
                self.remove(
                    call,
                    &["TOPIC_ID_INVALID", "topic not found"],
                    "the topic was already gone",
                )
                .await
            }
            Op::CreateInviteLink { link, .. } => {
                let call = link_fields(
                    ApiCall::new("createChatInviteLink", Some(chat), Repeat::Unsafe),
                    link,
                );
                let answer: wire::ChatInviteLink = self.client.call(&call).await?;
                Ok(Executed {
                    answer: link_answer(&answer, link),
                    ..Executed::done(vec![call.method.into()])
                })
            }
            Op::EditInviteLink { url, link, .. } => {
                let call = link_fields(
                    ApiCall::new("editChatInviteLink", Some(chat), Repeat::Safe)
                        .param("invite_link", url),
                    link,
                );
                let answer: wire::ChatInviteLink = self.client.call(&call).await?;
                Ok(Executed {
                    answer: link_answer(&answer, link),
                    ..Executed::done(vec![call.method.into()])
                })
            }
            Op::RevokeInviteLink { url, .. } => {
                let call = ApiCall::new("revokeChatInviteLink", Some(chat), Repeat::Safe)
                    .param("invite_link", url);
                self.remove(
                    call,
                    &["INVITE_HASH_EXPIRED", "INVITE_HASH_INVALID"],
                    "the link was already revoked",
                )
                .await
            }
            Op::Promote { user, rights } => {
                let call = member_call("promoteChatMember", *user)
                    .params_from(ChatAdministratorRights::exactly(rights));
                self.set(call).await
            }
            // Telegram demotes by a promotion with every right off.
            Op::Demote { user } => {
                let call = member_call("promoteChatMember", *user)
                    .params_from(ChatAdministratorRights::exactly(&crate::state::Rights::new()));
                self.set(call).await
            }
            Op::SetAdminTitle { user, title } => {
                self.set(
                    member_call("setChatAdministratorCustomTitle", *user)
                        .param("custom_title", title),
                )
                .await
            }
            Op::Restrict {
                user,
                permissions,
                until,
            } => {
                let call = member_call("restrictChatMember", *user)
                    .param("permissions", ChatPermissions::exactly(permissions))
                    .param("use_independent_chat_permissions", true)
                    .param("until_date", until.unwrap_or(0));
                self.set(call).await
            }
            Op::Unrestrict { user } => {
                // Every permission allowed lifts the restriction.
                let call = member_call("restrictChatMember", *user)
                    .param("permissions", ChatPermissions::exactly(&Permission::all()))
                    .param("use_independent_chat_permissions", true);
                self.set(call).await
            }
            Op::Ban { user } => {
                self.set(member_call("banChatMember", *user).param("until_date", 0))
                    .await
            }
            Op::Unban { user } => {
                self.set(member_call("unbanChatMember", *user).param("only_if_banned", true))
                    .await
            }
            Op::Kick { user } if change.chat_type == ChatType::Group => {
                // In a basic group banChatMember only removes the member
                // (TDLib's delete_chat_participant: the user is `left`, no
                // ban remains) and unbanChatMember is not available there.
                let ban = self.set(member_call("banChatMember", *user)).await?;
                Ok(Executed::done(ban.calls))
            }
            Op::Kick { user } => {
                // A short ban, so that a crash before the unban does not leave a lasting one.
                let until = jiff::Timestamp::now().as_second() + KICK_BAN_SECONDS;
                let ban = self
                    .set(member_call("banChatMember", *user).param("until_date", until))
                    .await?;
                let unban = self
                    .set(member_call("unbanChatMember", *user).param("only_if_banned", true))
                    .await?;
                Ok(Executed::done([ban.calls, unban.calls].concat()))
            }
            Op::SendInvite {
                user,
                name,
                expires,
            } => self.send_invite(change, *user, name, *expires).await,
            // A bot cannot add people: what it does for an addition the
            // person could not make is the personal link.
            Op::AddMember {
                user,
                name,
                expires,
                ..
            } => self.send_invite(change, *user, name, *expires).await,
            Op::SetCommands { .. } | Op::DeleteCommands
                if change.chat_type == ChatType::Channel =>
            {
                // The Bot API refuses command scopes for channels ("can't
                // change commands in channel chats",
                // td BotCommandScope::get_bot_command_scope).
                Err(Error::new(
                    if matches!(change.op, Op::DeleteCommands) {
                        "deleteMyCommands"
                    } else {
                        "setMyCommands"
                    },
                    Some(chat),
                    ErrorKind::NotExecutable {
                        reason: "Telegram has no bot commands in channels; remove `commands` from this channel".into(),
                    },
                ))
            }
            Op::SetCommands { commands } => {
                let list: Vec<wire::BotCommand> = commands
                    .iter()
                    .map(|c| wire::BotCommand {
                        command: c.command.clone(),
                        description: c.description.clone(),
                        extra: Default::default(),
                    })
                    .collect();
                let call = ApiCall::new("setMyCommands", Some(chat), Repeat::Safe)
                    .param("commands", list)
                    .param("scope", BotCommandScope::Chat { chat_id: chat });
                self.set(without_chat_id(call)).await
            }
            Op::DeleteCommands => {
                let call = ApiCall::new("deleteMyCommands", Some(chat), Repeat::Safe)
                    .param("scope", BotCommandScope::Chat { chat_id: chat });
                self.set(without_chat_id(call)).await
            }
            Op::CreateFolder { .. } | Op::EditFolder { .. } | Op::DeleteFolder { .. } => {
                Err(Error::new(
                    "(user provider)",
                    None,
                    ErrorKind::NotExecutable {
                        reason: "a bot cannot keep chat folders; the user provider does (org.telegram.provider: both)".into(),
                    },
                ))
            }
            Op::CreateChat { .. } => Err(Error::new(
                "(user provider)",
                None,
                ErrorKind::NotExecutable {
                    reason: "a bot cannot create chats; the user provider does (org.telegram.provider: both)".into(),
                },
            )),
            Op::SetPersonSetting { setting } => Err(Error::new(
                "(user provider)",
                Some(chat),
                ErrorKind::NotExecutable {
                    reason: format!(
                        "only a signed-in person can set {}; the bot cannot (org.telegram.provider: both)",
                        setting.field()
                    ),
                },
            )),
            Op::Manual { instruction } => Err(Error::new(
                "(manual)",
                Some(chat),
                ErrorKind::NotExecutable {
                    reason: format!(
                        "a person must do this; orgform never executes it: {instruction}"
                    ),
                },
            )),
        }
    }

    async fn create_topic(&self, chat: ChatId, topic: &Topic) -> Result<Executed, Error> {
        let mut call =
            ApiCall::new("createForumTopic", Some(chat), Repeat::Unsafe).param("name", &topic.name);
        if let Some(color) = topic.icon_color {
            call = call.param("icon_color", color);
        }
        let created: wire::ForumTopic = self.client.call(&call).await?;
        let mut calls = vec![call.method.to_string()];
        if topic.closed {
            let close = ApiCall::new("closeForumTopic", Some(chat), Repeat::Safe)
                .param("message_thread_id", created.message_thread_id);
            calls.extend(self.set(close).await?.calls);
        }
        let icon_color = u32::try_from(created.icon_color).ok();
        Ok(Executed {
            answer: Answer::Topic {
                thread_id: created.message_thread_id,
                name: created.name,
                icon_color,
            },
            ..Executed::done(calls)
        })
    }

    /// Upload the photo file, refusing one whose content is no longer what
    /// the plan showed; then read back Telegram's id for it.
    async fn set_photo(&self, chat: ChatId, path: &str, sha256: &str) -> Result<Executed, Error> {
        let refuse = |reason: String| {
            Error::new(
                "setChatPhoto",
                Some(chat),
                ErrorKind::NotExecutable { reason },
            )
        };
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
        let name = std::path::Path::new(path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "photo".into());
        let upload =
            ApiCall::new("setChatPhoto", Some(chat), Repeat::Safe).upload("photo", &name, bytes);
        let mut done = self.set(upload).await?;
        let info: ChatFullInfo = self
            .client
            .call(&ApiCall::read("getChat", Some(chat)))
            .await?;
        done.calls.push("getChat".into());
        done.answer = Answer::Photo {
            file_unique_id: info.photo.map(|p| p.big_file_unique_id),
        };
        Ok(done)
    }

    /// Edit the bot's earlier pin and pin it again, or post a new message
    /// and pin that when there is none (or it was deleted).
    async fn pin(
        &self,
        chat: ChatId,
        text: &str,
        reuse: Option<i64>,
        notify: bool,
    ) -> Result<Executed, Error> {
        let mut calls = Vec::new();
        let mut notes = Vec::new();
        let mut kept = None;
        if let Some(id) = reuse {
            let edit = ApiCall::new("editMessageText", Some(chat), Repeat::Safe)
                .param("message_id", id)
                .param("text", text);
            calls.push(edit.method.to_string());
            match self.client.call_value(&edit).await {
                Ok(_) => kept = Some(id),
                Err(e) if e.is_not_modified() => kept = Some(id),
                Err(e)
                    if e.class() == Some(&Class::BadRequest)
                        && error_text_has(
                            &e,
                            &[
                                "message to edit not found",
                                "message can't be edited",
                                "MESSAGE_ID_INVALID",
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
                // Posted silently: whether members hear of it is the pin's choice.
                let send = ApiCall::new("sendMessage", Some(chat), Repeat::Unsafe)
                    .param("text", text)
                    .param("disable_notification", true);
                calls.push(send.method.to_string());
                let message: wire::Message = self.client.call(&send).await?;
                message.message_id
            }
        };
        let pin = ApiCall::new("pinChatMessage", Some(chat), Repeat::Safe)
            .param("message_id", message_id)
            .param("disable_notification", !notify);
        calls.extend(self.set(pin).await?.calls);
        Ok(Executed {
            answer: Answer::Pinned {
                message_id,
                text: text.to_string(),
                posted,
            },
            not_modified: false,
            calls,
            notes,
        })
    }

    async fn send_invite(
        &self,
        change: &Change,
        user: UserId,
        name: &str,
        expires: i64,
    ) -> Result<Executed, Error> {
        let chat = change.chat_id;
        let name: String = name.chars().take(LINK_NAME_MAX).collect();
        // Safe to repeat: if an attempt created a link whose answer was lost,
        // that link was never sent to anyone, works once and expires with
        // the others; a second link is the only way to get a URL to send.
        let create = ApiCall::new("createChatInviteLink", Some(chat), Repeat::Safe)
            .param("name", &name)
            .param("expire_date", expires)
            .param("member_limit", 1);
        let link: wire::ChatInviteLink = self.client.call(&create).await?;
        let until = crate::state::time::minute_text(expires);
        let text = format!(
            "You are invited to the Telegram chat \u{201c}{}\u{201d}. Join with your personal link; it works once and expires {until}:\n{}",
            change.chat, link.invite_link
        );
        let send = ApiCall::new("sendMessage", Some(user), Repeat::Unsafe).param("text", text);
        let (delivered, reason) = match self.client.call_value(&send).await {
            Ok(_) => (true, None),
            // Not started the bot, blocked it, or gone: the link is still in the plan output.
            Err(e) => (false, Some(e.to_string())),
        };
        // An invite nobody received is worth telling: the summary names it
        // with the link a person can hand over.
        let notes = match &reason {
            Some(why) => vec![format!(
                "invite not delivered ({why}); hand them {} or ask them to start the bot (`orgform watch` then sends it)",
                link.invite_link
            )],
            None => vec![],
        };
        Ok(Executed {
            answer: Answer::PersonalInvite {
                url: link.invite_link,
                expires,
                delivered,
                not_delivered_because: reason,
            },
            notes,
            ..Executed::done(vec![create.method.into(), send.method.into()])
        })
    }

    async fn observe(&self, change: &Change) -> Result<Observed, Error> {
        let chat = change.chat_id;
        let user = match &change.op {
            Op::SetTitle { .. }
            | Op::SetDescription { .. }
            | Op::SetPermissions { .. }
            | Op::SetPhoto { .. }
            | Op::DeletePhoto
            | Op::Pin { .. }
            | Op::Unpin { .. } => {
                let info: ChatFullInfo = self
                    .client
                    .call(&ApiCall::read("getChat", Some(chat)))
                    .await?;
                let permissions = (change.chat_type != ChatType::Channel).then(|| {
                    info.permissions
                        .as_ref()
                        .map(ChatPermissions::to_set)
                        .unwrap_or_default()
                });
                let pinned = top_pin(&info, |u| u.is_bot);
                return Ok(Observed::Chat {
                    title: info.title.unwrap_or_default(),
                    description: info.description.unwrap_or_default(),
                    permissions,
                    photo: info.photo.map(|p| p.big_file_unique_id),
                    pinned,
                });
            }
            Op::SetCommands { .. } | Op::DeleteCommands
                if change.chat_type == ChatType::Channel =>
            {
                // Nothing to read: channels have no bot commands.
                return Ok(Observed::Commands {
                    commands: Vec::new(),
                });
            }
            Op::SetCommands { .. } | Op::DeleteCommands => {
                let call = ApiCall::read("getMyCommands", None)
                    .param("scope", BotCommandScope::Chat { chat_id: chat });
                let list: Vec<wire::BotCommand> = self.client.call(&call).await?;
                let commands = list
                    .into_iter()
                    .map(|c| Command {
                        command: c.command,
                        description: c.description,
                    })
                    .collect();
                return Ok(Observed::Commands { commands });
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
            Op::CreateTopic { .. }
            | Op::CreateInviteLink { .. }
            | Op::Manual { .. }
            | Op::CreateChat { .. }
            | Op::CreateFolder { .. }
            | Op::EditFolder { .. }
            | Op::DeleteFolder { .. }
            | Op::SetPersonSetting { .. } => {
                return Ok(Observed::Nothing);
            }
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
        let call = ApiCall::read("getChatMember", Some(chat)).param("user_id", user);
        let (member, tag) = match self.client.call::<ChatMember>(&call).await {
            Ok(m) => (snapshot(&m, change.chat_type), m.tag()),
            Err(e)
                if e.class() == Some(&Class::BadRequest)
                    && error_text_has(&e, &["user not found", "member not found"]) =>
            {
                (MemberSnapshot::Absent, None)
            }
            Err(e) => return Err(e),
        };
        Ok(Observed::Member { user, member, tag })
    }
}

impl Provider for TelegramProvider {
    async fn execute(&self, change: &Change) -> Result<Executed, ProviderError> {
        if let Op::Manual { .. } = change.op {
            return Ok(self.run(change).await?);
        }
        let _turn = self.client.chat_turn(change.chat_id).await;
        Ok(self.run(change).await?)
    }

    async fn observe_before(&self, change: &Change) -> Result<Observed, ProviderError> {
        Ok(self.observe(change).await?)
    }

    async fn evidence(&self, change: &Change, before: &Observed) -> Evidence {
        self.find_evidence(change, before).await
    }
}

/// setMyCommands/deleteMyCommands take the chat in `scope`, not `chat_id`.
fn without_chat_id(mut call: ApiCall) -> ApiCall {
    call.params.remove("chat_id");
    call
}

fn error_text_has(e: &Error, markers: &[&str]) -> bool {
    match &e.kind {
        ErrorKind::Api(a) => {
            let text = a.description.to_ascii_lowercase();
            markers
                .iter()
                .any(|m| text.contains(&m.to_ascii_lowercase()))
        }
        _ => false,
    }
}

/// The optional link fields, as create and edit take them.
fn link_fields(mut call: ApiCall, link: &InviteLink) -> ApiCall {
    call = call.param(
        "name",
        link.name.chars().take(LINK_NAME_MAX).collect::<String>(),
    );
    if let Some(expires) = link.expires {
        call = call.param("expire_date", expires);
    }
    if let Some(limit) = link.member_limit {
        call = call.param("member_limit", limit);
    }
    if link.join_request {
        call = call.param("creates_join_request", true);
    }
    call
}

fn link_answer(answer: &wire::ChatInviteLink, asked: &InviteLink) -> Answer {
    Answer::InviteLink {
        url: answer.invite_link.clone(),
        name: answer.name.clone().unwrap_or_else(|| asked.name.clone()),
        expires: answer.expire_date,
        member_limit: answer.member_limit.and_then(|l| u32::try_from(l).ok()),
        join_request: answer.creates_join_request,
    }
}

/// A ChatMember as a before-state.
pub fn snapshot(member: &ChatMember, kind: ChatType) -> MemberSnapshot {
    match member {
        ChatMember::Owner(o) => MemberSnapshot::Owner {
            title: o.custom_title.clone(),
        },
        ChatMember::Administrator(a) => {
            let (seat, editable) = admin_seat(member, kind).expect("an administrator has a seat");
            MemberSnapshot::Admin {
                rights: seat.rights,
                title: a.custom_title.clone(),
                can_be_edited: editable,
            }
        }
        ChatMember::Other(v) => MemberSnapshot::Unknown {
            status: v
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or("unknown")
                .to_string(),
        },
        other => match member_state(other) {
            Some(MemberState::Member) => MemberSnapshot::Member,
            Some(MemberState::Restricted { permissions, until }) => {
                MemberSnapshot::Restricted { permissions, until }
            }
            Some(MemberState::Banned) => MemberSnapshot::Banned,
            _ => MemberSnapshot::Absent,
        },
    }
}
