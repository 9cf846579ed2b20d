//! Just enough rtnetlink to ask the kernel for a link of some type (RTM_NEWLINK) and read its
//! answer; used by `checkconfig` inside a throw-away network namespace.

use std::io;

use crate::sys::NetlinkRoute;

const RTM_NEWLINK: u16 = 16;
const NLMSG_ERROR: u16 = 2;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const NLA_F_NESTED: u16 = 0x8000;

const IFLA_IFNAME: u16 = 3;
const IFLA_LINK: u16 = 5;
const IFLA_LINKINFO: u16 = 18;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const VETH_INFO_PEER: u16 = 1;
const IFLA_VLAN_ID: u16 = 1;

const NLMSG_HDRLEN: usize = 16;
const IFINFOMSG_LEN: usize = 16;

/// The link to ask for.
pub enum LinkSpec<'a> {
    /// A link that needs nothing but its kind (bridge, dummy).
    Plain { name: &'a str, kind: &'a str },
    /// A veth pair.
    Veth { name: &'a str, peer: &'a str },
    /// A link on top of another (macvlan, ipvlan).
    Stacked {
        name: &'a str,
        kind: &'a str,
        lower: u32,
    },
    /// An 802.1Q vlan on top of another link.
    Vlan { name: &'a str, lower: u32, id: u16 },
}

/// A netlink message under construction, with nested attributes patched on close.
struct Msg(Vec<u8>);

impl Msg {
    fn new(ty: u16, flags: u16, seq: u32) -> Msg {
        let mut b = Vec::with_capacity(256);
        b.extend_from_slice(&0u32.to_ne_bytes()); // length, patched in finish()
        b.extend_from_slice(&ty.to_ne_bytes());
        b.extend_from_slice(&flags.to_ne_bytes());
        b.extend_from_slice(&seq.to_ne_bytes());
        b.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills ours in
        Msg(b)
    }

    /// An all-zero `struct ifinfomsg` (AF_UNSPEC, no index, no flags).
    fn ifinfomsg(&mut self) {
        self.0.extend_from_slice(&[0u8; IFINFOMSG_LEN]);
    }

    fn pad(&mut self) {
        while !self.0.len().is_multiple_of(4) {
            self.0.push(0);
        }
    }

    fn attr(&mut self, ty: u16, data: &[u8]) {
        let len = (4 + data.len()) as u16;
        self.0.extend_from_slice(&len.to_ne_bytes());
        self.0.extend_from_slice(&ty.to_ne_bytes());
        self.0.extend_from_slice(data);
        self.pad();
    }

    fn attr_str(&mut self, ty: u16, s: &str) {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        self.attr(ty, &v);
    }

    /// Open a nested attribute; returns where its header is, for `end`.
    fn begin(&mut self, ty: u16) -> usize {
        let at = self.0.len();
        self.0.extend_from_slice(&0u16.to_ne_bytes());
        self.0.extend_from_slice(&(ty | NLA_F_NESTED).to_ne_bytes());
        at
    }

    fn end(&mut self, at: usize) {
        let len = (self.0.len() - at) as u16;
        self.0[at..at + 2].copy_from_slice(&len.to_ne_bytes());
    }

    fn finish(mut self) -> Vec<u8> {
        let len = self.0.len() as u32;
        self.0[..4].copy_from_slice(&len.to_ne_bytes());
        self.0
    }
}

fn newlink_msg(spec: &LinkSpec<'_>, seq: u32) -> Vec<u8> {
    let mut m = Msg::new(
        RTM_NEWLINK,
        NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        seq,
    );
    m.ifinfomsg();
    let (name, kind) = match spec {
        LinkSpec::Plain { name, kind } => (*name, *kind),
        LinkSpec::Veth { name, .. } => (*name, "veth"),
        LinkSpec::Stacked { name, kind, .. } => (*name, *kind),
        LinkSpec::Vlan { name, .. } => (*name, "vlan"),
    };
    m.attr_str(IFLA_IFNAME, name);
    if let LinkSpec::Stacked { lower, .. } | LinkSpec::Vlan { lower, .. } = spec {
        m.attr(IFLA_LINK, &lower.to_ne_bytes());
    }
    let info = m.begin(IFLA_LINKINFO);
    m.attr_str(IFLA_INFO_KIND, kind);
    match spec {
        LinkSpec::Veth { peer, .. } => {
            let data = m.begin(IFLA_INFO_DATA);
            let p = m.begin(VETH_INFO_PEER);
            m.ifinfomsg();
            m.attr_str(IFLA_IFNAME, peer);
            m.end(p);
            m.end(data);
        }
        LinkSpec::Vlan { id, .. } => {
            let data = m.begin(IFLA_INFO_DATA);
            m.attr(IFLA_VLAN_ID, &id.to_ne_bytes());
            m.end(data);
        }
        LinkSpec::Plain { .. } | LinkSpec::Stacked { .. } => {}
    }
    m.end(info);
    m.finish()
}

/// Ask for a new link and wait for the kernel's answer: Ok, or the errno it refused with
/// (EOPNOTSUPP: this kernel has no such link type).
pub fn new_link(sock: &NetlinkRoute, spec: &LinkSpec<'_>, seq: u32) -> io::Result<()> {
    sock.send(&newlink_msg(spec, seq))?;
    let mut buf = vec![0u8; 8192];
    loop {
        let n = sock.recv(&mut buf)?;
        let mut off = 0;
        while off + NLMSG_HDRLEN <= n {
            let h = &buf[off..];
            let len = u32::from_ne_bytes([h[0], h[1], h[2], h[3]]) as usize;
            let ty = u16::from_ne_bytes([h[4], h[5]]);
            let rseq = u32::from_ne_bytes([h[8], h[9], h[10], h[11]]);
            if len < NLMSG_HDRLEN || off + len > n {
                return Err(io::Error::other("malformed netlink reply"));
            }
            if ty == NLMSG_ERROR && rseq == seq && len >= NLMSG_HDRLEN + 4 {
                let e = &h[NLMSG_HDRLEN..NLMSG_HDRLEN + 4];
                let code = i32::from_ne_bytes([e[0], e[1], e[2], e[3]]);
                return if code == 0 {
                    Ok(())
                } else {
                    Err(io::Error::from_raw_os_error(-code))
                };
            }
            off += (len + 3) & !3;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn veth_message_layout() {
        let m = newlink_msg(
            &LinkSpec::Veth {
                name: "a",
                peer: "b",
            },
            7,
        );
        let len = u32::from_ne_bytes([m[0], m[1], m[2], m[3]]) as usize;
        assert_eq!(len, m.len());
        assert_eq!(len % 4, 0);
        // header + ifinfomsg + IFNAME("a\0" padded to 8) + LINKINFO(4 + KIND(4+8) +
        // DATA(4 + PEER(4 + 16 + 8)))
        assert_eq!(len, 16 + 16 + 8 + 4 + 12 + 4 + 4 + 16 + 8);
    }
}
