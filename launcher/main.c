/* microvmm-agent: runs a coding agent in a throwaway microVM through microvmm; the only file that
 * exits. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/audit.h"
#include "launcher/fdio.h"
#include "launcher/fstree.h"
#include "launcher/guest_config.h"
#include "launcher/logstream.h"
#include "launcher/options.h"
#include "launcher/paths.h"
#include "launcher/redact.h"
#include "launcher/runner.h"
#include "launcher/rundir.h"
#include "launcher/summary.h"
#include "launcher/transcript.h"
#include "launcher/vmm_argv.h"
#include "launcher/wsdiff.h"

#define EXIT_LAUNCHER	 125 /* as microvmm's own failures */
#define ERR_LEN		 512
#define DEFAULT_CPUS	 4
#define DEFAULT_MEM	 (4ULL << 30)
#define MIN_MEM		 (512ULL << 20)
#define SECRET_FILE_MAX	 (1U << 20)
#define MAX_KEY_VARS	 4
#define MAX_SHARED_ROOTS (OPTIONS_MAX_SHARES + 1)

/* Everything one run holds; main() owns it and run_cleanup() undoes it. */
struct run {
	struct options opts;
	char exe_dir[PATH_MAX], microvmm[PATH_MAX], image[PATH_MAX], rootfs[PATH_MAX];
	char entry[PATH_MAX], workspace[PATH_MAX], audit_base[PATH_MAX];
	char kernel[PATH_MAX], initrd[PATH_MAX]; /* real paths of --kernel, --initrd */
	char shared[MAX_SHARED_ROOTS][PATH_MAX]; /* real paths the guest can write */
	unsigned int shared_count;
	char run_id[AUDIT_RUN_ID_MAX];
	char agent_version[128];
	bool has_version;
	const char *key_vars[MAX_KEY_VARS];
	unsigned int key_count;
	char *secret_data[OPTIONS_MAX_LIST];
	size_t secret_len[OPTIONS_MAX_LIST];
	struct redact_set redact;
	struct netpolicy net;
	unsigned int cpus;
	char mem[32];
	struct rundir rundir;
	int audit_base_fd, audit_fd, ws_fd, sig_fd;
	sigset_t old_mask;
	bool mask_set;
	struct wsdiff_snapshot before, after;
	struct timespec start, end;
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One line on stderr, "microvmm-agent: ...", in one write. */
static void say(const char *fmt, ...)
{
	char line[ERR_LEN + 64];
	va_list ap;
	int n = snprintf(line, sizeof(line), "microvmm-agent: ");

	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (fdio_write_all(STDERR_FILENO, line, (size_t)n))
		return;
}

static void errf(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The one-line message for a failure, into err (ERR_LEN bytes); long paths are cut. */
static void errf(char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(err, ERR_LEN, fmt, ap) < 0)
		err[0] = '\0';
	va_end(ap);
}

static void run_init(struct run *r)
{
	memset(r, 0, sizeof(*r));
	redact_set_init(&r->redact);
	rundir_init(&r->rundir);
	wsdiff_init(&r->before);
	wsdiff_init(&r->after);
	r->audit_base_fd = r->audit_fd = r->ws_fd = r->sig_fd = -1;
}

/* A variable whose value is worth hiding even when the user passed it with --env NAME. */
static bool looks_secret(const char *spec)
{
	static const char *const words[] = {"KEY", "TOKEN", "SECRET", "PASSWORD", "CREDENTIAL"};
	char name[256];

	snprintf(name, sizeof(name), "%.*s", (int)strcspn(spec, "="), spec);
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasestr(name, words[i]))
			return true;
	return false;
}

static int add_secret_value(struct run *r, const char *value, char *err)
{
	int ret = redact_set_add(&r->redact, value, strlen(value));

	if (ret)
		errf(err, "cannot keep a secret for redaction: %s", strerror(-ret));
	return ret;
}

