//! `orgform completions`: shell completion scripts (clap_complete) and the
//! man pages (clap_mangen), generated from the same clap definitions. Every
//! man page (`orgform.1` and one per subcommand, `orgform-plan.1`, …) has
//! EXIT STATUS, ENVIRONMENT and FILES sections.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::error::{CliError, exit};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Target {
    Bash,
    Zsh,
    Fish,
    Elvish,
    Powershell,
    /// The roff man page (orgform.1; with --out-dir, every page).
    Man,
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    #[arg(value_enum)]
    pub target: Target,
    /// With `man`: write orgform.1 and a page for every subcommand
    /// (orgform-plan.1, orgform-sandbox-serve.1, …) into this directory.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

pub fn run(args: CompletionsArgs) -> Result<u8, CliError> {
    let mut cmd = super::command();
    use clap_complete::Shell;
    let shell = match args.target {
        Target::Bash => Shell::Bash,
        Target::Zsh => Shell::Zsh,
        Target::Fish => Shell::Fish,
        Target::Elvish => Shell::Elvish,
        Target::Powershell => Shell::PowerShell,
        Target::Man => {
            cmd = cmd.disable_help_subcommand(true);
            cmd.build();
            match &args.out_dir {
                None => std::io::stdout().lock().write_all(&man_page(&cmd)?)?,
                Some(dir) => {
                    std::fs::create_dir_all(dir)?;
                    let written = write_pages(&cmd, dir)?;
                    eprintln!("Wrote {written} man pages to {}.", dir.display());
                }
            }
            return Ok(exit::OK);
        }
    };
    if args.out_dir.is_some() {
        return Err(CliError::with_hint(
            "--out-dir is for `completions man`",
            "redirect the completion script: orgform completions bash > orgform.bash",
        ));
    }
    // clap_complete panics on a failed write: render into memory first so a
    // closed pipe is an error, not a panic.
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "orgform", &mut buf);
    std::io::stdout().lock().write_all(&buf)?;
    Ok(exit::OK)
}

fn write_pages(cmd: &clap::Command, dir: &std::path::Path) -> Result<usize, CliError> {
    let mut written = 0;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        written += write_pages(sub, dir)?;
    }
    let name = cmd.get_display_name().unwrap_or(cmd.get_name());
    let path = dir.join(format!("{name}.1"));
    crate::atomic_file::replace(&path, &man_page(cmd)?, crate::atomic_file::Access::AsBefore)
        .map_err(|e| CliError::caused(format!("cannot write {}", path.display()), e))?;
    Ok(written + 1)
}

/// Escape text for roff: backslashes, and a leading `.` or `'` that would
/// be read as a request.
fn roff(text: &str) -> String {
    text.lines()
        .map(|l| {
            let l = l.replace('\\', "\\e").replace('-', "\\-");
            if l.starts_with('.') || l.starts_with('\'') {
                format!("\\&{l}")
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The environment variables orgform reads.
const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "ORGFORM_TELEGRAM_TOKEN",
        "The bot token, when --token-file is not given. Never printed or logged.",
    ),
    (
        "ORGFORM_TELEGRAM_API_URL",
        "The Bot API base URL, when --api-url is not given.",
    ),
    (
        "ORGFORM_STATE_DIR",
        "Where the store, journals and sandbox world live, when --state-dir is not given (default .orgform).",
    ),
    (
        "ORGFORM_SANDBOX_TOKEN",
        "The token `sandbox serve` accepts.",
    ),
    (
        "RUST_LOG",
        "Log filter for the log lines on stderr (e.g. orgform=debug); overrides -v. Tokens are redacted.",
    ),
    (
        "NO_COLOR",
        "Set and not empty: no colour (unless --color always).",
    ),
    (
        "CLICOLOR_FORCE",
        "Set and not 0: colour even when the output is not a terminal (unless NO_COLOR or --color never).",
    ),
    (
        "GITHUB_ACTIONS",
        "true: diagnostics are also printed as GitHub workflow commands (annotations).",
    ),
];

/// The files orgform reads and writes.
const FILES: &[(&str, &str)] = &[
    (
        "./org/ or ./orgform.yaml",
        "The default config when no CONFIG path is given: the directory org/ if it exists, else orgform.yaml (or .yml, .kdl) in the working directory. A directory is read as every .yaml, .yml and .kdl file below it.",
    ),
    (
        ".orgform/",
        "The state dir (mode 0700): store.json, journals/ and, with --sandbox, sandbox/.",
    ),
    (
        "FILE given to plan --out",
        "A saved plan, written with mode 0600.",
    ),
];

/// One man page: clap_mangen's sections, then EXIT STATUS, ENVIRONMENT and
/// FILES. The exit table is left out of clap's "EXTRA" section (it has its
/// own section here).
fn man_page(cmd: &clap::Command) -> Result<Vec<u8>, CliError> {
    let notes = cmd.get_after_help().map(|t| {
        t.to_string()
            .replace(super::error::exit::TABLE, "")
            .trim()
            .to_string()
    });
    let man = clap_mangen::Man::new(cmd.clone().after_help("").after_long_help(""));
    let mut buf: Vec<u8> = Vec::new();
    man.render_title(&mut buf)?;
    man.render_name_section(&mut buf)?;
    man.render_synopsis_section(&mut buf)?;
    man.render_description_section(&mut buf)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut buf)?;
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(&mut buf)?;
    }
    if let Some(notes) = notes.filter(|n| !n.is_empty()) {
        let _ = writeln!(buf, ".SH NOTES\n{}", roff(&notes));
    }
    let _ = writeln!(buf, ".SH \"EXIT STATUS\"");
    for line in super::error::exit::TABLE.lines().skip(1) {
        let line = line.trim();
        let (code, text) = line.split_once(' ').unwrap_or((line, ""));
        let _ = writeln!(buf, ".TP\n.B {code}\n{}", roff(text.trim()));
    }
    let _ = writeln!(buf, ".SH ENVIRONMENT");
    for (name, text) in ENVIRONMENT {
        let _ = writeln!(buf, ".TP\n.B {name}\n{}", roff(text));
    }
    let _ = writeln!(buf, ".SH FILES");
    for (name, text) in FILES {
        let _ = writeln!(buf, ".TP\n.I {}\n{}", roff(name), roff(text));
    }
    let sub_pages: Vec<String> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| format!("{}(1)", s.get_display_name().unwrap_or(s.get_name())))
        .collect();
    if !sub_pages.is_empty() {
        let _ = writeln!(
            buf,
            ".SH \"SEE ALSO\"\n{}\n.PP\nGenerate every page with \\fBorgform completions man \\-\\-out\\-dir DIR\\fR.",
            roff(&sub_pages.join(", "))
        );
    }
    if cmd.get_version().is_some() {
        man.render_version_section(&mut buf)?;
    }
    Ok(buf)
}
