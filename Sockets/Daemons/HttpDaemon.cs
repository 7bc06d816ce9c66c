using System.Buffers;
using System.Net;
using System.Text;
using UserStack.Sockets.Api;
using UserStack.Sockets.Host;

namespace UserStack.Sockets.Daemons;

/// <summary>
/// A small HTTP/1.1 server (RFC 9112): GET and HEAD, keep-alive, Content-Length. "/" is a page
/// about the stack: its address, uptime, counters and live connection table.
/// </summary>
public sealed class HttpDaemon(StackHost host, DateTime startedAt)
{
    private const int MaxHeaderBytes = 16 * 1024;

    public async Task Serve(UserSocket connection, CancellationToken cancel)
    {
        // The buffer comes from the pool once the first request is readable and goes back at the end:
        // an idle connection holds none, a closed one leaves no 16 KiB of garbage behind.
        await connection.WaitReadableAsync(cancel);
        var buffer = ArrayPool<byte>.Shared.Rent(MaxHeaderBytes + 1);
        try { await Serve(connection, buffer, cancel); }
        finally { ArrayPool<byte>.Shared.Return(buffer); }
    }

    private async Task Serve(UserSocket connection, byte[] buffer, CancellationToken cancel)
    {
        int filled = 0;
        while (true)
        {
            // Read until the end of the header block (CRLF CRLF).
            int end;
            while ((end = IndexOfHeaderEnd(buffer.AsSpan(0, filled))) < 0)
            {
                if (filled >= MaxHeaderBytes) { await Respond(connection, 431, "Request Header Fields Too Large", "text/plain", "headers too large\n", false, true, cancel); return; }
                int n = await connection.ReceiveAsync(buffer.AsMemory(filled, MaxHeaderBytes - filled), cancel);
                if (n == 0) return; // the client closed
                filled += n;
            }
            var head = Encoding.ASCII.GetString(buffer, 0, end);
            int consumed = end + 4;
            var lines = head.Split("\r\n");
            var request = lines[0].Split(' ');
            if (request.Length != 3 || !request[2].StartsWith("HTTP/1.", StringComparison.Ordinal))
            {
                await Respond(connection, 400, "Bad Request", "text/plain", "bad request line\n", false, true, cancel);
                return;
            }
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var line in lines.Skip(1))
            {
                int colon = line.IndexOf(':');
                if (colon <= 0) { await Respond(connection, 400, "Bad Request", "text/plain", "bad header\n", false, true, cancel); return; }
                headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
            }
            string connectionHeader = headers.GetValueOrDefault("Connection", "");
            bool keepAlive = request[2] == "HTTP/1.1"
                ? !connectionHeader.Contains("close", StringComparison.OrdinalIgnoreCase)
                : connectionHeader.Contains("keep-alive", StringComparison.OrdinalIgnoreCase);

            // A request body is read and ignored (only its length matters here).
            long bodyLength = headers.TryGetValue("Content-Length", out var cl) && long.TryParse(cl, out var l) && l >= 0 ? l : 0;
            int bodyInBuffer = (int)Math.Min(bodyLength, filled - consumed);
            consumed += bodyInBuffer;
            for (long rest = bodyLength - bodyInBuffer; rest > 0;)
            {
                int n = await connection.ReceiveAsync(buffer.AsMemory(0, (int)Math.Min(rest, buffer.Length)), cancel);
                if (n == 0) return;
                rest -= n;
            }
            buffer.AsSpan(consumed, filled - consumed).CopyTo(buffer);
            filled -= consumed;

            string method = request[0], path = request[1];
            bool head_ = method == "HEAD";
            if (method is not ("GET" or "HEAD")) await Respond(connection, 405, "Method Not Allowed", "text/plain", "only GET and HEAD\n", head_, !keepAlive, cancel);
            else if (path is "/" or "/index.html") await Respond(connection, 200, "OK", "text/html; charset=utf-8", Page(), head_, !keepAlive, cancel);
            else await Respond(connection, 404, "Not Found", "text/plain", $"no page at {path}\n", head_, !keepAlive, cancel);
            if (!keepAlive) { connection.Shutdown(System.Net.Sockets.SocketShutdown.Send); return; }
        }
    }

    private static int IndexOfHeaderEnd(ReadOnlySpan<byte> data) => data.IndexOf("\r\n\r\n"u8);

    private static async Task Respond(UserSocket connection, int status, string reason, string type, string body, bool headOnly, bool close, CancellationToken cancel)
    {
        var content = Encoding.UTF8.GetBytes(body);
        var head = $"HTTP/1.1 {status} {reason}\r\nServer: UserStack\r\nContent-Type: {type}\r\nContent-Length: {content.Length}\r\n" +
                   $"Date: {DateTime.UtcNow:R}\r\nConnection: {(close ? "close" : "keep-alive")}\r\n\r\n";
        var bytes = Encoding.ASCII.GetBytes(head);
        await connection.SendAsync(headOnly ? bytes : [.. bytes, .. content], cancel);
    }

    /// <summary>Connection rows the page shows at most; the totals by state count them all.</summary>
    public const int MaxRows = 100;

    /// <summary>The page: who we are, how long we have run, what we counted, who is connected.</summary>
    public string Page()
    {
        string address, mac, counters, tcp, udp, totals;
        int hidden;
        lock (host.Gate)
        {
            var s = host.Stack;
            address = s.Options.Address.ToString();
            mac = s.Options.HardwareAddress.ToString();
            counters = string.Concat(s.Counters.NonZero().Select(c => $"<tr><td>{c.Name}</td><td>{c.Value}</td></tr>\n"));
            // Thousands of connections (a load test leaves them in TIME-WAIT) would make every page
            // megabytes: the totals by state, listeners first, then at most MaxRows rows.
            // Connections and SYN-RECEIVED and TIME-WAIT records are counted by state without a list of them all.
            var byState = new SortedDictionary<Tcp.TcpState, int>();
            var rows = new List<(string Local, string Remote, Tcp.TcpState State)>();
            void Add(string local, string remote, Tcp.TcpState state)
            {
                byState[state] = byState.GetValueOrDefault(state) + 1;
                if (rows.Count < MaxRows) rows.Add((local, remote, state));
            }
            foreach (var c in s.Tcp.Table.All) if (c.State == Tcp.TcpState.Listen) Add(c.Local.ToString(), "*", c.State);
            foreach (var c in s.Tcp.Connections) if (c.State != Tcp.TcpState.Listen) Add(c.Local.ToString(), c.Remote?.ToString() ?? "*", c.State);
            foreach (var r in s.Tcp.HalfOpenRecords) Add(r.Local.ToString(), r.Remote.ToString(), r.State);
            foreach (var r in s.Tcp.TimeWaits.All) Add(r.Local.ToString(), r.RemoteEndpoint.ToString(), r.State);
            totals = string.Join(", ", byState.Select(g => $"{g.Value} {g.Key}"));
            hidden = Math.Max(0, byState.Values.Sum() - MaxRows);
            tcp = string.Concat(rows.Select(c => $"<tr><td>{c.Local}</td><td>{c.Remote}</td><td>{c.State}</td></tr>\n"));
            udp = string.Concat(s.Udp.Table.All.Select(u => $"<tr><td>{u.Local}</td><td>{u.Remote?.ToString() ?? "*"}</td><td>{u.QueuedDatagrams} queued</td></tr>\n"));
        }
        var up = DateTime.UtcNow - startedAt;
        return $"""
            <!doctype html>
            <html><head><title>UserStack at {address}</title></head>
            <body>
            <h1>UserStack</h1>
            <p>A user-space TCP/IP stack in C#. This page came to you over its own TCP.</p>
            <p>Address <b>{address}</b>, MAC <b>{mac}</b>, up for <b>{(int)up.TotalHours}h {up.Minutes}m {up.Seconds}s</b>.</p>
            <h2>TCP connections</h2>
            <p>{(totals.Length == 0 ? "none" : totals)}</p>
            <table border="1"><tr><th>local</th><th>remote</th><th>state</th></tr>
            {tcp}</table>{(hidden > 0 ? $"\n<p>and {hidden} more not shown (the first {MaxRows} rows only)</p>" : "")}
            <h2>UDP sockets</h2>
            <table border="1"><tr><th>local</th><th>remote</th><th>queue</th></tr>
            {udp}</table>
            <h2>Counters</h2>
            <table border="1"><tr><th>counter</th><th>value</th></tr>
            {counters}</table>
            </body></html>

            """;
    }
}
