//! The command socket between clients (the CLI, the API) and a container's monitor.
//!
//! # Address
//!
//! An abstract unix stream socket named `\0lxc-rs/<lxcpath>/<name>/command`. The `lxc-rs/`
//! prefix keeps it apart from LXC's own `\0<lxcpath>/<name>/command`, so an LXC container of
//! the same name never collides with ours. When the name would not fit in `sun_path` (108
//! bytes including the leading NUL), it becomes `\0lxc-rs/<hash>/command`, where `<hash>` is
//! the 64-bit FNV-1a hash of `<lxcpath>/<name>` as 16 hex digits (LXC hashes the same way).
//!
//! # Framing (protocol version 1)
//!
//! Every message is a 12-byte header followed by a body:
//!
//! | bytes | field | value |
//! |---|---|---|
//! | 0..4 | magic | `b"LXRS"` |
//! | 4..6 | version | u16 little endian, [`PROTOCOL_VERSION`] |
//! | 6..8 | kind | u16 little endian: 0 request, 1 response, 2 event |
//! | 8..12 | body length | u32 little endian, at most [`MAX_BODY`] |
//!
//! The body is the JSON (serde_json) encoding of [`Request`], [`Response`] or [`Event`] in
//! serde's default *externally tagged* form: a unit variant is a string (`"GetState"`), any
//! other variant a one-key object (`{"Stop":{"kill":true}}`, `{"InitPid":42}`). File
//! descriptors (at most [`MAX_FDS`]) travel as SCM_RIGHTS on the same `sendmsg` as the header.
//! A peer speaking another magic or version, or announcing a longer body, is refused with a
//! clear error before anything else is read.
//!
//! # Conversation
//!
//! A client connects, sends one request and reads one response; then the connection is done.
//! `AddStateClient` is the exception: its response is the current state, and the connection
//! stays open so that the monitor can send [`Event::State`] for each state change in the
//! requested set, until the client hangs up or the monitor exits.
//!
//! Only root and the uid that owns the container (`<lxcpath>/<name>`) may talk to a monitor:
//! [`Server::accept`] checks SO_PEERCRED and turns anyone else away with
//! `Response::Error { message: "permission denied" }`.
//!
//! Errors are this module's own [`Error`]: every variant names the socket or the peer.
//!
//! # LXC's own socket
//!
//! [`lxc`] is a client for the other side: LXC's `\0<lxcpath>/<name>/command`, spoken in
//! LXC 5.0's binary layout, so lxc-rs can tell that LXC's own tools run a container
//! ([`LxcMonitor::find`]), ask its state and init pid, and control it as liblxc's client does
//! (`lxc_control`: stop, freeze, cgroup files, tty, state clients).
//!
//! [`lxc_server`] is the server side of the same protocol: lxc-rs's monitor listens on LXC's
//! name too, so that LXC's own tools see and drive a container lxc-rs runs. [`LxcMonitor::find`]
//! tells the two apart: a listener that also holds lxc-rs's socket is lxc-rs's monitor.

pub mod body;
mod client;
pub mod lxc;
mod lxc_control;
pub mod lxc_server;
mod proto;
mod server;
pub(crate) mod sys;

use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use client::{call, call_with_fds, is_running, StateClient, DEFAULT_TIMEOUT};
pub use lxc::LxcMonitor;
pub use lxc_control::LxcStateClient;
pub use lxc_server::{LxcClients, LxcHost, LxcServer, Parked};
pub use proto::{encode_request, Event, Request, Response, MAX_BODY, MAX_FDS, PROTOCOL_VERSION};
pub use server::{Conn, Incoming, Server, IDLE_TIMEOUT, REQUEST_TIMEOUT};

/// Size of `sockaddr_un.sun_path`, which holds the leading NUL of an abstract name too.
const SUN_PATH_LEN: usize = 108;

/// The abstract socket name of a container's command socket, leading NUL included.
pub fn socket_name(lxcpath: &Path, name: &str) -> Vec<u8> {
    let mut full = Vec::with_capacity(SUN_PATH_LEN);
    full.extend_from_slice(b"\0lxc-rs/");
    full.extend_from_slice(lxcpath.as_os_str().as_bytes());
    full.push(b'/');
    full.extend_from_slice(name.as_bytes());
    full.extend_from_slice(b"/command");
    if full.len() <= SUN_PATH_LEN {
        return full;
    }
    let mut key = lxcpath.as_os_str().as_bytes().to_vec();
    key.push(b'/');
    key.extend_from_slice(name.as_bytes());
    format!("\0lxc-rs/{:016x}/command", fnv1a_64(&key)).into_bytes()
}

/// 64-bit FNV-1a: what LXC uses to shorten socket names; not a security boundary, only a
/// way to keep distinct containers apart in 108 bytes.
pub(crate) fn fnv1a_64(bytes: &[u8]) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .fold(OFFSET_BASIS, |h, &b| (h ^ u64::from(b)).wrapping_mul(PRIME))
}

