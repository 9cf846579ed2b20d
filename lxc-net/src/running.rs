//! The interfaces of a running container, as liblxc's `get_interfaces`, `get_ips`,
//! `attach_interface` and `detach_interface` see and change them.
//!
//! Everything happens in the container's network namespace, reached from its init: a pidfd
//! from lxc-rs's monitor, so that a reboot (a new init) between asking and opening cannot hand
//! us another process's namespace. A container LXC's own tools run can be read (its pid comes
//! from LXC's monitor), never changed: moving devices is `lxc-device`'s business there.
//!
//! LXC forks a child into the namespace; lxc-rs asks the kernel through the one netlink layer
//! ([`lxc_net_api::netlink`]), whose handle enters the namespace on a thread of its own and is
//! gone (thread joined) before each function returns.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::net::IpAddr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::MetadataExt;

use lxc_core::Container;
use lxc_net_api::netlink::{AddressInfo, LinkInfo, Netlink, NetlinkError};

use crate::addr::inet_ntop6;
use crate::Error;

/// The loopback device's index in every network namespace.
const LOOPBACK_IFINDEX: u32 = 1;

/// What the caller means to do in the namespace: reading is allowed on a container LXC runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    Change,
}

/// The interface names in the container's network namespace, sorted and once each, as
/// liblxc's `get_interfaces` (which includes down interfaces and `lo`).
pub fn get_interfaces(c: &Container) -> Result<Vec<String>, Error> {
    const OP: &str = "get_interfaces";
    let ns = container_netns(c, OP, Access::Read)?;
    let nl = Netlink::in_netns(ns.as_fd()).map_err(|e| nl_err(c, OP, "entering", e))?;
    let links = nl
        .links()
        .map_err(|e| nl_err(c, OP, "listing the links", e))?;
    let mut names: Vec<String> = links.into_iter().map(|l| l.name).collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// The addresses in the container's network namespace, as liblxc's `get_ips`: of `interface`
/// only, else of every interface but `lo`; of `family` (`"inet"` or `"inet6"`) only, else
/// both; IPv6 addresses only when their scope id is `scope` (getifaddrs' rule: a link-local
/// address has its interface's index, every other one 0, so scope 0, what LXC's tools pass,
/// leaves the `fe80::` addresses out). Sorted as text, as liblxc sorts them; IPv4 addresses
/// are not filtered by scope (liblxc ignores it for them).
pub fn get_ips(
    c: &Container,
    interface: Option<&str>,
    family: Option<&str>,
    scope: i32,
) -> Result<Vec<String>, Error> {
    const OP: &str = "get_ips";
    let families = Families::parse(family).ok_or_else(|| Error::Running {
        name: c.name().to_string(),
        op: OP,
        errno: libc::EINVAL,
        message: format!(
            "unknown address family {:?}: expected inet or inet6",
            family.unwrap_or_default()
        ),
    })?;
    let ns = container_netns(c, OP, Access::Read)?;
    let nl = Netlink::in_netns(ns.as_fd()).map_err(|e| nl_err(c, OP, "entering", e))?;
    let links = nl
        .links()
        .map_err(|e| nl_err(c, OP, "listing the links", e))?;
    let addrs = nl
        .addresses(None)
        .map_err(|e| nl_err(c, OP, "listing the addresses", e))?;
    drop(nl);
    Ok(select_ips(&links, &addrs, interface, families, scope))
}

/// Move the host's interface `ifname` into the running container, named `dest` there (else
/// keeping its name), as liblxc's `attach_interface`: taken down first if it is up, and down
/// in the container. Nothing is changed when the interface is missing, a name is taken on the
/// other side, or the container is not running; a failure half way is rolled back.
pub fn attach_interface(c: &Container, ifname: &str, dest: Option<&str>) -> Result<(), Error> {
    const OP: &str = "attach_interface";
    let ns = container_netns(c, OP, Access::Change)?;
    let host = Side::host(c, OP)?;
    let inside = Side::container(c, OP, ns)?;
    move_link(c, OP, &host, &inside, ifname, dest)
}

/// Move the container's interface `ifname` out to the caller's network namespace, named
/// `dest` there (else keeping its name), as liblxc's `detach_interface`: taken down first.
/// Nothing is changed on bad input, as for [`attach_interface`].
pub fn detach_interface(c: &Container, ifname: &str, dest: Option<&str>) -> Result<(), Error> {
    const OP: &str = "detach_interface";
    let ns = container_netns(c, OP, Access::Change)?;
    let host = Side::host(c, OP)?;
    let inside = Side::container(c, OP, ns)?;
    move_link(c, OP, &inside, &host, ifname, dest)
}

/// The address families `get_ips` is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Families {
    v4: bool,
    v6: bool,
}

