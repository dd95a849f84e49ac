/*
 * fmt_trivy.c
 *		Parser for the trivy format: Trivy's JSON report (SchemaVersion 2) for
 *		a container image, filesystem, repository or other artifact, and the
 *		Kubernetes cluster report of `trivy k8s` (ClusterName + Resources).
 *
 * The scanned artifact becomes a resource: a container:image named by
 * digest when the report carries one (Metadata.RepoDigests, the digest a
 * pod's status.imageID shows, so scanner and inventory land on one row;
 * then Metadata.ImageID, the config digest; then ArtifactName), otherwise an
 * `artifact` (artifact://TYPE/NAME).  A cluster report's resources are the
 * Kubernetes objects themselves (k8s://...), plus the image a workload runs
 * when the report gives its digest.  Vulnerabilities, failed
 * misconfiguration checks and secrets become findings.
 *
 * Records: the report header is one record, each cluster-report resource is
 * one, and so is every vulnerability, misconfiguration and secret, so a bad
 * entry is rejected alone.  Trivy has no known-exploited flag, so
 * known_exploited stays false.
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "ingest/ingest.h"
#include "ingest/json_util.h"
#include "ingest/k8s_json.h"
#include "ingest/k8s_kinds.h"
#include "model/uid.h"

typedef struct TrivyState
{
	IngestCtx  *ctx;
	int64		recno;
	MemoryContext recctx;		/* reset at the start of every record */
	MemoryContext callctx;		/* the parser's own, outliving records */
	TimestampTz seen;			/* the report's CreatedAt, or 0 */
	json_object *pending;		/* json-c object to release if an error escapes */
} TrivyState;

/* Where the findings of a result go. */
typedef struct TrivyTarget
{
	const char *vuln_uid;		/* resource for vulnerabilities and secrets */
	const char *config_uid;		/* resource for misconfigurations */
	bool		k8s_object;		/* config findings are about the object, not a file */
} TrivyTarget;

static void
trivy_reject(TrivyState *st, json_object *o, const char *why)
{
	const char *raw = ingest_record_raw(st->ctx);

	(void) o;
	ingest_reject(st->ctx, st->recno, raw, raw ? strlen(raw) : 0, why);
}

/* Starts the next record, whose source text is o's JSON. */
static void
trivy_start(TrivyState *st, json_object *o)
{
	size_t		rawlen;
	char	   *raw;

	MemoryContextReset(st->recctx);
	raw = kj_raw(o, &rawlen);
	st->recno++;
	ingest_record_begin(st->ctx, st->recno, raw, rawlen);
}

/*
 * The canonical uid of an image described by a Trivy Metadata object (or a
 * cluster-report resource's Metadata), or NULL if it names none.
 */
static char *
trivy_image_uid(KjRec *r, json_object *meta, const char *artifact_name)
{
	json_object *digests = kj_arr(r, meta, "RepoDigests");
	const char *image_id = kj_str(r, meta, "ImageID");
	const char *why = NULL;
	char	   *uid;

	for (size_t i = 0; digests && i < json_object_array_length(digests); i++)
	{
		const char *d = kj_strval(r, json_object_array_get_idx(digests, i), "Metadata.RepoDigests[]");

		if (d != NULL && *d != '\0' && (uid = uid_image_try(d, &why)) != NULL)
			return uid;
	}
	if (image_id != NULL && *image_id != '\0' && (uid = uid_image_try(image_id, &why)) != NULL)
		return uid;
	if (artifact_name != NULL && *artifact_name != '\0' &&
		(uid = uid_image_try(artifact_name, &why)) != NULL)
		return uid;
	return NULL;
}

/* First non-empty string of an array member, or NULL. */
static const char *
trivy_first(KjRec *r, json_object *o, const char *key)
{
	json_object *a = kj_arr(r, o, key);

	for (size_t i = 0; a && i < json_object_array_length(a); i++)
	{
		const char *s = kj_strval(r, json_object_array_get_idx(a, i), key);

		if (s != NULL && *s != '\0')
			return s;
	}
	return NULL;
}

