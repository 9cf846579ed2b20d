//! Every key LXC defines, with what provides it in lxc-rs. The registry answers for keys whose
//! code is linked in; this table only tells "a key LXC knows, not in this build" apart from a
//! typo, names what the user has to enable, and gives `get_keys` LXC's order.

/// LXC 5.0's config items in the order of its jump table, which is the order `get_keys` lists
/// them in. Entries ending in `.` are families (`lxc.net.0.type`) that `get_keys` leaves out.
pub const LXC_CONFIG_ITEMS: &[&str] = &[
    "lxc.arch",
    "lxc.apparmor.profile",
    "lxc.apparmor.allow_incomplete",
    "lxc.apparmor.allow_nesting",
    "lxc.apparmor.raw",
    "lxc.autodev.tmpfs.size",
    "lxc.autodev",
    "lxc.cap.drop",
    "lxc.cap.keep",
    "lxc.cgroup2",
    "lxc.cgroup.dir.monitor.pivot",
    "lxc.cgroup.dir.monitor",
    "lxc.cgroup.dir.container.inner",
    "lxc.cgroup.dir.container",
    "lxc.cgroup.dir",
    "lxc.cgroup.relative",
    "lxc.cgroup",
    "lxc.console.buffer.size",
    "lxc.console.logfile",
    "lxc.console.path",
    "lxc.console.rotate",
    "lxc.console.size",
    "lxc.sched.core",
    "lxc.environment",
    "lxc.ephemeral",
    "lxc.execute.cmd",
    "lxc.group",
    "lxc.hook.autodev",
    "lxc.hook.clone",
    "lxc.hook.destroy",
    "lxc.hook.mount",
    "lxc.hook.post-stop",
    "lxc.hook.pre-mount",
    "lxc.hook.pre-start",
    "lxc.hook.start",
    "lxc.hook.start-host",
    "lxc.hook.stop",
    "lxc.hook.version",
    "lxc.hook",
    "lxc.idmap",
    "lxc.include",
    "lxc.init.cmd",
    "lxc.init.gid",
    "lxc.init.groups",
    "lxc.init.uid",
    "lxc.init.cwd",
    "lxc.keyring.session",
    "lxc.log.file",
    "lxc.log.level",
    "lxc.log.syslog",
    "lxc.monitor.unshare",
    "lxc.monitor.signal.pdeath",
    "lxc.mount.auto",
    "lxc.mount.entry",
    "lxc.mount.fstab",
    "lxc.namespace.clone",
    "lxc.namespace.keep",
    "lxc.namespace.share.",
    "lxc.time.offset.boot",
    "lxc.time.offset.monotonic",
    "lxc.net.",
    "lxc.net",
    "lxc.no_new_privs",
    "lxc.prlimit",
    "lxc.pty.max",
    "lxc.rootfs.managed",
    "lxc.rootfs.mount",
    "lxc.rootfs.options",
    "lxc.rootfs.path",
    "lxc.seccomp.allow_nesting",
    "lxc.seccomp.notify.cookie",
    "lxc.seccomp.notify.proxy",
    "lxc.seccomp.profile",
    "lxc.selinux.context.keyring",
    "lxc.selinux.context",
    "lxc.signal.halt",
    "lxc.signal.reboot",
    "lxc.signal.stop",
    "lxc.start.auto",
    "lxc.start.delay",
    "lxc.start.order",
    "lxc.tty.dir",
    "lxc.tty.max",
    "lxc.uts.name",
    "lxc.sysctl",
    "lxc.proc",
];

