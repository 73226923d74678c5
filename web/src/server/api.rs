//! The JSON API under `/api/v1`, described by the OpenAPI document it serves at
//! `/api/v1/openapi.json` (generated from these handlers and types by utoipa).

use std::collections::BTreeMap;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use signoff_engine::runtime::{
    ActionKind, ActionRequest, DoneTask, Durations, EngineError, InstanceId, InstanceStatus,
    InstanceView, MonthRow, Report, SignerPosition, TaskCursor, TaskFigures, TaskId, TaskQuery,
    TaskSort, TaskView, VersionInfo, MAX_DONE_PAGE, MAX_SEARCH_CHARS,
};
use utoipa::OpenApi;

use super::auth::ApiUser;
use super::error::ApiError;
use super::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Signoff API",
        version = "1",
        description = "Start requests, act on tasks, follow requests. Authenticate with HTTP Basic or the web session cookie (then send the `signoff_csrf` cookie's value as `X-CSRF-Token` on POST)."
    ),
    paths(processes, process, report, start, instance, withdraw, take_back, jump, terminate, tasks, done_tasks, act, approve_each),
    components(schemas(
        ProcessSummary, ProcessDetail, StartRequest, WithdrawRequest, JumpRequest, ReasonRequest, ActionBody, ApiError,
        BatchApproval, BatchResult, DoneTask, TaskSort, Report, MonthRow, Durations, TaskFigures,
        InstanceView, TaskView, VersionInfo, ActionKind, SignerPosition
    )),
    modifiers(&BasicAuth, &CommonResponses),
    security(("basic" = []), ("token" = []))
)]
pub struct ApiDoc;

struct BasicAuth;

impl utoipa::Modify for BasicAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Basic).build()),
        );
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("a personal API token from the settings page"))
                    .build(),
            ),
        );
    }
}

/// The answers any operation may give besides its own: a malformed path or body, no or
/// wrong credentials, too many sign-in attempts, a request too slow, and a busy server;
/// and for operations with a body, one too large or not JSON. All in the error shape.
struct CommonResponses;

impl utoipa::Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let answer = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ApiError")))
                        .build(),
                )
                .build()
        };
        let common = [
            ("400", "the path or the body is malformed"),
            ("401", "no or wrong credentials"),
            ("408", "the request took too long"),
            (
                "429",
                "too many sign-in attempts for the name or from the address",
            ),
            (
                "503",
                "too many sign-ins at once, or the server is shutting down",
            ),
        ];
        let with_body = [
            ("413", "the body is larger than 2 MiB"),
            ("415", "the body is not sent as application/json"),
        ];
        for item in openapi.paths.paths.values_mut() {
            let operations = [&mut item.get, &mut item.post];
            for operation in operations.into_iter().flatten() {
                let extra: &[_] = if operation.request_body.is_some() {
                    &with_body
                } else {
                    &[]
                };
                for (status, description) in common.iter().chain(extra) {
                    operation
                        .responses
                        .responses
                        .entry((*status).to_string())
                        .or_insert_with(|| answer(description).into());
                }
            }
        }
    }
}

pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// A process people can start.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ProcessSummary {
    pub id: String,
    pub name_zh: String,
    pub name_en: String,
    /// The newest version, which new requests use.
    pub version: i64,
}

