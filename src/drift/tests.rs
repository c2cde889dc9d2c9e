//! Drift on a converged fake: start from a live state equal to the desired
//! one, change one thing, and check the item it produces and its fixer.

use super::*;
use crate::plan::simulate::converged;
use crate::state::{AdminSeat, BotIdentity, Permission, Right};
use crate::store::SeenMember;

const CONFIG: &str = r#"
people:
  alice: {telegram_id: 1, department: eng}
  bob: {telegram_id: 2, department: eng}
  carol: {telegram_id: 3, department: sales}
  dave: {telegram_id: 4, department: sales}
  erin: {telegram_id: 5, department: eng}
  mallory: {telegram_id: 6, status: offboarded}
departments:
  eng: {leads: [alice]}
  sales: {leads: [carol]}
roles:
  lead: {title: Lead, rights: [delete_messages, pin_messages, invite_users]}
  quiet: {permissions: [react]}
chats:
  eng:
    id: -1001
    type: supergroup
    title: Engineering
    description: Everything engineering.
    forum: true
    protected_content: true
    permissions: [send_messages, react]
    members: [{department: eng}]
    restricted: [{role: quiet, members: [{person: dave}]}]
    banned: [{person: carol}]
    admins: [{role: lead, members: [{leads_of: eng}]}]
    topics: {releases: {name: Releases, icon_color: 7322096}}
    invite_links: {onboarding: {name: Onboarding, join_request: true}}
  sales:
    id: -1002
    type: supergroup
    title: Sales
    membership: additive
    members: [{department: sales}]
    admins: [{role: lead, members: [{leads_of: sales}]}]
  lounge:
    id: -1003
    type: supergroup
    title: Lounge
    membership: observe
    members: [{department: sales}]
"#;

const BOT: i64 = 999;

fn now() -> jiff::Timestamp {
    "2026-11-27T12:00:00Z".parse().unwrap()
}

fn desired() -> DesiredState {
    match crate::model::load_text("org.yaml", CONFIG, now()) {
        Ok(model) => model.desired,
        Err(e) => panic!(
            "{}",
            crate::render::diagnostics::text(
                &e.sources,
                &e.diagnostics,
                crate::render::Style::Plain
            )
        ),
    }
}

/// The converged fake, with Telegram's count: banned people are not in
/// the chat, so getChatMemberCount does not count them.
fn live(desired: &DesiredState) -> LiveState {
    let mut live = converged(
        desired,
        BotIdentity {
            id: BOT,
            username: "org_bot".into(),
        },
    );
    for (key, chat) in &live.state.chats {
        let present = chat.members.values().filter(|m| present(m)).count() + chat.admins.len() + 1;
        live.meta.get_mut(key).unwrap().member_count = Some(present as u64);
    }
    live
}

fn detect_with(desired: &DesiredState, live: &LiveState, store: &Store) -> DriftReport {
    detect(&DriftInput {
        desired,
        live,
        store,
        now: now(),
        updates: UpdateFeed::NotRead,
    })
}

fn items(report: &DriftReport) -> Vec<(String, Kind, Status, Fixer)> {
    report
        .items()
        .map(|(_, i)| (i.address.to_string(), i.kind, i.status, i.fixer))
        .collect()
}

fn chat<'a>(live: &'a mut LiveState, key: &str) -> &'a mut ChatState {
    live.state.chats.get_mut(key).unwrap()
}

#[test]
fn a_converged_org_has_no_drift() {
    let d = desired();
    let report = detect_with(&d, &live(&d), &Store::default());
    assert_eq!(items(&report), vec![]);
    assert!(!report.has_drift());
    assert_eq!(report.summary.chats, 3);
    assert_eq!(report.format_version, FORMAT_VERSION);
}

#[test]
fn what_telegram_fills_in_or_omits_is_not_drift() {
    let d = desired();
    let mut l = live(&d);
    // The reader turns omitted fields into false/0/"" for every chat.
    for chat in l.state.chats.values_mut() {
        let s = &mut chat.settings;
        s.description.get_or_insert_with(String::new);
        s.forum.get_or_insert(false);
        s.slow_mode.get_or_insert(0);
        s.protected_content.get_or_insert(false);
        s.auto_delete.get_or_insert(0);
        s.join_by_request.get_or_insert(false);
    }
    let report = detect_with(&d, &l, &Store::default());
    assert_eq!(items(&report), vec![]);
}

