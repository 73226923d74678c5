//! A process's report for its owners and administrators: the figures of
//! [`Engine::report`](signoff_engine::runtime::Engine::report) over a date range, a chart
//! of the months drawn on the server (SVG), and each table as CSV.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, NaiveDate};
use minijinja::context;
use serde::Deserialize;
use signoff_engine::runtime::{EngineError, Report, TaskFigures};
use std::fmt::Write;

use super::{step_label, Viewer};
use crate::server::i18n::phrase;
use crate::server::AppState;

/// The range asked for; by default the last six months up to today.
#[derive(Deserialize, Default)]
pub struct Range {
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    /// Which table as CSV: months, outcomes, steps, people, backlog.
    table: Option<String>,
}

/// The report of `id` for `viewer`, if they may manage the process.
async fn report_for(
    state: &AppState,
    viewer: &Viewer,
    id: &str,
    range: &Range,
) -> Result<Report, Response> {
    let may = state
        .engine
        .registry()
        .latest(id)
        .filter(|(_, d)| state.engine.may_manage(d, &viewer.user));
    if may.is_none() {
        return Err(viewer.error(state, StatusCode::NOT_FOUND, &format!("no process `{id}`")));
    }
    let today = signoff_engine::runtime::calendar_of(&state.engine).local_date(state.engine.now());
    let to = range.to.unwrap_or(today);
    let from = range.from.unwrap_or_else(|| six_months_before(to));
    state
        .engine
        .report(id, from, to)
        .await
        .map_err(|e| match e {
            EngineError::NotAllowed(_) => viewer.error(
                state,
                StatusCode::UNPROCESSABLE_ENTITY,
                &phrase(viewer.lang, "report_range"),
            ),
            e => viewer.engine_error(state, &e),
        })
}

/// The first day of the month five months before `day`'s.
fn six_months_before(day: NaiveDate) -> NaiveDate {
    let months = day.year() * 12 + day.month0() as i32 - 5;
    NaiveDate::from_ymd_opt(months.div_euclid(12), months.rem_euclid(12) as u32 + 1, 1)
        .unwrap_or(day)
}

pub async fn report(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(range): Query<Range>,
) -> Response {
    let report = match report_for(&state, &viewer, &id, &range).await {
        Ok(r) => r,
        Err(page) => return page,
    };
    let def = state.engine.registry().latest(&id).map(|(_, d)| d);
    let step = |s: &str| step_label(def.as_deref(), s, viewer.lang);
    let person = |u: &str| viewer.name_of(&state, u);
    let named = |rows: &[TaskFigures], name: &dyn Fn(&str) -> String| {
        rows.iter().map(|r| context! { name => name(&r.key), time => r.time, overdue => r.overdue, share => format!("{:.0}%", r.overdue_share * 100.0) }).collect::<Vec<_>>()
    };
    let page = context! {
        active => "processes",
        process => context! { id, name => def.as_ref().map(|d| viewer.lang.pick(&d.name).to_string()) },
        from => report.from.to_string(),
        to => report.to.to_string(),
        months => report.months,
        chart => month_chart(&report, &viewer),
        outcomes => report.outcomes.iter().map(|(o, n)| context! { name => phrase(viewer.lang, &format!("status_{o}")), n }).collect::<Vec<_>>(),
        cycle => report.cycle,
        steps => named(&report.steps, &step),
        people => named(&report.people, &person),
        backlog_steps => report.backlog_steps.iter().map(|(s, n)| context! { name => step(s), n }).collect::<Vec<_>>(),
        backlog_people => report.backlog_people.iter().map(|(u, n)| context! { name => person(u), n }).collect::<Vec<_>>(),
    };
    viewer.page(&state, "report.html", page)
}

