#!/usr/bin/env python3
"""Synthetic VPC flow log lines (default version 2 format, with header), for benchmarks.
usage: gen_vpc_flow.py N > file   (deterministic)"""
import random, sys

n = int(sys.argv[1])
rnd = random.Random(11)
out = sys.stdout
out.write("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n")
for i in range(n):
    t = 1795168800 + i // 50
    if rnd.random() < 0.3:
        src = "%d.%d.%d.%d" % (rnd.randrange(1, 223), rnd.randrange(256), rnd.randrange(256), rnd.randrange(1, 255))
        dst = "10.0.1.%d" % rnd.randrange(1, 60)
    else:
        src = "10.0.1.%d" % rnd.randrange(1, 60)
        dst = rnd.choice(["10.0.2.%d" % rnd.randrange(1, 30), "203.0.113.%d" % rnd.randrange(1, 255)])
    action = "REJECT" if rnd.random() < 0.1 else "ACCEPT"
    out.write("2 111122223333 eni-%017x %s %s %d %d 6 %d %d %d %d %s OK\n" % (
        rnd.randrange(1 << 60) % 64, src, dst, rnd.randrange(1024, 65535), rnd.choice([443, 80, 8080, 5432, 22]),
        rnd.randrange(1, 100), rnd.randrange(40, 100000), t, t + 60, action))
