//! Id maps of a user namespace made outside a container's start: `lxc-usernsexec`'s `-m`
//! maps, the default map from `/etc/subuid` and `/etc/subgid`, `-s` (map self), and writing
//! the maps of a process the way liblxc's `lxc_map_ids` does: through `newuidmap` and
//! `newgidmap` when they are installed with the privilege to do it, else straight into
//! `/proc/PID/{u,g}id_map`.
//!
//! The map type is `lxc.idmap`'s ([`IdMap`]); facts from LXC 5.0.2's `conf.c`
//! (`lxc_map_ids`, `write_id_mapping`, `idmaptool_on_path_and_privileged`) and
//! `cmd/lxc_usernsexec.c` (`parse_map`, `read_default_map`, `do_map_self`).

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Origin, Result};
pub use crate::keys::parse::IdMap;

/// shadow's files of subordinate ids, as LXC reads them.
pub const SUBUID_FILE: &str = "/etc/subuid";
pub const SUBGID_FILE: &str = "/etc/subgid";

/// The most text the kernel takes in one write to `/proc/PID/{u,g}id_map`.
const MAP_WRITE_MAX: usize = 4096;

fn invalid(what: &str, value: &str, expected: &str) -> Error {
    Error::InvalidValue {
        key: what.into(),
        value: value.into(),
        origin: Origin::api(),
        expected: expected.into(),
    }
}

/// `sscanf("%ld")`: white space, an optional sign, decimal digits; the rest is returned.
fn scan_long(s: &str) -> Option<(i64, &str)> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    // glibc's %ld saturates on overflow.
    let n = t[..digits].parse::<i64>().unwrap_or(i64::MAX);
    Some((if neg { -n } else { n }, &t[digits..]))
}

/// `lxc-usernsexec -m [u|g|b]:NSID:HOSTID:RANGE`: one map, or two for `b` (both). As LXC's
/// `sscanf("%c:%ld:%ld:%ld")`, anything after the range is ignored; negative numbers, which
/// LXC would pass on to the kernel to refuse, are refused here.
pub fn parse_usernsexec_map(spec: &str) -> Result<Vec<IdMap>> {
    const EXPECTED: &str = "[u|g|b]:NSID:HOSTID:RANGE, e.g. b:0:100000:65536";
    let bad = || invalid("-m", spec, EXPECTED);
    let mut chars = spec.chars();
    let which = chars.next().ok_or_else(bad)?;
    let rest = chars.as_str().strip_prefix(':').ok_or_else(bad)?;
    let (nsid, rest) = scan_long(rest).ok_or_else(bad)?;
    let rest = rest.strip_prefix(':').ok_or_else(bad)?;
    let (hostid, rest) = scan_long(rest).ok_or_else(bad)?;
    let rest = rest.strip_prefix(':').ok_or_else(bad)?;
    let (range, _) = scan_long(rest).ok_or_else(bad)?;
    let (Ok(nsid), Ok(hostid), Ok(range)) = (
        u64::try_from(nsid),
        u64::try_from(hostid),
        u64::try_from(range),
    ) else {
        return Err(bad());
    };
    let kinds: &[bool] = match which {
        'u' => &[true],
        'g' => &[false],
        'b' => &[true, false],
        _ => return Err(bad()),
    };
    Ok(kinds
        .iter()
        .map(|&uid| IdMap {
            uid,
            nsid,
            hostid,
            range,
        })
        .collect())
}

