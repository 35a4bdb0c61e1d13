/* The run configuration microvmm hands the guest init as a cpio archive appended to the initrd. */
#include "vmm/guest/run_config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/growbuf.h"
#include "vmm/host/passt.h"

/* The file is a sequence of NUL-terminated strings in a growbuf (sticky -ENOMEM). */
static void run_buf_add(struct growbuf *b, const char *s)
{
	growbuf_put(b, s, strlen(s) + 1);
}

static void run_buf_pair(struct growbuf *b, const char *key, const char *value)
{
	run_buf_add(b, key);
	run_buf_add(b, value);
}

static void run_config_env(const struct config *cfg, bool tty, struct growbuf *b)
{
	char *pair;
	const char *term = getenv("TERM");

	/* The terminal type follows the user's terminal, unless --env says otherwise. */
	if (tty && term && *term && asprintf(&pair, "TERM=%s", term) >= 0) {
		run_buf_pair(b, "env", pair);
		free(pair);
	}
	for (unsigned int i = 0; i < cfg->env_count; i++) {
		const char *e = cfg->env[i];

		if (strchr(e, '=')) {
			run_buf_pair(b, "env", e);
			continue;
		}
		/* NAME alone takes the host's value; an unset variable stays unset (docker -e). */
		const char *value = getenv(e);

		if (!value)
			continue;
		if (asprintf(&pair, "%s=%s", e, value) < 0) {
			b->error = -ENOMEM;
			return;
		}
		run_buf_pair(b, "env", pair);
		free(pair);
	}
}

/* --workdir, else /workspace when shared, else the first share, else the agent's home. */
static const char *run_config_cwd(const struct config *cfg)
{
	if (cfg->workdir)
		return cfg->workdir;
	for (unsigned int i = 0; i < cfg->share_count; i++)
		if (!strcmp(cfg->shares[i].guest, "/workspace"))
			return "/workspace";
	return cfg->share_count ? cfg->shares[0].guest : NULL;
}

static void run_config_shares(const struct config *cfg, struct growbuf *b)
{
	for (unsigned int i = 0; i < cfg->share_count; i++) {
		const struct config_share *s = &cfg->shares[i];
		char *value;

		if (asprintf(&value, "%s %s %s", s->read_only ? "ro" : "rw", s->tag, s->guest) <
		    0) {
			b->error = -ENOMEM;
			return;
		}
		run_buf_pair(b, "share", value);
		free(value);
	}
}

static void run_config_net(const struct config_net *net, const struct config_ip *ip,
			   struct growbuf *b)
{
	char text[64], gw[INET_ADDRSTRLEN] = "", addr[INET_ADDRSTRLEN];

	if (net->mode == CONFIG_NET_NONE)
		return;
	if (!ip || !ip->set)
		ip = &net->ip;
	if (!ip->set) {
		run_buf_pair(b, "net", "dhcp");
	} else {
		inet_ntop(AF_INET, ip->addr, addr, sizeof(addr));
		if (ip->has_gateway)
			inet_ntop(AF_INET, ip->gateway, gw, sizeof(gw));
		snprintf(text, sizeof(text), "static %s/%u %s", addr, ip->prefix, gw);
		run_buf_pair(b, "net", text);
	}
	for (unsigned int i = 0; i < net->dns_count; i++) {
		inet_ntop(AF_INET, net->dns[i], addr, sizeof(addr));
		run_buf_pair(b, "dns", addr);
	}
	/* passt forwards queries to this address to the host's resolver, loopback or not. */
	if (net->mode == CONFIG_NET_USER && !net->dns_count)
		run_buf_pair(b, "dns", PASST_DNS_ADDR);
	/* Without DHCP nobody else tells the guest passt's MTU, and 1500 would cost throughput. */
	if (net->mode == CONFIG_NET_USER)
		run_buf_pair(b, "mtu", PASST_MTU);
}

int run_config_build(const struct config *cfg, bool tty, unsigned int uid, unsigned int gid,
		     const struct config_ip *net_ip, struct cpio *out)
{
	struct growbuf b = {0};
	char number[24];
	const char *cwd = run_config_cwd(cfg);

	run_buf_add(&b, RUN_CONFIG_MAGIC);
	/* An init that knows no root file system must refuse the file, not ignore the key. */
	run_buf_add(&b, cfg->rootfs_set ? RUN_CONFIG_VERSION_ROOTFS : RUN_CONFIG_VERSION);
	for (int i = 0; i < cfg->command_argc; i++)
		run_buf_pair(&b, "arg", cfg->command[i]);
	run_config_env(cfg, tty, &b);
	run_buf_pair(&b, "tty", tty ? "1" : "0");
	run_buf_pair(&b, "user", cfg->user_root ? "root" : "agent");
	snprintf(number, sizeof(number), "%u", uid);
	run_buf_pair(&b, "uid", number);
	snprintf(number, sizeof(number), "%u", gid);
	run_buf_pair(&b, "gid", number);
	run_config_shares(cfg, &b);
	if (cfg->rootfs_set) {
		run_buf_pair(&b, "rootfs", cfg->rootfs.tag);
		snprintf(number, sizeof(number), "%llu", (unsigned long long)cfg->scratch);
		run_buf_pair(&b, "scratch", number);
	}
	run_config_net(&cfg->net, net_ip, &b);
	if (cwd)
		run_buf_pair(&b, "cwd", cwd);
	if (b.error) {
		int ret = b.error;

		growbuf_free(&b);
		return ret;
	}
	cpio_add_dir(out, "microvmm", 0755);
	/* Readable by root only: the init drops privileges before the command runs. */
	cpio_add_file(out, RUN_CONFIG_PATH, 0600, b.data, b.len);
	growbuf_free(&b);
	return cpio_finish(out);
}
