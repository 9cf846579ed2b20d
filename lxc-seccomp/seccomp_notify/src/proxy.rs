//! The monitor's side of a notify policy with `lxc.seccomp.notify.proxy`: every notification
//! of the container's listener (and of attached processes' listeners) goes to the proxy, and
//! the proxy's answer goes back to the kernel.
//!
//! # Wire layout (LXC 5.0's `struct seccomp_notify_proxy_msg`, native endian)
//!
//! One SOCK_SEQPACKET datagram per notification:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | `__reserved`, 0 |
//! | 8 | 4 | `monitor_pid` (the monitor's pid) |
//! | 12 | 4 | `init_pid` (the container's init, as the host sees it) |
//! | 16 | 6 | the kernel's `struct seccomp_notif_sizes` (`seccomp_notif`, `seccomp_notif_resp`, `seccomp_data`, u16 each) |
//! | 22 | 2 | padding, 0 |
//! | 24 | 8 | `cookie_len` |
//! | 32 | `sizes.seccomp_notif` | the notification as the kernel gave it |
//! | .. | `sizes.seccomp_notif_resp` | a response skeleton: the notification's id, the rest 0 |
//! | .. | `cookie_len` | `lxc.seccomp.notify.cookie`, no NUL |
//!
//! with SCM_RIGHTS fds: the target's `/proc/PID` directory (O_RDONLY|O_DIRECTORY), its
//! `/proc/PID/mem` (O_RDWR), and, with seccomp_proxy_send_notify_fd, the listener the
//! notification came from. Both /proc fds are opened after the notification was read and
//! checked with SECCOMP_IOCTL_NOTIF_ID_VALID afterwards, so they are the notifying process's.
//!
//! The proxy answers with one datagram of the same layout without the cookie (32 + notif +
//! resp bytes); its response part is handed to SECCOMP_IOCTL_NOTIF_SEND, with the
//! notification's id put back if the proxy changed it.
//!
//! # When the proxy cannot answer
//!
//! The notification is answered `-ENOSYS` (LXC's default answer) when there is no connection
//! and none can be made, when the message cannot be sent even after one reconnect, when the
//! proxy hangs up or its answer has another size, when the /proc fds cannot be opened or the
//! notification is no longer valid, and when no answer came within 30 s (LXC's SO_RCVTIMEO).
//! A missing connection is made again at the next notification, as LXC does.
//!
//! # Not blocking the monitor
//!
//! LXC waits for the proxy's answer inside its mainloop (up to 30 s). The monitor here is one
//! thread serving every client, so nothing waits: the listeners, the proxy connection and a
//! timerfd sit in one epoll set whose fd is the monitor's [`FdHandler`]. A notification is
//! sent and left pending; the answer (proxy readable), a hangup or the timer finishes it. Like
//! LXC, one notification is with the proxy at a time: while one is pending the listeners are
//! not read (the kernel queues the rest), so answers need no matching beyond the id check.
//! After a timeout the connection is closed (a late answer would otherwise be taken for the
//! next notification's) and made again for the next notification.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use lxc_core::reactor::{FdHandler, Next, ReactorCtx};

use crate::keys::ProxyAddr;
use crate::sys::{self, NotifSizes};

/// How long the proxy has to answer (LXC sets SO_RCVTIMEO and SO_SNDTIMEO of 30 s).
pub const PROXY_TIMEOUT: Duration = Duration::from_secs(30);
/// The size of `struct seccomp_notify_proxy_msg`.
pub const HEADER_LEN: usize = 32;
/// What a notification is answered when the proxy cannot answer it (LXC's default).
pub const DEFAULT_ERRNO: i32 = libc::ENOSYS;

const TOKEN_TIMER: u64 = 0;
const TOKEN_PROXY: u64 = 1;
const FIRST_LISTENER: u64 = 2;

/// Offsets in the kernel's structures (stable ABI).
const NOTIF_ID: usize = 0;
const NOTIF_PID: usize = 8;
const RESP_ID: usize = 0;
const RESP_ERROR: usize = 16;