/// The first `USER:START:COUNT` line of a subordinate id file for `user`, as the map
/// `0 START COUNT` (LXC uses only the first: with several it cannot tell which one is meant).
pub fn subid_map(file: &Path, user: &str, uid: bool) -> Result<IdMap> {
    let text = std::fs::read(file).map_err(|e| Error::io("read subordinate ids", file, e))?;
    let line = text
        .split(|&b| b == b'\n')
        .find(|l| l.len() > user.len() && l.starts_with(user.as_bytes()) && l[user.len()] == b':')
        .ok_or_else(|| {
            Error::io(
                "find the user's subordinate ids",
                file,
                io::Error::new(io::ErrorKind::NotFound, format!("no line for user {user}")),
            )
        })?;
    let line = String::from_utf8_lossy(line);
    let mut fields = line.splitn(3, ':').skip(1);
    let mut number = || {
        fields
            .next()
            .and_then(crate::keys::parse::safe_ulong)
            .ok_or_else(|| invalid(&file.display().to_string(), &line, "USER:START:COUNT"))
    };
    let hostid = number()?;
    let range = number()?;
    Ok(IdMap {
        uid,
        nsid: 0,
        hostid,
        range,
    })
}

/// `lxc-usernsexec` without `-m`: the caller's first ranges in `/etc/subuid` and `/etc/subgid`.
pub fn default_maps(user: &str) -> Result<Vec<IdMap>> {
    Ok(vec![
        subid_map(Path::new(SUBUID_FILE), user, true)?,
        subid_map(Path::new(SUBGID_FILE), user, false)?,
    ])
}

/// `lxc-usernsexec -s`: add the caller's own uid and gid, each mapped to the first id after
/// the ranges that start at 0 (LXC's one pass over the maps in order).
pub fn add_self(maps: &mut Vec<IdMap>, uid: u32, gid: u32) {
    let next = |want_uid: bool| {
        let mut id = 0u64;
        for m in maps.iter().filter(|m| m.uid == want_uid) {
            if id >= m.nsid && id < m.nsid.saturating_add(m.range) {
                id += m.range;
            }
        }
        id
    };
    let (nsuid, nsgid) = (next(true), next(false));
    maps.push(IdMap {
        uid: false,
        nsid: nsgid,
        hostid: gid.into(),
        range: 1,
    });
    maps.push(IdMap {
        uid: true,
        nsid: nsuid,
        hostid: uid.into(),
        range: 1,
    });
}

/// Where `name` is on `PATH`, as LXC's `on_path`.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Whether shadow's `tool` can write maps for an unprivileged caller: on `PATH` and setuid.
/// LXC also accepts a tool with file capabilities; lxc-rs does not read those (see
/// docs/decisions.md), which only matters on systems that install the tools without setuid.
fn shadow_tool(tool: &str) -> Option<PathBuf> {
    let path = on_path(tool);
    match &path {
        None => tracing::warn!("{tool} binary is missing"),
        Some(p) => {
            let setuid = std::fs::metadata(p)
                .map(|m| m.permissions().mode() & 0o4000 != 0)
                .unwrap_or(false);
            if !setuid {
                tracing::warn!("{tool} is lacking necessary privileges");
                return None;
            }
        }
    }
    path
}

/// `lxc_map_ids`: give process `pid` (in a new user namespace) its uid and gid maps. Through
/// `newuidmap`/`newgidmap` when both are usable, unless the maps map host root (that needs
/// CAP_SETFCAP, so LXC writes those itself) or are only the caller's own uid and gid; else
/// written directly (as root, or an unprivileged caller mapping only itself).
pub fn map_ids(pid: i32, maps: &[IdMap]) -> Result<()> {
    let euid = u64::from(nix::unistd::geteuid().as_raw());
    let egid = u64::from(nix::unistd::getegid().as_raw());
    let maps_host_root = maps.iter().any(|m| m.uid && m.hostid == 0 && m.range > 0);
    let tools = (shadow_tool("newuidmap"), shadow_tool("newgidmap"));
    let mut shadow = match tools {
        (Some(u), Some(g)) if !maps_host_root => Some((u, g)),
        _ => None,
    };
    let only_self = maps.len() == 2
        && maps.iter().all(|m| {
            let own = if m.uid { euid } else { egid };
            m.range == 1 && m.nsid == own && m.hostid == own
        });
    if only_self {
        shadow = None;
    }
    for uid in [true, false] {
        let these: Vec<&IdMap> = maps.iter().filter(|m| m.uid == uid).collect();
        if these.is_empty() {
            continue;
        }
        match &shadow {
            Some((newuidmap, newgidmap)) => {
                let tool = if uid { newuidmap } else { newgidmap };
                run_shadow_tool(tool, pid, &these)?
            }
            None => write_id_map(pid, uid, &these)?,
        }
    }
    Ok(())
}

