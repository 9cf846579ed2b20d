//! LXC's in-memory network model (`struct lxc_netdev`) and the operations its config keys
//! perform on it, replayed from a [`Config`]'s entries in order.
//!
//! LXC's network keys are not independent values: setting `type` resets the whole interface,
//! `macvlan.mode` is refused unless the type is already `macvlan`, a gateway's `auto` and `dev`
//! flags outlive a later address, and an interface springs into existence (as type `empty`)
//! when any of its keys is first set. So the config engine keeps every `lxc.net*` line in order,
//! a clear as an empty-valued entry kept in memory only, and this module replays them through
//! the same state machine LXC runs. Getters print from the replayed state; the start code reads
//! the typed [`NetDev`]s.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use lxc_core::keys::parse::{safe_int, safe_uint};
use lxc_core::registry::{runtime, ValueKind};
use lxc_core::{Config, Origin};

use crate::addr::{class_prefix, get_u16, inet_ntop6, inet_pton4, inet_pton6};

/// Interface names are cut to `IFNAMSIZ - 1` bytes, as LXC's `strlcpy` into `char[16]` does.
pub const IFNAMSIZ: usize = 16;
/// The largest VLAN id a bridge port takes (`BRIDGE_VLAN_ID_MAX`).
pub const BRIDGE_VLAN_ID_MAX: u16 = 4094;
/// LXC refuses network indices from `INT_MAX` on.
pub const MAX_INDEX: u32 = i32::MAX as u32;

/// `lxc.net.N.type`: a type's name. The built-in names are LXC's, with LXC's meaning; any
/// other name is a type a network plugin registered ([`crate::types`]). Names are `'static`
/// (a plugin's are kept for the life of the process, as the plugin is), so a type is `Copy`
/// and its constants work as patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NetType(Option<&'static str>);

impl NetType {
    /// Its own network namespace with only the loopback device. Also what an interface is
    /// before its type is set (LXC's zeroed struct reads as `empty`).
    pub const EMPTY: NetType = NetType(Some("empty"));
    pub const VETH: NetType = NetType(Some("veth"));
    pub const MACVLAN: NetType = NetType(Some("macvlan"));
    pub const IPVLAN: NetType = NetType(Some("ipvlan"));
    pub const PHYS: NetType = NetType(Some("phys"));
    pub const VLAN: NetType = NetType(Some("vlan"));
    /// Share the host's network namespace (when it is the only kind of interface).
    pub const NONE: NetType = NetType(Some("none"));
    /// `lxc.net.N.type` was cleared: LXC prints `(null)` for the key, `(invalid)` in `lxc.net`,
    /// and refuses to start.
    pub const CLEARED: NetType = NetType(None);

    /// The types LXC itself has, which `lxc.net.N.type` always accepts.
    pub const BUILTIN: [NetType; 7] = [
        NetType::EMPTY,
        NetType::VETH,
        NetType::MACVLAN,
        NetType::IPVLAN,
        NetType::PHYS,
        NetType::VLAN,
        NetType::NONE,
    ];

    /// The type `lxc.net.N.type = s` sets: a built-in one, else one a plugin registered.
    pub fn from_name(s: &str) -> Option<NetType> {
        NetType::builtin(s).or_else(|| crate::types::find(s).map(|n| NetType(Some(n))))
    }

    /// The built-in type named `s`.
    pub fn builtin(s: &str) -> Option<NetType> {
        NetType::BUILTIN.into_iter().find(|t| t.0 == Some(s))
    }

    /// The name LXC uses; `None` for a cleared type.
    pub fn name(self) -> Option<&'static str> {
        self.0
    }

    /// One of LXC's own types (not a cleared one, not a plugin's).
    pub fn is_builtin(self) -> bool {
        NetType::BUILTIN.contains(&self)
    }

    /// Whether the type needs work on the host that only a network plugin does (creating a
    /// link and moving it into the container).
    pub fn needs_plugin(self) -> bool {
        !matches!(self, NetType::EMPTY | NetType::NONE | NetType::CLEARED)
    }
}

impl std::fmt::Display for NetType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name().unwrap_or("(invalid)"))
    }
}

/// A mode key's value; `Invalid` after the key was cleared (LXC stores -1 and prints
/// `(invalid)`).
macro_rules! mode_enum {
    ($(#[$m:meta])* $name:ident { $($var:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($var,)+ Invalid }

        impl $name {
            pub fn from_name(s: &str) -> Option<Self> {
                match s { $($s => Some(Self::$var),)+ _ => None }
            }
            pub fn name(self) -> &'static str {
                match self { $(Self::$var => $s,)+ Self::Invalid => "(invalid)" }
            }
            /// The values the key accepts, for error messages.
            pub const NAMES: &'static str = concat!($($s, " "),+);
        }
    };
}

mode_enum!(
    /// `lxc.net.N.macvlan.mode`.
    MacvlanMode { Private = "private", Vepa = "vepa", Bridge = "bridge", Passthru = "passthru" }
);
mode_enum!(
    /// `lxc.net.N.ipvlan.mode` (API extension `network_ipvlan`).
    IpvlanMode { L3 = "l3", L3s = "l3s", L2 = "l2" }
);
mode_enum!(
    /// `lxc.net.N.ipvlan.isolation` (API extension `network_ipvlan`).
    IpvlanIsolation { Bridge = "bridge", Private = "private", Vepa = "vepa" }
);
mode_enum!(
    /// `lxc.net.N.veth.mode` (API extension `network_veth_router`).
    VethMode { Bridge = "bridge", Router = "router" }
);

