//! A client for LXC's own command socket, so that lxc-rs sees containers that LXC
//! (`lxc-start`, liblxc) runs, does not start a second copy over the same rootfs, destroy it,
//! or rewrite its config under it, and drives it as LXC's own tools do.
//!
//! This module finds LXC's monitor and speaks the wire layout; `lxc_control.rs` has the
//! requests that control the container (stop, freeze, cgroup, tty, state clients). Facts from
//! LXC 5.0.2 (`src/lxc/commands.{c,h}`, `commands_utils.c`, `af_unix.c`):
//!
//! - **Address**: the abstract unix stream socket `\0<lxcpath>/<name>/command`. When
//!   `<lxcpath>/<name>/command` is 106 bytes or longer (it must fit in `sun_path` with the
//!   leading NUL and a terminating NUL), it is `\0lxc/<hash>/command` instead, `<hash>` being
//!   the FNV-1a 64 hash of `<lxcpath>/<name>` as 16 lower-case hex digits. The address length
//!   given to connect covers the leading NUL and the name, not a trailing NUL.
//! - **Request**: `struct lxc_cmd_req { lxc_cmd_t cmd; int datalen; const void *data; }` in
//!   host layout (16 bytes on 64-bit), sent in one `sendmsg` with SCM_CREDENTIALS (the
//!   monitor refuses, with `ret = -EPERM`, a sender that is neither root nor its own uid and
//!   gid). `datalen` bytes follow in a second send (a string, a struct); a small argument
//!   travels in the `data` pointer itself with `datalen = 0`.
//! - **Response**: `struct lxc_cmd_rsp { int ret; int datalen; void *data; }`, same layout;
//!   `ret` is 0 or `-errno`; small answers travel in the `data` pointer itself (state, pid)
//!   with `datalen = 0`, bigger ones follow as `datalen` bytes (at most 8192 but for the
//!   console log); fds ride as SCM_RIGHTS on the header.
//! - **Numbers**: `LXC_CMD_GET_STATE = 3`, `LXC_CMD_GET_INIT_PID = 4` (unchanged from LXC 3.0 to
//!   6.0); states `STOPPED 0, STARTING 1, RUNNING 2, STOPPING 3, ABORTING 4, FREEZING 5,
//!   FROZEN 6, THAWED 7`, the order of [`State`].
//!
//! Every exchange has one deadline over connect, send and receive (as [`super::call`]), so a
//! stuck or hostile listener cannot hang lxc-rs. The listener's SO_PEERCRED says which process
//! is LXC's monitor; a listener owned by some other unprivileged user is not taken for LXC (an
//! abstract name can be bound by anyone).

use std::ffi::OsStr;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{display_name, fnv1a_64, sys, Error, SUN_PATH_LEN};
use crate::state::State;

/// `LXC_CMD_GET_STATE` of LXC 5.0.2's `lxc_cmd_t`.
pub const LXC_CMD_GET_STATE: i32 = 3;
/// `LXC_CMD_GET_INIT_PID` of LXC 5.0.2's `lxc_cmd_t`.
pub const LXC_CMD_GET_INIT_PID: i32 = 4;

/// How long a probe waits for LXC's monitor, at most: it answers these two from its main loop
/// at once, and lxc-rs must not hang on a stuck one.
pub const LXC_TIMEOUT: Duration = Duration::from_secs(2);

/// `sizeof(struct lxc_cmd_req)` and `sizeof(struct lxc_cmd_rsp)`: two ints and a pointer.
pub(crate) const MSG_LEN: usize = 8 + std::mem::size_of::<usize>();

/// `LXC_CMD_DATA_MAX` (`PATH_MAX * 2`): the most a response may carry after its header.
const DATA_MAX: usize = 8192;

/// LXC's abstract name for its command socket of `name` in `lxcpath`, leading NUL included.
pub fn lxc_socket_name(lxcpath: &Path, name: &str) -> Vec<u8> {
    let mut key = lxcpath.as_os_str().as_bytes().to_vec();
    key.push(b'/');
    key.extend_from_slice(name.as_bytes());
    // LXC prints into sun_path[1..] with room for 106 bytes and its terminating NUL.
    if key.len() + b"/command".len() < SUN_PATH_LEN - 2 {
        let mut full = Vec::with_capacity(SUN_PATH_LEN);
        full.push(0);
        full.extend_from_slice(&key);
        full.extend_from_slice(b"/command");
        return full;
    }
    format!("\0lxc/{:016x}/command", fnv1a_64(&key)).into_bytes()
}

