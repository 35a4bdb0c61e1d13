/* Unit tests for the vhost-user front-end (devices/vhost/vhost_user.c) against hostile,
 * split, short and missing replies from a scripted back-end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "vhost_user_backend.h"

/* ---- hostile replies (all to GET_FEATURES, message 1 of the handshake) ---- */

static void run_hostile_features_reply(struct fixture *f, uint32_t request, uint32_t flags,
				       uint32_t size, size_t payload_len)
{
	const uint8_t payload[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

	be_script_raw(f, 1, request, flags, size, payload, payload_len);
	be_start(f);

	assert_int_equal(vhost_user_handshake(&f->vu), -EPROTO);
	assert_broken_and_silent(f, 2);
}

static void test_vhost_user_rejects_reply_with_wrong_request_id(void **state)
{
	run_hostile_features_reply(*state, REQ_SET_FEATURES, HDR_V1 | HDR_REPLY, 8, 8);
}

static void test_vhost_user_rejects_reply_without_reply_flag(void **state)
{
	run_hostile_features_reply(*state, REQ_GET_FEATURES, HDR_V1, 8, 8);
}

static void test_vhost_user_rejects_reply_with_version_0(void **state)
{
	run_hostile_features_reply(*state, REQ_GET_FEATURES, HDR_REPLY, 8, 8);
}

static void test_vhost_user_rejects_reply_with_version_2(void **state)
{
	run_hostile_features_reply(*state, REQ_GET_FEATURES, 0x2 | HDR_REPLY, 8, 8);
}

static void test_vhost_user_rejects_reply_with_short_size(void **state)
{
	run_hostile_features_reply(*state, REQ_GET_FEATURES, HDR_V1 | HDR_REPLY, 4, 4);
}

static void test_vhost_user_rejects_reply_with_oversized_size(void **state)
{
	run_hostile_features_reply(*state, REQ_GET_FEATURES, HDR_V1 | HDR_REPLY, 16, 16);
}

static void test_vhost_user_rejects_reply_with_huge_size_without_reading_it(void **state)
{
	run_hostile_features_reply(*state, REQ_GET_FEATURES, HDR_V1 | HDR_REPLY, 0xffffffff, 8);
}

static void test_vhost_user_closes_fd_attached_to_reply(void **state)
{
	struct fixture *f = *state;
	const uint64_t features = VIRTIOFSD_FEATURES;
	int stray = new_memfd("stray");
	int before;

	be_script_raw(f, 1, REQ_GET_FEATURES, HDR_V1 | HDR_REPLY, 8, &features, 8);
	f->be.script[1].attach = true;
	f->be.script[1].fd = stray;
	be_start(f);
	before = count_open_fds();

	assert_int_equal(vhost_user_handshake(&f->vu), -EPROTO);

	/* The kernel installed a duplicate of `stray` in our table; it must be gone again. */
	assert_int_equal(count_open_fds(), before);
	assert_broken_and_silent(f, 2);
	close(stray);
}

static void test_vhost_user_accepts_replies_split_into_single_bytes(void **state)
{
	struct fixture *f = *state;
	const uint64_t features = VIRTIOFSD_FEATURES, protocol = PROTO_REPLY_ACK;
	const uint32_t vring[2] = {0, 77}; /* {index, num} */
	unsigned int base = 0;

	be_script_raw(f, 1, REQ_GET_FEATURES, HDR_V1 | HDR_REPLY, 8, &features, 8);
	be_script_raw(f, 2, REQ_GET_PROTOCOL_FEATURES, HDR_V1 | HDR_REPLY, 8, &protocol, 8);
	be_script_raw(f, 4, REQ_GET_VRING_BASE, HDR_V1 | HDR_REPLY, 8, vring, 8);
	f->be.script[1].byte_by_byte = true;
	f->be.script[2].byte_by_byte = true;
	f->be.script[4].byte_by_byte = true;
	be_start(f);

	assert_int_equal(vhost_user_handshake(&f->vu), 0);
	assert_int_equal(vhost_user_get_vring_base(&f->vu, 0, &base), 0);

	assert_int_equal(f->vu.features, VIRTIOFSD_FEATURES);
	assert_int_equal(f->vu.protocol_features, PROTO_REPLY_ACK);
	assert_int_equal(base, 77);
	assert_false(f->vu.broken);
}

static void test_vhost_user_eof_mid_header_breaks_connection(void **state)
{
	struct fixture *f = *state;
	struct be_reply *r = &f->be.script[1];

	r->mode = BE_HANGUP;
	le_put32(r->bytes, REQ_GET_FEATURES);
	r->len = 5;
	be_start(f);

	assert_int_equal(vhost_user_handshake(&f->vu), -EPIPE);
	assert_broken_and_silent(f, 2);
}

static void test_vhost_user_eof_mid_payload_breaks_connection(void **state)
{
	struct fixture *f = *state;
	const uint64_t features = VIRTIOFSD_FEATURES;

	be_script_raw(f, 1, REQ_GET_FEATURES, HDR_V1 | HDR_REPLY, 8, &features, 3);
	f->be.script[1].mode = BE_HANGUP;
	be_start(f);

	assert_int_equal(vhost_user_handshake(&f->vu), -EPIPE);
	assert_broken_and_silent(f, 2);
}

static void test_vhost_user_send_to_closed_backend_returns_epipe(void **state)
{
	struct fixture *f = *state;

	/* No back-end thread: its end is simply gone. MSG_NOSIGNAL keeps SIGPIPE away. */
	close(f->be.sock);
	f->be.sock = -1;

	assert_int_equal(vhost_user_handshake(&f->vu), -EPIPE);
	assert_broken_and_silent(f, 0);
}

static void test_vhost_user_timeout_breaks_connection(void **state)
{
	struct fixture *f = *state;
	long long start, elapsed;

	f->be.script[1].mode = BE_SILENT;
	be_start(f);
	start = now_ms();

	assert_int_equal(vhost_user_handshake(&f->vu), -ETIMEDOUT);

	elapsed = now_ms() - start;
	assert_true(elapsed >= SHORT_TIMEOUT_MS - 10);
	assert_true(elapsed < 10 * SHORT_TIMEOUT_MS);
	assert_broken_and_silent(f, 2);
}

static void test_vhost_user_get_vring_base_rejects_other_index(void **state)
{
	struct fixture *f = *state;
	const uint32_t vring[2] = {1, 0}; /* about ring 1, asked about ring 0 */
	unsigned int base = 99;

	be_script_raw(f, HANDSHAKE_MSGS, REQ_GET_VRING_BASE, HDR_V1 | HDR_REPLY, 8, vring, 8);
	handshake_ok(f);

	assert_int_equal(vhost_user_get_vring_base(&f->vu, 0, &base), -EPROTO);
	assert_int_equal(base, 99);
	assert_broken_and_silent(f, HANDSHAKE_MSGS + 1);
}

static void test_vhost_user_get_vring_base_rejects_base_over_16_bits(void **state)
{
	struct fixture *f = *state;
	unsigned int base = 99;

	f->be.vring_base = 0x10000;
	handshake_ok(f);

	assert_int_equal(vhost_user_get_vring_base(&f->vu, 0, &base), -EPROTO);
	assert_int_equal(base, 99);
	assert_broken_and_silent(f, HANDSHAKE_MSGS + 1);
}

#define T(fn, setup_fn) cmocka_unit_test_setup_teardown(fn, setup_fn, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_vhost_user_rejects_reply_with_wrong_request_id, setup),
	    T(test_vhost_user_rejects_reply_without_reply_flag, setup),
	    T(test_vhost_user_rejects_reply_with_version_0, setup),
	    T(test_vhost_user_rejects_reply_with_version_2, setup),
	    T(test_vhost_user_rejects_reply_with_short_size, setup),
	    T(test_vhost_user_rejects_reply_with_oversized_size, setup),
	    T(test_vhost_user_rejects_reply_with_huge_size_without_reading_it, setup),
	    T(test_vhost_user_closes_fd_attached_to_reply, setup),
	    T(test_vhost_user_accepts_replies_split_into_single_bytes, setup),
	    T(test_vhost_user_eof_mid_header_breaks_connection, setup),
	    T(test_vhost_user_eof_mid_payload_breaks_connection, setup),
	    T(test_vhost_user_send_to_closed_backend_returns_epipe, setup),
	    T(test_vhost_user_timeout_breaks_connection, setup_short_timeout),
	    T(test_vhost_user_get_vring_base_rejects_other_index, setup),
	    T(test_vhost_user_get_vring_base_rejects_base_over_16_bits, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
