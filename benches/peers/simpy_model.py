"""The job of benches/peers/job.toml written for SimPy 4.1.2, as a SimPy user would.

Users arrive as a Poisson process; each visit is a lognormal number of requests
separated by exponential think times. Home users share IPv4 addresses behind NAT
routers; phones leave WiFi at a rate and get a new carrier address at each
cellular attach (worked out lazily at each request, as lbsim does, so no process
ticks for phones that send nothing). One hash of the source address picks one of
8 servers; a server keeps a visit's state for 30 minutes after its last request,
and a request that lands elsewhere while that state lives loses the visit.

With --queueing each server is a simpy.Resource of 4 workers serving exponential
work in FCFS order (a process per request); without, a request is only routed.

Prints one JSON line: requests, visits, visits lost, wall seconds, requests/s.
"""

import argparse
import json
import math
import random
import time

import simpy

HOUR = 3600.0


def pool_size(users, per_address):
    """Addresses P such that `users` uniform draws occupy users/per_address of them."""
    target = users / per_address
    lo, hi = target, users * 1e6
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        if mid * (1.0 - math.exp(-users / mid)) < target:
            lo = mid
        else:
            hi = mid
    return max(1, round(hi))


class Job:
    def __init__(self, env, args):
        self.env = env
        self.args = args
        self.rng = random.Random(args.seed)
        self.servers = [simpy.Resource(env, capacity=args.workers) for _ in range(args.servers)]
        users = args.rate * args.duration
        self.home_pool = pool_size(users, 1.5)
        self.cell_pool = pool_size(users * args.mobile_share, 250.0)
        self.mu = math.log(args.median)
        self.requests = 0
        self.visits = 0
        self.lost = 0

    def route(self, address):
        return hash(address) % len(self.servers)

    def arrivals(self):
        n = 0
        while True:
            yield self.env.timeout(self.rng.expovariate(self.args.rate))
            self.env.process(self.user(n))
            n += 1

    def user(self, n):
        rng = self.rng
        args = self.args
        home = rng.randrange(self.home_pool)
        mobile = rng.random() < args.mobile_share
        on_cellular, cell_address, next_switch = False, 0, 0.0
        if mobile:
            next_switch = self.env.now + rng.expovariate(args.switch_rate)
        state_server, state_until, visit_lost = -1, -1.0, False
        self.visits += 1
        count = max(1, round(rng.lognormvariate(self.mu, args.sigma)))
        for i in range(count):
            if i > 0:
                yield self.env.timeout(rng.expovariate(1.0 / args.think))
            now = self.env.now
            # The phone's moves since its last request, drawn as they come due.
            while mobile and next_switch <= now:
                if on_cellular:
                    on_cellular = False
                    next_switch += rng.expovariate(args.switch_rate)
                else:
                    on_cellular = True
                    cell_address = (1 << 32) + rng.randrange(self.cell_pool)
                    next_switch += rng.expovariate(1.0 / args.cellular_stay)
            address = cell_address if on_cellular else home
            server = self.route(address)
            if state_until > now and server != state_server and not visit_lost:
                visit_lost = True
                self.lost += 1
            state_server, state_until = server, now + args.state_ttl
            self.requests += 1
            if args.queueing:
                self.env.process(self.serve(server))

    def serve(self, server):
        with self.servers[server].request() as turn:
            yield turn
            yield self.env.timeout(self.rng.expovariate(1.0 / self.args.service))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--queueing", action="store_true")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--duration", type=float, default=2 * HOUR)
    p.add_argument("--rate", type=float, default=20.0, help="new users per second")
    p.add_argument("--median", type=float, default=7.0)
    p.add_argument("--sigma", type=float, default=0.84)
    p.add_argument("--think", type=float, default=30.0)
    p.add_argument("--state-ttl", type=float, default=1800.0)
    p.add_argument("--mobile-share", type=float, default=0.3)
    p.add_argument("--switch-rate", type=float, default=2.0 / HOUR)
    p.add_argument("--cellular-stay", type=float, default=600.0)
    p.add_argument("--servers", type=int, default=8)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--service", type=float, default=0.020)
    args = p.parse_args()
    env = simpy.Environment()
    job = Job(env, args)
    env.process(job.arrivals())
    start = time.perf_counter()
    env.run(until=args.duration)
    wall = time.perf_counter() - start
    print(json.dumps({
        "requests": job.requests,
        "visits": job.visits,
        "visits_lost": job.lost,
        "visits_lost_pct": 100.0 * job.lost / max(job.visits, 1),
        "wall_s": wall,
        "requests_per_s": job.requests / wall,
    }))


if __name__ == "__main__":
    main()
