/*
 * uid.c
 *		Canonical uids for AWS ARNs, Kubernetes objects, IP addresses, container
 *		images and containers, plus their SQL wrappers.
 *
 * The canonical form is what makes cross-domain resolution work: the pod that
 * Falco names by container id, the IAM role that CloudTrail names by an
 * assumed-role session and the role that IAM inventory names by its ARN must
 * all land on one resource row.  The rules are deliberately small and
 * documented in docs/write-api.md.
 */
#include "postgres.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#include "correlate.h"
#include "model/uid.h"

#define UID_MAX_LEN 2048

/* Rejects empty, oversized, non-UTF-8 text and control characters. */
static bool
uid_text_ok(const char *s, const char **why)
{
	size_t		len;

	if (s == NULL || *s == '\0')
	{
		*why = "it is empty";
		return false;
	}
	len = strlen(s);
	if (len > UID_MAX_LEN)
	{
		*why = "it is longer than 2048 bytes";
		return false;
	}
	if (!pg_verify_mbstr(PG_UTF8, s, (int) len, true))
	{
		*why = "it is not valid UTF-8";
		return false;
	}
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		if (*p < 0x20 || *p == 0x7f)
		{
			*why = "it contains a control character";
			return false;
		}
	}
	return true;
}

static void
uid_raise(const char *what, const char *input, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid %s", what),
			 errdetail("The value \"%s\" is not accepted because %s.",
					   input ? input : "(null)", why)));
}

/*
 * Returns r, or raises the invalid-value error for input when r is NULL.  why
 * is passed by address because it is set by the call that computes r, and
 * argument evaluation order is unspecified.
 */
static char *
uid_or_raise(char *r, const char *what, const char *input, const char *const *why)
{
	if (r == NULL)
		uid_raise(what, input, *why);
	return r;
}

char *
uid_arn_try(const char *arn, const char **why)
{
	const char *part[6];
	const char *p;
	int			n = 1;

	if (!uid_text_ok(arn, why))
		return NULL;
	if (strncmp(arn, "arn:", 4) != 0)
	{
		*why = "an ARN starts with \"arn:\"";
		return NULL;
	}
	/* arn:partition:service:region:account:resource (resource may hold colons) */
	part[0] = arn;
	for (p = arn; *p && n < 6; p++)
		if (*p == ':')
			part[n++] = p + 1;
	if (n < 6)
	{
		*why = "an ARN has six colon-separated parts (arn:partition:service:region:account:resource)";
		return NULL;
	}
	if (part[2] - part[1] <= 1 || part[3] - part[2] <= 1)
	{
		*why = "the partition and service of an ARN must not be empty";
		return NULL;
	}
	if (*part[5] == '\0')
	{
		*why = "the resource part of an ARN must not be empty";
		return NULL;
	}

	/* An assumed-role session acts as its role: fold it onto the role's ARN. */
	if (strncmp(part[2], "sts:", 4) == 0 && strncmp(part[5], "assumed-role/", 13) == 0)
	{
		const char *role = part[5] + 13;
		const char *slash = strchr(role, '/');
		int			rolelen = slash ? (int) (slash - role) : (int) strlen(role);
		int			acctlen = (int) (part[5] - part[4]) - 1;

		if (rolelen == 0 || acctlen <= 0)
		{
			*why = "an assumed-role ARN names an account and a role";
			return NULL;
		}
		return psprintf("arn:%.*s:iam::%.*s:role/%.*s",
						(int) (part[2] - part[1]) - 1, part[1],
						acctlen, part[4],
						rolelen, role);
	}
	return pstrdup(arn);
}

char *
uid_arn(const char *arn)
{
	const char *why = NULL;

	return uid_or_raise(uid_arn_try(arn, &why), "ARN", arn, &why);
}

/* Returns a palloc'd lower-case copy of the first n bytes of s. */
static char *
lower_n(const char *s, int n)
{
	char	   *r = pnstrdup(s, n);

	for (char *p = r; *p; p++)
		*p = (char) pg_ascii_tolower((unsigned char) *p);
	return r;
}

