/*
 * The table of source types. Adding a type is one file (source_NAME.c, with
 * its start and stop) and one row here (its config keys, token key, start
 * and stop); daemon.c walks the table and config.c checks sections against
 * it, neither knowing any type by name.
 */
#include <stddef.h>
#include <string.h>

#include "source.h"
#include "source_bluesky.h"
#include "source_file.h"
#include "source_mastodon.h"
#include "source_x.h"

/*
 * The order is the one messages list the types in; start says when the
 * daemon starts a type's sections (which token error a broken config
 * reports first depends on it).
 */
const struct source_type source_types[] = {
    {{"file", "type path format", "path", NULL}, NULL, NULL, 1, source_file_start,
	source_file_stop},
    /* Comes in by the admin API: nothing to start. */
    {{"push", "type", NULL, NULL}, NULL, NULL, 4, NULL, NULL},
    {{"x", "type url bearer_token_file stall_timeout poll_interval backoff_scale", NULL,
	 NULL}, "bearer_token_file", "x.token", 3, source_x_start, source_x_stop},
    {{"mastodon", "type url streaming_url token_file instance stream stall_timeout "
	 "poll_interval backoff_base backoff_max", "url,token_file", source_mastodon_check},
	"token_file", NULL, 2, source_mastodon_start, source_mastodon_stop},
    {{"bluesky", "type url poll_interval", NULL, NULL}, NULL, NULL, 0, source_bluesky_start,
	source_bluesky_stop},
    {{NULL, NULL, NULL, NULL}, NULL, NULL, 0, NULL, NULL},
};

const struct source_type *
source_type_started(size_t i)
{
	for (const struct source_type *t = source_types; t->conf.type != NULL; t++)
		if (t->start_order == (int)i)
			return t;
	return NULL;
}

const struct source_type *
source_type_find(const char *name)
{
	for (const struct source_type *t = source_types; name != NULL && t->conf.type != NULL;
	    t++)
		if (strcmp(t->conf.type, name) == 0)
			return t;
	return NULL;
}

const struct config_source_type *
source_config_type(size_t i)
{
	for (size_t k = 0; source_types[k].conf.type != NULL; k++)
		if (k == i)
			return &source_types[k].conf;
	return NULL;
}
