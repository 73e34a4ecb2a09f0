using System;
using System.Net;
using System.Runtime.CompilerServices;

namespace TcpProxy.Interop;

/// <summary>
/// A raw sockaddr (sockaddr_storage-sized) and its length, as the kernel takes
/// and returns it. Kept as bytes so connect/bind/accept need no conversion.
/// </summary>
public struct SocketAddress
{
    public const int AF_INET = 2;
    public const int AF_INET6 = 10;
    public const int StorageSize = 128;

    [InlineArray(StorageSize)]
    public struct Storage
    {
        private byte _element0;
    }

    public Storage Bytes;
    public int Length;

    public readonly int Family => Length >= 2 ? Bytes[0] | (Bytes[1] << 8) : 0;

    public readonly int Port => Length >= 4 ? (Bytes[2] << 8) | Bytes[3] : 0;

    public static unsafe SocketAddress FromNative(byte* address, int length)
    {
        var result = new SocketAddress { Length = Math.Min(length, StorageSize) };
        new ReadOnlySpan<byte>(address, result.Length).CopyTo(result.Bytes);
        return result;
    }

    /// <summary>"127.0.0.1:80" or "[::1]:80"; for logs and start-up messages only.</summary>
    public override readonly string ToString()
    {
        Storage copy = Bytes;
        ReadOnlySpan<byte> raw = copy;
        switch (Family)
        {
            case AF_INET when Length >= 8:
                return new IPAddress(raw.Slice(4, 4)) + ":" + Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            case AF_INET6 when Length >= 24:
                return "[" + new IPAddress(raw.Slice(8, 16)) + "]:" + Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            default:
                return "(family " + Family.ToString(System.Globalization.CultureInfo.InvariantCulture) + ")";
        }
    }
}
