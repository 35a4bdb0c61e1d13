/* A small AML encoder (ACPI 6.5 §20) for the run-time DSDT: names, data objects, resources. */
#include "boot/aml.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Opcodes and prefixes (ACPI 6.5 §20.3, §20.2.2, §20.2.3). */
#define AML_ZERO_OP	       0x00
#define AML_ONE_OP	       0x01
#define AML_NAME_OP	       0x08
#define AML_BYTE_PREFIX	       0x0a
#define AML_WORD_PREFIX	       0x0b
#define AML_DWORD_PREFIX       0x0c
#define AML_STRING_PREFIX      0x0d
#define AML_QWORD_PREFIX       0x0e
#define AML_SCOPE_OP	       0x10
#define AML_BUFFER_OP	       0x11
#define AML_PACKAGE_OP	       0x12
#define AML_EXT_OP_PREFIX      0x5b
#define AML_DEVICE_OP	       0x82 /* after AML_EXT_OP_PREFIX */
#define AML_DUAL_NAME_PREFIX   0x2e
#define AML_MULTI_NAME_PREFIX  0x2f
#define AML_ROOT_CHAR	       0x5c
#define AML_PARENT_PREFIX_CHAR 0x5e
#define AML_NULL_NAME	       0x00

/* Resource descriptor tags (ACPI 6.5 §6.4.2, §6.4.3). */
#define AML_RES_IO	    0x47
#define AML_RES_END_TAG	    0x79
#define AML_RES_DWORD_SPACE 0x87
#define AML_RES_WORD_SPACE  0x88
#define AML_RES_EXT_IRQ	    0x89
#define AML_RES_QWORD_SPACE 0x8a

/* Address space descriptor fields (§6.4.3.5.1..3, Table 6.47). */
#define AML_SPACE_MEMORY    0
#define AML_SPACE_IO	    1
#define AML_SPACE_BUS	    2
#define AML_SPACE_MIN_FIXED 0x04
#define AML_SPACE_MAX_FIXED 0x08
#define AML_IO_ENTIRE_RANGE 0x03

/* Growth cap: nothing bigger than one PkgLength can hold is ever useful. */
#define AML_BUF_MAX ((size_t)AML_PKGLEN_MAX)

static void aml_fail(struct aml_buf *buf, int err)
{
	if (!buf->err)
		buf->err = err;
}

void aml_init(struct aml_buf *buf)
{
	*buf = (struct aml_buf){0};
}

void aml_free(struct aml_buf *buf)
{
	free(buf->data);
	aml_init(buf);
}

int aml_error(const struct aml_buf *buf)
{
	return buf->err;
}

/* Makes room for `n` more bytes; false (with err set) when that is impossible. */
static int aml_reserve(struct aml_buf *buf, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (buf->err)
		return 0;
	if (n > AML_BUF_MAX - buf->len) {
		aml_fail(buf, -E2BIG);
		return 0;
	}
	if (buf->len + n <= buf->cap)
		return 1;
	cap = buf->cap ? buf->cap : 256;
	while (cap < buf->len + n)
		cap *= 2;
	p = realloc(buf->data, cap);
	if (!p) {
		aml_fail(buf, -ENOMEM);
		return 0;
	}
	buf->data = p;
	buf->cap = cap;
	return 1;
}

void aml_bytes(struct aml_buf *buf, const void *data, size_t len)
{
	if (len == 0 || !aml_reserve(buf, len))
		return;
	memcpy(buf->data + buf->len, data, len);
	buf->len += len;
}

void aml_byte(struct aml_buf *buf, uint8_t b)
{
	aml_bytes(buf, &b, 1);
}

/* Little-endian multi-byte field; AML and resource data are little-endian (§20.2.3, §6.4). */
static void aml_le(struct aml_buf *buf, uint64_t value, unsigned int nbytes)
{
	uint8_t b[8];

	for (unsigned int i = 0; i < nbytes; i++)
		b[i] = (uint8_t)(value >> (8 * i));
	aml_bytes(buf, b, nbytes);
}

