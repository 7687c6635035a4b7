//! Times as the JSON contracts write them: RFC 3339 in UTC, from
//! milliseconds since the Unix epoch (what the stores keep).

/// Milliseconds since the Unix epoch now (0 if the clock is before it).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// (year, month 1-12, day 1-31, weekday 0 = Sunday) of `ms` in the
/// proleptic Gregorian calendar, UTC (the days-to-date step is Howard
/// Hinnant's `civil_from_days`).
pub fn civil(ms: i64) -> (i64, u32, u32, u32) {
    let days = ms.div_euclid(86_400_000);
    let weekday = (days + 4).rem_euclid(7) as u32; // 1970-01-01 was a Thursday.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day, weekday)
}

/// `ms` as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339(ms: i64) -> String {
    let (year, month, day, _) = civil(ms);
    let rem = ms.div_euclid(1000).rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_796_179_983_999), "2026-12-02T02:53:03Z");
        assert_eq!(rfc3339(4_107_542_399_000), "2100-02-28T23:59:59Z");
        assert_eq!(rfc3339(-1_000), "1969-12-31T23:59:59Z");
        assert!(now_ms() > 1_700_000_000_000);
    }
}
