//! Shared by the sandbox test binaries: a fixture world with one chat for
//! each situation the rules care about, a sandbox started with the Bot API
//! spec check on, and a small HTTP client that returns (status, body).

#![allow(dead_code)]

use std::sync::{Arc, OnceLock};

use orgform::botapi_spec::BotApiSpec;
use orgform::sandbox::world::{Chat, InviteLink, Member, Message, Topic, User, World};
use orgform::sandbox::{self, FaultOptions, RunningSandbox, SandboxOptions};
use orgform::state::{ChatType, Permission, Right, Rights};
use serde_json::{Value, json};

pub const BOT: i64 = 7_000_000_001;
pub const OTHER_BOT: i64 = 7_000_000_002;
pub const OWNER: i64 = 1001;
/// Admin promoted by the bot (the bot may edit them).
pub const BOT_ADMIN: i64 = 1002;
/// Admin promoted by the owner (the bot may not edit them).
pub const HUMAN_ADMIN: i64 = 1003;
pub const MEMBER: i64 = 1004;
pub const OUTSIDER: i64 = 1005;
pub const BANNED: i64 = 1006;
pub const RESTRICTED: i64 = 1007;
pub const DEACTIVATED: i64 = 1008;
pub const NO_START: i64 = 1009;

/// A forum supergroup where the bot holds every right but managing video chats.
pub const SG: i64 = -1_001_000_000_001;
pub const GROUP: i64 = -1001;
pub const CHANNEL: i64 = -1_002_000_000_001;
/// A basic group upgraded to SG.
pub const OLD_GROUP: i64 = -1002;
pub const NOT_MEMBER_SG: i64 = -1_001_000_000_003;
pub const KICKED_SG: i64 = -1_001_000_000_004;
/// The bot is an administrator with no rights beyond managing the chat.
pub const WEAK_SG: i64 = -1_001_000_000_005;
/// The bot is a plain member.
pub const MEMBER_SG: i64 = -1_001_000_000_006;
/// 50 administrators already.
pub const FULL_SG: i64 = -1_001_000_000_007;
/// The bot is a plain member of a channel.
pub const MEMBER_CHANNEL: i64 = -1_002_000_000_002;
pub const TOKEN: &str = "7000000001:AAsandbox-test-token_0123456789abcdef";
/// A closed topic in SG.
pub const CLOSED_TOPIC: i64 = 5;
pub const OPEN_TOPIC: i64 = 6;
/// A message in SG.
pub const MESSAGE: i64 = 3;
/// Links in SG: one by the owner, one revoked, one with a member limit of 1
/// already used, one that needs approval.
pub const OWNER_LINK: &str = "https://t.me/+ownerlink000000";
pub const REVOKED_LINK: &str = "https://t.me/+revokedlink0000";
pub const FULL_LINK: &str = "https://t.me/+fulllink00000000";
pub const REQUEST_LINK: &str = "https://t.me/+requestlink0000";

fn admin(rights: &[Right], by: i64) -> Member {
    Member::Administrator {
        rights: rights.iter().copied().collect(),
        custom_title: None,
        promoted_by: by,
    }
}

fn all_but(kind: ChatType, missing: &[Right]) -> Rights {
    Right::all_for(kind)
        .into_iter()
        .filter(|r| !missing.contains(r))
        .collect()
}

fn link(url: &str, creator: i64) -> InviteLink {
    InviteLink {
        link: url.into(),
        creator,
        name: None,
        expire_date: None,
        member_limit: None,
        creates_join_request: false,
        is_primary: false,
        is_revoked: false,
        joined: 0,
        subscription: None,
    }
}

