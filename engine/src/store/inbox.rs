//! The task lists of the inbox and the API: a person's open tasks in due order a page at
//! a time, searched and sorted lists and their counts, "done by me" (已办), the counts per
//! process, and single task lines. Every list is a keyset page: it starts after a
//! [`TaskCursor`] (the last row's sort key and id), so a page costs the same wherever it
//! is in the list. Rows are [`TaskLine`]s, a task joined with its request, read by name.

use serde::{Deserialize, Serialize};

use super::status::{Decision, TaskKind, TaskStatus};
use super::{Pool, Sql};

/// How a list of tasks is ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskSort {
    /// Soonest due first (no deadline last).
    #[default]
    Due,
    /// Waiting longest first.
    Waiting,
    /// The newest requests first.
    Submitted,
    /// The largest amount first (requests without one last).
    Amount,
}

impl TaskSort {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskSort::Due => "due",
            TaskSort::Waiting => "waiting",
            TaskSort::Submitted => "submitted",
            TaskSort::Amount => "amount",
        }
    }

    /// The order named `name`; the default (due) for anything else.
    pub fn parse(name: &str) -> TaskSort {
        [TaskSort::Waiting, TaskSort::Submitted, TaskSort::Amount]
            .into_iter()
            .find(|s| s.as_str() == name)
            .unwrap_or_default()
    }

    /// Where the page after `line` starts, in this order.
    pub fn cursor_of(
        self,
        due_at: Option<&str>,
        created_at: &str,
        submitted_at: &str,
        amount: Option<f64>,
        id: i64,
    ) -> TaskCursor {
        let key = match self {
            TaskSort::Due => due_at.unwrap_or(NO_DUE).to_string(),
            TaskSort::Waiting => created_at.to_string(),
            TaskSort::Submitted => submitted_at.to_string(),
            TaskSort::Amount => amount.unwrap_or(NO_AMOUNT).to_string(),
        };
        TaskCursor { key, id }
    }
}

/// The due date a task without one sorts by: after every real one.
const NO_DUE: &str = "9999";

/// The amount a request without one sorts by: after every real one.
const NO_AMOUNT: f64 = -1.0;

/// Where a page of tasks starts: after the task with this sort key (a stored time) and
/// id. Written `KEY~ID` in links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskCursor {
    key: String,
    id: i64,
}

impl TaskCursor {
    /// The cursor written as `text`; none for anything else (a stored time has at most
    /// 40 characters of digits, letters and `-:.+ `).
    pub fn parse(text: &str) -> Option<TaskCursor> {
        let (key, id) = text.rsplit_once('~')?;
        let plain = |c: char| c.is_ascii_alphanumeric() || "-:.+ ".contains(c);
        if key.is_empty() || key.len() > 40 || !key.chars().all(plain) {
            return None;
        }
        Some(TaskCursor {
            key: key.to_string(),
            id: id.parse().ok()?,
        })
    }
}

impl std::fmt::Display for TaskCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}~{}", self.key, self.id)
    }
}

/// A task joined with its request: one line of a list.
#[derive(Debug, sqlx::FromRow)]
pub struct TaskLine {
    pub id: i64,
    pub instance_id: i64,
    pub process_id: String,
    pub version: i64,
    pub step_id: String,
    pub kind: TaskKind,
    pub assignee: String,
    pub delegate: Option<String>,
    pub pool: i64,
    pub status: TaskStatus,
    pub submitter: String,
    pub created_at: String,
    pub due_at: Option<String>,
    pub form: String,
    pub submitted_at: String,
    pub amount: Option<f64>,
}

/// The columns of a [`TaskLine`], from `tasks t` joined with its request, then `rest`.
fn line_select(rest: &str) -> String {
    format!(
        "SELECT t.id, t.instance_id, i.process_id, i.version, t.step_id, t.kind, t.assignee, t.delegate, t.pool, t.status, \
         i.submitter, t.created_at, t.due_at, i.form, i.created_at AS submitted_at, i.amount \
         FROM tasks t JOIN instances i ON i.id = t.instance_id {rest}"
    )
}

