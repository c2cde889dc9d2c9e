//! Finding out whether a change whose answer was lost happened (DESIGN §5,
//! Uncertain outcomes), with what the Bot API can show:
//!
//! - a chat photo: `getChat`'s photo id differs from the one seen before;
//! - a pin: `getChat`'s pinned message is the bot's, with the text;
//! - a forum topic: a `forum_topic_created` service message with its name
//!   (or a reply to one) among the pending updates, which gives the thread;
//! - an invite link (named or personal): its name on a `chat_member` or
//!   `chat_join_request` update, which gives the URL.
//!
//! Updates are only looked at, never confirmed: the call carries no offset,
//! so the next refresh still folds them into the ledger. Where there is no
//! evidence the answer is [`Evidence::Unknown`] and the caller asks the
//! operator; nothing is ever repeated on a guess.

use serde_json::Value;

use super::client::ApiCall;
use super::execute::TelegramProvider;
use super::read::top_pin;
use super::wire::ChatFullInfo;
use crate::apply::provider::{Answer, Evidence, Executed, Observed};
use crate::plan::{Change, Op};

impl TelegramProvider {
    pub(crate) async fn find_evidence(&self, change: &Change, before: &Observed) -> Evidence {
        let chat = change.chat_id;
        match &change.op {
            Op::SetPhoto { .. } => {
                let Ok(info) = self.chat_info(chat).await else {
                    return Evidence::Unknown;
                };
                let now = info.photo.map(|p| p.big_file_unique_id);
                let was = match before {
                    Observed::Chat { photo, .. } => photo.clone(),
                    _ => return Evidence::Unknown,
                };
                if now != was && now.is_some() {
                    Evidence::Done {
                        executed: executed(
                            Answer::Photo {
                                file_unique_id: now,
                            },
                            "getChat",
                        ),
                        by: "getChat shows a new chat photo".into(),
                    }
                } else {
                    Evidence::NotDone {
                        by: "getChat still shows the photo from before the call".into(),
                    }
                }
            }
            Op::Pin { text, .. } => {
                let Ok(info) = self.chat_info(chat).await else {
                    return Evidence::Unknown;
                };
                match top_pin(&info, |u| u.is_bot) {
                    Some(pin) if pin.by_bot && pin.text == *text => Evidence::Done {
                        executed: executed(
                            Answer::Pinned {
                                message_id: pin.message_id.unwrap_or_default(),
                                text: text.clone(),
                                posted: true,
                            },
                            "getChat",
                        ),
                        by: "getChat shows the bot's message pinned with this text".into(),
                    },
                    _ => Evidence::Unknown,
                }
            }
            Op::CreateTopic { topic, .. } => {
                let updates = self.peek_updates().await;
                for u in &updates {
                    let Some(message) = u.get("message") else {
                        continue;
                    };
                    if message.pointer("/chat/id").and_then(Value::as_i64) != Some(chat) {
                        continue;
                    }
                    let created = message
                        .get("forum_topic_created")
                        .or_else(|| message.pointer("/reply_to_message/forum_topic_created"));
                    let name = created.and_then(|c| c.get("name")).and_then(Value::as_str);
                    let thread = message.get("message_thread_id").and_then(Value::as_i64);
                    let (Some(name), Some(thread_id)) = (name, thread) else {
                        continue;
                    };
                    if name == topic.name {
                        let icon_color = created
                            .and_then(|c| c.get("icon_color"))
                            .and_then(Value::as_u64)
                            .map(|c| c as u32);
                        return Evidence::Done {
                            executed: executed(
                                Answer::Topic {
                                    thread_id,
                                    name: name.to_string(),
                                    icon_color,
                                },
                                "getUpdates",
                            ),
                            by: format!(
                                "a forum_topic_created service message names thread {thread_id}"
                            ),
                        };
                    }
                }
                Evidence::Unknown
            }
            Op::CreateInviteLink { link, .. } => match self.link_named(chat, &link.name).await {
                Some(found) => Evidence::Done {
                    executed: executed(
                        Answer::InviteLink {
                            url: found.url.clone(),
                            name: link.name.clone(),
                            expires: link.expires,
                            member_limit: link.member_limit,
                            join_request: link.join_request,
                        },
                        "getUpdates",
                    ),
                    by: format!("someone joined through the link named {:?}", link.name),
                },
                None => Evidence::Unknown,
            },
            Op::SendInvite { name, expires, .. } => match self.link_named(chat, name).await {
                Some(found) => Evidence::Done {
                    executed: executed(
                        Answer::PersonalInvite {
                            url: found.url,
                            expires: *expires,
                            delivered: true,
                            not_delivered_because: None,
                        },
                        "getUpdates",
                    ),
                    by: format!("the person joined through the link named {name:?}"),
                },
                None => Evidence::Unknown,
            },
            _ => Evidence::Unknown,
        }
    }

    async fn chat_info(&self, chat: i64) -> Result<ChatFullInfo, super::error::Error> {
        self.client()
            .call(&ApiCall::read("getChat", Some(chat)))
            .await
    }

    /// Pending updates, without confirming any (no offset).
    async fn peek_updates(&self) -> Vec<Value> {
        let call = ApiCall::read("getUpdates", None)
            .param("limit", 100)
            .param("timeout", 0);
        match self.client().call_value(&call).await {
            Ok(Value::Array(updates)) => updates,
            _ => Vec::new(),
        }
    }

    async fn link_named(&self, chat: i64, name: &str) -> Option<FoundLink> {
        for u in self.peek_updates().await {
            let payload = u.get("chat_member").or_else(|| u.get("chat_join_request"));
            let Some(payload) = payload else { continue };
            if payload.pointer("/chat/id").and_then(Value::as_i64) != Some(chat) {
                continue;
            }
            let Some(link) = payload.get("invite_link") else {
                continue;
            };
            if link.get("name").and_then(Value::as_str) != Some(name) {
                continue;
            }
            if let Some(url) = link.get("invite_link").and_then(Value::as_str) {
                return Some(FoundLink {
                    url: url.to_string(),
                });
            }
        }
        None
    }
}

struct FoundLink {
    url: String,
}

fn executed(answer: Answer, call: &str) -> Executed {
    Executed {
        answer,
        not_modified: false,
        calls: vec![call.to_string()],
        notes: vec!["found by evidence after the answer was lost".to_string()],
    }
}
