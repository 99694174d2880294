//! Framing: bytes in, argument vectors out.
//!
//! A client sends a command either as a RESP array of bulk strings
//! (`*2\r\n$4\r\nPING\r\n$2\r\nhi\r\n`, what every client library sends) or
//! as an *inline* line (`PING hi\r\n`, what telnet and `redis-cli` piping
//! send). [`Decoder`] takes bytes as they arrive from the socket, in chunks
//! of any size, and yields one argument vector per complete command, so
//! pipelined commands come out one after another.
//!
//! # Why hand-written
//!
//! `redis-protocol` (the obvious crate) decodes a whole frame once its
//! bytes are buffered: it cannot refuse a `$1073741824` header before the
//! connection has buffered that gigabyte, and it does not parse inline
//! commands. A server for untrusted clients needs both, and the request
//! side of RESP is tiny (arrays of bulk strings, plus inline lines), so it
//! is about 200 lines here. Replies are encoded by [`crate::reply`].
//!
//! # Limits, checked before allocating
//!
//! Each header is checked against [`Limits`] as soon as its line is
//! complete: a bulk length or argument count over the limit is an error
//! before a byte of payload is buffered or a vector is reserved. Arguments
//! are taken out of the buffer as each one completes, so a command that
//! arrives in a thousand pieces is scanned once, not a thousand times.
//! Every error here is fatal: the caller sends [`Error::redis_line`] and
//! closes the connection, as Redis does.

use crate::error::Error;

/// Bounds on what one connection may send; see [`Limits::default`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest bulk string (one argument), in bytes.
    pub max_bulk_len: usize,
    /// Most arguments in one command (the command name included).
    pub max_args: usize,
    /// Most bytes held per connection: unparsed input plus the arguments of
    /// the command being assembled.
    pub max_buffered: usize,
    /// Longest inline command line.
    pub max_inline_len: usize,
}

impl Default for Limits {
    /// Defaults sized for vector commands rather than Redis's general ones
    /// (512 MB bulks, a 1 GB query buffer):
    ///
    /// - `max_bulk_len` 1 MiB: the largest legitimate argument is an `FP32`
    ///   blob of `MAX_DIM` (65,536) floats, 256 KiB; attributes stop at
    ///   64 KiB and filters at 4 KiB.
    /// - `max_args` `MAX_DIM` + 64: `VADD ... VALUES 65536 v1 ... v65536`
    ///   plus every option.
    /// - `max_buffered` 16 MiB: such a `VALUES` command written out is about
    ///   1.5 MiB; the rest is room for pipelined commands that the server
    ///   has not decoded yet. A server that decodes after every read never
    ///   holds more than one incomplete command plus one read.
    /// - `max_inline_len` 64 KiB, Redis's own inline limit.
    fn default() -> Limits {
        Limits {
            max_bulk_len: 1 << 20,
            max_args: vecshard_core::MAX_DIM + 64,
            max_buffered: 16 << 20,
            max_inline_len: 64 << 10,
        }
    }
}

/// The command being assembled from a RESP array.
#[derive(Debug)]
struct Partial {
    /// Arguments still expected.
    want: usize,
    args: Vec<Vec<u8>>,
    /// Payload bytes already in `args` (counted against `max_buffered`).
    bytes: usize,
}

/// Longest header line (`*65600`, `$1048576`): anything longer is garbage.
const MAX_HEADER_LINE: usize = 32;

/// Incremental RESP request decoder for one connection.
#[derive(Debug)]
pub struct Decoder {
    limits: Limits,
    buf: Vec<u8>,
    /// Start of the unparsed bytes in `buf`.
    pos: usize,
    partial: Option<Partial>,
    /// Set by the first error: the stream is unusable from then on.
    failed: Option<Error>,
}

impl Decoder {
    /// A decoder with these limits.
    pub fn new(limits: Limits) -> Decoder {
        Decoder { limits, buf: Vec::new(), pos: 0, partial: None, failed: None }
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Bytes held: unparsed input plus the arguments assembled so far.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos + self.partial.as_ref().map_or(0, |p| p.bytes)
    }

