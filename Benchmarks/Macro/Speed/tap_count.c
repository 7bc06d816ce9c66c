/*
 * tap_count: the raw TAP ceiling of the speed-table benchmark (Benchmarks/Macro/Speed/TapCeiling.cs).
 * Attaches to a TAP by name (IFF_TAP | IFF_NO_PI; a persistent one made with `ip tuntap add`, or a
 * new one), prints "ready", then reads frames and only counts them until standard input is closed
 * or MAX_SECONDS pass, and prints "<frames> <bytes> <seconds>".
 * Usage: tap_count IFNAME MAX_SECONDS
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 3) { fprintf(stderr, "usage: tap_count IFNAME MAX_SECONDS\n"); return 2; }
    double max_seconds = atof(argv[2]);
    if (max_seconds <= 0 || max_seconds > 120) { fprintf(stderr, "MAX_SECONDS must be in (0, 120]\n"); return 2; }

    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK);
    if (fd < 0) { perror("open /dev/net/tun"); return 1; }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    strncpy(ifr.ifr_name, argv[1], IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) { perror("TUNSETIFF"); return 1; }
    printf("ready\n");
    fflush(stdout);

    static unsigned char frame[65536];
    unsigned long long frames = 0, bytes = 0;
    double start = now_seconds(), deadline = start + max_seconds;
    struct pollfd fds[2] = { { .fd = fd, .events = POLLIN }, { .fd = 0, .events = POLLIN } };
    int done = 0;
    while (!done && now_seconds() < deadline)
    {
        /* Drain everything that is queued before sleeping again. */
        for (;;)
        {
            ssize_t n = read(fd, frame, sizeof frame);
            if (n > 0) { frames++; bytes += (unsigned long long)n; continue; }
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) { perror("read"); done = 1; }
            break;
        }
        if (poll(fds, 2, 100) < 0 && errno != EINTR) { perror("poll"); break; }
        if (fds[1].revents & (POLLIN | POLLHUP))
        {
            char c;
            if (read(0, &c, 1) <= 0) done = 1; /* standard input closed: stop */
        }
    }
    /* What is still queued was written during the flood: count it too. */
    for (;;)
    {
        ssize_t n = read(fd, frame, sizeof frame);
        if (n <= 0) break;
        frames++;
        bytes += (unsigned long long)n;
    }
    printf("%llu %llu %.6f\n", frames, bytes, now_seconds() - start);
    close(fd);
    return 0;
}
