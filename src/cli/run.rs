//! `lbsim run`: a scenario through its policies, or a sweep through its jobs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use lbsim::experiment::jobs::{self, Job, Shard};
use lbsim::output::sweep::JobResult;
use lbsim::output::sweep_folder;
use lbsim::output::sweep_spec::{Overrides, SweepSpec};
use lbsim::scenario::sweep::Sweep;
use lbsim::{experiment, output};

use super::common::{
    RunFlags, destination, finish, no_baseline, output_error, report_into, say, scenario, usage_error, within_limits,
};
use lbsim::scenario::size::Size;

#[derive(Args)]
pub struct RunArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// Vary a scenario key over values (repeatable; the full grid across keys),
    /// e.g. servers.count=4,8,16 or sessions.state_ttl=10m,30m. With any --vary or
    /// a [sweep] section, writes sweep.csv (a row per point, policy and
    /// replication) and run.json instead of the per-run files, then charts of
    /// each metric against each key and report.html (unless --no-report).
    #[arg(long = "vary", value_name = "KEY=V1,V2,...")]
    pub vary: Vec<String>,
    /// Run only shard K of N of a sweep: every N-th job starting at the K-th (jobs are
    /// points × replications, in order), into output/<scenario name>-shard-K-of-N unless
    /// --out. Each job's seeds do not depend on the sharding; join the shards' folders with
    /// `lbsim merge`.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Finish a sweep whose folder holds some of its jobs (an interrupted run, or a
    /// shard): check its sweep.json is this sweep, skip the jobs done, run the rest.
    #[arg(long, conflicts_with = "force")]
    pub resume: bool,
    #[command(flatten)]
    pub flags: RunFlags,
}

pub fn main(a: RunArgs) -> ExitCode {
    run(&a.scenario, &a.vary, a.shard, a.resume, &a.flags)
}

fn run(path: &Path, vary: &[String], shard: Option<Shard>, resume: bool, flags: &RunFlags) -> ExitCode {
    match Sweep::load(path, &flags.policies, vary) {
        Err(e) => return usage_error(e),
        Ok(Some(sweep)) => return run_sweep(path, sweep, vary, shard, resume, flags),
        Ok(None) => {}
    }
    // A single run is written whole or not at all: there is nothing to split or resume.
    if shard.is_some() || resume {
        return usage_error(format!(
            "--shard and --resume apply to sweeps, and {} has no [sweep] section and no --vary was given",
            path.display()
        ));
    }
    let sc = match scenario(path, flags, false) {
        Ok(sc) => sc,
        Err(code) => return code,
    };
    if let Err(code) = within_limits(path, Size::of(&sc, rayon::current_num_threads()), flags) {
        return code;
    }
    let dir = match destination(&sc, flags) {
        Ok(dir) => dir,
        Err(code) => return code,
    };
    let total = sc.duration * u64::from(sc.replications);
    let result = output::progress::watch(total, !flags.quiet, |p| {
        experiment::run_watched(&sc, |r| lbsim::workload::Workload::new(&sc, r), p)
    });
    finish(&sc, &result, &dir, flags, None)
}

/// Runs a sweep's jobs (those of `shard` not yet in its folder), each kept as
/// it finishes, then, once the folder holds every job, sweep.csv and run.json.
fn run_sweep(
    path: &Path,
    mut sweep: Sweep,
    vary: &[String],
    shard: Option<Shard>,
    resume: bool,
    flags: &RunFlags,
) -> ExitCode {
    if let Err(code) = no_baseline(flags, "a sweep") {
        return code;
    }
    // The command line overrides every point, except where the sweep varies the key.
    for p in &mut sweep.points {
        if !sweep.keys.iter().any(|k| k == "seed") {
            p.scenario.seed = flags.seed.unwrap_or(p.scenario.seed);
        }
        if !sweep.keys.iter().any(|k| k == "replications") {
            p.scenario.replications = flags.replications.unwrap_or(p.scenario.replications);
        }
    }
    // Jobs run one replication each, as many at once as there are threads.
    let size = sweep
        .points
        .iter()
        .map(|p| Size::of(&p.scenario, rayon::current_num_threads()))
        .reduce(Size::then);
    if let Some(size) = size
        && let Err(code) = within_limits(path, size, flags)
    {
        return code;
    }
    let spec = SweepSpec::new(
        &sweep,
        Overrides {
            policies: flags.policies.clone(),
            seed: flags.seed,
            replications: flags.replications,
            vary: vary.to_vec(),
        },
    );
    let shard = shard.unwrap_or(Shard::WHOLE);
    let dir = flags.out.clone().unwrap_or_else(|| {
        let name = match shard {
            // Apart from the scenario's own run, which writes output/<name>.
            Shard::WHOLE => format!("{}-sweep", spec.scenario),
            Shard { k, n } => format!("{}-shard-{k}-of-{n}", spec.scenario),
        };
        PathBuf::from("output").join(name)
    });
    let done = match sweep_folder::open(&dir, &spec, resume, flags.force) {
        Ok(done) => done,
        Err(e) => return output_error(e),
    };
    let mine = shard.deal(jobs::of(&sweep.points));
    let todo: Vec<Job> = mine.iter().filter(|j| !done.contains(j)).copied().collect();
    if !flags.quiet && todo.len() < mine.len() {
        say(&format!(
            "{} of {} jobs already done in {}\n",
            mine.len() - todo.len(),
            mine.len(),
            dir.display()
        ));
    }
    let start = std::time::Instant::now();
    let total = todo.iter().map(|j| sweep.points[j.point].scenario.duration).sum();
    let ran = output::progress::watch(total, !flags.quiet, |p| {
        jobs::run(&sweep.points, &todo, p, |job, replication| {
            let result = JobResult::of(job, &sweep.points[job.point], &replication);
            sweep_folder::write_job(&dir, &result).map(|()| result.events)
        })
    });
    let wall = start.elapsed().as_secs_f64();
    let events: u64 = match ran {
        Ok(events) => events.iter().sum(),
        Err(e) => return output_error(e),
    };
    let speed = format!(
        "{} job{} run, {wall:.2} s wall, {:.1} M events/s",
        todo.len(),
        if todo.len() == 1 { "" } else { "s" },
        events as f64 / wall.max(1e-9) / 1e6
    );
    let results = match sweep_folder::finish(&dir, &spec) {
        Ok(Some(results)) => results,
        Ok(None) => {
            if !flags.quiet {
                say(&format!(
                    "{}: shard {shard} of a sweep of {} jobs, {speed}\n{} of its jobs are in {}; join the \
                     shards with `lbsim merge --out DIR SHARD_DIR...`\n",
                    spec.scenario,
                    spec.jobs,
                    done.len() + todo.len(),
                    dir.display()
                ));
            }
            return ExitCode::SUCCESS;
        }
        Err(e) => return output_error(e),
    };
    if let Err(code) = report_into(&dir, flags.no_report, "sweep.csv and run.json are") {
        return code;
    }
    if !flags.quiet {
        say(&format!(
            "{}: sweep of {} points over {}, {speed}\n\n{}\nresults in {}\n",
            spec.scenario,
            spec.points,
            spec.sweep_keys.join(", "),
            output::sweep::text(&spec.sweep_keys, &results),
            dir.join("sweep.csv").display()
        ));
    }
    ExitCode::SUCCESS
}
