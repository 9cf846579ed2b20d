//! The `phys` network plugin: LXC's `lxc.net.N.type = phys`, a device of the host (`link`)
//! handed to the container and given back at the end.
//!
//! What LXC 5.0 does (src/lxc/network.c): `instantiate_phys` records the device's index and
//! MTU and names the interface after `link` when `name` is unset; the device is moved into
//! the container under a transient `physXXXXXX` name and renamed there (to `name`, or `link`);
//! at stop `lxc_restore_phys_nics_to_netns` moves it back to the monitor's namespace under its
//! transient name, and `lxc_delete_network_priv` renames it to `link` and restores the MTU.
//!
//! Here `create` does the move and rename the same way, and `destroy` the way back (transient
//! name, then the original name and MTU); `destroy` is what the host calls at stop
//! AND when a later step of a start fails, which LXC misses (lxc/lxc#4409: a start failing
//! after the move leaves the device in the dying namespace, where the kernel hands it back to
//! the initial namespace under whatever name is free, or deletes it if it is virtual). A
//! failure inside `create` itself after the move moves it back before returning. The host
//! keeps the container's network namespace open until every `destroy` ran, so the device is
//! still there to take back. Whatever is needed for the way back (original name, index and
//! MTU; the index inside) is in `Created.state`.
//!
//! The host applies `mtu` (API extension `network_phys_macvlan_mtu`), `hwaddr` and the rest
//! inside; moving a device between namespaces takes it down and drops its addresses, so the
//! way back needs nothing more. Not restored, as LXC: the MAC address `hwaddr` set (kept so
//! that LXC and lxc-rs leave the same host behind), the up state, and a bridge the device was
//! a port of on the host.

use std::sync::OnceLock;

use lxc_net_api::abi_stable::std_types::{RResult, RSlice, RStr, RString};
use lxc_net_api::netlink::{LinkInfo, Netlink};
use lxc_net_api::{guard, Created, KeySpec, NetPlugin, NetPluginRef, Request, API_VERSION};

