//! Decimal text to `f64`, correctly rounded (round half to even), in a few
//! hundred bytes of code.
//!
//! Why not `f64::from_str`: it is exact and fast, but its Eisel–Lemire
//! tables and big-decimal fallback are about 18 KB of wasm (some 8 KB
//! gzipped), and every download of the npm `Index` module, whose budget is
//! 100 KB gzipped, paid for them: the filter reads numbers in attribute
//! JSON, in filter literals and in Redis's string-to-number coercion. This
//! module gives the same value for every input those accept (tested against
//! `from_str` on random, long and halfway-case inputs); it is slower on
//! inputs outside its fast path (more than 15 significant digits or an
//! exponent beyond ±22), which are rare and never on a search's hot path
//! (a few µs per number when writing attributes).
//!
//! How: the value is `D × 10^E` with `D` the significant digits. When `D <
//! 2^53` and `|E| ≤ 22` both factors are exact doubles and one IEEE
//! multiplication or division rounds correctly (Clinger's fast path).
//! Otherwise `D × 10^E` is computed exactly with big integers (`E < 0`:
//! divided, keeping 66 quotient bits and whether a remainder is left) and
//! rounded once. Digits past the 800th only matter as "something non-zero
//! follows": a halfway point between two doubles has at most 767
//! significant digits, so one extra `1` digit in their place rounds the
//! same way.

use alloc::vec::Vec;

/// Significant digits kept exactly (see the module docs).
const MAX_DIGITS: usize = 800;

/// `[+-] digits [. digits] [(e|E) [+-] digits]` with at least one mantissa
/// digit; `None` for anything else (callers validate the grammar first, so
/// this is a guard, not a parser of its own).
pub(crate) fn parse(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let (neg, body) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    };
    // Split off and read the exponent.
    let m_end = body.iter().position(|&c| c == b'e' || c == b'E').unwrap_or(body.len());
    let (mant, e_part) = body.split_at(m_end);
    let mut e10: i64 = 0;
    if let Some((_, e)) = e_part.split_first() {
        let (eneg, digits) = match e.first() {
            Some(b'-') => (true, &e[1..]),
            Some(b'+') => (false, &e[1..]),
            _ => (false, e),
        };
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        for &c in digits {
            // Saturate: far past ±400 the answer is 0 or infinity anyway.
            e10 = (e10 * 10 + i64::from(c - b'0')).min(1 << 40);
        }
        if eneg {
            e10 = -e10;
        }
    }
    let dots = mant.iter().filter(|&&c| c == b'.').count();
    if dots > 1 || mant.len() == dots || !mant.iter().all(|&c| c == b'.' || c.is_ascii_digit()) {
        return None;
    }
    // The fast path, without allocating: up to 15 significant digits
    // (trailing zeros move the exponent instead).
    let (mut d, mut nsig, mut zeros, mut exp) = (0u64, 0u32, 0u32, 0i64);
    let mut frac = false;
    let mut fast = true;
    for &c in mant {
        if c == b'.' {
            frac = true;
            continue;
        }
        exp -= i64::from(frac);
        if c == b'0' {
            zeros += u32::from(nsig > 0);
        } else {
            nsig += zeros + 1;
            if nsig > 15 {
                fast = false;
                break;
            }
            d = d * 10u64.pow(zeros + 1) + u64::from(c - b'0');
            zeros = 0;
        }
    }
    let exp = exp + i64::from(zeros) + e10;
    let v = if nsig == 0 && fast {
        0.0
    } else if fast && (-22..=22).contains(&exp) {
        #[allow(clippy::cast_precision_loss)] // d < 10^15 < 2^53: exact
        let d = d as f64;
        let mut t = 1.0f64;
        for _ in 0..exp.unsigned_abs() {
            t *= 10.0; // exact up to 10^22
        }
        if exp < 0 {
            d / t
        } else {
            d * t
        }
    } else {
        slow(mant, e10)
    };
    Some(if neg { -v } else { v })
}

/// The exact path: every significant digit (up to [`MAX_DIGITS`]).
fn slow(mant: &[u8], e10: i64) -> f64 {
    let mut digits: Vec<u8> = Vec::new();
    let mut sticky = false;
    // value = digits (as an integer) × 10^exp.
    let mut exp: i64 = e10;
    let mut frac = false;
    for &c in mant {
        if c == b'.' {
            frac = true;
        } else if digits.is_empty() && c == b'0' {
            // A leading zero: only moves the point when after it.
            exp -= i64::from(frac);
        } else if digits.len() < MAX_DIGITS {
            digits.push(c - b'0');
            exp -= i64::from(frac);
        } else {
            sticky |= c != b'0';
            exp += i64::from(!frac);
        }
    }
    magnitude(&mut digits, exp, sticky)
}