/// Started and finished requests per month, as bars.
fn month_chart(report: &Report, viewer: &Viewer) -> String {
    let max = report
        .months
        .iter()
        .map(|m| m.started.max(m.finished))
        .max()
        .unwrap_or(0)
        .max(1);
    let (bar, gap, height) = (18, 14, 120);
    let width = report.months.len().max(1) as i32 * (2 * bar + gap) + gap;
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {h}" width="{width}" role="img" aria-label="{t}"><title>{t}</title>"#,
        h = height + 34,
        t = phrase(viewer.lang, "report_months"),
    );
    for (i, m) in report.months.iter().enumerate() {
        let x = gap + i as i32 * (2 * bar + gap);
        for (j, (n, class)) in [(m.started, "started"), (m.finished, "finished")]
            .into_iter()
            .enumerate()
        {
            let h = (n * height as i64 / max) as i32;
            let _ = write!(
                out,
                r#"<rect class="{class}" x="{}" y="{}" width="{bar}" height="{h}"><title>{n}</title></rect><text x="{}" y="{}" text-anchor="middle">{n}</text>"#,
                x + j as i32 * bar,
                10 + height - h,
                x + j as i32 * bar + bar / 2,
                8 + height - h,
            );
        }
        let _ = write!(
            out,
            r#"<text class="month" x="{}" y="{}" text-anchor="middle">{}</text>"#,
            x + bar,
            height + 28,
            &m.month[..]
        );
    }
    out.push_str("</svg>");
    out
}

/// One table of the report as CSV (`?table=months|outcomes|steps|people|backlog`).
pub async fn report_csv(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(range): Query<Range>,
) -> Response {
    let report = match report_for(&state, &viewer, &id, &range).await {
        Ok(r) => r,
        Err(page) => return page,
    };
    let table = range.table.as_deref().unwrap_or("months");
    let Some(rows) = csv_rows(&report, table) else {
        return viewer.error(
            &state,
            StatusCode::NOT_FOUND,
            "no such table: months, outcomes, steps, people or backlog",
        );
    };
    let mut out = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    for row in rows {
        if out.write_record(&row).is_err() {
            return viewer.error(
                &state,
                StatusCode::INTERNAL_SERVER_ERROR,
                &phrase(viewer.lang, "internal_error"),
            );
        }
    }
    let body = out.into_inner().unwrap_or_default();
    let name = format!(
        "attachment; filename=\"{id}-{table}-{}-{}.csv\"",
        report.from, report.to
    );
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, name),
        ],
        body,
    )
        .into_response()
}

/// A table's lines, its header first (ids as stored: a spreadsheet joins on them).
fn csv_rows(r: &Report, table: &str) -> Option<Vec<Vec<String>>> {
    let figures = |key: &str, rows: &[TaskFigures]| {
        let mut out = vec![vec![
            key.to_string(),
            "tasks".into(),
            "p50_hours".into(),
            "p90_hours".into(),
            "overdue".into(),
            "overdue_share".into(),
        ]];
        out.extend(rows.iter().map(|t| {
            vec![
                t.key.clone(),
                t.time.count.to_string(),
                t.time.p50_hours.to_string(),
                t.time.p90_hours.to_string(),
                t.overdue.to_string(),
                t.overdue_share.to_string(),
            ]
        }));
        out
    };
    Some(match table {
        "months" => std::iter::once(vec!["month".into(), "started".into(), "finished".into()])
            .chain(r.months.iter().map(|m| {
                vec![
                    m.month.clone(),
                    m.started.to_string(),
                    m.finished.to_string(),
                ]
            }))
            .collect(),
        "outcomes" => std::iter::once(vec!["outcome".into(), "requests".into()])
            .chain(
                r.outcomes
                    .iter()
                    .map(|(o, n)| vec![o.clone(), n.to_string()]),
            )
            .collect(),
        "steps" => figures("step", &r.steps),
        "people" => figures("user", &r.people),
        "backlog" => std::iter::once(vec!["kind".into(), "key".into(), "open".into()])
            .chain(
                r.backlog_steps
                    .iter()
                    .map(|(s, n)| vec!["step".into(), s.clone(), n.to_string()]),
            )
            .chain(
                r.backlog_people
                    .iter()
                    .map(|(u, n)| vec!["user".into(), u.clone(), n.to_string()]),
            )
            .collect(),
        _ => return None,
    })
}