/// LXC's monitor of a container, found listening on LXC's command socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LxcMonitor {
    /// The container's name.
    pub name: String,
    /// The lxcpath as LXC was given it (the spelling whose socket answered).
    pub lxcpath: PathBuf,
    /// The monitor process (`[lxc monitor] <lxcpath> <name>`): the parent of the container's
    /// init. Not SO_PEERCRED's pid: LXC binds the socket before it daemonizes, so the kernel
    /// names a process that has exited since. `None` when it cannot be told.
    pub pid: Option<i32>,
    /// The uid of the socket's listener (SO_PEERCRED).
    pub uid: u32,
    /// The socket, as `ss -x` shows it (`@/var/lib/lxc/c1/command`).
    pub socket: String,
}

impl LxcMonitor {
    /// Look for LXC's monitor of `name` in `lxcpath`: `None` when no LXC runs it. LXC names its
    /// socket after the lxcpath exactly as `lxc-start -P` got it, so the lxcpath is tried as
    /// given, in its canonical form, and that with a trailing `/`.
    pub fn find(lxcpath: &Path, name: &str) -> Option<LxcMonitor> {
        let mut paths = vec![lxcpath.to_path_buf()];
        if let Ok(canon) = std::fs::canonicalize(lxcpath) {
            // `-P /srv/lxc/` names another socket than `-P /srv/lxc`.
            let mut slash = canon.clone().into_os_string();
            slash.push("/");
            for p in [canon, PathBuf::from(slash)] {
                if !paths.contains(&p) {
                    paths.push(p);
                }
            }
        }
        let deadline = Instant::now() + LXC_TIMEOUT;
        let conn = paths
            .into_iter()
            .find_map(|p| match Conn::connect(&p, name, deadline) {
                Ok(c) => c,
                Err(e) => {
                    tracing::debug!(error = %e, "LXC's command socket did not answer");
                    None
                }
            })?;
        // The probing connection carries the first question (LXC serves one per connection).
        let mut found = conn.monitor.clone();
        let peer = found.peer();
        found.pid = conn
            .request(LXC_CMD_GET_INIT_PID, "GET_INIT_PID", deadline, &peer)
            .and_then(|v| found.as_pid(v))
            .map_err(|e| tracing::debug!(error = %e, "no init pid from LXC's monitor"))
            .ok()
            .and_then(parent_of);
        Some(found)
    }

    /// The container's state as LXC's monitor reports it.
    pub fn state(&self) -> Result<State, Error> {
        let v = self.ask(LXC_CMD_GET_STATE, "GET_STATE")?;
        usize::try_from(v)
            .ok()
            .and_then(|i| State::ALL.get(i).copied())
            .ok_or_else(|| Error::Protocol {
                peer: self.peer(),
                message: format!("GET_STATE answered {v}, which is no LXC state"),
            })
    }

    /// The init's pid as the host sees it.
    pub fn init_pid(&self) -> Result<i32, Error> {
        let v = self.ask(LXC_CMD_GET_INIT_PID, "GET_INIT_PID")?;
        self.as_pid(v)
    }

