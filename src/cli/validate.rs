//! `orgform validate`: load and check a config, print every diagnostic or a
//! one-line summary.

use super::output::{out, outln};
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::error::{CliError, exit};
use crate::render::diagnostics;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DiagnosticFormat {
    Text,
    Json,
    Github,
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// A config file or directory [default: ./org/ if it exists, else ./orgform.yaml (.yml, .kdl)].
    #[arg(default_value_os_t = crate::config::load::default_path(), hide_default_value = true)]
    pub config: PathBuf,
    /// Output format; `github` is chosen automatically when GITHUB_ACTIONS=true.
    #[arg(long, value_enum)]
    pub format: Option<DiagnosticFormat>,
    /// Resolve as of this instant (RFC 3339) instead of now: grants expire by it.
    #[arg(long)]
    pub now: Option<String>,
}

pub fn run(args: ValidateArgs) -> Result<u8, CliError> {
    let now = super::parse_now(args.now.as_deref())?;
    let format = args.format.unwrap_or(if super::github_actions() {
        DiagnosticFormat::Github
    } else {
        DiagnosticFormat::Text
    });
    // validate shows no why-traces, but for policy violations: resolve
    // without them, and add every chat's only when there are rules.
    let untraced = std::collections::BTreeSet::new();
    let loaded = crate::model::load_traced(
        &args.config,
        now,
        crate::model::resolve::Traces::Only(&untraced),
    );
    match loaded {
        Ok(mut model) => {
            if model
                .config
                .policies
                .as_ref()
                .is_some_and(|p| !p.rules.is_empty())
            {
                super::plan::trace_shown(&mut model, None, now);
            }
            // The process ends after printing: freeing the model of a
            // 10,000-person org was a sixth of validate's time.
            let model = std::mem::ManuallyDrop::new(model);
            let s = model.summary();
            // Policy rules over the resolved config (no Telegram).
            let policy = crate::policy::evaluate_config(&model, now);
            use crate::render::policy as policy_render;
            match format {
                DiagnosticFormat::Json => {
                    let mut v = diagnostics::json(&model.sources, &model.warnings);
                    v["summary"] = serde_json::to_value(&s).expect("summary serialises");
                    v["policy"] = policy_render::json(&policy);
                    outln!("{}", serde_json::to_string_pretty(&v).expect("json"))?;
                }
                DiagnosticFormat::Github => {
                    out!("{}", diagnostics::github(&model.sources, &model.warnings))?;
                    out!("{}", policy_render::github(&policy))?;
                    out!(
                        "{}",
                        policy_render::text(&policy, crate::render::Style::Plain)
                    )?;
                    outln!("{}", summary_line(&s, &policy))?;
                }
                DiagnosticFormat::Text => {
                    if !model.warnings.is_empty() {
                        eprint!(
                            "{}",
                            diagnostics::text(
                                &model.sources,
                                &model.warnings,
                                super::stderr_style()
                            )
                        );
                    }
                    out!("{}", policy_render::text(&policy, super::stdout_style()))?;
                    outln!("{}", summary_line(&s, &policy))?;
                }
            }
            if let Some(code) = super::plan::policy_refusal(&policy) {
                return Ok(code);
            }
            Ok(exit::OK)
        }
        Err(e) => match format {
            DiagnosticFormat::Text => Err(e.into()),
            DiagnosticFormat::Json => {
                outln!(
                    "{}",
                    serde_json::to_string_pretty(&diagnostics::json(&e.sources, &e.diagnostics))
                        .expect("json")
                )?;
                Ok(exit::ERROR)
            }
            DiagnosticFormat::Github => {
                out!("{}", diagnostics::github(&e.sources, &e.diagnostics))?;
                eprint!(
                    "{}",
                    diagnostics::text(&e.sources, &e.diagnostics, super::stderr_style())
                );
                Ok(exit::ERROR)
            }
        },
    }
}

fn summary_line(s: &crate::model::Summary, policy: &crate::policy::Report) -> String {
    let mut line = format!(
        "valid: {} people, {} departments, {} roles, {} chats, {} effective memberships, {} admin seats",
        s.people, s.departments, s.roles, s.chats, s.memberships, s.admin_seats
    );
    if policy.rules > 0 {
        line.push_str(&format!(
            "; policy rules: {}",
            crate::render::policy::summary(policy)
        ));
    }
    line
}
