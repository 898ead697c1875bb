/*
 * kvm-holder: the smallest real KVM guest, for tests inside a kit guest.
 *
 * Opens /dev/kvm, creates a VM with one vCPU and 64 KiB of memory, runs a few
 * real-mode instructions (they add 2 and 3 and write the sum to I/O port 0x10,
 * then halt), checks what came out, and then keeps the VM open until it is
 * killed. While it lives it holds /dev/kvm and with it a reference on the
 * vendor module (kvm_amd or kvm_intel): `rmmod kvm_amd` fails with EAGAIN.
 *
 *   kvm-holder            run, print one line, hold in the foreground
 *   kvm-holder --daemon   run in a detached child; the parent prints the same
 *                         line plus the child's pid and exits 0 only once the
 *                         child's guest has run (so /dev/kvm is held when the
 *                         command returns), non-zero with the reason otherwise
 *   kvm-holder --once     run and exit (no holding)
 *
 * Output on success: "kvm-holder: guest ran: out 0x10 = 5, hlt; holding /dev/kvm pid=N"
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define GUEST_MEM_SIZE 0x10000
#define GUEST_CODE_ADDR 0x1000
#define RESULT_PORT 0x10
#define EXPECTED_RESULT 5

static char failure[256];

static int fail(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(failure, sizeof failure, fmt, ap);
	va_end(ap);
	n = strlen(failure);
	if (saved && n < sizeof failure - 2)
		snprintf(failure + n, sizeof failure - n, ": %s", strerror(saved));
	return -1;
}

/* Creates the VM and runs the guest code to its hlt. Leaves the fds open. */
static int run_guest(void)
{
	/* mov $2,%al; add $3,%al; out %al,$0x10; hlt */
	static const uint8_t code[] = { 0xb0, 0x02, 0x04, 0x03, 0xe6, RESULT_PORT, 0xf4 };
	struct kvm_userspace_memory_region region;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *run;
	int kvm, vm, vcpu, api, run_size, seen_out = 0;
	uint8_t *mem;

	errno = 0;
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail("open /dev/kvm");
	api = ioctl(kvm, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION)
		return fail("KVM_GET_API_VERSION returned %d, expected %d", api, KVM_API_VERSION);
	vm = ioctl(kvm, KVM_CREATE_VM, 0UL);
	if (vm < 0)
		return fail("KVM_CREATE_VM");
	mem = mmap(NULL, GUEST_MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return fail("mmap guest memory");
	memcpy(mem + GUEST_CODE_ADDR, code, sizeof code);
	memset(&region, 0, sizeof region);
	region.slot = 0;
	region.guest_phys_addr = 0;
	region.memory_size = GUEST_MEM_SIZE;
	region.userspace_addr = (uintptr_t)mem;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return fail("KVM_SET_USER_MEMORY_REGION");
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0UL);
	if (vcpu < 0)
		return fail("KVM_CREATE_VCPU");
	run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < (int)sizeof *run)
		return fail("KVM_GET_VCPU_MMAP_SIZE");
	run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return fail("mmap kvm_run");

	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return fail("KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		return fail("KVM_SET_SREGS");
	memset(&regs, 0, sizeof regs);
	regs.rip = GUEST_CODE_ADDR;
	regs.rflags = 0x2;
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return fail("KVM_SET_REGS");

	for (int i = 0; i < 16; i++) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			return fail("KVM_RUN");
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO: {
			uint8_t value = *((uint8_t *)run + run->io.data_offset);

			errno = 0;
			if (run->io.direction != KVM_EXIT_IO_OUT || run->io.port != RESULT_PORT ||
			    run->io.size != 1)
				return fail("unexpected I/O exit: port 0x%x size %u", run->io.port,
					    run->io.size);
			if (value != EXPECTED_RESULT)
				return fail("guest wrote %u to port 0x%x, expected %u", value, RESULT_PORT,
					    EXPECTED_RESULT);
			seen_out = 1;
			break;
		}
		case KVM_EXIT_HLT:
			errno = 0;
			if (!seen_out)
				return fail("guest halted before writing its result");
			return 0;
		default:
			errno = 0;
			return fail("unexpected exit reason %u", run->exit_reason);
		}
	}
	errno = 0;
	return fail("guest did not halt");
}

static void hold(void)
{
	for (;;)
		pause();
}

static int daemonize(void)
{
	int pipefd[2];
	pid_t pid;
	char buf[sizeof failure + 64];
	ssize_t n;
	int status;

	if (pipe(pipefd) < 0) {
		perror("kvm-holder: pipe");
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		perror("kvm-holder: fork");
		return 1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		close(pipefd[0]);
		setsid();
		if (chdir("/") < 0) { /* cannot fail on / in practice */
		}
		if (run_guest() < 0) {
			dprintf(pipefd[1], "kvm-holder: %s\n", failure);
			_exit(1);
		}
		dprintf(pipefd[1], "kvm-holder: guest ran: out 0x%x = %d, hlt; holding /dev/kvm pid=%d\n",
			RESULT_PORT, EXPECTED_RESULT, (int)getpid());
		close(pipefd[1]);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
			if (null > 2)
				close(null);
		}
		hold();
	}
	close(pipefd[1]);
	n = read(pipefd[0], buf, sizeof buf - 1);
	if (n <= 0) {
		waitpid(pid, &status, 0);
		fprintf(stderr, "kvm-holder: the holding process died before reporting\n");
		return 1;
	}
	buf[n] = '\0';
	if (strncmp(buf, "kvm-holder: guest ran", 21) != 0) {
		waitpid(pid, &status, 0);
		fputs(buf, stderr);
		return 1;
	}
	fputs(buf, stdout);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	if (argc > 2 || (argc == 2 && strcmp(mode, "--daemon") != 0 && strcmp(mode, "--once") != 0)) {
		fprintf(stderr, "usage: kvm-holder [--daemon | --once]\n");
		return 2;
	}
	if (strcmp(mode, "--daemon") == 0)
		return daemonize();
	if (run_guest() < 0) {
		fprintf(stderr, "kvm-holder: %s\n", failure);
		return 1;
	}
	if (strcmp(mode, "--once") == 0) {
		printf("kvm-holder: guest ran: out 0x%x = %d, hlt\n", RESULT_PORT, EXPECTED_RESULT);
		return 0;
	}
	printf("kvm-holder: guest ran: out 0x%x = %d, hlt; holding /dev/kvm pid=%d\n", RESULT_PORT,
	       EXPECTED_RESULT, (int)getpid());
	fflush(stdout);
	hold();
	return 0;
}
