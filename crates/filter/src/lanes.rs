//! [`Lanes`]: a filter over numbers only, evaluated for 64 elements at a
//! time.
//!
//! A shard that cannot answer a filter from its indexes (`.u % 100 == 3`)
//! has to evaluate it on every element, and one [`Filter::eval`] per
//! element pays the interpreter's dispatch, a stack and a closure call per
//! selector each time (tens of nanoseconds). Most such filters are
//! arithmetic on numeric fields, and over numbers every operator is one
//! `f64` operation, so the same postfix program can run *column at a
//! time*: each instruction once per block of 64 elements, as a tight loop
//! over arrays that the compiler vectorizes. The caller gathers each
//! field's numbers for the block and says which elements had a number in
//! every field; the others (a string, `null`, an array, or a missing
//! field) it settles with [`Filter::eval`] (or, for a missing field, as
//! false).
//!
//! The semantics are the interpreter's for numeric operands, operator for
//! operator (`ops::apply`): arithmetic in IEEE `f64`, `%` as `fmod`, `**`
//! as `libm::pow`, comparisons and `==` as numbers, and the truth of a
//! number is `!= 0` (NaN is true). A proptest checks that the two agree.

use alloc::vec::Vec;

use crate::compile::Ins;
use crate::num::{fmod, pow};
use crate::ops::{b2n, BinOp};
use crate::value::Value;
use crate::Filter;

/// Elements per block.
pub const LANES: usize = 64;

/// One block's values of one field, by lane.
pub type Block = [f64; LANES];

#[derive(Clone, Copy, Debug)]
enum LIns {
    Const(f64),
    Field(u32),
    Not,
    Bin(BinOp),
}

/// A [`Filter`]'s program for numeric operands (see the module docs);
/// from [`Filter::lanes`].
#[derive(Clone, Debug)]
pub struct Lanes {
    code: Vec<LIns>,
    max_stack: usize,
    fields: usize,
}

impl Filter {
    /// The program as [`Lanes`], when every literal is a number and no
    /// operator needs anything but numbers (`in` does: it wants a tuple
    /// or strings), and the filter reads at least one field (a filter
    /// without fields still rejects elements that have no attributes,
    /// which lanes cannot see). `None` otherwise.
    pub fn lanes(&self) -> Option<Lanes> {
        if self.fields.is_empty() {
            return None;
        }
        let mut code = Vec::with_capacity(self.code.len());
        for ins in &self.code {
            code.push(match *ins {
                Ins::Const(i) => match self.consts[i as usize] {
                    Value::Num(n) => LIns::Const(n),
                    _ => return None,
                },
                Ins::Field(i) => LIns::Field(i),
                Ins::Not => LIns::Not,
                Ins::Bin(BinOp::In) => return None,
                Ins::Bin(op) => LIns::Bin(op),
            });
        }
        Some(Lanes { code, max_stack: self.max_stack, fields: self.fields.len() })
    }
}

impl Lanes {
    /// Evaluates the block: `fields[i][l]` is the number of field
    /// [`Filter::fields`]`()[i]` in lane `l` (lanes whose elements did not
    /// have a number in every field may hold anything: mask them out).
    /// Returns the lanes where the filter is true, bit `l` for lane `l`.
    /// `stack` is scratch space, reused across calls.
    pub fn eval(&self, fields: &[Block], stack: &mut Vec<Block>) -> u64 {
        assert!(fields.len() >= self.fields, "one block per field");
        stack.clear();
        stack.resize(self.max_stack.max(1), [0.0; LANES]);
        let mut sp = 0;
        for ins in &self.code {
            match *ins {
                LIns::Const(c) => {
                    stack[sp] = [c; LANES];
                    sp += 1;
                }
                LIns::Field(i) => {
                    stack[sp] = fields[i as usize];
                    sp += 1;
                }
                LIns::Not => stack[sp - 1].iter_mut().for_each(|x| *x = b2n(*x == 0.0)),
                LIns::Bin(op) => {
                    let (lo, hi) = stack.split_at_mut(sp - 1);
                    binary(op, &mut lo[sp - 2], &hi[0]);
                    sp -= 1;
                }
            }
        }
        let mut mask = 0u64;
        for (l, x) in stack[0].iter().enumerate() {
            // NaN != 0 is true, as in C.
            mask |= ((*x != 0.0) as u64) << l;
        }
        mask
    }
}

/// `a = a op b`, lane by lane, with `ops::apply`'s numeric semantics.
fn binary(op: BinOp, a: &mut Block, b: &Block) {
    let zip = a.iter_mut().zip(b.iter());
    match op {
        BinOp::Pow => zip.for_each(|(x, y)| *x = pow(*x, *y)),
        BinOp::Mul => zip.for_each(|(x, y)| *x *= *y),
        BinOp::Div => zip.for_each(|(x, y)| *x /= *y),
        BinOp::Mod => zip.for_each(|(x, y)| *x = fmod(*x, *y)),
        BinOp::Add => zip.for_each(|(x, y)| *x += *y),
        BinOp::Sub => zip.for_each(|(x, y)| *x -= *y),
        BinOp::Gt => zip.for_each(|(x, y)| *x = b2n(*x > *y)),
        BinOp::Ge => zip.for_each(|(x, y)| *x = b2n(*x >= *y)),
        BinOp::Lt => zip.for_each(|(x, y)| *x = b2n(*x < *y)),
        BinOp::Le => zip.for_each(|(x, y)| *x = b2n(*x <= *y)),
        BinOp::Eq => zip.for_each(|(x, y)| *x = b2n(*x == *y)),
        BinOp::Ne => zip.for_each(|(x, y)| *x = b2n(*x != *y)),
        BinOp::And => zip.for_each(|(x, y)| *x = b2n(*x != 0.0 && *y != 0.0)),
        BinOp::Or => zip.for_each(|(x, y)| *x = b2n(*x != 0.0 || *y != 0.0)),
        // `Filter::lanes` never emits it.
        BinOp::In => zip.for_each(|(x, _)| *x = 0.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_filters_have_lanes_and_a_block() {
        let f = Filter::compile(".u % 100 == 3 and !(.v > 2.5) or .u ** 2 < 0").unwrap();
        let lanes = f.lanes().expect("numbers only");
        let mut u = [0.0; LANES];
        let mut v = [0.0; LANES];
        for l in 0..LANES {
            u[l] = (l * 50 + 3) as f64;
            v[l] = if l % 2 == 0 { 1.0 } else { f64::NAN };
        }
        let got = lanes.eval(&[u, v], &mut Vec::new());
        // u % 100 == 3 for even l; NaN > 2.5 is false, so !(..) holds too.
        let want = (0..LANES).filter(|l| l % 2 == 0).fold(0u64, |m, l| m | 1 << l);
        assert_eq!(got, want);
        for src in [r#".a == "x""#, ".a in [1, 2]", "1", ".a == null", "2 in .a"] {
            assert!(Filter::compile(src).unwrap().lanes().is_none(), "{src}");
        }
        assert!(Filter::compile("0 - .a < 3").unwrap().lanes().is_some());
    }
}
