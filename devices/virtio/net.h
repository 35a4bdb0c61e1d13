/* virtio-net (virtio 1.2 §5.1): one rx/tx queue pair bridged to a tap device or passt's stream
 * socket. */
#ifndef MICROVMM_DEVICES_VIRTIO_NET_H
#define MICROVMM_DEVICES_VIRTIO_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "devices/io_loop.h"
#include "devices/net/egress.h"
#include "devices/virtio/virtio_pci.h"
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
	uint64_t tx_filtered;  /* dropped by the egress filter */
	uint64_t tx_dropped;   /* bad size, backend gone or a failed write */
	uint64_t rx_frames;    /* delivered to the guest */
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

/*
 * Ownership: the device borrows the fd, the filter and guest RAM; it owns
 * its buffers and its backend. Threading: init before the loop starts,
 * destroy after it stopped; everything else runs on the device loop (config
 * reads on vCPU threads only touch constants). A reset drops the frame being
 * received and any partial receive; frames already copied out of the TX ring
 * are still written (in-flight io_uring writes complete into buffers we own
 * until destroy).
 */
struct virtio_net {
	struct virtio_pci vp;
	struct io_loop *loop;
	struct net_backend *be;	      /* framing and I/O of the tap or passt (net_backend.h) */
	struct egress_filter *filter; /* borrowed; NULL: every frame passes */
	uint8_t config[10];	      /* mac[6], status u16, max_virtqueue_pairs u16 (§5.1.4) */

	/*
	 * The backend went away (EOF or error from passt, a bad frame length):
	 * called once on the loop thread; set by the VMM after init. `error`
	 * says why (static string).
	 */
	void (*on_backend_gone)(void *ctx);
	void *ctx;
	const char *error;  /* last problem (backend or guest), static string */
	bool gone_reported; /* on_backend_gone was called */
	struct virtio_net_stats stats;
	bool mrg_rxbuf; /* negotiated at activation */

	/* ---- TX (guest -> backend) ---- */
	struct virtq_chain tx_chain; /* scratch for virtq_pop */
	struct virtio_net_tx_buf tx_bufs[VIRTIO_NET_TX_POOL];
	uint8_t tx_free[VIRTIO_NET_TX_POOL]; /* stack of free buffer indices */
	unsigned int tx_free_count;
	uint8_t tx_ready[VIRTIO_NET_TX_POOL]; /* FIFO of frames not yet given to the backend */
	unsigned int tx_ready_head, tx_ready_count;
	unsigned int tx_generation; /* bumped at reset: older direct buffers belong to old rings */
	bool tx_blocked;	    /* stopped popping: every buffer busy */
	bool tx_call_pending;
	struct io_loop_call tx_call;

	/* ---- RX (backend -> guest) ---- */
	/* The frame being delivered; it stays in the backend's buffer until it is done. */
	struct {
		bool active;
		struct virtio_net_rx_frame frame;
		size_t off;	   /* bytes of hdr + frame already in guest buffers */
		unsigned int used; /* chains filled, pushed when the frame is complete */
		struct virtq_used_elem elems[VIRTIO_NET_QUEUE_SIZE];
	} rx;
	/*
	 * Popped receive chains: [0] a packet's first (it holds the header,
	 * whose num_buffers is written last), [1] the ones after it.
	 */
	struct virtq_chain rx_chains[2];
	bool rx_have_chain; /* the chain for rx.used is popped, not yet filled */
	bool rx_pushed;	    /* used entries added since the last interrupt check */
	bool rx_call_pending;
	struct io_loop_call rx_call; /* pump after a reset, once the transport is done */
};

/*
 * Builds the device (features depend on backend and vnet_hdr) and arms
 * the first backend read. Call before the loop starts. Returns 0 or -errno.
 * VMM duties for a tap with vnet_hdr: IFF_VNET_HDR at TUNSETIFF and
 * TUNSETVNETHDRSZ 12 before this call.
 */
int virtio_net_init(struct virtio_net *net, const struct virtio_net_params *params,
		    const struct virtio_pci_host *host, uint64_t bar_addr)
    __attribute__((warn_unused_result));

/* After the loop stopped: frees the buffers and the backend, not params.fd. Idempotent. */
void virtio_net_destroy(struct virtio_net *net);

#endif