/*
 * ACPI 6.5 §20.2.4: one byte holds values up to 63 in bits 5:0. Otherwise
 * bits 7:6 of the lead byte count 1..3 follow bytes, bits 3:0 hold the low
 * nibble and each follow byte the next 8 bits.
 */
int aml_pkglength_encode(uint32_t value, uint8_t out[4])
{
	unsigned int follow;

	if (value > AML_PKGLEN_MAX)
		return -E2BIG;
	if (value <= 0x3f) {
		out[0] = (uint8_t)value;
		return 1;
	}
	follow = value < (1u << 12) ? 1 : value < (1u << 20) ? 2 : 3;
	out[0] = (uint8_t)((follow << 6) | (value & 0xf));
	for (unsigned int i = 1; i <= follow; i++)
		out[i] = (uint8_t)(value >> (4 + 8 * (i - 1)));
	return (int)(follow + 1);
}

/* Inserts at `mark` the PkgLength covering everything emitted since, plus itself. */
void aml_end(struct aml_buf *buf, size_t mark)
{
	uint8_t enc[4];
	size_t body;
	int n = -E2BIG;
	int w;

	if (buf->err)
		return;
	if (mark > buf->len) {
		aml_fail(buf, -EINVAL);
		return;
	}
	body = buf->len - mark;
	/* The value counts its own bytes: take the first width that encodes in that width. */
	for (w = 1; w <= 4; w++) {
		n = body <= AML_PKGLEN_MAX - (size_t)w
			? aml_pkglength_encode((uint32_t)(body + (size_t)w), enc)
			: -E2BIG;
		if (n == w || n < 0)
			break;
	}
	if (n != w) {
		aml_fail(buf, -E2BIG);
		return;
	}
	if (!aml_reserve(buf, (size_t)n))
		return;
	memmove(buf->data + mark + n, buf->data + mark, body);
	memcpy(buf->data + mark, enc, (size_t)n);
	buf->len += (size_t)n;
}

/* NameSeg (§20.2.2): lead 'A'-'Z' or '_', then also digits; 1..4 chars padded with '_'. */
static int aml_nameseg_parse(const char **p, uint8_t seg[4])
{
	const char *s = *p;
	size_t n;

	for (n = 0; s[n] && s[n] != '.'; n++) {
		char c = s[n];

		if (n == 4 ||
		    !((c >= 'A' && c <= 'Z') || c == '_' || (n > 0 && c >= '0' && c <= '9')))
			return -EINVAL;
		seg[n] = (uint8_t)c;
	}
	if (n == 0)
		return -EINVAL;
	for (size_t i = n; i < 4; i++)
		seg[i] = '_';
	if (s[n] == '.') {
		if (!s[n + 1])
			return -EINVAL;
		n++;
	}
	*p = s + n;
	return 0;
}

/* Counts and validates the segments of a path after its prefixes. */
static int aml_namepath_count(const char *p)
{
	uint8_t seg[4];
	int count = 0;

	while (*p) {
		if (aml_nameseg_parse(&p, seg) || count == 255)
			return -EINVAL;
		count++;
	}
	return count;
}

void aml_namestring(struct aml_buf *buf, const char *path)
{
	const char *p = path;
	uint8_t seg[4];
	int count;

	if (*p == AML_ROOT_CHAR) {
		p++;
	} else {
		while (*p == AML_PARENT_PREFIX_CHAR)
			p++;
	}
	count = aml_namepath_count(p);
	if (count < 0 || (count == 0 && p == path)) {
		aml_fail(buf, -EINVAL);
		return;
	}
	aml_bytes(buf, path, (size_t)(p - path));
	if (count == 0)
		aml_byte(buf, AML_NULL_NAME);
	else if (count == 2)
		aml_byte(buf, AML_DUAL_NAME_PREFIX);
	else if (count > 2)
		aml_bytes(buf, (uint8_t[]){AML_MULTI_NAME_PREFIX, (uint8_t)count}, 2);
	/* Already validated by aml_namepath_count(); a failure here cannot loop. */
	while (*p && aml_nameseg_parse(&p, seg) == 0)
		aml_bytes(buf, seg, 4);
}

