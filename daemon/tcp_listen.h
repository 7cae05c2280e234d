/* A listening TCP socket on HOST:PORT: the metrics and SP endpoints'. */
#ifndef TCP_LISTEN_H
#define TCP_LISTEN_H

int	 tcp_listen_split(const char *, char **, char **);
int	 tcp_listen(const char *, const char *, int, char **);

#endif
