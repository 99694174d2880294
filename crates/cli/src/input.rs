//! Readers for vector files: `.fvecs`, `.npy` (float32/float64, 2-D, C
//! order), `.jsonl` (`{"key", "vector", "attributes"?}` per line), and
//! `.ivecs` for ground truth. Every error names the file and the record.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use vecshard_shard::Item;

/// The formats we read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `.fvecs`: per record an i32 LE dimension then that many f32 LE.
    Fvecs,
    /// `.npy`: NumPy array of shape (n, d), `<f4` or `<f8`, C order.
    Npy,
    /// `.jsonl`: one JSON object per line.
    Jsonl,
}

impl Format {
    fn of(path: &Path) -> Result<Format> {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        match ext.as_str() {
            "fvecs" => Ok(Format::Fvecs),
            "npy" => Ok(Format::Npy),
            "jsonl" | "ndjson" => Ok(Format::Jsonl),
            _ => bail!(
                "{}: unknown input format {ext:?}; use .fvecs, .npy (float32) or .jsonl \
                 ({{\"key\": ..., \"vector\": [...], \"attributes\": {{...}}}} per line)",
                path.display()
            ),
        }
    }
}

enum Source {
    Fvecs { r: BufReader<File> },
    Npy { r: BufReader<File>, rows: u64, f64: bool },
    Jsonl { r: BufReader<File>, line: String },
}

/// A streaming reader of [`Item`]s. fvecs and npy rows get their row
/// number (from 0) as key.
pub struct VectorReader {
    path: PathBuf,
    src: Source,
    /// Dimension (known up front for fvecs/npy, from the first record for jsonl).
    dim: Option<usize>,
    /// Records read so far.
    record: u64,
    /// Total records, when the format says.
    total: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonRecord {
    key: String,
    vector: Vec<f32>,
    #[serde(default)]
    attributes: Option<Box<serde_json::value::RawValue>>,
}

/// Lines of a `.jsonl` file that hold something besides JSON whitespace:
/// the records `next_item` will read (blank lines are skipped there too).
fn count_jsonl_records(r: &mut impl BufRead) -> std::io::Result<u64> {
    let (mut count, mut filled) = (0u64, false);
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(count + filled as u64);
        }
        for &b in buf {
            if b == b'\n' {
                count += filled as u64;
                filled = false;
            } else if !b.is_ascii_whitespace() {
                filled = true;
            }
        }
        let n = buf.len();
        r.consume(n);
    }
}

impl VectorReader {
    /// Opens `path`, detecting the format from its extension.
    pub fn open(path: &Path) -> Result<VectorReader> {
        let fmt = Format::of(path)?;
        let f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let file_len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let mut r = BufReader::with_capacity(1 << 20, f);
        let (src, dim, total) = match fmt {
            Format::Fvecs => {
                let mut b = [0u8; 4];
                let dim = if file_len == 0 {
                    None
                } else {
                    r.read_exact(&mut b).with_context(|| {
                        format!("{}: record 0: truncated dimension header", path.display())
                    })?;
                    let d = i32::from_le_bytes(b);
                    if d <= 0 || d > 65536 {
                        bail!("{}: record 0: dimension {d} is out of range 1..=65536 (is this really .fvecs?)", path.display());
                    }
                    Some(d as usize)
                };
                let total = dim.map(|d| file_len / (4 + 4 * d as u64));
                // Re-open to start at record 0 with a uniform loop.
                let f = File::open(path)?;
                (Source::Fvecs { r: BufReader::with_capacity(1 << 20, f) }, dim, total)
            }
            Format::Npy => {
                let (rows, cols, f64) = npy_header(&mut r, path)?;
                (Source::Npy { r, rows, f64 }, Some(cols), Some(rows))
            }
            Format::Jsonl => {
                // A quick pass to count the records (about 0.1 s per 100
                // MB), so the build can reserve each shard's arrays once
                // and show a bar with an ETA; see `build::reserve`.
                let total = count_jsonl_records(&mut r)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                let f = File::open(path)?;
                (
                    Source::Jsonl { r: BufReader::with_capacity(1 << 20, f), line: String::new() },
                    None,
                    Some(total),
                )
            }
        };
        Ok(VectorReader { path: path.to_path_buf(), src, dim, record: 0, total })
    }