/// The 32-byte header of a message to the proxy.
pub fn header(monitor_pid: i32, init_pid: i32, sizes: NotifSizes, cookie_len: u64) -> [u8; 32] {
    let mut h = [0u8; HEADER_LEN];
    h[8..12].copy_from_slice(&monitor_pid.to_ne_bytes());
    h[12..16].copy_from_slice(&init_pid.to_ne_bytes());
    h[16..18].copy_from_slice(&sizes.seccomp_notif.to_ne_bytes());
    h[18..20].copy_from_slice(&sizes.seccomp_notif_resp.to_ne_bytes());
    h[20..22].copy_from_slice(&sizes.seccomp_data.to_ne_bytes());
    h[24..32].copy_from_slice(&cookie_len.to_ne_bytes());
    h
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_ne_bytes(a)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_ne_bytes(a)
}

/// An io::Error that says what failed.
fn context(what: &'static str) -> impl Fn(io::Error) -> io::Error {
    move |e| io::Error::new(e.kind(), format!("{what}: {e}"))
}

/// What the monitor needs to serve notifications through a proxy.
pub struct ProxySetup {
    pub container: String,
    pub addr: ProxyAddr,
    pub cookie: Option<Vec<u8>>,
    pub monitor_pid: i32,
    pub init_pid: i32,
    /// Send the listener as a third fd (seccomp_proxy_send_notify_fd).
    pub send_listener: bool,
}

/// The notifier, shared by the monitor's fd handler and the command that adds an attached
/// process's listener. Both run on the monitor's one thread; the lock is never contended.
pub struct Shared {
    epoll: OwnedFd,
    inner: Mutex<Notifier>,
}

struct Pending {
    /// The listener the notification came from (a copy: it may hang up meanwhile).
    listener: OwnedFd,
    id: u64,
}

struct Notifier {
    setup: ProxySetup,
    epoll: OwnedFd,
    timer: OwnedFd,
    proxy: Option<OwnedFd>,
    sizes: NotifSizes,
    listeners: HashMap<u64, OwnedFd>,
    next_token: u64,
    pending: Option<Pending>,
    notif: Vec<u8>,
    resp: Vec<u8>,
    reply: Vec<u8>,
    events: Vec<(u64, u32)>,
}

const IN: u32 = libc::EPOLLIN as u32;
const HUP: u32 = (libc::EPOLLHUP | libc::EPOLLERR) as u32;

impl Shared {
    /// Connect to the proxy (a failure fails the start, as in LXC) and serve `listener`.
    pub fn new(setup: ProxySetup, listener: OwnedFd) -> io::Result<Arc<Shared>> {
        let sizes = sys::notif_sizes().map_err(context("SECCOMP_GET_NOTIF_SIZES"))?;
        let epoll = sys::epoll_create().map_err(context("epoll_create"))?;
        let timer = sys::timerfd().map_err(context("timerfd_create"))?;
        sys::epoll_ctl(
            epoll.as_fd(),
            libc::EPOLL_CTL_ADD,
            timer.as_fd(),
            IN,
            TOKEN_TIMER,
        )
        .map_err(context("epoll_ctl"))?;
        let n_notif = usize::from(sizes.seccomp_notif);
        let n_resp = usize::from(sizes.seccomp_notif_resp);
        let mut n = Notifier {
            setup,
            epoll: epoll.try_clone()?,
            timer,
            proxy: None,
            sizes,
            listeners: HashMap::new(),
            next_token: FIRST_LISTENER,
            pending: None,
            notif: vec![0; n_notif],
            resp: vec![0; n_resp],
            reply: vec![0; HEADER_LEN + n_notif + n_resp],
            events: Vec::with_capacity(16),
        };
        n.connect()?;
        n.add_listener(listener)
            .map_err(context("serve the seccomp listener"))?;
        Ok(Arc::new(Shared {
            epoll,
            inner: Mutex::new(n),
        }))
    }

    fn lock(&self) -> MutexGuard<'_, Notifier> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Serve another listener (an attached process's).
    pub fn add_listener(&self, listener: OwnedFd) -> io::Result<()> {
        self.lock().add_listener(listener)
    }

    /// Whether a notification is with the proxy now (for tests and logs).
    pub fn pending(&self) -> bool {
        self.lock().pending.is_some()
    }
}

/// The monitor's handler: the epoll fd of the notifier.
pub struct Handler(pub Arc<Shared>);

