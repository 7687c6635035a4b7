//! The thinker's scheduling policy per repository: budgets as token
//! buckets, quiet hours, a cron cadence and the thought kinds allowed.
//!
//! Pure functions of a policy, the bucket states and the time the caller
//! passes in (milliseconds since the Unix epoch, plus the offset of the
//! policy's clock from UTC in minutes): the scheduler owns the clock, and
//! tests inject one. Each hold says until when and why, for the user.

use serde::{Deserialize, Serialize};

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;

/// The most a bucket holds: this long at its refill rate (a thought may
/// start whenever the bucket is above zero and overdraw it; the burst plus
/// one thought's cost bounds any window's excess over the rate).
pub const BURST_MS: i64 = 5 * MINUTE_MS;

/// Thought kinds a repository runs unless `--allow` says otherwise: none
/// of them executes the repository's code.
pub const DEFAULT_ALLOW: &[&str] = &[
    "scan-diff",
    "map-repo",
    "summarize",
    "prioritize",
    "maintain-vectors",
    "smell-hunt",
    "train-policy",
    "report",
    "adapt",
];

/// A budget: `amount` units per `per_ms` (`20m/h` of CPU, `50k/day` of
/// tokens).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// Units per period (CPU milliseconds, or tokens).
    pub amount: f64,
    /// The period in milliseconds.
    pub per_ms: i64,
}

impl Budget {
    /// Parses `AMOUNT/PERIOD`: for CPU (`cpu = true`) the amount is a
    /// duration (`90s`, `20m`, `1h`), for tokens a count (`5000`, `50k`,
    /// `2M`); the period is `m`, `h` or `day` (or `d`).
    pub fn parse(text: &str, cpu: bool) -> Result<Budget, String> {
        let (amount, per) = text
            .split_once('/')
            .ok_or_else(|| format!("budget `{text}`: expected AMOUNT/PERIOD, like 20m/h"))?;
        let per_ms = match per.trim() {
            "m" | "min" => MINUTE_MS,
            "h" | "hour" => HOUR_MS,
            "d" | "day" => DAY_MS,
            other => {
                return Err(format!(
                    "budget `{text}`: period `{other}` is not m, h or day"
                ));
            }
        };
        let amount = amount.trim();
        let bad = || format!("budget `{text}`: amount `{amount}` is not a number with a unit");
        let split = amount
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(amount.len());
        let (num, unit) = amount.split_at(split);
        let num: f64 = num.parse().map_err(|_| bad())?;
        let scale = if cpu {
            match unit {
                "ms" => 1.0,
                "s" => 1_000.0,
                "m" | "min" => MINUTE_MS as f64,
                "h" => HOUR_MS as f64,
                _ => return Err(bad()),
            }
        } else {
            match unit {
                "" => 1.0,
                "k" | "K" => 1e3,
                "M" => 1e6,
                _ => return Err(bad()),
            }
        };
        if !(num > 0.0 && num.is_finite()) {
            return Err(bad());
        }
        Ok(Budget {
            amount: num * scale,
            per_ms,
        })
    }

    /// Units refilled per millisecond.
    pub fn rate(&self) -> f64 {
        self.amount / self.per_ms as f64
    }

    /// The bucket's capacity: [`BURST_MS`] at the refill rate, at most
    /// the whole amount.
    pub fn burst(&self) -> f64 {
        self.amount * (BURST_MS as f64 / self.per_ms as f64).min(1.0)
    }

    /// As `lore learn` takes it (`6m/h`, `50k/day`).
    pub fn display(&self, cpu: bool) -> String {
        let per = match self.per_ms {
            MINUTE_MS => "m",
            HOUR_MS => "h",
            _ => "day",
        };
        let amount = if cpu {
            let ms = self.amount;
            if ms % HOUR_MS as f64 == 0.0 {
                format!("{}h", ms / HOUR_MS as f64)
            } else if ms % MINUTE_MS as f64 == 0.0 {
                format!("{}m", ms / MINUTE_MS as f64)
            } else {
                format!("{}s", ms / 1000.0)
            }
        } else if self.amount % 1e6 == 0.0 {
            format!("{}M", self.amount / 1e6)
        } else if self.amount % 1e3 == 0.0 {
            format!("{}k", self.amount / 1e3)
        } else {
            format!("{}", self.amount)
        };
        format!("{amount}/{per}")
    }
}