static bool
k8s_part_ok(const char *s, const char *label, const char **why)
{
	if (!uid_text_ok(s, why))
		return false;
	if (strchr(s, '/') != NULL)
	{
		*why = psprintf("a Kubernetes %s must not contain \"/\"", label);
		return false;
	}
	return true;
}

char *
uid_k8s_try(const char *cluster, const char *ns, const char *kind,
			const char *name, const char **why)
{
	char	   *lkind;

	if (cluster == NULL || *cluster == '\0')
		cluster = correlate_default_cluster ? correlate_default_cluster : "default";
	if (ns == NULL || *ns == '\0')
		ns = "_";
	if (!k8s_part_ok(cluster, "cluster name", why) ||
		!k8s_part_ok(ns, "namespace", why) ||
		!k8s_part_ok(kind, "kind", why) ||
		!k8s_part_ok(name, "name", why))
		return NULL;
	lkind = lower_n(kind, strlen(kind));
	return psprintf("k8s://%s/%s/%s/%s", cluster, ns, lkind, name);
}

char *
uid_k8s(const char *cluster, const char *ns, const char *kind, const char *name)
{
	const char *why = NULL;
	char	   *r = uid_k8s_try(cluster, ns, kind, name, &why);

	if (r == NULL)
		uid_raise("Kubernetes object reference",
				  psprintf("%s/%s/%s/%s", cluster ? cluster : "", ns ? ns : "",
						   kind ? kind : "(null)", name ? name : "(null)"),
				  why);
	return r;
}

char *
uid_ip_try(const char *ip, const char **why)
{
	unsigned char buf[sizeof(struct in6_addr)];
	char		out[INET6_ADDRSTRLEN];
	int			family;

	if (!uid_text_ok(ip, why))
		return NULL;
	family = strchr(ip, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(family, ip, buf) != 1 ||
		inet_ntop(family, buf, out, sizeof(out)) == NULL)
	{
		*why = "it is not a single IPv4 or IPv6 address";
		return NULL;
	}
	return psprintf("ip://%s", out);
}

char *
uid_ip(const char *ip)
{
	const char *why = NULL;

	return uid_or_raise(uid_ip_try(ip, &why), "IP address", ip, &why);
}

static bool
all_hex(const char *s, int n)
{
	for (int i = 0; i < n; i++)
		if (!isxdigit((unsigned char) s[i]))
			return false;
	return true;
}

char *
uid_image_try(const char *ref, const char **why)
{
	const char *at;
	const char *name;
	const char *slash;
	const char *lastslash;
	const char *colon;
	StringInfoData buf;

	if (!uid_text_ok(ref, why))
		return NULL;
	for (const char *p = ref; *p; p++)
		if (isspace((unsigned char) *p))
		{
			*why = "an image reference contains no white space";
			return NULL;
		}

	/* A digest identifies the image content whatever it is called. */
	at = strstr(ref, "sha256:");
	if (at != NULL && (at == ref || at[-1] == '@'))
	{
		const char *hex = at + 7;

		if (strlen(hex) != 64 || !all_hex(hex, 64))
		{
			*why = "a sha256 digest has 64 hex digits";
			return NULL;
		}
		return psprintf("image://sha256:%s", lower_n(hex, 64));
	}
	if (strchr(ref, '@') != NULL)
	{
		*why = "only sha256 digests are understood after '@'";
		return NULL;
	}

	/* Normalise the Docker Hub shorthands: nginx -> docker.io/library/nginx:latest */
	initStringInfo(&buf);
	name = ref;
	slash = strchr(name, '/');
	if (slash == NULL)
		appendStringInfoString(&buf, "docker.io/library/");
	else
	{
		int			hostlen = (int) (slash - name);
		bool		is_host = memchr(name, '.', hostlen) || memchr(name, ':', hostlen) ||
			(hostlen == 9 && strncmp(name, "localhost", 9) == 0);

		if (!is_host)
			appendStringInfoString(&buf, "docker.io/");
	}
	appendStringInfoString(&buf, name);
	lastslash = strrchr(buf.data, '/');
	colon = strchr(lastslash ? lastslash : buf.data, ':');
	if (colon == NULL)
		appendStringInfoString(&buf, ":latest");
	else if (colon[1] == '\0')
	{
		*why = "an image tag after ':' must not be empty";
		return NULL;
	}
	return psprintf("image://%s", buf.data);
}