    fn as_pid(&self, v: i64) -> Result<i32, Error> {
        i32::try_from(v)
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| Error::Protocol {
                peer: self.peer(),
                message: format!("GET_INIT_PID answered {v}, which is no pid"),
            })
    }

    pub(crate) fn peer(&self) -> String {
        match self.pid {
            Some(pid) => format!(
                "LXC's monitor of {} (pid {pid}, {})",
                self.name, self.socket
            ),
            None => format!("LXC's monitor of {} ({})", self.name, self.socket),
        }
    }

    /// One request on a fresh connection (LXC serves one request per connection).
    fn ask(&self, cmd: i32, what: &'static str) -> Result<i64, Error> {
        let deadline = Instant::now() + LXC_TIMEOUT;
        let peer = self.peer();
        self.open(deadline)?.request(cmd, what, deadline, &peer)
    }

    /// A fresh connection to LXC's monitor (LXC serves one request per connection).
    pub(crate) fn open(&self, deadline: Instant) -> Result<Conn, Error> {
        Conn::connect(&self.lxcpath, &self.name, deadline)?.ok_or_else(|| Error::NotRunning {
            name: self.name.clone(),
            lxcpath: self.lxcpath.clone(),
            socket: self.socket.clone(),
            source: std::io::Error::from_raw_os_error(libc::ECONNREFUSED),
        })
    }

    /// `req` on a fresh connection, within `timeout`: the answer, error answers included, and
    /// the connection, which LXC keeps for some requests (a tty's holder, a state client).
    pub(crate) fn exchange(
        &self,
        req: &LxcReq<'_>,
        timeout: Duration,
    ) -> Result<(Answer, Conn), Error> {
        let deadline = Instant::now() + timeout;
        let peer = self.peer();
        let conn = self.open(deadline)?;
        conn.send(req, deadline, &peer)?;
        let a = conn.answer(req.what, deadline, &peer)?;
        Ok((a, conn))
    }

    /// [`exchange`](Self::exchange) for a request answered on a connection that then closes:
    /// an error answer is an error.
    pub(crate) fn call(&self, req: &LxcReq<'_>, timeout: Duration) -> Result<Answer, Error> {
        let (a, _) = self.exchange(req, timeout)?;
        a.check(req.what, &self.peer())?;
        Ok(a)
    }
}

/// A connection to LXC's command socket.
#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) fd: OwnedFd,
    monitor: LxcMonitor,
}

impl Conn {
    /// Connect, and learn who listens. `Ok(None)`: nobody (or nobody we take for LXC).
    fn connect(lxcpath: &Path, name: &str, deadline: Instant) -> Result<Option<Conn>, Error> {
        let addr = lxc_socket_name(lxcpath, name);
        let socket = display_name(&addr);
        let peer = format!("LXC's command socket {socket}");
        let io = |op, source| Error::Io {
            op,
            peer: peer.clone(),
            source,
        };
        let left = deadline.saturating_duration_since(Instant::now());
        let fd = sys::stream_socket(false).map_err(|e| io("create socket", e))?;
        sys::set_send_timeout(fd.as_fd(), left).map_err(|e| io("set SO_SNDTIMEO", e))?;
        match sys::connect_abstract(fd.as_fd(), &addr) {
            Ok(()) => {}
            Err(e) if matches!(e.raw_os_error(), Some(libc::ECONNREFUSED | libc::ENOENT)) => {
                return Ok(None)
            }
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {
                return Err(Error::Timeout {
                    what: "connection (the backlog is full)",
                    peer,
                    timeout: left,
                })
            }
            Err(e) => return Err(io("connect", e)),
        }
        let cred = sys::peer_cred(fd.as_fd()).map_err(|e| io("SO_PEERCRED", e))?;
        if !trusted_uid(cred.uid, lxcpath, name) {
            tracing::warn!(
                socket = %socket, pid = cred.pid, uid = cred.uid,
                "a process of another user listens on LXC's command socket name: not taken for LXC"
            );
            return Ok(None);
        }
        if is_lxc_rs_monitor(lxcpath, name, cred.pid) {
            tracing::debug!(
                socket = %socket, pid = cred.pid,
                "lxc-rs's own monitor serves LXC's command socket here: not taken for LXC"
            );
            return Ok(None);
        }
        Ok(Some(Conn {
            fd,
            monitor: LxcMonitor {
                name: name.to_string(),
                lxcpath: lxcpath.to_path_buf(),
                pid: None,
                uid: cred.uid,
                socket,
            },
        }))
    }

    /// Send `cmd` with no data and read the response's `data` field.
    fn request(
        &self,
        cmd: i32,
        what: &'static str,
        deadline: Instant,
        peer: &str,
    ) -> Result<i64, Error> {
        self.send(&LxcReq::new(cmd, what), deadline, peer)?;
        let a = self.answer(what, deadline, peer)?;
        a.check(what, peer)?;
        Ok(a.value)
    }