impl Families {
    fn parse(family: Option<&str>) -> Option<Families> {
        match family {
            None => Some(Families { v4: true, v6: true }),
            Some("inet") => Some(Families {
                v4: true,
                v6: false,
            }),
            Some("inet6") => Some(Families {
                v4: false,
                v6: true,
            }),
            Some(_) => None,
        }
    }
}

/// The addresses `get_ips` returns, from the namespace's links and addresses.
fn select_ips(
    links: &[LinkInfo],
    addrs: &[AddressInfo],
    interface: Option<&str>,
    families: Families,
    scope: i32,
) -> Vec<String> {
    let names: HashMap<u32, &str> = links.iter().map(|l| (l.index, l.name.as_str())).collect();
    let mut out: Vec<String> = addrs
        .iter()
        .filter_map(|a| {
            // An address of a link the dump did not show (made in between) is skipped, as
            // getifaddrs skips it.
            let name = *names.get(&a.index)?;
            match interface {
                Some(want) if want != name => return None,
                None if name == "lo" => return None,
                _ => {}
            }
            match a.addr {
                IpAddr::V4(v4) if families.v4 => Some(v4.to_string()),
                IpAddr::V6(v6) if families.v6 => {
                    // getifaddrs gives link-local addresses their interface as scope id.
                    let link_local = v6.segments()[0] & 0xffc0 == 0xfe80;
                    let scope_id = if link_local { a.index } else { 0 };
                    // liblxc compares the scope as unsigned: -1 is 0xffffffff.
                    (scope_id == scope as u32).then(|| inet_ntop6(&v6))
                }
                _ => None,
            }
        })
        .collect();
    out.sort();
    out
}

/// The network namespace of the container's init, opened while init is known to be that
/// process.
fn container_netns(c: &Container, op: &'static str, access: Access) -> Result<OwnedFd, Error> {
    match c.init_pidfd() {
        Ok(pidfd) => {
            let pid = pidfd_pid(pidfd.as_fd()).ok_or_else(|| not_running(c))?;
            netns_of(c, op, pid, pidfd.as_fd())
        }
        Err(e @ lxc_core::Error::RunByLxc { .. }) if access == Access::Change => {
            Err(Error::Container(e.with_lxc_tool("lxc-device")))
        }
        Err(lxc_core::Error::RunByLxc { .. }) => lxc_run_netns(c, op),
        Err(e) => Err(Error::Container(e)),
    }
}

/// A container LXC's own tools run: its init pid from LXC's monitor, held by a pidfd opened
/// between two answers that agree (so the pid was init's when the pidfd was made).
fn lxc_run_netns(c: &Container, op: &'static str) -> Result<OwnedFd, Error> {
    let m = c.lxc_monitor().ok_or_else(|| not_running(c))?;
    let ask = || {
        m.init_pid().map_err(|e| Error::Running {
            name: c.name().to_string(),
            op,
            errno: libc::ESRCH,
            message: format!("asking LXC's monitor for the init pid: {e}"),
        })
    };
    let pid = ask()?;
    let pidfd = lxc_core::sys::pidfd_open(pid).map_err(|_| not_running(c))?;
    if ask()? != pid {
        return Err(not_running(c));
    }
    netns_of(c, op, pid, pidfd.as_fd())
}

