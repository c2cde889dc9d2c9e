//! Writing a created chat's id back into the config: the user provider
//! creates chats declared without `id` and records the new id in
//! orgform's state; `orgform import ids` puts `id: …` into the file that
//! declares the chat, as one inserted line (or one inserted entry of an
//! inline mapping), so the file keeps its formatting and comments.
//!
//! The edit is found from the spans the config loader keeps: the chat's
//! first key marks where the new entry goes and how it is indented. YAML
//! block and flow mappings and KDL children and properties are each
//! written in their own form. Every edited text is loaded again with the
//! rest of the config before anything is written: it must still be valid
//! and now give the chat that id.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::ImportError;
use crate::config::Value;
use crate::model::Model;
use crate::state::ChatId;

/// One file's new text and the chats it now names by id.
#[derive(Debug, PartialEq)]
pub struct Rewrite {
    pub path: PathBuf,
    /// As the user should see it.
    pub name: String,
    /// The file's text as the edit was made from it.
    pub before: String,
    pub text: String,
    pub chats: Vec<(String, ChatId)>,
}

/// The rewrites that give each chat in `created` (config key → id
/// recorded in state) its id, for chats the config still declares without
/// one. Chats the config names with an id, or no longer names, are left.
pub fn rewrites(
    model: &Model,
    created: &BTreeMap<String, ChatId>,
) -> Result<Vec<Rewrite>, ImportError> {
    let mut by_file: BTreeMap<u32, Vec<(usize, String, String, ChatId)>> = BTreeMap::new();
    for (key, id) in created {
        let Some(spec) = model.config.chats.get(key) else {
            continue;
        };
        if spec.id.is_some() {
            continue;
        }
        let pointer = format!("/chats/{}", crate::config::tree::escape_pointer_token(key));
        let (node, found) = model.root.pointer(&pointer);
        let Some(key_span) = model.root.key_span(&pointer) else {
            continue;
        };
        let Value::Map(entries) = &node.value else {
            continue;
        };
        let Some(first) = entries.first().filter(|_| found) else {
            return Err(ImportError::new(format!(
                "chats.{key} has no entries to put `id` beside"
            )));
        };
        let file = first.key_span.file;
        let text = &model.sources.get(file).text;
        let insert = insertion(
            text,
            key_span.start,
            first.key_span.start,
            first.key_span.len,
            is_kdl(&model.sources.get(file).name),
            *id,
        );
        by_file
            .entry(file.0)
            .or_default()
            .push((first.key_span.start, insert, key.clone(), *id));
    }
    let mut out = Vec::new();
    for (file, mut edits) in by_file {
        let source = model.sources.get(crate::config::FileId(file));
        // From the end, so earlier offsets stay right.
        edits.sort_by_key(|e| std::cmp::Reverse(e.0));
        let mut text = source.text.to_string();
        let mut chats = Vec::new();
        for (at, insert, key, id) in edits {
            text.insert_str(at, &insert);
            chats.push((key, id));
        }
        chats.reverse();
        out.push(Rewrite {
            path: source.path.clone(),
            name: source.name.clone(),
            before: source.text.to_string(),
            text,
            chats,
        });
    }
    Ok(out)
}

fn is_kdl(name: &str) -> bool {
    name.ends_with(".kdl")
}

/// What to insert before the chat's first key (at `first`): a line of its
/// own, indented like that key, when the key starts its line; an entry of
/// the inline mapping (YAML flow, KDL property or child on one line)
/// otherwise.
fn insertion(
    text: &str,
    chat_key: usize,
    first: usize,
    first_len: usize,
    kdl: bool,
    id: ChatId,
) -> String {
    let line_start = text[..first].rfind('\n').map_or(0, |i| i + 1);
    let indent = &text[line_start..first];
    let own_line = indent.chars().all(|c| c == ' ' || c == '\t') && chat_key < line_start;
    if own_line {
        if kdl {
            format!("id {id}\n{indent}")
        } else {
            format!("id: {id}\n{indent}")
        }
    } else if kdl {
        let property = text[first + first_len..].starts_with('=');
        if property {
            format!("id={id} ")
        } else {
            format!("id {id}; ")
        }
    } else {
        format!("id: {id}, ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(files: &[(&str, &str)]) -> Model {
        let loaded = crate::config::load::load_sources(
            files
                .iter()
                .map(|(n, t)| (n.to_string(), PathBuf::from(n), t.as_bytes().to_vec()))
                .collect(),
        );
        crate::model::from_loaded(loaded, jiff::Timestamp::UNIX_EPOCH)
            .unwrap_or_else(|e| panic!("{:?}", e.diagnostics))
    }

    fn written(files: &[(&str, &str)], created: &[(&str, ChatId)]) -> Vec<(String, String)> {
        let created = created.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        rewrites(&model(files), &created)
            .unwrap()
            .into_iter()
            .map(|r| (r.name, r.text))
            .collect()
    }

    const ORG: &str = "org:\n  name: Acme\n  telegram: {bot: acme_bot, provider: both}\n";

    #[test]
    fn yaml_block_and_flow_mappings_keep_their_comments_and_form() {
        let chats = "chats:\n  # pages go here\n  incidents:\n    type: supergroup   # a forum later\n    title: Incidents\n  ops: {type: supergroup, title: Ops}  # inline\n  known:\n    id: -1001\n    type: supergroup\n";
        let out = written(
            &[("org.yaml", ORG), ("chats.yaml", chats)],
            &[
                ("incidents", -1002000000007),
                ("ops", -1002000000008),
                ("known", -1009),
                ("gone", -1010),
            ],
        );
        assert_eq!(out.len(), 1, "only the file declaring them: {out:?}");
        assert_eq!(
            out[0].1,
            "chats:\n  # pages go here\n  incidents:\n    id: -1002000000007\n    type: supergroup   # a forum later\n    title: Incidents\n  ops: {id: -1002000000008, type: supergroup, title: Ops}  # inline\n  known:\n    id: -1001\n    type: supergroup\n"
        );
        // And it reads back with the ids.
        let again = model(&[("org.yaml", ORG), ("chats.yaml", &out[0].1)]);
        assert_eq!(again.config.chats["incidents"].id, Some(-1002000000007));
        assert_eq!(again.config.chats["ops"].id, Some(-1002000000008));
    }

    #[test]
    fn kdl_children_and_properties_keep_their_comments_and_form() {
        let chats = "chats {\n    // pages go here\n    incidents {\n        type supergroup // later a forum\n        title Incidents\n    }\n    ops type=supergroup title=Ops\n}\n";
        let out = written(
            &[("org.yaml", ORG), ("chats.kdl", chats)],
            &[("incidents", -1002000000007), ("ops", -1002000000008)],
        );
        assert_eq!(
            out[0].1,
            "chats {\n    // pages go here\n    incidents {\n        id -1002000000007\n        type supergroup // later a forum\n        title Incidents\n    }\n    ops id=-1002000000008 type=supergroup title=Ops\n}\n"
        );
        let again = model(&[("org.yaml", ORG), ("chats.kdl", &out[0].1)]);
        assert_eq!(again.config.chats["incidents"].id, Some(-1002000000007));
        assert_eq!(again.config.chats["ops"].id, Some(-1002000000008));
    }
}
