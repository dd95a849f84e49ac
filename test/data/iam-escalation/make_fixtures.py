#!/usr/bin/env python3
"""Writes the IAM escalation fixtures of this folder (see README.md).

Each fixture is a small `aws iam get-account-authorization-details` document, written for
correlate from the published descriptions of each technique (Rhino Security Labs' method
list, Bishop Fox's iam-vulnerable paths, pathfinding.cloud).  Every fixture has the
attacker user `attacker` in account 111100002222; most give it one technique and hold an
admin-equivalent target.  Run from anywhere: python3 make_fixtures.py
"""
import json
import os

ACCT = "111100002222"
HERE = os.path.dirname(os.path.abspath(__file__))
ADMIN_DOC = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
SERVICES = ["ec2.amazonaws.com", "lambda.amazonaws.com", "glue.amazonaws.com", "cloudformation.amazonaws.com",
            "datapipeline.amazonaws.com", "sagemaker.amazonaws.com", "codebuild.amazonaws.com",
            "ecs-tasks.amazonaws.com", "tasks.apprunner.amazonaws.com", "bedrock-agentcore.amazonaws.com"]


def arn(kind, name):
    return "arn:aws:iam::%s:%s/%s" % (ACCT, kind, name)


def doc(*stmts):
    return {"Version": "2012-10-17", "Statement": list(stmts)}


def allow(actions, resource="*", **extra):
    s = {"Effect": "Allow", "Action": actions, "Resource": resource}
    s.update(extra)
    return s


def trust(principal, action="sts:AssumeRole"):
    return doc({"Effect": "Allow", "Principal": principal, "Action": action})


def policy(name, document, versions=()):
    vl = [{"Document": document, "VersionId": "v%d" % (len(versions) + 1), "IsDefaultVersion": True,
           "CreateDate": "2024-01-02T00:00:00+00:00"}]
    for i, d in enumerate(versions):
        vl.append({"Document": d, "VersionId": "v%d" % (i + 1), "IsDefaultVersion": False,
                   "CreateDate": "2024-01-01T00:00:00+00:00"})
    return {"PolicyName": name, "PolicyId": "ANPA" + name.upper().replace("-", "")[:16], "Arn": arn("policy", name),
            "Path": "/", "DefaultVersionId": "v%d" % (len(versions) + 1), "AttachmentCount": 1,
            "PermissionsBoundaryUsageCount": 0, "IsAttachable": True, "CreateDate": "2024-01-01T00:00:00+00:00",
            "UpdateDate": "2024-01-02T00:00:00+00:00", "PolicyVersionList": vl}