#[test]
fn a_title_changed_by_hand_is_fixed_by_apply() {
    let d = desired();
    let mut l = live(&d);
    chat(&mut l, "eng").settings.title = Some("Hacked".into());
    let report = detect_with(&d, &l, &Store::default());
    assert_eq!(
        items(&report),
        vec![(
            "chat.eng.title".into(),
            Kind::Settings,
            Status::Drift,
            Fixer::Apply
        )]
    );
    let (_, item) = report.items().next().unwrap();
    assert_eq!(item.expected, json!("Engineering"));
    assert_eq!(item.actual, json!("Hacked"));
    assert!(report.has_drift());
}

#[test]
fn protected_content_switched_off_needs_a_person() {
    let d = desired();
    let mut l = live(&d);
    chat(&mut l, "eng").settings.protected_content = Some(false);
    let report = detect_with(&d, &l, &Store::default());
    assert_eq!(
        items(&report),
        vec![(
            "chat.eng.protected_content".into(),
            Kind::ManualSettings,
            Status::Drift,
            Fixer::Person
        )]
    );
    let (_, item) = report.items().next().unwrap();
    assert_eq!(
        (item.expected.clone(), item.actual.clone()),
        (json!(true), json!(false))
    );
    assert!(item.fix.contains("content protection on"), "{}", item.fix);
}

#[test]
fn a_stray_admin_is_fixed_by_apply_unless_a_person_promoted_them() {
    let d = desired();
    let mut l = live(&d);
    let eng = chat(&mut l, "eng");
    eng.members.remove(&2);
    eng.admins.insert(
        2,
        AdminSeat {
            rights: [Right::ManageChat, Right::PinMessages]
                .into_iter()
                .collect(),
            ..AdminSeat::default()
        },
    );
    let report = detect_with(&d, &l, &Store::default());
    assert_eq!(
        items(&report),
        vec![(
            "chat.eng.admin.bob".into(),
            Kind::UnexpectedAdmins,
            Status::Drift,
            Fixer::Apply
        )]
    );

    // Promoted by a person: the bot cannot edit the seat.
    l.meta.get_mut("eng").unwrap().not_editable.insert(2);
    let report = detect_with(&d, &l, &Store::default());
    assert_eq!(
        items(&report),
        vec![(
            "chat.eng.admin.bob".into(),
            Kind::UnexpectedAdmins,
            Status::Drift,
            Fixer::Person
        )]
    );
    let (_, item) = report.items().next().unwrap();
    assert_eq!(item.person.as_deref(), Some("bob"));
    assert_eq!(
        item.actual["rights"],
        json!(["manage_chat", "pin_messages"])
    );
}

#[test]
fn admin_rights_and_titles_that_differ() {
    let d = desired();
    let mut l = live(&d);
    let seat = chat(&mut l, "eng").admins.get_mut(&1).unwrap();
    seat.rights.remove(&Right::PinMessages);
    seat.title = Some("Boss".into());
    let report = detect_with(&d, &l, &Store::default());
    assert_eq!(
        items(&report),
        vec![
            (
                "chat.eng.admin.alice".into(),
                Kind::AdminRights,
                Status::Drift,
                Fixer::Apply
            ),
            (
                "chat.eng.admin.alice".into(),
                Kind::AdminRights,
                Status::Drift,
                Fixer::Apply
            ),
        ]
    );
    // The same on a seat the bot cannot edit: a person must.
    l.meta.get_mut("eng").unwrap().not_editable.insert(1);
    let report = detect_with(&d, &l, &Store::default());
    let fixers: Vec<Fixer> = report.items().map(|(_, i)| i.fixer).collect();
    assert_eq!(
        fixers,
        vec![Fixer::Person, Fixer::Person],
        "{:#?}",
        items(&report)
    );
}

#[test]
fn undeclared_members_per_membership_mode() {
    let d = desired();
    let mut l = live(&d);
    for key in ["eng", "sales", "lounge"] {
        chat(&mut l, key).members.insert(42, MemberState::Member);
        *l.meta.get_mut(key).unwrap().member_count.as_mut().unwrap() += 1;
    }
    let report = detect_with(&d, &l, &Store::default());
    assert_eq!(
        items(&report),
        vec![
            (
                "chat.eng.member.42".into(),
                Kind::UndeclaredMembers,
                Status::Drift,
                Fixer::Apply
            ),
            (
                "chat.sales.member.42".into(),
                Kind::UndeclaredMembers,
                Status::Drift,
                Fixer::Person
            ),
        ]
    );
}

