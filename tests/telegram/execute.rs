//! Carrying out changes against the sandbox over HTTP: every op, applied and
//! re-read, shows the intended state; every inverse restores the
//! before-state; and under rate limits, injected 500s, cut connections and
//! timeouts a 50-chat org is read and written with every call eventually
//! succeeding and no call repeated before its retry_after ran out.

use crate::telegram_common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::telegram_common::*;
use orgform::apply::provider::{Answer, Executed, Inverse, Observed, Provider};
use orgform::plan::{Action, Change, Op, Step};
use orgform::sandbox::FaultOptions;
use orgform::sandbox::generate::{GenerateOptions, generate};
use orgform::sandbox::world::{Member, World};
use orgform::state::{
    Address, ChatState, ChatType, Command, DesiredState, InviteLink, MemberState, Permission,
    Permissions, Right, Rights, Topic, UserId,
};
use orgform::store::Store;
use orgform::telegram::{self, Client, ErrorKind, TelegramProvider};
use serde_json::Value;

/// A change whose `before` is given in its JSON shape (read back the way
/// a saved plan is).
fn change(desired: &DesiredState, key: &str, op: Op, before: Value) -> Change {
    let chat = &desired.state.chats[key];
    let before = orgform::plan::Value::from_json(&op, &before).expect("a before value");
    Change {
        address: Address::chat(key),
        chat: key.to_string(),
        chat_id: chat.id,
        chat_type: chat.kind,
        action: Action::Update,
        step: Step::Settings,
        reversible: op.reversible(),
        op,
        before,
        after: orgform::plan::Value::Nothing,
        why: vec![],
        person: None,
        undeclared: false,
        seat: None,
    }
}

fn rights(list: &[Right]) -> Rights {
    list.iter().copied().collect()
}

fn perms(list: &[Permission]) -> Permissions {
    list.iter().copied().collect()
}

/// A sandbox, a provider and a store that has read every chat once.
struct Harness {
    desired: DesiredState,
    sandbox: orgform::sandbox::RunningSandbox,
    client: Client,
    provider: TelegramProvider,
    store: Store,
}

impl Harness {
    async fn new(desired: DesiredState, world: World) -> Harness {
        let sandbox = start(world, FaultOptions::default()).await;
        let client = client(&sandbox);
        let mut store = Store::default();
        telegram::read(&client, &desired, &mut store, unix_now())
            .await
            .unwrap();
        let provider = TelegramProvider::new(client.clone());
        Harness {
            desired,
            sandbox,
            client,
            provider,
            store,
        }
    }

    fn change(&self, key: &str, op: Op, before: Value) -> Change {
        change(&self.desired, key, op, before)
    }

    /// Observe, execute, record, as the applier will.
    async fn apply(&mut self, change: &Change) -> (Observed, Executed) {
        let before = self.provider.observe_before(change).await.unwrap();
        let done = self
            .provider
            .execute(change)
            .await
            .unwrap_or_else(|e| panic!("{:?}: {e}", change.op));
        orgform::apply::record(&mut self.store, change, Some(&before), &done, unix_now());
        (before, done)
    }

    /// Run the inverse of an applied change; returns it.
    async fn undo(&mut self, change: &Change, before: &Observed, done: &Executed) -> Inverse {
        let inverse = self.provider.inverse(change, before, done);
        for undo in inverse.changes(change) {
            self.apply(&undo).await;
        }
        inverse
    }

    async fn chat(&mut self, key: &str) -> ChatState {
        let live = telegram::read_chats(
            &self.client,
            &self.desired,
            &mut self.store,
            unix_now(),
            &[key.to_string()],
        )
        .await
        .unwrap();
        assert_eq!(live.meta[key].error, None);
        live.state.chats[key].clone()
    }

    fn world(&self) -> World {
        self.sandbox.world_snapshot()
    }

    fn chat_id(&self, key: &str) -> i64 {
        self.desired.state.chats[key].id
    }
}

const ENG: &str = "engineering";

/// People of the engineering chat: an editable admin, plain members, and
/// two outsiders (one who started the bot, one who did not).
struct Cast {
    admin: UserId,
    members: Vec<UserId>,
    outsider: UserId,
    silent_outsider: UserId,
}

fn cast(desired: &DesiredState, world: &mut World) -> Cast {
    let eng = &desired.state.chats[ENG];
    let wchat = &world.chats[&eng.id];
    let owner = wchat.owner().unwrap();
    let admin = *eng.admins.keys().find(|u| **u != owner).unwrap();
    let members: Vec<UserId> = eng
        .members
        .iter()
        .filter(|(_, m)| **m == MemberState::Member)
        .map(|(u, _)| *u)
        .take(4)
        .collect();
    let outsiders: Vec<UserId> = desired
        .people
        .iter()
        .filter(|(u, p)| {
            !p.offboarded && !eng.admins.contains_key(u) && !eng.members.contains_key(u)
        })
        .map(|(u, _)| *u)
        .take(2)
        .collect();
    world.users.get_mut(&outsiders[0]).unwrap().started_bot = true;
    world.users.get_mut(&outsiders[1]).unwrap().started_bot = false;
    Cast {
        admin,
        members,
        outsider: outsiders[0],
        silent_outsider: outsiders[1],
    }
}

