//! A process's figures for its owners: requests started and finished per month, how they
//! ended, how long they took (p50 and p90, overall and per step), the share of tasks
//! decided after their deadline per step and per person, and the backlog now by step and
//! by person. Requests are read by the day they started or ended (indexed), tasks only
//! through their requests, so a report costs the range it covers.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;
use sqlx::Row;

use super::{calendar_of, Engine, EngineError};

/// The longest range a report covers, in days (a bound on what one report may cost).
pub const MAX_REPORT_DAYS: i64 = 731;

/// One month's requests.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MonthRow {
    /// `YYYY-MM`.
    pub month: String,
    pub started: i64,
    pub finished: i64,
}

/// How long something took, in hours.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Durations {
    pub count: i64,
    pub p50_hours: f64,
    pub p90_hours: f64,
}

/// One step's (or one person's) decided tasks in the range.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TaskFigures {
    /// The step's id, or the person's.
    pub key: String,
    pub time: Durations,
    pub overdue: i64,
    /// `overdue` out of `time.count`, 0 to 1.
    pub overdue_share: f64,
}

/// A process's report over a range of days.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Report {
    pub process: String,
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
    pub months: Vec<MonthRow>,
    /// How the requests ended in the range: approved, rejected, completed, withdrawn,
    /// cancelled (terminated).
    pub outcomes: Vec<(String, i64)>,
    /// From submission to the end, for the requests that ended in the range.
    pub cycle: Durations,
    pub steps: Vec<TaskFigures>,
    pub people: Vec<TaskFigures>,
    /// Open tasks now, by step and by person.
    pub backlog_steps: Vec<(String, i64)>,
    pub backlog_people: Vec<(String, i64)>,
}

/// A decided task of a request that ended in the range.
struct Decided {
    step: String,
    who: String,
    hours: f64,
    overdue: bool,
}

impl Engine {
    /// `process`'s report for the days `from` to `to` (both included, the calendar's
    /// time zone); refused for a range longer than [`MAX_REPORT_DAYS`] or backwards.
    pub async fn report(
        &self,
        process: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Report, EngineError> {
        let days = (to - from).num_days();
        if !(0..=MAX_REPORT_DAYS).contains(&days) {
            return Err(EngineError::NotAllowed(format!(
                "a report covers 1 to {} days, from its first day to its last",
                MAX_REPORT_DAYS + 1
            )));
        }
        let calendar = calendar_of(self);
        let start = crate::clock::to_db(calendar.day_start(from));
        let end = crate::clock::to_db(calendar.day_start(to.succ_opt().unwrap_or(to)));
        let pool = &self.core.pool;
        let mut months = self.report_months(process, &start, &end).await?;
        fill_months(&mut months, from, to);
        let ended = sqlx::query(
            "SELECT id, created_at, ended_at, COALESCE(outcome, status) FROM instances \
             WHERE process_id = $1 AND ended_at >= $2 AND ended_at < $3",
        )
        .bind(process)
        .bind(&start)
        .bind(&end)
        .fetch_all(pool)
        .await?;
        let mut outcomes: BTreeMap<String, i64> = BTreeMap::new();
        let mut cycle = Vec::with_capacity(ended.len());
        for row in &ended {
            *outcomes.entry(row.get::<String, _>(3)).or_default() += 1;
            cycle.extend(hours_between(row.get(1), row.get(2)));
        }
        let ids: Vec<i64> = ended.iter().map(|r| r.get(0)).collect();
        let decided = self.decided_tasks(&ids).await?;
        let (backlog_steps, backlog_people) = self.backlog(process).await?;
        Ok(Report {
            process: process.to_string(),
            from,
            to,
            months,
            outcomes: outcomes.into_iter().collect(),
            cycle: durations(cycle),
            steps: task_rows(&decided, |d| &d.step),
            people: task_rows(&decided, |d| &d.who),
            backlog_steps,
            backlog_people,
        })
    }

    async fn report_months(
        &self,
        process: &str,
        start: &str,
        end: &str,
    ) -> Result<Vec<MonthRow>, EngineError> {
        let mut months: BTreeMap<String, MonthRow> = BTreeMap::new();
        for (column, started) in [("created_at", true), ("ended_at", false)] {
            let sql = format!(
                "SELECT SUBSTR({column}, 1, 7), COUNT(*) FROM instances \
                 WHERE process_id = $1 AND {column} >= $2 AND {column} < $3 GROUP BY SUBSTR({column}, 1, 7)"
            );
            let rows: Vec<(String, i64)> = sqlx::query_as(&sql)
                .bind(process)
                .bind(start)
                .bind(end)
                .fetch_all(&self.core.pool)
                .await?;
            for (month, n) in rows {
                let row = months.entry(month.clone()).or_insert(MonthRow {
                    month,
                    started: 0,
                    finished: 0,
                });
                if started {
                    row.started = n;
                } else {
                    row.finished = n;
                }
            }
        }
        Ok(months.into_values().collect())
    }

    /// The decided tasks of these requests (read through each request's index).
    async fn decided_tasks(&self, ids: &[i64]) -> Result<Vec<Decided>, EngineError> {
        let mut out = Vec::new();
        for chunk in ids.chunks(500) {
            let mut sql = crate::store::Sql::new(
                "SELECT step_id, COALESCE(acted_by, assignee), created_at, acted_at, due_at FROM tasks \
                 WHERE status = 'done' AND kind IN ('step', 'added') AND instance_id IN ",
            );
            sql.push_list(chunk.iter().copied());
            for row in sql.query().fetch_all(&self.core.pool).await? {
                let acted: Option<String> = row.get(3);
                let due: Option<String> = row.get(4);
                let Some(hours) = hours_between(row.get(2), acted.clone()) else {
                    continue;
                };
                out.push(Decided {
                    step: row.get(0),
                    who: row.get(1),
                    hours,
                    overdue: matches!((due, acted), (Some(d), Some(a)) if a > d),
                });
            }
        }
        Ok(out)
    }

    /// Open tasks of the process's running requests, by step and by person.
    async fn backlog(
        &self,
        process: &str,
    ) -> Result<(Vec<(String, i64)>, Vec<(String, i64)>), EngineError> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT t.step_id, COALESCE(t.delegate, t.assignee), COUNT(*) FROM tasks t \
             JOIN instances i ON i.id = t.instance_id \
             WHERE i.process_id = $1 AND i.status = 'running' AND t.status = 'open' \
             GROUP BY t.step_id, COALESCE(t.delegate, t.assignee)",
        )
        .bind(process)
        .fetch_all(&self.core.pool)
        .await?;
        let mut steps: BTreeMap<String, i64> = BTreeMap::new();
        let mut people: BTreeMap<String, i64> = BTreeMap::new();
        for (step, who, n) in rows {
            *steps.entry(step).or_default() += n;
            *people.entry(who).or_default() += n;
        }
        let by_size = |map: BTreeMap<String, i64>| {
            let mut v: Vec<(String, i64)> = map.into_iter().collect();
            v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            v
        };
        Ok((by_size(steps), by_size(people)))
    }
}

