//! The common case of a YAML config file, read straight from the YAML
//! parser's events into the [`Node`] tree, without going through serde:
//! wrapping every value in `serde_saphyr::Spanned` and converting the
//! result cost more than parsing itself (at 10,000 people, two thirds of a
//! 1.5 MB file's read).
//!
//! It takes only what it can read exactly as serde-saphyr reads it (see
//! `yaml::parse`): one document of block or flow mappings and sequences
//! whose keys are scalars, with plain, quoted or block scalars, no tags, no
//! anchors, aliases or merge keys, and plain scalars that are strings,
//! `null`, the YAML 1.2 booleans (booleans are strict) or decimal integers
//! written the usual way. The parser is the one serde-saphyr uses, with
//! the same options, and a node's span is its event's span, as
//! `serde_saphyr::Spanned` reports it. Anything else, any parser error, and
//! anything near a budget (events, depth) gives `None`: the file is then
//! read through serde-saphyr as before, which enforces its budgets and
//! words its errors as always. The tests compare the two readings.

use std::borrow::Cow;

use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, Span as ParserSpan};

use super::source::{FileId, Span};
use super::tree::{Entry, Node, Value};

/// serde-saphyr's default event budget (`Budget::max_events`): a file with
/// more events goes the budgeted way, which refuses it.
const MAX_EVENTS: usize = 1_000_000;

/// The parser options serde-saphyr derives from `yaml::options()`'s budget
/// (`Budget::parser_options` and `Options::parser_options`).
fn parser_options() -> serde_saphyr::granit_parser::Options {
    let mut options = serde_saphyr::granit_parser::Options::default();
    options.simple_key_max_lookahead = 1024;
    options.flow_nesting_limit = super::yaml::MAX_DEPTH;
    options.block_nesting_limit = options
        .block_nesting_limit
        .max(super::yaml::MAX_DEPTH.saturating_add(1));
    options.emit_comments = false;
    options.strict_indentation = false;
    options.bom_inside_document_as_content = false;
    options
}

/// Read `text` into a tree, or `None` when it needs serde-saphyr.
pub fn parse(file_id: FileId, text: &str) -> Option<Node> {
    let mut reader = Reader {
        parser: Parser::new_from_str_with_options(text, parser_options()),
        file_id,
        events: 0,
        depth: 0,
    };
    match reader.next()? {
        Event::StreamStart => {}
        _ => return None,
    }
    match reader.next()? {
        Event::DocumentStart(_, None) => {}
        _ => return None,
    }
    let (first, span) = reader.next_spanned()?;
    let root = reader.node(first, span)?;
    match reader.next()? {
        Event::DocumentEnd => {}
        _ => return None,
    }
    match reader.next()? {
        Event::StreamEnd => Some(root),
        _ => None,
    }
}

struct Reader<'a> {
    parser: Parser<'a, serde_saphyr::granit_parser::StrInput<'a>>,
    file_id: FileId,
    events: usize,
    depth: usize,
}

impl<'a> Reader<'a> {
    fn next_spanned(&mut self) -> Option<(Event<'a>, ParserSpan)> {
        self.events += 1;
        if self.events > MAX_EVENTS {
            return None;
        }
        self.parser.next()?.ok()
    }

