-- 70_iam_4_edges.sql: graph edges derived from permissions, written through
-- the write API (correlate.upsert_resources, correlate.link_many).
--
--   assumes          principal -> role it may assume (trust policy and, where
--                    needed, the caller's sts:AssumeRole permission); * in a
--                    trust policy -> from internet; another account -> from that
--                    account's root; IRSA (web identity trust whose sub condition
--                    names system:serviceaccount:NS:SA) -> from that Kubernetes
--                    service account
--   can_access       principal (or internet, for public resource policies) ->
--                    data store, with the action classes read / write / admin
--   can_escalate_to  principal -> principal it can become by a technique of the
--                    catalogue correlate.iam_escalation_technique, -> the account
--                    root when it can grant itself (or a principal it reaches)
--                    any permission, or -> the existing resources of a service in
--                    its account (node service-resources:ACCOUNT:SERVICE), which
--   runs_as          -> each role of the account that trusts the service
--
-- Conditional answers are judged for an attacker (correlate.iam_judge_conditions):
-- unusable grants make no edge, narrowed ones an edge marked narrowed.
--
-- Edges this function wrote before and no longer finds are deleted (only
-- those with source 'iam_policy').  Users and roles allowed * on * are marked
-- crown jewels (criticality 1, props.iam_admin), as are account roots.  Chains
-- over these edges: 70_iam_6_escalation.sql.  The refresh itself: 70_iam_4_refresh.sql.

