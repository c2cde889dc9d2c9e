//! Resolution at the level of the model: selectors, sub-departments,
//! `except`, templates and `extends`, grant expiry at a given `now`, and
//! offboarded or suspended people matching nothing.

use orgform::state::{DesiredState, MemberState, Permission, Right};

fn resolve_at(yaml: &str, now: &str) -> DesiredState {
    match orgform::model::load_text("org.yaml", yaml, now.parse().unwrap()) {
        Ok(model) => model.desired,
        Err(e) => {
            let text = orgform::render::diagnostics::text(
                &e.sources,
                &e.diagnostics,
                orgform::render::Style::Plain,
            );
            panic!("config should be valid:\n{text}");
        }
    }
}

fn resolve(yaml: &str) -> DesiredState {
    resolve_at(yaml, "2026-11-27T12:00:00Z")
}

const PEOPLE: &str = r#"
people:
  alice: {telegram_id: 1, department: engineering, roles: [oncall], labels: {location: berlin}}
  bob: {telegram_id: 2, department: platform, labels: {location: lisbon}}
  carol: {telegram_id: 3, department: sre, labels: {location: berlin}}
  dave: {telegram_id: 4, department: sales}
  erin: {telegram_id: 5, department: platform, status: offboarded}
  frank: {telegram_id: 6, department: platform, status: suspended}
departments:
  engineering: {leads: [alice]}
  platform: {parent: engineering, leads: [bob]}
  sre: {parent: platform}
  sales: {}
roles:
  oncall: {rights: [pin_messages]}
  mod: {title: Mod, rights: [delete_messages, pin_messages]}
  boss: {title: Boss, rights: all}
  quiet: {permissions: [send_messages, react]}
"#;

fn with_chat(chat: &str) -> String {
    format!("{PEOPLE}chats:\n  c:\n    id: -1001\n    type: supergroup\n{chat}")
}

/// Users with plain membership in chat `c`.
fn members(d: &DesiredState) -> Vec<i64> {
    d.state.chats["c"]
        .members
        .iter()
        .filter(|(_, m)| **m == MemberState::Member)
        .map(|(u, _)| *u)
        .collect()
}

#[test]
fn department_includes_sub_departments_unless_direct() {
    let d = resolve(&with_chat("    members: [{department: engineering}]\n"));
    assert_eq!(members(&d), vec![1, 2, 3]);
    let d = resolve(&with_chat(
        "    members: [{department: platform, direct: true}]\n",
    ));
    assert_eq!(members(&d), vec![2]);
    assert_eq!(
        d.why["chat.c.member.bob"],
        vec!["member via department platform"]
    );
    let d = resolve(&with_chat("    members: [{department: engineering}]\n"));
    assert_eq!(
        d.why["chat.c.member.carol"],
        vec!["member via department engineering (via sre)"]
    );
}

#[test]
fn every_selector_kind() {
    let cases = [
        ("[everyone]", vec![1, 2, 3, 4]),
        ("[{person: dave}]", vec![4]),
        ("[{people: [alice, dave]}]", vec![1, 4]),
        ("[{role: oncall}]", vec![1]),
        ("[{leads_of: platform}]", vec![2]),
        ("[{label: {location: berlin}}]", vec![1, 3]),
        ("[everyone, {except: [{department: platform}]}]", vec![1, 4]),
        (
            "[{department: engineering}, {except: [{label: {location: berlin}}, {person: bob}]}]",
            vec![],
        ),
    ];
    for (selectors, expected) in cases {
        let d = resolve(&with_chat(&format!("    members: {selectors}\n")));
        assert_eq!(members(&d), expected, "members: {selectors}");
    }
}

#[test]
fn offboarded_and_suspended_match_nothing() {
    let d = resolve(&with_chat(
        "    members: [everyone, {person: frank}, {person: erin}]\n",
    ));
    let chat = &d.state.chats["c"];
    assert!(
        !chat.members.contains_key(&6),
        "suspended frank matches no selector"
    );
    // The offboarded person must be gone from every managed chat.
    assert_eq!(chat.members[&5], MemberState::Absent);
    assert_eq!(
        d.why["chat.c.member.erin"],
        vec!["offboarded: removed from every managed chat"]
    );
    assert!(d.people[&5].offboarded);
}

#[test]
fn admins_get_their_role_rights_and_title_with_a_why() {
    let d = resolve(&with_chat(
        "    admins:\n      - {role: mod, members: [{leads_of: engineering}]}\n      - {role: oncall, members: [{role: oncall}], title: Pager}\n",
    ));
    let seat = &d.state.chats["c"].admins[&1];
    // manage_chat comes with any admin right, as in Telegram.
    assert_eq!(
        seat.rights,
        [Right::ManageChat, Right::DeleteMessages, Right::PinMessages]
            .into_iter()
            .collect()
    );
    assert_eq!(
        seat.title.as_deref(),
        Some("Mod"),
        "the first binding's title wins"
    );
    assert_eq!(
        d.why["chat.c.admin.alice"],
        vec![
            "role mod via leads_of engineering",
            "role oncall via role oncall"
        ]
    );
}

