/*
 * fmt_k8s_inventory.c
 *		Parser for the k8s_inventory format: the JSON that `kubectl get ...
 *		-o json` prints (a List, or a single object), a bare array of
 *		objects, or several such documents one after another in one payload.
 *		The shared splitter (json_util.c) cuts the items out of a List, so
 *		memory is bounded by the largest object, not by the List.
 *
 * Each object is one record.  The record's own resource, its findings, IP
 * leases and the edges that need nothing but the object itself (pod runs_on
 * node, runs_as service account, uses_image, IRSA assumes, ...) are emitted
 * while the object is read; k8s_pod.c and k8s_objects.c do that per kind.
 * Edges that need two objects of the payload are resolved here at the end:
 * a Service `exposes` the pods its selector matches in its namespace, and a
 * binding's subject `can_access` the bound role with the role's rules.  So
 * put every object of a cluster in one payload (kubectl get pods,services,...
 * -A -o json, or the per-kind files concatenated) to get those edges.
 *
 * Endpoint objects on both sides are (re)emitted as minimal resources with
 * every edge, so an edge never depends on the writer having seen its ends in
 * the same batch; the upsert merges them with the full objects.
 */
#include "postgres.h"

#include "access/xact.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "ingest/ingest.h"
#include "ingest/json_util.h"
#include "ingest/k8s_inventory.h"
#include "model/uid.h"

static void k8s_read_item(IngestCtx *ctx, json_object *item, const char *raw, size_t rawlen,
						  int64 recno, void *arg);
static void k8s_finish(K8sState *st);

/* Records are the items of a List (or of a bare array), or whole objects. */
static const char *const k8s_wrapper_keys[] = {"items", NULL};

/* A streaming reader: the splitter's stream, plus the cross-object edges at the end. */
typedef struct K8sStream
{
	IngestStream pub;
	IngestStream *inner;
	K8sState   *st;
} K8sStream;

/* Frees the json-c objects the parser owns; runs when the payload context goes, also on ERROR. */
static void
k8s_release(void *arg)
{
	K8sState   *st = (K8sState *) arg;

	if (st->pending != NULL)
		json_object_put(st->pending);
	st->pending = NULL;
	if (st->scratch != NULL)
		json_object_put(st->scratch);
	st->scratch = NULL;
}

static void
k8s_stream_feed(IngestStream *pub, const char *buf, size_t len)
{
	K8sStream  *s = (K8sStream *) pub;

	s->inner->feed(s->inner, buf, len);
}

static void
k8s_stream_finish(IngestStream *pub)
{
	K8sStream  *s = (K8sStream *) pub;

	s->inner->finish(s->inner);
	k8s_finish(s->st);
	MemoryContextDelete(s->st->keep);	/* runs k8s_release */
	s->st = NULL;
}

/*
 * Opens a streaming reader (for ingest_file on large dumps): memory is bounded
 * by the largest object plus what the end of the payload needs per pod,
 * Service, role and binding.
 */
IngestStream *
fmt_k8s_inventory_stream(IngestCtx *ctx)
{
	MemoryContext keep = AllocSetContextCreate(CurrentMemoryContext, "k8s_inventory payload",
											   ALLOCSET_DEFAULT_SIZES);
	K8sState   *st = MemoryContextAllocZero(keep, sizeof(K8sState));
	K8sStream  *s = palloc0(sizeof(K8sStream));
	MemoryContextCallback *cb = MemoryContextAlloc(keep, sizeof(MemoryContextCallback));
	JuSplitOpts opts = {k8s_wrapper_keys};

	st->ctx = ctx;
	st->now = GetCurrentTransactionStartTimestamp();
	st->keep = keep;
	s->st = st;
	cb->func = k8s_release;
	cb->arg = st;
	MemoryContextRegisterResetCallback(keep, cb);
	s->inner = ju_json_stream(ctx, &opts, k8s_read_item, st);
	s->pub.feed = k8s_stream_feed;
	s->pub.finish = k8s_stream_finish;
	return &s->pub;
}

void
fmt_k8s_inventory(IngestCtx *ctx, const char *payload, size_t len)
{
	IngestStream *s = fmt_k8s_inventory_stream(ctx);

	s->feed(s, payload, len);
	s->finish(s);
}

