# The host-side client of the conn-memory macro, a process of its own so that its memory is not
# the stack's. "idle N HOST PORT": opens N connections one after another, prints "open K", waits
# for a line on stdin, closes them all. "http N HOST PORT": N times connect, GET / with
# Connection: close, read to the end, close; prints "done K".
import resource, socket, sys

def main():
    mode, n, host, port = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, n + 100)), hard))
    if mode == "idle":
        conns = []
        for _ in range(n):
            s = socket.create_connection((host, port), timeout=5)
            conns.append(s)
        print(f"open {len(conns)}", flush=True)
        sys.stdin.readline()
        for s in conns:
            s.close()
        print("closed", flush=True)
    else:
        request = b"GET / HTTP/1.0\r\nConnection: close\r\n\r\n"
        done = 0
        for _ in range(n):
            with socket.create_connection((host, port), timeout=5) as s:
                s.sendall(request)
                while s.recv(65536):
                    pass
            done += 1
        print(f"done {done}", flush=True)

main()