pub fn fixture_world() -> World {
    let mut w = World::new(BOT, "fixture_bot", TOKEN);
    let mut other = User::human(OTHER_BOT, "Other");
    other.is_bot = true;
    other.username = Some("other_bot".into());
    w.add_user(other);
    for (id, name) in [
        (OWNER, "Olga"),
        (BOT_ADMIN, "Bea"),
        (HUMAN_ADMIN, "Hank"),
        (MEMBER, "Mia"),
        (OUTSIDER, "Otto"),
        (BANNED, "Ben"),
        (RESTRICTED, "Rita"),
        (DEACTIVATED, "Dora"),
        (NO_START, "Nils"),
    ] {
        let mut u = User::human(id, name);
        u.started_bot = id != NO_START;
        u.deactivated = id == DEACTIVATED;
        w.add_user(u);
    }
    for i in 0..50 {
        w.add_user(User::human(2000 + i, format!("Admin {i}")));
    }
    let owner = || Member::Creator {
        is_anonymous: false,
        custom_title: None,
    };

    let mut sg = Chat::new(SG, ChatType::Supergroup, "Engineering");
    sg.is_forum = true;
    sg.description = "Same description".into();
    sg.set_status(OWNER, owner());
    sg.set_status(
        BOT,
        Member::Administrator {
            rights: all_but(ChatType::Supergroup, &[Right::ManageVideoChats]),
            custom_title: None,
            promoted_by: OWNER,
        },
    );
    sg.set_status(OTHER_BOT, admin(&[Right::ManageChat], OWNER));
    sg.set_status(
        BOT_ADMIN,
        admin(
            &[Right::ManageChat, Right::DeleteMessages, Right::PinMessages],
            BOT,
        ),
    );
    sg.set_status(
        HUMAN_ADMIN,
        admin(&[Right::ManageChat, Right::DeleteMessages], OWNER),
    );
    sg.set_status(MEMBER, Member::plain());
    sg.set_status(BANNED, Member::Kicked { until_date: 0 });
    sg.set_status(
        RESTRICTED,
        Member::Restricted {
            permissions: [Permission::SendMessages].into_iter().collect(),
            is_member: true,
            until_date: 0,
            tag: None,
        },
    );
    sg.messages.insert(
        MESSAGE,
        Message {
            message_id: MESSAGE,
            from: OWNER,
            date: 1,
            text: "hello".into(),
            thread_id: None,
            edit_date: None,
        },
    );
    for (thread, name, closed) in [(CLOSED_TOPIC, "Closed", true), (OPEN_TOPIC, "Open", false)] {
        sg.topics.insert(
            thread,
            Topic {
                thread_id: thread,
                name: name.into(),
                icon_color: 7322096,
                icon_custom_emoji_id: None,
                closed,
                created_by: OWNER,
            },
        );
    }
    sg.next_message_id = 10;
    sg.invite_links.push(link(OWNER_LINK, OWNER));
    sg.invite_links.push(InviteLink {
        is_revoked: true,
        ..link(REVOKED_LINK, BOT)
    });
    sg.invite_links.push(InviteLink {
        member_limit: Some(1),
        joined: 1,
        ..link(FULL_LINK, BOT)
    });
    sg.invite_links.push(InviteLink {
        creates_join_request: true,
        ..link(REQUEST_LINK, BOT)
    });
    w.add_chat(sg);

    let mut group = Chat::new(GROUP, ChatType::Group, "Old friends");
    group.set_status(OWNER, owner());
    group.set_status(
        BOT,
        admin(
            &Right::all_for(ChatType::Group)
                .into_iter()
                .collect::<Vec<_>>(),
            OWNER,
        ),
    );
    group.set_status(MEMBER, Member::plain());
    w.add_chat(group);

    let mut channel = Chat::new(CHANNEL, ChatType::Channel, "News");
    channel.set_status(OWNER, owner());
    channel.set_status(
        BOT,
        admin(
            &Right::all_for(ChatType::Channel)
                .into_iter()
                .collect::<Vec<_>>(),
            OWNER,
        ),
    );
    channel.set_status(MEMBER, Member::plain());
    w.add_chat(channel);

    let mut old = Chat::new(OLD_GROUP, ChatType::Group, "Engineering (old)");
    old.set_status(OWNER, owner());
    old.set_status(BOT, Member::plain());
    old.migrated_to = Some(SG);
    w.add_chat(old);

    for (id, bot_status) in [
        (NOT_MEMBER_SG, Member::Left),
        (KICKED_SG, Member::Kicked { until_date: 0 }),
        (WEAK_SG, admin(&[Right::ManageChat], OWNER)),
        (MEMBER_SG, Member::plain()),
    ] {
        let mut c = Chat::new(id, ChatType::Supergroup, format!("Chat {id}"));
        c.set_status(OWNER, owner());
        c.set_status(BOT, bot_status);
        c.set_status(MEMBER, Member::plain());
        w.add_chat(c);
    }

    let mut full = Chat::new(FULL_SG, ChatType::Supergroup, "Crowded");
    full.set_status(OWNER, owner());
    full.set_status(
        BOT,
        admin(
            &all_but(ChatType::Supergroup, &[])
                .into_iter()
                .collect::<Vec<_>>(),
            OWNER,
        ),
    );
    for i in 0..49 {
        full.set_status(2000 + i, admin(&[Right::ManageChat], BOT));
    }
    full.set_status(MEMBER, Member::plain());
    w.add_chat(full);

    let mut member_channel = Chat::new(MEMBER_CHANNEL, ChatType::Channel, "Someone else's news");
    member_channel.set_status(OWNER, owner());
    member_channel.set_status(BOT, Member::plain());
    w.add_chat(member_channel);
    w
}