/* Annotations worth keeping: all but kubectl's copy of the whole object (it may hold Secret data). */
static json_object *
k8s_annotations_props(json_object *ann)
{
	json_object *out;

	if (ann == NULL || json_object_object_length(ann) == 0)
		return NULL;
	out = json_object_new_object();
	{
		json_object_object_foreach(ann, k, v)
		{
			if (strcmp(k, "kubectl.kubernetes.io/last-applied-configuration") == 0)
				continue;
			json_object_object_add(out, k, json_object_get(v));
		}
	}
	return out;
}

/* The controller among metadata.ownerReferences (or the first owner), as {kind, name}. */
static json_object *
k8s_owner_props(K8sObj *ob)
{
	json_object *refs = kj_arr(&ob->r, ob->meta, "ownerReferences");
	json_object *pick = NULL;

	if (refs == NULL)
		return NULL;
	for (size_t i = 0; i < json_object_array_length(refs); i++)
	{
		json_object *ref = json_object_array_get_idx(refs, i);

		if (ref == NULL || !json_object_is_type(ref, json_type_object))
		{
			kj_bad(&ob->r, "metadata.ownerReferences[%zu] is not an object", i);
			return NULL;
		}
		if (pick == NULL || kj_bool(&ob->r, ref, "controller") == 1)
			pick = ref;
	}
	if (pick == NULL)
		return NULL;
	{
		json_object *o = json_object_new_object();

		kj_add_str(o, "kind", kj_str(&ob->r, pick, "kind"));
		kj_add_str(o, "name", kj_str(&ob->r, pick, "name"));
		return o;
	}
}

