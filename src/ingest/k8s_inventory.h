/*
 * k8s_inventory.h
 *		Internal interface of the Kubernetes inventory parser, split over
 *		fmt_k8s_inventory.c (documents, records, cross-object matching),
 *		k8s_pod.c (pods, pod templates, container checks) and k8s_objects.c
 *		(every other kind).
 *
 * A record is one object of the input.  What a record produces is emitted
 * while it is read (ingest_resource / ingest_link / ...); what needs other
 * objects of the payload (a Service's selector, a binding's role rules) is
 * collected and resolved once the whole payload has been read.  Collected
 * entries are kept only for records that were accepted.
 */
#ifndef CORRELATE_K8S_INVENTORY_H
#define CORRELATE_K8S_INVENTORY_H

#include "nodes/pg_list.h"

#include "ingest/k8s_json.h"
#include "ingest/k8s_kinds.h"

typedef struct K8sLabel
{
	const char *k;
	const char *v;
} K8sLabel;

/* A pod, for Service selectors. */
typedef struct K8sPodEntry
{
	char	   *uid;
	char	   *name;
	char	   *ns;
	char	   *cluster;
	char	   *scope;			/* cluster + "/" + namespace */
	K8sLabel   *labels;			/* sorted by key */
	int			nlabels;
} K8sPodEntry;

/* A Service with a selector. */
typedef struct K8sSvcEntry
{
	char	   *uid;
	char	   *name;
	char	   *ns;
	char	   *cluster;
	char	   *scope;
	K8sLabel   *sel;
	int			nsel;
	char	   *ports_json;
} K8sSvcEntry;

/* A Role or ClusterRole and its rules. */
typedef struct K8sRoleEntry
{
	char	   *uid;
	char	   *rules_json;
} K8sRoleEntry;

/* One subject of a RoleBinding / ClusterRoleBinding. */
typedef struct K8sBindEntry
{
	char	   *binding_uid;
	char	   *binding_kind;
	char	   *scope;			/* namespace the grant applies in, or "*" for the cluster */
	char	   *cluster;
	char	   *subj_uid;
	const char *subj_rkind;
	char	   *subj_name;
	char	   *subj_ns;
	char	   *role_uid;
	const char *role_rkind;
	char	   *role_name;
	char	   *role_ns;
} K8sBindEntry;

typedef struct K8sState
{
	IngestCtx  *ctx;
	MemoryContext keep;			/* lives for the payload */
	int64		recno;
	TimestampTz now;
	json_object *pending;		/* the record's props being built, released if an error escapes */
	json_object *scratch;		/* owns the record's temporary json-c objects (see k8s_tmp) */

	K8sPodEntry *pods;
	int			npods,
				maxpods;
	K8sSvcEntry *svcs;
	int			nsvcs,
				maxsvcs;
	K8sRoleEntry *roles;
	int			nroles,
				maxroles;
	K8sBindEntry *binds;
	int			nbinds,
				maxbinds;
} K8sState;

/* The object being read (one record). */
typedef struct K8sObj
{
	K8sState   *st;
	KjRec		r;
	json_object *o;
	const char *kind;
	const K8sKind *kk;
	const char *name;
	const char *ns;				/* NULL for cluster-scoped objects */
	const char *cluster_given;	/* metadata.clusterName, or NULL */
	const char *cluster;		/* effective cluster name */
	char	   *uid;
	const char *rkind;
	const char *region;			/* cloud region, where the object says */
	json_object *meta;
	json_object *labels;
	json_object *annotations;
	json_object *props;			/* being built; owned (put) by the driver */
	TimestampTz created;		/* 0 when not given */

	/* Collected for the end of the payload, committed only if the record is accepted. */
	K8sPodEntry *pod;
	K8sSvcEntry *svc;
	K8sRoleEntry *role;
	List	   *binds;			/* of K8sBindEntry * */
} K8sObj;

/* fmt_k8s_inventory.c */
extern IngestStream *fmt_k8s_inventory_stream(IngestCtx *ctx);	/* to be declared in ingest.h */
extern char *k8s_uid(K8sObj *ob, const char *ns, const char *kind, const char *name);
extern void k8s_stub(K8sObj *ob, const char *uid, const char *rkind, const char *name,
					 const char *ns, const char *account);
extern void k8s_link(K8sObj *ob, const char *src, const char *dst, const char *kind,
					 double likelihood, json_object *props);
extern void k8s_lease(K8sObj *ob, const char *ip, const char *uid, TimestampTz from, TimestampTz to);
extern void k8s_internet(K8sObj *ob);
extern json_object *k8s_tmp(K8sObj *ob, json_object *obj);
extern char *k8s_keep(K8sObj *ob, const char *s);
extern K8sLabel *k8s_pairs(K8sObj *ob, json_object *map, int *n);

/* k8s_pod.c */
extern void k8s_read_pod(K8sObj *ob);
extern void k8s_read_workload(K8sObj *ob);

/* k8s_objects.c */
extern void k8s_read_service(K8sObj *ob);
extern void k8s_read_ingress(K8sObj *ob);
extern void k8s_read_serviceaccount(K8sObj *ob);
extern void k8s_read_role(K8sObj *ob);
extern void k8s_read_binding(K8sObj *ob);
extern void k8s_read_node(K8sObj *ob);
extern void k8s_read_namespace(K8sObj *ob);
extern void k8s_read_networkpolicy(K8sObj *ob);
extern void k8s_read_secret(K8sObj *ob);
extern void k8s_read_configmap(K8sObj *ob);
extern void k8s_read_endpoints(K8sObj *ob, bool slice);

#endif							/* CORRELATE_K8S_INVENTORY_H */
