/* libFuzzer target: the post parser, and the capped reader over the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "normalize.h"
#include "post.h"
#include "reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf norm = BUF_INIT;
	struct post p;
	char err[256];
	FILE *f;

	if (post_parse((const char *)data, size, &p, err, sizeof err) == 0) {
		normalize(p.text, p.text_len, &norm);
		post_release(&p);
	}
	if (size > 0 && (f = fmemopen((void *)data, size, "r")) != NULL) {
		struct reader *r = reader_new(f, 64);
		const char *line;
		size_t len;
		enum reader_status st;

		while ((st = reader_next(r, &line, &len)) != READER_EOF && st != READER_IO) {
			if (st == READER_LINE && post_parse(line, len, &p, err, sizeof err) == 0)
				post_release(&p);
		}
		reader_free(r);
		fclose(f);
	}
	buf_free(&norm);
	return 0;
}