#[tokio::test]
async fn settings_change_and_come_back() {
    let desired = acme();
    let mut h = Harness::new(desired.clone(), exact_world(&desired)).await;
    let before = h.chat(ENG).await;

    let ops = [
        Op::SetTitle {
            title: "Acme Engineering (renamed)".into(),
        },
        Op::SetDescription {
            description: "A new description".into(),
        },
        Op::SetPermissions {
            permissions: perms(&[Permission::SendMessages, Permission::ReactToMessages]),
        },
    ];
    for op in ops {
        let c = h.change(ENG, op.clone(), Value::Null);
        let (observed, done) = h.apply(&c).await;
        let after = h.chat(ENG).await;
        match &op {
            Op::SetTitle { title } => assert_eq!(after.settings.title.as_ref(), Some(title)),
            Op::SetDescription { description } => {
                assert_eq!(after.settings.description.as_ref(), Some(description))
            }
            Op::SetPermissions { permissions } => {
                assert_eq!(after.settings.permissions.as_ref(), Some(permissions))
            }
            _ => unreachable!(),
        }
        assert!(matches!(observed, Observed::Chat { .. }));
        let inverse = h.undo(&c, &observed, &done).await;
        assert!(
            matches!(&inverse, Inverse::Ops { ops } if ops.len() == 1),
            "{inverse:?}"
        );
        assert_eq!(h.chat(ENG).await.settings, before.settings, "{op:?} undone");
    }

    // "Not modified" is success.
    let same = h.change(
        ENG,
        Op::SetDescription {
            description: before.settings.description.clone().unwrap(),
        },
        Value::Null,
    );
    let done = h.provider.execute(&same).await.unwrap();
    assert!(done.not_modified);
    let same = h.change(
        ENG,
        Op::SetPermissions {
            permissions: before.settings.permissions.clone().unwrap(),
        },
        Value::Null,
    );
    // Unchanged permissions are a no-op that succeeds in TDLib
    // (DialogManager::set_dialog_permissions), not a "not modified" error.
    let done = h.provider.execute(&same).await.unwrap();
    assert!(!done.not_modified);
    assert_eq!(done.calls, vec!["setChatPermissions"]);

    // A manual op is never executed.
    h.sandbox.reset_stats();
    let manual = h.change(
        ENG,
        Op::Manual {
            instruction: "turn slow mode off".into(),
        },
        Value::Null,
    );
    let err = h.provider.execute(&manual).await.unwrap_err();
    assert!(
        !err.outcome_unknown() && err.to_string().contains("turn slow mode off"),
        "{err}"
    );
    assert_eq!(h.sandbox.stats().requests, 0);
    assert!(matches!(
        h.provider.inverse(
            &manual,
            &Observed::Nothing,
            &Executed {
                answer: Answer::Done,
                not_modified: false,
                calls: vec![],
                notes: vec![]
            }
        ),
        Inverse::Irreversible { .. }
    ));
    h.sandbox.shutdown().await.unwrap();
}

#[tokio::test]
async fn topics_are_created_edited_closed_reopened_and_deleted() {
    let desired = acme();
    let mut h = Harness::new(desired.clone(), exact_world(&desired)).await;
    let id = h.chat_id(ENG);

    // Create (closed, as the config may ask) and undo by deleting.
    let topic = Topic {
        name: "Offsite".into(),
        icon_color: Some(16749490),
        closed: true,
        thread_id: None,
    };
    let create = h.change(
        ENG,
        Op::CreateTopic {
            key: "offsite".into(),
            topic: topic.clone(),
        },
        Value::Null,
    );
    let (observed, done) = h.apply(&create).await;
    let Answer::Topic { thread_id, .. } = done.answer.clone() else {
        panic!("{done:?}")
    };
    let live = h.chat(ENG).await;
    assert_eq!(
        live.topics["offsite"],
        Topic {
            thread_id: Some(thread_id),
            ..topic.clone()
        }
    );
    assert!(h.world().chats[&id].topics[&thread_id].closed);
    assert_eq!(done.calls, vec!["createForumTopic", "closeForumTopic"]);
    let inverse = h.undo(&create, &observed, &done).await;
    assert_eq!(
        inverse,
        Inverse::Ops {
            ops: vec![Op::DeleteTopic {
                key: "offsite".into(),
                thread_id
            }]
        }
    );
    assert!(!h.world().chats[&id].topics.contains_key(&thread_id));
    assert!(!h.chat(ENG).await.topics.contains_key("offsite"));

    // A topic to work on.
    let open = Topic {
        name: "Releases".into(),
        icon_color: Some(7322096),
        closed: false,
        thread_id: None,
    };
    let (_, done) = h
        .apply(&h.change(
            ENG,
            Op::CreateTopic {
                key: "releases".into(),
                topic: open,
            },
            Value::Null,
        ))
        .await;
    let Answer::Topic { thread_id, .. } = done.answer else {
        panic!()
    };
    let recorded = serde_json::to_value(&h.chat(ENG).await.topics["releases"]).unwrap();

    let edit = h.change(
        ENG,
        Op::EditTopic {
            key: "releases".into(),
            thread_id,
            name: "Release notes".into(),
            icon_color: Some(7322096),
        },
        recorded.clone(),
    );
    let (observed, done) = h.apply(&edit).await;
    assert_eq!(
        h.world().chats[&id].topics[&thread_id].name,
        "Release notes"
    );
    assert_eq!(h.chat(ENG).await.topics["releases"].name, "Release notes");
    h.undo(&edit, &observed, &done).await;
    assert_eq!(h.world().chats[&id].topics[&thread_id].name, "Releases");
    assert_eq!(
        serde_json::to_value(&h.chat(ENG).await.topics["releases"]).unwrap(),
        recorded
    );

    // A colour change cannot be made; the answer says so.
    let recolour = h.change(
        ENG,
        Op::EditTopic {
            key: "releases".into(),
            thread_id,
            name: "Releases".into(),
            icon_color: Some(9367192),
        },
        recorded.clone(),
    );
    let (_, done) = h.apply(&recolour).await;
    assert!(
        done.not_modified && done.notes.iter().any(|n| n.contains("icon colour")),
        "{done:?}"
    );

    for (op, closed) in [
        (
            Op::CloseTopic {
                key: "releases".into(),
                thread_id,
            },
            true,
        ),
        (
            Op::ReopenTopic {
                key: "releases".into(),
                thread_id,
            },
            false,
        ),
    ] {
        let c = h.change(ENG, op, recorded.clone());
        let (observed, done) = h.apply(&c).await;
        assert_eq!(h.world().chats[&id].topics[&thread_id].closed, closed);
        assert_eq!(h.chat(ENG).await.topics["releases"].closed, closed);
        h.undo(&c, &observed, &done).await;
        assert_eq!(h.world().chats[&id].topics[&thread_id].closed, !closed);
        // Back again for the next step.
        h.undo(&c, &observed, &done).await;
        h.apply(&c).await;
    }
    assert!(!h.world().chats[&id].topics[&thread_id].closed);

    let delete = h.change(
        ENG,
        Op::DeleteTopic {
            key: "releases".into(),
            thread_id,
        },
        recorded,
    );
    let (observed, done) = h.apply(&delete).await;
    assert!(!h.world().chats[&id].topics.contains_key(&thread_id));
    assert!(!h.chat(ENG).await.topics.contains_key("releases"));
    assert!(matches!(
        h.provider.inverse(&delete, &observed, &done),
        Inverse::Irreversible { .. }
    ));
    // Deleting again: already gone is done.
    let again = h.provider.execute(&delete).await.unwrap();
    assert!(again.notes.iter().any(|n| n.contains("already gone")));
    h.sandbox.shutdown().await.unwrap();
}