    /// Appends bytes read from the connection. Fails (fatally) when the
    /// connection would hold more than `max_buffered` bytes; a server
    /// should call [`Decoder::next_command`] until it returns `None` before
    /// reading more, so this only trips on a client that sends one huge
    /// command or never reads its replies.
    pub fn feed(&mut self, data: &[u8]) -> Result<(), Error> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let after = self.buffered().saturating_add(data.len());
        if after > self.limits.max_buffered {
            return Err(self.fail(Error::limit("buffered bytes", self.limits.max_buffered, after)));
        }
        // Drop consumed bytes before growing, so the buffer stays near the
        // size of what is actually unparsed.
        if self.pos > 0 && (self.pos == self.buf.len() || self.pos >= self.buf.len() / 2) {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(data);
        Ok(())
    }

    fn fail(&mut self, e: Error) -> Error {
        self.failed = Some(e.clone());
        e
    }

    /// The next complete command, `Ok(None)` when more bytes are needed.
    /// After an error every later call returns it again: send its line and
    /// close the connection.
    pub fn next_command(&mut self) -> Result<Option<Vec<Vec<u8>>>, Error> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        match self.step() {
            Ok(v) => Ok(v),
            Err(e) => Err(self.fail(e)),
        }
    }

    fn step(&mut self) -> Result<Option<Vec<Vec<u8>>>, Error> {
        loop {
            if self.partial.is_some() {
                return self.continue_array();
            }
            let Some(&first) = self.buf.get(self.pos) else { return Ok(None) };
            if first == b'*' {
                let Some((n, used)) = self.header(b'*')? else { return Ok(None) };
                self.pos += used;
                if n <= 0 {
                    // `*0` and `*-1` are empty commands: skipped, as Redis does.
                    continue;
                }
                let n = n as usize;
                if n > self.limits.max_args {
                    return Err(Error::limit("arguments", self.limits.max_args, n));
                }
                self.partial =
                    Some(Partial { want: n, args: Vec::with_capacity(n.min(64)), bytes: 0 });
            } else {
                match self.inline()? {
                    None => return Ok(None),
                    Some(args) if args.is_empty() => continue,
                    Some(args) => return Ok(Some(args)),
                }
            }
        }
    }

    /// Parses `<tag><integer>\r\n` at `pos`: `Ok(None)` if incomplete,
    /// else the integer and the bytes used.
    fn header(&self, tag: u8) -> Result<Option<(i64, usize)>, Error> {
        let rest = &self.buf[self.pos..];
        if rest.first() != Some(&tag) {
            let got = rest.first().map_or(String::new(), |&b| (b as char).to_string());
            return Err(Error::protocol(format!("expected '{}', got '{got}'", tag as char)));
        }
        let window = &rest[..rest.len().min(MAX_HEADER_LINE)];
        let Some(cr) = window.iter().position(|&b| b == b'\r') else {
            if rest.len() >= MAX_HEADER_LINE {
                return Err(Error::protocol(match tag {
                    b'*' => "too big mbulk count string",
                    _ => "too big bulk count string",
                }));
            }
            return Ok(None);
        };
        if cr + 1 >= rest.len() {
            return Ok(None);
        }
        let bad = || {
            Error::protocol(match tag {
                b'*' => "invalid multibulk length",
                _ => "invalid bulk length",
            })
        };
        if rest[cr + 1] != b'\n' {
            return Err(bad());
        }
        let n = parse_i64(&rest[1..cr]).ok_or_else(bad)?;
        Ok(Some((n, cr + 2)))
    }

    fn continue_array(&mut self) -> Result<Option<Vec<Vec<u8>>>, Error> {
        loop {
            let want = self.partial.as_ref().map_or(0, |p| p.want);
            if want == 0 {
                let p = self.partial.take().expect("partial present while assembling");
                return Ok(Some(p.args));
            }
            if self.pos >= self.buf.len() {
                return Ok(None);
            }
            let Some((len, used)) = self.header(b'$')? else { return Ok(None) };
            if len < 0 {
                return Err(Error::protocol("invalid bulk length"));
            }
            let len = len as usize;
            if len > self.limits.max_bulk_len {
                return Err(Error::limit("bulk length", self.limits.max_bulk_len, len));
            }
            let start = self.pos + used;
            let held = self.partial.as_ref().map_or(0, |p| p.bytes);
            if held.saturating_add(len) > self.limits.max_buffered {
                return Err(Error::limit("buffered bytes", self.limits.max_buffered, held + len));
            }
            if self.buf.len() < start + len + 2 {
                return Ok(None);
            }
            if &self.buf[start + len..start + len + 2] != b"\r\n" {
                return Err(Error::protocol("bulk string not terminated by CRLF"));
            }
            let arg = self.buf[start..start + len].to_vec();
            self.pos = start + len + 2;
            let p = self.partial.as_mut().expect("partial present while assembling");
            p.want -= 1;
            p.bytes += len;
            p.args.push(arg);
        }
    }

    /// One inline line, split Redis-style; `Ok(None)` if incomplete.
    fn inline(&mut self) -> Result<Option<Vec<Vec<u8>>>, Error> {
        let rest = &self.buf[self.pos..];
        let window = &rest[..rest.len().min(self.limits.max_inline_len + 1)];
        let Some(nl) = window.iter().position(|&b| b == b'\n') else {
            if rest.len() > self.limits.max_inline_len {
                return Err(Error::protocol("too big inline request"));
            }
            return Ok(None);
        };
        let mut line = &rest[..nl];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        let args = split_inline(line, self.limits.max_args)?;
        self.pos += nl + 1;
        Ok(Some(args))
    }
}