    /// The dimension, if known yet.
    pub fn dim(&self) -> Option<usize> {
        self.dim
    }

    /// Total records, if the format says.
    pub fn total(&self) -> Option<u64> {
        self.total
    }

    /// Reads the next item; `None` at the end of the file.
    pub fn next_item(&mut self) -> Result<Option<Item>> {
        let p = self.path.display().to_string();
        let n = self.record;
        let item = match &mut self.src {
            Source::Fvecs { r } => {
                let mut b = [0u8; 4];
                match read_full(r, &mut b)? {
                    0 => return Ok(None),
                    4 => {}
                    got => bail!("{p}: record {n}: truncated dimension header ({got} of 4 bytes)"),
                }
                let d = i32::from_le_bytes(b);
                let want = self.dim.unwrap_or(0);
                if d < 0 || d as usize != want {
                    bail!("{p}: record {n}: dimension {d} differs from the first record's {want}");
                }
                let mut raw = vec![0u8; 4 * want];
                let got = read_full(r, &mut raw)?;
                if got != raw.len() {
                    bail!(
                        "{p}: record {n}: truncated ({got} of {} bytes of vector data)",
                        raw.len()
                    );
                }
                let vector = raw
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                    .collect();
                Item { key: n.to_string(), vector, attributes: None }
            }
            Source::Npy { r, rows, f64 } => {
                if n >= *rows {
                    return Ok(None);
                }
                let d = self.dim.unwrap_or(0);
                let w = if *f64 { 8 } else { 4 };
                let mut raw = vec![0u8; w * d];
                let got = read_full(r, &mut raw)?;
                if got != raw.len() {
                    bail!("{p}: row {n}: truncated ({got} of {} bytes; the header promised {rows} rows)", raw.len());
                }
                let vector = if *f64 {
                    raw.chunks_exact(8)
                        .map(|c| f64::from_le_bytes(c.try_into().unwrap()) as f32)
                        .collect()
                } else {
                    raw.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()
                };
                Item { key: n.to_string(), vector, attributes: None }
            }
            Source::Jsonl { r, line } => loop {
                line.clear();
                let got = r.read_line(line).with_context(|| format!("{p}: line {}", n + 1))?;
                if got == 0 {
                    return Ok(None);
                }
                if line.trim().is_empty() {
                    continue;
                }
                let rec: JsonRecord = serde_json::from_str(line).with_context(|| {
                    format!(
                        "{p}: line {}: expected {{\"key\": \"...\", \"vector\": [...], \"attributes\": {{...}}}}",
                        n + 1
                    )
                })?;
                if let Some(d) = self.dim {
                    if rec.vector.len() != d {
                        bail!(
                            "{p}: line {} (key {:?}): vector has {} dimensions, the first record had {d}",
                            n + 1,
                            rec.key,
                            rec.vector.len()
                        );
                    }
                } else {
                    self.dim = Some(rec.vector.len());
                }
                break Item {
                    key: rec.key,
                    vector: rec.vector,
                    attributes: rec.attributes.map(|a| a.get().as_bytes().to_vec()),
                };
            },
        };
        self.record += 1;
        Ok(Some(item))
    }