/// `digits × 10^exp` (digits without leading zeros), rounded.
fn magnitude(digits: &mut Vec<u8>, mut exp: i64, sticky: bool) -> f64 {
    // Trailing zeros only when nothing follows them (else they are
    // significant: the sticky digit goes after them).
    while !sticky && digits.last() == Some(&0) {
        digits.pop();
        exp += 1;
    }
    let n = digits.len() as i64;
    if n == 0 {
        return 0.0;
    }
    // The value is in [10^(p-1), 10^p).
    let p = n + exp;
    if p > 310 {
        return f64::INFINITY;
    }
    if p < -324 {
        // Below 10^-325, under half the smallest subnormal (4.9e-324).
        return 0.0;
    }
    if sticky {
        digits.push(1);
        exp -= 1;
    }
    let mut num = Big::default();
    for &c in digits.iter() {
        num.mul_add(10, u32::from(c));
    }
    if exp >= 0 {
        num.mul_pow10(exp as u64);
        let len = num.bits();
        let shift = len.saturating_sub(66);
        let (top, rest) = num.top(shift);
        return round(top, shift as i64, rest);
    }
    let mut den = Big::default();
    den.mul_add(1, 1);
    den.mul_pow10(exp.unsigned_abs());
    // q = floor(num · 2^s / den) with 66 or 67 bits.
    let s = den.bits() as i64 - num.bits() as i64 + 66;
    if s > 0 {
        num.shl(s as u64);
    } else {
        den.shl((-s) as u64);
    }
    den.shl(67);
    let mut q: u128 = 0;
    for _ in 0..67 {
        den.shr1();
        q <<= 1;
        if num.ge(&den) {
            num.sub(&den);
            q |= 1;
        }
    }
    round(q, -s, !num.is_zero())
}

/// `m × 2^e` (plus a non-zero fraction below `m`'s last bit when
/// `sticky`), rounded to the nearest double, ties to even.
fn round(m: u128, e: i64, sticky: bool) -> f64 {
    if m == 0 {
        return 0.0;
    }
    let len = 128 - i64::from(m.leading_zeros());
    // The value is in [2^top, 2^(top+1)).
    let top = len - 1 + e;
    if top > 1023 {
        return f64::INFINITY;
    }
    // Bits kept: 53, fewer for subnormals (whose last bit is 2^-1074).
    let keep = if top >= -1022 { 53 } else { top + 1075 };
    if keep < 0 {
        return 0.0;
    }
    let drop = len - keep;
    if drop <= 0 {
        // Exact: at most 53 significant bits.
        #[allow(clippy::cast_precision_loss)]
        return libm::scalbn(m as f64, e as i32);
    }
    let drop = drop as u32;
    let mut r = if drop >= 128 { 0 } else { m >> drop };
    let rem = if drop >= 128 { m } else { m & ((1u128 << drop) - 1) };
    let half = 1u128 << (drop - 1);
    if rem > half || (rem == half && (sticky || r & 1 == 1)) {
        r += 1;
    }
    // r ≤ 2^53: exact as an f64, and scaling by a power of two is exact
    // (or overflows to infinity, which is the right answer then).
    #[allow(clippy::cast_precision_loss)]
    libm::scalbn(r as f64, (e + i64::from(drop)) as i32)
}

/// An unsigned big integer, 32-bit limbs, least significant first.
#[derive(Default)]
struct Big(Vec<u32>);

impl Big {
    fn mul_add(&mut self, m: u32, a: u32) {
        let mut carry = u64::from(a);
        for l in self.0.iter_mut() {
            let t = u64::from(*l) * u64::from(m) + carry;
            *l = t as u32;
            carry = t >> 32;
        }
        if carry > 0 {
            self.0.push(carry as u32);
        }
    }

    fn mul_pow10(&mut self, mut e: u64) {
        while e >= 9 {
            self.mul_add(1_000_000_000, 0);
            e -= 9;
        }
        for _ in 0..e {
            self.mul_add(10, 0);
        }
    }

    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    fn is_zero(&self) -> bool {
        self.0.iter().all(|&l| l == 0)
    }

    fn bits(&self) -> u64 {
        let mut n = self.0.len();
        while n > 0 && self.0[n - 1] == 0 {
            n -= 1;
        }
        if n == 0 {
            return 0;
        }
        n as u64 * 32 - u64::from(self.0[n - 1].leading_zeros())
    }

    fn shl(&mut self, s: u64) {
        let (words, bits) = ((s / 32) as usize, (s % 32) as u32);
        if bits > 0 {
            let mut carry = 0u32;
            for l in self.0.iter_mut() {
                let v = *l;
                *l = (v << bits) | carry;
                carry = v >> (32 - bits);
            }
            if carry > 0 {
                self.0.push(carry);
            }
        }
        if words > 0 && !self.0.is_empty() {
            self.0.splice(0..0, core::iter::repeat_n(0, words));
        }
    }

    fn shr1(&mut self) {
        let mut carry = 0u32;
        for l in self.0.iter_mut().rev() {
            let v = *l;
            *l = (v >> 1) | carry;
            carry = v << 31;
        }
        self.trim();
    }

    fn ge(&self, o: &Big) -> bool {
        let (a, b) = (self.0.len(), o.0.len());
        let n = a.max(b);
        for i in (0..n).rev() {
            let x = self.0.get(i).copied().unwrap_or(0);
            let y = o.0.get(i).copied().unwrap_or(0);
            if x != y {
                return x > y;
            }
        }
        true
    }

