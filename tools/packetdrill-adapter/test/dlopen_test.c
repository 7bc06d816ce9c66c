/*
 * Drives the published packetdrill adapter the way packetdrill's --so_filename mode does, without
 * packetdrill: dlopen the shared object, call packetdrill_interface_init, then play the remote
 * host of a TCP handshake through the function table (IP packets in through netdev_send, out
 * through netdev_receive) while making socket calls on the stack: poll, readv, write, writev, close.
 *
 *   gcc -Wall -o dlopen_test dlopen_test.c -ldl && ./dlopen_test path/to/libustack-packetdrill.so
 *
 * Prints one line per step and PASS or FAIL last; exits 0 only when every step passed.
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

/* The function table packetdrill hands to the shared object (packetdrill.h, field order and types). */
struct table {
	void *userdata;
	void (*free)(void *userdata);
	int (*socket)(void *userdata, int domain, int type, int protocol);
	int (*bind)(void *userdata, int fd, const struct sockaddr *addr, socklen_t len);
	int (*listen)(void *userdata, int fd, int backlog);
	int (*accept)(void *userdata, int fd, struct sockaddr *addr, socklen_t *len);
	int (*connect)(void *userdata, int fd, const struct sockaddr *addr, socklen_t len);
	ssize_t (*read)(void *userdata, int fd, void *buf, size_t count);
	ssize_t (*readv)(void *userdata, int fd, const struct iovec *iov, int iovcnt);
	ssize_t (*recv)(void *userdata, int fd, void *buf, size_t len, int flags);
	ssize_t (*recvfrom)(void *userdata, int fd, void *buf, size_t len, int flags,
			    struct sockaddr *from, socklen_t *len_from);
	ssize_t (*recvmsg)(void *userdata, int fd, struct msghdr *msg, int flags);
	ssize_t (*write)(void *userdata, int fd, const void *buf, size_t count);
	ssize_t (*writev)(void *userdata, int fd, const struct iovec *iov, int iovcnt);
	ssize_t (*send)(void *userdata, int fd, const void *buf, size_t len, int flags);
	ssize_t (*sendto)(void *userdata, int fd, const void *buf, size_t len, int flags,
			  const struct sockaddr *to, socklen_t len_to);
	ssize_t (*sendmsg)(void *userdata, int fd, const struct msghdr *msg, int flags);
	int (*fcntl)(void *userdata, int fd, int cmd, ...);
	int (*ioctl)(void *userdata, int fd, unsigned long request, ...);
	int (*close)(void *userdata, int fd);
	int (*shutdown)(void *userdata, int fd, int how);
	int (*getsockopt)(void *userdata, int fd, int level, int name, void *value, socklen_t *len);
	int (*setsockopt)(void *userdata, int fd, int level, int name, const void *value, socklen_t len);
	int (*poll)(void *userdata, struct pollfd *fds, nfds_t nfds, int timeout);
	int (*netdev_send)(void *userdata, const void *buf, size_t count);
	int (*netdev_receive)(void *userdata, void *buf, size_t *count, long long *time_usecs);
	int (*usleep)(void *userdata, useconds_t usec);
	int (*gettimeofday)(void *userdata, struct timeval *tv, struct timezone *tz);
	int (*epoll_create)(void *userdata, int size);
	int (*epoll_ctl)(void *userdata, int epfd, int op, int fd, struct epoll_event *event);
	int (*epoll_wait)(void *userdata, int epfd, struct epoll_event *events, int max, int timeout);
	int (*pipe)(void *userdata, int fds[2]);
	int (*splice)(void *userdata, int fd_in, loff_t *off_in, int fd_out, loff_t *off_out,
		      size_t len, unsigned int flags);
};

typedef void (*init_fn)(const char *flags, struct table *table);

/* The adapter's defaults: the stack is 192.168.0.2, the peer is packetdrill's remote 192.0.2.1. */
#define STACK_IP "192.168.0.2"
#define PEER_IP "192.0.2.1"
#define STACK_PORT 8080
#define PEER_PORT 40000
#define PEER_ISN 1000u

enum { FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10 };

static int failures;

static void check(int ok, const char *what)
{
	printf("%s %s\n", ok ? "ok  " : "FAIL", what);
	if (!ok)
		failures++;
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)(p[n - 1] << 8);
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v >> 16); put16(p + 2, v & 0xffff); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }

/* An IPv4 + TCP segment from the peer to the stack, checksums filled in; returns its length. */
static size_t segment(uint8_t *out, uint32_t seq, uint32_t ack, uint8_t flags,
		      const uint8_t *options, size_t options_len,
		      const uint8_t *payload, size_t payload_len)
{
	size_t tcp_len = 20 + options_len + payload_len, total = 20 + tcp_len;
	uint8_t *ip = out, *tcp = out + 20;
	memset(out, 0, total);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)total);
	put16(ip + 4, 7);		/* identification */
	ip[8] = 64;			/* TTL */
	ip[9] = IPPROTO_TCP;
	inet_pton(AF_INET, PEER_IP, ip + 12);
	inet_pton(AF_INET, STACK_IP, ip + 16);
	put16(ip + 10, fold(sum16(ip, 20, 0)));

	put16(tcp, PEER_PORT);
	put16(tcp + 2, STACK_PORT);
	put32(tcp + 4, seq);
	put32(tcp + 8, ack);
	tcp[12] = (uint8_t)(((20 + options_len) / 4) << 4);
	tcp[13] = flags;
	put16(tcp + 14, 65535);	/* window */
	memcpy(tcp + 20, options, options_len);
	memcpy(tcp + 20 + options_len, payload, payload_len);

	/* RFC 9293 3.1: the checksum covers a pseudo-header of addresses, protocol and length. */
	uint32_t sum = sum16(ip + 12, 8, 0) + IPPROTO_TCP + (uint32_t)tcp_len;
	put16(tcp + 16, fold(sum16(tcp, tcp_len, sum)));
	return total;
}

struct seen {
	uint8_t flags;
	uint32_t seq, ack;
	uint16_t sport, dport;
	size_t payload_len;
	const uint8_t *payload;
	int checksums_ok;
};

