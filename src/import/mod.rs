//! Adoption: turning what already exists into config files. `chats` reads
//! existing Telegram chats into chat, role and people entries; `people`
//! reads a staff list (CSV or XLSX) into `people`.
//!
//! This module owns what both share: the config directory an import writes
//! into (which files are there, which of them an import wrote and may
//! rewrite), and the stable rendering of a `Config` as YAML or KDL — sorted,
//! formatted, and headed by a comment saying where it came from, without
//! timestamps, so that a re-run over unchanged input changes no byte.

pub mod chats;
pub mod ids;
pub mod people;

use std::path::{Path, PathBuf};

use crate::model::Config;

/// The first line of every file an import writes starts with this (after
/// the comment marker); such files may be rewritten by the next import.
pub const HEADER_MARK: &str = "Written by `orgform import";

/// What went wrong, with a hint for the user.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ImportError {
    pub message: String,
    pub hint: Option<String>,
}

impl ImportError {
    pub fn new(message: impl Into<String>) -> Self {
        ImportError {
            message: message.into(),
            hint: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// The format of written config files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Yaml,
    Kdl,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Yaml => "yaml",
            Format::Kdl => "kdl",
        }
    }

    /// The format a file name asks for (`.kdl`, else YAML).
    pub fn of_path(path: &Path) -> Format {
        if path.extension().is_some_and(|e| e == "kdl") {
            Format::Kdl
        } else {
            Format::Yaml
        }
    }

    fn comment(self) -> &'static str {
        match self {
            Format::Yaml => "#",
            Format::Kdl => "//",
        }
    }
}

/// Render a config as a file: the header lines as comments, then the
/// sections. BTreeMaps keep every mapping sorted, so equal configs give
/// equal bytes.
pub fn render(config: &Config, format: Format, header: &[String]) -> Result<String, ImportError> {
    let mut out = String::new();
    for line in header {
        out.push_str(format.comment());
        if !line.is_empty() {
            out.push(' ');
            out.push_str(line);
        }
        out.push('\n');
    }
    match format {
        Format::Yaml => {
            let yaml = serde_saphyr::to_string(config)
                .map_err(|e| ImportError::new(format!("cannot write YAML: {e}")))?;
            out.push_str(&yaml);
        }
        Format::Kdl => {
            let value = serde_json::to_value(config)
                .map_err(|e| ImportError::new(format!("cannot write KDL: {e}")))?;
            out.push_str(&to_kdl(&value));
        }
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}

/// A JSON value tree as a KDL document, by the convention of docs/kdl.md
/// read backwards: keys become nodes; scalars in a mapping become
/// properties and everything else child nodes; a list of scalars becomes
/// arguments (one value or none is fine: the loader asks the schema);
/// a list with mappings becomes `-` children.
pub fn to_kdl(value: &serde_json::Value) -> String {
    use kdl::KdlDocument;
    let mut doc = KdlDocument::new();
    if let serde_json::Value::Object(map) = value {
        for (key, v) in map {
            if let Some(node) = kdl_node(key, v) {
                doc.nodes_mut().push(node);
            }
        }
    }
    doc.autoformat();
    doc.to_string()
}

fn kdl_scalar(value: &serde_json::Value) -> Option<kdl::KdlValue> {
    use kdl::KdlValue;
    Some(match value {
        serde_json::Value::String(s) => KdlValue::String(s.clone()),
        serde_json::Value::Bool(b) => KdlValue::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => KdlValue::Integer(i128::from(i)),
            None => KdlValue::Float(n.as_f64().unwrap_or_default()),
        },
        _ => return None,
    })
}

fn is_scalar(value: &serde_json::Value) -> bool {
    matches!(
        value,
        serde_json::Value::String(_) | serde_json::Value::Bool(_) | serde_json::Value::Number(_)
    )
}

fn kdl_node(name: &str, value: &serde_json::Value) -> Option<kdl::KdlNode> {
    use kdl::{KdlDocument, KdlEntry, KdlNode};
    let mut node = KdlNode::new(name);
    match value {
        serde_json::Value::Null => return None,
        serde_json::Value::Array(items) if items.iter().all(is_scalar) => {
            for item in items {
                node.push(KdlEntry::new(kdl_scalar(item)?));
            }
        }
        serde_json::Value::Array(items) => {
            let mut children = KdlDocument::new();
            for item in items {
                children.nodes_mut().push(kdl_node("-", item)?);
            }
            node.set_children(children);
        }
        serde_json::Value::Object(map) => {
            let mut children = KdlDocument::new();
            for (key, v) in map {
                if is_scalar(v) {
                    node.push(KdlEntry::new_prop(key.as_str(), kdl_scalar(v)?));
                } else if let Some(child) = kdl_node(key, v) {
                    children.nodes_mut().push(child);
                }
            }
            if !children.nodes().is_empty() || map.is_empty() {
                node.set_children(children);
            }
        }
        scalar => node.push(KdlEntry::new(kdl_scalar(scalar)?)),
    }
    Some(node)
}

/// Whether a file's text was written by an import (and may be rewritten).
pub fn written_by_import(text: &str) -> bool {
    let first = text.lines().next().unwrap_or_default();
    let body = first
        .trim_start_matches('#')
        .trim_start_matches("//")
        .trim_start();
    body.starts_with(HEADER_MARK)
}

/// One config file in the output directory.
#[derive(Clone, Debug)]
pub struct ConfigFile {
    pub path: PathBuf,
    pub text: String,
    /// What it declares on its own.
    pub config: Config,
    /// Written by an import.
    pub ours: bool,
}

/// The config files already in a directory, each parsed on its own.
#[derive(Clone, Debug, Default)]
pub struct ConfigDir {
    pub dir: PathBuf,
    pub files: Vec<ConfigFile>,
}