-- What each kind of data store counts as read, write and admin.
CREATE FUNCTION correlate.iam_access_actions()
RETURNS TABLE (kind text, class text, action text, resource_template text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	VALUES
		('aws:s3:bucket', 'read', 's3:GetObject', '{arn}/*'),
		('aws:s3:bucket', 'read', 's3:ListBucket', '{arn}'),
		('aws:s3:bucket', 'write', 's3:PutObject', '{arn}/*'),
		('aws:s3:bucket', 'write', 's3:DeleteObject', '{arn}/*'),
		('aws:s3:bucket', 'admin', 's3:PutBucketPolicy', '{arn}'),
		('aws:s3:bucket', 'admin', 's3:PutBucketAcl', '{arn}'),
		('aws:s3:bucket', 'admin', 's3:DeleteBucket', '{arn}'),
		('aws:dynamodb:table', 'read', 'dynamodb:GetItem', '{arn}'),
		('aws:dynamodb:table', 'read', 'dynamodb:Scan', '{arn}'),
		('aws:dynamodb:table', 'read', 'dynamodb:Query', '{arn}'),
		('aws:dynamodb:table', 'write', 'dynamodb:PutItem', '{arn}'),
		('aws:dynamodb:table', 'write', 'dynamodb:UpdateItem', '{arn}'),
		('aws:dynamodb:table', 'write', 'dynamodb:DeleteItem', '{arn}'),
		('aws:dynamodb:table', 'admin', 'dynamodb:DeleteTable', '{arn}'),
		('aws:dynamodb:table', 'admin', 'dynamodb:UpdateTable', '{arn}'),
		('aws:kms:key', 'read', 'kms:Decrypt', '{arn}'),
		('aws:kms:key', 'write', 'kms:Encrypt', '{arn}'),
		('aws:kms:key', 'write', 'kms:GenerateDataKey', '{arn}'),
		('aws:kms:key', 'admin', 'kms:PutKeyPolicy', '{arn}'),
		('aws:kms:key', 'admin', 'kms:CreateGrant', '{arn}'),
		('aws:kms:key', 'admin', 'kms:ScheduleKeyDeletion', '{arn}'),
		('aws:secretsmanager:secret', 'read', 'secretsmanager:GetSecretValue', '{arn}'),
		('aws:secretsmanager:secret', 'write', 'secretsmanager:PutSecretValue', '{arn}'),
		('aws:secretsmanager:secret', 'write', 'secretsmanager:UpdateSecret', '{arn}'),
		('aws:secretsmanager:secret', 'admin', 'secretsmanager:PutResourcePolicy', '{arn}'),
		('aws:secretsmanager:secret', 'admin', 'secretsmanager:DeleteSecret', '{arn}'),
		('aws:ssm:parameter', 'read', 'ssm:GetParameter', '{arn}'),
		('aws:ssm:parameter', 'read', 'ssm:GetParameters', '{arn}'),
		('aws:ssm:parameter', 'write', 'ssm:PutParameter', '{arn}'),
		('aws:ssm:parameter', 'admin', 'ssm:DeleteParameter', '{arn}'),
		('aws:rds:db', 'read', 'rds-db:connect', 'arn:aws:rds-db:{region}:{account}:dbuser:*/*'),
		('aws:rds:db', 'read', 'rds:CreateDBSnapshot', '{arn}'),
		('aws:rds:db', 'write', 'rds:ModifyDBInstance', '{arn}'),
		('aws:rds:db', 'admin', 'rds:DeleteDBInstance', '{arn}')
$$;
COMMENT ON FUNCTION correlate.iam_access_actions()
	IS 'The actions that make a can_access edge, by data store kind and class (read, write, admin); {arn}, {account} and {region} stand for the store''s ARN, account and region (* when unknown).';

-- The node standing for the existing resources (functions, endpoints, stacks, notebooks,
-- projects, instances) a service runs in an account: existing-resource techniques lead to it,
-- and it runs_as the roles that trust the service.
INSERT INTO correlate.resource_kind (kind, domain, description, builtin) VALUES
	('aws:service-resources', 'cloud', 'The existing resources an AWS service runs in one account (uid service-resources:ACCOUNT:SERVICE), as escalation targets', true);

-- ---- the escalation technique catalogue ----------------------------------------------
--
-- One row per privilege-escalation technique, as the published lists describe them
-- (Rhino Security Labs' method list, Bishop Fox's iam-vulnerable paths, Principal Mapper's
-- edge checkers, pathfinding.cloud, Cloudsplaining's checks).  refresh_iam_edges() derives
-- can_escalate_to edges from it, by family:
--
--   assume_role        sts:AssumeRole on a role whose trust allows it (assumes edges)
--   credentials        act on another user (keys, console password): yields that user
--   trust_policy       rewrite a role's trust policy, then assume it: yields that role
--   group_membership   join a group: yields the group (and its permissions)
--   policy_write       write or attach a policy on a user, role or group the attacker is,
--                      belongs to or can reach: yields admin (the account root)
--   policy_version     publish or select a version of a customer-managed policy attached
--                      to a principal the attacker is or can reach: yields admin
--   passrole           pass a role that trusts the service to a new resource that runs the
--                      attacker's code: yields the role
--   existing_resource  change a resource that already runs with a role (the role trusts
--                      the service): yields the role
--   remote_execution   run commands on an EC2 instance whose instance profile carries the
--                      role: yields the role
CREATE TABLE correlate.iam_escalation_technique (
	technique              text PRIMARY KEY,
	family                 text NOT NULL CHECK (family IN ('assume_role', 'credentials', 'trust_policy',
								'group_membership', 'policy_write', 'policy_version', 'passrole',
								'existing_resource', 'remote_execution')),
	actions                text[] NOT NULL,
	any_actions            text[],
	applies_to             text NOT NULL,
	passrole_service       text,
	runs_as_service        text,
	needs_instance_profile boolean NOT NULL DEFAULT false,
	yields                 text NOT NULL CHECK (yields IN ('target', 'admin', 'role')),
	likelihood             float8 NOT NULL CHECK (likelihood > 0 AND likelihood <= 1),
	source                 text NOT NULL,
	description            text NOT NULL,
	CHECK ((family = 'passrole') = (passrole_service IS NOT NULL)),
	CHECK ((family IN ('existing_resource', 'remote_execution')) = (runs_as_service IS NOT NULL))
);
COMMENT ON TABLE correlate.iam_escalation_technique IS 'IAM privilege-escalation techniques (one row each) from which refresh_iam_edges() derives can_escalate_to edges.';
COMMENT ON COLUMN correlate.iam_escalation_technique.technique IS 'Name; the edge props technique / techniques.';
COMMENT ON COLUMN correlate.iam_escalation_technique.family IS 'assume_role, credentials, trust_policy, group_membership, policy_write, policy_version, passrole, existing_resource or remote_execution.';
COMMENT ON COLUMN correlate.iam_escalation_technique.actions IS 'Actions the attacker needs, all of them (iam:PassRole on the role included for passrole).';
COMMENT ON COLUMN correlate.iam_escalation_technique.any_actions IS 'Actions of which the attacker needs one more (NULL: none).';
COMMENT ON COLUMN correlate.iam_escalation_technique.applies_to IS 'Resource the first action is asked on: aws:iam:user, aws:iam:role, aws:iam:group, aws:iam:policy, or any (service actions, asked on some resource).';
COMMENT ON COLUMN correlate.iam_escalation_technique.passrole_service IS 'passrole: the service principal the passed role must trust.';
COMMENT ON COLUMN correlate.iam_escalation_technique.runs_as_service IS 'existing_resource, remote_execution: the service principal the role of the existing resource trusts.';
COMMENT ON COLUMN correlate.iam_escalation_technique.needs_instance_profile IS 'The role must be in an instance profile (EC2), or the attacker may create one (iam:CreateInstanceProfile + iam:AddRoleToInstanceProfile) where it passes the role.';
COMMENT ON COLUMN correlate.iam_escalation_technique.yields IS 'target: the attacker becomes the target user, role or group; admin: it can grant itself (or a principal it reaches) anything, edge to the account root; role: it acts as the role the service runs.';
COMMENT ON COLUMN correlate.iam_escalation_technique.likelihood IS 'Edge likelihood when every needed statement allows unconditionally; halved when narrowed or conditional.';
COMMENT ON COLUMN correlate.iam_escalation_technique.source IS 'Where the technique is published.';
COMMENT ON COLUMN correlate.iam_escalation_technique.description IS 'What the attacker does.';

INSERT INTO correlate.iam_escalation_technique
	(technique, family, actions, any_actions, applies_to, passrole_service, runs_as_service, needs_instance_profile,
	 yields, likelihood, source, description) VALUES
	('sts:AssumeRole', 'assume_role', '{sts:AssumeRole}', NULL, 'aws:iam:role', NULL, NULL, false, 'target', 0.9,
	 'PMapper sts edges; iam-vulnerable privesc-AssumeRole', 'assume a role whose trust policy allows it; chains through intermediate roles'),
	('iam:CreateAccessKey', 'credentials', '{iam:CreateAccessKey}', NULL, 'aws:iam:user', NULL, NULL, false, 'target', 0.9,
	 'Rhino #4; iam-vulnerable privesc4; PMapper iam edges', 'create an access key for the user and act as it'),
	('iam:CreateLoginProfile', 'credentials', '{iam:CreateLoginProfile}', NULL, 'aws:iam:user', NULL, NULL, false, 'target', 0.8,
	 'Rhino #5; iam-vulnerable privesc5; PMapper iam edges', 'give the user a console password (if it has none) and sign in'),
	('iam:UpdateLoginProfile', 'credentials', '{iam:UpdateLoginProfile}', NULL, 'aws:iam:user', NULL, NULL, false, 'target', 0.8,
	 'Rhino #6; iam-vulnerable privesc6; PMapper iam edges', 'reset the user''s console password and sign in'),
	('iam:UpdateAssumeRolePolicy', 'trust_policy', '{iam:UpdateAssumeRolePolicy}', NULL, 'aws:iam:role', NULL, NULL, false, 'target', 0.8,
	 'Rhino #14; iam-vulnerable privesc14; PMapper iam edges', 'rewrite the role''s trust policy to trust the attacker, then assume it'),
	('iam:AddUserToGroup', 'group_membership', '{iam:AddUserToGroup}', NULL, 'aws:iam:group', NULL, NULL, false, 'target', 0.8,
	 'Rhino #13; iam-vulnerable privesc13', 'add itself to the group and gain the group''s permissions'),
	('iam:PutUserPolicy', 'policy_write', '{iam:PutUserPolicy}', NULL, 'aws:iam:user', NULL, NULL, false, 'admin', 0.9,
	 'Rhino #10; iam-vulnerable privesc10; Cloudsplaining', 'write an inline policy granting anything to itself or a user it can become'),
	('iam:AttachUserPolicy', 'policy_write', '{iam:AttachUserPolicy}', NULL, 'aws:iam:user', NULL, NULL, false, 'admin', 0.9,
	 'Rhino #7; iam-vulnerable privesc7; Cloudsplaining', 'attach AdministratorAccess to itself or a user it can become'),
	('iam:PutRolePolicy', 'policy_write', '{iam:PutRolePolicy}', NULL, 'aws:iam:role', NULL, NULL, false, 'admin', 0.9,
	 'Rhino #12; iam-vulnerable privesc12; Cloudsplaining', 'write an inline policy granting anything to its role or a role it can assume'),
	('iam:AttachRolePolicy', 'policy_write', '{iam:AttachRolePolicy}', NULL, 'aws:iam:role', NULL, NULL, false, 'admin', 0.9,
	 'Rhino #9; iam-vulnerable privesc9; Cloudsplaining', 'attach AdministratorAccess to its role or a role it can assume'),
	('iam:PutGroupPolicy', 'policy_write', '{iam:PutGroupPolicy}', NULL, 'aws:iam:group', NULL, NULL, false, 'admin', 0.9,
	 'Rhino #11; iam-vulnerable privesc11; Cloudsplaining', 'write an inline policy on a group it (or a user it can become) belongs to'),
	('iam:AttachGroupPolicy', 'policy_write', '{iam:AttachGroupPolicy}', NULL, 'aws:iam:group', NULL, NULL, false, 'admin', 0.9,
	 'Rhino #8; iam-vulnerable privesc8; Cloudsplaining', 'attach AdministratorAccess to a group it (or a user it can become) belongs to'),
	('iam:CreatePolicyVersion', 'policy_version', '{iam:CreatePolicyVersion}', NULL, 'aws:iam:policy', NULL, NULL, false, 'admin', 0.9,
	 'Rhino #1; iam-vulnerable privesc1; Cloudsplaining', 'publish a new default version of a customer-managed policy attached to it or a principal it can become'),
	('iam:SetDefaultPolicyVersion', 'policy_version', '{iam:SetDefaultPolicyVersion}', NULL, 'aws:iam:policy', NULL, NULL, false, 'admin', 0.5,
	 'Rhino #2; iam-vulnerable privesc2; Cloudsplaining', 'make another version of a policy attached to it (or a principal it can become) the default; halved again when no other version is known'),
	('iam:PassRole+ec2:RunInstances', 'passrole', '{iam:PassRole,ec2:RunInstances}', NULL, 'any', 'ec2.amazonaws.com', NULL, true, 'role', 0.7,
	 'Rhino #3; iam-vulnerable privesc3; PMapper ec2 edges', 'launch an instance with the role''s instance profile and read its credentials'),
	('iam:PassRole+ec2:RequestSpotInstances', 'passrole', '{iam:PassRole,ec2:RequestSpotInstances}', NULL, 'any', 'ec2.amazonaws.com', NULL, true, 'role', 0.6,
	 'pathfinding.cloud', 'request a spot instance with the role''s instance profile'),
	('iam:PassRole+autoscaling:CreateLaunchConfiguration', 'passrole',
	 '{iam:PassRole,autoscaling:CreateLaunchConfiguration,autoscaling:CreateAutoScalingGroup}', NULL, 'any', 'ec2.amazonaws.com', NULL, true, 'role', 0.5,
	 'PMapper autoscaling edges', 'create a launch configuration with the role''s instance profile and a group that starts it'),
	('iam:PassRole+lambda:CreateFunction', 'passrole', '{iam:PassRole,lambda:CreateFunction}',
	 '{lambda:InvokeFunction,lambda:CreateEventSourceMapping,lambda:AddPermission}', 'any', 'lambda.amazonaws.com', NULL, false, 'role', 0.7,
	 'Rhino #15, #16; iam-vulnerable privesc15, privesc16; PMapper lambda edges', 'create a function running as the role, then invoke it or trigger it from an event source'),
	('iam:PassRole+glue:CreateDevEndpoint', 'passrole', '{iam:PassRole,glue:CreateDevEndpoint}', NULL, 'any', 'glue.amazonaws.com', NULL, false, 'role', 0.6,
	 'Rhino #18; iam-vulnerable privesc18', 'create a Glue development endpoint with the role and log in to it'),
	('iam:PassRole+glue:CreateJob', 'passrole', '{iam:PassRole,glue:CreateJob}', '{glue:StartJobRun,glue:CreateTrigger}', 'any',
	 'glue.amazonaws.com', NULL, false, 'role', 0.6, 'pathfinding.cloud', 'create a Glue job running as the role and start it'),
	('iam:PassRole+cloudformation:CreateStack', 'passrole', '{iam:PassRole,cloudformation:CreateStack}', NULL, 'any',
	 'cloudformation.amazonaws.com', NULL, false, 'role', 0.7, 'Rhino #20; iam-vulnerable privesc20; PMapper cloudformation edges',
	 'create a stack whose service role is the role; the template creates what the attacker wants'),
	('iam:PassRole+cloudformation:CreateChangeSet', 'passrole', '{iam:PassRole,cloudformation:CreateChangeSet,cloudformation:ExecuteChangeSet}', NULL,
	 'any', 'cloudformation.amazonaws.com', NULL, false, 'role', 0.6, 'pathfinding.cloud', 'create and execute a change set with the role as service role'),
	('iam:PassRole+datapipeline:CreatePipeline', 'passrole',
	 '{iam:PassRole,datapipeline:CreatePipeline,datapipeline:PutPipelineDefinition}', '{datapipeline:ActivatePipeline}', 'any',
	 'datapipeline.amazonaws.com', NULL, false, 'role', 0.6, 'Rhino #21; iam-vulnerable privesc21',
	 'create a pipeline running as the role whose definition runs the attacker''s command'),
	('iam:PassRole+sagemaker:CreateNotebookInstance', 'passrole', '{iam:PassRole,sagemaker:CreateNotebookInstance}',
	 '{sagemaker:CreatePresignedNotebookInstanceUrl}', 'any', 'sagemaker.amazonaws.com', NULL, false, 'role', 0.6,
	 'iam-vulnerable privesc-sageMakerCreateNotebookPassRole; pathfinding.cloud', 'create a notebook instance with the role and open it'),
	('iam:PassRole+sagemaker:CreateTrainingJob', 'passrole', '{iam:PassRole,sagemaker:CreateTrainingJob}', NULL, 'any',
	 'sagemaker.amazonaws.com', NULL, false, 'role', 0.6, 'iam-vulnerable privesc-sageMakerCreateTrainingJob', 'run a training job with the role and the attacker''s container'),
	('iam:PassRole+sagemaker:CreateProcessingJob', 'passrole', '{iam:PassRole,sagemaker:CreateProcessingJob}', NULL, 'any',
	 'sagemaker.amazonaws.com', NULL, false, 'role', 0.6, 'iam-vulnerable privesc-sageMakerCreateProcessingJob', 'run a processing job with the role and the attacker''s container'),
	('iam:PassRole+codebuild:CreateProject', 'passrole', '{iam:PassRole,codebuild:CreateProject}', '{codebuild:StartBuild,codebuild:StartBuildBatch}',
	 'any', 'codebuild.amazonaws.com', NULL, false, 'role', 0.7, 'iam-vulnerable privesc-codeBuildCreateProjectPassRole; PMapper codebuild edges',
	 'create a build project with the role as service role and start a build'),
	('iam:PassRole+ecs:RegisterTaskDefinition', 'passrole', '{iam:PassRole,ecs:RegisterTaskDefinition}',
	 '{ecs:RunTask,ecs:StartTask,ecs:CreateService}', 'any', 'ecs-tasks.amazonaws.com', NULL, false, 'role', 0.6,
	 'PMapper; pathfinding.cloud', 'register a task definition with the role as task role and run it'),
	('iam:PassRole+apprunner:CreateService', 'passrole', '{iam:PassRole,apprunner:CreateService}', NULL, 'any',
	 'tasks.apprunner.amazonaws.com', NULL, false, 'role', 0.6, 'pathfinding.cloud', 'create an App Runner service whose instance role is the role'),
	('iam:PassRole+bedrock-agentcore:CreateCodeInterpreter', 'passrole',
	 '{iam:PassRole,bedrock-agentcore:CreateCodeInterpreter,bedrock-agentcore:StartCodeInterpreterSession,bedrock-agentcore:InvokeCodeInterpreter}',
	 NULL, 'any', 'bedrock-agentcore.amazonaws.com', NULL, false, 'role', 0.5, 'pathfinding.cloud', 'create a code interpreter running as the role and run code in it'),
	('lambda:UpdateFunctionCode', 'existing_resource', '{lambda:UpdateFunctionCode}', NULL, 'any', NULL, 'lambda.amazonaws.com', false, 'role', 0.5,
	 'Rhino #17; iam-vulnerable privesc17; PMapper lambda edges', 'replace the code of an existing function that runs as the role'),
	('lambda:UpdateFunctionConfiguration', 'existing_resource', '{lambda:UpdateFunctionConfiguration}', NULL, 'any', NULL, 'lambda.amazonaws.com',
	 false, 'role', 0.4, 'pathfinding.cloud', 'add a layer that runs the attacker''s code to an existing function that runs as the role'),
	('glue:UpdateDevEndpoint', 'existing_resource', '{glue:UpdateDevEndpoint}', NULL, 'any', NULL, 'glue.amazonaws.com', false, 'role', 0.5,
	 'Rhino #19; iam-vulnerable privesc19', 'add the attacker''s SSH key to an existing development endpoint that runs as the role'),
	('glue:UpdateJob', 'existing_resource', '{glue:UpdateJob}', '{glue:StartJobRun,glue:CreateTrigger}', 'any', NULL, 'glue.amazonaws.com', false,
	 'role', 0.4, 'pathfinding.cloud', 'change the script of an existing Glue job that runs as the role, then run it'),
	('cloudformation:UpdateStack', 'existing_resource', '{cloudformation:UpdateStack}', NULL, 'any', NULL, 'cloudformation.amazonaws.com', false,
	 'role', 0.5, 'iam-vulnerable privesc-cloudFormationUpdateStack; pathfinding.cloud', 'update an existing stack whose service role is the role with the attacker''s template'),
	('cloudformation:SetStackPolicy', 'existing_resource', '{cloudformation:SetStackPolicy,cloudformation:UpdateStack}', NULL, 'any', NULL,
	 'cloudformation.amazonaws.com', false, 'role', 0.5, 'pathfinding.cloud',
	 'replace a stack policy that forbids updates, then update the stack whose service role is the role'),
	('cloudformation:ExecuteChangeSet', 'existing_resource', '{cloudformation:CreateChangeSet,cloudformation:ExecuteChangeSet}', NULL, 'any', NULL,
	 'cloudformation.amazonaws.com', false, 'role', 0.4, 'pathfinding.cloud', 'change an existing stack that has the role through a change set'),
	('sagemaker:CreatePresignedNotebookInstanceUrl', 'existing_resource', '{sagemaker:CreatePresignedNotebookInstanceUrl}', NULL, 'any', NULL,
	 'sagemaker.amazonaws.com', false, 'role', 0.5, 'iam-vulnerable privesc-sageMakerCreatePresignedNotebookURL',
	 'open an existing notebook instance that runs as the role'),
	('codebuild:StartBuild', 'existing_resource', '{codebuild:StartBuild}', NULL, 'any', NULL, 'codebuild.amazonaws.com', false, 'role', 0.4,
	 'pathfinding.cloud', 'start a build of an existing project with a buildspec override; it runs as the project''s role'),
	('ssm:SendCommand', 'remote_execution', '{ssm:SendCommand}', NULL, 'any', NULL, 'ec2.amazonaws.com', true, 'role', 0.5,
	 'iam-vulnerable privesc-ssmSendCommand; PMapper ssm edges', 'run commands on an EC2 instance whose instance profile carries the role'),
	('ssm:StartSession', 'remote_execution', '{ssm:StartSession}', NULL, 'any', NULL, 'ec2.amazonaws.com', true, 'role', 0.5,
	 'iam-vulnerable privesc-ssmStartSession; PMapper ssm edges', 'open a shell on an EC2 instance whose instance profile carries the role'),
	('ec2-instance-connect:SendSSHPublicKey', 'remote_execution', '{ec2-instance-connect:SendSSHPublicKey}', NULL, 'any', NULL, 'ec2.amazonaws.com',
	 true, 'role', 0.4, 'iam-vulnerable privesc-ec2InstanceConnect', 'push an SSH key to an instance whose instance profile carries the role and log in'),
	('ec2-instance-connect:SendSerialConsoleSSHPublicKey', 'remote_execution', '{ec2-instance-connect:SendSerialConsoleSSHPublicKey}', NULL, 'any',
	 NULL, 'ec2.amazonaws.com', true, 'role', 0.3, 'iam-vulnerable privesc-ec2InstanceConnect', 'reach the serial console of an instance that carries the role'),
	('ec2:ModifyInstanceAttribute', 'remote_execution', '{ec2:ModifyInstanceAttribute,ec2:StopInstances,ec2:StartInstances}', NULL, 'any', NULL,
	 'ec2.amazonaws.com', true, 'role', 0.4, 'pathfinding.cloud', 'replace the user data of a stopped instance that carries the role and start it');

-- Escalation techniques that pass a role to a service which then runs code as it (the
-- passrole rows of the catalogue; all_actions leaves out iam:PassRole itself).
CREATE FUNCTION correlate.iam_passrole_techniques()
RETURNS TABLE (technique text, service text, all_actions text[], any_actions text[],
			   needs_instance_profile boolean, likelihood float8)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT t.technique, t.passrole_service, array_remove(t.actions, 'iam:PassRole'), t.any_actions,
		   t.needs_instance_profile, t.likelihood
	FROM correlate.iam_escalation_technique t WHERE t.family = 'passrole';
$$;
COMMENT ON FUNCTION correlate.iam_passrole_techniques()
	IS 'iam:PassRole escalation techniques (the passrole rows of correlate.iam_escalation_technique): the service the target role must trust, the actions the attacker needs besides iam:PassRole (all of all_actions, one of any_actions), and the edge likelihood.';

-- Escalation techniques that act on the target principal (or on the attacker itself) directly.
CREATE FUNCTION correlate.iam_direct_techniques()
RETURNS TABLE (technique text, target_kind text, self boolean, likelihood float8, description text)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT t.technique, t.applies_to, t.yields = 'admin', t.likelihood, t.description
	FROM correlate.iam_escalation_technique t
	WHERE t.family IN ('credentials', 'trust_policy', 'group_membership', 'policy_write', 'policy_version');
$$;
COMMENT ON FUNCTION correlate.iam_direct_techniques()
	IS 'IAM escalation techniques that act on a target (rows of correlate.iam_escalation_technique): self techniques (yields admin) lead to the account root; the others to the target user, role or group.';

-- ---- condition judgement ---------------------------------------------------------------

-- How each condition key is judged for an attacker using the grant.
CREATE FUNCTION correlate.iam_condition_keys()
RETURNS TABLE (key_pattern text, judged_as text, meaning text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	VALUES
		('aws:RequestTag/*, aws:TagKeys, aws:RequestedRegion, aws:SecureTransport, aws:UserAgent, aws:Referer', 'attacker',
		 'the attacker writes the request: usable'),
		('aws:SourceIp, aws:VpcSourceIp, aws:SourceVpc, aws:SourceVpce (positive operators)', 'environment',
		 'the attacker must act from that network: narrowed (negated operators: attacker)'),
		('aws:MultiFactorAuthPresent, aws:MultiFactorAuthAge', 'environment',
		 'requires an MFA session, which stolen keys lack: narrowed; Null true on them (no MFA) holds'),
		('aws:PrincipalTag/K, aws:PrincipalArn, aws:PrincipalAccount, aws:username', 'compared',
		 'compared with the attacker''s tags, ARN, account and name: holds or unusable'),
		('aws:ResourceTag/K, iam:ResourceTag/K', 'compared', 'compared with the target''s tags: holds or unusable; unknown for service actions'),
		('iam:PassedToService', 'compared', 'compared with the technique''s service: holds or unusable'),
		('aws:CurrentTime, aws:TokenIssueTime (Date operators)', 'compared',
		 'compared with the refresh time (a new token is issued now): holds or unusable'),
		('iam:PolicyARN', 'compared', 'holds when AdministratorAccess may be attached, else narrowed'),
		('iam:PermissionsBoundary, sts:ExternalId', 'environment', 'narrowed: the attacker must meet it'),
		('anything else', 'unknown', 'the edge is kept and marked conditional')
$$;
COMMENT ON FUNCTION correlate.iam_condition_keys()
	IS 'How correlate.iam_judge_conditions() judges each condition key: attacker (usable), environment (narrowed), compared (holds or unusable), unknown (conditional).';

-- Whether a string condition holds for the given context values.
CREATE FUNCTION correlate._iam_cond_strings(op text, ctx text[], vals text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE
		WHEN op ~* '^(String|Arn)Not' THEN NOT EXISTS (
			SELECT 1 FROM unnest(ctx) c, unnest(vals) v
			WHERE CASE WHEN op ~* 'Like' THEN correlate.iam_pattern(COALESCE(NULLIF(v, ''), '?')) OPERATOR(correlate.~~>) c
					   WHEN op ~* 'IgnoreCase' THEN lower(c) = lower(v) ELSE c = v END)
		ELSE EXISTS (
			SELECT 1 FROM unnest(ctx) c, unnest(vals) v
			WHERE CASE WHEN op ~* 'Like' THEN correlate.iam_pattern(COALESCE(NULLIF(v, ''), '?')) OPERATOR(correlate.~~>) c
					   WHEN op ~* 'IgnoreCase' THEN lower(c) = lower(v) ELSE c = v END) END;
$$;
COMMENT ON FUNCTION correlate._iam_cond_strings(text, text[], text[])
	IS 'Internal: whether a String* or Arn* condition operator holds for context values ctx against the condition values.';

-- Judges a Condition block for an attacker: always (holds), attacker (the attacker can make
-- it hold), environment (holds only from a network, an MFA session, ...: narrowed), never
-- (cannot hold: the grant is unusable) or unknown.  Every key must hold (AND).
CREATE FUNCTION correlate.iam_judge_conditions(conditions jsonb, principal_uid text DEFAULT NULL,
											   principal_tags jsonb DEFAULT NULL, resource_tags jsonb DEFAULT NULL,
											   service text DEFAULT NULL, as_of timestamptz DEFAULT now())
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	o record;
	k record;
	op text;
	base text;
	key text;
	vals text[];
	ctx text[];
	if_exists boolean;
	v text;
	worst integer := 0;		-- 0 always, 1 attacker, 2 environment, 3 unknown, 4 never
	r integer;
	negated boolean;
	ts timestamptz;
	holds boolean;
BEGIN
	IF conditions IS NULL OR jsonb_typeof(conditions) <> 'object' THEN
		RETURN CASE WHEN conditions IS NULL THEN 'always' ELSE 'unknown' END;
	END IF;
	FOR o IN SELECT * FROM jsonb_each(conditions) LOOP
		op := regexp_replace(o.key, '^(ForAllValues|ForAnyValue):', '', 'i');
		if_exists := op ~* 'IfExists$';
		base := regexp_replace(op, 'IfExists$', '', 'i');
		negated := base ~* '^(StringNot|ArnNot|NotIpAddress)';
		IF jsonb_typeof(o.value) <> 'object' THEN
			worst := greatest(worst, 3);
			CONTINUE;
		END IF;
		FOR k IN SELECT * FROM jsonb_each(o.value) LOOP
			key := lower(k.key);
			vals := correlate._iam_list(k.value);
			ctx := NULL;
			r := 3;
			IF key LIKE 'aws:requesttag/%' OR key IN ('aws:tagkeys', 'aws:requestedregion', 'aws:useragent', 'aws:referer') THEN
				r := 1;
			ELSIF key = 'aws:securetransport' THEN
				r := CASE WHEN base ~* '^Bool' AND 'false' = ANY (vals) THEN 1 ELSE 0 END;
			ELSIF key IN ('aws:sourceip', 'aws:vpcsourceip', 'aws:sourcevpc', 'aws:sourcevpce') THEN
				r := CASE WHEN negated THEN 1 ELSE 2 END;
			ELSIF key = 'aws:multifactorauthpresent' THEN
				r := CASE WHEN base ~* '^Null' THEN CASE WHEN 'true' = ANY (vals) THEN 0 ELSE 2 END
						  WHEN 'false' = ANY (vals) AND if_exists THEN 0 ELSE 2 END;
			ELSIF key = 'aws:multifactorauthage' THEN
				r := CASE WHEN base ~* '^Null' AND 'true' = ANY (vals) THEN 0 ELSE 2 END;
			ELSIF key IN ('iam:permissionsboundary', 'sts:externalid') THEN
				r := 2;
			ELSIF key = 'iam:policyarn' THEN
				r := CASE WHEN correlate._iam_cond_strings(base, ARRAY['arn:aws:iam::aws:policy/AdministratorAccess'], vals) THEN 0 ELSE 2 END;
			ELSIF key IN ('aws:currenttime', 'aws:tokenissuetime') AND base ~* '^Date' THEN
				BEGIN
					r := 0;
					FOREACH v IN ARRAY vals LOOP
						ts := v::timestamptz;
						holds := CASE WHEN base ~* '^DateLessThanEquals' THEN as_of <= ts
									  WHEN base ~* '^DateLessThan' THEN as_of < ts
									  WHEN base ~* '^DateGreaterThanEquals' THEN as_of >= ts
									  WHEN base ~* '^DateGreaterThan' THEN as_of > ts
									  WHEN base ~* '^DateNotEquals' THEN as_of <> ts
									  ELSE as_of = ts END;
						IF NOT holds THEN
							r := 4;
						END IF;
					END LOOP;
				EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow THEN
					r := 3;
				END;
			ELSE
				-- Keys compared with what we know of the attacker, the target or the technique.
				IF key LIKE 'aws:principaltag/%' THEN
					ctx := CASE WHEN principal_tags ? substr(k.key, 18) THEN ARRAY[principal_tags->>substr(k.key, 18)] END;
				ELSIF key LIKE 'aws:resourcetag/%' OR key LIKE 'iam:resourcetag/%' THEN
					IF resource_tags IS NULL THEN
						worst := greatest(worst, 3);
						CONTINUE;
					END IF;
					ctx := CASE WHEN resource_tags ? substr(k.key, 17) THEN ARRAY[resource_tags->>substr(k.key, 17)] END;
				ELSIF key = 'iam:passedtoservice' THEN
					IF service IS NULL THEN
						worst := greatest(worst, 3);
						CONTINUE;
					END IF;
					ctx := ARRAY[service];
				ELSIF key = 'aws:principalarn' AND principal_uid IS NOT NULL THEN
					ctx := ARRAY[principal_uid];
				ELSIF key = 'aws:principalaccount' AND principal_uid IS NOT NULL THEN
					ctx := ARRAY[split_part(principal_uid, ':', 5)];
				ELSIF key = 'aws:username' AND principal_uid LIKE 'arn:aws:iam::%:user/%' THEN
					ctx := ARRAY[regexp_replace(principal_uid, '^.*/', '')];
				ELSE
					worst := greatest(worst, 3);
					CONTINUE;
				END IF;
				IF base !~* '^(String|Arn)' THEN
					r := 3;
				ELSIF ctx IS NULL THEN
					-- a missing key: IfExists and negated operators hold, others do not
					r := CASE WHEN if_exists OR negated THEN 0 ELSE 4 END;
				ELSE
					r := CASE WHEN correlate._iam_cond_strings(base, ctx, vals) THEN 0 ELSE 4 END;
				END IF;
			END IF;
			worst := greatest(worst, r);
		END LOOP;
	END LOOP;
	RETURN (ARRAY['always', 'attacker', 'environment', 'unknown', 'never'])[worst + 1];
END
$$;
COMMENT ON FUNCTION correlate.iam_judge_conditions(jsonb, text, jsonb, jsonb, text, timestamptz)
	IS 'Judges a statement''s Condition block for an attacker (principal_uid with principal_tags, acting on a target with resource_tags, passing a role to service, at as_of): always, attacker (it can make it hold), environment (narrowed), unknown, or never (the grant is unusable).';

-- The decision an evaluator answer becomes once its deciding statement's conditions are
-- judged: allow, narrowed, conditional, or NULL (the grant cannot be used).
CREATE FUNCTION correlate._iam_judged(decision text, statement bigint, principal bigint, target bigint,
									  service text DEFAULT NULL)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN _iam_judged.decision <> 'conditional' THEN _iam_judged.decision
				WHEN s.id IS NULL THEN 'conditional'
				ELSE CASE WHEN s.effect = 'Allow'
						  THEN CASE j.v WHEN 'never' THEN NULL WHEN 'environment' THEN 'narrowed'
										WHEN 'unknown' THEN 'conditional' ELSE 'allow' END
						  -- a conditional Deny overturning an allow
						  ELSE CASE j.v WHEN 'always' THEN NULL WHEN 'never' THEN 'allow' WHEN 'attacker' THEN 'allow'
										ELSE 'conditional' END END END
	FROM (SELECT 1) one
	LEFT JOIN correlate.iam_statement s ON s.tenant = (SELECT correlate.current_tenant()) AND s.id = _iam_judged.statement
	LEFT JOIN correlate.resource p ON p.tenant = s.tenant AND p.id = _iam_judged.principal
	LEFT JOIN correlate.resource r ON r.tenant = s.tenant AND r.id = _iam_judged.target
	LEFT JOIN LATERAL (SELECT CASE WHEN s.conditions IS NULL THEN 'unknown'
								   ELSE correlate.iam_judge_conditions(s.conditions, p.uid, p.labels, r.labels,
																	   _iam_judged.service, now()) END AS v) j ON true;
$$;
COMMENT ON FUNCTION correlate._iam_judged(text, bigint, bigint, bigint, text)
	IS 'Internal: an evaluator decision after judging the deciding statement''s conditions for the attacker: allow, narrowed, conditional, or NULL when the grant cannot be used.';
