/*
 * The syscall probe of `cargo xtask bench`'s seccomp step, built at bench time with
 * `cc -O2 -static` and run as a container's command (and once on the host, unfiltered).
 *
 * usage: probe notify|plain WARMUP CALLS
 *
 * It makes mknodat(AT_FDCWD, "/dev/null/lxcrs-bench-fifo", S_IFIFO | 0600, 0) WARMUP times
 * untimed, then CALLS times, each timed alone with CLOCK_MONOTONIC, and prints each timed
 * call's nanoseconds, one per line. /dev/null is no directory, so the real syscall always
 * fails with ENOTDIR and creates nothing: `notify` expects every call to return 0 (the
 * bench's proxy answers success, so 0 proves the answer came from it), `plain` expects
 * ENOTDIR (no filter).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static const char *PATH = "/dev/null/lxcrs-bench-fifo";

/* One raw mknodat: 0 or -errno, never through libc's wrappers. */
static long call(void)
{
	long r = syscall(SYS_mknodat, AT_FDCWD, PATH, S_IFIFO | 0600, 0);
	return r < 0 ? -errno : r;
}

static int check(long got, int notify, long i)
{
	long want = notify ? 0 : -ENOTDIR;
	if (got == want)
		return 0;
	if (notify && got == -ENOSYS)
		fprintf(stderr,
			"probe: call %ld returned ENOSYS: the monitor answered by default, the proxy "
			"did not answer\n",
			i);
	else
		fprintf(stderr, "probe: call %ld returned %ld (%s), expected %ld\n", i, got,
			got < 0 ? strerror((int)-got) : "success", want);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 4 || (strcmp(argv[1], "notify") && strcmp(argv[1], "plain"))) {
		fprintf(stderr, "usage: %s notify|plain WARMUP CALLS\n", argv[0]);
		return 2;
	}
	int notify = !strcmp(argv[1], "notify");
	long warmup = atol(argv[2]), calls = atol(argv[3]);
	if (warmup < 0 || calls <= 0) {
		fprintf(stderr, "probe: bad counts\n");
		return 2;
	}
	long *ns = calloc((size_t)calls, sizeof(long));
	if (!ns) {
		fprintf(stderr, "probe: out of memory\n");
		return 1;
	}
	for (long i = 0; i < warmup; i++)
		if (check(call(), notify, i))
			return 1;
	for (long i = 0; i < calls; i++) {
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		long got = call();
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (check(got, notify, warmup + i))
			return 1;
		ns[i] = (t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec);
	}
	for (long i = 0; i < calls; i++)
		printf("%ld\n", ns[i]);
	return fflush(stdout) ? 1 : 0;
}