/// A bucket's state: its level at a time. A new bucket is full.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    /// Units left (negative: overdrawn by the last thought).
    pub level: f64,
    /// When `level` was computed (ms).
    pub at: i64,
}

impl Bucket {
    /// A full bucket for `budget` at `now`.
    pub fn full(budget: &Budget, now: i64) -> Bucket {
        Bucket {
            level: budget.burst(),
            at: now,
        }
    }

    /// The level at `now`, refilled at the budget's rate up to its burst.
    pub fn refill(self, budget: &Budget, now: i64) -> Bucket {
        let elapsed = (now - self.at).max(0) as f64;
        Bucket {
            level: (self.level + elapsed * budget.rate()).min(budget.burst()),
            at: now.max(self.at),
        }
    }

    /// Takes `spent` units at `now` (may go below zero).
    pub fn charge(self, budget: &Budget, now: i64, spent: f64) -> Bucket {
        let b = self.refill(budget, now);
        Bucket {
            level: b.level - spent,
            at: b.at,
        }
    }

    /// When the bucket is above zero again: `None` if it is now.
    pub fn empty_until(self, budget: &Budget, now: i64) -> Option<i64> {
        let b = self.refill(budget, now);
        if b.level > 0.0 {
            return None;
        }
        // One unit above zero, so the wake-up finds it positive.
        let wait = ((1.0 - b.level) / budget.rate()).ceil() as i64;
        Some(now + wait.max(1))
    }
}

/// Quiet hours: a daily window, in minutes of the day, when no background
/// work starts (it may wrap over midnight).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuietHours {
    /// Start, minutes after midnight.
    pub start: u16,
    /// End (exclusive), minutes after midnight.
    pub end: u16,
}

impl QuietHours {
    /// Parses `HH:MM-HH:MM`.
    pub fn parse(text: &str) -> Result<QuietHours, String> {
        let bad = || format!("quiet hours `{text}`: expected HH:MM-HH:MM, like 09:00-18:00");
        let (a, b) = text.split_once('-').ok_or_else(bad)?;
        let minute = |s: &str| -> Option<u16> {
            let (h, m) = s.trim().split_once(':')?;
            let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
            (h < 24 && m < 60).then_some(h * 60 + m)
        };
        let (start, end) = (minute(a).ok_or_else(bad)?, minute(b).ok_or_else(bad)?);
        if start == end {
            return Err(format!("quiet hours `{text}`: the window is empty"));
        }
        Ok(QuietHours { start, end })
    }

    /// `HH:MM-HH:MM`.
    pub fn display(&self) -> String {
        format!(
            "{:02}:{:02}-{:02}:{:02}",
            self.start / 60,
            self.start % 60,
            self.end / 60,
            self.end % 60
        )
    }

    /// When the window that holds `now` ends (ms), or `None` outside it;
    /// `offset_min` is the local clock's offset from UTC.
    pub fn until(&self, now: i64, offset_min: i32) -> Option<i64> {
        let local = now + i64::from(offset_min) * MINUTE_MS;
        let minute = (local.rem_euclid(DAY_MS) / MINUTE_MS) as u16;
        let inside = if self.start < self.end {
            (self.start..self.end).contains(&minute)
        } else {
            minute >= self.start || minute < self.end
        };
        if !inside {
            return None;
        }
        let day_start = local - local.rem_euclid(DAY_MS);
        let mut end_local = day_start + i64::from(self.end) * MINUTE_MS;
        if end_local <= local {
            end_local += DAY_MS;
        }
        Some(end_local - i64::from(offset_min) * MINUTE_MS)
    }
}

/// A five-field cron expression (`minute hour day-of-month month
/// day-of-week`; `*`, lists, ranges and steps; Sunday is 0 or 7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cron {
    minutes: u64,
    hours: u32,
    days: u32,
    months: u16,
    weekdays: u8,
    /// Day-of-month and day-of-week both restricted: either matches (as
    /// cron does).
    either_day: bool,
    text: String,
}

