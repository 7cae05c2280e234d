/*
 * Submit a job to aiojobsd with libaiojobs and wait for its result.
 *
 *	cc c_submit.c $(pkg-config --cflags --libs aiojobs) -o c_submit
 *	./c_submit '{"kind":"exec","args":{"argv":["uname","-a"]}}'
 *
 * The daemon is found as aiojobctl finds it ($AIOJOBS_URL, else the run
 * directory); see aiojobs(3).
 */
#include <stdint.h>
#include <stdio.h>

#include <aiojobs.h>

int
main(int argc, char **argv)
{
	struct aiojobs	*h;
	const char	*spec = "{\"kind\":\"sleep\",\"args\":{\"ms\":500}}";
	char		*reply = NULL;
	int64_t		 id;
	int		 r;

	if (argc > 1)
		spec = argv[1];
	/* Every call returns within its timeout (ms). */
	if ((r = aiojobs_connect(&h, NULL, NULL, 5000)) != AIOJOBS_OK ||
	    (r = aiojobs_submit(h, spec, NULL, 5000, &id, NULL)) !=
	    AIOJOBS_OK ||
	    (r = aiojobs_wait(h, &id, 1, NULL, 60000, &reply)) !=
	    AIOJOBS_OK) {
		fprintf(stderr, "c_submit: %s: %s\n", aiojobs_code_name(r),
		    aiojobs_errmsg(h));
		aiojobs_close(h);
		return (1);
	}
	printf("job %lld: %s\n", (long long)id, reply);
	aiojobs_free(reply);
	aiojobs_close(h);
	return (0);
}
