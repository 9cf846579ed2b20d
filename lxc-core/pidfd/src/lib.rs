//! API extension `pidfd`: the core signals and waits for every process through pidfds; this
//! crate registers the extension and offers the same handle to users.

#![forbid(unsafe_code)]

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use lxc_core::linkme::distributed_slice;
use lxc_core::registry::{EntryKind, Registration, REGISTRY};
use lxc_core::sys;

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static PIDFD: Registration = Registration {
    name: "pidfd",
    kind: EntryKind::ApiExtension,
    keys: &[],
    hooks: &[],
    commands: &[],
};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("pidfd for pid {pid}: {op}: {source}")]
    Sys {
        pid: i32,
        op: &'static str,
        source: io::Error,
    },
}

/// A process handle that cannot be confused with a later process of the same pid.
#[derive(Debug)]
pub struct Pidfd {
    fd: OwnedFd,
    pid: i32,
}

impl Pidfd {
    /// Open a pidfd for `pid` (pidfd_open).
    pub fn open(pid: i32) -> Result<Pidfd, Error> {
        let fd = sys::pidfd_open(pid).map_err(|source| Error::Sys {
            pid,
            op: "pidfd_open",
            source,
        })?;
        Ok(Pidfd { fd, pid })
    }

    /// Wrap a pidfd received from elsewhere (e.g. `init_pidfd`); `pid` is for messages only.
    pub fn from_fd(fd: OwnedFd, pid: i32) -> Pidfd {
        Pidfd { fd, pid }
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// pidfd_send_signal.
    pub fn send_signal(&self, sig: i32) -> Result<(), Error> {
        sys::pidfd_send_signal(self.fd.as_fd(), sig).map_err(|source| Error::Sys {
            pid: self.pid,
            op: "pidfd_send_signal",
            source,
        })
    }

    /// Whether the process has exited (its pidfd polls readable), without reaping it.
    pub fn has_exited(&self) -> Result<bool, Error> {
        sys::poll_readable(&[self.fd.as_fd()], 0)
            .map(|r| r.first().copied().unwrap_or(false))
            .map_err(|source| Error::Sys {
                pid: self.pid,
                op: "poll",
                source,
            })
    }

    /// Wait up to `timeout_ms` (-1: forever) for the process to exit; true if it did.
    pub fn wait_exit(&self, timeout_ms: i32) -> Result<bool, Error> {
        sys::poll_readable(&[self.fd.as_fd()], timeout_ms)
            .map(|r| r.first().copied().unwrap_or(false))
            .map_err(|source| Error::Sys {
                pid: self.pid,
                op: "poll",
                source,
            })
    }

    /// Reap a child of this process (waitid P_PIDFD).
    pub fn reap(&self) -> Result<Option<sys::Exit>, Error> {
        sys::pidfd_wait(self.fd.as_fd(), false).map_err(|source| Error::Sys {
            pid: self.pid,
            op: "waitid",
            source,
        })
    }
}

impl AsFd for Pidfd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
