//! `orgform show`: the resolved model — everything as JSON, or one person's
//! or one chat's effective access with why-traces.

use super::output::{out, outln};
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::error::{CliError, exit};
use crate::config::diagnostic::did_you_mean;
use crate::render::model as render;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ShowFormat {
    Text,
    Json,
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// A config file or directory [default: ./org/ if it exists, else ./orgform.yaml (.yml, .kdl)].
    #[arg(default_value_os_t = crate::config::load::default_path(), hide_default_value = true)]
    pub config: PathBuf,
    #[command(subcommand)]
    pub subject: Option<Subject>,
    #[arg(long, value_enum, default_value = "text", global = true)]
    pub format: ShowFormat,
    /// Resolve as of this instant (RFC 3339) instead of now.
    #[arg(long, global = true)]
    pub now: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum Subject {
    /// Everything one person can do, in every chat, and why.
    Person { name: String },
    /// A chat's resolved admins, members, restrictions and settings.
    Chat { name: String },
}

pub fn run(args: ShowArgs) -> Result<u8, CliError> {
    let now = super::parse_now(args.now.as_deref())?;
    let model = crate::model::load(&args.config, now)?;
    let value = match &args.subject {
        None => match args.format {
            ShowFormat::Json => render::desired_json(&model),
            ShowFormat::Text => {
                for key in model.desired.state.chats.keys() {
                    outln!(
                        "{}",
                        crate::render::escape::terminal_text(&render::chat_text(&model, key))
                    )?;
                }
                return Ok(exit::OK);
            }
        },
        Some(Subject::Person { name }) => {
            if !model.config.people.contains_key(name) {
                return Err(unknown("person", name, model.config.people.keys()));
            }
            match args.format {
                ShowFormat::Json => render::person_json(&model, name),
                ShowFormat::Text => {
                    out!(
                        "{}",
                        crate::render::escape::terminal_text(&render::person_text(&model, name))
                    )?;
                    return Ok(exit::OK);
                }
            }
        }
        Some(Subject::Chat { name }) => {
            if !model.desired.state.chats.contains_key(name) {
                return Err(unknown("chat", name, model.config.chats.keys()));
            }
            match args.format {
                ShowFormat::Json => render::chat_json(&model, name),
                ShowFormat::Text => {
                    out!(
                        "{}",
                        crate::render::escape::terminal_text(&render::chat_text(&model, name))
                    )?;
                    return Ok(exit::OK);
                }
            }
        }
    };
    outln!("{}", serde_json::to_string_pretty(&value).expect("json"))?;
    Ok(exit::OK)
}

fn unknown<'a>(
    kind: &str,
    name: &str,
    known: impl Iterator<Item = &'a String> + Clone,
) -> CliError {
    let hint = did_you_mean(name, known.clone().map(String::as_str)).unwrap_or_else(|| {
        format!(
            "known {kind}s: {}",
            known.map(String::as_str).collect::<Vec<_>>().join(", ")
        )
    });
    CliError::with_hint(format!("no {kind} named `{name}` in the config"), hint)
}
