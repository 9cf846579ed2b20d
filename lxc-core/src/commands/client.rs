//! The client's side: one request per connection ([`call`]), or a connection that stays open
//! for state events ([`StateClient`]).
//!
//! Timeouts are deadlines over the whole exchange (connect, send, receive): all I/O is
//! non-blocking and waits in poll(2) for what is left of the deadline, rather than a per-call
//! SO_RCVTIMEO that a trickling peer could renew forever. SO_SNDTIMEO bounds `connect`,
//! which waits while the monitor's backlog is full.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::proto::{encode, send_frame, FrameReader, Kind, Read};
use super::{display_name, socket_name, sys, Error, Event, Request, Response};
use crate::state::State;

/// How long [`StateClient::new`] waits for the monitor; a sensible value for [`call`] too.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug)]
struct Client {
    fd: OwnedFd,
    peer: String,
    reader: FrameReader,
}

impl Client {
    fn connect(lxcpath: &Path, name: &str, timeout: Duration) -> Result<Client, Error> {
        let addr = socket_name(lxcpath, name);
        let socket = display_name(&addr);
        let peer = format!("container {name} ({socket})");
        let io = |op, source| Error::Io {
            op,
            peer: peer.clone(),
            source,
        };
        let fd = sys::stream_socket(false).map_err(|e| io("create socket", e))?;
        sys::set_send_timeout(fd.as_fd(), timeout).map_err(|e| io("set SO_SNDTIMEO", e))?;
        match sys::connect_abstract(fd.as_fd(), &addr) {
            Ok(()) => {}
            Err(e) if matches!(e.raw_os_error(), Some(libc::ECONNREFUSED | libc::ENOENT)) => {
                return Err(Error::NotRunning {
                    name: name.to_owned(),
                    lxcpath: PathBuf::from(lxcpath),
                    socket,
                    source: e,
                })
            }
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {
                return Err(Error::Timeout {
                    what: "connection (the monitor's backlog is full)",
                    peer,
                    timeout,
                })
            }
            Err(e) => return Err(io("connect", e)),
        }
        Ok(Client {
            fd,
            peer,
            reader: FrameReader::default(),
        })
    }

