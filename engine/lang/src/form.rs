//! Request forms at run time: validates submitted values against a definition's fields
//! (every bad field named, not only the first), fills in computed values, and checks
//! the form's rules.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::directory::Directory;
use crate::guard::{self, Scope};
use crate::model::{Field, FieldType, ProcessDef};
use crate::problem::FieldProblem;
use crate::problem::FieldProblem as P;

/// The longest single-line text a field takes when its definition sets no `max_length`.
pub const TEXT_MAX_CHARS: u32 = 2_000;
/// The longest multi-line text a field takes when its definition sets no `max_length`.
pub const LONG_TEXT_MAX_CHARS: u32 = 20_000;
/// The most lines a table takes when its definition sets no `max_rows`. Guards iterate
/// over tables, so this also bounds what an expression may cost
/// ([`guard::MAX_LIST_ITEMS`]).
pub const TABLE_MAX_ROWS: u32 = 200;

fn max_length(field: &Field) -> u32 {
    let default = if field.kind.value == FieldType::LongText {
        LONG_TEXT_MAX_CHARS
    } else {
        TEXT_MAX_CHARS
    };
    field
        .max_length
        .map_or(default, |m| m.min(LONG_TEXT_MAX_CHARS))
}

/// The most lines a table field takes.
pub fn max_rows(field: &Field) -> u32 {
    field
        .max_rows
        .map_or(TABLE_MAX_ROWS, |m| m.min(guard::MAX_LIST_ITEMS as u32))
}

/// Every problem with a submitted form, by field path (`lines[1].amount`); the empty key
/// holds problems with the form as a whole.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct FormErrors {
    pub fields: BTreeMap<String, FieldProblem>,
}

impl FormErrors {
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    pub fn add(&mut self, path: &str, problem: FieldProblem) {
        self.fields.entry(path.to_string()).or_insert(problem);
    }
}

impl std::fmt::Display for FormErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .fields
            .iter()
            .map(|(k, v)| {
                if k.is_empty() {
                    v.to_string()
                } else {
                    format!("{k}: {v}")
                }
            })
            .collect();
        f.write_str(&parts.join("; "))
    }
}

/// Checks `input` against the fields in `fields`, returning the cleaned values (numbers
/// normalised, unknown keys refused).
pub fn validate_fields(
    fields: &[Field],
    input: &Value,
    directory: &Directory,
    prefix: &str,
    errors: &mut FormErrors,
) -> Map<String, Value> {
    let mut out = Map::new();
    let Some(object) = input.as_object() else {
        errors.add(prefix.trim_end_matches('.'), P::NotAnObject);
        return out;
    };
    for key in object.keys() {
        if !fields.iter().any(|f| f.id.value == *key) {
            errors.add(&format!("{prefix}{key}"), P::UnknownField);
        }
    }
    for field in fields {
        let path = format!("{prefix}{}", field.id.value);
        let value = object.get(&field.id.value).unwrap_or(&Value::Null);
        let empty = match value {
            Value::Null => true,
            Value::String(s) => s.trim().is_empty(),
            Value::Array(a) => a.is_empty(),
            _ => false,
        };
        if empty {
            if field.required {
                errors.add(&path, P::Required);
            } else if matches!(field.kind.value, FieldType::Table | FieldType::File) {
                out.insert(field.id.value.clone(), Value::Array(Vec::new()));
            } else {
                out.insert(field.id.value.clone(), Value::Null);
            }
            continue;
        }
        if let Some(clean) = validate_value(field, value, directory, &path, errors) {
            out.insert(field.id.value.clone(), clean);
        }
    }
    out
}

fn number_of(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
        _ => None,
    }
}

