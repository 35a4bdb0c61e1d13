/* A small AML encoder (ACPI 6.5 §20) for the run-time DSDT: names, data objects, resources. */
#ifndef MICROVMM_BOOT_AML_H
#define MICROVMM_BOOT_AML_H

#include <stddef.h>
#include <stdint.h>

/*
 * Ownership and errors. A struct aml_buf owns a heap byte array that grows
 * as bytes are appended. Emitters return nothing: the first failure
 * (-ENOMEM; -EINVAL for a malformed name, ID, string or range, or a bad
 * mark; -E2BIG for an object larger than a PkgLength can describe) is
 * stored in `err`, and every later emitter is a no-op. Check
 * once with aml_error() after building; aml_free() always releases the
 * memory and is idempotent. Not thread-safe; one builder per buffer.
 *
 * Call order for nested objects (Scope, Device, Package): *_begin() returns
 * a mark, emit the contents, then aml_end(buf, mark). The PkgLength is
 * inserted at the mark then, with the shortest encoding (§20.2.4).
 */
struct aml_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	int err; /* 0 or the first -errno; sticky */
};

/* Largest PkgLength value: 28 bits (ACPI 6.5 §20.2.4). */
#define AML_PKGLEN_MAX ((1u << 28) - 1)

void aml_init(struct aml_buf *buf);
void aml_free(struct aml_buf *buf);
/* 0, or the first -errno any emitter hit. */
int aml_error(const struct aml_buf *buf) __attribute__((warn_unused_result));

/*
 * Encodes a PkgLength whose value (which counts the encoding itself) is
 * `value` into out[0..3], in the fewest bytes. Returns the byte count
 * 1..4, or -E2BIG when `value` exceeds AML_PKGLEN_MAX.
 * Exposed for tests; emitters use it through aml_end().
 */
int aml_pkglength_encode(uint32_t value, uint8_t out[4]) __attribute__((warn_unused_result));

/* Raw bytes (opcodes, ByteData). */
void aml_bytes(struct aml_buf *buf, const void *data, size_t len);
void aml_byte(struct aml_buf *buf, uint8_t b);

/*
 * NameString (§20.2.2): optional '\' root prefix, then segments of 1..4
 * characters separated by '.', each padded with '_' ("_SB.PCI0").
 */
void aml_namestring(struct aml_buf *buf, const char *path);

/* Integer constant in the shortest form: Zero, One, Byte/Word/DWord/QWord (§20.2.3). */
void aml_integer(struct aml_buf *buf, uint64_t value);
/* String constant: StringPrefix, ASCII 0x01..0x7F, NUL (§20.2.3). */
void aml_string(struct aml_buf *buf, const char *s);
/* EISAID("PNP0A03") as a DWordConst (§19.6.43): three capitals, four hex digits. */
void aml_eisaid(struct aml_buf *buf, const char *id);

/* DefName (§20.2.5.1): emits the opcode and name; the next object emitted is its value. */
void aml_name(struct aml_buf *buf, const char *path);

/* Nested objects; close each with aml_end(). */
size_t aml_scope_begin(struct aml_buf *buf, const char *path);
size_t aml_device_begin(struct aml_buf *buf, const char *path);
/* DefPackage with `count` elements (<= 255, §20.2.5.4); emit them, then aml_end(). */
size_t aml_package_begin(struct aml_buf *buf, unsigned int count);
void aml_end(struct aml_buf *buf, size_t mark);

/* DefBuffer (§20.2.5.4) holding `len` bytes. */
void aml_buffer(struct aml_buf *buf, const void *data, size_t len);

/*
 * Resource descriptors (ACPI 6.5 §6.4) are appended to a separate aml_buf
 * `res`; aml_resource_template() then emits Buffer{res, End Tag}.
 */
void aml_resource_template(struct aml_buf *buf, const struct aml_buf *res);

/* I/O Port descriptor, 16-bit decode (§6.4.2.5). */
void aml_res_io(struct aml_buf *res, uint16_t min, uint16_t max, uint8_t align, uint8_t len);
/* WordBusNumber producer, MinFixed, MaxFixed, PosDecode (§6.4.3.5.3). */
void aml_res_word_bus(struct aml_buf *res, uint16_t min, uint16_t max);
/* WordIO producer, MinFixed, MaxFixed, PosDecode, EntireRange (§6.4.3.5.3). */
void aml_res_word_io(struct aml_buf *res, uint16_t min, uint16_t max);

/* Memory cacheability, type-specific flags bits 2:1 (§6.4.3.5.4). */
enum aml_mem_cache {
	AML_MEM_NON_CACHEABLE = 0,
	AML_MEM_CACHEABLE = 1,
	AML_MEM_WRITE_COMBINING = 2,
	AML_MEM_PREFETCHABLE = 3,
};
/* DWordMemory / QWordMemory producer, MinFixed, MaxFixed, PosDecode (§6.4.3.5.2, .1). */
void aml_res_dword_memory(struct aml_buf *res, enum aml_mem_cache cache, int writable, uint32_t min,
			  uint32_t max);
void aml_res_qword_memory(struct aml_buf *res, enum aml_mem_cache cache, int writable, uint64_t min,
			  uint64_t max);

/* Extended Interrupt descriptor flags (§6.4.3.6). */
#define AML_IRQ_CONSUMER   0x01
#define AML_IRQ_EDGE	   0x02
#define AML_IRQ_ACTIVE_LOW 0x04
#define AML_IRQ_SHARED	   0x08
#define AML_IRQ_WAKE	   0x10
/* Extended Interrupt descriptor with one interrupt number (§6.4.3.6). */
void aml_res_ext_irq(struct aml_buf *res, uint8_t flags, uint32_t gsi);

#endif
