namespace UserStack;

/// <summary>Where the core puts each finished outbound frame. It must copy or send before returning.</summary>
public interface IFrameSink
{
    void Transmit(ReadOnlySpan<byte> frame);
}
