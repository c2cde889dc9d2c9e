//! Writing to stdout without panicking: `out!` and `outln!` are `print!`
//! and `println!` that return a [`CliError`] instead of panicking, so a
//! reader that goes away (`orgform plan | head`) ends the command quietly
//! with [`CliError::ClosedPipe`].

use std::io::Write;

use super::error::CliError;

/// Write formatted text to stdout; a closed pipe is `CliError::ClosedPipe`.
pub fn stdout_fmt(args: std::fmt::Arguments<'_>) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    out.write_fmt(args)?;
    Ok(())
}

/// Flush stdout at the end of a command (the buffer may hold the tail).
pub fn flush() -> Result<(), CliError> {
    std::io::stdout().lock().flush()?;
    Ok(())
}

/// `print!` that returns `Result<(), CliError>`.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::output::stdout_fmt(format_args!($($arg)*))
    };
}

/// `println!` that returns `Result<(), CliError>`.
macro_rules! outln {
    () => {
        $crate::cli::output::stdout_fmt(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::cli::output::stdout_fmt(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use {out, outln};
