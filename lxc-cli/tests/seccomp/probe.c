/*
 * The seccomp probe of lxc-cli/tests/seccomp_differential.rs: runs inside a container, makes
 * a fixed list of system calls, each in a child of its own, and prints one line per call:
 *
 *   NAME ok              the call returned (any value but an error)
 *   NAME errno N         the call failed with errno N
 *   NAME trap            the call raised SIGSYS and the child's handler caught it
 *   NAME signal N        the child was killed by signal N
 *   NAME thread-killed   (threaded cases) the calling thread died, the process lived on
 *   NAME exit N          the child could not make the call (a setup step failed)
 *
 * framed by "probe start" and "probe done". Every call is harmless: arguments are invalid or
 * aim at paths below /tmp/scprobe (which the test makes empty before each run and removes
 * after), and any effect stays in the child that made it.
 *
 * Calls go by number through syscall(2) (and `int $0x80` for the i386 ones, `| 0x40000000`
 * for the x32 one): what a seccomp filter sees is exactly what is written here, whatever the
 * C library would have picked. Built with `cc -static -O1 -no-pie -pthread` (the i386 calls
 * pass pointers to static data, which a non-PIE binary keeps below 4 GiB).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/keyctl.h>
#include <sched.h>

#define WORK "/tmp/scprobe"

/* What the child got to; shared with the parent, so that no call is needed to report it. */
struct shared {
	volatile int phase; /* 0 before the call, 1 in it, 2 returned, 3 trapped */
	volatile long ret;
	volatile int err;
};

enum { BEFORE = 0, IN_CALL = 1, RETURNED = 2, TRAPPED = 3 };

/* Exit codes of a child that did not end in its call. */
enum { EXIT_THREAD_GONE = 3, EXIT_SETUP = 4 };

static struct shared *state;

/* Static data for the i386 and x32 calls (their pointers must fit in 32 bits). */
static char path_d32[] = WORK "/d32";
static unsigned int socketcall_args[3] = { AF_UNIX, SOCK_STREAM, 0 };

static long int80(long nr, long a, long b, long c)
{
	long ret;

	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "a"(nr), "b"(a), "c"(b), "d"(c)
			 : "memory", "r8", "r9", "r10", "r11");
	if (ret < 0 && ret >= -4095) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
}

