//! Loading a config: a file, or a directory of `*.yaml`, `*.yml` and `*.kdl`
//! files (hidden folders skipped), parsed and merged into one tree.
//!
//! Every entry must be a regular file (a symlink to one is fine) no larger
//! than [`MAX_FILE_BYTES`], checked before a byte is read: a symlink to
//! `/dev/zero` or a FIFO is an error at once, never an endless read or a
//! hang. Without a path, the config is the explicit default
//! ([`default_path`]), never "every YAML file below the working directory".
//!
//! Sections that hold named things (`people`, `departments`, `roles`,
//! `templates`, `chats`) merge across files, and so does `policies` (the
//! guard limits in one file, the rules in another a security team owns); a
//! name defined twice, and a singular section (`org`, `rollout`) defined
//! twice, is a `duplicate-key`
//! diagnostic that shows both places. Duplicate keys inside one mapping are
//! found here too, at any depth.

/// Names are hashed once per entry of every mapping: a fast, fixed hash
/// (the keys are the config's own) instead of SipHash.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;
use std::path::{Path, PathBuf};

use super::diagnostic::{Diagnostic, Diagnostics, codes};
use super::source::{FileId, SourceFile, SourceMap, Span};
use super::tree::{Entry, Node, Value};

/// Files larger than this are refused before parsing: a real config is a
/// few hundred kilobytes even for thousands of people.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// The default config directory, relative to the working directory.
pub const DEFAULT_DIR: &str = "org";
/// The default single-file configs, tried in order when `org/` is absent.
pub const DEFAULT_FILES: &[&str] = &["orgform.yaml", "orgform.yml", "orgform.kdl"];

/// The config used when none is named: `./org/` if it exists, else the
/// first of `./orgform.yaml`, `./orgform.yml`, `./orgform.kdl` that exists,
/// else `org` (so the error names the default that was looked for).
pub fn default_path() -> PathBuf {
    if Path::new(DEFAULT_DIR).is_dir() {
        return PathBuf::from(DEFAULT_DIR);
    }
    DEFAULT_FILES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DIR))
}

