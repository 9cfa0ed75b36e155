//! `nginx.ingress.kubernetes.io/upstream-hash-by`: the Lua balancer's `chash`
//! implementation, resty.chash over the endpoints keyed by the CRC-32 of an nginx
//! variable's value. ingress-nginx's maintainers suggest `$binary_remote_addr` in
//! place of nginx's `ip_hash`, which the Lua balancer does not support
//! (kubernetes/ingress-nginx#3560); unlike `ip_hash` it hashes the whole address.

use super::chash::Chash;
use crate::policy::nginx::crc32::crc32;
use crate::policy::*;

pub const INFO: PolicyInfo = PolicyInfo {
    name: "ingress_nginx.upstream_hash_by",
    summary: "ingress-nginx upstream-hash-by: resty.chash (160 CRC-32 points per endpoint) of a variable's value",
    params: &[Param {
        name: "hash_by",
        default: "remote_addr",
        help: "the variable hashed: remote_addr ($remote_addr, the address as text), binary_remote_addr \
               (its 4 or 16 bytes) or session (a $cookie_ or $http_ variable carrying a session id)",
    }],
    build: |args, ctx| {
        let by = [By::Text, By::Binary, By::Session]
            [args.choice("hash_by", &["remote_addr", "binary_remote_addr", "session"])?];
        Ok(Box::new(HashBy {
            by,
            chash: Chash::endpoints(ctx.pool),
        }))
    },
};

#[derive(Clone, Copy, PartialEq)]
enum By {
    Text,
    Binary,
    Session,
}

pub struct HashBy {
    by: By,
    chash: Chash,
}

impl Hashing for HashBy {
    fn select(&self, client: &Client, _: &Pool) -> ServerId {
        let hash = match self.by {
            By::Binary if client.addr.is_v4() => crc32(&client.addr.octets()[12..]),
            By::Binary => crc32(&client.addr.octets()),
            _ => crc32(self.key().text(client, &mut KeyText::default())),
        };
        self.chash.find(hash)
    }

    fn rebuild(&mut self, pool: &Pool) {
        self.chash = Chash::endpoints(pool);
    }

    fn key(&self) -> Key {
        match self.by {
            By::Session => Key::Session,
            _ => Key::Source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::testing::{
        at, built, client, failure_moves_only_its_clients, moved_share, pool_with_spare, servers,
    };
    use crate::pool::PoolChangeKind;

    const ENDPOINTS: [&str; 4] = [
        "10.244.0.5:8080",
        "10.244.1.7:8080",
        "10.244.2.3:8080",
        "10.244.3.9:8080",
    ];

    #[test]
    fn hashes_the_variable_as_nginx_writes_it() {
        let pool = servers(&ENDPOINTS, &[], &[]);
        let chash = Chash::endpoints(&pool);
        let text = built("ingress_nginx.upstream_hash_by", &pool);
        let binary = built("ingress_nginx.upstream_hash_by(hash_by=binary_remote_addr)", &pool);
        // Reference §2b: CRC-32 of "192.168.1.10" is 260560567.
        assert_eq!(text.peek(&at("192.168.1.10"), 0, &pool), Some(chash.find(260_560_567)));
        assert_eq!(
            binary.peek(&at("192.168.1.10"), 0, &pool),
            Some(chash.find(crc32(&[192, 168, 1, 10])))
        );
        let v6 = at("2001:db8::7");
        assert_eq!(text.peek(&v6, 0, &pool), Some(chash.find(crc32(b"2001:db8::7"))));
        assert_eq!(binary.peek(&v6, 0, &pool), Some(chash.find(crc32(&v6.addr.octets()))));
    }

    #[test]
    fn pool_changes_move_what_a_consistent_hash_moves() {
        for n in [4u32, 10] {
            let moved = moved_share(
                "ingress_nginx.upstream_hash_by",
                pool_with_spare(n as usize, 1),
                20_000,
                PoolChangeKind::Add(n),
            );
            let want = 1.0 / (n + 1) as f64;
            assert!(
                (moved - want).abs() < want * 0.3,
                "n={n}: moved {moved}, expected {want}"
            );
        }
        let pool = pool_with_spare(6, 0);
        assert_eq!(
            failure_moves_only_its_clients("ingress_nginx.upstream_hash_by", pool, 2, 5000),
            Ok(())
        );
    }

    #[test]
    fn a_session_variable_follows_the_user_not_the_address() {
        let pool = servers(&ENDPOINTS, &[], &[]);
        let p = built("ingress_nginx.upstream_hash_by(hash_by=session)", &pool);
        let (a, mut b) = (client(42), client(42));
        b.addr = "100.64.9.9".parse().unwrap();
        assert_eq!(p.peek(&a, 0, &pool), p.peek(&b, 0, &pool));
        assert_eq!(p.affinity(), Affinity::Client);
    }
}
