/*
 * uid.h
 *		Canonical resource identifiers shared by the write API and every ingester.
 *
 * A resource is the same real entity whenever its canonical uid is the same, so
 * all code that names a resource goes through these functions.  Each returns a
 * palloc'd string in CurrentMemoryContext, or raises an ERROR naming the input.
 * The *_try variants return NULL instead of raising, for ingesters that record a
 * reject rather than abort.
 */
#ifndef CORRELATE_UID_H
#define CORRELATE_UID_H

/* arn:aws:sts::ACCT:assumed-role/ROLE/SESSION becomes arn:aws:iam::ACCT:role/ROLE */
extern char *uid_arn(const char *arn);
extern char *uid_arn_try(const char *arn, const char **why);

/* k8s://CLUSTER/NAMESPACE/kind/NAME; cluster-scoped objects use namespace "_" */
extern char *uid_k8s(const char *cluster, const char *ns, const char *kind, const char *name);
extern char *uid_k8s_try(const char *cluster, const char *ns, const char *kind,
						 const char *name, const char **why);

/* ip://ADDRESS (no mask); NULL for an unparsable address in the _try form */
extern char *uid_ip(const char *ip);
extern char *uid_ip_try(const char *ip, const char **why);

/* image://sha256:DIGEST when a digest is known, else image://REGISTRY/REPO:TAG */
extern char *uid_image(const char *ref);
extern char *uid_image_try(const char *ref, const char **why);

/* container://ID12 from a runtime id such as containerd://<64 hex> or a 12-hex short id */
extern char *uid_container(const char *id);
extern char *uid_container_try(const char *id, const char **why);

/* Any uid: canonicalises the known schemes above, passes others through */
extern char *uid_canonical(const char *uid);
extern char *uid_canonical_try(const char *uid, const char **why);

#endif							/* CORRELATE_UID_H */
