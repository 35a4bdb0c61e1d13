/* A checking parser for newc cpio archives (the kernel's buffer-format.rst), shared by the
 * cpio writer's tests and the run configuration's tests. Include after <cmocka.h>. */
#ifndef MICROVMM_TESTS_UNIT_NEWC_ARCHIVE_H
#define MICROVMM_TESTS_UNIT_NEWC_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define NEWC_HEADER 110
#define NEWC_FIELDS 13
#define MAX_ENTRIES 64

/* One parsed newc entry (buffer-format.rst): the 13 header fields, the name and the data. */
struct newc_entry {
	uint32_t ino, mode, uid, gid, nlink, mtime, filesize;
	uint32_t devmajor, devminor, rdevmajor, rdevminor, namesize, check;
	const char *name;
	const uint8_t *data;
};

struct archive {
	struct newc_entry e[MAX_ENTRIES];
	unsigned int count;
};

static inline uint32_t parse_hex8(const uint8_t *p)
{
	uint32_t v = 0;

	for (unsigned int i = 0; i < 8; i++) {
		uint8_t c = p[i];

		if (c >= '0' && c <= '9')
			v = v << 4 | (uint32_t)(c - '0');
		else if (c >= 'A' && c <= 'F')
			v = v << 4 | (uint32_t)(c - 'A' + 10);
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (uint32_t)(c - 'a' + 10);
		else
			fail_msg("header byte %#x is not hex", c);
	}
	return v;
}

static inline void assert_zero_pad(const uint8_t *a, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		assert_int_equal(a[i], 0);
}

static inline size_t align4(size_t v)
{
	return (v + 3) & ~(size_t)3;
}

/*
 * Parses a whole archive, checking the framing on the way: magic, hex
 * fields, NUL-terminated names, header+name and data each zero-padded to
 * four bytes, TRAILER!!! last and nothing after it.
 */
static inline void parse_archive(const uint8_t *a, size_t len, struct archive *out)
{
	size_t off = 0;

	memset(out, 0, sizeof(*out));
	assert_int_equal(len % 4, 0);
	for (;;) {
		assert_true(out->count < MAX_ENTRIES);
		assert_true(len - off >= NEWC_HEADER);
		assert_memory_equal(a + off, "070701", 6);
		uint32_t f[NEWC_FIELDS];

		for (unsigned int i = 0; i < NEWC_FIELDS; i++)
			f[i] = parse_hex8(a + off + 6 + 8 * i);
		struct newc_entry *e = &out->e[out->count++];

		*e = (struct newc_entry){f[0], f[1], f[2],  f[3],  f[4],  f[5], f[6], f[7],
					 f[8], f[9], f[10], f[11], f[12], NULL, NULL};
		size_t name_at = off + NEWC_HEADER;

		assert_true(e->namesize >= 1 && e->namesize <= len - name_at);
		e->name = (const char *)a + name_at;
		assert_int_equal(a[name_at + e->namesize - 1], 0);
		assert_int_equal(strlen(e->name), e->namesize - 1);
		size_t data_at = align4(name_at + e->namesize);

		assert_true(data_at <= len);
		assert_zero_pad(a, name_at + e->namesize, data_at);
		assert_true(e->filesize <= len - data_at);
		e->data = a + data_at;
		size_t next = align4(data_at + e->filesize);

		assert_true(next <= len);
		assert_zero_pad(a, data_at + e->filesize, next);
		off = next;
		if (strcmp(e->name, "TRAILER!!!") == 0)
			break;
	}
	assert_int_equal(off, len);
}

#endif
