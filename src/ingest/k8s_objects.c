/*
 * k8s_objects.c
 *		Every Kubernetes inventory kind except pods and workloads: Services
 *		(selectors, load balancers, internet exposure), Ingresses, service
 *		accounts (IRSA), RBAC roles and bindings, nodes, namespaces, network
 *		policies, Secrets and ConfigMaps (key names only), EndpointSlices and
 *		Endpoints.
 *
 * Secret values never leave this file: a Secret becomes its type and the
 * names of its keys.
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "miscadmin.h"

#include "ingest/ingest.h"
#include "ingest/k8s_inventory.h"
#include "model/uid.h"

/* Likelihood of internet -exposes-> a NodePort Service: only if the nodes are reachable. */
#define K8S_NODEPORT_LIKELIHOOD 0.5

/* Annotation values that make a LoadBalancer Service internal (not internet-facing). */
static bool
k8s_lb_internal(K8sObj *ob)
{
	static const char *const truthy[] = {
		"service.beta.kubernetes.io/aws-load-balancer-internal",
		"service.beta.kubernetes.io/azure-load-balancer-internal",
		"service.beta.kubernetes.io/oci-load-balancer-internal",
		"service.beta.kubernetes.io/openstack-internal-load-balancer",
	};
	const char *v;

	if (ob->annotations == NULL)
		return false;
	for (size_t i = 0; i < lengthof(truthy); i++)
	{
		v = json_object_get_string(kj_get(ob->annotations, truthy[i]));
		if (v != NULL && !kj_eq(v, "false"))
			return true;
	}
	v = json_object_get_string(kj_get(ob->annotations, "service.beta.kubernetes.io/aws-load-balancer-scheme"));
	if (kj_eq(v, "internal"))
		return true;
	v = json_object_get_string(kj_get(ob->annotations, "networking.gke.io/load-balancer-type"));
	if (kj_eq(v, "internal"))
		return true;
	v = json_object_get_string(kj_get(ob->annotations, "cloud.google.com/load-balancer-type"));
	if (kj_eq(v, "internal"))
		return true;
	return false;
}

