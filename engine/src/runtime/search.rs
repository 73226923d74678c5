//! Searching and sorting a person's tasks: the filter the inbox's search box and sort
//! choice (and the API's `q` and `sort`) turn into SQL. The text is looked for in the
//! request's form (its values as typed), its number, and the names of its submitter,
//! process and step (matched against the directory and the definitions in memory, so
//! the SQL stays an `IN` list).

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
}

impl TaskSort {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskSort::Due => "due",
            TaskSort::Waiting => "waiting",
            TaskSort::Submitted => "submitted",
        }
    }

    /// The order named `name`; the default (due) for anything else.
    pub fn parse(name: &str) -> TaskSort {
        [TaskSort::Waiting, TaskSort::Submitted]
            .into_iter()
            .find(|s| s.as_str() == name)
            .unwrap_or_default()
    }
}

impl Engine {
    /// `query`'s tasks when it searches or sorts other than by due date.
    pub(super) async fn search_tasks(
        &self,
        query: &TaskQuery,
    ) -> Result<Vec<TaskView>, EngineError> {
        let mut sql = Sql::new(&Self::task_select(""));
        self.push_filter(&mut sql, query);
        sql.push(match query.sort {
            TaskSort::Due => " ORDER BY COALESCE(t.due_at, '9999'), t.id",
            TaskSort::Waiting => " ORDER BY t.created_at, t.id",
            TaskSort::Submitted => " ORDER BY i.created_at DESC, t.id DESC",
        });
        sql.push(" LIMIT ")
            .push_bind(query.limit.unwrap_or(100).clamp(1, 1000))
            .push(" OFFSET ")
            .push_bind(query.offset.unwrap_or(0).clamp(0, 1_000_000));
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
        let statuses = if query.include_closed {
            "('open', 'done', 'cancelled', 'skipped')"
        } else {
            "('open')"
        };
        sql.push(" WHERE t.id IN (SELECT id FROM tasks WHERE assignee = ")
            .push_bind(query.user.clone())
            .push(" AND status IN ")
            .push(statuses)
            .push(" UNION SELECT id FROM tasks WHERE delegate = ")
            .push_bind(query.user.clone())
            .push(" AND status IN ")
            .push(statuses)
            .push(")");
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
