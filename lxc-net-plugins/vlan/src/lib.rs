//! The `vlan` network plugin: LXC's `lxc.net.N.type = vlan`.
//!
//! An 802.1Q VLAN device with id `vlan.id` (0 when unset, as LXC) on the host's `link`, with
//! `mtu`, made straight inside the container's network namespace under its final name (see
//! `lower.rs`: LXC makes it on the host as `vlan<id>-<n>` and moves it). The keys are lxc-net's
//! own (static) keys: this plugin reads them from the request and declares none.
//!
//! A kernel without 802.1Q support (this project's development machines) refuses the link
//! with EOPNOTSUPP: the error then says "this kernel has no 802.1Q vlan", after a probe in a
//! throw-away namespace ruled out the other causes of that errno.
//!
//! `destroy` deletes the device (see `lower.rs`): a lower device takes one per VLAN id, so a
//! reboot's new one would collide with one left to the dying namespace.

use std::sync::OnceLock;

use lxc_net_api::abi_stable::std_types::{RResult, RSlice, RStr, RString};
use lxc_net_api::netlink::LowerKind;
use lxc_net_api::{guard, Created, KeySpec, NetPlugin, NetPluginRef, Request, API_VERSION};

#[path = "../../shared/lower.rs"]
mod lower;

/// The largest 802.1Q VLAN id the kernel takes (4095 is reserved).
const VLAN_ID_MAX: u16 = 4094;

static TYPES: [RStr<'static>; 1] = [RStr::from_str("vlan")];

/// The module, built once per process.
pub fn module() -> NetPluginRef {
    static MODULE: OnceLock<NetPluginRef> = OnceLock::new();
    *MODULE.get_or_init(|| {
        NetPlugin {
            api_version: API_VERSION,
            name: RStr::from_str("vlan"),
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

// What the host loads from `liblxc_net_plugin_vlan.so`.
lxc_net_api::export_plugin!(module);

extern "C" fn check_key(key: RStr<'_>, _value: RStr<'_>) -> RResult<RString, RString> {
    RResult::RErr(format!("the vlan plugin has no key {key} (its keys are lxc-net's)").into())
}

extern "C" fn create(req: &Request) -> RResult<Created, RString> {
    guard(&req.net_key(), || {
        let err = |e: String| format!("{} (vlan): {e}", req.net_key());
        let plan = lower::Plan {
            kind: LowerKind::Vlan(vlan_id(req).map_err(err)?),
            transient: "vlanXXXXXX",
            label: "802.1Q vlan",
            config: "CONFIG_VLAN_8021Q",
        };
        lower::create(req, &plan).map_err(err)
    })
}

extern "C" fn destroy(req: &Request, c: &Created) -> RResult<(), RString> {
    guard(&req.net_key(), || {
        // Nothing on the host side; but a lower device takes one device per VLAN id: a
        // reboot's new one would collide with this one while the old namespace is torn down
        // in the background. Delete it now.
        lower::remove(req, "vlan", c).map_err(|e| format!("{} (vlan): {e}", req.net_key()))
    })
}

extern "C" fn describe(req: &Request, c: &Created) -> RString {
    let st = lower::State::parse(&c.state);
    let id = vlan_id(req).unwrap_or(0);
    format!("vlan {} (id {id}) on {}", c.ifname, st.lower).into()
}

/// `vlan.id`: 0 when unset or cleared (LXC's default, which the kernel takes).
pub fn vlan_id(req: &Request) -> Result<u16, String> {
    match req.get("vlan.id") {
        None => Ok(0),
        Some(v) => v
            .trim()
            .parse::<u16>()
            .ok()
            .filter(|id| *id <= VLAN_ID_MAX)
            .ok_or_else(|| format!("vlan.id = {v}: expected a VLAN id 0-{VLAN_ID_MAX}")),
    }
}