#[tokio::test]
async fn invite_links_are_created_edited_and_revoked() {
    let desired = acme();
    let mut h = Harness::new(desired.clone(), exact_world(&desired)).await;
    let id = h.chat_id(ENG);
    let expires = unix_now() + 30 * 86_400;
    let link = InviteLink {
        name: "Guests".into(),
        expires: Some(expires),
        member_limit: Some(5),
        join_request: false,
        url: None,
        revoked: false,
    };

    let create = h.change(
        ENG,
        Op::CreateInviteLink {
            key: "guests".into(),
            link: link.clone(),
        },
        Value::Null,
    );
    let (observed, done) = h.apply(&create).await;
    let Answer::InviteLink { url, .. } = done.answer.clone() else {
        panic!("{done:?}")
    };
    let world_link = |h: &Harness, url: &str| {
        h.world().chats[&id]
            .invite_links
            .iter()
            .find(|l| l.link == url)
            .cloned()
            .unwrap()
    };
    let w = world_link(&h, &url);
    assert_eq!(
        (
            w.name.as_deref(),
            w.expire_date,
            w.member_limit,
            w.is_revoked
        ),
        (Some("Guests"), Some(expires), Some(5), false)
    );
    assert_eq!(
        h.chat(ENG).await.invite_links["guests"],
        InviteLink {
            url: Some(url.clone()),
            ..link.clone()
        }
    );
    // Undo = revoke.
    let inverse = h.undo(&create, &observed, &done).await;
    assert_eq!(
        inverse,
        Inverse::Ops {
            ops: vec![Op::RevokeInviteLink {
                key: "guests".into(),
                url: url.clone()
            }]
        }
    );
    assert!(world_link(&h, &url).is_revoked);
    assert!(!h.chat(ENG).await.invite_links.contains_key("guests"));

    // Edit a live link, then undo the edit.
    let (_, done) = h
        .apply(&h.change(
            ENG,
            Op::CreateInviteLink {
                key: "guests".into(),
                link: link.clone(),
            },
            Value::Null,
        ))
        .await;
    let Answer::InviteLink { url, .. } = done.answer else {
        panic!()
    };
    let recorded = serde_json::to_value(&h.chat(ENG).await.invite_links["guests"]).unwrap();
    let edited = InviteLink {
        name: "Visitors".into(),
        expires: None,
        member_limit: None,
        join_request: true,
        url: None,
        revoked: false,
    };
    let edit = h.change(
        ENG,
        Op::EditInviteLink {
            key: "guests".into(),
            url: url.clone(),
            link: edited,
        },
        recorded.clone(),
    );
    let (observed, done) = h.apply(&edit).await;
    let w = world_link(&h, &url);
    assert_eq!(
        (
            w.name.as_deref(),
            w.expire_date,
            w.member_limit,
            w.creates_join_request
        ),
        (Some("Visitors"), None, None, true)
    );
    assert!(h.chat(ENG).await.invite_links["guests"].join_request);
    h.undo(&edit, &observed, &done).await;
    let w = world_link(&h, &url);
    assert_eq!(
        (
            w.name.as_deref(),
            w.expire_date,
            w.member_limit,
            w.creates_join_request
        ),
        (Some("Guests"), Some(expires), Some(5), false)
    );
    assert_eq!(
        serde_json::to_value(&h.chat(ENG).await.invite_links["guests"]).unwrap(),
        recorded
    );

    let revoke = h.change(
        ENG,
        Op::RevokeInviteLink {
            key: "guests".into(),
            url: url.clone(),
        },
        recorded,
    );
    let (observed, done) = h.apply(&revoke).await;
    assert!(world_link(&h, &url).is_revoked);
    assert!(matches!(
        h.provider.inverse(&revoke, &observed, &done),
        Inverse::Irreversible { .. }
    ));
    h.sandbox.shutdown().await.unwrap();
}

