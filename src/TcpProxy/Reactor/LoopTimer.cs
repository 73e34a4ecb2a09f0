using System;

namespace TcpProxy.Reactor;

/// <summary>
/// A timer entry owned by its user (libasync's timecb, without the allocation
/// per call): created once, then armed, re-armed and cancelled any number of
/// times through a <see cref="TimerWheel"/>. It sits on an intrusive list, so
/// every operation is O(1). Either it runs a callback, or a subclass is the
/// timer itself and overrides <see cref="Fire"/> (an intrusive node: a
/// pair's timers cost no object and no delegate of their own). What it throws
/// goes to its <see cref="Owner"/>, as an fd callback's goes to the fd's.
/// </summary>
public class LoopTimer
{
    internal const int Unlinked = -1;

    internal LoopTimer? Next;
    internal LoopTimer? Previous;
    internal int List = Unlinked;
    internal long DueTick;
    private readonly Action? _callback;

    public LoopTimer(Action callback, IFaultOwner? owner = null)
    {
        _callback = callback;
        Owner = owner;
    }

    /// <summary>For subclasses that override <see cref="Fire"/>.</summary>
    protected LoopTimer(IFaultOwner? owner)
    {
        Owner = owner;
    }

    /// <summary>Answers for what <see cref="Fire"/> throws; null: the loop's unowned-fault report.</summary>
    public IFaultOwner? Owner { get; }

    /// <summary>When the callback runs, in the wheel's milliseconds; meaningful only while armed.</summary>
    public long DeadlineMs { get; internal set; }

    public bool IsArmed => List != Unlinked;

    /// <summary>The deadline passed; the wheel has unlinked the timer already.</summary>
    protected internal virtual void Fire() => _callback!();
}
