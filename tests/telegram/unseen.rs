//! `read::Records::Fresh`: with a fresh watch ledger, a person never seen
//! in a chat whose member count is fully accounted for is not asked about,
//! and a person known absent stays absent without a call. Never at the
//! cost of missing someone: a person actually in the chat (unseen by the
//! store) makes the count disagree, is asked about, found, and the plan
//! removes them; a stale ledger, or none, trusts nothing.

use std::collections::BTreeSet;

use crate::telegram_common::*;
use orgform::sandbox::FaultOptions;
use orgform::sandbox::world::Member;
use orgform::state::{DesiredState, MemberState, UserId};
use orgform::store::Store;
use orgform::store::ledger::LedgerStatus;
use orgform::telegram::read::{self, Records};

/// A chat and a person declared elsewhere but not in it (so neither the
/// world nor the store has them there).
fn outsider(desired: &DesiredState) -> (String, UserId) {
    for (key, chat) in &desired.state.chats {
        let inside: BTreeSet<UserId> = chat
            .members
            .keys()
            .chain(chat.admins.keys())
            .copied()
            .collect();
        let other = desired
            .state
            .chats
            .values()
            .flat_map(|c| c.members.keys())
            .find(|u| !inside.contains(u));
        if let Some(u) = other {
            return (key.clone(), *u);
        }
    }
    panic!("examples/acme has someone outside some chat")
}