/// A process with its versions and its definition (the YAML as JSON).
#[derive(Serialize, utoipa::ToSchema)]
pub struct ProcessDetail {
    #[serde(flatten)]
    pub summary: ProcessSummary,
    pub versions: Vec<VersionInfo>,
    #[schema(value_type = Object)]
    pub definition: Value,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct StartRequest {
    /// A process id, e.g. `reimbursement`.
    pub process: String,
    /// The form's values by field id.
    #[schema(value_type = Object)]
    pub form: Value,
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct WithdrawRequest {
    #[schema(max_length = 2000)]
    pub comment: Option<String>,
}

/// A move of a request to another step (跳转), with its reason.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct JumpRequest {
    /// The step's id in the request's definition.
    #[schema(max_length = 200)]
    pub to: String,
    /// Why: required, shown in the history and the mail.
    #[schema(min_length = 1, max_length = 2000)]
    pub comment: String,
}

/// An owner's action that needs a reason (terminate).
#[derive(Deserialize, utoipa::ToSchema)]
pub struct ReasonRequest {
    /// Why: required, shown in the history and the mail.
    #[schema(min_length = 1, max_length = 2000)]
    pub comment: String,
}

/// An action on a task.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct ActionBody {
    /// approve, reject, return, complete, delegate (act on behalf), transfer, add_signer,
    /// remove_signer, claim, comment, resubmit, consult (ask an opinion; the task comes
    /// back), reply (the opinion asked for, in `comment`), copy_to (抄送)
    #[schema(value_type = ActionKind)]
    pub action: String,
    #[schema(max_length = 2000)]
    pub comment: Option<String>,
    /// The other user (delegate, transfer, signers, consult, copy_to) or the step to
    /// return to.
    pub to: Option<String>,
    /// Editable fields' new values, or the resubmitted form.
    #[schema(value_type = Option<Object>)]
    pub form: Option<Value>,
    /// The step's inputs, e.g. `{"score": 85}`.
    #[schema(value_type = Option<Object>)]
    pub inputs: Option<Value>,
    /// For add_signer: whether the added person decides `before` or `after` (the
    /// default) the caller.
    pub position: Option<SignerPosition>,
}

/// Several tasks to approve with one comment.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct BatchApproval {
    /// The tasks, 1 to 100; each is approved on its own.
    #[schema(min_items = 1, max_items = 100)]
    pub tasks: Vec<i64>,
    #[schema(max_length = 2000)]
    pub comment: Option<String>,
}

/// What happened to one task of a batch approval.
#[derive(Serialize, utoipa::ToSchema)]
pub struct BatchResult {
    pub task: i64,
    /// Whether it was approved.
    pub ok: bool,
    /// The request, when approved.
    pub instance: Option<i64>,
    /// The request's state after the approval.
    pub status: Option<InstanceStatus>,
    /// Why not, when refused (the error a single action would have had).
    pub error: Option<ApiError>,
}

/// A JSON body, or a 400 (not JSON) / 422 (wrong shape) naming what is wrong.
fn body<T>(payload: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    match payload {
        Ok(Json(value)) => Ok(value),
        Err(JsonRejection::JsonDataError(e)) => {
            let detail = e.body_text();
            let field = detail
                .split('`')
                .nth(1)
                .filter(|_| detail.contains("missing field") || detail.contains("unknown variant"))
                .unwrap_or("body")
                .to_string();
            Err(ApiError::invalid(BTreeMap::from([(field, detail)])))
        }
        Err(e) => Err(ApiError::bad_request(e.body_text())),
    }
}

fn summary(version: i64, def: &signoff_engine::model::ProcessDef) -> ProcessSummary {
    ProcessSummary {
        id: def.id.value.clone(),
        name_zh: def.name.zh.clone(),
        name_en: def.name.en.clone(),
        version,
    }
}

/// The processes the caller may start.
#[utoipa::path(get, path = "/api/v1/processes", responses(
    (status = 200, body = [ProcessSummary]), (status = 401, body = ApiError)))]
pub async fn processes(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> Json<Vec<ProcessSummary>> {
    Json(
        state
            .engine
            .registry()
            .processes()
            .iter()
            .filter(|(_, d)| state.engine.may_start(d, &user))
            .map(|(v, d)| summary(*v, d))
            .collect(),
    )
}

/// The days a report covers (both included); by default the six months up to today.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportRange {
    /// The first day (`YYYY-MM-DD`).
    #[param(value_type = Option<String>, format = Date)]
    from: Option<chrono::NaiveDate>,
    /// The last day (`YYYY-MM-DD`); at most 732 days after the first.
    #[param(value_type = Option<String>, format = Date)]
    to: Option<chrono::NaiveDate>,
}

