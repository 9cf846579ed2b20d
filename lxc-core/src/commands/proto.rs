//! Messages and framing (see the module docs of `commands` for the wire format).

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::time::Instant;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{sys, Error};
use crate::state::State;

/// The protocol version this build speaks; a peer with another one is refused.
pub const PROTOCOL_VERSION: u16 = 1;
/// Largest body accepted or sent, in bytes. Bigger announcements are refused unread.
pub const MAX_BODY: usize = 1 << 20;
/// Most file descriptors one message may carry.
pub const MAX_FDS: usize = 16;

const MAGIC: [u8; 4] = *b"LXRS";
pub(crate) const HEADER_LEN: usize = 12;

/// What a client asks the monitor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    GetState,
    GetInitPid,
    /// Answered by `Response::InitPidfd` with the pidfd attached.
    GetInitPidfd,
    /// Stop the container: `kill` sends SIGKILL to init instead of the configured halt signal.
    Stop {
        kill: bool,
    },
    Shutdown,
    GetConfigItem {
        key: String,
    },
    /// Become a state client: the answer is the current state, then one [`Event::State`] per
    /// change into one of `states`, on the same connection.
    AddStateClient {
        states: Vec<State>,
    },
    GetCgroupPaths,
    Freeze,
    Unfreeze,
    Reboot,
    /// A request answered by an extension; `name` is the extension's request name.
    Ext {
        name: String,
        body: Vec<u8>,
    },
}

impl Request {
    /// The variant's name, for logs and spans.
    pub fn name(&self) -> &'static str {
        match self {
            Request::GetState => "GetState",
            Request::GetInitPid => "GetInitPid",
            Request::GetInitPidfd => "GetInitPidfd",
            Request::Stop { .. } => "Stop",
            Request::Shutdown => "Shutdown",
            Request::GetConfigItem { .. } => "GetConfigItem",
            Request::AddStateClient { .. } => "AddStateClient",
            Request::GetCgroupPaths => "GetCgroupPaths",
            Request::Freeze => "Freeze",
            Request::Unfreeze => "Unfreeze",
            Request::Reboot => "Reboot",
            Request::Ext { .. } => "Ext",
        }
    }
}

/// What the monitor answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    Ok,
    State(State),
    InitPid(i32),
    /// The pidfd of the container's init travels as the message's one attached fd.
    InitPidfd,
    ConfigItem(String),
    CgroupPaths(Vec<String>),
    /// A failed request: what went wrong and the errno behind it (`EINVAL` for a bad
    /// request, `EACCES` for a refused peer, the kernel's errno for a failed call).
    Error {
        message: String,
        #[serde(default)]
        errno: i32,
    },
    Ext(Vec<u8>),
}

impl Response {
    pub fn error(errno: i32, message: impl Into<String>) -> Response {
        Response::Error {
            message: message.into(),
            errno,
        }
    }
}

/// What the monitor sends, unasked, to state clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    State(State),
    /// A start the monitor ran on its own (a reboot's) failed; STOPPED follows. Sent to every
    /// state client, whatever states it asked for, so a reboot2 waiter can say why.
    Failed {
        message: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Request = 0,
    Response = 1,
    Event = 2,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Request => "request",
            Kind::Response => "response",
            Kind::Event => "event",
        }
    }
}

/// Header and JSON body of one message, ready for [`send_frame`].
pub(crate) fn encode<T: Serialize>(kind: Kind, msg: &T, peer: &str) -> Result<Vec<u8>, Error> {
    let mut out = vec![0u8; HEADER_LEN];
    serde_json::to_writer(&mut out, msg).map_err(|e| Error::Protocol {
        peer: peer.to_owned(),
        message: format!("cannot encode {}: {e}", kind.name()),
    })?;
    let body_len = out.len() - HEADER_LEN;
    if body_len > MAX_BODY {
        return Err(Error::Protocol {
            peer: peer.to_owned(),
            message: format!(
                "{} of {body_len} bytes exceeds the {MAX_BODY}-byte limit",
                kind.name()
            ),
        });
    }
    out[0..4].copy_from_slice(&MAGIC);
    out[4..6].copy_from_slice(&PROTOCOL_VERSION.to_le_bytes());
    out[6..8].copy_from_slice(&(kind as u16).to_le_bytes());
    // Cannot truncate: body_len <= MAX_BODY < u32::MAX.
    out[8..12].copy_from_slice(&(body_len as u32).to_le_bytes());
    Ok(out)
}

