/*
 * pseudonym_json.c
 *		Applies a tenant's pseudonymisation rules to a parsed json-c record.
 *
 * A rule's path is a dotted list of object keys ("userIdentity.userName");
 * wherever the walk meets an array it follows every element, so
 * "UserDetailList.UserName" reaches each user of an IAM document and a path
 * ending at an array ("sourceIPs", "user.groups") rewrites each element.
 * Values of other types than string are pseudonymised as their JSON text;
 * drop removes the field whatever its type.  The record drivers (json_util.c ju_emit, k8s_json.c, the IAM
 * parser) call pseudo_json() right after parsing, so every format parser,
 * the stored raw record and the resources derived from it see pseudonyms only.
 */
#include "postgres.h"

#include <json-c/json.h>

#include "ingest/ingest.h"
#include "ingest/pseudonym.h"

static struct json_object *
new_string(const char *s)
{
	struct json_object *o = json_object_new_string(s);

	if (o == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	return o;
}

/*
 * The replacement for a value, or NULL to keep it.  A number, a boolean or an
 * object where a rule expects a string is pseudonymised as its JSON text, so a
 * value of an unexpected type is never stored in clear; null stays null.
 */
static struct json_object *
replacement(PseudoPolicy *p, const PseudoRule *r, struct json_object *v)
{
	const char *in;
	const char *out;

	if (v == NULL)
		return NULL;
	if (json_object_is_type(v, json_type_string))
		in = json_object_get_string(v);
	else
	{
		in = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
		if (in == NULL)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	}
	out = pseudo_apply(p, r, in);
	return out ? new_string(out) : NULL;
}

static void
walk(PseudoPolicy *p, const PseudoRule *r, struct json_object *cur, int depth)
{
	struct json_object *child;
	const char *seg;

	if (json_object_is_type(cur, json_type_array))
	{
		size_t		n = json_object_array_length(cur);

		for (size_t i = 0; i < n; i++)
			walk(p, r, json_object_array_get_idx(cur, i), depth);
		return;
	}
	if (!json_object_is_type(cur, json_type_object))
		return;
	seg = r->segs[depth];
	if (!json_object_object_get_ex(cur, seg, &child))
		return;
	if (depth < r->nsegs - 1)
	{
		if (child)
			walk(p, r, child, depth + 1);
		return;
	}
	if (r->action == PSEUDO_DROP)
	{
		json_object_object_del(cur, seg);
		return;
	}
	if (child == NULL)
		return;
	if (json_object_is_type(child, json_type_array))
	{
		size_t		n = json_object_array_length(child);

		for (size_t i = 0; i < n; i++)
		{
			struct json_object *nv = replacement(p, r, json_object_array_get_idx(child, i));

			if (nv && json_object_array_put_idx(child, i, nv) != 0)
			{
				json_object_put(nv);
				ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
			}
		}
		return;
	}
	{
		struct json_object *nv = replacement(p, r, child);

		/* replaces (and frees) the old value under the same key */
		if (nv && json_object_object_add(cur, seg, nv) != 0)
		{
			json_object_put(nv);
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
		}
	}
}

void
pseudo_json(struct IngestCtx *ctx, struct json_object *rec)
{
	PseudoPolicy *p = ingest_pseudonym_policy(ctx);
	int			n = pseudo_nrules(p);

	for (int i = 0; i < n; i++)
		walk(p, pseudo_rule(p, i), rec, 0);
}
