//! KDL front end: text → [`Node`] tree with spans, via the `kdl` crate
//! (KDL 2 syntax).
//!
//! KDL has nodes where YAML has mappings and lists, so a KDL file is read
//! into the same raw tree as a YAML file by one fixed convention. After that
//! both formats take the same road: JSON Schema validation, then the serde
//! types in `crate::spec`. `docs/kdl.md` shows the convention with examples.
//!
//! # The convention
//!
//! | KDL | value |
//! |---|---|
//! | the nodes of a document or of a child block | a mapping: node name → key |
//! | `name "x"` (one argument, nothing else) | the scalar `"x"` |
//! | `name "a" "b"` (several arguments) | the list `["a", "b"]` |
//! | `name k=1 { c 2 }` (properties and/or children) | the mapping `{k: 1, c: 2}`, properties first |
//! | `name { - "a"; - k=1 }` (every child named `-`) | the list `["a", {k: 1}]`, each `-` read by these same rules |
//! | `name` or `name {}` (nothing) | null (`{}`: an empty mapping), unless the schema says otherwise |
//!
//! A node has *either* arguments *or* properties and children: an argument
//! has no key to live under in a mapping, so `alice 100001 name="Alice"` is
//! an error that says to write `telegram_id=100001`. Likewise a block of `-`
//! items is a list and cannot be mixed with named children or with
//! properties on the same node. Type annotations (`(date)"2026-01-31"`) are
//! refused: they would look meaningful and be silently ignored.
//!
//! Scalars: strings as written; integers as `i64` (larger ones are an
//! `invalid-value` error, never silently rounded); floats; `#true`,
//! `#false`, `#null`. `#inf`, `#-inf` and `#nan` are refused (JSON has no
//! such numbers). Keys that occur twice (two nodes, two properties, or a
//! property and a node of the same name) are all kept in order; the loader
//! reports them with both places.
//!
//! # Schema-guided lists
//!
//! KDL cannot tell a one-element list from its element, nor an empty list
//! from nothing. So the conversion walks the config's JSON Schema
//! ([`super::schema::schema`]) alongside the tree (`$ref` into `$defs`,
//! `anyOf`/`oneOf` alternatives, `properties`, `additionalProperties`,
//! `items`):
//!
//! * where the schema expects a list and KDL gives one scalar or one
//!   mapping that none of the non-list alternatives accepts, it becomes a
//!   one-element list: `rights "delete_messages"` → `["delete_messages"]`,
//!   `members "everyone"` → `["everyone"]`, `members department="sales"` →
//!   `[{department: sales}]`; but `rights "all"` stays `"all"`, because
//!   `all` is one of the non-list alternatives;
//! * where the schema expects a list or a mapping and the node is empty, it
//!   becomes an empty list (`permissions` → `[]`) or mapping.
//!
//! A wrapped value keeps its span. Where the schema says nothing (an unknown
//! key) nothing is reshaped, and the schema check reports the key.
//!
//! # Hostile input
//!
//! The `kdl` parser is recursive: every level of `{` nesting, every `*` or
//! `/` inside a block comment, and every stray character it recovers from at
//! the top level costs it stack, so 20 KB of `}` overflow an 8 MB stack; and
//! it recovers from some mistakes (a bad escape, a bad number, a badly
//! indented multi-line string) in time that grows with the square of their
//! number. So before the parser sees the text, a small iterative scanner
//! checks it at the token level: the structure (braces, arguments,
//! properties, terminators, `/-`), strings (escapes, control characters,
//! multi-line indentation) and numbers. Nesting deeper than [`MAX_DEPTH`] is
//! refused at once with `too-deep`; every other mistake it finds is a
//! `syntax` diagnostic with a hint (bare `true`, `null` or `r"…"` get a hint
//! that KDL 2 is expected), and it stops after 20. Block comments are
//! blanked out (byte for byte, so spans stay right). What reaches the parser
//! is valid as far as the scanner can tell and at most [`MAX_DEPTH`] deep;
//! it runs on a thread with a known stack, so the caller's stack size does
//! not matter either. Huge files are refused by the loader before they get
//! here.
//!
//! The scanner accepts every valid document of the kdl crate's own test
//! suite (checked while writing it); where it is stricter than the KDL 2
//! grammar (`a/-b` needs a space before `/-`) it matches the kdl crate.
//! A test (`the_kdl_crate_alone_crashes_on_input_the_scanner_refuses`)
//! shows the crate alone aborting the process on deep nesting and on stray
//! `}`s, even on the parser thread's 16 MiB stack, which is why a depth
//! limit in front of it is not enough and the scanner stays.

use kdl::{KdlDocument, KdlEntry, KdlNode, KdlValue};
use miette::SourceSpan;
use serde_json::Value as Json;

use super::diagnostic::{Diagnostic, codes};
use super::source::{FileId, SourceFile, Span};
use super::tree::{Entry, Node, Value};

/// Nesting deeper than this many child blocks is refused (as in YAML).
pub const MAX_DEPTH: usize = super::yaml::MAX_DEPTH;

/// The scanner stops after this many syntax errors in one file.
const MAX_SYNTAX_ERRORS: usize = 20;

/// Stack for the parser thread. The scanner bounds what the parser has to
/// recurse through; this leaves a wide margin over what 64 levels need.
const PARSER_STACK_BYTES: usize = 16 * 1024 * 1024;

const KDL2_HINT: &str = "orgform reads KDL 2: booleans and null are `#true`, `#false` and `#null`, raw strings are `#\"…\"#`";

mod scan;

use scan::prescan;

/// Parse one KDL file into a tree, reshaped by the config schema (see the
/// module documentation). Returns the first problem found; [`parse_all`]
/// returns all of them.
pub fn parse(file_id: FileId, source: &SourceFile) -> Result<Node, Diagnostic> {
    parse_all(file_id, source).map_err(|mut ds| ds.swap_remove(0))
}

/// Parse one KDL file into a tree, reshaped by the config schema; every
/// problem found is returned (never an empty list).
pub fn parse_all(file_id: FileId, source: &SourceFile) -> Result<Node, Vec<Diagnostic>> {
    parse_with_schema(file_id, source, Some(super::schema::schema()))
}

