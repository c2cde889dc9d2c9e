//! The KDL example is the YAML example written in KDL: every file of
//! `examples/acme-kdl` must read as the same config as its counterpart in
//! `examples/acme`, the two directories must load into the same merged tree,
//! and every KDL file must be valid against the config schema on its own.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use orgform::config::{self, FileId, SourceFile};
use serde_json::Value as Json;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Config files below `dir`, as paths relative to it, without extension.
fn stems(dir: &Path, ext: &[&str]) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)
            .unwrap_or_else(|e| panic!("{}: {e}", d.display()))
            .flatten()
        {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| ext.contains(&e))
            {
                out.insert(p.strip_prefix(dir).unwrap().with_extension(""));
            }
        }
    }
    out
}

fn read(path: &Path) -> SourceFile {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    SourceFile::new(path.display().to_string(), path, text)
}

fn yaml_json(path: &Path) -> Json {
    let source = read(path);
    match config::yaml::parse(FileId(0), &source) {
        Ok(node) => node.to_json(),
        Err(d) => panic!("{}: {d:#?}", path.display()),
    }
}

fn kdl_json(path: &Path) -> Json {
    let source = read(path);
    match config::kdl::parse_all(FileId(0), &source) {
        Ok(node) => node.to_json(),
        Err(ds) => {
            let shown: Vec<String> = ds
                .iter()
                .map(|d| {
                    let (line, col) = d
                        .primary
                        .as_ref()
                        .map(|l| source.line_col(l.span.start))
                        .unwrap_or((0, 0));
                    format!(
                        "{}:{line}:{col}: {} ({})",
                        path.display(),
                        d.message,
                        d.code
                    )
                })
                .collect();
            panic!("{}", shown.join("\n"))
        }
    }
}

/// The first place where two JSON values differ, as a pointer and both sides.
fn first_difference(a: &Json, b: &Json, at: &str) -> Option<String> {
    match (a, b) {
        (Json::Object(x), Json::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().find_map(|k| match (x.get(k), y.get(k)) {
                (Some(p), Some(q)) => first_difference(p, q, &format!("{at}/{k}")),
                (p, q) => Some(format!("{at}/{k}: {p:?} vs {q:?}")),
            })
        }
        (Json::Array(x), Json::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (p, q))| first_difference(p, q, &format!("{at}/{i}"))),
        _ if a == b => None,
        _ => Some(format!("{at}: {a} vs {b}")),
    }
}

#[test]
fn every_yaml_file_has_a_kdl_twin_that_reads_the_same() {
    let yaml_dir = root().join("examples/acme");
    let kdl_dir = root().join("examples/acme-kdl");
    let yaml = stems(&yaml_dir, &["yaml", "yml"]);
    let kdl = stems(&kdl_dir, &["kdl"]);
    assert_eq!(
        yaml, kdl,
        "examples/acme and examples/acme-kdl must hold the same files"
    );
    assert!(!yaml.is_empty());
    for stem in &yaml {
        let y = yaml_dir.join(stem).with_extension("yaml");
        let y = if y.exists() {
            y
        } else {
            yaml_dir.join(stem).with_extension("yml")
        };
        let k = kdl_dir.join(stem).with_extension("kdl");
        let (yj, kj) = (yaml_json(&y), kdl_json(&k));
        if let Some(diff) = first_difference(&yj, &kj, "") {
            panic!(
                "{} and {} differ at {diff} (YAML vs KDL)",
                y.display(),
                k.display()
            );
        }
    }
}

#[test]
fn both_directories_load_into_the_same_config() {
    let yaml = config::load(&root().join("examples/acme"));
    let kdl = config::load(&root().join("examples/acme-kdl"));
    for (name, loaded) in [("acme", &yaml), ("acme-kdl", &kdl)] {
        let problems: Vec<String> = loaded
            .diagnostics
            .iter()
            .map(|d| format!("{} ({})", d.message, d.code))
            .collect();
        assert!(
            !loaded.diagnostics.has_errors(),
            "examples/{name}: {problems:#?}"
        );
    }
    let (yj, kj) = (
        yaml.root.expect("YAML loads").to_json(),
        kdl.root.expect("KDL loads").to_json(),
    );
    if let Some(diff) = first_difference(&yj, &kj, "") {
        panic!("the merged configs differ at {diff} (YAML vs KDL)");
    }
    // And they are a real config: the typed model takes both.
    let y: orgform::spec::Config = serde_json::from_value(yj).expect("YAML config deserialises");
    let k: orgform::spec::Config = serde_json::from_value(kj).expect("KDL config deserialises");
    assert_eq!(y, k);
    assert!(
        k.people.len() >= 20 && k.chats.len() >= 8,
        "the example is a realistic org"
    );
}

#[test]
fn every_kdl_file_is_valid_against_the_schema() {
    let validator =
        jsonschema::validator_for(config::schema::schema()).expect("the schema compiles");
    let dir = root().join("examples/acme-kdl");
    for stem in stems(&dir, &["kdl"]) {
        let path = dir.join(&stem).with_extension("kdl");
        let json = kdl_json(&path);
        let errors: Vec<String> = validator
            .iter_errors(&json)
            .map(|e| format!("{}: {}", e.instance_path(), e))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
    }
}
