/*
 * k8s_pod.c
 *		Pods and pod templates of the Kubernetes inventory: the pod's edges
 *		(runs_on node, runs_as service account, uses_image, contains container,
 *		mounts secret, controller contains pod), its IP leases, and the
 *		container checks that become misconfiguration findings.
 *
 * The same checks run on the pod template of every workload controller, so
 * a Deployment is flagged even when its pods are not in the inventory.
 * Privileged containers, host namespaces and host paths are what let a
 * process escape to the node, so they also raise the likelihood of the
 * pod's runs_on edge.
 */
#include "postgres.h"

#include "miscadmin.h"

#include "ingest/ingest.h"
#include "ingest/k8s_inventory.h"
#include "model/uid.h"

/* Likelihood of pod -runs_on-> node when the pod can reach the host. */
#define K8S_ESCAPE_LIKELIHOOD 0.9

/* Capabilities that amount to host access. */
static const char *const k8s_dangerous_caps[] = {
	"ALL", "SYS_ADMIN", "SYS_MODULE", "SYS_PTRACE", "SYS_RAWIO", "DAC_READ_SEARCH",
	"NET_ADMIN", "BPF", "SYS_BOOT"
};

static const char *const k8s_container_lists[] = {"containers", "initContainers", "ephemeralContainers"};
static const char *const k8s_status_lists[] = {
	"containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"
};

/* What the checks found in one pod spec. */
typedef struct K8sSpecCheck
{
	json_object *privileged;	/* arrays of container names */
	json_object *root;
	json_object *escalation;
	json_object *caps;			/* "container: CAP" */
	json_object *hostpaths;		/* host paths */
	bool		host_network;
	bool		host_pid;
	bool		host_ipc;
} K8sSpecCheck;

static void
k8s_append(K8sObj *ob, json_object **arr, const char *s)
{
	if (*arr == NULL)
		*arr = k8s_tmp(ob, json_object_new_array());
	json_object_array_add(*arr, json_object_new_string(s));
}

static bool
k8s_is_dangerous_cap(const char *cap)
{
	if (cap == NULL)
		return false;
	if (pg_strncasecmp(cap, "CAP_", 4) == 0)
		cap += 4;
	for (size_t i = 0; i < lengthof(k8s_dangerous_caps); i++)
		if (pg_strcasecmp(cap, k8s_dangerous_caps[i]) == 0)
			return true;
	return false;
}

