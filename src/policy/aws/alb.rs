//! AWS Application Load Balancer stickiness, as a target group's attributes set it.
//!
//! - `lb_cookie` (duration-based): the balancer sets its own cookie, AWSALB, naming
//!   the target; requests carrying it go there for `duration` after it was set
//!   (default one day, allowed 1 s to 7 days).
//! - `app_cookie`: the balancer follows the application's own session cookie. The
//!   stickiness lasts `duration` from when the application issued the cookie, and
//!   ends when the application starts a new session, here after `app_idle` without
//!   a request.
//!
//! Either way an unhealthy target sends the client to a new target, and the new
//! cookie names it: the client stays there when the old one comes back. Clients
//! without a valid cookie are placed by the target group's algorithm.

use super::super::cookie::Cookie;
use super::super::*;
use crate::engine::{DAY, SECOND};

pub const INFO: PolicyInfo = PolicyInfo {
    name: "aws.alb",
    summary: "AWS ALB sticky sessions: AWSALB load-balancer cookie (1 day) or application cookie",
    params: &[
        Param {
            name: "stickiness",
            default: "lb_cookie",
            help: "lb_cookie (AWSALB, duration-based) or app_cookie (follows the application's session cookie)",
        },
        Param {
            name: "duration",
            default: "1d",
            help: "stickiness.lb_cookie / app_cookie duration_seconds, 1s to 7d",
        },
        Param {
            name: "app_idle",
            default: "30m",
            help: "app_cookie only: the application's session timeout, after which it issues a new cookie",
        },
        Param {
            name: "algorithm",
            default: "round_robin",
            help: "the target group's algorithm for new clients: round_robin, least_outstanding_requests, weighted_random",
        },
    ],
    build: |args, ctx| {
        let app = args.choice("stickiness", &["lb_cookie", "app_cookie"])? == 1;
        let duration = args.duration("duration", SECOND, 7 * DAY)?;
        let idle = args.duration_or_none("app_idle")?.map(|d| d.0);
        let algorithm = ["round_robin", "least_conn", "random"][args.choice(
            "algorithm",
            &["round_robin", "least_outstanding_requests", "weighted_random"],
        )?];
        let base = build(&spec::parse(algorithm, 0)?, ctx)?;
        Ok(Box::new(Cookie::new(
            base,
            Some(duration),
            if app { idle } else { None },
            ctx,
        )))
    },
};

#[cfg(test)]
mod tests {
    use super::super::super::testing::{built, client, pool};
    use super::*;
    use crate::engine::{HOUR, MINUTE, Stream};

    #[test]
    fn awsalb_lasts_one_day_by_default() {
        let p = pool(4);
        let mut alb = built("aws.alb", &p);
        let mut rng = Stream::Policy.rng(1, 0, 0);
        let u = client(9);
        let first = alb.pick(&u, 0, &p, &mut rng);
        assert_eq!(first.memory, Memory::Miss);
        assert_eq!(
            alb.pick(&u, 23 * HOUR, &p, &mut rng),
            Pick {
                memory: Memory::Hit,
                ..first
            }
        );
        assert_eq!(alb.pick(&u, DAY, &p, &mut rng).memory, Memory::Miss);
    }

    #[test]
    fn app_cookie_ends_with_the_application_session() {
        let p = pool(4);
        let mut alb = built("aws.alb(stickiness=app_cookie, app_idle=20m)", &p);
        let mut rng = Stream::Policy.rng(1, 0, 0);
        let u = client(9);
        alb.pick(&u, 0, &p, &mut rng);
        assert_eq!(alb.pick(&u, 19 * MINUTE, &p, &mut rng).memory, Memory::Hit);
        assert_eq!(alb.pick(&u, 40 * MINUTE, &p, &mut rng).memory, Memory::Miss);
    }

    #[test]
    fn duration_outside_what_alb_allows_is_named() {
        let p = pool(2);
        let spec = spec::parse("aws.alb(duration=8d)", 0).unwrap();
        let ctx = BuildContext {
            pool: &p,
            expected_users: 1,
        };
        let e = build(&spec, &ctx).err().unwrap();
        assert_eq!(e.message, "duration=8d: expected a duration from 1s to 7d");
        assert_eq!(e.offset, "aws.alb(duration=".len());
    }
}
