/* The memory floor: a static C program that blocks in epoll_wait for ever,
 * as an idle supervisor's event loop does. */
#include <sys/epoll.h>

int main(void)
{
	struct epoll_event ev;
	int fd = epoll_create1(EPOLL_CLOEXEC);
	for (;;)
		epoll_wait(fd, &ev, 1, -1);
}
