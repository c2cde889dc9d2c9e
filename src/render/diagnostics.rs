//! Rendering config diagnostics: miette's graphical report for people,
//! JSON for tools, and `::error` workflow commands for GitHub Actions.

use std::fmt::Write as _;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use serde::Serialize;

use crate::config::{Diagnostic, Diagnostics, Severity, SourceMap, Span};

use super::Style;
use super::escape;

/// One diagnostic as miette wants it: a single source file, labels in it,
/// and the labels in other files as related reports.
#[derive(Debug)]
struct Report {
    message: String,
    code: String,
    severity: miette::Severity,
    hint: Option<String>,
    source: Option<NamedSource<String>>,
    labels: Vec<LabeledSpan>,
    related: Vec<Report>,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        (!self.code.is_empty()).then(|| Box::new(&self.code) as Box<dyn std::fmt::Display>)
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }
    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.hint
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        (!self.labels.is_empty())
            .then(|| Box::new(self.labels.iter().cloned()) as Box<dyn Iterator<Item = LabeledSpan>>)
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        (!self.related.is_empty()).then(|| {
            Box::new(self.related.iter().map(|r| r as &dyn miette::Diagnostic))
                as Box<dyn Iterator<Item = _>>
        })
    }
}

/// Lines longer than this (in bytes) are shown clipped around the label:
/// a minified or generated line of 70,000 characters must render as a
/// readable excerpt, not as a wall of text (or a panic in the renderer).
const MAX_LINE: usize = 512;
/// How much of a clipped line is shown.
const CLIP_WIDTH: usize = 240;
/// How much of a clipped line is shown before the label's start.
const CLIP_BEFORE: usize = 80;

