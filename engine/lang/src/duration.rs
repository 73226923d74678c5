//! Durations as process owners write them: `3wd` working days, `4wh` working hours,
//! `2d` calendar days, `12h` hours, `30m` minutes (long forms such as `7 working days` too).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A parsed duration; working units are resolved against the calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkDuration {
    WorkingDays(u32),
    WorkingHours(u32),
    Days(u32),
    Hours(u32),
    Minutes(u32),
}

/// Why a duration could not be read; the message says what is accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad duration `{text}`: {reason}")]
pub struct DurationError {
    pub text: String,
    pub reason: &'static str,
}

/// The hint shown with every duration error.
pub const DURATION_HINT: &str =
    "write a whole number and a unit: `3wd` (working days), `4wh` (working hours), `2d` (days), `12h` (hours) or `30m` (minutes)";

impl FromStr for WorkDuration {
    type Err = DurationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = |reason| DurationError {
            text: text.to_string(),
            reason,
        };
        let trimmed = text.trim();
        let digits_end = trimmed
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(trimmed.len());
        if digits_end == 0 {
            return Err(err("it must start with a whole number"));
        }
        let amount: u32 = trimmed[..digits_end]
            .parse()
            .map_err(|_| err("the number is too large"))?;
        if amount == 0 {
            return Err(err("it must be longer than zero"));
        }
        let unit = trimmed[digits_end..].trim().to_ascii_lowercase();
        let duration = match unit.as_str() {
            "wd" | "working day" | "working days" => WorkDuration::WorkingDays(amount),
            "wh" | "working hour" | "working hours" => WorkDuration::WorkingHours(amount),
            "d" | "day" | "days" => WorkDuration::Days(amount),
            "h" | "hour" | "hours" => WorkDuration::Hours(amount),
            "m" | "min" | "minute" | "minutes" => WorkDuration::Minutes(amount),
            "" => return Err(err("the unit is missing")),
            _ => return Err(err("the unit is not known")),
        };
        Ok(duration)
    }
}

impl fmt::Display for WorkDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkDuration::WorkingDays(n) => write!(f, "{n}wd"),
            WorkDuration::WorkingHours(n) => write!(f, "{n}wh"),
            WorkDuration::Days(n) => write!(f, "{n}d"),
            WorkDuration::Hours(n) => write!(f, "{n}h"),
            WorkDuration::Minutes(n) => write!(f, "{n}m"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_forms() {
        assert_eq!("7wd".parse(), Ok(WorkDuration::WorkingDays(7)));
        assert_eq!("7 working days".parse(), Ok(WorkDuration::WorkingDays(7)));
        assert_eq!(" 4wh".parse(), Ok(WorkDuration::WorkingHours(4)));
        assert_eq!("2d".parse(), Ok(WorkDuration::Days(2)));
        assert_eq!("12 hours".parse(), Ok(WorkDuration::Hours(12)));
        assert_eq!("30m".parse(), Ok(WorkDuration::Minutes(30)));
        assert_eq!(WorkDuration::WorkingDays(3).to_string(), "3wd");
    }

    #[test]
    fn rejects_nonsense() {
        for bad in [
            "",
            "wd",
            "0wd",
            "3 weeks",
            "3",
            "-1d",
            "99999999999d",
            "3.5d",
        ] {
            assert!(bad.parse::<WorkDuration>().is_err(), "{bad} parsed");
        }
    }
}
