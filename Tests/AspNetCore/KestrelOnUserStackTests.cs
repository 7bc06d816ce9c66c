using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using UserStack.AspNetCore;
using UserStack.Sockets.Api;
using UserStack.Sockets.Http;
using UserStack.Tests.Support;
using Endpoint = UserStack.Transport.Endpoint;

namespace UserStack.Tests.AspNetCore;

/// <summary>
/// Kestrel on UserStack (stack B) served to HttpClient on UserStack (stack A), two hosted stacks
/// on an in-memory link: no TAP, no root. Every byte is checked.
/// </summary>
[NonParallelizable]
public class KestrelOnUserStackTests
{
    private const int OneMegabyte = 1 << 20;
    private const ushort Port = 8080;
    private static readonly string BaseUrl = $"http://{HostedPair.AddressB}:{Port}";

    /// <summary>A deterministic body for request <paramref name="n"/> of <paramref name="length"/> bytes.</summary>
    private static byte[] Body(int n, int length)
    {
        var data = new byte[length];
        new Random(n).NextBytes(data);
        return data;
    }

    /// <summary>The test app: /blob/{n}/{length} downloads Body(n, length); /sha256 hashes the upload; the demo routes; connection ids seen.</summary>
    private static async Task<(WebApplication App, ConcurrentDictionary<string, int> Connections)> StartServer(HostedPair pair)
    {
        var connections = new ConcurrentDictionary<string, int>();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.WebHost.UseUserStack(pair.B, Port);
        builder.WebHost.ConfigureKestrel(o => o.Limits.MaxRequestBodySize = 8 * OneMegabyte);
        var app = builder.Build();
        app.Use(async (context, next) =>
        {
            connections.AddOrUpdate(context.Connection.Id, 1, (_, c) => c + 1);
            await next(context);
        });
        app.MapGet("/blob/{n:int}/{length:int}", (int n, int length) => Results.Bytes(Body(n, length), "application/octet-stream"));
        app.MapPost("/sha256", async (HttpContext context) =>
        {
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[65536];
            long total = 0;
            int n;
            while ((n = await context.Request.Body.ReadAsync(buffer, context.RequestAborted)) > 0) { sha.AppendData(buffer, 0, n); total += n; }
            return Results.Text($"{total} {Convert.ToHexString(sha.GetHashAndReset())}");
        });
        WebDemo.Map(app, pair.B);
        await app.StartAsync();
        return (app, connections);
    }

    [Test]
    public async Task One_megabyte_each_way_with_keep_alive_and_the_demo_routes()
    {
        using var pair = new HostedPair();
        var (app, connections) = await StartServer(pair);
        await using var _ = app;
        using var client = UserStackHttp.CreateClient(pair.A, TimeSpan.FromSeconds(60));

        // GET 1 MB, POST 1 MB (hashed by the server), POST 1 MB to the demo echo: three requests, one connection.
        var down = await client.GetByteArrayAsync($"{BaseUrl}/blob/7/{OneMegabyte}");
        Assert.That(down, Is.EqualTo(Body(7, OneMegabyte)), "GET body");

        var up = Body(8, OneMegabyte);
        var hashed = await (await client.PostAsync($"{BaseUrl}/sha256", new ByteArrayContent(up))).EnsureSuccessStatusCode().Content.ReadAsStringAsync();
        Assert.That(hashed, Is.EqualTo($"{OneMegabyte} {Convert.ToHexString(SHA256.HashData(up))}"), "POST body as the server saw it");

        var echo = await client.PostAsync($"{BaseUrl}/api/echo", new ByteArrayContent(up));
        Assert.That(echo.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await echo.Content.ReadAsByteArrayAsync(), Is.EqualTo(up), "echo both ways");

        var page = await client.GetStringAsync($"{BaseUrl}/");
        Assert.That(page, Does.Contain("ASP.NET Core on UserStack").And.Contain(HostedPair.AddressB.ToString()));
        var table = await client.GetStringAsync($"{BaseUrl}/api/connections");
        Assert.That(table, Does.Contain($"\"local\":\"{HostedPair.AddressB}:{Port}\"").And.Contain("\"state\":\"Established\"").And.Contain("\"state\":\"Listen\""));

        Assert.That(connections.Count, Is.EqualTo(1), "keep-alive: every request on the one connection");
        Assert.That(connections.Values.Single(), Is.EqualTo(5));
    }

