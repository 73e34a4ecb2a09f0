using System;
using System.Text;

namespace TcpProxy.Logging;

/// <summary>
/// The queued bytes of a log writer: one array allocated up front, filled at
/// the end and drained from the front, so a write syscall always sees one
/// contiguous run. When a line does not fit behind the queued bytes but fits
/// in the free space overall, the queued bytes move to the front (rare: only
/// while the destination lags). Lines are UTF-8, each ending in '\n'.
/// </summary>
internal sealed class LineBuffer
{
    private readonly byte[] _bytes;
    private int _start;
    private int _end;

    public LineBuffer(int capacity)
    {
        if (capacity < 1)
            throw new ArgumentOutOfRangeException(nameof(capacity));
        // Pinned: the writer hands its address to write(2) on every flush.
        _bytes = GC.AllocateUninitializedArray<byte>(capacity, pinned: true);
    }

    public int Capacity => _bytes.Length;

    public bool IsEmpty => _start == _end;

    public ReadOnlySpan<byte> Queued => _bytes.AsSpan(_start, _end - _start);

    /// <summary>Where the queued bytes start; stable while <see cref="HeldInPlace"/> (the array is pinned).</summary>
    public IntPtr QueuedAddress => System.Runtime.InteropServices.Marshal.UnsafeAddrOfPinnedArrayElement(_bytes, _start);

    /// <summary>
    /// Set while another thread writes the queued bytes from their place: a
    /// line that would need them moved to the front does not fit meanwhile.
    /// </summary>
    public bool HeldInPlace { get; set; }

    /// <summary>Bytes ever appended and ever consumed: positions in the stream that survive compaction.</summary>
    public long AppendedTotal { get; private set; }

    public long ConsumedTotal { get; private set; }

    /// <summary>
    /// Appends head + prefix + text + '\n'; false, with nothing appended, if
    /// it does not fit. Line breaks inside the text become spaces, so one call
    /// is one line for whoever reads the log. Allocates nothing.
    /// </summary>
    public bool TryAppend(LineHead head, ReadOnlySpan<char> prefix, ReadOnlySpan<char> text)
    {
        int headBytes = head.Length;
        int prefixBytes = Encoding.UTF8.GetByteCount(prefix);
        int textBytes = Encoding.UTF8.GetByteCount(text);
        long needed = (long)headBytes + prefixBytes + textBytes + 1;
        if (needed > _bytes.Length - (_end - _start))
            return false;
        if (needed > _bytes.Length - _end)
        {
            if (HeldInPlace)
                return false;
            Compact();
        }
        head.WriteTo(_bytes.AsSpan(_end, headBytes));
        Span<byte> line = _bytes.AsSpan(_end + headBytes, (int)needed - headBytes);
        int written = Encoding.UTF8.GetBytes(prefix, line);
        written += Encoding.UTF8.GetBytes(text, line[written..]);
        line[..written].Replace((byte)'\n', (byte)' ');
        line[..written].Replace((byte)'\r', (byte)' ');
        line[written] = (byte)'\n';
        _end += (int)needed;
        AppendedTotal += needed;
        return true;
    }

    public void Consume(int count)
    {
        _start += count;
        ConsumedTotal += count;
        if (_start == _end)
            _start = _end = 0;
    }

    /// <summary>Lines queued, a line partly written counting as one.</summary>
    public int QueuedLines => Queued.Count((byte)'\n');

    /// <summary>Drops everything queued; returns how many lines that was (<see cref="QueuedLines"/>).</summary>
    public int DiscardAll()
    {
        int lines = QueuedLines;
        Consume(_end - _start);
        return lines;
    }

    private void Compact()
    {
        int length = _end - _start;
        Buffer.BlockCopy(_bytes, _start, _bytes, 0, length);
        _start = 0;
        _end = length;
    }
}
