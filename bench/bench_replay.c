/*
 * Replay throughput by stage: parse only, parse + normalize + match, and the
 * full pipeline (the same code deflectd replay runs). Prints posts/s.
 * usage: bench_replay --rules DIR FILE
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "match.h"
#include "normalize.h"
#include "pipeline.h"
#include "reader.h"

enum stage { STAGE_PARSE, STAGE_MATCH, STAGE_FULL };

static uint64_t findings;

static void
count_event(void *arg, const struct event *ev)
{
	(void)arg;
	(void)ev;
	findings++;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds this process has used: on a shared machine, the figure to compare. */
static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs one stage over the whole file; returns posts processed. */
static uint64_t
run(enum stage stage, const char *path, struct ruleset *rs, double *secs, double *cpu)
{
	FILE *f = fopen(path, "rb");
	struct reader *rd;
	struct match_scratch *ms = match_scratch_new();
	struct post_parser *pp = post_parser_new();
	struct buf norm = BUF_INIT;
	struct config *cfg = config_default();
	struct pipeline_config pc;
	struct pipeline *pl;
	const char *line;
	size_t len;
	char err[256];
	struct post p;
	uint64_t n = 0;
	double t0, c0;

	if (f == NULL) {
		perror(path);
		exit(1);
	}
	rd = reader_new(f, READER_DEFAULT_MAX);
	config_pipeline(cfg, &pc, 1);
	pl = pipeline_new(&pc, rs, count_event, NULL);
	t0 = now();
	c0 = cpu_now();
	while (reader_next(rd, &line, &len) == READER_LINE) {
		if (post_parse(pp, line, len, &p, err, sizeof err) != 0)
			continue;
		n++;
		if (stage == STAGE_MATCH) {
			struct match m[64];
			struct match_input in = {0};

			normalize(p.text, p.text_len, &norm);
			in.text = norm.s;
			in.len = norm.len;
			in.role = p.author_is_brand == 1 ? ROLE_BRAND : ROLE_CUSTOMER;
			in.brand = p.brand;
			in.platform = p.platform;
			in.first_per_kind = 1;
			match_run(rs, ms, &in, m, 64);
		}
		if (stage == STAGE_FULL)
			pipeline_post(pl, &p);
		else
			post_release(&p);
	}
	if (stage == STAGE_FULL)
		pipeline_drain(pl);
	*secs = now() - t0;
	*cpu = cpu_now() - c0;
	pipeline_free(pl);
	config_free(cfg);
	buf_free(&norm);
	match_scratch_free(ms);
	post_parser_free(pp);
	reader_free(rd);
	fclose(f);
	return n;
}

int
main(int argc, char **argv)
{
	static const char *names[] = {"parse", "parse+normalize+match", "full replay"};
	struct diag d = DIAG_INIT;
	struct ruleset *rs;

	if (argc != 4 || strcmp(argv[1], "--rules") != 0) {
		fprintf(stderr, "usage: bench_replay --rules DIR FILE\n");
		return 2;
	}
	if ((rs = ruleset_load_dir(argv[2], &d)) == NULL) {
		for (size_t i = 0; i < d.n; i++)
			fprintf(stderr, "%s\n", d.msgs[i]);
		return 1;
	}
	printf("rules: %zu (JIT %s)\n", rs->n, rs->jit ? "on" : "off");
	for (int s = STAGE_PARSE; s <= STAGE_FULL; s++) {
		double secs, cpu;
		uint64_t n = run((enum stage)s, argv[3], rs, &secs, &cpu);

		printf("%-24s %9llu posts %7.3f s %10.0f posts/s   cpu %7.3f s %10.0f posts/s\n",
		    names[s], (unsigned long long)n, secs, (double)n / secs, cpu, (double)n / cpu);
	}
	printf("findings (full replay): %llu\n", (unsigned long long)findings);
	ruleset_free(rs);
	return 0;
}
