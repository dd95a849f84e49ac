/*
 * fmt_cloudtrail.c
 *		AWS CloudTrail records -> OCSF API Activity (6003) / Authentication
 *		(3002) events, the acting identity and the target resources.
 *
 * Input: the S3 delivery layout {"Records":[...]}, a bare JSON array of
 * records, or one record per line (NDJSON); all streamed.  Each record is one
 * event whose uid is eventID (a content hash when absent).
 *
 * Actor (userIdentity): an IAM user or root by ARN; an assumed-role session as
 * its role (sessionContext.sessionIssuer.arn, which keeps the role's path, else
 * the session ARN folded by uid_arn); an AWS service by its principal name
 * (e.g. "ec2.amazonaws.com", kind aws:service); a web-identity caller whose
 * subject is a Kubernetes service account (EKS IRSA) as that service account
 * in correlate.default_cluster; other federated callers as aws:principal.
 *
 * Target: resources[] (S3 objects and buckets, IAM roles, EC2 instances and
 * any other ARN), then well-known requestParameters (bucketName/key, roleArn,
 * roleName, userName, instanceId(s), secretId, functionName) and, for
 * creations, the ARN in responseElements.  Every target is upserted; the most
 * specific one becomes the event's target.  An S3 bucket contains its objects.
 * A successful AssumeRole* links the caller -assumes-> role.
 *
 * The full mapping is in docs/formats/cloudtrail.md.
 */
#include "postgres.h"

#include <ctype.h>

#include "lib/stringinfo.h"

#include "correlate.h"
#include "ingest/aws_ref.h"
#include "ingest/json_util.h"
#include "model/uid.h"

static const char *const ct_wrappers[] = {"Records", NULL};
static const JuSplitOpts ct_split = {ct_wrappers};

/* Targets of one record (a small fixed list; more are ignored). */
#define CT_MAX_TARGETS 8

typedef struct CtTarget
{
	char	   *uid;
	const char *kind;
	char	   *name;
	const char *account;		/* resources[].accountId, when the ARN has none */
	int			rank;			/* specificity: higher wins as the event target */
} CtTarget;

typedef struct CtRec
{
	IngestCtx  *ctx;
	const char *account;
	const char *region;
	CtTarget	t[CT_MAX_TARGETS];
	int			nt;
} CtRec;

/* ---- classification ------------------------------------------------------- */

static const char *const data_services[] = {"s3", "dynamodb", "rds-data", "secretsmanager", "glacier",
"s3-object-lambda", "redshift-data", "athena", NULL};
static const char *const identity_services[] = {"iam", "sts", "signin", "sso", "identitystore",
"sso-directory", "cognito-identity", "cognito-idp", NULL};

static bool
in_list(const char *w, const char *const *list)
{
	for (int i = 0; list[i]; i++)
		if (strcmp(w, list[i]) == 0)
			return true;
	return false;
}

static bool
starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* OCSF API Activity activity_id from the operation name. */
static int
ct_activity(const char *name, bool read_only)
{
	static const char *const create[] = {"Create", "Put", "Run", "Add", "Attach", "Register", "Import",
	"Allocate", "Upload", "Copy", "Launch", "Issue", "Generate", NULL};
	static const char *const read[] = {"Get", "List", "Describe", "Head", "Lookup", "Search", "Scan",
	"Query", "BatchGet", "Select", "Download", "Decrypt", NULL};
	static const char *const update[] = {"Update", "Modify", "Set", "Change", "Enable", "Disable",
		"Start", "Stop", "Reboot", "Tag", "Untag", "Associate", "Reset", "Replace", "Restore",
	"Authorize", "Encrypt", NULL};
	static const char *const delete[] = {"Delete", "Remove", "Detach", "Terminate", "Deregister",
	"Revoke", "Release", "Disassociate", "Purge", "Cancel", NULL};

	for (int i = 0; read[i]; i++)
		if (starts(name, read[i]))
			return 2;
	for (int i = 0; create[i]; i++)
		if (starts(name, create[i]))
			return 1;
	for (int i = 0; delete[i]; i++)
		if (starts(name, delete[i]))
			return 4;
	for (int i = 0; update[i]; i++)
		if (starts(name, update[i]))
			return 3;
	return read_only ? 2 : 99;
}

