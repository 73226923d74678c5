//! Request forms in HTML: the inputs generated from a definition's fields, and a posted
//! form turned back into the JSON the engine validates. What was typed is kept as typed,
//! so a form with errors comes back with every value in place.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::{Map, Value};
use signoff_engine::directory::Directory;
use signoff_engine::display::{plain, Lang};
use signoff_engine::form::FormErrors;
use signoff_engine::model::{Field, FieldType};
use signoff_engine::problem::FieldProblem;

/// Submitted text by input name (`purpose`, `lines[0].amount`).
pub type Raw = HashMap<String, String>;

/// One input (or a table of inputs) as the template draws it.
#[derive(Debug, Clone, Serialize)]
pub struct Widget {
    pub name: String,
    pub label: String,
    pub help: String,
    /// text, textarea, number, money, date, select, checkbox, user, table
    pub kind: &'static str,
    pub required: bool,
    pub value: String,
    pub error: Option<String>,
    pub options: Vec<(String, String)>,
    pub columns: Vec<Widget>,
    pub rows: Vec<Vec<Widget>>,
    /// The most lines a table takes.
    pub max_rows: u32,
    /// The file name endings a file input offers (`.pdf,.png`).
    pub accept: String,
    /// Whether a file input takes several files.
    pub multiple: bool,
}

/// The widgets for `fields`, filled from `raw`, with `errors` beside their fields.
/// Tables show their rows plus `extra` empty ones (at least one row).
pub fn widgets(
    fields: &[Field],
    raw: &Raw,
    errors: &BTreeMap<String, String>,
    directory: &Directory,
    lang: Lang,
    extra: &HashMap<String, usize>,
) -> Vec<Widget> {
    fields
        .iter()
        .map(|f| widget(f, &f.id.value, raw, errors, directory, lang, extra))
        .collect()
}

fn widget(
    field: &Field,
    name: &str,
    raw: &Raw,
    errors: &BTreeMap<String, String>,
    directory: &Directory,
    lang: Lang,
    extra: &HashMap<String, usize>,
) -> Widget {
    let kind = match field.kind.value {
        FieldType::Text => "text",
        FieldType::LongText => "textarea",
        FieldType::Number => "number",
        FieldType::Money => "money",
        FieldType::Date => "date",
        FieldType::Enum => "select",
        FieldType::Boolean => "checkbox",
        FieldType::User => "user",
        FieldType::Table => "table",
        FieldType::Request => "request",
        FieldType::File => "file",
    };
    let options = match field.kind.value {
        FieldType::Enum => field
            .options
            .iter()
            .map(|o| (o.value.value.clone(), lang.pick(&o.label).to_string()))
            .collect(),
        FieldType::User => directory
            .users
            .iter()
            .filter(|u| {
                field
                    .role
                    .as_ref()
                    .is_none_or(|r| u.roles.iter().any(|ur| ur.value == r.value))
            })
            .map(|u| (u.id.value.clone(), format!("{} ({})", u.name, u.id.value)))
            .collect(),
        _ => Vec::new(),
    };
    let mut rows = Vec::new();
    let mut columns = Vec::new();
    if field.kind.value == FieldType::Table {
        for i in 0..shown_rows(field, name, raw, extra) {
            rows.push(
                field
                    .columns
                    .iter()
                    .map(|c| {
                        let cell = format!("{name}[{i}].{}", c.id.value);
                        widget(c, &cell, raw, errors, directory, lang, extra)
                    })
                    .collect(),
            );
        }
        columns = field
            .columns
            .iter()
            .map(|c| {
                widget(
                    c,
                    &c.id.value,
                    &Raw::new(),
                    &BTreeMap::new(),
                    directory,
                    lang,
                    extra,
                )
            })
            .collect();
    }
    // A table's own error (e.g. "at least one line") shows above it; its cells' below them.
    Widget {
        name: name.to_string(),
        label: lang.pick(&field.label).to_string(),
        help: help_of(field, lang),
        kind,
        required: field.required,
        value: raw.get(name).cloned().unwrap_or_default(),
        error: errors.get(name).cloned(),
        options,
        columns,
        rows,
        max_rows: signoff_engine::form::max_rows(field),
        accept: file_endings(field),
        multiple: signoff_engine::attachment::max_files(field) > 1,
    }
}

