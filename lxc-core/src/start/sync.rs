//! The monitor ↔ child channel of one start, over a SOCK_SEQPACKET pair: one JSON message per
//! packet, file descriptors attached as SCM_RIGHTS. The child's end is CLOEXEC, so a
//! successful exec of init reads as end of stream on the monitor's side.
//!
//! The conversation: `Go` (monitor: host setup done) → the child's mounts → `PhaseDone` →
//! the monitor's `PostMounts` hooks → `Continue` → pivot and final setup → `Ready` → the
//! monitor's `PreExec` hooks → `Exec`. At any point before `Ready` a child-side hook may hand
//! the monitor fds (`Fds`) or ask it for work (`Ask`, answered by `Answer` or `Refused`),
//! through the [`ChildLink`] in its state.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use serde::{Deserialize, Serialize};

use crate::commands::sys::{recv_with_fds_blocking, send_with_fds_blocking};
use crate::error::Error;
use crate::phase::{Phase, StateMap};

/// The largest message: a packet is read whole, and a longer one would be cut.
pub const MAX_MESSAGE: usize = 64 * 1024;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Msg {
    /// Monitor → child: host-side setup is done (maps written, cgroups attached).
    Go,
    /// Child → monitor: the child's `phase` is done; the monitor runs its hooks for what
    /// follows and answers `Continue`. Sent only when a monitor hook of that boundary is
    /// linked. `handed`: the fds attached, as (tag, count) in order.
    PhaseDone {
        phase: String,
        handed: Vec<(String, usize)>,
    },
    /// Monitor → child: go on.
    Continue,
    /// Child → monitor: fds for the monitor's hooks, as (tag, count) in the order attached.
    Fds { handed: Vec<(String, usize)> },
    /// Child → monitor: run the start request `request` (see `registry::START_REQUESTS`).
    Ask { request: String, body: Vec<u8> },
    /// Monitor → child: what the request returned, its fds attached.
    Answer { body: Vec<u8> },
    /// Monitor → child: the request failed.
    Refused { message: String },
    /// Child → monitor: everything is set up; about to exec init. `handed`: fds attached
    /// (those child hooks gave since the last message), as (tag, count).
    Ready { handed: Vec<(String, usize)> },
    /// Monitor → child: start-host hooks ran; exec now.
    Exec,
    /// Child → monitor: a step failed.
    Failed {
        phase: String,
        owner: String,
        key: Option<String>,
        message: String,
    },
}

pub struct Channel {
    fd: OwnedFd,
}

impl Channel {
    pub fn new(fd: OwnedFd) -> Self {
        Channel { fd }
    }

    pub fn send(&self, msg: &Msg) -> io::Result<()> {
        self.send_with(msg, &[])
    }

    /// Send `msg` with `fds` attached (at most [`crate::commands::MAX_FDS`]).
    pub fn send_with(&self, msg: &Msg, fds: &[BorrowedFd<'_>]) -> io::Result<()> {
        let buf = serde_json::to_vec(msg).map_err(io::Error::other)?;
        if buf.len() > MAX_MESSAGE {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "start message of {} bytes (at most {MAX_MESSAGE})",
                    buf.len()
                ),
            ));
        }
        // A seqpacket send is all or nothing.
        send_with_fds_blocking(self.fd.as_fd(), &buf, fds).map(drop)
    }

    /// The next message, or `None` when the peer closed its end (init exec'd, or it died).
    /// Fds that came with it are closed.
    pub fn recv(&self) -> io::Result<Option<Msg>> {
        Ok(self.recv_with()?.map(|(m, _)| m))
    }

    /// The next message and the fds that came with it (close-on-exec).
    pub fn recv_with(&self) -> io::Result<Option<(Msg, Vec<OwnedFd>)>> {
        let mut buf = vec![0u8; MAX_MESSAGE];
        let mut fds = Vec::new();
        let n = recv_with_fds_blocking(self.fd.as_fd(), &mut buf, &mut fds)?;
        if n == 0 {
            return Ok(None);
        }
        serde_json::from_slice(&buf[..n])
            .map(|m| Some((m, fds)))
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    pub fn fd(&self) -> &OwnedFd {
        &self.fd
    }

    fn try_clone(&self) -> io::Result<Channel> {
        Ok(Channel {
            fd: self.fd.try_clone()?,
        })
    }
}

