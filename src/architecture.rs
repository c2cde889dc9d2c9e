//! The module table of DESIGN §1, enforced: every `crate::…` path in
//! `src/` (outside test code) must point to a module its module may use.
//!
//! The build, not a reviewer, refuses an upward import: a new `use` that
//! breaks the table fails `cargo test`, and so `.ci/run`. A new top-level
//! module fails too until it is given a row here. The table differs from
//! DESIGN's suggested one where the code has a reason, said beside the row.
//!
//! Paths are found by reading the source text, which is enough because the
//! crate never renames modules on import and writes paths as `crate::…`
//! or `super::…`. Test code (`#[cfg(test)] mod …` to the end of a file, and
//! files named `tests.rs`) may use anything, as tests wire modules together;
//! clippy's `items_after_test_module` (denied in CI) keeps code from hiding
//! after a test module.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// What each top-level module may use (besides itself and std/deps).
const ALLOWED: &[(&str, &[&str])] = &[
    ("state", &[]),
    ("botapi_spec", &[]),
    // Request pacing (429 retry_after, FLOOD_WAIT): shared by both
    // providers, so below both.
    ("pace", &[]),
    // Replacing a file whole (temporary file, fsync, rename): below
    // everything that writes a file.
    ("atomic_file", &[]),
    // The config as written: below both config and model.
    ("spec", &["state"]),
    ("config", &["spec"]),
    ("model", &["config", "spec", "state"]),
    ("store", &["state", "atomic_file"]),
    // The planner reads what the tool remembers (store's data types, never
    // a backend: see FORBIDDEN_PATHS).
    ("plan", &["state", "spec", "model", "store"]),
    ("policy", &["config", "spec", "model", "plan", "state"]),
    ("apply", &["plan", "state", "store"]),
    // Reading merges live answers with what is remembered (store's data).
    ("telegram", &["state", "plan", "apply", "store", "pace"]),
    ("access", &["model", "state"]),
    ("drift", &["model", "plan", "state", "store"]),
    ("git", &["config"]),
    // Reports of every stage are printed here (the access matrix of
    // `export` and import's reports too); render decides nothing. git is
    // used for its data types (revisions and changed files) only.
    (
        "render",
        &[
            "plan", "config", "spec", "state", "model", "policy", "drift", "apply", "access",
            "git", "import",
        ],
    ),
    // A reader of Telegram and the store that writes config: all through
    // telegram::read, never a reader of its own.
    (
        "import",
        &[
            "config",
            "spec",
            "model",
            "state",
            "store",
            "telegram",
            "atomic_file",
        ],
    ),
    // The emulator never imports orgform's clients; it writes generated
    // configs (spec) and checks its answers against the Bot API spec.
    ("sandbox", &["state", "spec", "botapi_spec", "atomic_file"]),
    (
        "watch",
        &[
            "telegram", "store", "plan", "model", "state", "spec", "config", "apply", "drift",
            "render",
        ],
    ),
    (
        "mtproto",
        &["state", "plan", "apply", "store", "spec", "pace"],
    ),
    (
        "cli",
        &[
            "access",
            "apply",
            "botapi_spec",
            "config",
            "drift",
            "git",
            "import",
            "model",
            "plan",
            "policy",
            "render",
            "sandbox",
            "spec",
            "state",
            "store",
            "telegram",
            "watch",
            "mtproto",
            "pace",
            "atomic_file",
        ],
    ),
];

/// Paths a module may not use even where its row allows the module: the
/// store's backends are I/O, and the planner and the Telegram reader only
/// read remembered data handed to them.
const FORBIDDEN_PATHS: &[(&str, &[&str])] = &[
    (
        "plan",
        &[
            "store::backend",
            "store::sqlite",
            "store::postgres",
            "store::file",
            "store::legacy",
        ],
    ),
    (
        "telegram",
        &[
            "store::backend",
            "store::sqlite",
            "store::postgres",
            "store::file",
            "store::legacy",
        ],
    ),
];

