/*
 * The table of source types. Adding a type is one file (source_NAME.c, with
 * its start and stop) and one row here; daemon.c walks the table and knows
 * no type by name.
 */
#include <stddef.h>

#include "source.h"
#include "source_bluesky.h"
#include "source_file.h"
#include "source_mastodon.h"
#include "source_x.h"

/* The order is the start order, as it was before the table. */
const struct source_type source_types[] = {
    {"bluesky", source_bluesky_start, source_bluesky_stop},
    {"file", source_file_start, source_file_stop},
    {"mastodon", source_mastodon_start, source_mastodon_stop},
    {"x", source_x_start, source_x_stop},
    {"push", NULL, NULL},
    {NULL, NULL, NULL},
};
