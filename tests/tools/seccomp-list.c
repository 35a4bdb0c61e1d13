/*
 * Prints microvmm's seccomp allowlists (vmm/sandbox/seccomp_filter.c): per thread
 * class the number of system calls, then each one with its argument limits
 * and why it is there. `seccomp-list --counts` prints only the counts.
 * Used by tests/tools/seccomp-counts.sh and docs/security.md.
 */
#include <stdio.h>
#include <string.h>

#include "vmm/sandbox/seccomp_filter.h"

int main(int argc, char **argv)
{
	int counts_only = argc > 1 && !strcmp(argv[1], "--counts");

	for (int c = 0; c < SECCOMP_CLASS_COUNT; c++) {
		enum seccomp_class cls = (enum seccomp_class)c;
		const char *name, *why, *args;

		printf("%-12s %u system calls\n", seccomp_filter_class_name(cls),
		       seccomp_filter_count(cls));
		if (counts_only)
			continue;
		for (unsigned int i = 0; seccomp_filter_rule(cls, i, &name, &why, &args); i++)
			printf("    %-18s %s%s%s%s\n", name, why, args ? " [" : "",
			       args ? args : "", args ? "]" : "");
	}
	return 0;
}