impl Cron {
    /// Parses `0 3 * * *`.
    pub fn parse(text: &str) -> Result<Cron, String> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(format!(
                "cadence `{text}`: expected 5 fields (minute hour day month weekday), got {}",
                fields.len()
            ));
        }
        let field = |i: usize, lo: u32, hi: u32| -> Result<u64, String> {
            let mut bits = 0u64;
            for part in fields[i].split(',') {
                let bad = || format!("cadence `{text}`: field `{part}` is not valid here");
                let (range, step) = match part.split_once('/') {
                    Some((r, s)) => (r, s.parse::<u32>().map_err(|_| bad())?),
                    None => (part, 1),
                };
                let (a, b) = if range == "*" {
                    (lo, hi)
                } else if let Some((a, b)) = range.split_once('-') {
                    (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?)
                } else {
                    let a: u32 = range.parse().map_err(|_| bad())?;
                    (a, if part.contains('/') { hi } else { a })
                };
                if step == 0 || a < lo || b > hi || a > b {
                    return Err(bad());
                }
                for v in (a..=b).step_by(step as usize) {
                    bits |= 1 << v;
                }
            }
            Ok(bits)
        };
        let mut weekdays = field(4, 0, 7)?;
        if weekdays & (1 << 7) != 0 {
            weekdays |= 1;
        }
        Ok(Cron {
            minutes: field(0, 0, 59)?,
            hours: field(1, 0, 23)? as u32,
            days: field(2, 1, 31)? as u32,
            months: field(3, 1, 12)? as u16,
            weekdays: (weekdays & 0x7f) as u8,
            either_day: fields[2] != "*" && fields[4] != "*",
            text: fields.join(" "),
        })
    }

    /// The expression as given (fields single-spaced).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The first matching minute strictly after `after` (ms), in the clock
    /// `offset_min` from UTC; `None` if nothing matches within 5 years (a
    /// 31st of February).
    pub fn next_after(&self, after: i64, offset_min: i32) -> Option<i64> {
        let offset = i64::from(offset_min) * MINUTE_MS;
        let local = after + offset;
        let mut t = local - local.rem_euclid(MINUTE_MS) + MINUTE_MS;
        let limit = t + 5 * 366 * DAY_MS;
        while t < limit {
            let (_, month, day, weekday) = crate::time::civil(t);
            let day_ok = if self.either_day {
                self.days & (1 << day) != 0 || self.weekdays & (1 << weekday) != 0
            } else {
                self.days & (1 << day) != 0 && self.weekdays & (1 << weekday) != 0
            };
            if self.months & (1 << month) == 0 || !day_ok {
                t += DAY_MS - t.rem_euclid(DAY_MS);
                continue;
            }
            let hour = (t.rem_euclid(DAY_MS) / HOUR_MS) as u32;
            if self.hours & (1 << hour) == 0 {
                t += HOUR_MS - t.rem_euclid(HOUR_MS);
                continue;
            }
            let minute = (t.rem_euclid(HOUR_MS) / MINUTE_MS) as u32;
            if self.minutes & (1 << minute) == 0 {
                t += MINUTE_MS;
                continue;
            }
            return Some(t - offset);
        }
        None
    }
}

impl Serialize for Cron {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Cron {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Cron, D::Error> {
        let text = String::deserialize(d)?;
        Cron::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A repository's learning policy (`lore learn on ...`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Policy {
    /// CPU time background thoughts may use.
    pub cpu: Option<Budget>,
    /// LLM tokens background thoughts may use.
    pub tokens: Option<Budget>,
    /// No background work starts in this window.
    pub quiet_hours: Option<QuietHours>,
    /// When the periodic thoughts (MapRepo, Summarize, Prioritize) run.
    pub cadence: Option<Cron>,
    /// Thought kinds allowed (empty: [`DEFAULT_ALLOW`]).
    pub allow: Vec<String>,
    /// The clock for quiet hours and cadence, minutes east of UTC (none:
    /// the machine's local time).
    pub utc_offset_min: Option<i32>,
}

impl Policy {
    /// Whether thoughts of `kind` may run for this repository.
    pub fn allows(&self, kind: &str) -> bool {
        if self.allow.is_empty() {
            DEFAULT_ALLOW.contains(&kind)
        } else {
            self.allow.iter().any(|k| k == kind)
        }
    }
}

/// Bucket states of a repository.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Buckets {
    /// CPU milliseconds.
    pub cpu: Option<Bucket>,
    /// LLM tokens.
    pub tokens: Option<Bucket>,
}

impl Buckets {
    /// Charges what a thought spent, at `now`.
    pub fn charge(&mut self, policy: &Policy, now: i64, cpu_ms: u64, tokens: u64) {
        if let Some(b) = &policy.cpu {
            let bucket = self.cpu.unwrap_or_else(|| Bucket::full(b, now));
            self.cpu = Some(bucket.charge(b, now, cpu_ms as f64));
        }
        if let Some(b) = &policy.tokens {
            let bucket = self.tokens.unwrap_or_else(|| Bucket::full(b, now));
            self.tokens = Some(bucket.charge(b, now, tokens as f64));
        }
    }

