//! YAML front end: text → [`Node`] tree with spans, via serde-saphyr.
//!
//! serde-saphyr does the parsing and enforces its budgets (alias expansion,
//! depth, node counts), so a billion-laughs file or a 10,000-deep nesting is
//! refused before it can use memory or stack. Booleans are strict: `yes`,
//! `on` and friends are strings, never `true`. The common file (no
//! anchors, tags or merge keys, nothing near a budget) is read straight
//! from the same parser's events by `yaml_direct`, to the same tree.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Budget, DuplicateKeyPolicy, Options, Spanned};

use super::diagnostic::{Diagnostic, codes};
use super::source::{FileId, SourceFile, Span};
use super::tree::{Entry, Node, Value};

/// Nesting deeper than this is refused. Real configs are under 10 deep.
pub const MAX_DEPTH: usize = 64;

fn options() -> Options {
    // serde-saphyr's option structs are non-exhaustive: start from the
    // defaults and tighten what matters for untrusted input.
    let mut budget = Budget::default();
    budget.max_depth = MAX_DEPTH;
    budget.flow_nesting_limit = MAX_DEPTH;
    budget.max_aliases = 1_000;
    budget.max_anchors = 1_000;
    budget.max_nodes = 2_000_000;
    let mut aliases = serde_saphyr::options::AliasLimits::default();
    aliases.max_total_replayed_events = 100_000;
    let mut options = Options::default();
    options.budget = Some(budget);
    options.alias_limits = aliases;
    options.strict_booleans = true;
    options.duplicate_keys = DuplicateKeyPolicy::PassThrough;
    options
}

/// Parse one YAML file into a tree. An empty file is an empty mapping.
pub fn parse(file_id: FileId, source: &SourceFile) -> Result<Node, Diagnostic> {
    let text = &*source.text;
    if text.trim().is_empty()
        || text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Ok(Node::new(Value::Map(Vec::new()), Span::new(file_id, 0, 0)));
    }
    if let Some((line, depth)) = nesting_beyond(text, MAX_DEPTH) {
        let offset = source.offset_of(line, 1);
        return Err(Diagnostic::error(
            codes::TOO_DEEP,
            format!("the YAML nests deeper than {MAX_DEPTH} levels ({depth} at line {line})"),
        )
        .at(
            Span::new(file_id, offset, source.line_text(line).len()),
            "too deep here",
        )
        .hint(format!(
            "nesting is limited to {MAX_DEPTH} levels; a config never needs more"
        )));
    }
    // The common case straight from the parser's events; anything else
    // through serde-saphyr, which enforces the budgets.
    if let Some(node) = super::yaml_direct::parse(file_id, text) {
        return Ok(node);
    }
    parse_with_serde(file_id, source)
}

/// Parse one YAML file through serde-saphyr: what `parse` does for any
/// file `yaml_direct` does not take (and, in the tests, for every file, to
/// compare).
pub fn parse_with_serde(file_id: FileId, source: &SourceFile) -> Result<Node, Diagnostic> {
    let text = &*source.text;
    let spanned: Spanned<Raw> = serde_saphyr::from_str_with_options(text, options())
        .map_err(|e| error_to_diagnostic(file_id, source, &e))?;
    Ok(convert(file_id, source, spanned))
}

/// A cheap upper bound on nesting, checked before the parser sees the text:
/// deserialising recurses once per level, and a hostile file must not be
/// able to exhaust the stack. Block levels are counted from indentation
/// (and `- ` markers), flow levels from brackets outside quotes. Returns the
/// first line where the bound exceeds `max`.
fn nesting_beyond(text: &str, max: usize) -> Option<(usize, usize)> {
    let mut indents: Vec<usize> = Vec::new();
    // One buffer for every line's levels (a file of people has tens of
    // thousands of lines).
    let mut levels: Vec<usize> = Vec::new();
    let mut flow = 0usize;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start_matches(' ');
        if flow == 0 && !trimmed.is_empty() && !trimmed.starts_with('#') {
            let mut indent = line.len() - trimmed.len();
            let mut rest = trimmed;
            levels.clear();
            levels.push(indent);
            while let Some(after) = rest
                .strip_prefix("- ")
                .or_else(|| rest.strip_prefix('-').filter(|r| r.is_empty()))
            {
                indent += 2;
                levels.push(indent);
                rest = after.trim_start_matches(' ');
                indent += after.len() - rest.len();
            }
            while indents.last().is_some_and(|&top| top >= levels[0]) {
                indents.pop();
            }
            indents.extend_from_slice(&levels);
        }
        let mut quote: Option<char> = None;
        for c in line.chars() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => quote = Some(c),
                (None, '#') => break,
                (None, '[' | '{') => flow += 1,
                (None, ']' | '}') => flow = flow.saturating_sub(1),
                _ => {}
            }
            if indents.len() + flow > max {
                return Some((i + 1, indents.len() + flow));
            }
        }
        if indents.len() + flow > max {
            return Some((i + 1, indents.len() + flow));
        }
    }
    None
}

