#!/usr/bin/env python3
"""Synthetic Falco alerts (json_output, one per line) shaped like real ones, for benchmarks.
usage: gen_falco.py N > file   (deterministic)"""
import json, random, sys

RULES = [("Terminal shell in container", "Notice", ["container", "shell", "mitre_execution"]),
         ("Unexpected outbound connection destination", "Notice", ["container", "network"]),
         ("Read sensitive file untrusted", "Warning", ["filesystem", "mitre_credential_access"]),
         ("Contact K8S API Server From Container", "Notice", ["network", "k8s"])]
n = int(sys.argv[1])
rnd = random.Random(7)
out = sys.stdout
for i in range(n):
    rule, prio, tags = RULES[rnd.randrange(len(RULES))]
    w = rnd.randrange(200)                       # alerts come from a few hundred workloads
    pod = "app-%d-7d4b9c6f5-x%04d" % (w % 20, w)
    cid = "%012x" % (0x8c2f1e7a9b3d + w * 7919)
    t = 1795168800 + i // 20
    ns = (i % 20) * 50000000
    of = {"container.id": cid, "container.image.repository": "registry.example.com/team/app%d" % (w % 20),
          "container.image.tag": "1.%d.0" % (w % 5), "container.name": "app",
          "evt.time": t * 1000000000 + ns, "k8s.ns.name": "ns-%d" % (w % 10), "k8s.pod.name": pod,
          "proc.cmdline": "bash -c 'curl -s http://example.com/%d'" % i, "proc.name": "bash", "proc.pname": "java",
          "user.name": "root", "user.loginuid": -1}
    if "network" in tags:
        of.update({"evt.type": "connect", "fd.sip": "203.0.113.%d" % rnd.randrange(1, 255), "fd.sport": 443,
                   "fd.name": "10.0.1.57:%d->203.0.113.50:443" % (30000 + i % 30000)})
    if "filesystem" in tags:
        of.update({"evt.type": "openat", "fd.name": "/etc/shadow"})
    tm = "2026-11-20T%02d:%02d:%02d.%09dZ" % ((t // 3600) % 24, (t // 60) % 60, t % 60, ns)
    rec = {"hostname": "ip-10-0-1-%d.ec2.internal" % (w % 19 + 1),
           "output": "%s: %s %s (user=root container=%s)" % (tm, prio, rule, cid),
           "priority": prio, "rule": rule, "source": "syscall", "tags": tags, "time": tm, "output_fields": of}
    out.write(json.dumps(rec, separators=(",", ":")) + "\n")
