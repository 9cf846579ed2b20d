//! `lxc.mount.entry` lines and `lxc.mount.fstab` files: fstab format, read the way glibc's
//! `getmntent` reads it, with LXC's split of the options into mount flags, propagation flags,
//! filesystem data and LXC's own options (`create=dir`, `create=file`, `optional`, `relative`,
//! `idmap=`).

use nix::mount::MsFlags;

use crate::error::{MountError, Result, Site};

/// One fstab-format mount line, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    /// First field (a device, a filesystem name, or the bind source), octal escapes decoded.
    pub source: String,
    /// Second field: relative to the rootfs, or absolute (see `crate::apply_entry`).
    pub target: String,
    /// Third field; `none` for binds by convention.
    pub fstype: String,
    /// The fourth field as written.
    pub options: String,
    pub dump: i32,
    pub pass: i32,
    /// What the options mean.
    pub opts: MountOptions,
}

impl MountEntry {
    pub fn is_bind(&self) -> bool {
        self.opts.flags.contains(MsFlags::MS_BIND)
    }
}

/// A mount option string split the way LXC splits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOptions {
    /// `MS_*` flags for mount(2), applied in order (`ro,rw` ends read-write). Includes
    /// `MS_BIND`/`MS_REC` for `bind`/`rbind`.
    pub flags: MsFlags,
    /// Flags an option explicitly cleared (`rw`, `suid`, `dev`, `exec`, ...): for
    /// mount_setattr, which changes only what it is told to.
    pub cleared: MsFlags,
    /// `MS_PRIVATE`/`MS_SLAVE`/`MS_SHARED`/`MS_UNBINDABLE`, with `MS_REC` for the `r*` forms.
    pub propagation: MsFlags,
    /// Everything else, comma-joined, for the filesystem (`size=10m,mode=755`).
    pub data: Option<String>,
    /// `create=dir`: make the target directory (and parents) first.
    pub create_dir: bool,
    /// `create=file`: make the target as an empty file (and its parent directories) first.
    pub create_file: bool,
    /// `optional`: a failure to create or mount is logged and skipped.
    pub optional: bool,
    /// `relative`: the source is relative to the rootfs, not the host.
    pub relative: bool,
    /// `dev` was given: a bind keeps device access even if the source is nodev.
    pub dev: bool,
    /// `idmap=<path|container>`: an idmapped mount, made by the idmapped_mounts extension.
    pub idmap: Option<String>,
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            flags: MsFlags::empty(),
            cleared: MsFlags::empty(),
            propagation: MsFlags::empty(),
            data: None,
            create_dir: false,
            create_file: false,
            optional: false,
            relative: false,
            dev: false,
            idmap: None,
        }
    }
}

/// LXC's flag options: name, whether the option clears the flag, the flag.
const FLAG_OPTIONS: &[(&str, bool, MsFlags)] = &[
    ("atime", true, MsFlags::MS_NOATIME),
    ("dev", true, MsFlags::MS_NODEV),
    ("diratime", true, MsFlags::MS_NODIRATIME),
    ("exec", true, MsFlags::MS_NOEXEC),
    ("noatime", false, MsFlags::MS_NOATIME),
    ("nodev", false, MsFlags::MS_NODEV),
    ("nodiratime", false, MsFlags::MS_NODIRATIME),
    ("noexec", false, MsFlags::MS_NOEXEC),
    ("norelatime", true, MsFlags::MS_RELATIME),
    ("nostrictatime", true, MsFlags::MS_STRICTATIME),
    ("nosuid", false, MsFlags::MS_NOSUID),
    ("relatime", false, MsFlags::MS_RELATIME),
    ("ro", false, MsFlags::MS_RDONLY),
    ("rw", true, MsFlags::MS_RDONLY),
    ("strictatime", false, MsFlags::MS_STRICTATIME),
    ("suid", true, MsFlags::MS_NOSUID),
    ("bind", false, MsFlags::MS_BIND),
    ("defaults", false, MsFlags::empty()),
    ("rbind", false, MsFlags::MS_BIND.union(MsFlags::MS_REC)),
    ("sync", false, MsFlags::MS_SYNCHRONOUS),
    ("async", true, MsFlags::MS_SYNCHRONOUS),
    ("dirsync", false, MsFlags::MS_DIRSYNC),
    ("lazytime", false, MsFlags::MS_LAZYTIME),
    ("mand", false, MsFlags::MS_MANDLOCK),
    ("nomand", true, MsFlags::MS_MANDLOCK),
    ("remount", false, MsFlags::MS_REMOUNT),
];

