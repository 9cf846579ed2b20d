//! LXC's command socket, served by lxc-rs's monitor, so that LXC's own tools (`lxc-info`,
//! `lxc-ls`, `lxc-wait`, `lxc-stop`, `lxc-freeze`, `lxc-attach`, `lxc-console`, `lxc-cgroup`,
//! `lxc-device`, `lxc-start`'s is-it-running check) see and drive a container lxc-rs runs.
//!
//! The monitor listens here besides its own socket, on the name LXC's monitor would bind for
//! the lxcpath and name ([`super::lxc::lxc_socket_name`], hashed form included), and answers in
//! LXC 5.0's layout (facts from LXC 5.0.2's `commands.{c,h}`, `commands_utils.c`,
//! `af_unix.c`, `cgroups/cgroup.h`, and from strace of its tools against a container LXC runs):
//!
//! - a request is `{ i32 cmd; i32 datalen; void *data }` (16 bytes) sent with SCM_CREDENTIALS,
//!   then `datalen` bytes; small arguments travel in the pointer itself (`datalen` 0);
//! - a response is `{ i32 ret; i32 datalen; void *data }`, `ret` 0 or `-errno`, small answers
//!   in the pointer, bigger ones as `datalen` bytes after it; file descriptors ride as
//!   SCM_RIGHTS on the response header;
//! - one request per connection; the connection is closed after the answer, except for
//!   `ADD_STATE_CLIENT` (kept until the state comes), `STOP` (no answer: the client waits for
//!   the connection to close, which happens when the container has stopped) and `GET_TTY_FD`
//!   (the connection holds the tty);
//! - a sender whose credentials are neither root's nor the monitor's own uid and gid gets
//!   `ret = -EPERM` and the connection closed; a command number LXC does not know, or one
//!   served here by no subsystem, gets `ret = -ENOSYS`.
//!
//! The requests become what the monitor already does ([`LxcHost::call`] with lxc-rs's own
//! [`Request`]s); nothing here changes the container on its own.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::lxc::{lxc_socket_name, MSG_LEN};
use super::sys::{self, MsgCred};
use super::{listen_abstract, Error, Request, Response, REQUEST_TIMEOUT};
use crate::state::State;

/// LXC 5.0's command numbers (`lxc_cmd_t`), for the requests this module knows by name.
pub mod cmd {
    pub const GET_TTY_FD: i32 = 0;
    pub const TERMINAL_WINCH: i32 = 1;
    pub const STOP: i32 = 2;
    pub const GET_STATE: i32 = 3;
    pub const GET_INIT_PID: i32 = 4;
    pub const GET_CLONE_FLAGS: i32 = 5;
    pub const GET_CGROUP: i32 = 6;
    pub const GET_CONFIG_ITEM: i32 = 7;
    pub const GET_NAME: i32 = 8;
    pub const GET_LXCPATH: i32 = 9;
    pub const ADD_STATE_CLIENT: i32 = 10;
    pub const CONSOLE_LOG: i32 = 11;
    pub const SERVE_STATE_CLIENTS: i32 = 12;
    pub const SECCOMP_NOTIFY_ADD_LISTENER: i32 = 13;
    pub const ADD_BPF_DEVICE_CGROUP: i32 = 14;
    pub const FREEZE: i32 = 15;
    pub const UNFREEZE: i32 = 16;
    pub const GET_CGROUP2_FD: i32 = 17;
    pub const GET_INIT_PIDFD: i32 = 18;
    pub const GET_LIMIT_CGROUP: i32 = 19;
    pub const GET_LIMIT_CGROUP2_FD: i32 = 20;
    pub const GET_DEVPTS_FD: i32 = 21;
    pub const GET_SECCOMP_NOTIFY_FD: i32 = 22;
    pub const GET_CGROUP_CTX: i32 = 23;
    pub const GET_CGROUP_FD: i32 = 24;
    pub const GET_LIMIT_CGROUP_FD: i32 = 25;
    pub const GET_SYSTEMD_SCOPE: i32 = 26;
    /// `LXC_CMD_MAX`: this and every higher (or negative) number is unknown to LXC 5.0.
    pub const MAX: i32 = 27;
}

/// `LXC_CMD_DATA_MAX`: the most a request or response carries after its header.
const DATA_MAX: usize = 8192;
/// `MAX_STATE`: the number of LXC states; also what `ADD_STATE_CLIENT` answers when the
/// client must wait for its state on the connection.
const MAX_STATE: usize = 8;
/// `sizeof(struct lxc_msg)`: `{ i32 type; char name[NAME_MAX + 1]; i32 value; }`.
const STATE_MSG_LEN: usize = 4 + 256 + 4;
/// `sizeof(struct cgroup_fd)`: layout, utilities, type, fd, `char controller[64]`.
const CGROUP_FD_LEN: usize = 16 + 64;
/// `sizeof(struct cgroup_ctx)`: layout, utilities, fd_len, `i32 fd[20]`, aligned to 8.
const CGROUP_CTX_LEN: usize = 96;
/// `CGROUP_CTX_MAX_FD`.
const CGROUP_CTX_MAX_FD: usize = 20;
/// `sizeof(struct device_item)` on 64-bit: type, major, minor, access[4], allow, list_head.
const DEVICE_ITEM_LEN: usize = 40;
/// `CGROUP_SUPER_MAGIC` and `CGROUP2_SUPER_MAGIC`: a hierarchy's type in `struct cgroup_fd`.
const CGROUP_SUPER_MAGIC: u32 = 0x0027_e0eb;
const CGROUP2_SUPER_MAGIC: u32 = 0x6367_7270;
/// `CLONE_NEWTIME`, not in every libc binding.
const CLONE_NEWTIME: i32 = 0x80;
/// Connections waiting for their request at once; a flood beyond drops the oldest.
const MAX_CONNS: usize = 256;
/// LXC state clients and held STOP connections at once; more are refused with -EAGAIN.
const MAX_PARKED: usize = 512;

