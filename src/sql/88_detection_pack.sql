-- 88_detection_pack.sql: the builtin Sigma rule pack, written by the correlate project for
-- CloudTrail and Kubernetes audit logs (docs/detection.md has its ATT&CK coverage table).
--
-- The pack is data in correlate.detection_pack (one multi-document YAML text per log
-- source), not tenant rules: correlate.load_builtin_detections() loads it into the calling
-- tenant's correlate.detection_rule (builtin = true), and loading it again replaces the
-- rules by their Sigma ids.  CREATE EXTENSION loads nothing into any tenant.

CREATE TABLE correlate.detection_pack (
	name text PRIMARY KEY CHECK (name ~ '^[a-z0-9_]+$'),
	yaml text NOT NULL
);
COMMENT ON TABLE correlate.detection_pack IS 'The builtin Sigma rules (one multi-document YAML text per log source), loaded per tenant by correlate.load_builtin_detections().';
COMMENT ON COLUMN correlate.detection_pack.name IS 'Pack name: the event source its rules run over.';
COMMENT ON COLUMN correlate.detection_pack.yaml IS 'The pack''s Sigma rules, YAML documents separated by ---.';

INSERT INTO correlate.detection_pack (name, yaml) VALUES ('cloudtrail', $sigma$
title: Secrets Manager Secret Values Read By A Long-Term User
id: 3f54e98c-cb33-5bac-9010-e71ead7a7d7b
status: experimental
description: An IAM user or the root user (not a workload role) read secret values from Secrets Manager; workloads read secrets through roles, people rarely need the values.
author: correlate project
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: secretsmanager.amazonaws.com
    eventName:
      - GetSecretValue
      - BatchGetSecretValue
    userIdentity.type:
      - IAMUser
      - Root
  failed:
    errorCode|exists: true
  condition: selection and not failed
level: medium
tags:
  - attack.credential-access
  - attack.t1555.006
---
title: SSM SecureString Parameters Decrypted By A Long-Term User
id: 6e2a6c3c-e505-5492-b0cd-3ffcd8d9b05f
status: experimental
description: An IAM user or the root user asked Parameter Store for decrypted SecureString values.
author: correlate project
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: ssm.amazonaws.com
    eventName:
      - GetParameter
      - GetParameters
      - GetParametersByPath
    requestParameters.withDecryption: true
    userIdentity.type:
      - IAMUser
      - Root
  failed:
    errorCode|exists: true
  condition: selection and not failed
level: medium
tags:
  - attack.credential-access
  - attack.t1555.006
---
title: CloudTrail Trail Stopped, Deleted Or Narrowed
id: f4f81b2d-9283-538d-a7ea-4b2007342bbf
status: experimental
description: A trail stopped logging, was deleted, or had its event selectors or settings changed, which can blind the audit log.
author: correlate project
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: cloudtrail.amazonaws.com
    eventName:
      - StopLogging
      - DeleteTrail
      - PutEventSelectors
      - UpdateTrail
  failed:
    errorCode|exists: true
  condition: selection and not failed
level: high
tags:
  - attack.defense-evasion
  - attack.t1562.008
---
title: VPC Flow Logs Or DNS Query Logging Removed
id: d2212ab7-6fd0-5188-b033-6ce8232ae8a6
status: experimental
description: Network telemetry was switched off, VPC flow logs deleted or Route 53 Resolver query logging removed.
author: correlate project
logsource:
  product: aws
  service: cloudtrail
detection:
  flow_logs:
    eventSource: ec2.amazonaws.com
    eventName: DeleteFlowLogs
  dns_logs:
    eventSource: route53resolver.amazonaws.com
    eventName:
      - DeleteResolverQueryLogConfig
      - DisassociateResolverQueryLogConfig
  failed:
    errorCode|exists: true
  condition: (flow_logs or dns_logs) and not failed
level: high
tags:
  - attack.defense-evasion
  - attack.t1562.008
---
title: GPU Or Very Large EC2 Instances Requested
id: 503e165b-5c5c-5802-8f2d-2b0f8c5c224a
status: experimental
description: RunInstances asked for GPU, accelerator or memory-optimised instance families that crypto-mining and model abuse favour; denied attempts count too.
author: correlate project
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: ec2.amazonaws.com
    eventName: RunInstances
    requestParameters.instanceType|startswith:
      - 'p2.'
      - 'p3.'
      - 'p3dn.'
      - 'p4d.'
      - 'p4de.'
      - 'p5.'
      - 'g3.'
      - 'g4dn.'
      - 'g4ad.'
      - 'g5.'
      - 'g6.'
      - 'inf1.'
      - 'inf2.'
      - 'trn1.'
      - 'dl1.'
      - 'x1.'
      - 'x1e.'
      - 'x2'
      - 'u-'
  condition: selection
level: medium
tags:
  - attack.execution
  - attack.impact
  - attack.t1496
---
title: EC2 Instance User Data Modified
id: 3cc7796e-46b3-5ba0-862b-b0a2a334996b
status: experimental
description: ModifyInstanceAttribute changed an instance's user data, the script it runs at boot.
author: correlate project
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: ec2.amazonaws.com
    eventName: ModifyInstanceAttribute
  user_data:
    - requestParameters.userData|exists: true
    - requestParameters.attribute: userData
  failed:
    errorCode|exists: true
  condition: selection and user_data and not failed
level: medium
tags:
  - attack.execution
  - attack.persistence
  - attack.t1059.009
---
title: Commands Or Sessions Started On Instances Through SSM
id: 7f649e9d-9afa-5618-8a43-27195ec6b241
status: experimental
description: SSM Run Command or Session Manager ran commands on instances.
author: correlate project
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: ssm.amazonaws.com
    eventName:
      - SendCommand
      - StartSession
      - ResumeSession
  failed:
    errorCode|exists: true
  condition: selection and not failed
level: medium
tags:
  - attack.execution
  - attack.t1651
---
title: Security Group Opened To Any Address
id: 8f7964e1-a54f-5d72-a676-68f2eb77beb1
status: experimental
description: An ingress rule allowed a /0 block (any IPv4 or IPv6 address).
author: correlate project
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: ec2.amazonaws.com
    eventName: AuthorizeSecurityGroupIngress
  any_v4:
    - requestParameters.cidrIp|endswith: '/0'
    - requestParameters.ipPermissions.items.ipRanges.items.cidrIp|endswith: '/0'
  any_v6:
    - requestParameters.cidrIpv6|endswith: '::/0'
    - requestParameters.ipPermissions.items.ipv6Ranges.items.cidrIpv6|endswith: '::/0'
  failed:
    errorCode|exists: true
  condition: selection and 1 of any_* and not failed
level: high
tags:
  - attack.exfiltration
  - attack.defense-evasion
  - attack.t1562.007
---
title: Snapshot Or Machine Image Shared With Another Account
id: d4b5cf80-3588-5adb-aeb3-19ab0c64b612
status: experimental
description: An EBS snapshot, AMI or RDS snapshot was shared with another account, a way to copy data out.
author: correlate project
logsource:
  product: aws
  service: cloudtrail
detection:
  sel_ebs:
    eventName: ModifySnapshotAttribute
    requestParameters.createVolumePermission.add|exists: true
  sel_ami:
    eventName: ModifyImageAttribute
    requestParameters.launchPermission.add|exists: true
  sel_rds:
    eventName:
      - ModifyDBSnapshotAttribute
      - ModifyDBClusterSnapshotAttribute
    requestParameters.attributeName: restore
    requestParameters.valuesToAdd|exists: true
  failed:
    errorCode|exists: true
  condition: 1 of sel_* and not failed
level: high
tags:
  - attack.exfiltration
  - attack.t1537
---
title: Bedrock Foundation Model Access Enabled
id: 88f8669e-cf61-5a64-bd5c-26ac65993bce
status: experimental
description: Someone enabled access to Bedrock foundation models (use case, agreement, entitlement), the first step of model abuse with stolen credentials.
author: correlate project
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: bedrock.amazonaws.com
    eventName:
      - PutUseCaseForModelAccess
      - CreateFoundationModelAgreement
      - PutFoundationModelEntitlement
  condition: selection
level: medium
tags:
  - attack.impact
  - attack.t1496
---
title: Console Sign-In Without MFA
id: d21fac47-545a-5c98-bf71-98eaf45d4b56
status: experimental
description: A successful AWS console sign-in that did not use MFA.
author: correlate project
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: signin.amazonaws.com
    eventName: ConsoleLogin
    responseElements.ConsoleLogin: Success
    additionalEventData.MFAUsed: 'No'
  condition: selection
level: medium
tags:
  - attack.initial-access
  - attack.t1078.004
---
title: SSH Key Pushed To An Instance Through EC2 Instance Connect
id: 77c27bad-2d79-5812-8722-e6e5f606e013
status: experimental
description: EC2 Instance Connect installed a temporary SSH key on an instance (or its serial console).
author: correlate project
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: ec2-instance-connect.amazonaws.com
    eventName:
      - SendSSHPublicKey
      - SendSerialConsoleSSHPublicKey
  failed:
    errorCode|exists: true
  condition: selection and not failed
level: medium
tags:
  - attack.lateral-movement
  - attack.t1021.008
---
title: IAM Role Trust Policy Changed
id: ebf6d63a-1b5b-5797-bec4-d3c802876c40
status: experimental
description: UpdateAssumeRolePolicy changed who may assume a role, the usual way to backdoor one.
author: correlate project
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: iam.amazonaws.com
    eventName: UpdateAssumeRolePolicy
  failed:
    errorCode|exists: true
  condition: selection and not failed
level: medium
tags:
  - attack.persistence
  - attack.privilege-escalation
  - attack.t1098
---
title: Administrator Policy Attached To An IAM Identity
id: 6b95c266-9e89-55fe-8d5d-a295a3c0054b
status: experimental
description: An AWS managed policy granting full or IAM-wide access was attached to a user, role or group.
author: correlate project
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: iam.amazonaws.com
    eventName:
      - AttachUserPolicy
      - AttachRolePolicy
      - AttachGroupPolicy
    requestParameters.policyArn|endswith:
      - ':policy/AdministratorAccess'
      - ':policy/IAMFullAccess'
  failed:
    errorCode|exists: true
  condition: selection and not failed
level: high
tags:
  - attack.privilege-escalation
  - attack.persistence
  - attack.t1098.003
---
title: Access Key Created For Another IAM User
id: 591458fc-2a09-519b-9117-62c58d402f38
status: experimental
description: CreateAccessKey for a user other than the caller gives the caller lasting credentials of that user.
author: correlate project
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: iam.amazonaws.com
    eventName: CreateAccessKey
    requestParameters.userName|exists: true
  own_key:
    userIdentity.arn|fieldref|endswith: requestParameters.userName
  failed:
    errorCode|exists: true
  condition: selection and not own_key and not failed
level: medium
tags:
  - attack.persistence
  - attack.t1098.001
---
title: Console Password Set For Another IAM User
id: f5c7e14d-b68d-5986-9fbd-da69485a7f6e
status: experimental
description: CreateLoginProfile or UpdateLoginProfile for a user other than the caller lets the caller sign in as that user.
author: correlate project
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: iam.amazonaws.com
    eventName:
      - CreateLoginProfile
      - UpdateLoginProfile
    requestParameters.userName|exists: true
  own_profile:
    userIdentity.arn|fieldref|endswith: requestParameters.userName
  failed:
    errorCode|exists: true
  condition: selection and not own_profile and not failed
level: high
tags:
  - attack.persistence
  - attack.privilege-escalation
  - attack.t1098
---
title: Lambda Function Invocable By Any Principal
id: 702a5f8d-c3ef-59ba-ac7b-c6cf19557e6b
status: experimental
description: A Lambda resource policy statement was added for principal "*", so anyone can invoke the function.
author: correlate project
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: lambda.amazonaws.com
    eventName|startswith: AddPermission
    requestParameters.principal: '\*'
  failed:
    errorCode|exists: true
  condition: selection and not failed
level: high
tags:
  - attack.persistence
  - attack.t1546
---
title: Lambda Layer Added To A Function
id: 939d2eeb-edcf-5a61-a721-1c41b6a3e2d4
status: experimental
description: UpdateFunctionConfiguration set layers on a function; a layer (or extension) runs code inside every invocation.
author: correlate project
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: lambda.amazonaws.com
    eventName|startswith: UpdateFunctionConfiguration
    requestParameters.layers|exists: true
  failed:
    errorCode|exists: true
  condition: selection and not failed
level: medium
tags:
  - attack.persistence
  - attack.t1546
---
title: Lambda Function Code Replaced By A Long-Term User
id: 563e92c9-7b9a-57f6-8c08-2ab2538126bd
status: experimental
description: An IAM user or the root user uploaded new code for a function; deployments normally come from pipeline roles.
author: correlate project
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: lambda.amazonaws.com
    eventName|startswith: UpdateFunctionCode
    userIdentity.type:
      - IAMUser
      - Root
  failed:
    errorCode|exists: true
  condition: selection and not failed
level: medium
tags:
  - attack.persistence
  - attack.execution
  - attack.t1525
---
title: Threat Detection Or Configuration Recording Disabled
id: b6cf20de-d065-55a1-9b5e-3633b95b2acb
status: experimental
description: GuardDuty detectors or members were deleted, or AWS Config recording stopped or removed.
author: correlate project
logsource:
  product: aws
  service: cloudtrail
detection:
  guardduty:
    eventSource: guardduty.amazonaws.com
    eventName:
      - DeleteDetector
      - DeleteMembers
      - DisassociateFromMasterAccount
      - DisassociateFromAdministratorAccount
  config:
    eventSource: config.amazonaws.com
    eventName:
      - StopConfigurationRecorder
      - DeleteConfigurationRecorder
      - DeleteDeliveryChannel
  failed:
    errorCode|exists: true
  condition: (guardduty or config) and not failed
level: high
tags:
  - attack.defense-evasion
  - attack.t1562.001
---
title: Account-Wide IAM Enumeration
id: 40f00bcc-d7e1-5bcc-8c7d-9184c5c86c3b
status: experimental
description: GetAccountAuthorizationDetails returns every user, role, group and policy of the account at once, a favourite of reconnaissance tools.
author: correlate project
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: iam.amazonaws.com
    eventName: GetAccountAuthorizationDetails
  condition: selection
level: low
tags:
  - attack.discovery
  - attack.t1087.004
$sigma$), ('k8s_audit', $sigma$
title: Shell Access Into A Pod
id: 4e998374-0ba2-5271-886e-7b7831cb092c
status: experimental
description: Someone opened exec or attach into a running container.
author: correlate project
logsource:
  product: kubernetes
  service: audit
detection:
  selection:
    verb: create
    objectRef.resource: pods
    objectRef.subresource:
      - exec
      - attach
  condition: selection
level: medium
tags:
  - attack.execution
  - attack.t1609
---
title: RBAC Binding Created Or Changed By A User
id: d25bb831-254d-5c0f-b511-cd2a0c03de2d
status: experimental
description: A person (not a control-plane component) created or changed a role binding or cluster role binding, granting a subject new permissions.
author: correlate project
logsource:
  product: kubernetes
  service: audit
detection:
  selection:
    objectRef.resource:
      - clusterrolebindings
      - rolebindings
    verb:
      - create
      - update
      - patch
  system:
    user.username|startswith: 'system:'
  condition: selection and not system
level: medium
tags:
  - attack.privilege-escalation
  - attack.persistence
  - attack.t1098
---
title: Cluster-Admin Or Wildcard Permissions Granted
id: 7e139e64-bfaa-591b-8607-ef1b2b1a501f
status: experimental
description: A binding to cluster-admin, or a role whose rules grant every verb or every resource.
author: correlate project
logsource:
  product: kubernetes
  service: audit
detection:
  binding:
    objectRef.resource:
      - clusterrolebindings
      - rolebindings
    verb:
      - create
      - update
      - patch
    requestObject.roleRef.name: cluster-admin
  wildcard_role:
    objectRef.resource:
      - clusterroles
      - roles
    verb:
      - create
      - update
      - patch
  wildcard:
    - requestObject.rules.verbs: '\*'
    - requestObject.rules.resources: '\*'
  condition: binding or (wildcard_role and wildcard)
level: high
tags:
  - attack.privilege-escalation
  - attack.t1078.001
---
title: RBAC Role Created Or Changed By A User
id: 7c1f0706-dec8-53e3-8ee0-e34d8f739a11
status: experimental
description: A person (not a control-plane component) created or changed a role or cluster role.
author: correlate project
logsource:
  product: kubernetes
  service: audit
detection:
  selection:
    objectRef.resource:
      - clusterroles
      - roles
    verb:
      - create
      - update
      - patch
  system:
    user.username|startswith: 'system:'
  condition: selection and not system
level: low
tags:
  - attack.persistence
  - attack.privilege-escalation
  - attack.t1098
---
title: Access Objects Deleted By A User
id: d8e7d320-2cc0-5d5f-9c84-79f5f0e271c1
status: experimental
description: A person deleted roles, bindings or service accounts, which can cut others' access or remove traces.
author: correlate project
logsource:
  product: kubernetes
  service: audit
detection:
  selection:
    objectRef.resource:
      - clusterroles
      - clusterrolebindings
      - roles
      - rolebindings
      - serviceaccounts
    verb:
      - delete
      - deletecollection
  system:
    user.username|startswith: 'system:'
  condition: selection and not system
level: medium
tags:
  - attack.defense-evasion
  - attack.impact
  - attack.t1531
---
title: Workload Created In A System Namespace
id: 2a0a2409-c7e7-5501-805b-a12c4b5ffe0f
status: experimental
description: A pod or workload was created in kube-system or kube-public, where it hides among cluster components and often runs with more privilege.
author: correlate project
logsource:
  product: kubernetes
  service: audit
detection:
  selection:
    verb: create
    objectRef.namespace:
      - kube-system
      - kube-public
    objectRef.resource:
      - pods
      - deployments
      - daemonsets
      - statefulsets
      - replicasets
      - jobs
      - cronjobs
  subresource:
    objectRef.subresource|exists: true
  condition: selection and not subresource
level: medium
tags:
  - attack.persistence
  - attack.defense-evasion
  - attack.t1610
---
title: Service Account Created By A User
id: 5d8931b1-3119-5c95-8c86-67ec5a35d207
status: experimental
description: A person (not a controller) created a service account, an identity that outlives their own access.
author: correlate project
logsource:
  product: kubernetes
  service: audit
detection:
  selection:
    verb: create
    objectRef.resource: serviceaccounts
  system:
    user.username|startswith: 'system:'
  condition: selection and not system
level: medium
tags:
  - attack.persistence
  - attack.t1136
---
title: Secret Written Or Deleted By A User
id: a80f6b6d-f620-5c28-ae9f-90c5bc43a470
status: experimental
description: A person (not a controller) created, changed or deleted a secret.
author: correlate project
logsource:
  product: kubernetes
  service: audit
detection:
  selection:
    objectRef.resource: secrets
    verb:
      - create
      - update
      - patch
      - delete
      - deletecollection
  system:
    user.username|startswith: 'system:'
  condition: selection and not system
level: medium
tags:
  - attack.credential-access
  - attack.persistence
  - attack.impact
  - attack.t1552.007
---
title: Secrets Read By A User Or In kube-system
id: 533c305b-65a0-528c-a5f0-9c5810e7bcc6
status: experimental
description: A person read or listed secrets, or anyone but a node or controller read secrets of kube-system.
author: correlate project
logsource:
  product: kubernetes
  service: audit
detection:
  selection:
    objectRef.resource: secrets
    verb:
      - get
      - list
      - watch
  system_ns:
    objectRef.namespace: kube-system
  system:
    user.username|startswith: 'system:'
  component:
    user.username|startswith:
      - 'system:node:'
      - 'system:kube-'
      - 'system:serviceaccount:kube-system:'
  condition: selection and (not system or (system_ns and not component))
level: medium
tags:
  - attack.credential-access
  - attack.t1552.007
---
title: Workloads, Services Or Namespaces Deleted By A User
id: 4526d124-9e92-528d-afab-cc8652291a33
status: experimental
description: A person deleted deployments, daemon sets, stateful sets, services, config maps or namespaces.
author: correlate project
logsource:
  product: kubernetes
  service: audit
detection:
  selection:
    objectRef.resource:
      - deployments
      - daemonsets
      - statefulsets
      - replicasets
      - services
      - configmaps
      - namespaces
    verb:
      - delete
      - deletecollection
  system:
    user.username|startswith: 'system:'
  condition: selection and not system
level: low
tags:
  - attack.impact
  - attack.t1485
  - attack.t1489
---
title: Namespace Created By A User
id: d355f1c5-4570-5db2-99a6-78b981a593a9
status: experimental
description: A person created a namespace, a fresh place to run workloads away from existing policies and monitoring.
author: correlate project
logsource:
  product: kubernetes
  service: audit
detection:
  selection:
    verb: create
    objectRef.resource: namespaces
  system:
    user.username|startswith: 'system:'
  condition: selection and not system
level: low
tags:
  - attack.defense-evasion
  - attack.t1564
---
title: Privileged Or Host-Access Pod Created
id: 93197617-aaa8-50b0-8708-4b3ce428f28e
status: experimental
description: A pod (or workload template) asks for a privileged container, added kernel capabilities, the host's PID, IPC or network namespace, or a hostPath volume.
author: correlate project
logsource:
  product: kubernetes
  service: audit
detection:
  selection:
    verb:
      - create
      - update
      - patch
    objectRef.resource:
      - pods
      - deployments
      - daemonsets
      - statefulsets
      - replicasets
      - jobs
      - cronjobs
  pod_spec:
    - requestObject.spec.containers.securityContext.privileged: true
    - requestObject.spec.initContainers.securityContext.privileged: true
    - requestObject.spec.containers.securityContext.capabilities.add:
        - SYS_ADMIN
        - SYS_PTRACE
        - SYS_MODULE
        - NET_ADMIN
        - ALL
    - requestObject.spec.hostPID: true
    - requestObject.spec.hostIPC: true
    - requestObject.spec.hostNetwork: true
    - requestObject.spec.volumes.hostPath|exists: true
  template_spec:
    - requestObject.spec.template.spec.containers.securityContext.privileged: true
    - requestObject.spec.template.spec.hostPID: true
    - requestObject.spec.template.spec.hostNetwork: true
    - requestObject.spec.template.spec.volumes.hostPath|exists: true
    - requestObject.spec.jobTemplate.spec.template.spec.containers.securityContext.privileged: true
  condition: selection and 1 of *_spec
level: high
tags:
  - attack.privilege-escalation
  - attack.t1611
---
title: Anonymous Request Allowed By The API Server
id: 7ed329d6-21f9-5683-a43a-b69fa1b64422
status: experimental
description: The API server authorised a request from system:anonymous.
author: correlate project
logsource:
  product: kubernetes
  service: audit
detection:
  selection:
    user.username: 'system:anonymous'
    annotations.authorization.k8s.io/decision: allow
  health:
    requestURI:
      - /healthz
      - /livez
      - /readyz
      - /version
  condition: selection and not health
level: high
tags:
  - attack.initial-access
  - attack.t1078.001
$sigma$);

CREATE FUNCTION correlate.load_builtin_detections()
RETURNS TABLE (sigma_id text, title text, source text, replaced boolean)
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT s.sigma_id, s.title, s.source, s.replaced
	FROM correlate.detection_pack p, LATERAL correlate._store_rules(p.yaml, 'builtin pack ' || p.name, true) s
	ORDER BY s.source, s.title
$$;
COMMENT ON FUNCTION correlate.load_builtin_detections()
	IS 'Loads (or refreshes) the builtin Sigma rule pack into the current tenant''s detection rules.';

GRANT SELECT ON correlate.detection_pack TO correlate_reader;
GRANT EXECUTE ON FUNCTION correlate.load_builtin_detections() TO correlate_admin;
