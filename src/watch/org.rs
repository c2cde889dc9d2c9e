//! What watch needs to know about the org, looked up per update: the
//! managed chats by Telegram id with their gatekeeper and welcome settings,
//! who is declared where, and who was offboarded. Built once from the
//! loaded config.

use std::collections::BTreeMap;

use crate::model::Model;
use crate::spec::{AlertsChat, JoinDecision, JoinRequestPolicy, WelcomeSpec};
use crate::state::{ChatId, ChatState, DesiredState, MemberState, MembershipMode, UserId};

/// One managed chat as watch sees it.
#[derive(Clone, Debug)]
pub struct WatchedChat {
    pub key: String,
    pub desired: ChatState,
    pub join_requests: Option<JoinRequestPolicy>,
    pub welcome: Option<WelcomeSpec>,
}

impl WatchedChat {
    /// Whether the config wants `user` in this chat (as member or admin).
    pub fn declared(&self, user: UserId) -> bool {
        self.desired.admins.contains_key(&user)
            || self
                .desired
                .members
                .get(&user)
                .is_some_and(|m| matches!(m, MemberState::Member | MemberState::Restricted { .. }))
    }

    pub fn authoritative(&self) -> bool {
        self.desired.membership == MembershipMode::Authoritative
    }
}

/// The org, indexed for watch.
#[derive(Clone, Debug)]
pub struct Org {
    pub desired: DesiredState,
    pub chats: BTreeMap<ChatId, WatchedChat>,
    pub alerts_chat: Option<ChatId>,
}

#[derive(Debug, thiserror::Error)]
#[error("org.telegram.alerts_chat names {0:?}, which is not a chat key of `chats`")]
pub struct UnknownAlertsChat(pub String);

impl Org {
    pub fn new(model: &Model) -> Result<Org, UnknownAlertsChat> {
        let desired = model.desired.clone();
        let mut chats = BTreeMap::new();
        for (key, state) in &desired.state.chats {
            let Some(spec) = model.config.chats.get(key) else {
                continue;
            };
            let effective = crate::model::resolve::effective_chat(&model.config, spec);
            chats.insert(
                state.id,
                WatchedChat {
                    key: key.clone(),
                    desired: state.clone(),
                    join_requests: effective.spec.join_requests.clone(),
                    welcome: effective.spec.welcome.clone(),
                },
            );
        }
        let alerts_chat = match model
            .config
            .org
            .as_ref()
            .and_then(|o| o.telegram.as_ref())
            .and_then(|t| t.alerts_chat.as_ref())
        {
            None => None,
            Some(AlertsChat::Id(id)) => Some(*id),
            Some(AlertsChat::Key(key)) => Some(
                desired
                    .state
                    .chats
                    .get(key)
                    .map(|c| c.id)
                    .ok_or_else(|| UnknownAlertsChat(key.clone()))?,
            ),
        };
        Ok(Org {
            desired,
            chats,
            alerts_chat,
        })
    }

    pub fn handle(&self, user: UserId) -> String {
        self.desired.handle(user)
    }

    pub fn offboarded(&self, user: UserId) -> bool {
        self.desired.people.get(&user).is_some_and(|p| p.offboarded)
    }

    pub fn known(&self, user: UserId) -> bool {
        self.desired.people.contains_key(&user)
    }
}

/// A join-request decision and why it was taken.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Decision {
    pub decision: JoinDecision,
    pub why: Vec<String>,
}

/// Decide a request to join `chat` by `user`. Chats without
/// `join_requests` are left alone (`Ignore`): a person decides.
pub fn decide(org: &Org, chat: &WatchedChat, user: UserId) -> Decision {
    let who = org.handle(user);
    let Some(policy) = &chat.join_requests else {
        return Decision {
            decision: JoinDecision::Ignore,
            why: vec![format!(
                "chat {} has no join_requests setting: left to its admins",
                chat.key
            )],
        };
    };
    if chat.declared(user) {
        let mut why = vec![format!("{who} is declared in chat {}", chat.key)];
        let address_admin = format!("chat.{}.admin.{who}", chat.key);
        let address_member = format!("chat.{}.member.{who}", chat.key);
        for address in [address_admin, address_member] {
            if let Some(trace) = org.desired.why.get(&address) {
                why.extend(trace.iter().map(|t| format!("{address}: {t}")));
            }
        }
        why.push(format!(
            "join_requests.declared of chat {} (default approve)",
            chat.key
        ));
        return Decision {
            decision: policy.declared.unwrap_or(JoinDecision::Approve),
            why,
        };
    }
    let reason = if org.offboarded(user) {
        format!("{who} is offboarded")
    } else if org.known(user) {
        format!("{who} is not declared in chat {}", chat.key)
    } else {
        format!("user {user} is not a person of the config")
    };
    Decision {
        decision: policy.others.unwrap_or(JoinDecision::Queue),
        why: vec![
            reason,
            format!("join_requests.others of chat {} (default queue)", chat.key),
        ],
    }
}

/// The Bot API's word for a guard bot's answer.
pub fn query_result(decision: JoinDecision) -> Option<&'static str> {
    match decision {
        JoinDecision::Approve => Some("approve"),
        JoinDecision::Decline => Some("decline"),
        JoinDecision::Queue => Some("queue"),
        JoinDecision::Ignore => None,
    }
}
