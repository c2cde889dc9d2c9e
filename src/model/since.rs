//! The config at an older revision, rebuilt from the head's typed config
//! and only the files that differ between the two: what `plan
//! --changed-since` compares against, without parsing, validating and
//! checking the whole config a second time.
//!
//! Config sections that hold named things (`people`, `departments`,
//! `roles`, `templates`, `chats`, `folders`) are spliced entry by entry: an entry of a
//! changed file takes its value at the base revision (or is dropped if the
//! base has no such entry); every entry of an unchanged file is the head's,
//! already typed. Singular sections (`org`, `policies`, `rollout`) touched
//! by a changed file are rebuilt from the head's unchanged files plus the
//! base's changed ones. Any section this module does not know, and any
//! base that would not have loaded (a file that does not parse, an entry
//! that does not read into its type, a name defined twice), is a
//! [`Fallback`]: the caller then loads the base in full, which reports the
//! problem exactly as before. The result is therefore the config a full
//! load of the base gives (the tests compare the two), except that the
//! base's own checks (references to unknown names, and the like) are not
//! run: resolution skips unknown names, and the base only decides which
//! chats to read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::config::tree::{Entry, Node, Value};
use crate::config::{FileId, Loaded};
use crate::spec::Config;

use super::Model;

/// Why the base cannot be rebuilt from the head: load it in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fallback(pub String);

/// Named sections spliced entry by entry.
const NAMED: &[&str] = &[
    "people",
    "departments",
    "roles",
    "templates",
    "chats",
    "folders",
];
/// Singular sections rebuilt whole when a changed file touches them.
const SINGULAR: &[&str] = &["org", "policies", "rollout"];

/// The base config, and which chats it can resolve differently from the
/// head.
#[derive(Debug)]
pub struct Base {
    pub config: Config,
    /// Config keys (at either side) of the chats whose resolution the
    /// change can touch: those changed, those using a changed template,
    /// and those with a photo (its file may differ without the config);
    /// `None` when it can touch any chat (a person, a department, a role
    /// or `org` changed).
    pub chats: Option<BTreeSet<String>>,
}

/// The base config: `head` with the entries of the files in `changed`
/// (head file ids: the files that differ at the head, added ones included)
/// replaced by what the base's versions of those files (`old`, loaded from
/// the base revision; deleted and renamed files by their old path) say.
///
/// `repo_path` gives a head file's path inside the repository, the way
/// `old`'s files are named, so that chat photos of every entry are located
/// the same way a load from the base revision locates them.
pub fn base_config(
    head: &Model,
    changed: &BTreeSet<FileId>,
    old: &Loaded,
    repo_path: &dyn Fn(FileId) -> Option<String>,
) -> Result<Base, Fallback> {
    if old.diagnostics.has_errors() {
        return Err(Fallback("a changed file does not load at the base".into()));
    }
    let empty = Node::new(Value::Map(Vec::new()), Default::default());
    let old_root = old.root.as_ref().unwrap_or(&empty);
    let old_sections = old_root
        .as_map()
        .ok_or_else(|| Fallback("the base's changed files are not mappings".into()))?;
    let head_sections = head
        .root
        .as_map()
        .ok_or_else(|| Fallback("the head config is not a mapping".into()))?;
    let from_changed = |e: &Entry| changed.contains(&e.key_span.file);

    let mut base = head.config.clone();
    // The chats and templates taken from the base, for their photos.
    let mut photo_origins: BTreeSet<(&str, String)> = BTreeSet::new();
    // Entries whose value differs, by section.
    let mut differ: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let mut touched: BTreeSet<&str> = BTreeSet::new();
    for section in old_sections.iter().map(|e| e.key.as_str()).chain(
        head_sections
            .iter()
            .filter(|e| from_changed(e) || section_has_changed(e, changed))
            .map(|e| e.key.as_str()),
    ) {
        touched.insert(section);
    }
    for section in touched {
        let old_entry = old_sections.iter().find(|e| e.key == section);
        let head_entry = head_sections.iter().find(|e| e.key == section);
        if let Some(name) = NAMED.iter().find(|n| **n == section) {
            let keys = splice_named(
                &mut base,
                name,
                head_entry,
                old_entry,
                &from_changed,
                &mut photo_origins,
            )?;
            if !keys.is_empty() {
                differ.insert(name, keys);
            }
        } else if SINGULAR.contains(&section) {
            rebuild_singular(&mut base, section, head_entry, old_entry, &from_changed)?;
        } else {
            return Err(Fallback(format!("section `{section}` changed")));
        }
    }
    relocate_photos(&mut base, head, old, &photo_origins, repo_path);
    let chats = chats_touched(&base, &head.config, &differ);
    Ok(Base {
        config: base,
        chats,
    })
}

