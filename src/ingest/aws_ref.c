/*
 * aws_ref.c
 *		AWS ARNs -> correlate resource kinds and display names, shared by the
 *		CloudTrail and OCSF parsers.
 */
#include "postgres.h"

#include "ingest/aws_ref.h"

static bool
starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Kind of an ARN, from its service and resource type. */
const char *
aws_arn_kind(const char *arn, int *rank)
{
	const char *p[6];
	int			n = 1;

	*rank = 1;
	p[0] = arn;
	for (const char *c = arn; *c && n < 6; c++)
		if (*c == ':')
			p[n++] = c + 1;
	if (n < 6)
		return NULL;
#define SVC(s) (strncmp(p[2], s ":", strlen(s) + 1) == 0)
	if (SVC("s3"))
	{
		*rank = strchr(p[5], '/') ? 3 : 2;
		return strchr(p[5], '/') ? "aws:s3:object" : "aws:s3:bucket";
	}
	if (SVC("iam"))
	{
		*rank = 2;
		if (starts(p[5], "role/"))
			return "aws:iam:role";
		if (starts(p[5], "user/"))
			return "aws:iam:user";
		if (starts(p[5], "group/"))
			return "aws:iam:group";
		if (starts(p[5], "policy/"))
			return "aws:iam:policy";
		if (starts(p[5], "instance-profile/"))
			return "aws:iam:instance-profile";
		if (strcmp(p[5], "root") == 0)
			return "aws:iam:root";
		return "aws:resource";
	}
	if (SVC("ec2"))
	{
		*rank = 2;
		if (starts(p[5], "instance/"))
			return "aws:ec2:instance";
		if (starts(p[5], "security-group/"))
			return "aws:ec2:security-group";
		if (starts(p[5], "vpc/"))
			return "aws:ec2:vpc";
		if (starts(p[5], "subnet/"))
			return "aws:ec2:subnet";
		if (starts(p[5], "network-interface/"))
			return "aws:ec2:network-interface";
		return "aws:resource";
	}
	*rank = 2;
	if (SVC("lambda") && starts(p[5], "function:"))
		return "aws:lambda:function";
	if (SVC("kms") && starts(p[5], "key/"))
		return "aws:kms:key";
	if (SVC("secretsmanager") && starts(p[5], "secret:"))
		return "aws:secretsmanager:secret";
	if (SVC("ssm") && starts(p[5], "parameter/"))
		return "aws:ssm:parameter";
	if (SVC("dynamodb") && starts(p[5], "table/"))
		return "aws:dynamodb:table";
	if (SVC("rds") && starts(p[5], "db:"))
		return "aws:rds:db";
	if (SVC("elasticloadbalancing") && starts(p[5], "loadbalancer/"))
		return "aws:elb:load-balancer";
#undef SVC
	*rank = 1;
	return "aws:resource";
}

/* The last component of an ARN's resource part, as a display name. */
const char *
aws_arn_name(const char *arn)
{
	const char *s = strrchr(arn, '/');
	const char *c = strrchr(arn, ':');

	if (s && (!c || s > c))
		return s + 1;
	return c ? c + 1 : arn;
}
