/*
 * k8s_ref.h
 *		Kubernetes names shared by the parsers that see the Kubernetes API from
 *		outside the inventory (audit log, Falco k8s_audit alerts): API resource
 *		names (plural, as in URLs and audit objectRefs) to object kinds and
 *		correlate resource kinds, and the identity behind a user name.
 */
#ifndef CORRELATE_K8S_REF_H
#define CORRELATE_K8S_REF_H

/*
 * For an API resource such as "pods" or "clusterrolebindings": the object
 * kind used in k8s:// uids ("pod", "clusterrolebinding"), the correlate
 * resource kind ("k8s:pod", ...) and whether the object is namespaced.  Unknown
 * resources map to their name without a trailing "s" and "k8s:object".
 */
extern void k8s_resource_kind(const char *resource, const char **kind, const char **rkind, bool *namespaced);

/*
 * The resource for an authenticated user name: a service account for
 * "system:serviceaccount:NS:NAME", else a k8s:user.  Sets *uid (palloc'd, NULL
 * when the name cannot make a uid), *rkind, *name and *ns (NULL when none).
 */
extern void k8s_user(const char *cluster, const char *username, char **uid, const char **rkind,
					 const char **name, char **ns);

#endif							/* CORRELATE_K8S_REF_H */
