/*
 * api-raw SOCKET: sends stdin as it is to the Unix socket SOCKET, closes the
 * sending side, and prints the first line of the answer (the status line),
 * or "no answer". For the requests curl will not send (integration.api).
 */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	char buf[65536], answer[4096];
	size_t got = 0;
	ssize_t n;
	int fd;

	if (argc != 2 || strlen(argv[1]) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "usage: api-raw SOCKET < REQUEST\n");
		return 2;
	}
	memcpy(addr.sun_path, argv[1], strlen(argv[1]));
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		perror("api-raw: connect");
		return 1;
	}
	while ((n = read(STDIN_FILENO, buf, sizeof(buf))) > 0)
		if (send(fd, buf, (size_t)n, MSG_NOSIGNAL) != n)
			break; /* the server answered early and closed: read what it said */
	shutdown(fd, SHUT_WR);
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};

		if (poll(&p, 1, 10000) <= 0)
			break;
		n = read(fd, answer + got, sizeof(answer) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		if (memchr(answer, '\n', got) || got == sizeof(answer) - 1)
			break;
	}
	answer[got] = '\0';
	answer[strcspn(answer, "\r\n")] = '\0';
	puts(got ? answer : "no answer");
	return 0;
}
