using System.Buffers.Binary;
using System.Security.Cryptography;
using UserStack.Wire;

namespace UserStack.Transport;

/// <summary>
/// RFC 6056 3.3.3 Algorithm 3, "Simple Hash-Based Port Selection": each (local, remote) pair gets
/// its own secret offset into the range, and one shared counter walks from there, so that ports
/// are hard to guess from outside yet never reused while taken.
/// </summary>
public sealed class EphemeralPortAllocator
{
    private readonly byte[] secret;
    private uint nextEphemeral;

    public EphemeralPortAllocator(ushort first, ushort last, ReadOnlySpan<byte> secretKey)
    {
        if (first == 0 || last < first) throw new ArgumentException($"ephemeral range {first}-{last} is empty or includes port 0");
        First = first;
        Last = last;
        secret = secretKey.ToArray();
    }

    public ushort First { get; }
    public ushort Last { get; }
    public int Count => Last - First + 1;

    /// <summary>The first port of the range that <paramref name="isFree"/> accepts, in this pair's order; false when all are taken.</summary>
    public bool TryAllocate(Ipv4Address local, Endpoint remote, Func<ushort, bool> isFree, out ushort port)
    {
        uint offset = Offset(local, remote);
        for (int tried = 0; tried < Count; tried++)
        {
            port = (ushort)(First + (nextEphemeral + offset) % (uint)Count);
            nextEphemeral++;
            if (isFree(port)) return true;
        }
        port = 0;
        return false;
    }

    // F(local, remote address, remote port, secret key) of RFC 6056 3.3.3: a keyed hash.
    private uint Offset(Ipv4Address local, Endpoint remote)
    {
        Span<byte> input = stackalloc byte[10];
        local.Write(input);
        remote.Address.Write(input[4..]);
        BinaryPrimitives.WriteUInt16BigEndian(input[8..], remote.Port);
        Span<byte> hash = stackalloc byte[32];
        HMACSHA256.HashData(secret, input, hash);
        return BinaryPrimitives.ReadUInt32BigEndian(hash);
    }
}
