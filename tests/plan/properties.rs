//! Property: for random small orgs and random live states, applying the
//! plan to the live state in memory and planning again gives no changes.
//!
//! One precondition mirrors Telegram: a bot cannot promote someone who is
//! not in the chat (the plan invites them, and promotes on a later run), so
//! the generated live states have every declared admin in the chat.

use std::collections::BTreeMap;

use orgform::plan::{self, Overrides, PlanInput};
use orgform::spec::{
    AdminBinding, ChatSpec, Config, Person, PersonStatus, PinnedSpec, RestrictionBinding,
    RightsSpec, Role, Selector, SelectorRule, TagBinding, TopicSpec,
};
use orgform::state::{
    AdminSeat, BotIdentity, ChatType, LiveChatMeta, LiveState, MemberState, MembershipMode,
    Permission, Photo, PinnedMessage, Right,
};
use orgform::store::Store;
use proptest::prelude::*;

const RIGHTS: [&str; 4] = [
    "delete_messages",
    "pin_messages",
    "invite_users",
    "restrict_members",
];

#[derive(Debug, Clone)]
struct Org {
    people: Vec<(bool, bool)>, // (offboarded, member of chat 0/1 selection bit)
    chats: Vec<ChatGen>,
}

#[derive(Debug, Clone)]
struct ChatGen {
    mode: u8,
    members: Vec<bool>,
    admins: Vec<bool>,
    admin_role: usize,
    restricted: Vec<bool>,
    title: bool,
    topics: u8,
    // live side
    live_members: Vec<u8>, // 0 absent, 1 member, 2 restricted, 3 banned, 4 admin
    live_rights: Vec<Vec<bool>>,
    live_title: bool,
    live_topic_names: Vec<bool>,
    /// Per person: 0 no tag binding, 1 tag "A", 2 tag "B"; and live tags the same way.
    tags: Vec<u8>,
    live_tags: Vec<u8>,
    /// Pinned: none or declared; live 0 nothing, 1 the bot's with that text, 2 the bot's with other text, 3 a person's.
    pinned: bool,
    live_pinned: u8,
    /// Photo: none or declared; live 0 none, 1 the same, 2 another.
    photo: bool,
    live_photo: u8,
}

fn chat_gen(n: usize) -> impl Strategy<Value = ChatGen> {
    (
        0u8..3,
        proptest::collection::vec(any::<bool>(), n),
        proptest::collection::vec(any::<bool>(), n),
        0usize..3,
        proptest::collection::vec(any::<bool>(), n),
        any::<bool>(),
        0u8..3,
        proptest::collection::vec(0u8..5, n),
        proptest::collection::vec(proptest::collection::vec(any::<bool>(), 4), n),
        any::<bool>(),
        proptest::collection::vec(any::<bool>(), 3),
        (
            proptest::collection::vec(0u8..3, n),
            proptest::collection::vec(0u8..3, n),
            any::<bool>(),
            0u8..4,
            any::<bool>(),
            0u8..3,
        ),
    )
        .prop_map(
            |(
                mode,
                members,
                admins,
                admin_role,
                restricted,
                title,
                topics,
                live_members,
                live_rights,
                live_title,
                live_topic_names,
                (tags, live_tags, pinned, live_pinned, photo, live_photo),
            )| ChatGen {
                mode,
                members,
                admins,
                admin_role,
                restricted,
                title,
                topics,
                live_members,
                live_rights,
                live_title,
                live_topic_names,
                tags,
                live_tags,
                pinned,
                live_pinned,
                photo,
                live_photo,
            },
        )
}

fn org() -> impl Strategy<Value = Org> {
    (2usize..6).prop_flat_map(|n| {
        (
            proptest::collection::vec((prop::bool::weighted(0.15), any::<bool>()), n),
            proptest::collection::vec(chat_gen(n), 1..3),
        )
            .prop_map(|(people, chats)| Org { people, chats })
    })
}