/// An IPv4 address with its prefix and broadcast address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Cidr {
    pub addr: Ipv4Addr,
    pub prefix: u32,
    pub broadcast: Ipv4Addr,
}

/// An IPv6 address with its prefix (LXC does not bound it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Cidr {
    pub addr: Ipv6Addr,
    pub prefix: u32,
}

/// What `ipv4.gateway`/`ipv6.gateway` hold. The three parts are independent in LXC: clearing
/// the key forgets the address only, and an address set after `auto` or `dev` leaves `dev` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GatewayConf<A> {
    pub addr: Option<A>,
    pub auto: bool,
    pub dev: bool,
}

impl<A> Default for GatewayConf<A> {
    fn default() -> Self {
        GatewayConf {
            addr: None,
            auto: false,
            dev: false,
        }
    }
}

/// The gateway a network uses, in LXC's order of precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gateway<A> {
    /// Use the address of the host side of the link.
    Auto,
    /// A device route (API extension `network_gateway_device_route`).
    Dev,
    Addr(A),
}

impl<A: Copy> GatewayConf<A> {
    pub fn effective(&self) -> Option<Gateway<A>> {
        if self.auto {
            Some(Gateway::Auto)
        } else if self.dev {
            Some(Gateway::Dev)
        } else {
            self.addr.map(Gateway::Addr)
        }
    }
}

/// The veth-only settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VethAttrs {
    /// `veth.mode`; `None` until the type is set to veth (LXC then defaults it to bridge).
    pub mode: Option<VethMode>,
    /// The host side's name (`veth.pair`).
    pub pair: String,
    /// `veth.n_rxqueues` / `veth.n_txqueues`: used when positive.
    pub n_rxqueues: i32,
    pub n_txqueues: i32,
    /// `veth.vlan.id`: -1 for `none`; meaningful when `vlan_id_set`.
    pub vlan_id: i16,
    pub vlan_id_set: bool,
    pub vlan_tagged_ids: Vec<u16>,
    pub ipv4_routes: Vec<Ipv4Cidr>,
    pub ipv6_routes: Vec<Ipv6Cidr>,
}

/// One network interface, `lxc.net.<index>.*`, as LXC holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetDev {
    pub index: u32,
    pub type_: NetType,
    /// `flags = up` (any value means up).
    pub flags_up: bool,
    /// The host device the interface is made from or attached to.
    pub link: String,
    /// The name inside the container (`lo` for `empty`, set by the type).
    pub name: String,
    pub hwaddr: Option<String>,
    /// As written: LXC keeps the string and reads the number when it configures the link.
    pub mtu: Option<String>,
    /// `l2proxy` (API extension `network_l2proxy`).
    pub l2proxy: bool,
    pub ipv4: Vec<Ipv4Cidr>,
    pub ipv4_gateway: GatewayConf<Ipv4Addr>,
    pub ipv6: Vec<Ipv6Cidr>,
    pub ipv6_gateway: GatewayConf<Ipv6Addr>,
    pub script_up: Option<String>,
    pub script_down: Option<String>,
    pub veth: VethAttrs,
    /// The keys network plugins registered (`lxc.net.N.<suffix>` for a suffix that is none of
    /// LXC's), as `(suffix, value)` in the order they were set: a single key's last value, a
    /// list key's every value. Setting the type clears them, as it clears LXC's own keys.
    pub plugin_keys: Vec<(String, String)>,
    pub macvlan_mode: MacvlanMode,
    pub ipvlan_mode: IpvlanMode,
    pub ipvlan_isolation: IpvlanIsolation,
    /// `vlan.id`.
    pub vlan_id: u16,
    /// Where the type was set, for errors at start.
    pub type_origin: Option<Origin>,
    /// Where the name was set.
    pub name_origin: Option<Origin>,
}

impl NetDev {
    /// An interface as LXC allocates it when one of its keys is first set: all zero, which
    /// reads as type `empty` with no name.
    pub fn new(index: u32) -> NetDev {
        NetDev {
            index,
            type_: NetType::EMPTY,
            flags_up: false,
            link: String::new(),
            name: String::new(),
            hwaddr: None,
            mtu: None,
            l2proxy: false,
            ipv4: Vec::new(),
            ipv4_gateway: GatewayConf::default(),
            ipv6: Vec::new(),
            ipv6_gateway: GatewayConf::default(),
            script_up: None,
            script_down: None,
            veth: VethAttrs::default(),
            plugin_keys: Vec::new(),
            macvlan_mode: MacvlanMode::Private,
            // Zero is l2 and bridge in LXC's numbering, and setting the type keeps a value that
            // is valid, so an ipvlan interface starts as l2 (not the documented l3).
            ipvlan_mode: IpvlanMode::L2,
            ipvlan_isolation: IpvlanIsolation::Bridge,
            vlan_id: 0,
            type_origin: None,
            name_origin: None,
        }
    }

