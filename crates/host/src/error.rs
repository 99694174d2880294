//! The host's error type: what went wrong with a data dir, a file in it,
//! the wasm engine or a shard worker, and what to do about it.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// An error from the host. Match on [`Error::kind`]; the `Display` text is
/// written for the person running `vecshard` and says what to do.
#[derive(Debug)]
pub struct Error(Box<ErrorKind>);

/// What went wrong.
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A file operation failed.
    Io {
        /// What we were doing (`"read"`, `"create"`, `"fsync"`, ...).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// `create` on a directory that already holds something.
    NotEmpty {
        /// The directory.
        dir: PathBuf,
    },
    /// `open` on a directory without `cluster.json`.
    NotADataDir {
        /// The directory.
        dir: PathBuf,
    },
    /// `cluster.json` is unreadable, or written by a newer vecshard.
    Manifest {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// `cluster.json` disagrees with what the caller asked for. Nothing was
    /// changed on disk.
    Mismatch {
        /// The file.
        path: PathBuf,
        /// One line per field that differs: `"shards: on disk 4, asked 2"`.
        differences: Vec<String>,
    },
    /// A snapshot file failed validation.
    CorruptSnapshot {
        /// The file.
        path: PathBuf,
        /// What the validator said.
        message: String,
    },
    /// A write-ahead log is damaged somewhere other than a torn last record
    /// (those are dropped), or a record does not replay.
    CorruptWal {
        /// The file.
        path: PathBuf,
        /// Byte offset of the bad record (or header).
        offset: u64,
        /// What is wrong.
        message: String,
    },
    /// A write-ahead log follows a snapshot (its base is not the empty
    /// one), but `snapshot.bin` is missing: opening would silently drop
    /// the log's writes, so the shard refuses to open.
    MissingSnapshot {
        /// The missing snapshot file.
        path: PathBuf,
        /// The log that needs it.
        wal: PathBuf,
    },
    /// Another process (or another `Cluster` in this one) has the shard open.
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// The wasm engine could not be set up (compile, cache, instantiate).
    Wasm {
        /// What failed.
        message: String,
    },
    /// A shard could not be loaded or is not running (it trapped while
    /// loading its data, or it was shut down).
    Shard {
        /// The shard id.
        shard: u32,
        /// What happened.
        message: String,
    },
    /// A bad argument (0 shards, a shard index out of range, bad settings).
    InvalidArgument {
        /// What is wrong.
        message: String,
    },
    /// A collection name that cannot be stored: empty, or longer than
    /// [`crate::collections::MAX_NAME_BYTES`].
    InvalidName {
        /// Why.
        message: String,
    },
    /// No collection has this name.
    CollectionNotFound {
        /// The name.
        name: String,
    },
    /// `create` of a collection that exists with other settings. Nothing
    /// was changed.
    CollectionExists {
        /// The name.
        name: String,
        /// One line per field that differs.
        differences: Vec<String>,
    },
}

impl Error {
    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.0
    }

    fn new(kind: ErrorKind) -> Error {
        Error(Box::new(kind))
    }

    /// A failed file operation.
    pub fn io(op: &'static str, path: impl AsRef<Path>, source: io::Error) -> Error {
        Error::new(ErrorKind::Io { op, path: path.as_ref().to_path_buf(), source })
    }

    pub(crate) fn not_empty(dir: &Path) -> Error {
        Error::new(ErrorKind::NotEmpty { dir: dir.to_path_buf() })
    }

    pub(crate) fn not_a_data_dir(dir: &Path) -> Error {
        Error::new(ErrorKind::NotADataDir { dir: dir.to_path_buf() })
    }

    pub(crate) fn manifest(path: &Path, message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Manifest { path: path.to_path_buf(), message: message.into() })
    }

    pub(crate) fn mismatch(path: &Path, differences: Vec<String>) -> Error {
        Error::new(ErrorKind::Mismatch { path: path.to_path_buf(), differences })
    }

    pub(crate) fn corrupt_snapshot(path: &Path, message: impl Into<String>) -> Error {
        Error::new(ErrorKind::CorruptSnapshot { path: path.to_path_buf(), message: message.into() })
    }

    pub(crate) fn corrupt_wal(path: &Path, offset: u64, message: impl Into<String>) -> Error {
        Error::new(ErrorKind::CorruptWal {
            path: path.to_path_buf(),
            offset,
            message: message.into(),
        })
    }

    pub(crate) fn missing_snapshot(path: &Path, wal: &Path) -> Error {
        Error::new(ErrorKind::MissingSnapshot { path: path.to_path_buf(), wal: wal.to_path_buf() })
    }

    /// A copy of this error, for the several callers who waited on one
    /// coalesced checkpoint (an I/O source is copied as its kind and text).
    pub(crate) fn duplicate(&self) -> Error {
        Error::new(match self.kind() {
            ErrorKind::Io { op, path, source } => ErrorKind::Io {
                op,
                path: path.clone(),
                source: io::Error::new(source.kind(), source.to_string()),
            },
            ErrorKind::NotEmpty { dir } => ErrorKind::NotEmpty { dir: dir.clone() },
            ErrorKind::NotADataDir { dir } => ErrorKind::NotADataDir { dir: dir.clone() },
            ErrorKind::Manifest { path, message } => {
                ErrorKind::Manifest { path: path.clone(), message: message.clone() }
            }
            ErrorKind::Mismatch { path, differences } => {
                ErrorKind::Mismatch { path: path.clone(), differences: differences.clone() }
            }
            ErrorKind::CorruptSnapshot { path, message } => {
                ErrorKind::CorruptSnapshot { path: path.clone(), message: message.clone() }
            }
            ErrorKind::CorruptWal { path, offset, message } => ErrorKind::CorruptWal {
                path: path.clone(),
                offset: *offset,
                message: message.clone(),
            },
            ErrorKind::MissingSnapshot { path, wal } => {
                ErrorKind::MissingSnapshot { path: path.clone(), wal: wal.clone() }
            }
            ErrorKind::Locked { path } => ErrorKind::Locked { path: path.clone() },
            ErrorKind::Wasm { message } => ErrorKind::Wasm { message: message.clone() },
            ErrorKind::Shard { shard, message } => {
                ErrorKind::Shard { shard: *shard, message: message.clone() }
            }
            ErrorKind::InvalidArgument { message } => {
                ErrorKind::InvalidArgument { message: message.clone() }
            }
            ErrorKind::InvalidName { message } => {
                ErrorKind::InvalidName { message: message.clone() }
            }
            ErrorKind::CollectionNotFound { name } => {
                ErrorKind::CollectionNotFound { name: name.clone() }
            }
            ErrorKind::CollectionExists { name, differences } => {
                ErrorKind::CollectionExists { name: name.clone(), differences: differences.clone() }
            }
        })
    }

    pub(crate) fn locked(path: &Path) -> Error {
        Error::new(ErrorKind::Locked { path: path.to_path_buf() })
    }

    pub(crate) fn wasm(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Wasm { message: message.into() })
    }

    pub(crate) fn shard(shard: u32, message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Shard { shard, message: message.into() })
    }

    pub(crate) fn invalid_argument(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidArgument { message: message.into() })
    }

    pub(crate) fn invalid_name(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidName { message: message.into() })
    }

    pub(crate) fn collection_not_found(name: &str) -> Error {
        Error::new(ErrorKind::CollectionNotFound { name: name.to_string() })
    }

    pub(crate) fn collection_exists(name: &str, differences: Vec<String>) -> Error {
        Error::new(ErrorKind::CollectionExists { name: name.to_string(), differences })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind() {
            ErrorKind::Io { op, path, source } => {
                write!(f, "cannot {op} {}: {source}", path.display())
            }
            ErrorKind::NotEmpty { dir } => write!(
                f,
                "{} already exists and is not empty; pick a new directory for a new index, \
                 or open the existing one instead of creating it",
                dir.display()
            ),
            ErrorKind::NotADataDir { dir } => write!(
                f,
                "{} is not a vecshard data directory (no cluster.json); create one with \
                 `vecshard build --out DIR`",
                dir.display()
            ),
            ErrorKind::Manifest { path, message } => write!(f, "{}: {message}", path.display()),
            ErrorKind::Mismatch { path, differences } => write!(
                f,
                "{} does not match what was asked ({}); pass the values the index was built \
                 with, or use another data directory. Nothing was changed",
                path.display(),
                differences.join("; ")
            ),
            ErrorKind::CorruptSnapshot { path, message } => write!(
                f,
                "snapshot {} is corrupt: {message}. Nothing was loaded or changed; restore the \
                 file from a backup, or rebuild the index",
                path.display()
            ),
            ErrorKind::CorruptWal { path, offset, message } => write!(
                f,
                "write-ahead log {} is damaged at byte {offset}: {message}. Nothing was \
                 changed; the records after that point would be lost by truncating it, so \
                 this is left to you: back the file up, then truncate it at byte {offset} \
                 to keep what precedes it",
                path.display()
            ),
            ErrorKind::MissingSnapshot { path, wal } => write!(
                f,
                "{} is missing, but the write-ahead log {} follows a snapshot (its base is not \
                 the empty index): opening would silently lose the writes in that snapshot. \
                 Nothing was changed; restore {} from a backup",
                path.display(),
                wal.display(),
                path.display()
            ),
            ErrorKind::Locked { path } => write!(
                f,
                "{} is locked: another vecshard process (or another open Cluster in this \
                 process) is using this shard; stop it first",
                path.display()
            ),
            ErrorKind::Wasm { message } => write!(f, "wasm engine: {message}"),
            ErrorKind::Shard { shard, message } => write!(f, "shard {shard}: {message}"),
            ErrorKind::InvalidArgument { message } => write!(f, "{message}"),
            ErrorKind::InvalidName { message } => write!(f, "invalid collection name: {message}"),
            ErrorKind::CollectionNotFound { name } => write!(
                f,
                "collection {name:?} does not exist; create it first (PUT \
                 /v1/collections/{{name}} with its settings)"
            ),
            ErrorKind::CollectionExists { name, differences } => write!(
                f,
                "collection {name:?} already exists with other settings ({}); delete it first \
                 or use another name. Nothing was changed",
                differences.join("; ")
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self.kind() {
            ErrorKind::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// `Result<T, Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