/// How a socket name reads in messages: the abstract NUL shown as `@`, like `ss -x` does.
fn display_name(name: &[u8]) -> String {
    let rest = name.strip_prefix(b"\0").unwrap_or(name);
    format!("@{}", String::from_utf8_lossy(rest))
}

/// A listening, non-blocking socket bound to the abstract `addr` of container `name`, and
/// the name as messages show it; `what` names the socket in errors ("command socket", "LXC's
/// command socket"). A name in use is [`Error::AlreadyRunning`]: a monitor listens there.
fn listen_abstract(
    addr: &[u8],
    what: &str,
    lxcpath: &Path,
    name: &str,
) -> Result<(std::os::fd::OwnedFd, String), Error> {
    const BACKLOG: i32 = 128;
    use std::os::fd::AsFd;
    let socket = display_name(addr);
    let io = |op, source| Error::Io {
        op,
        peer: format!("{what} {socket}"),
        source,
    };
    let fd = sys::stream_socket(true).map_err(|e| io("create", e))?;
    if let Err(e) = sys::bind_abstract(fd.as_fd(), addr) {
        if e.raw_os_error() == Some(libc::EADDRINUSE) {
            return Err(Error::AlreadyRunning {
                name: name.to_owned(),
                lxcpath: PathBuf::from(lxcpath),
                socket,
            });
        }
        return Err(io("bind", e));
    }
    sys::listen(fd.as_fd(), BACKLOG).map_err(|e| io("listen", e))?;
    Ok((fd, socket))
}

/// The command socket's errors. Every variant says which socket or which peer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Another monitor already listens on this container's socket.
    #[error("container {name} in {} is already running (command socket {socket} is in use)", .lxcpath.display())]
    AlreadyRunning {
        name: String,
        lxcpath: PathBuf,
        socket: String,
    },

    /// Nobody listens on this container's socket.
    #[error("container {name} in {} is not running (command socket {socket}: {source})", .lxcpath.display())]
    NotRunning {
        name: String,
        lxcpath: PathBuf,
        socket: String,
        source: io::Error,
    },

    #[error("{peer}: {op}: {source}")]
    Io {
        op: &'static str,
        peer: String,
        source: io::Error,
    },

    #[error("{peer}: no {what} within {timeout:?}")]
    Timeout {
        what: &'static str,
        peer: String,
        timeout: Duration,
    },

    #[error("{peer}: connection closed before {what}")]
    Closed { what: &'static str, peer: String },

    /// The peer sent something this protocol does not allow: wrong magic or version, a body
    /// over the limit, JSON that is not a message, a message of the wrong kind.
    #[error("{peer}: protocol error: {message}")]
    Protocol { peer: String, message: String },

    /// The monitor answered with `Response::Error`.
    #[error("{peer}: {message}")]
    Remote {
        peer: String,
        message: String,
        errno: i32,
    },
}

impl Error {
    /// The container's monitor was already listening (from [`Server::bind`]).
    pub fn is_already_running(&self) -> bool {
        matches!(self, Error::AlreadyRunning { .. })
    }

    /// No monitor listens for the container (from the client functions).
    pub fn is_not_running(&self) -> bool {
        matches!(self, Error::NotRunning { .. })
    }

    /// The errno behind an I/O failure (EMFILE from `accept`, ECONNREFUSED from `connect`).
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Error::Io { source, .. } | Error::NotRunning { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }

    /// The errno a C caller would see for this error.
    pub fn errno(&self) -> i32 {
        match self {
            Error::AlreadyRunning { .. } => libc::EEXIST,
            Error::NotRunning { .. } => libc::ENOENT,
            Error::Io { source, .. } => source.raw_os_error().unwrap_or(libc::EIO),
            Error::Timeout { .. } => libc::ETIMEDOUT,
            Error::Closed { .. } => libc::ECONNRESET,
            Error::Protocol { .. } => libc::EPROTO,
            Error::Remote { errno, .. } => *errno,
        }
    }

    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. })
    }

    pub fn is_protocol(&self) -> bool {
        matches!(self, Error::Protocol { .. })
    }

    /// The monitor refused this peer (SO_PEERCRED check).
    pub fn is_permission_denied(&self) -> bool {
        matches!(self, Error::Remote { message, .. } if message == server::PERMISSION_DENIED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_matches_reference_vectors() {
        assert_eq!(fnv1a_64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a_64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a_64(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn short_names_are_spelled_out_long_ones_hashed() {
        let n = socket_name(Path::new("/var/lib/lxc"), "web01");
        assert_eq!(n, b"\0lxc-rs//var/lib/lxc/web01/command");
        let long = "x".repeat(100);
        let n = socket_name(Path::new("/var/lib/lxc"), &long);
        let want = format!(
            "\0lxc-rs/{:016x}/command",
            fnv1a_64(format!("/var/lib/lxc/{long}").as_bytes())
        );
        assert_eq!(n, want.as_bytes());
        assert!(n.len() <= SUN_PATH_LEN);
    }
}