    /// The key of one of this interface's settings.
    pub fn key(&self, sub: &str) -> String {
        format!("lxc.net.{}.{sub}", self.index)
    }

    /// The MTU as a number, if it is one (LXC reads it with `lxc_safe_uint` at start).
    pub fn mtu_value(&self) -> Option<u32> {
        self.mtu.as_deref().and_then(safe_uint)
    }
}

/// The subkeys of `lxc.net.N.`, LXC 5.0's `config_jump_table_net`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sub {
    Flags,
    Hwaddr,
    Ipv4Address,
    Ipv4Gateway,
    Ipv6Address,
    Ipv6Gateway,
    Link,
    L2proxy,
    MacvlanMode,
    IpvlanMode,
    IpvlanIsolation,
    Mtu,
    Name,
    ScriptDown,
    ScriptUp,
    Type,
    VlanId,
    VethMode,
    VethNRxqueues,
    VethNTxqueues,
    VethPair,
    VethIpv4Route,
    VethIpv6Route,
    VethVlanId,
    VethVlanTaggedId,
}

impl Sub {
    pub const ALL: [Sub; 25] = [
        Sub::Flags,
        Sub::Hwaddr,
        Sub::Ipv4Address,
        Sub::Ipv4Gateway,
        Sub::Ipv6Address,
        Sub::Ipv6Gateway,
        Sub::Link,
        Sub::L2proxy,
        Sub::MacvlanMode,
        Sub::IpvlanMode,
        Sub::IpvlanIsolation,
        Sub::Mtu,
        Sub::Name,
        Sub::ScriptDown,
        Sub::ScriptUp,
        Sub::Type,
        Sub::VlanId,
        Sub::VethMode,
        Sub::VethNRxqueues,
        Sub::VethNTxqueues,
        Sub::VethPair,
        Sub::VethIpv4Route,
        Sub::VethIpv6Route,
        Sub::VethVlanId,
        Sub::VethVlanTaggedId,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Sub::Flags => "flags",
            Sub::Hwaddr => "hwaddr",
            Sub::Ipv4Address => "ipv4.address",
            Sub::Ipv4Gateway => "ipv4.gateway",
            Sub::Ipv6Address => "ipv6.address",
            Sub::Ipv6Gateway => "ipv6.gateway",
            Sub::Link => "link",
            Sub::L2proxy => "l2proxy",
            Sub::MacvlanMode => "macvlan.mode",
            Sub::IpvlanMode => "ipvlan.mode",
            Sub::IpvlanIsolation => "ipvlan.isolation",
            Sub::Mtu => "mtu",
            Sub::Name => "name",
            Sub::ScriptDown => "script.down",
            Sub::ScriptUp => "script.up",
            Sub::Type => "type",
            Sub::VlanId => "vlan.id",
            Sub::VethMode => "veth.mode",
            Sub::VethNRxqueues => "veth.n_rxqueues",
            Sub::VethNTxqueues => "veth.n_txqueues",
            Sub::VethPair => "veth.pair",
            Sub::VethIpv4Route => "veth.ipv4.route",
            Sub::VethIpv6Route => "veth.ipv6.route",
            Sub::VethVlanId => "veth.vlan.id",
            Sub::VethVlanTaggedId => "veth.vlan.tagged.id",
        }
    }

    pub fn from_name(s: &str) -> Option<Sub> {
        Sub::ALL.into_iter().find(|k| k.name() == s)
    }

    /// The type a subkey belongs to: LXC refuses to set or print it for another type (and
    /// clearing it there does nothing).
    pub fn only_for(self) -> Option<NetType> {
        match self {
            Sub::MacvlanMode => Some(NetType::MACVLAN),
            Sub::IpvlanMode | Sub::IpvlanIsolation => Some(NetType::IPVLAN),
            Sub::VlanId => Some(NetType::VLAN),
            Sub::VethMode
            | Sub::VethNRxqueues
            | Sub::VethNTxqueues
            | Sub::VethPair
            | Sub::VethIpv4Route
            | Sub::VethIpv6Route
            | Sub::VethVlanId
            | Sub::VethVlanTaggedId => Some(NetType::VETH),
            _ => None,
        }
    }

    /// The API extension a subkey belongs to, if it is not part of the base network keys.
    pub fn extension(self) -> Option<&'static str> {
        match self {
            Sub::VethIpv4Route | Sub::VethIpv6Route => Some("network_veth_routes"),
            Sub::IpvlanMode | Sub::IpvlanIsolation => Some("network_ipvlan"),
            Sub::L2proxy => Some("network_l2proxy"),
            Sub::VethMode => Some("network_veth_router"),
            Sub::VethVlanId | Sub::VethVlanTaggedId => Some("network_bridge_vlan"),
            _ => None,
        }
    }
}

/// A network key split into its index and subkey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetKey<'a> {
    /// `lxc.net`: every network.
    All,
    /// `lxc.net.N`: one network.
    Index(u32),
    /// `lxc.net.N.<sub>`; the subkey as written (it may be one LXC does not know).
    Sub(u32, &'a str),
}

