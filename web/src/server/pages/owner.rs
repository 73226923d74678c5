//! The owner pages: definitions, versions, the YAML, checking and publishing, incidents.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use minijinja::{context, Value};
use serde::Deserialize;
use signoff_engine::runtime::{
    EngineError, InstanceId, InstanceStatus, PublishError, RequestQuery,
};

use super::{done_url, request_row, CsrfOnly, Notice, Viewer};
use crate::server::i18n::phrase;
use crate::server::views::{flow_svg, local_time};
use crate::server::AppState;

pub async fn processes(State(state): State<AppState>, viewer: Viewer) -> Response {
    let mut rows = Vec::new();
    for (version, d) in state.engine.registry().processes() {
        if !state.engine.may_manage(&d, &viewer.user) {
            continue;
        }
        let versions = state
            .engine
            .versions(&d.id.value)
            .await
            .map(|v| v.len())
            .unwrap_or(0);
        rows.push(context! {
            id => d.id.value,
            name => viewer.lang.pick(&d.name),
            version,
            versions,
            owner => true,
        });
    }
    viewer.page(
        &state,
        "processes.html",
        context! { active => "processes", processes => rows },
    )
}

pub async fn process(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(q): Query<Notice>,
) -> Response {
    process_page(
        &state,
        &viewer,
        &id,
        q.version,
        None,
        q.text(viewer.lang),
        StatusCode::OK,
    )
    .await
}

/// The edited text as a definition, when it reads as one (even with the checker's
/// errors), to draw beside the published version.
fn edited_process(text: &str) -> Option<signoff_engine::model::ProcessDef> {
    let path = std::path::Path::new("edited.yaml");
    signoff_engine::loader::SourceFile::from_bytes(path, text.as_bytes().to_vec())
        .and_then(|s| s.parse())
        .ok()
}

/// The owner page; `edited` is a text being checked, with its diagnostics.
async fn process_page(
    state: &AppState,
    viewer: &Viewer,
    id: &str,
    version: Option<i64>,
    edited: Option<(
        String,
        Vec<signoff_engine::diagnostic::Diagnostic>,
        Option<String>,
    )>,
    notice: Option<String>,
    status: StatusCode,
) -> Response {
    let Some((latest, def)) = state
        .engine
        .registry()
        .latest(id)
        .filter(|(_, d)| state.engine.may_manage(d, &viewer.user))
    else {
        return viewer.error(state, StatusCode::NOT_FOUND, &format!("no process `{id}`"));
    };
    let version = version.unwrap_or(latest);
    let versions = state.engine.versions(id).await.unwrap_or_default();
    let source = match state.engine.source(id, version).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            return viewer.error(
                state,
                StatusCode::NOT_FOUND,
                &format!("`{id}` has no version {version}"),
            )
        }
        Err(e) => return viewer.engine_error(state, &e),
    };
    let shown_def = state
        .engine
        .registry()
        .version(id, version)
        .unwrap_or_else(|| def.clone());
    let edited_def = edited
        .as_ref()
        .and_then(|(text, _, _)| edited_process(text));
    let (text, diagnostics, error) = edited.unwrap_or((source.clone(), Vec::new(), None));
    let lines = annotated_lines(&text, &diagnostics);
    let checked = !diagnostics.is_empty() || error.is_some();
    // After a check: what publishing it would change, against the newest version.
    let (changes, running) = if edited_def.is_some() || checked {
        super::review::review(state, id, latest, &text, viewer.lang).await
    } else {
        (None, None)
    };
    viewer.page_status(
        state,
        status,
        "process.html",
        context! {
            active => "processes",
            process => context! { id, name => viewer.lang.pick(&def.name), latest, version, owner => true },
            versions => versions.iter().map(|v| context! { version => v.version, created => local_time(&v.created_at), latest => v.latest }).collect::<Vec<_>>(),
            diagram => flow_svg(&shown_def, None, state.engine.directory(), viewer.lang),
            edited_diagram => edited_def.map(|d| flow_svg(&d, None, state.engine.directory(), viewer.lang)),
            text,
            lines,
            diagnostics => diagnostics.iter().map(|d| context! { line => d.line, column => d.column, severity => d.severity.as_str(), message => d.message, hint => d.hint }).collect::<Vec<_>>(),
            checked,
            changes,
            running,
            error,
            notice,
        },
    )
}

