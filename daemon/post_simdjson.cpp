/*
 * The fast path of post_parse(): simdjson reads a native post about twenty
 * times faster than jansson, whose lexer takes one byte at a time through a
 * callback (bench/run). It accepts only what jansson would accept exactly as
 * read; anything else goes back to jansson, which decides and words the
 * error, so both paths give the same post or the same message (fuzz_post
 * compares them).
 */
#define SIMDJSON_EXCEPTIONS 0
#include <simdjson.h>

#include <cstdlib>
#include <cstring>
#include <new>
#include <string_view>

extern "C" {
#include "post.h"
#include "post_fields.h"
}

struct post_parser {
	simdjson::dom::parser dom;
};

/* Past this many keys the duplicate check would be quadratic; jansson hashes. */
static const size_t max_keys = 32;

extern "C" struct post_parser *
post_parser_new(void)
{
	post_parser *pp = new (std::nothrow) post_parser;

	if (pp == nullptr)
		abort(); /* out of memory is fatal, as in xmalloc */
	return pp;
}

extern "C" void
post_parser_free(struct post_parser *pp)
{
	delete pp;
}

extern "C" int
post_scan_fast(struct post_parser *pp, const char *line, size_t len,
    struct post_value v[PK_COUNT])
{
	simdjson::dom::element doc;
	simdjson::dom::object obj;
	std::string_view keys[max_keys];
	size_t nkeys = 0;

	if (pp->dom.parse(line, len).get(doc) != simdjson::SUCCESS ||
	    doc.get_object().get(obj) != simdjson::SUCCESS)
		return 0;
	for (int k = 0; k < PK_COUNT; k++)
		v[k] = post_value{PV_ABSENT, nullptr, 0, 0};
	for (simdjson::dom::key_value_pair kv : obj) {
		std::string_view key = kv.key;

		/* jansson refuses NULs in keys and, with REJECT_DUPLICATES, repeats. */
		if (nkeys == max_keys || key.find('\0') != std::string_view::npos)
			return 0;
		for (size_t i = 0; i < nkeys; i++)
			if (keys[i] == key)
				return 0;
		keys[nkeys++] = key;

		struct post_value pv = {PV_OTHER, nullptr, 0, 0};
		std::string_view s;
		switch (kv.value.type()) {
		case simdjson::dom::element_type::STRING:
			/* simdjson refuses a lone surrogate escape, as jansson does. */
			if (kv.value.get_string().get(s) != simdjson::SUCCESS)
				return 0;
			pv.kind = PV_STRING;
			pv.s = s.data();
			pv.len = s.size();
			break;
		case simdjson::dom::element_type::INT64:
			pv.kind = PV_INT;
			pv.i = kv.value.get_int64().value_unsafe();
			break;
		case simdjson::dom::element_type::BOOL:
			pv.kind = PV_BOOL;
			pv.i = kv.value.get_bool().value_unsafe();
			break;
		case simdjson::dom::element_type::NULL_VALUE:
			pv.kind = PV_NULL;
			break;
		default:
			/*
			 * Nested values, reals and integers past int64 differ in what
			 * the two parsers accept at the edges (depth, -0, 1e400,
			 * 2^63); posts have none, so jansson takes those lines.
			 */
			return 0;
		}
		int k = post_key_find(key.data(), key.size());
		if (k >= 0)
			v[k] = pv;
	}
	return 1;
}