/* Emits the image resource a Metadata object describes; returns its uid or NULL. */
static char *
trivy_emit_image(TrivyState *st, KjRec *r, json_object *meta, const char *artifact_name,
				 json_object *report)
{
	char	   *uid = trivy_image_uid(r, meta, artifact_name);
	const char *name;
	json_object *p;
	IngestResource res;

	if (uid == NULL)
		return NULL;
	name = trivy_first(r, meta, "RepoTags");
	if (name == NULL && artifact_name != NULL && *artifact_name != '\0')
		name = artifact_name;
	if (name == NULL)
		name = kj_str(r, meta, "Reference");
	p = json_object_new_object();
	st->pending = p;
	kj_add_str(p, "scanner", "trivy");
	kj_add_str(p, "scanner_version", kj_str(r, kj_obj(r, report, "Trivy"), "Version"));
	kj_add_str(p, "artifact_name", artifact_name);
	kj_add_str(p, "image_id", kj_str(r, meta, "ImageID"));
	kj_add_ref(p, "repo_digests", kj_arr(r, meta, "RepoDigests"));
	kj_add_ref(p, "repo_tags", kj_arr(r, meta, "RepoTags"));
	kj_add_ref(p, "os", kj_obj(r, meta, "OS"));
	st->pending = NULL;
	memset(&res, 0, sizeof(res));
	res.uid = uid;
	res.kind = "container:image";
	res.name = name ? name : uid;
	res.props_json = kj_text_put(r, p, "image properties");
	res.criticality = -1;
	res.seen_at = st->seen;
	if (r->why == NULL)
		ingest_resource(st->ctx, &res);
	return uid;
}

/*
 * CVSS base score: NVD's V3 score first, then the source Trivy took the
 * severity from, then any other V3, then NVD's V2.  -1 when none.
 */
static double
trivy_cvss(KjRec *r, json_object *v, const char **source, const char **vector)
{
	json_object *cvss = kj_obj(r, v, "CVSS");
	const char *sevsrc = kj_str(r, v, "SeveritySource");
	double		score;
	const char *order[2] = {"nvd", sevsrc};

	*source = NULL;
	*vector = NULL;
	if (cvss == NULL)
		return -1;
	for (int i = 0; i < 2; i++)
	{
		json_object *s = order[i] ? kj_obj(r, cvss, order[i]) : NULL;

		if (s != NULL && kj_num(r, s, "V3Score", &score))
		{
			*source = order[i];
			*vector = kj_str(r, s, "V3Vector");
			return score;
		}
	}
	{
		json_object_object_foreach(cvss, k, s)
		{
			if (s != NULL && json_object_is_type(s, json_type_object) && kj_num(r, s, "V3Score", &score))
			{
				*source = k;
				*vector = kj_str(r, s, "V3Vector");
				return score;
			}
		}
	}
	if (kj_num(r, kj_obj(r, cvss, "nvd"), "V2Score", &score))
	{
		*source = "nvd";
		*vector = kj_str(r, kj_obj(r, cvss, "nvd"), "V2Vector");
		return score;
	}
	return -1;
}

