/*
 * output_svg.c
 *		Writes a laid-out attack graph as one self-contained SVG document.
 *
 * No scripts, no external fonts, stylesheets or images: a <style> element
 * with generic font families, markers in <defs>, so the file renders the
 * same offline, inside an HTML page or in an <img>.  Nodes are groups with
 * class "cg-node" and data-id / data-kind / data-domain attributes (tests
 * and stylesheets find them), and a <title> holding the full name and uid
 * as a tooltip.  Text that might not fit is squeezed with textLength
 * rather than allowed to run over its shape.
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"

#include "output/output.h"

#define EDGE_COLOUR		"#64748b"
#define CUT_COLOUR		"#d32f2f"

/* Rough advance of a character (px) for the sans-serif fonts we ask for. */
#define CHAR_W_NAME		7.4		/* 12px bold */
#define CHAR_W_SMALL	6.0		/* 10.5px */

static void
coord(StringInfo buf, double v)
{
	/* one decimal, no "-0.0" */
	double		r = rint(v * 10) / 10;

	if (r == 0)
		r = 0;
	appendStringInfo(buf, "%.1f", r);
}

/* <text ...> with the escaped text, squeezed to fit width when needed. */
static void
text_fit(StringInfo buf, const char *cls, double x, double y, const char *s, int maxchars,
		 double charw, double width)
{
	int			chars = output_text_chars(s, maxchars);

	appendStringInfo(buf, "<text class=\"%s\" x=\"", cls);
	coord(buf, x);
	appendStringInfoString(buf, "\" y=\"");
	coord(buf, y);
	appendStringInfoChar(buf, '"');
	if (chars * charw > width)
	{
		appendStringInfoString(buf, " textLength=\"");
		coord(buf, width);
		appendStringInfoString(buf, "\" lengthAdjust=\"spacingAndGlyphs\"");
	}
	appendStringInfoChar(buf, '>');
	output_append_xml(buf, s, maxchars);
	appendStringInfoString(buf, "</text>");
}

static void
shape(StringInfo buf, const char *kind, const char *domain, const OutputStyle *st, int flags)
{
	const char *sh = output_kind_shape(kind, domain);
	double		w = OUT_NODE_W,
				h = OUT_NODE_H;
	const char *stroke = (flags & OUTPUT_TARGET) ? CUT_COLOUR : st->stroke;
	double		sw = (flags & (OUTPUT_TARGET | OUTPUT_SOURCE | OUTPUT_FOCUS)) ? 2.6 : 1.4;
	char		paint[96];

	snprintf(paint, sizeof(paint), " fill=\"%s\" stroke=\"%s\" stroke-width=\"%.1f\"", st->fill, stroke, sw);
	if (strcmp(sh, "pill") == 0)
		appendStringInfo(buf, "<rect class=\"cg-shape\" width=\"%.1f\" height=\"%.1f\" rx=\"%.1f\"%s/>", w, h, h / 2, paint);
	else if (strcmp(sh, "hexagon") == 0)
		appendStringInfo(buf, "<polygon class=\"cg-shape\" points=\"14,0 %.1f,0 %.1f,%.1f %.1f,%.1f 14,%.1f 0,%.1f\"%s/>",
						 w - 14, w, h / 2, w - 14, h, h, h / 2, paint);
	else if (strcmp(sh, "cylinder") == 0)
		appendStringInfo(buf, "<path class=\"cg-shape\" d=\"M0,7 A%.1f,7 0 0 1 %.1f,7 V%.1f A%.1f,7 0 0 1 0,%.1f Z\"%s/>"
						 "<path d=\"M0,7 A%.1f,7 0 0 0 %.1f,7\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.2\"/>",
						 w / 2, w, h - 7, w / 2, h - 7, paint, w / 2, w, st->stroke);
	else if (strcmp(sh, "parallelogram") == 0)
		appendStringInfo(buf, "<polygon class=\"cg-shape\" points=\"12,0 %.1f,0 %.1f,%.1f 0,%.1f\"%s/>",
						 w, w - 12, h, h, paint);
	else if (strcmp(sh, "host") == 0)
		appendStringInfo(buf, "<rect class=\"cg-shape\" width=\"%.1f\" height=\"%.1f\" rx=\"2\"%s/>"
						 "<rect x=\"3.5\" y=\"3.5\" width=\"%.1f\" height=\"%.1f\" rx=\"1\" fill=\"none\" stroke=\"%s\" stroke-width=\"0.8\"/>",
						 w, h, paint, w - 7, h - 7, st->stroke);
	else if (strcmp(sh, "folder") == 0)
		appendStringInfo(buf, "<path class=\"cg-shape\" d=\"M0,4 H58 L64,-2 H%.1f V%.1f H0 Z\" stroke-linejoin=\"round\"%s/>",
						 w, h, paint);
	else
		appendStringInfo(buf, "<rect class=\"cg-shape\" width=\"%.1f\" height=\"%.1f\" rx=\"9\"%s/>", w, h, paint);
}