/// The field's help; a file field's says which kinds, how large and how many it takes.
fn help_of(field: &Field, lang: Lang) -> String {
    use signoff_engine::attachment::{accepted, max_bytes, max_files, ByteSize};
    let help = field
        .help
        .as_ref()
        .map(|h| lang.pick(h).to_string())
        .unwrap_or_default();
    if field.kind.value != FieldType::File {
        return help;
    }
    let kinds: Vec<String> = accepted(field)
        .iter()
        .map(|k| k.to_string().to_uppercase())
        .collect();
    let (size, count) = (ByteSize(max_bytes(field)), max_files(field));
    let limits = match lang {
        Lang::Zh => format!(
            "可上传 {}，每个不超过 {size}，最多 {count} 个",
            kinds.join("、")
        ),
        Lang::En => format!("{}, at most {size} each, up to {count}", kinds.join(", ")),
    };
    if help.is_empty() {
        limits
    } else {
        format!("{help} ({limits})")
    }
}

/// The endings a browser's file chooser offers for a file field.
fn file_endings(field: &Field) -> String {
    if field.kind.value != FieldType::File {
        return String::new();
    }
    signoff_engine::attachment::accepted(field)
        .iter()
        .flat_map(|k| k.extensions().iter().map(|e| format!(".{e}")))
        .collect::<Vec<_>>()
        .join(",")
}

/// How many lines table `name` shows: those posted plus the added ones, at least one and
/// at most what the field takes.
fn shown_rows(field: &Field, name: &str, raw: &Raw, extra: &HashMap<String, usize>) -> usize {
    let count = row_count(name, raw) + extra.get(name).copied().unwrap_or(0);
    count.clamp(1, signoff_engine::form::max_rows(field) as usize)
}

/// How many rows of table `name` the submission has (the highest index + 1).
/// A computed total the page can keep up to date as one types: a value defined as
/// `sum(form.TABLE.map(x, x.COLUMN))`.
#[derive(Debug, Clone, Serialize)]
pub struct LiveTotal {
    pub id: String,
    pub label: String,
    pub table: String,
    pub column: String,
}

/// The form's totals a page script can follow (the server computes them all anyway).
pub fn live_totals(def: &signoff_engine::model::ProcessDef, lang: Lang) -> Vec<LiveTotal> {
    def.form
        .computed
        .iter()
        .filter_map(|c| {
            let (table, column) = column_sum(&c.expr.value)?;
            Some(LiveTotal {
                id: c.id.value.clone(),
                label: c
                    .label
                    .as_ref()
                    .map_or_else(|| c.id.value.clone(), |l| lang.pick(l).to_string()),
                table,
                column,
            })
        })
        .collect()
}

/// `(TABLE, COLUMN)` of an expression `sum(form.TABLE.map(x, x.COLUMN))`.
fn column_sum(expr: &str) -> Option<(String, String)> {
    let compact: String = expr.chars().filter(|c| !c.is_whitespace()).collect();
    let inner = compact.strip_prefix("sum(form.")?.strip_suffix("))")?;
    let (table, lambda) = inner.split_once(".map(")?;
    let (var, body) = lambda.split_once(',')?;
    let column = body.strip_prefix(var)?.strip_prefix('.')?;
    let plain = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    (plain(table) && plain(column)).then(|| (table.to_string(), column.to_string()))
}

/// "Add a line" and "remove this line" post the form to itself: the form as typed with
/// one more line, or without the line, and nothing submitted. None for a submission.
pub fn edited_lines(raw: &Raw) -> Option<(Raw, HashMap<String, usize>)> {
    if let Some(table) = raw.get("_add_line") {
        return Some((raw.clone(), HashMap::from([(table.clone(), 1usize)])));
    }
    let (table, index) = raw.get("_remove_line")?.split_once(':')?;
    let index = index.parse().ok()?;
    Some((without_row(raw, table, index), HashMap::new()))
}

