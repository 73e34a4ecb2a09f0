using System;
using System.Threading;

namespace TcpProxy.Proxy;

/// <summary>
/// --max-connections across several reactors: one count of open clients for
/// the whole process, so the limit means what it says however the kernel
/// spreads clients over the loops. A listener reserves a place before each
/// accept (one Interlocked per client, nothing per byte) and gives it back if
/// the accept finds no client; a close gives it back too. When a close brings
/// the count back under the limit, every other loop is told (they may have
/// paused at the limit), through <see cref="RoomFreed"/>.
/// With one reactor this object does not exist: the loop's own list counts.
/// </summary>
public sealed class SharedConnectionLimit
{
    private int _open;

    public SharedConnectionLimit(int limit) => Limit = limit;

    public int Limit { get; }

    /// <summary>Clients open in every loop together, places reserved for an accept in progress included.</summary>
    public int Open => Volatile.Read(ref _open);

    public bool HasRoom => Open < Limit;

    /// <summary>Tells loop i (from any thread) that a place may have freed up; set before the loops start.</summary>
    public Action<int>? RoomFreed { get; set; }

    /// <summary>Number of loops to tell.</summary>
    public int Loops { get; set; }

    /// <summary>Takes a place for the next accept; false at the limit.</summary>
    public bool TryReserve()
    {
        // Compare-and-swap rather than increment-then-undo: the count never
        // overshoots, so every fall from the limit is seen by Release.
        // Bounded in practice: it retries only when another loop changed the count meanwhile.
        while (true)
        {
            int open = Volatile.Read(ref _open);
            if (open >= Limit)
                return false;
            if (Interlocked.CompareExchange(ref _open, open + 1, open) == open)
                return true;
        }
    }

    /// <summary>A reserved place unused (no client was waiting) or a client closed, on loop <paramref name="loop"/>.</summary>
    public void Release(int loop)
    {
        if (Interlocked.Decrement(ref _open) != Limit - 1 || RoomFreed is not Action<int> tell)
            return;
        // From full to one place free: the loops paused at the limit may accept again.
        for (int i = 0; i < Loops; i++)
        {
            if (i != loop)
                tell(i);
        }
    }
}
