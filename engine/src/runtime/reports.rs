//! A process's figures for its owners: requests started and finished per month, how they
//! ended, how long they took (p50 and p90, overall and per step), the share of tasks
//! decided after their deadline per step and per person, and the backlog now by step and
//! by person. Requests are read by the day they started or ended (indexed), tasks only
//! through their requests, so a report costs the range it covers.

use std::collections::BTreeMap;

use chrono::Datelike;
use chrono::NaiveDate;
use serde::Serialize;

use super::{calendar_of, Engine, EngineError};
use crate::store::reports::{self, When};

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
    /// Whole hours from the task's start to its decision.
    hours: i64,
    overdue: bool,
    /// How many tasks of this step and person took these hours.
    count: i64,
}

impl Engine {
    /// `process`'s report for the days `from` to `to` (both included, the calendar's
    /// time zone); refused for a range longer than [`MAX_REPORT_DAYS`] or backwards.
    /// The database groups the rows (by month, outcome, hour, step, person), so what
    /// comes back is small whatever the number of requests.
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
        let day = |d: NaiveDate| crate::clock::to_db(calendar_of(self).day_start(d));
        let (start, end) = (day(from), day(to.succ_opt().unwrap_or(to)));
        let pool = &self.core.pool;
        let ended = reports::ended(pool, self.backend(), process, &start, &end).await?;
        let mut outcomes: BTreeMap<String, i64> = BTreeMap::new();
        for (outcome, _, n) in &ended {
            *outcomes.entry(outcome.clone()).or_default() += n;
        }
        let decided = self.decided_tasks(process, &start, &end).await?;
        let (backlog_steps, backlog_people) = self.backlog(process).await?;
        Ok(Report {
            process: process.to_string(),
            from,
            to,
            months: self.report_months(process, from, to).await?,
            outcomes: outcomes.into_iter().collect(),
            cycle: durations(ended.iter().map(|(_, h, n)| (*h, *n)).collect()),
            steps: task_rows(&decided, |d| &d.step),
            people: task_rows(&decided, |d| &d.who),
            backlog_steps,
            backlog_people,
        })
    }

    /// Requests started and finished in each month of the range (months of the
    /// calendar's time zone, clipped to the range), counted through the indexes.
    async fn report_months(
        &self,
        process: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<MonthRow>, EngineError> {
        let day = |d: NaiveDate| crate::clock::to_db(calendar_of(self).day_start(d));
        let mut out = Vec::new();
        let mut first = from.with_day(1);
        while let Some(month) = first.filter(|d| *d <= to) {
            let next = month.checked_add_months(chrono::Months::new(1));
            let (a, b) = (
                month.max(from),
                next.map_or(to, |n| n.min(to.succ_opt().unwrap_or(to))),
            );
            let (a, b) = (day(a), day(b));
            let pool = &self.core.pool;
            out.push(MonthRow {
                month: month.format("%Y-%m").to_string(),
                started: reports::count_in(pool, process, When::Started, &a, &b).await?,
                finished: reports::count_in(pool, process, When::Ended, &a, &b).await?,
            });
            first = next;
        }
        Ok(out)
    }

    /// The decided tasks of the requests that ended in the range, grouped by step,
    /// person, whole hours taken and lateness.
    async fn decided_tasks(
        &self,
        process: &str,
        start: &str,
        end: &str,
    ) -> Result<Vec<Decided>, EngineError> {
        let rows = reports::decided(&self.core.pool, self.backend(), process, start, end).await?;
        Ok(rows
            .into_iter()
            .map(|r| Decided {
                step: r.step_id,
                who: r.who,
                hours: r.hours,
                overdue: r.late != 0,
                count: r.count,
            })
            .collect())
    }

    /// Open tasks of the process's running requests, by step and by person.
    async fn backlog(
        &self,
        process: &str,
    ) -> Result<(Vec<(String, i64)>, Vec<(String, i64)>), EngineError> {
        let rows = reports::backlog(&self.core.pool, process).await?;
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

/// Whole hours and how many took them.
type Histogram = Vec<(i64, i64)>;

/// The median and the 90th percentile (nearest rank) of a histogram of whole hours.
fn durations(mut hist: Histogram) -> Durations {
    hist.sort_unstable();
    let count: i64 = hist.iter().map(|(_, n)| n).sum();
    if count == 0 {
        return Durations::default();
    }
    let rank = |p: f64| {
        let at = ((p * count as f64).ceil() as i64).clamp(1, count);
        let mut seen = 0;
        hist.iter()
            .find(|(_, n)| {
                seen += n;
                seen >= at
            })
            .map_or(0.0, |(h, _)| *h.max(&0) as f64)
    };
    Durations {
        count,
        p50_hours: rank(0.5),
        p90_hours: rank(0.9),
    }
}

/// The decided tasks grouped by `key`: their times and how many were late.
fn task_rows(decided: &[Decided], key: impl Fn(&Decided) -> &String) -> Vec<TaskFigures> {
    let mut groups: BTreeMap<&String, (Histogram, i64)> = BTreeMap::new();
    for d in decided {
        let group = groups.entry(key(d)).or_default();
        group.0.push((d.hours, d.count));
        group.1 += if d.overdue { d.count } else { 0 };
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
    fn percentiles_by_nearest_rank_from_a_histogram() {
        let d = durations((1..=10).map(|h| (h, 1)).collect());
        assert_eq!((d.count, d.p50_hours, d.p90_hours), (10, 5.0, 9.0));
        let skewed = durations(vec![(48, 1), (2, 9)]);
        assert_eq!(
            (skewed.count, skewed.p50_hours, skewed.p90_hours),
            (10, 2.0, 2.0)
        );
        assert_eq!(durations(vec![(2, 8), (48, 2)]).p90_hours, 48.0);
        assert_eq!(durations(Vec::new()).count, 0);
    }
}
