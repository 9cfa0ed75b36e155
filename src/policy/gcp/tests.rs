//! `gcp.backend_service` against what Google documents: which settings each
//! balancer accepts, and which requests keep their backend through address
//! changes, new connections, cookie expiry and pool changes.

use crate::engine::{HOUR, MINUTE, SECOND, Stream};
use crate::policy::testing::{built, client, pool_with_spare, servers};
use crate::policy::*;
use crate::pool::PoolChangeKind;

fn error(text: &str) -> SpecError {
    let pool = pool_with_spare(3, 0);
    let ctx = BuildContext {
        pool: &pool,
        expected_users: 1,
    };
    build(&spec::parse(text, 0).unwrap(), &ctx).err().expect("rejected")
}

#[test]
fn each_balancer_accepts_what_google_documents() {
    let e = error("gcp.backend_service(session_affinity=CLIENT_IP)");
    assert_eq!(
        e.message,
        "session_affinity=CLIENT_IP: takes effect only with locality_lb_policy RING_HASH or MAGLEV \
         (backendServices API reference)"
    );
    assert_eq!(e.offset, "gcp.backend_service(session_affinity=".len());
    assert_eq!(
        error("gcp.backend_service(load_balancer=passthrough, session_affinity=GENERATED_COOKIE)").message,
        "session_affinity=GENERATED_COOKIE: load_balancer=passthrough accepts NONE, CLIENT_IP, CLIENT_IP_PROTO, \
         CLIENT_IP_PORT_PROTO, CLIENT_IP_NO_DESTINATION"
    );
    assert!(
        error("gcp.backend_service(session_affinity=CLIENT_IP_PROTO, locality_lb_policy=MAGLEV)")
            .message
            .contains("load_balancer=application accepts NONE, CLIENT_IP, GENERATED_COOKIE, HTTP_COOKIE")
    );
    assert_eq!(
        error("gcp.backend_service(load_balancer=classic, locality_lb_policy=RING_HASH)").message,
        "locality_lb_policy=RING_HASH: the classic Application Load Balancer has no localityLbPolicy"
    );
    assert!(
        error("gcp.backend_service(load_balancer=passthrough, locality_lb_policy=ROUND_ROBIN)")
            .message
            .ends_with("takes MAGLEV or WEIGHTED_MAGLEV")
    );
    assert!(
        error("gcp.backend_service(locality_lb_policy=ORIGINAL_DESTINATION)")
            .message
            .contains("dialled")
    );
    assert!(
        error("gcp.backend_service(locality_lb_policy=WEIGHTED_MAGLEV)")
            .message
            .contains("passthrough")
    );
    assert_eq!(
        error("gcp.backend_service(cookie_ttl=15d)").message,
        "cookie_ttl=15d: expected a duration from 0s to 14d"
    );
    assert!(
        error("gcp.backend_service(session_affinity=COOKIE)")
            .message
            .contains("expected one of NONE, CLIENT_IP")
    );
}

/// Of 400 clients on 8 backends, how many a change of the client sends elsewhere.
fn moved_by(text: &str, change: impl Fn(&mut Client)) -> usize {
    let pool = pool_with_spare(8, 0);
    let p = built(text, &pool);
    (0..400)
        .filter(|&u| {
            let mut c = client(u);
            let before = p.peek(&c, 0, &pool).expect("hash-based");
            change(&mut c);
            p.peek(&c, 0, &pool) != Some(before)
        })
        .count()
}

fn new_connection(c: &mut Client) {
    c.port = c.port.wrapping_add(1);
}

fn new_address(c: &mut Client) {
    c.addr = Addr::v4(0x6440_0000 ^ c.addr.0 as u32);
}

