using UserStack.Drivers.Tap;

namespace UserStack.Tools.Scene;

/// <summary>The scene's further links: one TAP each, moved into its namespace and given its host address like the first.</summary>
public sealed partial class TapScene
{
    private readonly List<NetworkNamespace> linkNamespaces = new();

    /// <summary>The interfaces of the further links, in the order given.</summary>
    public IReadOnlyList<NetworkInterface> MoreLinks => Host.Links.Select(l => l.Link).ToList();

    /// <summary>Opens and configures every further link and hands it to the host (before it starts).</summary>
    private void AddLinks()
    {
        foreach (var link in Options.MoreLinks)
        {
            if (link.HostAddress is { } h && h.Address == link.StackAddress.Address)
                throw new ArgumentException($"the host side and the stack cannot both be {h.Address}");
            if (link.Namespace is null && link.HostAddress is not null && !Options.AllowHostNamespace && NetworkNamespace.InInitialNamespace())
                throw new InvalidOperationException("refusing to configure an address in the machine's own network namespace: give the scene a namespace of its own");
            var interfaceOptions = new InterfaceOptions
            {
                Name = link.TapName,
                HardwareAddress = link.Mac ?? Wire.MacAddress.NewLocallyAdministered(Random.Shared),
                Address = link.StackAddress,
                Mtu = link.Mtu,
            };
            interfaceOptions.Validate();
            var device = TapDevice.Open(link.TapName);
            NetworkNamespace? ns = null;
            try
            {
                if (link.Namespace is { } name)
                {
                    ns = NetworkNamespace.OpenOrCreate(name);
                    ns.Adopt(device.Name);
                    ns.Ip("link", "set", device.Name, "mtu", link.Mtu.ToString(), "txqueuelen", TxQueueLength);
                    if (link.HostAddress is { } host) ns.Ip("addr", "add", host.ToString(), "dev", device.Name);
                    ns.Ip("link", "set", device.Name, "up");
                }
                else
                {
                    Shell.Run("ip", "link", "set", device.Name, "mtu", link.Mtu.ToString(), "txqueuelen", TxQueueLength).ThrowIfFailed();
                    if (link.HostAddress is { } host) Shell.Run("ip", "addr", "add", host.ToString(), "dev", device.Name).ThrowIfFailed();
                    Shell.Run("ip", "link", "set", device.Name, "up").ThrowIfFailed();
                }
                Host.AddLink(interfaceOptions, device);
            }
            catch
            {
                device.Dispose();
                if (ns is not null && ns.Name != Namespace?.Name) ns.Dispose();
                throw;
            }
            if (ns is not null && ns.Name != Namespace?.Name && linkNamespaces.All(n => n.Name != ns.Name)) linkNamespaces.Add(ns);
        }
    }

    private void DisposeLinkNamespaces()
    {
        foreach (var ns in linkNamespaces) ns.Dispose(); // deletes only those this scene created
    }
}