    /// `self -= o`, for `self ≥ o`.
    fn sub(&mut self, o: &Big) {
        let mut borrow = 0i64;
        for (i, l) in self.0.iter_mut().enumerate() {
            let t = i64::from(*l) - i64::from(o.0.get(i).copied().unwrap_or(0)) - borrow;
            borrow = i64::from(t < 0);
            *l = (t + (borrow << 32)) as u32;
        }
        self.trim();
    }

    /// The bits from `shift` up (fewer than 128 of them), and whether any
    /// bit below `shift` is set.
    fn top(&self, shift: u64) -> (u128, bool) {
        let mut v: u128 = 0;
        let mut rest = false;
        for i in 0..self.bits() {
            let bit = (self.0[(i / 32) as usize] >> (i % 32)) & 1 == 1;
            if i < shift {
                rest |= bit;
            } else if bit {
                v |= 1u128 << (i - shift);
            }
        }
        (v, rest)
    }
}

#[cfg(test)]
mod tests {
    use super::parse;
    use alloc::format;
    use alloc::string::String;

    fn check(s: &str) {
        let want: f64 = s.parse().unwrap();
        let got = parse(s).unwrap();
        assert_eq!(got.to_bits(), want.to_bits(), "{s}: got {got:e}, want {want:e}");
    }

    #[test]
    fn hard_cases_round_like_from_str() {
        for s in [
            "0", "-0", "0.0", "00.000e5", "1", "-1", ".5", "5.", "+7", "0.1", "0.3", "3.14159",
            "1e22", "1e23", "9007199254740992", "9007199254740993", "9007199254740993.0000001",
            "9007199254740994", "9007199254740995", "123456789012345678901234567890",
            "0.30000000000000004", "2.2250738585072011e-308", "2.2250738585072014e-308",
            "2.2250738585072012e-308", "4.9406564584124654e-324", "2.4703282292062327e-324",
            "2.4703282292062328e-324", "2.4703282292062327208828439643411068618252990130716238221279284125033775363510437593264991818081799618989828234772285886546332835517796989819938739800539093906315035659515570226392290858392449105184435931802849936536152500319370457678249219365623669863658480757001585769269903706311928279558551332927834338409351978015531246597263579574622766465272827220056374006485499977096599470454020828166226237857393450736339007967761930577506740176324673600968951340535537458516661134223766678604162159680461914467291840300530057530849048765391711386591646239524912623653881879636239373280423891018672348497668235089863388587925628302755995657524455507255189313690836254779186948667994968324049705821028513185451396213837722826145437693412532098591327667236328125e-324",
            "2.4703282292062327208828439643411068618252990130716238221279284125033775363510437593264991818081799618989828234772285886546332835517796989819938739800539093906315035659515570226392290858392449105184435931802849936536152500319370457678249219365623669863658480757001585769269903706311928279558551332927834338409351978015531246597263579574622766465272827220056374006485499977096599470454020828166226237857393450736339007967761930577506740176324673600968951340535537458516661134223766678604162159680461914467291840300530057530849048765391711386591646239524912623653881879636239373280423891018672348497668235089863388587925628302755995657524455507255189313690836254779186948667994968324049705821028513185451396213837722826145437693412532098591327667236328125000000000000001e-324",
            "1.7976931348623157e308", "1.7976931348623158e308", "1.7976931348623159e308",
            "1e308", "1e309", "1e-324", "1e-400", "1e999999999999999999", "1e-999999999999999",
            "123.456e-2", "0.000000000000000000000000000001234", "1e-22", "1e-23",
            "18446744073709551615", "18446744073709551616", "340282366920938463463374607431768211456",
        ] {
            check(s);
        }
        // A long run of digits past the 800 kept, zero and non-zero.
        let mut s = String::from("1.");
        s.push_str(&"0".repeat(900));
        check(&s);
        s.push('1');
        check(&s);
        let t = format!("{}e-1000", "7".repeat(1200));
        check(&t);
    }

    /// Random doubles printed with 1 to 30 significant digits (so near
    /// ties and far from them), random digit strings and exponents.
    #[test]
    fn random_inputs_round_like_from_str() {
        let mut state = 0x00de_c0de_u64;
        std::println!("seed {state:#x}");
        let mut next = move || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        for round in 0..60_000 {
            let s = if round % 2 == 0 {
                let x = f64::from_bits(next() & !(1 << 63));
                if !x.is_finite() {
                    continue;
                }
                let prec = (next() % 30) as usize;
                format!("{x:.prec$e}")
            } else {
                let n = 1 + next() % 40;
                let mut s: String =
                    (0..n).map(|_| char::from(b'0' + (next() % 10) as u8)).collect();
                if next() % 2 == 0 {
                    let at = (next() % n) as usize;
                    s.insert(at, '.');
                }
                let e = (next() % 700) as i64 - 350;
                format!("{s}e{e}")
            };
            check(&s);
        }
    }
}
