// SPDX-License-Identifier: GPL-2.0
/*
 * sockhold - what systemd does for ipsecd.socket and a Type=notify
 * ipsecd.service, for the tests (no systemd there): bind UDP ADDR:500 and
 * ADDR:4500, run COMMAND with them passed the sd_listen_fds(3) way (fds 3
 * and 4, LISTEN_FDS=2, LISTEN_PID), keep them open while COMMAND is not
 * running, and take its sd_notify(3) messages on NOTIFY_SOCKET.
 *
 *   sockhold PIDFILE ADDR COMMAND [ARGS...]
 *
 * PIDFILE holds COMMAND's pid while it runs; PIDFILE.notify gets each
 * notify message (READY=1, STATUS=..., STOPPING=1), one field a line.
 * SIGHUP starts COMMAND again if it has exited (a restart: the test stops
 * it, looks, then starts it); SIGTERM stops COMMAND and then sockhold.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *pidfile;
static char **cmd;
static char notify_path[108];

static int bind_at(int want, uint32_t addr, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = addr };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "sockhold: bind port %u: %s\n", port, strerror(errno));
		exit(1);
	}
	if (fd != want && (dup2(fd, want) < 0 || close(fd))) {
		perror("sockhold: dup2");
		exit(1);
	}
	return want;
}

static pid_t start(const sigset_t *old)
{
	char buf[32];
	FILE *f;
	pid_t pid = fork();

	if (pid < 0) {
		perror("sockhold: fork");
		return -1;
	}
	if (pid == 0) {
		snprintf(buf, sizeof(buf), "%d", getpid());
		setenv("LISTEN_PID", buf, 1);
		setenv("LISTEN_FDS", "2", 1);
		setenv("NOTIFY_SOCKET", notify_path, 1);
		sigprocmask(SIG_SETMASK, old, NULL);
		execvp(cmd[0], cmd);
		fprintf(stderr, "sockhold: %s: %s\n", cmd[0], strerror(errno));
		_exit(127);
	}
	f = fopen(pidfile, "w");
	if (f) {
		fprintf(f, "%d\n", pid);
		fclose(f);
	}
	return pid;
}

/* The notify socket, as systemd's: a datagram socket at a path. */
static int notify_open(void)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		perror("sockhold: notify socket");
		exit(1);
	}
	if (snprintf(notify_path, sizeof(notify_path), "%s.sock", pidfile) >=
	    (int)sizeof(notify_path)) {
		fprintf(stderr, "sockhold: notify socket path too long\n");
		exit(1);
	}
	memcpy(un.sun_path, notify_path, strlen(notify_path) + 1);
	unlink(notify_path);
	if (bind(fd, (struct sockaddr *)&un, sizeof(un))) {
		fprintf(stderr, "sockhold: bind %s: %s\n", notify_path, strerror(errno));
		exit(1);
	}
	return fd;
}

static void notify_read(int fd)
{
	char buf[4096], path[4200];
	ssize_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s.notify", pidfile);
	while ((n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
		buf[n] = 0;
		f = fopen(path, "a");
		if (!f)
			continue;
		fprintf(f, "%s%s", buf, n && buf[n - 1] == '\n' ? "" : "\n");
		fclose(f);
	}
}

int main(int argc, char **argv)
{
	struct in_addr a;
	struct signalfd_siginfo si;
	struct pollfd pf[2];
	sigset_t set, old;
	pid_t child;
	int sig, st;

	if (argc < 4 || inet_pton(AF_INET, argv[2], &a) != 1) {
		fprintf(stderr, "usage: sockhold PIDFILE ADDR COMMAND [ARGS...]\n");
		return 2;
	}
	pidfile = argv[1];
	cmd = argv + 3;
	bind_at(3, a.s_addr, 500);
	bind_at(4, a.s_addr, 4500);

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, &old);
	pf[0] = (struct pollfd){ .fd = signalfd(-1, &set, SFD_CLOEXEC), .events = POLLIN };
	pf[1] = (struct pollfd){ .fd = notify_open(), .events = POLLIN };
	if (pf[0].fd < 0) {
		perror("sockhold: signalfd");
		return 1;
	}
	child = start(&old);
	for (;;) {
		if (poll(pf, 2, -1) < 0 && errno != EINTR)
			return 1;
		if (pf[1].revents & POLLIN)
			notify_read(pf[1].fd);
		if (!(pf[0].revents & POLLIN) ||
		    read(pf[0].fd, &si, sizeof(si)) != sizeof(si))
			continue;
		sig = si.ssi_signo;
		if (sig == SIGCHLD) {
			while (child > 0 && waitpid(child, &st, WNOHANG) == child) {
				fprintf(stderr, "sockhold: pid %d exited, status %d; sockets kept\n",
					child, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
				unlink(pidfile);
				child = 0;
			}
		} else if (sig == SIGHUP) {
			if (child <= 0)
				child = start(&old);
		} else if (sig == SIGTERM || sig == SIGINT) {
			if (child > 0) {
				kill(child, SIGTERM);
				waitpid(child, &st, 0);
				unlink(pidfile);
			}
			notify_read(pf[1].fd);
			unlink(notify_path);
			return 0;
		}
	}
}