void
k8s_read_service(K8sObj *ob)
{
	json_object *spec = kj_obj(&ob->r, ob->o, "spec");
	json_object *status = kj_obj(&ob->r, ob->o, "status");
	const char *type = kj_str(&ob->r, spec, "type");
	json_object *selector = kj_strmap(&ob->r, spec, "selector");
	json_object *ports = kj_arr(&ob->r, spec, "ports");
	json_object *lbin = kj_arr(&ob->r, kj_obj(&ob->r, status, "loadBalancer"), "ingress");
	json_object *cips = kj_arr(&ob->r, spec, "clusterIPs");
	const char *cip = kj_str(&ob->r, spec, "clusterIP");
	json_object *hostnames = NULL;
	json_object *lbips = NULL;
	bool		internal = false;

	if (type == NULL || *type == '\0')
		type = "ClusterIP";
	kj_add_str(ob->props, "type", type);
	kj_add_ref(ob->props, "selector", selector);
	kj_add_ref(ob->props, "ports", ports);
	kj_add_str(ob->props, "cluster_ip", cip);
	kj_add_ref(ob->props, "external_ips", kj_arr(&ob->r, spec, "externalIPs"));
	kj_add_str(ob->props, "external_name", kj_str(&ob->r, spec, "externalName"));
	kj_add_ref(ob->props, "load_balancer_source_ranges", kj_arr(&ob->r, spec, "loadBalancerSourceRanges"));
	kj_add_str(ob->props, "external_traffic_policy", kj_str(&ob->r, spec, "externalTrafficPolicy"));

	/* Attached to props as soon as they exist, so that props owns them across ingest calls. */
	for (size_t i = 0; lbin && i < json_object_array_length(lbin); i++)
	{
		json_object *e = json_object_array_get_idx(lbin, i);
		const char *h = kj_str(&ob->r, e, "hostname");
		const char *ip = kj_str(&ob->r, e, "ip");

		if (h != NULL && *h != '\0')
		{
			if (hostnames == NULL)
			{
				hostnames = json_object_new_array();
				json_object_object_add(ob->props, "load_balancer_hostnames", hostnames);
			}
			json_object_array_add(hostnames, json_object_new_string(h));
		}
		if (ip != NULL && *ip != '\0')
		{
			if (lbips == NULL)
			{
				lbips = json_object_new_array();
				json_object_object_add(ob->props, "load_balancer_ips", lbips);
			}
			json_object_array_add(lbips, json_object_new_string(ip));
			k8s_lease(ob, ip, ob->uid, ob->created, 0);
		}
	}

	if (strcmp(type, "LoadBalancer") == 0)
	{
		internal = k8s_lb_internal(ob);
		kj_add_bool(ob->props, "internal", internal);
	}

	/* internet -exposes-> the Service, for internet-facing load balancers and node ports */
	if ((strcmp(type, "LoadBalancer") == 0 && !internal) || strcmp(type, "NodePort") == 0)
	{
		json_object *p;
		json_object *pl;

		k8s_internet(ob);
		p = json_object_new_object();
		pl = json_object_new_array();
		kj_add_str(p, "via", type);
		for (size_t i = 0; ports && i < json_object_array_length(ports); i++)
		{
			json_object *port = json_object_array_get_idx(ports, i);
			int64		n;

			if (kj_int(&ob->r, port, strcmp(type, "NodePort") == 0 ? "nodePort" : "port", &n))
				json_object_array_add(pl, json_object_new_int64(n));
		}
		json_object_object_add(p, "ports", pl);
		kj_add_ref(p, "hostnames", hostnames);
		k8s_link(ob, "internet", ob->uid,
				 "exposes", strcmp(type, "NodePort") == 0 ? K8S_NODEPORT_LIKELIHOOD : 0, p);
	}

	/* Cluster IPs belong to the Service. */
	if (cips != NULL)
	{
		for (size_t i = 0; i < json_object_array_length(cips); i++)
		{
			const char *ip = kj_strval(&ob->r, json_object_array_get_idx(cips, i), "spec.clusterIPs[]");

			if (ip != NULL && *ip != '\0' && strcmp(ip, "None") != 0)
				k8s_lease(ob, ip, ob->uid, ob->created, 0);
		}
	}
	else if (cip != NULL && *cip != '\0' && strcmp(cip, "None") != 0)
		k8s_lease(ob, cip, ob->uid, ob->created, 0);

	/* A selector is matched against the payload's pods at the end. */
	if (selector != NULL && json_object_object_length(selector) > 0 && ob->uid != NULL &&
		ob->r.why == NULL)
	{
		K8sSvcEntry *se = MemoryContextAllocZero(ob->st->keep, sizeof(K8sSvcEntry));

		se->uid = k8s_keep(ob, ob->uid);
		se->name = k8s_keep(ob, ob->name);
		se->ns = k8s_keep(ob, ob->ns);
		se->cluster = k8s_keep(ob, ob->cluster);
		se->scope = k8s_keep(ob, psprintf("%s/%s", ob->cluster, ob->ns));
		se->sel = k8s_pairs(ob, selector, &se->nsel);
		if (ports != NULL)
			se->ports_json = k8s_keep(ob, kj_text(&ob->r, ports, "spec.ports"));
		ob->svc = se;
	}
}

/* The Service a backend names (networking.k8s.io/v1 or the older extensions form). */
static const char *
k8s_backend_service(K8sObj *ob, json_object *backend)
{
	const char *name = kj_str(&ob->r, kj_obj(&ob->r, backend, "service"), "name");

	if (name == NULL)
		name = kj_str(&ob->r, backend, "serviceName");
	return name;
}

