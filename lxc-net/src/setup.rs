//! What the host does to the interfaces of a starting container: the HostSetup hook (each
//! interface made by its plugin, then the generic settings applied inside the container's
//! network namespace in LXC's order: MAC address, MTU, IPv4 then IPv6 addresses, up with the
//! loopback device, gateways; then the plugin's `up` and `script.up`), and the way back (Stop,
//! or the undo of a failed start: `script.down`, the plugin's `down`, `destroy`), with
//! `script.up` / `script.down` run with LXC's arguments and environment.
//!
//! Netlink and forks: every [`Netlink`] handle (each one a thread) is made and dropped inside
//! one hook call, and plugins do the same inside each of their calls, so the monitor has one
//! thread whenever it forks (the cleanup watchdog, a reboot's clone) or clones.

use std::ffi::OsString;
use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::process::Command;
use std::sync::{Arc, Mutex, PoisonError};

use lxc_core::config::bytes;
use lxc_core::fds::KeptFd;
use lxc_core::phase::HookCtx;
use lxc_core::{Config, Origin, Phase};
use lxc_net_api::netlink::{Family, Netlink, NetlinkError, Route, Scope};
use lxc_net_api::{Created, KeyValue, Request};

use crate::error::Error;
use crate::model::{split_key, Gateway, NetDev, NetKey, NetType};
use crate::plugins::{self, Plugin};
use crate::start::{netdevs, shares_host_netns};

/// The container's network namespace, held open from HostSetup until the interfaces are gone.
/// Registered with the core as a kept fd, so the cleanup watchdog (forked after HostSetup)
/// keeps it too: if the monitor dies, the watchdog's undo still reaches the namespace.
struct Netns {
    // Unregistered before the fd closes (fields drop in order).
    _kept: KeptFd,
    fd: OwnedFd,
}

/// One interface a plugin made, as the way back needs it.
struct Live {
    plugin: &'static Plugin,
    req: Request,
    created: Created,
    /// The plugin's `up` ran: call `down`.
    up: bool,
    /// `script.up` ran (or there is none): run `script.down` if there is one.
    script_down: Option<Script>,
    /// What the extensions' steps ([`crate::ext::INTERFACE_STEPS`]) did, to undo.
    steps: Vec<crate::ext::Undo>,
}

/// Everything the network part of one start made, shared by the start's state (for Stop) and
/// its undo stack (a failed start, or the watchdog after the monitor died): whichever comes
/// first tears it down, the other finds nothing left.
#[derive(Default)]
struct NetRun {
    netns: Option<Netns>,
    live: Vec<Live>,
}

/// The start's [`lxc_core::phase::StateMap`] entry.
struct NetStarted(Arc<Mutex<NetRun>>);

