using System;
using TcpProxy.Interop;

namespace TcpProxy.Logging;

/// <summary>
/// The head of one queued line (<see cref="LineStamp"/>), written straight
/// into the log buffer: no string, no allocation per line. The clock is read
/// when the line is queued, under the writer's lock, so the stamps of one
/// stream never go backwards unless the wall clock does.
/// </summary>
internal readonly struct LineHead
{
    /// <summary>"2026-12-02T14:20:01.123Z " — the length of <see cref="UtcTimestamp"/>'s text and a space.</summary>
    public const int TimeLength = UtcTimestamp.Length + 1;

    private readonly LineStamp _stamp;
    private readonly LogPriority _priority;

    public LineHead(LineStamp stamp, LogPriority priority)
    {
        _stamp = stamp;
        _priority = priority;
    }

    /// <summary>Bytes <see cref="WriteTo"/> writes.</summary>
    public int Length => _stamp switch
    {
        LineStamp.UtcTime => TimeLength,
        LineStamp.JournalPriority => 3,
        _ => 0,
    };

    /// <summary>Writes exactly <see cref="Length"/> bytes at the start of destination.</summary>
    public void WriteTo(Span<byte> destination)
    {
        if (_stamp == LineStamp.JournalPriority)
        {
            destination[0] = (byte)'<';
            destination[1] = (byte)('0' + (int)_priority);
            destination[2] = (byte)'>';
        }
        else if (_stamp == LineStamp.UtcTime)
        {
            UtcTimestamp.Format(Now(), destination);
            destination[UtcTimestamp.Length] = (byte)' ';
        }
    }

    private static long Now()
    {
        if (Sys.RealTimeMs(out long milliseconds) == 0)
            return milliseconds;
        // clock_gettime(CLOCK_REALTIME) fails only for a bad argument (EINVAL, EFAULT): the runtime's clock then.
        return (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) / TimeSpan.TicksPerMillisecond;
    }
}
