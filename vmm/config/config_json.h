/*
 * The configuration as JSON (docs/config.md, docs/config.schema.json): a
 * --config file read into the options it stands for, merged with the
 * command line, and the effective configuration printed back
 * (--print-config, the API's GET /vm). Parsed and written with jansson.
 */
#ifndef MICROVMM_VMM_CONFIG_CONFIG_JSON_H
#define MICROVMM_VMM_CONFIG_CONFIG_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "vmm/config/config.h"

/* A file larger than this is refused before it is parsed. */
#define CONFIG_FILE_MAX_BYTES (1U << 20)

/*
 * A --config file as the command-line words it stands for. Owns every
 * string; config_file_free() releases them (safe on a zeroed struct).
 */
struct config_file {
	char **args;			      /* "--flag=value" or "--flag" */
	const struct config_option **options; /* args[i]'s option */
	size_t arg_count;
	char **command; /* the "command" key, NULL-terminated; NULL when absent */
	size_t command_argc;
};

/*
 * Reads `path`: a JSON object whose keys are long options with '_' for
 * '-' plus "command". Each value is checked as its option would be on the
 * command line, one at a time. -EINVAL (or -errno when the file cannot be
 * read) with one line in `err` naming the file, the key path
 * ("share[1].guest") and the fix; `file` is then empty.
 */
int config_file_load(const char *path, struct config_file *file, char *err, size_t err_len)
    __attribute__((warn_unused_result));
void config_file_free(struct config_file *file);

/*
 * The command line `file` and argv make together, for config_parse():
 * argv[0], the file's options, then argv's, so a value on the command line
 * wins; a list key (env, share, allow...) the command line gives at all
 * replaces the file's items; argv's command after "--" replaces the file's.
 * `merged` points into file and argv and owns only its array
 * (config_argv_free). -ENOMEM.
 */
struct config_argv {
	int argc;
	char **argv; /* NULL-terminated */
};
int config_file_merge(const struct config_file *file, int argc, char *const argv[],
		      struct config_argv *merged) __attribute__((warn_unused_result));
void config_argv_free(struct config_argv *merged);

/* The value of --config in argv (before "--"), or NULL. */
const char *config_file_requested(int argc, char *const argv[]);

/*
 * config_print.c: the effective configuration of argv, a command line
 * config_parse() accepted, as indented JSON text ending in a newline, with
 * every key: the values as written, the defaults where none was given
 * (null where the default is worked out later, such as the guest image).
 * `--env NAME` stays the name. Bytes that are not UTF-8 become U+FFFD and
 * *exact (if not NULL) false: such a printout would not read back as the
 * same VM. Caller frees; NULL when out of memory.
 */
char *config_print_json(int argc, char *const argv[], bool *exact);

#endif