/// The HostSetup hook: make every interface a plugin serves, in the container's network
/// namespace, and configure it. Interfaces with a name of their own come first, then those the
/// kernel names (`eth%d`), so a kernel-chosen name cannot take a configured one (as LXC).
pub fn host_setup(ctx: &mut HookCtx<'_>) -> Result<(), lxc_core::Error> {
    if shares_host_netns(ctx.config) {
        return Ok(());
    }
    let hook = |e: Error| e.into_hook(Phase::HostSetup);
    let devs: Vec<NetDev> = netdevs(ctx.config)
        .map_err(hook)?
        .into_iter()
        .filter(|d| d.type_.needs_plugin())
        .collect();
    if devs.is_empty() {
        return Ok(());
    }
    let setup_err = |d: &NetDev, sub: &str, message: String| {
        hook(Error::Setup {
            key: d.key(sub),
            origin: origin_of(ctx.config, &d.key(sub)),
            message,
        })
    };
    let first = &devs[0];
    let Some(pid) = ctx.init_pid else {
        return Err(setup_err(
            first,
            "type",
            "no container init to network".into(),
        ));
    };
    let own_netns = ctx
        .state
        .get::<lxc_core::start::spec::NsPlan>()
        .is_none_or(|p| p.has(libc::CLONE_NEWNET));
    if !own_netns {
        return Err(setup_err(
            first,
            "type",
            "the container has no network namespace of its own (lxc.namespace.keep or \
             lxc.namespace.share.net), so its networks have nowhere to go"
                .into(),
        ));
    }
    let path = format!("/proc/{pid}/ns/net");
    let fd: OwnedFd = File::open(&path)
        .map_err(|e| setup_err(first, "type", format!("open {path}: {e}")))?
        .into();
    let run = Arc::new(Mutex::new(NetRun {
        netns: Some(Netns {
            _kept: KeptFd::new(fd.as_fd()),
            fd,
        }),
        live: Vec::new(),
    }));
    ctx.state.insert(NetStarted(Arc::clone(&run)));
    let undo = Arc::clone(&run);
    ctx.undo.push("network interfaces", move || teardown(&undo));

    let env = ScriptEnv::new(ctx);
    let mut order: Vec<&NetDev> = devs.iter().filter(|d| !kernel_named(d)).collect();
    order.extend(devs.iter().filter(|d| kernel_named(d)));

    let mut host: Option<Netlink> = None;
    let mut inside: Option<Netlink> = None;
    for d in order {
        let type_ = d.type_.name().unwrap_or_default();
        let plugin = plugins::serving(type_).map_err(|why| {
            hook(Error::NeedsPlugin {
                key: d.key("type"),
                index: d.index,
                type_: d.type_,
                origin: d.type_origin.clone(),
                why,
            })
        })?;
        let auto = auto_gateways(d, &mut host).map_err(|e| setup_err(d, e.sub, e.message))?;

        let netns_fd = lock(&run).netns.as_ref().map_or(-1, |n| n.fd.as_raw_fd());
        let req = request(ctx, d, netns_fd, pid);
        let created = plugin
            .create(&req)
            .map_err(|e| setup_err(d, "type", format!("plugin {}: {e}", plugin.name)))?;
        tracing::debug!(container = ctx.name, index = d.index, ifname = %created.ifname, host = ?created.host_ifname, "interface created");
        let host_ifname = created
            .host_ifname
            .clone()
            .into_option()
            .map(|s| s.into_string());
        lock(&run).live.push(Live {
            plugin,
            req: req.clone(),
            created: created.clone(),
            up: false,
            script_down: None,
            steps: Vec::new(),
        });

        let nl = match &mut inside {
            Some(nl) => &*nl,
            slot => {
                let opened = match &lock(&run).netns {
                    Some(n) => Netlink::in_netns(n.fd.as_fd()).map_err(|e| e.to_string()),
                    None => Err("the network namespace is gone".to_string()),
                };
                &*slot.insert(opened.map_err(|e| setup_err(d, "type", e))?)
            }
        };
        configure(nl, d, &created.ifname, auto).map_err(|e| setup_err(d, e.sub, e.message))?;
        let steps = crate::ext::run_steps(&crate::ext::StepCtx {
            container: ctx.name,
            dev: d,
            ifname: &created.ifname,
            host_ifname: host_ifname.as_deref(),
        })
        .map_err(|e| setup_err(d, e.sub, e.message))?;
        mark(&run, d, move |l| l.steps = steps);

        plugin
            .up(&req, &created)
            .map_err(|e| setup_err(d, "type", format!("plugin {}: {e}", plugin.name)))?;
        mark(&run, d, |l| l.up = true);

        let script = |s: &str, hook: &'static str| {
            Script::new(s, hook, type_, &d.link, host_ifname.as_deref(), env.clone())
        };
        if let Some(s) = &d.script_up {
            script(s, "up")
                .run()
                .map_err(|e| setup_err(d, "script.up", e))?;
        }
        if let Some(s) = &d.script_down {
            let down = script(s, "down");
            mark(&run, d, move |l| l.script_down = Some(down));
        }
        tracing::info!(container = ctx.name, "{}", plugin.describe(&req, &created));
    }
    // Both handles' threads end here, before the hook returns (see the module docs).
    drop(inside);
    drop(host);
    Ok(())
}

/// The Stop hook: take the interfaces down and away before the container's other resources go
/// (LXC removes its networks before the stop hook and the cgroups).
pub fn stop(ctx: &mut HookCtx<'_>) -> Result<(), lxc_core::Error> {
    let Some(NetStarted(run)) = ctx.state.remove::<NetStarted>() else {
        return Ok(());
    };
    teardown(&run).map_err(|message| lxc_core::Error::Hook {
        phase: Phase::Stop,
        owner: crate::NAME,
        key: None,
        message,
    })
}

fn lock(run: &Mutex<NetRun>) -> std::sync::MutexGuard<'_, NetRun> {
    // Nothing panics with the lock held; a poisoned one still holds consistent data.
    run.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Change the record of interface `d` (the last one pushed for its index).
fn mark(run: &Mutex<NetRun>, d: &NetDev, f: impl FnOnce(&mut Live)) {
    if let Some(l) = lock(run)
        .live
        .iter_mut()
        .rev()
        .find(|l| l.req.index == d.index)
    {
        f(l);
    }
}

