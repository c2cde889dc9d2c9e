//! The JSON Schema of the config, generated from the model types, and
//! validation of a raw tree against it with errors turned into diagnostics.
//!
//! The schema is the single description of what may be written: editors use
//! the checked-in copy (`schema/orgform.schema.json`) through
//! yaml-language-server, and `validate` uses the same one in memory.

use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value as Json;

use super::diagnostic::{Diagnostic, Diagnostics, codes, did_you_mean};
use super::tree::{Node, escape_pointer_token};

/// The generated schema, as pretty JSON text with a trailing newline (what
/// `orgform schema` prints and `schema/orgform.schema.json` holds).
pub fn schema_text() -> String {
    let mut text = serde_json::to_string_pretty(schema()).expect("schema serialises");
    text.push('\n');
    text
}

/// The generated schema as a JSON value.
pub fn schema() -> &'static Json {
    static SCHEMA: OnceLock<Json> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let schema = schemars::schema_for!(crate::spec::Config);
        let mut value = serde_json::to_value(schema).expect("schema serialises");
        drop_null(&mut value);
        if let Some(obj) = value.as_object_mut() {
            obj.insert(
                "$id".into(),
                Json::String("https://orgform.dev/schema/orgform.schema.json".into()),
            );
        }
        value
    })
}

/// schemars lets every `Option` field be `null`. A config never needs to
/// write an empty value (leaving the key out says the same), and allowing
/// it turns "forum: " into a silent no-op, so the schema says "absent or a
/// real value": `null` is removed from type lists and `anyOf` alternatives.
fn drop_null(value: &mut Json) {
    match value {
        Json::Object(map) => {
            if let Some(Json::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    map.insert("type".into(), only);
                }
            }
            if let Some(Json::Array(alts)) = map.get_mut("anyOf") {
                alts.retain(|a| a.get("type").and_then(Json::as_str) != Some("null"));
                if alts.len() == 1 {
                    let only = alts.remove(0);
                    map.remove("anyOf");
                    if let Json::Object(inner) = only {
                        for (k, v) in inner {
                            map.entry(k).or_insert(v);
                        }
                    }
                }
            }
            for v in map.values_mut() {
                drop_null(v);
            }
        }
        Json::Array(items) => items.iter_mut().for_each(drop_null),
        _ => {}
    }
}

fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR
        .get_or_init(|| jsonschema::validator_for(schema()).expect("generated schema compiles"))
}

/// The same schema, validating the raw tree in place (`super::instance`).
fn tree_validator() -> &'static jsonschema::Validator<super::instance::Tree> {
    static VALIDATOR: OnceLock<jsonschema::Validator<super::instance::Tree>> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        jsonschema::options_for::<super::instance::Tree>()
            .build(schema())
            .expect("generated schema compiles")
    })
}

/// Whether the merged tree is valid, checked on the tree itself.
pub fn is_valid(root: &Node) -> bool {
    tree_validator().is_valid(root)
}

/// Validate the merged tree and read it into `T` (the config's types):
/// what `validate_and_prune` and `serde_json::from_value` give, without
/// the JSON copy when the tree is valid (the common case): the schema is
/// checked on the tree and the types are read from it. An invalid tree
/// takes the pruning path, so its diagnostics are exactly as before.
/// The error is the types' own message, for a tree the schema accepts but
/// the types do not read (rare: the schema is generated from them), or
/// `None` when the schema's diagnostics already explain it.
pub fn validate_typed<T: serde::de::DeserializeOwned>(
    root: &Node,
) -> (Diagnostics, Result<T, Option<String>>) {
    if is_valid(root) {
        if let Ok(typed) = super::tree_de::from_tree::<T>(root) {
            return (Diagnostics::default(), Ok(typed));
        }
        // Word the error as before: through JSON.
        let error = match serde_json::from_value::<T>(root.to_json()) {
            Ok(typed) => return (Diagnostics::default(), Ok(typed)),
            Err(e) => e.to_string(),
        };
        return (Diagnostics::default(), Err(Some(error)));
    }
    let (problems, pruned) = validate_and_prune(root);
    let typed = serde_json::from_value::<T>(pruned).map_err(|e| {
        let explained = !problems.is_empty();
        (!explained).then(|| e.to_string())
    });
    (problems, typed)
}

/// Validate the merged tree. Every schema violation becomes a diagnostic
/// pointing at the offending key or value.
pub fn validate(root: &Node) -> Diagnostics {
    validate_and_prune(root).0
}

