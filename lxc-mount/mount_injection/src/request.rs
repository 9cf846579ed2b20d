//! What a `mount` / `umount` request asks for, checked before anything is opened: mount(2)'s
//! flags sorted into a bind of a host path or a new filesystem instance, the mount attributes
//! to set, and the target split into the names it is resolved by.

use std::ffi::{CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use lxc_core::inject::MountRequest;

use crate::error::{InjectError, Result};
use lxc_mount::sys::attr;

/// The deepest target taken (components below the container's root).
pub const MAX_DEPTH: usize = 128;

/// `MOUNT_ATTR_*` bits to set and to clear on the new mount.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attrs {
    pub set: u64,
    pub clr: u64,
}

/// One `key[=value]` of a new filesystem's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsOption {
    pub key: String,
    pub value: Option<String>,
}

/// What is mounted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind<'a> {
    /// `MS_BIND`: the host's `source` (the tree below it with `MS_REC`).
    Bind {
        source: &'a Path,
        recursive: bool,
        attrs: Attrs,
    },
    /// A new instance of `fstype`: `options` go to fsconfig(2) one by one, `sb_flags` are the
    /// superblock flags mount(2) would set (`ro`, `sync`, ...), `attrs` the new mount's.
    NewFs {
        fstype: &'a str,
        source: Option<String>,
        options: Vec<FsOption>,
        sb_flags: Vec<&'static str>,
        attrs: u64,
    },
}

impl Kind<'_> {
    /// Whether the target must be a directory.
    pub fn wants_dir(&self, source_is_dir: bool) -> bool {
        match self {
            Kind::Bind { .. } => source_is_dir,
            Kind::NewFs { .. } => true,
        }
    }
}

/// mount(2) flags by name, for messages.
const FLAG_NAMES: &[(u64, &str)] = &[
    (libc::MS_RDONLY, "MS_RDONLY"),
    (libc::MS_NOSUID, "MS_NOSUID"),
    (libc::MS_NODEV, "MS_NODEV"),
    (libc::MS_NOEXEC, "MS_NOEXEC"),
    (libc::MS_SYNCHRONOUS, "MS_SYNCHRONOUS"),
    (libc::MS_REMOUNT, "MS_REMOUNT"),
    (libc::MS_MANDLOCK, "MS_MANDLOCK"),
    (libc::MS_DIRSYNC, "MS_DIRSYNC"),
    (libc::MS_NOSYMFOLLOW, "MS_NOSYMFOLLOW"),
    (libc::MS_NOATIME, "MS_NOATIME"),
    (libc::MS_NODIRATIME, "MS_NODIRATIME"),
    (libc::MS_BIND, "MS_BIND"),
    (libc::MS_MOVE, "MS_MOVE"),
    (libc::MS_REC, "MS_REC"),
    (libc::MS_SILENT, "MS_SILENT"),
    (libc::MS_POSIXACL, "MS_POSIXACL"),
    (libc::MS_UNBINDABLE, "MS_UNBINDABLE"),
    (libc::MS_PRIVATE, "MS_PRIVATE"),
    (libc::MS_SLAVE, "MS_SLAVE"),
    (libc::MS_SHARED, "MS_SHARED"),
    (libc::MS_RELATIME, "MS_RELATIME"),
    (libc::MS_KERNMOUNT, "MS_KERNMOUNT"),
    (libc::MS_I_VERSION, "MS_I_VERSION"),
    (libc::MS_STRICTATIME, "MS_STRICTATIME"),
    (libc::MS_LAZYTIME, "MS_LAZYTIME"),
];

/// `MS_RDONLY|MS_REC`, or the hex value of bits without a name.
pub fn flag_names(flags: u64) -> String {
    let mut names: Vec<String> = Vec::new();
    let mut rest = flags;
    for &(bit, name) in FLAG_NAMES {
        if flags & bit != 0 {
            names.push(name.to_string());
            rest &= !bit;
        }
    }
    if rest != 0 {
        names.push(format!("{rest:#x}"));
    }
    names.join("|")
}

