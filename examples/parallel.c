/*
 * microvmm-parallel: an example launcher on libmicrovmm (docs/embedding.md). Starts COUNT VMs
 * at once, VM i running `sh -c 'echo hello from VM i; exit i'`, watches each one's state
 * through its API, waits for all of them and reports each exit status.
 *
 *   microvmm-parallel COUNT [KEY=VALUE]...
 *
 * KEY=VALUE pairs are configuration keys (docs/config.md) given to every VM as strings, e.g.
 * kernel=/guest/vmlinuz initrd=/guest/initrd.img mem=256M. Exits 0 when every VM started and
 * ended with its own index as status, 1 otherwise.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microvmm.h>

#define MAX_VMS 64

/* Every VM's configuration: the shared keys, then its own command. */
static struct microvmm_config *parallel_config(int index, int argc, char **argv)
{
	struct microvmm_config *cfg = microvmm_config_new();
	char script[96];
	const char *command[] = {"sh", "-c", script, NULL};

	if (!cfg)
		return NULL;
	for (int i = 2; i < argc; i++) {
		char *eq = strchr(argv[i], '=');

		if (!eq) {
			fprintf(stderr, "microvmm-parallel: '%s' is not KEY=VALUE\n", argv[i]);
			goto fail;
		}
		*eq = '\0';
		int ret = microvmm_config_set_string(cfg, argv[i], eq + 1);

		*eq = '=';
		if (ret)
			goto fail;
	}
	snprintf(script, sizeof(script), "echo hello from VM %d; exit %d", index, index);
	if (microvmm_config_set_command(cfg, command))
		goto fail;
	return cfg;
fail:
	microvmm_config_free(cfg);
	return NULL;
}

int main(int argc, char **argv)
{
	struct microvmm_vm *vms[MAX_VMS] = {NULL};
	int count = argc > 1 ? atoi(argv[1]) : 0;
	int failures = 0;

	if (count < 1 || count > MAX_VMS) {
		fprintf(stderr, "usage: microvmm-parallel COUNT [KEY=VALUE]... (COUNT 1-%d)\n",
			MAX_VMS);
		return 2;
	}
	/* All of them first: they boot side by side. */
	for (int i = 0; i < count; i++) {
		struct microvmm_config *cfg = parallel_config(i, argc, argv);
		int ret = cfg ? microvmm_start(cfg, NULL, &vms[i]) : -ENOMEM;

		if (ret) {
			printf("vm %d: not started: %s\n", i, microvmm_error());
			failures++;
		} else {
			printf("vm %d: started, pid %d, API at %s\n", i, (int)microvmm_pid(vms[i]),
			       microvmm_api_socket(vms[i]));
		}
		microvmm_config_free(cfg);
	}
	for (int i = 0; i < count; i++) {
		char state[32] = "";
		int status;

		if (!vms[i])
			continue;
		/* A VM that already ended has no API to ask: that is fine too. */
		if (microvmm_state(vms[i], state, sizeof(state)) == 0)
			printf("vm %d: %s\n", i, state);
		if (microvmm_wait(vms[i], &status)) {
			printf("vm %d: cannot wait: %s\n", i, microvmm_error());
			failures++;
		} else {
			printf("vm %d: exit status %d\n", i, status);
			failures += status != i;
		}
		microvmm_vm_free(vms[i]);
	}
	printf("microvmm-parallel: %d VMs, %d failures\n", count, failures);
	return failures ? 1 : 0;
}
