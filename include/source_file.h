/*
 * The file source: follows a growing NDJSON file like "tail -F", surviving
 * rotation and truncation, and resumes after a restart from the offset saved
 * with the last batch it handed in.
 */
#ifndef DEFLECTD_SOURCE_FILE_H
#define DEFLECTD_SOURCE_FILE_H

#include <stddef.h>

struct deflectd;

/* Starts every [source] of type file; -1 with a message in err. */
int source_file_start_all(struct deflectd *d, char *err, size_t errlen);
void source_file_stop_all(struct deflectd *d);

#endif
