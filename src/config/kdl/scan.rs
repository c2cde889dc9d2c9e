//! The pre-scan in front of the `kdl` crate: an iterative KDL 2 lexer and
//! a token-level check of the structure, strings and numbers, so that the
//! recursive parser only ever sees text at most `MAX_DEPTH` deep and free
//! of the mistakes it recovers from slowly (see the parent module's
//! "Hostile input"). Block comments are blanked out byte for byte, so spans
//! stay right.

use super::*;

/// Check the structure of `text` and return it with block comments blanked
/// out, or every structural problem found.
pub(super) fn prescan(file: FileId, text: &str) -> Result<String, Vec<Diagnostic>> {
    let mut scan = Scanner {
        file,
        lex: Lexer {
            text,
            pos: 0,
            flaw: None,
        },
        comments: Vec::new(),
        diags: Vec::new(),
        fatal: false,
        last: Token {
            tok: Tok::Space,
            start: 0,
            end: 0,
        },
    };
    scan.version_marker();
    scan.nodes(0);
    if !scan.diags.is_empty() {
        return Err(scan.diags);
    }
    let mut bytes = text.as_bytes().to_vec();
    for (start, end) in scan.comments {
        bytes[start..end].fill(b' ');
    }
    // Whole characters were replaced by as many ASCII spaces.
    Ok(String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tok {
    /// Unicode white space (or the BOM at the start).
    Space,
    /// A block comment, `/* … */` (nested).
    Comment,
    /// A newline, or a `//` comment with the newline that ends it.
    Newline,
    /// `\` (a line continuation, when followed by a newline).
    Escline,
    Semi,
    LBrace,
    RBrace,
    LParen,
    RParen,
    Equals,
    /// `/-`
    SlashDash,
    /// A quoted or raw string.
    Str,
    /// A bare identifier string.
    Ident,
    /// A bare word that starts like a number.
    Number,
    /// `#true`, `#false`, `#null`, `#inf`, `#-inf`, `#nan`.
    Keyword,
    /// A bare `true`, `false`, `null`, `inf`, `-inf` or `nan` (KDL 1).
    BareKeyword,
    Eof,
    /// Something no KDL 2 document may contain here: message and hint.
    Bad(&'static str, &'static str),
}

#[derive(Clone, Copy, Debug)]
struct Token {
    tok: Tok,
    start: usize,
    end: usize,
}

const UNICODE_SPACES: [char; 18] = [
    '\u{0009}', '\u{0020}', '\u{00A0}', '\u{1680}', '\u{2000}', '\u{2001}', '\u{2002}', '\u{2003}',
    '\u{2004}', '\u{2005}', '\u{2006}', '\u{2007}', '\u{2008}', '\u{2009}', '\u{200A}', '\u{202F}',
    '\u{205F}', '\u{3000}',
];

fn is_space(c: char) -> bool {
    UNICODE_SPACES.contains(&c)
}

fn is_newline(c: char) -> bool {
    matches!(
        c,
        '\r' | '\n' | '\u{0085}' | '\u{000B}' | '\u{000C}' | '\u{2028}' | '\u{2029}'
    )
}

fn is_disallowed(c: char) -> bool {
    matches!(c,
        '\u{0000}'..='\u{0008}' | '\u{000E}'..='\u{001F}' | '\u{200E}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// Only white space and escaped white space: such a line of a multi-line
/// string needs no indentation.
fn is_blank_line(line: &str) -> bool {
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        let escaped_space =
            c == '\\' && chars.peek().is_some_and(|&n| is_space(n) || is_newline(n));
        if !(is_space(c) || is_newline(c) || escaped_space) {
            return false;
        }
    }
    true
}

fn is_ident_char(c: char) -> bool {
    !is_space(c)
        && !is_newline(c)
        && !is_disallowed(c)
        && !matches!(
            c,
            '\\' | '/' | '(' | ')' | '{' | '}' | '[' | ']' | ';' | '"' | '#' | '='
        )
}

#[derive(Clone, Copy, Debug)]
struct Flaw {
    start: usize,
    end: usize,
    message: &'static str,
    hint: &'static str,
}

/// An iterative KDL 2 lexer; `Copy`, so looking ahead is a copy.
#[derive(Clone, Copy)]
struct Lexer<'a> {
    text: &'a str,
    pos: usize,
    /// The first flaw inside the string being lexed: its place, message and
    /// hint. The string is consumed whole, the error points at the flaw.
    flaw: Option<Flaw>,
}

impl<'a> Lexer<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn peek_char(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn next_token(&mut self) -> Token {
        let start = self.pos;
        self.flaw = None;
        let tok = self.lex();
        match (tok, self.flaw) {
            (Tok::Str, Some(f)) => Token {
                tok: Tok::Bad(f.message, f.hint),
                start: f.start,
                end: f.end,
            },
            _ => Token {
                tok,
                start,
                end: self.pos,
            },
        }
    }

    fn take(&mut self, tok: Tok, bytes: usize) -> Tok {
        self.pos += bytes;
        tok
    }

    fn lex(&mut self) -> Tok {
        let Some(c) = self.peek_char() else {
            return Tok::Eof;
        };
        let rest = self.rest();
        match c {
            '\u{FEFF}' if self.pos == 0 => self.take(Tok::Space, c.len_utf8()),
            c if is_space(c) => {
                let n = rest.find(|c: char| !is_space(c)).unwrap_or(rest.len());
                self.take(Tok::Space, n)
            }
            '\r' if rest.starts_with("\r\n") => self.take(Tok::Newline, 2),
            c if is_newline(c) => self.take(Tok::Newline, c.len_utf8()),
            '/' if rest.starts_with("//") => {
                let n = rest.find(is_newline).unwrap_or(rest.len());
                self.pos += n;
                if self.rest().starts_with("\r\n") {
                    self.pos += 2;
                } else if let Some(c) = self.peek_char() {
                    self.pos += c.len_utf8();
                }
                Tok::Newline
            }
            '/' if rest.starts_with("/*") => self.block_comment(),
            '/' if rest.starts_with("/-") => self.take(Tok::SlashDash, 2),
            '/' => self.take(
                Tok::Bad(
                    "unexpected `/`",
                    "comments are `// …` and `/* … */`; `/-` comments out what follows",
                ),
                1,
            ),
            '\\' => self.take(Tok::Escline, 1),
            ';' => self.take(Tok::Semi, 1),
            '{' => self.take(Tok::LBrace, 1),
            '}' => self.take(Tok::RBrace, 1),
            '(' => self.take(Tok::LParen, 1),
            ')' => self.take(Tok::RParen, 1),
            '=' => self.take(Tok::Equals, 1),
            '"' => self.quoted_string(),
            '#' => self.hash(),
            '[' | ']' => self.take(
                Tok::Bad(
                    "`[` and `]` are not KDL",
                    "lists are several arguments (`leads \"a\" \"b\"`) or `-` children",
                ),
                1,
            ),
            c if is_disallowed(c) => self.take(
                Tok::Bad(
                    "a control or direction character is not allowed here",
                    "delete the invisible character",
                ),
                c.len_utf8(),
            ),
            _ => {
                let n = rest.find(|c: char| !is_ident_char(c)).unwrap_or(rest.len());
                let word = &rest[..n];
                self.pos += n;
                classify(word)
            }
        }
    }

    fn block_comment(&mut self) -> Tok {
        let bytes = self.text.as_bytes();
        let mut i = self.pos + 2;
        let mut depth = 1usize;
        while i < bytes.len() {
            if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
                depth += 1;
                i += 2;
            } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    self.pos = i;
                    return Tok::Comment;
                }
            } else {
                i += 1;
            }
        }
        // Unclosed: it runs to the end of the file (and is not scanned again).
        self.pos = bytes.len();
        Tok::Bad(
            "this block comment is never closed",
            "close it with `*/` (block comments nest: every `/*` needs its own `*/`)",
        )
    }

    /// After a `\` inside a quoted string: skip the escape, and remember
    /// the first invalid one (the kdl parser is very slow to recover from
    /// them, so they are reported from here).
    fn skip_escape(&mut self) {
        let start = self.pos;
        self.pos += 1;
        let valid = match self.peek_char() {
            Some(c) if is_space(c) || is_newline(c) => {
                let rest = self.rest();
                self.pos += rest
                    .find(|c: char| !is_space(c) && !is_newline(c))
                    .unwrap_or(rest.len());
                true
            }
            Some('"' | '\\' | 'b' | 'f' | 'n' | 'r' | 't' | 's') => {
                self.pos += 1;
                true
            }
            Some('u') => {
                self.pos += 1;
                let rest = self.rest();
                let digits = rest
                    .strip_prefix('{')
                    .map(|r| r.len() - r.trim_start_matches(|c: char| c.is_ascii_hexdigit()).len());
                match digits {
                    Some(n @ 1..=6) if rest[1 + n..].starts_with('}') => {
                        self.pos += n + 2;
                        u32::from_str_radix(&rest[1..1 + n], 16)
                            .ok()
                            .and_then(char::from_u32)
                            .is_some()
                    }
                    _ => false,
                }
            }
            Some(c) => {
                self.pos += c.len_utf8();
                false
            }
            None => false,
        };
        if !valid {
            self.flag(
                start,
                self.pos.max(start + 1),
                "invalid escape in a string",
                "the escapes are \\n \\r \\t \\s \\b \\f \\\\ \\\" and \\u{1F600}; for a literal backslash write \\\\ or use a raw string #\"…\"#",
            );
        }
    }

    fn quoted_string(&mut self) -> Tok {
        let multi = self.rest().starts_with("\"\"\"")
            && self.rest()[3..].chars().next().is_some_and(is_newline);
        if multi {
            self.pos += 3;
            let mut lines = Vec::new();
            loop {
                let rest = self.rest();
                if rest.starts_with("\"\"\"") {
                    self.check_dedent(&lines, self.pos);
                    self.pos += 3;
                    return Tok::Str;
                }
                match rest.chars().next() {
                    None => {
                        return Tok::Bad(
                            "this multi-line string is never closed",
                            "end it with `\"\"\"` on a line of its own",
                        );
                    }
                    Some('\\') => self.skip_escape(),
                    Some(c) => {
                        self.check_literal(self.pos, c);
                        self.pos += if rest.starts_with("\r\n") {
                            2
                        } else {
                            c.len_utf8()
                        };
                        if is_newline(c) {
                            lines.push(self.pos);
                        }
                    }
                }
            }
        }
        self.pos += 1;
        loop {
            match self.peek_char() {
                None => return Tok::Bad("this string is never closed", "end it with `\"`"),
                Some('"') => {
                    self.pos += 1;
                    return Tok::Str;
                }
                Some('\\') => self.skip_escape(),
                Some(c) if is_newline(c) => {
                    return Tok::Bad(
                        "a quoted string ends at the end of its line",
                        "close the string with `\"`; for text over several lines use `\"\"\"` on lines of their own, or `\\n`",
                    );
                }
                Some(c) => {
                    self.check_literal(self.pos, c);
                    self.pos += c.len_utf8();
                }
            }
        }
    }

    /// A control or direction character may not appear literally, even in a
    /// string (it may be written as an escape).
    fn check_literal(&mut self, at: usize, c: char) {
        if is_disallowed(c) {
            self.flag(
                at,
                at + c.len_utf8(),
                "a control or direction character is not allowed in a string",
                "write it as an escape such as \\u{200E}, or delete it",
            );
        }
    }

    fn flag(&mut self, start: usize, end: usize, message: &'static str, hint: &'static str) {
        if self.flaw.is_none() {
            self.flaw = Some(Flaw {
                start,
                end,
                message,
                hint,
            });
        }
    }

    /// The lines of a multi-line string (`lines` are where they start; the
    /// last is the closing line, which ends at `close`) must each start with
    /// the white space before the closing quotes, unless they are blank.
    /// Escaped white space (`\` and spaces or newlines) is not part of that
    /// prefix, and an escaped newline does not start a line.
    fn check_dedent(&mut self, lines: &[usize], close: usize) {
        let Some((&last, body)) = lines.split_last() else {
            return;
        };
        let mut prefix = String::new();
        let mut chars = self.text[last..close].chars().peekable();
        while let Some(c) = chars.next() {
            if is_space(c) {
                prefix.push(c);
            } else if c == '\\' && chars.peek().is_some_and(|&n| is_space(n) || is_newline(n)) {
                while chars.next_if(|&n| is_space(n) || is_newline(n)).is_some() {}
            } else {
                self.flag(
                    close,
                    close + 3,
                    "the closing quotes of a multi-line string must be on a line of their own",
                    "put the closing `\"\"\"` (or `\"\"\"#`) on its own line; its indentation is removed from every line",
                );
                return;
            }
        }
        for (i, &start) in body.iter().enumerate() {
            let end = body.get(i + 1).copied().unwrap_or(last);
            let line = &self.text[start..end];
            if !line.starts_with(prefix.as_str()) && !is_blank_line(line) {
                let indent = line.len() - line.trim_start_matches(is_space).len();
                self.flag(
                    start,
                    start + indent.max(1),
                    "a line of a multi-line string is indented less than its closing quotes",
                    "indent every line of the string at least as far as the closing `\"\"\"`",
                );
                return;
            }
        }
    }

    fn hash(&mut self) -> Tok {
        let rest = self.rest();
        let hashes = rest.len() - rest.trim_start_matches('#').len();
        let after = &rest[hashes..];
        if after.starts_with('"') {
            let closing_hashes = &rest[..hashes];
            let multi =
                after.starts_with("\"\"\"") && after[3..].chars().next().is_some_and(is_newline);
            let (open, close) = if multi {
                (3, format!("\"\"\"{closing_hashes}"))
            } else {
                (1, format!("\"{closing_hashes}"))
            };
            let body_start = self.pos + hashes + open;
            let body = &after[open..];
            if multi && let Some(i) = body.find(&close) {
                let lines: Vec<usize> = body[..i]
                    .char_indices()
                    .filter(|&(j, c)| {
                        is_newline(c) && !(c == '\r' && body[j + 1..].starts_with('\n'))
                    })
                    .map(|(j, c)| body_start + j + c.len_utf8())
                    .collect();
                self.check_dedent(&lines, body_start + i);
            }
            // A single-line raw string must close on its own line. Look for
            // whichever comes first, so that a long line is scanned once.
            let mut line_end = body.len();
            let mut found = None;
            for (j, c) in body.char_indices() {
                if body[j..].starts_with(close.as_str()) {
                    found = Some(j);
                    break;
                }
                self.check_literal(body_start + j, c);
                if !multi && is_newline(c) {
                    line_end = j;
                    break;
                }
            }
            return match found {
                Some(i) => {
                    self.pos = body_start + i + close.len();
                    Tok::Str
                }
                None if line_end < body.len() => {
                    self.pos = body_start + line_end;
                    Tok::Bad(
                        "a raw string ends at the end of its line",
                        "close it on the same line, or use a multi-line raw string `#\"\"\"`",
                    )
                }
                None => {
                    self.pos = self.text.len();
                    Tok::Bad(
                        "this raw string is never closed",
                        "end it with `\"` and as many `#` as it starts with",
                    )
                }
            };
        }
        if hashes == 1 {
            let n = after
                .find(|c: char| !is_ident_char(c))
                .unwrap_or(after.len());
            let word = &after[..n];
            if matches!(word, "true" | "false" | "null" | "inf" | "-inf" | "nan") {
                return self.take(Tok::Keyword, 1 + n);
            }
            return self.take(
                Tok::Bad("unknown keyword", "the KDL 2 keywords are #true, #false, #null, #inf, #-inf and #nan; quote a string that starts with `#`"),
                1 + n,
            );
        }
        self.take(
            Tok::Bad("unexpected `#`", "quote a string that starts with `#`"),
            hashes,
        )
    }
}

