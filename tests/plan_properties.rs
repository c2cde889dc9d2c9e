//! Property: for random small orgs and random live states, applying the
//! plan to the live state in memory and planning again gives no changes.
//!
//! One precondition mirrors Telegram: a bot cannot promote someone who is
//! not in the chat (the plan invites them, and promotes on a later run), so
//! the generated live states have every declared admin in the chat.

use std::collections::BTreeMap;

use orgform::model::spec::{AdminBinding, ChatSpec, Config, Person, PersonStatus, RestrictionBinding, Role, RightsSpec, Selector, SelectorRule, TopicSpec};
use orgform::plan::{self, Overrides, PlanInput};
use orgform::state::{AdminSeat, BotIdentity, ChatType, LiveChatMeta, LiveState, MemberState, MembershipMode, Permission, Right};
use orgform::store::Store;
use proptest::prelude::*;

const RIGHTS: [&str; 4] = ["delete_messages", "pin_messages", "invite_users", "restrict_members"];

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
    )
        .prop_map(|(mode, members, admins, admin_role, restricted, title, topics, live_members, live_rights, live_title, live_topic_names)| ChatGen {
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
        })
}

fn org() -> impl Strategy<Value = Org> {
    (2usize..6).prop_flat_map(|n| {
        (proptest::collection::vec((prop::bool::weighted(0.15), any::<bool>()), n), proptest::collection::vec(chat_gen(n), 1..3))
            .prop_map(|(people, chats)| Org { people, chats })
    })
}

fn config(org: &Org) -> Config {
    let mut c = Config::default();
    for (i, (off, _)) in org.people.iter().enumerate() {
        c.people.insert(
            format!("p{i}"),
            Person { telegram_id: Some(100 + i as i64), status: if *off { PersonStatus::Offboarded } else { PersonStatus::Active }, ..Default::default() },
        );
    }
    for (r, rights) in [vec![0usize], vec![0, 1], vec![0, 1, 2, 3]].iter().enumerate() {
        c.roles.insert(format!("r{r}"), Role { rights: Some(RightsSpec::List(rights.iter().map(|i| RIGHTS[*i].to_string()).collect())), ..Default::default() });
    }
    c.roles.insert("quiet".into(), Role { permissions: Some(vec!["react".into()]), ..Default::default() });
    let pick = |bits: &[bool]| -> Vec<Selector> {
        vec![Selector::Rule(SelectorRule {
            people: Some(bits.iter().enumerate().filter(|(_, b)| **b).map(|(i, _)| format!("p{i}")).collect()),
            ..Default::default()
        })]
    };
    for (k, ch) in org.chats.iter().enumerate() {
        let mode = [MembershipMode::Authoritative, MembershipMode::Additive, MembershipMode::Observe][ch.mode as usize];
        let topics: BTreeMap<String, TopicSpec> =
            (0..ch.topics).map(|t| (format!("t{t}"), TopicSpec { name: format!("Topic {t}"), ..Default::default() })).collect();
        c.chats.insert(
            format!("c{k}"),
            ChatSpec {
                id: Some(-1000 - k as i64),
                kind: Some(ChatType::Supergroup),
                title: ch.title.then(|| format!("Chat {k}")),
                forum: Some(true),
                membership: Some(mode),
                members: Some(pick(&ch.members)),
                admins: Some(vec![AdminBinding { role: format!("r{}", ch.admin_role), members: pick(&ch.admins), title: None }]),
                restricted: Some(vec![RestrictionBinding { role: Some("quiet".into()), members: pick(&ch.restricted), ..Default::default() }]),
                topics: Some(topics),
                ..Default::default()
            },
        );
    }
    c
}

fn live(org: &Org, desired: &orgform::state::DesiredState) -> LiveState {
    let mut live = LiveState { bot: Some(BotIdentity { id: 1, username: "bot".into() }), ..Default::default() };
    for (k, ch) in org.chats.iter().enumerate() {
        let key = format!("c{k}");
        let want = &desired.state.chats[&key];
        let mut chat = orgform::state::ChatState::new(want.id, ChatType::Supergroup);
        chat.membership = want.membership;
        chat.settings.title = Some(if ch.live_title { format!("Chat {k}") } else { "Old".into() });
        chat.settings.forum = Some(true);
        for t in 0..3u8 {
            if ch.live_topic_names[t as usize] {
                let topic = orgform::state::Topic { name: format!("Old {t}"), icon_color: None, closed: false, thread_id: Some(t as i64 + 1) };
                chat.topics.insert(format!("t{t}"), topic);
            }
        }
        for (i, state) in ch.live_members.iter().enumerate() {
            let user = 100 + i as i64;
            let mut state = *state;
            // Precondition: declared admins are in the chat.
            if want.admins.contains_key(&user) && matches!(state, 0 | 3) {
                state = 1;
            }
            match state {
                1 => {
                    chat.members.insert(user, MemberState::Member);
                }
                2 => {
                    chat.members.insert(user, MemberState::Restricted { permissions: [Permission::SendMessages].into_iter().collect(), until: None });
                }
                3 => {
                    chat.members.insert(user, MemberState::Banned);
                }
                4 => {
                    let rights = ch.live_rights[i].iter().enumerate().filter(|(_, b)| **b).filter_map(|(j, _)| RIGHTS[j].parse::<Right>().ok()).collect();
                    chat.admins.insert(user, AdminSeat { rights, title: None, owner: false });
                }
                _ => {}
            }
        }
        live.meta.insert(key.clone(), LiveChatMeta { bot_rights: Some(Right::all_for(ChatType::Supergroup)), ..Default::default() });
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
        let desired = orgform::model::resolve::resolve(&config, now);
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