fn validate_value(
    field: &Field,
    value: &Value,
    directory: &Directory,
    path: &str,
    errors: &mut FormErrors,
) -> Option<Value> {
    match field.kind.value {
        FieldType::Text | FieldType::LongText => validate_text(field, value, path, errors),
        FieldType::Number | FieldType::Money => validate_number(field, value, path, errors),
        FieldType::Date => {
            let text = value.as_str().unwrap_or_default();
            match chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
                Ok(d) => Some(Value::String(d.format("%Y-%m-%d").to_string())),
                Err(_) => {
                    errors.add(path, P::NotADate);
                    None
                }
            }
        }
        FieldType::Enum => {
            let text = value.as_str().unwrap_or_default();
            if field.options.iter().any(|o| o.value.value == text) {
                Some(Value::String(text.to_string()))
            } else {
                let allowed = field.options.iter().map(|o| o.value.value.clone());
                errors.add(path, P::NotAnOption(allowed.collect()));
                None
            }
        }
        FieldType::Boolean => match value {
            Value::Bool(b) => Some(Value::Bool(*b)),
            Value::String(s) if matches!(s.as_str(), "true" | "on" | "yes" | "1") => {
                Some(Value::Bool(true))
            }
            Value::String(s) if matches!(s.as_str(), "false" | "off" | "no" | "0") => {
                Some(Value::Bool(false))
            }
            _ => {
                errors.add(path, P::NotBoolean);
                None
            }
        },
        FieldType::User => validate_user(field, value, directory, path, errors),
        FieldType::Request => match request_number(value) {
            Some(id) => Some(Value::from(id)),
            None => {
                errors.add(path, P::NotARequestNumber);
                None
            }
        },
        FieldType::Table => validate_table(field, value, directory, path, errors),
        FieldType::File => validate_files(field, value, path, errors),
    }
}

/// A text: one line for `text`, within its lengths, matching its pattern.
fn validate_text(
    field: &Field,
    value: &Value,
    path: &str,
    errors: &mut FormErrors,
) -> Option<Value> {
    let Some(text) = value.as_str() else {
        errors.add(path, P::NotText);
        return None;
    };
    let length = text.chars().count() as u32;
    if field.kind.value == FieldType::Text && text.contains('\n') {
        errors.add(path, P::NotSingleLine);
    } else if field.min_length.is_some_and(|min| length < min) {
        errors.add(path, P::TooShort(field.min_length.unwrap_or_default()));
    } else if length > max_length(field) {
        errors.add(path, P::TooLong(max_length(field)));
    } else if let Some(pattern) = &field.pattern {
        let anchored = format!("^(?:{})$", pattern.value);
        match regex::Regex::new(&anchored) {
            Ok(re) if !re.is_match(text) => errors.add(path, P::WrongFormat),
            Ok(_) => {}
            Err(_) => errors.add(path, P::BadPattern),
        }
    }
    Some(Value::String(text.to_string()))
}

/// A number or an amount: whole when `integer`, cents at most for money, within bounds.
fn validate_number(
    field: &Field,
    value: &Value,
    path: &str,
    errors: &mut FormErrors,
) -> Option<Value> {
    let Some(n) = number_of(value) else {
        errors.add(path, P::NotANumber);
        return None;
    };
    if field.integer && n.fract() != 0.0 {
        errors.add(path, P::NotWhole);
    } else if field.kind.value == FieldType::Money && ((n * 100.0).round() - n * 100.0).abs() > 1e-6
    {
        errors.add(path, P::TooManyDecimals);
    } else if field.min.is_some_and(|min| n < min) {
        errors.add(path, P::BelowMin(field.min.unwrap_or_default()));
    } else if field.max.is_some_and(|max| n > max) {
        errors.add(path, P::AboveMax(field.max.unwrap_or_default()));
    }
    let clean = if n.fract() == 0.0 && n.abs() < 9.0e15 {
        Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    };
    Some(clean)
}

