//! Building a world from a desired state (`sandbox init --from CONFIG`, the
//! `--sandbox` flag of plan/apply/drift, and `generate`): every declared
//! chat exists with the bot as a full administrator and a person as owner,
//! every person is a user, declared admins and members are in place, and
//! then some deterministic drift is laid on top so that a first plan has
//! something to do: members who never joined, a stray member and a stray
//! admin, offboarded people still inside, an old title.
//!
//! The owner is the declared admin with the most rights (real chats are
//! usually owned by someone the config also names); the planner must leave
//! the owner's seat alone, as Telegram does not let a bot edit it.

use std::collections::BTreeSet;

use rand::rngs::StdRng;
use rand::seq::index;
use rand::{Rng, SeedableRng};

use crate::state::{
    ChatType, DesiredState, MemberState, MembershipMode, Permission, Right, Rights, UserId,
};

use super::world::{Chat, Member, Message, User, World, full_rights};

/// How to seed a world.
#[derive(Clone, Debug, PartialEq)]
pub struct SeedOptions {
    /// Drives every random choice (user flags, which memberships drift).
    pub seed: u64,
    /// Lay drift on top of the declared state.
    pub drift: bool,
    /// Declared memberships to leave out; `None` = about one in eight per chat.
    pub missing_members: Option<usize>,
    /// Undeclared people to add to authoritative chats; `None` = one.
    pub stray_members: Option<usize>,
    /// The bot's username when the config names none.
    pub bot_username: String,
    /// The token; `None` derives one from the seed.
    pub token: Option<String>,
}

impl Default for SeedOptions {
    fn default() -> Self {
        SeedOptions {
            seed: 1,
            drift: true,
            missing_members: None,
            stray_members: None,
            bot_username: "orgform_sandbox_bot".into(),
            token: None,
        }
    }
}

/// The bot's user id in seeded worlds.
pub const BOT_ID: UserId = 7_000_000_001;

/// A token of the shape BotFather issues, derived from the seed.
pub fn token_for(bot_id: UserId, seed: u64) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5A4D_B0C5);
    let secret: String = (0..35)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{bot_id}:{secret}")
}

/// `"Alice Ng"` → ("Alice", Some("Ng")).
fn split_name(name: Option<&str>, fallback: &str) -> (String, Option<String>) {
    let name = name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(fallback);
    match name.split_once(' ') {
        Some((first, last)) => (first.to_string(), Some(last.trim().to_string())),
        None => (name.to_string(), None),
    }
}

/// Administrator rights limited to what exists in the chat type.
fn rights_for(rights: &Rights, kind: ChatType) -> Rights {
    let mut out: Rights = rights
        .iter()
        .copied()
        .filter(|r| *r == Right::Anonymous || r.valid_for(kind))
        .collect();
    if !out.is_empty() {
        out.insert(Right::ManageChat);
    }
    out
}

