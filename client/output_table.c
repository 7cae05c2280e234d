/*
 * Aligned tables for aiojobctl: cells collected row by row, each column
 * printed as wide as its widest cell.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "output.h"
#include "xmalloc.h"

struct output_table {
	size_t	  ncols;
	char	**cells;	/* row-major, the headers first */
	size_t	  ncells;
	size_t	  alloc;
};

/* Append a cell, copied, with control characters made visible as '?'. */
static void
output_table_add(struct output_table *t, char *s)
{
	char	*p;

	for (p = s; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
	if (t->ncells == t->alloc) {
		t->alloc = t->alloc == 0 ? 64 : t->alloc * 2;
		t->cells = xreallocarray(t->cells, t->alloc, sizeof *t->cells);
	}
	t->cells[t->ncells++] = s;
}

/* A table with the given NULL-terminated column headers. */
struct output_table *
output_table_create(const char *const *heads)
{
	struct output_table	*t;

	t = xcalloc(1, sizeof *t);
	while (heads[t->ncols] != NULL)
		output_table_add(t, xstrdup(heads[t->ncols++]));
	return (t);
}

void
output_table_free(struct output_table *t)
{
	size_t	 i;

	if (t == NULL)
		return;
	for (i = 0; i < t->ncells; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

/* Start a new row; a short row before it is filled with empty cells. */
void
output_table_row(struct output_table *t)
{
	while (t->ncells % t->ncols != 0)
		output_table_add(t, xstrdup(""));
}

void
output_table_cell(struct output_table *t, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		abort();
	va_end(ap);
	output_table_add(t, s);
}

/* Columns on a terminal: UTF-8 continuation bytes take no room. */
static size_t
output_width(const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++) {
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	}
	return (n);
}

/* The width of each column: its widest cell. */
static size_t *
output_table_widths(struct output_table *t)
{
	size_t	*w, i, n;

	w = xcalloc(t->ncols, sizeof *w);
	for (i = 0; i < t->ncells; i++) {
		n = output_width(t->cells[i]);
		if (n > w[i % t->ncols])
			w[i % t->ncols] = n;
	}
	return (w);
}

/* Print the table; a row ends after its last non-empty cell. */
void
output_table_print(struct output_table *t, FILE *f)
{
	char	**row;
	size_t	 *w, r, c, last;

	output_table_row(t);
	w = output_table_widths(t);
	for (r = 0; r < t->ncells; r += t->ncols) {
		row = t->cells + r;
		last = t->ncols - 1;
		while (last > 0 && *row[last] == '\0')
			last--;
		for (c = 0; c < last; c++)
			fprintf(f, "%s%*s", row[c],
			    (int)(w[c] - output_width(row[c]) + 2), "");
		fprintf(f, "%s\n", row[last]);
	}
	free(w);
}
