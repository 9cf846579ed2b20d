//! API extension `reboot2`: reboot a container and wait until a new init runs.

#![forbid(unsafe_code)]

use std::time::{Duration, Instant};

use lxc_core::linkme::distributed_slice;
use lxc_core::registry::{EntryKind, Registration, REGISTRY};
use lxc_core::{Container, Error, State};

#[distributed_slice(REGISTRY)]
#[linkme(crate = lxc_core::linkme)]
static REBOOT2: Registration = Registration {
    name: "reboot2",
    kind: EntryKind::ApiExtension,
    keys: &[],
    hooks: &[],
    commands: &[],
};

/// LXC's `reboot2(timeout)`: send the reboot signal; with `timeout` > 0 wait up to that many
/// seconds until the container runs again with a new init, with -1 wait without bound, with 0
/// return at once. True when it rebooted (for 0: when the reboot was requested).
pub fn reboot2(c: &Container, timeout: i32) -> Result<bool, Error> {
    if timeout == 0 {
        c.reboot()?;
        return Ok(true);
    }
    let old = c.init_pid()?;
    // Registered before the signal, so the RUNNING of the new init cannot be missed.
    let (mut client, _) = c.state_client(&[State::Running, State::Stopped])?;
    c.reboot()?;
    let deadline = (timeout > 0).then(|| Instant::now() + Duration::from_secs(timeout as u64));
    loop {
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if left == Some(Duration::ZERO) {
            return Ok(false);
        }
        match client.wait(left) {
            Ok(Some(State::Running)) => return Ok(c.init_pid().is_ok_and(|p| p != old)),
            // The monitor's new start failed: say why (it sent the cause before STOPPED).
            Ok(Some(State::Stopped)) => match client.failure() {
                Some(why) => {
                    return Err(Error::Start {
                        name: c.name().to_string(),
                        message: format!("reboot: the new start failed: {why}"),
                    })
                }
                None => return Ok(false),
            },
            Ok(None) => return Ok(false),
            Ok(Some(_)) => continue,
            Err(e) => {
                return Err(Error::Command {
                    name: c.name().to_string(),
                    request: "reboot2".into(),
                    message: e.to_string(),
                    errno: e.errno(),
                })
            }
        }
    }
}
