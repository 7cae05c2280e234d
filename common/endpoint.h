/* Endpoint URLs: the defaults of PROTOCOL section 1 and ipc path checks. */
#ifndef ENDPOINT_H
#define ENDPOINT_H

/* sun_path holds 108 bytes including the NUL. */
#define ENDPOINT_IPC_MAX	107

/* How long a probe waits for a listener's SP header. */
#define ENDPOINT_PROBE_MS	2000

struct sockaddr;

char	*endpoint_rundir(void);
char	*endpoint_control_url(const char *);
char	*endpoint_events_url(const char *);
const char *endpoint_ipc_path(const char *);
int	 endpoint_check(const char *, char **);
int	 endpoint_check_bind(const char *, char **);
int	 endpoint_probe(const char *, int, char **);
int	 endpoint_restrict_to(const char *, int, long, char **);
int	 endpoint_addr_loopback(const struct sockaddr *);

#endif