/// The chats a change can resolve differently (see [`Base::chats`]).
fn chats_touched(
    base: &Config,
    head: &Config,
    differ: &BTreeMap<&str, BTreeSet<String>>,
) -> Option<BTreeSet<String>> {
    // Resolution reads people, departments and roles for every chat, and
    // `org` for the bot and the user provider.
    if ["people", "departments", "roles"]
        .iter()
        .any(|s| differ.contains_key(s))
        || base.org != head.org
    {
        return None;
    }
    let templates = differ.get("templates");
    let mut out: BTreeSet<String> = differ.get("chats").cloned().unwrap_or_default();
    for config in [base, head] {
        for (key, chat) in &config.chats {
            let uses_changed = templates.is_some_and(|changed| {
                template_chain(config, chat.template.as_deref())
                    .iter()
                    .any(|t| changed.contains(*t))
            });
            let photo = chat.photo.is_some()
                || template_chain(config, chat.template.as_deref())
                    .iter()
                    .any(|t| config.templates.get(*t).is_some_and(|t| t.photo.is_some()));
            if uses_changed || photo {
                out.insert(key.clone());
            }
        }
    }
    Some(out)
}

/// The names of a chat's templates, nearest first (a cycle ends it).
fn template_chain<'c>(config: &'c Config, first: Option<&'c str>) -> Vec<&'c str> {
    let mut chain = Vec::new();
    let mut next = first;
    while let Some(name) = next {
        if chain.contains(&name) {
            break;
        }
        chain.push(name);
        next = config
            .templates
            .get(name)
            .and_then(|t| t.extends.as_deref());
    }
    chain
}

/// Whether some entry of a merged section comes from a changed file.
fn section_has_changed(section: &Entry, changed: &BTreeSet<FileId>) -> bool {
    section
        .value
        .as_map()
        .is_some_and(|m| m.iter().any(|e| changed.contains(&e.key_span.file)))
}

fn splice_named<'h>(
    base: &mut Config,
    section: &'static str,
    head_entry: Option<&Entry>,
    old_entry: Option<&'h Entry>,
    from_changed: &dyn Fn(&Entry) -> bool,
    photo_origins: &mut BTreeSet<(&'static str, String)>,
) -> Result<BTreeSet<String>, Fallback> {
    let mut differ = BTreeSet::new();
    let head_items: &[Entry] = head_entry
        .and_then(|e| e.value.as_map())
        .unwrap_or_default();
    let old_items: &[Entry] = match old_entry {
        None => &[],
        Some(e) => e
            .value
            .as_map()
            .ok_or_else(|| Fallback(format!("`{section}` is not a mapping in a base file")))?,
    };
    let head_by_key: BTreeMap<&str, &Entry> =
        head_items.iter().map(|e| (e.key.as_str(), e)).collect();
    // Entries written in a changed file at the head and gone from the
    // base's versions of the changed files: not in the base.
    let old_keys: BTreeSet<&str> = old_items.iter().map(|e| e.key.as_str()).collect();
    for item in head_items.iter().filter(|e| from_changed(e)) {
        if !old_keys.contains(item.key.as_str()) {
            remove(base, section, &item.key);
            differ.insert(item.key.clone());
        }
    }
    // Entries the base's changed files hold: their base value, unless the
    // head's (from a changed file) is the same text.
    let mut wanted = serde_json::Map::new();
    for item in old_items {
        match head_by_key.get(item.key.as_str()) {
            // Also written in an unchanged file: the base defined it twice
            // and did not load.
            Some(h) if !from_changed(h) => {
                return Err(Fallback(format!(
                    "`{section}.{}` is defined twice at the base",
                    item.key
                )));
            }
            Some(h) if !has_photo(section, &item.value) && h.value.same_json(&item.value) => {}
            _ => {
                differ.insert(item.key.clone());
                wanted.insert(item.key.clone(), item.value.to_json());
            }
        }
    }
    if wanted.is_empty() {
        return Ok(differ);
    }
    let mut partial = serde_json::Map::new();
    partial.insert(section.to_string(), serde_json::Value::Object(wanted));
    let typed: Config = serde_json::from_value(serde_json::Value::Object(partial))
        .map_err(|e| Fallback(format!("a base entry of `{section}` does not read: {e}")))?;
    match section {
        "people" => base.people.extend(typed.people),
        "departments" => base.departments.extend(typed.departments),
        "roles" => base.roles.extend(typed.roles),
        "folders" => base.folders.extend(typed.folders),
        "templates" => {
            for (k, v) in typed.templates {
                if v.photo.is_some() {
                    photo_origins.insert(("templates", k.clone()));
                }
                base.templates.insert(k, v);
            }
        }
        "chats" => {
            for (k, v) in typed.chats {
                if v.photo.is_some() {
                    photo_origins.insert(("chats", k.clone()));
                }
                base.chats.insert(k, v);
            }
        }
        _ => unreachable!("NAMED sections only"),
    }
    Ok(differ)
}

