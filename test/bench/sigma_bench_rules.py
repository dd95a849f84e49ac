#!/usr/bin/env python3
"""Rules for test/bench/detect_bench.sh, and the same rules as plain SQL predicates.

usage: sigma_bench_rules.py yaml N OUT.yml    N synthetic CloudTrail rules (written for the benchmark)
       sigma_bench_rules.py sql FILE...       one SQL predicate per rule over e.raw, as
                                               "(rule number, predicate)" VALUES rows on stdout

The synthetic rules look like real ones: an eventSource and a list of eventNames, often a
filter on the identity, some contains / startswith / endswith, a few regular expressions.
The SQL translation is what one would write by hand: raw #>> '{path}' compared with lower() =,
ILIKE for wildcards and contains/startswith/endswith, ~ / ~* for re, IS [NOT] NULL for null and
exists; every test is COALESCE(..., false) so that "not" means what Sigma means.  It handles
the constructs the benchmark's rules use and fails loudly on anything else.
Deterministic: the same arguments give the same output.
"""
import random, re, sys, uuid
import yaml

SOURCES = {
    "iam.amazonaws.com": ["CreateUser", "DeleteUser", "PutUserPolicy", "PutRolePolicy", "CreatePolicyVersion",
                          "SetDefaultPolicyVersion", "AddUserToGroup", "DeactivateMFADevice", "DeleteRolePolicy"],
    "s3.amazonaws.com": ["PutBucketPolicy", "DeleteBucketPolicy", "PutBucketAcl", "PutBucketPublicAccessBlock",
                         "DeleteBucketEncryption", "PutBucketLogging", "PutBucketReplication"],
    "ec2.amazonaws.com": ["CreateKeyPair", "ImportKeyPair", "CreateImage", "CopySnapshot", "DisableEbsEncryptionByDefault",
                          "ModifyVpcAttribute", "CreateInternetGateway", "AttachInternetGateway"],
    "kms.amazonaws.com": ["ScheduleKeyDeletion", "DisableKey", "PutKeyPolicy", "CreateGrant"],
    "sts.amazonaws.com": ["GetFederationToken", "AssumeRoleWithSAML", "GetSessionToken"],
    "lambda.amazonaws.com": ["CreateFunction20150331", "CreateEventSourceMapping20150331", "PublishLayerVersion20181031"],
    "logs.amazonaws.com": ["DeleteLogGroup", "DeleteLogStream", "PutRetentionPolicy", "DeleteSubscriptionFilter"],
}


def gen_yaml(n, out):
    rnd = random.Random(13)
    docs = []
    for i in range(n):
        src = rnd.choice(sorted(SOURCES))
        names = rnd.sample(SOURCES[src], k=min(len(SOURCES[src]), rnd.randint(1, 4)))
        det = {"selection": {"eventSource": src, "eventName": names}}
        cond = "selection"
        kind = i % 6
        if kind == 1:
            det["filter"] = {"userIdentity.arn|contains": ["ci-deployer", "terraform"]}
            cond = "selection and not filter"
        elif kind == 2:
            det["selection"]["userAgent|startswith"] = ["aws-cli/", "Boto3/"]
        elif kind == 3:
            det["selection"]["requestParameters.key|re"] = r"^(exports|dumps)/[a-z-]+\.(csv|sql)$"
        elif kind == 4:
            det["ip"] = {"sourceIPAddress|endswith": [".0.3.9", ".1.1.1"]}
            det["failed"] = {"errorCode|exists": True}
            cond = "(selection or ip) and not failed"
        elif kind == 5:
            det["selection"]["userIdentity.type"] = ["IAMUser", "Root"]
        det["condition"] = cond
        docs.append({"title": "Benchmark rule %d" % i,
                     "id": str(uuid.UUID(int=rnd.getrandbits(128))),
                     "author": "correlate benchmark", "status": "test", "level": "low",
                     "logsource": {"product": "aws", "service": "cloudtrail"},
                     "detection": det, "tags": ["attack.defense-evasion"]})
    with open(out, "w") as f:
        yaml.safe_dump_all(docs, f, sort_keys=False)


def lit(s):
    return "'" + str(s).replace("'", "''") + "'"


