/* Logging to stderr; the daemon is always in the foreground. */
#ifndef LOG_H
#define LOG_H

#include <stdarg.h>

#define LOG_LEVEL_WARN	0
#define LOG_LEVEL_INFO	1
#define LOG_LEVEL_DEBUG	2

void	log_init(const char *, int);
void	log_set_level(int);
void	log_warn(const char *, ...)
	    __attribute__((__format__(__printf__, 1, 2)));
void	log_warnx(const char *, ...)
	    __attribute__((__format__(__printf__, 1, 2)));
void	log_info(const char *, ...)
	    __attribute__((__format__(__printf__, 1, 2)));
void	log_debug(const char *, ...)
	    __attribute__((__format__(__printf__, 1, 2)));
__attribute__((__noreturn__)) void
	fatal(const char *, ...)
	    __attribute__((__format__(__printf__, 1, 2)));
__attribute__((__noreturn__)) void
	fatalx(const char *, ...)
	    __attribute__((__format__(__printf__, 1, 2)));

#endif
