//! The one place that picks floating-point functions: `core` has no `sqrt` or
//! `ln` without `std`, so these go through `libm`, which is also what keeps
//! results bit-identical between native and wasm builds.

#[inline]
pub(crate) fn sqrt(x: f32) -> f32 {
    libm::sqrtf(x)
}

#[inline]
pub(crate) fn ln(x: f64) -> f64 {
    libm::log(x)
}

#[inline]
pub(crate) fn round(x: f32) -> f32 {
    libm::roundf(x)
}

/// Sorts `v` by `less` (not stable): insertion sort while the input is
/// nearly sorted, heapsort once that has cost more than about 8 moves per
/// element, so the work is `O(n log n)` on any input.
///
/// Why not `sort_unstable_by`: every instance of the standard sort is
/// several KB of wasm (pattern-defeating quicksort with inlined small-sort
/// networks), and the npm `Index` module has a 100 KB budget. The callers
/// sort search results, which arrive sorted or nearly so (by distance
/// already, ties by slot instead of key, or reordered a little by
/// rescoring), where insertion sort is the fastest there is.
pub(crate) fn sort_by<T>(v: &mut [T], less: impl Fn(&T, &T) -> bool) {
    let mut budget = v.len().saturating_mul(8).saturating_add(64);
    for i in 1..v.len() {
        let mut j = i;
        while j > 0 && less(&v[j], &v[j - 1]) {
            v.swap(j, j - 1);
            j -= 1;
            budget -= 1;
            if budget == 0 {
                heapsort_by(v, &less);
                return;
            }
        }
    }
}

/// Heapsort by `less`: `O(n log n)`, no allocation, small code.
pub(crate) fn heapsort_by<T>(v: &mut [T], less: &impl Fn(&T, &T) -> bool) {
    let sift = |v: &mut [T], mut root: usize, end: usize| loop {
        let mut child = 2 * root + 1;
        if child >= end {
            return;
        }
        if child + 1 < end && less(&v[child], &v[child + 1]) {
            child += 1;
        }
        if !less(&v[root], &v[child]) {
            return;
        }
        v.swap(root, child);
        root = child;
    };
    let n = v.len();
    for i in (0..n / 2).rev() {
        sift(v, i, n);
    }
    for end in (1..n).rev() {
        v.swap(0, end);
        sift(v, 0, end);
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    /// Both sorts order like the standard sort: random, sorted, reversed
    /// and nearly sorted inputs of every length up to 300, with duplicates.
    #[test]
    fn sorts_match_the_standard_sort() {
        let mut rng = crate::rng::SplitMix64::new(0x5027);
        std::println!("seed 0x5027");
        for len in 0..300usize {
            for shape in 0..4 {
                let mut v: Vec<u32> = (0..len).map(|_| (rng.next_u64() % 64) as u32).collect();
                match shape {
                    1 => v.sort_unstable(),
                    2 => v.sort_unstable_by(|a, b| b.cmp(a)),
                    3 => {
                        v.sort_unstable();
                        for _ in 0..len / 10 {
                            let (i, j) =
                                (rng.next_u64() as usize % len, rng.next_u64() as usize % len);
                            v.swap(i, j);
                        }
                    }
                    _ => {}
                }
                let mut want = v.clone();
                want.sort_unstable();
                let mut a = v.clone();
                super::sort_by(&mut a, |x, y| x < y);
                assert_eq!(a, want, "sort_by, len {len}, shape {shape}");
                let mut b = v;
                super::heapsort_by(&mut b, &|x: &u32, y: &u32| x < y);
                assert_eq!(b, want, "heapsort_by, len {len}, shape {shape}");
            }
        }
    }
}
