//! Bot commands per scope and language: setMyCommands, getMyCommands,
//! deleteMyCommands. Scopes are stored normalised (chat usernames resolved
//! to ids) so that a scope named two ways is one scope.

use serde_json::{Map, Value, json};

use super::{Call, Outcome, ok};
use crate::sandbox::request::ChatRef;
use crate::sandbox::rules::{self, Accepts, Access, errors};
use crate::sandbox::world::{BotCommand, CommandScope, CommandSet};
use crate::state::ChatType;

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

/// The scope and language of a call, read as `Client::get_bot_command_scope`
/// and `check_bot_command_scope` read it (the chat needs read access to its
/// members, so a chat the bot is not in is refused like any call to it),
/// then checked as TDLib's `BotCommandScope::get_bot_command_scope`
/// checks it (no commands for channels; only the `chat` scope for private
/// chats).
fn scope(call: &Call) -> Result<(CommandScope, String), errors::ApiError> {
    let language = call.params.str_opt("language_code").unwrap_or_default();
    let object = match call.params.raw("scope") {
        None => return Ok((CommandScope::default_scope(), language)),
        Some(Value::String(s)) if s.is_empty() => {
            return Ok((CommandScope::default_scope(), language));
        }
        Some(Value::Object(m)) => m.clone(),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => m,
            Ok(_) => return Err(scope_error("expected an Object")),
            Err(_) => return Err(errors::cant_parse_object("BotCommandScope")),
        },
        Some(_) => return Err(scope_error("expected an Object")),
    };
    let kind = required_string(&object, "type")?;
    if !SCOPES.contains(&kind.as_str()) {
        return Err(errors::scope_unsupported());
    }
    let mut scope = CommandScope {
        kind: kind.clone(),
        chat_id: None,
        user_id: None,
    };
    if !kind.starts_with("chat") {
        return Ok((scope, language));
    }
    let chat_text = required_string(&object, "chat_id")?;
    if chat_text.is_empty() {
        return Err(errors::scope_chat_id_empty());
    }
    if kind == "chat_member" {
        let user = match object.get("user_id") {
            None => return Err(scope_error("Can't find field \"user_id\"")),
            Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
            Some(Value::String(s)) => s.trim().parse().unwrap_or(0),
            Some(_) => return Err(scope_error("Field \"user_id\" must be a valid Number")),
        };
        if user <= 0 {
            return Err(errors::scope_user_id_invalid());
        }
        scope.user_id = Some(user);
    }
    let chat = if let Some(name) = chat_text.strip_prefix('@') {
        ChatRef::Username(name.to_string())
    } else {
        ChatRef::Id(
            chat_text
                .trim()
                .parse()
                .map_err(|_| errors::chat_not_found())?,
        )
    };
    if let ChatRef::Id(user) = chat
        && user > 0
    {
        // A private chat: the user must have started the bot.
        if !call.world.users.get(&user).is_some_and(|u| u.started_bot) {
            return Err(errors::chat_not_found());
        }
        if kind != "chat" {
            return Err(errors::scope_in_private_chat());
        }
        scope.chat_id = Some(user);
        return Ok((scope, language));
    }
    let id = rules::chat_with_access(
        call.world,
        call.caller,
        &chat,
        Accepts::AnyGroup,
        Access::ReadMembers,
        call.now,
    )?;
    if call.world.chats[&id].kind == ChatType::Channel {
        return Err(errors::commands_in_channel());
    }
    scope.chat_id = Some(id);
    Ok((scope, language))
}

/// td `validate_bot_language_code` (misc.cpp): empty or two lowercase
/// letters, checked after the scope.
fn checked_scope(call: &Call) -> Result<(CommandScope, String), errors::ApiError> {
    let (scope, language) = scope(call)?;
    let valid = language.is_empty()
        || (language.len() == 2 && language.bytes().all(|b| b.is_ascii_lowercase()));
    if !valid {
        return Err(errors::ApiError::bad_request(
            "invalid language code specified",
        ));
    }
    Ok((scope, language))
}