fn config(org: &Org) -> Config {
    let mut c = Config::default();
    for (i, (off, _)) in org.people.iter().enumerate() {
        c.people.insert(
            format!("p{i}"),
            Person {
                telegram_id: Some(100 + i as i64),
                status: if *off {
                    PersonStatus::Offboarded
                } else {
                    PersonStatus::Active
                },
                ..Default::default()
            },
        );
    }
    for (r, rights) in [vec![0usize], vec![0, 1], vec![0, 1, 2, 3]]
        .iter()
        .enumerate()
    {
        c.roles.insert(
            format!("r{r}"),
            Role {
                rights: Some(RightsSpec::List(
                    rights.iter().map(|i| RIGHTS[*i].to_string()).collect(),
                )),
                ..Default::default()
            },
        );
    }
    c.roles.insert(
        "quiet".into(),
        Role {
            permissions: Some(vec!["react".into()]),
            ..Default::default()
        },
    );
    let pick = |bits: &[bool]| -> Vec<Selector> {
        vec![Selector::Rule(SelectorRule {
            people: Some(
                bits.iter()
                    .enumerate()
                    .filter(|(_, b)| **b)
                    .map(|(i, _)| format!("p{i}"))
                    .collect(),
            ),
            ..Default::default()
        })]
    };
    for (k, ch) in org.chats.iter().enumerate() {
        let mode = [
            MembershipMode::Authoritative,
            MembershipMode::Additive,
            MembershipMode::Observe,
        ][ch.mode as usize];
        let topics: BTreeMap<String, TopicSpec> = (0..ch.topics)
            .map(|t| {
                (
                    format!("t{t}"),
                    TopicSpec {
                        name: format!("Topic {t}"),
                        ..Default::default()
                    },
                )
            })
            .collect();
        c.chats.insert(
            format!("c{k}"),
            ChatSpec {
                id: Some(-1000 - k as i64),
                kind: Some(ChatType::Supergroup),
                title: ch.title.then(|| format!("Chat {k}")),
                forum: Some(true),
                membership: Some(mode),
                members: Some(pick(&ch.members)),
                admins: Some(vec![AdminBinding {
                    role: format!("r{}", ch.admin_role),
                    members: pick(&ch.admins),
                    title: None,
                }]),
                restricted: Some(vec![RestrictionBinding {
                    role: Some("quiet".into()),
                    members: pick(&ch.restricted),
                    ..Default::default()
                }]),
                topics: Some(topics),
                tags: Some(
                    ["A", "B"]
                        .iter()
                        .enumerate()
                        .map(|(t, tag)| TagBinding {
                            tag: tag.to_string(),
                            members: pick(
                                &ch.tags
                                    .iter()
                                    .map(|v| *v as usize == t + 1)
                                    .collect::<Vec<_>>(),
                            ),
                        })
                        .collect(),
                ),
                pinned: ch.pinned.then(|| PinnedSpec {
                    text: "Rules".into(),
                    notify: None,
                }),
                photo: ch.photo.then(|| "logo.png".into()),
                ..Default::default()
            },
        );
    }
    c
}