/// `/proc/<pid>/ns/net`, checked afterwards to belong to the process `pidfd` holds.
fn netns_of(
    c: &Container,
    op: &'static str,
    pid: i32,
    pidfd: BorrowedFd<'_>,
) -> Result<OwnedFd, Error> {
    let path = format!("/proc/{pid}/ns/net");
    let ns = File::open(&path).map_err(|e| match e.raw_os_error() {
        Some(libc::ENOENT) | Some(libc::ESRCH) => not_running(c),
        _ => io_err(c, op, &format!("opening {path}"), &e),
    })?;
    // Still alive after the open: the pid was not reused in between.
    lxc_core::sys::pidfd_send_signal(pidfd, 0).map_err(|_| not_running(c))?;
    Ok(ns.into())
}

/// The pid a pidfd holds (its fdinfo's `Pid:`), None once the process is gone.
fn pidfd_pid(pidfd: BorrowedFd<'_>) -> Option<i32> {
    use std::os::fd::AsRawFd;
    let text = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", pidfd.as_raw_fd())).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("Pid:"))
        .and_then(|v| v.trim().parse::<i32>().ok())
        .filter(|p| *p > 0)
}

/// One end of a move: a netlink handle in a namespace and a descriptor of that namespace.
struct Side {
    nl: Netlink,
    fd: OwnedFd,
    /// "the host" or "the container", for messages; `at`: "on the host", "in the container";
    /// `into`: "to the host", "into the container".
    what: &'static str,
    at: &'static str,
    into: &'static str,
}

impl Side {
    /// The caller's network namespace (liblxc moves detached devices to the caller's too).
    fn host(c: &Container, op: &'static str) -> Result<Side, Error> {
        let path = "/proc/thread-self/ns/net";
        let fd: OwnedFd = File::open(path)
            .map_err(|e| io_err(c, op, &format!("opening {path}"), &e))?
            .into();
        let nl = Netlink::current().map_err(|e| nl_err(c, op, "connecting", e))?;
        Ok(Side {
            nl,
            fd,
            what: "the host",
            at: "on the host",
            into: "to the host",
        })
    }

    fn container(c: &Container, op: &'static str, fd: OwnedFd) -> Result<Side, Error> {
        let nl = Netlink::in_netns(fd.as_fd()).map_err(|e| nl_err(c, op, "entering", e))?;
        Ok(Side {
            nl,
            fd,
            what: "the container",
            at: "in the container",
            into: "into the container",
        })
    }

    fn same_netns(&self, other: &Side) -> bool {
        let id = |fd: &OwnedFd| {
            File::from(fd.try_clone().ok()?)
                .metadata()
                .ok()
                .map(|m| (m.dev(), m.ino()))
        };
        matches!((id(&self.fd), id(&other.fd)), (Some(a), Some(b)) if a == b)
    }

    fn link(&self, c: &Container, op: &'static str, name: &str) -> Result<Option<LinkInfo>, Error> {
        self.nl
            .link_by_name(name)
            .map_err(|e| nl_err(c, op, &format!("looking up {name} {}", self.at), e))
    }
}

