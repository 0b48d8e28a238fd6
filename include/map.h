/*
 * What a platform mapping wrote, told back with the lines: a source places
 * its saved position (newest id, time span of a page) from this instead of
 * parsing its own lines a second time (the ingest parses them once).
 */
#ifndef DEFLECTD_MAP_H
#define DEFLECTD_MAP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "post.h"

struct map_span {
	size_t posts;           /* lines appended */
	char newest_id[24];     /* the greatest all-digit id (post_id_cmp), "" when none */
	int64_t oldest, newest; /* created_at of the posts; 0 when posts is 0 */
};

/* Forgets everything: a mapping that took its lines back takes its span back too. */
static inline void
map_span_reset(struct map_span *s)
{
	if (s != NULL)
		memset(s, 0, sizeof *s);
}

/* Counts one appended post with its id and time (s may be NULL: nobody asked). */
static inline void
map_span_add(struct map_span *s, const char *id, int64_t t)
{
	size_t n = strlen(id);

	if (s == NULL)
		return;
	if (n < sizeof s->newest_id && strspn(id, "0123456789") == n &&
	    post_id_cmp(id, s->newest_id) > 0)
		memcpy(s->newest_id, id, n + 1);
	if (s->posts == 0 || t < s->oldest)
		s->oldest = t;
	if (s->posts == 0 || t > s->newest)
		s->newest = t;
	s->posts++;
}

#endif
