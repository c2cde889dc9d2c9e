//! Turning an HTTP request into call parameters the way the Bot API server
//! does: JSON bodies, urlencoded forms, query strings and multipart forms all
//! become one map; in forms every value is a string and nested objects are
//! JSON text. Accessors read values leniently, as the real server does
//! (`"true"`, `"1"` and `true` are all true; numbers may be strings), and fail
//! with Telegram's messages when a value is missing or unusable.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::rules::errors::{self, ApiError};

/// A file part of a multipart request (only its size matters here).
#[derive(Clone, Debug)]
pub struct UploadedFile {
    pub size: usize,
}

/// What `chat_id` names: an id or a public `@username`.
#[derive(Clone, Debug, PartialEq)]
pub enum ChatRef {
    Id(i64),
    Username(String),
}

#[derive(Clone, Debug, Default)]
pub struct Params {
    values: BTreeMap<String, Value>,
    files: BTreeMap<String, UploadedFile>,
}

impl Params {
    pub fn new() -> Params {
        Params::default()
    }

    pub fn from_object(map: Map<String, Value>) -> Params {
        Params {
            values: map.into_iter().collect(),
            files: BTreeMap::new(),
        }
    }

    /// A parameter given as text (query string, form field). The first
    /// value of a name wins, as `Query::arg` finds the first.
    pub fn insert_text(&mut self, key: String, value: String) {
        self.values.entry(key).or_insert(Value::String(value));
    }

    /// A parameter from a JSON body; the first value of a name wins.
    pub fn insert_value(&mut self, key: String, value: Value) {
        self.values.entry(key).or_insert(value);
    }

    pub fn insert_file(&mut self, key: String, file: UploadedFile) {
        self.files.insert(key, file);
    }

    /// Merge `other` under these values: what is here already wins (the
    /// query string over the body).
    pub fn merge_under(&mut self, other: Params) {
        for (k, v) in other.values {
            self.values.entry(k).or_insert(v);
        }
        for (k, f) in other.files {
            self.files.entry(k).or_insert(f);
        }
    }

    /// The value, with JSON null and absent treated alike.
    pub fn raw(&self, name: &str) -> Option<&Value> {
        self.values.get(name).filter(|v| !v.is_null())
    }

    pub fn has(&self, name: &str) -> bool {
        self.raw(name).is_some() || self.files.contains_key(name)
    }

    /// An uploaded file given directly or as `attach://name`.
    pub fn file(&self, name: &str) -> Option<&UploadedFile> {
        if let Some(f) = self.files.get(name) {
            return Some(f);
        }
        let attach = self.raw(name)?.as_str()?.strip_prefix("attach://")?;
        self.files.get(attach)
    }

    pub fn chat_id(&self) -> Result<ChatRef, ApiError> {
        self.chat_ref("chat_id")
    }

    pub fn chat_ref(&self, name: &str) -> Result<ChatRef, ApiError> {
        match self.raw(name) {
            None => Err(errors::chat_id_empty()),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(ChatRef::Id)
                .ok_or_else(errors::chat_not_found),
            Some(Value::String(s)) => {
                let s = s.trim();
                if s.is_empty() {
                    Err(errors::chat_id_empty())
                } else if let Some(name) = s.strip_prefix('@') {
                    Ok(ChatRef::Username(name.to_string()))
                } else {
                    s.parse::<i64>()
                        .map(ChatRef::Id)
                        .map_err(|_| errors::chat_not_found())
                }
            }
            Some(_) => Err(errors::chat_not_found()),
        }
    }

    /// A positive user id; Telegram answers `invalid user_id specified` for
    /// anything else, including a missing one.
    pub fn user_id(&self) -> Result<i64, ApiError> {
        self.positive_id("user_id")
    }

    pub fn positive_id(&self, name: &str) -> Result<i64, ApiError> {
        match self.int_opt(name) {
            Some(id) if id > 0 => Ok(id),
            _ => Err(errors::invalid_id(name)),
        }
    }

    /// An integer, lenient like the real server: strings are parsed,
    /// unusable values count as absent.
    pub fn int_opt(&self, name: &str) -> Option<i64> {
        match self.raw(name)? {
            Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
            Value::String(s) => s.trim().parse().ok(),
            Value::Bool(b) => Some(*b as i64),
            _ => None,
        }
    }

    pub fn int_or(&self, name: &str, default: i64) -> i64 {
        self.int_opt(name).unwrap_or(default)
    }

    pub fn int_required(&self, name: &str) -> Result<i64, ApiError> {
        if !self.has(name) {
            return Err(errors::parameter_required(name));
        }
        self.int_opt(name).ok_or_else(|| errors::invalid_id(name))
    }

    pub fn bool_opt(&self, name: &str) -> Option<bool> {
        match self.raw(name)? {
            Value::Bool(b) => Some(*b),
            Value::Number(n) => Some(n.as_f64().unwrap_or(0.0) != 0.0),
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Some(true),
                "false" | "0" | "no" | "off" | "" => Some(false),
                _ => Some(false),
            },
            _ => None,
        }
    }

    pub fn bool_or(&self, name: &str, default: bool) -> bool {
        self.bool_opt(name).unwrap_or(default)
    }

    /// A string; numbers and booleans are taken as their text.
    pub fn str_opt(&self, name: &str) -> Option<String> {
        match self.raw(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// A JSON array, given as an array or as JSON text.
    pub fn array_opt(&self, name: &str) -> Result<Option<Vec<Value>>, ApiError> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a.clone())),
            Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
                Ok(Value::Array(a)) => Ok(Some(a)),
                _ => Err(errors::cant_parse_object(name)),
            },
            Some(_) => Err(errors::cant_parse_object(name)),
        }
    }
}
