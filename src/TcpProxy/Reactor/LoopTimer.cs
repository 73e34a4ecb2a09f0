using System;

namespace TcpProxy.Reactor;

/// <summary>
/// A timer that runs a callback: the <see cref="TimerNode"/> for everything
/// that is not a timer itself (drains, scrapes, the notifier, the listener's
/// resume, the upgrade's deadline).
/// </summary>
public sealed class LoopTimer : TimerNode
{
    private readonly Action _callback;
    private readonly IFaultOwner? _owner;

    public LoopTimer(Action callback, IFaultOwner? owner = null)
    {
        _callback = callback;
        _owner = owner;
    }

    public override IFaultOwner? Owner => _owner;

    protected internal override void Fire() => _callback();
}