impl World {
    /// A world in which the desired state is (almost) true; see the module docs.
    pub fn from_desired(desired: &DesiredState, options: &SeedOptions) -> World {
        let username = desired
            .bot
            .clone()
            .unwrap_or_else(|| options.bot_username.clone());
        let token = options
            .token
            .clone()
            .unwrap_or_else(|| token_for(BOT_ID, options.seed));
        let mut world = World::new(BOT_ID, &username, token);
        let mut rng = StdRng::seed_from_u64(options.seed);

        for (id, person) in &desired.people {
            let (first, last) = split_name(person.name.as_deref(), &person.handle);
            let mut user = User::human(*id, first);
            user.last_name = last;
            user.username = person.username.clone();
            // Most people have started the bot, so personal invites can be sent.
            user.started_bot = rng.random_bool(0.8);
            world.add_user(user);
        }
        let mut next_synthetic = desired
            .people
            .keys()
            .max()
            .copied()
            .unwrap_or(1_000_000)
            .max(1_000_000)
            + 1;

        for (key, declared) in &desired.state.chats {
            let settings = &declared.settings;
            let mut chat = Chat::new(
                declared.id,
                declared.kind,
                settings.title.clone().unwrap_or_else(|| key.clone()),
            );
            chat.description = settings.description.clone().unwrap_or_default();
            if declared.kind != ChatType::Channel {
                chat.permissions = settings.permissions.clone().unwrap_or_else(Permission::all);
            }
            chat.is_forum =
                declared.kind == ChatType::Supergroup && settings.forum.unwrap_or(false);
            chat.slow_mode_delay = settings.slow_mode.unwrap_or(0);
            chat.has_protected_content = settings.protected_content.unwrap_or(false);
            chat.message_auto_delete_time = settings.auto_delete.unwrap_or(0);
            chat.join_by_request = settings.join_by_request.unwrap_or(false);

            let owner = declared
                .admins
                .iter()
                .find(|(_, seat)| seat.owner)
                .or_else(|| {
                    declared
                        .admins
                        .iter()
                        .max_by_key(|(id, seat)| (seat.rights.len(), std::cmp::Reverse(**id)))
                })
                .map(|(id, _)| *id)
                .or_else(|| {
                    declared
                        .members
                        .iter()
                        .find(|(_, m)| matches!(m, MemberState::Member))
                        .map(|(id, _)| *id)
                });
            let owner = owner.unwrap_or_else(|| {
                let id = next_synthetic;
                next_synthetic += 1;
                world.add_user(User::human(id, "Chat Owner"));
                id
            });
            for user in declared
                .admins
                .keys()
                .chain(declared.members.keys())
                .chain([&owner])
            {
                if !world.users.contains_key(user) {
                    world.add_user(User::human(*user, format!("User {user}")));
                }
            }
            let owner_title = declared.admins.get(&owner).and_then(|s| s.title.clone());
            chat.set_status(
                owner,
                Member::Creator {
                    is_anonymous: false,
                    custom_title: owner_title,
                },
            );
            chat.set_status(
                BOT_ID,
                Member::Administrator {
                    rights: full_rights(declared.kind),
                    custom_title: None,
                    promoted_by: owner,
                },
            );
            for (user, seat) in &declared.admins {
                if *user == owner || *user == BOT_ID {
                    continue;
                }
                chat.set_status(
                    *user,
                    Member::Administrator {
                        rights: rights_for(&seat.rights, declared.kind),
                        custom_title: seat.title.clone(),
                        // Promoted by the bot, so the bot may edit them.
                        promoted_by: BOT_ID,
                    },
                );
            }
            for (user, state) in &declared.members {
                if chat.members.contains_key(user) {
                    continue;
                }
                let member = match state {
                    MemberState::Member => Member::plain(),
                    MemberState::Restricted { permissions, until } => Member::Restricted {
                        permissions: permissions.clone(),
                        is_member: true,
                        until_date: until.unwrap_or(0),
                        tag: None,
                    },
                    MemberState::Banned => Member::Kicked { until_date: 0 },
                    MemberState::Absent => continue,
                };
                chat.set_status(*user, member);
            }
            // Declared tags are in place (drift changes one later).
            for (user, tag) in declared.tags.iter().flatten() {
                if let Some(Member::Member { tag: t } | Member::Restricted { tag: t, .. }) =
                    chat.members.get_mut(user)
                {
                    *t = Some(tag.clone());
                }
            }
            // The declared pinned message, posted and pinned by the bot; with
            // drift, nothing is pinned yet.
            if let Some(pinned) = declared.pinned.as_ref().filter(|_| !options.drift) {
                let message_id = chat.take_message_id();
                let message = Message {
                    message_id,
                    from: BOT_ID,
                    date: 0,
                    text: pinned.text.clone(),
                    thread_id: None,
                    edit_date: None,
                };
                chat.messages.insert(message_id, message);
                chat.pinned.push(message_id);
            }
            world.add_chat(chat);
        }

        if options.drift {
            add_drift(&mut world, desired, options, &mut rng);
        }
        world
    }
}

