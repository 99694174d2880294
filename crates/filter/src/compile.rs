//! From tokens to a program: a precedence-climbing parser builds a small
//! tree, folds the parts that hold no selector, derives the [`Plan`], and
//! flattens the tree into postfix instructions.
//!
//! Redis compiles with a shunting-yard loop that only counts operands, so it
//! also accepts some token soups that are not expressions (`1 2 +`,
//! `+ 1 2`) and rejects `!!x`; here the grammar is explicit (see
//! `docs/filters.md`) and gives the same tree, hence the same result, for
//! every well-formed expression: the same precedences, left associativity
//! except for the right-associative `**`, and `!` binding tighter than any
//! binary operator.
//!
//! The tree exists only during compilation. Its depth is bounded by
//! [`Filter::MAX_DEPTH`](crate::Filter::MAX_DEPTH) (chains of `and` and of
//! `or` are one n-ary node, so long disjunctions do not count against it),
//! which bounds every recursion here.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use crate::error::{FilterError, FilterErrorKind};
use crate::lex::{Spanned, Tok};
use crate::ops::{self, BinOp, Operand};
use crate::value::Value;

/// A node of the expression tree.
#[derive(Clone, Debug)]
pub(crate) enum Node {
    /// A literal, or a folded subtree without selectors.
    Const(Value),
    /// A selector: index into the interned field names.
    Field(u32),
    Not(Box<Node>),
    Bin(BinOp, Box<Node>, Box<Node>),
    /// n-ary `and` (n >= 2).
    And(Vec<Node>),
    /// n-ary `or` (n >= 2).
    Or(Vec<Node>),
}

/// One instruction of the postfix program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ins {
    /// Push `consts[i]`.
    Const(u32),
    /// Push the value of `fields[i]`; if missing, the filter is false.
    Field(u32),
    /// Replace the top with its negation.
    Not,
    /// Pop b, pop a, push `a op b`.
    Bin(BinOp),
}

pub(crate) struct Compiled {
    pub(crate) root: Node,
    pub(crate) fields: Vec<String>,
}

struct Parser<'s> {
    src: &'s str,
    toks: Vec<Spanned>,
    pos: usize,
    fields: Vec<String>,
    index: BTreeMap<String, u32>,
}

pub(crate) fn parse(src: &str, toks: Vec<Spanned>) -> Result<Compiled, FilterError> {
    if matches!(toks.first(), Some((Tok::Eof, _))) {
        return Err(FilterError::new(FilterErrorKind::Empty));
    }
    let mut p = Parser { src, toks, pos: 0, fields: Vec::new(), index: BTreeMap::new() };
    let (root, _) = p.expr(0, 1)?;
    match &p.toks[p.pos] {
        (Tok::Eof, _) => {}
        (_, at) => return Err(FilterError::syntax(src, *at)),
    }
    Ok(Compiled { root, fields: p.fields })
}

