//! The kernel calls of the command socket, one safe function each. Every descriptor made here
//! is close-on-exec from birth (SOCK_CLOEXEC, MSG_CMSG_CLOEXEC), so a monitor that forks and
//! execs hooks never leaks a client connection or a received fd into them.

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{
    self, sockopt, AddressFamily, Backlog, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag,
    SockType, UnixAddr,
};
use nix::sys::time::TimeVal;

use super::proto::MAX_FDS;

/// Who is at the other end of a connection, as the kernel recorded it at connect time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PeerCred {
    pub pid: i32,
    pub uid: u32,
    pub gid: u32,
}

fn abstract_addr(name: &[u8]) -> io::Result<UnixAddr> {
    // `name` carries the leading NUL; nix adds its own.
    let bare = name.strip_prefix(b"\0").unwrap_or(name);
    Ok(UnixAddr::new_abstract(bare)?)
}

/// A unix stream socket, close-on-exec, optionally non-blocking.
pub(crate) fn stream_socket(nonblocking: bool) -> io::Result<OwnedFd> {
    let mut flags = SockFlag::SOCK_CLOEXEC;
    if nonblocking {
        flags |= SockFlag::SOCK_NONBLOCK;
    }
    Ok(socket::socket(
        AddressFamily::Unix,
        SockType::Stream,
        flags,
        None,
    )?)
}

pub(crate) fn bind_abstract(fd: BorrowedFd<'_>, name: &[u8]) -> io::Result<()> {
    Ok(socket::bind(fd.as_raw_fd(), &abstract_addr(name)?)?)
}

pub(crate) fn listen(fd: BorrowedFd<'_>, backlog: i32) -> io::Result<()> {
    let backlog = Backlog::new(backlog).map_err(io::Error::from)?;
    Ok(socket::listen(&fd, backlog)?)
}

/// Connect to an abstract name. A unix `connect` blocks while the listener's backlog is
/// full; SO_SNDTIMEO (see [`set_send_timeout`]) bounds that wait.
pub(crate) fn connect_abstract(fd: BorrowedFd<'_>, name: &[u8]) -> io::Result<()> {
    let addr = abstract_addr(name)?;
    loop {
        match socket::connect(fd.as_raw_fd(), &addr) {
            Err(Errno::EINTR) => continue,
            r => return Ok(r?),
        }
    }
}

