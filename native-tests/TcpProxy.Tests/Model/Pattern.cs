using System;

namespace TcpProxy.Tests.Model;

/// <summary>A byte stream where byte i of stream `seed` is a pure function of both: a receiver checks order and content without a copy.</summary>
public static class Pattern
{
    public static void Fill(long seed, long offset, Span<byte> buffer)
    {
        for (int i = 0; i < buffer.Length; i++)
            buffer[i] = At(seed, offset + i);
    }

    /// <summary>Index of the first byte that differs from the stream, or -1.</summary>
    public static int FirstMismatch(long seed, long offset, ReadOnlySpan<byte> data)
    {
        for (int i = 0; i < data.Length; i++)
            if (data[i] != At(seed, offset + i))
                return i;
        return -1;
    }

    static byte At(long seed, long offset)
    {
        // splitmix64 of (seed, 8-byte block), one byte of it per offset
        ulong z = (ulong)seed * 0x100000001b3UL ^ (ulong)(offset >> 3);
        z += 0x9e3779b97f4a7c15UL;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
        z ^= z >> 31;
        return (byte)(z >> (int)((offset & 7) * 8));
    }
}