void aml_integer(struct aml_buf *buf, uint64_t value)
{
	if (value == 0) {
		aml_byte(buf, AML_ZERO_OP);
	} else if (value == 1) {
		aml_byte(buf, AML_ONE_OP);
	} else if (value <= UINT8_MAX) {
		aml_byte(buf, AML_BYTE_PREFIX);
		aml_le(buf, value, 1);
	} else if (value <= UINT16_MAX) {
		aml_byte(buf, AML_WORD_PREFIX);
		aml_le(buf, value, 2);
	} else if (value <= UINT32_MAX) {
		aml_byte(buf, AML_DWORD_PREFIX);
		aml_le(buf, value, 4);
	} else {
		/* QWordConst needs a DSDT of revision 2 or more (§5.2.11.1, §20.2.3). */
		aml_byte(buf, AML_QWORD_PREFIX);
		aml_le(buf, value, 8);
	}
}

void aml_string(struct aml_buf *buf, const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)s[i] > 0x7f) {
			aml_fail(buf, -EINVAL);
			return;
		}
	}
	aml_byte(buf, AML_STRING_PREFIX);
	aml_bytes(buf, s, n + 1);
}

static int aml_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * ACPI 6.5 §19.6.43: each letter as (c - 0x40) in 5 bits at bits 30:26,
 * 25:21, 20:16 and the product number in bits 15:0; the result is stored
 * byte-swapped, i.e. its bytes go out most significant first.
 */
void aml_eisaid(struct aml_buf *buf, const char *id)
{
	uint32_t v = 0;

	if (strlen(id) != 7) {
		aml_fail(buf, -EINVAL);
		return;
	}
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z') {
			aml_fail(buf, -EINVAL);
			return;
		}
		v |= (uint32_t)(id[i] - 0x40) << (26 - 5 * i);
	}
	for (int i = 3; i < 7; i++) {
		int d = aml_hex_digit(id[i]);

		if (d < 0) {
			aml_fail(buf, -EINVAL);
			return;
		}
		v |= (uint32_t)d << (4 * (6 - i));
	}
	aml_byte(buf, AML_DWORD_PREFIX);
	aml_bytes(
	    buf, (uint8_t[]){(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v},
	    4);
}

void aml_name(struct aml_buf *buf, const char *path)
{
	aml_byte(buf, AML_NAME_OP);
	aml_namestring(buf, path);
}

/* DefScope := ScopeOp PkgLength NameString TermList (§20.2.5.1). */
size_t aml_scope_begin(struct aml_buf *buf, const char *path)
{
	size_t mark;

	aml_byte(buf, AML_SCOPE_OP);
	mark = buf->len;
	aml_namestring(buf, path);
	return mark;
}

/* DefDevice := DeviceOp PkgLength NameString TermList (§20.2.5.2). */
size_t aml_device_begin(struct aml_buf *buf, const char *path)
{
	size_t mark;

	aml_bytes(buf, (uint8_t[]){AML_EXT_OP_PREFIX, AML_DEVICE_OP}, 2);
	mark = buf->len;
	aml_namestring(buf, path);
	return mark;
}

/* DefPackage := PackageOp PkgLength NumElements PackageElementList (§20.2.5.4). */
size_t aml_package_begin(struct aml_buf *buf, unsigned int count)
{
	size_t mark;

	if (count > UINT8_MAX)
		aml_fail(buf, -EINVAL);
	aml_byte(buf, AML_PACKAGE_OP);
	mark = buf->len;
	aml_byte(buf, (uint8_t)count);
	return mark;
}

/* DefBuffer := BufferOp PkgLength BufferSize ByteList (§20.2.5.4). */
void aml_buffer(struct aml_buf *buf, const void *data, size_t len)
{
	size_t mark;

	aml_byte(buf, AML_BUFFER_OP);
	mark = buf->len;
	aml_integer(buf, len);
	aml_bytes(buf, data, len);
	aml_end(buf, mark);
}

