/* A 16550A UART at the COM1 ports: early boot messages out, terminal input in. */
#include "devices/legacy/serial.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* Register offsets and bits (PC16550D datasheet; Linux include/uapi/linux/serial_reg.h). */
#define UART_RBR_THR 0
#define UART_IER     1
#define UART_IIR_FCR 2
#define UART_LCR     3
#define UART_MCR     4
#define UART_LSR     5
#define UART_MSR     6
#define UART_SCR     7

#define IER_RDI	 0x01 /* received data available */
#define IER_THRI 0x02 /* transmitter holding register empty */
#define IER_RLSI 0x04 /* receiver line status */
#define IER_MSI	 0x08 /* modem status */
#define IER_MASK 0x0f

#define IIR_NO_INT	 0x01
#define IIR_MSI		 0x00
#define IIR_THRI	 0x02
#define IIR_RDI		 0x04
#define IIR_FIFO_ENABLED 0xc0

#define FCR_ENABLE_FIFO 0x01
#define FCR_CLEAR_RCVR	0x02

#define LCR_DLAB 0x80

#define MCR_DTR	 0x01
#define MCR_RTS	 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

#define LSR_DR	 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI	0x40
#define MSR_DCD 0x80

/* The line the kernel's panic() prints first; a reset that follows it is a panic. */
static const char serial_panic_banner[] = "Kernel panic - not syncing";

int serial_init(struct serial *s, int out_fd, struct irq_line irq)
{
	int ret;

	memset(s, 0, sizeof(*s));
	s->out_fd = out_fd;
	s->irq = irq;
	s->thre_pending = false;
	s->mcr = MCR_OUT2;
	ret = -pthread_mutex_init(&s->lock, NULL);
	if (ret)
		return ret;
	ret = -pthread_cond_init(&s->rx_space, NULL);
	if (ret) {
		pthread_mutex_destroy(&s->lock);
		return ret;
	}
	return 0;
}

void serial_destroy(struct serial *s)
{
	pthread_cond_destroy(&s->rx_space);
	pthread_mutex_destroy(&s->lock);
}

static uint8_t serial_msr(const struct serial *s)
{
	/* In loopback the modem outputs feed the modem inputs (datasheet, MCR bit 4). */
	if (s->mcr & MCR_LOOP) {
		uint8_t v = 0;

		if (s->mcr & MCR_RTS)
			v |= MSR_CTS;
		if (s->mcr & MCR_DTR)
			v |= MSR_DSR;
		if (s->mcr & MCR_OUT1)
			v |= MSR_RI;
		if (s->mcr & MCR_OUT2)
			v |= MSR_DCD;
		return v | s->msr_delta;
	}
	return MSR_DCD | MSR_DSR | MSR_CTS | s->msr_delta;
}

static uint8_t serial_iir(const struct serial *s)
{
	uint8_t fifo = (s->fcr & FCR_ENABLE_FIFO) ? IIR_FIFO_ENABLED : 0;

	/* Priority order of the 16550: line status, data, THR empty, modem status. */
	if ((s->ier & IER_RDI) && s->rx_count)
		return fifo | IIR_RDI;
	if ((s->ier & IER_THRI) && s->thre_pending)
		return fifo | IIR_THRI;
	if ((s->ier & IER_MSI) && s->msr_delta)
		return fifo | IIR_MSI;
	return fifo | IIR_NO_INT;
}

/* Edge-triggered ISA line (MADT override, flags 0): pulse on each rising edge. */
static void serial_update_irq(struct serial *s)
{
	bool level = !(serial_iir(s) & IIR_NO_INT);

	if (level && !s->irq_level) {
		irq_line_set(&s->irq, 1);
		irq_line_set(&s->irq, 0);
	}
	s->irq_level = level;
}

static void serial_rx_put(struct serial *s, uint8_t byte)
{
	if (s->rx_count == SERIAL_RX_FIFO)
		return; /* overrun: the byte is lost, as on hardware */
	s->rx[(s->rx_head + s->rx_count) % SERIAL_RX_FIFO] = byte;
	s->rx_count++;
}

static uint8_t serial_rx_get(struct serial *s)
{
	if (!s->rx_count)
		return 0;
	uint8_t byte = s->rx[s->rx_head];

	s->rx_head = (s->rx_head + 1) % SERIAL_RX_FIFO;
	s->rx_count--;
	pthread_cond_broadcast(&s->rx_space);
	return byte;
}

