/*
 * fmt_grype.c
 *		Parser for the grype format: Grype's JSON report (`grype -o json`):
 *		matches[], source, distro, descriptor.
 *
 * The scanned source becomes a resource the way fmt_trivy.c names them: an
 * image by digest (source.target.repoDigests, then a digest in userInput,
 * then manifestDigest, then imageID, then the tag), anything else as
 * artifact://TYPE/TARGET.  Each match is one record and one vulnerability
 * finding.  Grype often reports a distribution or GitHub advisory whose
 * CVE is in relatedVulnerabilities; the finding is keyed by that CVE when
 * there is exactly one, so Trivy and Grype findings of the same flaw
 * coincide.  CVSS prefers NVD's v3 score, then the vendor's; EPSS and the
 * CISA KEV flag (knownExploited) come from newer Grype versions when present.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/memutils.h"

#include "ingest/ingest.h"
#include "ingest/json_util.h"
#include "ingest/k8s_json.h"
#include "model/uid.h"

typedef struct GrypeState
{
	IngestCtx  *ctx;
	int64		recno;
	MemoryContext recctx;
	TimestampTz seen;
	json_object *pending;
} GrypeState;

/* Starts the next record, whose source text is o's JSON. */
static void
grype_start(GrypeState *st, json_object *o)
{
	size_t		rawlen;
	char	   *raw;

	MemoryContextReset(st->recctx);
	raw = kj_raw(o, &rawlen);
	st->recno++;
	ingest_record_begin(st->ctx, st->recno, raw, rawlen);
}

static void
grype_reject(GrypeState *st, json_object *o, const char *why)
{
	const char *raw = ingest_record_raw(st->ctx);

	(void) o;
	ingest_reject(st->ctx, st->recno, raw, raw ? strlen(raw) : 0, why);
}

/* The uid of an image source's target object, or NULL. */
static char *
grype_image_uid(KjRec *r, json_object *target)
{
	json_object *digests = kj_arr(r, target, "repoDigests");
	const char *input = kj_str(r, target, "userInput");
	const char *manifest = kj_str(r, target, "manifestDigest");
	const char *image_id = kj_str(r, target, "imageID");
	const char *why = NULL;
	char	   *uid;

	for (size_t i = 0; digests && i < json_object_array_length(digests); i++)
	{
		const char *d = kj_strval(r, json_object_array_get_idx(digests, i), "repoDigests[]");

		if (d != NULL && *d != '\0' && (uid = uid_image_try(d, &why)) != NULL)
			return uid;
	}
	if (input != NULL && strstr(input, "@sha256:") != NULL && (uid = uid_image_try(input, &why)) != NULL)
		return uid;
	if (manifest != NULL && *manifest != '\0' && (uid = uid_image_try(manifest, &why)) != NULL)
		return uid;
	if (image_id != NULL && *image_id != '\0' && (uid = uid_image_try(image_id, &why)) != NULL)
		return uid;
	if (input != NULL && *input != '\0' && (uid = uid_image_try(input, &why)) != NULL)
		return uid;
	return NULL;
}

/* The report header: emits the scanned source and returns its uid, or NULL with r->why. */
/*
 * The text of a half-built props object, then the object released.  The object
 * stays in st->pending while it is serialised, so an ERROR there releases it too.
 */
static char *
grype_props_text(GrypeState *st, KjRec *r, json_object *p, const char *what)
{
	char	   *s = kj_text(r, p, what);

	st->pending = NULL;
	json_object_put(p);
	return s;
}

