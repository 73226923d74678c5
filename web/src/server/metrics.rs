//! Prometheus metrics at `/metrics`: HTTP requests, actions taken, open tasks and the
//! mail outbox backlog.

use std::sync::Mutex;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use signoff_engine::runtime::Engine;

use super::error::ApiError;
use super::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabels {
    action: String,
    result: String,
}

pub struct Metrics {
    engine: Engine,
    registry: Mutex<Registry>,
    http: Family<HttpLabels, Counter>,
    actions: Family<ActionLabels, Counter>,
    open_tasks: Gauge,
    running: Gauge,
    incidents: Gauge,
    outbox_pending: Gauge,
    outbox_failed: Gauge,
    calendar_days_left: Gauge,
}

impl Metrics {
    pub fn new(engine: Engine) -> Metrics {
        let mut registry = Registry::with_prefix("signoff");
        let http = Family::<HttpLabels, Counter>::default();
        let actions = Family::<ActionLabels, Counter>::default();
        let (open_tasks, running, incidents, outbox_pending, outbox_failed) = Default::default();
        let calendar_days_left = Gauge::default();
        registry.register(
            "calendar_days_left",
            "Days until the working calendar's known holidays end (add next year's before 0)",
            Gauge::clone(&calendar_days_left),
        );
        registry.register("http_requests", "HTTP requests served", http.clone());
        registry.register(
            "actions",
            "Actions on tasks and requests, by result",
            actions.clone(),
        );
        registry.register(
            "open_tasks",
            "Tasks waiting for someone",
            Gauge::clone(&open_tasks),
        );
        registry.register(
            "running_requests",
            "Requests not yet ended",
            Gauge::clone(&running),
        );
        registry.register(
            "incidents",
            "Requests stopped on an incident",
            Gauge::clone(&incidents),
        );
        registry.register(
            "outbox_pending",
            "Mail waiting to be sent",
            Gauge::clone(&outbox_pending),
        );
        registry.register(
            "outbox_failed",
            "Mail given up on",
            Gauge::clone(&outbox_failed),
        );
        Metrics {
            engine,
            registry: Mutex::new(registry),
            http,
            actions,
            open_tasks,
            running,
            incidents,
            outbox_pending,
            outbox_failed,
            calendar_days_left,
        }
    }

    /// Counts one action and how it ended (`ok` or the error code).
    pub fn action(&self, action: &str, result: &str) {
        self.actions
            .get_or_create(&ActionLabels {
                action: action.to_string(),
                result: result.to_string(),
            })
            .inc();
    }
}

/// Counts every request by method, route and status.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let response = next.run(request).await;
    state
        .metrics
        .http
        .get_or_create(&HttpLabels {
            method,
            route,
            status: response.status().as_u16(),
        })
        .inc();
    response
}

/// `GET /metrics` in the Prometheus text format.
pub async fn render(State(state): State<AppState>) -> Result<Response, ApiError> {
    let m = &state.metrics;
    let counts = m.engine.counts().await?;
    m.open_tasks.set(counts.open_tasks);
    m.running.set(counts.running);
    m.incidents.set(counts.incidents);
    let (pending, failed) = m.engine.mail_backlog().await?;
    m.outbox_pending.set(pending);
    m.outbox_failed.set(failed);
    let calendar = signoff_engine::runtime::calendar_of(&m.engine);
    if let Some(left) = calendar.days_left(m.engine.now()) {
        m.calendar_days_left.set(left);
    }
    let mut body = String::new();
    {
        let registry = m.registry.lock().unwrap_or_else(|e| e.into_inner());
        encode(&mut body, &registry).map_err(ApiError::internal)?;
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response())
}