static void
node(StringInfo buf, const OutputNode *nd, double x, double y)
{
	const OutputStyle *st = output_domain_style(nd->domain);
	double		inner = OUT_NODE_W - 32;
	double		dy = (strcmp(output_kind_shape(nd->kind, nd->domain), "cylinder") == 0) ? 4 : 0;
	StringInfoData sub;

	appendStringInfo(buf, "<g class=\"cg-node\" id=\"cg-n" INT64_FORMAT "\" data-id=\"" INT64_FORMAT "\" data-kind=\"",
					 nd->id, nd->id);
	output_append_xml(buf, nd->kind, 0);
	appendStringInfoString(buf, "\" data-domain=\"");
	output_append_xml(buf, nd->domain, 0);
	appendStringInfoString(buf, "\" transform=\"translate(");
	coord(buf, x);
	appendStringInfoChar(buf, ',');
	coord(buf, y);
	appendStringInfoString(buf, ")\"><title>");
	output_append_xml(buf, nd->label, 0);
	appendStringInfoString(buf, " (");
	output_append_xml(buf, nd->kind, 0);
	appendStringInfoString(buf, ")");
	if (nd->detail)
	{
		appendStringInfoString(buf, " ");
		output_append_xml(buf, nd->detail, 0);
	}
	appendStringInfoString(buf, "</title>");
	shape(buf, nd->kind, nd->domain, st, nd->flags);
	text_fit(buf, "cg-name", OUT_NODE_W / 2, 21 + dy, nd->label ? nd->label : "", output_max_label, CHAR_W_NAME, inner);
	initStringInfo(&sub);
	appendStringInfo(&sub, "%s \xC2\xB7 %s", nd->kind ? nd->kind : "?", nd->domain ? nd->domain : "?");
	appendStringInfo(buf, "<g fill=\"%s\">", st->text);
	text_fit(buf, "cg-kind", OUT_NODE_W / 2, 37 + dy / 2, sub.data, 40, CHAR_W_SMALL, inner);
	appendStringInfoString(buf, "</g>");
	pfree(sub.data);
	if (nd->flags & (OUTPUT_SOURCE | OUTPUT_TARGET | OUTPUT_FOCUS))
	{
		const char *badge = (nd->flags & OUTPUT_TARGET) ? "crown jewel" :
			(nd->flags & OUTPUT_SOURCE) ? "entry" : "in incident";
		const char *colour = (nd->flags & OUTPUT_TARGET) ? CUT_COLOUR :
			(nd->flags & OUTPUT_SOURCE) ? "#334155" : "#7c3aed";
		double		bw = strlen(badge) * 6.0 + 14;

		appendStringInfo(buf, "<g class=\"cg-badge\" transform=\"translate(%.1f,-9)\"><rect width=\"%.1f\" height=\"15\" rx=\"7.5\" fill=\"%s\"/>"
						 "<text x=\"%.1f\" y=\"11\">%s</text></g>",
						 OUT_NODE_W - bw - 10, bw, colour, bw / 2, badge);
		if ((nd->flags & OUTPUT_FOCUS) && (nd->flags & (OUTPUT_SOURCE | OUTPUT_TARGET)))
			appendStringInfo(buf, "<g class=\"cg-badge\" transform=\"translate(10,-9)\"><rect width=\"80\" height=\"15\" rx=\"7.5\" fill=\"#7c3aed\"/>"
							 "<text x=\"40\" y=\"11\">in incident</text></g>");
	}
	appendStringInfoString(buf, "</g>\n");
}

