//! `orgform completions`: shell completion scripts (clap_complete) and the
//! man page (clap_mangen), generated from the same clap definitions.

use clap::{Args, CommandFactory, ValueEnum};

use super::error::{CliError, exit};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Target {
    Bash,
    Zsh,
    Fish,
    Elvish,
    Powershell,
    /// The roff man page.
    Man,
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    #[arg(value_enum)]
    pub target: Target,
}

pub fn run(args: CompletionsArgs) -> Result<u8, CliError> {
    let mut cmd = super::Cli::command();
    let mut out = std::io::stdout();
    use clap_complete::Shell;
    let shell = match args.target {
        Target::Bash => Shell::Bash,
        Target::Zsh => Shell::Zsh,
        Target::Fish => Shell::Fish,
        Target::Elvish => Shell::Elvish,
        Target::Powershell => Shell::PowerShell,
        Target::Man => {
            clap_mangen::Man::new(cmd).render(&mut out)?;
            return Ok(exit::OK);
        }
    };
    clap_complete::generate(shell, &mut cmd, "orgform", &mut out);
    Ok(exit::OK)
}