/// Undo everything made, newest interface first: `script.down`, the plugin's `down`, its
/// `destroy`; then let the network namespace go. Every step is tried; the failures are
/// returned together (the caller logs them: the monitor's Stop, or the undo stack).
fn teardown(run: &Mutex<NetRun>) -> Result<(), String> {
    let mut run = lock(run);
    let mut failed = Vec::new();
    while let Some(l) = run.live.pop() {
        let key = l.req.net_key();
        if let Some(s) = &l.script_down {
            if let Err(e) = s.run() {
                failed.push(format!("{key}.script.down: {e}"));
            }
        }
        for e in crate::ext::undo_all(l.steps) {
            failed.push(format!("{key}: {e}"));
        }
        if l.up {
            if let Err(e) = l.plugin.down(&l.req, &l.created) {
                failed.push(format!("{key}: plugin {}: {e}", l.plugin.name));
            }
        }
        match l.plugin.destroy(&l.req, &l.created) {
            Ok(()) => tracing::debug!(interface = %l.created.ifname, "{key}: interface removed"),
            Err(e) => failed.push(format!("{key}: plugin {}: {e}", l.plugin.name)),
        }
    }
    // Last: a plugin's `destroy` may leave its links to the namespace (veth: the kernel
    // deletes the pair in the background once the namespace goes), and looks at the namespace
    // through its descriptor to decide.
    run.netns = None;
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("; "))
    }
}

/// Whether the kernel picks the interface's name (no `lxc.net.N.name`, or LXC's `eth%d`). A
/// `phys` without a name is not: it keeps its host name (`link`), which LXC gives it before the
/// container side is set up, so it is made with the named ones (else a kernel-named interface
/// made first could take that name, when `link` looks like `eth0`).
fn kernel_named(d: &NetDev) -> bool {
    d.name == "eth%d" || (d.name.is_empty() && d.type_ != NetType::PHYS)
}

fn origin_of(config: &Config, key: &str) -> Option<Origin> {
    config.origin_of(key).cloned()
}

/// What a plugin is told about interface `d`: every `lxc.net.N.*` entry of it from the last
/// time its type was set (which starts the interface afresh in LXC), in order; a clear is an
/// empty value, as the config engine keeps it.
fn request(ctx: &HookCtx<'_>, d: &NetDev, netns_fd: i32, pid: i32) -> Request {
    let mut config: Vec<KeyValue> = Vec::new();
    for e in ctx.config.entries() {
        match split_key(&e.key) {
            Some(NetKey::All) => config.clear(),
            Some(NetKey::Index(i)) if i == d.index => config.clear(),
            Some(NetKey::Sub(i, sub)) if i == d.index => {
                if sub == "type" && !e.value.is_empty() {
                    config.clear();
                }
                config.push(KeyValue {
                    key: sub.into(),
                    value: e.value.as_str().into(),
                });
            }
            _ => {}
        }
    }
    Request {
        container: ctx.name.into(),
        lxcpath: ctx.lxcpath.display().to_string().into(),
        index: d.index,
        type_: d.type_.name().unwrap_or_default().into(),
        netns_fd,
        init_pid: pid,
        config: config.into(),
    }
}

/// A failed step: the subkey it is about (`ipv4.address`) and what went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepError {
    pub sub: &'static str,
    pub message: String,
}

fn step(sub: &'static str, message: impl Into<String>) -> StepError {
    StepError {
        sub,
        message: message.into(),
    }
}

fn nl_err(sub: &'static str, e: NetlinkError) -> StepError {
    step(sub, e.to_string())
}

/// The gateways `auto` resolved to, from the link's addresses on the host (LXC reads them
/// before the container side is set up).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AutoGateways {
    pub v4: Option<Ipv4Addr>,
    pub v6: Option<Ipv6Addr>,
}

