//! The core's one error type. Every variant carries what a user needs to act on it: the key,
//! where it was written (file:line), the path or the container.

use std::fmt;
use std::io;
use std::path::PathBuf;

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
            Some(p) => write!(f, "{}:{}", p.display(), self.line),
            None => f.write_str("<api>"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{origin}: expected `lxc.key = value`, found {text:?}")]
    Syntax { origin: Origin, text: String },

    #[error("{origin}: {key}: unknown configuration key")]
    UnknownKey { key: String, origin: Origin },

    #[error("{origin}: {key}: not supported by this build (needs {provider})")]
    NotInBuild {
        key: String,
        origin: Origin,
        provider: &'static str,
    },

    #[error("{origin}: {key}: invalid value {value:?}: expected {expected}")]
    InvalidValue {
        key: String,
        value: String,
        origin: Origin,
        expected: String,
    },

    #[error("{origin}: {key:?}: invalid key: expected {expected}")]
    InvalidKey {
        key: String,
        origin: Origin,
        expected: &'static str,
    },

    #[error("{origin}: lxc.include {path}: {source}")]
    Include {
        origin: Origin,
        path: PathBuf,
        source: io::Error,
    },

    #[error("{origin}: lxc.include {path}: includes nested deeper than {max} levels")]
    IncludeDepth {
        origin: Origin,
        path: PathBuf,
        max: usize,
    },

    #[error("{path}: {} problem(s):\n{}", .errors.len(), list(.errors))]
    Config { path: PathBuf, errors: Vec<Error> },

    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },

    /// The container lock (see `lock.rs`): taking it, or making its file.
    #[error("{name}: {op} {path}: {source}")]
    Lock {
        name: String,
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },

    #[error("invalid container name {name:?}: {why}")]
    InvalidName { name: String, why: &'static str },

    #[error("container {name} is not defined in {lxcpath}")]
    NotDefined { name: String, lxcpath: PathBuf },

    #[error("{name}: {message}")]
    Start { name: String, message: String },

    #[error("{name} is not running")]
    NotRunning { name: String },

    #[error("{name} is already running")]
    AlreadyRunning { name: String },

    #[error("{name}: command {request}: {message}")]
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

    #[error("phase {phase}: {owner}{}: {message}", key_suffix(.key, .message))]
    Hook {
        phase: Phase,
        owner: &'static str,
        key: Option<String>,
        message: String,
    },
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
