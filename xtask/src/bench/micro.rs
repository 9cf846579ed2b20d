//! Micro-benchmarks: loading one 2000-line config (lxc-rs's engine in-process against liblxc's
//! `load_config` through its C API), and the features that are not in lxc-rs yet.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use super::report::{Row, Table};
use super::setup::{mkdir, quiet, write};
use crate::run::{fail, Result};

pub const LINES: usize = 2000;
pub const BATCHES: u32 = 9;
pub const LOADS: u32 = 50;

pub const RS_LOAD: &str = "lxc-rs Config::load";
pub const LXC_LOAD: &str = "liblxc load_config";

/// liblxc through its public C API: one container object, then BATCHES x LOADS times
/// clear_config + load_config of the file, printing nanoseconds per load for each batch.
const LOAD_C: &str = r#"#include <lxc/lxccontainer.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: %s LXCPATH FILE BATCHES LOADS\n", argv[0]);
		return 2;
	}
	int batches = atoi(argv[3]), loads = atoi(argv[4]);
	struct lxc_container *c = lxc_container_new("lxcrs-bench-config", argv[1]);
	if (!c) {
		fprintf(stderr, "lxc_container_new failed\n");
		return 1;
	}
	for (int b = 0; b < batches; b++) {
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (int i = 0; i < loads; i++) {
			c->clear_config(c);
			if (!c->load_config(c, argv[2])) {
				fprintf(stderr, "load_config(%s) failed\n", argv[2]);
				return 1;
			}
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		double ns = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
		printf("%.0f\n", ns / loads);
	}
	lxc_container_put(c);
	return 0;
}
"#;

/// A config of exactly [`LINES`] lines in the shape of a large real one: blocks of mount
/// entries, device rules, environment, capabilities, limits, sysctls, hooks and comments.
pub fn config_text() -> String {
    let mut lines = vec![
        "# A 2000-line config written by `cargo xtask bench`.".to_string(),
        "lxc.uts.name = lxcrs-bench-config".into(),
        "lxc.rootfs.path = dir:/nonexistent/lxcrs-bench-config/rootfs".into(),
        "lxc.autodev = 1".into(),
        "lxc.mount.auto = proc:mixed sys:ro cgroup:mixed".into(),
    ];
    let mut i = 0;
    while lines.len() < LINES {
        lines.extend([
            format!("# block {i}"),
            format!("lxc.mount.entry = /srv/data{i} srv/data{i} none bind,create=dir,optional 0 0"),
            format!("lxc.cgroup.devices.allow = c 1:{} rwm", i % 256),
            format!("lxc.environment = VAR{i}=value{i}"),
            "lxc.cap.drop = sys_module mac_admin".into(),
            "lxc.prlimit.nofile = 1024:2048".into(),
            format!("lxc.sysctl.net.ipv4.conf.eth{i}.forwarding = 1"),
            "lxc.hook.pre-start = /bin/true".into(),
            format!("lxc.cgroup.memory.limit_in_bytes = {}M", i + 1),
            String::new(),
        ]);
        i += 1;
    }
    lines.truncate(LINES);
    let mut out = String::new();
    for l in lines {
        let _ = writeln!(out, "{l}");
    }
    out
}

pub fn config_load(dir: &Path, rs_timer: &Path) -> Result<Table> {
    mkdir(dir)?;
    let config = dir.join("config-2000.conf");
    write(&config, &config_text())?;
    let source = dir.join("load.c");
    write(&source, LOAD_C)?;
    let exe = dir.join("load");
    let flags = quiet(Command::new("pkg-config").args(["--cflags", "--libs", "lxc"]))?;
    quiet(
        Command::new("cc")
            .args(["-O2", "-o"])
            .arg(&exe)
            .arg(&source)
            .args(flags.split_whitespace()),
    )?;

    let (b, l) = (BATCHES.to_string(), LOADS.to_string());
    let lxc = per_load_us(quiet(
        Command::new(&exe).arg(dir).arg(&config).args([&b, &l]),
    )?)?;
    let rs = per_load_us(quiet(Command::new(rs_timer).arg(&config).args([&b, &l]))?)?;
    let what = format!("{BATCHES} batches of {LOADS} loads of {}", config.display());
    let mut table = Table::default();
    table.rows.push(
        Row::new(
            RS_LOAD,
            format!("lxcrs-bench-config-load (release): {what}"),
            "µs",
            rs,
        )
        .ok_or_else(|| fail("the config-load timer printed nothing"))?
        .vs(RS_LOAD)
        .note(Some(
            "in-process, release build, the same extensions as lxc-rs",
        )),
    );
    table.rows.push(
        Row::new(
            LXC_LOAD,
            format!("load.c (cc -O2, liblxc.so.1): {what}"),
            "µs",
            lxc,
        )
        .ok_or_else(|| fail("the liblxc timer printed nothing"))?
        .vs(RS_LOAD)
        .note(Some("clear_config + load_config on one lxc_container")),
    );
    table.notes.push(format!(
        "each sample is the mean time per load over one batch of {LOADS} loads"
    ));
    table.set_ratios();
    Ok(table)
}

fn per_load_us(out: String) -> Result<Vec<f64>> {
    out.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.trim()
                .parse::<f64>()
                .map(|ns| ns / 1000.0)
                .map_err(|e| fail(format!("expected nanoseconds per load, got {l:?}: {e}")))
        })
        .collect()
}

/// The API extensions linked into the lxc-rs binary.
pub fn extensions(lxc_rs: &Path) -> Result<Vec<String>> {
    let out = quiet(Command::new(lxc_rs).args(["extensions", "--json"]))?;
    serde_json::from_str(&out).map_err(|e| {
        fail(format!(
            "`lxc-rs extensions --json` printed no list of names: {e}"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_has_exactly_the_lines() {
        let t = config_text();
        assert_eq!(t.lines().count(), LINES);
        assert!(t.lines().any(|l| l.starts_with("lxc.mount.entry")));
    }
}