    /// Units left at `now`: (cpu ms, tokens), each `None` without a budget.
    pub fn left(&self, policy: &Policy, now: i64) -> (Option<f64>, Option<f64>) {
        let left = |b: &Option<Budget>, bucket: Option<Bucket>| {
            b.as_ref().map(|b| {
                bucket
                    .unwrap_or_else(|| Bucket::full(b, now))
                    .refill(b, now)
                    .level
            })
        };
        (
            left(&policy.cpu, self.cpu),
            left(&policy.tokens, self.tokens),
        )
    }
}

/// Why background work of a repository waits, and until when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hold {
    /// When to look again (ms).
    pub until: i64,
    /// For the user: "cpu budget exhausted until 14:00Z".
    pub reason: String,
}

/// Whether background work of a repository must wait at `now`
/// (`offset_min`: the local clock when the policy names none).
pub fn hold(policy: &Policy, buckets: &Buckets, now: i64, offset_min: i32) -> Option<Hold> {
    let offset = policy.utc_offset_min.unwrap_or(offset_min);
    let clock = |ms: i64| {
        let local = ms + i64::from(offset) * MINUTE_MS;
        let m = local.rem_euclid(DAY_MS) / MINUTE_MS;
        format!("{:02}:{:02}", m / 60, m % 60)
    };
    if let Some(q) = &policy.quiet_hours
        && let Some(until) = q.until(now, offset)
    {
        return Some(Hold {
            until,
            reason: format!("quiet hours ({}) until {}", q.display(), clock(until)),
        });
    }
    let empty = |name: &str, b: &Option<Budget>, bucket: Option<Bucket>| {
        let (b, bucket) = (b.as_ref()?, bucket?);
        let until = bucket.empty_until(b, now)?;
        Some(Hold {
            until,
            reason: format!("{name} budget exhausted until {}", clock(until)),
        })
    };
    match (
        empty("cpu", &policy.cpu, buckets.cpu),
        empty("token", &policy.tokens, buckets.tokens),
    ) {
        (Some(a), Some(b)) => Some(if a.until >= b.until { a } else { b }),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-12-02T00:00:00Z, a Wednesday.
    const DAY0: i64 = 1_796_169_600_000;

    #[test]
    fn budgets_parse_and_print() {
        let b = Budget::parse("20m/h", true).unwrap();
        assert_eq!(b.amount, 20.0 * 60_000.0);
        assert_eq!(b.per_ms, HOUR_MS);
        assert_eq!(b.display(true), "20m/h");
        let t = Budget::parse("50k/day", false).unwrap();
        assert_eq!((t.amount, t.per_ms), (50_000.0, DAY_MS));
        assert_eq!(t.display(false), "50k/day");
        for bad in ["20m", "20x/h", "20m/week", "-3m/h", "k/day"] {
            let err = Budget::parse(bad, true).unwrap_err();
            assert!(err.contains(bad), "{err}");
        }
        assert!(Budget::parse("20m/h", false).is_err(), "tokens take counts");
    }

    #[test]
    fn a_bucket_holds_a_burst_refills_at_its_rate_and_says_when() {
        let b = Budget::parse("6m/h", true).unwrap();
        assert_eq!(b.burst(), 30_000.0, "5 minutes at 6m/h is half a minute");
        let full = Bucket::full(&b, DAY0);
        assert_eq!(full.empty_until(&b, DAY0), None);
        // A thought of 90 s overdraws it by 60 s: 10 minutes to refill.
        let spent = full.charge(&b, DAY0, 90_000.0);
        assert_eq!(spent.level, -60_000.0);
        let until = spent.empty_until(&b, DAY0).unwrap();
        assert!((until - DAY0 - 10 * MINUTE_MS).abs() < 1_000, "{until}");
        assert_eq!(spent.empty_until(&b, until), None);
        // Never above the burst, however long it rests.
        assert_eq!(spent.refill(&b, DAY0 + DAY_MS).level, 30_000.0);
    }

    #[test]
    fn quiet_hours_hold_until_their_end_in_the_policys_clock() {
        let q = QuietHours::parse("09:00-18:00").unwrap();
        assert_eq!(q.display(), "09:00-18:00");
        assert_eq!(q.until(DAY0 + 8 * HOUR_MS, 0), None);
        assert_eq!(q.until(DAY0 + 9 * HOUR_MS, 0), Some(DAY0 + 18 * HOUR_MS));
        assert_eq!(q.until(DAY0 + 18 * HOUR_MS, 0), None);
        // At 08:00 UTC it is 10:00 at +02:00: quiet until 16:00 UTC.
        assert_eq!(q.until(DAY0 + 8 * HOUR_MS, 120), Some(DAY0 + 16 * HOUR_MS));
        let night = QuietHours::parse("22:00-06:00").unwrap();
        assert_eq!(
            night.until(DAY0 + 23 * HOUR_MS, 0),
            Some(DAY0 + 30 * HOUR_MS)
        );
        assert_eq!(night.until(DAY0 + 2 * HOUR_MS, 0), Some(DAY0 + 6 * HOUR_MS));
        assert_eq!(night.until(DAY0 + 12 * HOUR_MS, 0), None);
        for bad in ["9-18", "25:00-01:00", "09:00-09:00", "09:60-10:00"] {
            assert!(QuietHours::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cron_finds_the_next_matching_minute() {
        let daily = Cron::parse("0 3 * * *").unwrap();
        assert_eq!(daily.next_after(DAY0, 0), Some(DAY0 + 3 * HOUR_MS));
        assert_eq!(
            daily.next_after(DAY0 + 3 * HOUR_MS, 0),
            Some(DAY0 + DAY_MS + 3 * HOUR_MS)
        );
        // 03:00 at +01:00 is 02:00 UTC.
        assert_eq!(daily.next_after(DAY0, 60), Some(DAY0 + 2 * HOUR_MS));
        let every15 = Cron::parse("*/15 * * * *").unwrap();
        assert_eq!(every15.next_after(DAY0 + 1, 0), Some(DAY0 + 15 * MINUTE_MS));
        // Mondays at 09:30: 2026-12-07.
        let monday = Cron::parse("30 9 * * 1").unwrap();
        assert_eq!(
            monday.next_after(DAY0, 0),
            Some(DAY0 + 5 * DAY_MS + 9 * HOUR_MS + 30 * MINUTE_MS)
        );
        // Sundays as 7: 2026-12-06.
        let sunday = Cron::parse("0 0 * * 7").unwrap();
        assert_eq!(sunday.next_after(DAY0, 0), Some(DAY0 + 4 * DAY_MS));
        // The first of January, 2027.
        let new_year = Cron::parse("0 0 1 1 *").unwrap();
        assert_eq!(new_year.next_after(DAY0, 0), Some(DAY0 + 30 * DAY_MS));
        assert_eq!(Cron::parse("0 0 31 2 *").unwrap().next_after(DAY0, 0), None);
        for bad in [
            "0 3 * *",
            "60 * * * *",
            "* 24 * * *",
            "*/0 * * * *",
            "a * * * *",
        ] {
            assert!(Cron::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn holds_name_their_reason_and_end() {
        let policy = Policy {
            cpu: Some(Budget::parse("6m/h", true).unwrap()),
            quiet_hours: Some(QuietHours::parse("09:00-18:00").unwrap()),
            utc_offset_min: Some(0),
            ..Policy::default()
        };
        let mut buckets = Buckets::default();
        assert_eq!(hold(&policy, &buckets, DAY0, 0), None);
        let quiet = hold(&policy, &buckets, DAY0 + 10 * HOUR_MS, 0).unwrap();
        assert_eq!(quiet.until, DAY0 + 18 * HOUR_MS);
        assert_eq!(quiet.reason, "quiet hours (09:00-18:00) until 18:00");
        buckets.charge(&policy, DAY0, 120_000, 0);
        let spent = hold(&policy, &buckets, DAY0, 0).unwrap();
        assert!(
            spent.reason.starts_with("cpu budget exhausted until 00:15"),
            "{}",
            spent.reason
        );
        assert_eq!(hold(&policy, &buckets, spent.until, 0), None);
        assert!(Policy::default().allows("scan-diff"));
        assert!(!Policy::default().allows("verify"));
    }
}