fn span_of(file_id: FileId, source: &SourceFile, loc: &serde_saphyr::Location) -> Span {
    let span = loc.span();
    let start = match span.byte_offset() {
        Some(b) => b as usize,
        None => source.offset_of(loc.line() as usize, loc.column() as usize),
    };
    let len = span.byte_len().map(|l| l as usize).unwrap_or(0);
    Span::new(file_id, start.min(source.text.len()), len)
}

fn convert(file_id: FileId, source: &SourceFile, raw: Spanned<Raw>) -> Node {
    let span = span_of(file_id, source, &raw.referenced);
    let value = match raw.value {
        Raw::Null => Value::Null,
        Raw::Bool(b) => Value::Bool(b),
        Raw::Int(i) => Value::Int(i),
        Raw::Float(f) => Value::Float(f),
        Raw::Str(s) => Value::Str(s),
        Raw::Seq(items) => Value::Seq(
            items
                .into_iter()
                .map(|i| convert(file_id, source, i))
                .collect(),
        ),
        Raw::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| {
                    let mut key_span = span_of(file_id, source, &k.referenced);
                    if key_span.len == 0 {
                        key_span.len = k.value.len();
                    }
                    Entry {
                        key: k.value,
                        key_span,
                        value: convert(file_id, source, v),
                    }
                })
                .collect(),
        ),
    };
    Node::new(value, span)
}

fn error_to_diagnostic(
    file_id: FileId,
    source: &SourceFile,
    err: &serde_saphyr::Error,
) -> Diagnostic {
    let text = err.to_string();
    // The rendered error carries its own snippet; keep the first line as the
    // message and point at the location ourselves.
    let first = text
        .lines()
        .next()
        .unwrap_or("invalid YAML")
        .trim()
        .to_string();
    let lower = text.to_lowercase();
    let deep = lower.contains("recursion limit")
        || (lower.contains("budget") && (lower.contains("depth") || lower.contains("nest")));
    let (code, hint) = if deep {
        (
            codes::TOO_DEEP,
            format!("nesting is limited to {MAX_DEPTH} levels; a config never needs more"),
        )
    } else if lower.contains("budget") || lower.contains("alias") {
        (codes::ALIAS_BOMB, "the file expands into far more values than it contains (an alias bomb?); write the values out or use fewer aliases".to_string())
    } else {
        (
            codes::SYNTAX,
            "fix the YAML syntax at this place".to_string(),
        )
    };
    let mut d = Diagnostic::error(code, format!("invalid YAML: {first}")).hint(hint);
    if let Some(loc) = err.location() {
        if loc.line() > 0 {
            let span = span_of(file_id, source, &loc);
            d = d.at(
                Span {
                    len: span.len.max(1),
                    ..span
                },
                "here",
            );
        }
    } else {
        d = d.at(Span::new(file_id, 0, 0), "in this file");
    }
    d
}

/// The untyped YAML value, deserialised through serde-saphyr so that every
/// element can be wrapped in `Spanned`.
enum Raw {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Raw>>),
    Map(Vec<(Spanned<String>, Spanned<Raw>)>),
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }
    fn visit_none<E>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Raw, D::Error> {
        Raw::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Raw, E> {
        Ok(Raw::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Raw, E> {
        Ok(Raw::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Raw, E> {
        i64::try_from(v)
            .map(Raw::Int)
            .map_err(|_| E::custom("integer is too large"))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Raw, E> {
        i64::try_from(v)
            .map(Raw::Int)
            .map_err(|_| E::custom("integer is too large"))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Raw, E> {
        i64::try_from(v)
            .map(Raw::Int)
            .map_err(|_| E::custom("integer is too large"))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Raw, E> {
        Ok(Raw::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Raw, E> {
        Ok(Raw::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Raw, E> {
        Ok(Raw::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Raw>>()? {
            items.push(item);
        }
        Ok(Raw::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<KeyString>>()? {
            let value = map.next_value::<Spanned<Raw>>()?;
            let key = Spanned {
                value: key.value.0,
                referenced: key.referenced,
                defined: key.defined,
            };
            entries.push((key, value));
        }
        Ok(Raw::Map(entries))
    }
}

/// Mapping keys: strings, with numbers and booleans taken as their text
/// (`2026: …` is the key "2026").
struct KeyString(String);

impl<'de> Deserialize<'de> for KeyString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KeyString;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_str<E>(self, v: &str) -> Result<KeyString, E> {
                Ok(KeyString(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<KeyString, E> {
                Ok(KeyString(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<KeyString, E> {
                Ok(KeyString(v.to_string()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<KeyString, E> {
                Ok(KeyString(v.to_string()))
            }
            fn visit_unit<E>(self) -> Result<KeyString, E> {
                Ok(KeyString("null".into()))
            }
        }
        d.deserialize_any(V)
    }
}
