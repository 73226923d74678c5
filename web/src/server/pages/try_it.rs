//! "Try it" for process owners: a sample form run through the newest published version
//! as a dry run ([`signoff_engine::simulate`]), showing the path it would take, who would
//! be asked at each step, who was left out and why, and how it would end, on the diagram.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use minijinja::{context, Value};
use signoff_engine::display::Lang;
use signoff_engine::model::{FieldType, ProcessDef, StepKind};
use signoff_engine::simulate::Simulation;

use super::Viewer;
use crate::server::forms::{self, Raw};
use crate::server::i18n::{engine_message, phrase};
use crate::server::views::{engine_note, flow_svg, step_label};
use crate::server::AppState;

pub async fn try_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Response {
    let raw = Raw::from([("_submitter".to_string(), viewer.user.clone())]);
    try_page(&state, &viewer, &id, &raw, &BTreeMap::new(), None)
}

pub async fn try_run(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let raw: Raw = pairs.into_iter().collect();
    if !viewer.csrf_ok(raw.get("csrf").map(String::as_str).unwrap_or_default()) {
        return viewer.bad_csrf(&state);
    }
    let Some((_, def)) = managed(&state, &viewer, &id) else {
        return viewer.error(&state, StatusCode::NOT_FOUND, &format!("no process `{id}`"));
    };
    let (form, _, errors) = forms::parse(&sample_fields(&def), &raw, viewer.lang);
    if !errors.is_empty() {
        return try_page(&state, &viewer, &id, &raw, &errors, None);
    }
    let submitter = raw.get("_submitter").cloned().unwrap_or_default();
    let decide: Vec<String> = raw
        .get("_reject")
        .filter(|s| !s.is_empty())
        .map(|s| vec![format!("{s}=reject")])
        .unwrap_or_default();
    let result = state.engine.simulate(&id, &submitter, form, &decide).await;
    let trial = match result {
        Ok(s) => Ok(trial(&state, &def, &s, viewer.lang)),
        Err(signoff_engine::runtime::EngineError::InvalidForm(e)) => {
            return try_page(
                &state,
                &viewer,
                &id,
                &raw,
                &forms::problems(e, viewer.lang),
                None,
            );
        }
        Err(e) => Err(engine_message(viewer.lang, &e)),
    };
    try_page(&state, &viewer, &id, &raw, &BTreeMap::new(), Some(trial))
}

/// The process, when `viewer` may manage it.
fn managed(
    state: &AppState,
    viewer: &Viewer,
    id: &str,
) -> Option<(i64, std::sync::Arc<ProcessDef>)> {
    state
        .engine
        .registry()
        .latest(id)
        .filter(|(_, d)| state.engine.may_manage(d, &viewer.user))
}

/// The fields a sample form fills in: the submitter's, without files (a dry run stores
/// nothing).
fn sample_fields(def: &ProcessDef) -> Vec<signoff_engine::model::Field> {
    def.submitter_fields()
        .into_iter()
        .filter(|f| f.kind.value != FieldType::File)
        .collect()
}

/// What the dry run found, for the page: each step with its people and notes, the end.
fn trial(state: &AppState, def: &ProcessDef, s: &Simulation, lang: Lang) -> Value {
    let directory = state.engine.directory();
    let name = |id: &str| {
        directory
            .user(id)
            .map_or_else(|| id.to_string(), |u| format!("{} ({id})", u.name))
    };
    let path: Vec<Value> = s
        .path
        .iter()
        .map(|p| {
            context! {
                id => p.step,
                name => step_label(Some(def), &p.step, lang),
                assignees => p.assignees.iter().map(|a| name(a)).collect::<Vec<_>>(),
                notes => p.notes.iter().map(|n| engine_note(n, &name, lang)).collect::<Vec<_>>(),
            }
        })
        .collect();
    let view = &s.view;
    let end = match (&view.outcome, view.status) {
        (Some(outcome), _) => format!(
            "{}: {}",
            phrase(lang, "try_ends"),
            phrase(lang, &format!("status_{outcome}"))
        ),
        (None, signoff_engine::runtime::InstanceStatus::Running) => format!(
            "{}: {}",
            phrase(lang, "try_waits"),
            view.current_steps
                .iter()
                .map(|st| step_label(Some(def), st, lang))
                .collect::<Vec<_>>()
                .join("、")
        ),
        (None, status) => phrase(lang, &format!("status_{}", status.as_str())),
    };
    context! { path, end, diagram => flow_svg(def, Some(view), directory, lang) }
}

fn try_page(
    state: &AppState,
    viewer: &Viewer,
    id: &str,
    raw: &Raw,
    errors: &BTreeMap<String, String>,
    trial: Option<Result<Value, String>>,
) -> Response {
    let Some((version, def)) = managed(state, viewer, id) else {
        return viewer.error(state, StatusCode::NOT_FOUND, &format!("no process `{id}`"));
    };
    let lang = viewer.lang;
    let directory = state.engine.directory();
    let widgets = forms::widgets(
        &sample_fields(&def),
        raw,
        errors,
        directory,
        lang,
        &HashMap::new(),
    );
    let users: Vec<Value> = directory
        .users
        .iter()
        .filter(|u| state.engine.may_start(&def, &u.id.value))
        .map(|u| context! { id => u.id.value, name => format!("{} ({})", u.name, u.id.value) })
        .collect();
    let steps: Vec<Value> = def
        .all_steps()
        .into_iter()
        .filter(|s| s.kind.value == StepKind::Approval)
        .map(|s| context! { id => s.id.value, name => step_label(Some(&def), &s.id.value, lang) })
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let (result, error) = match trial {
        Some(Ok(v)) => (Some(v), None),
        Some(Err(e)) => (None, Some(e)),
        None => (None, None),
    };
    viewer.page_status(
        state,
        status,
        "try.html",
        context! {
            active => "processes",
            process => context! { id, name => lang.pick(&def.name), version },
            widgets, users, steps,
            submitter => raw.get("_submitter").cloned().unwrap_or_default(),
            reject => raw.get("_reject").cloned().unwrap_or_default(),
            result, error,
        },
    )
}