/// Validate, and also return the config with every invalid part removed, so
/// that the later checks can still run on the rest and report all problems
/// in one go. An invalid value inside a list removes the whole list (so
/// list indices, and with them spans, stay right); an unknown key removes
/// just that key.
pub fn validate_and_prune(root: &Node) -> (Diagnostics, Json) {
    let mut out = Diagnostics::default();
    // A valid config (the common case) needs no pruning: skip the copy and
    // the error walk.
    if is_valid(root) {
        return (out, root.to_json());
    }
    let instance = root.to_json();
    let mut pruned = instance.clone();
    for error in validator().iter_errors(&instance) {
        let path = error.instance_path().as_str().to_string();
        report(root, &instance, &path, error.kind(), &mut out);
        match error.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                for key in unexpected {
                    remove_at(
                        &mut pruned,
                        &format!("{path}/{}", escape_pointer_token(key)),
                    );
                }
            }
            _ => remove_at(&mut pruned, &path),
        }
    }
    (out, pruned)
}

/// Remove the value at `pointer`, or the innermost list that contains it.
fn remove_at(value: &mut Json, pointer: &str) {
    let tokens: Vec<String> = pointer
        .trim_start_matches('/')
        .split('/')
        .filter(|t| !t.is_empty())
        .map(|p| p.replace("~1", "/").replace("~0", "~"))
        .collect();
    if tokens.is_empty() {
        return;
    }
    // Cut at the first list on the path: its parent key goes.
    let mut cut = tokens.len();
    let mut cur = &*value;
    for (i, t) in tokens.iter().enumerate() {
        if cur.is_array() {
            cut = i;
            break;
        }
        match cur.get(t.as_str()) {
            Some(next) => cur = next,
            None => return,
        }
    }
    if cut == 0 {
        return;
    }
    let (parent_tokens, key) = (&tokens[..cut - 1], &tokens[cut - 1]);
    let mut parent = value;
    for t in parent_tokens {
        match parent.get_mut(t.as_str()) {
            Some(next) => parent = next,
            None => return,
        }
    }
    if let Some(obj) = parent.as_object_mut() {
        obj.remove(key);
    }
}

fn report(
    root: &Node,
    instance: &Json,
    path: &str,
    kind: &ValidationErrorKind,
    out: &mut Diagnostics,
) {
    let (node, _) = root.pointer(path);
    let what = describe_path(path);
    match kind {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let allowed = allowed_keys(instance, path);
            for key in unexpected {
                let key_ptr = format!("{path}/{}", escape_pointer_token(key));
                let span = root.key_span(&key_ptr).unwrap_or(node.span);
                let hint = did_you_mean(key, allowed.iter().map(String::as_str)).or_else(|| {
                    (!allowed.is_empty())
                        .then(|| format!("allowed keys here: {}", allowed.join(", ")))
                });
                out.push(
                    Diagnostic::error(codes::UNKNOWN_KEY, format!("unknown key `{key}` in {what}"))
                        .at(span, "not a known key")
                        .hint_opt(hint),
                );
            }
        }
        ValidationErrorKind::Type { kind } => {
            let expected = match kind {
                TypeKind::Single(t) => type_word(&t.to_string()),
                TypeKind::Multiple(set) => set
                    .iter()
                    .map(|t| type_word(&t.to_string()))
                    .collect::<Vec<_>>()
                    .join(" or "),
            };
            out.push(
                Diagnostic::error(
                    codes::WRONG_TYPE,
                    format!(
                        "{what} must be {expected}, found {}",
                        article(node.type_name())
                    ),
                )
                .at(node.span, format!("this is {}", article(node.type_name())))
                .hint(type_hint(&expected, node)),
            );
        }
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or("?");
            out.push(
                Diagnostic::error(
                    codes::MISSING_FIELD,
                    format!("{what} is missing the required key `{name}`"),
                )
                .at(key_or_node(root, path), format!("add `{name}` here"))
                .hint(format!("add `{name}: …`")),
            );
        }
        ValidationErrorKind::Enum { options } => {
            let opts: Vec<String> = options
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let found = node
                .as_str()
                .map(|s| format!("`{s}`"))
                .unwrap_or_else(|| article(node.type_name()));
            let hint = node
                .as_str()
                .and_then(|s| did_you_mean(s, opts.iter().map(String::as_str)))
                .unwrap_or_else(|| format!("expected one of: {}", opts.join(", ")));
            out.push(
                Diagnostic::error(codes::INVALID_VALUE, format!("{what} cannot be {found}"))
                    .at(node.span, "not an allowed value")
                    .hint(hint),
            );
        }
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            // An enum whose variants are documented is a `oneOf` of
            // constants: report it as one "cannot be X" with the options.
            let consts: Option<Vec<String>> = context
                .iter()
                .map(|errs| match errs.as_slice() {
                    [e] => match e.kind() {
                        ValidationErrorKind::Constant { expected_value } => {
                            expected_value.as_str().map(str::to_string)
                        }
                        _ => None,
                    },
                    _ => None,
                })
                .collect();
            if let Some(options) = consts.filter(|o| !o.is_empty()) {
                let options = Json::Array(options.into_iter().map(Json::String).collect());
                report(
                    root,
                    instance,
                    path,
                    &ValidationErrorKind::Enum {
                        options: options.into(),
                    },
                    out,
                );
                return;
            }
            // Report the errors of the alternative that got furthest: the
            // one whose errors are not at the value itself (a type mismatch
            // at the root of an alternative means it was the wrong shape).
            let best = context
                .iter()
                .filter(|errs| !errs.is_empty())
                .min_by_key(|errs| {
                    let shallow = errs
                        .iter()
                        .filter(|e| e.instance_path().as_str() == path)
                        .count();
                    (shallow, errs.len())
                });
            match best {
                Some(errs) if errs.iter().any(|e| e.instance_path().as_str() != path) => {
                    for e in errs {
                        report(root, instance, e.instance_path().as_str(), e.kind(), out);
                    }
                }
                _ => {
                    let shape = shape_hint(path);
                    out.push(
                        Diagnostic::error(
                            codes::WRONG_TYPE,
                            format!(
                                "{what} has the wrong form ({} found)",
                                article(node.type_name())
                            ),
                        )
                        .at(node.span, "not a valid value here")
                        .hint(shape),
                    );
                }
            }
        }
        ValidationErrorKind::Minimum { limit }
        | ValidationErrorKind::ExclusiveMinimum { limit } => {
            out.push(
                Diagnostic::error(
                    codes::INVALID_VALUE,
                    format!("{what} is too small (minimum {limit})"),
                )
                .at(node.span, "too small"),
            );
        }
        ValidationErrorKind::Maximum { limit }
        | ValidationErrorKind::ExclusiveMaximum { limit } => {
            out.push(
                Diagnostic::error(
                    codes::INVALID_VALUE,
                    format!("{what} is too large (maximum {limit})"),
                )
                .at(node.span, "too large"),
            );
        }
        other => {
            out.push(
                Diagnostic::error(
                    codes::INVALID_VALUE,
                    format!("{what}: {}", describe_kind(other)),
                )
                .at(node.span, "here"),
            );
        }
    }
}

