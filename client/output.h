/* Human output of aiojobctl: aligned tables and the shapes of replies. */
#ifndef OUTPUT_H
#define OUTPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "msg.h"

/* output_table.c: columns as wide as their widest cell. */
struct output_table;

struct output_table *output_table_create(const char *const *);
void	 output_table_free(struct output_table *);
void	 output_table_row(struct output_table *);
void	 output_table_cell(struct output_table *, const char *, ...)
	    __attribute__((__format__(__printf__, 2, 3)));
void	 output_table_print(struct output_table *, FILE *);

/* output.c */
int64_t	 output_now(void);
int64_t	 output_int(struct msg_in *, const char *, int64_t);
const char *output_str(const char *);
void	 output_time(int64_t, char *, size_t);
void	 output_duration(int64_t, char *, size_t);
int	 output_state_bad(const char *);

void	 output_ping(struct msg_in *);
void	 output_stats(struct msg_in *);
void	 output_queue(struct msg_in *);
void	 output_event(const char *, size_t);

/* output_job.c */
void	 output_view(struct msg_in *);
void	 output_list(struct msg_in *);
void	 output_wait(struct msg_in *);

#endif
