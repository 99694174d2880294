//! Evaluates filters from the command line; the other side of
//! `bench/redis/filter_diff.py`.
//!
//! ```text
//! # One filter, attribute objects on stdin (one JSON object per line):
//! # prints 1 or 0 per line, or "attributes error: ..." for a bad line.
//! cargo run -p vecshard-filter --example eval -- '.year > 1950' < attrs.jsonl
//!
//! # Many filters: attributes from a file, filters on stdin (one per line);
//! # prints, per filter, the 0-based line numbers of the matching objects
//! # separated by blanks, or "error: <message>".
//! cargo run -p vecshard-filter --example eval -- --attrs attrs.jsonl < filters.txt
//! ```

use std::io::{self, BufRead, Write};

use vecshard_filter::{Attributes, Filter};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let stdin = io::stdin();
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    match args.as_slice() {
        [flag, path] if flag == "--attrs" => {
            let text = std::fs::read_to_string(path)?;
            // A line that is not a valid object has no attributes: no
            // selector can find a value in it.
            let attrs: Vec<Attributes> =
                text.lines().map(|l| Attributes::parse(l.as_bytes()).unwrap_or_default()).collect();
            for line in stdin.lock().lines() {
                let line = line?;
                match Filter::compile(&line) {
                    Err(e) => writeln!(out, "error: {e}")?,
                    Ok(f) => {
                        let hits: Vec<String> = attrs
                            .iter()
                            .enumerate()
                            .filter(|(_, a)| f.eval(a))
                            .map(|(i, _)| i.to_string())
                            .collect();
                        writeln!(out, "{}", hits.join(" "))?;
                    }
                }
                out.flush()?;
            }
        }
        [src] => {
            let f = match Filter::compile(src) {
                Ok(f) => f,
                Err(e) => {
                    eprintln!("error: {e}");
                    std::process::exit(2);
                }
            };
            for line in stdin.lock().lines() {
                let line = line?;
                match Attributes::parse(line.as_bytes()) {
                    Ok(a) => writeln!(out, "{}", u8::from(f.eval(&a)))?,
                    Err(e) => writeln!(out, "attributes error: {e}")?,
                }
            }
        }
        _ => {
            eprintln!("usage: eval FILTER < attrs.jsonl | eval --attrs attrs.jsonl < filters.txt");
            std::process::exit(2);
        }
    }
    Ok(())
}