    fn next(&mut self) -> Option<Event<'a>> {
        self.next_spanned().map(|(e, _)| e)
    }

    /// The span serde-saphyr's `Location` of this event gives.
    fn span(&self, span: &ParserSpan) -> Option<Span> {
        let start = span.start.byte_offset()?;
        let end = span.end.byte_offset()?;
        Some(Span::new(self.file_id, start, end.saturating_sub(start)))
    }

    /// The node that starts with `event`.
    fn node(&mut self, event: Event<'a>, span: ParserSpan) -> Option<Node> {
        let at = self.span(&span)?;
        let value = match event {
            Event::Scalar(text, style, 0, None) => scalar(text, style)?,
            Event::SequenceStart(_, 0, None) => {
                self.enter()?;
                let mut items = Vec::new();
                loop {
                    let (event, span) = self.next_spanned()?;
                    if matches!(event, Event::SequenceEnd) {
                        break;
                    }
                    items.push(self.node(event, span)?);
                }
                self.depth -= 1;
                Value::Seq(items)
            }
            Event::MappingStart(_, 0, None) => {
                self.enter()?;
                let mut entries = Vec::new();
                loop {
                    let (event, span) = self.next_spanned()?;
                    let (key, key_span) = match event {
                        Event::MappingEnd => break,
                        Event::Scalar(text, style, 0, None) => {
                            (key(text, style)?, self.span(&span)?)
                        }
                        _ => return None,
                    };
                    let (event, span) = self.next_spanned()?;
                    let value = self.node(event, span)?;
                    let mut key_span = key_span;
                    if key_span.len == 0 {
                        key_span.len = key.len();
                    }
                    entries.push(Entry {
                        key,
                        key_span,
                        value,
                    });
                }
                self.depth -= 1;
                Value::Map(entries)
            }
            _ => return None,
        };
        Some(Node::new(value, at))
    }

    /// One level deeper; well short of the budget's depth, serde-saphyr
    /// decides.
    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth < super::yaml::MAX_DEPTH / 2).then_some(())
    }
}

/// A decimal integer as YAML 1.2 writes it (`0`, `42`, `-7`; no sign `+`,
/// no leading zero, no underscores) that fits an `i64`.
fn decimal(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let canonical = match digits.as_bytes() {
        [b'0'] => !text.starts_with('-'),
        [b'1'..=b'9', rest @ ..] => rest.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    if !canonical {
        return None;
    }
    text.parse().ok()
}

/// Text that starts like a number (a digit, after an optional sign) but
/// that neither serde-saphyr's integers (decimal, `0x`, `0o`, `0b`, with
/// `_` between digits) nor its floats (Rust's decimal syntax, a sign only
/// first or after the exponent's `e`) can read: a date such as
/// `2026-12-31`, a time, a version. serde-saphyr reads it as a string.
fn not_a_number(t: &str) -> bool {
    let s = t.strip_prefix(['+', '-']).unwrap_or(t).as_bytes();
    if !s.first().is_some_and(u8::is_ascii_digit) {
        return false;
    }
    s.iter().enumerate().any(|(i, &c)| match c {
        b'0'..=b'9' | b'.' | b'_' => false,
        b'a'..=b'f' | b'A'..=b'F' | b'x' | b'X' | b'o' | b'O' => false,
        // Only an exponent's sign can follow the first digit.
        b'+' | b'-' => !matches!(s[i - 1], b'e' | b'E'),
        _ => true,
    })
}

/// A value scalar, as serde-saphyr's untyped reading gives it, or `None`
/// when only serde-saphyr can say.
fn scalar(text: Cow<'_, str>, style: ScalarStyle) -> Option<Value> {
    if style != ScalarStyle::Plain {
        return Some(Value::Str(text.into_owned()));
    }
    Some(match &*text {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        t if t.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | '.')) => {
            match decimal(t) {
                Some(i) => Value::Int(i),
                None if not_a_number(t) => Value::Str(text.into_owned()),
                None => return None,
            }
        }
        _ => Value::Str(text.into_owned()),
    })
}