/// Split `lxc.net`, `lxc.net.N` or `lxc.net.N.sub`. The index is decimal digits (leading zeros
/// allowed, as LXC's `strtoll` reads them).
pub fn split_key(key: &str) -> Option<NetKey<'_>> {
    if key == "lxc.net" {
        return Some(NetKey::All);
    }
    let rest = key.strip_prefix("lxc.net.")?;
    let (idx, sub) = match rest.split_once('.') {
        Some((i, s)) => (i, Some(s)),
        None => (rest, None),
    };
    if idx.is_empty() || !idx.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // A subkey at digits past u32 is still a network key, at an index past the limit (so it
    // is refused as out of range, as the registry resolves it). A bare `lxc.net.<huge>` is no
    // key: LXC fails to clear it, while clearing `lxc.net.4294967295` succeeds.
    let idx: u32 = match idx.parse() {
        Ok(i) => i,
        Err(_) if sub.is_some() => u32::MAX,
        Err(_) => return None,
    };
    Some(match sub {
        Some(s) => NetKey::Sub(idx, s),
        None => NetKey::Index(idx),
    })
}

/// A subkey's value, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Val {
    Type(NetType),
    Up,
    Str(String),
    Bool(bool),
    Int(i32),
    U16(u16),
    VethVlan(i16),
    Macvlan(MacvlanMode),
    Ipvlan(IpvlanMode),
    Isolation(IpvlanIsolation),
    Veth(VethMode),
    V4(Ipv4Cidr),
    V6(Ipv6Cidr),
    Gw4(GwVal<Ipv4Addr>),
    Gw6(GwVal<Ipv6Addr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GwVal<A> {
    Auto,
    Dev,
    Addr(A),
}

/// Whether `dev` gateways are in this build (their extension's crate opens them).
fn gateway_dev_supported() -> bool {
    crate::ext::is_open(crate::ext::Gated::GatewayDev)
}

/// Read a value the way the subkey's LXC setter does, without looking at the interface. The
/// error says what was expected.
pub(crate) fn parse_value(sub: Sub, value: &str) -> Result<Val, String> {
    Ok(match sub {
        Sub::Type => Val::Type(NetType::from_name(value).ok_or_else(type_want)?),
        Sub::Flags => Val::Up,
        Sub::Link
        | Sub::Name
        | Sub::VethPair
        | Sub::Mtu
        | Sub::ScriptUp
        | Sub::ScriptDown
        | Sub::Hwaddr => Val::Str(value.to_string()),
        Sub::L2proxy => match safe_uint(value) {
            Some(0) => Val::Bool(false),
            Some(1) => Val::Bool(true),
            _ => return Err("0 or 1".into()),
        },
        Sub::MacvlanMode => Val::Macvlan(
            MacvlanMode::from_name(value)
                .ok_or_else(|| format!("a macvlan mode: {}", MacvlanMode::NAMES.trim_end()))?,
        ),
        Sub::IpvlanMode => Val::Ipvlan(
            IpvlanMode::from_name(value)
                .ok_or_else(|| format!("an ipvlan mode: {}", IpvlanMode::NAMES.trim_end()))?,
        ),
        Sub::IpvlanIsolation => {
            Val::Isolation(IpvlanIsolation::from_name(value).ok_or_else(|| {
                format!("an ipvlan isolation: {}", IpvlanIsolation::NAMES.trim_end())
            })?)
        }
        Sub::VethMode => Val::Veth(
            VethMode::from_name(value)
                .ok_or_else(|| format!("a veth mode: {}", VethMode::NAMES.trim_end()))?,
        ),
        Sub::VethNRxqueues | Sub::VethNTxqueues => match safe_int(value) {
            Some(n) if n > 0 => Val::Int(n),
            _ => return Err("a positive number of queues".into()),
        },
        Sub::VlanId => Val::U16(
            get_u16(value).ok_or("a VLAN id from 0 to 65535 (decimal, 0x hex or 0 octal)")?,
        ),
        Sub::VethVlanId if value == "none" => Val::VethVlan(-1),
        Sub::VethVlanId | Sub::VethVlanTaggedId => {
            let id = get_u16(value)
                .filter(|v| *v <= BRIDGE_VLAN_ID_MAX)
                .ok_or_else(|| {
                    format!(
                        "a VLAN id from 0 to {BRIDGE_VLAN_ID_MAX}{}",
                        if sub == Sub::VethVlanId {
                            " or none"
                        } else {
                            ""
                        }
                    )
                })?;
            if sub == Sub::VethVlanId {
                Val::VethVlan(id as i16)
            } else {
                Val::U16(id)
            }
        }
        Sub::Ipv4Address => {
            const WANT: &str = "an IPv4 address `a.b.c.d[/prefix] [broadcast]` (prefix 0-32)";
            let (addr, bcast) = match value.split_once(' ') {
                Some((a, b)) => (a, Some(b)),
                None => (value, None),
            };
            let (addr, prefix) = match addr.split_once('/') {
                Some((a, p)) => (a, Some(p)),
                None => (addr, None),
            };
            let addr = inet_pton4(addr).ok_or(WANT)?;
            let bcast = match bcast {
                Some(b) => Some(inet_pton4(b).ok_or(WANT)?),
                None => None,
            };
            let prefix = match prefix {
                Some(p) => safe_uint(p).ok_or(WANT)?,
                None => class_prefix(addr),
            };
            if prefix > 32 {
                return Err(WANT.into());
            }
            let broadcast = bcast.unwrap_or_else(|| match prefix {
                // A host route or a point-to-point pair (RFC 3021) has no broadcast address.
                31 | 32 => Ipv4Addr::UNSPECIFIED,
                // The address with its host bits set, as LXC's main branch computes it; LXC
                // 5.0.2 ORs the host bits into zero (0.0.0.255 for a /24), a bug it fixed
                // since (decisions 73).
                p => Ipv4Addr::from(u32::from(addr) | (u32::MAX >> p)),
            });
            Val::V4(Ipv4Cidr {
                addr,
                prefix,
                broadcast,
            })
        }
        Sub::Ipv6Address => {
            const WANT: &str = "an IPv6 address `addr[/prefix]`";
            let (addr, prefix) = match value.split_once('/') {
                Some((a, p)) => (a, safe_uint(p).ok_or(WANT)?),
                None => (value, 64),
            };
            Val::V6(Ipv6Cidr {
                addr: inet_pton6(addr).ok_or(WANT)?,
                prefix,
            })
        }
        Sub::VethIpv4Route => {
            const WANT: &str = "an IPv4 route `a.b.c.d/prefix` (prefix 0-32)";
            let (addr, prefix) = value.split_once('/').ok_or(WANT)?;
            let prefix = safe_uint(prefix).filter(|p| *p <= 32).ok_or(WANT)?;
            let addr = inet_pton4(addr).ok_or(WANT)?;
            Val::V4(Ipv4Cidr {
                addr,
                prefix,
                broadcast: Ipv4Addr::UNSPECIFIED,
            })
        }
        Sub::VethIpv6Route => {
            const WANT: &str = "an IPv6 route `addr/prefix` (prefix 0-128)";
            let (addr, prefix) = value.split_once('/').ok_or(WANT)?;
            let prefix = safe_uint(prefix).filter(|p| *p <= 128).ok_or(WANT)?;
            Val::V6(Ipv6Cidr {
                addr: inet_pton6(addr).ok_or(WANT)?,
                prefix,
            })
        }
        Sub::Ipv4Gateway => Val::Gw4(match value {
            "auto" => GwVal::Auto,
            "dev" if gateway_dev_supported() => GwVal::Dev,
            _ => GwVal::Addr(inet_pton4(value).ok_or_else(|| gateway_want("IPv4"))?),
        }),
        Sub::Ipv6Gateway => Val::Gw6(match value {
            "auto" => GwVal::Auto,
            "dev" if gateway_dev_supported() => GwVal::Dev,
            _ => GwVal::Addr(inet_pton6(value).ok_or_else(|| gateway_want("IPv6"))?),
        }),
    })
}

/// What `lxc.net.N.type` takes: LXC's types, and those of the plugins loaded.
fn type_want() -> String {
    const LXC: &str = "a network type: empty, veth, macvlan, ipvlan, phys, vlan";
    match crate::types::registered().as_slice() {
        [] => format!("{LXC} or none"),
        more => format!(
            "{LXC}, none or a type a loaded network plugin serves: {}",
            more.join(", ")
        ),
    }
}

/// The run-time key (a network plugin's) that `key` is, if it belongs to the network model.
pub(crate) fn plugin_key(key: &str) -> Option<runtime::KeyInfo> {
    runtime::key_info(key).filter(|k| k.owner == crate::NAME)
}

/// Whether a plugin's key applies to the interface: a plugin that brings types of its own has
/// type-specific keys, as LXC's `veth.*` keys are (a plugin serving only LXC's types has keys
/// for any type). `Err`: the types it applies to.
fn plugin_key_types(dev: &NetDev, info: &runtime::KeyInfo) -> Result<(), Vec<&'static str>> {
    let types = crate::types::served_by(info.registration);
    if types.is_empty() || dev.type_.name().is_some_and(|t| types.contains(&t)) {
        Ok(())
    } else {
        Err(types)
    }
}

