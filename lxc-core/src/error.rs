//! The core's one error type. Every variant carries what a user needs to act on it: the key,
//! where it was written (file:line), the path or the container.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::config::bytes::{cut, quote, shown, shown_path};

/// How much free text (a parser's "expected", a child's message) an error shows.
const MAX_TEXT: usize = 1024;
use crate::phase::Phase;

/// Where a config value came from: a file and line, or an API call.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Origin {
    pub file: Option<PathBuf>,
    /// 1-based line number; 0 when the value did not come from a file.
    pub line: usize,
}

impl Origin {
    pub fn api() -> Self {
        Origin::default()
    }
    pub fn file(file: impl Into<PathBuf>, line: usize) -> Self {
        Origin {
            file: Some(file.into()),
            line,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(p) => write!(f, "{}:{}", shown_path(p), self.line),
            None => f.write_str("<api>"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{origin}: expected `lxc.key = value`, found {}", quote(.text))]
    Syntax { origin: Origin, text: String },

    #[error("{origin}: {}: unknown configuration key", shown(.key))]
    UnknownKey { key: String, origin: Origin },

    #[error("{origin}: {key}: not supported by this build (needs {provider})")]
    NotInBuild {
        key: String,
        origin: Origin,
        provider: &'static str,
    },

    #[error(
        "{origin}: {}: invalid value {}: expected {}",
        shown(.key),
        quote(.value),
        cut(.expected, MAX_TEXT)
    )]
    InvalidValue {
        key: String,
        value: String,
        origin: Origin,
        expected: String,
    },

    #[error("{origin}: lxc.include {}: {source}", shown_path(.path))]
    Include {
        origin: Origin,
        path: PathBuf,
        source: io::Error,
    },

    #[error("{origin}: lxc.include {}: includes nested deeper than {max} levels", shown_path(.path))]
    IncludeDepth {
        origin: Origin,
        path: PathBuf,
        max: usize,
    },

    /// An include of something that is neither a regular file nor a directory (a FIFO would
    /// block, a device would never end).
    #[error(
        "{origin}: lxc.include {}: is a {kind}: expected a regular file or a directory",
        shown_path(.path)
    )]
    IncludeKind {
        origin: Origin,
        path: PathBuf,
        kind: &'static str,
    },

    /// A file that includes itself, directly or through other files or directories.
    #[error(
        "{origin}: lxc.include {}: include loop: this file or directory is already being read",
        shown_path(.path)
    )]
    IncludeLoop { origin: Origin, path: PathBuf },

    /// A bound on the work of one load (file size, total bytes, number of files).
    #[error("{origin}: lxc.include {}: {what} exceeds the limit of {limit}", shown_path(.path))]
    IncludeLimit {
        origin: Origin,
        path: PathBuf,
        what: &'static str,
        limit: u64,
    },

    /// The config file itself is over the size limit.
    #[error("{}: config file larger than the limit of {limit} bytes", shown_path(.path))]
    TooLarge { path: PathBuf, limit: u64 },

    /// The last entry of a capped problem list: how many were not kept.
    #[error("{}: and {more} more problem(s)", shown_path(.path))]
    MoreProblems { path: PathBuf, more: usize },

    #[error("{}: {} problem(s):\n{}", shown_path(.path), problem_count(.errors), list(.errors))]
    Config { path: PathBuf, errors: Vec<Error> },

    #[error("{op} {}: {source}", shown_path(.path))]
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },

    #[error("invalid container name {}: {why}", quote(.name))]
    InvalidName { name: String, why: &'static str },

    #[error("container {name} is not defined in {lxcpath}")]
    NotDefined { name: String, lxcpath: PathBuf },

    #[error("{name}: {}", cut(.message, MAX_TEXT))]
    Start { name: String, message: String },

    #[error("{name} is not running")]
    NotRunning { name: String },

    #[error("{name} is already running")]
    AlreadyRunning { name: String },

    #[error("{name}: command {request}: {}", cut(.message, MAX_TEXT))]
    Command {
        name: String,
        request: String,
        message: String,
    },

    #[error("{name}: {op}: {source}")]
    Sys {
        name: String,
        op: &'static str,
        source: io::Error,
    },

    #[error(
        "phase {phase}: {owner}{}: {}",
        key_suffix(.key, .message),
        cut(.message, MAX_TEXT)
    )]
    Hook {
        phase: Phase,
        owner: &'static str,
        key: Option<String>,
        message: String,
    },
}

/// The number of problems, counting those a [`Error::MoreProblems`] stands for.
fn problem_count(errors: &[Error]) -> usize {
    errors
        .iter()
        .map(|e| match e {
            Error::MoreProblems { more, .. } => *more,
            _ => 1,
        })
        .sum()
}

fn list(errors: &[Error]) -> String {
    errors
        .iter()
        .map(|e| format!("  {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// ": KEY", unless the message already starts with the key (then it is said once).
fn key_suffix(key: &Option<String>, message: &str) -> String {
    match key {
        Some(k) if !message.starts_with(k.as_str()) => format!(": {k}"),
        _ => String::new(),
    }
}

impl Error {
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// The individual problems, flattening an aggregated `Config` error.
    pub fn problems(&self) -> Vec<&Error> {
        match self {
            Error::Config { errors, .. } => errors.iter().flat_map(|e| e.problems()).collect(),
            e => vec![e],
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