/// The posted form without line `index` of table `table`: the later lines move up one,
/// so the page shows the table one line shorter ("remove this line" without a script).
pub fn without_row(raw: &Raw, table: &str, index: usize) -> Raw {
    let prefix = format!("{table}[");
    raw.iter()
        .filter_map(|(key, value)| {
            let Some((row, rest)) = key
                .strip_prefix(&prefix)
                .and_then(|r| r.split_once(']'))
                .and_then(|(n, rest)| Some((n.parse::<usize>().ok()?, rest)))
            else {
                return Some((key.clone(), value.clone()));
            };
            match row.cmp(&index) {
                std::cmp::Ordering::Less => Some((key.clone(), value.clone())),
                std::cmp::Ordering::Equal => None,
                std::cmp::Ordering::Greater => {
                    Some((format!("{prefix}{}]{rest}", row - 1), value.clone()))
                }
            }
        })
        .collect()
}

fn row_count(name: &str, raw: &Raw) -> usize {
    let prefix = format!("{name}[");
    raw.keys()
        .filter_map(|k| {
            k.strip_prefix(&prefix)?
                .split(']')
                .next()?
                .parse::<usize>()
                .ok()
        })
        .map(|i| i + 1)
        .max()
        .unwrap_or(0)
}

/// A posted form as JSON for the engine, the text to show again (blank table rows
/// dropped and the rest renumbered, so the engine's error names match), and the
/// problems found before the engine sees it (a number that is not a number).
/// The engine's problems with a form, in the reader's language, by field path.
pub fn problems(errors: FormErrors, lang: Lang) -> BTreeMap<String, String> {
    errors
        .fields
        .into_iter()
        .map(|(path, problem)| (path, problem.text(lang)))
        .collect()
}

/// The posted inputs of `fields` as a form, what they showed, and what could not be read
/// (in the reader's language).
pub fn parse(fields: &[Field], raw: &Raw, lang: Lang) -> (Value, Raw, BTreeMap<String, String>) {
    let mut errors = FormErrors::default();
    let mut shown = Raw::new();
    let value = parse_fields(fields, raw, "", &mut shown, &mut errors);
    (Value::Object(value), shown, problems(errors, lang))
}

fn parse_fields(
    fields: &[Field],
    raw: &Raw,
    prefix: &str,
    shown: &mut Raw,
    errors: &mut FormErrors,
) -> Map<String, Value> {
    let mut out = Map::new();
    for field in fields {
        let name = format!("{prefix}{}", field.id.value);
        if field.kind.value == FieldType::File {
            // Set from the uploads only (the engine's rule): nothing typed counts.
            continue;
        }
        if field.kind.value == FieldType::Table {
            let mut lines = Vec::new();
            for i in 0..row_count(&name, raw) {
                let cells = format!("{name}[{i}].");
                let blank = field.columns.iter().all(|c| {
                    raw.get(&format!("{cells}{}", c.id.value))
                        .is_none_or(|v| v.trim().is_empty())
                });
                if blank {
                    continue;
                }
                // Renumber: the kept rows are 0, 1, 2, ...
                let mut renumbered = Raw::new();
                for c in &field.columns {
                    if let Some(v) = raw.get(&format!("{cells}{}", c.id.value)) {
                        renumbered.insert(c.id.value.clone(), v.clone());
                    }
                }
                let at = format!("{name}[{}].", lines.len());
                let mut row_shown = Raw::new();
                let mut row_errors = FormErrors::default();
                let line = parse_fields(
                    &field.columns,
                    &renumbered,
                    "",
                    &mut row_shown,
                    &mut row_errors,
                );
                shown.extend(row_shown.into_iter().map(|(k, v)| (format!("{at}{k}"), v)));
                for (k, v) in row_errors.fields {
                    errors.add(&format!("{at}{k}"), v);
                }
                lines.push(Value::Object(line));
            }
            out.insert(field.id.value.clone(), Value::Array(lines));
            continue;
        }
        let text = raw
            .get(&name)
            .map(|v| v.trim().to_string())
            .unwrap_or_default();
        if field.kind.value == FieldType::Boolean {
            let checked = matches!(text.as_str(), "true" | "on" | "1");
            if checked {
                shown.insert(name.clone(), "true".into());
            }
            out.insert(field.id.value.clone(), Value::Bool(checked));
            continue;
        }
        shown.insert(name.clone(), raw.get(&name).cloned().unwrap_or_default());
        if text.is_empty() {
            continue;
        }
        let value = match field.kind.value {
            FieldType::Number | FieldType::Money => match text.replace(',', "").parse::<f64>() {
                Ok(n) if n.is_finite() => serde_json::Number::from_f64(n).map(Value::Number),
                _ => {
                    errors.add(&name, FieldProblem::NotANumber);
                    None
                }
            },
            _ => Some(Value::String(text)),
        };
        if let Some(value) = value {
            out.insert(field.id.value.clone(), value);
        }
    }
    out
}

