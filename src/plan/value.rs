//! One side of a change, typed: what the addressed thing is before the
//! change or will be after it.
//!
//! The planner builds these from the live and desired state; renderers,
//! drift, the applier's evidence and the simulator read them without
//! guessing at JSON. On disk (a saved plan, the journal) and in `--json`
//! output a value keeps the compact JSON shape people read (`null`, a
//! string, `{"status": "admin", "rights": [...]}`, ...). That shape alone
//! does not say whether a list names admin rights or member permissions,
//! so reading one back takes the change's [`Op`] as context
//! ([`Value::from_json`]).

use serde_json::{Value as Json, json};

use crate::state::{
    AdminSeat, ChatType, Command, InviteLink, MemberState, Permissions, Photo, PinnedMessage,
    Rights, Topic,
};

use super::change::Op;

/// What the addressed thing is on one side of a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// Nothing there (no photo, no topic, no title yet).
    Nothing,
    /// A text: a title, a description, a topic name, an admin title, a tag.
    Text(String),
    /// An on/off setting.
    Flag(bool),
    /// A number: seconds of slow mode or auto-delete, a topic's colour.
    Number(i64),
    /// A chat's default member permissions.
    Permissions(Permissions),
    /// An admin's rights alone (a change of rights on a kept seat).
    Rights(Rights),
    /// An admin seat: rights and title.
    Seat {
        rights: Rights,
        title: Option<String>,
    },
    /// A non-admin's membership.
    Member(MemberState),
    /// Sent a personal invite link of this name.
    Invited { link: String },
    /// A forum topic (its name, colour and whether it is closed).
    Topic {
        name: String,
        icon_color: Option<u32>,
        closed: bool,
    },
    /// Whether a topic is closed.
    TopicClosed(bool),
    /// An invite link's options.
    Link {
        name: String,
        expires: Option<i64>,
        member_limit: Option<u32>,
        join_request: bool,
    },
    /// A chat photo: one known by content (`sha256` shortened for people)
    /// or one orgform did not set.
    Photo(PhotoShown),
    /// The top pinned message.
    Pinned {
        text: String,
        message_id: Option<i64>,
        /// Pinned by a person rather than the bot.
        by_person: bool,
    },
    /// The bot's command list.
    Commands(Vec<Command>),
    /// A chat folder shared by link (`folders:`): its title, its chats by
    /// config key, and its link once it has one.
    Folder {
        title: String,
        chats: Vec<String>,
        link: Option<String>,
    },
    /// A chat to be created.
    NewChat {
        kind: ChatType,
        title: String,
        description: String,
        forum: bool,
        bot_rights: Rights,
    },
}

impl serde::Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

/// A photo as a change shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PhotoShown {
    /// Known by content: the first 12 hex digits, and the file's name
    /// when there is one.
    File { sha256: String, file: String },
    /// Set by someone else; Telegram's id for it.
    Other { file_unique_id: String },
}

impl Value {
    pub fn text(s: impl Into<String>) -> Value {
        Value::Text(s.into())
    }

    /// An optional text; none is nothing.
    pub fn opt_text(s: Option<&str>) -> Value {
        s.map_or(Value::Nothing, Value::text)
    }

    pub fn seat(seat: &AdminSeat) -> Value {
        Value::Seat {
            rights: seat.rights.clone(),
            title: seat.title.clone(),
        }
    }

    pub fn member(m: &MemberState) -> Value {
        Value::Member(m.clone())
    }

    /// Not in the chat.
    pub fn absent() -> Value {
        Value::Member(MemberState::Absent)
    }

    pub fn topic(t: &Topic) -> Value {
        Value::Topic {
            name: t.name.clone(),
            icon_color: t.icon_color,
            closed: t.closed,
        }
    }

    pub fn link(l: &InviteLink) -> Value {
        Value::Link {
            name: l.name.clone(),
            expires: l.expires,
            member_limit: l.member_limit,
            join_request: l.join_request,
        }
    }

    pub fn photo(p: &Photo) -> Value {
        match p {
            Photo::None => Value::Nothing,
            Photo::File { sha256, name, .. } => Value::Photo(PhotoShown::File {
                sha256: sha256.chars().take(12).collect(),
                file: name.clone(),
            }),
            Photo::Other { file_unique_id } => Value::Photo(PhotoShown::Other {
                file_unique_id: file_unique_id.clone(),
            }),
        }
    }

    pub fn pinned(p: &PinnedMessage) -> Value {
        Value::Pinned {
            text: p.text.clone(),
            message_id: p.message_id,
            by_person: p.message_id.is_some() && !p.by_bot,
        }
    }