/// (key or prefix ending in '.', provider). Exact keys and prefixes, checked longest first;
/// `[i]` stands for a network index (decimal digits).
/// Keys the core owns are always linked in; they are listed so the table covers LXC entirely.
const LXC_KEYS: &[(&str, &str)] = &[
    ("lxc.log.file", "feature lxc_log"),
    ("lxc.log.level", "feature lxc_log"),
    ("lxc.log.syslog", "feature lxc_log"),
    ("lxc.seccomp.", "the lxc-seccomp subsystem"),
    ("lxc.seccomp.notify.cookie", "feature seccomp_notify"),
    ("lxc.seccomp.notify.proxy", "feature seccomp_notify"),
    ("lxc.seccomp.allow_nesting", "feature seccomp_allow_nesting"),
    ("lxc.net", "the lxc-net subsystem"),
    ("lxc.net.[i]", "the lxc-net subsystem"),
    ("lxc.net.[i].", "the lxc-net subsystem"),
    ("lxc.net.[i].veth.ipv4.route", "feature network_veth_routes"),
    ("lxc.net.[i].veth.ipv6.route", "feature network_veth_routes"),
    ("lxc.net.[i].ipvlan.mode", "feature network_ipvlan"),
    ("lxc.net.[i].ipvlan.isolation", "feature network_ipvlan"),
    ("lxc.net.[i].l2proxy", "feature network_l2proxy"),
    ("lxc.net.[i].veth.mode", "feature network_veth_router"),
    ("lxc.net.[i].veth.vlan.id", "feature network_bridge_vlan"),
    (
        "lxc.net.[i].veth.vlan.tagged.id",
        "feature network_bridge_vlan",
    ),
    ("lxc.console.", "the lxc-console subsystem"),
    ("lxc.console.logfile", "the lxc-console subsystem"),
    ("lxc.console.rotate", "the lxc-console subsystem"),
    ("lxc.console.buffer.size", "feature console_log"),
    ("lxc.console.size", "the lxc-console subsystem"),
    ("lxc.time.offset.boot", "feature time_namespace"),
    ("lxc.time.offset.monotonic", "feature time_namespace"),
    (
        "lxc.cgroup.dir.monitor",
        "feature cgroup_advanced_isolation",
    ),
    (
        "lxc.cgroup.dir.container",
        "feature cgroup_advanced_isolation",
    ),
    (
        "lxc.cgroup.dir.container.inner",
        "feature cgroup_advanced_isolation",
    ),
    (
        "lxc.environment.runtime",
        "feature environment_runtime_hooks",
    ),
    ("lxc.environment.hooks", "feature environment_runtime_hooks"),
    ("lxc.apparmor.", "the core"),
    ("lxc.arch", "the core"),
    ("lxc.autodev", "the lxc-mount subsystem"),
    ("lxc.autodev.tmpfs.size", "the lxc-mount subsystem"),
    ("lxc.cap.", "the core"),
    ("lxc.cgroup", "the lxc-cgroup subsystem"),
    ("lxc.cgroup.", "the lxc-cgroup subsystem"),
    ("lxc.cgroup2", "feature cgroup2"),
    ("lxc.cgroup2.", "feature cgroup2"),
    ("lxc.cgroup.relative", "feature cgroup_relative"),
    ("lxc.environment", "the core"),
    ("lxc.ephemeral", "the core"),
    ("lxc.execute.cmd", "the core"),
    ("lxc.group", "the core"),
    ("lxc.hook", "the core"),
    ("lxc.hook.", "the core"),
    ("lxc.idmap", "the core"),
    ("lxc.include", "the core"),
    ("lxc.init.", "the core"),
    ("lxc.keyring.session", "the core"),
    ("lxc.monitor.", "the core"),
    ("lxc.mount.", "the lxc-mount subsystem"),
    ("lxc.namespace.", "the core"),
    ("lxc.no_new_privs", "the core"),
    ("lxc.prlimit", "the core"),
    ("lxc.prlimit.", "the core"),
    ("lxc.pty.max", "the lxc-console subsystem"),
    ("lxc.rootfs.", "the lxc-mount subsystem"),
    ("lxc.sched.core", "feature core_scheduling"),
    ("lxc.selinux.", "the core"),
    ("lxc.signal.", "the core"),
    ("lxc.start.", "the core"),
    ("lxc.tty.", "the lxc-console subsystem"),
    ("lxc.uts.name", "the core"),
    ("lxc.sysctl", "the core"),
    ("lxc.sysctl.", "the core"),
    ("lxc.proc", "the core"),
    ("lxc.proc.", "the core"),
];