/// A stored form as the text its inputs show (to resubmit a returned request).
pub fn raw_of(fields: &[Field], form: &Value) -> Raw {
    let mut raw = Raw::new();
    fill_raw(fields, form, "", &mut raw);
    raw
}

fn fill_raw(fields: &[Field], form: &Value, prefix: &str, raw: &mut Raw) {
    for field in fields {
        let name = format!("{prefix}{}", field.id.value);
        let Some(value) = form.get(&field.id.value) else {
            continue;
        };
        match (field.kind.value, value) {
            (FieldType::File, _) => {}
            (FieldType::Table, Value::Array(lines)) => {
                for (i, line) in lines.iter().enumerate() {
                    fill_raw(&field.columns, line, &format!("{name}[{i}]."), raw);
                }
            }
            (FieldType::Boolean, Value::Bool(true)) => {
                raw.insert(name, "true".into());
            }
            (FieldType::Boolean, _) => {}
            // 100.0 is shown as typed: 100.
            (_, Value::Number(n)) => {
                let text = match n.as_f64() {
                    Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
                    _ => n.to_string(),
                };
                raw.insert(name, text);
            }
            _ => {
                raw.insert(name, plain(value));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reimbursement() -> signoff_engine::model::ProcessDef {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../processes/reimbursement.yaml");
        let source = signoff_engine::loader::SourceFile::read(&path).expect("reads");
        source.parse().expect("parses")
    }

    #[test]
    fn a_posted_table_drops_blank_rows_and_renumbers() {
        let def = reimbursement();
        let raw: Raw = [
            ("purpose", "客户现场"),
            ("receipts", "2"),
            ("lines[0].category", "transport"),
            ("lines[0].amount", "560"),
            ("lines[1].category", ""),
            ("lines[1].amount", ""),
            ("lines[2].category", "lodging"),
            ("lines[2].amount", "4x0"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let (form, shown, errors) = parse(&def.form.fields, &raw, Lang::En);
        assert_eq!(form["lines"].as_array().map(Vec::len), Some(2));
        assert_eq!(form["lines"][0]["amount"], serde_json::json!(560.0));
        assert_eq!(form["receipts"], serde_json::json!(2.0));
        assert_eq!(
            shown.get("lines[1].amount").map(String::as_str),
            Some("4x0")
        );
        assert_eq!(errors.keys().collect::<Vec<_>>(), ["lines[1].amount"]);
        // And back: a stored form shows as the same text.
        let again = raw_of(&def.form.fields, &form);
        assert_eq!(
            again.get("lines[0].category").map(String::as_str),
            Some("transport")
        );
    }

    #[test]
    fn a_column_sum_is_followed_live_and_anything_else_is_not() {
        assert_eq!(
            column_sum("sum(form.lines.map(l, l.amount))"),
            Some(("lines".into(), "amount".into()))
        );
        assert_eq!(column_sum("sum(form.lines.map(l, l.amount * 2))"), None);
        assert_eq!(column_sum("form.lines.size()"), None);
    }

    #[test]
    fn removing_a_line_moves_the_later_ones_up() {
        let raw: Raw = [
            ("purpose", "x"),
            ("lines[0].amount", "1"),
            ("lines[1].amount", "2"),
            ("lines[2].amount", "3"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let left = without_row(&raw, "lines", 1);
        assert_eq!(left.len(), 3);
        assert_eq!(left["lines[0].amount"], "1");
        assert_eq!(left["lines[1].amount"], "3");
        assert_eq!(left["purpose"], "x");
    }
}
