//! `cargo xtask test-matrix --kernel`: the tests that need a kernel this machine lacks (ipvlan,
//! 802.1Q, bridge VLAN filtering, a pure cgroup2 hierarchy) run in a qemu guest that boots
//! Debian's stock 6.1 kernel with `cgroup_no_v1=all`. The few that need what Debian's kernels
//! lack (core scheduling, CONFIG_SCHED_CORE) run in a second guest booting Ubuntu 24.04's 6.8
//! kernel on a CPU with SMT; where Ubuntu's archive cannot be reached they are reported skipped.
//!
//! Nothing is installed for it: qemu, seabios, the libraries qemu lacks here and the kernel are
//! `apt-get download`ed (Ubuntu's kernel fetched from its archive with curl) and unpacked into
//! `<target>/kernel/`, and reused by later runs. The guest's root is the host's own `/`, shared
//! read-only over 9p under a tmpfs overlay, so the test binaries, `lxc-rs`, its plugins,
//! busybox, iproute2 and LXC all run there unchanged from their host paths. A small initramfs
//! (the host's static busybox and the 9p modules) mounts that root and hands over to a script
//! that runs each selected test in a process of its own and prints markers on the serial
//! console; the host reads them, kills qemu on a deadline, and prints a table of every test
//! with the kernel it ran on.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::deps;

mod ubuntu;
use crate::run::{
    build_net_plugins, capture_stdout, cargo, check_status, display, fail, secs, target_dir,
    workspace_root, Result, Runner,
};

/// Where a guest test lives: a package's library unit tests, or one of its integration tests.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
enum Target {
    Lib,
    Test(&'static str),
}

/// Whether a listed target must exist.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Need {
    Required,
    /// Being written: while the target does not exist, or selects no test, the table says
    /// "pending" and the run still passes. Once it exists it runs like any other entry; turn
    /// it into `Required` then, so that losing it fails the run.
    Pending,
}

/// The kernel a guest boots.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Guest {
    /// Debian 12's 6.1, from apt: every test that needs nothing more.
    Debian,
    /// Ubuntu 24.04's 6.8 from Ubuntu's archive, with CONFIG_SCHED_CORE, on a CPU with SMT. Where
    /// the archive cannot be reached, its tests are reported as skipped and the run goes on.
    Ubuntu,
}

impl Guest {
    fn describe(self) -> &'static str {
        match self {
            Guest::Debian => "Debian's 6.1 kernel and the modules the guest loads",
            Guest::Ubuntu => {
                "Ubuntu's 6.8 kernel (CONFIG_SCHED_CORE) and the modules the guest loads"
            }
        }
    }

    /// Where its kernel is unpacked under the cache.
    fn home(self, cache: &Path) -> PathBuf {
        match self {
            Guest::Debian => cache.to_path_buf(),
            Guest::Ubuntu => cache.join("ubuntu"),
        }
    }

    /// qemu's `-cpu`: TCG's `max` says AuthenticAMD without topoext, so Linux sees no SMT
    /// siblings ("This family of AMD CPU doesn't support hyperthreading"); as GenuineIntel the
    /// same CPU reports its threads through CPUID leaf 0xb, and the guest has SMT.
    fn cpu(self) -> &'static str {
        match self {
            Guest::Debian => "max",
            Guest::Ubuntu => "max,vendor=GenuineIntel",
        }
    }

    /// qemu's `-smp`: core scheduling needs SMT (the kernel's `sched_smt_present`), so that
    /// guest gets its two vCPUs as two threads of one core.
    fn smp(self) -> String {
        match self {
            Guest::Debian => LANES.to_string(),
            Guest::Ubuntu => format!("{LANES},sockets=1,cores=1,threads={LANES}"),
        }
    }
}

/// Tests selected by libtest filters (substrings of the test's path; none: all of them).
struct GuestTest {
    package: &'static str,
    target: Target,
    filters: &'static [&'static str],
    need: Need,
    guest: Guest,
}

const fn required(
    package: &'static str,
    target: Target,
    filters: &'static [&'static str],
) -> GuestTest {
    GuestTest {
        package,
        target,
        filters,
        need: Need::Required,
        guest: Guest::Debian,
    }
}

/// A required entry that runs on Ubuntu's kernel.
const fn on_ubuntu(
    package: &'static str,
    target: Target,
    filters: &'static [&'static str],
) -> GuestTest {
    GuestTest {
        guest: Guest::Ubuntu,
        ..required(package, target, filters)
    }
}

// No entry is being written today; a new guest test starts as `pending` until it exists.
#[allow(dead_code)]
const fn pending(package: &'static str, target: Target) -> GuestTest {
    GuestTest {
        package,
        target,
        filters: &[],
        need: Need::Pending,
        guest: Guest::Debian,
    }
}

/// What runs in the guest: the tests whose real subject this machine's kernel lacks (on the host
/// they only check the clear refusal). A new entry is one line; `cargo xtask test-matrix
/// --kernel PATTERN` runs only entries whose `package/target` contains PATTERN. The lanes take
/// tests in this order, so slow targets (containers) come first and quick ones fill the end.
const GUEST_TESTS: &[GuestTest] = &[
    // A pure cgroup2 host: the unified driver and BPF device rules, end to end.
    required("lxc-cli", Target::Test("devices"), &[]),
    required("lxc-cli", Target::Test("cgroup2"), &[]),
    required("lxc-cli", Target::Test("device_nodes"), &[]),
    // ipvlan, 802.1Q and bridge VLAN filtering, which this machine's kernel lacks.
    required(
        "lxc-cli",
        Target::Test("net_types"),
        &[
            "ipvlan_fails_clearly_without_kernel_support",
            "vlan_fails_clearly_without_kernel_support",
        ],
    ),
    required(
        "lxc-cli",
        Target::Test("net_extensions"),
        &[
            "bridge_vlans_or_a_clear_error_without_vlan_filtering",
            "ipvlan_keys_parse_and_print",
        ],
    ),
    required("lxc-net-plugin-vlan", Target::Test("vlan"), &[]),
    required("lxc-net-plugin-ipvlan", Target::Test("ipvlan"), &[]),
    required(
        "lxc-net-plugin-veth",
        Target::Test("veth"),
        &["bridge_vlan_filtering"],
    ),
    required("lxc-ext-cgroup2-devices", Target::Test("bpf"), &[]),
    required("lxc-cgroup", Target::Test("cgroup"), &[]),
    // CRIU fails on this machine's kernel (vdso): checkpoint / restore runs here.
    required("lxc-cli", Target::Test("checkpoint"), &[]),
    // Core scheduling: the one kernel at hand with CONFIG_SCHED_CORE is Ubuntu's.
    on_ubuntu("lxc-cli", Target::Test("core_scheduling"), &["domain"]),
];

/// Modules the guest loads before it mounts its root (9p over virtio-pci, the overlay), then
/// the ones the tests' link types need; their dependencies are found with depmod.
const BOOT_MODULES: &[&str] = &["virtio_pci", "9pnet_virtio", "9p", "overlay"];
const TEST_MODULES: &[&str] = &[
    "veth",
    "bridge",
    "macvlan",
    "ipvlan",
    "8021q",
    "dummy",
    "loop",
    "tun",
    // CRIU: `criu check` probes nftables and the socket diag modules before any dump
    // (libcrc32c, which nf_tables needs, finds its crc32c only if that is loaded first).
    "crc32c_generic",
    "nf_tables",
    "unix_diag",
    "inet_diag",
    "tcp_diag",
    "udp_diag",
    "netlink_diag",
    "af_packet_diag",
    "nft_compat",
    "xt_mark",
    "nf_conntrack_netlink",
];

/// Host tools this task runs itself (the tests' own packages come from deps.rs's list).
const KERNEL_APT_PACKAGES: &[(&str, &str)] = &[
    (
        "busybox-static",
        "the guest's initramfs shell, and depmod for the guest kernel's modules",
    ),
    (
        "xz-utils",
        "unpacks the guest kernel so qemu boots it directly (decompressing in TCG costs ~15 s)",
    ),
    (
        "zstd",
        "unpacks Ubuntu's kernel and its modules (.ko.zst) for the core-scheduling guest",
    ),
    (
        "curl",
        "fetches Ubuntu's kernel from Ubuntu's archive, which apt here does not know",
    ),
];

/// Debian packages unpacked for qemu; the libraries it lacks here are added after `ldd`.
const QEMU_PACKAGES: &[&str] = &[
    "qemu-system-x86",
    "qemu-system-common",
    "qemu-system-data",
    "seabios",
];

/// The guest's kernel: the version Debian 12's metapackage points at.
const KERNEL_METAPACKAGE: &str = "linux-image-amd64";
const KERNEL_CMDLINE: &str = "console=ttyS0 cgroup_no_v1=all panic=-1 quiet";

/// One test that does not finish in this time is killed, and the guest goes on.
const TEST_TIMEOUT_SECS: u32 = 300;
/// The whole guest, boot included; past it qemu is killed.
const GUEST_TIMEOUT: Duration = Duration::from_secs(20 * 60);