    /// Reads everything.
    pub fn read_all(mut self) -> Result<Vec<Item>> {
        let mut out = Vec::new();
        while let Some(it) = self.next_item()? {
            out.push(it);
        }
        Ok(out)
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(got)
}

/// Parses a `.npy` header; returns (rows, cols, is_f64).
fn npy_header(r: &mut impl Read, path: &Path) -> Result<(u64, usize, bool)> {
    let p = path.display();
    let mut magic = [0u8; 8];
    if read_full(r, &mut magic)? != 8 || &magic[..6] != b"\x93NUMPY" {
        bail!("{p}: not a .npy file (bad magic)");
    }
    let hlen = match magic[6] {
        1 => {
            let mut b = [0u8; 2];
            r.read_exact(&mut b).with_context(|| format!("{p}: truncated header"))?;
            u16::from_le_bytes(b) as usize
        }
        2 | 3 => {
            let mut b = [0u8; 4];
            r.read_exact(&mut b).with_context(|| format!("{p}: truncated header"))?;
            u32::from_le_bytes(b) as usize
        }
        v => bail!("{p}: .npy format version {v} is not supported"),
    };
    if hlen > 1 << 20 {
        bail!("{p}: .npy header of {hlen} bytes is implausible");
    }
    let mut h = vec![0u8; hlen];
    r.read_exact(&mut h).with_context(|| format!("{p}: truncated header"))?;
    let h = String::from_utf8_lossy(&h);
    let field = |name: &str| -> Option<String> {
        let i = h.find(&format!("'{name}'"))?;
        let rest = &h[i + name.len() + 2..];
        let rest = rest.trim_start().strip_prefix(':')?.trim_start();
        Some(rest.to_string())
    };
    let descr = field("descr").unwrap_or_default();
    let f64 = if descr.starts_with("'<f4'") || descr.starts_with("'float32'") {
        false
    } else if descr.starts_with("'<f8'") {
        true
    } else {
        bail!("{p}: dtype {} is not supported; save the array as float32 (np.asarray(x, dtype='<f4'))", descr.split(',').next().unwrap_or("?"));
    };
    if field("fortran_order").is_some_and(|f| f.starts_with("True")) {
        bail!("{p}: Fortran-order arrays are not supported; save with np.ascontiguousarray(x)");
    }
    let shape = field("shape").unwrap_or_default();
    let inner = shape.strip_prefix('(').and_then(|s| s.split(')').next()).unwrap_or("");
    let dims: Vec<u64> = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect();
    if dims.len() != 2 || dims[1] == 0 || dims[1] > 65536 {
        bail!("{p}: shape ({inner}) is not a 2-D (rows, dim) array with 1..=65536 columns");
    }
    Ok((dims[0], dims[1] as usize, f64))
}

/// Reads an `.ivecs` file (ground truth: per row, neighbour ids).
pub fn read_ivecs(path: &Path) -> Result<Vec<Vec<u32>>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let n = out.len();
        let Some(h) = bytes.get(pos..pos + 4) else {
            bail!("{}: record {n}: truncated header", path.display());
        };
        let d = i32::from_le_bytes(h.try_into().unwrap());
        if d < 0 {
            bail!("{}: record {n}: negative length {d}", path.display());
        }
        let end = pos + 4 + 4 * d as usize;
        let Some(body) = bytes.get(pos + 4..end) else {
            bail!("{}: record {n}: truncated", path.display());
        };
        out.push(body.chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().unwrap())).collect());
        pos = end;
    }
    Ok(out)
}