/// What the LXC server needs of the monitor: its container, and its own requests.
pub trait LxcHost {
    fn name(&self) -> &str;
    fn lxcpath(&self) -> &Path;
    fn state(&self) -> State;
    fn init_pid(&self) -> i32;
    /// Answer one of lxc-rs's own requests, as the monitor answers its own socket.
    fn call(
        &mut self,
        req: Request,
        peer_uid: u32,
        fds_in: Vec<OwnedFd>,
    ) -> (Response, Vec<OwnedFd>);
    /// Move the container to `s` (state clients of both sockets hear it).
    fn set_state(&mut self, s: State);
    /// Keep a connection open until the state it waits for comes, or the monitor exits.
    fn park(&mut self, p: Parked);
    /// How many connections are parked now.
    fn parked(&self) -> usize;
}

/// The listener on LXC's name and the connections whose request is not complete yet.
#[derive(Debug)]
pub struct LxcServer {
    fd: OwnedFd,
    socket: String,
    conns: Vec<LxcConn>,
}

#[derive(Debug)]
struct LxcConn {
    fd: OwnedFd,
    buf: Vec<u8>,
    cred: Option<MsgCred>,
    since: Instant,
}

/// A connection LXC keeps open after its answer: a state client (`states` set), or a STOP
/// whose client waits for the container to be gone.
#[derive(Debug)]
pub struct Parked {
    fd: OwnedFd,
    states: Option<[bool; MAX_STATE]>,
}

/// The parked connections, kept by the monitor and told of every state change.
#[derive(Debug, Default)]
pub struct LxcClients(Vec<Parked>);

impl LxcClients {
    pub fn push(&mut self, p: Parked) {
        self.0.push(p);
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The fds to poll for readability: a parked client only ever hangs up.
    pub fn fds(&self) -> Vec<RawFd> {
        self.0.iter().map(|p| p.fd.as_raw_fd()).collect()
    }

    /// Drop the clients poll said hung up (`ready` in the order of [`fds`](Self::fds)).
    pub fn drop_hung_up(&mut self, ready: &[bool]) {
        let mut i = 0;
        self.0.retain(|_| {
            let gone = ready.get(i).copied().unwrap_or(false);
            i += 1;
            !gone
        });
    }

    /// Send state `s` to the state clients that asked for it and let them go, as LXC's
    /// `lxc_serve_state_clients` does. Never waits: the message is small and the socket new.
    pub fn notify(&mut self, name: &str, s: State) {
        let idx = s as usize;
        let mut msg = [0u8; STATE_MSG_LEN];
        // type lxc_msg_state (0), the name cut to NAME_MAX, the state.
        let n = name.len().min(255);
        msg[4..4 + n].copy_from_slice(&name.as_bytes()[..n]);
        msg[260..264].copy_from_slice(&(idx as i32).to_ne_bytes());
        self.0.retain(|p| match p.states {
            Some(states) if states.get(idx).copied().unwrap_or(false) => {
                if let Err(e) = send_all(p.fd.as_fd(), &msg, &[]) {
                    tracing::debug!(error = %e, "an LXC state client did not take its state");
                }
                false
            }
            _ => true,
        });
    }
}

impl LxcServer {
    /// Listen on LXC's command socket name for `name` in `lxcpath`. Fails with
    /// [`Error::AlreadyRunning`] when something (LXC's monitor) listens there already.
    pub fn bind(lxcpath: &Path, name: &str) -> Result<LxcServer, Error> {
        let addr = lxc_socket_name(lxcpath, name);
        let (fd, socket) = listen_abstract(&addr, "LXC's command socket", lxcpath, name)?;
        tracing::debug!(socket = %socket, "LXC's command socket listening");
        Ok(LxcServer {
            fd,
            socket,
            conns: Vec::new(),
        })
    }

    /// The socket's name as logs show it (`@/var/lib/lxc/c1/command`).
    pub fn socket_name(&self) -> &str {
        &self.socket
    }

    /// The connections' fds to poll for readability, in the order [`serve`](Self::serve)
    /// takes their readiness.
    pub fn conn_fds(&self) -> Vec<RawFd> {
        self.conns.iter().map(|c| c.fd.as_raw_fd()).collect()
    }

    /// When the oldest unfinished request must be dropped.
    pub fn deadline(&self) -> Option<Instant> {
        self.conns.iter().map(|c| c.since + REQUEST_TIMEOUT).min()
    }

    /// Drop connections whose request did not arrive whole in time.
    pub fn expire(&mut self, now: Instant) {
        self.conns.retain(|c| {
            let keep = c.since + REQUEST_TIMEOUT > now;
            if !keep {
                tracing::debug!("dropping an LXC command connection: no whole request in time");
            }
            keep
        });
    }

