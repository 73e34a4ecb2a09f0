using System;
using System.Net;
using System.Runtime.CompilerServices;

namespace TcpProxy.Interop;

/// <summary>
/// A raw sockaddr (sockaddr_storage-sized) and its length, as the kernel takes
/// and returns it. Kept as bytes so connect/bind/accept need no conversion.
/// The layouts differ only in their first two bytes: Linux has a 16-bit
/// family, macOS a length byte (sin_len) and an 8-bit family, with AF_INET6
/// 30 instead of 10. Port, IPv4 address (offset 4) and IPv6 address (offset
/// 8) sit at the same offsets on both. <see cref="Family"/> answers in the
/// proxy's numbering (Linux's), whatever the OS.
/// </summary>
public struct SocketAddress
{
    public const int AF_INET = 2;
    public const int AF_INET6 = 10;
    public const int StorageSize = 128;

    // <sys/socket.h> in the macOS SDK: AF_INET 2, AF_INET6 30.
    internal const int DarwinAF_INET6 = 30;

    [InlineArray(StorageSize)]
    public struct Storage
    {
        private byte _element0;
    }

    public Storage Bytes;
    public int Length;

    /// <summary><see cref="AF_INET"/>, <see cref="AF_INET6"/> or another family, in the proxy's numbering.</summary>
    public readonly int Family => Length < 2 ? 0 : Platform.IsDarwin ? FamilyFromDarwin(Bytes[1]) : Bytes[0] | (Bytes[1] << 8);

    public readonly int Port => Length >= 4 ? (Bytes[2] << 8) | Bytes[3] : 0;

    /// <summary>
    /// A Darwin sa_family in the proxy's numbering: AF_INET is 2 on both,
    /// AF_INET6 30 becomes 10; any other family becomes 1000 + n, so none can
    /// pass for an internet one (Darwin's 10 is AF_CCITT).
    /// </summary>
    internal static int FamilyFromDarwin(int family) => family switch
    {
        AF_INET => AF_INET,
        DarwinAF_INET6 => AF_INET6,
        _ => 1000 + family,
    };

    /// <summary>The proxy's family number as Darwin's socket() wants it.</summary>
    internal static int FamilyToDarwin(int family) => family == AF_INET6 ? DarwinAF_INET6 : family;

    /// <summary>sun_path's size: a Unix socket's path must fit, its NUL included.</summary>
    private const int UnixPathSize = 108;

    /// <summary>
    /// An AF_UNIX address in Linux's layout (a 16-bit family, then the path),
    /// for the datagrams to systemd. A leading '@' names an abstract socket
    /// (a NUL byte first, no file). Null when the path does not fit.
    /// </summary>
    public static SocketAddress? ForUnixPath(string path)
    {
        int length = System.Text.Encoding.UTF8.GetByteCount(path);
        if (path.Length == 0 || length >= UnixPathSize)
            return null;
        var result = new SocketAddress();
        Span<byte> bytes = result.Bytes;
        bytes[0] = 1; // AF_UNIX
        System.Text.Encoding.UTF8.GetBytes(path, bytes.Slice(2));
        bool isAbstract = path[0] == '@';
        if (isAbstract)
            bytes[2] = 0;
        // An abstract name is exactly its bytes; a path ends at its NUL.
        result.Length = 2 + length + (isAbstract ? 0 : 1);
        return result;
    }

    public static unsafe SocketAddress FromNative(byte* address, int length)
    {
        var result = new SocketAddress { Length = Math.Min(length, StorageSize) };
        new ReadOnlySpan<byte>(address, result.Length).CopyTo(result.Bytes);
        return result;
    }

    /// <summary>
    /// An IPv6 address of the form ::ffff:a.b.c.d: how a dual-stack socket
    /// shows an IPv4 peer. People and the PROXY protocol want it as IPv4.
    /// </summary>
    public readonly bool IsIPv4Mapped
    {
        get
        {
            if (Family != AF_INET6 || Length < 24)
                return false;
            Storage copy = Bytes;
            ReadOnlySpan<byte> address = ((ReadOnlySpan<byte>)copy).Slice(8, 16);
            return address[..10].IndexOfAnyExcept((byte)0) < 0 && address[10] == 0xff && address[11] == 0xff;
        }
    }

    /// <summary>
    /// The address bytes in network order: 4 for IPv4 (an IPv4-mapped IPv6
    /// address included), 16 for IPv6, none for other families.
    /// </summary>
    public readonly ReadOnlySpan<byte> AddressBytes(ref Storage copy)
    {
        copy = Bytes;
        ReadOnlySpan<byte> raw = copy;
        return Family switch
        {
            AF_INET when Length >= 8 => raw.Slice(4, 4),
            AF_INET6 when IsIPv4Mapped => raw.Slice(20, 4),
            AF_INET6 when Length >= 24 => raw.Slice(8, 16),
            _ => ReadOnlySpan<byte>.Empty,
        };
    }

    /// <summary>"127.0.0.1:80" (IPv4-mapped IPv6 too) or "[::1]:80"; for logs and start-up messages only.</summary>
    public override readonly string ToString()
    {
        Storage copy = default;
        ReadOnlySpan<byte> address = AddressBytes(ref copy);
        switch (address.Length)
        {
            case 4:
                return new IPAddress(address) + ":" + Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            case 16:
                return "[" + new IPAddress(address) + "]:" + Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            default:
                return "(family " + Family.ToString(System.Globalization.CultureInfo.InvariantCulture) + ")";
        }
    }
}