/// One use of another module: where, and the path used.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Use {
    pub file: String,
    pub line: usize,
    pub from: String,
    pub path: String,
}

/// The top-level module a file belongs to (`src/plan/diff.rs` → `plan`),
/// and its module path below the crate root.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.last_mut()
        && let Some(stem) = last.strip_suffix(".rs")
    {
        *last = stem.to_string();
    }
    if parts.last().is_some_and(|l| l == "mod") {
        parts.pop();
    }
    parts
}

/// The code of a file with test modules and comments taken out.
fn code_of(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]")
            && lines
                .get(i + 1)
                .is_some_and(|next| next.trim_start().starts_with("mod "))
        {
            break;
        }
        if trimmed.starts_with("//") {
            continue;
        }
        let code = match line.find(" // ") {
            Some(at) => &line[..at],
            None => line,
        };
        out.push((i + 1, code.to_string()));
    }
    out
}

/// The first path segment after `crate::` or a chain of `super::` that
/// climbs to the crate root, with the rest of the path.
fn targets(module: &[String], code: &str) -> Vec<String> {
    let mut found = Vec::new();
    let bytes = code.as_bytes();
    let ident_at = |start: usize| -> String {
        code[start..]
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
            .collect::<String>()
            .trim_end_matches(':')
            .to_string()
    };
    let mut i = 0;
    while i < code.len() {
        let rest = &code[i..];
        let preceded_by_ident =
            i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        if !preceded_by_ident && rest.starts_with("crate::") {
            let start = i + "crate::".len();
            found.extend(group_or_path(code, start, &ident_at));
            i = start;
            continue;
        }
        if !preceded_by_ident && rest.starts_with("super::") {
            // Climb: a file's own module is module[..], `super` is its parent.
            let mut depth = module.len();
            let mut at = i;
            while code[at..].starts_with("super::") {
                depth = depth.saturating_sub(1);
                at += "super::".len();
            }
            if depth == 0 {
                found.extend(group_or_path(code, at, &ident_at));
            }
            i = at;
            continue;
        }
        i += rest.chars().next().map_or(1, char::len_utf8);
    }
    found
}

/// `a::b` at `start`, or each top-level item of `{a::b, c}`.
fn group_or_path(code: &str, start: usize, ident_at: &dyn Fn(usize) -> String) -> Vec<String> {
    if !code[start..].starts_with('{') {
        return vec![ident_at(start)];
    }
    let mut items = Vec::new();
    let mut depth = 0usize;
    let mut item_start = start + 1;
    for (offset, c) in code[start..].char_indices() {
        let at = start + offset;
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    items.push(ident_at(item_start));
                    break;
                }
            }
            ',' if depth == 1 => {
                items.push(ident_at(item_start));
                item_start = at + 1;
            }
            _ => {}
        }
    }
    // A group split over lines ends on a later line; the items on this one
    // are still checked, and the rest are caught by `ident_at` of each line
    // below (see `uses_in`).
    items
        .into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Every use of another top-level module in `text`, a file at `rel`.
pub fn uses_in(rel: &Path, text: &str) -> Vec<Use> {
    let module = module_path(rel);
    let Some(from) = module.first().cloned() else {
        return Vec::new();
    };
    // Groups that span lines: join each `use` statement onto one line.
    let mut uses = Vec::new();
    let code = code_of(text);
    let mut pending: Option<(usize, String)> = None;
    for (line, text) in code {
        let joined = match pending.take() {
            Some((first, mut so_far)) => {
                so_far.push(' ');
                so_far.push_str(text.trim());
                (first, so_far)
            }
            None => (line, text),
        };
        let open = joined.1.matches('{').count();
        let close = joined.1.matches('}').count();
        let statement = joined.1.trim_start();
        if (statement.starts_with("use ") || statement.starts_with("pub use "))
            && (open > close || !joined.1.contains(';'))
        {
            pending = Some(joined);
            continue;
        }
        for path in targets(&module, &joined.1) {
            uses.push(Use {
                file: rel.display().to_string(),
                line: joined.0,
                from: from.clone(),
                path,
            });
        }
    }
    uses
}