/// The child's end of the start channel, in the child's [`StateMap`] while its phases run:
/// how a child-side hook hands the monitor fds or asks it for work.
pub struct ChildLink {
    chan: Channel,
    name: String,
    /// Fds handed over but not sent yet: they ride on the child's next message to the monitor
    /// (each message of its own would cost the monitor a wake-up).
    pending: std::sync::Mutex<Vec<(String, Vec<OwnedFd>)>>,
}

/// The fds of `pending` as one message's attachment: (tag, count) and the fds in order.
pub(crate) fn bundle(pending: Vec<(String, Vec<OwnedFd>)>) -> (Vec<(String, usize)>, Vec<OwnedFd>) {
    let mut handed = Vec::new();
    let mut fds = Vec::new();
    for (tag, f) in pending {
        handed.push((tag, f.len()));
        fds.extend(f);
    }
    (handed, fds)
}

impl ChildLink {
    pub(crate) fn new(chan: &Channel, name: &str) -> io::Result<ChildLink> {
        Ok(ChildLink {
            chan: chan.try_clone()?,
            name: name.to_string(),
            pending: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// The fds handed over and not sent yet.
    pub(crate) fn take_pending(&self) -> Vec<(String, Vec<OwnedFd>)> {
        match self.pending.lock() {
            Ok(mut p) => std::mem::take(&mut *p),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        }
    }

    /// Send what is pending now, in messages of at most `MAX_FDS` fds.
    fn flush(&self) -> Result<(), Error> {
        let pending = self.take_pending();
        if pending.is_empty() {
            return Ok(());
        }
        send_handed(&self.chan, pending, |handed| Msg::Fds { handed })
            .map_err(self.err("send fds to the monitor"))
    }

    fn err(&self, op: &'static str) -> impl Fn(io::Error) -> Error + '_ {
        move |source| Error::Sys {
            name: self.name.clone(),
            op,
            source,
        }
    }

    /// Give the monitor `fds` under `tag` (copies; they travel with the child's next message,
    /// before the monitor's next phase); a monitor-side hook takes them with [`take_fds`].
    pub fn send_fds(&self, tag: &str, fds: &[BorrowedFd<'_>]) -> Result<(), Error> {
        let copies = fds
            .iter()
            .map(|f| f.try_clone_to_owned())
            .collect::<io::Result<Vec<_>>>()
            .map_err(self.err("copy fds for the monitor"))?;
        match self.pending.lock() {
            Ok(mut p) => p.push((tag.to_string(), copies)),
            Err(poisoned) => poisoned.into_inner().push((tag.to_string(), copies)),
        }
        Ok(())
    }

    /// Run the start request `request` in the monitor and wait for its answer.
    pub fn ask(
        &self,
        request: &str,
        body: &[u8],
        fds: &[BorrowedFd<'_>],
    ) -> Result<(Vec<u8>, Vec<OwnedFd>), Error> {
        // What was handed over before the question is the monitor's before it answers.
        self.flush()?;
        let msg = Msg::Ask {
            request: request.to_string(),
            body: body.to_vec(),
        };
        self.chan
            .send_with(&msg, fds)
            .map_err(self.err("ask the monitor"))?;
        match self
            .chan
            .recv_with()
            .map_err(self.err("read the monitor's answer"))?
        {
            Some((Msg::Answer { body }, fds)) => Ok((body, fds)),
            Some((Msg::Refused { message }, _)) => Err(Error::Start {
                name: self.name.clone(),
                message: format!("start request {request}: {message}"),
            }),
            other => Err(Error::Start {
                name: self.name.clone(),
                message: format!(
                    "start request {request}: unexpected answer {:?}",
                    other.map(|(m, _)| m)
                ),
            }),
        }
    }
}

/// `pending` in groups whose fds fit one message (`MAX_FDS`); a group larger than that alone
/// is sent as is (the send refuses it, naming the limit).
pub(crate) fn chunks(pending: Vec<(String, Vec<OwnedFd>)>) -> Vec<Vec<(String, Vec<OwnedFd>)>> {
    let mut out: Vec<Vec<(String, Vec<OwnedFd>)>> = Vec::new();
    let mut n = 0;
    for p in pending {
        if out.is_empty() || n + p.1.len() > crate::commands::MAX_FDS {
            out.push(Vec::new());
            n = 0;
        }
        n += p.1.len();
        if let Some(last) = out.last_mut() {
            last.push(p);
        }
    }
    out
}

/// Send `msg` with `pending` attached: in one message when they fit, else the extra fds in
/// `Fds` messages first.
pub(crate) fn send_handed(
    chan: &Channel,
    pending: Vec<(String, Vec<OwnedFd>)>,
    msg: impl FnOnce(Vec<(String, usize)>) -> Msg,
) -> io::Result<()> {
    let mut groups = chunks(pending);
    let last = groups.pop().unwrap_or_default();
    for g in groups {
        let (handed, fds) = bundle(g);
        let b: Vec<BorrowedFd<'_>> = fds.iter().map(|f| f.as_fd()).collect();
        chan.send_with(&Msg::Fds { handed }, &b)?;
    }
    let (handed, fds) = bundle(last);
    let b: Vec<BorrowedFd<'_>> = fds.iter().map(|f| f.as_fd()).collect();
    chan.send_with(&msg(handed), &b)
}

/// The start channel, for a hook in the child (None on the monitor's side).
pub fn child_link(state: &StateMap) -> Option<&ChildLink> {
    state.get::<ChildLink>()
}

/// Fds the child handed over, by tag; the monitor's hooks take them.
#[derive(Default)]
pub struct HandedFds(pub std::collections::HashMap<String, Vec<OwnedFd>>);

/// Take the fds the child sent under `tag` (empty if none came).
pub fn take_fds(state: &mut StateMap, tag: &str) -> Vec<OwnedFd> {
    state
        .get_mut::<HandedFds>()
        .and_then(|h| h.0.remove(tag))
        .unwrap_or_default()
}

pub(crate) fn keep_fds(state: &mut StateMap, tag: String, fds: Vec<OwnedFd>) {
    if state.get::<HandedFds>().is_none() {
        state.insert(HandedFds::default());
    }
    if let Some(h) = state.get_mut::<HandedFds>() {
        h.0.entry(tag).or_default().extend(fds);
    }
}

impl Msg {
    pub fn from_error(e: &Error, phase: Phase) -> Msg {
        match e {
            Error::Hook {
                phase,
                owner,
                key,
                message,
            } => Msg::Failed {
                phase: phase.name().to_string(),
                owner: owner.to_string(),
                key: key.clone(),
                message: message.clone(),
            },
            other => Msg::Failed {
                phase: phase.name().to_string(),
                owner: "core".into(),
                key: None,
                message: other.to_string(),
            },
        }
    }
}

/// Turn a child's failure report back into the error `start` returns.
pub fn to_error(phase: &str, owner: &str, key: Option<String>, message: String) -> Error {
    let phase = Phase::ALL
        .into_iter()
        .find(|p| p.name() == phase)
        .unwrap_or(Phase::ChildFinal);
    let owner: &'static str = crate::registry::registrations()
        .into_iter()
        .map(|r| r.name)
        .chain(["core", "hooks", "init"])
        .find(|n| *n == owner)
        .unwrap_or("child");
    Error::Hook {
        phase,
        owner,
        key,
        message,
    }
}
