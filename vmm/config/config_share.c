/* Parsing of --share HOST:GUEST[:ro] and --share-socket TAG:SOCKET:GUEST, with no side effects. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/config/config.h"

int config_parse_share_cache(const char *value, enum config_share_cache *cache)
{
	if (!strcmp(value, "auto"))
		*cache = CONFIG_SHARE_CACHE_AUTO;
	else if (!strcmp(value, "always"))
		*cache = CONFIG_SHARE_CACHE_ALWAYS;
	else if (!strcmp(value, "never") || !strcmp(value, "none"))
		*cache = CONFIG_SHARE_CACHE_NEVER;
	else
		return -EINVAL;
	return 0;
}

/*
 * A guest mount point: absolute, not "/" (the guest's root stays the
 * image), no "." or ".." components, no empty components. Trailing slashes
 * are dropped so "/workspace/" and "/workspace" are the same share.
 */
static int config_share_guest_path(char *path, const char *flag, const char *value, char *err,
				   size_t err_len)
{
	size_t len = strlen(path);

	while (len > 1 && path[len - 1] == '/')
		path[--len] = '\0';
	if (path[0] != '/' || len < 2) {
		snprintf(err, err_len,
			 "%s '%s': the guest path must be an absolute directory other than /, "
			 "e.g. /workspace",
			 flag, value);
		return -EINVAL;
	}
	for (const char *c = path; *c; c++) {
		if (c[0] != '/')
			continue;
		size_t n = strcspn(c + 1, "/");

		if (n == 0 || (n == 1 && c[1] == '.') || (n == 2 && c[1] == '.' && c[2] == '.')) {
			snprintf(err, err_len,
				 "%s '%s': the guest path may not contain '//', '.' or '..'", flag,
				 value);
			return -EINVAL;
		}
	}
	return 0;
}

static int config_share_copy(char *dst, size_t dst_len, const char *src, size_t len)
{
	if (len >= dst_len)
		return -ENAMETOOLONG;
	memcpy(dst, src, len);
	dst[len] = '\0';
	return 0;
}

/* HOST:GUEST[:ro|:rw]. HOST may contain ':'; GUEST starts with '/' and may not. */
static int config_split_share(struct config_share *share, const char *value, char *err,
			      size_t err_len)
{
	size_t len = strlen(value);
	const char *colon;

	if (len > 3 && (!strcmp(value + len - 3, ":ro") || !strcmp(value + len - 3, ":rw"))) {
		share->read_only = value[len - 2] == 'r' && value[len - 1] == 'o';
		len -= 3;
	}
	colon = memrchr(value, ':', len);
	if (!colon || colon == value || colon + 1 == value + len) {
		snprintf(err, err_len,
			 "--share '%s' is not HOST:GUEST[:ro]: give e.g. --share ./proj:/workspace",
			 value);
		return -EINVAL;
	}
	if (config_share_copy(share->host, sizeof(share->host), value, (size_t)(colon - value)) ||
	    config_share_copy(share->guest, sizeof(share->guest), colon + 1,
			      len - (size_t)(colon - value) - 1)) {
		snprintf(err, err_len, "--share '%.64s...': a path is too long", value);
		return -EINVAL;
	}
	return config_share_guest_path(share->guest, "--share", value, err, err_len);
}

/* TAG:SOCKET:GUEST. TAG has no ':'; GUEST is after the last ':'. */
static int config_split_share_socket(struct config_share *share, const char *value, char *err,
				     size_t err_len)
{
	const char *first = strchr(value, ':');
	const char *last = strrchr(value, ':');

	if (!first || first == last || first == value || last == first + 1 || !last[1]) {
		snprintf(err, err_len,
			 "--share-socket '%s' is not TAG:SOCKET:GUEST: give e.g. --share-socket "
			 "myfs:/run/virtiofsd.sock:/data",
			 value);
		return -EINVAL;
	}
	if ((size_t)(first - value) > CONFIG_SHARE_TAG_MAX) {
		snprintf(err, err_len, "--share-socket '%s': the tag is longer than %d bytes",
			 value, CONFIG_SHARE_TAG_MAX);
		return -EINVAL;
	}
	if (config_share_copy(share->tag, sizeof(share->tag), value, (size_t)(first - value)) ||
	    config_share_copy(share->host, sizeof(share->host), first + 1,
			      (size_t)(last - first) - 1) ||
	    config_share_copy(share->guest, sizeof(share->guest), last + 1, strlen(last + 1))) {
		snprintf(err, err_len, "--share-socket '%.64s...': a path is too long", value);
		return -EINVAL;
	}
	return config_share_guest_path(share->guest, "--share-socket", value, err, err_len);
}

static int config_share_check_unique(const struct config *cfg, const struct config_share *share,
				     char *err, size_t err_len)
{
	for (unsigned int i = 0; i < cfg->share_count; i++) {
		const struct config_share *other = &cfg->shares[i];

		if (!strcmp(other->guest, share->guest)) {
			snprintf(err, err_len,
				 "two shares are mounted at %s in the guest: give each share its "
				 "own guest path",
				 share->guest);
			return -EINVAL;
		}
		if (!strcmp(other->tag, share->tag)) {
			snprintf(err, err_len,
				 "two shares have the tag '%s': give each its own tag", share->tag);
			return -EINVAL;
		}
	}
	return 0;
}

int config_add_share(struct config *cfg, const char *value, bool external, char *err,
		     size_t err_len)
{
	struct config_share *share;
	int ret;

	if (cfg->share_count == CONFIG_MAX_SHARES) {
		snprintf(err, err_len, "more than %d shares: combine directories into fewer shares",
			 CONFIG_MAX_SHARES);
		return -EINVAL;
	}
	share = &cfg->shares[cfg->share_count];
	memset(share, 0, sizeof(*share));
	share->external = external;
	ret = external ? config_split_share_socket(share, value, err, err_len)
		       : config_split_share(share, value, err, err_len);
	if (ret)
		return ret;
	if (!external)
		snprintf(share->tag, sizeof(share->tag), "microvmm%u", cfg->share_count);
	ret = config_share_check_unique(cfg, share, err, err_len);
	if (ret)
		return ret;
	cfg->share_count++;
	return 0;
}

void config_share_describe(const struct config_share *share, char *out, size_t len)
{
	if (share->rootfs)
		snprintf(out, len, "--rootfs %.140s", share->host);
	else if (share->external)
		snprintf(out, len, "--share-socket %s:%.60s:%.60s", share->tag, share->host,
			 share->guest);
	else
		snprintf(out, len, "--share %.70s:%.70s", share->host, share->guest);
}