/// Why a use breaks the table, if it does.
pub fn breaks(u: &Use) -> Option<String> {
    let target = u.path.split("::").next().unwrap_or("");
    if target.is_empty() || target == u.from || target == "self" {
        return None;
    }
    let Some((_, allowed)) = ALLOWED.iter().find(|(m, _)| *m == u.from) else {
        return Some(format!(
            "module `{}` has no row in src/architecture.rs: say what it may use",
            u.from
        ));
    };
    if !ALLOWED.iter().any(|(m, _)| *m == target) {
        // Not a module (a macro path, a crate-root item): nothing to check.
        return None;
    }
    if !allowed.contains(&target) {
        return Some(format!("`{}` may not use `{target}`", u.from));
    }
    if let Some((_, paths)) = FORBIDDEN_PATHS.iter().find(|(m, _)| *m == u.from)
        && let Some(p) = paths.iter().find(|p| u.path.starts_with(**p))
    {
        return Some(format!("`{}` may not use `{p}`", u.from));
    }
    None
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_import_follows_the_module_table() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let mut broken = BTreeSet::new();
        let mut seen = 0;
        for file in files {
            let rel = file.strip_prefix(&src).unwrap().to_path_buf();
            let top = rel.iter().next().unwrap().to_string_lossy().into_owned();
            if ["lib.rs", "main.rs", "architecture.rs"].contains(&top.as_str())
                || rel.file_name().is_some_and(|n| n == "tests.rs")
            {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            for u in uses_in(&rel, &text) {
                seen += 1;
                if let Some(why) = breaks(&u) {
                    broken.insert(format!("{}:{}: {} ({why})", u.file, u.line, u.path));
                }
            }
        }
        assert!(seen > 200, "the scan found the crate's imports: {seen}");
        assert!(
            broken.is_empty(),
            "imports that break the module table (DESIGN §1):\n{}",
            broken.into_iter().collect::<Vec<_>>().join("\n")
        );
    }

    fn uses(path: &str, text: &str) -> Vec<(String, Option<String>)> {
        uses_in(Path::new(path), text)
            .into_iter()
            .map(|u| {
                let why = breaks(&u);
                (u.path, why)
            })
            .collect()
    }

    #[test]
    fn upward_imports_are_refused_in_every_spelling() {
        let refused = |path: &str, text: &str| {
            uses(path, text)
                .into_iter()
                .filter_map(|(p, why)| why.map(|w| format!("{p}: {w}")))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            refused("config/schema.rs", "use crate::model::Config;"),
            ["model::Config: `config` may not use `model`"]
        );
        assert_eq!(
            refused(
                "apply/mod.rs",
                "use crate::{\n    plan::Plan,\n    telegram::Client,\n};"
            ),
            ["telegram::Client: `apply` may not use `telegram`"]
        );
        assert_eq!(
            refused(
                "plan/diff/inner.rs",
                "let x = super::super::super::cli::run();"
            ),
            ["cli::run: `plan` may not use `cli`"]
        );
        assert_eq!(
            refused("plan/diff.rs", "fn f(s: &crate::store::sqlite::Sqlite) {}"),
            ["store::sqlite::Sqlite: `plan` may not use `store::sqlite`"]
        );
        assert_eq!(
            refused("newthing/mod.rs", "use crate::state::UserId;"),
            [
                "state::UserId: module `newthing` has no row in src/architecture.rs: say what it may use"
            ]
        );
        // Comments, doc text and test modules are not code.
        assert!(refused("config/a.rs", "// crate::model::x\n/// see crate::model").is_empty());
        assert!(
            refused(
                "config/a.rs",
                "fn f() {}\n#[cfg(test)]\nmod tests {\n    use crate::model::x;\n}"
            )
            .is_empty()
        );
        // What the table allows passes.
        assert!(refused("model/mod.rs", "use crate::{config::Node, spec::Config};").is_empty());
    }
}