/* Runs the container checks over every container of spec. */
static void
k8s_check_spec(K8sObj *ob, json_object *spec, K8sSpecCheck *chk)
{
	json_object *podsc = kj_obj(&ob->r, spec, "securityContext");
	int64		pod_uid = -1;
	bool		pod_has_uid = kj_int(&ob->r, podsc, "runAsUser", &pod_uid);
	json_object *vols = kj_arr(&ob->r, spec, "volumes");

	memset(chk, 0, sizeof(*chk));
	chk->host_network = kj_bool(&ob->r, spec, "hostNetwork") == 1;
	chk->host_pid = kj_bool(&ob->r, spec, "hostPID") == 1;
	chk->host_ipc = kj_bool(&ob->r, spec, "hostIPC") == 1;

	for (size_t l = 0; l < lengthof(k8s_container_lists); l++)
	{
		json_object *list = kj_arr(&ob->r, spec, k8s_container_lists[l]);

		for (size_t i = 0; list && i < json_object_array_length(list); i++)
		{
			json_object *c = json_object_array_get_idx(list, i);
			json_object *sc;
			const char *cname;
			int64		run_uid;
			json_object *caps;
			json_object *add;

			CHECK_FOR_INTERRUPTS();
			if (c == NULL || !json_object_is_type(c, json_type_object))
			{
				kj_bad(&ob->r, "%s[%zu] is not an object", k8s_container_lists[l], i);
				return;
			}
			cname = kj_str(&ob->r, c, "name");
			if (cname == NULL)
			{
				kj_bad(&ob->r, "%s[%zu] has no name", k8s_container_lists[l], i);
				return;
			}
			sc = kj_obj(&ob->r, c, "securityContext");
			if (kj_bool(&ob->r, sc, "privileged") == 1)
				k8s_append(ob, &chk->privileged, cname);
			if (kj_int(&ob->r, sc, "runAsUser", &run_uid) ? run_uid == 0 : (pod_has_uid && pod_uid == 0))
				k8s_append(ob, &chk->root, cname);
			if (kj_bool(&ob->r, sc, "allowPrivilegeEscalation") == 1 ||
				kj_bool(&ob->r, sc, "privileged") == 1)
				k8s_append(ob, &chk->escalation, cname);
			caps = kj_obj(&ob->r, sc, "capabilities");
			add = kj_arr(&ob->r, caps, "add");
			for (size_t j = 0; add && j < json_object_array_length(add); j++)
			{
				const char *cap = kj_strval(&ob->r, json_object_array_get_idx(add, j),
											"securityContext.capabilities.add[]");

				if (k8s_is_dangerous_cap(cap))
					k8s_append(ob, &chk->caps, psprintf("%s: %s", cname, cap));
			}
		}
	}

	for (size_t i = 0; vols && i < json_object_array_length(vols); i++)
	{
		json_object *v = json_object_array_get_idx(vols, i);
		json_object *hp;
		const char *path;

		if (v == NULL || !json_object_is_type(v, json_type_object))
		{
			kj_bad(&ob->r, "volumes[%zu] is not an object", i);
			return;
		}
		hp = kj_obj(&ob->r, v, "hostPath");
		path = kj_str(&ob->r, hp, "path");
		if (hp != NULL)
			k8s_append(ob, &chk->hostpaths, path ? path : "");
	}
}

static void
k8s_finding(K8sObj *ob, const char *target, const char *check, const char *title,
			const char *severity, const char *key, json_object *list)
{
	IngestFinding f;
	json_object *props;
	char	   *props_json;

	if (list == NULL)
		return;
	props = json_object_new_object();
	json_object_object_add(props, key, json_object_get(list));
	props_json = kj_text_put(&ob->r, props, "finding properties");
	if (ob->r.why != NULL || target == NULL)
		return;
	memset(&f, 0, sizeof(f));
	f.resource_uid = target;
	f.kind = "misconfiguration";
	f.check_id = check;
	f.package = "";
	f.title = title;
	f.severity = severity;
	f.cvss = -1;
	f.epss = -1;
	f.props_json = props_json;
	ingest_finding(ob->st->ctx, &f);
}

/*
 * Emits the findings of a checked spec on target, and returns the escape
 * reasons (a json array, or NULL) for the runs_on edge.
 */
static json_object *
k8s_spec_findings(K8sObj *ob, const char *target, K8sSpecCheck *chk)
{
	json_object *escape = NULL;
	json_object *yes = k8s_tmp(ob, json_object_new_boolean(true));

	k8s_finding(ob, target, "privileged", "Privileged container", "high", "containers", chk->privileged);
	k8s_finding(ob, target, "host-path", "Pod mounts a host path", "medium", "paths", chk->hostpaths);
	if (chk->host_network)
		k8s_finding(ob, target, "host-network", "Pod uses the host network namespace", "medium", "hostNetwork", yes);
	if (chk->host_pid)
		k8s_finding(ob, target, "host-pid", "Pod shares the host PID namespace", "high", "hostPID", yes);
	if (chk->host_ipc)
		k8s_finding(ob, target, "host-ipc", "Pod shares the host IPC namespace", "medium", "hostIPC", yes);
	k8s_finding(ob, target, "run-as-root", "Container runs as root (UID 0)", "medium", "containers", chk->root);
	k8s_finding(ob, target, "allow-privilege-escalation", "Container allows privilege escalation",
				"medium", "containers", chk->escalation);
	k8s_finding(ob, target, "dangerous-capabilities", "Container adds capabilities that reach the host",
				"high", "capabilities", chk->caps);

	if (chk->privileged)
		k8s_append(ob, &escape, "privileged");
	if (chk->host_pid)
		k8s_append(ob, &escape, "hostPID");
	if (chk->hostpaths)
		k8s_append(ob, &escape, "hostPath");
	if (chk->caps)
		k8s_append(ob, &escape, "capabilities");
	return escape;
}