/// Parse one KDL file by the convention, guided by `schema` (a whole JSON
/// Schema document whose root describes the file's top level; `$ref`s are
/// resolved inside it). With `None`, no list is added or emptied: the tree
/// is the plain convention.
pub fn parse_with_schema(
    file_id: FileId,
    source: &SourceFile,
    schema: Option<&Json>,
) -> Result<Node, Vec<Diagnostic>> {
    let text: &str = &source.text;
    let blanked = prescan(file_id, text)?;
    let doc = run_parser(&blanked).map_err(|e| parser_errors(file_id, text, &e))?;
    let mut conv = Converter {
        file: file_id,
        text,
        root: schema,
        diags: Vec::new(),
    };
    let guide = match schema {
        Some(s) => Guide::of(s, s),
        None => Guide::default(),
    };
    let root = conv.block(
        doc.nodes(),
        &[],
        &guide,
        Span::new(file_id, 0, text.len()),
        true,
    );
    if conv.diags.is_empty() {
        Ok(root)
    } else {
        conv.diags
            .sort_by_key(|d| d.primary.as_ref().map(|l| l.span.start));
        Err(conv.diags)
    }
}

// ---------------------------------------------------------------------------
// The parser and its errors.

fn run_parser(text: &str) -> Result<KdlDocument, kdl::KdlError> {
    std::thread::scope(|scope| {
        let spawned = std::thread::Builder::new()
            .name("kdl-parser".into())
            .stack_size(PARSER_STACK_BYTES)
            .spawn_scoped(scope, || KdlDocument::parse_v2(text));
        match spawned {
            Ok(handle) => handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            // No thread to be had: the scanner has bounded the depth, so
            // parsing here is still safe on any ordinary stack.
            Err(_) => KdlDocument::parse_v2(text),
        }
    })
}

fn parser_errors(file: FileId, text: &str, err: &kdl::KdlError) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = Vec::new();
    for d in &err.diagnostics {
        let span = clamp_span(file, text, d.span.offset(), d.span.len());
        let message = d
            .message
            .clone()
            .or_else(|| {
                d.label
                    .as_ref()
                    .map(|l| format!("expected {}", l.trim_start_matches("not ")))
            })
            .unwrap_or_else(|| "invalid KDL".into());
        let hint = d
            .help
            .clone()
            .unwrap_or_else(|| "fix the KDL syntax at this place (orgform reads KDL 2)".into());
        let diag = Diagnostic::error(
            codes::SYNTAX,
            format!("invalid KDL: {}", lower_first(&message)),
        )
        .at(
            Span {
                len: span.len.max(1),
                ..span
            },
            "here",
        )
        .hint(hint);
        if !out
            .iter()
            .any(|o| o.primary == diag.primary && o.message == diag.message)
        {
            out.push(diag);
        }
    }
    if out.is_empty() {
        out.push(
            Diagnostic::error(codes::SYNTAX, "invalid KDL")
                .at(Span::new(file, 0, 0), "in this file")
                .hint("fix the KDL syntax (orgform reads KDL 2)"),
        );
    }
    out.sort_by_key(|d| d.primary.as_ref().map(|l| l.span.start));
    out
}

/// "Expected a value" → "expected a value" (but "KDL …" stays).
fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match (chars.next(), s.chars().nth(1)) {
        (Some(c), Some(d)) if !d.is_uppercase() => c.to_lowercase().chain(chars).collect(),
        _ => s.to_string(),
    }
}

/// A span inside `text`, on character boundaries.
fn clamp_span(file: FileId, text: &str, start: usize, len: usize) -> Span {
    let mut start = start.min(text.len());
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = start.saturating_add(len).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    Span::new(file, start, end - start)
}

// ---------------------------------------------------------------------------
// Conversion of the parsed document into the tree.

struct Converter<'a> {
    file: FileId,
    text: &'a str,
    root: Option<&'a Json>,
    diags: Vec<Diagnostic>,
}

impl<'a> Converter<'a> {
    fn span(&self, s: SourceSpan) -> Span {
        clamp_span(self.file, self.text, s.offset(), s.len())
    }

    /// The value of one node.
    fn node(&mut self, node: &KdlNode, guide: &Guide<'a>) -> Node {
        let node_span = self.span(node.span());
        let name_span = self.span(node.name().span());
        if let Some(ty) = node.ty() {
            self.type_annotation(ty.span());
        }
        for e in node.entries() {
            if let Some(ty) = e.ty() {
                self.type_annotation(ty.span());
            }
        }
        let args: Vec<&KdlEntry> = node
            .entries()
            .iter()
            .filter(|e| e.name().is_none())
            .collect();
        let props: Vec<&KdlEntry> = node
            .entries()
            .iter()
            .filter(|e| e.name().is_some())
            .collect();
        let kids: &[KdlNode] = node.children().map(|d| d.nodes()).unwrap_or(&[]);
        let name = node.name().value();

        if !args.is_empty() && (!props.is_empty() || !kids.is_empty()) {
            let what = if props.is_empty() {
                "a child block"
            } else {
                "properties"
            };
            self.diags.push(
                Diagnostic::error(codes::SYNTAX, format!("`{name}` has both arguments and {what}"))
                    .at(self.value_span(args[0]), "this argument has no key")
                    .hint(
                        "a node is a value (`title \"Sales\"`), a list (`leads \"alice\" \"bob\"`) or a mapping \
                         (`alice telegram_id=100001 { … }`), never two of these; write the argument as a property, \
                         e.g. `telegram_id=100001`",
                    ),
            );
            return Node::new(Value::Null, node_span);
        }
        match args.len() {
            0 => {}
            1 => {
                let value = self.scalar(args[0]);
                return guide.wrap(value);
            }
            _ => {
                let items = guide.items(self.root);
                let values: Vec<Node> = args.iter().map(|a| items.wrap(self.scalar(a))).collect();
                let start = values[0].span.start;
                let last = &values[values.len() - 1].span;
                let span = Span::new(self.file, start, last.start + last.len - start);
                return Node::new(Value::Seq(values), span);
            }
        }
        if props.is_empty() && kids.is_empty() {
            return guide.empty(name_span, node.children().is_some());
        }
        // A mapping where only a list of mappings fits: it is read as the
        // list's one item, so it is guided by the item schema.
        let is_list = kids.first().is_some_and(|k| k.name().value() == "-");
        let probe = Node::new(Value::Map(Vec::new()), node_span);
        let inner = if !is_list && guide.expects("array") && !guide.accepts_as_is(&probe) {
            guide.items(self.root)
        } else {
            guide.clone()
        };
        let value = self.block(kids, &props, &inner, node_span, false);
        guide.wrap(value)
    }