/// Move `name` from one side to the other as `dest`: everything that can be refused is
/// checked before anything changes; a step failing later undoes the earlier ones.
fn move_link(
    c: &Container,
    op: &'static str,
    from: &Side,
    to: &Side,
    name: &str,
    dest: Option<&str>,
) -> Result<(), Error> {
    let refuse = |errno: i32, message: String| Error::Running {
        name: c.name().to_string(),
        op,
        errno,
        message,
    };
    let dest = dest.filter(|d| !d.is_empty()).unwrap_or(name);
    for n in [name, dest] {
        if let Some(why) = bad_ifname(n) {
            return Err(refuse(
                libc::EINVAL,
                format!("{n:?} is not an interface name: {why}"),
            ));
        }
    }
    if from.same_netns(to) {
        return Err(refuse(
            libc::EINVAL,
            "the container shares the host's network namespace: there is nothing to move \
             between them"
                .into(),
        ));
    }
    let link = from
        .link(c, op, name)?
        .ok_or_else(|| refuse(libc::ENODEV, format!("no interface {name} {}", from.at)))?;
    // The kernel refuses these with EINVAL; say so before taking them down.
    if link.index == LOOPBACK_IFINDEX || link.kind.as_deref() == Some("bridge") {
        let what = if link.index == LOOPBACK_IFINDEX {
            "the loopback device"
        } else {
            "a bridge"
        };
        return Err(refuse(
            libc::EINVAL,
            format!("{name} is {what}, which the kernel keeps in its network namespace"),
        ));
    }
    if to.link(c, op, dest)?.is_some() {
        return Err(refuse(
            libc::EEXIST,
            format!("{} already has an interface named {dest}", to.what),
        ));
    }
    // The kernel keeps a device's name when it changes namespace: if that name is taken on
    // the other side, rename it first (on this side) to its final name.
    let rename_first = dest != name && to.link(c, op, name)?.is_some();
    if rename_first && from.link(c, op, dest)?.is_some() {
        return Err(refuse(
            libc::EEXIST,
            format!(
                "{} has an interface named {name} and {} one named {dest}: rename one first",
                to.what, from.what
            ),
        ));
    }

    // From here on, each step undoes the earlier ones when it fails.
    let kernel = |what: String, e: NetlinkError| {
        let errno = e.errno().unwrap_or(libc::EIO);
        let mut message = format!("{what}: {}", cause(&e));
        if errno == libc::EINVAL && what.starts_with("moving") {
            message.push_str(
                " (the kernel keeps some devices, wireless ones among them, in their network \
                 namespace)",
            );
        }
        refuse(errno, message)
    };
    let restore_up = |idx: u32, nl: &Netlink| {
        if link.up {
            let _ = nl.set_up(idx);
        }
    };
    if link.up {
        // liblxc takes the device down before the move (and leaves it down).
        from.nl
            .set_down(link.index)
            .map_err(|e| kernel(format!("taking {name} down {}", from.at), e))?;
    }
    let moving_name = if rename_first {
        if let Err(e) = from.nl.set_name(link.index, dest) {
            restore_up(link.index, &from.nl);
            return Err(kernel(format!("renaming {name} to {dest} {}", from.at), e));
        }
        dest
    } else {
        name
    };
    let undo_rename = || {
        if rename_first {
            let _ = from.nl.set_name(link.index, name);
        }
        restore_up(link.index, &from.nl);
    };
    if let Err(e) = from.nl.move_to_netns(link.index, to.fd.as_fd()) {
        undo_rename();
        return Err(kernel(format!("moving {name} {}", to.into), e));
    }
    // The index may change with the namespace: find the device again by its name.
    let moved = match to.nl.link_by_name(moving_name) {
        Ok(Some(l)) => l,
        Ok(None) => {
            return Err(refuse(
                libc::ENODEV,
                format!(
                    "{name} was moved {} but is not there under {moving_name}",
                    to.into
                ),
            ))
        }
        Err(e) => return Err(kernel(format!("finding {name} {}", to.at), e)),
    };
    if moving_name != dest {
        if let Err(e) = to.nl.set_name(moved.index, dest) {
            // Back where it was, as it was.
            if to.nl.move_to_netns(moved.index, from.fd.as_fd()).is_ok() {
                if let Ok(Some(back)) = from.nl.link_by_name(name) {
                    restore_up(back.index, &from.nl);
                }
            }
            return Err(kernel(format!("renaming {name} to {dest} {}", to.at), e));
        }
    }
    tracing::info!(
        container = c.name(),
        from = from.what,
        to = to.what,
        "moved network device {name} as {dest}"
    );
    Ok(())
}

/// Why `name` cannot be an interface name (the kernel's `dev_valid_name`), if it cannot.
fn bad_ifname(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("empty")
    } else if name.len() >= crate::IFNAMSIZ {
        Some("longer than 15 bytes")
    } else if name == "." || name == ".." {
        Some("`.` and `..` are not names")
    } else if name
        .bytes()
        .any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace())
    {
        Some("no '/', ':' or spaces")
    } else {
        None
    }
}

/// The kernel's reason alone when there is an errno ("File exists"), else the layer's text.
fn cause(e: &NetlinkError) -> String {
    match e.errno() {
        Some(n) => {
            let s = io::Error::from_raw_os_error(n).to_string();
            // io::Error appends " (os error N)": the errno travels in the error itself.
            match s.find(" (os error") {
                Some(i) => s[..i].to_string(),
                None => s,
            }
        }
        None => e.to_string(),
    }
}

fn not_running(c: &Container) -> Error {
    Error::Container(lxc_core::Error::NotRunning {
        name: c.name().to_string(),
    })
}