/// A request's whole frame (header and body), for a sender that must not allocate when it
/// sends (an attached process after a fork): encode before, `sendmsg` the bytes after.
pub fn encode_request(req: &Request) -> Result<Vec<u8>, Error> {
    encode(Kind::Request, req, "request")
}

fn parse_header(h: &[u8], peer: &str) -> Result<(Kind, usize), Error> {
    let protocol = |message: String| Error::Protocol {
        peer: peer.to_owned(),
        message,
    };
    if h[0..4] != MAGIC {
        return Err(protocol(format!(
            "bad magic {:?} (expected {:?}): not an lxc-rs command socket peer",
            String::from_utf8_lossy(&h[0..4]),
            String::from_utf8_lossy(&MAGIC)
        )));
    }
    let version = u16::from_le_bytes([h[4], h[5]]);
    if version != PROTOCOL_VERSION {
        return Err(protocol(format!(
            "unsupported protocol version {version} (this build speaks {PROTOCOL_VERSION})"
        )));
    }
    let kind = match u16::from_le_bytes([h[6], h[7]]) {
        0 => Kind::Request,
        1 => Kind::Response,
        2 => Kind::Event,
        k => return Err(protocol(format!("unknown message kind {k}"))),
    };
    let len = u32::from_le_bytes([h[8], h[9], h[10], h[11]]) as usize;
    if len > MAX_BODY {
        return Err(protocol(format!(
            "{} body of {len} bytes exceeds the {MAX_BODY}-byte limit",
            kind.name()
        )));
    }
    Ok((kind, len))
}

/// Send a whole encoded frame, `fds` attached to its first byte, waiting for buffer space
/// until `deadline` (`Some(now)`: not at all). Returns false if the deadline passed first;
/// then part of the frame may be sent, and the connection is no longer usable.
pub(crate) fn send_frame(
    fd: BorrowedFd<'_>,
    frame: &[u8],
    fds: &[BorrowedFd<'_>],
    deadline: Option<Instant>,
    peer: &str,
) -> Result<bool, Error> {
    if fds.len() > MAX_FDS {
        return Err(Error::Protocol {
            peer: peer.to_owned(),
            message: format!(
                "{} file descriptors in one message (at most {MAX_FDS})",
                fds.len()
            ),
        });
    }
    let mut sent = 0;
    while sent < frame.len() {
        let attach = if sent == 0 { fds } else { &[] };
        match sys::send_with_fds(fd, &frame[sent..], attach) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let ready = sys::wait_ready(fd, true, deadline).map_err(|source| Error::Io {
                    op: "wait to send",
                    peer: peer.to_owned(),
                    source,
                })?;
                if !ready {
                    return Ok(false);
                }
            }
            Err(e) if is_hangup(&e) => {
                return Err(Error::Closed {
                    what: "the message was sent",
                    peer: peer.to_owned(),
                })
            }
            Err(source) => {
                return Err(Error::Io {
                    op: "send",
                    peer: peer.to_owned(),
                    source,
                })
            }
        }
    }
    Ok(true)
}

fn is_hangup(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EPIPE) | Some(libc::ECONNRESET))
}

/// One received message: its kind, its JSON body and the fds that came with it.
#[derive(Debug)]
pub(crate) struct Frame {
    pub kind: Kind,
    pub body: Vec<u8>,
    pub fds: Vec<OwnedFd>,
}

impl Frame {
    pub(crate) fn decode<T: DeserializeOwned>(&self, want: Kind, peer: &str) -> Result<T, Error> {
        if self.kind != want {
            return Err(Error::Protocol {
                peer: peer.to_owned(),
                message: format!("expected a {}, got a {}", want.name(), self.kind.name()),
            });
        }
        serde_json::from_slice(&self.body).map_err(|e| Error::Protocol {
            peer: peer.to_owned(),
            message: format!("not a valid {}: {e}", want.name()),
        })
    }
}

pub(crate) enum Read {
    Frame(Frame),
    /// The peer closed the connection between messages.
    Eof,
    TimedOut,
}

/// Reads frames from a stream, keeping a partial frame across timeouts so that a later call
/// resumes where the last one stopped.
#[derive(Debug, Default)]
pub(crate) struct FrameReader {
    buf: Vec<u8>,
    fds: Vec<OwnedFd>,
    header: Option<(Kind, usize)>,
}

