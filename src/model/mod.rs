//! The typed org model: checks of what the schema cannot say (`check`) on
//! the config's serde types (`crate::spec`), and resolution into the
//! `DesiredState` with why-traces (`resolve`).
//!
//! [`load`] runs the whole front half of the pipeline: files → raw tree →
//! schema → typed config → checks → desired state, collecting every
//! diagnostic on the way.

pub mod check;
pub mod folders;
pub mod photo;
pub mod resolve;
pub mod rules;
pub mod since;
pub mod time;

/// The config's types live below both `config` and `model`; the old path
/// stays for code written against it.
pub use crate::spec;

use std::path::Path;

use jiff::Timestamp;

use crate::config::{self, Diagnostic, Diagnostics, Node, SourceMap, diagnostic::codes};
use crate::state::{DesiredState, MemberState};

pub use crate::spec::Config;

/// A loaded, checked and resolved config.
#[derive(Debug)]
pub struct Model {
    pub sources: SourceMap,
    pub root: Node,
    pub config: Config,
    pub desired: DesiredState,
    /// Warnings (errors make `load` fail).
    pub warnings: Diagnostics,
}

/// Why a config could not be loaded: every problem, with the files.
#[derive(Debug)]
pub struct LoadError {
    pub sources: SourceMap,
    pub diagnostics: Diagnostics,
}

/// Load, check and resolve the config at `path` as of `now`, and read the
/// chat photos it names.
pub fn load(path: &Path, now: Timestamp) -> Result<Model, LoadError> {
    load_traced(path, now, resolve::Traces::All)
}

/// Like [`load`], with why-traces for the chats `traces` names only (add
/// the others' with [`Model::trace`] once it is known which are shown).
pub fn load_traced(
    path: &Path,
    now: Timestamp,
    traces: resolve::Traces<'_>,
) -> Result<Model, LoadError> {
    let mut model = from_loaded_traced(config::load(path), now, traces)?;
    let mut problems = photo::digest(
        &model.config,
        &model.root,
        &mut model.desired,
        &photo::OnDisk,
    );
    if problems.has_errors() {
        problems.sort();
        return Err(LoadError {
            sources: model.sources,
            diagnostics: problems,
        });
    }
    model.warnings.extend(problems);
    Ok(model)
}

/// Give the chats orgform created (by config key, from its state) their
/// ids where the config does not name one yet, and resolve again.
pub fn adopt_created(
    model: &mut Model,
    created: &std::collections::BTreeMap<String, crate::state::ChatId>,
    now: Timestamp,
) {
    let mut changed = false;
    for (key, id) in created {
        if let Some(chat) = model.config.chats.get_mut(key)
            && chat.id.is_none()
        {
            chat.id = Some(*id);
            changed = true;
        }
    }
    if changed {
        model.desired = resolve::resolve(&model.config, now);
        // Photos were hashed into the first resolution; again here.
        let _ = photo::digest(
            &model.config,
            &model.root,
            &mut model.desired,
            &photo::OnDisk,
        );
    }
}

/// Like [`load`], returning only the desired state.
pub fn load_desired(path: &Path, now: Timestamp) -> Result<DesiredState, LoadError> {
    load(path, now).map(|m| m.desired)
}

/// Load, check and resolve one config file given as text (`name` decides
/// YAML or KDL by its extension, and is what diagnostics show).
pub fn load_text(name: &str, text: &str, now: Timestamp) -> Result<Model, LoadError> {
    from_loaded(
        config::load::load_sources(vec![(
            name.to_string(),
            name.into(),
            text.as_bytes().to_vec(),
        )]),
        now,
    )
}

/// Check and resolve files that are already loaded (from disk or git).
pub fn from_loaded(loaded: config::Loaded, now: Timestamp) -> Result<Model, LoadError> {
    from_loaded_traced(loaded, now, resolve::Traces::All)
}

/// Like [`from_loaded`], with why-traces for the chats `traces` names only.
pub fn from_loaded_traced(
    loaded: config::Loaded,
    now: Timestamp,
    traces: resolve::Traces<'_>,
) -> Result<Model, LoadError> {
    let config::Loaded {
        sources,
        root,
        mut diagnostics,
    } = loaded;
    let Some(root) = root else {
        diagnostics.sort();
        return Err(LoadError {
            sources,
            diagnostics,
        });
    };
    // A valid tree is read straight into the types (no JSON copy); an
    // invalid one is pruned of its invalid parts first.
    let (schema_problems, typed) = config::schema::validate_typed::<Config>(&root);
    diagnostics.extend(schema_problems);
    let mut config: Config = match typed {
        Ok(c) => c,
        // What the schema found already explains why the rest cannot be read.
        Err(None) => {
            diagnostics.sort();
            return Err(LoadError {
                sources,
                diagnostics,
            });
        }
        Err(Some(e)) => {
            // The schema is generated from these types, so this is rare:
            // report it against the config as a whole.
            diagnostics.push(
                Diagnostic::error(
                    codes::WRONG_TYPE,
                    format!("the config does not match its types: {e}"),
                )
                .at(root.span, "in this config")
                .hint("check the value named in the message against schema/orgform.schema.json"),
            );
            diagnostics.sort();
            return Err(LoadError {
                sources,
                diagnostics,
            });
        }
    };
    photo::locate(&mut config, &root, &sources);
    diagnostics.extend(check::Checker::new(&root, &config).run());
    if diagnostics.has_errors() {
        diagnostics.sort();
        return Err(LoadError {
            sources,
            diagnostics,
        });
    }
    let desired = resolve::resolve_traced(&config, now, traces);
    diagnostics.sort();
    Ok(Model {
        sources,
        root,
        config,
        desired,
        warnings: diagnostics,
    })
}

/// Counts for `validate`'s one-line summary.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub people: usize,
    pub departments: usize,
    pub roles: usize,
    pub chats: usize,
    /// Users who should be in some chat (admins, members, restricted), summed over chats.
    pub memberships: usize,
    pub admin_seats: usize,
}

impl Model {
    /// Add the why-traces of the chats named (by config key) to a model
    /// loaded with only some traced: resolving is deterministic, so they are
    /// the traces a fully traced load gives for those chats.
    pub fn trace(&mut self, chats: &std::collections::BTreeSet<String>, now: Timestamp) {
        let traced = resolve::Resolver::new(&self.config, now).traces_of(chats);
        self.desired.why.extend(traced);
    }

    pub fn summary(&self) -> Summary {
        let chats = &self.desired.state.chats;
        let admin_seats = chats.values().map(|c| c.admins.len()).sum();
        let members: usize = chats
            .values()
            .map(|c| {
                c.members
                    .values()
                    .filter(|m| matches!(m, MemberState::Member | MemberState::Restricted { .. }))
                    .count()
            })
            .sum();
        Summary {
            people: self.config.people.len(),
            departments: self.config.departments.len(),
            roles: self.config.roles.len(),
            chats: chats.len(),
            memberships: members + admin_seats,
            admin_seats,
        }
    }
}
