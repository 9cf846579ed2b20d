//! `lxc-rs top`, like `lxc-top`: CPU, block I/O and memory use of the running containers of
//! an lxcpath, read from their cgroups through lxc-cgroup's driver: the v1 files lxc-top reads
//! (`memory.usage_in_bytes`, `cpuacct.usage`, `blkio.throttle.*`) where the container has v1
//! controllers, their cgroup2 counterparts (`memory.current`, `cpu.stat`, `io.stat`) where it
//! has only cgroup2.
//!
//! `-b` prints lxc-top's CSV: one header, then a row per container every `-d` seconds (300 by
//! default). Unlike lxc-top, batch mode needs no terminal and prints every container (lxc-top
//! stops at the terminal's height less 3, 22 rows without one).

use std::io::{IsTerminal, Write};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Args;
use lxc::cgroup::{ContainerCgroup, HierarchyPaths, Layout, Version};

use crate::error::CliError;
use crate::Global;

/// lxc-top's clock ticks per second for `cpuacct.stat`.
const USER_HZ: u64 = 100;
const TERMCLEAR: &str = "\x1b[H\x1b[J";
const TERMNORM: &str = "\x1b[0m";
const TERMBOLD: &str = "\x1b[1m";
const TERMRVRS: &str = "\x1b[7m";
const BATCH_HEADER: &str = "time_ms,container,cpu_nanos,cpu_sys_userhz,cpu_user_userhz,\
                            blkio_bytes,blkio_iops,mem_used_bytes,memsw_used_bytes,\
                            kernel_mem_used_bytes";

#[derive(Debug, Args)]
pub struct TopArgs {
    /// Seconds between refreshes (default 3; 300 with -b)
    #[arg(short = 'd', long = "delay", value_name = "DELAY")]
    pub delay: Option<u32>,

    /// Output for capture to a file: CSV rows, no terminal needed
    #[arg(short = 'b', long = "batch")]
    pub batch: bool,

    /// Sort by n (name), c (CPU use), b (block I/O), m (memory), s (memory + swap), k (kernel
    /// memory)
    #[arg(short = 's', long = "sort", value_name = "KEY", default_value = "n")]
    pub sort: String,

    /// Sort in reverse order
    #[arg(short = 'r', long = "reverse")]
    pub reverse: bool,
}

/// One container's counters (lxc-top's `struct stats`).
#[derive(Debug, Clone, Copy, Default)]
struct Stats {
    mem_used: u64,
    memsw_used: u64,
    kmem_used: u64,
    cpu_nanos: u64,
    /// In USER_HZ ticks.
    cpu_user: u64,
    cpu_sys: u64,
    io_read: u64,
    io_write: u64,
    io_bytes: u64,
    io_ops: u64,
}

impl Stats {
    fn add(&mut self, o: &Stats) {
        self.mem_used += o.mem_used;
        self.memsw_used += o.memsw_used;
        self.kmem_used += o.kmem_used;
        self.cpu_nanos += o.cpu_nanos;
        self.cpu_user += o.cpu_user;
        self.cpu_sys += o.cpu_sys;
        self.io_read += o.io_read;
        self.io_write += o.io_write;
        self.io_bytes += o.io_bytes;
    }

    fn key(&self, sort: char) -> u64 {
        match sort {
            'c' => self.cpu_nanos,
            'b' => self.io_bytes,
            'm' => self.mem_used,
            's' => self.memsw_used,
            'k' => self.kmem_used,
            _ => 0,
        }
    }
}

pub fn top(a: &TopArgs, g: &Global) -> Result<ExitCode, CliError> {
    let mut sort = a.sort.chars().next().unwrap_or('n');
    let mut reverse = a.reverse;
    let delay = a.delay.unwrap_or(if a.batch { 300 } else { 3 });
    let lxcpath = super::lxcpath(g);
    let layout = lxc::cgroup::detect().map_err(|e| CliError::failed(e.to_string()))?;
    let mut out = std::io::stdout().lock();
    let terminal = if a.batch {
        None
    } else {
        Some(Terminal::raw().map_err(|e| CliError::failed(format!("stdin: {e}")))?)
    };
    if a.batch {
        writeln!(out, "{BATCH_HEADER}").map_err(CliError::Output)?;
    }
    loop {
        let names = lxc::list_active_containers(&lxcpath)?;
        let mut rows: Vec<(String, Stats)> = names
            .into_iter()
            .map(|n| {
                let s = stats_of(&lxcpath, &n, &layout);
                (n, s)
            })
            .collect();
        sort_rows(&mut rows, sort, reverse);
        let mut total = Stats::default();
        for (_, s) in &rows {
            total.add(s);
        }
        let text = match &terminal {
            None => batch_rows(&rows),
            Some(t) => screen(&rows, &total, t.rows().saturating_sub(3)),
        };
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(CliError::Output)?;
        match &terminal {
            None => std::thread::sleep(Duration::from_secs(delay.into())),
            Some(t) => match t.key(delay) {
                Key::Quit => return Ok(ExitCode::SUCCESS),
                Key::Char('r') => reverse = !reverse,
                Key::Char(k @ ('n' | 'c' | 'b' | 'm' | 's' | 'k')) => {
                    reverse = sort == k && !reverse;
                    sort = k;
                }
                Key::Char(_) | Key::None => {}
            },
        }
    }
}

