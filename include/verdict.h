/*
 * Operator verdicts on cases: `deflectd case close`, POST
 * /v1/cases/{id}/verdict and `deflectd labels export`.
 *
 * The state database is the one authority. A verdict is a row of
 * case_verdicts written in one transaction with the case's move to state
 * "closed" (a case still deflected or unresolved; a case the tracker already
 * closed keeps its state). The running daemon's tracker only changes inside
 * its own write transactions, and each of those starts with verdict_sync()
 * under SQLite's write lock, so the tracker drops a closed case before it
 * can fire its deadline, whichever process wrote the verdict, and a restart
 * never restores it (only deflected and unresolved cases are restored).
 */
#ifndef DEFLECTD_VERDICT_H
#define DEFLECTD_VERDICT_H

#include <stdint.h>
#include <stdio.h>

#include "rules.h"
#include "store.h"
#include "tracker.h"

enum verdict_rc {
	VERDICT_OK = 0,
	VERDICT_FAILED = -1,  /* the state database failed (logged) */
	VERDICT_NO_CASE = -2, /* no case has that id */
	VERDICT_CLOSED = -3,  /* an operator closed the case before */
	VERDICT_BAD = -4,     /* an unknown verdict, a missing note, ... */
};

/* Longest note and author name a verdict keeps. */
#define VERDICT_NOTE_MAX 4096
#define VERDICT_AUTHOR_MAX 200

/*
 * Closes case id (its decimal id) with verdict as (resolved, not-deflection
 * or escalated), a note and its author, at now, inside the caller's
 * transaction. rs (may be NULL) gives the deflection rule's tags for the
 * label. Returns a verdict_rc; every error but VERDICT_FAILED leaves a
 * sentence in err and changes nothing.
 */
int verdict_close(struct store *st, const struct ruleset *rs, const char *id, const char *as,
    const char *note, const char *author, int64_t now, char *err, size_t errlen);

/*
 * Drops from the tracker the case of every verdict stored after *seq and
 * moves *seq to the newest. Call it first in every transaction that may
 * feed the tracker. Returns 0 or -1 (logged).
 */
int verdict_sync(struct store *st, struct tracker *t, int64_t *seq);

/*
 * Writes one label line per verdicted deflecting post (the newest verdict
 * wins), as test-rules --labels reads them: {"id","brand","label","unsure"},
 * label none for not-deflection, else dm or channel by the rule's tags.
 * Returns how many, or -1.
 */
long verdict_labels_export(struct store *st, FILE *f);

#endif
