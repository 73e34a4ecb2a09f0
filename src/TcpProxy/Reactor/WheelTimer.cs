using System;

namespace TcpProxy.Reactor;

/// <summary>
/// A timer entry owned by its user (libasync's timecb, without the allocation
/// per call): created once, then armed, re-armed and cancelled any number of
/// times through a <see cref="TimerWheel"/>. It sits on an intrusive list, so
/// every operation is O(1).
/// </summary>
public sealed class WheelTimer
{
    internal const int Unlinked = -1;

    internal WheelTimer? Next;
    internal WheelTimer? Previous;
    internal int List = Unlinked;
    internal long DueTick;

    public WheelTimer(Action callback)
    {
        Callback = callback;
    }

    public Action Callback { get; }

    /// <summary>When the callback runs, in the wheel's milliseconds; meaningful only while armed.</summary>
    public long DeadlineMs { get; internal set; }

    public bool IsArmed => List != Unlinked;
}
