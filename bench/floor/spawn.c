/* The spawn floor: spawn DIR... starts DIR/run in each DIR with fork and
 * exec, as a supervisor must, and then sleeps; nothing else. */
#include <unistd.h>

int main(int argc, char **argv)
{
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