/// Flags every mount takes: the per-mount attributes, and MS_SILENT (a logging hint).
const MOUNT_FLAGS: u64 = libc::MS_RDONLY
    | libc::MS_NOSUID
    | libc::MS_NODEV
    | libc::MS_NOEXEC
    | libc::MS_NOATIME
    | libc::MS_NODIRATIME
    | libc::MS_RELATIME
    | libc::MS_STRICTATIME
    | libc::MS_NOSYMFOLLOW
    | libc::MS_SILENT;
/// Superblock flags, which a new filesystem takes and a bind mount cannot change.
const SB_FLAGS: &[(u64, &str)] = &[
    (libc::MS_SYNCHRONOUS, "sync"),
    (libc::MS_DIRSYNC, "dirsync"),
    (libc::MS_LAZYTIME, "lazytime"),
];
const PROPAGATION: u64 = libc::MS_SHARED | libc::MS_PRIVATE | libc::MS_SLAVE | libc::MS_UNBINDABLE;

/// The mount attributes mount(2) would give a new mount for `flags`. `atime_default`: whether
/// no atime flag means relatime (a new filesystem) or "leave it" (a bind keeps its source's).
fn attrs_of(flags: u64, atime_default: bool) -> Attrs {
    let mut a = Attrs::default();
    for (ms, attr) in [
        (libc::MS_RDONLY, attr::RDONLY),
        (libc::MS_NOSUID, attr::NOSUID),
        (libc::MS_NODEV, attr::NODEV),
        (libc::MS_NOEXEC, attr::NOEXEC),
        (libc::MS_NODIRATIME, attr::NODIRATIME),
        (libc::MS_NOSYMFOLLOW, attr::NOSYMFOLLOW),
    ] {
        if flags & ms != 0 {
            a.set |= attr;
        }
    }
    // mount(2)'s order: noatime wins over strictatime, which wins over relatime.
    let atime = if flags & libc::MS_NOATIME != 0 {
        Some(attr::NOATIME)
    } else if flags & libc::MS_STRICTATIME != 0 {
        Some(attr::STRICTATIME)
    } else if flags & libc::MS_RELATIME != 0 || atime_default {
        Some(attr::RELATIME)
    } else {
        None
    };
    if let Some(at) = atime {
        a.set |= at;
        a.clr |= attr::ATIME_MASK;
    }
    a
}

fn bad_flags(flags: u64, why: impl Into<String>) -> InjectError {
    InjectError::invalid(
        format!("flags {}", flag_names(flags)),
        why.into(),
        libc::EINVAL,
    )
}