fn classify(word: &str) -> Tok {
    if matches!(word, "true" | "false" | "null" | "inf" | "-inf" | "nan") {
        return Tok::BareKeyword;
    }
    let unsigned = word.strip_prefix(['+', '-']).unwrap_or(word);
    let b = unsigned.as_bytes();
    if b.first().is_some_and(u8::is_ascii_digit) {
        return if valid_number(unsigned) {
            Tok::Number
        } else {
            Tok::Bad(
                "invalid number",
                "numbers are like 42, -7, 1_000, 0.5, 1e6, 0x1F, 0o17 or 0b101 (at most 128 bits); quote anything else",
            )
        };
    }
    if b.first() == Some(&b'.') && b.get(1).is_some_and(u8::is_ascii_digit) {
        return Tok::Bad(
            "invalid number",
            "write a digit before the point: 0.5; or quote it as a string",
        );
    }
    Tok::Ident
}

/// A KDL 2 number without its sign, whose integer value fits the 128 bits
/// the kdl crate reads it into (orgform then wants 64).
fn valid_number(n: &str) -> bool {
    fn digits(s: &str, radix: u32) -> Option<u128> {
        let mut chars = s.chars();
        let mut value = chars.next()?.to_digit(radix)? as u128;
        for c in chars {
            if c != '_' {
                value = value
                    .checked_mul(radix as u128)?
                    .checked_add(c.to_digit(radix)? as u128)?;
            }
        }
        Some(value)
    }
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(rest) = n.strip_prefix(prefix) {
            return digits(rest, radix).is_some_and(|v| v <= i128::MAX as u128);
        }
    }
    let (mantissa, exponent) = match n.find(['e', 'E']) {
        Some(i) => (&n[..i], Some(&n[i + 1..])),
        None => (n, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let plain = |s: &str| {
        s.starts_with(|c: char| c.is_ascii_digit())
            && s.chars().all(|c| c.is_ascii_digit() || c == '_')
    };
    if !plain(int)
        || frac.is_some_and(|f| !plain(f))
        || exponent.is_some_and(|e| !plain(e.strip_prefix(['+', '-']).unwrap_or(e)))
    {
        return false;
    }
    // Integers must fit; decimals and exponents are floats.
    frac.is_some() || exponent.is_some() || digits(int, 10).is_some_and(|v| v <= i128::MAX as u128)
}

/// Recursive descent over the tokens, as deep as the `{` nesting (at most
/// [`MAX_DEPTH`]); everything else is loops.
struct Scanner<'a> {
    file: FileId,
    lex: Lexer<'a>,
    comments: Vec<(usize, usize)>,
    diags: Vec<Diagnostic>,
    /// Too deep, or too many errors: stop scanning.
    fatal: bool,
    /// The token consumed last.
    last: Token,
}

