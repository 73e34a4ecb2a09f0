using System;

namespace TcpProxy.Reactor;

/// <summary>
/// A hashed timing wheel (Varghese &amp; Lauck, scheme 6): slot = due tick mod
/// slot count, an unsorted doubly-linked list per slot. Arm and cancel are
/// O(1); a visited slot fires what is due and re-files what is not (timers
/// for a later revolution, or whose deadline was pushed back). Pushing a
/// deadline back — the stall timer does it on every write — only stores the
/// new deadline; the entry is re-filed when its old slot comes round.
/// A timer never fires early and at most one tick late (unless the loop
/// itself comes late: then everything overdue fires at its next advance).
/// </summary>
public sealed class TimerWheel
{
    private readonly int _tickMs;
    private readonly int _mask;
    // Slots 0..n-1, then one list of timers found due and waiting to fire:
    // callbacks may cancel any of them, which must unlink from there too.
    private readonly TimerNode?[] _lists;
    private readonly int _firingList;
    private long _nextTick;
    private readonly Action<TimerNode, Exception>? _onFault;

    /// <summary><paramref name="onFault"/> hears what a timer threw (the wheel goes on firing the others); without it, the exception propagates.</summary>
    public TimerWheel(long nowMs, int tickMs = 10, int slotCount = 1024, Action<TimerNode, Exception>? onFault = null)
    {
        if (tickMs <= 0)
            throw new ArgumentOutOfRangeException(nameof(tickMs));
        if (slotCount <= 0 || (slotCount & (slotCount - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(slotCount), "must be a power of two");
        _tickMs = tickMs;
        _mask = slotCount - 1;
        _lists = new TimerNode?[slotCount + 1];
        _firingList = slotCount;
        _nextTick = nowMs / tickMs;
        _onFault = onFault;
    }

    public int TickMs => _tickMs;

    public int ArmedCount { get; private set; }

    /// <summary>Slots walked by <see cref="Advance"/> since creation: the work it did, for tests.</summary>
    internal long SlotsVisited { get; private set; }

    /// <summary>Arms the timer for deadlineMs, or moves its deadline if it is armed already.</summary>
    public void Arm(TimerNode timer, long deadlineMs)
    {
        long dueTick = Math.Max(CeilingTick(deadlineMs), _nextTick);
        timer.DeadlineMs = deadlineMs;
        if (timer.IsArmed)
        {
            // Later than where it is filed: leave it, it is re-filed when reached.
            if (dueTick >= timer.DueTick && timer.List != _firingList)
                return;
            Unlink(timer);
        }
        timer.DueTick = dueTick;
        Link(timer, (int)(dueTick & _mask));
    }

    public void Cancel(TimerNode timer)
    {
        if (timer.IsArmed)
            Unlink(timer);
    }

    /// <summary>
    /// Fires every timer whose deadline is at or before nowMs, in tick order
    /// (after a jump beyond a rotation: all overdue at once, see CatchUp),
    /// visiting at most one rotation of slots however far nowMs has jumped.
    /// </summary>
    public void Advance(long nowMs)
    {
        long targetTick = nowMs / _tickMs;
        if (ArmedCount == 0)
        {
            _nextTick = Math.Max(_nextTick, targetTick + 1);
            return;
        }
        // More than a rotation behind (the loop slept in epoll_wait(-1) with
        // nothing armed, then an event armed a timer; or the process was
        // stopped): walking every tick of the gap would cost 60 million slot
        // visits for a week. Visiting each slot once finds everything due.
        if (targetTick - _nextTick > _mask)
        {
            CatchUp(targetTick);
            return;
        }
        for (long tick = _nextTick; tick <= targetTick; tick++)
        {
            CollectDue((int)(tick & _mask), tick);
            // Timers armed by the callbacks below land in later ticks, never in this slot.
            _nextTick = tick + 1;
            FireCollected();
        }
    }

    /// <summary>
    /// One rotation from the slot of _nextTick: every timer due by targetTick
    /// is collected, every other one re-filed by its own deadline (those armed
    /// meanwhile included), so none fires early and none waits a rotation.
    /// The overdue ones fire together, in slot order rather than deadline
    /// order: all of them are late by then anyway.
    /// </summary>
    private void CatchUp(long targetTick)
    {
        long first = _nextTick;
        for (long tick = first; tick <= first + _mask; tick++)
            CollectDue((int)(tick & _mask), targetTick);
        _nextTick = targetTick + 1;
        FireCollected();
    }

    /// <summary>How long the loop may sleep before the next slot holding timers is due; -1 if none is armed.</summary>
    public int MillisecondsUntilNextDue(long nowMs, int horizonTicks = 64)
    {
        if (ArmedCount == 0)
            return -1;
        for (long tick = _nextTick; tick < _nextTick + horizonTicks; tick++)
        {
            if (_lists[(int)(tick & _mask)] != null)
                return (int)Math.Max(0, tick * _tickMs - nowMs);
        }
        return (int)Math.Max(0, (_nextTick + horizonTicks) * _tickMs - nowMs);
    }

    private long CeilingTick(long ms) => (ms + _tickMs - 1) / _tickMs;

    private void CollectDue(int slot, long targetTick)
    {
        SlotsVisited++;
        TimerNode? timer = _lists[slot];
        _lists[slot] = null;
        while (timer != null)
        {
            TimerNode? next = timer.Next;
            timer.Next = timer.Previous = null;
            timer.List = TimerNode.Unlinked;
            ArmedCount--;
            long dueTick = Math.Max(CeilingTick(timer.DeadlineMs), timer.DueTick);
            if (dueTick <= targetTick)
            {
                Link(timer, _firingList);
            }
            else
            {
                timer.DueTick = dueTick;
                Link(timer, (int)(dueTick & _mask));
            }
            timer = next;
        }
    }

    private void FireCollected()
    {
        while (_lists[_firingList] is TimerNode timer)
        {
            Unlink(timer);
            if (_onFault is null)
            {
                timer.Fire();
                continue;
            }
            try
            {
                timer.Fire();
            }
            catch (Exception exception)
            {
                // Unlinked before it fired, so the wheel stays sound; the other due timers still fire.
                _onFault(timer, exception);
            }
        }
    }

    private void Link(TimerNode timer, int list)
    {
        TimerNode? head = _lists[list];
        timer.Previous = null;
        timer.Next = head;
        if (head != null)
            head.Previous = timer;
        _lists[list] = timer;
        timer.List = list;
        ArmedCount++;
    }

    private void Unlink(TimerNode timer)
    {
        if (timer.Previous != null)
            timer.Previous.Next = timer.Next;
        else
            _lists[timer.List] = timer.Next;
        if (timer.Next != null)
            timer.Next.Previous = timer.Previous;
        timer.Next = timer.Previous = null;
        timer.List = TimerNode.Unlinked;
        ArmedCount--;
    }
}
