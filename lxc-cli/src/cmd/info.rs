//! `lxc-rs state` and `lxc-rs info`, like `lxc-info -s` and `lxc-info`.

use std::collections::BTreeMap;
use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use crate::error::CliError;
use crate::Global;

#[derive(Debug, Args)]
pub struct StateArgs {}

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Show the state
    #[arg(short = 's', long)]
    pub state: bool,

    /// Show the init's pid
    #[arg(short = 'p', long)]
    pub pid: bool,

    /// Show the IP addresses (every interface's but lo's, no IPv6 link-local ones), one `IP:`
    /// line each
    #[arg(short = 'i', long)]
    pub ips: bool,

    /// Show the usage stats: CPU, BlkIO, memory and kernel memory, and each network link's
    /// bytes, as lxc-info -S prints them
    #[arg(short = 'S', long)]
    pub stats: bool,

    /// Show this config item (repeatable); one that cannot be read is `KEY invalid` on stderr
    #[arg(short = 'c', long = "config", value_name = "KEY")]
    pub config: Vec<String>,

    /// Print stats as raw numbers, and bare values when one thing is asked for (no `State:`
    /// label)
    #[arg(short = 'H', long = "no-humanize")]
    pub no_humanize: bool,

    /// Also show what lxc-info does not: who runs it (`Runtime:` for LXC), its cgroup
    /// directories and its config file
    #[arg(short = 'v', long)]
    pub verbose: bool,

    /// Print {"name", "state", "runtime", "pid", "ips", "cgroups", "config_file"} (and
    /// "config": {KEY: VALUE} with -c); runtime is "lxc-rs", "lxc" (LXC's own lxc-start runs
    /// it) or null, pid is null and ips and cgroups empty when it is not running
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub rc: super::running::Rcfile,
}

/// `info --json`: a stable shape for scripts.
#[derive(Debug, Serialize)]
struct Info {
    name: String,
    state: String,
    runtime: Option<&'static str>,
    pid: Option<i32>,
    ips: Vec<String>,
    cgroups: Vec<String>,
    config_file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    config: Option<BTreeMap<String, String>>,
}

/// The container, which must exist: defined, or running (an `execute -f` of an undefined one).
fn existing(g: &Global) -> Result<lxc::Container, CliError> {
    let c = super::handle(g)?;
    match c.defined() {
        Ok(true) => Ok(c),
        // A running container answers on its socket, which decides who may ask.
        _ if c.is_running() || c.lxc_monitor().is_some() => Ok(c),
        // "permission denied" for a directory we may not enter, not "not defined".
        Err(e) => Err(e.into()),
        Ok(false) => Err(lxc::Error::NotDefined {
            name: c.name().to_string(),
            lxcpath: c.config_path().to_path_buf(),
        }
        .into()),
    }
}

pub fn state(_a: &StateArgs, g: &Global) -> Result<ExitCode, CliError> {
    let c = existing(g)?;
    let (state, runtime) = c.status()?;
    super::print(&format!("{}\n", state_text(state, runtime.as_ref())))?;
    Ok(ExitCode::SUCCESS)
}

/// `RUNNING`, or `RUNNING (LXC)` for a container LXC's own tools run.
pub fn state_text(state: lxc::State, runtime: Option<&lxc::Runtime>) -> String {
    match runtime {
        Some(lxc::Runtime::Lxc(_)) => format!("{state} (LXC)"),
        _ => state.to_string(),
    }
}