fn nl_err(c: &Container, op: &'static str, what: &str, e: NetlinkError) -> Error {
    Error::Running {
        name: c.name().to_string(),
        op,
        errno: e.errno().unwrap_or(libc::EIO),
        message: match what {
            "entering" => format!("entering the container's network namespace: {e}"),
            "connecting" => format!("netlink: {e}"),
            _ => format!("{what}: {}", cause(&e)),
        },
    }
}

fn io_err(c: &Container, op: &'static str, what: &str, e: &io::Error) -> Error {
    let text = e.to_string();
    let text = match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    };
    Error::Running {
        name: c.name().to_string(),
        op,
        errno: e.raw_os_error().unwrap_or(libc::EIO),
        message: format!("{what}: {text}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn link(index: u32, name: &str) -> LinkInfo {
        LinkInfo {
            index,
            name: name.into(),
            mtu: 1500,
            address: vec![0; 6],
            kind: None,
            up: true,
            master: None,
            link: None,
            link_netnsid: None,
            bridge: None,
        }
    }

    fn addr(index: u32, a: &str) -> AddressInfo {
        AddressInfo {
            index,
            addr: a.parse().unwrap(),
            prefix: 24,
            broadcast: None,
        }
    }

    fn fixture() -> (Vec<LinkInfo>, Vec<AddressInfo>) {
        (
            vec![link(1, "lo"), link(2, "eth0"), link(3, "eth1")],
            vec![
                addr(1, "127.0.0.1"),
                addr(1, "::1"),
                addr(2, "10.0.3.5"),
                addr(2, "10.0.3.10"),
                addr(2, "fd00::5"),
                addr(2, "fe80::216:3eff:fe00:1"),
                addr(3, "192.168.1.2"),
                addr(9, "10.9.9.9"),
            ],
        )
    }

    const ALL: Families = Families { v4: true, v6: true };

    #[test]
    fn like_lxc_info_all_but_lo_and_link_local_sorted_as_text() {
        let (l, a) = fixture();
        assert_eq!(
            select_ips(&l, &a, None, ALL, 0),
            ["10.0.3.10", "10.0.3.5", "192.168.1.2", "fd00::5"]
        );
    }

    #[test]
    fn family_interface_and_scope() {
        let (l, a) = fixture();
        let v4 = Families::parse(Some("inet")).unwrap();
        let v6 = Families::parse(Some("inet6")).unwrap();
        assert_eq!(
            select_ips(&l, &a, None, v4, 0),
            ["10.0.3.10", "10.0.3.5", "192.168.1.2"]
        );
        assert_eq!(select_ips(&l, &a, None, v6, 0), ["fd00::5"]);
        // The link-local address has eth0's index as its scope; IPv4 ignores the scope.
        assert_eq!(
            select_ips(&l, &a, Some("eth0"), ALL, 2),
            ["10.0.3.10", "10.0.3.5", "fe80::216:3eff:fe00:1"]
        );
        // lo only when asked for by name.
        assert_eq!(select_ips(&l, &a, Some("lo"), ALL, 0), ["127.0.0.1", "::1"]);
        assert_eq!(
            select_ips(&l, &a, Some("eth9"), ALL, 0),
            Vec::<String>::new()
        );
        assert!(Families::parse(Some("ipx")).is_none());
    }

    #[test]
    fn ipv6_prints_as_glibc() {
        let l = vec![link(2, "eth0")];
        let a = vec![AddressInfo {
            index: 2,
            addr: IpAddr::V6(Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x0305)),
            prefix: 96,
            broadcast: Some(Ipv4Addr::UNSPECIFIED),
        }];
        assert_eq!(select_ips(&l, &a, None, ALL, 0), ["::ffff:10.0.3.5"]);
    }

    #[test]
    fn interface_names_as_the_kernel_takes_them() {
        assert!(bad_ifname("eth0").is_none());
        assert!(bad_ifname("a23456789012345").is_none());
        for bad in ["", "a234567890123456", ".", "..", "a/b", "a:1", "a b"] {
            assert!(bad_ifname(bad).is_some(), "{bad:?}");
        }
    }
}
