/* The run configuration microvmm hands the guest init as a cpio archive appended to the initrd. */
#ifndef MICROVMM_VMM_GUEST_RUN_CONFIG_H
#define MICROVMM_VMM_GUEST_RUN_CONFIG_H

#include <stdbool.h>

#include "boot/cpio.h"
#include "vmm/config/config.h"

/*
 * The file /microvmm/run in the guest's initramfs, read by our init. It
 * is a sequence of NUL-terminated strings: the magic "microvmm-run",
 * the version ("1", or "2" when it has a rootfs key: an older init then
 * refuses the file instead of running the command in its own root), then
 * KEY, VALUE pairs:
 *   arg   one per argument of the command, in order (none: a login shell)
 *   env   NAME=VALUE, one per variable
 *   tty   "1": the command gets the console (hvc0) as a terminal;
 *         "0": stdin/stdout/stderr are the ports microvmm.stdin/stdout/stderr
 *   user  "agent" or "root"
 *   uid, gid  the agent user's ids (decimal): the owner of the first
 *         read-write share, else RUN_CONFIG_AGENT_ID
 *   share "ro|rw TAG PATH", one per share in --share order: mount the
 *         virtio-fs TAG at PATH (the rest of the value; it may hold spaces)
 *   rootfs  the virtio-fs tag of the guest's root tree (--rootfs): mounted
 *         read-only under an overlay whose upper layer is a tmpfs, which
 *         becomes / before the shares are mounted and the command runs
 *   scratch  that tmpfs's size in bytes (decimal), with rootfs
 *   net   "dhcp" or "static ADDR/PREFIX [GATEWAY]" (absent: no NIC)
 *   dns   a resolver address for /etc/resolv.conf, one per entry
 *   mtu   eth0's MTU (decimal), set before the address (user mode: passt's)
 *   cwd   the working directory: --workdir, else /workspace when a share
 *         is there, else the first share's path; absent: the user's home
 *         (from the root tree's /etc/passwd with rootfs)
 * Nothing here goes on the kernel command line, so secrets in --env stay
 * out of /proc/cmdline.
 */
#define RUN_CONFIG_MAGIC	  "microvmm-run"
#define RUN_CONFIG_VERSION	  "1"
#define RUN_CONFIG_VERSION_ROOTFS "2"
#define RUN_CONFIG_PATH		  "microvmm/run"
#define RUN_CONFIG_AGENT_ID	  1000

/* Port names of the virtio console that the init looks up in sysfs. */
#define RUN_PORT_CTL	"microvmm.ctl"
#define RUN_PORT_STDIN	"microvmm.stdin"
#define RUN_PORT_STDOUT "microvmm.stdout"
#define RUN_PORT_STDERR "microvmm.stderr"

/*
 * Builds the archive into `out` (initialised by the caller). `net_ip`: the
 * guest's IPv4 set-up when microvmm chose it (user mode without --ip), else
 * NULL: cfg->net.ip, or DHCP. Returns 0 or -errno.
 */
int run_config_build(const struct config *cfg, bool tty, unsigned int uid, unsigned int gid,
		     const struct config_ip *net_ip, struct cpio *out)
    __attribute__((warn_unused_result));

#endif