static void
k8s_ingress_backend(K8sObj *ob, json_object *backend, const char *host, const char *path)
{
	const char *svc = k8s_backend_service(ob, backend);
	char	   *suid;
	json_object *p;

	if (svc == NULL || *svc == '\0')
		return;					/* a resource backend, not a Service */
	suid = k8s_uid(ob, ob->ns, "service", svc);
	k8s_stub(ob, suid, "k8s:service", svc, ob->ns, NULL);
	p = json_object_new_object();
	kj_add_str(p, "host", host);
	kj_add_str(p, "path", path);
	k8s_link(ob, ob->uid, suid, "exposes", 0, p);
}

void
k8s_read_ingress(K8sObj *ob)
{
	json_object *spec = kj_obj(&ob->r, ob->o, "spec");
	json_object *rules = kj_arr(&ob->r, spec, "rules");
	json_object *def = kj_obj(&ob->r, spec, "defaultBackend");
	json_object *hosts = NULL;
	const char *scheme;

	if (def == NULL)
		def = kj_obj(&ob->r, spec, "backend");
	kj_add_str(ob->props, "ingress_class", kj_str(&ob->r, spec, "ingressClassName"));
	kj_add_ref(ob->props, "tls", kj_arr(&ob->r, spec, "tls"));
	kj_add_ref(ob->props, "load_balancer",
			   kj_arr(&ob->r, kj_obj(&ob->r, kj_obj(&ob->r, ob->o, "status"), "loadBalancer"), "ingress"));

	if (def != NULL)
		k8s_ingress_backend(ob, def, NULL, NULL);
	for (size_t i = 0; rules && i < json_object_array_length(rules); i++)
	{
		json_object *rule = json_object_array_get_idx(rules, i);
		const char *host = kj_str(&ob->r, rule, "host");
		json_object *paths = kj_arr(&ob->r, kj_obj(&ob->r, rule, "http"), "paths");

		CHECK_FOR_INTERRUPTS();
		if (host != NULL)
		{
			if (hosts == NULL)
			{
				hosts = json_object_new_array();
				json_object_object_add(ob->props, "hosts", hosts);
			}
			json_object_array_add(hosts, json_object_new_string(host));
		}
		for (size_t j = 0; paths && j < json_object_array_length(paths); j++)
		{
			json_object *path = json_object_array_get_idx(paths, j);

			k8s_ingress_backend(ob, kj_obj(&ob->r, path, "backend"), host,
								kj_str(&ob->r, path, "path"));
		}
	}

	/* An Ingress is internet-facing unless its controller is told otherwise. */
	scheme = ob->annotations ? json_object_get_string(kj_get(ob->annotations, "alb.ingress.kubernetes.io/scheme")) : NULL;
	if (!kj_eq(scheme, "internal"))
	{
		json_object *p;

		k8s_internet(ob);
		p = json_object_new_object();
		kj_add_str(p, "via", "Ingress");
		kj_add_ref(p, "hosts", hosts);
		k8s_link(ob, "internet", ob->uid, "exposes", 0, p);
	}
	else
		kj_add_bool(ob->props, "internal", true);
}

