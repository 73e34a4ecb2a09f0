using System;
using TcpProxy.Interop;

namespace TcpProxy.Proxy;

/// <summary>
/// A fixed-capacity byte ring in native memory. The kernel reads straight into
/// its free space and writes straight from its filled space: each is at most
/// two segments, handed to one recvmsg/sendmsg, with no copy through arrays.
/// A pair's rings borrow their memory from a <see cref="BufferPool"/> only
/// while they hold data (<see cref="Attach"/>, <see cref="Detach"/>); a ring
/// made by <see cref="TryCreate"/> owns its memory.
/// </summary>
public sealed unsafe class RingBuffer : IDisposable
{
    private byte* _memory;
    private int _start;
    private bool _ownsMemory;

    /// <summary>A ring with no memory yet: attach a block of capacity bytes before using it.</summary>
    public RingBuffer(int capacity)
    {
        if (capacity <= 0)
            throw new ArgumentOutOfRangeException(nameof(capacity));
        Capacity = capacity;
    }

    /// <summary>A ring of capacity bytes that owns its memory, or null when the memory cannot be allocated.</summary>
    public static RingBuffer? TryCreate(int capacity)
    {
        // The object first: if even that fails, no native memory is left behind.
        var ring = new RingBuffer(capacity);
        ring._memory = NativeHeap.TryAllocate(capacity);
        ring._ownsMemory = true;
        return ring._memory == null ? null : ring;
    }

    public int Capacity { get; }

    /// <summary>Whether the ring has memory to hold data (a pooled ring holds none while empty).</summary>
    public bool HasMemory => _memory != null;

    /// <summary>Gives the ring its memory: a block of <see cref="Capacity"/> bytes from a pool.</summary>
    public void Attach(byte* block)
    {
        if (_memory != null || block == null)
            throw new InvalidOperationException("the ring has memory already");
        _memory = block;
        _start = 0;
    }

    /// <summary>Takes the memory of an empty ring back (to return it to its pool).</summary>
    public byte* Detach()
    {
        if (Count != 0 || _ownsMemory)
            throw new InvalidOperationException("only an empty pooled ring gives its memory back");
        byte* block = _memory;
        _memory = null;
        _start = 0;
        return block;
    }

    /// <summary>Forgets the data and takes the memory back, for a ring whose pair is closing.</summary>
    public byte* Clear()
    {
        Count = 0;
        return Detach();
    }

    public int Count { get; private set; }

    public int Free => Capacity - Count;

    public bool IsEmpty => Count == 0;

    public bool IsFull => Count == Capacity;

    /// <summary>The free space, first segment at the write position, second wrapped to the start (may be empty).</summary>
    public void GetFreeSegments(out byte* first, out int firstLength, out byte* second, out int secondLength)
    {
        int end = _start + Count;
        if (end >= Capacity)
        {
            first = _memory + (end - Capacity);
            firstLength = Capacity - Count;
            second = null;
            secondLength = 0;
        }
        else
        {
            first = _memory + end;
            firstLength = Capacity - end;
            second = _memory;
            secondLength = _start;
        }
    }

    /// <summary>The filled space in order, first segment at the read position, second wrapped (may be empty).</summary>
    public void GetDataSegments(out byte* first, out int firstLength, out byte* second, out int secondLength)
    {
        first = _memory + _start;
        if (_start + Count > Capacity)
        {
            firstLength = Capacity - _start;
            second = _memory;
            secondLength = Count - firstLength;
        }
        else
        {
            firstLength = Count;
            second = null;
            secondLength = 0;
        }
    }

    /// <summary>Marks count bytes of the free space (in segment order) as filled.</summary>
    public void Commit(int count)
    {
        if ((uint)count > (uint)Free)
            throw new ArgumentOutOfRangeException(nameof(count));
        Count += count;
    }

    /// <summary>Releases count bytes from the front of the data.</summary>
    public void Consume(int count)
    {
        if ((uint)count > (uint)Count)
            throw new ArgumentOutOfRangeException(nameof(count));
        Count -= count;
        // An empty ring restarts at offset 0 so the next read gets one contiguous segment.
        int start = _start + count;
        _start = Count == 0 ? 0 : start >= Capacity ? start - Capacity : start;
    }

    public void Dispose()
    {
        if (_memory != null && _ownsMemory)
        {
            NativeHeap.Free(_memory);
            _memory = null;
        }
    }
}
