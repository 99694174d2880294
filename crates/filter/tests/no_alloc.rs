//! `Filter::eval` allocates nothing for ordinary programs: the shard calls
//! it once per candidate, inside the graph walk.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use vecshard_filter::{Attributes, Filter};

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, only counting calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn eval_does_not_allocate() {
    let filters: Vec<Filter> = [
        ".year >= 1980 and .genre in [\"drama\", \"noir\"] and not .archived",
        "(.year - 2000) ** 2 < 100 and .rating / 2 > 4",
        "\"oi\" in .genre or .price > 10 or .tags == 0",
        ".price == 12 and .missing",
        "((((((((((.year + 1) * 2) - 3) / 4) % 5) ** 1) > 0))))",
    ]
    .iter()
    .map(|s| Filter::compile(s).unwrap())
    .collect();
    let attrs: Vec<Attributes> = [
        &br#"{"year": 1984, "genre": "noir", "archived": false, "rating": 9, "price": " 12", "tags": [1, "a"]}"#[..],
        br#"{"year": 2005, "genre": "drama", "rating": 8.5, "price": "abc"}"#,
        br#"{}"#,
    ]
    .iter()
    .map(|j| Attributes::parse(j).unwrap())
    .collect();

    let before = ALLOCS.load(Ordering::Relaxed);
    let mut hits = 0;
    for _ in 0..100 {
        for f in &filters {
            for a in &attrs {
                hits += usize::from(f.eval(a));
            }
        }
    }
    let after = ALLOCS.load(Ordering::Relaxed);
    assert_eq!(after - before, 0, "eval allocated {} times", after - before);
    assert!(hits > 0 && hits < 1500, "hits {hits}");
}
