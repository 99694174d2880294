//! Numbers the way Redis's filter sees them.
//!
//! Redis turns a string into a number with C's `strtod` and accepts the
//! result only if `strtod` consumed the *whole* string; otherwise the string
//! counts as 0. So `"12"` is 12, `" 12"` is 12 (leading blanks are skipped),
//! `"12 "` and `"12abc"` are 0, and `"0x10"`, `"inf"` and `"nan"` are what
//! glibc makes of them (16, infinity, NaN). [`str_to_num`] reproduces that
//! without `std` and identically in native and wasm builds: the decimal
//! case is handed to `crate::dec`, correctly rounded like glibc's `strtod`
//! and `f64::from_str` (and allocation-free for up to 15 significant
//! digits); the rare hex case is converted here.
//!
//! `**` and `%` go through `libm` so that native and wasm shards agree to
//! the bit (the platform `pow` may differ in the last place).

/// Redis copies the string into a 256-byte buffer before `strtod`; longer
/// strings are not converted and count as 0.
const MAX_NUM_STR: usize = 255;

/// C's `isspace` in the "C" locale.
#[inline]
pub(crate) fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// The numeric value of a string operand: `strtod` over the whole string,
/// 0 when it does not consume all of it.
pub fn str_to_num(s: &str) -> f64 {
    // The C string ends at the first NUL.
    let s = match s.as_bytes().iter().position(|&b| b == 0) {
        Some(i) => crate::sub(s, ..i),
        None => s,
    };
    if s.len() > MAX_NUM_STR {
        return 0.0;
    }
    strtod_full(s).unwrap_or(0.0)
}

/// `strtod(s, &end)` with `*end == '\0'`: the value if the whole of `s`
/// (after leading blanks) is one number, else `None`. The empty string is 0
/// (`strtod` converts nothing, and the end pointer is at the terminator).
fn strtod_full(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && is_c_space(b[i]) {
        i += 1;
    }
    if i == b.len() {
        // Nothing converted: end == start; `*end` is NUL only if there were
        // no blanks either. Both cases give 0 in Redis.
        return Some(0.0);
    }
    let start = i;
    let neg = match b[i] {
        b'-' => {
            i += 1;
            true
        }
        b'+' => {
            i += 1;
            false
        }
        _ => false,
    };
    let rest = crate::sub(s, i..);
    let lower_starts = |p: &str| {
        rest.len() >= p.len() && rest.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes())
    };
    let sign = if neg { -1.0 } else { 1.0 };
    if lower_starts("inf") {
        let r = rest.len();
        return if r == 3 || (r == 8 && lower_starts("infinity")) {
            Some(sign * f64::INFINITY)
        } else {
            None
        };
    }
    if lower_starts("nan") {
        let tail = &rest.as_bytes()[3..];
        let ok = tail.is_empty()
            || (tail.len() >= 2
                && tail[0] == b'('
                && tail[tail.len() - 1] == b')'
                && tail[1..tail.len() - 1].iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_'));
        return if ok { Some(f64::NAN) } else { None };
    }
    let rb = rest.as_bytes();
    if rb.len() >= 2 && rb[0] == b'0' && (rb[1] == b'x' || rb[1] == b'X') {
        if let Some(v) = hex_float(&rb[2..]) {
            return Some(sign * v);
        }
        // "0x" with no hex digit: strtod converts the "0" and stops at 'x'.
        return None;
    }
    if decimal_len(rb) == rb.len() && !rb.is_empty() {
        // `dec::parse` accepts exactly this grammar (plus a sign).
        return crate::dec::parse(crate::sub(s, start..));
    }
    None
}

/// Length of the longest prefix of `b` that `strtod` reads as an unsigned
/// decimal number (0 if none): `digits [. digits] [e [sign] digits]` with at
/// least one mantissa digit; an exponent without digits is not consumed.
fn decimal_len(b: &[u8]) -> usize {
    let mut i = 0;
    let mut digits = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
        digits += 1;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return 0;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        let exp_start = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j > exp_start {
            i = j;
        }
    }
    i
}

/// The value of `hexdigits [. hexdigits] [p [sign] digits]` if that is the
/// whole of `b`, else `None`.
fn hex_float(b: &[u8]) -> Option<f64> {
    let mut i = 0;
    let mut mant: u64 = 0;
    let mut sticky = false;
    let mut exp2: i64 = 0;
    let mut digits = 0;
    let mut seen_dot = false;
    while i < b.len() {
        let c = b[i];
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            b'.' if !seen_dot => {
                seen_dot = true;
                i += 1;
                continue;
            }
            _ => break,
        };
        digits += 1;
        if mant >> 60 == 0 {
            mant = (mant << 4) | u64::from(d);
            if seen_dot {
                exp2 -= 4;
            }
        } else {
            // Out of room: the digit only matters as a sticky bit.
            sticky |= d != 0;
            if !seen_dot {
                exp2 += 4;
            }
        }
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    if i < b.len() && (b[i] == b'p' || b[i] == b'P') {
        let mut j = i + 1;
        let mut eneg = false;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            eneg = b[j] == b'-';
            j += 1;
        }
        let es = j;
        let mut e: i64 = 0;
        while j < b.len() && b[j].is_ascii_digit() {
            e = (e * 10 + i64::from(b[j] - b'0')).min(1 << 20);
            j += 1;
        }
        if j > es {
            exp2 += if eneg { -e } else { e };
            i = j;
        }
    }
    if i != b.len() {
        return None;
    }
    if sticky {
        mant |= 1;
    }
    // u64 -> f64 rounds to nearest; scalbn then scales exactly (except in
    // the subnormal range, where this may round twice: an accepted
    // difference for hex strings nobody writes).
    #[allow(clippy::cast_precision_loss)]
    let m = mant as f64;
    Some(libm::scalbn(m, exp2.clamp(-4000, 4000) as i32))
}

