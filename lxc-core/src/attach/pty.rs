//! The caller's side of a pty attach: its terminal in raw mode, bytes copied between it and
//! the pty master, the window size kept in step, until the command is done.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use super::sys;

/// A running pty session: the master of the attached process's terminal and the caller's
/// input and output it is joined to.
#[derive(Debug)]
pub struct Session {
    pub master: OwnedFd,
    pub input: OwnedFd,
    pub output: OwnedFd,
    /// Where the command's output is copied too (`lxc-attach -L`).
    pub log: Option<OwnedFd>,
}

/// How long the copy waits between window-size checks, and how long output may pause after
/// the command exited before the copy gives up on a pty that someone else still holds.
const TICK_MS: i32 = 250;

/// Copy until every holder of the pty's peer is gone (the master reads EIO), or until the
/// attached process has exited and its output has been drained.
pub fn proxy(s: &Session, attached: BorrowedFd<'_>) -> io::Result<()> {
    let master = s.master.as_raw_fd();
    let input = s.input.as_raw_fd();
    let tty_in = sys::isatty(input);
    let _raw = if tty_in {
        match sys::RawMode::enter(s.input.as_fd()) {
            Ok(g) => Some(g),
            Err(e) => {
                tracing::warn!(error = %e, "attach: cannot put the terminal in raw mode");
                None
            }
        }
    } else {
        None
    };
    sys::set_nonblocking(master)?;
    let mut winsize = if tty_in {
        sys::get_winsize(input)
    } else {
        None
    };
    let mut pending: Vec<u8> = Vec::new();
    let mut input_open = true;
    let mut output_open = true;
    let mut exited = false;
    let mut buf = vec![0u8; 16 * 1024];

    loop {
        let mut master_events = libc::POLLIN;
        if !pending.is_empty() {
            master_events |= libc::POLLOUT;
        }
        let input_fd = if input_open && pending.is_empty() {
            input
        } else {
            -1
        };
        let mut pfds = [
            pollfd(master, master_events),
            pollfd(if exited { -1 } else { attached.as_raw_fd() }, libc::POLLIN),
            pollfd(input_fd, libc::POLLIN),
        ];
        let timeout = if tty_in || exited { TICK_MS } else { -1 };
        let n = sys::poll(&mut pfds, timeout)?;

        if tty_in {
            let now = sys::get_winsize(input);
            if let Some(ws) = now.filter(|ws| !winsize.is_some_and(|old| same_size(&old, ws))) {
                sys::set_winsize(master, &ws);
            }
            winsize = now.or(winsize);
        }
        if n == 0 && exited {
            // The command is gone and nothing more came: a process it left behind still
            // holds the pty; do not wait for it.
            return Ok(());
        }

        let m = pfds[0].revents;
        if m & libc::POLLOUT != 0 {
            match sys::write_some(master, &pending) {
                Ok(w) => {
                    pending.drain(..w);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => pending.clear(),
            }
        }
        if m & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 {
            match sys::read_some(master, &mut buf) {
                Ok(0) => return Ok(()),
                Ok(k) => {
                    if output_open && write_all(s.output.as_fd(), &buf[..k]).is_err() {
                        output_open = false;
                    }
                    // As LXC's terminal log: a failed write loses the log, not the session.
                    if let Some(log) = &s.log {
                        if let Err(e) = write_all(log.as_fd(), &buf[..k]) {
                            tracing::warn!(error = %e, "attach: write to the pty log failed");
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // EIO: the last holder of the peer closed it.
                Err(e) if e.raw_os_error() == Some(libc::EIO) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        if pfds[2].revents != 0 {
            match sys::read_some(input, &mut buf) {
                Ok(0) => input_open = false,
                Ok(k) => pending.extend_from_slice(&buf[..k]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => input_open = false,
            }
        }
        if pfds[1].revents != 0 {
            // Keep reading what is still on its way from the pty; stop on EIO or quiet.
            exited = true;
        }
    }
}

fn same_size(a: &libc::winsize, b: &libc::winsize) -> bool {
    (a.ws_row, a.ws_col, a.ws_xpixel, a.ws_ypixel) == (b.ws_row, b.ws_col, b.ws_xpixel, b.ws_ypixel)
}

fn pollfd(fd: RawFd, events: libc::c_short) -> libc::pollfd {
    libc::pollfd {
        fd,
        events,
        revents: 0,
    }
}

fn write_all(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<()> {
    crate::sys::write_all(fd, buf)
}
