/*
 * Unit tests for MSI routing updates (vmm/irq.c). Each MSI-X table write
 * used to rebuild and hand KVM the whole GSI routing table, so a guest
 * rewriting one entry in a loop kept a host core in KVM_SET_GSI_ROUTING.
 * The router here has no VM (fd -1): any update that reaches KVM fails
 * with -EBADF, which is how these tests see whether it did.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "vmm/irq.h"

static void test_irq_unchanged_msi_route_is_not_committed(void **state)
{
	struct irq_router *r = calloc(1, sizeof(*r));

	(void)state;
	assert_non_null(r);
	assert_int_equal(irq_router_init(r, -1), 0);
	assert_int_equal(irq_msi_alloc(r, 2), 0);
	/* A new route reaches KVM (and fails here, having no VM). */
	assert_int_equal(irq_msi_update(r, 1, true, 0xfee00000, 0x4021), -EBADF);
	/* The same entry written again does not. */
	assert_int_equal(irq_msi_update(r, 1, true, 0xfee00000, 0x4021), 0);
	/* Masked entries carry no route, whatever their address. */
	assert_int_equal(irq_msi_update(r, 0, false, 0x1234, 7), 0);
	assert_int_equal(irq_msi_update(r, 0, false, 0x5678, 9), 0);
	/* A changed route does. */
	assert_int_equal(irq_msi_update(r, 1, true, 0xfee00000, 0x4022), -EBADF);
	assert_int_equal(irq_msi_update(r, 1, false, 0xfee00000, 0x4022), -EBADF);
	assert_int_equal(irq_msi_update(r, 5, true, 0, 0), -EINVAL);
	irq_router_destroy(r);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_irq_unchanged_msi_route_is_not_committed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
