//! How much heap does a loaded shard really use, against what it reports?
//! Loads a shard snapshot under a counting allocator and prints the live
//! heap (bytes asked for, and the number of live allocations, each of
//! which costs an allocator header besides) against `info()`'s
//! `index_bytes` and `attribute_bytes`. A wasm shard's linear memory is
//! that heap plus allocator overhead, so this is where the memory ratio
//! of issue 11 comes from.
//!
//! ```text
//! cargo run --release -p vecshard-shard --example attr_memory -- \
//!     /tmp/fbench/w100k/vs-1/shard-000/snapshot.bin
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};

use vecshard_shard::Shard;

struct Counting;
static BYTES: AtomicIsize = AtomicIsize::new(0);
static COUNT: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let now = BYTES.fetch_add(l.size() as isize, Relaxed) + l.size() as isize;
        PEAK.fetch_max(now, Relaxed);
        COUNT.fetch_add(1, Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        BYTES.fetch_sub(l.size() as isize, Relaxed);
        COUNT.fetch_sub(1, Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let now = BYTES.fetch_add(new as isize - l.size() as isize, Relaxed) + new as isize
            - l.size() as isize;
        PEAK.fetch_max(now, Relaxed);
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static A: Counting = Counting;

fn mb(x: isize) -> f64 {
    x as f64 / 1e6
}

fn main() {
    let path = std::env::args().nth(1).expect("usage: attr_memory SNAPSHOT");
    let bytes = std::fs::read(&path).expect("snapshot");
    let (b0, c0) = (BYTES.load(Relaxed), COUNT.load(Relaxed));
    PEAK.store(b0, Relaxed);
    let shard = Shard::from_snapshot(&bytes).expect("a shard snapshot");
    let peak = PEAK.load(Relaxed) - b0;
    drop(bytes);
    let (b1, c1) = (BYTES.load(Relaxed), COUNT.load(Relaxed));
    let live = b1 - b0 + (std::fs::metadata(&path).unwrap().len() as isize);
    let allocs = c1 - c0 + 1;
    let info = shard.info();
    let own = (info.index_bytes + info.attribute_bytes) as isize;
    println!("elements {}", shard.len());
    println!(
        "reported: index {:.1} MB + attributes {:.1} MB = {:.1} MB",
        mb(info.index_bytes as isize),
        mb(info.attribute_bytes as isize),
        mb(own)
    );
    println!(
        "live heap {:.1} MB in {allocs} allocations ({:.2}x reported)",
        mb(live),
        live as f64 / own as f64
    );
    // dlmalloc (the wasm guest's allocator) rounds each request up to a
    // multiple of 8 with a 4-byte header (16 bytes at least); estimate.
    println!(
        "with ~8 B of header/rounding per allocation: {:.1} MB ({:.2}x reported)",
        mb(live + 8 * allocs),
        (live + 8 * allocs) as f64 / own as f64
    );
    println!("peak heap during the load (besides the snapshot buffer): {:.1} MB", mb(peak));
}
