//! Planner tests in the manner of rust-lang/team's sync: start from a live
//! state that equals the desired one (a converged fake), change one thing
//! on either side, and snapshot the plan as a reviewer reads it.

use orgform::plan::{self, Overrides, Plan, PlanInput};
use orgform::render::{Style, plan as render};
use orgform::state::{AdminSeat, BotIdentity, DesiredState, LiveState, MemberState, Right};
use orgform::store::Store;

const BASE: &str = r#"
people:
  alice: {telegram_id: 1, department: eng}
  bob: {telegram_id: 2, department: eng}
  carol: {telegram_id: 3, department: sales}
  dave: {telegram_id: 4, department: sales}
departments:
  eng: {leads: [alice]}
  sales: {leads: [carol]}
roles:
  lead: {title: Lead, rights: [delete_messages, pin_messages, invite_users]}
  mod: {rights: [delete_messages]}
  quiet: {permissions: [react]}
chats:
  eng:
    id: -1001
    type: supergroup
    title: Engineering
    description: Everything engineering. Be kind.
    forum: true
    permissions: [send_messages, react]
    members: [{department: eng}]
    admins: [{role: lead, members: [{leads_of: eng}]}]
    topics: {releases: {name: Releases, icon_color: 7322096}}
    invite_links: {onboarding: {name: Onboarding, join_request: true}}
    commands: [{command: oncall, description: Who is on call}]
  sales:
    id: -1002
    type: supergroup
    title: Sales
    membership: additive
    members: [{department: sales}]
    admins: [{role: lead, members: [{leads_of: sales}]}]
"#;

const BOT: i64 = 999;

fn now() -> jiff::Timestamp {
    "2026-11-27T12:00:00Z".parse().unwrap()
}

fn resolve(yaml: &str) -> (DesiredState, Option<orgform::spec::Policies>) {
    let model = orgform::model::load_text("org.yaml", yaml, now()).unwrap_or_else(|e| {
        panic!(
            "{}",
            orgform::render::diagnostics::text(&e.sources, &e.diagnostics, Style::Plain)
        )
    });
    (model.desired, model.config.policies)
}

/// A live state equal to the desired one, as Telegram would show it.
fn converged(desired: &DesiredState) -> LiveState {
    plan::simulate::converged(
        desired,
        BotIdentity {
            id: BOT,
            username: "org_bot".into(),
        },
    )
}

fn known_store(desired: &DesiredState) -> Store {
    let mut store = Store::default();
    for chat in desired.state.chats.values() {
        store.chat_mut(chat.id).last_applied = Some(1);
    }
    store
}

fn make(yaml: &str, live: &LiveState, store: &Store, overrides: Overrides) -> Plan {
    let (desired, policies) = resolve(yaml);
    plan::build(PlanInput {
        desired: &desired,
        live,
        store,
        policies: policies.as_ref(),
        overrides,
        now: now(),
        only: None,
    })
}

/// Plan after changing the config text (desired side).
fn plan_config(edit: impl FnOnce(&str) -> String) -> String {
    let (desired, _) = resolve(BASE);
    let live = converged(&desired);
    let store = known_store(&desired);
    let plan = make(&edit(BASE), &live, &store, Overrides::default());
    render::text(&plan, Style::Plain)
}

/// Plan after changing the live side.
fn plan_live(edit: impl FnOnce(&mut LiveState)) -> String {
    plan_live_with(edit, Overrides::default())
}

fn plan_live_with(edit: impl FnOnce(&mut LiveState), overrides: Overrides) -> String {
    let (desired, _) = resolve(BASE);
    let mut live = converged(&desired);
    edit(&mut live);
    let store = known_store(&desired);
    render::text(&make(BASE, &live, &store, overrides), Style::Plain)
}

fn chat<'a>(live: &'a mut LiveState, key: &str) -> &'a mut orgform::state::ChatState {
    live.state.chats.get_mut(key).unwrap()
}

