//! Reading the config: diagnostics, KDL and YAML equivalence, the schema file, resolution.
//!
//! One test binary per area (linking one binary per file cost minutes of
//! CI); each module below was once a file of its own.

mod diagnostics;
mod kdl_equivalence;
mod resolve;
mod schema_file;