static void
k8s_read_item(IngestCtx *ctx, json_object *item, const char *raw, size_t rawlen,
			  int64 recno, void *arg)
{
	K8sState   *st = (K8sState *) arg;
	K8sObj		ob;
	const char *kind = NULL;

	st->recno = recno;
	if (st->scratch != NULL)
		json_object_put(st->scratch);
	st->scratch = json_object_new_array();
	memset(&ob, 0, sizeof(ob));
	ob.st = st;
	ob.o = item;

	if (item == NULL || !json_object_is_type(item, json_type_object))
		kj_bad(&ob.r, "the item is %s, not an object", item == NULL ? "null" : kj_type_name(item));
	else
	{
		kind = kj_str(&ob.r, item, "kind");
		ob.meta = kj_obj(&ob.r, item, "metadata");
		ob.name = kj_str(&ob.r, ob.meta, "name");
		if (kj_get(item, "items") != NULL)
			kj_bad(&ob.r, "the document has \"items\" but it is not an array of objects");
		else if (kind == NULL || *kind == '\0')
			kj_bad(&ob.r, "the object has no \"kind\" (API server lists such as PodList leave it off their items; kubectl get -o json sets it)");
		else if (ob.meta == NULL)
			kj_bad(&ob.r, "the %s has no \"metadata\" object", KJ_SHOW(kind));
		else if (ob.name == NULL || *ob.name == '\0')
			kj_bad(&ob.r, "the %s has no metadata.name", KJ_SHOW(kind));
	}

	if (ob.r.why == NULL)
	{
		const char *ns = kj_str(&ob.r, ob.meta, "namespace");

		ob.kind = kind;
		ob.kk = k8s_kind_lookup(kind);
		ob.rkind = k8s_rkind(kind);
		/* Cluster-scoped kinds ignore a stray metadata.namespace; unknown kinds keep what they say. */
		if (ob.kk != NULL ? ob.kk->namespaced : (ns != NULL && *ns != '\0'))
			ob.ns = (ns != NULL && *ns != '\0') ? ns : "default";
		ob.cluster_given = kj_str(&ob.r, ob.meta, "clusterName");
		ob.cluster = k8s_cluster_name(ob.cluster_given);
		ob.labels = kj_strmap(&ob.r, ob.meta, "labels");
		ob.annotations = kj_strmap(&ob.r, ob.meta, "annotations");
		kj_time(&ob.r, ob.meta, "creationTimestamp", &ob.created);

		if (pg_strcasecmp(kind, "EndpointSlice") == 0)
			k8s_read_endpoints(&ob, true);
		else if (pg_strcasecmp(kind, "Endpoints") == 0)
			k8s_read_endpoints(&ob, false);
		else
		{
			char	   *labels_json;
			char	   *props_json;

			ob.uid = k8s_uid(&ob, ob.ns, kind, ob.name);
			ob.props = json_object_new_object();
			st->pending = ob.props;
			kj_add_str(ob.props, "kind", kind);
			kj_add_str(ob.props, "api_version", kj_str(&ob.r, item, "apiVersion"));
			kj_add_str(ob.props, "k8s_uid", kj_str(&ob.r, ob.meta, "uid"));
			kj_add_str(ob.props, "created", kj_str(&ob.r, ob.meta, "creationTimestamp"));
			{
				json_object *a = k8s_annotations_props(ob.annotations);

				if (a)
					json_object_object_add(ob.props, "annotations", a);
			}
			{
				json_object *owner = k8s_owner_props(&ob);

				if (owner)
					json_object_object_add(ob.props, "owner", owner);
			}

			/* Any other kind is a k8s:object with the common properties. */
			if (ob.kk == NULL)
				;
			else if (strcmp(ob.kk->kind, "Pod") == 0)
				k8s_read_pod(&ob);
			else if (ob.kk->template_depth > 0)
				k8s_read_workload(&ob);
			else if (strcmp(ob.kk->kind, "Service") == 0)
				k8s_read_service(&ob);
			else if (strcmp(ob.kk->kind, "Ingress") == 0)
				k8s_read_ingress(&ob);
			else if (strcmp(ob.kk->kind, "ServiceAccount") == 0)
				k8s_read_serviceaccount(&ob);
			else if (strcmp(ob.kk->kind, "Role") == 0 || strcmp(ob.kk->kind, "ClusterRole") == 0)
				k8s_read_role(&ob);
			else if (strcmp(ob.kk->kind, "RoleBinding") == 0 ||
					 strcmp(ob.kk->kind, "ClusterRoleBinding") == 0)
				k8s_read_binding(&ob);
			else if (strcmp(ob.kk->kind, "Node") == 0)
				k8s_read_node(&ob);
			else if (strcmp(ob.kk->kind, "Namespace") == 0)
				k8s_read_namespace(&ob);
			else if (strcmp(ob.kk->kind, "NetworkPolicy") == 0)
				k8s_read_networkpolicy(&ob);
			else if (strcmp(ob.kk->kind, "Secret") == 0)
				k8s_read_secret(&ob);
			else if (strcmp(ob.kk->kind, "ConfigMap") == 0)
				k8s_read_configmap(&ob);

			st->pending = NULL;
			labels_json = kj_text(&ob.r, ob.labels, "metadata.labels");
			props_json = kj_text_put(&ob.r, ob.props, "the object's properties");
			ob.props = NULL;
			if (ob.r.why == NULL && ob.uid != NULL)
			{
				IngestResource r;

				memset(&r, 0, sizeof(r));
				r.uid = ob.uid;
				r.kind = ob.rkind;
				r.name = ob.name;
				r.region = ob.region;
				r.cluster = ob.cluster;
				r.namespace = ob.ns;
				r.labels_json = labels_json;
				r.props_json = props_json;
				r.criticality = -1;
				ingest_resource(st->ctx, &r);
			}
		}
	}

	if (ob.r.why != NULL)
	{
		ingest_reject(ctx, recno, raw, rawlen, ob.r.why);
		return;
	}

	/* Accepted: keep what the end of the payload needs. */
	if (ob.pod)
	{
		if (st->npods >= st->maxpods)
		{
			st->maxpods = Max(64, st->maxpods * 2);
			st->pods = st->pods ? repalloc_huge(st->pods, sizeof(K8sPodEntry) * st->maxpods)
				: MemoryContextAllocHuge(st->keep, sizeof(K8sPodEntry) * st->maxpods);
		}
		st->pods[st->npods++] = *ob.pod;
	}
	if (ob.svc)
	{
		if (st->nsvcs >= st->maxsvcs)
		{
			st->maxsvcs = Max(16, st->maxsvcs * 2);
			st->svcs = st->svcs ? repalloc_huge(st->svcs, sizeof(K8sSvcEntry) * st->maxsvcs)
				: MemoryContextAllocHuge(st->keep, sizeof(K8sSvcEntry) * st->maxsvcs);
		}
		st->svcs[st->nsvcs++] = *ob.svc;
	}
	if (ob.role)
	{
		if (st->nroles >= st->maxroles)
		{
			st->maxroles = Max(16, st->maxroles * 2);
			st->roles = st->roles ? repalloc_huge(st->roles, sizeof(K8sRoleEntry) * st->maxroles)
				: MemoryContextAllocHuge(st->keep, sizeof(K8sRoleEntry) * st->maxroles);
		}
		st->roles[st->nroles++] = *ob.role;
	}
	{
		ListCell   *lc;

		foreach(lc, ob.binds)
		{
			if (st->nbinds >= st->maxbinds)
			{
				st->maxbinds = Max(16, st->maxbinds * 2);
				st->binds = st->binds ? repalloc_huge(st->binds, sizeof(K8sBindEntry) * st->maxbinds)
					: MemoryContextAllocHuge(st->keep, sizeof(K8sBindEntry) * st->maxbinds);
			}
			st->binds[st->nbinds++] = *(K8sBindEntry *) lfirst(lc);
		}
	}
}

