/*
 * The worker process (aiojobsd --worker): main.c starts it; it includes
 * nothing of the dispatcher.
 */
#ifndef WORKER_H
#define WORKER_H

/* worker.c */
int	 worker_main(int, char **);

#endif