/// The host's variables the guest's tests get as they are (when set): cargo's, so a test that
/// builds a plugin runs the same toolchain into the same target dir.
const PASSED_ENV: &[&str] = &[
    "PATH",
    "CARGO",
    "CARGO_HOME",
    "RUSTUP_HOME",
    "RUSTUP_TOOLCHAIN",
    "RUSTC",
    "CARGO_TARGET_DIR",
    "CARGO_INCREMENTAL",
];

/// Tests that run at once in the guest, each on a vCPU of its own. The tests are written to run
/// in parallel (cargo test runs them on threads), and TCG is CPU-bound: two lanes on two cores
/// take about half the time of one.
const LANES: usize = 2;

const MARK: &str = "@@lxcrs-guest ";
const STAMP: &str = ".lxcrs-complete";

pub fn run(patterns: &[String]) -> Result<()> {
    if std::env::consts::ARCH != "x86_64" {
        return Err(fail(
            "the guest kernel is Debian's amd64 one: this task runs on x86_64 hosts only",
        ));
    }
    let selected: Vec<(usize, &GuestTest)> = GUEST_TESTS
        .iter()
        .enumerate()
        .filter(|(_, t)| {
            patterns.is_empty() || patterns.iter().any(|p| t.label().contains(p.as_str()))
        })
        .collect();
    if selected.is_empty() {
        return Err(fail(format!(
            "no guest test entry matches {patterns:?}; the entries are: {}",
            GUEST_TESTS
                .iter()
                .map(GuestTest::label)
                .collect::<Vec<_>>()
                .join(" ")
        )));
    }

    let guests: BTreeSet<Guest> = selected.iter().map(|(_, t)| t.guest).collect();
    let mut r = Runner::new("test-matrix --kernel", 3 + 3 * guests.len());
    r.step(
        "install",
        "apt packages for the tests and for building the guest",
        || {
            deps::ensure_apt_packages()?;
            deps::ensure(KERNEL_APT_PACKAGES)
        },
    )?;
    let target = target_dir()?;
    guest_can_see(&target)?;
    guest_can_see(&workspace_root())?;
    let cache = target.join("kernel");
    mkdir(&cache)?;
    let qemu = r.step(
        "qemu",
        "qemu-system-x86_64 and its firmware, unpacked from Debian's packages",
        || Qemu::fetch(&cache),
    )?;
    let mut kernels = BTreeMap::new();
    for &guest in &guests {
        let fetched = r.step("kernel", guest.describe(), || match guest {
            Guest::Debian => Kernel::fetch(&cache, guest).map(Ok),
            // Ubuntu's archive may be out of reach (CI): its tests are skipped, saying why.
            Guest::Ubuntu => Ok(Kernel::fetch(&cache, guest).map_err(|e| e.to_string())),
        })?;
        if let Err(why) = &fetched {
            eprintln!("SKIP: the tests on Ubuntu's kernel: {why}");
        }
        kernels.insert(guest, fetched);
    }
    let plan = r.step(
        "build",
        "the network plugins and the selected test binaries (as `cargo xtask test` builds them)",
        || {
            build_net_plugins(&target.join("debug"), false)?;
            build_tests(&selected)
        },
    )?;
    let mut lanes = Vec::new();
    for (guest, plan) in plan.split() {
        let run_dir = guest.home(&cache).join("run");
        let ran = match kernels.remove(&guest) {
            Some(Ok(kernel)) => {
                let initrd = run_dir.join("initrd.cpio");
                r.step(
                    "initramfs",
                    "busybox, the modules and the guest's scripts",
                    || {
                        mkdir(&run_dir)?;
                        write_initramfs(&initrd, &kernel, &plan)
                    },
                )?;
                let report = r.step(
                    "guest",
                    "boot the guest and run the tests in it (TCG: minutes)",
                    || boot(&qemu, &kernel, guest, &initrd, &plan, &run_dir),
                )?;
                Ok((kernel.package, report))
            }
            Some(Err(why)) => Err(why),
            None => Err(format!("no kernel was fetched for {guest:?}")),
        };
        lanes.push(Lane { guest, plan, ran });
    }
    print(&lanes)
}

impl GuestTest {
    fn label(&self) -> String {
        match self.target {
            Target::Lib => format!("{}/lib", self.package),
            Target::Test(t) => format!("{}/{t}", self.package),
        }
    }
}

/// The guest mounts its own /tmp, /run, /dev, /proc and /sys: host files there are hidden.
fn guest_can_see(path: &Path) -> Result<()> {
    for hidden in ["/tmp", "/run", "/dev", "/proc", "/sys"] {
        if path.starts_with(hidden) {
            return Err(fail(format!(
                "{} is under {hidden}, which the guest mounts afresh, so the guest cannot see \
                 it: use a target directory (CARGO_TARGET_DIR) and checkout elsewhere",
                path.display()
            )));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// qemu and the kernel, from Debian's packages

struct Qemu {
    root: PathBuf,
}

impl Qemu {
    fn binary(&self) -> PathBuf {
        self.root.join("usr/bin/qemu-system-x86_64")
    }

    fn library_path(&self) -> String {
        format!(
            "{}:{}",
            self.root.join("usr/lib/x86_64-linux-gnu").display(),
            self.root.join("lib/x86_64-linux-gnu").display()
        )
    }

    /// The cached copy, or a new one: the four packages, then for each library `ldd` does not
    /// find, the package among their dependencies that ships it, until nothing is missing.
    fn fetch(cache: &Path) -> Result<Qemu> {
        let q = Qemu {
            root: cache.join("qemu"),
        };
        if q.root.join(STAMP).is_file() && q.binary().is_file() {
            eprintln!("reusing {}", q.root.display());
            return Ok(q);
        }
        remove_dir(&q.root)?;
        mkdir(&q.root)?;
        let downloads = Downloads::new(cache)?;
        let mut fetched: BTreeMap<String, PathBuf> = BTreeMap::new();
        let mut next: Vec<String> = QEMU_PACKAGES.iter().map(|p| p.to_string()).collect();
        for _round in 0..8 {
            for (pkg, deb) in downloads.get(&next)? {
                dpkg_extract(&deb, &q.root)?;
                fetched.insert(pkg, deb);
            }
            let missing = q.missing_libraries()?;
            if missing.is_empty() {
                let list: String = fetched.keys().map(|p| format!("{p}\n")).collect();
                write(&q.root.join(STAMP), list.as_bytes())?;
                return Ok(q);
            }
            let mut candidates = BTreeSet::new();
            for deb in fetched.values() {
                candidates.extend(deb_depends(deb)?);
            }
            candidates.retain(|c| !fetched.contains_key(c));
            next = missing
                .iter()
                .filter_map(|so| candidates.iter().find(|c| ships(c, so)).cloned())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            eprintln!(
                "qemu-system-x86_64 lacks {}: fetching {}",
                missing.join(" "),
                if next.is_empty() {
                    "every dependency not fetched yet (no package name matched)".to_string()
                } else {
                    next.join(" ")
                }
            );
            if next.is_empty() {
                // A library whose package is named unlike its soname: fetch the next layer of
                // dependencies whole rather than guess.
                next = candidates.into_iter().collect();
            }
            if next.is_empty() {
                return Err(fail(format!(
                    "{} needs {}, and none of the packages it depends on is left to fetch",
                    q.binary().display(),
                    missing.join(" ")
                )));
            }
        }
        Err(fail(format!(
            "{} still lacks libraries after 8 rounds of fetching its dependencies",
            q.binary().display()
        )))
    }

    /// The sonames `ldd` reports as "not found" with the unpacked libraries on the path.
    fn missing_libraries(&self) -> Result<Vec<String>> {
        let mut cmd = Command::new("ldd");
        cmd.arg(self.binary())
            .env("LD_LIBRARY_PATH", self.library_path());
        let out = cmd
            .output()
            .map_err(|e| fail(format!("cannot run `{}`: {e}", display(&cmd))))?;
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.contains("=> not found"))
            .filter_map(|l| l.split_whitespace().next())
            .map(str::to_string)
            .collect())
    }
}

/// Whether Debian's naming makes package `pkg` the one shipping `soname`:
/// libfoo.so.4 is in libfoo4, libnl-route-3.so.200 in libnl-route-3-200,
/// libglib-2.0.so.0 in libglib2.0-0.
fn ships(pkg: &str, soname: &str) -> bool {
    let Some((stem, version)) = soname.split_once(".so.") else {
        return false;
    };
    let squash = |s: &str| -> String {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
    };
    squash(pkg) == squash(&format!("{stem}{version}"))
}

struct Kernel {
    /// The Debian package, e.g. linux-image-6.1.0-57-amd64.
    package: String,
    /// The uncompressed ELF image: qemu boots it through its PVH entry point.
    vmlinux: PathBuf,
    modules: PathBuf,
    /// Module names in the order they load (dependencies first).
    boot_order: Vec<String>,
    test_order: Vec<String>,
}

impl Kernel {
    fn fetch(cache: &Path, guest: Guest) -> Result<Kernel> {
        let home = guest.home(cache);
        if let Some(k) = Kernel::cached(&home)? {
            eprintln!("reusing {}", k.vmlinux.display());
            return Ok(k);
        }
        mkdir(&home)?;
        let downloads = Downloads::new(cache)?;
        let (package, debs) = match guest {
            Guest::Debian => {
                let package = kernel_package()?;
                let got = downloads.get(std::slice::from_ref(&package))?;
                let debs = got.into_iter().map(|(_, deb)| deb).collect();
                (package, debs)
            }
            Guest::Ubuntu => ubuntu::download(&downloads.dir)?,
        };
        if debs.is_empty() {
            return Err(fail(format!("fetching {package} left no .deb")));
        }
        let dir = home.join(&package);
        remove_dir(&dir)?;
        let unpacked = downloads.dir.join("unpacked");
        for deb in &debs {
            dpkg_extract(deb, &unpacked)?;
        }
        let version = only_entry(&unpacked.join("lib/modules"))?;
        let moddir = unpacked.join("lib/modules").join(&version);
        // Ubuntu ships its modules zstd-compressed; busybox's depmod and insmod read plain ones.
        unzstd_modules(&moddir)?;
        let mut depmod = Command::new("busybox");
        depmod.arg("depmod").arg("-b").arg(&unpacked).arg(&version);
        eprintln!("$ {}", display(&depmod));
        check_status(&mut depmod)?;
        let dep = read(&moddir.join("modules.dep"))?;
        let deps = parse_modules_dep(&dep);
        let builtin = read_optional(&moddir.join("modules.builtin"))?;
        let (boot, test) = wanted_modules(&builtin);
        let wanted: Vec<&str> = boot.into_iter().chain(test).collect();
        let order = load_order(&deps, &wanted)?;

        mkdir(&dir.join("modules"))?;
        for name in &order {
            let rel = &deps[name].0;
            copy(
                &moddir.join(rel),
                &dir.join("modules").join(format!("{name}.ko")),
            )?;
        }
        let vmlinuz = unpacked.join("boot").join(format!("vmlinuz-{version}"));
        unpack_vmlinux(&vmlinuz, &dir.join("vmlinux"))?;
        // The modules.dep of the whole kernel is kept: a later module list needs no download.
        write(&dir.join("modules.dep"), dep.as_bytes())?;
        write(&dir.join("modules.builtin"), builtin.as_bytes())?;
        write(&dir.join(STAMP), format!("{version}\n").as_bytes())?;
        drop(downloads);
        Kernel::cached(&home)?.ok_or_else(|| {
            fail(format!(
                "{} was unpacked but is not usable (see above)",
                dir.display()
            ))
        })
    }

    /// A kernel unpacked under `home` by an earlier run that has every module the lists name.
    fn cached(home: &Path) -> Result<Option<Kernel>> {
        let Ok(entries) = fs::read_dir(home) else {
            return Ok(None);
        };
        let mut dirs: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("linux-image-"))
            })
            .filter(|p| p.join(STAMP).is_file())
            .collect();
        dirs.sort();
        let Some(dir) = dirs.pop() else {
            return Ok(None);
        };
        let deps = parse_modules_dep(&read(&dir.join("modules.dep"))?);
        let (boot, test) = wanted_modules(&read_optional(&dir.join("modules.builtin"))?);
        let all: Vec<&str> = boot.iter().chain(&test).copied().collect();
        let (Ok(boot_order), Ok(all)) = (load_order(&deps, &boot), load_order(&deps, &all)) else {
            return Ok(None);
        };
        let modules = dir.join("modules");
        if all
            .iter()
            .any(|m| !modules.join(format!("{m}.ko")).is_file())
        {
            // The module list grew since this kernel was unpacked.
            remove_dir(&dir)?;
            return Ok(None);
        }
        let test_order = all
            .into_iter()
            .filter(|m| !boot_order.contains(m))
            .collect();
        let package = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(Some(Kernel {
            package,
            vmlinux: dir.join("vmlinux"),
            modules,
            boot_order,
            test_order,
        }))
    }
}

