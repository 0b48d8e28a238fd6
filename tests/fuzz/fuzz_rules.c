/* libFuzzer target: the rule parser and compiler on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>

#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag d = DIAG_INIT;
	struct ruleset *rs = ruleset_new();

	ruleset_add_buffer(rs, "fuzz.rules", (const char *)data, size, &d);
	ruleset_finish(rs, &d);
	ruleset_free(rs);
	diag_free(&d);
	return 0;
}
