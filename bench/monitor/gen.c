/* Event generator for bench/monitor.sh (built by the script with the host's gcc).
 *   gen open N            open/read/close of /w/shadow, N times: prints ns per iteration. The
 *                         monitor's kernel filter keeps it (its last component is a name the
 *                         stable rules test) and every rule that can see it is evaluated; none
 *                         fires (it is not /etc/shadow): the cost of an event, end to end
 *   gen openf N           open/read/close of /etc/hostname: an open no rule can match, dropped
 *                         by the kernel's filter (the cost of the filter)
 *   gen forkexec N        fork + execve(/bin/true) + waitpid, N times
 *   gen connect N         loopback TCP connect + accept + close, N times
 *   gen rate R SECS [S]   R opens of /w/shadow per second for SECS seconds, S of them per
 *                         second of /etc/shadow (an alert each); paced per millisecond; prints
 *                         the opens done per second */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* an open the kernel's filter keeps and no rule fires on */
#define KEPT "/w/shadow"

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void open_read_close(const char *path) {
  char buf[64];
  int fd = open(path, O_RDONLY);
  if (fd >= 0) {
    if (read(fd, buf, sizeof buf) < 0) perror("read");
    close(fd);
  }
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: gen open|forkexec|connect N | gen rate R SECS [SHADOW]\n");
    return 2;
  }
  long n = atol(argv[2]);
  long long t0 = now_ns();
  if (!strcmp(argv[1], "open")) {
    for (long i = 0; i < n; i++) open_read_close(KEPT);
  } else if (!strcmp(argv[1], "openf")) {
    for (long i = 0; i < n; i++) open_read_close("/etc/hostname");
  } else if (!strcmp(argv[1], "forkexec")) {
    for (long i = 0; i < n; i++) {
      pid_t p = fork();
      if (p == 0) {
        char *a[] = {"true", NULL};
        execv("/bin/true", a);
        _exit(127);
      }
      int st;
      waitpid(p, &st, 0);
    }
  } else if (!strcmp(argv[1], "connect")) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 128) ||
        getsockname(l, (struct sockaddr *)&a, &al)) {
      perror("listen");
      return 1;
    }
    for (long i = 0; i < n; i++) {
      int c = socket(AF_INET, SOCK_STREAM, 0);
      if (connect(c, (struct sockaddr *)&a, sizeof a)) { perror("connect"); return 1; }
      int s = accept(l, NULL, NULL);
      close(s);
      close(c);
    }
  } else if (!strcmp(argv[1], "rate")) {
    double secs = argc > 3 ? atof(argv[3]) : 5;
    long shadow = argc > 4 ? atol(argv[4]) : 0;
    long long end = t0 + (long long)(secs * 1e9), done = 0, shadows = 0;
    for (long tick = 1;; tick++) {
      long long due = t0 + tick * 1000000LL;
      long want = n * tick / 1000, want_s = shadow * tick / 1000;
      while (shadows < want_s) { open_read_close("/etc/shadow"); shadows++; done++; }
      while (done < want) { open_read_close(KEPT); done++; }
      long long t = now_ns();
      if (t >= end) break;
      if (due > t) {
        struct timespec d = {0, due - t};
        nanosleep(&d, NULL);
      }
    }
    printf("%.0f\n", done / ((now_ns() - t0) / 1e9));
    return 0;
  } else {
    fprintf(stderr, "unknown mode %s\n", argv[1]);
    return 2;
  }
  printf("%.1f\n", (double)(now_ns() - t0) / n);
  return 0;
}
