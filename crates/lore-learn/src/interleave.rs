//! Team-draft interleaving: two rankers' results merged into one list, so
//! that the clicks people give the list say which ranker they prefer —
//! the online comparison of two retrieval policies (Radlinski, Kurup and
//! Joachims, "How does clickthrough data reflect retrieval quality?",
//! CIKM 2008).
//!
//! Each round the team with fewer picks (a coin decides a tie) adds its
//! best result not yet in the list; the result remembers its team. A
//! comparison credits the team whose results got more clicks; as many
//! clicks on each is a tie. Over many comparisons, the share of wins says
//! which policy people find better, without any of them seeing a worse
//! ranking than either policy alone would give.

use serde::{Deserialize, Serialize};

use crate::bandit::Rng;

/// Which ranker put a result in the list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Team {
    /// The first ranker (the policy in force).
    A,
    /// The second (the challenger).
    B,
}

/// Merges `a` and `b` (each best first) into at most `limit` results,
/// each with the team that picked it.
pub fn team_draft<T: Clone + PartialEq>(
    a: &[T],
    b: &[T],
    limit: usize,
    rng: &mut Rng,
) -> Vec<(T, Team)> {
    let mut out: Vec<(T, Team)> = Vec::with_capacity(limit);
    let (mut picks_a, mut picks_b) = (0usize, 0usize);
    let (mut ia, mut ib) = (0usize, 0usize);
    while out.len() < limit {
        let a_left = a[ia..].iter().any(|x| !out.iter().any(|(y, _)| y == x));
        let b_left = b[ib..].iter().any(|x| !out.iter().any(|(y, _)| y == x));
        if !a_left && !b_left {
            break;
        }
        let a_turn = match (a_left, b_left) {
            (true, false) => true,
            (false, true) => false,
            _ => picks_a < picks_b || (picks_a == picks_b && rng.next_u64() & 1 == 0),
        };
        let (list, at, team) = if a_turn {
            (a, &mut ia, Team::A)
        } else {
            (b, &mut ib, Team::B)
        };
        while out.iter().any(|(y, _)| *y == list[*at]) {
            *at += 1;
        }
        out.push((list[*at].clone(), team));
        *at += 1;
        match team {
            Team::A => picks_a += 1,
            Team::B => picks_b += 1,
        }
    }
    out
}

/// The outcome of one comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The first ranker's results got more clicks.
    A,
    /// The second's did.
    B,
    /// As many on each (clicks on none count as no comparison).
    Tie,
}

/// Credits a comparison from the teams of the results people clicked (or
/// cited and voted up): the team with more clicks wins. `None` without
/// clicks: an impression nobody acted on says nothing.
pub fn credit(clicked: &[Team]) -> Option<Outcome> {
    if clicked.is_empty() {
        return None;
    }
    let a = clicked.iter().filter(|t| **t == Team::A).count();
    let b = clicked.len() - a;
    Some(match a.cmp(&b) {
        std::cmp::Ordering::Greater => Outcome::A,
        std::cmp::Ordering::Less => Outcome::B,
        std::cmp::Ordering::Equal => Outcome::Tie,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn team_draft_alternates_and_never_repeats_a_result() {
        let a = [1, 2, 3, 4];
        let b = [2, 5, 1, 6];
        for seed in 0..50 {
            let merged = team_draft(&a, &b, 6, &mut Rng::new(seed));
            let ids: Vec<i32> = merged.iter().map(|m| m.0).collect();
            let mut unique = ids.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), ids.len(), "{ids:?}");
            assert_eq!(ids.len(), 6);
            // After each pair of picks, the teams are even.
            for k in (2..=6).step_by(2) {
                let a_picks = merged[..k].iter().filter(|m| m.1 == Team::A).count();
                assert_eq!(a_picks, k / 2, "{merged:?}");
            }
            // The first pick is one ranker's best.
            assert!(ids[0] == 1 || ids[0] == 2);
        }
        // Both coins come up over the seeds.
        let firsts: std::collections::HashSet<Team> = (0..20)
            .map(|s| team_draft(&a, &b, 2, &mut Rng::new(s))[0].1)
            .collect();
        assert_eq!(firsts.len(), 2);
        // One list running out leaves the rest to the other.
        let merged = team_draft(&[1], &[1, 2, 3], 3, &mut Rng::new(1));
        assert_eq!(merged.iter().map(|m| m.0).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(team_draft::<i32>(&[], &[], 5, &mut Rng::new(1)), []);
    }

    #[test]
    fn credit_goes_to_the_team_with_more_clicks() {
        assert_eq!(credit(&[Team::A, Team::B, Team::A]), Some(Outcome::A));
        assert_eq!(credit(&[Team::B]), Some(Outcome::B));
        assert_eq!(credit(&[Team::A, Team::B]), Some(Outcome::Tie));
        assert_eq!(credit(&[]), None);
    }

    #[test]
    fn a_better_ranker_wins_more_comparisons() {
        // People click the first relevant result; B ranks it higher.
        let mut rng = Rng::new(7);
        let (mut wins_a, mut wins_b) = (0, 0);
        for q in 0..200u32 {
            let relevant = 1000 + q;
            let a: Vec<u32> = (0..4).chain([relevant]).chain(5..10).collect();
            let b: Vec<u32> = [relevant].into_iter().chain(20..29).collect();
            let merged = team_draft(&a, &b, 10, &mut rng);
            let clicked: Vec<Team> = merged
                .iter()
                .filter(|m| m.0 == relevant)
                .map(|m| m.1)
                .collect();
            match credit(&clicked) {
                Some(Outcome::A) => wins_a += 1,
                Some(Outcome::B) => wins_b += 1,
                _ => {}
            }
        }
        assert!(wins_b > 150 && wins_a < 50, "{wins_a} vs {wins_b}");
    }
}