fn floor_boundary(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The text miette is given for one file, and the spans mapped into it.
/// When every line the spans touch (with one line of context) is short,
/// that is the whole file and the spans as they are. Otherwise only those
/// lines, each long one clipped to a window around the first label on it
/// and marked with `…`; blank lines stand in for the lines before, so line
/// numbers stay true.
fn excerpt(text: &str, spans: &[Span]) -> (String, Vec<SourceSpan>) {
    let len = text.len();
    let clamp = |s: &Span| {
        let start = floor_boundary(text, s.start.min(len));
        let end = floor_boundary(text, (s.start + s.len).min(len)).max(start);
        (start, end)
    };
    let ranges: Vec<(usize, usize)> = spans.iter().map(clamp).collect();
    let line_start = |i: usize| text[..i].rfind('\n').map_or(0, |n| n + 1);
    let line_end = |i: usize| text[i..].find('\n').map_or(len, |n| i + n);
    let first = ranges.iter().map(|r| r.0).min().unwrap_or(0);
    let last = ranges.iter().map(|r| r.1).max().unwrap_or(0);
    // One line of context on each side.
    let mut from = line_start(first);
    if from > 0 {
        from = line_start(from - 1);
    }
    let mut to = line_end(last);
    if to < len {
        to = line_end(to + 1);
    }
    let long = text[from..to].split('\n').any(|l| l.len() > MAX_LINE);
    if !long {
        let mapped = ranges
            .iter()
            .map(|&(a, b)| SourceSpan::new(a.into(), b - a))
            .collect();
        return (escape::same_width_visible(text).into_owned(), mapped);
    }
    let mut out = "\n".repeat(text[..from].matches('\n').count());
    // For each kept line: (start, end) in the file, window (ws, we), and
    // where the window starts in `out`.
    let mut windows: Vec<(usize, usize, usize, usize, usize)> = Vec::new();
    let mut ls = from;
    loop {
        let le = line_end(ls);
        let (ws, we) = if le - ls <= MAX_LINE {
            (ls, le)
        } else {
            let anchor = ranges
                .iter()
                .filter_map(|&(a, b)| {
                    if a >= ls && a <= le {
                        Some(a)
                    } else if a < ls && b > ls {
                        Some(ls)
                    } else {
                        None
                    }
                })
                .min()
                .unwrap_or(ls);
            let ws = floor_boundary(text, anchor.saturating_sub(CLIP_BEFORE).max(ls));
            let we = floor_boundary(text, (ws + CLIP_WIDTH).min(le));
            (ws, we)
        };
        if ws > ls {
            out.push('…');
        }
        let at = out.len();
        out.push_str(&text[ws..we]);
        if we < le {
            out.push('…');
        }
        windows.push((ls, le, ws, we, at));
        if le >= to {
            break;
        }
        out.push('\n');
        ls = le + 1;
    }
    let map = |i: usize| -> usize {
        for &(ls, le, ws, we, at) in &windows {
            if i >= ls && i <= le {
                return at + i.clamp(ws, we) - ws;
            }
        }
        out.len()
    };
    let mapped = ranges
        .iter()
        .map(|&(a, b)| {
            let (na, nb) = (map(a), map(b));
            SourceSpan::new(na.into(), nb.saturating_sub(na))
        })
        .collect();
    (escape::same_width_visible(&out).into_owned(), mapped)
}

/// A source line for JSON, clipped like the text excerpt.
fn clipped_line(line: &str) -> String {
    if line.len() <= MAX_LINE * 2 {
        return line.to_string();
    }
    let end = floor_boundary(line, MAX_LINE * 2);
    format!("{}…", &line[..end])
}

fn to_report(sources: &SourceMap, d: &Diagnostic) -> Report {
    let severity = match d.severity {
        Severity::Error => miette::Severity::Error,
        Severity::Warning => miette::Severity::Warning,
    };
    let word = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    // rustc's `error[code]: message` reads better than miette's code line.
    let mut report = Report {
        message: format!("{word}[{}]: {}", d.code, escape::terminal(&d.message)),
        code: String::new(),
        severity,
        hint: d.hint.as_deref().map(|h| escape::terminal(h).into_owned()),
        source: None,
        labels: Vec::new(),
        related: Vec::new(),
    };
    let Some(primary) = &d.primary else {
        return report;
    };
    let file = sources.get(primary.span.file);
    let same: Vec<&crate::config::Label> = d
        .secondary
        .iter()
        .filter(|l| l.span.file == primary.span.file)
        .collect();
    let spans: Vec<Span> = std::iter::once(primary.span)
        .chain(same.iter().map(|l| l.span))
        .collect();
    let (text, mapped) = excerpt(&file.text, &spans);
    report.source = Some(NamedSource::new(file.name.clone(), text));
    report.labels.push(LabeledSpan::new_primary_with_span(
        Some(escape::terminal(&primary.text).into_owned()),
        mapped[0],
    ));
    for (label, span) in same.iter().zip(&mapped[1..]) {
        report.labels.push(LabeledSpan::new_with_span(
            Some(escape::terminal(&label.text).into_owned()),
            *span,
        ));
    }
    for label in d
        .secondary
        .iter()
        .filter(|l| l.span.file != primary.span.file)
    {
        let other = sources.get(label.span.file);
        let (text, mapped) = excerpt(&other.text, &[label.span]);
        report.related.push(Report {
            message: escape::terminal(&label.text).into_owned(),
            code: String::new(),
            severity: miette::Severity::Advice,
            hint: None,
            source: Some(NamedSource::new(other.name.clone(), text)),
            labels: vec![LabeledSpan::new_primary_with_span(None, mapped[0])],
            related: Vec::new(),
        });
    }
    report
}

/// Human-readable text: every diagnostic with its source excerpt, then a
/// count line.
pub fn text(sources: &SourceMap, diagnostics: &Diagnostics, style: Style) -> String {
    let theme = match style {
        Style::Plain => GraphicalTheme::unicode_nocolor(),
        Style::Color => GraphicalTheme::unicode(),
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false);
    let mut out = String::new();
    for d in diagnostics.iter() {
        let report = to_report(sources, d);
        let _ = handler.render_report(&mut out, &report);
        out.push('\n');
    }
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = diagnostics.len() - errors;
    let _ = write!(out, "{errors} error{}", if errors == 1 { "" } else { "s" });
    if warnings > 0 {
        let _ = write!(
            out,
            ", {warnings} warning{}",
            if warnings == 1 { "" } else { "s" }
        );
    }
    out.push('\n');
    out
}

#[derive(Serialize)]
struct JsonLabel {
    file: String,
    line: usize,
    column: usize,
    text: String,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    code: &'a str,
    severity: Severity,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_line: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<&'a str>,
    related: Vec<JsonLabel>,
}

/// `{"format_version": 1, "valid": false, "diagnostics": [...]}`.
pub fn json(sources: &SourceMap, diagnostics: &Diagnostics) -> serde_json::Value {
    let items: Vec<JsonDiagnostic> = diagnostics
        .iter()
        .map(|d| {
            let pos = d.primary.as_ref().map(|l| sources.position(l.span));
            JsonDiagnostic {
                code: d.code,
                severity: d.severity,
                message: &d.message,
                source_line: d.primary.as_ref().map(|l| {
                    let (_, line, _) = sources.position(l.span);
                    clipped_line(sources.get(l.span.file).line_text(line))
                }),
                file: pos.as_ref().map(|p| p.0.clone()),
                line: pos.as_ref().map(|p| p.1),
                column: pos.as_ref().map(|p| p.2),
                hint: d.hint.as_deref(),
                related: d
                    .secondary
                    .iter()
                    .map(|l| {
                        let (file, line, column) = sources.position(l.span);
                        JsonLabel {
                            file,
                            line,
                            column,
                            text: l.text.clone(),
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    serde_json::json!({
        "format_version": 1,
        "valid": !diagnostics.has_errors(),
        "diagnostics": items,
    })
}

/// GitHub Actions workflow commands, one line per diagnostic.
pub fn github(sources: &SourceMap, diagnostics: &Diagnostics) -> String {
    let mut out = String::new();
    for d in diagnostics.iter() {
        let level = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut props = Vec::new();
        if let Some(l) = &d.primary {
            let (file, line, col) = sources.position(l.span);
            props.push(format!("file={}", super::escape::github_property(&file)));
            props.push(format!("line={line}"));
            props.push(format!("col={col}"));
        }
        props.push(format!(
            "title={}",
            super::escape::github_property(&format!("orgform {}", d.code))
        ));
        let mut message = d.message.clone();
        if let Some(h) = &d.hint {
            message.push_str("\nhint: ");
            message.push_str(h);
        }
        let _ = writeln!(
            out,
            "::{level} {}::{}",
            props.join(","),
            super::escape::github_data(&message)
        );
    }
    out
}