def user(name, inline=None, managed=(), groups=(), tags=None, boundary=None):
    u = {"Path": "/", "UserName": name, "UserId": "AIDA" + name.upper().replace("-", "")[:16], "Arn": arn("user", name),
         "CreateDate": "2024-01-01T00:00:00+00:00", "GroupList": list(groups),
         "AttachedManagedPolicies": [{"PolicyName": m, "PolicyArn": arn("policy", m)} for m in managed],
         "UserPolicyList": [{"PolicyName": "inline-%d" % i, "PolicyDocument": d} for i, d in enumerate(inline or [])],
         "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()]}
    if boundary:
        u["PermissionsBoundary"] = {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": arn("policy", boundary)}
    return u


def role(name, trust_doc, inline=None, managed=(), profile=False):
    return {"Path": "/", "RoleName": name, "RoleId": "AROA" + name.upper().replace("-", "")[:16], "Arn": arn("role", name),
            "CreateDate": "2024-01-01T00:00:00+00:00", "AssumeRolePolicyDocument": trust_doc,
            "InstanceProfileList": [{"Path": "/", "InstanceProfileName": name, "InstanceProfileId": "AIPA" + name.upper().replace("-", "")[:16],
                                     "Arn": arn("instance-profile", name), "CreateDate": "2024-01-01T00:00:00+00:00",
                                     "Roles": []}] if profile else [],
            "RolePolicyList": [{"PolicyName": "inline-%d" % i, "PolicyDocument": d} for i, d in enumerate(inline or [])],
            "AttachedManagedPolicies": [{"PolicyName": m, "PolicyArn": arn("policy", m)} for m in managed], "Tags": []}


def group(name, inline=None, managed=()):
    return {"Path": "/", "GroupName": name, "GroupId": "AGPA" + name.upper().replace("-", "")[:16], "Arn": arn("group", name),
            "CreateDate": "2024-01-01T00:00:00+00:00",
            "GroupPolicyList": [{"PolicyName": "inline-%d" % i, "PolicyDocument": d} for i, d in enumerate(inline or [])],
            "AttachedManagedPolicies": [{"PolicyName": m, "PolicyArn": arn("policy", m)} for m in managed]}


def account(users=(), roles=(), groups=(), policies=(), service_role=True):
    """An account with the admin policy and, unless service_role is false, the admin role that every
    service trusts and that is in an instance profile (as iam-vulnerable's high-priv service role)."""
    pols = [policy("high-priv-policy", ADMIN_DOC)] + list(policies)
    svc = [role("high-priv-service-role", trust({"Service": SERVICES}), managed=["high-priv-policy"], profile=True)]
    return {"UserDetailList": list(users), "GroupDetailList": list(groups),
            "RoleDetailList": (svc if service_role else []) + list(roles),
            "Policies": pols}


def with_attacker(*stmts, **kw):
    """An account whose attacker holds the statements inline; the admin user and role are targets."""
    return account(users=[user("attacker", inline=[doc(*stmts)], **kw),
                          user("admin-user", managed=["high-priv-policy"])],
                   roles=[role("admin-role", trust({"AWS": arn("user", "operator")}), managed=["high-priv-policy"])],
                   groups=[group("admins", managed=["high-priv-policy"])])


F = {}
# ---- techniques ---------------------------------------------------------------------------
F["assume-role-chain"] = account(
    users=[user("attacker", inline=[doc(allow("sts:AssumeRole", arn("role", "start-role")))])],
    roles=[role("start-role", trust({"AWS": arn("user", "attacker")})),
           role("intermediate-role", trust({"AWS": arn("role", "start-role")})),
           role("ending-role", trust({"AWS": arn("role", "intermediate-role")}), managed=["high-priv-policy"])])
F["create-access-key"] = with_attacker(allow("iam:CreateAccessKey", arn("user", "admin-user")))
F["create-login-profile"] = with_attacker(allow("iam:CreateLoginProfile", arn("user", "admin-user")))
F["update-login-profile"] = with_attacker(allow("iam:UpdateLoginProfile", arn("user", "admin-user")))
F["update-assume-role-policy"] = with_attacker(allow(["iam:UpdateAssumeRolePolicy", "sts:AssumeRole"], arn("role", "admin-role")))
F["add-user-to-group"] = with_attacker(allow("iam:AddUserToGroup", arn("group", "admins")))
F["put-user-policy"] = with_attacker(allow("iam:PutUserPolicy", arn("user", "attacker")))
F["attach-user-policy"] = with_attacker(allow("iam:AttachUserPolicy", arn("user", "attacker")))
for tech in ["PutRolePolicy", "AttachRolePolicy"]:
    # onto a role the attacker can assume, not onto itself
    F[tech.lower().replace("role", "-role-").replace("put", "put").strip("-")] = account(
        users=[user("attacker", inline=[doc(allow("iam:" + tech, "*"), allow("sts:AssumeRole", arn("role", "app-role")))])],
        roles=[role("app-role", trust({"AWS": arn("user", "attacker")}))])
for tech in ["PutGroupPolicy", "AttachGroupPolicy"]:
    F[tech.lower().replace("group", "-group-").strip("-")] = account(
        users=[user("attacker", groups=["devs"])],
        groups=[group("devs", inline=[doc(allow("iam:" + tech, arn("group", "devs")))])])
F["create-policy-version"] = account(
    users=[user("attacker", managed=["dev-policy"])],
    policies=[policy("dev-policy", doc(allow("iam:CreatePolicyVersion", arn("policy", "dev-policy"))))])
F["set-default-policy-version"] = account(
    users=[user("attacker", managed=["dev-policy"])],
    policies=[policy("dev-policy", doc(allow("iam:SetDefaultPolicyVersion", arn("policy", "dev-policy"))),
                     versions=[ADMIN_DOC])])
PASSROLE = {
    "passrole-ec2-run-instances": ["ec2:RunInstances"],
    "passrole-ec2-spot": ["ec2:RequestSpotInstances"],
    "passrole-autoscaling": ["autoscaling:CreateLaunchConfiguration", "autoscaling:CreateAutoScalingGroup"],
    "passrole-lambda-invoke": ["lambda:CreateFunction", "lambda:InvokeFunction"],
    "passrole-lambda-event-source": ["lambda:CreateFunction", "lambda:CreateEventSourceMapping"],
    "passrole-glue-dev-endpoint": ["glue:CreateDevEndpoint"],
    "passrole-glue-job": ["glue:CreateJob", "glue:StartJobRun"],
    "passrole-cloudformation-stack": ["cloudformation:CreateStack"],
    "passrole-cloudformation-change-set": ["cloudformation:CreateChangeSet", "cloudformation:ExecuteChangeSet"],
    "passrole-datapipeline": ["datapipeline:CreatePipeline", "datapipeline:PutPipelineDefinition", "datapipeline:ActivatePipeline"],
    "passrole-sagemaker-notebook": ["sagemaker:CreateNotebookInstance", "sagemaker:CreatePresignedNotebookInstanceUrl"],
    "passrole-sagemaker-training": ["sagemaker:CreateTrainingJob"],
    "passrole-sagemaker-processing": ["sagemaker:CreateProcessingJob"],
    "passrole-codebuild": ["codebuild:CreateProject", "codebuild:StartBuild"],
    "passrole-ecs": ["ecs:RegisterTaskDefinition", "ecs:RunTask"],
    "passrole-apprunner": ["apprunner:CreateService"],
    "passrole-bedrock-agentcore": ["bedrock-agentcore:CreateCodeInterpreter", "bedrock-agentcore:StartCodeInterpreterSession",
                                   "bedrock-agentcore:InvokeCodeInterpreter"],
}
for name, acts in PASSROLE.items():
    F[name] = with_attacker(allow("iam:PassRole", arn("role", "high-priv-service-role")), allow(acts))
EXISTING = {
    "existing-lambda-update-code": ["lambda:UpdateFunctionCode"],
    "existing-lambda-update-configuration": ["lambda:UpdateFunctionConfiguration"],
    "existing-glue-update-dev-endpoint": ["glue:UpdateDevEndpoint"],
    "existing-glue-update-job": ["glue:UpdateJob", "glue:StartJobRun"],
    "existing-cloudformation-update-stack": ["cloudformation:UpdateStack"],
    "existing-cloudformation-change-set": ["cloudformation:CreateChangeSet", "cloudformation:ExecuteChangeSet"],
    "existing-cloudformation-set-stack-policy": ["cloudformation:SetStackPolicy", "cloudformation:UpdateStack"],
    "existing-sagemaker-presigned-url": ["sagemaker:CreatePresignedNotebookInstanceUrl"],
    "existing-codebuild-start-build": ["codebuild:StartBuild"],
    "remote-ssm-send-command": ["ssm:SendCommand"],
    "remote-ssm-start-session": ["ssm:StartSession"],
    "remote-ec2-instance-connect": ["ec2:DescribeInstances", "ec2-instance-connect:SendSSHPublicKey"],
    "remote-ec2-serial-console": ["ec2-instance-connect:SendSerialConsoleSSHPublicKey"],
    "remote-ec2-user-data": ["ec2:ModifyInstanceAttribute", "ec2:StopInstances", "ec2:StartInstances"],
}
for name, acts in EXISTING.items():
    F[name] = with_attacker(allow(acts))

# ---- conditions -----------------------------------------------------------------------------
F["condition-token-issued-after-2020"] = with_attacker(
    allow("iam:PutUserPolicy", arn("user", "attacker"),
          Condition={"DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01T00:00:01Z"}}))
F["condition-mfa"] = with_attacker(
    allow("iam:CreateAccessKey", arn("user", "admin-user"), Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}}))