fn live(org: &Org, desired: &orgform::state::DesiredState) -> LiveState {
    let mut live = LiveState {
        bot: Some(BotIdentity {
            id: 1,
            username: "bot".into(),
        }),
        ..Default::default()
    };
    for (k, ch) in org.chats.iter().enumerate() {
        let key = format!("c{k}");
        let want = &desired.state.chats[&key];
        let mut chat = orgform::state::ChatState::new(want.id, ChatType::Supergroup);
        chat.membership = want.membership;
        chat.settings.title = Some(if ch.live_title {
            format!("Chat {k}")
        } else {
            "Old".into()
        });
        chat.settings.forum = Some(true);
        for t in 0..3u8 {
            if ch.live_topic_names[t as usize] {
                let topic = orgform::state::Topic {
                    name: format!("Old {t}"),
                    icon_color: None,
                    closed: false,
                    thread_id: Some(t as i64 + 1),
                };
                chat.topics.insert(format!("t{t}"), topic);
            }
        }
        for (i, state) in ch.live_members.iter().enumerate() {
            let user = 100 + i as i64;
            let mut state = *state;
            // Precondition: declared admins, and members who carry a tag,
            // are in the chat (the bot cannot promote or tag people who
            // are not: it invites them, and does that on a later run).
            let tagged = want.tags.as_ref().is_some_and(|t| t.contains_key(&user))
                && matches!(
                    want.members.get(&user),
                    Some(MemberState::Member | MemberState::Restricted { .. })
                );
            if (want.admins.contains_key(&user) || tagged) && matches!(state, 0 | 3) {
                state = 1;
            }
            // Only members in the chat carry tags (as a read shows them).
            if ch.live_tags[i] > 0 && matches!(state, 1 | 2) {
                chat.tags
                    .get_or_insert_with(Default::default)
                    .insert(user, ["A", "B"][ch.live_tags[i] as usize - 1].to_string());
            }
            match state {
                1 => {
                    chat.members.insert(user, MemberState::Member);
                }
                2 => {
                    chat.members.insert(
                        user,
                        MemberState::Restricted {
                            permissions: [Permission::SendMessages].into_iter().collect(),
                            until: None,
                        },
                    );
                }
                3 => {
                    chat.members.insert(user, MemberState::Banned);
                }
                4 => {
                    let rights = ch.live_rights[i]
                        .iter()
                        .enumerate()
                        .filter(|(_, b)| **b)
                        .filter_map(|(j, _)| RIGHTS[j].parse::<Right>().ok())
                        .collect();
                    chat.admins.insert(
                        user,
                        AdminSeat {
                            rights,
                            title: None,
                            owner: false,
                        },
                    );
                }
                _ => {}
            }
        }
        chat.pinned = match ch.live_pinned {
            1 => Some(PinnedMessage {
                text: "Rules".into(),
                message_id: Some(5),
                by_bot: true,
                notify: false,
            }),
            2 => Some(PinnedMessage {
                text: "Old rules".into(),
                message_id: Some(5),
                by_bot: true,
                notify: false,
            }),
            3 => Some(PinnedMessage {
                text: "Lunch?".into(),
                message_id: Some(6),
                by_bot: false,
                notify: false,
            }),
            _ => None,
        };
        chat.settings.photo = Some(match ch.live_photo {
            1 => Photo::File {
                sha256: "aa".into(),
                name: String::new(),
                path: Default::default(),
            },
            2 => Photo::Other {
                file_unique_id: "AQb1".into(),
            },
            _ => Photo::None,
        });
        live.meta.insert(
            key.clone(),
            LiveChatMeta {
                bot_rights: Some(Right::all_for(ChatType::Supergroup)),
                ..Default::default()
            },
        );
        live.state.chats.insert(key, chat);
    }
    live
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn plan_then_apply_then_plan_is_empty(org in org()) {
        let now: jiff::Timestamp = "2026-11-27T12:00:00Z".parse().unwrap();
        let config = config(&org);
        let mut desired = orgform::model::resolve::resolve(&config, now);
        // What `photo::digest` does for files on disk.
        for chat in desired.state.chats.values_mut() {
            if let Some(Photo::File { sha256, .. }) = &mut chat.settings.photo {
                *sha256 = "aa".into();
            }
        }
        let mut live = live(&org, &desired);
        let store = Store::default();
        let overrides = Overrides { removals: true, demotions: true, few_admins: true };
        let first = plan::build(PlanInput { desired: &desired, live: &live, store: &store, policies: None, overrides: overrides.clone(), now, only: None });
        plan::simulate::simulate(&mut live, &first.changes);
        let second = plan::build(PlanInput { desired: &desired, live: &live, store: &store, policies: None, overrides, now, only: None });
        let left: Vec<String> = second.changes.iter().map(|c| format!("{} {:?}", c.address, c.op)).collect();
        prop_assert!(second.changes.is_empty(), "after applying {} changes, still: {left:#?}", first.changes.len());
    }
}