    pub fn is_nothing(&self) -> bool {
        matches!(self, Value::Nothing)
    }

    /// The text, when it is one.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// An on/off setting's value.
    pub fn as_flag(&self) -> Option<bool> {
        match self {
            Value::Flag(b) => Some(*b),
            _ => None,
        }
    }

    /// A number of seconds, when it is one.
    pub fn as_seconds(&self) -> Option<u32> {
        match self {
            Value::Number(n) => u32::try_from(*n).ok(),
            _ => None,
        }
    }

    /// A topic's colour, when this is a topic or a colour.
    pub fn icon_color(&self) -> Option<u32> {
        match self {
            Value::Topic { icon_color, .. } => *icon_color,
            Value::Number(n) => u32::try_from(*n).ok(),
            _ => None,
        }
    }

    /// The compact JSON shape people read in `--json` output and files.
    pub fn to_json(&self) -> Json {
        let names = |it: &mut dyn Iterator<Item = &'static str>| json!(it.collect::<Vec<_>>());
        match self {
            Value::Nothing => Json::Null,
            Value::Text(s) => json!(s),
            Value::Flag(b) => json!(b),
            Value::Number(n) => json!(n),
            Value::Permissions(p) => names(&mut p.iter().map(|p| p.name())),
            Value::Rights(r) => names(&mut r.iter().map(|r| r.name())),
            Value::Seat { rights, title } => {
                let mut v = json!({"status": "admin", "rights": names(&mut rights.iter().map(|r| r.name()))});
                if let Some(t) = title {
                    v["title"] = json!(t);
                }
                v
            }
            Value::Member(m) => serde_json::to_value(m).expect("a member state serialises to JSON"),
            Value::Invited { link } => json!({"status": "invited", "link": link}),
            Value::Topic {
                name,
                icon_color,
                closed,
            } => {
                let mut v = json!({"name": name});
                if let Some(c) = icon_color {
                    v["icon_color"] = json!(c);
                }
                if *closed {
                    v["closed"] = json!(true);
                }
                v
            }
            Value::TopicClosed(closed) => json!({"closed": closed}),
            Value::Link {
                name,
                expires,
                member_limit,
                join_request,
            } => {
                let mut v = json!({"name": name});
                if let Some(e) = expires {
                    v["expires"] = json!(e);
                }
                if let Some(m) = member_limit {
                    v["member_limit"] = json!(m);
                }
                if *join_request {
                    v["join_request"] = json!(true);
                }
                v
            }
            Value::Photo(PhotoShown::File { sha256, file }) if file.is_empty() => {
                json!({"sha256": sha256})
            }
            Value::Photo(PhotoShown::File { sha256, file }) => {
                json!({"file": file, "sha256": sha256})
            }
            Value::Photo(PhotoShown::Other { file_unique_id }) => {
                json!({"set_by": "not orgform", "file_unique_id": file_unique_id})
            }
            Value::Pinned {
                text,
                message_id,
                by_person,
            } => {
                let mut v = json!({"text": text});
                if let Some(id) = message_id {
                    v["message_id"] = json!(id);
                }
                if *by_person {
                    v["by"] = json!("a person");
                }
                v
            }
            Value::Commands(commands) => json!(
                commands
                    .iter()
                    .map(|c| format!("/{} — {}", c.command, c.description))
                    .collect::<Vec<_>>()
            ),
            Value::Folder { title, chats, link } => {
                let mut v = json!({"title": title, "chats": chats});
                if let Some(l) = link {
                    v["link"] = json!(l);
                }
                v
            }
            Value::NewChat {
                kind,
                title,
                description,
                forum,
                bot_rights,
            } => json!({
                "type": kind,
                "title": title,
                "description": description,
                "forum": forum,
                "bot_rights": bot_rights,
            }),
        }
    }

