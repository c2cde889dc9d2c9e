//! Updates: what the bot learns about changes it did not make itself.
//!
//! Every change of a user's status in a chat produces a `chat_member`
//! update (or `my_chat_member` when the user is the bot), and a request to
//! join produces `chat_join_request`, whoever caused it: the bot through the
//! Bot API or a human through `/sandbox/act`. Telegram's delivery rules are
//! applied when the update is created, as the real server does: `chat_member`
//! only if the bot is an administrator of the chat and the last
//! `allowed_updates` lists it explicitly, `chat_join_request` only if the bot
//! may invite users. Updates older than 24 hours are dropped.

use serde_json::{Value, json};

use crate::state::{ChatId, Right, UserId};

use super::rules::admin_rights;
use super::wire;
use super::world::{InviteLink, Member, QueuedUpdate, World};

/// Updates kept at most, so a bot that never polls cannot grow the file forever.
const MAX_PENDING: usize = 100_000;
const KEEP_SECONDS: i64 = 24 * 3600;

/// Update kinds Telegram leaves out unless they are asked for by name.
const OPT_IN_ONLY: &[&str] = &["chat_member", "message_reaction", "message_reaction_count"];

/// Whether an update of `kind` passes an `allowed_updates` setting.
pub fn allowed(setting: Option<&[String]>, kind: &str) -> bool {
    match setting {
        None | Some([]) => !OPT_IN_ONLY.contains(&kind),
        Some(list) => list.iter().any(|k| k == kind),
    }
}

/// The setting in force: the webhook's when one is set, else the last
/// getUpdates call's.
fn current_setting(world: &World) -> Option<Vec<String>> {
    match &world.webhook {
        Some(hook) => hook.allowed_updates.clone(),
        None => world.updates.allowed_updates.clone(),
    }
}

/// Queue an update if the bot's settings let it through.
pub fn enqueue(world: &mut World, kind: &str, now: i64, payload: Value) {
    if !allowed(current_setting(world).as_deref(), kind) {
        return;
    }
    let queue = &mut world.updates;
    while queue
        .pending
        .front()
        .is_some_and(|u| u.date + KEEP_SECONDS < now)
        || queue.pending.len() >= MAX_PENDING
    {
        queue.pending.pop_front();
    }
    let update_id = queue.next_update_id;
    queue.next_update_id += 1;
    let mut update = json!({"update_id": update_id});
    update[kind] = payload;
    queue.pending.push_back(QueuedUpdate {
        update_id,
        kind: kind.to_string(),
        date: now,
        update,
    });
}

/// Drop updates older than 24 hours.
pub fn expire(world: &mut World, now: i64) {
    while world
        .updates
        .pending
        .front()
        .is_some_and(|u| u.date + KEEP_SECONDS < now)
    {
        world.updates.pending.pop_front();
    }
}

/// One change of a user's status in a chat.
pub struct MemberChange<'a> {
    pub chat_id: ChatId,
    pub user: UserId,
    /// Who made the change (the update's `from`).
    pub actor: UserId,
    pub old: &'a Member,
    pub new: &'a Member,
    /// The link the user joined by, if any.
    pub link: Option<&'a InviteLink>,
    pub via_join_request: bool,
}

/// Emit the update for a status change (nothing if the status is unchanged).
pub fn member_changed(world: &mut World, change: MemberChange<'_>, now: i64) {
    let MemberChange {
        chat_id,
        user,
        actor,
        old,
        new,
        link,
        via_join_request,
    } = change;
    if old == new {
        return;
    }
    let Some(chat) = world.chats.get(&chat_id) else {
        return;
    };
    let bot = world.bot_id();
    let kind = if user == bot {
        "my_chat_member"
    } else {
        "chat_member"
    };
    if kind == "chat_member" && admin_rights(chat, bot, now).is_none() {
        return;
    }
    let mut payload = json!({
        "chat": wire::chat(chat),
        "from": wire::user_by_id(world, actor),
        "date": now,
        "old_chat_member": wire::chat_member(world, chat, user, old, bot),
        "new_chat_member": wire::chat_member(world, chat, user, new, bot),
    });
    if let Some(link) = link {
        payload["invite_link"] = wire::invite_link_for(world, link, chat, world.bot_id());
    }
    if via_join_request {
        payload["via_join_request"] = json!(true);
    }
    enqueue(world, kind, now, payload);
}

/// A user asked to join a chat (through a link or a join-by-request chat).
pub fn join_requested(
    world: &mut World,
    chat_id: ChatId,
    user: UserId,
    now: i64,
    link: Option<&InviteLink>,
) {
    let Some(chat) = world.chats.get(&chat_id) else {
        return;
    };
    let bot = world.bot_id();
    if !admin_rights(chat, bot, now).is_some_and(|r| r.contains(&Right::InviteUsers)) {
        return;
    }
    let mut payload = json!({
        "chat": wire::chat(chat),
        "from": wire::user_by_id(world, user),
        "user_chat_id": user,
        "date": now,
    });
    if let Some(link) = link {
        payload["invite_link"] = wire::invite_link_for(world, link, chat, world.bot_id());
    }
    if chat.guard_bot {
        // A guard bot gets a query to answer within 10 seconds.
        let query_id = format!("{}{:06}", world.next_serial, user.rem_euclid(1_000_000));
        world.next_serial += 1;
        payload["query_id"] = json!(query_id);
        world.join_queries.insert(
            query_id,
            super::world::JoinQuery {
                chat_id,
                user,
                date: now,
                answered: None,
                result: None,
            },
        );
    }
    enqueue(world, "chat_join_request", now, payload);
}

/// A person pressed Start in their private chat with the bot: from now on
/// the bot may message them, and it receives the `/start` message.
pub fn started_bot(world: &mut World, user: UserId, now: i64) {
    let Some(person) = world.users.get_mut(&user) else {
        return;
    };
    person.started_bot = true;
    let person = person.clone();
    let chat = world.private_chats.entry(user).or_default();
    chat.next_message_id = chat.next_message_id.max(1);
    let message_id = chat.next_message_id;
    chat.next_message_id += 1;
    let payload = json!({
        "message_id": message_id,
        "date": now,
        "chat": wire::private_chat(&person),
        "from": wire::user(&person),
        "text": "/start",
        "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
    });
    enqueue(world, "message", now, payload);
}

/// Confirm updates below `offset` (Telegram's semantics: a negative offset
/// keeps only the last `-offset` updates) and return up to `limit` of the rest.
pub fn take(world: &mut World, offset: Option<i64>, limit: usize) -> Vec<Value> {
    let queue = &mut world.updates;
    match offset {
        Some(o) if o < 0 => {
            let keep = o.unsigned_abs() as usize;
            while queue.pending.len() > keep {
                queue.pending.pop_front();
            }
        }
        Some(o) => {
            while queue.pending.front().is_some_and(|u| u.update_id < o) {
                queue.pending.pop_front();
            }
        }
        None => {}
    }
    queue
        .pending
        .iter()
        .take(limit)
        .map(|u| u.update.clone())
        .collect()
}
