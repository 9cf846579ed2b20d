//! The crate's one error type. Every variant says what it is about (the source, the target in
//! the container, an option) and carries the errno a C caller gets.

use std::io;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum InjectError {
    /// A request that cannot be done as asked (flags, options, paths, a type mismatch).
    #[error("{what}: {why}")]
    Invalid {
        what: String,
        why: String,
        errno: i32,
    },

    /// A kernel call failed: `op` says what was attempted (empty: `what` says it all).
    #[error("{what}: {}{}", op_prefix(.op), os_text(.source))]
    Sys {
        what: String,
        op: String,
        source: io::Error,
    },

    /// Something this build does not have.
    #[error("{what} needs the API extension {extension}, which this build does not have")]
    NotInBuild {
        what: String,
        extension: &'static str,
    },

    /// The container's own error (not running, run by LXC), as the core reports it.
    #[error(transparent)]
    Container(#[from] lxc_core::Error),
}

/// An io::Error's text without the " (os error N)" tail: the errno travels in the error.
pub fn os_text(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn op_prefix(op: &str) -> String {
    if op.is_empty() {
        String::new()
    } else {
        format!("{op}: ")
    }
}

/// The text of an errno.
pub fn errno_text(errno: i32) -> String {
    os_text(&io::Error::from_raw_os_error(errno))
}

impl InjectError {
    pub fn invalid(what: impl Into<String>, why: impl Into<String>, errno: i32) -> Self {
        InjectError::Invalid {
            what: what.into(),
            why: why.into(),
            errno,
        }
    }

    pub fn sys(what: impl Into<String>, op: impl Into<String>, source: io::Error) -> Self {
        InjectError::Sys {
            what: what.into(),
            op: op.into(),
            source,
        }
    }

    pub fn errno(&self) -> i32 {
        match self {
            InjectError::Invalid { errno, .. } => *errno,
            InjectError::Sys { source, .. } => source.raw_os_error().unwrap_or(libc::EIO),
            InjectError::NotInBuild { .. } => libc::EOPNOTSUPP,
            InjectError::Container(e) => e.errno(),
        }
    }

    /// The core's error for `op` (`mount`/`umount`) on `target` in container `name`; the
    /// container's own errors pass through as the core made them.
    pub fn into_core(self, name: &str, op: &'static str, target: &Path) -> lxc_core::Error {
        match self {
            InjectError::Container(e) => e,
            e => {
                // The core's error names the target already: said once.
                let shown = Path::new("/").join(target.strip_prefix("/").unwrap_or(target));
                let text = e.to_string();
                let message = text
                    .strip_prefix(&format!("{}: ", shown.display()))
                    .map_or(text.clone(), str::to_string);
                lxc_core::Error::Mount {
                    name: name.to_string(),
                    op,
                    path: target.to_path_buf(),
                    errno: e.errno(),
                    message,
                }
            }
        }
    }
}

pub type Result<T, E = InjectError> = std::result::Result<T, E>;