void
k8s_read_serviceaccount(K8sObj *ob)
{
	const char *arn = ob->annotations
		? kj_strval(&ob->r, kj_get(ob->annotations, "eks.amazonaws.com/role-arn"), "eks.amazonaws.com/role-arn")
		: NULL;
	int			automount = kj_bool(&ob->r, ob->o, "automountServiceAccountToken");
	json_object *secrets = kj_arr(&ob->r, ob->o, "secrets");
	json_object *names = NULL;

	if (automount >= 0)
		kj_add_bool(ob->props, "automount_token", automount == 1);
	for (size_t i = 0; secrets && i < json_object_array_length(secrets); i++)
	{
		const char *n = kj_str(&ob->r, json_object_array_get_idx(secrets, i), "name");

		if (n == NULL)
			continue;
		if (names == NULL)
			names = json_object_new_array();
		json_object_array_add(names, json_object_new_string(n));
	}
	if (names)
		json_object_object_add(ob->props, "secrets", names);

	/* IRSA: pods running as this account get the IAM role's credentials. */
	if (arn != NULL && *arn != '\0')
	{
		const char *why = NULL;
		char	   *role = uid_arn_try(arn, &why);

		kj_add_str(ob->props, "iam_role_arn", arn);
		if (role == NULL || strstr(role, ":role/") == NULL)
			kj_add_str(ob->props, "iam_role_arn_error", why ? why : "it is not an IAM role ARN");
		else
		{
			const char *slash = strrchr(role, '/');
			const char *acct = strstr(role, ":iam::");
			char	   *account = NULL;
			json_object *p;

			if (acct != NULL)
			{
				const char *end = strchr(acct + 6, ':');

				if (end != NULL && end > acct + 6)
					account = pnstrdup(acct + 6, end - (acct + 6));
			}
			k8s_stub(ob, role, "aws:iam:role", slash + 1, NULL, account);
			p = json_object_new_object();
			kj_add_str(p, "via", "irsa");
			k8s_link(ob, ob->uid, role, "assumes", 0, p);
		}
	}
}

void
k8s_read_role(K8sObj *ob)
{
	json_object *rules = kj_arr(&ob->r, ob->o, "rules");

	kj_add_ref(ob->props, "rules", rules);
	kj_add_ref(ob->props, "aggregation_rule", kj_obj(&ob->r, ob->o, "aggregationRule"));
	if (ob->uid != NULL && ob->r.why == NULL)
	{
		K8sRoleEntry *re = MemoryContextAllocZero(ob->st->keep, sizeof(K8sRoleEntry));

		re->uid = k8s_keep(ob, ob->uid);
		if (rules != NULL)
			re->rules_json = k8s_keep(ob, kj_text(&ob->r, rules, "rules"));
		ob->role = re;
	}
}

