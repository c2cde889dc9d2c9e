//! Reading typed values straight from the raw tree: a serde
//! `Deserializer` over [`Node`], so the typed config is built from the
//! parsed files without first copying them into a `serde_json::Value`.
//!
//! It reads the tree exactly as `serde_json::from_value(node.to_json())`
//! would: non-negative integers visit as `u64` and negative ones as `i64`,
//! a float that is not finite is `null`, `null` is `None`, a string or a
//! one-key mapping is an enum variant, and a mapping's first entry for a
//! key wins (the loader has reported and removed the rest).

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};
use serde::forward_to_deserialize_any;

use super::tree::{Entry, Node, Value};

/// What went wrong reading the tree into a type (the schema normally
/// catches it first).
pub type Error = de::value::Error;

/// Deserialize a `T` from the tree.
pub fn from_tree<'de, T: serde::Deserialize<'de>>(node: &'de Node) -> Result<T, Error> {
    T::deserialize(node)
}

impl<'de> Deserializer<'de> for &'de Node {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match &self.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Int(i) if *i >= 0 => visitor.visit_u64(*i as u64),
            Value::Int(i) => visitor.visit_i64(*i),
            Value::Float(f) if f.is_finite() => visitor.visit_f64(*f),
            Value::Float(_) => visitor.visit_unit(),
            Value::Str(s) => visitor.visit_borrowed_str(s),
            Value::Seq(items) => {
                let mut seq = Seq(items.iter());
                let value = visitor.visit_seq(&mut seq)?;
                match seq.0.len() {
                    0 => Ok(value),
                    _ => Err(de::Error::invalid_length(items.len(), &"fewer elements")),
                }
            }
            Value::Map(entries) => {
                let mut map = Map {
                    entries: entries.iter(),
                    value: None,
                };
                let value = visitor.visit_map(&mut map)?;
                match map.entries.len() {
                    0 => Ok(value),
                    _ => Err(de::Error::invalid_length(entries.len(), &"fewer entries")),
                }
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Null => visitor.visit_none(),
            Value::Float(f) if !f.is_finite() => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match &self.value {
            Value::Str(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            Value::Map(entries) if entries.len() == 1 => visitor.visit_enum(Variant(&entries[0])),
            _ => Err(de::Error::invalid_type(
                de::Unexpected::Other(self.type_name()),
                &"a string or a mapping with one key",
            )),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier
    }
}

struct Seq<'de>(std::slice::Iter<'de, Node>);

impl<'de> SeqAccess<'de> for Seq<'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        self.0.next().map(|n| seed.deserialize(n)).transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct Map<'de> {
    entries: std::slice::Iter<'de, Entry>,
    value: Option<&'de Node>,
}

impl<'de> MapAccess<'de> for Map<'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some(entry) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some(&entry.value);
        let key: de::value::BorrowedStrDeserializer<'de, Error> =
            de::value::BorrowedStrDeserializer::new(&entry.key);
        seed.deserialize(key).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        match self.value.take() {
            Some(v) => seed.deserialize(v),
            None => Err(de::Error::custom("a value without a key")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// An enum written as a one-key mapping: `{variant: content}`.
struct Variant<'de>(&'de Entry);

impl<'de> EnumAccess<'de> for Variant<'de> {
    type Error = Error;
    type Variant = &'de Node;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, &'de Node), Error> {
        let key: de::value::BorrowedStrDeserializer<'de, Error> =
            de::value::BorrowedStrDeserializer::new(&self.0.key);
        Ok((seed.deserialize(key)?, &self.0.value))
    }
}

impl<'de> VariantAccess<'de> for &'de Node {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        match self.value {
            Value::Null => Ok(()),
            _ => Err(de::Error::invalid_type(
                de::Unexpected::Other(self.type_name()),
                &"a unit variant",
            )),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_any(visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_any(visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{FileId, SourceFile};

    fn tree(text: &str) -> Node {
        crate::config::yaml::parse(FileId(0), &SourceFile::new("t.yaml", "t.yaml", text))
            .expect("parses")
    }

    fn same(node: &Node) {
        let direct: Result<crate::spec::Config, _> = from_tree(node);
        let json: Result<crate::spec::Config, _> = serde_json::from_value(node.to_json());
        match (direct, json) {
            (Ok(a), Ok(b)) => assert_eq!(a, b),
            (Err(_), Err(_)) => {}
            (a, b) => panic!("differ: {a:?} / {b:?}"),
        }
    }

    /// The typed config read from the tree equals the one read through
    /// JSON, for the example orgs and for odd values.
    #[test]
    fn same_as_through_json() {
        for dir in ["examples/acme", "examples/acme-kdl", "examples/minimal"] {
            let loaded = crate::config::load(std::path::Path::new(dir));
            same(loaded.root.as_ref().expect("the example loads"));
        }
        for text in [
            "people:\n  a:\n    telegram_id: 5\n    labels: {x: y}\n    grants: [{role: r, chats: [c], until: 2026-01-01}]\nchats:\n  c:\n    id: -100\n    type: supergroup\n    members: [everyone, {department: d}, {except: [{person: a}]}]\n    admins: [{role: r, members: [{leads_of: d}]}]\n",
            "org: {name: x, telegram: {alerts_chat: -5}}\nroles: {r: {rights: all}, s: {rights: [pin_messages]}}\n",
            "org: {name: x, telegram: {alerts_chat: ops}}\nchats: {c: {slow_mode: 2.5e1}}\n",
            "chats: {c: {id: 1.5}}\n",
            "people: {a: {telegram_id: -3, status: offboarded}}\n",
        ] {
            same(&tree(text));
        }
    }
}