    /// The value of a block: properties and child nodes (a mapping), or only
    /// `-` children (a list). `root` marks the document itself.
    fn block(
        &mut self,
        kids: &[KdlNode],
        props: &[&KdlEntry],
        guide: &Guide<'a>,
        span: Span,
        root: bool,
    ) -> Node {
        let is_item = |n: &KdlNode| n.name().value() == "-";
        if let Some(first) = kids.first() {
            let list = is_item(first);
            if let Some(odd) = kids.iter().find(|k| is_item(k) != list) {
                let first_span = self.span(first.name().span());
                self.diags.push(
                    Diagnostic::error(codes::SYNTAX, "`-` list items and named entries are mixed in one block")
                        .at(self.span(odd.name().span()), if list { "a named entry in a list" } else { "a list item among named entries" })
                        .also(first_span, if list { "the block is a list from here" } else { "the block is a mapping from here" })
                        .hint("a block is either a list (every child named `-`) or a mapping (no child named `-`)"),
                );
                return Node::new(Value::Null, span);
            }
            if list {
                if let Some(p) = props.first() {
                    self.diags.push(
                        Diagnostic::error(codes::SYNTAX, "a node whose children are `-` list items cannot have properties")
                            .at(self.key_span(p), "this property")
                            .hint("move the property into each `-` item, or make the children named entries"),
                    );
                    return Node::new(Value::Null, span);
                }
                let items = guide.items(self.root);
                let values: Vec<Node> = kids.iter().map(|k| self.node(k, &items)).collect();
                let span = if root {
                    span
                } else {
                    values_span(self.file, &values).unwrap_or(span)
                };
                return Node::new(Value::Seq(values), span);
            }
        }
        let mut entries = Vec::with_capacity(props.len() + kids.len());
        for p in props {
            let key = p.name().map(|n| n.value().to_string()).unwrap_or_default();
            let child = guide.child(self.root, &key);
            let value = child.wrap(self.scalar(p));
            entries.push(Entry {
                key,
                key_span: self.key_span(p),
                value,
            });
        }
        for k in kids {
            let key = k.name().value().to_string();
            let child = guide.child(self.root, &key);
            let value = self.node(k, &child);
            entries.push(Entry {
                key,
                key_span: self.span(k.name().span()),
                value,
            });
        }
        Node::new(Value::Map(entries), span)
    }

    fn key_span(&self, e: &KdlEntry) -> Span {
        match e.name() {
            Some(n) => self.span(n.span()),
            None => self.span(e.span()),
        }
    }

    /// The span of an entry's value alone (without `key=` or a type).
    fn value_span(&self, e: &KdlEntry) -> Span {
        let whole = self.span(e.span());
        let end = whole.start + whole.len;
        if let Some(repr) = e.format().map(|f| f.value_repr.as_str())
            && !repr.is_empty()
            && end >= repr.len()
            && self.text.get(end - repr.len()..end) == Some(repr)
        {
            return Span::new(self.file, end - repr.len(), repr.len());
        }
        whole
    }

    fn scalar(&mut self, e: &KdlEntry) -> Node {
        let span = self.value_span(e);
        let value = match e.value() {
            KdlValue::String(s) => Value::Str(s.clone()),
            KdlValue::Bool(b) => Value::Bool(*b),
            KdlValue::Null => Value::Null,
            KdlValue::Integer(i) => match i64::try_from(*i) {
                Ok(i) => Value::Int(i),
                Err(_) => {
                    self.diags.push(
                        Diagnostic::error(codes::INVALID_VALUE, format!("the integer {i} is out of range"))
                            .at(span, "too large")
                            .hint("numbers in a config are 64-bit signed integers (at most 9223372036854775807 either way)"),
                    );
                    Value::Null
                }
            },
            KdlValue::Float(f) if f.is_finite() => Value::Float(*f),
            KdlValue::Float(_) => {
                self.diags.push(
                    Diagnostic::error(
                        codes::INVALID_VALUE,
                        "#inf, #-inf and #nan are not allowed in a config",
                    )
                    .at(span, "not a finite number")
                    .hint("write a finite number"),
                );
                Value::Null
            }
        };
        Node::new(value, span)
    }

    fn type_annotation(&mut self, span: SourceSpan) {
        self.diags.push(
            Diagnostic::error(codes::SYNTAX, "type annotations are not used by orgform")
                .at(self.span(span), "this annotation")
                .hint("remove the `(…)`; the schema decides how a value is read"),
        );
    }
}

fn values_span(file: FileId, values: &[Node]) -> Option<Span> {
    let first = values.first()?.span;
    let last = values.last()?.span;
    Some(Span::new(
        file,
        first.start,
        (last.start + last.len).max(first.start) - first.start,
    ))
}

// ---------------------------------------------------------------------------
// The schema walk.

/// What the schema allows at one place in the tree: its alternatives, with
/// `$ref`, `anyOf`, `oneOf` and `allOf` flattened. Empty means "no
/// guidance" (no schema, or a key the schema does not know).
#[derive(Clone, Default)]
struct Guide<'s> {
    alts: Vec<&'s Json>,
}

impl<'s> Guide<'s> {
    fn of(root: &'s Json, schema: &'s Json) -> Self {
        let mut alts = Vec::new();
        flatten(root, schema, 0, &mut alts);
        Guide { alts }
    }

    fn expects(&self, ty: &str) -> bool {
        self.alts
            .iter()
            .any(|a| types_of(a).is_some_and(|ts| ts.contains(&ty)))
    }

    /// Whether some alternative other than a list accepts `value` as it is.
    fn accepts_as_is(&self, value: &Node) -> bool {
        let json = match &value.value {
            Value::Map(_) | Value::Seq(_) => None,
            _ => Some(value.to_json()),
        };
        self.alts.iter().any(|alt| {
            let Some(types) = types_of(alt) else {
                return true;
            };
            let type_ok = types
                .iter()
                .any(|t| *t != "array" && type_matches(t, value));
            let value_ok = match &json {
                None => true,
                Some(j) => {
                    alt.get("const").is_none_or(|c| c == j)
                        && alt
                            .get("enum")
                            .and_then(Json::as_array)
                            .is_none_or(|e| e.contains(j))
                }
            };
            type_ok && value_ok
        })
    }