fn scope_error(message: &str) -> errors::ApiError {
    errors::ApiError::bad_request(format!("can't parse BotCommandScope: {message}"))
}

/// td's `JsonObject::get_required_string_field`: a string or a number.
fn required_string(object: &Map<String, Value>, field: &str) -> Result<String, errors::ApiError> {
    match object.get(field) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        Some(_) => Err(scope_error(&format!(
            "Field \"{field}\" must be of type String"
        ))),
        None => Err(scope_error(&format!("Can't find field \"{field}\""))),
    }
}

/// Telegram's server accepts only lowercase letters, digits and underscores
/// (BOT_COMMAND_INVALID otherwise); TDLib checks length first.
fn valid_command(name: &str) -> bool {
    name.chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The command list as `Client::get_bot_commands` parses it: missing or
/// empty means no commands (so setMyCommands without `commands` clears the
/// scope).
fn command_list(call: &Call) -> Result<Vec<(String, String)>, errors::ApiError> {
    let items = match call.params.raw("commands") {
        None => return Ok(Vec::new()),
        Some(Value::String(s)) if s.is_empty() => return Ok(Vec::new()),
        Some(Value::Array(a)) => a.clone(),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Array(a)) => a,
            Ok(_) => return Err(errors::commands_not_array()),
            Err(_) => return Err(errors::cant_parse_object("commands")),
        },
        Some(_) => return Err(errors::commands_not_array()),
    };
    let mut out = Vec::with_capacity(items.len());
    for item in &items {
        let Value::Object(object) = item else {
            return Err(errors::ApiError::bad_request(
                "can't parse BotCommand: expected an Object",
            ));
        };
        let field = |name: &str| match object.get(name) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(Value::Number(n)) => Ok(n.to_string()),
            Some(_) => Err(errors::ApiError::bad_request(format!(
                "can't parse BotCommand: Field \"{name}\" must be of type String"
            ))),
            None => Err(errors::command_field_missing(name)),
        };
        out.push((field("command")?, field("description")?));
    }
    Ok(out)
}

/// setMyCommands: the commands are parsed, then the scope, then TDLib's
/// `set_commands` (BotCommand.cpp) validates each command: trimmed, a
/// leading `/` dropped, `command must be non-empty`, `command length must
/// not exceed 32`, `command description must be non-empty`, `command
/// description length must not exceed 256` (lengths in characters); the
/// server then refuses other characters (BOT_COMMAND_INVALID) and more than
/// 100 commands (BOT_COMMANDS_TOO_MUCH).
pub fn set(call: &mut Call) -> Outcome {
    let list = command_list(call)?;
    let (scope, language_code) = checked_scope(call)?;
    let mut commands = Vec::with_capacity(list.len());
    for (command, description) in &list {
        let command = command.trim();
        let command = command.strip_prefix('/').unwrap_or(command);
        if command.is_empty() {
            return Err(errors::command_empty());
        }
        if command.chars().count() > 32 {
            return Err(errors::command_too_long());
        }
        let description = description.trim();
        if description.is_empty() {
            return Err(errors::command_description_empty());
        }
        if description.chars().count() > 256 {
            return Err(errors::command_description_too_long());
        }
        commands.push(BotCommand {
            command: command.to_string(),
            description: description.to_string(),
        });
    }
    if commands.len() > MAX_COMMANDS {
        return Err(errors::commands_too_much());
    }
    if commands.iter().any(|c| !valid_command(&c.command)) {
        return Err(errors::command_invalid());
    }
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
    let (scope, language_code) = checked_scope(call)?;
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
    let (scope, language_code) = checked_scope(call)?;
    call.world
        .commands
        .retain(|s| !(s.scope == scope && s.language_code == language_code));
    ok()
}
