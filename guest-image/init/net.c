/* Guest init: loopback, and eth0 by DHCP or a static address, before the command runs. */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NET_IFACE	"eth0"
#define NET_WAIT_MS	5000
#define NET_DHCP_SCRIPT "/usr/share/microvmm/udhcpc.script"
#define NET_RESOLV	"/etc/resolv.conf"
#define NET_PING_RANGE	"/proc/sys/net/ipv4/ping_group_range"

/* Runs a busybox applet and waits for it; returns its exit status or -errno. */
static int net_run(char *const argv[], const char *env_extra)
{
	char *envp[] = {"PATH=/bin:/sbin:/usr/bin:/usr/sbin", (char *)env_extra, NULL};
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int null_fd = open("/dev/null", O_RDWR);

		/* udhcpc chatters on stdout; errors still reach the console on stderr. */
		if (null_fd >= 0)
			dup2(null_fd, STDOUT_FILENO);
		execve("/bin/busybox", argv, envp);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static int net_ip(const char *a, const char *b, const char *c, const char *d, const char *e,
		  const char *f)
{
	char *argv[] = {"ip",	   (char *)a, (char *)b, (char *)c,
			(char *)d, (char *)e, (char *)f, NULL};

	return net_run(argv, NULL);
}

static void net_write(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return;
	ssize_t ignored = write(fd, text, strlen(text));
	(void)ignored;
	close(fd);
}

static int net_static(const struct run_config *rc)
{
	int err = net_ip("addr", "add", rc->net_addr, "dev", NET_IFACE, NULL);

	if (!err && rc->net_gateway[0])
		err = net_ip("route", "add", "default", "via", rc->net_gateway, NULL);
	return err;
}

static int net_dhcp(const struct run_config *rc)
{
	/* 30 discovers one second apart: a slow DHCP server on a bridge still makes it. */
	char *argv[] = {"udhcpc", "-i", NET_IFACE,	 "-f", "-q", "-n", "-t", "30", "-T",
			"1",	  "-s", NET_DHCP_SCRIPT, NULL};

	return net_run(argv, rc->dns_count ? "MICROVMM_DNS=1" : NULL);
}

int net_setup(const struct run_config *rc, char *why, size_t why_len)
{
	char path[64], resolv[256] = "";
	int err;

	/* Loopback always: tools expect 127.0.0.1 even without a NIC. */
	net_ip("link", "set", "lo", "up", NULL, NULL);
	/* The unprivileged agent may ping (ICMP sockets, no raw sockets). */
	net_write(NET_PING_RANGE, "0 2147483647\n");
	if (!rc->net_mode)
		return 0;
	snprintf(path, sizeof(path), "/sys/class/net/%s", NET_IFACE);
	err = ports_wait_path(path, NET_WAIT_MS);
	if (err) {
		snprintf(why, why_len, "the network card %s did not appear", NET_IFACE);
		return err;
	}
	net_ip("link", "set", NET_IFACE, "up", NULL, NULL);
	err = strcmp(rc->net_mode, "static") ? net_dhcp(rc) : net_static(rc);
	if (err) {
		snprintf(why, why_len, "cannot configure %s (%s): %s", NET_IFACE, rc->net_mode,
			 err < 0 ? strerror(-err) : "no DHCP answer or bad address");
		return err < 0 ? err : -EIO;
	}
	for (unsigned int i = 0; i < rc->dns_count; i++) {
		size_t len = strlen(resolv);

		snprintf(resolv + len, sizeof(resolv) - len, "nameserver %s\n", rc->dns[i]);
	}
	if (rc->dns_count)
		net_write(NET_RESOLV, resolv);
	return 0;
}
