/* Durations as people write them: 250ms, 2s, 1m, 1h, 1d. */
#ifndef DURATION_H
#define DURATION_H

#include <stdint.h>

int	duration_parse(const char *, int64_t *, char **);

#endif