/// [`BOOT_MODULES`] and [`TEST_MODULES`] less those `modules.builtin` lists (Ubuntu builds
/// virtio_pci, loop, tun and crc32c into the kernel; Debian ships no such list in its package).
fn wanted_modules(builtin: &str) -> (Vec<&'static str>, Vec<&'static str>) {
    let builtin: BTreeSet<String> = builtin.lines().map(module_name).collect();
    let keep = |list: &[&'static str]| -> Vec<&'static str> {
        list.iter()
            .copied()
            .filter(|m| !builtin.contains(*m))
            .collect()
    };
    (keep(BOOT_MODULES), keep(TEST_MODULES))
}

/// Every `*.ko.zst` under `dir` decompressed in place to `*.ko` (zstd, many files per call).
fn unzstd_modules(dir: &Path) -> Result<()> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<()> {
        let entries =
            fs::read_dir(dir).map_err(|e| fail(format!("cannot read {}: {e}", dir.display())))?;
        for e in entries.flatten() {
            let path = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                walk(&path, found)?;
            } else if path.to_string_lossy().ends_with(".ko.zst") {
                found.push(path);
            }
        }
        Ok(())
    }
    let mut found = Vec::new();
    walk(dir, &mut found)?;
    if !found.is_empty() {
        eprintln!("decompressing {} modules with zstd", found.len());
    }
    for chunk in found.chunks(256) {
        let mut cmd = Command::new("zstd");
        cmd.args(["-d", "-q", "-f", "--rm"]).args(chunk);
        check_status(&mut cmd)?;
    }
    Ok(())
}

/// The versioned kernel package the metapackage depends on.
fn kernel_package() -> Result<String> {
    let query = || -> Result<Option<String>> {
        let mut cmd = Command::new("apt-cache");
        cmd.args(["depends", KERNEL_METAPACKAGE]);
        let out = cmd
            .output()
            .map_err(|e| fail(format!("cannot run `{}`: {e}", display(&cmd))))?;
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.trim().strip_prefix("Depends: "))
            .find(|p| p.starts_with("linux-image-") && p.ends_with("-amd64"))
            .map(str::to_string))
    };
    if let Some(p) = query()? {
        return Ok(p);
    }
    apt_update()?;
    query()?.ok_or_else(|| {
        fail(format!(
            "`apt-cache depends {KERNEL_METAPACKAGE}` names no linux-image-*-amd64 package"
        ))
    })
}

/// modules.dep: `kernel/net/8021q/8021q.ko: kernel/net/802/mrp.ko ...`, keyed by module name.
type ModuleDeps = HashMap<String, (String, Vec<String>)>;

fn module_name(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    file.trim_end_matches(".ko").replace('-', "_")
}

fn parse_modules_dep(text: &str) -> ModuleDeps {
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(path, deps)| {
            (
                module_name(path),
                (
                    path.trim().to_string(),
                    deps.split_whitespace().map(module_name).collect(),
                ),
            )
        })
        .collect()
}

/// `wanted` and everything they need, each after its dependencies.
fn load_order(deps: &ModuleDeps, wanted: &[&str]) -> Result<Vec<String>> {
    fn visit(
        deps: &ModuleDeps,
        name: &str,
        order: &mut Vec<String>,
        stack: &mut Vec<String>,
    ) -> Result<()> {
        if order.iter().any(|m| m == name) {
            return Ok(());
        }
        if stack.iter().any(|m| m == name) {
            return Err(fail(format!(
                "modules.dep has a cycle: {} -> {name}",
                stack.join(" -> ")
            )));
        }
        let (_, needs) = deps.get(name).ok_or_else(|| {
            fail(format!(
                "the guest kernel has no module {name} (not in its modules.dep)"
            ))
        })?;
        stack.push(name.to_string());
        for d in needs {
            visit(deps, d, order, stack)?;
        }
        stack.pop();
        order.push(name.to_string());
        Ok(())
    }
    let mut order = Vec::new();
    for w in wanted {
        visit(deps, w, &mut order, &mut Vec::new())?;
    }
    Ok(order)
}

