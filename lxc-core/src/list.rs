//! liblxc's `list_active_containers` and `list_all_containers`, beside
//! [`list_defined_containers`]: names sorted as LXC sorts them (strcmp), and handles.
//!
//! A container is active when its command socket is listening, as liblxc tells it from
//! `/proc/net/unix`: lxc-rs's own name (`@lxc-rs/<lxcpath>/<name>/command`) or LXC's
//! (`@<lxcpath>/<name>/command`, which an lxc-rs monitor also serves), so containers LXC runs
//! count too. Hashed names (too long for `sun_path`) cannot be read back; they are recognised
//! for the defined containers, whose hashes can be computed.

use std::collections::BTreeSet;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::commands;
use crate::container::{list_defined_containers, Container};
use crate::error::{Error, Result};

/// `list_active_containers`: names of the running containers of `lxcpath`, sorted.
pub fn list_active_containers(lxcpath: &Path) -> Result<Vec<String>> {
    let unix = std::fs::read("/proc/net/unix")
        .map_err(|e| Error::io("read the list of unix sockets", "/proc/net/unix", e))?;
    let sockets: BTreeSet<&[u8]> = unix
        .split(|&b| b == b'\n')
        .filter_map(|l| l.rsplit(|&b| b == b' ').next())
        .filter(|s| s.starts_with(b"@"))
        .collect();
    let mut names = BTreeSet::new();
    let lp = lxcpath.as_os_str().as_bytes();
    for s in &sockets {
        let s = &s[1..];
        let rest = s.strip_prefix(b"lxc-rs/".as_slice()).unwrap_or(s);
        if let Some(name) = name_in(rest, lp) {
            names.insert(name);
        }
    }
    // Long names are hashed: look for the hashes of the defined containers.
    for name in list_defined_containers(lxcpath)? {
        if names.contains(&name) {
            continue;
        }
        let ours = commands::socket_name(lxcpath, &name);
        let lxcs = commands::lxc::lxc_socket_name(lxcpath, &name);
        let listening = [ours, lxcs]
            .iter()
            .any(|n| sockets.contains(abstract_as_listed(n).as_slice()));
        if listening {
            names.insert(name);
        }
    }
    Ok(names.into_iter().collect())
}

/// `list_all_containers`: the defined containers and the active ones, sorted, each once.
pub fn list_all_containers(lxcpath: &Path) -> Result<Vec<String>> {
    let mut all: BTreeSet<String> = list_defined_containers(lxcpath)?.into_iter().collect();
    all.extend(list_active_containers(lxcpath)?);
    Ok(all.into_iter().collect())
}

/// Handles on `names` in `lxcpath`, each with its config loaded when it is defined. One that
/// cannot be loaded (a broken config) is left out and logged, as liblxc leaves out a
/// container whose `lxc_container_new` fails.
pub fn handles(lxcpath: &Path, names: &[String]) -> Vec<Container> {
    names
        .iter()
        .filter_map(|n| match Container::new(n, Some(lxcpath)) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::info!(container = %n, error = %e, "left out: cannot be loaded");
                None
            }
        })
        .collect()
}

/// The container name in a socket name `<lxcpath>/<name>/command` (any number of `/` after
/// the lxcpath, as LXC reads it), if it is one of `lxcpath`'s.
fn name_in(socket: &[u8], lxcpath: &[u8]) -> Option<String> {
    let rest = socket.strip_prefix(lxcpath)?;
    // LXC only checks the prefix; a `/` must follow, or `/a` would claim `/ab`'s containers.
    if !rest.starts_with(b"/") && !lxcpath.ends_with(b"/") {
        return None;
    }
    let start = rest.iter().position(|&b| b != b'/')?;
    let rest = &rest[start..];
    let end = rest.iter().position(|&b| b == b'/')?;
    if &rest[end..] != b"/command" || end == 0 {
        return None;
    }
    String::from_utf8(rest[..end].to_vec()).ok()
}

/// An abstract name as `/proc/net/unix` lists it: `@` for the leading NUL.
fn abstract_as_listed(name: &[u8]) -> Vec<u8> {
    let mut v = b"@".to_vec();
    v.extend_from_slice(name.strip_prefix(b"\0").unwrap_or(name));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_names_read_as_lxc_reads_them() {
        let lp = b"/var/lib/lxc".as_slice();
        assert_eq!(
            name_in(b"/var/lib/lxc/web/command", lp).as_deref(),
            Some("web")
        );
        assert_eq!(
            name_in(b"/var/lib/lxc//web/command", lp).as_deref(),
            Some("web")
        );
        assert_eq!(name_in(b"/var/lib/lxc/web/monitor-sock", lp), None);
        assert_eq!(name_in(b"/var/lib/lxcx/web/command", lp), None);
        assert_eq!(name_in(b"/var/lib/lxc/a/b/command", lp), None);
        assert_eq!(name_in(b"/srv/web/command", lp), None);
    }
}
