//! One pick per policy, at 10, 100 and 1,000 servers, beside the crates maglev,
//! jumphash and hashring doing the same job. Run with `cargo bench --bench pick`;
//! criterion prints the time per pick.
//!
//! Each pick is for the next of 4,096 clients spread over the address space, so
//! table lookups see cache behaviour like a real stream's, not one hot entry.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use maglev::ConsistentHasher;

use lbsim::engine::Stream;
use lbsim::policy::{self, Addr, BuildContext, Client};
use lbsim::pool::{Pool, Presence, Server};

const SIZES: [usize; 3] = [10, 100, 1000];

/// Settings beyond the defaults that change the pick's algorithm.
const VARIANTS: &[&str] = &[
    "haproxy.source(hash_type=consistent)",
    "nginx.hash(consistent=on)",
    "katran.maglev(key=source)",
    "envoy.maglev(hash_balance_factor=150)",
];

fn pool(n: usize) -> Pool {
    Pool::new(
        (0..n)
            .map(|i| Server {
                name: format!("10.1.{}.{}:8080", i / 250, i % 250 + 1),
                weight: 1,
                presence: Presence::Up,
            })
            .collect(),
    )
}

fn clients() -> Vec<Client> {
    (0..4096u32)
        .map(|i| Client {
            user: i,
            addr: Addr::v4(i.wrapping_mul(2_654_435_761)),
            port: 40_000 + (i % 20_000) as u16,
            connection: 0,
            new_connection: true,
        })
        .collect()
}

fn policies(c: &mut Criterion) {
    let clients = clients();
    let mut group = c.benchmark_group("pick");
    group.sample_size(20);
    group.warm_up_time(std::time::Duration::from_millis(300));
    group.measurement_time(std::time::Duration::from_millis(800));
    let specs = policy::registry().map(|info| info.name).chain(VARIANTS.iter().copied());
    for text in specs {
        for n in SIZES {
            let pool = pool(n);
            let spec = policy::spec::parse(text, 0).expect("a valid specification");
            let ctx = BuildContext {
                pool: &pool,
                expected_users: clients.len(),
            };
            let mut p = policy::build(&spec, &ctx).expect("every default builds");
            let mut rng = Stream::Policy.rng(1, 0, 0);
            let mut i = 0;
            group.bench_function(format!("{text}/{n}"), |b| {
                b.iter(|| {
                    i = (i + 1) & 4095;
                    black_box(p.pick(&clients[i], 0, &pool, &mut rng).server)
                })
            });
        }
    }
    group.finish();
}

/// The same jobs done by general-purpose crates, keyed by the client address.
fn crates(c: &mut Criterion) {
    let keys: Vec<u128> = clients().iter().map(|c| c.addr.0).collect();
    let mut group = c.benchmark_group("crate");
    group.sample_size(20);
    group.warm_up_time(std::time::Duration::from_millis(300));
    group.measurement_time(std::time::Duration::from_millis(800));
    for n in SIZES {
        let names: Vec<String> = (0..n).map(|i| format!("s{i}")).collect();
        let mut i = 0;

        let table = maglev::Maglev::with_capacity(names.clone(), 65_537);
        group.bench_function(format!("maglev/{n}"), |b| {
            b.iter(|| {
                i = (i + 1) & 4095;
                black_box(table.get(&keys[i]))
            })
        });

        let jump = jumphash::JumpHasher::new();
        group.bench_function(format!("jumphash/{n}"), |b| {
            b.iter(|| {
                i = (i + 1) & 4095;
                black_box(jump.slot(&keys[i], n as u32))
            })
        });

        // 160 points per server, as lbsim's `ring` places them.
        let mut ring = hashring::HashRing::new();
        for name in &names {
            for v in 0..160 {
                ring.add(format!("{name}#{v}"));
            }
        }
        group.bench_function(format!("hashring/{n}"), |b| {
            b.iter(|| {
                i = (i + 1) & 4095;
                black_box(ring.get(&keys[i]))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, policies, crates);
criterion_main!(benches);
