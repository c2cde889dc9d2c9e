//! Reading config files (YAML and KDL) into one raw tree with source spans,
//! validating it against the JSON Schema, and collecting diagnostics.

pub mod diagnostic;
pub mod instance;
pub mod kdl;
pub mod load;
pub mod schema;
pub mod source;
pub mod tree;
pub mod tree_de;
pub mod yaml;
pub mod yaml_direct;

pub use diagnostic::{Diagnostic, Diagnostics, Label, Severity};
pub use load::{Loaded, load};
pub use source::{FileId, SourceFile, SourceMap, Span};
pub use tree::{Entry, Node, Value};
