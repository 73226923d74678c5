//! The HTML pages' templates (minijinja, HTML auto-escaped) and the view models they
//! draw: the process diagram and the history timeline.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use minijinja::{AutoEscape, Environment, Value};
use serde::Serialize;
use signoff_engine::diagram::Marks;
use signoff_engine::directory::Directory;
use signoff_engine::display::{field_value, Lang};
use signoff_engine::model::{Assignee, ProcessDef};
use signoff_engine::runtime::{EventView, HistoryAction, InstanceView, Note, TaskStatus};

use super::i18n;

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("macros.html", include_str!("../../templates/macros.html")),
    ("login.html", include_str!("../../templates/login.html")),
    ("inbox.html", include_str!("../../templates/inbox.html")),
    ("task.html", include_str!("../../templates/task.html")),
    ("print.html", include_str!("../../templates/print.html")),
    ("report.html", include_str!("../../templates/report.html")),
    ("try.html", include_str!("../../templates/try.html")),
    (
        "new_list.html",
        include_str!("../../templates/new_list.html"),
    ),
    (
        "new_request.html",
        include_str!("../../templates/new_request.html"),
    ),
    (
        "requests.html",
        include_str!("../../templates/requests.html"),
    ),
    (
        "processes.html",
        include_str!("../../templates/processes.html"),
    ),
    ("process.html", include_str!("../../templates/process.html")),
    (
        "incidents.html",
        include_str!("../../templates/incidents.html"),
    ),
    ("error.html", include_str!("../../templates/error.html")),
    ("done.html", include_str!("../../templates/done.html")),
    (
        "settings.html",
        include_str!("../../templates/settings.html"),
    ),
];

pub struct Pages {
    env: Environment<'static>,
}

impl Pages {
    pub fn new() -> Pages {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| AutoEscape::Html);
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
        for (name, source) in TEMPLATES {
            if let Err(e) = env.add_template(name, source) {
                // Caught by the tests that render every page.
                tracing::error!(template = name, error = %e, "page template");
            }
        }
        Pages { env }
    }

    pub fn render(&self, name: &str, ctx: Value) -> Response {
        self.render_status(StatusCode::OK, name, ctx)
    }

    pub fn render_status(&self, status: StatusCode, name: &str, ctx: Value) -> Response {
        match self.env.get_template(name).and_then(|t| t.render(ctx)) {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!(template = name, error = %e, "rendering a page");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the page could not be drawn",
                )
                    .into_response()
            }
        }
    }
}

