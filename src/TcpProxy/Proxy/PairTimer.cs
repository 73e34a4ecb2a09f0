using System;
using TcpProxy.Reactor;

namespace TcpProxy.Proxy;

/// <summary>A pair's connect/idle timer: an intrusive wheel entry that calls its pair, with no delegate.</summary>
internal sealed class PairTimer : WheelTimer
{
    private readonly ProxyPair _pair;

    public PairTimer(ProxyPair pair)
    {
        _pair = pair;
    }

    protected internal override void Fire()
    {
        try
        {
            _pair.OnTimer();
        }
        catch (Exception exception)
        {
            _pair.ReportTimerFault(exception);
        }
    }
}
