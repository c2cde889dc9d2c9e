//! The Bot API's machine-readable spec (`reference/botapi/api-10.3.json`)
//! turned into JSON Schemas, so that anything speaking the wire format (the
//! sandbox's responses, the telegram provider's types) can be checked against
//! the one description of it instead of against our memory of it.
//!
//! The spec file lists, per type and per method parameter, field names, their
//! types as strings (`"Integer"`, `"Array of ChatMember"`, `"True"`, a type
//! name) and a `required` flag; union types (`ChatMember`, `BotCommandScope`,
//! …) carry a `subtypes` list. It does not list what a method returns: that
//! lives in the prose of the method's description ("Returns an Array of
//! ChatMember objects."), so [`derive_return_type`] reads it from there.
//!
//! Derived schemas are strict: objects allow no unknown fields (a response
//! field the spec does not know is a bug on our side), `True` fields only
//! accept `true` (the real server omits false ones), and fields described as
//! "always 'creator'" or "must be chat" are constants, which is what tells the
//! subtypes of a union apart.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use serde_json::{Map, Value, json};

/// The spec checked into the repository. It is read from the source tree at
/// run time, not compiled in: only the tests and `sandbox serve
/// --check-spec` need its 765 KB, and an installed binary is given the file.
pub const REFERENCE_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/reference/botapi/api-10.3.json"
);

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("cannot read the Bot API spec {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the Bot API spec is not valid: {0}")]
    Parse(#[from] serde_json::Error),
}

/// One field of a type or parameter of a method, as the spec file has it.
#[derive(Clone, Debug, Deserialize)]
pub struct FieldSpec {
    pub name: String,
    pub types: Vec<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub description: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct MethodSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub fields: Vec<FieldSpec>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct TypeSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub fields: Vec<FieldSpec>,
    /// Set for union types such as ChatMember: the value is one of these.
    #[serde(default)]
    pub subtypes: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct RawSpec {
    #[serde(default)]
    version: String,
    methods: BTreeMap<String, MethodSpec>,
    types: BTreeMap<String, TypeSpec>,
}

/// A type as the spec writes it, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TypeExpr {
    Integer,
    Float,
    String,
    Boolean,
    /// The literal `true` (the field is omitted when false).
    True,
    /// A type defined in the spec (possibly a union).
    Named(String),
    Array(Box<TypeExpr>),
    AnyOf(Vec<TypeExpr>),
}

impl TypeExpr {
    /// Parse one entry of a field's `types` list.
    pub fn parse(text: &str) -> TypeExpr {
        let text = text.trim();
        if let Some(inner) = text.strip_prefix("Array of ") {
            return TypeExpr::Array(Box::new(TypeExpr::parse(inner)));
        }
        if text.contains(" and ") || text.contains(" or ") {
            let parts = text
                .split(" and ")
                .flat_map(|p| p.split(" or "))
                .map(TypeExpr::parse)
                .collect();
            return TypeExpr::AnyOf(parts);
        }
        match text {
            "Integer" | "Int" => TypeExpr::Integer,
            "Float" | "Float number" => TypeExpr::Float,
            "String" => TypeExpr::String,
            "Boolean" => TypeExpr::Boolean,
            "True" => TypeExpr::True,
            other => TypeExpr::Named(other.to_string()),
        }
    }

    fn from_list(types: &[String]) -> TypeExpr {
        let mut parsed: Vec<TypeExpr> = types.iter().map(|t| TypeExpr::parse(t)).collect();
        if parsed.len() == 1 {
            parsed.remove(0)
        } else {
            TypeExpr::AnyOf(parsed)
        }
    }

    fn schema(&self) -> Value {
        match self {
            TypeExpr::Integer => json!({"type": "integer"}),
            TypeExpr::Float => json!({"type": "number"}),
            TypeExpr::String => json!({"type": "string"}),
            TypeExpr::Boolean => json!({"type": "boolean"}),
            TypeExpr::True => json!({"const": true}),
            TypeExpr::Named(name) => json!({"$ref": format!("#/$defs/{name}")}),
            TypeExpr::Array(inner) => json!({"type": "array", "items": inner.schema()}),
            TypeExpr::AnyOf(options) => {
                json!({"anyOf": options.iter().map(TypeExpr::schema).collect::<Vec<_>>()})
            }
        }
    }

    fn named_types(&self, out: &mut Vec<String>) {
        match self {
            TypeExpr::Named(name) => out.push(name.clone()),
            TypeExpr::Array(inner) => inner.named_types(out),
            TypeExpr::AnyOf(options) => options.iter().for_each(|o| o.named_types(out)),
            _ => {}
        }
    }
}