/// What a plugin's key prints: a single key its last value, a list key each value on its own
/// line (as LXC's own list keys print). `Err` for an interface of another type, as LXC's
/// getters of type-specific keys fail.
pub(crate) fn format_plugin_key(
    dev: &NetDev,
    suffix: &str,
    info: &runtime::KeyInfo,
) -> Result<String, String> {
    plugin_key_types(dev, info).map_err(|types| {
        format!(
            "{} applies to type {} only; {} is {}",
            dev.key(suffix),
            types.join(" or "),
            dev.key("type"),
            describe_type(dev.type_)
        )
    })?;
    let mut values = dev
        .plugin_keys
        .iter()
        .filter(|(k, _)| k == suffix)
        .map(|(_, v)| v.as_str());
    Ok(match info.kind {
        ValueKind::Single => values.next_back().unwrap_or_default().to_string(),
        ValueKind::List => values.collect::<Vec<_>>().join("\n"),
    })
}

fn gateway_want(family: &str) -> String {
    if gateway_dev_supported() {
        format!("an {family} address, auto or dev")
    } else {
        format!(
            "an {family} address or auto (dev needs the API extension {}, not in this build)",
            crate::ext::Gated::GatewayDev.extension()
        )
    }
}

/// Cut a name to what fits LXC's `char[IFNAMSIZ]` (it logs an error and keeps the rest).
fn ifname(s: &str) -> String {
    let mut end = s.len().min(IFNAMSIZ - 1);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// The interfaces of the caller's network namespace, by ifindex (the order LXC's
/// `netns_getifaddrs` lists them in).
fn host_interfaces() -> Vec<String> {
    let Ok(rd) = std::fs::read_dir("/sys/class/net") else {
        return Vec::new();
    };
    let mut links: Vec<(u32, String)> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            let idx = std::fs::read_to_string(e.path().join("ifindex")).ok()?;
            Some((idx.trim().parse().ok()?, name))
        })
        .collect();
    links.sort();
    links.into_iter().map(|(_, n)| n).collect()
}