/* Takes the next packet the stack sent and reads its TCP header; 0 when none came. */
static int next_packet(struct table *t, uint8_t *buf, size_t size, struct seen *s)
{
	size_t count = size;
	long long at = 0;
	if (t->netdev_receive(t->userdata, buf, &count, &at) != 0 || count < 40)
		return 0;
	if ((buf[0] >> 4) != 4 || buf[9] != IPPROTO_TCP)
		return 0;
	size_t ihl = (size_t)(buf[0] & 0xf) * 4, total = get16(buf + 2);
	if (total > count || total < ihl + 20)
		return 0;
	const uint8_t *tcp = buf + ihl;
	size_t tcp_len = total - ihl, doff = (size_t)(tcp[12] >> 4) * 4;
	s->sport = get16(tcp);
	s->dport = get16(tcp + 2);
	s->seq = get32(tcp + 4);
	s->ack = get32(tcp + 8);
	s->flags = tcp[13];
	s->payload = tcp + doff;
	s->payload_len = tcp_len - doff;
	uint32_t sum = sum16(buf + 12, 8, 0) + IPPROTO_TCP + (uint32_t)tcp_len;
	s->checksums_ok = fold(sum16(buf, ihl, 0)) == 0 && fold(sum16(tcp, tcp_len, sum)) == 0;
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s path/to/libustack-packetdrill.so\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IONBF, 0);

	/* The flags packetdrill's so_testing.c opens the object with. */
	void *handle = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE | RTLD_DEEPBIND);
	if (!handle) {
		printf("FAIL dlopen: %s\n", dlerror());
		return 1;
	}
	init_fn init = (init_fn)dlsym(handle, "packetdrill_interface_init");
	check(init != NULL, "dlsym packetdrill_interface_init");
	if (!init) {
		printf("FAIL\n");
		return 1;
	}
	struct table t;
	memset(&t, 0, sizeof(t));
	init("", &t);
	check(t.socket && t.netdev_receive && t.splice && t.free, "init fills the table");

	uint8_t packet[2048], out[2048];
	struct seen s;
	int one = 1;

	int listener = t.socket(t.userdata, AF_INET, SOCK_STREAM, IPPROTO_TCP);
	check(listener >= 0, "socket()");
	check(t.setsockopt(t.userdata, listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0, "setsockopt(SO_REUSEADDR)");
	/* Option values pass through as the C structs they are. */
	int type = 0;
	socklen_t type_len = sizeof(type);
	check(t.getsockopt(t.userdata, listener, SOL_SOCKET, SO_TYPE, &type, &type_len) == 0 && type == SOCK_STREAM &&
	      type_len == sizeof(int), "getsockopt(SO_TYPE) is SOCK_STREAM");
	struct timeval tv_set = { .tv_sec = 1, .tv_usec = 500000 }, tv_got = { 0, 0 };
	socklen_t tv_len = sizeof(tv_got);
	check(t.setsockopt(t.userdata, listener, SOL_SOCKET, SO_RCVTIMEO, &tv_set, sizeof(tv_set)) == 0 &&
	      t.getsockopt(t.userdata, listener, SOL_SOCKET, SO_RCVTIMEO, &tv_got, &tv_len) == 0 &&
	      tv_len == sizeof(tv_got) && tv_got.tv_sec == 1 && tv_got.tv_usec == 500000, "SO_RCVTIMEO round-trips a struct timeval");
	tv_set.tv_sec = 0;
	tv_set.tv_usec = 0;
	check(t.setsockopt(t.userdata, listener, SOL_SOCKET, SO_RCVTIMEO, &tv_set, sizeof(tv_set)) == 0, "SO_RCVTIMEO back to forever");

	struct sockaddr_in local = { .sin_family = AF_INET, .sin_port = htons(STACK_PORT) };
	inet_pton(AF_INET, STACK_IP, &local.sin_addr);
	check(t.bind(t.userdata, listener, (struct sockaddr *)&local, sizeof(local)) == 0, "bind(192.168.0.2:8080)");
	check(t.listen(t.userdata, listener, 1) == 0, "listen()");

	errno = 0;
	check(t.read(t.userdata, 9999, packet, 10) == -1 && errno == EBADF, "read() on a bad descriptor: -1 and errno EBADF");
	errno = 0;
	check(t.epoll_create(t.userdata, 1) == -1 && errno == ENOSYS, "epoll_create(): -1 and errno ENOSYS");

	struct timeval before, after;
	t.gettimeofday(t.userdata, &before, NULL);
	t.usleep(t.userdata, 5000);
	t.gettimeofday(t.userdata, &after, NULL);
	long long slept = (after.tv_sec - before.tv_sec) * 1000000LL + (after.tv_usec - before.tv_usec);
	check(slept >= 5000 && slept < 5100, "usleep(5000) moves the virtual clock by 5 ms");

	/* The peer's SYN, with an MSS option. */
	const uint8_t mss[] = { 2, 4, 0x05, 0xb4 };
	size_t n = segment(packet, PEER_ISN, 0, SYN, mss, sizeof(mss), NULL, 0);
	check(t.netdev_send(t.userdata, packet, n) == 0, "netdev_send(SYN)");

	int got = next_packet(&t, out, sizeof(out), &s);
	check(got, "netdev_receive() gives a TCP segment");
	check(got && s.flags == (SYN | ACK), "it is a SYN-ACK");
	check(got && s.ack == PEER_ISN + 1, "SYN-ACK acknowledges our ISN + 1");
	check(got && s.sport == STACK_PORT && s.dport == PEER_PORT, "SYN-ACK ports are 8080 -> 40000");
	check(got && s.checksums_ok, "SYN-ACK IP and TCP checksums are valid");
	uint32_t stack_isn = s.seq;

	n = segment(packet, PEER_ISN + 1, stack_isn + 1, ACK, NULL, 0, NULL, 0);
	check(t.netdev_send(t.userdata, packet, n) == 0, "netdev_send(ACK)");

	struct sockaddr_in peer;
	socklen_t peer_len = sizeof(peer);
	memset(&peer, 0, sizeof(peer));
	int conn = t.accept(t.userdata, listener, (struct sockaddr *)&peer, &peer_len);
	check(conn >= 0, "accept() returns a descriptor");
	char peer_text[INET_ADDRSTRLEN] = "";
	inet_ntop(AF_INET, &peer.sin_addr, peer_text, sizeof(peer_text));
	check(peer_len == sizeof(peer) && peer.sin_family == AF_INET && ntohs(peer.sin_port) == PEER_PORT &&
	      strcmp(peer_text, PEER_IP) == 0, "accept() reports the peer 192.0.2.1:40000");

	/* poll() through the table: the new connection is writable, not readable; a number that is
	 * not a socket is POLLNVAL; a negative one is skipped. Timeout 0: nothing here moves the
	 * virtual clock while poll would wait. */
	struct pollfd pfds[3] = {
		{ .fd = conn, .events = POLLIN | POLLOUT },
		{ .fd = 9999, .events = POLLIN },
		{ .fd = -1, .events = POLLIN },
	};
	int ready = t.poll(t.userdata, pfds, 3, 0);
	check(ready == 2 && pfds[0].revents == POLLOUT && pfds[1].revents == POLLNVAL && pfds[2].revents == 0,
	      "poll(): connection POLLOUT only, bad descriptor POLLNVAL, fd -1 skipped");

	/* The peer sends 12 bytes; poll() sees them, readv() scatters them over two iovecs. */
	const char hello[] = "hello, stack";
	n = segment(packet, PEER_ISN + 1, stack_isn + 1, ACK | PSH, NULL, 0, (const uint8_t *)hello, 12);
	check(t.netdev_send(t.userdata, packet, n) == 0, "netdev_send(12 bytes of data)");
	struct pollfd pin = { .fd = conn, .events = POLLIN };
	check(t.poll(t.userdata, &pin, 1, 1000) == 1 && (pin.revents & POLLIN), "poll(POLLIN) reports the data");
	char part1[5], part2[20];
	memset(part2, 0, sizeof(part2));
	struct iovec rv[2] = { { part1, sizeof(part1) }, { part2, sizeof(part2) } };
	check(t.readv(t.userdata, conn, rv, 2) == 12, "readv() over 5 + 20 bytes returns 12");
	check(memcmp(part1, "hello", 5) == 0 && memcmp(part2, ", stack", 7) == 0, "readv() filled the first iovec, then the second");
	got = next_packet(&t, out, sizeof(out), &s);
	check(got && s.flags == ACK && s.ack == PEER_ISN + 13 && s.payload_len == 0, "the stack acknowledges the 12 bytes");
	pin.revents = 0;
	check(t.poll(t.userdata, &pin, 1, 0) == 0 && pin.revents == 0, "poll(POLLIN) after readv(): nothing left to read");

	uint8_t data[100];
	for (int i = 0; i < 100; i++)
		data[i] = (uint8_t)(i * 7 + 1);
	check(t.write(t.userdata, conn, data, sizeof(data)) == 100, "write() of 100 bytes returns 100");
	got = next_packet(&t, out, sizeof(out), &s);
	check(got && (s.flags & ACK) && !(s.flags & (SYN | FIN | RST)), "a data segment follows");
	check(got && s.seq == stack_isn + 1 && s.ack == PEER_ISN + 13, "its seq is ISN + 1, its ack our ISN + 13");
	check(got && s.payload_len == 100 && memcmp(s.payload, data, 100) == 0, "it carries the 100 bytes written");
	check(got && s.checksums_ok, "data segment checksums are valid");

	/* The peer acknowledges the 100 bytes (so Nagle holds nothing back); writev() gathers two iovecs into one segment. */
	n = segment(packet, PEER_ISN + 13, stack_isn + 101, ACK, NULL, 0, NULL, 0);
	check(t.netdev_send(t.userdata, packet, n) == 0, "netdev_send(ACK of the 100 bytes)");
	char w1[] = "abc", w2[] = "defg";
	struct iovec wv[2] = { { w1, 3 }, { w2, 4 } };
	check(t.writev(t.userdata, conn, wv, 2) == 7, "writev() of 3 + 4 bytes returns 7");
	got = next_packet(&t, out, sizeof(out), &s);
	check(got && s.seq == stack_isn + 101 && s.payload_len == 7 && memcmp(s.payload, "abcdefg", 7) == 0,
	      "writev() sends one segment of the 7 bytes in iovec order");

	check(t.close(t.userdata, conn) == 0, "close() of the connection");
	got = next_packet(&t, out, sizeof(out), &s);
	check(got && (s.flags & FIN) && s.seq == stack_isn + 108, "close() sends a FIN after the data");
	check(t.close(t.userdata, listener) == 0, "close() of the listener");
	errno = 0;
	check(t.close(t.userdata, listener) == -1 && errno == EBADF, "a second close(): -1 and errno EBADF");

	t.free(t.userdata);
	printf("%s\n", failures == 0 ? "PASS" : "FAIL");
	return failures == 0 ? 0 : 1;
}