/* ---- targets ----------------------------------------------------------------- */

static void
add_target(CtRec *r, char *uid, const char *kind, const char *name, int rank)
{
	if (uid == NULL || r->nt >= CT_MAX_TARGETS)
		return;
	for (int i = 0; i < r->nt; i++)
		if (strcmp(r->t[i].uid, uid) == 0)
			return;
	r->t[r->nt].uid = uid;
	r->t[r->nt].kind = kind;
	r->t[r->nt].name = name ? pstrdup(name) : NULL;
	r->t[r->nt].rank = rank;
	r->t[r->nt].account = NULL;
	r->nt++;
}

static void
add_arn(CtRec *r, const char *arn)
{
	const char *why;
	char	   *uid;
	const char *kind;
	int			rank;

	if (arn == NULL || (uid = uid_arn_try(arn, &why)) == NULL)
		return;
	kind = aws_arn_kind(uid, &rank);
	if (kind == NULL)
		return;
	add_target(r, uid, kind, aws_arn_name(uid), rank);
}

static void
add_bucket_object(CtRec *r, const char *bucket, const char *key)
{
	if (bucket == NULL || strchr(bucket, '/') || strchr(bucket, ':'))
		return;
	if (key)
		add_target(r, psprintf("arn:aws:s3:::%s/%s", bucket, key), "aws:s3:object", key, 3);
	add_target(r, psprintf("arn:aws:s3:::%s", bucket), "aws:s3:bucket", bucket, 2);
}

static void
add_instance(CtRec *r, const char *id)
{
	if (id == NULL || !starts(id, "i-") || r->account == NULL || r->region == NULL)
		return;
	add_target(r, psprintf("arn:aws:ec2:%s:%s:instance/%s", r->region, r->account, id),
			   "aws:ec2:instance", id, 2);
}

static void
collect_targets(CtRec *r, struct json_object *rec, const char *service, const char *event_name)
{
	struct json_object *res = ju_get(rec, "resources");
	struct json_object *req = ju_get(rec, "requestParameters");
	struct json_object *resp = ju_get(rec, "responseElements");
	const char *v;

	if (res && json_object_is_type(res, json_type_array))
	{
		size_t		n = json_object_array_length(res);

		for (size_t i = 0; i < n && i < CT_MAX_TARGETS; i++)
		{
			int			before = r->nt;

			add_arn(r, ju_str(json_object_array_get_idx(res, i), "ARN"));
			if (r->nt > before)
				r->t[before].account = ju_str(json_object_array_get_idx(res, i), "accountId");
		}
	}
	if (req && json_object_is_type(req, json_type_object))
	{
		if (strcmp(service, "s3") == 0)
			add_bucket_object(r, ju_str(req, "bucketName"), ju_str(req, "key"));
		if ((v = ju_str(req, "roleArn")) != NULL)
			add_arn(r, v);
		if (strcmp(service, "iam") == 0 && r->account)
		{
			if ((v = ju_str(req, "roleName")) != NULL && !strchr(v, '/'))
				add_target(r, psprintf("arn:aws:iam::%s:role/%s", r->account, v), "aws:iam:role", v, 2);
			if ((v = ju_str(req, "userName")) != NULL && !strchr(v, '/'))
				add_target(r, psprintf("arn:aws:iam::%s:user/%s", r->account, v), "aws:iam:user", v, 2);
			if ((v = ju_str(req, "policyArn")) != NULL)
				add_arn(r, v);
		}
		if (strcmp(service, "ec2") == 0)
		{
			struct json_object *items = ju_get(req, "instancesSet.items");

			add_instance(r, ju_str(req, "instanceId"));
			if (items && json_object_is_type(items, json_type_array))
			{
				size_t		n = json_object_array_length(items);

				for (size_t i = 0; i < n && i < CT_MAX_TARGETS; i++)
					add_instance(r, ju_str(json_object_array_get_idx(items, i), "instanceId"));
			}
		}
		if ((v = ju_str(req, "secretId")) != NULL && starts(v, "arn:"))
			add_arn(r, v);
		if ((v = ju_str(req, "functionName")) != NULL && starts(v, "arn:"))
			add_arn(r, v);
	}
	/* creations name what they made */
	if (resp && json_object_is_type(resp, json_type_object))
	{
		add_arn(r, ju_str(resp, "role.arn"));
		add_arn(r, ju_str(resp, "user.arn"));
		add_arn(r, ju_str(resp, "policy.arn"));
		add_arn(r, ju_str(resp, "functionArn"));
	}
	(void) event_name;
}

