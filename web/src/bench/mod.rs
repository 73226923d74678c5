//! `signoff bench`: the write path and the inbox measured at several numbers of open
//! requests, through the engine's API or (`--http`) the JSON API of one or more servers,
//! on SQLite or PostgreSQL. For each scale N, on a fresh database: N requests of the bench process
//! are started (wave 1), then every first-step task is approved (wave 2), then every
//! second-step task (wave 3), each wave by concurrent clients through the engine API.
//! Between the waves the inbox of an approver holding N open tasks is timed, and at the
//! end that of an approver holding 20 among the N finished requests. Each row gives
//! actions/s, p50/p99 latency, CPU per action and the peak resident memory.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use signoff_engine::runtime::{Engine, EngineOptions, TaskId};
use signoff_engine::store::Backend;
use tokio::sync::Mutex;

mod driver;

use driver::{Driver, Http};

/// The two-step approval the peers are measured on, used when no `--process` is given.
pub const TWO_STEP: &str = include_str!("../../bench/two_step.yaml");

/// The submitter of the measured requests, and the approvers of their two steps.
const SUBMITTER: &str = "li.na";
const FIRST_APPROVER: &str = "liu.qiang";
/// A submitter with another manager, whose 20 requests stay open among the finished.
const OTHER_SUBMITTER: &str = "zhang.wei";
const OTHER_APPROVER: &str = "chen.jing";
const OTHER_OPEN: usize = 20;
/// Requests of the other submitter driven to the end through the engine and then copied
/// in SQL, when the scale starts with finished requests.
const TEMPLATES: usize = 100;
/// Inbox reads timed per measurement.
const INBOX_READS: usize = 200;

/// One wave's measurements.
pub struct Wave {
    pub name: &'static str,
    pub actions: usize,
    pub elapsed: Duration,
    pub cpu: Duration,
    /// Sorted.
    pub latencies: Vec<Duration>,
}

