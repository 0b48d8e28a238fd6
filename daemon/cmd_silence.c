/*
 * deflectd silence add|list|expire. Like `alerts`, it works on the state
 * database directly (WAL lets the daemon run on), and the daemon reads the
 * silences there for every alert it raises, so a silence added here applies
 * to the very next alert without a reload or a restart.
 */
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cmd.h"
#include "log.h"
#include "silence.h"
#include "store.h"
#include "xmalloc.h"

static const char silence_usage[] =
    "usage: deflectd silence [-c FILE] add [--start TIME] [--end TIME | --duration D]\n"
    "                        --comment TEXT [--author NAME] FIELD=VALUE...\n"
    "       deflectd silence [-c FILE] list [--state active|pending|expired] [--json]\n"
    "       deflectd silence [-c FILE] expire ID...\n"
    "\n"
    "  add             keep alerts whose FIELD=VALUE matchers all hold from every\n"
    "                  webhook; FIELD is one of: brand rule tag customer conversation\n"
    "                  platform; prints the new silence's id\n"
    "  --start TIME    when it starts (RFC 3339; default now)\n"
    "  --end TIME      when it ends (RFC 3339), or --duration D from the start\n"
    "  --comment TEXT  why (required)\n"
    "  --author NAME   who (default $USER)\n"
    "  list            silences, oldest first; --state filters, --json as the API\n"
    "  expire          end silences now\n";

/* Builds the add request from the command line; NULL with a message printed. */
static json_t *
add_request(int argc, char **argv, const char *start, const char *end, const char *duration,
    const char *comment, const char *author)
{
	json_t *req = json_object(), *m = json_object();

	json_object_set_new(req, "matchers", m);
	for (int i = 0; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');

		if (eq == NULL || eq == argv[i]) {
			fprintf(stderr, "deflectd silence: \"%s\" is not FIELD=VALUE (FIELD one of: %s)\n",
			    argv[i], silence_fields);
			json_decref(req);
			return NULL;
		}
		char *field = xstrndup(argv[i], (size_t)(eq - argv[i]));
		if (json_object_get(m, field) != NULL) {
			fprintf(stderr, "deflectd silence: %s is given twice\n", field);
			free(field);
			json_decref(req);
			return NULL;
		}
		json_object_set_new(m, field, json_string(eq + 1));
		free(field);
	}
	if (start)
		json_object_set_new(req, "starts_at", json_string(start));
	if (end)
		json_object_set_new(req, "ends_at", json_string(end));
	if (duration)
		json_object_set_new(req, "duration", json_string(duration));
	if (comment)
		json_object_set_new(req, "comment", json_string(comment));
	if (author)
		json_object_set_new(req, "author", json_string(author));
	return req;
}

/* Prints a listing as a table: id, state, matchers, start, end, author, comment. */
static void
print_table(json_t *list)
{
	size_t i;
	json_t *s;

	printf("id\tstate\tmatchers\tstarts_at\tends_at\tauthor\tcomment\n");
	json_array_foreach(json_object_get(list, "silences"), i, s) {
		const char *k;
		json_t *v;
		int first = 1;

		printf("%s\t%s\t", json_string_value(json_object_get(s, "id")),
		    json_string_value(json_object_get(s, "state")));
		json_object_foreach(json_object_get(s, "matchers"), k, v) {
			printf("%s%s=%s", first ? "" : ",", k, json_string_value(v));
			first = 0;
		}
		printf("\t%s\t%s\t%s\t%s\n", json_string_value(json_object_get(s, "starts_at")),
		    json_string_value(json_object_get(s, "ends_at")),
		    json_string_value(json_object_get(s, "author")),
		    json_string_value(json_object_get(s, "comment")));
	}
}

int
cmd_silence(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"start", required_argument, NULL, 's'},
	    {"end", required_argument, NULL, 'e'},
	    {"duration", required_argument, NULL, 'd'},
	    {"comment", required_argument, NULL, 'm'},
	    {"author", required_argument, NULL, 'a'},
	    {"state", required_argument, NULL, 'S'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *config_path = NULL, *start = NULL, *end = NULL, *duration = NULL;
	const char *comment = NULL, *author = NULL, *state = NULL;
	int ch, as_json = 0, rc = 0;
	struct config *cfg;
	struct store *st;
	char err[1024];
	int64_t now = (int64_t)time(NULL);

	log_init(0);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': config_path = optarg; break;
		case 's': start = optarg; break;
		case 'e': end = optarg; break;
		case 'd': duration = optarg; break;
		case 'm': comment = optarg; break;
		case 'a': author = optarg; break;
		case 'S': state = optarg; break;
		case 'j': as_json = 1; break;
		case 'h': fputs(silence_usage, stdout); return 0;
		default: fputs(silence_usage, stderr); return 2;
		}
	}
	if (optind >= argc) {
		fputs(silence_usage, stderr);
		return 2;
	}
	const char *sub = argv[optind++];
	if (strcmp(sub, "add") != 0 && strcmp(sub, "list") != 0 && strcmp(sub, "expire") != 0) {
		fprintf(stderr, "deflectd silence: unknown subcommand \"%s\"\n", sub);
		fputs(silence_usage, stderr);
		return 2;
	}
	if (!silence_state_known(state)) {
		fprintf(stderr, "deflectd silence: no state \"%s\" (active, pending or expired)\n",
		    state);
		return 2;
	}
	if (strcmp(sub, "expire") == 0 && optind == argc) {
		fputs(silence_usage, stderr);
		return 2;
	}
	if (author == NULL && (author = getenv("USER")) == NULL) {
		struct passwd *pw = getpwuid(getuid());

		author = pw ? pw->pw_name : NULL;
	}
	if (load_quiet(config_path, NULL, &cfg, NULL) != 0)
		return 1;
	if ((st = store_open(cfg->state_dir, err, sizeof err)) == NULL) {
		fprintf(stderr, "deflectd: %s\n", err);
		config_free(cfg);
		return 1;
	}
	if (strcmp(sub, "add") == 0) {
		json_t *req = add_request(argc - optind, argv + optind, start, end, duration, comment,
		    author), *s = NULL;
		int status;

		if (req != NULL && (s = silence_create(st, req, now, &status, err, sizeof err)) == NULL)
			fprintf(stderr, "deflectd silence: %s\n", err);
		if (s != NULL)
			printf("%s\n", json_string_value(json_object_get(s, "id")));
		rc = s == NULL;
		json_decref(req);
		json_decref(s);
	} else if (strcmp(sub, "list") == 0) {
		json_t *list = silence_list(st, now, state);

		if (as_json) {
			char *s = json_dumps(list, JSON_COMPACT);

			printf("%s\n", s);
			free(s);
		} else {
			print_table(list);
		}
		json_decref(list);
	} else {
		for (; optind < argc; optind++) {
			int status;

			if (silence_expire(st, argv[optind], now, &status, err, sizeof err) != 0) {
				fprintf(stderr, "deflectd silence: %s\n", err);
				rc = 1;
			} else {
				printf("silence %s expired\n", argv[optind]);
			}
		}
	}
	store_close(st);
	config_free(cfg);
	return rc;
}