/* ---- actor -------------------------------------------------------------------- */

/* Sets uid, kind, name (and ns for a service account) of the acting identity; false when there is none. */
static bool
ct_actor(struct json_object *rec, const char **uid, const char **kind, const char **name, char **ns)
{
	struct json_object *ui = ju_get(rec, "userIdentity");
	const char *type,
			   *arn,
			   *why;

	if (ui == NULL || !json_object_is_type(ui, json_type_object))
		return false;
	type = ju_str(ui, "type");
	arn = ju_str(ui, "arn");
	if (type == NULL)
		type = "";

	if (strcmp(type, "AssumedRole") == 0)
	{
		const char *issuer = ju_str(ui, "sessionContext.sessionIssuer.arn");
		const char *itype = ju_str(ui, "sessionContext.sessionIssuer.type");

		if (issuer && itype && strcmp(itype, "Role") == 0 && (*uid = uid_arn_try(issuer, &why)) != NULL)
			;
		else if (arn == NULL || (*uid = uid_arn_try(arn, &why)) == NULL)
			return false;
		*kind = starts(*uid, "arn:") && strstr(*uid, ":role/") ? "aws:iam:role" : "aws:principal";
		*name = aws_arn_name(*uid);
		return true;
	}
	if (strcmp(type, "IAMUser") == 0 || strcmp(type, "Root") == 0)
	{
		if (arn == NULL || (*uid = uid_arn_try(arn, &why)) == NULL)
			return false;
		*kind = strcmp(type, "Root") == 0 ? "aws:iam:root" : "aws:iam:user";
		*name = strcmp(type, "Root") == 0 ? "root" : aws_arn_name(*uid);
		return true;
	}
	if (strcmp(type, "AWSService") == 0)
	{
		const char *svc = ju_str(ui, "invokedBy");

		if (svc == NULL)
			return false;
		*uid = pstrdup(svc);
		*kind = "aws:service";
		*name = *uid;
		return true;
	}
	if (strcmp(type, "AWSAccount") == 0)
	{
		const char *acct = ju_str(ui, "accountId");

		if (acct == NULL || strchr(acct, ':') || strchr(acct, '/'))
			return false;
		*uid = psprintf("arn:aws:iam::%s:root", acct);
		*kind = "aws:iam:root";
		*name = "root";
		return true;
	}
	if (strcmp(type, "WebIdentityUser") == 0 || strcmp(type, "SAMLUser") == 0)
	{
		const char *user = ju_str(ui, "userName");

		/* EKS IRSA: the subject is system:serviceaccount:NAMESPACE:NAME */
		if (user && starts(user, "system:serviceaccount:"))
		{
			const char *nsp = user + strlen("system:serviceaccount:");
			const char *colon = strchr(nsp, ':');

			if (colon && colon > nsp && colon[1])
			{
				char	   *nsname = pnstrdup(nsp, colon - nsp);

				if ((*uid = uid_k8s_try(NULL, nsname, "serviceaccount", colon + 1, &why)) != NULL)
				{
					*kind = "k8s:serviceaccount";
					*name = colon + 1;
					*ns = nsname;
					return true;
				}
			}
		}
		if (user == NULL)
			user = ju_str(ui, "principalId");
		if (user == NULL)
			return false;
		*uid = psprintf("%s:%s", type, user);
		*kind = "aws:principal";
		*name = user;
		return true;
	}
	if (arn && (*uid = uid_arn_try(arn, &why)) != NULL)
	{
		*kind = "aws:principal";
		*name = aws_arn_name(*uid);
		return true;
	}
	return false;
}

