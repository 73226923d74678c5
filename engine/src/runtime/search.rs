//! Searching and sorting a person's tasks: the filter the inbox's search box and sort
//! choice (and the API's `q` and `sort`) turn into SQL. The text is looked for in the
//! request's form (its values as typed), its number, and the names of its submitter,
//! process and step (matched against the directory and the definitions in memory, so
//! the SQL stays an `IN` list). Pages are keyset pages: each starts after a
//! [`TaskCursor`] (the last row's sort key and id), so a page costs the same wherever it
//! is in the list.

use serde::{Deserialize, Serialize};

use super::{Engine, EngineError, TaskQuery, TaskView};
use crate::store::Sql;

/// The longest search text taken (a bound on what one search may cost).
pub const MAX_SEARCH_CHARS: usize = 100;

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
}

impl TaskSort {
    /// Where the page after `task` starts, in this order.
    pub fn cursor(self, task: &TaskView) -> TaskCursor {
        let key = match self {
            TaskSort::Due => task.due_at.clone().unwrap_or_else(|| NO_DUE.into()),
            TaskSort::Waiting => task.created_at.clone(),
            TaskSort::Submitted => task.submitted_at.clone(),
            TaskSort::Amount => task.amount.unwrap_or(NO_AMOUNT).to_string(),
        };
        TaskCursor { key, id: task.id.0 }
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

impl Engine {
    /// A page of `query`'s tasks in due order: chosen on the tasks alone, each side of
    /// the OR (assignee, delegate) through its own index in due order (`tasks_inbox`),
    /// so it costs the page, not the inbox; only the page's rows are joined with their
    /// requests.
    pub(super) async fn due_page(&self, query: &TaskQuery) -> Result<Vec<TaskView>, EngineError> {
        let limit = query.limit.unwrap_or(100).clamp(1, 1000);
        let mut sql = Sql::new(&Self::task_select("JOIN (SELECT id FROM ("));
        for (n, side) in ["assignee", "delegate"].into_iter().enumerate() {
            if n > 0 {
                sql.push(" UNION ");
            }
            sql.push("SELECT * FROM (SELECT id, COALESCE(due_at, '9999') AS due FROM tasks WHERE ")
                .push(side)
                .push(" = ")
                .push_bind(query.user.clone())
                .push(" AND status IN ")
                .push(statuses(query));
            if let Some(process) = &query.process {
                sql.push(" AND instance_id IN (SELECT id FROM instances WHERE process_id = ")
                    .push_bind(process.clone())
                    .push(")");
            }
            if let Some(after) = &query.after {
                push_after(
                    &mut sql,
                    TaskSort::Due,
                    after,
                    ["due_at", "created_at", "id"],
                );
            }
            sql.push(" ORDER BY due, id LIMIT ")
                .push_bind(limit)
                .push(") side");
            sql.push(&n.to_string());
        }
        sql.push(") both_sides ORDER BY due, id LIMIT ")
            .push_bind(limit)
            .push(") page ON page.id = t.id ORDER BY COALESCE(t.due_at, '9999'), t.id");
        let rows = sql.query().fetch_all(&self.core.pool).await?;
        Ok(rows.into_iter().map(|r| self.task_view(r)).collect())
    }

    /// `query`'s tasks when it searches or sorts other than by due date.
    pub(super) async fn search_tasks(
        &self,
        query: &TaskQuery,
    ) -> Result<Vec<TaskView>, EngineError> {
        let mut sql = Sql::new(&Self::task_select(""));
        self.push_filter(&mut sql, query);
        if let Some(after) = &query.after {
            push_after(
                &mut sql,
                query.sort,
                after,
                ["t.due_at", "t.created_at", "t.id"],
            );
        }
        sql.push(match query.sort {
            TaskSort::Due => " ORDER BY COALESCE(t.due_at, '9999'), t.id",
            TaskSort::Waiting => " ORDER BY t.created_at, t.id",
            TaskSort::Submitted => " ORDER BY i.created_at DESC, t.id DESC",
            TaskSort::Amount => " ORDER BY COALESCE(i.amount, -1.0) DESC, t.id DESC",
        });
        sql.push(" LIMIT ")
            .push_bind(query.limit.unwrap_or(100).clamp(1, 1000));
        let rows = sql.query().fetch_all(&self.core.pool).await?;
        Ok(rows.into_iter().map(|r| self.task_view(r)).collect())
    }

    /// How many tasks `query` finds (its process, status and search; not its page).
    pub async fn count_tasks(&self, query: &TaskQuery) -> Result<i64, EngineError> {
        let mut sql =
            Sql::new("SELECT COUNT(*) FROM tasks t JOIN instances i ON i.id = t.instance_id");
        self.push_filter(&mut sql, query);
        Ok(sql.query_scalar().fetch_one(&self.core.pool).await?)
    }

    /// ` WHERE ...`: the user's tasks (as assignee or delegate), of the process and
    /// matching the search when given.
    fn push_filter(&self, sql: &mut Sql<'_>, query: &TaskQuery) {
        let statuses = statuses(query);
        sql.push(" WHERE t.id IN (SELECT id FROM tasks WHERE assignee = ")
            .push_bind(query.user.clone())
            .push(" AND status IN ")
            .push(statuses)
            .push(" UNION SELECT id FROM tasks WHERE delegate = ")
            .push_bind(query.user.clone())
            .push(" AND status IN ")
            .push(statuses)
            .push(")");
        if let Some(day) = query.submitted_from {
            sql.push(" AND i.created_at >= ")
                .push_bind(self.day_starts(day));
        }
        if let Some(day) = query.submitted_to.and_then(|d| d.succ_opt()) {
            sql.push(" AND i.created_at < ")
                .push_bind(self.day_starts(day));
        }
        if let Some(process) = &query.process {
            sql.push(" AND i.process_id = ").push_bind(process.clone());
        }
        let Some(text) = query
            .search
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        else {
            return;
        };
        let text: String = text
            .chars()
            .take(MAX_SEARCH_CHARS)
            .collect::<String>()
            .to_lowercase();
        let escaped = text
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        sql.push(" AND (LOWER(i.form) LIKE ")
            .push_bind(format!("%{escaped}%"))
            .push(" ESCAPE '\\'");
        if let Ok(id) = text.trim_start_matches('#').parse::<i64>() {
            sql.push(" OR i.id = ").push_bind(id);
        }
        let (users, processes, steps) = self.names_matching(&text);
        for (column, ids) in [
            ("i.submitter", users),
            ("i.process_id", processes),
            ("t.step_id", steps),
        ] {
            if !ids.is_empty() {
                sql.push(" OR ").push(column).push(" IN ").push_list(ids);
            }
        }
        sql.push(")");
    }

    /// When `day` begins in the calendar's time zone, as stored.
    fn day_starts(&self, day: chrono::NaiveDate) -> String {
        crate::clock::to_db(super::calendar_of(self).day_start(day))
    }

    /// The users, processes and steps whose id or name (in either language) contains
    /// `text` (lower case).
    fn names_matching(&self, text: &str) -> (Vec<String>, Vec<String>, Vec<String>) {
        let has = |s: &str| s.to_lowercase().contains(text);
        let users = self
            .directory()
            .users
            .iter()
            .filter(|u| has(&u.id.value) || has(&u.name))
            .map(|u| u.id.value.clone())
            .collect();
        let mut processes = Vec::new();
        let mut steps = Vec::new();
        for (_, def) in self.core.registry.processes() {
            if has(&def.id.value) || has(&def.name.zh) || has(&def.name.en) {
                processes.push(def.id.value.clone());
            }
            for step in def.all_steps() {
                let named = step.name.as_ref().is_some_and(|n| has(&n.zh) || has(&n.en));
                if (named || has(&step.id.value)) && !steps.contains(&step.id.value) {
                    steps.push(step.id.value.clone());
                }
            }
        }
        (users, processes, steps)
    }
}

/// The task statuses `query` lists.
fn statuses(query: &TaskQuery) -> &'static str {
    if query.include_closed {
        "('open', 'done', 'cancelled', 'skipped')"
    } else {
        "('open')"
    }
}
