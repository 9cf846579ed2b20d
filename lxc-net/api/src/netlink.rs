//! The one netlink layer of lxc-rs: a synchronous API on rtnetlink, used by the network plugins,
//! by the host's generic interface setup and by `lxc-rs checkconfig`.
//!
//! A [`Netlink`] handle owns one thread. That thread first enters the network namespace the
//! handle is for (a netlink socket acts in the namespace of the thread that opened it), then
//! runs a current-thread tokio runtime with the rtnetlink connection; each call of the handle
//! sends the thread one job over a channel and waits for its answer. Dropping the handle ends
//! and joins the thread.
//!
//! Rule: a handle lives only inside one hook call and is dropped before that call returns, so
//! that no thread of ours exists when the monitor forks (the watchdog, reboot's new clone) or
//! clones. Creating one costs a thread spawn and a socket, well under a millisecond.

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::sync::mpsc;
use std::thread::JoinHandle;

use futures::StreamExt;
use netlink_packet_core::{
    NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_ECHO, NLM_F_EXCL,
    NLM_F_REQUEST,
};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{
    AfSpecBridge, BridgeFlag, BridgeVlanInfo, BridgeVlanInfoFlags, InfoBridge, InfoData,
    InfoIpVlan, InfoKind, InfoMacVlan, InfoVeth, InfoVlan, IpVlanFlags, IpVlanMode, LinkAttribute,
    LinkExtentMask, LinkFlags, LinkInfo as NlLinkInfo, LinkMessage, MacVlanMode,
};
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourFlags, NeighbourMessage,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

/// What went wrong, with the operation it happened in.
#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    #[error("netlink: entering the network namespace of fd {fd}: {source}")]
    Setns { fd: RawFd, source: io::Error },
    #[error("netlink: making a new network namespace: {0}")]
    Unshare(io::Error),
    #[error("netlink: starting the netlink thread: {0}")]
    Thread(io::Error),
    #[error("netlink: opening the rtnetlink socket: {0}")]
    Socket(io::Error),
    #[error("netlink: the netlink thread ended during {op}")]
    Gone { op: String },
    /// The kernel refused (`errno` is positive), or its answer made no sense (`errno` None).
    #[error("{op}: {cause}")]
    Kernel {
        op: String,
        errno: Option<i32>,
        cause: String,
    },
    /// An argument the kernel would refuse anyway, caught before asking.
    #[error("{op}: {cause}")]
    Invalid { op: String, cause: String },
    #[error("{op}: {source}")]
    Io { op: String, source: io::Error },
}

impl NetlinkError {
    /// The errno the kernel answered with, if that is what happened.
    pub fn errno(&self) -> Option<i32> {
        match self {
            NetlinkError::Kernel { errno, .. } => *errno,
            NetlinkError::Setns { source, .. }
            | NetlinkError::Unshare(source)
            | NetlinkError::Socket(source)
            | NetlinkError::Io { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }
}

type Result<T, E = NetlinkError> = std::result::Result<T, E>;

/// A link as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    pub index: u32,
    pub name: String,
    pub mtu: u32,
    /// The hardware address (empty for links without one, like `lo`... which has zeros).
    pub address: Vec<u8>,
    /// `IFLA_INFO_KIND`: `veth`, `bridge`, ...; `None` for a physical device or `lo`.
    pub kind: Option<String>,
    /// Administratively up (`IFF_UP`).
    pub up: bool,
    /// The bridge (or bond) it is a port of.
    pub master: Option<u32>,
    /// `IFLA_LINK`: a veth's peer, a macvlan's lower device; in the namespace
    /// `link_netnsid` names when that is set.
    pub link: Option<u32>,
    /// Set when `link` is in another network namespace.
    pub link_netnsid: Option<i32>,
    /// For a bridge: its VLAN settings.
    pub bridge: Option<BridgeInfo>,
}

/// A bridge's VLAN settings (`/sys/class/net/BR/bridge/{vlan_filtering,default_pvid}`, read
/// over netlink so that they come from the handle's namespace, not sysfs's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BridgeInfo {
    pub vlan_filtering: bool,
    pub default_pvid: u16,
}

/// One address of a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressInfo {
    pub index: u32,
    pub addr: IpAddr,
    pub prefix: u8,
    pub broadcast: Option<Ipv4Addr>,
}

/// A route's scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Universe,
    Link,
    Host,
}

/// IPv4 or IPv6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

/// A route in the main table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Destination network; `prefix` 0 is the default route.
    pub dest: IpAddr,
    pub prefix: u8,
    pub gateway: Option<IpAddr>,
    /// Output device.
    pub dev: Option<u32>,
    pub scope: Scope,
}

/// A VLAN of a bridge port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BridgeVlan {
    pub vid: u16,
    /// Untagged frames arriving on the port land in this VLAN.
    pub pvid: bool,
    /// Frames leave the port untagged.
    pub untagged: bool,
}

/// `IFLA_MACVLAN_MODE` (LXC's `macvlan.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacvlanMode {
    Private,
    Vepa,
    Bridge,
    Passthru,
}

/// `IFLA_IPVLAN_MODE` (LXC's `ipvlan.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpvlanMode {
    L2,
    L3,
    L3s,
}

/// `IFLA_IPVLAN_FLAGS` (LXC's `ipvlan.isolation`; `Bridge` is no flag at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpvlanIsolation {
    Bridge,
    Private,
    Vepa,
}

/// The kind of a link made on top of a lower device, with its kind-specific settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LowerKind {
    /// `None` sends no mode (the kernel's default, vepa).
    Macvlan(Option<MacvlanMode>),
    /// The mode is always sent; the isolation flags only when not `Bridge` (as LXC).
    Ipvlan(IpvlanMode, IpvlanIsolation),
    /// An 802.1Q VLAN with this id.
    Vlan(u16),
}

impl LowerKind {
    /// The kernel's name of the kind (`IFLA_INFO_KIND`).
    pub fn kind(&self) -> &'static str {
        match self {
            LowerKind::Macvlan(_) => "macvlan",
            LowerKind::Ipvlan(..) => "ipvlan",
            LowerKind::Vlan(_) => "vlan",
        }
    }
}