/* The agent's key variables that are set: passed by name, their values redacted. */
static int prepare_keys(struct run *r, char *err)
{
	const struct agent_profile *a = r->opts.agent;
	int ret = 0;

	for (unsigned int i = 0; a->key_vars[i] && i < MAX_KEY_VARS && !ret; i++) {
		const char *value = getenv(a->key_vars[i]);

		if (!value || !*value)
			continue;
		r->key_vars[r->key_count++] = a->key_vars[i];
		ret = add_secret_value(r, value, err);
	}
	if (ret || r->key_count || r->opts.mode == OPTIONS_SHELL || r->opts.login)
		return ret;
	errf(err, "no API key for %s: set %s%s%s in the environment (it is passed by name)",
	     a->name, a->key_vars[0], a->key_vars[1] ? " or " : "",
	     a->key_vars[1] ? a->key_vars[1] : "");
	return -ENOKEY;
}

static int prepare_env_and_secrets(struct run *r, char *err)
{
	int ret = 0;

	for (unsigned int i = 0; i < r->opts.env_count && !ret; i++) {
		const char *spec = r->opts.env[i], *eq = strchr(spec, '=');
		const char *value = eq ? eq + 1 : getenv(spec);

		if (value && looks_secret(spec))
			ret = add_secret_value(r, value, err);
	}
	for (unsigned int i = 0; i < r->opts.secret_count && !ret; i++) {
		const struct options_secret *s = &r->opts.secrets[i];

		ret = fdio_read_file(AT_FDCWD, s->file, true, SECRET_FILE_MAX, &r->secret_data[i],
				     &r->secret_len[i]);
		if (ret) {
			errf(err, "--secret %s: cannot read '%s': %s", s->name, s->file,
			     ret == -EFBIG    ? "larger than 1 MiB"
			     : ret == -EINVAL ? "not a regular file"
					      : strerror(-ret));
			return ret;
		}
		ret = redact_set_add_text(&r->redact, r->secret_data[i], r->secret_len[i]);
		if (ret)
			errf(err, "--secret %s: cannot keep it for redaction: %s", s->name,
			     strerror(-ret));
	}
	return ret;
}

static int add_shared_root(struct run *r, const char *path, char *err)
{
	if (!realpath(path, r->shared[r->shared_count])) {
		int ret = -errno;

		errf(err, "'%s' is not a directory to share: %s", path, strerror(-ret));
		return ret;
	}
	r->shared_count++;
	return 0;
}

/* The workspace and the --share directories: real, existing directories. */
static int prepare_dirs(struct run *r, char *err)
{
	const char *ws = r->opts.workspace ? r->opts.workspace : ".";
	struct stat st;
	int ret = 0;

	if (!realpath(ws, r->workspace) || stat(r->workspace, &st) < 0 || !S_ISDIR(st.st_mode)) {
		errf(err, "the workspace '%s' is not a directory: give --workspace DIR", ws);
		return -ENOTDIR;
	}
	snprintf(r->shared[r->shared_count++], PATH_MAX, "%s", r->workspace);
	for (unsigned int i = 0; i < r->opts.share_count && !ret; i++) {
		const char *spec = r->opts.shares[i], *guest = strstr(spec, ":/");
		char host[PATH_MAX];
		size_t len = (size_t)(guest - spec);
		bool ro = strlen(guest) > 3 && !strcmp(guest + strlen(guest) - 3, ":ro");

		snprintf(host, sizeof(host), "%.*s", (int)len, spec);
		if (stat(host, &st) < 0 || !S_ISDIR(st.st_mode)) {
			errf(err, "--share '%s': '%s' is not a directory", spec, host);
			return -ENOTDIR;
		}
		if (!ro)
			ret = add_shared_root(r, host, err);
	}
	return ret;
}

/* --kernel and --initrd as real paths, checked here so a typo fails before anything starts. */
static int prepare_boot_file(const char *flag, const char *given, char *out, char *err)
{
	struct stat st;

	if (!given)
		return 0;
	if (!realpath(given, out) || stat(out, &st) < 0 || !S_ISREG(st.st_mode)) {
		errf(err,
		     "%s '%s' is not a file: give the path of one that guest-image/build wrote",
		     flag, given);
		return -ENOENT;
	}
	return 0;
}