/* Helpers used by the per-kind readers. */

char *
k8s_uid(K8sObj *ob, const char *ns, const char *kind, const char *name)
{
	const char *why = NULL;
	char	   *uid;

	if (name == NULL || *name == '\0')
	{
		kj_bad(&ob->r, "a %s reference has no name", KJ_SHOW(kind));
		return NULL;
	}
	uid = uid_k8s_try(ob->cluster_given, ns, kind, name, &why);
	if (uid == NULL)
		kj_bad(&ob->r, "cannot name the %s \"%s\": %s", KJ_SHOW(kind), KJ_SHOW(name), why);
	return uid;
}

void
k8s_stub(K8sObj *ob, const char *uid, const char *rkind, const char *name,
		 const char *ns, const char *account)
{
	IngestResource r;

	if (uid == NULL || ob->r.why != NULL)
		return;
	memset(&r, 0, sizeof(r));
	r.uid = uid;
	r.kind = rkind;
	r.name = name;
	r.account = account;
	if (strncmp(rkind, "k8s:", 4) == 0 || strcmp(rkind, "container") == 0)
	{
		r.cluster = ob->cluster;
		r.namespace = ns;
	}
	r.criticality = -1;
	ingest_resource(ob->st->ctx, &r);
}

void
k8s_link(K8sObj *ob, const char *src, const char *dst, const char *kind,
		 double likelihood, json_object *props)
{
	char	   *props_json = NULL;

	if (props != NULL)
		props_json = kj_text_put(&ob->r, props, "edge properties");
	if (src == NULL || dst == NULL || ob->r.why != NULL)
		return;
	ingest_link(ob->st->ctx, src, dst, kind, likelihood, props_json);
}

void
k8s_lease(K8sObj *ob, const char *ip, const char *uid, TimestampTz from, TimestampTz to)
{
	const char *why = NULL;
	char	   *canon;

	if (ip == NULL || *ip == '\0' || uid == NULL)
		return;
	canon = uid_ip_try(ip, &why);
	if (canon == NULL)
	{
		kj_bad(&ob->r, "\"%s\" is not an IP address: %s", KJ_SHOW(ip), why);
		return;
	}
	if (from == 0)
		from = ob->st->now;
	if (to != 0 && to <= from)
		return;					/* an interval that ended before it began says nothing */
	if (ob->r.why == NULL)
		ingest_ip_lease(ob->st->ctx, canon + strlen("ip://"), uid, from, to);
}

/*
 * Hands a temporary json-c object to the record's scratch list, which owns it
 * (and frees it at the next record, or if an error escapes); the caller keeps
 * using it and takes its own reference (json_object_get) to store it elsewhere.
 */
json_object *
k8s_tmp(K8sObj *ob, json_object *obj)
{
	json_object_array_add(ob->st->scratch, obj);
	return obj;
}

void
k8s_internet(K8sObj *ob)
{
	IngestResource r;

	if (ob->r.why != NULL)
		return;
	memset(&r, 0, sizeof(r));
	r.uid = "internet";
	r.kind = "internet";
	r.name = "internet";
	r.criticality = -1;
	ingest_resource(ob->st->ctx, &r);
}

