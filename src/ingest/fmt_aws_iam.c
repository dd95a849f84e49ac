/*
 * fmt_aws_iam.c
 *		Parser for the aws_iam format: the JSON that
 *		`aws iam get-account-authorization-details` prints.
 *
 * The input is one document with up to four lists (UserDetailList,
 * GroupDetailList, RoleDetailList, Policies); other top-level keys (Marker,
 * IsTruncated) are ignored.  Every list element is one record, numbered from 1
 * in document order, and is either stored whole or rejected whole.
 *
 * Each user, group, role, managed policy and instance profile becomes a
 * resource named by its ARN.  Its props keep what the policy engine needs: the
 * policy documents themselves (inline policies, trust policy, every version of
 * a managed policy with the default one as "document"), attached policy ARNs,
 * group names, the permissions boundary.  Relationships: user -member_of->
 * group, principal -has_policy-> managed policy (props {"boundary": true} for
 * a permissions boundary), instance profile -assumes-> role.  A relationship's
 * target is also reported as a minimal resource in the same record, so a
 * record never depends on another one (an AWS managed policy left out of the
 * Policies list still gets its node).
 *
 * The AWS CLI prints policy documents as JSON objects; the raw API returns them
 * URL-encoded as strings.  Both are accepted: a string is percent-decoded
 * (unless it already starts with '{') and parsed.
 *
 * The whole document is parsed at once (bounded by
 * correlate.ingest_max_document_size) in a context of this call; per-record
 * scratch lives in the writer's record context.
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "ingest/json_util.h"
#include "ingest/pseudonym.h"
#include "model/uid.h"

typedef enum IamListKind
{
	IAM_USERS,
	IAM_GROUPS,
	IAM_ROLES,
	IAM_POLICIES
} IamListKind;

typedef struct IamParse
{
	IngestCtx  *ctx;
	struct json_object *doc;
	struct json_object *group_arns; /* GroupName -> Arn, from GroupDetailList */
	int64		recno;
} IamParse;

/* ---- small helpers ------------------------------------------------------------- */

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes s into a palloc'd string; NULL on a malformed escape or NUL. */
static char *
url_decode(const char *s, size_t len)
{
	char	   *out = palloc(len + 1);
	size_t		n = 0;

	for (size_t i = 0; i < len; i++)
	{
		if (s[i] == '%')
		{
			int			hi,
						lo;

			if (i + 2 >= len)
				return NULL;
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return NULL;
			out[n++] = (char) (hi * 16 + lo);
			i += 2;
		}
		else
			out[n++] = s[i];
	}
	out[n] = '\0';
	return out;
}

/*
 * The policy document in v (a JSON object, or a URL-encoded JSON string), or
 * NULL: with *why set when v is present but unusable, with *why NULL when v is
 * missing.  what names the document for the reason.  A decoded document is
 * owned by the current (record) context.
 */