    /// Reads a value back from its JSON shape. `op` is the change's
    /// operation: it says what a list names (rights, permissions or
    /// commands) and whether `{"name": ...}` is a topic or a link.
    pub fn from_json(op: &Op, v: &Json) -> Result<Value, String> {
        let bad = || {
            format!(
                "a before/after value {v} does not fit a `{}` change",
                op_name(op)
            )
        };
        Ok(match v {
            Json::Null => Value::Nothing,
            Json::Bool(b) => Value::Flag(*b),
            Json::Number(n) => Value::Number(n.as_i64().ok_or_else(bad)?),
            Json::String(s) => Value::Text(s.clone()),
            Json::Array(_) => match op {
                Op::SetPermissions { .. } => {
                    Value::Permissions(serde_json::from_value(v.clone()).map_err(|_| bad())?)
                }
                Op::Promote { .. } | Op::Demote { .. } => {
                    Value::Rights(serde_json::from_value(v.clone()).map_err(|_| bad())?)
                }
                Op::SetCommands { .. } | Op::DeleteCommands => {
                    let lines: Vec<String> =
                        serde_json::from_value(v.clone()).map_err(|_| bad())?;
                    let commands = lines
                        .iter()
                        .map(|line| {
                            let (command, description) = line
                                .strip_prefix('/')
                                .and_then(|l| l.split_once(" — "))
                                .ok_or_else(bad)?;
                            Ok(Command {
                                command: command.to_string(),
                                description: description.to_string(),
                            })
                        })
                        .collect::<Result<_, String>>()?;
                    Value::Commands(commands)
                }
                _ => return Err(bad()),
            },
            Json::Object(m) => {
                let s = |k: &str| m.get(k).and_then(Json::as_str).map(str::to_string);
                let i = |k: &str| m.get(k).and_then(Json::as_i64);
                if let Some(status) = m.get("status").and_then(Json::as_str) {
                    match status {
                        "admin" => Value::Seat {
                            rights: serde_json::from_value(
                                m.get("rights").cloned().unwrap_or(json!([])),
                            )
                            .map_err(|_| bad())?,
                            title: s("title"),
                        },
                        "invited" => Value::Invited {
                            link: s("link").ok_or_else(bad)?,
                        },
                        _ => Value::Member(serde_json::from_value(v.clone()).map_err(|_| bad())?),
                    }
                } else if m.len() == 1
                    && let Some(closed) = m.get("closed").and_then(Json::as_bool)
                {
                    Value::TopicClosed(closed)
                } else if let Some(text) = s("text") {
                    Value::Pinned {
                        text,
                        message_id: i("message_id"),
                        by_person: m.contains_key("by"),
                    }
                } else if let Some(id) = s("file_unique_id") {
                    Value::Photo(PhotoShown::Other { file_unique_id: id })
                } else if let Some(sha256) = s("sha256") {
                    Value::Photo(PhotoShown::File {
                        sha256,
                        file: s("file").unwrap_or_default(),
                    })
                } else if let Some(chats) = m.get("chats").filter(|_| {
                    matches!(
                        op,
                        Op::CreateFolder { .. } | Op::EditFolder { .. } | Op::DeleteFolder { .. }
                    )
                }) {
                    Value::Folder {
                        title: s("title").unwrap_or_default(),
                        chats: serde_json::from_value(chats.clone()).map_err(|_| bad())?,
                        link: s("link"),
                    }
                } else if m.contains_key("type") {
                    Value::NewChat {
                        kind: serde_json::from_value(m["type"].clone()).map_err(|_| bad())?,
                        title: s("title").unwrap_or_default(),
                        description: s("description").unwrap_or_default(),
                        forum: m.get("forum").and_then(Json::as_bool).unwrap_or(false),
                        bot_rights: serde_json::from_value(
                            m.get("bot_rights").cloned().unwrap_or(json!([])),
                        )
                        .map_err(|_| bad())?,
                    }
                } else if let Some(name) = s("name") {
                    match op {
                        Op::CreateInviteLink { .. }
                        | Op::EditInviteLink { .. }
                        | Op::RevokeInviteLink { .. } => Value::Link {
                            name,
                            expires: i("expires"),
                            member_limit: i("member_limit").and_then(|n| u32::try_from(n).ok()),
                            join_request: m
                                .get("join_request")
                                .and_then(Json::as_bool)
                                .unwrap_or(false),
                        },
                        _ => Value::Topic {
                            name,
                            icon_color: i("icon_color").and_then(|n| u32::try_from(n).ok()),
                            closed: m.get("closed").and_then(Json::as_bool).unwrap_or(false),
                        },
                    }
                } else {
                    return Err(bad());
                }
            }
        })
    }
}