impl FdHandler for Handler {
    fn name(&self) -> &str {
        "seccomp_notify"
    }

    fn fd(&self) -> BorrowedFd<'_> {
        self.0.epoll.as_fd()
    }

    fn ready(&mut self, _ctx: &mut ReactorCtx<'_>) -> Next {
        self.0.lock().turn();
        Next::Keep
    }
}

impl Notifier {
    fn connect(&mut self) -> io::Result<()> {
        self.drop_proxy();
        let fd = sys::connect_seqpacket(&self.setup.addr.sun_path()).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "connect to the seccomp proxy {}: {e}",
                    self.setup.addr.display()
                ),
            )
        })?;
        sys::epoll_ctl(
            self.epoll.as_fd(),
            libc::EPOLL_CTL_ADD,
            fd.as_fd(),
            IN,
            TOKEN_PROXY,
        )?;
        tracing::debug!(container = %self.setup.container, proxy = %self.setup.addr.display(), "connected to the seccomp proxy");
        self.proxy = Some(fd);
        Ok(())
    }

    fn drop_proxy(&mut self) {
        if let Some(fd) = self.proxy.take() {
            let _ = sys::epoll_ctl(self.epoll.as_fd(), libc::EPOLL_CTL_DEL, fd.as_fd(), 0, 0);
        }
    }

    fn add_listener(&mut self, listener: OwnedFd) -> io::Result<()> {
        sys::set_nonblocking(listener.as_fd())?;
        let token = self.next_token;
        self.next_token += 1;
        let events = if self.pending.is_some() { 0 } else { IN };
        sys::epoll_ctl(
            self.epoll.as_fd(),
            libc::EPOLL_CTL_ADD,
            listener.as_fd(),
            events,
            token,
        )?;
        self.listeners.insert(token, listener);
        Ok(())
    }

    /// Listen to the listeners again (`IN`) or not (0, while a notification is pending).
    fn listen(&mut self, events: u32) {
        for (&token, fd) in &self.listeners {
            if let Err(e) = sys::epoll_ctl(
                self.epoll.as_fd(),
                libc::EPOLL_CTL_MOD,
                fd.as_fd(),
                events,
                token,
            ) {
                tracing::warn!(error = %e, "seccomp_notify: epoll_ctl on a listener failed");
            }
        }
    }

    /// One batch of ready events (the monitor calls again while any is left).
    fn turn(&mut self) {
        let mut events = std::mem::take(&mut self.events);
        if let Err(e) = sys::epoll_ready(self.epoll.as_fd(), &mut events) {
            tracing::error!(error = %e, "seccomp_notify: epoll_wait failed");
        }
        for &(token, ev) in &events {
            match token {
                TOKEN_TIMER => self.on_timer(),
                TOKEN_PROXY => self.on_proxy(ev),
                t => self.on_listener(t, ev),
            }
        }
        self.events = events;
    }

    fn on_listener(&mut self, token: u64, ev: u32) {
        if ev & HUP != 0 {
            // No process is left under this filter.
            tracing::debug!(container = %self.setup.container, "seccomp listener hung up");
            if let Some(fd) = self.listeners.remove(&token) {
                let _ = sys::epoll_ctl(self.epoll.as_fd(), libc::EPOLL_CTL_DEL, fd.as_fd(), 0, 0);
            }
            return;
        }
        if self.pending.is_some() || ev & IN == 0 {
            return;
        }
        let Some(listener) = self.listeners.get(&token) else {
            return;
        };
        let listener = match listener.try_clone() {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %e, "seccomp_notify: dup a listener");
                return;
            }
        };
        let size = usize::from(self.sizes.seccomp_notif);
        match sys::notif_recv(listener.as_fd(), &mut self.notif, size) {
            Ok(()) => self.forward(listener),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                tracing::trace!("intercepted system call aborted")
            }
            Err(e) => tracing::error!(error = %e, "failed to read a seccomp notification"),
        }
    }

    /// A notification was read into `self.notif`: send it to the proxy and leave it pending.
    fn forward(&mut self, listener: OwnedFd) {
        let id = u64_at(&self.notif, NOTIF_ID);
        let pid = u32_at(&self.notif, NOTIF_PID);
        tracing::trace!(id, pid, "seccomp notification");
        if self.proxy.is_none() {
            if let Err(e) = self.connect() {
                tracing::error!(error = %e, "no seccomp proxy registered");
                return self.default_answer(listener.as_fd(), id);
            }
        }
        let opened = open_proc(pid).and_then(|fds| {
            // The pid was read before the files were opened: the notification must still be
            // waiting, so they are its process's and not a recycled pid's.
            sys::notif_id_valid(listener.as_fd(), id)
                .map(|()| fds)
                .map_err(|e| io::Error::new(e.kind(), format!("notification {id}: {e}")))
        });
        let (proc_dir, mem) = match opened {
            Ok(fds) => fds,
            Err(e) => {
                tracing::error!(error = %e, pid, "seccomp notification: the target's /proc files");
                return self.default_answer(listener.as_fd(), id);
            }
        };
        self.resp.fill(0);
        self.resp[RESP_ID..RESP_ID + 8].copy_from_slice(&id.to_ne_bytes());
        let cookie: &[u8] = self.setup.cookie.as_deref().unwrap_or(&[]);
        let head = header(
            self.setup.monitor_pid,
            self.setup.init_pid,
            self.sizes,
            cookie.len() as u64,
        );
        let msg = [&head[..], &self.notif, &self.resp, cookie].concat();
        let mut fds = vec![proc_dir.as_fd(), mem.as_fd()];
        if self.setup.send_listener {
            fds.push(listener.as_fd());
        }
        let mut reconnected = false;
        let sent = loop {
            let Some(proxy) = self.proxy.as_ref() else {
                break false;
            };
            match sys::send_with_fds(proxy.as_fd(), &[&msg], &fds, libc::MSG_DONTWAIT) {
                Ok(n) if n == msg.len() => break true,
                r => {
                    let why = r.map_or_else(
                        |e| e.to_string(),
                        |n| format!("sent {n} of {} bytes", msg.len()),
                    );
                    tracing::error!(error = %why, "failed to forward a message to the seccomp proxy");
                    if reconnected {
                        break false;
                    }
                    reconnected = true;
                    if let Err(e) = self.connect() {
                        tracing::error!(error = %e, "failed to reconnect to the seccomp proxy");
                        break false;
                    }
                }
            }
        };
        if !sent {
            return self.default_answer(listener.as_fd(), id);
        }
        drop((proc_dir, mem));
        if let Err(e) = sys::timer_set(self.timer.as_fd(), Some(PROXY_TIMEOUT)) {
            tracing::warn!(error = %e, "seccomp_notify: arm the proxy timeout");
        }
        self.pending = Some(Pending { listener, id });
        self.listen(0);
    }

    fn on_proxy(&mut self, ev: u32) {
        let Some(proxy) = self.proxy.as_ref() else {
            return;
        };
        let got = sys::recv_into(
            proxy.as_fd(),
            &mut self.reply,
            libc::MSG_TRUNC | libc::MSG_DONTWAIT,
        );
        let Some(pending) = self.pending.take() else {
            // Nothing was asked: a hangup, or a message nobody waits for.
            match got {
                Ok(n) if n > 0 => {
                    tracing::warn!(bytes = n, "seccomp proxy sent an unasked message; dropped")
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                _ => {
                    tracing::debug!("seccomp proxy hung up");
                    self.drop_proxy();
                }
            }
            return;
        };
        let want = self.reply.len();
        match got {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.pending = Some(pending);
                return;
            }
            Ok(n) if n == want => {
                let off = HEADER_LEN + usize::from(self.sizes.seccomp_notif);
                let size = usize::from(self.sizes.seccomp_notif_resp);
                let resp = &mut self.reply[off..off + size];
                let id = u64_at(resp, RESP_ID);
                if id != pending.id {
                    tracing::error!(
                        got = id,
                        want = pending.id,
                        "seccomp proxy answered with another notification id; using the right one"
                    );
                    resp[RESP_ID..RESP_ID + 8].copy_from_slice(&pending.id.to_ne_bytes());
                }
                match sys::notif_send(pending.listener.as_fd(), resp, size) {
                    Ok(()) => tracing::trace!(id = pending.id, "seccomp notification answered"),
                    Err(e) => {
                        tracing::error!(error = %e, id = pending.id, "failed to send a seccomp notification response")
                    }
                }
            }
            Ok(0) if ev & HUP != 0 => {
                tracing::error!("seccomp proxy hung up before it answered");
                self.drop_proxy();
                self.default_answer(pending.listener.as_fd(), pending.id);
            }
            Ok(n) => {
                tracing::error!(
                    bytes = n,
                    want,
                    "seccomp proxy answered with a message of the wrong size"
                );
                self.default_answer(pending.listener.as_fd(), pending.id);
            }
            Err(e) => {
                tracing::error!(error = %e, "failed to receive the seccomp proxy's answer");
                self.drop_proxy();
                self.default_answer(pending.listener.as_fd(), pending.id);
            }
        }
        self.finish();
    }

    fn on_timer(&mut self) {
        match sys::timer_expired(self.timer.as_fd()) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "seccomp_notify: read the timer"),
        }
        let Some(pending) = self.pending.take() else {
            return;
        };
        tracing::error!(
            id = pending.id,
            timeout = ?PROXY_TIMEOUT,
            "seccomp proxy did not answer in time; closing the connection"
        );
        self.drop_proxy();
        self.default_answer(pending.listener.as_fd(), pending.id);
        self.finish();
    }

    /// The pending notification is done: stop the timer, read the listeners again.
    fn finish(&mut self) {
        if let Err(e) = sys::timer_set(self.timer.as_fd(), None) {
            tracing::warn!(error = %e, "seccomp_notify: disarm the proxy timeout");
        }
        self.listen(IN);
    }

    /// LXC's default answer: the system call fails with ENOSYS.
    fn default_answer(&mut self, listener: BorrowedFd<'_>, id: u64) {
        self.resp.fill(0);
        self.resp[RESP_ID..RESP_ID + 8].copy_from_slice(&id.to_ne_bytes());
        self.resp[RESP_ERROR..RESP_ERROR + 4].copy_from_slice(&(-DEFAULT_ERRNO).to_ne_bytes());
        let size = usize::from(self.sizes.seccomp_notif_resp);
        match sys::notif_send(listener, &self.resp, size) {
            Ok(()) => tracing::trace!(id, "sent the default answer to a seccomp notification"),
            Err(e) => {
                tracing::error!(error = %e, id, "failed to send the default answer to a seccomp notification")
            }
        }
        self.resp.fill(0);
    }
}