const PROPAGATION_OPTIONS: &[(&str, MsFlags)] = &[
    ("private", MsFlags::MS_PRIVATE),
    ("shared", MsFlags::MS_SHARED),
    ("slave", MsFlags::MS_SLAVE),
    ("unbindable", MsFlags::MS_UNBINDABLE),
    ("rprivate", MsFlags::MS_PRIVATE.union(MsFlags::MS_REC)),
    ("rshared", MsFlags::MS_SHARED.union(MsFlags::MS_REC)),
    ("rslave", MsFlags::MS_SLAVE.union(MsFlags::MS_REC)),
    ("runbindable", MsFlags::MS_UNBINDABLE.union(MsFlags::MS_REC)),
];

/// Split a mount option string (`ro,nosuid,size=10m,create=dir,optional`) into flags, data
/// and LXC's own options. Options are matched whole (LXC 5 matched some by prefix, which made
/// e.g. `devmode=1` read as `dev`); an unknown option goes to the filesystem as data, as in
/// current LXC.
pub fn parse_mount_options(options: &str) -> Result<MountOptions> {
    let mut o = MountOptions::default();
    let mut data: Vec<&str> = Vec::new();
    for opt in options.split(',').filter(|s| !s.is_empty()) {
        match opt {
            "create=dir" => o.create_dir = true,
            "create=file" => o.create_file = true,
            "optional" => o.optional = true,
            "relative" => o.relative = true,
            _ if opt.starts_with("idmap=") => {
                let path = &opt["idmap=".len()..];
                if path.is_empty() {
                    return Err(MountError::Invalid {
                        site: Site::key("lxc.mount.entry"),
                        value: options.to_string(),
                        why: "idmap= needs a user namespace path or \"container\"".into(),
                    });
                }
                o.idmap = Some(path.to_string());
            }
            _ => {
                if let Some(&(_, clear, flag)) = FLAG_OPTIONS.iter().find(|(n, _, _)| *n == opt) {
                    if opt == "dev" {
                        o.dev = true;
                    }
                    if clear {
                        o.flags.remove(flag);
                        o.cleared.insert(flag);
                    } else {
                        o.flags.insert(flag);
                        o.cleared.remove(flag);
                    }
                } else if let Some(&(_, p)) = PROPAGATION_OPTIONS.iter().find(|(n, _)| *n == opt) {
                    // The last propagation option wins; the kernel takes one type per call.
                    o.propagation = p;
                } else {
                    data.push(opt);
                }
            }
        }
    }
    if !data.is_empty() {
        o.data = Some(data.join(","));
    }
    Ok(o)
}

/// Decode getmntent's octal escapes (`\040` for a space, `\011` tab, `\012` newline,
/// `\134` backslash); anything else is kept as written.
pub(crate) fn decode_field(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..=i + 3].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') as u32 * 64
                + (b[i + 2] - b'0') as u32 * 8
                + (b[i + 3] - b'0') as u32;
            if v <= 0xff {
                out.push(v as u8);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether an fstab line means nothing (blank or a comment), as getmntent skips it.
pub fn is_blank_or_comment(line: &str) -> bool {
    let t = line.trim_start_matches([' ', '\t']);
    t.is_empty() || t.starts_with('#') || t == "\n"
}

/// Parse one fstab-format line: `source target fstype [options [dump [pass]]]`, fields split on
/// blanks and tabs. A missing options field means no options; missing dump/pass mean 0.
pub fn parse_mount_entry(line: &str) -> Result<MountEntry> {
    let invalid = |why: &str| MountError::Invalid {
        site: Site::key("lxc.mount.entry"),
        value: line.to_string(),
        why: why.to_string(),
    };
    let line_trim = line.trim_end_matches(['\n', '\r']);
    let fields: Vec<&str> = line_trim
        .split([' ', '\t'])
        .filter(|f| !f.is_empty())
        .collect();
    if fields.len() < 3 {
        return Err(invalid(
            "expected `source target fstype [options [dump [pass]]]`",
        ));
    }
    let num = |i: usize| -> i32 {
        // getmntent's sscanf("%d"): garbage reads as 0.
        fields.get(i).and_then(|f| f.parse().ok()).unwrap_or(0)
    };
    let options = fields.get(3).map(|s| decode_field(s)).unwrap_or_default();
    let opts = parse_mount_options(&options).map_err(|e| match e {
        MountError::Invalid { why, .. } => invalid(&why),
        e => e,
    })?;
    Ok(MountEntry {
        source: decode_field(fields[0]),
        target: decode_field(fields[1]),
        fstype: decode_field(fields[2]),
        options,
        dump: num(4),
        pass: num(5),
        opts,
    })
}

/// Parse an fstab file's text: each meaningful line with its 1-based line number.
pub fn parse_fstab(text: &str) -> Vec<(usize, Result<MountEntry>)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !is_blank_or_comment(l))
        .map(|(i, l)| (i + 1, parse_mount_entry(l)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octal_escapes() {
        assert_eq!(decode_field(r"/a\040b"), "/a b");
        assert_eq!(decode_field(r"a\134b"), r"a\b");
        assert_eq!(decode_field(r"a\9b"), r"a\9b");
        assert_eq!(decode_field(r"end\04"), r"end\04");
    }
}