#[test]
fn all_rights_are_narrowed_to_the_chat_type() {
    let yaml = format!(
        "{PEOPLE}chats:\n  g:\n    id: -1001\n    type: supergroup\n    admins: [{{role: boss, members: [{{person: dave}}]}}]\n  ch:\n    id: -1002\n    type: channel\n    admins: [{{role: boss, members: [{{person: dave}}]}}]\n"
    );
    let d = resolve(&yaml);
    let group = &d.state.chats["g"].admins[&4].rights;
    let channel = &d.state.chats["ch"].admins[&4].rights;
    assert!(group.contains(&Right::PinMessages) && !group.contains(&Right::PostMessages));
    assert!(channel.contains(&Right::PostMessages) && !channel.contains(&Right::PinMessages));
    assert!(
        !group.contains(&Right::Anonymous),
        "anonymity is never implied by `all`"
    );
}

#[test]
fn grants_expire_at_the_end_of_their_day() {
    let yaml = format!(
        "{}chats:\n  c:\n    id: -1001\n    type: supergroup\n",
        PEOPLE.replace(
            "dave: {telegram_id: 4, department: sales}",
            "dave: {telegram_id: 4, department: sales, grants: [{role: mod, chats: [c], until: 2026-12-31, reason: on-call}]}"
        )
    );
    let before = resolve_at(&yaml, "2026-12-31T23:59:59Z");
    assert!(before.state.chats["c"].admins.contains_key(&4));
    assert_eq!(
        before.why["chat.c.admin.dave"],
        vec!["grant mod until 2026-12-31 (on-call)"]
    );
    let after = resolve_at(&yaml, "2027-01-01T00:00:00Z");
    assert!(!after.state.chats["c"].admins.contains_key(&4));
}

#[test]
fn restrictions_and_bans() {
    let d = resolve(&with_chat(
        "    members: [everyone]\n    restricted:\n      - {role: quiet, members: [{person: dave}]}\n      - {permissions: [], members: [{person: carol}], until: 2027-01-31}\n    banned: [{person: bob}]\n",
    ));
    let chat = &d.state.chats["c"];
    assert_eq!(
        chat.members[&4],
        MemberState::Restricted {
            permissions: [Permission::SendMessages, Permission::ReactToMessages]
                .into_iter()
                .collect(),
            until: None
        }
    );
    let MemberState::Restricted { permissions, until } = &chat.members[&3] else {
        panic!("carol is restricted")
    };
    assert!(permissions.is_empty());
    assert_eq!(
        *until,
        Some(
            ("2027-02-01T00:00:00Z")
                .parse::<jiff::Timestamp>()
                .unwrap()
                .as_second()
        )
    );
    assert_eq!(chat.members[&2], MemberState::Banned);
    assert_eq!(
        d.why["chat.c.member.dave"],
        vec![
            "member via everyone",
            "restricted by role quiet via person dave"
        ]
    );
}

#[test]
fn templates_merge_with_extends_and_chat_fields_win() {
    let yaml = format!(
        r#"{PEOPLE}templates:
  base:
    type: supergroup
    description: From base
    permissions: [send_messages]
    topics: {{general: {{name: General}}}}
  team:
    extends: base
    description: From team
    membership: additive
    forum: true
    topics: {{releases: {{name: Releases}}}}
chats:
  c:
    id: -1001
    template: team
    title: Chat
    topics: {{general: {{name: Talk}}}}
"#
    );
    let d = resolve(&yaml);
    let chat = &d.state.chats["c"];
    assert_eq!(
        chat.kind,
        orgform::state::ChatType::Supergroup,
        "type comes from the base template"
    );
    assert_eq!(
        chat.settings.description.as_deref(),
        Some("From team"),
        "the nearer template wins"
    );
    assert_eq!(chat.settings.title.as_deref(), Some("Chat"));
    assert_eq!(chat.membership, orgform::state::MembershipMode::Additive);
    assert_eq!(
        chat.settings.permissions,
        Some([Permission::SendMessages].into_iter().collect())
    );
    let topics: Vec<(&str, &str)> = chat
        .topics
        .iter()
        .map(|(k, t)| (k.as_str(), t.name.as_str()))
        .collect();
    assert_eq!(
        topics,
        vec![("general", "Talk"), ("releases", "Releases")],
        "topics merge by key; the chat wins"
    );
}

#[test]
fn permission_groups_expand() {
    let d = resolve(&with_chat("    permissions: [send_media, react]\n"));
    let perms = d.state.chats["c"].settings.permissions.clone().unwrap();
    assert_eq!(perms.len(), 7);
    assert!(
        perms.contains(&Permission::SendVoiceNotes) && perms.contains(&Permission::ReactToMessages)
    );
}

#[test]
fn resolution_is_deterministic() {
    let a = serde_json::to_string(&resolve(&with_chat("    members: [everyone]\n"))).unwrap();
    let b = serde_json::to_string(&resolve(&with_chat("    members: [everyone]\n"))).unwrap();
    assert_eq!(a, b);
}
