-- 00_catalog.sql: the schema (an extension member, so DROP EXTENSION removes it; the
-- control file names pg_catalog as the extension schema, as pg_cron does) and the catalogs of resource and relationship kinds.
--
-- Kinds are validated against these catalogs so that a typo ('k8s:Pod') is an error
-- instead of a silently disconnected node.  Built-in rows ship with the extension;
-- rows an administrator adds are user data and survive pg_dump.

CREATE SCHEMA correlate;
COMMENT ON SCHEMA correlate IS 'correlate: cross-domain security correlation (resources, relationships, events, findings)';

CREATE TABLE correlate.resource_kind (
	kind        text PRIMARY KEY CHECK (kind ~ '^[a-z0-9][a-z0-9:._-]*$'),
	domain      text NOT NULL CHECK (domain IN ('network', 'identity', 'workload', 'kubernetes', 'data', 'cloud', 'compliance')),
	description text NOT NULL,
	builtin     boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE correlate.resource_kind IS 'Known resource kinds and the domain each belongs to; add rows to teach correlate a new kind.';
COMMENT ON COLUMN correlate.resource_kind.kind IS 'Kind name, lower case, provider:service:type (e.g. aws:iam:role, k8s:pod).';
COMMENT ON COLUMN correlate.resource_kind.domain IS 'Security domain: network, identity, workload, kubernetes, data, cloud or compliance.';
COMMENT ON COLUMN correlate.resource_kind.description IS 'What a resource of this kind is.';
COMMENT ON COLUMN correlate.resource_kind.builtin IS 'True for kinds shipped with the extension (not dumped; recreated by CREATE EXTENSION).';

INSERT INTO correlate.resource_kind (kind, domain, description, builtin) VALUES
	('internet',                    'network',    'The public internet: the outside world every exposure starts from', true),
	('network:ip',                  'network',    'An IP address seen in telemetry that no known resource owns', true),
	('network:cidr',                'network',    'A network range', true),
	('aws:ec2:vpc',                 'network',    'AWS VPC', true),
	('aws:ec2:subnet',              'network',    'AWS subnet', true),
	('aws:ec2:security-group',      'network',    'AWS security group', true),
	('aws:ec2:network-interface',   'network',    'AWS elastic network interface', true),
	('aws:elb:load-balancer',       'network',    'AWS load balancer', true),
	('k8s:service',                 'kubernetes', 'Kubernetes Service', true),
	('k8s:ingress',                 'kubernetes', 'Kubernetes Ingress', true),
	('k8s:networkpolicy',           'kubernetes', 'Kubernetes NetworkPolicy', true),
	('k8s:namespace',               'kubernetes', 'Kubernetes Namespace', true),
	('k8s:cluster',                 'kubernetes', 'Kubernetes cluster', true),
	('k8s:role',                    'kubernetes', 'Kubernetes RBAC Role', true),
	('k8s:clusterrole',             'kubernetes', 'Kubernetes RBAC ClusterRole', true),
	('k8s:rolebinding',             'kubernetes', 'Kubernetes RBAC RoleBinding', true),
	('k8s:clusterrolebinding',      'kubernetes', 'Kubernetes RBAC ClusterRoleBinding', true),
	('k8s:deployment',              'kubernetes', 'Kubernetes Deployment (or other workload controller)', true),
	('k8s:configmap',               'kubernetes', 'Kubernetes ConfigMap', true),
	('k8s:object',                  'kubernetes', 'Any other Kubernetes object', true),
	('k8s:pod',                     'workload',   'Kubernetes Pod', true),
	('k8s:node',                    'workload',   'Kubernetes Node (the host a pod runs on)', true),
	('container',                   'workload',   'A running container, by runtime id', true),
	('container:image',             'workload',   'A container image, by digest or reference', true),
	('process',                     'workload',   'A process observed on a host or in a container', true),
	('aws:ec2:instance',            'workload',   'AWS EC2 instance', true),
	('aws:lambda:function',         'workload',   'AWS Lambda function', true),
	('aws:ecs:task',                'workload',   'AWS ECS task', true),
	('artifact',                    'workload',   'A scanned filesystem, source repository or other artifact', true),
	('k8s:serviceaccount',          'identity',   'Kubernetes ServiceAccount', true),
	('k8s:user',                    'identity',   'Kubernetes user (authenticated name)', true),
	('k8s:group',                   'identity',   'Kubernetes group', true),
	('aws:iam:user',                'identity',   'AWS IAM user', true),
	('aws:iam:group',               'identity',   'AWS IAM group', true),
	('aws:iam:role',                'identity',   'AWS IAM role (assumed-role sessions fold onto it)', true),
	('aws:iam:policy',              'identity',   'AWS IAM managed policy', true),
	('aws:iam:root',                'identity',   'AWS account root user', true),
	('aws:iam:instance-profile',    'identity',   'AWS EC2 instance profile', true),
	('aws:service',                 'identity',   'An AWS service acting as a principal (e.g. ec2.amazonaws.com)', true),
	('aws:principal',               'identity',   'Any other AWS principal (federated user, web identity)', true),
	('aws:s3:bucket',               'data',       'AWS S3 bucket', true),
	('aws:s3:object',               'data',       'AWS S3 object', true),
	('aws:rds:db',                  'data',       'AWS RDS database', true),
	('aws:dynamodb:table',          'data',       'AWS DynamoDB table', true),
	('aws:kms:key',                 'data',       'AWS KMS key', true),
	('aws:secretsmanager:secret',   'data',       'AWS Secrets Manager secret', true),
	('aws:ssm:parameter',           'data',       'AWS SSM parameter', true),
	('k8s:secret',                  'data',       'Kubernetes Secret', true),
	('aws:account',                 'cloud',      'AWS account', true),
	('aws:resource',                'cloud',      'Any other AWS resource, by ARN', true),
	('compliance:control',          'compliance', 'A compliance control or benchmark check', true);

CREATE TABLE correlate.relationship_kind (
	kind               text PRIMARY KEY CHECK (kind ~ '^[a-z][a-z0-9_]*$'),
	default_likelihood float8 NOT NULL CHECK (default_likelihood > 0 AND default_likelihood <= 1),
	description        text NOT NULL,
	builtin            boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE correlate.relationship_kind IS 'Known relationship kinds and how easily an attacker crosses each by default.';
COMMENT ON COLUMN correlate.relationship_kind.kind IS 'Kind name, lower case with underscores (e.g. runs_as).';
COMMENT ON COLUMN correlate.relationship_kind.default_likelihood IS 'Likelihood in (0,1] used when a link does not give one.';
COMMENT ON COLUMN correlate.relationship_kind.description IS 'What src -> dst means for this kind.';
COMMENT ON COLUMN correlate.relationship_kind.builtin IS 'True for kinds shipped with the extension.';

INSERT INTO correlate.relationship_kind (kind, default_likelihood, description, builtin) VALUES
	('exposes',         0.9,  'src (internet, load balancer, service, ingress) makes dst reachable', true),
	('routes_to',       0.9,  'src forwards traffic to dst', true),
	('connects_to',     0.5,  'src was observed opening network connections to dst', true),
	('runs_on',         0.6,  'src (pod, container) runs on dst (node, pod): escaping src reaches dst', true),
	('runs_as',         0.9,  'src (pod, instance, function) acts with the identity dst', true),
	('contains',        0.9,  'src holds dst (namespace holds pod, pod holds container, bucket holds object)', true),
	('uses_image',      0.9,  'src (pod, container) runs image dst', true),
	('has_vuln',        0.7,  'src carries a vulnerability or weakness represented by dst', true),
	('mounts',          0.6,  'src mounts dst (secret, volume, host path)', true),
	('assumes',         0.8,  'src can assume or impersonate identity dst', true),
	('member_of',       0.9,  'src is a member of group dst', true),
	('bound_to',        0.9,  'src (binding) grants to subject dst', true),
	('has_policy',      0.9,  'src (principal) has policy dst attached', true),
	('can_access',      0.7,  'src is allowed to read, write or administer dst', true),
	('can_escalate_to', 0.6,  'src can gain the privileges of dst by a known escalation technique', true),
	('can_exec',        0.8,  'src can execute commands inside dst', true),
	('trusts',          0.5,  'src trusts dst (a trust policy naming dst)', true),
	('owns',            0.5,  'src owns or administers dst', true);
