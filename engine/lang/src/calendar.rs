//! The working calendar (`processes/calendar.yaml`): working hours, weekends, public
//! holidays and make-up working days, and deadline arithmetic over them.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::duration::WorkDuration;
use crate::model::Label;

/// The calendar file as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarFile {
    /// IANA time zone, e.g. `Asia/Shanghai`.
    pub timezone: String,
    pub working_hours: WorkingHours,
    /// Days of the week that are not worked, e.g. `[saturday, sunday]`.
    #[serde(default = "default_weekend")]
    pub weekend: Vec<Weekday>,
    #[serde(default)]
    pub holidays: Vec<DateRange>,
    /// Weekend days that are worked (调休), e.g. before a long holiday.
    #[serde(default)]
    pub make_up_days: Vec<DateRange>,
    /// The last day whose holidays are known (the end of the published year). Defaults
    /// to the last holiday or make-up day listed. Deadlines after it count weekends
    /// only, and the checker warns when it is less than [`WARN_DAYS`] away.
    #[serde(default)]
    pub valid_until: Option<NaiveDate>,
}

/// How many days before the calendar's end the checker and the server start warning.
pub const WARN_DAYS: i64 = 90;

fn default_weekend() -> Vec<Weekday> {
    vec![Weekday::Sat, Weekday::Sun]
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkingHours {
    /// `HH:MM`
    pub start: NaiveTime,
    /// `HH:MM`
    pub end: NaiveTime,
}

/// One date, or `date` to `to` inclusive.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DateRange {
    pub date: NaiveDate,
    #[serde(default)]
    pub to: Option<NaiveDate>,
    #[serde(default)]
    pub name: Option<Label>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("unknown time zone `{0}`; use an IANA name such as `Asia/Shanghai`")]
    UnknownTimeZone(String),
    #[error("working hours must end after they start")]
    EmptyWorkingDay,
    #[error("the range from {0} to {1} ends before it starts")]
    BackwardsRange(NaiveDate, NaiveDate),
    #[error("the range from {0} to {1} is longer than a year")]
    HugeRange(NaiveDate, NaiveDate),
}

/// A calendar ready for deadline arithmetic.
#[derive(Debug, Clone)]
pub struct Calendar {
    tz: Tz,
    start: NaiveTime,
    end: NaiveTime,
    weekend: std::collections::HashSet<Weekday>,
    holidays: BTreeSet<NaiveDate>,
    make_up_days: BTreeSet<NaiveDate>,
    valid_until: Option<NaiveDate>,
}

/// Working days are searched at most this far ahead, so a calendar without working days
/// gives an answer instead of looping.
const MAX_SCAN_DAYS: u64 = 3660;

impl Calendar {
    pub fn from_file(file: &CalendarFile) -> Result<Calendar, CalendarError> {
        let tz: Tz = file
            .timezone
            .parse()
            .map_err(|_| CalendarError::UnknownTimeZone(file.timezone.clone()))?;
        if file.working_hours.end <= file.working_hours.start {
            return Err(CalendarError::EmptyWorkingDay);
        }
        let holidays = expand(&file.holidays)?;
        let make_up_days = expand(&file.make_up_days)?;
        let last_listed = holidays.last().max(make_up_days.last()).copied();
        Ok(Calendar {
            tz,
            start: file.working_hours.start,
            end: file.working_hours.end,
            weekend: file.weekend.iter().copied().collect(),
            holidays,
            make_up_days,
            valid_until: file.valid_until.or(last_listed),
        })
    }

    /// Monday to Friday, 09:00 to 18:00 UTC, no holidays: for tests and a missing file.
    pub fn plain() -> Calendar {
        Calendar {
            tz: Tz::UTC,
            start: NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default(),
            end: NaiveTime::from_hms_opt(18, 0, 0).unwrap_or_default(),
            weekend: default_weekend().into_iter().collect(),
            holidays: BTreeSet::new(),
            make_up_days: BTreeSet::new(),
            valid_until: None,
        }
    }

    /// The last day whose holidays are known; `None` for a calendar without any.
    pub fn valid_until(&self) -> Option<NaiveDate> {
        self.valid_until
    }