impl Wave {
    fn per_second(&self) -> f64 {
        self.actions as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn cpu_us_per_action(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.actions.max(1) as f64
    }
}

/// An inbox timed: whose, holding how many open tasks, and the sorted read times.
pub struct Inbox {
    pub user: &'static str,
    pub open: usize,
    /// Finished requests in the database when it was timed.
    pub finished: usize,
    pub latencies: Vec<Duration>,
}

/// Everything measured at one scale.
pub struct Scale {
    pub open: usize,
    pub waves: Vec<Wave>,
    pub inboxes: Vec<Inbox>,
    pub peak_rss_mb: f64,
    /// The mail the waves queued, delivered after them: how many, and how long it took.
    pub mail: Option<(usize, Duration)>,
}

/// The process's user + system CPU time so far (Linux `/proc/self/stat`).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) are space-separated; utime
    // and stime are the 14th and 15th fields, in clock ticks (100 per second on Linux).
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<u64> = after
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let ticks = fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// The peak resident set size so far, in MB (`VmHWM`).
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn form(i: usize) -> serde_json::Value {
    json!({"amount": 100 + (i % 900), "purpose": format!("bench request {i}")})
}

/// The open task of `open` held by `user`, if any.
fn task_of(open: &[driver::Open], user: &str) -> Option<TaskId> {
    open.iter().find(|(_, who)| who == user).map(|(id, _)| *id)
}

/// Runs `work` on every item with `clients` concurrent clients; the wave's timing and
/// what `work` returned (the next step's tasks), in the order they came back.
async fn wave<T, R, F, Fut>(
    name: &'static str,
    items: Vec<T>,
    clients: usize,
    work: F,
) -> anyhow::Result<(Wave, Vec<R>)>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(T) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<Option<R>>> + Send,
{
    let actions = items.len();
    let queue = Arc::new(Mutex::new(items));
    let work = Arc::new(work);
    let cpu = cpu_time();
    let started = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..clients.max(1) {
        let (queue, work) = (Arc::clone(&queue), Arc::clone(&work));
        handles.push(tokio::spawn(async move {
            let (mut latencies, mut next) = (Vec::new(), Vec::new());
            loop {
                let Some(item) = queue.lock().await.pop() else {
                    break;
                };
                let timed = Instant::now();
                let task = work(item).await?;
                latencies.push(timed.elapsed());
                next.extend(task);
            }
            anyhow::Ok((latencies, next))
        }));
    }
    let (mut latencies, mut next) = (Vec::new(), Vec::new());
    for h in handles {
        let (l, n) = h.await??;
        latencies.extend(l);
        next.extend(n);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let wave = Wave {
        name,
        actions,
        elapsed,
        cpu: cpu_time().saturating_sub(cpu),
        latencies,
    };
    Ok((wave, next))
}

async fn time_inbox(
    engine: &Engine,
    driver: &Driver,
    user: &'static str,
    finished: usize,
) -> anyhow::Result<Inbox> {
    let open = engine
        .task_counts(user)
        .await?
        .iter()
        .map(|(_, n)| *n as usize)
        .sum();
    let mut latencies = Vec::with_capacity(INBOX_READS);
    for _ in 0..INBOX_READS {
        let timed = Instant::now();
        driver.inbox(user).await?;
        latencies.push(timed.elapsed());
    }
    latencies.sort();
    Ok(Inbox {
        user,
        open,
        finished,
        latencies,
    })
}

/// A folder with the directory and calendar of `processes` and the bench definition.
fn bench_processes(processes: &Path, definition: &str, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    for file in ["org.yaml", "calendar.yaml"] {
        std::fs::copy(processes.join(file), dir.join(file))?;
    }
    std::fs::write(dir.join("bench.yaml"), definition)?;
    Ok(())
}

/// A fresh, empty database for scale `n`: a file beside `db`, or a new database in the
/// PostgreSQL cluster `db` points into.
async fn fresh_database(db: &str, n: usize) -> anyhow::Result<String> {
    match Backend::of(db)? {
        Backend::Postgres => Ok(signoff_engine::store::recreate_postgres_database(
            db,
            &format!("signoff_bench_{n}"),
        )
        .await?),
        Backend::Sqlite => {
            let path = PathBuf::from(db.strip_prefix("sqlite://").unwrap_or(db))
                .with_extension(format!("{n}.db"));
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
            Ok(format!("sqlite://{}", path.display()))
        }
    }
}

/// Measures one scale on a fresh database.
async fn run_scale(
    plan: &Plan<'_>,
    folder: &Path,
    process: &str,
    open: usize,
) -> anyhow::Result<Scale> {
    let url = fresh_database(plan.db, open).await?;
    let options = || EngineOptions::new(url.as_str(), folder);
    let finished = match plan.finished {
        0 => 0,
        n => fill_finished(&url, folder, process, n).await?,
    };
    let engine = Engine::open(options()).await?;
    for i in 0..OTHER_OPEN {
        engine.start(process, OTHER_SUBMITTER, form(i)).await?;
    }
    let driver = match plan.http {
        Some(servers) => Driver::Http(Box::new(Http::start(&engine, servers, options).await?)),
        None => Driver::Engine(engine.clone()),
    };
    let driver = Arc::new(driver);
    let mut scale = drive(&engine, &driver, process, open, plan.clients, finished).await;
    if let Ok(driver) = Arc::try_unwrap(driver) {
        driver.stop().await;
    }
    if let (Ok(scale), Some(options)) = (&mut scale, plan.sender()?) {
        let started = Instant::now();
        let pass = engine.deliver_mail(&options).await?;
        anyhow::ensure!(
            pass.failed == 0 && pass.retrying == 0,
            "mail not delivered: {pass:?}"
        );
        scale.mail = Some((pass.sent, started.elapsed()));
    }
    engine.shutdown().await;
    scale
}

/// Fills the fresh database at `url` with `finished` finished requests of the other
/// submitter, approved by the other approver: a hundred driven to the end through the
/// engine, then copied in SQL with the engine closed. How many it holds then.
async fn fill_finished(
    url: &str,
    folder: &Path,
    process: &str,
    finished: usize,
) -> anyhow::Result<usize> {
    let engine = Engine::open(EngineOptions::new(url, folder)).await?;
    let driver = Driver::Engine(engine.clone());
    let templates = TEMPLATES.min(finished);
    for i in 0..templates {
        let mut open = driver.start(process, OTHER_SUBMITTER, form(i)).await?;
        let mut ended = false;
        while let Some((task, who)) = open.pop() {
            (open, ended) = driver.approve(task, &who).await?;
        }
        anyhow::ensure!(
            ended,
            "a request of the bench process did not end when approved"
        );
    }
    engine.shutdown().await;
    let copies = (finished / templates).saturating_sub(1);
    let started = Instant::now();
    let held = signoff_engine::store::copies::copy_finished_requests(url, copies as u64).await?;
    eprintln!(
        "bench: {held} finished requests in the database ({:.0} s to copy them)",
        started.elapsed().as_secs_f64()
    );
    Ok(usize::try_from(held)?)
}

async fn drive(
    engine: &Engine,
    driver: &Arc<Driver>,
    process: &str,
    open: usize,
    clients: usize,
    finished: usize,
) -> anyhow::Result<Scale> {
    let (d, p) = (Arc::clone(driver), process.to_string());
    let (start, first) = wave("start", (0..open).collect(), clients, move |i| {
        let (d, p) = (Arc::clone(&d), p.clone());
        async move {
            let open = d.start(&p, SUBMITTER, form(i)).await?;
            Ok(task_of(&open, FIRST_APPROVER))
        }
    })
    .await?;
    anyhow::ensure!(
        first.len() == open,
        "{} first tasks for {open} requests",
        first.len()
    );
    let mut inboxes = vec![
        time_inbox(engine, driver, FIRST_APPROVER, finished).await?,
        time_inbox(engine, driver, OTHER_APPROVER, finished).await?,
    ];
    let d = Arc::clone(driver);
    let (approve1, second) = wave("approve 1", first, clients, move |task| {
        let d = Arc::clone(&d);
        async move {
            let (open, _) = d.approve(task, FIRST_APPROVER).await?;
            Ok(open.into_iter().next())
        }
    })
    .await?;
    anyhow::ensure!(
        second.len() == open,
        "{} second tasks for {open} requests",
        second.len()
    );
    let d = Arc::clone(driver);
    let (approve2, _) = wave(
        "approve 2",
        second,
        clients,
        move |(task, who): driver::Open| {
            let d = Arc::clone(&d);
            async move {
                let (_, ended) = d.approve(task, &who).await?;
                anyhow::ensure!(ended, "the request of task {task} did not end");
                Ok(None::<()>)
            }
        },
    )
    .await?;
    inboxes.push(time_inbox(engine, driver, OTHER_APPROVER, finished + open).await?);
    Ok(Scale {
        open,
        waves: vec![start, approve1, approve2],
        inboxes,
        peak_rss_mb: peak_rss_mb(),
        mail: None,
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
fn mail_render_cost() -> anyhow::Result<Duration> {
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

/// The table of every scale, then one `BENCH` line per scale (the largest last).
fn report(scales: &[Scale], how: &str, render: Duration) -> String {
    let mut out = format!(
        "{how}; mail render {:.1} µs/message\n\n{:>8}  {:<10} {:>8} {:>10} {:>8} {:>8} {:>10}\n",
        render.as_secs_f64() * 1e6,
        "open",
        "wave",
        "actions",
        "actions/s",
        "p50 ms",
        "p99 ms",
        "CPU µs/act"
    );
    for s in scales {
        for w in &s.waves {
            out += &format!(
                "{:>8}  {:<10} {:>8} {:>10.1} {:>8.2} {:>8.2} {:>10.0}\n",
                s.open,
                w.name,
                w.actions,
                w.per_second(),
                percentile(&w.latencies, 0.5),
                percentile(&w.latencies, 0.99),
                w.cpu_us_per_action()
            );
        }
        for i in &s.inboxes {
            out += &format!(
                "{:>8}  inbox of {} ({} open, {} finished requests): p50 {:.2} ms, p99 {:.2} ms\n",
                s.open,
                i.user,
                i.open,
                i.finished,
                percentile(&i.latencies, 0.5),
                percentile(&i.latencies, 0.99)
            );
        }
        out += &format!(
            "{:>8}  peak resident memory {:.0} MB\n",
            s.open, s.peak_rss_mb
        );
        if let Some((sent, took)) = s.mail {
            out += &format!(
                "{:>8}  mail: {sent} delivered in {:.2} s, {:.0} mails/s\n",
                s.open,
                took.as_secs_f64(),
                sent as f64 / took.as_secs_f64().max(1e-9)
            );
        }
    }
    out.push('\n');
    for s in scales {
        out += &bench_line(s);
    }
    out
}

fn bench_line(s: &Scale) -> String {
    let actions: usize = s.waves.iter().map(|w| w.actions).sum();
    let elapsed: f64 = s.waves.iter().map(|w| w.elapsed.as_secs_f64()).sum();
    let cpu: f64 = s.waves.iter().map(|w| w.cpu.as_secs_f64()).sum();
    let mut all: Vec<Duration> = s.waves.iter().flat_map(|w| w.latencies.clone()).collect();
    all.sort();
    let inbox_p99 = s
        .inboxes
        .iter()
        .map(|i| percentile(&i.latencies, 0.99))
        .fold(0.0, f64::max);
    format!(
        "BENCH open={} requests_per_s={:.1} actions_per_s={:.1} p50_ms={:.2} p99_ms={:.2} cpu_us_per_action={:.0} inbox_p99_ms={:.2} peak_rss_mb={:.0}\n",
        s.open,
        s.open as f64 / elapsed.max(1e-9),
        actions as f64 / elapsed.max(1e-9),
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        cpu * 1e6 / actions.max(1) as f64,
        inbox_p99,
        s.peak_rss_mb
    )
}

/// What `signoff bench` was asked to measure.
pub struct Plan<'a> {
    /// The database: a file (each scale gets its own beside it) or a PostgreSQL URL
    /// (each scale gets a database `signoff_bench_N` in that cluster).
    pub db: &'a str,
    pub open: &'a [usize],
    pub clients: usize,
    /// The definition to drive; the shipped two-step approval when `None`.
    pub process: Option<&'a Path>,
    /// Where the directory and calendar come from.
    pub processes: &'a Path,
    /// Deliver the queued mail to this SMTP server and time it.
    pub smtp: Option<&'a str>,
    /// Drive the JSON API of this many servers on the database instead of the engine.
    pub http: Option<usize>,
    /// Finished requests each scale's database holds before its waves start.
    pub finished: usize,
}

impl Plan<'_> {
    fn sender(&self) -> anyhow::Result<Option<signoff_engine::notify::SenderOptions>> {
        self.smtp
            .map(|url| {
                Ok(signoff_engine::notify::SenderOptions::new(
                    signoff_engine::notify::Transport::parse(url)?,
                    signoff_engine::notify::outbox::DEFAULT_FROM.parse()?,
                ))
            })
            .transpose()
    }

    /// The run's conditions, for the report's first line.
    fn describe(&self) -> anyhow::Result<String> {
        let through = match self.http {
            Some(1) => "the JSON API of one server".to_string(),
            Some(n) => format!("the JSON API of {n} servers"),
            None => "the engine API".to_string(),
        };
        Ok(format!(
            "{} clients through {through} on {}",
            self.clients,
            Backend::of(self.db)?.name()
        ))
    }
}

/// Measures every scale of `plan`; the report.
pub async fn run(plan: &Plan<'_>) -> anyhow::Result<String> {
    use anyhow::Context;
    let definition = match plan.process {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?,
        None => TWO_STEP.to_string(),
    };
    let id = signoff_engine::loader::SourceFile::from_bytes(
        Path::new("bench.yaml"),
        definition.clone().into_bytes(),
    )
    .ok()
    .and_then(|s| s.parse::<signoff_engine::model::ProcessDef>().ok())
    .map(|d| d.id.value)
    .context("the bench process does not parse; run `signoff check` on it")?;
    let folder =
        std::env::temp_dir().join(format!("signoff-bench-{}.processes", std::process::id()));
    bench_processes(plan.processes, &definition, &folder)?;
    let mut scales = Vec::new();
    for &n in plan.open {
        scales.push(run_scale(plan, &folder, &id, n).await?);
    }
    let _ = std::fs::remove_dir_all(&folder);
    Ok(report(&scales, &plan.describe()?, mail_render_cost()?))
}
