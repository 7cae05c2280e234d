/*
 * The idempotency keys of the jobs in memory, by owner and key: a hash
 * table chained through the keys' own entries (struct job_key), grown as
 * it fills. An ordered tree before it cost a fifth of a batched submit's
 * CPU: a string compare at each of some twenty levels, each a cache miss.
 *
 * Keys come from clients. With a hash they could predict, a client could
 * send keys that all land in one chain and make every later submit walk
 * it; SipHash (libsodium's crypto_shorthash) under a secret drawn at
 * start leaves them nothing to aim at.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "log.h"
#include "sched_parts.h"
#include "xmalloc.h"

#define KEYS_SLOTS_MIN	1024	/* a power of two */

struct keys {
	struct job_key	**slots;
	size_t		  nslots;	/* a power of two */
	size_t		  n;
	unsigned char	  secret[crypto_shorthash_KEYBYTES];
};

static uint64_t
keys_hash(struct keys *t, uid_t owner, const char *key)
{
	uint64_t	 h;

	crypto_shorthash((unsigned char *)&h, (const unsigned char *)key,
	    strlen(key), t->secret);
	/* the owner is not the client's to choose */
	return (h ^ ((uint64_t)owner * 0x9e3779b97f4a7c15ULL));
}

struct keys *
keys_create(void)
{
	struct keys	*t;

	if (sodium_init() < 0)
		fatalx("libsodium could not start");
	t = xcalloc(1, sizeof *t);
	t->nslots = KEYS_SLOTS_MIN;
	t->slots = xcalloc(t->nslots, sizeof *t->slots);
	randombytes_buf(t->secret, sizeof t->secret);
	return (t);
}

/* Free the table; the keys are their jobs'. */
void
keys_free(struct keys *t)
{
	if (t == NULL)
		return;
	free(t->slots);
	free(t);
}

struct job *
keys_find(struct keys *t, uid_t owner, const char *key)
{
	struct job_key	*k;
	uint64_t	 h = keys_hash(t, owner, key);

	for (k = t->slots[h & (t->nslots - 1)]; k != NULL; k = k->next) {
		if (k->hash == h && k->owner == owner &&
		    strcmp(k->key, key) == 0)
			return (k->job);
	}
	return (NULL);
}

/* Twice the slots, once there are more keys than slots. */
static void
keys_grow(struct keys *t)
{
	struct job_key	**slots, *k, *next;
	size_t		  i, nslots = t->nslots * 2;

	slots = xcalloc(nslots, sizeof *slots);
	for (i = 0; i < t->nslots; i++) {
		for (k = t->slots[i]; k != NULL; k = next) {
			next = k->next;
			k->next = slots[k->hash & (nslots - 1)];
			slots[k->hash & (nslots - 1)] = k;
		}
	}
	free(t->slots);
	t->slots = slots;
	t->nslots = nslots;
}

/* Add a key no job in the table has (keys_find said so). */
void
keys_add(struct keys *t, struct job_key *k)
{
	struct job_key	**slot;

	if (t->n >= t->nslots)
		keys_grow(t);
	k->hash = keys_hash(t, k->owner, k->key);
	slot = &t->slots[k->hash & (t->nslots - 1)];
	k->next = *slot;
	*slot = k;
	t->n++;
}

void
keys_remove(struct keys *t, struct job_key *k)
{
	struct job_key	**p;

	for (p = &t->slots[k->hash & (t->nslots - 1)]; *p != NULL;
	    p = &(*p)->next) {
		if (*p == k) {
			*p = k->next;
			t->n--;
			return;
		}
	}
	fatalx("a job's key is not in the table of keys");
}
