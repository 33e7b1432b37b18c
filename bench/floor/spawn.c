/* The spawn floor: spawn DIR... starts DIR/run in each DIR with fork and
 * exec, as a supervisor must, and then sleeps; nothing else. With
 * $SPAWN_FDS set it first opens that many close-on-exec descriptors, as
 * many as a supervisor holding a few a service has: each fork copies them
 * and each exec closes them. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *fds = getenv("SPAWN_FDS");
	for (int n = fds ? atoi(fds) : 0; n > 0; n--)
		open("/dev/null", O_RDONLY | O_CLOEXEC);
	for (int i = 1; i < argc; i++)
		if (fork() == 0) {
			char *run[] = {"./run", 0};
			if (chdir(argv[i]) == 0)
				execv(run[0], run);
			_exit(111);
		}
	for (;;)
		pause();
}
