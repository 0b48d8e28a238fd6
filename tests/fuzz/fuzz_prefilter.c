/*
 * libFuzzer target: the prefilter never hides a match. The first line is a
 * pattern, the rest a post's text; the normalized text is matched with the
 * prefilter and without it, as a brand and as a customer, and both must
 * give the same matches and spans.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "match.h"
#include "normalize.h"
#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *nl = memchr(s, '\n', size);
	struct diag d = DIAG_INIT;
	struct buf file = BUF_INIT, norm = BUF_INIT;
	struct ruleset *rs = ruleset_new();
	struct match_scratch *ms = match_scratch_new();

	if (nl == NULL)
		nl = s + size;
	/* A resolution rule applies to brands and customers alike. */
	buf_adds(&file, "[resolution fuzz]\npattern = ");
	buf_add(&file, s, (size_t)(nl - s));
	buf_adds(&file, "\n");
	ruleset_add_buffer(rs, "fuzz.rules", file.s, file.len, &d);
	ruleset_finish(rs, &d);
	if (d.n == 0 && rs->pf != NULL) {
		size_t off = nl < s + size ? (size_t)(nl - s) + 1 : size;
		struct match_input in = {0};
		struct match a[4], b[4];
		struct prefilter *pf = rs->pf;

		normalize(s + off, size - off, &norm);
		in.text = norm.s;
		in.len = norm.len;
		for (int role = ROLE_BRAND; role <= ROLE_CUSTOMER; role++) {
			in.role = (enum author_role)role;
			size_t na = match_run(rs, ms, &in, a, 4);
			rs->pf = NULL;
			size_t nb = match_run(rs, ms, &in, b, 4);
			rs->pf = pf;
			if (na != nb || (na > 0 && (a[0].start != b[0].start || a[0].end != b[0].end)))
				abort(); /* the prefilter skipped a pattern that matches */
		}
	}
	match_scratch_free(ms);
	ruleset_free(rs);
	buf_free(&norm);
	buf_free(&file);
	diag_free(&d);
	return 0;
}