static void
trivy_vulnerability(TrivyState *st, const TrivyTarget *t, json_object *res, json_object *v)
{
	KjRec		r = {NULL};
	const char *id;
	const char *pkg;
	const char *title;
	const char *cvss_source;
	const char *cvss_vector;
	double		cvss;
	json_object *p;
	IngestFinding f;

	trivy_start(st, v);
	if (v == NULL || !json_object_is_type(v, json_type_object))
	{
		trivy_reject(st, v, "a vulnerability entry is not an object");
		return;
	}
	id = kj_str(&r, v, "VulnerabilityID");
	if (id == NULL || *id == '\0')
		kj_bad(&r, "the vulnerability has no VulnerabilityID");
	pkg = kj_str(&r, v, "PkgName");
	if (pkg == NULL)
		pkg = kj_str(&r, v, "PkgID");
	title = kj_str(&r, v, "Title");
	if (title == NULL)
		title = kj_str(&r, v, "Description");
	cvss = trivy_cvss(&r, v, &cvss_source, &cvss_vector);
	if (cvss > 10 || (cvss < 0 && cvss != -1))
		kj_bad(&r, "the CVSS score %g is outside [0,10]", cvss);

	p = json_object_new_object();
	st->pending = p;
	kj_add_str(p, "target", kj_str(&r, res, "Target"));
	kj_add_str(p, "class", kj_str(&r, res, "Class"));
	kj_add_str(p, "type", kj_str(&r, res, "Type"));
	kj_add_str(p, "pkg_id", kj_str(&r, v, "PkgID"));
	kj_add_str(p, "pkg_path", kj_str(&r, v, "PkgPath"));
	kj_add_str(p, "status", kj_str(&r, v, "Status"));
	kj_add_str(p, "severity_source", kj_str(&r, v, "SeveritySource"));
	kj_add_str(p, "primary_url", kj_str(&r, v, "PrimaryURL"));
	kj_add_str(p, "published", kj_str(&r, v, "PublishedDate"));
	kj_add_ref(p, "cwe_ids", kj_arr(&r, v, "CweIDs"));
	kj_add_str(p, "cvss_source", cvss_source);
	kj_add_str(p, "cvss_vector", cvss_vector);
	st->pending = NULL;

	memset(&f, 0, sizeof(f));
	f.resource_uid = t->vuln_uid;
	f.kind = "vulnerability";
	f.check_id = id;
	f.package = pkg ? pkg : "";
	f.title = kj_clip(title, 500);
	f.severity = kj_severity(kj_str(&r, v, "Severity"));
	f.cvss = cvss;
	f.epss = -1;
	f.known_exploited = false;
	f.installed_version = kj_str(&r, v, "InstalledVersion");
	f.fixed_version = kj_str(&r, v, "FixedVersion");
	if (f.fixed_version != NULL && *f.fixed_version == '\0')
		f.fixed_version = NULL;
	f.props_json = kj_text_put(&r, p, "the vulnerability's properties");
	f.seen_at = st->seen;
	if (r.why != NULL)
	{
		trivy_reject(st, v, r.why);
		return;
	}
	ingest_finding(st->ctx, &f);
}

static void
trivy_misconfiguration(TrivyState *st, const TrivyTarget *t, json_object *res, json_object *m)
{
	KjRec		r = {NULL};
	const char *id;
	const char *status;
	const char *target;
	json_object *p;
	IngestFinding f;

	trivy_start(st, m);
	if (m == NULL || !json_object_is_type(m, json_type_object))
	{
		trivy_reject(st, m, "a misconfiguration entry is not an object");
		return;
	}
	id = kj_str(&r, m, "ID");
	if (id == NULL || *id == '\0')
		id = kj_str(&r, m, "AVDID");
	if (id == NULL || *id == '\0')
		kj_bad(&r, "the misconfiguration has no ID");
	status = kj_str(&r, m, "Status");
	target = kj_str(&r, res, "Target");
	if (r.why != NULL)
	{
		trivy_reject(st, m, r.why);
		return;
	}
	/* Passed and excepted checks are not findings. */
	if (status != NULL && !kj_eq(status, "FAIL"))
		return;

	p = json_object_new_object();
	st->pending = p;
	kj_add_str(p, "target", target);
	kj_add_str(p, "type", kj_str(&r, m, "Type"));
	kj_add_str(p, "avd_id", kj_str(&r, m, "AVDID"));
	kj_add_str(p, "message", kj_str(&r, m, "Message"));
	kj_add_str(p, "resolution", kj_str(&r, m, "Resolution"));
	kj_add_str(p, "primary_url", kj_str(&r, m, "PrimaryURL"));
	st->pending = NULL;

	memset(&f, 0, sizeof(f));
	f.resource_uid = t->config_uid;
	f.kind = "misconfiguration";
	f.check_id = id;
	/* For a scanned file tree, the file is what is misconfigured; a Kubernetes object is its own target. */
	f.package = (t->k8s_object || target == NULL) ? "" : target;
	f.title = kj_str(&r, m, "Title");
	f.severity = kj_severity(kj_str(&r, m, "Severity"));
	f.cvss = -1;
	f.epss = -1;
	f.props_json = kj_text_put(&r, p, "the misconfiguration's properties");
	f.seen_at = st->seen;
	if (r.why != NULL)
	{
		trivy_reject(st, m, r.why);
		return;
	}
	ingest_finding(st->ctx, &f);
}

