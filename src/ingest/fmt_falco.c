/*
 * fmt_falco.c
 *		Falco alerts (json_output: rule, priority, time, output, output_fields,
 *		source, tags, hostname) -> events plus the workload they name.
 *
 * Input: one alert per line (what Falco writes with json_output), a JSON array
 * of alerts, or one alert; streamed.  The event uid is the alert's "uuid"
 * (Falcosidekick adds one) or a content hash of the alert.
 *
 * Class, from what the alert observed: a connection (fd.sip, fd.rip, fd.sport,
 * or a "network" tag) is Network Activity 4001; a file (fd.name of a file, or a
 * "filesystem" tag) is File System Activity 1001; a process (proc.*) is Process
 * Activity 1007; a k8s_audit-source alert (ka.*) is API Activity 6003; an alert
 * that names none of these is a Detection Finding 2004.  The rule that fired is
 * in event.rule, the priority in severity_id.
 *
 * Resources: the container (container.id), its pod (k8s.pod.name in
 * k8s.ns.name), the namespace, the node (hostname, which the Falco Helm chart
 * sets to the node name, when the alert is from a pod) and the image.  Links:
 * pod -contains-> container (the direction the inventory uses, so the two
 * sources link them once), pod -runs_on-> node, namespace -contains-> pod,
 * container -uses_image-> image.  The actor is the container (else the pod,
 * else the host); a connection's destination is resolved through ip_lease at
 * the alert's time (public addresses to the internet) and linked
 * container -connects_to-> destination.  See docs/formats/falco.md.
 */
#include "postgres.h"

#include "correlate.h"
#include "ingest/json_util.h"
#include "ingest/k8s_ref.h"
#include "model/uid.h"

static const JuSplitOpts falco_split = {NULL};

/* An output field as text; Falco writes "<NA>" for unknown values. */
static const char *
of_str(struct json_object *of, const char *key)
{
	struct json_object *v;
	const char *s;

	if (of == NULL || !json_object_object_get_ex(of, key, &v) || v == NULL)
		return NULL;
	switch (json_object_get_type(v))
	{
		case json_type_string:
			s = ju_cstr(v);
			break;
		case json_type_int:
		case json_type_double:
		case json_type_boolean:
			s = json_object_get_string(v);
			break;
		default:
			return NULL;
	}
	if (s == NULL || strcmp(s, "<NA>") == 0 || strcmp(s, "N/A") == 0)
		return NULL;
	return s;
}

/* An integer output field (a number, or digits in a string). */
static bool
of_int64(struct json_object *of, const char *key, int64 *out)
{
	const char *s = of_str(of, key);
	char	   *e;
	long long	v;

	if (s == NULL)
		return false;
	errno = 0;
	v = strtoll(s, &e, 10);
	if (errno != 0 || e == s || *e != '\0')
		return false;
	*out = v;
	return true;
}

static bool
has_tag(struct json_object *rec, const char *tag)
{
	struct json_object *tags = ju_get(rec, "tags");

	if (tags == NULL || !json_object_is_type(tags, json_type_array))
		return false;
	for (size_t i = 0; i < json_object_array_length(tags); i++)
	{
		const char *t = ju_cstr(json_object_array_get_idx(tags, i));

		if (t && strcmp(t, tag) == 0)
			return true;
	}
	return false;
}

static int
priority_severity(const char *p)
{
	if (p == NULL)
		return 0;
	if (pg_strcasecmp(p, "Emergency") == 0)
		return 6;
	if (pg_strcasecmp(p, "Alert") == 0 || pg_strcasecmp(p, "Critical") == 0)
		return 5;
	if (pg_strcasecmp(p, "Error") == 0)
		return 4;
	if (pg_strcasecmp(p, "Warning") == 0)
		return 3;
	if (pg_strcasecmp(p, "Notice") == 0)
		return 2;
	if (pg_strcasecmp(p, "Informational") == 0 || pg_strcasecmp(p, "Info") == 0 ||
		pg_strcasecmp(p, "Debug") == 0)
		return 1;
	return 0;
}

