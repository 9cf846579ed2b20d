//! The crate's raw kernel calls, one safe wrapper each: the seccomp listener's ioctls, epoll, a
//! timerfd, and the unix sockets to the proxy and to the monitor.
//!
//! Every fd is an `OwnedFd` from the moment it exists and is opened close-on-exec. The calls the
//! attached process makes ([`connect_stream`] runs before the fork; [`send_with_fd`],
//! [`recv_into`] after it) do not allocate.

use std::io;
use std::mem::{size_of, zeroed};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// `SECCOMP_GET_NOTIF_SIZES`, the seccomp(2) operation.
const GET_NOTIF_SIZES: libc::c_uint = 3;
/// `SECCOMP_IOCTL_NOTIF_RECV`: `_IOWR('!', 0, struct seccomp_notif)`.
const IOCTL_NOTIF_RECV: libc::c_ulong = 0xc050_2100;
/// `SECCOMP_IOCTL_NOTIF_SEND`: `_IOWR('!', 1, struct seccomp_notif_resp)`.
const IOCTL_NOTIF_SEND: libc::c_ulong = 0xc018_2101;
/// `SECCOMP_IOCTL_NOTIF_ID_VALID`: `_IOW('!', 2, __u64)`.
const IOCTL_NOTIF_ID_VALID: libc::c_ulong = 0x4008_2102;

/// The kernel's `struct seccomp_notif_sizes`: how big its notification structures are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C)]
pub struct NotifSizes {
    pub seccomp_notif: u16,
    pub seccomp_notif_resp: u16,
    pub seccomp_data: u16,
}

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Own a new fd the kernel returned (`ret` is checked first).
fn owned(ret: libc::c_int) -> io::Result<OwnedFd> {
    let fd: RawFd = check(ret)?;
    // SAFETY: the call that returned `fd` made it for us alone; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `seccomp(SECCOMP_GET_NOTIF_SIZES)`.
pub fn notif_sizes() -> io::Result<NotifSizes> {
    let mut sizes = NotifSizes::default();
    // SAFETY: the kernel writes one `struct seccomp_notif_sizes` (three u16, `repr(C)` here)
    // into `sizes`, which lives for the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            GET_NOTIF_SIZES,
            0,
            &mut sizes as *mut NotifSizes,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(sizes)
}

/// `SECCOMP_IOCTL_NOTIF_RECV` into `buf` (zeroed first, as the kernel wants it; at least the
/// kernel's `seccomp_notif` size). EAGAIN: nothing pending (the listener is non-blocking);
/// ENOENT: the notification went away before it was read.
pub fn notif_recv(listener: BorrowedFd<'_>, buf: &mut [u8], kernel_size: usize) -> io::Result<()> {
    if buf.len() < kernel_size {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    buf.fill(0);
    // SAFETY: `buf` holds at least the kernel's `struct seccomp_notif`, which is all it writes.
    check(unsafe { libc::ioctl(listener.as_raw_fd(), IOCTL_NOTIF_RECV, buf.as_mut_ptr()) })
        .map(drop)
}

/// `SECCOMP_IOCTL_NOTIF_SEND` of `resp`, a `struct seccomp_notif_resp` of the kernel's size.
pub fn notif_send(listener: BorrowedFd<'_>, resp: &[u8], kernel_size: usize) -> io::Result<()> {
    if resp.len() < kernel_size {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    // SAFETY: `resp` holds at least the kernel's `struct seccomp_notif_resp`, all it reads.
    check(unsafe { libc::ioctl(listener.as_raw_fd(), IOCTL_NOTIF_SEND, resp.as_ptr()) }).map(drop)
}

/// `SECCOMP_IOCTL_NOTIF_ID_VALID`: whether notification `id` is still waiting for an answer
/// (its process did not die or get interrupted). `Err(ENOENT)` when not.
pub fn notif_id_valid(listener: BorrowedFd<'_>, id: u64) -> io::Result<()> {
    // SAFETY: the kernel reads one u64 from `&id`, which lives for the call.
    check(unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            IOCTL_NOTIF_ID_VALID,
            &id as *const u64,
        )
    })
    .map(drop)
}

/// Make `fd` non-blocking (a listener from the child is blocking).
pub fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: F_GETFL takes no pointer.
    let flags = check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) })?;
    // SAFETY: F_SETFL takes an int.
    check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) }).map(drop)
}

