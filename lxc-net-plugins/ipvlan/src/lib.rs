//! The `ipvlan` network plugin: LXC's `lxc.net.N.type = ipvlan`.
//!
//! An ipvlan on the host's `link`, with `ipvlan.mode` (`l3`, `l3s`, `l2`) and
//! `ipvlan.isolation` (`bridge`, `private`, `vepa`), and `mtu`, made straight inside the
//! container's network namespace under its final name (see `lower.rs`: LXC makes it on the
//! host and moves it). The two ipvlan keys belong to the API extension `network_ipvlan`: this
//! plugin reads them from the request when they are there and declares no keys.
//!
//! Defaults as LXC 5.0.2 behaves, not as it documents: setting the type zeroes the interface,
//! and zero is a valid mode (`l2`) and isolation (`bridge`), so those stay (the documentation
//! says `l3`). The mode is always sent to the kernel; the isolation only when not `bridge`.
//!
//! A kernel without ipvlan (this project's development machines) refuses the link with
//! EOPNOTSUPP: the error then says "this kernel has no ipvlan", after a probe in a throw-away
//! namespace ruled out the other causes of that errno.
//!
//! `destroy` deletes the link (see `lower.rs`): a lower device's ipvlans share its addresses
//! and its mode, so a reboot's new one would collide with one left to the dying namespace.

use std::sync::OnceLock;

use lxc_net_api::abi_stable::std_types::{RResult, RSlice, RStr, RString};
use lxc_net_api::netlink::{IpvlanIsolation, IpvlanMode, LowerKind};
use lxc_net_api::{guard, Created, KeySpec, NetPlugin, NetPluginRef, Request, API_VERSION};

#[path = "../../shared/lower.rs"]
mod lower;

static TYPES: [RStr<'static>; 1] = [RStr::from_str("ipvlan")];

/// The module, built once per process.
pub fn module() -> NetPluginRef {
    static MODULE: OnceLock<NetPluginRef> = OnceLock::new();
    *MODULE.get_or_init(|| {
        NetPlugin {
            api_version: API_VERSION,
            name: RStr::from_str("ipvlan"),
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

// What the host loads from `liblxc_net_plugin_ipvlan.so`.
lxc_net_api::export_plugin!(module);

extern "C" fn check_key(key: RStr<'_>, _value: RStr<'_>) -> RResult<RString, RString> {
    RResult::RErr(
        format!("the ipvlan plugin has no key {key} (ipvlan.mode and ipvlan.isolation are network_ipvlan's)")
            .into(),
    )
}

extern "C" fn create(req: &Request) -> RResult<Created, RString> {
    guard(&req.net_key(), || {
        let err = |e: String| format!("{} (ipvlan): {e}", req.net_key());
        let (mode, isolation) = settings(req).map_err(err)?;
        let plan = lower::Plan {
            kind: LowerKind::Ipvlan(mode, isolation),
            transient: "ipvlXXXXXX",
            label: "ipvlan",
            config: "CONFIG_IPVLAN",
        };
        lower::create(req, &plan).map_err(err)
    })
}

extern "C" fn destroy(req: &Request, c: &Created) -> RResult<(), RString> {
    guard(&req.net_key(), || {
        // Nothing on the host side; but the ipvlans of a lower device share its addresses and
        // its mode: a reboot's new one would collide with this one while the old namespace is
        // torn down in the background. Delete it now.
        lower::remove(req, "ipvlan", c).map_err(|e| format!("{} (ipvlan): {e}", req.net_key()))
    })
}

extern "C" fn describe(req: &Request, c: &Created) -> RString {
    let st = lower::State::parse(&c.state);
    let (mode, isolation) = settings(req).unwrap_or((IpvlanMode::L2, IpvlanIsolation::Bridge));
    format!(
        "ipvlan {} on {} (mode {}, isolation {})",
        c.ifname,
        st.lower,
        mode_name(mode),
        isolation_name(isolation)
    )
    .into()
}

/// `ipvlan.mode` and `ipvlan.isolation` as LXC 5.0.2 applies them (see the crate docs). A
/// cleared mode is -1 in LXC, which the kernel refuses: refused here too, saying why; a
/// cleared isolation is -1, which LXC does not send: `bridge`.
pub fn settings(req: &Request) -> Result<(IpvlanMode, IpvlanIsolation), String> {
    if lower::cleared(req, "ipvlan.mode") {
        return Err(format!(
            "{}.ipvlan.mode was cleared, which leaves no mode (LXC then fails with EINVAL)",
            req.net_key()
        ));
    }
    let mode = match req.get("ipvlan.mode") {
        None | Some("l2") => IpvlanMode::L2,
        Some("l3") => IpvlanMode::L3,
        Some("l3s") => IpvlanMode::L3s,
        Some(v) => return Err(format!("ipvlan.mode = {v}: expected l3, l3s or l2")),
    };
    let isolation = match req.get("ipvlan.isolation") {
        None | Some("bridge") => IpvlanIsolation::Bridge,
        Some("private") => IpvlanIsolation::Private,
        Some("vepa") => IpvlanIsolation::Vepa,
        Some(v) => {
            return Err(format!(
                "ipvlan.isolation = {v}: expected bridge, private or vepa"
            ))
        }
    };
    Ok((mode, isolation))
}

fn mode_name(m: IpvlanMode) -> &'static str {
    match m {
        IpvlanMode::L2 => "l2",
        IpvlanMode::L3 => "l3",
        IpvlanMode::L3s => "l3s",
    }
}

fn isolation_name(i: IpvlanIsolation) -> &'static str {
    match i {
        IpvlanIsolation::Bridge => "bridge",
        IpvlanIsolation::Private => "private",
        IpvlanIsolation::Vepa => "vepa",
    }
}