def glob_like(v):
    out = []
    i = 0
    while i < len(v):
        c = v[i]
        if c == "\\" and i + 1 < len(v) and v[i + 1] in "*?\\":
            c = v[i + 1]
            i += 1
            out.append("\\\\" if c == "\\" else c)
        elif c == "*":
            out.append("%")
        elif c == "?":
            out.append("_")
        elif c in "%_":
            out.append("\\" + c)
        else:
            out.append(c)
        i += 1
    return "".join(out)


def scalar(v):
    if v is True:
        return "true"
    if v is False:
        return "false"
    return str(v)


def path(field):
    return "e.raw #>> " + lit("{" + ",".join(field.split(".")) + "}")


def item(key, values):
    parts = key.split("|")
    field, mods = parts[0], parts[1:]
    vals = values if isinstance(values, list) else [values]
    p = path(field)
    tests = []
    for v in vals:
        if v is None:
            tests.append("%s IS NULL" % p)
        elif "exists" in mods:
            tests.append("%s %s" % ("e.raw #> " + lit("{" + ",".join(field.split(".")) + "}"),
                                    "IS NOT NULL" if v else "IS NULL"))
        elif "re" in mods:
            tests.append("%s ~ %s" % (p, lit(v)))
        elif "fieldref" in mods:
            q = path(str(v))
            if "endswith" in mods:
                tests.append("lower(%s) LIKE '%%' || lower(%s)" % (p, q))
            else:
                tests.append("lower(%s) = lower(%s)" % (p, q))
        else:
            s = glob_like(scalar(v))
            if "contains" in mods:
                s = "%" + s + "%"
            elif "startswith" in mods:
                s = s + "%"
            elif "endswith" in mods:
                s = "%" + s
            if "%" in s or "_" in s:
                tests.append("%s ILIKE %s" % (p, lit(s)))
            else:
                tests.append("lower(%s) = %s" % (p, lit(s.lower())))
        for m in mods:
            if m not in ("contains", "startswith", "endswith", "re", "exists", "fieldref", "all"):
                raise SystemExit("unsupported modifier %s" % m)
    joined = (" AND " if "all" in mods else " OR ").join("COALESCE(%s, false)" % t for t in tests)
    return "(" + joined + ")"


def selection(node):
    if isinstance(node, dict):
        return "(" + " AND ".join(item(k, v) for k, v in node.items()) + ")"
    if isinstance(node, list) and all(isinstance(x, dict) for x in node):
        return "(" + " OR ".join(selection(x) for x in node) + ")"
    raise SystemExit("unsupported selection %r" % (node,))


def condition(cond, det):
    toks = re.findall(r"\(|\)|[A-Za-z0-9_*]+", cond)
    pos = [0]

    def peek():
        return toks[pos[0]] if pos[0] < len(toks) else None

    def take():
        pos[0] += 1
        return toks[pos[0] - 1]

    def names(pat):
        rx = re.compile("^" + pat.replace("*", ".*") + "$")
        return [k for k in det if k != "condition" and (pat == "them" and not k.startswith("_") or rx.match(k))]

    def primary():
        t = take()
        if t == "(":
            e = orr()
            take()
            return e
        if t.lower() == "not":
            return "(NOT " + primary() + ")"
        if t in ("1", "all"):
            take()
            ns = names(take())
            return "(" + (" OR " if t == "1" else " AND ").join(selection(det[n]) for n in ns) + ")"
        return selection(det[t])

    def andd():
        e = primary()
        while peek() and peek().lower() == "and":
            take()
            e = "(" + e + " AND " + primary() + ")"
        return e

    def orr():
        e = andd()
        while peek() and peek().lower() == "or":
            take()
            e = "(" + e + " OR " + andd() + ")"
        return e

    return orr()


def gen_sql(files):
    rows = []
    n = 0
    for f in files:
        for doc in yaml.safe_load_all(open(f)):
            if not doc:
                continue
            det = doc["detection"]
            n += 1
            rows.append("(%d, %s)" % (n, condition(det["condition"], det)))
    print(",\n".join(rows))


if __name__ == "__main__":
    if sys.argv[1] == "yaml":
        gen_yaml(int(sys.argv[2]), sys.argv[3])
    else:
        gen_sql(sys.argv[2:])