/// A user of the directory, with the field's role if it names one.
fn validate_user(
    field: &Field,
    value: &Value,
    directory: &Directory,
    path: &str,
    errors: &mut FormErrors,
) -> Option<Value> {
    let id = value.as_str().unwrap_or_default().trim();
    match directory.user(id) {
        None => {
            errors.add(path, P::UnknownUser(id.to_string()));
            None
        }
        Some(user) => {
            if let Some(role) = &field.role {
                if !user.roles.iter().any(|r| r.value == role.value) {
                    errors.add(
                        path,
                        P::MissingRole {
                            user: id.to_string(),
                            role: role.value.clone(),
                        },
                    );
                }
            }
            Some(Value::String(id.to_string()))
        }
    }
}

/// A table: its lines within their count, each checked against the columns.
fn validate_table(
    field: &Field,
    value: &Value,
    directory: &Directory,
    path: &str,
    errors: &mut FormErrors,
) -> Option<Value> {
    let Some(rows) = value.as_array() else {
        errors.add(path, P::NotALineList);
        return None;
    };
    let count = rows.len() as u32;
    if field.min_rows.is_some_and(|min| count < min) {
        errors.add(path, P::TooFewLines(field.min_rows.unwrap_or_default()));
    }
    if count > max_rows(field) {
        errors.add(path, P::TooManyLines(max_rows(field)));
        return None;
    }
    let clean: Vec<Value> = rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            Value::Object(validate_fields(
                &field.columns,
                row,
                directory,
                &format!("{path}[{i}]."),
                errors,
            ))
        })
        .collect();
    Some(Value::Array(clean))
}

/// A file field's value: stored files within the field's count, size and kinds. The
/// bytes were checked when they were uploaded ([`crate::attachment::inspect`]); this
/// checks what a form names, so a hand-written value cannot claim more.
fn validate_files(
    field: &Field,
    value: &Value,
    path: &str,
    errors: &mut FormErrors,
) -> Option<Value> {
    use crate::attachment::{accepted, max_bytes, max_files, FileRef};
    let Ok(files) = serde_json::from_value::<Vec<FileRef>>(value.clone()) else {
        errors.add(path, P::NotAFileList);
        return None;
    };
    if files.len() > max_files(field) as usize {
        errors.add(path, P::TooManyFiles(max_files(field)));
        return None;
    }
    let kinds = accepted(field);
    for file in &files {
        let known = file.kind().filter(|k| kinds.contains(k));
        if !FileRef::is_content_id(&file.id) || known.is_none() {
            errors.add(path, P::NotAFileList);
            return None;
        }
        if file.size > max_bytes(field) {
            let (name, max) = (file.name.clone(), max_bytes(field));
            errors.add(path, P::FileTooLarge { name, max });
            return None;
        }
    }
    serde_json::to_value(files).ok()
}

/// A request number as typed (`12`, `#12`) or sent (`12`).
fn request_number(value: &Value) -> Option<i64> {
    let id = match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().trim_start_matches('#').parse().ok(),
        _ => None,
    };
    id.filter(|id| *id > 0)
}

/// The requests a form refers to: the field's path (`sale`, `sales[2].sale`), the field,
/// and the request number, for every `request` field and `request` column of a table.
pub fn references<'f>(fields: &'f [Field], form: &Value) -> Vec<(String, &'f Field, i64)> {
    let mut found = Vec::new();
    for field in fields {
        let value = &form[field.id.value.as_str()];
        match field.kind.value {
            FieldType::Request => {
                if let Some(id) = value.as_i64() {
                    found.push((field.id.value.clone(), field, id));
                }
            }
            FieldType::Table => {
                for (i, row) in value.as_array().into_iter().flatten().enumerate() {
                    for (path, column, id) in references(&field.columns, row) {
                        found.push((format!("{}[{i}].{path}", field.id.value), column, id));
                    }
                }
            }
            _ => {}
        }
    }
    found
}