    /// Serve the connections poll found readable (`ready` in [`conn_fds`](Self::conn_fds)
    /// order), then accept new ones if `accept` (the listener was readable).
    pub fn serve(&mut self, host: &mut dyn LxcHost, ready: &[bool], accept: bool) {
        let conns = std::mem::take(&mut self.conns);
        for (i, c) in conns.into_iter().enumerate() {
            if ready.get(i).copied().unwrap_or(false) {
                self.read_conn(host, c);
            } else {
                self.conns.push(c);
            }
        }
        if accept {
            self.accept_all(host);
        }
    }

    fn accept_all(&mut self, host: &mut dyn LxcHost) {
        for _ in 0..64 {
            let fd = match sys::accept(self.fd.as_fd()) {
                Ok(Some(fd)) => fd,
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(socket = %self.socket, error = %e, "accept on LXC's command socket failed");
                    return;
                }
            };
            if let Err(e) = sys::set_passcred(fd.as_fd()) {
                tracing::warn!(error = %e, "SO_PASSCRED on an LXC command connection failed: dropped");
                continue;
            }
            if self.conns.len() >= MAX_CONNS {
                if let Some((i, _)) = self.conns.iter().enumerate().min_by_key(|(_, c)| c.since) {
                    self.conns.swap_remove(i);
                }
            }
            let c = LxcConn {
                fd,
                buf: Vec::with_capacity(MSG_LEN),
                cred: None,
                since: Instant::now(),
            };
            // The request is usually there already.
            self.read_conn(host, c);
        }
    }

    /// Read what arrived; once the request is whole, answer it.
    fn read_conn(&mut self, host: &mut dyn LxcHost, mut c: LxcConn) {
        loop {
            let want = match parse_header(&c.buf) {
                None => MSG_LEN,
                Some((_, datalen, _)) => MSG_LEN + datalen,
            };
            if c.buf.len() >= want {
                break;
            }
            let mut chunk = vec![0u8; want - c.buf.len()];
            match sys::recv_with_creds(c.fd.as_fd(), &mut chunk) {
                Ok((0, _)) => return,
                Ok((n, cred)) => {
                    if c.cred.is_none() {
                        c.cred = cred;
                    }
                    c.buf.extend_from_slice(&chunk[..n]);
                    if c.buf.len() == MSG_LEN {
                        if let Some((cmd, datalen, _)) = parse_header(&c.buf) {
                            // LXC closes on an oversized request without an answer.
                            if datalen > DATA_MAX {
                                tracing::warn!(
                                    cmd,
                                    datalen,
                                    "LXC command with too much data: dropped"
                                );
                                return;
                            }
                        }
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    self.conns.push(c);
                    return;
                }
                Err(e) => {
                    tracing::debug!(error = %e, "dropping an LXC command connection");
                    return;
                }
            }
        }
        let Some((cmd, datalen, ptr)) = parse_header(&c.buf) else {
            return;
        };
        let data = c.buf[MSG_LEN..MSG_LEN + datalen].to_vec();
        let cred = match c.cred {
            Some(cr) => cr,
            // No credentials came with the bytes: the kernel's record of the connection.
            None => match sys::peer_cred(c.fd.as_fd()) {
                Ok(p) => MsgCred {
                    pid: p.pid,
                    uid: p.uid,
                    gid: p.gid,
                },
                Err(e) => {
                    tracing::debug!(error = %e, "no credentials for an LXC command: dropped");
                    return;
                }
            },
        };
        let req = LxcRequest {
            cmd,
            ptr,
            data,
            cred,
        };
        let _span =
            tracing::debug_span!("lxc request", cmd, pid = cred.pid, uid = cred.uid).entered();
        answer(host, c.fd, &req);
    }
}

impl AsFd for LxcServer {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for LxcServer {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// The header's command, data length (0 for a negative one, as LXC reads it) and pointer.
fn parse_header(buf: &[u8]) -> Option<(i32, usize, u64)> {
    let h = buf.get(..MSG_LEN)?;
    let cmd = i32::from_ne_bytes([h[0], h[1], h[2], h[3]]);
    let datalen = i32::from_ne_bytes([h[4], h[5], h[6], h[7]]);
    let mut p = [0u8; 8];
    p[..MSG_LEN - 8].copy_from_slice(&h[8..MSG_LEN]);
    Some((
        cmd,
        usize::try_from(datalen).unwrap_or(0),
        u64::from_ne_bytes(p),
    ))
}

struct LxcRequest {
    cmd: i32,
    /// The request's `data` pointer: small arguments travel in it (`INT_TO_PTR`).
    ptr: u64,
    data: Vec<u8>,
    cred: MsgCred,
}

impl LxcRequest {
    /// `PTR_TO_INT(req->data)`.
    fn ptr_int(&self) -> i32 {
        self.ptr as u32 as i32
    }

    /// The data as a C string: up to its first NUL, if it has one (LXC requires one).
    fn string(&self) -> Option<String> {
        let end = self.data.iter().position(|&b| b == 0)?;
        String::from_utf8(self.data[..end].to_vec()).ok()
    }
}

/// What goes back: `ret`, the value in the pointer, bytes after the header, fds.
struct Rsp {
    ret: i32,
    ptr: i64,
    data: Vec<u8>,
    fds: Vec<OwnedFd>,
}

impl Rsp {
    fn ok() -> Rsp {
        Rsp::value(0)
    }