static char *
grype_source(GrypeState *st, KjRec *r, json_object *doc)
{
	json_object *src = kj_obj(r, doc, "source");
	const char *type = kj_str(r, src, "type");
	json_object *tobj = kj_get(src, "target");
	json_object *desc = kj_obj(r, doc, "descriptor");
	json_object *p;
	IngestResource res;
	char	   *uid = NULL;
	const char *name = NULL;
	const char *kind;

	if (r->why != NULL)
		return NULL;
	if (src == NULL || type == NULL || tobj == NULL)
	{
		kj_bad(r, "the report has no source with a type and a target");
		return NULL;
	}
	p = json_object_new_object();
	st->pending = p;
	kj_add_str(p, "scanner", "grype");
	kj_add_str(p, "scanner_version", kj_str(r, desc, "version"));
	kj_add_str(p, "source_type", type);
	kj_add_ref(p, "distro", kj_obj(r, doc, "distro"));
	if (kj_eq(type, "image") && json_object_is_type(tobj, json_type_object))
	{
		uid = grype_image_uid(r, tobj);
		name = kj_str(r, tobj, "userInput");
		kj_add_str(p, "user_input", name);
		kj_add_str(p, "image_id", kj_str(r, tobj, "imageID"));
		kj_add_str(p, "manifest_digest", kj_str(r, tobj, "manifestDigest"));
		kj_add_ref(p, "repo_digests", kj_arr(r, tobj, "repoDigests"));
		kj_add_ref(p, "tags", kj_arr(r, tobj, "tags"));
		kind = "container:image";
		if (uid == NULL && r->why == NULL)
			kj_bad(r, "the image source names no usable digest or reference");
	}
	else
	{
		const char *why = NULL;

		name = kj_strval(r, tobj, "source.target");
		if (name == NULL && json_object_is_type(tobj, json_type_object))
			name = kj_str(r, tobj, "userInput");
		if (name == NULL || *name == '\0')
			kj_bad(r, "the %s source has no target", KJ_SHOW(type));
		else if ((uid = uid_canonical_try(psprintf("artifact://%s/%s", type, name), &why)) == NULL)
			kj_bad(r, "the source cannot be named: %s", why);
		kj_add_str(p, "target", name);
		kind = "artifact";
	}
	memset(&res, 0, sizeof(res));
	res.uid = uid;
	res.kind = kind;
	res.name = name;
	res.props_json = grype_props_text(st, r, p, "source properties");
	res.criticality = -1;
	res.seen_at = st->seen;
	if (r->why != NULL || uid == NULL)
		return NULL;
	ingest_resource(st->ctx, &res);
	return uid;
}

/* Whether a CVSS entry comes from NVD. */
static bool
grype_is_nvd(KjRec *r, json_object *c, const char *ns)
{
	const char *source = kj_str(r, c, "source");

	return (source != NULL && strstr(source, "nvd") != NULL) ||
		(ns != NULL && strncmp(ns, "nvd", 3) == 0);
}

/*
 * Picks a CVSS base score from a cvss[] array: with want_nvd, only NVD's;
 * with major, only that CVSS major version.  -1 when none.
 */
static double
grype_pick(KjRec *r, json_object *list, const char *ns, int want_nvd, char major, const char **vector)
{
	for (size_t i = 0; list && i < json_object_array_length(list); i++)
	{
		json_object *c = json_object_array_get_idx(list, i);
		const char *ver = kj_str(r, c, "version");
		double		score;

		if (ver == NULL || ver[0] != major)
			continue;
		if (want_nvd >= 0 && grype_is_nvd(r, c, ns) != (want_nvd == 1))
			continue;
		if (kj_num(r, kj_obj(r, c, "metrics"), "baseScore", &score))
		{
			*vector = kj_str(r, c, "vector");
			return score;
		}
	}
	return -1;
}

/* NVD v3 (in the vulnerability or a related record), vendor v3, then v2 the same way. */
static double
grype_cvss(KjRec *r, json_object *vuln, json_object *related, const char **vector)
{
	const char *ns = kj_str(r, vuln, "namespace");
	json_object *cvss = kj_arr(r, vuln, "cvss");
	const char	majors[] = {'3', '2'};
	double		s;

	*vector = NULL;
	for (size_t m = 0; m < lengthof(majors); m++)
	{
		if ((s = grype_pick(r, cvss, ns, 1, majors[m], vector)) >= 0)
			return s;
		for (size_t i = 0; related && i < json_object_array_length(related); i++)
		{
			json_object *rv = json_object_array_get_idx(related, i);

			if ((s = grype_pick(r, kj_arr(r, rv, "cvss"), kj_str(r, rv, "namespace"), 1, majors[m], vector)) >= 0)
				return s;
		}
		if ((s = grype_pick(r, cvss, ns, -1, majors[m], vector)) >= 0)
			return s;
		for (size_t i = 0; related && i < json_object_array_length(related); i++)
		{
			json_object *rv = json_object_array_get_idx(related, i);

			if ((s = grype_pick(r, kj_arr(r, rv, "cvss"), kj_str(r, rv, "namespace"), -1, majors[m], vector)) >= 0)
				return s;
		}
	}
	return -1;
}

