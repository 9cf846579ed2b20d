//! The crate's one error type: every variant names the path or the `lxc.rootfs.path` value it
//! is about.

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A kernel call or file operation failed on `path`.
    #[error("{op} {}: {source}", .path.display())]
    Io {
        op: String,
        path: PathBuf,
        source: io::Error,
    },

    /// An `lxc.rootfs.path` value (or storage type) this crate cannot read.
    #[error("lxc.rootfs.path {value:?}: expected {expected}")]
    Spec { value: String, expected: String },

    /// A backend asked for something it cannot do (LXC refuses the same).
    #[error("{kind} storage {value:?}: {why}")]
    Unsupported {
        kind: &'static str,
        value: String,
        why: String,
    },

    /// A helper program (mkfs.TYPE) failed.
    #[error("{program} {}: {why}", .path.display())]
    Command {
        program: String,
        path: PathBuf,
        why: String,
    },
}

impl StorageError {
    pub(crate) fn io(op: impl Into<String>, path: impl Into<PathBuf>, source: io::Error) -> Self {
        StorageError::Io {
            op: op.into(),
            path: path.into(),
            source,
        }
    }

    /// The errno behind the error, when a kernel call failed.
    pub fn errno(&self) -> Option<i32> {
        match self {
            StorageError::Io { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;