/* Defaults sized for agent work, capped by the host; explicit values go to microvmm as given. */
static void prepare_resources(struct run *r)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	unsigned long long half = pages > 0 && page > 0 ? (unsigned long long)pages * page / 2 : 0;
	unsigned long long mem = DEFAULT_MEM;

	r->cpus = r->opts.cpus			    ? r->opts.cpus
		  : cpus > 0 && cpus < DEFAULT_CPUS ? (unsigned int)cpus
						    : DEFAULT_CPUS;
	if (r->opts.mem_text) {
		snprintf(r->mem, sizeof(r->mem), "%s", r->opts.mem_text);
		return;
	}
	if (half && half < mem)
		mem = half < MIN_MEM ? MIN_MEM : half;
	snprintf(r->mem, sizeof(r->mem), "%lluM", mem >> 20);
}

/* Everything that can be checked before anything is created or started. */
static int run_prepare(struct run *r, char *err)
{
	int ret = paths_exe_dir(r->exe_dir, sizeof(r->exe_dir));

	if (ret || paths_find_microvmm(r->exe_dir, r->microvmm, sizeof(r->microvmm))) {
		errf(err, "microvmm is neither next to microvmm-agent nor on PATH: "
			  "build it (scripts/build) or install it");
		return -ENOENT;
	}
	ret = prepare_dirs(r, err);
	if (!ret)
		ret = prepare_boot_file("--kernel", r->opts.kernel, r->kernel, err);
	if (!ret)
		ret = prepare_boot_file("--initrd", r->opts.initrd, r->initrd, err);
	if (!ret)
		ret = paths_find_image(r->exe_dir, r->opts.image, r->image, sizeof(r->image), err,
				       ERR_LEN);
	if (ret)
		return ret;
	if (snprintf(r->rootfs, sizeof(r->rootfs), "%s/rootfs", r->image) >=
	    (int)sizeof(r->rootfs)) {
		errf(err, "the image's path is too long");
		return -ENAMETOOLONG;
	}
	if (paths_find_entry(r->exe_dir, r->entry, sizeof(r->entry))) {
		errf(err, "guest-entry.sh is missing next to microvmm-agent: "
			  "reinstall, or rebuild the tree");
		return -ENOENT;
	}
	ret = prepare_keys(r, err);
	if (!ret)
		ret = prepare_env_and_secrets(r, err);
	if (!ret)
		ret = netpolicy_build(&r->opts.net, r->opts.agent, &r->net, err, ERR_LEN);
	if (!ret && paths_audit_base(r->opts.audit_dir, r->audit_base, sizeof(r->audit_base))) {
		errf(err, "no HOME for the audit trail: give --audit-dir DIR");
		ret = -ENOENT;
	}
	if (ret)
		return ret;
	prepare_resources(r);
	r->has_version = !paths_agent_version(r->image, r->opts.agent->package, r->agent_version,
					      sizeof(r->agent_version));
	return 0;
}

static const char *mode_name(enum options_mode mode)
{
	return mode == OPTIONS_TASK ? "task" : mode == OPTIONS_SHELL ? "shell" : "interactive";
}

/* The guest's API URL (NULL without --api-base); Codex wants the /v1 prefix the others add. */
static int guest_api_url(const struct run *r, char *out, size_t len)
{
	if (!r->opts.has_api)
		return 1;
	return api_url_guest(&r->opts.api, strcmp(r->opts.agent->name, "codex") ? "" : "/v1", out,
			     len);
}

static int write_setup_text(struct run *r, const char *name, struct strbuf *b)
{
	int ret =
	    b->err ? b->err : rundir_write(&r->rundir, name, b->data ? b->data : "", b->len, 0400);

	strbuf_free(b);
	return ret;
}