/// A bzImage carries the kernel compressed after its setup code (Debian: xz, Ubuntu: zstd);
/// qemu boots the plain ELF through its PVH note, which skips the decompression that TCG makes
/// slow.
fn unpack_vmlinux(bzimage: &Path, out: &Path) -> Result<()> {
    let data = fs::read(bzimage).map_err(|e| fail(format!("{}: {e}", bzimage.display())))?;
    let formats: [(&[u8], &str, &[&str]); 2] = [
        (b"\xfd7zXZ\x00", "xz", &["-dc", "--single-stream"]),
        (b"\x28\xb5\x2f\xfd", "zstd", &["-dc"]),
    ];
    let (start, tool, args) = formats
        .iter()
        .find_map(|&(magic, tool, args)| {
            let at = data.windows(magic.len()).position(|w| w == magic)?;
            Some((at, tool, args))
        })
        .ok_or_else(|| {
            fail(format!(
                "{}: no xz or zstd stream in it (is the kernel compressed otherwise?)",
                bzimage.display()
            ))
        })?;
    let file = fs::File::create(out).map_err(|e| fail(format!("{}: {e}", out.display())))?;
    let mut cmd = Command::new(tool);
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(file)
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| fail(format!("cannot run `{}`: {e}", display(&cmd))))?;
    let fed = child
        .stdin
        .take()
        .map(|mut s| s.write_all(&data[start..]))
        .unwrap_or(Ok(()));
    let done = child
        .wait_with_output()
        .map_err(|e| fail(format!("`{}`: {e}", display(&cmd))))?;
    // Both stop at the end of the kernel's stream: xz stops reading (a broken pipe on the rest
    // is expected), zstd reads on and fails on the bytes after it. So the status says little;
    // what counts is that the output is a whole ELF file.
    let elf = fs::read(out).map_err(|e| fail(format!("{}: {e}", out.display())))?;
    if !elf_is_whole(&elf) {
        return Err(fail(format!(
            "{} unpacked from {} with `{}` is not a whole ELF file: {} ({fed:?}): {}",
            out.display(),
            bzimage.display(),
            display(&cmd),
            done.status,
            String::from_utf8_lossy(&done.stderr).trim()
        )));
    }
    Ok(())
}

/// Whether an ELF64 file is all there: its section headers, written last, end within it.
fn elf_is_whole(elf: &[u8]) -> bool {
    let u16_at = |o: usize| {
        elf.get(o..o + 2)
            .map(|b| u64::from(u16::from_le_bytes([b[0], b[1]])))
    };
    let shoff = elf.get(0x28..0x30).map(|b| {
        let mut a = [0; 8];
        a.copy_from_slice(b);
        u64::from_le_bytes(a)
    });
    let (Some(shoff), Some(size), Some(count)) = (shoff, u16_at(0x3a), u16_at(0x3c)) else {
        return false;
    };
    elf.starts_with(b"\x7fELF")
        && shoff > 0
        && shoff
            .checked_add(size * count)
            .is_some_and(|end| end <= elf.len() as u64)
}

/// A scratch directory for .deb files and unpacked trees, removed when dropped so the cache
/// keeps only what the guest uses.
struct Downloads {
    dir: PathBuf,
}

impl Downloads {
    fn new(cache: &Path) -> Result<Downloads> {
        let dir = cache.join("downloads");
        remove_dir(&dir)?;
        mkdir(&dir)?;
        Ok(Downloads { dir })
    }

    /// `apt-get download` the packages (refreshing apt's lists once if that fails) and return
    /// each with its .deb.
    fn get(&self, packages: &[String]) -> Result<Vec<(String, PathBuf)>> {
        if packages.is_empty() {
            return Ok(Vec::new());
        }
        let download = || {
            let mut cmd = Command::new("apt-get");
            cmd.args(["download", "-q"]);
            if deps::is_root().unwrap_or(false) {
                // As root apt would drop to `_apt`, who cannot write into the target dir.
                cmd.args(["-o", "APT::Sandbox::User=root"]);
            }
            cmd.args(packages)
                .current_dir(&self.dir)
                .stdin(Stdio::null())
                .stdout(std::io::stderr());
            eprintln!("$ {}", display(&cmd));
            check_status(&mut cmd)
        };
        if download().is_err() {
            apt_update()?;
            download()?;
        }
        let mut out = Vec::new();
        for pkg in packages {
            let prefix = format!("{pkg}_");
            let deb = fs::read_dir(&self.dir)
                .map_err(|e| fail(format!("{}: {e}", self.dir.display())))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .find(|p| {
                    p.file_name().is_some_and(|n| {
                        let n = n.to_string_lossy();
                        n.starts_with(&prefix) && n.ends_with(".deb")
                    })
                })
                .ok_or_else(|| {
                    fail(format!(
                        "apt-get download {pkg} left no {prefix}*.deb in {}",
                        self.dir.display()
                    ))
                })?;
            out.push((pkg.clone(), deb));
        }
        Ok(out)
    }
}