/// Every month of the range, those without requests as zeros, in order (a range has
/// at most 25 months).
fn fill_months(months: &mut Vec<MonthRow>, from: NaiveDate, to: NaiveDate) {
    use chrono::Datelike;
    let mut at = from.with_day(1);
    while let Some(first) = at.filter(|d| *d <= to) {
        let month = first.format("%Y-%m").to_string();
        if !months.iter().any(|m| m.month == month) {
            months.push(MonthRow {
                month,
                started: 0,
                finished: 0,
            });
        }
        at = first.checked_add_months(chrono::Months::new(1));
    }
    months.sort_by(|a, b| a.month.cmp(&b.month));
}

/// Hours from one stored time to another.
fn hours_between(from: String, to: Option<String>) -> Option<f64> {
    let from = crate::clock::from_db(&from)?;
    let to = crate::clock::from_db(&to?)?;
    Some((to - from).num_seconds().max(0) as f64 / 3600.0)
}

/// The median and the 90th percentile (nearest rank) of `hours`.
fn durations(mut hours: Vec<f64>) -> Durations {
    if hours.is_empty() {
        return Durations::default();
    }
    hours.sort_by(f64::total_cmp);
    let rank = |p: f64| {
        let at = ((p * hours.len() as f64).ceil() as usize).clamp(1, hours.len());
        (hours[at - 1] * 10.0).round() / 10.0
    };
    Durations {
        count: hours.len() as i64,
        p50_hours: rank(0.5),
        p90_hours: rank(0.9),
    }
}

/// The decided tasks grouped by `key`: their times and how many were late.
fn task_rows(decided: &[Decided], key: impl Fn(&Decided) -> &String) -> Vec<TaskFigures> {
    let mut groups: BTreeMap<&String, (Vec<f64>, i64)> = BTreeMap::new();
    for d in decided {
        let group = groups.entry(key(d)).or_default();
        group.0.push(d.hours);
        group.1 += i64::from(d.overdue);
    }
    groups
        .into_iter()
        .map(|(key, (hours, overdue))| {
            let time = durations(hours);
            let share = overdue as f64 / time.count.max(1) as f64;
            TaskFigures {
                key: key.clone(),
                time,
                overdue,
                overdue_share: (share * 1000.0).round() / 1000.0,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::durations;

    #[test]
    fn percentiles_by_nearest_rank() {
        let d = durations((1..=10).map(f64::from).collect());
        assert_eq!((d.count, d.p50_hours, d.p90_hours), (10, 5.0, 9.0));
        let one = durations(vec![2.25]);
        assert_eq!((one.p50_hours, one.p90_hours), (2.3, 2.3));
        assert_eq!(durations(Vec::new()).count, 0);
    }
}
