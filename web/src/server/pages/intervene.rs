//! Acting on a request as a whole from its page: taking it back (拿回) after one's own
//! decision, and the owners' jump (跳转) and terminate (终止). The engine decides who
//! may; the page only offers what it would allow.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::Form;
use minijinja::{context, Value};
use serde::Deserialize;
use signoff_engine::runtime::{InstanceId, InstanceStatus, InstanceView};

use super::request::request_action;
use super::{step_label, Viewer};
use crate::server::AppState;

/// What a request-level form posts.
#[derive(Deserialize)]
pub struct RequestForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    comment: Option<String>,
    /// The step to move to (jump).
    #[serde(default)]
    to: Option<String>,
}

/// What the request page offers `viewer` here: taking back, and the owners' actions with
/// the steps a jump can go to.
pub fn offers(state: &AppState, viewer: &Viewer, view: &InstanceView) -> Value {
    let def = state.engine.registry().version(&view.process, view.version);
    let live = matches!(
        view.status,
        InstanceStatus::Running | InstanceStatus::Incident
    );
    let manage = live
        && def
            .as_ref()
            .is_some_and(|d| state.engine.may_manage(d, &viewer.user));
    let steps: Vec<(String, String)> = match (&def, manage) {
        (Some(d), true) => d
            .steps
            .iter()
            .map(|s| {
                (
                    s.id.value.clone(),
                    step_label(Some(d), &s.id.value, viewer.lang),
                )
            })
            .collect(),
        _ => Vec::new(),
    };
    context! {
        can_take_back => state.engine.may_take_back(view, &viewer.user),
        can_manage => manage,
        jump_steps => steps,
    }
}

fn comment(form: &RequestForm) -> Option<&str> {
    form.comment.as_deref().filter(|c| !c.trim().is_empty())
}

pub async fn take_back(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<RequestForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return viewer.bad_csrf(&state);
    }
    let result = state
        .engine
        .take_back(InstanceId(id), &viewer.user, comment(&form))
        .await;
    let back = format!("/requests/{id}");
    request_action(&state, &viewer, "take_back", result, &back, id)
}

pub async fn jump(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<RequestForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return viewer.bad_csrf(&state);
    }
    let to = form.to.as_deref().unwrap_or_default();
    let result = state
        .engine
        .jump(
            InstanceId(id),
            &viewer.user,
            to,
            comment(&form).unwrap_or_default(),
        )
        .await;
    let back = format!("/requests/{id}");
    request_action(&state, &viewer, "jump", result, &back, id)
}

pub async fn terminate(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<RequestForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return viewer.bad_csrf(&state);
    }
    let result = state
        .engine
        .terminate(
            InstanceId(id),
            &viewer.user,
            comment(&form).unwrap_or_default(),
        )
        .await;
    let back = format!("/requests/{id}");
    request_action(&state, &viewer, "terminate", result, &back, id)
}