fn describe_kind(kind: &ValidationErrorKind) -> String {
    format!("{kind:?}")
        .split(['{', '('])
        .next()
        .unwrap_or("invalid")
        .trim()
        .to_lowercase()
}

fn key_or_node(root: &Node, path: &str) -> super::Span {
    root.key_span(path)
        .unwrap_or_else(|| root.pointer(path).0.span)
}

fn type_word(t: &str) -> String {
    match t {
        "object" => "a mapping".into(),
        "array" => "a list".into(),
        "string" => "a string".into(),
        "integer" => "an integer".into(),
        "number" => "a number".into(),
        "boolean" => "a boolean (true or false)".into(),
        "null" => "empty".into(),
        other => other.into(),
    }
}

fn article(type_name: &str) -> String {
    match type_name {
        "integer" => "an integer".into(),
        "null" => "nothing (null)".into(),
        other => format!("a {other}"),
    }
}

fn type_hint(expected: &str, node: &Node) -> String {
    match (expected, &node.value) {
        (e, super::Value::Str(s)) if e.starts_with("a boolean") => {
            format!("booleans are strict: write `true` or `false`, not `{s}`")
        }
        (e, super::Value::Str(_)) if e.starts_with("an integer") => {
            "write the number without quotes".into()
        }
        (e, _) if e.starts_with("a list") => {
            "write a list: `[a, b]`, or one `- item` per line".into()
        }
        (e, _) if e.starts_with("a mapping") => "write `key: value` pairs here".into(),
        _ => format!("write {expected} here"),
    }
}

fn shape_hint(path: &str) -> String {
    let last = path.rsplit('/').next().unwrap_or("");
    if path.contains("/members/") || path.contains("/banned/") || path.contains("/except/") {
        "a selector is `everyone` or one of {person: …}, {people: […]}, {department: …}, {role: …}, {leads_of: …}, {label: {…}}, {except: […]}".into()
    } else if last == "rights" {
        "rights are `all` or a list of right names, e.g. [delete_messages, pin_messages]".into()
    } else {
        "see schema/orgform.schema.json for the allowed forms".into()
    }
}

/// "chats › eng › admins › 0" style description of where a value is.
fn describe_path(path: &str) -> String {
    if path.is_empty() {
        return "the config".into();
    }
    let parts: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(|p| p.replace("~1", "/").replace("~0", "~"))
        .collect();
    format!("`{}`", parts.join("."))
}

