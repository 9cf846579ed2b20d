//! lxc-rs's controls on a container that LXC's own monitor runs: what `lxc-stop`,
//! `lxc-freeze`, `lxc-unfreeze`, `lxc-cgroup`, `lxc-wait`, `lxc-attach` and `lxc-console` do,
//! done the way LXC 5.0.2's client (liblxc) does it, over LXC's command socket
//! ([`super::lxc`] has the wire layout). Facts from LXC 5.0.2's `commands.c`,
//! `commands_utils.c`, `freezer.c`, `cgroups/cgfsng.c` (`cgroup_get`, `cgroup_set`,
//! `cgroup_freeze`) and `lxccontainer.c` (`shutdown`, `reboot2`):
//!
//! - **stop** (`lxc-stop -k`): `LXC_CMD_STOP`; the monitor sends `lxc.signal.stop` (SIGKILL by
//!   default) and answers only on failure: the client waits for the connection to close,
//!   which happens once the container is gone.
//! - **shutdown, reboot**: liblxc signals init itself through the pidfd `GET_INIT_PIDFD` gives:
//!   `lxc.signal.halt` (SIGPWR, or SIGRTMIN+3 when init blocks it), `lxc.signal.reboot`
//!   (SIGINT), read from the running config with `GET_CONFIG_ITEM`.
//! - **freeze, unfreeze**: on a pure cgroup2 host, `GET_LIMIT_CGROUP2_FD` and `cgroup.freeze`;
//!   elsewhere (this hybrid host) the v1 freezer's `freezer.state` in the directory
//!   `GET_LIMIT_CGROUP_FD` opens. The client tells the monitor's state clients itself
//!   (`SERVE_STATE_CLIENTS`: FREEZING then FROZEN; THAWED then RUNNING).
//! - **cgroup get and set**: `GET_LIMIT_CGROUP_FD` with a `struct cgroup_fd` naming the
//!   controller (the key up to its first dot), then the file read or written in that directory;
//!   `GET_LIMIT_CGROUP2_FD` where the monitor does not know the request.
//! - **attach**: `GET_INIT_PIDFD`, and `GET_CGROUP_CTX` for the cgroups to join (one fd per
//!   hierarchy; their paths are read back from /proc/self/fd).
//! - **console**: `GET_TTY_FD` with the tty number in the pointer; the pty's master comes back
//!   on the answer, and the tty is the caller's while the connection stays open.
//! - **wait**: `ADD_STATE_CLIENT` with `lxc_state_t states[8]`, 1 for each state asked for:
//!   the answer is the state itself when the container is in one already (nothing stays
//!   registered), else `MAX_STATE`, and later one `struct lxc_msg` (264 bytes, the state at
//!   offset 260) for the first state asked for; then LXC forgets the client. LXC's monitor
//!   never notices a client that hangs up before that, so registering only when needed
//!   matters. A state asked for with 2 is never answered at once and a RUNNING asked so
//!   survives a reboot (LXC's own `reboot2` trick): [`LxcMonitor::state_client`] `across_reboot`.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use super::lxc::{Conn, LxcReq, LXC_TIMEOUT};
use super::lxc_server::cmd;
use super::{sys, Error, LxcMonitor};
use crate::state::State;

/// `MAX_STATE`: the states LXC knows, and what `ADD_STATE_CLIENT` answers for "wait".
const MAX_STATE: usize = 8;
/// `sizeof(struct lxc_msg)`: `{ i32 type; char name[NAME_MAX + 1]; i32 value; }`.
const STATE_MSG_LEN: usize = 4 + 256 + 4;
/// `sizeof(struct cgroup_fd)`: layout, utilities, type, fd, `char controller[64]`.
const CGROUP_FD_LEN: usize = 16 + 64;
/// `sizeof(struct cgroup_ctx)`: layout, utilities, fd_len, `i32 fd[20]`, aligned to 8.
const CGROUP_CTX_LEN: usize = 96;
/// `CGROUP2_SUPER_MAGIC`: `struct cgroup_fd`'s type for the unified hierarchy.
const CGROUP2_SUPER_MAGIC: i32 = 0x6367_7270;
/// How often a freeze looks whether the freezer has got there.
const FREEZE_POLL: Duration = Duration::from_millis(10);

impl LxcMonitor {
    /// A pidfd for the container's init (`GET_INIT_PIDFD`).
    pub fn init_pidfd(&self) -> Result<OwnedFd, Error> {
        let a = self.call(
            &LxcReq::new(cmd::GET_INIT_PIDFD, "GET_INIT_PIDFD"),
            LXC_TIMEOUT,
        )?;
        a.fds.into_iter().next().ok_or_else(|| Error::Protocol {
            peer: self.peer(),
            message: "GET_INIT_PIDFD answered without a pidfd".into(),
        })
    }

