//! The config as written: the serde and schemars types that the JSON Schema
//! is generated from and that the raw tree deserialises into.
//!
//! These types say what may be written, not what it means: references,
//! lengths and right names are checked in `model::check`, and meaning is
//! given in `model::resolve`. Every struct denies unknown keys.
//!
//! They sit below both `config` (which generates the JSON Schema from them
//! and reshapes KDL by it) and `model` (which resolves them), so neither
//! reaches up into the other.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::state::{ChatType, MembershipMode};

/// A whole orgform config: the sections of every file merged.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "orgform config")]
pub struct Config {
    /// The organisation and how to reach Telegram.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<Org>,
    /// People by handle: the stable name used everywhere in the config.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub people: BTreeMap<String, Person>,
    /// Departments by key; `parent` builds the tree.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub departments: BTreeMap<String, Department>,
    /// Named bundles of admin rights, or member restrictions.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub roles: BTreeMap<String, Role>,
    /// Chat templates: any chat field, merged into the chats that use them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub templates: BTreeMap<String, ChatSpec>,
    /// Managed chats by key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub chats: BTreeMap<String, ChatSpec>,
    /// Guard rails for plans, and rules over the resolved org.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policies: Option<Policies>,
    /// Named stages of a staged rollout (pilot → departments → all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<Rollout>,
    /// Chat folders with a shareable link (the user provider), by key: one
    /// link that joins a newcomer to every chat of their team.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub folders: BTreeMap<String, FolderSpec>,
}

/// A chat folder the signed-in person keeps and shares by link: the chats
/// of a department (those whose `members` name it), the chats the
/// selectors pick, or both.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FolderSpec {
    /// The folder's name, 1–12 characters (Telegram's limit).
    pub title: String,
    /// Every chat whose `members` name this department (or one of its
    /// parents' selectors that include it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Chats matching any of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chats: Option<Vec<ChatSelector>>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Org {
    /// The organisation's display name.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telegram: Option<TelegramSettings>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TelegramSettings {
    /// The bot's username, checked against getMe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot: Option<String>,
    /// Bot API base URL; default https://api.telegram.org.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// Where `orgform watch` sends drift alerts: a chat key of `chats`, or
    /// a Telegram chat id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerts_chat: Option<AlertsChat>,
    /// Who carries out changes: `bot` (default), `user` (a person signed in
    /// with `orgform login`, over MTProto) or `both` (the bot for routine
    /// changes, the person for what only people can do).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<crate::state::ProviderChoice>,
}

/// A chat key of `chats`, or a Telegram chat id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum AlertsChat {
    Id(i64),
    Key(String),
}

/// What `orgform watch` answers to a request to join.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JoinDecision {
    /// approveChatJoinRequest.
    Approve,
    /// declineChatJoinRequest.
    Decline,
    /// Leave it for an admin to decide (a guard bot answers `queue`).
    Queue,
    /// Do nothing (a guard bot's query then times out).
    Ignore,
}

/// The join-request gatekeeper of a chat (`orgform watch`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinRequestPolicy {
    /// People the config declares as members or admins of the chat
    /// (default: approve).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared: Option<JoinDecision>,
    /// Everyone else (default: queue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub others: Option<JoinDecision>,
}

/// A message `orgform watch` sends once to each person who joins.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WelcomeSpec {
    /// The text; `{name}` is the person's name, `{chat}` the chat title.
    pub text: String,
    /// A topic key of the chat (forums) to post in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PersonStatus {
    #[default]
    Active,
    /// Matches no selector: loses declared access (removed from
    /// authoritative chats), but is not hunted down in additive ones.
    Suspended,
    /// Removed from every managed chat.
    Offboarded,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Person {
    /// Telegram user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telegram_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Telegram username, without `@`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Org-wide roles (matched by `{role: …}` selectors).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Free-form labels, matched by `{label: {key: value}}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub status: PersonStatus,
    /// Time-bound access.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grants: Vec<Grant>,
}

/// A role held in some chats until a date.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    pub role: String,
    /// Chat keys the grant applies to.
    pub chats: Vec<String>,
    /// Last day (YYYY-MM-DD, through the end of that day UTC) or an RFC 3339 instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Department {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub leads: Vec<String>,
}