/// A macvlan, ipvlan or vlan link to create on a lower device of the handle's namespace.
#[derive(Debug, Clone, Copy)]
pub struct LowerSpec<'a> {
    /// Its name where it is made; a name with `%d` lets the kernel number it there.
    pub name: &'a str,
    /// The lower device's index in the handle's namespace.
    pub lower: u32,
    pub kind: LowerKind,
    /// Where the link is made (`IFLA_NET_NS_FD`): it never lives in the handle's namespace,
    /// so nothing is moved or renamed afterwards. `None`: the handle's namespace.
    pub netns: Option<BorrowedFd<'a>>,
    pub mtu: Option<u32>,
}

/// A veth pair to create.
#[derive(Debug, Clone, Copy)]
pub struct VethSpec<'a> {
    /// The side that stays in the handle's namespace.
    pub name: &'a str,
    /// The other side; a name with `%d` lets the kernel number it (`eth%d`).
    pub peer: &'a str,
    /// Where the peer is created (it is never moved: moving costs ~24 ms here).
    pub peer_netns: Option<BorrowedFd<'a>>,
    /// Both sides' MTU.
    pub mtu: Option<u32>,
    /// The peer's receive/transmit queues; the local side gets them crossed (its TX feeds the
    /// peer's RX), as LXC does.
    pub rx_queues: Option<u32>,
    pub tx_queues: Option<u32>,
}

/// Settings of a link sent in the request that makes it ([`Netlink::add_veth_with`]): one
/// round trip instead of one per setting. The kernel applies them in its own order: address,
/// MTU, the up flag, then the master.
#[derive(Debug, Clone, Copy, Default)]
pub struct LinkSettings<'a> {
    /// The hardware address.
    pub address: Option<&'a [u8]>,
    pub mtu: Option<u32>,
    /// Bring it up (`false` leaves the flag alone).
    pub up: bool,
    /// The bridge (or bond) to make it a port of.
    pub master: Option<u32>,
}

impl LinkSettings<'_> {
    fn apply(&self, m: &mut LinkMessage) {
        if let Some(a) = self.address {
            m.attributes.push(LinkAttribute::Address(a.to_vec()));
        }
        if let Some(mtu) = self.mtu {
            m.attributes.push(LinkAttribute::Mtu(mtu));
        }
        if self.up {
            m.header.flags |= LinkFlags::Up;
            m.header.change_mask |= LinkFlags::Up;
        }
        if let Some(master) = self.master {
            m.attributes.push(LinkAttribute::Controller(master));
        }
    }

    /// What a message names the settings by, e.g. ` (address fe:..., bridge #3, up)`.
    fn shown(&self) -> String {
        let mut parts = Vec::new();
        if let Some(a) = self.address {
            parts.push(format!("address {}", format_mac(a)));
        }
        if let Some(mtu) = self.mtu {
            parts.push(format!("MTU {mtu}"));
        }
        if let Some(m) = self.master {
            parts.push(format!("bridge #{m}"));
        }
        if self.up {
            parts.push("up".into());
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!(" ({})", parts.join(", "))
        }
    }
}

type Job = Box<dyn FnOnce(&tokio::runtime::Runtime, &rtnetlink::Handle) + Send>;

/// Where the handle's thread lives.
enum Enter {
    Current,
    Fd(RawFd),
    New,
}

/// A synchronous netlink connection in one network namespace (see the module docs).
pub struct Netlink {
    tx: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Netlink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Netlink").finish_non_exhaustive()
    }
}

