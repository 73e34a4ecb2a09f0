using System;
using TcpProxy.Interop;

namespace TcpProxy.Proxy;

/// <summary>
/// Fixed-size ring memory, carved from large page-aligned slabs and handed
/// out only while a direction holds data. Take and return are O(1) pops and
/// pushes on a stack of free blocks; the stack is LIFO so the blocks in use
/// stay the same few hot, resident ones, and blocks nobody took for a whole
/// trim interval give their pages back to the kernel (<see cref="Trim"/>)
/// while staying in the pool. Slabs are never freed, so no block moves and
/// nothing is allocated in steady state.
/// </summary>
public sealed unsafe class BufferPool : IDisposable
{
    private const int PageSize = 4096;
    // Slabs of at least this much: one malloc per 32 blocks of 8 KiB.
    private const int MinimumSlabBytes = 256 * 1024;

    private readonly int _blocksPerSlab;
    private readonly long _maxBlocks;
    private nint[] _free = new nint[64];
    private int _freeCount;
    // _free[0.._discarded) have had their pages discarded; the next touch faults fresh ones in.
    private int _discarded;
    // The fewest free blocks since the last trim: those below it sat unused the whole interval.
    private int _lowWater;
    private nint[] _slabs = new nint[8];
    private int _slabCount;

    /// <param name="blockSize">one ring's bytes (the buffer size).</param>
    /// <param name="memoryLimit">most bytes all blocks together may take; 0: no limit but memory.</param>
    public BufferPool(int blockSize, long memoryLimit)
    {
        if (blockSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(blockSize));
        if (memoryLimit < 0 || (memoryLimit > 0 && memoryLimit < blockSize))
            throw new ArgumentOutOfRangeException(nameof(memoryLimit), "must hold at least one block");
        BlockSize = blockSize;
        _maxBlocks = memoryLimit == 0 ? long.MaxValue : memoryLimit / blockSize;
        _blocksPerSlab = (int)Math.Max(1, Math.Min(MinimumSlabBytes / blockSize, _maxBlocks));
    }

    public int BlockSize { get; }

    /// <summary>Blocks handed out and not returned.</summary>
    public long BlocksInUse { get; private set; }

    /// <summary>Blocks carved from slabs so far (in use or free).</summary>
    public long BlocksCarved { get; private set; }

    /// <summary>Free blocks whose pages are (or may be) resident.</summary>
    public int BlocksFreeResident => _freeCount - _discarded;

    /// <summary>Whether every block the --buffer-memory limit allows is carved (a failed take then hit the limit, not out of memory).</summary>
    public bool LimitReached => BlocksCarved >= _maxBlocks;

    public long MemoryLimit => _maxBlocks == long.MaxValue ? 0 : _maxBlocks * BlockSize;

    /// <summary>A block of <see cref="BlockSize"/> bytes, or null when the limit is reached or memory ran out.</summary>
    public byte* TryTake()
    {
        if (_freeCount == 0 && !TryCarveSlab())
            return null;
        byte* block = (byte*)_free[--_freeCount];
        if (_freeCount < _discarded)
            _discarded = _freeCount;
        if (_freeCount < _lowWater)
            _lowWater = _freeCount;
        BlocksInUse++;
        return block;
    }

    public void Return(byte* block)
    {
        // The stack has room for every carved block, so a push never allocates.
        _free[_freeCount++] = (nint)block;
        BlocksInUse--;
    }

    /// <summary>
    /// Discards the pages of the free blocks that stayed unused since the
    /// previous trim, keeping <paramref name="keepResident"/> of them warm.
    /// One madvise per block, only for blocks that went idle: a pool in
    /// steady use does nothing here. Returns the blocks discarded.
    /// </summary>
    public int Trim(int keepResident)
    {
        int idleBlocks = Math.Min(_lowWater, _freeCount);
        int target = Math.Max(_discarded, idleBlocks - keepResident);
        int discarded = 0;
        for (int i = _discarded; i < target; i++)
        {
            // A failure leaves the pages resident; the block itself is still good.
            if (NativeHeap.DiscardPages((byte*)_free[i], BlockSize) == 0)
                discarded++;
        }
        _discarded = target;
        _lowWater = _freeCount;
        return discarded;
    }

    private bool TryCarveSlab()
    {
        long blocks = Math.Min(_blocksPerSlab, _maxBlocks - BlocksCarved);
        if (blocks <= 0)
            return false;
        byte* slab = NativeHeap.TryAllocateAligned(blocks * BlockSize, PageSize);
        if (slab == null)
            return false;
        if (_slabCount == _slabs.Length)
            Array.Resize(ref _slabs, _slabs.Length * 2);
        _slabs[_slabCount++] = (nint)slab;
        long carved = BlocksCarved + blocks;
        if (carved > _free.Length)
            Array.Resize(ref _free, (int)Math.Max(carved, 2L * _free.Length));
        // Pushed in reverse so the first take gets the slab's first block.
        for (long i = blocks - 1; i >= 0; i--)
            _free[_freeCount++] = (nint)(slab + i * BlockSize);
        BlocksCarved = carved;
        return true;
    }

    /// <summary>Frees every slab; only when no block is in use (tests, shutdown).</summary>
    public void Dispose()
    {
        for (int i = 0; i < _slabCount; i++)
            NativeHeap.Free((byte*)_slabs[i]);
        _slabCount = 0;
        _freeCount = _discarded = _lowWater = 0;
        BlocksCarved = BlocksInUse = 0;
    }
}
