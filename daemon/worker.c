/*
 * A worker process: `aiojobsd --worker ...`, spawned by the pool with
 * fork+exec. It connects one PAIR socket to the dispatcher, says hello,
 * then runs one function call at a time: the request is the job's args
 * ({"fn": ..., "input": ...}), the reply "O<output JSON>" or
 * "E<code> <message>". It exits when the pipe inherited as fd 3 reaches EOF
 * (the dispatcher is gone). Functions may crash: the dispatcher notices.
 */
#include <sys/prctl.h>
#include <sys/resource.h>

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nanomsg/nn.h>
#include <nanomsg/pair.h>

#include "aiojobsd.h"
#include "fns/fns.h"

struct worker_opts {
	const char	*url;
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

/*
 * Send a reply. A worker that a call left bloated says so with the reply
 * ('o' or 'e' instead of 'O' or 'E'); the dispatcher, once it has the
 * reply, replaces it (exiting here could lose the reply: no linger).
 */
static void
worker_reply(int sock, const struct worker_opts *o, char kind, const char *a,
    const char *b)
{
	char	*msg;
	int	 n;

	if (o != NULL && kind != 'H' && worker_bloated(o))
		kind = (char)(kind - 'A' + 'a');

	n = asprintf(&msg, "%c%s%s%s", kind, a, b != NULL ? " " : "",
	    b != NULL ? b : "");
	if (n < 0 || nn_send(sock, msg, (size_t)n, 0) < 0)
		_exit(3);
	free(msg);
}

/* Run one call: parse the args, find the function, reply. */
static void
worker_call(int sock, const struct worker_opts *o, const char *buf,
    size_t len)
{
	cJSON		*args, *fn, *input, *out;
	aiojobs_fn	*f = NULL;
	char		*error = NULL, *text;

	if ((args = cJSON_ParseWithLength(buf, len)) == NULL ||
	    !cJSON_IsString(fn = cJSON_GetObjectItemCaseSensitive(args, "fn"))) {
		worker_reply(sock, o, 'E', "fn_error", "bad arguments");
		cJSON_Delete(args);
		return;
	}
	if ((input = cJSON_GetObjectItemCaseSensitive(args, "input")) == NULL)
		input = cJSON_AddNullToObject(args, "input");
	if ((f = fns_builtin(fn->valuestring)) == NULL &&
	    (f = fns_plugin(o->plugin_dir, fn->valuestring, &error)) == NULL) {
		worker_reply(sock, o, 'E', "unknown_fn", error != NULL ? error :
		    fn->valuestring);
		goto out;
	}
	if ((out = f(input, &error)) == NULL) {
		worker_reply(sock, o, 'E', "fn_error", error != NULL ? error :
		    "the function failed without a message");
		goto out;
	}
	text = cJSON_PrintUnformatted(out);
	cJSON_Delete(out);
	if (text == NULL)
		worker_reply(sock, o, 'E', "fn_error", "out of memory");
	else
		worker_reply(sock, o, 'O', text, NULL);
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


static void
worker_loop(int sock, const struct worker_opts *o)
{
	struct pollfd	 pfd[2];
	size_t		 sz = sizeof pfd[0].fd;
	char		*buf;
	int		 n;

	if (nn_getsockopt(sock, NN_SOL_SOCKET, NN_RCVFD, &pfd[0].fd, &sz) < 0)
		_exit(3);
	pfd[0].events = pfd[1].events = POLLIN;
	pfd[1].fd = o->parent_fd;
	for (;;) {
		if (poll(pfd, 2, -1) == -1 && errno != EINTR)
			_exit(3);
		if (pfd[1].revents != 0)
			_exit(0);	/* the dispatcher is gone */
		while ((n = nn_recv(sock, &buf, NN_MSG, NN_DONTWAIT)) >= 0) {
			worker_cpu_budget(o);
			worker_call(sock, o, buf, (size_t)n);
			nn_freemsg(buf);
		}
	}
}

static int
worker_args(int argc, char **argv, struct worker_opts *o)
{
	static const struct option longopts[] = {
		{ "url", required_argument, NULL, 'u' },
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
		case 'u': o->url = optarg; break;
		case 'p': o->plugin_dir = optarg; break;
		case 'f': o->parent_fd = atoi(optarg); break;
		case 'm': o->memory_limit = atoll(optarg); break;
		case 'c': o->cpu_limit = atoll(optarg); break;
		default: return (-1);
		}
	}
	return (o->url == NULL || o->parent_fd < 0 ? -1 : 0);
}

/* The worker's main: never returns to the daemon's. */
int
worker_main(int argc, char **argv)
{
	struct worker_opts	 o;
	char			 hello[32];
	int			 sock, linger = 0, sndtimeo = 10000;

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
	if ((sock = nn_socket(AF_SP, NN_PAIR)) < 0 ||
	    nn_connect(sock, o.url) < 0) {
		fprintf(stderr, "aiojobsd worker: %s: %s\n", o.url,
		    nn_strerror(nn_errno()));
		return (3);
	}
	nn_setsockopt(sock, NN_SOL_SOCKET, NN_LINGER, &linger, sizeof linger);
	/* a dispatcher that never accepts us: give up rather than hang */
	nn_setsockopt(sock, NN_SOL_SOCKET, NN_SNDTIMEO, &sndtimeo,
	    sizeof sndtimeo);
	snprintf(hello, sizeof hello, "%ld", (long)getpid());
	worker_reply(sock, NULL, 'H', hello, NULL);
	worker_loop(sock, &o);
	return (0);
}