/* "1.2.3.4:5678->5.6.7.8:443" (fd.name of a connection) */
static bool
parse_tuple(const char *s, char *cip, char *sip, int *sport)
{
	const char *arrow = s ? strstr(s, "->") : NULL;
	char		left[INGEST_IP_BUFLEN + 8],
				right[INGEST_IP_BUFLEN + 8];
	char	   *c;

	if (arrow == NULL || arrow - s >= (long) sizeof(left) || strlen(arrow + 2) >= sizeof(right))
		return false;
	memcpy(left, s, arrow - s);
	left[arrow - s] = '\0';
	strcpy(right, arrow + 2);
	if ((c = strrchr(left, ':')) == NULL)
		return false;
	*c = '\0';
	if ((c = strrchr(right, ':')) == NULL)
		return false;
	*c++ = '\0';
	*sport = atoi(c);
	return ingest_parse_ip(left, cip) && ingest_parse_ip(right, sip) && *sport >= 0 && *sport <= 65535;
}

static void
falco_k8s_audit(IngestCtx *ctx, struct json_object *of, IngestEvent *e, const char *cluster)
{
	const char *verb = of_str(of, "ka.verb");
	const char *res = of_str(of, "ka.target.resource");
	const char *sub = of_str(of, "ka.target.subresource");
	const char *tname = of_str(of, "ka.target.name");
	const char *tns = of_str(of, "ka.target.namespace");
	const char *code = of_str(of, "ka.response.code");
	char	   *uid,
			   *ns;
	const char *rkind,
			   *name;
	IngestResource r;

	e->class_uid = 6003;
	e->domain = "kubernetes";
	e->action = psprintf("k8s:%s%s%s%s%s", verb ? verb : "", verb ? " " : "", res ? res : "?",
						 sub ? "/" : "", sub ? sub : "");
	e->command_line = of_str(of, "ka.uri.param[command]");
	if (code)
		e->outcome = (atoi(code) >= 400) ? code : "success";

	k8s_user(cluster, of_str(of, "ka.user.name"), &uid, &rkind, &name, &ns);
	if (uid)
	{
		ingest_resource_init(&r);
		r.uid = uid;
		r.kind = rkind;
		r.name = name;
		r.cluster = cluster;
		r.namespace = ns;
		ingest_resource(ctx, &r);
		e->actor_uid = uid;
	}
	if (res && tname)
	{
		const char *kind,
				   *trkind,
				   *why;
		bool		namespaced;
		char	   *tuid;

		k8s_resource_kind(res, &kind, &trkind, &namespaced);
		tuid = uid_k8s_try(cluster, namespaced ? tns : NULL, kind, tname, &why);
		if (tuid && (!namespaced || tns))
		{
			ingest_resource_init(&r);
			r.uid = tuid;
			r.kind = trkind;
			r.name = tname;
			r.cluster = cluster;
			r.namespace = namespaced ? tns : NULL;
			ingest_resource(ctx, &r);
			e->target_uid = tuid;
			/* an exec or attach that went through: the user can run code in the pod */
			if (e->actor_uid && sub && strcmp(res, "pods") == 0 &&
				(strcmp(sub, "exec") == 0 || strcmp(sub, "attach") == 0) &&
				(code == NULL || atoi(code) < 400))
				ingest_link(ctx, e->actor_uid, tuid, "can_exec", 0, "{\"observed\": \"falco\"}");
		}
	}
}