impl Parser<'_> {
    fn at(&self) -> usize {
        self.toks[self.pos].1
    }

    fn too_deep(&self) -> FilterError {
        FilterError::new(FilterErrorKind::TooDeep { position: self.at() })
    }

    /// Parses an expression whose binary operators have precedence at least
    /// `min_prec`; `level` is the recursion depth. Returns the node and its
    /// tree depth.
    fn expr(&mut self, min_prec: u8, level: usize) -> Result<(Node, usize), FilterError> {
        if level > crate::Filter::MAX_DEPTH {
            return Err(self.too_deep());
        }
        let (mut lhs, mut d) = self.prefix(level)?;
        loop {
            let op = match self.toks[self.pos].0 {
                Tok::Bin(op) if op.precedence() >= min_prec => op,
                _ => break,
            };
            self.pos += 1;
            // Left associative: the right side only takes tighter operators;
            // `**` is right associative: it takes its own level too.
            let next = if op == BinOp::Pow { op.precedence() } else { op.precedence() + 1 };
            let (rhs, rd) = self.expr(next, level + 1)?;
            (lhs, d) = combine(op, lhs, d, rhs, rd);
            if d > crate::Filter::MAX_DEPTH {
                return Err(self.too_deep());
            }
        }
        Ok((lhs, d))
    }

    fn prefix(&mut self, level: usize) -> Result<(Node, usize), FilterError> {
        let (tok, at) = self.toks[self.pos].clone();
        self.pos += 1;
        Ok(match tok {
            Tok::Num(n) => (Node::Const(Value::Num(n)), 1),
            Tok::Str(s) => (Node::Const(Value::Str(s)), 1),
            Tok::Null => (Node::Const(Value::Null), 1),
            Tok::Tuple(t) => (Node::Const(Value::Array(t)), 1),
            Tok::Sel(name) => (Node::Field(self.intern(name)), 1),
            Tok::LParen => {
                let inner = self.expr(0, level + 1)?;
                if self.toks[self.pos].0 != Tok::RParen {
                    return Err(FilterError::syntax(self.src, self.at()));
                }
                self.pos += 1;
                inner
            }
            Tok::Not => {
                // `!` binds tighter than every binary operator.
                let (a, d) = self.expr(6, level + 1)?;
                match a {
                    Node::Const(v) => (Node::Const(Value::Num(ops::not(Operand::of(&v)))), 1),
                    a => (Node::Not(Box::new(a)), d + 1),
                }
            }
            Tok::Bin(_) | Tok::RParen | Tok::Eof => {
                return Err(FilterError::syntax(self.src, at));
            }
        })
    }

    fn intern(&mut self, name: String) -> u32 {
        if let Some(&i) = self.index.get(&name) {
            return i;
        }
        // At most one field per selector token: bounded by the source length.
        let i = self.fields.len() as u32;
        self.fields.push(name.clone());
        self.index.insert(name, i);
        i
    }
}

/// Builds `lhs op rhs`: folds constants, flattens `and`/`or` chains.
fn combine(op: BinOp, lhs: Node, ld: usize, rhs: Node, rd: usize) -> (Node, usize) {
    if let (Node::Const(a), Node::Const(b)) = (&lhs, &rhs) {
        let v = ops::apply(op, Operand::of(a), Operand::of(b));
        return (Node::Const(Value::Num(v)), 1);
    }
    match op {
        BinOp::And | BinOp::Or => {
            // `ld` of an existing chain already counts the chain's node.
            let (mut items, d) = match (op, lhs) {
                (BinOp::And, Node::And(v)) | (BinOp::Or, Node::Or(v)) => (v, ld.max(1 + rd)),
                (_, other) => (vec![other], 1 + ld.max(rd)),
            };
            items.push(rhs);
            let node = if op == BinOp::And { Node::And(items) } else { Node::Or(items) };
            (node, d)
        }
        _ => (Node::Bin(op, Box::new(lhs), Box::new(rhs)), 1 + ld.max(rd)),
    }
}

/// Flattens the tree into postfix instructions, interning constants.
/// Returns the maximum stack height the program reaches.
pub(crate) fn emit(node: &Node, code: &mut Vec<Ins>, consts: &mut Vec<Value>) -> usize {
    match node {
        Node::Const(v) => {
            code.push(Ins::Const(consts.len() as u32));
            consts.push(v.clone());
            1
        }
        Node::Field(i) => {
            code.push(Ins::Field(*i));
            1
        }
        Node::Not(a) => {
            let h = emit(a, code, consts);
            code.push(Ins::Not);
            h
        }
        Node::Bin(op, a, b) => {
            let ha = emit(a, code, consts);
            let hb = emit(b, code, consts);
            code.push(Ins::Bin(*op));
            ha.max(1 + hb)
        }
        Node::And(items) | Node::Or(items) => {
            // Redis evaluates both sides of every `and`/`or` (no short
            // circuit), so a binary chain is exact and keeps the stack low.
            let op = if matches!(node, Node::And(_)) { BinOp::And } else { BinOp::Or };
            let mut h = emit(&items[0], code, consts);
            for it in &items[1..] {
                h = h.max(1 + emit(it, code, consts));
                code.push(Ins::Bin(op));
            }
            h
        }
    }
}