/// A strict decimal integer (optional `-`, digits only, no overflow).
pub(crate) fn parse_i64(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.split_first() {
        Some((b'-', d)) => (true, d),
        _ => (false, s),
    };
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let mut n: i64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
    }
    Some(if neg { -n } else { n })
}

/// Splits an inline command line the way `redis-cli` quotes: words
/// separated by blanks; `"..."` with `\n \r \t \b \a \\ \" \xHH` escapes;
/// `'...'` with only `\'`. A closing quote must be followed by a blank or
/// the end of the line.
fn split_inline(line: &[u8], max_args: usize) -> Result<Vec<Vec<u8>>, Error> {
    let unbalanced = || Error::protocol("unbalanced quotes in request");
    let mut args = Vec::new();
    let mut i = 0;
    while i < line.len() {
        while i < line.len() && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= line.len() {
            break;
        }
        let mut arg = Vec::new();
        match line[i] {
            b'"' => {
                i += 1;
                loop {
                    let Some(&c) = line.get(i) else { return Err(unbalanced()) };
                    match c {
                        b'"' => {
                            i += 1;
                            break;
                        }
                        b'\\'
                            if i + 3 < line.len()
                                && line[i + 1] == b'x'
                                && line[i + 2].is_ascii_hexdigit()
                                && line[i + 3].is_ascii_hexdigit() =>
                        {
                            let hex = |b: u8| (b as char).to_digit(16).unwrap_or(0) as u8;
                            arg.push(hex(line[i + 2]) * 16 + hex(line[i + 3]));
                            i += 4;
                        }
                        b'\\' if i + 1 < line.len() => {
                            arg.push(match line[i + 1] {
                                b'n' => b'\n',
                                b'r' => b'\r',
                                b't' => b'\t',
                                b'b' => 8,
                                b'a' => 7,
                                other => other,
                            });
                            i += 2;
                        }
                        _ => {
                            arg.push(c);
                            i += 1;
                        }
                    }
                }
                if i < line.len() && !line[i].is_ascii_whitespace() {
                    return Err(unbalanced());
                }
            }
            b'\'' => {
                i += 1;
                loop {
                    let Some(&c) = line.get(i) else { return Err(unbalanced()) };
                    match c {
                        b'\'' => {
                            i += 1;
                            break;
                        }
                        b'\\' if line.get(i + 1) == Some(&b'\'') => {
                            arg.push(b'\'');
                            i += 2;
                        }
                        _ => {
                            arg.push(c);
                            i += 1;
                        }
                    }
                }
                if i < line.len() && !line[i].is_ascii_whitespace() {
                    return Err(unbalanced());
                }
            }
            _ => {
                while i < line.len() && !line[i].is_ascii_whitespace() {
                    arg.push(line[i]);
                    i += 1;
                }
            }
        }
        if args.len() == max_args {
            return Err(Error::limit("arguments", max_args, max_args + 1));
        }
        args.push(arg);
    }
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(d: &mut Decoder) -> Vec<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        while let Some(c) = d.next_command().unwrap() {
            out.push(c);
        }
        out
    }

    fn words(v: &[&str]) -> Vec<Vec<u8>> {
        v.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn pipelined_arrays_across_every_split_point() {
        let bytes = b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$5\r\nhe\r\no\r\nPING  'a b' \"c\\x41\\n\"\r\n*0\r\n\r\n";
        let want =
            vec![words(&["PING"]), words(&["ECHO", "he\r\no"]), words(&["PING", "a b", "cA\n"])];
        for cut in 0..=bytes.len() {
            for cut2 in cut..=bytes.len() {
                let mut d = Decoder::new(Limits::default());
                let mut got = Vec::new();
                for part in [&bytes[..cut], &bytes[cut..cut2], &bytes[cut2..]] {
                    d.feed(part).unwrap();
                    got.extend(all(&mut d));
                }
                assert_eq!(got, want, "split at {cut}/{cut2}");
                assert_eq!(d.buffered(), 0);
            }
        }
    }

    #[test]
    fn limits_trip_before_the_payload_arrives() {
        let limits = Limits { max_bulk_len: 10, max_args: 3, max_buffered: 64, max_inline_len: 16 };
        let mut d = Decoder::new(limits);
        d.feed(b"*2\r\n$11\r\n").unwrap();
        let e = d.next_command().unwrap_err();
        assert_eq!(
            e.redis_line(),
            "ERR Protocol error: request bulk length 11 is over this server's limit of 10"
        );
        assert!(e.is_fatal());
        // Poisoned: the same error again.
        assert_eq!(d.next_command().unwrap_err(), e);

        let mut d = Decoder::new(limits);
        d.feed(b"*4\r\n").unwrap();
        assert!(matches!(
            d.next_command().unwrap_err().kind(),
            crate::ErrorKind::LimitExceeded { what: "arguments", got: 4, .. }
        ));

        let mut d = Decoder::new(limits);
        assert!(d.feed(&[b'x'; 65]).is_err());

        let mut d = Decoder::new(limits);
        d.feed(b"PING aaaaaaaaaaaaaaaaaaaa").unwrap();
        assert_eq!(
            d.next_command().unwrap_err().redis_line(),
            "ERR Protocol error: too big inline request"
        );

        let mut d = Decoder::new(limits);
        d.feed(b"a b c d\r\n").unwrap();
        assert!(d.next_command().is_err());
    }

    #[test]
    fn malformed_headers_are_protocol_errors() {
        for (bytes, line) in [
            (&b"*x\r\n"[..], "ERR Protocol error: invalid multibulk length"),
            (b"*1\r\n+PING\r\n", "ERR Protocol error: expected '$', got '+'"),
            (b"*1\r\n$-1\r\n", "ERR Protocol error: invalid bulk length"),
            (b"*1\r\n$2\r\nabcd", "ERR Protocol error: bulk string not terminated by CRLF"),
            (
                b"*99999999999999999999999999999999999",
                "ERR Protocol error: too big mbulk count string",
            ),
            (b"PING \"abc\r\n", "ERR Protocol error: unbalanced quotes in request"),
            (b"PING 'a'b\r\n", "ERR Protocol error: unbalanced quotes in request"),
        ] {
            let mut d = Decoder::new(Limits::default());
            d.feed(bytes).unwrap();
            assert_eq!(
                d.next_command().unwrap_err().redis_line(),
                line,
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }
}