#[tokio::test]
async fn admins_and_members_change_and_come_back() {
    let desired = acme();
    let mut world = exact_world(&desired);
    let cast = cast(&desired, &mut world);
    let mut h = Harness::new(desired.clone(), world).await;
    let id = h.chat_id(ENG);
    let status = |h: &Harness, u: UserId| h.world().chats[&id].status(u, unix_now());
    let [m1, m2, m3, m4] = cast.members[..] else {
        panic!("four members")
    };

    // Promote a member with exact rights; undo demotes.
    let granted = rights(&[
        Right::ManageChat,
        Right::DeleteMessages,
        Right::PinMessages,
        Right::ManageTopics,
    ]);
    let promote = h.change(
        ENG,
        Op::Promote {
            user: m1,
            rights: granted.clone(),
        },
        Value::Null,
    );
    let (observed, done) = h.apply(&promote).await;
    assert_eq!(h.chat(ENG).await.admins[&m1].rights, granted);
    assert!(matches!(status(&h, m1), Member::Administrator { rights, .. } if rights == granted));
    h.undo(&promote, &observed, &done).await;
    let live = h.chat(ENG).await;
    assert!(!live.admins.contains_key(&m1));
    assert_eq!(live.members[&m1], MemberState::Member);

    // Change an admin's rights and title, then undo both.
    let before = h.chat(ENG).await.admins[&cast.admin].clone();
    let title = h.change(
        ENG,
        Op::SetAdminTitle {
            user: cast.admin,
            title: "Boss".into(),
        },
        Value::Null,
    );
    let (t_observed, t_done) = h.apply(&title).await;
    assert_eq!(
        h.chat(ENG).await.admins[&cast.admin].title.as_deref(),
        Some("Boss")
    );
    let fewer = rights(&[Right::ManageChat, Right::PinMessages]);
    let narrow = h.change(
        ENG,
        Op::Promote {
            user: cast.admin,
            rights: fewer.clone(),
        },
        Value::Null,
    );
    let (observed, done) = h.apply(&narrow).await;
    assert_eq!(h.chat(ENG).await.admins[&cast.admin].rights, fewer);
    h.undo(&narrow, &observed, &done).await;
    h.undo(&title, &t_observed, &t_done).await;
    assert_eq!(h.chat(ENG).await.admins[&cast.admin], before);

    // Demote (empty rights), then undo: rights and title come back.
    let with_title = h.change(
        ENG,
        Op::SetAdminTitle {
            user: cast.admin,
            title: "Lead".into(),
        },
        Value::Null,
    );
    h.apply(&with_title).await;
    let before = h.chat(ENG).await.admins[&cast.admin].clone();
    let demote = h.change(
        ENG,
        Op::Promote {
            user: cast.admin,
            rights: Rights::new(),
        },
        Value::Null,
    );
    let (observed, done) = h.apply(&demote).await;
    assert!(!h.chat(ENG).await.admins.contains_key(&cast.admin));
    assert_eq!(status(&h, cast.admin), Member::Member { tag: None });
    h.undo(&demote, &observed, &done).await;
    assert_eq!(h.chat(ENG).await.admins[&cast.admin], before);

    // Restrict with an end date; undo lifts it.
    let until = unix_now() + 3600;
    let narrow = perms(&[Permission::SendMessages]);
    let restrict = h.change(
        ENG,
        Op::Restrict {
            user: m2,
            permissions: narrow.clone(),
            until: Some(until),
        },
        Value::Null,
    );
    let (observed, done) = h.apply(&restrict).await;
    assert_eq!(
        h.chat(ENG).await.members[&m2],
        MemberState::Restricted {
            permissions: narrow.clone(),
            until: Some(until)
        }
    );
    h.undo(&restrict, &observed, &done).await;
    assert_eq!(h.chat(ENG).await.members[&m2], MemberState::Member);
    assert!(matches!(status(&h, m2), Member::Member { .. }));

    // Unrestrict someone restricted; undo restricts them again as before.
    h.apply(&restrict).await;
    let unrestrict = h.change(ENG, Op::Unrestrict { user: m2 }, Value::Null);
    let (observed, done) = h.apply(&unrestrict).await;
    assert_eq!(h.chat(ENG).await.members[&m2], MemberState::Member);
    h.undo(&unrestrict, &observed, &done).await;
    assert_eq!(
        h.chat(ENG).await.members[&m2],
        MemberState::Restricted {
            permissions: narrow,
            until: Some(until)
        }
    );

    // Ban: irreversible; unban: undone by banning again.
    let ban = h.change(ENG, Op::Ban { user: m3 }, Value::Null);
    let (observed, done) = h.apply(&ban).await;
    assert_eq!(h.chat(ENG).await.members[&m3], MemberState::Banned);
    assert!(matches!(
        h.provider.inverse(&ban, &observed, &done),
        Inverse::Irreversible { .. }
    ));
    let unban = h.change(ENG, Op::Unban { user: m3 }, Value::Null);
    let (observed, done) = h.apply(&unban).await;
    assert_eq!(h.chat(ENG).await.members[&m3], MemberState::Absent);
    assert_eq!(status(&h, m3), Member::Left);
    h.undo(&unban, &observed, &done).await;
    assert_eq!(h.chat(ENG).await.members[&m3], MemberState::Banned);

    // Kick = ban + unban(only_if_banned): gone, not banned.
    let kick = h.change(ENG, Op::Kick { user: m4 }, Value::Null);
    let (observed, done) = h.apply(&kick).await;
    assert_eq!(done.calls, vec!["banChatMember", "unbanChatMember"]);
    assert_eq!(status(&h, m4), Member::Left);
    assert_eq!(h.chat(ENG).await.members[&m4], MemberState::Absent);
    assert!(matches!(
        h.provider.inverse(&kick, &observed, &done),
        Inverse::Irreversible { .. }
    ));

    // A refusal names the method and the chat, and is a per-chat problem when it is about rights.
    let stranger = h.change(
        ENG,
        Op::Promote {
            user: cast.outsider,
            rights: rights(&[Right::PinMessages]),
        },
        Value::Null,
    );
    let err = h.provider.execute(&stranger).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "promoteChatMember in chat {id}: Bad Request: bots can't add new chat members (error 400)"
        )
    );
    h.sandbox.shutdown().await.unwrap();
}

#[tokio::test]
async fn personal_invites_and_commands() {
    let desired = acme();
    let mut world = exact_world(&desired);
    let cast = cast(&desired, &mut world);
    let mut h = Harness::new(desired.clone(), world).await;
    let id = h.chat_id(ENG);
    let expires = unix_now() + 7 * 86_400;

    // Someone who started the bot gets the link by DM.
    let invite = h.change(
        ENG,
        Op::SendInvite {
            user: cast.outsider,
            name: "Invite for someone with a long name".into(),
            expires,
        },
        Value::Null,
    );
    let (observed, done) = h.apply(&invite).await;
    let Answer::PersonalInvite {
        url,
        delivered: true,
        ..
    } = done.answer.clone()
    else {
        panic!("{done:?}")
    };
    let world = h.world();
    let link = world.chats[&id]
        .invite_links
        .iter()
        .find(|l| l.link == url)
        .unwrap();
    assert_eq!(
        (
            link.member_limit,
            link.expire_date,
            link.name.as_deref().map(str::len)
        ),
        (Some(1), Some(expires), Some(32))
    );
    let dm = &world.private_chats[&cast.outsider].messages;
    assert!(dm.last().unwrap().text.contains(&url), "{dm:?}");
    assert_eq!(
        h.store.chat(id).unwrap().personal_invites[&cast.outsider].url,
        Some(url.clone())
    );
    // Undo withdraws the link.
    h.undo(&invite, &observed, &done).await;
    assert!(
        h.world().chats[&id]
            .invite_links
            .iter()
            .find(|l| l.link == url)
            .unwrap()
            .is_revoked
    );
    assert!(h.store.chat(id).unwrap().personal_invites[&cast.outsider].revoked);

    // Someone who never started the bot: the link exists, the DM is "not delivered", not a failure.
    let silent = h.change(
        ENG,
        Op::SendInvite {
            user: cast.silent_outsider,
            name: "Invite".into(),
            expires,
        },
        Value::Null,
    );
    let (_, done) = h.apply(&silent).await;
    let Answer::PersonalInvite {
        delivered,
        not_delivered_because,
        ..
    } = &done.answer
    else {
        panic!()
    };
    assert!(!delivered);
    assert!(
        not_delivered_because
            .as_deref()
            .unwrap_or_default()
            .contains("can't initiate conversation"),
        "{done:?}"
    );

    // Commands for the chat's scope.
    let list = vec![Command {
        command: "oncall".into(),
        description: "Who is on call".into(),
    }];
    let set = h.change(
        ENG,
        Op::SetCommands {
            commands: list.clone(),
        },
        Value::Null,
    );
    let (observed, done) = h.apply(&set).await;
    assert_eq!(h.chat(ENG).await.commands, Some(list.clone()));
    let inverse = h.undo(&set, &observed, &done).await;
    assert_eq!(
        inverse,
        Inverse::Ops {
            ops: vec![Op::DeleteCommands]
        }
    );
    assert_eq!(h.chat(ENG).await.commands, Some(vec![]));
    h.apply(&set).await;
    let delete = h.change(ENG, Op::DeleteCommands, Value::Null);
    let (observed, done) = h.apply(&delete).await;
    assert_eq!(h.chat(ENG).await.commands, Some(vec![]));
    h.undo(&delete, &observed, &done).await;
    assert_eq!(h.chat(ENG).await.commands, Some(list));
    // Other scopes are untouched.
    assert!(
        h.world()
            .commands
            .iter()
            .all(|s| s.scope.kind == "chat" && s.scope.chat_id == Some(id))
    );
    h.sandbox.shutdown().await.unwrap();
}

