/*
 * ping for the unprivileged agent: ICMP echo over an ICMP datagram socket
 * (socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP), allowed by the init's
 * net.ipv4.ping_group_range), where busybox's ping insists on raw sockets
 * and root. Usage: ping [-c COUNT] [-W SECONDS] ADDRESS (IPv4, numeric).
 * Exit status 0 when a reply came back, 1 when none, 2 on bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	int count = 3, wait_s = 2, opt, received = 0;
	struct sockaddr_in dst = {.sin_family = AF_INET};

	while ((opt = getopt(argc, argv, "c:W:w:")) != -1) {
		if (opt == 'c')
			count = atoi(optarg);
		else
			wait_s = atoi(optarg);
	}
	if (optind != argc - 1 || count < 1 || wait_s < 1 ||
	    inet_pton(AF_INET, argv[optind], &dst.sin_addr) != 1) {
		fprintf(stderr, "usage: ping [-c COUNT] [-W SECONDS] IPv4-ADDRESS\n");
		return 2;
	}
	int fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);

	if (fd < 0) {
		fprintf(stderr, "ping: ICMP socket: %s (check net.ipv4.ping_group_range)\n",
			strerror(errno));
		return 2;
	}
	printf("PING %s: 56 data bytes\n", argv[optind]);
	for (int seq = 1; seq <= count; seq++) {
		struct icmphdr req = {.type = ICMP_ECHO};
		unsigned char buf[128];
		double start = now_ms();

		/* The kernel fills in the id and checksum of a datagram ICMP socket. */
		req.un.echo.sequence = htons((unsigned short)seq);
		if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
			fprintf(stderr, "ping: sendto: %s\n", strerror(errno));
			continue;
		}
		for (;;) {
			struct pollfd p = {.fd = fd, .events = POLLIN};
			int left = (int)(wait_s * 1000 - (now_ms() - start));

			if (left <= 0 || poll(&p, 1, left) <= 0)
				break;
			ssize_t n = recv(fd, buf, sizeof(buf), 0);
			struct icmphdr *rep = (struct icmphdr *)buf;

			if (n >= (ssize_t)sizeof(*rep) && rep->type == ICMP_ECHOREPLY &&
			    ntohs(rep->un.echo.sequence) == seq) {
				printf("64 bytes from %s: seq=%d time=%.3f ms\n", argv[optind], seq,
				       now_ms() - start);
				received++;
				break;
			}
		}
		if (seq < count)
			sleep(1);
	}
	printf("%d packets transmitted, %d packets received\n", count, received);
	return received ? 0 : 1;
}
