/* Shared by the command-line parser's tests (vmm/config/config.c): sizes, and argv built from
 * a compound literal. Include after <cmocka.h>. */
#ifndef MICROVMM_TESTS_UNIT_CONFIG_TEST_H
#define MICROVMM_TESTS_UNIT_CONFIG_TEST_H

#include "vmm/config/config.h"

#define KIB	(1ULL << 10)
#define MIB	(1ULL << 20)
#define GIB	(1ULL << 30)
#define ERR_LEN 256

/* argv built from a compound literal: argv[0] is the program, the array is NULL-terminated. */
#define ARGV(...)  ((char *const[]){"microvmm", __VA_ARGS__, NULL})
#define ARGC(argv) ((int)(sizeof(argv) / sizeof((argv)[0])) - 1)

#define PARSE(cfg, err, ...)                                                                       \
	config_parse(ARGC(ARGV(__VA_ARGS__)), ARGV(__VA_ARGS__), (cfg), (err), ERR_LEN)

#endif