// ---------------------------------------------------------------------------------------------
// epoll and timerfd.

/// `epoll_create1(EPOLL_CLOEXEC)`.
pub fn epoll_create() -> io::Result<OwnedFd> {
    // SAFETY: no pointers.
    owned(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })
}

/// `epoll_ctl(op)` for `fd` with `events`, tagged `token`.
pub fn epoll_ctl(
    epoll: BorrowedFd<'_>,
    op: libc::c_int,
    fd: BorrowedFd<'_>,
    events: u32,
    token: u64,
) -> io::Result<()> {
    let mut ev = libc::epoll_event { events, u64: token };
    // SAFETY: `ev` lives for the call; the kernel copies it (and ignores it for DEL).
    check(unsafe { libc::epoll_ctl(epoll.as_raw_fd(), op, fd.as_raw_fd(), &mut ev) }).map(drop)
}

/// The events that are ready now (`epoll_wait` with timeout 0), as (token, events).
pub fn epoll_ready(epoll: BorrowedFd<'_>, out: &mut Vec<(u64, u32)>) -> io::Result<()> {
    out.clear();
    // SAFETY: an all-zero `epoll_event` is a valid value (plain integers).
    let mut evs: [libc::epoll_event; 16] = unsafe { zeroed() };
    loop {
        // SAFETY: `evs` has room for 16 events, the count given.
        let n = unsafe { libc::epoll_wait(epoll.as_raw_fd(), evs.as_mut_ptr(), 16, 0) };
        match check(n) {
            Ok(n) => {
                out.extend(evs.iter().take(n as usize).map(|e| (e.u64, e.events)));
                return Ok(());
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// A monotonic, non-blocking timerfd (close-on-exec), disarmed.
pub fn timerfd() -> io::Result<OwnedFd> {
    // SAFETY: no pointers.
    owned(unsafe {
        libc::timerfd_create(
            libc::CLOCK_MONOTONIC,
            libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
        )
    })
}

/// Arm `timer` to expire once after `after` (`None`: disarm it).
pub fn timer_set(timer: BorrowedFd<'_>, after: Option<Duration>) -> io::Result<()> {
    // SAFETY: an all-zero `itimerspec` is a valid value (disarmed).
    let mut spec: libc::itimerspec = unsafe { zeroed() };
    if let Some(d) = after {
        // At least 1 ns: an all-zero value would disarm it.
        let d = d.max(Duration::from_nanos(1));
        spec.it_value.tv_sec = d.as_secs() as libc::time_t;
        spec.it_value.tv_nsec = libc::c_long::from(d.subsec_nanos() as i32);
    }
    // SAFETY: `spec` lives for the call; the old value is not asked for.
    check(unsafe { libc::timerfd_settime(timer.as_raw_fd(), 0, &spec, std::ptr::null_mut()) })
        .map(drop)
}

/// Read a timerfd's expiry count (consumes the expiry); 0 when it has not expired.
pub fn timer_expired(timer: BorrowedFd<'_>) -> io::Result<u64> {
    let mut n = 0u64;
    // SAFETY: reads at most 8 bytes into `n`.
    let r = unsafe {
        libc::read(
            timer.as_raw_fd(),
            (&mut n as *mut u64).cast(),
            size_of::<u64>(),
        )
    };
    if r < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::WouldBlock {
            Ok(0)
        } else {
            Err(e)
        };
    }
    Ok(n)
}

// ---------------------------------------------------------------------------------------------
// Unix sockets.

/// A `sockaddr_un` for `name`: a path, or an abstract name given with its leading NUL.
/// Returns the address and its length (no trailing NUL counted for either kind).
fn sockaddr(name: &[u8]) -> io::Result<(libc::sockaddr_un, libc::socklen_t)> {
    // SAFETY: an all-zero `sockaddr_un` is a valid value.
    let mut addr: libc::sockaddr_un = unsafe { zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    if name.is_empty() || name.len() > addr.sun_path.len() {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    for (d, s) in addr.sun_path.iter_mut().zip(name) {
        *d = *s as libc::c_char;
    }
    let len = size_of::<libc::sa_family_t>() + name.len();
    Ok((addr, len as libc::socklen_t))
}

fn connect(fd: &OwnedFd, name: &[u8]) -> io::Result<()> {
    let (addr, len) = sockaddr(name)?;
    loop {
        // SAFETY: `addr` is a valid `sockaddr_un` of `len` bytes that lives for the call.
        let r = unsafe {
            libc::connect(
                fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_un).cast(),
                len,
            )
        };
        match check(r) {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// A non-blocking SOCK_SEQPACKET connection to `name` (the proxy). A listener whose backlog is
/// full gives EAGAIN rather than a wait.
pub fn connect_seqpacket(name: &[u8]) -> io::Result<OwnedFd> {
    // SAFETY: no pointers.
    let fd = owned(unsafe {
        libc::socket(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
        )
    })?;
    connect(&fd, name)?;
    Ok(fd)
}

/// A blocking SOCK_STREAM connection to `name` (a monitor's command socket), whose sends and
/// receives give up after `timeout`.
pub fn connect_stream(name: &[u8], timeout: Duration) -> io::Result<OwnedFd> {
    // SAFETY: no pointers.
    let fd =
        owned(unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) })?;
    let tv = libc::timeval {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_usec: libc::suseconds_t::from(timeout.subsec_micros() as i32),
    };
    for opt in [libc::SO_SNDTIMEO, libc::SO_RCVTIMEO] {
        // SAFETY: `tv` is a valid `timeval` of the size given, living for the call.
        check(unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                (&tv as *const libc::timeval).cast(),
                size_of::<libc::timeval>() as libc::socklen_t,
            )
        })?;
    }
    connect(&fd, name)?;
    Ok(fd)
}

/// Room for the control message of up to 3 fds (`CMSG_SPACE(3 * sizeof(int))` is 32 on
/// 64-bit Linux), aligned for `cmsghdr`.
#[repr(C, align(8))]
struct CmsgBuf([u8; 64]);

/// One `sendmsg` of the buffers `iov` (gathered) with `fds` (at most 3) as SCM_RIGHTS.
/// `flags` are added to MSG_NOSIGNAL. Returns the bytes sent. Allocation-free.
pub fn send_with_fds(
    sock: BorrowedFd<'_>,
    iov: &[&[u8]],
    fds: &[BorrowedFd<'_>],
    flags: libc::c_int,
) -> io::Result<usize> {
    const MAX_IOV: usize = 4;
    if fds.len() > 3 || iov.len() > MAX_IOV {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let mut iovs = [libc::iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: 0,
    }; MAX_IOV];
    for (v, b) in iovs.iter_mut().zip(iov) {
        v.iov_base = b.as_ptr().cast_mut().cast();
        v.iov_len = b.len();
    }
    let mut cbuf = CmsgBuf([0; 64]);
    // SAFETY: an all-zero `msghdr` is a valid value (null pointers, zero lengths).
    let mut msg: libc::msghdr = unsafe { zeroed() };
    msg.msg_iov = iovs.as_mut_ptr();
    msg.msg_iovlen = iov.len();
    if !fds.is_empty() {
        let payload = (fds.len() * size_of::<RawFd>()) as libc::c_uint;
        // SAFETY: CMSG_SPACE only computes a size.
        let space = unsafe { libc::CMSG_SPACE(payload) } as usize;
        msg.msg_control = cbuf.0.as_mut_ptr().cast();
        msg.msg_controllen = space;
        // SAFETY: `msg` points at `cbuf`, which has room for `space` (<= 64) bytes, so the first
        // header is inside it; CMSG_DATA points right after that header, with room for the fds.
        unsafe {
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(payload) as usize;
            let data = libc::CMSG_DATA(cmsg).cast::<RawFd>();
            for (i, fd) in fds.iter().enumerate() {
                data.add(i).write_unaligned(fd.as_raw_fd());
            }
        }
    }
    loop {
        // SAFETY: `msg` points at `iovs` (buffers borrowed for the call) and `cbuf`, all alive.
        let n = unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL | flags) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// One `recv` into `buf` with `flags` (MSG_TRUNC: the datagram's real length comes back even
/// when it did not fit). Fds sent along are not taken (the kernel closes them).
pub fn recv_into(sock: BorrowedFd<'_>, buf: &mut [u8], flags: libc::c_int) -> io::Result<usize> {
    loop {
        // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`.
        let n = unsafe { libc::recv(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), flags) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}
