using System.CommandLine;
using System.Net;
using UserStack.Drivers;
using UserStack.Drivers.Tap;
using UserStack.Sockets.Http;
using UserStack.Tools.Scene;

namespace UserStack.Tools.Commands;

/// <summary>`ustack fetch`: bring the stack up on a TAP and fetch a URL through it with HttpClient, as curl would.</summary>
public static class FetchCommand
{
    public static Command Create()
    {
        var scene = new SceneArguments();
        var url = new Argument<string>("url") { Description = "http://ADDRESS[:PORT]/PATH (an IPv4 address: the stack has no resolver)" };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "print the status line and headers (to standard error)" };
        var output = new Option<string?>("--output", "-o") { Description = "write the body to this file instead of standard output" };
        var data = new Option<string?>("--data-binary", "-d") { Description = "POST this text, or the contents of FILE with @FILE" };
        var timeout = new Option<double>("--max-time", "-m") { Description = "seconds before giving up", DefaultValueFactory = _ => 30 };
        var failOnError = new Option<bool>("--fail", "-f") { Description = "exit 22 on an HTTP status of 400 or more, as curl -f" };
        var command = new Command("fetch", "Fetch a URL through UserStack (HttpClient over the stack's TCP), like curl") { url, verbose, output, data, timeout, failOnError };
        scene.AddTo(command);
        command.SetAction(async (result, cancel) =>
        {
            SceneOptions options;
            Uri uri;
            try
            {
                options = scene.Read(result);
                if (!Uri.TryCreate(result.GetValue(url), UriKind.Absolute, out uri!) || uri.Scheme != "http")
                    throw new FormatException($"'{result.GetValue(url)}' is not an http:// URL");
                if (uri.HostNameType != UriHostNameType.IPv4) throw new FormatException($"'{uri.Host}' is not an IPv4 address (the stack has no resolver)");
            }
            catch (FormatException e) { Console.Error.WriteLine($"ustack fetch: {e.Message}"); return 2; }
            byte[]? body = null;
            if (result.GetValue(data) is { } d)
            {
                try { body = d.StartsWith('@') ? await File.ReadAllBytesAsync(d[1..], cancel) : System.Text.Encoding.UTF8.GetBytes(d); }
                catch (IOException e) { Console.Error.WriteLine($"ustack fetch: {e.Message}"); return 2; }
            }
            return await Run(options, uri, body, result.GetValue(output), result.GetValue(verbose), result.GetValue(failOnError), TimeSpan.FromSeconds(result.GetValue(timeout)), cancel);
        });
        return command;
    }

    /// <summary>0 on a response (22 with fail for 400 and more), 7 when the connection failed, 28 on a timeout (curl's codes), 2 for set-up errors.</summary>
    public static async Task<int> Run(SceneOptions options, Uri url, byte[]? body, string? outputPath, bool verbose, bool failOnError, TimeSpan timeout, CancellationToken cancel)
    {
        if (!TapScene.IsAvailable(options, out var reason)) { Console.Error.WriteLine($"ustack fetch: {reason}"); return 2; }
        TapScene scene;
        try { scene = TapScene.Start(options); }
        catch (Exception e) when (e is DeviceUnavailableException or ArgumentException or InvalidOperationException)
        {
            Console.Error.WriteLine($"ustack fetch: {e.Message}");
            return 2;
        }
        using (scene)
        {
            using var client = UserStackHttp.CreateClient(scene.Host, timeout);
            using var request = new HttpRequestMessage(body is null ? HttpMethod.Get : HttpMethod.Post, url);
            request.Headers.UserAgent.ParseAdd("ustack-fetch/1");
            if (body is not null) request.Content = new ByteArrayContent(body) { Headers = { ContentType = new("application/octet-stream") } };
            try
            {
                using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel);
                if (verbose)
                {
                    Console.Error.WriteLine($"< HTTP/{response.Version} {(int)response.StatusCode} {response.ReasonPhrase}");
                    foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
                        Console.Error.WriteLine($"< {name}: {string.Join(", ", values)}");
                    Console.Error.WriteLine("<");
                }
                if (failOnError && (int)response.StatusCode >= 400)
                {
                    Console.Error.WriteLine($"ustack fetch: the server answered {(int)response.StatusCode} {response.ReasonPhrase}");
                    return 22;
                }
                await using var target = outputPath is null ? Console.OpenStandardOutput() : File.Create(outputPath);
                await (await response.Content.ReadAsStreamAsync(cancel)).CopyToAsync(target, cancel);
                return 0;
            }
            catch (TaskCanceledException) when (!cancel.IsCancellationRequested)
            {
                Console.Error.WriteLine($"ustack fetch: no answer within {timeout.TotalSeconds:0} s");
                return 28;
            }
            catch (HttpRequestException e)
            {
                Console.Error.WriteLine($"ustack fetch: {e.Message}{(e.InnerException is { } inner ? $" ({inner.Message})" : "")}");
                return 7;
            }
        }
    }
}
