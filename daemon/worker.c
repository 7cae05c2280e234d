/*
 * A worker process: `aiojobsd --worker ...`, spawned by the pool with
 * fork+exec. It talks to the dispatcher over the socket inherited as fd 3
 * (framed as poolwire.h says): says hello, then runs one function call at
 * a time, in the order they come: the request is the job's args
 * ({"fn": ..., "input": ...}), the reply "O<output JSON>" or
 * "E<code> <message>". It exits when the socket reaches EOF (the
 * dispatcher is gone). Functions may crash: the dispatcher notices.
 */
#include <sys/prctl.h>
#include <sys/resource.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aiojobsd.h"
#include "fns/fns.h"
#include "poolwire.h"

/*
 * What one read asks for; the buffer grows for a bigger request. Above
 * malloc's mmap threshold and its first heap: allocating it maps fresh
 * memory, which a worker whose address-space limit leaves it no room
 * for cannot do (see worker_main).
 */
#define WORKER_READ	(256 * 1024)

struct worker_opts {
	const char	*plugin_dir;
	int		 parent_fd;
	long long	 memory_limit;
	long long	 cpu_limit;
};

/* Whether a call left this worker holding over half its memory limit. */
static int
worker_bloated(const struct worker_opts *o)
{
	long	 pages = 0, rss = 0;
	FILE	*f;

	if (o->memory_limit <= 0 || (f = fopen("/proc/self/statm", "r")) == NULL)
		return (0);
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = 0;
	fclose(f);
	return ((long long)rss * sysconf(_SC_PAGESIZE) > o->memory_limit / 2);
}

/* Write all of buf, or exit: the dispatcher is gone. */
static void
worker_write(int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			_exit(3);
		}
		p += n;
		len -= (size_t)n;
	}
}

/*
 * Send a reply. A worker that a call left bloated says so with the reply
 * ('o' or 'e' instead of 'O' or 'E'); the dispatcher, once it has the
 * reply, replaces it (exiting here could lose the reply).
 */
static void
worker_reply(int fd, const struct worker_opts *o, char kind, const char *a,
    const char *b)
{
	char		*msg;
	uint32_t	 len;
	int		 n;

	if (o != NULL && kind != 'H' && worker_bloated(o))
		kind = (char)(kind - 'A' + 'a');

	/* room for the length in front: one write a reply */
	n = asprintf(&msg, "%4s%c%s%s%s", "", kind, a, b != NULL ? " " : "",
	    b != NULL ? b : "");
	if (n < 0 || (size_t)n - POOL_WIRE_HDR > POOL_WIRE_MAX)
		_exit(3);
	len = (uint32_t)((size_t)n - POOL_WIRE_HDR);
	memcpy(msg, &len, sizeof len);
	worker_write(fd, msg, (size_t)n);
	free(msg);
}

/* Run one call: parse the args, find the function, reply. */
static void
worker_call(int fd, const struct worker_opts *o, const char *buf,
    size_t len)
{
	cJSON		*args, *fn, *input, *out;
	aiojobs_fn	*f = NULL;
	char		*error = NULL, *text;

	if ((args = cJSON_ParseWithLength(buf, len)) == NULL ||
	    !cJSON_IsString(fn = cJSON_GetObjectItemCaseSensitive(args, "fn"))) {
		worker_reply(fd, o, 'E', "fn_error", "bad arguments");
		cJSON_Delete(args);
		return;
	}
	if ((input = cJSON_GetObjectItemCaseSensitive(args, "input")) == NULL)
		input = cJSON_AddNullToObject(args, "input");
	if ((f = fns_builtin(fn->valuestring)) == NULL &&
	    (f = fns_plugin(o->plugin_dir, fn->valuestring, &error)) == NULL) {
		worker_reply(fd, o, 'E', "unknown_fn", error != NULL ? error :
		    fn->valuestring);
		goto out;
	}
	if ((out = f(input, &error)) == NULL) {
		worker_reply(fd, o, 'E', "fn_error", error != NULL ? error :
		    "the function failed without a message");
		goto out;
	}
	text = cJSON_PrintUnformatted(out);
	cJSON_Delete(out);
	if (text == NULL)
		worker_reply(fd, o, 'E', "fn_error", "out of memory");
	else
		worker_reply(fd, o, 'O', text, NULL);
	cJSON_free(text);
out:
	free(error);
	cJSON_Delete(args);
}

