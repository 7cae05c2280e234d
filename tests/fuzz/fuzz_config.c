/*
 * libFuzzer harness: aiojobsd.conf through config_load (inih and the key
 * table), then what --check-config and SIGHUP do with the result. The
 * input is written to a memfd so config_load reads it by path.
 *
 * It also checks the promise of config_print ("as a file that would
 * produce it"): the printed configuration loads again and prints the same.
 */
#include <sys/mman.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct fuzz_file {
	int	 fd;
	char	 path[64];
};

static struct fuzz_file	 fuzz_in, fuzz_out;
static FILE		*fuzz_null;

static void
fuzz_file_open(struct fuzz_file *ff, const char *name)
{
	if ((ff->fd = memfd_create(name, 0)) == -1) {
		perror("memfd_create");
		abort();
	}
	snprintf(ff->path, sizeof ff->path, "/proc/self/fd/%d", ff->fd);
}

/* Replace the file's contents. */
static void
fuzz_file_write(struct fuzz_file *ff, const void *buf, size_t len)
{
	if (ftruncate(ff->fd, 0) == -1 ||
	    (len > 0 && pwrite(ff->fd, buf, len, 0) != (ssize_t)len)) {
		perror("memfd write");
		abort();
	}
}

/* config_print without its first line, which names the file. */
static char *
fuzz_print(const struct config *c, size_t *len)
{
	char	*text, *nl;
	FILE	*f;

	if ((f = open_memstream(&text, len)) == NULL)
		abort();
	config_print(c, f);
	fclose(f);
	if ((nl = strchr(text, '\n')) != NULL) {
		memmove(text, nl + 1, strlen(nl + 1) + 1);
		*len = strlen(text);
	}
	return (text);
}

/* What was printed loads again, to the same configuration. */
static void
fuzz_check_print(const struct config *c)
{
	struct config	 again;
	char		*text, *text2, *cause;
	size_t		 len, len2;

	text = fuzz_print(c, &len);
	fuzz_file_write(&fuzz_out, text, len);
	config_defaults(&again);
	if (config_load(&again, fuzz_out.path, 1, &cause) != 0) {
		fprintf(stderr, "fuzz_config: config_print output does not "
		    "load: %s\n%s", cause, text);
		abort();
	}
	text2 = fuzz_print(&again, &len2);
	if (strcmp(text, text2) != 0) {
		fprintf(stderr, "fuzz_config: config_print output loads to "
		    "another configuration:\n%s---\n%s", text, text2);
		abort();
	}
	config_clear(&again);
	free(text2);
	free(text);
}

/* What a reload does: compare each key, copy the changed ones over. */
static void
fuzz_reload(struct config *c)
{
	struct config	 old;
	size_t		 i;

	config_defaults(&old);
	for (i = 0; i < config_nkeys(); i++) {
		if (!config_key_equal(&old, c, (int)i))
			config_key_copy(&old, c, (int)i);
	}
	config_clear(&old);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config	 c;
	char		*cause = NULL;

	if (fuzz_null == NULL) {
		fuzz_file_open(&fuzz_in, "fuzz_config_in");
		fuzz_file_open(&fuzz_out, "fuzz_config_out");
		if ((fuzz_null = fopen("/dev/null", "w")) == NULL)
			abort();
	}
	fuzz_file_write(&fuzz_in, data, size);
	config_defaults(&c);
	if (config_load(&c, fuzz_in.path, 1, &cause) == 0) {
		config_print(&c, fuzz_null);
		fuzz_reload(&c);
		config_resolve(&c);	/* as --check-config prints it */
		fuzz_check_print(&c);
	} else
		free(cause);
	config_clear(&c);
	return (0);
}