    /// A scalar or mapping where only a list fits becomes a one-element list.
    fn wrap(&self, value: Node) -> Node {
        if matches!(value.value, Value::Seq(_))
            || !self.expects("array")
            || self.accepts_as_is(&value)
        {
            return value;
        }
        let span = value.span;
        Node::new(Value::Seq(vec![value]), span)
    }

    /// The value of an empty node.
    fn empty(&self, span: Span, had_block: bool) -> Node {
        let value = if self.expects("array") {
            Value::Seq(Vec::new())
        } else if self.expects("object") || had_block {
            Value::Map(Vec::new())
        } else {
            Value::Null
        };
        Node::new(value, span)
    }

    fn items(&self, root: Option<&'s Json>) -> Guide<'s> {
        let Some(root) = root else {
            return Guide::default();
        };
        let mut alts = Vec::new();
        for alt in &self.alts {
            if types_of(alt).is_some_and(|ts| ts.contains(&"array"))
                && let Some(items) = alt.get("items").filter(|i| i.is_object() || i.is_boolean())
            {
                flatten(root, items, 0, &mut alts);
            }
        }
        Guide { alts }
    }

    fn child(&self, root: Option<&'s Json>, key: &str) -> Guide<'s> {
        let Some(root) = root else {
            return Guide::default();
        };
        let mut alts = Vec::new();
        for alt in &self.alts {
            if !types_of(alt).is_some_and(|ts| ts.contains(&"object")) {
                continue;
            }
            let schema = alt.get("properties").and_then(|p| p.get(key)).or_else(|| {
                alt.get("additionalProperties")
                    .filter(|a| a.is_object() || **a == Json::Bool(true))
            });
            if let Some(schema) = schema {
                flatten(root, schema, 0, &mut alts);
            }
        }
        Guide { alts }
    }
}

fn flatten<'s>(root: &'s Json, schema: &'s Json, depth: usize, out: &mut Vec<&'s Json>) {
    if depth > 32 {
        return;
    }
    match schema {
        Json::Bool(true) => out.push(schema),
        Json::Object(obj) => {
            if let Some(r) = obj.get("$ref").and_then(Json::as_str) {
                if let Some(target) = r.strip_prefix('#').and_then(|p| root.pointer(p)) {
                    flatten(root, target, depth + 1, out);
                }
                return;
            }
            let mut split = false;
            for key in ["anyOf", "oneOf", "allOf"] {
                if let Some(list) = obj.get(key).and_then(Json::as_array) {
                    split = true;
                    for alt in list {
                        flatten(root, alt, depth + 1, out);
                    }
                }
            }
            if !split {
                out.push(schema);
            }
        }
        _ => {}
    }
}

/// The JSON types an alternative allows; `None` = anything.
fn types_of(schema: &Json) -> Option<Vec<&str>> {
    fn json_type(v: &Json) -> &'static str {
        match v {
            Json::Null => "null",
            Json::Bool(_) => "boolean",
            Json::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Json::Number(_) => "number",
            Json::String(_) => "string",
            Json::Array(_) => "array",
            Json::Object(_) => "object",
        }
    }
    let obj = schema.as_object()?;
    if let Some(t) = obj.get("type") {
        return match t {
            Json::String(s) => Some(vec![s.as_str()]),
            Json::Array(list) => Some(list.iter().filter_map(Json::as_str).collect()),
            _ => None,
        };
    }
    if let Some(c) = obj.get("const") {
        return Some(vec![json_type(c)]);
    }
    if let Some(e) = obj.get("enum").and_then(Json::as_array) {
        return Some(e.iter().map(json_type).collect());
    }
    if [
        "properties",
        "additionalProperties",
        "patternProperties",
        "required",
    ]
    .iter()
    .any(|k| obj.contains_key(*k))
    {
        return Some(vec!["object"]);
    }
    if obj.contains_key("items") || obj.contains_key("prefixItems") {
        return Some(vec!["array"]);
    }
    None
}