impl FrameReader {
    /// Read until one whole frame arrived, the peer closed, or `deadline` passed (`None`:
    /// wait forever). Never reads past the end of the frame, so the next frame's fds stay
    /// with the next frame.
    pub(crate) fn read(
        &mut self,
        fd: BorrowedFd<'_>,
        deadline: Option<Instant>,
        peer: &str,
    ) -> Result<Read, Error> {
        loop {
            let want = HEADER_LEN + self.header.map_or(0, |(_, len)| len);
            if let Some((kind, _)) = self.header {
                if self.buf.len() == want {
                    let mut body = std::mem::take(&mut self.buf);
                    body.drain(..HEADER_LEN);
                    self.header = None;
                    return Ok(Read::Frame(Frame {
                        kind,
                        body,
                        fds: std::mem::take(&mut self.fds),
                    }));
                }
            }
            let start = self.buf.len();
            self.buf.resize(want, 0);
            let got = sys::recv_with_fds(fd, &mut self.buf[start..], &mut self.fds);
            let n = match got {
                Ok(n) => n,
                Err(e) => {
                    self.buf.truncate(start);
                    if e.kind() == io::ErrorKind::WouldBlock {
                        let ready =
                            sys::wait_ready(fd, false, deadline).map_err(|source| Error::Io {
                                op: "wait to receive",
                                peer: peer.to_owned(),
                                source,
                            })?;
                        if !ready {
                            return Ok(Read::TimedOut);
                        }
                        continue;
                    }
                    if is_hangup(&e) {
                        0
                    } else {
                        return Err(Error::Io {
                            op: "receive",
                            peer: peer.to_owned(),
                            source: e,
                        });
                    }
                }
            };
            self.buf.truncate(start + n);
            if n == 0 {
                if start == 0 && self.fds.is_empty() {
                    return Ok(Read::Eof);
                }
                self.reset();
                return Err(Error::Protocol {
                    peer: peer.to_owned(),
                    message: format!("connection closed after {start} bytes of a message"),
                });
            }
            if self.header.is_none() && self.buf.len() == HEADER_LEN {
                match parse_header(&self.buf, peer) {
                    Ok(h) => self.header = Some(h),
                    Err(e) => {
                        self.reset();
                        return Err(e);
                    }
                }
            }
        }
    }

    /// Whether part of a frame has arrived and the rest not yet.
    pub(crate) fn partial(&self) -> bool {
        !self.buf.is_empty() || !self.fds.is_empty()
    }

    fn reset(&mut self) {
        *self = FrameReader::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip_and_rejections() {
        let f = encode(Kind::Request, &Request::Stop { kill: true }, "t").unwrap();
        assert_eq!(&f[0..4], b"LXRS");
        let (kind, len) = parse_header(&f[..HEADER_LEN], "t").unwrap();
        assert_eq!(kind, Kind::Request);
        assert_eq!(len, f.len() - HEADER_LEN);
        assert_eq!(&f[HEADER_LEN..], br#"{"Stop":{"kill":true}}"#);

        let mut bad = f.clone();
        bad[0] = b'X';
        assert!(parse_header(&bad[..HEADER_LEN], "t")
            .unwrap_err()
            .to_string()
            .contains("bad magic"));
        let mut bad = f.clone();
        bad[4] = 2;
        assert!(parse_header(&bad[..HEADER_LEN], "t")
            .unwrap_err()
            .to_string()
            .contains("version 2"));
        let mut bad = f;
        bad[8..12].copy_from_slice(&(MAX_BODY as u32 + 1).to_le_bytes());
        assert!(parse_header(&bad[..HEADER_LEN], "t")
            .unwrap_err()
            .to_string()
            .contains("limit"));
    }

    #[test]
    fn json_shape_is_externally_tagged() {
        let j = |r: &Response| serde_json::to_string(r).unwrap();
        assert_eq!(j(&Response::Ok), r#""Ok""#);
        assert_eq!(j(&Response::InitPid(7)), r#"{"InitPid":7}"#);
        assert_eq!(
            j(&Response::State(State::Running)),
            r#"{"State":"Running"}"#
        );
        assert_eq!(
            serde_json::to_string(&Request::GetState).unwrap(),
            r#""GetState""#
        );
    }
}
