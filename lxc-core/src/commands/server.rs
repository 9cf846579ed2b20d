//! The monitor's side: a listening socket and the connections it accepts, built for a single
//! threaded poll loop. Nothing here waits for a client longer than [`REQUEST_TIMEOUT`].

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;
use std::time::{Duration, Instant};

use super::proto::{encode, send_frame, FrameReader, Kind, Read};
use super::sys::{self, PeerCred};
use super::{listen_abstract, socket_name, Error, Event, Request, Response};

/// How long a client may take to deliver the rest of a request once the first byte arrived,
/// and to make room for a response.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(1);

/// How long a connection may sit without sending anything before the monitor drops it. Our
/// clients send their request right after connecting; this only bounds idle peers.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) const PERMISSION_DENIED: &str = "permission denied";

/// A container's listening command socket: non-blocking and close-on-exec, for the monitor to
/// poll for readability and then [`accept`](Server::accept).
#[derive(Debug)]
pub struct Server {
    fd: OwnedFd,
    owner_uid: u32,
    socket: String,
}

impl Server {
    /// Listen on the command socket of `name` in `lxcpath`. `owner_uid` is the owner of
    /// `<lxcpath>/<name>`: it and root are the only peers served. Fails with
    /// [`Error::AlreadyRunning`] if a monitor for the container already listens.
    pub fn bind(lxcpath: &Path, name: &str, owner_uid: u32) -> Result<Server, Error> {
        let addr = socket_name(lxcpath, name);
        let (fd, socket) = listen_abstract(&addr, "command socket", lxcpath, name)?;
        tracing::debug!(socket = %socket, owner_uid, "command socket listening");
        Ok(Server {
            fd,
            owner_uid,
            socket,
        })
    }

    /// The socket's name as logs show it (`@lxc-rs/...`).
    pub fn socket_name(&self) -> &str {
        &self.socket
    }

    /// Accept the next authorised connection; `None` when no connection is pending. A peer
    /// that is neither root nor the owner gets `Response::Error { "permission denied" }`, a
    /// warning in the log, and its connection closed; then the next pending one is tried.
    /// An `Err` (EMFILE, ENOBUFS) leaves the connection queued: the listener stays readable,
    /// so a poll loop should back off rather than retry at once.
    pub fn accept(&self) -> Result<Option<Conn>, Error> {
        loop {
            let fd = match sys::accept(self.fd.as_fd()) {
                Ok(Some(fd)) => fd,
                Ok(None) => return Ok(None),
                Err(source) => {
                    return Err(Error::Io {
                        op: "accept",
                        peer: format!("command socket {}", self.socket),
                        source,
                    })
                }
            };
            let cred = match sys::peer_cred(fd.as_fd()) {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(socket = %self.socket, error = %e,
                        "dropping a command connection whose peer credentials are unreadable");
                    continue;
                }
            };
            let mut conn = Conn::new(fd, cred);
            if cred.uid == 0 || cred.uid == self.owner_uid {
                tracing::debug!(peer = %conn.peer, "command connection accepted");
                return Ok(Some(conn));
            }
            tracing::warn!(
                socket = %self.socket,
                pid = cred.pid,
                uid = cred.uid,
                owner_uid = self.owner_uid,
                "refused command connection from pid {} uid {}: only root and the container's owner (uid {}) may send commands",
                cred.pid, cred.uid, self.owner_uid
            );
            // Best effort, never waiting: the socket buffer of a fresh connection is empty.
            let _ = conn.send(
                Kind::Response,
                &Response::error(libc::EACCES, PERMISSION_DENIED),
                &[],
                Duration::ZERO,
            );
        }
    }
}

impl AsFd for Server {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Server {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// What a read that never waits found on a connection.
#[derive(Debug)]
pub enum Incoming {
    /// A whole request, with the file descriptors sent along with it.
    Request(Request, Vec<OwnedFd>),
    /// Nothing yet, or part of a request: poll again.
    Partial,
    /// The client hung up between requests.
    Closed,
}

/// One accepted client connection (non-blocking, close-on-exec). After any error from it the
/// monitor should drop it: the stream may be out of step.
#[derive(Debug)]
pub struct Conn {
    fd: OwnedFd,
    cred: PeerCred,
    peer: String,
    reader: FrameReader,
    /// The last time a request was received or its response sent.
    active: Instant,
    /// A response not yet fully sent, and the fds that go with its first byte.
    out: Vec<u8>,
    out_fds: Vec<OwnedFd>,
}

impl Conn {
    fn new(fd: OwnedFd, cred: PeerCred) -> Conn {
        Conn {
            fd,
            cred,
            peer: format!("command client pid {} uid {}", cred.pid, cred.uid),
            reader: FrameReader::default(),
            active: Instant::now(),
            out: Vec::new(),
            out_fds: Vec::new(),
        }
    }

    /// Who this is, for logs and errors.
    pub fn peer(&self) -> &str {
        &self.peer
    }

    /// When this connection was last served, and when it must be dropped if nothing happens
    /// before: soon when a request or a response is half through, later when it is idle.
    pub fn deadline(&self) -> Instant {
        let busy = !self.out.is_empty() || self.reader.partial();
        self.active + if busy { REQUEST_TIMEOUT } else { IDLE_TIMEOUT }
    }

    /// The last time this connection was served.
    pub fn last_active(&self) -> Instant {
        self.active
    }

    /// Whether a response is still waiting for room in the socket buffer: poll for POLLOUT
    /// and [`flush`](Conn::flush), and read no further request meanwhile.
    pub fn wants_write(&self) -> bool {
        !self.out.is_empty()
    }

