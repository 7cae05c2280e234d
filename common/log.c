/*
 * Log lines to stderr. Under systemd (JOURNAL_STREAM set) lines carry a
 * syslog priority prefix instead of a timestamp, since the journal adds its
 * own.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/time.h>

#include "log.h"

static const char	*log_name = "aiojobs";
static int		 log_level = LOG_LEVEL_INFO;
static int		 log_journal;

void
log_init(const char *name, int level)
{
	log_name = name;
	log_level = level;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
}

void
log_set_level(int level)
{
	log_level = level;
}

static void
log_vwrite(int prio, const char *fmt, va_list ap, const char *suffix)
{
	struct timeval	 tv;
	struct tm	 tm;
	char		 stamp[32];

	if (log_journal)
		fprintf(stderr, "<%d>", prio);
	else {
		gettimeofday(&tv, NULL);
		localtime_r(&tv.tv_sec, &tm);
		strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ld %s[%ld]: ", stamp,
		    (long)(tv.tv_usec / 1000), log_name, (long)getpid());
	}
	vfprintf(stderr, fmt, ap);
	if (suffix != NULL)
		fprintf(stderr, ": %s", suffix);
	fputc('\n', stderr);
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;
	char	*e = strerror(errno);

	va_start(ap, fmt);
	log_vwrite(4, fmt, ap, e);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(4, fmt, ap, NULL);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	if (log_level < LOG_LEVEL_INFO)
		return;
	va_start(ap, fmt);
	log_vwrite(6, fmt, ap, NULL);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	if (log_level < LOG_LEVEL_DEBUG)
		return;
	va_start(ap, fmt);
	log_vwrite(7, fmt, ap, NULL);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;
	char	*e = strerror(errno);

	va_start(ap, fmt);
	log_vwrite(2, fmt, ap, e);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(2, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}