    /// Whether `at` is after the last day whose holidays are known, so a deadline there
    /// counts weekends only.
    pub fn beyond(&self, at: DateTime<Utc>) -> bool {
        self.valid_until
            .is_some_and(|end| self.local_date(at) > end)
    }

    /// Days from `now` to the calendar's end (negative once it has passed).
    pub fn days_left(&self, now: DateTime<Utc>) -> Option<i64> {
        self.valid_until
            .map(|end| (end - self.local_date(now)).num_days())
    }

    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        if self.make_up_days.contains(&date) {
            return true;
        }
        !self.holidays.contains(&date) && !self.weekend.contains(&date.weekday())
    }

    /// The calendar's date at `at`, in its time zone.
    pub fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.tz).date_naive()
    }

    /// When `date` begins in the calendar's time zone.
    pub fn day_start(&self, date: NaiveDate) -> DateTime<Utc> {
        self.at_local(date, NaiveTime::MIN)
    }

    fn at_local(&self, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
        let naive = date.and_time(time);
        match self.tz.from_local_datetime(&naive) {
            chrono::LocalResult::Single(t) => t.with_timezone(&Utc),
            chrono::LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
            // A time skipped by a DST change: the UTC reading of the same wall time is
            // within an hour and good enough for a deadline.
            chrono::LocalResult::None => Utc.from_utc_datetime(&naive),
        }
    }

    fn next_working_day_after(&self, date: NaiveDate) -> NaiveDate {
        let mut d = date;
        for _ in 0..MAX_SCAN_DAYS {
            d = d + Days::new(1);
            if self.is_working_day(d) {
                return d;
            }
        }
        d
    }

    /// The moment `duration` after `from`. Working days end at the close of the n-th
    /// working day after the day of `from`; working hours count only open hours.
    pub fn add(&self, from: DateTime<Utc>, duration: WorkDuration) -> DateTime<Utc> {
        match duration {
            WorkDuration::Minutes(n) => from + chrono::Duration::minutes(i64::from(n)),
            WorkDuration::Hours(n) => from + chrono::Duration::hours(i64::from(n)),
            WorkDuration::Days(n) => from + chrono::Duration::days(i64::from(n)),
            WorkDuration::WorkingDays(n) => {
                let mut day = self.local_date(from);
                for _ in 0..n {
                    day = self.next_working_day_after(day);
                }
                self.at_local(day, self.end)
            }
            WorkDuration::WorkingHours(n) => self.add_working_minutes(from, i64::from(n) * 60),
        }
    }

    /// The moment `duration` before `due`, for reminders; working units count backwards.
    pub fn subtract(&self, due: DateTime<Utc>, duration: WorkDuration) -> DateTime<Utc> {
        match duration {
            WorkDuration::Minutes(n) => due - chrono::Duration::minutes(i64::from(n)),
            WorkDuration::Hours(n) => due - chrono::Duration::hours(i64::from(n)),
            WorkDuration::Days(n) => due - chrono::Duration::days(i64::from(n)),
            WorkDuration::WorkingDays(n) => {
                let mut day = self.local_date(due);
                for _ in 0..n {
                    let mut d = day;
                    for _ in 0..MAX_SCAN_DAYS {
                        d = d - Days::new(1);
                        if self.is_working_day(d) {
                            break;
                        }
                    }
                    day = d;
                }
                let time = due.with_timezone(&self.tz).time();
                self.at_local(day, time.clamp(self.start, self.end))
            }
            WorkDuration::WorkingHours(n) => {
                // Walk back hour by hour through open time; n is small in practice.
                let mut at = due;
                let mut left = i64::from(n) * 60;
                let mut guard = 0u64;
                while left > 0 && guard < MAX_SCAN_DAYS * 24 * 60 {
                    at -= chrono::Duration::minutes(1);
                    if self.is_open(at) {
                        left -= 1;
                    }
                    guard += 1;
                }
                at
            }
        }
    }

    fn is_open(&self, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&self.tz);
        let t = local.time();
        self.is_working_day(local.date_naive()) && t >= self.start && t < self.end
    }

    fn add_working_minutes(&self, from: DateTime<Utc>, mut minutes: i64) -> DateTime<Utc> {
        let mut day = self.local_date(from);
        let local_time = from.with_timezone(&self.tz).time();
        let mut cursor = if self.is_working_day(day) && local_time < self.end {
            self.at_local(day, local_time.max(self.start))
        } else {
            day = self.next_working_day_after(day);
            self.at_local(day, self.start)
        };
        for _ in 0..MAX_SCAN_DAYS {
            let close = self.at_local(day, self.end);
            let open_minutes = (close - cursor).num_minutes();
            if minutes <= open_minutes {
                return cursor + chrono::Duration::minutes(minutes);
            }
            minutes -= open_minutes;
            day = self.next_working_day_after(day);
            cursor = self.at_local(day, self.start);
        }
        cursor
    }

    /// Working days from the day of `from` to the day of `to` (0 when `to` is not later).
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> u32 {
        let mut count = 0;
        let mut d = from;
        while d < to && count < MAX_SCAN_DAYS as u32 {
            d = d + Days::new(1);
            if self.is_working_day(d) {
                count += 1;
            }
        }
        count
    }

    /// Midnight at the start of `date` in the calendar's zone, for `until` waits on a date.
    pub fn start_of(&self, date: NaiveDate) -> DateTime<Utc> {
        self.at_local(date, NaiveTime::MIN)
    }

    /// The first start of `every` at local `time` strictly after `after` (within about
    /// a year and a month; `None` for a calendar without working days).
    pub fn next_occurrence(
        &self,
        after: DateTime<Utc>,
        every: crate::model::Every,
        time: Option<NaiveTime>,
    ) -> Option<DateTime<Utc>> {
        let time = time.unwrap_or(self.start);
        let mut day = self.local_date(after);
        for _ in 0..400 {
            let at = self.at_local(day, time);
            if at > after && self.starts_on(day, every) {
                return Some(at);
            }
            day = day + Days::new(1);
        }
        None
    }

    /// Whether a schedule of `every` starts on `day`.
    fn starts_on(&self, day: NaiveDate, every: crate::model::Every) -> bool {
        use crate::model::Every as E;
        if !self.is_working_day(day) {
            return false;
        }
        let weekday = match every {
            E::Monday => Weekday::Mon,
            E::Tuesday => Weekday::Tue,
            E::Wednesday => Weekday::Wed,
            E::Thursday => Weekday::Thu,
            E::Friday => Weekday::Fri,
            E::Saturday => Weekday::Sat,
            E::Sunday => Weekday::Sun,
            E::FirstWorkingDay => {
                let first = day.with_day(1).unwrap_or(day);
                return first
                    .iter_days()
                    .take_while(|d| *d < day)
                    .all(|d| !self.is_working_day(d));
            }
            E::LastWorkingDay => {
                let mut d = day + Days::new(1);
                while d.month() == day.month() {
                    if self.is_working_day(d) {
                        return false;
                    }
                    d = d + Days::new(1);
                }
                return true;
            }
        };
        // The weekday itself, or the first working day after it when it is not one.
        let back = (7 + day.weekday().num_days_from_monday() - weekday.num_days_from_monday()) % 7;
        let from = day - Days::new(u64::from(back));
        let mut d = from;
        while d < day {
            if self.is_working_day(d) {
                return false;
            }
            d = d + Days::new(1);
        }
        true
    }

    /// The close of business of the last working day on or before `date` (the end of
    /// the month's last working day, for a month-end wait).
    pub fn close_of_last_working_day(&self, date: NaiveDate) -> DateTime<Utc> {
        let mut d = date;
        for _ in 0..MAX_SCAN_DAYS {
            if self.is_working_day(d) {
                break;
            }
            d = d - Days::new(1);
        }
        self.at_local(d, self.end)
    }
}