fn add_drift(world: &mut World, desired: &DesiredState, options: &SeedOptions, rng: &mut StdRng) {
    let chats: Vec<(String, i64)> = desired
        .state
        .chats
        .iter()
        .map(|(k, c)| (k.clone(), c.id))
        .collect();
    if chats.is_empty() {
        return;
    }

    // Members who never joined.
    let declared_members: Vec<(i64, UserId)> = desired
        .state
        .chats
        .values()
        .flat_map(|c| {
            c.members
                .iter()
                .filter(|(_, m)| matches!(m, MemberState::Member))
                .map(move |(u, _)| (c.id, *u))
        })
        .collect();
    let missing: Vec<(i64, UserId)> = match options.missing_members {
        Some(n) => {
            let n = n.min(declared_members.len());
            index::sample(rng, declared_members.len(), n)
                .into_iter()
                .map(|i| declared_members[i])
                .collect()
        }
        None => {
            // About one in eight per chat, at least one where there are two or more.
            let mut out = Vec::new();
            for (_, declared) in desired.state.chats.iter() {
                let plain: Vec<UserId> = declared
                    .members
                    .iter()
                    .filter(|(_, m)| matches!(m, MemberState::Member))
                    .map(|(u, _)| *u)
                    .collect();
                if plain.len() < 2 {
                    continue;
                }
                let n = (plain.len() / 8).max(1);
                out.extend(
                    index::sample(rng, plain.len(), n)
                        .into_iter()
                        .map(|i| (declared.id, plain[i])),
                );
            }
            out
        }
    };
    for (chat, user) in missing {
        if let Some(c) = world.chats.get_mut(&chat)
            && matches!(c.members.get(&user), Some(Member::Member { .. }))
        {
            c.members.remove(&user);
        }
    }

    let people: Vec<UserId> = desired
        .people
        .iter()
        .filter(|(_, p)| !p.offboarded)
        .map(|(id, _)| *id)
        .collect();
    let authoritative: Vec<i64> = desired
        .state
        .chats
        .values()
        .filter(|c| c.membership == MembershipMode::Authoritative)
        .map(|c| c.id)
        .collect();

    // Undeclared people inside authoritative chats.
    let strays = options.stray_members.unwrap_or(1);
    if !people.is_empty() && !authoritative.is_empty() {
        let mut added = 0;
        let mut attempts = 0;
        while added < strays && attempts < strays * 20 + 20 {
            attempts += 1;
            let chat = authoritative[rng.random_range(0..authoritative.len())];
            let user = people[rng.random_range(0..people.len())];
            let c = world.chats.get_mut(&chat).expect("seeded above");
            if c.members.contains_key(&user) || desired_has(desired, chat, user) {
                continue;
            }
            c.set_status(user, Member::plain());
            added += 1;
        }
    }

    // Offboarded people who are still in the first chat.
    let first = chats[0].1;
    for (id, person) in &desired.people {
        if person.offboarded {
            let c = world.chats.get_mut(&first).expect("seeded above");
            if !c.members.contains_key(id) {
                c.set_status(*id, Member::plain());
            }
        }
    }

    // An old tag on the first tagged person still in their chat.
    'tags: for declared in desired.state.chats.values() {
        for user in declared.tags.iter().flatten().map(|(u, _)| u) {
            let c = world.chats.get_mut(&declared.id).expect("seeded above");
            if let Some(Member::Member { tag } | Member::Restricted { tag, .. }) =
                c.members.get_mut(user)
            {
                *tag = Some("Old team".into());
                break 'tags;
            }
        }
    }

    // An old title in the first chat with a declared title.
    if let Some(declared) = desired
        .state
        .chats
        .values()
        .find(|c| c.settings.title.is_some())
    {
        let c = world.chats.get_mut(&declared.id).expect("seeded above");
        c.title = format!("{} (old)", c.title);
    }

    // A stray admin in the last chat: someone present who is not declared admin.
    let last = chats[chats.len() - 1].1;
    let c = world.chats.get_mut(&last).expect("seeded above");
    let declared_admins: BTreeSet<UserId> = desired
        .state
        .chats
        .values()
        .find(|d| d.id == last)
        .map(|d| d.admins.keys().copied().collect())
        .unwrap_or_default();
    let candidate = c
        .members
        .iter()
        .find(|(u, m)| matches!(m, Member::Member { .. }) && !declared_admins.contains(u))
        .map(|(u, _)| *u)
        .or_else(|| people.iter().copied().find(|u| !c.members.contains_key(u)));
    if let Some(user) = candidate {
        let mut rights: Rights = [Right::ManageChat, Right::DeleteMessages]
            .into_iter()
            .collect();
        if c.kind != ChatType::Channel {
            rights.insert(Right::PinMessages);
        }
        c.set_status(
            user,
            Member::Administrator {
                rights,
                custom_title: None,
                promoted_by: BOT_ID,
            },
        );
    }
}

fn desired_has(desired: &DesiredState, chat: i64, user: UserId) -> bool {
    desired
        .state
        .chats
        .values()
        .find(|c| c.id == chat)
        .is_some_and(|c| c.admins.contains_key(&user) || c.members.contains_key(&user))
}