/// lxc-top's order: names ascending, numbers largest first; `reverse` turns either round.
fn sort_rows(rows: &mut [(String, Stats)], sort: char, reverse: bool) {
    rows.sort_by(|(n1, s1), (n2, s2)| {
        let o = match sort {
            'c' | 'b' | 'm' | 's' | 'k' => s2.key(sort).cmp(&s1.key(sort)),
            _ => n1.cmp(n2),
        };
        if reverse {
            o.reverse()
        } else {
            o
        }
    });
}

fn batch_rows(rows: &[(String, Stats)]) -> String {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    rows.iter()
        .map(|(name, s)| {
            format!(
                "{ms},{name},{},{},{},{},{},{},{},{}\n",
                s.cpu_nanos,
                s.cpu_sys,
                s.cpu_user,
                s.io_bytes,
                s.io_ops,
                s.mem_used,
                s.memsw_used,
                s.kmem_used
            )
        })
        .collect()
}

/// The interactive screen: header, at most `max` containers, and the total line.
fn screen(rows: &[(String, Stats)], total: &Stats, max: usize) -> String {
    let mut s = format!("{TERMCLEAR}{TERMRVRS}{TERMBOLD}");
    s += &format!(
        "{:<18} {:>12} {:>12} {:>12} {:>36} {:>10}",
        "Container", "CPU", "CPU", "CPU", "BlkIO", "Mem"
    );
    let extra = |s: &mut String, a: &str, b: &str| {
        if total.memsw_used > 0 {
            *s += &format!(" {a:>10}");
        }
        if total.kmem_used > 0 {
            *s += &format!(" {b:>10}");
        }
    };
    extra(&mut s, "MemSw", "KMem");
    s += "\n";
    s += &format!(
        "{:<18} {:>12} {:>12} {:>12} {:>36} {:>10}",
        "Name", "Used", "Sys", "User", "Total(Read/Write)", "Used"
    );
    extra(&mut s, "Used", "Used");
    s += "\n";
    s += TERMNORM;
    let shown = rows.len().min(max);
    for (name, st) in &rows[..shown] {
        s += &screen_row(name, st, total);
        s += "\n";
    }
    s += &screen_row(&format!("TOTAL {shown} of {}", rows.len()), total, total);
    s
}

fn screen_row(name: &str, s: &Stats, total: &Stats) -> String {
    let io = format!(
        "{}({}/{})",
        humanize(s.io_bytes),
        humanize(s.io_read),
        humanize(s.io_write)
    );
    let short: String = name.chars().take(18).collect();
    let mut line = format!(
        "{short:<18} {:>12.2} {:>12.2} {:>12.2} {io:>36} {:>10}",
        s.cpu_nanos as f32 / 1_000_000_000.0,
        s.cpu_sys as f32 / USER_HZ as f32,
        s.cpu_user as f32 / USER_HZ as f32,
        humanize(s.mem_used)
    );
    if total.memsw_used > 0 {
        line += &format!(" {:>10}", humanize(s.memsw_used));
    }
    if total.kmem_used > 0 {
        line += &format!(" {:>10}", humanize(s.kmem_used));
    }
    line
}

/// lxc-top's `size_humanize`, digit for digit (its 32-bit rounding included).
fn humanize(val: u64) -> String {
    if val > 1 << 30 {
        format!(
            "{}.{:02} GiB",
            (val >> 30) as u32,
            ((val & ((1 << 30) - 1)) as u32) / 10_737_419
        )
    } else if val > 1 << 20 {
        let x = (val as u32).wrapping_add(5243);
        format!("{}.{:02} MiB", x >> 20, ((x & ((1 << 20) - 1)) * 100) >> 20)
    } else if val > 1 << 10 {
        let x = (val as u32).wrapping_add(5);
        format!("{}.{:02} KiB", x >> 10, ((x & ((1 << 10) - 1)) * 100) >> 10)
    } else {
        format!("{:>3}.00   ", val as u32)
    }
}

