using System;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace TcpProxy.Tests.Support;

public readonly record struct Digest(long Bytes, string Sha256)
{
    public override string ToString() => $"{Bytes} bytes, sha256 {Sha256[..16]}…";
}

/// <summary>Streams seeded pseudo-random bytes and SHA-256 digests of what was sent and received.</summary>
public static class BulkData
{
    const int ChunkSize = 64 * 1024;

    public static Digest Send(Socket socket, long total, int seed, int chunkSize = ChunkSize)
    {
        var random = new Random(seed);
        var chunk = new byte[chunkSize];
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long sent = 0;
        while (sent < total)
        {
            int n = (int)Math.Min(chunk.Length, total - sent);
            random.NextBytes(chunk.AsSpan(0, n));
            hash.AppendData(chunk, 0, n);
            SocketIo.SendAll(socket, chunk.AsSpan(0, n));
            sent += n;
        }
        return new Digest(sent, Convert.ToHexString(hash.GetHashAndReset()));
    }

    /// <summary>Reads until <paramref name="total"/> bytes arrived or EOF, whichever first.</summary>
    public static Digest Receive(Socket socket, long total)
    {
        var buffer = new byte[ChunkSize];
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long received = 0;
        while (received < total)
        {
            int n = socket.Receive(buffer, 0, (int)Math.Min(buffer.Length, total - received), SocketFlags.None, out SocketError error);
            if (error == SocketError.TimedOut)
                throw new TimeoutException($"nothing arrived for {socket.ReceiveTimeout} ms after {received} bytes " +
                                           (total == long.MaxValue ? "(waiting for EOF)" : $"of {total}"));
            if (error != SocketError.Success) throw new SocketException((int)error);
            if (n == 0) break;
            hash.AppendData(buffer, 0, n);
            received += n;
        }
        return new Digest(received, Convert.ToHexString(hash.GetHashAndReset()));
    }

    /// <summary>
    /// The receiving ends read <paramref name="total"/> bytes each, at once; each must
    /// match what its sender sent (<paramref name="sent"/>, still running), byte for byte.
    /// </summary>
    public static void AssertEachArrives(System.Threading.Tasks.Task<Digest>[] sent, Socket[] receivers, long total, TimeSpan limit)
    {
        var received = new System.Threading.Tasks.Task<Digest>[receivers.Length];
        for (int i = 0; i < receivers.Length; i++)
        {
            Socket receiver = receivers[i];
            receiver.ReceiveTimeout = (int)limit.TotalMilliseconds;
            received[i] = Background.Run(() => Receive(receiver, total));
        }
        for (int i = 0; i < receivers.Length; i++)
            Assert.Equal(Background.Await(sent[i], limit, $"sender {i}"), Background.Await(received[i], limit, $"receiver {i}"));
    }

    /// <summary>Copies exactly <paramref name="total"/> bytes from one socket to another (one link of a chain).</summary>
    public static long Pump(Socket from, Socket to, long total)
    {
        var buffer = new byte[ChunkSize];
        long copied = 0;
        while (copied < total)
        {
            int n = from.Receive(buffer, 0, (int)Math.Min(buffer.Length, total - copied), SocketFlags.None);
            if (n == 0) break;
            SocketIo.SendAll(to, buffer.AsSpan(0, n));
            copied += n;
        }
        return copied;
    }
}
