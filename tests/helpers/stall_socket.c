/* A unix socket that accepts connections and never answers: a stand-in for
 * a wedged libvirtd. Prints "ready" once listening; exits after --seconds.
 *
 *   stall_socket PATH [SECONDS] */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_HELD 64

int main(int argc, char **argv)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int held[MAX_HELD], n_held = 0, fd;
	long seconds = argc > 2 ? strtol(argv[2], NULL, 10) : 60;
	time_t deadline;

	if (argc < 2 || strlen(argv[1]) >= sizeof(addr.sun_path) || seconds <= 0 || seconds > 3600) {
		fprintf(stderr, "usage: stall_socket PATH [SECONDS 1-3600]\n");
		return 2;
	}
	strcpy(addr.sun_path, argv[1]);
	unlink(argv[1]);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 16) < 0) {
		perror("stall_socket");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	deadline = time(NULL) + seconds;
	while (time(NULL) < deadline) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		/* Accept and hold: the client's handshake never gets a reply. */
		if (poll(&p, 1, 200) == 1 && n_held < MAX_HELD) {
			int c = accept(fd, NULL, NULL);

			if (c >= 0)
				held[n_held++] = c;
		}
	}
	while (n_held)
		close(held[--n_held]);
	unlink(argv[1]);
	return 0;
}
