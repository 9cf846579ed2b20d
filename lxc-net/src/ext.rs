//! The seams through which the network API extensions join the base. Each extension is a crate
//! of its own under `lxc-net/` (`network_l2proxy`, ...), linked in by the facade's feature of
//! the same name; the base names none of them in its logic, it only offers:
//!
//! - keys: an extension registers its `lxc.net.[i].<sub>` keys with [`crate::net_key`] and its
//!   [`key_rules`], so they join the one model the base replays (which knows every subkey of
//!   LXC 5.0); a subkey nobody registered is "not supported by this build";
//! - [`GATES`]: uses of base keys that LXC gained with an extension (`ipv4.gateway = dev`, an
//!   `mtu` on `phys` and `macvlan`), which the base refuses unless a linked crate opens them;
//! - [`INTERFACE_STEPS`]: work on an interface after the host made it and applied its generic
//!   settings, in the monitor, each step handing back how to undo it at teardown (on stop, and
//!   on a failed start).
//!
//! Work that belongs to making a link of one type (a veth's routes, its router mode, its bridge
//! VLANs) is the plugin's that makes the link: it reads the extension's keys from its request,
//! and they reach it only when the extension's crate registered them.

use lxc_core::linkme::distributed_slice;
use lxc_core::registry::KeyRules;

use crate::model::{NetDev, NetType};
use crate::setup::StepError;

/// A use of a base key that an API extension brings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gated {
    /// `ipv4.gateway = dev` / `ipv6.gateway = dev`: a default route through the device, with
    /// no gateway address.
    GatewayDev,
    /// `mtu` on a network of type `phys` or `macvlan`.
    PhysMacvlanMtu,
    /// The `ipvlan` network type itself (LXC added the type and its keys with the extension; the
    /// plugin that makes the link is loaded at run time, the switch is linked in).
    IpvlanType,
}

impl Gated {
    /// The API extension that brings it (what a refusal tells the user to enable).
    pub fn extension(self) -> &'static str {
        match self {
            Gated::GatewayDev => "network_gateway_device_route",
            Gated::PhysMacvlanMtu => "network_phys_macvlan_mtu",
            Gated::IpvlanType => "network_ipvlan",
        }
    }
}

/// An extension's crate opening a [`Gated`] use.
pub struct Gate {
    /// The registration (extension) that opens it.
    pub owner: &'static str,
    pub opens: Gated,
}

/// The gates linked in.
#[distributed_slice]
#[linkme(crate = lxc_core::linkme)]
pub static GATES: [Gate];

/// Whether a linked crate opened `g`.
pub fn is_open(g: Gated) -> bool {
    GATES.iter().any(|gate| gate.opens == g)
}

/// What the base refuses at start, before anything is made, because the extension that would
/// give it meaning is not linked: `Err((subkey, why))`. LXC without the extension ignores an
/// MTU on `phys` and `macvlan`; a value that silently does nothing is refused here instead.
pub fn check_interface(d: &NetDev) -> Result<(), (&'static str, String)> {
    if d.type_ == NetType::IPVLAN && !is_open(Gated::IpvlanType) {
        return Err((
            "type",
            format!(
                "a network of type ipvlan needs the API extension {}, which this build does \
                 not have",
                Gated::IpvlanType.extension()
            ),
        ));
    }
    let gated_mtu = matches!(d.type_, NetType::PHYS | NetType::MACVLAN) && d.mtu.is_some();
    if gated_mtu && !is_open(Gated::PhysMacvlanMtu) {
        return Err((
            "mtu",
            format!(
                "an MTU for a network of type {} needs the API extension {}, which this build \
                 does not have",
                d.type_,
                Gated::PhysMacvlanMtu.extension()
            ),
        ));
    }
    Ok(())
}

/// The rules an extension's network keys need (LXC's network setters, see [`crate::rules`]),
/// under the extension's own registration name: the config engine finds a key's rules by the
/// registration that owns the key.
pub const fn key_rules(owner: &'static str) -> KeyRules {
    KeyRules {
        owner,
        set: crate::rules::set,
        get: crate::rules::get,
        clear: crate::rules::clear,
        subkeys: None,
    }
}

/// What a step sees of one interface, in the monitor (whose network namespace is the host's).
pub struct StepCtx<'a> {
    pub container: &'a str,
    pub dev: &'a NetDev,
    /// The interface's name inside the container.
    pub ifname: &'a str,
    /// The host side's name, for a type that has one (veth).
    pub host_ifname: Option<&'a str>,
}

/// How to undo what a step did.
pub struct Undo {
    /// The step's registration, for the failure's message.
    pub owner: &'static str,
    pub run: Box<dyn FnOnce() -> Result<(), String> + Send>,
}

impl Undo {
    pub fn new(
        owner: &'static str,
        run: impl FnOnce() -> Result<(), String> + Send + 'static,
    ) -> Undo {
        Undo {
            owner,
            run: Box::new(run),
        }
    }
}

/// Work an extension does on each interface after the host's generic setup (addresses, up,
/// gateways) and before the plugin's `up`. `Ok(None)`: nothing to do for this interface. A
/// step that fails undoes its own partial work before it returns the error.
pub struct InterfaceStep {
    pub owner: &'static str,
    /// What the step checks on the host before anything of the start is made (PreClone, in the
    /// monitor), where LXC checks it before it creates the interface.
    pub check: Option<StepCheck>,
    pub run: fn(&StepCtx<'_>) -> Result<Option<Undo>, StepError>,
}

/// A step's check of one interface on the host: `Err` refuses the start.
pub type StepCheck = fn(&NetDev) -> Result<(), StepError>;

/// The steps' checks for one interface, before anything is made.
pub fn check_steps(d: &NetDev) -> Result<(), StepError> {
    let mut steps: Vec<&InterfaceStep> = INTERFACE_STEPS.iter().collect();
    steps.sort_by_key(|s| s.owner);
    steps
        .into_iter()
        .filter_map(|s| s.check)
        .try_for_each(|check| check(d))
}

/// The steps linked in, run in the order of their owners' names.
#[distributed_slice]
#[linkme(crate = lxc_core::linkme)]
pub static INTERFACE_STEPS: [InterfaceStep];

/// Run every step for one interface. On a failure the steps done are undone (newest first) and
/// the failure is returned; otherwise what undoes them, in the order they ran.
pub fn run_steps(ctx: &StepCtx<'_>) -> Result<Vec<Undo>, StepError> {
    let mut steps: Vec<&InterfaceStep> = INTERFACE_STEPS.iter().collect();
    steps.sort_by_key(|s| s.owner);
    let mut done = Vec::new();
    for s in steps {
        match (s.run)(ctx) {
            Ok(Some(u)) => done.push(u),
            Ok(None) => {}
            Err(e) => {
                for why in undo_all(done) {
                    tracing::warn!(
                        container = ctx.container,
                        "undoing after a failed step: {why}"
                    );
                }
                return Err(e);
            }
        }
    }
    Ok(done)
}

/// Undo steps, newest first; every one is tried. Returns the failures, each naming its step.
pub fn undo_all(done: Vec<Undo>) -> Vec<String> {
    done.into_iter()
        .rev()
        .filter_map(|u| (u.run)().err().map(|e| format!("{}: {e}", u.owner)))
        .collect()
}