/// A process's report for its owners and administrators: requests per month, outcomes,
/// cycle times, task times and lateness per step and person, the backlog now.
#[utoipa::path(get, path = "/api/v1/processes/{id}/report", params(("id" = String, Path), ReportRange), responses(
    (status = 200, body = Report), (status = 401, body = ApiError),
    (status = 404, body = ApiError, description = "no such process, or not one the caller manages"),
    (status = 409, body = ApiError, description = "the range is backwards or longer than 732 days")))]
pub async fn report(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
    Query(range): Query<ReportRange>,
) -> Result<Json<Report>, ApiError> {
    let managed = state
        .engine
        .registry()
        .latest(&id)
        .filter(|(_, d)| state.engine.may_manage(d, &user));
    if managed.is_none() {
        return Err(EngineError::UnknownProcess(id).into());
    }
    let today = signoff_engine::runtime::calendar_of(&state.engine).local_date(state.engine.now());
    let to = range.to.unwrap_or(today);
    let from = range
        .from
        .unwrap_or_else(|| to.checked_sub_days(chrono::Days::new(182)).unwrap_or(to));
    Ok(Json(state.engine.report(&id, from, to).await?))
}

/// One process with its versions and definition.
#[utoipa::path(get, path = "/api/v1/processes/{id}", params(("id" = String, Path)), responses(
    (status = 200, body = ProcessDetail), (status = 401, body = ApiError), (status = 404, body = ApiError)))]
pub async fn process(
    State(state): State<AppState>,
    _user: ApiUser,
    Path(id): Path<String>,
) -> Result<Json<ProcessDetail>, ApiError> {
    let (version, def) = state
        .engine
        .registry()
        .latest(&id)
        .ok_or_else(|| ApiError::not_found(format!("no process `{id}`")))?;
    Ok(Json(ProcessDetail {
        summary: summary(version, &def),
        versions: state.engine.versions(&id).await?,
        definition: serde_json::to_value(def.as_ref()).map_err(ApiError::internal)?,
    }))
}

/// Starts a request as the caller.
#[utoipa::path(post, path = "/api/v1/instances", request_body = StartRequest, responses(
    (status = 201, body = InstanceView), (status = 400, body = ApiError), (status = 401, body = ApiError),
    (status = 404, body = ApiError), (status = 422, body = ApiError, description = "every bad field named")))]
pub async fn start(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    payload: Result<Json<StartRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let request = body(payload)?;
    if !request.form.is_object() {
        return Err(ApiError::invalid(BTreeMap::from([(
            "form".into(),
            "must be an object of field values".into(),
        )])));
    }
    let result = state
        .engine
        .start(&request.process, &user, request.form)
        .await;
    state.metrics.action(
        "start",
        result.as_ref().map_or_else(EngineError::code, |_| "ok"),
    );
    Ok((StatusCode::CREATED, Json(result?)).into_response())
}

/// A request with its open tasks and history (its submitter, task holders, watchers
/// and the process owners may see it).
#[utoipa::path(get, path = "/api/v1/instances/{id}", params(("id" = i64, Path)), responses(
    (status = 200, body = InstanceView), (status = 404, body = ApiError, description = "no such request, or not one the caller may see")))]
pub async fn instance(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<InstanceView>, ApiError> {
    Ok(Json(
        state.engine.instance_for(InstanceId(id), &user).await?,
    ))
}

/// Withdraws a request (its submitter, while the definition allows).
#[utoipa::path(post, path = "/api/v1/instances/{id}/withdraw", params(("id" = i64, Path)), request_body = WithdrawRequest, responses(
    (status = 200, body = InstanceView), (status = 403, body = ApiError, description = "not the submitter"),
    (status = 404, body = ApiError, description = "no such request, or not one the caller may see"),
    (status = 409, body = ApiError, description = "the process or the request's state no longer allows it"),
    (status = 422, body = ApiError, description = "the body's fields are wrong, e.g. a comment too long")))]
pub async fn withdraw(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    payload: Option<Json<WithdrawRequest>>,
) -> Result<Json<InstanceView>, ApiError> {
    let request = payload.map(|Json(r)| r).unwrap_or_default();
    let id = InstanceId(id);
    state.engine.instance_for(id, &user).await?;
    let result = state
        .engine
        .withdraw(id, &user, request.comment.as_deref())
        .await;
    counted(&state, "withdraw", result)
}

