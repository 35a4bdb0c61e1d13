/* microvmm's command line for a run: root tree, shares, network, variables by name, the entry
 * script. */
#include "launcher/vmm_argv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/rundir.h"

static void vmm_argv_add(struct vmm_argv *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void vmm_argv_add(struct vmm_argv *a, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	if (a->err)
		return;
	if (a->n + 2 > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		char **grown = realloc(a->v, cap * sizeof(*grown));

		if (!grown) {
			a->err = -ENOMEM;
			return;
		}
		a->v = grown;
		a->cap = cap;
	}
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		a->err = -ENOMEM;
		return;
	}
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

static void vmm_argv_shares(const struct vmm_launch *l, struct vmm_argv *a)
{
	/* First read-write share: microvmm gives its owner's ids to the guest's agent user. */
	vmm_argv_add(a, "--share");
	vmm_argv_add(a, "%s:/workspace", l->workspace);
	for (unsigned int i = 0; i < l->opts->share_count; i++) {
		vmm_argv_add(a, "--share");
		vmm_argv_add(a, "%s", l->opts->shares[i]);
	}
	vmm_argv_add(a, "--share");
	vmm_argv_add(a, "%s:%s:ro", l->setup_dir, RUNDIR_GUEST_SETUP);
	vmm_argv_add(a, "--share");
	vmm_argv_add(a, "%s:%s", l->out_dir, RUNDIR_GUEST_OUT);
}

static void vmm_argv_net(const struct vmm_launch *l, struct vmm_argv *a)
{
	vmm_argv_add(a, "--net");
	vmm_argv_add(a, "%s", l->net->backend);
	for (unsigned int i = 0; i < l->net->rule_count; i++) {
		vmm_argv_add(a, "--allow");
		vmm_argv_add(a, "%s", l->net->rules[i]);
	}
	/* Only the --api-base port; not an --allow rule, so --net full stays full. */
	if (l->net->host_loopback)
		vmm_argv_add(a, "--allow-host-loopback=%u", l->net->host_loopback_port);
	if (l->net_log) {
		vmm_argv_add(a, "--net-log");
		vmm_argv_add(a, "%s", l->net_log);
	}
}

/* Whether --env NAME (or NAME=...) is already in the argv. */
static bool vmm_argv_has_env(const struct vmm_argv *a, const char *name)
{
	size_t len = strcspn(name, "=");

	for (size_t i = 1; a->v && i < a->n; i++)
		if (!strcmp(a->v[i - 1], "--env") && !strncmp(a->v[i], name, len) &&
		    (a->v[i][len] == '\0' || a->v[i][len] == '='))
			return true;
	return false;
}

static void vmm_argv_env(const struct vmm_launch *l, struct vmm_argv *a)
{
	for (unsigned int i = 0; i < l->key_count; i++) {
		vmm_argv_add(a, "--env");
		vmm_argv_add(a, "%s", l->key_vars[i]);
	}
	for (unsigned int i = 0; i < l->opts->env_count; i++) {
		if (vmm_argv_has_env(a, l->opts->env[i]))
			continue;
		vmm_argv_add(a, "--env");
		vmm_argv_add(a, "%s", l->opts->env[i]);
	}
}

int vmm_argv_build(const struct vmm_launch *l, struct vmm_argv *a)
{
	memset(a, 0, sizeof(*a));
	vmm_argv_add(a, "%s", l->microvmm);
	if (l->kernel) {
		vmm_argv_add(a, "--kernel");
		vmm_argv_add(a, "%s", l->kernel);
	}
	if (l->initrd) {
		vmm_argv_add(a, "--initrd");
		vmm_argv_add(a, "%s", l->initrd);
	}
	vmm_argv_add(a, "--rootfs");
	vmm_argv_add(a, "%s", l->rootfs);
	/* The entry script starts as root (tmpfs, ids, key) and runs the agent as the agent user.
	 */
	vmm_argv_add(a, "--user");
	vmm_argv_add(a, "root");
	vmm_argv_add(a, "--workdir");
	vmm_argv_add(a, "/workspace");
	vmm_argv_add(a, "--cpus");
	vmm_argv_add(a, "%u", l->cpus);
	vmm_argv_add(a, "--mem");
	vmm_argv_add(a, "%s", l->mem);
	if (l->opts->timeout) {
		vmm_argv_add(a, "--timeout");
		vmm_argv_add(a, "%u",
			     l->opts->timeout > OPTIONS_MAX_TIMEOUT - VMM_ARGV_TIMEOUT_GRACE
				 ? OPTIONS_MAX_TIMEOUT
				 : l->opts->timeout + VMM_ARGV_TIMEOUT_GRACE);
	}
	vmm_argv_shares(l, a);
	vmm_argv_net(l, a);
	vmm_argv_env(l, a);
	if (l->opts->verbose)
		vmm_argv_add(a, "--verbose");
	vmm_argv_add(a, "--");
	vmm_argv_add(a, "/bin/bash");
	vmm_argv_add(a, "%s", VMM_ARGV_ENTRY);
	return a->err;
}

void vmm_argv_free(struct vmm_argv *a)
{
	for (size_t i = 0; a->v && i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	memset(a, 0, sizeof(*a));
}
