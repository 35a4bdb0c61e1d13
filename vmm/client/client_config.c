/* libmicrovmm: a configuration built key by key, as the JSON of a --config file. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>

#include "vmm/client/client.h"

struct microvmm_config {
	json_t *doc;
};

struct microvmm_config *microvmm_config_new(void)
{
	struct microvmm_config *cfg = calloc(1, sizeof(*cfg));

	if (cfg)
		cfg->doc = json_object();
	if (!cfg || !cfg->doc) {
		free(cfg);
		client_fail(-ENOMEM, "out of memory");
		return NULL;
	}
	return cfg;
}

void microvmm_config_free(struct microvmm_config *cfg)
{
	if (!cfg)
		return;
	json_decref(cfg->doc);
	free(cfg);
}

/* Key names are checked by microvmm itself (an unknown one fails the start with its name). */
static int client_config_set(struct microvmm_config *cfg, const char *key, json_t *value)
{
	if (!cfg || !key || !value) {
		json_decref(value);
		return client_fail(-EINVAL, "microvmm_config: a NULL configuration, key or value");
	}
	if (json_object_set_new(cfg->doc, key, value))
		return client_fail(-ENOMEM, "out of memory");
	return 0;
}

int microvmm_config_set_string(struct microvmm_config *cfg, const char *key, const char *value)
{
	return client_config_set(cfg, key, value ? json_string(value) : NULL);
}

int microvmm_config_set_int(struct microvmm_config *cfg, const char *key, long long value)
{
	return client_config_set(cfg, key, json_integer(value));
}

int microvmm_config_set_bool(struct microvmm_config *cfg, const char *key, bool value)
{
	return client_config_set(cfg, key, json_boolean(value));
}

int microvmm_config_add(struct microvmm_config *cfg, const char *key, const char *item)
{
	json_t *list;

	if (!cfg || !key || !item)
		return client_fail(-EINVAL,
				   "microvmm_config_add: a NULL configuration, key or item");
	list = json_object_get(cfg->doc, key);
	if (!json_is_array(list)) {
		list = json_array();
		if (client_config_set(cfg, key, list))
			return -ENOMEM;
	}
	if (json_array_append_new(list, json_string(item)))
		return client_fail(-ENOMEM, "out of memory (or %s is not UTF-8)", key);
	return 0;
}

int microvmm_config_set_command(struct microvmm_config *cfg, const char *const argv[])
{
	json_t *list = json_array();

	for (size_t i = 0; list && argv && argv[i]; i++)
		if (json_array_append_new(list, json_string(argv[i]))) {
			json_decref(list);
			return client_fail(-EINVAL, "command: argument %zu is not UTF-8", i);
		}
	return client_config_set(cfg, "command", list);
}

char *microvmm_config_json(const struct microvmm_config *cfg)
{
	char *text = cfg ? json_dumps(cfg->doc, JSON_INDENT(2)) : NULL;

	if (!text)
		client_fail(-ENOMEM, "out of memory");
	return text;
}

char *client_config_text(const struct microvmm_config *cfg, const char *socket)
{
	json_t *doc = cfg ? json_deep_copy(cfg->doc) : json_object();
	char *text = NULL;

	if (doc && json_object_set_new(doc, "api_socket", json_string(socket)) == 0)
		text = json_dumps(doc, JSON_INDENT(2));
	json_decref(doc);
	if (!text)
		client_fail(-ENOMEM, "out of memory");
	return text;
}
