/* sha256: {"data": string} or {"path": string} -> {"hex", "bytes"}. */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "fns.h"

/* Anything but a regular file (a pipe, a device): read it from fd. */
static int
sha256_read(EVP_MD_CTX *ctx, int fd, const char *path, double *bytes,
    char **error)
{
	char	 buf[65536];
	ssize_t	 n;

	while ((n = read(fd, buf, sizeof buf)) > 0) {
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		*bytes += (double)n;
	}
	if (n == -1)
		return (fns_error(error, "sha256: %s: %s", path,
		    strerror(errno)) - 1);
	return (0);
}

/*
 * The file is hashed where the page cache holds it, a window at a time,
 * rather than copied into a buffer first: two workers hashing at once
 * then share the memory bus with the hashing only. The window bounds the
 * address space it takes (worker_memory_limit is RLIMIT_AS).
 */
#define SHA256_WINDOW	(8 << 20)

static int
sha256_file(EVP_MD_CTX *ctx, const char *path, double *bytes, char **error)
{
	struct stat	 st;
	void		*p;
	off_t		 off;
	size_t		 len;
	int		 fd, r = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (fns_error(error, "sha256: %s: %s", path,
		    strerror(errno)) - 1);
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		r = sha256_read(ctx, fd, path, bytes, error);
		close(fd);
		return (r);
	}
	for (off = 0; off < st.st_size; off += (off_t)len) {
		len = st.st_size - off > SHA256_WINDOW ? SHA256_WINDOW :
		    (size_t)(st.st_size - off);
		if ((p = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE,
		    fd, off)) == MAP_FAILED) {
			r = fns_error(error, "sha256: %s: %s", path,
			    strerror(errno)) - 1;
			break;
		}
		EVP_DigestUpdate(ctx, p, len);
		munmap(p, len);
		*bytes += (double)len;
	}
	close(fd);
	return (r);
}

static cJSON *
sha256_result(EVP_MD_CTX *ctx, double bytes)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	char		 hex[2 * EVP_MAX_MD_SIZE + 1];
	unsigned int	 len, i;
	cJSON		*out;

	EVP_DigestFinal_ex(ctx, md, &len);
	for (i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "hex", hex);
	cJSON_AddNumberToObject(out, "bytes", bytes);
	return (out);
}

cJSON *
fn_sha256(const cJSON *input, char **error)
{
	const cJSON	*data, *path;
	EVP_MD_CTX	*ctx;
	cJSON		*out = NULL;
	double		 bytes = 0;

	data = cJSON_GetObjectItemCaseSensitive(input, "data");
	path = cJSON_GetObjectItemCaseSensitive(input, "path");
	if (cJSON_IsString(data) == cJSON_IsString(path)) {
		fns_error(error, "sha256: input needs a string 'data' or a "
		    "string 'path'");
		return (NULL);
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		fns_error(error, "sha256: out of memory");
		return (NULL);
	}
	if (cJSON_IsString(data)) {
		bytes = (double)strlen(data->valuestring);
		EVP_DigestUpdate(ctx, data->valuestring, strlen(data->valuestring));
		out = sha256_result(ctx, bytes);
	} else if (sha256_file(ctx, path->valuestring, &bytes, error) == 0)
		out = sha256_result(ctx, bytes);
	EVP_MD_CTX_free(ctx);
	return (out);
}
