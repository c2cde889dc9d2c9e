//! `orgform import people`: a staff list (CSV or XLSX) → the `people`
//! section.
//!
//! Columns are matched to person fields by name, case-insensitively and
//! with sensible aliases (`Telegram ID`, `tg_id`, `Full name`, `Team`…),
//! or as `--map column=field` says. Every row that cannot be used — no or
//! a bad telegram id, an unknown department or role (checked against the
//! config next to the output file, when there is one), a handle or id that
//! another row or another file already has, a cell holding a formula — is
//! reported with its row number as a spreadsheet shows it. Merging with
//! the people already in the output file keeps what the list has no column
//! for (grants, labels…), and says who was added, changed and is gone.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::{ImportError, slug};
use crate::model::Config;
use crate::spec::{Person, PersonStatus};

/// A person field a column can fill.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Field {
    Handle,
    TelegramId,
    Name,
    Username,
    Department,
    Roles,
    /// `key=value` pairs separated by `;` or `,`.
    Labels,
    /// One label, named by the column (`label:location`, or `--map City=label.location`).
    Label(String),
    Status,
    Ignore,
}

impl Field {
    /// A field as `--map` names it.
    pub fn parse(text: &str) -> Option<Field> {
        let t = text.trim().to_ascii_lowercase();
        if let Some(key) = t
            .strip_prefix("label.")
            .or_else(|| t.strip_prefix("label:"))
        {
            return (!key.is_empty()).then(|| Field::Label(key.to_string()));
        }
        Some(match t.as_str() {
            "handle" => Field::Handle,
            "telegram_id" => Field::TelegramId,
            "name" => Field::Name,
            "username" => Field::Username,
            "department" => Field::Department,
            "roles" => Field::Roles,
            "labels" => Field::Labels,
            "status" => Field::Status,
            "ignore" | "-" => Field::Ignore,
            _ => return None,
        })
    }

    /// The field a column header stands for by default.
    fn guess(header: &str) -> Option<Field> {
        let h: String = header
            .trim()
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c == ' ' || c == '-' { '_' } else { c })
            .collect();
        if let Some(key) = h
            .strip_prefix("label:")
            .or_else(|| h.strip_prefix("label."))
        {
            return (!key.is_empty()).then(|| Field::Label(key.to_string()));
        }
        Some(match h.as_str() {
            "handle" | "key" | "login" | "id_handle" => Field::Handle,
            "telegram_id" | "telegramid" | "tg_id" | "telegram_user_id" | "user_id" => {
                Field::TelegramId
            }
            "name" | "full_name" | "fullname" | "display_name" => Field::Name,
            "username" | "telegram_username" | "tg_username" | "telegram" => Field::Username,
            "department" | "dept" | "team" => Field::Department,
            "roles" | "role" => Field::Roles,
            "labels" | "tags" => Field::Labels,
            "status" | "state" => Field::Status,
            _ => return None,
        })
    }

    pub fn name(&self) -> String {
        match self {
            Field::Handle => "handle".into(),
            Field::TelegramId => "telegram_id".into(),
            Field::Name => "name".into(),
            Field::Username => "username".into(),
            Field::Department => "department".into(),
            Field::Roles => "roles".into(),
            Field::Labels => "labels".into(),
            Field::Label(k) => format!("label.{k}"),
            Field::Status => "status".into(),
            Field::Ignore => "ignore".into(),
        }
    }
}

/// A sheet: the header row and the data rows, every cell as text.
#[derive(Clone, Debug, Default)]
pub struct Sheet {
    pub headers: Vec<String>,
    /// (row number as a spreadsheet shows it, cells).
    pub rows: Vec<(usize, Vec<String>)>,
    /// Cells holding a formula: (row number, column index).
    pub formulas: BTreeSet<(usize, usize)>,
}

/// Read a CSV file (comma, or semicolon when the header has more of them).
pub fn read_csv(path: &Path) -> Result<Sheet, ImportError> {
    let bytes = std::fs::read(path)
        .map_err(|e| ImportError::new(format!("cannot read {}: {e}", path.display())))?;
    let text = String::from_utf8_lossy(&bytes);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let first = text.lines().next().unwrap_or_default();
    let delimiter = if first.matches(';').count() > first.matches(',').count() {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut sheet = Sheet::default();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| ImportError::new(format!("{}: {e}", path.display())))?;
        let cells: Vec<String> = record.iter().map(|c| c.trim().to_string()).collect();
        if i == 0 {
            sheet.headers = cells;
        } else if cells.iter().any(|c| !c.is_empty()) {
            let line = record
                .position()
                .map(|p| p.line() as usize)
                .unwrap_or(i + 1);
            sheet.rows.push((line, cells));
        }
    }
    Ok(sheet)
}