/// Sort a request into what it mounts. Refused: changes of an existing mount (`MS_REMOUNT`,
/// `MS_MOVE`, propagation flags), flags mount(2) does not define or that make no sense for the
/// kind of mount, a bind without a source or with filesystem options, a new filesystem
/// without a type.
pub fn classify<'a>(req: &MountRequest<'a>) -> Result<Kind<'a>> {
    let flags = req.flags;
    if flags & libc::MS_REMOUNT != 0 {
        return Err(bad_flags(
            flags,
            "MS_REMOUNT changes an existing mount; mount injection makes a new one (remount \
             from inside the container)",
        ));
    }
    if flags & libc::MS_MOVE != 0 {
        return Err(bad_flags(
            flags,
            "MS_MOVE moves a mount of the container's; mount injection makes a new one",
        ));
    }
    if flags & PROPAGATION != 0 {
        return Err(bad_flags(
            flags,
            "propagation flags (MS_SHARED, MS_PRIVATE, MS_SLAVE, MS_UNBINDABLE) change an \
             existing mount; mount injection makes a new one",
        ));
    }
    if flags & libc::MS_BIND != 0 {
        let unknown = flags & !(MOUNT_FLAGS | libc::MS_BIND | libc::MS_REC);
        if unknown != 0 {
            return Err(bad_flags(
                flags,
                format!(
                    "a bind mount takes only per-mount flags (MS_RDONLY, MS_NOSUID, MS_NODEV, \
                     MS_NOEXEC, MS_NOSYMFOLLOW, atime flags) and MS_REC; not {}",
                    flag_names(unknown)
                ),
            ));
        }
        let Some(source) = req.source.filter(|s| !s.as_os_str().is_empty()) else {
            return Err(InjectError::invalid(
                "source",
                "a bind mount (MS_BIND) needs the host path to mount",
                libc::EINVAL,
            ));
        };
        if let Some(d) = req.data.filter(|d| !d.is_empty()) {
            return Err(InjectError::invalid(
                format!("options {d:?}"),
                "a bind mount takes no filesystem options",
                libc::EINVAL,
            ));
        }
        return Ok(Kind::Bind {
            source,
            recursive: flags & libc::MS_REC != 0,
            attrs: attrs_of(flags, false),
        });
    }
    if flags & libc::MS_REC != 0 {
        return Err(bad_flags(flags, "MS_REC only means something with MS_BIND"));
    }
    let sb_mask: u64 = SB_FLAGS.iter().map(|(b, _)| b).fold(0, |a, b| a | b);
    let unknown = flags & !(MOUNT_FLAGS | sb_mask);
    if unknown != 0 {
        return Err(bad_flags(
            flags,
            format!("{} cannot be given to a new mount", flag_names(unknown)),
        ));
    }
    let fstype = match req.fstype.map(str::trim) {
        Some(t) if !t.is_empty() && t != "none" => t,
        _ => {
            return Err(InjectError::invalid(
                "filesystem type",
                "none given, and not a bind mount (MS_BIND): name the filesystem to mount \
                 (tmpfs, ...) or bind a host path",
                libc::EINVAL,
            ))
        }
    };
    if fstype.contains('\0') || req.data.is_some_and(|d| d.contains('\0')) {
        return Err(InjectError::invalid(
            "filesystem type or options",
            "contain a NUL byte",
            libc::EINVAL,
        ));
    }
    let mut sb_flags: Vec<&'static str> = SB_FLAGS
        .iter()
        .filter(|(b, _)| flags & b != 0)
        .map(|(_, n)| *n)
        .collect();
    if flags & libc::MS_RDONLY != 0 {
        // mount(2) makes both the superblock and the mount read-only.
        sb_flags.insert(0, "ro");
    }
    let options = req
        .data
        .unwrap_or_default()
        .split(',')
        .filter(|o| !o.is_empty())
        .map(|o| match o.split_once('=') {
            Some((k, v)) => FsOption {
                key: k.to_string(),
                value: Some(v.to_string()),
            },
            None => FsOption {
                key: o.to_string(),
                value: None,
            },
        })
        .collect();
    Ok(Kind::NewFs {
        fstype,
        source: req
            .source
            .filter(|s| !s.as_os_str().is_empty())
            .map(|s| s.to_string_lossy().into_owned()),
        options,
        sb_flags,
        attrs: attrs_of(flags, true).set,
    })
}

/// umount2(2)'s flags this takes: `MNT_FORCE`, `MNT_DETACH`, `MNT_EXPIRE`, `UMOUNT_NOFOLLOW`
/// (always added: the target's last name is never followed).
pub fn umount_flags(flags: i32) -> Result<i32> {
    let known = libc::MNT_FORCE | libc::MNT_DETACH | libc::MNT_EXPIRE | libc::UMOUNT_NOFOLLOW;
    if flags & !known != 0 {
        return Err(InjectError::invalid(
            format!("umount flags {flags:#x}"),
            "umount2(2) takes MNT_FORCE, MNT_DETACH, MNT_EXPIRE and UMOUNT_NOFOLLOW",
            libc::EINVAL,
        ));
    }
    if flags & libc::MNT_EXPIRE != 0 && flags & (libc::MNT_FORCE | libc::MNT_DETACH) != 0 {
        return Err(InjectError::invalid(
            format!("umount flags {flags:#x}"),
            "MNT_EXPIRE cannot be combined with MNT_FORCE or MNT_DETACH",
            libc::EINVAL,
        ));
    }
    Ok(flags | libc::UMOUNT_NOFOLLOW)
}

