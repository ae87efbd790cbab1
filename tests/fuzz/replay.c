/* Replay a fuzz target over saved inputs, without libFuzzer: each argument
 * is a directory whose files are handed to LLVMFuzzerTestOneInput() one
 * by one, in name order.  A directory that does not exist holds nothing
 * (a target with no crash kept has no regress/ directory); no input at
 * all is an error, so a corpus that went missing fails the test.  A crash
 * or a sanitizer report ends the process, which fails the test; the input
 * that did it is named on stderr first. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "fuzz.h"

static int compare(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Run every file in @dir; returns how many, or -1 on an error. */
static int replay_dir(const char *dir)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	GDir *d = g_dir_open(dir, 0, &error);
	const char *name;

	if (!d) {
		if (g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			return 0;
		fprintf(stderr, "replay: %s\n", error->message);
		return -1;
	}
	while ((name = g_dir_read_name(d)) != NULL)
		g_ptr_array_add(names, g_strdup(name));
	g_dir_close(d);
	g_ptr_array_sort(names, compare);
	for (guint i = 0; i < names->len; i++) {
		g_autofree char *path = g_build_filename(dir, names->pdata[i],
							 NULL);
		g_autofree char *data = NULL;
		gsize len;

		if (!g_file_get_contents(path, &data, &len, &error)) {
			fprintf(stderr, "replay: %s\n", error->message);
			return -1;
		}
		fprintf(stderr, "replay: %s\n", path);
		LLVMFuzzerTestOneInput((const uint8_t *)data, len);
	}
	return (int)names->len;
}

int main(int argc, char **argv)
{
	int total = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		int n = replay_dir(argv[i]);

		if (n < 0)
			return 1;
		printf("%s: %d inputs\n", argv[i], n);
		total += n;
	}
	if (total == 0) {
		fprintf(stderr, "replay: no inputs at all\n");
		return 1;
	}
	printf("replayed %d inputs\n", total);
	return 0;
}