/// Read a sheet of an XLSX (or other spreadsheet) file: the named one or the first.
pub fn read_xlsx(path: &Path, sheet_name: Option<&str>) -> Result<Sheet, ImportError> {
    use calamine::{Data, Reader, open_workbook_auto};
    let mut book = open_workbook_auto(path)
        .map_err(|e| ImportError::new(format!("cannot read {}: {e}", path.display())))?;
    let names = book.sheet_names();
    let name = match sheet_name {
        Some(n) => names
            .iter()
            .find(|s| s.eq_ignore_ascii_case(n))
            .cloned()
            .ok_or_else(|| {
                ImportError::new(format!("{} has no sheet {n:?}", path.display()))
                    .hint(format!("its sheets: {}", names.join(", ")))
            })?,
        None => names
            .first()
            .cloned()
            .ok_or_else(|| ImportError::new(format!("{} has no sheets", path.display())))?,
    };
    let range = book
        .worksheet_range(&name)
        .map_err(|e| ImportError::new(format!("{}: sheet {name}: {e}", path.display())))?;
    let formulas = book.worksheet_formula(&name).ok();
    let (top, left) = range.start().unwrap_or((0, 0));
    let mut sheet = Sheet::default();
    for (i, row) in range.rows().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .map(|c| match c {
                Data::Int(n) => n.to_string(),
                Data::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => format!("{}", *f as i64),
                Data::Float(f) => f.to_string(),
                Data::String(s) => s.trim().to_string(),
                Data::Bool(b) => b.to_string(),
                Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
                Data::DateTime(d) => d.to_string(),
                Data::Error(e) => format!("#{e:?}"),
                Data::Empty => String::new(),
            })
            .collect();
        let number = top as usize + i + 1;
        if i == 0 {
            sheet.headers = cells;
        } else if cells.iter().any(|c| !c.is_empty()) {
            sheet.rows.push((number, cells));
        }
    }
    if let Some(formulas) = formulas {
        for (r, c, f) in formulas.used_cells() {
            if !f.is_empty() {
                let (fr, fc) = formulas.start().unwrap_or((0, 0));
                let row = fr as usize + r + 1;
                let col = (fc as usize + c).saturating_sub(left as usize);
                sheet.formulas.insert((row, col));
            }
        }
    }
    Ok(sheet)
}

/// Read a staff list by its extension.
pub fn read_sheet(path: &Path, sheet_name: Option<&str>) -> Result<Sheet, ImportError> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("csv") | Some("txt") => read_csv(path),
        Some("xlsx") | Some("xlsm") | Some("xls") | Some("ods") => read_xlsx(path, sheet_name),
        _ => Err(ImportError::new(format!(
            "{}: not a .csv or .xlsx file",
            path.display()
        ))),
    }
}

/// The column → field assignment.
#[derive(Clone, Debug, Default)]
pub struct Columns {
    pub fields: Vec<Option<Field>>,
    /// Headers matched to nothing (ignored).
    pub ignored: Vec<String>,
}

/// Match headers to fields: `--map` first, then the defaults.
pub fn columns(headers: &[String], map: &[(String, Field)]) -> Result<Columns, ImportError> {
    let mut out = Columns::default();
    for (column, _) in map {
        if !headers
            .iter()
            .any(|h| h.trim().eq_ignore_ascii_case(column.trim()))
        {
            return Err(ImportError::new(format!(
                "--map names column {column:?}, which the sheet does not have"
            ))
            .hint(format!("its columns: {}", headers.join(", "))));
        }
    }
    for h in headers {
        let mapped = map
            .iter()
            .find(|(c, _)| c.trim().eq_ignore_ascii_case(h.trim()))
            .map(|(_, f)| f.clone());
        let field = mapped.or_else(|| Field::guess(h));
        match field {
            Some(Field::Ignore) => out.fields.push(None),
            Some(f) => {
                if out.fields.iter().flatten().any(|g| *g == f) {
                    return Err(ImportError::new(format!(
                        "two columns fill {}; the second is {h:?}",
                        f.name()
                    ))
                    .hint(format!("map one of them elsewhere: --map {h:?}=ignore")));
                }
                out.fields.push(Some(f));
            }
            None => {
                if !h.is_empty() {
                    out.ignored.push(h.clone());
                }
                out.fields.push(None);
            }
        }
    }
    if !out.fields.iter().flatten().any(|f| *f == Field::TelegramId) {
        return Err(
            ImportError::new("no column holds the telegram id").hint(format!(
                "name it telegram_id, or map it: --map \"<column>=telegram_id\" (columns: {})",
                headers.join(", ")
            )),
        );
    }
    Ok(out)
}