/// Apply one subkey's setter to an interface. `value` is the value as stored (a `hwaddr`'s
/// placeholders were filled when it was set).
pub(crate) fn apply_set(
    dev: &mut NetDev,
    sub: Sub,
    value: &str,
    origin: &Origin,
) -> Result<(), String> {
    if let Some(t) = sub.only_for() {
        if dev.type_ != t {
            return Err(format!(
                "a value for type {t} only ({} is {}; set the type first)",
                dev.key("type"),
                describe_type(dev.type_)
            ));
        }
    }
    let val = parse_value(sub, value)?;
    match (sub, val) {
        (Sub::Type, Val::Type(t)) => {
            // LXC clears the whole interface before it sets the type.
            let index = dev.index;
            *dev = NetDev::new(index);
            dev.type_ = t;
            dev.type_origin = Some(origin.clone());
            match t {
                NetType::VETH => dev.veth.mode = Some(VethMode::Bridge),
                NetType::EMPTY => {
                    dev.name = "lo".into();
                    dev.name_origin = Some(origin.clone());
                }
                _ => {}
            }
        }
        (Sub::Flags, _) => dev.flags_up = true,
        (Sub::Link, Val::Str(s)) => {
            if s.ends_with('+') && dev.type_ == NetType::PHYS {
                // `eth+`: every host interface matching the prefix, each in turn setting the
                // type again (which clears the interface) and the link: the last one wins.
                let prefix = &s[..s.len() - 1];
                for name in host_interfaces() {
                    if name.starts_with(prefix) {
                        let index = dev.index;
                        *dev = NetDev::new(index);
                        dev.type_ = NetType::PHYS;
                        dev.type_origin = Some(origin.clone());
                        dev.link = ifname(&name);
                    }
                }
            } else {
                dev.link = ifname(&s);
            }
        }
        (Sub::Name, Val::Str(s)) => {
            dev.name = ifname(&s);
            dev.name_origin = Some(origin.clone());
        }
        (Sub::VethPair, Val::Str(s)) => dev.veth.pair = ifname(&s),
        (Sub::Mtu, Val::Str(s)) => dev.mtu = Some(s),
        (Sub::ScriptUp, Val::Str(s)) => dev.script_up = Some(s),
        (Sub::ScriptDown, Val::Str(s)) => dev.script_down = Some(s),
        (Sub::Hwaddr, Val::Str(s)) => dev.hwaddr = Some(s),
        (Sub::L2proxy, Val::Bool(b)) => dev.l2proxy = b,
        (Sub::MacvlanMode, Val::Macvlan(m)) => dev.macvlan_mode = m,
        (Sub::IpvlanMode, Val::Ipvlan(m)) => dev.ipvlan_mode = m,
        (Sub::IpvlanIsolation, Val::Isolation(m)) => dev.ipvlan_isolation = m,
        (Sub::VethMode, Val::Veth(m)) => dev.veth.mode = Some(m),
        (Sub::VethNRxqueues, Val::Int(n)) => dev.veth.n_rxqueues = n,
        (Sub::VethNTxqueues, Val::Int(n)) => dev.veth.n_txqueues = n,
        (Sub::VlanId, Val::U16(v)) => dev.vlan_id = v,
        (Sub::VethVlanId, Val::VethVlan(v)) => {
            dev.veth.vlan_id = v;
            dev.veth.vlan_id_set = true;
        }
        (Sub::VethVlanTaggedId, Val::U16(v)) => dev.veth.vlan_tagged_ids.push(v),
        (Sub::Ipv4Address, Val::V4(c)) => dev.ipv4.push(c),
        (Sub::Ipv6Address, Val::V6(c)) => dev.ipv6.push(c),
        (Sub::VethIpv4Route, Val::V4(c)) => dev.veth.ipv4_routes.push(c),
        (Sub::VethIpv6Route, Val::V6(c)) => dev.veth.ipv6_routes.push(c),
        (Sub::Ipv4Gateway, Val::Gw4(g)) => set_gateway(&mut dev.ipv4_gateway, g),
        (Sub::Ipv6Gateway, Val::Gw6(g)) => set_gateway(&mut dev.ipv6_gateway, g),
        // parse_value answers each subkey with its own kind of value.
        _ => {}
    }
    Ok(())
}

