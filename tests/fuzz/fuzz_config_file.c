/*
 * libFuzzer target: a --config file (vmm/config/config_file.c, config_print.c) read, merged
 * with a command line and parsed; when microvmm would accept it, its printout read back must
 * print the same (the round trip --print-config promises). The input goes through a memfd,
 * the way a file does.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/config/config_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The printout of the configuration in `fd`, or NULL when microvmm would refuse it. */
static char *config_file_printout(int fd, const uint8_t *data, size_t size)
{
	char path[32], err[512];
	struct config_file file;
	struct config_argv merged = {0};
	struct config *cfg = malloc(sizeof(*cfg));
	char *printed = NULL;

	if (!cfg || ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	char *argv[] = {"microvmm", "--kernel", "k", "--config", path, NULL};

	if (config_file_load(path, &file, err, sizeof(err)) == 0) {
		if (config_file_merge(&file, 5, argv, &merged))
			abort();
		if (config_parse(merged.argc, merged.argv, cfg, err, sizeof(err)) == 0)
			printed = config_print_json(merged.argc, merged.argv, NULL);
		config_argv_free(&merged);
		config_file_free(&file);
	}
	free(cfg);
	return printed;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	char *first, *second;

	if (fd < 0 && (fd = memfd_create("fuzz-config", MFD_CLOEXEC)) < 0)
		abort();
	first = config_file_printout(fd, data, size);
	if (!first)
		return 0;
	second = config_file_printout(fd, (const uint8_t *)first, strlen(first));
	if (!second || strcmp(first, second))
		abort(); /* an accepted file whose printout reads back differently */
	free(first);
	free(second);
	return 0;
}