/// A row that cannot be used, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowProblem {
    pub row: usize,
    pub message: String,
}

/// What the config next to the output says: departments and roles that exist,
/// and people declared in other files.
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// `None`: no config found, so departments and roles are not checked.
    pub departments: Option<BTreeSet<String>>,
    pub roles: Option<BTreeSet<String>>,
    /// People declared outside the output file: handle → telegram id.
    pub elsewhere: BTreeMap<String, Option<i64>>,
}

impl Context {
    pub fn from_config(config: &Config, output: Option<&Config>) -> Context {
        let mine: BTreeSet<&String> = output
            .map(|c| c.people.keys().collect())
            .unwrap_or_default();
        Context {
            departments: Some(config.departments.keys().cloned().collect()),
            roles: Some(config.roles.keys().cloned().collect()),
            elsewhere: config
                .people
                .iter()
                .filter(|(h, _)| !mine.contains(h))
                .map(|(h, p)| (h.clone(), p.telegram_id))
                .collect(),
        }
    }
}

/// The people a sheet describes, and the rows that could not be used.
#[derive(Clone, Debug, Default)]
pub struct Parsed {
    pub people: BTreeMap<String, (usize, Person, BTreeSet<Field>)>,
    pub problems: Vec<RowProblem>,
}

/// Turn rows into people, checking each.
pub fn parse_rows(sheet: &Sheet, columns: &Columns, context: &Context) -> Parsed {
    let mut parsed = Parsed::default();
    let mut ids: BTreeMap<i64, usize> = BTreeMap::new();
    let mut handles: BTreeMap<String, usize> = BTreeMap::new();
    for (row, cells) in &sheet.rows {
        let mut problems: Vec<String> = Vec::new();
        let mut person = Person::default();
        let mut handle: Option<String> = None;
        let mut filled = BTreeSet::new();
        for (i, field) in columns.fields.iter().enumerate() {
            let Some(field) = field else { continue };
            let value = cells.get(i).map(String::as_str).unwrap_or("").trim();
            let header = sheet.headers.get(i).map(String::as_str).unwrap_or("?");
            if sheet.formulas.contains(&(*row, i)) || value.starts_with('=') {
                problems.push(format!(
                    "column {header:?} holds a formula, not a value; export the sheet with values"
                ));
                continue;
            }
            filled.insert(field.clone());
            if value.is_empty() {
                continue;
            }
            match field {
                Field::Handle => handle = Some(value.to_string()),
                Field::TelegramId => match value.parse::<i64>() {
                    Ok(id) if id > 0 => person.telegram_id = Some(id),
                    _ => problems.push(format!(
                        "telegram_id {value:?} is not a Telegram user id (a positive number)"
                    )),
                },
                Field::Name => person.name = Some(value.to_string()),
                Field::Username => {
                    let u = value.trim_start_matches('@');
                    let u = u.strip_prefix("https://t.me/").unwrap_or(u);
                    if (4..=32).contains(&u.len())
                        && u.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    {
                        person.username = Some(u.to_string());
                    } else {
                        problems.push(format!("username {value:?} is not a Telegram username (4–32 letters, digits, _)"));
                    }
                }
                Field::Department => {
                    if let Some(known) = &context.departments
                        && !known.contains(value)
                    {
                        problems.push(format!(
                            "unknown department {value:?}{}",
                            did_you_mean(value, known)
                        ));
                    }
                    person.department = Some(value.to_string());
                }
                Field::Roles => {
                    for role in value
                        .split([',', ';', ' '])
                        .map(str::trim)
                        .filter(|r| !r.is_empty())
                    {
                        if let Some(known) = &context.roles
                            && !known.contains(role)
                        {
                            problems.push(format!(
                                "unknown role {role:?}{}",
                                did_you_mean(role, known)
                            ));
                        }
                        if !person.roles.iter().any(|r| r == role) {
                            person.roles.push(role.to_string());
                        }
                    }
                }
                Field::Labels => {
                    for pair in value
                        .split([';', ','])
                        .map(str::trim)
                        .filter(|p| !p.is_empty())
                    {
                        match pair.split_once(['=', ':']) {
                            Some((k, v)) if !k.trim().is_empty() => {
                                person
                                    .labels
                                    .insert(k.trim().to_string(), v.trim().to_string());
                            }
                            _ => problems.push(format!("label {pair:?} is not key=value")),
                        }
                    }
                }
                Field::Label(key) => {
                    person.labels.insert(key.clone(), value.to_string());
                }
                Field::Status => match value.to_ascii_lowercase().as_str() {
                    "active" => person.status = PersonStatus::Active,
                    "suspended" => person.status = PersonStatus::Suspended,
                    "offboarded" | "left" | "inactive" => person.status = PersonStatus::Offboarded,
                    _ => problems.push(format!(
                        "status {value:?} is not active, suspended or offboarded"
                    )),
                },
                Field::Ignore => {}
            }
        }
        let handle = handle
            .map(|h| slug(&h))
            .filter(|h| !h.is_empty())
            .or_else(|| {
                person
                    .username
                    .as_deref()
                    .map(slug)
                    .filter(|h| !h.is_empty())
            })
            .or_else(|| person.name.as_deref().map(slug).filter(|h| !h.is_empty()));
        let id = person.telegram_id;
        if id.is_none() && !problems.iter().any(|p| p.starts_with("telegram_id")) {
            problems.push("missing telegram_id".into());
        }
        let Some(handle) = handle else {
            problems.push("no handle, username or name to make a handle from".into());
            parsed.problems.push(RowProblem {
                row: *row,
                message: problems.join("; "),
            });
            continue;
        };
        if let Some(first) = handles.get(&handle) {
            problems.push(format!("handle `{handle}` is already used by row {first}"));
        } else if let Some(other) = context.elsewhere.get(&handle)
            && *other != id
        {
            problems.push(format!(
                "handle `{handle}` is already a different person in the config"
            ));
        }
        if let Some(id) = id {
            if let Some(first) = ids.get(&id) {
                problems.push(format!("telegram_id {id} is already used by row {first}"));
            } else if let Some((h, _)) = context
                .elsewhere
                .iter()
                .find(|(h, i)| **i == Some(id) && **h != handle)
            {
                problems.push(format!(
                    "telegram_id {id} already belongs to `{h}` in the config"
                ));
            }
        }
        if problems.is_empty() {
            handles.insert(handle.clone(), *row);
            if let Some(id) = id {
                ids.insert(id, *row);
            }
            parsed.people.insert(handle, (*row, person, filled));
        } else {
            handles.entry(handle).or_insert(*row);
            if let Some(id) = id {
                ids.entry(id).or_insert(*row);
            }
            parsed.problems.push(RowProblem {
                row: *row,
                message: problems.join("; "),
            });
        }
    }
    parsed
}

