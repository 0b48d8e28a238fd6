/*
 * One case in full, built once from the state database for `deflectd case
 * show`, GET /v1/cases/{id} and the /cases/{id} page: the case, its
 * timeline (the deflecting post and every later post that changed it, each
 * with time, author role, text, URL, rule, matched span and the finding it
 * caused), its alerts with their deliveries, and the operator's verdict.
 */
#ifndef DEFLECTD_CASE_DETAIL_H
#define DEFLECTD_CASE_DETAIL_H

#include <jansson.h>

#include "store.h"

/* Is s a case id: decimal digits only, short enough for SQLite's rowid? */
int case_id_valid(const char *s);

/*
 * The case with decimal id, as a new JSON object the caller owns; NULL with
 * *missing set when no case has that id, NULL with *missing clear when the
 * state database failed (logged).
 */
json_t *case_detail(struct store *st, const char *id, int *missing);

#endif
