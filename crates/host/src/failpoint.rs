//! Failpoints: named places in the host's file operations where a test
//! can make the operation fail, to check that no acknowledged write is
//! lost and no failed write comes back, whatever breaks.
//!
//! **For testing only.** Switched on by [`set`] (in-process tests) or by
//! the environment variable `VECSHARD_FAILPOINTS`, read once when a data
//! dir is opened (so the real binary can be tested too):
//!
//! ```text
//! VECSHARD_FAILPOINTS="wal.fsync=1*error;snapshot.rename=2+1*error"
//! ```
//!
//! Each entry is `NAME=[SKIP+][COUNT*]ACTION`: let `SKIP` calls pass,
//! then fire `COUNT` times (default: forever), then pass again. Actions:
//! `error` (the operation fails with an I/O error and does nothing),
//! `partial` (for writes: half the bytes are written, then it fails, as a
//! full disk or a signal would leave them), `off`. Every firing is logged
//! at `warn` level as `failpoint NAME fired`.
//!
//! **Cost when off:** one relaxed atomic load per operation; the registry
//! is only looked at once something was switched on.
//!
//! The names, by where they are:
//!
//! | name | operation |
//! |---|---|
//! | `wal.append` | `write` of one record to `wal.log` |
//! | `wal.fsync` | `fdatasync` of `wal.log` (per write with `always`, once a second with `everysec`) |
//! | `wal.truncate` | cutting `wal.log` back after a failed append or fsync |
//! | `wal.create` | creating `wal.log.tmp` (a new log: checkpoint, first start) |
//! | `wal.create.write` | writing its header |
//! | `wal.create.fsync` | fsyncing it |
//! | `wal.rename` | renaming `wal.log.tmp` to `wal.log` |
//! | `wal.dirsync` | fsyncing the shard folder after that rename |
//! | `snapshot.create` | creating `snapshot.bin.tmp` (checkpoint) |
//! | `snapshot.write` | writing it |
//! | `snapshot.fsync` | fsyncing it |
//! | `snapshot.rename` | renaming it to `snapshot.bin` |
//! | `snapshot.dirsync` | fsyncing the shard folder after that rename |
//! | `tmp.remove` | removing a leftover `*.tmp` file |
//! | `manifest.create`, `.write`, `.fsync`, `.rename`, `.dirsync` | `cluster.json` (create only) |
//! | `collections.create.rename` | renaming a new collection's temp folder into place |
//! | `collections.delete.rename` | renaming a deleted collection into `.trash` |
//! | `collections.delete.remove` | removing it from `.trash` |
//! | `collections.tmp.remove` | cleaning up a failed create's temp folder |

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once};

/// Every failpoint name (for tests that go through all of them).
pub const NAMES: &[&str] = &[
    "wal.append",
    "wal.fsync",
    "wal.truncate",
    "wal.create",
    "wal.create.write",
    "wal.create.fsync",
    "wal.rename",
    "wal.dirsync",
    "snapshot.create",
    "snapshot.write",
    "snapshot.fsync",
    "snapshot.rename",
    "snapshot.dirsync",
    "tmp.remove",
    "manifest.create",
    "manifest.write",
    "manifest.fsync",
    "manifest.rename",
    "manifest.dirsync",
    "collections.create.rename",
    "collections.delete.rename",
    "collections.delete.remove",
    "collections.tmp.remove",
];

/// What a failpoint does when it fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// The operation fails and does nothing.
    Error,
    /// A write writes half its bytes, then fails (other operations: as
    /// [`Action::Error`]).
    Partial,
}

#[derive(Clone, Copy, Debug)]
struct Point {
    skip: u64,
    /// Firings left; `None`: forever.
    count: Option<u64>,
    action: Action,
}

static ON: AtomicBool = AtomicBool::new(false);
static POINTS: Mutex<Option<HashMap<String, Point>>> = Mutex::new(None);
static ENV: Once = Once::new();
static FIRED: Mutex<Option<HashMap<&'static str, u64>>> = Mutex::new(None);