static void
trivy_secret(TrivyState *st, const TrivyTarget *t, json_object *res, json_object *s)
{
	KjRec		r = {NULL};
	const char *id;
	const char *target;
	int64		line;
	json_object *p;
	IngestFinding f;

	trivy_start(st, s);
	if (s == NULL || !json_object_is_type(s, json_type_object))
	{
		trivy_reject(st, s, "a secret entry is not an object");
		return;
	}
	id = kj_str(&r, s, "RuleID");
	if (id == NULL || *id == '\0')
		kj_bad(&r, "the secret has no RuleID");
	target = kj_str(&r, res, "Target");

	p = json_object_new_object();
	st->pending = p;
	kj_add_str(p, "target", target);
	kj_add_str(p, "category", kj_str(&r, s, "Category"));
	if (kj_int(&r, s, "StartLine", &line))
		kj_add_int(p, "start_line", line);
	if (kj_int(&r, s, "EndLine", &line))
		kj_add_int(p, "end_line", line);
	/* Trivy masks the secret in Match (*****); keep its masked form only. */
	kj_add_str(p, "match", kj_str(&r, s, "Match"));
	st->pending = NULL;

	memset(&f, 0, sizeof(f));
	f.resource_uid = t->vuln_uid;
	f.kind = "secret";
	f.check_id = id;
	f.package = target ? target : "";
	f.title = kj_str(&r, s, "Title");
	f.severity = kj_severity(kj_str(&r, s, "Severity"));
	f.cvss = -1;
	f.epss = -1;
	f.props_json = kj_text_put(&r, p, "the secret's properties");
	f.seen_at = st->seen;
	if (r.why != NULL)
	{
		trivy_reject(st, s, r.why);
		return;
	}
	ingest_finding(st->ctx, &f);
}

/* Every entry of a Results array; a malformed result is one reject. */
static void
trivy_results(TrivyState *st, const TrivyTarget *t, json_object *results)
{
	for (size_t i = 0; results && i < json_object_array_length(results); i++)
	{
		json_object *res = json_object_array_get_idx(results, i);
		KjRec		r = {NULL};
		json_object *vulns,
				   *miscs,
				   *secrets;
		MemoryContext old;

		CHECK_FOR_INTERRUPTS();
		if (res == NULL || !json_object_is_type(res, json_type_object))
		{
			trivy_start(st, res);
			trivy_reject(st, res, "a Results entry is not an object");
			continue;
		}
		/* Checked outside the record context, which starting the reject record resets. */
		old = MemoryContextSwitchTo(st->callctx);
		vulns = kj_arr(&r, res, "Vulnerabilities");
		miscs = kj_arr(&r, res, "Misconfigurations");
		secrets = kj_arr(&r, res, "Secrets");
		kj_str(&r, res, "Target");
		MemoryContextSwitchTo(old);
		if (r.why != NULL)
		{
			trivy_start(st, res);
			trivy_reject(st, res, r.why);
			continue;
		}
		for (size_t j = 0; vulns && j < json_object_array_length(vulns); j++)
		{
			CHECK_FOR_INTERRUPTS();
			trivy_vulnerability(st, t, res, json_object_array_get_idx(vulns, j));
		}
		for (size_t j = 0; miscs && j < json_object_array_length(miscs); j++)
		{
			CHECK_FOR_INTERRUPTS();
			trivy_misconfiguration(st, t, res, json_object_array_get_idx(miscs, j));
		}
		for (size_t j = 0; secrets && j < json_object_array_length(secrets); j++)
		{
			CHECK_FOR_INTERRUPTS();
			trivy_secret(st, t, res, json_object_array_get_idx(secrets, j));
		}
	}
}

