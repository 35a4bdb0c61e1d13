/* A --config file (JSON, docs/config.md) read into command-line words, and merged with argv. */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vmm/config/config_json.h"

#define CONFIG_KEY_MAX	    64
#define CONFIG_KEY_PATH_MAX 96

/* One file being read: where its words go, and a scratch config that checks each as it comes. */
struct config_reader {
	const char *path;
	struct config_file *file;
	struct config *scratch;
	char *err;
	size_t err_len;
};

__attribute__((format(printf, 3, 4))) static int
config_reader_fail(struct config_reader *r, const char *key_path, const char *fmt, ...)
{
	char reason[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	snprintf(r->err, r->err_len, "config %s: %s%s%s", r->path, key_path ? key_path : "",
		 key_path ? ": " : "", reason);
	return -EINVAL;
}

/*
 * The option once more: "--flag=value" (or "--flag" when value is NULL),
 * applied to the scratch config first so a bad value names its key path.
 */
static int config_reader_push(struct config_reader *r, const struct config_option *option,
			      const char *key_path, const char *value)
{
	struct config_file *file = r->file;
	char reason[384] = "";
	char **args;
	const struct config_option **options;
	size_t len = strlen(option->flag) + (value ? strlen(value) + 1 : 0) + 3;
	char *word;

	if (config_apply_option(r->scratch, option, value, reason, sizeof(reason)))
		return config_reader_fail(r, key_path, "%s", reason);
	args = realloc(file->args, (file->arg_count + 1) * sizeof(*args));
	if (!args)
		return -ENOMEM;
	file->args = args;
	options = realloc(file->options, (file->arg_count + 1) * sizeof(*options));
	if (!options)
		return -ENOMEM;
	file->options = options;
	word = malloc(len);
	if (!word)
		return -ENOMEM;
	snprintf(word, len, value ? "--%s=%s" : "--%s", option->flag, value);
	file->args[file->arg_count] = word;
	file->options[file->arg_count++] = option;
	return 0;
}

/* A JSON string as a C string (jansson refuses \u0000 unless asked to allow it). */
static const char *config_reader_string(struct config_reader *r, const char *key_path,
					const json_t *value, int *ret)
{
	const char *text = json_string_value(value);

	if (!text)
		*ret = config_reader_fail(r, key_path, "expected a string");
	return text;
}

/* A string, or with `numbers` a non-negative integer written out in decimal. */
static int config_reader_scalar(struct config_reader *r, const struct config_option *option,
				const char *key_path, const json_t *value, bool numbers)
{
	char digits[24];
	const char *text;
	int ret = 0;

	if (numbers && json_is_integer(value)) {
		snprintf(digits, sizeof(digits), "%lld", (long long)json_integer_value(value));
		return config_reader_push(r, option, key_path, digits);
	}
	text = config_reader_string(r, key_path, value, &ret);
	return text ? config_reader_push(r, option, key_path, text) : ret;
}

/* The members of a share object other than `known` are typos: name the first. */
static int config_reader_object_keys(struct config_reader *r, const char *key_path,
				     const json_t *object, const char *const known[])
{
	const char *name;
	json_t *member;

	json_object_foreach((json_t *)object, name, member)
	{
		bool found = false;

		(void)member;
		for (size_t i = 0; known[i]; i++)
			found = found || !strcmp(name, known[i]);
		if (!found)
			return config_reader_fail(
			    r, key_path, "unknown key '%.64s': give %s, %s%s%s", name, known[0],
			    known[1], known[2] ? " and " : "", known[2] ? known[2] : "");
	}
	return 0;
}

/* A member of a share object: a non-empty string; `guest` also absolute and free of ':'. */
static const char *config_reader_member(struct config_reader *r, const char *key_path,
					const json_t *object, const char *name, int *ret)
{
	char member_path[CONFIG_KEY_PATH_MAX + CONFIG_KEY_MAX];
	const json_t *value = json_object_get(object, name);
	const char *text;

	snprintf(member_path, sizeof(member_path), "%s.%s", key_path, name);
	if (!value) {
		*ret = config_reader_fail(r, member_path, "missing");
		return NULL;
	}
	text = config_reader_string(r, member_path, value, ret);
	if (text && !*text) {
		*ret = config_reader_fail(r, member_path, "expected a non-empty string");
		return NULL;
	}
	if (text && !strcmp(name, "guest") && (text[0] != '/' || strchr(text, ':'))) {
		*ret = config_reader_fail(r, member_path,
					  "expected an absolute path without ':', e.g. /workspace");
		return NULL;
	}
	if (text && !strcmp(name, "tag") && strchr(text, ':')) {
		*ret = config_reader_fail(r, member_path, "a tag may not contain ':'");
		return NULL;
	}
	return text;
}

/*
 * share: {"host", "guest", "read_only"} and share_socket: {"tag",
 * "socket", "guest"}, the structured spelling of HOST:GUEST[:ro] and
 * TAG:SOCKET:GUEST.
 */
static int config_reader_share_object(struct config_reader *r, const struct config_option *option,
				      const char *key_path, const json_t *object)
{
	static const char *const share_keys[] = {"host", "guest", "read_only", NULL};
	static const char *const socket_keys[] = {"tag", "socket", "guest", NULL};
	bool external = !strcmp(option->flag, "share-socket");
	const char *first, *second, *guest;
	const json_t *read_only = json_object_get(object, "read_only");
	char *word;
	int ret;

	ret = config_reader_object_keys(r, key_path, object, external ? socket_keys : share_keys);
	if (ret)
		return ret;
	first = config_reader_member(r, key_path, object, external ? "tag" : "host", &ret);
	if (!first)
		return ret;
	second = external ? config_reader_member(r, key_path, object, "socket", &ret) : "";
	if (!second)
		return ret;
	guest = config_reader_member(r, key_path, object, "guest", &ret);
	if (!guest)
		return ret;
	if (read_only && !json_is_boolean(read_only))
		return config_reader_fail(r, key_path, "read_only: expected true or false");
	if (asprintf(&word, external ? "%s:%s:%s" : "%s%s:%s%s", first, second, guest,
		     external ? "" : (json_is_true(read_only) ? ":ro" : "")) < 0)
		return -ENOMEM;
	ret = config_reader_push(r, option, key_path, word);
	free(word);
	return ret;
}

/* A list key: the option once per item; allow_host_loopback's items are ports. */
static int config_reader_list(struct config_reader *r, const struct config_option *option,
			      const char *key, const json_t *list)
{
	bool shares = !strcmp(option->flag, "share") || !strcmp(option->flag, "share-socket");
	bool ports = option->key == CONFIG_KEY_LOOPBACK;
	char key_path[CONFIG_KEY_PATH_MAX];
	size_t i;
	json_t *item;
	int ret;

	if (!json_is_array(list))
		return config_reader_fail(
		    r, key, ports ? "expected true, false or a list of ports" : "expected a list");
	json_array_foreach((json_t *)list, i, item)
	{
		snprintf(key_path, sizeof(key_path), "%s[%zu]", key, i);
		if (shares && json_is_object(item))
			ret = config_reader_share_object(r, option, key_path, item);
		else
			ret = config_reader_scalar(r, option, key_path, item, ports);
		if (ret)
			return ret;
	}
	return 0;
}

/* "command": the guest command and its arguments, as after "--". */
static int config_reader_command(struct config_reader *r, const json_t *list)
{
	struct config_file *file = r->file;
	char key_path[CONFIG_KEY_PATH_MAX];
	size_t i, count = json_array_size(list);
	json_t *item;
	int ret = 0;

	if (json_is_null(list))
		return 0;
	if (!json_is_array(list) || count == 0)
		return config_reader_fail(r, "command",
					  "expected a list of strings, e.g. "
					  "[\"make\", \"test\"]");
	if (count > CONFIG_MAX_ARGS)
		return config_reader_fail(r, "command", "more than %d arguments", CONFIG_MAX_ARGS);
	file->command = calloc(count + 1, sizeof(*file->command));
	if (!file->command)
		return -ENOMEM;
	json_array_foreach((json_t *)list, i, item)
	{
		const char *text;

		snprintf(key_path, sizeof(key_path), "command[%zu]", i);
		text = config_reader_string(r, key_path, item, &ret);
		if (!text)
			return ret;
		file->command[i] = strdup(text);
		if (!file->command[i])
			return -ENOMEM;
		file->command_argc = i + 1;
	}
	return 0;
}

/* One top-level key and its value. */
static int config_reader_key(struct config_reader *r, const char *key, const json_t *value)
{
	char flag[CONFIG_KEY_MAX];
	size_t len = strlen(key);
	const struct config_option *option;

	if (!strcmp(key, "command"))
		return config_reader_command(r, value);
	if (len >= sizeof(flag) || strchr(key, '-'))
		return config_reader_fail(r, key,
					  "unknown key: keys are long options with '_' "
					  "for '-', e.g. no_sandbox (docs/config.md)");
	for (size_t i = 0; i <= len; i++)
		flag[i] = key[i] == '_' ? '-' : key[i];
	option = config_option_find(flag, len);
	if (!option || option->key == CONFIG_KEY_NONE)
		return config_reader_fail(r, key, "unknown key: see docs/config.md for the keys");
	if (json_is_null(value))
		return 0;
	switch (option->key) {
	case CONFIG_KEY_STRING:
		return config_reader_scalar(r, option, key, value, false);
	case CONFIG_KEY_INTEGER:
		if (!json_is_integer(value))
			return config_reader_fail(r, key, "expected a whole number");
		return config_reader_scalar(r, option, key, value, true);
	case CONFIG_KEY_SIZE:
		return config_reader_scalar(r, option, key, value, true);
	case CONFIG_KEY_LOOPBACK:
		if (!json_is_boolean(value))
			return config_reader_list(r, option, key, value);
		/* true is the bare option */
		__attribute__((fallthrough));
	case CONFIG_KEY_BOOL:
		if (!json_is_boolean(value))
			return config_reader_fail(r, key, "expected true or false");
		return json_is_true(value) ? config_reader_push(r, option, key, NULL) : 0;
	case CONFIG_KEY_LIST:
		return config_reader_list(r, option, key, value);
	case CONFIG_KEY_NONE:
	default:
		return -EINVAL;
	}
}

/* The document, bounded in size, with duplicate keys refused (RFC 8259 §4 leaves them open). */
static json_t *config_reader_parse(struct config_reader *r, int *ret)
{
	json_error_t error;
	struct stat st;
	json_t *root;
	FILE *in = fopen(r->path, "re");

	if (!in) {
		*ret = -errno;
		snprintf(r->err, r->err_len,
			 "config %s: cannot open: %s: give an existing JSON file", r->path,
			 strerror(-*ret));
		return NULL;
	}
	if (fstat(fileno(in), &st) || !S_ISREG(st.st_mode) || st.st_size > CONFIG_FILE_MAX_BYTES) {
		fclose(in);
		*ret = config_reader_fail(r, NULL, "not a regular file of at most %u bytes",
					  CONFIG_FILE_MAX_BYTES);
		return NULL;
	}
	root = json_loadf(in, JSON_REJECT_DUPLICATES, &error);
	fclose(in);
	if (!root) {
		snprintf(r->err, r->err_len, "config %s: line %d, column %d: %s: fix the JSON",
			 r->path, error.line, error.column, error.text);
		*ret = -EINVAL;
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		*ret = config_reader_fail(r, NULL,
					  "expected a JSON object of options, "
					  "e.g. {\"cpus\": 2}");
		return NULL;
	}
	return root;
}

int config_file_load(const char *path, struct config_file *file, char *err, size_t err_len)
{
	struct config_reader r = {path, file, NULL, err, err_len};
	const char *key;
	json_t *root, *value;
	int ret = 0;

	memset(file, 0, sizeof(*file));
	root = config_reader_parse(&r, &ret);
	if (!root)
		return ret;
	/* config_parse's defaults, so that checks that read them (--scratch) see the real ones. */
	r.scratch = calloc(1, sizeof(*r.scratch));
	if (!r.scratch) {
		ret = -ENOMEM;
		goto out_root;
	}
	r.scratch->mem = CONFIG_DEFAULT_MEM;
	json_object_foreach(root, key, value)
	{
		ret = config_reader_key(&r, key, value);
		if (ret)
			break;
	}
	if (ret == -ENOMEM)
		snprintf(err, err_len, "config %s: out of memory", path);
	free(r.scratch);
out_root:
	json_decref(root);
	if (ret)
		config_file_free(file);
	return ret;
}

void config_file_free(struct config_file *file)
{
	for (size_t i = 0; i < file->arg_count; i++)
		free(file->args[i]);
	for (size_t i = 0; i < file->command_argc; i++)
		free(file->command[i]);
	free(file->args);
	free(file->options);
	free(file->command);
	memset(file, 0, sizeof(*file));
}

static void config_note_config(void *ctx, const struct config_option *option, const char *value)
{
	if (!strcmp(option->flag, "config"))
		*(const char **)ctx = value;
}

const char *config_file_requested(int argc, char *const argv[])
{
	const char *path = NULL;

	config_walk(argc, argv, config_note_config, &path);
	return path;
}

static void config_note_list(void *ctx, const struct config_option *option, const char *value)
{
	(void)value;
	if (option->key == CONFIG_KEY_LIST || option->key == CONFIG_KEY_LOOPBACK)
		((bool *)ctx)[option - config_option_at(0)] = true;
}

int config_file_merge(const struct config_file *file, int argc, char *const argv[],
		      struct config_argv *merged)
{
	bool on_command_line[CONFIG_OPTION_MAX] = {false};
	int command = config_walk(argc, argv, config_note_list, on_command_line);
	size_t size = 1 + file->arg_count + (size_t)argc + file->command_argc + 2;
	char **out = calloc(size, sizeof(*out));
	int n = 0;

	if (!out)
		return -ENOMEM;
	out[n++] = argc > 0 ? argv[0] : "microvmm";
	for (size_t i = 0; i < file->arg_count; i++)
		if (!on_command_line[file->options[i] - config_option_at(0)])
			out[n++] = file->args[i];
	for (int i = 1; i < argc; i++)
		out[n++] = argv[i];
	if (command == argc && file->command) {
		out[n++] = "--";
		for (size_t i = 0; i < file->command_argc; i++)
			out[n++] = file->command[i];
	}
	out[n] = NULL;
	merged->argc = n;
	merged->argv = out;
	return 0;
}

void config_argv_free(struct config_argv *merged)
{
	free(merged->argv);
	merged->argv = NULL;
	merged->argc = 0;
}