/// A target in the container, as the names it is resolved by: `names[i]` is one component,
/// `prefixes[i]` the path of the first `i + 1` components (relative to the container's root).
/// The last component is a name (never `..`); the ones above may be `..`, which resolution
/// beneath the root keeps from climbing out.
#[derive(Debug, Clone)]
pub struct Target {
    /// As the user gave it, for messages.
    pub shown: PathBuf,
    pub names: Vec<CString>,
    pub prefixes: Vec<CString>,
    /// Whether `names[i]` is a plain name (a missing one may be made).
    pub plain: Vec<bool>,
}

impl Target {
    pub fn parse(target: &Path) -> Result<Target> {
        let comps: Vec<Component<'_>> = target
            .components()
            .filter(|c| !matches!(c, Component::RootDir | Component::CurDir))
            .collect();
        if !matches!(comps.last(), Some(Component::Normal(_))) {
            return Err(InjectError::invalid(
                target.display().to_string(),
                "names no path below the container's root (expected a path such as /mnt/data)",
                libc::EINVAL,
            ));
        }
        if comps.len() > MAX_DEPTH {
            return Err(InjectError::invalid(
                target.display().to_string(),
                format!("is deeper than {MAX_DEPTH} components"),
                libc::ENAMETOOLONG,
            ));
        }
        let nul = |_| {
            InjectError::invalid(
                target.display().to_string(),
                "contains a NUL byte",
                libc::EINVAL,
            )
        };
        let mut t = Target {
            shown: Path::new("/").join(target.strip_prefix("/").unwrap_or(target)),
            names: Vec::new(),
            prefixes: Vec::new(),
            plain: Vec::new(),
        };
        let mut prefix = PathBuf::new();
        for c in &comps {
            let name: &OsStr = c.as_os_str();
            prefix.push(name);
            t.names.push(CString::new(name.as_bytes()).map_err(nul)?);
            t.prefixes
                .push(CString::new(prefix.as_os_str().as_bytes()).map_err(nul)?);
            t.plain.push(matches!(c, Component::Normal(_)));
        }
        Ok(t)
    }

    pub fn depth(&self) -> usize {
        self.names.len()
    }

    /// The first `i + 1` components as a path of the container (`/mnt/data`), for messages.
    pub fn shown_prefix(&self, i: usize) -> String {
        let p = self
            .prefixes
            .get(i)
            .map(|c| String::from_utf8_lossy(c.as_bytes()).into_owned())
            .unwrap_or_default();
        format!("/{p}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(
        source: Option<&'a str>,
        fstype: Option<&'a str>,
        flags: u64,
        data: Option<&'a str>,
    ) -> MountRequest<'a> {
        MountRequest {
            source: source.map(Path::new),
            target: Path::new("/mnt"),
            fstype,
            flags,
            data,
        }
    }

    #[test]
    fn binds_take_per_mount_flags_only() {
        let k = classify(&req(
            Some("/srv"),
            None,
            libc::MS_BIND | libc::MS_REC | libc::MS_RDONLY | libc::MS_NOSUID,
            None,
        ))
        .expect("a bind");
        assert_eq!(
            k,
            Kind::Bind {
                source: Path::new("/srv"),
                recursive: true,
                attrs: Attrs {
                    set: attr::RDONLY | attr::NOSUID,
                    clr: 0
                },
            }
        );
        // A bind keeps its source's atime mode unless asked.
        let Kind::Bind { attrs, .. } = classify(&req(
            Some("/srv"),
            None,
            libc::MS_BIND | libc::MS_NOATIME,
            None,
        ))
        .unwrap() else {
            panic!("a bind")
        };
        assert_eq!((attrs.set, attrs.clr), (attr::NOATIME, attr::ATIME_MASK));

        let e = classify(&req(
            Some("/srv"),
            None,
            libc::MS_BIND | libc::MS_SYNCHRONOUS,
            None,
        ))
        .unwrap_err();
        assert!(e.to_string().contains("not MS_SYNCHRONOUS"), "{e}");
        let e = classify(&req(None, None, libc::MS_BIND, None)).unwrap_err();
        assert_eq!(e.errno(), libc::EINVAL);
        let e = classify(&req(Some("/srv"), None, libc::MS_BIND, Some("size=1m"))).unwrap_err();
        assert!(e.to_string().contains("no filesystem options"), "{e}");
    }