/// A table entry against (the rest of) a key: a prefix ending in `.` needs more after it.
fn table_key_matches(k: &str, key: &str) -> bool {
    if k.ends_with('.') {
        key.len() > k.len() && key.starts_with(k)
    } else {
        key == k
    }
}

/// What provides a key LXC defines, or `None` for a key LXC does not know either.
pub fn provider_of(key: &str) -> Option<&'static str> {
    provider_among(key, LXC_KEYS.iter().copied())
}

/// Whether a table key of an extension `linked` says is not linked in could take `key`: the
/// cheap first test before [`provider_of`]. The list is made once, and is empty in a build
/// with every extension.
pub fn maybe_unlinked_feature(key: &str, linked: fn(&str) -> bool) -> bool {
    static UNLINKED: std::sync::OnceLock<Vec<(&'static str, &'static str)>> =
        std::sync::OnceLock::new();
    let unlinked = UNLINKED.get_or_init(|| {
        LXC_KEYS
            .iter()
            .copied()
            .filter(|(_, p)| p.strip_prefix("feature ").is_some_and(|ext| !linked(ext)))
            .collect()
    });
    !unlinked.is_empty() && provider_among(key, unlinked.iter().copied()).is_some()
}

fn provider_among(
    key: &str,
    table: impl Iterator<Item = (&'static str, &'static str)>,
) -> Option<&'static str> {
    let mut best: Option<(usize, &'static str)> = None;
    for (k, provider) in table {
        // A char search: this runs for every table key on each lookup of a prefix key.
        let indexed = k
            .find('[')
            .and_then(|at| Some((&k[..at], k[at..].strip_prefix("[i]")?)));
        let hit = match indexed {
            Some((before, after)) => key.strip_prefix(before).is_some_and(|rest| {
                let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
                digits > 0 && table_key_matches(after, &rest[digits..])
            }),
            None => table_key_matches(k, key),
        };
        if hit && best.is_none_or(|(len, _)| k.len() > len) {
            best = Some((k.len(), provider));
        }
    }
    best.map(|(_, p)| p)
}

/// The subkeys LXC's `get_keys` lists for a prefix (`lxc_list_subkeys`), as LXC 5.0 has them.
/// `lxc.hook` lists `autodevtmpfssize`, which is no hook (LXC's list has it; the key it would
/// name does not exist).
pub const LXC_SUBKEYS: &[(&str, &[&str])] = &[
    (
        "lxc.apparmor",
        &["allow_incomplete", "allow_nesting", "profile", "raw"],
    ),
    ("lxc.cgroup", &["dir"]),
    ("lxc.selinux", &["context", "context.keyring"]),
    ("lxc.mount", &["auto", "entry", "fstab"]),
    ("lxc.rootfs", &["mount", "options", "path"]),
    ("lxc.uts", &["name"]),
    (
        "lxc.hook",
        &[
            "autodev",
            "autodevtmpfssize",
            "clone",
            "destroy",
            "mount",
            "post-stop",
            "pre-mount",
            "pre-start",
            "start-host",
            "start",
            "stop",
        ],
    ),
    ("lxc.cap", &["drop", "keep"]),
    ("lxc.console", &["logfile", "path"]),
    ("lxc.seccomp", &["profile"]),
    ("lxc.signal", &["halt", "reboot", "stop"]),
    ("lxc.start", &["auto", "delay", "order"]),
    ("lxc.monitor", &["unshare"]),
    ("lxc.keyring", &["session"]),
];
