/*
 * fmt_ocsf.c
 *		OCSF events (any producer: Security Lake, Prowler, OCSF mappings of
 *		CloudTrail, EKS, Falco, VPC flow) -> events, mapped directly by class_uid.
 *
 * Input: one event, a JSON array of events, or NDJSON; streamed.  The event
 * keeps class_uid, activity_id and severity_id as given; the uid is
 * metadata.uid (a content hash when absent); the time is "time" (epoch
 * milliseconds) or "time_dt".
 *
 * Common attributes: actor.user (an ARN as that principal, assumed-role
 * sessions folded onto their role; "system:serviceaccount:NS:NAME" as the
 * service account), src_endpoint / dst_endpoint (ip, port), api.operation
 * (prefixed with the api.service.name, as "s3:GetObject"), status, process,
 * resources[] (ARNs become resources; the first is the target).  Network
 * Activity (4001) resolves its endpoints through ip_lease and links allowed
 * connections like vpc_flow.  A failed compliance or detection finding
 * (class 2003 / 2004 with status_code FAIL, as Prowler writes) is also stored as
 * a misconfiguration finding on its resource.  See docs/formats/ocsf.md.
 */
#include "postgres.h"

#include "correlate.h"
#include "ingest/aws_ref.h"
#include "ingest/json_util.h"
#include "ingest/k8s_ref.h"
#include "model/uid.h"

static const JuSplitOpts ocsf_split = {NULL};

static bool
int_field(struct json_object *rec, const char *path, int lo, int hi, int *out, bool *bad)
{
	int64		v;

	if (ju_get(rec, path) == NULL)
		return false;
	if (!ju_is_type(rec, path, json_type_int) || !ju_int64(rec, path, &v) || v < lo || v > hi)
	{
		*bad = true;
		return false;
	}
	*out = (int) v;
	return true;
}

/* An AWS ARN or a Kubernetes user name as a resource; returns its uid or NULL. */
static const char *
principal(IngestCtx *ctx, const char *uid_or_name)
{
	const char *why;
	IngestResource r;

	if (uid_or_name == NULL)
		return NULL;
	ingest_resource_init(&r);
	if (strncmp(uid_or_name, "arn:", 4) == 0)
	{
		int			rank;
		char	   *uid = uid_arn_try(uid_or_name, &why);

		if (uid == NULL)
			return NULL;
		r.uid = uid;
		r.kind = aws_arn_kind(uid, &rank);
		if (r.kind == NULL || (strncmp(r.kind, "aws:iam:", 8) != 0))
			r.kind = "aws:principal";
		r.name = aws_arn_name(uid);
	}
	else if (strncmp(uid_or_name, "system:serviceaccount:", 22) == 0)
	{
		char	   *uid,
				   *ns;
		const char *rkind,
				   *name;

		k8s_user(NULL, uid_or_name, &uid, &rkind, &name, &ns);
		if (uid == NULL)
			return NULL;
		r.uid = uid;
		r.kind = rkind;
		r.name = name;
		r.namespace = ns;
		r.cluster = correlate_default_cluster;
	}
	else
		return NULL;
	ingest_resource(ctx, &r);
	return r.uid;
}

static const char *
severity_word(const char *s)
{
	if (s == NULL)
		return NULL;
	if (pg_strcasecmp(s, "Informational") == 0)
		return "info";
	if (pg_strcasecmp(s, "Fatal") == 0)
		return "critical";
	if (pg_strcasecmp(s, "Low") == 0 || pg_strcasecmp(s, "Medium") == 0 ||
		pg_strcasecmp(s, "High") == 0 || pg_strcasecmp(s, "Critical") == 0)
		return s;
	return "unknown";
}

