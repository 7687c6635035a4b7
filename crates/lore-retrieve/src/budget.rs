//! Fitting ranked content into a token budget.
//!
//! Rendered text is not additive in tokens (headers are shared, a
//! tokenizer merges across boundaries), so, as aider's repo map does, the
//! number of items is found by binary search over the rendered prefix.

/// The largest `k` in `0..=n` with `cost(k) <= budget`, for a `cost` that
/// does not decrease as `k` grows (`cost(0)` is the empty rendering). Calls
/// `cost` O(log n) times.
pub fn fit_prefix(n: usize, budget: usize, mut cost: impl FnMut(usize) -> usize) -> usize {
    let (mut lo, mut hi) = (0usize, n);
    if cost(0) > budget {
        return 0;
    }
    // Invariant: cost(lo) <= budget; every k > hi exceeds it.
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if cost(mid) <= budget {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_largest_fitting_prefix() {
        let sizes = [5usize, 3, 8, 2, 7];
        let cost = |k: usize| 1 + sizes[..k].iter().sum::<usize>();
        for budget in 0..30 {
            let k = fit_prefix(sizes.len(), budget, cost);
            let expected = (0..=sizes.len())
                .filter(|&k| cost(k) <= budget)
                .max()
                .unwrap_or(0);
            assert_eq!(k, expected, "budget {budget}");
            assert!(k == 0 || cost(k) <= budget);
        }
    }

    #[test]
    fn calls_cost_logarithmically() {
        let mut calls = 0;
        let k = fit_prefix(1_000_000, 12_345, |k| {
            calls += 1;
            k
        });
        assert_eq!(k, 12_345);
        assert!(calls <= 22, "{calls} calls");
    }
}
