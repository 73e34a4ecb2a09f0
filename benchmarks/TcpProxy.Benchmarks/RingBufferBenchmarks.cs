using System;
using BenchmarkDotNet.Attributes;
using TcpProxy.Proxy;

namespace TcpProxy.Benchmarks;

/// <summary>
/// The ring's bookkeeping as the proxy drives it: ask for free segments
/// (a recvmsg would fill them), commit, ask for data segments (a sendmsg
/// would drain them), consume. No bytes are copied: the kernel does that,
/// so what is measured is the ring's own per-chunk overhead.
/// </summary>
[MemoryDiagnoser]
[BenchmarkCategory(Categories.ZeroAlloc)]
public unsafe class RingBufferBenchmarks
{
    private const int Capacity = 8192;
    // A chunk that does not divide the capacity, so the read and write positions
    // walk all round the ring and most operations see two segments.
    private const int OddChunk = 3000;
    private const int Rounds = 1024;

    private RingBuffer _ring = null!;

    [GlobalSetup]
    public void Setup() => _ring = RingBuffer.TryCreate(Capacity)!;

    [GlobalCleanup]
    public void Cleanup() => _ring.Dispose();

    /// <summary>Empty to full in one read, full to empty in one write: the bulk-transfer case, one segment each way.</summary>
    [Benchmark(OperationsPerInvoke = Rounds)]
    public long FillDrainWhole8KiB()
    {
        long seen = 0;
        for (int i = 0; i < Rounds; i++)
        {
            _ring.GetFreeSegments(out byte* free1, out int freeLength1, out byte* free2, out int freeLength2);
            _ring.Commit(freeLength1 + freeLength2);
            _ring.GetDataSegments(out byte* data1, out int dataLength1, out byte* data2, out int dataLength2);
            _ring.Consume(dataLength1 + dataLength2);
            seen += freeLength1 + freeLength2 + dataLength1 + (long)(free1 - data1) + (long)(free2 - data2);
        }
        return seen;
    }

    /// <summary>
    /// A half-full ring streaming 3000-byte chunks: the read and write
    /// positions wrap, so free and data space are usually two segments.
    /// One operation = one commit and one consume.
    /// </summary>
    [Benchmark(OperationsPerInvoke = Rounds)]
    public long StreamWrapped3000B()
    {
        RingBuffer ring = _ring;
        if (ring.IsEmpty)
            ring.Commit(Capacity / 2); // keeps ~half full from here on, so the start never resets to 0
        long seen = 0;
        for (int i = 0; i < Rounds; i++)
        {
            ring.GetFreeSegments(out _, out int freeLength1, out _, out int freeLength2);
            ring.Commit(Math.Min(OddChunk, freeLength1 + freeLength2));
            ring.GetDataSegments(out _, out int dataLength1, out _, out int dataLength2);
            ring.Consume(Math.Min(OddChunk, dataLength1 + dataLength2));
            seen += freeLength2 + dataLength2; // non-zero exactly when a side wrapped
        }
        return seen;
    }
}