fn did_you_mean(value: &str, known: &BTreeSet<String>) -> String {
    let best = known
        .iter()
        .map(|k| {
            (
                strsim::jaro_winkler(&value.to_ascii_lowercase(), &k.to_ascii_lowercase()),
                k,
            )
        })
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((_, k)) => format!(" (did you mean `{k}`?)"),
        None => String::new(),
    }
}

/// What the new list did to the people already in the output file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    pub added: Vec<String>,
    /// Handle and the fields that changed.
    pub changed: Vec<(String, Vec<String>)>,
    /// In the file, not in the list (still active there).
    pub gone: Vec<String>,
    pub unchanged: usize,
}

/// Merge the sheet's people into the file's: fields the sheet has a
/// column for come from the sheet, everything else stays. People not in
/// the list stay as they are, or are marked offboarded.
pub fn merge(
    old: &BTreeMap<String, Person>,
    parsed: &Parsed,
    offboard_missing: bool,
) -> (BTreeMap<String, Person>, Changes) {
    let mut out = old.clone();
    let mut changes = Changes::default();
    for (handle, (_, new, filled)) in &parsed.people {
        match old.get(handle) {
            None => {
                out.insert(handle.clone(), new.clone());
                changes.added.push(handle.clone());
            }
            Some(before) => {
                let mut after = before.clone();
                let mut fields = Vec::new();
                macro_rules! take {
                    ($field:ident, $which:expr) => {
                        if filled.contains(&$which) && after.$field != new.$field {
                            after.$field = new.$field.clone();
                            fields.push($which.name());
                        }
                    };
                }
                take!(telegram_id, Field::TelegramId);
                take!(name, Field::Name);
                take!(username, Field::Username);
                take!(department, Field::Department);
                take!(roles, Field::Roles);
                take!(status, Field::Status);
                if filled.contains(&Field::Labels) {
                    if after.labels != new.labels {
                        after.labels = new.labels.clone();
                        fields.push("labels".into());
                    }
                } else {
                    for f in filled {
                        if let Field::Label(k) = f {
                            let v = new.labels.get(k);
                            if after.labels.get(k) != v {
                                match v {
                                    Some(v) => after.labels.insert(k.clone(), v.clone()),
                                    None => after.labels.remove(k),
                                };
                                fields.push(f.name());
                            }
                        }
                    }
                }
                // A person back on the list is active again unless a status column says otherwise.
                if !filled.contains(&Field::Status) && after.status == PersonStatus::Offboarded {
                    after.status = PersonStatus::Active;
                    fields.push("status".into());
                }
                if fields.is_empty() {
                    changes.unchanged += 1;
                } else {
                    changes.changed.push((handle.clone(), fields));
                }
                out.insert(handle.clone(), after);
            }
        }
    }
    for (handle, person) in old {
        if parsed.people.contains_key(handle) || person.status == PersonStatus::Offboarded {
            continue;
        }
        changes.gone.push(handle.clone());
        if offboard_missing && let Some(p) = out.get_mut(handle) {
            p.status = PersonStatus::Offboarded;
        }
    }
    (out, changes)
}