/// Resolve `ipv4.gateway = auto` / `ipv6.gateway = auto`: the first address of the family on
/// `lxc.net.N.link` in the monitor's network namespace. `host` is that namespace's handle,
/// opened here when it is first needed.
pub fn auto_gateways(dev: &NetDev, host: &mut Option<Netlink>) -> Result<AutoGateways, StepError> {
    let want4 = matches!(dev.ipv4_gateway.effective(), Some(Gateway::Auto));
    let want6 = matches!(dev.ipv6_gateway.effective(), Some(Gateway::Auto));
    let mut out = AutoGateways::default();
    if !want4 && !want6 {
        return Ok(out);
    }
    let sub = if want4 {
        "ipv4.gateway"
    } else {
        "ipv6.gateway"
    };
    if dev.link.is_empty() {
        return Err(step(
            sub,
            "auto takes the gateway from the link's address, and lxc.net.N.link is not set",
        ));
    }
    let nl = match host {
        Some(nl) => &*nl,
        slot => &*slot.insert(Netlink::current().map_err(|e| nl_err(sub, e))?),
    };
    let link = nl
        .link_by_name(&dev.link)
        .map_err(|e| nl_err(sub, e))?
        .ok_or_else(|| step(sub, format!("auto: the link {} does not exist", dev.link)))?;
    let addrs = nl.addresses(Some(link.index)).map_err(|e| nl_err(sub, e))?;
    if want4 {
        out.v4 = addrs.iter().find_map(|a| match a.addr {
            IpAddr::V4(v) => Some(v),
            IpAddr::V6(_) => None,
        });
        if out.v4.is_none() {
            return Err(step(
                "ipv4.gateway",
                format!("auto: the link {} has no IPv4 address", dev.link),
            ));
        }
    }
    if want6 {
        let v6: Vec<Ipv6Addr> = addrs
            .iter()
            .filter_map(|a| match a.addr {
                IpAddr::V6(v) => Some(v),
                IpAddr::V4(_) => None,
            })
            .collect();
        out.v6 = v6
            .iter()
            .find(|a| !a.is_unicast_link_local())
            .or(v6.first())
            .copied();
        if out.v6.is_none() {
            return Err(step(
                "ipv6.gateway",
                format!("auto: the link {} has no IPv6 address", dev.link),
            ));
        }
    }
    Ok(out)
}

/// `aa:bb:cc:dd:ee:ff` as bytes.
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut parts = s.split(':');
    for b in &mut out {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 2 {
            return None;
        }
        *b = u8::from_str_radix(p, 16).ok()?;
    }
    parts.next().is_none().then_some(out)
}

/// The kernel's `LOOPBACK_IFINDEX`.
const LOOPBACK_INDEX: u32 = 1;

/// Apply the interface's generic settings inside the container's network namespace (`nl` is a
/// handle there). `ifname` is the name the plugin gave it.
pub fn configure(
    nl: &Netlink,
    dev: &NetDev,
    ifname: &str,
    auto: AutoGateways,
) -> Result<(), StepError> {
    let link = nl
        .link_by_name(ifname)
        .map_err(|e| nl_err("type", e))?
        .ok_or_else(|| {
            step(
                "type",
                format!(
                    "the plugin made {ifname}, but the container's network namespace has no \
                     such interface"
                ),
            )
        })?;
    let index = link.index;

    if let Some(mac) = &dev.hwaddr {
        let bytes = parse_mac(mac).ok_or_else(|| {
            step(
                "hwaddr",
                format!("{mac:?} is not a MAC address (six hex bytes separated by colons)"),
            )
        })?;
        nl.set_address(index, &bytes)
            .map_err(|e| step("hwaddr", format!("{ifname}: {e}")))?;
    }

    if let Some(text) = &dev.mtu {
        let mtu = dev
            .mtu_value()
            .ok_or_else(|| step("mtu", format!("{text:?} is not a number")))?;
        if mtu != link.mtu {
            nl.set_mtu(index, mtu)
                .map_err(|e| step("mtu", format!("{ifname}: {e}")))?;
        }
    }

    for a in &dev.ipv4 {
        let prefix = u8::try_from(a.prefix).unwrap_or(u8::MAX);
        let broadcast = (!a.broadcast.is_unspecified()).then_some(a.broadcast);
        nl.add_address(index, IpAddr::V4(a.addr), prefix, broadcast)
            .map_err(|e| step("ipv4.address", format!("{ifname}: {e}")))?;
    }
    for a in &dev.ipv6 {
        let prefix = u8::try_from(a.prefix).unwrap_or(u8::MAX);
        nl.add_address(index, IpAddr::V6(a.addr), prefix, None)
            .map_err(|e| step("ipv6.address", format!("{ifname}: {e}")))?;
    }

    if dev.flags_up {
        nl.set_up(index)
            .map_err(|e| step("flags", format!("{ifname}: {e}")))?;
        // An interface that is up brings the loopback device up with it (LXC does). `lo` is
        // the first link of every network namespace: its index is always 1.
        nl.set_up(LOOPBACK_INDEX)
            .map_err(|e| step("flags", format!("lo: {e}")))?;
    }

    let v4 = dev.ipv4_gateway.effective().map(|g| match g {
        Gateway::Auto => auto.v4.map(IpAddr::V4),
        Gateway::Dev => None,
        Gateway::Addr(a) => Some(IpAddr::V4(a)),
    });
    if let Some(gw) = v4 {
        gateway(nl, dev, ifname, index, Family::V4, gw)?;
    }
    let v6 = dev.ipv6_gateway.effective().map(|g| match g {
        Gateway::Auto => auto.v6.map(IpAddr::V6),
        Gateway::Dev => None,
        Gateway::Addr(a) => Some(IpAddr::V6(a)),
    });
    if let Some(gw) = v6 {
        gateway(nl, dev, ifname, index, Family::V6, gw)?;
    }
    Ok(())
}

