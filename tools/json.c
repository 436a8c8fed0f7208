/* SPDX-License-Identifier: MIT */
/*
 * json.c - the tiny JSON writer behind every --json output: no library, no
 * allocation, one nesting stack. The library's own printers (buddyinfo,
 * counters) stay the source of their formats; `pmm info --json` embeds
 * their text with jw_raw().
 */
#include <math.h>

#include "cli.h"

void jw_init(struct jw *w, FILE *f)
{
	w->f = f;
	w->depth = 0;
	w->first[0] = true;
}

static void jw_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\t': fputs("\\t", f); break;
		case '\r': fputs("\\r", f); break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

/* Separator and key before any value; keys only mean something in objects. */
static void jw_member(struct jw *w, const char *key)
{
	if (!w->first[w->depth])
		fputc(',', w->f);
	w->first[w->depth] = false;
	if (key) {
		jw_string(w->f, key);
		fputc(':', w->f);
	}
}

static void jw_open(struct jw *w, const char *key, int c)
{
	jw_member(w, key);
	fputc(c, w->f);
	/* Deeper nesting than any output here needs is a programming error;
	 * keep writing valid JSON by sharing the last level's state. */
	if (w->depth < JW_MAX_DEPTH - 1)
		w->depth++;
	w->first[w->depth] = true;
}

static void jw_close(struct jw *w, int c)
{
	fputc(c, w->f);
	if (w->depth > 0)
		w->depth--;
}

void jw_obj_begin(struct jw *w, const char *key) { jw_open(w, key, '{'); }
void jw_obj_end(struct jw *w) { jw_close(w, '}'); }
void jw_arr_begin(struct jw *w, const char *key) { jw_open(w, key, '['); }
void jw_arr_end(struct jw *w) { jw_close(w, ']'); }

void jw_str(struct jw *w, const char *key, const char *val)
{
	jw_member(w, key);
	if (val)
		jw_string(w->f, val);
	else
		fputs("null", w->f);
}

void jw_u64(struct jw *w, const char *key, uint64_t val)
{
	jw_member(w, key);
	fprintf(w->f, "%llu", (unsigned long long)val);
}

void jw_i64(struct jw *w, const char *key, int64_t val)
{
	jw_member(w, key);
	fprintf(w->f, "%lld", (long long)val);
}

void jw_double(struct jw *w, const char *key, double val)
{
	jw_member(w, key);
	if (isfinite(val))
		fprintf(w->f, "%.6g", val);
	else
		fputs("null", w->f);
}

void jw_bool(struct jw *w, const char *key, bool val)
{
	jw_member(w, key);
	fputs(val ? "true" : "false", w->f);
}

void jw_raw(struct jw *w, const char *key, const char *json)
{
	jw_member(w, key);
	fputs(json && *json ? json : "null", w->f);
}
