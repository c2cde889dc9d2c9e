//! Carrying out a plan's changes through the Bot API: the [`Provider`]
//! trait the applier works against, and its Telegram implementation.
//!
//! For each change the provider can (1) observe the before-state of what
//! the change touches with one targeted read, (2) execute it, returning what
//! Telegram answered (thread ids, links), and (3) say which ops undo it, or
//! that nothing can. [`record`] folds an executed change into the store.
//!
//! Every `Op` maps to fixed calls: promotions send every right explicitly,
//! restrictions every permission with `use_independent_chat_permissions`,
//! a kick is a short ban plus `unbanChatMember(only_if_banned)`, a personal
//! invite is a one-use link sent by direct message. Manual ops are never
//! executed. "Not modified" answers are success.

use std::future::Future;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client::{ApiCall, Client, Repeat};
use super::error::{Class, Error, ErrorKind};
use super::read::{admin_seat, member_state, top_pin};
use super::wire::{
    self, BotCommandScope, ChatAdministratorRights, ChatFullInfo, ChatMember, ChatPermissions,
};
use crate::plan::{Action, Change, Op};
use crate::state::{
    ChatId, ChatType, Command, InviteLink, MemberState, Permission, Permissions, PinnedMessage,
    Rights, Topic, UserId,
};
use crate::store::{InviteLinkRecord, PhotoRecord, PinRecord, Store, TopicRecord};

/// How long a kick's ban lasts if the unban that follows never happens.
const KICK_BAN_SECONDS: i64 = 60;
/// Telegram's limit on invite link names.
const LINK_NAME_MAX: usize = 32;

/// What Telegram answered to an executed change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Answer {
    Done,
    /// A topic was created.
    Topic {
        thread_id: i64,
        name: String,
        icon_color: Option<u32>,
    },
    /// An invite link was created or edited.
    InviteLink {
        url: String,
        name: String,
        expires: Option<i64>,
        member_limit: Option<u32>,
        join_request: bool,
    },
    /// A chat photo was uploaded; Telegram's id for it, from getChat.
    Photo {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file_unique_id: Option<String>,
    },
    /// A message is pinned on top; `posted` when it was sent just now.
    Pinned {
        message_id: i64,
        text: String,
        posted: bool,
    },
    /// A personal invite link was created; `delivered` says whether the
    /// direct message reached the person.
    PersonalInvite {
        url: String,
        expires: i64,
        delivered: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        not_delivered_because: Option<String>,
    },
}

/// An executed change: the answer, the calls made, and anything worth saying.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Executed {
    pub answer: Answer,
    /// Telegram said there was nothing to change.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_modified: bool,
    /// Methods called, in order.
    pub calls: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Executed {
    fn done(calls: Vec<String>) -> Executed {
        Executed {
            answer: Answer::Done,
            not_modified: false,
            calls,
            notes: Vec::new(),
        }
    }
}

/// A person's status in a chat, as observed before a change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum MemberSnapshot {
    Owner {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
    },
    Admin {
        rights: Rights,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        can_be_edited: bool,
    },
    Member,
    Restricted {
        permissions: Permissions,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<i64>,
    },
    Absent,
    Banned,
    /// A status this build does not know.
    Unknown {
        status: String,
    },
}

/// The before-state of what a change touches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Observed {
    /// From getChat.
    Chat {
        title: String,
        description: String,
        permissions: Option<Permissions>,
        /// Telegram's id of the photo; `None` = no photo.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        photo: Option<String>,
        /// The top pinned message.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pinned: Option<PinnedMessage>,
    },
    /// From getChatMember.
    Member {
        user: UserId,
        member: MemberSnapshot,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tag: Option<String>,
    },
    /// From getMyCommands with the chat's scope.
    Commands { commands: Vec<Command> },
    /// The Bot API cannot read topics or links: what the plan recorded as
    /// the change's `before`.
    Recorded { value: Value },
    /// Nothing exists before (a creation) or nothing is touched (manual).
    Nothing,
}

/// What undoes a change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Inverse {
    /// Run these, in order; empty when there is nothing to undo.
    Ops { ops: Vec<Op> },
    /// Nothing orgform can do undoes it.
    Irreversible { reason: String },
}

