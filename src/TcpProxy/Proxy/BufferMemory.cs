using System;
using System.Globalization;
using TcpProxy.Logging;
using TcpProxy.Reactor;

namespace TcpProxy.Proxy;

/// <summary>
/// Lends ring buffers to directions while they hold data. When the pool has
/// no block to give (the --buffer-memory limit, or out of memory), the
/// direction stops reading and queues here; each block given back goes to
/// the longest-waiting direction first. That is back-pressure, not failure:
/// the bytes wait in the kernel's socket buffers, and a waiting direction
/// holds nothing of its own, so its stall clock does not run. An episode of
/// waiting is logged once when it starts and once when nobody has waited
/// for a second (queues that empty and fill again under load stay one episode).
/// Free blocks that stay unused for a trim interval give their pages back.
/// </summary>
internal sealed unsafe class BufferMemory : TimerNode
{
    // Blocks kept warm beyond those in use, and how often idle ones are trimmed.
    private const int KeepResidentBlocks = 64;
    private const long TrimIntervalMs = 5_000;
    private const long EpisodeQuietMs = 1_000;

    private readonly BufferPool _pool;
    private readonly Reactor.Reactor _reactor;
    private readonly Log _log;
    // Directions waiting for a buffer, served first come first served.
    private readonly IntrusiveList<Direction> _waiting = new();
    private long _waitsThisEpisode;
    private long _episodeStartMs;
    private long _lastWaitMs;
    private readonly LoopTimer _episodeEnd;

    public BufferMemory(int blockSize, long memoryLimit, Reactor.Reactor reactor, Log log)
    {
        _pool = new BufferPool(blockSize, memoryLimit);
        _reactor = reactor;
        _log = log;
        _episodeEnd = new LoopTimer(OnEpisodeQuiet);
    }

    public BufferPool Pool => _pool;

    /// <summary>Times a direction had to wait for a buffer, since start.</summary>
    public long Waits { get; private set; }

    /// <summary>Directions waiting for a buffer now.</summary>
    public int Waiting => _waiting.Count;

    /// <summary>
    /// Attaches a block to the direction's ring, or queues the direction (true: attached).
    /// A queued direction gets <see cref="Direction.BufferGranted"/> later.
    /// </summary>
    public bool TryAttach(Direction direction)
    {
        if (direction.IsWaitingForBuffer)
            return false;
        // Waiting directions go first: a newcomer must not overtake them.
        byte* block = _waiting.First == null ? _pool.TryTake() : null;
        if (block != null)
        {
            direction.Ring.Attach(block);
            return true;
        }
        Enqueue(direction);
        return false;
    }

    /// <summary>Takes the direction's block back and lends it on to the first waiting direction, if any.</summary>
    public void Return(Direction direction, bool discardData)
    {
        byte* block = discardData ? direction.Ring.Clear() : direction.Ring.Detach();
        Direction? next = _waiting.First;
        if (next == null)
        {
            _pool.Return(block);
            if (!IsArmed && _pool.BlocksFreeResident > KeepResidentBlocks)
                _reactor.Timers.Arm(this, _reactor.NowMs + TrimIntervalMs);
            return;
        }
        _waiting.Remove(next);
        next.Ring.Attach(block);
        if (_waiting.First == null)
            AwaitEpisodeEnd();
        // Only marks its source watched again; its read runs later from the loop, not inside this caller.
        next.BufferGranted();
    }

    /// <summary>A closing direction leaves the queue.</summary>
    public void Forget(Direction direction)
    {
        if (!direction.IsWaitingForBuffer)
            return;
        _waiting.Remove(direction);
        if (_waiting.First == null)
            AwaitEpisodeEnd();
    }

    private void Enqueue(Direction direction)
    {
        _waiting.AddLast(direction);
        Waits++;
        _lastWaitMs = _reactor.NowMs;
        if (_waitsThisEpisode++ > 0)
            return;
        _episodeStartMs = _reactor.NowMs;
        string why = _pool.LimitReached
            ? "the --buffer-memory limit (" + _pool.MemoryLimit.ToString(CultureInfo.InvariantCulture) + " B) is reached"
            : "out of memory for ring buffers";
        _log.Warning(why + ": " + _pool.BlocksInUse.ToString(CultureInfo.InvariantCulture) + " buffers of "
            + _pool.BlockSize.ToString(CultureInfo.InvariantCulture) + " B in use; directions that need one stop reading until one frees up");
    }

    private void AwaitEpisodeEnd() => _reactor.Timers.Arm(_episodeEnd, _reactor.NowMs + EpisodeQuietMs);

    private void OnEpisodeQuiet()
    {
        if (_waitsThisEpisode == 0)
            return;
        if (_waiting.First != null)
            return; // waiting again: the queue emptying re-arms this
        if (_reactor.NowMs - _lastWaitMs < EpisodeQuietMs)
        {
            _reactor.Timers.Arm(_episodeEnd, _lastWaitMs + EpisodeQuietMs);
            return;
        }
        double seconds = (_reactor.NowMs - _episodeStartMs) / 1000.0;
        _log.Info("buffers free again: " + _waitsThisEpisode.ToString(CultureInfo.InvariantCulture) + " waits for a buffer in the last "
            + seconds.ToString("0.0", CultureInfo.InvariantCulture) + " s");
        _waitsThisEpisode = 0;
    }

    /// <summary>Its timer's faults go to the loop's unowned-fault report.</summary>
    public override IFaultOwner? Owner => null;

    // The trim timer: pages of blocks idle for a whole interval go back to the kernel.
    protected internal override void Fire()
    {
        _pool.Trim(KeepResidentBlocks);
        if (_pool.BlocksFreeResident > KeepResidentBlocks)
            _reactor.Timers.Arm(this, _reactor.NowMs + TrimIntervalMs);
    }
}
