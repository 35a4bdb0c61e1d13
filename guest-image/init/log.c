/* Guest init: console logging, one write(2) per line. */
#include "init.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void init_log(const char *fmt, ...)
{
	char line[512];
	size_t prefix = sizeof("microvmm-init: ") - 1;
	va_list ap;
	int n;

	memcpy(line, "microvmm-init: ", prefix);
	va_start(ap, fmt);
	n = vsnprintf(line + prefix, sizeof(line) - prefix - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - prefix - 2)
		n = (int)(sizeof(line) - prefix - 2);
	line[prefix + (size_t)n] = '\n';
	if (write(STDERR_FILENO, line, prefix + (size_t)n + 1) < 0) {
		/* Nowhere left to report to. */
	}
}