impl Inverse {
    /// The inverse ops as changes at the original's address, ready for
    /// the applier to execute.
    pub fn changes(&self, original: &Change) -> Vec<Change> {
        let Inverse::Ops { ops } = self else {
            return Vec::new();
        };
        ops.iter()
            .map(|op| Change {
                action: action_of(op),
                op: op.clone(),
                before: original.after.clone(),
                after: original.before.clone(),
                why: vec![format!(
                    "undo {} {}",
                    original.action.symbol(),
                    original.address
                )],
                reversible: op.reversible(),
                undeclared: false,
                ..original.clone()
            })
            .collect()
    }
}

fn action_of(op: &Op) -> Action {
    match op {
        Op::CreateTopic { .. } | Op::CreateInviteLink { .. } => Action::Create,
        Op::DeleteTopic { .. }
        | Op::RevokeInviteLink { .. }
        | Op::Ban { .. }
        | Op::Kick { .. }
        | Op::DeleteCommands
        | Op::DeletePhoto
        | Op::Unpin { .. } => Action::Delete,
        Op::Promote { rights, .. } if rights.is_empty() => Action::Delete,
        Op::SendInvite { .. } => Action::Invite,
        Op::Manual { .. } => Action::Manual,
        _ => Action::Update,
    }
}

/// What the applier runs changes through: Telegram, or an in-memory fake.
pub trait Provider: Send + Sync {
    /// Carry out one change.
    fn execute(&self, change: &Change) -> impl Future<Output = Result<Executed, Error>> + Send;

    /// Read the current state of what `change` touches (one targeted call
    /// at most).
    fn observe_before(
        &self,
        change: &Change,
    ) -> impl Future<Output = Result<Observed, Error>> + Send;

    /// What undoes `change`, given what was there before and what it did.
    fn inverse(&self, change: &Change, before: &Observed, done: &Executed) -> Inverse {
        inverse(change, before, done)
    }

    /// Whether `change`, whose answer was lost, happened: what Telegram
    /// shows now (see `telegram::evidence`). Unknown unless a provider can
    /// tell.
    fn evidence(
        &self,
        change: &Change,
        before: &Observed,
    ) -> impl Future<Output = Evidence> + Send {
        let _ = (change, before);
        async { Evidence::Unknown }
    }
}

