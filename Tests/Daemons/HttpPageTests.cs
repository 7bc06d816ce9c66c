using UserStack.Sockets.Api;
using UserStack.Sockets.Daemons;
using UserStack.Tests.Support;
using UserStack.Transport;

namespace UserStack.Tests.Daemons;

/// <summary>
/// The HTTP daemon's page lists at most <see cref="HttpDaemon.MaxRows"/> connections and the totals by
/// state of all of them: a load test leaves thousands in TIME-WAIT, and every page grew by a row each.
/// </summary>
public class HttpPageTests
{
    [Test]
    public void The_page_shows_the_totals_by_state_and_at_most_a_hundred_rows()
    {
        using var pair = new HostedPair();
        using var listener = UserSocket.Tcp(pair.B);
        listener.Bind(new Endpoint(HostedPair.AddressB, 8000));
        listener.Listen(256);
        var clients = new List<UserSocket>();
        var accepted = new List<UserSocket>();
        try
        {
            for (int i = 0; i < 130; i++)
            {
                var c = UserSocket.Tcp(pair.A);
                c.Connect(new Endpoint(HostedPair.AddressB, 8000));
                clients.Add(c);
                accepted.Add(listener.Accept());
            }
            var page = new HttpDaemon(pair.B, DateTime.UtcNow).Page();

            Assert.That(page, Does.Contain("1 Listen, 130 Established"));
            int rows = page.Split("<tr><td>").Length - 1;
            int counterRows = page[page.IndexOf("<h2>Counters</h2>")..].Split("<tr><td>").Length - 1;
            Assert.That(rows - counterRows, Is.EqualTo(HttpDaemon.MaxRows), "listener and connection rows");
            Assert.That(page, Does.Contain("and 31 more not shown"));
            Assert.That(page, Does.Contain($"<td>{HostedPair.AddressB}:8000</td><td>*</td><td>Listen</td>"), "listeners come first");
        }
        finally
        {
            foreach (var s in clients.Concat(accepted)) s.Dispose();
        }
    }
}