/* ResourceTemplate: a Buffer whose descriptors end with an End Tag of checksum 0 (§6.4.2.9). */
void aml_resource_template(struct aml_buf *buf, const struct aml_buf *res)
{
	static const uint8_t end_tag[2] = {AML_RES_END_TAG, 0x00};
	size_t mark;

	if (res->err) {
		aml_fail(buf, res->err);
		return;
	}
	aml_byte(buf, AML_BUFFER_OP);
	mark = buf->len;
	aml_integer(buf, res->len + sizeof(end_tag));
	aml_bytes(buf, res->data, res->len);
	aml_bytes(buf, end_tag, sizeof(end_tag));
	aml_end(buf, mark);
}

/* I/O Port descriptor: tag, Information bit0 = 16-bit decode, _MIN, _MAX, _ALN, _LEN (§6.4.2.5). */
void aml_res_io(struct aml_buf *res, uint16_t min, uint16_t max, uint8_t align, uint8_t len)
{
	if (max < min) {
		aml_fail(res, -EINVAL);
		return;
	}
	aml_bytes(res, (uint8_t[]){AML_RES_IO, 0x01}, 2);
	aml_le(res, min, 2);
	aml_le(res, max, 2);
	aml_bytes(res, (uint8_t[]){align, len}, 2);
}

/*
 * Address space descriptor common part (§6.4.3.5): tag, length, resource
 * type, general flags (producer, positive decode, _MIF, _MAF), type-specific
 * flags, then _GRA, _MIN, _MAX, _TRA, _LEN each `width` bytes wide.
 */
static void aml_res_space(struct aml_buf *res, uint8_t tag, unsigned int width, uint8_t type,
			  uint8_t tflags, uint64_t min, uint64_t max)
{
	uint64_t field_max = width == 8 ? UINT64_MAX : (1ull << (8 * width)) - 1;

	/* _LEN = _MAX - _MIN + 1 must fit the field: the full range cannot be described. */
	if (max < min || max - min >= field_max) {
		aml_fail(res, -EINVAL);
		return;
	}
	aml_byte(res, tag);
	aml_le(res, 3 + 5 * width, 2);
	aml_bytes(res, (uint8_t[]){type, AML_SPACE_MIN_FIXED | AML_SPACE_MAX_FIXED, tflags}, 3);
	aml_le(res, 0, width);
	aml_le(res, min, width);
	aml_le(res, max, width);
	aml_le(res, 0, width);
	aml_le(res, max - min + 1, width);
}

void aml_res_word_bus(struct aml_buf *res, uint16_t min, uint16_t max)
{
	aml_res_space(res, AML_RES_WORD_SPACE, 2, AML_SPACE_BUS, 0, min, max);
}

void aml_res_word_io(struct aml_buf *res, uint16_t min, uint16_t max)
{
	aml_res_space(res, AML_RES_WORD_SPACE, 2, AML_SPACE_IO, AML_IO_ENTIRE_RANGE, min, max);
}

/* Memory type-specific flags: bit0 _RW, bits 2:1 _MEM (§6.4.3.5.4, Table 6.50). */
static uint8_t aml_mem_flags(enum aml_mem_cache cache, int writable)
{
	return (uint8_t)(((unsigned int)cache & 3) << 1 | (writable ? 1 : 0));
}

void aml_res_dword_memory(struct aml_buf *res, enum aml_mem_cache cache, int writable, uint32_t min,
			  uint32_t max)
{
	aml_res_space(res, AML_RES_DWORD_SPACE, 4, AML_SPACE_MEMORY, aml_mem_flags(cache, writable),
		      min, max);
}

void aml_res_qword_memory(struct aml_buf *res, enum aml_mem_cache cache, int writable, uint64_t min,
			  uint64_t max)
{
	aml_res_space(res, AML_RES_QWORD_SPACE, 8, AML_SPACE_MEMORY, aml_mem_flags(cache, writable),
		      min, max);
}

/* Extended Interrupt: tag, length 6, flags, table length 1, one 32-bit interrupt (§6.4.3.6). */
void aml_res_ext_irq(struct aml_buf *res, uint8_t flags, uint32_t gsi)
{
	aml_bytes(res, (uint8_t[]){AML_RES_EXT_IRQ, 0x06, 0x00, flags, 0x01}, 5);
	aml_le(res, gsi, 4);
}
