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
#include "devices/virtio/net_types.h"
#include "devices/virtio/virtio_pci.h"
#include "devices/virtio/virtq.h"

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