/// One request as the recording proxy saw it.
#[derive(Clone, Debug)]
struct Seen {
    key: String,
    arrived: Instant,
    answered: Instant,
    status: u16,
    retry_after: Option<u64>,
}

/// A pass-through proxy in front of the sandbox that records when each
/// request arrived and when (and how) it was answered: the server-side
/// evidence of how the client treated `retry_after`.
async fn recording_proxy(upstream: String) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let log: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let record = log.clone();
    let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let (http, record, upstream) = (http.clone(), record.clone(), upstream.clone());
        async move {
            let arrived = Instant::now();
            let path = request.uri().path().to_string();
            let content_type = request
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("application/json")
                .to_string();
            let body = axum::body::to_bytes(request.into_body(), usize::MAX)
                .await
                .unwrap_or_default();
            let method = path.rsplit('/').next().unwrap_or_default().to_string();
            let forwarded = http
                .post(format!("{upstream}{path}"))
                .header("content-type", &content_type)
                .body(body.clone())
                .send()
                .await;
            // A multipart body has a fresh boundary on every attempt: leave it
            // out, so a repeated call is recognised as the same call.
            let mut text = String::from_utf8_lossy(&body).into_owned();
            if let Some((_, boundary)) = content_type.split_once("boundary=") {
                text = text.replace(boundary.trim_matches('"'), "BOUNDARY");
            }
            let (status, bytes) = match forwarded {
                Ok(r) => (r.status().as_u16(), r.bytes().await.unwrap_or_default()),
                Err(_) => (502, Default::default()),
            };
            let retry_after = serde_json::from_slice::<Value>(&bytes)
                .ok()
                .and_then(|v| v["parameters"]["retry_after"].as_u64());
            let key = format!("{method} {text}");
            record.lock().unwrap().push(Seen {
                key,
                arrived,
                answered: Instant::now(),
                status,
                retry_after,
            });
            (
                axum::http::StatusCode::from_u16(status).unwrap(),
                [("content-type", "application/json")],
                bytes,
            )
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, log)
}