    fn err(errno: i32) -> Rsp {
        Rsp {
            ret: -errno,
            ptr: 0,
            data: Vec::new(),
            fds: Vec::new(),
        }
    }

    /// An answer in the pointer (`INT_TO_PTR`, `PID_TO_PTR`).
    fn value(v: i64) -> Rsp {
        Rsp {
            ret: 0,
            ptr: v,
            data: Vec::new(),
            fds: Vec::new(),
        }
    }

    /// A C string after the header.
    fn string(s: &str) -> Rsp {
        let mut data = s.as_bytes().to_vec();
        data.push(0);
        Rsp {
            ret: 0,
            ptr: 0,
            data,
            fds: Vec::new(),
        }
    }

    fn fd(fd: OwnedFd) -> Rsp {
        Rsp {
            ret: 0,
            ptr: 0,
            data: Vec::new(),
            fds: vec![fd],
        }
    }
}

/// What becomes of the connection after a request.
enum Then {
    /// Answer, then close.
    Reply(Rsp),
    /// Answer, then keep it open until the state comes (`ADD_STATE_CLIENT`).
    Wait(Rsp, [bool; MAX_STATE]),
    /// No answer; keep it open until the monitor exits (`STOP`).
    Hold,
    /// Answer, and leave the connection to whoever took a copy of it (a tty's holder).
    Handed(Rsp),
    /// Close without an answer, as LXC does for a request it cannot process.
    Close,
}

fn answer(host: &mut dyn LxcHost, fd: OwnedFd, req: &LxcRequest) {
    // LXC's check: root, or the monitor's own uid and gid.
    let (uid, gid) = (
        nix::unistd::getuid().as_raw(),
        nix::unistd::getgid().as_raw(),
    );
    let then = if req.cred.uid != 0 && (req.cred.uid != uid || req.cred.gid != gid) {
        tracing::warn!(
            pid = req.cred.pid,
            uid = req.cred.uid,
            gid = req.cred.gid,
            "refused an LXC command from pid {} uid {}: only root and the monitor's user may send commands",
            req.cred.pid,
            req.cred.uid
        );
        Then::Reply(Rsp::err(libc::EPERM))
    } else {
        dispatch(host, &fd, req)
    };
    match then {
        // A handed connection lives on in the copy its new holder took.
        Then::Reply(r) | Then::Handed(r) => {
            reply(&fd, r);
        }
        Then::Wait(r, states) => {
            if reply(&fd, r) {
                host.park(Parked {
                    fd,
                    states: Some(states),
                });
            }
        }
        Then::Hold => host.park(Parked { fd, states: None }),
        Then::Close => {}
    }
}

/// Send a response; false if the client did not take it.
fn reply(fd: &OwnedFd, r: Rsp) -> bool {
    let mut out = Vec::with_capacity(MSG_LEN + r.data.len());
    out.extend_from_slice(&r.ret.to_ne_bytes());
    let datalen = i32::try_from(r.data.len()).unwrap_or(i32::MAX);
    out.extend_from_slice(&datalen.to_ne_bytes());
    let ptr = r.ptr.to_ne_bytes();
    out.extend_from_slice(&ptr[..MSG_LEN - 8]);
    out.extend_from_slice(&r.data);
    let fds: Vec<BorrowedFd<'_>> = r.fds.iter().map(|f| f.as_fd()).collect();
    match send_all(fd.as_fd(), &out, &fds) {
        Ok(()) => true,
        Err(e) => {
            tracing::debug!(error = %e, "an LXC command client did not take its answer");
            false
        }
    }
}

/// Send all of `buf` (fds on its first byte), waiting a little for room: answers are at most
/// 8 KiB and go to a socket that has just been read from, so they fit at once in practice.
fn send_all(fd: BorrowedFd<'_>, buf: &[u8], fds: &[BorrowedFd<'_>]) -> std::io::Result<()> {
    let deadline = Instant::now() + Duration::from_millis(200);
    let mut sent = 0;
    while sent < buf.len() {
        let attach = if sent == 0 { fds } else { &[] };
        match sys::send_with_fds(fd, &buf[sent..], attach) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if !sys::wait_ready(fd, true, Some(deadline))? {
                    return Err(std::io::Error::from_raw_os_error(libc::ETIMEDOUT));
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// An lxc-rs answer's errno (EIO when the monitor answered something else).
fn errno_of(r: &Response) -> i32 {
    match r {
        Response::Error { errno, .. } if *errno > 0 => *errno,
        _ => libc::EIO,
    }
}

fn dispatch(host: &mut dyn LxcHost, conn: &OwnedFd, req: &LxcRequest) -> Then {
    let uid = req.cred.uid;
    match req.cmd {
        cmd::GET_STATE => Then::Reply(Rsp::value(host.state() as i64)),
        cmd::GET_INIT_PID => Then::Reply(Rsp::value(i64::from(host.init_pid()))),
        cmd::GET_INIT_PIDFD => match host.call(Request::GetInitPidfd, uid, Vec::new()) {
            (Response::InitPidfd, mut fds) if !fds.is_empty() => {
                Then::Reply(Rsp::fd(fds.remove(0)))
            }
            _ => Then::Reply(Rsp::err(libc::EBADF)),
        },
        cmd::GET_CLONE_FLAGS => Then::Reply(Rsp::value(i64::from(clone_flags(host.init_pid())))),
        cmd::GET_NAME => Then::Reply(Rsp::string(host.name())),
        cmd::GET_LXCPATH => {
            let p = host.lxcpath().to_string_lossy().into_owned();
            Then::Reply(Rsp::string(&p))
        }
        cmd::GET_CONFIG_ITEM => {
            // LXC answers -1 (not an errno) for an unknown key and for an empty value.
            let Some(key) = req.string().filter(|k| !k.is_empty()) else {
                return Then::Reply(Rsp::err(1));
            };
            match host.call(Request::GetConfigItem { key }, uid, Vec::new()) {
                (Response::ConfigItem(v), _) if !v.is_empty() => Then::Reply(Rsp::string(&v)),
                _ => Then::Reply(Rsp::err(1)),
            }
        }
        cmd::ADD_STATE_CLIENT => {
            if req.data.len() != 4 * MAX_STATE {
                return Then::Reply(Rsp::err(libc::EINVAL));
            }
            let mut states = [false; MAX_STATE];
            let mut exactly_one = [false; MAX_STATE];
            for (i, w) in req.data.chunks_exact(4).enumerate() {
                let v = i32::from_ne_bytes([w[0], w[1], w[2], w[3]]);
                states[i] = v != 0;
                exactly_one[i] = v == 1;
            }
            let now = host.state() as usize;
            if exactly_one[now] {
                // Already there: LXC answers the state in both fields.
                let mut r = Rsp::value(now as i64);
                r.ret = now as i32;
                return Then::Reply(r);
            }
            if host.parked() >= MAX_PARKED {
                return Then::Reply(Rsp::err(libc::EAGAIN));
            }
            let mut r = Rsp::value(MAX_STATE as i64);
            r.ret = MAX_STATE as i32;
            Then::Wait(r, states)
        }
        cmd::SERVE_STATE_CLIENTS => {
            let s = req.ptr_int();
            let Some(state) = usize::try_from(s).ok().and_then(|i| State::ALL.get(i)) else {
                return Then::Reply(Rsp::err(libc::EINVAL));
            };
            host.set_state(*state);
            // LXC records THAWED as RUNNING once its clients have heard it.
            if *state == State::Thawed {
                host.set_state(State::Running);
            }
            Then::Reply(Rsp::ok())
        }
        cmd::STOP => {
            if host.parked() >= MAX_PARKED {
                return Then::Reply(Rsp::err(libc::EAGAIN));
            }
            match host.call(Request::Stop { kill: false }, uid, Vec::new()) {
                (Response::Ok, _) => Then::Hold,
                (r, _) => Then::Reply(Rsp::err(errno_of(&r))),
            }
        }
        cmd::FREEZE | cmd::UNFREEZE => {
            // LXC's monitor freezes only on a pure cgroup2 layout; elsewhere it answers
            // -ENOENT and the client writes the v1 freezer itself.
            if Cgroups::read(host).layout != LAYOUT_UNIFIED {
                return Then::Reply(Rsp::err(libc::ENOENT));
            }
            let r = if req.cmd == cmd::FREEZE {
                Request::Freeze
            } else {
                Request::Unfreeze
            };
            match host.call(r, uid, Vec::new()) {
                (Response::Ok, _) => Then::Reply(Rsp::ok()),
                (r, _) => Then::Reply(Rsp::err(errno_of(&r))),
            }
        }
        cmd::GET_CGROUP | cmd::GET_LIMIT_CGROUP => {
            let controller = if req.data.is_empty() {
                None
            } else {
                match req.string() {
                    Some(c) => Some(c),
                    None => return Then::Reply(Rsp::err(libc::EINVAL)),
                }
            };
            let cg = Cgroups::read(host);
            match cg.find(controller.as_deref()) {
                Some(d) => {
                    let dir = if req.cmd == cmd::GET_LIMIT_CGROUP {
                        &d.limit
                    } else {
                        &d.inner
                    };
                    Then::Reply(Rsp::string(&d.relative(dir)))
                }
                // LXC's callback fails without an answer; its client reads end of file.
                None => Then::Close,
            }
        }
        cmd::GET_CGROUP_FD | cmd::GET_LIMIT_CGROUP_FD => cgroup_fd(host, req),
        cmd::GET_CGROUP2_FD | cmd::GET_LIMIT_CGROUP2_FD => {
            let cg = Cgroups::read(host);
            if cg.layout != LAYOUT_UNIFIED {
                return Then::Reply(Rsp::err(libc::EINVAL));
            }
            let Some(d) = cg.find(None) else {
                return Then::Reply(Rsp::err(libc::EBADF));
            };
            let dir = if req.cmd == cmd::GET_LIMIT_CGROUP2_FD {
                &d.limit
            } else {
                &d.inner
            };
            match sys::open_dir(dir) {
                Ok(fd) => Then::Reply(Rsp::fd(fd)),
                Err(_) => Then::Reply(Rsp::err(libc::EBADF)),
            }
        }
        cmd::GET_CGROUP_CTX => cgroup_ctx(host, req),
        cmd::GET_DEVPTS_FD => ext_fd(host, "devpts_fd", uid),
        cmd::GET_SECCOMP_NOTIFY_FD => ext_fd(host, "seccomp_notify_fd", uid),
        cmd::GET_TTY_FD => {
            let tty = req.ptr_int();
            let session = match conn.try_clone() {
                Ok(s) => s,
                Err(_) => return Then::Reply(Rsp::err(libc::EBADF)),
            };
            let body = match super::body::encode(&(tty, 0u16, 0u16)) {
                Ok(b) => b,
                Err(_) => return Then::Reply(Rsp::err(libc::EBADF)),
            };
            let req = Request::Ext {
                name: "console".into(),
                body,
            };
            match host.call(req, uid, vec![session]) {
                (Response::Ext(b), mut fds) if !fds.is_empty() => {
                    let num: i32 = super::body::decode(&b).unwrap_or(tty);
                    let mut r = Rsp::fd(fds.remove(0));
                    r.ptr = i64::from(num);
                    Then::Handed(r)
                }
                // LXC's answer when no tty can be given.
                (r, _) => {
                    tracing::debug!(?r, "no tty for an LXC console client");
                    Then::Reply(Rsp::err(libc::EBADF))
                }
            }
        }
        cmd::ADD_BPF_DEVICE_CGROUP => add_device(host, req),
        // LXC's callback fails without an answer (the client side never sends it).
        cmd::TERMINAL_WINCH => Then::Close,
        // Without a systemd scope LXC answers -EINVAL; lxc-rs never makes one.
        cmd::GET_SYSTEMD_SCOPE => Then::Reply(Rsp::err(libc::EINVAL)),
        // CONSOLE_LOG, SECCOMP_NOTIFY_ADD_LISTENER and every number LXC does not know.
        other => {
            tracing::debug!(
                cmd = other,
                "LXC command not served here: answered as an unknown one"
            );
            Then::Reply(Rsp::err(libc::ENOSYS))
        }
    }
}

/// A request answered by an extension with one fd; LXC's -EBADF when there is none.
fn ext_fd(host: &mut dyn LxcHost, name: &str, uid: u32) -> Then {
    let req = Request::Ext {
        name: name.into(),
        body: Vec::new(),
    };
    match host.call(req, uid, Vec::new()) {
        (Response::Ext(_), mut fds) if !fds.is_empty() => Then::Reply(Rsp::fd(fds.remove(0))),
        (Response::Error { errno, .. }, _) if errno == libc::EPERM => {
            Then::Reply(Rsp::err(libc::EPERM))
        }
        _ => Then::Reply(Rsp::err(libc::EBADF)),
    }
}

/// `GET_CGROUP_FD` / `GET_LIMIT_CGROUP_FD`: the `struct cgroup_fd` the client sent names a
/// controller; the answer fills in layout, hierarchy type and fd, the directory attached.
fn cgroup_fd(host: &mut dyn LxcHost, req: &LxcRequest) -> Then {
    let mut s = [0u8; CGROUP_FD_LEN];
    let n = req.data.len().min(CGROUP_FD_LEN);
    if req.data.len() < 16 || req.data[n..].iter().any(|&b| b != 0) {
        return Then::Reply(Rsp::err(libc::EINVAL));
    }
    s[..n].copy_from_slice(&req.data[..n]);
    let end = s[16..].iter().position(|&b| b == 0).unwrap_or(64);
    let controller = String::from_utf8_lossy(&s[16..16 + end]).into_owned();
    if controller.is_empty() {
        return Then::Reply(Rsp::err(libc::EINVAL));
    }
    let want_type = u32::from_ne_bytes([s[8], s[9], s[10], s[11]]);
    let cg = Cgroups::read(host);
    let Some(d) = cg.find(Some(&controller)) else {
        return Then::Reply(Rsp::err(libc::ENOENT));
    };
    let fs_type = if d.v2 {
        CGROUP2_SUPER_MAGIC
    } else {
        CGROUP_SUPER_MAGIC
    };
    if want_type != 0 && want_type != fs_type {
        return Then::Reply(Rsp::err(libc::EINVAL));
    }
    let dir = if req.cmd == cmd::GET_LIMIT_CGROUP_FD {
        &d.limit
    } else {
        &d.inner
    };
    let fd = match sys::open_dir(dir) {
        Ok(fd) => fd,
        Err(_) => return Then::Reply(Rsp::err(libc::EBADF)),
    };
    s[0..4].copy_from_slice(&cg.layout.to_ne_bytes());
    // `utilities` (cgroup2 devices/freezer support flags) stays 0: clients here only test
    // the type.
    s[8..12].copy_from_slice(&fs_type.to_ne_bytes());
    s[12..16].copy_from_slice(&fd.as_raw_fd().to_ne_bytes());
    let mut r = Rsp::fd(fd);
    r.data = s[..n].to_vec();
    Then::Reply(r)
}

/// `GET_CGROUP_CTX`: the layout and one fd per hierarchy the container has a cgroup in
/// (where its processes are), for `lxc-attach` to move its process in.
fn cgroup_ctx(host: &mut dyn LxcHost, req: &LxcRequest) -> Then {
    let n = req.data.len().min(CGROUP_CTX_LEN);
    if req.data[n..].iter().any(|&b| b != 0) {
        return Then::Reply(Rsp::err(libc::EINVAL));
    }
    let cg = Cgroups::read(host);
    if cg.dirs.is_empty() {
        // LXC's answer for no writable hierarchy.
        return Then::Reply(Rsp::err(libc::ENOENT));
    }
    if cg.dirs.len() > CGROUP_CTX_MAX_FD {
        return Then::Reply(Rsp::err(libc::E2BIG));
    }
    let mut fds = Vec::with_capacity(cg.dirs.len());
    for d in &cg.dirs {
        match sys::open_dir(&d.inner) {
            Ok(fd) => fds.push(fd),
            Err(e) => {
                tracing::warn!(dir = %d.inner.display(), error = %e, "cannot open a cgroup of the container");
                return Then::Reply(Rsp::err(e.raw_os_error().unwrap_or(libc::EBADF)));
            }
        }
    }
    let mut s = [0u8; CGROUP_CTX_LEN];
    s[0..4].copy_from_slice(&cg.layout.to_ne_bytes());
    s[8..12].copy_from_slice(&(fds.len() as u32).to_ne_bytes());
    for (i, fd) in fds.iter().enumerate() {
        s[12 + 4 * i..16 + 4 * i].copy_from_slice(&fd.as_raw_fd().to_ne_bytes());
    }
    Then::Reply(Rsp {
        ret: 0,
        ptr: 0,
        data: s[..n].to_vec(),
        fds,
    })
}

/// `ADD_BPF_DEVICE_CGROUP` (pure cgroup2: `lxc-device`, `lxc-cgroup devices.*`): the
/// `struct device_item` becomes the rule lxc-rs's cgroup driver takes for a live change.
fn add_device(host: &mut dyn LxcHost, req: &LxcRequest) -> Then {
    let d = &req.data;
    if d.len() != DEVICE_ITEM_LEN {
        return Then::Reply(Rsp::err(libc::EINVAL));
    }
    let int = |o: usize| i32::from_ne_bytes([d[o], d[o + 1], d[o + 2], d[o + 3]]);
    let kind = d[0] as char;
    let num = |v: i32| {
        if v < 0 {
            "*".to_string()
        } else {
            v.to_string()
        }
    };
    let access: String = d[12..16]
        .iter()
        .take_while(|&&b| b != 0)
        .map(|&b| b as char)
        .collect();
    let rule = if kind == 'a' {
        "a".to_string()
    } else {
        format!("{kind} {}:{} {access}", num(int(4)), num(int(8)))
    };
    let key = if int(16) != 0 {
        "devices.allow"
    } else {
        "devices.deny"
    };
    let body = match super::body::encode(&(key, rule)) {
        Ok(b) => b,
        Err(_) => return Then::Reply(Rsp::err(libc::EINVAL)),
    };
    let req = Request::Ext {
        name: "cgroup.set".into(),
        body,
    };
    match host.call(req, 0, Vec::new()) {
        (Response::Ext(_), _) => Then::Reply(Rsp::ok()),
        // LXC answers -1 when the program cannot take the rule.
        _ => Then::Reply(Rsp::err(1)),
    }
}

/// The namespaces init is in that the monitor is not: LXC's `ns_clone_flags`.
fn clone_flags(pid: i32) -> i32 {
    use std::os::unix::fs::MetadataExt;
    let table = [
        ("mnt", libc::CLONE_NEWNS),
        ("uts", libc::CLONE_NEWUTS),
        ("ipc", libc::CLONE_NEWIPC),
        ("pid", libc::CLONE_NEWPID),
        ("net", libc::CLONE_NEWNET),
        ("user", libc::CLONE_NEWUSER),
        ("cgroup", libc::CLONE_NEWCGROUP),
        ("time", CLONE_NEWTIME),
    ];
    let id = |p: String| std::fs::metadata(p).map(|m| (m.dev(), m.ino())).ok();
    table
        .iter()
        .filter(|(ns, _)| {
            let theirs = id(format!("/proc/{pid}/ns/{ns}"));
            theirs.is_some() && theirs != id(format!("/proc/self/ns/{ns}"))
        })
        .fold(0, |acc, (_, f)| acc | f)
}

/// `cgroup_layout_t`.
const LAYOUT_UNKNOWN: i32 = -1;
const LAYOUT_LEGACY: i32 = 0;
const LAYOUT_HYBRID: i32 = 1;
const LAYOUT_UNIFIED: i32 = 2;

/// The container's cgroups as LXC's requests see them: one per hierarchy, with the
/// hierarchy's mount and controllers.
struct Cgroups {
    layout: i32,
    dirs: Vec<CgDir>,
}

struct CgDir {
    mount: PathBuf,
    v2: bool,
    controllers: Vec<String>,
    /// Where the container's processes are (LXC's `path_con`).
    inner: PathBuf,
    /// Where its limits are written (LXC's `path_lim`).
    limit: PathBuf,
}

impl CgDir {
    /// `dir` as a path inside its hierarchy (`/lxc.payload.c1`), as LXC reports it.
    fn relative(&self, dir: &Path) -> String {
        match dir.strip_prefix(&self.mount) {
            Ok(rel) => format!("/{}", rel.display()),
            Err(_) => dir.display().to_string(),
        }
    }
}

/// A cgroup filesystem mounted on the host: where, which version, which controllers.
struct Mount {
    at: PathBuf,
    v2: bool,
    controllers: Vec<String>,
}

/// The cgroup mounts of this mount namespace, from /proc/self/mountinfo.
fn cgroup_mounts() -> Vec<Mount> {
    // Mount options of a v1 hierarchy that are not controllers.
    const NOT_CONTROLLERS: [&str; 8] = [
        "rw",
        "ro",
        "xattr",
        "noprefix",
        "clone_children",
        "cpuset_v2_mode",
        "nsdelegate",
        "favordynmods",
    ];
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let Some(at) = pre.split_whitespace().nth(4) else {
            continue;
        };
        let mut post = post.split_whitespace();
        let fstype = post.next().unwrap_or("");
        let opts = post.nth(1).unwrap_or("");
        let at = PathBuf::from(at.replace("\\040", " "));
        match fstype {
            "cgroup" => out.push(Mount {
                controllers: opts
                    .split(',')
                    .filter(|o| {
                        !NOT_CONTROLLERS.contains(o) && (!o.contains('=') || o.starts_with("name="))
                    })
                    .map(str::to_string)
                    .collect(),
                at,
                v2: false,
            }),
            "cgroup2" => out.push(Mount {
                controllers: std::fs::read_to_string(at.join("cgroup.controllers"))
                    .unwrap_or_default()
                    .split_whitespace()
                    .map(str::to_string)
                    .collect(),
                at,
                v2: true,
            }),
            _ => {}
        }
    }
    out
}

impl Cgroups {
    fn read(host: &mut dyn LxcHost) -> Cgroups {
        let mounts = cgroup_mounts();
        let (v1, v2) = (mounts.iter().any(|m| !m.v2), mounts.iter().any(|m| m.v2));
        let layout = match (v1, v2) {
            (true, true) => LAYOUT_HYBRID,
            (true, false) => LAYOUT_LEGACY,
            (false, true) => LAYOUT_UNIFIED,
            (false, false) => LAYOUT_UNKNOWN,
        };
        let paths = match host.call(Request::GetCgroupPaths, 0, Vec::new()) {
            (Response::CgroupPaths(p), _) => p,
            _ => Vec::new(),
        };
        // With lxc.cgroup.dir.container.inner the processes sit below the limit cgroup.
        let inner_dir = match host.call(
            Request::GetConfigItem {
                key: "lxc.cgroup.dir.container.inner".into(),
            },
            0,
            Vec::new(),
        ) {
            (Response::ConfigItem(v), _) => v,
            _ => String::new(),
        };
        let dirs = paths
            .into_iter()
            .filter_map(|p| {
                let inner = PathBuf::from(p);
                let m = mounts
                    .iter()
                    .filter(|m| inner.starts_with(&m.at))
                    .max_by_key(|m| m.at.as_os_str().len())?;
                let limit = if inner_dir.is_empty() {
                    inner.clone()
                } else {
                    let rel = inner_dir.trim_matches('/');
                    let s = inner.to_string_lossy();
                    match s.strip_suffix(rel) {
                        Some(l) => PathBuf::from(l.trim_end_matches('/')),
                        None => inner.clone(),
                    }
                };
                Some(CgDir {
                    mount: m.at.clone(),
                    v2: m.v2,
                    controllers: m.controllers.clone(),
                    inner,
                    limit,
                })
            })
            .collect();
        Cgroups { layout, dirs }
    }

    /// LXC's `get_hierarchy`: the cgroup2 hierarchy for `None`, else the one that has
    /// `controller` (on a pure cgroup2 host, devices and freezer are cgroup2's own).
    fn find(&self, controller: Option<&str>) -> Option<&CgDir> {
        match controller {
            None => self.dirs.iter().find(|d| d.v2),
            Some(c) => {
                if self.layout == LAYOUT_UNIFIED && matches!(c, "devices" | "freezer") {
                    return self.dirs.iter().find(|d| d.v2);
                }
                self.dirs
                    .iter()
                    .find(|d| d.controllers.iter().any(|x| x == c))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_reads_as_lxc_writes_it() {
        let mut h = Vec::new();
        h.extend_from_slice(&7i32.to_ne_bytes());
        h.extend_from_slice(&15i32.to_ne_bytes());
        h.extend_from_slice(&0x55aa_u64.to_ne_bytes());
        assert_eq!(parse_header(&h), Some((7, 15, 0x55aa)));
        h[4..8].copy_from_slice(&(-3i32).to_ne_bytes());
        assert_eq!(parse_header(&h).map(|x| x.1), Some(0), "negative: no data");
        assert_eq!(parse_header(&h[..15]), None);
    }

    #[test]
    fn state_message_is_lxc_msg() {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let mut clients = LxcClients::default();
        let mut states = [false; MAX_STATE];
        states[State::Stopped as usize] = true;
        clients.push(Parked {
            fd: OwnedFd::from(a),
            states: Some(states),
        });
        clients.notify("c1", State::Running);
        assert_eq!(clients.len(), 1, "not a state it asked for");
        clients.notify("c1", State::Stopped);
        assert!(clients.is_empty(), "let go once told");
        let mut buf = Vec::new();
        use std::io::Read;
        (&b).read_to_end(&mut buf).unwrap();
        assert_eq!(buf.len(), STATE_MSG_LEN);
        assert_eq!(&buf[0..4], &0i32.to_ne_bytes());
        assert_eq!(&buf[4..7], b"c1\0");
        assert_eq!(&buf[260..264], &0i32.to_ne_bytes());
    }

    #[test]
    fn clone_flags_of_self_are_none() {
        assert_eq!(clone_flags(std::process::id() as i32), 0);
    }
}