/// Parses `--vector "0.1,0.2,..."`.
pub fn parse_vector(s: &str) -> Result<Vec<f32>> {
    s.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .enumerate()
        .map(|(i, t)| {
            t.trim_matches(|c| c == '[' || c == ']')
                .parse::<f32>()
                .with_context(|| format!("--vector: component {i} ({t:?}) is not a number"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn tmp(name: &str, bytes: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("vecshard-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::File::create(&p).unwrap().write_all(bytes).unwrap();
        p
    }

    fn fvecs(rows: &[&[f32]]) -> Vec<u8> {
        let mut b = Vec::new();
        for r in rows {
            b.extend_from_slice(&(r.len() as i32).to_le_bytes());
            for x in *r {
                b.extend_from_slice(&x.to_le_bytes());
            }
        }
        b
    }

    #[test]
    fn jsonl_total_counts_the_records_next_item_reads() {
        let text = "\n{\"key\":\"a\",\"vector\":[1,2]}\n  \t\n{\"key\":\"b\",\"vector\":[3,4]}\r\n\n{\"key\":\"c\",\"vector\":[5,6]}";
        let p = tmp("count.jsonl", text.as_bytes());
        let mut r = VectorReader::open(&p).unwrap();
        assert_eq!(r.total(), Some(3));
        let mut keys = Vec::new();
        while let Some(item) = r.next_item().unwrap() {
            keys.push(item.key);
        }
        assert_eq!(keys, ["a", "b", "c"]);
        let empty = tmp("empty.jsonl", b"");
        assert_eq!(VectorReader::open(&empty).unwrap().total(), Some(0));
    }

    #[test]
    fn fvecs_rows_get_row_numbers_and_errors_name_the_record() {
        let p = tmp("ok.fvecs", &fvecs(&[&[1.0, 2.0], &[3.0, 4.0]]));
        let items = VectorReader::open(&p).unwrap().read_all().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!((items[1].key.as_str(), items[1].vector.as_slice()), ("1", &[3.0, 4.0][..]));

        let mut b = fvecs(&[&[1.0, 2.0], &[3.0, 4.0]]);
        b.truncate(b.len() - 3);
        let p = tmp("cut.fvecs", &b);
        let e = VectorReader::open(&p).unwrap().read_all().unwrap_err().to_string();
        assert!(e.contains("cut.fvecs: record 1: truncated"), "{e}");

        let p = tmp("mixed.fvecs", &fvecs(&[&[1.0, 2.0], &[3.0]]));
        let e = VectorReader::open(&p).unwrap().read_all().unwrap_err().to_string();
        assert!(e.contains("record 1: dimension 1 differs"), "{e}");
    }

    #[test]
    fn jsonl_reads_attributes_and_reports_bad_lines() {
        let p = tmp(
            "ok.jsonl",
            b"{\"key\":\"a\",\"vector\":[1,2],\"attributes\":{\"t\":1}}\n\n{\"key\":\"b\",\"vector\":[3,4]}\n",
        );
        let items = VectorReader::open(&p).unwrap().read_all().unwrap();
        assert_eq!(items[0].attributes.as_deref(), Some(&b"{\"t\":1}"[..]));
        assert_eq!(items[1].key, "b");

        let p =
            tmp("bad.jsonl", b"{\"key\":\"a\",\"vector\":[1,2]}\n{\"key\":\"b\",\"vector\":[1,2\n");
        let e = format!("{:#}", VectorReader::open(&p).unwrap().read_all().unwrap_err());
        assert!(e.contains("bad.jsonl: line 2"), "{e}");

        let p =
            tmp("dim.jsonl", b"{\"key\":\"a\",\"vector\":[1,2]}\n{\"key\":\"b\",\"vector\":[1]}\n");
        let e = VectorReader::open(&p).unwrap().read_all().unwrap_err().to_string();
        assert!(e.contains("dim.jsonl: line 2 (key \"b\"): vector has 1 dimensions"), "{e}");
    }

    #[test]
    fn npy_float32_and_float64() {
        for (descr, w) in [("<f4", 4), ("<f8", 8)] {
            let header =
                format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (2, 3), }}");
            let mut h = header.into_bytes();
            while (10 + h.len() + 1) % 64 != 0 {
                h.push(b' ');
            }
            h.push(b'\n');
            let mut b = b"\x93NUMPY\x01\x00".to_vec();
            b.extend_from_slice(&(h.len() as u16).to_le_bytes());
            b.extend_from_slice(&h);
            for i in 0..6 {
                if w == 4 {
                    b.extend_from_slice(&(i as f32).to_le_bytes());
                } else {
                    b.extend_from_slice(&(i as f64).to_le_bytes());
                }
            }
            let p = tmp(&format!("a{w}.npy"), &b);
            let items = VectorReader::open(&p).unwrap().read_all().unwrap();
            assert_eq!(items[1].vector, vec![3.0, 4.0, 5.0]);
            b.truncate(b.len() - 2);
            let p = tmp(&format!("cut{w}.npy"), &b);
            let e = VectorReader::open(&p).unwrap().read_all().unwrap_err().to_string();
            assert!(e.contains("row 1: truncated"), "{e}");
        }
    }

    #[test]
    fn vectors_from_the_command_line() {
        assert_eq!(parse_vector("0.5, 1,2").unwrap(), vec![0.5, 1.0, 2.0]);
        assert_eq!(parse_vector("[1 2]").unwrap(), vec![1.0, 2.0]);
        assert!(parse_vector("1,x").is_err());
    }
}
