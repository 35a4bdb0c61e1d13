/* Guest init: reading the run configuration microvmm appended to the initramfs (/microvmm/run). */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RUNCFG_MAX (1u << 20)

/* Reads the whole file into a NUL-terminated heap buffer. */
static int runcfg_slurp(const char *path, char **out, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int err = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || st.st_size <= 0 || st.st_size > RUNCFG_MAX) {
		close(fd);
		return -EINVAL;
	}
	char *buf = malloc((size_t)st.st_size + 1);
	size_t used = 0;

	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (used < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + used, (size_t)st.st_size - used);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			break;
		}
		used += (size_t)n;
	}
	close(fd);
	if (err) {
		free(buf);
		return err;
	}
	buf[used] = '\0';
	*out = buf;
	*len = used;
	return 0;
}

static int runcfg_number(const char *text, unsigned int *out)
{
	char *end;
	unsigned long v = strtoul(text, &end, 10);

	/* Host ids can be large (subordinate id ranges); (uid_t)-1 means "none". */
	if (!*text || *end || v > 0xfffffffeUL)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

/* "ro|rw TAG PATH": PATH is the rest and may hold spaces. The value is ours to cut up. */
static int runcfg_share(struct run_config *rc, const char *value)
{
	char *v = (char *)value;
	char *tag, *path;

	if (rc->share_count == INIT_MAX_SHARES || (strncmp(v, "ro ", 3) && strncmp(v, "rw ", 3)))
		return -EINVAL;
	tag = v + 3;
	path = strchr(tag, ' ');
	if (!path || path == tag || path[1] != '/')
		return -EINVAL;
	*path++ = '\0';
	rc->shares[rc->share_count++] =
	    (struct run_share){.tag = tag, .path = path, .read_only = v[1] == 'o'};
	return 0;
}

/* "dhcp", or "static ADDR/PREFIX [GATEWAY]". */
static int runcfg_net(struct run_config *rc, const char *value)
{
	if (!strcmp(value, "dhcp")) {
		rc->net_mode = "dhcp";
		return 0;
	}
	rc->net_gateway[0] = '\0';
	if (sscanf(value, "static %31s %19s", rc->net_addr, rc->net_gateway) < 1)
		return -EINVAL;
	rc->net_mode = "static";
	return 0;
}

static int runcfg_apply(struct run_config *rc, const char *key, const char *value)
{
	if (!strcmp(key, "arg"))
		return run_spec_add_arg(&rc->spec, value);
	if (!strcmp(key, "env")) {
		/* Applied after the user's defaults (command.c), so --env HOME=... wins. */
		if (!strchr(value, '=') || rc->env_count == INIT_MAX_ENV)
			return -EINVAL;
		rc->env[rc->env_count++] = value;
		return 0;
	}
	if (!strcmp(key, "tty")) {
		rc->tty = !strcmp(value, "1");
		return 0;
	}
	if (!strcmp(key, "user")) {
		rc->as_root = !strcmp(value, "root");
		return 0;
	}
	if (!strcmp(key, "uid"))
		return runcfg_number(value, &rc->agent_uid);
	if (!strcmp(key, "gid"))
		return runcfg_number(value, &rc->agent_gid);
	if (!strcmp(key, "share"))
		return runcfg_share(rc, value);
	if (!strcmp(key, "net"))
		return runcfg_net(rc, value);
	if (!strcmp(key, "dns")) {
		if (rc->dns_count == 3)
			return -EINVAL;
		rc->dns[rc->dns_count++] = value;
		return 0;
	}
	if (!strcmp(key, "cwd")) {
		rc->spec.cwd = value;
		return 0;
	}
	return 0; /* newer keys from a newer microvmm are ignored */
}

int runcfg_read(const char *path, struct run_config *rc)
{
	char *buf = NULL;
	size_t len = 0;
	int err = runcfg_slurp(path, &buf, &len);

	if (err)
		return err;
	rc->storage = buf;
	rc->agent_uid = rc->agent_gid = 1000;
	/* NUL-separated strings: magic, version, then key/value pairs (vmm/run_config.h). */
	const char *end = buf + len;
	const char *p = buf;
	const char *magic = p;

	p += strlen(p) + 1;
	if (p >= end || strcmp(magic, "microvmm-run") || strcmp(p, "1"))
		return -EPROTO;
	p += strlen(p) + 1;
	while (p < end) {
		const char *key = p;

		p += strlen(p) + 1;
		if (p >= end)
			return -EPROTO;
		const char *value = p;

		p += strlen(p) + 1;
		err = runcfg_apply(rc, key, value);
		if (err)
			return err;
	}
	/* The file may carry secrets in env: nobody else needs it once read. */
	unlink(path);
	return 0;
}