fn set_gateway<A>(gw: &mut GatewayConf<A>, v: GwVal<A>) {
    gw.addr = None;
    match v {
        GwVal::Auto => gw.auto = true,
        GwVal::Dev => {
            gw.auto = false;
            gw.dev = true;
        }
        GwVal::Addr(a) => {
            gw.addr = Some(a);
            gw.auto = false;
        }
    }
}

fn describe_type(t: NetType) -> String {
    match t {
        NetType::CLEARED => "cleared".into(),
        t => t.to_string(),
    }
}

/// Apply one subkey's clearer. A type-specific subkey of another type is left alone.
pub(crate) fn apply_clear(dev: &mut NetDev, sub: Sub) {
    if sub.only_for().is_some_and(|t| t != dev.type_) {
        return;
    }
    match sub {
        Sub::Type => {
            let index = dev.index;
            *dev = NetDev::new(index);
            dev.type_ = NetType::CLEARED;
        }
        Sub::Flags => dev.flags_up = false,
        Sub::Link => dev.link.clear(),
        Sub::Name => {
            dev.name.clear();
            dev.name_origin = None;
        }
        Sub::L2proxy => dev.l2proxy = false,
        Sub::Hwaddr => dev.hwaddr = None,
        Sub::Mtu => dev.mtu = None,
        Sub::ScriptUp => dev.script_up = None,
        Sub::ScriptDown => dev.script_down = None,
        Sub::MacvlanMode => dev.macvlan_mode = MacvlanMode::Invalid,
        Sub::IpvlanMode => dev.ipvlan_mode = IpvlanMode::Invalid,
        Sub::IpvlanIsolation => dev.ipvlan_isolation = IpvlanIsolation::Invalid,
        Sub::VethMode => dev.veth.mode = Some(VethMode::Invalid),
        Sub::VethNRxqueues => dev.veth.n_rxqueues = -1,
        Sub::VethNTxqueues => dev.veth.n_txqueues = -1,
        Sub::VethPair => dev.veth.pair.clear(),
        Sub::VethVlanId => {
            dev.veth.vlan_id = 0;
            dev.veth.vlan_id_set = false;
        }
        Sub::VethVlanTaggedId => dev.veth.vlan_tagged_ids.clear(),
        Sub::VethIpv4Route => dev.veth.ipv4_routes.clear(),
        Sub::VethIpv6Route => dev.veth.ipv6_routes.clear(),
        Sub::VlanId => dev.vlan_id = 0,
        Sub::Ipv4Address => dev.ipv4.clear(),
        Sub::Ipv6Address => dev.ipv6.clear(),
        // Only the address: `auto` and `dev` stay on, as in LXC.
        Sub::Ipv4Gateway => dev.ipv4_gateway.addr = None,
        Sub::Ipv6Gateway => dev.ipv6_gateway.addr = None,
    }
}