void
k8s_read_binding(K8sObj *ob)
{
	json_object *ref = kj_obj(&ob->r, ob->o, "roleRef");
	json_object *subjects = kj_arr(&ob->r, ob->o, "subjects");
	const char *rkind = kj_str(&ob->r, ref, "kind");
	const char *rname = kj_str(&ob->r, ref, "name");
	bool		cluster_binding = (ob->ns == NULL);
	char	   *role_uid = NULL;
	const char *role_rkind = NULL;
	const char *role_ns = NULL;

	kj_add_ref(ob->props, "role_ref", ref);
	kj_add_ref(ob->props, "subjects", subjects);
	if (ref == NULL || rkind == NULL || rname == NULL || *rname == '\0')
	{
		kj_bad(&ob->r, "the %s has no roleRef with a kind and a name", KJ_SHOW(ob->kind));
		return;
	}
	if (pg_strcasecmp(rkind, "ClusterRole") == 0)
	{
		role_uid = k8s_uid(ob, NULL, "clusterrole", rname);
		role_rkind = "k8s:clusterrole";
	}
	else if (pg_strcasecmp(rkind, "Role") == 0 && !cluster_binding)
	{
		role_uid = k8s_uid(ob, ob->ns, "role", rname);
		role_rkind = "k8s:role";
		role_ns = ob->ns;
	}
	else
	{
		/* The API server refuses these (a ClusterRoleBinding can only bind a ClusterRole). */
		kj_add_str(ob->props, "invalid_role_ref",
				   psprintf("a %s cannot bind a %s", ob->kind, rkind));
		return;
	}

	for (size_t i = 0; subjects && i < json_object_array_length(subjects); i++)
	{
		json_object *s = json_object_array_get_idx(subjects, i);
		const char *skind = kj_str(&ob->r, s, "kind");
		const char *sname = kj_str(&ob->r, s, "name");
		const char *sns = kj_str(&ob->r, s, "namespace");
		K8sBindEntry *b;
		char	   *suid;
		const char *srkind;

		CHECK_FOR_INTERRUPTS();
		if (s == NULL || !json_object_is_type(s, json_type_object))
		{
			kj_bad(&ob->r, "subjects[%zu] is not an object", i);
			return;
		}
		if (skind == NULL || sname == NULL || *sname == '\0')
		{
			kj_bad(&ob->r, "subjects[%zu] has no kind or name", i);
			return;
		}
		if (pg_strcasecmp(skind, "ServiceAccount") == 0)
		{
			if (sns == NULL || *sns == '\0')
				sns = ob->ns;
			if (sns == NULL)
			{
				kj_bad(&ob->r, "subjects[%zu] is a ServiceAccount without a namespace", i);
				return;
			}
			suid = k8s_uid(ob, sns, "serviceaccount", sname);
			srkind = "k8s:serviceaccount";
		}
		else if (pg_strcasecmp(skind, "User") == 0 || pg_strcasecmp(skind, "Group") == 0)
		{
			/* User and group names are free text (OIDC issuers hold '/'): escape what a uid cannot hold. */
			StringInfoData esc;

			initStringInfo(&esc);
			for (const char *p = sname; *p; p++)
			{
				if (*p == '/' || *p == '%')
					appendStringInfo(&esc, "%%%02X", (unsigned char) *p);
				else
					appendStringInfoChar(&esc, *p);
			}
			sns = NULL;
			srkind = pg_strcasecmp(skind, "User") == 0 ? "k8s:user" : "k8s:group";
			suid = k8s_uid(ob, NULL, srkind + 4, esc.data);
		}
		else
		{
			kj_bad(&ob->r, "subjects[%zu] has kind \"%s\"; expected ServiceAccount, User or Group", i, KJ_SHOW(skind));
			return;
		}
		if (suid == NULL || role_uid == NULL)
			return;
		k8s_stub(ob, suid, srkind, sname, sns, NULL);
		k8s_stub(ob, role_uid, role_rkind, rname, role_ns, NULL);

		b = MemoryContextAllocZero(ob->st->keep, sizeof(K8sBindEntry));
		b->binding_uid = k8s_keep(ob, ob->uid);
		b->binding_kind = k8s_keep(ob, ob->kind);
		b->scope = k8s_keep(ob, cluster_binding ? "*" : ob->ns);
		b->cluster = k8s_keep(ob, ob->cluster);
		b->subj_uid = k8s_keep(ob, suid);
		b->subj_rkind = srkind;
		b->subj_name = k8s_keep(ob, sname);
		b->subj_ns = k8s_keep(ob, sns);
		b->role_uid = k8s_keep(ob, role_uid);
		b->role_rkind = role_rkind;
		b->role_name = k8s_keep(ob, rname);
		b->role_ns = k8s_keep(ob, role_ns);
		ob->binds = lappend(ob->binds, b);
	}
}

/* Region from the node's labels or its AWS provider id (aws:///us-east-1a/i-...). */
static const char *
k8s_node_region(K8sObj *ob, const char *provider_id)
{
	const char *r = NULL;

	if (ob->labels)
	{
		r = json_object_get_string(kj_get(ob->labels, "topology.kubernetes.io/region"));
		if (r == NULL)
			r = json_object_get_string(kj_get(ob->labels, "failure-domain.beta.kubernetes.io/region"));
	}
	if (r == NULL && provider_id != NULL && strncmp(provider_id, "aws:///", 7) == 0)
	{
		const char *zone = provider_id + 7;
		const char *slash = strchr(zone, '/');

		/* us-east-1a -> us-east-1 */
		if (slash != NULL && slash - zone > 1 && zone[slash - zone - 1] >= 'a' && zone[slash - zone - 1] <= 'z')
			r = pnstrdup(zone, slash - zone - 1);
	}
	return r;
}

