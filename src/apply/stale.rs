//! Whether a saved plan may still be applied (DESIGN §5): made by this
//! format, from the same config files, and against live objects that have
//! not moved since. The caller reads the chats the plan touches; this
//! compares, and says why a plan is stale.

use crate::plan::{self, Plan};
use crate::state::LiveState;

/// Why a saved plan cannot be applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Stale {
    #[error("the plan has format {found}, this orgform reads format {wanted}")]
    Format { found: u32, wanted: u32 },
    #[error("the config changed since the plan was made (its digest differs)")]
    ConfigChanged,
    #[error(
        "the plan is stale: these objects changed in Telegram since it was made: {}",
        .0.join(", ")
    )]
    Moved(Vec<String>),
}

/// The chats (by config key) whose live objects must be read to check the plan.
pub fn chats_to_read(plan: &Plan) -> Vec<String> {
    plan.changes
        .iter()
        // A chat folder (`folder.KEY`) is no chat to read.
        .filter(|c| c.address.chat_key().is_some())
        .map(|c| c.chat.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The format and config digest: checked before anything is read.
pub fn check_config(plan: &Plan, config_digest: &str) -> Result<(), Stale> {
    if plan.format_version != plan::FORMAT_VERSION {
        return Err(Stale::Format {
            found: plan.format_version,
            wanted: plan::FORMAT_VERSION,
        });
    }
    if plan.config_digest.as_deref() != Some(config_digest) {
        return Err(Stale::ConfigChanged);
    }
    Ok(())
}

/// Every live object the plan touches against its fingerprint at plan time.
pub fn check_live(plan: &Plan, live: &LiveState) -> Result<(), Stale> {
    let moved: std::collections::BTreeSet<String> = plan
        .changes
        .iter()
        .filter(|change| {
            let now = plan::fingerprint(&plan::live_object(live, change));
            plan.fingerprints.get(change.address.as_str()) != Some(&now)
        })
        .map(|change| change.address.to_string())
        .collect();
    if moved.is_empty() {
        Ok(())
    } else {
        Err(Stale::Moved(moved.into_iter().collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty(digest: &str) -> Plan {
        Plan {
            format_version: plan::FORMAT_VERSION,
            created_at: "2026-11-27T12:00:00Z".into(),
            config_digest: Some(digest.into()),
            git_commit: None,
            only: None,
            changes: Vec::new(),
            guards: Vec::new(),
            unreadable: Default::default(),
            fingerprints: Default::default(),
        }
    }

    #[test]
    fn another_format_or_config_is_refused_before_anything_is_read() {
        let plan = empty("sha256:aa");
        assert_eq!(check_config(&plan, "sha256:aa"), Ok(()));
        assert_eq!(check_config(&plan, "sha256:bb"), Err(Stale::ConfigChanged));
        let mut old = empty("sha256:aa");
        old.format_version = plan::FORMAT_VERSION + 1;
        assert_eq!(
            check_config(&old, "sha256:aa"),
            Err(Stale::Format {
                found: plan::FORMAT_VERSION + 1,
                wanted: plan::FORMAT_VERSION
            })
        );
        let mut unsigned = empty("x");
        unsigned.config_digest = None;
        assert_eq!(check_config(&unsigned, "x"), Err(Stale::ConfigChanged));
    }

    #[test]
    fn a_plan_with_nothing_to_touch_is_never_stale() {
        let plan = empty("sha256:aa");
        assert!(chats_to_read(&plan).is_empty());
        assert_eq!(check_live(&plan, &LiveState::default()), Ok(()));
    }
}