/// Accept one connection, close-on-exec and non-blocking; `None` when none is pending.
pub(crate) fn accept(fd: BorrowedFd<'_>) -> io::Result<Option<OwnedFd>> {
    loop {
        match socket::accept4(fd, SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK) {
            Ok(c) => return Ok(Some(c)),
            Err(Errno::EAGAIN) => return Ok(None),
            // The peer gave up between connect and accept: nothing to serve, look further.
            Err(Errno::EINTR | Errno::ECONNABORTED) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

pub(crate) fn peer_cred(fd: BorrowedFd<'_>) -> io::Result<PeerCred> {
    let c = socket::getsockopt(&fd, sockopt::PeerCredentials)?;
    Ok(PeerCred {
        pid: c.pid(),
        uid: c.uid(),
        gid: c.gid(),
    })
}

pub(crate) fn set_send_timeout(fd: BorrowedFd<'_>, timeout: Duration) -> io::Result<()> {
    // A zero SO_SNDTIMEO means "wait forever": round up to the smallest real timeout.
    let t = timeout.max(Duration::from_micros(1));
    Ok(socket::setsockopt(
        &fd,
        sockopt::SendTimeout,
        &TimeVal::from(libc::timeval {
            tv_sec: t.as_secs().try_into().unwrap_or(libc::time_t::MAX),
            tv_usec: t.subsec_micros().into(),
        }),
    )?)
}

/// One non-blocking `sendmsg`, with `fds` as SCM_RIGHTS. Never raises SIGPIPE: a vanished
/// peer is EPIPE. Returns the bytes sent; the fds go with the first byte.
pub(crate) fn send_with_fds(
    fd: BorrowedFd<'_>,
    buf: &[u8],
    fds: &[BorrowedFd<'_>],
) -> io::Result<usize> {
    sendmsg_fds(fd, buf, fds, MsgFlags::MSG_DONTWAIT)
}

/// [`send_with_fds`] that waits for room (the start channel, a blocking seqpacket pair).
pub(crate) fn send_with_fds_blocking(
    fd: BorrowedFd<'_>,
    buf: &[u8],
    fds: &[BorrowedFd<'_>],
) -> io::Result<usize> {
    sendmsg_fds(fd, buf, fds, MsgFlags::empty())
}

fn sendmsg_fds(
    fd: BorrowedFd<'_>,
    buf: &[u8],
    fds: &[BorrowedFd<'_>],
    flags: MsgFlags,
) -> io::Result<usize> {
    let raw: Vec<RawFd> = fds.iter().map(|f| f.as_raw_fd()).collect();
    let cmsgs = [ControlMessage::ScmRights(&raw)];
    let cmsgs: &[ControlMessage<'_>] = if raw.is_empty() { &[] } else { &cmsgs };
    let iov = [IoSlice::new(buf)];
    loop {
        match socket::sendmsg::<UnixAddr>(
            fd.as_raw_fd(),
            &iov,
            cmsgs,
            flags | MsgFlags::MSG_NOSIGNAL,
            None,
        ) {
            Err(Errno::EINTR) => continue,
            r => return Ok(r?),
        }
    }
}

/// One non-blocking `recvmsg`. Received fds are appended to `fds` (close-on-exec). Returns
/// the bytes read, 0 at end of stream. More fds than [`MAX_FDS`] in one message is an error:
/// the kernel has dropped the rest, so the message is not what the sender meant.
pub(crate) fn recv_with_fds(
    fd: BorrowedFd<'_>,
    buf: &mut [u8],
    fds: &mut Vec<OwnedFd>,
) -> io::Result<usize> {
    recvmsg_fds(fd, buf, fds, MsgFlags::MSG_DONTWAIT)
}

/// [`recv_with_fds`] that waits for a message (the start channel).
pub(crate) fn recv_with_fds_blocking(
    fd: BorrowedFd<'_>,
    buf: &mut [u8],
    fds: &mut Vec<OwnedFd>,
) -> io::Result<usize> {
    recvmsg_fds(fd, buf, fds, MsgFlags::empty())
}

fn recvmsg_fds(
    fd: BorrowedFd<'_>,
    buf: &mut [u8],
    fds: &mut Vec<OwnedFd>,
    flags: MsgFlags,
) -> io::Result<usize> {
    let mut cmsg = nix::cmsg_space!([RawFd; MAX_FDS]);
    let mut iov = [IoSliceMut::new(buf)];
    let msg = loop {
        match socket::recvmsg::<UnixAddr>(
            fd.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            flags | MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Err(Errno::EINTR) => continue,
            r => break r?,
        }
    };
    let truncated = msg.flags.contains(MsgFlags::MSG_CTRUNC);
    let bytes = msg.bytes;
    for c in msg.cmsgs()? {
        if let ControlMessageOwned::ScmRights(received) = c {
            for raw in received {
                // SAFETY: the kernel has just installed `raw` in our fd table for this
                // message; nothing else knows of it, so we are its only owner.
                fds.push(unsafe { OwnedFd::from_raw_fd(raw) });
            }
        }
    }
    if truncated {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("more than {MAX_FDS} file descriptors in one message"),
        ));
    }
    Ok(bytes)
}

/// Wait until `fd` is readable (or writable), up to `deadline` (`None`: forever). Returns
/// false when the deadline passed first. Hang-up and errors count as ready: the next read or
/// write reports them.
pub(crate) fn wait_ready(
    fd: BorrowedFd<'_>,
    writable: bool,
    deadline: Option<Instant>,
) -> io::Result<bool> {
    let events = if writable {
        PollFlags::POLLOUT
    } else {
        PollFlags::POLLIN
    };
    loop {
        let timeout = match deadline {
            None => PollTimeout::NONE,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    PollTimeout::ZERO
                } else {
                    // Round up so a sub-millisecond rest does not spin on a 0 ms poll.
                    let ms = left.as_micros().div_ceil(1000);
                    PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)
                }
            }
        };
        let mut pfd = [PollFd::new(fd, events)];
        match nix::poll::poll(&mut pfd, timeout) {
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
            Ok(0) => {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Ok(false);
                }
            }
            Ok(_) => return Ok(true),
        }
    }
}

/// One non-blocking `sendmsg` of `buf` with SCM_CREDENTIALS carrying our own pid, uid and gid:
/// LXC's monitor reads every request with `recvmsg` on a socket that has SO_PASSCRED and checks
/// those credentials, as its own client sends them. Never raises SIGPIPE.
pub(crate) fn send_with_own_creds(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    let creds = socket::UnixCredentials::new();
    let cmsgs = [ControlMessage::ScmCredentials(&creds)];
    let iov = [IoSlice::new(buf)];
    loop {
        match socket::sendmsg::<UnixAddr>(
            fd.as_raw_fd(),
            &iov,
            &cmsgs,
            MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_NOSIGNAL,
            None,
        ) {
            Err(Errno::EINTR) => continue,
            r => return Ok(r?),
        }
    }
}

/// Who sent a message, as SCM_CREDENTIALS said (pid, uid, gid).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MsgCred {
    pub pid: i32,
    pub uid: u32,
    pub gid: u32,
}

/// Have the kernel attach the sender's credentials to every message read from `fd`, as LXC's
/// monitor does on each command connection it accepts.
pub(crate) fn set_passcred(fd: BorrowedFd<'_>) -> io::Result<()> {
    Ok(socket::setsockopt(&fd, sockopt::PassCred, &true)?)
}

/// One non-blocking `recvmsg` that also returns the SCM_CREDENTIALS that came with the bytes
/// (with SO_PASSCRED set, the kernel adds them). File descriptors sent along are closed: no
/// request of LXC's protocol that is served here carries any.
pub(crate) fn recv_with_creds(
    fd: BorrowedFd<'_>,
    buf: &mut [u8],
) -> io::Result<(usize, Option<MsgCred>)> {
    let mut cmsg = nix::cmsg_space!(libc::ucred, [RawFd; MAX_FDS]);
    let mut iov = [IoSliceMut::new(buf)];
    let msg = loop {
        match socket::recvmsg::<UnixAddr>(
            fd.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Err(Errno::EINTR) => continue,
            r => break r?,
        }
    };
    let mut cred = None;
    let bytes = msg.bytes;
    for c in msg.cmsgs()? {
        match c {
            ControlMessageOwned::ScmCredentials(u) => {
                cred = Some(MsgCred {
                    pid: u.pid(),
                    uid: u.uid(),
                    gid: u.gid(),
                })
            }
            ControlMessageOwned::ScmRights(received) => {
                for raw in received {
                    // SAFETY: the kernel has just installed `raw` for this message and
                    // nothing else knows of it; taking ownership closes it on drop.
                    drop(unsafe { OwnedFd::from_raw_fd(raw) });
                }
            }
            _ => {}
        }
    }
    Ok((bytes, cred))
}

/// A directory opened for `openat` and to be passed to another process (a cgroup directory),
/// close-on-exec.
pub(crate) fn open_dir(path: &std::path::Path) -> io::Result<OwnedFd> {
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(path)?;
    Ok(OwnedFd::from(f))
}
