/*
 * k8s_kinds.c
 *		The table of Kubernetes kinds correlate models, and the cluster name
 *		used in k8s:// uids.
 *
 * The uid of an object always uses its real Kind (k8s://c/ns/statefulset/x);
 * the resource kind groups kinds that play the same part in an attack path
 * (every workload controller is a k8s:deployment).
 */
#include "postgres.h"

#include "correlate.h"
#include "ingest/k8s_kinds.h"

static const K8sKind k8s_kinds[] = {
	{"Pod", "k8s:pod", true, 0},
	{"Service", "k8s:service", true, 0},
	{"Ingress", "k8s:ingress", true, 0},
	{"ServiceAccount", "k8s:serviceaccount", true, 0},
	{"Role", "k8s:role", true, 0},
	{"ClusterRole", "k8s:clusterrole", false, 0},
	{"RoleBinding", "k8s:rolebinding", true, 0},
	{"ClusterRoleBinding", "k8s:clusterrolebinding", false, 0},
	{"NetworkPolicy", "k8s:networkpolicy", true, 0},
	{"Node", "k8s:node", false, 0},
	{"Namespace", "k8s:namespace", false, 0},
	{"Deployment", "k8s:deployment", true, 1},
	{"StatefulSet", "k8s:deployment", true, 1},
	{"DaemonSet", "k8s:deployment", true, 1},
	{"ReplicaSet", "k8s:deployment", true, 1},
	{"ReplicationController", "k8s:deployment", true, 1},
	{"Job", "k8s:deployment", true, 1},
	{"CronJob", "k8s:deployment", true, 2},
	{"Secret", "k8s:secret", true, 0},
	{"ConfigMap", "k8s:configmap", true, 0},
	{"User", "k8s:user", false, 0},
	{"Group", "k8s:group", false, 0},
};

const K8sKind *
k8s_kind_lookup(const char *kind)
{
	if (kind == NULL)
		return NULL;
	for (size_t i = 0; i < lengthof(k8s_kinds); i++)
		if (pg_strcasecmp(k8s_kinds[i].kind, kind) == 0)
			return &k8s_kinds[i];
	return NULL;
}

const char *
k8s_rkind(const char *kind)
{
	const K8sKind *k = k8s_kind_lookup(kind);

	return k ? k->rkind : "k8s:object";
}

const char *
k8s_cluster_name(const char *given)
{
	if (given != NULL && *given != '\0')
		return given;
	if (correlate_default_cluster != NULL && *correlate_default_cluster != '\0')
		return correlate_default_cluster;
	return "default";
}