impl ConfigDir {
    /// Read every `.yaml`, `.yml` and `.kdl` file below `dir` (hidden
    /// entries skipped); a missing directory is an empty one.
    pub fn scan(dir: &Path) -> Result<ConfigDir, ImportError> {
        let mut out = ConfigDir {
            dir: dir.to_path_buf(),
            files: Vec::new(),
        };
        if !dir.exists() {
            return Ok(out);
        }
        if !dir.is_dir() {
            return Err(
                ImportError::new(format!("{} is not a directory", dir.display()))
                    .hint("--out names a directory"),
            );
        }
        let mut paths = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            let entries = std::fs::read_dir(&d)
                .map_err(|e| ImportError::new(format!("cannot list {}: {e}", d.display())))?;
            for entry in entries.flatten() {
                let p = entry.path();
                if p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with('.'))
                {
                    continue;
                }
                if p.is_dir() {
                    stack.push(p);
                } else if p
                    .extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| matches!(e, "yaml" | "yml" | "kdl"))
                {
                    paths.push(p);
                }
            }
        }
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| ImportError::new(format!("cannot read {}: {e}", path.display())))?;
            let config = parse_file(&path, &text)?;
            out.files.push(ConfigFile {
                ours: written_by_import(&text),
                path,
                text,
                config,
            });
        }
        Ok(out)
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    pub fn file(&self, path: &Path) -> Option<&ConfigFile> {
        self.files.iter().find(|f| f.path == path)
    }

    /// The file that declares `section`/`key`, if any.
    pub fn declaring(&self, pick: impl Fn(&Config) -> bool) -> Option<&ConfigFile> {
        self.files.iter().find(|f| pick(&f.config))
    }

    /// Check that the directory, with `replaced` files swapped in (or
    /// added), loads as a valid config; returns the merged config.
    pub fn check_with(
        &self,
        replaced: &[(PathBuf, String)],
        now: jiff::Timestamp,
    ) -> Result<crate::model::Model, crate::model::LoadError> {
        let mut inputs: Vec<(String, PathBuf, Vec<u8>)> = Vec::new();
        for f in &self.files {
            if replaced.iter().any(|(p, _)| *p == f.path) {
                continue;
            }
            inputs.push((
                f.path.display().to_string(),
                f.path.clone(),
                f.text.clone().into_bytes(),
            ));
        }
        for (p, text) in replaced {
            inputs.push((
                p.display().to_string(),
                p.clone(),
                text.clone().into_bytes(),
            ));
        }
        inputs.sort_by(|a, b| a.1.cmp(&b.1));
        crate::model::from_loaded(crate::config::load::load_sources(inputs), now)
    }
}

/// One file, read on its own into the config types (sections it does not
/// have stay empty; references into other files are not checked here).
pub fn parse_file(path: &Path, text: &str) -> Result<Config, ImportError> {
    let loaded = crate::config::load::load_sources(vec![(
        path.display().to_string(),
        path.to_path_buf(),
        text.as_bytes().to_vec(),
    )]);
    let problem = || {
        ImportError::new(format!("{} is not a valid config file", path.display())).hint(format!(
            "run `orgform validate {}` and fix it first",
            path.display()
        ))
    };
    let root = loaded.root.ok_or_else(problem)?;
    let (problems, pruned) = crate::config::schema::validate_and_prune(&root);
    if problems.has_errors() {
        return Err(problem());
    }
    serde_json::from_value(pruned).map_err(|_| problem())
}

/// What happened to a file an import wanted to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteOutcome {
    Created,
    Updated,
    Unchanged,
}

impl WriteOutcome {
    pub fn label(self) -> &'static str {
        match self {
            WriteOutcome::Created => "created",
            WriteOutcome::Updated => "updated",
            WriteOutcome::Unchanged => "unchanged",
        }
    }
}

/// Write `text` to `path` unless it already holds exactly that.
pub fn write_if_changed(path: &Path, text: &str) -> Result<WriteOutcome, ImportError> {
    let outcome = match std::fs::read_to_string(path) {
        Ok(old) if old == text => return Ok(WriteOutcome::Unchanged),
        Ok(_) => WriteOutcome::Updated,
        Err(_) => WriteOutcome::Created,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| ImportError::new(format!("cannot create {}: {e}", parent.display())))?;
    }
    crate::atomic_file::replace(path, text.as_bytes(), crate::atomic_file::Access::AsBefore)
        .map_err(|e| ImportError::new(format!("cannot write {}: {e}", path.display())))?;
    Ok(outcome)
}

/// A config key made from free text: lowercase ASCII letters, digits and
/// single dashes; empty when nothing usable is left.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-')
        .chars()
        .take(48)
        .collect::<String>()
        .trim_end_matches('-')
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kdl_rendering_loads_back_to_the_same_config() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/acme");
        let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        let model = crate::model::load(&dir, now).expect("acme loads");
        let text = render(&model.config, Format::Kdl, &["test".to_string()]).unwrap();
        let back =
            parse_file(Path::new("acme.kdl"), &text).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
        assert_eq!(back, model.config);
        let yaml = render(&model.config, Format::Yaml, &[]).unwrap();
        assert_eq!(
            parse_file(Path::new("acme.yaml"), &yaml).unwrap(),
            model.config
        );
    }

    #[test]
    fn slugs_and_headers() {
        assert_eq!(slug("Acme — Berlin Office!"), "acme-berlin-office");
        assert_eq!(slug("***"), "");
        assert!(written_by_import(
            "# Written by `orgform import chats` from x\npeople: {}\n"
        ));
        assert!(written_by_import("// Written by `orgform import people`\n"));
        assert!(!written_by_import("people: {}\n"));
    }
}