#[test]
fn client_ip_tuples_keep_an_address_and_the_five_tuple_a_connection() {
    let most = 320..385;
    for text in [
        "gcp.backend_service(session_affinity=CLIENT_IP, locality_lb_policy=MAGLEV)",
        "gcp.backend_service(session_affinity=CLIENT_IP, locality_lb_policy=RING_HASH)",
        "gcp.backend_service(load_balancer=classic, session_affinity=CLIENT_IP)",
        "gcp.backend_service(load_balancer=passthrough, session_affinity=CLIENT_IP_PROTO)",
        "gcp.backend_service(load_balancer=passthrough, session_affinity=CLIENT_IP_NO_DESTINATION)",
    ] {
        assert_eq!(moved_by(text, new_connection), 0, "{text}");
        assert!(most.contains(&moved_by(text, new_address)), "{text}");
    }
    for text in [
        "gcp.backend_service(load_balancer=passthrough)",
        "gcp.backend_service(load_balancer=passthrough, session_affinity=CLIENT_IP_PORT_PROTO)",
    ] {
        assert!(most.contains(&moved_by(text, new_connection)), "{text}");
        assert_eq!(built(text, &pool_with_spare(2, 0)).affinity(), Affinity::None);
    }
}

#[test]
fn headers_and_cookies_survive_address_changes() {
    let header = "gcp.backend_service(session_affinity=HEADER_FIELD, locality_lb_policy=RING_HASH)";
    assert_eq!(moved_by(header, new_address), 0);
    for text in [
        "gcp.backend_service(load_balancer=classic, session_affinity=GENERATED_COOKIE, cookie_ttl=1h)",
        "gcp.backend_service(session_affinity=HTTP_COOKIE, locality_lb_policy=MAGLEV, cookie_ttl=1h)",
        "gcp.backend_service(session_affinity=STRONG_COOKIE_AFFINITY, cookie_ttl=1h)",
    ] {
        let pool = pool_with_spare(8, 0);
        let mut p = built(text, &pool);
        let mut rng = Stream::Policy.rng(1, 0, 0);
        let mut renewed_elsewhere = 0;
        for u in 0..200 {
            let mut c = client(u);
            let first = p.pick(&c, 0, &pool, &mut rng);
            assert_eq!(first.memory, Memory::Miss, "{text}: the first request gets the cookie");
            new_address(&mut c);
            let kept = p.pick(&c, HOUR - SECOND, &pool, &mut rng);
            assert_eq!(
                kept,
                Pick {
                    memory: Memory::Hit,
                    ..first
                },
                "{text}"
            );
            let renewed = p.pick(&c, HOUR, &pool, &mut rng);
            assert_eq!(renewed.memory, Memory::Miss, "{text}: the cookie expired");
            renewed_elsewhere += (renewed.server != first.server) as u32;
        }
        assert!(renewed_elsewhere > 100, "{text}: a new cookie is a new placement");
    }
}

#[test]
fn a_zero_ttl_is_a_session_cookie() {
    let pool = pool_with_spare(4, 0);
    let mut p = built(
        "gcp.backend_service(load_balancer=classic, session_affinity=GENERATED_COOKIE)",
        &pool,
    );
    let mut rng = Stream::Policy.rng(1, 0, 0);
    let first = p.pick(&client(5), 0, &pool, &mut rng);
    assert_eq!(
        p.pick(&client(5), 1000 * HOUR, &pool, &mut rng),
        Pick {
            memory: Memory::Hit,
            ..first
        }
    );
}

/// Every user's first request at time 0, then where each would go after `change`.
fn through(text: &str, n: usize, changes: &[PoolChangeKind]) -> (Vec<ServerId>, Vec<ServerId>) {
    let mut pool = pool_with_spare(n, 2);
    let mut p = built(text, &pool);
    let mut rng = Stream::Policy.rng(1, 0, 0);
    let before = (0..20_000)
        .map(|u| p.pick(&client(u), 0, &pool, &mut rng).server)
        .collect();
    for change in changes {
        assert!(pool.apply(change));
        p.pool_changed(&pool);
    }
    let after = (0..20_000)
        .map(|u| p.pick(&client(u), MINUTE, &pool, &mut rng).server)
        .collect();
    (before, after)
}

fn share_moved(before: &[ServerId], after: &[ServerId]) -> f64 {
    before.iter().zip(after).filter(|(b, a)| b != a).count() as f64 / before.len() as f64
}

