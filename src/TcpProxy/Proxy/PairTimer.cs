using TcpProxy.Reactor;

namespace TcpProxy.Proxy;

/// <summary>A pair's connect/idle timer: an intrusive wheel entry that calls its pair, with no delegate.</summary>
internal sealed class PairTimer : LoopTimer
{
    private readonly ProxyPair _pair;

    public PairTimer(ProxyPair pair)
        : base(owner: pair)
    {
        _pair = pair;
    }

    protected internal override void Fire() => _pair.OnTimer();
}