/* ---- one record ------------------------------------------------------------------ */

static void
ct_record(IngestCtx *ctx, struct json_object *rec, const char *raw, size_t rawlen, int64 recno, void *arg)
{
	IngestEvent e;
	IngestResource res;
	CtRec		r;
	const char *source,
			   *event_name,
			   *err,
			   *ip,
			   *auid = NULL,
			   *akind = NULL,
			   *aname = NULL,
			   *etype;
	char	   *ans = NULL;
	char		service[64];
	char		ipbuf[INGEST_IP_BUFLEN];
	bool		read_only = false;
	bool		insight;
	int			best = -1;

	if (!json_object_is_type(rec, json_type_object))
	{
		ingest_reject(ctx, recno, raw, rawlen, "the record is not a JSON object");
		return;
	}
	ingest_event_init(&e);
	if (!ingest_parse_time(ju_str(rec, "eventTime"), &e.ts))
	{
		ingest_reject(ctx, recno, raw, rawlen,
					  ju_get(rec, "eventTime") ? "eventTime is not an ISO 8601 time" : "the record has no eventTime");
		return;
	}
	etype = ju_str(rec, "eventType");
	insight = etype && strcmp(etype, "AwsCloudTrailInsight") == 0;
	source = ju_str(rec, insight ? "insightDetails.eventSource" : "eventSource");
	event_name = ju_str(rec, insight ? "insightDetails.eventName" : "eventName");
	if (source == NULL || event_name == NULL)
	{
		ingest_reject(ctx, recno, raw, rawlen, "the record has no eventSource or eventName (or they are not strings)");
		return;
	}
	ingest_record_time(ctx, e.ts);

	/* service = eventSource without .amazonaws.com */
	{
		const char *dot = strstr(source, ".amazonaws.com");
		size_t		n = dot ? (size_t) (dot - source) : strlen(source);

		if (n >= sizeof(service))
			n = sizeof(service) - 1;
		memcpy(service, source, n);
		service[n] = '\0';
	}

	memset(&r, 0, sizeof(r));
	r.ctx = ctx;
	r.account = ju_str(rec, "recipientAccountId");
	if (r.account == NULL)
		r.account = ju_str(rec, "userIdentity.accountId");
	r.region = ju_str(rec, "awsRegion");

	if (ju_is_type(rec, "readOnly", json_type_boolean))
		read_only = json_object_get_boolean(ju_get(rec, "readOnly"));

	e.uid = ju_str(rec, "eventID");
	e.action = psprintf("%s:%s", service, event_name);
	if (insight)
	{
		/* CloudTrail Insights: unusual API call or error rates, a detection */
		const char *state = ju_str(rec, "insightDetails.state");

		e.class_uid = 2004;		/* Detection Finding */
		e.activity_id = (state && strcmp(state, "End") == 0) ? 3 : 1;
		e.domain = "cloud";
		e.rule = ju_str(rec, "insightDetails.insightType");
	}
	else if (etype && strcmp(etype, "AwsConsoleSignIn") == 0)
	{
		e.class_uid = 3002;		/* Authentication */
		e.activity_id = strcmp(event_name, "ConsoleLogin") == 0 ? 1 : 99;
		e.domain = "identity";
	}
	else
	{
		e.class_uid = 6003;		/* API Activity */
		e.activity_id = ct_activity(event_name, read_only);
		e.domain = in_list(service, data_services) ? "data"
			: in_list(service, identity_services) ? "identity" : "cloud";
	}
	e.severity_id = insight ? 3 : 1;
	err = ju_str(rec, "errorCode");
	e.outcome = err ? err : "success";
	if ((ip = ju_str(rec, "sourceIPAddress")) != NULL && ingest_parse_ip(ip, ipbuf))
		e.src_ip = ipbuf;
	e.raw_json = raw;
	e.raw_jsonb = ju_jsonb(rec);

	/* the actor */
	if (ct_actor(rec, &auid, &akind, &aname, &ans))
	{
		ingest_resource_init(&res);
		res.uid = auid;
		res.kind = akind;
		res.name = aname;
		if (strcmp(akind, "k8s:serviceaccount") == 0)
		{
			res.cluster = correlate_default_cluster;
			res.namespace = ans;
		}
		else if (strcmp(akind, "aws:service") != 0)
			res.account = ju_str(rec, "userIdentity.accountId");
		ingest_resource(ctx, &res);
		e.actor_uid = auid;
	}

	/* the targets */
	collect_targets(&r, rec, service, event_name);
	for (int i = 0; i < r.nt; i++)
	{
		ingest_resource_init(&res);
		res.uid = r.t[i].uid;
		res.kind = r.t[i].kind;
		res.name = r.t[i].name;
		if (starts(r.t[i].uid, "arn:"))
		{
			/* account and region as the ARN states them */
			const char *p[6];
			int			n = 1;

			p[0] = r.t[i].uid;
			for (const char *c = r.t[i].uid; *c && n < 6; c++)
				if (*c == ':')
					p[n++] = c + 1;
			if (n == 6)
			{
				if (p[4] - p[3] > 1)
					res.region = pnstrdup(p[3], p[4] - p[3] - 1);
				if (p[5] - p[4] > 1)
					res.account = pnstrdup(p[4], p[5] - p[4] - 1);
			}
		}
		if (res.account == NULL)
			res.account = r.t[i].account;
		ingest_resource(ctx, &res);
		if (best < 0 || r.t[i].rank > r.t[best].rank)
			best = i;
	}
	if (best >= 0)
		e.target_uid = r.t[best].uid;

	/* structure and observed trust */
	for (int i = 0; i < r.nt; i++)
	{
		if (strcmp(r.t[i].kind, "aws:s3:object") == 0)
		{
			const char *slash = strchr(r.t[i].uid + strlen("arn:aws:s3:::"), '/');

			if (slash)
				for (int j = 0; j < r.nt; j++)
					if (strcmp(r.t[j].kind, "aws:s3:bucket") == 0 &&
						strncmp(r.t[j].uid, r.t[i].uid, slash - r.t[i].uid) == 0 &&
						r.t[j].uid[slash - r.t[i].uid] == '\0')
						ingest_link(ctx, r.t[j].uid, r.t[i].uid, "contains", 0, NULL);
		}
	}
	if (auid && err == NULL && strcmp(service, "sts") == 0 && starts(event_name, "AssumeRole"))
		for (int i = 0; i < r.nt; i++)
			if (strcmp(r.t[i].kind, "aws:iam:role") == 0 && strcmp(r.t[i].uid, auid) != 0)
			{
				bool		plain = true;

				for (const char *c = event_name; *c; c++)
					plain &= isalnum((unsigned char) *c) != 0;
				ingest_link(ctx, auid, r.t[i].uid, "assumes", 0,
							plain ? psprintf("{\"observed\": \"%s\"}", event_name) : NULL);
			}

	ingest_event(ctx, &e);
}

IngestStream *
fmt_cloudtrail_stream(IngestCtx *ctx)
{
	return ju_json_stream(ctx, &ct_split, ct_record, NULL);
}

void
fmt_cloudtrail(IngestCtx *ctx, const char *payload, size_t len)
{
	ju_json_each(ctx, payload, len, &ct_split, ct_record, NULL);
}