static void
falco_record(IngestCtx *ctx, struct json_object *rec, const char *raw, size_t rawlen, int64 recno, void *arg)
{
	struct json_object *of;
	IngestEvent e;
	IngestResource r;
	const char *rule,
			   *cluster,
			   *ns,
			   *pod,
			   *cid,
			   *host,
			   *src,
			   *why;
	char	   *container_uid = NULL,
			   *pod_uid = NULL,
			   *node_uid = NULL,
			   *ns_uid = NULL,
			   *image_uid = NULL;
	char		cip[INGEST_IP_BUFLEN],
				sip[INGEST_IP_BUFLEN];
	bool		have_cip = false,
				have_sip = false;
	int			sport = -1;
	int64		port;

	if (!json_object_is_type(rec, json_type_object))
	{
		ingest_reject(ctx, recno, raw, rawlen, "the alert is not a JSON object");
		return;
	}
	rule = ju_str(rec, "rule");
	if (rule == NULL)
	{
		ingest_reject(ctx, recno, raw, rawlen, "the alert has no rule (or it is not a string)");
		return;
	}
	of = ju_get(rec, "output_fields");
	if (of && !json_object_is_type(of, json_type_object))
	{
		ingest_reject(ctx, recno, raw, rawlen, "output_fields is not a JSON object");
		return;
	}

	ingest_event_init(&e);
	if (!ju_time(ju_get(rec, "time"), &e.ts) &&
		!(of && json_object_object_get_ex(of, "evt.time", NULL) &&
		  ju_time(json_object_object_get(of, "evt.time"), &e.ts)) &&
		!(of && json_object_object_get_ex(of, "evt.time.iso8601", NULL) &&
		  ju_time(json_object_object_get(of, "evt.time.iso8601"), &e.ts)))
	{
		ingest_reject(ctx, recno, raw, rawlen, "the alert has no usable time (time, evt.time or evt.time.iso8601)");
		return;
	}
	ingest_record_time(ctx, e.ts);
	e.uid = ju_str(rec, "uuid");
	e.rule = rule;
	e.severity_id = priority_severity(ju_str(rec, "priority"));
	e.raw_json = raw;
	e.raw_jsonb = ju_jsonb(rec);
	src = ju_str(rec, "source");
	cluster = of_str(of, "k8s.cluster.name");
	if (cluster == NULL)
		cluster = correlate_default_cluster;

	if (src && strcmp(src, "k8s_audit") == 0)
	{
		falco_k8s_audit(ctx, of, &e, cluster);
		ingest_event(ctx, &e);
		return;
	}

	/* the workload */
	ns = of_str(of, "k8s.ns.name");
	pod = of_str(of, "k8s.pod.name");
	cid = of_str(of, "container.id");
	host = ju_str(rec, "hostname");
	if (cid && strcmp(cid, "host") != 0)
		container_uid = uid_container_try(cid, &why);
	if (ns && pod)
		pod_uid = uid_k8s_try(cluster, ns, "pod", pod, &why);
	if (ns)
		ns_uid = uid_k8s_try(cluster, NULL, "namespace", ns, &why);
	if (host && (pod_uid || container_uid == NULL))
		node_uid = uid_k8s_try(cluster, NULL, "node", host, &why);
	{
		const char *repo = of_str(of, "container.image.repository");
		const char *tag = of_str(of, "container.image.tag");
		const char *digest = of_str(of, "container.image.digest");
		const char *img = of_str(of, "container.image");
		char	   *ref = NULL;

		if (repo && digest)
			ref = psprintf("%s@%s", repo, digest);
		else if (repo)
			ref = tag ? psprintf("%s:%s", repo, tag) : pstrdup(repo);
		else if (img)
			ref = pstrdup(img);
		if (ref && container_uid)
			image_uid = uid_image_try(ref, &why);
		if (image_uid)
		{
			ingest_resource_init(&r);
			r.uid = image_uid;
			r.kind = "container:image";
			r.name = repo ? (tag ? psprintf("%s:%s", repo, tag) : repo) : ref;
			ingest_resource(ctx, &r);
		}
	}
	if (node_uid)
	{
		ingest_resource_init(&r);
		r.uid = node_uid;
		r.kind = "k8s:node";
		r.name = host;
		r.cluster = cluster;
		ingest_resource(ctx, &r);
	}
	if (ns_uid)
	{
		ingest_resource_init(&r);
		r.uid = ns_uid;
		r.kind = "k8s:namespace";
		r.name = ns;
		r.cluster = cluster;
		ingest_resource(ctx, &r);
	}
	if (pod_uid)
	{
		ingest_resource_init(&r);
		r.uid = pod_uid;
		r.kind = "k8s:pod";
		r.name = pod;
		r.cluster = cluster;
		r.namespace = ns;
		ingest_resource(ctx, &r);
		if (ns_uid)
			ingest_link(ctx, ns_uid, pod_uid, "contains", 0, NULL);
		if (node_uid)
			ingest_link(ctx, pod_uid, node_uid, "runs_on", 0, NULL);
	}
	if (container_uid)
	{
		JuBuild		p;

		jb_begin(&p);
		jb_str(&p, "runtime_id", cid);
		if (of_str(of, "container.privileged"))
			jb_bool(&p, "privileged", strcmp(of_str(of, "container.privileged"), "true") == 0);
		ingest_resource_init(&r);
		r.uid = container_uid;
		r.kind = "container";
		r.name = of_str(of, "container.name");
		r.cluster = pod_uid ? cluster : NULL;
		r.namespace = pod_uid ? ns : NULL;
		r.props_json = jb_end(&p);
		ingest_resource(ctx, &r);
		if (pod_uid)
			ingest_link(ctx, pod_uid, container_uid, "contains", 0, NULL);
		if (image_uid)
			ingest_link(ctx, container_uid, image_uid, "uses_image", 0, NULL);
	}
	e.actor_uid = container_uid ? container_uid : pod_uid ? pod_uid : node_uid;

	/* what it observed */
	e.process = of_str(of, "proc.name");
	if (e.process == NULL)
		e.process = of_str(of, "proc.exepath");
	e.command_line = of_str(of, "proc.cmdline");
	if (e.process == NULL && e.command_line)
	{
		/* the program is the command line's first word */
		const char *sp = strchr(e.command_line, ' ');

		e.process = sp ? pnstrdup(e.command_line, sp - e.command_line) : e.command_line;
	}
	e.action = of_str(of, "evt.type");

	{
		const char *s;

		if ((s = of_str(of, "fd.sip")) != NULL || (s = of_str(of, "fd.rip")) != NULL)
			have_sip = ingest_parse_ip(s, sip);
		if ((s = of_str(of, "fd.cip")) != NULL || (s = of_str(of, "fd.lip")) != NULL)
			have_cip = ingest_parse_ip(s, cip);
		if (of_int64(of, "fd.sport", &port) || of_int64(of, "fd.rport", &port))
			sport = (port >= 0 && port <= 65535) ? (int) port : -1;
		if (!have_sip && (s = of_str(of, "fd.name")) != NULL && strstr(s, "->"))
		{
			have_sip = have_cip = parse_tuple(s, cip, sip, &sport);
			if (!have_sip)
				sport = -1;
		}
	}
	if (have_sip || has_tag(rec, "network"))
	{
		e.class_uid = 4001;
		e.activity_id = 1;		/* Open */
		e.domain = "network";
		if (have_sip)
		{
			e.dst_ip = sip;
			e.dst_port = sport;
			e.resolve_dst = true;
			if (e.actor_uid)
				e.link_kind = "connects_to";
		}
		if (have_cip)
			e.src_ip = cip;
	}
	else if (has_tag(rec, "filesystem") || (of_str(of, "fd.name") && !e.process))
	{
		e.class_uid = 1001;
		e.activity_id = 0;
		e.domain = "workload";
	}
	else if (e.process || e.command_line)
	{
		e.class_uid = 1007;
		e.activity_id = 1;		/* Launch */
		e.domain = "workload";
	}
	else
	{
		e.class_uid = 2004;
		e.activity_id = 1;		/* Create */
		e.domain = "workload";
	}
	ingest_event(ctx, &e);
}

IngestStream *
fmt_falco_stream(IngestCtx *ctx)
{
	return ju_json_stream(ctx, &falco_split, falco_record, NULL);
}

void
fmt_falco(IngestCtx *ctx, const char *payload, size_t len)
{
	ju_json_each(ctx, payload, len, &falco_split, falco_record, NULL);
}
