//! Which file descriptors a monitor keeps of the process it was forked from.
//!
//! A daemonised monitor lives as long as its container: any fd of the caller it kept (a lock,
//! the write end of a pipe someone reads to its end) would be held that long. Like LXC's
//! `lxc_check_inherited` with close-all, it closes every fd above stdio except those it made
//! itself and those a library registered here as its own (the log file, the syslog socket,
//! the phase-timings file: LXC keeps its log fd the same way).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::sync::Mutex;

use crate::sys;

/// Fds registered by [`KeptFd`]; one entry per guard (an fd may be registered twice).
static KEPT: Mutex<Vec<RawFd>> = Mutex::new(Vec::new());

/// While this lives, a monitor forked from this process keeps `fd` open. Hold it beside the
/// fd it names and drop it no later than the fd.
#[derive(Debug)]
pub struct KeptFd(RawFd);

impl KeptFd {
    pub fn new(fd: BorrowedFd<'_>) -> KeptFd {
        let raw = fd.as_raw_fd();
        KEPT.lock().unwrap_or_else(|p| p.into_inner()).push(raw);
        KeptFd(raw)
    }
}

impl Drop for KeptFd {
    fn drop(&mut self) {
        let mut kept = KEPT.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(i) = kept.iter().position(|&f| f == self.0) {
            kept.swap_remove(i);
        }
    }
}

/// The fds registered now.
pub(crate) fn registered() -> Vec<RawFd> {
    KEPT.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

fn kept_and(extra: &[RawFd]) -> Vec<RawFd> {
    let mut keep: Vec<RawFd> = KEPT.lock().unwrap_or_else(|p| p.into_inner()).clone();
    keep.extend_from_slice(extra);
    keep
}

/// Close every fd above 2 except `extra` and the registered ones (LXC's close-all). Only for a
/// freshly forked process that owns all its fds: nothing else may still use the closed ones.
pub(crate) fn close_all_but(extra: &[RawFd]) -> io::Result<()> {
    sys::close_all_except(&kept_and(extra))
}

/// Close the fds above 2 that this process inherited through exec: those without
/// close-on-exec (every fd Rust's std opens has it), except the registered ones. What
/// `lxc-start -C` means for a foreground start, where the monitor is the caller itself.
pub fn close_inherited() -> io::Result<Vec<RawFd>> {
    let keep = kept_and(&[]);
    let mut closed = Vec::new();
    let fds: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")?
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    for fd in fds {
        if fd <= 2 || keep.contains(&fd) {
            continue;
        }
        // The directory's own fd is gone by now (read_dir was consumed): a failing F_GETFD
        // just means the fd is not open any more.
        if sys::is_cloexec(fd) == Some(false) {
            sys::close_raw(fd);
            closed.push(fd);
        }
    }
    Ok(closed)
}
