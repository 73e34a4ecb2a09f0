using TcpProxy.Reactor;

namespace TcpProxy.Proxy;

/// <summary>
/// Closes the pipes a pool kept idle and nobody took for a second: their
/// descriptors come back once bulk traffic stops. Armed only while idle
/// pipes exist, so a loop without splice traffic never wakes for it.
/// </summary>
internal sealed class PipeReaper : TimerNode
{
    private const long PipeIdleMs = 1_000;

    private readonly PipePool _pool;
    private readonly Reactor.Reactor _reactor;

    public PipeReaper(PipePool pool, Reactor.Reactor reactor)
    {
        _pool = pool;
        _reactor = reactor;
        pool.Returned = ArmIfIdle;
    }

    private void ArmIfIdle()
    {
        if (!IsArmed && _pool.Idle > 0)
            _reactor.Timers.Arm(this, _reactor.NowMs + PipeIdleMs);
    }

    /// <summary>Its timer's faults go to the loop's unowned-fault report.</summary>
    public override IFaultOwner? Owner => null;

    protected internal override void Fire()
    {
        _pool.CloseUnused();
        ArmIfIdle();
    }
}
