//! A resident snapshot (file graph, chunk heads and vector codes in
//! memory, as the server and MCP keep them) ranks exactly like a one-shot
//! snapshot reading everything from the store.

use lore_index::{Home, IndexConfig, RepoIndex, SearchHit, SearchMode, SearchOptions, index_repo};
use lore_retrieve::fusion::Feature;
use lore_test_support::TestRepo;

/// Modules that import and call each other, so that the file graph has
/// edges and the graph feature takes part.
fn repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.write(
        "shop/cart.py",
        "from shop.prices import total_price\nfrom shop.stock import reserve_items\n\n\
         class Cart:\n    \"\"\"Items a customer is about to buy.\"\"\"\n\n\
         \x20   def checkout(self, customer):\n        \"\"\"Reserve the items and charge the customer.\"\"\"\n\
         \x20       reserve_items(self.items)\n        return total_price(self.items, customer.discount)\n",
    );
    repo.write(
        "shop/prices.py",
        "def total_price(items, discount):\n    \"\"\"Sum of item prices after the discount.\"\"\"\n\
         \x20   return sum(i.price for i in items) * (1 - discount)\n\n\
         def tax_for(region, amount):\n    \"\"\"Sales tax owed in a region.\"\"\"\n    return amount * RATES[region]\n",
    );
    repo.write(
        "shop/stock.py",
        "from shop.prices import tax_for\n\n\
         def reserve_items(items):\n    \"\"\"Hold items in the warehouse until payment.\"\"\"\n\
         \x20   for item in items:\n        item.reserved = True\n\n\
         def restock(item, count):\n    \"\"\"Add delivered units back to the shelf.\"\"\"\n    item.count += count\n",
    );
    for i in 0..12 {
        repo.write(
            &format!("notes/topic_{i}.md"),
            format!(
                "# Topic {i}\n\nShipping rules for region {i}: parcels, weights and carriers.\n"
            ),
        );
    }
    repo.commit("Initial");
    repo
}

fn search(index: &RepoIndex, query: &str) -> Vec<SearchHit> {
    let options = SearchOptions {
        limit: 8,
        explain: true,
        mode: SearchMode::Hybrid,
        ..SearchOptions::default()
    };
    index.search(query, &options).unwrap()
}

#[test]
fn resident_snapshots_rank_like_one_shot_ones() {
    let repo = repo();
    let home = Home::at(repo.home());
    index_repo(&home, repo.path(), &IndexConfig::default(), &()).unwrap();
    let one_shot = RepoIndex::open(&home, repo.path()).unwrap();
    // Under a budget that fits only the model and ids (measured before
    // anything else is loaded: snapshots share what they load), the rest is
    // read per query: less memory, the same ranking.
    let probe = RepoIndex::open(&home, repo.path()).unwrap();
    probe.warm();
    let floor = probe.resident_bytes();
    let resident = RepoIndex::open(&home, repo.path()).unwrap().resident();
    resident.warm();
    let limited = RepoIndex::open(&home, repo.path())
        .unwrap()
        .resident_within(floor);
    limited.warm();
    assert!(
        limited.resident_bytes() < resident.resident_bytes(),
        "{} vs {}",
        limited.resident_bytes(),
        resident.resident_bytes()
    );

    let mut graph_seen = false;
    for query in [
        "charge the customer at checkout",
        "price after discount",
        "reserve_items",
        "sales tax for a region",
        "shipping carriers",
    ] {
        let (a, b) = (search(&one_shot, query), search(&resident, query));
        let c = search(&limited, query);
        assert_eq!(
            b.iter().map(|h| (&h.at, h.score)).collect::<Vec<_>>(),
            c.iter().map(|h| (&h.at, h.score)).collect::<Vec<_>>(),
            "{query}: a limited resident snapshot ranks alike"
        );
        assert!(!a.is_empty(), "{query}: no hits");
        assert_eq!(a.len(), b.len(), "{query}");
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(
                (
                    &x.at.path,
                    x.at.start_line,
                    x.at.end_line,
                    &x.at.symbol,
                    &x.text
                ),
                (
                    &y.at.path,
                    y.at.start_line,
                    y.at.end_line,
                    &y.at.symbol,
                    &y.text
                ),
                "{query}"
            );
            assert!((x.score - y.score).abs() < 1e-5, "{query}: {x:?} vs {y:?}");
            let (ex, ey) = (x.explain.as_ref().unwrap(), y.explain.as_ref().unwrap());
            assert_eq!(ex.len(), ey.len(), "{query}");
            for (fx, fy) in ex.iter().zip(ey) {
                assert_eq!(fx.feature, fy.feature);
                assert!(
                    (fx.value - fy.value).abs() < 1e-6,
                    "{query}: {fx:?} vs {fy:?}"
                );
                graph_seen |= fx.feature == Feature::Graph && fx.value > 0.0;
            }
        }
    }
    assert!(graph_seen, "the graph feature never took part");
}
