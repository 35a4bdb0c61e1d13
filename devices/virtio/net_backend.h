/* virtio-net's back-end interface: what the device (net.c) asks of a tap (net_tap.c) or passt's
 * stream (net_stream.c), and what a back-end may ask of the device. Internal to net*.c. */
#ifndef MICROVMM_DEVICES_VIRTIO_NET_BACKEND_H
#define MICROVMM_DEVICES_VIRTIO_NET_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/io_loop.h"
#include "devices/virtio/net_types.h"
#include "devices/virtio/virtio.h"

struct virtio_net; /* net.h: the device a back-end serves */

/* struct virtio_net_hdr_v1 fields (§5.1.6): flags @0, gso_type @1, num_buffers @10. */
#define NET_HDR_FLAGS	     0
#define NET_HDR_GSO_TYPE     1
#define NET_HDR_NUM_BUFFERS  10
#define NET_HDR_F_NEEDS_CSUM 1
#define NET_HDR_F_DATA_VALID 2
#define NET_HDR_GSO_NONE     0
#define NET_HDR_GSO_TCPV4    1
#define NET_HDR_GSO_TCPV6    4

/* The offload features (§5.1.3) a back-end must carry in a header of its own to offer. */
#define NET_OFFLOAD_FEATURES                                                                       \
	(VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |                     \
	 VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) |               \
	 VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6))

/* passt's framing: a big-endian length before each frame. */
#define NET_STREAM_PREFIX 4

/*
 * A TX buffer holds [4 spare][12-byte header][frame] (net.c copies the
 * chain, header and frame, to NET_TX_HDR). A back-end's tx_frame picks
 * which bytes it writes: a tap with a vnet header from NET_TX_HDR, passt
 * its length prefix over the header's last 4 bytes, a plain tap the frame
 * alone from NET_TX_FRAME.
 */
#define NET_TX_HDR	NET_STREAM_PREFIX
#define NET_TX_FRAME	(NET_TX_HDR + VIRTIO_NET_HDR_LEN)
#define NET_TX_BUF_SIZE (NET_TX_FRAME + VIRTIO_NET_TX_MAX)

/* The offloads the driver accepted (§5.1.3 GUEST_*): what a back-end may hand the guest. */
struct net_offload {
	bool csum, tso4, tso6;
};

enum net_rx_next {
	NET_RX_MORE,  /* no whole frame: read more from the fd */
	NET_RX_FRAME, /* *frame filled */
	NET_RX_DROP,  /* one frame was unusable (size, header) and skipped: ask again */
	NET_RX_LOST   /* the stream lost its framing: nothing after can be trusted */
};

struct net_backend;

/*
 * What a back-end provides (one static const table each). Every call runs
 * on the device loop, except create and destroy (before the loop starts,
 * after it stopped). Only set_offload may be NULL.
 */
struct net_backend_ops {
	const char *name;
	/*
	 * Allocates the back-end's own struct (which starts with struct
	 * net_backend) for params (fd, vnet_hdr) and sets the common part's
	 * `features` and `tx_borrow`. 0 or -errno.
	 */
	int (*create)(const struct virtio_net_params *params, struct net_backend **out);
	void (*destroy)(struct net_backend *be);
	/* At each activation: what the driver accepted. -errno marks the device broken. */
	int (*set_offload)(struct net_backend *be, const struct net_offload *accepted);

	/* RX, in this order: rx_space, a read, rx_received(n), then rx_next until MORE. */
	void (*rx_space)(struct net_backend *be, uint8_t **buf, size_t *len); /* len > 0 */
	void (*rx_received)(struct net_backend *be, size_t n);
	enum net_rx_next (*rx_next)(struct net_backend *be, struct virtio_net_rx_frame *frame);
	/* The frame rx_next gave is delivered or dropped: its bytes may be reused. */
	void (*rx_consumed)(struct net_backend *be, const struct virtio_net_rx_frame *frame);

	/* TX: sets b->start and b->end for a private copy of header + frame_len bytes. */
	void (*tx_frame)(struct net_backend *be, struct virtio_net_tx_buf *b, size_t frame_len);
	/* Starts writes for the frames net_tx_pop_ready() gives, now or when a write finishes. */
	void (*tx_flush)(struct net_backend *be);
};

/* The part every back-end shares; net_backend.c does the reads. */
struct net_backend {
	const struct net_backend_ops *ops;
	struct virtio_net *net; /* the device it serves */
	struct io_loop *loop;
	int fd;		   /* borrowed (virtio_net_params.fd) */
	uint64_t features; /* NET_OFFLOAD_FEATURES bits it can carry */
	bool tx_borrow;	   /* may write a frame gathered from the guest's own buffers */
	bool dead;	   /* no more reads or writes (net_backend_gone) */
	struct io_loop_op rx_op;
	bool rx_busy;	 /* a read (or POLLIN wait) is in flight */
	bool rx_polling; /* the next rx_op is a POLLIN wait: the fd had nothing */
};

extern const struct net_backend_ops net_tap_ops;
extern const struct net_backend_ops net_stream_ops;

/* net_backend.c: the back-end for params->backend, its reads wired to `net`. 0 or -errno. */
int net_backend_create(const struct virtio_net_params *params, struct virtio_net *net,
		       struct io_loop *loop, struct net_backend **out)
    __attribute__((warn_unused_result));
/* After the loop stopped. NULL is fine. */
void net_backend_destroy(struct net_backend *be);
/* Starts a read (or a POLLIN wait) unless one is in flight or the back-end is dead. */
void net_backend_read(struct net_backend *be);

/* Tests: the TUN_F_* flags a tap was last given (0 for other back-ends). Any thread. */
unsigned int net_tap_offload(const struct net_backend *be);

/* ---- the device's side (net.c), for back-ends ---- */

/* The back-end stopped working: no more I/O; the VMM hears about it once. */
void net_backend_gone(struct virtio_net *net, const char *why);
/* Bytes arrived (rx_received done): deliver what can be, then read on. */
void net_rx_pump(struct virtio_net *net);
/* The oldest frame queued for the back-end, or NULL. */
struct virtio_net_tx_buf *net_tx_pop_ready(struct virtio_net *net);
/* A frame is written (`sent`) or dropped: counts it, frees its buffer, returns borrowed chains. */
void net_tx_done(struct virtio_net *net, struct virtio_net_tx_buf *b, bool sent);
/* Call after a write finished: takes more from the ring if it waited for a buffer. */
void net_tx_resume(struct virtio_net *net);

/* A TX buffer's place in the pool, for a back-end's per-buffer state, and back. */
unsigned int net_tx_index(const struct virtio_net *net, const struct virtio_net_tx_buf *b);
struct virtio_net_tx_buf *net_tx_buf(struct virtio_net *net, unsigned int i);

#endif
