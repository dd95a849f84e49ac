/*
 * fmt_k8s_audit.c
 *		Kubernetes audit log (audit.k8s.io/v1 Event) -> API Activity (6003)
 *		events on cluster objects, the user or service account behind them,
 *		exec/attach into pods and RBAC changes.
 *
 * Input: Event objects one per line (the API server's log backend), an
 * EventList ({"kind":"EventList","items":[...]}), a JSON array, or one
 * pretty-printed Event; streamed.  The event uid is auditID and its time
 * requestReceivedTimestamp, so the stages of one request (RequestReceived,
 * ResponseStarted, ResponseComplete) are one event: the first stage read is
 * kept.
 *
 * Actor: user.username, as its service account for
 * system:serviceaccount:NS:NAME, else a k8s:user.  Target: the objectRef's
 * object (its name from objectRef, else from the response or request object),
 * else its namespace.  Cluster: correlate.default_cluster (audit events do not
 * name their cluster).
 *
 * Exec and attach (create on pods/exec or pods/attach that succeeded) link the
 * caller -can_exec-> pod.  Creating or updating a RoleBinding or
 * ClusterRoleBinding links each subject -can_access-> the bound role, as the
 * inventory does for bindings it lists.  Both are marked severity 3 (medium).
 * See docs/formats/k8s_audit.md.
 */
#include "postgres.h"

#include "correlate.h"
#include "ingest/json_util.h"
#include "ingest/k8s_ref.h"
#include "model/uid.h"

static const char *const audit_wrappers[] = {"items", NULL};
static const JuSplitOpts audit_split = {audit_wrappers};

static int
verb_activity(const char *verb)
{
	if (strcmp(verb, "create") == 0)
		return 1;
	if (strcmp(verb, "get") == 0 || strcmp(verb, "list") == 0 || strcmp(verb, "watch") == 0)
		return 2;
	if (strcmp(verb, "update") == 0 || strcmp(verb, "patch") == 0)
		return 3;
	if (strcmp(verb, "delete") == 0 || strcmp(verb, "deletecollection") == 0)
		return 4;
	return 99;
}

/* Upserts a Kubernetes object resource and returns its uid, or NULL. */
static char *
k8s_object(IngestCtx *ctx, const char *cluster, const char *resource, const char *ns, const char *name)
{
	const char *kind,
			   *rkind,
			   *why;
	bool		namespaced;
	char	   *uid;
	IngestResource r;

	if (resource == NULL || name == NULL)
		return NULL;
	k8s_resource_kind(resource, &kind, &rkind, &namespaced);
	if (namespaced && ns == NULL)
		return NULL;
	uid = uid_k8s_try(cluster, namespaced ? ns : NULL, kind, name, &why);
	if (uid == NULL)
		return NULL;
	ingest_resource_init(&r);
	r.uid = uid;
	r.kind = rkind;
	r.name = name;
	r.cluster = cluster;
	r.namespace = namespaced ? ns : NULL;
	ingest_resource(ctx, &r);
	return uid;
}

