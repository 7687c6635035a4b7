//! Benchmark: does the context bandit, with its real arms, settle on the
//! best one within 1,000 questions?
//!
//! ```text
//! cargo run --release -p lore-ask --example context-bandit
//! ```
//! Each simulated question plays the arm Thompson sampling draws; the
//! simulated person votes up (+1) with the arm's chance and down (−1)
//! otherwise. The best arm's chance is `gap` above the next; the rest
//! are spread below. "Settled" = the best arm is the one played most in
//! questions 800–1,000. 100 seeds per row.

use lore_ask::context_bandit::arms;
use lore_ask::pack::ContextPolicy;
use lore_learn::bandit::{Bandit, Rng};

fn settled(n_arms: usize, best: f64, gap: f64, seed: u64) -> bool {
    let mut rng = Rng::new(seed);
    // The best arm is a random one (not the first, which the real bandit
    // answers with until it has evidence).
    let best_arm = (rng.next_u64() % n_arms as u64) as usize;
    let mut chance = vec![0.0; n_arms];
    let mut others = 0;
    for (i, c) in chance.iter_mut().enumerate() {
        *c = if i == best_arm {
            best
        } else {
            others += 1;
            // The next best, then evenly lower.
            best - gap - 0.3 * (others - 1) as f64 / n_arms as f64
        };
    }
    let mut bandit = Bandit::new((0..n_arms).map(|i| i.to_string()));
    let mut plays = vec![0u32; n_arms];
    for round in 0..1000 {
        let arm = bandit.choose(&mut rng);
        let reward = if rng.uniform() < chance[arm] {
            1.0
        } else {
            -1.0
        };
        bandit.update(arm, reward);
        if round >= 800 {
            plays[arm] += 1;
        }
    }
    let most = (0..n_arms).max_by_key(|&i| plays[i]).unwrap_or(0);
    most == best_arm
}

#[allow(clippy::print_stdout)] // a benchmark's report
fn main() {
    let base = ContextPolicy::default();
    println!(
        "| arms | chance of a helpful vote: best / next | reward gap (−1..1) | settled in 1,000 (of 100 seeds) |"
    );
    println!("|---|---|---|---|");
    for sizes in [false, true] {
        let n = arms(&base, sizes).len();
        for (best, gap) in [(0.7, 0.1), (0.7, 0.05)] {
            let ok = (0..100)
                .filter(|&s| settled(n, best, gap, 1000 + s))
                .count();
            println!(
                "| {n} | {best:.2} / {:.2} | {:.2} | {ok} |",
                best - gap,
                2.0 * gap
            );
        }
    }
}