/* A single-artifact report: image, filesystem, repository, VM, SBOM... */
static void
trivy_artifact_report(TrivyState *st, json_object *doc)
{
	KjRec		r = {NULL};
	int64		version;
	const char *type;
	const char *name;
	json_object *meta;
	json_object *results;
	char	   *uid = NULL;
	char	   *keep_uid;
	TrivyTarget t;
	MemoryContext old;

	trivy_start(st, doc);
	old = MemoryContextSwitchTo(st->recctx);
	if (kj_int(&r, doc, "SchemaVersion", &version) && version != 2)
		kj_bad(&r, "SchemaVersion %lld is not supported; this parser reads SchemaVersion 2",
			   (long long) version);
	st->seen = 0;
	kj_time(&r, doc, "CreatedAt", &st->seen);
	type = kj_str(&r, doc, "ArtifactType");
	name = kj_str(&r, doc, "ArtifactName");
	meta = kj_obj(&r, doc, "Metadata");
	results = kj_arr(&r, doc, "Results");

	if (r.why == NULL)
	{
		bool		image = type ? kj_eq(type, "container_image")
			: (kj_get(meta, "ImageID") != NULL || kj_get(meta, "RepoDigests") != NULL);

		if (image)
		{
			uid = trivy_emit_image(st, &r, meta, name, doc);
			if (uid == NULL)
				kj_bad(&r, "the report names no image: no usable Metadata.RepoDigests, Metadata.ImageID or ArtifactName");
		}
		else if (name == NULL || *name == '\0')
			kj_bad(&r, "the report has no ArtifactName");
		else
		{
			/* A repository is best named by its URL when Trivy recorded one. */
			const char *url = kj_str(&r, meta, "RepoURL");
			const char *why = NULL;
			json_object *p;
			IngestResource res;

			uid = uid_canonical_try(psprintf("artifact://%s/%s", type ? type : "unknown",
											 (url && *url) ? url : name), &why);
			if (uid == NULL)
				kj_bad(&r, "the artifact cannot be named: %s", why);
			p = json_object_new_object();
			st->pending = p;
			kj_add_str(p, "scanner", "trivy");
			kj_add_str(p, "scanner_version", kj_str(&r, kj_obj(&r, doc, "Trivy"), "Version"));
			kj_add_str(p, "artifact_type", type);
			kj_add_str(p, "artifact_name", name);
			kj_add_str(p, "repo_url", url);
			kj_add_str(p, "branch", kj_str(&r, meta, "Branch"));
			kj_add_str(p, "commit", kj_str(&r, meta, "Commit"));
			kj_add_ref(p, "os", kj_obj(&r, meta, "OS"));
			st->pending = NULL;
			memset(&res, 0, sizeof(res));
			res.uid = uid;
			res.kind = "artifact";
			res.name = name;
			res.props_json = kj_text_put(&r, p, "artifact properties");
			res.criticality = -1;
			res.seen_at = st->seen;
			if (r.why == NULL && uid != NULL)
				ingest_resource(st->ctx, &res);
		}
	}
	MemoryContextSwitchTo(old);
	if (r.why != NULL)
	{
		trivy_reject(st, doc, r.why);
		return;
	}

	/* The header's uid outlives the header record's memory. */
	keep_uid = pstrdup(uid);
	t.vuln_uid = keep_uid;
	t.config_uid = keep_uid;
	t.k8s_object = false;
	old = MemoryContextSwitchTo(st->recctx);
	trivy_results(st, &t, results);
	MemoryContextSwitchTo(old);
	pfree(keep_uid);
}

