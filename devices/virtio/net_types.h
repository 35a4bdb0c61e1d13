/* virtio-net's shared types (virtio 1.2 §5.1): feature bits, sizes, the parameters and the
 * buffers the device (net.c) and its back-ends (net_backend.h) both use. */
#ifndef MICROVMM_DEVICES_VIRTIO_NET_TYPES_H
#define MICROVMM_DEVICES_VIRTIO_NET_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "devices/io_loop.h"
#include "devices/net/egress.h"
#include "devices/virtio/virtq.h"

/* Feature bits (§5.1.3). */
#define VIRTIO_NET_F_CSUM	0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MAC	5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_HOST_TSO4	11
#define VIRTIO_NET_F_HOST_TSO6	12
#define VIRTIO_NET_F_MRG_RXBUF	15
#define VIRTIO_NET_F_STATUS	16

#define VIRTIO_NET_S_LINK_UP 1 /* config status (§5.1.4) */

#define VIRTIO_NET_RXQ	      0
#define VIRTIO_NET_TXQ	      1
#define VIRTIO_NET_QUEUE_SIZE 256
/* struct virtio_net_hdr_v1: 12 bytes under VERSION_1, with or without MRG_RXBUF (§5.1.6). */
#define VIRTIO_NET_HDR_LEN 12
#define VIRTIO_NET_ETH_MIN 14	 /* an Ethernet header, nothing less is a frame */
#define VIRTIO_NET_TX_MAX  65535 /* largest frame the guest may send (passt's limit too) */
/* Guest frames copied and waiting for (or in) a backend write: the memory bound of TX. */
#define VIRTIO_NET_TX_POOL 32
/* Chains taken per pass over the TX queue before the loop serves others. */
#define VIRTIO_NET_TX_BATCH 64
/*
 * Frames up to this size are copied even where a back-end could read the
 * guest's buffers: the chain goes back in the same pass over the ring,
 * not one write completion later (net_tx_direct).
 */
#define VIRTIO_NET_TX_COPY_MAX 2048

enum virtio_net_backend {
	VIRTIO_NET_BACKEND_TAP, /* one read or write = one frame (with vnet_hdr: header + frame) */
	VIRTIO_NET_BACKEND_STREAM /* passt: [be32 length][frame]... on a stream socket */
};

struct virtio_net_params {
	uint8_t mac[6];
	enum virtio_net_backend backend;
	/*
	 * The tap fd or passt's socketpair end; borrowed, the caller closes it
	 * after virtio_net_destroy(). Works blocking or not; a tap should be
	 * O_NONBLOCK (see vmm/host/tap.c: otherwise io_uring hands each frame to
	 * a worker thread). On a tap a write that would block drops the
	 * frame. The caller must block or ignore SIGPIPE: writes to a
	 * vanished passt go through io_uring WRITE, which cannot pass
	 * MSG_NOSIGNAL.
	 */
	int fd;
	/*
	 * TAP only: the tap was opened with IFF_VNET_HDR and TUNSETVNETHDRSZ 12.
	 * The device then offers checksum and TSO offloads and sets
	 * TUNSETOFFLOAD from what the driver accepted at each activation.
	 */
	bool vnet_hdr;
	struct egress_filter *filter; /* borrowed; NULL: every frame passes */
};

/* Counters, loop thread writes (relaxed atomics), anyone reads. */
struct virtio_net_stats {
	uint64_t tx_frames;    /* handed to the backend */
	uint64_t tx_bytes;     /* the frames' bytes (no virtio-net header), at hand-over */
	uint64_t tx_filtered;  /* dropped by the egress filter */
	uint64_t tx_dropped;   /* bad size, backend gone or a failed write */
	uint64_t rx_frames;    /* delivered to the guest */
	uint64_t rx_bytes;     /* their bytes, virtio-net header not counted */
	uint64_t rx_dropped;   /* device not running, bad header, too big for a buffer */
	uint64_t rx_waits;     /* a frame waited for the guest to add receive buffers */
	uint64_t tx_pool_peak; /* most TX buffers in use at once (<= VIRTIO_NET_TX_POOL) */
};

struct net_backend; /* net_backend.h: the tap or passt behind the device */

/*
 * One frame on its way to the backend: a private copy [4 spare][12
 * header][frame] (net_backend.h) of which the backend writes [start, end),
 * or, on a tap without an egress filter, the guest's own buffers, which the
 * guest gets back when the write is done.
 */
struct virtio_net_tx_buf {
	uint8_t *data;
	size_t start, end;
	bool direct;   /* written from guest memory: iov, head */
	uint16_t head; /* the chain to return when the write is done */
	unsigned int iov_count;
	unsigned int generation; /* net->tx_generation when taken: a reset returns nothing */
	struct iovec iov[VIRTQ_MAX_CHAIN];
};

/* One received frame: it stays in the backend's buffer until the device is done with it. */
struct virtio_net_rx_frame {
	const uint8_t *data;
	size_t len;
	uint8_t hdr[VIRTIO_NET_HDR_LEN]; /* for the guest; num_buffers is the device's */
	const char *error;		 /* the backend lost its framing: why (static string) */
};

#endif
