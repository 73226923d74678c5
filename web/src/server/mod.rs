//! `signoff serve`: the web inbox, the request forms, the owner pages and the JSON API,
//! with the timer scheduler and the mail sender running beside them.

mod api;
mod assets;
mod auth;
mod error;
mod forms;
mod headers;
mod i18n;
mod listen;
mod metrics;
mod pages;
mod throttle;
mod upload;
mod views;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use signoff_engine::accounts::Accounts;
use signoff_engine::runtime::{Engine, EngineOptions};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::Store;

pub use auth::AuthMode;
pub use listen::run_on;

/// How the server runs.
#[derive(clap::Args, Clone)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "SIGNOFF_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Trust this request header for the user name (single sign-on behind a reverse
    /// proxy that sets it); password login is then off.
    #[arg(long, env = "SIGNOFF_TRUST_USER_HEADER")]
    pub trust_user_header: Option<String>,
    /// The password of every directory user who has none of their own (`signoff
    /// passwd`). For demos; set it empty to turn it off.
    #[arg(long, env = "SIGNOFF_DEMO_PASSWORD", default_value = "signoff")]
    pub demo_password: String,
    /// How often due timers are fired, in seconds.
    #[arg(long, env = "SIGNOFF_TIMER_INTERVAL", default_value_t = 30)]
    pub timer_interval: u64,
    /// Serve Prometheus metrics at `/metrics` on this separate address (for example
    /// `127.0.0.1:9090`); off by default, so the public port never shows them.
    #[arg(long, env = "SIGNOFF_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// Seconds a client has to send a request's headers; also how long an idle
    /// keep-alive connection stays open.
    #[arg(long, env = "SIGNOFF_HEADER_TIMEOUT", default_value_t = listen::HEADER_TIMEOUT.as_secs())]
    pub header_timeout: u64,
    #[command(flatten)]
    pub store: Store,
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub engine: Engine,
    pub accounts: Accounts,
    pub auth: Arc<AuthMode>,
    pub pages: Arc<views::Pages>,
    pub metrics: Arc<metrics::Metrics>,
    /// Cookies get `Secure` when the base URL is https.
    pub secure_cookies: bool,
    pub throttle: Arc<throttle::LoginThrottle>,
}

/// The JSON API's routes, nested under `/api/v1`.
fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/processes", get(api::processes))
        .route("/processes/{id}", get(api::process))
        .route("/processes/{id}/report", get(api::report))
        .route("/instances", post(api::start))
        .route("/instances/{id}", get(api::instance))
        .route("/instances/{id}/withdraw", post(api::withdraw))
        .route("/instances/{id}/take_back", post(api::take_back))
        .route("/instances/{id}/jump", post(api::jump))
        .route("/instances/{id}/terminate", post(api::terminate))
        .route("/tasks", get(api::tasks))
        .route("/tasks/approve", post(api::approve_each))
        .route("/tasks/done", get(api::done_tasks))
        .route("/tasks/{id}/actions", post(api::act))
        .route("/openapi.json", get(api::openapi))
}

/// Builds the router for an open engine (used by `serve` and by the tests).
pub fn router(state: AppState) -> Router {
    let api = api_routes();
    Router::new()
        .route("/", get(pages::home))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/inbox", get(pages::inbox))
        .route("/inbox/approve", post(pages::approve_selected))
        .route("/done", get(pages::done))
        .route("/tasks/{id}", get(pages::task))
        .route("/tasks/{id}/act", post(pages::act))
        .route("/requests", get(pages::my_requests))
        .route("/requests/new", get(pages::new_request_list))
        .route(
            "/requests/new/{process}",
            get(pages::new_request_form).post(pages::new_request).layer(
                axum::extract::DefaultBodyLimit::max(upload::MAX_UPLOAD_BODY_BYTES),
            ),
        )
        .route("/requests/{id}", get(pages::request))
        .route("/requests/{id}/files/{file}", get(pages::attachment))
        .route("/requests/{id}/withdraw", post(pages::withdraw))
        .route("/requests/{id}/urge", post(pages::urge))
        .route("/requests/{id}/take_back", post(pages::take_back))
        .route("/requests/{id}/history.csv", get(pages::history_csv))
        .route("/requests/{id}/print", get(pages::print))
        .route("/requests/{id}/jump", post(pages::jump))
        .route("/requests/{id}/terminate", post(pages::terminate))
        .route("/requests/{id}/retry", post(pages::retry))
        .route("/processes", get(pages::processes))
        .route("/processes/{id}", get(pages::process))
        .route("/processes/{id}/check", post(pages::check))
        .route("/processes/{id}/lint", post(pages::lint))
        .route("/processes/{id}/publish", post(pages::publish))
        .route(
            "/processes/{id}/try",
            get(pages::try_form).post(pages::try_run),
        )
        .route("/processes/{id}/report", get(pages::report))
        .route("/processes/{id}/report.csv", get(pages::report_csv))
        .route("/incidents", get(pages::incidents))
        .route("/settings", get(pages::settings))
        .route("/settings/absence", post(pages::set_absence))
        .route("/settings/absence/end", post(pages::end_absence))
        .route("/settings/tokens", post(pages::create_token))
        .route("/settings/tokens/{id}/revoke", post(pages::revoke_token))
        .route("/lang/{code}", get(pages::set_lang))
        .route("/healthz", get(pages::healthz))
        .merge(assets::routes())
        .nest(
            "/api/v1",
            api.layer(axum::middleware::from_fn(error::json_errors)),
        )
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::csrf_cookie,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        // Every body is cut at the largest upload; every extractor but the upload
        // form's takes at most MAX_BODY_BYTES.
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        // A little above the largest upload, so that the extractors' own limits trip
        // first and answer 413 (this one cuts a chunked body off mid-stream).
        .layer(RequestBodyLimitLayer::new(
            upload::MAX_UPLOAD_BODY_BYTES + 64 * 1024,
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            listen::REQUEST_TIMEOUT,
        ))
        .layer(axum::middleware::from_fn(headers::protect))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// The largest request body taken (a definition's YAML is at most 1 MiB).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The metrics endpoint alone, for its own listener.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics::render))
        .with_state(state)
}