/* A short summary of the spec's containers for the resource's props. */
static json_object *
k8s_containers_props(K8sObj *ob, json_object *spec)
{
	json_object *out = NULL;

	for (size_t l = 0; l < lengthof(k8s_container_lists); l++)
	{
		json_object *list = kj_get(spec, k8s_container_lists[l]);

		if (list == NULL || !json_object_is_type(list, json_type_array))
			continue;
		for (size_t i = 0; i < json_object_array_length(list); i++)
		{
			json_object *c = json_object_array_get_idx(list, i);
			json_object *s;

			if (c == NULL || !json_object_is_type(c, json_type_object))
				continue;
			s = json_object_new_object();
			kj_add_str(s, "name", kj_str(&ob->r, c, "name"));
			kj_add_str(s, "image", kj_str(&ob->r, c, "image"));
			if (l > 0)
				kj_add_str(s, "type", l == 1 ? "init" : "ephemeral");
			kj_add_ref(s, "ports", kj_arr(&ob->r, c, "ports"));
			kj_add_ref(s, "securityContext", kj_obj(&ob->r, c, "securityContext"));
			if (out == NULL)
				out = json_object_new_array();
			json_object_array_add(out, s);
		}
	}
	return out;
}

/* Secrets the spec reads, by volume or environment. */
static void
k8s_secret_mounts(K8sObj *ob, json_object *spec)
{
	json_object *vols = kj_get(spec, "volumes");

	for (size_t i = 0; vols && json_object_is_type(vols, json_type_array) &&
		 i < json_object_array_length(vols); i++)
	{
		json_object *v = json_object_array_get_idx(vols, i);
		json_object *sec = kj_obj(&ob->r, v, "secret");
		json_object *proj = kj_obj(&ob->r, v, "projected");
		json_object *sources = kj_arr(&ob->r, proj, "sources");
		const char *vname = kj_str(&ob->r, v, "name");

		if (sec != NULL)
		{
			const char *sname = kj_str(&ob->r, sec, "secretName");
			char	   *suid = k8s_uid(ob, ob->ns, "secret", sname);
			json_object *p;

			k8s_stub(ob, suid, "k8s:secret", sname, ob->ns, NULL);
			p = json_object_new_object();
			kj_add_str(p, "via", "volume");
			kj_add_str(p, "volume", vname);
			k8s_link(ob, ob->uid, suid, "mounts", 0, p);
		}
		for (size_t j = 0; sources && j < json_object_array_length(sources); j++)
		{
			json_object *src = kj_obj(&ob->r, json_object_array_get_idx(sources, j), "secret");
			const char *sname = kj_str(&ob->r, src, "name");

			if (src != NULL && sname != NULL)
			{
				char	   *suid = k8s_uid(ob, ob->ns, "secret", sname);
				json_object *p;

				k8s_stub(ob, suid, "k8s:secret", sname, ob->ns, NULL);
				p = json_object_new_object();
				kj_add_str(p, "via", "projected volume");
				kj_add_str(p, "volume", vname);
				k8s_link(ob, ob->uid, suid, "mounts", 0, p);
			}
		}
	}

	for (size_t l = 0; l < lengthof(k8s_container_lists); l++)
	{
		json_object *list = kj_get(spec, k8s_container_lists[l]);

		for (size_t i = 0; list && json_object_is_type(list, json_type_array) &&
			 i < json_object_array_length(list); i++)
		{
			json_object *c = json_object_array_get_idx(list, i);
			json_object *env = kj_arr(&ob->r, c, "env");
			json_object *envfrom = kj_arr(&ob->r, c, "envFrom");

			for (size_t j = 0; env && j < json_object_array_length(env); j++)
			{
				json_object *vf = kj_obj(&ob->r, json_object_array_get_idx(env, j), "valueFrom");
				const char *sname = kj_str(&ob->r, kj_obj(&ob->r, vf, "secretKeyRef"), "name");

				if (sname != NULL)
				{
					char	   *suid = k8s_uid(ob, ob->ns, "secret", sname);
					json_object *p;

					k8s_stub(ob, suid, "k8s:secret", sname, ob->ns, NULL);
					p = json_object_new_object();
					kj_add_str(p, "via", "env");
					k8s_link(ob, ob->uid, suid, "mounts", 0, p);
				}
			}
			for (size_t j = 0; envfrom && j < json_object_array_length(envfrom); j++)
			{
				json_object *ref = kj_obj(&ob->r, json_object_array_get_idx(envfrom, j), "secretRef");
				const char *sname = kj_str(&ob->r, ref, "name");

				if (sname != NULL)
				{
					char	   *suid = k8s_uid(ob, ob->ns, "secret", sname);
					json_object *p;

					k8s_stub(ob, suid, "k8s:secret", sname, ob->ns, NULL);
					p = json_object_new_object();
					kj_add_str(p, "via", "envFrom");
					k8s_link(ob, ob->uid, suid, "mounts", 0, p);
				}
			}
		}
	}
}

