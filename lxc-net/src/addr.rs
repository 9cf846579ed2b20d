//! Numbers and addresses read and printed the way LXC's network keys read and print them:
//! glibc's `strtoul`, `inet_pton` and `inet_ntop`, ported exactly, because a value LXC accepts
//! must be accepted here and print the same (`Ipv6Addr`'s `Display` differs from glibc's
//! `inet_ntop` for addresses like `::2:3`, and Rust's parsers are not glibc's).

use std::net::{Ipv4Addr, Ipv6Addr};

pub(crate) use lxc_core::keys::parse::strtoul;

/// LXC's `get_u16(&v, s, 0)`: `strtoul` base 0, the whole string, at most 0xffff.
pub(crate) fn get_u16(s: &str) -> Option<u16> {
    if s.is_empty() {
        return None;
    }
    let (v, end, overflow) = strtoul(s, 0);
    if end == 0 || end != s.len() || overflow {
        return None;
    }
    u16::try_from(v).ok()
}

/// glibc's `inet_pton(AF_INET, ...)`: exactly four decimal octets, no leading zeros.
pub fn inet_pton4(s: &str) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut n = 0usize;
    let mut cur: u32 = 0;
    let mut saw_digit = false;
    for ch in s.bytes() {
        match ch {
            b'0'..=b'9' => {
                if saw_digit && cur == 0 {
                    return None;
                }
                cur = cur * 10 + u32::from(ch - b'0');
                if cur > 255 {
                    return None;
                }
                if !saw_digit {
                    n += 1;
                    if n > 4 {
                        return None;
                    }
                    saw_digit = true;
                }
                octets[n - 1] = cur as u8;
            }
            b'.' if saw_digit => {
                if n == 4 {
                    return None;
                }
                cur = 0;
                saw_digit = false;
            }
            _ => return None,
        }
    }
    (n == 4).then(|| Ipv4Addr::from(octets))
}

/// glibc's `inet_pton(AF_INET6, ...)`, including an embedded dotted IPv4 tail.
pub fn inet_pton6(s: &str) -> Option<Ipv6Addr> {
    let src = s.as_bytes();
    let mut tmp = [0u8; 16];
    let mut tp = 0usize;
    let mut colonp: Option<usize> = None;
    let mut i = 0usize;
    if src.is_empty() {
        return None;
    }
    if src[0] == b':' {
        i += 1;
        if src.get(i) != Some(&b':') {
            return None;
        }
    }
    let mut curtok = i;
    let mut xdigits = 0usize;
    let mut val: u32 = 0;
    while i < src.len() {
        let ch = src[i];
        i += 1;
        if let Some(d) = (ch as char).to_digit(16) {
            if xdigits == 4 {
                return None;
            }
            val = (val << 4) | d;
            xdigits += 1;
            continue;
        }
        if ch == b':' {
            curtok = i;
            if xdigits == 0 {
                if colonp.is_some() {
                    return None;
                }
                colonp = Some(tp);
                continue;
            } else if i == src.len() {
                return None;
            }
            if tp + 2 > 16 {
                return None;
            }
            tmp[tp] = (val >> 8) as u8;
            tmp[tp + 1] = val as u8;
            tp += 2;
            xdigits = 0;
            val = 0;
            continue;
        }
        if ch == b'.' && tp + 4 <= 16 {
            if let Some(v4) = std::str::from_utf8(&src[curtok..])
                .ok()
                .and_then(inet_pton4)
            {
                tmp[tp..tp + 4].copy_from_slice(&v4.octets());
                tp += 4;
                xdigits = 0;
                break;
            }
        }
        return None;
    }
    if xdigits > 0 {
        if tp + 2 > 16 {
            return None;
        }
        tmp[tp] = (val >> 8) as u8;
        tmp[tp + 1] = val as u8;
        tp += 2;
    }
    if let Some(c) = colonp {
        // "::" standing for nothing is an error.
        if tp == 16 {
            return None;
        }
        let n = tp - c;
        tmp.copy_within(c..tp, 16 - n);
        tmp[c..16 - n].fill(0);
        tp = 16;
    }
    (tp == 16).then(|| Ipv6Addr::from(tmp))
}

/// glibc's `inet_ntop(AF_INET6, ...)`: the longest run (two or more, the first of equals) of
/// zero words becomes `::`, and `::a.b.c.d` / `::ffff:a.b.c.d` print their IPv4 tail dotted.
pub fn inet_ntop6(a: &Ipv6Addr) -> String {
    let words = a.segments();
    let (mut best_base, mut best_len) = (None::<usize>, 0usize);
    let (mut cur_base, mut cur_len) = (None::<usize>, 0usize);
    for (i, w) in words.iter().enumerate() {
        if *w == 0 {
            if cur_base.is_none() {
                cur_base = Some(i);
                cur_len = 1;
            } else {
                cur_len += 1;
            }
        } else if let Some(b) = cur_base.take() {
            if best_base.is_none() || cur_len > best_len {
                best_base = Some(b);
                best_len = cur_len;
            }
        }
    }
    if let Some(b) = cur_base {
        if best_base.is_none() || cur_len > best_len {
            best_base = Some(b);
            best_len = cur_len;
        }
    }
    if best_len < 2 {
        best_base = None;
    }
    let mut out = String::new();
    let mut i = 0;
    while i < 8 {
        if let Some(b) = best_base {
            if i >= b && i < b + best_len {
                if i == b {
                    out.push(':');
                }
                i += 1;
                continue;
            }
        }
        if i != 0 {
            out.push(':');
        }
        if i == 6
            && best_base == Some(0)
            && (best_len == 6 || (best_len == 5 && words[5] == 0xffff))
        {
            let o = a.octets();
            out.push_str(&Ipv4Addr::new(o[12], o[13], o[14], o[15]).to_string());
            break;
        }
        out.push_str(&format!("{:x}", words[i]));
        i += 1;
    }
    if let Some(b) = best_base {
        if b + best_len == 8 {
            out.push(':');
        }
    }
    out
}