/// Task `id`'s line, open or not.
pub async fn line(pool: &Pool, id: i64) -> Result<Option<TaskLine>, sqlx::Error> {
    sqlx::query_as(&line_select("WHERE t.id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// The lines of request `instance`'s unfinished tasks, oldest first.
pub async fn unfinished_of(pool: &Pool, instance: i64) -> Result<Vec<TaskLine>, sqlx::Error> {
    sqlx::query_as(&line_select(
        "WHERE t.instance_id = $1 AND t.status IN ('open', 'waiting', 'held') ORDER BY t.id",
    ))
    .bind(instance)
    .fetch_all(pool)
    .await
}

/// The lines of tasks `ids`, in no order.
pub async fn lines(pool: &Pool, ids: &[i64]) -> Result<Vec<TaskLine>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(&line_select("WHERE t.id IN "));
    sql.push_list(ids.iter().copied());
    sql.query_as().fetch_all(pool).await
}

/// Which of a person's tasks a list holds.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    /// The person: their tasks as assignee or delegate.
    pub user: String,
    /// Decided, cancelled and skipped tasks too, not only open ones.
    pub closed_too: bool,
    pub process: Option<String>,
    /// Requests submitted at or after this stored time.
    pub submitted_from: Option<String>,
    /// Requests submitted before this stored time.
    pub submitted_before: Option<String>,
    pub text: Option<TextMatch>,
}

/// What a search text matches: the form (a `LIKE` pattern, lower case, escaped with
/// `\`), the request's number, and the ids of the users, processes and steps whose names
/// hold it.
#[derive(Debug, Clone, Default)]
pub struct TextMatch {
    pub like: String,
    pub id: Option<i64>,
    pub users: Vec<String>,
    pub processes: Vec<String>,
    pub steps: Vec<String>,
}

/// One page of a list: its order, where it starts, how many rows.
#[derive(Debug, Clone)]
pub struct Page<'a> {
    pub sort: TaskSort,
    pub after: Option<&'a TaskCursor>,
    pub limit: i64,
}

impl TaskFilter {
    /// Whether it lists all of the person's tasks (or all of one process), not some.
    fn narrowed(&self) -> bool {
        self.text.is_some() || self.submitted_from.is_some() || self.submitted_before.is_some()
    }

    /// The task statuses it lists.
    fn statuses(&self) -> &'static str {
        if self.closed_too {
            "('open', 'done', 'cancelled', 'skipped')"
        } else {
            "('open')"
        }
    }
}

/// A page of `filter`'s tasks.
pub async fn page(
    pool: &Pool,
    filter: &TaskFilter,
    page: &Page<'_>,
) -> Result<Vec<TaskLine>, sqlx::Error> {
    if filter.narrowed() || page.sort != TaskSort::Due {
        return searched(pool, filter, page).await;
    }
    due_page(pool, filter, page).await
}

/// A page in due order: chosen on the tasks alone, each side of the OR (assignee,
/// delegate) through its own index in due order (`tasks_inbox`), so it costs the page,
/// not the inbox; only the page's rows are joined with their requests.
async fn due_page(
    pool: &Pool,
    filter: &TaskFilter,
    page: &Page<'_>,
) -> Result<Vec<TaskLine>, sqlx::Error> {
    let mut sql = Sql::new(&line_select("JOIN (SELECT id FROM ("));
    for (n, side) in ["assignee", "delegate"].into_iter().enumerate() {
        if n > 0 {
            sql.push(" UNION ");
        }
        sql.push("SELECT * FROM (SELECT id, COALESCE(due_at, '9999') AS due FROM tasks WHERE ")
            .push(side)
            .push(" = ")
            .push_bind(filter.user.clone())
            .push(" AND status IN ")
            .push(filter.statuses());
        if let Some(process) = &filter.process {
            sql.push(" AND instance_id IN (SELECT id FROM instances WHERE process_id = ")
                .push_bind(process.clone())
                .push(")");
        }
        if let Some(after) = page.after {
            push_after(
                &mut sql,
                TaskSort::Due,
                after,
                ["due_at", "created_at", "id"],
            );
        }
        sql.push(" ORDER BY due, id LIMIT ")
            .push_bind(page.limit)
            .push(") side");
        sql.push(&n.to_string());
    }
    sql.push(") both_sides ORDER BY due, id LIMIT ")
        .push_bind(page.limit)
        .push(") page ON page.id = t.id ORDER BY COALESCE(t.due_at, '9999'), t.id");
    sql.query_as().fetch_all(pool).await
}

/// A page of a list that searches, or sorts other than by due date.
async fn searched(
    pool: &Pool,
    filter: &TaskFilter,
    page: &Page<'_>,
) -> Result<Vec<TaskLine>, sqlx::Error> {
    let mut sql = Sql::new(&line_select(""));
    push_filter(&mut sql, filter);
    if let Some(after) = page.after {
        push_after(
            &mut sql,
            page.sort,
            after,
            ["t.due_at", "t.created_at", "t.id"],
        );
    }
    sql.push(match page.sort {
        TaskSort::Due => " ORDER BY COALESCE(t.due_at, '9999'), t.id",
        TaskSort::Waiting => " ORDER BY t.created_at, t.id",
        TaskSort::Submitted => " ORDER BY i.created_at DESC, t.id DESC",
        TaskSort::Amount => " ORDER BY COALESCE(i.amount, -1.0) DESC, t.id DESC",
    });
    sql.push(" LIMIT ").push_bind(page.limit);
    sql.query_as().fetch_all(pool).await
}