/* A binding's subjects can now do what its role allows. */
static void
binding_links(IngestCtx *ctx, struct json_object *obj, const char *cluster, const char *ns, const char *bname)
{
	struct json_object *subjects = ju_get(obj, "subjects");
	const char *rkind = ju_str(obj, "roleRef.kind");
	const char *rname = ju_str(obj, "roleRef.name");
	char	   *role_uid;
	JuBuild		p;
	char	   *props;

	if (rkind == NULL || rname == NULL || subjects == NULL || !json_object_is_type(subjects, json_type_array))
		return;
	if (strcmp(rkind, "ClusterRole") == 0)
		role_uid = k8s_object(ctx, cluster, "clusterroles", NULL, rname);
	else if (strcmp(rkind, "Role") == 0)
		role_uid = k8s_object(ctx, cluster, "roles", ns, rname);
	else
		return;
	if (role_uid == NULL)
		return;
	jb_begin(&p);
	jb_str(&p, "binding", ns ? psprintf("%s/%s", ns, bname) : bname);
	jb_str(&p, "observed", "k8s_audit");
	props = jb_end(&p);

	for (size_t i = 0; i < json_object_array_length(subjects) && i < 256; i++)
	{
		struct json_object *s = json_object_array_get_idx(subjects, i);
		const char *kind = ju_str(s, "kind");
		const char *name = ju_str(s, "name");
		char	   *suid = NULL;
		const char *why;
		IngestResource r;

		if (kind == NULL || name == NULL)
			continue;
		ingest_resource_init(&r);
		r.cluster = cluster;
		r.name = name;
		if (strcmp(kind, "ServiceAccount") == 0)
		{
			const char *sns = ju_str(s, "namespace");

			if (sns == NULL)
				sns = ns;
			if (sns == NULL)
				continue;
			suid = uid_k8s_try(cluster, sns, "serviceaccount", name, &why);
			r.kind = "k8s:serviceaccount";
			r.namespace = sns;
		}
		else if (strcmp(kind, "User") == 0)
		{
			suid = uid_k8s_try(cluster, NULL, "user", name, &why);
			r.kind = "k8s:user";
		}
		else if (strcmp(kind, "Group") == 0)
		{
			suid = uid_k8s_try(cluster, NULL, "group", name, &why);
			r.kind = "k8s:group";
		}
		if (suid == NULL)
			continue;
		r.uid = suid;
		ingest_resource(ctx, &r);
		ingest_link(ctx, suid, role_uid, "can_access", 0, props);
	}
}

