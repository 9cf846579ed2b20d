//! LXC's edits of a config's saved text ("unexpanded config") that a clone makes, line by line
//! as LXC 5.0 makes them (confile.c: `clear_unexp_config_line`, `clone_update_unexp_hooks`,
//! `clone_update_unexp_ovl_paths`, `network_new_hwaddrs`), so that a clone's config file reads
//! like the one `lxc-copy` writes.

use std::io::Read;

/// Split into lines that keep their `\n`.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.split_inclusive('\n')
}

/// Whether a line sets `key` itself (not a subkey): the key followed by a blank or `=`.
fn sets_key(line: &str, key: &str) -> bool {
    line.strip_prefix(key)
        .and_then(|r| r.chars().next())
        .is_some_and(|c| c.is_whitespace() || c == '=')
}

/// Drop the lines that set `key`.
pub fn clear_key(text: &str, key: &str) -> String {
    lines(text).filter(|l| !sets_key(l, key)).collect()
}

/// Append `key = value` (LXC's `do_append_unexp_config_line`).
pub fn append(text: &mut String, key: &str, value: &str) {
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    if value.is_empty() {
        text.push_str(&format!("{key} =\n"));
    } else {
        text.push_str(&format!("{key} = {value}\n"));
    }
}

/// The value part of a `key = value` line (after `=` and blanks), with its offset.
fn value_at(line: &str, key_len: usize) -> Option<usize> {
    let eq = line[key_len..].find('=')? + key_len + 1;
    let skip = line[eq..]
        .find(|c: char| c != ' ' && c != '\t')
        .unwrap_or(line.len() - eq);
    Some(eq + skip)
}

/// `lxc.hook*` values that start with `olddir` get `newdir` instead of it.
pub fn replace_hook_dirs(text: &str, olddir: &str, newdir: &str) -> String {
    lines(text)
        .map(|l| {
            if !l.starts_with("lxc.hook") {
                return l.to_string();
            }
            match value_at(l, "lxc.hook".len()) {
                Some(v) if l[v..].starts_with(olddir) => {
                    format!("{}{}{}", &l[..v], newdir, &l[v + olddir.len()..])
                }
                _ => l.to_string(),
            }
        })
        .collect()
}

/// In `lxc.mount.entry` lines of an overlay mount, `DIR=<oldpath>/<oldname>` becomes
/// `DIR=<newpath>/<newname>` for DIR in `br`, `upperdir`, `workdir` (the first of each per line,
/// as LXC).
pub fn update_ovl_paths(
    text: &str,
    oldpath: &str,
    oldname: &str,
    newpath: &str,
    newname: &str,
) -> String {
    let key = "lxc.mount.entry";
    lines(text)
        .map(|l| {
            let mut l = l.to_string();
            if !l.starts_with(key) {
                return l;
            }
            for dir in ["br", "upperdir", "workdir"] {
                let Some(v) = value_at(&l, key.len()) else {
                    return l;
                };
                if !l[v..].contains(" overlay") {
                    return l;
                }
                let old = format!("{dir}={oldpath}/{oldname}");
                let new = format!("{dir}={newpath}/{newname}");
                if let Some(i) = l[v..].find(&old) {
                    l.replace_range(v + i..v + i + old.len(), &new);
                }
            }
            l
        })
        .collect()
}

/// Whether a line sets a network hardware address: `lxc.net.N.hwaddr...` (or the legacy
/// `lxc.network.N.hwaddr...`), as LXC's `lxc_config_net_is_hwaddr` reads it.
fn is_hwaddr_line(line: &str) -> bool {
    ["lxc.net.", "lxc.network."].iter().any(|p| {
        line.strip_prefix(p).is_some_and(|r| {
            let digits = r.len() - r.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            digits > 0
                && r[digits..]
                    .strip_prefix('.')
                    .is_some_and(|s| s.starts_with("hwaddr"))
        })
    })
}

/// A new address as LXC's `new_hwaddr` makes it: `00:16:3e:` and three random octets below
/// 255.
fn new_hwaddr() -> std::io::Result<String> {
    let mut b = [0u8; 6];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut b)?;
    let octet = |hi: u8, lo: u8| (u16::from_ne_bytes([hi, lo]) % 255) as u8;
    Ok(format!(
        "00:16:3e:{:02x}:{:02x}:{:02x}",
        octet(b[0], b[1]),
        octet(b[2], b[3]),
        octet(b[4], b[5])
    ))
}

/// Every 17-character hardware address set in the text gets a new random one.
pub fn new_hwaddrs(text: &str) -> std::io::Result<String> {
    let mut out = String::with_capacity(text.len());
    for l in lines(text) {
        if !is_hwaddr_line(l) {
            out.push_str(l);
            continue;
        }
        let Some(v) = value_at(l, 0) else {
            out.push_str(l);
            continue;
        };
        let end = l[v..].find([' ', '\t', '\n']).map_or(l.len(), |i| v + i);
        if end - v == 17 {
            out.push_str(&l[..v]);
            out.push_str(&new_hwaddr()?);
            out.push_str(&l[end..]);
        } else {
            tracing::warn!(line = l.trim_end(), "bad hwaddr entry");
            out.push_str(l);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lxc_text_edits() {
        let t = "lxc.rootfs.path = dir:/a\nlxc.rootfs.pathx = 1\nlxc.uts.name=c1\n";
        assert_eq!(
            clear_key(t, "lxc.rootfs.path"),
            "lxc.rootfs.pathx = 1\nlxc.uts.name=c1\n"
        );
        let mut s = String::from("a = 1");
        append(&mut s, "lxc.uts.name", "c2");
        assert_eq!(s, "a = 1\nlxc.uts.name = c2\n");
        assert_eq!(
            replace_hook_dirs(
                "lxc.hook.pre-start = /p/c1/h.sh\nlxc.hook.stop = /q/h\n",
                "/p/c1",
                "/p/c2"
            ),
            "lxc.hook.pre-start = /p/c2/h.sh\nlxc.hook.stop = /q/h\n"
        );
        assert_eq!(
            update_ovl_paths(
                "lxc.mount.entry = /s d overlay lowerdir=/s,upperdir=/p/c1/u,workdir=/p/c1/w 0 0\n",
                "/p",
                "c1",
                "/n",
                "c2"
            ),
            "lxc.mount.entry = /s d overlay lowerdir=/s,upperdir=/n/c2/u,workdir=/n/c2/w 0 0\n"
        );
        let m =
            new_hwaddrs("lxc.net.0.hwaddr = 00:16:3e:aa:bb:cc\nlxc.net.0.type = veth\n").unwrap();
        assert!(m.starts_with("lxc.net.0.hwaddr = 00:16:3e:"));
        assert_eq!(
            m.lines().next().unwrap().len(),
            "lxc.net.0.hwaddr = ".len() + 17
        );
        assert!(m.ends_with("lxc.net.0.type = veth\n"));
        assert!(!is_hwaddr_line("lxc.net.x.hwaddr = 1"));
    }
}