static void
worker_limits(const struct worker_opts *o)
{
	struct rlimit	 rl;

#if defined(__SANITIZE_ADDRESS__)
	/* AddressSanitizer reserves terabytes of address space */
	if (o->memory_limit > 0)
		fprintf(stderr, "aiojobsd worker: no address-space limit in an "
		    "AddressSanitizer build\n");
	return;
#endif
	if (o->memory_limit > 0) {
		rl.rlim_cur = rl.rlim_max = (rlim_t)o->memory_limit;
		setrlimit(RLIMIT_AS, &rl);
	}
}

/*
 * RLIMIT_CPU counts the whole process: give each call its own budget by
 * moving the soft limit (SIGXCPU) to what is used now plus the limit.
 */
static void
worker_cpu_budget(const struct worker_opts *o)
{
	struct rusage	 ru;
	struct rlimit	 rl;

	if (o->cpu_limit <= 0 || getrusage(RUSAGE_SELF, &ru) == -1)
		return;
	getrlimit(RLIMIT_CPU, &rl);
	rl.rlim_cur = (rlim_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	    o->cpu_limit + 1);
	setrlimit(RLIMIT_CPU, &rl);
}


/*
 * Read requests from the dispatcher and run them in order. Several may
 * come in one read; a request bigger than the buffer grows it.
 */
static void
worker_loop(int fd, const struct worker_opts *o, char *buf, size_t size)
{
	size_t		 have = 0, used, need;
	uint32_t	 len;
	ssize_t		 n;

	for (;;) {
		if ((n = read(fd, buf + have, size - have)) == -1) {
			if (errno == EINTR)
				continue;
			_exit(3);
		}
		if (n == 0)
			_exit(0);	/* the dispatcher is gone */
		have += (size_t)n;
		used = 0;
		while (have - used >= POOL_WIRE_HDR) {
			memcpy(&len, buf + used, sizeof len);
			if (len > POOL_WIRE_MAX)
				_exit(3);
			need = POOL_WIRE_HDR + len;
			if (have - used < need)
				break;
			worker_cpu_budget(o);
			worker_call(fd, o, buf + used + POOL_WIRE_HDR, len);
			used += need;
		}
		memmove(buf, buf + used, have - used);
		have -= used;
		if (have >= POOL_WIRE_HDR) {
			memcpy(&len, buf, sizeof len);
			need = POOL_WIRE_HDR + len;
			if (need > size) {
				if ((buf = realloc(buf, need)) == NULL)
					_exit(3);
				size = need;
			}
		}
	}
}

static int
worker_args(int argc, char **argv, struct worker_opts *o)
{
	static const struct option longopts[] = {
		{ "plugin-dir", required_argument, NULL, 'p' },
		{ "parent-fd", required_argument, NULL, 'f' },
		{ "memory-limit", required_argument, NULL, 'm' },
		{ "cpu-limit", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 }
	};
	int	 ch;

	memset(o, 0, sizeof *o);
	o->parent_fd = -1;
	o->plugin_dir = ".";
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'p': o->plugin_dir = optarg; break;
		case 'f': o->parent_fd = atoi(optarg); break;
		case 'm': o->memory_limit = atoll(optarg); break;
		case 'c': o->cpu_limit = atoll(optarg); break;
		default: return (-1);
		}
	}
	return (o->parent_fd < 0 ? -1 : 0);
}

/* The worker's main: never returns to the daemon's. */
int
worker_main(int argc, char **argv)
{
	struct worker_opts	 o;
	char			 hello[32];
	char			*buf;

	if (worker_args(argc, argv, &o) != 0) {
		fprintf(stderr, "aiojobsd --worker: started by the daemon "
		    "only\n");
		return (2);
	}
	signal(SIGPIPE, SIG_IGN);
	/* a busy worker never reads fd 3: die with the dispatcher anyway */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		return (0);
	worker_limits(&o);
	/* a worker that cannot map its buffer could run nothing: no hello */
	if ((buf = malloc(WORKER_READ)) == NULL) {
		fprintf(stderr, "aiojobsd worker: out of memory\n");
		return (3);
	}
	snprintf(hello, sizeof hello, "%ld", (long)getpid());
	worker_reply(o.parent_fd, NULL, 'H', hello, NULL);
	worker_loop(o.parent_fd, &o, buf, WORKER_READ);
	return (0);
}
