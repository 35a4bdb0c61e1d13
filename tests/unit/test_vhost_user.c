/* Unit tests for the vhost-user front-end (devices/vhost/vhost_user.c) against a scripted
 * back-end: the handshake, the device sequence byte by byte, and REPLY_ACK. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "vhost_user_backend.h"

/* ---- handshake ---- */

static void test_vhost_user_handshake_negotiates_reply_ack(void **state)
{
	struct fixture *f = *state;

	handshake_ok(f);

	assert_int_equal(f->vu.features, VIRTIOFSD_FEATURES);
	assert_int_equal(f->vu.protocol_features, PROTO_MQ | PROTO_REPLY_ACK);
	assert_true(f->vu.reply_ack);
	assert_false(f->vu.broken);
	be_finish(f);
	assert_int_equal(f->be.nmsgs, HANDSHAKE_MSGS);
	/* SET_OWNER precedes the negotiation: no NEED_REPLY, no payload. */
	expect_msg(f, 0, REQ_SET_OWNER, HDR_V1, 0);
	expect_msg(f, 1, REQ_GET_FEATURES, HDR_V1, 0);
	expect_msg(f, 2, REQ_GET_PROTOCOL_FEATURES, HDR_V1, 0);
	/* ours (REPLY_ACK | MQ) & theirs; REPLY_ACK is not in force for this message yet. */
	expect_u64(f, 3, REQ_SET_PROTOCOL_FEATURES, HDR_V1, PROTO_MQ | PROTO_REPLY_ACK);
}

static void
test_vhost_user_handshake_without_protocol_features_sends_no_protocol_messages(void **state)
{
	struct fixture *f = *state;
	uint64_t num;

	f->be.features = FEAT_VERSION_1 | FEAT_EVENT_IDX;
	handshake_ok(f);

	assert_int_equal(f->vu.features, FEAT_VERSION_1 | FEAT_EVENT_IDX);
	assert_int_equal(f->vu.protocol_features, 0);
	assert_false(f->vu.reply_ack);
	/* No ack to wait for: the back-end answers nothing and the call still succeeds. */
	assert_int_equal(vhost_user_set_vring_num(&f->vu, 0, 256), 0);
	assert_int_equal(vhost_user_get_queue_num(&f->vu, &num), -EOPNOTSUPP);
	assert_int_equal(vhost_user_set_vring_enable(&f->vu, 0, true), -EOPNOTSUPP);
	be_finish(f);
	assert_int_equal(f->be.nmsgs, 3);
	expect_msg(f, 0, REQ_SET_OWNER, HDR_V1, 0);
	expect_msg(f, 1, REQ_GET_FEATURES, HDR_V1, 0);
	expect_state(f, 2, REQ_SET_VRING_NUM, HDR_V1, 0, 256);
}

static void test_vhost_user_handshake_without_reply_ack_sends_no_need_reply(void **state)
{
	struct fixture *f = *state;
	uint64_t num = 0;

	f->be.protocol_features = PROTO_MQ | PROTO_BACKEND_REQ;
	f->be.queue_num = 1;
	handshake_ok(f);

	assert_int_equal(f->vu.protocol_features, PROTO_MQ);
	assert_false(f->vu.reply_ack);
	assert_int_equal(vhost_user_get_queue_num(&f->vu, &num), 0);
	assert_int_equal(num, 1);
	assert_int_equal(vhost_user_set_features(&f->vu, FEAT_VERSION_1), 0);
	be_finish(f);
	assert_int_equal(f->be.nmsgs, 6);
	expect_u64(f, 3, REQ_SET_PROTOCOL_FEATURES, HDR_V1, PROTO_MQ);
	expect_msg(f, 4, REQ_GET_QUEUE_NUM, HDR_V1, 0);
	expect_u64(f, 5, REQ_SET_FEATURES, HDR_V1, FEAT_VERSION_1);
}

static void test_vhost_user_get_queue_num_needs_mq(void **state)
{
	struct fixture *f = *state;
	uint64_t num;

	f->be.protocol_features = PROTO_REPLY_ACK;
	handshake_ok(f);

	assert_true(f->vu.reply_ack);
	assert_int_equal(vhost_user_get_queue_num(&f->vu, &num), -EOPNOTSUPP);
	be_finish(f);
	assert_int_equal(f->be.nmsgs, HANDSHAKE_MSGS);
}

/* ---- the device sequence, byte by byte ---- */

