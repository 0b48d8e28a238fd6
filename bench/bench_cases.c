/*
 * Memory per open case: opens N cases (default 1M) in the tracker the way
 * the pipeline does (a customer post, then the brand's deflecting reply)
 * and prints the resident memory they take.
 * usage: bench_cases [N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tracker.h"

static void
ignore(void *arg, const struct finding *f)
{
	(void)arg;
	(void)f;
}

/* Resident set size in bytes, from /proc. */
static long
rss(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, resident = 0;

	if (f == NULL)
		return 0;
	if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
		resident = 0;
	fclose(f);
	return resident * 4096;
}

int
main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000000;
	struct tracker_config cfg = {72 * 3600, NULL, 0, 30 * 86400};
	struct tracker *t = tracker_new(&cfg, ignore, NULL);
	struct tracker_stats st;
	char id[32], qid[32], conv[32], cust[32];
	long before = rss();

	for (long i = 0; i < n; i++) {
		struct tracker_post p;

		/* Ids as long as real ones: 19-digit snowflakes. */
		snprintf(conv, sizeof conv, "1%018ld", i);
		snprintf(qid, sizeof qid, "2%018ld", i);
		snprintf(id, sizeof id, "3%018ld", i);
		snprintf(cust, sizeof cust, "customer_%ld", i);
		memset(&p, 0, sizeof p);
		p.id = qid;
		p.platform = "twitter";
		p.conversation_id = conv;
		p.author = cust;
		p.at = 1700000000 + i / 100;
		tracker_advance(t, p.at);
		tracker_post(t, &p);
		p.id = id;
		p.in_reply_to_id = qid;
		p.author = "AcmeSupport";
		p.brand = "acme";
		p.is_brand = 1;
		p.v[RULE_DEFLECTION] = (struct verdict){"dm-request", 10, 15, 0};
		tracker_post(t, &p);
	}
	tracker_stats(t, &st);
	long after = rss();
	printf("open cases: %llu\n", (unsigned long long)st.open);
	printf("resident memory for cases and their remembered posts: %.1f MiB\n",
	    (double)(after - before) / 1048576);
	printf("per open case, with its two remembered posts: %.0f bytes\n",
	    (double)(after - before) / (double)st.open);
	tracker_free(t);
	return 0;
}