/// A mapping key, as `yaml::KeyString` reads it: strings as written,
/// integers and booleans as their text. A merge key (`<<`) and a `null` key are left to serde-saphyr.
fn key(text: Cow<'_, str>, style: ScalarStyle) -> Option<String> {
    let plain = style == ScalarStyle::Plain;
    Some(match scalar(text, style)? {
        Value::Str(s) if plain && s == "<<" => return None,
        Value::Str(s) => s,
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SourceFile;

    /// Where the direct reading takes a text, it gives serde-saphyr's tree,
    /// spans included. Returns whether it took it.
    fn same(name: &str, text: &str) -> bool {
        let source = SourceFile::new(name, name, text);
        let Some(direct) = parse(FileId(0), text) else {
            return false;
        };
        match crate::config::yaml::parse_with_serde(FileId(0), &source) {
            Ok(through_serde) => assert_eq!(direct, through_serde, "{name}: {text}"),
            Err(e) => panic!("{name}: serde-saphyr refuses what was read directly: {e:?}\n{text}"),
        }
        true
    }

    /// Every YAML file of the repository's examples, fixtures and docs
    /// (fenced `yaml` blocks of the Markdown), and a generated org.
    #[test]
    fn the_direct_reading_is_serde_saphyrs() {
        let mut texts: Vec<(String, String)> = Vec::new();
        let mut stack = vec![
            std::path::PathBuf::from("examples"),
            std::path::PathBuf::from("tests"),
            std::path::PathBuf::from("docs"),
            std::path::PathBuf::from("README.md"),
        ];
        while let Some(path) = stack.pop() {
            if path.is_dir() {
                for entry in std::fs::read_dir(&path).unwrap().flatten() {
                    stack.push(entry.path());
                }
                continue;
            }
            let name = path.display().to_string();
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            if name.ends_with(".yaml") || name.ends_with(".yml") {
                texts.push((name, text));
            } else if name.ends_with(".md") {
                for (i, block) in text.split("```yaml\n").skip(1).enumerate() {
                    let block = block.split("```").next().unwrap_or_default();
                    texts.push((format!("{name} block {i}"), block.to_string()));
                }
            }
        }
        let generated =
            crate::sandbox::generate::generate(&crate::sandbox::generate::GenerateOptions {
                people: 300,
                chats: 30,
                seed: 5,
            });
        let dir = tempfile::tempdir().unwrap();
        crate::sandbox::generate::write(&generated, dir.path()).unwrap();
        for entry in std::fs::read_dir(dir.path().join("config"))
            .unwrap()
            .flatten()
        {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            texts.push((entry.path().display().to_string(), text));
        }
        let taken = texts.iter().filter(|(n, t)| same(n, t)).count();
        assert!(
            taken * 10 >= texts.len() * 8,
            "most config files are read directly: {taken} of {}",
            texts.len()
        );
    }

    /// Odd but valid YAML: either read exactly as serde-saphyr reads it, or
    /// left to it.
    #[test]
    fn odd_scalars_and_shapes() {
        for text in [
            "a: 1\nb: -2\nc: 0\nd: -0\ne: 007\nf: +5\ng: 0x1F\nh: 1_000\ni: 1.5\nj: .inf\nk: -.inf\nl: .nan\n",
            "a: 9223372036854775807\nb: 9223372036854775808\nc: -9223372036854775808\nd: 1e999\n",
            "a: true\nb: True\nc: TRUE\nd: yes\ne: on\nf: false\ng: FALSE\nh: no\ni: off\n",
            "a: null\nb: ~\nc:\nd: Null\ne: NULL\nf: nil\ng: 'null'\nh: \"~\"\n",
            "a: inf\nb: nan\nc: infinity\nd: e5\ne: 1e5\nf: 12:30\ng: 2026-01-01\nh: 1.0\n",
            "? complex\n: value\n",
            "true: a\nfalse: b\n1: c\n-1: d\n~: e\nnull: f\n'quoted': g\n\"dq\": h\n",
            "a: &x 1\nb: *x\n",
            "base: &b {x: 1}\nderived:\n  <<: *b\n  y: 2\n",
            "a: !!str 5\nb: !custom x\n",
            "%YAML 1.2\n---\na: 1\n",
            "---\na: 1\n---\nb: 2\n",
            "---\na: 1\n...\n",
            "- a\n- b: c\n  d: [e, {f: g}]\n-\n- ''\n",
            "a: |\n  literal\n  text\nb: >\n  folded\n  text\nc: 'single ''q'''\nd: \"double \\t \\u00e9\"\n",
            "a: plain\n  continued\n  lines\nb: x # comment\n# c: 1\n",
            "a: 1\na: 2\nb: {c: 1, c: 2}\n",
            "\u{feff}a: 1\n",
            "a: [1, 2,\n  3]\nb: {\n  c: d\n}\n",
            "just a scalar\n",
            "[1, 2]\n",
            "a: b: c\n",
            "a:\n  - b\n c: d\n",
            "a: 'unterminated\n",
            "key with spaces: value with spaces\n\"key: quoted\": v\n",
            "a: élan\nb: 日本\n\"ключ\": значение\n",
            "a: 1\r\nb: 2\r\n",
            "a: 2026-12-31\nb: 2026-12-31T10:00:00Z\nc: 10:30\nd: 1.2.3\ne: 1e5-3\nf: 12abc\ng: 0X1F\nh: 1-\ni: -1-2\nj: 3日\nk: +1e+5\n",
            "a:\tb\n",
        ] {
            same("odd.yaml", text);
        }
    }

    /// Scalars that look like numbers, booleans, nulls, dates, flow
    /// indicators or quotes, combined at random into mappings and
    /// sequences in block and flow style: wherever the direct reading
    /// takes a text, serde-saphyr reads the same tree (`same` asserts it).
    mod random {
        use proptest::prelude::*;

        const ATOMS: &[&str] = &[
            "0",
            "1",
            "-1",
            "+1",
            "-0",
            "007",
            "0x1F",
            "0X1F",
            "0o7",
            "0b1",
            "1_0",
            "1.5",
            ".5",
            "1e5",
            "-1e-5",
            "1e999",
            ".inf",
            "-.inf",
            ".nan",
            "-.nan",
            "inf",
            "nan",
            "true",
            "True",
            "TRUE",
            "tRue",
            "false",
            "yes",
            "no",
            "on",
            "null",
            "Null",
            "~",
            "",
            "2026-12-31",
            "12:30",
            "1-2",
            "1.2.3",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "abc",
            "a b",
            "é",
            "x#y",
            " #c",
            ": ",
            "- ",
            "'",
            "\"",
            "[",
            "]",
            "{",
            "}",
            ",",
            "|",
            "*x",
            "&y",
            "!t",
            "%",
            ">",
            "@",
            "`",
            "<<",
            "?",
            "\\",
            "\t",
        ];

        fn scalar() -> impl Strategy<Value = String> {
            prop::collection::vec(prop::sample::select(ATOMS), 1..4).prop_map(|v| v.concat())
        }

        fn quoted(text: &str, style: u8) -> String {
            match style % 4 {
                0 => text.to_string(),
                1 => format!("'{}'", text.replace('\'', "''")),
                2 => format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\"")),
                _ => text.to_string(),
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]
            #[test]
            fn random_documents(
                entries in prop::collection::vec((scalar(), scalar(), any::<u8>(), any::<u8>()), 1..6),
                shape in 0u8..4,
            ) {
                let text = match shape {
                    0 => entries
                        .iter()
                        .map(|(k, v, ks, vs)| format!("{}: {}\n", quoted(k, *ks), quoted(v, *vs)))
                        .collect::<String>(),
                    1 => format!(
                        "{{{}}}\n",
                        entries
                            .iter()
                            .map(|(k, v, ks, vs)| format!("{}: {}", quoted(k, *ks), quoted(v, *vs)))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    2 => entries
                        .iter()
                        .map(|(_, v, _, vs)| format!("- {}\n", quoted(v, *vs)))
                        .collect::<String>(),
                    _ => format!(
                        "top:\n{}",
                        entries
                            .iter()
                            .map(|(k, v, ks, vs)| format!(
                                "  {}:\n    - {}\n    - [{}]\n",
                                quoted(k, *ks),
                                quoted(v, *vs),
                                quoted(v, vs.wrapping_add(1))
                            ))
                            .collect::<String>()
                    ),
                };
                super::same("random.yaml", &text);
            }
        }
    }
}
