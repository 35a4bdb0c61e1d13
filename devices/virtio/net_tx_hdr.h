/* Checks a transmit frame's virtio-net header (virtio 1.2 §5.1.6.2) before a tap acts on it. */
#ifndef MICROVMM_DEVICES_VIRTIO_NET_TX_HDR_H
#define MICROVMM_DEVICES_VIRTIO_NET_TX_HDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Whether the 12-byte header `hdr` asks the host kernel only for what the
 * egress filter's reading of `frame` covers. An IFF_VNET_HDR tap acts on
 * the header after the filter said yes: NEEDS_CSUM makes the kernel write
 * a checksum at csum_start + csum_offset, and GSO re-segments the frame. A
 * guest could aim that write at the TCP destination port (an allowed :443
 * leaves as :22). So the header may only ask for the checksum of the
 * frame's own TCP or UDP header, at that header's checksum field, and only
 * TCP segmentation that matches the IP version; no other flag. Called on
 * the private copy, only when a filter is active.
 */
bool net_tx_hdr_safe(const uint8_t *hdr, const uint8_t *frame, size_t len);

#endif
