using System.Runtime.InteropServices;

namespace TcpProxy.Interop.Darwin;

/// <summary>struct iovec (&lt;sys/_types/_iovec_t.h&gt;): 16 bytes.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal unsafe struct DarwinIoVec
{
    [FieldOffset(0)] public byte* Base;
    [FieldOffset(8)] public nuint Length;
}

/// <summary>
/// struct msghdr, 64-bit macOS (&lt;sys/socket.h&gt;): 48 bytes. Unlike glibc's
/// (56), msg_iovlen is an int and msg_controllen a socklen_t.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 48)]
internal unsafe struct DarwinMsgHdr
{
    [FieldOffset(0)] public byte* Name;
    [FieldOffset(8)] public uint NameLength;
    [FieldOffset(16)] public DarwinIoVec* Vectors;
    [FieldOffset(24)] public int VectorCount;
    [FieldOffset(32)] public byte* Control;
    [FieldOffset(40)] public uint ControlLength;
    [FieldOffset(44)] public int Flags;
}

/// <summary>struct linger (&lt;sys/socket.h&gt;): two ints, 8 bytes.</summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
internal struct DarwinLinger
{
    [FieldOffset(0)] public int OnOff;
    [FieldOffset(4)] public int Seconds;
}

/// <summary>struct rlimit (&lt;sys/resource.h&gt;): two rlim_t (uint64), 16 bytes.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal struct DarwinRLimit
{
    [FieldOffset(0)] public ulong Current;
    [FieldOffset(8)] public ulong Maximum;
}

/// <summary>
/// struct addrinfo (&lt;netdb.h&gt;, Libinfo): 48 bytes, ai_canonname BEFORE
/// ai_addr — the BSD order, the reverse of glibc's.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 48)]
internal unsafe struct DarwinAddrInfo
{
    [FieldOffset(0)] public int Flags;
    [FieldOffset(4)] public int Family;
    [FieldOffset(8)] public int SocketType;
    [FieldOffset(12)] public int Protocol;
    [FieldOffset(16)] public uint AddressLength;
    [FieldOffset(24)] public byte* CanonicalName;
    [FieldOffset(32)] public byte* Address;
    [FieldOffset(40)] public DarwinAddrInfo* Next;
}

/// <summary>
/// The part of struct stat (64-bit inodes, &lt;sys/stat.h&gt; __DARWIN_STRUCT_STAT64)
/// the proxy reads: st_dev (int32), st_mode (uint16) at offset 4, st_ino
/// (uint64) at offset 8. The whole structure is 144 bytes; the caller passes
/// that much room.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 144)]
internal struct DarwinStat
{
    [FieldOffset(0)] public int Device;
    [FieldOffset(4)] public ushort Mode;
    [FieldOffset(8)] public ulong Inode;
}

/// <summary>
/// struct sockaddr_in / sockaddr_in6 (&lt;netinet/in.h&gt;, &lt;netinet6/in6.h&gt;):
/// a length byte, a one-byte family, then port, address... 16 and 28 bytes.
/// Only its offsets are used (SocketAddress keeps raw bytes); the tests pin them.
/// </summary>
internal static class DarwinSockaddr
{
    public const int LengthOffset = 0;
    public const int FamilyOffset = 1;
    public const int PortOffset = 2;
    public const int In4AddressOffset = 4;
    public const int In4Size = 16;
    public const int In6FlowInfoOffset = 4;
    public const int In6AddressOffset = 8;
    public const int In6ScopeIdOffset = 24;
    public const int In6Size = 28;
}