    fn request(
        &mut self,
        req: &Request,
        fds: &[BorrowedFd<'_>],
        deadline: Instant,
        timeout: Duration,
    ) -> Result<(Response, Vec<OwnedFd>), Error> {
        let frame = encode(Kind::Request, req, &self.peer)?;
        let send_failed = match send_frame(self.fd.as_fd(), &frame, fds, Some(deadline), &self.peer)
        {
            Ok(true) => None,
            Ok(false) => {
                return Err(Error::Timeout {
                    what: "room to send the request",
                    peer: self.peer.clone(),
                    timeout,
                })
            }
            // A monitor that refuses us answers and hangs up, maybe before our request went
            // out: its answer is still waiting to be read, and says more than EPIPE.
            Err(e @ Error::Closed { .. }) => Some(e),
            Err(e) => return Err(e),
        };
        match self
            .reader
            .read(self.fd.as_fd(), Some(deadline), &self.peer)?
        {
            Read::Frame(f) => {
                let r = f.decode::<Response>(Kind::Response, &self.peer)?;
                tracing::debug!(peer = %self.peer, request = req.name(), response = ?r, fds = f.fds.len(), "command answered");
                Ok((r, f.fds))
            }
            Read::Eof => Err(send_failed.unwrap_or(Error::Closed {
                what: "a response arrived",
                peer: self.peer.clone(),
            })),
            Read::TimedOut => Err(Error::Timeout {
                what: "response",
                peer: self.peer.clone(),
                timeout,
            }),
        }
    }
}

/// Send `req` to the monitor of `name` in `lxcpath` and return its response with the fds
/// that came with it (close-on-exec). `timeout` bounds the whole exchange. A monitor that is
/// not there gives [`Error::NotRunning`] (see [`Error::is_not_running`]); a
/// `Response::Error` is returned as a response, not as an `Err`.
pub fn call(
    lxcpath: &Path,
    name: &str,
    req: &Request,
    timeout: Duration,
) -> Result<(Response, Vec<OwnedFd>), Error> {
    call_with_fds(lxcpath, name, req, &[], timeout)
}

/// [`call`], with `fds` (at most [`MAX_FDS`](super::MAX_FDS)) sent along with the request:
/// the handler gets them (an fd to write into, a pty to serve).
pub fn call_with_fds(
    lxcpath: &Path,
    name: &str,
    req: &Request,
    fds: &[BorrowedFd<'_>],
    timeout: Duration,
) -> Result<(Response, Vec<OwnedFd>), Error> {
    let deadline = Instant::now() + timeout;
    let mut c = Client::connect(lxcpath, name, timeout)?;
    c.request(req, fds, deadline, timeout)
}

/// Whether a monitor listens for `name` in `lxcpath`: a connect, nothing sent.
pub fn is_running(lxcpath: &Path, name: &str) -> bool {
    match Client::connect(lxcpath, name, Duration::from_millis(100)) {
        Ok(_) => true,
        // A full backlog still means someone listens.
        Err(e) => e.is_timeout(),
    }
}

/// A connection registered with `AddStateClient`: the monitor sends an event on it for every
/// change into one of the states asked for. Poll its fd, or call [`wait`](StateClient::wait).
/// A state client of LXC's own monitor ([`StateClient::lxc`]) hears only the first such
/// change: LXC lets its clients go once answered.
#[derive(Debug)]
pub struct StateClient {
    source: Source,
    gone: bool,
    /// The cause the monitor sent with [`Event::Failed`], if it sent one.
    failure: Option<String>,
}

impl StateClient {
    /// Register for `states` and return the client with the container's current state.
    pub fn new(
        lxcpath: &Path,
        name: &str,
        states: &[State],
    ) -> Result<(StateClient, State), Error> {
        Self::with_timeout(lxcpath, name, states, DEFAULT_TIMEOUT)
    }

    /// [`new`](StateClient::new) with a timeout for the registration.
    pub fn with_timeout(
        lxcpath: &Path,
        name: &str,
        states: &[State],
        timeout: Duration,
    ) -> Result<(StateClient, State), Error> {
        let deadline = Instant::now() + timeout;
        let mut client = Client::connect(lxcpath, name, timeout)?;
        let req = Request::AddStateClient {
            states: states.to_vec(),
        };
        let (resp, _fds) = client.request(&req, &[], deadline, timeout)?;
        match resp {
            Response::State(s) => Ok((
                StateClient {
                    source: Source::Ours(client),
                    gone: false,
                    failure: None,
                },
                s,
            )),
            Response::Error { message, errno } => Err(Error::Remote {
                peer: client.peer,
                message,
                errno,
            }),
            other => Err(Error::Protocol {
                peer: client.peer,
                message: format!("AddStateClient answered with {other:?}, expected a state"),
            }),
        }
    }

    /// Wait for the next state event, up to `timeout` (`None`: forever). `Ok(None)` when the
    /// timeout passed; a wait that times out in the middle of an event resumes it next time.
    /// When the monitor goes away the container has stopped: that, and every later call,
    /// gives `Some(State::Stopped)`.
    pub fn wait(&mut self, timeout: Option<Duration>) -> Result<Option<State>, Error> {
        if self.gone {
            return Ok(Some(State::Stopped));
        }
        let deadline = timeout.map(|t| Instant::now() + t);
        let c = match &mut self.source {
            Source::Ours(c) => c,
            Source::Lxc(l) => return l.wait(deadline),
        };
        loop {
            match c.reader.read(c.fd.as_fd(), deadline, &c.peer) {
                Ok(Read::Frame(f)) => match f.decode::<Event>(Kind::Event, &c.peer)? {
                    Event::State(s) => return Ok(Some(s)),
                    // Kept for `failure()`; the state that follows it is the answer.
                    Event::Failed { message } => {
                        tracing::debug!(peer = %c.peer, %message, "the monitor reports a failed start");
                        self.failure = Some(message);
                    }
                },
                Ok(Read::TimedOut) => return Ok(None),
                Ok(Read::Eof) => {
                    tracing::debug!(peer = %c.peer, "monitor closed the state connection");
                    self.gone = true;
                    return Ok(Some(State::Stopped));
                }
                Err(e @ Error::Io { .. }) => {
                    tracing::debug!(error = %e, "state connection failed: taking the container as stopped");
                    self.gone = true;
                    return Ok(Some(State::Stopped));
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// Who a [`StateClient`] listens to.
#[derive(Debug)]
enum Source {
    Ours(Client),
    Lxc(super::LxcStateClient),
}

impl StateClient {
    /// A state client of LXC's own monitor of the container, for `states`, and the state now
    /// (see [`LxcMonitor::state_client`](super::LxcMonitor::state_client) for `across_reboot`).
    pub fn lxc(
        monitor: &super::LxcMonitor,
        states: &[State],
        across_reboot: bool,
    ) -> Result<(StateClient, State), Error> {
        let (l, now) = monitor.state_client(states, across_reboot)?;
        Ok((
            StateClient {
                source: Source::Lxc(l),
                gone: false,
                failure: None,
            },
            now,
        ))
    }

    /// Why the monitor's own start of the container (a reboot's) failed, once [`wait`]
    /// has read the monitor's report of it.
    ///
    /// [`wait`]: StateClient::wait
    pub fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }
}

impl AsFd for StateClient {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match &self.source {
            Source::Ours(c) => c.fd.as_fd(),
            Source::Lxc(l) => l.as_fd(),
        }
    }
}

impl AsRawFd for StateClient {
    fn as_raw_fd(&self) -> RawFd {
        self.as_fd().as_raw_fd()
    }
}