/// Counts a request-level action and answers with the request as it now is.
fn counted(
    state: &AppState,
    action: &'static str,
    result: Result<InstanceView, EngineError>,
) -> Result<Json<InstanceView>, ApiError> {
    state.metrics.action(
        action,
        result.as_ref().map_or_else(EngineError::code, |_| "ok"),
    );
    Ok(Json(result?))
}

/// Takes a request back (拿回): the caller made its latest decision and nobody has acted
/// since; their task opens again.
#[utoipa::path(post, path = "/api/v1/instances/{id}/take_back", params(("id" = i64, Path)), request_body = WithdrawRequest, responses(
    (status = 200, body = InstanceView),
    (status = 404, body = ApiError, description = "no such request, or not one the caller may see"),
    (status = 409, body = ApiError, description = "the caller did not make the latest decision, or someone has acted since"),
    (status = 422, body = ApiError, description = "the comment is too long")))]
pub async fn take_back(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    payload: Option<Json<WithdrawRequest>>,
) -> Result<Json<InstanceView>, ApiError> {
    let request = payload.map(|Json(r)| r).unwrap_or_default();
    let id = InstanceId(id);
    state.engine.instance_for(id, &user).await?;
    let result = state
        .engine
        .take_back(id, &user, request.comment.as_deref())
        .await;
    counted(&state, "take_back", result)
}

/// Moves a request to another step (跳转): its process's owners and administrators.
#[utoipa::path(post, path = "/api/v1/instances/{id}/jump", params(("id" = i64, Path)), request_body = JumpRequest, responses(
    (status = 200, body = InstanceView), (status = 403, body = ApiError, description = "not an owner of the process"),
    (status = 404, body = ApiError, description = "no such request, or not one the caller may see"),
    (status = 409, body = ApiError, description = "the request has ended"),
    (status = 422, body = ApiError, description = "no such step, or no reason given")))]
pub async fn jump(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    Json(request): Json<JumpRequest>,
) -> Result<Json<InstanceView>, ApiError> {
    let id = InstanceId(id);
    state.engine.instance_for(id, &user).await?;
    let result = state
        .engine
        .jump(id, &user, &request.to, &request.comment)
        .await;
    counted(&state, "jump", result)
}

/// Ends a request (终止): its process's owners and administrators, with a reason.
#[utoipa::path(post, path = "/api/v1/instances/{id}/terminate", params(("id" = i64, Path)), request_body = ReasonRequest, responses(
    (status = 200, body = InstanceView), (status = 403, body = ApiError, description = "not an owner of the process"),
    (status = 404, body = ApiError, description = "no such request, or not one the caller may see"),
    (status = 409, body = ApiError, description = "the request has ended"),
    (status = 422, body = ApiError, description = "no reason given")))]
pub async fn terminate(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    Json(request): Json<ReasonRequest>,
) -> Result<Json<InstanceView>, ApiError> {
    let id = InstanceId(id);
    state.engine.instance_for(id, &user).await?;
    let result = state.engine.terminate(id, &user, &request.comment).await;
    counted(&state, "terminate", result)
}

/// Which page of the caller's tasks.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaskPage {
    /// Tasks on the page, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
    /// Where the page starts: the cursor the previous page's `Link` header gives (the
    /// first page without it).
    #[param(max_length = 64)]
    after: Option<String>,
    /// Only tasks of this process.
    process: Option<String>,
    /// Text to look for in the request's form, number, submitter, process and step
    /// (at most 100 characters).
    #[param(max_length = 100)]
    q: Option<String>,
    /// `due` (soonest first, the default), `waiting` (longest first), `submitted`
    /// (newest requests first) or `amount` (largest first).
    sort: Option<TaskSort>,
    /// Only requests submitted on or after this day (`YYYY-MM-DD`).
    #[param(value_type = Option<String>, format = Date)]
    since: Option<chrono::NaiveDate>,
    /// Only requests submitted on or before this day (`YYYY-MM-DD`).
    #[param(value_type = Option<String>, format = Date)]
    until: Option<chrono::NaiveDate>,
}

