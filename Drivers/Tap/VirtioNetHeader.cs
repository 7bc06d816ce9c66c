using System.Runtime.InteropServices;

namespace UserStack.Drivers.Tap;

/// <summary>
/// struct virtio_net_hdr (virtio spec 5.1.6, include/uapi/linux/virtio_net.h): the 10 bytes a TAP
/// opened with IFF_VNET_HDR puts before every frame, both ways, in the host's byte order (little-endian
/// here). It tells a reader that a frame's checksum is still to be done (NEEDS_CSUM) or already
/// checked (DATA_VALID), and that a frame is one TCP super-segment to be cut into pieces of
/// <see cref="SegmentSize"/> (GSO on read, TSO on write).
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct VirtioNetHeader
{
    public const int Size = 10;
    /// <summary>VIRTIO_NET_HDR_F_NEEDS_CSUM: the transport checksum holds only the pseudo-header sum.</summary>
    public const byte NeedsChecksum = 1;
    /// <summary>VIRTIO_NET_HDR_F_DATA_VALID: the sender checked the checksum.</summary>
    public const byte DataValid = 2;
    public const byte GsoNone = 0;
    public const byte GsoTcpV4 = 1;

    public byte Flags;
    public byte GsoType;
    /// <summary>Ethernet, IP and TCP headers together: what each segment repeats.</summary>
    public ushort HeaderLength;
    /// <summary>Payload bytes per segment (the MSS) when <see cref="GsoType"/> is set.</summary>
    public ushort SegmentSize;
    public ushort ChecksumStart;
    public ushort ChecksumOffset;
}
