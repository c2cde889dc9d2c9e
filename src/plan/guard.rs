//! Guards: checks on a whole plan before anything is applied. Each has a
//! stable code and, where the operator may overrule it, an [`Override`]
//! kind; a failure refuses the plan (exit 3) with an explanation, and an
//! override shows in the plan output. How an override is spelled on the
//! command line is the CLI's business, not the planner's.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::spec::{LockoutPolicy, Policies};
use crate::state::{ChatType, LiveState, Right};

use super::change::{Change, Op};

/// What the operator may overrule, one kind per group of guards.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Override {
    /// Removal limits and the first-run rule.
    Removals,
    /// The admin demotion limit.
    Demotions,
    /// The min_admins policy.
    FewAdmins,
}

impl Override {
    pub const ALL: [Override; 3] = [Override::Removals, Override::Demotions, Override::FewAdmins];
}

/// Which guards the operator chose to override.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overrides {
    /// [`Override::Removals`].
    pub removals: bool,
    /// [`Override::Demotions`].
    pub demotions: bool,
    /// [`Override::FewAdmins`].
    pub few_admins: bool,
}

impl Overrides {
    /// Whether the operator overrode guards of this kind.
    pub fn allows(&self, kind: Override) -> bool {
        match kind {
            Override::Removals => self.removals,
            Override::Demotions => self.demotions,
            Override::FewAdmins => self.few_admins,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuardResult {
    /// Stable code: `removal-limit`, `demotion-limit`, `min-admins`, `first-run`, `lockout`, `bot-rights`.
    pub code: String,
    /// The chat concerned, if the guard is per chat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat: Option<String>,
    pub message: String,
    /// What overrides it; `None` = cannot be overridden.
    #[serde(rename = "override", default, skip_serializing_if = "Option::is_none")]
    pub overridable: Option<Override>,
    /// True when the operator overrode it: the plan proceeds, and says so.
    pub overridden: bool,
}

/// Defaults when the config sets no policy: generous enough for day-to-day
/// changes, small enough to stop a typo from emptying a chat.
pub const DEFAULT_MAX_REMOVALS: u32 = 25;
pub const DEFAULT_MAX_PERCENT: u32 = 20;
pub const DEFAULT_MAX_DEMOTIONS: u32 = 5;

fn is_removal(c: &Change) -> bool {
    matches!(c.op, Op::Kick { .. } | Op::Ban { .. })
}

fn is_demotion(c: &Change) -> bool {
    c.op.is_demotion()
}

/// The rights the bot needs to carry out an op.
fn needed_rights(op: &Op, kind: ChatType) -> Vec<Right> {
    match op {
        // In channels the bot posts and edits its message and pins it with
        // can_edit_messages; in groups it needs can_pin_messages.
        Op::Pin { .. } if kind == ChatType::Channel => {
            vec![Right::PostMessages, Right::EditMessages]
        }
        Op::Unpin { .. } if kind == ChatType::Channel => vec![Right::EditMessages],
        Op::Pin { .. } | Op::Unpin { .. } => vec![Right::PinMessages],
        Op::SetTitle { .. } | Op::SetDescription { .. } | Op::SetPhoto { .. } | Op::DeletePhoto => {
            vec![Right::ChangeInfo]
        }
        Op::SetTag { .. } => vec![Right::ManageTags],
        Op::SetPermissions { .. }
        | Op::Restrict { .. }
        | Op::Unrestrict { .. }
        | Op::Ban { .. }
        | Op::Unban { .. }
        | Op::Kick { .. } => {
            vec![Right::RestrictMembers]
        }
        Op::CreateTopic { .. }
        | Op::EditTopic { .. }
        | Op::CloseTopic { .. }
        | Op::ReopenTopic { .. }
        | Op::DeleteTopic { .. } => {
            vec![Right::ManageTopics]
        }
        Op::CreateInviteLink { .. }
        | Op::EditInviteLink { .. }
        | Op::RevokeInviteLink { .. }
        | Op::SendInvite { .. }
        | Op::AddMember { .. } => {
            vec![Right::InviteUsers]
        }
        Op::Promote { rights, .. } => {
            let mut r = vec![Right::PromoteMembers];
            r.extend(rights.iter().copied().filter(|r| *r != Right::Anonymous));
            r
        }
        Op::SetAdminTitle { .. } | Op::Demote { .. } => vec![Right::PromoteMembers],
        // Person-only settings are set by the signed-in person, not the bot.
        Op::SetCommands { .. }
        | Op::DeleteCommands
        | Op::Manual { .. }
        | Op::CreateChat { .. }
        | Op::CreateFolder { .. }
        | Op::EditFolder { .. }
        | Op::DeleteFolder { .. }
        | Op::SetPersonSetting { .. } => vec![],
    }
}

/// Run every guard. `first_run(chat_id)` tells whether the store has never
/// read that chat.
pub fn check(
    changes: &[Change],
    live: &LiveState,
    policies: Option<&Policies>,
    overrides: &Overrides,
    provider: crate::state::ProviderChoice,
    first_run: impl Fn(i64) -> bool,
) -> Vec<GuardResult> {
    let actor = provider.actor();
    let mut out = Vec::new();
    let removals = policies.and_then(|p| p.removals.as_ref());
    let max_count = removals
        .and_then(|r| r.max_count)
        .unwrap_or(DEFAULT_MAX_REMOVALS);
    let max_percent = removals
        .and_then(|r| r.max_percent)
        .unwrap_or(DEFAULT_MAX_PERCENT);
    let max_demotions = removals
        .and_then(|r| r.max_demotions)
        .unwrap_or(DEFAULT_MAX_DEMOTIONS);
    let mut push = |code: &str,
                    chat: Option<&str>,
                    message: String,
                    kind: Option<Override>,
                    overridden: bool| {
        out.push(GuardResult {
            code: code.into(),
            chat: chat.map(str::to_string),
            message,
            overridable: kind,
            overridden,
        });
    };

    // Removals, overall and per chat.
    let total = changes.iter().filter(|c| is_removal(c)).count() as u32;
    if total > max_count {
        push(
            "removal-limit",
            None,
            format!(
                "the plan removes {total} {}; the limit is {max_count} (policies.removals.max_count)",
                if total == 1 { "person" } else { "people" }
            ),
            Some(Override::Removals),
            overrides.removals,
        );
    }
    // Per chat: removals, removals of people the config does not mention,
    // the chat id.
    let mut per_chat: BTreeMap<&str, (u32, u32, i64)> = BTreeMap::new();
    for c in changes {
        let e = per_chat.entry(&c.chat).or_insert((0, 0, c.chat_id));
        if is_removal(c) {
            e.0 += 1;
            if c.undeclared {
                e.1 += 1;
            }
        }
    }
    for (chat, (removed, undeclared, chat_id)) in &per_chat {
        if *removed == 0 {
            continue;
        }
        if *removed > max_count && total <= max_count {
            push(
                "removal-limit",
                Some(chat),
                format!("the plan removes {removed} people from {chat}; the limit is {max_count}"),
                Some(Override::Removals),
                overrides.removals,
            );
        }
        let seen = live
            .state
            .chats
            .get(*chat)
            .map(|c| {
                (c.members.values().filter(|m| super::present(m)).count() + c.admins.len()) as u64
            })
            .unwrap_or(0);
        let known = live
            .meta
            .get(*chat)
            .and_then(|m| m.member_count)
            .unwrap_or(0)
            .max(seen);
        if known > 0 {
            let percent = (*removed as u64 * 100).div_ceil(known);
            // Tiny chats would trip a percentage on one removal; the
            // count limit covers them.
            if percent > max_percent as u64 && *removed > 1 {
                push(
                    "removal-limit",
                    Some(chat),
                    format!(
                        "the plan removes {removed} of {known} members of {chat} ({percent}%); the limit is {max_percent}% (policies.removals.max_percent)"
                    ),
                    Some(Override::Removals),
                    overrides.removals,
                );
            }
        }
        // Removing people the config names (offboarded, banned) is its
        // explicit intent; removing everyone it does not mention on a first
        // run is how an incomplete config empties a chat.
        if *undeclared > 0 && first_run(*chat_id) {
            push(
                "first-run",
                Some(chat),
                format!(
                    "orgform has never applied a plan to {chat}, and this first one would remove {undeclared} {} the config does not mention",
                    if *undeclared == 1 { "person" } else { "people" }
                ),
                Some(Override::Removals),
                overrides.removals,
            );
        }
    }
    let demotions = changes.iter().filter(|c| is_demotion(c)).count() as u32;
    if demotions > max_demotions {
        push(
            "demotion-limit",
            None,
            format!(
                "the plan demotes {demotions} admins; the limit is {max_demotions} (policies.removals.max_demotions)"
            ),
            Some(Override::Demotions),
            overrides.demotions,
        );
    }

    // Minimum admins per chat, counted after the plan.
    if let Some(min) = policies.and_then(|p| p.min_admins) {
        for (key, chat) in &live.state.chats {
            let mut admins: std::collections::BTreeSet<i64> = chat.admins.keys().copied().collect();
            let touched = changes.iter().any(|c| {
                c.chat == *key
                    && matches!(
                        c.op,
                        Op::Promote { .. } | Op::Demote { .. } | Op::Kick { .. } | Op::Ban { .. }
                    )
            });
            if !touched {
                continue;
            }
            for c in changes.iter().filter(|c| c.chat == *key) {
                match &c.op {
                    Op::Demote { user } => {
                        admins.remove(user);
                    }
                    Op::Promote { user, rights } if rights.is_empty() => {
                        admins.remove(user);
                    }
                    Op::Promote { user, .. } => {
                        admins.insert(*user);
                    }
                    Op::Kick { user } | Op::Ban { user } => {
                        admins.remove(user);
                    }
                    _ => {}
                }
            }
            if (admins.len() as u32) < min {
                push(
                    "min-admins",
                    Some(key),
                    format!(
                        "{key} would have {} human admin(s) after this plan; policies.min_admins is {min}",
                        admins.len()
                    ),
                    Some(Override::FewAdmins),
                    overrides.few_admins,
                );
            }
        }
    }

    // The bot must keep and hold the rights it needs.
    let lockout = policies
        .and_then(|p| p.lockout)
        .unwrap_or(LockoutPolicy::Deny);
    let bot = live.bot.as_ref().map(|b| b.id);
    for c in changes {
        // Every change aimed at the bot's own account: its rights, its
        // removal, and invites (a bot declared as a person would be sent an
        // invite link to a chat it is already in, or be offboarded).
        let targets_bot = match &c.op {
            Op::Promote { user, .. }
            | Op::Demote { user }
            | Op::SetAdminTitle { user, .. }
            | Op::SetTag { user, .. }
            | Op::Kick { user, .. }
            | Op::Ban { user, .. }
            | Op::Unban { user, .. }
            | Op::Restrict { user, .. }
            | Op::Unrestrict { user, .. }
            | Op::SendInvite { user, .. }
            | Op::AddMember { user, .. } => Some(*user) == bot,
            _ => false,
        };
        if targets_bot && lockout == LockoutPolicy::Deny {
            push(
                "lockout",
                Some(&c.chat),
                format!(
                    "{} would change {actor}'s own seat in {}; orgform would lock itself out",
                    c.address, c.chat
                ),
                None,
                false,
            );
        }
    }
    let mut missing: BTreeMap<&str, std::collections::BTreeSet<Right>> = BTreeMap::new();
    for c in changes {
        let Some(meta) = live.meta.get(&c.chat) else {
            continue;
        };
        let held = meta.bot_rights.clone().unwrap_or_default();
        for r in needed_rights(&c.op, c.chat_type) {
            if !held.contains(&r) && r.valid_for(c.chat_type) {
                missing.entry(&c.chat).or_default().insert(r);
            }
        }
    }
    for (chat, rights) in missing {
        let names: Vec<&str> = rights.iter().map(|r| r.name()).collect();
        let not_admin = live.meta.get(chat).is_some_and(|m| m.bot_rights.is_none());
        let message = if not_admin {
            format!(
                "{actor} is not an admin of {chat}; make it an admin with: {}",
                names.join(", ")
            )
        } else {
            format!(
                "{actor} lacks rights in {chat} that this plan needs: {} (an admin can only grant rights it holds)",
                names.join(", ")
            )
        };
        push("bot-rights", Some(chat), message, None, false);
    }
    out
}

/// Whether any guard refuses the plan.
pub fn refused(results: &[GuardResult]) -> bool {
    results.iter().any(|g| !g.overridden)
}
