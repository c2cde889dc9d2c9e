//! Asking the person at the terminal before anything changes: only a typed
//! `yes` proceeds, and without a terminal the answer is no (use
//! `--auto-approve`).

use super::output::out;
use std::io::{BufRead, IsTerminal, Write};

use super::error::CliError;

/// Ask `question`; `what` names the operation in the refusals ("apply",
/// "roll back"), `hint` says how to proceed without a terminal.
pub fn confirm(question: &str, what: &str, hint: &str) -> Result<(), CliError> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::with_hint(
            format!("refusing to {what} without confirmation: stdin is not a terminal"),
            hint,
        ));
    }
    out!("{question} Only 'yes' is accepted: ")?;
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if answer.trim() != "yes" {
        return Err(CliError::user(format!(
            "{what} cancelled; nothing was changed"
        )));
    }
    Ok(())
}