/// An error was reported; the caller recovers.
struct Reported;

type Step = Result<(), Reported>;

impl<'a> Scanner<'a> {
    fn peek(&self) -> Token {
        self.lex.clone().next_token()
    }

    fn bump(&mut self) -> Token {
        let t = self.lex.next_token();
        if t.tok == Tok::Comment {
            self.comments.push((t.start, t.end));
        }
        self.last = t;
        t
    }

    fn span(&self, t: &Token) -> Span {
        Span::new(self.file, t.start, (t.end - t.start).max(1))
    }

    fn text(&self, t: &Token) -> &'a str {
        &self.lex.text[t.start..t.end]
    }

    fn report(&mut self, d: Diagnostic) -> Reported {
        if self.diags.len() < MAX_SYNTAX_ERRORS {
            self.diags.push(d);
        }
        if self.diags.len() >= MAX_SYNTAX_ERRORS {
            self.fatal = true;
        }
        Reported
    }

    /// Report `message` at `t`, unless `t` is a bad token, which says what is
    /// wrong itself.
    fn error(&mut self, t: Token, message: &str, hint: &str) -> Reported {
        let (message, hint) = match t.tok {
            Tok::Bad(m, h) => (m.to_string(), h.to_string()),
            Tok::BareKeyword => {
                let word = self.text(&t);
                (
                    format!("a bare `{word}` is KDL 1 syntax"),
                    format!("{KDL2_HINT}; write `#{word}`, or `\"{word}\"` for the string"),
                )
            }
            Tok::Eof => (
                format!("{message}, found the end of the file"),
                hint.to_string(),
            ),
            _ => (message.to_string(), hint.to_string()),
        };
        let span = self.span(&t);
        self.report(
            Diagnostic::error(codes::SYNTAX, format!("invalid KDL: {message}"))
                .at(span, "here")
                .hint(hint),
        )
    }

    /// `/- kdl-version 1` at the start declares a KDL 1 document.
    fn version_marker(&mut self) {
        let text = self.lex.text.trim_start_matches('\u{FEFF}');
        let Some(rest) = text.strip_prefix("/-") else {
            return;
        };
        let rest = rest.trim_start_matches(is_space);
        let Some(rest) = rest.strip_prefix("kdl-version") else {
            return;
        };
        if rest.trim_start_matches(is_space).starts_with('1') {
            let start = self.lex.text.len() - text.len();
            self.report(
                Diagnostic::error(
                    codes::SYNTAX,
                    "invalid KDL: this document declares KDL version 1",
                )
                .at(Span::new(self.file, start, 2), "here")
                .hint(format!("{KDL2_HINT}; `kdl-version 2` or no marker at all")),
            );
        }
    }

    /// `nodes`: up to the end of the file, or a `}` inside a block.
    fn nodes(&mut self, depth: usize) {
        while !self.fatal {
            let t = self.peek();
            match t.tok {
                Tok::Space | Tok::Comment | Tok::Newline => {
                    self.bump();
                }
                Tok::Escline => {
                    if self.node_space().is_err() {
                        self.recover(depth);
                    }
                }
                Tok::Eof => return,
                Tok::RBrace if depth > 0 => return,
                Tok::RBrace => {
                    self.bump();
                    self.report(
                        Diagnostic::error(codes::SYNTAX, "invalid KDL: this `}` closes nothing")
                            .at(self.span(&t), "unmatched")
                            .hint("remove it, or add the `{` it should close"),
                    );
                }
                Tok::SlashDash => {
                    self.bump();
                    if self.line_space().is_err() || self.base_node(depth).is_err() {
                        self.recover(depth);
                    }
                }
                _ => {
                    if self.base_node(depth).is_err() {
                        self.recover(depth);
                        continue;
                    }
                    let t = self.peek();
                    match t.tok {
                        Tok::Newline | Tok::Semi => {
                            self.bump();
                        }
                        Tok::Eof | Tok::RBrace => {}
                        Tok::Str
                            if self.last.tok == Tok::Ident
                                && self.text(&self.last) == "r"
                                && self.last.end == t.start =>
                        {
                            self.error(
                                t,
                                "`r\"…\"` is a KDL 1 raw string",
                                &format!("{KDL2_HINT}; write `#\"…\"#`"),
                            );
                            self.recover(depth);
                        }
                        Tok::Str
                        | Tok::Ident
                        | Tok::Number
                        | Tok::Keyword
                        | Tok::BareKeyword
                        | Tok::LParen => {
                            self.error(
                                t,
                                "expected a space before this value",
                                "separate arguments and properties with spaces",
                            );
                            self.recover(depth);
                        }
                        _ => {
                            self.error(
                                t,
                                "expected the end of the node (a newline or `;`)",
                                "put each node on a line of its own, or end it with `;`",
                            );
                            self.recover(depth);
                        }
                    }
                }
            }
        }
    }

    /// After an error: skip to the end of the node, keeping track of braces.
    fn recover(&mut self, depth: usize) {
        let mut inner = 0usize;
        while !self.fatal {
            let t = self.peek();
            match t.tok {
                Tok::Eof => return,
                Tok::Newline | Tok::Semi if inner == 0 => {
                    self.bump();
                    return;
                }
                Tok::RBrace if inner == 0 => return,
                Tok::RBrace => {
                    inner -= 1;
                    self.bump();
                }
                Tok::LBrace => {
                    if depth + inner + 1 > MAX_DEPTH {
                        self.too_deep(t);
                        return;
                    }
                    inner += 1;
                    self.bump();
                }
                _ => {
                    self.bump();
                }
            }
        }
    }

    fn too_deep(&mut self, t: Token) {
        self.diags.push(
            Diagnostic::error(
                codes::TOO_DEEP,
                format!("KDL nesting is deeper than {MAX_DEPTH} levels"),
            )
            .at(self.span(&t), format!("level {}", MAX_DEPTH + 1))
            .hint(format!(
                "nesting is limited to {MAX_DEPTH} levels; a config never needs more"
            )),
        );
        self.fatal = true;
    }

    /// `node-space*`: white space, block comments and line continuations.
    /// Returns whether there was any.
    fn node_space(&mut self) -> Result<bool, Reported> {
        let mut any = false;
        loop {
            match self.peek().tok {
                Tok::Space | Tok::Comment => {
                    self.bump();
                }
                Tok::Escline => {
                    self.bump();
                    while matches!(self.peek().tok, Tok::Space | Tok::Comment) {
                        self.bump();
                    }
                    let t = self.peek();
                    match t.tok {
                        Tok::Newline => {
                            self.bump();
                        }
                        Tok::Eof => {}
                        _ => {
                            return Err(self.error(
                                t,
                                "a `\\` line continuation must end its line",
                                "remove the `\\`, or put a newline (or a `//` comment) right after it",
                            ));
                        }
                    }
                }
                _ => return Ok(any),
            }
            any = true;
        }
    }

    /// `line-space*` (after `/-`): also newlines.
    fn line_space(&mut self) -> Step {
        loop {
            match self.peek().tok {
                Tok::Newline => {
                    self.bump();
                }
                Tok::Space | Tok::Comment | Tok::Escline => {
                    self.node_space()?;
                }
                _ => return Ok(()),
            }
        }
    }

    /// The part of a node before its terminator.
    fn base_node(&mut self, depth: usize) -> Step {
        if self.peek().tok == Tok::LParen {
            self.type_annotation()?;
            self.node_space()?;
        }
        let t = self.bump();
        match t.tok {
            Tok::Str | Tok::Ident => {}
            Tok::Number => {
                return Err(self.error(
                    t,
                    "a node name cannot be a number",
                    "quote it: `\"2026\"`",
                ));
            }
            Tok::Keyword => {
                return Err(self.error(
                    t,
                    "a keyword cannot be a node name",
                    "quote it to use it as a name",
                ));
            }
            _ => {
                return Err(self.error(
                    t,
                    "expected a node name",
                    "a node starts with its name, e.g. `title \"Sales\"`",
                ));
            }
        }
        let mut had_children = false;
        loop {
            let spaced = self.node_space()?;
            let t = self.peek();
            match t.tok {
                Tok::SlashDash => {
                    if !spaced && !had_children {
                        // The spec allows `a/-b`; the kdl crate does not,
                        // and recovers from it slowly.
                        return Err(self.error(
                            t,
                            "expected a space before `/-`",
                            "separate `/-` from what comes before it with a space",
                        ));
                    }
                    self.bump();
                    self.line_space()?;
                    if self.peek().tok == Tok::LBrace {
                        self.children(depth)?;
                    } else if had_children {
                        let t = self.peek();
                        return Err(self.error(
                            t,
                            "only `/-` child blocks may follow a child block",
                            "move arguments and properties before the `{`",
                        ));
                    } else {
                        self.entry()?;
                    }
                }
                Tok::LBrace => {
                    if had_children {
                        return Err(self.error(
                            t,
                            "a node has at most one child block",
                            "merge the two blocks",
                        ));
                    }
                    self.children(depth)?;
                    had_children = true;
                }
                Tok::Str
                | Tok::Ident
                | Tok::Number
                | Tok::Keyword
                | Tok::BareKeyword
                | Tok::LParen => {
                    if had_children {
                        return Err(self.error(
                            t,
                            "arguments and properties must come before the child block",
                            "move it before the `{`",
                        ));
                    }
                    if !spaced {
                        // Leave it to the caller, which knows the KDL 1 cases.
                        return Ok(());
                    }
                    self.entry()?;
                }
                _ => return Ok(()),
            }
        }
    }

    fn children(&mut self, depth: usize) -> Step {
        let open = self.bump();
        if depth + 1 > MAX_DEPTH {
            self.too_deep(open);
            return Err(Reported);
        }
        self.nodes(depth + 1);
        if self.fatal {
            return Err(Reported);
        }
        let t = self.peek();
        if t.tok == Tok::RBrace {
            self.bump();
            return Ok(());
        }
        let span = self.span(&open);
        Err(self.report(
            Diagnostic::error(codes::SYNTAX, "invalid KDL: this `{` is never closed")
                .at(span, "opened here")
                .hint("add the `}` that closes this block"),
        ))
    }

    fn type_annotation(&mut self) -> Step {
        self.bump();
        self.node_space()?;
        let t = self.bump();
        if !matches!(t.tok, Tok::Str | Tok::Ident) {
            return Err(self.error(
                t,
                "expected a type name after `(`",
                "a type annotation is `(name)`",
            ));
        }
        self.node_space()?;
        let t = self.bump();
        if t.tok != Tok::RParen {
            return Err(self.error(t, "expected `)`", "a type annotation is `(name)`"));
        }
        Ok(())
    }

    /// An argument or a property.
    fn entry(&mut self) -> Step {
        let t = self.peek();
        match t.tok {
            Tok::Str | Tok::Ident => {
                let mut ahead = self.lex;
                ahead.next_token();
                let after = skip_node_space(ahead);
                if after.tok == Tok::Equals {
                    self.bump();
                    self.node_space()?;
                    self.bump();
                    self.node_space()?;
                    return self.value();
                }
                self.bump();
                Ok(())
            }
            Tok::Number => {
                self.bump();
                if skip_node_space(self.lex).tok == Tok::Equals {
                    return Err(self.error(
                        t,
                        "a property name cannot be a number",
                        "quote it: `\"2026\"=…`",
                    ));
                }
                Ok(())
            }
            _ => self.value(),
        }
    }

    /// `type? node-space* (string | number | keyword)`.
    fn value(&mut self) -> Step {
        if self.peek().tok == Tok::LParen {
            self.type_annotation()?;
            self.node_space()?;
        }
        let t = self.peek();
        match t.tok {
            Tok::Str | Tok::Ident | Tok::Number | Tok::Keyword => {
                self.bump();
                Ok(())
            }
            Tok::BareKeyword | Tok::Bad(..) => {
                self.bump();
                Err(self.error(t, "expected a value", ""))
            }
            _ => Err(self.error(
                t,
                "expected a value",
                "a value is a string, a number, #true, #false or #null",
            )),
        }
    }
}

/// The token after any node space, without consuming anything.
fn skip_node_space(mut lex: Lexer<'_>) -> Token {
    loop {
        let t = lex.next_token();
        match t.tok {
            Tok::Space | Tok::Comment => {}
            Tok::Escline => {
                let mut ahead = lex;
                loop {
                    let n = ahead.next_token();
                    match n.tok {
                        Tok::Space | Tok::Comment => {}
                        Tok::Newline => {
                            lex = ahead;
                            break;
                        }
                        _ => return t,
                    }
                }
            }
            _ => return t,
        }
    }
}