/// `all`, or a list of right names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RightsSpec {
    All(AllKeyword),
    List(Vec<String>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AllKeyword {
    All,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Role {
    /// Admin custom title (≤16 characters, no emoji).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Admin rights (an admin role): names without `can_`, or `all`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rights: Option<RightsSpec>,
    /// Member permissions (a restriction role): what members holding it may do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
    /// Another role whose rights or permissions this one starts from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extends: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `everyone`, or one rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Selector {
    Keyword(SelectorKeyword),
    Rule(SelectorRule),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SelectorKeyword {
    Everyone,
}

/// Exactly one of the selecting keys; `direct` goes with `department`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SelectorRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub people: Option<Vec<String>>,
    /// A department and, unless `direct: true`, its sub-departments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direct: Option<bool>,
    /// People holding an org-wide role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The leads of a department.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leads_of: Option<String>,
    /// People whose labels include all of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<BTreeMap<String, String>>,
    /// People matched by none of these (removes them from the list's result).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub except: Option<Vec<Selector>>,
}

/// Who is admin with which role.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminBinding {
    pub role: String,
    pub members: Vec<Selector>,
    /// Overrides the role's title in this chat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// Members whose permissions are narrower than the chat's.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RestrictionBinding {
    /// A role with `permissions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Permissions given directly (instead of a role).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
    pub members: Vec<Selector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

/// Members who carry a tag (Telegram's member tag, 9.5): a short label
/// shown next to a plain member's name. Admins show their title instead.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TagBinding {
    /// ≤16 characters, no emoji.
    pub tag: String,
    /// Who carries it. A person matched by several bindings gets the first.
    pub members: Vec<Selector>,
}

/// The message the bot keeps pinned at the top of the chat.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PinnedSpec {
    /// Plain text, 1–4096 characters. Changing it edits the pinned message.
    pub text: String,
    /// Notify members when the message is pinned (default: silent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TopicSpec {
    /// 1–128 characters.
    pub name: String,
    /// One of Telegram's six colours: 7322096, 16766590, 13338331, 9367192, 16749490, 16478047.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_color: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteLinkSpec {
    /// ≤32 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Last day (YYYY-MM-DD) or an RFC 3339 instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// 1–99999; not with `join_request`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_request: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandSpec {
    /// 1–32 characters of a–z, 0–9 and `_`.
    pub command: String,
    /// 1–256 characters.
    pub description: String,
}

/// A chat, or a template of one. In a template every field is optional; a
/// chat needs `id` and a `type` (its own or its template's).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatSpec {
    /// Telegram chat id (the Bot API cannot create chats).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ChatType>,
    /// The template this chat starts from (chats only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// The template this template starts from (templates only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extends: Option<String>,
    /// 1–128 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// ≤255 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A forum supergroup (read-only through the Bot API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forum: Option<bool>,
    /// The chat photo: a JPEG or PNG file (≤10 MiB), relative to the file
    /// that names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo: Option<String>,
    /// The message the bot keeps pinned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned: Option<PinnedSpec>,
    /// What members may do by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub membership: Option<MembershipMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<Selector>>,
    /// How declared members who are not in the chat are brought in: a
    /// personal invite link from the bot (`invite`, the default), or added
    /// directly by the signed-in person (`direct`, the user provider),
    /// falling back to the link when their privacy settings refuse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_members: Option<AddMembers>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admins: Option<Vec<AdminBinding>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restricted: Option<Vec<RestrictionBinding>>,
    /// People who must be banned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub banned: Option<Vec<Selector>>,
    /// Member tags (groups and supergroups). When present, tags in this
    /// chat are managed: members no binding matches lose theirs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<TagBinding>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topics: Option<BTreeMap<String, TopicSpec>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite_links: Option<BTreeMap<String, InviteLinkSpec>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commands: Option<Vec<CommandSpec>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Seconds between messages (read-only through the Bot API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slow_mode: Option<u32>,
    /// No forwarding or saving (read-only through the Bot API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protected_content: Option<bool>,
    /// Auto-delete timer in seconds (read-only through the Bot API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_delete: Option<u32>,
    /// Joining needs an admin's approval (read-only through the Bot API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_by_request: Option<bool>,
    /// How `orgform watch` answers requests to join.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_requests: Option<JoinRequestPolicy>,
    /// The message `orgform watch` sends once to each person who joins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub welcome: Option<WelcomeSpec>,
    /// Only members may write (supergroups; read-only through the Bot API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_to_send: Option<bool>,
    /// The member list is shown to admins only (read-only through the Bot API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden_members: Option<bool>,
    /// New members see the messages from before they joined (read-only
    /// through the Bot API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_for_new_members: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Policies {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removals: Option<RemovalPolicy>,
    /// Fewest human admins a chat may be left with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_admins: Option<u32>,
    /// `deny`: never plan away the bot's own rights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lockout: Option<LockoutPolicy>,
    /// Rules over the resolved org: CEL expressions checked by validate,
    /// diff, plan, apply and drift (see docs/policies.md).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<PolicyRule>,
}