#[test]
fn an_offboarded_person_still_inside_is_removed_by_apply() {
    let d = desired();
    let mut l = live(&d);
    chat(&mut l, "eng").members.insert(6, MemberState::Member);
    *l.meta
        .get_mut("eng")
        .unwrap()
        .member_count
        .as_mut()
        .unwrap() += 1;
    let report = detect_with(&d, &l, &Store::default());
    assert_eq!(
        items(&report),
        vec![(
            "chat.eng.member.mallory".into(),
            Kind::UndeclaredMembers,
            Status::Drift,
            Fixer::Apply
        )]
    );
    let (_, item) = report.items().next().unwrap();
    assert_eq!(
        item.why,
        vec!["offboarded: removed from every managed chat".to_string()]
    );
}

#[test]
fn a_declared_member_who_left_must_rejoin() {
    let d = desired();
    let mut l = live(&d);
    chat(&mut l, "eng").members.insert(5, MemberState::Absent);
    *l.meta
        .get_mut("eng")
        .unwrap()
        .member_count
        .as_mut()
        .unwrap() -= 1;
    let mut store = Store::default();
    store.see_member(
        -1001,
        5,
        MemberState::Absent,
        now().as_second() - 3600,
        "update",
    );
    let report = detect_with(&d, &l, &store);
    assert_eq!(
        items(&report),
        vec![(
            "chat.eng.member.erin".into(),
            Kind::MissingMembers,
            Status::Drift,
            Fixer::Person
        )]
    );
    let (_, item) = report.items().next().unwrap();
    assert_eq!(
        item.actual,
        json!({"status": "absent", "seen": "2026-11-27T11:00:00Z", "source": "update"})
    );
    assert_eq!(item.expected, json!({"status": "member"}));
    assert!(
        item.fix
            .contains("orgform apply` creates a personal invite"),
        "{}",
        item.fix
    );

    // Once a personal invite is out, the report says so.
    let link = crate::state::InviteLink {
        url: Some("https://t.me/+x".into()),
        name: "orgform: erin".into(),
        expires: Some(now().as_second() + 3600),
        member_limit: Some(1),
        join_request: false,
        revoked: false,
    };
    store.chat_mut(-1001).personal_invites.insert(5, link);
    let report = detect_with(&d, &l, &store);
    let (_, item) = report.items().next().unwrap();
    assert!(
        item.fix
            .starts_with("a personal invite link was sent (valid until 2026-11-27T13:00:00Z)"),
        "{}",
        item.fix
    );
}

#[test]
fn restrictions_and_bans_that_differ_are_fixed_by_apply() {
    let d = desired();
    let mut l = live(&d);
    chat(&mut l, "eng").members.insert(4, MemberState::Member);
    chat(&mut l, "eng").members.insert(
        2,
        MemberState::Restricted {
            permissions: [Permission::ReactToMessages].into_iter().collect(),
            until: None,
        },
    );
    let report = detect_with(&d, &l, &Store::default());
    assert_eq!(
        items(&report),
        vec![
            (
                "chat.eng.member.bob".into(),
                Kind::Restrictions,
                Status::Drift,
                Fixer::Apply
            ),
            (
                "chat.eng.member.dave".into(),
                Kind::Restrictions,
                Status::Drift,
                Fixer::Apply
            ),
        ]
    );
}

#[test]
fn topics_and_links_changed_or_removed() {
    let d = desired();
    let mut l = live(&d);
    let eng = chat(&mut l, "eng");
    eng.topics.get_mut("releases").unwrap().name = "Ship it".into();
    eng.invite_links.clear();
    let report = detect_with(&d, &l, &Store::default());
    assert_eq!(
        items(&report),
        vec![
            (
                "chat.eng.topic.releases".into(),
                Kind::Topics,
                Status::Drift,
                Fixer::Apply
            ),
            (
                "chat.eng.invite.onboarding".into(),
                Kind::InviteLinks,
                Status::Drift,
                Fixer::Apply
            ),
        ]
    );
    let topic = report.items().next().unwrap().1;
    assert_eq!(topic.actual, json!("Ship it"));
    assert_eq!(topic.expected, json!("Releases"));

    // A colour the Bot API cannot change back: a person must.
    let mut l = live(&d);
    chat(&mut l, "eng")
        .topics
        .get_mut("releases")
        .unwrap()
        .icon_color = Some(16766590);
    let report = detect_with(&d, &l, &Store::default());
    assert_eq!(
        items(&report),
        vec![(
            "chat.eng.topic.releases".into(),
            Kind::Topics,
            Status::Drift,
            Fixer::Person
        )]
    );
}

#[test]
fn blind_spots_are_listed_but_are_not_drift() {
    let d = desired();
    let report = detect_with(&d, &live(&d), &Store::default());
    let eng = report.chats.iter().find(|c| c.key == "eng").unwrap();
    assert_eq!(eng.blind_spots.len(), 2, "{:?}", eng.blind_spots);
    assert!(!report.has_drift());
}