/// A question to the monitor that may find it gone: then the answer is "none".
fn if_running<T>(r: Result<T, lxc::Error>) -> Result<Option<T>, CliError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(lxc::Error::NotRunning { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub fn info(a: &InfoArgs, g: &Global) -> Result<ExitCode, CliError> {
    let mut c = match existing(g) {
        // lxc-info's own words for it, bare on stderr.
        Err(CliError::Lxc(lxc::Error::NotDefined { name, .. }))
            if crate::lxc_names::invoked().is_some() =>
        {
            eprintln!("{name} doesn't exist");
            return Ok(ExitCode::FAILURE);
        }
        r => r?,
    };
    a.rc.load(&mut c)?;
    let (state, runtime) = c.status()?;
    let (pid, cgroups) = if state == lxc::State::Stopped {
        (None, Vec::new())
    } else {
        // lxc-rs's monitor or LXC's: both are asked (LXC's in its own protocol).
        (
            if_running(c.init_pid())?,
            if_running(c.cgroup_paths())?.unwrap_or_default(),
        )
    };
    let all = !a.state && !a.pid && !a.ips && !a.stats && a.config.is_empty();
    let ips = if state == lxc::State::Stopped || !(all || a.ips || a.json) {
        Vec::new()
    } else {
        ips_of(&c, a.ips)?
    };
    let config = if a.config.is_empty() {
        None
    } else {
        if a.rc.rcfile.is_none() && c.defined()? {
            c.load_config(None)?;
        }
        // None for a key that cannot be read: lxc-info's `KEY invalid`, not a failure.
        let items: Vec<(String, Option<String>)> = a
            .config
            .iter()
            .map(|key| (key.clone(), c.get_config_item(key).ok()))
            .collect();
        Some(items)
    };
    let config_file = c.config_file_name().display().to_string();
    // lxc-info says so on stderr and goes on; its exit status stays 0.
    for (key, _) in config.iter().flatten().filter(|(_, v)| v.is_none()) {
        eprintln!("{key} invalid");
    }

    if a.json {
        super::print_json(&Info {
            name: c.name().to_string(),
            state: state.to_string(),
            runtime: runtime.as_ref().map(lxc::Runtime::as_str),
            pid,
            ips,
            cgroups,
            config_file,
            // JSON is UTF-8: bytes that are not become U+FFFD here (the text output keeps them).
            config: config.map(|items| {
                items
                    .into_iter()
                    .filter_map(|(k, v)| {
                        let v =
                            String::from_utf8_lossy(&lxc::config_bytes::encode(&v?)).into_owned();
                        Some((k, v))
                    })
                    .collect()
            }),
        })?;
        return Ok(ExitCode::SUCCESS);
    }

    // lxc-info's rule: -H prints a bare value when exactly one thing is asked for (-S counts
    // as five, its lines keep their labels).
    let asked =
        usize::from(a.state) + usize::from(a.pid) + usize::from(a.ips) + 5 * usize::from(a.stats);
    let bare = a.no_humanize && asked == 1;
    let mut out = String::new();
    let mut line = |label: &str, value: &str| {
        if bare {
            out.push_str(&format!("{value}\n"));
        } else {
            out.push_str(&format!("{label:<15} {value}\n"));
        }
    };
    if all {
        line("Name:", c.name());
    }
    if all || a.state {
        line("State:", state.as_str());
    }
    if let (true, Some(lxc::Runtime::Lxc(m))) = (a.verbose, &runtime) {
        match m.pid {
            Some(p) => line("Runtime:", &format!("LXC (monitor pid {p})")),
            None => line("Runtime:", "LXC"),
        }
    }
    if all || a.pid {
        if let Some(p) = pid {
            line("PID:", &p.to_string());
        }
    }
    for ip in &ips {
        line("IP:", ip);
    }
    if (all || a.stats) && state != lxc::State::Stopped {
        stats(&c, !a.no_humanize, &mut out);
    }
    if a.verbose {
        for p in &cgroups {
            out.push_str(&format!("{:<15} {p}\n", "Cgroup:"));
        }
        out.push_str(&format!("{:<15} {config_file}\n", "Config:"));
    }
    let single = a.no_humanize && a.config.len() == 1;
    for (key, value) in config.iter().flatten() {
        match value {
            Some(v) if single => out.push_str(&format!("{v}\n")),
            Some(v) if v.is_empty() => out.push_str(&format!("{key} =\n")),
            Some(v) => out.push_str(&format!("{key} = {v}\n")),
            None => {}
        }
    }
    // Config values are printed as their bytes, which need not be UTF-8.
    super::print_bytes(&lxc::config_bytes::encode(&out))?;
    Ok(ExitCode::SUCCESS)
}

/// lxc-info's `size_humanize`: bytes, KiB, MiB or GiB with two decimals, rounded as it does.
pub fn size_humanize(val: u64) -> String {
    if val > 1 << 30 {
        format!(
            "{}.{:02} GiB",
            val >> 30,
            (val & ((1 << 30) - 1)) / 10_737_419
        )
    } else if val > 1 << 20 {
        let x = val + 5243;
        format!("{}.{:02} MiB", x >> 20, ((x & ((1 << 20) - 1)) * 100) >> 20)
    } else if val > 1 << 10 {
        let x = val + 5;
        format!("{}.{:02} KiB", x >> 10, ((x & ((1 << 10) - 1)) * 100) >> 10)
    } else {
        format!("{val} bytes")
    }
}

/// A cgroup or sysfs number as lxc-info shows it: humanized, or the text itself with -H. Text
/// that is not a number humanizes to nothing, as there.
fn size_text(text: &str, humanize: bool) -> String {
    let text = text.trim_end();
    if !humanize {
        return text.to_string();
    }
    text.parse::<u64>().map(size_humanize).unwrap_or_default()
}

/// lxc-info's `print_stats` and `print_net_stats`: each line only when its file can be read.
fn stats(c: &lxc::Container, humanize: bool, out: &mut String) {
    let mut line = |label: &str, value: &str| out.push_str(&format!("{label:<15} {value}\n"));
    if let Ok(v) = c.get_cgroup_item("cpuacct.usage") {
        let v = v.trim_end();
        if humanize {
            // strtof, as lxc-info reads it.
            let ns = v.parse::<f32>().unwrap_or(0.0);
            line(
                "CPU use:",
                &format!("{:.2} seconds", f64::from(ns) / 1_000_000_000.0),
            );
        } else {
            line("CPU use:", v);
        }
    }
    if let Ok(v) = c.get_cgroup_item("blkio.throttle.io_service_bytes") {
        if let Some(total) = v
            .trim_end()
            .lines()
            .last()
            .and_then(|l| l.strip_prefix("Total "))
        {
            line("BlkIO use:", &size_text(total, humanize));
        }
    }
    for (label, file) in [
        ("Memory use:", "memory.usage_in_bytes"),
        ("KMem use:", "memory.kmem.usage_in_bytes"),
    ] {
        if let Ok(v) = c.get_cgroup_item(file) {
            line(label, &size_text(&v, humanize));
        }
    }
    for n in 0.. {
        let Ok(kind) = c.get_running_config_item(&format!("lxc.net.{n}.type")) else {
            break;
        };
        let key = if kind == "veth" {
            format!("lxc.net.{n}.veth.pair")
        } else {
            format!("lxc.net.{n}.link")
        };
        let ifname = match c.get_running_config_item(&key) {
            Ok(i) if !i.is_empty() => i,
            _ => return,
        };
        line("Link:", &ifname);
        let read = |what: &str| {
            std::fs::read_to_string(format!("/sys/class/net/{ifname}/statistics/{what}")).ok()
        };
        // The host's rx is the container's tx: printed from the container's side.
        let mut total = 0u64;
        for (file, label) in [("rx_bytes", " TX bytes:"), ("tx_bytes", " RX bytes:")] {
            if let Some(v) = read(file) {
                total += v.trim().parse::<u64>().unwrap_or(0);
                line(label, &size_text(&v, humanize));
            }
        }
        line(" Total bytes:", &size_text(&total.to_string(), humanize));
    }
}

/// The addresses `lxc-info` shows (liblxc's `get_ips(c, NULL, NULL, 0)`). A container that
/// stopped meanwhile has none; when they cannot be read, `-i` fails, and the full `info` and
/// `--json` say why on stderr and go on without them.
fn ips_of(c: &lxc::Container, asked: bool) -> Result<Vec<String>, CliError> {
    match lxc::net::running::get_ips(c, None, None, 0) {
        Ok(ips) => Ok(ips),
        Err(lxc::net::Error::Container(lxc::Error::NotRunning { .. })) => Ok(Vec::new()),
        Err(e) if asked => Err(super::device::net_error(e)),
        Err(e) => {
            let why = super::device::net_error(e).user_message();
            let who = crate::lxc_names::speaker("info", Some(c.name()));
            eprintln!("{who}: warning: IP addresses: {why}");
            Ok(Vec::new())
        }
    }
}