/// The op's name as the JSON spells it (for error messages).
fn op_name(op: &Op) -> String {
    serde_json::to_value(op)
        .ok()
        .and_then(|v| v.get("op").and_then(Json::as_str).map(str::to_string))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Permission, Right, UserId};

    /// Every shape the planner writes reads back as the same typed value.
    #[test]
    fn every_value_survives_its_json_shape() {
        let user: UserId = 7;
        let rights: Rights = [Right::ManageChat, Right::PinMessages].into();
        let perms: Permissions = [Permission::SendMessages, Permission::PinMessages].into();
        let promote = Op::Promote {
            user,
            rights: rights.clone(),
        };
        let link = InviteLink {
            name: "all".into(),
            expires: Some(1_800_000_000),
            member_limit: Some(5),
            join_request: true,
            url: None,
            revoked: false,
        };
        let cases: Vec<(Op, Value)> = vec![
            (promote.clone(), Value::Nothing),
            (promote.clone(), Value::Rights(rights.clone())),
            (
                Op::Demote { user },
                Value::Seat {
                    rights: rights.clone(),
                    title: Some("Lead".into()),
                },
            ),
            (
                Op::SetPermissions {
                    permissions: perms.clone(),
                },
                Value::Permissions(perms.clone()),
            ),
            (
                Op::Restrict {
                    user,
                    permissions: perms.clone(),
                    until: Some(9),
                },
                Value::Member(MemberState::Restricted {
                    permissions: perms.clone(),
                    until: Some(9),
                }),
            ),
            (Op::Kick { user }, Value::absent()),
            (
                Op::EditFolder {
                    key: "platform".into(),
                    filter_id: 2,
                    title: "Platform".into(),
                    chats: vec![-1001],
                },
                Value::Folder {
                    title: "Platform".into(),
                    chats: vec!["eng".into(), "platform".into()],
                    link: Some("https://t.me/addlist/abc".into()),
                },
            ),
            (
                Op::CreateFolder {
                    key: "platform".into(),
                    title: "Platform".into(),
                    chats: vec![-1001],
                },
                Value::Folder {
                    title: "Platform".into(),
                    chats: vec!["eng".into()],
                    link: None,
                },
            ),
            (
                Op::AddMember {
                    user,
                    username: Some("ann".into()),
                    name: "orgform: ann".into(),
                    expires: 1,
                    bot: None,
                },
                Value::Member(MemberState::Member),
            ),
            (
                Op::SendInvite {
                    user,
                    name: "orgform: ann".into(),
                    expires: 1,
                },
                Value::Invited {
                    link: "orgform: ann".into(),
                },
            ),
            (
                Op::CreateInviteLink {
                    key: "all".into(),
                    link: link.clone(),
                },
                Value::link(&link),
            ),
            (
                Op::DeleteTopic {
                    key: "t".into(),
                    thread_id: 3,
                },
                Value::Topic {
                    name: "General".into(),
                    icon_color: Some(0x6FB9F0),
                    closed: true,
                },
            ),
            (
                Op::CloseTopic {
                    key: "t".into(),
                    thread_id: 3,
                },
                Value::TopicClosed(false),
            ),
            (
                Op::SetCommands {
                    commands: Vec::new(),
                },
                Value::Commands(vec![Command {
                    command: "help".into(),
                    description: "what — this bot does".into(),
                }]),
            ),
            (
                Op::DeletePhoto,
                Value::Photo(PhotoShown::File {
                    sha256: "0123456789ab".into(),
                    file: "logo.png".into(),
                }),
            ),
            (
                Op::DeletePhoto,
                Value::Photo(PhotoShown::Other {
                    file_unique_id: "AQAD".into(),
                }),
            ),
            (
                Op::Unpin { message_id: 4 },
                Value::Pinned {
                    text: "Rules".into(),
                    message_id: Some(4),
                    by_person: true,
                },
            ),
            (
                Op::Manual {
                    instruction: String::new(),
                },
                Value::Number(30),
            ),
            (
                Op::Manual {
                    instruction: String::new(),
                },
                Value::Flag(true),
            ),
        ];
        for (op, value) in cases {
            let json = value.to_json();
            assert_eq!(
                Value::from_json(&op, &json).as_ref(),
                Ok(&value),
                "{json} for {op:?}"
            );
        }
    }

    /// A journal written before `demote` existed holds a demotion as a
    /// promotion to no rights: it reads back, typed, as a demotion.
    #[test]
    fn an_old_journal_demotion_reads_back_as_one() {
        let change: crate::plan::Change = serde_json::from_value(json!({
            "address": "chat.eng.admin.olivia", "chat": "eng", "chat_id": -100,
            "chat_type": "supergroup", "action": "delete", "step": "demotions",
            "op": {"op": "promote", "rights": [], "user": 15},
            "before": {"status": "admin", "rights": ["manage_chat"], "title": "Lead"},
            "after": {"status": "member"}, "reversible": true
        }))
        .unwrap();
        assert!(change.op.is_demotion());
        assert_eq!(
            change.before,
            Value::Seat {
                rights: [Right::ManageChat].into(),
                title: Some("Lead".into())
            }
        );
        assert_eq!(change.after, Value::Member(MemberState::Member));
    }

    #[test]
    fn a_list_without_context_is_refused() {
        let err = Value::from_json(&Op::DeletePhoto, &json!(["pin_messages"])).unwrap_err();
        assert!(err.contains("delete_photo"), "{err}");
    }
}
