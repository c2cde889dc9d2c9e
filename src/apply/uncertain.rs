//! Uncertain outcomes (DESIGN §5): a change whose call was sent but whose
//! answer was lost (crash, kill, Ctrl-C, dropped connection, timeout) is
//! never repeated blindly.
//!
//! A change that sets a final state (a title, rights, a restriction, a
//! topic's name) may be repeated, and undone from what was seen before it:
//! both are right whether or not it happened. A change that creates
//! something or posts something (a topic, an invite link, a personal
//! invite, a pin's message, a photo upload) is looked up first through the
//! provider's evidence; without evidence the operator is asked, with the
//! object to check and the command that records the answer.

use super::provider::{Answer, Evidence, Executed, Inverse, Observed, Provider};
use crate::plan::{Change, Op};

/// How an uncertain change was settled.
#[derive(Clone, Debug, PartialEq)]
pub enum Resolution {
    Done {
        executed: Executed,
        by: String,
    },
    NotDone {
        by: String,
    },
    /// Nobody can tell: the question for the operator.
    Ask {
        question: String,
    },
}

/// Whether sending the change again is harmless (it sets a final state).
pub fn repeatable(op: &Op) -> bool {
    !matches!(
        op,
        Op::CreateTopic { .. }
            | Op::CreateInviteLink { .. }
            | Op::SendInvite { .. }
            | Op::AddMember { .. }
            | Op::CreateChat { .. }
            | Op::CreateFolder { .. }
            | Op::Pin { .. }
            | Op::SetPhoto { .. }
    )
}

/// Settle an uncertain change: a repeatable one counts as done (undoing it
/// restores what was seen before, which is right either way); any other is
/// looked up; without evidence, the operator is asked.
pub async fn resolve<P: Provider>(
    provider: &P,
    change: &Change,
    index: usize,
    before: &Observed,
) -> Resolution {
    if repeatable(&change.op) {
        return Resolution::Done {
            executed: Executed {
                answer: Answer::Done,
                not_modified: false,
                calls: vec![],
                notes: vec![],
            },
            by: "it sets a final state, so undoing or repeating it is safe".into(),
        };
    }
    match provider.evidence(change, before).await {
        Evidence::Done { executed, by } => Resolution::Done { executed, by },
        Evidence::NotDone { by } => Resolution::NotDone { by },
        Evidence::Unknown => Resolution::Ask {
            question: question(change, index),
        },
    }
}

/// What the operator must check in Telegram for an uncertain change.
pub fn question(change: &Change, index: usize) -> String {
    let _ = index;
    let chat = change.chat_id;
    let check = match &change.op {
        Op::CreateTopic { key, topic } => format!(
            "look in chat {chat} for a forum topic named {:?}; if it exists, record it with `orgform state adopt topic {chat} {key} THREAD_ID` and answer `done`, otherwise answer `not-done`",
            topic.name
        ),
        Op::CreateInviteLink { key, link } => format!(
            "look in chat {chat} (Manage → Invite links) for a link named {:?}; if it exists, record it with `orgform state adopt link {chat} {key} URL` and answer `done` (or revoke it and answer `not-done`)",
            link.name
        ),
        Op::SendInvite { user, name, .. } => format!(
            "look in chat {chat} (Manage → Invite links) for a link named {name:?} (a personal invite for user {user}); revoke it if it exists, then answer `not-done` so a new one is sent"
        ),
        Op::Pin { text, .. } => format!(
            "look at chat {chat}: is the bot's message {:?} pinned? If a copy was posted but not pinned, delete it; then answer `done` or `not-done`",
            text.chars().take(60).collect::<String>()
        ),
        Op::SetPhoto { path, .. } => format!(
            "look at chat {chat}'s photo: is it the image {path}? Answer `done` or `not-done`"
        ),
        Op::CreateChat { title, .. } => format!(
            "look among the signed-in person's chats for one titled {title:?} made just now; if it exists, record its id with `orgform state adopt chat {} CHAT_ID` and answer `done`, otherwise answer `not-done`",
            change.chat
        ),
        Op::CreateFolder { title, .. } => format!(
            "look at the signed-in person's chat folders for one named {title:?}; if it exists, answer `done` (the next plan finds it by its name), otherwise answer `not-done`"
        ),
        _ => format!("look at {} in Telegram", change.address),
    };
    format!("{} (chat {}): {check}", change.address, change.chat)
}

/// What settling the changes a cut-off run left in flight found.
#[derive(Debug, Default)]
pub struct Settled {
    /// Changes that happened, with their inverses, in the order settled.
    pub done: Vec<(usize, Inverse)>,
    /// Changes nobody can tell about, with the operator's question.
    pub asks: Vec<(usize, String)>,
    /// One line per settled change, for the operator.
    pub notes: Vec<String>,
}

/// Settle every change the journal left in flight, before anything else
/// runs: look each one up, journal the answer (an `Assume` event), and
/// record in `store` what a change found done created. With
/// `rerun_repeatable` (resume), a change that sets a final state is left to
/// run again; without it (rollback) it is settled like any other, so that
/// it is undone from what was seen before it.
pub async fn settle_in_flight<P: Provider>(
    provider: &P,
    plan: &crate::plan::Plan,
    state: &super::JournalState,
    journal: &mut super::Journal,
    store: &mut crate::store::Store,
    now: i64,
    rerun_repeatable: bool,
) -> Result<Settled, super::journal::JournalError> {
    use super::provider::{inverse, record};
    let mut settled = Settled::default();
    for &i in &state.in_flight {
        let change = &plan.changes[i];
        if rerun_repeatable && repeatable(&change.op) {
            settled.notes.push(format!(
                "{} was cut off mid-call; it sets a final state, so it runs again",
                change.address
            ));
            continue;
        }
        let before = state.observed.get(&i).cloned().unwrap_or(Observed::Nothing);
        match resolve(provider, change, i, &before).await {
            Resolution::Done { executed, by } => {
                let undo = inverse(change, &before, &executed);
                record(store, change, Some(&before), &executed, now);
                journal.write(&super::Event::Assume {
                    index: i,
                    done: true,
                    by: by.clone(),
                    inverse: Some(undo.clone()),
                    executed: Some(executed),
                })?;
                settled.notes.push(format!(
                    "{} was cut off mid-call; it happened ({by})",
                    change.address
                ));
                settled.done.push((i, undo));
            }
            Resolution::NotDone { by } => {
                journal.write(&super::Event::Assume {
                    index: i,
                    done: false,
                    by: by.clone(),
                    inverse: None,
                    executed: None,
                })?;
                settled.notes.push(format!(
                    "{} was cut off mid-call; it did not happen ({by})",
                    change.address
                ));
            }
            Resolution::Ask { question } => settled.asks.push((i, question)),
        }
    }
    Ok(settled)
}