    #[test]
    fn new_filesystems_get_mount2s_flags() {
        let k = classify(&req(
            Some("tmpfs"),
            Some("tmpfs"),
            libc::MS_RDONLY | libc::MS_NODEV | libc::MS_LAZYTIME,
            Some("size=1m,mode=0700,huge=never,noswap"),
        ))
        .expect("a tmpfs");
        let Kind::NewFs {
            fstype,
            source,
            options,
            sb_flags,
            attrs,
        } = k
        else {
            panic!("a new filesystem")
        };
        assert_eq!(fstype, "tmpfs");
        assert_eq!(source.as_deref(), Some("tmpfs"));
        assert_eq!(sb_flags, vec!["ro", "lazytime"]);
        // relatime is what mount(2) gives a new mount by default (its bits are 0).
        assert_eq!(attrs, attr::RDONLY | attr::NODEV | attr::RELATIME);
        assert_eq!(options.len(), 4);
        assert_eq!(options[0].value.as_deref(), Some("1m"));
        assert_eq!(options[3].key, "noswap");
        assert_eq!(options[3].value, None);

        for (fstype, flags) in [(None, 0), (Some("none"), 0), (Some(""), 0)] {
            let e = classify(&req(None, fstype, flags, None)).unwrap_err();
            assert!(e.to_string().contains("filesystem type"), "{e}");
        }
        let e = classify(&req(None, Some("tmpfs"), libc::MS_REC, None)).unwrap_err();
        assert!(e.to_string().contains("MS_REC only"), "{e}");
    }

    #[test]
    fn changes_of_existing_mounts_are_refused() {
        for f in [
            libc::MS_REMOUNT | libc::MS_BIND,
            libc::MS_MOVE,
            libc::MS_SHARED,
            libc::MS_PRIVATE | libc::MS_REC,
        ] {
            let e = classify(&req(Some("/srv"), Some("tmpfs"), f, None)).unwrap_err();
            assert_eq!(e.errno(), libc::EINVAL, "{e}");
            assert!(e.to_string().contains("existing mount") || e.to_string().contains("MS_MOVE"));
        }
        let e = classify(&req(None, Some("tmpfs"), 1 << 40, None)).unwrap_err();
        assert!(e.to_string().contains("0x10000000000"), "{e}");
    }

    #[test]
    fn targets_are_names_below_the_root() {
        let t = Target::parse(Path::new("/mnt/../srv/data")).expect("a target");
        assert_eq!(t.depth(), 4);
        assert_eq!(t.prefixes[3].to_bytes(), b"mnt/../srv/data");
        assert_eq!(t.plain, vec![true, false, true, true]);
        assert_eq!(t.shown_prefix(1), "/mnt/..");
        let t = Target::parse(Path::new("data")).expect("relative");
        assert_eq!(t.shown, Path::new("/data"));
        for bad in ["/", "", "/mnt/..", "."] {
            let e = Target::parse(Path::new(bad)).expect_err(bad);
            assert_eq!(e.errno(), libc::EINVAL, "{bad}");
        }
    }

    #[test]
    fn umount_flags_are_umount2s() {
        assert_eq!(
            umount_flags(libc::MNT_DETACH).unwrap(),
            libc::MNT_DETACH | libc::UMOUNT_NOFOLLOW
        );
        assert!(umount_flags(0x100).is_err());
        assert!(umount_flags(libc::MNT_EXPIRE | libc::MNT_DETACH).is_err());
    }
}
