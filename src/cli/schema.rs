//! `orgform schema`: print the config language's JSON Schema (the same text
//! as the checked-in `schema/orgform.schema.json`).

use super::output::out;
use clap::Args;

use super::error::{CliError, exit};

#[derive(Args, Debug)]
pub struct SchemaArgs {}

pub fn run(_args: SchemaArgs) -> Result<u8, CliError> {
    out!("{}", crate::config::schema::schema_text())?;
    Ok(exit::OK)
}