/// The process drawn as SVG (see [`signoff_engine::diagram`]). For a request: the steps
/// it went through, where it is and who holds it; for a definition alone: who acts at
/// each step.
pub fn flow_svg(
    def: &ProcessDef,
    request: Option<&InstanceView>,
    directory: &Directory,
    lang: Lang,
) -> String {
    let mut marks = Marks::default();
    match request {
        Some(view) => {
            marks.current = view.current_steps.iter().cloned().collect();
            marks.passed = view
                .history
                .iter()
                .filter(|e| e.action == HistoryAction::Enter)
                .filter_map(|e| e.step.clone())
                .filter(|s| !marks.current.contains(s))
                .collect();
            for t in view.tasks.iter().filter(|t| t.status == TaskStatus::Open) {
                let name = directory
                    .user(&t.assignee)
                    .map_or_else(|| t.assignee.clone(), |u| u.name.clone());
                let names = marks.holders.entry(t.step.clone()).or_default();
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        None => {
            for step in def.all_steps() {
                let who: Vec<String> = step
                    .assignees
                    .iter()
                    .map(|a| assignee(&a.value, directory, lang))
                    .collect();
                if !who.is_empty() {
                    marks.holders.insert(step.id.value.clone(), who);
                }
            }
        }
    }
    let title = lang.pick(&def.name).to_string();
    signoff_engine::diagram::svg(def, &marks, lang, &title)
}

/// Who an assignee rule means, in words.
pub fn assignee(a: &Assignee, directory: &Directory, lang: Lang) -> String {
    let en = lang == Lang::En;
    let role_name = |r: &str| {
        directory
            .roles
            .iter()
            .find(|x| x.id.value == r)
            .map_or_else(|| r.to_string(), |x| lang.pick(&x.name).to_string())
    };
    match a {
        Assignee::User(u) => directory
            .user(u)
            .map_or_else(|| u.clone(), |x| x.name.clone()),
        Assignee::Role(r) => role_name(r),
        Assignee::Submitter => if en { "the submitter" } else { "申请人" }.into(),
        Assignee::Manager => if en {
            "the submitter's manager"
        } else {
            "直属上级"
        }
        .into(),
        Assignee::ManagerChain(n) => {
            if en {
                format!("managers, {n} levels up")
            } else {
                format!("上级（{n} 级）")
            }
        }
        Assignee::RegionalHead(_) => if en {
            "the regional head"
        } else {
            "大区负责人"
        }
        .into(),
        Assignee::RegionalHeadOf(f) | Assignee::ManagerOf(f) | Assignee::Field(f) => {
            if en {
                format!("from field `{f}`")
            } else {
                format!("由字段 {f} 决定")
            }
        }
        Assignee::Expr(e) => format!("`{e}`"),
    }
}

/// One line of the history timeline.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryRow {
    pub at: String,
    pub actor: String,
    pub on_behalf_of: String,
    /// What happened, in the reader's words.
    pub action: &'static str,
    /// The stored kind, for styling and tests.
    pub kind: &'static str,
    pub step: String,
    pub comment: String,
    pub detail: String,
    /// Changed fields as "label: old → new".
    pub changes: Vec<String>,
    /// The step's inputs given with the decision, as "label: value" in the reader's
    /// language.
    pub inputs: Vec<String>,
}

/// The history people care about: what people did, and what the engine decided.
pub fn history(
    events: &[EventView],
    def: Option<&ProcessDef>,
    directory: &Directory,
    lang: Lang,
) -> Vec<HistoryRow> {
    let name = |id: &str| {
        directory
            .user(id)
            .map_or_else(|| id.to_string(), |u| format!("{} ({id})", u.name))
    };
    let step_name = |s: &str| step_label(def, s, lang);
    events
        .iter()
        .filter(|e| !e.action.is_bookkeeping())
        .map(|e| HistoryRow {
            at: local_time(&e.at),
            actor: if e.actor == "engine" {
                "Signoff".into()
            } else {
                name(&e.actor)
            },
            on_behalf_of: e.on_behalf_of.as_deref().map(name).unwrap_or_default(),
            action: i18n::history_verb(e.action, lang),
            kind: e.action.as_str(),
            step: e.step.as_deref().map(step_name).unwrap_or_default(),
            comment: e.comment.clone().unwrap_or_default(),
            detail: history_detail(e, &name, &step_name, lang),
            changes: changed_fields(e, def, directory, lang),
            inputs: shown_inputs(e, def, directory, lang),
        })
        .collect()
}

/// An entry's detail in the reader's words: people by name, steps by name, outcomes and
/// the return target in words; other details (the engine's notes) as written.
fn history_detail(
    e: &EventView,
    name: &dyn Fn(&str) -> String,
    step_name: &dyn Fn(&str) -> String,
    lang: Lang,
) -> String {
    use signoff_engine::runtime::HistoryAction as A;
    let Some(detail) = e.detail.as_deref() else {
        return String::new();
    };
    match e.action {
        A::Assign
        | A::Cc
        | A::Escalate
        | A::Delegate
        | A::Transfer
        | A::AddSigner
        | A::RemoveSigner
        | A::RouteToDeputy
            if directory_like(detail) =>
        {
            name(detail)
        }
        A::End => i18n::phrase(lang, &format!("status_{detail}")),
        A::Return if detail == "submitter" => i18n::phrase(lang, "submitter"),
        A::Return | A::Jump => step_name(detail),
        A::AddSigner => match detail.split_once(" (") {
            Some((user, "before)")) => {
                format!("{} ({})", name(user), i18n::phrase(lang, "before_me"))
            }
            Some((user, _)) => format!("{} ({})", name(user), i18n::phrase(lang, "after_me")),
            None => name(detail),
        },
        _ => engine_note(detail, name, lang),
    }
}

/// An engine note (see [`Note`]) in the reader's words, naming whom it is about; a
/// version move and a missed link in words; anything else (an incident's reason) as
/// written.
pub(crate) fn engine_note(detail: &str, name: &dyn Fn(&str) -> String, lang: Lang) -> String {
    if let Some((user, note)) = Note::parse(detail) {
        let said = i18n::note(note, lang);
        return match user {
            Some(user) => format!("{} {said}", name(user)),
            None => said.to_string(),
        };
    }
    let version_move = detail
        .strip_prefix("version ")
        .and_then(|rest| rest.split_once(" to "));
    let link_missed = detail
        .split_once(" is not at `")
        .and_then(|(other, step)| Some((other, step.strip_suffix('`')?)));
    match (version_move, link_missed) {
        (Some((from, to)), _) if lang == Lang::Zh => format!("从版本 {from} 到版本 {to}"),
        (_, Some((other, step))) if lang == Lang::Zh => format!("{other} 已不在“{step}”这一步"),
        _ => detail.to_string(),
    }
}

/// A step's name in the reader's language (its id when the definition names none).
pub fn step_label(def: Option<&ProcessDef>, step: &str, lang: Lang) -> String {
    def.and_then(|d| d.step(step))
        .and_then(|s| s.name.as_ref())
        .map_or_else(|| step.to_string(), |n| lang.pick(n).to_string())
}

/// Whether a detail is a user id (`li.na`) rather than a sentence.
fn directory_like(detail: &str) -> bool {
    !detail.is_empty()
        && detail
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// The fields an entry changed, as "label: old → new" with values as people read them.
fn changed_fields(
    e: &EventView,
    def: Option<&ProcessDef>,
    directory: &Directory,
    lang: Lang,
) -> Vec<String> {
    let Some(changes) = e.changes.as_ref().and_then(|c| c.as_object()) else {
        return Vec::new();
    };
    changes
        .iter()
        .map(|(id, change)| {
            let field = def.and_then(|d| d.field(id));
            let shown = |v: &serde_json::Value| match (field, v) {
                (_, serde_json::Value::Null) => "—".to_string(),
                (Some(f), v) => field_value(f, v, directory, lang),
                (None, v) => signoff_engine::display::plain(v),
            };
            let label = field.map_or_else(|| id.clone(), |f| lang.pick(&f.label).to_string());
            format!(
                "{label}: {} → {}",
                shown(&change["old"]),
                shown(&change["new"])
            )
        })
        .collect()
}

/// A decision's inputs as "label: value", in the order the step declares them.
fn shown_inputs(
    e: &EventView,
    def: Option<&ProcessDef>,
    directory: &Directory,
    lang: Lang,
) -> Vec<String> {
    let (Some(inputs), Some(step)) = (
        e.inputs.as_ref(),
        def.zip(e.step.as_deref()).and_then(|(d, s)| d.step(s)),
    ) else {
        return Vec::new();
    };
    step.inputs
        .iter()
        .filter_map(|field| {
            let value = inputs.get(field.id.value.as_str())?;
            (!value.is_null()).then(|| {
                format!(
                    "{}: {}",
                    lang.pick(&field.label),
                    field_value(field, value, directory, lang)
                )
            })
        })
        .collect()
}

/// A deadline as Beijing time, marked when it lies beyond the working calendar's known
/// holidays (it then counts weekends only).
pub fn due_text(engine: &signoff_engine::runtime::Engine, at: &str, lang: Lang) -> String {
    let beyond = signoff_engine::clock::from_db(at)
        .is_some_and(|t| signoff_engine::runtime::calendar_of(engine).beyond(t));
    if beyond {
        format!(
            "{} {}",
            local_time(at),
            crate::server::i18n::phrase(lang, "beyond_calendar")
        )
    } else {
        local_time(at)
    }
}

/// A stored time as Beijing time, to the minute.
pub fn local_time(at: &str) -> String {
    signoff_engine::clock::from_db(at)
        .map(|t| {
            t.with_timezone(&chrono_tz::Asia::Shanghai)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|| at.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engines_notes_read_in_chinese_with_names_not_ids() {
        let name = |id: &str| {
            if id == "li.na" {
                "李娜".into()
            } else {
                id.to_string()
            }
        };
        for note in Note::ALL {
            let said = engine_note(&note.about("li.na"), &name, Lang::Zh);
            assert!(said.starts_with("李娜 "), "{said}");
            assert!(
                !said.chars().any(|c| c.is_ascii_alphabetic()),
                "English left in `{said}`"
            );
            assert_eq!(engine_note(note.as_str(), &name, Lang::En), note.as_str());
        }
        assert_eq!(
            engine_note("version 2 to 3", &name, Lang::Zh),
            "从版本 2 到版本 3"
        );
        assert_eq!(
            engine_note("#12 is not at `collect`", &name, Lang::Zh),
            "#12 已不在“collect”这一步"
        );
        assert_eq!(
            engine_note("CEL: no such key", &name, Lang::Zh),
            "CEL: no such key"
        );
    }
}