static void test_vhost_user_set_features_and_mem_table_send_exact_bytes(void **state)
{
	struct fixture *f = *state;
	int ram = new_memfd("ram"), high = new_memfd("high");
	const struct vhost_user_region regions[2] = {
	    {.guest_addr = 0,
	     .size = 0xc0000000,
	     .user_addr = 0x7f0000000000,
	     .mmap_offset = 0,
	     .fd = ram},
	    {.guest_addr = 0x100000000,
	     .size = 0x40000000,
	     .user_addr = 0x7f00c0000000,
	     .mmap_offset = 0xc0000000,
	     .fd = high},
	};
	const struct be_msg *m;

	handshake_ok(f);
	assert_int_equal(vhost_user_set_features(&f->vu, FEAT_VERSION_1 | FEAT_PROTOCOL_FEATURES),
			 0);
	assert_int_equal(vhost_user_set_mem_table(&f->vu, regions, 2), 0);

	be_finish(f);
	assert_int_equal(f->be.nmsgs, HANDSHAKE_MSGS + 2);
	/* REPLY_ACK is in force: every SET_* asks for an ack. */
	expect_u64(f, 4, REQ_SET_FEATURES, HDR_V1 | HDR_NEED_REPLY,
		   FEAT_VERSION_1 | FEAT_PROTOCOL_FEATURES);
	/* u32 nregions, u32 padding, then 2 x {gpa, size, user_addr, mmap_offset}. */
	m = expect_msg(f, 5, REQ_SET_MEM_TABLE, HDR_V1 | HDR_NEED_REPLY, 8 + 2 * 32);
	assert_int_equal(le_get32(m->payload), 2);
	assert_int_equal(le_get32(m->payload + 4), 0);
	for (unsigned int i = 0; i < 2; i++) {
		const uint8_t *r = m->payload + 8 + 32 * i;

		assert_int_equal(le_get64(r), regions[i].guest_addr);
		assert_int_equal(le_get64(r + 8), regions[i].size);
		assert_int_equal(le_get64(r + 16), regions[i].user_addr);
		assert_int_equal(le_get64(r + 24), regions[i].mmap_offset);
	}
	/* One fd per region, in region order. */
	assert_int_equal(m->nfds, 2);
	assert_same_file(m->fds[0], ram);
	assert_same_file(m->fds[1], high);
	close(ram);
	close(high);
}

static void test_vhost_user_queue_setup_sends_exact_bytes(void **state)
{
	struct fixture *f = *state;
	int kick = new_memfd("kick"), call = new_memfd("call");
	const uint64_t desc = 0x7f0000001000, avail = 0x7f0000002000, used = 0x7f0000003000;
	const struct be_msg *m;

	handshake_ok(f);
	assert_int_equal(vhost_user_set_vring_num(&f->vu, 1, 1024), 0);
	assert_int_equal(vhost_user_set_vring_base(&f->vu, 1, 0), 0);
	assert_int_equal(vhost_user_set_vring_addr(&f->vu, 1, desc, used, avail), 0);
	assert_int_equal(vhost_user_set_vring_call(&f->vu, 1, call), 0);
	assert_int_equal(vhost_user_set_vring_kick(&f->vu, 1, kick), 0);
	assert_int_equal(vhost_user_set_vring_enable(&f->vu, 1, true), 0);

	be_finish(f);
	assert_int_equal(f->be.nmsgs, HANDSHAKE_MSGS + 6);
	expect_state(f, 4, REQ_SET_VRING_NUM, HDR_V1 | HDR_NEED_REPLY, 1, 1024);
	expect_state(f, 5, REQ_SET_VRING_BASE, HDR_V1 | HDR_NEED_REPLY, 1, 0);
	/* {u32 index, u32 flags, u64 desc, u64 used, u64 avail, u64 log}: used before avail. */
	m = expect_msg(f, 6, REQ_SET_VRING_ADDR, HDR_V1 | HDR_NEED_REPLY, 40);
	assert_int_equal(le_get32(m->payload), 1);
	assert_int_equal(le_get32(m->payload + 4), 0);
	assert_int_equal(le_get64(m->payload + 8), desc);
	assert_int_equal(le_get64(m->payload + 16), used);
	assert_int_equal(le_get64(m->payload + 24), avail);
	assert_int_equal(le_get64(m->payload + 32), 0);
	assert_int_equal(m->nfds, 0);
	/* u64: index in bits 7:0, bit 8 clear because an fd rides along. */
	expect_u64(f, 7, REQ_SET_VRING_CALL, HDR_V1 | HDR_NEED_REPLY, 1);
	assert_int_equal(f->be.msgs[7].nfds, 1);
	assert_same_file(f->be.msgs[7].fds[0], call);
	expect_u64(f, 8, REQ_SET_VRING_KICK, HDR_V1 | HDR_NEED_REPLY, 1);
	assert_int_equal(f->be.msgs[8].nfds, 1);
	assert_same_file(f->be.msgs[8].fds[0], kick);
	expect_state(f, 9, REQ_SET_VRING_ENABLE, HDR_V1 | HDR_NEED_REPLY, 1, 1);
	close(kick);
	close(call);
}