/// Keys the schema allows for the object at `path`, for did-you-mean hints.
fn allowed_keys(instance: &Json, path: &str) -> Vec<String> {
    let root = schema();
    let mut sub = root;
    let mut value = instance;
    let tokens: Vec<String> = if path.is_empty() {
        Vec::new()
    } else {
        path.trim_start_matches('/')
            .split('/')
            .map(|p| p.replace("~1", "/").replace("~0", "~"))
            .collect()
    };
    for token in &tokens {
        sub = pick_alternative(root, sub, value);
        let next_value = match value {
            Json::Object(m) => m.get(token),
            Json::Array(a) => token.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        };
        let Some(next_value) = next_value else {
            return Vec::new();
        };
        let next_schema = match value {
            Json::Object(_) => sub
                .get("properties")
                .and_then(|p| p.get(token))
                .or_else(|| sub.get("additionalProperties").filter(|a| a.is_object())),
            Json::Array(_) => sub.get("items"),
            _ => None,
        };
        let Some(next_schema) = next_schema else {
            return Vec::new();
        };
        sub = next_schema;
        value = next_value;
    }
    sub = pick_alternative(root, sub, value);
    sub.get("properties")
        .and_then(Json::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

/// Resolve `$ref` and choose the `anyOf`/`oneOf` alternative that fits the
/// value's JSON type.
fn pick_alternative<'a>(root: &'a Json, mut sub: &'a Json, value: &Json) -> &'a Json {
    for _ in 0..16 {
        if let Some(r) = sub.get("$ref").and_then(Json::as_str) {
            let name = r.rsplit('/').next().unwrap_or("");
            match root.get("$defs").and_then(|d| d.get(name)) {
                Some(s) => {
                    sub = s;
                    continue;
                }
                None => return sub,
            }
        }
        let alts = sub
            .get("anyOf")
            .or_else(|| sub.get("oneOf"))
            .and_then(Json::as_array);
        if let Some(alts) = alts {
            let want = match value {
                Json::Object(_) => "object",
                Json::Array(_) => "array",
                Json::String(_) => "string",
                _ => "",
            };
            let fit = alts.iter().find(|a| {
                let a = resolve_ref(root, a);
                a.get("type").and_then(Json::as_str) == Some(want)
            });
            match fit {
                Some(a) => {
                    sub = a;
                    continue;
                }
                None => return sub,
            }
        }
        return sub;
    }
    sub
}

fn resolve_ref<'a>(root: &'a Json, sub: &'a Json) -> &'a Json {
    match sub.get("$ref").and_then(Json::as_str) {
        Some(r) => root
            .get("$defs")
            .and_then(|d| d.get(r.rsplit('/').next().unwrap_or("")))
            .unwrap_or(sub),
        None => sub,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The schema on the tree says what the schema on its JSON copy says,
    /// for every example and fixture config (valid and invalid) and for
    /// values of the wrong kind.
    #[test]
    fn the_tree_and_its_json_copy_validate_alike() {
        let mut roots = Vec::new();
        let mut stack = vec![
            std::path::PathBuf::from("examples"),
            std::path::PathBuf::from("tests/fixtures"),
        ];
        while let Some(dir) = stack.pop() {
            let entries: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
            let configs = entries.iter().any(|e| {
                e.path()
                    .extension()
                    .is_some_and(|x| x == "yaml" || x == "kdl")
            });
            if configs && let Some(root) = crate::config::load(&dir).root {
                roots.push((dir.display().to_string(), root));
            }
            stack.extend(entries.iter().map(|e| e.path()).filter(|p| p.is_dir()));
        }
        for text in [
            "people: {a: {telegram_id: '5'}}\n",
            "people: {a: {telegram_id: 5.5}}\n",
            "people: {a: {telegram_id: 5, status: gone}}\n",
            "people: {a: {telegram_id: 5, name: ~}}\n",
            "people: {a: {telegram_id: 5, colour: red}}\n",
            "chats: {c: {id: -1, type: supergroup, forum: yes}}\n",
            "chats: {c: {id: -1, members: [everyone, {persn: a}]}}\n",
            "chats: {c: {id: -1, slow_mode: -5}}\n",
            "roles: {r: {rights: al}}\n",
            "roles: {r: {rights: [pin_messages, 5]}}\n",
            "org: [a]\n",
            "people: []\n",
            "- a\n",
        ] {
            let source = crate::config::SourceFile::new("t.yaml", "t.yaml", text);
            let root = crate::config::yaml::parse(crate::config::FileId(0), &source).unwrap();
            roots.push((text.to_string(), root));
        }
        let mut invalid = 0;
        for (name, root) in &roots {
            let through_json = validator().is_valid(&root.to_json());
            assert_eq!(is_valid(root), through_json, "{name}");
            invalid += usize::from(!through_json);
        }
        assert!(invalid >= 13, "the invalid cases are there: {invalid}");
    }
}