/* The status entry of the container called name, or NULL. */
static json_object *
k8s_container_status(K8sObj *ob, json_object *status, const char *name)
{
	for (size_t l = 0; l < lengthof(k8s_status_lists); l++)
	{
		json_object *list = kj_arr(&ob->r, status, k8s_status_lists[l]);

		for (size_t i = 0; list && i < json_object_array_length(list); i++)
		{
			json_object *cs = json_object_array_get_idx(list, i);
			const char *n = kj_str(&ob->r, cs, "name");

			if (n != NULL && strcmp(n, name) == 0)
				return cs;
		}
	}
	return NULL;
}

/*
 * The image a container runs: the digest from status.imageID when the
 * runtime reported one (docker-pullable://repo@sha256:..., repo@sha256:...,
 * sha256:...), else the reference in the spec.
 */
static char *
k8s_image_uid(K8sObj *ob, const char *spec_image, json_object *cs, const char **digest_ref)
{
	const char *image_id = kj_str(&ob->r, cs, "imageID");
	const char *why = NULL;
	char	   *uid;

	*digest_ref = NULL;
	if (image_id != NULL && *image_id != '\0')
	{
		const char *p = strstr(image_id, "://");

		p = p ? p + 3 : image_id;
		if (strstr(p, "sha256:") != NULL)
		{
			uid = uid_image_try(p, &why);
			if (uid != NULL)
			{
				*digest_ref = p;
				return uid;
			}
		}
	}
	if (spec_image == NULL || *spec_image == '\0')
	{
		kj_bad(&ob->r, "a container has no image");
		return NULL;
	}
	uid = uid_image_try(spec_image, &why);
	if (uid == NULL)
		kj_bad(&ob->r, "the image \"%s\" cannot be named: %s", KJ_SHOW(spec_image), why);
	return uid;
}

