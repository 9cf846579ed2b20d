/* The idle fleets' init (cargo xtask bench, fleet and scale1000): a container's first process
 * that does nothing until told to stop, so that starting and stopping many containers measures
 * the runtime and not a distribution's boot. As a pid namespace's init it gets only the signals
 * it handles: the halt signals of LXC's configs (SIGPWR by default, SIGUSR1 in the busybox
 * template's), SIGTERM and SIGINT end it; `stop -k` kills it. Built static (cc -O2 -static). */
#include <signal.h>
#include <unistd.h>

static void bye(int sig)
{
	(void)sig;
	_exit(0);
}

int main(void)
{
	int sigs[] = { SIGTERM, SIGINT, SIGPWR, SIGUSR1 };
	for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], bye);
	for (;;)
		pause();
}
