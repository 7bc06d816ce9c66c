using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using UserStack.Sockets.Host;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.AspNetCore;

public static class UserStackWebHostExtensions
{
    /// <summary>
    /// Makes Kestrel serve on <paramref name="port"/> of a UserStack host (all its addresses, or
    /// <paramref name="address"/>), beside or instead of kernel sockets: an unchanged ASP.NET Core
    /// app then answers over UserStack's TCP.
    /// <code>builder.WebHost.UseUserStack(scene.Host, 8080);</code>
    /// </summary>
    public static IWebHostBuilder UseUserStack(this IWebHostBuilder builder, StackHost host, ushort port, Ipv4Address? address = null) =>
        builder.UseUserStack(new UserStackEndPoint(host, new Endpoint(address ?? Ipv4Address.Any, port)));

    public static IWebHostBuilder UseUserStack(this IWebHostBuilder builder, UserStackEndPoint endpoint)
    {
        builder.ConfigureServices(services => services.AddUserStackTransport());
        return builder.ConfigureKestrel(options => options.Listen(endpoint));
    }

    /// <summary>Registers the transport (once) beside Kestrel's socket transport; it claims only <see cref="UserStackEndPoint"/>s.</summary>
    public static IServiceCollection AddUserStackTransport(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConnectionListenerFactory, UserStackTransportFactory>());
        return services;
    }
}
