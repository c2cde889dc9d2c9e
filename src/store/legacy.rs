//! The move from the old file store: on first use of a backend, an existing
//! `<state-dir>/state.json` and `<state-dir>/journal/*.jsonl` are imported
//! into it and renamed (`state.json.imported`, `journal.imported/`), so
//! they stay as a backup but can never be read as current state again.
//!
//! A journal whose last line is torn (the process died while writing it)
//! is imported without that line, with a warning; a damaged line before
//! the last is an error, and nothing is imported or renamed.

use std::path::Path;

use super::backend::{Backend, StoreError};
use super::file;

/// The meta key that records that the import ran.
const DONE_KEY: &str = "imported_state_json";

/// Import the old files of `state_dir` into `backend` if they exist and
/// were not imported before. Returns what it did, for the user.
pub fn import_once(backend: &dyn Backend, state_dir: &Path) -> Result<Vec<String>, StoreError> {
    let json = file::store_path(state_dir);
    let journals = state_dir.join("journal");
    if !json.exists() && !journals.is_dir() {
        return Ok(Vec::new());
    }
    if backend.meta(DONE_KEY)?.is_some() {
        return Ok(vec![format!(
            "warning: {} holds an old state.json or journal folder, but {} already has imported state; they were left alone",
            state_dir.display(),
            backend.describe()
        )]);
    }
    // Importing writes: under the workspace lock, like every writer.
    let holder = super::Holder::me("import of state.json", jiff::Timestamp::now());
    backend.lock(&holder)?;
    let imported = import_locked(backend, state_dir);
    let _ = backend.unlock(&holder);
    imported
}

fn import_locked(backend: &dyn Backend, state_dir: &Path) -> Result<Vec<String>, StoreError> {
    let json = file::store_path(state_dir);
    let journals = state_dir.join("journal");
    if backend.meta(DONE_KEY)?.is_some() {
        // Another process imported it while this one waited.
        return Ok(Vec::new());
    }
    let mut notes = Vec::new();
    let cfg = |detail: String| StoreError::Config(detail);
    let old = file::load(state_dir).map_err(|e| cfg(e.to_string()))?;
    let current = backend.load()?;
    let empty = current.chats.is_empty() && current.update_offset.is_none();
    if !empty && json.exists() {
        return Err(cfg(format!(
            "{} holds state already, and {} has a state.json too; refusing to merge them blindly. hint: `orgform state import {}` replaces the backend's records with the file, or move the file aside",
            backend.describe(),
            state_dir.display(),
            json.display()
        )));
    }
    // Read every journal before writing anything.
    let mut runs = Vec::new();
    if journals.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(&journals)
            .map_err(|e| cfg(format!("cannot read {}: {e}", journals.display())))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .collect();
        entries.sort();
        for path in entries {
            let run_id = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let text = std::fs::read_to_string(&path)
                .map_err(|e| cfg(format!("cannot read {}: {e}", path.display())))?;
            let (events, torn) = split_journal(&text).map_err(|line| {
                cfg(format!(
                    "the journal {} is damaged at line {line}; nothing was imported. hint: repair or remove that line",
                    path.display()
                ))
            })?;
            if torn {
                notes.push(format!(
                    "warning: the last line of {} was torn (the process died while writing it) and was ignored",
                    path.display()
                ));
            }
            runs.push((run_id, events));
        }
    }
    if json.exists() {
        backend.replace_all(&old)?;
    }
    for (run_id, events) in &runs {
        let started = events
            .first()
            .and_then(|e| e.get("at"))
            .and_then(|a| a.as_str())
            .unwrap_or("")
            .to_string();
        if backend.events(run_id).is_ok() {
            backend.delete_run(run_id)?;
        }
        backend.create_run(run_id, "apply", &started)?;
        for event in events {
            backend.append(run_id, &event.to_string(), status_of(event))?;
        }
    }
    backend.set_meta(DONE_KEY, &jiff::Timestamp::now().to_string())?;
    let rename = |from: &Path| -> Result<(), StoreError> {
        let mut to = from.as_os_str().to_os_string();
        to.push(".imported");
        std::fs::rename(from, &to).map_err(|e| {
            cfg(format!(
                "imported {}, but cannot rename it to keep it as a backup: {e}",
                from.display()
            ))
        })
    };
    if json.exists() {
        rename(&json)?;
        notes.push(format!(
            "note: imported {} into {} (the file is kept as {}.imported)",
            json.display(),
            backend.describe(),
            json.display()
        ));
    }
    if journals.is_dir() {
        rename(&journals)?;
        notes.push(format!(
            "note: imported {} run journal(s) from {} (kept as {}.imported)",
            runs.len(),
            journals.display(),
            journals.display()
        ));
    }
    Ok(notes)
}

/// The events of a JSON-lines journal, and whether its last line was torn.
/// `Err(line)` when a line before the last does not parse.
pub fn split_journal(text: &str) -> Result<(Vec<serde_json::Value>, bool), usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut events = Vec::new();
    let mut torn = false;
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<serde_json::Value>(line) {
            Ok(v) if v.is_object() => events.push(v),
            _ if i + 1 == lines.len() => torn = true,
            _ => return Err(i + 1),
        }
    }
    Ok((events, torn))
}

/// How an event moves a run's status (see [`Backend::append`]).
pub fn status_of(event: &serde_json::Value) -> Option<Option<&str>> {
    match event.get("event").and_then(|e| e.as_str()) {
        Some("finish") => Some(event.get("status").and_then(|s| s.as_str())),
        Some("abandon") => Some(Some("abandoned")),
        Some("resume") => Some(None),
        _ => None,
    }
}
