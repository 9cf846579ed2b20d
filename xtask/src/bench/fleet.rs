//! Concurrency with a minimal init: 50 and then 200 idle containers ([`super::idle`]) started
//! at once and stopped at once, lxc-rs against LXC, every container checked RUNNING while all
//! run and nothing of theirs left after the stop.

use super::idle::{self, Init};
use super::report::{fleet_row, FleetRound, IdleFleets, Row, Table};
use super::scale::{Fleet, Rt};
use super::setup::Workdir;
use crate::run::{fail, Result};

/// (containers, rounds): about a minute on two cores for both runtimes.
pub const SIZES: [(usize, usize); 2] = [(50, 3), (200, 2)];

pub fn measure(w: &Workdir) -> Result<IdleFleets> {
    let init = idle::install_init(w)?;
    let most = SIZES.iter().map(|s| s.0).max().unwrap_or(0);
    let fleets = [
        idle::fleet(Rt::LxcRs, w, "f", most, &init)?,
        idle::fleet(Rt::Lxc, w, "f", most, &init)?,
    ];
    let mut rounds = Vec::new();
    for (n, count) in SIZES {
        for round in 0..count {
            // Alternate who goes first, so neither always runs on a machine the other warmed.
            let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
            for i in order {
                super::interrupted()?;
                let r = idle::round(&fleets[i].first(n), &init, n, round);
                eprintln!(
                    "bench: fleet of {n}, round {}: {}: starts {:.2} s, stops {:.2} s; {}",
                    round + 1,
                    r.runtime,
                    r.start_s,
                    r.stop_s,
                    r.summary()
                );
                rounds.push(r);
            }
        }
    }
    super::interrupted()?;
    let table = table(&fleets, &init, &rounds)?;
    Ok(IdleFleets { table, rounds })
}

/// Per size: each runtime's total (start wave + stop wave), then its start and stop waves.
fn table(fleets: &[Fleet<'_>; 2], init: &Init, rounds: &[FleetRound]) -> Result<Table> {
    let mut table = Table::default();
    for (n, _) in SIZES {
        let samples = |rt: Rt, f: fn(&FleetRound) -> f64| -> Vec<f64> {
            rounds
                .iter()
                .filter(|r| r.containers == n && r.runtime == rt.label())
                .map(f)
                .collect()
        };
        for (what, pick) in [
            (
                "starts + stops",
                (|r| r.start_s + r.stop_s) as fn(&FleetRound) -> f64,
            ),
            ("starts", |r| r.start_s),
            ("stops", |r| r.stop_s),
        ] {
            let rs_row = fleet_row(Rt::LxcRs.label(), n, what);
            for f in fleets {
                let name = fleet_row(f.rt.label(), n, what);
                let first = &f.names[0];
                let command = match what {
                    "starts" => format!("{n} x `{}` at once", crate::run::display(&f.start(first))),
                    "stops" => format!("{n} x `{}` at once", crate::run::display(&f.stop(first))),
                    _ => "the start wave plus the stop wave".to_string(),
                };
                // A runtime whose every round failed to run has no samples: no row.
                if let Some(row) = Row::new(&name, command, "s", samples(f.rt, pick)) {
                    table.rows.push(row.vs(&rs_row));
                }
            }
        }
    }
    if table.rows.is_empty() {
        return Err(fail("no fleet round was timed"));
    }
    table.notes.push(format!(
        "init: `lxc.init.cmd = {}` (a static C program that waits in pause(2)), \
         `lxc.tty.max = 0`, otherwise each runtime's busybox config over its rootfs",
        init.path
    ));
    table.set_ratios();
    Ok(table)
}