impl Drop for Netlink {
    fn drop(&mut self) {
        // Closing the channel ends the thread's loop; joining makes sure it is gone before the
        // caller goes on (possibly to fork).
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One rtnetlink answer: the messages, or the errno/cause.
struct Refused {
    errno: Option<i32>,
    cause: String,
}

impl Netlink {
    /// A handle in the calling thread's network namespace.
    pub fn current() -> Result<Netlink> {
        Netlink::spawn(Enter::Current)
    }

    /// A handle in the network namespace `netns` refers to (`/proc/PID/ns/net`, `/run/netns/X`).
    pub fn in_netns(netns: BorrowedFd<'_>) -> Result<Netlink> {
        // The thread uses the descriptor before `spawn` returns, while the borrow holds.
        Netlink::spawn(Enter::Fd(netns.as_raw_fd()))
    }

    /// A handle in a new, empty network namespace that lives as long as the handle (and any
    /// descriptor of it from [`Netlink::netns_fd`]).
    pub fn new_netns() -> Result<Netlink> {
        Netlink::spawn(Enter::New)
    }

    fn spawn(enter: Enter) -> Result<Netlink> {
        let (ready_tx, ready_rx) = mpsc::sync_channel::<Result<()>>(1);
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("lxc-netlink".into())
            .spawn(move || {
                let setup = || -> Result<(tokio::runtime::Runtime, rtnetlink::Handle)> {
                    match enter {
                        Enter::Current => {}
                        Enter::Fd(fd) => crate::sys::setns_net(fd)
                            .map_err(|source| NetlinkError::Setns { fd, source })?,
                        Enter::New => crate::sys::unshare_net().map_err(NetlinkError::Unshare)?,
                    }
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_io()
                        .build()
                        .map_err(NetlinkError::Thread)?;
                    // The socket registers with the runtime's reactor: open it inside.
                    let (conn, handle, _) = {
                        let _in_rt = rt.enter();
                        rtnetlink::new_connection().map_err(NetlinkError::Socket)?
                    };
                    rt.spawn(conn);
                    Ok((rt, handle))
                };
                match setup() {
                    Ok((rt, handle)) => {
                        let _ = ready_tx.send(Ok(()));
                        while let Ok(job) = rx.recv() {
                            job(&rt, &handle);
                        }
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                }
            })
            .map_err(NetlinkError::Thread)?;
        let ready = ready_rx.recv().unwrap_or_else(|_| {
            Err(NetlinkError::Gone {
                op: "starting".into(),
            })
        });
        let nl = Netlink {
            tx: Some(tx),
            thread: Some(thread),
        };
        ready.map(|()| nl)
    }

    /// Run `f` on the handle's thread and wait for its result.
    fn run<T, F>(&self, op: &str, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(rtnetlink::Handle) -> Pin<Box<dyn Future<Output = Result<T>>>> + Send + 'static,
    {
        let (rtx, rrx) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |rt, handle| {
            let r = rt.block_on(f(handle.clone()));
            let _ = rtx.send(r);
        });
        let gone = || NetlinkError::Gone { op: op.to_string() };
        self.tx
            .as_ref()
            .ok_or_else(gone)?
            .send(job)
            .map_err(|_| gone())?;
        rrx.recv().map_err(|_| gone())?
    }

    /// Send one request and collect the answers.
    fn request(
        &self,
        op: String,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<Vec<RouteNetlinkMessage>> {
        let op2 = op.clone();
        self.run(&op, move |handle| {
            Box::pin(async move {
                request(handle, msg, flags)
                    .await
                    .map_err(|r| NetlinkError::Kernel {
                        op: op2,
                        errno: r.errno,
                        cause: r.cause,
                    })
            })
        })
    }

    /// A request that only wants the kernel's ACK.
    fn ack(&self, op: String, msg: RouteNetlinkMessage, create: bool) -> Result<()> {
        let flags = if create {
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
        } else {
            NLM_F_REQUEST | NLM_F_ACK
        };
        self.request(op, msg, flags).map(drop)
    }

    /// A descriptor of the handle's network namespace (opened by its thread).
    pub fn netns_fd(&self) -> Result<OwnedFd> {
        self.run("opening the network namespace", |_| {
            Box::pin(async {
                std::fs::File::open("/proc/thread-self/ns/net")
                    .map(OwnedFd::from)
                    .map_err(|source| NetlinkError::Io {
                        op: "opening /proc/thread-self/ns/net".into(),
                        source,
                    })
            })
        })
    }

    /// Write `/proc/sys/<key>` as seen from the handle's namespace, e.g.
    /// `net/ipv4/conf/veth0/forwarding` (the `net/` tree is per network namespace).
    pub fn set_sysctl(&self, key: &str, value: &str) -> Result<()> {
        let path = format!("/proc/sys/{key}");
        let value = value.to_string();
        self.run(&format!("writing {path}"), move |_| {
            Box::pin(async move {
                std::fs::write(&path, value).map_err(|source| NetlinkError::Io {
                    op: format!("writing {path}"),
                    source,
                })
            })
        })
    }

    /// Read `/proc/sys/<key>` as seen from the handle's namespace, trimmed.
    pub fn sysctl(&self, key: &str) -> Result<String> {
        let path = format!("/proc/sys/{key}");
        self.run(&format!("reading {path}"), move |_| {
            Box::pin(async move {
                std::fs::read_to_string(&path)
                    .map(|s| s.trim().to_string())
                    .map_err(|source| NetlinkError::Io {
                        op: format!("reading {path}"),
                        source,
                    })
            })
        })
    }

    // ----- links -----

    /// Every link in the namespace.
    pub fn links(&self) -> Result<Vec<LinkInfo>> {
        let msg = RouteNetlinkMessage::GetLink(LinkMessage::default());
        let answers = self.request("listing links".into(), msg, NLM_F_REQUEST | NLM_F_DUMP)?;
        Ok(answers.into_iter().filter_map(link_of).collect())
    }

    /// The link called `name`, if there is one.
    pub fn link_by_name(&self, name: &str) -> Result<Option<LinkInfo>> {
        check_name("looking up a link", name)?;
        let mut m = LinkMessage::default();
        m.attributes.push(LinkAttribute::IfName(name.to_string()));
        self.get_link(format!("looking up link {name}"), m)
    }

    /// The link with index `index`, if there is one.
    pub fn link_by_index(&self, index: u32) -> Result<Option<LinkInfo>> {
        let mut m = LinkMessage::default();
        m.header.index = index;
        self.get_link(format!("looking up link #{index}"), m)
    }

    fn get_link(&self, op: String, m: LinkMessage) -> Result<Option<LinkInfo>> {
        match self.request(op, RouteNetlinkMessage::GetLink(m), NLM_F_REQUEST) {
            Ok(answers) => Ok(answers.into_iter().find_map(link_of)),
            Err(e) if e.errno() == Some(libc::ENODEV) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The index of link `name`, or an error naming it.
    pub fn index_of(&self, name: &str) -> Result<u32> {
        self.link_by_name(name)?
            .map(|l| l.index)
            .ok_or_else(|| NetlinkError::Kernel {
                op: format!("looking up link {name}"),
                errno: Some(libc::ENODEV),
                cause: "no such link".into(),
            })
    }

    /// Create a veth pair; returns the local side (its `link` is the peer's index in the
    /// peer's namespace).
    pub fn add_veth(&self, spec: &VethSpec<'_>) -> Result<LinkInfo> {
        self.add_veth_with(spec, &LinkSettings::default())
    }

    /// [`Netlink::add_veth`] with settings of the local side (its address, up, its bridge) in
    /// the same request: the pair is made and the local side set up in one round trip, and
    /// the kernel's echo of the new link (`NLM_F_ECHO`) answers without a second one. The
    /// peer stays down. A refused setting (a bridge that is not one) refuses the whole
    /// request, and the kernel removes the pair again.
    pub fn add_veth_with(&self, spec: &VethSpec<'_>, local: &LinkSettings<'_>) -> Result<LinkInfo> {
        let op = format!(
            "creating veth pair {} <-> {}{}",
            spec.name,
            spec.peer,
            local.shown()
        );
        check_name(&op, spec.name)?;
        check_name(&op, spec.peer)?;
        let mut peer = LinkMessage::default();
        peer.attributes
            .push(LinkAttribute::IfName(spec.peer.to_string()));
        let mut m = LinkMessage::default();
        m.attributes
            .push(LinkAttribute::IfName(spec.name.to_string()));
        if let Some(mtu) = spec.mtu {
            peer.attributes.push(LinkAttribute::Mtu(mtu));
            m.attributes.push(LinkAttribute::Mtu(mtu));
        }
        if let Some(n) = spec.rx_queues.filter(|n| *n > 0) {
            peer.attributes.push(LinkAttribute::NumRxQueues(n));
            m.attributes.push(LinkAttribute::NumTxQueues(n));
        }
        if let Some(n) = spec.tx_queues.filter(|n| *n > 0) {
            peer.attributes.push(LinkAttribute::NumTxQueues(n));
            m.attributes.push(LinkAttribute::NumRxQueues(n));
        }
        if let Some(ns) = spec.peer_netns {
            peer.attributes.push(LinkAttribute::NetNsFd(ns.as_raw_fd()));
        }
        // `spec.mtu` already gave the local side its MTU.
        LinkSettings {
            mtu: local.mtu.filter(|_| spec.mtu.is_none()),
            ..*local
        }
        .apply(&mut m);
        m.attributes.push(LinkAttribute::LinkInfo(vec![
            NlLinkInfo::Kind(InfoKind::Veth),
            NlLinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer))),
        ]));
        let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO;
        let answers = self.request(op.clone(), RouteNetlinkMessage::NewLink(m), flags)?;
        let echoed = answers
            .into_iter()
            .filter_map(link_of)
            .find(|l| l.name == spec.name);
        let made = match echoed {
            Some(l) => Some(l),
            // A kernel that does not echo new links (before 6.1).
            None => self.link_by_name(spec.name)?,
        };
        let mut made = made.ok_or_else(|| NetlinkError::Kernel {
            op,
            errno: None,
            cause: format!("{} is gone right after it was made", spec.name),
        })?;
        // The echo is sent before the kernel attaches the link to its master.
        made.master = made.master.or(local.master);
        Ok(made)
    }

    /// The other end of `link` (a veth's peer, a macvlan's lower device), looked up through
    /// this handle even when it lives in another namespace (`IFLA_TARGET_NETNSID`, by the id
    /// `link_netnsid` gives): no handle in that namespace needed. `None` when `link` names no
    /// other end or it is gone.
    pub fn peer_of(&self, link: &LinkInfo) -> Result<Option<LinkInfo>> {
        let Some(index) = link.link else {
            return Ok(None);
        };
        let mut m = LinkMessage::default();
        m.header.index = index;
        if let Some(id) = link.link_netnsid {
            if id < 0 {
                // Its namespace is being torn down.
                return Ok(None);
            }
            m.attributes.push(LinkAttribute::IfNetnsId(id));
        }
        self.get_link(
            format!("looking up the peer of {} (#{index})", link.name),
            m,
        )
    }

    /// Create a bridge, with VLAN filtering on if asked (a kernel without
    /// `CONFIG_BRIDGE_VLAN_FILTERING` refuses the attribute with EOPNOTSUPP, so it is sent only
    /// then).
    pub fn add_bridge(&self, name: &str, vlan_filtering: bool) -> Result<LinkInfo> {
        let op = format!("creating bridge {name}");
        let data = vlan_filtering.then(|| InfoData::Bridge(vec![InfoBridge::VlanFiltering(true)]));
        self.add_kind(&op, name, InfoKind::Bridge, None, data)
    }

    /// Create a link of a kind that needs nothing but its name (`dummy`, `bridge`, ...).
    pub fn add_link(&self, name: &str, kind: &str) -> Result<LinkInfo> {
        let op = format!("creating {kind} link {name}");
        self.add_kind(&op, name, InfoKind::from(kind), None, None)
    }

    fn add_kind(
        &self,
        op: &str,
        name: &str,
        kind: InfoKind,
        lower: Option<u32>,
        data: Option<InfoData>,
    ) -> Result<LinkInfo> {
        check_name(op, name)?;
        let mut m = LinkMessage::default();
        m.attributes.push(LinkAttribute::IfName(name.to_string()));
        if let Some(l) = lower {
            m.attributes.push(LinkAttribute::Link(l));
        }
        let mut info = vec![NlLinkInfo::Kind(kind)];
        info.extend(data.map(NlLinkInfo::Data));
        m.attributes.push(LinkAttribute::LinkInfo(info));
        self.ack(op.to_string(), RouteNetlinkMessage::NewLink(m), true)?;
        self.link_by_name(name)?
            .ok_or_else(|| NetlinkError::Kernel {
                op: op.to_string(),
                errno: None,
                cause: format!("{name} is gone right after it was made"),
            })
    }

    fn set_link(&self, op: String, index: u32, f: impl FnOnce(&mut LinkMessage)) -> Result<()> {
        let mut m = LinkMessage::default();
        m.header.index = index;
        f(&mut m);
        self.ack(op, RouteNetlinkMessage::SetLink(m), false)
    }

    pub fn set_up(&self, index: u32) -> Result<()> {
        self.set_link(format!("setting link #{index} up"), index, |m| {
            m.header.flags |= LinkFlags::Up;
            m.header.change_mask |= LinkFlags::Up;
        })
    }

    pub fn set_down(&self, index: u32) -> Result<()> {
        self.set_link(format!("setting link #{index} down"), index, |m| {
            m.header.flags.remove(LinkFlags::Up);
            m.header.change_mask |= LinkFlags::Up;
        })
    }

    pub fn set_mtu(&self, index: u32, mtu: u32) -> Result<()> {
        self.set_link(
            format!("setting the MTU of link #{index} to {mtu}"),
            index,
            |m| m.attributes.push(LinkAttribute::Mtu(mtu)),
        )
    }

    /// Set the hardware address.
    pub fn set_address(&self, index: u32, address: &[u8]) -> Result<()> {
        let shown = format_mac(address);
        self.set_link(
            format!("setting the address of link #{index} to {shown}"),
            index,
            |m| m.attributes.push(LinkAttribute::Address(address.to_vec())),
        )
    }

    /// Make `index` a port of bridge `master`.
    pub fn set_master(&self, index: u32, master: u32) -> Result<()> {
        self.set_link(
            format!("attaching link #{index} to bridge #{master}"),
            index,
            |m| m.attributes.push(LinkAttribute::Controller(master)),
        )
    }

    /// Take `index` out of its bridge.
    pub fn set_nomaster(&self, index: u32) -> Result<()> {
        self.set_link(
            format!("detaching link #{index} from its bridge"),
            index,
            |m| m.attributes.push(LinkAttribute::Controller(0)),
        )
    }

    /// Rename (the link must be down).
    pub fn set_name(&self, index: u32, name: &str) -> Result<()> {
        let op = format!("renaming link #{index} to {name}");
        check_name(&op, name)?;
        self.set_link(op, index, |m| {
            m.attributes.push(LinkAttribute::IfName(name.to_string()))
        })
    }

    /// Move a link into another network namespace.
    pub fn move_to_netns(&self, index: u32, netns: BorrowedFd<'_>) -> Result<()> {
        let fd = netns.as_raw_fd();
        self.set_link(
            format!("moving link #{index} to the network namespace of fd {fd}"),
            index,
            |m| m.attributes.push(LinkAttribute::NetNsFd(fd)),
        )
    }

    /// Move a link into another network namespace and rename it there, in one request (the
    /// kernel renames after the move; a `%d` pattern is numbered in the target namespace). If
    /// the rename is refused the link may already have moved under its old name: pick a
    /// `name` that is free there (LXC's transient `physXXXXXX` names) and rename afterwards.
    pub fn move_to_netns_as(&self, index: u32, netns: BorrowedFd<'_>, name: &str) -> Result<()> {
        let fd = netns.as_raw_fd();
        let op = format!("moving link #{index} to the network namespace of fd {fd} as {name}");
        check_name(&op, name)?;
        self.set_link(op, index, |m| {
            m.attributes.push(LinkAttribute::NetNsFd(fd));
            m.attributes.push(LinkAttribute::IfName(name.to_string()));
        })
    }

    /// Create a macvlan, ipvlan or vlan link on a lower device (see [`LowerSpec`]). It is not
    /// looked up afterwards: it may live in another namespace; look it up there by its name.
    pub fn add_on_lower(&self, spec: &LowerSpec<'_>) -> Result<()> {
        let kind = spec.kind.kind();
        let op = format!("creating {kind} link {} on link #{}", spec.name, spec.lower);
        check_name(&op, spec.name)?;
        let (info_kind, data) = match spec.kind {
            LowerKind::Macvlan(mode) => (
                InfoKind::MacVlan,
                mode.map(|m| {
                    InfoData::MacVlan(vec![InfoMacVlan::Mode(match m {
                        MacvlanMode::Private => MacVlanMode::Private,
                        MacvlanMode::Vepa => MacVlanMode::Vepa,
                        MacvlanMode::Bridge => MacVlanMode::Bridge,
                        MacvlanMode::Passthru => MacVlanMode::Passthrough,
                    })])
                }),
            ),
            LowerKind::Ipvlan(mode, isolation) => {
                let mut data = vec![InfoIpVlan::Mode(match mode {
                    IpvlanMode::L2 => IpVlanMode::L2,
                    IpvlanMode::L3 => IpVlanMode::L3,
                    IpvlanMode::L3s => IpVlanMode::L3S,
                })];
                match isolation {
                    IpvlanIsolation::Bridge => {}
                    IpvlanIsolation::Private => data.push(InfoIpVlan::Flags(IpVlanFlags::Private)),
                    IpvlanIsolation::Vepa => data.push(InfoIpVlan::Flags(IpVlanFlags::Vepa)),
                }
                (InfoKind::IpVlan, Some(InfoData::IpVlan(data)))
            }
            LowerKind::Vlan(id) => (InfoKind::Vlan, Some(InfoData::Vlan(vec![InfoVlan::Id(id)]))),
        };
        let mut m = LinkMessage::default();
        m.attributes
            .push(LinkAttribute::IfName(spec.name.to_string()));
        m.attributes.push(LinkAttribute::Link(spec.lower));
        if let Some(mtu) = spec.mtu {
            m.attributes.push(LinkAttribute::Mtu(mtu));
        }
        if let Some(ns) = spec.netns {
            m.attributes.push(LinkAttribute::NetNsFd(ns.as_raw_fd()));
        }
        let mut info = vec![NlLinkInfo::Kind(info_kind)];
        info.extend(data.map(NlLinkInfo::Data));
        m.attributes.push(LinkAttribute::LinkInfo(info));
        self.ack(op, RouteNetlinkMessage::NewLink(m), true)
    }

    pub fn del_link(&self, index: u32) -> Result<()> {
        let mut m = LinkMessage::default();
        m.header.index = index;
        self.ack(
            format!("deleting link #{index}"),
            RouteNetlinkMessage::DelLink(m),
            false,
        )
    }

    // ----- addresses -----

    /// Add an address as LXC does (`IFA_LOCAL` and `IFA_ADDRESS`, and for IPv4 the broadcast
    /// address when given).
    pub fn add_address(
        &self,
        index: u32,
        addr: IpAddr,
        prefix: u8,
        broadcast: Option<Ipv4Addr>,
    ) -> Result<()> {
        let op = format!("adding address {addr}/{prefix} to link #{index}");
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return Err(NetlinkError::Invalid {
                op,
                cause: format!("prefix longer than {max}"),
            });
        }
        let mut m = AddressMessage::default();
        m.header.family = family_of(addr);
        m.header.prefix_len = prefix;
        m.header.index = index;
        m.attributes.push(AddressAttribute::Local(addr));
        m.attributes.push(AddressAttribute::Address(addr));
        if let (IpAddr::V4(_), Some(b)) = (addr, broadcast) {
            m.attributes.push(AddressAttribute::Broadcast(b));
        }
        self.ack(op, RouteNetlinkMessage::NewAddress(m), true)
    }

    /// The addresses of one link, or of all links.
    pub fn addresses(&self, index: Option<u32>) -> Result<Vec<AddressInfo>> {
        let msg = RouteNetlinkMessage::GetAddress(AddressMessage::default());
        let answers = self.request("listing addresses".into(), msg, NLM_F_REQUEST | NLM_F_DUMP)?;
        Ok(answers
            .into_iter()
            .filter_map(|a| match a {
                RouteNetlinkMessage::NewAddress(m) => address_of(&m),
                _ => None,
            })
            .filter(|a| index.is_none_or(|i| a.index == i))
            .collect())
    }

    // ----- routes -----

    /// Add a route to the main table (protocol `boot`, as LXC's).
    pub fn add_route(&self, route: &Route) -> Result<()> {
        let (op, m) = route_request("adding", route)?;
        self.ack(op, RouteNetlinkMessage::NewRoute(m), true)
    }

    /// Delete a route [`Netlink::add_route`] added: the kernel removes the route of the main
    /// table with this destination and prefix, gateway and device (those given), scope (IPv4)
    /// and protocol `boot`, as LXC's removal asks for it. A route that is not there is an
    /// error with `ESRCH`.
    pub fn del_route(&self, route: &Route) -> Result<()> {
        let (op, m) = route_request("deleting", route)?;
        self.ack(op, RouteNetlinkMessage::DelRoute(m), false)
    }

    /// The default route through `dev`: via `gateway`, or (None) a device route, as LXC's
    /// `ipv4.gateway`/`ipv6.gateway` make them (scope universe, the device always given so
    /// that a link-local gateway works).
    pub fn add_default_route(
        &self,
        family: Family,
        dev: u32,
        gateway: Option<IpAddr>,
    ) -> Result<()> {
        let dest = match family {
            Family::V4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Family::V6 => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
        };
        self.add_route(&Route {
            dest,
            prefix: 0,
            gateway,
            dev: Some(dev),
            scope: Scope::Universe,
        })
    }

    /// The routes of the main table of one family.
    pub fn routes(&self, family: Family) -> Result<Vec<Route>> {
        let mut m = RouteMessage::default();
        m.header.address_family = match family {
            Family::V4 => AddressFamily::Inet,
            Family::V6 => AddressFamily::Inet6,
        };
        let answers = self.request(
            "listing routes".into(),
            RouteNetlinkMessage::GetRoute(m),
            NLM_F_REQUEST | NLM_F_DUMP,
        )?;
        Ok(answers
            .into_iter()
            .filter_map(|a| match a {
                RouteNetlinkMessage::NewRoute(m) => route_of(&m, family),
                _ => None,
            })
            .collect())
    }

    // ----- neighbours -----

    /// A proxy neighbour entry (`ip neigh add proxy ADDR dev DEV`): answer ARP/NDP for `addr`
    /// on link `index`.
    pub fn add_proxy_neigh(&self, index: u32, addr: IpAddr) -> Result<()> {
        let op = format!("adding proxy neighbour {addr} on link #{index}");
        self.ack(
            op,
            RouteNetlinkMessage::NewNeighbour(proxy_neigh(index, addr)),
            true,
        )
    }

    pub fn del_proxy_neigh(&self, index: u32, addr: IpAddr) -> Result<()> {
        let op = format!("deleting proxy neighbour {addr} on link #{index}");
        self.ack(
            op,
            RouteNetlinkMessage::DelNeighbour(proxy_neigh(index, addr)),
            false,
        )
    }

    /// The proxy neighbour entries of link `index`.
    pub fn proxy_neighs(&self, index: u32) -> Result<Vec<IpAddr>> {
        let mut out = Vec::new();
        for family in [AddressFamily::Inet, AddressFamily::Inet6] {
            let mut m = NeighbourMessage::default();
            m.header.family = family;
            m.header.flags = NeighbourFlags::Proxy;
            let answers = self.request(
                "listing proxy neighbours".into(),
                RouteNetlinkMessage::GetNeighbour(m),
                NLM_F_REQUEST | NLM_F_DUMP,
            )?;
            for a in answers {
                let RouteNetlinkMessage::NewNeighbour(n) = a else {
                    continue;
                };
                if n.header.ifindex != index || !n.header.flags.contains(NeighbourFlags::Proxy) {
                    continue;
                }
                for attr in &n.attributes {
                    match attr {
                        NeighbourAttribute::Destination(NeighbourAddress::Inet(a)) => {
                            out.push(IpAddr::V4(*a))
                        }
                        NeighbourAttribute::Destination(NeighbourAddress::Inet6(a)) => {
                            out.push(IpAddr::V6(*a))
                        }
                        _ => {}
                    }
                }
            }
        }
        Ok(out)
    }

    // ----- bridge VLANs -----

    /// Add VLAN `vid` to bridge port `index`: tagged, or (`untagged_pvid`) as the port's PVID
    /// leaving untagged, as LXC's `veth.vlan.id` does.
    pub fn bridge_vlan_add(&self, index: u32, vid: u16, untagged_pvid: bool) -> Result<()> {
        let flags = if untagged_pvid {
            BridgeVlanInfoFlags::Pvid | BridgeVlanInfoFlags::Untagged
        } else {
            BridgeVlanInfoFlags::empty()
        };
        let op = format!("adding VLAN {vid} to bridge port #{index}");
        self.ack(
            op,
            RouteNetlinkMessage::SetLink(bridge_vlan_msg(index, vid, flags)),
            false,
        )
    }

    /// Remove VLAN `vid` from bridge port `index`.
    pub fn bridge_vlan_del(&self, index: u32, vid: u16) -> Result<()> {
        let op = format!("removing VLAN {vid} from bridge port #{index}");
        let m = bridge_vlan_msg(index, vid, BridgeVlanInfoFlags::empty());
        self.ack(op, RouteNetlinkMessage::DelLink(m), false)
    }

    /// The VLANs of bridge port `index`.
    pub fn bridge_vlans(&self, index: u32) -> Result<Vec<BridgeVlan>> {
        let mut m = LinkMessage::default();
        m.header.interface_family = AddressFamily::Bridge;
        m.attributes
            .push(LinkAttribute::ExtMask(vec![LinkExtentMask::Brvlan]));
        let answers = self.request(
            "listing bridge VLANs".into(),
            RouteNetlinkMessage::GetLink(m),
            NLM_F_REQUEST | NLM_F_DUMP,
        )?;
        let mut out = Vec::new();
        for a in answers {
            let RouteNetlinkMessage::NewLink(l) = a else {
                continue;
            };
            if l.header.index != index {
                continue;
            }
            for attr in &l.attributes {
                if let LinkAttribute::AfSpecBridge(specs) = attr {
                    for s in specs {
                        if let AfSpecBridge::VlanInfo(v) = s {
                            out.push(BridgeVlan {
                                vid: v.vid,
                                pvid: v.flags.contains(BridgeVlanInfoFlags::Pvid),
                                untagged: v.flags.contains(BridgeVlanInfoFlags::Untagged),
                            });
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    // ----- names -----

    /// A name made from `template` with each `X` replaced by a random letter or digit that no
    /// link of the namespace has (LXC's `vethXXXXXX`).
    pub fn unused_name(&self, template: &str) -> Result<String> {
        const PAD: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        let op = format!("picking a name for {template}");
        check_name(&op, template)?;
        for _ in 0..64 {
            let mut bytes = [0u8; 16];
            crate::sys::random(&mut bytes).map_err(|source| NetlinkError::Io {
                op: op.clone(),
                source,
            })?;
            let mut r = bytes.iter();
            let name: String = template
                .chars()
                .map(|c| match (c, r.next()) {
                    ('X', Some(b)) => PAD[usize::from(*b) % PAD.len()] as char,
                    _ => c,
                })
                .collect();
            if self.link_by_name(&name)?.is_none() {
                return Ok(name);
            }
        }
        Err(NetlinkError::Invalid {
            op,
            cause: "every name tried exists".into(),
        })
    }

    // ----- what the kernel offers -----

    /// Which link kinds the kernel can create, tried for real in a throw-away network
    /// namespace: `(kind, true)` when it can.
    pub fn link_kinds_supported(kinds: &[&str]) -> Result<Vec<(String, bool)>> {
        Ok(Netlink::probe_link_kinds(kinds)?
            .into_iter()
            .map(|(k, r)| (k, r.is_ok()))
            .collect())
    }

    /// [`Netlink::link_kinds_supported`] with why a kind is not: `Err("the kernel has no ipvlan
    /// link type (EOPNOTSUPP)")` or the kernel's answer.
    /// `macvlan`, `macvtap`, `ipvlan`, `ipvtap` and `vlan` sit on a veth (or dummy) made first.
    pub fn probe_link_kinds(kinds: &[&str]) -> Result<Vec<(String, Result<(), String>)>> {
        let nl = Netlink::new_netns()?;
        let lower = nl
            .add_veth(&VethSpec {
                name: "probe-lower",
                peer: "probe-lower1",
                peer_netns: None,
                mtu: None,
                rx_queues: None,
                tx_queues: None,
            })
            .or_else(|_| nl.add_link("probe-lower", "dummy"))
            .ok()
            .map(|l| l.index);
        let mut out = Vec::new();
        for (i, kind) in kinds.iter().enumerate() {
            let name = format!("probe{i}");
            let r = match *kind {
                "veth" => nl
                    .add_veth(&VethSpec {
                        name: &name,
                        peer: &format!("probe{i}p"),
                        peer_netns: None,
                        mtu: None,
                        rx_queues: None,
                        tx_queues: None,
                    })
                    .map(drop),
                "macvlan" | "macvtap" | "ipvlan" | "ipvtap" | "vlan" => match lower {
                    None => {
                        out.push((
                            kind.to_string(),
                            Err("could not test: no veth or dummy link to put it on".into()),
                        ));
                        continue;
                    }
                    Some(lower) => {
                        let data =
                            (*kind == "vlan").then(|| InfoData::Vlan(vec![InfoVlan::Id(10)]));
                        nl.add_kind(
                            &format!("creating {kind} link {name}"),
                            &name,
                            InfoKind::from(*kind),
                            Some(lower),
                            data,
                        )
                        .map(drop)
                    }
                },
                other => nl.add_link(&name, other).map(drop),
            };
            // Remove what a probe made, so that one kind cannot stand in the way of the next
            // (a device takes macvlans or ipvlans, not both).
            let r = r
                .and_then(|()| nl.index_of(&name))
                .and_then(|i| nl.del_link(i));
            let r = r.map_err(|e| match e.errno() {
                Some(libc::EOPNOTSUPP) => {
                    format!("the kernel has no {kind} link type (EOPNOTSUPP)")
                }
                _ => e.to_string(),
            });
            out.push((kind.to_string(), r));
        }
        Ok(out)
    }
}

/// Interface names: 1 to 15 bytes, no `/`, no whitespace, not `.` or `..` (the kernel's
/// `dev_valid_name`).
fn check_name(op: &str, name: &str) -> Result<()> {
    let bad = name.is_empty()
        || name.len() >= 16
        || name == "."
        || name == ".."
        || name
            .bytes()
            .any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace());
    if bad {
        Err(NetlinkError::Invalid {
            op: op.to_string(),
            cause: format!("{name:?} is not an interface name (1-15 bytes, no '/', ':' or spaces)"),
        })
    } else {
        Ok(())
    }
}

fn format_mac(a: &[u8]) -> String {
    a.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn family_of(addr: IpAddr) -> AddressFamily {
    if addr.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    }
}

fn route_addr(a: IpAddr) -> RouteAddress {
    match a {
        IpAddr::V4(a) => RouteAddress::Inet(a),
        IpAddr::V6(a) => RouteAddress::Inet6(a),
    }
}

/// The request that adds or deletes `route` (`doing`: "adding" / "deleting", for the
/// operation's name), checked first.
fn route_request(doing: &str, route: &Route) -> Result<(String, RouteMessage)> {
    let op = match route.gateway {
        Some(g) => format!("{doing} route {}/{} via {g}", route.dest, route.prefix),
        None => format!("{doing} route {}/{}", route.dest, route.prefix),
    };
    if let Some(g) = route.gateway {
        if g.is_ipv4() != route.dest.is_ipv4() {
            return Err(NetlinkError::Invalid {
                op,
                cause: "gateway and destination of different families".into(),
            });
        }
    }
    let mut m = route_message(family_of(route.dest), route.scope);
    m.header.destination_prefix_length = route.prefix;
    if route.prefix > 0 {
        m.attributes
            .push(RouteAttribute::Destination(route_addr(route.dest)));
    }
    if let Some(g) = route.gateway {
        m.attributes.push(RouteAttribute::Gateway(route_addr(g)));
    }
    if let Some(dev) = route.dev {
        m.attributes.push(RouteAttribute::Oif(dev));
    }
    Ok((op, m))
}

fn route_message(family: AddressFamily, scope: Scope) -> RouteMessage {
    let mut m = RouteMessage::default();
    m.header.address_family = family;
    m.header.table = RouteHeader::RT_TABLE_MAIN;
    m.header.protocol = RouteProtocol::Boot;
    m.header.kind = RouteType::Unicast;
    m.header.scope = match scope {
        Scope::Universe => RouteScope::Universe,
        Scope::Link => RouteScope::Link,
        Scope::Host => RouteScope::Host,
    };
    m
}

fn proxy_neigh(index: u32, addr: IpAddr) -> NeighbourMessage {
    let mut m = NeighbourMessage::default();
    m.header.family = family_of(addr);
    m.header.ifindex = index;
    m.header.flags = NeighbourFlags::Proxy;
    m.header.kind = RouteType::Unicast;
    m.attributes
        .push(NeighbourAttribute::Destination(match addr {
            IpAddr::V4(a) => NeighbourAddress::Inet(a),
            IpAddr::V6(a) => NeighbourAddress::Inet6(a),
        }));
    m
}

fn bridge_vlan_msg(index: u32, vid: u16, flags: BridgeVlanInfoFlags) -> LinkMessage {
    let mut m = LinkMessage::default();
    m.header.interface_family = AddressFamily::Bridge;
    m.header.index = index;
    m.attributes.push(LinkAttribute::AfSpecBridge(vec![
        AfSpecBridge::Flags(BridgeFlag::Controller),
        AfSpecBridge::VlanInfo(BridgeVlanInfo { flags, vid }),
    ]));
    m
}

fn link_of(msg: RouteNetlinkMessage) -> Option<LinkInfo> {
    let RouteNetlinkMessage::NewLink(m) = msg else {
        return None;
    };
    let mut l = LinkInfo {
        index: m.header.index,
        name: String::new(),
        mtu: 0,
        address: Vec::new(),
        kind: None,
        up: m.header.flags.contains(LinkFlags::Up),
        master: None,
        link: None,
        link_netnsid: None,
        bridge: None,
    };
    for a in m.attributes {
        match a {
            LinkAttribute::IfName(n) => l.name = n,
            LinkAttribute::Mtu(v) => l.mtu = v,
            LinkAttribute::Address(a) => l.address = a,
            LinkAttribute::Controller(c) if c != 0 => l.master = Some(c),
            LinkAttribute::Link(i) if i != 0 => l.link = Some(i),
            LinkAttribute::LinkNetNsId(id) => l.link_netnsid = Some(id),
            LinkAttribute::LinkInfo(infos) => {
                for i in infos {
                    match i {
                        NlLinkInfo::Kind(k) => l.kind = Some(k.to_string()),
                        NlLinkInfo::Data(InfoData::Bridge(br)) => {
                            let mut b = BridgeInfo {
                                vlan_filtering: false,
                                default_pvid: 1,
                            };
                            for x in br {
                                match x {
                                    InfoBridge::VlanFiltering(v) => b.vlan_filtering = v,
                                    InfoBridge::VlanDefaultPvid(p) => b.default_pvid = p,
                                    _ => {}
                                }
                            }
                            l.bridge = Some(b);
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Some(l)
}

fn address_of(m: &AddressMessage) -> Option<AddressInfo> {
    let mut local = None;
    let mut address = None;
    let mut broadcast = None;
    for a in &m.attributes {
        match a {
            AddressAttribute::Local(a) => local = Some(*a),
            AddressAttribute::Address(a) => address = Some(*a),
            AddressAttribute::Broadcast(b) => broadcast = Some(*b),
            _ => {}
        }
    }
    // For IPv4, IFA_LOCAL is the interface's own address (IFA_ADDRESS is the peer on a
    // point-to-point link); IPv6 only sends IFA_ADDRESS.
    Some(AddressInfo {
        index: m.header.index,
        addr: local.or(address)?,
        prefix: m.header.prefix_len,
        broadcast,
    })
}

fn route_of(m: &RouteMessage, family: Family) -> Option<Route> {
    if m.header.table != RouteHeader::RT_TABLE_MAIN || m.header.kind != RouteType::Unicast {
        return None;
    }
    let mut dest = match family {
        Family::V4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        Family::V6 => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
    };
    let mut gateway = None;
    let mut dev = None;
    for a in &m.attributes {
        match a {
            RouteAttribute::Destination(RouteAddress::Inet(a)) => dest = IpAddr::V4(*a),
            RouteAttribute::Destination(RouteAddress::Inet6(a)) => dest = IpAddr::V6(*a),
            RouteAttribute::Gateway(RouteAddress::Inet(a)) => gateway = Some(IpAddr::V4(*a)),
            RouteAttribute::Gateway(RouteAddress::Inet6(a)) => gateway = Some(IpAddr::V6(*a)),
            RouteAttribute::Oif(i) => dev = Some(*i),
            _ => {}
        }
    }
    let scope = match m.header.scope {
        RouteScope::Link => Scope::Link,
        RouteScope::Host => Scope::Host,
        _ => Scope::Universe,
    };
    Some(Route {
        dest,
        prefix: m.header.destination_prefix_length,
        gateway,
        dev,
        scope,
    })
}

async fn request(
    mut handle: rtnetlink::Handle,
    msg: RouteNetlinkMessage,
    flags: u16,
) -> Result<Vec<RouteNetlinkMessage>, Refused> {
    let mut req = NetlinkMessage::from(msg);
    req.header.flags = flags;
    let mut answers = handle.request(req).map_err(|e| Refused {
        errno: None,
        cause: e.to_string(),
    })?;
    let mut out = Vec::new();
    while let Some(a) = answers.next().await {
        match a.payload {
            NetlinkPayload::InnerMessage(m) => out.push(m),
            NetlinkPayload::Error(e) => {
                if let Some(code) = e.code {
                    let errno = -code.get();
                    return Err(Refused {
                        errno: Some(errno),
                        cause: io::Error::from_raw_os_error(errno).to_string(),
                    });
                }
            }
            _ => {}
        }
    }
    Ok(out)
}
