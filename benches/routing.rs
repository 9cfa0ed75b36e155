//! Routing throughput: requests routed per second by one lane on one core, per
//! policy, with queueing off (pure routing) and on; and the workload generator's
//! requests per second. Run with `cargo bench --bench routing`.

mod common;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

use lbsim::experiment::Lane;
use lbsim::scenario::Scenario;
use lbsim::workload::{Request, RequestSource, Workload};

const POLICIES: &str = r#"["round_robin", "least_conn", "ip_hash", "ring", "stick_table", "cookie"]"#;

fn scenario(queueing: bool) -> Scenario {
    common::population(200_000.0, POLICIES, queueing)
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
                    || Lane::new(&sc, spec, i, 0, 0, sc.expected_users().ceil() as usize),
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
