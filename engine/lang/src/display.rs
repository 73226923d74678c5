//! How a request's values read to people, in Chinese or English: labels, money, options,
//! users. Shared by the mail templates and the web pages so both say the same thing.

use serde::Serialize;
use serde_json::Value;

use crate::directory::Directory;
use crate::model::{ComputedField, Field, FieldType, Label, ProcessDef};

/// A language people read Signoff in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    /// `en` (or `en-GB`, ...) is English; anything else is Chinese, the company's language.
    pub fn parse(code: &str) -> Lang {
        if code.trim().to_ascii_lowercase().starts_with("en") {
            Lang::En
        } else {
            Lang::Zh
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    pub fn pick(self, label: &Label) -> &str {
        match self {
            Lang::Zh => &label.zh,
            Lang::En => &label.en,
        }
    }

    /// The user's preferred language from the directory.
    pub fn of_user(directory: &Directory, user: &str) -> Lang {
        directory
            .user(user)
            .and_then(|u| u.locale.as_deref())
            .map(Lang::parse)
            .unwrap_or_default()
    }
}

/// One line of a request's key facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fact {
    pub label: String,
    pub value: String,
}

/// The files a request's form holds, in form order.
pub fn attachments(def: &ProcessDef, form: &Value) -> Vec<crate::attachment::FileRef> {
    def.form
        .fields
        .iter()
        .filter(|f| f.kind.value == FieldType::File)
        .filter_map(|f| form.get(&f.id.value))
        .flat_map(|v| {
            serde_json::from_value::<Vec<crate::attachment::FileRef>>(v.clone()).unwrap_or_default()
        })
        .collect()
}

/// Most facts shown in a summary (mail, inbox line).
const MAX_FACTS: usize = 8;

/// The request's key facts: the filled-in fields that fit on a line, then the computed
/// values (totals), in form order.
pub fn key_facts(def: &ProcessDef, form: &Value, directory: &Directory, lang: Lang) -> Vec<Fact> {
    let fields = def.form.fields.iter().filter_map(|field| {
        let value = form.get(&field.id.value)?;
        // Files are listed on their own, with their links ([`attachments`]).
        if value.is_null() || matches!(field.kind.value, FieldType::LongText | FieldType::File) {
            return None;
        }
        Some(Fact {
            label: lang.pick(&field.label).to_string(),
            value: field_value(field, value, directory, lang),
        })
    });
    let computed = def.form.computed.iter().filter_map(|c| {
        let label = c.label.as_ref()?;
        let value = form.get(&c.id.value)?;
        Some(Fact {
            label: lang.pick(label).to_string(),
            value: computed_value(c, value, lang),
        })
    });
    fields.chain(computed).take(MAX_FACTS).collect()
}

/// Facts on a one-line summary (the inbox, lists).
const SUMMARY_FACTS: usize = 3;

/// The request on one line: the definition's `summary` fields in its order, or, when it
/// names none, money first (an amount is what an approver looks for), then the other
/// short fields in form order. Empty values are left out.
pub fn summary_facts(
    def: &ProcessDef,
    form: &Value,
    directory: &Directory,
    lang: Lang,
) -> Vec<Fact> {
    let fact = |id: &str| -> Option<(bool, Fact)> {
        let value = form.get(id).filter(|v| !v.is_null())?;
        if let Some(field) = def.form.fields.iter().find(|f| f.id.value == id) {
            if field.kind.value == FieldType::File
                || (field.kind.value == FieldType::LongText && def.summary.is_empty())
            {
                return None;
            }
            let money = field.kind.value == FieldType::Money;
            return Some((
                money,
                Fact {
                    label: lang.pick(&field.label).to_string(),
                    value: field_value(field, value, directory, lang),
                },
            ));
        }
        let c = def.form.computed.iter().find(|c| c.id.value == id)?;
        Some((
            c.kind.value == FieldType::Money,
            Fact {
                label: c
                    .label
                    .as_ref()
                    .map_or_else(|| id.to_string(), |l| lang.pick(l).to_string()),
                value: computed_value(c, value, lang),
            },
        ))
    };
    if !def.summary.is_empty() {
        return def
            .summary
            .iter()
            .filter_map(|id| fact(&id.value))
            .map(|(_, f)| f)
            .collect();
    }
    let ids = def.form.fields.iter().map(|f| f.id.value.as_str()).chain(
        def.form
            .computed
            .iter()
            .filter(|c| c.label.is_some())
            .map(|c| c.id.value.as_str()),
    );
    let (money, other): (Vec<_>, Vec<_>) = ids.filter_map(fact).partition(|(m, _)| *m);
    money
        .into_iter()
        .chain(other)
        .map(|(_, f)| f)
        .take(SUMMARY_FACTS)
        .collect()
}

/// A request's amount: the first money value its summary shows (the definition's
/// `summary` order, else its fields then computed values), for sorting by amount.
pub fn amount_of(def: &ProcessDef, form: &Value) -> Option<f64> {
    let money = |id: &str| {
        def.form
            .fields
            .iter()
            .any(|f| f.id.value == id && f.kind.value == FieldType::Money)
            || def
                .form
                .computed
                .iter()
                .any(|c| c.id.value == id && c.kind.value == FieldType::Money)
    };
    let named: Vec<&str> = if def.summary.is_empty() {
        let fields = def.form.fields.iter().map(|f| f.id.value.as_str());
        fields
            .chain(def.form.computed.iter().map(|c| c.id.value.as_str()))
            .collect()
    } else {
        def.summary.iter().map(|s| s.value.as_str()).collect()
    };
    named
        .into_iter()
        .filter(|id| money(id))
        .find_map(|id| form.get(id)?.as_f64())
}