/// What a non-regular file is, for the error.
fn file_kind(ft: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO (named pipe)"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// Read one config entry: it must be a regular file (after following
/// symlinks) of at most `cap` bytes. The type and size are checked on the
/// path before opening (opening a FIFO would block), and again on the open
/// file (it may have been swapped); the read itself stops at `cap + 1`
/// bytes whatever the file claims.
pub fn read_regular(path: &Path, cap: u64) -> Result<Vec<u8>, Diagnostic> {
    use std::io::Read;
    let name = path.display();
    let io = |e: std::io::Error| Diagnostic::error(codes::IO, format!("cannot read {name}: {e}"));
    let not_regular = |ft: std::fs::FileType| {
        Diagnostic::error(
            codes::IO,
            format!(
                "{name} is {}; config entries must be regular files",
                file_kind(ft)
            ),
        )
        .hint("point the config at .yaml, .yml or .kdl files (a symlink to a regular file is fine)")
    };
    let too_large = |len: u64| {
        Diagnostic::error(
            codes::TOO_LARGE,
            format!("{name} is {len} bytes or more; config files may be at most {cap} bytes"),
        )
        .hint("split the config into several files in one directory")
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.file_type().is_file() {
        return Err(not_regular(meta.file_type()));
    }
    if meta.len() > cap {
        return Err(too_large(meta.len()));
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    {
        // O_NONBLOCK: if the entry became a FIFO since the check, opening
        // it must not wait for a writer. Regular files ignore the flag.
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(NONBLOCK);
    }
    let file = options.open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.file_type().is_file() {
        return Err(not_regular(meta.file_type()));
    }
    let mut bytes = Vec::with_capacity(meta.len().min(cap) as usize);
    file.take(cap + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > cap {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

/// `O_NONBLOCK` (the same value on every Linux architecture but alpha,
/// sparc and parisc, and on the BSDs and macOS it is 4).
#[cfg(target_os = "linux")]
const NONBLOCK: i32 = 0o4000;
#[cfg(not(target_os = "linux"))]
const NONBLOCK: i32 = 4;

/// Sections whose entries merge across files.
pub const MERGED_SECTIONS: &[&str] = &[
    "people",
    "departments",
    "roles",
    "templates",
    "chats",
    "policies",
    "folders",
];

/// The result of loading: the files, the merged tree (when every file
/// parsed) and what was found wrong on the way.
#[derive(Debug, Default)]
pub struct Loaded {
    pub sources: SourceMap,
    pub root: Option<Node>,
    pub diagnostics: Diagnostics,
}

/// Load the config at `path` from the file system.
pub fn load(path: &Path) -> Loaded {
    let mut loaded = Loaded::default();
    let files = match collect_files(path) {
        Ok(files) => files,
        Err(d) => {
            loaded.diagnostics.push(d);
            return loaded;
        }
    };
    let mut inputs = Vec::new();
    for file in files {
        let name = file.display().to_string();
        match read_regular(&file, MAX_FILE_BYTES) {
            Ok(bytes) => inputs.push((name, file, bytes)),
            Err(d) => loaded.diagnostics.push(d),
        }
    }
    if inputs.is_empty() && loaded.diagnostics.has_errors() {
        return loaded;
    }
    let parsed = load_sources(inputs);
    loaded.diagnostics.extend(parsed.diagnostics);
    loaded.sources = parsed.sources;
    loaded.root = parsed.root;
    loaded
}

/// Load from in-memory files `(display name, path, bytes)`; used for git
/// revisions, where files come from objects rather than the disk.
pub fn load_sources(inputs: Vec<(String, PathBuf, Vec<u8>)>) -> Loaded {
    let mut loaded = Loaded::default();
    let mut trees = Vec::new();
    let mut failed = false;
    // Per file, in order: its encoding error, or the file to parse.
    let mut files: Vec<Result<FileId, Diagnostic>> = Vec::new();
    for (name, path, bytes) in inputs {
        let text = match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let valid = e.utf8_error().valid_up_to();
                let bytes = e.into_bytes();
                let prefix = String::from_utf8_lossy(&bytes[..valid]).into_owned();
                let id = loaded
                    .sources
                    .add(SourceFile::new(name.clone(), path, prefix.clone()));
                files.push(Err(Diagnostic::error(
                    codes::ENCODING,
                    format!("{name} is not valid UTF-8"),
                )
                .at(
                    Span::new(id, prefix.len(), 0),
                    "the first invalid byte is here",
                )
                .hint("save the file as UTF-8")));
                continue;
            }
        };
        files.push(Ok(loaded.sources.add(SourceFile::new(name, path, text))));
    }
    let ids: Vec<FileId> = files
        .iter()
        .filter_map(|f| f.as_ref().ok().copied())
        .collect();
    let mut parsed = parse_files(&loaded.sources, &ids, PARALLEL_BYTES).into_iter();
    for file in files {
        let result = match file {
            Err(d) => Err(vec![d]),
            Ok(_) => parsed.next().expect("one result per file"),
        };
        match result {
            Ok(node) => trees.push(node),
            Err(ds) => {
                for d in ds {
                    loaded.diagnostics.push(d);
                }
                failed = true;
            }
        }
    }
    if loaded.sources.files().next().is_none() && !failed {
        loaded.diagnostics.push(
            Diagnostic::error(codes::NO_CONFIG, "no config files found")
                .hint("a config is a .yaml, .yml or .kdl file, or a directory of them"),
        );
        return loaded;
    }
    for tree in &mut trees {
        find_duplicates(tree, &mut loaded.diagnostics);
    }
    let root = merge(trees, &mut loaded.diagnostics);
    if !failed {
        loaded.root = Some(root);
    }
    loaded
}

/// Below this many bytes in all, files are parsed one after the other:
/// starting a thread costs more than it saves.
const PARALLEL_BYTES: usize = 256 * 1024;

/// The stack of the second parsing thread: Linux's default for a main
/// thread.
const MAIN_STACK: usize = 8 * 1024 * 1024;

/// Parse the files `ids` of `sources`, in order. A config of many files
/// (`parallel_from` bytes or more) is parsed on up to two threads (the
/// files shared out by size), which shortens a load's wall time without
/// changing what it gives.
fn parse_files(
    sources: &SourceMap,
    ids: &[FileId],
    parallel_from: usize,
) -> Vec<Result<Node, Vec<Diagnostic>>> {
    let parse = |id: FileId| {
        let source = sources.get(id);
        // KDL reports every problem in a file; YAML stops at the first
        // syntax error (the parser cannot resynchronise).
        if source.path.extension().is_some_and(|e| e == "kdl") {
            super::kdl::parse_all(id, source)
        } else {
            super::yaml::parse(id, source).map_err(|d| vec![d])
        }
    };
    let size = |id: &FileId| sources.get(*id).text.len();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(2));
    if threads < 2 || ids.len() < 2 || ids.iter().map(size).sum::<usize>() < parallel_from {
        return ids.iter().map(|&id| parse(id)).collect();
    }
    // The largest file alone on one thread, or the rest with it, whichever
    // balances: the other thread takes the others.
    let mut by_size: Vec<usize> = (0..ids.len()).collect();
    by_size.sort_by_key(|&i| std::cmp::Reverse(size(&ids[i])));
    let (mut mine, mut other) = (Vec::new(), Vec::new());
    let (mut mine_bytes, mut other_bytes) = (0usize, 0usize);
    for i in by_size {
        if mine_bytes <= other_bytes {
            mine_bytes += size(&ids[i]);
            mine.push(i);
        } else {
            other_bytes += size(&ids[i]);
            other.push(i);
        }
    }
    let mut out: Vec<Option<Result<Node, Vec<Diagnostic>>>> =
        (0..ids.len()).map(|_| None).collect();
    let theirs = std::thread::scope(|scope| {
        // The main thread's stack, not a spawned thread's 2 MiB: parsing
        // recurses once per level up to the nesting limit.
        let handle = std::thread::Builder::new()
            .stack_size(MAIN_STACK)
            .spawn_scoped(scope, || {
                other
                    .iter()
                    .map(|&i| (i, parse(ids[i])))
                    .collect::<Vec<_>>()
            });
        let Ok(handle) = handle else {
            // No thread to be had: this one parses them all.
            for &i in other.iter().chain(&mine) {
                out[i] = Some(parse(ids[i]));
            }
            return Ok(Vec::new());
        };
        for &i in &mine {
            out[i] = Some(parse(ids[i]));
        }
        handle.join()
    });
    match theirs {
        Ok(results) => {
            for (i, result) in results {
                out[i] = Some(result);
            }
        }
        // A panic on the other thread is a panic of the load, as it would
        // have been on this one.
        Err(panic) => std::panic::resume_unwind(panic),
    }
    out.into_iter()
        .map(|r| r.expect("every file parsed"))
        .collect()
}

/// The config files at `path`, sorted, hidden entries skipped.
fn collect_files(path: &Path) -> Result<Vec<PathBuf>, Diagnostic> {
    let meta = std::fs::metadata(path).map_err(|e| {
        Diagnostic::error(
            codes::NO_CONFIG,
            format!("cannot read config at {}: {e}", path.display()),
        )
        .hint(format!(
            "pass a config file or directory, e.g. `orgform validate examples/acme`; without one, orgform reads ./{DEFAULT_DIR}/ or ./{}",
            DEFAULT_FILES[0]
        ))
    })?;
    if !meta.is_dir() {
        // A file, or something that is not one: read_regular says which.
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| {
            Diagnostic::error(codes::IO, format!("cannot list {}: {e}", dir.display()))
        })?;
        for entry in entries.flatten() {
            let p = entry.path();
            let hidden = p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'));
            if hidden {
                continue;
            }
            let Ok(ft) = entry.file_type() else { continue };
            if ft.is_dir() {
                stack.push(p);
            } else if p
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e, "yaml" | "yml" | "kdl"))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    if out.is_empty() {
        return Err(Diagnostic::error(
            codes::NO_CONFIG,
            format!("no config files in {}", path.display()),
        )
        .hint("a config directory holds .yaml, .yml or .kdl files"));
    }
    Ok(out)
}

/// Report every key that appears twice in one mapping, at any depth, and
/// drop the later ones from the tree: the first definition is the one the
/// schema, the types and the checks see (as `Node::to_json` always chose).
fn find_duplicates(node: &mut Node, out: &mut Diagnostics) {
    match &mut node.value {
        Value::Map(entries) => {
            // Most mappings (a person, a selector) have a handful of keys:
            // a scan of the ones before is cheaper than a hash map each.
            let mut seen: HashMap<&str, Span> = HashMap::default();
            let mut again: Vec<usize> = Vec::new();
            for (i, e) in entries.iter().enumerate() {
                let first = if entries.len() <= 16 {
                    entries[..i]
                        .iter()
                        .find(|f| f.key == e.key)
                        .map(|f| f.key_span)
                } else {
                    seen.get(e.key.as_str()).copied()
                };
                if let Some(first) = first {
                    out.push(
                        Diagnostic::error(
                            codes::DUPLICATE_KEY,
                            format!("`{}` is defined twice", e.key),
                        )
                        .at(e.key_span, "defined again here")
                        .also(first, "first defined here")
                        .hint("remove one of the two, or merge them"),
                    );
                    again.push(i);
                } else if entries.len() > 16 {
                    seen.insert(&e.key, e.key_span);
                }
            }
            drop(seen);
            for e in entries.iter_mut() {
                find_duplicates(&mut e.value, out);
            }
            for i in again.into_iter().rev() {
                entries.remove(i);
            }
        }
        Value::Seq(items) => items.iter_mut().for_each(|i| find_duplicates(i, out)),
        _ => {}
    }
}

/// Merge the top levels of several files into one tree.
fn merge(trees: Vec<Node>, out: &mut Diagnostics) -> Node {
    let span = trees
        .first()
        .map(|t| Span::new(t.span.file, 0, 0))
        .unwrap_or_default();
    let mut merged: Vec<Entry> = Vec::new();
    // Where each merged section's names are, so that merging many files of
    // thousands of people stays linear: section → name → its key span.
    let mut names: HashMap<String, HashMap<String, Span>> = HashMap::default();
    for tree in trees {
        let Value::Map(entries) = tree.value else {
            out.push(
                Diagnostic::error(
                    codes::WRONG_TYPE,
                    format!(
                        "a config file must be a mapping of sections, found a {}",
                        tree.type_name()
                    ),
                )
                .at(tree.span, "expected `org:`, `people:`, `chats:` …")
                .hint("start the file with a section name such as `people:`"),
            );
            continue;
        };
        for entry in entries {
            let existing = merged.iter_mut().find(|e| e.key == entry.key);
            match existing {
                None => merged.push(entry),
                Some(existing) if MERGED_SECTIONS.contains(&entry.key.as_str()) => {
                    // A non-mapping section is a schema error; keep the first.
                    if let (Value::Map(into), Value::Map(from)) =
                        (&mut existing.value.value, entry.value.value)
                    {
                        let known = names.entry(entry.key.clone()).or_insert_with(|| {
                            into.iter()
                                .rev()
                                .map(|e| (e.key.clone(), e.key_span))
                                .collect()
                        });
                        for item in from {
                            if let Some(first) = known.get(&item.key) {
                                out.push(
                                    Diagnostic::error(
                                        codes::DUPLICATE_KEY,
                                        format!(
                                            "`{}.{}` is defined in two places",
                                            entry.key, item.key
                                        ),
                                    )
                                    .at(item.key_span, "defined again here")
                                    .also(*first, "first defined here")
                                    .hint("each name may be defined once across all config files"),
                                );
                            } else {
                                known.insert(item.key.clone(), item.key_span);
                                into.push(item);
                            }
                        }
                    }
                }
                Some(existing) => {
                    out.push(
                        Diagnostic::error(
                            codes::DUPLICATE_KEY,
                            format!("section `{}` is defined twice", entry.key),
                        )
                        .at(entry.key_span, "defined again here")
                        .also(existing.key_span, "first defined here")
                        .hint(format!(
                            "keep one `{}` section across all config files",
                            entry.key
                        )),
                    );
                }
            }
        }
    }
    Node::new(Value::Map(merged), span)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On two threads or one, the files parse to the same trees and
    /// diagnostics, in the same order.
    #[test]
    fn parsing_on_two_threads_gives_what_one_gives() {
        let generated =
            crate::sandbox::generate::generate(&crate::sandbox::generate::GenerateOptions {
                people: 500,
                chats: 60,
                seed: 3,
            });
        let dir = tempfile::tempdir().unwrap();
        crate::sandbox::generate::write(&generated, dir.path()).unwrap();
        let mut sources = SourceMap::default();
        let mut ids = Vec::new();
        let mut names: Vec<PathBuf> = std::fs::read_dir(dir.path().join("config"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        names.sort();
        for path in names {
            let text = std::fs::read_to_string(&path).unwrap();
            ids.push(sources.add(SourceFile::new(path.display().to_string(), path, text)));
        }
        for (name, text) in [
            ("broken.yaml", "people:\n  a: [unclosed\n"),
            ("more.kdl", "people {\n  k telegram_id=5\n}\n"),
            ("bad.kdl", "people {\n  k telegram_id=\n"),
            ("empty.yaml", "# nothing\n"),
        ] {
            ids.push(sources.add(SourceFile::new(name, name, text)));
        }
        let one = parse_files(&sources, &ids, usize::MAX);
        let two = parse_files(&sources, &ids, 0);
        assert_eq!(format!("{one:?}"), format!("{two:?}"));
        assert!(one.iter().any(|r| r.is_err()) && one.iter().filter(|r| r.is_ok()).count() >= 5);
    }
}
