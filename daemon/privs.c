/*
 * The privileges the daemon may hold to run jobs as their owners: root,
 * or (the system unit) an unprivileged user with the capabilities
 * CAP_SETUID, CAP_SETGID and CAP_KILL in its ambient set. Ambient
 * capabilities pass through execve and survive a change from one
 * non-zero uid to another, so every child must drop them before execve:
 * spawn.c does, once the child is the user it runs as. A worker drops
 * them again at start, for the root daemon's worker that execve gave
 * root's back.
 */
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <string.h>
#include <unistd.h>

#include "aiojobsd.h"
#include "privs.h"

/* The capability sets of this process (capget). */
static int
privs_get(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct	 hdr;

	memset(&hdr, 0, sizeof hdr);
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	memset(data, 0, 2 * sizeof data[0]);
	return ((int)syscall(SYS_capget, &hdr, data));
}

/* Whether this process may become another user (setuid and setgid). */
int
privs_can_switch(void)
{
	struct __user_cap_data_struct	 data[2];
	uint32_t			 need;

	if (geteuid() == 0)
		return (1);
	need = (1U << CAP_SETUID) | (1U << CAP_SETGID);
	return (privs_get(data) == 0 && (data[0].effective & need) == need);
}

/*
 * Drop every capability, ambient ones first, so that nothing this
 * process executes has any. Async-signal-safe: raw system calls only.
 */
int
privs_drop(void)
{
	struct __user_cap_header_struct	 hdr;
	struct __user_cap_data_struct	 data[2];

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1)
		return (-1);
	memset(&hdr, 0, sizeof hdr);
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	memset(data, 0, sizeof data);
	return ((int)syscall(SYS_capset, &hdr, data));
}
