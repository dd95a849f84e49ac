/*
 * k8s_kinds.h
 *		How Kubernetes object kinds map onto correlate resource kinds and uids;
 *		shared by the inventory parser and Trivy's Kubernetes cluster reports.
 */
#ifndef CORRELATE_K8S_KINDS_H
#define CORRELATE_K8S_KINDS_H

typedef struct K8sKind
{
	const char *kind;			/* Kubernetes Kind, e.g. "ClusterRoleBinding" */
	const char *rkind;			/* correlate.resource_kind, e.g. "k8s:clusterrolebinding" */
	bool		namespaced;		/* false for cluster-scoped kinds */
	int			template_depth; /* 0: no pod template; 1: spec.template; 2: CronJob's jobTemplate */
} K8sKind;

/* The entry for a Kind (case-insensitive), or NULL for a kind correlate does not model. */
extern const K8sKind *k8s_kind_lookup(const char *kind);

/* Resource kind for any Kind: the table's, else k8s:object. */
extern const char *k8s_rkind(const char *kind);

/* Name of the effective cluster: given, else correlate.default_cluster. */
extern const char *k8s_cluster_name(const char *given);

#endif							/* CORRELATE_K8S_KINDS_H */
