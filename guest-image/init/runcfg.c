/* Guest init: reading the run configuration microvmm appended to the initramfs (/microvmm/run). */
#include "init.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RUNCFG_MAX (1u << 20)

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

/* The scratch size in bytes: decimal, not 0 (microvmm sends at least 1 MiB). */
static int runcfg_size(const char *text, unsigned long long *out)
{
	char *end;
	unsigned long long v;

	if (*text < '0' || *text > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || *end || v == 0)
		return -EINVAL;
	*out = v;
	return 0;
}

/* A virtio-fs tag (virtio 1.2 §5.11.4: at most 36 bytes) that is also one path component. */
static int runcfg_tag(const char *value, const char **out)
{
	size_t len = strlen(value);

	if (len == 0 || len > 36 || strchr(value, '/'))
		return -EINVAL;
	*out = value;
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
	if (!strcmp(key, "rootfs"))
		return runcfg_tag(value, &rc->rootfs_tag);
	if (!strcmp(key, "scratch"))
		return runcfg_size(value, &rc->scratch);
	if (!strcmp(key, "net"))
		return runcfg_net(rc, value);
	if (!strcmp(key, "dns")) {
		if (rc->dns_count == 3)
			return -EINVAL;
		rc->dns[rc->dns_count++] = value;
		return 0;
	}
	if (!strcmp(key, "mtu")) {
		/* IPv4's minimum (RFC 791) to the largest an Ethernet length field names. */
		int err = runcfg_number(value, &rc->net_mtu);

		if (!err && (rc->net_mtu < 68 || rc->net_mtu > 65535))
			err = -EINVAL;
		return err;
	}
	if (!strcmp(key, "cwd")) {
		rc->spec.cwd = value;
		return 0;
	}
	return 0; /* newer keys from a newer microvmm are ignored */
}

int runcfg_parse(struct run_config *rc, char *buf, size_t len)
{
	/* NUL-separated strings: magic, version, then key/value pairs (vmm/guest/run_config.h). */
	const char *end = buf + len;
	const char *p = buf;
	const char *magic = p;
	int err;

	rc->agent_uid = rc->agent_gid = 1000;
	p += strlen(p) + 1;
	/* "2" only adds rootfs (vmm/guest/run_config.h): a version-1 init must refuse it. */
	if (p >= end || strcmp(magic, "microvmm-run") || (strcmp(p, "1") && strcmp(p, "2")))
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
	return rc->rootfs_tag && !rc->scratch ? -EPROTO : 0;
}

int runcfg_read(const char *path, struct run_config *rc)
{
	char *buf = NULL;
	size_t len = 0;
	int err = file_read(path, RUNCFG_MAX, &buf, &len);

	if (err)
		return err;
	rc->storage = buf;
	err = runcfg_parse(rc, buf, len);
	if (err)
		return err;
	/* The file may carry secrets in env: nobody else needs it once read. */
	unlink(path);
	return 0;
}
