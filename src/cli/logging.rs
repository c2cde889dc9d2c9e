//! `-v` and `RUST_LOG`: log lines through `tracing` to stderr, with
//! anything shaped like a bot token redacted before it is written (request
//! URLs carry the token in their path, and a library may log them).

use std::io::Write;

/// Install the stderr subscriber. `RUST_LOG` wins; otherwise `-v` raises
/// orgform's own level (warn, info, debug, trace). Without either, only
/// warnings and errors are logged.
pub fn init(verbose: u8) {
    init_as(verbose, false);
}

/// [`init`], with one JSON object per line when `json` (`orgform watch
/// --log-format json`, for log collectors).
pub fn init_as(verbose: u8, json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.is_empty() => EnvFilter::new(spec),
        _ => EnvFilter::new(match verbose {
            0 => "warn",
            1 => "warn,orgform=info",
            2 => "info,orgform=debug",
            _ => "debug,orgform=trace",
        }),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| Redacting(std::io::stderr()))
        .with_ansi(false)
        .with_target(true);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// A writer that redacts bot tokens from what passes through it.
pub struct Redacting<W>(pub W);

impl<W: Write> Write for Redacting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(redact(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// Replace every bot token (`<digits>:<35 or so URL-safe characters>`) in
/// `text` with `<redacted>`; the bot id before the colon stays, it is public.
pub fn redact(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        if bytes[i] == b':' {
            let digits = bytes[..i]
                .iter()
                .rev()
                .take_while(|b| b.is_ascii_digit())
                .count();
            let secret = bytes[i + 1..]
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_' || **b == b'-')
                .count();
            if digits >= 5 && secret >= 20 {
                out.push_str(&text[copied..=i]);
                out.push_str("<redacted>");
                i += 1 + secret;
                copied = i;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_are_redacted_and_other_colons_are_not() {
        let line = "GET https://api.telegram.org/bot7000000001:AAsandbox-test-token_0123456789abcdef/getMe at 12:00:01";
        let red = super::redact(line);
        assert_eq!(
            red,
            "GET https://api.telegram.org/bot7000000001:<redacted>/getMe at 12:00:01"
        );
        assert!(!red.contains("AAsandbox"));
    }
}