/// Options of `import people`.
#[derive(Clone, Debug, Default)]
pub struct PeopleOptions {
    pub from: PathBuf,
    pub sheet: Option<String>,
    pub map: Vec<(String, Field)>,
    pub out: PathBuf,
    pub partial: bool,
    pub offboard_missing: bool,
    pub force: bool,
}

/// The outcome of `import people`.
#[derive(Clone, Debug, Default)]
pub struct PeopleReport {
    pub source: String,
    pub rows: usize,
    pub ignored_columns: Vec<String>,
    pub departments_checked: bool,
    pub problems: Vec<RowProblem>,
    pub changes: Changes,
    pub offboarded: bool,
    /// The file text to write, when something may be written.
    pub text: Option<String>,
    /// Why nothing is written.
    pub refused: Option<String>,
}

/// Read the list, check it, merge it with the output file; returns the
/// report with the text to write (unless unusable rows or the file's
/// origin forbid writing).
pub fn import(options: &PeopleOptions) -> Result<PeopleReport, ImportError> {
    let sheet = read_sheet(&options.from, options.sheet.as_deref())?;
    let columns = columns(&sheet.headers, &options.map)?;
    let out_dir = options
        .out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let dir = super::ConfigDir::scan(out_dir)?;
    let out_path = out_dir.join(options.out.file_name().unwrap_or_default());
    let own = dir.file(&out_path).cloned();
    let context = if dir.is_empty() || dir.files.iter().all(|f| f.path == out_path) {
        Context::default()
    } else {
        let mut all = Config::default();
        for f in &dir.files {
            all.people.extend(f.config.people.clone());
            all.departments.extend(f.config.departments.clone());
            all.roles.extend(f.config.roles.clone());
        }
        Context::from_config(&all, own.as_ref().map(|f| &f.config))
    };
    let parsed = parse_rows(&sheet, &columns, &context);
    let old = own
        .as_ref()
        .map(|f| f.config.people.clone())
        .unwrap_or_default();
    let (people, changes) = merge(&old, &parsed, options.offboard_missing);
    let source = options
        .from
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut report = PeopleReport {
        source: source.clone(),
        rows: sheet.rows.len(),
        ignored_columns: columns.ignored.clone(),
        departments_checked: context.departments.is_some(),
        problems: parsed.problems.clone(),
        changes,
        offboarded: options.offboard_missing,
        text: None,
        refused: None,
    };
    if !report.problems.is_empty() && !options.partial {
        report.refused = Some(format!(
            "{} of {} rows cannot be used; nothing was written (fix them, or pass --partial to write the usable rows)",
            report.problems.len(),
            report.rows
        ));
        return Ok(report);
    }
    if let Some(f) = &own
        && !f.ours
        && !options.force
    {
        report.refused = Some(format!(
            "{} was not written by orgform import; nothing was written (--force rewrites it: entries kept, comments lost)",
            options.out.display()
        ));
        return Ok(report);
    }
    let mut config = own.map(|f| f.config).unwrap_or_default();
    config.people = people;
    let header = vec![
        format!("{} people` from {source}.", super::HEADER_MARK),
        "Re-running the import updates these entries from the list; fields the list has no column for are kept.".to_string(),
    ];
    report.text = Some(super::render(
        &config,
        super::Format::of_path(&options.out),
        &header,
    )?);
    Ok(report)
}
