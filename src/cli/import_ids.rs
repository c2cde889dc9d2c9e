//! `orgform import ids`: write the ids of chats the user provider created
//! (recorded in orgform's state under their config keys) into the config
//! files that declare them, keeping each file's formatting and comments.
//! Where the edit goes is decided in `crate::import::ids`; this checks
//! the edited config still loads and writes each file through a
//! temporary file renamed into place.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;

use super::connect;
use super::error::{CliError, exit};
use super::output::outln;

#[derive(Args, Debug)]
pub struct IdsArgs {
    /// The config file or directory declaring the chats.
    #[arg(long, default_value = "org")]
    pub config: PathBuf,
    /// Where orgform keeps its state [env: ORGFORM_STATE_DIR; default: .orgform].
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// The state backend (a SQLite path or a postgres:// URL) [env: ORGFORM_STATE].
    #[arg(long)]
    pub state: Option<String>,
    /// Show the edits without writing them.
    #[arg(long)]
    pub dry_run: bool,
}

pub fn run(args: IdsArgs) -> Result<u8, CliError> {
    let now = jiff::Timestamp::now();
    let model = crate::model::load(&args.config, now)?;
    let telegram = connect::TelegramArgs {
        sandbox: false,
        api_url: None,
        token_file: None,
        state_dir: args.state_dir.clone(),
        state: args.state.clone(),
        parallel_chats: 1,
        requests_per_second: 0.0,
        max_requests_per_second: 200.0,
        fixed_pace: false,
    };
    let dir = connect::state_dir(&telegram)?;
    let backend = connect::open_state(args.state.as_deref(), &dir)?;
    let created = backend
        .load()
        .map_err(connect::state_error)?
        .created_chats();
    let rewrites = crate::import::ids::rewrites(&model, &created).map_err(|e| CliError::User {
        message: e.message,
        hint: e.hint,
    })?;
    if rewrites.is_empty() {
        outln!("Every chat orgform created already has its id in the config.")?;
        return Ok(exit::OK);
    }
    // The edited files, with the rest, must load and give each chat its id.
    let replaced: BTreeMap<&std::path::Path, &str> = rewrites
        .iter()
        .map(|r| (r.path.as_path(), r.text.as_str()))
        .collect();
    let inputs = model
        .sources
        .files()
        .map(|(_, f)| {
            let text = replaced.get(f.path.as_path()).copied().unwrap_or(&f.text);
            (f.name.clone(), f.path.clone(), text.as_bytes().to_vec())
        })
        .collect();
    let again = crate::model::from_loaded(crate::config::load::load_sources(inputs), now)?;
    for r in &rewrites {
        for (key, id) in &r.chats {
            if again.config.chats.get(key).and_then(|c| c.id) != Some(*id) {
                return Err(CliError::user(format!(
                    "editing {} would not give chats.{key} the id {id}; nothing was written",
                    r.name
                )));
            }
        }
    }
    for r in &rewrites {
        if !args.dry_run {
            write_in_place(&r.path, &r.before, &r.text)?;
        }
        for (key, id) in &r.chats {
            outln!(
                "{} `id: {id}` to chats.{} in {}",
                if args.dry_run { "Would add" } else { "Added" },
                crate::render::escape::terminal(key),
                crate::render::escape::terminal(&r.name)
            )?;
        }
    }
    Ok(exit::OK)
}

/// Replace a config file's content (`crate::atomic_file`: a kill or a
/// full disk leaves the old file or the new, never half; a symlink stays
/// a link), unless the file no longer holds what the edit was made from:
/// then someone (an editor, another `import ids`) changed it meanwhile,
/// and writing would lose their change.
fn write_in_place(path: &std::path::Path, read: &str, text: &str) -> Result<(), CliError> {
    let cannot =
        |e: std::io::Error| CliError::caused(format!("cannot write {}: {e}", path.display()), e);
    let now = std::fs::read(path).map_err(cannot)?;
    if now != read.as_bytes() {
        return Err(CliError::with_hint(
            format!(
                "{} changed while orgform was editing it; it was not written",
                path.display()
            ),
            "run `orgform import ids` again",
        ));
    }
    crate::atomic_file::replace(path, text.as_bytes(), crate::atomic_file::Access::AsBefore)
        .map_err(cannot)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_changed_since_it_was_read_is_not_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("org.yaml");
        std::fs::write(&path, "chats: {}\n# edited meanwhile\n").unwrap();
        let e = write_in_place(&path, "chats: {}\n", "chats: {}\nid: 1\n").unwrap_err();
        assert!(
            e.to_string()
                .contains("changed while orgform was editing it"),
            "{e}"
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "chats: {}\n# edited meanwhile\n"
        );
        write_in_place(&path, "chats: {}\n# edited meanwhile\n", "new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
    }
}