/// LXC's `config_ip_prefix`: the prefix of an address's network class, computed (as LXC does)
/// on the address in network byte order read as a host integer.
pub(crate) fn class_prefix(a: Ipv4Addr) -> u32 {
    let s_addr = u32::from_ne_bytes(a.octets());
    if s_addr & 0x8000_0000 == 0 {
        8
    } else if s_addr & 0xc000_0000 == 0x8000_0000 {
        16
    } else if s_addr & 0xe000_0000 == 0xc000_0000 {
        24
    } else {
        0
    }
}

/// Fill LXC's `x`/`X` placeholders in a hardware address with random hex digits, keeping the
/// second one even so that a random first octet stays unicast (LXC's `rand_complete_hwaddr`).
pub fn complete_hwaddr(value: &str) -> String {
    if !value.bytes().any(|b| b == b'x' || b == b'X') {
        return value.to_string();
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let rnd = random_bytes(value.len());
    let mut out = String::with_capacity(value.len());
    let mut done = false;
    for (pos, ch) in value.char_indices() {
        if ch == '\n' {
            done = true;
        }
        if !done && (ch == 'x' || ch == 'X') {
            let mask = if pos == 1 { 0x0e } else { 0x0f };
            out.push(HEX[usize::from(rnd[pos] & mask)] as char);
        } else {
            out.push(ch);
        }
    }
    out
}

fn random_bytes(n: usize) -> Vec<u8> {
    use std::io::Read;
    let mut buf = vec![0u8; n];
    let urandom = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut buf));
    if urandom.is_ok() {
        return buf;
    }
    // Without /dev/urandom (a chroot), std's per-process hash keys still differ run to run.
    use std::hash::{BuildHasher, Hasher};
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    for (i, b) in buf.iter_mut().enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(seed);
        h.write_usize(i);
        *b = h.finish() as u8;
    }
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pton4_like_glibc() {
        assert_eq!(inet_pton4("1.2.3.4"), Some(Ipv4Addr::new(1, 2, 3, 4)));
        assert_eq!(inet_pton4("0.0.0.0"), Some(Ipv4Addr::UNSPECIFIED));
        for bad in [
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "256.1.1.1",
            "1..2.3",
            " 1.2.3.4",
            "1.2.3.4.",
        ] {
            assert_eq!(inet_pton4(bad), None, "{bad}");
        }
    }

    #[test]
    fn pton6_ntop6_like_glibc() {
        let cases = [
            ("::", "::"),
            ("::1", "::1"),
            ("1::", "1::"),
            ("::2:3", "::0.2.0.3"),
            ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
            ("fe80::1:0:0:1", "fe80::1:0:0:1"),
            ("1:0:0:2:0:0:0:3", "1:0:0:2::3"),
            ("2001:DB8::A", "2001:db8::a"),
            ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
            ("1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7"),
        ];
        for (input, printed) in cases {
            let a = inet_pton6(input).unwrap_or_else(|| panic!("{input}"));
            assert_eq!(inet_ntop6(&a), printed, "{input}");
        }
        for bad in [
            ":",
            ":1",
            "1:",
            "1::2::3",
            "12345::",
            "1:2:3:4:5:6:7:8:9",
            "::1.2.3",
            "g::",
        ] {
            assert_eq!(inet_pton6(bad), None, "{bad}");
        }
    }

    #[test]
    fn hwaddr_completion_keeps_the_rest() {
        let v = complete_hwaddr("00:16:3e:xx:Xx:xx");
        assert!(v.starts_with("00:16:3e:"), "{v}");
        assert!(!v.contains(['x', 'X']), "{v}");
        let v = complete_hwaddr("xx:11:22:33:44:55");
        let second = u8::from_str_radix(&v[1..2], 16).expect("hex");
        assert_eq!(second & 1, 0, "unicast: {v}");
    }

    #[test]
    fn u16_like_lxc() {
        assert_eq!(get_u16("0x10"), Some(16));
        assert_eq!(get_u16("010"), Some(8));
        assert_eq!(get_u16(" 5"), Some(5));
        assert_eq!(get_u16("-0"), Some(0));
        assert_eq!(get_u16("-1"), None);
        assert_eq!(get_u16("65536"), None);
        assert_eq!(get_u16("5 "), None);
    }
}