impl Drop for Downloads {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn apt_update() -> Result<()> {
    eprintln!("refreshing apt's package lists");
    let mut cmd = Command::new("apt-get");
    cmd.args(["update", "-q"])
        .stdin(Stdio::null())
        .stdout(std::io::stderr());
    eprintln!("$ {}", display(&cmd));
    check_status(&mut cmd)
}

fn dpkg_extract(deb: &Path, into: &Path) -> Result<()> {
    let mut cmd = Command::new("dpkg");
    cmd.arg("-x").arg(deb).arg(into);
    check_status(&mut cmd)
}

/// The package names a .deb depends on (first of each alternative, versions dropped).
fn deb_depends(deb: &Path) -> Result<Vec<String>> {
    let mut cmd = Command::new("dpkg-deb");
    cmd.arg("-f").arg(deb).args(["Depends", "Pre-Depends"]);
    let out = capture_stdout(&mut cmd)?;
    Ok(parse_depends(&out))
}

fn parse_depends(field: &str) -> Vec<String> {
    field
        .lines()
        .map(|l| l.split_once(": ").map_or(l, |(_, v)| v))
        .flat_map(|l| l.split(','))
        .filter_map(|alts| alts.split('|').next())
        .filter_map(|p| p.split_whitespace().next())
        .map(|p| p.split(':').next().unwrap_or(p).to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Building and listing the tests

/// One entry of [`GUEST_TESTS`] with what the build found for it.
struct Planned {
    label: String,
    need: Need,
    guest: Guest,
    filters: &'static [&'static str],
    /// The tests it selects (as its binary lists them on the host), or why there are none.
    tests: std::result::Result<Vec<String>, String>,
}

/// One test process in the guest.
struct Job {
    entry: usize,
    name: String,
    exe: PathBuf,
    /// Its package's directory: the working directory `cargo test` gives it.
    dir: PathBuf,
}

struct Plan {
    entries: Vec<Planned>,
    jobs: Vec<Job>,
}

impl Plan {
    /// One plan per guest kernel, entries and jobs renumbered, in [`Guest`] order.
    fn split(self) -> Vec<(Guest, Plan)> {
        let mut plans: BTreeMap<Guest, Plan> = BTreeMap::new();
        let mut renumbered = Vec::new();
        for e in self.entries {
            let plan = plans.entry(e.guest).or_insert_with(|| Plan {
                entries: Vec::new(),
                jobs: Vec::new(),
            });
            renumbered.push((e.guest, plan.entries.len()));
            plan.entries.push(e);
        }
        for job in self.jobs {
            let (guest, entry) = renumbered[job.entry];
            if let Some(plan) = plans.get_mut(&guest) {
                plan.jobs.push(Job { entry, ..job });
            }
        }
        plans.into_iter().collect()
    }
}

/// `cargo test --workspace --no-run` limited to the targets listed, so features unify exactly
/// as in `cargo xtask test` and its binaries are reused; a target that does not exist is
/// reported for its entry, not given to cargo. Each binary then lists its tests on the host.
fn build_tests(selected: &[(usize, &GuestTest)]) -> Result<Plan> {
    let mut meta_cmd = cargo(["metadata", "--format-version", "1", "--no-deps"]);
    let meta: Value = serde_json::from_str(&capture_stdout(&mut meta_cmd)?)
        .map_err(|e| fail(format!("`{}` printed bad JSON: {e}", display(&meta_cmd))))?;
    let packages = meta["packages"].as_array().cloned().unwrap_or_default();
    let package = |name: &str| packages.iter().find(|p| p["name"] == name);
    let package_dir = |p: &Value| {
        p["manifest_path"]
            .as_str()
            .and_then(|m| Path::new(m).parent())
            .map(Path::to_path_buf)
    };
    let has_target = |p: &Value, target: Target| {
        p["targets"].as_array().is_some_and(|ts| {
            ts.iter().any(|t| {
                let kinds = t["kind"].as_array().cloned().unwrap_or_default();
                match target {
                    Target::Lib => kinds.iter().any(|k| k == "lib"),
                    Target::Test(name) => t["name"] == name && kinds.iter().any(|k| k == "test"),
                }
            })
        })
    };

    let mut missing: HashMap<usize, String> = HashMap::new();
    let mut flags = BTreeSet::new();
    for &(i, t) in selected {
        match package(t.package) {
            None => {
                missing.insert(i, format!("no package {} in the workspace", t.package));
            }
            Some(p) if !has_target(p, t.target) => {
                let what = match t.target {
                    Target::Lib => "no library target".to_string(),
                    Target::Test(name) => format!("no test target `{name}`"),
                };
                let dir = package_dir(p).unwrap_or_default();
                missing.insert(
                    i,
                    format!("{} has {what} (in {})", t.package, dir.display()),
                );
            }
            Some(_) => {
                flags.insert(t.target);
            }
        }
    }
    let mut cmd = cargo([
        "test",
        "--workspace",
        "--no-run",
        "--message-format=json-render-diagnostics",
    ]);
    for f in &flags {
        match f {
            Target::Lib => cmd.arg("--lib"),
            Target::Test(name) => cmd.args(["--test", name]),
        };
    }

    let mut built: HashMap<(String, Target), PathBuf> = HashMap::new();
    if !flags.is_empty() {
        eprintln!("$ {}", display(&cmd));
        let out = capture_stdout(&mut cmd)?;
        let names: HashMap<&str, &str> = packages
            .iter()
            .filter_map(|p| Some((p["id"].as_str()?, p["name"].as_str()?)))
            .collect();
        for line in out.lines() {
            let Ok(msg) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            if msg["reason"] != "compiler-artifact" || msg["profile"]["test"] != true {
                continue;
            }
            let (Some(exe), Some(pkg)) = (
                msg["executable"].as_str(),
                msg["package_id"]
                    .as_str()
                    .and_then(|id| names.get(id).copied()),
            ) else {
                continue;
            };
            let kinds = msg["target"]["kind"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let target = if kinds.iter().any(|k| k == "lib") {
                Some(Target::Lib)
            } else if kinds.iter().any(|k| k == "test") {
                flags.iter().copied().find(|f| match f {
                    Target::Test(n) => msg["target"]["name"] == *n,
                    Target::Lib => false,
                })
            } else {
                None
            };
            if let Some(target) = target {
                built.insert((pkg.to_string(), target), PathBuf::from(exe));
            }
        }
    }

    let mut plan = Plan {
        entries: Vec::new(),
        jobs: Vec::new(),
    };
    for &(i, t) in selected {
        let found = match missing.remove(&i) {
            Some(why) => Err(why),
            None => built
                .get(&(t.package.to_string(), t.target))
                .map(|exe| {
                    let dir = package(t.package)
                        .and_then(package_dir)
                        .unwrap_or_else(workspace_root);
                    (exe.clone(), dir)
                })
                .ok_or_else(|| format!("`{}` reported no executable for it", display(&cmd))),
        };
        let tests = found.and_then(|(exe, dir)| {
            let names = list_tests(&exe, &dir, t.filters)?;
            for name in &names {
                plan.jobs.push(Job {
                    entry: plan.entries.len(),
                    name: name.clone(),
                    exe: exe.clone(),
                    dir: dir.clone(),
                });
            }
            Ok(names)
        });
        plan.entries.push(Planned {
            label: t.label(),
            need: t.need,
            guest: t.guest,
            filters: t.filters,
            tests,
        });
    }
    Ok(plan)
}

/// The tests a binary selects with `filters`, as libtest lists them (run on the host: listing
/// runs no test code, and the host knows then what must come back from the guest).
fn list_tests(
    exe: &Path,
    dir: &Path,
    filters: &[&str],
) -> std::result::Result<Vec<String>, String> {
    let mut cmd = Command::new(exe);
    cmd.args(["--list", "--format", "terse"])
        .args(filters)
        .current_dir(dir)
        .env("CARGO_MANIFEST_DIR", dir)
        .stdin(Stdio::null());
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run `{}`: {e}", display(&cmd)))?;
    if !out.status.success() {
        return Err(format!(
            "`{}` failed ({}): {}",
            display(&cmd),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .map(str::to_string)
        .collect())
}

// ---------------------------------------------------------------------------------------------
// The initramfs and the guest's scripts

fn write_initramfs(path: &Path, kernel: &Kernel, plan: &Plan) -> Result<()> {
    let busybox = fs::read("/bin/busybox")
        .map_err(|e| fail(format!("/bin/busybox (from busybox-static): {e}")))?;
    if has_interpreter(&busybox) {
        return Err(fail(
            "/bin/busybox is linked dynamically; the initramfs needs busybox-static's",
        ));
    }
    let mut cpio = Cpio::default();
    for dir in [
        "bin", "dev", "proc", "sys", "modules", "lower", "upper", "newroot",
    ] {
        cpio.dir(dir);
    }
    cpio.char_device("dev/console", 5, 1);
    cpio.file("bin/busybox", 0o755, &busybox);
    for m in kernel.boot_order.iter().chain(&kernel.test_order) {
        let ko = kernel.modules.join(format!("{m}.ko"));
        cpio.file(&format!("modules/{m}.ko"), 0o644, &read_bytes(&ko)?);
    }
    let modules: Vec<&str> = kernel
        .boot_order
        .iter()
        .chain(&kernel.test_order)
        .map(String::as_str)
        .collect();
    cpio.file("init", 0o755, stage1(&modules).as_bytes());
    cpio.file("stage2", 0o644, stage2(plan).as_bytes());
    write(path, &cpio.finish())
}

/// PID 1 in the initramfs: load the modules, mount the host's / (9p, read-only) under a tmpfs
/// overlay, give it fresh /dev /proc /sys /tmp /run, a pure cgroup2 hierarchy and the results
/// share, and switch into it (pivot_root cannot leave an initramfs).
fn stage1(modules: &[&str]) -> String {
    format!(
        r#"#!/bin/busybox sh
B=/bin/busybox
say() {{ echo "{MARK}$*"; }}
die() {{ say "fail $*"; $B poweroff -f; }}
$B mount -t proc proc /proc || die "mount /proc"
for m in {modules}; do $B insmod /modules/$m.ko || die "insmod $m"; done
$B mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=512000,cache=loose hostroot /lower \
    || die "mount the host's / over 9p"
$B mount -t tmpfs -o mode=0755 upper /upper && $B mkdir /upper/data /upper/work || die "tmpfs"
$B mount -t overlay -o lowerdir=/lower,upperdir=/upper/data,workdir=/upper/work root /newroot \
    || die "overlay on the host's /"
N=/newroot
$B mount -t devtmpfs dev $N/dev || die "devtmpfs"
$B mkdir -p $N/dev/pts $N/dev/shm
$B mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts $N/dev/pts || die "devpts"
$B mount -t tmpfs -o mode=1777 shm $N/dev/shm || die "/dev/shm"
$B mount -t proc proc $N/proc || die "proc"
$B mount -t sysfs sys $N/sys || die "sysfs"
$B mount -t cgroup2 -o nsdelegate cgroup2 $N/sys/fs/cgroup || die "cgroup2"
$B mount -t tmpfs -o mode=1777 tmp $N/tmp || die "/tmp"
$B mount -t tmpfs -o mode=0755 run $N/run || die "/run"
$B mkdir -p $N/run/lxcrs-guest/results $N/run/lxcrs-guest/claims || die "mkdir"
$B mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 results $N/run/lxcrs-guest/results \
    || die "mount the results share"
$B cp /bin/busybox /stage2 $N/run/lxcrs-guest/ || die "copy stage 2"
$B umount /proc
exec $B switch_root $N /run/lxcrs-guest/busybox sh /run/lxcrs-guest/stage2
"#,
        modules = modules.join(" ")
    )
}

/// PID 1 in the guest's root: [`LANES`] lanes walk the one list of tests, each test run by the
/// lane that claims it first (mkdir is atomic), in a process of its own whose output goes to
/// the results share; the console carries only one-line markers, so lanes never interleave.
fn stage2(plan: &Plan) -> String {
    let mut s = format!(
        r#"B=/run/lxcrs-guest/busybox
R=/run/lxcrs-guest/results
C=/run/lxcrs-guest/claims
say() {{ echo "{MARK}$*"; }}
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root USER=root LOGNAME=root LANG=C.UTF-8 RUST_BACKTRACE=1
# The tests' own switch: a skip for want of a kernel feature is a failure here.
export LXC_RS_GUEST=1
$B hostname lxcrs-guest
$B ln -sf /proc/self/fd /dev/fd
$B ln -sf /proc/self/fd/0 /dev/stdin
$B ln -sf /proc/self/fd/1 /dev/stdout
$B ln -sf /proc/self/fd/2 /dev/stderr
$B ip link set lo up || say "warn: cannot bring lo up"
for c in cpuset cpu io memory pids; do
    echo "+$c" > /sys/fs/cgroup/cgroup.subtree_control || say "warn: cannot enable the $c controller"
done
say "ready uptime=$($B cut -d' ' -f1 /proc/uptime) kernel=$($B uname -r) cgroup2=$($B cat /sys/fs/cgroup/cgroup.subtree_control | $B tr ' ' ,)"
run() {{
    $B mkdir $C/$1 2>/dev/null || return 0
    say "begin $1"
    (cd "$2" && CARGO_MANIFEST_DIR="$2" exec $B timeout -s KILL {TEST_TIMEOUT_SECS} "$3" --exact "$4" \
        --nocapture --test-threads=1 --color never) </dev/null >$R/$1.out 2>&1
    say "end $1 $?"
}}
"#
    );
    // What `cargo test` hands its test processes and tests use (plugin tests run cargo).
    for var in PASSED_ENV {
        if let Some(v) = std::env::var_os(var) {
            s.push_str(&format!(
                "export {var}={}\n",
                sh_quote(&v.to_string_lossy())
            ));
        }
    }
    s.push_str("lane() {\n    :\n");
    for (k, j) in plan.jobs.iter().enumerate() {
        s.push_str(&format!(
            "    run {k} {} {} {}\n",
            sh_quote(&j.dir.to_string_lossy()),
            sh_quote(&j.exe.to_string_lossy()),
            sh_quote(&j.name)
        ));
    }
    s.push_str("}\n");
    for _ in 0..LANES {
        s.push_str("lane &\n");
    }
    s.push_str("wait\ncd /\nsay done\n$B poweroff -f\n");
    s
}

/// Whether an ELF64 file names a program interpreter (PT_INTERP): a dynamically linked one
/// cannot run in the initramfs, which has no libraries.
fn has_interpreter(elf: &[u8]) -> bool {
    let u16_at = |o: usize| elf.get(o..o + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |o: usize| {
        elf.get(o..o + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let u64_at = |o: usize| {
        elf.get(o..o + 8).map(|b| {
            let mut a = [0; 8];
            a.copy_from_slice(b);
            u64::from_le_bytes(a)
        })
    };
    let (Some(phoff), Some(size), Some(count)) = (u64_at(0x20), u16_at(0x36), u16_at(0x38)) else {
        return true;
    };
    let Ok(phoff) = usize::try_from(phoff) else {
        return true;
    };
    (0..usize::from(count)).any(|i| u32_at(phoff + i * usize::from(size)) == Some(3))
}

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// An initramfs in the "newc" cpio format the kernel unpacks.
#[derive(Default)]
struct Cpio {
    buf: Vec<u8>,
    ino: u32,
}

impl Cpio {
    fn dir(&mut self, name: &str) {
        self.entry(name, 0o040_755, &[], (0, 0));
    }

    fn file(&mut self, name: &str, perm: u32, data: &[u8]) {
        self.entry(name, 0o100_000 | perm, data, (0, 0));
    }

    fn char_device(&mut self, name: &str, major: u32, minor: u32) {
        self.entry(name, 0o020_600, &[], (major, minor));
    }

    fn entry(&mut self, name: &str, mode: u32, data: &[u8], rdev: (u32, u32)) {
        self.ino += 1;
        let nlink = if mode & 0o170_000 == 0o040_000 { 2 } else { 1 };
        let fields = [
            self.ino,
            mode,
            0,
            0,
            nlink,
            0,
            u32::try_from(data.len()).unwrap_or(u32::MAX),
            0,
            0,
            rdev.0,
            rdev.1,
            u32::try_from(name.len() + 1).unwrap_or(u32::MAX),
            0,
        ];
        self.buf.extend_from_slice(b"070701");
        for f in fields {
            self.buf.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.push(0);
        self.pad();
        self.buf.extend_from_slice(data);
        self.pad();
    }

    fn pad(&mut self) {
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }

    fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, &[], (0, 0));
        self.buf
    }
}

// ---------------------------------------------------------------------------------------------
// Running the guest and reading its console

#[derive(Clone, Debug, PartialEq)]
enum Outcome {
    Ok,
    Ignored,
    Failed(String),
}

impl Outcome {
    fn cell(&self) -> &str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Ignored => "ignored",
            Outcome::Failed(_) => "FAILED",
        }
    }
}

struct TestResult {
    outcome: Outcome,
    took: Duration,
    output: Vec<String>,
    /// The first line where the test said it skipped something or checked only a refusal:
    /// in the guest that usually means a module is missing.
    note: Option<String>,
}

/// What the guest said: when it was ready, each test's result (by job number), whether it got
/// to the end.
#[derive(Default)]
struct Report {
    ready: Option<(Duration, String)>,
    running: HashMap<usize, Instant>,
    results: HashMap<usize, TestResult>,
    finished: bool,
    /// Why the guest stopped early, when it did.
    stopped: Option<String>,
    /// Console lines that are not markers (boot, kernel messages).
    console: Vec<String>,
    total: Duration,
}

impl Report {
    /// One console line; `output(k)` reads job k's output from the results share.
    fn line(
        &mut self,
        line: &str,
        started: Instant,
        plan: &Plan,
        output: &dyn Fn(usize) -> Vec<String>,
    ) {
        let Some(m) = line.find(MARK).map(|at| &line[at + MARK.len()..]) else {
            eprintln!("guest| {line}");
            self.console.push(line.to_string());
            return;
        };
        let words: Vec<&str> = m.split_whitespace().collect();
        let job = words.get(1).and_then(|w| w.parse::<usize>().ok());
        match (words.first().copied(), job) {
            (Some("ready"), _) => {
                let took = started.elapsed();
                let info = words[1..].join(" ");
                eprintln!("guest: ready after {} ({info})", secs(took));
                self.ready = Some((took, info));
            }
            (Some("begin"), Some(k)) => {
                self.running.insert(k, Instant::now());
            }
            (Some("end"), Some(k)) => {
                let rc = words.get(2).and_then(|w| w.parse::<i32>().ok());
                let took = self
                    .running
                    .remove(&k)
                    .map_or(Duration::ZERO, |t| t.elapsed());
                let out = output(k);
                let r = TestResult {
                    outcome: outcome(rc, &out),
                    took,
                    note: note(&out),
                    output: out,
                };
                let (label, name) = plan.jobs.get(k).map_or(("?", "?"), |j| {
                    (plan.entries[j.entry].label.as_str(), j.name.as_str())
                });
                eprintln!(
                    "guest: [{}/{}] {label} {name}: {} ({}){}",
                    self.results.len() + 1,
                    plan.jobs.len(),
                    r.outcome.cell(),
                    secs(r.took),
                    r.note
                        .as_deref()
                        .map(|n| format!(" [{n}]"))
                        .unwrap_or_default()
                );
                self.results.insert(k, r);
            }
            (Some("done"), _) => self.finished = true,
            (Some("fail"), _) => {
                eprintln!("guest| {line}");
                self.stopped = Some(format!("the guest's init failed: {}", words[1..].join(" ")));
            }
            _ => {
                eprintln!("guest| {line}");
                self.console.push(line.to_string());
            }
        }
    }
}

/// A test's result from its exit status and libtest's summary line.
fn outcome(rc: Option<i32>, out: &[String]) -> Outcome {
    let summary = out
        .iter()
        .rev()
        .find(|l| l.starts_with("test result: "))
        .map(String::as_str);
    match (rc, summary) {
        (Some(137), _) => Outcome::Failed(format!("killed after {TEST_TIMEOUT_SECS} s")),
        (Some(0), Some(s)) if s.contains(" 1 passed;") => Outcome::Ok,
        (Some(0), Some(s)) if s.contains(" 1 ignored") => Outcome::Ignored,
        (Some(0), _) => Outcome::Failed("exit status 0 but libtest ran no test".to_string()),
        (Some(rc), _) => Outcome::Failed(format!("exit status {rc}")),
        (None, _) => Outcome::Failed("no exit status".to_string()),
    }
}

fn note(out: &[String]) -> Option<String> {
    out.iter()
        .map(|l| l.trim())
        .find(|l| {
            ["SKIP", "skipped", "NOTE:"]
                .iter()
                .any(|p| l.starts_with(p))
                || l.contains("kernel has no")
                || l.contains("kernel lacks")
        })
        .map(|l| l.chars().take(70).collect())
}

fn boot(
    qemu: &Qemu,
    kernel: &Kernel,
    guest: Guest,
    initrd: &Path,
    plan: &Plan,
    run_dir: &Path,
) -> Result<Report> {
    let results = run_dir.join("results");
    remove_dir(&results)?;
    mkdir(&results)?;
    let root_share = "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,\
                      multidevs=remap,id=hostroot";
    let results_share = format!(
        "local,path={},mount_tag=results,security_model=none,id=results",
        results.display()
    );
    let mut cmd = Command::new(qemu.binary());
    cmd.env("LD_LIBRARY_PATH", qemu.library_path())
        .arg("-L")
        .arg(qemu.root.join("usr/share/qemu"))
        .arg("-L")
        .arg(qemu.root.join("usr/share/seabios"))
        .args(["-accel", "tcg,thread=multi", "-cpu", guest.cpu()])
        .args(["-smp", &guest.smp(), "-m", "2048"])
        .args(["-nographic", "-no-reboot", "-nic", "none"])
        .arg("-kernel")
        .arg(&kernel.vmlinux)
        .arg("-initrd")
        .arg(initrd)
        .args(["-append", KERNEL_CMDLINE])
        .args(["-virtfs", root_share])
        .arg("-virtfs")
        .arg(results_share)
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    eprintln!(
        "$ LD_LIBRARY_PATH={} {}",
        qemu.library_path(),
        display(&cmd)
    );
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| fail(format!("cannot run `{}`: {e}", display(&cmd))))?;
    let lines = read_lines(&mut child);
    let log_path = run_dir.join("console.log");
    let mut log = fs::File::create(&log_path).ok();
    let output = |k: usize| -> Vec<String> {
        let path = results.join(format!("{k}.out"));
        match fs::read(&path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes)
                .lines()
                .map(str::to_string)
                .collect(),
            Err(e) => vec![format!("(no output: {}: {e})", path.display())],
        }
    };

    let mut report = Report::default();
    let deadline = started + GUEST_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                if let Some(f) = log.as_mut() {
                    let _ = writeln!(f, "{line}");
                }
                report.line(&line, started, plan, &output);
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // Only the qemu this task started, through its own handle.
                let _ = child.kill();
                report.stopped.get_or_insert(format!(
                    "qemu was killed after {} (the guest's deadline)",
                    secs(GUEST_TIMEOUT)
                ));
                break;
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| fail(format!("waiting for qemu: {e}")))?;
    report.total = started.elapsed();
    let cut_short: Vec<(usize, Instant)> = report.running.drain().collect();
    for (k, t0) in cut_short {
        let out = output(k);
        report.results.insert(
            k,
            TestResult {
                outcome: Outcome::Failed("the guest stopped while it ran".to_string()),
                took: t0.elapsed(),
                note: note(&out),
                output: out,
            },
        );
    }
    if !report.finished && report.stopped.is_none() {
        report.stopped = Some(format!(
            "qemu exited ({status}) before the guest said it was done"
        ));
    }
    eprintln!(
        "guest: {} in all; console log in {}, test output in {}",
        secs(report.total),
        log_path.display(),
        results.display()
    );
    Ok(report)
}

/// qemu's console, line by line, from a thread so the caller can wait with a deadline.
fn read_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    if let Some(out) = child.stdout.take() {
        std::thread::spawn(move || {
            let mut reader = BufReader::new(out);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let line = String::from_utf8_lossy(&buf);
                        let line = line.trim_end_matches(['\n', '\r']);
                        if tx.send(line.to_string()).is_err() {
                            break;
                        }
                    }
                }
            }
        });
    }
    rx
}