/// What a provider found out about a change whose answer was lost.
#[derive(Clone, Debug, PartialEq)]
pub enum Evidence {
    /// It happened; this is what it did.
    Done { executed: Executed, by: String },
    /// It did not happen.
    NotDone { by: String },
    /// Nothing shows either way: a person must look.
    Unknown,
}

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
                let before_color = change
                    .before
                    .get("icon_color")
                    .and_then(Value::as_u64)
                    .map(|c| c as u32);
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
        let actual = crate::model::photo::sha256_hex(&bytes);
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
                    value: change.before.clone(),
                });
            }
            Op::CreateTopic { .. } | Op::CreateInviteLink { .. } | Op::Manual { .. } => {
                return Ok(Observed::Nothing);
            }
            Op::Promote { user, .. }
            | Op::SetAdminTitle { user, .. }
            | Op::SetTag { user, .. }
            | Op::Restrict { user, .. }
            | Op::Unrestrict { user }
            | Op::Ban { user }
            | Op::Unban { user }
            | Op::Kick { user }
            | Op::SendInvite { user, .. } => *user,
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
    async fn execute(&self, change: &Change) -> Result<Executed, Error> {
        if let Op::Manual { .. } = change.op {
            return self.run(change).await;
        }
        let _turn = self.client.chat_turn(change.chat_id).await;
        self.run(change).await
    }

    async fn observe_before(&self, change: &Change) -> Result<Observed, Error> {
        self.observe(change).await
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

/// What undoes `change`, given the before-state and what it did.
pub fn inverse(change: &Change, before: &Observed, done: &Executed) -> Inverse {
    let ops = |ops: Vec<Op>| Inverse::Ops { ops };
    let never = |reason: &str| Inverse::Irreversible {
        reason: reason.to_string(),
    };
    let unobserved = || never("its before-state was not observed");
    let member = match before {
        Observed::Member { member, .. } => Some(member),
        _ => None,
    };
    match &change.op {
        Op::SetTitle { .. } => match before {
            Observed::Chat { title, .. } => ops(vec![Op::SetTitle {
                title: title.clone(),
            }]),
            _ => unobserved(),
        },
        Op::SetDescription { .. } => match before {
            Observed::Chat { description, .. } => ops(vec![Op::SetDescription {
                description: description.clone(),
            }]),
            _ => unobserved(),
        },
        Op::SetPermissions { .. } => match before {
            Observed::Chat {
                permissions: Some(p),
                ..
            } => ops(vec![Op::SetPermissions {
                permissions: p.clone(),
            }]),
            _ => unobserved(),
        },
        Op::SetPhoto { .. } => match before {
            Observed::Chat { photo: None, .. } => ops(vec![Op::DeletePhoto]),
            Observed::Chat { photo: Some(_), .. } => never(
                "the Bot API cannot upload the previous photo again (Telegram keeps it in the chat's photo list)",
            ),
            _ => unobserved(),
        },
        Op::DeletePhoto => never("a deleted photo cannot be uploaded again through the Bot API"),
        Op::Pin { .. } => match (before, &done.answer) {
            // The same message was on top with other text: edit it back.
            (
                Observed::Chat {
                    pinned: Some(old), ..
                },
                Answer::Pinned { message_id, .. },
            ) if old.message_id == Some(*message_id) => ops(vec![Op::Pin {
                text: old.text.clone(),
                message_id: Some(*message_id),
                notify: false,
            }]),
            // Unpinning the new top pin shows the one below it again.
            (Observed::Chat { .. }, Answer::Pinned { message_id, .. }) => ops(vec![Op::Unpin {
                message_id: *message_id,
            }]),
            (Observed::Chat { .. }, _) => never("Telegram did not answer with the pinned message"),
            _ => unobserved(),
        },
        Op::Unpin { message_id } => match before {
            Observed::Chat {
                pinned: Some(old), ..
            } if old.message_id == Some(*message_id) => ops(vec![Op::Pin {
                text: old.text.clone(),
                message_id: Some(*message_id),
                notify: false,
            }]),
            Observed::Chat { .. } => ops(vec![]),
            _ => unobserved(),
        },
        Op::SetTag { user, .. } => match before {
            Observed::Member {
                tag,
                member: MemberSnapshot::Member | MemberSnapshot::Restricted { .. },
                ..
            } => ops(vec![Op::SetTag {
                user: *user,
                tag: tag.clone().unwrap_or_default(),
            }]),
            Observed::Member { .. } => ops(vec![]),
            _ => unobserved(),
        },
        Op::CreateTopic { key, .. } => match &done.answer {
            Answer::Topic { thread_id, .. } => ops(vec![Op::DeleteTopic {
                key: key.clone(),
                thread_id: *thread_id,
            }]),
            _ => never("Telegram did not answer with the new topic's id"),
        },
        Op::EditTopic { key, thread_id, .. } => match before {
            Observed::Recorded { value } => match serde_json::from_value::<Topic>(value.clone()) {
                Ok(old) => ops(vec![Op::EditTopic {
                    key: key.clone(),
                    thread_id: *thread_id,
                    name: old.name,
                    icon_color: old.icon_color,
                }]),
                Err(_) => never("the plan did not record the topic's previous name"),
            },
            _ => unobserved(),
        },
        Op::CloseTopic { key, thread_id } => ops(vec![Op::ReopenTopic {
            key: key.clone(),
            thread_id: *thread_id,
        }]),
        Op::ReopenTopic { key, thread_id } => ops(vec![Op::CloseTopic {
            key: key.clone(),
            thread_id: *thread_id,
        }]),
        Op::DeleteTopic { .. } => never("deleting a topic deletes its messages"),
        Op::CreateInviteLink { key, .. } => match &done.answer {
            Answer::InviteLink { url, .. } => ops(vec![Op::RevokeInviteLink {
                key: key.clone(),
                url: url.clone(),
            }]),
            _ => never("Telegram did not answer with the new link"),
        },
        Op::EditInviteLink { key, url, .. } => match before {
            Observed::Recorded { value } => {
                match serde_json::from_value::<InviteLink>(value.clone()) {
                    Ok(old) => ops(vec![Op::EditInviteLink {
                        key: key.clone(),
                        url: url.clone(),
                        link: old,
                    }]),
                    Err(_) => never("the plan did not record the link's previous settings"),
                }
            }
            _ => unobserved(),
        },
        Op::RevokeInviteLink { .. } => never("a revoked invite link cannot be restored"),
        Op::Promote { user, .. } => match member {
            Some(MemberSnapshot::Admin { rights, title, .. }) => {
                let mut undo = vec![Op::Promote {
                    user: *user,
                    rights: rights.clone(),
                }];
                if let Some(title) = title {
                    undo.push(Op::SetAdminTitle {
                        user: *user,
                        title: title.clone(),
                    });
                }
                ops(undo)
            }
            Some(MemberSnapshot::Restricted { permissions, until }) => ops(vec![
                Op::Promote {
                    user: *user,
                    rights: Rights::new(),
                },
                Op::Restrict {
                    user: *user,
                    permissions: permissions.clone(),
                    until: *until,
                },
            ]),
            Some(MemberSnapshot::Owner { .. }) => ops(vec![]),
            Some(_) => ops(vec![Op::Promote {
                user: *user,
                rights: Rights::new(),
            }]),
            None => unobserved(),
        },
        Op::SetAdminTitle { user, .. } => match member {
            Some(MemberSnapshot::Admin { title, .. }) => ops(vec![Op::SetAdminTitle {
                user: *user,
                title: title.clone().unwrap_or_default(),
            }]),
            Some(_) => ops(vec![]),
            None => unobserved(),
        },
        Op::Restrict { user, .. } => match member {
            Some(MemberSnapshot::Restricted { permissions, until }) => ops(vec![Op::Restrict {
                user: *user,
                permissions: permissions.clone(),
                until: *until,
            }]),
            Some(MemberSnapshot::Banned) => ops(vec![Op::Ban { user: *user }]),
            Some(MemberSnapshot::Member | MemberSnapshot::Absent) => {
                ops(vec![Op::Unrestrict { user: *user }])
            }
            Some(_) => ops(vec![]),
            None => unobserved(),
        },
        Op::Unrestrict { user } => match member {
            Some(MemberSnapshot::Restricted { permissions, until }) => ops(vec![Op::Restrict {
                user: *user,
                permissions: permissions.clone(),
                until: *until,
            }]),
            Some(_) => ops(vec![]),
            None => unobserved(),
        },
        Op::Ban { .. } => never(
            "a ban removes the person and, in supergroups and channels, deletes their messages",
        ),
        Op::Kick { .. } => never(
            "the person was removed and the bot cannot add people back (a new invite link can)",
        ),
        Op::Unban { user } => match member {
            Some(MemberSnapshot::Banned) => ops(vec![Op::Ban { user: *user }]),
            Some(_) => ops(vec![]),
            None => unobserved(),
        },
        Op::SendInvite { user, .. } => match &done.answer {
            // The message cannot be unsent; revoking the link withdraws the invitation.
            Answer::PersonalInvite { url, .. } => ops(vec![Op::RevokeInviteLink {
                key: personal_invite_key(*user),
                url: url.clone(),
            }]),
            _ => never("Telegram did not answer with the personal link"),
        },
        Op::SetCommands { .. } => match before {
            Observed::Commands { commands } if commands.is_empty() => ops(vec![Op::DeleteCommands]),
            Observed::Commands { commands } => ops(vec![Op::SetCommands {
                commands: commands.clone(),
            }]),
            _ => unobserved(),
        },
        Op::DeleteCommands => match before {
            Observed::Commands { commands } if commands.is_empty() => ops(vec![]),
            Observed::Commands { commands } => ops(vec![Op::SetCommands {
                commands: commands.clone(),
            }]),
            _ => unobserved(),
        },
        Op::Manual { .. } => never("manual steps are not executed by orgform"),
    }
}

/// The key a personal invite link is revoked under (the store keeps
/// personal links by user id, not by config key).
pub fn personal_invite_key(user: UserId) -> String {
    format!("personal.{user}")
}

/// Fold an executed change into the store: topic ids and links it created,
/// the statuses it set, whether the chat's commands are orgform's. `before`
/// (when observed) tells apart members from people who are not in the chat.
pub fn record(
    store: &mut Store,
    change: &Change,
    before: Option<&Observed>,
    done: &Executed,
    now: i64,
) {
    let chat = change.chat_id;
    let was_absent = matches!(
        before,
        Some(Observed::Member {
            member: MemberSnapshot::Absent | MemberSnapshot::Banned,
            ..
        })
    );
    let present_or_absent = |present: MemberState| {
        if was_absent {
            MemberState::Absent
        } else {
            present
        }
    };
    match (&change.op, &done.answer) {
        (
            Op::CreateTopic { key, topic },
            Answer::Topic {
                thread_id,
                name,
                icon_color,
            },
        ) => {
            let record = TopicRecord {
                thread_id: *thread_id,
                name: name.clone(),
                icon_color: *icon_color,
                closed: topic.closed,
            };
            store.chat_mut(chat).topics.insert(key.clone(), record);
        }
        (Op::EditTopic { key, name, .. }, _) => {
            if let Some(t) = store.chat_mut(chat).topics.get_mut(key) {
                t.name = name.clone();
            }
        }
        (Op::CloseTopic { key, .. }, _) | (Op::ReopenTopic { key, .. }, _) => {
            let closed = matches!(change.op, Op::CloseTopic { .. });
            if let Some(t) = store.chat_mut(chat).topics.get_mut(key) {
                t.closed = closed;
            }
        }
        (Op::DeleteTopic { key, thread_id }, _) => {
            store
                .chat_mut(chat)
                .topics
                .retain(|k, t| k != key && t.thread_id != *thread_id);
        }
        (
            Op::CreateInviteLink { key, .. } | Op::EditInviteLink { key, .. },
            Answer::InviteLink {
                url,
                name,
                expires,
                member_limit,
                join_request,
            },
        ) => {
            let record = InviteLinkRecord {
                url: url.clone(),
                name: name.clone(),
                expires: *expires,
                member_limit: *member_limit,
                join_request: *join_request,
                revoked: false,
            };
            store
                .chat_mut(chat)
                .invite_links
                .insert(key.clone(), record);
        }
        (Op::RevokeInviteLink { url, .. }, _) => {
            let memory = store.chat_mut(chat);
            for link in memory
                .invite_links
                .values_mut()
                .chain(memory.personal_invites.values_mut())
            {
                if link.url == *url {
                    link.revoked = true;
                }
            }
        }
        (Op::SendInvite { user, name, .. }, Answer::PersonalInvite { url, expires, .. }) => {
            let record = InviteLinkRecord {
                url: url.clone(),
                name: name.chars().take(LINK_NAME_MAX).collect(),
                expires: Some(*expires),
                member_limit: Some(1),
                join_request: false,
                revoked: false,
            };
            store.chat_mut(chat).personal_invites.insert(*user, record);
        }
        (Op::Promote { user, .. }, _) => store.see_member(
            chat,
            *user,
            present_or_absent(MemberState::Member),
            now,
            "apply",
        ),
        (
            Op::Restrict {
                user,
                permissions,
                until,
            },
            _,
        ) => {
            let status = present_or_absent(MemberState::Restricted {
                permissions: permissions.clone(),
                until: *until,
            });
            store.see_member(chat, *user, status, now, "apply");
        }
        (Op::Unrestrict { user }, _) => store.see_member(
            chat,
            *user,
            present_or_absent(MemberState::Member),
            now,
            "apply",
        ),
        (Op::Ban { user }, _) => store.see_member(chat, *user, MemberState::Banned, now, "apply"),
        (Op::Kick { user }, _) => store.see_member(chat, *user, MemberState::Absent, now, "apply"),
        (Op::Unban { user }, _) => {
            // only_if_banned leaves someone who was not banned as they were.
            let was_banned = matches!(
                before,
                None | Some(Observed::Member {
                    member: MemberSnapshot::Banned,
                    ..
                })
            );
            if was_banned {
                store.see_member(chat, *user, MemberState::Absent, now, "apply");
            }
        }
        (
            Op::SetPhoto { sha256, .. },
            Answer::Photo {
                file_unique_id: Some(id),
            },
        ) => {
            store.chat_mut(chat).photo = Some(PhotoRecord {
                sha256: sha256.clone(),
                file_unique_id: id.clone(),
            });
        }
        (Op::DeletePhoto, _) => store.chat_mut(chat).photo = None,
        (
            Op::Pin { .. },
            Answer::Pinned {
                message_id, text, ..
            },
        ) => {
            store.chat_mut(chat).pinned = Some(PinRecord {
                message_id: *message_id,
                text: text.clone(),
            });
        }
        (Op::Unpin { message_id }, _) => {
            let memory = store.chat_mut(chat);
            if memory
                .pinned
                .as_ref()
                .is_some_and(|p| p.message_id == *message_id)
            {
                memory.pinned = None;
            }
        }
        (Op::SetTag { user, tag }, _) => {
            store.see_tag(chat, *user, Some(tag.clone()), now, "apply")
        }
        (Op::SetCommands { commands }, _) => {
            let memory = store.chat_mut(chat);
            memory.commands_set = true;
            memory.commands = Some(commands.clone());
        }
        (Op::DeleteCommands, _) => {
            let memory = store.chat_mut(chat);
            memory.commands_set = false;
            memory.commands = Some(Vec::new());
        }
        _ => {}
    }
}