    /// Send a request as LXC's client does: the header with our credentials, then its data.
    pub(crate) fn send(
        &self,
        req: &LxcReq<'_>,
        deadline: Instant,
        peer: &str,
    ) -> Result<(), Error> {
        let io = |op, source| Error::Io {
            op,
            peer: peer.to_string(),
            source,
        };
        let datalen = i32::try_from(req.data.len()).map_err(|_| Error::Protocol {
            peer: peer.to_string(),
            message: format!(
                "{}: {} bytes of data do not fit a request",
                req.what,
                req.data.len()
            ),
        })?;
        let mut head = [0u8; MSG_LEN];
        head[0..4].copy_from_slice(&req.cmd.to_ne_bytes());
        head[4..8].copy_from_slice(&datalen.to_ne_bytes());
        // A small argument travels in the pointer itself (LXC's INT_TO_PTR), else it is null.
        let ptr = (req.value as isize).to_ne_bytes();
        head[8..].copy_from_slice(&ptr);
        for (part, creds) in [(&head[..], true), (req.data, false)] {
            let mut sent = 0;
            while sent < part.len() {
                if !sys::wait_ready(self.fd.as_fd(), true, Some(deadline))
                    .map_err(|e| io("poll", e))?
                {
                    return Err(Error::Timeout {
                        what: "room to send the request",
                        peer: peer.to_string(),
                        timeout: LXC_TIMEOUT,
                    });
                }
                // The credentials go with the header's first byte; 16 bytes are never split.
                let n = if creds && sent == 0 {
                    sys::send_with_own_creds(self.fd.as_fd(), part)
                } else {
                    sys::send_with_fds(self.fd.as_fd(), &part[sent..], &[])
                };
                match n {
                    Ok(n) => sent += n,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) if e.raw_os_error() == Some(libc::EPIPE) => {
                        return Err(Error::Closed {
                            what: "the request was sent",
                            peer: peer.to_string(),
                        })
                    }
                    Err(e) => return Err(io("send request", e)),
                }
            }
        }
        Ok(())
    }

    /// Read a response: the header (with any fds on it), then the bytes it announces. An
    /// error answer (`ret < 0`) is returned as it is; [`Answer::check`] turns it into one.
    pub(crate) fn answer(
        &self,
        what: &'static str,
        deadline: Instant,
        peer: &str,
    ) -> Result<Answer, Error> {
        let mut fds = Vec::new();
        let mut rsp = [0u8; MSG_LEN];
        self.read_exact(&mut rsp, &mut fds, deadline, peer, what)?;
        let ret = i32::from_ne_bytes([rsp[0], rsp[1], rsp[2], rsp[3]]);
        let datalen = i32::from_ne_bytes([rsp[4], rsp[5], rsp[6], rsp[7]]);
        let mut value = [0u8; std::mem::size_of::<isize>()];
        value.copy_from_slice(&rsp[8..]);
        // The answer travels in the pointer itself (LXC's INT_TO_PTR / PID_TO_PTR).
        let value = isize::from_ne_bytes(value) as i64;
        let extra = usize::try_from(datalen).unwrap_or(0);
        if extra > DATA_MAX {
            return Err(Error::Protocol {
                peer: peer.to_string(),
                message: format!("{what} announced {extra} bytes of data, more than {DATA_MAX}"),
            });
        }
        let mut data = vec![0u8; extra];
        if ret >= 0 && extra > 0 {
            self.read_exact(&mut data, &mut fds, deadline, peer, what)?;
        }
        Ok(Answer {
            ret,
            value,
            data,
            fds,
        })
    }

    fn read_exact(
        &self,
        buf: &mut [u8],
        fds: &mut Vec<OwnedFd>,
        deadline: Instant,
        peer: &str,
        what: &'static str,
    ) -> Result<(), Error> {
        let mut got = 0;
        while got < buf.len() {
            if !sys::wait_ready(self.fd.as_fd(), false, Some(deadline)).map_err(|e| Error::Io {
                op: "poll",
                peer: peer.to_string(),
                source: e,
            })? {
                return Err(Error::Timeout {
                    what: "response",
                    peer: peer.to_string(),
                    timeout: LXC_TIMEOUT,
                });
            }
            match sys::recv_with_fds(self.fd.as_fd(), &mut buf[got..], fds) {
                Ok(0) => {
                    return Err(Error::Closed {
                        what: if what == "GET_STATE" {
                            "its state was sent (it is stopping)"
                        } else {
                            "a response arrived"
                        },
                        peer: peer.to_string(),
                    })
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) if e.raw_os_error() == Some(libc::ECONNRESET) => {
                    return Err(Error::Closed {
                        what: "a response arrived",
                        peer: peer.to_string(),
                    })
                }
                Err(e) => {
                    return Err(Error::Io {
                        op: "receive response",
                        peer: peer.to_string(),
                        source: e,
                    })
                }
            }
        }
        Ok(())
    }
}