    [Test]
    public async Task A_hundred_concurrent_requests_each_check_every_byte()
    {
        using var pair = new HostedPair();
        var (app, connections) = await StartServer(pair);
        await using var _ = app;
        using var client = UserStackHttp.CreateClient(pair.A, TimeSpan.FromSeconds(120));
        const int Requests = 100, Length = 64 * 1024;

        var tasks = Enumerable.Range(0, Requests).Select(async i =>
        {
            if (i % 2 == 0)
            {
                var body = await client.GetByteArrayAsync($"{BaseUrl}/blob/{i}/{Length + i}");
                return body.AsSpan().SequenceEqual(Body(i, Length + i));
            }
            var up = Body(i, Length + i);
            var r = await client.PostAsync($"{BaseUrl}/api/echo", new ByteArrayContent(up));
            return r.IsSuccessStatusCode && (await r.Content.ReadAsByteArrayAsync()).AsSpan().SequenceEqual(up);
        }).ToArray();
        var results = await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(120));
        Assert.That(results.Count(ok => ok), Is.EqualTo(Requests));
        Assert.That(connections.Values.Sum(), Is.EqualTo(Requests));

        // Then, sequentially, the pool reuses what it opened: no new connection.
        int before = connections.Count;
        for (int i = 0; i < 10; i++) Assert.That(await client.GetByteArrayAsync($"{BaseUrl}/blob/{i}/100"), Is.EqualTo(Body(i, 100)));
        Assert.That(connections.Count, Is.EqualTo(before), "keep-alive connections are reused");
    }

    [Test]
    public async Task Abort_resets_the_connection_and_dispose_closes_it_with_fin()
    {
        using var pair = new HostedPair();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.WebHost.UseUserStack(pair.B, Port);
        var app = builder.Build();
        app.MapGet("/abort", (HttpContext c) => c.Abort());
        app.MapGet("/close", (HttpContext c) => { c.Response.Headers.Connection = "close"; return "bye"; });
        await app.StartAsync();
        await using var _ = app;

        // A raw UserStack client, so that we see the wire's answer, not HttpClient's.
        async Task<(string Text, Exception? Error)> Exchange(string path)
        {
            using var s = UserSocket.Create(pair.A, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
            await s.ConnectAsync(new Endpoint(HostedPair.AddressB, Port));
            await s.SendAsync(System.Text.Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n"));
            var text = new System.Text.StringBuilder();
            var buffer = new byte[4096];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                int n;
                while ((n = await s.ReceiveAsync(buffer, timeout.Token)) > 0) text.Append(System.Text.Encoding.ASCII.GetString(buffer, 0, n));
                return (text.ToString(), null);
            }
            catch (System.Net.Sockets.SocketException e) { return (text.ToString(), e); }
        }

        var closed = await Exchange("/close");
        Assert.That(closed.Error, Is.Null, "graceful close ends with FIN (0 bytes), not an error");
        Assert.That(closed.Text, Does.StartWith("HTTP/1.1 200").And.Contain("bye").And.EndWith("0\r\n\r\n"));

        var aborted = await Exchange("/abort");
        Assert.That(aborted.Error, Is.InstanceOf<System.Net.Sockets.SocketException>(), $"abort is RST; got '{aborted.Text}'");
        Assert.That(((System.Net.Sockets.SocketException)aborted.Error!).SocketErrorCode, Is.EqualTo(System.Net.Sockets.SocketError.ConnectionReset));
    }
}