    /// Read what has arrived, never waiting. A partial request stays buffered for the next
    /// call, so a slow client stalls nobody. A malformed request is answered with
    /// `Response::Error` (best effort) and returned as an error.
    pub fn try_request(&mut self) -> Result<Incoming, Error> {
        let frame = match self
            .reader
            .read(self.fd.as_fd(), Some(Instant::now()), &self.peer)
        {
            Ok(Read::Frame(f)) => f,
            Ok(Read::Eof) => return Ok(Incoming::Closed),
            Ok(Read::TimedOut) => return Ok(Incoming::Partial),
            Err(e) => {
                self.refuse(&e);
                return Err(e);
            }
        };
        self.active = Instant::now();
        match frame.decode::<Request>(Kind::Request, &self.peer) {
            Ok(r) => {
                tracing::debug!(peer = %self.peer, request = r.name(), fds = frame.fds.len(), "command request");
                Ok(Incoming::Request(r, frame.fds))
            }
            Err(e) => {
                self.refuse(&e);
                Err(e)
            }
        }
    }

    /// Queue a response with `fds` attached and send what fits now. Returns true when all of
    /// it went out; otherwise poll for POLLOUT and call [`flush`](Conn::flush).
    pub fn queue_response(&mut self, r: &Response, fds: Vec<OwnedFd>) -> Result<bool, Error> {
        if fds.len() > super::MAX_FDS {
            return Err(Error::Protocol {
                peer: self.peer.clone(),
                message: format!(
                    "{} file descriptors in one message (at most {})",
                    fds.len(),
                    super::MAX_FDS
                ),
            });
        }
        self.out = encode(Kind::Response, r, &self.peer)?;
        self.out_fds = fds;
        self.active = Instant::now();
        self.flush()
    }

    /// Send as much of a queued response as the socket takes, never waiting. True when
    /// nothing is left.
    pub fn flush(&mut self) -> Result<bool, Error> {
        while !self.out.is_empty() {
            let attach: Vec<BorrowedFd<'_>> = self.out_fds.iter().map(|f| f.as_fd()).collect();
            match sys::send_with_fds(self.fd.as_fd(), &self.out, &attach) {
                Ok(n) => {
                    drop(attach);
                    self.out_fds.clear();
                    self.out.drain(..n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(false),
                Err(source) => {
                    return Err(Error::Io {
                        op: "send",
                        peer: self.peer.clone(),
                        source,
                    })
                }
            }
        }
        self.active = Instant::now();
        Ok(true)
    }

    pub fn peer_pid(&self) -> i32 {
        self.cred.pid
    }

    pub fn peer_uid(&self) -> u32 {
        self.cred.uid
    }

    pub fn peer_gid(&self) -> u32 {
        self.cred.gid
    }

    /// Read one request; call it when poll reports the connection readable. Waits at most
    /// [`REQUEST_TIMEOUT`] for the rest of a started request. `None` when the client closed
    /// the connection. A malformed request is answered with `Response::Error` (best effort)
    /// and returned as an error. File descriptors sent along with a request are closed.
    pub fn read_request(&mut self) -> Result<Option<Request>, Error> {
        let deadline = Instant::now() + REQUEST_TIMEOUT;
        let frame = match self
            .reader
            .read(self.fd.as_fd(), Some(deadline), &self.peer)
        {
            Ok(Read::Frame(f)) => f,
            Ok(Read::Eof) => return Ok(None),
            Ok(Read::TimedOut) => {
                return Err(Error::Timeout {
                    what: "complete request",
                    peer: self.peer.clone(),
                    timeout: REQUEST_TIMEOUT,
                })
            }
            Err(e) => {
                self.refuse(&e);
                return Err(e);
            }
        };
        match frame.decode::<Request>(Kind::Request, &self.peer) {
            Ok(r) => {
                tracing::debug!(peer = %self.peer, request = r.name(), "command request");
                Ok(Some(r))
            }
            Err(e) => {
                self.refuse(&e);
                Err(e)
            }
        }
    }

    fn refuse(&mut self, e: &Error) {
        tracing::warn!(error = %e, "bad command request");
        let _ = self.send(
            Kind::Response,
            &Response::error(libc::EINVAL, e.to_string()),
            &[],
            Duration::ZERO,
        );
    }

    /// Answer a request, with `fds` attached (e.g. the init pidfd for `InitPidfd`).
    pub fn respond(&mut self, r: &Response, fds: &[BorrowedFd<'_>]) -> Result<(), Error> {
        self.send(Kind::Response, r, fds, REQUEST_TIMEOUT)
    }

    /// Send a state event to a state client. Never waits: a client whose socket buffer is
    /// full gets an error, and the monitor should drop it.
    pub fn send_event(&mut self, e: &Event) -> Result<(), Error> {
        self.send(Kind::Event, e, &[], Duration::ZERO)
    }

    fn send<T: serde::Serialize>(
        &mut self,
        kind: Kind,
        msg: &T,
        fds: &[BorrowedFd<'_>],
        wait: Duration,
    ) -> Result<(), Error> {
        let frame = encode(kind, msg, &self.peer)?;
        let deadline = Instant::now() + wait;
        if send_frame(self.fd.as_fd(), &frame, fds, Some(deadline), &self.peer)? {
            Ok(())
        } else {
            Err(Error::Timeout {
                what: "room in the socket buffer",
                peer: self.peer.clone(),
                timeout: wait,
            })
        }
    }
}

impl AsFd for Conn {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Conn {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}
