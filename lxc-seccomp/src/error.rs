//! The crate's one error type.

use std::path::PathBuf;

pub use crate::compile::CompileError;
pub use crate::policy::PolicyError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The policy file could not be read or does not parse.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The policy parsed but libseccomp refused to build it.
    #[error(transparent)]
    Compile(#[from] CompileError),
    /// The kernel refused the filter.
    #[error("load the seccomp policy {path}: {}", std::io::Error::from_raw_os_error(*errno))]
    Load { path: PathBuf, errno: i32 },
}

impl Error {
    /// The errno a C caller gets.
    pub fn errno(&self) -> i32 {
        match self {
            Error::Policy(PolicyError::Read { source, .. }) => {
                source.raw_os_error().unwrap_or(libc::EIO)
            }
            Error::Policy(_) | Error::Compile(_) => libc::EINVAL,
            Error::Load { errno, .. } => *errno,
        }
    }
}
