//! Drift as it happens: which updates mean someone changed by hand what
//! the config manages, phrased for an admin chat and as JSON lines.
//! Decides nothing about fixing it (see `watch::enforce`).

use serde::Serialize;

use super::org::{Org, WatchedChat};
use crate::state::{Address, UserId};
use crate::telegram::read::{admin_seat, member_state};
use crate::telegram::wire::ChatMember;

/// What kind of drift an update showed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// Someone the config does not make an admin was promoted.
    UnexpectedAdmin,
    /// A declared admin's rights or title were changed.
    AdminRightsChanged,
    /// A declared admin was demoted.
    AdminDemoted,
    /// Someone not declared joined an authoritative chat.
    Stranger,
    /// An offboarded person is back in a managed chat.
    OffboardedBack,
    /// The chat's title was changed.
    TitleChanged,
    /// Another setting was changed by hand (default permissions, slow
    /// mode, …), found by watch's settings poll.
    SettingChanged,
    /// The bot itself lost its admin seat or was removed: it now sees and
    /// changes nothing there.
    BotLostRights,
}

/// One alert.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Alert {
    pub kind: AlertKind,
    pub chat: String,
    pub address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    /// Who made the change (handle, or user id for strangers).
    pub by: String,
    pub summary: String,
    /// Whether `apply` (and so `watch --enforce`) can revert it.
    pub apply_fixes: bool,
    /// Who can undo it, when orgform will not (see [`who_can_undo`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Alert {
    /// The alert as a message for the alerts chat (plain text: every name
    /// in it comes from Telegram or the config and is sent without markup).
    pub fn text(&self) -> String {
        match &self.fix {
            Some(fix) => format!("orgform drift in {}: {}. {fix}", self.chat, self.summary),
            None => format!("orgform drift in {}: {}", self.chat, self.summary),
        }
    }

    /// An admin seat the bot may not edit (a person gave it by hand).
    pub fn seat_the_bot_cannot_edit(&self) -> bool {
        !self.apply_fixes
            && matches!(
                self.kind,
                AlertKind::UnexpectedAdmin | AlertKind::AdminRightsChanged
            )
    }
}

/// How a seat the bot may not edit gets undone, said plainly in the alert:
/// through the signed-in person when watch enforces with one, else what
/// to configure. `None` when watch undoes it itself.
pub fn who_can_undo(uses_person: bool, signed_in: bool, enforce: bool) -> Option<String> {
    const BOT_CANNOT: &str =
        "The bot cannot undo this: Telegram lets a bot change only the admins it promoted itself";
    match (uses_person, signed_in, enforce) {
        (true, true, true) => None,
        (true, true, false) => Some(format!(
            "{BOT_CANNOT}. Run `orgform watch --enforce` to undo it through the signed-in account, or undo it by hand"
        )),
        (true, false, _) => Some(format!(
            "{BOT_CANNOT}, and no account is signed in: run `orgform login` (or set ORGFORM_TELEGRAM_SESSION) so that `orgform watch --enforce` undoes it through the account; until then a person must undo it"
        )),
        (false, _, _) => Some(format!(
            "{BOT_CANNOT}. To have `orgform watch --enforce` undo it, set org.telegram.provider: both and sign in with `orgform login`; until then a person must undo it"
        )),
    }
}

/// The alert a membership change shows, if any. `actor` made the change;
/// changes the bot made itself are not drift.
pub fn member_change(
    org: &Org,
    chat: &WatchedChat,
    bot: UserId,
    actor: UserId,
    old: &ChatMember,
    new: &ChatMember,
) -> Option<Alert> {
    let user = new.user_id()?;
    if user == bot && actor != bot {
        return bot_change(org, chat, actor, new);
    }
    if actor == bot || user == bot {
        return None;
    }
    let kind = chat.desired.kind;
    let who = org.handle(user);
    let by = org.handle(actor);
    let was = admin_seat(old, kind).map(|(s, _)| s);
    let is = admin_seat(new, kind).map(|(s, _)| s);
    // Telegram lets a bot edit only the admins it promoted itself: a seat
    // a person gave is theirs to undo (apply plans it as manual).
    let editable = match admin_seat(new, kind) {
        Some((_, editable)) => editable,
        None => admin_seat(old, kind).is_none_or(|(_, e)| e),
    };
    let want = chat.desired.admins.get(&user);
    let alert = |kind, address: Address, summary: String, apply_fixes| Alert {
        kind,
        chat: chat.key.clone(),
        address: address.0,
        person: Some(who.clone()),
        by: by.clone(),
        summary,
        apply_fixes,
        fix: None,
    };
    let present = |m: &ChatMember| {
        admin_seat(m, kind).is_some()
            || member_state(m).is_some_and(|s| {
                matches!(
                    s,
                    crate::state::MemberState::Member
                        | crate::state::MemberState::Restricted { .. }
                )
            })
    };
    if org.offboarded(user) && present(new) && !present(old) {
        return Some(alert(
            AlertKind::OffboardedBack,
            Address::member(&chat.key, &who),
            format!("{who} is offboarded but joined again (added or let in by {by})"),
            true,
        ));
    }
    match (&was, &is, want) {
        (None, Some(seat), None) if !seat.owner => Some(alert(
            AlertKind::UnexpectedAdmin,
            Address::admin(&chat.key, &who),
            format!("{by} made {who} an admin, which the config does not declare"),
            editable,
        )),
        (Some(before), Some(after), Some(want))
            if before != after && (after.rights != want.rights) && !after.owner =>
        {
            Some(alert(
                AlertKind::AdminRightsChanged,
                Address::admin(&chat.key, &who),
                format!("{by} changed the admin rights of {who} away from the config"),
                editable,
            ))
        }
        (Some(_), Some(after), None) if !after.owner => Some(alert(
            AlertKind::UnexpectedAdmin,
            Address::admin(&chat.key, &who),
            format!("{by} changed the rights of {who}, an admin the config does not declare"),
            editable,
        )),
        (Some(_), None, Some(_)) => Some(alert(
            AlertKind::AdminDemoted,
            Address::admin(&chat.key, &who),
            format!("{by} removed {who} as admin, whom the config makes an admin"),
            true,
        )),
        (None, None, _)
            if chat.authoritative() && present(new) && !present(old) && !chat.declared(user) =>
        {
            let who_text = if org.known(user) {
                who.clone()
            } else {
                format!("user {user}")
            };
            Some(alert(
                AlertKind::Stranger,
                Address::member(&chat.key, &who),
                format!(
                    "{who_text} joined, but the chat is authoritative and does not declare them"
                ),
                true,
            ))
        }
        _ => None,
    }
}

