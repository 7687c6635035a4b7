//! Personalised PageRank over a weighted directed graph.
//!
//! Nodes are `0..n`. A random walker follows an out-edge with probability
//! `damping` (choosing edges in proportion to their weight) and otherwise
//! jumps to a node drawn from the personalisation vector; a node without
//! out-edges always jumps. With a uniform personalisation this is plain
//! PageRank; seeded with a query's best hits or a focus file it ranks what
//! lies close to them in the graph.

/// A weighted directed graph in compressed adjacency form.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    n: usize,
    /// Per node: (target, weight) pairs.
    out: Vec<Vec<(usize, f64)>>,
    /// Per node: total outgoing weight.
    out_weight: Vec<f64>,
}

impl Graph {
    /// A graph with `n` nodes and no edges.
    pub fn new(n: usize) -> Graph {
        Graph {
            n,
            out: vec![Vec::new(); n],
            out_weight: vec![0.0; n],
        }
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.n
    }

    /// True if the graph has no nodes.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Adds `weight` to the edge `from → to`. Non-positive weights and
    /// out-of-range nodes are ignored.
    pub fn add_edge(&mut self, from: usize, to: usize, weight: f64) {
        if from >= self.n || to >= self.n || weight.is_nan() || weight <= 0.0 {
            return;
        }
        match self.out[from].iter_mut().find(|(t, _)| *t == to) {
            Some((_, w)) => *w += weight,
            None => self.out[from].push((to, weight)),
        }
        self.out_weight[from] += weight;
    }

    /// Outgoing edges of `node`.
    pub fn edges(&self, node: usize) -> &[(usize, f64)] {
        &self.out[node]
    }
}

/// Settings of [`pagerank`].
#[derive(Clone, Copy, Debug)]
pub struct PageRankConfig {
    /// Probability of following an edge rather than jumping.
    pub damping: f64,
    /// Stop when the L1 change of an iteration falls below this.
    pub tolerance: f64,
    /// Stop after this many iterations regardless.
    pub max_iterations: usize,
}

impl Default for PageRankConfig {
    fn default() -> PageRankConfig {
        PageRankConfig {
            damping: 0.85,
            tolerance: 1e-9,
            max_iterations: 100,
        }
    }
}

/// Personalised PageRank. `personalization` gives each node's jump weight
/// (normalised here); if it is empty or sums to zero, jumps are uniform.
/// Returns a probability per node (summing to 1 for a non-empty graph).
pub fn pagerank(graph: &Graph, personalization: &[f64], config: &PageRankConfig) -> Vec<f64> {
    let n = graph.n;
    if n == 0 {
        return Vec::new();
    }
    let mut jump: Vec<f64> = (0..n)
        .map(|i| personalization.get(i).copied().unwrap_or(0.0).max(0.0))
        .collect();
    let total: f64 = jump.iter().sum();
    if total > 0.0 && total.is_finite() {
        jump.iter_mut().for_each(|j| *j /= total);
    } else {
        jump.fill(1.0 / n as f64);
    }
    let d = config.damping;
    let mut rank = jump.clone();
    let mut next = vec![0.0; n];
    for _ in 0..config.max_iterations {
        // Mass that jumps: the teleport share plus everything at dangling nodes.
        let mut jumping = 1.0 - d;
        for (node, &r) in rank.iter().enumerate() {
            if graph.out_weight[node] == 0.0 {
                jumping += d * r;
            }
        }
        for (slot, &j) in next.iter_mut().zip(&jump) {
            *slot = jumping * j;
        }
        for (node, &r) in rank.iter().enumerate() {
            let w = graph.out_weight[node];
            if w == 0.0 {
                continue;
            }
            let share = d * r / w;
            for &(to, weight) in &graph.out[node] {
                next[to] += share * weight;
            }
        }
        let change: f64 = rank.iter().zip(&next).map(|(a, b)| (a - b).abs()).sum();
        std::mem::swap(&mut rank, &mut next);
        if change < config.tolerance {
            break;
        }
    }
    rank
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6
    }

    #[test]
    fn cycle_is_uniform() {
        let mut g = Graph::new(3);
        g.add_edge(0, 1, 1.0);
        g.add_edge(1, 2, 1.0);
        g.add_edge(2, 0, 1.0);
        let r = pagerank(&g, &[], &PageRankConfig::default());
        assert!(r.iter().all(|&x| close(x, 1.0 / 3.0)), "{r:?}");
    }

    #[test]
    fn personalised_two_nodes_closed_form() {
        // 0 → 1, 1 dangling, all jumps to 0:
        // r0 = (1-d) + d·r1, r1 = d·r0  ⇒  r0 = 1/(1+d), r1 = d/(1+d).
        let mut g = Graph::new(2);
        g.add_edge(0, 1, 1.0);
        let d = 0.85;
        let r = pagerank(&g, &[1.0, 0.0], &PageRankConfig::default());
        assert!(close(r[0], 1.0 / (1.0 + d)), "{r:?}");
        assert!(close(r[1], d / (1.0 + d)), "{r:?}");
    }

    #[test]
    fn hub_outranks_leaves_and_weights_matter() {
        // Leaves 1..=3 all point at hub 0; the hub points back at 1 (weight 3)
        // and 2 (weight 1).
        let mut g = Graph::new(4);
        for leaf in 1..=3 {
            g.add_edge(leaf, 0, 1.0);
        }
        g.add_edge(0, 1, 3.0);
        g.add_edge(0, 2, 1.0);
        let r = pagerank(&g, &[], &PageRankConfig::default());
        assert!(r[0] > r[1] && r[1] > r[2] && r[2] > r[3], "{r:?}");
        assert!(close(r.iter().sum::<f64>(), 1.0));
    }

    #[test]
    fn bad_edges_are_ignored() {
        let mut g = Graph::new(2);
        g.add_edge(0, 5, 1.0);
        g.add_edge(0, 1, -1.0);
        g.add_edge(0, 1, f64::NAN);
        assert!(g.edges(0).is_empty());
        assert!(pagerank(&Graph::new(0), &[], &PageRankConfig::default()).is_empty());
    }
}