/// Refuses values the submitter gave for `step_only` fields, which their steps fill in.
pub fn refuse_step_only(def: &ProcessDef, input: &Value) -> Result<(), FormErrors> {
    let mut errors = FormErrors::default();
    for field in def.form.fields.iter().filter(|f| f.step_only) {
        if input.get(&field.id.value).is_some_and(|v| !v.is_null()) {
            errors.add(&field.id.value, P::StepOnly);
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Validates a whole request form in one round: every field, then the computed values
/// and the rules. A rule that reads a field already found wrong is left out (its answer
/// would be about a value the person has to change anyway); every other rule is judged,
/// so all the errors come back at once. Returns the stored form (fields plus computed
/// values).
pub fn validate_form(
    def: &ProcessDef,
    input: &Value,
    directory: &Directory,
    scope: &Scope,
) -> Result<Value, FormErrors> {
    let mut errors = FormErrors::default();
    let fields = validate_fields(&def.form.fields, input, directory, "", &mut errors);
    let mut wrong: Vec<String> = errors
        .fields
        .keys()
        .map(|path| top_field(path).to_string())
        .collect();
    let mut form = Value::Object(fields);
    for computed in &def.form.computed {
        match compute_one(computed, &mut form, scope) {
            Ok(()) => {}
            // A value computed from a wrong field cannot be had; the field says why, and
            // the rules that read the value are left out too.
            Err(_) if !wrong.is_empty() => wrong.push(computed.id.value.clone()),
            Err(message) => {
                errors.add("", P::RuleFailed(message));
                return Err(errors);
            }
        }
    }
    let mut scope = scope.clone();
    scope.form = form.clone();
    for rule in &def.form.rules {
        if wrong.iter().any(|f| reads_field(&rule.check.value, f)) {
            continue;
        }
        let key = rule
            .field
            .as_ref()
            .map(|f| f.value.clone())
            .unwrap_or_default();
        match guard::compile_cached(&rule.check).and_then(|c| c.eval_bool(&scope)) {
            Ok(true) => {}
            Ok(false) => errors.add(&key, P::Rule(rule.message.clone())),
            Err(e) => errors.add(&key, P::RuleFailed(format!("`{}`: {e}", rule.check.value))),
        }
    }
    if errors.is_empty() {
        Ok(form)
    } else {
        Err(errors)
    }
}

/// The form's own field a problem's path is under: `lines` for `lines[2].amount`.
fn top_field(path: &str) -> &str {
    path.split(['.', '[']).next().unwrap_or(path)
}

/// Whether a CEL expression reads `form.FIELD` (as a whole word).
fn reads_field(expr: &str, field: &str) -> bool {
    let needle = format!("form.{field}");
    expr.match_indices(&needle).any(|(at, _)| {
        let after = expr[at + needle.len()..].chars().next();
        !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

/// Adds the computed values to a form, in definition order (later ones may use earlier).
pub fn compute(def: &ProcessDef, mut form: Value, scope: &Scope) -> Result<Value, String> {
    for computed in &def.form.computed {
        compute_one(computed, &mut form, scope)?;
    }
    Ok(form)
}

/// Adds one computed value to `form` (money rounded to the cent).
fn compute_one(
    computed: &crate::model::ComputedField,
    form: &mut Value,
    scope: &Scope,
) -> Result<(), String> {
    let mut scope = scope.clone();
    scope.form = form.clone();
    let value = guard::compile_cached(&computed.expr)
        .and_then(|c| c.eval(&scope))
        .map_err(|e| format!("computing `{}`: {e}", computed.id.value))?;
    let value = match (computed.kind.value, &value) {
        (FieldType::Money, Value::Number(n)) => {
            let rounded = (n.as_f64().unwrap_or_default() * 100.0).round() / 100.0;
            if rounded.fract() == 0.0 {
                Value::from(rounded as i64)
            } else {
                serde_json::Number::from_f64(rounded)
                    .map(Value::Number)
                    .unwrap_or(Value::Null)
            }
        }
        _ => value,
    };
    if let Some(object) = form.as_object_mut() {
        object.insert(computed.id.value.clone(), value);
    }
    Ok(())
}