/// Parses a spec (`NAME=[SKIP+][COUNT*]ACTION;...`) and switches those
/// failpoints on (or off). Unknown names and bad syntax are errors, so a
/// typo in a test does not silently test nothing.
pub fn set(spec: &str) -> Result<(), String> {
    let mut parsed = Vec::new();
    for entry in spec.split([';', ',']).map(str::trim).filter(|e| !e.is_empty()) {
        let (name, rule) = entry
            .split_once('=')
            .ok_or_else(|| format!("failpoint {entry:?}: expected NAME=[SKIP+][COUNT*]ACTION"))?;
        let name = name.trim();
        if !NAMES.contains(&name) {
            return Err(format!("unknown failpoint {name:?}; known: {}", NAMES.join(", ")));
        }
        let mut rule = rule.trim();
        let mut skip = 0;
        if let Some((s, rest)) = rule.split_once('+') {
            skip = s.parse().map_err(|_| format!("failpoint {name}: bad skip count {s:?}"))?;
            rule = rest;
        }
        let mut count = None;
        if let Some((c, rest)) = rule.split_once('*') {
            count = Some(c.parse().map_err(|_| format!("failpoint {name}: bad count {c:?}"))?);
            rule = rest;
        }
        let action = match rule {
            "error" => Some(Action::Error),
            "partial" => Some(Action::Partial),
            "off" => None,
            other => {
                return Err(format!(
                    "failpoint {name}: unknown action {other:?}; use error, partial or off"
                ))
            }
        };
        parsed.push((name.to_string(), action.map(|action| Point { skip, count, action })));
    }
    let mut points = POINTS.lock().unwrap_or_else(|p| p.into_inner());
    let map = points.get_or_insert_with(HashMap::new);
    for (name, p) in parsed {
        match p {
            Some(p) => map.insert(name, p),
            None => map.remove(&name),
        };
    }
    ON.store(!map.is_empty(), Ordering::Relaxed);
    Ok(())
}

/// Switches every failpoint off.
pub fn clear() {
    let mut points = POINTS.lock().unwrap_or_else(|p| p.into_inner());
    *points = None;
    ON.store(false, Ordering::Relaxed);
    *FIRED.lock().unwrap_or_else(|p| p.into_inner()) = None;
}

/// Reads `VECSHARD_FAILPOINTS` once per process (called when a data dir is
/// opened). A bad spec is an error: a fault test must not pass by testing
/// nothing.
pub fn init_from_env() -> Result<(), String> {
    let mut r = Ok(());
    ENV.call_once(|| {
        if let Some(spec) = std::env::var_os("VECSHARD_FAILPOINTS") {
            let spec = spec.to_string_lossy().into_owned();
            log::warn!("VECSHARD_FAILPOINTS={spec}: fault injection is on (for testing only)");
            r = set(&spec);
        }
    });
    r
}

/// Whether failpoint `name` fires now (counting the call).
fn fires(name: &'static str) -> Option<Action> {
    let mut points = POINTS.lock().unwrap_or_else(|p| p.into_inner());
    let p = points.as_mut()?.get_mut(name)?;
    if p.skip > 0 {
        p.skip -= 1;
        return None;
    }
    match &mut p.count {
        Some(0) => return None,
        Some(n) => *n -= 1,
        None => {}
    }
    let action = p.action;
    drop(points);
    *FIRED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get_or_insert_with(HashMap::new)
        .entry(name)
        .or_default() += 1;
    log::warn!("failpoint {name} fired ({action:?})");
    // Also on stderr: the fault tests of the real binary look for it.
    eprintln!("vecshard: failpoint {name} fired");
    Some(action)
}

/// How many times failpoint `name` fired in this process (since the last
/// [`clear`]).
pub fn fired(name: &str) -> u64 {
    FIRED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .and_then(|m| m.get(name))
        .copied()
        .unwrap_or(0)
}

fn injected(name: &str) -> io::Error {
    io::Error::other(format!("injected failure (failpoint {name})"))
}

/// Checks failpoint `name` before an operation: `Err` if it fires.
#[inline]
pub fn check(name: &'static str) -> io::Result<()> {
    if !ON.load(Ordering::Relaxed) {
        return Ok(());
    }
    match fires(name) {
        Some(_) => Err(injected(name)),
        None => Ok(()),
    }
}

/// `w.write_all(bytes)` behind failpoint `name`: `partial` writes half of
/// the bytes before failing.
#[inline]
pub fn write_all(name: &'static str, w: &mut impl io::Write, bytes: &[u8]) -> io::Result<()> {
    if ON.load(Ordering::Relaxed) {
        match fires(name) {
            Some(Action::Error) => return Err(injected(name)),
            Some(Action::Partial) => {
                w.write_all(&bytes[..bytes.len() / 2])?;
                return Err(injected(name));
            }
            None => {}
        }
    }
    w.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The registry is global: one test touches it, in sequence.
    #[test]
    fn specs_parse_count_and_clear() {
        assert!(set("nope=error").is_err());
        assert!(set("wal.fsync=x*error").is_err());
        assert!(set("wal.fsync=explode").is_err());
        set("wal.fsync=2+1*error; wal.append=partial").unwrap();
        let r: Vec<bool> = (0..4).map(|_| check("wal.fsync").is_err()).collect();
        assert_eq!(r, [false, false, true, false]);
        let mut out = Vec::new();
        assert!(write_all("wal.append", &mut out, b"abcd").is_err());
        assert_eq!(out, b"ab");
        set("wal.append=off").unwrap();
        assert!(write_all("wal.append", &mut out, b"cd").is_ok());
        clear();
        assert!(check("wal.fsync").is_ok());
        assert!(!ON.load(Ordering::Relaxed));
    }
}