/* One entry of a cluster report's Resources: a Kubernetes object and its results. */
static void
trivy_cluster_resource(TrivyState *st, const char *cluster_given, json_object *res)
{
	KjRec		r = {NULL};
	const char *kind;
	const char *name;
	const char *ns;
	const K8sKind *kk;
	json_object *meta;
	json_object *results;
	char	   *obj_uid = NULL;
	char	   *img_uid = NULL;
	TrivyTarget t;
	MemoryContext old;

	trivy_start(st, res);
	old = MemoryContextSwitchTo(st->recctx);
	if (res == NULL || !json_object_is_type(res, json_type_object))
		kj_bad(&r, "a Resources entry is not an object");
	kind = kj_str(&r, res, "Kind");
	name = kj_str(&r, res, "Name");
	ns = kj_str(&r, res, "Namespace");
	meta = kj_obj(&r, res, "Metadata");
	results = kj_arr(&r, res, "Results");
	if (r.why == NULL && (kind == NULL || *kind == '\0' || name == NULL || *name == '\0'))
		kj_bad(&r, "the resource has no Kind or Name");
	if (r.why == NULL)
	{
		const char *why = NULL;
		IngestResource ir;

		kk = k8s_kind_lookup(kind);
		if (kk != NULL ? !kk->namespaced : (ns == NULL || *ns == '\0'))
			ns = NULL;
		else if (ns == NULL || *ns == '\0')
			ns = "default";
		obj_uid = uid_k8s_try(cluster_given, ns, kind, name, &why);
		if (obj_uid == NULL)
			kj_bad(&r, "cannot name the %s \"%s\": %s", KJ_SHOW(kind), KJ_SHOW(name), why);
		memset(&ir, 0, sizeof(ir));
		ir.uid = obj_uid;
		ir.kind = k8s_rkind(kind);
		ir.name = name;
		ir.cluster = k8s_cluster_name(cluster_given);
		ir.namespace = ns;
		ir.criticality = -1;
		ir.seen_at = st->seen;
		if (r.why == NULL)
			ingest_resource(st->ctx, &ir);
		/* A workload's image, when the report gives its digest. */
		if (r.why == NULL && meta != NULL &&
			(kj_get(meta, "ImageID") != NULL || kj_get(meta, "RepoDigests") != NULL))
		{
			img_uid = trivy_emit_image(st, &r, meta, NULL, res);
			if (img_uid != NULL && r.why == NULL)
				ingest_link(st->ctx, obj_uid, img_uid, "uses_image", 0, NULL);
		}
	}
	MemoryContextSwitchTo(old);
	if (r.why != NULL)
	{
		trivy_reject(st, res, r.why);
		return;
	}
	t.vuln_uid = pstrdup(img_uid ? img_uid : obj_uid);
	t.config_uid = pstrdup(obj_uid);
	t.k8s_object = true;
	old = MemoryContextSwitchTo(st->recctx);
	trivy_results(st, &t, results);
	MemoryContextSwitchTo(old);
	pfree((char *) t.vuln_uid);
	pfree((char *) t.config_uid);
}

static void
trivy_cluster_report(TrivyState *st, json_object *doc)
{
	KjRec		r = {NULL};
	const char *cluster;
	json_object *resources;
	char	   *cluster_given = NULL;

	cluster = kj_str(&r, doc, "ClusterName");
	resources = kj_arr(&r, doc, "Resources");
	if (r.why != NULL)
	{
		trivy_start(st, doc);
		trivy_reject(st, doc, r.why);
		return;
	}
	if (cluster != NULL && *cluster != '\0')
		cluster_given = pstrdup(cluster);
	st->seen = 0;
	for (size_t i = 0; resources && i < json_object_array_length(resources); i++)
	{
		CHECK_FOR_INTERRUPTS();
		trivy_cluster_resource(st, cluster_given, json_object_array_get_idx(resources, i));
	}
}

static void
trivy_release(TrivyState *st, json_object *doc)
{
	json_object_put(doc);
	if (st->pending != NULL)
		json_object_put(st->pending);
	st->pending = NULL;
}

/* Reads a parsed report; the report (and any half-built object) is released even on ERROR. */
static void
trivy_run(TrivyState *st, json_object *doc)
{
	PG_TRY();
	{
		if (json_object_is_type(doc, json_type_object) &&
			(kj_get(doc, "Resources") != NULL || kj_get(doc, "ClusterName") != NULL))
			trivy_cluster_report(st, doc);
		else if (json_object_is_type(doc, json_type_object))
			trivy_artifact_report(st, doc);
		else
		{
			trivy_start(st, doc);
			trivy_reject(st, doc,
						 json_object_is_type(doc, json_type_array)
						 ? "a bare array of results is Trivy's JSON before SchemaVersion 2, which names no artifact; use a current Trivy"
						 : "a Trivy report is a JSON object");
		}
	}
	PG_CATCH();
	{
		trivy_release(st, doc);
		PG_RE_THROW();
	}
	PG_END_TRY();
	trivy_release(st, doc);
}

/* The whole input is one report (Trivy writes one per run). */
void
fmt_trivy(IngestCtx *ctx, const char *payload, size_t len)
{
	TrivyState *st = palloc0(sizeof(TrivyState));
	json_object *doc;

	st->ctx = ctx;
	st->callctx = CurrentMemoryContext;
	st->recctx = AllocSetContextCreate(CurrentMemoryContext, "trivy record", ALLOCSET_DEFAULT_SIZES);
	doc = kj_parse_report(ctx, payload, len);
	if (doc != NULL)
		trivy_run(st, doc);
	MemoryContextDelete(st->recctx);
	pfree(st);
}
