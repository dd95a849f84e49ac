/*
 * output_dot.c
 *		Writes the attack graph in Graphviz DOT, for people who lay it out
 *		with dot(1) themselves: the same colours and shapes as the SVG,
 *		left to right, the minimum cut red and dashed.
 */
#include "postgres.h"

#include "miscadmin.h"

#include "output/output.h"

char *
output_dot(const OutputGraph *g)
{
	StringInfoData buf;

	if (g->nnodes > output_max_nodes)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("attack graph picture has too many resources"),
				 errdetail("It holds %d resources; correlate.output_max_nodes is %d.", g->nnodes, output_max_nodes),
				 errhint("Narrow it with k, max_hops or kinds.")));
	initStringInfo(&buf);
	appendStringInfoString(&buf, "digraph attack_graph {\n  graph [rankdir=LR, labelloc=t, fontname=\"Helvetica\", "
						   "fontsize=16, nodesep=0.35, ranksep=1.1, label=\"");
	output_append_dot(&buf, g->title, 0);
	appendStringInfoString(&buf, "\"];\n  node [fontname=\"Helvetica\", fontsize=11, style=filled, penwidth=1.4];\n"
						   "  edge [fontname=\"Helvetica\", fontsize=9, color=\"#64748b\"];\n");
	for (int i = 0; i < g->nnodes; i++)
	{
		const OutputNode *nd = &g->nodes[i];
		const OutputStyle *st = output_domain_style(nd->domain);
		const char *sh = output_kind_shape(nd->kind, nd->domain);

		CHECK_FOR_INTERRUPTS();
		appendStringInfo(&buf, "  n" INT64_FORMAT " [label=\"", nd->id);
		output_append_dot(&buf, nd->label, output_max_label);
		appendStringInfoString(&buf, "\\n");
		output_append_dot(&buf, nd->kind, 40);
		appendStringInfo(&buf, "\", shape=%s, style=\"%s\", fillcolor=\"%s\", color=\"%s\", fontcolor=\"%s\"",
						 output_dot_shape(sh), strcmp(sh, "box") == 0 || strcmp(sh, "pill") == 0 ? "rounded,filled" : "filled",
						 st->fill, (nd->flags & OUTPUT_TARGET) ? "#d32f2f" : st->stroke, st->text);
		if (nd->flags & (OUTPUT_SOURCE | OUTPUT_TARGET | OUTPUT_FOCUS))
			appendStringInfoString(&buf, ", penwidth=2.6");
		appendStringInfo(&buf, ", class=\"%s\", tooltip=\"", (nd->flags & OUTPUT_TARGET) ? "target" :
						 (nd->flags & OUTPUT_SOURCE) ? "source" : (nd->flags & OUTPUT_FOCUS) ? "focus" : "resource");
		output_append_dot(&buf, nd->detail ? nd->detail : nd->label, 0);
		appendStringInfoString(&buf, "\"];\n");
	}
	for (int e = 0; e < g->nedges; e++)
	{
		const OutputEdge *ed = &g->edges[e];

		CHECK_FOR_INTERRUPTS();
		appendStringInfo(&buf, "  n" INT64_FORMAT " -> n" INT64_FORMAT " [label=\"", g->nodes[ed->src].id, g->nodes[ed->dst].id);
		output_append_dot(&buf, ed->technique, 30);
		appendStringInfoString(&buf, "\\n");
		if (ed->attack_id)
		{
			output_append_dot(&buf, ed->attack_id, 16);
			appendStringInfoString(&buf, " ");
		}
		appendStringInfo(&buf, "p=%.2f\", penwidth=%.1f", ed->likelihood, 1.0 + 3.0 * ed->likelihood);
		if (ed->cut)
			appendStringInfoString(&buf, ", color=\"#d32f2f\", fontcolor=\"#d32f2f\", style=dashed, xlabel=\"min cut\"");
		appendStringInfoString(&buf, "];\n");
	}
	appendStringInfoString(&buf, "}\n");
	return buf.data;
}