/// The default route of one family: through `gw`, or (None) a device route.
fn gateway(
    nl: &Netlink,
    dev: &NetDev,
    ifname: &str,
    index: u32,
    family: Family,
    gw: Option<IpAddr>,
) -> Result<(), StepError> {
    let (sub, fam, has_addr) = match family {
        Family::V4 => ("ipv4.gateway", "IPv4", !dev.ipv4.is_empty()),
        Family::V6 => ("ipv6.gateway", "IPv6", !dev.ipv6.is_empty()),
    };
    if !dev.flags_up {
        return Err(step(
            sub,
            format!(
                "a gateway needs the interface up, and {ifname} is not brought up \
                 ({} = up is not set)",
                dev.key("flags")
            ),
        ));
    }
    let link_local = matches!(gw, Some(IpAddr::V6(a)) if a.is_unicast_link_local());
    if !has_addr && !link_local {
        return Err(step(
            sub,
            format!("a gateway needs an {fam} address on {ifname}, and it has none"),
        ));
    }
    let first = nl.add_default_route(family, index, gw);
    let (Err(e), Some(g)) = (&first, gw) else {
        return first.map_err(|e| step(sub, format!("default route dev {ifname}: {e}")));
    };
    tracing::debug!(gateway = %g, error = %e, "default route refused, adding a route to the gateway first");
    // A gateway outside the interface's subnets is reachable once it has a device route of
    // its own; then the default route through it goes in.
    let host_prefix = if g.is_ipv4() { 32 } else { 128 };
    nl.add_route(&Route {
        dest: g,
        prefix: host_prefix,
        gateway: None,
        dev: Some(index),
        scope: Scope::Link,
    })
    .map_err(|e| step(sub, format!("route to the gateway {g} on {ifname}: {e}")))?;
    nl.add_default_route(family, index, gw)
        .map_err(|e| step(sub, format!("default route via {g} on {ifname}: {e}")))
}

/// What `script.up` and `script.down` run with: LXC's `LXC_*` variables of the container, and
/// the hook version (0: the container's name, `net` and the hook on the command line; 1: in
/// the environment).
#[derive(Debug, Clone)]
pub struct ScriptEnv {
    name: String,
    version1: bool,
    vars: Vec<(&'static str, OsString)>,
}

impl ScriptEnv {
    /// The environment LXC's hooks get, from the start's context (the core's hook variables).
    pub fn new(ctx: &HookCtx<'_>) -> ScriptEnv {
        ScriptEnv {
            name: ctx.name.to_string(),
            version1: lxc_core::hooks::version1(ctx.config),
            vars: lxc_core::hooks::env(ctx),
        }
    }
}

/// A network script and what it is run with.
#[derive(Debug, Clone)]
pub struct Script {
    pub script: String,
    /// `up` or `down`.
    pub hook: &'static str,
    /// LXC's arguments: the type, then the link (empty when unset: LXC writes an empty word,
    /// which the shell drops), then the host side's name.
    pub args: Vec<String>,
    pub env: ScriptEnv,
}

impl Script {
    /// The script for an interface: `args` are (type, link, host side).
    pub fn new(
        script: &str,
        hook: &'static str,
        type_: &str,
        link: &str,
        host_ifname: Option<&str>,
        env: ScriptEnv,
    ) -> Script {
        let args: Vec<String> = [Some(type_), Some(link), host_ifname]
            .into_iter()
            .flatten()
            .map(str::to_string)
            .collect();
        let mut env = env;
        if env.version1 {
            // LXC names the parent link for these types, and the host side for veth; a plugin
            // type with a host side gets the veth variables.
            let parent = link.to_string();
            match type_ {
                "macvlan" | "phys" => env.vars.push(("LXC_NET_PARENT", parent.into())),
                _ if type_ == "veth" || host_ifname.is_some() => {
                    env.vars
                        .push(("LXC_NET_PEER", host_ifname.unwrap_or_default().into()));
                    env.vars.push(("LXC_NET_PARENT", parent.into()));
                }
                _ => {}
            }
        }
        Script {
            script: script.to_string(),
            hook,
            args,
            env,
        }
    }

