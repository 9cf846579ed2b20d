//! A template lxc-rs network plugin: copy this crate to write your own (see README.md).
//!
//! It serves `lxc.net.N.type = template-veth`: a veth pair whose host side is called
//! `tmpl<N>-<init pid>`, or what the plugin's own key `lxc.net.N.template.host_name` says, and
//! whose container side is made directly inside the container's network namespace under its
//! final name. A container config using it:
//!
//! ```text
//! lxc.net.0.type = template-veth
//! lxc.net.0.name = eth0
//! lxc.net.0.template.host_name = tmpl-web
//! lxc.net.0.ipv4.address = 10.0.3.5/24
//! lxc.net.0.flags = up
//! ```
//!
//! The host (lxc-rs) does everything generic (MAC address, MTU, addresses, up, gateways,
//! `script.up`/`script.down`) once `create` returned; a plugin only makes and removes links.
//!
//! Rules every plugin follows (the interface's contract, in `lxc_net_api`'s docs):
//! - `create` leaves the container side inside `req.netns_fd`, with its final name, DOWN;
//! - `destroy` removes what `create` made on the host and succeeds when it is already gone;
//! - never fork, never touch file descriptors you were not given, never keep a thread (a
//!   `Netlink` handle is a thread: drop it before returning);
//! - return errors as one line that names the interface and what failed;
//! - do not panic (`guard` turns a panic into an error in debug builds, but a release build of
//!   lxc-rs aborts on panic).

use std::sync::OnceLock;

// Everything comes from `lxc-net-api`, the plugin's only dependency: the abi_stable types the
// interface uses are re-exported from it.
use lxc_net_api::abi_stable::std_types::{RResult, RSlice, RStr, RString};
use lxc_net_api::netlink::{Netlink, VethSpec};
use lxc_net_api::{guard, Created, KeySpec, NetPlugin, NetPluginRef, Request, API_VERSION};

