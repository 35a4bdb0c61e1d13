/* MSI-X: the capability's control bits, the vector table and PBA in a BAR (PCI Local Bus 3.0
 * §6.8.2). */
#include "devices/pci/msix.h"

#include <errno.h>
#include <string.h>

#include "devices/io.h"

#define PCI_CAP_ID_MSIX 0x11

int msix_init(struct msix *m, unsigned int vectors, struct msix_sink sink)
{
	memset(m, 0, sizeof(*m));
	if (vectors == 0 || vectors > MSIX_MAX_VECTORS)
		return -EINVAL;
	m->vectors = vectors;
	m->sink = sink;
	/* Every entry starts masked (PCI 3.0 §6.8.2.9, Vector Control reset value). */
	for (unsigned int i = 0; i < vectors; i++)
		m->table[i].control = MSIX_VECTOR_CONTROL_MASKED;
	return -pthread_mutex_init(&m->lock, NULL);
}

void msix_destroy(struct msix *m)
{
	pthread_mutex_destroy(&m->lock);
}

void msix_write_capability(const struct msix *m, uint8_t *cap, uint8_t next, uint32_t table_offset,
			   uint32_t pba_offset, uint8_t bar)
{
	cap[0] = PCI_CAP_ID_MSIX;
	cap[1] = next;
	le_put(cap + 2, 2, (m->vectors - 1) & MSIX_CONTROL_TABLE_SIZE_MASK);
	le_put(cap + 4, 4, table_offset | bar);
	le_put(cap + 8, 4, pba_offset | bar);
}

static void msix_update_vector(struct msix *m, unsigned int v)
{
	const struct msix_entry *e = &m->table[v];
	bool active =
	    m->enabled && !m->function_masked && !(e->control & MSIX_VECTOR_CONTROL_MASKED);
	uint64_t addr = (uint64_t)e->addr_hi << 32 | e->addr_lo;

	/* Inactive vectors are only reported on a change; active ones on every rewrite. */
	if (!active && !m->active[v])
		return;
	m->active[v] = active;
	if (m->sink.update)
		m->sink.update(m->sink.ctx, v, active, addr, e->data);
}

void msix_set_control(struct msix *m, uint16_t control)
{
	pthread_mutex_lock(&m->lock);
	m->enabled = control & MSIX_CONTROL_ENABLE;
	m->function_masked = control & MSIX_CONTROL_FUNCTION_MASK;
	for (unsigned int v = 0; v < m->vectors; v++)
		msix_update_vector(m, v);
	pthread_mutex_unlock(&m->lock);
}

/* Aligned dword or qword accesses inside the table only (PCI 3.0 §6.8.2). */
static bool msix_access_ok(const struct msix *m, uint64_t offset, unsigned int size)
{
	uint64_t limit = (uint64_t)m->vectors * MSIX_ENTRY_SIZE;

	return (size == 4 || size == 8) && !(offset & (size - 1)) && offset <= limit &&
	       size <= limit - offset;
}

void msix_table_read(struct msix *m, uint64_t offset, uint8_t *data, unsigned int size)
{
	memset(data, 0, size);
	if (!msix_access_ok(m, offset, size))
		return;
	pthread_mutex_lock(&m->lock);
	for (unsigned int i = 0; i < size; i += 4) {
		uint64_t off = offset + i;
		const uint32_t *fields = (const uint32_t *)&m->table[off / MSIX_ENTRY_SIZE];

		le_put(data + i, 4, fields[(off % MSIX_ENTRY_SIZE) / 4]);
	}
	pthread_mutex_unlock(&m->lock);
}

void msix_table_write(struct msix *m, uint64_t offset, const uint8_t *data, unsigned int size)
{
	if (!msix_access_ok(m, offset, size))
		return;
	pthread_mutex_lock(&m->lock);
	for (unsigned int i = 0; i < size; i += 4) {
		uint64_t off = offset + i;
		unsigned int v = (unsigned int)(off / MSIX_ENTRY_SIZE);
		uint32_t *fields = (uint32_t *)&m->table[v];
		unsigned int field = (unsigned int)(off % MSIX_ENTRY_SIZE) / 4;
		uint32_t value = (uint32_t)le_get(data + i, 4);

		/* Only the mask bit of Vector Control is writable. */
		if (field == 3)
			value &= MSIX_VECTOR_CONTROL_MASKED;
		fields[field] = value;
		msix_update_vector(m, v);
	}
	pthread_mutex_unlock(&m->lock);
}

void msix_pba_read(struct msix *m, uint64_t offset, uint8_t *data, unsigned int size)
{
	(void)m;
	(void)offset;
	/* Pending messages wait in the vector's eventfd, not here; Linux never reads the PBA. */
	memset(data, 0, size);
}