/// The caller's open tasks, soonest due first, a page at a time: `X-Total-Count` holds
/// how many there are, and `Link` the next page while there is one.
#[utoipa::path(get, path = "/api/v1/tasks", params(TaskPage), responses(
    (status = 200, body = [TaskView], headers(
        ("X-Total-Count" = i64, description = "open tasks of the caller (with the process filter)"),
        ("Link" = String, description = "`</api/v1/tasks?after=CURSOR&limit=M>; rel=\"next\"` while more follow"))),
    (status = 401, body = ApiError)))]
pub async fn tasks(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Query(page): Query<TaskPage>,
) -> Result<Response, ApiError> {
    let limit = page.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request("`limit` must be from 1 to 500"));
    }
    let after = match page.after.as_deref() {
        None => None,
        Some(text) => Some(TaskCursor::parse(text).ok_or_else(|| {
            ApiError::bad_request("`after` must be the cursor a `Link` header gave")
        })?),
    };
    if page
        .q
        .as_ref()
        .is_some_and(|q| q.chars().count() > MAX_SEARCH_CHARS)
    {
        return Err(ApiError::bad_request("`q` must be at most 100 characters"));
    }
    let query = TaskQuery {
        user,
        process: page.process.clone(),
        limit: Some(limit),
        after,
        search: page.q.clone().filter(|q| !q.trim().is_empty()),
        sort: page.sort.unwrap_or_default(),
        submitted_from: page.since,
        submitted_to: page.until,
        ..Default::default()
    };
    let total = state.engine.count_tasks(&query).await?;
    // One row more than the page tells whether another page follows.
    let mut tasks = state
        .engine
        .tasks(&TaskQuery {
            limit: Some(limit + 1),
            ..query.clone()
        })
        .await?;
    let more = tasks.len() as i64 > limit;
    tasks.truncate(limit as usize);
    let next = tasks.last().map(|last| query.sort.cursor(last).to_string());
    let mut response = Json(tasks).into_response();
    let headers = response.headers_mut();
    headers.insert("x-total-count", HeaderValue::from(total));
    if let Some(cursor) = next.filter(|_| more) {
        // The next page keeps the filter, the search, the dates and the order.
        let since = page.since.map(|d| d.to_string());
        let until = page.until.map(|d| d.to_string());
        let kept: Vec<(&str, &str)> = [
            ("after", Some(cursor.as_str())),
            ("process", page.process.as_deref()),
            ("q", page.q.as_deref()),
            ("sort", page.sort.map(TaskSort::as_str)),
            ("since", since.as_deref()),
            ("until", until.as_deref()),
        ]
        .into_iter()
        .filter_map(|(k, v)| Some((k, v?)))
        .collect();
        let process = serde_urlencoded::to_string(kept)
            .ok()
            .filter(|p| !p.is_empty())
            .map(|p| format!("&{p}"))
            .unwrap_or_default();
        let link = format!("</api/v1/tasks?limit={limit}{process}>; rel=\"next\"");
        link_next(headers, &link);
    }
    Ok(response)
}

/// Adds `Link: <...>; rel="next"` (a link that cannot be a header value is left out).
fn link_next(headers: &mut axum::http::HeaderMap, link: &str) {
    if let Ok(value) = HeaderValue::from_str(link) {
        headers.insert(axum::http::header::LINK, value);
    }
}

/// A page of decided tasks.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct DonePage {
    /// Tasks older than this task id (the last id of the previous page).
    pub before: Option<i64>,
    /// 1 to 200 (default 100).
    pub limit: Option<i64>,
}

/// The tasks the caller decided ("done by me"), newest first; `X-Total-Count` holds how
/// many, and `Link: rel="next"` the next page.
#[utoipa::path(get, path = "/api/v1/tasks/done", params(DonePage), responses(
    (status = 200, body = Vec<DoneTask>), (status = 400, body = ApiError), (status = 401, body = ApiError)))]