char *
k8s_keep(K8sObj *ob, const char *s)
{
	return s ? MemoryContextStrdup(ob->st->keep, s) : NULL;
}

static int
k8s_label_cmp(const void *a, const void *b)
{
	return strcmp(((const K8sLabel *) a)->k, ((const K8sLabel *) b)->k);
}

/* A string map as pairs sorted by key, in the payload context. */
K8sLabel *
k8s_pairs(K8sObj *ob, json_object *map, int *n)
{
	K8sLabel   *pairs;
	int			i = 0;

	*n = 0;
	if (map == NULL || json_object_object_length(map) == 0)
		return NULL;
	pairs = MemoryContextAllocHuge(ob->st->keep, sizeof(K8sLabel) * json_object_object_length(map));
	{
		json_object_object_foreach(map, k, v)
		{
			pairs[i].k = k8s_keep(ob, k);
			pairs[i].v = k8s_keep(ob, json_object_get_string(v));
			i++;
		}
	}
	qsort(pairs, i, sizeof(K8sLabel), k8s_label_cmp);
	*n = i;
	return pairs;
}

/* End of payload: Service selectors and RBAC bindings. */

typedef struct K8sLabelIdx
{
	const char *scope;
	const char *k;
	const char *v;
	int			pod;
} K8sLabelIdx;

static int
k8s_idx_cmp(const void *a, const void *b)
{
	const K8sLabelIdx *x = a;
	const K8sLabelIdx *y = b;
	int			c;

	if ((c = strcmp(x->scope, y->scope)) != 0)
		return c;
	if ((c = strcmp(x->k, y->k)) != 0)
		return c;
	return strcmp(x->v, y->v);
}

/* [*lo, *hi): the index entries equal to probe. */
static void
k8s_idx_range(const K8sLabelIdx *idx, size_t nidx, const K8sLabelIdx *probe, size_t *lo, size_t *hi)
{
	size_t		l = 0,
				h = nidx;

	while (l < h)
	{
		size_t		mid = l + (h - l) / 2;

		if (k8s_idx_cmp(&idx[mid], probe) < 0)
			l = mid + 1;
		else
			h = mid;
	}
	*lo = l;
	h = nidx;
	while (l < h)
	{
		size_t		mid = l + (h - l) / 2;

		if (k8s_idx_cmp(&idx[mid], probe) <= 0)
			l = mid + 1;
		else
			h = mid;
	}
	*hi = l;
}

static const char *
k8s_pod_label(const K8sPodEntry *p, const char *key)
{
	K8sLabel	probe = {key, NULL};
	K8sLabel   *hit;

	if (p->nlabels == 0)
		return NULL;
	hit = bsearch(&probe, p->labels, p->nlabels, sizeof(K8sLabel), k8s_label_cmp);
	return hit ? hit->v : NULL;
}

static void
k8s_final_stub(K8sState *st, const char *uid, const char *rkind, const char *name,
			   const char *ns, const char *cluster)
{
	IngestResource r;

	memset(&r, 0, sizeof(r));
	r.uid = uid;
	r.kind = rkind;
	r.name = name;
	r.cluster = cluster;
	r.namespace = ns;
	r.criticality = -1;
	ingest_resource(st->ctx, &r);
}

