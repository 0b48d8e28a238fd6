/*
 * The file source: follows a growing NDJSON file like "tail -F", surviving
 * rotation and truncation, and resumes after a restart from the offset saved
 * with the last batch it handed in.
 */
#ifndef DEFLECTD_SOURCE_FILE_H
#define DEFLECTD_SOURCE_FILE_H

#include <stddef.h>

#include "source.h"

/* Starts one [source] of type file; NULL with a message in err. */
void *source_file_start(const struct config_section *sec, struct ingest *in, char *err,
    size_t errlen);
/* Stops it; the saved offset stays for the next start. */
void source_file_stop(void *src);

#endif
