/*
 * The table of source types. Adding a type is one file (source_NAME.c, with
 * its start and stop) and one row here; daemon.c walks the table and knows
 * no type by name.
 */
#include <stddef.h>
#include <string.h>

#include "source.h"
#include "source_bluesky.h"
#include "source_file.h"
#include "source_mastodon.h"
#include "source_x.h"

/* The order is the start order, as it was before the table. */
const struct source_type source_types[] = {
    {"bluesky", NULL, NULL, source_bluesky_start, source_bluesky_stop},
    {"file", NULL, NULL, source_file_start, source_file_stop},
    /* config.c requires token_file of a mastodon source. */
    {"mastodon", "token_file", NULL, source_mastodon_start, source_mastodon_stop},
    {"x", "bearer_token_file", "x.token", source_x_start, source_x_stop},
    {"push", NULL, NULL, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

const struct source_type *
source_type_find(const char *name)
{
	for (const struct source_type *t = source_types; name != NULL && t->name != NULL; t++)
		if (strcmp(t->name, name) == 0)
			return t;
	return NULL;
}