static void test_vhost_user_vring_fd_minus_one_sets_no_fd_bit(void **state)
{
	struct fixture *f = *state;

	handshake_ok(f);
	assert_int_equal(vhost_user_set_vring_kick(&f->vu, 0, -1), 0);
	assert_int_equal(vhost_user_set_vring_call(&f->vu, 255, -1), 0);

	be_finish(f);
	assert_int_equal(f->be.nmsgs, HANDSHAKE_MSGS + 2);
	expect_u64(f, 4, REQ_SET_VRING_KICK, HDR_V1 | HDR_NEED_REPLY, 0x100);
	assert_int_equal(f->be.msgs[4].nfds, 0);
	expect_u64(f, 5, REQ_SET_VRING_CALL, HDR_V1 | HDR_NEED_REPLY, 0x1ff);
	assert_int_equal(f->be.msgs[5].nfds, 0);
}

static void test_vhost_user_reset_disables_and_reads_vring_base(void **state)
{
	struct fixture *f = *state;
	unsigned int base = 0;

	f->be.vring_base = 0x1234;
	handshake_ok(f);
	assert_int_equal(vhost_user_set_vring_enable(&f->vu, 0, false), 0);
	assert_int_equal(vhost_user_get_vring_base(&f->vu, 0, &base), 0);

	assert_int_equal(base, 0x1234);
	be_finish(f);
	assert_int_equal(f->be.nmsgs, HANDSHAKE_MSGS + 2);
	expect_state(f, 4, REQ_SET_VRING_ENABLE, HDR_V1 | HDR_NEED_REPLY, 0, 0);
	/* GET_* has a reply of its own: no NEED_REPLY even under REPLY_ACK. */
	expect_state(f, 5, REQ_GET_VRING_BASE, HDR_V1, 0, 0);
}

/* The device's calls for a two-queue share, as devices/virtio/fs.c makes them (tech-notes §7.3). */
static void drive_device_lifecycle(struct fixture *f, int ram, int kick, int call)
{
	const struct vhost_user_region region = {
	    .guest_addr = 0, .size = 1 << 20, .user_addr = 0x10000000, .mmap_offset = 0, .fd = ram};
	unsigned int base;
	uint64_t num;

	handshake_ok(f);
	assert_int_equal(vhost_user_get_queue_num(&f->vu, &num), 0);
	assert_int_equal(num, 2);
	assert_int_equal(vhost_user_set_features(&f->vu, FEAT_VERSION_1 | FEAT_PROTOCOL_FEATURES),
			 0);
	assert_int_equal(vhost_user_set_mem_table(&f->vu, &region, 1), 0);
	for (unsigned int q = 0; q < 2; q++) {
		uint64_t ring = 0x10000000 + 0x10000 * q;

		assert_int_equal(vhost_user_set_vring_num(&f->vu, q, 128), 0);
		assert_int_equal(vhost_user_set_vring_base(&f->vu, q, 0), 0);
		assert_int_equal(
		    vhost_user_set_vring_addr(&f->vu, q, ring, ring + 0x1000, ring + 0x800), 0);
		assert_int_equal(vhost_user_set_vring_call(&f->vu, q, call), 0);
		assert_int_equal(vhost_user_set_vring_kick(&f->vu, q, kick), 0);
	}
	for (unsigned int q = 0; q < 2; q++)
		assert_int_equal(vhost_user_set_vring_enable(&f->vu, q, true), 0);
	/* Guest reset. */
	for (unsigned int q = 0; q < 2; q++) {
		assert_int_equal(vhost_user_set_vring_enable(&f->vu, q, false), 0);
		assert_int_equal(vhost_user_get_vring_base(&f->vu, q, &base), 0);
	}
}