/// `/proc/PID` (a directory fd) and `/proc/PID/mem` (read-write), close-on-exec.
fn open_proc(pid: u32) -> io::Result<(OwnedFd, OwnedFd)> {
    let dir = format!("/proc/{pid}");
    let open = |path: &str, o: &mut OpenOptions| -> io::Result<OwnedFd> {
        o.open(path)
            .map(OwnedFd::from)
            .map_err(|e| io::Error::new(e.kind(), format!("open {path}: {e}")))
    };
    let d = open(
        &dir,
        File::options().read(true).custom_flags(libc::O_DIRECTORY),
    )?;
    let m = open(
        &format!("{dir}/mem"),
        File::options().read(true).write(true),
    )?;
    Ok((d, m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_layout_is_lxcs() {
        let sizes = NotifSizes {
            seccomp_notif: 80,
            seccomp_notif_resp: 24,
            seccomp_data: 64,
        };
        let h = header(100, 200, sizes, 5);
        assert_eq!(&h[0..8], &[0; 8]);
        assert_eq!(u32_at(&h, 8), 100);
        assert_eq!(u32_at(&h, 12), 200);
        assert_eq!(u16::from_ne_bytes([h[16], h[17]]), 80);
        assert_eq!(u16::from_ne_bytes([h[18], h[19]]), 24);
        assert_eq!(u16::from_ne_bytes([h[20], h[21]]), 64);
        assert_eq!(&h[22..24], &[0, 0]);
        assert_eq!(u64_at(&h, 24), 5);
    }

    #[test]
    fn kernel_sizes_are_known() {
        let s = sys::notif_sizes().expect("SECCOMP_GET_NOTIF_SIZES");
        assert!(s.seccomp_notif >= 80 && s.seccomp_notif_resp >= 24 && s.seccomp_data >= 64);
    }
}