static void
k8s_match_selectors(K8sState *st)
{
	K8sLabelIdx *idx;
	size_t		nidx = 0;

	if (st->nsvcs == 0 || st->npods == 0)
		return;
	for (int i = 0; i < st->npods; i++)
		nidx += st->pods[i].nlabels;
	if (nidx == 0)
		return;
	idx = palloc_extended(sizeof(K8sLabelIdx) * nidx, MCXT_ALLOC_HUGE);
	nidx = 0;
	for (int i = 0; i < st->npods; i++)
	{
		for (int j = 0; j < st->pods[i].nlabels; j++)
		{
			idx[nidx].scope = st->pods[i].scope;
			idx[nidx].k = st->pods[i].labels[j].k;
			idx[nidx].v = st->pods[i].labels[j].v;
			idx[nidx].pod = i;
			nidx++;
		}
	}
	qsort(idx, nidx, sizeof(K8sLabelIdx), k8s_idx_cmp);

	for (int s = 0; s < st->nsvcs; s++)
	{
		K8sSvcEntry *svc = &st->svcs[s];
		K8sLabelIdx probe;
		size_t		lo = 0,
					hi = 0;
		int			best = -1;
		bool		svc_emitted = false;
		char	   *props = NULL;

		CHECK_FOR_INTERRUPTS();
		/* Scan the pods carrying the selector's rarest pair, and check the other pairs on each. */
		probe.scope = svc->scope;
		for (int j = 0; j < svc->nsel; j++)
		{
			size_t		l,
						h;

			probe.k = svc->sel[j].k;
			probe.v = svc->sel[j].v;
			k8s_idx_range(idx, nidx, &probe, &l, &h);
			if (best < 0 || h - l < hi - lo)
			{
				best = j;
				lo = l;
				hi = h;
			}
		}
		if (best < 0)
			continue;
		for (size_t i = lo; i < hi; i++)
		{
			const K8sPodEntry *pod = &st->pods[idx[i].pod];
			bool		all = true;

			CHECK_FOR_INTERRUPTS();
			for (int j = 0; j < svc->nsel && all; j++)
			{
				const char *v;

				if (j == best)
					continue;
				v = k8s_pod_label(pod, svc->sel[j].k);
				all = (v != NULL && strcmp(v, svc->sel[j].v) == 0);
			}
			if (!all)
				continue;
			if (!svc_emitted)
				k8s_final_stub(st, svc->uid, "k8s:service", svc->name, svc->ns, svc->cluster);
			svc_emitted = true;
			k8s_final_stub(st, pod->uid, "k8s:pod", pod->name, pod->ns, pod->cluster);
			if (props == NULL)
				props = svc->ports_json
					? psprintf("{\"via\": \"selector\", \"ports\": %s}", svc->ports_json)
					: pstrdup("{\"via\": \"selector\"}");
			ingest_link(st->ctx, svc->uid, pod->uid, "exposes", 0, props);
		}
		if (props)
			pfree(props);
	}
	pfree(idx);
}

static int
k8s_role_cmp(const void *a, const void *b)
{
	return strcmp(((const K8sRoleEntry *) a)->uid, ((const K8sRoleEntry *) b)->uid);
}

/* Quotes s as a JSON string literal (s is valid UTF-8 without NULs). */
static char *
k8s_json_quote(const char *s)
{
	StringInfoData buf;

	initStringInfo(&buf);
	jb_escape(&buf, s);
	return buf.data;
}

static void
k8s_resolve_bindings(K8sState *st)
{
	if (st->nroles > 1)
		qsort(st->roles, st->nroles, sizeof(K8sRoleEntry), k8s_role_cmp);
	for (int i = 0; i < st->nbinds; i++)
	{
		K8sBindEntry *b = &st->binds[i];
		K8sRoleEntry probe;
		K8sRoleEntry *role = NULL;
		StringInfoData props;

		CHECK_FOR_INTERRUPTS();
		probe.uid = b->role_uid;
		if (st->nroles > 0)
			role = bsearch(&probe, st->roles, st->nroles, sizeof(K8sRoleEntry), k8s_role_cmp);

		initStringInfo(&props);
		appendStringInfo(&props, "{%s: {\"kind\": %s, \"scope\": %s}",
						 k8s_json_quote(psprintf("binding:%s", b->binding_uid)),
						 k8s_json_quote(b->binding_kind), k8s_json_quote(b->scope));
		if (role != NULL && role->rules_json != NULL)
			appendStringInfo(&props, ", \"rules\": %s", role->rules_json);
		appendStringInfoChar(&props, '}');

		k8s_final_stub(st, b->subj_uid, b->subj_rkind, b->subj_name, b->subj_ns, b->cluster);
		k8s_final_stub(st, b->role_uid, b->role_rkind, b->role_name, b->role_ns, b->cluster);
		ingest_link(st->ctx, b->subj_uid, b->role_uid, "can_access", 0, props.data);
		pfree(props.data);
	}
}

static void
k8s_finish(K8sState *st)
{
	/*
	 * The cross-object edges form one more record, so that they are not
	 * dropped with the last object should that one have been rejected.
	 */
	ingest_record_begin(st->ctx, st->recno + 1, "", 0);
	k8s_match_selectors(st);
	k8s_resolve_bindings(st);
}
