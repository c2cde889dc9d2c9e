//! Getting updates: getUpdates (the immediate part; the server does the
//! long-poll wait), setWebhook, deleteWebhook, getWebhookInfo.

use serde_json::{Value, json};

use super::{Call, Outcome, ok};
use crate::sandbox::rules::errors;
use crate::sandbox::updates;
use crate::sandbox::world::Webhook;

const MAX_LIMIT: i64 = 100;

/// getUpdates without waiting: confirm, then return what is queued.
pub fn get_updates_now(call: &mut Call) -> Outcome {
    if call.world.webhook.is_some() {
        return Err(errors::conflict_webhook_active());
    }
    if let Some(list) = allowed_updates(call)? {
        call.world.updates.allowed_updates = Some(list);
    }
    let limit = call.params.int_or("limit", MAX_LIMIT).clamp(1, MAX_LIMIT) as usize;
    updates::expire(call.world, call.now);
    let offset = call.params.int_opt("offset").filter(|o| *o != 0);
    Ok(Value::Array(updates::take(call.world, offset, limit)))
}

fn allowed_updates(call: &Call) -> Result<Option<Vec<String>>, errors::ApiError> {
    Ok(call.params.array_opt("allowed_updates")?.map(|list| {
        list.iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    }))
}

/// setWebhook (`Client::process_set_webhook_query`, `do_set_webhook`): the
/// same settings again answer "Webhook is already set", a new one "Webhook
/// was set" (in `description`); the secret token is checked for length
/// (256) and for base64url characters. The once-a-second limit is applied
/// by the server before the call runs.
pub fn set_webhook(call: &mut Call) -> Outcome {
    let url = call.params.str_opt("url").unwrap_or_default();
    if url.is_empty() {
        return delete_webhook(call);
    }
    let secret = call
        .params
        .str_opt("secret_token")
        .filter(|s| !s.is_empty());
    let max_connections = call.params.int_or("max_connections", 40).clamp(1, 100) as u32;
    let allowed = allowed_updates(call)?;
    let drop_pending = call.params.bool_or("drop_pending_updates", false);
    if let Some(hook) = &mut call.world.webhook
        && hook.url == url
        && hook.secret_token == secret
        && hook.max_connections == max_connections
        && !drop_pending
    {
        if allowed.is_some() {
            hook.allowed_updates = allowed;
        }
        call.description = Some("Webhook is already set");
        return ok();
    }
    // The real server wants HTTPS; the sandbox also takes plain HTTP so a
    // test can receive updates on 127.0.0.1.
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(errors::bad_webhook_url());
    }
    if let Some(s) = &secret {
        if s.len() > 256 {
            return Err(errors::secret_token_too_long());
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(errors::secret_token_invalid());
        }
    }
    if drop_pending {
        call.world.updates.pending.clear();
    }
    call.world.webhook = Some(Webhook {
        url,
        secret_token: secret,
        max_connections,
        allowed_updates: allowed,
        ip_address: Some("127.0.0.1".into()),
        last_error_date: None,
        last_error_message: None,
    });
    call.description = Some("Webhook was set");
    ok()
}

/// deleteWebhook: "Webhook was deleted", or "Webhook is already deleted".
pub fn delete_webhook(call: &mut Call) -> Outcome {
    if call.params.bool_or("drop_pending_updates", false) {
        call.world.updates.pending.clear();
    }
    call.description = Some(if call.world.webhook.take().is_some() {
        "Webhook was deleted"
    } else {
        "Webhook is already deleted"
    });
    ok()
}

pub fn get_webhook_info(call: &mut Call) -> Outcome {
    let pending = call.world.updates.pending.len();
    let Some(hook) = &call.world.webhook else {
        return Ok(
            json!({"url": "", "has_custom_certificate": false, "pending_update_count": pending}),
        );
    };
    let mut v = json!({"url": hook.url, "has_custom_certificate": false, "pending_update_count": pending,
        "max_connections": hook.max_connections});
    if let Some(ip) = &hook.ip_address {
        v["ip_address"] = json!(ip);
    }
    if let Some(list) = &hook.allowed_updates {
        v["allowed_updates"] = json!(list);
    }
    if let Some(d) = hook.last_error_date {
        v["last_error_date"] = json!(d);
    }
    if let Some(m) = &hook.last_error_message {
        v["last_error_message"] = json!(m);
    }
    Ok(v)
}
