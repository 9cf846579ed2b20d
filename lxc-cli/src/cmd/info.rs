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

    /// Show this config item (repeatable)
    #[arg(short = 'c', long = "config", value_name = "KEY")]
    pub config: Vec<String>,

    /// Print bare values when one thing is asked for (no `State:` label)
    #[arg(short = 'H', long = "no-humanize")]
    pub no_humanize: bool,

    /// Print {"name", "state", "runtime", "pid", "ips", "cgroups", "config_file"} (and
    /// "config": {KEY: VALUE} with -c); runtime is "lxc-rs", "lxc" (LXC's own lxc-start runs
    /// it) or null, pid is null and ips and cgroups empty when it is not running
    #[arg(long)]
    pub json: bool,
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
    let mut c = existing(g)?;
    let (state, runtime) = c.status()?;
    let (pid, cgroups) = if state == lxc::State::Stopped {
        (None, Vec::new())
    } else if let Some(lxc::Runtime::Lxc(m)) = &runtime {
        // LXC's monitor answers the pid; its cgroups are LXC's business.
        (m.init_pid().ok(), Vec::new())
    } else {
        (
            if_running(c.init_pid())?,
            if_running(c.cgroup_paths())?.unwrap_or_default(),
        )
    };
    let all = !a.state && !a.pid && !a.ips && a.config.is_empty();
    let ips = if state == lxc::State::Stopped || !(all || a.ips || a.json) {
        Vec::new()
    } else {
        ips_of(&c, a.ips)?
    };
    let config = if a.config.is_empty() {
        None
    } else {
        if c.defined()? {
            c.load_config(None)?;
        }
        let mut items = Vec::new();
        for key in &a.config {
            items.push((key.clone(), c.get_config_item(key)?));
        }
        Some(items)
    };
    let config_file = c.config_file_name().display().to_string();

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
                    .map(|(k, v)| {
                        let v =
                            String::from_utf8_lossy(&lxc::config_bytes::encode(&v)).into_owned();
                        (k, v)
                    })
                    .collect()
            }),
        })?;
        return Ok(ExitCode::SUCCESS);
    }

    let asked = usize::from(a.state) + usize::from(a.pid) + usize::from(a.ips) + a.config.len();
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
        // A bare value stays the bare state, for scripts.
        if bare {
            line("State:", state.as_str());
        } else {
            line("State:", &state_text(state, runtime.as_ref()));
        }
    }
    if let (true, Some(lxc::Runtime::Lxc(m))) = (all, &runtime) {
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
    if all {
        for p in &cgroups {
            line("Cgroup:", p);
        }
        line("Config:", &config_file);
    }
    for (key, value) in config.iter().flatten() {
        if bare {
            out.push_str(&format!("{value}\n"));
        } else {
            out.push_str(&format!("{key} = {value}\n"));
        }
    }
    // Config values are printed as their bytes, which need not be UTF-8.
    super::print_bytes(&lxc::config_bytes::encode(&out))?;
    Ok(ExitCode::SUCCESS)
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
            eprintln!("lxc-rs: info {}: warning: IP addresses: {why}", c.name());
            Ok(Vec::new())
        }
    }
}
