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