/* What drive_device_lifecycle() sends, in order. */
static const uint32_t lifecycle_requests[] = {
    REQ_SET_OWNER,
    REQ_GET_FEATURES,
    REQ_GET_PROTOCOL_FEATURES,
    REQ_SET_PROTOCOL_FEATURES,
    REQ_GET_QUEUE_NUM,
    REQ_SET_FEATURES,
    REQ_SET_MEM_TABLE,
    /* queue 0 */
    REQ_SET_VRING_NUM,
    REQ_SET_VRING_BASE,
    REQ_SET_VRING_ADDR,
    REQ_SET_VRING_CALL,
    REQ_SET_VRING_KICK,
    /* queue 1 */
    REQ_SET_VRING_NUM,
    REQ_SET_VRING_BASE,
    REQ_SET_VRING_ADDR,
    REQ_SET_VRING_CALL,
    REQ_SET_VRING_KICK,
    /* enable both, then reset both */
    REQ_SET_VRING_ENABLE,
    REQ_SET_VRING_ENABLE,
    REQ_SET_VRING_ENABLE,
    REQ_GET_VRING_BASE,
    REQ_SET_VRING_ENABLE,
    REQ_GET_VRING_BASE,
};

static void test_vhost_user_full_sequence_in_order(void **state)
{
	struct fixture *f = *state;
	int ram = new_memfd("ram"), kick = new_memfd("kick"), call = new_memfd("call");
	const uint32_t *expected = lifecycle_requests;
	unsigned int n = sizeof(lifecycle_requests) / sizeof(lifecycle_requests[0]);

	drive_device_lifecycle(f, ram, kick, call);

	assert_false(f->vu.broken);
	be_finish(f);
	assert_int_equal(f->be.nmsgs, n);
	for (unsigned int i = 0; i < n; i++) {
		bool get = expected[i] == REQ_GET_FEATURES || expected[i] == REQ_GET_QUEUE_NUM ||
			   expected[i] == REQ_GET_PROTOCOL_FEATURES ||
			   expected[i] == REQ_GET_VRING_BASE;
		/* NEED_REPLY on every SET_* once REPLY_ACK is negotiated (after message 3). */
		uint32_t flags = HDR_V1 | (!get && i > 3 ? HDR_NEED_REPLY : 0);

		assert_int_equal(f->be.msgs[i].request, expected[i]);
		assert_int_equal(f->be.msgs[i].flags, flags);
	}
	close(ram);
	close(kick);
	close(call);
}

/* ---- REPLY_ACK ---- */

static void test_vhost_user_nonzero_ack_returns_eio(void **state)
{
	struct fixture *f = *state;

	f->be.script[HANDSHAKE_MSGS].ack = 1;
	handshake_ok(f);

	assert_int_equal(vhost_user_set_features(&f->vu, FEAT_VERSION_1), -EIO);
	/* A refusal is an answer: the stream is in step and the next request works. */
	assert_false(f->vu.broken);
	assert_int_equal(vhost_user_set_vring_num(&f->vu, 0, 64), 0);
	be_finish(f);
	assert_int_equal(f->be.nmsgs, HANDSHAKE_MSGS + 2);
}

static void test_vhost_user_rejects_ack_with_wrong_size(void **state)
{
	struct fixture *f = *state;
	const uint32_t zero = 0;

	be_script_raw(f, HANDSHAKE_MSGS, REQ_SET_VRING_NUM, HDR_V1 | HDR_REPLY, 4, &zero, 4);
	handshake_ok(f);

	assert_int_equal(vhost_user_set_vring_num(&f->vu, 0, 64), -EPROTO);
	assert_broken_and_silent(f, HANDSHAKE_MSGS + 1);
}

#define T(fn, setup_fn) cmocka_unit_test_setup_teardown(fn, setup_fn, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_vhost_user_handshake_negotiates_reply_ack, setup),
	    T(test_vhost_user_handshake_without_protocol_features_sends_no_protocol_messages,
	      setup),
	    T(test_vhost_user_handshake_without_reply_ack_sends_no_need_reply, setup),
	    T(test_vhost_user_get_queue_num_needs_mq, setup),
	    T(test_vhost_user_set_features_and_mem_table_send_exact_bytes, setup),
	    T(test_vhost_user_queue_setup_sends_exact_bytes, setup),
	    T(test_vhost_user_vring_fd_minus_one_sets_no_fd_bit, setup),
	    T(test_vhost_user_reset_disables_and_reads_vring_base, setup),
	    T(test_vhost_user_full_sequence_in_order, setup),
	    T(test_vhost_user_nonzero_ack_returns_eio, setup),
	    T(test_vhost_user_rejects_ack_with_wrong_size, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