/* setup/: the entry script, config.sh, the agent's configuration and secret copies. */
static int write_setup(struct run *r)
{
	char url[API_URL_HOST_MAX + API_URL_PATH_MAX + 32], *script = NULL, sname[96];
	const char *names[OPTIONS_MAX_LIST];
	struct guest_config c = {
	    .run_id = r->run_id,
	    .agent = r->opts.agent->name,
	    .mode = mode_name(r->opts.mode),
	    .task = r->opts.task,
	    .git_name = r->opts.git_name,
	    .git_email = r->opts.git_email,
	    .secrets = names,
	    .secret_count = r->opts.secret_count,
	    .timeout = r->opts.timeout,
	    .ssh_key = r->opts.ssh_key,
	    .login = r->opts.login,
	};
	struct strbuf b;
	size_t len;
	int ret = guest_api_url(r, url, sizeof(url));

	if (ret < 0)
		return ret;
	c.api_url = ret ? NULL : url;
	for (unsigned int i = 0; i < r->opts.secret_count; i++)
		names[i] = r->opts.secrets[i].name;
	ret = fdio_read_file(AT_FDCWD, r->entry, true, 1 << 20, &script, &len);
	if (!ret)
		ret = rundir_write(&r->rundir, "guest-entry.sh", script, len, 0500);
	free(script);
	strbuf_init(&b);
	guest_config_script(&c, &b);
	ret = ret ? ret : write_setup_text(r, "config.sh", &b);
	guest_config_codex(&c, &b);
	ret = ret ? ret : write_setup_text(r, "codex-config.toml", &b);
	guest_config_gemini(&c, &b);
	ret = ret ? ret : write_setup_text(r, "gemini-settings.json", &b);
	strbuf_free(&b);
	for (unsigned int i = 0; i < r->opts.secret_count && !ret; i++) {
		snprintf(sname, sizeof(sname), "secrets/%s", r->opts.secrets[i].name);
		ret = rundir_write(&r->rundir, sname, r->secret_data[i], r->secret_len[i], 0400);
	}
	return ret;
}

/* Signals wait in a signalfd from here on; the child gets the old mask back. */
static int block_signals(struct run *r)
{
	sigset_t set;

	runner_signals(&set);
	if (sigprocmask(SIG_BLOCK, &set, &r->old_mask) < 0)
		return -errno;
	r->mask_set = true;
	signal(SIGPIPE, SIG_IGN);
	r->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return r->sig_fd < 0 ? -errno : 0;
}

