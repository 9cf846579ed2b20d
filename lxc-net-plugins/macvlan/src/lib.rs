//! The `macvlan` network plugin: LXC's `lxc.net.N.type = macvlan`.
//!
//! A macvlan on the host's `link`, in `macvlan.mode` (`private` when unset, LXC's default;
//! `vepa`, `bridge`, `passthru`), with `mtu`, made straight inside the container's network
//! namespace under its final name (see `lower.rs`: LXC makes it on the host and moves it).
//! The keys are lxc-net's own (static) keys: this plugin reads them from the request and
//! declares none. The host applies `mtu` again inside (API extension
//! `network_phys_macvlan_mtu`), and the rest of the generic settings. `destroy` deletes a
//! passthru macvlan or one with a fixed `hwaddr` (a reboot's new one would collide with it),
//! and leaves the others to the container's namespace.

use std::sync::OnceLock;

use lxc_net_api::abi_stable::std_types::{RResult, RSlice, RStr, RString};
use lxc_net_api::netlink::{LowerKind, MacvlanMode};
use lxc_net_api::{guard, Created, KeySpec, NetPlugin, NetPluginRef, Request, API_VERSION};

#[path = "../../shared/lower.rs"]
mod lower;

static TYPES: [RStr<'static>; 1] = [RStr::from_str("macvlan")];

/// The module, built once per process.
pub fn module() -> NetPluginRef {
    static MODULE: OnceLock<NetPluginRef> = OnceLock::new();
    *MODULE.get_or_init(|| {
        NetPlugin {
            api_version: API_VERSION,
            name: RStr::from_str("macvlan"),
            types: RSlice::from_slice(&TYPES),
            keys: RSlice::from_slice(&[] as &[KeySpec]),
            check_key,
            create,
            up: lower::no_host_side,
            down: lower::no_host_side,
            destroy,
            describe,
        }
        .leak()
    })
}

// What the host loads from `liblxc_net_plugin_macvlan.so`.
lxc_net_api::export_plugin!(module);

extern "C" fn check_key(key: RStr<'_>, _value: RStr<'_>) -> RResult<RString, RString> {
    RResult::RErr(format!("the macvlan plugin has no key {key} (its keys are lxc-net's)").into())
}

extern "C" fn create(req: &Request) -> RResult<Created, RString> {
    guard(&req.net_key(), || {
        let err = |e: String| format!("{} (macvlan): {e}", req.net_key());
        let plan = lower::Plan {
            kind: LowerKind::Macvlan(Some(mode(req).map_err(err)?)),
            transient: "macvXXXXXX",
            label: "macvlan",
            config: "CONFIG_MACVLAN",
        };
        lower::create(req, &plan).map_err(err)
    })
}

extern "C" fn destroy(req: &Request, c: &Created) -> RResult<(), RString> {
    guard(&req.net_key(), || {
        // Nothing on the host side; the macvlan goes with the container's network namespace,
        // unless a new one on the same lower device could collide with it: a passthru macvlan
        // takes the device for itself, and a device's macvlans need distinct MAC addresses.
        let exclusive = mode(req) == Ok(MacvlanMode::Passthru) || lower::fixed_hwaddr(req);
        if !exclusive {
            return Ok(());
        }
        lower::remove(req, "macvlan", c).map_err(|e| format!("{} (macvlan): {e}", req.net_key()))
    })
}

extern "C" fn describe(req: &Request, c: &Created) -> RString {
    let st = lower::State::parse(&c.state);
    let mode = req.get("macvlan.mode").unwrap_or("private");
    format!("macvlan {} on {} (mode {mode})", c.ifname, st.lower).into()
}

/// `macvlan.mode`, `private` when unset (LXC sets it with the type). A cleared mode is -1 in
/// LXC, which the kernel refuses: refused here too, saying why.
pub fn mode(req: &Request) -> Result<MacvlanMode, String> {
    if lower::cleared(req, "macvlan.mode") {
        return Err(format!(
            "{}.macvlan.mode was cleared, which leaves no mode (LXC then fails with EINVAL)",
            req.net_key()
        ));
    }
    match req.get("macvlan.mode") {
        None | Some("private") => Ok(MacvlanMode::Private),
        Some("vepa") => Ok(MacvlanMode::Vepa),
        Some("bridge") => Ok(MacvlanMode::Bridge),
        Some("passthru") => Ok(MacvlanMode::Passthru),
        Some(v) => Err(format!(
            "macvlan.mode = {v}: expected private, vepa, bridge or passthru"
        )),
    }
}