/// How many tasks `filter` finds, on every page together.
pub async fn count(pool: &Pool, filter: &TaskFilter) -> Result<i64, sqlx::Error> {
    let mut sql = Sql::new("SELECT COUNT(*) FROM tasks t JOIN instances i ON i.id = t.instance_id");
    push_filter(&mut sql, filter);
    sql.query_scalar().fetch_one(pool).await
}

/// ` WHERE ...`: the person's tasks (as assignee or delegate), of the process, in the
/// date range and matching the text when given.
fn push_filter(sql: &mut Sql<'_>, filter: &TaskFilter) {
    let statuses = filter.statuses();
    sql.push(" WHERE t.id IN (SELECT id FROM tasks WHERE assignee = ")
        .push_bind(filter.user.clone())
        .push(" AND status IN ")
        .push(statuses)
        .push(" UNION SELECT id FROM tasks WHERE delegate = ")
        .push_bind(filter.user.clone())
        .push(" AND status IN ")
        .push(statuses)
        .push(")");
    if let Some(from) = &filter.submitted_from {
        sql.push(" AND i.created_at >= ").push_bind(from.clone());
    }
    if let Some(before) = &filter.submitted_before {
        sql.push(" AND i.created_at < ").push_bind(before.clone());
    }
    if let Some(process) = &filter.process {
        sql.push(" AND i.process_id = ").push_bind(process.clone());
    }
    let Some(text) = &filter.text else {
        return;
    };
    sql.push(" AND (LOWER(i.form) LIKE ")
        .push_bind(text.like.clone())
        .push(" ESCAPE '\\'");
    if let Some(id) = text.id {
        sql.push(" OR i.id = ").push_bind(id);
    }
    for (column, ids) in [
        ("i.submitter", &text.users),
        ("i.process_id", &text.processes),
        ("t.step_id", &text.steps),
    ] {
        if !ids.is_empty() {
            sql.push(" OR ")
                .push(column)
                .push(" IN ")
                .push_list(ids.iter().cloned());
        }
    }
    sql.push(")");
}

/// ` AND (...)`: the rows after `after` in `sort`'s order; `due`, `created` and `id` name
/// the columns (with or without the table's alias).
fn push_after(
    sql: &mut Sql<'_>,
    sort: TaskSort,
    after: &TaskCursor,
    [due, created, id]: [&str; 3],
) {
    let (key, op) = match sort {
        TaskSort::Due => (format!("COALESCE({due}, '{NO_DUE}')"), ">"),
        TaskSort::Waiting => (created.to_string(), ">"),
        TaskSort::Submitted => ("i.created_at".to_string(), "<"),
        TaskSort::Amount => (format!("COALESCE(i.amount, {NO_AMOUNT:.1})"), "<"),
    };
    let bind = |sql: &mut Sql<'_>| match sort {
        // A number compares as a number, not as text.
        TaskSort::Amount => {
            sql.push_bind(after.key.parse::<f64>().unwrap_or(NO_AMOUNT));
        }
        _ => {
            sql.push_bind(after.key.clone());
        }
    };
    sql.push(" AND (").push(&key).push(" ").push(op).push(" ");
    bind(sql);
    sql.push(" OR (").push(&key).push(" = ");
    bind(sql);
    sql.push(" AND ")
        .push(id)
        .push(" ")
        .push(op)
        .push(" ")
        .push_bind(after.id)
        .push("))");
}

/// A task a person decided: its id, the decision and when.
#[derive(Debug, sqlx::FromRow)]
pub struct DoneRow {
    pub id: i64,
    pub decision: Option<Decision>,
    pub acted_at: Option<String>,
}

/// The tasks `user` decided, newest first, below task `before` when given.
pub async fn done_page(
    pool: &Pool,
    user: &str,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<DoneRow>, sqlx::Error> {
    let mut page = Sql::new("SELECT id, decision, acted_at FROM tasks WHERE acted_by = ");
    page.push_bind(user.to_string())
        .push(" AND status = 'done'");
    if let Some(before) = before {
        page.push(" AND id < ").push_bind(before);
    }
    page.push(" ORDER BY id DESC LIMIT ").push_bind(limit);
    page.query_as().fetch_all(pool).await
}

/// How many tasks `user` decided.
pub async fn count_done(pool: &Pool, user: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM tasks WHERE acted_by = $1 AND status = 'done'")
        .bind(user)
        .fetch_one(pool)
        .await
}

/// How many open tasks `user` holds (as assignee or delegate), per process.
pub async fn counts_per_process(
    pool: &Pool,
    user: &str,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT i.process_id, COUNT(*) FROM tasks t JOIN instances i ON i.id = t.instance_id \
         WHERE t.id IN (SELECT id FROM tasks WHERE assignee = $1 AND status = 'open' \
                        UNION SELECT id FROM tasks WHERE delegate = $1 AND status = 'open') \
         GROUP BY i.process_id ORDER BY i.process_id",
    )
    .bind(user)
    .fetch_all(pool)
    .await
}