/* A termination signal that came before microvmm started: 128+N, else 0. */
static int pending_stop(struct run *r)
{
	struct signalfd_siginfo si;

	while (read(r->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		if (si.ssi_signo != SIGCHLD)
			return 128 + (int)si.ssi_signo;
	return 0;
}

/* DIR/RUN, opened without following what a guest could have planted, plus its two logs. */
static int open_audit(struct run *r, int *session_fd, int *net_fd, char *err)
{
	const char *shared[MAX_SHARED_ROOTS];
	int ret;

	for (unsigned int i = 0; i < r->shared_count; i++)
		shared[i] = r->shared[i];
	ret =
	    audit_open_dir(r->audit_base, shared, r->shared_count, &r->audit_base_fd, err, ERR_LEN);
	if (ret)
		return ret;
	ret = audit_mkdir(r->audit_base_fd, r->run_id, true, &r->audit_fd);
	if (!ret)
		ret = audit_create_file(r->audit_fd, "session.log", session_fd);
	if (!ret)
		ret = audit_create_file(r->audit_fd, "network.log", net_fd);
	if (ret)
		errf(err, "cannot write the audit trail in %s/%s: %s", r->audit_base, r->run_id,
		     strerror(-ret));
	return ret;
}

/* The workspace before the run, leaving out the audit directory when it is inside. */
static int snapshot_before(struct run *r, char *err)
{
	struct stat base, run, ws;
	int ret;

	r->ws_fd = open(r->workspace, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->ws_fd < 0 || fstat(r->ws_fd, &ws) < 0 || fstat(r->audit_base_fd, &base) < 0 ||
	    fstat(r->audit_fd, &run) < 0) {
		errf(err, "cannot open the workspace: %s", strerror(errno));
		return -errno;
	}
	if (base.st_dev == ws.st_dev && base.st_ino == ws.st_ino)
		wsdiff_skip(&r->before, &run);
	else
		wsdiff_skip(&r->before, &base);
	r->after.has_skip = r->before.has_skip;
	r->after.skip_dev = r->before.skip_dev;
	r->after.skip_ino = r->before.skip_ino;
	ret = wsdiff_take(r->ws_fd, &r->before);
	if (ret)
		errf(err, "cannot list the workspace: %s", strerror(-ret));
	return ret;
}

struct streams {
	struct logstream out, err, net;
	int session_fd, net_fd;
};

static int run_vm(struct run *r, struct streams *s, int *status, char *err)
{
	int net_fd = -1;
	struct vmm_launch l = {
	    .microvmm = r->microvmm,
	    .rootfs = r->rootfs,
	    .kernel = r->opts.kernel ? r->kernel : NULL,
	    .initrd = r->opts.initrd ? r->initrd : NULL,
	    .workspace = r->workspace,
	    .setup_dir = r->rundir.setup,
	    .out_dir = r->rundir.out,
	    .opts = &r->opts,
	    .net = &r->net,
	    .key_vars = r->key_vars,
	    .key_count = r->key_count,
	    .cpus = r->cpus,
	    .mem = r->mem,
	};
	struct vmm_argv argv;
	struct runner runner;
	int ret = 0;

	if (r->net.mode != NETPOLICY_NONE) {
		ret = rundir_net_fifo(&r->rundir, &net_fd);
		if (ret) {
			errf(err, "cannot make the network log's FIFO: %s", strerror(-ret));
			return ret;
		}
		l.net_log = r->rundir.net_fifo;
	}
	ret = vmm_argv_build(&l, &argv);
	if (!ret)
		ret =
		    runner_start(&runner, r->microvmm, argv.v, &r->old_mask, net_fd, err, ERR_LEN);
	else if (net_fd >= 0)
		close(net_fd);
	vmm_argv_free(&argv);
	if (!ret) {
		ret = runner_wait(&runner, r->sig_fd, &s->out, &s->err, &s->net, status);
		if (ret)
			errf(err, "lost microvmm's output: %s", strerror(-ret));
	} else if (!err[0]) {
		errf(err, "out of memory");
	}
	return ret;
}

/* After the VM: transcript, workspace changes, summary.json. Returns 0 or -errno (summary). */
static int finish_audit(struct run *r, int status)
{
	const char *allow[NETPOLICY_MAX_RULES];
	struct summary sum = {
	    .run_id = r->run_id,
	    .task = r->opts.task,
	    .mode = mode_name(r->opts.mode),
	    .agent = r->opts.agent->name,
	    .agent_version = r->has_version ? r->agent_version : NULL,
	    .image = r->image,
	    .workspace = r->workspace,
	    .net = netpolicy_mode_name(r->net.mode),
	    .allow = allow,
	    .allow_count = r->net.rule_count,
	    .host_loopback = r->net.host_loopback,
	    .start = r->start,
	    .end = r->end,
	    .exit_status = status,
	};
	struct fstree_stats st;
	struct strbuf b;
	char *text = NULL;
	size_t len = 0;
	int fd, ret = transcript_save(r->rundir.out_fd, r->audit_fd, "transcript", &r->redact, &st);

	if (ret || st.truncated)
		say("warning: the transcript was copied %s", ret ? "in part only" : "truncated");
	for (unsigned int i = 0; i < r->net.rule_count; i++)
		allow[i] = r->net.rules[i];
	if (!wsdiff_take(r->ws_fd, &r->after)) {
		sum.before = &r->before;
		sum.after = &r->after;
	}
	strbuf_init(&b);
	summary_build(&sum, &b);
	ret = b.err ? b.err : redact_buffer(&r->redact, b.data, b.len, &text, &len);
	strbuf_free(&b);
	if (!ret)
		ret = audit_create_file(r->audit_fd, "summary.json", &fd);
	if (!ret) {
		ret = fdio_write_all(fd, text, len);
		if (close(fd) < 0 && !ret)
			ret = -errno;
	}
	free(text);
	return ret;
}

static int streams_init(struct run *r, struct streams *s)
{
	int ret = logstream_init(&s->out, &r->redact, s->session_fd, STDOUT_FILENO, "out");

	if (!ret)
		ret = logstream_init(&s->err, &r->redact, s->session_fd, STDERR_FILENO, "err");
	if (!ret)
		ret = logstream_init(&s->net, &r->redact, s->net_fd, -1, NULL);
	return ret;
}

static void streams_free(struct streams *s)
{
	logstream_free(&s->out);
	logstream_free(&s->err);
	logstream_free(&s->net);
	if (s->session_fd >= 0)
		close(s->session_fd);
	if (s->net_fd >= 0)
		close(s->net_fd);
}

static void drop_audit(struct run *r)
{
	if (r->audit_fd < 0)
		return;
	close(r->audit_fd);
	r->audit_fd = -1;
	if (fstree_remove(r->audit_base_fd, r->run_id))
		say("warning: could not remove %s/%s", r->audit_base, r->run_id);
}

/* The run itself: returns the exit status (the agent's, microvmm's or 125). */
static int run_execute(struct run *r)
{
	struct streams s = {.session_fd = -1, .net_fd = -1};
	char err[ERR_LEN] = "";
	int status = EXIT_LAUNCHER, ret;

	clock_gettime(CLOCK_REALTIME, &r->start);
	ret = audit_run_id(r->start.tv_sec, getpid(), r->run_id, sizeof(r->run_id));
	if (!ret)
		ret = block_signals(r);
	if (!ret && (ret = rundir_create(&r->rundir, err, sizeof(err))) == 0 &&
	    (ret = write_setup(r)) != 0)
		errf(err, "cannot write the run's setup: %s", strerror(-ret));
	if (!ret)
		ret = open_audit(r, &s.session_fd, &s.net_fd, err);
	if (!ret)
		ret = snapshot_before(r, err);
	if (!ret && (ret = streams_init(r, &s)) != 0)
		errf(err, "out of memory");
	if (!ret)
		status = pending_stop(r);
	if (ret || status) {
		/* The run never started: no audit directory is left for it. */
		if (ret)
			say("%s", err[0] ? err : strerror(-ret));
		drop_audit(r);
		status = status ? status : EXIT_LAUNCHER;
		goto out;
	}
	ret = run_vm(r, &s, &status, err);
	clock_gettime(CLOCK_REALTIME, &r->end);
	if (ret) {
		say("%s", err);
		status = EXIT_LAUNCHER;
	}
	if (logstream_finish(&s.out) || logstream_finish(&s.err) || logstream_finish(&s.net) ||
	    s.out.log_err || s.err.log_err || s.net.log_err)
		say("warning: the session or network log is incomplete");
	ret = finish_audit(r, status);
	if (ret) {
		say("cannot write %s/%s/summary.json: %s", r->audit_base, r->run_id,
		    strerror(-ret));
		status = EXIT_LAUNCHER;
	} else {
		say("audit trail: %s/%s", r->audit_base, r->run_id);
	}
out:
	streams_free(&s);
	return status;
}

static void run_cleanup(struct run *r)
{
	int *fds[] = {&r->audit_fd, &r->audit_base_fd, &r->ws_fd, &r->sig_fd};

	if (rundir_remove(&r->rundir))
		say("warning: could not remove all of %s", r->rundir.path);
	for (unsigned int i = 0; i < OPTIONS_MAX_LIST; i++) {
		if (r->secret_data[i])
			explicit_bzero(r->secret_data[i], r->secret_len[i]);
		free(r->secret_data[i]);
	}
	redact_set_free(&r->redact);
	wsdiff_free(&r->before);
	wsdiff_free(&r->after);
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
	if (r->mask_set)
		sigprocmask(SIG_SETMASK, &r->old_mask, NULL);
	options_free(&r->opts);
}

int main(int argc, char **argv)
{
	static struct run r;
	char err[ERR_LEN] = "";
	int status = EXIT_LAUNCHER;

	run_init(&r);
	if (options_parse(argc, argv, &r.opts, err, sizeof(err))) {
		say("%s", err);
		return EXIT_LAUNCHER;
	}
	if (r.opts.action == OPTIONS_HELP) {
		fputs(options_usage, stdout);
		status = 0;
	} else if (r.opts.action == OPTIONS_VERSION) {
		printf("microvmm-agent %s\n", MICROVMM_VERSION);
		status = 0;
	} else if (run_prepare(&r, err)) {
		say("%s", err);
	} else {
		status = run_execute(&r);
	}
	run_cleanup(&r);
	return status;
}