static TYPES: [RStr<'static>; 1] = [RStr::from_str("phys")];

/// LXC's transient name of a phys device while it moves.
const TRANSIENT: &str = "physXXXXXX";

/// The module, built once per process.
pub fn module() -> NetPluginRef {
    static MODULE: OnceLock<NetPluginRef> = OnceLock::new();
    *MODULE.get_or_init(|| {
        NetPlugin {
            api_version: API_VERSION,
            name: RStr::from_str("phys"),
            types: RSlice::from_slice(&TYPES),
            keys: RSlice::from_slice(&[] as &[KeySpec]),
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

// What the host loads from `liblxc_net_plugin_phys.so`.
lxc_net_api::export_plugin!(module);

extern "C" fn check_key(key: RStr<'_>, _value: RStr<'_>) -> RResult<RString, RString> {
    RResult::RErr(format!("the phys plugin has no key {key} (its keys are lxc-net's)").into())
}

extern "C" fn create(req: &Request) -> RResult<Created, RString> {
    guard(&req.net_key(), || {
        hand_over(req).map_err(|e| format!("{} (phys): {e}", req.net_key()))
    })
}

extern "C" fn up(_req: &Request, _c: &Created) -> RResult<(), RString> {
    RResult::ROk(())
}

extern "C" fn down(_req: &Request, _c: &Created) -> RResult<(), RString> {
    RResult::ROk(())
}

extern "C" fn destroy(req: &Request, c: &Created) -> RResult<(), RString> {
    guard(&req.net_key(), || {
        give_back(req, &State::parse(&c.state))
            .map_err(|e| format!("{} (phys): {e}", req.net_key()))
    })
}

extern "C" fn describe(_req: &Request, c: &Created) -> RString {
    let st = State::parse(&c.state);
    format!(
        "phys {} (host device {}, MTU {} on the host)",
        c.ifname, st.name, st.mtu
    )
    .into()
}

/// What the way back needs: `name=N;index=I;mtu=M;inside=J` (`index` on the host before the
/// move, `inside` in the container).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    pub name: String,
    pub index: u32,
    pub mtu: u32,
    pub inside: u32,
}

impl State {
    pub fn encode(&self) -> String {
        format!(
            "name={};index={};mtu={};inside={}",
            self.name, self.index, self.mtu, self.inside
        )
    }

    pub fn parse(s: &str) -> State {
        let mut st = State::default();
        for part in s.split(';') {
            match part.split_once('=') {
                Some(("name", v)) => st.name = v.to_string(),
                Some(("index", v)) => st.index = v.parse().unwrap_or(0),
                Some(("mtu", v)) => st.mtu = v.parse().unwrap_or(0),
                Some(("inside", v)) => st.inside = v.parse().unwrap_or(0),
                _ => {}
            }
        }
        st
    }
}

/// The container side's name: `name`, else the host device's own (LXC), or a `%d` pattern
/// the kernel numbers.
fn wanted_name<'a>(req: &'a Request, link: &'a str) -> &'a str {
    req.get("name").unwrap_or(link)
}

fn hand_over(req: &Request) -> Result<Created, String> {
    let link = req.get("link").ok_or_else(|| {
        format!(
            "no host device to move in: {}.link is not set",
            req.net_key()
        )
    })?;
    let want = wanted_name(req, link);
    let host = Netlink::current().map_err(|e| e.to_string())?;
    let dev = host
        .link_by_name(link)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| {
            format!(
                "the host device {link} ({}.link) does not exist",
                req.net_key()
            )
        })?;
    let netns = req.netns()?;
    let ct = Netlink::in_netns(netns).map_err(|e| e.to_string())?;
    let mut st = State {
        name: dev.name.clone(),
        index: dev.index,
        mtu: dev.mtu,
        inside: 0,
    };
    // Under a name that is free inside, so that the move cannot half-fail on a name clash.
    let transient = ct.unused_name(TRANSIENT).map_err(|e| e.to_string())?;
    host.move_to_netns_as(dev.index, netns, &transient)
        .map_err(|e| match e.errno() {
            // NETIF_F_NETNS_LOCAL. LXC moves a wireless device's wiphy with `iw phy ... set
            // netns`; lxc-rs does not (yet).
            Some(libc::EINVAL) => format!(
                "moving {link} into the container: {e} (the kernel keeps some devices in \
                 their namespace: bridges, loopback, wireless devices)"
            ),
            _ => format!("moving {link} into the container: {e}"),
        })?;
    let inside = match ct.index_of(&transient) {
        Ok(i) => i,
        Err(e) => {
            return Err(format!(
                "{link} moved into the container as {transient}, but: {e}"
            ))
        }
    };
    st.inside = inside;
    let renamed = ct
        .set_name(inside, want)
        .map_err(|e| format!("renaming {link} to {want} in the container: {e}"))
        .and_then(|()| {
            ct.link_by_index(inside)
                .map_err(|e| e.to_string())?
                .map(|l| l.name)
                .ok_or_else(|| format!("{link} vanished from the container after its rename"))
        });
    match renamed {
        Ok(ifname) => Ok(Created::new(&ifname, None, &st.encode())),
        Err(e) => match return_device(&host, &ct, &st) {
            Ok(()) => Err(format!("{e} (moved back to the host)")),
            Err(back) => Err(format!("{e}; moving it back failed too: {back}")),
        },
    }
}

/// `destroy`: the device back to the caller's namespace under its original name, with its
/// original MTU. Done already (a second call, or the kernel gave it back) is
/// fine; a device that is nowhere to be found is an error naming it.
fn give_back(req: &Request, st: &State) -> Result<(), String> {
    if st.name.is_empty() {
        return Ok(());
    }
    let host = Netlink::current().map_err(|e| e.to_string())?;
    let ct = Netlink::in_netns(req.netns()?).map_err(|e| e.to_string())?;
    return_device(&host, &ct, st)
}

fn return_device(host: &Netlink, ct: &Netlink, st: &State) -> Result<(), String> {
    let name = &st.name;
    let inside = ct.link_by_index(st.inside).map_err(|e| e.to_string())?;
    let Some(inside) = inside else {
        // Back already under its name (e.g. a second call): only the settings, if any differ.
        return match host.link_by_name(name).map_err(|e| e.to_string())? {
            Some(l) => restore(host, &l, st),
            None => Err(format!(
                "{name} is gone: not in the container (#{}) and not on the host",
                st.inside
            )),
        };
    };
    // Back under a transient name first: the container's name for it may be taken on the host.
    let transient = host.unused_name(TRANSIENT).map_err(|e| e.to_string())?;
    let host_ns = host.netns_fd().map_err(|e| e.to_string())?;
    ct.move_to_netns_as(inside.index, std::os::fd::AsFd::as_fd(&host_ns), &transient)
        .map_err(|e| format!("moving {} ({name}) back to the host: {e}", inside.name))?;
    let back = host
        .link_by_name(&transient)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{name} moved back as {transient} but is not there"))?;
    host.set_name(back.index, name)
        .map_err(|e| format!("{name} is back on the host as {transient}: renaming it: {e}"))?;
    let back = LinkInfo {
        name: name.clone(),
        ..back
    };
    restore(host, &back, st)
}

/// The MTU the device had before it went into the container.
fn restore(host: &Netlink, l: &LinkInfo, st: &State) -> Result<(), String> {
    if st.mtu != 0 && l.mtu != st.mtu {
        host.set_mtu(l.index, st.mtu)
            .map_err(|e| format!("restoring the MTU of {} to {}: {e}", st.name, st.mtu))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips() {
        let st = State {
            name: "lxcrs-t-p0".into(),
            index: 4,
            mtu: 1400,
            inside: 9,
        };
        assert_eq!(State::parse(&st.encode()), st);
        assert_eq!(State::parse(""), State::default());
    }

    #[test]
    fn the_name_defaults_to_the_host_devices() {
        let r = |c: &[(&str, &str)]| Request::new("c", "/p", 0, "phys", -1, 0, c);
        assert_eq!(wanted_name(&r(&[]), "enp1s0"), "enp1s0");
        assert_eq!(wanted_name(&r(&[("name", "eth1")]), "enp1s0"), "eth1");
        assert_eq!(wanted_name(&r(&[("name", "eth%d")]), "enp1s0"), "eth%d");
    }
}