typedef struct Pt
{
	double		x;
	double		y;
} Pt;

static void
edge_path(StringInfo buf, const OutputGraph *g, const OutputLayout *l, int e)
{
	const OutputEdge *ed = &g->edges[e];
	const OutputRoute *r = &l->routes[e];
	Pt		   *pts = palloc(sizeof(Pt) * (2 * r->nverts + 2));
	bool	   *straight = palloc0(sizeof(bool) * (2 * r->nverts + 2));
	int			np = 0;
	const OutputVertex *s = &l->verts[r->verts[0]];
	const OutputVertex *d = &l->verts[r->verts[r->nverts - 1]];
	double		sw = 1.0 + 3.0 * ed->likelihood;

	appendStringInfo(buf, "<path class=\"cg-edge%s\" data-src=\"" INT64_FORMAT "\" data-dst=\"" INT64_FORMAT "\" d=\"",
					 ed->cut ? " cg-cut" : "", g->nodes[ed->src].id, g->nodes[ed->dst].id);
	if (r->kind == OUTPUT_ROUTE_FLAT)
	{
		double		xr = output_column_x(s->layer) + OUT_NODE_W;
		double		bulge = 46 + fabs(d->y - s->y) * 0.15;
		double		y0 = s->y + r->offset;
		double		y1 = d->y + r->offset;

		if (ed->src == ed->dst)
		{
			/* a self-loop: a small arc out of the right side and back */
			y0 -= 9;
			y1 += 9;
			bulge = 34;
		}
		appendStringInfoString(buf, "M");
		coord(buf, xr);
		appendStringInfoChar(buf, ',');
		coord(buf, y0);
		appendStringInfoString(buf, " C");
		coord(buf, xr + bulge);
		appendStringInfoChar(buf, ',');
		coord(buf, y0 - (ed->src == ed->dst ? 14 : 0));
		appendStringInfoChar(buf, ' ');
		coord(buf, xr + bulge);
		appendStringInfoChar(buf, ',');
		coord(buf, y1 + (ed->src == ed->dst ? 14 : 0));
		appendStringInfoChar(buf, ' ');
		coord(buf, xr + 2);
		appendStringInfoChar(buf, ',');
		coord(buf, y1);
	}
	else
	{
		bool		fwd = (r->kind == OUTPUT_ROUTE_FORWARD);

		pts[np].x = output_column_x(s->layer) + (fwd ? OUT_NODE_W : 0);
		pts[np++].y = s->y + r->offset;
		for (int k = 1; k < r->nverts - 1; k++)
		{
			const OutputVertex *v = &l->verts[r->verts[k]];

			pts[np].x = output_column_x(v->layer) + (fwd ? 0 : OUT_NODE_W);
			pts[np++].y = v->y;
			straight[np] = true;	/* the run across the dummy's column */
			pts[np].x = output_column_x(v->layer) + (fwd ? OUT_NODE_W : 0);
			pts[np++].y = v->y;
		}
		pts[np].x = output_column_x(d->layer) + (fwd ? -2 : OUT_NODE_W + 2);
		pts[np++].y = d->y + r->offset;
		appendStringInfoString(buf, "M");
		coord(buf, pts[0].x);
		appendStringInfoChar(buf, ',');
		coord(buf, pts[0].y);
		for (int i = 1; i < np; i++)
		{
			if (straight[i])
			{
				appendStringInfoString(buf, " L");
				coord(buf, pts[i].x);
				appendStringInfoChar(buf, ',');
				coord(buf, pts[i].y);
			}
			else
			{
				double		dx = (pts[i].x - pts[i - 1].x) / 2;

				appendStringInfoString(buf, " C");
				coord(buf, pts[i - 1].x + dx);
				appendStringInfoChar(buf, ',');
				coord(buf, pts[i - 1].y);
				appendStringInfoChar(buf, ' ');
				coord(buf, pts[i].x - dx);
				appendStringInfoChar(buf, ',');
				coord(buf, pts[i].y);
				appendStringInfoChar(buf, ' ');
				coord(buf, pts[i].x);
				appendStringInfoChar(buf, ',');
				coord(buf, pts[i].y);
			}
		}
	}
	appendStringInfo(buf, "\" stroke-width=\"%.1f\" marker-end=\"url(#%s)\"><title>", sw,
					 ed->cut ? "cg-arrow-cut" : "cg-arrow");
	output_append_xml(buf, g->nodes[ed->src].label, 0);
	appendStringInfoString(buf, " \xE2\x86\x92 ");
	output_append_xml(buf, g->nodes[ed->dst].label, 0);
	appendStringInfoString(buf, ": ");
	output_append_xml(buf, ed->technique, 0);
	if (ed->attack_id)
	{
		appendStringInfoString(buf, " (");
		output_append_xml(buf, ed->attack_id, 0);
		appendStringInfoChar(buf, ')');
	}
	appendStringInfo(buf, ", likelihood %.2f%s</title></path>\n", ed->likelihood, ed->cut ? ", in the minimum cut" : "");
	pfree(pts);
	pfree(straight);
}

