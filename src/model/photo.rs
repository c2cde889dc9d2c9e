//! Chat photos named in the config: where their files are, and what is in
//! them.
//!
//! A `photo:` value is a path relative to the file that names it, so that a
//! config directory can be moved or checked out anywhere. [`locate`] turns
//! each one into a path usable from the current directory (pure: it only
//! looks at where the config files were loaded from). [`digest`] then reads
//! the files, checks that Telegram would take them (a JPEG or PNG, at most
//! 10 MiB) and records their SHA-256 in the desired state: the planner
//! compares photos by content, never by name.
//!
//! Files come from the disk, or from the same git revision as the config
//! (`orgform diff`, `plan --changed-since`), through [`PhotoFiles`]. A photo
//! left unhashed (one that could not be read at an old revision) is one the
//! planner cannot compare, and leaves alone.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::diagnostic::codes;
use crate::config::tree::{Node, escape_pointer_token as esc};
use crate::config::{Diagnostic, Diagnostics, SourceMap};
use crate::state::{DesiredState, Photo};

use super::Config;

/// Telegram's limit for uploaded photos.
pub const MAX_BYTES: u64 = 10 * 1024 * 1024;

/// Make every `photo:` relative to the directory of the file that names it.
pub fn locate(config: &mut Config, root: &Node, sources: &SourceMap) {
    let sections = [
        ("templates", &mut config.templates),
        ("chats", &mut config.chats),
    ];
    for (section, specs) in sections {
        for (key, spec) in specs.iter_mut() {
            let Some(photo) = &spec.photo else { continue };
            let (node, found) = root.pointer(&format!("/{section}/{}/photo", esc(key)));
            if !found {
                continue;
            }
            let declared_in = &sources.get(node.span.file).path;
            spec.photo = Some(beside(declared_in, photo).to_string_lossy().into_owned());
        }
    }
}

/// `photo` relative to the directory of `file` (absolute paths stay).
pub(crate) fn beside(file: &Path, photo: &str) -> PathBuf {
    let photo = Path::new(photo);
    if photo.is_absolute() {
        return photo.to_path_buf();
    }
    let joined = match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(photo),
        _ => photo.to_path_buf(),
    };
    tidy(&joined)
}

/// `a/b/../c` → `a/c`, without touching the file system (plans and
/// journals show this path; `..` past the start is kept).
fn tidy(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component> = Vec::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out.iter().collect()
}

/// Where photo files are read from: the disk, or a git revision.
pub trait PhotoFiles {
    /// The file's bytes, or why it cannot be read (with a hint). Files over
    /// [`MAX_BYTES`] may be refused without reading them.
    fn read(&self, path: &Path) -> Result<Vec<u8>, (String, &'static str)>;
}

/// Photo files on disk.
pub struct OnDisk;

impl PhotoFiles for OnDisk {
    fn read(&self, path: &Path) -> Result<Vec<u8>, (String, &'static str)> {
        let meta = std::fs::metadata(path).map_err(|e| {
            (
                format!("cannot read the photo {}: {e}", path.display()),
                "the path is relative to the file that names it",
            )
        })?;
        if !meta.is_file() {
            return Err((
                format!("the photo {} is not a file", path.display()),
                "name a JPEG or PNG file",
            ));
        }
        if meta.len() > MAX_BYTES {
            return Err(too_large(path, meta.len()));
        }
        std::fs::read(path).map_err(|e| {
            (
                format!("cannot read the photo {}: {e}", path.display()),
                "check the file's permissions",
            )
        })
    }
}

fn too_large(path: &Path, len: u64) -> (String, &'static str) {
    (
        format!(
            "the photo {} is {len} bytes; Telegram takes at most {MAX_BYTES}",
            path.display()
        ),
        "scale the image down (Telegram shows chat photos at 640×640 at most)",
    )
}

/// What a photo file is, or why Telegram would refuse it.
fn inspect(files: &dyn PhotoFiles, path: &Path) -> Result<String, (String, &'static str)> {
    let bytes = files.read(path)?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(too_large(path, bytes.len() as u64));
    }
    let jpeg = bytes.starts_with(&[0xFF, 0xD8, 0xFF]);
    let png = bytes.starts_with(b"\x89PNG\r\n\x1a\n");
    if !jpeg && !png {
        return Err((
            format!(
                "the photo {} is neither a JPEG nor a PNG image",
                path.display()
            ),
            "Telegram takes chat photos as JPEG or PNG",
        ));
    }
    Ok(crate::state::Photo::hash_of(&bytes))
}

/// Read every photo the config names, report the ones Telegram would
/// refuse, and fill in the content hash of each chat's photo.
pub fn digest(
    config: &Config,
    root: &Node,
    desired: &mut DesiredState,
    files: &dyn PhotoFiles,
) -> Diagnostics {
    let mut diagnostics = Diagnostics::default();
    let mut hashes: BTreeMap<String, String> = BTreeMap::new();
    let sections = [("templates", &config.templates), ("chats", &config.chats)];
    for (section, specs) in sections {
        for (key, spec) in specs {
            let Some(photo) = &spec.photo else { continue };
            if hashes.contains_key(photo) {
                continue;
            }
            match inspect(files, Path::new(photo)) {
                Ok(sha) => {
                    hashes.insert(photo.clone(), sha);
                }
                Err((message, hint)) => {
                    let span = root
                        .pointer(&format!("/{section}/{}/photo", esc(key)))
                        .0
                        .span;
                    diagnostics.push(
                        Diagnostic::error(codes::PHOTO, message)
                            .at(span, "this photo")
                            .hint(hint),
                    );
                }
            }
        }
    }
    for chat in desired.state.chats.values_mut() {
        if let Some(Photo::File { sha256, path, .. }) = &mut chat.settings.photo
            && let Some(sha) = hashes.get(path.to_string_lossy().as_ref())
        {
            *sha256 = sha.clone();
        }
    }
    diagnostics
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn photos_are_found_beside_the_file_that_names_them() {
        assert_eq!(
            beside(Path::new("org/chats/eng.yaml"), "../photos/eng.png"),
            Path::new("org/photos/eng.png")
        );
        assert_eq!(
            beside(Path::new("eng.yaml"), "./eng.png"),
            Path::new("eng.png")
        );
        assert_eq!(
            beside(Path::new("../org/eng.yaml"), "../../x.png"),
            Path::new("../../x.png")
        );
        assert_eq!(
            beside(Path::new("org/eng.yaml"), "/srv/logo.jpg"),
            Path::new("/srv/logo.jpg")
        );
    }
}