/// The container's cgroup directories: from lxc-rs's monitor, or, for a container LXC runs,
/// its init's `/proc/PID/cgroup` placed on this host's layout.
fn cgroup_dirs(c: &lxc::Container, layout: &Layout) -> Vec<PathBuf> {
    if let Ok(p) = c.cgroup_paths() {
        return p.into_iter().map(PathBuf::from).collect();
    }
    let Some(pid) = c.lxc_monitor().and_then(|m| m.init_pid().ok()) else {
        return Vec::new();
    };
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut f = l.splitn(3, ':');
            let (_, ctrls, path) = (f.next()?, f.next()?, f.next()?);
            let h = if ctrls.is_empty() {
                layout.unified()?
            } else {
                layout.v1_controller(ctrls.split(',').next()?)?
            };
            Some(h.dir_of(path))
        })
        .collect()
}

/// The driver's handle on those directories, each placed in the hierarchy mounted above it.
fn driver(dirs: &[PathBuf], layout: &Layout) -> Option<ContainerCgroup> {
    let paths = dirs
        .iter()
        .filter_map(|d| {
            let h = layout
                .hierarchies
                .iter()
                .filter(|h| d.starts_with(&h.mount) && *d != h.mount)
                .max_by_key(|h| h.mount.as_os_str().len())?;
            Some(HierarchyPaths {
                version: h.version,
                controllers: h.controllers.clone(),
                mount: h.mount.clone(),
                limit: d.clone(),
                inner: d.clone(),
                created_above: Vec::new(),
            })
        })
        .collect();
    ContainerCgroup::from_paths(paths).ok()
}

fn stats_of(lxcpath: &std::path::Path, name: &str, layout: &Layout) -> Stats {
    let Ok(c) = lxc::Container::new_unloaded(name, Some(lxcpath)) else {
        return Stats::default();
    };
    let Some(cg) = driver(&cgroup_dirs(&c, layout), layout) else {
        eprintln!("Unable to find the cgroups of {name}");
        return Stats::default();
    };
    let v1 = cg
        .paths()
        .iter()
        .any(|h| h.version == Version::V1 && h.controllers.iter().any(|c| c == "memory"));
    if v1 {
        v1_stats(&cg)
    } else {
        v2_stats(&cg)
    }
}

/// A cgroup file, or, as lxc-top, a message and nothing.
fn item(cg: &ContainerCgroup, key: &str) -> String {
    match cg.get_item(key) {
        Ok(v) => v,
        Err(_) => {
            eprintln!("Unable to read cgroup item {key}");
            String::new()
        }
    }
}

/// A number as strtoull reads it: what does not parse ("max") is 0.
fn number(s: &str) -> u64 {
    s.trim().parse().unwrap_or(0)
}

/// The value after `field` on the line that starts with it (`user 12` in cpuacct.stat).
fn field(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some(name)).then(|| w.next().map(number).unwrap_or(0))
        })
        .unwrap_or(0)
}

fn v1_stats(cg: &ContainerCgroup) -> Stats {
    let int = |k: &str| number(&item(cg, k));
    let cpuacct = item(cg, "cpuacct.stat");
    let (io_read, io_write, io_bytes) = blkio(&item(cg, "blkio.throttle.io_service_bytes"));
    let (_, _, io_ops) = blkio(&item(cg, "blkio.throttle.io_serviced"));
    Stats {
        mem_used: int("memory.usage_in_bytes"),
        memsw_used: int("memory.memsw.usage_in_bytes"),
        kmem_used: int("memory.kmem.usage_in_bytes"),
        cpu_nanos: int("cpuacct.usage"),
        cpu_user: field(&cpuacct, "user"),
        cpu_sys: field(&cpuacct, "system"),
        io_read,
        io_write,
        io_bytes,
        io_ops,
    }
}

/// `blkio.throttle.*`: the Read and Write lines summed over devices, and the Total line.
fn blkio(text: &str) -> (u64, u64, u64) {
    let (mut read, mut write, mut total) = (0, 0, 0);
    for l in text.lines() {
        let cols: Vec<&str> = l.split_whitespace().collect();
        match cols.as_slice() {
            [_, "Read", v] => read += number(v),
            [_, "Write", v] => write += number(v),
            ["Total", v] => total = number(v),
            _ => {}
        }
    }
    (read, write, total)
}