static void
ocsf_record(IngestCtx *ctx, struct json_object *rec, const char *raw, size_t rawlen, int64 recno, void *arg)
{
	IngestEvent e;
	bool		bad = false;
	int			action_id = -1;
	const char *s,
			   *target = NULL;
	char		sip[INGEST_IP_BUFLEN],
				dip[INGEST_IP_BUFLEN];
	int64		port;
	struct json_object *res;

	if (!json_object_is_type(rec, json_type_object))
	{
		ingest_reject(ctx, recno, raw, rawlen, "the OCSF event is not a JSON object");
		return;
	}
	ingest_event_init(&e);
	if (!int_field(rec, "class_uid", 0, 999999, &e.class_uid, &bad))
	{
		ingest_reject(ctx, recno, raw, rawlen, bad ? "class_uid is not an integer in 0..999999" : "the OCSF event has no class_uid");
		return;
	}
	if (!ju_time(ju_get(rec, "time"), &e.ts) && !ju_time(ju_get(rec, "time_dt"), &e.ts))
	{
		ingest_reject(ctx, recno, raw, rawlen, "the OCSF event has no usable time (time in epoch milliseconds, or time_dt)");
		return;
	}
	int_field(rec, "activity_id", 0, 99, &e.activity_id, &bad);
	int_field(rec, "severity_id", 0, 99, &e.severity_id, &bad);
	int_field(rec, "action_id", 0, 99, &action_id, &bad);
	if (bad)
	{
		ingest_reject(ctx, recno, raw, rawlen, "activity_id, severity_id or action_id is not an integer in 0..99");
		return;
	}
	ingest_record_time(ctx, e.ts);
	e.uid = ju_str(rec, "metadata.uid");
	e.raw_json = raw;
	e.raw_jsonb = ju_jsonb(rec);

	/* what was done */
	if ((s = ju_str(rec, "api.operation")) != NULL)
	{
		const char *svc = ju_str(rec, "api.service.name");

		if (svc)
		{
			const char *dot = strstr(svc, ".amazonaws.com");

			e.action = psprintf("%.*s:%s", dot ? (int) (dot - svc) : (int) strlen(svc), svc, s);
		}
		else
			e.action = s;
	}
	else
		e.action = ju_str(rec, "activity_name");
	if ((s = ju_str(rec, "status")) != NULL)
		e.outcome = pg_strcasecmp(s, "Success") == 0 ? "success" : pg_strcasecmp(s, "Failure") == 0 ? "failure" : s;
	if (e.class_uid / 1000 == 2)
	{
		e.rule = ju_str(rec, "metadata.event_code");
		if (e.rule == NULL)
			e.rule = ju_str(rec, "finding_info.title");
		if ((s = ju_str(rec, "status_code")) != NULL)
			e.outcome = s;
	}
	e.process = ju_str(rec, "process.name");
	if (e.process == NULL)
		e.process = ju_str(rec, "actor.process.name");
	e.command_line = ju_str(rec, "process.cmd_line");
	if (e.command_line == NULL)
		e.command_line = ju_str(rec, "actor.process.cmd_line");

	/* where */
	if ((s = ju_str(rec, "src_endpoint.ip")) != NULL && ingest_parse_ip(s, sip))
		e.src_ip = sip;
	if ((s = ju_str(rec, "dst_endpoint.ip")) != NULL && ingest_parse_ip(s, dip))
		e.dst_ip = dip;
	if (ju_int64(rec, "dst_endpoint.port", &port) && port >= 0 && port <= 65535)
		e.dst_port = (int) port;
	if (e.class_uid == 4001)
	{
		e.resolve_src = e.resolve_dst = true;
		if (action_id != 2 && e.activity_id != 5)
			e.link_kind = "connects_to";
		if (ju_int64(rec, "traffic.bytes", &port) && port >= 0)
			e.bytes = port;
		if (ju_int64(rec, "traffic.packets", &port) && port >= 0)
			e.packets = port;
	}

	/* who */
	e.actor_uid = principal(ctx, ju_str(rec, "actor.user.uid"));
	if (e.actor_uid == NULL)
		e.actor_uid = principal(ctx, ju_str(rec, "actor.user.name"));

	/* on what */
	res = ju_get(rec, "resources");
	if (res && json_object_is_type(res, json_type_array))
	{
		for (size_t i = 0; i < json_object_array_length(res) && i < 16; i++)
		{
			struct json_object *r = json_object_array_get_idx(res, i);
			const char *uid = ju_str(r, "uid");
			const char *why;
			IngestResource ir;

			if (uid && strncmp(uid, "arn:", 4) == 0)
			{
				int			rank;
				char	   *cuid = uid_arn_try(uid, &why);

				if (cuid == NULL)
					continue;
				ingest_resource_init(&ir);
				ir.uid = cuid;
				ir.kind = aws_arn_kind(cuid, &rank);
				ir.name = ju_str(r, "name") ? ju_str(r, "name") : aws_arn_name(cuid);
				ir.region = ju_str(r, "region");
				ir.account = ju_str(rec, "cloud.account.uid");
				if (ir.account && (strchr(ir.account, ':') || ir.account[0] == '<'))
					ir.account = NULL;
				ingest_resource(ctx, &ir);
				if (target == NULL)
					target = cuid;
			}
			else if (target == NULL && ju_str(r, "type") && ju_str(r, "name"))
			{
				/* a Kubernetes object named by API resource (OCSF mappings of audit logs) */
				const char *kind,
						   *rkind;
				bool		namespaced;
				const char *ns = ju_str(r, "namespace");
				char	   *kuid;

				if (strspn(ju_str(r, "type"), "abcdefghijklmnopqrstuvwxyz") != strlen(ju_str(r, "type")))
					continue;	/* not an API resource name such as "pods" */
				k8s_resource_kind(ju_str(r, "type"), &kind, &rkind, &namespaced);
				if (namespaced && ns == NULL)
					continue;
				kuid = uid_k8s_try(NULL, namespaced ? ns : NULL, kind, ju_str(r, "name"), &why);
				if (kuid == NULL)
					continue;
				ingest_resource_init(&ir);
				ir.uid = kuid;
				ir.kind = rkind;
				ir.name = ju_str(r, "name");
				ir.cluster = correlate_default_cluster;
				ir.namespace = namespaced ? ns : NULL;
				ingest_resource(ctx, &ir);
				target = kuid;
			}
		}
	}
	e.target_uid = target;

	/* a failed check is also a finding on its resource */
	if ((e.class_uid == 2003 || e.class_uid == 2004) && target &&
		(s = ju_str(rec, "status_code")) != NULL && strcmp(s, "FAIL") == 0)
	{
		IngestFinding f;

		ingest_finding_init(&f);
		f.resource_uid = target;
		f.kind = "misconfiguration";
		f.check_id = ju_str(rec, "metadata.event_code");
		if (f.check_id == NULL)
			f.check_id = ju_str(rec, "finding_info.uid");
		f.title = ju_str(rec, "finding_info.title");
		f.severity = severity_word(ju_str(rec, "severity"));
		if (f.check_id)
			ingest_finding(ctx, &f);
	}
	ingest_event(ctx, &e);
}

IngestStream *
fmt_ocsf_stream(IngestCtx *ctx)
{
	return ju_json_stream(ctx, &ocsf_split, ocsf_record, NULL);
}

void
fmt_ocsf(IngestCtx *ctx, const char *payload, size_t len)
{
	ju_json_each(ctx, payload, len, &ocsf_split, ocsf_record, NULL);
}
