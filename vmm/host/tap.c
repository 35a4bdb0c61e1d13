/* tap devices for --net tap=NAME (an existing one) and --net bridge=BR (a new one on BR). */
#include "vmm/host/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* TUNSETIFF on `name` (may hold %d). Fills the final name back into ifr. */
static int tap_attach(struct ifreq *ifr, int *fd)
{
	int vnet_len = TAP_VNET_HDR_LEN;
	/*
	 * Non-blocking: io_uring attempts I/O inline only on files that say
	 * they can avoid blocking (O_NONBLOCK or FMODE_NOWAIT, which tun
	 * lacks). A blocking tap sends every read and write to an io-wq
	 * worker thread: a thread hop per frame, and writes from several
	 * workers reach the wire out of order. The device polls on EAGAIN.
	 */
	int t = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	int ret;

	if (t < 0)
		return -errno;
	/* virtio-net headers on both directions: offloads pass through (tech-notes §6.3). */
	ifr->ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(t, TUNSETIFF, ifr) < 0 || ioctl(t, TUNSETVNETHDRSZ, &vnet_len) < 0) {
		ret = -errno;
		close(t);
		return ret;
	}
	*fd = t;
	return 0;
}

int tap_open_existing(const char *name, int *fd, char *err, size_t err_len)
{
	struct ifreq ifr = {0};
	int ret;

	if (access("/dev/net/tun", F_OK) < 0) {
		snprintf(err, err_len, "/dev/net/tun is missing: modprobe tun");
		return -ENOENT;
	}
	/* Without this check TUNSETIFF would quietly create a new tap (with privileges). */
	if (if_nametoindex(name) == 0) {
		snprintf(err, err_len,
			 "tap %s does not exist: create it with 'ip tuntap add dev %s mode tap "
			 "user $USER'",
			 name, name);
		return -ENODEV;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ret = tap_attach(&ifr, fd);
	if (ret == -EBUSY)
		snprintf(err, err_len, "tap %s is busy: another process has it open", name);
	else if (ret == -EPERM || ret == -EACCES)
		snprintf(err, err_len,
			 "no permission to use tap %s: create it for your user ('ip tuntap add "
			 "dev %s mode tap user $USER') or run as root",
			 name, name);
	else if (ret == -EINVAL)
		snprintf(err, err_len, "%s is not a tap device: give a tap (ip tuntap add ...)",
			 name);
	else if (ret)
		snprintf(err, err_len, "cannot open tap %s: %s", name, strerror(-ret));
	return ret;
}

static int tap_bridge_ioctl(int sock, unsigned long req, struct ifreq *ifr)
{
	return ioctl(sock, req, ifr) < 0 ? -errno : 0;
}

int tap_create_on_bridge(const char *bridge, int *fd, char *name, char *err, size_t err_len)
{
	struct ifreq ifr = {0};
	int sock, ret, t = -1;
	unsigned int index;

	if (if_nametoindex(bridge) == 0) {
		snprintf(err, err_len,
			 "bridge %s does not exist: create it with 'ip link add %s type bridge'",
			 bridge, bridge);
		return -ENODEV;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "mvmm%%d");
	ret = tap_attach(&ifr, &t);
	if (ret) {
		snprintf(err, err_len,
			 ret == -EPERM || ret == -EACCES
			     ? "--net bridge=%s needs CAP_NET_ADMIN to create a tap: run "
			       "as root or use --net tap=NAME"
			     : "cannot create a tap for bridge %s: %s",
			 bridge, strerror(-ret));
		return ret;
	}
	snprintf(name, IFNAMSIZ, "%s", ifr.ifr_name);
	index = if_nametoindex(name);
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0 || index == 0) {
		ret = -errno;
		goto fail;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", bridge);
	ifr.ifr_ifindex = (int)index;
	ret = tap_bridge_ioctl(sock, SIOCBRADDIF, &ifr);
	if (!ret) {
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
		ret = tap_bridge_ioctl(sock, SIOCGIFFLAGS, &ifr);
		ifr.ifr_flags |= IFF_UP;
		if (!ret)
			ret = tap_bridge_ioctl(sock, SIOCSIFFLAGS, &ifr);
	}
	close(sock);
	if (!ret) {
		*fd = t;
		return 0;
	}
fail:
	snprintf(err, err_len, "cannot attach tap %s to bridge %s: %s", name, bridge,
		 strerror(-ret));
	close(t); /* non-persistent: the tap disappears with the fd */
	return ret;
}