fn run_shadow_tool(tool: &Path, pid: i32, maps: &[&IdMap]) -> Result<()> {
    let mut cmd = Command::new(tool);
    cmd.arg(pid.to_string());
    for m in maps {
        cmd.args([
            m.nsid.to_string(),
            m.hostid.to_string(),
            m.range.to_string(),
        ]);
    }
    let out = cmd
        .output()
        .map_err(|e| Error::io("run the id map tool", tool, e))?;
    if out.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&out.stderr).trim().to_string();
    Err(Error::io(
        "write the id map",
        tool,
        io::Error::other(format!("{} ({})", said, out.status)),
    ))
}

/// `write_id_mapping`: one write of every map of a kind; an unprivileged writer first denies
/// setgroups, without which the kernel refuses a gid map.
pub fn write_id_map(pid: i32, uid: bool, maps: &[&IdMap]) -> Result<()> {
    let text: String = maps
        .iter()
        .map(|m| format!("{} {} {}\n", m.nsid, m.hostid, m.range))
        .collect();
    let file = if uid { "uid_map" } else { "gid_map" };
    let path = PathBuf::from(format!("/proc/{pid}/{file}"));
    if text.len() > MAP_WRITE_MAX {
        return Err(Error::io(
            "write the id map",
            path,
            io::Error::other(format!("too many maps ({} bytes)", text.len())),
        ));
    }
    if !uid && !nix::unistd::geteuid().is_root() {
        let setgroups = PathBuf::from(format!("/proc/{pid}/setgroups"));
        match std::fs::write(&setgroups, "deny\n") {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(Error::io("deny setgroups", setgroups, e))
            }
            _ => {}
        }
    }
    std::fs::write(&path, text).map_err(|e| Error::io("write the id map", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(uid: bool, nsid: u64, hostid: u64, range: u64) -> IdMap {
        IdMap {
            uid,
            nsid,
            hostid,
            range,
        }
    }

    #[test]
    fn usernsexec_maps_parse_as_lxc_scans_them() {
        assert_eq!(
            parse_usernsexec_map("b:0:100000:65536").unwrap(),
            [m(true, 0, 100000, 65536), m(false, 0, 100000, 65536)]
        );
        assert_eq!(
            parse_usernsexec_map("u: 5:1000:1junk").unwrap(),
            [m(true, 5, 1000, 1)]
        );
        for bad in ["x:0:1:1", "u:0:1", "u0:1:1", "", "u:a:1:1", "g:-1:0:1"] {
            assert!(parse_usernsexec_map(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn map_self_takes_the_first_free_id() {
        let mut maps = vec![m(true, 0, 100000, 1000), m(false, 5, 100000, 10)];
        add_self(&mut maps, 1000, 1001);
        assert_eq!(maps[2], m(false, 0, 1001, 1));
        assert_eq!(maps[3], m(true, 1000, 1000, 1));
    }

    #[test]
    fn the_first_subid_line_of_the_user_counts() {
        let dir = std::env::temp_dir().join(format!("lxcrs-t-subid-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("subuid");
        std::fs::write(&f, "alice2:1:2\nalice:100000:65536\nalice:300000:10\n").unwrap();
        assert_eq!(
            subid_map(&f, "alice", true).unwrap(),
            m(true, 0, 100000, 65536)
        );
        assert!(subid_map(&f, "bob", true).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
