/*
 * output_style.c
 *		How a resource looks: colours by domain, a shape by kind.
 *
 * The palette is colour-blind safe enough to tell the six domains apart
 * (light fill, dark stroke, dark text); shapes carry the kind so a picture
 * printed in grey still reads: identities are hexagons, data stores
 * cylinders, the internet and addresses pills, images parallelograms,
 * hosts double-bordered boxes, Kubernetes objects folders, workloads
 * rounded boxes.
 */
#include "postgres.h"

#include "output/output.h"

const OutputStyle output_domain_styles[] = {
	{"workload", "#e3effa", "#1f63a8", "#0f3558"},
	{"network", "#e4f4e6", "#2e7d32", "#1b4d1f"},
	{"identity", "#fdf0dc", "#b35f00", "#5c3100"},
	{"data", "#fbe5ea", "#b0243b", "#5e0f1d"},
	{"kubernetes", "#ece8fb", "#5b3fb2", "#2f1f63"},
	{"cloud", "#e0f4f5", "#00796b", "#003d36"},
	{"compliance", "#f1f1f1", "#5f6368", "#2b2b2b"},
};
int			output_ndomain_styles = lengthof(output_domain_styles);

static const OutputStyle other_style = {"other", "#f1f1f1", "#5f6368", "#2b2b2b"};

/* The style of a domain (grey for one this list does not know). */
const OutputStyle *
output_domain_style(const char *domain)
{
	if (domain != NULL)
		for (int i = 0; i < output_ndomain_styles; i++)
			if (strcmp(domain, output_domain_styles[i].domain) == 0)
				return &output_domain_styles[i];
	return &other_style;
}

static bool
has(const char *kind, const char *part)
{
	return strstr(kind, part) != NULL;
}

/*
 * The shape of a kind: "pill", "hexagon", "cylinder", "parallelogram",
 * "host", "folder" or "box".
 */
const char *
output_kind_shape(const char *kind, const char *domain)
{
	const char *k = kind ? kind : "";

	if (strcmp(k, "internet") == 0 || strncmp(k, "ip", 2) == 0 || has(k, ":ip") || has(k, "network") || has(k, "vpc") ||
		has(k, "subnet") || has(k, "security_group") || strcmp(k, "k8s:service") == 0 ||
		has(k, "load_balancer") || has(k, "k8s:ingress"))
		return "pill";
	if (has(k, "iam") || has(k, "serviceaccount") || has(k, "k8s:role") || has(k, "clusterrole") ||
		has(k, "user") || has(k, "group") || has(k, "principal"))
		return "hexagon";
	if (has(k, "s3") || has(k, "bucket") || has(k, "rds") || has(k, "dynamodb") || has(k, "secret") ||
		has(k, "kms") || has(k, "database") || has(k, "volume") || has(k, "configmap"))
		return "cylinder";
	if (has(k, "image"))
		return "parallelogram";
	if (has(k, "node") || has(k, "instance") || has(k, "host") || has(k, "ec2"))
		return "host";
	if (has(k, "namespace") || has(k, "cluster") || has(k, "deployment") || has(k, "daemonset") ||
		has(k, "statefulset") || has(k, "replicaset") || has(k, "job"))
		return "folder";
	if (domain != NULL && strcmp(domain, "data") == 0)
		return "cylinder";
	if (domain != NULL && strcmp(domain, "identity") == 0)
		return "hexagon";
	return "box";
}

/* The Graphviz shape for one of ours. */
const char *
output_dot_shape(const char *shape)
{
	if (strcmp(shape, "pill") == 0)
		return "ellipse";
	if (strcmp(shape, "host") == 0)
		return "box3d";
	if (strcmp(shape, "box") == 0)
		return "box";
	return shape;				/* hexagon, cylinder, parallelogram, folder */
}