#[derive(Deserialize)]
pub struct YamlForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    yaml: String,
}

pub async fn check(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<YamlForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return viewer.bad_csrf(&state);
    }
    if !state.engine.may_edit(&id, &viewer.user) {
        return viewer.error(&state, StatusCode::NOT_FOUND, &format!("no process `{id}`"));
    }
    let diagnostics = match state
        .engine
        .check_bounded(&format!("{id}.yaml"), &form.yaml)
        .await
    {
        Ok((_, diagnostics)) => diagnostics,
        Err(e) => return viewer.engine_error(&state, &e),
    };
    let ok = diagnostics
        .is_empty()
        .then(|| phrase(viewer.lang, "check_ok"));
    process_page(
        &state,
        &viewer,
        &id,
        None,
        Some((form.yaml, diagnostics, None)),
        ok,
        StatusCode::OK,
    )
    .await
}

pub async fn publish(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<YamlForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return viewer.bad_csrf(&state);
    }
    match state.engine.publish(&viewer.user, &form.yaml).await {
        Ok((process, version)) => Redirect::to(&done_url(
            &format!("/processes/{process}"),
            "published",
            version,
        ))
        .into_response(),
        Err(PublishError::Invalid(diagnostics)) => {
            process_page(
                &state,
                &viewer,
                &id,
                None,
                Some((form.yaml, diagnostics, None)),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e @ (PublishError::NotOwner(_) | PublishError::NotAdmin)) => {
            viewer.error(&state, StatusCode::FORBIDDEN, &e.to_string())
        }
        Err(PublishError::Engine(e)) => viewer.engine_error(&state, &e),
        Err(e) => {
            let message = e.to_string();
            process_page(
                &state,
                &viewer,
                &id,
                None,
                Some((form.yaml, Vec::new(), Some(message))),
                None,
                StatusCode::INTERNAL_SERVER_ERROR,
            )
            .await
        }
    }
}

pub async fn incidents(State(state): State<AppState>, viewer: Viewer) -> Response {
    let list = match state
        .engine
        .requests(&RequestQuery {
            status: Some(InstanceStatus::Incident),
            ..Default::default()
        })
        .await
    {
        Ok(l) => l,
        Err(e) => return viewer.engine_error(&state, &e),
    };
    let rows: Vec<Value> = list
        .iter()
        .filter(|r| {
            state
                .engine
                .registry()
                .version(&r.process, r.version)
                .is_some_and(|d| state.engine.may_manage(&d, &viewer.user))
        })
        .map(|r| request_row(&state, &viewer, r))
        .collect();
    viewer.page(
        &state,
        "incidents.html",
        context! { active => "incidents", incidents => rows },
    )
}

pub async fn retry(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return viewer.bad_csrf(&state);
    }
    let view = match state.engine.instance(InstanceId(id)).await {
        Ok(v) => v,
        Err(e) => return viewer.engine_error(&state, &e),
    };
    let owner = state
        .engine
        .registry()
        .version(&view.process, view.version)
        .is_some_and(|d| state.engine.may_manage(&d, &viewer.user));
    if !owner {
        return viewer.error(
            &state,
            StatusCode::FORBIDDEN,
            "only the process owner may retry a request",
        );
    }
    let result = state.engine.retry(InstanceId(id), &viewer.user).await;
    state.metrics.action(
        "retry",
        result.as_ref().map_or_else(EngineError::code, |_| "ok"),
    );
    match result {
        Ok(_) => Redirect::to("/incidents").into_response(),
        Err(e) => viewer.engine_error(&state, &e),
    }
}

/// The text's lines, each with the checker's messages about it.
fn annotated_lines(
    text: &str,
    diagnostics: &[signoff_engine::diagnostic::Diagnostic],
) -> Vec<Value> {
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            let n = i as u32 + 1;
            let notes: Vec<String> = diagnostics
                .iter()
                .filter(|d| d.line == n)
                .map(|d| {
                    format!(
                        "{}:{} {}: {}{}",
                        d.line,
                        d.column,
                        d.severity.as_str(),
                        d.message,
                        d.hint
                            .as_ref()
                            .map(|h| format!(" ({h})"))
                            .unwrap_or_default()
                    )
                })
                .collect();
            context! { n, text => line, notes }
        })
        .collect()
}