/* The EPSS probability given for cve, or -1. */
static double
grype_epss(KjRec *r, json_object *vuln, const char *cve)
{
	json_object *list = kj_arr(r, vuln, "epss");
	double		e;

	for (size_t i = 0; list && i < json_object_array_length(list); i++)
	{
		json_object *x = json_object_array_get_idx(list, i);
		const char *c = kj_str(r, x, "cve");

		if ((c == NULL || kj_eq(c, cve)) && kj_num(r, x, "epss", &e))
			return e;
	}
	return -1;
}

static bool
grype_kev(KjRec *r, json_object *v)
{
	json_object *k = kj_arr(r, v, "knownExploited");

	return k != NULL && json_object_array_length(k) > 0;
}

static void
grype_match(GrypeState *st, const char *target_uid, json_object *m)
{
	KjRec		r = {NULL};
	json_object *vuln;
	json_object *related;
	json_object *art;
	json_object *fix;
	json_object *fixv;
	json_object *aliases = NULL;
	json_object *p;
	const char *id;
	const char *check;
	const char *cve = NULL;
	int			ncve = 0;
	const char *vector;
	bool		kev;
	IngestFinding f;

	grype_start(st, m);
	if (m == NULL || !json_object_is_type(m, json_type_object))
	{
		grype_reject(st, m, "a match is not an object");
		return;
	}
	vuln = kj_obj(&r, m, "vulnerability");
	related = kj_arr(&r, m, "relatedVulnerabilities");
	art = kj_obj(&r, m, "artifact");
	id = kj_str(&r, vuln, "id");
	if (r.why == NULL && (id == NULL || *id == '\0'))
		kj_bad(&r, "the match has no vulnerability.id");
	if (r.why == NULL && art == NULL)
		kj_bad(&r, "the match has no artifact");
	if (r.why != NULL)
	{
		grype_reject(st, m, r.why);
		return;
	}

	/*
	 * The finding's props, held by st->pending from here on so that an ERROR
	 * below (out of memory in palloc, say) releases them with the report.
	 */
	p = json_object_new_object();
	st->pending = p;

	/* An advisory with exactly one related CVE is recorded under the CVE. */
	kev = grype_kev(&r, vuln);
	for (size_t i = 0; related && i < json_object_array_length(related); i++)
	{
		json_object *rv = json_object_array_get_idx(related, i);
		const char *rid = kj_str(&r, rv, "id");

		if (rid == NULL)
			continue;
		if (aliases == NULL)
		{
			aliases = json_object_new_array();
			json_object_object_add(p, "aliases", aliases);
		}
		json_object_array_add(aliases, json_object_new_string(rid));
		if (pg_strncasecmp(rid, "CVE-", 4) == 0 && !kj_eq(rid, cve))
		{
			cve = rid;
			ncve++;
		}
		kev = kev || grype_kev(&r, rv);
	}
	check = id;
	if (pg_strncasecmp(id, "CVE-", 4) != 0 && ncve == 1)
		check = cve;

	fix = kj_obj(&r, vuln, "fix");
	fixv = kj_arr(&r, fix, "versions");

	if (check != id)
		kj_add_str(p, "advisory", id);
	kj_add_str(p, "namespace", kj_str(&r, vuln, "namespace"));
	kj_add_str(p, "data_source", kj_str(&r, vuln, "dataSource"));
	kj_add_str(p, "fix_state", kj_str(&r, fix, "state"));
	kj_add_str(p, "artifact_type", kj_str(&r, art, "type"));
	kj_add_str(p, "purl", kj_str(&r, art, "purl"));
	{
		json_object *locs = kj_arr(&r, art, "locations");
		json_object *l0 = locs && json_object_array_length(locs) > 0 ? json_object_array_get_idx(locs, 0) : NULL;

		kj_add_str(p, "path", kj_str(&r, l0, "path"));
	}

	memset(&f, 0, sizeof(f));
	f.resource_uid = target_uid;
	f.kind = "vulnerability";
	f.check_id = check;
	f.package = kj_str(&r, art, "name");
	if (f.package == NULL)
		f.package = "";
	f.severity = kj_severity(kj_str(&r, vuln, "severity"));
	f.cvss = grype_cvss(&r, vuln, related, &vector);
	if (vector != NULL)
		kj_add_str(p, "cvss_vector", vector);
	f.epss = grype_epss(&r, vuln, pg_strncasecmp(check, "CVE-", 4) == 0 ? check : NULL);
	f.known_exploited = kev;
	f.installed_version = kj_str(&r, art, "version");
	if (fixv != NULL && json_object_array_length(fixv) > 0 && !kj_eq(kj_str(&r, fix, "state"), "not-fixed"))
		f.fixed_version = kj_strval(&r, json_object_array_get_idx(fixv, 0), "fix.versions[]");
	f.title = kj_clip(kj_str(&r, vuln, "description"), 500);
	if (f.cvss > 10 || (f.cvss < 0 && f.cvss != -1))
		kj_bad(&r, "the CVSS score %g is outside [0,10]", f.cvss);
	if (f.epss > 1 || (f.epss < 0 && f.epss != -1))
		kj_bad(&r, "the EPSS probability %g is outside [0,1]", f.epss);
	f.props_json = grype_props_text(st, &r, p, "the match's properties");
	f.seen_at = st->seen;
	if (r.why != NULL)
	{
		grype_reject(st, m, r.why);
		return;
	}
	ingest_finding(st->ctx, &f);
}

