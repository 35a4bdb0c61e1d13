/* Guest init: who the command runs as: root, and agent with the share owner's uid and gid. */
#include "init.h"

#include <errno.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define USERS_PASSWD   "/etc/passwd"
#define USERS_GROUP    "/etc/group"
#define USERS_HOSTS    "/etc/hosts"
#define USERS_FILE_MAX (1u << 20)
#define USERS_AGENT    "agent"
#define USERS_HOSTNAME "microvmm"
#define USERS_FDS      16 /* nftw's open directories */

/* The fields of one /etc/passwd line (passwd(5)) we use. */
struct users_entry {
	bool found;
	unsigned int uid, gid;
	char home[256];
	char shell[256];
};

/* Field @n (from 0) of the ':'-separated line [line, eol) into @out; false if absent. */
static bool users_field(const char *line, const char *eol, unsigned int n, char *out, size_t len)
{
	const char *end;

	for (; n > 0; n--) {
		line = memchr(line, ':', (size_t)(eol - line));
		if (!line)
			return false;
		line++;
	}
	end = memchr(line, ':', (size_t)(eol - line));
	if (!end)
		end = eol;
	if ((size_t)(end - line) >= len)
		return false;
	memcpy(out, line, (size_t)(end - line));
	out[end - line] = '\0';
	return true;
}

static bool users_number(const char *text, unsigned int *out)
{
	char *end;
	unsigned long v = strtoul(text, &end, 10);

	if (!*text || *end || v > 0xfffffffeUL)
		return false;
	*out = (unsigned int)v;
	return true;
}

/* The line of @text whose first field is @name (field @n is @number when @name is NULL). */
static const char *users_line(const char *text, const char *name, unsigned int n,
			      unsigned int number, const char **eol)
{
	size_t name_len = name ? strlen(name) : 0;
	char field[16];
	unsigned int v;

	for (const char *l = text; *l;) {
		const char *e = strchrnul(l, '\n');

		if (name ? (!strncmp(l, name, name_len) && l[name_len] == ':')
			 : (users_field(l, e, n, field, sizeof(field)) && users_number(field, &v) &&
			    v == number)) {
			*eol = e;
			return l;
		}
		l = *e ? e + 1 : e;
	}
	return NULL;
}

static void users_lookup(const char *passwd, const char *name, struct users_entry *u)
{
	const char *eol;
	const char *l = users_line(passwd, name, 0, 0, &eol);
	char uid[16], gid[16];

	memset(u, 0, sizeof(*u));
	u->found = l && users_field(l, eol, 2, uid, sizeof(uid)) && users_number(uid, &u->uid) &&
		   users_field(l, eol, 3, gid, sizeof(gid)) && users_number(gid, &u->gid) &&
		   users_field(l, eol, 5, u->home, sizeof(u->home)) &&
		   users_field(l, eol, 6, u->shell, sizeof(u->shell)) && u->home[0] == '/';
}

/*
 * @text with the line [line, eol) rebuilt: fields before @first kept,
 * then @ids (the replacement of as many fields as it has), then the rest;
 * or, with @line NULL, @ids appended as a new line. A heap string or NULL.
 */
static char *users_edit(const char *text, const char *line, const char *eol, unsigned int first,
			const char *ids)
{
	size_t len = strlen(text);
	const char *rest = line, *start = line;
	unsigned int skip = first + 1;
	char *out = NULL;

	if (!line) {
		const char *nl = len && text[len - 1] != '\n' ? "\n" : "";

		return asprintf(&out, "%s%s%s\n", text, nl, ids) < 0 ? NULL : out;
	}
	for (const char *c = ids; *c; c++)
		skip += *c == ':';
	for (unsigned int i = 0; i < skip && rest; i++) {
		rest = memchr(rest, ':', (size_t)(eol - rest));
		rest = rest ? rest + 1 : NULL;
		if (i + 1 == first)
			start = rest;
	}
	if (!rest || !start) {
		init_log("a line with too few fields: %.*s (left as it is)", (int)(eol - line),
			 line);
		return strdup(text);
	}
	if (asprintf(&out, "%.*s%s:%s", (int)(start - text), text, ids, rest) < 0)
		return NULL;
	return out;
}