/// A field's value as people read it.
pub fn field_value(field: &Field, value: &Value, directory: &Directory, lang: Lang) -> String {
    match field.kind.value {
        FieldType::Enum => {
            let raw = plain(value);
            field
                .options
                .iter()
                .find(|o| o.value.value == raw)
                .map(|o| lang.pick(&o.label).to_string())
                .unwrap_or(raw)
        }
        FieldType::User => {
            let id = plain(value);
            match directory.user(&id) {
                Some(u) => format!("{} ({id})", u.name),
                None => id,
            }
        }
        FieldType::Table => {
            let lines = value.as_array().map_or(0, Vec::len);
            match lang {
                Lang::Zh => format!("{lines} 行"),
                Lang::En if lines == 1 => "1 line".to_string(),
                Lang::En => format!("{lines} lines"),
            }
        }
        FieldType::File => {
            let files: Vec<crate::attachment::FileRef> =
                serde_json::from_value(value.clone()).unwrap_or_default();
            let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
            match lang {
                Lang::Zh => names.join("、"),
                Lang::En => names.join(", "),
            }
        }
        kind => typed_value(kind, field.currency.as_deref(), value, lang),
    }
}

/// A computed value (a total, a count) as people read it.
pub fn computed_value(computed: &ComputedField, value: &Value, lang: Lang) -> String {
    typed_value(computed.kind.value, None, value, lang)
}

fn typed_value(kind: FieldType, currency: Option<&str>, value: &Value, lang: Lang) -> String {
    match kind {
        FieldType::Money => match value.as_f64() {
            Some(amount) => money(amount, currency.unwrap_or("CNY")),
            None => plain(value),
        },
        FieldType::Boolean => match (value.as_bool(), lang) {
            (Some(true), Lang::Zh) => "是".into(),
            (Some(false), Lang::Zh) => "否".into(),
            (Some(true), Lang::En) => "Yes".into(),
            (Some(false), Lang::En) => "No".into(),
            (None, _) => plain(value),
        },
        FieldType::Request => match value.as_i64() {
            Some(id) => format!("#{id}"),
            None => plain(value),
        },
        _ => plain(value),
    }
}

/// `12,345.60 CNY`: two decimals and thousands separators, the way finance writes it.
pub fn money(amount: f64, currency: &str) -> String {
    let cents = (amount * 100.0).round() as i64;
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    let whole = (cents / 100).to_string();
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    format!("{sign}{grouped}.{:02} {currency}", cents % 100)
}

/// A JSON value as text, without the quotes around strings.
pub fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_has_two_decimals_and_separators() {
        assert_eq!(money(1234567.5, "CNY"), "1,234,567.50 CNY");
        assert_eq!(money(0.0, "CNY"), "0.00 CNY");
        assert_eq!(money(999.999, "USD"), "1,000.00 USD");
        assert_eq!(money(-12.3, "CNY"), "-12.30 CNY");
    }

    #[test]
    fn lang_parses_locale_codes() {
        assert_eq!(Lang::parse("en-GB"), Lang::En);
        assert_eq!(Lang::parse("zh-CN"), Lang::Zh);
        assert_eq!(Lang::parse(""), Lang::Zh);
    }
}

#[cfg(test)]
mod summary_tests {
    use super::*;

    fn def(yaml: &str) -> ProcessDef {
        let file = crate::loader::SourceFile::from_bytes("t.yaml".as_ref(), yaml.into())
            .expect("a small file");
        file.parse().expect("a definition")
    }

    const FORM: &str = "id: t\nname: { zh: 测试, en: T }\nowner: { role: finance }\n\
        form:\n  fields:\n\
        \x20   - { id: region, type: text, label: { zh: 大区, en: Region } }\n\
        \x20   - { id: purpose, type: text, label: { zh: 事由, en: Purpose } }\n\
        \x20   - { id: note, type: text, label: { zh: 备注, en: Note } }\n\
        \x20   - { id: amount, type: money, label: { zh: 金额, en: Amount } }\n\
        steps:\n  - { id: done, type: end }\n";

    #[test]
    fn money_comes_first_unless_the_definition_names_the_summary() {
        let form =
            serde_json::json!({"region": "east", "purpose": "visit", "note": "n", "amount": 12.5});
        let directory = Directory::default();
        let labels = |d: &ProcessDef| -> Vec<String> {
            summary_facts(d, &form, &directory, Lang::En)
                .into_iter()
                .map(|f| format!("{}={}", f.label, f.value))
                .collect()
        };
        assert_eq!(
            labels(&def(FORM)),
            ["Amount=12.50 CNY", "Region=east", "Purpose=visit"]
        );
        let named = FORM.replace("form:", "summary: [purpose, note]\nform:");
        assert_eq!(labels(&def(&named)), ["Purpose=visit", "Note=n"]);
    }
}
