using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using UserStack.Time;
using UserStack.Transport;
using UserStack.Wire;

namespace UserStack.Tcp;

/// <summary>
/// RFC 6528: ISN = M + F(local, remote, secret), M a 4-microsecond clock and F a keyed hash
/// (SipHash, as Linux's secure_tcp_seq); from the same hash, where the connection's timestamp
/// clock starts (random per 4-tuple, as Linux's secure_tcp_ts_off). A SYN cookie's connection
/// needs that offset again on the third ACK, so it depends on nothing but the 4-tuple and the secret.
/// </summary>
internal sealed class InitialSequenceNumbers
{
    private readonly SipHash hash;

    public InitialSequenceNumbers(byte[] secret) => hash = new SipHash(DeriveKey(secret, "tcp isn"));

    /// <summary>A 16-byte key of its own for one use of the stack's secret.</summary>
    internal static byte[] DeriveKey(byte[] secret, string purpose) =>
        HMACSHA256.HashData(secret, Encoding.ASCII.GetBytes(purpose))[..16];

    public (SeqNumber Iss, uint TimestampOffset) For(Endpoint local, Endpoint remote, Instant now)
    {
        ulong f = hash.Hash(FourTuple.Bytes(local, remote, stackalloc byte[FourTuple.Length]));
        return (new SeqNumber(unchecked((uint)(now.Microseconds / 4) + (uint)f)), (uint)(f >> 32));
    }
}

/// <summary>The 12 bytes of a 4-tuple that keyed hashes take: local address and port, remote address and port.</summary>
internal static class FourTuple
{
    public const int Length = 12;

    public static Span<byte> Bytes(Endpoint local, Endpoint remote, Span<byte> into)
    {
        local.Address.Write(into);
        BinaryPrimitives.WriteUInt16BigEndian(into[4..], local.Port);
        remote.Address.Write(into[6..]);
        BinaryPrimitives.WriteUInt16BigEndian(into[10..], remote.Port);
        return into[..Length];
    }
}