/// cgroup2's counterparts: memory.current (+ memory.swap.current for memory + swap), the
/// `kernel` line of memory.stat, cpu.stat's microseconds, io.stat summed over devices.
fn v2_stats(cg: &ContainerCgroup) -> Stats {
    let int = |k: &str| number(&item(cg, k));
    let cpu = item(cg, "cpu.stat");
    let mem = int("memory.current");
    let (mut rbytes, mut wbytes, mut ios) = (0, 0, 0);
    for l in item(cg, "io.stat").lines() {
        for kv in l.split_whitespace().skip(1) {
            match kv.split_once('=') {
                Some(("rbytes", v)) => rbytes += number(v),
                Some(("wbytes", v)) => wbytes += number(v),
                Some(("rios" | "wios", v)) => ios += number(v),
                _ => {}
            }
        }
    }
    Stats {
        mem_used: mem,
        memsw_used: mem + int("memory.swap.current"),
        kmem_used: field(&item(cg, "memory.stat"), "kernel"),
        cpu_nanos: field(&cpu, "usage_usec") * 1000,
        cpu_user: field(&cpu, "user_usec") * USER_HZ / 1_000_000,
        cpu_sys: field(&cpu, "system_usec") * USER_HZ / 1_000_000,
        io_read: rbytes,
        io_write: wbytes,
        io_bytes: rbytes + wbytes,
        io_ops: ios,
    }
}

enum Key {
    None,
    Quit,
    Char(char),
}

/// stdin in lxc-top's mode (no echo, a key at a time), restored on drop.
struct Terminal {
    saved: nix::sys::termios::Termios,
}

impl Terminal {
    fn raw() -> std::io::Result<Terminal> {
        use nix::sys::termios::{
            tcgetattr, tcsetattr, LocalFlags, SetArg, SpecialCharacterIndices,
        };
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return Err(std::io::Error::other(
                "not a terminal (use -b for batch output)",
            ));
        }
        let saved = tcgetattr(stdin.as_fd())?;
        let mut t = saved.clone();
        // Without ISIG, ^C arrives as a key and quits with the terminal restored.
        t.local_flags &= !(LocalFlags::ECHO | LocalFlags::ICANON | LocalFlags::ISIG);
        t.control_chars[SpecialCharacterIndices::VMIN as usize] = 1;
        t.control_chars[SpecialCharacterIndices::VTIME as usize] = 0;
        tcsetattr(stdin.as_fd(), SetArg::TCSAFLUSH, &t)?;
        Ok(Terminal { saved })
    }

    fn rows(&self) -> usize {
        lxc::console::sys::winsize(std::io::stdin().as_fd())
            .map(|(rows, _)| usize::from(rows))
            .filter(|&r| r > 0)
            .unwrap_or(25)
    }

    /// A key within `secs` seconds.
    fn key(&self, secs: u32) -> Key {
        let stdin = std::io::stdin();
        let fd = stdin.as_fd();
        let mut pfd = [nix::poll::PollFd::new(fd, nix::poll::PollFlags::POLLIN)];
        let ms = i32::try_from(secs.saturating_mul(1000)).unwrap_or(i32::MAX);
        let timeout = nix::poll::PollTimeout::try_from(ms).unwrap_or(nix::poll::PollTimeout::MAX);
        match nix::poll::poll(&mut pfd, timeout) {
            Ok(0) | Err(nix::errno::Errno::EINTR) => return Key::None,
            Err(_) => return Key::Quit,
            Ok(_) => {}
        }
        let mut b = [0u8; 1];
        match nix::unistd::read(fd, &mut b) {
            Ok(1) => match b[0] {
                b'q' | 0x03 | 0x1c => Key::Quit,
                c => Key::Char(c as char),
            },
            _ => Key::Quit,
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = nix::sys::termios::tcsetattr(
            std::io::stdin().as_fd(),
            nix::sys::termios::SetArg::TCSAFLUSH,
            &self.saved,
        );
        eprintln!();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_lxc_top_prints_them() {
        assert_eq!(humanize(512), "512.00   ");
        assert_eq!(humanize(2048), "2.00 KiB");
        assert_eq!(humanize(3 * 1024 * 1024 + 512 * 1024), "3.50 MiB");
        assert_eq!(humanize(5 << 30), "5.00 GiB");
    }

    #[test]
    fn blkio_totals() {
        let t = "8:0 Read 100\n8:0 Write 50\n8:0 Total 150\n8:16 Read 1\nTotal 151\n";
        assert_eq!(blkio(t), (101, 50, 151));
    }

    #[test]
    fn numbers_sort_largest_first() {
        let mut rows = vec![
            (
                "a".to_string(),
                Stats {
                    mem_used: 1,
                    ..Stats::default()
                },
            ),
            (
                "b".to_string(),
                Stats {
                    mem_used: 3,
                    ..Stats::default()
                },
            ),
        ];
        sort_rows(&mut rows, 'm', false);
        assert_eq!(rows[0].0, "b");
        sort_rows(&mut rows, 'n', false);
        assert_eq!(rows[0].0, "a");
        sort_rows(&mut rows, 'n', true);
        assert_eq!(rows[0].0, "b");
    }
}