fn expand(ranges: &[DateRange]) -> Result<BTreeSet<NaiveDate>, CalendarError> {
    let mut out = BTreeSet::new();
    for r in ranges {
        let to = r.to.unwrap_or(r.date);
        if to < r.date {
            return Err(CalendarError::BackwardsRange(r.date, to));
        }
        if (to - r.date).num_days() > 366 {
            return Err(CalendarError::HugeRange(r.date, to));
        }
        let mut d = r.date;
        while d <= to {
            out.insert(d);
            d = d + Days::new(1);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn china_2026() -> Calendar {
        let file: CalendarFile = serde_saphyr::from_str(
            "timezone: Asia/Shanghai\nworking_hours: { start: '09:00:00', end: '18:00:00' }\n\
             holidays:\n  - { date: 2026-10-01, to: 2026-10-07 }\n\
             make_up_days:\n  - { date: 2026-09-20 }\n  - { date: 2026-10-10 }\n",
        )
        .unwrap();
        Calendar::from_file(&file).unwrap()
    }

    fn shanghai(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        chrono_tz::Asia::Shanghai
            .with_ymd_and_hms(y, m, d, h, 0, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn schedules_start_on_their_days_moved_past_holidays() {
        use crate::model::Every;
        let cal = china_2026();
        let three = NaiveTime::from_hms_opt(15, 0, 0);
        let next = |after, every| cal.next_occurrence(after, every, three);
        // Wednesday 23 Sep: the next Friday is the 25th, at 15:00.
        assert_eq!(
            next(shanghai(2026, 9, 23, 10), Every::Friday),
            Some(shanghai(2026, 9, 25, 15))
        );
        // Friday 2 Oct is a holiday: that week's start moves to Thursday 8 Oct.
        assert_eq!(
            next(shanghai(2026, 9, 26, 10), Every::Friday),
            Some(shanghai(2026, 10, 8, 15))
        );
        // After its start, the next is a week later.
        assert_eq!(
            next(shanghai(2026, 10, 8, 15), Every::Friday),
            Some(shanghai(2026, 10, 9, 15))
        );
        // October's first working day is the 8th; its last is Friday the 30th.
        assert_eq!(
            next(shanghai(2026, 9, 30, 16), Every::FirstWorkingDay),
            Some(shanghai(2026, 10, 8, 15))
        );
        assert_eq!(
            next(shanghai(2026, 10, 12, 9), Every::LastWorkingDay),
            Some(shanghai(2026, 10, 30, 15))
        );
        // The make-up Saturday 10 Oct is a working day: a Saturday schedule starts on it.
        assert_eq!(
            next(shanghai(2026, 10, 9, 10), Every::Saturday),
            Some(shanghai(2026, 10, 10, 15))
        );
    }

    #[test]
    fn working_days_skip_the_national_holiday_and_count_make_up_days() {
        let cal = china_2026();
        // Tuesday 29 Sep 2026, 10:00. Working days after it: 30 Sep, then the holiday
        // 1-7 Oct, then Thu 8, Fri 9, Sat 10 (make-up), Mon 12, Tue 13, Wed 14.
        let due = cal.add(shanghai(2026, 9, 29, 10), WorkDuration::WorkingDays(7));
        assert_eq!(due, shanghai(2026, 10, 14, 18));
        assert!(cal.is_working_day(NaiveDate::from_ymd_opt(2026, 9, 20).unwrap()));
        assert!(!cal.is_working_day(NaiveDate::from_ymd_opt(2026, 10, 5).unwrap()));
    }

    #[test]
    fn working_hours_carry_over_night_and_weekend() {
        let cal = china_2026();
        // Friday 16 Oct 2026 16:00 + 4 working hours = Monday 19 Oct 11:00.
        let due = cal.add(shanghai(2026, 10, 16, 16), WorkDuration::WorkingHours(4));
        assert_eq!(due, shanghai(2026, 10, 19, 11));
        let before = cal.subtract(due, WorkDuration::WorkingHours(4));
        assert_eq!(before, shanghai(2026, 10, 16, 16));
    }

    #[test]
    fn calendar_days_ignore_the_calendar() {
        let cal = china_2026();
        let from = shanghai(2026, 10, 1, 9);
        assert_eq!(
            cal.add(from, WorkDuration::Days(2)),
            shanghai(2026, 10, 3, 9)
        );
        assert_eq!(
            cal.working_days_between(
                NaiveDate::from_ymd_opt(2026, 9, 29).unwrap(),
                NaiveDate::from_ymd_opt(2026, 10, 12).unwrap()
            ),
            5
        );
    }

    #[test]
    fn a_calendar_without_working_days_still_answers() {
        let mut cal = Calendar::plain();
        cal.weekend = [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ]
        .into_iter()
        .collect();
        let _ = cal.add(Utc::now(), WorkDuration::WorkingDays(2));
        let _ = cal.add(Utc::now(), WorkDuration::WorkingHours(2));
    }
}
