//! Bot commands per scope and language: setMyCommands, getMyCommands,
//! deleteMyCommands. Scopes are stored normalised (chat usernames resolved
//! to ids) so that a scope named two ways is one scope.

use serde_json::{Value, json};

use super::{Call, Outcome, ok};
use crate::sandbox::request::ChatRef;
use crate::sandbox::rules::{self, errors};
use crate::sandbox::world::{BotCommand, CommandScope, CommandSet};

const MAX_COMMANDS: usize = 100;
const SCOPES: &[&str] = &[
    "default",
    "all_private_chats",
    "all_group_chats",
    "all_chat_administrators",
    "chat",
    "chat_administrators",
    "chat_member",
];

fn scope(call: &Call) -> Result<(CommandScope, String), errors::ApiError> {
    let language = call.params.str_opt("language_code").unwrap_or_default();
    let Some(object) = call.params.object_opt("scope")? else {
        return Ok((CommandScope::default_scope(), language));
    };
    let kind = object
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !SCOPES.contains(&kind) {
        return Err(errors::scope_invalid());
    }
    let mut scope = CommandScope {
        kind: kind.to_string(),
        chat_id: None,
        user_id: None,
    };
    if kind.starts_with("chat") {
        let chat = match object.get("chat_id") {
            Some(Value::Number(n)) => ChatRef::Id(n.as_i64().ok_or_else(errors::chat_not_found)?),
            Some(Value::String(s)) if s.starts_with('@') => ChatRef::Username(s[1..].to_string()),
            Some(Value::String(s)) => ChatRef::Id(s.parse().map_err(|_| errors::chat_not_found())?),
            _ => return Err(errors::chat_id_empty()),
        };
        scope.chat_id = Some(rules::find_chat(call.world, &chat)?);
    }
    if kind == "chat_member" {
        let user = object
            .get("user_id")
            .and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()));
        match user {
            Some(u) if u > 0 => scope.user_id = Some(u),
            _ => return Err(errors::invalid_id("user_id")),
        }
    }
    Ok((scope, language))
}

fn valid_command(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

pub fn set(call: &mut Call) -> Outcome {
    let list = call
        .params
        .array_opt("commands")?
        .ok_or_else(|| errors::parameter_required("commands"))?;
    if list.len() > MAX_COMMANDS {
        return Err(errors::commands_too_much());
    }
    let mut commands = Vec::with_capacity(list.len());
    for item in &list {
        let command = item
            .get("command")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .trim();
        let command = command.strip_prefix('/').unwrap_or(command);
        if !valid_command(command) {
            return Err(errors::command_invalid());
        }
        let description = item
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .trim();
        if !(1..=256).contains(&rules::text_len(description)) {
            return Err(errors::command_description_invalid());
        }
        commands.push(BotCommand {
            command: command.to_string(),
            description: description.to_string(),
        });
    }
    let (scope, language_code) = scope(call)?;
    call.world
        .commands
        .retain(|s| !(s.scope == scope && s.language_code == language_code));
    if !commands.is_empty() {
        call.world.commands.push(CommandSet {
            scope,
            language_code,
            commands,
        });
    }
    ok()
}

pub fn get(call: &mut Call) -> Outcome {
    let (scope, language_code) = scope(call)?;
    let found = call
        .world
        .commands
        .iter()
        .find(|s| s.scope == scope && s.language_code == language_code);
    let list: Vec<Value> = found
        .map(|s| {
            s.commands
                .iter()
                .map(|c| json!({"command": c.command, "description": c.description}))
                .collect()
        })
        .unwrap_or_default();
    Ok(Value::Array(list))
}

pub fn delete(call: &mut Call) -> Outcome {
    let (scope, language_code) = scope(call)?;
    call.world
        .commands
        .retain(|s| !(s.scope == scope && s.language_code == language_code));
    ok()
}