static void
edge_label(StringInfo buf, const OutputGraph *g, const OutputLayout *l, int e)
{
	const OutputEdge *ed = &g->edges[e];
	const OutputRoute *r = &l->routes[e];
	const OutputVertex *a = &l->verts[r->verts[0]];
	const OutputVertex *b = &l->verts[r->verts[1]];
	double		anchor = (a->y + r->offset + b->y + ((b->node >= 0) ? r->offset : 0)) / 2;
	StringInfoData line2;
	int			c1,
				c2;
	double		w;
	double		maxw = OUT_GAP_X - 24;

	initStringInfo(&line2);
	if (ed->attack_id)
	{
		output_append_xml(&line2, ed->attack_id, 16);
		appendStringInfoString(&line2, " \xC2\xB7 ");
	}
	appendStringInfo(&line2, "p=%.2f", ed->likelihood);
	if (ed->cut)
		appendStringInfoString(&line2, " \xC2\xB7 min cut");
	c1 = output_text_chars(ed->technique, 30);
	c2 = output_text_chars(line2.data, 0);
	w = Min(Max(c1, c2) * CHAR_W_SMALL + 14, maxw);

	if (r->kind != OUTPUT_ROUTE_FLAT && fabs(r->label_y - anchor) > OUT_LABEL_H / 2)
	{
		appendStringInfoString(buf, "<path class=\"cg-leader\" d=\"M");
		coord(buf, r->label_x);
		appendStringInfoChar(buf, ',');
		coord(buf, r->label_y + (anchor > r->label_y ? OUT_LABEL_H / 2 : -OUT_LABEL_H / 2));
		appendStringInfoString(buf, " L");
		coord(buf, r->label_x);
		appendStringInfoChar(buf, ',');
		coord(buf, anchor);
		appendStringInfoString(buf, "\"/>");
	}
	appendStringInfo(buf, "<g class=\"cg-elabel%s\" transform=\"translate(", ed->cut ? " cg-cut" : "");
	coord(buf, r->label_x);
	appendStringInfoChar(buf, ',');
	coord(buf, r->label_y);
	appendStringInfoString(buf, ")\"><rect x=\"");
	coord(buf, -w / 2);
	appendStringInfo(buf, "\" y=\"%.1f\" width=\"", -OUT_LABEL_H / 2);
	coord(buf, w);
	appendStringInfo(buf, "\" height=\"%.1f\" rx=\"4\"/>", OUT_LABEL_H);
	text_fit(buf, "cg-tech", 0, -2.5, ed->technique ? ed->technique : "", 30, CHAR_W_SMALL, w - 8);
	/* line2 is already escaped: write it through text_fit's sizing by hand */
	appendStringInfoString(buf, "<text class=\"cg-prob\" x=\"0\" y=\"10\"");
	if (c2 * CHAR_W_SMALL > w - 8)
	{
		appendStringInfoString(buf, " textLength=\"");
		coord(buf, w - 8);
		appendStringInfoString(buf, "\" lengthAdjust=\"spacingAndGlyphs\"");
	}
	appendStringInfo(buf, ">%s</text></g>\n", line2.data);
	pfree(line2.data);
}

