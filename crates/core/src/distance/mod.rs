//! Distance kernels.
//!
//! Eight primitive kernels cover every metric and storage format:
//!
//! | kernel        | operands              | used for                                |
//! |---------------|-----------------------|-----------------------------------------|
//! | `dot`         | f32 · f32             | f32 cosine / inner product              |
//! | `l2sq`        | f32 − f32             | f32 squared L2                          |
//! | `dot_i8`      | f32 · i8              | i8 rescoring, cosine / IP (asymmetric)  |
//! | `l2sq_i8`     | f32 − scale·i8        | i8 rescoring, squared L2 (asymmetric)   |
//! | `dot_i8i8`    | i8 · i8 → i32         | i8 walk, cosine / IP; heuristic         |
//! | `dot_sq_i8i8` | (i8 · i8, i8 · i8)    | i8 walk, squared L2 (`q·c` and `c·c`)   |
//! | `hamming`     | bits ⊕ bits           | binary traversal                        |
//! | `masked_sum`  | Σ f32 where bit set   | binary rescoring (asymmetric)           |
//!
//! Each comes in a portable scalar version and, where the target allows,
//! SIMD ones: AVX2+FMA and AVX-512 (F, BW, VL, VNNI, VPOPCNTDQ) on x86_64,
//! picked at run time when the `std` feature is on, since detection needs
//! the OS; and `simd128` on wasm32, picked at compile time (wasm has no
//! run-time feature detection, so a module is built with `-C
//! target-feature=+simd128` or without it; adding `+relaxed-simd` makes its
//! multiply-adds fused and its i8·i8 dots `relaxed_dot_i8x16_i7x16`, see
//! `wasm.rs`). [`Kernels`] is a table of function
//! pointers chosen once per index; the indirect call costs about a
//! nanosecond against 25–400 ns of work.
//!
//! The integer kernels are exact for codes (−127..=127, all that
//! quantization makes; i32 sums of i8 products cannot overflow for
//! `dim ≤ 65536`: `127² · 65536 < 2³¹`), so every set returns the same
//! bits for them, on every target. Every set but `simd128+relaxed` is exact
//! for −128 too; that one is deterministic there and off by a written bound
//! (`wasm.rs`, module `relaxed`).
//!
//! **Choosing a set.** [`Kernels::best`] takes the last of
//! [`Kernels::available`], except that the AVX-512 set is used only when
//! asked for (see [`AVX512_BY_DEFAULT`]). With `std`, the environment
//! variable `VECSHARD_KERNELS` (`scalar`, `avx2`, `avx512`; a prefix of the
//! set's name) forces a set for benchmarks and tests; [`Kernels::by_name`]
//! does the same from code. The no_std build always uses scalar (x86_64) or
//! its compile-time set (wasm32).

pub mod scalar;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod wasm;
#[cfg(all(target_arch = "x86_64", feature = "std"))]
mod x86;
#[cfg(all(target_arch = "x86_64", feature = "std"))]
mod x86_512;

/// Whether [`Kernels::best`] picks the AVX-512 set when the CPU has it.
///
/// `false` until the kernel test (`crates/core/tests/kernels.rs`) has run on
/// a CPU with AVX-512 VNNI and VPOPCNTDQ: the machine these kernels were
/// written on has only AVX2, so they compile and are type-checked but were
/// never executed there. Force them with `VECSHARD_KERNELS=avx512`, run the
/// kernel test, then flip this.
pub const AVX512_BY_DEFAULT: bool = false;

/// A table of distance kernels. All slices passed to one call have equal
/// length (`bits` slices hold `ceil(dim / 64)` words, `f32` ones `dim`).
#[derive(Clone, Copy)]
pub struct Kernels {
    /// Name of the instruction set, for reports: `scalar`, `avx2+fma`,
    /// `avx512+vnni`, `simd128`, or `simd128+relaxed` (built with relaxed
    /// SIMD: fused multiply-add and the relaxed i8 dot).
    pub name: &'static str,
    /// `Σ a_i b_i`.
    pub dot: fn(&[f32], &[f32]) -> f32,
    /// `Σ (a_i - b_i)²`.
    pub l2sq: fn(&[f32], &[f32]) -> f32,
    /// `Σ q_i c_i` with `c` signed bytes.
    pub dot_i8: fn(&[f32], &[i8]) -> f32,
    /// `Σ (q_i - s c_i)²`.
    pub l2sq_i8: fn(&[f32], &[i8], f32) -> f32,
    /// `Σ a_i b_i` over two i8 vectors, exact.
    pub dot_i8i8: fn(&[i8], &[i8]) -> i32,
    /// `(Σ q_i c_i, Σ c_i²)`, exact: the two integer terms of an L2 distance
    /// between a quantized query and a stored code.
    pub dot_sq_i8i8: fn(&[i8], &[i8]) -> (i32, i32),
    /// Number of differing bits.
    pub hamming: fn(&[u64], &[u64]) -> u32,
    /// `Σ q_i` over the components whose bit is set (bit `i % 64` of word `i / 64`).
    pub masked_sum: fn(&[f32], &[u64]) -> f32,
}

impl core::fmt::Debug for Kernels {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Kernels").field("name", &self.name).finish()
    }
}

impl Kernels {
    /// The portable scalar kernels (the reference the SIMD ones are tested against).
    pub fn scalar() -> Kernels {
        Kernels {
            name: "scalar",
            dot: scalar::dot,
            l2sq: scalar::l2sq,
            dot_i8: scalar::dot_i8,
            l2sq_i8: scalar::l2sq_i8,
            dot_i8i8: scalar::dot_i8i8,
            dot_sq_i8i8: scalar::dot_sq_i8i8,
            hamming: scalar::hamming,
            masked_sum: scalar::masked_sum,
        }
    }

    /// The kernels an index uses by default: the set named by
    /// `VECSHARD_KERNELS` if it is set and available (with `std`), else the
    /// fastest set this CPU or module supports (AVX-512 only if
    /// [`AVX512_BY_DEFAULT`]).
    pub fn best() -> Kernels {
        #[cfg(feature = "std")]
        if let Some(k) = std::env::var("VECSHARD_KERNELS").ok().and_then(|n| Kernels::by_name(&n)) {
            return k;
        }
        Kernels::available()
            .into_iter()
            .rev()
            .find(|k| AVX512_BY_DEFAULT || !k.name.starts_with("avx512"))
            .unwrap_or_else(Kernels::scalar)
    }

    /// The available set whose name starts with `name` (`scalar`, `avx2`,
    /// `avx512`, `simd128`), or `None` if this CPU or module has none.
    pub fn by_name(name: &str) -> Option<Kernels> {
        let name = name.trim();
        if name.is_empty() {
            return None;
        }
        Kernels::available().into_iter().find(|k| k.name.starts_with(name))
    }

    /// Every kernel set usable here, scalar first and best last (for tests and benches).
    pub fn available() -> alloc::vec::Vec<Kernels> {
        #[allow(unused_mut)]
        let mut v = alloc::vec![Kernels::scalar()];
        #[cfg(all(target_arch = "x86_64", feature = "std"))]
        if std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("fma")
            && std::is_x86_feature_detected!("popcnt")
        {
            v.push(x86::kernels());
            if std::is_x86_feature_detected!("avx512f")
                && std::is_x86_feature_detected!("avx512bw")
                && std::is_x86_feature_detected!("avx512vl")
                && std::is_x86_feature_detected!("avx512vnni")
                && std::is_x86_feature_detected!("avx512vpopcntdq")
            {
                v.push(x86_512::kernels());
            }
        }
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        v.push(wasm::kernels());
        v
    }
}