static void serial_watch_panic(struct serial *s, uint8_t byte)
{
	/*
	 * Substring match within the current line. The banner's first letter
	 * occurs in it only once, so restarting on a mismatch never skips a
	 * real match.
	 */
	if ((char)byte == serial_panic_banner[s->panic_match]) {
		if (++s->panic_match == sizeof(serial_panic_banner) - 1) {
			s->panic_seen = true;
			s->panic_match = 0;
		}
		return;
	}
	s->panic_match = (char)byte == serial_panic_banner[0] ? 1 : 0;
}

static void serial_transmit(struct serial *s, uint8_t byte)
{
	if (s->mcr & MCR_LOOP) {
		serial_rx_put(s, byte);
		return;
	}
	serial_watch_panic(s, byte);
	if (s->out_fd >= 0) {
		ssize_t n;

		do {
			n = write(s->out_fd, &byte, 1);
		} while (n < 0 && errno == EINTR);
	}
}

static uint8_t serial_read_reg(struct serial *s, uint64_t reg)
{
	uint8_t v;

	switch (reg) {
	case UART_RBR_THR:
		return (s->lcr & LCR_DLAB) ? s->dll : serial_rx_get(s);
	case UART_IER:
		return (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
	case UART_IIR_FCR:
		v = serial_iir(s);
		/* Reading IIR while it reports THR empty acknowledges that interrupt. */
		if ((v & 0x0f) == IIR_THRI)
			s->thre_pending = false;
		return v;
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		return (uint8_t)(LSR_THRE | LSR_TEMT | (s->rx_count ? LSR_DR : 0));
	case UART_MSR:
		v = serial_msr(s);
		s->msr_delta = 0;
		return v;
	default:
		return s->scr;
	}
}

static void serial_write_reg(struct serial *s, uint64_t reg, uint8_t v)
{
	switch (reg) {
	case UART_RBR_THR:
		if (s->lcr & LCR_DLAB) {
			s->dll = v;
			return;
		}
		serial_transmit(s, v);
		/* We transmit at once, so the holding register is empty again. */
		s->thre_pending = true;
		return;
	case UART_IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
			return;
		}
		/* Enabling THRI while THR is empty raises the interrupt at once. */
		if ((v & IER_THRI) && !(s->ier & IER_THRI))
			s->thre_pending = true;
		s->ier = v & IER_MASK;
		return;
	case UART_IIR_FCR:
		s->fcr = v & FCR_ENABLE_FIFO;
		if (v & FCR_CLEAR_RCVR) {
			s->rx_count = 0;
			s->rx_head = 0;
			/* Room again: wake an input thread waiting for it. */
			pthread_cond_broadcast(&s->rx_space);
		}
		return;
	case UART_LCR:
		s->lcr = v;
		return;
	case UART_MCR:
		s->mcr = v & MCR_MASK;
		return;
	case UART_SCR:
		s->scr = v;
		return;
	default:
		return; /* LSR and MSR are read-only */
	}
}

static void serial_io_read(void *opaque, uint64_t offset, uint8_t *data, unsigned int size)
{
	struct serial *s = opaque;

	pthread_mutex_lock(&s->lock);
	memset(data, 0, size);
	data[0] = serial_read_reg(s, offset);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static void serial_io_write(void *opaque, uint64_t offset, const uint8_t *data, unsigned int size)
{
	struct serial *s = opaque;

	(void)size; /* the UART has byte registers; wider writes use the low byte */
	pthread_mutex_lock(&s->lock);
	serial_write_reg(s, offset, data[0]);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

const struct io_ops serial_io_ops = {.read = serial_io_read, .write = serial_io_write};

size_t serial_push_input(struct serial *s, const uint8_t *data, size_t len, bool wait,
			 const atomic_bool *stop)
{
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	while (wait && len && s->rx_count == SERIAL_RX_FIFO && !(stop && *stop))
		pthread_cond_wait(&s->rx_space, &s->lock);
	while (n < len && s->rx_count < SERIAL_RX_FIFO)
		serial_rx_put(s, data[n++]);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}

void serial_wake_input(struct serial *s)
{
	pthread_mutex_lock(&s->lock);
	pthread_cond_broadcast(&s->rx_space);
	pthread_mutex_unlock(&s->lock);
}

bool serial_panic_seen(struct serial *s)
{
	pthread_mutex_lock(&s->lock);
	bool seen = s->panic_seen;

	pthread_mutex_unlock(&s->lock);
	return seen;
}
