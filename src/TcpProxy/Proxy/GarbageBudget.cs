using System;
using TcpProxy.Interop;

namespace TcpProxy.Proxy;

/// <summary>
/// Each finished connection leaves about 1 KB of managed objects behind (its
/// connector, pair, directions, timers and delegates). Left to itself the GC
/// lets tens of MiB of that pile up before its first collection (its gen0
/// budget follows the cache size, ~85 MiB here), so a proxy's RSS would track
/// the connections it has served rather than the ones it holds. Collecting
/// after every <see cref="ClosesPerCollection"/> closes keeps the garbage to a
/// few MiB; the collection runs on the loop between callbacks, where its pause
/// (a few ms for a heap of thousands of live pairs) replaces a longer one.
/// The freed rings' pages go back to the kernel at the same time.
/// </summary>
internal sealed class GarbageBudget
{
    public const int ClosesPerCollection = 2048;

    private int _closesSinceCollection;

    public long Collections { get; private set; }

    public void ConnectionClosed()
    {
        if (++_closesSinceCollection < ClosesPerCollection)
            return;
        _closesSinceCollection = 0;
        Collections++;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        NativeHeap.ReleaseFreePages();
    }
}
