/* --print-config: the effective configuration as JSON, every key, values as the user wrote them. */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/config/config_json.h"

/* The key of an option: its name with '_' for '-'. */
static void config_print_key(const struct config_option *option, char *key, size_t len)
{
	size_t i;

	for (i = 0; option->flag[i] && i + 1 < len; i++)
		key[i] = option->flag[i] == '-' ? '_' : option->flag[i];
	key[i] = '\0';
}

/*
 * A JSON string of `text`. JSON carries UTF-8 only: bytes that are not
 * (a file name, an --env value) become U+FFFD and *exact turns false.
 */
static json_t *config_print_string(const char *text, bool *exact)
{
	size_t len = strlen(text), out_len = 0;
	json_t *value = json_string(text);
	char *out;

	if (value)
		return value;
	out = malloc(len * 3 + 1);
	if (!out)
		return NULL;
	*exact = false;
	for (size_t i = 0; i < len;) {
		size_t k = 1;
		json_t *one = NULL;

		/* jansson's own check, one character of 1 to 4 bytes at a time. */
		for (; k <= 4 && i + k <= len && !(one = json_stringn(text + i, k)); k++)
			;
		if (one) {
			memcpy(out + out_len, text + i, k);
			out_len += k;
			i += k;
			json_decref(one);
		} else {
			memcpy(out + out_len, "\xef\xbf\xbd", 3);
			out_len += 3;
			i++;
		}
	}
	value = json_stringn(out, out_len);
	free(out);
	return value;
}

/* A value config_parse accepted: integers (and loopback ports) are digits, the rest is text. */
static json_t *config_print_value(const struct config_option *option, const char *value,
				  bool *exact)
{
	if (option->key == CONFIG_KEY_INTEGER)
		return json_integer(strtoll(value, NULL, 10));
	return config_print_string(value, exact);
}

/* What a key shows when the command line does not give it. */
static json_t *config_print_default(const struct config_option *option)
{
	switch (option->key) {
	case CONFIG_KEY_BOOL:
	case CONFIG_KEY_LOOPBACK:
		return json_false();
	case CONFIG_KEY_LIST:
		return json_array();
	default:
		return option->fallback
			   ? config_print_value(option, option->fallback, &(bool){true})
			   : json_null();
	}
}

struct config_printer {
	json_t *root;
	int failed; /* jansson allocation failures */
	bool exact; /* every value was UTF-8 */
};

static void config_print_option(void *ctx, const struct config_option *option, const char *value)
{
	struct config_printer *p = ctx;
	char key[CONFIG_OPTION_NAME_MAX];
	json_t *current;

	if (option->key == CONFIG_KEY_NONE)
		return;
	config_print_key(option, key, sizeof(key));
	current = json_object_get(p->root, key);
	switch (option->key) {
	case CONFIG_KEY_BOOL:
		p->failed |= json_object_set_new(p->root, key, json_true());
		break;
	case CONFIG_KEY_LOOPBACK:
		/* The bare option opens every port: ports given beside it change nothing. */
		if (!value || json_is_true(current))
			p->failed |= json_object_set_new(p->root, key, json_true());
		else if (json_is_array(current))
			p->failed |= json_array_append_new(current, json_integer(atoi(value)));
		else
			p->failed |=
			    json_object_set_new(p->root, key, json_pack("[i]", atoi(value)));
		break;
	case CONFIG_KEY_LIST:
		p->failed |= json_array_append_new(current, config_print_string(value, &p->exact));
		break;
	default:
		p->failed |=
		    json_object_set_new(p->root, key, config_print_value(option, value, &p->exact));
		break;
	}
}

static json_t *config_print_command(int argc, char *const argv[], int dashes, bool *exact)
{
	json_t *command;

	if (dashes >= argc)
		return json_null();
	command = json_array();
	for (int i = dashes + 1; command && i < argc; i++)
		if (json_array_append_new(command, config_print_string(argv[i], exact))) {
			json_decref(command);
			return NULL;
		}
	return command;
}

char *config_print_json(int argc, char *const argv[], bool *exact)
{
	struct config_printer p = {json_object(), 0, true};
	const struct config_option *option;
	char key[CONFIG_OPTION_NAME_MAX];
	char *text = NULL, *line;
	int dashes;

	if (!p.root)
		return NULL;
	for (size_t i = 0; (option = config_option_at(i)); i++) {
		if (option->key == CONFIG_KEY_NONE)
			continue;
		config_print_key(option, key, sizeof(key));
		p.failed |= json_object_set_new(p.root, key, config_print_default(option));
	}
	dashes = config_walk(argc, argv, config_print_option, &p);
	p.failed |= json_object_set_new(p.root, "command",
					config_print_command(argc, argv, dashes, &p.exact));
	if (exact)
		*exact = p.exact;
	if (!p.failed)
		text = json_dumps(p.root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(p.root);
	if (!text || asprintf(&line, "%s\n", text) < 0)
		line = NULL;
	free(text);
	return line;
}
