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

    /// A graph with `n` nodes and the given edges, added as they come:
    /// without [`add_edge`](Self::add_edge)'s search of the node's edges
    /// for a repeat (a hub with thousands of edges makes that quadratic).
    /// A repeated edge stays two parallel edges, which every walk treats
    /// as one edge of their summed weight.
    pub fn from_edges(n: usize, edges: impl IntoIterator<Item = (usize, usize, f64)>) -> Graph {
        let mut graph = Graph::new(n);
        for (from, to, weight) in edges {
            if from >= n || to >= n || weight.is_nan() || weight <= 0.0 {
                continue;
            }
            graph.out[from].push((to, weight));
            graph.out_weight[from] += weight;
        }
        graph
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

/// [`pagerank`] with the jumps spread evenly over `seeds`, computed on
/// the seeds alone when every other node links only to seeds (the shape
/// of a query's neighbourhood: the seeds and the files one edge away).
///
/// The rank of a node outside the seeds is then `d ·` what flows into it
/// from the seeds, so substituting it leaves a linear system over the
/// seeds: a few multiplications per iteration instead of a pass over
/// every edge. The fixed point is the one [`pagerank`] converges to;
/// other graphs fall back to it.
pub fn pagerank_seeded(graph: &Graph, seeds: &[usize], config: &PageRankConfig) -> Vec<f64> {
    let n = graph.n;
    let mut slot: Vec<Option<usize>> = vec![None; n];
    let mut seed_nodes: Vec<usize> = Vec::new();
    for &s in seeds {
        if s < n && slot[s].is_none() {
            slot[s] = Some(seed_nodes.len());
            seed_nodes.push(s);
        }
    }
    let others_link_only_to_seeds = (0..n)
        .filter(|&u| slot[u].is_none())
        .all(|u| graph.out[u].iter().all(|&(v, _)| slot[v].is_some()));
    if seed_nodes.is_empty() || !others_link_only_to_seeds {
        let mut personalization = vec![0.0; n];
        for &s in &seed_nodes {
            personalization[s] = 1.0;
        }
        return pagerank(graph, &personalization, config);
    }

    let d = config.damping;
    let m = seed_nodes.len();
    let share = |u: usize, weight: f64| weight / graph.out_weight[u];
    // transfer[t * m + s]: rank reaching seed t from seed s per step, directly
    // or through one other node; dangling[s]: the share of seed s's rank
    // that ends on a node without out-edges (and so jumps).
    let mut transfer = vec![0.0; m * m];
    let mut dangling = vec![0.0; m];
    for (s, &node) in seed_nodes.iter().enumerate() {
        if graph.out_weight[node] == 0.0 {
            dangling[s] = 1.0;
            continue;
        }
        for &(v, w) in &graph.out[node] {
            let w = share(node, w);
            match slot[v] {
                Some(t) => transfer[t * m + s] += w,
                None if graph.out_weight[v] == 0.0 => dangling[s] += d * w,
                None => {
                    for &(t_node, w2) in &graph.out[v] {
                        let t = slot[t_node].expect("other nodes link only to seeds");
                        transfer[t * m + s] += d * w * share(v, w2);
                    }
                }
            }
        }
    }
    let jump = 1.0 / m as f64;
    let mut rank = vec![jump; m];
    let mut next = vec![0.0; m];
    for _ in 0..config.max_iterations {
        let jumping = 1.0 - d + d * rank.iter().zip(&dangling).map(|(r, c)| r * c).sum::<f64>();
        for (t, slot) in next.iter_mut().enumerate() {
            let flow: f64 = transfer[t * m..][..m]
                .iter()
                .zip(&rank)
                .map(|(a, r)| a * r)
                .sum();
            *slot = jumping * jump + d * flow;
        }
        let change: f64 = rank.iter().zip(&next).map(|(a, b)| (a - b).abs()).sum();
        std::mem::swap(&mut rank, &mut next);
        if change < config.tolerance {
            break;
        }
    }

    let mut out = vec![0.0; n];
    for (s, &node) in seed_nodes.iter().enumerate() {
        out[node] = rank[s];
        if graph.out_weight[node] == 0.0 {
            continue;
        }
        for &(v, w) in &graph.out[node] {
            if slot[v].is_none() {
                out[v] += d * rank[s] * share(node, w);
            }
        }
    }
    out
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

    /// A seeded neighbourhood: seeds 0..seeds, others linked to and from
    /// seeds only, with a small deterministic generator for the weights.
    fn neighbourhood(seeds: usize, others: usize, salt: u64) -> Graph {
        let mut state = salt
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) % 7
        };
        let mut g = Graph::new(seeds + others);
        for s in 0..seeds {
            for t in 0..seeds {
                if s != t && next() < 2 {
                    g.add_edge(s, t, next() as f64 + 0.5);
                }
            }
            for o in seeds..seeds + others {
                match next() {
                    0 => g.add_edge(s, o, 1.0 + next() as f64),
                    1 => g.add_edge(o, s, 1.0 + next() as f64),
                    2 => {
                        let w = 1.0 + next() as f64;
                        g.add_edge(s, o, w);
                        g.add_edge(o, s, w);
                    }
                    _ => {}
                }
            }
        }
        g
    }

    #[test]
    fn seeded_pagerank_matches_the_full_iteration() {
        let config = PageRankConfig {
            tolerance: 1e-13,
            max_iterations: 2000,
            ..PageRankConfig::default()
        };
        for (salt, (seeds, others)) in [(1, 3), (2, 10), (5, 40), (4, 0), (1, 1)]
            .into_iter()
            .enumerate()
        {
            let g = neighbourhood(seeds, others, salt as u64);
            let list: Vec<usize> = (0..seeds).collect();
            let mut personalization = vec![0.0; g.len()];
            personalization[..seeds].fill(1.0);
            let full = pagerank(&g, &personalization, &config);
            let seeded = pagerank_seeded(&g, &list, &config);
            assert!(close(seeded.iter().sum(), 1.0), "{seeded:?}");
            for (a, b) in full.iter().zip(&seeded) {
                assert!((a - b).abs() < 1e-9, "{full:?} vs {seeded:?}");
            }
        }
    }

    #[test]
    fn graphs_from_edge_lists_match_edge_by_edge_ones() {
        let edges = [
            (0, 1, 1.0),
            (2, 0, 0.5),
            (0, 1, 2.0),
            (1, 0, 1.0),
            (0, 2, 3.0),
            (0, 3, 1.0),
            (2, 0, 0.25),
            (0, 9, 1.0),
            (1, 2, -1.0),
        ];
        let mut one_by_one = Graph::new(4);
        for &(from, to, w) in &edges {
            one_by_one.add_edge(from, to, w);
        }
        let built = Graph::from_edges(4, edges);
        let summed = |g: &Graph, node: usize| {
            let mut by_target: Vec<(usize, f64)> = Vec::new();
            for &(to, w) in g.edges(node) {
                match by_target.iter_mut().find(|(t, _)| *t == to) {
                    Some((_, sum)) => *sum += w,
                    None => by_target.push((to, w)),
                }
            }
            by_target.sort_by_key(|x| x.0);
            by_target
        };
        for node in 0..4 {
            assert_eq!(
                summed(&built, node),
                summed(&one_by_one, node),
                "node {node}"
            );
            assert_eq!(built.out_weight[node], one_by_one.out_weight[node]);
        }
        let config = PageRankConfig::default();
        let personalization = [1.0, 0.0, 1.0, 0.0];
        let (a, b) = (
            pagerank(&built, &personalization, &config),
            pagerank(&one_by_one, &personalization, &config),
        );
        assert!(
            a.iter().zip(&b).all(|(x, y)| close(*x, *y)),
            "{a:?} vs {b:?}"
        );
    }

    #[test]
    fn seeded_pagerank_falls_back_off_its_shape() {
        // 2 → 3 links two nodes that are not seeds.
        let mut g = Graph::new(4);
        g.add_edge(0, 2, 1.0);
        g.add_edge(2, 3, 1.0);
        g.add_edge(3, 1, 1.0);
        let seeded = pagerank_seeded(&g, &[0, 1, 0], &PageRankConfig::default());
        let full = pagerank(&g, &[1.0, 1.0, 0.0, 0.0], &PageRankConfig::default());
        assert_eq!(seeded, full);
    }
}