/* The cases: each makes one call and returns what syscall(2) returned. */
static long c_getpid(void) { return syscall(SYS_getpid); }
static long c_uname(void)
{
	static char buf[6 * 65];
	return syscall(SYS_uname, buf);
}
static long c_mkdir(void) { return syscall(SYS_mkdir, WORK "/d", 0700); }
static long c_openat_creat(void)
{
	return syscall(SYS_openat, AT_FDCWD, WORK "/f", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
}
static long c_openat_read(void)
{
	return syscall(SYS_openat, AT_FDCWD, "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
}
static long c_umount2(void) { return syscall(SYS_umount2, WORK "/nomnt", 0); }
static long c_umount2_force(void) { return syscall(SYS_umount2, WORK "/nomnt", MNT_FORCE); }
static long c_umount2_detach(void) { return syscall(SYS_umount2, WORK "/nomnt", MNT_DETACH); }
static long c_umount2_force_detach(void)
{
	return syscall(SYS_umount2, WORK "/nomnt", MNT_FORCE | MNT_DETACH);
}
static long c_mount(void)
{
	return syscall(SYS_mount, "none", WORK "/nomnt", "tmpfs", 0UL, NULL);
}
static long c_socket_unix(void) { return syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0); }
static long c_socket_unix_dgram_cloexec(void)
{
	return syscall(SYS_socket, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}
static long c_socket_inet(void) { return syscall(SYS_socket, AF_INET, SOCK_STREAM, 0); }
static long c_socket_inet_dgram(void) { return syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0); }
static long c_socket_inet6(void) { return syscall(SYS_socket, AF_INET6, SOCK_STREAM, 0); }
static long c_socket_netlink(void)
{
	return syscall(SYS_socket, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0);
}
static long c_personality_query(void) { return syscall(SYS_personality, 0xffffffffUL); }
static long c_personality_linux32(void) { return syscall(SYS_personality, (unsigned long)PER_LINUX32); }
static long c_mknod_fifo(void) { return syscall(SYS_mknod, WORK "/fifo", S_IFIFO | 0600, 0UL); }
static long c_mknod_chr(void)
{
	return syscall(SYS_mknod, WORK "/null", S_IFCHR | 0600, (unsigned long)makedev(1, 3));
}
static long c_chmod(void) { return syscall(SYS_chmod, WORK "/nofile", 0755); }
static long c_chmod_setuid(void) { return syscall(SYS_chmod, WORK "/nofile", 04755); }
/* An unknown keyctl operation: nothing is looked up or made. */
static long c_keyctl(void) { return syscall(SYS_keyctl, 9999L, 0L, 0L, 0L, 0L); }
/* Keyring 0 is no keyring: nothing is added. */
static long c_add_key(void) { return syscall(SYS_add_key, "user", "scprobe", "x", 1UL, 0L); }
/* PTRACE_ATTACH to a pid that cannot exist. */
static long c_ptrace(void) { return syscall(SYS_ptrace, 16L, 0x3ffffff0L, 0L, 0L); }
/* A wrong magic number: reboot(2) refuses before doing anything. */
static long c_reboot(void) { return syscall(SYS_reboot, 0xdeadL, 0L, 0L, NULL); }
/* Too many segments and unknown flags: nothing is loaded or unloaded. */
static long c_kexec_load(void) { return syscall(SYS_kexec_load, 0UL, 1000UL, NULL, 0xdead0000UL); }
static long c_open_by_handle_at(void) { return syscall(SYS_open_by_handle_at, -1L, NULL, 0L); }
static long c_init_module(void) { return syscall(SYS_init_module, NULL, 0UL, ""); }
static long c_finit_module(void) { return syscall(SYS_finit_module, -1L, "", 0L); }
static long c_delete_module(void) { return syscall(SYS_delete_module, "scprobe_none", (long)O_NONBLOCK); }
/* A null time: the clock is never set. */
static long c_clock_settime(void) { return syscall(SYS_clock_settime, (long)CLOCK_REALTIME, NULL); }
static long c_swapoff(void) { return syscall(SYS_swapoff, WORK "/noswap"); }
/* An unknown bpf command. */
static long c_bpf(void) { return syscall(SYS_bpf, 9999L, NULL, 0L); }
static long c_ioctl_tiocsti(void) { return syscall(SYS_ioctl, -1L, (long)TIOCSTI, NULL); }
static long c_kill0(void) { return syscall(SYS_kill, (long)getpid(), 0L); }
static long c_unshare_uts(void) { return syscall(SYS_unshare, (long)CLONE_NEWUTS); }
/* i386 calls (IA32 emulation) and an x32 one. */
static long c_i386_getpid(void) { return int80(20, 0, 0, 0); }
static long c_i386_mkdir(void) { return int80(39, (long)path_d32, 0700, 0); }
static long c_i386_personality(void) { return int80(136, 0xffffffffL, 0, 0); }
static long c_i386_socketcall(void) { return int80(102, 1 /* SYS_SOCKET */, (long)socketcall_args, 0); }
static long c_x32_getpid(void) { return syscall(39 | 0x40000000L); }

struct tcase {
	const char *name;
	long (*call)(void);
	int threaded; /* made from a second thread: a killed thread is told from a killed process */
};

static const struct tcase cases[] = {
	{ "getpid", c_getpid, 0 },
	{ "uname", c_uname, 0 },
	{ "mkdir", c_mkdir, 0 },
	{ "openat_creat", c_openat_creat, 0 },
	{ "openat_read", c_openat_read, 0 },
	{ "umount2", c_umount2, 0 },
	{ "umount2_force", c_umount2_force, 0 },
	{ "umount2_detach", c_umount2_detach, 0 },
	{ "umount2_force_detach", c_umount2_force_detach, 0 },
	{ "mount", c_mount, 0 },
	{ "socket_unix", c_socket_unix, 0 },
	{ "socket_unix_dgram_cloexec", c_socket_unix_dgram_cloexec, 0 },
	{ "socket_inet", c_socket_inet, 0 },
	{ "socket_inet_dgram", c_socket_inet_dgram, 0 },
	{ "socket_inet6", c_socket_inet6, 0 },
	{ "socket_netlink", c_socket_netlink, 0 },
	{ "personality_query", c_personality_query, 0 },
	{ "personality_linux32", c_personality_linux32, 0 },
	{ "mknod_fifo", c_mknod_fifo, 0 },
	{ "mknod_chr", c_mknod_chr, 0 },
	{ "chmod", c_chmod, 0 },
	{ "chmod_setuid", c_chmod_setuid, 0 },
	{ "keyctl", c_keyctl, 0 },
	{ "keyctl_thread", c_keyctl, 1 },
	{ "add_key", c_add_key, 0 },
	{ "ptrace", c_ptrace, 0 },
	{ "ptrace_thread", c_ptrace, 1 },
	{ "reboot", c_reboot, 0 },
	{ "kexec_load", c_kexec_load, 0 },
	{ "open_by_handle_at", c_open_by_handle_at, 0 },
	{ "init_module", c_init_module, 0 },
	{ "finit_module", c_finit_module, 0 },
	{ "delete_module", c_delete_module, 0 },
	{ "clock_settime", c_clock_settime, 0 },
	{ "swapoff", c_swapoff, 0 },
	{ "bpf", c_bpf, 0 },
	{ "ioctl_tiocsti", c_ioctl_tiocsti, 0 },
	{ "kill0", c_kill0, 0 },
	{ "unshare_uts", c_unshare_uts, 0 },
	{ "i386_getpid", c_i386_getpid, 0 },
	{ "i386_mkdir", c_i386_mkdir, 0 },
	{ "i386_personality", c_i386_personality, 0 },
	{ "i386_socketcall", c_i386_socketcall, 0 },
	{ "x32_getpid", c_x32_getpid, 0 },
};

static const struct tcase *current;

static void on_sigsys(int sig, siginfo_t *info, void *uctx)
{
	(void)sig;
	(void)info;
	(void)uctx;
	state->phase = TRAPPED;
	syscall(SYS_exit_group, 0);
}

static void make_call(void)
{
	long ret;

	state->phase = IN_CALL;
	errno = 0;
	ret = current->call();
	state->err = ret == -1 ? errno : 0;
	state->ret = ret;
	state->phase = RETURNED;
}

static void *thread_main(void *arg)
{
	(void)arg;
	make_call();
	return NULL;
}

static void run_child(void)
{
	if (current->threaded) {
		pthread_t t;

		if (pthread_create(&t, NULL, thread_main, NULL) != 0)
			syscall(SYS_exit_group, EXIT_SETUP);
		pthread_join(t, NULL);
		syscall(SYS_exit_group, state->phase == IN_CALL ? EXIT_THREAD_GONE : 0);
	}
	make_call();
	syscall(SYS_exit_group, 0);
}

static void say(const char *line)
{
	size_t off = 0, len = strlen(line);

	while (off < len) {
		ssize_t n = write(STDOUT_FILENO, line + off, len - off);
		if (n <= 0)
			return;
		off += (size_t)n;
	}
}

int main(void)
{
	struct sigaction sa;
	char line[160];
	size_t i;

	state = mmap(NULL, sizeof(*state), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (state == MAP_FAILED) {
		say("probe error mmap\n");
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	if (sigaction(SIGSYS, &sa, NULL) != 0) {
		say("probe error sigaction\n");
		return 1;
	}

	say("probe start\n");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int status = 0;
		pid_t pid;

		current = &cases[i];
		state->phase = BEFORE;
		state->ret = 0;
		state->err = 0;
		pid = fork();
		if (pid < 0) {
			snprintf(line, sizeof(line), "probe error fork %d\n", errno);
			say(line);
			return 1;
		}
		if (pid == 0)
			run_child();
		while (waitpid(pid, &status, 0) < 0) {
			if (errno != EINTR) {
				snprintf(line, sizeof(line), "probe error waitpid %d\n", errno);
				say(line);
				return 1;
			}
		}

		if (state->phase == TRAPPED)
			snprintf(line, sizeof(line), "%s trap\n", current->name);
		else if (state->phase == RETURNED && state->ret == -1)
			snprintf(line, sizeof(line), "%s errno %d\n", current->name, state->err);
		else if (state->phase == RETURNED)
			snprintf(line, sizeof(line), "%s ok\n", current->name);
		else if (WIFSIGNALED(status))
			snprintf(line, sizeof(line), "%s signal %d\n", current->name, WTERMSIG(status));
		else if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_THREAD_GONE)
			snprintf(line, sizeof(line), "%s thread-killed\n", current->name);
		else
			snprintf(line, sizeof(line), "%s exit %d\n", current->name,
				 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		say(line);
	}
	say("probe done\n");
	return 0;
}
