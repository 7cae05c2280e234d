/*
 * Privileges: whether the daemon may switch users (root, or CAP_SETUID
 * and CAP_SETGID), and dropping every capability (a worker at its start,
 * a spawned child before it runs a job).
 */
#ifndef PRIVS_H
#define PRIVS_H

/* privs.c */
int	 privs_can_switch(void);
int	 privs_drop(void);

#endif