/* Writes @path when the edit changed it; frees @text and @edited. */
static int users_commit(const char *path, char *text, char *edited)
{
	int err = 0;

	if (!edited)
		err = -ENOMEM;
	else if (strcmp(text, edited))
		err = file_replace(path, edited, strlen(edited));
	free(text);
	free(edited);
	return err;
}

static int users_read(const char *path, const char *fallback, char **text)
{
	size_t len;
	int err = file_read(path, USERS_FILE_MAX, text, &len);

	if (err == -ENOENT)
		*text = strdup(fallback);
	else if (err)
		return err;
	return *text ? 0 : -ENOMEM;
}

/*
 * agent in /etc/passwd with the share owner's ids: the tree's own entry
 * (its home, shell and groups kept) or, when it has none, a new one as in
 * the initramfs. @old gets the entry as it was.
 */
static int users_passwd(const struct run_config *rc, struct users_entry *old)
{
	char *text, ids[64], *edited;
	const char *line, *eol;
	int err = users_read(USERS_PASSWD, "root:x:0:0:root:/root:/bin/sh\n", &text);

	if (err)
		return err;
	users_lookup(text, USERS_AGENT, old);
	line = users_line(text, USERS_AGENT, 0, 0, &eol);
	if (line) {
		snprintf(ids, sizeof(ids), "%u:%u", rc->agent_uid, rc->agent_gid);
		edited = users_edit(text, line, eol, 2, ids);
	} else {
		snprintf(ids, sizeof(ids),
			 USERS_AGENT ":x:%u:%u:agent:/home/" USERS_AGENT ":/bin/sh", rc->agent_uid,
			 rc->agent_gid);
		edited = users_edit(text, NULL, NULL, 0, ids);
	}
	return users_commit(USERS_PASSWD, text, edited);
}

/* The agent group gets the new gid; added when missing and no group has that gid. */
static int users_group(const struct run_config *rc)
{
	char *text, ids[64], *edited;
	const char *line, *eol;
	int err = users_read(USERS_GROUP, "root:x:0:\n", &text);

	if (err)
		return err;
	line = users_line(text, USERS_AGENT, 0, 0, &eol);
	if (line) {
		snprintf(ids, sizeof(ids), "%u", rc->agent_gid);
		edited = users_edit(text, line, eol, 2, ids);
	} else if (!users_line(text, NULL, 2, rc->agent_gid, &eol)) {
		snprintf(ids, sizeof(ids), USERS_AGENT ":x:%u:", rc->agent_gid);
		edited = users_edit(text, NULL, NULL, 0, ids);
	} else {
		edited = strdup(text);
	}
	return users_commit(USERS_GROUP, text, edited);
}

/* nftw has no context argument; PID 1 is single-threaded. */
static unsigned int users_old_uid, users_old_gid, users_new_uid, users_new_gid;
static dev_t users_home_dev;

static int users_chown_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)ftw;
	/*
	 * Not FTW_MOUNT: overlayfs reports non-directories with their layer's
	 * device (overlayfs.rst "Inode properties"), so only directories show
	 * a mount point.
	 */
	if (type == FTW_D && st->st_dev != users_home_dev)
		return FTW_SKIP_SUBTREE;
	if (st->st_uid == users_old_uid &&
	    lchown(path, users_new_uid, st->st_gid == users_old_gid ? users_new_gid : (gid_t)-1) <
		0)
		init_log("chown %s: %s", path, strerror(errno));
	return FTW_CONTINUE;
}

/*
 * The agent's home belongs to the agent. When the tree's agent had other
 * ids, what it owned in its home follows (on this file system only: no
 * share is mounted yet, and nothing outside the home is touched). Each
 * file so changed is copied up into the overlay.
 */
