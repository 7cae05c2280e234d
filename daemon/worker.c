/*
 * A worker process: `aiojobsd --worker ...`, started by the pool through
 * spawn.c, already as worker_user when one is set. It reads jobs from
 * the pipe inherited as fd 3 and writes its replies to the one at fd 4
 * (framed as pool_wire.h says): says hello, then runs one function call
 * at a time, in the order they come: the request is the job's args
 * ({"fn": ..., "input": ...}), the reply the function's output JSON
 * (POOL_MSG_OUTPUT) or "<code> <message>" (POOL_MSG_ERROR). It exits
 * when the job pipe reaches EOF (the dispatcher is gone). Functions may
 * crash: the dispatcher notices.
 */
#include <sys/prctl.h>
#include <sys/resource.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fns/fns.h"
#include "pool_wire.h"
#include "privs.h"
#include "worker.h"

/*
 * What one read asks for; the buffer grows for a bigger request. Above
 * malloc's mmap threshold and its first heap: allocating it maps fresh
 * memory, which a worker whose address-space limit leaves it no room
 * for cannot do (see worker_main).
 */
#define WORKER_READ	(256 * 1024)

struct worker_opts {
	const char	*plugin_dir;
	int		 job_fd;	/* jobs from the dispatcher */
	int		 reply_fd;	/* replies to it */
	long long	 memory_limit;
	long long	 cpu_limit;
	int		 statm_fd;	/* /proc/self/statm, or -1 */
};

/*
 * Whether a call left this worker holding over half its memory limit.
 * statm_fd stays open: a read a call, not an open, a read and a close.
 */
static int
worker_bloated(const struct worker_opts *o)
{
	char		 buf[128];
	long		 pages = 0, rss = 0;
	ssize_t		 n;

	if (o->memory_limit <= 0 || o->statm_fd == -1 ||
	    (n = pread(o->statm_fd, buf, sizeof buf - 1, 0)) <= 0)
		return (0);
	buf[n] = '\0';
	if (sscanf(buf, "%ld %ld", &pages, &rss) != 2)
		rss = 0;
	return ((long long)rss * sysconf(_SC_PAGESIZE) > o->memory_limit / 2);
}

/* when the current call began, for its reply */
static uint64_t	worker_began;

/* Microseconds on the monotonic clock. */
static uint64_t
worker_now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
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
 * (POOL_F_RETIRE); the dispatcher, once it has the reply, replaces it
 * (and gives back the jobs it holds).
 */
static void
worker_reply(int fd, const struct worker_opts *o, enum pool_msg type,
    const char *a, const char *b)
{
	struct pool_wire_hdr	 h;
	char			*msg;
	uint64_t		 us = 0;
	int			 n, flags = 0;

	if (type != POOL_MSG_HELLO) {
		us = worker_now_us() - worker_began;
		if (worker_bloated(o))
			flags |= POOL_F_RETIRE;
	}
	/* room for the header in front: one write a reply */
	n = asprintf(&msg, "%*s%s%s%s", (int)POOL_WIRE_HDR, "", a,
	    b != NULL ? " " : "", b != NULL ? b : "");
	if (n < 0 || (size_t)n - POOL_WIRE_HDR >= POOL_WIRE_MAX)
		_exit(3);
	/* the body and its NUL */
	pool_wire_hdr_set(&h, type, flags, (size_t)n - POOL_WIRE_HDR + 1, us);
	memcpy(msg, &h, sizeof h);
	worker_write(fd, msg, (size_t)n + 1);
	free(msg);
}

/* A failed call's reply: "<code> <message>". */
static void
worker_error(int fd, const struct worker_opts *o, const char *code,
    const char *msg)
{
	worker_reply(fd, o, POOL_MSG_ERROR, code, msg);
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
		worker_error(fd, o, "fn_error", "bad arguments");
		cJSON_Delete(args);
		return;
	}
	if ((input = cJSON_GetObjectItemCaseSensitive(args, "input")) == NULL)
		input = cJSON_AddNullToObject(args, "input");
	if ((f = fns_builtin(fn->valuestring)) == NULL &&
	    (f = fns_plugin(o->plugin_dir, fn->valuestring, &error)) == NULL) {
		worker_error(fd, o, "unknown_fn", error != NULL ? error :
		    fn->valuestring);
		goto out;
	}
	if ((out = f(input, &error)) == NULL) {
		worker_error(fd, o, "fn_error", error != NULL ? error :
		    "the function failed without a message");
		goto out;
	}
	text = cJSON_PrintUnformatted(out);
	cJSON_Delete(out);
	if (text == NULL)
		worker_error(fd, o, "fn_error", "out of memory");
	else
		worker_reply(fd, o, POOL_MSG_OUTPUT, text, NULL);
	cJSON_free(text);