pub async fn done_tasks(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Query(page): Query<DonePage>,
) -> Result<Response, ApiError> {
    let limit = page.limit.unwrap_or(100);
    if !(1..=MAX_DONE_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "`limit` must be from 1 to {MAX_DONE_PAGE}"
        )));
    }
    let before = page.before.map(TaskId);
    let (list, total) = tokio::try_join!(
        state.engine.done_tasks(&user, before, limit),
        state.engine.count_done(&user)
    )?;
    let next = (list.len() as i64 == limit)
        .then(|| list.last().map(|d| d.task.id.0))
        .flatten();
    let mut response = Json(list).into_response();
    let headers = response.headers_mut();
    headers.insert("x-total-count", HeaderValue::from(total));
    if let Some(next) = next {
        let link = format!("</api/v1/tasks/done?before={next}&limit={limit}>; rel=\"next\"");
        link_next(headers, &link);
    }
    Ok(response)
}

/// Approves several tasks with one comment, each on its own: one refused does not stop
/// the others, and each answers with its own result.
#[utoipa::path(post, path = "/api/v1/tasks/approve", request_body = BatchApproval, responses(
    (status = 200, body = Vec<BatchResult>, description = "a result per task"),
    (status = 400, body = ApiError), (status = 401, body = ApiError),
    (status = 422, body = ApiError, description = "no tasks, more than 100, or a comment too long")))]
pub async fn approve_each(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    payload: Result<Json<BatchApproval>, JsonRejection>,
) -> Result<Json<Vec<BatchResult>>, ApiError> {
    let body = body(payload)?;
    let tasks: Vec<TaskId> = body.tasks.iter().copied().map(TaskId).collect();
    let mut request = ActionRequest::new(ActionKind::Approve);
    request.comment = body.comment;
    let results = state.engine.perform_each(&tasks, &user, &request).await?;
    let results = results
        .into_iter()
        .map(|(task, result)| {
            state.metrics.action(
                "approve",
                result.as_ref().map_or_else(EngineError::code, |_| "ok"),
            );
            match result {
                Ok(acted) => BatchResult {
                    task: task.0,
                    ok: true,
                    instance: Some(acted.instance.0),
                    status: Some(acted.status),
                    error: None,
                },
                Err(e) => BatchResult {
                    task: task.0,
                    ok: false,
                    instance: None,
                    status: None,
                    error: Some(ApiError::from(e)),
                },
            }
        })
        .collect();
    Ok(Json(results))
}

/// Acts on a task as its assignee (or delegate).
#[utoipa::path(post, path = "/api/v1/tasks/{id}/actions", params(("id" = i64, Path)), request_body = ActionBody, responses(
    (status = 200, body = InstanceView), (status = 400, body = ApiError), (status = 401, body = ApiError),
    (status = 403, body = ApiError, description = "not your task"), (status = 404, body = ApiError),
    (status = 409, body = ApiError, description = "someone acted first, or the step does not allow it"),
    (status = 422, body = ApiError, description = "every bad field named")))]
pub async fn act(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    payload: Result<Json<ActionBody>, JsonRejection>,
) -> Result<Json<InstanceView>, ApiError> {
    let body = body(payload)?;
    let mut bad = BTreeMap::new();
    let action = match body.action.parse::<ActionKind>() {
        Ok(a) => Some(a),
        Err(e) => {
            bad.insert("action".to_string(), e);
            None
        }
    };
    for (name, value) in [("form", &body.form), ("inputs", &body.inputs)] {
        if value.as_ref().is_some_and(|v| !v.is_object()) {
            bad.insert(name.to_string(), "must be an object of field values".into());
        }
    }
    let Some(action) = action.filter(|_| bad.is_empty()) else {
        return Err(ApiError::invalid(bad));
    };
    let request = ActionRequest {
        action: Some(action),
        comment: body.comment,
        to: body.to,
        form: body.form,
        inputs: body.inputs,
        position: body.position,
    };
    let result = state.engine.act(TaskId(id), &user, request).await;
    state.metrics.action(
        action.as_str(),
        result.as_ref().map_or_else(EngineError::code, |_| "ok"),
    );
    Ok(Json(result?))
}