/// Print a subkey the way LXC's getter does. `Err` where LXC's getter fails (a type-specific
/// subkey of another type).
pub(crate) fn format_sub(dev: &NetDev, sub: Sub) -> Result<String, String> {
    if let Some(t) = sub.only_for() {
        if dev.type_ != t {
            return Err(format!(
                "{} applies to type {t} only; {} is {}",
                dev.key(sub.name()),
                dev.key("type"),
                describe_type(dev.type_)
            ));
        }
    }
    let lines4 = |v: &[Ipv4Cidr]| {
        v.iter()
            .map(|c| format!("{}/{}", c.addr, c.prefix))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let lines6 = |v: &[Ipv6Cidr]| {
        v.iter()
            .map(|c| format!("{}/{}", inet_ntop6(&c.addr), c.prefix))
            .collect::<Vec<_>>()
            .join("\n")
    };
    Ok(match sub {
        // glibc prints a NULL string as "(null)".
        Sub::Type => dev.type_.name().unwrap_or("(null)").to_string(),
        Sub::Flags => if dev.flags_up { "up" } else { "" }.to_string(),
        Sub::Link => dev.link.clone(),
        Sub::Name => dev.name.clone(),
        Sub::L2proxy => u8::from(dev.l2proxy).to_string(),
        Sub::Hwaddr => dev.hwaddr.clone().unwrap_or_default(),
        Sub::Mtu => dev.mtu.clone().unwrap_or_default(),
        Sub::ScriptUp => dev.script_up.clone().unwrap_or_default(),
        Sub::ScriptDown => dev.script_down.clone().unwrap_or_default(),
        Sub::MacvlanMode => dev.macvlan_mode.name().to_string(),
        Sub::IpvlanMode => dev.ipvlan_mode.name().to_string(),
        Sub::IpvlanIsolation => dev.ipvlan_isolation.name().to_string(),
        Sub::VethMode => dev
            .veth
            .mode
            .map(VethMode::name)
            .unwrap_or("(invalid)")
            .to_string(),
        Sub::VethNRxqueues if dev.veth.n_rxqueues > 0 => dev.veth.n_rxqueues.to_string(),
        Sub::VethNTxqueues if dev.veth.n_txqueues > 0 => dev.veth.n_txqueues.to_string(),
        Sub::VethNRxqueues | Sub::VethNTxqueues => String::new(),
        // The host side's runtime name is not part of the config.
        Sub::VethPair => dev.veth.pair.clone(),
        Sub::VethVlanId => dev.veth.vlan_id.to_string(),
        Sub::VethVlanTaggedId => dev
            .veth
            .vlan_tagged_ids
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
        Sub::VlanId => dev.vlan_id.to_string(),
        Sub::Ipv4Address => lines4(&dev.ipv4),
        Sub::Ipv6Address => lines6(&dev.ipv6),
        Sub::VethIpv4Route => lines4(&dev.veth.ipv4_routes),
        Sub::VethIpv6Route => lines6(&dev.veth.ipv6_routes),
        Sub::Ipv4Gateway => match dev.ipv4_gateway.effective() {
            Some(Gateway::Auto) => "auto".into(),
            Some(Gateway::Dev) => "dev".into(),
            Some(Gateway::Addr(a)) => a.to_string(),
            None => String::new(),
        },
        Sub::Ipv6Gateway => match dev.ipv6_gateway.effective() {
            Some(Gateway::Auto) => "auto".into(),
            Some(Gateway::Dev) => "dev".into(),
            Some(Gateway::Addr(a)) => inet_ntop6(&a),
            None => String::new(),
        },
    })
}

/// The networks, by index.
pub type NetDevs = BTreeMap<u32, NetDev>;

/// One config entry's effect on the networks. A clear is an entry with an empty value.
pub(crate) fn step(
    devs: &mut NetDevs,
    key: &str,
    value: &str,
    origin: &Origin,
) -> Result<(), String> {
    let Some(nk) = split_key(key) else {
        return Err("not a network key".into());
    };
    match nk {
        NetKey::All if value.is_empty() => devs.clear(),
        NetKey::All => {
            return Err("no value (lxc.net takes none: an empty value clears every network)".into())
        }
        NetKey::Index(i) if value.is_empty() => {
            devs.remove(&i);
        }
        NetKey::Index(i) => {
            return Err(format!(
                "no value (lxc.net.{i} takes none: an empty value removes network {i}; set \
                 lxc.net.{i}.<key>)"
            ))
        }
        NetKey::Sub(i, sub) => {
            if i >= MAX_INDEX {
                return Err(format!("a network index below {MAX_INDEX}"));
            }
            let Some(sub) = Sub::from_name(sub) else {
                let info =
                    plugin_key(key).ok_or_else(|| format!("a known network key, not {sub:?}"))?;
                return step_plugin_key(devs, i, sub, &info, value);
            };
            if value.is_empty() {
                let dev = devs.get_mut(&i).ok_or_else(|| not_defined(i))?;
                apply_clear(dev, sub);
            } else {
                let mut dev = devs.get(&i).cloned().unwrap_or_else(|| NetDev::new(i));
                apply_set(&mut dev, sub, value, origin)?;
                devs.insert(i, dev);
            }
        }
    }
    Ok(())
}

/// A plugin's key: set or cleared like one of LXC's (a set makes the network, a clear needs
/// it; a type-specific key is refused for another type, and clearing it there does nothing).
fn step_plugin_key(
    devs: &mut NetDevs,
    i: u32,
    suffix: &str,
    info: &runtime::KeyInfo,
    value: &str,
) -> Result<(), String> {
    if value.is_empty() {
        let dev = devs.get_mut(&i).ok_or_else(|| not_defined(i))?;
        if plugin_key_types(dev, info).is_ok() {
            dev.plugin_keys.retain(|(k, _)| k != suffix);
        }
        return Ok(());
    }
    let mut dev = devs.get(&i).cloned().unwrap_or_else(|| NetDev::new(i));
    plugin_key_types(&dev, info).map_err(|types| {
        format!(
            "a value for type {} only ({} is {}; set the type first)",
            types.join(" or "),
            dev.key("type"),
            describe_type(dev.type_)
        )
    })?;
    if info.kind == ValueKind::Single {
        dev.plugin_keys.retain(|(k, _)| k != suffix);
    }
    dev.plugin_keys
        .push((suffix.to_string(), value.to_string()));
    devs.insert(i, dev);
    Ok(())
}

pub(crate) fn not_defined(i: u32) -> String {
    format!("network {i} to exist (no lxc.net.{i}.* key is set)")
}

/// One entry that did not apply, with where it came from.
#[derive(Debug, Clone)]
pub(crate) struct Skipped {
    pub key: String,
    pub value: String,
    pub origin: Origin,
    pub why: String,
}

/// Replay every `lxc.net*` entry of a config, in order. Entries that LXC would have refused
/// (possible only when the config engine did not consult [`crate::rules`]) are skipped and
/// reported.
pub(crate) fn replay(config: &Config) -> (NetDevs, Vec<Skipped>) {
    let mut devs = NetDevs::new();
    let mut skipped = Vec::new();
    for e in config.entries() {
        if e.key != "lxc.net" && !e.key.starts_with("lxc.net.") {
            continue;
        }
        if let Err(why) = step(&mut devs, &e.key, &e.value, &e.origin) {
            skipped.push(Skipped {
                key: e.key.clone(),
                value: e.value.clone(),
                origin: e.origin.clone(),
                why,
            });
        }
    }
    (devs, skipped)
}