static struct json_object *
policy_document(struct json_object *v, const char *what, const char **why)
{
	const char *s;
	size_t		len;
	const char *text;
	const char *perr;
	struct json_object *parsed;

	*why = NULL;
	if (v == NULL)
		return NULL;
	if (json_object_is_type(v, json_type_object))
		return v;
	if (!json_object_is_type(v, json_type_string))
	{
		*why = psprintf("%s is neither a JSON object nor a URL-encoded JSON string", what);
		return NULL;
	}
	s = json_object_get_string(v);
	len = (size_t) json_object_get_string_len(v);
	while (len > 0 && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
		s++, len--;
	if (len > 0 && *s == '{')
		text = pnstrdup(s, len);
	else if ((text = url_decode(s, len)) == NULL)
	{
		*why = psprintf("%s is a string with a malformed URL escape", what);
		return NULL;
	}
	parsed = ju_parse(text, strlen(text), &perr);
	if (parsed == NULL)
	{
		*why = psprintf("%s is not valid JSON once URL-decoded: %s", what, perr);
		return NULL;
	}
	ju_guard(parsed);
	if (!json_object_is_type(parsed, json_type_object))
	{
		*why = psprintf("%s is not a JSON object", what);
		return NULL;
	}
	return parsed;
}

/* Adds key: string (skipped when s is NULL). */
static void
add_str(struct json_object *o, const char *key, const char *s)
{
	if (s != NULL)
		json_object_object_add(o, key, json_object_new_string(s));
}

/* Adds key: v, sharing v (skipped when v is NULL). */
static void
add_shared(struct json_object *o, const char *key, struct json_object *v)
{
	if (v != NULL)
		json_object_object_add(o, key, json_object_get(v));
}

/* The account part of an ARN, palloc'd, or NULL. */
static char *
arn_account(const char *arn)
{
	const char *p = arn;

	for (int i = 0; i < 4; i++)
	{
		p = strchr(p, ':');
		if (p == NULL)
			return NULL;
		p++;
	}
	{
		const char *end = strchr(p, ':');

		if (end == NULL || end == p)
			return NULL;
		return pnstrdup(p, end - p);
	}
}

/* Tags [{"Key":..,"Value":..}] as a labels object text, or NULL. */
static char *
tags_json(struct json_object *entry)
{
	struct json_object *tags = ju_get(entry, "Tags");
	struct json_object *labels;
	size_t		n;

	if (tags == NULL || !json_object_is_type(tags, json_type_array) ||
		(n = json_object_array_length(tags)) == 0)
		return NULL;
	labels = json_object_new_object();
	ju_guard(labels);
	for (size_t i = 0; i < n; i++)
	{
		struct json_object *t = json_object_array_get_idx(tags, i);
		const char *k = ju_str(t, "Key");
		const char *v = ju_str_any(t, "Value");

		if (k != NULL)
			json_object_object_add(labels, k, json_object_new_string(v ? v : ""));
	}
	return ju_to_text(labels);
}

/* The canonical uid of an entry's Arn, or NULL with *why. */
static char *
entry_uid(struct json_object *entry, const char **why)
{
	const char *arn = ju_str(entry, "Arn");
	const char *uwhy;
	char	   *uid;

	if (arn == NULL)
	{
		*why = "it has no \"Arn\" string";
		return NULL;
	}
	uid = uid_arn_try(arn, &uwhy);
	if (uid == NULL)
		*why = psprintf("its Arn \"%s\" is not accepted because %s", arn, uwhy);
	return uid;
}

/* Reports the principal, policy or instance profile itself, with its props. */
static bool
report_resource(IamParse *ps, struct json_object *entry, const char *uid, const char *kind,
				const char *name_key, struct json_object *props, const char **why)
{
	const char *props_text = ju_to_text(props);
	IngestResource r;

	if (props_text == NULL)
	{
		*why = "its documents contain text that cannot be stored as jsonb (\\u0000 or an unpaired surrogate)";
		return false;
	}
	ingest_resource_init(&r);
	r.uid = uid;
	r.kind = kind;
	r.name = ju_str(entry, name_key);
	r.account = arn_account(uid);
	r.props_json = props_text;
	r.labels_json = tags_json(entry);
	ingest_resource(ps->ctx, &r);
	return true;
}

/* Reports a minimal resource for a relationship's target. */
static bool
report_stub(IamParse *ps, const char *arn, const char *kind, const char *name, char **uid_out, const char **why)
{
	const char *uwhy;
	char	   *uid = uid_arn_try(arn, &uwhy);
	IngestResource r;

	if (uid == NULL)
	{
		*why = psprintf("it refers to \"%s\", which is not accepted because %s", arn, uwhy);
		return false;
	}
	ingest_resource_init(&r);
	r.uid = uid;
	r.kind = kind;
	r.name = name;
	r.account = arn_account(uid);
	ingest_resource(ps->ctx, &r);
	*uid_out = uid;
	return true;
}

/*
 * Collects AttachedManagedPolicies into props ("managed_policies": [arn...])
 * and reports principal -has_policy-> policy for each.
 */
static bool
attach_managed(IamParse *ps, struct json_object *entry, struct json_object *props,
			   const char *principal_uid, const char **why)
{
	struct json_object *list = ju_get(entry, "AttachedManagedPolicies");
	struct json_object *arns;
	struct json_object *boundary;
	size_t		n;

	if (list != NULL)
	{
		if (!json_object_is_type(list, json_type_array))
		{
			*why = "\"AttachedManagedPolicies\" is not an array";
			return false;
		}
		n = json_object_array_length(list);
		arns = json_object_new_array();
		json_object_object_add(props, "managed_policies", arns);
		for (size_t i = 0; i < n; i++)
		{
			struct json_object *a = json_object_array_get_idx(list, i);
			const char *arn = ju_str(a, "PolicyArn");
			char	   *uid;

			if (arn == NULL)
			{
				*why = psprintf("attached policy %zu has no \"PolicyArn\" string", i + 1);
				return false;
			}
			if (!report_stub(ps, arn, "aws:iam:policy", ju_str(a, "PolicyName"), &uid, why))
				return false;
			json_object_array_add(arns, json_object_new_string(uid));
			ingest_link(ps->ctx, principal_uid, uid, "has_policy", 0, "{\"managed\": true}");
		}
	}

	boundary = ju_get(entry, "PermissionsBoundary");
	if (boundary != NULL)
	{
		const char *arn = ju_str(boundary, "PermissionsBoundaryArn");
		char	   *uid;

		if (arn == NULL)
		{
			*why = "\"PermissionsBoundary\" has no \"PermissionsBoundaryArn\" string";
			return false;
		}
		if (!report_stub(ps, arn, "aws:iam:policy", NULL, &uid, why))
			return false;
		json_object_object_add(props, "permissions_boundary", json_object_new_string(uid));
		ingest_link(ps->ctx, principal_uid, uid, "has_policy", 0, "{\"boundary\": true}");
	}
	return true;
}

/* Inline policies (key UserPolicyList / GroupPolicyList / RolePolicyList) into props. */
static bool
inline_policies(struct json_object *entry, const char *key, struct json_object *props, const char **why)
{
	struct json_object *list = ju_get(entry, key);
	struct json_object *out;
	size_t		n;

	if (list == NULL)
		return true;
	if (!json_object_is_type(list, json_type_array))
	{
		*why = psprintf("\"%s\" is not an array", key);
		return false;
	}
	n = json_object_array_length(list);
	out = json_object_new_array();
	json_object_object_add(props, "inline_policies", out);
	for (size_t i = 0; i < n; i++)
	{
		struct json_object *p = json_object_array_get_idx(list, i);
		const char *name = ju_str(p, "PolicyName");
		struct json_object *doc;
		struct json_object *item;

		if (name == NULL)
		{
			*why = psprintf("inline policy %zu has no \"PolicyName\" string", i + 1);
			return false;
		}
		doc = policy_document(ju_get(p, "PolicyDocument"),
							  psprintf("the document of inline policy \"%s\"", name), why);
		if (doc == NULL)
		{
			if (*why == NULL)
				*why = psprintf("inline policy \"%s\" has no \"PolicyDocument\"", name);
			return false;
		}
		item = json_object_new_object();
		add_str(item, "name", name);
		add_shared(item, "document", doc);
		json_object_array_add(out, item);
	}
	return true;
}

/* Common fields: Path, the id, CreateDate. */
static struct json_object *
new_props(struct json_object *entry, const char *id_key, const char *id_name)
{
	struct json_object *props = json_object_new_object();

	ju_guard(props);
	add_str(props, "path", ju_str(entry, "Path"));
	add_str(props, id_name, ju_str(entry, id_key));
	add_str(props, "created", ju_str(entry, "CreateDate"));
	return props;
}

/* ---- one record per list element ----------------------------------------------- */

static bool
handle_user(IamParse *ps, struct json_object *e, const char **why)
{
	struct json_object *props = new_props(e, "UserId", "user_id");
	struct json_object *groups = ju_get(e, "GroupList");
	char	   *uid;
	char	   *account;

	if ((uid = entry_uid(e, why)) == NULL)
		return false;
	if (!inline_policies(e, "UserPolicyList", props, why) ||
		!attach_managed(ps, e, props, uid, why))
		return false;
	if (groups != NULL && !json_object_is_type(groups, json_type_array))
	{
		*why = "\"GroupList\" is not an array";
		return false;
	}
	add_shared(props, "groups", groups);

	account = arn_account(uid);
	if (groups != NULL)
	{
		size_t		n = json_object_array_length(groups);

		for (size_t i = 0; i < n; i++)
		{
			const char *gname = ju_cstr(json_object_array_get_idx(groups, i));
			struct json_object *known;
			const char *garn;
			char	   *guid;

			if (gname == NULL)
			{
				*why = psprintf("group %zu of \"GroupList\" is not a non-empty string", i + 1);
				return false;
			}
			/* The group's ARN carries its path; take it from GroupDetailList when listed. */
			if (json_object_object_get_ex(ps->group_arns, gname, &known))
				garn = json_object_get_string(known);
			else
				garn = psprintf("arn:aws:iam::%s:group/%s", account ? account : "", gname);
			if (!report_stub(ps, garn, "aws:iam:group", gname, &guid, why))
				return false;
			ingest_link(ps->ctx, uid, guid, "member_of", 0, NULL);
		}
	}
	return report_resource(ps, e, uid, "aws:iam:user", "UserName", props, why);
}

static bool
handle_group(IamParse *ps, struct json_object *e, const char **why)
{
	struct json_object *props = new_props(e, "GroupId", "group_id");
	char	   *uid;

	if ((uid = entry_uid(e, why)) == NULL)
		return false;
	if (!inline_policies(e, "GroupPolicyList", props, why) ||
		!attach_managed(ps, e, props, uid, why))
		return false;
	return report_resource(ps, e, uid, "aws:iam:group", "GroupName", props, why);
}

static bool
handle_role(IamParse *ps, struct json_object *e, const char **why)
{
	struct json_object *props = new_props(e, "RoleId", "role_id");
	struct json_object *trust;
	struct json_object *profiles = ju_get(e, "InstanceProfileList");
	char	   *uid;

	if ((uid = entry_uid(e, why)) == NULL)
		return false;
	trust = policy_document(ju_get(e, "AssumeRolePolicyDocument"), "the trust policy", why);
	if (trust == NULL && *why != NULL)
		return false;
	add_shared(props, "trust_policy", trust);
	if (!inline_policies(e, "RolePolicyList", props, why) ||
		!attach_managed(ps, e, props, uid, why))
		return false;
	add_shared(props, "last_used", ju_get(e, "RoleLastUsed"));
	add_shared(props, "max_session_duration", ju_get(e, "MaxSessionDuration"));
	add_str(props, "description", ju_str(e, "Description"));

	if (profiles != NULL)
	{
		struct json_object *profile_arns;
		size_t		n;

		if (!json_object_is_type(profiles, json_type_array))
		{
			*why = "\"InstanceProfileList\" is not an array";
			return false;
		}
		n = json_object_array_length(profiles);
		profile_arns = json_object_new_array();
		json_object_object_add(props, "instance_profiles", profile_arns);
		for (size_t i = 0; i < n; i++)
		{
			struct json_object *ip = json_object_array_get_idx(profiles, i);
			struct json_object *ipprops;
			char	   *ipuid;

			if (!json_object_is_type(ip, json_type_object))
			{
				*why = psprintf("instance profile %zu is not an object", i + 1);
				return false;
			}
			ipprops = new_props(ip, "InstanceProfileId", "instance_profile_id");
			if ((ipuid = entry_uid(ip, why)) == NULL ||
				!report_resource(ps, ip, ipuid, "aws:iam:instance-profile", "InstanceProfileName",
								 ipprops, why))
			{
				*why = psprintf("instance profile %zu: %s", i + 1, *why);
				return false;
			}
			json_object_array_add(profile_arns, json_object_new_string(ipuid));
			ingest_link(ps->ctx, ipuid, uid, "assumes", 0, "{\"via\": \"instance_profile\"}");
		}
	}
	return report_resource(ps, e, uid, "aws:iam:role", "RoleName", props, why);
}

static bool
handle_policy(IamParse *ps, struct json_object *e, const char **why)
{
	struct json_object *props = new_props(e, "PolicyId", "policy_id");
	struct json_object *versions = ju_get(e, "PolicyVersionList");
	struct json_object *others;
	const char *default_id = ju_str(e, "DefaultVersionId");
	struct json_object *default_doc = NULL;
	char	   *uid;

	add_str(props, "updated", ju_str(e, "UpdateDate"));
	add_str(props, "default_version", default_id);
	add_shared(props, "attachment_count", ju_get(e, "AttachmentCount"));
	add_shared(props, "permissions_boundary_usage_count", ju_get(e, "PermissionsBoundaryUsageCount"));
	add_shared(props, "is_attachable", ju_get(e, "IsAttachable"));
	add_str(props, "description", ju_str(e, "Description"));

	if (versions != NULL && !json_object_is_type(versions, json_type_array))
	{
		*why = "\"PolicyVersionList\" is not an array";
		return false;
	}
	others = json_object_new_array();
	json_object_object_add(props, "other_versions", others);
	if (versions != NULL)
	{
		size_t		n = json_object_array_length(versions);

		for (size_t i = 0; i < n; i++)
		{
			struct json_object *v = json_object_array_get_idx(versions, i);
			const char *vid = ju_str(v, "VersionId");
			struct json_object *isdef = ju_get(v, "IsDefaultVersion");
			bool		is_default;
			struct json_object *doc;

			doc = policy_document(ju_get(v, "Document"),
								  psprintf("the document of version %s", vid ? vid : "(unnamed)"), why);
			if (doc == NULL)
			{
				if (*why == NULL)
					*why = psprintf("policy version %zu has no \"Document\"", i + 1);
				return false;
			}
			is_default = (isdef != NULL && json_object_is_type(isdef, json_type_boolean))
				? json_object_get_boolean(isdef)
				: (vid != NULL && default_id != NULL && strcmp(vid, default_id) == 0);
			if (is_default && default_doc == NULL)
			{
				default_doc = doc;
				if (default_id == NULL)
					add_str(props, "default_version", vid);
			}
			else
			{
				struct json_object *item = json_object_new_object();

				add_str(item, "version", vid);
				add_str(item, "created", ju_str(v, "CreateDate"));
				add_shared(item, "document", doc);
				json_object_array_add(others, item);
			}
		}
	}
	add_shared(props, "document", default_doc);
	if ((uid = entry_uid(e, why)) == NULL)
		return false;
	return report_resource(ps, e, uid, "aws:iam:policy", "PolicyName", props, why);
}

/* ---- driver ---------------------------------------------------------------------- */

static void
handle_list(IamParse *ps, const char *key, struct json_object *list, IamListKind kind)
{
	MemoryContext old;
	size_t		n;

	if (!json_object_is_type(list, json_type_array))
	{
		const char *raw = ju_serialize(list);

		ps->recno++;
		ingest_record_begin(ps->ctx, ps->recno, raw, strlen(raw));
		ingest_reject(ps->ctx, ps->recno, raw, strlen(raw),
					  psprintf("\"%s\" is not an array", key));
		return;
	}
	n = json_object_array_length(list);
	for (size_t i = 0; i < n; i++)
	{
		struct json_object *e = json_object_array_get_idx(list, i);
		const char *raw = ju_serialize(e);
		size_t		rawlen = strlen(raw);
		const char *why = NULL;
		bool		ok;

		ps->recno++;
		ingest_record_begin(ps->ctx, ps->recno, raw, rawlen);
		old = MemoryContextSwitchTo(ingest_record_context(ps->ctx));
		if (!json_object_is_type(e, json_type_object))
		{
			ok = false;
			why = psprintf("an element of \"%s\" is not a JSON object", key);
		}
		else
		{
			switch (kind)
			{
				case IAM_USERS:
					ok = handle_user(ps, e, &why);
					break;
				case IAM_GROUPS:
					ok = handle_group(ps, e, &why);
					break;
				case IAM_ROLES:
					ok = handle_role(ps, e, &why);
					break;
				default:
					ok = handle_policy(ps, e, &why);
					break;
			}
		}
		if (!ok)
		{
			const char *name = ju_str(e, "Arn");

			ingest_reject(ps->ctx, ps->recno, ingest_record_raw(ps->ctx), rawlen,
						  (name && strstr(why, name) == NULL) ? psprintf("%s (%s)", why, name) : why);
		}
		MemoryContextSwitchTo(old);
	}
}

void
fmt_aws_iam(IngestCtx *ctx, const char *payload, size_t len)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "aws_iam document",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	IamParse	ps;
	const char *why;
	struct json_object *groups;

	memset(&ps, 0, sizeof(ps));
	ps.ctx = ctx;
	ps.doc = ju_parse(payload, len, &why);
	if (ps.doc == NULL || !json_object_is_type(ps.doc, json_type_object))
	{
		if (ps.doc != NULL)
		{
			json_object_put(ps.doc);
			why = "it is not a JSON object";
		}
		ingest_record_begin(ctx, 1, payload, len);
		ingest_reject(ctx, 1, payload, len,
					  psprintf("the input is not an IAM authorization details document: %s", why));
		MemoryContextSwitchTo(old);
		MemoryContextDelete(cxt);
		return;
	}
	ju_guard(ps.doc);
	pseudo_json(ctx, ps.doc);
	if (ju_get(ps.doc, "UserDetailList") == NULL && ju_get(ps.doc, "GroupDetailList") == NULL &&
		ju_get(ps.doc, "RoleDetailList") == NULL && ju_get(ps.doc, "Policies") == NULL)
	{
		ingest_record_begin(ctx, 1, payload, len);
		ingest_reject(ctx, 1, payload, len,
					  "the input is not an IAM authorization details document: it has none of "
					  "UserDetailList, GroupDetailList, RoleDetailList and Policies");
		MemoryContextSwitchTo(old);
		MemoryContextDelete(cxt);
		return;
	}

	/* GroupList names groups without their path: find each group's ARN first. */
	ps.group_arns = json_object_new_object();
	ju_guard(ps.group_arns);
	groups = ju_get(ps.doc, "GroupDetailList");
	if (groups != NULL && json_object_is_type(groups, json_type_array))
	{
		size_t		n = json_object_array_length(groups);

		for (size_t i = 0; i < n; i++)
		{
			struct json_object *g = json_object_array_get_idx(groups, i);
			const char *name = ju_str(g, "GroupName");
			const char *arn = ju_str(g, "Arn");

			if (name != NULL && arn != NULL)
				json_object_object_add(ps.group_arns, name, json_object_new_string(arn));
		}
	}

	{
		json_object_object_foreach(ps.doc, key, val)
		{
			if (val == NULL || json_object_is_type(val, json_type_null))
				continue;
			if (strcmp(key, "UserDetailList") == 0)
				handle_list(&ps, key, val, IAM_USERS);
			else if (strcmp(key, "GroupDetailList") == 0)
				handle_list(&ps, key, val, IAM_GROUPS);
			else if (strcmp(key, "RoleDetailList") == 0)
				handle_list(&ps, key, val, IAM_ROLES);
			else if (strcmp(key, "Policies") == 0)
				handle_list(&ps, key, val, IAM_POLICIES);
		}
	}

	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
}