/// A request in LXC's layout: its number, a small argument carried in the pointer, and the
/// bytes that follow the header.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LxcReq<'a> {
    pub cmd: i32,
    /// The name messages give it (`GET_STATE`).
    pub what: &'static str,
    pub value: i64,
    pub data: &'a [u8],
}

impl<'a> LxcReq<'a> {
    /// A request with no argument.
    pub fn new(cmd: i32, what: &'static str) -> LxcReq<'static> {
        LxcReq {
            cmd,
            what,
            value: 0,
            data: &[],
        }
    }

    /// A request whose argument travels in the pointer (`INT_TO_PTR`).
    pub fn value(cmd: i32, what: &'static str, value: i64) -> LxcReq<'static> {
        LxcReq {
            value,
            ..LxcReq::new(cmd, what)
        }
    }

    /// A request whose argument follows the header (a string, a struct).
    pub fn data(cmd: i32, what: &'static str, data: &'a [u8]) -> LxcReq<'a> {
        LxcReq {
            cmd,
            what,
            value: 0,
            data,
        }
    }
}

/// What LXC's monitor answered: `ret` (0, a count, or `-errno`), the value in the pointer, the
/// bytes after the header and the fds that came with it.
#[derive(Debug)]
pub(crate) struct Answer {
    pub ret: i32,
    pub value: i64,
    pub data: Vec<u8>,
    pub fds: Vec<OwnedFd>,
}

impl Answer {
    /// An error answer as [`Error::Remote`], naming the request.
    pub fn check(&self, what: &str, peer: &str) -> Result<(), Error> {
        if self.ret < 0 {
            let errno = std::io::Error::from_raw_os_error(-self.ret);
            return Err(Error::Remote {
                peer: peer.to_string(),
                message: format!("{what}: {errno}"),
                errno: -self.ret,
            });
        }
        Ok(())
    }
}

/// The parent of `pid`, from /proc/PID/stat (the field after the parenthesized command, which
/// may itself hold spaces and parentheses).
fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    let ppid: i32 = rest.split_whitespace().nth(1)?.parse().ok()?;
    (ppid > 1).then_some(ppid)
}

/// Whether the listener on LXC's socket is lxc-rs's own monitor, which serves LXC's protocol
/// too (see [`super::lxc_server`]): lxc-rs's socket for the same lxcpath spelling and name is
/// listened on by the same process.
fn is_lxc_rs_monitor(lxcpath: &Path, name: &str, lxc_listener_pid: i32) -> bool {
    let Ok(fd) = sys::stream_socket(false) else {
        return false;
    };
    if sys::set_send_timeout(fd.as_fd(), LXC_TIMEOUT).is_err() {
        return false;
    }
    if sys::connect_abstract(fd.as_fd(), &super::socket_name(lxcpath, name)).is_err() {
        return false;
    }
    sys::peer_cred(fd.as_fd()).is_ok_and(|c| c.pid == lxc_listener_pid)
}