char *
uid_image(const char *ref)
{
	const char *why = NULL;

	return uid_or_raise(uid_image_try(ref, &why), "image reference", ref, &why);
}

char *
uid_container_try(const char *id, const char **why)
{
	const char *p;

	if (!uid_text_ok(id, why))
		return NULL;
	p = strstr(id, "://");
	p = p ? p + 3 : id;
	if (strlen(p) < 12 || !all_hex(p, 12))
	{
		*why = "a container id has at least 12 hex digits, optionally after a runtime prefix such as containerd://";
		return NULL;
	}
	return psprintf("container://%s", lower_n(p, 12));
}

char *
uid_container(const char *id)
{
	const char *why = NULL;

	return uid_or_raise(uid_container_try(id, &why), "container id", id, &why);
}

/*
 * uid_canonical_try returns the canonical form of a uid given in any of the
 * known schemes (arn:, k8s://, ip://, image://, container://), or the text
 * unchanged for other schemes (internet, aws service names, user-defined).
 */
char *
uid_canonical_try(const char *uid, const char **why)
{
	if (!uid_text_ok(uid, why))
		return NULL;
	if (strncmp(uid, "arn:", 4) == 0)
		return uid_arn_try(uid, why);
	if (strncmp(uid, "ip://", 5) == 0)
		return uid_ip_try(uid + 5, why);
	if (strncmp(uid, "image://", 8) == 0)
		return uid_image_try(uid + 8, why);
	if (strncmp(uid, "container://", 12) == 0)
		return uid_container_try(uid + 12, why);
	if (strncmp(uid, "k8s://", 6) == 0)
	{
		char	   *copy = pstrdup(uid + 6);
		char	   *part[4];
		int			n = 0;
		char	   *p = copy;

		while (n < 4)
		{
			part[n++] = p;
			p = strchr(p, '/');
			if (p == NULL)
				break;
			*p++ = '\0';
		}
		if (n != 4 || p != NULL)
		{
			*why = "a Kubernetes uid has the form k8s://CLUSTER/NAMESPACE/KIND/NAME";
			return NULL;
		}
		return uid_k8s_try(part[0], strcmp(part[1], "_") == 0 ? NULL : part[1],
						   part[2], part[3], why);
	}
	return pstrdup(uid);
}

char *
uid_canonical(const char *uid)
{
	const char *why = NULL;

	return uid_or_raise(uid_canonical_try(uid, &why), "resource uid", uid, &why);
}

/* SQL wrappers */

PG_FUNCTION_INFO_V1(correlate_canonical_uid);
Datum
correlate_canonical_uid(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(uid_canonical(text_to_cstring(PG_GETARG_TEXT_PP(0)))));
}

PG_FUNCTION_INFO_V1(correlate_arn_uid);
Datum
correlate_arn_uid(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(uid_arn(text_to_cstring(PG_GETARG_TEXT_PP(0)))));
}

PG_FUNCTION_INFO_V1(correlate_k8s_uid);
Datum
correlate_k8s_uid(PG_FUNCTION_ARGS)
{
	const char *args[4];

	for (int i = 0; i < 4; i++)
		args[i] = PG_ARGISNULL(i) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(i));
	PG_RETURN_TEXT_P(cstring_to_text(uid_k8s(args[0], args[1], args[2], args[3])));
}

PG_FUNCTION_INFO_V1(correlate_ip_uid);
Datum
correlate_ip_uid(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(uid_ip(text_to_cstring(PG_GETARG_TEXT_PP(0)))));
}

PG_FUNCTION_INFO_V1(correlate_image_uid);
Datum
correlate_image_uid(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(uid_image(text_to_cstring(PG_GETARG_TEXT_PP(0)))));
}

PG_FUNCTION_INFO_V1(correlate_container_uid);
Datum
correlate_container_uid(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(uid_container(text_to_cstring(PG_GETARG_TEXT_PP(0)))));
}
