namespace TcpProxy.Reactor;

/// <summary>
/// What a <see cref="TimerWheel"/> files: an intrusive node (libasync's
/// timecb, without the allocation per call), created once, then armed,
/// re-armed and cancelled any number of times in O(1). Either a
/// <see cref="LoopTimer"/> runs a callback, or an object is the timer itself
/// and overrides <see cref="Fire"/> and <see cref="Owner"/>: a pair and its
/// directions carry no timer object, delegate or owner field of their own —
/// every idle pair pays for each field. What it throws goes to its owner, as
/// an fd callback's goes to the fd's.
/// </summary>
public abstract class TimerNode
{
    internal const int Unlinked = -1;

    internal TimerNode? Next;
    internal TimerNode? Previous;
    internal int List = Unlinked;
    internal long DueTick;

    /// <summary>Answers for what <see cref="Fire"/> throws; null: the loop's unowned-fault report.</summary>
    public abstract IFaultOwner? Owner { get; }

    /// <summary>When it fires, in the wheel's milliseconds; meaningful only while armed.</summary>
    public long DeadlineMs { get; internal set; }

    public bool IsArmed => List != Unlinked;

    /// <summary>The deadline passed; the wheel has unlinked the timer already.</summary>
    protected internal abstract void Fire();
}
