using UserStack.Wire;

namespace UserStack.Fuzz;

/// <summary>
/// The byte form of a fuzz input: a <see cref="FuzzConfig"/> then actions, each an opcode byte
/// and fixed-size fields (big-endian). Any byte string decodes: a short input reads zeros.
/// Fixed fields keep AFL's mutations meaningful; the writer is the reader's mirror.
/// </summary>
public static class ActionCodec
{
    public const int MaxActions = 400;
    private const int Kinds = 6;

    public readonly record struct Decoded(FuzzAction Action, int Offset, int Length);

    public static (FuzzConfig Config, List<Decoded> Actions) Read(ReadOnlySpan<byte> input)
    {
        var r = new Reader(input);
        var config = new FuzzConfig(r.U8(), r.U8(), r.U8(), r.U8());
        var actions = new List<Decoded>();
        while (!r.AtEnd && actions.Count < MaxActions)
        {
            int start = r.Position;
            FuzzAction a = (r.U8() % Kinds) switch
            {
                0 => new SegmentAction(r.U8(), (TcpFlags)r.U8(), r.U8(), r.U32(), r.U8(), r.U32(), r.U16(), r.U8(), r.U16(), r.U8(), r.U32(), r.U8(), r.U16(), r.U16(), r.U16(), r.U16()),
                1 => new PeerAction((PeerMove)(r.U8() % 8), r.U8(), r.U16()),
                2 => new TimeAction((TimeStepKind)(r.U8() % 4), r.U32()),
                3 => new CallAction((SocketCall)(r.U8() % 16), r.U8(), r.U32()),
                4 => ReadRaw(ref r),
                _ => new FlipAction(r.U16(), r.U8() % 2 == 1),
            };
            actions.Add(new Decoded(a, start, r.Position - start));
        }
        return (config, actions);
    }

    private static RawAction ReadRaw(ref Reader r)
    {
        byte layer = (byte)(r.U8() % 3);
        int length = r.U8();
        return new RawAction(layer, r.Bytes(length));
    }

    public static byte[] Write(FuzzConfig config, IEnumerable<FuzzAction> actions)
    {
        var w = new List<byte> { config.Flags, config.Mtu, config.SendBuffer, config.ReceiveBuffer };
        foreach (var a in actions) Write(w, a);
        return w.ToArray();
    }

    public static void Write(List<byte> w, FuzzAction action)
    {
        switch (action)
        {
            case SegmentAction s:
                w.Add(0); w.Add(s.Conversation); w.Add((byte)s.Flags); w.Add(s.SeqMode); U32(w, s.SeqDelta); w.Add(s.AckMode); U32(w, s.AckDelta);
                U16(w, s.Window); w.Add(s.OptionMask); U16(w, s.Mss); w.Add(s.WindowScale); U32(w, s.TsDelta);
                w.Add(s.SackCount); U16(w, s.SackLeft); U16(w, s.SackLength); U16(w, s.PayloadLength); U16(w, s.Urgent);
                break;
            case PeerAction p: w.Add(1); w.Add((byte)p.Move); w.Add(p.Conversation); U16(w, p.Amount); break;
            case TimeAction t: w.Add(2); w.Add((byte)t.Kind); U32(w, t.Amount); break;
            case CallAction c: w.Add(3); w.Add((byte)c.Call); w.Add(c.Socket); U32(w, c.Value); break;
            case RawAction raw: w.Add(4); w.Add(raw.Layer); w.Add((byte)Math.Min(raw.Bytes.Length, 255)); w.AddRange(raw.Bytes.Take(255)); break;
            case FlipAction f: w.Add(5); U16(w, f.Bit); w.Add(f.FixChecksum ? (byte)1 : (byte)0); break;
            default: throw new ArgumentException($"unknown action {action}");
        }
    }

    private static void U16(List<byte> w, ushort v) { w.Add((byte)(v >> 8)); w.Add((byte)v); }
    private static void U32(List<byte> w, uint v) { U16(w, (ushort)(v >> 16)); U16(w, (ushort)v); }

    private ref struct Reader(ReadOnlySpan<byte> bytes)
    {
        private readonly ReadOnlySpan<byte> bytes = bytes;
        public int Position { get; private set; }
        public readonly bool AtEnd => Position >= bytes.Length;

        public byte U8() => Position < bytes.Length ? bytes[Position++] : Skip(1);
        public ushort U16() => (ushort)(U8() << 8 | U8());
        public uint U32() => (uint)U16() << 16 | U16();

        public byte[] Bytes(int n)
        {
            var result = new byte[n];
            for (int i = 0; i < n; i++) result[i] = U8();
            return result;
        }

        private byte Skip(int n) { Position += n; return 0; }
    }
}
