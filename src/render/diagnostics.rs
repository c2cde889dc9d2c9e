//! Rendering config diagnostics: miette's graphical report for people,
//! JSON for tools, and `::error` workflow commands for GitHub Actions.

use std::fmt::Write as _;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use serde::Serialize;

use crate::config::{Diagnostic, Diagnostics, Severity, SourceMap, Span};

use super::Style;

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

fn source_span(sources: &SourceMap, span: Span) -> SourceSpan {
    let len = sources.get(span.file).text.len();
    let start = span.start.min(len);
    SourceSpan::new(start.into(), span.len.min(len - start))
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
        message: format!("{word}[{}]: {}", d.code, d.message),
        code: String::new(),
        severity,
        hint: d.hint.clone(),
        source: None,
        labels: Vec::new(),
        related: Vec::new(),
    };
    let Some(primary) = &d.primary else {
        return report;
    };
    let file = sources.get(primary.span.file);
    report.source = Some(NamedSource::new(file.name.clone(), file.text.to_string()));
    report.labels.push(LabeledSpan::new_primary_with_span(
        Some(primary.text.clone()),
        source_span(sources, primary.span),
    ));
    for label in &d.secondary {
        if label.span.file == primary.span.file {
            report.labels.push(LabeledSpan::new_with_span(
                Some(label.text.clone()),
                source_span(sources, label.span),
            ));
        } else {
            let other = sources.get(label.span.file);
            report.related.push(Report {
                message: label.text.clone(),
                code: String::new(),
                severity: miette::Severity::Advice,
                hint: None,
                source: Some(NamedSource::new(other.name.clone(), other.text.to_string())),
                labels: vec![LabeledSpan::new_primary_with_span(
                    None,
                    source_span(sources, label.span),
                )],
                related: Vec::new(),
            });
        }
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
                    sources.get(l.span.file).line_text(line).to_string()
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
            props.push(format!("file={}", escape_property(&file)));
            props.push(format!("line={line}"));
            props.push(format!("col={col}"));
        }
        props.push(format!(
            "title={}",
            escape_property(&format!("orgform {}", d.code))
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
            escape_data(&message)
        );
    }
    out
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}