/// The shared state for `engine`.
pub async fn state(
    engine: Engine,
    auth: AuthMode,
    demo_password: &str,
    base_url: &str,
) -> anyhow::Result<AppState> {
    let mut accounts = engine.accounts();
    if !demo_password.is_empty() {
        accounts = accounts.with_demo_password(demo_password).await?;
    }
    Ok(AppState {
        metrics: Arc::new(metrics::Metrics::new(engine.clone())),
        engine,
        accounts,
        auth: Arc::new(auth),
        pages: Arc::new(views::Pages::new()),
        secure_cookies: base_url.starts_with("https://"),
        throttle: Arc::new(throttle::LoginThrottle::default()),
    })
}

/// Runs the server until Ctrl-C or SIGTERM, then finishes the requests in flight.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let store = &args.store;
    let sender = store.mail.sender_options()?;
    let mut options = EngineOptions::new(&store.db, &store.processes);
    options.base_url = store.mail.base_url.clone();
    let engine = Engine::open(options)
        .await
        .with_context(|| format!("opening {}", signoff_engine::store::redact(&store.db)))?;
    let calendar = signoff_engine::runtime::calendar_of(&engine);
    if let (Some(left), Some(end)) = (calendar.days_left(engine.now()), calendar.valid_until()) {
        if left < signoff_engine::calendar::WARN_DAYS {
            tracing::warn!(%end, days_left = left, "the working calendar's holidays end soon: add next year's; deadlines after it count weekends only");
        }
    }
    if let Some(problem) = base_url_problem(&store.mail.base_url, args.listen) {
        tracing::warn!(base_url = %store.mail.base_url, listen = %args.listen, "{problem}");
        eprintln!("warning: {problem}");
    }
    let scheduler = engine.spawn_scheduler(Duration::from_secs(args.timer_interval.max(1)));
    let mailer = engine.spawn_mailer(sender);
    let auth = match &args.trust_user_header {
        Some(header) if !header.is_empty() => AuthMode::TrustedHeader(header.to_ascii_lowercase()),
        _ => AuthMode::Password,
    };
    let state = state(
        engine.clone(),
        auth,
        &args.demo_password,
        &store.mail.base_url,
    )
    .await?;
    let metrics = match args.metrics_listen {
        Some(address) => {
            let listener = listen::bind(address).await?;
            tracing::info!(%address, "metrics at /metrics");
            let app = metrics_router(state.clone());
            Some(tokio::spawn(run_on(listener, app, std::future::pending())))
        }
        None => None,
    };
    let app = router(state);
    let listener = listen::bind(args.listen).await?;
    tracing::info!(address = %args.listen, db = %store.db, "Signoff is serving");
    eprintln!(
        "Signoff is serving on http://{} (database {}, mail via {})",
        args.listen, store.db, store.mail.smtp
    );
    let header_timeout = Duration::from_secs(args.header_timeout.max(1));
    listen::run_with(listener, app, shutdown_signal(), header_timeout).await?;
    tracing::info!("shutting down: finishing the actions in flight");
    scheduler.abort();
    mailer.abort();
    if let Some(metrics) = metrics {
        metrics.abort();
    }
    engine.shutdown().await;
    Ok(())
}

/// Why links in mail cannot reach a server listening on `listen` at `base_url`, when
/// that can be told: a loopback base URL with another port, or with a server that
/// listens for other machines.
fn base_url_problem(base_url: &str, listen: SocketAddr) -> Option<String> {
    let authority = base_url
        .split_once("://")
        .map_or(base_url, |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap_or_default();
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => (host, port.parse::<u16>().ok()),
        _ => (authority, None),
    };
    let port = port.unwrap_or(if base_url.starts_with("https://") {
        443
    } else {
        80
    });
    let loopback = matches!(host, "127.0.0.1" | "localhost" | "[::1]");
    if !loopback {
        return None;
    }
    if listen.ip().is_unspecified() {
        return Some(format!(
            "links in mail point to {base_url}, which only this machine reaches, but the server listens for other machines on {listen}: set --base-url (SIGNOFF_BASE_URL) to the address people open"
        ));
    }
    (port != listen.port()).then(|| {
        format!(
            "links in mail point to {base_url} but the server listens on port {}: set --base-url (SIGNOFF_BASE_URL)",
            listen.port()
        )
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

#[cfg(test)]
mod tests {
    use super::base_url_problem;

    #[test]
    fn serve_warns_when_mail_links_cannot_reach_the_server() {
        let at = |a: &str| a.parse().expect("an address");
        assert_eq!(
            base_url_problem("http://127.0.0.1:8080", at("127.0.0.1:8080")),
            None
        );
        assert_eq!(
            base_url_problem("https://signoff.corp.example", at("0.0.0.0:8080")),
            None
        );
        let port = base_url_problem("http://127.0.0.1:8080", at("127.0.0.1:9000")).expect("warned");
        assert!(port.contains("port 9000"), "{port}");
        let wide = base_url_problem("http://localhost:8080", at("0.0.0.0:8080")).expect("warned");
        assert!(wide.contains("other machines"), "{wide}");
    }
}