/// Whether a chat or template entry names a photo (its path depends on the
/// file it is written in, so it is always taken from the base).
fn has_photo(section: &str, node: &Node) -> bool {
    matches!(section, "chats" | "templates") && node.get("photo").is_some()
}

fn remove(base: &mut Config, section: &str, key: &str) {
    match section {
        "people" => drop(base.people.remove(key)),
        "departments" => drop(base.departments.remove(key)),
        "roles" => drop(base.roles.remove(key)),
        "folders" => drop(base.folders.remove(key)),
        "templates" => drop(base.templates.remove(key)),
        "chats" => drop(base.chats.remove(key)),
        _ => {}
    }
}

/// A singular section at the base: the head's entries from unchanged files
/// and the base's from changed ones, merged the way the loader merges them
/// (`policies` merges by key across files; `org` and `rollout` are one
/// file's).
fn rebuild_singular(
    base: &mut Config,
    section: &str,
    head_entry: Option<&Entry>,
    old_entry: Option<&Entry>,
    from_changed: &dyn Fn(&Entry) -> bool,
) -> Result<(), Fallback> {
    let value: Option<serde_json::Value> = if section == "policies" {
        let mut merged = serde_json::Map::new();
        let mut any = false;
        for (entry, keep) in [(head_entry, false), (old_entry, true)] {
            let Some(entry) = entry else { continue };
            let Some(items) = entry.value.as_map() else {
                return Err(Fallback("`policies` is not a mapping".into()));
            };
            any = true;
            for item in items {
                // Head items from changed files are replaced by the base's.
                if !keep && from_changed(item) {
                    continue;
                }
                if merged.contains_key(&item.key) {
                    return Err(Fallback(format!(
                        "`policies.{}` is defined twice at the base",
                        item.key
                    )));
                }
                merged.insert(item.key.clone(), item.value.to_json());
            }
        }
        any.then_some(serde_json::Value::Object(merged))
    } else {
        let head_kept = head_entry.filter(|e| !from_changed(e));
        match (head_kept, old_entry) {
            (Some(_), Some(_)) => {
                return Err(Fallback(format!(
                    "section `{section}` is defined twice at the base"
                )));
            }
            (Some(h), None) => Some(h.value.to_json()),
            (None, Some(o)) => Some(o.value.to_json()),
            (None, None) => None,
        }
    };
    let mut partial = serde_json::Map::new();
    if let Some(v) = value {
        partial.insert(section.to_string(), v);
    }
    let typed: Config = serde_json::from_value(serde_json::Value::Object(partial))
        .map_err(|e| Fallback(format!("`{section}` does not read at the base: {e}")))?;
    match section {
        "org" => base.org = typed.org,
        "policies" => base.policies = typed.policies,
        "rollout" => base.rollout = typed.rollout,
        _ => unreachable!("SINGULAR sections only"),
    }
    Ok(())
}

/// Locate every photo of the base the way a load from the base revision
/// does: relative to the in-repository path of the file that names it.
fn relocate_photos(
    base: &mut Config,
    head: &Model,
    old: &Loaded,
    origins: &BTreeSet<(&str, String)>,
    repo_path: &dyn Fn(FileId) -> Option<String>,
) {
    let empty = Node::new(Value::Map(Vec::new()), Default::default());
    let old_root = old.root.as_ref().unwrap_or(&empty);
    let sections = [
        ("templates", &mut base.templates),
        ("chats", &mut base.chats),
    ];
    for (section, specs) in sections {
        for (key, spec) in specs.iter_mut() {
            if spec.photo.is_none() {
                continue;
            }
            let pointer = format!(
                "/{section}/{}/photo",
                crate::config::tree::escape_pointer_token(key)
            );
            let from_old = origins.contains(&(section, key.clone()));
            let (node, found) = if from_old {
                old_root.pointer(&pointer)
            } else {
                head.root.pointer(&pointer)
            };
            let (true, Some(raw)) = (found, node.as_str()) else {
                continue;
            };
            let file = if from_old {
                Some(old.sources.get(node.span.file).path.display().to_string())
            } else {
                repo_path(node.span.file)
            };
            if let Some(file) = file {
                spec.photo = Some(
                    super::photo::beside(Path::new(&file), raw)
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
}
