using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using UserStack.Time;
using UserStack.Wire;

namespace UserStack.Ip.Reassembly;

/// <summary>
/// One datagram being reassembled (RFC 791 3.2, RFC 815): its data in a pooled buffer that grows
/// as fragments arrive, the holes still missing, and the header of the first fragment, which
/// becomes the header of the whole datagram.
/// </summary>
public sealed class PartialDatagram
{
    /// <summary>Bytes a datagram in progress costs beyond its buffer (its record and list node).</summary>
    public const int Overhead = 256;
    /// <summary>Bytes each hole descriptor costs.</summary>
    public const int HoleCost = 16;
    /// <summary>Room kept before the data for the header written on completion.</summary>
    private const int DataStart = Ipv4Packet.MaximumHeaderLength;

    private readonly byte[] firstHeader = new byte[Ipv4Packet.MaximumHeaderLength];
    private byte[] buffer = [];
    private int firstHeaderLength;
    private int firstDataLength;

    internal PartialDatagram(FragmentKey key, Instant deadline)
    {
        Key = key;
        Deadline = deadline;
        Node = new LinkedListNode<PartialDatagram>(this);
    }

    /// <summary>Makes a released record a new datagram in progress (the reassembler keeps a few: no allocation per datagram).</summary>
    internal void Reuse(FragmentKey key, Instant deadline)
    {
        Key = key;
        Deadline = deadline;
        Holes.Reset();
        HasLastFragment = false;
        Length = 0;
        Fragments = 0;
        firstHeaderLength = 0;
        firstDataLength = 0;
    }

    public FragmentKey Key { get; private set; }
    /// <summary>RFC 791: the reassembly timer is set by the first fragment to arrive and not restarted (as Linux).</summary>
    public Instant Deadline { get; private set; }
    /// <summary>Its place in the reassembler's oldest-first list, made once with the record.</summary>
    internal LinkedListNode<PartialDatagram> Node { get; }
    public FragmentHoles Holes { get; } = new();
    /// <summary>The fragment with offset 0 arrived (Linux's INET_FRAG_FIRST_IN).</summary>
    public bool HasFirstFragment => firstHeaderLength > 0;
    /// <summary>The fragment with More Fragments clear arrived (Linux's INET_FRAG_LAST_IN): <see cref="Length"/> is final.</summary>
    public bool HasLastFragment { get; private set; }
    /// <summary>The highest end of data seen; the data length once the last fragment arrived.</summary>
    public int Length { get; private set; }
    public int Fragments { get; private set; }
    public bool IsComplete => HasLastFragment && Holes.IsComplete;
    /// <summary>The memory this datagram holds, as counted against the caps.</summary>
    public int Charge => buffer.Length + Overhead + Holes.Count * HoleCost;
    /// <summary>The datagram, once <see cref="Complete"/> wrote its header.</summary>
    public ReadOnlySpan<byte> Datagram => buffer.AsSpan(DataStart - firstHeaderLength, firstHeaderLength + Length);

    /// <summary>The buffer size data up to <paramref name="end"/> needs (what the pool hands out).</summary>
    internal static int BufferSizeFor(int end) => (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(DataStart + end, 64));

    /// <summary>The extra charge that taking data up to <paramref name="end"/> would add (buffer growth and one hole).</summary>
    internal int GrowthFor(int end) => Math.Max(0, BufferSizeFor(end) - buffer.Length) + HoleCost;

    internal void NoteLength(int end, bool last)
    {
        if (last) HasLastFragment = true;
        Length = Math.Max(Length, end);
    }

    /// <summary>Copies a fragment that <see cref="FragmentHoles.Classify"/> found new into place.</summary>
    internal void Add(in Ipv4Packet fragment, int first, int end, bool last)
    {
        if (DataStart + end > buffer.Length)
        {
            var grown = ArrayPool<byte>.Shared.Rent(BufferSizeFor(end));
            buffer.AsSpan().CopyTo(grown);
            if (buffer.Length > 0) ArrayPool<byte>.Shared.Return(buffer);
            buffer = grown;
        }
        fragment.Payload[..(end - first)].CopyTo(buffer.AsSpan(DataStart + first));
        Holes.Fill(first, end, last);
        Fragments++;
        if (first == 0)
        {
            firstHeaderLength = fragment.HeaderLength;
            firstDataLength = end;
            fragment.Bytes[..firstHeaderLength].CopyTo(firstHeader);
        }
    }

    /// <summary>RFC 791 3.2 step "reassembly": the first fragment's header, its length fixed and MF and offset cleared.</summary>
    internal void Complete()
    {
        var header = buffer.AsSpan(DataStart - firstHeaderLength, firstHeaderLength);
        firstHeader.AsSpan(0, firstHeaderLength).CopyTo(header);
        BinaryPrimitives.WriteUInt16BigEndian(header[2..], (ushort)(firstHeaderLength + Length));
        BinaryPrimitives.WriteUInt16BigEndian(header[6..], (ushort)(BinaryPrimitives.ReadUInt16BigEndian(header[6..]) & 0x4000)); // keep DF only
        header[10] = 0;
        header[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(header[10..], InternetChecksum.Compute(header));
    }

    /// <summary>The first fragment as it arrived (for the ICMP time exceeded quote), rented from the pool: return it.</summary>
    internal byte[] RentFirstFragment(out int length)
    {
        length = firstHeaderLength + firstDataLength;
        var copy = ArrayPool<byte>.Shared.Rent(length);
        firstHeader.AsSpan(0, firstHeaderLength).CopyTo(copy);
        buffer.AsSpan(DataStart, firstDataLength).CopyTo(copy.AsSpan(firstHeaderLength));
        return copy;
    }

    internal void Release()
    {
        if (buffer.Length > 0) ArrayPool<byte>.Shared.Return(buffer);
        buffer = [];
    }
}