void
k8s_read_node(K8sObj *ob)
{
	json_object *spec = kj_obj(&ob->r, ob->o, "spec");
	json_object *status = kj_obj(&ob->r, ob->o, "status");
	json_object *addrs = kj_arr(&ob->r, status, "addresses");
	json_object *info = kj_obj(&ob->r, status, "nodeInfo");
	json_object *conds = kj_arr(&ob->r, status, "conditions");
	const char *provider = kj_str(&ob->r, spec, "providerID");
	TimestampTz from = ob->created;

	kj_add_str(ob->props, "provider_id", provider);
	kj_add_ref(ob->props, "addresses", addrs);
	kj_add_ref(ob->props, "taints", kj_arr(&ob->r, spec, "taints"));
	if (kj_bool(&ob->r, spec, "unschedulable") == 1)
		kj_add_bool(ob->props, "unschedulable", true);
	kj_add_ref(ob->props, "capacity", kj_obj(&ob->r, status, "capacity"));
	kj_add_str(ob->props, "kubelet_version", kj_str(&ob->r, info, "kubeletVersion"));
	kj_add_str(ob->props, "os_image", kj_str(&ob->r, info, "osImage"));
	kj_add_str(ob->props, "kernel_version", kj_str(&ob->r, info, "kernelVersion"));
	kj_add_str(ob->props, "container_runtime", kj_str(&ob->r, info, "containerRuntimeVersion"));
	ob->region = k8s_node_region(ob, provider);

	/* Without a creation time, the earliest condition time bounds how long the node has had its addresses. */
	for (size_t i = 0; from == 0 && conds && i < json_object_array_length(conds); i++)
	{
		json_object *c = json_object_array_get_idx(conds, i);
		TimestampTz t;

		if (kj_time(&ob->r, c, "lastTransitionTime", &t) && (from == 0 || t < from))
			from = t;
		if (kj_time(&ob->r, c, "lastHeartbeatTime", &t) && (from == 0 || t < from))
			from = t;
	}
	for (size_t i = 0; addrs && i < json_object_array_length(addrs); i++)
	{
		json_object *a = json_object_array_get_idx(addrs, i);
		const char *type = kj_str(&ob->r, a, "type");

		if (kj_eq(type, "InternalIP") || kj_eq(type, "ExternalIP"))
			k8s_lease(ob, kj_str(&ob->r, a, "address"), ob->uid, from, 0);
	}
}

void
k8s_read_namespace(K8sObj *ob)
{
	kj_add_str(ob->props, "phase", kj_str(&ob->r, kj_obj(&ob->r, ob->o, "status"), "phase"));
}

void
k8s_read_networkpolicy(K8sObj *ob)
{
	json_object *spec = kj_obj(&ob->r, ob->o, "spec");

	kj_add_ref(ob->props, "pod_selector", kj_obj(&ob->r, spec, "podSelector"));
	kj_add_ref(ob->props, "policy_types", kj_arr(&ob->r, spec, "policyTypes"));
	kj_add_ref(ob->props, "ingress", kj_arr(&ob->r, spec, "ingress"));
	kj_add_ref(ob->props, "egress", kj_arr(&ob->r, spec, "egress"));
}

/* The names of an object's keys under each member of fields. */
static json_object *
k8s_key_names(K8sObj *ob, const char *const *fields, int nfields)
{
	json_object *keys = NULL;

	for (int f = 0; f < nfields; f++)
	{
		json_object *m = kj_obj(&ob->r, ob->o, fields[f]);

		if (m == NULL)
			continue;
		{
			json_object_object_foreach(m, k, v)
			{
				(void) v;
				if (keys == NULL)
					keys = json_object_new_array();
				json_object_array_add(keys, json_object_new_string(k));
			}
		}
	}
	return keys;
}

void
k8s_read_secret(K8sObj *ob)
{
	static const char *const fields[] = {"data", "stringData"};
	json_object *keys = k8s_key_names(ob, fields, lengthof(fields));

	kj_add_str(ob->props, "type", kj_str(&ob->r, ob->o, "type"));
	if (keys)
		json_object_object_add(ob->props, "keys", keys);
}