/// One rule: a CEL expression that must be true for every subject in scope.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyRule {
    /// Stable name, shown in every violation (letters, digits, `-`, `_`).
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// What one evaluation looks at: `chat` (default), `person`, `seat`
    /// (one person in one chat) or `grant`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<PolicySubject>,
    /// A CEL expression that is true when the subject complies. It sees
    /// the subject (`chat`, `person`, `seat`, `grant`), `org` and `now`.
    pub expr: String,
    /// Which chats and people the rule applies to (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<PolicyScope>,
    /// `deny` refuses plans (exit 3), `warn` prints, `audit` only records.
    /// Default: `deny`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<PolicyAction>,
    /// What a violation says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Approved exceptions; each lapses at its `until`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exceptions: Vec<PolicyException>,
}

#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum PolicySubject {
    #[default]
    Chat,
    Person,
    Seat,
    Grant,
}

#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum PolicyAction {
    /// Refuse plan and apply (exit 3).
    #[default]
    Deny,
    /// Print, and carry on as if clean.
    Warn,
    /// Only record (in JSON output and the apply journal's plan).
    Audit,
}

/// Which chats and people a rule (or a rollout stage) covers. Both lists
/// are unions; a subject must match every list that is given.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyScope {
    /// Chats by key, label, template or type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chats: Option<Vec<ChatSelector>>,
    /// People, by the same selectors as chat members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub people: Option<Vec<Selector>>,
}

/// How declared members who are not in a chat are brought in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AddMembers {
    /// A personal invite link, sent by the bot.
    #[default]
    Invite,
    /// Added by the signed-in person (channels.inviteToChannel).
    Direct,
}

/// Chats matching every key given.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatSelector {
    /// One chat key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat: Option<String>,
    /// Any of these chat keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chats: Option<Vec<String>>,
    /// Chats whose labels include all of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<BTreeMap<String, String>>,
    /// Chats made from this template (directly).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ChatType>,
}

/// An approved exception to a rule for one chat and/or one person.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyException {
    /// The chat exempted (any chat when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat: Option<String>,
    /// The person exempted (anyone when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    /// Who approved it.
    pub approved_by: String,
    /// Why.
    pub reason: String,
    /// Last day (YYYY-MM-DD, through the end of that day UTC) or an RFC 3339
    /// instant: after it the exception no longer exempts.
    pub until: String,
}

/// Staged rollout: stages are cumulative, each adds chats or people to
/// those of the stages before it; `current` is what the PR workflow
/// applies (`orgform apply --stage current`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rollout {
    /// The stage in effect; the last stage when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
    pub stages: Vec<RolloutStage>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RolloutStage {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Chats this stage adds. A stage with neither `chats` nor `people`
    /// covers everything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chats: Option<Vec<ChatSelector>>,
    /// People this stage adds: changes that concern them, in this stage's
    /// chats (every chat when it names none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub people: Option<Vec<Selector>>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RemovalPolicy {
    /// Most removals in one plan (per chat and overall).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_count: Option<u32>,
    /// Most removals as a percentage of a chat's known members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_percent: Option<u32>,
    /// Most admin demotions in one plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_demotions: Option<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LockoutPolicy {
    Deny,
    Allow,
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}