/// The loaded spec with derived schemas. Validators are compiled on first use
/// and cached, so checking many responses is cheap.
pub struct BotApiSpec {
    version: String,
    methods: BTreeMap<String, MethodSpec>,
    /// Lowercased method name → spec name (method names are case-insensitive).
    method_index: HashMap<String, String>,
    types: BTreeMap<String, TypeSpec>,
    returns: BTreeMap<String, TypeExpr>,
    defs: Map<String, Value>,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

impl std::fmt::Debug for BotApiSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BotApiSpec")
            .field("version", &self.version)
            .field("methods", &self.methods.len())
            .finish()
    }
}

impl BotApiSpec {
    /// Load a spec file in the `api-10.x.json` layout.
    pub fn load(path: &Path) -> Result<BotApiSpec, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|source| SpecError::Read {
            path: path.display().to_string(),
            source,
        })?;
        BotApiSpec::from_json(&text)
    }

    /// The Bot API 10.3 spec in the source tree this build was made from
    /// ([`REFERENCE_PATH`]); for tests and development.
    pub fn reference() -> Result<BotApiSpec, SpecError> {
        BotApiSpec::load(Path::new(REFERENCE_PATH))
    }

    pub fn from_json(text: &str) -> Result<BotApiSpec, SpecError> {
        let raw: RawSpec = serde_json::from_str(text)?;
        let type_names: BTreeSet<&str> = raw.types.keys().map(String::as_str).collect();
        let returns = raw
            .methods
            .iter()
            .filter_map(|(name, m)| {
                derive_return_type(&m.description, &type_names).map(|t| (name.clone(), t))
            })
            .collect();
        let defs = raw
            .types
            .values()
            .map(|t| (t.name.clone(), type_schema(t)))
            .collect();
        let method_index = raw
            .methods
            .keys()
            .map(|k| (k.to_ascii_lowercase(), k.clone()))
            .collect();
        Ok(BotApiSpec {
            version: raw.version,
            methods: raw.methods,
            method_index,
            types: raw.types,
            returns,
            defs,
            validators: Mutex::new(HashMap::new()),
        })
    }

    /// `Bot API 10.3`.
    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn method_names(&self) -> impl Iterator<Item = &str> {
        self.methods.keys().map(String::as_str)
    }

    /// A method by name, case-insensitively (as the Bot API matches them).
    pub fn method(&self, name: &str) -> Option<&MethodSpec> {
        self.method_index
            .get(&name.to_ascii_lowercase())
            .and_then(|n| self.methods.get(n))
    }

    pub fn type_spec(&self, name: &str) -> Option<&TypeSpec> {
        self.types.get(name)
    }

    /// The fields of a type; empty for unions (see [`TypeSpec::subtypes`]).
    pub fn type_fields(&self, name: &str) -> Option<&[FieldSpec]> {
        self.types.get(name).map(|t| t.fields.as_slice())
    }

    /// What a method returns, as read from its description.
    pub fn return_type(&self, method: &str) -> Option<&TypeExpr> {
        self.method(method).and_then(|m| self.returns.get(&m.name))
    }

    /// A self-contained JSON Schema for a type (with the `$defs` it needs).
    pub fn type_schema(&self, name: &str) -> Option<Value> {
        self.types.get(name)?;
        Some(self.bundle(&TypeExpr::Named(name.to_string())))
    }

    /// A self-contained JSON Schema for a method's `result`.
    pub fn return_schema(&self, method: &str) -> Option<Value> {
        self.return_type(method).map(|t| self.bundle(t))
    }

    /// Check a value against a spec type. Errors name the JSON path.
    pub fn check_type(&self, name: &str, value: &Value) -> Result<(), Vec<String>> {
        if !self.types.contains_key(name) {
            return Err(vec![format!("the spec has no type {name}")]);
        }
        self.check(
            &format!("type:{name}"),
            &TypeExpr::Named(name.to_string()),
            value,
        )
    }

    /// Check the `result` of a successful call of `method`.
    pub fn check_result(&self, method: &str, value: &Value) -> Result<(), Vec<String>> {
        let Some(spec) = self.method(method) else {
            return Err(vec![format!("the spec has no method {method}")]);
        };
        let Some(ret) = self.returns.get(&spec.name) else {
            return Err(vec![format!(
                "the spec does not say what {} returns",
                spec.name
            )]);
        };
        self.check(&format!("method:{}", spec.name), &ret.clone(), value)
    }

    fn check(&self, key: &str, root: &TypeExpr, value: &Value) -> Result<(), Vec<String>> {
        let validator = self.validator(key, root).map_err(|e| vec![e])?;
        let errors: Vec<String> = validator
            .iter_errors(value)
            .map(|e| {
                let path = e.instance_path().to_string();
                format!("{}: {e}", if path.is_empty() { "/" } else { &path })
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn validator(&self, key: &str, root: &TypeExpr) -> Result<Arc<jsonschema::Validator>, String> {
        let mut cache = self.validators.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(v) = cache.get(key) {
            return Ok(v.clone());
        }
        let schema = self.bundle(root);
        let validator = jsonschema::validator_for(&schema)
            .map_err(|e| format!("derived schema for {key} does not compile: {e}"))?;
        let validator = Arc::new(validator);
        cache.insert(key.to_string(), validator.clone());
        Ok(validator)
    }

    /// The schema for `root` plus the definitions of every type it reaches.
    fn bundle(&self, root: &TypeExpr) -> Value {
        let mut pending = Vec::new();
        root.named_types(&mut pending);
        let mut defs = Map::new();
        while let Some(name) = pending.pop() {
            if defs.contains_key(&name) {
                continue;
            }
            let Some(ty) = self.types.get(&name) else {
                // A name the spec uses but never defines: accept anything
                // rather than fail every value that contains it.
                defs.insert(name, json!({}));
                continue;
            };
            for sub in ty.subtypes.iter().flatten() {
                pending.push(sub.clone());
            }
            for field in &ty.fields {
                TypeExpr::from_list(&field.types).named_types(&mut pending);
            }
            defs.insert(
                name.clone(),
                self.defs.get(&name).cloned().unwrap_or(json!({})),
            );
        }
        let mut schema = root.schema();
        if let Value::Object(obj) = &mut schema {
            obj.insert("$defs".into(), Value::Object(defs));
        } else {
            schema = json!({"allOf": [schema], "$defs": defs});
        }
        schema
    }
}

/// The schema of one spec type (refs point into `#/$defs`).
fn type_schema(ty: &TypeSpec) -> Value {
    if let Some(subtypes) = &ty.subtypes {
        let options: Vec<Value> = subtypes
            .iter()
            .map(|s| json!({"$ref": format!("#/$defs/{s}")}))
            .collect();
        return json!({"anyOf": options});
    }
    if ty.name == "InputFile" {
        // Uploaded as a multipart part or given as a file_id/URL string.
        return json!({});
    }
    let mut properties = Map::new();
    let mut required = Vec::new();
    for field in &ty.fields {
        let mut schema = TypeExpr::from_list(&field.types).schema();
        if let Some(values) = constant_values(&field.name, &field.description) {
            schema = if values.len() == 1 {
                json!({"const": values[0]})
            } else {
                json!({"enum": values})
            };
        }
        properties.insert(field.name.clone(), schema);
        if field.required {
            required.push(Value::String(field.name.clone()));
        }
    }
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

/// The fixed values of a discriminating field, read from its description:
/// "always 'creator'", "must be chat_member", "can be either 'group', … or 'channel'".
fn constant_values(field: &str, description: &str) -> Option<Vec<String>> {
    if !matches!(field, "type" | "status" | "source") {
        return None;
    }
    if let Some(rest) = description.split("always ").nth(1)
        && let Some(word) = quoted_words(rest).into_iter().next()
    {
        return Some(vec![word]);
    }
    if let Some(rest) = description.split("must be ").nth(1) {
        let word: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !word.is_empty() && rest.len() == word.len() {
            return Some(vec![word]);
        }
    }
    if let Some(rest) = description.split("can be either ").nth(1) {
        let words = quoted_words(rest);
        if !words.is_empty() {
            return Some(words);
        }
    }
    None
}

/// Words in 'single', "double" or “curly” quotes, in order.
fn quoted_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current: Option<String> = None;
    for c in text.chars() {
        let is_quote = matches!(c, '\'' | '"' | '“' | '”');
        match (&mut current, is_quote) {
            (None, true) => current = Some(String::new()),
            (Some(word), true) => {
                if !word.is_empty() {
                    words.push(std::mem::take(word));
                }
                current = None;
            }
            (Some(word), false) => {
                if c.is_ascii_alphanumeric() || c == '_' {
                    word.push(c)
                } else {
                    current = None
                }
            }
            (None, false) => {}
        }
    }
    words
}

/// What a method returns, read from the sentences of its description that
/// talk about returning: type names, `True`, the primitives, and "Array of X".
/// The first such sentence that names a type wins ("On success, returns a
/// WebhookInfo object. If the bot is using getUpdates, will return an object
/// with the url field empty."); several types in it become a union ("the
/// edited Message is returned, otherwise True is returned").
pub fn derive_return_type(description: &str, type_names: &BTreeSet<&str>) -> Option<TypeExpr> {
    for sentence in description.split(". ") {
        if !sentence.to_ascii_lowercase().contains("return") {
            continue;
        }
        let words: Vec<&str> = sentence
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| !w.is_empty())
            .collect();
        let mut found: Vec<TypeExpr> = Vec::new();
        let mut i = 0;
        while i < words.len() {
            let mut depth = 0;
            while words.get(i) == Some(&"Array") && words.get(i + 1) == Some(&"of") {
                depth += 1;
                i += 2;
            }
            let Some(word) = words.get(i) else { break };
            let base = match *word {
                "True" => Some(TypeExpr::True),
                "Integer" => Some(TypeExpr::Integer),
                "String" => Some(TypeExpr::String),
                "Boolean" => Some(TypeExpr::Boolean),
                "Float" => Some(TypeExpr::Float),
                w if type_names.contains(w) => Some(TypeExpr::Named(w.to_string())),
                _ => None,
            };
            if let Some(mut ty) = base {
                for _ in 0..depth {
                    ty = TypeExpr::Array(Box::new(ty));
                }
                if !found.contains(&ty) {
                    found.push(ty);
                }
            }
            i += 1;
        }
        match found.len() {
            0 => continue,
            1 => return found.pop(),
            _ => return Some(TypeExpr::AnyOf(found)),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_has_a_return_type() {
        let spec = BotApiSpec::reference().expect("the reference spec loads");
        let missing: Vec<&str> = spec
            .method_names()
            .filter(|m| spec.return_type(m).is_none())
            .collect();
        assert!(missing.is_empty(), "no return type derived for {missing:?}");
    }

    #[test]
    fn return_types_read_from_prose() {
        let spec = BotApiSpec::reference().expect("the reference spec loads");
        let named = |n: &str| TypeExpr::Named(n.into());
        assert_eq!(spec.return_type("getChat"), Some(&named("ChatFullInfo")));
        assert_eq!(spec.return_type("getme"), Some(&named("User")));
        assert_eq!(
            spec.return_type("getChatAdministrators"),
            Some(&TypeExpr::Array(Box::new(named("ChatMember"))))
        );
        assert_eq!(
            spec.return_type("getChatMemberCount"),
            Some(&TypeExpr::Integer)
        );
        assert_eq!(
            spec.return_type("exportChatInviteLink"),
            Some(&TypeExpr::String)
        );
        assert_eq!(spec.return_type("banChatMember"), Some(&TypeExpr::True));
        assert_eq!(spec.return_type("close"), Some(&TypeExpr::True));
        assert_eq!(
            spec.return_type("getWebhookInfo"),
            Some(&named("WebhookInfo"))
        );
        assert_eq!(
            spec.return_type("editMessageText"),
            Some(&TypeExpr::AnyOf(vec![named("Message"), TypeExpr::True]))
        );
    }

    #[test]
    fn unions_are_told_apart_by_their_constants() {
        let spec = BotApiSpec::reference().expect("the reference spec loads");
        let owner = json!({"status": "creator", "user": {"id": 1, "is_bot": false, "first_name": "A"}, "is_anonymous": false});
        assert!(spec.check_type("ChatMember", &owner).is_ok());
        let wrong = json!({"status": "owner", "user": {"id": 1, "is_bot": false, "first_name": "A"}, "is_anonymous": false});
        assert!(spec.check_type("ChatMember", &wrong).is_err());
        let left = json!({"status": "left", "user": {"id": 1, "is_bot": false, "first_name": "A"}});
        assert!(spec.check_result("getChatMember", &left).is_ok());
    }

    #[test]
    fn strict_objects_and_true_fields() {
        let spec = BotApiSpec::reference().expect("the reference spec loads");
        let base = json!({"id": -1, "type": "supergroup", "accent_color_id": 0, "max_reaction_count": 11,
            "accepted_gift_types": {"unlimited_gifts": false, "limited_gifts": false, "unique_gifts": false,
            "premium_subscription": false, "gifts_from_channels": false}});
        assert!(spec.check_result("getChat", &base).is_ok());
        let mut with_false = base.clone();
        with_false["is_forum"] = json!(false);
        let errors = spec.check_result("getChat", &with_false).unwrap_err();
        assert!(errors[0].starts_with("/is_forum"), "{errors:?}");
        let mut unknown = base.clone();
        unknown["colour"] = json!(1);
        assert!(spec.check_result("getChat", &unknown).is_err());
        let mut missing = base;
        missing.as_object_mut().unwrap().remove("accent_color_id");
        assert!(spec.check_result("getChat", &missing).is_err());
        assert!(
            spec.type_fields("ChatPermissions")
                .unwrap()
                .iter()
                .any(|f| f.name == "can_send_polls")
        );
    }
}
