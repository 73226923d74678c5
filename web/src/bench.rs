//! `signoff bench`: reimbursements started and driven to the end by concurrent clients
//! through the engine API, on a file database, with latency percentiles.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use signoff_engine::runtime::{ActionKind, ActionRequest, Engine, InstanceId, TaskStatus};

pub struct BenchResult {
    pub requests: usize,
    pub actions: usize,
    pub elapsed: Duration,
    pub latencies: Vec<Duration>,
}

async fn task_of(
    engine: &Engine,
    id: InstanceId,
    user: &str,
) -> anyhow::Result<signoff_engine::runtime::TaskId> {
    let view = engine.instance(id).await?;
    view.tasks
        .iter()
        .find(|t| t.assignee == user && t.status == TaskStatus::Open)
        .map(|t| t.id)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "{user} has no task on request {id} (at {:?})",
                view.current_steps
            )
        })
}

async fn one_request(engine: &Engine, latencies: &mut Vec<Duration>) -> anyhow::Result<usize> {
    let form = json!({
        "region": "east", "purpose": "bench trip", "start_date": "2026-09-20", "end_date": "2026-09-21",
        "lines": [{"category": "transport", "date": "2026-09-20", "amount": 120.5}], "receipts": 1
    });
    let mut timed = Instant::now();
    let id = engine.start("reimbursement", "li.na", form).await?.id;
    latencies.push(timed.elapsed());
    let steps = [
        ("liu.qiang", ActionKind::Approve),
        ("song.yi", ActionKind::Approve),
        ("feng.yu", ActionKind::Claim),
        ("feng.yu", ActionKind::Complete),
    ];
    for (user, action) in steps {
        let task = task_of(engine, id, user).await?;
        timed = Instant::now();
        engine.act(task, user, ActionRequest::new(action)).await?;
        latencies.push(timed.elapsed());
    }
    let done = engine.instance(id).await?;
    anyhow::ensure!(
        done.outcome.as_deref() == Some("approved"),
        "request {id} ended {:?}",
        done.outcome
    );
    Ok(1 + steps.len())
}

pub async fn run(engine: Engine, requests: usize, clients: usize) -> anyhow::Result<BenchResult> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..clients.max(1) {
        let engine = engine.clone();
        let next = Arc::clone(&next);
        handles.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut actions = 0;
            while next.fetch_add(1, Ordering::SeqCst) < requests {
                actions += one_request(&engine, &mut latencies).await?;
            }
            anyhow::Ok((actions, latencies))
        }));
    }
    let mut actions = 0;
    let mut latencies = Vec::new();
    for h in handles {
        let (a, l) = h.await??;
        actions += a;
        latencies.extend(l);
    }
    latencies.sort();
    Ok(BenchResult {
        requests,
        actions,
        elapsed: started.elapsed(),
        latencies,
    })
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

/// What rendering one mail (event template, text and HTML layouts) costs, measured over
/// 2,000 renders of the assignment mail with eight facts.
pub fn mail_render_cost() -> anyhow::Result<Duration> {
    use signoff_engine::notify::{MailContext, Templates};
    let templates = Templates::built_in();
    let ctx = MailContext {
        lang: "zh".into(),
        recipient_name: "李娜".into(),
        process_name: "费用报销".into(),
        request_id: 7,
        facts: (0..8)
            .map(|i| signoff_engine::display::Fact {
                label: format!("字段{i}"),
                value: format!("值 {i}"),
            })
            .collect(),
        ..MailContext::default()
    };
    const RENDERS: u32 = 2000;
    let start = Instant::now();
    for _ in 0..RENDERS {
        templates.render("task_assigned", &ctx)?;
    }
    Ok(start.elapsed() / RENDERS)
}

pub fn report(r: &BenchResult, clients: usize, db: &str, render: Duration) -> String {
    let secs = r.elapsed.as_secs_f64().max(1e-9);
    let (p50, p90, p99, max) = (
        percentile(&r.latencies, 0.50),
        percentile(&r.latencies, 0.90),
        percentile(&r.latencies, 0.99),
        percentile(&r.latencies, 1.0),
    );
    let render_us = render.as_secs_f64() * 1e6;
    format!(
        "database        {db}\nclients         {clients}\nrequests        {}\nwrite actions   {} (start + approve + approve + claim + complete)\nelapsed         {:.2} s\nrequests/s      {:.1}\nactions/s       {:.1}\nlatency p50     {p50:.2} ms\nlatency p90     {p90:.2} ms\nlatency p99     {p99:.2} ms\nlatency max     {max:.2} ms\nmail render     {render_us:.1} µs/message\nBENCH requests_per_s={:.1} actions_per_s={:.1} p50_ms={p50:.2} p99_ms={p99:.2} mail_render_us={render_us:.1}\n",
        r.requests,
        r.actions,
        secs,
        r.requests as f64 / secs,
        r.actions as f64 / secs,
        r.requests as f64 / secs,
        r.actions as f64 / secs,
    )
}
