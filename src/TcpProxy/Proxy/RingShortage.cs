using System.Globalization;

namespace TcpProxy.Proxy;

/// <summary>
/// Clients reset because memory for their ring buffers ran out. An episode
/// runs from the first such reset to the next pair whose rings could be
/// allocated: its start is logged once, its end once with the count, so a
/// flood of clients under memory pressure does not flood the log.
/// </summary>
public sealed class RingShortage
{
    private long _resetThisEpisode;
    private long _episodeStartMs;

    /// <summary>Clients reset for want of ring memory since start.</summary>
    public long ClientsReset { get; private set; }

    internal void ClientReset(ProxyContext context, string connection)
    {
        ClientsReset++;
        if (_resetThisEpisode++ > 0)
            return;
        _episodeStartMs = context.Reactor.NowMs;
        context.Log.Info(connection + ": cannot allocate ring buffers (2 x " + context.BufferSize.ToString(CultureInfo.InvariantCulture)
            + " B): out of memory; resetting new clients until memory frees up");
    }

    internal void RingsAllocated(ProxyContext context)
    {
        if (_resetThisEpisode == 0)
            return;
        double seconds = (context.Reactor.NowMs - _episodeStartMs) / 1000.0;
        context.Log.Info("ring buffers allocated again: " + _resetThisEpisode.ToString(CultureInfo.InvariantCulture)
            + " clients reset since the first failure " + seconds.ToString("0.0", CultureInfo.InvariantCulture) + " s ago");
        _resetThisEpisode = 0;
    }
}
