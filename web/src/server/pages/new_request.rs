//! Starting a request: the list of processes and the form generated from a definition.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{context, Value};
use signoff_engine::problem::FieldProblem;
use signoff_engine::runtime::{EngineError, Upload};

use super::{done_url, Viewer};
use crate::server::forms::{self, Raw};
use crate::server::i18n::phrase;
use crate::server::upload::{Posted, PostedFile};
use crate::server::AppState;

pub async fn new_request_list(State(state): State<AppState>, viewer: Viewer) -> Response {
    let processes: Vec<Value> = state
        .engine
        .registry()
        .processes()
        .iter()
        .filter(|(_, d)| state.engine.may_start(d, &viewer.user))
        .map(|(version, d)| {
            context! {
                id => d.id.value,
                name => viewer.lang.pick(&d.name),
                description => d.description.as_ref().map(|x| viewer.lang.pick(x).to_string()),
                version,
            }
        })
        .collect();
    viewer.page(
        &state,
        "new_list.html",
        context! { active => "new", processes },
    )
}

pub async fn new_request_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(process): Path<String>,
) -> Response {
    request_form(
        &state,
        &viewer,
        &process,
        &Raw::new(),
        &BTreeMap::new(),
        &HashMap::new(),
        None,
        StatusCode::OK,
    )
}

#[allow(clippy::too_many_arguments)]
fn request_form(
    state: &AppState,
    viewer: &Viewer,
    process: &str,
    raw: &Raw,
    errors: &BTreeMap<String, String>,
    extra: &HashMap<String, usize>,
    message: Option<String>,
    status: StatusCode,
) -> Response {
    let Some((version, def)) = state
        .engine
        .registry()
        .latest(process)
        .filter(|(_, d)| state.engine.may_start(d, &viewer.user))
    else {
        return viewer.error(
            state,
            StatusCode::NOT_FOUND,
            &format!("no process `{process}`"),
        );
    };
    let widgets = forms::widgets(
        &def.submitter_fields(),
        raw,
        errors,
        state.engine.directory(),
        viewer.lang,
        extra,
    );
    viewer.page_status(
        state,
        status,
        "new_request.html",
        context! {
            active => "new",
            process => context! { id => process, name => viewer.lang.pick(&def.name), version, description => def.description.as_ref().map(|x| viewer.lang.pick(x).to_string()) },
            widgets,
            live_totals => forms::live_totals(&def, viewer.lang),
            has_files => def.form.fields.iter().any(|f| f.kind.value == signoff_engine::model::FieldType::File),
            form_error => errors.get("").cloned(),
            message,
        },
    )
}

pub async fn new_request(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(process): Path<String>,
    Posted { raw, files }: Posted,
) -> Response {
    if !viewer.csrf_ok(raw.get("csrf").map(String::as_str).unwrap_or_default()) {
        return viewer.bad_csrf(&state);
    }
    let Some((_, def)) = state.engine.registry().latest(&process) else {
        return viewer.error(
            &state,
            StatusCode::NOT_FOUND,
            &format!("no process `{process}`"),
        );
    };
    if let Some((shown, extra)) = forms::edited_lines(&raw) {
        let none = BTreeMap::new();
        return request_form(
            &state,
            &viewer,
            &process,
            &shown,
            &none,
            &extra,
            None,
            StatusCode::OK,
        );
    }
    let (form, shown, mut errors) = forms::parse(&def.submitter_fields(), &raw, viewer.lang);
    let uploads = checked_uploads(&state, &viewer, &process, files, &mut errors);
    if !errors.is_empty() {
        // One round: what the engine would also refuse (missing fields, rules on the
        // good fields) comes back with the typing errors.
        if let Err(EngineError::InvalidForm(more)) =
            state
                .engine
                .check_form(&process, &viewer.user, &form, &uploads)
        {
            for (field, problem) in forms::problems(more, viewer.lang) {
                errors.entry(field).or_insert(problem);
            }
        }
        return refused(&state, &viewer, &process, &shown, &errors, &uploads);
    }
    let result = state
        .engine
        .submit_with_files(&process, &viewer.user, form, uploads.clone())
        .await;
    state.metrics.action(
        "start",
        result.as_ref().map_or_else(EngineError::code, |_| "ok"),
    );
    match result {
        Ok(acted) => Redirect::to(&done_url(
            &format!("/requests/{}", acted.instance),
            "submit",
            acted.instance.0,
        ))
        .into_response(),
        Err(EngineError::InvalidForm(e)) => {
            let errors = forms::problems(e, viewer.lang);
            refused(&state, &viewer, &process, &shown, &errors, &uploads)
        }
        Err(e) => viewer.engine_error(&state, &e),
    }
}

/// The posted files the engine took for their fields; a refused one's problem goes
/// beside its field.
fn checked_uploads(
    state: &AppState,
    viewer: &Viewer,
    process: &str,
    files: Vec<PostedFile>,
    errors: &mut BTreeMap<String, String>,
) -> Vec<Upload> {
    let mut uploads = Vec::new();
    for f in files {
        match state.engine.upload(process, &f.field, &f.name, f.bytes) {
            Ok(upload) => uploads.push(upload),
            Err(EngineError::InvalidForm(e)) => {
                for (field, problem) in forms::problems(e, viewer.lang) {
                    errors.entry(field).or_insert(problem);
                }
            }
            Err(e) => {
                errors.insert(f.field, e.to_string());
            }
        }
    }
    uploads
}

/// The form again with every error beside its field.
/// Files that were taken are not kept: a browser cannot fill a file input again, so
/// their fields ask for them again.
fn refused(
    state: &AppState,
    viewer: &Viewer,
    process: &str,
    shown: &Raw,
    errors: &BTreeMap<String, String>,
    uploads: &[Upload],
) -> Response {
    let mut errors = errors.clone();
    for u in uploads {
        errors
            .entry(u.field.clone())
            .or_insert_with(|| FieldProblem::FileNotUploaded.text(viewer.lang));
    }
    let errors = &errors;
    let message = phrase(viewer.lang, "form_errors");
    request_form(
        state,
        viewer,
        process,
        shown,
        errors,
        &HashMap::new(),
        Some(message),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
}