static void
grype_report(GrypeState *st, json_object *doc)
{
	KjRec		r = {NULL};
	json_object *matches;
	char	   *uid;
	MemoryContext old;

	grype_start(st, doc);
	old = MemoryContextSwitchTo(st->recctx);
	st->seen = 0;
	if (!json_object_is_type(doc, json_type_object))
		kj_bad(&r, "a Grype report is a JSON object");
	matches = kj_arr(&r, doc, "matches");
	kj_time(&r, kj_obj(&r, doc, "descriptor"), "timestamp", &st->seen);
	uid = grype_source(st, &r, doc);
	MemoryContextSwitchTo(old);
	if (r.why != NULL || uid == NULL)
	{
		grype_reject(st, doc, r.why ? r.why : "the report names no source");
		return;
	}
	uid = pstrdup(uid);
	old = MemoryContextSwitchTo(st->recctx);
	for (size_t i = 0; matches && i < json_object_array_length(matches); i++)
	{
		CHECK_FOR_INTERRUPTS();
		grype_match(st, uid, json_object_array_get_idx(matches, i));
	}
	MemoryContextSwitchTo(old);
	pfree(uid);
}

static void
grype_release(GrypeState *st, json_object *doc)
{
	json_object_put(doc);
	if (st->pending != NULL)
		json_object_put(st->pending);
	st->pending = NULL;
}

/* Reads a parsed report; the report (and any half-built object) is released even on ERROR. */
static void
grype_run(GrypeState *st, json_object *doc)
{
	PG_TRY();
	{
		grype_report(st, doc);
	}
	PG_CATCH();
	{
		grype_release(st, doc);
		PG_RE_THROW();
	}
	PG_END_TRY();
	grype_release(st, doc);
}

/* The whole input is one report (Grype writes one per run). */
void
fmt_grype(IngestCtx *ctx, const char *payload, size_t len)
{
	GrypeState *st = palloc0(sizeof(GrypeState));
	json_object *doc;

	st->ctx = ctx;
	st->recctx = AllocSetContextCreate(CurrentMemoryContext, "grype record", ALLOCSET_DEFAULT_SIZES);
	doc = kj_parse_report(ctx, payload, len);
	if (doc != NULL)
		grype_run(st, doc);
	MemoryContextDelete(st->recctx);
	pfree(st);
}
