/*
 * libFuzzer target: the rule parser and compiler on arbitrary bytes. A form
 * feed splits the input into two files, so the second can override rules of
 * the first; the scope checks run on whatever loaded.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag d = DIAG_INIT, warn = DIAG_INIT;
	struct ruleset *rs = ruleset_new();
	const char *s = (const char *)data, *ff = memchr(s, '\f', size);
	size_t first = ff ? (size_t)(ff - s) : size;
	char *brands[] = {"acme", "globex"};

	ruleset_add_buffer(rs, "10-fuzz.rules", s, first, &d);
	if (ff != NULL)
		ruleset_add_buffer(rs, "99-fuzz.rules", ff + 1, size - first - 1, &d);
	ruleset_finish(rs, &d);
	ruleset_check_scope(rs, brands, 2, &warn);
	ruleset_free(rs);
	diag_free(&d);
	diag_free(&warn);
	return 0;
}