/// One guest's share of the run: its tests, and what its guest reported (its kernel's package)
/// or why it did not boot (the tests are then skipped).
struct Lane {
    guest: Guest,
    plan: Plan,
    ran: std::result::Result<(String, Report), String>,
}

impl Lane {
    /// The kernel's name in the table: its release, e.g. 6.1.0-57-amd64.
    fn kernel(&self) -> String {
        match &self.ran {
            Ok((package, _)) => {
                let p = package.trim_start_matches("linux-image-");
                p.trim_start_matches("unsigned-").to_string()
            }
            Err(_) => format!("{:?} (not fetched)", self.guest).to_lowercase(),
        }
    }
}

/// Failing tests' output, then the table of every lane's tests and a closing count; an error if
/// anything failed, was missing, or a guest did not finish.
fn print(lanes: &[Lane]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let mut rows: Vec<[String; 5]> = Vec::new();
    let (mut passed, mut failed, mut skipped, mut pending) = (0, 0, 0, 0);
    for lane in lanes {
        let (plan, kernel) = (&lane.plan, lane.kernel());
        for (i, e) in plan.entries.iter().enumerate() {
            let mut row = |test: &str, result: &str, time: String| {
                rows.push([
                    e.label.clone(),
                    test.to_string(),
                    kernel.clone(),
                    result.to_string(),
                    time,
                ]);
            };
            match &e.tests {
                Err(why) if e.need == Need::Pending => {
                    pending += 1;
                    row(&format!("({why})"), "pending", String::new());
                }
                Err(why) => {
                    failed += 1;
                    row(&format!("({why})"), "MISSING", String::new());
                }
                Ok(names) if names.is_empty() && e.need == Need::Pending => {
                    pending += 1;
                    row("(no test written yet)", "pending", String::new());
                }
                Ok(names) if names.is_empty() => {
                    failed += 1;
                    row(
                        &format!("(no test matches {:?})", e.filters),
                        "MISSING",
                        String::new(),
                    );
                }
                Ok(_) => {
                    for (k, job) in plan.jobs.iter().enumerate().filter(|(_, j)| j.entry == i) {
                        let report = match &lane.ran {
                            Ok((_, report)) => report,
                            Err(_) => {
                                skipped += 1;
                                row(
                                    &format!(
                                        "{} [SKIP: its kernel was not fetched, see above]",
                                        job.name
                                    ),
                                    "SKIPPED",
                                    String::new(),
                                );
                                continue;
                            }
                        };
                        match report.results.get(&k) {
                            Some(r) => {
                                match r.outcome {
                                    Outcome::Ok => passed += 1,
                                    Outcome::Ignored => skipped += 1,
                                    Outcome::Failed(_) => failed += 1,
                                }
                                let name = match &r.note {
                                    Some(n) => format!("{} [{n}]", job.name),
                                    None => job.name.clone(),
                                };
                                row(&name, r.outcome.cell(), secs(r.took));
                            }
                            None => {
                                failed += 1;
                                row(&job.name, "NOT RUN", String::new());
                            }
                        }
                    }
                }
            }
        }
    }

    for lane in lanes {
        let plan = &lane.plan;
        let Ok((_, report)) = &lane.ran else {
            continue;
        };
        for (k, job) in plan.jobs.iter().enumerate() {
            let Some(r) = report.results.get(&k) else {
                continue;
            };
            if let Outcome::Failed(why) = &r.outcome {
                let label = &plan.entries[job.entry].label;
                let _ = writeln!(out, "\n---- {label} {} in the guest: {why} ----", job.name);
                for l in &r.output {
                    let _ = writeln!(out, "    {l}");
                }
            }
        }
        if let Some(why) = &report.stopped {
            let _ = writeln!(
                out,
                "\nthe guest ({}) did not finish: {why}; its last console lines:",
                lane.kernel()
            );
            for l in report.console.iter().rev().take(40).rev() {
                let _ = writeln!(out, "    {l}");
            }
        }
    }

    let _ = writeln!(out);
    for lane in lanes {
        match &lane.ran {
            Ok((package, report)) => {
                let ready = report
                    .ready
                    .as_ref()
                    .map_or("never ready".to_string(), |(t, info)| {
                        format!("ready after {} ({info})", secs(*t))
                    });
                let _ = writeln!(
                    out,
                    "test-matrix --kernel: {package} in qemu (TCG, {LANES} lanes, -cpu {} -smp \
                     {}), {ready}, {} in all",
                    lane.guest.cpu(),
                    lane.guest.smp(),
                    secs(report.total)
                );
            }
            Err(why) => {
                let _ = writeln!(
                    out,
                    "test-matrix --kernel: {:?}'s kernel was not fetched, its tests are skipped: \
                     {why}",
                    lane.guest
                );
            }
        }
    }
    let _ = writeln!(out);
    let head = ["target", "test", "kernel", "result", "time"].map(String::from);
    let widths: Vec<usize> = (0..5)
        .map(|c| {
            std::iter::once(&head)
                .chain(&rows)
                .map(|r| r[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for r in std::iter::once(&head).chain(&rows) {
        let _ = writeln!(
            out,
            "{:w0$}  {:w1$}  {:w2$}  {:w3$}  {:>w4$}",
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3],
            w4 = widths[4]
        );
    }
    if pending > 0 {
        let _ = writeln!(
            out,
            "\n{pending} entries are pending: their targets are not written yet (see \
             GUEST_TESTS in xtask/src/kernel.rs)"
        );
    }
    // The closing line, in the form CI reads as a test count.
    let _ = writeln!(
        out,
        "\nkernel: {passed} passed, {failed} failed, {skipped} skipped"
    );
    let _ = out.flush();
    let stopped: Vec<String> = lanes
        .iter()
        .filter_map(|l| match &l.ran {
            Ok((_, report)) => report
                .stopped
                .as_ref()
                .map(|why| format!("{}: {why}", l.kernel())),
            Err(_) => None,
        })
        .collect();
    if !stopped.is_empty() {
        return Err(fail(format!(
            "the guest did not finish: {}",
            stopped.join("; ")
        )));
    }
    if failed > 0 {
        return Err(fail(format!(
            "{failed} guest test(s) failed, did not run or were missing"
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Small file helpers whose errors name the path

fn mkdir(path: &Path) -> Result<()> {
    fs::create_dir_all(path).map_err(|e| fail(format!("cannot create {}: {e}", path.display())))
}

fn remove_dir(path: &Path) -> Result<()> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(fail(format!("cannot remove {}: {e}", path.display()))),
    }
}

fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(|e| fail(format!("cannot read {}: {e}", path.display())))
}

/// A file that may be absent (then empty).
fn read_optional(path: &Path) -> Result<String> {
    match fs::read_to_string(path) {
        Ok(s) => Ok(s),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(fail(format!("cannot read {}: {e}", path.display()))),
    }
}

fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|e| fail(format!("cannot read {}: {e}", path.display())))
}

fn write(path: &Path, data: &[u8]) -> Result<()> {
    fs::write(path, data).map_err(|e| fail(format!("cannot write {}: {e}", path.display())))
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    fs::copy(from, to).map(|_| ()).map_err(|e| {
        fail(format!(
            "cannot copy {} to {}: {e}",
            from.display(),
            to.display()
        ))
    })
}

/// The single entry of a directory (lib/modules/<version> in a kernel package).
fn only_entry(dir: &Path) -> Result<String> {
    let names: Vec<String> = fs::read_dir(dir)
        .map_err(|e| fail(format!("cannot read {}: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    match names.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(fail(format!(
            "{} should hold one kernel version, holds {names:?}",
            dir.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpreter_is_found_in_dynamic_binaries() {
        let me = fs::read(std::env::current_exe().unwrap()).unwrap();
        // Test binaries are linked dynamically (no static target here).
        assert!(has_interpreter(&me));
        assert!(has_interpreter(b"\x7fELF"));
    }

    #[test]
    fn depends_field_parses_to_first_alternatives() {
        let f = "libc6 (>= 2.34), libfoo1 | libbar2, python3:any (>= 3.9)\n";
        assert_eq!(parse_depends(f), ["libc6", "libfoo1", "python3"]);
        assert_eq!(
            parse_depends("Depends: a\nPre-Depends: b (<< 2)\n"),
            ["a", "b"]
        );
        assert!(parse_depends("").is_empty());
    }

    #[test]
    fn sonames_map_to_debian_package_names() {
        assert!(ships("libcapstone4", "libcapstone.so.4"));
        assert!(ships("libnl-route-3-200", "libnl-route-3.so.200"));
        assert!(ships("libglib2.0-0", "libglib-2.0.so.0"));
        assert!(!ships("libfdt1", "libcapstone.so.4"));
        assert!(!ships("libfdt1", "libfdt"));
    }

    #[test]
    fn modules_load_after_their_dependencies() {
        let dep = "kernel/net/8021q/8021q.ko: kernel/net/802/mrp.ko kernel/net/802/garp.ko \
                   kernel/net/802/stp.ko kernel/net/llc/llc.ko\n\
                   kernel/net/802/garp.ko: kernel/net/802/stp.ko kernel/net/llc/llc.ko\n\
                   kernel/net/802/stp.ko: kernel/net/llc/llc.ko\n\
                   kernel/net/802/mrp.ko:\n\
                   kernel/net/llc/llc.ko:\n\
                   kernel/net/bridge/bridge.ko: kernel/net/802/stp.ko kernel/net/llc/llc.ko\n\
                   kernel/fs/9p/9p-x.ko:\n";
        let deps = parse_modules_dep(dep);
        let order = load_order(&deps, &["8021q", "bridge", "9p_x"]).unwrap();
        assert_eq!(
            order,
            ["mrp", "llc", "stp", "garp", "8021q", "bridge", "9p_x"]
        );
        let e = load_order(&deps, &["ipvlan"]).unwrap_err().to_string();
        assert!(e.contains("no module ipvlan"), "{e}");
    }

    #[test]
    fn newc_archive_layout() {
        let mut c = Cpio::default();
        c.file("init", 0o755, b"abc");
        let buf = c.finish();
        assert!(buf.starts_with(b"070701"));
        // Header (110 bytes) + "init\0" padded to 116, then 3 bytes of data padded to 4.
        assert_eq!(&buf[110..114], b"init");
        assert_eq!(&buf[116..119], b"abc");
        assert_eq!(&buf[120..126], b"070701");
        assert_eq!(buf.len() % 4, 0);
        assert!(buf.windows(10).any(|w| w == b"TRAILER!!!"));
    }

    #[test]
    fn outcomes_from_status_and_summary() {
        let out = |s: &str| vec![s.to_string()];
        let ok = out("test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured");
        assert_eq!(outcome(Some(0), &ok), Outcome::Ok);
        let ign = out("test result: ok. 0 passed; 0 failed; 1 ignored; 0 measured");
        assert_eq!(outcome(Some(0), &ign), Outcome::Ignored);
        assert!(matches!(outcome(Some(0), &[]), Outcome::Failed(_)));
        assert!(matches!(outcome(Some(101), &ok), Outcome::Failed(_)));
        let killed = outcome(Some(137), &[]);
        assert!(matches!(killed, Outcome::Failed(ref w) if w.contains("killed")));
    }

    fn plan() -> Plan {
        let job = |name: &str| Job {
            entry: 0,
            name: name.to_string(),
            exe: PathBuf::from("/w/target/t-1"),
            dir: PathBuf::from("/w/p"),
        };
        Plan {
            entries: vec![Planned {
                label: "p/t".to_string(),
                need: Need::Required,
                guest: Guest::Debian,
                filters: &[],
                tests: Ok(vec!["first".to_string(), "it's".to_string()]),
            }],
            jobs: vec![job("first"), job("it's")],
        }
    }

    #[test]
    fn console_markers_make_results() {
        let plan = plan();
        let mut r = Report::default();
        let t0 = Instant::now();
        let output = |k: usize| -> Vec<String> {
            match k {
                0 => vec!["test result: ok. 1 passed; 0 failed; 0 ignored".to_string()],
                _ => vec!["SKIP it's: needs something".to_string()],
            }
        };
        for l in [
            "[    1.0] some kernel line",
            "@@lxcrs-guest ready uptime=3.1 kernel=6.1 cgroup2=cpu,memory",
            "@@lxcrs-guest begin 0",
            "@@lxcrs-guest begin 1",
            // A kernel message glued in front of a marker still leaves the marker readable.
            "[   9.1] eth0: link up@@lxcrs-guest end 1 101",
            "@@lxcrs-guest end 0 0",
            "@@lxcrs-guest done",
        ] {
            r.line(l, t0, &plan, &output);
        }
        assert!(r.finished);
        assert!(r.ready.is_some());
        assert!(r.running.is_empty());
        assert_eq!(r.results[&0].outcome, Outcome::Ok);
        assert!(matches!(r.results[&1].outcome, Outcome::Failed(_)));
        assert_eq!(
            r.results[&1].note.as_deref(),
            Some("SKIP it's: needs something")
        );
        assert_eq!(r.console, ["[    1.0] some kernel line"]);
    }

    #[test]
    fn stage2_quotes_and_claims_every_test() {
        let s = stage2(&plan());
        assert!(
            s.contains("    run 0 '/w/p' '/w/target/t-1' 'first'\n"),
            "{s}"
        );
        assert!(
            s.contains("    run 1 '/w/p' '/w/target/t-1' 'it'\\''s'\n"),
            "{s}"
        );
        assert_eq!(s.lines().filter(|l| *l == "lane &").count(), LANES, "{s}");
        assert!(s.trim_end().ends_with("poweroff -f"));
    }

    #[test]
    fn plans_split_by_guest_and_renumber_their_jobs() {
        let mut p = plan();
        p.entries.push(Planned {
            label: "q/u".to_string(),
            need: Need::Required,
            guest: Guest::Ubuntu,
            filters: &[],
            tests: Ok(vec!["only".to_string()]),
        });
        p.jobs.insert(
            1,
            Job {
                entry: 1,
                name: "only".to_string(),
                exe: PathBuf::from("/w/target/u-1"),
                dir: PathBuf::from("/w/q"),
            },
        );
        let split = p.split();
        assert_eq!(split.len(), 2);
        let (debian, ubuntu) = (&split[0], &split[1]);
        assert_eq!(debian.0, Guest::Debian);
        assert_eq!(debian.1.jobs.len(), 2);
        assert_eq!(debian.1.jobs[1].name, "it's");
        assert_eq!(ubuntu.0, Guest::Ubuntu);
        assert_eq!(ubuntu.1.entries[0].label, "q/u");
        assert_eq!(ubuntu.1.jobs[0].entry, 0);
        assert_eq!(ubuntu.1.jobs[0].name, "only");
    }

    #[test]
    fn builtin_modules_are_not_loaded() {
        let builtin = "kernel/drivers/virtio/virtio_pci.ko\nkernel/drivers/block/loop.ko\n";
        let (boot, test) = wanted_modules(builtin);
        assert_eq!(boot, ["9pnet_virtio", "9p", "overlay"]);
        assert!(!test.contains(&"loop") && test.contains(&"veth"));
        assert_eq!(wanted_modules("").0, BOOT_MODULES);
    }

    #[test]
    fn a_cut_elf_is_not_whole() {
        let me = fs::read(std::env::current_exe().unwrap()).unwrap();
        assert!(elf_is_whole(&me));
        assert!(!elf_is_whole(&me[..me.len() - 1]));
        assert!(!elf_is_whole(b"\x7fELF"));
    }

    #[test]
    fn every_entry_names_a_distinct_target() {
        let labels: BTreeSet<String> = GUEST_TESTS.iter().map(GuestTest::label).collect();
        // Filters split one target over several entries only on purpose; none today.
        assert_eq!(labels.len(), GUEST_TESTS.len());
    }
}