/// Safe-to-repeat changes for one chat of the generated org.
fn writes_for(
    desired: &DesiredState,
    key: &str,
    live: &ChatState,
    photo: &std::path::Path,
) -> Vec<Change> {
    let chat = &desired.state.chats[key];
    let mut ops = vec![
        Op::SetTitle {
            title: format!("{key} (renamed)"),
        },
        Op::SetDescription {
            description: format!("Managed by orgform: {key}"),
        },
    ];
    // Channels have no bot commands (the Bot API refuses the scope).
    if chat.kind != ChatType::Channel {
        ops.push(Op::SetCommands {
            commands: vec![Command {
                command: "help".into(),
                description: format!("Help for {key}"),
            }],
        });
    }
    let plain: Vec<UserId> = live
        .members
        .iter()
        .filter(|(_, m)| **m == MemberState::Member)
        .map(|(u, _)| *u)
        .collect();
    if let Some(first) = plain.first() {
        let granted = match chat.kind {
            ChatType::Channel => rights(&[Right::ManageChat, Right::PostMessages]),
            _ => rights(&[Right::ManageChat, Right::PinMessages]),
        };
        ops.push(Op::Promote {
            user: *first,
            rights: granted,
        });
    }
    if chat.kind == ChatType::Supergroup {
        ops.push(Op::SetPermissions {
            permissions: perms(&[Permission::SendMessages]),
        });
        if let Some(second) = plain.get(1) {
            ops.push(Op::Restrict {
                user: *second,
                permissions: perms(&[Permission::SendMessages]),
                until: None,
            });
        }
        if let Some(third) = plain.get(2) {
            ops.push(Op::SetTag {
                user: *third,
                tag: "Tagged".into(),
            });
        }
        // A multipart upload, retried like any call that is safe to repeat.
        let sha256 = orgform::state::Photo::hash_of(&std::fs::read(photo).unwrap());
        ops.push(Op::SetPhoto {
            path: photo.display().to_string(),
            sha256,
        });
    }
    ops.into_iter()
        .map(|op| change(desired, key, op, Value::Null))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifty_chat_org_survives_rate_limits_and_failures() {
    let generated = generate(&GenerateOptions {
        people: 80,
        chats: 50,
        seed: 11,
    });
    let desired = generated.desired;
    assert_eq!(desired.state.chats.len(), 50);
    let faults = FaultOptions {
        rate_limit_per_sec: Some(400),
        fail_rate: 0.1,
        seed: 4,
        ..Default::default()
    };
    let sandbox = start(generated.world, faults).await;
    let (proxy, log) = recording_proxy(sandbox.base_url()).await;
    let client = client_for(&proxy, sandbox.token(), fast());

    // Read everything.
    let mut store = Store::default();
    let live = telegram::read(&client, &desired, &mut store, unix_now())
        .await
        .unwrap();
    let errors: BTreeMap<&String, &String> = live
        .meta
        .iter()
        .filter_map(|(k, m)| m.error.as_ref().map(|e| (k, e)))
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(live.state.chats.len(), 50);

    // Write: chats in parallel, each chat's changes in order.
    let provider = TelegramProvider::new(client.clone());
    let mut tasks = tokio::task::JoinSet::new();
    let mut expected_titles = BTreeMap::new();
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("logo.png");
    std::fs::write(&photo, png(7)).unwrap();
    for (key, chat) in &live.state.chats {
        let changes = writes_for(&desired, key, chat, &photo);
        expected_titles.insert(desired.state.chats[key].id, format!("{key} (renamed)"));
        let provider = provider.clone();
        tasks.spawn(async move {
            let mut results = Vec::new();
            for change in changes {
                results.push(provider.execute(&change).await.map_err(|e| e.to_string()));
            }
            results
        });
    }
    let mut writes = 0;
    while let Some(done) = tasks.join_next().await {
        for result in done.unwrap() {
            assert!(result.is_ok(), "{result:?}");
            writes += 1;
        }
    }
    assert!(writes >= 50 * 4, "{writes} writes");
    let world = sandbox.world_snapshot();
    for (id, title) in &expected_titles {
        assert_eq!(&world.chats[id].title, title);
        if world.chats[id].kind == ChatType::Supergroup {
            assert!(world.chats[id].photo.is_some(), "chat {id} has its photo");
        }
    }

    // Faults happened, and every call got through in the end.
    let stats = sandbox.stats();
    assert!(
        stats.rate_limited > 0 && stats.injected_errors > 0,
        "no faults were injected: {stats:?}"
    );
    let log = log.lock().unwrap().clone();
    let mut last: BTreeMap<&str, u16> = BTreeMap::new();
    for seen in &log {
        last.insert(&seen.key, seen.status);
    }
    let failed: Vec<_> = last.iter().filter(|(_, s)| **s != 200).collect();
    assert!(failed.is_empty(), "calls that never succeeded: {failed:?}");
    // No call was repeated before its retry_after ran out.
    let mut checked = 0;
    for (i, seen) in log.iter().enumerate() {
        let Some(wait) = seen.retry_after.filter(|_| seen.status == 429) else {
            continue;
        };
        let next = log[i + 1..]
            .iter()
            .find(|s| s.key == seen.key)
            .expect("a rate-limited call is repeated");
        let waited = next.arrived.duration_since(seen.answered);
        assert!(
            waited >= Duration::from_secs(wait),
            "{} repeated after {waited:?}, retry_after was {wait} s",
            seen.key
        );
        checked += 1;
    }
    assert!(checked > 0);
    assert!(
        stats.spec_violations.is_empty(),
        "{:?}",
        stats.spec_violations
    );
    sandbox.shutdown().await.unwrap();
}

#[tokio::test]
async fn cut_connections_and_timeouts() {
    // Cut connections (half of them after the call ran) are retried for safe calls.
    let desired = acme();
    let faults = FaultOptions {
        drop_rate: 0.2,
        seed: 9,
        ..Default::default()
    };
    let sandbox = start(exact_world(&desired), faults).await;
    let client = client(&sandbox);
    let mut store = Store::default();
    let live = telegram::read(&client, &desired, &mut store, unix_now())
        .await
        .unwrap();
    assert!(live.meta.values().all(|m| m.error.is_none()));
    let provider = TelegramProvider::new(client.clone());
    for key in desired.state.chats.keys() {
        provider
            .execute(&change(
                &desired,
                key,
                Op::SetTitle {
                    title: format!("{key}!"),
                },
                Value::Null,
            ))
            .await
            .unwrap();
    }
    assert!(sandbox.stats().dropped_connections > 0);

    // A write that is not safe to repeat is not repeated after a failure.
    let always = start(
        exact_world(&desired),
        FaultOptions {
            fail_rate: 1.0,
            ..Default::default()
        },
    )
    .await;
    let provider = TelegramProvider::new(telegram_common::client(&always));
    let topic = Topic {
        name: "X".into(),
        icon_color: None,
        closed: false,
        thread_id: None,
    };
    let err = provider
        .execute(&change(
            &desired,
            ENG,
            Op::CreateTopic {
                key: "x".into(),
                topic,
            },
            Value::Null,
        ))
        .await
        .unwrap_err();
    assert!(err.outcome_unknown(), "{err}");
    assert!(err.to_string().contains("not safe to repeat"), "{err}");
    assert_eq!(always.stats().calls("createForumTopic"), 1);
    // A safe one is retried up to the limit.
    let err = provider
        .execute(&change(
            &desired,
            ENG,
            Op::SetTitle { title: "Y".into() },
            Value::Null,
        ))
        .await
        .unwrap_err();
    assert_eq!(
        always.stats().calls("setChatTitle"),
        u64::from(fast().retry.max_attempts)
    );
    assert!(err.to_string().contains("Internal Server Error"), "{err}");
    always.shutdown().await.unwrap();

    // A server slower than the HTTP timeout: the call times out, retried, then reported.
    let slow = start(
        exact_world(&desired),
        FaultOptions {
            latency: Duration::from_millis(400),
            ..Default::default()
        },
    )
    .await;
    let mut options = fast();
    options.timeout = Duration::from_millis(100);
    options.retry.max_attempts = 2;
    let impatient = client_for(&slow.base_url(), slow.token(), options);
    let err = impatient
        .call_value(&telegram::ApiCall::read("getMe", None))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.kind,
            ErrorKind::Transport {
                timed_out: true,
                attempts: 2,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("getMe: the request timed out after 2 attempt(s)"),
        "{err}"
    );
    assert!(telegram::ClientOptions::default().timeout > Duration::from_secs(60));
    slow.shutdown().await.unwrap();
    sandbox.shutdown().await.unwrap();
}

/// A file that starts like a PNG, with `seed` making its content unique.
fn png(seed: u8) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend([seed; 64]);
    bytes
}

