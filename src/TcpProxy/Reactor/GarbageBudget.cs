using System;

namespace TcpProxy.Reactor;

/// <summary>
/// Bounds the garbage a loop thread leaves between collections. Forwarding
/// allocates nothing, but log lines, access-log lines and metrics scrapes
/// do, and the GC's own first gen0 budget follows the CPU cache (~85 MiB on
/// these machines): left alone, RSS would climb by that much before the first
/// collection. After every <see cref="BudgetBytes"/> allocated on the loop's
/// thread the loop runs a gen0 collection, which with a pooled, mostly idle
/// heap takes well under a millisecond. Checking costs one read of the
/// thread's allocation counter per loop iteration.
/// </summary>
public sealed class GarbageBudget
{
    public const long BudgetBytes = 1 << 20;

    // -1 until the first check: the loop may run on another thread than the one that made it.
    private long _allocatedAtLastCollection = -1;

    // A large array was replaced (the fd table grew): the old one lies in the
    // large-object heap, which only a full collection frees.
    private bool _fullCollectionWanted;

    /// <summary>Collections this budget has run.</summary>
    public long Collections { get; private set; }

    /// <summary>Asks for one full collection at the next check: a table grew and its old copy is garbage a gen0 collection never frees.</summary>
    public void RequestFullCollection() => _fullCollectionWanted = true;

    /// <summary>Called by the loop between iterations, on its own thread.</summary>
    public void Check()
    {
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        if (_allocatedAtLastCollection < 0)
            _allocatedAtLastCollection = allocated;
        if (_fullCollectionWanted)
        {
            // Rare (the fd table doubles a handful of times in a process's life): a few ms, once.
            _fullCollectionWanted = false;
            _allocatedAtLastCollection = allocated;
            Collections++;
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true);
            return;
        }
        if (allocated - _allocatedAtLastCollection < BudgetBytes)
            return;
        _allocatedAtLastCollection = allocated;
        Collections++;
        GC.Collect(0, GCCollectionMode.Forced, blocking: true);
    }
}