static void
audit_record(IngestCtx *ctx, struct json_object *rec, const char *raw, size_t rawlen, int64 recno, void *arg)
{
	IngestEvent e;
	IngestResource r;
	const char *cluster = correlate_default_cluster;
	const char *verb,
			   *resource,
			   *sub,
			   *ns,
			   *name,
			   *kind,
			   *uname,
			   *aname;
	char	   *auid,
			   *ans,
			   *tuid = NULL;
	const char *arkind;
	int64		code = 0;
	bool		have_code;
	char		ipbuf[INGEST_IP_BUFLEN];
	struct json_object *ips;

	if (!json_object_is_type(rec, json_type_object))
	{
		ingest_reject(ctx, recno, raw, rawlen, "the audit record is not a JSON object");
		return;
	}
	kind = ju_str(rec, "kind");
	if (kind && strcmp(kind, "Event") != 0)
	{
		ingest_reject(ctx, recno, raw, rawlen, psprintf("the record is a %s, not an audit Event", kind));
		return;
	}
	ingest_event_init(&e);
	if (!ingest_parse_time(ju_str(rec, "requestReceivedTimestamp"), &e.ts) &&
		!ingest_parse_time(ju_str(rec, "stageTimestamp"), &e.ts) &&
		!ingest_parse_time(ju_str(rec, "timestamp"), &e.ts))
	{
		ingest_reject(ctx, recno, raw, rawlen, "the audit event has no requestReceivedTimestamp (or it is not an RFC 3339 time)");
		return;
	}
	verb = ju_str(rec, "verb");
	e.uid = ju_str(rec, "auditID");
	if (verb == NULL || e.uid == NULL)
	{
		ingest_reject(ctx, recno, raw, rawlen, "the audit event has no verb or auditID (or they are not strings)");
		return;
	}
	ingest_record_time(ctx, e.ts);

	resource = ju_str(rec, "objectRef.resource");
	sub = ju_str(rec, "objectRef.subresource");
	ns = ju_str(rec, "objectRef.namespace");
	name = ju_str(rec, "objectRef.name");
	if (name == NULL)
		name = ju_str(rec, "responseObject.metadata.name");
	if (name == NULL && verb && strcmp(verb, "create") == 0)
		name = ju_str(rec, "requestObject.metadata.name");
	/* a namespace object names itself */
	if (resource && strcmp(resource, "namespaces") == 0)
		ns = NULL;

	e.class_uid = 6003;
	e.activity_id = verb_activity(verb);
	e.domain = "kubernetes";
	e.severity_id = 1;
	e.action = resource
		? psprintf("k8s:%s %s%s%s", verb, resource, sub ? "/" : "", sub ? sub : "")
		: psprintf("k8s:%s %s", verb, ju_str(rec, "requestURI") ? ju_str(rec, "requestURI") : "");
	have_code = ju_int64(rec, "responseStatus.code", &code);
	if (have_code)
	{
		const char *reason = ju_str(rec, "responseStatus.reason");

		e.outcome = code < 400 ? "success" : reason ? reason : psprintf("%lld", (long long) code);
	}
	ips = ju_get(rec, "sourceIPs");
	if (ips && json_object_is_type(ips, json_type_array) && json_object_array_length(ips) > 0 &&
		ingest_parse_ip(ju_cstr(json_object_array_get_idx(ips, 0)), ipbuf))
		e.src_ip = ipbuf;
	e.raw_json = raw;
	e.raw_jsonb = ju_jsonb(rec);

	/* actor */
	uname = ju_str(rec, "user.username");
	k8s_user(cluster, uname, &auid, &arkind, &aname, &ans);
	if (auid)
	{
		ingest_resource_init(&r);
		r.uid = auid;
		r.kind = arkind;
		r.name = aname;
		r.cluster = cluster;
		r.namespace = ans;
		ingest_resource(ctx, &r);
		e.actor_uid = auid;
	}

	/* target */
	if (resource)
	{
		tuid = k8s_object(ctx, cluster, resource, ns, name);
		if (tuid == NULL && ns)
			tuid = k8s_object(ctx, cluster, "namespaces", NULL, ns);
	}
	e.target_uid = tuid;

	/* exec / attach into a pod */
	if (resource && sub && strcmp(resource, "pods") == 0 &&
		(strcmp(sub, "exec") == 0 || strcmp(sub, "attach") == 0))
	{
		const char *uri = ju_str(rec, "requestURI");

		e.severity_id = 3;
		if (uri && strstr(uri, "command="))
			e.command_line = uri;
		if (auid && tuid && strstr(tuid, "/pod/") && (!have_code || code < 400))
			ingest_link(ctx, auid, tuid, "can_exec", 0, "{\"observed\": \"k8s_audit\"}");
	}

	/* RBAC changes */
	if (resource && (strcmp(resource, "rolebindings") == 0 || strcmp(resource, "clusterrolebindings") == 0 ||
					 strcmp(resource, "roles") == 0 || strcmp(resource, "clusterroles") == 0) &&
		e.activity_id != 2)
	{
		e.severity_id = 3;
		e.domain = "identity";
		if ((strcmp(verb, "create") == 0 || strcmp(verb, "update") == 0 || strcmp(verb, "patch") == 0) &&
			(!have_code || code < 400) && name &&
			(strcmp(resource, "rolebindings") == 0 || strcmp(resource, "clusterrolebindings") == 0))
		{
			struct json_object *obj = ju_get(rec, "responseObject");

			if (obj == NULL || ju_get(obj, "subjects") == NULL)
				obj = ju_get(rec, "requestObject");
			if (obj)
				binding_links(ctx, obj, cluster, strcmp(resource, "rolebindings") == 0 ? ns : NULL, name);
		}
	}
	ingest_event(ctx, &e);
}

IngestStream *
fmt_k8s_audit_stream(IngestCtx *ctx)
{
	return ju_json_stream(ctx, &audit_split, audit_record, NULL);
}

void
fmt_k8s_audit(IngestCtx *ctx, const char *payload, size_t len)
{
	ju_json_each(ctx, payload, len, &audit_split, audit_record, NULL);
}