F["condition-source-ip"] = with_attacker(
    allow("iam:PutUserPolicy", arn("user", "attacker"), Condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}))
F["condition-unknown-key"] = with_attacker(
    allow("iam:PutUserPolicy", arn("user", "attacker"), Condition={"StringEquals": {"aws:PrincipalOrgID": "o-example"}}))
F["condition-principal-tag-matches"] = with_attacker(
    allow("iam:AttachUserPolicy", arn("user", "attacker"), Condition={"StringEquals": {"aws:PrincipalTag/team": "platform"}}),
    tags={"team": "platform"})
F["condition-request-tag"] = with_attacker(
    allow("iam:PassRole", arn("role", "high-priv-service-role")),
    allow("ec2:RunInstances", Condition={"StringEquals": {"aws:RequestTag/owner": "me"}}))
F["condition-passed-to-service"] = with_attacker(
    allow("iam:PassRole", arn("role", "high-priv-service-role"),
          Condition={"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}),
    allow(["lambda:CreateFunction", "lambda:InvokeFunction", "ec2:RunInstances"]))
F["notaction-exploitable"] = with_attacker({"Effect": "Allow", "NotAction": ["iam:Update*", "iam:Create*", "iam:Attach*"],
                                            "Resource": "*"})
F["resource-constraint-exploitable"] = account(
    users=[user("attacker", managed=["fn2-policy"])],
    policies=[policy("fn2-policy", doc(allow("iam:CreatePolicyVersion", "arn:aws:iam::*:policy/fn2-*")))])
F["split-over-policies"] = account(
    users=[user("attacker", managed=["run-part"], inline=[doc(allow("iam:PassRole", arn("role", "high-priv-service-role")))])],
    policies=[policy("run-part", doc(allow("ec2:RunInstances")))])

# ---- traps: each looks dangerous, none can be used ----------------------------------------
F["trap-resource-constraint"] = account(
    users=[user("attacker", managed=["fp4-policy"])],
    policies=[policy("fp4-policy", doc(allow("iam:CreatePolicyVersion", "arn:aws:iam::aws:policy/fp4-*")))])
F["trap-notaction"] = with_attacker({"Effect": "Allow", "Resource": "*", "NotAction": [
    "iam:*", "sts:*", "lambda:*", "ec2:*", "ec2-instance-connect:*", "ssm:*", "glue:*", "cloudformation:*", "sagemaker:*",
    "codebuild:*", "ecs:*", "datapipeline:*", "apprunner:*", "autoscaling:*", "bedrock-agentcore:*"]})
F["trap-partial-grant"] = with_attacker(allow("iam:PassRole", arn("role", "high-priv-service-role")),
                                        allow(["lambda:CreateFunction", "glue:GetDevEndpoints", "ecs:RegisterTaskDefinition"]))
F["trap-condition-token-issued-before-2020"] = with_attacker(
    allow("iam:PutUserPolicy", arn("user", "attacker"),
          Condition={"DateLessThan": {"aws:TokenIssueTime": "2020-01-01T00:00:01Z"}}))
F["trap-condition-principal-tag"] = with_attacker(
    allow("iam:AttachUserPolicy", arn("user", "attacker"), Condition={"StringEquals": {"aws:PrincipalTag/team": "admins"}}),
    tags={"team": "dev"})
F["trap-condition-resource-tag"] = with_attacker(
    allow("iam:CreateAccessKey", "*", Condition={"StringEquals": {"aws:ResourceTag/team": "sandbox"}}))
F["trap-condition-passed-to-service"] = with_attacker(
    allow("iam:PassRole", arn("role", "high-priv-service-role"),
          Condition={"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}),
    allow(["lambda:CreateFunction", "lambda:InvokeFunction"]))
F["trap-boundary"] = account(
    users=[user("attacker", inline=[doc(allow(["iam:PutUserPolicy", "iam:AttachUserPolicy"], "*"))], boundary="s3-only")],
    policies=[policy("s3-only", doc(allow("s3:*")))])
F["trap-explicit-deny"] = account(
    users=[user("attacker", managed=["iam-all", "deny-iam"])],
    policies=[policy("iam-all", doc(allow("iam:*"))), policy("deny-iam", doc({"Effect": "Deny", "Action": "iam:*", "Resource": "*"}))])
F["trap-allow-and-deny-same-policy"] = with_attacker(
    allow("iam:CreateAccessKey", arn("user", "admin-user")),
    {"Effect": "Deny", "Action": "iam:CreateAccessKey", "Resource": "*"})
F["trap-trust-refuses"] = account(
    users=[user("attacker", inline=[doc(allow("sts:AssumeRole", "*"), allow("iam:PutRolePolicy", "*"))])],
    roles=[role("app-role", trust({"AWS": arn("user", "operator")}))])
F["trap-no-instance-profile"] = account(
    users=[user("attacker", inline=[doc(allow(["ssm:SendCommand", "ec2-instance-connect:SendSSHPublicKey"]))])],
    roles=[role("lambda-only", trust({"Service": "lambda.amazonaws.com"}), managed=["high-priv-policy"])], service_role=False)

for name, body in sorted(F.items()):
    with open(os.path.join(HERE, name + ".json"), "w") as f:
        json.dump(body, f, indent=1, sort_keys=True)
        f.write("\n")
print(len(F), "fixtures")
