//! The crate's one error type: every variant names the rule (key and value) or the cgroup it
//! is about, and a failed load carries the kernel verifier's log.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// An errno the way `strerror` prints it, as the rest of lxc-rs shows kernel errors.
struct Errno<'a>(&'a io::Error);

impl fmt::Display for Errno<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.raw_os_error() {
            Some(n) => f.write_str(nix::errno::Errno::from_raw(n).desc()),
            None => write!(f, "{}", self.0),
        }
    }
}

fn errno(e: &io::Error) -> Errno<'_> {
    Errno(e)
}

/// The verifier's log after a newline, or nothing when there is none.
fn log_suffix(log: &str) -> String {
    if log.trim().is_empty() {
        String::new()
    } else {
        format!("\nverifier log:\n{}", log.trim_end())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A rule LXC would not parse.
    #[error("{key}: invalid device rule {}: {why}", lxc_core::config::bytes::quote(.value))]
    Rule {
        key: String,
        value: String,
        why: String,
    },

    /// A `devices.allow = /dev/PATH ACCESS` rule whose path cannot be read.
    #[error("{key}: invalid device rule {}: {}: {}", lxc_core::config::bytes::quote(.value), path.display(), errno(source))]
    DevPath {
        key: String,
        value: String,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// A kernel call on the container's cgroup (open, attach, replace, detach, query).
    #[error("{op} {}: {}", path.display(), errno(source))]
    Cgroup {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// BPF_PROG_LOAD refused the program.
    #[error("load the device program ({insns} instructions) for {}: {}{}", path.display(), errno(source), log_suffix(log))]
    Load {
        path: PathBuf,
        insns: usize,
        #[source]
        source: io::Error,
        log: String,
    },
}

impl Error {
    /// The config or item key the error is about, if any.
    pub fn key(&self) -> Option<&str> {
        match self {
            Error::Rule { key, .. } | Error::DevPath { key, .. } => Some(key),
            _ => None,
        }
    }

    /// The errno a C caller gets.
    pub fn errno(&self) -> i32 {
        match self {
            Error::Rule { .. } => libc::EINVAL,
            Error::DevPath { source, .. }
            | Error::Cgroup { source, .. }
            | Error::Load { source, .. } => source.raw_os_error().unwrap_or(libc::EIO),
        }
    }
}

/// The driver's error for the same failure: a rule is an invalid value of its key, the rest a
/// failure of the device program on the container's cgroup.
impl From<Error> for lxc_cgroup::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Rule { key, value, why } => lxc_cgroup::Error::InvalidValue {
                key,
                value,
                why: format!("not a device rule LXC reads: {why}"),
            },
            Error::DevPath {
                key,
                value,
                path,
                source,
            } => lxc_cgroup::Error::InvalidValue {
                key,
                value,
                why: format!("{}: {}", path.display(), errno(&source)),
            },
            Error::Cgroup { op, path, source } => lxc_cgroup::Error::DeviceProgram {
                what: op.to_string(),
                path,
                source,
                log: String::new(),
            },
            Error::Load {
                path,
                insns,
                source,
                log,
            } => lxc_cgroup::Error::DeviceProgram {
                what: format!("load the device program ({insns} instructions) for"),
                path,
                source,
                log: log_suffix(&log),
            },
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
