#!/usr/bin/env python3
"""Generates synthetic CloudTrail records shaped like real ones (userIdentity with a
sessionContext, requestParameters, responseElements, resources[]), for benchmarks.

usage: gen_cloudtrail.py N [--records-wrapper] [--bytes TARGET] > file
  N                 number of records (ignored with --bytes)
  --records-wrapper one {"Records":[...]} document (default: one record per line)
  --bytes TARGET    write records until the output is at least TARGET bytes
Deterministic: the same arguments give the same output.
"""
import json, random, sys, uuid

ACCOUNT = "111122223333"
ROLES = ["legacy-webapp-role", "ci-deployer", "data-pipeline", "ops-admin", "lambda-exec"]
USERS = ["alice", "bob", "carol"]
CALLS = [
    ("s3.amazonaws.com", "GetObject", True), ("s3.amazonaws.com", "PutObject", False),
    ("s3.amazonaws.com", "ListBuckets", True), ("ec2.amazonaws.com", "DescribeInstances", True),
    ("ec2.amazonaws.com", "StartInstances", False), ("sts.amazonaws.com", "AssumeRole", False),
    ("iam.amazonaws.com", "GetRole", True), ("kms.amazonaws.com", "Decrypt", True),
    ("secretsmanager.amazonaws.com", "GetSecretValue", True),
]
BUCKETS = ["acme-customer-pii", "acme-logs", "acme-artifacts", "acme-backups"]


def record(i, rnd):
    src, name, ro = CALLS[rnd.randrange(len(CALLS))]
    t = 1763632800 + i // 10
    ts = "2026-11-%02dT%02d:%02d:%02dZ" % (10 + (t // 86400) % 10, (t // 3600) % 24, (t // 60) % 60, t % 60)
    rid = uuid.UUID(int=rnd.getrandbits(128))
    if rnd.random() < 0.8:
        role = ROLES[rnd.randrange(len(ROLES))]
        ident = {
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLE%05d:botocore-session-%d" % (ROLES.index(role), 1763632800 + i % 50),
            "arn": "arn:aws:sts::%s:assumed-role/%s/botocore-session-%d" % (ACCOUNT, role, 1763632800 + i % 50),
            "accountId": ACCOUNT, "accessKeyId": "ASIAEXAMPLE%09d" % (i % 1000),
            "sessionContext": {
                "sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLE%05d" % ROLES.index(role),
                                  "arn": "arn:aws:iam::%s:role/%s" % (ACCOUNT, role), "accountId": ACCOUNT,
                                  "userName": role},
                "webIdFederationData": {},
                "attributes": {"creationDate": ts, "mfaAuthenticated": "false"}}}
    else:
        user = USERS[rnd.randrange(len(USERS))]
        ident = {"type": "IAMUser", "principalId": "AIDAEXAMPLE%s" % user.upper(),
                 "arn": "arn:aws:iam::%s:user/%s" % (ACCOUNT, user), "accountId": ACCOUNT,
                 "accessKeyId": "AKIAEXAMPLE%s" % user.upper(), "userName": user}
    req, res, resp = None, None, None
    if src.startswith("s3") and name != "ListBuckets":
        b = BUCKETS[rnd.randrange(len(BUCKETS))]
        key = "exports/part-%05d.csv" % rnd.randrange(2000)
        req = {"bucketName": b, "Host": "%s.s3.us-east-1.amazonaws.com" % b, "key": key}
        res = [{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::%s/%s" % (b, key)},
               {"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::%s" % b}]
    elif name == "StartInstances":
        iid = "i-%017x" % rnd.randrange(1 << 60)
        req = {"instancesSet": {"items": [{"instanceId": iid}]}}
        resp = {"instancesSet": {"items": [{"instanceId": iid, "currentState": {"code": 0, "name": "pending"},
                                            "previousState": {"code": 80, "name": "stopped"}}]}}
    elif name == "DescribeInstances":
        req = {"instancesSet": {}, "filterSet": {}}
    elif name == "AssumeRole":
        req = {"roleArn": "arn:aws:iam::%s:role/%s" % (ACCOUNT, ROLES[rnd.randrange(len(ROLES))]),
               "roleSessionName": "session-%d" % (i % 100)}
    elif name == "GetRole":
        req = {"roleName": ROLES[rnd.randrange(len(ROLES))]}
    elif name == "GetSecretValue":
        req = {"secretId": "arn:aws:secretsmanager:us-east-1:%s:secret:db-password-AbCdEf" % ACCOUNT}
    r = {
        "eventVersion": "1.09", "userIdentity": ident, "eventTime": ts, "eventSource": src,
        "eventName": name, "awsRegion": "us-east-1",
        "sourceIPAddress": "10.0.%d.%d" % (rnd.randrange(4), rnd.randrange(1, 255)),
        "userAgent": "Boto3/1.34.2 md/Botocore#1.34.2 ua/2.0 os/linux#5.10.0 md/arch#x86_64 lang/python#3.11.6 cfg/retry-mode#legacy Botocore/1.34.2",
        "requestParameters": req, "responseElements": resp,
        "requestID": str(uuid.UUID(int=rnd.getrandbits(128))).upper(), "eventID": str(rid),
        "readOnly": ro, "eventType": "AwsApiCall", "managementEvent": not src.startswith("s3"),
        "recipientAccountId": ACCOUNT, "eventCategory": "Data" if src.startswith("s3") else "Management",
        "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                       "clientProvidedHostHeader": src.replace(".amazonaws.com", ".us-east-1.amazonaws.com")},
    }
    if res:
        r["resources"] = res
    if rnd.random() < 0.05:
        r["errorCode"] = "AccessDenied"
        r["errorMessage"] = "User is not authorized to perform this operation"
    return r


def main():
    args = sys.argv[1:]
    wrapper = "--records-wrapper" in args
    target = None
    if "--bytes" in args:
        target = int(args[args.index("--bytes") + 1])
    n = int(args[0]) if args and args[0].isdigit() else 0
    rnd = random.Random(42)
    out = sys.stdout
    written = 0
    i = 0
    if wrapper:
        out.write('{"Records":[')
    while (target is not None and written < target) or (target is None and i < n):
        line = json.dumps(record(i, rnd), separators=(",", ":"))
        if wrapper:
            line = ("," if i else "") + line
        else:
            line += "\n"
        out.write(line)
        written += len(line)
        i += 1
    if wrapper:
        out.write("]}\n")


if __name__ == "__main__":
    main()
