//! Routing throughput: requests routed per second by one lane on one core, per
//! policy, with queueing off (pure routing) and on; and the workload generator's
//! requests per second. Run with `cargo bench --bench routing`.

use std::path::Path;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

use lbsim::experiment::Lane;
use lbsim::scenario::Scenario;
use lbsim::workload::{Request, Workload};

/// A day of 200,000 users on home, CGNAT and mobile networks, 16 servers.
fn scenario(queueing: bool) -> Scenario {
    let text = format!(
        r#"
        duration = "24h"
        policies = ["round_robin", "least_conn", "ip_hash", "ring", "stick_table", "cookie"]
        [arrivals]
        rate = "2.3/s"
        [sessions]
        return_share = 0.3
        [[networks]]
        kind = "home"
        share = 0.6
        [[networks]]
        kind = "cgnat"
        share = 0.15
        [[networks]]
        kind = "mobile"
        share = 0.25
        [servers]
        count = 16
        workers = 4
        queueing = {queueing}
        "#
    );
    Scenario::parse(&text, Path::new("bench.toml")).expect("bench scenario is valid")
}

fn stream(sc: &Scenario) -> Vec<Request> {
    let mut requests = Vec::new();
    Workload::new(sc, 0).fill(&mut requests, u64::MAX, usize::MAX);
    requests
}

fn routing(c: &mut Criterion) {
    for queueing in [false, true] {
        let sc = scenario(queueing);
        let requests = stream(&sc);
        let mut group = c.benchmark_group(if queueing {
            "route_queueing_on"
        } else {
            "route_queueing_off"
        });
        group.sample_size(10);
        group.throughput(Throughput::Elements(requests.len() as u64));
        for (i, spec) in sc.policies.iter().enumerate() {
            group.bench_function(&spec.name, |b| {
                b.iter_batched(
                    || Lane::new(&sc, spec, i, 0, 0),
                    |mut lane| {
                        lane.route_all(&requests);
                        lane
                    },
                    BatchSize::PerIteration,
                )
            });
        }
        group.finish();
    }
}

fn generation(c: &mut Criterion) {
    let sc = scenario(false);
    let n = stream(&sc).len();
    let mut group = c.benchmark_group("workload");
    group.sample_size(10);
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("generate_day", |b| {
        let mut buf = Vec::with_capacity(1 << 14);
        b.iter(|| {
            let mut w = Workload::new(&sc, 0);
            loop {
                buf.clear();
                w.fill(&mut buf, u64::MAX, 1 << 14);
                if buf.is_empty() {
                    break;
                }
            }
            w.events()
        })
    });
    group.finish();
}

criterion_group!(benches, routing, generation);
criterion_main!(benches);
