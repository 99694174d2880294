//! Churn: 10k vectors, then 3 rounds of deleting 30% at random and inserting
//! 30% new ones. The graph must stay as good as a fresh build over the same
//! live set (within 2 recall points), consistent, and fully reachable.

mod common;
use common::*;
use vecshard_core::{Config, Index};

#[test]
fn churn_keeps_recall_and_reachability() {
    let seed = seed("churn", 7);
    let mut rng = Rng(seed | 1);
    let (dim, pool) = read_fvecs("glove100-100k", "base.fvecs", 20_000);
    let (_, queries) = read_fvecs("glove100-100k", "query.fvecs", 200);
    let cfg = Config::new(dim, metric("glove100-100k")).seed(seed);
    let mut index = Index::new(cfg.clone()).unwrap();
    let mut live: Vec<usize> = (0..10_000).collect();
    for &i in &live {
        index.insert(&i.to_string(), &pool[i]).unwrap();
    }
    let mut next = 10_000;
    for round in 0..3 {
        let n_del = live.len() * 3 / 10;
        for _ in 0..n_del {
            let j = rng.below(live.len());
            let id = live.swap_remove(j);
            index.remove(&id.to_string()).unwrap();
        }
        for _ in 0..n_del {
            index.insert(&next.to_string(), &pool[next]).unwrap();
            live.push(next);
            next += 1;
        }
        println!("round {round}: {} live, {} unreachable", index.len(), index.unreachable_count());
    }
    assert_eq!(index.len(), live.len());
    index.check_invariants().unwrap();
    assert_eq!(index.unreachable_count(), 0);

    let mut fresh = Index::new(cfg).unwrap();
    live.sort_unstable();
    for &i in &live {
        fresh.insert(&i.to_string(), &pool[i]).unwrap();
    }
    let churned = recall(&index, &queries, 10, None);
    let rebuilt = recall(&fresh, &queries, 10, None);
    println!("recall@10 after churn {churned:.4}, fresh build {rebuilt:.4}");
    assert!(churned >= rebuilt - 0.02, "churned {churned:.4} vs fresh {rebuilt:.4} (seed {seed})");
    let s = index.stats();
    assert_eq!(s.slots, 10_000 + s.free_slots, "deleted slots are reused");
}
