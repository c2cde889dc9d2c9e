//! The raw config tree: YAML and KDL both parse into [`Node`]s that keep the
//! byte span of every value and every key, so that schema errors, reference
//! errors and duplicates can all point at `file:line:col`.
//!
//! The JSON Schema validates the tree itself (`instance`) and the typed
//! model deserialises from it (`tree_de`); it also converts losslessly to a
//! `serde_json::Value` ([`Node::to_json`]), which is what an invalid config
//! is pruned on. JSON Pointer paths from either step are mapped back to
//! spans with [`Node::pointer`].

use super::source::Span;

/// A value with the span it was read from.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
}

/// A mapping entry: the key keeps its own span, for "unknown key" and
/// "duplicate key" diagnostics.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_span: Span,
    pub value: Node,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Entries in source order. Duplicates are kept here (the loader reports
    /// them with both spans); `to_json` keeps the first.
    Map(Vec<Entry>),
}

impl Node {
    pub fn new(value: Value, span: Span) -> Self {
        Node { value, span }
    }

    pub fn as_map(&self) -> Option<&[Entry]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The entry for `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.as_map()?.iter().find(|e| e.key == key)
    }

    /// A short name of the value's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "number",
            Value::Str(_) => "string",
            Value::Seq(_) => "list",
            Value::Map(_) => "mapping",
        }
    }

    /// Convert to JSON. For duplicate keys the first occurrence wins; the
    /// duplicate is a diagnostic of its own.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(J::Number)
                .unwrap_or(J::Null),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => {
                let mut map = serde_json::Map::new();
                for e in entries {
                    if !map.contains_key(&e.key) {
                        map.insert(e.key.clone(), e.value.to_json());
                    }
                }
                J::Object(map)
            }
        }
    }

    /// Whether `self.to_json() == other.to_json()`, without building
    /// either: spans and the order of a mapping's keys do not count, a
    /// float that is not finite is `null`, and a mapping's first entry for
    /// a key is the one compared.
    pub fn same_json(&self, other: &Node) -> bool {
        let null = |n: &Node| match n.value {
            Value::Null => true,
            Value::Float(f) => !f.is_finite(),
            _ => false,
        };
        match (&self.value, &other.value) {
            _ if null(self) || null(other) => null(self) && null(other),
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Str(a), Value::Str(b)) => a == b,
            // serde_json numbers: an integer never equals a float.
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::Seq(a), Value::Seq(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same_json(y))
            }
            // Large mappings through JSON: the scans below are quadratic.
            (Value::Map(a), Value::Map(b)) if a.len() > 16 || b.len() > 16 => {
                self.to_json() == other.to_json()
            }
            (Value::Map(a), Value::Map(b)) => {
                let first = |entries: &'_ [Entry], i: usize| {
                    !entries[..i].iter().any(|e| e.key == entries[i].key)
                };
                let keys =
                    |entries: &[Entry]| (0..entries.len()).filter(|&i| first(entries, i)).count();
                keys(a) == keys(b)
                    && (0..a.len()).filter(|&i| first(a, i)).all(|i| {
                        b.iter()
                            .find(|e| e.key == a[i].key)
                            .is_some_and(|e| e.value.same_json(&a[i].value))
                    })
            }
            _ => false,
        }
    }

    /// Follow a JSON Pointer (`/chats/eng/admins/0/role`). Returns the deepest
    /// node reached, and whether the whole pointer was resolved; a partial
    /// match still gives a useful place to point at.
    pub fn pointer(&self, pointer: &str) -> (&Node, bool) {
        let mut node = self;
        if pointer.is_empty() {
            return (node, true);
        }
        for raw in pointer.trim_start_matches('/').split('/') {
            let token = raw.replace("~1", "/").replace("~0", "~");
            let next = match &node.value {
                Value::Map(entries) => entries.iter().find(|e| e.key == token).map(|e| &e.value),
                Value::Seq(items) => token.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => None,
            };
            match next {
                Some(n) => node = n,
                None => return (node, false),
            }
        }
        (node, true)
    }

    /// The span of the key that leads to the node at `pointer`, if the last
    /// step is a mapping key. Used to point at unknown or duplicate keys.
    pub fn key_span(&self, pointer: &str) -> Option<Span> {
        let (parent, last) = pointer.rsplit_once('/')?;
        let (node, ok) = self.pointer(parent);
        if !ok {
            return None;
        }
        let key = last.replace("~1", "/").replace("~0", "~");
        node.get(&key).map(|e| e.key_span)
    }
}

/// Escape one JSON Pointer token.
pub fn escape_pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{FileId, SourceFile};

    fn tree(text: &str) -> Node {
        crate::config::yaml::parse(FileId(0), &SourceFile::new("t.yaml", "t.yaml", text))
            .expect("parses")
    }

    /// `same_json` is equality of the JSON copies.
    #[test]
    fn same_json_is_json_equality() {
        let texts = [
            "a: 1\nb: [x, {c: d}]\n",
            "b: [x, {c: d}]\na: 1\n",
            "a: 1.0\nb: [x, {c: d}]\n",
            "a: 1\nb: [x, {c: e}]\n",
            "a: 1\nb: [x]\n",
            "a: '1'\nb: [x, {c: d}]\n",
            "a: ~\n",
            "a:\n",
            "a: 1\na: 2\n",
            "a: 1\n",
            "a: 2\n",
            "{}\n",
        ];
        for x in texts {
            for y in texts {
                let (x, y) = (tree(x), tree(y));
                assert_eq!(x.same_json(&y), x.to_json() == y.to_json(), "{x:?} / {y:?}");
            }
        }
    }
}
