/*
 * k8s_ref.c
 *		Kubernetes API resource names and user names -> correlate resources,
 *		for the audit-log and Falco parsers.
 */
#include "postgres.h"

#include "ingest/k8s_ref.h"
#include "model/uid.h"

typedef struct K8sResource
{
	const char *resource;
	const char *kind;
	const char *rkind;
	bool		namespaced;
} K8sResource;

static const K8sResource resources[] = {
	{"pods", "pod", "k8s:pod", true},
	{"services", "service", "k8s:service", true},
	{"serviceaccounts", "serviceaccount", "k8s:serviceaccount", true},
	{"secrets", "secret", "k8s:secret", true},
	{"configmaps", "configmap", "k8s:configmap", true},
	{"namespaces", "namespace", "k8s:namespace", false},
	{"nodes", "node", "k8s:node", false},
	{"roles", "role", "k8s:role", true},
	{"clusterroles", "clusterrole", "k8s:clusterrole", false},
	{"rolebindings", "rolebinding", "k8s:rolebinding", true},
	{"clusterrolebindings", "clusterrolebinding", "k8s:clusterrolebinding", false},
	{"ingresses", "ingress", "k8s:ingress", true},
	{"networkpolicies", "networkpolicy", "k8s:networkpolicy", true},
	{"deployments", "deployment", "k8s:deployment", true},
	{"daemonsets", "daemonset", "k8s:deployment", true},
	{"statefulsets", "statefulset", "k8s:deployment", true},
	{"replicasets", "replicaset", "k8s:deployment", true},
	{"jobs", "job", "k8s:deployment", true},
	{"cronjobs", "cronjob", "k8s:deployment", true},
	{"persistentvolumes", "persistentvolume", "k8s:object", false},
	{"customresourcedefinitions", "customresourcedefinition", "k8s:object", false},
	{"mutatingwebhookconfigurations", "mutatingwebhookconfiguration", "k8s:object", false},
	{"validatingwebhookconfigurations", "validatingwebhookconfiguration", "k8s:object", false},
	{"priorityclasses", "priorityclass", "k8s:object", false},
	{"storageclasses", "storageclass", "k8s:object", false},
	{"podsecuritypolicies", "podsecuritypolicy", "k8s:object", false},
	{"certificatesigningrequests", "certificatesigningrequest", "k8s:object", false},
	{"volumeattachments", "volumeattachment", "k8s:object", false},
	{"apiservices", "apiservice", "k8s:object", false},
	{"endpoints", "endpoints", "k8s:object", true},
	{"events", "event", "k8s:object", true},
	{"leases", "lease", "k8s:object", true},
};

void
k8s_resource_kind(const char *resource, const char **kind, const char **rkind, bool *namespaced)
{
	size_t		n;

	for (size_t i = 0; i < lengthof(resources); i++)
		if (strcmp(resources[i].resource, resource) == 0)
		{
			*kind = resources[i].kind;
			*rkind = resources[i].rkind;
			*namespaced = resources[i].namespaced;
			return;
		}
	n = strlen(resource);
	*kind = (n > 1 && resource[n - 1] == 's') ? pnstrdup(resource, n - 1) : resource;
	*rkind = "k8s:object";
	*namespaced = true;
}

void
k8s_user(const char *cluster, const char *username, char **uid, const char **rkind,
		 const char **name, char **ns)
{
	const char *why;
	static const char sa[] = "system:serviceaccount:";

	*uid = NULL;
	*ns = NULL;
	*name = username;
	if (username == NULL || *username == '\0')
		return;
	if (strncmp(username, sa, sizeof(sa) - 1) == 0)
	{
		const char *nsp = username + sizeof(sa) - 1;
		const char *colon = strchr(nsp, ':');

		if (colon && colon > nsp && colon[1])
		{
			*ns = pnstrdup(nsp, colon - nsp);
			*name = colon + 1;
			*rkind = "k8s:serviceaccount";
			*uid = uid_k8s_try(cluster, *ns, "serviceaccount", colon + 1, &why);
			return;
		}
	}
	*rkind = "k8s:user";
	*uid = uid_k8s_try(cluster, NULL, "user", username, &why);
}