void
k8s_read_configmap(K8sObj *ob)
{
	static const char *const fields[] = {"data", "binaryData"};
	json_object *keys = k8s_key_names(ob, fields, lengthof(fields));

	if (keys)
		json_object_object_add(ob->props, "keys", keys);
}

/* service -exposes-> pod for one endpoint's targetRef. */
static void
k8s_endpoint_target(K8sObj *ob, const char *svc_uid, const char *svc, json_object *target,
					json_object *ports, const char *via)
{
	const char *kind = kj_str(&ob->r, target, "kind");
	const char *name = kj_str(&ob->r, target, "name");
	const char *ns = kj_str(&ob->r, target, "namespace");
	char	   *puid;
	json_object *p;

	if (!kj_eq(kind, "Pod") || name == NULL)
		return;
	if (ns == NULL || *ns == '\0')
		ns = ob->ns;
	puid = k8s_uid(ob, ns, "pod", name);
	k8s_stub(ob, svc_uid, "k8s:service", svc, ob->ns, NULL);
	k8s_stub(ob, puid, "k8s:pod", name, ns, NULL);
	p = json_object_new_object();
	kj_add_str(p, "via", via);
	kj_add_ref(p, "ports", ports);
	k8s_link(ob, svc_uid, puid, "exposes", 0, p);
}

/*
 * EndpointSlices (discovery.k8s.io) and Endpoints (v1) are not resources of
 * their own: they say which pods back a Service, which is an exposes edge.
 */
void
k8s_read_endpoints(K8sObj *ob, bool slice)
{
	const char *svc = NULL;
	char	   *svc_uid;

	if (slice)
	{
		json_object *refs = kj_arr(&ob->r, ob->meta, "ownerReferences");

		svc = ob->labels ? json_object_get_string(kj_get(ob->labels, "kubernetes.io/service-name")) : NULL;
		for (size_t i = 0; svc == NULL && refs && i < json_object_array_length(refs); i++)
		{
			json_object *ref = json_object_array_get_idx(refs, i);

			if (kj_eq(kj_str(&ob->r, ref, "kind"), "Service"))
				svc = kj_str(&ob->r, ref, "name");
		}
	}
	else
		svc = ob->name;
	if (svc == NULL || *svc == '\0' || ob->ns == NULL)
		return;					/* a slice without a Service (custom controllers) */
	svc_uid = k8s_uid(ob, ob->ns, "service", svc);

	if (slice)
	{
		json_object *eps = kj_arr(&ob->r, ob->o, "endpoints");
		json_object *ports = kj_arr(&ob->r, ob->o, "ports");

		for (size_t i = 0; eps && i < json_object_array_length(eps); i++)
		{
			CHECK_FOR_INTERRUPTS();
			k8s_endpoint_target(ob, svc_uid, svc,
								kj_obj(&ob->r, json_object_array_get_idx(eps, i), "targetRef"),
								ports, "endpointslice");
		}
	}
	else
	{
		json_object *subsets = kj_arr(&ob->r, ob->o, "subsets");

		for (size_t i = 0; subsets && i < json_object_array_length(subsets); i++)
		{
			json_object *ss = json_object_array_get_idx(subsets, i);
			json_object *ports = kj_arr(&ob->r, ss, "ports");
			static const char *const lists[] = {"addresses", "notReadyAddresses"};

			for (size_t l = 0; l < lengthof(lists); l++)
			{
				json_object *addrs = kj_arr(&ob->r, ss, lists[l]);

				for (size_t j = 0; addrs && j < json_object_array_length(addrs); j++)
				{
					CHECK_FOR_INTERRUPTS();
					k8s_endpoint_target(ob, svc_uid, svc,
										kj_obj(&ob->r, json_object_array_get_idx(addrs, j), "targetRef"),
										ports, "endpoints");
				}
			}
		}
	}
}