/// The `lxc.net.N.type` values this plugin serves. A type must not be served by two plugins:
/// the host refuses the second.
static TYPES: [RStr<'static>; 1] = [RStr::from_str("template-veth")];

/// The plugin's own key: `lxc.net.N.template.host_name`. Prefix your keys with your plugin's
/// name so they cannot clash with LXC's keys or another plugin's.
const HOST_NAME_KEY: &str = "template.host_name";

static KEYS: [KeySpec; 1] = [KeySpec {
    suffix: RStr::from_str(HOST_NAME_KEY),
    // A single value: a later line replaces an earlier one.
    list: false,
    doc: RStr::from_str("the name of the host side of the template-veth pair"),
}];

/// The module: built once, handed to the host by `export_plugin!` below. Tests (and anyone
/// linking this crate as an rlib) call it directly.
pub fn module() -> NetPluginRef {
    static MODULE: OnceLock<NetPluginRef> = OnceLock::new();
    *MODULE.get_or_init(|| {
        NetPlugin {
            // Always `API_VERSION`: the host refuses a module built for another version.
            api_version: API_VERSION,
            name: RStr::from_str("template"),
            types: RSlice::from_slice(&TYPES),
            keys: RSlice::from_slice(&KEYS),
            check_key,
            create,
            up,
            down,
            destroy,
            describe,
        }
        .leak()
    })
}

// Exports the module as the abi_stable root module of the `.so`
// (`liblxc_net_plugin_template.so`). Exactly one per plugin library.
lxc_net_api::export_plugin!(module);

/// Check a value of one of our keys when a config sets it (`lxc-rs config`, loading a config):
/// return it normalized, or say what was expected.
extern "C" fn check_key(key: RStr<'_>, value: RStr<'_>) -> RResult<RString, RString> {
    match key.as_str() {
        HOST_NAME_KEY => match valid_ifname(value.as_str()) {
            Ok(()) => RResult::ROk(value.as_str().into()),
            Err(e) => RResult::RErr(e.into()),
        },
        other => RResult::RErr(format!("the template plugin has no key {other}").into()),
    }
}

/// Make the pair. `guard` turns a panic into an error instead of unwinding into the host.
extern "C" fn create(req: &Request) -> RResult<Created, RString> {
    guard(&req.net_key(), || {
        make(req).map_err(|e| format!("{} (template-veth): {e}", req.net_key()))
    })
}

/// Called after the host configured and raised the container side. Nothing to do here: the
/// host side was raised in `create`.
extern "C" fn up(_req: &Request, _c: &Created) -> RResult<(), RString> {
    RResult::ROk(())
}

/// Called at stop, before `destroy`.
extern "C" fn down(_req: &Request, _c: &Created) -> RResult<(), RString> {
    RResult::ROk(())
}

/// Remove the host side if it still exists (when the container's namespace went away first,
/// the kernel already removed the whole pair).
extern "C" fn destroy(req: &Request, c: &Created) -> RResult<(), RString> {
    guard(&req.net_key(), || {
        remove(c).map_err(|e| format!("{} (template-veth): {e}", req.net_key()))
    })
}

/// One line for logs.
extern "C" fn describe(_req: &Request, c: &Created) -> RString {
    let host = c
        .host_ifname
        .as_ref()
        .into_option()
        .map_or("?", |s| s.as_str());
    format!("template-veth {host} <-> {}", c.ifname).into()
}

fn make(req: &Request) -> Result<Created, String> {
    // `Request::get` reads the last value of a key (an empty value means it was cleared).
    let host = match req.get(HOST_NAME_KEY) {
        Some(name) => name.to_string(),
        None => format!("tmpl{}-{}", req.index, req.init_pid),
    };
    valid_ifname(&host)?;
    // The container side's final name: `lxc.net.N.name`, else LXC's default, `eth%d` (the
    // kernel picks the first free ethN).
    let peer = req.get("name").unwrap_or("eth%d");

    // A netlink handle in the caller's (the host's) network namespace. It owns a thread: it
    // must be dropped before this function returns, which it is, at the end of the scope.
    let nl = Netlink::current().map_err(|e| e.to_string())?;
    let made = nl
        .add_veth(&VethSpec {
            name: &host,
            peer,
            // Made straight inside the container: moving a link costs ~24 ms.
            peer_netns: Some(req.netns()?),
            mtu: None,
            rx_queues: None,
            tx_queues: None,
        })
        .map_err(|e| e.to_string())?;

    // Anything failing from here on must remove what was made (deleting one side of a veth
    // deletes both).
    let finish = || -> Result<String, String> {
        let ifname = if peer.contains('%') {
            // The kernel chose the name: ask the container's namespace, by the peer's index.
            let index = made
                .link
                .ok_or("the kernel did not report the peer's index")?;
            let inside = Netlink::in_netns(req.netns()?).map_err(|e| e.to_string())?;
            inside
                .link_by_index(index)
                .map_err(|e| e.to_string())?
                .map(|l| l.name)
                .ok_or("the container side is not in the container's namespace")?
        } else {
            peer.to_string()
        };
        nl.set_up(made.index).map_err(|e| e.to_string())?;
        Ok(ifname)
    };
    match finish() {
        Ok(ifname) => {
            // `state` is ours: whatever `destroy` needs later. Here: the host side's index, to
            // make sure `destroy` deletes the link we made and not a later one of that name.
            Ok(Created::new(&ifname, Some(&host), &made.index.to_string()))
        }
        Err(e) => {
            let _ = nl.del_link(made.index);
            Err(e)
        }
    }
}

fn remove(c: &Created) -> Result<(), String> {
    let Some(host) = c.host_ifname.as_ref().into_option().map(|s| s.as_str()) else {
        return Ok(());
    };
    let index: u32 = c.state.parse().map_err(|_| "bad state from create")?;
    let nl = Netlink::current().map_err(|e| e.to_string())?;
    match nl.link_by_index(index).map_err(|e| e.to_string())? {
        Some(l) if l.name == host => nl
            .del_link(index)
            .map_err(|e| format!("removing {host}: {e}")),
        // Already gone (or the index now belongs to someone else's link): nothing of ours left.
        _ => Ok(()),
    }
}

/// The kernel's rule for interface names: 1 to 15 bytes, no '/', ':' or whitespace.
fn valid_ifname(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() < 16
        && name != "."
        && name != ".."
        && !name
            .bytes()
            .any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{name:?}: expected an interface name (1-15 bytes, no '/', ':' or spaces)"
        ))
    }
}