pub fn spec() -> Arc<BotApiSpec> {
    static SPEC: OnceLock<Arc<BotApiSpec>> = OnceLock::new();
    SPEC.get_or_init(|| Arc::new(BotApiSpec::reference().expect("spec loads")))
        .clone()
}

/// A sandbox on an ephemeral port with the spec check on.
pub async fn start_with(world: World, faults: FaultOptions) -> RunningSandbox {
    let options = SandboxOptions {
        faults,
        check_spec: Some(spec()),
        ..Default::default()
    };
    sandbox::start(options, world)
        .await
        .expect("sandbox starts")
}

pub async fn start(world: World) -> RunningSandbox {
    start_with(world, FaultOptions::default()).await
}

/// A thin Bot API client: every call returns the HTTP status and the JSON body.
pub struct Api {
    pub base: String,
    pub token: String,
    pub http: reqwest::Client,
}

impl Api {
    pub fn new(sandbox: &RunningSandbox) -> Api {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Api {
            base: sandbox.base_url(),
            token: sandbox.token().to_string(),
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self, method: &str) -> String {
        format!("{}/bot{}/{}", self.base, self.token, method)
    }

    async fn finish(response: reqwest::Response) -> (u16, Value) {
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// A JSON call.
    pub async fn call(&self, method: &str, params: Value) -> (u16, Value) {
        Self::finish(
            self.http
                .post(self.url(method))
                .json(&params)
                .send()
                .await
                .expect("request sent"),
        )
        .await
    }

    /// A urlencoded form call; nested objects must already be JSON text.
    pub async fn form(&self, method: &str, params: &[(&str, &str)]) -> (u16, Value) {
        Self::finish(
            self.http
                .post(self.url(method))
                .form(params)
                .send()
                .await
                .expect("request sent"),
        )
        .await
    }

    /// A successful call's result; panics with the answer otherwise.
    pub async fn ok(&self, method: &str, params: Value) -> Value {
        let (status, body) = self.call(method, params.clone()).await;
        assert_eq!(status, 200, "{method} {params} answered {body}");
        assert_eq!(body["ok"], json!(true), "{method}: {body}");
        body["result"].clone()
    }

    /// Act as a person through POST /sandbox/act.
    pub async fn act(&self, as_user: i64, method: &str, params: Value) -> (u16, Value) {
        let body = json!({"as": as_user, "method": method, "params": params});
        Self::finish(
            self.http
                .post(format!("{}/sandbox/act", self.base))
                .json(&body)
                .send()
                .await
                .expect("act sent"),
        )
        .await
    }

    pub async fn stats(&self) -> Value {
        self.http
            .get(format!("{}/sandbox/stats", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}
