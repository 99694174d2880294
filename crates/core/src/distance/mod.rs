//! Distance kernels.
//!
//! Six primitive kernels cover every metric and storage format:
//!
//! | kernel       | operands              | used for                              |
//! |--------------|-----------------------|---------------------------------------|
//! | `dot`        | f32 · f32             | f32 cosine / inner product            |
//! | `l2sq`       | f32 − f32             | f32 squared L2                        |
//! | `dot_i8`     | f32 · i8              | i8 cosine / inner product (asymmetric)|
//! | `l2sq_i8`    | f32 − scale·i8        | i8 squared L2 (asymmetric)            |
//! | `hamming`    | bits ⊕ bits           | binary traversal                      |
//! | `masked_sum` | Σ f32 where bit set   | binary rescoring (asymmetric)         |
//!
//! Each comes in a portable scalar version and, where the target allows,
//! a SIMD one: AVX2+FMA on x86_64 (picked at run time when the `std`
//! feature is on, since detection needs the OS) and `simd128` on wasm32
//! (picked at compile time: wasm has no run-time feature detection, so a
//! module is built with `-C target-feature=+simd128` or without it; adding
//! `+relaxed-simd` makes its multiply-adds fused, see `wasm.rs`).
//! [`Kernels`] is a table of function pointers chosen once per index; the
//! indirect call costs about a nanosecond against 25–400 ns of work.
//!
//! Symmetric i8·i8 and i8 L2 between two stored vectors are needed only while
//! building (the neighbour-selection heuristic); they are written so LLVM
//! auto-vectorizes them and are not hand-tuned.

pub mod scalar;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod wasm;
#[cfg(all(target_arch = "x86_64", feature = "std"))]
mod x86;

/// A table of distance kernels. All slices passed to one call have equal
/// length (`bits` slices hold `ceil(dim / 64)` words, `f32` ones `dim`).
#[derive(Clone, Copy)]
pub struct Kernels {
    /// Name of the instruction set, for reports: `scalar`, `avx2+fma`,
    /// `simd128`, or `simd128+relaxed` (built with relaxed SIMD: fused
    /// multiply-add).
    pub name: &'static str,
    /// `Σ a_i b_i`.
    pub dot: fn(&[f32], &[f32]) -> f32,
    /// `Σ (a_i - b_i)²`.
    pub l2sq: fn(&[f32], &[f32]) -> f32,
    /// `Σ q_i c_i` with `c` signed bytes.
    pub dot_i8: fn(&[f32], &[i8]) -> f32,
    /// `Σ (q_i - s c_i)²`.
    pub l2sq_i8: fn(&[f32], &[i8], f32) -> f32,
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
            hamming: scalar::hamming,
            masked_sum: scalar::masked_sum,
        }
    }

    /// The fastest kernels this CPU or module supports.
    pub fn best() -> Kernels {
        Kernels::available().last().copied().unwrap_or_else(Kernels::scalar)
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
        }
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        v.push(wasm::kernels());
        v
    }
}
