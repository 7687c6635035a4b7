//! The retry policy shared by every HTTP client (remote embedders, chat
//! providers): which statuses are worth retrying, how long to wait, and
//! how much of a server's reply to quote in an error.

use std::time::Duration;

/// Whether an HTTP status is worth retrying (rate limits, server errors).
pub fn is_retryable(status: u16) -> bool {
    status == 429 || status >= 500
}

/// The wait before retry number `attempt` (from 0): the server's
/// `Retry-After` if it sent one, else `base × 2^attempt` plus up to a
/// quarter more of jitter so that many clients spread out; at most 60 s.
pub fn backoff(base: Duration, attempt: u32, retry_after: Option<Duration>) -> Duration {
    let exponential = base * 2u32.saturating_pow(attempt);
    let jitter = exponential.mul_f64(jitter_fraction() * 0.25);
    retry_after
        .unwrap_or(exponential + jitter)
        .min(Duration::from_secs(60))
}

/// A `Retry-After` header value in seconds.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

/// A fraction in [0, 1) that differs between calls and processes.
fn jitter_fraction() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    f64::from(nanos % 1000) / 1000.0
}

/// The first 300 bytes of a reply (at a character boundary), trimmed.
pub fn snippet(text: &str) -> String {
    let mut end = text.len().min(300);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_and_honour_the_server() {
        let base = Duration::from_millis(100);
        for attempt in 0..4 {
            let wait = backoff(base, attempt, None);
            let floor = base * 2u32.pow(attempt);
            assert!(
                wait >= floor && wait <= floor.mul_f64(1.25),
                "{attempt}: {wait:?}"
            );
        }
        assert_eq!(
            backoff(base, 3, Some(Duration::from_millis(7))),
            Duration::from_millis(7)
        );
        assert_eq!(backoff(base, 30, None), Duration::from_secs(60));
        assert_eq!(
            parse_retry_after(" 1.5 "),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015"), None);
        assert!(is_retryable(429) && is_retryable(503) && !is_retryable(401));
        assert_eq!(snippet(&"é".repeat(200)).len(), 300);
    }
}