static void users_home(const struct run_config *rc, const struct users_entry *old, const char *home)
{
	struct stat st;

	if (lstat(home, &st) < 0) {
		if (file_mkdirs(home, 0755) < 0 || chown(home, rc->agent_uid, rc->agent_gid) < 0)
			init_log("%s: %s", home, strerror(errno));
		return;
	}
	if (!old->found) {
		if (chown(home, rc->agent_uid, rc->agent_gid) < 0)
			init_log("chown %s: %s", home, strerror(errno));
		return;
	}
	if ((old->uid == rc->agent_uid && old->gid == rc->agent_gid) || !strcmp(home, "/") ||
	    !S_ISDIR(st.st_mode) || st.st_uid != old->uid)
		return;
	users_old_uid = old->uid;
	users_old_gid = old->gid;
	users_new_uid = rc->agent_uid;
	users_new_gid = rc->agent_gid;
	users_home_dev = st.st_dev;
	if (nftw(home, users_chown_one, USERS_FDS, FTW_PHYS | FTW_ACTIONRETVAL) < 0)
		init_log("chown -R %s: %s", home, strerror(errno));
}

/* The hostname, and a name for it in a tree's /etc/hosts (sudo looks it up). */
static void users_hostname(void)
{
	char *text;
	size_t len;

	if (sethostname(USERS_HOSTNAME, strlen(USERS_HOSTNAME)) < 0)
		init_log("sethostname: %s", strerror(errno));
	if (file_read(USERS_HOSTS, USERS_FILE_MAX, &text, &len) < 0)
		return;
	if (!strstr(text, USERS_HOSTNAME)) {
		char *edited = users_edit(text, NULL, NULL, 0, "127.0.1.1\t" USERS_HOSTNAME);
		int err = edited ? file_replace(USERS_HOSTS, edited, strlen(edited)) : -ENOMEM;

		if (err)
			init_log("%s: %s", USERS_HOSTS, strerror(-err));
		free(edited);
	}
	free(text);
}

/* The groups whose member list (group(5)) names the agent, for setgroups() before the command. */
static void users_supplementary(struct run_config *rc)
{
	char *text, members[4096], gid[16];
	unsigned int v;
	size_t len = strlen(USERS_AGENT);

	rc->group_count = 0;
	if (users_read(USERS_GROUP, "", &text))
		return;
	for (const char *l = text; *l && rc->group_count < INIT_MAX_GROUPS;) {
		const char *e = strchrnul(l, '\n');

		if (users_field(l, e, 3, members, sizeof(members)) &&
		    users_field(l, e, 2, gid, sizeof(gid)) && users_number(gid, &v) &&
		    v != rc->agent_gid) {
			for (const char *m = members; *m; m = *m == ',' ? m + 1 : m) {
				bool match = !strncmp(m, USERS_AGENT, len) &&
					     (m[len] == ',' || m[len] == '\0');

				if (match) {
					rc->groups[rc->group_count++] = v;
					break;
				}
				m = strchrnul(m, ',');
			}
		}
		l = *e ? e + 1 : e;
	}
	free(text);
}

/* The command's user as /etc/passwd now says: its home and login shell. */
static void users_fill(struct run_config *rc, const struct users_entry *u, const char *home)
{
	snprintf(rc->home, sizeof(rc->home), "%s", home);
	snprintf(rc->shell, sizeof(rc->shell), "%s", INIT_SHELL);
	if (u->found && u->shell[0] == '/' && access(u->shell, X_OK) == 0)
		snprintf(rc->shell, sizeof(rc->shell), "%s", u->shell);
}

int users_setup(struct run_config *rc, char *why, size_t why_len)
{
	struct users_entry old, root;
	char *text;
	const char *home;
	int err;

	users_hostname();
	err = file_mkdirs("/etc", 0755);
	if (!err)
		err = users_passwd(rc, &old);
	if (!err)
		err = users_group(rc);
	if (err) {
		snprintf(why, why_len, "cannot set up the users in /etc/passwd and /etc/group: %s",
			 strerror(-err));
		return err;
	}
	home = old.found ? old.home : "/home/" USERS_AGENT;
	users_home(rc, &old, home);
	users_supplementary(rc);
	if (!rc->as_root) {
		users_fill(rc, &old, home);
		return 0;
	}
	root.found = false;
	if (users_read(USERS_PASSWD, "", &text) == 0) {
		users_lookup(text, "root", &root);
		free(text);
	}
	users_fill(rc, &root, root.found ? root.home : "/root");
	if (mkdir(rc->home, 0700) < 0 && errno != EEXIST)
		init_log("%s: %s", rc->home, strerror(errno));
	return 0;
}