static const char *style_sheet =
"<style>"
"text{font-family:'DejaVu Sans','Liberation Sans',Arial,Helvetica,sans-serif;}"
".cg-h1{font-size:17px;font-weight:700;fill:#0f172a}"
".cg-h2{font-size:12px;fill:#475569}"
".cg-hop{font-size:11px;font-weight:700;fill:#94a3b8;text-anchor:middle;letter-spacing:.06em}"
".cg-name{font-size:12px;font-weight:700;fill:#0f172a;text-anchor:middle}"
".cg-kind{font-size:10.5px;text-anchor:middle}"
".cg-badge text{font-size:9.5px;font-weight:700;fill:#fff;text-anchor:middle}"
".cg-edge{fill:none;stroke:" EDGE_COLOUR ";stroke-opacity:.85}"
".cg-edge.cg-cut{stroke:" CUT_COLOUR ";stroke-dasharray:7 4;stroke-opacity:1}"
".cg-leader{fill:none;stroke:#94a3b8;stroke-width:.8;stroke-dasharray:2 2}"
".cg-elabel rect{fill:#fff;fill-opacity:.94;stroke:#cbd5e1;stroke-width:.8}"
".cg-elabel.cg-cut rect{stroke:" CUT_COLOUR ";stroke-width:1.4}"
".cg-tech{font-size:10.5px;font-weight:700;fill:#1e293b;text-anchor:middle}"
".cg-prob{font-size:10px;fill:#475569;text-anchor:middle}"
".cg-cut .cg-prob{fill:" CUT_COLOUR ";font-weight:700}"
".cg-legend text{font-size:10.5px;fill:#334155}"
"</style>\n";

