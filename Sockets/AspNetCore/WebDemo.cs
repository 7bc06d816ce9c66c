using System.Text;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using UserStack.Sockets.Host;

namespace UserStack.AspNetCore;

/// <summary>One row of GET /api/connections.</summary>
public sealed record ConnectionInfo(string Local, string? Remote, string State);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(ConnectionInfo[]))]
internal sealed partial class WebDemoJson : JsonSerializerContext;

/// <summary>
/// `ustack up --daemons aspnet`: a minimal API on Kestrel over UserStack. Read-only but for the
/// echo (the demo pages never change the stack): GET / a page, GET /api/connections the TCP
/// table as JSON, POST /api/echo the request body back.
/// </summary>
public static class WebDemo
{
    public const ushort DefaultPort = 8080;

    /// <summary>Builds (not starts) the app on <paramref name="host"/>:<paramref name="port"/>.</summary>
    public static WebApplication Build(StackHost host, ushort port = DefaultPort) => Build(host, web => web.UseUserStack(host, port));

    /// <summary>
    /// The same app on whatever <paramref name="listen"/> configures (the benchmark puts it on a
    /// kernel socket too); <paramref name="host"/> is the stack the pages describe.
    /// </summary>
    public static WebApplication Build(StackHost? host, Action<IWebHostBuilder> listen)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        // The command that embeds the app (ustack up) owns SIGINT/SIGTERM and stops the app itself;
        // the console lifetime would take SIGINT for the web app alone.
        builder.Services.AddSingleton<IHostLifetime, EmbeddedLifetime>();
        listen(builder.WebHost);
        var app = builder.Build();
        Map(app, host);
        return app;
    }

    /// <summary>The routes, on any app (the benchmark maps the same ones on kernel sockets).</summary>
    public static void Map(WebApplication app, StackHost? host)
    {
        app.MapGet("/", (HttpContext context) => Results.Content(Page(host, context), "text/html; charset=utf-8"));
        app.MapGet("/api/connections", () => Results.Json(Connections(host), WebDemoJson.Default.ConnectionInfoArray));
        app.MapPost("/api/echo", async (HttpContext context) =>
        {
            context.Response.ContentType = context.Request.ContentType ?? "application/octet-stream";
            if (context.Request.ContentLength is { } length) context.Response.ContentLength = length;
            await context.Request.Body.CopyToAsync(context.Response.Body, context.RequestAborted);
        });
    }

    public static ConnectionInfo[] Connections(StackHost? host)
    {
        if (host is null) return [];
        lock (host.Gate)
        {
            var tcp = host.Stack.Tcp;
            return tcp.Connections.Concat(tcp.Table.All.Where(c => c.State == Tcp.TcpState.Listen)).Distinct()
                .Select(c => new ConnectionInfo(c.Local.ToString(), c.Remote?.ToString(), c.State.ToString()))
                .Concat(tcp.HalfOpenRecords.Select(r => new ConnectionInfo(r.Local.ToString(), r.Remote.ToString(), r.State.ToString())))
                .Concat(tcp.TimeWaits.All.Select(r => new ConnectionInfo(r.Local.ToString(), r.RemoteEndpoint.ToString(), r.State.ToString())))
                .ToArray();
        }
    }

    private static string Page(StackHost? host, HttpContext context)
    {
        var html = new StringBuilder();
        html.Append("<!doctype html>\n<html><head><title>ASP.NET Core on UserStack</title></head>\n<body>\n");
        html.Append("<h1>ASP.NET Core on UserStack</h1>\n");
        html.Append($"<p>Kestrel served this page over UserStack's own TCP, to {context.Connection.RemoteIpAddress}:{context.Connection.RemotePort} from {context.Connection.LocalIpAddress}:{context.Connection.LocalPort}.</p>\n");
        if (host is not null)
        {
            string address;
            lock (host.Gate) address = host.Stack.Options.Address.ToString();
            html.Append($"<p>Stack address <b>{address}</b>, up for {host.Uptime:hh\\:mm\\:ss}.</p>\n");
        }
        html.Append("<ul><li><a href=\"/api/connections\">GET /api/connections</a>: the TCP table as JSON</li>\n");
        html.Append("<li>POST /api/echo: the body back (<code>curl --data-binary @file http://ADDRESS:8080/api/echo</code>)</li></ul>\n");
        html.Append("</body></html>\n");
        return html.ToString();
    }
}

/// <summary>A host lifetime that neither waits for nor listens to anything: its owner starts and stops the app.</summary>
internal sealed class EmbeddedLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
