/* A service's run: if $MARKS names a directory, it creates a file there
 * named for its working directory (the service's), so that the bench sees
 * it running; then it sleeps in pause() until a signal ends it. */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	char cwd[PATH_MAX], mark[PATH_MAX];
	const char *marks = getenv("MARKS");
	if (marks && getcwd(cwd, sizeof cwd)) {
		const char *base = strrchr(cwd, '/');
		snprintf(mark, sizeof mark, "%s/%s", marks, base ? base + 1 : cwd);
		close(open(mark, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
	}
	for (;;)
		pause();
}
