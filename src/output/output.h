/*
 * output.h
 *		The output module: pictures of the attack graph (SVG laid out here,
 *		DOT for Graphviz), escaping for XML/HTML and DOT, YAML text.
 *
 * The SQL side gathers what to draw (src/sql/95_output.sql); this module
 * only lays it out and writes it.  Every string it writes comes from
 * resource names, kinds and techniques, which attackers control (a pod may
 * be called "<script>"), so every string goes through an escaper that also
 * replaces bytes that are not UTF-8 and characters XML forbids.
 */
#ifndef OUTPUT_H
#define OUTPUT_H

#include "postgres.h"

#include "lib/stringinfo.h"

/* Node flags */
#define OUTPUT_SOURCE	0x01	/* where the paths start (the internet, a compromised pod) */
#define OUTPUT_TARGET	0x02	/* what they reach (crown jewels) */
#define OUTPUT_FOCUS	0x04	/* an incident's entity */

typedef struct OutputNode
{
	int64		id;
	const char *label;			/* resource name */
	const char *kind;			/* resource kind, e.g. k8s:pod */
	const char *domain;			/* workload, network, identity, data, kubernetes, cloud, ... */
	const char *detail;			/* uid, shown as a tooltip */
	int			flags;
} OutputNode;

typedef struct OutputEdge
{
	int			src;			/* index into nodes */
	int			dst;
	const char *technique;		/* technique (or relationship kind on the facts layer) */
	const char *attack_id;		/* MITRE ATT&CK id or NULL */
	double		likelihood;		/* in [0,1] */
	bool		cut;			/* in the minimum cut */
} OutputEdge;

typedef struct OutputGraph
{
	const char *title;
	int			nnodes;
	OutputNode *nodes;
	int			nedges;
	OutputEdge *edges;
} OutputGraph;

/* One vertex of the layered layout: a node, or a dummy on a long edge. */
typedef struct OutputVertex
{
	int			node;			/* index into nodes, -1 for a dummy */
	int			layer;
	int			order;			/* position within its layer */
	double		y;				/* centre */
	double		h;				/* height it occupies */
} OutputVertex;

/* How one edge is drawn: the chain of vertices from its source to its target. */
typedef struct OutputRoute
{
	int			nverts;
	int		   *verts;			/* vertex indices, from the edge's src to its dst */
	int			kind;			/* OUTPUT_ROUTE_* */
	double		offset;			/* vertical offset at both ends (parallel edges) */
	double		label_x;		/* centre of the label */
	double		label_y;
} OutputRoute;

#define OUTPUT_ROUTE_FORWARD	0
#define OUTPUT_ROUTE_BACK		1
#define OUTPUT_ROUTE_FLAT		2

typedef struct OutputLayout
{
	int			nverts;
	OutputVertex *verts;
	int			nlayers;
	int		   *layer_size;
	int		  **layer;			/* vertex indices of each layer, in order */
	OutputRoute *routes;		/* one per edge */
	int			crossings;		/* edge crossings of the chosen order */
	double		width;
	double		height;
	double		top;			/* y where the drawing starts */
} OutputLayout;

/* Geometry (pixels) shared by the layout and the SVG writer */
#define OUT_NODE_W		196.0
#define OUT_NODE_H		48.0
#define OUT_GAP_X		176.0
#define OUT_GAP_Y		26.0
#define OUT_DUMMY_H		6.0
#define OUT_MARGIN		24.0
#define OUT_HEADER		92.0
#define OUT_FOOTER		56.0
#define OUT_LABEL_H		28.0

/* output_guc.c */
extern int	output_max_nodes;
extern int	output_max_label;

/* output_escape.c */
extern void output_append_xml(StringInfo buf, const char *s, int maxchars);
extern void output_append_dot(StringInfo buf, const char *s, int maxchars);
extern int	output_text_chars(const char *s, int maxchars);

/* output_layout.c */
extern OutputLayout *output_layout(const OutputGraph *g);
extern double output_column_x(int layer);

/* output_cut.c */
extern void output_min_cut(OutputGraph *g);

/* output_svg.c, output_dot.c */
extern char *output_svg(const OutputGraph *g);
extern char *output_dot(const OutputGraph *g);

/* output_style.c */
typedef struct OutputStyle
{
	const char *domain;
	const char *fill;
	const char *stroke;
	const char *text;
} OutputStyle;
extern const OutputStyle *output_domain_style(const char *domain);
extern const OutputStyle output_domain_styles[];
extern int	output_ndomain_styles;
extern const char *output_kind_shape(const char *kind, const char *domain);
extern const char *output_dot_shape(const char *shape);

#endif							/* OUTPUT_H */