/// The bot's own seat changed by someone: an alert when it is no longer
/// an admin (Telegram stops sending it membership updates there).
fn bot_change(org: &Org, chat: &WatchedChat, actor: UserId, new: &ChatMember) -> Option<Alert> {
    if admin_seat(new, chat.desired.kind).is_some() {
        return None;
    }
    let by = org.handle(actor);
    Some(Alert {
        kind: AlertKind::BotLostRights,
        chat: chat.key.clone(),
        address: Address::chat(&chat.key).0,
        person: None,
        by: by.clone(),
        summary: format!(
            "{by} made the bot {}: it no longer receives membership updates there, and apply cannot change the chat",
            match new.status() {
                "kicked" => "leave the chat (banned)",
                "left" => "leave the chat",
                _ => "a plain member",
            }
        ),
        apply_fixes: false,
        fix: None,
    })
}

/// The alert a chat's service message shows (a title changed by hand).
pub fn service_message(
    chat: &WatchedChat,
    org: &Org,
    bot: UserId,
    message: &serde_json::Value,
) -> Option<Alert> {
    let title = message.get("new_chat_title")?.as_str()?;
    let actor = message
        .pointer("/from/id")
        .and_then(serde_json::Value::as_i64)?;
    if actor == bot {
        return None;
    }
    let want = chat.desired.settings.title.as_deref()?;
    if want == title {
        return None;
    }
    Some(Alert {
        kind: AlertKind::TitleChanged,
        chat: chat.key.clone(),
        address: Address::settings(&chat.key, "title").0,
        person: None,
        by: org.handle(actor),
        summary: format!(
            "{} changed the title to {:?}; the config says {:?}",
            org.handle(actor),
            title,
            want
        ),
        apply_fixes: true,
        fix: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_can_undo_a_seat_says_what_to_configure() {
        // Undone through the signed-in account: nothing to say.
        assert_eq!(who_can_undo(true, true, true), None);
        let bot_only = who_can_undo(false, false, true).unwrap();
        assert!(
            bot_only.starts_with("The bot cannot undo this"),
            "{bot_only}"
        );
        assert!(
            bot_only.contains("org.telegram.provider: both") && bot_only.contains("orgform login"),
            "{bot_only}"
        );
        assert_eq!(
            who_can_undo(false, true, false),
            who_can_undo(false, false, true)
        );
        let no_session = who_can_undo(true, false, true).unwrap();
        assert!(
            no_session.contains("orgform login") && no_session.contains("ORGFORM_TELEGRAM_SESSION"),
            "{no_session}"
        );
        let no_enforce = who_can_undo(true, true, false).unwrap();
        assert!(no_enforce.contains("--enforce"), "{no_enforce}");
    }

    #[test]
    fn the_alert_text_carries_the_fix() {
        let mut alert = Alert {
            kind: AlertKind::UnexpectedAdmin,
            chat: "team".into(),
            address: "chat.team.admin.bob".into(),
            person: Some("bob".into()),
            by: "carol".into(),
            summary: "carol made bob an admin, which the config does not declare".into(),
            apply_fixes: false,
            fix: None,
        };
        assert!(alert.seat_the_bot_cannot_edit());
        assert_eq!(
            alert.text(),
            "orgform drift in team: carol made bob an admin, which the config does not declare"
        );
        alert.fix = who_can_undo(false, false, false);
        assert!(alert.text().ends_with("until then a person must undo it"));
        alert.apply_fixes = true;
        assert!(!alert.seat_the_bot_cannot_edit());
        alert.kind = AlertKind::Stranger;
        alert.apply_fixes = false;
        assert!(!alert.seat_the_bot_cannot_edit());
    }
}