/* The whole picture as an SVG document. */
char *
output_svg(const OutputGraph *g)
{
	StringInfoData buf;
	OutputLayout *l;
	int			ncut = 0;
	double		lx;

	if (g->nnodes > output_max_nodes)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("attack graph picture has too many resources"),
				 errdetail("It holds %d resources; correlate.output_max_nodes is %d.", g->nnodes, output_max_nodes),
				 errhint("Narrow it with k, max_hops or kinds.")));
	l = output_layout(g);
	for (int e = 0; e < g->nedges; e++)
		ncut += g->edges[e].cut ? 1 : 0;

	initStringInfo(&buf);
	appendStringInfo(&buf, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"correlate-attack-graph\" role=\"img\" "
					 "width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" aria-labelledby=\"cg-title\" data-crossings=\"%d\">\n",
					 ceil(l->width), ceil(l->height), ceil(l->width), ceil(l->height), l->crossings);
	appendStringInfoString(&buf, "<title id=\"cg-title\">");
	output_append_xml(&buf, g->title, 0);
	appendStringInfoString(&buf, "</title>\n");
	appendStringInfoString(&buf, style_sheet);
	appendStringInfoString(&buf,
						   "<defs>"
						   "<marker id=\"cg-arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"9\" markerHeight=\"9\" "
						   "markerUnits=\"userSpaceOnUse\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"" EDGE_COLOUR "\"/></marker>"
						   "<marker id=\"cg-arrow-cut\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"11\" markerHeight=\"11\" "
						   "markerUnits=\"userSpaceOnUse\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"" CUT_COLOUR "\"/></marker>"
						   "</defs>\n");
	appendStringInfoString(&buf, "<rect class=\"cg-bg\" width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");
	appendStringInfo(&buf, "<text class=\"cg-h1\" x=\"%.1f\" y=\"30\">", OUT_MARGIN);
	output_append_xml(&buf, g->title, 120);
	appendStringInfo(&buf, "</text>\n<text class=\"cg-h2\" x=\"%.1f\" y=\"50\">%d resources \xC2\xB7 %d attack edges%s",
					 OUT_MARGIN, g->nnodes, g->nedges, ncut > 0 ? " \xC2\xB7 " : "");
	if (ncut > 0)
		appendStringInfo(&buf, "%d in the minimum cut (red, dashed)", ncut);
	appendStringInfoString(&buf, "</text>\n");
	if (g->nnodes == 0)
		appendStringInfo(&buf, "<text class=\"cg-h2\" x=\"%.1f\" y=\"%.1f\">Nothing to draw: no attack path matches.</text>\n",
						 OUT_MARGIN, OUT_HEADER + 10);
	for (int L = 0; L < l->nlayers; L++)
		appendStringInfo(&buf, "<text class=\"cg-hop\" x=\"%.1f\" y=\"74\">%s%s</text>\n",
						 output_column_x(L) + OUT_NODE_W / 2, L == 0 ? "START" : "HOP ",
						 L == 0 ? "" : psprintf("%d", L));

	appendStringInfoString(&buf, "<g class=\"cg-edges\">\n");
	for (int e = 0; e < g->nedges; e++)
	{
		CHECK_FOR_INTERRUPTS();
		if (!g->edges[e].cut)
			edge_path(&buf, g, l, e);
	}
	for (int e = 0; e < g->nedges; e++)
		if (g->edges[e].cut)
			edge_path(&buf, g, l, e);
	appendStringInfoString(&buf, "</g>\n<g class=\"cg-labels\">\n");
	for (int e = 0; e < g->nedges; e++)
	{
		CHECK_FOR_INTERRUPTS();
		edge_label(&buf, g, l, e);
	}
	appendStringInfoString(&buf, "</g>\n<g class=\"cg-nodes\">\n");
	for (int i = 0; i < g->nnodes; i++)
	{
		const OutputVertex *v = &l->verts[i];

		CHECK_FOR_INTERRUPTS();
		node(&buf, &g->nodes[i], output_column_x(v->layer), v->y - OUT_NODE_H / 2);
	}
	appendStringInfoString(&buf, "</g>\n");

	/* legend */
	appendStringInfo(&buf, "<g class=\"cg-legend\" transform=\"translate(%.1f,%.1f)\">", OUT_MARGIN, l->height - 26);
	lx = 0;
	for (int i = 0; i < 6; i++)
	{
		const OutputStyle *st = &output_domain_styles[i];

		appendStringInfo(&buf, "<rect x=\"%.1f\" y=\"-9\" width=\"14\" height=\"12\" rx=\"3\" fill=\"%s\" stroke=\"%s\"/>"
						 "<text x=\"%.1f\" y=\"1.5\">%s</text>", lx, st->fill, st->stroke, lx + 19, st->domain);
		lx += 19 + strlen(st->domain) * 6.4 + 16;
	}
	appendStringInfo(&buf, "<path d=\"M%.1f,-3 h30\" stroke=\"" CUT_COLOUR "\" stroke-width=\"2.5\" stroke-dasharray=\"7 4\"/>"
					 "<text x=\"%.1f\" y=\"1.5\">minimum cut</text>", lx, lx + 36);
	lx += 36 + 11 * 6.4 + 16;
	appendStringInfo(&buf, "<text x=\"%.1f\" y=\"1.5\">line width: likelihood</text>", lx);
	appendStringInfoString(&buf, "</g>\n</svg>\n");
	return buf.data;
}