#[tokio::test]
async fn photos_are_uploaded_compared_by_content_and_deleted() {
    use orgform::state::Photo;
    let desired = acme();
    let mut h = Harness::new(desired.clone(), exact_world(&desired)).await;
    let id = h.chat_id(ENG);
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(h.chat(ENG).await.settings.photo, Some(Photo::None));

    // Upload: sent as multipart, then read back; the store remembers it by content.
    let path = dir.path().join("team.png");
    std::fs::write(&path, png(1)).unwrap();
    let sha = orgform::state::Photo::hash_of(&png(1));
    let set = h.change(
        ENG,
        Op::SetPhoto {
            path: path.display().to_string(),
            sha256: sha.clone(),
        },
        Value::Null,
    );
    let (observed, done) = h.apply(&set).await;
    assert_eq!(done.calls, ["setChatPhoto", "getChat"]);
    assert!(
        matches!(observed, Observed::Chat { photo: None, .. }),
        "{observed:?}"
    );
    assert!(h.world().chats[&id].photo.is_some());
    assert_eq!(
        h.chat(ENG)
            .await
            .settings
            .photo
            .as_ref()
            .and_then(Photo::sha256),
        Some(sha.as_str())
    );

    // Undo deletes it; deleting twice is "not modified".
    let inverse = h.undo(&set, &observed, &done).await;
    assert_eq!(
        inverse,
        Inverse::Ops {
            ops: vec![Op::DeletePhoto]
        }
    );
    assert_eq!(h.chat(ENG).await.settings.photo, Some(Photo::None));
    assert_eq!(h.store.chat(id).unwrap().photo, None);
    let delete = h.change(ENG, Op::DeletePhoto, Value::Null);
    assert!(h.provider.execute(&delete).await.unwrap().not_modified);

    // A photo someone set by hand is not orgform's; replacing it cannot be undone.
    let mut world = h.world();
    world.chats.get_mut(&id).unwrap().photo =
        Some(orgform::sandbox::world::ChatPhoto { serial: 99 });
    h.sandbox.replace_world(world);
    assert_eq!(
        h.chat(ENG).await.settings.photo,
        Some(Photo::Other {
            file_unique_id: "AQb99".into()
        })
    );
    let (observed, done) = h.apply(&set).await;
    assert!(matches!(
        h.provider.inverse(&set, &observed, &done),
        Inverse::Irreversible { .. }
    ));
    assert_eq!(
        h.chat(ENG)
            .await
            .settings
            .photo
            .as_ref()
            .and_then(Photo::sha256),
        Some(sha.as_str())
    );

    // A file that changed since the plan is refused before anything is sent.
    std::fs::write(&path, png(2)).unwrap();
    h.sandbox.reset_stats();
    let err = h.provider.execute(&set).await.unwrap_err();
    assert!(
        !err.outcome_unknown() && err.to_string().contains("changed since the plan"),
        "{err}"
    );
    assert_eq!(h.sandbox.stats().requests, 0);
    assert!(
        h.sandbox.stats().spec_violations.is_empty(),
        "{:?}",
        h.sandbox.stats().spec_violations
    );
    h.sandbox.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_pinned_message_is_edited_pinned_again_and_unpinned() {
    let desired = acme();
    let mut h = Harness::new(desired.clone(), exact_world(&desired)).await;
    let id = h.chat_id(ENG);
    let owner = h.world().chats[&id].owner().unwrap();
    let declared = h
        .chat(ENG)
        .await
        .pinned
        .expect("the example pins a message");
    assert!(declared.by_bot);
    let ours = declared.message_id.unwrap();

    // Edited in place, and edited back.
    let edit = h.change(
        ENG,
        Op::Pin {
            text: "New house rules".into(),
            message_id: Some(ours),
            notify: false,
        },
        Value::Null,
    );
    let (observed, done) = h.apply(&edit).await;
    assert_eq!(done.calls, ["editMessageText", "pinChatMessage"]);
    let live = h.chat(ENG).await.pinned.unwrap();
    assert_eq!(
        (live.text.as_str(), live.message_id),
        ("New house rules", Some(ours))
    );
    let inverse = h.undo(&edit, &observed, &done).await;
    assert_eq!(
        inverse,
        Inverse::Ops {
            ops: vec![Op::Pin {
                text: declared.text.clone(),
                message_id: Some(ours),
                notify: false
            }]
        }
    );
    assert_eq!(h.chat(ENG).await.pinned.unwrap().text, declared.text);

    // A person pins their own message on top: the bot's goes back on top
    // (its text unchanged, so "not modified"), and undo shows theirs again.
    let theirs = h
        .sandbox
        .act(
            owner,
            "sendMessage",
            serde_json::json!({"chat_id": id, "text": "Lunch?"}),
        )
        .unwrap()["message_id"]
        .as_i64()
        .unwrap();
    h.sandbox
        .act(
            owner,
            "pinChatMessage",
            serde_json::json!({"chat_id": id, "message_id": theirs}),
        )
        .unwrap();
    let live = h.chat(ENG).await.pinned.unwrap();
    assert_eq!((live.message_id, live.by_bot), (Some(theirs), false));
    let again = h.change(
        ENG,
        Op::Pin {
            text: declared.text.clone(),
            message_id: Some(ours),
            notify: false,
        },
        Value::Null,
    );
    let (observed, done) = h.apply(&again).await;
    assert_eq!(h.chat(ENG).await.pinned.unwrap().message_id, Some(ours));
    assert_eq!(
        h.undo(&again, &observed, &done).await,
        Inverse::Ops {
            ops: vec![Op::Unpin { message_id: ours }]
        }
    );
    assert_eq!(h.chat(ENG).await.pinned.unwrap().message_id, Some(theirs));

    // The earlier pin is gone: a new message is posted and pinned, and remembered.
    let gone = h.change(
        ENG,
        Op::Pin {
            text: "Fresh rules".into(),
            message_id: Some(987_654),
            notify: true,
        },
        Value::Null,
    );
    let (_, done) = h.apply(&gone).await;
    assert_eq!(
        done.calls,
        ["editMessageText", "sendMessage", "pinChatMessage"]
    );
    let Answer::Pinned {
        message_id: fresh,
        posted: true,
        ..
    } = done.answer
    else {
        panic!("{done:?}")
    };
    assert_eq!(
        h.store
            .chat(id)
            .unwrap()
            .pinned
            .as_ref()
            .map(|p| p.message_id),
        Some(fresh)
    );
    assert!(h.world().chats[&id].messages[&fresh].text == "Fresh rules");

    // Unpinned, and pinned again by the undo.
    let unpin = h.change(ENG, Op::Unpin { message_id: fresh }, Value::Null);
    let (observed, done) = h.apply(&unpin).await;
    assert_eq!(h.chat(ENG).await.pinned.unwrap().message_id, Some(theirs));
    assert_eq!(h.store.chat(id).unwrap().pinned, None);
    h.undo(&unpin, &observed, &done).await;
    assert_eq!(h.chat(ENG).await.pinned.unwrap().message_id, Some(fresh));
    assert!(
        h.sandbox.stats().spec_violations.is_empty(),
        "{:?}",
        h.sandbox.stats().spec_violations
    );
    h.sandbox.shutdown().await.unwrap();
}

#[tokio::test]
async fn member_tags_are_set_cleared_and_seen_when_set_by_hand() {
    let desired = acme();
    let mut world = exact_world(&desired);
    let cast = cast(&desired, &mut world);
    let mut h = Harness::new(desired.clone(), world).await;
    let id = h.chat_id(ENG);
    let owner = h.world().chats[&id].owner().unwrap();
    let m1 = cast.members[0];
    let tag_of = |h: &Harness, u: UserId| match h.world().chats[&id].status(u, unix_now()) {
        Member::Member { tag } | Member::Restricted { tag, .. } => tag,
        other => panic!("{other:?}"),
    };
    let before = tag_of(&h, m1);

    let set = h.change(
        ENG,
        Op::SetTag {
            user: m1,
            tag: "Guest".into(),
        },
        Value::Null,
    );
    let (observed, done) = h.apply(&set).await;
    assert!(
        matches!(&observed, Observed::Member { tag, .. } if *tag == before),
        "{observed:?}"
    );
    assert_eq!(tag_of(&h, m1).as_deref(), Some("Guest"));
    assert_eq!(
        h.chat(ENG).await.tags.unwrap().get(&m1).map(String::as_str),
        Some("Guest")
    );
    h.undo(&set, &observed, &done).await;
    assert_eq!(tag_of(&h, m1), before);
    assert_eq!(h.chat(ENG).await.tags.unwrap().get(&m1), before.as_ref());

    // An empty tag clears it.
    let clear = h.change(
        ENG,
        Op::SetTag {
            user: m1,
            tag: String::new(),
        },
        Value::Null,
    );
    h.apply(&clear).await;
    assert_eq!(tag_of(&h, m1), None);
    assert_eq!(h.chat(ENG).await.tags.unwrap().get(&m1), None);

    // A tag set by hand arrives as a chat_member update and shows up after
    // a refresh (the first one asks Telegram for chat_member updates).
    telegram::refresh(
        &h.client,
        &h.desired,
        &mut h.store,
        unix_now(),
        Some(&[ENG.to_string()]),
    )
    .await
    .unwrap();
    h.sandbox
        .act(
            owner,
            "setChatMemberTag",
            serde_json::json!({"chat_id": id, "user_id": m1, "tag": "By hand"}),
        )
        .unwrap();
    let (live, drained) = telegram::refresh(
        &h.client,
        &h.desired,
        &mut h.store,
        unix_now(),
        Some(&[ENG.to_string()]),
    )
    .await
    .unwrap();
    assert!(drained.updates >= 1);
    assert_eq!(
        live.state.chats[ENG]
            .tags
            .as_ref()
            .unwrap()
            .get(&m1)
            .map(String::as_str),
        Some("By hand")
    );

    // Admins carry titles, not tags: Telegram refuses, and the error says so.
    let admin = h.change(
        ENG,
        Op::SetTag {
            user: cast.admin,
            tag: "Lead".into(),
        },
        Value::Null,
    );
    let err = h.provider.execute(&admin).await.unwrap_err();
    assert!(
        err.to_string().contains("setChatMemberTag") && err.to_string().contains("administrator"),
        "{err}"
    );
    assert!(
        h.sandbox.stats().spec_violations.is_empty(),
        "{:?}",
        h.sandbox.stats().spec_violations
    );
    h.sandbox.shutdown().await.unwrap();
}

/// In a basic group banChatMember only removes the member (TDLib's
/// `delete_chat_participant`) and unbanChatMember is refused ("method is
/// available for supergroup and channel chats only"), so a kick there is
/// the ban alone; it used to send the unban and fail.
#[tokio::test]
async fn kick_in_a_basic_group_is_one_ban() {
    use orgform::sandbox::world::Chat;
    let desired = acme();
    let mut world = exact_world(&desired);
    let cast = cast(&desired, &mut world);
    let group_id: i64 = -4242;
    let bot = world.bot_id();
    let user = cast.members[0];
    let mut group = Chat::new(group_id, ChatType::Group, "Old team");
    group.set_status(
        cast.admin,
        Member::Creator {
            is_anonymous: false,
            custom_title: None,
        },
    );
    group.set_status(
        bot,
        Member::Administrator {
            rights: Right::all_for(ChatType::Group),
            custom_title: None,
            promoted_by: cast.admin,
        },
    );
    group.set_status(user, Member::plain());
    world.add_chat(group);
    let h = Harness::new(desired.clone(), world).await;
    let mut kick = h.change(ENG, Op::Kick { user }, Value::Null);
    kick.chat_id = group_id;
    kick.chat_type = ChatType::Group;
    let done = h
        .provider
        .execute(&kick)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(done.calls, vec!["banChatMember"]);
    assert_eq!(
        h.world().chats[&group_id].status(user, unix_now()),
        Member::Left
    );
    h.sandbox.shutdown().await.unwrap();
}

/// A channel has no bot commands: orgform says so instead of sending a
/// call the Bot API refuses ("can't change commands in channel chats").
#[tokio::test]
async fn commands_are_not_sent_for_channels() {
    let desired = acme();
    let world = exact_world(&desired);
    let h = Harness::new(desired.clone(), world).await;
    let (key, _) = desired
        .state
        .chats
        .iter()
        .find(|(_, c)| c.kind == ChatType::Channel)
        .expect("acme has a channel");
    let change = h.change(
        key,
        Op::SetCommands {
            commands: vec![Command {
                command: "help".into(),
                description: "Help".into(),
            }],
        },
        Value::Null,
    );
    let err = h.provider.execute(&change).await.unwrap_err();
    assert!(!err.outcome_unknown(), "{err}");
    assert!(
        err.to_string().contains("no bot commands in channels"),
        "{err}"
    );
    assert_eq!(
        h.sandbox
            .stats()
            .methods
            .get("setMyCommands")
            .map_or(0, |s| s.calls),
        0
    );
    h.sandbox.shutdown().await.unwrap();
}