    /// The shell line LXC runs (`sh -c`): `exec SCRIPT NAME net HOOK ARGS...` (hook version 0)
    /// or `exec SCRIPT ARGS...` (1).
    pub fn line(&self) -> String {
        let mut line = if self.env.version1 {
            format!("exec {}", self.script)
        } else {
            format!("exec {} {} net {}", self.script, self.env.name, self.hook)
        };
        for a in &self.args {
            line.push(' ');
            line.push_str(a);
        }
        line
    }

    /// Run it; Err says why it failed.
    pub fn run(&self) -> Result<(), String> {
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c").arg(bytes::to_os(&self.line()));
        for (k, v) in &self.env.vars {
            cmd.env(k, v);
        }
        if self.env.version1 {
            cmd.env("LXC_HOOK_TYPE", self.hook)
                .env("LXC_HOOK_SECTION", "net")
                .env("LXC_NET_TYPE", self.args.first().map_or("", String::as_str));
        }
        tracing::info!(container = %self.env.name, hook = self.hook, script = %bytes::shown(&self.script), "running network script");
        let status = cmd
            .status()
            .map_err(|e| format!("cannot run {}: {e}", bytes::quote(&self.script)))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("{} failed ({status})", bytes::quote(&self.script)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(version1: bool) -> ScriptEnv {
        ScriptEnv {
            name: "c1".into(),
            version1,
            vars: Vec::new(),
        }
    }

    /// The order of LXC's two passes: a nameless `phys` goes with the named interfaces (it
    /// keeps `link`'s name); `eth%d` and the other nameless ones are the kernel's.
    #[test]
    fn which_names_are_the_kernels() {
        let c = Config::parse_str(
            "lxc.net.0.type = veth\n\
             lxc.net.1.type = phys\nlxc.net.1.link = eth0\n\
             lxc.net.2.type = phys\nlxc.net.2.link = eth1\nlxc.net.2.name = eth%d\n\
             lxc.net.3.type = macvlan\nlxc.net.3.link = eth2\nlxc.net.3.name = eth%d\n\
             lxc.net.4.type = veth\nlxc.net.4.name = eth7\n",
            None,
        )
        .expect("config");
        let named: Vec<(u32, bool)> = netdevs(&c)
            .expect("netdevs")
            .iter()
            .map(|d| (d.index, kernel_named(d)))
            .collect();
        assert_eq!(
            named,
            [(0, true), (1, false), (2, true), (3, true), (4, false)]
        );
    }

    #[test]
    fn macs() {
        assert_eq!(
            parse_mac("00:16:3e:0A:b1:ff"),
            Some([0, 0x16, 0x3e, 0x0a, 0xb1, 0xff])
        );
        assert_eq!(parse_mac("00:16:3e:0a:b1"), None);
        assert_eq!(parse_mac("00:16:3e:0a:b1:ff:00"), None);
        assert_eq!(parse_mac("00:16:3e:0a:b1:xx"), None);
        assert_eq!(parse_mac("00:16:3e:0a:b1:"), None);
    }

    #[test]
    fn script_lines_as_lxc_builds_them() {
        let s = Script::new("/s up", "up", "veth", "br0", Some("vethA"), env(false));
        assert_eq!(s.line(), "exec /s up c1 net up veth br0 vethA");
        // LXC 5.0.2 without a link: `c1 net down veth vethA` reaches the script.
        let s = Script::new("/s", "down", "veth", "", Some("vethA"), env(false));
        assert_eq!(s.line(), "exec /s c1 net down veth  vethA");
        let s = Script::new("/s", "up", "macvlan", "eth1", None, env(true));
        assert_eq!(s.line(), "exec /s macvlan eth1");
        assert!(s
            .env
            .vars
            .iter()
            .any(|(k, v)| *k == "LXC_NET_PARENT" && v == "eth1"));
        let s = Script::new("/s", "up", "veth", "", Some("vethA"), env(true));
        assert!(s
            .env
            .vars
            .iter()
            .any(|(k, v)| *k == "LXC_NET_PEER" && v == "vethA"));
    }
}
