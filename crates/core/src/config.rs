//! Index configuration: the paper's parameters plus metric and quantization.

use crate::error::{Error, Result};
use alloc::format;

/// Largest supported dimension.
pub const MAX_DIM: usize = 65_536;
/// Largest supported `m` (so that `m0 = 2m` fits the link-count field).
pub const MAX_M: usize = 128;
/// Largest supported `ef_construction`.
pub const MAX_EF_CONSTRUCTION: usize = 65_536;

/// How distance is measured. Every distance is "smaller is closer".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Metric {
    /// `1 - cos(a, b)`. Vectors are normalized at insert; the original norm is
    /// kept so [`Index::get`](crate::Index::get) returns what was inserted.
    Cosine,
    /// Squared Euclidean distance `Σ (a_i - b_i)²`.
    L2,
    /// Negated inner product `-Σ a_i b_i`.
    InnerProduct,
}

impl Metric {
    /// The short name used in files and on the wire: `cosine`, `l2`, `ip`.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Cosine => "cosine",
            Metric::L2 => "l2",
            Metric::InnerProduct => "ip",
        }
    }

    /// Parses `cosine`, `l2` or `ip` (also `angular`, `euclidean`, `dot`).
    pub fn parse(s: &str) -> Option<Metric> {
        match s {
            "cosine" | "angular" => Some(Metric::Cosine),
            "l2" | "euclidean" => Some(Metric::L2),
            "ip" | "dot" | "inner_product" => Some(Metric::InnerProduct),
            _ => None,
        }
    }

    pub(crate) fn code(self) -> u8 {
        self as u8
    }

    pub(crate) fn from_code(c: u8) -> Option<Metric> {
        [Metric::Cosine, Metric::L2, Metric::InnerProduct].get(c as usize).copied()
    }
}

/// How vectors are stored. Queries always stay `f32`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Quantization {
    /// Full precision, 4 bytes per component.
    F32,
    /// One signed byte per component with a per-vector scale (no training).
    I8,
    /// One bit per component (the sign) with a per-vector magnitude.
    Binary,
}

impl Quantization {
    /// `f32`, `i8` or `binary`.
    pub fn name(self) -> &'static str {
        match self {
            Quantization::F32 => "f32",
            Quantization::I8 => "i8",
            Quantization::Binary => "binary",
        }
    }

    /// Parses `f32`, `i8` (or `int8`) and `binary`.
    pub fn parse(s: &str) -> Option<Quantization> {
        match s {
            "f32" | "float32" | "none" => Some(Quantization::F32),
            "i8" | "int8" | "q8" => Some(Quantization::I8),
            "binary" | "bin" => Some(Quantization::Binary),
            _ => None,
        }
    }

    pub(crate) fn code(self) -> u8 {
        self as u8
    }

    pub(crate) fn from_code(c: u8) -> Option<Quantization> {
        [Quantization::F32, Quantization::I8, Quantization::Binary].get(c as usize).copied()
    }
}

/// Settings of an index. Build with [`Config::new`] and the setters; the
/// values are checked by [`Config::validate`] (called by `Index::new`).
///
/// ```
/// use vecshard_core::{Config, Metric, Quantization};
/// let cfg = Config::new(128, Metric::L2).m(24).ef_construction(300).quantization(Quantization::I8).seed(7);
/// assert!(cfg.validate().is_ok());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Vector dimension, `1..=65536`.
    pub dim: usize,
    /// Distance function.
    pub metric: Metric,
    /// The paper's `M`: links per node on layers above 0 (layer 0 keeps `m0 = 2M`).
    /// Default 16; allowed `2..=128`.
    pub m: usize,
    /// The paper's `efConstruction`: candidate list size while inserting.
    /// Default 200; allowed `1..=65536` (values below `m` behave as `m`).
    pub ef_construction: usize,
    /// Default `ef` for searches that do not pass one (the paper's `ef`). Default 64.
    pub ef_search: usize,
    /// Vector storage.
    pub quantization: Quantization,
    /// Seed of the level generator. Same seed + same operations = same graph.
    pub seed: u64,
}

impl Config {
    /// A configuration with the defaults: `m = 16`, `ef_construction = 200`,
    /// `ef_search = 64`, `f32` storage, seed `0x5eed`.
    pub fn new(dim: usize, metric: Metric) -> Config {
        Config {
            dim,
            metric,
            m: 16,
            ef_construction: 200,
            ef_search: 64,
            quantization: Quantization::F32,
            seed: 0x5eed,
        }
    }

    /// Sets `m`.
    pub fn m(mut self, m: usize) -> Self {
        self.m = m;
        self
    }

    /// Sets `ef_construction`.
    pub fn ef_construction(mut self, ef: usize) -> Self {
        self.ef_construction = ef;
        self
    }

    /// Sets the default search `ef`.
    pub fn ef_search(mut self, ef: usize) -> Self {
        self.ef_search = ef;
        self
    }

    /// Sets the quantization.
    pub fn quantization(mut self, q: Quantization) -> Self {
        self.quantization = q;
        self
    }

    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The paper's `M_max0`: the link cap on layer 0.
    pub fn m0(&self) -> usize {
        2 * self.m
    }

    /// The paper's `m_L = 1 / ln(M)`: the level-generation multiplier.
    pub fn ml(&self) -> f64 {
        1.0 / crate::math::ln(self.m as f64)
    }

    /// Checks every field; the error names the field and the allowed range.
    pub fn validate(&self) -> Result<()> {
        if self.dim == 0 || self.dim > MAX_DIM {
            return Err(Error::config(format!("dim must be in 1..={MAX_DIM}, got {}", self.dim)));
        }
        if self.m < 2 || self.m > MAX_M {
            return Err(Error::config(format!("m must be in 2..={MAX_M}, got {}", self.m)));
        }
        if self.ef_construction == 0 || self.ef_construction > MAX_EF_CONSTRUCTION {
            return Err(Error::config(format!(
                "ef_construction must be in 1..={MAX_EF_CONSTRUCTION}, got {}",
                self.ef_construction
            )));
        }
        if self.ef_search == 0 || self.ef_search > MAX_EF_CONSTRUCTION {
            return Err(Error::config(format!(
                "ef_search must be in 1..={MAX_EF_CONSTRUCTION}, got {}",
                self.ef_search
            )));
        }
        Ok(())
    }
}
