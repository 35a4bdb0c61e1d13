/* tap devices for --net tap=NAME (an existing one) and --net bridge=BR (a new one on BR). */
#ifndef MICROVMM_VMM_HOST_TAP_H
#define MICROVMM_VMM_HOST_TAP_H

#include <stdbool.h>
#include <stddef.h>

/* IFF_VNET_HDR's header: virtio_net_hdr_v1 (12 bytes, tech-notes §6.2). */
#define TAP_VNET_HDR_LEN 12

/*
 * Opens the existing tap `name` with IFF_VNET_HDR, header size 12. The fd
 * is the caller's. -errno with one line naming the fix in `err`.
 */
int tap_open_existing(const char *name, int *fd, char *err, size_t err_len)
    __attribute__((warn_unused_result));

/*
 * Creates a non-persistent tap (gone when the fd closes, even if microvmm
 * is killed), attaches it to `bridge` and brings it up. Its name goes to
 * `name` (IFNAMSIZ bytes).
 */
int tap_create_on_bridge(const char *bridge, int *fd, char *name, char *err, size_t err_len)
    __attribute__((warn_unused_result));

#endif