async fn read_one(
    client: &orgform::telegram::Client,
    desired: &DesiredState,
    store: &mut Store,
    key: &str,
    records: Records,
) -> orgform::state::LiveState {
    read::read_chats_with(
        client,
        desired,
        store,
        unix_now(),
        &[key.to_string()],
        records,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn an_offboarded_person_never_seen_is_not_asked_about_when_everyone_is_known() {
    let mut desired = acme();
    let sandbox = start(exact_world(&desired), FaultOptions::default()).await;
    let client = client(&sandbox);
    let (key, user) = outsider(&desired);
    let mut store = Store::default();
    read_one(&client, &desired, &mut store, &key, Records::Ask).await;
    assert!(
        !store
            .chat(desired.state.chats[&key].id)
            .unwrap()
            .members
            .contains_key(&user)
    );

    // Offboarded: must not be in the chat.
    desired
        .state
        .chats
        .get_mut(&key)
        .unwrap()
        .members
        .insert(user, MemberState::Absent);
    sandbox.reset_stats();
    let live = read_one(&client, &desired, &mut store.clone(), &key, Records::Ask).await;
    assert_eq!(
        sandbox.stats().calls("getChatMember"),
        1,
        "asked without a fresh ledger"
    );
    assert_eq!(live.state.chats[&key].members[&user], MemberState::Absent);

    sandbox.reset_stats();
    let live = read_one(
        &client,
        &desired,
        &mut store,
        &key,
        Records::Fresh { since: 0 },
    )
    .await;
    assert_eq!(
        sandbox.stats().calls("getChatMember"),
        0,
        "{:?}",
        sandbox.stats().methods
    );
    assert_eq!(live.state.chats[&key].members[&user], MemberState::Absent);
    // What was concluded is remembered, so the store can fold it.
    let id = desired.state.chats[&key].id;
    assert_eq!(
        store.chat(id).unwrap().members[&user].status,
        MemberState::Absent
    );
    sandbox.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_person_in_the_chat_the_store_never_saw_is_still_found_and_removed() {
    let mut desired = acme();
    let mut world = exact_world(&desired);
    let (key, user) = outsider(&desired);
    let id = desired.state.chats[&key].id;
    // They joined by hand before anyone was watching: no record of it.
    world
        .chats
        .get_mut(&id)
        .unwrap()
        .set_status(user, Member::plain());
    let sandbox = start(world, FaultOptions::default()).await;
    let client = client(&sandbox);
    let mut store = Store::default();
    read_one(&client, &desired, &mut store, &key, Records::Ask).await;
    assert!(!store.chat(id).unwrap().members.contains_key(&user));

    desired
        .state
        .chats
        .get_mut(&key)
        .unwrap()
        .members
        .insert(user, MemberState::Absent);
    sandbox.reset_stats();
    let live = read_one(
        &client,
        &desired,
        &mut store,
        &key,
        Records::Fresh { since: 0 },
    )
    .await;
    // The member count has one more than the store knows: asked, and found.
    assert_eq!(sandbox.stats().calls("getChatMember"), 1);
    assert_eq!(live.state.chats[&key].members[&user], MemberState::Member);

    // And the plan removes them: one change more than if they were gone.
    let store = Store::default();
    let members = |live: &orgform::state::LiveState| {
        let plan = orgform::plan::build(orgform::plan::PlanInput {
            desired: &desired,
            live,
            store: &store,
            policies: None,
            overrides: Default::default(),
            now: jiff::Timestamp::now(),
            only: Some(vec![key.clone()]),
        });
        plan.changes
            .iter()
            .filter(|c| c.address.to_string().contains(".member."))
            .map(|c| c.address.to_string())
            .collect::<Vec<_>>()
    };
    let mut gone = live.clone();
    gone.state
        .chats
        .get_mut(&key)
        .unwrap()
        .members
        .insert(user, MemberState::Absent);
    let (with, without) = (members(&live), members(&gone));
    assert_eq!(with.len(), without.len() + 1, "{with:?} / {without:?}");
    sandbox.shutdown().await.unwrap();
}

#[tokio::test]
async fn someone_invited_and_not_joined_is_not_asked_again_with_a_fresh_ledger() {
    let mut desired = acme();
    let sandbox = start(exact_world(&desired), FaultOptions::default()).await;
    let client = client(&sandbox);
    let (key, user) = outsider(&desired);
    let mut store = Store::default();
    // Declared a member, not in the chat: asked once, found absent.
    desired
        .state
        .chats
        .get_mut(&key)
        .unwrap()
        .members
        .insert(user, MemberState::Member);
    read_one(&client, &desired, &mut store, &key, Records::Ask).await;
    sandbox.reset_stats();
    read_one(&client, &desired, &mut store, &key, Records::Ask).await;
    assert_eq!(
        sandbox.stats().calls("getChatMember"),
        1,
        "asked again without a fresh ledger"
    );
    // A record older than the last full member check may predate a gap:
    // asked about again.
    sandbox.reset_stats();
    let later = unix_now() + 3600;
    read_one(
        &client,
        &desired,
        &mut store.clone(),
        &key,
        Records::Fresh { since: later },
    )
    .await;
    assert_eq!(
        sandbox.stats().calls("getChatMember"),
        1,
        "an old record is not trusted"
    );
    sandbox.reset_stats();
    let live = read_one(
        &client,
        &desired,
        &mut store,
        &key,
        Records::Fresh { since: 0 },
    )
    .await;
    assert_eq!(sandbox.stats().calls("getChatMember"), 0);
    assert_eq!(live.state.chats[&key].members[&user], MemberState::Absent);
    sandbox.shutdown().await.unwrap();
}

#[tokio::test]
async fn members_recorded_before_the_last_full_check_do_not_account_for_the_count() {
    let mut desired = acme();
    let sandbox = start(exact_world(&desired), FaultOptions::default()).await;
    let client = client(&sandbox);
    let (key, user) = outsider(&desired);
    let mut store = Store::default();
    read_one(&client, &desired, &mut store, &key, Records::Ask).await;
    desired
        .state
        .chats
        .get_mut(&key)
        .unwrap()
        .members
        .insert(user, MemberState::Absent);
    // The full member check ran after these records were made: they may
    // predate a gap, so the count is not taken as accounted for.
    sandbox.reset_stats();
    let later = unix_now() + 3600;
    read_one(
        &client,
        &desired,
        &mut store,
        &key,
        Records::Fresh { since: later },
    )
    .await;
    assert_eq!(sandbox.stats().calls("getChatMember"), 1);
    sandbox.shutdown().await.unwrap();
}

#[test]
fn only_a_fresh_ledger_is_trusted() {
    let status = |stale: Option<&str>| LedgerStatus {
        watch: None,
        heartbeat: Some(1),
        full_check: Some(1),
        stale: stale.map(str::to_string),
    };
    assert_eq!(Records::from_ledger(None), Records::Ask);
    let never_checked = LedgerStatus {
        full_check: None,
        ..status(None)
    };
    assert_eq!(Records::from_ledger(Some(&never_checked)), Records::Ask);
    assert_eq!(
        Records::from_ledger(Some(&status(Some("down for 3 days")))),
        Records::Ask
    );
    assert_eq!(
        Records::from_ledger(Some(&status(None))),
        Records::Fresh { since: 1 }
    );
}
