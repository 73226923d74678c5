//! Searching and sorting a person's tasks: what the inbox's search box and sort choice
//! (and the API's `q` and `sort`) ask for, turned into the store's
//! [`TaskFilter`](crate::store::inbox::TaskFilter). The text is looked for in the
//! request's form (its values as typed), its number, and the names of its submitter,
//! process and step (matched against the directory and the definitions in memory, so
//! the SQL stays an `IN` list).

use super::{Engine, EngineError, TaskQuery, TaskView};
use crate::store::inbox::{self, Page, TaskFilter, TextMatch};
pub use crate::store::inbox::{TaskCursor, TaskSort};

/// The longest search text taken (a bound on what one search may cost).
pub const MAX_SEARCH_CHARS: usize = 100;

impl TaskSort {
    /// Where the page after `task` starts, in this order.
    pub fn cursor(self, task: &TaskView) -> TaskCursor {
        self.cursor_of(
            task.due_at.as_deref(),
            &task.created_at,
            &task.submitted_at,
            task.amount,
            task.id.0,
        )
    }
}

impl Engine {
    /// A user's tasks (as assignee or delegate), a page at a time (after
    /// `query.after`), in the query's order.
    pub async fn tasks(&self, query: &TaskQuery) -> Result<Vec<TaskView>, EngineError> {
        let page = Page {
            sort: query.sort,
            after: query.after.as_ref(),
            limit: query.limit.unwrap_or(100).clamp(1, 1000),
        };
        let lines = inbox::page(&self.core.pool, &self.filter_of(query), &page).await?;
        Ok(lines.into_iter().map(|l| self.task_view(l)).collect())
    }

    /// How many tasks `query` finds (its process, status and search; not its page).
    pub async fn count_tasks(&self, query: &TaskQuery) -> Result<i64, EngineError> {
        Ok(inbox::count(&self.core.pool, &self.filter_of(query)).await?)
    }

    /// The store's filter for `query`.
    fn filter_of(&self, query: &TaskQuery) -> TaskFilter {
        TaskFilter {
            user: query.user.clone(),
            closed_too: query.include_closed,
            process: query.process.clone(),
            submitted_from: query.submitted_from.map(|day| self.day_starts(day)),
            submitted_before: query
                .submitted_to
                .and_then(|d| d.succ_opt())
                .map(|day| self.day_starts(day)),
            text: query.search.as_deref().and_then(|t| self.text_match(t)),
        }
    }

    /// What a search for `text` matches; none for a blank text.
    fn text_match(&self, text: &str) -> Option<TextMatch> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        let text: String = text
            .chars()
            .take(MAX_SEARCH_CHARS)
            .collect::<String>()
            .to_lowercase();
        let escaped = text
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let (users, processes, steps) = self.names_matching(&text);
        Some(TextMatch {
            like: format!("%{escaped}%"),
            id: text.trim_start_matches('#').parse::<i64>().ok(),
            users,
            processes,
            steps,
        })
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