fn type_matches(ty: &str, value: &Node) -> bool {
    match (&value.value, ty) {
        (Value::Null, "null") | (Value::Bool(_), "boolean") | (Value::Str(_), "string") => true,
        (Value::Int(_), "integer" | "number") | (Value::Float(_), "number") => true,
        (Value::Float(f), "integer") => f.fract() == 0.0,
        (Value::Map(_), "object") | (Value::Seq(_), "array") => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::time::{Duration, Instant};

    use serde_json::json;

    use super::*;

    fn src(text: &str) -> SourceFile {
        SourceFile::new("t.kdl", "t.kdl", text)
    }

    /// The plain convention, no schema.
    fn raw(text: &str) -> Node {
        parse_with_schema(FileId(0), &src(text), None)
            .unwrap_or_else(|e| panic!("{text:?}: {e:#?}"))
    }

    /// Guided by the config schema.
    fn guided(text: &str) -> Json {
        parse_all(FileId(0), &src(text))
            .unwrap_or_else(|e| panic!("{text:?}: {e:#?}"))
            .to_json()
    }

    fn errors(text: &str) -> Vec<Diagnostic> {
        match parse_all(FileId(0), &src(text)) {
            Ok(node) => panic!("{text:?} parsed: {:?}", node.to_json()),
            Err(ds) => ds,
        }
    }

    /// line:col of where a diagnostic points.
    fn at(text: &str, d: &Diagnostic) -> (usize, usize) {
        src(text).line_col(d.primary.as_ref().expect("a place").span.start)
    }

    fn line_col(text: &str, span: Span) -> (usize, usize) {
        src(text).line_col(span.start)
    }

    fn snippet(text: &str, span: Span) -> &str {
        &text[span.start..span.start + span.len]
    }

    #[test]
    fn nodes_are_keys_and_a_single_argument_is_a_scalar() {
        let n = raw("name \"Acme\"\ncount 3\nratio 0.5\non #true\noff #false\nnothing #null\n");
        assert_eq!(
            n.to_json(),
            json!({"name": "Acme", "count": 3, "ratio": 0.5, "on": true, "off": false, "nothing": null})
        );
    }

    #[test]
    fn several_arguments_are_a_list() {
        assert_eq!(
            raw("leads \"alice\" bob 3\n").to_json(),
            json!({"leads": ["alice", "bob", 3]})
        );
    }

    #[test]
    fn properties_then_children_make_a_mapping() {
        let n = raw(
            "alice telegram_id=100001 name=\"Alice Ng\" {\n  roles lead\n  labels location=berlin\n}\n",
        );
        assert_eq!(
            n.to_json(),
            json!({"alice": {"telegram_id": 100001, "name": "Alice Ng", "roles": "lead", "labels": {"location": "berlin"}}})
        );
        let keys: Vec<&str> = n
            .get("alice")
            .unwrap()
            .value
            .as_map()
            .unwrap()
            .iter()
            .map(|e| e.key.as_str())
            .collect();
        assert_eq!(keys, ["telegram_id", "name", "roles", "labels"]);
    }

    #[test]
    fn dash_children_are_a_list_of_anything() {
        let n = raw(
            "members {\n  - \"everyone\"\n  - person=carol\n  - { department engineering; direct #true }\n  - a b\n}\n",
        );
        assert_eq!(
            n.to_json(),
            json!({"members": ["everyone", {"person": "carol"}, {"department": "engineering", "direct": true}, ["a", "b"]]})
        );
        // Lists nest.
        assert_eq!(
            raw("x {\n  - {\n    - 1\n    - 2\n  }\n}").to_json(),
            json!({"x": [[1, 2]]})
        );
    }

    #[test]
    fn empty_nodes() {
        assert_eq!(
            raw("a\nb {}\nc { }\n").to_json(),
            json!({"a": null, "b": {}, "c": {}})
        );
        assert_eq!(raw("").to_json(), json!({}));
        assert_eq!(
            raw("// only a comment\n/* and another */\n").to_json(),
            json!({})
        );
    }

    #[test]
    fn comments_and_slashdash_are_ignored() {
        let n = raw("/* block /* nested */ */ a 1 // end\n/-b 2\nc /-3 4 /-k=5 /-{ d 1 }\n");
        assert_eq!(n.to_json(), json!({"a": 1, "c": 4}));
    }

    #[test]
    fn strings_of_every_kind() {
        let text = "a \"tab\\there\"\nb #\"raw \\n {\"#\nc \"\"\"\n    two\n    lines\n    \"\"\"\nd \"a \\\n   b\"\n\"quoted key\" x\n";
        assert_eq!(
            raw(text).to_json(),
            json!({"a": "tab\there", "b": "raw \\n {", "c": "two\nlines", "d": "a b", "quoted key": "x"})
        );
    }

    #[test]
    fn duplicate_keys_are_kept_in_order() {
        let n = raw("a 1\nb k=1 k=2 { k 3 }\na 2\n");
        let keys: Vec<&str> = n.as_map().unwrap().iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["a", "b", "a"]);
        let inner: Vec<i64> = n
            .get("b")
            .unwrap()
            .value
            .as_map()
            .unwrap()
            .iter()
            .map(|e| match e.value.value {
                Value::Int(i) => i,
                _ => panic!(),
            })
            .collect();
        assert_eq!(inner, [1, 2, 3]);
        // to_json keeps the first; the loader reports the rest.
        assert_eq!(n.to_json(), json!({"a": 1, "b": {"k": 1}}));
    }

    #[test]
    fn spans_of_keys_and_values() {
        let text = "people {\n    alice telegram_id=100001 name=\"Alice Ng\"\n    bob {\n        department \"sales\"\n    }\n}\n";
        let n = raw(text);
        let people = &n.get("people").unwrap().value;
        let alice = people.get("alice").unwrap();
        assert_eq!(line_col(text, alice.key_span), (2, 5));
        assert_eq!(snippet(text, alice.key_span), "alice");
        let id = alice.value.get("telegram_id").unwrap();
        assert_eq!(line_col(text, id.key_span), (2, 11));
        assert_eq!(snippet(text, id.key_span), "telegram_id");
        assert_eq!(line_col(text, id.value.span), (2, 23));
        assert_eq!(snippet(text, id.value.span), "100001");
        let name = alice.value.get("name").unwrap();
        assert_eq!(snippet(text, name.value.span), "\"Alice Ng\"");
        let dept = people.get("bob").unwrap().value.get("department").unwrap();
        assert_eq!(line_col(text, dept.key_span), (4, 9));
        assert_eq!(line_col(text, dept.value.span), (4, 20));
        assert_eq!(snippet(text, dept.value.span), "\"sales\"");
        // Pointers resolve to the same places.
        let (node, found) = n.pointer("/people/bob/department");
        assert!(found);
        assert_eq!(line_col(text, node.span), (4, 20));
    }

    #[test]
    fn spans_survive_blanked_comments_and_wide_characters() {
        let text = "/* ünïcödé\n   comment */ title \"Łódź\" // ☃\nx /* ⌘ */ 1\n";
        let n = raw(text);
        let title = n.get("title").unwrap();
        assert_eq!(line_col(text, title.key_span), (2, 15));
        assert_eq!(snippet(text, title.value.span), "\"Łódź\"");
        let x = n.get("x").unwrap();
        assert_eq!(snippet(text, x.value.span), "1");
        assert_eq!(line_col(text, x.value.span), (3, 11));
    }

    #[test]
    fn integers_beyond_i64_and_non_finite_floats_are_refused() {
        let text = "big 9223372036854775808\nok -9223372036854775808\n";
        let ds = errors(text);
        assert_eq!(ds.len(), 1);
        assert_eq!(ds[0].code, codes::INVALID_VALUE);
        assert_eq!(at(text, &ds[0]), (1, 5));
        let ds = errors("x #inf\n");
        assert_eq!(ds[0].code, codes::INVALID_VALUE);
        assert_eq!(
            raw("ok -9223372036854775808\nhex 0xff\n").to_json(),
            json!({"ok": i64::MIN, "hex": 255})
        );
    }

    #[test]
    fn an_argument_with_properties_or_children_is_an_error() {
        let text = "people {\n  alice 100001 name=\"Alice\"\n}\n";
        let ds = errors(text);
        assert_eq!(ds.len(), 1);
        assert_eq!(ds[0].code, codes::SYNTAX);
        assert!(
            ds[0].message.contains("both arguments and properties"),
            "{}",
            ds[0].message
        );
        assert_eq!(at(text, &ds[0]), (2, 9));
        assert!(
            ds[0]
                .hint
                .as_deref()
                .unwrap()
                .contains("telegram_id=100001")
        );
        let ds = errors("a 1 {\n  b 2\n}\n");
        assert!(ds[0].message.contains("both arguments and a child block"));
    }

    #[test]
    fn list_items_and_named_children_do_not_mix() {
        let text = "members {\n  - everyone\n  person carol\n}\n";
        let ds = errors(text);
        assert_eq!(ds.len(), 1);
        assert_eq!(at(text, &ds[0]), (3, 3));
        assert_eq!(ds[0].secondary.len(), 1);
        let ds = errors("members role=x {\n  - everyone\n}\n");
        assert!(ds[0].message.contains("cannot have properties"));
    }

    #[test]
    fn type_annotations_are_refused() {
        let text = "until (date)\"2026-01-31\"\n";
        let ds = errors(text);
        assert_eq!(ds[0].code, codes::SYNTAX);
        assert!(ds[0].message.contains("type annotations"));
        assert_eq!(at(text, &ds[0]), (1, 8));
    }

    // --- schema-guided lists -------------------------------------------

    #[test]
    fn a_single_value_where_a_list_is_expected_becomes_a_list() {
        let j = guided(
            "roles {\n  moderator rights=\"delete_messages\"\n  owner rights=all\n  lead { rights change_info pin_messages; }\n}\n",
        );
        assert_eq!(
            j["roles"]["moderator"]["rights"],
            json!(["delete_messages"])
        );
        assert_eq!(j["roles"]["owner"]["rights"], json!("all"));
        assert_eq!(
            j["roles"]["lead"]["rights"],
            json!(["change_info", "pin_messages"])
        );
        let j = guided(
            "chats {\n  all-hands {\n    members everyone\n    banned person=mallory\n  }\n}\n",
        );
        assert_eq!(j["chats"]["all-hands"]["members"], json!(["everyone"]));
        assert_eq!(
            j["chats"]["all-hands"]["banned"],
            json!([{"person": "mallory"}])
        );
        // Properties too.
        let j = guided(
            "people {\n  bob {\n    grants role=moderator chats=support until=\"2026-12-31\"\n  }\n}\n",
        );
        assert_eq!(
            j["people"]["bob"]["grants"],
            json!([{"role": "moderator", "chats": ["support"], "until": "2026-12-31"}])
        );
    }

    #[test]
    fn a_single_mapping_where_a_list_is_expected_becomes_a_list() {
        let j = guided(
            "chats {\n  eng {\n    admins role=eng-lead {\n      members leads_of=engineering\n    }\n  }\n}\n",
        );
        assert_eq!(
            j["chats"]["eng"]["admins"],
            json!([{"role": "eng-lead", "members": [{"leads_of": "engineering"}]}])
        );
        // Inside a rule, `except` is a list of selectors as well.
        let j = guided(
            "chats {\n  x {\n    members {\n      - everyone\n      - except=everyone\n    }\n  }\n}\n",
        );
        assert_eq!(
            j["chats"]["x"]["members"],
            json!(["everyone", {"except": ["everyone"]}])
        );
    }

    #[test]
    fn empty_nodes_become_what_the_schema_expects() {
        let j = guided(
            "roles {\n  read-only {\n    permissions\n  }\n}\nchats {\n  x {\n    topics\n    members {}\n    title\n  }\n}\n",
        );
        assert_eq!(j["roles"]["read-only"]["permissions"], json!([]));
        assert_eq!(j["chats"]["x"]["topics"], json!({}));
        assert_eq!(j["chats"]["x"]["members"], json!([]));
        assert_eq!(j["chats"]["x"]["title"], json!(null));
    }

    #[test]
    fn values_that_fit_are_left_alone() {
        let j = guided(
            "people {\n  m telegram_id=100099 status=offboarded\n}\npolicies {\n  lockout deny\n  min_admins 2\n}\n",
        );
        assert_eq!(
            j,
            json!({"people": {"m": {"telegram_id": 100099, "status": "offboarded"}}, "policies": {"lockout": "deny", "min_admins": 2}})
        );
        // An unknown key is not reshaped (the schema check reports it).
        assert_eq!(
            guided("chats {\n  x {\n    memberz everyone\n  }\n}\n")["chats"]["x"]["memberz"],
            json!("everyone")
        );
    }

    #[test]
    fn a_wrapped_value_keeps_its_span() {
        let text = "chats {\n  x {\n    members everyone\n  }\n}\n";
        let n = parse_all(FileId(0), &src(text)).unwrap();
        let (list, _) = n.pointer("/chats/x/members");
        let (item, found) = n.pointer("/chats/x/members/0");
        assert!(found);
        assert_eq!(list.span, item.span);
        assert_eq!(line_col(text, item.span), (3, 13));
        assert_eq!(snippet(text, item.span), "everyone");
    }

    #[test]
    fn the_design_example_matches_its_yaml_meaning() {
        let text = r#"
org name=Acme {
    telegram bot=acme_org_bot api_url="https://api.telegram.org"
}
people {
    alice telegram_id=100001 name="Alice Ng" username=alice_ng department=platform roles=eng-lead
    bob telegram_id=100002 department=sales {
        grants role=moderator chats=support until="2026-12-31" reason="on-call rotation"
    }
    mallory telegram_id=100099 status=offboarded
}
departments {
    engineering name=Engineering leads=alice
    platform name=Platform parent=engineering
}
roles {
    eng-lead title=Lead {
        rights change_info delete_messages restrict_members invite_users pin_messages manage_topics
    }
    owner-delegate title=Admin rights=all
    read-only { permissions; }
}
chats {
    eng id=-1001000000001 template=team-chat title=Engineering forum=#true {
        members department=engineering
        admins {
            - role=eng-lead { members leads_of=engineering; }
            - role=owner-delegate { members person=carol; }
        }
        topics {
            releases name=Releases icon_color=7322096
        }
        commands command=oncall description="Who is on call"
    }
}
policies min_admins=2 lockout=deny {
    removals max_count=20 max_percent=10
}
"#;
        let expected = json!({
            "org": {"name": "Acme", "telegram": {"bot": "acme_org_bot", "api_url": "https://api.telegram.org"}},
            "people": {
                "alice": {"telegram_id": 100001, "name": "Alice Ng", "username": "alice_ng", "department": "platform", "roles": ["eng-lead"]},
                "bob": {"telegram_id": 100002, "department": "sales", "grants": [{"role": "moderator", "chats": ["support"], "until": "2026-12-31", "reason": "on-call rotation"}]},
                "mallory": {"telegram_id": 100099, "status": "offboarded"}
            },
            "departments": {
                "engineering": {"name": "Engineering", "leads": ["alice"]},
                "platform": {"name": "Platform", "parent": "engineering"}
            },
            "roles": {
                "eng-lead": {"title": "Lead", "rights": ["change_info", "delete_messages", "restrict_members", "invite_users", "pin_messages", "manage_topics"]},
                "owner-delegate": {"title": "Admin", "rights": "all"},
                "read-only": {"permissions": []}
            },
            "chats": {
                "eng": {
                    "id": -1001000000001i64, "template": "team-chat", "title": "Engineering", "forum": true,
                    "members": [{"department": "engineering"}],
                    "admins": [
                        {"role": "eng-lead", "members": [{"leads_of": "engineering"}]},
                        {"role": "owner-delegate", "members": [{"person": "carol"}]}
                    ],
                    "topics": {"releases": {"name": "Releases", "icon_color": 7322096}},
                    "commands": [{"command": "oncall", "description": "Who is on call"}]
                }
            },
            "policies": {"min_admins": 2, "lockout": "deny", "removals": {"max_count": 20, "max_percent": 10}}
        });
        let got = guided(text);
        assert_eq!(got, expected);
        // And the typed model takes it.
        let config: crate::spec::Config = serde_json::from_value(got).expect("deserialises");
        assert_eq!(config.people.len(), 3);
    }

    // --- syntax errors ---------------------------------------------------

    #[test]
    fn syntax_errors_point_at_the_place_with_a_hint() {
        let text = "org {\n  name \"Acme\n}\n";
        let ds = errors(text);
        assert_eq!(ds[0].code, codes::SYNTAX);
        assert_eq!(at(text, &ds[0]), (2, 8));
        assert!(ds[0].hint.is_some());

        let text = "a 1\n}\n";
        let ds = errors(text);
        assert_eq!(ds.len(), 1);
        assert!(ds[0].message.contains("closes nothing"));
        assert_eq!(at(text, &ds[0]), (2, 1));

        let text = "a {\n  b 1\n";
        let ds = errors(text);
        assert!(ds[0].message.contains("never closed"));
        assert_eq!(at(text, &ds[0]), (1, 3));

        let text = "a 1 )\n";
        assert_eq!(at(text, &errors(text)[0]), (1, 5));
        let text = "a 1\"x\"\n";
        assert!(errors(text)[0].message.contains("space"));
        let text = "a k=\n";
        assert!(errors(text)[0].message.contains("expected a value"));
        let text = "a [1, 2]\n";
        assert!(errors(text)[0].message.contains("`[`"));
    }

    #[test]
    fn kdl_parser_errors_become_diagnostics_with_a_place() {
        // The scanner finds these first; the parser's own errors, should one
        // get through, are mapped the same way.
        let text = "a 1\nb 1.\nc 0x\n";
        let err = KdlDocument::parse_v2(text).expect_err("invalid");
        let ds = parser_errors(FileId(0), text, &err);
        assert!(ds.iter().all(|d| d.code == codes::SYNTAX
            && d.hint.is_some()
            && d.message.starts_with("invalid KDL: ")));
        let lines: BTreeSet<usize> = ds.iter().map(|d| at(text, d).0).collect();
        assert!(
            lines.contains(&2) && lines.contains(&3),
            "{lines:?} {ds:#?}"
        );
    }

    #[test]
    fn bad_escapes_and_indentation_are_found_by_the_scanner() {
        let text = "a \"ok \\u{1F600} \\n\"\nb \"x\\qy\"\n";
        let ds = errors(text);
        assert_eq!(ds.len(), 1);
        assert!(ds[0].message.contains("invalid escape"));
        assert_eq!(at(text, &ds[0]), (2, 5));
        assert_eq!(
            errors("a \"\\u{110000}\"\n")[0].message,
            "invalid KDL: invalid escape in a string"
        );
        assert!(
            errors("a \"\\u{D800}\"\n")[0]
                .message
                .contains("invalid escape")
        );
        let text = "a \"\"\"\n    ok\n  less\n    \"\"\"\n";
        let ds = errors(text);
        assert!(ds[0].message.contains("indented less"));
        assert_eq!(at(text, &ds[0]), (3, 1));
        let text = "a #\"\"\"\n  x\n  y \"\"\"#\n";
        assert!(errors(text)[0].message.contains("own"));
        assert!(
            errors("a \"x\u{202E}y\"\n")[0]
                .message
                .contains("control or direction")
        );
        assert!(
            errors("a #\"x\u{0007}y\"#\n")[0]
                .message
                .contains("control or direction")
        );
        // Blank lines need no indentation; escaped newlines join lines.
        assert_eq!(
            raw("a \"\"\"\n    x\n\n    y \\\n  z\n    \"\"\"\n").to_json(),
            json!({"a": "x\n\ny z"})
        );
    }

    #[test]
    fn numbers_are_checked_by_the_scanner() {
        let ok =
            "a 1 -2 +3 1_000 1_ 0.5 -1.5e3 1E-2 0x1F -0xff_ff 0o17 0b101 1234567890123456789\n";
        assert_eq!(raw(ok).to_json()["a"].as_array().map(Vec::len), Some(13));
        for bad in [
            "a 1.\n",
            "a .5\n",
            "a 1x\n",
            "a 0x\n",
            "a 0b2\n",
            "a 1.5--1\n",
            "a 1e\n",
            "a 1._5\n",
            "a -.5\n",
        ] {
            let ds = errors(bad);
            assert!(ds[0].message.contains("invalid number"), "{bad}: {ds:#?}");
            assert_eq!(at(bad, &ds[0]), (1, 3), "{bad}");
        }
        // Beyond 128 bits the scanner says so; beyond 64 the conversion does.
        assert!(
            errors("a 1000000000000000000000000000000000000000\n")[0]
                .message
                .contains("invalid number")
        );
        assert_eq!(
            errors("a 100000000000000000000\n")[0].code,
            codes::INVALID_VALUE
        );
    }

    #[test]
    fn several_errors_are_reported_together() {
        let text = "a 1 )\nb {\n  c [\n}\nd k=\n";
        let ds = errors(text);
        assert_eq!(ds.len(), 3, "{ds:#?}");
        let lines: Vec<usize> = ds.iter().map(|d| at(text, d).0).collect();
        assert_eq!(lines, [1, 3, 5]);
    }

    #[test]
    fn kdl_1_syntax_gets_a_kdl_2_hint() {
        for (text, place) in [
            ("forum true\n", (1, 7)),
            ("x k=null\n", (1, 5)),
            ("a r\"raw\"\n", (1, 4)),
            ("a r#\"raw\"#\n", (1, 4)),
            ("/- kdl-version 1\na 1\n", (1, 1)),
        ] {
            let ds = errors(text);
            assert_eq!(ds[0].code, codes::SYNTAX, "{text}");
            assert_eq!(at(text, &ds[0]), place, "{text}");
            assert!(
                ds[0].hint.as_deref().unwrap().contains("KDL 2"),
                "{text}: {:?}",
                ds[0].hint
            );
        }
        // Quoted, the words are just strings.
        assert_eq!(raw("forum \"true\"\n").to_json(), json!({"forum": "true"}));
    }

    // --- hostile input -----------------------------------------------------

    fn quickly<T>(limit: Duration, f: impl FnOnce() -> T) -> T {
        let t = Instant::now();
        let out = f();
        assert!(t.elapsed() < limit, "took {:?}", t.elapsed());
        out
    }

    #[test]
    fn deep_nesting_is_refused_quickly() {
        let text = format!("{}{}", "a {\n".repeat(10_000), "}\n".repeat(10_000));
        let ds = quickly(Duration::from_millis(500), || errors(&text));
        assert_eq!(ds.len(), 1);
        assert_eq!(ds[0].code, codes::TOO_DEEP);
        assert_eq!(at(&text, &ds[0]), (65, 3));
        // Unclosed, and as list items.
        let ds = errors(&"- {".repeat(10_000));
        assert_eq!(ds[0].code, codes::TOO_DEEP);
    }

    /// Why the scanner exists (issue 15 asked to drop it if it could go):
    /// the `kdl` crate alone, on the very thread and stack orgform gives
    /// it, crashes the whole process on hostile input that the scanner
    /// turns into one diagnostic. Each case runs in a child process (this
    /// test binary again), since a stack overflow aborts the process.
    #[test]
    fn the_kdl_crate_alone_crashes_on_input_the_scanner_refuses() {
        let deep = "a{".repeat(1_000_000);
        let stray = "}".repeat(1_000_000);
        if let Ok(case) = std::env::var("ORGFORM_KDL_UNGUARDED") {
            let text = if case == "deep" { deep } else { stray };
            // Reached only if the crate survived; the parent then fails.
            let _ = run_parser(&text);
            return;
        }
        for (case, text) in [("deep", &deep), ("stray", &stray)] {
            let out = std::process::Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "config::kdl::tests::the_kdl_crate_alone_crashes_on_input_the_scanner_refuses",
                    "--test-threads=1",
                ])
                .env("ORGFORM_KDL_UNGUARDED", case)
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                !out.status.success() && stderr.contains("overflowed its stack"),
                "{case}: the unguarded parser survived: {:?} {stderr}",
                out.status
            );
            // Guarded, the same text is one diagnostic, and nothing crashes.
            let ds = errors(text);
            assert!(!ds.is_empty() && ds.len() <= MAX_SYNTAX_ERRORS, "{case}");
        }
    }

    #[test]
    fn the_deepest_allowed_nesting_parses() {
        let text = format!(
            "{}x 1{}",
            "a {\n".repeat(MAX_DEPTH),
            "}\n".repeat(MAX_DEPTH)
        );
        let n = raw(&text);
        let pointer = format!("{}/x", "/a".repeat(MAX_DEPTH));
        assert!(n.pointer(&pointer).1);
        let text = format!(
            "{}x 1{}",
            "a {\n".repeat(MAX_DEPTH + 1),
            "}\n".repeat(MAX_DEPTH + 1)
        );
        assert_eq!(errors(&text)[0].code, codes::TOO_DEEP);
    }

    #[test]
    fn junk_the_parser_recurses_on_is_refused_without_overflowing() {
        // Each of these overflows an 8 MB stack inside the kdl parser.
        for junk in [
            "}",
            ")",
            "a=",
            "=",
            "(",
            "{}",
            "]",
            "/ ",
            "#x ",
            "/*",
            "#\"",
            "x \"\n",
            "x #\"\n",
            "\"\\q\"\n",
            "\"\"\"\nx\n \"\"\"\n",
            " --1 .5\n",
            "\"s\"/-1\n",
            "\"s\" 1.51e\n",
        ] {
            let text = junk.repeat(200_000 / junk.len());
            let ds = quickly(Duration::from_secs(2), || errors(&text));
            assert!(
                !ds.is_empty() && ds.len() <= MAX_SYNTAX_ERRORS,
                "{junk}: {}",
                ds.len()
            );
        }
    }

    #[test]
    fn long_comments_and_strings_do_not_overflow() {
        let stars = format!("/* {} */\na 1\n", "*".repeat(200_000));
        assert_eq!(
            quickly(Duration::from_secs(2), || raw(&stars)).to_json(),
            json!({"a": 1})
        );
        let nested = format!("{}{}\na 1\n", "/*".repeat(20_000), "*/".repeat(20_000));
        assert_eq!(raw(&nested).to_json(), json!({"a": 1}));
        let unclosed = format!("a 1\n{}", "/*".repeat(20_000));
        assert!(errors(&unclosed)[0].message.contains("never closed"));
        let long = format!("a \"{}\"\n", "x".repeat(500_000));
        assert_eq!(
            raw(&long).get("a").unwrap().value.as_str().map(str::len),
            Some(500_000)
        );
    }

    #[test]
    fn many_lexical_errors_do_not_overflow() {
        for bad in ["a 1. ", "a \"\\q\" ", "a 0x ", "a .5 ", "a 1_000x "] {
            let text = format!("{}\n", bad.repeat(20_000 / bad.len()));
            let ds = quickly(Duration::from_secs(20), || errors(&text));
            assert!(!ds.is_empty(), "{bad}");
        }
    }
}
