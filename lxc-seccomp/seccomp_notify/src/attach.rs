//! An attached process's listener goes to the container's monitor, which serves it through the
//! proxy like the container's own (LXC's `LXC_CMD_SECCOMP_NOTIFY_ADD_LISTENER`).
//!
//! LXC's attached child hands the listener to the attaching process, which sends it to the
//! monitor and fails the attach when the monitor refuses it (it does when no proxy is
//! connected). Here the attached process sends it itself, which needs no extra channel: before
//! the fork, `prepare` connects to the monitor's command socket (the attached process moves
//! into the container's network namespace, where the monitor's abstract socket cannot be
//! found) and encodes the request; in the attached process `send` is one `sendmsg` with the
//! listener as SCM_RIGHTS and one read of the answer into a stack buffer, without allocating.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

use lxc_core::attach::AttachCtx;
use lxc_core::commands::{self, Request};
use lxc_core::Phase;
use lxc_seccomp::ListenerSink;

use crate::{keys, sys, ADD_LISTENER, NAME};

/// How long the attached process waits for the monitor's answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);
const HEADER_LEN: usize = 12;

/// A request frame of the command socket, encoded before the fork.
pub fn request_frame(req: &Request) -> io::Result<Vec<u8>> {
    commands::encode_request(req).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
}

pub struct MonitorSink {
    sock: OwnedFd,
    frame: Vec<u8>,
}

fn errno(e: io::Error) -> i32 {
    e.raw_os_error().unwrap_or(libc::EIO)
}

impl MonitorSink {
    /// Fill `buf` from the connection; the answer's header and body are small.
    fn read_exact(&self, buf: &mut [u8]) -> Result<(), i32> {
        let mut got = 0;
        while got < buf.len() {
            match sys::recv_into(self.sock.as_fd(), &mut buf[got..], 0) {
                Ok(0) => return Err(libc::ECONNRESET),
                Ok(n) => got += n,
                Err(e) => return Err(errno(e)),
            }
        }
        Ok(())
    }
}

impl ListenerSink for MonitorSink {
    fn send(&self, listener: OwnedFd) -> Result<(), i32> {
        let mut sent =
            sys::send_with_fds(self.sock.as_fd(), &[&self.frame], &[listener.as_fd()], 0)
                .map_err(errno)?;
        // The monitor has its copy now; this process keeps none (as LXC closes its own).
        drop(listener);
        while sent < self.frame.len() {
            sent += sys::send_with_fds(self.sock.as_fd(), &[&self.frame[sent..]], &[], 0)
                .map_err(errno)?;
        }
        let mut head = [0u8; HEADER_LEN];
        self.read_exact(&mut head)?;
        if &head[0..4] != b"LXRS" || head[6..8] != 1u16.to_le_bytes() {
            return Err(libc::EPROTO);
        }
        let len = u32::from_le_bytes([head[8], head[9], head[10], head[11]]) as usize;
        let mut body = [0u8; 512];
        let keep = len.min(body.len());
        self.read_exact(&mut body[..keep])?;
        answer(&body[..keep])
    }
}

/// What the monitor's answer body says: `{"Ext":...}` is done; `{"Error":{..,"errno":N}}`
/// fails with N.
fn answer(body: &[u8]) -> Result<(), i32> {
    if body.starts_with(b"{\"Ext\"") {
        return Ok(());
    }
    if !body.starts_with(b"{\"Error\"") {
        return Err(libc::EPROTO);
    }
    const KEY: &[u8] = b"\"errno\":";
    let Some(at) = body.windows(KEY.len()).position(|w| w == KEY) else {
        return Err(libc::EINVAL);
    };
    let n = body[at + KEY.len()..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .fold(0i32, |n, &b| {
            n.saturating_mul(10).saturating_add(i32::from(b - b'0'))
        });
    Err(if n > 0 { n } else { libc::EINVAL })
}

fn attach_err(message: String) -> lxc_core::Error {
    lxc_core::Error::Hook {
        phase: Phase::Running,
        owner: NAME,
        key: Some(keys::PROXY.into()),
        message,
    }
}

/// Before the fork: the running container must have a proxy (LXC's monitor refuses the
/// listener otherwise, and its attach fails); connect and encode the request.
pub fn prepare(ctx: &AttachCtx<'_>) -> Result<Box<dyn ListenerSink>, lxc_core::Error> {
    let c = ctx.container;
    let proxy = c.get_running_config_item(keys::PROXY)?;
    if proxy.is_empty() {
        return Err(attach_err(format!(
            "{}: the policy has notify rules but the running container has no {} (LXC's \
             monitor then refuses an attached process's listener and the attach fails)",
            c.name(),
            keys::PROXY
        )));
    }
    let sock = sys::connect_stream(
        &commands::socket_name(c.config_path(), c.name()),
        ANSWER_TIMEOUT,
    )
    .map_err(|e| attach_err(format!("connect to the monitor of {}: {e}", c.name())))?;
    let frame = request_frame(&Request::Ext {
        name: ADD_LISTENER.into(),
        body: Vec::new(),
    })
    .map_err(|e| attach_err(format!("encode {ADD_LISTENER}: {e}")))?;
    Ok(Box::new(MonitorSink { sock, frame }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_read_without_json() {
        assert_eq!(answer(br#"{"Ext":[]}"#), Ok(()));
        assert_eq!(
            answer(br#"{"Error":{"message":"no proxy","errno":22}}"#),
            Err(22)
        );
        assert_eq!(
            answer(br#"{"Error":{"message":"permission denied"}}"#),
            Err(libc::EINVAL)
        );
        assert_eq!(answer(br#""Ok""#), Err(libc::EPROTO));
    }

    #[test]
    fn frame_is_the_command_sockets() {
        let f = request_frame(&Request::GetState).unwrap();
        assert_eq!(&f[..4], b"LXRS");
        assert_eq!(&f[6..8], &[0, 0]);
        assert_eq!(&f[12..], br#""GetState""#);
        assert_eq!(
            u32::from_le_bytes([f[8], f[9], f[10], f[11]]) as usize,
            f.len() - 12
        );
    }
}
