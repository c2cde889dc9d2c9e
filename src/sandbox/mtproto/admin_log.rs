//! The admin log: what people change by hand in a chat, recorded by
//! comparing the chat before and after a person's call (`/sandbox/act`,
//! or the MTProto front-end's own changes), and listed by
//! channels.getAdminLog.

use crate::sandbox::world::{AdminLogAction, AdminLogEntry, Chat, Member};
use crate::state::{Rights, UserId};

/// Most entries kept per chat (Telegram keeps 48 hours' worth).
const MAX_ENTRIES: usize = 1000;

fn admin_rights(member: &Member) -> Option<Rights> {
    match member {
        Member::Administrator { rights, .. } => Some(rights.clone()),
        _ => None,
    }
}

/// Append to `after`'s log what `user` changed since `before`.
pub fn record(before: &Chat, after: &mut Chat, user: UserId, now: i64) {
    let mut actions = Vec::new();
    if before.title != after.title {
        actions.push(AdminLogAction::Title {
            prev: before.title.clone(),
            new: after.title.clone(),
        });
    }
    if before.description != after.description {
        actions.push(AdminLogAction::Description {
            prev: before.description.clone(),
            new: after.description.clone(),
        });
    }
    if before.slow_mode_delay != after.slow_mode_delay {
        actions.push(AdminLogAction::SlowMode {
            prev: before.slow_mode_delay,
            new: after.slow_mode_delay,
        });
    }
    if before.has_protected_content != after.has_protected_content {
        actions.push(AdminLogAction::ProtectedContent {
            new: after.has_protected_content,
        });
    }
    if before.join_by_request != after.join_by_request {
        actions.push(AdminLogAction::JoinByRequest {
            new: after.join_by_request,
        });
    }
    if before.is_forum != after.is_forum {
        actions.push(AdminLogAction::Forum {
            new: after.is_forum,
        });
    }
    if before.message_auto_delete_time != after.message_auto_delete_time {
        actions.push(AdminLogAction::AutoDelete {
            prev: before.message_auto_delete_time,
            new: after.message_auto_delete_time,
        });
    }
    if before.permissions != after.permissions {
        actions.push(AdminLogAction::Permissions {
            prev: before.permissions.clone(),
            new: after.permissions.clone(),
        });
    }
    for (target, member) in &after.members {
        let prev = before.members.get(target).and_then(admin_rights);
        let new = admin_rights(member);
        if prev != new {
            actions.push(AdminLogAction::AdminRights {
                target: *target,
                prev,
                new,
            });
        }
    }
    // Ids count up per chat, apart from the world's serial (which decides
    // invite-link hashes and must not move with the log).
    let first = after.admin_log.last().map_or(0, |e| e.id) + 1;
    for (id, action) in (first..).zip(actions) {
        after.admin_log.push(AdminLogEntry {
            id,
            date: now,
            user,
            action,
        });
    }
    let excess = after.admin_log.len().saturating_sub(MAX_ENTRIES);
    after.admin_log.drain(..excess);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::ChatType;

    #[test]
    fn records_what_changed_and_nothing_else() {
        let before = Chat::new(-1001, ChatType::Supergroup, "Old");
        let mut after = before.clone();
        after.title = "New".into();
        after.slow_mode_delay = 30;
        after.set_status(
            5,
            Member::Administrator {
                rights: [crate::state::Right::PinMessages].into(),
                custom_title: None,
                promoted_by: 1,
            },
        );
        record(&before, &mut after, 1, 100);
        let kinds: Vec<_> = after.admin_log.iter().map(|e| e.action.clone()).collect();
        assert_eq!(kinds.len(), 3, "{kinds:?}");
        assert!(after.admin_log.iter().all(|e| e.user == 1 && e.date == 100));
        let again = after.clone();
        record(&again, &mut after, 1, 101);
        assert_eq!(after.admin_log.len(), 3, "nothing new changed");
    }
}