out:
	free(error);
	cJSON_Delete(args);
}

/*
 * The address-space limit (--memory-limit) is the pool's to set, before
 * execve (pool_proc.c), so that it covers what malloc maps before main.
 * AddressSanitizer reserves terabytes of address space: none there.
 */
static void
worker_limits(const struct worker_opts *o)
{
#if defined(__SANITIZE_ADDRESS__)
	if (o->memory_limit > 0)
		fprintf(stderr, "aiojobsd worker: no address-space limit in an "
		    "AddressSanitizer build\n");
#else
	(void)o;
#endif
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
worker_loop(const struct worker_opts *o, char *buf, size_t size)
{
	struct pool_wire_hdr	 h;
	size_t			 have = 0, used;
	ssize_t			 n;
	int			 r;

	for (;;) {
		if ((n = read(o->job_fd, buf + have, size - have)) == -1) {
			if (errno == EINTR)
				continue;
			_exit(3);
		}
		if (n == 0)
			_exit(0);	/* the dispatcher is gone */
		have += (size_t)n;
		used = 0;
		while ((r = pool_wire_next(buf + used, have - used, &h)) == 1) {
			if (h.type == POOL_MSG_JOB) {
				worker_began = worker_now_us();
				worker_cpu_budget(o);
				worker_call(o->reply_fd, o,
				    buf + used + POOL_WIRE_HDR, h.len);
			}
			used += POOL_WIRE_HDR + h.len;
		}
		if (r == -1)
			_exit(3);
		memmove(buf, buf + used, have - used);
		have -= used;
		/* h: the header of the message not all read, if any */
		if (POOL_WIRE_HDR + h.len > size) {
			if ((buf = realloc(buf, POOL_WIRE_HDR + h.len)) == NULL)
				_exit(3);
			size = POOL_WIRE_HDR + h.len;
		}
	}
}

static int
worker_args(int argc, char **argv, struct worker_opts *o)
{
	static const struct option longopts[] = {
		{ "plugin-dir", required_argument, NULL, 'p' },
		{ "job-fd", required_argument, NULL, 'j' },
		{ "reply-fd", required_argument, NULL, 'r' },
		{ "memory-limit", required_argument, NULL, 'm' },
		{ "cpu-limit", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 }
	};
	int	 ch;

	memset(o, 0, sizeof *o);
	o->job_fd = o->reply_fd = -1;
	o->plugin_dir = ".";
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'p': o->plugin_dir = optarg; break;
		case 'j': o->job_fd = atoi(optarg); break;
		case 'r': o->reply_fd = atoi(optarg); break;
		case 'm': o->memory_limit = atoll(optarg); break;
		case 'c': o->cpu_limit = atoll(optarg); break;
		default: return (-1);
		}
	}
	return (o->job_fd < 0 || o->reply_fd < 0 ? -1 : 0);
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
	/*
	 * No capabilities for plugins. spawn.c dropped a daemon's ambient
	 * ones, but a worker that runs as root got root's back at execve.
	 */
	if (privs_drop() != 0) {
		fprintf(stderr, "aiojobsd worker: cannot drop capabilities: "
		    "%s\n", strerror(errno));
		return (4);
	}
	/*
	 * Not dumpable, as a worker that changed its user itself was: no
	 * other process of worker_user reads other users' job inputs from
	 * its memory (ptrace, /proc/PID/mem), and a crash leaves no core
	 * file with them.
	 */
	prctl(PR_SET_DUMPABLE, 0);
	/*
	 * A busy worker never reads fd 3: die with the dispatcher anyway.
	 * spawn.c asked for this signal already; again here, as execve
	 * clears it when it gives the process capabilities.
	 */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		return (0);
	o.statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	worker_limits(&o);
	/* a worker that cannot map its buffer could run nothing: no hello */
	if ((buf = malloc(WORKER_READ)) == NULL) {
		fprintf(stderr, "aiojobsd worker: out of memory\n");
		return (3);
	}
	snprintf(hello, sizeof hello, "%ld", (long)getpid());
	worker_reply(o.reply_fd, &o, POOL_MSG_HELLO, hello, NULL);
	worker_loop(&o, buf, WORKER_READ);
	return (0);
}
