/*
 * libFuzzer target: the run configuration. Inputs with the first byte even go to the guest
 * init's parser (guest-image/init/runcfg.c) as the file's bytes; odd ones are split at NULs into
 * a command, --env entries and a --workdir, written by vmm/guest/run_config.c into its cpio
 * archive, and read back by the parser: what microvmm writes must parse to the same argv, the
 * same cwd and every NAME=VALUE entry (the writer keeps arguments with spaces and newlines).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest-image/init/init.h"
#include "vmm/config/config.h"
#include "vmm/guest/run_config.h"

#define NEWC_HEADER 110
#define MAX_ARGS    8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse_raw(const uint8_t *data, size_t size)
{
	static struct run_config rc;
	char *buf = malloc(size + 1);

	if (!buf)
		abort();
	memcpy(buf, data, size);
	buf[size] = '\0';
	memset(&rc, 0, sizeof(rc));
	run_spec_init(&rc.spec);
	(void)runcfg_parse(&rc, buf, size);
	free(buf);
}

static uint32_t hex8(const uint8_t *p)
{
	char text[9];

	memcpy(text, p, 8);
	text[8] = '\0';
	return (uint32_t)strtoul(text, NULL, 16);
}

/* The data of "microvmm/run" in a newc archive we wrote (framing trusted: it is ours). */
static const uint8_t *find_run(const uint8_t *a, size_t len, size_t *out_len)
{
	size_t off = 0;

	while (off + NEWC_HEADER <= len) {
		uint32_t filesize = hex8(a + off + 6 + 8 * 6),
			 namesize = hex8(a + off + 6 + 8 * 11);
		const char *name = (const char *)a + off + NEWC_HEADER;
		size_t data_at = (off + NEWC_HEADER + namesize + 3) & ~(size_t)3;

		if (!strcmp(name, RUN_CONFIG_PATH)) {
			*out_len = filesize;
			return a + data_at;
		}
		off = (data_at + filesize + 3) & ~(size_t)3;
	}
	abort();
}

static void check_parsed(const struct config *cfg, const struct run_config *rc)
{
	unsigned int want_env = 0;

	for (int i = 0; i < cfg->command_argc; i++)
		if (!rc->spec.argv[i] || strcmp(rc->spec.argv[i], cfg->command[i]))
			abort();
	if (rc->spec.argv[cfg->command_argc])
		abort();
	if (cfg->workdir && (!rc->spec.cwd || strcmp(rc->spec.cwd, cfg->workdir)))
		abort();
	for (unsigned int i = 0; i < cfg->env_count; i++)
		want_env += strchr(cfg->env[i], '=') != NULL;
	if (rc->env_count != want_env)
		abort();
}

static void round_trip(const uint8_t *data, size_t size)
{
	static struct config cfg;
	static struct run_config rc;
	char *text = malloc(size + 1), *argv[MAX_ARGS + 1] = {0};
	struct cpio c;
	size_t at = 0, run_len;

	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	memset(&cfg, 0, sizeof(cfg));
	/* Strings: '=' inside makes an --env entry, a leading '/' the workdir, else an argument. */
	while (at < size) {
		char *s = text + at;

		at += strlen(s) + 1;
		if (strchr(s, '=') && cfg.env_count < CONFIG_MAX_ENV && s[0] != '=')
			cfg.env[cfg.env_count++] = s;
		else if (s[0] == '/' && !cfg.workdir)
			cfg.workdir = s;
		else if (cfg.command_argc < MAX_ARGS)
			argv[cfg.command_argc++] = s;
	}
	cfg.command = argv;
	cpio_init(&c);
	if (run_config_build(&cfg, false, 1000, 1000, NULL, &c) == 0) {
		const uint8_t *run = find_run(c.buf.data, c.buf.len, &run_len);
		char *copy = malloc(run_len + 1);

		if (!copy)
			abort();
		memcpy(copy, run, run_len);
		copy[run_len] = '\0';
		memset(&rc, 0, sizeof(rc));
		run_spec_init(&rc.spec);
		if (runcfg_parse(&rc, copy, run_len) != 0)
			abort();
		check_parsed(&cfg, &rc);
		free(copy);
	}
	cpio_free(&c);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		round_trip(data + 1, size - 1);
	else
		parse_raw(data + 1, size - 1);
	return 0;
}