#[test]
fn people_the_bot_api_cannot_see_are_unknown_not_no_drift() {
    let d = desired();
    let mut l = live(&d);
    *l.meta
        .get_mut("eng")
        .unwrap()
        .member_count
        .as_mut()
        .unwrap() += 2;
    *l.meta
        .get_mut("lounge")
        .unwrap()
        .member_count
        .as_mut()
        .unwrap() += 5;
    let report = detect_with(&d, &l, &Store::default());
    // Observe chats are neither changed nor reported.
    assert_eq!(
        items(&report),
        vec![(
            "chat.eng.members".into(),
            Kind::Unseen,
            Status::Unknown,
            Fixer::Person
        )]
    );
    let (chat, item) = report.items().next().unwrap();
    assert_eq!(chat.members.unseen, Some(2));
    assert!(
        item.summary
            .starts_with("2 people in the chat are unknown to orgform"),
        "{}",
        item.summary
    );
    assert_eq!(report.summary.unknown, 1);
    assert!(report.has_drift(), "unknown is never reported as no drift");

    // Fewer people than orgform believes: its knowledge is stale.
    *l.meta
        .get_mut("eng")
        .unwrap()
        .member_count
        .as_mut()
        .unwrap() -= 3;
    let report = detect_with(&d, &l, &Store::default());
    let (_, item) = report.items().next().unwrap();
    assert!(item.summary.contains("stale"), "{}", item.summary);

    // No count at all.
    l.meta.get_mut("eng").unwrap().member_count = None;
    let report = detect_with(&d, &l, &Store::default());
    assert_eq!(
        items(&report),
        vec![(
            "chat.eng".into(),
            Kind::Unseen,
            Status::Unknown,
            Fixer::Person
        )]
    );
}

#[test]
fn an_unreadable_chat_is_unknown() {
    let d = desired();
    let mut l = live(&d);
    l.state.chats.remove("sales");
    l.meta.insert(
        "sales".into(),
        LiveChatMeta {
            error: Some("Forbidden: bot was kicked from the supergroup chat".into()),
            ..Default::default()
        },
    );
    let report = detect_with(&d, &l, &Store::default());
    assert_eq!(
        items(&report),
        vec![(
            "chat.sales".into(),
            Kind::Access,
            Status::Unknown,
            Fixer::Person
        )]
    );
    assert_eq!(
        report.items().next().unwrap().1.actual["error"],
        json!("Forbidden: bot was kicked from the supergroup chat")
    );

    // The bot is in the chat but not an admin.
    let mut l = live(&d);
    l.meta.get_mut("sales").unwrap().bot_rights = None;
    let report = detect_with(&d, &l, &Store::default());
    assert_eq!(
        items(&report),
        vec![(
            "chat.sales".into(),
            Kind::Access,
            Status::Unknown,
            Fixer::Person
        )]
    );
}

#[test]
fn member_knowledge_says_where_it_came_from_and_how_fresh_it_is() {
    let d = desired();
    let l = live(&d);
    let mut store = Store::default();
    let at = now().as_second();
    store.see_member(-1001, 2, MemberState::Member, at - 7200, "update");
    store.see_member(-1001, 5, MemberState::Member, at, "getChatMember");
    store.chat_mut(-1001).members.insert(
        77,
        SeenMember {
            status: MemberState::Absent,
            tag: None,
            at: at - 60,
            source: "update".into(),
        },
    );
    let report = detect_with(&d, &l, &store);
    let eng = report.chats.iter().find(|c| c.key == "eng").unwrap();
    assert_eq!(eng.members.last_update, Some(at - 60));
    assert_eq!(eng.members.oldest_observation, Some(at - 7200));
    assert_eq!(eng.members.sources.get("update"), Some(&1));
    assert_eq!(eng.members.sources.get("getChatMember"), Some(&1));
    assert_eq!(eng.members.unseen, Some(0));
}

#[test]
fn the_report_serialises_with_its_format_version() {
    let d = desired();
    let mut l = live(&d);
    chat(&mut l, "eng").settings.title = Some("Hacked".into());
    let report = detect_with(&d, &l, &Store::default());
    let v = serde_json::to_value(&report).unwrap();
    assert_eq!(v["format_version"], json!(1));
    assert_eq!(v["chats"][0]["items"][0]["fixer"], json!("apply"));
    assert_eq!(v["chats"][0]["items"][0]["kind"], json!("settings"));
    let back: DriftReport = serde_json::from_value(v).unwrap();
    assert_eq!(back, report);
}