/// Whether a listener of `uid` can be LXC's monitor of this container: root's, ours, or that
/// of whoever owns the container's directory (an unprivileged user's own LXC).
fn trusted_uid(uid: u32, lxcpath: &Path, name: &str) -> bool {
    if uid == 0 || uid == nix::unistd::geteuid().as_raw() {
        return true;
    }
    let dir = lxcpath.join(OsStr::new(name));
    std::fs::metadata(dir).is_ok_and(|m| m.uid() == uid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::{SocketAddr, UnixListener};

    /// A stand-in for LXC's monitor: answers each connection's request with `answer(cmd)`, a
    /// `(ret, datalen, data)` response, and records the requests it saw.
    fn fake_lxc(
        lxcpath: &Path,
        name: &str,
        conns: usize,
        answer: fn(i32) -> (i32, i32, isize),
    ) -> std::thread::JoinHandle<Vec<[u8; MSG_LEN]>> {
        let sock = lxc_socket_name(lxcpath, name);
        let addr = SocketAddr::from_abstract_name(&sock[1..]).unwrap();
        let l = UnixListener::bind_addr(&addr).unwrap();
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            for _ in 0..conns {
                let (mut c, _) = l.accept().unwrap();
                let mut req = [0u8; MSG_LEN];
                c.read_exact(&mut req).unwrap();
                let cmd = i32::from_ne_bytes([req[0], req[1], req[2], req[3]]);
                let (ret, datalen, data) = answer(cmd);
                let mut rsp = Vec::new();
                rsp.extend_from_slice(&ret.to_ne_bytes());
                rsp.extend_from_slice(&datalen.to_ne_bytes());
                rsp.extend_from_slice(&data.to_ne_bytes());
                let _ = c.write_all(&rsp);
                seen.push(req);
            }
            seen
        })
    }

    #[test]
    fn speaks_lxcs_wire_layout() {
        let lxcpath = PathBuf::from(format!("/nonexistent/lxcrs-t-unit-{}", std::process::id()));
        // init pid: refused as LXC refuses a stranger; state: FROZEN.
        let server = fake_lxc(&lxcpath, "c", 2, |cmd| match cmd {
            LXC_CMD_GET_INIT_PID => (-libc::EPERM, 0, 0),
            LXC_CMD_GET_STATE => (0, 0, 6),
            _ => (-libc::ENOSYS, 0, 0),
        });
        let m = LxcMonitor::find(&lxcpath, "c").expect("found");
        assert_eq!(m.pid, None);
        assert_eq!(m.socket, format!("@{}/c/command", lxcpath.display()));
        assert_eq!(m.state().unwrap(), State::Frozen);
        let seen = server.join().unwrap();
        let mut want = [0u8; MSG_LEN];
        want[..4].copy_from_slice(&LXC_CMD_GET_INIT_PID.to_ne_bytes());
        assert_eq!(seen[0], want, "cmd, datalen 0, a null data pointer");
        want[..4].copy_from_slice(&LXC_CMD_GET_STATE.to_ne_bytes());
        assert_eq!(seen[1], want);
    }

    #[test]
    fn refuses_answers_that_are_not_lxcs() {
        let lxcpath = PathBuf::from(format!("/nonexistent/lxcrs-t-unit2-{}", std::process::id()));
        let server = fake_lxc(&lxcpath, "c", 3, |cmd| match cmd {
            LXC_CMD_GET_INIT_PID => (0, 0, -5),
            _ => (0, 1 << 20, 2),
        });
        let m = LxcMonitor::find(&lxcpath, "c").expect("found");
        assert_eq!(m.pid, None, "a negative pid is no pid");
        let e = m.state().unwrap_err();
        assert!(e.is_protocol(), "{e}");
        assert!(e.to_string().contains("more than 8192"), "{e}");
        let e = m.init_pid().unwrap_err();
        assert!(e.to_string().contains("which is no pid"), "{e}");
        server.join().unwrap();
    }

    #[test]
    fn short_names_are_lxcs_path_long_ones_hashed() {
        assert_eq!(
            lxc_socket_name(Path::new("/var/lib/lxc"), "c1"),
            b"\0/var/lib/lxc/c1/command"
        );
        // 105 bytes after the NUL still fit; 106 do not.
        let fits = "x".repeat(105 - "/p//command".len());
        let n = lxc_socket_name(Path::new("/p"), &fits);
        assert_eq!(n.len(), 106);
        assert_eq!(&n[1..3], b"/p");
        let long = format!("{fits}y");
        let n = lxc_socket_name(Path::new("/p"), &long);
        let want = format!(
            "\0lxc/{:016x}/command",
            fnv1a_64(format!("/p/{long}").as_bytes())
        );
        assert_eq!(n, want.as_bytes());
    }
}