#[test]
fn converged_plans_nothing() {
    insta::assert_snapshot!(plan_live(|_| {}), @r"
    No changes. Telegram matches the configuration.
    Plan: 0 to add, 0 to change, 0 to remove, 0 invites, 0 manual actions.
    ");
}

#[test]
fn settings_title_description_permissions() {
    insta::assert_snapshot!(plan_config(|c| c
        .replace("title: Engineering", "title: Engineering Team")
        .replace(
            "Everything engineering. Be kind.",
            "Everything engineering. Be very kind."
        )
        .replace(
            "permissions: [send_messages, react]",
            "permissions: [send_messages]"
        )));
}

#[test]
fn settings_only_a_person_can_change() {
    insta::assert_snapshot!(plan_live(|l| {
        let c = chat(l, "eng");
        c.settings.forum = Some(false);
        c.settings.slow_mode = Some(30);
    }));
}

#[test]
fn topics_create_edit_close_delete() {
    insta::assert_snapshot!(plan_config(|c| {
        c.replace(
        "topics: {releases: {name: Releases, icon_color: 7322096}}",
        "topics: {releases: {name: Release notes, icon_color: 7322096, closed: true}, incidents: {name: Incidents}}"
    )
    }));
    insta::assert_snapshot!(
        "topic_deleted",
        plan_config(|c| c.replace(
            "topics: {releases: {name: Releases, icon_color: 7322096}}",
            ""
        ))
    );
}

#[test]
fn invite_links_create_edit_revoke() {
    insta::assert_snapshot!(plan_config(|c| {
        c.replace(
        "invite_links: {onboarding: {name: Onboarding, join_request: true}}",
        "invite_links: {onboarding: {name: New hires, join_request: true}, events: {name: Events, member_limit: 50}}"
    )
    }));
    insta::assert_snapshot!(
        "link_revoked",
        plan_config(|c| c.replace(
            "invite_links: {onboarding: {name: Onboarding, join_request: true}}",
            ""
        ))
    );
}

#[test]
fn admins_promote_increase_decrease_title() {
    insta::assert_snapshot!(plan_config(|c| {
        c
        .replace("admins: [{role: lead, members: [{leads_of: eng}]}]", "admins: [{role: lead, members: [{leads_of: eng}]}, {role: mod, members: [{person: bob}]}]")
        .replace("lead: {title: Lead, rights: [delete_messages, pin_messages, invite_users]}", "lead: {title: Boss, rights: [delete_messages, pin_messages]}")
    }));
}

#[test]
fn undeclared_admin_per_membership_mode() {
    // eng is authoritative: demote, then remove. sales is additive: demote only.
    insta::assert_snapshot!(plan_live(|l| {
        chat(l, "eng").admins.insert(
            4,
            AdminSeat {
                rights: [Right::DeleteMessages].into_iter().collect(),
                title: None,
                owner: false,
            },
        );
        chat(l, "sales").admins.insert(
            2,
            AdminSeat {
                rights: [Right::DeleteMessages].into_iter().collect(),
                title: None,
                owner: false,
            },
        );
        chat(l, "sales").members.remove(&2);
    }));
}

#[test]
fn observe_changes_no_membership() {
    let yaml = BASE.replace("membership: additive", "membership: observe");
    let (desired, _) = resolve(&yaml);
    let mut live = converged(&desired);
    chat(&mut live, "sales")
        .members
        .insert(1, MemberState::Member);
    chat(&mut live, "sales").members.remove(&4);
    let plan = make(&yaml, &live, &known_store(&desired), Overrides::default());
    assert!(
        plan.changes.is_empty(),
        "{}",
        render::text(&plan, Style::Plain)
    );
}

#[test]
fn members_missing_undeclared_restricted_banned() {
    insta::assert_snapshot!(plan_live(|l| {
        let eng = chat(l, "eng");
        eng.members.remove(&2); // bob never joined: invite
        eng.members.insert(3, MemberState::Member); // carol is not declared in eng: removed
        let sales = chat(l, "sales");
        sales.members.insert(1, MemberState::Member); // additive: left alone
        sales.members.insert(
            4,
            MemberState::Restricted {
                permissions: Default::default(),
                until: None,
            },
        ); // lift
    }));
}

#[test]
fn restrictions_bans_and_offboarding() {
    insta::assert_snapshot!(plan_config(|c| {
        c
        .replace("dave: {telegram_id: 4, department: sales}", "dave: {telegram_id: 4, department: sales, status: offboarded}")
        .replace("members: [{department: sales}]", "members: [{department: sales}]\n    restricted: [{role: quiet, members: [{person: carol}]}]\n    banned: [{person: bob}]")
    }));
}

#[test]
fn commands() {
    insta::assert_snapshot!(plan_config(|c| {
        c.replace("commands: [{command: oncall, description: Who is on call}]", "commands: [{command: oncall, description: Who is on call now}, {command: page, description: Page someone}]")
    }));
}

#[test]
fn every_reversible_change_runs_before_any_irreversible_one() {
    let (desired, _) = resolve(BASE);
    let mut live = converged(&desired);
    chat(&mut live, "eng")
        .members
        .insert(3, MemberState::Member);
    chat(&mut live, "sales").settings.title = Some("Old".into());
    let plan = make(BASE, &live, &known_store(&desired), Overrides::default());
    let phases: Vec<_> = plan
        .changes
        .iter()
        .map(|c| (c.phase(), c.chat.as_str()))
        .collect();
    assert_eq!(
        phases,
        vec![
            (plan::Phase::Reversible, "sales"),
            (plan::Phase::Irreversible, "eng")
        ],
        "sales' title comes before eng's removal although eng sorts first"
    );
}

#[test]
fn guard_removal_limits() {
    let yaml = format!("{BASE}policies:\n  removals: {{max_count: 2, max_percent: 50}}\n");
    let (desired, _) = resolve(&yaml);
    let mut live = converged(&desired);
    for u in 10..14 {
        chat(&mut live, "eng")
            .members
            .insert(u, MemberState::Member);
    }
    let store = known_store(&desired);
    let refused = make(&yaml, &live, &store, Overrides::default());
    assert!(refused.refused());
    let text = render::text(&refused, Style::Plain);
    insta::assert_snapshot!(text.lines().filter(|l| l.contains("[removal-limit]")).collect::<Vec<_>>().join("\n"), @r"
      REFUSED [removal-limit]: the plan removes 4 people; the limit is 2 (policies.removals.max_count) (override with --allow-removals)
      REFUSED [removal-limit]: the plan removes 4 of 6 members of eng (67%); the limit is 50% (policies.removals.max_percent) (override with --allow-removals)
    ");
    let allowed = make(
        &yaml,
        &live,
        &store,
        Overrides {
            removals: true,
            ..Default::default()
        },
    );
    assert!(!allowed.refused());
    assert!(render::text(&allowed, Style::Plain).contains("overridden [removal-limit]"));
}

#[test]
fn guard_first_run_may_not_remove() {
    let (desired, _) = resolve(BASE);
    let mut live = converged(&desired);
    chat(&mut live, "eng")
        .members
        .insert(3, MemberState::Member);
    let plan = make(BASE, &live, &Store::default(), Overrides::default());
    let g: Vec<_> = plan
        .guards
        .iter()
        .map(|g| (g.code.as_str(), g.chat.as_deref(), g.overridden))
        .collect();
    assert_eq!(g, vec![("first-run", Some("eng"), false)]);
}

#[test]
fn guard_demotions_and_min_admins() {
    let yaml = format!("{BASE}policies:\n  min_admins: 1\n  removals: {{max_demotions: 0}}\n");
    let plan_text = {
        let (desired, _) = resolve(&yaml);
        let live = converged(&desired);
        let edited = yaml.replace("leads: [alice]", "leads: []");
        let plan = make(&edited, &live, &known_store(&desired), Overrides::default());
        render::text(&plan, Style::Plain)
    };
    insta::assert_snapshot!(plan_text);
}

#[test]
fn guard_bot_rights_and_lockout() {
    insta::assert_snapshot!(plan_live(|l| {
        l.meta.get_mut("eng").unwrap().bot_rights =
            Some([Right::RestrictMembers].into_iter().collect());
        chat(l, "eng").settings.title = Some("Old".into());
        chat(l, "sales").admins.insert(
            BOT,
            AdminSeat {
                rights: Right::all_for(orgform::state::ChatType::Supergroup),
                title: None,
                owner: false,
            },
        );
        l.meta.get_mut("sales").unwrap().bot_rights = None;
    }));
}

/// Without a bot (`provider: user`) the seat is the signed-in account's,
/// and the guards say so.
#[test]
fn guard_messages_name_the_account_when_there_is_no_bot() {
    let yaml = format!(
        "org:\n  name: Acme\n  telegram: {{provider: user}}\n{}",
        BASE.replace(
            "    commands: [{command: oncall, description: Who is on call}]\n",
            ""
        )
    );
    let (desired, _) = resolve(&yaml);
    let mut live = converged(&desired);
    live.meta.get_mut("eng").unwrap().bot_rights =
        Some([Right::RestrictMembers].into_iter().collect());
    chat(&mut live, "eng").settings.title = Some("Old".into());
    let plan = make(&yaml, &live, &known_store(&desired), Overrides::default());
    let messages: Vec<&str> = plan.guards.iter().map(|g| g.message.as_str()).collect();
    assert!(
        messages.contains(&"the signed-in account lacks rights in eng that this plan needs: change_info (an admin can only grant rights it holds)"),
        "{messages:#?}"
    );
    assert!(messages.iter().all(|m| !m.contains("bot")), "{messages:#?}");
}

#[test]
fn unreadable_chats_are_reported_and_skipped() {
    insta::assert_snapshot!(plan_live(|l| {
        l.meta.get_mut("sales").unwrap().error = Some("Forbidden: bot is not a member of the supergroup chat".into());
        chat(l, "sales").settings.title = Some("Old".into());
    }), @r"
    ! chat.sales could not be read: Forbidden: bot is not a member of the supergroup chat

    No changes. Telegram matches the configuration.
    Plan: 0 to add, 0 to change, 0 to remove, 0 invites, 0 manual actions.
    ");
}

#[test]
fn markdown_and_json_renderings() {
    let (desired, _) = resolve(BASE);
    let mut live = converged(&desired);
    chat(&mut live, "eng")
        .members
        .insert(3, MemberState::Member);
    chat(&mut live, "eng").members.remove(&2);
    chat(&mut live, "eng")
        .admins
        .get_mut(&1)
        .unwrap()
        .rights
        .remove(&Right::PinMessages);
    chat(&mut live, "sales").settings.title = Some("Old".into());
    let plan = make(BASE, &live, &known_store(&desired), Overrides::default());
    insta::assert_snapshot!("markdown", render::markdown(&plan));
    let json = render::json(&plan);
    assert_eq!(json["format_version"], orgform::plan::FORMAT_VERSION);
    insta::assert_json_snapshot!("json", json, {".created_at" => "[time]"});
}

#[test]
fn markdown_stays_under_githubs_limit() {
    let (desired, _) = resolve(BASE);
    let mut live = converged(&desired);
    for u in 1000..4000 {
        chat(&mut live, "eng")
            .members
            .insert(u, MemberState::Member);
    }
    let plan = make(
        BASE,
        &live,
        &known_store(&desired),
        Overrides {
            removals: true,
            ..Default::default()
        },
    );
    let md = render::markdown(&plan);
    assert!(
        md.len() <= render::MARKDOWN_LIMIT,
        "{} characters",
        md.len()
    );
    assert!(md.contains("cut to fit GitHub"));
}

/// Plan a desired state against a live one directly (for what the config
/// text alone cannot set up: photo hashes, the store's pin).
fn plan_states(desired: &DesiredState, live: &LiveState, store: &Store) -> Plan {
    plan::build(PlanInput {
        desired,
        live,
        store,
        policies: None,
        overrides: Overrides::default(),
        now: now(),
        only: None,
    })
}

const TAGS: &str = "    admins: [{role: lead, members: [{leads_of: eng}]}]\n    tags: [{tag: Lead, members: [{person: alice}]}, {tag: Engineer, members: [{department: eng}]}]\n    topics:";

#[test]
fn tags_set_change_and_clear() {
    // alice is an admin (her title shows instead); bob gets the first binding that matches him.
    insta::assert_snapshot!(plan_config(|c| c.replacen(
        "    admins: [{role: lead, members: [{leads_of: eng}]}]\n    topics:",
        TAGS,
        1
    )));

    let yaml = BASE
        .replacen(
            "    admins: [{role: lead, members: [{leads_of: eng}]}]\n    topics:",
            TAGS,
            1,
        )
        .replace(
            "members: [{department: sales}]",
            "members: [{department: sales}]\n    tags: [{tag: Seller, members: [{person: dave}]}]",
        );
    let (desired, _) = resolve(&yaml);
    assert_eq!(
        desired.state.chats["eng"].tags,
        Some([(2, "Engineer".to_string())].into_iter().collect())
    );
    let mut live = converged(&desired);
    chat(&mut live, "eng").tags = Some([(2, "Intern".to_string())].into_iter().collect());
    // sales is additive: alice may stay undeclared, but the tag is managed.
    let sales = chat(&mut live, "sales");
    sales.members.insert(1, MemberState::Member);
    sales.tags = Some([(1, "Visitor".to_string())].into_iter().collect());
    insta::assert_snapshot!(
        "tags_live_drift",
        render::text(
            &plan_states(&desired, &live, &known_store(&desired)),
            Style::Plain
        )
    );
}

#[test]
fn tags_wait_for_people_who_are_not_in_the_chat_and_follow_a_demotion() {
    let yaml = BASE.replacen(
        "    admins: [{role: lead, members: [{leads_of: eng}]}]\n    topics:",
        TAGS,
        1,
    );
    let (desired, _) = resolve(&yaml);
    let mut live = converged(&desired);
    // bob never joined: he is invited, and tagged once he is in.
    let eng = chat(&mut live, "eng");
    eng.members.remove(&2);
    eng.tags = Some(Default::default());
    let plan = plan_states(&desired, &live, &known_store(&desired));
    assert!(
        plan.changes
            .iter()
            .all(|c| !c.address.as_str().contains(".tag.")),
        "{}",
        render::text(&plan, Style::Plain)
    );

    // bob is an admin by hand: the seat goes first, then the tag, in that order.
    let mut live = converged(&desired);
    let eng = chat(&mut live, "eng");
    eng.members.remove(&2);
    eng.admins.insert(
        2,
        AdminSeat {
            rights: [Right::DeleteMessages].into_iter().collect(),
            title: None,
            owner: false,
        },
    );
    eng.tags = Some(Default::default());
    let plan = plan_states(&desired, &live, &known_store(&desired));
    let order: Vec<&str> = plan.changes.iter().map(|c| c.address.as_str()).collect();
    assert_eq!(order, ["chat.eng.admin.bob", "chat.eng.tag.bob"]);
    assert_eq!(plan.changes[1].step, plan::Step::Demotions);
}

fn with_photo(sha: &str) -> DesiredState {
    let (mut desired, _) = resolve(&BASE.replace(
        "    title: Engineering\n",
        "    title: Engineering\n    photo: art/eng.png\n",
    ));
    let Some(orgform::state::Photo::File { sha256, .. }) =
        &mut chat_state(&mut desired, "eng").settings.photo
    else {
        panic!("the photo is declared")
    };
    *sha256 = sha.into();
    desired
}

fn chat_state<'a>(desired: &'a mut DesiredState, key: &str) -> &'a mut orgform::state::ChatState {
    desired.state.chats.get_mut(key).unwrap()
}

#[test]
fn photos_are_compared_by_content() {
    use orgform::state::Photo;
    let desired = with_photo("9f2c1e7d55aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c");
    let store = known_store(&desired);
    let live = converged(&desired);
    assert!(plan_states(&desired, &live, &store).is_empty());

    // No photo yet: an upload that can be undone.
    let mut none = converged(&desired);
    chat(&mut none, "eng").settings.photo = Some(Photo::None);
    let plan = plan_states(&desired, &none, &store);
    insta::assert_snapshot!("photo_uploaded", render::text(&plan, Style::Plain));
    assert!(plan.changes[0].reversible);

    // A photo set by hand: replacing it cannot be undone, so it runs last.
    let mut other = converged(&desired);
    chat(&mut other, "eng").settings.photo = Some(Photo::Other {
        file_unique_id: "AQb7".into(),
    });
    let plan = plan_states(&desired, &other, &store);
    insta::assert_snapshot!("photo_replaced", render::text(&plan, Style::Plain));
    assert_eq!(
        (plan.changes[0].reversible, plan.changes[0].phase()),
        (false, plan::Phase::Irreversible)
    );

    // A config read without its files (from git) has no hash: the photo is left alone.
    let unhashed = with_photo("");
    assert!(plan_states(&unhashed, &other, &store).is_empty());
}

#[test]
fn the_pinned_message_is_posted_edited_or_pinned_again() {
    use orgform::plan::Op;
    use orgform::state::PinnedMessage;
    let yaml = BASE.replace(
        "    title: Sales\n",
        "    title: Sales\n    pinned: {text: Quotas are due Friday}\n",
    );
    let (desired, _) = resolve(&yaml);
    let mut store = known_store(&desired);
    assert!(plan_states(&desired, &converged(&desired), &store).is_empty());

    let ops = |live: &LiveState, store: &Store| -> Vec<Op> {
        plan_states(&desired, live, store)
            .changes
            .into_iter()
            .map(|c| c.op)
            .collect()
    };
    let pin = |message_id| Op::Pin {
        text: "Quotas are due Friday".into(),
        message_id,
        notify: false,
    };

    // Nothing pinned: post and pin.
    let mut live = converged(&desired);
    chat(&mut live, "sales").pinned = None;
    insta::assert_snapshot!(
        "pinned_posted",
        render::text(&plan_states(&desired, &live, &store), Style::Plain)
    );
    assert_eq!(ops(&live, &store), [pin(None)]);

    // The bot's pin with older text: edit it in place.
    chat(&mut live, "sales").pinned = Some(PinnedMessage {
        text: "Quotas are due Monday".into(),
        message_id: Some(41),
        by_bot: true,
        notify: false,
    });
    assert_eq!(ops(&live, &store), [pin(Some(41))]);

    // A person pinned something on top: the bot's own pin goes back on top.
    store.chat_mut(-1002).pinned = Some(orgform::store::PinRecord {
        message_id: 41,
        text: "Quotas are due Friday".into(),
    });
    chat(&mut live, "sales").pinned = Some(PinnedMessage {
        text: "Lunch?".into(),
        message_id: Some(77),
        by_bot: false,
        notify: false,
    });
    insta::assert_snapshot!(
        "pinned_again",
        render::text(&plan_states(&desired, &live, &store), Style::Plain)
    );
    assert_eq!(ops(&live, &store), [pin(Some(41))]);

    // The config stops pinning: orgform's pin comes down, a person's stays.
    let (unpinned, _) = resolve(BASE);
    chat(&mut live, "sales").pinned = Some(PinnedMessage {
        text: "Quotas are due Friday".into(),
        message_id: Some(41),
        by_bot: true,
        notify: false,
    });
    let plan = plan_states(&unpinned, &live, &store);
    assert_eq!(
        plan.changes
            .iter()
            .map(|c| c.op.clone())
            .collect::<Vec<_>>(),
        [Op::Unpin { message_id: 41 }]
    );
    chat(&mut live, "sales").pinned = Some(PinnedMessage {
        text: "Lunch?".into(),
        message_id: Some(77),
        by_bot: false,
        notify: false,
    });
    assert!(plan_states(&unpinned, &live, &store).is_empty());
}

#[test]
fn a_ban_in_a_basic_group_is_done_once_the_person_is_gone() {
    // A basic group keeps no ban list: after the ban Telegram reads the
    // person back as `left`, and the plan must not ban them again.
    let yaml = BASE.replace(
        "  sales:\n    id: -1002\n    type: supergroup",
        "  sales:\n    id: -1002\n    type: group",
    ) + "";
    let yaml = yaml.replace(
        "members: [{department: sales}]",
        "members: [{department: sales}]\n    banned: [{person: bob}]",
    );
    let (desired, _) = resolve(&yaml);
    let mut live = converged(&desired);
    chat(&mut live, "sales")
        .members
        .insert(2, MemberState::Absent);
    let plan = make(&yaml, &live, &known_store(&desired), Overrides::default());
    assert!(
        plan.changes
            .iter()
            .all(|c| !c.address.to_string().contains("bob")),
        "{:#?}",
        plan.changes
    );
    // In a supergroup the same live state still needs the ban.
    let yaml = yaml.replace("type: group", "type: supergroup");
    let (desired, _) = resolve(&yaml);
    let mut live = converged(&desired);
    chat(&mut live, "sales")
        .members
        .insert(2, MemberState::Absent);
    let plan = make(&yaml, &live, &known_store(&desired), Overrides::default());
    assert!(
        plan.changes
            .iter()
            .any(|c| c.address.to_string() == "chat.sales.member.bob"),
        "{:#?}",
        plan.changes
    );
}