/* Images and running containers of a pod. */
static void
k8s_pod_containers(K8sObj *ob, json_object *spec, json_object *status)
{
	for (size_t l = 0; l < lengthof(k8s_container_lists); l++)
	{
		json_object *list = kj_get(spec, k8s_container_lists[l]);

		for (size_t i = 0; list && json_object_is_type(list, json_type_array) &&
			 i < json_object_array_length(list); i++)
		{
			json_object *c = json_object_array_get_idx(list, i);
			const char *cname = kj_str(&ob->r, c, "name");
			const char *image = kj_str(&ob->r, c, "image");
			json_object *cs;
			const char *digest_ref;
			const char *cid;
			char	   *iuid;

			CHECK_FOR_INTERRUPTS();
			if (cname == NULL)
				continue;
			cs = k8s_container_status(ob, status, cname);
			iuid = k8s_image_uid(ob, image, cs, &digest_ref);
			if (iuid == NULL)
				return;
			{
				IngestResource r;
				json_object *p = json_object_new_object();

				kj_add_str(p, "reference", image);
				kj_add_str(p, "repo_digest", digest_ref);
				memset(&r, 0, sizeof(r));
				r.uid = iuid;
				r.kind = "container:image";
				r.name = image;
				r.props_json = kj_text_put(&ob->r, p, "image properties");
				r.criticality = -1;
				if (ob->r.why == NULL)
					ingest_resource(ob->st->ctx, &r);
			}
			k8s_link(ob, ob->uid, iuid, "uses_image", 0, NULL);

			cid = kj_str(&ob->r, cs, "containerID");
			if (cid != NULL && *cid != '\0')
			{
				const char *why = NULL;
				char	   *cuid = uid_container_try(cid, &why);
				IngestResource r;
				json_object *p;
				json_object *state = kj_obj(&ob->r, cs, "state");

				if (cuid == NULL)
				{
					kj_bad(&ob->r, "containerID \"%s\" of container \"%s\" cannot be named: %s",
						   KJ_SHOW(cid), KJ_SHOW(cname), why);
					return;
				}
				p = json_object_new_object();
				kj_add_str(p, "container_id", cid);
				kj_add_str(p, "pod", ob->name);
				kj_add_str(p, "image", image);
				kj_add_str(p, "image_id", kj_str(&ob->r, cs, "imageID"));
				kj_add_str(p, "started_at",
						   kj_str(&ob->r, kj_obj(&ob->r, state, "running"), "startedAt"));
				memset(&r, 0, sizeof(r));
				r.uid = cuid;
				r.kind = "container";
				r.name = cname;
				r.cluster = ob->cluster;
				r.namespace = ob->ns;
				r.props_json = kj_text_put(&ob->r, p, "container properties");
				r.criticality = -1;
				if (ob->r.why == NULL)
					ingest_resource(ob->st->ctx, &r);
				k8s_link(ob, ob->uid, cuid, "contains", 0, NULL);
				k8s_link(ob, cuid, iuid, "uses_image", 0, NULL);
			}
		}
	}
}

/* Latest finishedAt of the pod's terminated containers, or 0. */
static TimestampTz
k8s_pod_finished(K8sObj *ob, json_object *status)
{
	TimestampTz last = 0;

	for (size_t l = 0; l < lengthof(k8s_status_lists); l++)
	{
		json_object *list = kj_arr(&ob->r, status, k8s_status_lists[l]);

		for (size_t i = 0; list && i < json_object_array_length(list); i++)
		{
			json_object *term = kj_obj(&ob->r, kj_obj(&ob->r, json_object_array_get_idx(list, i), "state"),
									   "terminated");
			TimestampTz t;

			if (kj_time(&ob->r, term, "finishedAt", &t) && t > last)
				last = t;
		}
	}
	return last;
}