    /// A key of the running container's config, as LXC's monitor prints it
    /// (`GET_CONFIG_ITEM`). LXC answers an unknown key and an empty value alike, with -1.
    pub fn config_item(&self, key: &str) -> Result<String, Error> {
        let mut data = key.as_bytes().to_vec();
        data.push(0);
        let req = LxcReq::data(cmd::GET_CONFIG_ITEM, "GET_CONFIG_ITEM", &data);
        let (a, _) = self.exchange(&req, LXC_TIMEOUT)?;
        if a.ret < 0 {
            return Err(Error::Remote {
                peer: self.peer(),
                message: format!("GET_CONFIG_ITEM {key}: unknown key, or no value"),
                errno: libc::ENOENT,
            });
        }
        Ok(c_string(&a.data))
    }

    /// `lxc-stop -k`: `LXC_CMD_STOP`, then wait (up to `timeout`) until the monitor closes the
    /// connection, which it does once the container is gone.
    pub fn stop(&self, timeout: Option<Duration>) -> Result<(), Error> {
        let start = Instant::now() + LXC_TIMEOUT;
        let peer = self.peer();
        let conn = self.open(start)?;
        conn.send(&LxcReq::new(cmd::STOP, "STOP"), start, &peer)?;
        let deadline = timeout.map(|t| Instant::now() + t);
        if !sys::wait_ready(conn.fd.as_fd(), false, deadline).map_err(|e| Error::Io {
            op: "poll",
            peer: peer.clone(),
            source: e,
        })? {
            return Err(Error::Timeout {
                what: "end of the container after STOP",
                peer,
                timeout: timeout.unwrap_or_default(),
            });
        }
        // An answer means the signal could not be sent; a close means it stopped.
        match conn.answer("STOP", Instant::now() + LXC_TIMEOUT, &peer) {
            Ok(a) => a.check("STOP", &peer),
            Err(Error::Closed { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Send `sig` to the container's init through its pidfd, as liblxc's shutdown and reboot do.
    pub fn signal(&self, sig: i32) -> Result<(), Error> {
        let pidfd = self.init_pidfd()?;
        crate::sys::pidfd_send_signal(pidfd.as_fd(), sig).map_err(|e| Error::Io {
            op: "pidfd_send_signal to init",
            peer: self.peer(),
            source: e,
        })
    }

    /// The signal `lxc.signal.<which>` names in the running config (`halt`, `reboot`), or
    /// liblxc's default: SIGPWR for halt (SIGRTMIN+3 when init blocks it: systemd), SIGINT for
    /// reboot.
    pub fn configured_signal(&self, which: &str) -> i32 {
        let set = self
            .config_item(&format!("lxc.signal.{which}"))
            .ok()
            .and_then(|v| v.trim().parse::<i32>().ok())
            .filter(|&n| n > 0);
        if let Some(n) = set {
            return n;
        }
        if which == "reboot" {
            return libc::SIGINT;
        }
        let rtmin3 = libc::SIGRTMIN() + 3;
        match self.init_pid() {
            Ok(pid) if blocks_signal(pid, rtmin3) => rtmin3,
            _ => libc::SIGPWR,
        }
    }

    /// The directories of the container's cgroups its processes are in, one per hierarchy
    /// (`GET_CGROUP_CTX`, as `lxc-attach` asks), as host paths.
    pub fn cgroup_dirs(&self) -> Result<Vec<String>, Error> {
        let ctx = [0u8; CGROUP_CTX_LEN];
        let req = LxcReq::data(cmd::GET_CGROUP_CTX, "GET_CGROUP_CTX", &ctx);
        let (a, _) = self.exchange(&req, LXC_TIMEOUT)?;
        // No writable hierarchy at all: nothing to join.
        if a.ret == -libc::ENOENT {
            return Ok(Vec::new());
        }
        a.check("GET_CGROUP_CTX", &self.peer())?;
        a.fds.iter().map(|fd| self.fd_path(fd.as_fd())).collect()
    }

    /// The host path of a directory LXC's monitor sent, from /proc/self/fd.
    fn fd_path(&self, fd: BorrowedFd<'_>) -> Result<String, Error> {
        let link = format!("/proc/self/fd/{}", fd.as_raw_fd());
        std::fs::read_link(&link)
            .map(|p| p.to_string_lossy().into_owned())
            .map_err(|e| Error::Io {
                op: "read the path of a cgroup fd",
                peer: self.peer(),
                source: e,
            })
    }

    /// The limit cgroup directory holding `key` (`memory.limit_in_bytes`: memory's), as LXC's
    /// `cgroup_get`/`cgroup_set` find it.
    fn limit_dir(&self, key: &str) -> Result<(OwnedFd, bool), Error> {
        let controller = key.split('.').next().unwrap_or_default();
        if key.contains('/') || controller.is_empty() || controller.len() >= 64 {
            return Err(Error::Remote {
                peer: self.peer(),
                message: format!("invalid cgroup key {key:?}"),
                errno: libc::EINVAL,
            });
        }
        let mut s = [0u8; CGROUP_FD_LEN];
        s[12..16].copy_from_slice(&(-1i32).to_ne_bytes());
        s[16..16 + controller.len()].copy_from_slice(controller.as_bytes());
        let req = LxcReq::data(cmd::GET_LIMIT_CGROUP_FD, "GET_LIMIT_CGROUP_FD", &s);
        let (a, _) = self.exchange(&req, LXC_TIMEOUT)?;
        if matches!(-a.ret, libc::ENOSYS | libc::EOPNOTSUPP) {
            // An older monitor: only the unified hierarchy's fd.
            let a = self.call(
                &LxcReq::new(cmd::GET_LIMIT_CGROUP2_FD, "GET_LIMIT_CGROUP2_FD"),
                LXC_TIMEOUT,
            )?;
            return self
                .one_fd(a.fds, "GET_LIMIT_CGROUP2_FD")
                .map(|fd| (fd, true));
        }
        if a.ret < 0 {
            return Err(Error::Remote {
                peer: self.peer(),
                message: format!(
                    "GET_LIMIT_CGROUP_FD {controller}: {}",
                    std::io::Error::from_raw_os_error(-a.ret)
                ),
                errno: -a.ret,
            });
        }
        let unified = a
            .data
            .get(8..12)
            .is_some_and(|t| i32::from_ne_bytes([t[0], t[1], t[2], t[3]]) == CGROUP2_SUPER_MAGIC);
        self.one_fd(a.fds, "GET_LIMIT_CGROUP_FD")
            .map(|fd| (fd, unified))
    }

    fn one_fd(&self, fds: Vec<OwnedFd>, what: &str) -> Result<OwnedFd, Error> {
        fds.into_iter().next().ok_or_else(|| Error::Protocol {
            peer: self.peer(),
            message: format!("{what} answered without a file descriptor"),
        })
    }

    /// `lxc-cgroup NAME KEY`: the file's content as it is (LXC prints it unchanged).
    pub fn cgroup_get(&self, key: &str) -> Result<String, Error> {
        let (dir, _) = self.limit_dir(key)?;
        let path = format!("/proc/self/fd/{}/{key}", dir.as_raw_fd());
        std::fs::read_to_string(&path).map_err(|e| self.file_err("read", key, e))
    }

    /// `lxc-cgroup NAME KEY VALUE`.
    pub fn cgroup_set(&self, key: &str, value: &str) -> Result<(), Error> {
        let (dir, _) = self.limit_dir(key)?;
        let path = format!("/proc/self/fd/{}/{key}", dir.as_raw_fd());
        std::fs::write(&path, value).map_err(|e| self.file_err("write", key, e))
    }

    fn file_err(&self, op: &str, key: &str, e: std::io::Error) -> Error {
        Error::Remote {
            peer: self.peer(),
            message: format!("{op} cgroup file {key}: {e}"),
            errno: e.raw_os_error().unwrap_or(libc::EIO),
        }
    }

    /// Tell LXC's state clients (`lxc-wait`) of a state the client brought about
    /// (`SERVE_STATE_CLIENTS`, as LXC's freezer does). Best effort, as in LXC.
    pub fn notify_state(&self, s: State) {
        let req = LxcReq::value(cmd::SERVE_STATE_CLIENTS, "SERVE_STATE_CLIENTS", s as i64);
        if let Err(e) = self.call(&req, LXC_TIMEOUT) {
            tracing::debug!(error = %e, state = s.as_str(), "LXC's state clients not told");
        }
    }

    /// `lxc-freeze` (`freeze`) or `lxc-unfreeze`: write the freezer, wait until it is there
    /// (up to `timeout`), and tell the state clients, as liblxc does.
    pub fn freeze(&self, freeze: bool, timeout: Duration) -> Result<(), Error> {
        let (before, after, undo) = if freeze {
            (State::Freezing, State::Frozen, State::Running)
        } else {
            (State::Thawed, State::Running, State::Frozen)
        };
        // Pure cgroup2: cgroup.freeze; on a v1 or hybrid host the monitor refuses the unified
        // fd and the v1 freezer is written.
        let v2 = self
            .call(
                &LxcReq::new(cmd::GET_LIMIT_CGROUP2_FD, "GET_LIMIT_CGROUP2_FD"),
                LXC_TIMEOUT,
            )
            .ok()
            .and_then(|a| a.fds.into_iter().next());
        let (dir, file, value, done) = match v2 {
            Some(fd) => (
                fd,
                "cgroup.freeze",
                if freeze { "1" } else { "0" },
                if freeze { "frozen 1" } else { "frozen 0" },
            ),
            None => {
                let (fd, _) = self.limit_dir("freezer.state")?;
                let v = if freeze { "FROZEN" } else { "THAWED" };
                (fd, "freezer.state", v, v)
            }
        };
        self.notify_state(before);
        let result = self.write_and_wait(&dir, file, value, done, timeout);
        self.notify_state(if result.is_ok() { after } else { undo });
        result
    }

    fn write_and_wait(
        &self,
        dir: &OwnedFd,
        file: &str,
        value: &str,
        done: &str,
        timeout: Duration,
    ) -> Result<(), Error> {
        let base = format!("/proc/self/fd/{}", dir.as_raw_fd());
        std::fs::write(format!("{base}/{file}"), value)
            .map_err(|e| self.file_err("write", file, e))?;
        // cgroup2 reports in cgroup.events; the v1 freezer in freezer.state itself.
        let watch = if file == "cgroup.freeze" {
            "cgroup.events"
        } else {
            file
        };
        let deadline = Instant::now() + timeout;
        loop {
            let now = std::fs::read_to_string(format!("{base}/{watch}"))
                .map_err(|e| self.file_err("read", watch, e))?;
            if now.lines().any(|l| l.trim() == done) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(Error::Timeout {
                    what: "freezer state",
                    peer: self.peer(),
                    timeout,
                });
            }
            std::thread::sleep(FREEZE_POLL);
        }
    }

    /// `lxc-console`'s tty: the pty master of tty `tty` (-1: the first free one, 0: the
    /// console), its number, and the connection that holds it (closing it frees the tty).
    pub fn tty(&self, tty: i32) -> Result<(OwnedFd, i32, OwnedFd), Error> {
        let req = LxcReq::value(cmd::GET_TTY_FD, "GET_TTY_FD", i64::from(tty));
        let (a, conn) = self.exchange(&req, LXC_TIMEOUT)?;
        if a.ret < 0 || a.fds.is_empty() {
            let why = if a.ret == -libc::EPERM {
                "access denied".to_string()
            } else {
                format!("tty number {tty} invalid, busy or all ttys busy")
            };
            return Err(Error::Remote {
                peer: self.peer(),
                message: format!("GET_TTY_FD: {why}"),
                errno: if a.ret < 0 { -a.ret } else { libc::EBUSY },
            });
        }
        let num = i32::try_from(a.value).unwrap_or(tty);
        let master = self.one_fd(a.fds, "GET_TTY_FD")?;
        Ok((master, num, conn.fd))
    }

    /// A tty held for as long as the read end `watch` of the caller's pipe stays open on the
    /// other side (lxc-rs's console session, see `lxc-console`'s crate): the pty master and
    /// the tty's number. A thread keeps LXC's connection until the caller's end closes.
    pub fn tty_session(&self, tty: i32, watch: BorrowedFd<'_>) -> Result<(OwnedFd, i32), Error> {
        let watch = watch.try_clone_to_owned().map_err(|e| Error::Io {
            op: "dup the console session fd",
            peer: self.peer(),
            source: e,
        })?;
        let (master, num, conn) = self.tty(tty)?;
        std::thread::Builder::new()
            .name("lxc-tty-holder".into())
            .spawn(move || {
                // Readable (EOF) once the caller's write end is closed: then let the tty go.
                let _ = sys::wait_ready(watch.as_fd(), false, None);
                drop(conn);
            })
            .map_err(|e| Error::Io {
                op: "start the tty holder thread",
                peer: self.peer(),
                source: e,
            })?;
        Ok((master, num))
    }

    /// Register as a state client for `states` (`ADD_STATE_CLIENT`): the client and the state
    /// now. LXC answers once, with the first of `states` the container enters; a client made
    /// when the container is in one already has nothing more to hear. `across_reboot`: as
    /// liblxc's `reboot2`, the states are asked with 2, so the client always registers and
    /// a RUNNING asked for is told after a reboot.
    pub fn state_client(
        &self,
        states: &[State],
        across_reboot: bool,
    ) -> Result<(LxcStateClient, State), Error> {
        let mut data = [0u8; 4 * MAX_STATE];
        let mark: i32 = if across_reboot { 2 } else { 1 };
        for s in states {
            let i = *s as usize * 4;
            data[i..i + 4].copy_from_slice(&mark.to_ne_bytes());
        }
        let req = LxcReq::data(cmd::ADD_STATE_CLIENT, "ADD_STATE_CLIENT", &data);
        let (a, conn) = self.exchange(&req, LXC_TIMEOUT)?;
        a.check("ADD_STATE_CLIENT", &self.peer())?;
        // Already there: LXC answers the state and does not keep the client.
        let at_once = usize::try_from(a.ret)
            .ok()
            .filter(|&i| i < MAX_STATE)
            .and_then(|i| State::ALL.get(i).copied());
        let now = match at_once {
            Some(s) => s,
            None => self.state()?,
        };
        Ok((
            LxcStateClient {
                conn,
                peer: self.peer(),
                buf: Vec::with_capacity(STATE_MSG_LEN),
                gone: at_once.is_some(),
            },
            now,
        ))
    }
}

/// A state client of LXC's monitor (see [`LxcMonitor::state_client`]).
#[derive(Debug)]
pub struct LxcStateClient {
    conn: Conn,
    peer: String,
    /// The part of a `struct lxc_msg` read so far.
    buf: Vec<u8>,
    gone: bool,
}

impl LxcStateClient {
    /// The next state, up to `deadline` (`None`: forever); `Ok(None)` when it passed. Once the
    /// monitor closes the connection (it answered, or it has exited), STOPPED.
    pub fn wait(&mut self, deadline: Option<Instant>) -> Result<Option<State>, Error> {
        if self.gone {
            return Ok(Some(State::Stopped));
        }
        let fd = self.conn.fd.as_fd();
        let mut fds = Vec::new();
        while self.buf.len() < STATE_MSG_LEN {
            let ready = sys::wait_ready(fd, false, deadline).map_err(|e| Error::Io {
                op: "poll",
                peer: self.peer.clone(),
                source: e,
            })?;
            if !ready {
                return Ok(None);
            }
            let mut chunk = [0u8; STATE_MSG_LEN];
            let want = STATE_MSG_LEN - self.buf.len();
            match sys::recv_with_fds(fd, &mut chunk[..want], &mut fds) {
                Ok(0) => {
                    self.gone = true;
                    return Ok(Some(State::Stopped));
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => {
                    tracing::debug!(peer = %self.peer, error = %e, "LXC state connection failed: taking the container as stopped");
                    self.gone = true;
                    return Ok(Some(State::Stopped));
                }
            }
        }
        let v = &self.buf[260..264];
        let v = i32::from_ne_bytes([v[0], v[1], v[2], v[3]]);
        self.buf.clear();
        // LXC lets a client go once it has its state.
        self.gone = true;
        usize::try_from(v)
            .ok()
            .and_then(|i| State::ALL.get(i).copied())
            .map(Some)
            .ok_or_else(|| Error::Protocol {
                peer: self.peer.clone(),
                message: format!("a state message with state {v}, which is no LXC state"),
            })
    }
}

impl AsFd for LxcStateClient {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.conn.fd.as_fd()
    }
}

/// A C string in a response's data: up to its first NUL.
fn c_string(data: &[u8]) -> String {
    let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    String::from_utf8_lossy(&data[..end]).into_owned()
}

/// Whether `pid` blocks `sig` (its SigBlk in /proc/PID/status), as liblxc's
/// `task_blocks_signal` checks for systemd's halt signal.
fn blocks_signal(pid: i32, sig: i32) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigBlk:"))
        .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
        .is_some_and(|mask| (1..=64).contains(&sig) && mask & (1u64 << (sig - 1)) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_strings_end_at_nul() {
        assert_eq!(c_string(b"30\0junk"), "30");
        assert_eq!(c_string(b"abc"), "abc");
    }

    #[test]
    fn own_blocked_signals_are_read() {
        // The test harness blocks nothing by default; SIGKILL can never be blocked.
        assert!(!blocks_signal(std::process::id() as i32, libc::SIGKILL));
    }
}