#[test]
fn hash_based_affinity_loses_about_one_in_n_plus_1_when_a_backend_is_added() {
    for text in [
        "gcp.backend_service(load_balancer=classic, session_affinity=GENERATED_COOKIE)",
        "gcp.backend_service(session_affinity=HEADER_FIELD, locality_lb_policy=MAGLEV)",
        "gcp.backend_service(load_balancer=passthrough, session_affinity=CLIENT_IP)",
    ] {
        let (before, after) = through(text, 8, &[PoolChangeKind::Add(8)]);
        let moved = share_moved(&before, &after);
        assert!((0.10..0.15).contains(&moved), "{text}: moved {moved}, about 1/9");
        let onto_new = before.iter().zip(&after).filter(|(b, a)| b != a && **a == 8).count() as f64;
        assert!(onto_new / 20_000.0 > 0.10, "{text}: the moves go to the new backend");
    }
}

#[test]
fn a_strong_cookie_keeps_its_backend_through_scale_up_and_after_a_failure() {
    let strong = "gcp.backend_service(session_affinity=STRONG_COOKIE_AFFINITY)";
    let (before, after) = through(strong, 8, &[PoolChangeKind::Add(8), PoolChangeKind::Add(9)]);
    assert_eq!(share_moved(&before, &after), 0.0);
    // A failed backend's clients are placed anew and stay where their new cookie
    // names; a hash-based cookie's clients return when the backend recovers.
    let failure = [PoolChangeKind::Fail(3), PoolChangeKind::Recover(3)];
    let (before, after) = through(strong, 8, &failure);
    assert_eq!(
        share_moved(&before, &after),
        0.0,
        "nobody asked while backend 3 was down"
    );
    let hashed = "gcp.backend_service(load_balancer=classic, session_affinity=GENERATED_COOKIE)";
    let (before, after) = through(hashed, 8, &failure);
    assert_eq!(
        share_moved(&before, &after),
        0.0,
        "the table over the same backends is the same"
    );
    for (text, returns) in [(strong, false), (hashed, true)] {
        let mut pool = pool_with_spare(4, 0);
        let mut p = built(text, &pool);
        let mut rng = Stream::Policy.rng(1, 0, 0);
        let c = client(11);
        let home = p.pick(&c, 0, &pool, &mut rng).server;
        assert!(pool.apply(&PoolChangeKind::Fail(home)));
        p.pool_changed(&pool);
        let away = p.pick(&c, SECOND, &pool, &mut rng).server;
        assert_ne!(away, home, "{text}");
        assert!(pool.apply(&PoolChangeKind::Recover(home)));
        p.pool_changed(&pool);
        let back = p.pick(&c, 2 * SECOND, &pool, &mut rng).server;
        assert_eq!(back == home, returns, "{text}");
    }
}

#[test]
fn only_weighted_maglev_weighs_backends() {
    let pool = servers(&["vm-a", "vm-b"], &[3, 1], &[]);
    let on_heavy = |text: &str| {
        let p = built(text, &pool);
        (0..20_000).filter(|&u| p.peek(&client(u), 0, &pool) == Some(0)).count() as f64 / 20_000.0
    };
    let plain = on_heavy("gcp.backend_service(load_balancer=passthrough, session_affinity=CLIENT_IP)");
    let weighted = on_heavy(
        "gcp.backend_service(load_balancer=passthrough, session_affinity=CLIENT_IP, locality_lb_policy=WEIGHTED_MAGLEV)",
    );
    assert!(
        (plain - 0.5).abs() < 0.02 && (weighted - 0.75).abs() < 0.02,
        "{plain} {weighted}"
    );
}

#[test]
fn without_affinity_the_locality_policy_spreads_requests() {
    let pool = pool_with_spare(4, 0);
    let mut rng = Stream::Policy.rng(1, 0, 0);
    let mut rr = built("gcp.backend_service", &pool);
    assert_eq!(rr.affinity(), Affinity::None);
    let turns: Vec<ServerId> = (0..8).map(|_| rr.pick(&client(1), 0, &pool, &mut rng).server).collect();
    assert_eq!(turns, [0, 1, 2, 3, 0, 1, 2, 3]);
    assert!(built("gcp.backend_service(locality_lb_policy=LEAST_REQUEST)", &pool).wants_load());
    let mut ring = built("gcp.backend_service(locality_lb_policy=RING_HASH)", &pool);
    let seen: std::collections::HashSet<ServerId> = (0..100)
        .map(|_| ring.pick(&client(1), 0, &pool, &mut rng).server)
        .collect();
    assert_eq!(seen.len(), 4, "no hash key: one client's requests go anywhere");
}