/* The controller owning the pod; a ReplicaSet made by a Deployment resolves to the Deployment. */
static void
k8s_pod_owner(K8sObj *ob)
{
	json_object *refs = kj_arr(&ob->r, ob->meta, "ownerReferences");
	json_object *pick = NULL;
	const char *okind;
	const char *oname;
	const char *hash;
	char	   *ouid;

	for (size_t i = 0; refs && i < json_object_array_length(refs); i++)
	{
		json_object *ref = json_object_array_get_idx(refs, i);

		if (pick == NULL || kj_bool(&ob->r, ref, "controller") == 1)
			pick = ref;
	}
	okind = kj_str(&ob->r, pick, "kind");
	oname = kj_str(&ob->r, pick, "name");
	if (okind == NULL || oname == NULL || *oname == '\0' || k8s_kind_lookup(okind) == NULL ||
		k8s_kind_lookup(okind)->template_depth == 0)
		return;					/* static pods (owned by their Node) and custom controllers */

	hash = ob->labels ? json_object_get_string(kj_get(ob->labels, "pod-template-hash")) : NULL;
	if (pg_strcasecmp(okind, "ReplicaSet") == 0 && hash != NULL && *hash != '\0')
	{
		size_t		nl = strlen(oname);
		size_t		hl = strlen(hash);

		if (nl > hl + 1 && oname[nl - hl - 1] == '-' && strcmp(oname + nl - hl, hash) == 0)
		{
			okind = "Deployment";
			oname = pnstrdup(oname, nl - hl - 1);
		}
	}
	ouid = k8s_uid(ob, ob->ns, okind, oname);
	k8s_stub(ob, ouid, k8s_rkind(okind), oname, ob->ns, NULL);
	k8s_link(ob, ouid, ob->uid, "contains", 0, NULL);
}

void
k8s_read_pod(K8sObj *ob)
{
	json_object *spec = kj_obj(&ob->r, ob->o, "spec");
	json_object *status = kj_obj(&ob->r, ob->o, "status");
	K8sSpecCheck chk;
	json_object *escape;
	const char *node = kj_str(&ob->r, spec, "nodeName");
	const char *sa = kj_str(&ob->r, spec, "serviceAccountName");
	const char *phase = kj_str(&ob->r, status, "phase");
	int			automount = kj_bool(&ob->r, spec, "automountServiceAccountToken");
	TimestampTz from = 0;
	TimestampTz to = 0;

	if (sa == NULL || *sa == '\0')
		sa = kj_str(&ob->r, spec, "serviceAccount");
	if (sa == NULL || *sa == '\0')
		sa = "default";			/* what admission fills in */

	k8s_check_spec(ob, spec, &chk);
	escape = k8s_spec_findings(ob, ob->uid, &chk);

	kj_add_str(ob->props, "phase", phase);
	kj_add_str(ob->props, "node", node);
	kj_add_str(ob->props, "service_account", sa);
	if (chk.host_network)
		kj_add_bool(ob->props, "host_network", true);
	if (chk.host_pid)
		kj_add_bool(ob->props, "host_pid", true);
	if (chk.host_ipc)
		kj_add_bool(ob->props, "host_ipc", true);
	kj_add_str(ob->props, "pod_ip", kj_str(&ob->r, status, "podIP"));
	kj_add_str(ob->props, "host_ip", kj_str(&ob->r, status, "hostIP"));
	kj_add_str(ob->props, "start_time", kj_str(&ob->r, status, "startTime"));
	kj_add_str(ob->props, "qos_class", kj_str(&ob->r, status, "qosClass"));
	kj_add_str(ob->props, "priority_class", kj_str(&ob->r, spec, "priorityClassName"));
	{
		json_object *c = k8s_containers_props(ob, spec);

		if (c)
			json_object_object_add(ob->props, "containers", c);
	}
	if (chk.hostpaths)
		kj_add_ref(ob->props, "host_paths", chk.hostpaths);

	/* pod -runs_on-> node */
	if (node != NULL && *node != '\0')
	{
		char	   *nuid = k8s_uid(ob, NULL, "node", node);
		json_object *p = NULL;

		k8s_stub(ob, nuid, "k8s:node", node, NULL, NULL);
		if (escape != NULL)
		{
			p = json_object_new_object();
			json_object_object_add(p, "escape", json_object_get(escape));
		}
		k8s_link(ob, ob->uid, nuid, "runs_on", p ? K8S_ESCAPE_LIKELIHOOD : 0, p);
	}

	/* pod -runs_as-> service account */
	{
		char	   *sauid = k8s_uid(ob, ob->ns, "serviceaccount", sa);
		json_object *p = NULL;

		k8s_stub(ob, sauid, "k8s:serviceaccount", sa, ob->ns, NULL);
		/* the pod's setting overrides its service account's: keep it either way */
		if (automount >= 0)
		{
			p = json_object_new_object();
			kj_add_bool(p, "automount_token", automount == 1);
		}
		k8s_link(ob, ob->uid, sauid, "runs_as", 0, p);
	}

	k8s_pod_containers(ob, spec, status);
	k8s_secret_mounts(ob, spec);
	k8s_pod_owner(ob);

	/* The pod's addresses, unless it shares the node's. */
	if (kj_bool(&ob->r, spec, "hostNetwork") != 1)
	{
		json_object *ips = kj_arr(&ob->r, status, "podIPs");
		const char *ip = kj_str(&ob->r, status, "podIP");

		if (!kj_time(&ob->r, status, "startTime", &from))
			from = ob->created;
		if (phase != NULL && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0))
		{
			to = k8s_pod_finished(ob, status);
			if (to == 0)
				ips = NULL, ip = NULL;	/* released at an unknown time: no lease */
		}
		if (ips != NULL && json_object_array_length(ips) > 0)
		{
			for (size_t i = 0; i < json_object_array_length(ips); i++)
				k8s_lease(ob, kj_str(&ob->r, json_object_array_get_idx(ips, i), "ip"),
						  ob->uid, from, to);
		}
		else if (ip != NULL)
			k8s_lease(ob, ip, ob->uid, from, to);
	}

	/* Labels, for Service selectors at the end of the payload. */
	if (ob->uid != NULL && ob->r.why == NULL)
	{
		K8sPodEntry *pe = MemoryContextAllocZero(ob->st->keep, sizeof(K8sPodEntry));

		pe->uid = k8s_keep(ob, ob->uid);
		pe->name = k8s_keep(ob, ob->name);
		pe->ns = k8s_keep(ob, ob->ns);
		pe->cluster = k8s_keep(ob, ob->cluster);
		pe->scope = k8s_keep(ob, psprintf("%s/%s", ob->cluster, ob->ns));
		pe->labels = k8s_pairs(ob, ob->labels, &pe->nlabels);
		ob->pod = pe;
	}
}

/* Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs: their pod template. */
void
k8s_read_workload(K8sObj *ob)
{
	json_object *spec = kj_obj(&ob->r, ob->o, "spec");
	json_object *tmpl;
	json_object *tspec;
	K8sSpecCheck chk;
	int64		replicas;

	if (ob->kk->template_depth == 2)
		spec = kj_obj(&ob->r, kj_obj(&ob->r, spec, "jobTemplate"), "spec");
	tmpl = kj_obj(&ob->r, spec, "template");
	tspec = kj_obj(&ob->r, tmpl, "spec");

	if (kj_int(&ob->r, kj_get(ob->o, "spec"), "replicas", &replicas))
		kj_add_int(ob->props, "replicas", replicas);
	kj_add_str(ob->props, "schedule", kj_str(&ob->r, kj_get(ob->o, "spec"), "schedule"));
	kj_add_ref(ob->props, "selector", kj_obj(&ob->r, spec, "selector"));
	if (tspec == NULL)
		return;
	{
		const char *sa = kj_str(&ob->r, tspec, "serviceAccountName");
		json_object *c = k8s_containers_props(ob, tspec);

		kj_add_str(ob->props, "service_account", sa ? sa : "default");
		if (c)
			json_object_object_add(ob->props, "containers", c);
	}
	k8s_check_spec(ob, tspec, &chk);
	(void) k8s_spec_findings(ob, ob->uid, &chk);
	if (chk.hostpaths)
		kj_add_ref(ob->props, "host_paths", chk.hostpaths);
}
