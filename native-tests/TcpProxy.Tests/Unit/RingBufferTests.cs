using System;
using TcpProxy.Proxy;

namespace TcpProxy.Tests.Unit;

public sealed unsafe class RingBufferTests
{
    // Copies bytes into the free space in segment order, as recvmsg would.
    private static int Fill(RingBuffer ring, ReadOnlySpan<byte> data)
    {
        ring.GetFreeSegments(out byte* first, out int firstLength, out byte* second, out int secondLength);
        int a = Math.Min(firstLength, data.Length);
        data[..a].CopyTo(new Span<byte>(first, a));
        int b = Math.Min(secondLength, data.Length - a);
        data.Slice(a, b).CopyTo(new Span<byte>(second, b));
        ring.Commit(a + b);
        return a + b;
    }

    // Copies up to max bytes out of the data in order and consumes them, as sendmsg would.
    private static byte[] Drain(RingBuffer ring, int max)
    {
        ring.GetDataSegments(out byte* first, out int firstLength, out byte* second, out int secondLength);
        int a = Math.Min(firstLength, max);
        int b = Math.Min(secondLength, max - a);
        var result = new byte[a + b];
        new ReadOnlySpan<byte>(first, a).CopyTo(result);
        new ReadOnlySpan<byte>(second, b).CopyTo(result.AsSpan(a));
        ring.Consume(a + b);
        return result;
    }

    [Fact]
    public void NewRing_IsEmptyWithOneFreeSegmentOfFullCapacity()
    {
        using var ring = RingBuffer.TryCreate(16)!;
        Assert.True(ring.IsEmpty);
        Assert.False(ring.IsFull);
        ring.GetFreeSegments(out _, out int firstLength, out _, out int secondLength);
        Assert.Equal(16, firstLength);
        Assert.Equal(0, secondLength);
        ring.GetDataSegments(out _, out int dataLength, out _, out int dataSecond);
        Assert.Equal(0, dataLength + dataSecond);
    }

    [Fact]
    public void Fill_ToCapacity_IsFullAndHasNoFreeSpace()
    {
        using var ring = RingBuffer.TryCreate(8)!;
        Assert.Equal(8, Fill(ring, new byte[20]));
        Assert.True(ring.IsFull);
        Assert.Equal(0, ring.Free);
        ring.GetFreeSegments(out _, out int firstLength, out _, out int secondLength);
        Assert.Equal(0, firstLength + secondLength);
    }

    [Fact]
    public void Drain_ReturnsBytesInOrderAndEmptiesTheRing()
    {
        using var ring = RingBuffer.TryCreate(8)!;
        Fill(ring, [1, 2, 3, 4, 5]);
        Assert.Equal(new byte[] { 1, 2, 3 }, Drain(ring, 3));
        Assert.Equal(new byte[] { 4, 5 }, Drain(ring, 10));
        Assert.True(ring.IsEmpty);
    }

    [Fact]
    public void FreeSpace_WrapsIntoTwoSegments_AndDataComesBackInOrder()
    {
        using var ring = RingBuffer.TryCreate(8)!;
        Fill(ring, [1, 2, 3, 4, 5, 6]);
        Drain(ring, 4); // data 5,6 at offsets 4..5; free: 6..7 then 0..3
        ring.GetFreeSegments(out _, out int firstLength, out _, out int secondLength);
        Assert.Equal(2, firstLength);
        Assert.Equal(4, secondLength);
        Assert.Equal(6, Fill(ring, [7, 8, 9, 10, 11, 12]));
        Assert.True(ring.IsFull);
        ring.GetDataSegments(out _, out int dataFirst, out _, out int dataSecond);
        Assert.Equal(4, dataFirst);
        Assert.Equal(4, dataSecond);
        Assert.Equal(new byte[] { 5, 6, 7, 8, 9, 10, 11, 12 }, Drain(ring, 8));
    }

    [Fact]
    public void EmptiedRing_RestartsAtOffsetZero_SoTheNextReadIsOneSegment()
    {
        using var ring = RingBuffer.TryCreate(8)!;
        Fill(ring, [1, 2, 3, 4, 5]);
        Drain(ring, 5);
        ring.GetFreeSegments(out _, out int firstLength, out _, out int secondLength);
        Assert.Equal(8, firstLength);
        Assert.Equal(0, secondLength);
    }

    [Fact]
    public void ManyWrappedRounds_PreserveEveryByteInOrder()
    {
        using var ring = RingBuffer.TryCreate(7)!; // not a power of two on purpose
        var random = new Random(1234);
        var expected = new byte[100_000];
        random.NextBytes(expected);
        var actual = new byte[expected.Length];
        int written = 0, read = 0;
        for (int round = 0; read < expected.Length && round < 1_000_000; round++)
        {
            int chunk = Math.Min(random.Next(0, 9), expected.Length - written);
            written += Fill(ring, expected.AsSpan(written, chunk));
            byte[] drained = Drain(ring, random.Next(0, 9));
            drained.CopyTo(actual, read);
            read += drained.Length;
            Assert.InRange(ring.Count, 0, ring.Capacity);
        }
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void CommitOrConsumeBeyondBounds_IsRejected()
    {
        using var ring = RingBuffer.TryCreate(4)!;
        Assert.Throws<ArgumentOutOfRangeException>(() => ring.Commit(5));
        Assert.Throws<ArgumentOutOfRangeException>(() => ring.Consume(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => RingBuffer.TryCreate(0));
    }
}
