//! `--enforce` under its cap: at most `per_hour` reverts of one address
//! per hour (counted in the ledger before the revert runs, so a crash
//! mid-revert still counts); beyond that watch only alerts, so a fight with
//! a person cannot loop. The revert itself is the [`Enforcer`]'s (a
//! journaled plan-and-apply of that one address). Used by the update loop
//! and by the settings poll alike.

use serde_json::json;

use super::org::Org;
use super::{EnforceOutcome, Enforcer, Sink, WatchError, ops, settings, unix_now};
use crate::store::ledger::{FactWrite, Ledger, keys};
use crate::telegram::client::{ApiCall, Client, Repeat};

/// What a capped revert needs.
pub struct Capped<'a> {
    pub ledger: &'a dyn Ledger,
    pub enforcer: &'a dyn Enforcer,
    pub client: &'a Client,
    pub sink: &'a dyn Sink,
    pub metrics: &'a ops::Metrics,
    pub per_hour: u32,
}

impl Capped<'_> {
    /// Revert the drift at `address` of chat `chat_key`, within the cap.
    pub async fn revert(&self, org: &Org, chat_key: &str, address: &str) -> Result<(), WatchError> {
        let cap_key = format!("{}{}", keys::ENFORCED, address);
        let now = unix_now();
        let mut times: Vec<i64> = self
            .ledger
            .fact(&cap_key)?
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        times.retain(|t| now - t < 3600);
        if times.len() as u32 >= self.per_hour {
            self.sink.event(&json!({
                "event": "enforce_capped",
                "chat": chat_key,
                "address": address,
                "reverts_last_hour": times.len(),
                "cap": self.per_hour,
            }));
            if let Some(to) = org.alerts_chat {
                let text = format!(
                    "orgform watch stopped reverting {address}: it was reverted {} times in the last hour (the cap). A person must settle it.",
                    times.len()
                );
                let call =
                    ApiCall::new("sendMessage", Some(to), Repeat::Unsafe).param("text", text);
                let _ = self.client.call_value(&call).await;
            }
            return Ok(());
        }
        times.push(now);
        // Counted before the revert runs: a crash mid-revert still counts.
        self.ledger.put_facts(vec![FactWrite::Put(
            cap_key,
            serde_json::to_string(&times).expect("serialises"),
        )])?;
        let outcome = self.enforcer.enforce(chat_key, address).await;
        // A setting put back: the next change to the same value is a new
        // change, alerted again.
        if matches!(outcome, EnforceOutcome::Reverted { .. })
            && let Some(field) = address
                .strip_prefix(&format!("chat.{chat_key}."))
                .filter(|f| !f.contains('.'))
            && let Some(chat) = org.desired.state.chats.get(chat_key)
        {
            self.ledger
                .put_facts(vec![FactWrite::Delete(settings::seen_key(chat.id, field))])?;
        }
        self.metrics
            .enforced(matches!(outcome, EnforceOutcome::Reverted { .. }));
        self.sink.event(&json!({
            "event": "enforce",
            "chat": chat_key,
            "address": address,
            "result": outcome,
        }));
        Ok(())
    }
}
