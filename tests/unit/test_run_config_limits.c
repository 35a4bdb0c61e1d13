/*
 * Unit tests for the limits microvmm and the guest init agree on: how many guest command
 * arguments and --env entries microvmm accepts (vmm/config/config.c) and what the init's parser
 * (guest-image/init/runcfg.c) takes from the run configuration microvmm writes
 * (vmm/guest/run_config.c).
 *
 * Found by tests/fuzz/fuzz_run_config: microvmm accepted 256 --env entries and any number of
 * arguments, the guest init only 64 of each and refused the whole file, so with 65 of either
 * the command never ran (reproduction: 65 --env A=1 options, or 65 arguments after --).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "boot/cpio.h"
#include "guest-image/init/init.h"
#include "vmm/config/config.h"
#include "vmm/guest/run_config.h"

#define NEWC_HEADER 110
#define ERR_LEN	    512

static uint32_t hex8(const uint8_t *p)
{
	char text[9];

	memcpy(text, p, 8);
	text[8] = '\0';
	return (uint32_t)strtoul(text, NULL, 16);
}

/* microvmm/run's bytes from the archive run_config_build wrote, NUL-terminated, in *out. */
static size_t run_file(const struct config *cfg, char **out)
{
	struct cpio c;
	size_t off = 0;

	cpio_init(&c);
	assert_int_equal(run_config_build(cfg, true, 1000, 1000, NULL, &c), 0);
	for (;;) {
		const uint8_t *a = c.buf.data;

		assert_true(off + NEWC_HEADER <= c.buf.len);
		uint32_t size = hex8(a + off + 6 + 8 * 6), namesize = hex8(a + off + 6 + 8 * 11);
		size_t data_at = (off + NEWC_HEADER + namesize + 3) & ~(size_t)3;

		if (!strcmp((const char *)a + off + NEWC_HEADER, RUN_CONFIG_PATH)) {
			*out = malloc(size + 1);
			assert_non_null(*out);
			memcpy(*out, a + data_at, size);
			(*out)[size] = '\0';
			cpio_free(&c);
			return size;
		}
		off = (data_at + size + 3) & ~(size_t)3;
	}
}

/* The most microvmm sends (arguments, --env entries and the terminal's TERM) parses in the guest,
 * and the init still has room for the six defaults command.c sets. */
static void test_guest_init_takes_the_most_microvmm_sends(void **state)
{
	static char *command[CONFIG_MAX_ARGS + 1];
	static char env_text[CONFIG_MAX_ENV][16];
	static struct config cfg;
	static struct run_config rc;
	char *buf;

	(void)state;
	setenv("TERM", "xterm", 1);
	for (int i = 0; i < CONFIG_MAX_ARGS; i++)
		command[i] = "x";
	for (unsigned int i = 0; i < CONFIG_MAX_ENV; i++) {
		snprintf(env_text[i], sizeof(env_text[i]), "V%u=%u", i, i);
		cfg.env[i] = env_text[i];
	}
	cfg.command = command;
	cfg.command_argc = CONFIG_MAX_ARGS;
	cfg.env_count = CONFIG_MAX_ENV;
	size_t len = run_file(&cfg, &buf);

	run_spec_init(&rc.spec);
	assert_int_equal(runcfg_parse(&rc, buf, len), 0);
	assert_non_null(rc.spec.argv[CONFIG_MAX_ARGS - 1]);
	assert_null(rc.spec.argv[CONFIG_MAX_ARGS]);
	assert_int_equal(rc.env_count, CONFIG_MAX_ENV + 1);
	assert_true(INIT_MAX_ENV >= CONFIG_MAX_ENV + 1 + 6);
	free(buf);
}

/* More guest arguments than the guest init holds are refused by microvmm, with a message. */
static void test_config_refuses_more_arguments_than_the_guest_takes(void **state)
{
	static char *argv[CONFIG_MAX_ARGS + 6];
	static struct config cfg;
	char err[ERR_LEN] = "";
	int argc = 0;

	(void)state;
	argv[argc++] = "microvmm";
	argv[argc++] = "--kernel";
	argv[argc++] = "k";
	argv[argc++] = "--";
	for (int i = 0; i < CONFIG_MAX_ARGS; i++)
		argv[argc++] = "x";
	assert_int_equal(config_parse(argc, argv, &cfg, err, ERR_LEN), 0);
	assert_int_equal(cfg.command_argc, CONFIG_MAX_ARGS);
	assert_true(INIT_MAX_ARGS >= CONFIG_MAX_ARGS);
	argv[argc++] = "x";
	assert_int_equal(config_parse(argc, argv, &cfg, err, ERR_LEN), -EINVAL);
	assert_non_null(strstr(err, "more than the 1024 the guest accepts"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_guest_init_takes_the_most_microvmm_sends),
	    cmocka_unit_test(test_config_refuses_more_arguments_than_the_guest_takes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
