//! The monitor ↔ child channel of one start: one message per phase boundary over a
//! SOCK_SEQPACKET pair. The child's end is CLOEXEC, so a successful exec of init reads as end
//! of stream on the monitor's side.

use std::io;
use std::os::fd::{AsFd, OwnedFd};

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::phase::Phase;
use crate::sys;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Msg {
    /// Monitor → child: host-side setup is done (maps written, cgroups attached).
    Go,
    /// Child → monitor: everything is set up; about to exec init.
    Ready,
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
        let buf = serde_json::to_vec(msg).map_err(io::Error::other)?;
        sys::write_all(self.fd.as_fd(), &buf)
    }

    /// The next message, or `None` when the peer closed its end (init exec'd, or it died).
    pub fn recv(&self) -> io::Result<Option<Msg>> {
        let mut buf = vec![0u8; 64 * 1024];
        let n = sys::read(self.fd.as_fd(), &mut buf)?;
        if n == 0 {
            return Ok(None);
        }
        serde_json::from_slice(&buf[..n])
            .map(Some)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    pub fn fd(&self) -> &OwnedFd {
        &self.fd
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