/// Validates a number literal of the filter language as Redis reads it and
/// returns its value. `text` is the run of `[0-9.eE]` (with an optional
/// leading `-`) that Redis's tokenizer collects; `strtod` must consume all of
/// it, so `1e-5`, `1e+5` (the run stops at the sign) and `1.2.3` are errors.
pub(crate) fn literal(text: &str) -> Option<f64> {
    let b = text.as_bytes();
    let body = b.strip_prefix(b"-").unwrap_or(b);
    if body.is_empty() || text.len() > MAX_NUM_STR {
        return None;
    }
    if decimal_len(body) != body.len() {
        return None;
    }
    crate::dec::parse(text)
}

/// `a ** b`: C `pow`.
#[inline]
pub(crate) fn pow(a: f64, b: f64) -> f64 {
    libm::pow(a, b)
}

/// `a % b`: C `fmod` (Rust's `%` on `f64` has the same definition).
///
/// Integers below 2^53 (what attributes like ids and years are) take an
/// integer remainder, which is exact there and equal to `fmod`, sign of
/// zero included; without `std` the float `%` is a software `fmod` of
/// about 30 ns, which was a third of a filter's evaluation (`.u % 100`).
#[inline]
pub(crate) fn fmod(a: f64, b: f64) -> f64 {
    const EXACT: u64 = 1 << 53;
    let (ai, bi) = (a as i64, b as i64);
    // `as` saturates, and NaN becomes 0: the round trip rejects both.
    if ai as f64 == a
        && bi as f64 == b
        && bi != 0
        && ai.unsigned_abs() <= EXACT
        && bi.unsigned_abs() <= EXACT
    {
        let r = (ai % bi) as f64;
        // C: the result has the sign of `a`, also when it is zero.
        return if r == 0.0 && a.is_sign_negative() { -0.0 } else { r };
    }
    a % b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fmod_agrees_with_libm() {
        let vals = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            2.0,
            -2.0,
            3.0,
            7.0,
            -7.0,
            100.0,
            -100.0,
            0.5,
            -2.5,
            1e15,
            -1e15,
            9007199254740992.0,
            -9007199254740992.0,
            9007199254740994.0,
            1e300,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            97505.0,
            12345678901.0,
        ];
        for &a in &vals {
            for &b in &vals {
                let (got, want) = (fmod(a, b), libm::fmod(a, b));
                assert!(
                    got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
                    "fmod({a}, {b}) = {got}, libm says {want}"
                );
            }
        }
        // Every remainder by small moduli, with signs.
        for a in -300i64..300 {
            for b in [-7i64, -3, -1, 1, 2, 3, 10, 100] {
                let (a, b) = (a as f64, b as f64);
                assert_eq!(fmod(a, b).to_bits(), libm::fmod(a, b).to_bits(), "{a} % {b}");
            }
        }
    }

    #[test]
    fn strtod_cases() {
        let cases: &[(&str, f64)] = &[
            ("12", 12.0),
            (" 12", 12.0),
            ("\t\n12", 12.0),
            ("12 ", 0.0),
            ("12abc", 0.0),
            ("abc", 0.0),
            ("", 0.0),
            ("   ", 0.0),
            ("-3.5", -3.5),
            ("+4", 4.0),
            ("1e3", 1000.0),
            ("1E-2", 0.01),
            ("1e", 0.0),
            ("1e+", 0.0),
            (".5", 0.5),
            ("5.", 5.0),
            (".", 0.0),
            ("-", 0.0),
            ("0x10", 16.0),
            ("0X1p4", 16.0),
            ("0x1.8", 1.5),
            ("-0x.8p1", -1.0),
            ("0x", 0.0),
            ("inf", f64::INFINITY),
            ("-Infinity", f64::NEG_INFINITY),
            ("infx", 0.0),
            ("1e999", f64::INFINITY),
            ("1e-999", 0.0),
            ("12\u{0}34", 12.0),
        ];
        for (s, want) in cases {
            assert_eq!(str_to_num(s), *want, "str_to_num({s:?})");
        }
        assert!(str_to_num("nan").is_nan());
        assert!(str_to_num("-NaN(123)").is_nan());
        assert_eq!(str_to_num("nan("), 0.0);
        let long = "1".repeat(256);
        assert_eq!(str_to_num(&long), 0.0);
        assert_eq!(str_to_num(&long[..255]), long[..255].parse::<f64>().unwrap());
    }

    #[test]
    fn literal_cases() {
        assert_eq!(literal("12"), Some(12.0));
        assert_eq!(literal("-12.5"), Some(-12.5));
        assert_eq!(literal("1e5"), Some(1e5));
        assert_eq!(literal("1.e5"), Some(1e5));
        assert_eq!(literal("1."), Some(1.0));
        assert_eq!(literal("-.5"), Some(-0.5));
        assert_eq!(literal("1e"), None);
        assert_eq!(literal("1.2.3"), None);
        assert_eq!(literal("-"), None);
        assert_eq!(literal("e5"), None);
        assert_eq!(literal("."), None);
    }
}
